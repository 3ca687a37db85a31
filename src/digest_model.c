/* digest_model: score counts in, estimates, privacy, changes and
 * benchmarks out. */
#include "digest_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct words nl_words = {
    "Meting",        "Score",    "95%-interval", "n",
    "Vorige",        "Verschil", "Benchmark",    "Rang",
    "Klantafdeling", "Afdeling", "Respons",      "totaal",
    "organisatie",   "van",      "beantwoord",   "onbekend",
    "gemiddelde",    "% eens",   "% tevreden",   "Periode",
    "Mediaan",       "n.v.t.",   "afdelingen",
};
static const struct words en_words = {
    "Measure",
    "Score",
    "95% interval",
    "n",
    "Previous",
    "Change",
    "Benchmark",
    "Rank",
    "Customer department",
    "Department",
    "Response",
    "total",
    "organisation",
    "of",
    "answered",
    "unknown",
    "mean",
    "% agree",
    "% satisfied",
    "Period",
    "Median",
    "n/a",
    "departments",
};

const struct words *
dg_words_for(const char *lang)
{
    return lang && strcmp(lang, "en") == 0 ? &en_words : &nl_words;
}

int
dg_is_en(const char *lang)
{
    return lang && strcmp(lang, "en") == 0;
}

static void
side_free(struct dg_side *s)
{
    free(s->cust);
    free(s->cell);
    free(s->tot);
    privacy_grid_free(s->grid);
}

void
dg_model_free(struct dg_model *md)
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

const char *
dg_dept_name(const struct digest_input *in, int64_t id, const char *lang)
{
    for (size_t i = 0; i < in->n_departments; i++)
        if (in->departments[i].id == id)
            return in->departments[i].name;
    for (size_t i = 0; i < in->n_providers; i++)
        if (in->providers[i].id == id)
            return in->providers[i].name;
    return dg_words_for(lang)->unknown;
}

long
dg_prov_index(const struct dg_model *md, int64_t id)
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
    const char *na = dg_dept_name(sort_in, *(const int64_t *)a, "nl");
    const char *nb = dg_dept_name(sort_in, *(const int64_t *)b, "nl");
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
            if (dg_prov_index(md, rows[m][i].provider_id) < 0)
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
            long p = dg_prov_index(md, r->provider_id);
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
        long p = dg_prov_index(md, r->provider_id);
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

enum eq_err
dg_model_build(const struct digest_input *in, struct dg_model **out,
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
            dm->tot[p].shown =
                privacy_total_visible(md->cur.grid, p) && stats_dist_n(d) > 0;
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
        long p = dg_prov_index(md, in->response[i].a);
        if (p < 0)
            continue;
        md->invited[p] = in->response[i].n;
        md->answered[p] = in->response[i].b;
    }
    for (size_t i = 0; i < in->n_na; i++) {
        long p = dg_prov_index(md, in->na[i].a);
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
    dg_model_free(md);
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

enum eq_err
dg_view_init(struct view *v, const struct dg_model *md, long prov,
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
