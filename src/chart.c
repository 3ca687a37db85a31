#include "chart.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TOP = 40,    /* title */
    ROW = 26,    /* one department */
    BOTTOM = 34, /* axis ticks and legend */
    LABEL_W = 170,
    VALUE_W = 120,
    MARGIN = 12,
};

int
chart_height(size_t n)
{
    return TOP + ROW * (int)(n > 0 ? n : 1) + BOTTOM;
}

static cairo_status_t
write_png(void *closure, const unsigned char *data, unsigned int length)
{
    struct eq_buf *b = closure;

    return buf_addn(b, (const char *)data, length) == EQ_OK
               ? CAIRO_STATUS_SUCCESS
               : CAIRO_STATUS_WRITE_ERROR;
}

/* Tick step of 1, 2 or 5 × 10^k giving about five ticks. */
static double
tick_step(double range)
{
    double raw = range / 5.0, mag = pow(10.0, floor(log10(raw))), f = raw / mag;

    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

/* Text that fits in width: shortened with "…" on a UTF-8 boundary. */
static void
show_fitted(cairo_t *cr, const char *s, double x, double y, double width)
{
    char tmp[256];
    size_t n = strlen(s);
    cairo_text_extents_t ext;

    if (n >= sizeof tmp - 4)
        n = sizeof tmp - 4;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    cairo_text_extents(cr, tmp, &ext);
    while (ext.x_advance > width && n > 0) {
        do
            n--;
        while (n > 0 && ((unsigned char)tmp[n] & 0xC0) == 0x80);
        memcpy(tmp + n, "\xE2\x80\xA6", 4);
        cairo_text_extents(cr, tmp, &ext);
    }
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, tmp);
}

enum eq_err
chart_intervals_labelled(const struct chart_row *rows, size_t n,
                         double axis_min, double axis_max, double benchmark,
                         const char *bench_label, const char *title,
                         unsigned char **png, size_t *len)
{
    int h = chart_height(n);
    double x0 = LABEL_W + MARGIN, x1 = CHART_WIDTH - VALUE_W - MARGIN;
    double span = axis_max - axis_min, step;
    int decimals = span > 20.0 ? 0 : 1;
    cairo_surface_t *sf = NULL;
    cairo_t *cr = NULL;
    struct eq_buf out = {0};
    enum eq_err err = EQ_OK;
    char txt[96];

    *png = NULL;
    *len = 0;
    if (!(span > 0.0) || isnan(axis_min) || isinf(span))
        return EQ_ERR_DATA;
#define XPOS(v)                                                                \
    (x0 + ((v) < axis_min   ? 0.0                                              \
           : (v) > axis_max ? (x1 - x0)                                        \
                            : ((v)-axis_min) / span * (x1 - x0)))
    sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, CHART_WIDTH, h);
    cr = cairo_create(sf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 15);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    show_fitted(cr, title ? title : "", MARGIN, 24, CHART_WIDTH - 2 * MARGIN);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);

    /* grid and ticks */
    step = tick_step(span);
    cairo_set_line_width(cr, 1);
    for (double v = ceil(axis_min / step) * step; v <= axis_max + step * 1e-9;
         v += step) {
        double x = floor(XPOS(v)) + 0.5;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, x, TOP - 4);
        cairo_line_to(cr, x, h - BOTTOM + 4);
        cairo_stroke(cr);
        snprintf(txt, sizeof txt, "%.*f", step < 1.0 ? 1 : 0, v);
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
        cairo_text_extents_t ext;
        cairo_text_extents(cr, txt, &ext);
        cairo_move_to(cr, x - ext.x_advance / 2, h - BOTTOM + 18);
        cairo_show_text(cr, txt);
    }
    if (!isnan(benchmark) && benchmark >= axis_min && benchmark <= axis_max) {
        static const double dash[] = {4.0, 3.0};
        double x = floor(XPOS(benchmark)) + 0.5;
        cairo_set_source_rgb(cr, 0.85, 0.45, 0.1);
        cairo_set_line_width(cr, 1.5);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, x, TOP - 4);
        cairo_line_to(cr, x, h - BOTTOM + 4);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        snprintf(txt, sizeof txt, "%s %.*f",
                 bench_label ? bench_label : "benchmark", decimals, benchmark);
        cairo_move_to(cr, MARGIN, h - 6);
        cairo_show_text(cr, txt);
    }

    if (n == 0) {
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
        cairo_move_to(cr, x0, TOP + ROW / 2 + 4);
        cairo_show_text(cr, "\xE2\x80\x93");
    }
    for (size_t i = 0; i < n; i++) {
        const struct chart_row *r = &rows[i];
        double y = TOP + ROW * (double)i + ROW / 2.0;

        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        show_fitted(cr, r->label ? r->label : "", MARGIN, y + 4,
                    LABEL_W - MARGIN);
        if (r->hidden || isnan(r->value)) {
            cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
            cairo_move_to(cr, x1 + MARGIN, y + 4);
            cairo_show_text(cr, "\xE2\x80\x93");
            continue;
        }
        cairo_set_source_rgb(cr, 0.15, 0.35, 0.65);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, XPOS(r->lo), y);
        cairo_line_to(cr, XPOS(r->hi), y);
        cairo_move_to(cr, XPOS(r->lo), y - 5);
        cairo_line_to(cr, XPOS(r->lo), y + 5);
        cairo_move_to(cr, XPOS(r->hi), y - 5);
        cairo_line_to(cr, XPOS(r->hi), y + 5);
        cairo_stroke(cr);
        cairo_arc(cr, XPOS(r->value), y, 5, 0, 2 * M_PI);
        cairo_fill(cr);
        snprintf(txt, sizeof txt, "%.*f (%.*f\xE2\x80\xA6%.*f)", decimals,
                 r->value, decimals, r->lo, decimals, r->hi);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        show_fitted(cr, txt, x1 + MARGIN, y + 4, VALUE_W - MARGIN);
    }
#undef XPOS
    cairo_surface_flush(sf);
    if (cairo_surface_write_to_png_stream(sf, write_png, &out) !=
        CAIRO_STATUS_SUCCESS) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    *len = out.len;
    *png = (unsigned char *)buf_take(&out);
out:
    buf_free(&out);
    cairo_destroy(cr);
    cairo_surface_destroy(sf);
    return err;
}

void
chart_shutdown(void)
{
    cairo_debug_reset_static_data();
    /* cairo's text API loads fontconfig's configuration, which only FcFini
     * frees; without it LeakSanitizer reports it at exit. */
    FcFini();
}

enum eq_err
chart_intervals(const struct chart_row *rows, size_t n, double axis_min,
                double axis_max, double benchmark, const char *title,
                unsigned char **png, size_t *len)
{
    return chart_intervals_labelled(rows, n, axis_min, axis_max, benchmark,
                                    "benchmark", title, png, len);
}
