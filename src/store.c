/*
 * store: the SQLite connection, the schema and its migrations, transactions
 * and the helpers every store_PART.c shares (store_int.h). The tables' own
 * queries live in those part files, each with its SQL, not here.
 */
#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- schema ----------------------------------------------------------- */

/* Migration N (1-based) brings user_version from N-1 to N. Append only:
 * a shipped migration is never edited. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE department ("
    " id INTEGER PRIMARY KEY,"
    " code TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL,"
    " created_at INTEGER NOT NULL DEFAULT " SQL_NOW ","
    " updated_at INTEGER NOT NULL DEFAULT " SQL_NOW ");"
    "CREATE TABLE employee ("
    " id INTEGER PRIMARY KEY,"
    " email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " name TEXT,"
    " department_id INTEGER REFERENCES department(id),"
    " language TEXT,"
    " active INTEGER NOT NULL DEFAULT 1,"
    " undeliverable INTEGER NOT NULL DEFAULT 0,"
    " opted_out INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL DEFAULT " SQL_NOW ","
    " updated_at INTEGER NOT NULL DEFAULT " SQL_NOW ");"
    "CREATE INDEX employee_department ON employee(department_id);"
    "CREATE TABLE alias ("
    " id INTEGER PRIMARY KEY,"
    " email TEXT NOT NULL UNIQUE COLLATE NOCASE,"
    " employee_id INTEGER NOT NULL REFERENCES employee(id) ON DELETE CASCADE);"
    "CREATE INDEX alias_employee ON alias(employee_id);"
    "CREATE TABLE manager ("
    " employee_id INTEGER NOT NULL REFERENCES employee(id) ON DELETE CASCADE,"
    " department_id INTEGER NOT NULL REFERENCES department(id) ON DELETE "
    "CASCADE,"
    " PRIMARY KEY (employee_id, department_id)) WITHOUT ROWID;"
    "CREATE INDEX manager_department ON manager(department_id);"
    "CREATE TABLE campaign ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE period ("
    " id INTEGER PRIMARY KEY,"
    " campaign_id INTEGER NOT NULL REFERENCES campaign(id),"
    " label TEXT NOT NULL,"
    " first_day INTEGER NOT NULL,"
    " last_day INTEGER NOT NULL,"
    " closed_at INTEGER,"
    " digest_at INTEGER,"
    " UNIQUE (campaign_id, label),"
    " CHECK (first_day <= last_day));"
    "CREATE TABLE token ("
    " token TEXT PRIMARY KEY,"
    " kind TEXT NOT NULL CHECK (kind IN ('invitation','digest')),"
    " created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE invitation ("
    " id INTEGER PRIMARY KEY,"
    " token TEXT NOT NULL UNIQUE REFERENCES token(token),"
    " campaign_id INTEGER NOT NULL REFERENCES campaign(id),"
    " period_id INTEGER NOT NULL REFERENCES period(id),"
    " employee_id INTEGER REFERENCES employee(id) ON DELETE SET NULL,"
    " rater_department_id INTEGER REFERENCES department(id),"
    " provider_department_id INTEGER NOT NULL REFERENCES department(id),"
    " language TEXT,"
    " state TEXT NOT NULL DEFAULT 'planned' CHECK (state IN ('planned',"
    "  'sending','sent','reminded','answered','expired','deferred','failed',"
    "  'bounced','opted_out','cancelled')),"
    " planned_at INTEGER NOT NULL,"
    " sent_at INTEGER,"
    " answered_at INTEGER,"
    " closes_at INTEGER,"
    " next_attempt_at INTEGER,"
    " reminded_at INTEGER,"
    " reminders INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT);"
    "CREATE INDEX invitation_state ON invitation(state, planned_at);"
    "CREATE INDEX invitation_period ON invitation(period_id,"
    " provider_department_id);"
    "CREATE INDEX invitation_employee ON invitation(employee_id, planned_at);"
    "CREATE TABLE inbound ("
    " id INTEGER PRIMARY KEY,"
    " message_id TEXT,"
    " sha256 TEXT NOT NULL UNIQUE,"
    " source_key TEXT,"
    " received_at INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " token TEXT,"
    " invitation_id INTEGER REFERENCES invitation(id) ON DELETE SET NULL,"
    " outcome TEXT NOT NULL,"
    " note TEXT,"
    " sender TEXT,"
    " subject TEXT);"
    "CREATE INDEX inbound_message_id ON inbound(message_id);"
    "CREATE INDEX inbound_outcome ON inbound(outcome, received_at);"
    "CREATE TABLE answer ("
    " id INTEGER PRIMARY KEY,"
    " invitation_id INTEGER NOT NULL REFERENCES invitation(id)"
    "  ON DELETE CASCADE,"
    " metric TEXT NOT NULL,"
    " score INTEGER,"
    " not_applicable INTEGER NOT NULL DEFAULT 0,"
    " received_at INTEGER NOT NULL,"
    " inbound_id INTEGER REFERENCES inbound(id) ON DELETE SET NULL,"
    " superseded INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX answer_invitation ON answer(invitation_id, metric);"
    "CREATE TABLE comment ("
    " id INTEGER PRIMARY KEY,"
    " invitation_id INTEGER NOT NULL REFERENCES invitation(id)"
    "  ON DELETE CASCADE,"
    " text TEXT NOT NULL,"
    " received_at INTEGER NOT NULL,"
    " inbound_id INTEGER REFERENCES inbound(id) ON DELETE SET NULL);"
    "CREATE INDEX comment_invitation ON comment(invitation_id);"
    "CREATE TABLE digest_sent ("
    " id INTEGER PRIMARY KEY,"
    " period_id INTEGER NOT NULL REFERENCES period(id),"
    " recipient TEXT NOT NULL COLLATE NOCASE,"
    " department_id INTEGER REFERENCES department(id),"
    " token TEXT,"
    " sent_at INTEGER NOT NULL,"
    " UNIQUE (period_id, recipient));"
    "CREATE TABLE run_log ("
    " id INTEGER PRIMARY KEY,"
    " command TEXT NOT NULL,"
    " started_at INTEGER NOT NULL,"
    " finished_at INTEGER,"
    " ok INTEGER NOT NULL,"
    " summary TEXT);",
    /* 2: when people joined (joiners wait for the next period), and settings
     * kept with the data, such as the scheduler's seed. */
    "ALTER TABLE employee ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 3: where reading a mailbox resumes (IMAP UIDVALIDITY and last UID). */
    "CREATE TABLE mailbox ("
    " name TEXT PRIMARY KEY,"
    " uidvalidity INTEGER NOT NULL,"
    " last_uid INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);",
    /* 4: the feedback loop (actions managers send by replying to their
     * digest, numbered per department as they see them; the notices that
     * tell raters about them, once per period) and data-protection
     * bookkeeping per period (anonymised at close, purged by retention). */
    "CREATE TABLE action ("
    " id INTEGER PRIMARY KEY,"
    " department_id INTEGER NOT NULL REFERENCES department(id),"
    " campaign_id INTEGER NOT NULL REFERENCES campaign(id),"
    " period_id INTEGER NOT NULL REFERENCES period(id),"
    " number INTEGER NOT NULL,"
    " text TEXT NOT NULL,"
    " metric TEXT,"
    " due_day INTEGER,"
    " state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','done')),"
    " created_at INTEGER NOT NULL,"
    " done_at INTEGER,"
    " inbound_id INTEGER REFERENCES inbound(id) ON DELETE SET NULL,"
    " author_id INTEGER REFERENCES employee(id) ON DELETE SET NULL,"
    " UNIQUE (department_id, number));"
    "CREATE INDEX action_period ON action(period_id, department_id);"
    "CREATE INDEX digest_sent_token ON digest_sent(token);"
    "CREATE TABLE action_notice ("
    " period_id INTEGER NOT NULL REFERENCES period(id),"
    " employee_id INTEGER NOT NULL REFERENCES employee(id) ON DELETE CASCADE,"
    " sent_at INTEGER NOT NULL,"
    " PRIMARY KEY (period_id, employee_id)) WITHOUT ROWID;"
    "ALTER TABLE period ADD COLUMN anonymised_at INTEGER;"
    "ALTER TABLE period ADD COLUMN purged_at INTEGER;"
    /* A period's invitations in (provider, rater department) order: the
     * score counts of reports and digests group by those, and with the
     * order at hand SQLite aggregates as it reads instead of sorting every
     * answer first (memory that grew with the answers). It replaces the
     * (period_id, provider_department_id) index it extends. */
    "DROP INDEX invitation_period;"
    "CREATE INDEX invitation_period_rater ON invitation(period_id,"
    " provider_department_id, rater_department_id);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* --- statements --------------------------------------------------------- */

enum sid {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_USER_VERSION,
    S_SNAPSHOT,
    S__COUNT
};

static const char *const sql_text[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT store_op",
    [S_RELEASE] = "RELEASE store_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_op",
    [S_USER_VERSION] = "PRAGMA user_version",
    [S_SNAPSHOT] = "VACUUM INTO ?1",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S__COUNT];
    sqlite3_stmt *part[STORE_PART__COUNT][STORE_PART_SLOTS];
    struct eq_buf msg; /* last error, kept past statement resets */
};

/* --- helpers ---------------------------------------------------------- */

static void
set_msg(struct store *st, const char *m)
{
    buf_reset(&st->msg);
    buf_add(&st->msg, m);
}

/* Maps a failed SQLite result to our error and keeps the message. */
static enum eq_err
fail(struct store *st, int rc)
{
    set_msg(st, sqlite3_errmsg(st->db));
    switch (rc) {
    case SQLITE_NOMEM:
        return EQ_ERR_NOMEM;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return EQ_ERR_DATA;
    default:
        break;
    }
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return EQ_ERR_TEMP;
    /* A full disk or a read-only file system is the operator's to fix and
     * nothing is lost meanwhile (every write is a transaction): a temporary
     * failure, said plainly, so cron's next run carries on afterwards. */
    int sys = st->db ? sqlite3_system_errno(st->db) : 0;
    if ((rc & 0xff) == SQLITE_FULL ||
        ((rc & 0xff) == SQLITE_IOERR && sys == ENOSPC)) {
        set_msg(st, "the disk is full");
        return EQ_ERR_TEMP;
    }
    if ((rc & 0xff) == SQLITE_READONLY ||
        ((rc & 0xff) == SQLITE_IOERR && sys == EROFS)) {
        set_msg(st, "the database is read-only");
        return EQ_ERR_TEMP;
    }
    return EQ_ERR_DB;
}

static enum eq_err
prep(struct store *st, enum sid id, sqlite3_stmt **out)
{
    *out = NULL;
    if (st->stmt[id] == NULL) {
        int rc =
            sqlite3_prepare_v3(st->db, sql_text[id], -1,
                               SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            st->stmt[id] = NULL;
            return fail(st, rc);
        }
    }
    *out = st->stmt[id];
    return EQ_OK;
}

/* --- for the other files of the store module (store_int.h) ------------- */

sqlite3 *
store_db(struct store *st)
{
    return st->db;
}

enum eq_err
store_fail(struct store *st, int rc)
{
    return fail(st, rc);
}

void
store_set_msg(struct store *st, const char *msg)
{
    set_msg(st, msg);
}

enum eq_err
store_prep_part(struct store *st, enum store_part part, int slot,
                const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    if (slot < 0 || slot >= STORE_PART_SLOTS)
        return EQ_ERR_SOFTWARE;
    if (st->part[part][slot] == NULL) {
        int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->part[part][slot], NULL);
        if (rc != SQLITE_OK) {
            st->part[part][slot] = NULL;
            return fail(st, rc);
        }
    }
    *out = st->part[part][slot];
    return EQ_OK;
}

static void
done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static int
bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

int
store_bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, v);
}

int
store_bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
    if (v == 0)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_int64(s, i, v);
}

enum eq_err
store_run(struct store *st, sqlite3_stmt *s, int brc)
{
    enum eq_err err = EQ_OK;
    int rc;

    if (brc != SQLITE_OK) {
        err = fail(st, brc);
        goto out;
    }
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = fail(st, rc);
out:
    done(s);
    return err;
}

enum eq_err
store_run_update(struct store *st, sqlite3_stmt *s, int brc)
{
    enum eq_err err = store_run(st, s, brc);

    if (err == EQ_OK && sqlite3_changes(st->db) == 0) {
        set_msg(st, "no such row");
        err = EQ_ERR_NOTFOUND;
    }
    return err;
}

enum eq_err
store_step_row(struct store *st, sqlite3_stmt *s, int brc)
{
    int rc;

    if (brc != SQLITE_OK)
        return fail(st, brc);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return EQ_OK;
    if (rc == SQLITE_DONE) {
        set_msg(st, "not found");
        return EQ_ERR_NOTFOUND;
    }
    return fail(st, rc);
}

/* Steps over a result set: 1 = row, 0 = end, -1 = error in *err. */
static int
step_next(struct store *st, sqlite3_stmt *s, enum eq_err *err)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    *err = fail(st, rc);
    return -1;
}

/* Copies a text column; 0 on success (NULL stays NULL), -1 out of memory. */
static int
col_dup(sqlite3_stmt *s, int i, char **dst)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    *dst = NULL;
    if (t == NULL)
        return sqlite3_column_type(s, i) == SQLITE_NULL ? 0 : -1;
    *dst = strdup((const char *)t);
    return *dst ? 0 : -1;
}

void
store_stmt_done(sqlite3_stmt *s)
{
    if (s != NULL)
        done(s);
}

int
store_stmt_next(struct store *st, sqlite3_stmt *s, enum eq_err *err)
{
    return step_next(st, s, err);
}

int
store_col_dup(sqlite3_stmt *s, int i, char **dst)
{
    return col_dup(s, i, dst);
}

int
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return bind_text(s, i, v);
}

static int
grow(void *arrp, size_t *cap, size_t need, size_t size)
{
    void **arr = arrp;
    size_t nc;
    void *p;

    if (need <= *cap)
        return 0;
    nc = *cap ? *cap * 2 : 16;
    while (nc < need)
        nc *= 2;
    p = reallocarray(*arr, nc, size);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

enum eq_err
store_prep_out(struct store *st, enum store_part part, int slot,
               const char *sql, sqlite3_stmt **s, void *out, size_t size,
               size_t *n)
{
    memset(out, 0, size);
    if (n != NULL)
        *n = 0;
    return store_prep_part(st, part, slot, sql, s);
}

enum eq_err
store_fetch(struct store *st, sqlite3_stmt *s, int brc, void *rec,
            store_row_fn read_row)
{
    enum eq_err err = store_step_row(st, s, brc);

    if (err == EQ_OK)
        err = read_row(s, rec);
    done(s);
    return err;
}

void
store_free_array(void *v, size_t n, size_t size, void (*clear)(void *))
{
    for (size_t i = 0; v != NULL && clear != NULL && i < n; i++)
        clear((char *)v + i * size);
    free(v);
}

enum eq_err
store_collect(struct store *st, sqlite3_stmt *s, int brc, size_t size,
              store_row_fn read_row, void (*clear)(void *), void *out,
              size_t *n)
{
    void *v = NULL;
    size_t cap = 0, len = 0;
    enum eq_err err = brc == SQLITE_OK ? EQ_OK : fail(st, brc);

    while (err == EQ_OK && step_next(st, s, &err) == 1) {
        if (grow(&v, &cap, len + 1, size) != 0) {
            err = EQ_ERR_NOMEM;
            break;
        }
        err = read_row(s, (char *)v + len * size);
        if (err == EQ_OK)
            len++;
        else if (err == EQ_ERR_NOTFOUND)
            err = EQ_OK;
    }
    done(s);
    if (err != EQ_OK) {
        store_free_array(v, len, size, clear);
        return err;
    }
    /* Copied as bytes: writing a T * through a void ** would break
     * aliasing rules. */
    memcpy(out, &v, sizeof v);
    *n = len;
    return EQ_OK;
}

enum eq_err
store_read_i64(sqlite3_stmt *s, void *rec)
{
    *(int64_t *)rec = sqlite3_column_int64(s, 0);
    return EQ_OK;
}

enum eq_err
store_read_string(sqlite3_stmt *s, void *rec)
{
    char **dst = rec;

    if (col_dup(s, 0, dst) != 0)
        return EQ_ERR_NOMEM;
    return *dst != NULL ? EQ_OK : EQ_ERR_NOTFOUND;
}

void
store_clear_string(void *rec)
{
    free(*(char **)rec);
}

enum eq_err
store_atomic_begin(struct store *st, int *nested)
{
    sqlite3_stmt *s;
    enum eq_err err;

    *nested = !sqlite3_get_autocommit(st->db);
    err = prep(st, *nested ? S_SAVEPOINT : S_BEGIN, &s);
    if (err != EQ_OK)
        return err;
    return store_run(st, s, SQLITE_OK);
}

enum eq_err
store_atomic_end(struct store *st, int nested, enum eq_err err)
{
    sqlite3_stmt *s;
    enum eq_err e2;

    if (err == EQ_OK) {
        e2 = prep(st, nested ? S_RELEASE : S_COMMIT, &s);
        if (e2 == EQ_OK)
            e2 = store_run(st, s, SQLITE_OK);
        if (e2 == EQ_OK)
            return EQ_OK;
        err = e2;
    }
    if (nested) {
        if (prep(st, S_ROLLBACK_TO, &s) == EQ_OK)
            store_run(st, s, SQLITE_OK);
        if (prep(st, S_RELEASE, &s) == EQ_OK)
            store_run(st, s, SQLITE_OK);
    } else if (!sqlite3_get_autocommit(st->db)) {
        if (prep(st, S_ROLLBACK, &s) == EQ_OK)
            store_run(st, s, SQLITE_OK);
    }
    return err;
}

/* --- connection ------------------------------------------------------- */

/* mkdir -p with 0700 for the directories it creates; existing ones are
 * left as they are. */
static enum eq_err
make_dirs(const char *dir, struct eq_buf *diag)
{
    enum eq_err err = EQ_OK;
    char *p = strdup(dir);
    struct stat sb;

    if (p == NULL)
        return EQ_ERR_NOMEM;
    for (char *q = p + 1;; q++) {
        char c = *q;
        if (c != '/' && c != '\0')
            continue;
        *q = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            eq_diag(diag, "cannot create directory %s: %s", p, strerror(errno));
            err = errno == EACCES ? EQ_ERR_PERM : EQ_ERR_IO;
            goto out;
        }
        *q = c;
        if (c == '\0')
            break;
    }
    if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        eq_diag(diag, "%s is not a directory", p);
        err = EQ_ERR_IO;
    }
out:
    free(p);
    return err;
}

/* Creates the file 0600 before SQLite sees it, so it never exists with
 * wider permissions; tightens an existing one. */
static enum eq_err
prepare_file(const char *path, struct eq_buf *diag)
{
    const char *slash = strrchr(path, '/');
    enum eq_err err;
    struct stat sb;
    int fd;

    if (slash != NULL && slash != path) {
        char *dir = strndup(path, (size_t)(slash - path));
        if (dir == NULL)
            return EQ_ERR_NOMEM;
        err = make_dirs(dir, diag);
        free(dir);
        if (err != EQ_OK)
            return err;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        eq_diag(diag, "cannot open database %s: %s", path, strerror(e));
        if (e == EROFS || e == ENOSPC) /* the operator's to fix; retry */
            return EQ_ERR_TEMP;
        return e == EACCES || e == EPERM ? EQ_ERR_PERM : EQ_ERR_IO;
    }
    err = EQ_OK;
    if (fstat(fd, &sb) != 0) {
        eq_diag(diag, "cannot stat %s: %s", path, strerror(errno));
        err = EQ_ERR_IO;
    } else if ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) != 0) {
        eq_diag(diag, "database %s is readable by others and chmod failed: %s",
                path, strerror(errno));
        err = EQ_ERR_PERM;
    }
    close(fd);
    return err;
}

static enum eq_err
exec(struct store *st, const char *sql, struct eq_buf *diag)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

    enum eq_err err;

    if (rc == SQLITE_OK)
        return EQ_OK;
    sqlite3_free(msg); /* sqlite3_errmsg says the same, and fail() keeps it */
    err = fail(st, rc);
    eq_diag(diag, "database: %s", buf_str(&st->msg));
    return err;
}

static enum eq_err
migrate(struct store *st, struct eq_buf *diag)
{
    enum eq_err err;
    int v = store_schema_version(st);

    if (v < 0) {
        eq_diag(diag, "cannot read schema version: %s", store_errmsg(st));
        return EQ_ERR_DB;
    }
    if (v > SCHEMA_VERSION) {
        eq_diag(diag,
                "database schema version %d is newer than this enquete "
                "knows (%d)",
                v, SCHEMA_VERSION);
        return EQ_ERR_DB;
    }
    while (v < SCHEMA_VERSION) {
        char set[48];

        err = exec(st, "BEGIN IMMEDIATE", diag);
        if (err != EQ_OK)
            return err;
        /* Another process may have migrated while we waited for the lock. */
        v = store_schema_version(st);
        if (v < 0 || v > SCHEMA_VERSION) {
            exec(st, "ROLLBACK", NULL);
            eq_diag(diag, "unexpected schema version %d", v);
            return EQ_ERR_DB;
        }
        if (v == SCHEMA_VERSION) {
            exec(st, "ROLLBACK", NULL);
            break;
        }
        snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
        err = exec(st, migrations[v], diag);
        if (err == EQ_OK)
            err = exec(st, set, diag);
        if (err == EQ_OK)
            err = exec(st, "COMMIT", diag);
        if (err != EQ_OK) {
            eq_diag(diag, "migration %d failed", v + 1);
            exec(st, "ROLLBACK", NULL);
            return err;
        }
        v++;
    }
    return EQ_OK;
}

enum eq_err
store_open(const char *path, struct store **out, struct eq_buf *diag)
{
    struct store *st;
    enum eq_err err;
    int memory;
    int rc;

    *out = NULL;
    if (path == NULL || *path == '\0') {
        eq_diag(diag, "no database path");
        return EQ_ERR_CONFIG;
    }
    memory = strcmp(path, ":memory:") == 0;
    if (!memory) {
        err = prepare_file(path, diag);
        if (err != EQ_OK)
            return err;
    }
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return EQ_ERR_NOMEM;
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                             (memory ? SQLITE_OPEN_CREATE : 0),
                         NULL);
    if (rc != SQLITE_OK) {
        eq_diag(diag, "cannot open database %s: %s", path,
                st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        err = rc == SQLITE_NOMEM ? EQ_ERR_NOMEM : EQ_ERR_DB;
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 5000);
    err = exec(st, "PRAGMA foreign_keys = ON", diag);
    if (err == EQ_OK && !memory)
        err = exec(st, "PRAGMA journal_mode = WAL", diag);
    if (err == EQ_OK)
        err = exec(st, "PRAGMA synchronous = NORMAL", diag);
    if (err == EQ_OK)
        err = migrate(st, diag);
    if (err != EQ_OK) {
        eq_diag(diag, "database %s", path);
        goto fail;
    }
    *out = st;
    return EQ_OK;
fail:
    store_close(st);
    return err;
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    for (int p = 0; p < STORE_PART__COUNT; p++)
        for (int i = 0; i < STORE_PART_SLOTS; i++)
            sqlite3_finalize(st->part[p][i]);
    if (st->db != NULL) {
        /* optimize runs ANALYZE over tables that lack statistics: without
         * a limit that is a full scan of millions of invitations on the
         * first run; 400 rows per index is SQLite's advice for optimize. */
        if (sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "PRAGMA analysis_limit = 400; PRAGMA optimize",
                         NULL, NULL, NULL);
        sqlite3_close(st->db);
    }
    buf_free(&st->msg);
    free(st);
}

int
store_schema_version(struct store *st)
{
    sqlite3_stmt *s;
    int v;

    if (prep(st, S_USER_VERSION, &s) != EQ_OK)
        return -1;
    if (store_step_row(st, s, SQLITE_OK) != EQ_OK) {
        done(s);
        return -1;
    }
    v = sqlite3_column_int(s, 0);
    done(s);
    return v;
}

static enum eq_err
run_plain(struct store *st, enum sid id)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, id, &s);

    if (err != EQ_OK)
        return err;
    return store_run(st, s, SQLITE_OK);
}

enum eq_err
store_begin(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        set_msg(st, "transaction already open");
        return EQ_ERR_SOFTWARE;
    }
    return run_plain(st, S_BEGIN);
}

enum eq_err
store_commit(struct store *st)
{
    enum eq_err err = run_plain(st, S_COMMIT);

    /* A failed COMMIT (busy, disk full) leaves the transaction open: end
     * it, so the next store_begin starts clean. */
    if (err != EQ_OK)
        store_rollback(st);
    return err;
}

void
store_rollback(struct store *st)
{
    if (st != NULL && !sqlite3_get_autocommit(st->db))
        run_plain(st, S_ROLLBACK);
}

const char *
store_errmsg(struct store *st)
{
    if (st == NULL)
        return "no database";
    if (st->msg.len > 0)
        return buf_str(&st->msg);
    return sqlite3_errmsg(st->db);
}

enum eq_err
store_snapshot(struct store *st, const char *path)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_SNAPSHOT, &s);

    if (err != EQ_OK)
        return err;
    return store_run(st, s, bind_text(s, 1, path));
}

void
store_strings_free(char **s, size_t n)
{
    store_free_array(s, n, sizeof *s, store_clear_string);
}
