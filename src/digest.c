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
        *of, *answered, *unknown, *mean, *agree, *satisfied;
};

static const struct words nl_words = {
    "Meting", "Score", "95%-interval", "n", "Vorige", "Verschil",
    "Benchmark", "Rang", "Klantafdeling", "Afdeling", "Respons", "totaal",
    "organisatie", "van", "beantwoord", "onbekend", "gemiddelde", "% eens",
    "% tevreden",
};
static const struct words en_words = {
    "Measure", "Score", "95% interval", "n", "Previous", "Change",
    "Benchmark", "Rank", "Customer department", "Department", "Response",
    "total", "organisation", "of", "answered", "unknown", "mean", "% agree",
    "% satisfied",
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
    struct dg_stat bench, bench2, pbench;
    struct stats_change bchg;
    int has_bchg;
};

struct dg_model {
    const struct digest_input *in;
    size_t np, nm;
    struct dg_side cur, prv;
    struct dg_metric *met;
    int64_t *invited, *answered;
    struct stats_estimate *resp;
    int64_t org_invited, org_answered;
    struct stats_estimate org_resp;
    int min;
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
    free(md->resp);
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
    if (!md->met || !md->invited || !md->answered || !md->resp) {
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
        struct stats_dist bench, bench_prev;
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
        stats_dist_init(&bench, cm->min, cm->max);
        stats_dist_init(&bench_prev, cm->min, cm->max);
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
                /* The benchmark pools only shown providers: pooling a
                 * hidden one would let it be derived by subtraction. */
                stats_dist_merge(&bench, d);
            }
            if (in->prev_rows != NULL &&
                privacy_total_visible(md->prv.grid, p) &&
                stats_dist_n(&md->prv.tot[m * np + p]) > 0) {
                dm->prev[p].shown = 1;
                headline(cm, &md->prv.tot[m * np + p], &dm->prev[p].e);
                stats_dist_merge(&bench_prev, &md->prv.tot[m * np + p]);
            }
            if (dm->tot[p].shown && dm->prev[p].shown)
                dm->has_chg[p] = stats_change(&dm->prev[p].e, &dm->tot[p].e,
                                              &dm->chg[p]) == EQ_OK;
        }
        if (stats_dist_n(&bench) > 0) {
            dm->bench.shown = 1;
            headline(cm, &bench, &dm->bench.e);
            dm->bench2.shown = second(cm, &bench, &dm->bench2.e);
        }
        if (stats_dist_n(&bench_prev) > 0) {
            dm->pbench.shown = 1;
            headline(cm, &bench_prev, &dm->pbench.e);
        }
        if (dm->bench.shown && dm->pbench.shown)
            dm->has_bchg = stats_change(&dm->pbench.e, &dm->bench.e,
                                        &dm->bchg) == EQ_OK;
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
    for (size_t p = 0; p < md->np; p++) {
        stats_wilson(md->answered[p], md->invited[p], &md->resp[p]);
        md->org_invited += md->invited[p];
        md->org_answered += md->answered[p];
    }
    stats_wilson(md->org_answered, md->org_invited, &md->org_resp);
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
                has = dm->has_bchg && prov < 0;
                pv = dm->bchg.p;
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
 * Number formatting: people read these, in their language.
 */
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
            if (c > 0)
                for (size_t i = 0; i < pad; i++)
                    buf_addc(&line, ' ');
            buf_add(&line, s);
            if (c == 0)
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
                       tag, c == 0 ? "left" : "right");
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

/* HR: every provider side by side, plus the benchmark and response. */
static enum eq_err
providers_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = words_for(v->lang);
    size_t cols = 3 + md->nm, sc = md->np + 1;
    struct tbl t = {.cols = cols};
    const char **row;
    char(*txt)[200] = tbl_scratch(cols, sizeof *txt, &row);
    enum eq_err err = EQ_OK;

    if (txt == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    row[0] = w->department;
    for (size_t m = 0; m < md->nm; m++) {
        metric_caption(md->met[m].m, 0, v->lang, txt[m + 1], sizeof txt[0]);
        row[m + 1] = txt[m + 1];
    }
    row[md->nm + 1] = w->n;
    row[md->nm + 2] = w->response;
    err = tbl_row(&t, row);
    for (size_t p = 0; p <= md->np && err == EQ_OK; p++) {
        int64_t n = 0;
        int bench = p == md->np;
        row[0] = bench ? w->benchmark : md->in->providers[p].name;
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_metric *dm = &md->met[m];
            const struct dg_stat *ds = bench ? &dm->bench : &dm->tot[p];
            int changed = bench ? dm->has_bchg : dm->has_chg[p];
            const struct stats_change *ch = bench ? &dm->bchg : &dm->chg[p];
            char val[32], iv[96], dl[40] = "";
            if (ds->shown) {
                fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
                fmt_interval(dm->m, 0, v->lang, &ds->e, iv, sizeof iv);
                if (changed && v->sig[m * sc + p]) {
                    char d[32];
                    fmt_delta(dm->m, v->lang, ch->delta, d, sizeof d);
                    snprintf(dl, sizeof dl, " %s *", d);
                }
                snprintf(txt[m + 1], sizeof txt[0], "%s (%s)%s", val, iv, dl);
                n = ds->e.n > n ? ds->e.n : n;
            } else {
                snprintf(txt[m + 1], sizeof txt[0], DASH);
                v->suppressed = 1;
            }
            row[m + 1] = txt[m + 1];
        }
        if (n > 0)
            snprintf(txt[md->nm + 1], sizeof txt[0], "%lld", (long long)n);
        else
            snprintf(txt[md->nm + 1], sizeof txt[0], "<%d", md->min);
        row[md->nm + 1] = txt[md->nm + 1];
        {
            int64_t inv = bench ? md->org_invited : md->invited[p];
            int64_t ans = bench ? md->org_answered : md->answered[p];
            const struct stats_estimate *r = bench ? &md->org_resp : &md->resp[p];
            if (inv > 0)
                snprintf(txt[md->nm + 2], sizeof txt[0],
                         "%lld/%lld = %.0f%% (%.0f" ELLIPSIS "%.0f%%)",
                         (long long)ans, (long long)inv, r->value, r->lo, r->hi);
            else
                snprintf(txt[md->nm + 2], sizeof txt[0], DASH);
            row[md->nm + 2] = txt[md->nm + 2];
        }
        err = tbl_row(&t, row);
    }
out:
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
            if (!v->sig[m * sc + q])
                continue;
            if (q == md->np) {
                now = &dm->bench;
                before = &dm->pbench;
                ch = &dm->bchg;
            } else {
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
            nco = md->in->n_comments[p];
            for (size_t i = 0; i < nco; i++) {
                struct tpl_ctx *it = tpl_add_item(ctx, "comments");
                if (it == NULL)
                    return EQ_ERR_NOMEM;
                tpl_set(it, "text", md->in->comments[p][i]);
            }
        }
        tpl_set_bool(ctx, "has_comments", nco > 0);
        if (nco == 0)
            tpl_set_bool(ctx, "comments", 0);
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

/* The chart of the first metric: every provider, benchmark as a line. */
static enum eq_err
model_chart(const struct dg_model *md, const char *lang, unsigned char **png,
            size_t *len)
{
    struct chart_row *rows;
    const struct dg_metric *dm;
    double lo, hi;
    char title[160];
    enum eq_err err;

    *png = NULL;
    *len = 0;
    if (md->nm == 0)
        return EQ_OK;
    dm = &md->met[0];
    rows = calloc(md->np + 1, sizeof *rows);
    if (rows == NULL)
        return EQ_ERR_NOMEM;
    for (size_t p = 0; p < md->np; p++) {
        rows[p].label = md->in->providers[p].name;
        rows[p].hidden = !dm->tot[p].shown;
        rows[p].value = dm->tot[p].e.value;
        rows[p].lo = dm->tot[p].e.lo;
        rows[p].hi = dm->tot[p].e.hi;
    }
    if (dm->m->type == METRIC_NPS) {
        lo = -100;
        hi = 100;
    } else if (dm->m->type == METRIC_CES) {
        lo = dm->m->min;
        hi = dm->m->max;
    } else {
        lo = 0;
        hi = 100;
    }
    char caption[96];
    metric_caption(dm->m, 0, lang, caption, sizeof caption);
    snprintf(title, sizeof title, "%s " EMDASH " %s", caption, md->in->period);
    err = chart_intervals(rows, md->np, lo, hi,
                          dm->bench.shown ? dm->bench.e.value : NAN, title,
                          png, len);
    free(rows);
    return err;
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
        cJSON *e = json_est(&dm->bench);
        if (dm->bench.shown && dm->has_bchg && v->prov < 0) {
            cJSON_AddNumberToObject(e, "change", dm->bchg.delta);
            cJSON_AddNumberToObject(e, "p", dm->bchg.p);
            cJSON_AddBoolToObject(e, "significant", v->sig[m * sc + md->np]);
        }
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
        if (md->invited[p] > 0) {
            cJSON *r = cJSON_AddObjectToObject(o, "response_rate");
            cJSON_AddNumberToObject(r, "value", md->resp[p].value);
            cJSON_AddNumberToObject(r, "lo", md->resp[p].lo);
            cJSON_AddNumberToObject(r, "hi", md->resp[p].hi);
        } else {
            cJSON_AddNullToObject(o, "response_rate");
        }
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
            for (size_t i = 0; i < md->in->n_comments[p]; i++)
                cJSON_AddItemToArray(
                    cs, cJSON_CreateString(md->in->comments[p][i]));
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

static void
csv_field(struct eq_buf *b, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        buf_addc(b, '"');
        for (; *s; s++) {
            if (*s == '"')
                buf_addc(b, '"');
            buf_addc(b, *s);
        }
        buf_addc(b, '"');
    } else {
        buf_add(b, s);
    }
    buf_add(b, last ? "\r\n" : ",");
}

static void
csv_row(struct eq_buf *b, const char *period, const char *prov,
        const char *cust, const char *metric, const char *stat,
        const struct dg_stat *ds)
{
    char n[32] = "", val[32] = "", lo[32] = "", hi[32] = "";

    if (ds->shown) {
        snprintf(n, sizeof n, "%lld", (long long)ds->e.n);
        snprintf(val, sizeof val, "%.2f", ds->e.value);
        snprintf(lo, sizeof lo, "%.2f", ds->e.lo);
        snprintf(hi, sizeof hi, "%.2f", ds->e.hi);
    }
    csv_field(b, period, 0);
    csv_field(b, prov, 0);
    csv_field(b, cust, 0);
    csv_field(b, metric, 0);
    csv_field(b, stat, 0);
    csv_field(b, n, 0);
    csv_field(b, val, 0);
    csv_field(b, lo, 0);
    csv_field(b, hi, 1);
}

static const char *
stat_id(const struct campaign_metric *m, int second_stat)
{
    if (m->type == METRIC_NPS)
        return "nps";
    return (m->type == METRIC_CES) != (second_stat != 0) ? "mean" : "share";
}

/* One line per shown-or-suppressed number; suppressed numbers are empty. */
static enum eq_err
render_csv(struct view *v, char **out)
{
    const struct dg_model *md = v->md;
    const char *period = md->in->period;
    size_t nc = md->cur.nc;
    struct eq_buf b = {0};

    buf_add(&b, "period,provider,customer,metric,statistic,n,value,lo,hi\r\n");
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        const char *id = dm->m->id;
        if (v->prov < 0) {
            csv_row(&b, period, "*", "", id, stat_id(dm->m, 0), &dm->bench);
            if (dm->bench2.shown)
                csv_row(&b, period, "*", "", id, stat_id(dm->m, 1), &dm->bench2);
        }
        for (size_t p = 0; p < md->np; p++) {
            const char *code = md->in->providers[p].code;
            if (v->prov >= 0 && (size_t)v->prov != p)
                continue;
            csv_row(&b, period, code, "", id, stat_id(dm->m, 0), &dm->tot[p]);
            if (dm->tot2[p].shown)
                csv_row(&b, period, code, "", id, stat_id(dm->m, 1),
                        &dm->tot2[p]);
            for (size_t k = 0; k < nc; k++) {
                int64_t n = stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
                if (n == 0)
                    continue;
                csv_row(&b, period, code,
                        dept_name(md->in, md->cur.cust[k], "nl"), id,
                        stat_id(dm->m, 0), &dm->cell[p * nc + k]);
            }
        }
    }
    if (b.s == NULL)
        return EQ_ERR_NOMEM;
    *out = buf_take(&b);
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
        err = model_chart(md, lang, &png, &len);
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
    char ***comments;
    size_t *n_comments;
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
    for (size_t p = 0; l->comments && p < l->np; p++)
        store_strings_free(l->comments[p], l->n_comments[p]);
    free(l->comments);
    free(l->n_comments);
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

static enum eq_err
load_period(struct store *st, const struct campaign *c,
            const struct store_period *per, const struct store_period *prev,
            int with_comments, struct loaded *l, struct eq_buf *diag)
{
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
    if (!l->rows || !l->n_rows || !l->prev_rows || !l->n_prev_rows ||
        !l->comments || !l->n_comments)
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
    for (size_t p = 0; with_comments && p < l->np && err == EQ_OK; p++)
        err = store_comments(st, per->id, l->prov[p].id, &l->comments[p],
                             &l->n_comments[p]);
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
              const char *department, const char *format, char **out,
              struct eq_buf *diag)
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
    err = load_period(st, c, &per[at], at > 0 ? &per[at - 1] : NULL, 1, &l,
                      diag);
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
    const unsigned char *png;
    size_t png_len;
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
    size_t len = 0;
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
    err = render_tpl(&v, s->cfg->general.templates, 0, NULL, &text, s->diag);
    if (err == EQ_OK)
        err = render_tpl(&v, s->cfg->general.templates, 1,
                         s->png ? src : NULL, &html, s->diag);
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
            .data = s->png,
            .len = s->png_len,
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
            .parts = s->png ? &part : NULL,
            .n_parts = s->png ? 1 : 0,
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
        unsigned char *png = NULL;
        size_t len = 0;
        int ready = 0;

        if (per[i].digest_at != 0)
            continue;
        err = period_due(st, cfg, &per[i], now, &ready, diag);
        if (err != EQ_OK)
            goto out;
        if (!ready)
            continue;
        err = load_period(st, c, &per[i], i > 0 ? &per[i - 1] : NULL, 1, &l,
                          diag);
        if (err == EQ_OK)
            err = model_build(&l.in, &md, diag);
        if (err == EQ_OK)
            err = model_chart(md, default_lang(cfg), &png, &len);
        if (err == EQ_OK) {
            s.per = &per[i];
            s.md = md;
            s.png = png;
            s.png_len = len;
            s.failed = 0;
            err = send_period(&s);
            if (!s.failed)
                sum->periods++;
            if (!s.failed && !dry_run)
                err = store_period_set_digest(st, per[i].id, now);
        }
        free(png);
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
