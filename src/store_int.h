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

/* One entry per file of the store module besides store.c. */
enum store_part {
    STORE_PART_REPORT,  /* store_report.c: results, trends, HR counts */
    STORE_PART_PRIVACY, /* store_privacy.c: export, erase, retention, anon */
    STORE_PART_ACTION,  /* store_action.c: digest actions (feedback loop) */
    STORE_PART_OPS,     /* store_ops.c: status and daemon bookkeeping */
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

#endif
