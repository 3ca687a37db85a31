/*
 * stats: the statistics of DESIGN.md, one method each — NPS with the
 * adjusted-Wald interval, proportions with the Wilson interval, means with a
 * t interval, the z test for a change between periods and Benjamini–Hochberg.
 * Pure arithmetic on counts: no I/O, no allocation, no knowledge of metrics
 * or privacy (callers decide what may be shown).
 */
#ifndef STATS_H
#define STATS_H

#include "eq.h"

/* Counts of each score on a scale min..max (0 <= min <= max <= 10). */
struct stats_dist {
    int64_t count[11];
    int min, max;
};

/* A point value with its 95 % interval. Units are those shown to people:
 * NPS points (-100..100), percent (0..100) for shares, scale units for
 * means. var is the variance of value in the same units (squared), used by
 * stats_change. n = 0 means "no data": value, lo, hi and var are 0. */
struct stats_estimate {
    double value, lo, hi, var;
    int64_t n;
};

/* A change between two periods: delta = now - before, two-sided p. */
struct stats_change {
    double delta, z, p;
};

#define STATS_Z95 1.96

/* Empty distribution on min..max; EQ_ERR_DATA if the scale is not within
 * 0..10. */
enum eq_err stats_dist_init(struct stats_dist *d, int min, int max);
/* Adds n answers with this score; EQ_ERR_DATA if outside the scale or n < 0. */
enum eq_err stats_dist_add(struct stats_dist *d, int score, int64_t n);
/* Adds every count of src (same scale) to d. */
enum eq_err stats_dist_merge(struct stats_dist *d,
                             const struct stats_dist *src);
int64_t stats_dist_n(const struct stats_dist *d);

/* NPS of a 0–10 distribution: (P - D) / n × 100, adjusted-Wald 95 %
 * interval clipped to [-100, 100]; var = the adjusted-Wald variance × 100².
 * EQ_ERR_DATA if the scale is not 0–10. */
enum eq_err stats_nps(const struct stats_dist *d, struct stats_estimate *out);
/* Mean with a t interval (df = n - 1) clipped to the scale; var = s²/n. With
 * n = 1 the interval is the whole scale and var is the scale's range squared
 * (nothing can be concluded from one answer). */
enum eq_err stats_mean(const struct stats_dist *d, struct stats_estimate *out);
/* Percent of answers with lo <= score <= hi, Wilson interval. */
enum eq_err stats_share(const struct stats_dist *d, int lo, int hi,
                        struct stats_estimate *out);
/* k of n as a percent with the Wilson 95 % interval. var uses the
 * Agresti–Caffo adjustment ((k+1)/(n+2)) so that 0 % and 100 % still have a
 * variance; value stays k/n. EQ_ERR_DATA if k < 0, n < 0 or k > n. */
enum eq_err stats_wilson(int64_t k, int64_t n, struct stats_estimate *out);

/* Quantile of Student's t with df degrees of freedom (df >= 1), p in (0,1). */
double stats_t_quantile(double p, double df);
/* Distribution function of Student's t. */
double stats_t_cdf(double t, double df);
/* Standard normal distribution function. */
double stats_normal_cdf(double z);

/* z = delta / sqrt(var_before + var_now), p two-sided from the normal.
 * EQ_ERR_DATA if either estimate has n = 0. When both variances are 0, z is 0
 * and p is 1. */
enum eq_err stats_change(const struct stats_estimate *before,
                         const struct stats_estimate *now,
                         struct stats_change *out);

/* Benjamini–Hochberg at level q over n p-values: significant[i] = 1 for the
 * rejected hypotheses. Returns how many. NaN p-values are never significant
 * and are not counted in n. */
size_t stats_bh(const double *p, size_t n, double q, int *significant);

#endif
