/*
 * digest_int: what the files of the digest module share. digest_model.c
 * builds the model (estimates, privacy, changes, benchmarks), digest_table.c
 * formats numbers and tables, digest_render.c fills the templates and draws
 * the chart, digest_export.c writes JSON and CSV, digest_actions.c the
 * feedback loop's sections, digest.c loads from the store and sends. Only
 * digest*.c include this header; nothing here touches the store.
 */
#ifndef DIGEST_INT_H
#define DIGEST_INT_H

#include <stdio.h>

#include "digest.h"
#include "privacy.h"
#include "stats.h"

struct tpl_ctx;

#define BH_Q 0.10
#define DASH "\xE2\x80\x93"     /* – */
#define ELLIPSIS "\xE2\x80\xA6" /* … */
#define EMDASH "\xE2\x80\x94"   /* — */

/* ---------------------------------------------------------------------
 * Words the tables need; the prose lives in the templates.
 */
struct words {
    const char *metric, *value, *interval, *n, *previous, *change, *benchmark,
        *rank, *customer, *department, *response, *total, *organisation, *of,
        *answered, *unknown, *mean, *agree, *satisfied, *period, *median, *na,
        *providers;
};

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
    int64_t *cust;           /* rater department ids, display order */
    struct stats_dist *cell; /* nm × np × nc */
    struct stats_dist *tot;  /* nm × np */
    struct privacy_grid *grid;
};

struct dg_metric {
    const struct campaign_metric *m;
    struct dg_stat *cell; /* np × nc, headline statistic */
    struct dg_stat *tot;  /* np, headline */
    struct dg_stat *tot2; /* np, second statistic (ces: % agree, csat:
                             mean); not for nps */
    struct dg_stat *prev; /* np */
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

/* ---------------------------------------------------------------------
 * The views: what a manager or HR sees.
 */
struct view {
    const struct dg_model *md;
    long prov; /* -1 = organisation */
    const char *lang;
    int *sig;       /* nm × (np + 1) */
    int suppressed; /* a "–" for privacy appears */
};

enum band { BAND_HIGH, BAND_MID, BAND_LOW, BAND_NONE, BAND__COUNT };

/* A table, rendered as aligned text or as HTML. */
struct tbl {
    size_t cols, rows, cap;
    char **cell;
    size_t left; /* leading text columns (at least the first one) */
};

/* digest_model.c: the model and the views on it */
const struct words *dg_words_for(const char *lang);
int dg_is_en(const char *lang);
void dg_model_free(struct dg_model *md);
const char *dg_dept_name(const struct digest_input *in, int64_t id,
                         const char *lang);
long dg_prov_index(const struct dg_model *md, int64_t id);
enum eq_err dg_model_build(const struct digest_input *in, struct dg_model **out,
                           struct eq_buf *diag);
enum eq_err dg_view_init(struct view *v, const struct dg_model *md, long prov,
                         const char *lang);

/* digest_table.c: numbers, words and tables */
enum band dg_band_of(const struct campaign_metric *m, int score);
const char *dg_band_id(const struct campaign_metric *m, enum band b);
const char *dg_band_label(const struct campaign_metric *m, enum band b,
                          const char *lang);
/* Provider p's comments: borrowed from in->comments, or read by
 * in->load_comments; none (n = 0) when neither. Every get is followed by
 * one put, which lets loaded ones go. */
enum eq_err dg_comments_get(const struct digest_input *in, size_t p,
                            struct digest_comments *c);
void dg_comments_put(const struct digest_input *in, struct digest_comments *c);
int dg_comment_score(const struct digest_comments *c, size_t i);
void dg_fmt_num(double v, int decimals, const char *lang, char *out,
                size_t cap);
void dg_fmt_value(const struct campaign_metric *m, int second_stat,
                  const char *lang, double v, char *out, size_t cap);
void dg_fmt_interval(const struct campaign_metric *m, int second_stat,
                     const char *lang, const struct stats_estimate *e,
                     char *out, size_t cap);
void dg_fmt_delta(const struct campaign_metric *m, const char *lang, double d,
                  char *out, size_t cap);
const char *dg_metric_label(const struct campaign_metric *m, const char *lang);
void dg_metric_caption(const struct campaign_metric *m, int second_stat,
                       const char *lang, char *out, size_t cap);
enum eq_err dg_tbl_row(struct tbl *t, const char *const *cells);
void dg_tbl_free(struct tbl *t);
enum eq_err dg_tbl_render(const struct tbl *t, int html, char **out);
enum eq_err dg_tbl_finish(struct tbl *t, enum eq_err err, int html, char **out);
void *dg_tbl_scratch(size_t cols, size_t width, const char ***row);
enum eq_err dg_scores_table(struct view *v, int html, char **out);
enum eq_err dg_breakdown_table(struct view *v, int html, char **out);
enum eq_err dg_providers_table(struct view *v, int html, char **out);
void dg_view_subject(const struct view *v, char *out, size_t cap);
enum eq_err dg_trend_table(struct view *v, int html, char **out);
void dg_heat_bands(const struct campaign_metric *m, const char *lang, char *out,
                   size_t cap);
enum eq_err dg_heat_table(struct view *v, int html, char **out);

/* digest_render.c: templates and chart */
enum eq_err dg_fill_ctx(struct view *v, int html, const char *chart_src,
                        struct tpl_ctx *ctx);
enum eq_err dg_view_chart(const struct view *v, unsigned char **png,
                          size_t *len);
enum eq_err dg_render_tpl(struct view *v, const char *templates_dir, int html,
                          const char *chart_src, char **out,
                          struct eq_buf *diag);
enum eq_err dg_render_model(const struct dg_model *md,
                            const char *templates_dir, const char *lang,
                            const char *department, const char *format,
                            FILE *f, struct eq_buf *diag);
/* A string written through a FILE: dg_mem_open (NULL when out of memory),
 * write to m->f, then dg_mem_take hands the string to *out when err is
 * EQ_OK (else frees it) and returns err. */
struct dg_mem {
    char *s;
    size_t len;
    FILE *f;
};
FILE *dg_mem_open(struct dg_mem *m);
enum eq_err dg_mem_take(struct dg_mem *m, enum eq_err err, char **out);

/* digest_actions.c: the feedback loop's sections (every name the templates
 * use for it is set, also when there is nothing to show) */
enum eq_err dg_add_actions(const struct view *v, int html, struct tpl_ctx *ctx);

/* digest_export.c: JSON and CSV */
/* JSON is written to f one provider at a time (comments included). */
enum eq_err dg_render_json(struct view *v, FILE *f);
enum eq_err dg_render_csv(struct view *v, char **out);

#endif
