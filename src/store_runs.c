/*
 * store_runs: what the runs keep between them: digests sent, the run log,
 * the mailbox positions, the meta values (the planning seed) and the status
 * summary read from all of these.
 */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum sid {
    S_DIGEST_SENT,
    S_DIGEST_LOG,
    S_RUN_LOG,
    S_MAILBOX_GET,
    S_MAILBOX_SET,
    S_META_GET,
    S_META_SET,
    S_ST_STATES,
    S_ST_REVIEW,
    S_ST_INBOUND,
    S_ST_ACTIVE,
    S_ST_LAST_RUN,
    S_ST_NEXT,
    S__COUNT
};

_Static_assert(S__COUNT <= STORE_PART_SLOTS, "too many statements");

static const char *const sql_text[S__COUNT] = {
    [S_DIGEST_SENT] = "SELECT 1 FROM digest_sent WHERE period_id = ?1"
                      " AND recipient = ?2",
    [S_DIGEST_LOG] = "INSERT INTO digest_sent (period_id, recipient,"
                     " department_id, token, sent_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_RUN_LOG] = "INSERT INTO run_log (command, started_at, finished_at, ok,"
                  " summary) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_MAILBOX_GET] = "SELECT uidvalidity, last_uid, updated_at FROM mailbox"
                      " WHERE name = ?1",
    [S_MAILBOX_SET] = "INSERT INTO mailbox (name, uidvalidity, last_uid,"
                      " updated_at) VALUES (?1, ?2, ?3, ?4)"
                      " ON CONFLICT (name) DO UPDATE SET"
                      " uidvalidity = excluded.uidvalidity,"
                      " last_uid = excluded.last_uid,"
                      " updated_at = excluded.updated_at",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_ST_STATES] = "SELECT state, COUNT(*) FROM invitation GROUP BY state",
    [S_ST_REVIEW] = "SELECT COUNT(*) FROM inbound WHERE outcome = 'review'",
    [S_ST_INBOUND] = "SELECT COUNT(*) FROM inbound",
    [S_ST_ACTIVE] = "SELECT COUNT(*) FROM employee WHERE active = 1",
    [S_ST_LAST_RUN] = "SELECT command, started_at, finished_at, ok, summary"
                      " FROM run_log ORDER BY id DESC LIMIT 1",
    /* A deferred invitation's next try is next_attempt_at, not the
     * original plan. */
    [S_ST_NEXT] = "SELECT MIN(CASE WHEN state = 'deferred'"
                  " THEN COALESCE(next_attempt_at, planned_at)"
                  " ELSE planned_at END) FROM invitation"
                  " WHERE state IN ('planned', 'deferred')",
};

static enum eq_err
prep(struct store *st, enum sid id, sqlite3_stmt **out)
{
    return store_prep_part(st, STORE_PART_RUNS, (int)id, sql_text[id], out);
}

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, enum sid id, sqlite3_stmt **s, void *out,
         size_t size, size_t *n)
{
    return store_prep_out(st, STORE_PART_RUNS, (int)id, sql_text[id], s, out,
                          size, n);
}

/* --- digests and runs ------------------------------------------------- */

enum eq_err
store_digest_sent(struct store *st, int64_t period_id, const char *recipient,
                  int *sent)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_DIGEST_SENT, &s);

    *sent = 0;
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s,
                         store_bind_i64(s, 1, period_id) |
                             store_bind_text(s, 2, recipient));
    store_stmt_done(s);
    if (err == EQ_OK)
        *sent = 1;
    return err == EQ_ERR_NOTFOUND ? EQ_OK : err;
}

enum eq_err
store_digest_log(struct store *st, int64_t period_id, const char *recipient,
                 int64_t department_id, const char *token, eq_time at)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (recipient == NULL || *recipient == '\0') {
        store_set_msg(st, "digest needs a recipient");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_DIGEST_LOG, &s);
    if (err != EQ_OK)
        return err;
    return store_run(
        st, s,
        store_bind_i64(s, 1, period_id) | store_bind_text(s, 2, recipient) |
            store_bind_opt(s, 3, department_id) | store_bind_text(s, 4, token) |
            store_bind_i64(s, 5, at));
}

enum eq_err
store_run_log(struct store *st, const char *command, eq_time started,
              eq_time finished, int ok, const char *summary)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_RUN_LOG, &s);

    if (err != EQ_OK)
        return err;
    return store_run(
        st, s,
        store_bind_text(s, 1, command ? command : "") |
            store_bind_i64(s, 2, started) | store_bind_opt(s, 3, finished) |
            store_bind_i64(s, 4, !!ok) | store_bind_text(s, 5, summary));
}

enum eq_err
store_mailbox_get(struct store *st, const char *name, uint32_t *uidvalidity,
                  uint32_t *last_uid, eq_time *at)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_MAILBOX_GET, &s);

    *uidvalidity = *last_uid = 0;
    if (at)
        *at = 0;
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_text(s, 1, name));
    if (err == EQ_OK) {
        *uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
        *last_uid = (uint32_t)sqlite3_column_int64(s, 1);
        if (at)
            *at = sqlite3_column_int64(s, 2);
    }
    store_stmt_done(s);
    return err;
}

enum eq_err
store_mailbox_set(struct store *st, const char *name, uint32_t uidvalidity,
                  uint32_t last_uid, eq_time at)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_MAILBOX_SET, &s);

    if (err != EQ_OK)
        return err;
    return store_run(
        st, s,
        store_bind_text(s, 1, name) | store_bind_i64(s, 2, uidvalidity) |
            store_bind_i64(s, 3, last_uid) | store_bind_i64(s, 4, at));
}

enum eq_err
store_meta_get(struct store *st, const char *key, char **value)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_META_GET, &s);

    *value = NULL;
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_text(s, 1, key));
    if (err == EQ_OK && store_col_dup(s, 0, value) != 0)
        err = EQ_ERR_NOMEM;
    store_stmt_done(s);
    return err;
}

enum eq_err
store_meta_set(struct store *st, const char *key, const char *value)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_META_SET, &s);

    if (err != EQ_OK)
        return err;
    return store_run(st, s,
                     store_bind_text(s, 1, key) | store_bind_text(s, 2, value));
}

enum eq_err
store_seed(struct store *st, uint64_t *seed)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_META_GET, &s);
    char text[24];

    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_text(s, 1, "seed"));
    if (err == EQ_OK) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        *seed = v ? strtoull(v, NULL, 10) : 0;
    }
    store_stmt_done(s);
    if (err != EQ_ERR_NOTFOUND)
        return err;
    /* First use: a random seed, kept so every later `plan` and `run`
     * make the same choices for the same data. */
    if (getrandom(seed, sizeof *seed, 0) != (ssize_t)sizeof *seed)
        return EQ_ERR_IO;
    snprintf(text, sizeof text, "%llu", (unsigned long long)*seed);
    if ((err = prep(st, S_META_SET, &s)) != EQ_OK)
        return err;
    return store_run(
        st, s, store_bind_text(s, 1, "seed") | store_bind_text(s, 2, text));
}

static enum eq_err
count_one(struct store *st, enum sid id, int64_t *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, id, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return store_fetch(st, s, SQLITE_OK, out, store_read_i64);
}

enum eq_err
store_status_get(struct store *st, struct store_status *out)
{
    sqlite3_stmt *s;
    enum eq_err err;
    int r;

    memset(out, 0, sizeof *out);
    err = prep(st, S_ST_STATES, &s);
    if (err != EQ_OK)
        return err;
    while ((r = store_stmt_next(st, s, &err)) == 1) {
        enum inv_state state;
        if (store_inv_state_parse((const char *)sqlite3_column_text(s, 0),
                                  &state) == 0)
            out->by_state[state] = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    if (err == EQ_OK)
        err = count_one(st, S_ST_REVIEW, &out->review);
    if (err == EQ_OK)
        err = count_one(st, S_ST_INBOUND, &out->inbound);
    if (err == EQ_OK)
        err = count_one(st, S_ST_ACTIVE, &out->employees_active);
    if (err == EQ_OK)
        err = count_one(st, S_ST_NEXT, &out->next_planned);
    if (err == EQ_OK)
        err = prep(st, S_ST_LAST_RUN, &s);
    if (err == EQ_OK) {
        err = store_step_row(st, s, SQLITE_OK);
        if (err == EQ_OK) {
            out->last_run_started = sqlite3_column_int64(s, 1);
            out->last_run_finished = sqlite3_column_int64(s, 2);
            out->last_run_ok = sqlite3_column_int(s, 3);
            if (store_col_dup(s, 0, &out->last_run_command) ||
                store_col_dup(s, 4, &out->last_run_summary))
                err = EQ_ERR_NOMEM;
        } else if (err == EQ_ERR_NOTFOUND) {
            err = EQ_OK;
        }
        store_stmt_done(s);
    }
    if (err != EQ_OK)
        store_status_clear(out);
    return err;
}

void
store_status_clear(struct store_status *s)
{
    if (s == NULL)
        return;
    free(s->last_run_command);
    free(s->last_run_summary);
    memset(s, 0, sizeof *s);
}
