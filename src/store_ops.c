#include "store_ops.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    Q_QUEUE,
    Q_PERIOD_COUNTS,
    Q_PERIOD_CLOSE,
    Q_RUN_LAST,
    Q_RUN_LAST_FAILED,
    Q_RUN_FAILED_SINCE,
    Q_MAILBOXES,
    Q_REVIEW,
    Q_DIGESTS_AT,
    Q_PERIODS,
};

static const char *const sql[] = {
    [Q_QUEUE] =
        "SELECT COALESCE(SUM(state = 'planned' AND planned_at < ?1), 0),"
        " COALESCE(SUM(state = 'planned' AND planned_at >= ?1), 0),"
        " COALESCE(SUM(state = 'deferred'), 0),"
        " COALESCE(MIN(CASE WHEN state = 'deferred' THEN next_attempt_at END),"
        "  0),"
        " COALESCE(SUM(state = 'sending'), 0),"
        " COALESCE(MIN(CASE WHEN state = 'planned' THEN planned_at END), 0)"
        " FROM invitation WHERE state IN ('planned', 'deferred', 'sending')",
    [Q_PERIOD_COUNTS] =
        "SELECT state, COUNT(*), COALESCE(SUM(sent_at IS NOT NULL), 0)"
        " FROM invitation WHERE period_id = ?1 GROUP BY state",
    [Q_PERIOD_CLOSE] =
        "SELECT COALESCE(SUM(state IN ('planned', 'sending', 'sent',"
        "  'reminded', 'deferred') AND closes_at > ?2), 0),"
        " COALESCE(MAX(closes_at), 0)"
        " FROM invitation WHERE period_id = ?1 AND state <> 'cancelled'",
    [Q_RUN_LAST] = "SELECT id, command, started_at, finished_at, ok, summary"
                   " FROM run_log ORDER BY id DESC LIMIT 1",
    [Q_RUN_LAST_FAILED] =
        "SELECT id, command, started_at, finished_at, ok, summary"
        " FROM run_log WHERE ok = 0 ORDER BY id DESC LIMIT 1",
    [Q_RUN_FAILED_SINCE] =
        "SELECT COUNT(*) FROM run_log WHERE ok = 0 AND id >"
        " COALESCE((SELECT MAX(id) FROM run_log WHERE ok <> 0), 0)",
    [Q_MAILBOXES] = "SELECT name, uidvalidity, last_uid, updated_at"
                    " FROM mailbox ORDER BY name",
    [Q_REVIEW] = "SELECT COUNT(*), COALESCE(MIN(received_at), 0)"
                 " FROM inbound WHERE outcome = 'review'",
    [Q_DIGESTS_AT] = "SELECT p.label, dep.code FROM digest_sent d"
                     " JOIN period p ON p.id = d.period_id"
                     " JOIN campaign c ON c.id = p.campaign_id"
                     " LEFT JOIN department dep ON dep.id = d.department_id"
                     " WHERE c.name = ?1 AND d.sent_at = ?2 ORDER BY d.id",
    [Q_PERIODS] =
        "SELECT p.id, p.campaign_id, p.label, p.first_day, p.last_day,"
        " COALESCE(p.closed_at, 0), COALESCE(p.digest_at, 0)"
        " FROM period p JOIN campaign c ON c.id = p.campaign_id"
        " WHERE c.name = ?1 ORDER BY p.first_day",
};

static enum eq_err
prep(struct store *st, int q, sqlite3_stmt **s)
{
    return store_prep_part(st, STORE_PART_OPS, q, sql[q], s);
}

enum eq_err
store_ops_queue(struct store *st, eq_time until, struct store_ops_queue *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_QUEUE, &s);

    memset(out, 0, sizeof *out);
    if (err != EQ_OK)
        return err;
    if (sqlite3_bind_int64(s, 1, until) != SQLITE_OK)
        err = EQ_ERR_DB;
    else if (store_stmt_next(st, s, &err) == 1) {
        out->planned_due = sqlite3_column_int64(s, 0);
        out->planned_later = sqlite3_column_int64(s, 1);
        out->deferred = sqlite3_column_int64(s, 2);
        out->next_retry = sqlite3_column_int64(s, 3);
        out->sending = sqlite3_column_int64(s, 4);
        out->next_planned = sqlite3_column_int64(s, 5);
    }
    store_stmt_done(s);
    return err;
}

enum eq_err
store_ops_period_counts(struct store *st, int64_t period_id,
                        struct store_ops_counts *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_PERIOD_COUNTS, &s);
    int r;

    memset(out, 0, sizeof *out);
    if (err != EQ_OK)
        return err;
    if (sqlite3_bind_int64(s, 1, period_id) != SQLITE_OK) {
        store_stmt_done(s);
        return EQ_ERR_DB;
    }
    while ((r = store_stmt_next(st, s, &err)) == 1) {
        enum inv_state state;
        int64_t n = sqlite3_column_int64(s, 1);
        if (store_inv_state_parse((const char *)sqlite3_column_text(s, 0),
                                  &state) == 0)
            out->by_state[state] = n;
        out->total += n;
        out->delivered += sqlite3_column_int64(s, 2);
    }
    store_stmt_done(s);
    return err;
}

enum eq_err
store_ops_periods(struct store *st, const char *campaign,
                  struct store_period **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_PERIODS, &s);
    size_t cap = 0;
    int r;

    *out = NULL;
    *n = 0;
    if (err != EQ_OK)
        return err;
    if (sqlite3_bind_text(s, 1, campaign, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        store_stmt_done(s);
        return EQ_ERR_DB;
    }
    while ((r = store_stmt_next(st, s, &err)) == 1) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct store_period *g = realloc(*out, nc * sizeof **out);
            if (g == NULL) {
                err = EQ_ERR_NOMEM;
                break;
            }
            *out = g;
            cap = nc;
        }
        struct store_period *p = &(*out)[(*n)++];
        const unsigned char *label = sqlite3_column_text(s, 2);
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(s, 0);
        p->campaign_id = sqlite3_column_int64(s, 1);
        snprintf(p->label, sizeof p->label, "%s",
                 label ? (const char *)label : "");
        p->first = (eq_day)sqlite3_column_int64(s, 3);
        p->last = (eq_day)sqlite3_column_int64(s, 4);
        p->closed_at = sqlite3_column_int64(s, 5);
        p->digest_at = sqlite3_column_int64(s, 6);
    }
    store_stmt_done(s);
    if (err != EQ_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return err;
}

enum eq_err
store_ops_period_close(struct store *st, int64_t period_id, eq_time now,
                       int64_t *open, eq_time *last_close)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_PERIOD_CLOSE, &s);

    *open = 0;
    *last_close = 0;
    if (err != EQ_OK)
        return err;
    if (sqlite3_bind_int64(s, 1, period_id) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, now) != SQLITE_OK)
        err = EQ_ERR_DB;
    else if (store_stmt_next(st, s, &err) == 1) {
        *open = sqlite3_column_int64(s, 0);
        *last_close = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return err;
}

static enum eq_err
one_run(struct store *st, int q, struct store_ops_run *r)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, q, &s);

    memset(r, 0, sizeof *r);
    if (err != EQ_OK)
        return err;
    if (store_stmt_next(st, s, &err) == 1) {
        r->id = sqlite3_column_int64(s, 0);
        r->started = sqlite3_column_int64(s, 2);
        r->finished = sqlite3_column_int64(s, 3);
        r->ok = sqlite3_column_int(s, 4);
        if (store_col_dup(s, 1, &r->command) != 0 ||
            store_col_dup(s, 5, &r->summary) != 0)
            err = EQ_ERR_NOMEM;
    }
    store_stmt_done(s);
    if (err != EQ_OK)
        store_ops_run_clear(r);
    return err;
}

enum eq_err
store_ops_runs(struct store *st, struct store_ops_run *last,
               struct store_ops_run *last_failed, int64_t *failed_since_ok)
{
    sqlite3_stmt *s;
    enum eq_err err;

    memset(last_failed, 0, sizeof *last_failed);
    *failed_since_ok = 0;
    if ((err = one_run(st, Q_RUN_LAST, last)) != EQ_OK)
        return err;
    if ((err = one_run(st, Q_RUN_LAST_FAILED, last_failed)) != EQ_OK)
        goto out;
    if ((err = prep(st, Q_RUN_FAILED_SINCE, &s)) != EQ_OK)
        goto out;
    if (store_stmt_next(st, s, &err) == 1)
        *failed_since_ok = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
out:
    if (err != EQ_OK) {
        store_ops_run_clear(last);
        store_ops_run_clear(last_failed);
    }
    return err;
}

void
store_ops_run_clear(struct store_ops_run *r)
{
    if (r == NULL)
        return;
    free(r->command);
    free(r->summary);
    memset(r, 0, sizeof *r);
}

enum eq_err
store_ops_mailboxes(struct store *st, struct store_ops_mailbox **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_MAILBOXES, &s);
    size_t cap = 0;
    int r;

    *out = NULL;
    *n = 0;
    if (err != EQ_OK)
        return err;
    while ((r = store_stmt_next(st, s, &err)) == 1) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct store_ops_mailbox *g = realloc(*out, nc * sizeof **out);
            if (g == NULL) {
                err = EQ_ERR_NOMEM;
                break;
            }
            *out = g;
            cap = nc;
        }
        struct store_ops_mailbox *m = &(*out)[*n];
        memset(m, 0, sizeof *m);
        m->uidvalidity = (uint32_t)sqlite3_column_int64(s, 1);
        m->last_uid = (uint32_t)sqlite3_column_int64(s, 2);
        m->updated = sqlite3_column_int64(s, 3);
        if (store_col_dup(s, 0, &m->name) != 0) {
            err = EQ_ERR_NOMEM;
            break;
        }
        (*n)++;
    }
    store_stmt_done(s);
    if (err != EQ_OK) {
        store_ops_mailboxes_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return err;
}

void
store_ops_mailboxes_free(struct store_ops_mailbox *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++)
        free(m[i].name);
    free(m);
}

enum eq_err
store_ops_review(struct store *st, int64_t *n, eq_time *oldest)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_REVIEW, &s);

    *n = 0;
    *oldest = 0;
    if (err != EQ_OK)
        return err;
    if (store_stmt_next(st, s, &err) == 1) {
        *n = sqlite3_column_int64(s, 0);
        *oldest = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return err;
}

enum eq_err
store_ops_digests_at(struct store *st, const char *campaign, eq_time at,
                     struct store_ops_digest **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_DIGESTS_AT, &s);
    size_t cap = 0;
    int r;

    *out = NULL;
    *n = 0;
    if (err != EQ_OK)
        return err;
    if (sqlite3_bind_text(s, 1, campaign, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, at) != SQLITE_OK) {
        store_stmt_done(s);
        return EQ_ERR_DB;
    }
    while ((r = store_stmt_next(st, s, &err)) == 1) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 4;
            struct store_ops_digest *g = realloc(*out, nc * sizeof **out);
            if (g == NULL) {
                err = EQ_ERR_NOMEM;
                break;
            }
            *out = g;
            cap = nc;
        }
        struct store_ops_digest *d = &(*out)[*n];
        memset(d, 0, sizeof *d);
        if (store_col_dup(s, 0, &d->period) != 0 ||
            store_col_dup(s, 1, &d->department) != 0) {
            free(d->period);
            err = EQ_ERR_NOMEM;
            break;
        }
        (*n)++;
    }
    store_stmt_done(s);
    if (err != EQ_OK) {
        store_ops_digests_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return err;
}

void
store_ops_digests_free(struct store_ops_digest *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++) {
        free(d[i].period);
        free(d[i].department);
    }
    free(d);
}
