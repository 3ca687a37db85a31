#include "store_ops.h"
#include "store_int.h"
#include "store_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    Q_QUEUE,
    Q_PERIOD_COUNTS,
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

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, int q, sqlite3_stmt **s, void *out, size_t size,
         size_t *n)
{
    return store_prep_out(st, STORE_PART_OPS, q, sql[q], s, out, size, n);
}

static enum eq_err
read_queue(sqlite3_stmt *s, void *rec)
{
    struct store_ops_queue *q = rec;

    q->planned_due = sqlite3_column_int64(s, 0);
    q->planned_later = sqlite3_column_int64(s, 1);
    q->deferred = sqlite3_column_int64(s, 2);
    q->next_retry = sqlite3_column_int64(s, 3);
    q->sending = sqlite3_column_int64(s, 4);
    q->next_planned = sqlite3_column_int64(s, 5);
    return EQ_OK;
}

enum eq_err
store_ops_queue(struct store *st, eq_time until, struct store_ops_queue *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, Q_QUEUE, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return store_fetch(st, s, store_bind_i64(s, 1, until), out, read_queue);
}

enum eq_err
store_ops_period_counts(struct store *st, int64_t period_id,
                        struct store_ops_counts *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, Q_PERIOD_COUNTS, &s, out, sizeof *out, NULL);
    int brc;

    if (err != EQ_OK)
        return err;
    if ((brc = store_bind_i64(s, 1, period_id)) != SQLITE_OK)
        err = store_fail(st, brc);
    while (err == EQ_OK && store_stmt_next(st, s, &err) == 1) {
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

static enum eq_err
read_period(sqlite3_stmt *s, void *rec)
{
    struct store_period *p = rec;
    const unsigned char *label = sqlite3_column_text(s, 2);

    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(s, 0);
    p->campaign_id = sqlite3_column_int64(s, 1);
    snprintf(p->label, sizeof p->label, "%s", label ? (const char *)label : "");
    p->first = (eq_day)sqlite3_column_int64(s, 3);
    p->last = (eq_day)sqlite3_column_int64(s, 4);
    p->closed_at = sqlite3_column_int64(s, 5);
    p->digest_at = sqlite3_column_int64(s, 6);
    return EQ_OK;
}

enum eq_err
store_ops_periods(struct store *st, const char *campaign,
                  struct store_period **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, Q_PERIODS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, store_bind_text(s, 1, campaign), sizeof **out,
                         read_period, NULL, out, n);
}

/* The same figures the digest waits on: one query for both. */
enum eq_err
store_ops_period_close(struct store *st, int64_t period_id, eq_time now,
                       int64_t *open, eq_time *last_close)
{
    return store_report_period_close(st, period_id, now, open, last_close);
}

static enum eq_err
read_run(sqlite3_stmt *s, void *rec)
{
    struct store_ops_run *r = rec;

    r->id = sqlite3_column_int64(s, 0);
    r->started = sqlite3_column_int64(s, 2);
    r->finished = sqlite3_column_int64(s, 3);
    r->ok = sqlite3_column_int(s, 4);
    if (store_col_dup(s, 1, &r->command) != 0 ||
        store_col_dup(s, 5, &r->summary) != 0) {
        store_ops_run_clear(r);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

/* No run yet is not an error: *r stays empty. */
static enum eq_err
one_run(struct store *st, int q, struct store_ops_run *r)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, q, &s, r, sizeof *r, NULL);

    if (err != EQ_OK)
        return err;
    err = store_fetch(st, s, SQLITE_OK, r, read_run);
    return err == EQ_ERR_NOTFOUND ? EQ_OK : err;
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
    if ((err = one_run(st, Q_RUN_LAST_FAILED, last_failed)) == EQ_OK &&
        (err = prep(st, Q_RUN_FAILED_SINCE, &s)) == EQ_OK)
        err = store_fetch(st, s, SQLITE_OK, failed_since_ok, store_read_i64);
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

static void
clear_mailbox(void *rec)
{
    free(((struct store_ops_mailbox *)rec)->name);
}

static enum eq_err
read_mailbox(sqlite3_stmt *s, void *rec)
{
    struct store_ops_mailbox *m = rec;

    memset(m, 0, sizeof *m);
    m->uidvalidity = (uint32_t)sqlite3_column_int64(s, 1);
    m->last_uid = (uint32_t)sqlite3_column_int64(s, 2);
    m->updated = sqlite3_column_int64(s, 3);
    return store_col_dup(s, 0, &m->name) == 0 ? EQ_OK : EQ_ERR_NOMEM;
}

enum eq_err
store_ops_mailboxes(struct store *st, struct store_ops_mailbox **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, Q_MAILBOXES, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, SQLITE_OK, sizeof **out, read_mailbox,
                         clear_mailbox, out, n);
}

void
store_ops_mailboxes_free(struct store_ops_mailbox *m, size_t n)
{
    store_free_array(m, n, sizeof *m, clear_mailbox);
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
    err = store_step_row(st, s, SQLITE_OK);
    if (err == EQ_OK) {
        *n = sqlite3_column_int64(s, 0);
        *oldest = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return err;
}

static void
clear_digest(void *rec)
{
    struct store_ops_digest *d = rec;

    free(d->period);
    free(d->department);
}

static enum eq_err
read_digest(sqlite3_stmt *s, void *rec)
{
    struct store_ops_digest *d = rec;

    memset(d, 0, sizeof *d);
    if (store_col_dup(s, 0, &d->period) != 0 ||
        store_col_dup(s, 1, &d->department) != 0) {
        clear_digest(d);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

enum eq_err
store_ops_digests_at(struct store *st, const char *campaign, eq_time at,
                     struct store_ops_digest **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, Q_DIGESTS_AT, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(
        st, s, store_bind_text(s, 1, campaign) | store_bind_i64(s, 2, at),
        sizeof **out, read_digest, clear_digest, out, n);
}

void
store_ops_digests_free(struct store_ops_digest *d, size_t n)
{
    store_free_array(d, n, sizeof *d, clear_digest);
}
