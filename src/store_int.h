/*
 * store_int: what the files of the store module share. store.c owns the
 * connection, the schema and its migrations; each store_PART.c keeps its own
 * SQL and prepares it through store_prep_part into its own slots, so that
 * every SQL statement stays inside the store module while no single file
 * grows without bound. Only store*.c include this header.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* Only for the created/updated bookkeeping columns: every time that
 * matters to the product comes in from the caller's clock. */
#define SQL_NOW "(CAST(strftime('%s','now') AS INTEGER))"

/* One entry per file of the store module besides store.c. */
enum store_part {
    STORE_PART_REPORT,     /* store_report.c: results, trends, HR counts */
    STORE_PART_PRIVACY,    /* store_privacy.c: export, erase, retention, anon */
    STORE_PART_ACTION,     /* store_action.c: digest actions (feedback loop) */
    STORE_PART_OPS,        /* store_ops.c: status and daemon bookkeeping */
    STORE_PART_PEOPLE,     /* store_people.c: departments, employees, aliases */
    STORE_PART_INVITATION, /* store_invitation.c: invitations, answers */
    STORE_PART_INBOUND,    /* store_inbound.c: mail read, review queue */
    STORE_PART_RUNS,       /* store_runs.c: digests, run log, mailbox, meta */
    STORE_PART__COUNT
};
#define STORE_PART_SLOTS 64

sqlite3 *store_db(struct store *st);
/* Maps a failed SQLite result code to an eq_err, keeping sqlite's message
 * for store_errmsg. */
enum eq_err store_fail(struct store *st, int rc);
void store_set_msg(struct store *st, const char *msg);
/* The statement in slot (0..STORE_PART_SLOTS-1) of part, prepared from sql
 * on first use and kept until store_close. The caller resets it after use
 * (sqlite3_reset + sqlite3_clear_bindings). */
enum eq_err store_prep_part(struct store *st, enum store_part part, int slot,
                            const char *sql, sqlite3_stmt **out);

/* Resets s and clears its bindings for the next use (NULL is fine). */
void store_stmt_done(sqlite3_stmt *s);
/* Steps over a result set: 1 = a row, 0 = the end, -1 = an error (its
 * eq_err in *err, sqlite's message kept). */
int store_stmt_next(struct store *st, sqlite3_stmt *s, enum eq_err *err);
/* Copies text column i into *dst (NULL stays NULL); -1 out of memory. */
int store_col_dup(sqlite3_stmt *s, int i, char **dst);
/* Binds v as text (NULL as NULL), without copying: v must outlive the
 * step. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);
int store_bind_i64(sqlite3_stmt *s, int i, int64_t v);
/* Ids and times use 0 for "none" in the structs and NULL in the tables. */
int store_bind_opt(sqlite3_stmt *s, int i, int64_t v);

/* Steps a statement that returns no row (brc: the binds' result); always
 * resets it. */
enum eq_err store_run(struct store *st, sqlite3_stmt *s, int brc);
/* Runs an UPDATE by id; EQ_ERR_NOTFOUND when no row matched. */
enum eq_err store_run_update(struct store *st, sqlite3_stmt *s, int brc);
/* Steps once: EQ_OK with a row, EQ_ERR_NOTFOUND without. Leaves the
 * statement positioned on the row; the caller resets. */
enum eq_err store_step_row(struct store *st, sqlite3_stmt *s, int brc);

/* Fills one record from the current row. On failure it leaves nothing to
 * free; EQ_ERR_NOTFOUND asks store_collect() to pass the row over. */
typedef enum eq_err (*store_row_fn)(sqlite3_stmt *s, void *rec);

/* store_prep_part after emptying the caller's result (a record of size
 * bytes, or an array pointer with its count n), so every error hands out
 * zeroes. */
enum eq_err store_prep_out(struct store *st, enum store_part part, int slot,
                           const char *sql, sqlite3_stmt **s, void *out,
                           size_t size, size_t *n);
/* Reads the one row of a bound statement (brc: the binds' result) into
 * rec; EQ_ERR_NOTFOUND without a row. Always resets the statement. */
enum eq_err store_fetch(struct store *st, sqlite3_stmt *s, int brc, void *rec,
                        store_row_fn read_row);
/* Reads every row of a bound statement into a new array of size-byte
 * records at *out (the caller's T **) and always resets the statement.
 * clear (NULL for flat records) undoes the records read before a failure.
 * An empty result is EQ_OK with NULL and 0. */
enum eq_err store_collect(struct store *st, sqlite3_stmt *s, int brc,
                          size_t size, store_row_fn read_row,
                          void (*clear)(void *), void *out, size_t *n);
/* Clears each of n size-byte records (clear NULL for flat ones), then
 * frees the array. */
void store_free_array(void *v, size_t n, size_t size, void (*clear)(void *));
/* Row readers for store_fetch/store_collect: column 0 as an int64_t, or
 * as a copied string (a NULL text is passed over rather than handed out
 * as a NULL string); store_clear_string frees such a string. */
enum eq_err store_read_i64(sqlite3_stmt *s, void *rec);
enum eq_err store_read_string(sqlite3_stmt *s, void *rec);
void store_clear_string(void *rec);

/* One write that must be all-or-nothing: a savepoint inside the caller's
 * transaction, else BEGIN IMMEDIATE so a read-then-write cannot hit
 * SQLITE_BUSY_SNAPSHOT halfway. store_atomic_end commits (or releases) on
 * EQ_OK, else rolls back, and returns the first error. */
enum eq_err store_atomic_begin(struct store *st, int *nested);
enum eq_err store_atomic_end(struct store *st, int nested, enum eq_err err);

#endif
