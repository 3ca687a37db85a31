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

/* Grows *arr (of size elem) so that one more element fits. */
static enum eq_err
grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    void *p;
    size_t c;

    if (n < *cap)
        return EQ_OK;
    c = *cap ? *cap * 2 : 32;
    p = realloc(*arr, c * elem);
    if (p == NULL)
        return EQ_ERR_NOMEM;
    memset((char *)p + *cap * elem, 0, (c - *cap) * elem);
    *arr = p;
    *cap = c;
    return EQ_OK;
}

enum eq_err
store_report_trend(struct store *st, int64_t campaign_id, int64_t provider_id,
                   const char *metric, eq_day from, eq_day to,
                   struct store_trend_row **out, size_t *n)
{
    sqlite3_stmt *s;
    struct store_trend_row *rows = NULL;
    size_t cap = 0, k = 0;
    enum eq_err err;
    int rc;

    *out = NULL;
    *n = 0;
    err = prep(st, provider_id ? R_TREND_ONE : R_TREND_ALL, &s);
    if (err != EQ_OK)
        return err;
    sqlite3_bind_int64(s, 1, campaign_id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    sqlite3_bind_text(s, 4, metric, -1, SQLITE_STATIC);
    if (provider_id)
        sqlite3_bind_int64(s, 5, provider_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        err = grow((void **)&rows, &cap, k, sizeof *rows);
        if (err != EQ_OK)
            goto out;
        rows[k].period_id = sqlite3_column_int64(s, 0);
        rows[k].provider_id = sqlite3_column_int64(s, 1);
        rows[k].score = sqlite3_column_int(s, 2);
        rows[k].n = sqlite3_column_int64(s, 3);
        k++;
    }
    if (rc != SQLITE_DONE)
        err = store_fail(st, rc);
out:
    store_stmt_done(s);
    if (err != EQ_OK) {
        free(rows);
        return err;
    }
    *out = rows;
    *n = k;
    return EQ_OK;
}

enum eq_err
store_report_na(struct store *st, int64_t period_id, struct store_pair **out,
                size_t *n)
{
    sqlite3_stmt *s;
    struct store_pair *rows = NULL;
    size_t cap = 0, k = 0;
    enum eq_err err;
    int rc;

    *out = NULL;
    *n = 0;
    err = prep(st, R_NA, &s);
    if (err != EQ_OK)
        return err;
    sqlite3_bind_int64(s, 1, period_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        err = grow((void **)&rows, &cap, k, sizeof *rows);
        if (err != EQ_OK)
            goto out;
        rows[k].a = sqlite3_column_int64(s, 0);
        rows[k].n = sqlite3_column_int64(s, 1);
        k++;
    }
    if (rc != SQLITE_DONE)
        err = store_fail(st, rc);
out:
    store_stmt_done(s);
    if (err != EQ_OK) {
        free(rows);
        return err;
    }
    *out = rows;
    *n = k;
    return EQ_OK;
}

void
store_comment_scores_free(struct store_comment_score *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        free(c[i].text);
    free(c);
}

enum eq_err
store_report_comments(struct store *st, int64_t period_id, int64_t provider_id,
                      const char *metric, struct store_comment_score **out,
                      size_t *n)
{
    sqlite3_stmt *s;
    struct store_comment_score *rows = NULL;
    size_t cap = 0, k = 0;
    enum eq_err err;
    int rc;

    *out = NULL;
    *n = 0;
    err = prep(st, R_COMMENTS, &s);
    if (err != EQ_OK)
        return err;
    sqlite3_bind_int64(s, 1, period_id);
    sqlite3_bind_int64(s, 2, provider_id);
    sqlite3_bind_text(s, 3, metric ? metric : "", -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        err = grow((void **)&rows, &cap, k, sizeof *rows);
        if (err != EQ_OK)
            goto out;
        rows[k].text = strdup(t ? t : "");
        rows[k].score = sqlite3_column_int(s, 1);
        if (rows[k].text == NULL) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
        k++;
    }
    if (rc != SQLITE_DONE)
        err = store_fail(st, rc);
out:
    store_stmt_done(s);
    if (err != EQ_OK) {
        store_comment_scores_free(rows, k);
        return err;
    }
    *out = rows;
    *n = k;
    return EQ_OK;
}

enum eq_err
store_report_ops_counts(struct store *st, int64_t period_id,
                        struct store_report_ops *out)
{
    sqlite3_stmt *s;
    enum eq_err err;
    int rc;

    memset(out, 0, sizeof *out);
    err = prep(st, R_OPS_STATES, &s);
    if (err != EQ_OK)
        return err;
    sqlite3_bind_int64(s, 1, period_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
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
    if (rc != SQLITE_DONE)
        return store_fail(st, rc);
    err = prep(st, R_OPS_REVIEW, &s);
    if (err != EQ_OK)
        return err;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        out->review_open = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return rc == SQLITE_ROW ? EQ_OK : store_fail(st, rc);
}

enum eq_err
store_report_period_close(struct store *st, int64_t period_id, eq_time now,
                          int64_t *open, eq_time *last_close)
{
    sqlite3_stmt *s;
    enum eq_err err;
    int rc;

    *open = 0;
    *last_close = 0;
    err = prep(st, R_PERIOD_CLOSE, &s);
    if (err != EQ_OK)
        return err;
    sqlite3_bind_int64(s, 1, period_id);
    sqlite3_bind_int64(s, 2, now);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *open = sqlite3_column_int64(s, 0);
        *last_close = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return rc == SQLITE_ROW ? EQ_OK : store_fail(st, rc);
}
