/* digest_table: numbers in the reader's locale and the tables of the
 * digests and reports, as aligned text or HTML. */
#include "digest_int.h"
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------
 * Comments are grouped by the rater's own score on the first metric.
 */

enum band
dg_band_of(const struct campaign_metric *m, int score)
{
    if (m == NULL || score < m->min || score > m->max)
        return BAND_NONE;
    switch (m->type) {
    case METRIC_NPS:
        return score >= 9 ? BAND_HIGH : score >= 7 ? BAND_MID : BAND_LOW;
    case METRIC_CES: /* agreement 1–7: 5–7 agree, 4 neutral */
        return score >= 5 ? BAND_HIGH : score == 4 ? BAND_MID : BAND_LOW;
    case METRIC_CSAT: /* 4–5 satisfied on 1–5 */
        return score >= m->max - 1   ? BAND_HIGH
               : score == m->max - 2 ? BAND_MID
                                     : BAND_LOW;
    }
    return BAND_NONE;
}

const char *
dg_band_id(const struct campaign_metric *m, enum band b)
{
    static const char *const nps[] = {"promoter", "passive", "detractor",
                                      "no_score"};
    static const char *const other[] = {"positive", "neutral", "negative",
                                        "no_score"};

    return (m && m->type == METRIC_NPS ? nps : other)[b];
}

const char *
dg_band_label(const struct campaign_metric *m, enum band b, const char *lang)
{
    static const char *const nps_nl[] = {
        "Promotors (9" DASH "10)", "Passief (7" DASH "8)",
        "Criticasters (0" DASH "6)", "Zonder score"};
    static const char *const nps_en[] = {
        "Promoters (9" DASH "10)", "Passives (7" DASH "8)",
        "Detractors (0" DASH "6)", "Without a score"};
    static const char *const ces_nl[] = {
        "Makkelijk (5" DASH "7)", "Neutraal (4)", "Moeizaam (1" DASH "3)",
        "Zonder score"};
    static const char *const ces_en[] = {"Easy (5" DASH "7)", "Neutral (4)",
                                         "Difficult (1" DASH "3)",
                                         "Without a score"};
    static const char *const sat_nl[] = {"Tevreden", "Neutraal", "Ontevreden",
                                         "Zonder score"};
    static const char *const sat_en[] = {"Satisfied", "Neutral", "Dissatisfied",
                                         "Without a score"};
    int en = dg_is_en(lang);

    if (m && m->type == METRIC_NPS)
        return (en ? nps_en : nps_nl)[b];
    if (m && m->type == METRIC_CES)
        return (en ? ces_en : ces_nl)[b];
    return (en ? sat_en : sat_nl)[b];
}

enum eq_err
dg_comments_get(const struct digest_input *in, size_t p,
                struct digest_comments *c)
{
    memset(c, 0, sizeof *c);
    if (in->comments != NULL) {
        if (in->comments[p] == NULL)
            return EQ_OK;
        c->text = in->comments[p];
        c->n = in->n_comments ? in->n_comments[p] : 0;
        c->score = in->comment_scores ? in->comment_scores[p] : NULL;
        return EQ_OK;
    }
    if (in->load_comments == NULL)
        return EQ_OK;
    return in->load_comments(in->comments_ctx, p, c);
}

void
dg_comments_put(const struct digest_input *in, struct digest_comments *c)
{
    if (in->comments == NULL && in->free_comments != NULL && c->owner != NULL)
        in->free_comments(in->comments_ctx, c);
    memset(c, 0, sizeof *c);
}

int
dg_comment_score(const struct digest_comments *c, size_t i)
{
    return c->score ? c->score[i] : -1;
}

/* ---------------------------------------------------------------------
 * Number formatting: people read these, in their language.
 */

/* v with decimals places; nl uses a decimal comma. */
void
dg_fmt_num(double v, int decimals, const char *lang, char *out, size_t cap)
{
    snprintf(out, cap, "%.*f", decimals, v);
    if (strcmp(out, "-0") == 0 || strcmp(out, "-0.0") == 0 ||
        strcmp(out, "-0.00") == 0)
        memmove(out, out + 1, strlen(out));
    if (!dg_is_en(lang))
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}
void
dg_fmt_value(const struct campaign_metric *m, int second_stat, const char *lang,
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
    if (!dg_is_en(lang) && mean)
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}

void
dg_fmt_interval(const struct campaign_metric *m, int second_stat,
                const char *lang, const struct stats_estimate *e, char *out,
                size_t cap)
{
    char lo[32], hi[32];

    dg_fmt_value(m, second_stat, lang, e->lo, lo, sizeof lo);
    dg_fmt_value(m, second_stat, lang, e->hi, hi, sizeof hi);
    snprintf(out, cap, "%s " ELLIPSIS " %s", lo, hi);
}

void
dg_fmt_delta(const struct campaign_metric *m, const char *lang, double d,
             char *out, size_t cap)
{
    int pct = m->type == METRIC_CSAT;

    if (m->type == METRIC_CES)
        snprintf(out, cap, "%+.1f", d);
    else
        snprintf(out, cap, "%+.0f%s", d, pct ? " pp" : "");
    if (!dg_is_en(lang))
        for (char *p = out; *p; p++)
            if (*p == '.')
                *p = ',';
}

const char *
dg_metric_label(const struct campaign_metric *m, const char *lang)
{
    const char *l;

    if (m->type == METRIC_NPS && strcmp(m->id, "nps") == 0)
        return "NPS";
    l = dg_is_en(lang) ? m->label_en : m->label_nl;
    return l && *l ? l : m->id;
}

/* The statistic a metric's headline is, for table captions. */
static const char *
stat_name(const struct campaign_metric *m, int second_stat, const char *lang)
{
    const struct words *w = dg_words_for(lang);

    if (m->type == METRIC_NPS)
        return "NPS";
    if ((m->type == METRIC_CES) != (second_stat != 0))
        return w->mean;
    return m->type == METRIC_CES ? w->agree : w->satisfied;
}

/* "Tevredenheid (% tevreden)", but plain "NPS". */
void
dg_metric_caption(const struct campaign_metric *m, int second_stat,
                  const char *lang, char *out, size_t cap)
{
    const char *l = dg_metric_label(m, lang),
               *st = stat_name(m, second_stat, lang);

    if (strcmp(l, st) == 0)
        snprintf(out, cap, "%s", l);
    else
        snprintf(out, cap, "%s (%s)", l, st);
}

/* ---------------------------------------------------------------------
 * Tables, rendered as aligned text or as HTML.
 */

enum eq_err
dg_tbl_row(struct tbl *t, const char *const *cells)
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

void
dg_tbl_free(struct tbl *t)
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

static enum eq_err
tbl_html(const struct tbl *t, struct eq_buf *b)
{
    buf_add(b, "<table style=\"border-collapse:collapse;font-size:14px\">\n");
    for (size_t r = 0; r < t->rows; r++) {
        buf_add(b, "<tr>");
        for (size_t c = 0; c < t->cols; c++) {
            const char *tag = r == 0 ? "th" : "td";
            buf_printf(b,
                       "<%s style=\"padding:3px 8px;border-bottom:1px "
                       "solid #ddd;text-align:%s\">",
                       tag, c == 0 || c < t->left ? "left" : "right");
            template_html_escape(b, t->cell[r * t->cols + c]);
            buf_printf(b, "</%s>", tag);
        }
        buf_add(b, "</tr>\n");
    }
    return buf_add(b, "</table>\n");
}

enum eq_err
dg_tbl_render(const struct tbl *t, int html, char **out)
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
enum eq_err
dg_tbl_finish(struct tbl *t, enum eq_err err, int html, char **out)
{
    if (err == EQ_OK)
        err = dg_tbl_render(t, html, out);
    dg_tbl_free(t);
    return err;
}

/* Scratch for building rows of cols cells: *row gets the cell pointers, the
 * result cols text slots of width bytes each. NULL, with *row NULL too, when
 * out of memory. */
void *
dg_tbl_scratch(size_t cols, size_t width, const char ***row)
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

enum eq_err
dg_scores_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = dg_words_for(v->lang);
    size_t p = (size_t)v->prov, cols = md->np + 1;
    struct tbl t = {.cols = 8};
    const char *head[8] = {w->metric,   w->value,  w->interval,  w->n,
                           w->previous, w->change, w->benchmark, w->rank};
    enum eq_err err = dg_tbl_row(&t, head);

    for (size_t m = 0; m < md->nm && err == EQ_OK; m++) {
        const struct dg_metric *dm = &md->met[m];
        char label[128], val[32], iv[96], n[32], prev[32], chg[40], bench[32],
            rank[32];
        const char *row[8] = {label, val, iv, n, prev, chg, bench, rank};

        dg_metric_caption(dm->m, 0, v->lang, label, sizeof label);
        if (dm->tot[p].shown) {
            dg_fmt_value(dm->m, 0, v->lang, dm->tot[p].e.value, val,
                         sizeof val);
            dg_fmt_interval(dm->m, 0, v->lang, &dm->tot[p].e, iv, sizeof iv);
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
            dg_fmt_value(dm->m, 0, v->lang, dm->prev[p].e.value, prev,
                         sizeof prev);
        else
            snprintf(prev, sizeof prev, DASH);
        if (dm->has_chg[p]) {
            dg_fmt_delta(dm->m, v->lang, dm->chg[p].delta, chg, sizeof chg);
            if (v->sig[m * cols + p])
                strncat(chg, " *", sizeof chg - strlen(chg) - 1);
        } else {
            snprintf(chg, sizeof chg, DASH);
        }
        if (dm->bench.shown)
            dg_fmt_value(dm->m, 0, v->lang, dm->bench.e.value, bench,
                         sizeof bench);
        else
            snprintf(bench, sizeof bench, DASH);
        err = dg_tbl_row(&t, row);
        if (err == EQ_OK && dm->tot2[p].shown) {
            dg_metric_caption(dm->m, 1, v->lang, label, sizeof label);
            dg_fmt_value(dm->m, 1, v->lang, dm->tot2[p].e.value, val,
                         sizeof val);
            dg_fmt_interval(dm->m, 1, v->lang, &dm->tot2[p].e, iv, sizeof iv);
            snprintf(prev, sizeof prev, "%s", "");
            snprintf(chg, sizeof chg, "%s", "");
            snprintf(rank, sizeof rank, "%s", "");
            if (dm->bench2.shown)
                dg_fmt_value(dm->m, 1, v->lang, dm->bench2.e.value, bench,
                             sizeof bench);
            err = dg_tbl_row(&t, row);
        }
    }
    return dg_tbl_finish(&t, err, html, out);
}

/* Per customer department of the provider: the headline of every metric. */
enum eq_err
dg_breakdown_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = dg_words_for(v->lang);
    size_t p = (size_t)v->prov, nc = md->cur.nc, cols = 2 + md->nm;
    struct tbl t = {.cols = cols};
    const char **row;
    char(*txt)[160] = dg_tbl_scratch(cols, sizeof *txt, &row);
    enum eq_err err = EQ_OK;

    if (txt == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    row[0] = w->customer;
    row[1] = w->n;
    for (size_t m = 0; m < md->nm; m++) {
        snprintf(txt[m + 2], sizeof txt[0], "%s",
                 dg_metric_label(md->met[m].m, v->lang));
        row[m + 2] = txt[m + 2];
    }
    err = dg_tbl_row(&t, row);
    for (size_t k = 0; k < nc && err == EQ_OK; k++) {
        int shown = privacy_cell_visible(md->cur.grid, p, k);
        int64_t n = 0;
        for (size_t m = 0; m < md->nm; m++) {
            int64_t x = stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
            n = x > n ? x : n;
        }
        if (n == 0)
            continue;
        row[0] = dg_dept_name(md->in, md->cur.cust[k], v->lang);
        if (shown)
            snprintf(txt[1], sizeof txt[0], "%lld", (long long)n);
        else
            snprintf(txt[1], sizeof txt[0], "<%d", md->min);
        row[1] = txt[1];
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_stat *ds = &md->met[m].cell[p * nc + k];
            char val[32], iv[96];
            if (shown && ds->e.n > 0) {
                dg_fmt_value(md->met[m].m, 0, v->lang, ds->e.value, val,
                             sizeof val);
                dg_fmt_interval(md->met[m].m, 0, v->lang, &ds->e, iv,
                                sizeof iv);
                snprintf(txt[m + 2], sizeof txt[0], "%s (%s)", val, iv);
            } else {
                snprintf(txt[m + 2], sizeof txt[0], DASH);
            }
            row[m + 2] = txt[m + 2];
        }
        if (!shown)
            v->suppressed = 1;
        err = dg_tbl_row(&t, row);
    }
out:
    free(row);
    free(txt);
    return dg_tbl_finish(&t, err, html, out);
}

/* "41/120 = 34% (26…43%)", in the view's language. */
static void
fmt_rate(const char *lang, int64_t k, int64_t n, const struct stats_estimate *r,
         char *out, size_t cap)
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
enum eq_err
dg_providers_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = dg_words_for(v->lang);
    size_t cols = 5 + md->nm, sc = md->np + 1;
    struct tbl t = {.cols = cols, .left = 2};
    const char **row;
    char(*txt)[200] = dg_tbl_scratch(cols, sizeof *txt, &row);
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
        dg_metric_caption(md->met[m].m, 0, v->lang, txt[m + 2], sizeof txt[0]);
        row[m + 2] = txt[m + 2];
    }
    row[md->nm + 2] = w->n;
    row[md->nm + 3] = w->response;
    row[md->nm + 4] = w->na;
    err = dg_tbl_row(&t, row);
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
                dg_fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
                snprintf(txt[m + 2], sizeof txt[0], "%s", val);
            } else if (ds->shown) {
                dg_fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
                dg_fmt_interval(dm->m, 0, v->lang, &ds->e, iv, sizeof iv);
                if (dm->has_chg[p] && v->sig[m * sc + p]) {
                    char d[32];
                    dg_fmt_delta(dm->m, v->lang, dm->chg[p].delta, d, sizeof d);
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
        err = dg_tbl_row(&t, row);
    }
out:
    free(order);
    free(row);
    free(txt);
    return dg_tbl_finish(&t, err, html, out);
}

/* "Benchmark ICT — 2026Q1 — NPS +23" */
void
dg_view_subject(const struct view *v, char *out, size_t cap)
{
    const struct dg_model *md = v->md;
    const char *who = v->prov < 0 ? dg_words_for(v->lang)->organisation
                                  : md->in->providers[v->prov].name;
    const struct dg_stat *ds = NULL;
    char val[32];

    if (md->nm > 0)
        ds = v->prov < 0 ? &md->met[0].bench : &md->met[0].tot[v->prov];
    if (ds && ds->shown) {
        dg_fmt_value(md->met[0].m, 0, v->lang, ds->e.value, val, sizeof val);
        snprintf(out, cap, "Benchmark %s " EMDASH " %s " EMDASH " %s %s", who,
                 md->in->period, dg_metric_label(md->met[0].m, v->lang), val);
    } else {
        snprintf(out, cap, "Benchmark %s " EMDASH " %s", who, md->in->period);
    }
}

/* The first metric period by period for the manager's department, with the
 * organisation's median beside it. */
enum eq_err
dg_trend_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = dg_words_for(v->lang);
    const struct dg_metric *dm = &md->met[0];
    size_t p = (size_t)v->prov;
    struct tbl t = {.cols = 5};
    char cap[128];
    const char *head[5] = {w->period, cap, w->interval, w->n, w->median};
    enum eq_err err;

    dg_metric_caption(dm->m, 0, v->lang, cap, sizeof cap);
    err = dg_tbl_row(&t, head);
    for (size_t i = 0; i < md->nt && err == EQ_OK; i++) {
        const struct dg_stat *ds = &md->trend[i * md->np + p];
        const struct dg_stat *med = &md->trend_med[i];
        char val[32], iv[96] = "", n[32], mv[32];
        const char *row[5] = {md->in->trend_labels[i], val, iv, n, mv};
        if (ds->shown) {
            dg_fmt_value(dm->m, 0, v->lang, ds->e.value, val, sizeof val);
            dg_fmt_interval(dm->m, 0, v->lang, &ds->e, iv, sizeof iv);
            snprintf(n, sizeof n, "%lld", (long long)ds->e.n);
        } else {
            snprintf(val, sizeof val, DASH);
            snprintf(n, sizeof n, "<%d", md->min);
            v->suppressed = 1;
        }
        if (med->shown)
            dg_fmt_value(dm->m, 0, v->lang, med->e.value, mv, sizeof mv);
        else
            snprintf(mv, sizeof mv, DASH);
        err = dg_tbl_row(&t, row);
    }
    return dg_tbl_finish(&t, err, html, out);
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
void
dg_heat_bands(const struct campaign_metric *m, const char *lang, char *out,
              size_t cap)
{
    int en = dg_is_en(lang);

    if (m->type == METRIC_NPS)
        snprintf(out, cap,
                 en ? "green +30 and up, yellow 0 to +29, red below 0"
                    : "groen +30 en hoger, geel 0 tot +29, rood "
                      "onder 0");
    else if (m->type == METRIC_CES)
        snprintf(out, cap,
                 en ? "green 5.5 and up, yellow 4.5 to 5.4, red "
                      "below 4.5"
                    : "groen 5,5 en hoger, geel 4,5 tot 5,4, rood "
                      "onder 4,5");
    else
        snprintf(out, cap,
                 en ? "green 80%% and up, yellow 60 to 79%%, red "
                      "below 60%%"
                    : "groen 80%% en hoger, geel 60 tot 79%%, rood "
                      "onder 60%%");
}

#define SUP1 "\xC2\xB9" /* ¹ */
#define SUP2 "\xC2\xB2" /* ² */

/* HR: provider (rows) × customer department (columns) on the first metric.
 * A hidden cell says why: ¹ too few answers, ² derivable from the others. */
enum eq_err
dg_heat_table(struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = dg_words_for(v->lang);
    const struct dg_metric *dm = &md->met[0];
    size_t nc = md->cur.nc;
    struct eq_buf b = {0};
    struct tbl t = {.cols = nc + 1};
    const char **row = NULL;
    char(*txt)[64] = dg_tbl_scratch(nc + 1, sizeof *txt, &row);
    enum eq_err err = EQ_OK;

    *out = NULL;
    if (txt == NULL)
        return EQ_ERR_NOMEM;
    if (html)
        buf_add(&b, "<table style=\"border-collapse:collapse;font-size:13px\">"
                    "\n<tr><th style=\"padding:3px 6px;text-align:left\">");
    row[0] = "";
    for (size_t k = 0; k < nc; k++) {
        const char *name = dg_dept_name(md->in, md->cur.cust[k], v->lang);
        row[k + 1] = name;
        if (html) {
            buf_add(&b, "<th style=\"padding:3px 6px;font-weight:normal;"
                        "color:#555;vertical-align:bottom\">");
            template_html_escape(&b, name);
            buf_add(&b, "</th>");
        }
    }
    if (html)
        buf_add(&b, "</tr>\n");
    else
        err = dg_tbl_row(&t, row);
    for (size_t p = 0; p < md->np && err == EQ_OK; p++) {
        row[0] = md->in->providers[p].name;
        if (html) {
            buf_add(&b, "<tr><th style=\"padding:3px 6px;text-align:left;"
                        "white-space:nowrap\">");
            template_html_escape(&b, row[0]);
            buf_add(&b, "</th>");
        }
        for (size_t k = 0; k < nc; k++) {
            const struct dg_stat *ds = &dm->cell[p * nc + k];
            int64_t n = stats_dist_n(&md->cur.cell[p * nc + k]);
            const char *bg = "#ffffff";
            if (ds->shown) {
                dg_fmt_value(dm->m, 0, v->lang, ds->e.value, txt[k + 1],
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
                buf_printf(&b,
                           "<td style=\"padding:3px 6px;text-align:center;"
                           "background:%s;border:1px solid #fff\">",
                           bg);
                template_html_escape(&b, txt[k + 1]);
                buf_add(&b, "</td>");
            }
        }
        if (html)
            buf_add(&b, "</tr>\n");
        else
            err = dg_tbl_row(&t, row);
    }
    (void)w;
    free(row);
    free(txt);
    if (html) {
        dg_tbl_free(&t);
        if (err == EQ_OK)
            err = buf_add(&b, "</table>\n");
        if (err == EQ_OK && (*out = buf_take(&b)) == NULL)
            err = EQ_ERR_NOMEM;
        buf_free(&b);
        return err;
    }
    return dg_tbl_finish(&t, err, 0, out);
}
