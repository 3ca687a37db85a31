/*
 * store_inbound: the record of every mail read (deduplicated by Message-ID
 * and hash) and the review queue of the mails no rule could place. How a
 * mail is classified is classify's; this file only keeps the outcome.
 */
#include "store.h"
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define INB_SELECT                                                             \
    "SELECT id, message_id, sha256, source_key, received_at, kind, token,"     \
    " invitation_id, outcome, note, sender, subject FROM inbound "

enum sid {
    S_INB_FIND,
    S_INB_INSERT,
    S_REVIEW_LIST,
    S_INB_OUTCOME,
    S_INB_GET,
    S__COUNT
};

_Static_assert(S__COUNT <= STORE_PART_SLOTS, "too many statements");

static const char *const sql_text[S__COUNT] = {
    [S_INB_FIND] = "SELECT id FROM inbound WHERE sha256 = ?2 UNION ALL"
                   " SELECT id FROM inbound WHERE ?1 IS NOT NULL"
                   " AND message_id = ?1 LIMIT 1",
    [S_INB_INSERT] =
        "INSERT INTO inbound (message_id, sha256, source_key, received_at,"
        " kind, token, invitation_id, outcome, note, sender, subject)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [S_REVIEW_LIST] = INB_SELECT "WHERE outcome = 'review'"
                                 " ORDER BY received_at, id",
    [S_INB_OUTCOME] = "UPDATE inbound SET outcome = ?2, invitation_id ="
                      " CASE WHEN ?3 = 0 THEN invitation_id ELSE ?3 END,"
                      " note = COALESCE(?4, note) WHERE id = ?1",
    [S_INB_GET] = INB_SELECT "WHERE id = ?1",
};

static enum eq_err
prep(struct store *st, enum sid id, sqlite3_stmt **out)
{
    return store_prep_part(st, STORE_PART_INBOUND, (int)id, sql_text[id], out);
}

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, enum sid id, sqlite3_stmt **s, void *out,
         size_t size, size_t *n)
{
    return store_prep_out(st, STORE_PART_INBOUND, (int)id, sql_text[id], s, out,
                          size, n);
}

/* --- inbound mail ----------------------------------------------------- */

enum eq_err
store_inbound_find(struct store *st, const char *message_id, const char *sha256,
                   int64_t *id)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_INB_FIND, &s);

    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s,
                         store_bind_text(s, 1, message_id) |
                             store_bind_text(s, 2, sha256));
    if (err == EQ_OK && id)
        *id = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    return err;
}

enum eq_err
store_inbound_add(struct store *st, const struct store_inbound *in, int64_t *id)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (in->sha256 == NULL || in->kind == NULL || in->outcome == NULL) {
        store_set_msg(st, "inbound mail needs sha256, kind and outcome");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_INB_INSERT, &s);
    if (err != EQ_OK)
        return err;
    err = store_run(st, s,
                    store_bind_text(s, 1, in->message_id) |
                        store_bind_text(s, 2, in->sha256) |
                        store_bind_text(s, 3, in->source_key) |
                        store_bind_i64(s, 4, in->received_at) |
                        store_bind_text(s, 5, in->kind) |
                        store_bind_text(s, 6, in->token) |
                        store_bind_opt(s, 7, in->invitation_id) |
                        store_bind_text(s, 8, in->outcome) |
                        store_bind_text(s, 9, in->note) |
                        store_bind_text(s, 10, in->sender) |
                        store_bind_text(s, 11, in->subject));
    if (err == EQ_OK && id)
        *id = sqlite3_last_insert_rowid(store_db(st));
    return err;
}

static enum eq_err
read_inbound(sqlite3_stmt *s, void *rec)
{
    struct store_inbound *in = rec;

    memset(in, 0, sizeof *in);
    in->id = sqlite3_column_int64(s, 0);
    in->received_at = sqlite3_column_int64(s, 4);
    in->invitation_id = sqlite3_column_int64(s, 7);
    if (store_col_dup(s, 1, &in->message_id) ||
        store_col_dup(s, 2, &in->sha256) ||
        store_col_dup(s, 3, &in->source_key) ||
        store_col_dup(s, 5, &in->kind) || store_col_dup(s, 6, &in->token) ||
        store_col_dup(s, 8, &in->outcome) || store_col_dup(s, 9, &in->note) ||
        store_col_dup(s, 10, &in->sender) ||
        store_col_dup(s, 11, &in->subject)) {
        store_inbound_clear(in);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

static void
clear_inbound(void *rec)
{
    store_inbound_clear(rec);
}

enum eq_err
store_review_list(struct store *st, struct store_inbound **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_REVIEW_LIST, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, SQLITE_OK, sizeof **out, read_inbound,
                         clear_inbound, out, n);
}

enum eq_err
store_inbound_set_outcome(struct store *st, int64_t id, const char *outcome,
                          const char *note, int64_t invitation_id)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (outcome == NULL) {
        store_set_msg(st, "no outcome");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_INB_OUTCOME, &s);
    if (err != EQ_OK)
        return err;
    return store_run_update(
        st, s,
        store_bind_i64(s, 1, id) | store_bind_text(s, 2, outcome) |
            store_bind_i64(s, 3, invitation_id) |
            (note ? store_bind_text(s, 4, note) : sqlite3_bind_null(s, 4)));
}

enum eq_err
store_inbound_get(struct store *st, int64_t id, struct store_inbound *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_INB_GET, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return store_fetch(st, s, store_bind_i64(s, 1, id), out, read_inbound);
}

void
store_inbound_clear(struct store_inbound *in)
{
    if (in == NULL)
        return;
    free(in->message_id);
    free(in->sha256);
    free(in->source_key);
    free(in->kind);
    free(in->token);
    free(in->outcome);
    free(in->note);
    free(in->sender);
    free(in->subject);
    memset(in, 0, sizeof *in);
}

void
store_inbounds_free(struct store_inbound *in, size_t n)
{
    store_free_array(in, n, sizeof *in, clear_inbound);
}
