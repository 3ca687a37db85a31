#include "stats.h"

#include <math.h>
#include <string.h>

enum eq_err
stats_dist_init(struct stats_dist *d, int min, int max)
{
    memset(d, 0, sizeof *d);
    if (min < 0 || max > 10 || min > max)
        return EQ_ERR_DATA;
    d->min = min;
    d->max = max;
    return EQ_OK;
}

enum eq_err
stats_dist_add(struct stats_dist *d, int score, int64_t n)
{
    if (score < d->min || score > d->max || n < 0)
        return EQ_ERR_DATA;
    d->count[score] += n;
    return EQ_OK;
}

enum eq_err
stats_dist_merge(struct stats_dist *d, const struct stats_dist *src)
{
    if (d->min != src->min || d->max != src->max)
        return EQ_ERR_DATA;
    for (int s = d->min; s <= d->max; s++)
        d->count[s] += src->count[s];
    return EQ_OK;
}

int64_t
stats_dist_n(const struct stats_dist *d)
{
    int64_t n = 0;

    for (int s = d->min; s <= d->max; s++)
        n += d->count[s];
    return n;
}

static double
clip(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

enum eq_err
stats_nps(const struct stats_dist *d, struct stats_estimate *out)
{
    int64_t n, pro, det = 0;
    double pp, pd, var, half;

    memset(out, 0, sizeof *out);
    if (d->min != 0 || d->max != 10)
        return EQ_ERR_DATA;
    n = stats_dist_n(d);
    pro = d->count[9] + d->count[10];
    for (int s = 0; s <= 6; s++)
        det += d->count[s];
    out->n = n;
    if (n == 0)
        return EQ_OK;
    out->value = (double)(pro - det) / (double)n * 100.0;
    pp = ((double)pro + 0.75) / ((double)n + 3.0);
    pd = ((double)det + 0.75) / ((double)n + 3.0);
    var = (pp + pd - (pp - pd) * (pp - pd)) / ((double)n + 3.0);
    half = STATS_Z95 * sqrt(var);
    out->lo = clip((pp - pd - half) * 100.0, -100.0, 100.0);
    out->hi = clip((pp - pd + half) * 100.0, -100.0, 100.0);
    out->var = var * 10000.0;
    return EQ_OK;
}

enum eq_err
stats_mean(const struct stats_dist *d, struct stats_estimate *out)
{
    int64_t n;
    double sum = 0, ss = 0, mean, s2, half;

    memset(out, 0, sizeof *out);
    n = stats_dist_n(d);
    out->n = n;
    if (n == 0)
        return EQ_OK;
    for (int s = d->min; s <= d->max; s++)
        sum += (double)s * (double)d->count[s];
    mean = sum / (double)n;
    out->value = mean;
    if (n == 1) {
        double range = (double)(d->max - d->min);
        out->lo = d->min;
        out->hi = d->max;
        out->var = range * range;
        return EQ_OK;
    }
    for (int s = d->min; s <= d->max; s++)
        ss += ((double)s - mean) * ((double)s - mean) * (double)d->count[s];
    s2 = ss / (double)(n - 1);
    out->var = s2 / (double)n;
    half = stats_t_quantile(0.975, (double)(n - 1)) * sqrt(out->var);
    out->lo = clip(mean - half, d->min, d->max);
    out->hi = clip(mean + half, d->min, d->max);
    return EQ_OK;
}

enum eq_err
stats_wilson(int64_t k, int64_t n, struct stats_estimate *out)
{
    double p, z2, denom, centre, half, pa;

    memset(out, 0, sizeof *out);
    if (k < 0 || n < 0 || k > n)
        return EQ_ERR_DATA;
    out->n = n;
    if (n == 0)
        return EQ_OK;
    p = (double)k / (double)n;
    z2 = STATS_Z95 * STATS_Z95;
    denom = 1.0 + z2 / (double)n;
    centre = (p + z2 / (2.0 * (double)n)) / denom;
    half = STATS_Z95 / denom *
           sqrt(p * (1.0 - p) / (double)n + z2 / (4.0 * (double)n * (double)n));
    out->value = p * 100.0;
    out->lo = clip((centre - half) * 100.0, 0.0, 100.0);
    out->hi = clip((centre + half) * 100.0, 0.0, 100.0);
    pa = ((double)k + 1.0) / ((double)n + 2.0);
    out->var = pa * (1.0 - pa) / ((double)n + 2.0) * 10000.0;
    return EQ_OK;
}

enum eq_err
stats_share(const struct stats_dist *d, int lo, int hi,
            struct stats_estimate *out)
{
    int64_t k = 0;

    for (int s = d->min; s <= d->max; s++)
        if (s >= lo && s <= hi)
            k += d->count[s];
    return stats_wilson(k, stats_dist_n(d), out);
}

/* Continued fraction of the regularised incomplete beta function (DLMF
 * 8.17.22), evaluated with the modified Lentz method. */
static double
beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0), f;

    if (fabs(d) < tiny)
        d = tiny;
    d = 1.0 / d;
    f = d;
    for (int m = 1; m <= 300; m++) {
        double num, delta;
        /* even step */
        num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + num / c;
        if (fabs(c) < tiny)
            c = tiny;
        f *= d * c;
        /* odd step */
        num =
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        d = fabs(d) < tiny ? 1.0 / tiny : 1.0 / d;
        c = 1.0 + num / c;
        if (fabs(c) < tiny)
            c = tiny;
        delta = d * c;
        f *= delta;
        if (fabs(delta - 1.0) < eps)
            break;
    }
    return f;
}

static double
ibeta(double a, double b, double x)
{
    double front;

    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    /* The fraction converges fast only below this point; use symmetry. */
    if (x > (a + 1.0) / (a + b + 2.0))
        return 1.0 - ibeta(b, a, 1.0 - x);
    front =
        exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    return front * beta_cf(a, b, x) / a;
}

double
stats_t_cdf(double t, double df)
{
    double tail = 0.5 * ibeta(df / 2.0, 0.5, df / (df + t * t));

    return t > 0 ? 1.0 - tail : tail;
}

double
stats_t_quantile(double p, double df)
{
    double lo = 0.0, hi = 1.0;

    if (!(p > 0.0 && p < 1.0) || !(df >= 1.0))
        return NAN;
    if (p < 0.5)
        return -stats_t_quantile(1.0 - p, df);
    while (stats_t_cdf(hi, df) < p && hi < 1e12)
        hi *= 2.0;
    for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
        double mid = (lo + hi) / 2.0;
        if (stats_t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2.0;
}

double
stats_normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

enum eq_err
stats_change(const struct stats_estimate *before,
             const struct stats_estimate *now, struct stats_change *out)
{
    double var;

    memset(out, 0, sizeof *out);
    if (before->n <= 0 || now->n <= 0)
        return EQ_ERR_DATA;
    out->delta = now->value - before->value;
    var = before->var + now->var;
    if (!(var > 0.0)) {
        out->p = 1.0;
        return EQ_OK;
    }
    out->z = out->delta / sqrt(var);
    out->p = erfc(fabs(out->z) / sqrt(2.0));
    return EQ_OK;
}

size_t
stats_bh(const double *p, size_t n, double q, int *significant)
{
    size_t m = 0, count = 0;
    double cut = -1.0;

    for (size_t i = 0; i < n; i++)
        if (!isnan(p[i]))
            m++;
    /* The largest p(k) with p(k) <= k/m q; ranks by counting keep this free
     * of allocation (digests compare a handful of values). */
    for (size_t i = 0; i < n; i++) {
        size_t rank = 0;
        if (isnan(p[i]))
            continue;
        for (size_t j = 0; j < n; j++)
            if (!isnan(p[j]) && p[j] <= p[i])
                rank++;
        if (p[i] <= (double)rank / (double)m * q && p[i] > cut)
            cut = p[i];
    }
    for (size_t i = 0; i < n; i++) {
        significant[i] = !isnan(p[i]) && cut >= 0.0 && p[i] <= cut;
        count += (size_t)significant[i];
    }
    return count;
}
