/*
 * digest: the period digests (managers: their department; HR: the whole
 * organisation) and `report`. One model builder turns score counts into
 * estimates, changes and privacy decisions, and every output (mail text and
 * HTML, report text/HTML/JSON/CSV) is rendered from that one model, so the
 * numbers and the suppression are identical everywhere. It owns no SQL.
 */
#ifndef DIGEST_H
#define DIGEST_H

#include <stdio.h>

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "store.h"
#include "store_report.h"
#include "transport.h"

struct digest_summary {
    size_t periods; /* periods whose digests were sent (or rendered) now */
    size_t sent;    /* messages handed to the transport (or rendered) */
    size_t skipped; /* recipients skipped: already sent for that period */
};

/* Sends the digests of every finished period of c that has none yet (see
 * DESIGN.md "Periods"): due at the first [digest] weekday/hour, in the
 * configured zone, at or after the later of the period's end and its last
 * closes_at, and only when no invitation of the period is still open.
 * Managers get their department's view (recipient key "CODE:EMAIL" in the
 * digest log, so a manager of two departments gets both), HR addresses the
 * organisation's. With dry_run nothing is sent or written: the messages'
 * recipients, subjects and text are appended to out. */
enum eq_err digest_run(struct store *st, const struct eq_config *cfg,
                       const struct campaign *c, struct transport *t,
                       eq_time now, int dry_run, struct digest_summary *sum,
                       struct eq_buf *out, struct eq_buf *diag);

/* When the digest of a period falls due: the first weekday/hour (1 = Monday,
 * local time in tz) at or after max(start of the day after last,
 * last_close). */
eq_time digest_due(eq_day last, eq_time last_close, int weekday, int hour,
                   const char *tz);

/* How many periods a trend shows by default (the period and the ones
 * before it), and at most. */
#define DIGEST_TREND_PERIODS 6
#define DIGEST_TREND_MAX 120

/* Results on demand. period_label NULL = the latest period with answers;
 * department a provider code, or NULL for the organisation view; format
 * "text", "html", "json" or "csv"; n_trend periods in the trend (0 = the
 * default). Language and CSV separator follow [general] language. */
enum eq_err digest_report(struct store *st, const struct eq_config *cfg,
                          const struct campaign *c, const char *period_label,
                          const char *department, const char *format,
                          size_t n_trend, char **out, struct eq_buf *diag);

/* The same, written to f as it is made: the period's comments are read
 * from the store one provider at a time, so the memory a report needs does
 * not grow with the answers it lists. Nothing is written when the report
 * cannot be made (unknown period or department); EQ_ERR_IO when f fails. */
enum eq_err digest_report_to(struct store *st, const struct eq_config *cfg,
                             const struct campaign *c,
                             const char *period_label, const char *department,
                             const char *format, size_t n_trend, FILE *f,
                             struct eq_buf *diag);

/* An action of a provider department (issue #8), shown in its manager's
 * digest: open ones with their age and how the targeted metric moved since
 * the period they answered, and the ones done in the digest's period. */
struct digest_action {
    int64_t department_id;
    int number;
    const char *text;
    const char *metric; /* metric id, or NULL: the headline metric */
    eq_day due;         /* 0 = none */
    const char *period; /* label of the period whose digest it answered */
    eq_time created_at; /* 0 = unknown */
    int done;           /* done (at done_at); else open */
    eq_time done_at;
};

/* Per department, how many actions of the campaign are open and done (the
 * HR digest's overview). */
struct digest_action_count {
    int64_t department_id;
    int64_t open, done;
};

/* One provider's comments with the rater's score on the first metric (-1:
 * none; score NULL = none known). */
struct digest_comments {
    char *const *text;
    const int *score;
    size_t n;
    void *owner; /* the loader's, for free_comments */
};

/* The model builder's input, without a database: everything a report
 * needs for one period (and the one before it, for changes). */
struct digest_input {
    const struct campaign *c;
    const char *period;                       /* "2026Q1" */
    const char *prev_period;                  /* NULL when there is none */
    const struct store_department *providers; /* in display order */
    size_t n_providers;
    const struct store_department *departments; /* names of rater depts */
    size_t n_departments;
    /* Per campaign metric (c->n_metrics arrays): score counts. */
    const struct store_score_row *const *rows;
    const size_t *n_rows;
    const struct store_score_row *const *prev_rows; /* NULL: no previous */
    const size_t *n_prev_rows;
    /* store_period_provider_counts: a = provider, b = answered, n =
     * invited. */
    const struct store_pair *response;
    size_t n_response;
    /* Per provider (n_providers arrays) its comments, or NULL. */
    char *const *const *comments;
    const size_t *n_comments;
    /* Optional from here on (NULL / 0 = not known). */
    /* Per provider, parallel to comments: the rater's score on the first
     * metric, -1 for none (groups the comments). */
    const int *const *comment_scores;
    /* Instead of comments (when that is NULL): provider p's comments read
     * when an output shows them, and let go right after. */
    enum eq_err (*load_comments)(void *ctx, size_t p,
                                 struct digest_comments *out);
    void (*free_comments)(void *ctx, struct digest_comments *c);
    void *comments_ctx;
    /* store_report_na: a = provider, n = invitations answered n.v.t. */
    const struct store_pair *na;
    size_t n_na;
    eq_day period_last; /* last day of the period */
    /* Trend of the first metric: n_trend periods oldest first, the last one
     * being `period`; trend_rows counts every provider's scores per period
     * (store_report_trend). */
    const char *const *trend_labels;
    const int64_t *trend_ids;
    size_t n_trend;
    const struct store_trend_row *trend_rows;
    size_t n_trend_rows;
    /* The organisation view's work for HR. */
    const struct store_report_ops *ops;
    /* The providers' open actions and those done in the period (issue #8);
     * NULL / 0 when there are none. */
    const struct digest_action *actions;
    size_t n_actions;
    /* HR's overview of actions per department; NULL = not known (then the
     * HR digest has no actions section). */
    const struct digest_action_count *action_counts;
    size_t n_action_counts;
    /* The moment the digest speaks of, for the age of actions and what is
     * overdue; 0 = the start of the day after period_last. */
    eq_time as_of;
};

/* Renders the model of in as a report (format as digest_report) in language
 * lang ("nl" | "en"); text and html use DIR/LANG/digest.{txt,html}. */
enum eq_err digest_render(const struct digest_input *in,
                          const char *templates_dir, const char *lang,
                          const char *department, const char *format,
                          char **out, struct eq_buf *diag);

/* `campaign check`: DIR/{nl,en}/digest.{txt,html} against a sample model of
 * c's metrics; every FILE:LINE error in diag; EQ_ERR_DATA when any. */
enum eq_err digest_check_templates(const char *templates_dir,
                                   const struct campaign *c,
                                   struct eq_buf *diag);

#endif
