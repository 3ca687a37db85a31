/*
 * store_report: the read-only queries behind digests and `report` that go
 * beyond one period's score counts: trends over several periods, the
 * not-applicable counts, comments with the rater's score and the counts HR
 * must act on. Everything is aggregated in SQL (GROUP BY), never row by row;
 * it decides nothing about privacy or statistics.
 */
#ifndef STORE_REPORT_H
#define STORE_REPORT_H

#include "store.h"

struct store_trend_row {
    int64_t period_id;
    int64_t provider_id;
    int score;
    int64_t n;
};

/* Current scored answers of metric in the periods of campaign_id whose
 * first day lies in [from, to], counted per period, provider and score;
 * provider_id 0 = every provider. Ordered by period, provider, score. */
enum eq_err store_report_trend(struct store *st, int64_t campaign_id,
                               int64_t provider_id, const char *metric,
                               eq_day from, eq_day to,
                               struct store_trend_row **out, size_t *n);

/* Per provider (a) of a period: invitations whose current answer to some
 * metric is "not applicable" (n). */
enum eq_err store_report_na(struct store *st, int64_t period_id,
                            struct store_pair **out, size_t *n);

/* A comment and the rater's current score on metric (-1: none). */
struct store_comment_score {
    char *text;
    int score;
};
/* Comments of one provider in a period, oldest first. */
enum eq_err store_report_comments(struct store *st, int64_t period_id,
                                  int64_t provider_id, const char *metric,
                                  struct store_comment_score **out, size_t *n);
void store_comment_scores_free(struct store_comment_score *c, size_t n);

/* What HR must act on for a period: invitations that bounced, opted out or
 * failed permanently, and the Review items open now (all periods). */
struct store_report_ops {
    int64_t bounced, opted_out, failed, review_open;
};
enum eq_err store_report_ops_counts(struct store *st, int64_t period_id,
                                    struct store_report_ops *out);

/* When a period's digest may go out: how many of its invitations are still
 * open at now (planned, sending, sent, reminded or deferred, closing after
 * now) and the latest closes_at of the ones not cancelled (0: none). */
enum eq_err store_report_period_close(struct store *st, int64_t period_id,
                                      eq_time now, int64_t *open,
                                      eq_time *last_close);

#endif
