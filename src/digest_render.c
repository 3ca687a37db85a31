/* digest_render: fills the digest templates from a view, draws its chart
 * and checks the templates for `campaign check`. */
#include "digest_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "eqtime.h"
#include "template.h"

static void dg_view_chart_alt(const struct view *v, char *out, size_t cap);

struct link {
    size_t p, k;
    double value;
};

static int
cmp_link(const void *a, const void *b)
{
    const struct link *x = a, *y = b;

    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->p != y->p ? (x->p < y->p ? -1 : 1) : (x->k < y->k ? -1 : 1);
}

/* The lowest shown cells of the first metric: of one provider (at most 3,
 * and only when there are at least 2 to compare), or organisation-wide (5). */
static enum eq_err
dg_add_weakest(struct view *v, struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    size_t nc = md->cur.nc, n = 0, max = v->prov < 0 ? 5 : 3;
    struct link *l = calloc(md->np * nc + 1, sizeof *l);

    if (l == NULL)
        return EQ_ERR_NOMEM;
    if (md->nm == 0)
        goto out;
    for (size_t p = 0; p < md->np; p++) {
        if (v->prov >= 0 && (size_t)v->prov != p)
            continue;
        for (size_t k = 0; k < nc; k++) {
            const struct dg_stat *ds = &md->met[0].cell[p * nc + k];
            if (ds->shown && ds->e.n > 0)
                l[n++] = (struct link){p, k, ds->e.value};
        }
    }
    if (n < 2)
        goto out;
    qsort(l, n, sizeof *l, cmp_link);
    for (size_t i = 0; i < n && i < max; i++) {
        const struct dg_stat *ds = &md->met[0].cell[l[i].p * nc + l[i].k];
        struct tpl_ctx *it = tpl_add_item(ctx, "weakest");
        char val[32], iv[96];
        const char *cust = dg_dept_name(md->in, md->cur.cust[l[i].k], v->lang);
        if (it == NULL) {
            free(l);
            return EQ_ERR_NOMEM;
        }
        if (v->prov < 0)
            tpl_setf(it, "name", "%s " EMDASH " %s",
                     md->in->providers[l[i].p].name, cust);
        else
            tpl_set(it, "name", cust);
        dg_fmt_value(md->met[0].m, 0, v->lang, ds->e.value, val, sizeof val);
        dg_fmt_interval(md->met[0].m, 0, v->lang, &ds->e, iv, sizeof iv);
        tpl_set(it, "value", val);
        tpl_set(it, "interval", iv);
        tpl_setf(it, "n", "%lld", (long long)ds->e.n);
    }
out:
    tpl_set_bool(ctx, "has_weakest", n >= 2);
    if (n < 2)
        tpl_set_bool(ctx, "weakest", 0);
    free(l);
    return EQ_OK;
}

/* Comments of provider p grouped by the rater's band, in band order. */
static enum eq_err
add_comment_groups(const struct view *v, size_t p, struct tpl_ctx *ctx,
                   size_t *shown)
{
    const struct dg_model *md = v->md;
    const struct campaign_metric *m = md->nm ? md->met[0].m : NULL;
    struct digest_comments cs;
    enum eq_err err = dg_comments_get(md->in, p, &cs);

    *shown = 0;
    for (int b = 0; b < BAND__COUNT && err == EQ_OK; b++) {
        struct tpl_ctx *g = NULL;
        for (size_t i = 0; i < cs.n && err == EQ_OK; i++) {
            struct tpl_ctx *it;
            if (dg_band_of(m, dg_comment_score(&cs, i)) != (enum band)b)
                continue;
            if (g == NULL) {
                g = tpl_add_item(ctx, "comment_groups");
                if (g == NULL ||
                    tpl_set(g, "group", dg_band_label(m, b, v->lang))) {
                    err = EQ_ERR_NOMEM;
                    break;
                }
            }
            it = tpl_add_item(g, "comments");
            if (it == NULL || tpl_set(it, "text", cs.text[i]))
                err = EQ_ERR_NOMEM;
            else
                (*shown)++;
        }
    }
    dg_comments_put(md->in, &cs);
    return err;
}

enum eq_err
dg_fill_ctx(struct view *v, int html, const char *chart_src,
            struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    const struct campaign *c = md->in->c;
    const struct words *w = dg_words_for(v->lang);
    size_t sc = md->np + 1, p = (size_t)v->prov;
    char *tab = NULL, subject[256];
    int any_sig = 0, shown = 0;
    enum eq_err err = EQ_OK;
    const char *title = dg_is_en(v->lang) ? c->title_en : c->title_nl;

    dg_view_subject(v, subject, sizeof subject);
    tpl_set(ctx, "subject", subject);
    tpl_set(ctx, "campaign", title && *title ? title : c->name);
    tpl_set(ctx, "period", md->in->period);
    tpl_set(ctx, "department",
            v->prov < 0 ? w->organisation : md->in->providers[p].name);
    tpl_set_bool(ctx, "manager", v->prov >= 0);
    tpl_set_bool(ctx, "hr", v->prov < 0);
    tpl_setf(ctx, "anonymity_min", "%d", md->min);
    tpl_set_bool(ctx, "has_previous", md->in->prev_period != NULL);
    tpl_set(ctx, "previous", md->in->prev_period ? md->in->prev_period : "");
    tpl_set_bool(ctx, "chart", chart_src != NULL);
    tpl_set(ctx, "chart_src", chart_src ? chart_src : "");
    {
        char alt[1024];
        dg_view_chart_alt(v, alt, sizeof alt);
        tpl_set(ctx, "chart_alt", alt);
    }
    tpl_set_bool(ctx, "has_trend", v->prov >= 0 && md->nt > 1);
    if (v->prov >= 0 && md->nt > 1) {
        err = dg_trend_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "trend", tab);
        free(tab);
        tab = NULL;
        if (err != EQ_OK)
            return err;
        tpl_set(ctx, "trend_first", md->in->trend_labels[0]);
    } else {
        tpl_set(ctx, "trend", "");
        tpl_set(ctx, "trend_first", "");
    }
    tpl_set_bool(ctx, "has_heatmap",
                 v->prov < 0 && md->nm > 0 && md->cur.nc > 0);
    if (v->prov < 0 && md->nm > 0 && md->cur.nc > 0) {
        char bands[200];
        err = dg_heat_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "heatmap", tab);
        free(tab);
        tab = NULL;
        if (err != EQ_OK)
            return err;
        dg_heat_bands(md->met[0].m, v->lang, bands, sizeof bands);
        tpl_set(ctx, "heat_bands", bands);
    } else {
        tpl_set(ctx, "heatmap", "");
        tpl_set(ctx, "heat_bands", "");
    }
    {
        const struct store_report_ops *ops = md->in->ops;
        tpl_set_bool(ctx, "has_ops", v->prov < 0 && ops != NULL);
        tpl_setf(ctx, "bounced", "%lld", ops ? (long long)ops->bounced : 0);
        tpl_setf(ctx, "opted_out", "%lld", ops ? (long long)ops->opted_out : 0);
        tpl_setf(ctx, "failed", "%lld", ops ? (long long)ops->failed : 0);
        tpl_setf(ctx, "review_open", "%lld",
                 ops ? (long long)ops->review_open : 0);
    }
    if (md->nm > 0) {
        char val[32];
        const struct dg_stat *b = &md->met[0].bench;
        if (b->shown)
            dg_fmt_value(md->met[0].m, 0, v->lang, b->e.value, val, sizeof val);
        tpl_set_bool(ctx, "has_median", b->shown);
        tpl_set(ctx, "median", b->shown ? val : "");
        tpl_set(ctx, "median_metric", dg_metric_label(md->met[0].m, v->lang));
        tpl_setf(ctx, "median_of", "%lld", (long long)b->e.n);
    } else {
        tpl_set_bool(ctx, "has_median", 0);
        tpl_set(ctx, "median", "");
        tpl_set(ctx, "median_metric", "");
        tpl_set(ctx, "median_of", "0");
    }
    err = dg_add_actions(v, html, ctx);
    if (err != EQ_OK)
        return err;

    if (v->prov >= 0) {
        err = dg_scores_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "scores", tab);
        free(tab);
        tab = NULL;
        if (err == EQ_OK)
            err = dg_breakdown_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "breakdown", tab);
        free(tab);
        tab = NULL;
        tpl_set(ctx, "providers", "");
        tpl_set_bool(ctx, "has_breakdown", md->cur.nc > 0);
        for (size_t m = 0; m < md->nm; m++)
            shown |= md->met[m].tot[p].shown;
        if (md->invited[p] > 0)
            tpl_setf(ctx, "response",
                     "%lld %s %lld %s: %.0f%% (95%%: %.0f" ELLIPSIS "%.0f%%)",
                     (long long)md->answered[p], w->of,
                     (long long)md->invited[p], w->answered, md->resp[p].value,
                     md->resp[p].lo, md->resp[p].hi);
        else
            tpl_set(ctx, "response", DASH);
        if (md->answered[p] > 0)
            tpl_setf(ctx, "na_share",
                     "%lld %s %lld: %.0f%% (95%%: %.0f" ELLIPSIS "%.0f%%)",
                     (long long)md->na[p], w->of, (long long)md->answered[p],
                     md->na_share[p].value, md->na_share[p].lo,
                     md->na_share[p].hi);
        else
            tpl_set(ctx, "na_share", DASH);
    } else {
        tpl_set(ctx, "scores", "");
        tpl_set(ctx, "breakdown", "");
        tpl_set_bool(ctx, "has_breakdown", 0);
        err = dg_providers_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "providers", tab);
        free(tab);
        tab = NULL;
        for (size_t m = 0; m < md->nm; m++)
            shown |= md->met[m].bench.shown;
        if (md->org_invited > 0)
            tpl_setf(ctx, "response",
                     "%lld %s %lld %s: %.0f%% (95%%: %.0f" ELLIPSIS "%.0f%%)",
                     (long long)md->org_answered, w->of,
                     (long long)md->org_invited, w->answered,
                     md->org_resp.value, md->org_resp.lo, md->org_resp.hi);
        else
            tpl_set(ctx, "response", DASH);
        if (md->org_answered > 0)
            tpl_setf(ctx, "na_share",
                     "%lld %s %lld: %.0f%% (95%%: %.0f" ELLIPSIS "%.0f%%)",
                     (long long)md->org_na, w->of, (long long)md->org_answered,
                     md->org_na_share.value, md->org_na_share.lo,
                     md->org_na_share.hi);
        else
            tpl_set(ctx, "na_share", DASH);
    }
    if (err != EQ_OK)
        return err;
    tpl_set_bool(ctx, "shown", shown);
    tpl_set_bool(ctx, "suppressed", v->suppressed);

    /* significant changes, in words */
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        for (size_t q = 0; q < sc; q++) {
            const struct dg_stat *now, *before;
            const struct stats_change *ch;
            struct tpl_ctx *it;
            char a[32], b[32], d[32];
            if (!v->sig[m * sc + q] || q == md->np)
                continue;
            {
                now = &dm->tot[q];
                before = &dm->prev[q];
                ch = &dm->chg[q];
            }
            it = tpl_add_item(ctx, "changes");
            if (it == NULL)
                return EQ_ERR_NOMEM;
            dg_fmt_value(dm->m, 0, v->lang, now->e.value, a, sizeof a);
            dg_fmt_value(dm->m, 0, v->lang, before->e.value, b, sizeof b);
            dg_fmt_delta(dm->m, v->lang, ch->delta, d, sizeof d);
            if (v->prov < 0)
                tpl_setf(
                    it, "metric", "%s, %s", dg_metric_label(dm->m, v->lang),
                    q == md->np ? w->benchmark : md->in->providers[q].name);
            else
                tpl_set(it, "metric", dg_metric_label(dm->m, v->lang));
            tpl_set(it, "now", a);
            tpl_set(it, "before", b);
            tpl_set(it, "delta", d);
            any_sig = 1;
        }
    }
    tpl_set_bool(ctx, "no_changes", !any_sig);
    /* The template refuses unknown names: an empty list is a false value. */
    if (!any_sig)
        tpl_set_bool(ctx, "changes", 0);

    /* rank among providers */
    tpl_set_bool(ctx, "ranks", 0);
    for (size_t m = 0; m < md->nm && v->prov >= 0; m++) {
        const struct dg_metric *dm = &md->met[m];
        struct tpl_ctx *it;
        if (!dm->tot[p].shown || dm->n_ranked < 2)
            continue;
        it = tpl_add_item(ctx, "ranks");
        if (it == NULL)
            return EQ_ERR_NOMEM;
        tpl_set(it, "metric", dg_metric_label(dm->m, v->lang));
        tpl_setf(it, "rank", "%d", dm->rank[p]);
        tpl_setf(it, "of", "%d", dm->n_ranked);
    }
    err = dg_add_weakest(v, ctx);
    if (err != EQ_OK)
        return err;

    /* comments: only with a shown provider total */
    {
        int visible = v->prov >= 0 && privacy_comments_visible(md->cur.grid, p);
        size_t nco = 0;
        if (visible) {
            err = add_comment_groups(v, p, ctx, &nco);
            if (err != EQ_OK)
                return err;
        }
        tpl_set_bool(ctx, "has_comments", nco > 0);
        if (nco == 0)
            tpl_set_bool(ctx, "comment_groups", 0);
        tpl_set_bool(ctx, "comments_hidden", v->prov >= 0 && !visible);
    }
    return EQ_OK;
}

static void
axis_of(const struct campaign_metric *m, double *lo, double *hi)
{
    if (m->type == METRIC_NPS) {
        *lo = -100;
        *hi = 100;
    } else if (m->type == METRIC_CES) {
        *lo = m->min;
        *hi = m->max;
    } else {
        *lo = 0;
        *hi = 100;
    }
}

/* A manager's chart is the trend of their department (one row per
 * period); the organisation's compares every provider in the period. The
 * median of the period is the vertical line in both. */
enum eq_err
dg_view_chart(const struct view *v, unsigned char **png, size_t *len)
{
    const struct dg_model *md = v->md;
    struct chart_row *rows;
    const struct dg_metric *dm;
    int trend = v->prov >= 0;
    /* Without a trend a manager still sees the period itself. */
    size_t n = !trend ? md->np : md->nt ? md->nt : 1;
    double lo, hi;
    char title[200], caption[96];
    enum eq_err err;

    *png = NULL;
    *len = 0;
    if (md->nm == 0)
        return EQ_OK;
    dm = &md->met[0];
    rows = calloc(n + 1, sizeof *rows);
    if (rows == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct dg_stat *ds =
            !trend   ? &dm->tot[i]
            : md->nt ? &md->trend[i * md->np + (size_t)v->prov]
                     : &dm->tot[v->prov];
        rows[i].label = !trend   ? md->in->providers[i].name
                        : md->nt ? md->in->trend_labels[i]
                                 : md->in->period;
        rows[i].hidden = !ds->shown;
        rows[i].value = ds->e.value;
        rows[i].lo = ds->e.lo;
        rows[i].hi = ds->e.hi;
    }
    axis_of(dm->m, &lo, &hi);
    dg_metric_caption(dm->m, 0, v->lang, caption, sizeof caption);
    if (trend && md->nt > 1)
        snprintf(title, sizeof title, "%s " EMDASH " %s, %s " DASH " %s",
                 caption, md->in->providers[v->prov].name,
                 md->in->trend_labels[0], md->in->period);
    else if (trend)
        snprintf(title, sizeof title, "%s " EMDASH " %s, %s", caption,
                 md->in->providers[v->prov].name, md->in->period);
    else
        snprintf(title, sizeof title, "%s " EMDASH " %s", caption,
                 md->in->period);
    err = chart_intervals_labelled(
        rows, n, lo, hi, dm->bench.shown ? dm->bench.e.value : NAN,
        dg_is_en(v->lang) ? "median" : "mediaan", title, png, len);
    free(rows);
    return err;
}

/* What the chart shows, in words, for the img alt text. */
static void
dg_view_chart_alt(const struct view *v, char *out, size_t cap)
{
    const struct dg_model *md = v->md;
    char caption[96], val[32] = "";
    struct eq_buf b = {0};
    int en = dg_is_en(v->lang);

    if (md->nm == 0) {
        snprintf(out, cap, "%s", "");
        return;
    }
    dg_metric_caption(md->met[0].m, 0, v->lang, caption, sizeof caption);
    if (md->met[0].bench.shown)
        dg_fmt_value(md->met[0].m, 0, v->lang, md->met[0].bench.e.value, val,
                     sizeof val);
    if (v->prov >= 0) {
        buf_printf(&b,
                   en ? "Chart: %s of %s per period with 95%% interval:"
                      : "Grafiek: %s van %s per periode met "
                        "95%%-interval:",
                   caption, md->in->providers[v->prov].name);
        for (size_t t = 0; t < md->nt; t++) {
            const struct dg_stat *ds = &md->trend[t * md->np + (size_t)v->prov];
            char x[32];
            if (ds->shown)
                dg_fmt_value(md->met[0].m, 0, v->lang, ds->e.value, x,
                             sizeof x);
            else
                snprintf(x, sizeof x, en ? "hidden" : "verborgen");
            buf_printf(&b, "%s %s %s", t ? ";" : "", md->in->trend_labels[t],
                       x);
        }
        buf_add(&b, ".");
    } else {
        buf_printf(&b,
                   en ? "Chart: %s per department in %s with 95%% interval."
                      : "Grafiek: %s per afdeling in %s met "
                        "95%%-interval.",
                   caption, md->in->period);
    }
    if (*val)
        buf_printf(&b,
                   en ? " Line: organisation median %s."
                      : " Lijn: mediaan van de organisatie %s.",
                   val);
    snprintf(out, cap, "%s", b.s ? b.s : "");
    buf_free(&b);
}

static enum eq_err
base64(const unsigned char *d, size_t n, struct eq_buf *b)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        char q[4];
        if (i + 1 < n)
            v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        q[0] = tab[(v >> 18) & 63];
        q[1] = tab[(v >> 12) & 63];
        q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? tab[v & 63] : '=';
        if (buf_addn(b, q, 4) != EQ_OK)
            return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

static long
find_provider(const struct digest_input *in, const char *code)
{
    for (size_t p = 0; p < in->n_providers; p++)
        if (eq_strcasecmp(in->providers[p].code, code) == 0)
            return (long)p;
    return -1;
}

/* Text or HTML of one view through the digest template. */
enum eq_err
dg_render_tpl(struct view *v, const char *templates_dir, int html,
              const char *chart_src, char **out, struct eq_buf *diag)
{
    struct tpl_ctx *ctx = tpl_ctx_new();
    enum eq_err err;

    if (ctx == NULL)
        return EQ_ERR_NOMEM;
    err = dg_fill_ctx(v, html, chart_src, ctx);
    if (err == EQ_OK)
        err = template_render_file(templates_dir, v->lang, "digest",
                                   html ? "html" : "txt", ctx, out, diag);
    tpl_ctx_free(ctx);
    return err;
}

/* Writes s to f (the whole of a text, HTML or CSV report). */
static enum eq_err
put_all(FILE *f, const char *s)
{
    return fputs(s, f) == EOF ? EQ_ERR_IO : EQ_OK;
}

enum eq_err
dg_render_model(const struct dg_model *md, const char *templates_dir,
                const char *lang, const char *department, const char *format,
                FILE *f, struct eq_buf *diag)
{
    struct view v = {0};
    long prov = -1;
    char *out = NULL;
    enum eq_err err;

    if (department != NULL) {
        prov = find_provider(md->in, department);
        if (prov < 0) {
            eq_diag(diag, "report: %s is not a provider of campaign %s",
                    department, md->in->c->name);
            return EQ_ERR_NOTFOUND;
        }
    }
    err = dg_view_init(&v, md, prov, lang);
    if (err != EQ_OK)
        return err;
    if (strcmp(format, "json") == 0) {
        err = dg_render_json(&v, f);
    } else if (strcmp(format, "csv") == 0) {
        err = dg_render_csv(&v, &out);
    } else if (strcmp(format, "text") == 0) {
        err = dg_render_tpl(&v, templates_dir, 0, NULL, &out, diag);
    } else if (strcmp(format, "html") == 0) {
        unsigned char *png = NULL;
        size_t len = 0;
        struct eq_buf src = {0};
        err = dg_view_chart(&v, &png, &len);
        if (err == EQ_OK && png != NULL) {
            buf_add(&src, "data:image/png;base64,");
            err = base64(png, len, &src);
        }
        if (err == EQ_OK)
            err = dg_render_tpl(&v, templates_dir, 1,
                                png ? buf_str(&src) : NULL, &out, diag);
        free(png);
        buf_free(&src);
    } else {
        eq_diag(diag, "report: unknown format %s (text, html, json, csv)",
                format);
        err = EQ_ERR_USAGE;
    }
    if (err == EQ_OK && out != NULL)
        err = put_all(f, out);
    free(out);
    free(v.sig);
    return err;
}

FILE *
dg_mem_open(struct dg_mem *m)
{
    memset(m, 0, sizeof *m);
    m->f = open_memstream(&m->s, &m->len);
    return m->f;
}

enum eq_err
dg_mem_take(struct dg_mem *m, enum eq_err err, char **out)
{
    *out = NULL;
    if (fclose(m->f) != 0 && err == EQ_OK)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK)
        free(m->s);
    else
        *out = m->s;
    memset(m, 0, sizeof *m);
    return err;
}

enum eq_err
digest_render(const struct digest_input *in, const char *templates_dir,
              const char *lang, const char *department, const char *format,
              char **out, struct eq_buf *diag)
{
    struct dg_model *md = NULL;
    struct dg_mem m;
    enum eq_err err;

    *out = NULL;
    if (dg_mem_open(&m) == NULL)
        return EQ_ERR_NOMEM;
    err = dg_model_build(in, &md, diag);
    if (err == EQ_OK)
        err = dg_render_model(md, templates_dir, lang, department, format, m.f,
                              diag);
    dg_model_free(md);
    return dg_mem_take(&m, err, out);
}

/* ---------------------------------------------------------------------
 * `campaign check`: the digest templates against a sample model.
 */

/* Three providers rated by two customer departments, for every metric of
 * c: ICT and Facilitair with enough answers to be shown, ranked and
 * compared with a very different previous period; HR with one answer, so
 * it is suppressed. ICT has comments. */
struct dg_sample {
    struct store_score_row *rows, *prev;
    const struct store_score_row **rowp, **prevp;
    size_t *n_rows, *n_prev;
    char *const *comments[3];
    size_t n_comments[3];
    struct digest_input in;
};

static void
dg_sample_free(struct dg_sample *s)
{
    free(s->rows);
    free(s->prev);
    free(s->rowp);
    free(s->prevp);
    free(s->n_rows);
    free(s->n_prev);
}

static enum eq_err
dg_sample_init(struct dg_sample *s, const struct campaign *c)
{
    static const struct store_department provs[] = {
        {1, "ict", "ICT"}, {2, "fac", "Facilitair"}, {3, "hr", "HR"}};
    static const struct store_department depts[] = {{10, "fin", "Financiën"},
                                                    {11, "ops", "Operations"}};
    static const struct store_pair response[] = {
        {1, 20, 40, 0}, {2, 20, 30, 0}, {3, 1, 10, 0}};
    static char *const ict_comments[] = {"Snel geholpen, dank!",
                                         "Graag eerder terugbellen."};
    static const struct digest_action actions[] = {
        {1, 1, "Vast inloopspreekuur op dinsdag", NULL, 20700, "2026Q1", 1, 0,
         0},
        {1, 2, "Nieuwe laptops uitrollen", NULL, 0, "2026Q1", 1, 1, 86400}};
    static const struct digest_action_count counts[] = {{1, 1, 1}, {2, 0, 0}};
    size_t nm = c->n_metrics, per = 2 * 2 * 3 + 1;
    int64_t k = (c->anonymity_min > 3 ? c->anonymity_min : 3) + 2;

    memset(s, 0, sizeof *s);
    s->rows = calloc(nm * per + 1, sizeof *s->rows);
    s->prev = calloc(nm * 2 + 1, sizeof *s->prev);
    s->rowp = calloc(nm + 1, sizeof *s->rowp);
    s->prevp = calloc(nm + 1, sizeof *s->prevp);
    s->n_rows = calloc(nm + 1, sizeof *s->n_rows);
    s->n_prev = calloc(nm + 1, sizeof *s->n_prev);
    if (!s->rows || !s->prev || !s->rowp || !s->prevp || !s->n_rows ||
        !s->n_prev)
        return EQ_ERR_NOMEM;
    for (size_t m = 0; m < nm; m++) {
        const struct campaign_metric *mt = &c->metrics[m];
        struct store_score_row *r = s->rows + m * per;
        size_t n = 0;
        for (int64_t p = 1; p <= 2; p++)
            for (int64_t d = 10; d <= 11; d++) {
                /* ICT mostly high, Facilitair mostly low. */
                r[n++] = (struct store_score_row){
                    p, d, p == 1 ? mt->max : mt->min, k};
                r[n++] = (struct store_score_row){
                    p, d, p == 1 ? mt->min : mt->max, 2};
                r[n++] = (struct store_score_row){p, d, (mt->min + mt->max) / 2,
                                                  d == 10 ? 1 : 3};
            }
        r[n++] = (struct store_score_row){3, 10, mt->max, 1};
        s->rowp[m] = r;
        s->n_rows[m] = n;
        s->prev[2 * m] = (struct store_score_row){1, 10, mt->min, 4 * k};
        s->prev[2 * m + 1] = (struct store_score_row){2, 10, mt->max, 4 * k};
        s->prevp[m] = s->prev + 2 * m;
        s->n_prev[m] = 2;
    }
    s->comments[0] = ict_comments;
    s->n_comments[0] = 2;
    s->in = (struct digest_input){
        .c = c,
        .period = "2026Q2",
        .prev_period = "2026Q1",
        .providers = provs,
        .n_providers = 3,
        .departments = depts,
        .n_departments = 2,
        .rows = s->rowp,
        .n_rows = s->n_rows,
        .prev_rows = s->prevp,
        .n_prev_rows = s->n_prev,
        .response = response,
        .n_response = 3,
        .comments = s->comments,
        .n_comments = s->n_comments,
        .actions = actions,
        .n_actions = 2,
        .action_counts = counts,
        .n_action_counts = 2,
    };
    return EQ_OK;
}

enum eq_err
digest_check_templates(const char *templates_dir, const struct campaign *c,
                       struct eq_buf *diag)
{
    static const char *const langs[] = {"nl", "en"};
    /* Organisation view (with a chart in HTML), a shown manager view and a
     * suppressed one: between them every section of the template opens. */
    static const long provs[] = {-1, 0, 2};
    enum { NV = sizeof provs / sizeof provs[0] };
    struct dg_sample s;
    struct dg_model *md = NULL;
    struct tpl_ctx *ctx[NV] = {0};
    enum eq_err err, total = EQ_OK;

    if (c->n_metrics == 0) {
        eq_diag(diag, "digest: campaign %s has no metrics", c->name);
        return EQ_ERR_CONFIG;
    }
    err = dg_sample_init(&s, c);
    if (err == EQ_OK)
        err = dg_model_build(&s.in, &md, diag);
    for (size_t l = 0; l < 2 && err == EQ_OK; l++)
        for (int html = 0; html <= 1 && err == EQ_OK; html++) {
            for (size_t i = 0; i < NV && err == EQ_OK; i++) {
                struct view v;
                tpl_ctx_free(ctx[i]);
                ctx[i] = tpl_ctx_new();
                if (ctx[i] == NULL) {
                    err = EQ_ERR_NOMEM;
                    break;
                }
                err = dg_view_init(&v, md, provs[i], langs[l]);
                if (err != EQ_OK)
                    break;
                err = dg_fill_ctx(
                    &v, html,
                    html && provs[i] < 0 ? "data:image/png;base64,AA==" : NULL,
                    ctx[i]);
                free(v.sig);
            }
            if (err != EQ_OK)
                break;
            {
                const struct tpl_ctx *cc[NV];
                enum eq_err e;
                for (size_t i = 0; i < NV; i++)
                    cc[i] = ctx[i];
                e = template_check_file(templates_dir, langs[l], "digest",
                                        html ? "html" : "txt", cc, NV, diag);
                if (e == EQ_ERR_NOMEM)
                    err = e;
                else if (e != EQ_OK && total == EQ_OK)
                    total = e;
            }
        }
    for (size_t i = 0; i < NV; i++)
        tpl_ctx_free(ctx[i]);
    dg_model_free(md);
    dg_sample_free(&s);
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "digest: out of memory");
    return err != EQ_OK ? err : total;
}
