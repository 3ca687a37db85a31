#include "digest.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "compose.h"
#include "eqtime.h"
#include "privacy.h"
#include "stats.h"
#include "template.h"
#include "token.h"

#define BH_Q 0.10
#define DASH "\xE2\x80\x93"       /* – */
#define ELLIPSIS "\xE2\x80\xA6"   /* … */
#define EMDASH "\xE2\x80\x94"     /* — */

/* ---------------------------------------------------------------------
 * Words the tables need; the prose lives in the templates.
 */
struct words {
    const char *metric, *value, *interval, *n, *previous, *change, *benchmark,
        *rank, *customer, *department, *response, *total, *organisation,
        *of, *answered, *unknown, *mean, *agree, *satisfied, *period,
        *median, *na, *providers;
};

static const struct words nl_words = {
    "Meting", "Score", "95%-interval", "n", "Vorige", "Verschil",
    "Benchmark", "Rang", "Klantafdeling", "Afdeling", "Respons", "totaal",
    "organisatie", "van", "beantwoord", "onbekend", "gemiddelde", "% eens",
    "% tevreden", "Periode", "Mediaan", "n.v.t.", "afdelingen",
};
static const struct words en_words = {
    "Measure", "Score", "95% interval", "n", "Previous", "Change",
    "Benchmark", "Rank", "Customer department", "Department", "Response",
    "total", "organisation", "of", "answered", "unknown", "mean", "% agree",
    "% satisfied", "Period", "Median", "n/a", "departments",
};

static const struct words *
words_for(const char *lang)
{
    return lang && strcmp(lang, "en") == 0 ? &en_words : &nl_words;
}

static int
is_en(const char *lang)
{
    return lang && strcmp(lang, "en") == 0;
}

/* ---------------------------------------------------------------------
 * The model: score distributions per metric, provider and customer
 * department, their estimates, the privacy grid and the changes.
 */
struct dg_stat {
    struct stats_estimate e;
    int shown;
};

struct dg_side {
    size_t nc;
    int64_t *cust;          /* rater department ids, display order */
    struct stats_dist *cell; /* nm × np × nc */
    struct stats_dist *tot;  /* nm × np */
    struct privacy_grid *grid;
};

struct dg_metric {
    const struct campaign_metric *m;
    struct dg_stat *cell;  /* np × nc, headline statistic */
    struct dg_stat *tot;   /* np, headline */
    struct dg_stat *tot2;  /* np, second statistic (ces: % agree, csat:
                              mean); not for nps */
    struct dg_stat *prev;  /* np */
    struct stats_change *chg;
    int *has_chg;
    int *rank; /* 0 = not ranked */
    int n_ranked;
    /* The organisation benchmark: the median of the shown providers'
     * values (e.n = how many providers), now and in the previous period.
     * A median has no variance under DESIGN.md's methods, so its change is
     * shown but never tested. */
    struct dg_stat bench, bench2, pbench;
};

struct dg_model {
    const struct digest_input *in;
    size_t np, nm;
    struct dg_side cur, prv;
    struct dg_metric *met;
    int64_t *invited, *answered, *na;
    struct stats_estimate *resp, *na_share;
    int64_t org_invited, org_answered, org_na;
    struct stats_estimate org_resp, org_na_share;
    int min;
    /* Trend of the first metric: nt periods × np providers, and the
     * median of each period. */
    size_t nt;
    struct dg_stat *trend, *trend_med;
};

static void
side_free(struct dg_side *s)
{
    free(s->cust);
    free(s->cell);
    free(s->tot);
    privacy_grid_free(s->grid);
}

static void
model_free(struct dg_model *md)
{
    if (md == NULL)
        return;
    side_free(&md->cur);
    side_free(&md->prv);
    for (size_t m = 0; md->met && m < md->nm; m++) {
        struct dg_metric *dm = &md->met[m];
        free(dm->cell);
        free(dm->tot);
        free(dm->tot2);
        free(dm->prev);
        free(dm->chg);
        free(dm->has_chg);
        free(dm->rank);
    }
    free(md->met);
    free(md->invited);
    free(md->answered);
    free(md->na);
    free(md->resp);
    free(md->na_share);
    free(md->trend);
    free(md->trend_med);
    free(md);
}

static const char *
dept_name(const struct digest_input *in, int64_t id, const char *lang)
{
    for (size_t i = 0; i < in->n_departments; i++)
        if (in->departments[i].id == id)
            return in->departments[i].name;
    for (size_t i = 0; i < in->n_providers; i++)
        if (in->providers[i].id == id)
            return in->providers[i].name;
    return words_for(lang)->unknown;
}

static long
prov_index(const struct dg_model *md, int64_t id)
{
    for (size_t p = 0; p < md->np; p++)
        if (md->in->providers[p].id == id)
            return (long)p;
    return -1;
}

static const struct digest_input *sort_in;

static int
cmp_dept(const void *a, const void *b)
{
    const char *na = dept_name(sort_in, *(const int64_t *)a, "nl");
    const char *nb = dept_name(sort_in, *(const int64_t *)b, "nl");
    int r = strcmp(na, nb);

    if (r != 0)
        return r;
    return *(const int64_t *)a < *(const int64_t *)b ? -1 : 1;
}

/* Distributions and the privacy grid of one period. A cell's respondents
 * are the fewest answers any metric with data has there: every number shown
 * for a cell then rests on at least anonymity_min people. */
static enum eq_err
side_build(struct dg_model *md, const struct store_score_row *const *rows,
           const size_t *n_rows, struct dg_side *s, struct eq_buf *diag)
{
    const struct campaign *c = md->in->c;
    size_t np = md->np, nm = md->nm, cap = 0;
    int64_t *counts = NULL;
    int *has = NULL;
    enum eq_err err = EQ_OK;

    for (size_t m = 0; m < nm; m++)
        cap += n_rows[m];
    s->cust = calloc(cap + 1, sizeof *s->cust);
    if (s->cust == NULL)
        return EQ_ERR_NOMEM;
    for (size_t m = 0; m < nm; m++)
        for (size_t i = 0; i < n_rows[m]; i++) {
            size_t k;
            if (prov_index(md, rows[m][i].provider_id) < 0)
                continue;
            for (k = 0; k < s->nc; k++)
                if (s->cust[k] == rows[m][i].rater_department_id)
                    break;
            if (k == s->nc)
                s->cust[s->nc++] = rows[m][i].rater_department_id;
        }
    sort_in = md->in;
    qsort(s->cust, s->nc, sizeof *s->cust, cmp_dept);

    s->cell = calloc(nm * np * s->nc + 1, sizeof *s->cell);
    s->tot = calloc(nm * np + 1, sizeof *s->tot);
    counts = calloc(np * s->nc + 1, sizeof *counts);
    has = calloc(nm + 1, sizeof *has);
    if (!s->cell || !s->tot || !counts || !has) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t m = 0; m < nm; m++) {
        const struct campaign_metric *cm = &c->metrics[m];
        for (size_t k = 0; k < np * s->nc; k++)
            stats_dist_init(&s->cell[m * np * s->nc + k], cm->min, cm->max);
        for (size_t p = 0; p < np; p++)
            stats_dist_init(&s->tot[m * np + p], cm->min, cm->max);
        for (size_t i = 0; i < n_rows[m]; i++) {
            const struct store_score_row *r = &rows[m][i];
            long p = prov_index(md, r->provider_id);
            size_t k = 0;
            if (p < 0)
                continue;
            while (s->cust[k] != r->rater_department_id)
                k++;
            if (stats_dist_add(&s->cell[(m * np + (size_t)p) * s->nc + k],
                               r->score, r->n) != EQ_OK) {
                eq_diag(diag, "digest: score %d of %s outside %d-%d, ignored",
                        r->score, cm->id, cm->min, cm->max);
                continue;
            }
            stats_dist_add(&s->tot[m * np + (size_t)p], r->score, r->n);
            has[m] = 1;
        }
    }
    for (size_t k = 0; k < np * s->nc; k++) {
        int64_t least = -1;
        for (size_t m = 0; m < nm; m++) {
            int64_t n;
            if (!has[m])
                continue;
            n = stats_dist_n(&s->cell[m * np * s->nc + k]);
            if (least < 0 || n < least)
                least = n;
        }
        counts[k] = least < 0 ? 0 : least;
    }
    err = privacy_grid_new(np, s->nc, counts, md->min, 0, &s->grid);
out:
    free(counts);
    free(has);
    return err;
}

static void
headline(const struct campaign_metric *m, const struct stats_dist *d,
         struct stats_estimate *e)
{
    switch (m->type) {
    case METRIC_NPS:
        stats_nps(d, e);
        break;
    case METRIC_CES:
        stats_mean(d, e);
        break;
    case METRIC_CSAT:
        stats_share(d, m->max - 1, m->max, e);
        break;
    }
}

static int
second(const struct campaign_metric *m, const struct stats_dist *d,
       struct stats_estimate *e)
{
    switch (m->type) {
    case METRIC_CES:
        stats_share(d, 5, m->max, e);
        return 1;
    case METRIC_CSAT:
        stats_mean(d, e);
        return 1;
    default:
        memset(e, 0, sizeof *e);
        return 0;
    }
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The median of the shown values of st[0..n): the middle one, or the mean
 * of the two middle ones. Not shown when none is. */
static enum eq_err
median_of(const struct dg_stat *st, size_t n, struct dg_stat *out)
{
    double *v = calloc(n + 1, sizeof *v);
    size_t k = 0;

    memset(out, 0, sizeof *out);
    if (v == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (st[i].shown)
            v[k++] = st[i].e.value;
    if (k > 0) {
        qsort(v, k, sizeof *v, cmp_double);
        out->shown = 1;
        out->e.value = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
        out->e.lo = out->e.hi = out->e.value;
        out->e.n = (int64_t)k;
    }
    free(v);
    return EQ_OK;
}

/* The first metric over the trend's periods. The period itself and the one
 * before take the model's own privacy decisions (so every output agrees);
 * older periods show a provider with at least anonymity_min answers. */
static enum eq_err
trend_build(struct dg_model *md)
{
    const struct digest_input *in = md->in;
    size_t nt = in->n_trend, np = md->np;
    const struct campaign_metric *cm;
    struct stats_dist *d = NULL;
    enum eq_err err = EQ_OK;

    if (nt == 0 || md->nm == 0)
        return EQ_OK;
    cm = &in->c->metrics[0];
    md->nt = nt;
    md->trend = calloc(nt * np + 1, sizeof *md->trend);
    md->trend_med = calloc(nt + 1, sizeof *md->trend_med);
    d = calloc(nt * np + 1, sizeof *d);
    if (!md->trend || !md->trend_med || !d) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < nt * np; k++)
        stats_dist_init(&d[k], cm->min, cm->max);
    for (size_t i = 0; i < in->n_trend_rows; i++) {
        const struct store_trend_row *r = &in->trend_rows[i];
        long p = prov_index(md, r->provider_id);
        size_t t;
        for (t = 0; t < nt; t++)
            if (in->trend_ids[t] == r->period_id)
                break;
        if (p >= 0 && t < nt)
            stats_dist_add(&d[t * np + (size_t)p], r->score, r->n);
    }
    for (size_t t = 0; t < nt; t++) {
        const char *lab = in->trend_labels[t];
        int is_cur = strcmp(lab, in->period) == 0;
        int is_prev = in->prev_period && strcmp(lab, in->prev_period) == 0;
        for (size_t p = 0; p < np; p++) {
            struct dg_stat *ds = &md->trend[t * np + p];
            if (is_cur)
                *ds = md->met[0].tot[p];
            else if (is_prev)
                *ds = md->met[0].prev[p];
            else if (stats_dist_n(&d[t * np + p]) >= md->min) {
                ds->shown = 1;
                headline(cm, &d[t * np + p], &ds->e);
            }
        }
        err = median_of(&md->trend[t * np], np, &md->trend_med[t]);
        if (err != EQ_OK)
            goto out;
    }
out:
    free(d);
    return err;
}

static enum eq_err
model_build(const struct digest_input *in, struct dg_model **out,
            struct eq_buf *diag)
{
    struct dg_model *md = calloc(1, sizeof *md);
    const struct campaign *c = in->c;
    enum eq_err err;

    *out = NULL;
    if (md == NULL)
        return EQ_ERR_NOMEM;
    md->in = in;
    md->np = in->n_providers;
    md->nm = c->n_metrics;
    md->min = c->anonymity_min > 0 ? c->anonymity_min : 1;
    md->met = calloc(md->nm + 1, sizeof *md->met);
    md->invited = calloc(md->np + 1, sizeof *md->invited);
    md->answered = calloc(md->np + 1, sizeof *md->answered);
    md->resp = calloc(md->np + 1, sizeof *md->resp);
    md->na = calloc(md->np + 1, sizeof *md->na);
    md->na_share = calloc(md->np + 1, sizeof *md->na_share);
    if (!md->met || !md->invited || !md->answered || !md->resp || !md->na ||
        !md->na_share) {
        err = EQ_ERR_NOMEM;
        goto fail;
    }
    err = side_build(md, in->rows, in->n_rows, &md->cur, diag);
    if (err == EQ_OK && in->prev_rows != NULL)
        err = side_build(md, in->prev_rows, in->n_prev_rows, &md->prv, diag);
    if (err != EQ_OK)
        goto fail;

    for (size_t m = 0; m < md->nm; m++) {
        struct dg_metric *dm = &md->met[m];
        const struct campaign_metric *cm = &c->metrics[m];
        size_t np = md->np, nc = md->cur.nc;

        dm->m = cm;
        dm->cell = calloc(np * nc + 1, sizeof *dm->cell);
        dm->tot = calloc(np + 1, sizeof *dm->tot);
        dm->tot2 = calloc(np + 1, sizeof *dm->tot2);
        dm->prev = calloc(np + 1, sizeof *dm->prev);
        dm->chg = calloc(np + 1, sizeof *dm->chg);
        dm->has_chg = calloc(np + 1, sizeof *dm->has_chg);
        dm->rank = calloc(np + 1, sizeof *dm->rank);
        if (!dm->cell || !dm->tot || !dm->tot2 || !dm->prev || !dm->chg ||
            !dm->has_chg || !dm->rank) {
            err = EQ_ERR_NOMEM;
            goto fail;
        }
        for (size_t p = 0; p < np; p++) {
            const struct stats_dist *d = &md->cur.tot[m * np + p];
            for (size_t k = 0; k < nc; k++) {
                struct dg_stat *ds = &dm->cell[p * nc + k];
                ds->shown = privacy_cell_visible(md->cur.grid, p, k);
                if (ds->shown)
                    headline(cm, &md->cur.cell[(m * np + p) * nc + k], &ds->e);
            }
            dm->tot[p].shown = privacy_total_visible(md->cur.grid, p) &&
                               stats_dist_n(d) > 0;
            if (dm->tot[p].shown) {
                headline(cm, d, &dm->tot[p].e);
                dm->tot2[p].shown = second(cm, d, &dm->tot2[p].e);
            }
            if (in->prev_rows != NULL &&
                privacy_total_visible(md->prv.grid, p) &&
                stats_dist_n(&md->prv.tot[m * np + p]) > 0) {
                dm->prev[p].shown = 1;
                headline(cm, &md->prv.tot[m * np + p], &dm->prev[p].e);
            }
            if (dm->tot[p].shown && dm->prev[p].shown)
                dm->has_chg[p] = stats_change(&dm->prev[p].e, &dm->tot[p].e,
                                              &dm->chg[p]) == EQ_OK;
        }
        /* Only shown providers count: a hidden one must not move it. */
        err = median_of(dm->tot, np, &dm->bench);
        if (err == EQ_OK)
            err = median_of(dm->tot2, np, &dm->bench2);
        if (err == EQ_OK)
            err = median_of(dm->prev, np, &dm->pbench);
        if (err != EQ_OK)
            goto fail;
        for (size_t p = 0; p < np; p++) {
            if (!dm->tot[p].shown)
                continue;
            dm->rank[p] = 1;
            dm->n_ranked++;
            for (size_t q = 0; q < np; q++)
                if (dm->tot[q].shown && dm->tot[q].e.value > dm->tot[p].e.value)
                    dm->rank[p]++;
        }
    }

    for (size_t i = 0; i < in->n_response; i++) {
        long p = prov_index(md, in->response[i].a);
        if (p < 0)
            continue;
        md->invited[p] = in->response[i].n;
        md->answered[p] = in->response[i].b;
    }
    for (size_t i = 0; i < in->n_na; i++) {
        long p = prov_index(md, in->na[i].a);
        if (p >= 0)
            md->na[p] = in->na[i].n;
    }
    for (size_t p = 0; p < md->np; p++) {
        stats_wilson(md->answered[p], md->invited[p], &md->resp[p]);
        /* n.v.t. is an answer without a score: its share is of those who
         * answered. */
        if (md->na[p] > md->answered[p])
            md->na[p] = md->answered[p];
        stats_wilson(md->na[p], md->answered[p], &md->na_share[p]);
        md->org_invited += md->invited[p];
        md->org_answered += md->answered[p];
        md->org_na += md->na[p];
    }
    stats_wilson(md->org_answered, md->org_invited, &md->org_resp);
    stats_wilson(md->org_na, md->org_answered, &md->org_na_share);
    err = trend_build(md);
    if (err != EQ_OK)
        goto fail;
    *out = md;
    return EQ_OK;
fail:
    model_free(md);
    return err;
}

/* Which changes are flagged in one view (prov = -1: the organisation): BH
 * over exactly the comparisons that view shows. sig is nm × (np + 1); the
 * last column is the benchmark. */
static void
view_significance(const struct dg_model *md, long prov, int *sig)
{
    size_t cols = md->np + 1, n = 0;
    double *p = calloc(md->nm * cols + 1, sizeof *p);
    int *s = calloc(md->nm * cols + 1, sizeof *s);

    memset(sig, 0, md->nm * cols * sizeof *sig);
    if (p == NULL || s == NULL)
        goto out;
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        for (size_t q = 0; q < cols; q++) {
            int has;
            double pv;
            if (q < md->np) {
                has = dm->has_chg[q] && (prov < 0 || (size_t)prov == q);
                pv = dm->chg[q].p;
            } else {
                has = 0; /* the median is not tested */
                pv = NAN;
            }
            p[m * cols + q] = has ? pv : NAN;
            n++;
        }
    }
    stats_bh(p, n, BH_Q, s);
    memcpy(sig, s, n * sizeof *sig);
out:
    free(p);
    free(s);
}

/* ---------------------------------------------------------------------
 * Comments are grouped by the rater's own score on the first metric.
 */
enum band { BAND_HIGH, BAND_MID, BAND_LOW, BAND_NONE, BAND__COUNT };

static enum band
band_of(const struct campaign_metric *m, int score)
{
    if (m == NULL || score < m->min || score > m->max)
        return BAND_NONE;
    switch (m->type) {
    case METRIC_NPS:
        return score >= 9 ? BAND_HIGH : score >= 7 ? BAND_MID : BAND_LOW;
    case METRIC_CES: /* agreement 1–7: 5–7 agree, 4 neutral */
        return score >= 5 ? BAND_HIGH : score == 4 ? BAND_MID : BAND_LOW;
    case METRIC_CSAT: /* 4–5 satisfied on 1–5 */
        return score >= m->max - 1 ? BAND_HIGH
               : score == m->max - 2 ? BAND_MID
                                     : BAND_LOW;
    }
    return BAND_NONE;
}

static const char *
band_id(const struct campaign_metric *m, enum band b)
{
    static const char *const nps[] = {"promoter", "passive", "detractor",
                                      "no_score"};
    static const char *const other[] = {"positive", "neutral", "negative",
                                        "no_score"};

    return (m && m->type == METRIC_NPS ? nps : other)[b];
}

static const char *
band_label(const struct campaign_metric *m, enum band b, const char *lang)
{
    static const char *const nps_nl[] = {
        "Promotors (9" DASH "10)", "Passief (7" DASH "8)",
        "Criticasters (0" DASH "6)", "Zonder score"};
    static const char *const nps_en[] = {
        "Promoters (9" DASH "10)", "Passives (7" DASH "8)",
        "Detractors (0" DASH "6)", "Without a score"};
    static const char *const ces_nl[] = {"Makkelijk (5" DASH "7)",
                                         "Neutraal (4)",
                                         "Moeizaam (1" DASH "3)",
                                         "Zonder score"};
    static const char *const ces_en[] = {"Easy (5" DASH "7)", "Neutral (4)",
                                         "Difficult (1" DASH "3)",
                                         "Without a score"};
    static const char *const sat_nl[] = {"Tevreden", "Neutraal", "Ontevreden",
                                         "Zonder score"};
    static const char *const sat_en[] = {"Satisfied", "Neutral",
                                         "Dissatisfied", "Without a score"};
    int en = is_en(lang);

    if (m && m->type == METRIC_NPS)
        return (en ? nps_en : nps_nl)[b];
    if (m && m->type == METRIC_CES)
        return (en ? ces_en : ces_nl)[b];
    return (en ? sat_en : sat_nl)[b];
}

static int
comment_score(const struct digest_input *in, size_t p, size_t i)
{
    if (in->comment_scores == NULL || in->comment_scores[p] == NULL)
        return -1;
    return in->comment_scores[p][i];
}

/* ---------------------------------------------------------------------
 * Number formatting: people read these, in their language.
 */

/* v with decimals places; nl uses a decimal comma. */
static void
fmt_num(double v, int decimals, const char *lang, char *out, size_t cap)
{
    snprintf(out, cap, "%.*f", decimals, v);
    if (strcmp(out, "-0") == 0 || strcmp(out, "-0.0") == 0 ||
        strcmp(out, "-0.00") == 0)
        memmove(out, out + 1, strlen(out));
    if (!is_en(lang))
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}
static void
fmt_value(const struct campaign_metric *m, int second_stat, const char *lang,
          double v, char *out, size_t cap)
{
    int mean = (m->type == METRIC_CES) != (second_stat != 0);

    if (m->type == METRIC_NPS)
        snprintf(out, cap, "%+.0f", v);
    else if (mean)
        snprintf(out, cap, "%.1f", v);
    else
        snprintf(out, cap, "%.0f%%", v);
    if (out[0] == '+' && strcmp(out, "+0") == 0)
        snprintf(out, cap, "0");
    if (!is_en(lang) && mean)
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}

static void
fmt_interval(const struct campaign_metric *m, int second_stat,
             const char *lang, const struct stats_estimate *e, char *out,
             size_t cap)
{
    char lo[32], hi[32];

    fmt_value(m, second_stat, lang, e->lo, lo, sizeof lo);
    fmt_value(m, second_stat, lang, e->hi, hi, sizeof hi);
    snprintf(out, cap, "%s " ELLIPSIS " %s", lo, hi);
}

static void
fmt_delta(const struct campaign_metric *m, const char *lang, double d,
          char *out, size_t cap)
{
    int pct = m->type == METRIC_CSAT;

    if (m->type == METRIC_CES)
        snprintf(out, cap, "%+.1f", d);
    else
        snprintf(out, cap, "%+.0f%s", d, pct ? " pp" : "");
    if (!is_en(lang))
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}

static const char *
metric_label(const struct campaign_metric *m, const char *lang)
{
    const char *l;

    if (m->type == METRIC_NPS && strcmp(m->id, "nps") == 0)
        return "NPS";
    l = is_en(lang) ? m->label_en : m->label_nl;
    return l && *l ? l : m->id;
}

/* The statistic a metric's headline is, for table captions. */
static const char *
stat_name(const struct campaign_metric *m, int second_stat, const char *lang)
{
    const struct words *w = words_for(lang);

    if (m->type == METRIC_NPS)
        return "NPS";
    if ((m->type == METRIC_CES) != (second_stat != 0))
        return w->mean;
    return m->type == METRIC_CES ? w->agree : w->satisfied;
}

/* "Tevredenheid (% tevreden)", but plain "NPS". */
static void
metric_caption(const struct campaign_metric *m, int second_stat,
               const char *lang, char *out, size_t cap)
{
    const char *l = metric_label(m, lang), *st = stat_name(m, second_stat, lang);

    if (strcmp(l, st) == 0)
        snprintf(out, cap, "%s", l);
    else
        snprintf(out, cap, "%s (%s)", l, st);
}

/* ---------------------------------------------------------------------
 * Tables, rendered as aligned text or as HTML.
 */
struct tbl {
    size_t cols, rows, cap;
    char **cell;
    size_t left; /* leading text columns (at least the first one) */
};

static enum eq_err
tbl_row(struct tbl *t, const char *const *cells)
{
    if (t->rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        char **p = realloc(t->cell, cap * t->cols * sizeof *p);
        if (p == NULL)
            return EQ_ERR_NOMEM;
        t->cell = p;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->cols; i++) {
        t->cell[t->rows * t->cols + i] = strdup(cells[i] ? cells[i] : "");
        if (t->cell[t->rows * t->cols + i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(t->cell[t->rows * t->cols + j]);
            return EQ_ERR_NOMEM;
        }
    }
    t->rows++;
    return EQ_OK;
}

static void
tbl_free(struct tbl *t)
{
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cell[i]);
    free(t->cell);
}

/* Display width: code points, not bytes. */
static size_t
u8width(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static enum eq_err
tbl_text(const struct tbl *t, struct eq_buf *b)
{
    size_t *w = calloc(t->cols + 1, sizeof *w);
    enum eq_err err = EQ_OK;

    if (w == NULL)
        return EQ_ERR_NOMEM;
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->cols; c++) {
            size_t x = u8width(t->cell[r * t->cols + c]);
            if (x > w[c])
                w[c] = x;
        }
    for (size_t r = 0; r < t->rows && err == EQ_OK; r++) {
        struct eq_buf line = {0};
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = t->cell[r * t->cols + c];
            size_t pad = w[c] - u8width(s);
            if (c > 0)
                buf_add(&line, "  ");
            int left = c == 0 || c < t->left;
            if (!left)
                for (size_t i = 0; i < pad; i++)
                    buf_addc(&line, ' ');
            buf_add(&line, s);
            if (left)
                for (size_t i = 0; i < pad; i++)
                    buf_addc(&line, ' ');
        }
        while (line.len > 0 && line.s[line.len - 1] == ' ')
            line.s[--line.len] = '\0';
        err = buf_printf(b, "%s\n", buf_str(&line));
        if (err == EQ_OK && r == 0) {
            size_t total = 0;
            for (size_t c = 0; c < t->cols; c++)
                total += w[c] + (c > 0 ? 2 : 0);
            for (size_t i = 0; i < total; i++)
                buf_addc(b, '-');
            err = buf_addc(b, '\n');
        }
        buf_free(&line);
    }
    free(w);
    return err;
}

static void
html_escape(struct eq_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': buf_add(b, "&amp;"); break;
        case '<': buf_add(b, "&lt;"); break;
        case '>': buf_add(b, "&gt;"); break;
        case '"': buf_add(b, "&quot;"); break;
        default: buf_addc(b, *s);
        }
    }
}

static enum eq_err
tbl_html(const struct tbl *t, struct eq_buf *b)
{
    buf_add(b, "<table style=\"border-collapse:collapse;font-size:14px\">\n");
    for (size_t r = 0; r < t->rows; r++) {
        buf_add(b, "<tr>");
        for (size_t c = 0; c < t->cols; c++) {
            const char *tag = r == 0 ? "th" : "td";
            buf_printf(b, "<%s style=\"padding:3px 8px;border-bottom:1px "
                          "solid #ddd;text-align:%s\">",
                       tag, c == 0 || c < t->left ? "left" : "right");
            html_escape(b, t->cell[r * t->cols + c]);
            buf_printf(b, "</%s>", tag);
        }
        buf_add(b, "</tr>\n");
    }
    return buf_add(b, "</table>\n");
}

static enum eq_err
tbl_render(const struct tbl *t, int html, char **out)
{
    struct eq_buf b = {0};
    enum eq_err err = html ? tbl_html(t, &b) : tbl_text(t, &b);

    if (err != EQ_OK) {
        buf_free(&b);
        return err;
    }
    *out = buf_take(&b);
    return *out ? EQ_OK : EQ_ERR_NOMEM;
}

/* The close of every table builder: render unless building failed, then
 * free the table either way. */
static enum eq_err
tbl_finish(struct tbl *t, enum eq_err err, int html, char **out)
{
    if (err == EQ_OK)
        err = tbl_render(t, html, out);
    tbl_free(t);
    return err;
}

/* Scratch for building rows of cols cells: *row gets the cell pointers, the
 * result cols text slots of width bytes each. NULL, with *row NULL too, when
 * out of memory. */
static void *
tbl_scratch(size_t cols, size_t width, const char ***row)
{
    void *txt = calloc(cols, width);

    *row = calloc(cols, sizeof **row);
    if (*row == NULL || txt == NULL) {
        free(*row);
        *row = NULL;
        free(txt);
        return NULL;
    }
    return txt;
}

/* ---------------------------------------------------------------------
 * The views: what a manager or HR sees.
 */
struct view {
    const struct dg_model *md;
    long prov; /* -1 = organisation */
    const char *lang;
    int *sig;  /* nm × (np + 1) */
    int suppressed; /* a "–" for privacy appears */
};

static enum eq_err
scores_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = words_for(v->lang);
    size_t p = (size_t)v->prov, cols = md->np + 1;
    struct tbl t = {.cols = 8};
    const char *head[8] = {w->metric,   w->value, w->interval, w->n,
                           w->previous, w->change, w->benchmark, w->rank};
    enum eq_err err = tbl_row(&t, head);

    for (size_t m = 0; m < md->nm && err == EQ_OK; m++) {
        const struct dg_metric *dm = &md->met[m];
        char label[128], val[32], iv[96], n[32], prev[32], chg[40], bench[32],
            rank[32];
        const char *row[8] = {label, val, iv, n, prev, chg, bench, rank};

        metric_caption(dm->m, 0, v->lang, label, sizeof label);
        if (dm->tot[p].shown) {
            fmt_value(dm->m, 0, v->lang, dm->tot[p].e.value, val, sizeof val);
            fmt_interval(dm->m, 0, v->lang, &dm->tot[p].e, iv, sizeof iv);
            snprintf(n, sizeof n, "%lld", (long long)dm->tot[p].e.n);
            snprintf(rank, sizeof rank, "%d %s %d", dm->rank[p], w->of,
                     dm->n_ranked);
        } else {
            snprintf(val, sizeof val, DASH);
            snprintf(iv, sizeof iv, "%s", "");
            snprintf(n, sizeof n, "<%d", md->min);
            snprintf(rank, sizeof rank, DASH);
            v->suppressed = 1;
        }
        if (dm->prev[p].shown)
            fmt_value(dm->m, 0, v->lang, dm->prev[p].e.value, prev, sizeof prev);
        else
            snprintf(prev, sizeof prev, DASH);
        if (dm->has_chg[p]) {
            fmt_delta(dm->m, v->lang, dm->chg[p].delta, chg, sizeof chg);
            if (v->sig[m * cols + p])
                strncat(chg, " *", sizeof chg - strlen(chg) - 1);
        } else {
            snprintf(chg, sizeof chg, DASH);
        }
        if (dm->bench.shown)
            fmt_value(dm->m, 0, v->lang, dm->bench.e.value, bench, sizeof bench);
        else
            snprintf(bench, sizeof bench, DASH);
        err = tbl_row(&t, row);
        if (err == EQ_OK && dm->tot2[p].shown) {
            metric_caption(dm->m, 1, v->lang, label, sizeof label);
            fmt_value(dm->m, 1, v->lang, dm->tot2[p].e.value, val, sizeof val);
            fmt_interval(dm->m, 1, v->lang, &dm->tot2[p].e, iv, sizeof iv);
            snprintf(prev, sizeof prev, "%s", "");
            snprintf(chg, sizeof chg, "%s", "");
            snprintf(rank, sizeof rank, "%s", "");
            if (dm->bench2.shown)
                fmt_value(dm->m, 1, v->lang, dm->bench2.e.value, bench,
                          sizeof bench);
            err = tbl_row(&t, row);
        }
    }
    return tbl_finish(&t, err, html, out);
}

/* Per customer department of the provider: the headline of every metric. */
static enum eq_err
breakdown_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = words_for(v->lang);
    size_t p = (size_t)v->prov, nc = md->cur.nc, cols = 2 + md->nm;
    struct tbl t = {.cols = cols};
    const char **row;
    char(*txt)[160] = tbl_scratch(cols, sizeof *txt, &row);
    enum eq_err err = EQ_OK;

    if (txt == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    row[0] = w->customer;
    row[1] = w->n;
    for (size_t m = 0; m < md->nm; m++) {
        snprintf(txt[m + 2], sizeof txt[0], "%s",
                 metric_label(md->met[m].m, v->lang));
        row[m + 2] = txt[m + 2];
    }
    err = tbl_row(&t, row);
    for (size_t k = 0; k < nc && err == EQ_OK; k++) {
        int shown = privacy_cell_visible(md->cur.grid, p, k);
        int64_t n = 0;
        for (size_t m = 0; m < md->nm; m++) {
            int64_t x = stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
            n = x > n ? x : n;
        }
        if (n == 0)
            continue;
        row[0] = dept_name(md->in, md->cur.cust[k], v->lang);
        if (shown)
            snprintf(txt[1], sizeof txt[0], "%lld", (long long)n);
        else
            snprintf(txt[1], sizeof txt[0], "<%d", md->min);
        row[1] = txt[1];
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_stat *ds = &md->met[m].cell[p * nc + k];
            char val[32], iv[96];
            if (shown && ds->e.n > 0) {
                fmt_value(md->met[m].m, 0, v->lang, ds->e.value, val, sizeof val);
                fmt_interval(md->met[m].m, 0, v->lang, &ds->e, iv, sizeof iv);
                snprintf(txt[m + 2], sizeof txt[0], "%s (%s)", val, iv);
            } else {
                snprintf(txt[m + 2], sizeof txt[0], DASH);
            }
            row[m + 2] = txt[m + 2];
        }
        if (!shown)
            v->suppressed = 1;
        err = tbl_row(&t, row);
    }
out:
    free(row);
    free(txt);
    return tbl_finish(&t, err, html, out);
}

/* "41/120 = 34% (26…43%)", in the view's language. */
static void
fmt_rate(const char *lang, int64_t k, int64_t n,
         const struct stats_estimate *r, char *out, size_t cap)
{
    if (n <= 0) {
        snprintf(out, cap, DASH);
        return;
    }
    snprintf(out, cap, "%lld/%lld = %.0f%% (%.0f" ELLIPSIS "%.0f%%)",
             (long long)k, (long long)n, r->value, r->lo, r->hi);
    (void)lang; /* whole percents read the same in nl and en */
}

static const int *sort_rank;

static int
cmp_rank(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int rx = sort_rank[x] ? sort_rank[x] : 1 << 30;
    int ry = sort_rank[y] ? sort_rank[y] : 1 << 30;

    if (rx != ry)
        return rx < ry ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* HR: every provider ranked on the first metric (hidden ones last, never
 * ranked), then the organisation's median and response. */
static enum eq_err
providers_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = words_for(v->lang);
    size_t cols = 5 + md->nm, sc = md->np + 1;
    struct tbl t = {.cols = cols, .left = 2};
    const char **row;
    char(*txt)[200] = tbl_scratch(cols, sizeof *txt, &row);
    size_t *order = calloc(md->np + 1, sizeof *order);
    enum eq_err err = EQ_OK;

    if (txt == NULL || order == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t p = 0; p < md->np; p++)
        order[p] = p;
    if (md->nm > 0) {
        sort_rank = md->met[0].rank;
        qsort(order, md->np, sizeof *order, cmp_rank);
    }
    row[0] = w->rank;
    row[1] = w->department;
    for (size_t m = 0; m < md->nm; m++) {
        metric_caption(md->met[m].m, 0, v->lang, txt[m + 2], sizeof txt[0]);
        row[m + 2] = txt[m + 2];
    }
    row[md->nm + 2] = w->n;
    row[md->nm + 3] = w->response;
    row[md->nm + 4] = w->na;
    err = tbl_row(&t, row);
    for (size_t i = 0; i <= md->np && err == EQ_OK; i++) {
        int bench = i == md->np;
        size_t p = bench ? 0 : order[i];
        int64_t n = 0;
        if (bench) {
            snprintf(txt[0], sizeof txt[0], "%s", "");
            snprintf(txt[1], sizeof txt[0], "%s (%s)", w->median,
                     w->organisation);
        } else {
            if (md->nm > 0 && md->met[0].rank[p])
                snprintf(txt[0], sizeof txt[0], "%d", md->met[0].rank[p]);
            else
                snprintf(txt[0], sizeof txt[0], DASH);
            snprintf(txt[1], sizeof txt[0], "%s", md->in->providers[p].name);
        }
        row[0] = txt[0];
        row[1] = txt[1];
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_metric *dm = &md->met[m];
            const struct dg_stat *ds = bench ? &dm->bench : &dm->tot[p];
            char val[32], iv[96], dl[40] = "";
            if (ds->shown && bench) {
                fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
                snprintf(txt[m + 2], sizeof txt[0], "%s", val);
            } else if (ds->shown) {
                fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
                fmt_interval(dm->m, 0, v->lang, &ds->e, iv, sizeof iv);
                if (dm->has_chg[p] && v->sig[m * sc + p]) {
                    char d[32];
                    fmt_delta(dm->m, v->lang, dm->chg[p].delta, d, sizeof d);
                    snprintf(dl, sizeof dl, " %s *", d);
                }
                snprintf(txt[m + 2], sizeof txt[0], "%s (%s)%s", val, iv, dl);
                n = ds->e.n > n ? ds->e.n : n;
            } else {
                snprintf(txt[m + 2], sizeof txt[0], DASH);
                v->suppressed = 1;
            }
            row[m + 2] = txt[m + 2];
        }
        if (bench && md->nm > 0 && md->met[0].bench.shown)
            snprintf(txt[md->nm + 2], sizeof txt[0], "%lld %s",
                     (long long)md->met[0].bench.e.n, w->providers);
        else if (bench)
            snprintf(txt[md->nm + 2], sizeof txt[0], DASH);
        else if (n > 0)
            snprintf(txt[md->nm + 2], sizeof txt[0], "%lld", (long long)n);
        else
            snprintf(txt[md->nm + 2], sizeof txt[0], "<%d", md->min);
        row[md->nm + 2] = txt[md->nm + 2];
        if (bench) {
            fmt_rate(v->lang, md->org_answered, md->org_invited, &md->org_resp,
                     txt[md->nm + 3], sizeof txt[0]);
            fmt_rate(v->lang, md->org_na, md->org_answered, &md->org_na_share,
                     txt[md->nm + 4], sizeof txt[0]);
        } else {
            fmt_rate(v->lang, md->answered[p], md->invited[p], &md->resp[p],
                     txt[md->nm + 3], sizeof txt[0]);
            fmt_rate(v->lang, md->na[p], md->answered[p], &md->na_share[p],
                     txt[md->nm + 4], sizeof txt[0]);
        }
        row[md->nm + 3] = txt[md->nm + 3];
        row[md->nm + 4] = txt[md->nm + 4];
        err = tbl_row(&t, row);
    }
out:
    free(order);
    free(row);
    free(txt);
    return tbl_finish(&t, err, html, out);
}

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
add_weakest(struct view *v, struct tpl_ctx *ctx)
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
        const char *cust = dept_name(md->in, md->cur.cust[l[i].k], v->lang);
        if (it == NULL) {
            free(l);
            return EQ_ERR_NOMEM;
        }
        if (v->prov < 0)
            tpl_setf(it, "name", "%s " EMDASH " %s",
                     md->in->providers[l[i].p].name, cust);
        else
            tpl_set(it, "name", cust);
        fmt_value(md->met[0].m, 0, v->lang, ds->e.value, val, sizeof val);
        fmt_interval(md->met[0].m, 0, v->lang, &ds->e, iv, sizeof iv);
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

/* "Benchmark ICT — 2026Q1 — NPS +23" */
static void
view_subject(const struct view *v, char *out, size_t cap)
{
    const struct dg_model *md = v->md;
    const char *who = v->prov < 0 ? words_for(v->lang)->organisation
                                  : md->in->providers[v->prov].name;
    const struct dg_stat *ds = NULL;
    char val[32];

    if (md->nm > 0)
        ds = v->prov < 0 ? &md->met[0].bench : &md->met[0].tot[v->prov];
    if (ds && ds->shown) {
        fmt_value(md->met[0].m, 0, v->lang, ds->e.value, val, sizeof val);
        snprintf(out, cap, "Benchmark %s " EMDASH " %s " EMDASH " %s %s", who,
                 md->in->period, metric_label(md->met[0].m, v->lang), val);
    } else {
        snprintf(out, cap, "Benchmark %s " EMDASH " %s", who, md->in->period);
    }
}

static void view_chart_alt(const struct view *v, char *out, size_t cap);

/* The first metric period by period for the manager's department, with the
 * organisation's median beside it. */
static enum eq_err
trend_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = words_for(v->lang);
    const struct dg_metric *dm = &md->met[0];
    size_t p = (size_t)v->prov;
    struct tbl t = {.cols = 5};
    char cap[128];
    const char *head[5] = {w->period, cap, w->interval, w->n, w->median};
    enum eq_err err;

    metric_caption(dm->m, 0, v->lang, cap, sizeof cap);
    err = tbl_row(&t, head);
    for (size_t i = 0; i < md->nt && err == EQ_OK; i++) {
        const struct dg_stat *ds = &md->trend[i * md->np + p];
        const struct dg_stat *med = &md->trend_med[i];
        char val[32], iv[96] = "", n[32], mv[32];
        const char *row[5] = {md->in->trend_labels[i], val, iv, n, mv};
        if (ds->shown) {
            fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
            fmt_interval(dm->m, 0, v->lang, &ds->e, iv, sizeof iv);
            snprintf(n, sizeof n, "%lld", (long long)ds->e.n);
        } else {
            snprintf(val, sizeof val, DASH);
            snprintf(n, sizeof n, "<%d", md->min);
            v->suppressed = 1;
        }
        if (med->shown)
            fmt_value(dm->m, 0, v->lang, med->e.value, mv, sizeof mv);
        else
            snprintf(mv, sizeof mv, DASH);
        err = tbl_row(&t, row);
    }
    return tbl_finish(&t, err, html, out);
}

/* Background of a heat map cell by the headline's band. */
static const char *
heat_colour(const struct campaign_metric *m, double v)
{
    static const char *const c[] = {"#c8e6c9", "#fff1c1", "#f6c6c0"};
    int band;

    if (m->type == METRIC_NPS)
        band = v >= 30 ? 0 : v >= 0 ? 1 : 2;
    else if (m->type == METRIC_CES)
        band = v >= 5.5 ? 0 : v >= 4.5 ? 1 : 2;
    else
        band = v >= 80 ? 0 : v >= 60 ? 1 : 2;
    return c[band];
}

/* The heat map bands in words, for the legend. */
static void
heat_bands(const struct campaign_metric *m, const char *lang, char *out,
           size_t cap)
{
    int en = is_en(lang);

    if (m->type == METRIC_NPS)
        snprintf(out, cap, en ? "green +30 and up, yellow 0 to +29, red below 0"
                              : "groen +30 en hoger, geel 0 tot +29, rood "
                                "onder 0");
    else if (m->type == METRIC_CES)
        snprintf(out, cap, en ? "green 5.5 and up, yellow 4.5 to 5.4, red "
                                "below 4.5"
                              : "groen 5,5 en hoger, geel 4,5 tot 5,4, rood "
                                "onder 4,5");
    else
        snprintf(out, cap, en ? "green 80%% and up, yellow 60 to 79%%, red "
                                "below 60%%"
                              : "groen 80%% en hoger, geel 60 tot 79%%, rood "
                                "onder 60%%");
}

#define SUP1 "\xC2\xB9" /* ¹ */
#define SUP2 "\xC2\xB2" /* ² */

/* HR: provider (rows) × customer department (columns) on the first metric.
 * A hidden cell says why: ¹ too few answers, ² derivable from the others. */
static enum eq_err
heat_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = words_for(v->lang);
    const struct dg_metric *dm = &md->met[0];
    size_t nc = md->cur.nc;
    struct eq_buf b = {0};
    struct tbl t = {.cols = nc + 1};
    const char **row = NULL;
    char(*txt)[64] = tbl_scratch(nc + 1, sizeof *txt, &row);
    enum eq_err err = EQ_OK;

    *out = NULL;
    if (txt == NULL)
        return EQ_ERR_NOMEM;
    if (html)
        buf_add(&b, "<table style=\"border-collapse:collapse;font-size:13px\">"
                    "\n<tr><th style=\"padding:3px 6px;text-align:left\">");
    row[0] = "";
    for (size_t k = 0; k < nc; k++) {
        const char *name = dept_name(md->in, md->cur.cust[k], v->lang);
        row[k + 1] = name;
        if (html) {
            buf_add(&b, "<th style=\"padding:3px 6px;font-weight:normal;"
                        "color:#555;vertical-align:bottom\">");
            html_escape(&b, name);
            buf_add(&b, "</th>");
        }
    }
    if (html)
        buf_add(&b, "</tr>\n");
    else
        err = tbl_row(&t, row);
    for (size_t p = 0; p < md->np && err == EQ_OK; p++) {
        row[0] = md->in->providers[p].name;
        if (html) {
            buf_add(&b, "<tr><th style=\"padding:3px 6px;text-align:left;"
                        "white-space:nowrap\">");
            html_escape(&b, row[0]);
            buf_add(&b, "</th>");
        }
        for (size_t k = 0; k < nc; k++) {
            const struct dg_stat *ds = &dm->cell[p * nc + k];
            int64_t n = stats_dist_n(&md->cur.cell[p * nc + k]);
            const char *bg = "#ffffff";
            if (ds->shown) {
                fmt_value(dm->m, 0, v->lang, ds->e.value, txt[k + 1],
                          sizeof txt[0]);
                bg = heat_colour(dm->m, ds->e.value);
            } else if (n > 0) {
                int sec = privacy_cell_secondary(md->cur.grid, p, k);
                snprintf(txt[k + 1], sizeof txt[0], "%s",
                         sec ? DASH SUP2 : DASH SUP1);
                bg = "#eeeeee";
                v->suppressed = 1;
            } else {
                snprintf(txt[k + 1], sizeof txt[0], "%s", "");
            }
            row[k + 1] = txt[k + 1];
            if (html) {
                buf_printf(&b, "<td style=\"padding:3px 6px;text-align:center;"
                               "background:%s;border:1px solid #fff\">",
                           bg);
                html_escape(&b, txt[k + 1]);
                buf_add(&b, "</td>");
            }
        }
        if (html)
            buf_add(&b, "</tr>\n");
        else
            err = tbl_row(&t, row);
    }
    (void)w;
    free(row);
    free(txt);
    if (html) {
        tbl_free(&t);
        if (err == EQ_OK)
            err = buf_add(&b, "</table>\n");
        if (err == EQ_OK && (*out = buf_take(&b)) == NULL)
            err = EQ_ERR_NOMEM;
        buf_free(&b);
        return err;
    }
    return tbl_finish(&t, err, 0, out);
}

/* Comments of provider p grouped by the rater's band, in band order. */
static enum eq_err
add_comment_groups(const struct view *v, size_t p, struct tpl_ctx *ctx,
                   size_t *shown)
{
    const struct dg_model *md = v->md;
    const struct campaign_metric *m = md->nm ? md->met[0].m : NULL;

    *shown = 0;
    for (int b = 0; b < BAND__COUNT; b++) {
        struct tpl_ctx *g = NULL;
        for (size_t i = 0; i < md->in->n_comments[p]; i++) {
            struct tpl_ctx *it;
            if (band_of(m, comment_score(md->in, p, i)) != (enum band)b)
                continue;
            if (g == NULL) {
                g = tpl_add_item(ctx, "comment_groups");
                if (g == NULL || tpl_set(g, "group", band_label(m, b, v->lang)))
                    return EQ_ERR_NOMEM;
            }
            it = tpl_add_item(g, "comments");
            if (it == NULL || tpl_set(it, "text", md->in->comments[p][i]))
                return EQ_ERR_NOMEM;
            (*shown)++;
        }
    }
    return EQ_OK;
}

/* The reply-with-actions block of a manager's digest (issue #8), and the
 * place where that department's open actions will be listed. */
static enum eq_err
add_actions(const struct view *v, struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    const struct campaign *c = md->in->c;
    const char *touch = NULL;
    char due[11];
    eq_day day;
    size_t n = 0;

    /* A touchpoint is a csat item beyond the headline measures. */
    for (size_t m = 0; m < c->n_metrics && touch == NULL; m++)
        if (c->metrics[m].type == METRIC_CSAT &&
            strcmp(c->metrics[m].id, "csat") != 0 && m > 0)
            touch = c->metrics[m].id;
    tpl_set_bool(ctx, "has_action_metric", touch != NULL);
    tpl_set(ctx, "action_metric", touch ? touch : "");
    /* About a quarter after the period: a date that reads as an example. */
    day = md->in->period_last ? md->in->period_last + 92
                              : eqtime_day_from_ymd(2027, 2, 1);
    eqtime_format_day(day, due);
    tpl_set(ctx, "action_due", due);
    for (size_t i = 0; v->prov >= 0 && i < md->in->n_actions; i++) {
        const struct digest_action *a = &md->in->actions[i];
        struct tpl_ctx *it;
        char d[11] = "";
        if (a->department_id != md->in->providers[v->prov].id)
            continue;
        it = tpl_add_item(ctx, "open_actions");
        if (it == NULL)
            return EQ_ERR_NOMEM;
        if (a->due)
            eqtime_format_day(a->due, d);
        tpl_setf(it, "number", "%d", a->number);
        tpl_set(it, "text", a->text ? a->text : "");
        tpl_set(it, "metric", a->metric ? a->metric : "");
        tpl_set(it, "due", d);
        n++;
    }
    tpl_set_bool(ctx, "has_open_actions", n > 0);
    if (n == 0)
        tpl_set_bool(ctx, "open_actions", 0);
    return EQ_OK;
}

static enum eq_err
fill_ctx(struct view *v, int html, const char *chart_src, struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    const struct campaign *c = md->in->c;
    const struct words *w = words_for(v->lang);
    size_t sc = md->np + 1, p = (size_t)v->prov;
    char *tab = NULL, subject[256];
    int any_sig = 0, shown = 0;
    enum eq_err err = EQ_OK;
    const char *title = is_en(v->lang) ? c->title_en : c->title_nl;

    view_subject(v, subject, sizeof subject);
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
        view_chart_alt(v, alt, sizeof alt);
        tpl_set(ctx, "chart_alt", alt);
    }
    tpl_set_bool(ctx, "has_trend", v->prov >= 0 && md->nt > 1);
    if (v->prov >= 0 && md->nt > 1) {
        err = trend_table(v, html, &tab);
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
    tpl_set_bool(ctx, "has_heatmap", v->prov < 0 && md->nm > 0 &&
                                         md->cur.nc > 0);
    if (v->prov < 0 && md->nm > 0 && md->cur.nc > 0) {
        char bands[200];
        err = heat_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "heatmap", tab);
        free(tab);
        tab = NULL;
        if (err != EQ_OK)
            return err;
        heat_bands(md->met[0].m, v->lang, bands, sizeof bands);
        tpl_set(ctx, "heat_bands", bands);
    } else {
        tpl_set(ctx, "heatmap", "");
        tpl_set(ctx, "heat_bands", "");
    }
    {
        const struct store_report_ops *ops = md->in->ops;
        tpl_set_bool(ctx, "has_ops", v->prov < 0 && ops != NULL);
        tpl_setf(ctx, "bounced", "%lld", ops ? (long long)ops->bounced : 0);
        tpl_setf(ctx, "opted_out", "%lld",
                 ops ? (long long)ops->opted_out : 0);
        tpl_setf(ctx, "failed", "%lld", ops ? (long long)ops->failed : 0);
        tpl_setf(ctx, "review_open", "%lld",
                 ops ? (long long)ops->review_open : 0);
    }
    if (md->nm > 0) {
        char val[32];
        const struct dg_stat *b = &md->met[0].bench;
        if (b->shown)
            fmt_value(md->met[0].m, 0, v->lang, b->e.value, val, sizeof val);
        tpl_set_bool(ctx, "has_median", b->shown);
        tpl_set(ctx, "median", b->shown ? val : "");
        tpl_set(ctx, "median_metric", metric_label(md->met[0].m, v->lang));
        tpl_setf(ctx, "median_of", "%lld", (long long)b->e.n);
    } else {
        tpl_set_bool(ctx, "has_median", 0);
        tpl_set(ctx, "median", "");
        tpl_set(ctx, "median_metric", "");
        tpl_set(ctx, "median_of", "0");
    }
    err = add_actions(v, ctx);
    if (err != EQ_OK)
        return err;

    if (v->prov >= 0) {
        err = scores_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "scores", tab);
        free(tab);
        tab = NULL;
        if (err == EQ_OK)
            err = breakdown_table(v, html, &tab);
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
                     (long long)md->invited[p], w->answered,
                     md->resp[p].value, md->resp[p].lo, md->resp[p].hi);
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
        err = providers_table(v, html, &tab);
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
                     (long long)md->org_na, w->of,
                     (long long)md->org_answered, md->org_na_share.value,
                     md->org_na_share.lo, md->org_na_share.hi);
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
            fmt_value(dm->m, 0, v->lang, now->e.value, a, sizeof a);
            fmt_value(dm->m, 0, v->lang, before->e.value, b, sizeof b);
            fmt_delta(dm->m, v->lang, ch->delta, d, sizeof d);
            if (v->prov < 0)
                tpl_setf(it, "metric", "%s, %s", metric_label(dm->m, v->lang),
                         q == md->np ? w->benchmark : md->in->providers[q].name);
            else
                tpl_set(it, "metric", metric_label(dm->m, v->lang));
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
        tpl_set(it, "metric", metric_label(dm->m, v->lang));
        tpl_setf(it, "rank", "%d", dm->rank[p]);
        tpl_setf(it, "of", "%d", dm->n_ranked);
    }
    err = add_weakest(v, ctx);
    if (err != EQ_OK)
        return err;

    /* comments: only with a shown provider total */
    {
        int visible = v->prov >= 0 &&
                      privacy_comments_visible(md->cur.grid, p);
        size_t nco = 0;
        if (visible && md->in->comments && md->in->comments[p]) {
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

static enum eq_err
view_init(struct view *v, const struct dg_model *md, long prov,
          const char *lang)
{
    memset(v, 0, sizeof *v);
    v->md = md;
    v->prov = prov;
    v->lang = lang;
    v->sig = calloc(md->nm * (md->np + 1) + 1, sizeof *v->sig);
    if (v->sig == NULL)
        return EQ_ERR_NOMEM;
    view_significance(md, prov, v->sig);
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
static enum eq_err
view_chart(const struct view *v, unsigned char **png, size_t *len)
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
            !trend     ? &dm->tot[i]
            : md->nt   ? &md->trend[i * md->np + (size_t)v->prov]
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
    metric_caption(dm->m, 0, v->lang, caption, sizeof caption);
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
        is_en(v->lang) ? "median" : "mediaan", title, png, len);
    free(rows);
    return err;
}

/* What the chart shows, in words, for the img alt text. */
static void
view_chart_alt(const struct view *v, char *out, size_t cap)
{
    const struct dg_model *md = v->md;
    char caption[96], val[32] = "";
    struct eq_buf b = {0};
    int en = is_en(v->lang);

    if (md->nm == 0) {
        snprintf(out, cap, "%s", "");
        return;
    }
    metric_caption(md->met[0].m, 0, v->lang, caption, sizeof caption);
    if (md->met[0].bench.shown)
        fmt_value(md->met[0].m, 0, v->lang, md->met[0].bench.e.value, val,
                  sizeof val);
    if (v->prov >= 0) {
        buf_printf(&b, en ? "Chart: %s of %s per period with 95%% interval:"
                          : "Grafiek: %s van %s per periode met "
                            "95%%-interval:",
                   caption, md->in->providers[v->prov].name);
        for (size_t t = 0; t < md->nt; t++) {
            const struct dg_stat *ds = &md->trend[t * md->np + (size_t)v->prov];
            char x[32];
            if (ds->shown)
                fmt_value(md->met[0].m, 0, v->lang, ds->e.value, x, sizeof x);
            else
                snprintf(x, sizeof x, en ? "hidden" : "verborgen");
            buf_printf(&b, "%s %s %s", t ? ";" : "", md->in->trend_labels[t], x);
        }
        buf_add(&b, ".");
    } else {
        buf_printf(&b, en ? "Chart: %s per department in %s with 95%% interval."
                          : "Grafiek: %s per afdeling in %s met "
                            "95%%-interval.",
                   caption, md->in->period);
    }
    if (*val)
        buf_printf(&b, en ? " Line: organisation median %s."
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

/* ---------------------------------------------------------------------
 * JSON and CSV.
 */
static cJSON *
json_est(const struct dg_stat *ds)
{
    cJSON *o;

    if (!ds->shown)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)ds->e.n);
    cJSON_AddNumberToObject(o, "value", ds->e.value);
    cJSON_AddNumberToObject(o, "lo", ds->e.lo);
    cJSON_AddNumberToObject(o, "hi", ds->e.hi);
    return o;
}

/* The benchmark: a median over providers, with no interval. */
static cJSON *
json_median(const struct dg_stat *ds, const struct dg_stat *prev)
{
    cJSON *o;

    if (!ds->shown)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", "median");
    cJSON_AddNumberToObject(o, "providers", (double)ds->e.n);
    cJSON_AddNumberToObject(o, "value", ds->e.value);
    if (prev && prev->shown)
        cJSON_AddNumberToObject(o, "previous", prev->e.value);
    return o;
}

static cJSON *
json_rate(int64_t k, int64_t n, const struct stats_estimate *r)
{
    cJSON *o;

    if (n <= 0)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "k", (double)k);
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddNumberToObject(o, "value", r->value);
    cJSON_AddNumberToObject(o, "lo", r->lo);
    cJSON_AddNumberToObject(o, "hi", r->hi);
    return o;
}

/* The trend of provider p (or of the median when p < 0). */
static cJSON *
json_trend(const struct dg_model *md, long p)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t t = 0; t < md->nt; t++) {
        const struct dg_stat *ds = p < 0 ? &md->trend_med[t]
                                         : &md->trend[t * md->np + (size_t)p];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "period", md->in->trend_labels[t]);
        cJSON_AddBoolToObject(o, "shown", ds->shown);
        if (ds->shown && p >= 0) {
            cJSON_AddNumberToObject(o, "n", (double)ds->e.n);
            cJSON_AddNumberToObject(o, "value", ds->e.value);
            cJSON_AddNumberToObject(o, "lo", ds->e.lo);
            cJSON_AddNumberToObject(o, "hi", ds->e.hi);
        } else if (ds->shown) {
            cJSON_AddNumberToObject(o, "providers", (double)ds->e.n);
            cJSON_AddNumberToObject(o, "value", ds->e.value);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static enum eq_err
render_json(struct view *v, char **out)
{
    const struct dg_model *md = v->md;
    const struct campaign *c = md->in->c;
    size_t sc = md->np + 1, nc = md->cur.nc;
    cJSON *root = cJSON_CreateObject(), *arr, *bench;
    char *s;

    if (root == NULL)
        return EQ_ERR_NOMEM;
    cJSON_AddStringToObject(root, "campaign", c->name);
    cJSON_AddStringToObject(root, "period", md->in->period);
    if (md->in->prev_period)
        cJSON_AddStringToObject(root, "previous_period", md->in->prev_period);
    else
        cJSON_AddNullToObject(root, "previous_period");
    if (v->prov >= 0)
        cJSON_AddStringToObject(root, "department",
                                md->in->providers[v->prov].code);
    else
        cJSON_AddNullToObject(root, "department");
    cJSON_AddNumberToObject(root, "anonymity_min", md->min);
    cJSON_AddBoolToObject(root, "weighted", 0);
    cJSON_AddNumberToObject(root, "bh_q", BH_Q);
    cJSON_AddStringToObject(root, "benchmark_method", "median");
    cJSON_AddItemToObject(root, "response_rate",
                          json_rate(md->org_answered, md->org_invited,
                                    &md->org_resp));
    cJSON_AddItemToObject(root, "not_applicable",
                          json_rate(md->org_na, md->org_answered,
                                    &md->org_na_share));
    if (md->nt > 0) {
        cJSON_AddStringToObject(root, "trend_metric", md->met[0].m->id);
        cJSON_AddItemToObject(root, "benchmark_trend", json_trend(md, -1));
    }
    if (v->prov < 0 && md->in->ops) {
        cJSON *ops = cJSON_AddObjectToObject(root, "to_handle");
        cJSON_AddNumberToObject(ops, "bounced", (double)md->in->ops->bounced);
        cJSON_AddNumberToObject(ops, "opted_out",
                                (double)md->in->ops->opted_out);
        cJSON_AddNumberToObject(ops, "failed", (double)md->in->ops->failed);
        cJSON_AddNumberToObject(ops, "review_open",
                                (double)md->in->ops->review_open);
    }
    arr = cJSON_AddArrayToObject(root, "metrics");
    for (size_t m = 0; m < md->nm; m++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", md->met[m].m->id);
        cJSON_AddStringToObject(o, "type",
                                campaign_metric_type_name(md->met[m].m->type));
        cJSON_AddStringToObject(o, "headline",
                                md->met[m].m->type == METRIC_NPS   ? "nps"
                                : md->met[m].m->type == METRIC_CES ? "mean"
                                                                   : "share");
        cJSON_AddItemToArray(arr, o);
    }
    bench = cJSON_AddObjectToObject(root, "benchmark");
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        cJSON *e = json_median(&dm->bench, &dm->pbench);
        if (dm->bench2.shown)
            cJSON_AddItemToObject(e, "second", json_median(&dm->bench2, NULL));
        cJSON_AddItemToObject(bench, dm->m->id, e);
    }
    arr = cJSON_AddArrayToObject(root, "providers");
    for (size_t p = 0; p < md->np; p++) {
        cJSON *o, *mo, *ca;
        if (v->prov >= 0 && (size_t)v->prov != p)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "code", md->in->providers[p].code);
        cJSON_AddStringToObject(o, "name", md->in->providers[p].name);
        cJSON_AddBoolToObject(o, "shown",
                              privacy_total_visible(md->cur.grid, p));
        cJSON_AddNumberToObject(o, "invited", (double)md->invited[p]);
        cJSON_AddNumberToObject(o, "answered", (double)md->answered[p]);
        cJSON_AddItemToObject(o, "response_rate",
                              json_rate(md->answered[p], md->invited[p],
                                        &md->resp[p]));
        cJSON_AddItemToObject(o, "not_applicable",
                              json_rate(md->na[p], md->answered[p],
                                        &md->na_share[p]));
        if (md->nt > 0)
            cJSON_AddItemToObject(o, "trend", json_trend(md, (long)p));
        mo = cJSON_AddObjectToObject(o, "metrics");
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_metric *dm = &md->met[m];
            cJSON *e = json_est(&dm->tot[p]);
            if (dm->tot[p].shown) {
                if (dm->tot2[p].shown)
                    cJSON_AddItemToObject(e, "second", json_est(&dm->tot2[p]));
                cJSON_AddNumberToObject(e, "rank", dm->rank[p]);
                cJSON_AddNumberToObject(e, "ranked", dm->n_ranked);
                if (dm->prev[p].shown)
                    cJSON_AddNumberToObject(e, "previous", dm->prev[p].e.value);
                if (dm->has_chg[p]) {
                    cJSON_AddNumberToObject(e, "change", dm->chg[p].delta);
                    cJSON_AddNumberToObject(e, "p", dm->chg[p].p);
                    cJSON_AddBoolToObject(e, "significant", v->sig[m * sc + p]);
                }
            }
            cJSON_AddItemToObject(mo, dm->m->id, e);
        }
        ca = cJSON_AddArrayToObject(o, "customers");
        for (size_t k = 0; k < nc; k++) {
            cJSON *co, *cm;
            int64_t n = 0;
            for (size_t m = 0; m < md->nm; m++)
                n += stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
            if (n == 0)
                continue;
            co = cJSON_CreateObject();
            cJSON_AddItemToArray(ca, co);
            cJSON_AddStringToObject(co, "name",
                                    dept_name(md->in, md->cur.cust[k], "nl"));
            cJSON_AddBoolToObject(co, "shown",
                                  privacy_cell_visible(md->cur.grid, p, k));
            cm = cJSON_AddObjectToObject(co, "metrics");
            for (size_t m = 0; m < md->nm; m++)
                cJSON_AddItemToObject(cm, md->met[m].m->id,
                                      json_est(&md->met[m].cell[p * nc + k]));
        }
        if (privacy_comments_visible(md->cur.grid, p) && md->in->comments &&
            md->in->comments[p]) {
            cJSON *cs = cJSON_AddArrayToObject(o, "comments");
            for (size_t i = 0; i < md->in->n_comments[p]; i++) {
                cJSON *co = cJSON_CreateObject();
                int sc0 = comment_score(md->in, p, i);
                cJSON_AddStringToObject(co, "text", md->in->comments[p][i]);
                cJSON_AddStringToObject(
                    co, "group",
                    band_id(md->nm ? md->met[0].m : NULL, band_of(
                        md->nm ? md->met[0].m : NULL, sc0)));
                cJSON_AddItemToArray(cs, co);
            }
        }
    }
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (s == NULL)
        return EQ_ERR_NOMEM;
    *out = strdup(s);
    cJSON_free(s);
    return *out ? EQ_OK : EQ_ERR_NOMEM;
}

/* A plain number as written in this locale ("-12", "-12,5" in nl): Excel
 * reads it as a number, so it needs no protection. */
static int
csv_plain_number(const char *s, char dec)
{
    int digits = 0;

    if (*s == '-')
        s++;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (*s == dec && digits > 0) {
        s++;
        digits = 0;
        while (*s >= '0' && *s <= '9')
            s++, digits++;
    }
    return digits > 0 && *s == '\0';
}

/* One field: quoted when it holds the separator, a quote or a line end;
 * a field a spreadsheet would run as a formula (= + - @) gets a leading
 * apostrophe, unless it is a plain number. */
static void
csv_field(struct eq_buf *b, const char *s, char sep, char dec, int last)
{
    char specials[5] = {sep, '"', '\r', '\n', '\0'};
    int formula = strchr("=+-@", *s) != NULL && *s != '\0' &&
                  !csv_plain_number(s, dec);
    int quote = strpbrk(s, specials) != NULL;

    if (quote)
        buf_addc(b, '"');
    if (formula)
        buf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '"')
            buf_addc(b, '"');
        buf_addc(b, *s);
    }
    if (quote)
        buf_addc(b, '"');
    if (last)
        buf_add(b, "\r\n");
    else
        buf_addc(b, sep);
}

struct csv {
    struct eq_buf b;
    const char *lang;
    char sep, dec;
};

static void
csv_line(struct csv *cv, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csv_field(&cv->b, f[i], cv->sep, cv->dec, i + 1 == n);
}

static void
csv_row(struct csv *cv, const char *period, const char *prov,
        const char *cust, const char *metric, const char *stat,
        const struct dg_stat *ds, int interval)
{
    char n[32] = "", val[32] = "", lo[32] = "", hi[32] = "";
    const char *f[9] = {period, prov, cust, metric, stat, n, val, lo, hi};

    if (ds->shown) {
        snprintf(n, sizeof n, "%lld", (long long)ds->e.n);
        fmt_num(ds->e.value, 2, cv->lang, val, sizeof val);
        if (interval) {
            fmt_num(ds->e.lo, 2, cv->lang, lo, sizeof lo);
            fmt_num(ds->e.hi, 2, cv->lang, hi, sizeof hi);
        }
    }
    csv_line(cv, f, 9);
}

/* k of n (response, n.v.t.): n is the denominator, value the percent. */
static void
csv_rate(struct csv *cv, const char *period, const char *prov,
         const char *stat, int64_t n, const struct stats_estimate *r)
{
    struct dg_stat ds = {.e = *r, .shown = n > 0};

    ds.e.n = n;
    csv_row(cv, period, prov, "", "", stat, &ds, 1);
}

static const char *
stat_id(const struct campaign_metric *m, int second_stat)
{
    if (m->type == METRIC_NPS)
        return "nps";
    return (m->type == METRIC_CES) != (second_stat != 0) ? "mean" : "share";
}

/* One line per shown-or-suppressed number; suppressed numbers are empty.
 * nl: ';' between fields and decimal commas (Excel in a Dutch locale);
 * en: ',' and points. */
static enum eq_err
render_csv(struct view *v, char **out)
{
    static const char *const head[9] = {"period", "provider", "customer",
                                        "metric", "statistic", "n",
                                        "value", "lo", "hi"};
    const struct dg_model *md = v->md;
    const char *period = md->in->period;
    size_t nc = md->cur.nc;
    struct csv cv = {.lang = v->lang};

    cv.sep = is_en(v->lang) ? ',' : ';';
    cv.dec = is_en(v->lang) ? '.' : ',';
    csv_line(&cv, head, 9);
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        const char *id = dm->m->id;
        if (v->prov < 0) {
            csv_row(&cv, period, "*", "", id, "median", &dm->bench, 0);
            if (dm->bench2.shown)
                csv_row(&cv, period, "*", "", id, "median_second",
                        &dm->bench2, 0);
        }
        for (size_t p = 0; p < md->np; p++) {
            const char *code = md->in->providers[p].code;
            if (v->prov >= 0 && (size_t)v->prov != p)
                continue;
            csv_row(&cv, period, code, "", id, stat_id(dm->m, 0), &dm->tot[p],
                    1);
            if (dm->tot2[p].shown)
                csv_row(&cv, period, code, "", id, stat_id(dm->m, 1),
                        &dm->tot2[p], 1);
            for (size_t k = 0; k < nc; k++) {
                int64_t n = stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
                if (n == 0)
                    continue;
                csv_row(&cv, period, code,
                        dept_name(md->in, md->cur.cust[k], "nl"), id,
                        stat_id(dm->m, 0), &dm->cell[p * nc + k], 1);
            }
        }
    }
    for (size_t p = 0; p < md->np; p++) {
        const char *code = md->in->providers[p].code;
        if (v->prov >= 0 && (size_t)v->prov != p)
            continue;
        csv_rate(&cv, period, code, "response_rate", md->invited[p],
                 &md->resp[p]);
        csv_rate(&cv, period, code, "not_applicable", md->answered[p],
                 &md->na_share[p]);
    }
    if (v->prov < 0) {
        csv_rate(&cv, period, "*", "response_rate", md->org_invited,
                 &md->org_resp);
        csv_rate(&cv, period, "*", "not_applicable", md->org_answered,
                 &md->org_na_share);
    }
    /* The trend's earlier periods (the period itself is above). */
    for (size_t t = 0; t + 1 < md->nt; t++) {
        const char *id = md->met[0].m->id;
        const char *lab = md->in->trend_labels[t];
        if (v->prov < 0)
            csv_row(&cv, lab, "*", "", id, "median", &md->trend_med[t], 0);
        for (size_t p = 0; p < md->np; p++) {
            if (v->prov >= 0 && (size_t)v->prov != p)
                continue;
            csv_row(&cv, lab, md->in->providers[p].code, "", id,
                    stat_id(md->met[0].m, 0), &md->trend[t * md->np + p], 1);
        }
    }
    if (cv.b.s == NULL)
        return EQ_ERR_NOMEM;
    *out = buf_take(&cv.b);
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
static enum eq_err
render_tpl(struct view *v, const char *templates_dir, int html,
           const char *chart_src, char **out, struct eq_buf *diag)
{
    struct tpl_ctx *ctx = tpl_ctx_new();
    enum eq_err err;

    if (ctx == NULL)
        return EQ_ERR_NOMEM;
    err = fill_ctx(v, html, chart_src, ctx);
    if (err == EQ_OK)
        err = template_render_file(templates_dir, v->lang, "digest",
                                   html ? "html" : "txt", ctx, out, diag);
    tpl_ctx_free(ctx);
    return err;
}

static enum eq_err
render_model(const struct dg_model *md, const char *templates_dir,
             const char *lang, const char *department, const char *format,
             char **out, struct eq_buf *diag)
{
    struct view v = {0};
    long prov = -1;
    enum eq_err err;

    *out = NULL;
    if (department != NULL) {
        prov = find_provider(md->in, department);
        if (prov < 0) {
            eq_diag(diag, "report: %s is not a provider of campaign %s",
                    department, md->in->c->name);
            return EQ_ERR_NOTFOUND;
        }
    }
    err = view_init(&v, md, prov, lang);
    if (err != EQ_OK)
        return err;
    if (strcmp(format, "json") == 0) {
        err = render_json(&v, out);
    } else if (strcmp(format, "csv") == 0) {
        err = render_csv(&v, out);
    } else if (strcmp(format, "text") == 0) {
        err = render_tpl(&v, templates_dir, 0, NULL, out, diag);
    } else if (strcmp(format, "html") == 0) {
        unsigned char *png = NULL;
        size_t len = 0;
        struct eq_buf src = {0};
        err = view_chart(&v, &png, &len);
        if (err == EQ_OK && png != NULL) {
            buf_add(&src, "data:image/png;base64,");
            err = base64(png, len, &src);
        }
        if (err == EQ_OK)
            err = render_tpl(&v, templates_dir, 1, png ? buf_str(&src) : NULL,
                             out, diag);
        free(png);
        buf_free(&src);
    } else {
        eq_diag(diag, "report: unknown format %s (text, html, json, csv)",
                format);
        err = EQ_ERR_USAGE;
    }
    free(v.sig);
    return err;
}

enum eq_err
digest_render(const struct digest_input *in, const char *templates_dir,
              const char *lang, const char *department, const char *format,
              char **out, struct eq_buf *diag)
{
    struct dg_model *md = NULL;
    enum eq_err err;

    *out = NULL;
    err = model_build(in, &md, diag);
    if (err == EQ_OK)
        err = render_model(md, templates_dir, lang, department, format, out,
                           diag);
    model_free(md);
    return err;
}

/* ---------------------------------------------------------------------
 * Loading a period from the store.
 */
struct loaded {
    struct digest_input in;
    struct store_department *prov, *depts;
    size_t np, nd;
    struct store_score_row **rows, **prev_rows;
    size_t *n_rows, *n_prev_rows;
    struct store_pair *resp;
    size_t n_resp;
    char ***comments; /* arrays pointing into cs */
    size_t *n_comments;
    struct store_comment_score **cs;
    int **cscores;
    struct store_pair *na;
    size_t n_na;
    char (*tlabels)[16];
    const char **tlabel_ptrs;
    int64_t *tids;
    size_t nt;
    struct store_trend_row *trows;
    size_t n_trows;
    struct store_report_ops ops;
    char period[16], prev_period[16];
};

static void
loaded_free(struct loaded *l, size_t nm)
{
    store_departments_free(l->prov, l->np);
    store_departments_free(l->depts, l->nd);
    for (size_t m = 0; m < nm; m++) {
        if (l->rows)
            free(l->rows[m]);
        if (l->prev_rows)
            free(l->prev_rows[m]);
    }
    free(l->rows);
    free(l->prev_rows);
    free(l->n_rows);
    free(l->n_prev_rows);
    free(l->resp);
    for (size_t p = 0; l->comments && p < l->np; p++) {
        free(l->comments[p]);
        if (l->cs)
            store_comment_scores_free(l->cs[p], l->n_comments[p]);
        if (l->cscores)
            free(l->cscores[p]);
    }
    free(l->comments);
    free(l->n_comments);
    free(l->cs);
    free(l->cscores);
    free(l->na);
    free(l->tlabels);
    free(l->tlabel_ptrs);
    free(l->tids);
    free(l->trows);
    memset(l, 0, sizeof *l);
}

/* The campaign's provider departments, in store order. */
static enum eq_err
load_providers(struct store *st, const struct campaign *c,
               struct loaded *l, struct eq_buf *diag)
{
    enum eq_err err = store_departments(st, &l->depts, &l->nd);

    if (err != EQ_OK)
        return err;
    l->prov = calloc(l->nd + 1, sizeof *l->prov);
    if (l->prov == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < l->nd; i++) {
        struct store_department *d = &l->depts[i];
        if (!c->providers_all && !campaign_has_provider(c, d->code))
            continue;
        l->prov[l->np].id = d->id;
        l->prov[l->np].code = strdup(d->code);
        l->prov[l->np].name = strdup(d->name ? d->name : d->code);
        l->np++;
        if (!l->prov[l->np - 1].code || !l->prov[l->np - 1].name)
            return EQ_ERR_NOMEM;
    }
    for (size_t i = 0; !c->providers_all && i < c->n_providers; i++) {
        size_t j;
        for (j = 0; j < l->np; j++)
            if (strcmp(l->prov[j].code, c->providers[i]) == 0)
                break;
        if (j == l->np)
            eq_diag(diag, "digest: provider %s of campaign %s is not in the "
                          "organisation",
                    c->providers[i], c->name);
    }
    return EQ_OK;
}

/* Comments of provider p with the rater's score on the first metric. */
static enum eq_err
load_comments(struct store *st, const struct campaign *c,
              const struct store_period *per, struct loaded *l, size_t p)
{
    struct store_comment_score *cs = NULL;
    size_t n = 0;
    enum eq_err err = store_report_comments(
        st, per->id, l->prov[p].id, c->n_metrics ? c->metrics[0].id : "", &cs,
        &n);

    if (err != EQ_OK)
        return err;
    l->cs[p] = cs;
    l->n_comments[p] = n;
    l->comments[p] = calloc(n + 1, sizeof *l->comments[p]);
    l->cscores[p] = calloc(n + 1, sizeof *l->cscores[p]);
    if (l->comments[p] == NULL || l->cscores[p] == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        l->comments[p][i] = cs[i].text;
        l->cscores[p][i] = cs[i].score;
    }
    return EQ_OK;
}

/* The trend: up to n_trend periods ending at per[at], one query for all
 * providers (GROUP BY period, provider, score). */
static enum eq_err
load_trend(struct store *st, const struct campaign *c, int64_t cid,
           const struct store_period *per, size_t at, size_t n_trend,
           struct loaded *l)
{
    size_t first = at + 1 > n_trend ? at + 1 - n_trend : 0;

    if (c->n_metrics == 0 || n_trend == 0)
        return EQ_OK;
    l->nt = at + 1 - first;
    l->tlabels = calloc(l->nt, sizeof *l->tlabels);
    l->tlabel_ptrs = calloc(l->nt, sizeof *l->tlabel_ptrs);
    l->tids = calloc(l->nt, sizeof *l->tids);
    if (!l->tlabels || !l->tlabel_ptrs || !l->tids)
        return EQ_ERR_NOMEM;
    for (size_t t = 0; t < l->nt; t++) {
        snprintf(l->tlabels[t], sizeof l->tlabels[t], "%s",
                 per[first + t].label);
        l->tlabel_ptrs[t] = l->tlabels[t];
        l->tids[t] = per[first + t].id;
    }
    return store_report_trend(st, cid, 0, c->metrics[0].id, per[first].first,
                              per[at].first, &l->trows, &l->n_trows);
}

/* Everything the model needs for per[at] (the one before it for changes,
 * n_trend periods for the trend). */
static enum eq_err
load_period(struct store *st, const struct campaign *c, int64_t cid,
            const struct store_period *all, size_t at, size_t n_trend,
            int with_comments, struct loaded *l, struct eq_buf *diag)
{
    const struct store_period *per = &all[at];
    const struct store_period *prev = at > 0 ? &all[at - 1] : NULL;
    size_t nm = c->n_metrics;
    enum eq_err err;

    memset(l, 0, sizeof *l);
    err = load_providers(st, c, l, diag);
    if (err != EQ_OK)
        return err;
    l->rows = calloc(nm + 1, sizeof *l->rows);
    l->n_rows = calloc(nm + 1, sizeof *l->n_rows);
    l->prev_rows = calloc(nm + 1, sizeof *l->prev_rows);
    l->n_prev_rows = calloc(nm + 1, sizeof *l->n_prev_rows);
    l->comments = calloc(l->np + 1, sizeof *l->comments);
    l->n_comments = calloc(l->np + 1, sizeof *l->n_comments);
    l->cs = calloc(l->np + 1, sizeof *l->cs);
    l->cscores = calloc(l->np + 1, sizeof *l->cscores);
    if (!l->rows || !l->n_rows || !l->prev_rows || !l->n_prev_rows ||
        !l->comments || !l->n_comments || !l->cs || !l->cscores)
        return EQ_ERR_NOMEM;
    for (size_t m = 0; m < nm && err == EQ_OK; m++) {
        err = store_score_counts(st, per->id, c->metrics[m].id, &l->rows[m],
                                 &l->n_rows[m]);
        if (err == EQ_OK && prev)
            err = store_score_counts(st, prev->id, c->metrics[m].id,
                                     &l->prev_rows[m], &l->n_prev_rows[m]);
    }
    if (err == EQ_OK)
        err = store_period_provider_counts(st, per->id, &l->resp, &l->n_resp);
    if (err == EQ_OK)
        err = store_report_na(st, per->id, &l->na, &l->n_na);
    if (err == EQ_OK)
        err = store_report_ops_counts(st, per->id, &l->ops);
    if (err == EQ_OK)
        err = load_trend(st, c, cid, all, at, n_trend, l);
    for (size_t p = 0; with_comments && p < l->np && err == EQ_OK; p++)
        err = load_comments(st, c, per, l, p);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: reading period %s: %s", per->label,
                store_errmsg(st));
        return err;
    }
    snprintf(l->period, sizeof l->period, "%s", per->label);
    if (prev)
        snprintf(l->prev_period, sizeof l->prev_period, "%s", prev->label);
    l->in = (struct digest_input){
        .c = c,
        .period = l->period,
        .prev_period = prev ? l->prev_period : NULL,
        .providers = l->prov,
        .n_providers = l->np,
        .departments = l->depts,
        .n_departments = l->nd,
        .rows = (const struct store_score_row *const *)l->rows,
        .n_rows = l->n_rows,
        .prev_rows =
            prev ? (const struct store_score_row *const *)l->prev_rows : NULL,
        .n_prev_rows = l->n_prev_rows,
        .response = l->resp,
        .n_response = l->n_resp,
        .comments = (char *const *const *)l->comments,
        .n_comments = l->n_comments,
        .comment_scores = (const int *const *)l->cscores,
        .na = l->na,
        .n_na = l->n_na,
        .period_last = per->last,
        .trend_labels = l->tlabel_ptrs,
        .trend_ids = l->tids,
        .n_trend = l->nt,
        .trend_rows = l->trows,
        .n_trend_rows = l->n_trows,
        .ops = &l->ops,
    };
    return EQ_OK;
}

static int
period_has_answers(struct store *st, const struct campaign *c,
                   const struct store_period *per)
{
    for (size_t m = 0; m < c->n_metrics; m++) {
        struct store_score_row *rows = NULL;
        size_t n = 0;
        if (store_score_counts(st, per->id, c->metrics[m].id, &rows, &n) ==
                EQ_OK &&
            n > 0) {
            free(rows);
            return 1;
        }
        free(rows);
    }
    return 0;
}

enum eq_err
digest_report(struct store *st, const struct eq_config *cfg,
              const struct campaign *c, const char *period_label,
              const char *department, const char *format, size_t n_trend,
              char **out, struct eq_buf *diag)
{
    struct store_period *per = NULL;
    size_t np = 0, at = 0;
    struct loaded l;
    struct dg_model *md = NULL;
    int64_t cid;
    enum eq_err err;

    *out = NULL;
    memset(&l, 0, sizeof l);
    err = store_campaign_ensure(st, c->name, &cid);
    if (err == EQ_OK)
        err = store_periods(st, cid, &per, &np);
    if (err != EQ_OK) {
        eq_diag(diag, "report: %s", store_errmsg(st));
        return err;
    }
    err = EQ_ERR_NOTFOUND;
    for (size_t i = np; i-- > 0;) {
        if (period_label ? strcmp(per[i].label, period_label) == 0
                         : period_has_answers(st, c, &per[i])) {
            at = i;
            err = EQ_OK;
            break;
        }
    }
    if (err != EQ_OK) {
        if (period_label)
            eq_diag(diag, "report: campaign %s has no period %s", c->name,
                    period_label);
        else
            eq_diag(diag, "report: campaign %s has no answers yet", c->name);
        goto out;
    }
    if (n_trend == 0)
        n_trend = DIGEST_TREND_PERIODS;
    if (n_trend > DIGEST_TREND_MAX)
        n_trend = DIGEST_TREND_MAX;
    err = load_period(st, c, cid, per, at, n_trend, 1, &l, diag);
    if (err == EQ_OK)
        err = model_build(&l.in, &md, diag);
    if (err == EQ_OK)
        err = render_model(md, cfg->general.templates, cfg->general.language,
                           department, format, out, diag);
out:
    model_free(md);
    loaded_free(&l, c->n_metrics);
    free(per);
    return err;
}

/* ---------------------------------------------------------------------
 * Sending.
 */
eq_time
digest_due(eq_day last, eq_time last_close, int weekday, int hour,
           const char *tz)
{
    eq_time from = eqtime_from_local(last + 1, 0, tz), t;
    eq_day day;
    int minute;

    if (last_close > from)
        from = last_close;
    eqtime_to_local(from, tz, &day, &minute);
    for (int i = 0; i < 15; i++, day++) {
        if (eqtime_weekday(day) != weekday)
            continue;
        t = eqtime_from_local(day, hour * 60, tz);
        if (t >= from)
            return t;
    }
    return from; /* not reached: a weekday recurs within 8 days */
}

/* Is the period over at now, and when is its digest due? */
static enum eq_err
period_due(struct store *st, const struct eq_config *cfg,
           const struct store_period *per, eq_time now, int *ready,
           struct eq_buf *diag)
{
    const unsigned open = 1u << INV_PLANNED | 1u << INV_SENDING |
                          1u << INV_SENT | 1u << INV_REMINDED |
                          1u << INV_DEFERRED;
    struct store_inv_filter f = {.period_id = per->id};
    struct store_invitation *inv = NULL;
    size_t n = 0;
    eq_time last_close = 0;
    enum eq_err err;
    const char *tz = cfg->general.timezone;
    eq_day today;
    int minute;

    *ready = 0;
    eqtime_to_local(now, tz, &today, &minute);
    if (today <= per->last)
        return EQ_OK;
    err = store_invitations(st, &f, &inv, &n);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: invitations of %s: %s", per->label,
                store_errmsg(st));
        return err;
    }
    for (size_t i = 0; i < n; i++) {
        if (inv[i].state == INV_CANCELLED)
            continue;
        if ((open & (1u << inv[i].state)) && inv[i].closes_at > now)
            goto out; /* still open */
        if (inv[i].closes_at > last_close)
            last_close = inv[i].closes_at;
    }
    *ready = now >= digest_due(per->last, last_close, cfg->digest.weekday,
                               cfg->digest.hour, tz);
out:
    store_invitations_free(inv, n);
    return EQ_OK;
}

struct sender {
    struct store *st;
    const struct eq_config *cfg;
    const struct campaign *c;
    struct transport *t;
    eq_time now;
    int dry_run;
    struct digest_summary *sum;
    struct eq_buf *out, *diag;
    const struct store_period *per;
    const struct dg_model *md;
    char *local, *domain;
    int failed;
};

static enum eq_err
send_one(struct sender *s, long prov, const char *email, const char *name,
         const char *lang)
{
    char key[512], token[TOKEN_LEN + 1], subject[300], msgid[256],
        reply_to[256], cid[256], from_env[256], src[270];
    struct view v = {0};
    char *text = NULL, *html = NULL, *msg = NULL;
    unsigned char *png = NULL;
    size_t len = 0, png_len = 0;
    int sent = 0;
    enum eq_err err;
    const char *tz = s->cfg->general.timezone;

    if (prov >= 0)
        snprintf(key, sizeof key, "%s:%s", s->md->in->providers[prov].code,
                 email);
    else
        snprintf(key, sizeof key, "%s", email);
    if (!s->dry_run) {
        err = store_digest_sent(s->st, s->per->id, key, &sent);
        if (err != EQ_OK)
            return err;
        if (sent) {
            s->sum->skipped++;
            return EQ_OK;
        }
    }
    err = token_new(token);
    if (err != EQ_OK)
        return err;
    err = view_init(&v, s->md, prov, lang);
    if (err != EQ_OK)
        return err;
    snprintf(cid, sizeof cid, "chart.%s@%s", token, s->domain);
    snprintf(src, sizeof src, "cid:%s", cid);
    err = view_chart(&v, &png, &png_len);
    if (err == EQ_OK)
        err = render_tpl(&v, s->cfg->general.templates, 0, NULL, &text,
                         s->diag);
    if (err == EQ_OK)
        err = render_tpl(&v, s->cfg->general.templates, 1, png ? src : NULL,
                         &html, s->diag);
    if (err != EQ_OK)
        goto out;
    view_subject(&v, subject, sizeof subject);
    if (s->dry_run) {
        buf_printf(s->out, "To: %s\nSubject: %s\n\n%s\n", email, subject,
                   text);
        s->sum->sent++;
        goto out;
    }
    strncat(subject, " [#", sizeof subject - strlen(subject) - 1);
    strncat(subject, token, sizeof subject - strlen(subject) - 1);
    strncat(subject, "]", sizeof subject - strlen(subject) - 1);
    snprintf(msgid, sizeof msgid, "dig.%s@%s", token, s->domain);
    snprintf(reply_to, sizeof reply_to, "%s+%s@%s", s->local, token,
             s->domain);
    snprintf(from_env, sizeof from_env, "%s", reply_to);
    {
        struct compose_part part = {
            .content_type = "image/png",
            .filename = "chart.png",
            .content_id = cid,
            .data = png,
            .len = png_len,
        };
        struct compose_mail m = {
            .from = s->cfg->general.from,
            .to = email,
            .to_name = name,
            .reply_to = reply_to,
            .subject = subject,
            .message_id = msgid,
            .auto_submitted = 1,
            .date = s->now,
            .timezone = tz,
            .text = text,
            .html = html,
            .parts = png ? &part : NULL,
            .n_parts = png ? 1 : 0,
        };
        const char *rcpt[1] = {email};
        struct transport_msg tm = {0};
        struct transport_result res = {0};

        err = compose_build(&m, &msg, &len, s->diag);
        if (err != EQ_OK)
            goto out;
        /* The token is recorded first so that a reply to the digest is
         * recognised even if the log write below fails. */
        err = store_token_add(s->st, token, "digest", s->now);
        if (err != EQ_OK) {
            eq_diag(s->diag, "digest: token: %s", store_errmsg(s->st));
            goto out;
        }
        tm.envelope_from = from_env;
        tm.rcpt = rcpt;
        tm.n_rcpt = 1;
        tm.data = msg;
        tm.len = len;
        err = transport_send(s->t, &tm, &res);
        if (err != EQ_OK) {
            eq_diag(s->diag, "digest: sending to %s: %d %s", email, res.code,
                    res.text);
            goto out;
        }
        err = store_digest_log(s->st, s->per->id, key,
                               prov >= 0 ? s->md->in->providers[prov].id : 0,
                               token, s->now);
        if (err != EQ_OK) {
            eq_diag(s->diag, "digest: log for %s: %s", email,
                    store_errmsg(s->st));
            goto out;
        }
        s->sum->sent++;
    }
out:
    free(v.sig);
    free(png);
    free(text);
    free(html);
    free(msg);
    return err;
}

static const char *
default_lang(const struct eq_config *cfg)
{
    if (cfg->digest.language_default && *cfg->digest.language_default)
        return cfg->digest.language_default;
    if (cfg->general.language && *cfg->general.language)
        return cfg->general.language;
    return "nl";
}

static enum eq_err
send_period(struct sender *s)
{
    enum eq_err err = EQ_OK;

    for (size_t p = 0; p < s->md->np && err != EQ_ERR_NOMEM; p++) {
        struct store_employee *mgr = NULL;
        size_t nmgr = 0;
        enum eq_err e = store_managers(s->st, s->md->in->providers[p].id,
                                       &mgr, &nmgr);
        if (e != EQ_OK) {
            eq_diag(s->diag, "digest: managers: %s", store_errmsg(s->st));
            return e;
        }
        for (size_t i = 0; i < nmgr; i++) {
            const char *lang = mgr[i].language && *mgr[i].language
                                   ? mgr[i].language
                                   : default_lang(s->cfg);
            e = send_one(s, (long)p, mgr[i].email, mgr[i].name, lang);
            if (e != EQ_OK) {
                s->failed = 1;
                err = e;
            }
        }
        store_employees_free(mgr, nmgr);
    }
    for (size_t i = 0; i < s->cfg->digest.n_hr && err != EQ_ERR_NOMEM; i++) {
        enum eq_err e = send_one(s, -1, s->cfg->digest.hr[i], NULL,
                                 default_lang(s->cfg));
        if (e != EQ_OK) {
            s->failed = 1;
            err = e;
        }
    }
    return err;
}

enum eq_err
digest_run(struct store *st, const struct eq_config *cfg,
           const struct campaign *c, struct transport *t, eq_time now,
           int dry_run, struct digest_summary *sum, struct eq_buf *out,
           struct eq_buf *diag)
{
    struct store_period *per = NULL;
    size_t np = 0;
    int64_t cid;
    enum eq_err err, first_err = EQ_OK;
    struct sender s = {
        .st = st, .cfg = cfg, .c = c, .t = t, .now = now,
        .dry_run = dry_run, .sum = sum, .out = out, .diag = diag,
    };

    memset(sum, 0, sizeof *sum);
    err = config_reply_parts(cfg, &s.local, &s.domain);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: reply_address has no local part and domain");
        return err;
    }
    err = store_campaign_ensure(st, c->name, &cid);
    if (err == EQ_OK)
        err = store_periods(st, cid, &per, &np);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: %s", store_errmsg(st));
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        struct loaded l;
        struct dg_model *md = NULL;
        int ready = 0;

        if (per[i].digest_at != 0)
            continue;
        err = period_due(st, cfg, &per[i], now, &ready, diag);
        if (err != EQ_OK)
            goto out;
        if (!ready)
            continue;
        err = load_period(st, c, cid, per, i, DIGEST_TREND_PERIODS, 1, &l,
                          diag);
        if (err == EQ_OK)
            err = model_build(&l.in, &md, diag);
        if (err == EQ_OK) {
            s.per = &per[i];
            s.md = md;
            s.failed = 0;
            err = send_period(&s);
            if (!s.failed)
                sum->periods++;
            if (!s.failed && !dry_run)
                err = store_period_set_digest(st, per[i].id, now);
        }
        model_free(md);
        loaded_free(&l, c->n_metrics);
        /* A failed recipient is retried on the next run; other periods
         * still go out. */
        if (err == EQ_ERR_NOMEM || err == EQ_ERR_DB)
            goto out;
        if (err != EQ_OK && first_err == EQ_OK)
            first_err = err;
        err = EQ_OK;
    }
out:
    free(per);
    free(s.local);
    free(s.domain);
    return err != EQ_OK ? err : first_err;
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
    static const struct store_department depts[] = {
        {10, "fin", "Financiën"}, {11, "ops", "Operations"}};
    static const struct store_pair response[] = {
        {1, 20, 40, 0}, {2, 20, 30, 0}, {3, 1, 10, 0}};
    static char *const ict_comments[] = {"Snel geholpen, dank!",
                                         "Graag eerder terugbellen."};
    static const struct digest_action actions[] = {
        {1, 1, "Vast inloopspreekuur op dinsdag", NULL, 20700}};
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
                r[n++] = (struct store_score_row){p, d, p == 1 ? mt->max
                                                               : mt->min,
                                                  k};
                r[n++] = (struct store_score_row){p, d, p == 1 ? mt->min
                                                               : mt->max,
                                                  2};
                r[n++] = (struct store_score_row){
                    p, d, (mt->min + mt->max) / 2, d == 10 ? 1 : 3};
            }
        r[n++] = (struct store_score_row){3, 10, mt->max, 1};
        s->rowp[m] = r;
        s->n_rows[m] = n;
        s->prev[2 * m] =
            (struct store_score_row){1, 10, mt->min, 4 * k};
        s->prev[2 * m + 1] =
            (struct store_score_row){2, 10, mt->max, 4 * k};
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
        .n_actions = 1,
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
        err = model_build(&s.in, &md, diag);
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
                err = view_init(&v, md, provs[i], langs[l]);
                if (err != EQ_OK)
                    break;
                err = fill_ctx(&v, html,
                               html && provs[i] < 0
                                   ? "data:image/png;base64,AA=="
                                   : NULL,
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
    model_free(md);
    dg_sample_free(&s);
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "digest: out of memory");
    return err != EQ_OK ? err : total;
}
