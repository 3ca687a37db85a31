/*
 * store_privacy: the SQL of anonymising, retention, export and erasure (see
 * store_privacy.h). The export is built here with cJSON because it is a
 * straight dump of rows; no other part of the store sees cJSON.
 */
#include "store_privacy.h"
#include "store_int.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "eqtime.h"
#include "token.h"

/* The person's addresses, lowercase: primary and aliases (?1 = id). */
#define ADDR_CTE                                                               \
    "WITH addr(a) AS (SELECT lower(email) FROM employee WHERE id = ?1"         \
    " UNION SELECT lower(email) FROM alias WHERE employee_id = ?1) "

/* Inbound rows that belong to invitations of period ?1: by link, or by the
 * token they carried (Review items often have the token but no link). */
#define INB_OF_PERIOD                                                          \
    "(invitation_id IN (SELECT id FROM invitation WHERE period_id = ?1)"       \
    " OR token IN (SELECT token FROM invitation WHERE period_id = ?1))"

/* Inbound rows the person ?1 sent: from one of their addresses. Only
 * these carry their data (sender, subject, note). */
#define INB_FROM_PERSON "(lower(sender) IN (SELECT a FROM addr))"

/* Inbound rows someone else sent about one of the person's invitations
 * (a colleague replying with their token, a bounce from a mail server):
 * the sender and subject are the other's, not the person's. */
#define INB_ABOUT_PERSON                                                       \
    "((invitation_id IN (SELECT id FROM invitation WHERE employee_id = ?1)"    \
    " OR token IN (SELECT token FROM invitation WHERE employee_id = ?1))"      \
    " AND (sender IS NULL OR lower(sender) NOT IN (SELECT a FROM addr)))"

#define PERIOD_COLS                                                            \
    "SELECT p.id, p.campaign_id, c.name, p.label, p.first_day, p.last_day,"    \
    " COALESCE(p.digest_at, 0) FROM period p JOIN campaign c"                  \
    " ON c.id = p.campaign_id "

enum slot {
    Q_TO_ANON,
    Q_ANON_REVIEW_COUNT,
    Q_ANON_INBOUND,
    Q_COARSE_ANSWERS,
    Q_COARSE_COMMENTS,
    Q_PERIOD_ROWS,
    Q_MOVE_INV,
    Q_MOVE_ANSWER,
    Q_MOVE_COMMENT,
    Q_INV_TOKENS_PERIOD,
    Q_TOKEN_INSERT,
    Q_INV_SET_TOKEN,
    Q_TOKEN_DELETE,
    Q_ANON_INV,
    Q_ANON_MARK,
    Q_TO_PURGE,
    Q_PURGE_COMMENTS,
    Q_PURGE_MARK,
    Q_PURGE_INBOUND,
    Q_PERSON,
    Q_ALIASES,
    Q_MANAGES,
    Q_INVS,
    Q_INV_ANSWERS,
    Q_INV_COMMENTS,
    Q_INBOUND,
    Q_INBOUND_ABOUT,
    Q_ACTIONS,
    Q_NOTICES,
    Q_DIGESTS,
    Q_ANON_PERIODS,
    Q_ER_COMMENTS,
    Q_ER_REVIEW,
    Q_ER_INBOUND,
    Q_ER_UNLINK_MAIL,
    Q_ER_DIGESTS,
    Q_ER_CANCEL,
    Q_ER_INV_PERIODS,
    Q_ER_COARSE_INV,
    Q_ER_COARSE_INBOUND,
    Q_INV_TOKENS_PERSON,
    Q_ER_UNLINK,
    Q_ER_NOTICES,
    Q_ER_ACTIONS,
    Q_ER_MANAGER,
    Q_ER_ALIASES,
    Q_ER_PERSON,
    Q__COUNT
};

_Static_assert(Q__COUNT <= STORE_PART_SLOTS, "store_privacy has more "
                                             "statements than slots");

static const char *const sql[Q__COUNT] = {
    [Q_TO_ANON] = PERIOD_COLS "WHERE p.campaign_id = ?1"
                              " AND p.digest_at IS NOT NULL"
                              " AND p.anonymised_at IS NULL"
                              " ORDER BY p.first_day, p.id",
    [Q_ANON_REVIEW_COUNT] = "SELECT COUNT(*) FROM inbound WHERE"
                            " outcome = 'review' AND " INB_OF_PERIOD,
    /* Times become the period's start: arrival order and the moment of a
     * reply would otherwise point at whoever was mailed just before. */
    [Q_ANON_INBOUND] =
        "UPDATE inbound SET sender = NULL, subject = NULL, message_id = NULL,"
        " source_key = NULL, token = NULL, invitation_id = NULL,"
        " note = 'anonymised', received_at = ?2,"
        " outcome = CASE WHEN outcome = 'review' THEN 'ignored'"
        " ELSE outcome END WHERE " INB_OF_PERIOD,
    /* inbound_id goes too: the confirmation's Message-ID
     * <ack.TOKEN.N@…> carries N = inbound id, and a mail server log that
     * shows who received it would otherwise name the answer's author. */
    /* ?1 = 0: every invitation of period ?2 (anonymising); else only
     * employee ?1's (erasure). */
    [Q_COARSE_ANSWERS] = "UPDATE answer SET received_at = ?3,"
                         " inbound_id = NULL WHERE invitation_id IN"
                         " (SELECT id FROM invitation WHERE period_id = ?2"
                         " AND (?1 = 0 OR employee_id = ?1))",
    [Q_COARSE_COMMENTS] = "UPDATE comment SET received_at = ?3,"
                          " inbound_id = NULL WHERE invitation_id IN"
                          " (SELECT id FROM invitation WHERE period_id = ?2"
                          " AND (?1 = 0 OR employee_id = ?1))",
    /* The rows whose ids shuffle(): 0 invitation, 1 answer, 2 comment. */
    [Q_PERIOD_ROWS] = "SELECT 0, id FROM invitation WHERE period_id = ?1"
                      " UNION ALL SELECT 1, a.id FROM answer a JOIN"
                      " invitation i ON i.id = a.invitation_id"
                      " WHERE i.period_id = ?1"
                      " UNION ALL SELECT 2, c.id FROM comment c JOIN"
                      " invitation i ON i.id = c.invitation_id"
                      " WHERE i.period_id = ?1",
    [Q_MOVE_INV] = "UPDATE invitation SET id = ?2 WHERE id = ?1",
    /* ?3 = 0: the row with id ?1 becomes ?2; ?3 = 1: rows of invitation ?1
     * follow it to ?2. */
    [Q_MOVE_ANSWER] = "UPDATE answer SET"
                      " id = CASE WHEN ?3 = 0 THEN ?2 ELSE id END,"
                      " invitation_id = CASE WHEN ?3 = 1 THEN ?2"
                      " ELSE invitation_id END"
                      " WHERE (?3 = 0 AND id = ?1)"
                      " OR (?3 = 1 AND invitation_id = ?1)",
    [Q_MOVE_COMMENT] = "UPDATE comment SET"
                       " id = CASE WHEN ?3 = 0 THEN ?2 ELSE id END,"
                       " invitation_id = CASE WHEN ?3 = 1 THEN ?2"
                       " ELSE invitation_id END"
                       " WHERE (?3 = 0 AND id = ?1)"
                       " OR (?3 = 1 AND invitation_id = ?1)",
    [Q_INV_TOKENS_PERIOD] = "SELECT id, token FROM invitation"
                            " WHERE period_id = ?1 ORDER BY id",
    [Q_TOKEN_INSERT] = "INSERT INTO token (token, kind, created_at)"
                       " VALUES (?1, 'invitation', ?2)",
    [Q_INV_SET_TOKEN] = "UPDATE invitation SET token = ?2 WHERE id = ?1",
    [Q_TOKEN_DELETE] = "DELETE FROM token WHERE token = ?1",
    [Q_ANON_INV] =
        "UPDATE invitation SET employee_id = NULL, language = NULL,"
        " last_error = NULL, planned_at = ?2,"
        " sent_at = CASE WHEN sent_at IS NULL THEN NULL ELSE ?2 END,"
        " answered_at = CASE WHEN answered_at IS NULL THEN NULL ELSE ?2 END,"
        " closes_at = CASE WHEN closes_at IS NULL THEN NULL ELSE ?2 END,"
        " next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL"
        " ELSE ?2 END,"
        " reminded_at = CASE WHEN reminded_at IS NULL THEN NULL ELSE ?2 END"
        " WHERE period_id = ?1",
    [Q_ANON_MARK] = "UPDATE period SET anonymised_at = ?2 WHERE id = ?1",
    /* Only once the digest is out: with retention_days shorter than
     * close_after a period's last day can be old while it still counts. */
    [Q_TO_PURGE] = PERIOD_COLS "WHERE p.purged_at IS NULL"
                               " AND p.digest_at IS NOT NULL"
                               " AND p.last_day < ?1"
                               " ORDER BY p.first_day, p.id",
    [Q_PURGE_COMMENTS] = "DELETE FROM comment WHERE invitation_id IN"
                         " (SELECT id FROM invitation WHERE period_id = ?1)",
    [Q_PURGE_MARK] = "UPDATE period SET purged_at = ?2 WHERE id = ?1",
    [Q_PURGE_INBOUND] =
        "UPDATE inbound SET sender = NULL, subject = NULL, note = NULL"
        " WHERE received_at < ?1 AND (sender IS NOT NULL"
        " OR subject IS NOT NULL OR note IS NOT NULL)",
    [Q_PERSON] = "SELECT e.id, e.email, e.name, d.code, d.name, e.language,"
                 " e.active, e.undeliverable, e.opted_out, e.joined_at"
                 " FROM employee e LEFT JOIN department d"
                 " ON d.id = e.department_id WHERE e.email = ?1 OR e.id IN"
                 " (SELECT employee_id FROM alias WHERE email = ?1) LIMIT 1",
    [Q_ALIASES] = "SELECT email FROM alias WHERE employee_id = ?1"
                  " ORDER BY email",
    [Q_MANAGES] = "SELECT d.code, d.name FROM manager m JOIN department d"
                  " ON d.id = m.department_id WHERE m.employee_id = ?1"
                  " ORDER BY d.code",
    [Q_INVS] = "SELECT i.id, c.name, p.label, pd.code, pd.name, rd.code,"
               " i.state, i.language, i.planned_at, i.sent_at,"
               " i.answered_at, i.closes_at, i.reminders"
               " FROM invitation i JOIN campaign c ON c.id = i.campaign_id"
               " JOIN period p ON p.id = i.period_id"
               " LEFT JOIN department pd ON pd.id = i.provider_department_id"
               " LEFT JOIN department rd ON rd.id = i.rater_department_id"
               " WHERE i.employee_id = ?1 ORDER BY i.planned_at, i.id",
    [Q_INV_ANSWERS] = "SELECT metric, score, not_applicable, received_at,"
                      " superseded FROM answer WHERE invitation_id = ?1"
                      " ORDER BY received_at, id",
    [Q_INV_COMMENTS] = "SELECT text, received_at FROM comment"
                       " WHERE invitation_id = ?1 ORDER BY received_at, id",
    [Q_INBOUND] = ADDR_CTE "SELECT received_at, kind, outcome, subject,"
                           " sender, note FROM inbound WHERE " INB_FROM_PERSON
                           " ORDER BY received_at, id",
    [Q_INBOUND_ABOUT] = ADDR_CTE "SELECT received_at, kind, outcome"
                                 " FROM inbound WHERE " INB_ABOUT_PERSON
                                 " ORDER BY received_at, id",
    [Q_ACTIONS] = "SELECT a.number, d.code, c.name, p.label, a.text, a.state,"
                  " a.created_at, a.done_at FROM action a"
                  " JOIN department d ON d.id = a.department_id"
                  " JOIN campaign c ON c.id = a.campaign_id"
                  " JOIN period p ON p.id = a.period_id"
                  " WHERE a.author_id = ?1 ORDER BY a.created_at, a.id",
    [Q_NOTICES] = "SELECT c.name, p.label, n.sent_at FROM action_notice n"
                  " JOIN period p ON p.id = n.period_id"
                  " JOIN campaign c ON c.id = p.campaign_id"
                  " WHERE n.employee_id = ?1 ORDER BY n.sent_at",
    /* Digest log keys are the address (HR) or "CODE:ADDRESS" (managers). */
    [Q_DIGESTS] = ADDR_CTE "SELECT c.name, p.label, ds.sent_at"
                           " FROM digest_sent ds"
                           " JOIN period p ON p.id = ds.period_id"
                           " JOIN campaign c ON c.id = p.campaign_id"
                           " WHERE substr(lower(ds.recipient),"
                           " instr(ds.recipient, ':') + 1) IN"
                           " (SELECT a FROM addr) ORDER BY ds.sent_at, ds.id",
    [Q_ANON_PERIODS] = "SELECT c.name, p.label FROM period p JOIN campaign c"
                       " ON c.id = p.campaign_id WHERE p.anonymised_at"
                       " IS NOT NULL ORDER BY c.name, p.first_day",
    [Q_ER_COMMENTS] = "DELETE FROM comment WHERE invitation_id IN"
                      " (SELECT id FROM invitation WHERE employee_id = ?1)",
    [Q_ER_REVIEW] = ADDR_CTE "DELETE FROM inbound WHERE outcome = 'review'"
                             " AND " INB_FROM_PERSON,
    /* Rows of their own invitations were coarsened to the period's start
     * before (Q_ER_COARSE_INBOUND); the rest to the (UTC) day. */
    [Q_ER_INBOUND] =
        ADDR_CTE "UPDATE inbound SET sender = NULL, subject = NULL,"
                 " note = NULL, message_id = NULL, source_key = NULL,"
                 " token = NULL, invitation_id = NULL,"
                 " received_at = CASE WHEN invitation_id IN (SELECT id FROM"
                 " invitation WHERE employee_id = ?1) THEN received_at"
                 " ELSE received_at - received_at % 86400 END"
                 " WHERE " INB_FROM_PERSON,
    /* Others' mail stays theirs: only the link to the person goes. */
    [Q_ER_UNLINK_MAIL] = ADDR_CTE "UPDATE inbound SET invitation_id = NULL,"
                                  " token = NULL WHERE " INB_ABOUT_PERSON,
    [Q_ER_DIGESTS] = ADDR_CTE "DELETE FROM digest_sent WHERE"
                              " substr(lower(recipient), instr(recipient,"
                              " ':') + 1) IN (SELECT a FROM addr)",
    [Q_ER_CANCEL] = "UPDATE invitation SET state = 'cancelled',"
                    " last_error = 'erased' WHERE employee_id = ?1"
                    " AND state IN ('planned', 'deferred')",
    [Q_ER_INV_PERIODS] = "SELECT DISTINCT p.id, p.first_day FROM invitation i"
                         " JOIN period p ON p.id = i.period_id"
                         " WHERE i.employee_id = ?1 ORDER BY p.id",
    [Q_ER_COARSE_INV] =
        "UPDATE invitation SET planned_at = ?3,"
        " sent_at = CASE WHEN sent_at IS NULL THEN NULL ELSE ?3 END,"
        " answered_at = CASE WHEN answered_at IS NULL THEN NULL ELSE ?3 END,"
        " reminded_at = CASE WHEN reminded_at IS NULL THEN NULL ELSE ?3 END,"
        " closes_at = CASE WHEN closes_at IS NULL THEN NULL ELSE ?3 END,"
        " next_attempt_at = CASE WHEN next_attempt_at IS NULL THEN NULL"
        " ELSE ?3 END"
        " WHERE employee_id = ?1 AND period_id = ?2",
    [Q_ER_COARSE_INBOUND] =
        ADDR_CTE "UPDATE inbound SET received_at = ?3 WHERE invitation_id IN"
                 " (SELECT id FROM invitation WHERE employee_id = ?1"
                 " AND period_id = ?2) AND " INB_FROM_PERSON,
    [Q_INV_TOKENS_PERSON] = "SELECT id, token FROM invitation"
                            " WHERE employee_id = ?1 ORDER BY id",
    [Q_ER_UNLINK] = "UPDATE invitation SET employee_id = NULL,"
                    " language = NULL, last_error = NULL"
                    " WHERE employee_id = ?1",
    [Q_ER_NOTICES] = "DELETE FROM action_notice WHERE employee_id = ?1",
    [Q_ER_ACTIONS] = "UPDATE action SET author_id = NULL"
                     " WHERE author_id = ?1",
    [Q_ER_MANAGER] = "DELETE FROM manager WHERE employee_id = ?1",
    [Q_ER_ALIASES] = "DELETE FROM alias WHERE employee_id = ?1",
    [Q_ER_PERSON] = "DELETE FROM employee WHERE id = ?1",
};

/* --- helpers ---------------------------------------------------------- */

static enum eq_err
prep(struct store *st, enum slot q, sqlite3_stmt **out)
{
    return store_prep_part(st, STORE_PART_PRIVACY, (int)q, sql[q], out);
}

/* Binds up to three integers (?1..?n) to a prepared statement. */
static int
bind_ints(sqlite3_stmt *s, int n, int64_t a, int64_t b, int64_t c)
{
    int rc = SQLITE_OK;

    if (n >= 1)
        rc |= sqlite3_bind_int64(s, 1, a);
    if (n >= 2)
        rc |= sqlite3_bind_int64(s, 2, b);
    if (n >= 3)
        rc |= sqlite3_bind_int64(s, 3, c);
    return rc;
}

/* Runs a writing statement with integer parameters; *changes = rows
 * changed (may be NULL). */
static enum eq_err
exec_ints(struct store *st, enum slot q, int n, int64_t a, int64_t b, int64_t c,
          int64_t *changes)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, q, &s);

    if (err != EQ_OK)
        return err;
    err = store_run(st, s, bind_ints(s, n, a, b, c));
    if (err == EQ_OK && changes != NULL)
        *changes = sqlite3_changes(store_db(st));
    return err;
}

/* One integer from a one-row query with one integer parameter. */
static enum eq_err
count_of(struct store *st, enum slot q, int64_t a, int64_t *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, q, &s);

    *out = 0;
    if (err != EQ_OK)
        return err;
    err = store_fetch(st, s, sqlite3_bind_int64(s, 1, a), out, store_read_i64);
    return err == EQ_ERR_NOTFOUND ? EQ_OK : err;
}

/* Calls fn(s, ctx) for each row of the bound statement s (brc: the binds'
 * result) until the first error; always resets s. */
static enum eq_err
each_row(struct store *st, sqlite3_stmt *s, int brc, store_row_fn fn, void *ctx)
{
    enum eq_err err = brc == SQLITE_OK ? EQ_OK : store_fail(st, brc);

    while (err == EQ_OK && store_stmt_next(st, s, &err) == 1)
        err = fn(s, ctx);
    store_stmt_done(s);
    return err;
}

static const char *
col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static enum eq_err
read_period(sqlite3_stmt *s, void *rec)
{
    struct store_privacy_period *p = rec;

    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(s, 0);
    p->campaign_id = sqlite3_column_int64(s, 1);
    snprintf(p->campaign, sizeof p->campaign, "%s",
             col_text(s, 2) ? col_text(s, 2) : "");
    snprintf(p->label, sizeof p->label, "%s",
             col_text(s, 3) ? col_text(s, 3) : "");
    p->first = (eq_day)sqlite3_column_int64(s, 4);
    p->last = (eq_day)sqlite3_column_int64(s, 5);
    p->digest_at = sqlite3_column_int64(s, 6);
    return EQ_OK;
}

static enum eq_err
periods(struct store *st, enum slot q, int64_t param,
        struct store_privacy_period **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = store_prep_out(st, STORE_PART_PRIVACY, (int)q, sql[q], &s,
                                     out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, sqlite3_bind_int64(s, 1, param), sizeof **out,
                         read_period, NULL, out, n);
}

/* An invitation and the token it had before retoken(). */
struct old_token {
    int64_t id;
    char token[TOKEN_LEN + 1];
};

static enum eq_err
read_old_token(sqlite3_stmt *s, void *rec)
{
    struct old_token *o = rec;

    o->id = sqlite3_column_int64(s, 0);
    snprintf(o->token, sizeof o->token, "%s",
             col_text(s, 1) ? col_text(s, 1) : "");
    return EQ_OK;
}

/* Gives every invitation that list_q selects (parameter a) a fresh random
 * token and drops the old one, so the token in mail already sent no
 * longer finds the row. The new token is dated `at`. */
static enum eq_err
retoken(struct store *st, enum slot list_q, int64_t a, eq_time at)
{
    struct old_token *old = NULL;
    size_t len = 0;
    sqlite3_stmt *s;
    enum eq_err err = prep(st, list_q, &s);

    if (err != EQ_OK)
        return err;
    /* Collected first: the loop below updates the rows being listed. */
    err = store_collect(st, s, sqlite3_bind_int64(s, 1, a), sizeof *old,
                        read_old_token, NULL, &old, &len);
    for (size_t i = 0; i < len && err == EQ_OK; i++) {
        char fresh[TOKEN_LEN + 1];
        sqlite3_stmt *ins, *upd, *del;

        if ((err = token_new(fresh)) != EQ_OK ||
            (err = prep(st, Q_TOKEN_INSERT, &ins)) != EQ_OK ||
            (err = prep(st, Q_INV_SET_TOKEN, &upd)) != EQ_OK ||
            (err = prep(st, Q_TOKEN_DELETE, &del)) != EQ_OK)
            break;
        err = store_run(st, ins,
                        store_bind_text(ins, 1, fresh) |
                            store_bind_i64(ins, 2, at));
        if (err == EQ_OK)
            err = store_run(st, upd,
                            store_bind_i64(upd, 1, old[i].id) |
                                store_bind_text(upd, 2, fresh));
        if (err == EQ_OK)
            err = store_run(st, del, store_bind_text(del, 1, old[i].token));
    }
    free(old);
    return err;
}

/* --- anonymising ------------------------------------------------------ */

/* A uniform random index below n (n > 0), from getrandom(). */
static enum eq_err
rand_below(size_t n, size_t *out)
{
    uint64_t r, lim = UINT64_MAX - UINT64_MAX % n;

    do {
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            return EQ_ERR_IO;
    } while (r >= lim);
    *out = (size_t)(r % n);
    return EQ_OK;
}

/* Row ids of one kind of row in a period, and a random permutation. */
struct idset {
    int64_t *id;
    size_t n, cap;
};

static int
idset_add(struct idset *s, int64_t id)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        void *p = reallocarray(s->id, nc, sizeof *s->id);
        if (p == NULL)
            return -1;
        s->id = p;
        s->cap = nc;
    }
    s->id[s->n++] = id;
    return 0;
}

/* to[i] = the id row from[i] gets: the same set of ids, shuffled. */
static enum eq_err
idset_shuffled(const struct idset *s, int64_t **to)
{
    enum eq_err err = EQ_OK;

    *to = s->n ? malloc(s->n * sizeof **to) : NULL;
    if (s->n && *to == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < s->n; i++)
        (*to)[i] = s->id[i];
    for (size_t i = s->n; i > 1 && err == EQ_OK; i--) {
        size_t j;
        if ((err = rand_below(i, &j)) == EQ_OK) {
            int64_t t = (*to)[i - 1];
            (*to)[i - 1] = (*to)[j];
            (*to)[j] = t;
        }
    }
    return err;
}

/* Moves row (or, with refs = 1, the rows referring to invitation) a to b. */
static enum eq_err
move(struct store *st, enum slot q, int64_t a, int64_t b, int refs)
{
    return exec_ints(st, q, q == Q_MOVE_INV ? 2 : 3, a, b, refs, NULL);
}

/* Moves every id of s to the one in to, through negative ids so that no
 * two rows ever share one; an invitation takes its answers and comments
 * along. */
static enum eq_err
move_all(struct store *st, enum slot q, const struct idset *s,
         const int64_t *to)
{
    enum eq_err err = EQ_OK;

    for (int phase = 0; phase < 2 && err == EQ_OK; phase++)
        for (size_t i = 0; i < s->n && err == EQ_OK; i++) {
            int64_t a = phase == 0 ? s->id[i] : -to[i];
            int64_t b = phase == 0 ? -to[i] : to[i];
            if ((err = move(st, q, a, b, 0)) == EQ_OK && q == Q_MOVE_INV &&
                (err = move(st, Q_MOVE_ANSWER, a, b, 1)) == EQ_OK)
                err = move(st, Q_MOVE_COMMENT, a, b, 1);
        }
    return err;
}

/* Row ids follow the order in which rows were made: invitations the order
 * of sending, answers and comments the order of the replies, which mail
 * server logs show (who got <inv.TOKEN@> when, who got <ack.TOKEN.N@>
 * when). Shuffling the ids within the period removes that order. */
/* A row of Q_PERIOD_ROWS into the idset of its kind (ctx: three). */
static enum eq_err
add_period_row(sqlite3_stmt *s, void *ctx)
{
    struct idset *set = ctx;
    int k = sqlite3_column_int(s, 0);

    if (k >= 0 && k < 3 && idset_add(&set[k], sqlite3_column_int64(s, 1)))
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

static enum eq_err
shuffle(struct store *st, int64_t period_id)
{
    struct idset set[3] = {{0}};
    int64_t *to[3] = {NULL, NULL, NULL};
    static const enum slot mv[3] = {Q_MOVE_INV, Q_MOVE_ANSWER, Q_MOVE_COMMENT};
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_PERIOD_ROWS, &s);
    char *msg = NULL;

    if (err != EQ_OK)
        return err;
    err = each_row(st, s, sqlite3_bind_int64(s, 1, period_id), add_period_row,
                   set);
    /* Answers point at invitations while both move: checked at commit. */
    if (err == EQ_OK &&
        sqlite3_exec(store_db(st), "PRAGMA defer_foreign_keys = ON", NULL, NULL,
                     &msg) != SQLITE_OK) {
        store_set_msg(st, msg ? msg : "defer_foreign_keys");
        err = EQ_ERR_DB;
    }
    sqlite3_free(msg);
    for (int k = 0; k < 3 && err == EQ_OK; k++)
        if ((err = idset_shuffled(&set[k], &to[k])) == EQ_OK)
            err = move_all(st, mv[k], &set[k], to[k]);
    for (int k = 0; k < 3; k++) {
        free(set[k].id);
        free(to[k]);
    }
    return err;
}

enum eq_err
store_privacy_to_anonymise(struct store *st, int64_t campaign_id,
                           struct store_privacy_period **out, size_t *n)
{
    return periods(st, Q_TO_ANON, campaign_id, out, n);
}

enum eq_err
store_privacy_anonymise(struct store *st, int64_t period_id, eq_time coarse,
                        eq_time now, struct store_anon_counts *out)
{
    struct store_anon_counts c;
    enum eq_err err;

    memset(&c, 0, sizeof c);
    if ((err = store_begin(st)) != EQ_OK)
        return err;
    /* Inbound first: it is found through the tokens about to change. */
    if ((err = count_of(st, Q_ANON_REVIEW_COUNT, period_id, &c.review)) !=
            EQ_OK ||
        (err = exec_ints(st, Q_ANON_INBOUND, 2, period_id, coarse, 0,
                         &c.inbound)) != EQ_OK ||
        (err = exec_ints(st, Q_COARSE_ANSWERS, 3, 0, period_id, coarse,
                         &c.answers)) != EQ_OK ||
        (err = exec_ints(st, Q_COARSE_COMMENTS, 3, 0, period_id, coarse,
                         &c.comments)) != EQ_OK ||
        (err = retoken(st, Q_INV_TOKENS_PERIOD, period_id, coarse)) != EQ_OK ||
        (err = exec_ints(st, Q_ANON_INV, 2, period_id, coarse, 0,
                         &c.invitations)) != EQ_OK ||
        (err = shuffle(st, period_id)) != EQ_OK ||
        (err = exec_ints(st, Q_ANON_MARK, 2, period_id, now, 0, NULL)) != EQ_OK)
        goto fail;
    if ((err = store_commit(st)) != EQ_OK)
        goto fail;
    if (out != NULL)
        *out = c;
    return EQ_OK;
fail:
    store_rollback(st);
    return err;
}

/* --- retention -------------------------------------------------------- */

enum eq_err
store_privacy_to_purge(struct store *st, eq_day before,
                       struct store_privacy_period **out, size_t *n)
{
    return periods(st, Q_TO_PURGE, before, out, n);
}

enum eq_err
store_privacy_purge_period(struct store *st, int64_t period_id, eq_time now,
                           int64_t *comments)
{
    enum eq_err err;
    int64_t k = 0;

    if ((err = store_begin(st)) != EQ_OK)
        return err;
    if ((err = exec_ints(st, Q_PURGE_COMMENTS, 1, period_id, 0, 0, &k)) !=
            EQ_OK ||
        (err = exec_ints(st, Q_PURGE_MARK, 2, period_id, now, 0, NULL)) !=
            EQ_OK ||
        (err = store_commit(st)) != EQ_OK) {
        store_rollback(st);
        return err;
    }
    if (comments != NULL)
        *comments = k;
    return EQ_OK;
}

enum eq_err
store_privacy_purge_inbound(struct store *st, eq_time cutoff, int64_t *n)
{
    int64_t k = 0;
    enum eq_err err = exec_ints(st, Q_PURGE_INBOUND, 1, cutoff, 0, 0, &k);

    if (n != NULL)
        *n = err == EQ_OK ? k : 0;
    return err;
}

/* --- export ----------------------------------------------------------- */

/* Times are exported as RFC 3339 UTC, or null when unset. */
static cJSON *
json_time(eq_time t)
{
    char iso[21];

    if (t == 0)
        return cJSON_CreateNull();
    eqtime_format_iso(t, iso);
    return cJSON_CreateString(iso);
}

static cJSON *
json_col_text(sqlite3_stmt *s, int i)
{
    const char *t = col_text(s, i);

    return t ? cJSON_CreateString(t) : cJSON_CreateNull();
}

static cJSON *
json_col_time(sqlite3_stmt *s, int i)
{
    return json_time(sqlite3_column_type(s, i) == SQLITE_NULL
                         ? 0
                         : sqlite3_column_int64(s, i));
}

/* Adds item to obj under key; on NULL (out of memory) returns -1. */
static int
put(cJSON *obj, const char *key, cJSON *item)
{
    if (item == NULL)
        return -1;
    if (cJSON_IsArray(obj))
        return cJSON_AddItemToArray(obj, item) ? 0 : -1;
    return cJSON_AddItemToObject(obj, key, item) ? 0 : -1;
}

/* How rows_to_json turns a row into an object: the fields' names and
 * kinds ('s' text, 'i' integer, 'b' bool, 't' time), and where it goes. */
struct json_rows {
    const char *const *names;
    const char *kinds;
    cJSON *arr;
};

static enum eq_err
row_to_json(sqlite3_stmt *s, void *ctx)
{
    const struct json_rows *j = ctx;
    cJSON *o = cJSON_CreateObject();

    if (o == NULL || put(j->arr, NULL, o) != 0) {
        cJSON_Delete(o);
        return EQ_ERR_NOMEM;
    }
    for (int i = 0; j->kinds[i]; i++) {
        cJSON *v;
        if (j->kinds[i] == 's')
            v = json_col_text(s, i);
        else if (j->kinds[i] == 'b')
            v = cJSON_CreateBool(sqlite3_column_int64(s, i) != 0);
        else if (j->kinds[i] == 't')
            v = json_col_time(s, i);
        else if (sqlite3_column_type(s, i) == SQLITE_NULL)
            v = cJSON_CreateNull();
        else
            v = cJSON_CreateNumber((double)sqlite3_column_int64(s, i));
        if (put(o, j->names[i], v) != 0)
            return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

/* Each row of query q (parameter id) becomes an object in arr, with
 * fields described by names and kinds (see struct json_rows). */
static enum eq_err
rows_to_json(struct store *st, enum slot q, int64_t id,
             const char *const *names, const char *kinds, cJSON *arr)
{
    struct json_rows j = {names, kinds, arr};
    sqlite3_stmt *s;
    enum eq_err err = prep(st, q, &s);

    if (err != EQ_OK)
        return err;
    return each_row(st, s, sqlite3_bind_int64(s, 1, id), row_to_json, &j);
}

/* Primary address (or alias) → id; EQ_ERR_NOTFOUND when unknown. The
 * statement stays on its row for the caller, who finishes it. */
static enum eq_err
person_row(struct store *st, const char *email, sqlite3_stmt **out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_PERSON, &s);

    *out = NULL;
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_text(s, 1, email));
    if (err == EQ_OK) {
        *out = s;
        return EQ_OK;
    }
    store_stmt_done(s);
    if (err == EQ_ERR_NOTFOUND)
        store_set_msg(st, "no such person");
    return err;
}

static enum eq_err
export_person(sqlite3_stmt *s, cJSON *root, int64_t *id)
{
    cJSON *p = cJSON_CreateObject();

    if (put(root, "person", p) != 0)
        return EQ_ERR_NOMEM;
    *id = sqlite3_column_int64(s, 0);
    if (put(p, "email", json_col_text(s, 1)) ||
        put(p, "name", json_col_text(s, 2)) ||
        put(p, "department_code", json_col_text(s, 3)) ||
        put(p, "department", json_col_text(s, 4)) ||
        put(p, "language", json_col_text(s, 5)) ||
        put(p, "active", cJSON_CreateBool(sqlite3_column_int(s, 6))) ||
        put(p, "undeliverable", cJSON_CreateBool(sqlite3_column_int(s, 7))) ||
        put(p, "opted_out", cJSON_CreateBool(sqlite3_column_int(s, 8))) ||
        put(p, "joined_at", json_col_time(s, 9)))
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

static enum eq_err
string_to_json(sqlite3_stmt *s, void *arr)
{
    return put(arr, NULL, json_col_text(s, 0)) == 0 ? EQ_OK : EQ_ERR_NOMEM;
}

static enum eq_err
export_strings(struct store *st, enum slot q, int64_t id, cJSON *arr)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, q, &s);

    if (err != EQ_OK)
        return err;
    return each_row(st, s, sqlite3_bind_int64(s, 1, id), string_to_json, arr);
}

/* An invitation's object with its answers and comments. The listing
 * carries the row id as "id" (exact in a double: SQLite row ids of one
 * database stay far below 2^53); it is taken out here, before anyone
 * sees it, so the export never shows an internal id. */
static enum eq_err
export_invitation(struct store *st, cJSON *o)
{
    static const char *const ans_names[] = {"metric", "score", "not_applicable",
                                            "received_at", "superseded"};
    static const char *const com_names[] = {"text", "received_at"};
    cJSON *idv = cJSON_DetachItemFromObject(o, "id");
    int64_t id = idv ? (int64_t)idv->valuedouble : 0;
    cJSON *ans, *com;
    enum eq_err err;

    cJSON_Delete(idv);
    if (put(o, "answers", ans = cJSON_CreateArray()) ||
        put(o, "comments", com = cJSON_CreateArray()))
        return EQ_ERR_NOMEM;
    err = rows_to_json(st, Q_INV_ANSWERS, id, ans_names, "sibtb", ans);
    if (err == EQ_OK)
        err = rows_to_json(st, Q_INV_COMMENTS, id, com_names, "st", com);
    return err;
}

static enum eq_err
export_invitations(struct store *st, int64_t id, cJSON *arr)
{
    static const char *const names[] = {"id",          "campaign",
                                        "period",      "provider_code",
                                        "provider",    "rater_department_code",
                                        "state",       "language",
                                        "planned_at",  "sent_at",
                                        "answered_at", "closes_at",
                                        "reminders"};
    /* Answers and comments after the listing: one statement at a time. */
    enum eq_err err = rows_to_json(st, Q_INVS, id, names, "issssssstttti", arr);

    for (cJSON *o = arr->child; o && err == EQ_OK; o = o->next)
        err = export_invitation(st, o);
    return err;
}

static enum eq_err
export_anonymised(struct store *st, cJSON *root)
{
    static const char *const names[] = {"campaign", "period"};
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_CreateArray();
    struct json_rows j = {names, "ss", arr};
    sqlite3_stmt *s;
    enum eq_err err;

    if (put(root, "anonymised", o) != 0 || put(o, "periods", arr) != 0 ||
        put(o, "note",
            cJSON_CreateString(
                "Answers to anonymous campaigns lose their link to the person "
                "when their period closes; they are not listed here and "
                "cannot be found, changed or erased per person.")))
        return EQ_ERR_NOMEM;
    /* The query takes no parameter; binding ?1 to an unused slot is
     * refused, so this goes by each_row rather than rows_to_json. */
    if ((err = prep(st, Q_ANON_PERIODS, &s)) != EQ_OK)
        return err;
    return each_row(st, s, SQLITE_OK, row_to_json, &j);
}

enum eq_err
store_privacy_export(struct store *st, const char *email, char **json)
{
    static const char *const inb[] = {"received_at", "kind",   "outcome",
                                      "subject",     "sender", "note"};
    static const char *const act[] = {
        "number", "department_code", "campaign",   "period",
        "text",   "state",           "created_at", "done_at"};
    static const char *const notice[] = {"campaign", "period", "sent_at"};
    static const char *const digest[] = {"campaign", "period", "sent_at"};
    cJSON *root = cJSON_CreateObject();
    static const char *const about[] = {"received_at", "kind", "outcome"};
    cJSON *aliases, *manages, *invs, *inbound, *about_inv, *actions, *notices,
        *digests;
    sqlite3_stmt *s = NULL;
    enum eq_err err;
    int64_t id = 0;

    *json = NULL;
    if (root == NULL)
        return EQ_ERR_NOMEM;
    if ((err = store_begin(st)) != EQ_OK) /* one consistent view */
        goto out;
    if ((err = person_row(st, email, &s)) != EQ_OK)
        goto out;
    err = export_person(s, root, &id);
    store_stmt_done(s);
    if (err != EQ_OK)
        goto out;
    cJSON *person = cJSON_GetObjectItem(root, "person");
    if (put(person, "aliases", aliases = cJSON_CreateArray()) ||
        put(person, "manager_of", manages = cJSON_CreateArray()) ||
        put(root, "invitations", invs = cJSON_CreateArray()) ||
        put(root, "inbound_mail", inbound = cJSON_CreateArray()) ||
        put(root, "mail_about_their_invitations",
            about_inv = cJSON_CreateArray()) ||
        put(root, "actions_authored", actions = cJSON_CreateArray()) ||
        put(root, "action_notices", notices = cJSON_CreateArray()) ||
        put(root, "digests_received", digests = cJSON_CreateArray())) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    static const char *const mg[] = {"code", "name"};
    if ((err = export_strings(st, Q_ALIASES, id, aliases)) != EQ_OK ||
        (err = rows_to_json(st, Q_MANAGES, id, mg, "ss", manages)) != EQ_OK ||
        (err = export_invitations(st, id, invs)) != EQ_OK ||
        (err = rows_to_json(st, Q_INBOUND, id, inb, "tsssss", inbound)) !=
            EQ_OK ||
        (err = rows_to_json(st, Q_INBOUND_ABOUT, id, about, "tss",
                            about_inv)) != EQ_OK ||
        (err = rows_to_json(st, Q_ACTIONS, id, act, "issssstt", actions)) !=
            EQ_OK ||
        (err = rows_to_json(st, Q_NOTICES, id, notice, "sst", notices)) !=
            EQ_OK ||
        (err = rows_to_json(st, Q_DIGESTS, id, digest, "sst", digests)) !=
            EQ_OK ||
        (err = export_anonymised(st, root)) != EQ_OK)
        goto out;
    *json = cJSON_Print(root);
    if (*json == NULL)
        err = EQ_ERR_NOMEM;
out:
    store_rollback(st); /* read only */
    cJSON_Delete(root);
    return err;
}

/* --- erasure ---------------------------------------------------------- */

/* A period of the person's invitations and its first day. */
struct inv_period {
    int64_t period;
    eq_day first;
};

static enum eq_err
read_inv_period(sqlite3_stmt *s, void *rec)
{
    struct inv_period *p = rec;

    p->period = sqlite3_column_int64(s, 0);
    p->first = (eq_day)sqlite3_column_int64(s, 1);
    return EQ_OK;
}

/* Invitation times of the person to the start of each of their periods. */
static enum eq_err
erase_coarsen(struct store *st, int64_t id, const char *tz)
{
    struct inv_period *per = NULL;
    size_t n = 0;
    sqlite3_stmt *s;
    enum eq_err err = prep(st, Q_ER_INV_PERIODS, &s);

    if (err != EQ_OK)
        return err;
    err = store_collect(st, s, sqlite3_bind_int64(s, 1, id), sizeof *per,
                        read_inv_period, NULL, &per, &n);
    for (size_t i = 0; i < n && err == EQ_OK; i++) {
        eq_time t = eqtime_from_local(per[i].first, 0, tz);
        if ((err = exec_ints(st, Q_COARSE_ANSWERS, 3, id, per[i].period, t,
                             NULL)) == EQ_OK &&
            (err = exec_ints(st, Q_COARSE_COMMENTS, 3, id, per[i].period, t,
                             NULL)) == EQ_OK &&
            (err = exec_ints(st, Q_ER_COARSE_INBOUND, 3, id, per[i].period, t,
                             NULL)) == EQ_OK)
            err = exec_ints(st, Q_ER_COARSE_INV, 3, id, per[i].period, t, NULL);
    }
    free(per);
    return err;
}

enum eq_err
store_privacy_erase(struct store *st, const char *email, const char *tz,
                    struct store_erase_counts *out)
{
    struct store_erase_counts c;
    sqlite3_stmt *s = NULL;
    enum eq_err err;
    int64_t id;

    memset(&c, 0, sizeof c);
    if ((err = store_begin(st)) != EQ_OK)
        return err;
    if ((err = person_row(st, email, &s)) != EQ_OK)
        goto fail;
    id = sqlite3_column_int64(s, 0);
    store_stmt_done(s);
    /* Mail records are found through the addresses and invitation links,
     * so they go before aliases and links do; times first, while the
     * records still point at their invitation's period. */
    if ((err = erase_coarsen(st, id, tz)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_REVIEW, 1, id, 0, 0, &c.review)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_INBOUND, 1, id, 0, 0, &c.inbound)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_UNLINK_MAIL, 1, id, 0, 0,
                         &c.unlinked_mail)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_DIGESTS, 1, id, 0, 0, &c.digests)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_COMMENTS, 1, id, 0, 0, &c.comments)) !=
            EQ_OK ||
        (err = exec_ints(st, Q_ER_CANCEL, 1, id, 0, 0, &c.cancelled)) !=
            EQ_OK ||
        (err = retoken(st, Q_INV_TOKENS_PERSON, id, 0)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_UNLINK, 1, id, 0, 0, &c.invitations)) !=
            EQ_OK ||
        (err = exec_ints(st, Q_ER_NOTICES, 1, id, 0, 0, &c.notices)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_ACTIONS, 1, id, 0, 0, &c.actions)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_MANAGER, 1, id, 0, 0, &c.manager_of)) !=
            EQ_OK ||
        (err = exec_ints(st, Q_ER_ALIASES, 1, id, 0, 0, &c.aliases)) != EQ_OK ||
        (err = exec_ints(st, Q_ER_PERSON, 1, id, 0, 0, &c.person)) != EQ_OK)
        goto fail;
    if ((err = store_commit(st)) != EQ_OK)
        goto fail;
    if (out != NULL)
        *out = c;
    return EQ_OK;
fail:
    store_rollback(st);
    return err;
}
