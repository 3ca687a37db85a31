#include "store_report.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"

enum {
    R_TREND_ONE,
    R_TREND_ALL,
    R_NA,
    R_COMMENTS,
    R_OPS_STATES,
    R_OPS_REVIEW,
    R_PERIOD_CLOSE,
};

/* CROSS JOIN fixes the order period → invitation (by its period index) →
 * answer (by its invitation index): the work grows with the answers of the
 * trend's periods, not with the whole table. */
#define TREND_FROM                                                             \
    " FROM period p CROSS JOIN invitation i CROSS JOIN answer a"               \
    " ON i.period_id = p.id AND a.invitation_id = i.id"                        \
    " WHERE p.campaign_id = ?1 AND p.first_day BETWEEN ?2 AND ?3"              \
    " AND a.metric = ?4 AND a.superseded = 0 AND a.not_applicable = 0"         \
    " AND a.score IS NOT NULL"

static const char *const sql[] = {
    /* One provider: the (period_id, provider_department_id) index of
     * invitation narrows each period to that provider's invitations. */
    [R_TREND_ONE] = "SELECT i.period_id, i.provider_department_id, a.score,"
                    " COUNT(*)" TREND_FROM " AND i.provider_department_id = ?5"
                    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    [R_TREND_ALL] = "SELECT i.period_id, i.provider_department_id, a.score,"
                    " COUNT(*)" TREND_FROM " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    [R_NA] = "SELECT i.provider_department_id, COUNT(DISTINCT i.id)"
             " FROM invitation i JOIN answer a ON a.invitation_id = i.id"
             " WHERE i.period_id = ?1 AND a.superseded = 0"
             " AND a.not_applicable = 1 GROUP BY 1 ORDER BY 1",
    [R_COMMENTS] = "SELECT c.text, COALESCE((SELECT a.score FROM answer a"
                   "  WHERE a.invitation_id = c.invitation_id AND a.metric = ?3"
                   "  AND a.superseded = 0 AND a.not_applicable = 0"
                   "  AND a.score IS NOT NULL ORDER BY a.id DESC LIMIT 1), -1)"
                   " FROM comment c JOIN invitation i ON i.id = c.invitation_id"
                   " WHERE i.period_id = ?1 AND i.provider_department_id = ?2"
                   " AND c.text <> '' ORDER BY c.received_at, c.id",
    [R_OPS_STATES] = "SELECT state, COUNT(*) FROM invitation"
                     " WHERE period_id = ?1"
                     " AND state IN ('bounced', 'opted_out', 'failed')"
                     " GROUP BY state",
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

static enum eq_err
read_trend(sqlite3_stmt *s, void *rec)
{
    struct store_trend_row *r = rec;

    memset(r, 0, sizeof *r);
    r->period_id = sqlite3_column_int64(s, 0);
    r->provider_id = sqlite3_column_int64(s, 1);
    r->score = sqlite3_column_int(s, 2);
    r->n = sqlite3_column_int64(s, 3);
    return EQ_OK;
}

enum eq_err
store_report_trend(struct store *st, int64_t campaign_id, int64_t provider_id,
                   const char *metric, eq_day from, eq_day to,
                   struct store_trend_row **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, provider_id ? R_TREND_ONE : R_TREND_ALL, &s,
                               out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(
        st, s,
        store_bind_i64(s, 1, campaign_id) | store_bind_i64(s, 2, from) |
            store_bind_i64(s, 3, to) | store_bind_text(s, 4, metric) |
            (provider_id ? store_bind_i64(s, 5, provider_id) : SQLITE_OK),
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
    int brc;

    memset(out, 0, sizeof *out);
    err = prep(st, R_OPS_STATES, &s);
    if (err != EQ_OK)
        return err;
    if ((brc = store_bind_i64(s, 1, period_id)) != SQLITE_OK)
        err = store_fail(st, brc);
    while (err == EQ_OK && store_stmt_next(st, s, &err) == 1) {
        const char *state = (const char *)sqlite3_column_text(s, 0);
        int64_t c = sqlite3_column_int64(s, 1);
        if (state == NULL)
            continue;
        if (strcmp(state, "bounced") == 0)
            out->bounced = c;
        else if (strcmp(state, "opted_out") == 0)
            out->opted_out = c;
        else if (strcmp(state, "failed") == 0)
            out->failed = c;
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
