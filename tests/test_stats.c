#include <criterion/criterion.h>
#include <math.h>

#include "stats.h"

#define near(a, b, eps)                                                        \
    cr_assert(fabs((a) - (b)) < (eps), "%s = %.6f, want %.6f", #a,             \
              (double)(a), (double)(b))

/* Asserts an estimate's value (to 1e-9) and interval ends (to eps). */
static void
assert_estimate(const struct stats_estimate *e, double value, double lo,
                double hi, double eps)
{
    near(e->value, value, 1e-9);
    near(e->lo, lo, eps);
    near(e->hi, hi, eps);
}

static struct stats_dist
nps_dist(int pro, int pas, int det)
{
    struct stats_dist d;
    cr_assert_eq(stats_dist_init(&d, 0, 10), EQ_OK);
    cr_assert_eq(stats_dist_add(&d, 10, pro), EQ_OK);
    cr_assert_eq(stats_dist_add(&d, 8, pas), EQ_OK);
    cr_assert_eq(stats_dist_add(&d, 3, det), EQ_OK);
    return d;
}

Test(stats, nps_point_value_and_adjusted_wald_interval)
{
    /* P = 5, D = 2, n = 10: NPS = (5 - 2) / 10 × 100 = 30.
     * p+ = 5.75/13 = 0.442308, p- = 2.75/13 = 0.211538, diff 0.230769;
     * var = (0.653846 - 0.053254) / 13 = 0.0461994; 1.96 √var = 0.421284;
     * interval 0.230769 ± 0.421284 = [-19.0514, 65.2052] points. */
    struct stats_dist d = nps_dist(5, 3, 2);
    struct stats_estimate e;
    cr_assert_eq(stats_nps(&d, &e), EQ_OK);
    cr_assert_eq(e.n, 10);
    assert_estimate(&e, 30.0, -19.0514, 65.2052, 1e-3);
    near(e.var, 461.9936, 1e-3);
}

Test(stats, nps_interval_is_clipped_to_the_scale)
{
    /* All 40 promoters: p+ = 40.75/43, p- = 0.75/43, the upper end passes
     * +100 and is clipped. */
    struct stats_dist d = nps_dist(40, 0, 0);
    struct stats_estimate e;
    cr_assert_eq(stats_nps(&d, &e), EQ_OK);
    near(e.value, 100.0, 1e-9);
    near(e.hi, 100.0, 1e-9);
    cr_assert(e.lo < 100.0 && e.lo > 80.0);
}

Test(stats, nps_counts_seven_and_eight_as_passives)
{
    struct stats_dist d;
    struct stats_estimate e;
    stats_dist_init(&d, 0, 10);
    stats_dist_add(&d, 6, 1); /* detractor */
    stats_dist_add(&d, 7, 2); /* passive */
    stats_dist_add(&d, 9, 1); /* promoter */
    cr_assert_eq(stats_nps(&d, &e), EQ_OK);
    near(e.value, 0.0, 1e-9);
}

Test(stats, nps_refuses_other_scales_and_reports_no_data)
{
    struct stats_dist d;
    struct stats_estimate e;
    stats_dist_init(&d, 1, 7);
    cr_assert_eq(stats_nps(&d, &e), EQ_ERR_DATA);
    stats_dist_init(&d, 0, 10);
    cr_assert_eq(stats_nps(&d, &e), EQ_OK);
    cr_assert_eq(e.n, 0);
    cr_assert_eq(stats_dist_add(&d, 11, 1), EQ_ERR_DATA);
    cr_assert_eq(stats_dist_init(&d, 0, 11), EQ_ERR_DATA);
}

Test(stats, wilson_interval_for_eight_of_ten)
{
    /* p = 0.8, z² = 3.8416, denominator 1.38416, centre 0.716753,
     * half width 1.41602 × √0.025604 = 0.226580 → [49.0157, 94.3319] %. */
    struct stats_estimate e;
    cr_assert_eq(stats_wilson(8, 10, &e), EQ_OK);
    assert_estimate(&e, 80.0, 49.0157, 94.3319, 1e-3);
    cr_assert_eq(stats_wilson(11, 10, &e), EQ_ERR_DATA);
}

Test(stats, wilson_for_none_and_all_stays_inside_zero_to_hundred)
{
    struct stats_estimate e;
    cr_assert_eq(stats_wilson(0, 10, &e), EQ_OK);
    near(e.lo, 0.0, 1e-9);
    /* upper end of 0/10: z²/n / (1 + z²/n) = 0.38416 / 1.38416 = 27.754 % */
    near(e.hi, 27.7538, 1e-3);
    cr_assert(e.var > 0.0, "Agresti–Caffo variance is never 0");
    cr_assert_eq(stats_wilson(10, 10, &e), EQ_OK);
    near(e.hi, 100.0, 1e-9);
    near(e.lo, 72.2462, 1e-3);
}

Test(stats, share_counts_satisfied_csat_answers)
{
    struct stats_dist d;
    struct stats_estimate e;
    stats_dist_init(&d, 1, 5);
    stats_dist_add(&d, 5, 3);
    stats_dist_add(&d, 4, 5);
    stats_dist_add(&d, 2, 2);
    cr_assert_eq(stats_share(&d, 4, 5, &e), EQ_OK);
    near(e.value, 80.0, 1e-9); /* 8 of 10: same Wilson numbers as above */
    near(e.lo, 49.0157, 1e-3);
}

Test(stats, mean_uses_t_interval_for_five_answers)
{
    /* Scores 3,4,4,5,5 on 1–7: mean 4.2, s² = 2.8/4 = 0.7,
     * se = √(0.7/5) = 0.374166, t(0.975, 4) = 2.776445,
     * interval 4.2 ± 1.038850 = [3.161149, 5.238851]. */
    struct stats_dist d;
    struct stats_estimate e;
    stats_dist_init(&d, 1, 7);
    stats_dist_add(&d, 3, 1);
    stats_dist_add(&d, 4, 2);
    stats_dist_add(&d, 5, 2);
    cr_assert_eq(stats_mean(&d, &e), EQ_OK);
    assert_estimate(&e, 4.2, 3.161149, 5.238851, 1e-4);
    near(e.var, 0.14, 1e-9);
}

Test(stats, mean_of_one_answer_spans_the_scale)
{
    struct stats_dist d;
    struct stats_estimate e;
    stats_dist_init(&d, 1, 5);
    stats_dist_add(&d, 4, 1);
    cr_assert_eq(stats_mean(&d, &e), EQ_OK);
    assert_estimate(&e, 4.0, 1.0, 5.0, 1e-9);
}

Test(stats, t_quantiles_match_the_printed_table)
{
    static const struct {
        double p;
        int df;
        double t, eps;
    } table[] = {
        {0.975, 1, 12.706205, 1e-3}, {0.975, 2, 4.302653, 1e-4},
        {0.975, 4, 2.776445, 1e-4},  {0.975, 9, 2.262157, 1e-4},
        {0.975, 29, 2.045230, 1e-4}, {0.975, 120, 1.979930, 1e-4},
        {0.95, 10, 1.812461, 1e-4},  {0.025, 4, -2.776445, 1e-4},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        double t = stats_t_quantile(table[i].p, table[i].df);
        cr_assert(fabs(t - table[i].t) < table[i].eps,
                  "t(%g, %d) = %.6f, want %.6f", table[i].p, table[i].df, t,
                  table[i].t);
    }
    near(stats_t_cdf(0.0, 7), 0.5, 1e-12);
}

Test(stats, change_z_and_two_sided_p)
{
    /* Δ = 40 - 10 = 30, √(100 + 125) = 15, z = 2, p = 2(1 - Φ(2)) = 0.0455003
     */
    struct stats_estimate a = {.value = 10, .var = 100, .n = 20};
    struct stats_estimate b = {.value = 40, .var = 125, .n = 20};
    struct stats_change c;
    cr_assert_eq(stats_change(&a, &b, &c), EQ_OK);
    near(c.delta, 30.0, 1e-12);
    near(c.z, 2.0, 1e-12);
    near(c.p, 0.0455003, 1e-6);
    near(stats_normal_cdf(1.96), 0.9750021, 1e-6);
    struct stats_estimate none = {0};
    cr_assert_eq(stats_change(&none, &b, &c), EQ_ERR_DATA);
}

Test(stats, benjamini_hochberg_at_q_ten_percent)
{
    /* Sorted 0.01 ≤ 1/4·0.1, 0.03 ≤ 2/4·0.1, 0.04 ≤ 3/4·0.1, 0.20 > 0.1. */
    double p[] = {0.01, 0.04, 0.03, 0.20};
    int sig[4];
    cr_assert_eq(stats_bh(p, 4, 0.10, sig), 3);
    cr_assert(sig[0] && sig[1] && sig[2] && !sig[3]);

    /* 0.09 > 2/3·0.1: only the first survives. */
    double p2[] = {0.5, 0.02, 0.09};
    int sig2[3];
    cr_assert_eq(stats_bh(p2, 3, 0.10, sig2), 1);
    cr_assert(!sig2[0] && sig2[1] && !sig2[2]);

    /* The step-up: 0.08 ≤ 3/3·0.1 carries 0.06 and 0.07 with it. */
    double p3[] = {0.06, 0.08, 0.07};
    int sig3[3];
    cr_assert_eq(stats_bh(p3, 3, 0.10, sig3), 3);

    double p4[] = {NAN, 0.2};
    int sig4[2];
    cr_assert_eq(stats_bh(p4, 2, 0.10, sig4), 0);
    cr_assert_eq(stats_bh(NULL, 0, 0.10, NULL), 0);
}

Test(stats, all_promoters_give_nps_hundred_with_the_hand_computed_interval)
{
    /* P = 10, D = 0, n = 10: NPS = 100.
     * p+ = 10.75/13 = 0.826923, p- = 0.75/13 = 0.057692, diff 0.769231;
     * var = (0.884615 - 0.591716) / 13 = 0.0225307; 1.96 √var = 0.294201;
     * interval [47.5030, 106.3431] points, clipped to [47.5030, 100]. */
    struct stats_dist d = nps_dist(10, 0, 0);
    struct stats_estimate e;
    cr_assert_eq(stats_nps(&d, &e), EQ_OK);
    cr_assert_eq(e.n, 10);
    assert_estimate(&e, 100.0, 47.5030, 100.0, 1e-3);
    near(e.var, 225.3072, 1e-3);
}

Test(stats, one_promoter_says_almost_nothing)
{
    /* n = 1, P = 1: p+ = 1.75/4 = 0.4375, p- = 0.75/4 = 0.1875, diff 0.25;
     * var = (0.625 - 0.0625) / 4 = 0.140625, √var = 0.375, × 1.96 = 0.735:
     * interval [-48.5, 98.5] although the point value is 100. */
    struct stats_dist d = nps_dist(1, 0, 0);
    struct stats_estimate e;
    cr_assert_eq(stats_nps(&d, &e), EQ_OK);
    assert_estimate(&e, 100.0, -48.5, 98.5, 1e-9);
    near(e.var, 1406.25, 1e-9);
}

Test(stats, no_answers_give_no_estimate_for_any_statistic)
{
    struct stats_dist d;
    struct stats_estimate e;
    cr_assert_eq(stats_dist_init(&d, 1, 5), EQ_OK);
    cr_assert_eq(stats_mean(&d, &e), EQ_OK);
    cr_assert_eq(e.n, 0);
    cr_assert_eq(e.value, 0);
    cr_assert_eq(stats_share(&d, 4, 5, &e), EQ_OK);
    cr_assert_eq(e.n, 0);
    cr_assert_eq(e.lo, 0);
    cr_assert_eq(e.hi, 0);
    cr_assert_eq(stats_wilson(0, 0, &e), EQ_OK);
    cr_assert_eq(e.n, 0);
}
