#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"

static const unsigned char png_sig[8] = {0x89, 'P',  'N',  'G',
                                         0x0d, 0x0a, 0x1a, 0x0a};

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Width and height from the IHDR chunk, which must come first. */
static void
check_png(const unsigned char *png, size_t len, uint32_t w, uint32_t h)
{
    cr_assert(len > 33);
    cr_assert_eq(memcmp(png, png_sig, 8), 0, "PNG signature");
    cr_assert_eq(memcmp(png + 12, "IHDR", 4), 0);
    cr_assert_eq(be32(png + 16), w);
    cr_assert_eq(be32(png + 20), h);
    cr_assert_eq(memcmp(png + len - 8, "IEND", 4), 0, "ends with IEND");
}

Test(chart, draws_one_row_per_department_with_expected_size,
     .fini = chart_shutdown)
{
    struct chart_row rows[] = {
        {"ICT", 23, -5, 48, 0},
        {"Facilitair bedrijf \xC3\xA9\xC3\xA9n heel lange naam die niet past",
         40, 20, 60, 0},
        {"HR", NAN, NAN, NAN, 1},
    };
    unsigned char *png = NULL;
    size_t len = 0;
    cr_assert_eq(
        chart_intervals(rows, 3, -100, 100, 12.5, "NPS 2026Q1", &png, &len),
        EQ_OK);
    cr_assert_eq(chart_height(3), 40 + 3 * 26 + 34);
    check_png(png, len, CHART_WIDTH, (uint32_t)chart_height(3));
    free(png);
}

Test(chart, empty_chart_is_still_a_picture, .fini = chart_shutdown)
{
    unsigned char *png = NULL;
    size_t len = 0;
    cr_assert_eq(chart_intervals(NULL, 0, 1, 5, NAN, "CSAT", &png, &len),
                 EQ_OK);
    check_png(png, len, CHART_WIDTH, (uint32_t)chart_height(0));
    cr_assert_eq(chart_height(0), chart_height(1));
    free(png);
}

Test(chart, values_outside_the_axis_are_drawn_at_the_edge,
     .fini = chart_shutdown)
{
    struct chart_row rows[] = {{"x", 150, -300, 400, 0}};
    unsigned char *png = NULL;
    size_t len = 0;
    cr_assert_eq(chart_intervals(rows, 1, 0, 100, 250, NULL, &png, &len),
                 EQ_OK);
    check_png(png, len, CHART_WIDTH, (uint32_t)chart_height(1));
    free(png);
}

Test(chart, refuses_an_empty_axis, .fini = chart_shutdown)
{
    unsigned char *png = (unsigned char *)"x";
    size_t len = 9;
    cr_assert_eq(chart_intervals(NULL, 0, 5, 5, NAN, "t", &png, &len),
                 EQ_ERR_DATA);
    cr_assert_null(png);
    cr_assert_eq(len, 0);
}
