/*
 * chart: draws the interval chart of digests and reports as a PNG in memory
 * (cairo): one row per department or period, the point value with its 95 %
 * interval as a whisker and the organisation benchmark as a vertical line.
 * It draws what it is given: privacy and statistics are decided elsewhere.
 */
#ifndef CHART_H
#define CHART_H

#include "eq.h"

#define CHART_WIDTH 640

struct chart_row {
    const char *label; /* UTF-8 */
    double value, lo, hi;
    int hidden; /* suppressed or no data: drawn as "–" without a point */
};

/* Height in pixels of a chart with n rows (an empty chart has room for one
 * line saying there is nothing to show). */
int chart_height(size_t n);

/* PNG of CHART_WIDTH × chart_height(n) pixels. benchmark NaN = no line.
 * *png is malloc'ed and owned by the caller. EQ_ERR_DATA if axis_min >=
 * axis_max. */
enum eq_err chart_intervals(const struct chart_row *rows, size_t n,
                            double axis_min, double axis_max, double benchmark,
                            const char *title, unsigned char **png,
                            size_t *len);

/* As chart_intervals, with the benchmark line's caption in the reader's
 * language ("mediaan", "median"). */
enum eq_err chart_intervals_labelled(const struct chart_row *rows, size_t n,
                                     double axis_min, double axis_max,
                                     double benchmark, const char *bench_label,
                                     const char *title, unsigned char **png,
                                     size_t *len);

/* Frees cairo's and fontconfig's process-wide font caches so leak checkers
 * see a clean exit. Call once, after the last chart (tests: as .fini). */
void chart_shutdown(void);

#endif
