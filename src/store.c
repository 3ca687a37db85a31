#include "store.h"
#include "store_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- schema ----------------------------------------------------------- */

/* Only for the created/updated bookkeeping columns: every time that
 * matters to the product comes in from the caller's clock. */
#define SQL_NOW "(CAST(strftime('%s','now') AS INTEGER))"

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
    "ALTER TABLE period ADD COLUMN purged_at INTEGER;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

/* --- statements --------------------------------------------------------- */

#define EMP_SELECT                                                             \
    "SELECT e.id, e.email, e.name, e.department_id, d.code, d.name,"           \
    " e.language, e.active, e.undeliverable, e.opted_out,"                     \
    " EXISTS (SELECT 1 FROM manager m WHERE m.employee_id = e.id"              \
    "  AND m.department_id = e.department_id), e.joined_at"                    \
    " FROM employee e LEFT JOIN department d ON d.id = e.department_id "

#define INV_WHERE                                                              \
    "WHERE i.state IN (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"          \
    " AND (?12 = 0 OR i.campaign_id = ?12)"                                    \
    " AND (?13 = 0 OR i.period_id = ?13)"                                      \
    " AND (?14 = 0 OR i.employee_id = ?14)"                                    \
    " AND (?15 = 0 OR i.planned_at <= ?15)"                                    \
    " AND (?16 = 0 OR i.sent_at <= ?16)"                                       \
    " AND (?17 = 0 OR i.next_attempt_at <= ?17)"                               \
    " AND (?18 = 0 OR i.closes_at <= ?18)"                                     \
    " ORDER BY i.planned_at, i.id LIMIT ?19"

#define INV_SELECT                                                             \
    "SELECT i.id, i.token, i.campaign_id, i.period_id, i.employee_id,"         \
    " i.rater_department_id, i.provider_department_id, i.language, i.state,"   \
    " i.planned_at, i.sent_at, i.answered_at, i.closes_at, i.next_attempt_at," \
    " i.reminders, i.attempts, i.last_error, c.name, p.label, e.email,"        \
    " e.name, d.code, d.name,"                                                 \
    " COALESCE(e.active AND NOT e.undeliverable AND NOT e.opted_out, 0)"       \
    " FROM invitation i JOIN campaign c ON c.id = i.campaign_id"               \
    " JOIN period p ON p.id = i.period_id"                                     \
    " LEFT JOIN employee e ON e.id = i.employee_id"                            \
    " LEFT JOIN department d ON d.id = i.provider_department_id "

#define INB_SELECT                                                             \
    "SELECT id, message_id, sha256, source_key, received_at, kind, token,"     \
    " invitation_id, outcome, note, sender, subject FROM inbound "

#define PERIOD_SELECT                                                          \
    "SELECT id, campaign_id, label, first_day, last_day, closed_at,"           \
    " digest_at FROM period "

enum sid {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_USER_VERSION,
    S_DEPT_BY_CODE,
    S_DEPT_INSERT,
    S_DEPT_UPDATE,
    S_DEPTS,
    S_EMP_BY_EMAIL,
    S_EMP_BY_ALIAS,
    S_EMP_INSERT,
    S_EMP_UPDATE,
    S_EMP_FIND,
    S_EMP_GET,
    S_EMPS,
    S_EMP_FLAGS,
    S_EMP_ACTIVE_IDS,
    S_EMP_DEACTIVATE,
    S_ALIAS_DELETE_ONE,
    S_ALIASES,
    S_ALIAS_OWNER,
    S_ALIAS_DELETE,
    S_ALIAS_INSERT,
    S_MANAGER_ADD,
    S_MANAGER_DEL,
    S_MANAGERS,
    S_CAMPAIGN_GET,
    S_CAMPAIGN_INSERT,
    S_PERIOD_GET,
    S_PERIOD_INSERT,
    S_PERIODS,
    S_PERIOD_CLOSED,
    S_PERIOD_DIGEST,
    S_EMP_DEPT,
    S_TOKEN_INSERT,
    S_TOKEN_KIND,
    S_INV_INSERT,
    S_INV_BY_TOKEN,
    S_INV_GET,
    S_INV_FILTER,
    S_INV_IDS,
    S_INV_BY_IDS,
    S_INV_SET_STATE,
    S_INV_DEFER,
    S_INV_REMINDED,
    S_LAST_INVITED,
    S_NA_BLOCKS,
    S_PROVIDER_COUNTS,
    S_ANSWER_SUPERSEDE,
    S_ANSWER_INSERT,
    S_COMMENT_INSERT,
    S_SCORE_COUNTS,
    S_COMMENTS,
    S_INB_FIND,
    S_INB_INSERT,
    S_REVIEW_LIST,
    S_INB_OUTCOME,
    S_INB_GET,
    S_DIGEST_SENT,
    S_DIGEST_LOG,
    S_RUN_LOG,
    S_ST_STATES,
    S_ST_REVIEW,
    S_ST_INBOUND,
    S_ST_ACTIVE,
    S_ST_LAST_RUN,
    S_ST_NEXT,
    S_SNAPSHOT,
    S_META_GET,
    S_META_SET,
    S_CANCEL_INACTIVE,
    S_MAILBOX_GET,
    S_MAILBOX_SET,
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
    [S_DEPT_BY_CODE] = "SELECT id, code, name FROM department WHERE code = ?1",
    [S_DEPT_INSERT] = "INSERT INTO department (code, name) VALUES (?1, ?2)",
    [S_DEPT_UPDATE] = "UPDATE department SET name = ?2,"
                      " updated_at = " SQL_NOW " WHERE id = ?1",
    [S_DEPTS] = "SELECT id, code, name FROM department ORDER BY id",
    [S_EMP_BY_EMAIL] = "SELECT id, email, name, department_id, language,"
                       " active FROM employee WHERE email = ?1",
    [S_EMP_BY_ALIAS] = "SELECT e.id, e.email, e.name, e.department_id,"
                       " e.language, e.active FROM alias a"
                       " JOIN employee e ON e.id = a.employee_id"
                       " WHERE a.email = ?1",
    [S_EMP_INSERT] = "INSERT INTO employee (email, name, department_id,"
                     " language, active, joined_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_EMP_UPDATE] = "UPDATE employee SET email = ?2, name = ?3,"
                     " department_id = ?4, language = ?5, active = ?6,"
                     " updated_at = " SQL_NOW " WHERE id = ?1",
    [S_EMP_FIND] = EMP_SELECT "WHERE e.email = ?1 OR e.id IN"
                              " (SELECT employee_id FROM alias"
                              " WHERE email = ?1) LIMIT 1",
    [S_EMP_GET] = EMP_SELECT "WHERE e.id = ?1",
    [S_EMPS] = EMP_SELECT "ORDER BY e.id",
    [S_EMP_FLAGS] = "UPDATE employee SET active = ?2, undeliverable = ?3,"
                    " opted_out = ?4,"
                    " updated_at = " SQL_NOW " WHERE id = ?1",
    [S_EMP_ACTIVE_IDS] = "SELECT id FROM employee WHERE active = 1"
                         " ORDER BY id",
    [S_EMP_DEACTIVATE] = "UPDATE employee SET active = 0,"
                         " updated_at = " SQL_NOW " WHERE id = ?1",
    [S_ALIAS_DELETE_ONE] = "DELETE FROM alias WHERE email = ?1",
    [S_ALIASES] = "SELECT email FROM alias WHERE employee_id = ?1"
                  " ORDER BY email",
    [S_ALIAS_OWNER] = "SELECT id FROM employee WHERE email = ?1 UNION ALL"
                      " SELECT employee_id FROM alias WHERE email = ?1",
    [S_ALIAS_DELETE] = "DELETE FROM alias WHERE employee_id = ?1",
    [S_ALIAS_INSERT] = "INSERT INTO alias (email, employee_id)"
                       " VALUES (?1, ?2)",
    [S_MANAGER_ADD] = "INSERT INTO manager (employee_id, department_id)"
                      " VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [S_MANAGER_DEL] = "DELETE FROM manager WHERE employee_id = ?1"
                      " AND department_id = ?2",
    [S_MANAGERS] = EMP_SELECT "JOIN manager mg ON mg.employee_id = e.id"
                              " WHERE mg.department_id = ?1"
                              " AND e.active = 1 ORDER BY e.id",
    [S_CAMPAIGN_GET] = "SELECT id FROM campaign WHERE name = ?1",
    [S_CAMPAIGN_INSERT] = "INSERT INTO campaign (name) VALUES (?1)",
    [S_PERIOD_GET] = PERIOD_SELECT "WHERE campaign_id = ?1 AND label = ?2",
    [S_PERIOD_INSERT] = "INSERT INTO period (campaign_id, label, first_day,"
                        " last_day) VALUES (?1, ?2, ?3, ?4)",
    [S_PERIODS] = PERIOD_SELECT "WHERE campaign_id = ?1"
                                " ORDER BY first_day, id",
    [S_PERIOD_CLOSED] = "UPDATE period SET closed_at = ?2 WHERE id = ?1",
    [S_PERIOD_DIGEST] = "UPDATE period SET digest_at = ?2 WHERE id = ?1",
    [S_EMP_DEPT] = "SELECT department_id FROM employee WHERE id = ?1",
    [S_TOKEN_INSERT] = "INSERT INTO token (token, kind, created_at)"
                       " VALUES (?1, ?2, ?3)",
    [S_TOKEN_KIND] = "SELECT kind FROM token WHERE token = ?1",
    [S_INV_INSERT] =
        "INSERT INTO invitation (token, campaign_id, period_id, employee_id,"
        " rater_department_id, provider_department_id, language, state,"
        " planned_at, sent_at, answered_at, closes_at, next_attempt_at,"
        " reminders, attempts, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [S_INV_BY_TOKEN] = INV_SELECT "WHERE i.token = ?1",
    [S_INV_GET] = INV_SELECT "WHERE i.id = ?1",
    /* The state mask becomes eleven IN slots, NULL for unwanted states, so
     * the (state, planned_at) index stays usable. */
    [S_INV_FILTER] = INV_SELECT INV_WHERE,
    [S_INV_IDS] = "SELECT i.id FROM invitation i " INV_WHERE,
    /* A page of rows by id: the ids as one JSON array parameter. */
    [S_INV_BY_IDS] = INV_SELECT "WHERE i.id IN (SELECT value FROM"
                                " json_each(?1)) ORDER BY i.planned_at, i.id",
    [S_INV_SET_STATE] =
        "UPDATE invitation SET state = ?2,"
        " sent_at = CASE WHEN ?2 = 'sent' THEN ?3 ELSE sent_at END,"
        " answered_at = CASE WHEN ?2 = 'answered' THEN ?3 ELSE answered_at"
        " END, last_error = ?4 WHERE id = ?1",
    [S_INV_DEFER] = "UPDATE invitation SET state = 'deferred',"
                    " attempts = attempts + 1, next_attempt_at = ?2,"
                    " last_error = ?3 WHERE id = ?1",
    [S_INV_REMINDED] = "UPDATE invitation SET state = 'reminded',"
                       " reminders = reminders + 1, reminded_at = ?2"
                       " WHERE id = ?1",
    [S_LAST_INVITED] = "SELECT employee_id, 0, COUNT(*), MAX(planned_at)"
                       " FROM invitation WHERE employee_id IS NOT NULL"
                       " GROUP BY employee_id ORDER BY employee_id",
    [S_NA_BLOCKS] = "SELECT i.employee_id, i.provider_department_id, COUNT(*),"
                    " MAX(a.received_at) FROM answer a"
                    " JOIN invitation i ON i.id = a.invitation_id"
                    " WHERE a.superseded = 0 AND a.not_applicable = 1"
                    " AND a.received_at >= ?1 AND i.employee_id IS NOT NULL"
                    " GROUP BY i.employee_id, i.provider_department_id"
                    " ORDER BY i.employee_id, i.provider_department_id",
    [S_PROVIDER_COUNTS] =
        "SELECT provider_department_id, SUM(state = 'answered'), COUNT(*), 0"
        " FROM invitation WHERE period_id = ?1 AND state <> 'cancelled'"
        " GROUP BY provider_department_id ORDER BY provider_department_id",
    [S_ANSWER_SUPERSEDE] = "UPDATE answer SET superseded = 1"
                           " WHERE invitation_id = ?1 AND metric = ?2"
                           " AND superseded = 0",
    [S_ANSWER_INSERT] = "INSERT INTO answer (invitation_id, metric, score,"
                        " not_applicable, received_at, inbound_id)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_COMMENT_INSERT] = "INSERT INTO comment (invitation_id, text,"
                         " received_at, inbound_id) VALUES (?1, ?2, ?3, ?4)",
    [S_SCORE_COUNTS] =
        "SELECT i.provider_department_id,"
        " COALESCE(i.rater_department_id, 0), a.score, COUNT(*)"
        " FROM invitation i JOIN answer a ON a.invitation_id = i.id"
        " WHERE i.period_id = ?1 AND a.metric = ?2 AND a.superseded = 0"
        " AND a.not_applicable = 0 AND a.score IS NOT NULL"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    [S_COMMENTS] = "SELECT c.text FROM comment c"
                   " JOIN invitation i ON i.id = c.invitation_id"
                   " WHERE i.period_id = ?1 AND i.provider_department_id = ?2"
                   " AND c.text <> '' ORDER BY c.received_at, c.id",
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
    [S_DIGEST_SENT] = "SELECT 1 FROM digest_sent WHERE period_id = ?1"
                      " AND recipient = ?2",
    [S_DIGEST_LOG] = "INSERT INTO digest_sent (period_id, recipient,"
                     " department_id, token, sent_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_RUN_LOG] = "INSERT INTO run_log (command, started_at, finished_at, ok,"
                  " summary) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_ST_STATES] = "SELECT state, COUNT(*) FROM invitation GROUP BY state",
    [S_ST_REVIEW] = "SELECT COUNT(*) FROM inbound WHERE outcome = 'review'",
    [S_ST_INBOUND] = "SELECT COUNT(*) FROM inbound",
    [S_ST_ACTIVE] = "SELECT COUNT(*) FROM employee WHERE active = 1",
    [S_ST_LAST_RUN] = "SELECT command, started_at, finished_at, ok, summary"
                      " FROM run_log ORDER BY id DESC LIMIT 1",
    /* A deferred invitation's next try is next_attempt_at, not the
     * original plan. */
    [S_SNAPSHOT] = "VACUUM INTO ?1",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_MAILBOX_GET] = "SELECT uidvalidity, last_uid, updated_at FROM mailbox"
                      " WHERE name = ?1",
    [S_MAILBOX_SET] = "INSERT INTO mailbox (name, uidvalidity, last_uid,"
                      " updated_at) VALUES (?1, ?2, ?3, ?4)"
                      " ON CONFLICT (name) DO UPDATE SET"
                      " uidvalidity = excluded.uidvalidity,"
                      " last_uid = excluded.last_uid,"
                      " updated_at = excluded.updated_at",
    [S_CANCEL_INACTIVE] =
        "UPDATE invitation SET state = 'cancelled', last_error = 'left'"
        " WHERE state IN ('planned', 'sending', 'deferred', 'sent', 'reminded')"
        " AND employee_id IN (SELECT id FROM employee WHERE active = 0)",
    [S_ST_NEXT] = "SELECT MIN(CASE WHEN state = 'deferred'"
                  " THEN COALESCE(next_attempt_at, planned_at)"
                  " ELSE planned_at END) FROM invitation"
                  " WHERE state IN ('planned', 'deferred')",
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

static int
bind_i64(sqlite3_stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(s, i, v);
}

/* Ids and times use 0 for "none" in the structs and NULL in the tables. */
static int
bind_opt(sqlite3_stmt *s, int i, int64_t v)
{
    if (v == 0)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_int64(s, i, v);
}

/* Steps a statement that returns no row; always resets it. */
static enum eq_err
run(struct store *st, sqlite3_stmt *s, int brc)
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

/* Runs an UPDATE by id; EQ_ERR_NOTFOUND when no row matched. */
static enum eq_err
run_update(struct store *st, sqlite3_stmt *s, int brc)
{
    enum eq_err err = run(st, s, brc);

    if (err == EQ_OK && sqlite3_changes(st->db) == 0) {
        set_msg(st, "no such row");
        err = EQ_ERR_NOTFOUND;
    }
    return err;
}

/* Steps once: EQ_OK with a row, EQ_ERR_NOTFOUND without. Leaves the
 * statement positioned on the row; the caller resets. */
static enum eq_err
step_row(struct store *st, sqlite3_stmt *s, int brc)
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

/* Fills one record from the current row. On failure it leaves nothing to
 * free; EQ_ERR_NOTFOUND asks collect() to pass the row over. */
typedef enum eq_err (*row_fn)(sqlite3_stmt *s, void *rec);

/* Prepares id after emptying the caller's result (a record of size bytes,
 * or an array pointer with its count n), so every error hands out zeroes. */
static enum eq_err
prep_out(struct store *st, enum sid id, sqlite3_stmt **s, void *out,
         size_t size, size_t *n)
{
    memset(out, 0, size);
    if (n != NULL)
        *n = 0;
    return prep(st, id, s);
}

/* Reads the one row of a bound statement (brc: the binds' result) into
 * rec; EQ_ERR_NOTFOUND without a row. Always resets the statement. */
static enum eq_err
fetch(struct store *st, sqlite3_stmt *s, int brc, void *rec, row_fn read_row)
{
    enum eq_err err = step_row(st, s, brc);

    if (err == EQ_OK)
        err = read_row(s, rec);
    done(s);
    return err;
}

/* Clears each of n size-byte records (clear NULL for flat ones), then
 * frees the array. */
static void
free_array(void *v, size_t n, size_t size, void (*clear)(void *))
{
    for (size_t i = 0; v != NULL && clear != NULL && i < n; i++)
        clear((char *)v + i * size);
    free(v);
}

/* Reads every row of a bound statement into a new array of size-byte
 * records at *out (the caller's T **) and always resets the statement.
 * clear (NULL for flat records) undoes the records read before a failure.
 * An empty result is EQ_OK with NULL and 0. */
static enum eq_err
collect(struct store *st, sqlite3_stmt *s, int brc, size_t size,
        row_fn read_row, void (*clear)(void *), void *out, size_t *n)
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
        free_array(v, len, size, clear);
        return err;
    }
    /* Copied as bytes: writing a T * through a void ** would break
     * aliasing rules. */
    memcpy(out, &v, sizeof v);
    *n = len;
    return EQ_OK;
}

static enum eq_err
read_i64(sqlite3_stmt *s, void *rec)
{
    *(int64_t *)rec = sqlite3_column_int64(s, 0);
    return EQ_OK;
}

/* A NULL text is passed over rather than handed out as a NULL string. */
static enum eq_err
read_string(sqlite3_stmt *s, void *rec)
{
    char **dst = rec;

    if (col_dup(s, 0, dst) != 0)
        return EQ_ERR_NOMEM;
    return *dst != NULL ? EQ_OK : EQ_ERR_NOTFOUND;
}

static void
clear_string(void *rec)
{
    free(*(char **)rec);
}

static int
str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static char *
lower_dup(const char *s)
{
    char *d = eq_strdup(s);

    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* One write that must be all-or-nothing: a savepoint inside the caller's
 * transaction, else BEGIN IMMEDIATE so a read-then-write cannot hit
 * SQLITE_BUSY_SNAPSHOT halfway. */
static enum eq_err
atomic_begin(struct store *st, int *nested)
{
    sqlite3_stmt *s;
    enum eq_err err;

    *nested = !sqlite3_get_autocommit(st->db);
    err = prep(st, *nested ? S_SAVEPOINT : S_BEGIN, &s);
    if (err != EQ_OK)
        return err;
    return run(st, s, SQLITE_OK);
}

static enum eq_err
atomic_end(struct store *st, int nested, enum eq_err err)
{
    sqlite3_stmt *s;
    enum eq_err e2;

    if (err == EQ_OK) {
        e2 = prep(st, nested ? S_RELEASE : S_COMMIT, &s);
        if (e2 == EQ_OK)
            e2 = run(st, s, SQLITE_OK);
        if (e2 == EQ_OK)
            return EQ_OK;
        err = e2;
    }
    if (nested) {
        if (prep(st, S_ROLLBACK_TO, &s) == EQ_OK)
            run(st, s, SQLITE_OK);
        if (prep(st, S_RELEASE, &s) == EQ_OK)
            run(st, s, SQLITE_OK);
    } else if (!sqlite3_get_autocommit(st->db)) {
        if (prep(st, S_ROLLBACK, &s) == EQ_OK)
            run(st, s, SQLITE_OK);
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
        if (sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "PRAGMA optimize", NULL, NULL, NULL);
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
    if (step_row(st, s, SQLITE_OK) != EQ_OK) {
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
    return run(st, s, SQLITE_OK);
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

/* --- organisation ----------------------------------------------------- */

static enum eq_err
read_department(sqlite3_stmt *s, void *rec)
{
    struct store_department *d = rec;

    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(s, 0);
    if (col_dup(s, 1, &d->code) || col_dup(s, 2, &d->name)) {
        store_department_clear(d);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

/* The clear_* wrappers exist because collect() and free_array() call
 * through void *; casting the typed function would be undefined. */
static void
clear_department(void *rec)
{
    store_department_clear(rec);
}

enum eq_err
store_department_upsert(struct store *st, const char *code, const char *name,
                        int64_t *id, int *changed)
{
    sqlite3_stmt *s;
    enum eq_err err;
    int64_t found = 0;
    int same = 0;

    if (changed)
        *changed = 0;
    if (code == NULL || *code == '\0' || name == NULL) {
        set_msg(st, "department needs a code and a name");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_DEPT_BY_CODE, &s);
    if (err != EQ_OK)
        return err;
    err = step_row(st, s, bind_text(s, 1, code));
    if (err == EQ_OK) {
        found = sqlite3_column_int64(s, 0);
        same = str_eq((const char *)sqlite3_column_text(s, 2), name);
    }
    done(s);
    if (err != EQ_OK && err != EQ_ERR_NOTFOUND)
        return err;
    if (found && same) {
        if (id)
            *id = found;
        return EQ_OK;
    }
    if (found) {
        err = prep(st, S_DEPT_UPDATE, &s);
        if (err == EQ_OK)
            err = run(st, s, bind_i64(s, 1, found) | bind_text(s, 2, name));
    } else {
        err = prep(st, S_DEPT_INSERT, &s);
        if (err == EQ_OK)
            err = run(st, s, bind_text(s, 1, code) | bind_text(s, 2, name));
        found = sqlite3_last_insert_rowid(st->db);
    }
    if (err != EQ_OK)
        return err;
    if (id)
        *id = found;
    if (changed)
        *changed = 1;
    return EQ_OK;
}

enum eq_err
store_departments(struct store *st, struct store_department **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_DEPTS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, SQLITE_OK, sizeof **out, read_department,
                   clear_department, out, n);
}

enum eq_err
store_department_by_code(struct store *st, const char *code,
                         struct store_department *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_DEPT_BY_CODE, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, bind_text(s, 1, code), out, read_department);
}

void
store_department_clear(struct store_department *d)
{
    if (d == NULL)
        return;
    free(d->code);
    free(d->name);
    memset(d, 0, sizeof *d);
}

void
store_departments_free(struct store_department *d, size_t n)
{
    free_array(d, n, sizeof *d, clear_department);
}

static enum eq_err
read_employee(sqlite3_stmt *s, void *rec)
{
    struct store_employee *e = rec;

    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(s, 0);
    e->department_id = sqlite3_column_int64(s, 3);
    e->active = sqlite3_column_int(s, 7);
    e->undeliverable = sqlite3_column_int(s, 8);
    e->opted_out = sqlite3_column_int(s, 9);
    e->manages = sqlite3_column_int(s, 10);
    e->joined_at = sqlite3_column_int64(s, 11);
    if (col_dup(s, 1, &e->email) || col_dup(s, 2, &e->name) ||
        col_dup(s, 4, &e->department_code) ||
        col_dup(s, 5, &e->department_name) || col_dup(s, 6, &e->language)) {
        store_employee_clear(e);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

static void
clear_employee(void *rec)
{
    store_employee_clear(rec);
}

/* Looks an employee up for an upsert: by primary address, else by alias
 * (the same person whose primary address changed). *same = 1 when every
 * imported field already has the wanted value. */
static enum eq_err
employee_match(struct store *st, enum sid id, const char *email,
               const struct store_employee *e, int64_t *found, int *same)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, id, &s);

    *found = 0;
    *same = 0;
    if (err != EQ_OK)
        return err;
    err = step_row(st, s, bind_text(s, 1, email));
    if (err == EQ_OK) {
        *found = sqlite3_column_int64(s, 0);
        *same = str_eq((const char *)sqlite3_column_text(s, 1), email) &&
                str_eq((const char *)sqlite3_column_text(s, 2), e->name) &&
                sqlite3_column_int64(s, 3) == e->department_id &&
                str_eq((const char *)sqlite3_column_text(s, 4), e->language) &&
                sqlite3_column_int(s, 5) == !!e->active;
    }
    done(s);
    return err;
}

enum eq_err
store_employee_upsert(struct store *st, const struct store_employee *e,
                      int64_t *id, int *changed)
{
    char *email = NULL;
    sqlite3_stmt *s;
    enum eq_err err;
    int64_t found = 0;
    int same = 0, by_alias = 0, nested = 0;

    if (changed)
        *changed = 0;
    if (e == NULL || e->email == NULL || *e->email == '\0') {
        set_msg(st, "employee needs an email address");
        return EQ_ERR_DATA;
    }
    email = lower_dup(e->email);
    if (email == NULL)
        return EQ_ERR_NOMEM;
    err = atomic_begin(st, &nested);
    if (err != EQ_OK)
        goto out;
    err = employee_match(st, S_EMP_BY_EMAIL, email, e, &found, &same);
    if (err == EQ_ERR_NOTFOUND) {
        err = employee_match(st, S_EMP_BY_ALIAS, email, e, &found, &same);
        by_alias = err == EQ_OK;
    }
    if (err == EQ_ERR_NOTFOUND) {
        err = prep(st, S_EMP_INSERT, &s);
        if (err == EQ_OK)
            err = run(st, s,
                      bind_text(s, 1, email) | bind_text(s, 2, e->name) |
                          bind_opt(s, 3, e->department_id) |
                          bind_text(s, 4, e->language) |
                          bind_i64(s, 5, !!e->active) |
                          bind_i64(s, 6, e->joined_at));
        found = sqlite3_last_insert_rowid(st->db);
        same = 0;
    } else if (err == EQ_OK && !same) {
        /* An alias that becomes the primary address stops being an alias. */
        if (by_alias) {
            err = prep(st, S_ALIAS_DELETE_ONE, &s);
            if (err == EQ_OK)
                err = run(st, s, bind_text(s, 1, email));
        }
        if (err == EQ_OK)
            err = prep(st, S_EMP_UPDATE, &s);
        if (err == EQ_OK)
            err = run(st, s,
                      bind_i64(s, 1, found) | bind_text(s, 2, email) |
                          bind_text(s, 3, e->name) |
                          bind_opt(s, 4, e->department_id) |
                          bind_text(s, 5, e->language) |
                          bind_i64(s, 6, !!e->active));
    }
    err = atomic_end(st, nested, err);
    if (err != EQ_OK)
        goto out;
    if (id)
        *id = found;
    if (changed)
        *changed = !same;
out:
    free(email);
    return err;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum eq_err
store_employee_set_aliases(struct store *st, int64_t id,
                           const char *const *aliases, size_t n, int *changed)
{
    char **want = NULL, **have = NULL;
    size_t nwant = 0, nhave = 0;
    struct store_employee self = {0};
    sqlite3_stmt *s;
    enum eq_err err;
    int nested = 0, r;

    if (changed)
        *changed = 0;
    err = store_employee_get(st, id, &self);
    if (err != EQ_OK)
        return err;
    want = calloc(n ? n : 1, sizeof *want);
    if (want == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *a;
        if (aliases[i] == NULL)
            continue;
        a = lower_dup(aliases[i]);
        if (a == NULL) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
        eq_trim(a);
        /* The own primary address is no alias; skip it and blanks. */
        if (*a == '\0' || strcmp(a, self.email) == 0) {
            free(a);
            continue;
        }
        want[nwant++] = a;
    }
    qsort(want, nwant, sizeof *want, cmp_str);
    for (size_t i = 1; i < nwant;) {
        if (strcmp(want[i], want[i - 1]) == 0) {
            free(want[i]);
            memmove(&want[i], &want[i + 1], (nwant - i - 1) * sizeof *want);
            nwant--;
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < nwant; i++) {
        err = prep(st, S_ALIAS_OWNER, &s);
        if (err != EQ_OK)
            goto out;
        if (bind_text(s, 1, want[i]) != SQLITE_OK) {
            err = fail(st, SQLITE_NOMEM);
            done(s);
            goto out;
        }
        while ((r = step_next(st, s, &err)) == 1) {
            if (sqlite3_column_int64(s, 0) != id) {
                set_msg(st, "alias belongs to another employee");
                err = EQ_ERR_DATA;
                break;
            }
        }
        done(s);
        if (err != EQ_OK)
            goto out;
    }
    err = store_employee_aliases(st, id, &have, &nhave);
    if (err != EQ_OK)
        goto out;
    if (nhave == nwant) {
        size_t i = 0;
        while (i < nwant && strcmp(have[i], want[i]) == 0)
            i++;
        if (i == nwant)
            goto out;
    }
    err = atomic_begin(st, &nested);
    if (err != EQ_OK)
        goto out;
    err = prep(st, S_ALIAS_DELETE, &s);
    if (err == EQ_OK)
        err = run(st, s, bind_i64(s, 1, id));
    for (size_t i = 0; err == EQ_OK && i < nwant; i++) {
        err = prep(st, S_ALIAS_INSERT, &s);
        if (err == EQ_OK)
            err = run(st, s, bind_text(s, 1, want[i]) | bind_i64(s, 2, id));
    }
    err = atomic_end(st, nested, err);
    if (err == EQ_OK && changed)
        *changed = 1;
out:
    store_strings_free(want, nwant);
    store_strings_free(have, nhave);
    store_employee_clear(&self);
    return err;
}

enum eq_err
store_employee_aliases(struct store *st, int64_t id, char ***out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_ALIASES, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, bind_i64(s, 1, id), sizeof **out, read_string,
                   clear_string, out, n);
}

enum eq_err
store_employee_find(struct store *st, const char *email,
                    struct store_employee *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_EMP_FIND, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, bind_text(s, 1, email), out, read_employee);
}

enum eq_err
store_employee_get(struct store *st, int64_t id, struct store_employee *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_EMP_GET, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, bind_i64(s, 1, id), out, read_employee);
}

enum eq_err
store_employees(struct store *st, struct store_employee **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_EMPS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, SQLITE_OK, sizeof **out, read_employee,
                   clear_employee, out, n);
}

enum eq_err
store_employee_set_flags(struct store *st, int64_t id, int active,
                         int undeliverable, int opted_out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_EMP_FLAGS, &s);

    if (err != EQ_OK)
        return err;
    return run_update(st, s,
                      bind_i64(s, 1, id) | bind_i64(s, 2, !!active) |
                          bind_i64(s, 3, !!undeliverable) |
                          bind_i64(s, 4, !!opted_out));
}

enum eq_err
store_manager_set(struct store *st, int64_t department_id, int64_t employee_id,
                  int manages, int *changed)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, manages ? S_MANAGER_ADD : S_MANAGER_DEL, &s);

    if (changed)
        *changed = 0;
    if (err != EQ_OK)
        return err;
    err =
        run(st, s, bind_i64(s, 1, employee_id) | bind_i64(s, 2, department_id));
    if (err == EQ_OK && changed)
        *changed = sqlite3_changes(st->db) > 0;
    return err;
}

enum eq_err
store_managers(struct store *st, int64_t department_id,
               struct store_employee **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_MANAGERS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, bind_i64(s, 1, department_id), sizeof **out,
                   read_employee, clear_employee, out, n);
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum eq_err
store_employees_deactivate_except(struct store *st, const int64_t *keep,
                                  size_t n, int *changed)
{
    int64_t *sorted = NULL, *active = NULL;
    size_t nactive = 0, ndrop = 0;
    sqlite3_stmt *s;
    enum eq_err err;
    int nested = 0;

    if (changed)
        *changed = 0;
    if (n > 0) {
        sorted = malloc(n * sizeof *sorted);
        if (sorted == NULL)
            return EQ_ERR_NOMEM;
        memcpy(sorted, keep, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_i64);
    }
    err = atomic_begin(st, &nested);
    if (err != EQ_OK)
        goto out;
    err = prep(st, S_EMP_ACTIVE_IDS, &s);
    if (err == EQ_OK)
        err = collect(st, s, SQLITE_OK, sizeof *active, read_i64, NULL, &active,
                      &nactive);
    for (size_t i = 0; err == EQ_OK && i < nactive; i++) {
        if (n > 0 && bsearch(&active[i], sorted, n, sizeof *sorted, cmp_i64))
            continue;
        err = prep(st, S_EMP_DEACTIVATE, &s);
        if (err == EQ_OK)
            err = run(st, s, bind_i64(s, 1, active[i]));
        ndrop++;
    }
    err = atomic_end(st, nested, err);
    /* The number deactivated, so callers can report it. */
    if (err == EQ_OK && changed)
        *changed = (int)ndrop;
out:
    free(sorted);
    free(active);
    return err;
}

void
store_employee_clear(struct store_employee *e)
{
    if (e == NULL)
        return;
    free(e->email);
    free(e->name);
    free(e->department_code);
    free(e->department_name);
    free(e->language);
    memset(e, 0, sizeof *e);
}

void
store_employees_free(struct store_employee *e, size_t n)
{
    free_array(e, n, sizeof *e, clear_employee);
}

void
store_strings_free(char **s, size_t n)
{
    free_array(s, n, sizeof *s, clear_string);
}

/* --- campaigns and periods ------------------------------------------- */

enum eq_err
store_campaign_ensure(struct store *st, const char *name, int64_t *id)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (name == NULL || *name == '\0') {
        set_msg(st, "campaign needs a name");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_CAMPAIGN_GET, &s);
    if (err != EQ_OK)
        return err;
    err = fetch(st, s, bind_text(s, 1, name), id, read_i64);
    if (err != EQ_ERR_NOTFOUND)
        return err;
    err = prep(st, S_CAMPAIGN_INSERT, &s);
    if (err == EQ_OK)
        err = run(st, s, bind_text(s, 1, name));
    if (err == EQ_OK)
        *id = sqlite3_last_insert_rowid(st->db);
    return err;
}

static enum eq_err
read_period(sqlite3_stmt *s, void *rec)
{
    const unsigned char *label = sqlite3_column_text(s, 2);
    struct store_period *p = rec;

    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(s, 0);
    p->campaign_id = sqlite3_column_int64(s, 1);
    if (label != NULL)
        snprintf(p->label, sizeof p->label, "%s", (const char *)label);
    p->first = (eq_day)sqlite3_column_int(s, 3);
    p->last = (eq_day)sqlite3_column_int(s, 4);
    p->closed_at = sqlite3_column_int64(s, 5);
    p->digest_at = sqlite3_column_int64(s, 6);
    return EQ_OK;
}

enum eq_err
store_period_ensure(struct store *st, int64_t campaign_id, const char *label,
                    eq_day first, eq_day last, int64_t *id)
{
    struct store_period p;
    sqlite3_stmt *s;
    enum eq_err err;

    if (label == NULL || *label == '\0' || strlen(label) >= sizeof p.label ||
        first > last) {
        set_msg(st, "bad period label or dates");
        return EQ_ERR_DATA;
    }
    err = store_period_by_label(st, campaign_id, label, &p);
    if (err == EQ_OK) {
        /* The grid is fixed: a label that moved means the campaign's
         * cadence changed under recorded data. */
        if (p.first != first || p.last != last) {
            set_msg(st, "period exists with other dates");
            return EQ_ERR_DATA;
        }
        *id = p.id;
        return EQ_OK;
    }
    if (err != EQ_ERR_NOTFOUND)
        return err;
    err = prep(st, S_PERIOD_INSERT, &s);
    if (err == EQ_OK)
        err = run(st, s,
                  bind_i64(s, 1, campaign_id) | bind_text(s, 2, label) |
                      bind_i64(s, 3, first) | bind_i64(s, 4, last));
    if (err == EQ_OK)
        *id = sqlite3_last_insert_rowid(st->db);
    return err;
}

enum eq_err
store_periods(struct store *st, int64_t campaign_id, struct store_period **out,
              size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_PERIODS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, bind_i64(s, 1, campaign_id), sizeof **out,
                   read_period, NULL, out, n);
}

enum eq_err
store_period_by_label(struct store *st, int64_t campaign_id, const char *label,
                      struct store_period *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_PERIOD_GET, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, bind_i64(s, 1, campaign_id) | bind_text(s, 2, label),
                 out, read_period);
}

enum eq_err
store_period_set_closed(struct store *st, int64_t id, eq_time t)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_PERIOD_CLOSED, &s);

    if (err != EQ_OK)
        return err;
    return run_update(st, s, bind_i64(s, 1, id) | bind_opt(s, 2, t));
}

enum eq_err
store_period_set_digest(struct store *st, int64_t id, eq_time t)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_PERIOD_DIGEST, &s);

    if (err != EQ_OK)
        return err;
    return run_update(st, s, bind_i64(s, 1, id) | bind_opt(s, 2, t));
}

/* --- tokens and invitations ------------------------------------------ */

static const char *const state_names[INV__COUNT] = {
    [INV_PLANNED] = "planned",     [INV_SENDING] = "sending",
    [INV_SENT] = "sent",           [INV_REMINDED] = "reminded",
    [INV_ANSWERED] = "answered",   [INV_EXPIRED] = "expired",
    [INV_DEFERRED] = "deferred",   [INV_FAILED] = "failed",
    [INV_BOUNCED] = "bounced",     [INV_OPTED_OUT] = "opted_out",
    [INV_CANCELLED] = "cancelled",
};

const char *
store_inv_state_name(enum inv_state s)
{
    if ((unsigned)s >= INV__COUNT)
        return "unknown";
    return state_names[s];
}

int
store_inv_state_parse(const char *name, enum inv_state *out)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < INV__COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum inv_state)i;
            return 0;
        }
    }
    return -1;
}

static enum eq_err
read_invitation(sqlite3_stmt *s, void *rec)
{
    const unsigned char *token = sqlite3_column_text(s, 1);
    struct store_invitation *inv = rec;
    enum inv_state state = INV_PLANNED;

    memset(inv, 0, sizeof *inv);
    inv->id = sqlite3_column_int64(s, 0);
    if (token != NULL)
        snprintf(inv->token, sizeof inv->token, "%s", (const char *)token);
    inv->campaign_id = sqlite3_column_int64(s, 2);
    inv->period_id = sqlite3_column_int64(s, 3);
    inv->employee_id = sqlite3_column_int64(s, 4);
    inv->rater_department_id = sqlite3_column_int64(s, 5);
    inv->provider_department_id = sqlite3_column_int64(s, 6);
    store_inv_state_parse((const char *)sqlite3_column_text(s, 8), &state);
    inv->state = state;
    inv->planned_at = sqlite3_column_int64(s, 9);
    inv->sent_at = sqlite3_column_int64(s, 10);
    inv->answered_at = sqlite3_column_int64(s, 11);
    inv->closes_at = sqlite3_column_int64(s, 12);
    inv->next_attempt_at = sqlite3_column_int64(s, 13);
    inv->reminders = sqlite3_column_int(s, 14);
    inv->attempts = sqlite3_column_int(s, 15);
    inv->reachable = sqlite3_column_int(s, 23);
    if (col_dup(s, 7, &inv->language) || col_dup(s, 16, &inv->last_error) ||
        col_dup(s, 17, &inv->campaign) || col_dup(s, 18, &inv->period) ||
        col_dup(s, 19, &inv->email) || col_dup(s, 20, &inv->employee_name) ||
        col_dup(s, 21, &inv->provider_code) ||
        col_dup(s, 22, &inv->provider_name)) {
        store_invitation_clear(inv);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

static void
clear_invitation(void *rec)
{
    store_invitation_clear(rec);
}

static const char *
kind_static(const char *kind)
{
    if (kind == NULL)
        return NULL;
    if (strcmp(kind, "invitation") == 0)
        return "invitation";
    if (strcmp(kind, "digest") == 0)
        return "digest";
    return NULL;
}

enum eq_err
store_token_add(struct store *st, const char *token, const char *kind,
                eq_time at)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (token == NULL || *token == '\0' || kind_static(kind) == NULL) {
        set_msg(st, "bad token or token kind");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_TOKEN_INSERT, &s);
    if (err != EQ_OK)
        return err;
    return run(st, s,
               bind_text(s, 1, token) | bind_text(s, 2, kind) |
                   bind_i64(s, 3, at));
}

enum eq_err
store_token_kind(struct store *st, const char *token, const char **kind)
{
    sqlite3_stmt *s;
    enum eq_err err;

    *kind = NULL;
    err = prep(st, S_TOKEN_KIND, &s);
    if (err != EQ_OK)
        return err;
    err = step_row(st, s, bind_text(s, 1, token));
    if (err == EQ_OK)
        *kind = kind_static((const char *)sqlite3_column_text(s, 0));
    done(s);
    if (err == EQ_OK && *kind == NULL) {
        set_msg(st, "unknown token kind");
        err = EQ_ERR_DB;
    }
    return err;
}

enum eq_err
store_invitation_add(struct store *st, struct store_invitation *inv)
{
    int64_t rater = inv->rater_department_id;
    sqlite3_stmt *s;
    enum eq_err err;
    int nested = 0;

    if ((unsigned)inv->state >= INV__COUNT) {
        set_msg(st, "bad invitation state");
        return EQ_ERR_SOFTWARE;
    }
    err = atomic_begin(st, &nested);
    if (err != EQ_OK)
        return err;
    if (rater == 0 && inv->employee_id != 0) {
        err = prep(st, S_EMP_DEPT, &s);
        if (err == EQ_OK)
            err = fetch(st, s, bind_i64(s, 1, inv->employee_id), &rater,
                        read_i64);
        if (err == EQ_ERR_NOTFOUND)
            set_msg(st, "invitation for an unknown employee");
    }
    /* The token's birth is the moment the invitation is planned: the store
     * has no clock of its own. */
    if (err == EQ_OK)
        err = store_token_add(st, inv->token, "invitation", inv->planned_at);
    if (err == EQ_OK)
        err = prep(st, S_INV_INSERT, &s);
    if (err == EQ_OK)
        err =
            run(st, s,
                bind_text(s, 1, inv->token) | bind_i64(s, 2, inv->campaign_id) |
                    bind_i64(s, 3, inv->period_id) |
                    bind_opt(s, 4, inv->employee_id) | bind_opt(s, 5, rater) |
                    bind_i64(s, 6, inv->provider_department_id) |
                    bind_text(s, 7, inv->language) |
                    bind_text(s, 8, state_names[inv->state]) |
                    bind_i64(s, 9, inv->planned_at) |
                    bind_opt(s, 10, inv->sent_at) |
                    bind_opt(s, 11, inv->answered_at) |
                    bind_opt(s, 12, inv->closes_at) |
                    bind_opt(s, 13, inv->next_attempt_at) |
                    bind_i64(s, 14, inv->reminders) |
                    bind_i64(s, 15, inv->attempts) |
                    bind_text(s, 16, inv->last_error));
    if (err == EQ_OK) {
        inv->id = sqlite3_last_insert_rowid(st->db);
        inv->rater_department_id = rater;
    }
    return atomic_end(st, nested, err);
}

static enum eq_err
invitation_one(struct store *st, enum sid id, const char *token, int64_t key,
               struct store_invitation *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, id, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, token ? bind_text(s, 1, token) : bind_i64(s, 1, key),
                 out, read_invitation);
}

enum eq_err
store_invitation_by_token(struct store *st, const char *token,
                          struct store_invitation *out)
{
    if (token == NULL) {
        memset(out, 0, sizeof *out);
        return EQ_ERR_NOTFOUND;
    }
    return invitation_one(st, S_INV_BY_TOKEN, token, 0, out);
}

enum eq_err
store_invitation_get(struct store *st, int64_t id, struct store_invitation *out)
{
    return invitation_one(st, S_INV_GET, NULL, id, out);
}

/* Binds a filter to S_INV_FILTER or S_INV_IDS (the same WHERE). */
static int
bind_filter(sqlite3_stmt *s, const struct store_inv_filter *f)
{
    static const struct store_inv_filter any;
    unsigned mask;
    int brc = SQLITE_OK;

    if (f == NULL)
        f = &any;
    mask = f->state_mask ? f->state_mask : (1u << INV__COUNT) - 1;
    for (int i = 0; i < INV__COUNT; i++)
        brc |= bind_text(s, i + 1, (mask & (1u << i)) ? state_names[i] : NULL);
    return brc | bind_i64(s, 12, f->campaign_id) |
           bind_i64(s, 13, f->period_id) | bind_i64(s, 14, f->employee_id) |
           bind_i64(s, 15, f->planned_before) |
           bind_i64(s, 16, f->sent_before) |
           bind_i64(s, 17, f->next_attempt_before) |
           bind_i64(s, 18, f->closes_before) |
           bind_i64(s, 19, f->limit ? (int64_t)f->limit : -1);
}

enum eq_err
store_invitations(struct store *st, const struct store_inv_filter *f,
                  struct store_invitation **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_INV_FILTER, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, bind_filter(s, f), sizeof **out, read_invitation,
                   clear_invitation, out, n);
}

enum eq_err
store_invitations_by_id(struct store *st, const int64_t *ids, size_t n_ids,
                        struct store_invitation **out, size_t *n)
{
    struct eq_buf json = {0};
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_INV_BY_IDS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    err = buf_addc(&json, '[');
    for (size_t i = 0; i < n_ids && err == EQ_OK; i++)
        err = buf_printf(&json, "%s%lld", i ? "," : "", (long long)ids[i]);
    if (err == EQ_OK)
        err = buf_addc(&json, ']');
    if (err == EQ_OK)
        err = collect(st, s, bind_text(s, 1, json.s), sizeof **out,
                      read_invitation, clear_invitation, out, n);
    else
        done(s);
    buf_free(&json);
    return err;
}

enum eq_err
store_invitation_ids(struct store *st, const struct store_inv_filter *f,
                     int64_t **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_INV_IDS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, bind_filter(s, f), sizeof **out, read_i64, NULL,
                   out, n);
}

enum eq_err
store_invitation_set_state(struct store *st, int64_t id, enum inv_state state,
                           eq_time at, const char *error)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if ((unsigned)state >= INV__COUNT) {
        set_msg(st, "bad invitation state");
        return EQ_ERR_SOFTWARE;
    }
    err = prep(st, S_INV_SET_STATE, &s);
    if (err != EQ_OK)
        return err;
    return run_update(st, s,
                      bind_i64(s, 1, id) | bind_text(s, 2, state_names[state]) |
                          bind_opt(s, 3, at) | bind_text(s, 4, error));
}

enum eq_err
store_invitation_defer(struct store *st, int64_t id, eq_time next,
                       const char *error)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_INV_DEFER, &s);

    if (err != EQ_OK)
        return err;
    return run_update(st, s,
                      bind_i64(s, 1, id) | bind_opt(s, 2, next) |
                          bind_text(s, 3, error));
}

enum eq_err
store_invitation_reminded(struct store *st, int64_t id, eq_time at)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_INV_REMINDED, &s);

    if (err != EQ_OK)
        return err;
    return run_update(st, s, bind_i64(s, 1, id) | bind_opt(s, 2, at));
}

void
store_invitation_clear(struct store_invitation *inv)
{
    if (inv == NULL)
        return;
    free(inv->language);
    free(inv->last_error);
    free(inv->campaign);
    free(inv->period);
    free(inv->email);
    free(inv->employee_name);
    free(inv->provider_code);
    free(inv->provider_name);
    memset(inv, 0, sizeof *inv);
}

void
store_invitations_free(struct store_invitation *inv, size_t n)
{
    free_array(inv, n, sizeof *inv, clear_invitation);
}

/* --- scheduler history ------------------------------------------------ */

static enum eq_err
read_pair(sqlite3_stmt *s, void *rec)
{
    struct store_pair *p = rec;

    p->a = sqlite3_column_int64(s, 0);
    p->b = sqlite3_column_int64(s, 1);
    p->n = sqlite3_column_int64(s, 2);
    p->t = sqlite3_column_int64(s, 3);
    return EQ_OK;
}

/* Reads rows of (a, b, n, t) after binding param 1 (if any). */
static enum eq_err
read_pairs(struct store *st, enum sid id, int nbind, int64_t p1,
           struct store_pair **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, id, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, nbind > 0 ? bind_i64(s, 1, p1) : SQLITE_OK,
                   sizeof **out, read_pair, NULL, out, n);
}

enum eq_err
store_last_invited(struct store *st, struct store_pair **out, size_t *n)
{
    return read_pairs(st, S_LAST_INVITED, 0, 0, out, n);
}

enum eq_err
store_na_blocks(struct store *st, eq_time since, struct store_pair **out,
                size_t *n)
{
    return read_pairs(st, S_NA_BLOCKS, 1, since, out, n);
}

enum eq_err
store_period_provider_counts(struct store *st, int64_t period_id,
                             struct store_pair **out, size_t *n)
{
    return read_pairs(st, S_PROVIDER_COUNTS, 1, period_id, out, n);
}

/* --- answers ---------------------------------------------------------- */

enum eq_err
store_answer_add(struct store *st, int64_t invitation_id, const char *metric,
                 int score, int not_applicable, eq_time at, int64_t inbound_id)
{
    sqlite3_stmt *s;
    enum eq_err err;
    int nested = 0;

    if (metric == NULL || *metric == '\0') {
        set_msg(st, "answer needs a metric");
        return EQ_ERR_DATA;
    }
    err = atomic_begin(st, &nested);
    if (err != EQ_OK)
        return err;
    err = prep(st, S_ANSWER_SUPERSEDE, &s);
    if (err == EQ_OK)
        err =
            run(st, s, bind_i64(s, 1, invitation_id) | bind_text(s, 2, metric));
    if (err == EQ_OK)
        err = prep(st, S_ANSWER_INSERT, &s);
    if (err == EQ_OK)
        err = run(st, s,
                  bind_i64(s, 1, invitation_id) | bind_text(s, 2, metric) |
                      (not_applicable || score < 0 ? sqlite3_bind_null(s, 3)
                                                   : bind_i64(s, 3, score)) |
                      bind_i64(s, 4, !!not_applicable) | bind_i64(s, 5, at) |
                      bind_opt(s, 6, inbound_id));
    return atomic_end(st, nested, err);
}

enum eq_err
store_comment_add(struct store *st, int64_t invitation_id, const char *text,
                  eq_time at, int64_t inbound_id)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_COMMENT_INSERT, &s);

    if (err != EQ_OK)
        return err;
    return run(st, s,
               bind_i64(s, 1, invitation_id) |
                   bind_text(s, 2, text ? text : "") | bind_i64(s, 3, at) |
                   bind_opt(s, 4, inbound_id));
}

static enum eq_err
read_score_row(sqlite3_stmt *s, void *rec)
{
    struct store_score_row *r = rec;

    r->provider_id = sqlite3_column_int64(s, 0);
    r->rater_department_id = sqlite3_column_int64(s, 1);
    r->score = sqlite3_column_int(s, 2);
    r->n = sqlite3_column_int64(s, 3);
    return EQ_OK;
}

enum eq_err
store_score_counts(struct store *st, int64_t period_id, const char *metric,
                   struct store_score_row **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_SCORE_COUNTS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s, bind_i64(s, 1, period_id) | bind_text(s, 2, metric),
                   sizeof **out, read_score_row, NULL, out, n);
}

enum eq_err
store_comments(struct store *st, int64_t period_id, int64_t provider_id,
               char ***out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_COMMENTS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return collect(st, s,
                   bind_i64(s, 1, period_id) | bind_i64(s, 2, provider_id),
                   sizeof **out, read_string, clear_string, out, n);
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
    err =
        step_row(st, s, bind_text(s, 1, message_id) | bind_text(s, 2, sha256));
    if (err == EQ_OK && id)
        *id = sqlite3_column_int64(s, 0);
    done(s);
    return err;
}

enum eq_err
store_inbound_add(struct store *st, const struct store_inbound *in, int64_t *id)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (in->sha256 == NULL || in->kind == NULL || in->outcome == NULL) {
        set_msg(st, "inbound mail needs sha256, kind and outcome");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_INB_INSERT, &s);
    if (err != EQ_OK)
        return err;
    err =
        run(st, s,
            bind_text(s, 1, in->message_id) | bind_text(s, 2, in->sha256) |
                bind_text(s, 3, in->source_key) |
                bind_i64(s, 4, in->received_at) | bind_text(s, 5, in->kind) |
                bind_text(s, 6, in->token) | bind_opt(s, 7, in->invitation_id) |
                bind_text(s, 8, in->outcome) | bind_text(s, 9, in->note) |
                bind_text(s, 10, in->sender) | bind_text(s, 11, in->subject));
    if (err == EQ_OK && id)
        *id = sqlite3_last_insert_rowid(st->db);
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
    if (col_dup(s, 1, &in->message_id) || col_dup(s, 2, &in->sha256) ||
        col_dup(s, 3, &in->source_key) || col_dup(s, 5, &in->kind) ||
        col_dup(s, 6, &in->token) || col_dup(s, 8, &in->outcome) ||
        col_dup(s, 9, &in->note) || col_dup(s, 10, &in->sender) ||
        col_dup(s, 11, &in->subject)) {
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
    return collect(st, s, SQLITE_OK, sizeof **out, read_inbound, clear_inbound,
                   out, n);
}

enum eq_err
store_inbound_set_outcome(struct store *st, int64_t id, const char *outcome,
                          const char *note, int64_t invitation_id)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (outcome == NULL) {
        set_msg(st, "no outcome");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_INB_OUTCOME, &s);
    if (err != EQ_OK)
        return err;
    return run_update(st, s,
                      bind_i64(s, 1, id) | bind_text(s, 2, outcome) |
                          bind_i64(s, 3, invitation_id) |
                          (note ? bind_text(s, 4, note)
                                : sqlite3_bind_null(s, 4)));
}

enum eq_err
store_inbound_get(struct store *st, int64_t id, struct store_inbound *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_INB_GET, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, bind_i64(s, 1, id), out, read_inbound);
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
    free_array(in, n, sizeof *in, clear_inbound);
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
    err =
        step_row(st, s, bind_i64(s, 1, period_id) | bind_text(s, 2, recipient));
    done(s);
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
        set_msg(st, "digest needs a recipient");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_DIGEST_LOG, &s);
    if (err != EQ_OK)
        return err;
    return run(st, s,
               bind_i64(s, 1, period_id) | bind_text(s, 2, recipient) |
                   bind_opt(s, 3, department_id) | bind_text(s, 4, token) |
                   bind_i64(s, 5, at));
}

enum eq_err
store_run_log(struct store *st, const char *command, eq_time started,
              eq_time finished, int ok, const char *summary)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_RUN_LOG, &s);

    if (err != EQ_OK)
        return err;
    return run(st, s,
               bind_text(s, 1, command ? command : "") |
                   bind_i64(s, 2, started) | bind_opt(s, 3, finished) |
                   bind_i64(s, 4, !!ok) | bind_text(s, 5, summary));
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
    err = step_row(st, s, bind_text(s, 1, name));
    if (err == EQ_OK) {
        *uidvalidity = (uint32_t)sqlite3_column_int64(s, 0);
        *last_uid = (uint32_t)sqlite3_column_int64(s, 1);
        if (at)
            *at = sqlite3_column_int64(s, 2);
    }
    done(s);
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
    return run(st, s,
               bind_text(s, 1, name) | bind_i64(s, 2, uidvalidity) |
                   bind_i64(s, 3, last_uid) | bind_i64(s, 4, at));
}

enum eq_err
store_cancel_inactive(struct store *st, int64_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_CANCEL_INACTIVE, &s);

    *n = 0;
    if (err != EQ_OK)
        return err;
    err = run(st, s, SQLITE_OK);
    if (err == EQ_OK)
        *n = sqlite3_changes(st->db);
    return err;
}

enum eq_err
store_meta_get(struct store *st, const char *key, char **value)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_META_GET, &s);

    *value = NULL;
    if (err != EQ_OK)
        return err;
    err = step_row(st, s, bind_text(s, 1, key));
    if (err == EQ_OK && col_dup(s, 0, value) != 0)
        err = EQ_ERR_NOMEM;
    done(s);
    return err;
}

enum eq_err
store_meta_set(struct store *st, const char *key, const char *value)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_META_SET, &s);

    if (err != EQ_OK)
        return err;
    return run(st, s, bind_text(s, 1, key) | bind_text(s, 2, value));
}

enum eq_err
store_seed(struct store *st, uint64_t *seed)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_META_GET, &s);
    char text[24];

    if (err != EQ_OK)
        return err;
    err = step_row(st, s, bind_text(s, 1, "seed"));
    if (err == EQ_OK) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        *seed = v ? strtoull(v, NULL, 10) : 0;
    }
    done(s);
    if (err != EQ_ERR_NOTFOUND)
        return err;
    /* First use: a random seed, kept so every later `plan` and `run`
     * make the same choices for the same data. */
    if (getrandom(seed, sizeof *seed, 0) != (ssize_t)sizeof *seed)
        return EQ_ERR_IO;
    snprintf(text, sizeof text, "%llu", (unsigned long long)*seed);
    if ((err = prep(st, S_META_SET, &s)) != EQ_OK)
        return err;
    return run(st, s, bind_text(s, 1, "seed") | bind_text(s, 2, text));
}

enum eq_err
store_snapshot(struct store *st, const char *path)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_SNAPSHOT, &s);

    if (err != EQ_OK)
        return err;
    return run(st, s, bind_text(s, 1, path));
}

static enum eq_err
count_one(struct store *st, enum sid id, int64_t *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, id, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return fetch(st, s, SQLITE_OK, out, read_i64);
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
    while ((r = step_next(st, s, &err)) == 1) {
        enum inv_state state;
        if (store_inv_state_parse((const char *)sqlite3_column_text(s, 0),
                                  &state) == 0)
            out->by_state[state] = sqlite3_column_int64(s, 1);
    }
    done(s);
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
        err = step_row(st, s, SQLITE_OK);
        if (err == EQ_OK) {
            out->last_run_started = sqlite3_column_int64(s, 1);
            out->last_run_finished = sqlite3_column_int64(s, 2);
            out->last_run_ok = sqlite3_column_int(s, 3);
            if (col_dup(s, 0, &out->last_run_command) ||
                col_dup(s, 4, &out->last_run_summary))
                err = EQ_ERR_NOMEM;
        } else if (err == EQ_ERR_NOTFOUND) {
            err = EQ_OK;
        }
        done(s);
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
