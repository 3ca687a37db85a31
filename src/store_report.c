#include "store_report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

enum {
    R_SCORES,
    R_SCORES_SORTED,
    R_TREND_ONE,
    R_TREND_ONE_SORTED,
    R_TREND_ALL,
    R_TREND_ALL_SORTED,
    R_NA,
    R_COMMENTS,
    R_OPS_STATES,
    R_OPS_REVIEW,
    R_PERIOD_CLOSE,
};

/* Every scale of DESIGN.md lies within 0..10. */
#define SCORE_TOP 10

/* The score counts are aggregated per group in one row (a count per score
 * 0..10, then the scores outside that range) over rows that an index
 * delivers in group order, so SQLite streams them instead of sorting every
 * answer first: its sorter grew the peak RSS with the number of answers.
 * C expands each row into the per-score records. */
#define SCORE_SUMS                                                             \
    " SUM(a.score = 0), SUM(a.score = 1), SUM(a.score = 2),"                   \
    " SUM(a.score = 3), SUM(a.score = 4), SUM(a.score = 5),"                   \
    " SUM(a.score = 6), SUM(a.score = 7), SUM(a.score = 8),"                   \
    " SUM(a.score = 9), SUM(a.score = 10),"                                    \
    " SUM(a.score NOT BETWEEN 0 AND 10)"

#define SCORES_FROM                                                            \
    " FROM invitation i JOIN answer a ON a.invitation_id = i.id"               \
    " WHERE i.period_id = ?1 AND a.metric = ?2 AND a.superseded = 0"           \
    " AND a.not_applicable = 0 AND a.score IS NOT NULL"

/* CROSS JOIN fixes the order period → invitation (by its period index) →
 * answer (by its invitation index): the work grows with the answers of the
 * trend's periods, not with the whole table. NOT INDEXED keeps the periods
 * in id order (the campaign's unique index would give label order), which
 * with the (period_id, provider_department_id, …) index is the GROUP BY
 * order. */
#define TREND_FROM                                                             \
    " FROM period p NOT INDEXED CROSS JOIN invitation i"                       \
    " CROSS JOIN answer a ON i.period_id = p.id AND a.invitation_id = i.id"    \
    " WHERE p.campaign_id = ?1 AND p.first_day BETWEEN ?2 AND ?3"              \
    " AND a.metric = ?4 AND a.superseded = 0 AND a.not_applicable = 0"         \
    " AND a.score IS NOT NULL"

/* The *_SORTED statements count per score in SQL; they are only asked when
 * a stored score lies outside 0..10, which no reader of replies stores. */
static const char *const sql[] = {
    /* NULL rater departments come first in the index, as 0 does here. */
    [R_SCORES] = "SELECT i.provider_department_id,"
                 " COALESCE(i.rater_department_id, 0)," SCORE_SUMS SCORES_FROM
                 " GROUP BY i.provider_department_id, i.rater_department_id"
                 " ORDER BY i.provider_department_id, i.rater_department_id",
    [R_SCORES_SORTED] =
        "SELECT i.provider_department_id,"
        " COALESCE(i.rater_department_id, 0), a.score,"
        " COUNT(*)" SCORES_FROM " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    /* One provider: the index narrows each period to its invitations. */
    [R_TREND_ONE] =
        "SELECT p.id, i.provider_department_id," SCORE_SUMS TREND_FROM
        " AND i.provider_department_id = ?5"
        " GROUP BY p.id, i.provider_department_id"
        " ORDER BY p.id, i.provider_department_id",
    [R_TREND_ONE_SORTED] =
        "SELECT i.period_id, i.provider_department_id,"
        " a.score, COUNT(*)" TREND_FROM " AND i.provider_department_id = ?5"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    [R_TREND_ALL] =
        "SELECT p.id, i.provider_department_id," SCORE_SUMS TREND_FROM
        " GROUP BY p.id, i.provider_department_id"
        " ORDER BY p.id, i.provider_department_id",
    [R_TREND_ALL_SORTED] =
        "SELECT i.period_id, i.provider_department_id,"
        " a.score, COUNT(*)" TREND_FROM " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    /* EXISTS rather than COUNT(DISTINCT …): no set of ids per group. */
    [R_NA] = "SELECT i.provider_department_id, COUNT(*) FROM invitation i"
             " WHERE i.period_id = ?1 AND EXISTS (SELECT 1 FROM answer a"
             "  WHERE a.invitation_id = i.id AND a.superseded = 0"
             "  AND a.not_applicable = 1)"
             " GROUP BY i.provider_department_id"
             " ORDER BY i.provider_department_id",
    [R_COMMENTS] = "SELECT c.text, COALESCE((SELECT a.score FROM answer a"
                   "  WHERE a.invitation_id = c.invitation_id AND a.metric = ?3"
                   "  AND a.superseded = 0 AND a.not_applicable = 0"
                   "  AND a.score IS NOT NULL ORDER BY a.id DESC LIMIT 1), -1)"
                   " FROM comment c JOIN invitation i ON i.id = c.invitation_id"
                   " WHERE i.period_id = ?1 AND i.provider_department_id = ?2"
                   " AND c.text <> '' ORDER BY c.received_at, c.id",
    [R_OPS_STATES] = "SELECT COALESCE(SUM(state = 'bounced'), 0),"
                     " COALESCE(SUM(state = 'opted_out'), 0),"
                     " COALESCE(SUM(state = 'failed'), 0)"
                     " FROM invitation WHERE period_id = ?1"
                     " AND state IN ('bounced', 'opted_out', 'failed')",
    [R_OPS_REVIEW] = "SELECT COUNT(*) FROM inbound WHERE outcome = 'review'",
    /* One pass over the period's rows of the (period_id, …) index instead of
     * loading every invitation: the digest asks this on every tick. */
    [R_PERIOD_CLOSE] =
        "SELECT COUNT(*) FILTER (WHERE state IN ('planned', 'sending', 'sent',"
        " 'reminded', 'deferred') AND closes_at > ?2),"
        " COALESCE(MAX(closes_at) FILTER (WHERE state <> 'cancelled'), 0)"
        " FROM invitation WHERE period_id = ?1",
};

static enum eq_err
prep(struct store *st, int slot, sqlite3_stmt **s)
{
    return store_prep_part(st, STORE_PART_REPORT, slot, sql[slot], s);
}

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, int slot, sqlite3_stmt **s, void *out, size_t size,
         size_t *n)
{
    return store_prep_out(st, STORE_PART_REPORT, slot, sql[slot], s, out, size,
                          n);
}

/* Fills one record from a group's two keys, a score and its count. */
typedef void (*put_fn)(void *rec, int64_t k1, int64_t k2, int score, int64_t n);

/* Reads the one-row-per-group result of a SCORE_SUMS statement (keys in
 * columns 0 and 1) into a new array of size-byte records at *out (the
 * caller's T **), one per score with a nonzero count, scores ascending.
 * *outside = 1 (and nothing handed out) when a group holds a score beyond
 * 0..10: the caller then asks its *_SORTED statement. Always resets s. */
static enum eq_err
collect_scores(struct store *st, sqlite3_stmt *s, int brc, size_t size,
               put_fn put, void *out, size_t *n, int *outside)
{
    char *v = NULL;
    size_t cap = 0, len = 0;
    enum eq_err err = brc == SQLITE_OK ? EQ_OK : store_fail(st, brc);

    *outside = 0;
    while (err == EQ_OK && store_stmt_next(st, s, &err) == 1) {
        int64_t k1 = sqlite3_column_int64(s, 0);
        int64_t k2 = sqlite3_column_int64(s, 1);

        if (sqlite3_column_int64(s, 3 + SCORE_TOP) != 0) {
            *outside = 1;
            break;
        }
        for (int score = 0; score <= SCORE_TOP && err == EQ_OK; score++) {
            int64_t c = sqlite3_column_int64(s, 2 + score);

            if (c == 0)
                continue;
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char *nv =
                    ncap <= SIZE_MAX / size ? realloc(v, ncap * size) : NULL;
                if (nv == NULL) {
                    err = EQ_ERR_NOMEM;
                    break;
                }
                v = nv;
                cap = ncap;
            }
            put(v + len * size, k1, k2, score, c);
            len++;
        }
    }
    store_stmt_done(s);
    if (err != EQ_OK || *outside || len == 0) {
        free(v);
        return err;
    }
    /* Copied as bytes: writing a T * through a void ** would break
     * aliasing rules. */
    memcpy(out, &v, sizeof v);
    *n = len;
    return EQ_OK;
}

static void
put_score_row(void *rec, int64_t provider, int64_t rater, int score, int64_t n)
{
    struct store_score_row *r = rec;

    memset(r, 0, sizeof *r);
    r->provider_id = provider;
    r->rater_department_id = rater;
    r->score = score;
    r->n = n;
}

static enum eq_err
read_score_row(sqlite3_stmt *s, void *rec)
{
    put_score_row(rec, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                  sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3));
    return EQ_OK;
}

enum eq_err
store_score_counts(struct store *st, int64_t period_id, const char *metric,
                   struct store_score_row **out, size_t *n)
{
    sqlite3_stmt *s;
    int outside;
    enum eq_err err = prep_out(st, R_SCORES, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    err = collect_scores(
        st, s, store_bind_i64(s, 1, period_id) | store_bind_text(s, 2, metric),
        sizeof **out, put_score_row, out, n, &outside);
    if (err != EQ_OK || !outside)
        return err;
    err = prep_out(st, R_SCORES_SORTED, &s, out, sizeof *out, n);
    if (err != EQ_OK)
        return err;
    return store_collect(
        st, s, store_bind_i64(s, 1, period_id) | store_bind_text(s, 2, metric),
        sizeof **out, read_score_row, NULL, out, n);
}

static void
put_trend_row(void *rec, int64_t period_id, int64_t provider, int score,
              int64_t n)
{
    struct store_trend_row *r = rec;

    memset(r, 0, sizeof *r);
    r->period_id = period_id;
    r->provider_id = provider;
    r->score = score;
    r->n = n;
}

static enum eq_err
read_trend(sqlite3_stmt *s, void *rec)
{
    put_trend_row(rec, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                  sqlite3_column_int(s, 2), sqlite3_column_int64(s, 3));
    return EQ_OK;
}

static int
bind_trend(sqlite3_stmt *s, int64_t campaign_id, int64_t provider_id,
           const char *metric, eq_day from, eq_day to)
{
    return store_bind_i64(s, 1, campaign_id) | store_bind_i64(s, 2, from) |
           store_bind_i64(s, 3, to) | store_bind_text(s, 4, metric) |
           (provider_id ? store_bind_i64(s, 5, provider_id) : SQLITE_OK);
}

enum eq_err
store_report_trend(struct store *st, int64_t campaign_id, int64_t provider_id,
                   const char *metric, eq_day from, eq_day to,
                   struct store_trend_row **out, size_t *n)
{
    sqlite3_stmt *s;
    int outside;
    enum eq_err err = prep_out(st, provider_id ? R_TREND_ONE : R_TREND_ALL, &s,
                               out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    err = collect_scores(
        st, s, bind_trend(s, campaign_id, provider_id, metric, from, to),
        sizeof **out, put_trend_row, out, n, &outside);
    if (err != EQ_OK || !outside)
        return err;
    err = prep_out(st, provider_id ? R_TREND_ONE_SORTED : R_TREND_ALL_SORTED,
                   &s, out, sizeof *out, n);
    if (err != EQ_OK)
        return err;
    return store_collect(
        st, s, bind_trend(s, campaign_id, provider_id, metric, from, to),
        sizeof **out, read_trend, NULL, out, n);
}

/* (a, n): b and t stay 0. */
static enum eq_err
read_na(sqlite3_stmt *s, void *rec)
{
    struct store_pair *p = rec;

    memset(p, 0, sizeof *p);
    p->a = sqlite3_column_int64(s, 0);
    p->n = sqlite3_column_int64(s, 1);
    return EQ_OK;
}

enum eq_err
store_report_na(struct store *st, int64_t period_id, struct store_pair **out,
                size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, R_NA, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, store_bind_i64(s, 1, period_id), sizeof **out,
                         read_na, NULL, out, n);
}

static void
clear_comment(void *rec)
{
    free(((struct store_comment_score *)rec)->text);
}

/* A NULL text is handed out as "" (the query leaves out empty ones). */
static enum eq_err
read_comment(sqlite3_stmt *s, void *rec)
{
    struct store_comment_score *c = rec;
    const char *t = (const char *)sqlite3_column_text(s, 0);

    memset(c, 0, sizeof *c);
    c->text = strdup(t ? t : "");
    c->score = sqlite3_column_int(s, 1);
    return c->text != NULL ? EQ_OK : EQ_ERR_NOMEM;
}

void
store_comment_scores_free(struct store_comment_score *c, size_t n)
{
    store_free_array(c, n, sizeof *c, clear_comment);
}

enum eq_err
store_report_comments(struct store *st, int64_t period_id, int64_t provider_id,
                      const char *metric, struct store_comment_score **out,
                      size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, R_COMMENTS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s,
                         store_bind_i64(s, 1, period_id) |
                             store_bind_i64(s, 2, provider_id) |
                             store_bind_text(s, 3, metric ? metric : ""),
                         sizeof **out, read_comment, clear_comment, out, n);
}

enum eq_err
store_report_ops_counts(struct store *st, int64_t period_id,
                        struct store_report_ops *out)
{
    sqlite3_stmt *s;
    enum eq_err err;

    memset(out, 0, sizeof *out);
    err = prep(st, R_OPS_STATES, &s);
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_i64(s, 1, period_id));
    if (err == EQ_OK) {
        out->bounced = sqlite3_column_int64(s, 0);
        out->opted_out = sqlite3_column_int64(s, 1);
        out->failed = sqlite3_column_int64(s, 2);
    }
    store_stmt_done(s);
    if (err != EQ_OK)
        return err;
    err = prep(st, R_OPS_REVIEW, &s);
    if (err != EQ_OK)
        return err;
    return store_fetch(st, s, SQLITE_OK, &out->review_open, store_read_i64);
}

enum eq_err
store_report_period_close(struct store *st, int64_t period_id, eq_time now,
                          int64_t *open, eq_time *last_close)
{
    sqlite3_stmt *s;
    enum eq_err err;

    *open = 0;
    *last_close = 0;
    err = prep(st, R_PERIOD_CLOSE, &s);
    if (err != EQ_OK)
        return err;
    err = store_step_row(
        st, s, store_bind_i64(s, 1, period_id) | store_bind_i64(s, 2, now));
    if (err == EQ_OK) {
        *open = sqlite3_column_int64(s, 0);
        *last_close = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return err;
}
