/*
 * store_invitation: campaigns, periods, tokens, invitations and their
 * answers and comments, with the history the scheduler plans from. The
 * invitation states are named here; nothing here sends or reads mail.
 */
#include "store.h"
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PERIOD_SELECT                                                          \
    "SELECT id, campaign_id, label, first_day, last_day, closed_at,"           \
    " digest_at FROM period "

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

enum sid {
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
    S_COMMENTS,
    S_CANCEL_INACTIVE,
    S__COUNT
};

_Static_assert(S__COUNT <= STORE_PART_SLOTS, "too many statements");

static const char *const sql_text[S__COUNT] = {
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
    [S_COMMENTS] = "SELECT c.text FROM comment c"
                   " JOIN invitation i ON i.id = c.invitation_id"
                   " WHERE i.period_id = ?1 AND i.provider_department_id = ?2"
                   " AND c.text <> '' ORDER BY c.received_at, c.id",
    [S_CANCEL_INACTIVE] =
        "UPDATE invitation SET state = 'cancelled', last_error = 'left'"
        " WHERE state IN ('planned', 'sending', 'deferred', 'sent', 'reminded')"
        " AND employee_id IN (SELECT id FROM employee WHERE active = 0)",
};

static enum eq_err
prep(struct store *st, enum sid id, sqlite3_stmt **out)
{
    return store_prep_part(st, STORE_PART_INVITATION, (int)id, sql_text[id],
                           out);
}

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, enum sid id, sqlite3_stmt **s, void *out,
         size_t size, size_t *n)
{
    return store_prep_out(st, STORE_PART_INVITATION, (int)id, sql_text[id], s,
                          out, size, n);
}

/* --- campaigns and periods ------------------------------------------- */

enum eq_err
store_campaign_ensure(struct store *st, const char *name, int64_t *id)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (name == NULL || *name == '\0') {
        store_set_msg(st, "campaign needs a name");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_CAMPAIGN_GET, &s);
    if (err != EQ_OK)
        return err;
    err = store_fetch(st, s, store_bind_text(s, 1, name), id, store_read_i64);
    if (err != EQ_ERR_NOTFOUND)
        return err;
    err = prep(st, S_CAMPAIGN_INSERT, &s);
    if (err == EQ_OK)
        err = store_run(st, s, store_bind_text(s, 1, name));
    if (err == EQ_OK)
        *id = sqlite3_last_insert_rowid(store_db(st));
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
        store_set_msg(st, "bad period label or dates");
        return EQ_ERR_DATA;
    }
    err = store_period_by_label(st, campaign_id, label, &p);
    if (err == EQ_OK) {
        /* The grid is fixed: a label that moved means the campaign's
         * cadence changed under recorded data. */
        if (p.first != first || p.last != last) {
            store_set_msg(st, "period exists with other dates");
            return EQ_ERR_DATA;
        }
        *id = p.id;
        return EQ_OK;
    }
    if (err != EQ_ERR_NOTFOUND)
        return err;
    err = prep(st, S_PERIOD_INSERT, &s);
    if (err == EQ_OK)
        err = store_run(
            st, s,
            store_bind_i64(s, 1, campaign_id) | store_bind_text(s, 2, label) |
                store_bind_i64(s, 3, first) | store_bind_i64(s, 4, last));
    if (err == EQ_OK)
        *id = sqlite3_last_insert_rowid(store_db(st));
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
    return store_collect(st, s, store_bind_i64(s, 1, campaign_id), sizeof **out,
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
    return store_fetch(
        st, s, store_bind_i64(s, 1, campaign_id) | store_bind_text(s, 2, label),
        out, read_period);
}

/* Sets one of a period's times (slot: its UPDATE) by id. */
static enum eq_err
period_set_time(struct store *st, enum sid slot, int64_t id, eq_time t)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, slot, &s);

    if (err != EQ_OK)
        return err;
    return store_run_update(st, s,
                            store_bind_i64(s, 1, id) | store_bind_opt(s, 2, t));
}

enum eq_err
store_period_set_closed(struct store *st, int64_t id, eq_time t)
{
    return period_set_time(st, S_PERIOD_CLOSED, id, t);
}

enum eq_err
store_period_set_digest(struct store *st, int64_t id, eq_time t)
{
    return period_set_time(st, S_PERIOD_DIGEST, id, t);
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
    if (store_col_dup(s, 7, &inv->language) ||
        store_col_dup(s, 16, &inv->last_error) ||
        store_col_dup(s, 17, &inv->campaign) ||
        store_col_dup(s, 18, &inv->period) ||
        store_col_dup(s, 19, &inv->email) ||
        store_col_dup(s, 20, &inv->employee_name) ||
        store_col_dup(s, 21, &inv->provider_code) ||
        store_col_dup(s, 22, &inv->provider_name)) {
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
        store_set_msg(st, "bad token or token kind");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_TOKEN_INSERT, &s);
    if (err != EQ_OK)
        return err;
    return store_run(st, s,
                     store_bind_text(s, 1, token) |
                         store_bind_text(s, 2, kind) |
                         store_bind_i64(s, 3, at));
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
    err = store_step_row(st, s, store_bind_text(s, 1, token));
    if (err == EQ_OK)
        *kind = kind_static((const char *)sqlite3_column_text(s, 0));
    store_stmt_done(s);
    if (err == EQ_OK && *kind == NULL) {
        store_set_msg(st, "unknown token kind");
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
        store_set_msg(st, "bad invitation state");
        return EQ_ERR_SOFTWARE;
    }
    err = store_atomic_begin(st, &nested);
    if (err != EQ_OK)
        return err;
    if (rater == 0 && inv->employee_id != 0) {
        err = prep(st, S_EMP_DEPT, &s);
        if (err == EQ_OK)
            err = store_fetch(st, s, store_bind_i64(s, 1, inv->employee_id),
                              &rater, store_read_i64);
        if (err == EQ_ERR_NOTFOUND)
            store_set_msg(st, "invitation for an unknown employee");
    }
    /* The token's birth is the moment the invitation is planned: the store
     * has no clock of its own. */
    if (err == EQ_OK)
        err = store_token_add(st, inv->token, "invitation", inv->planned_at);
    if (err == EQ_OK)
        err = prep(st, S_INV_INSERT, &s);
    if (err == EQ_OK)
        err = store_run(st, s,
                        store_bind_text(s, 1, inv->token) |
                            store_bind_i64(s, 2, inv->campaign_id) |
                            store_bind_i64(s, 3, inv->period_id) |
                            store_bind_opt(s, 4, inv->employee_id) |
                            store_bind_opt(s, 5, rater) |
                            store_bind_i64(s, 6, inv->provider_department_id) |
                            store_bind_text(s, 7, inv->language) |
                            store_bind_text(s, 8, state_names[inv->state]) |
                            store_bind_i64(s, 9, inv->planned_at) |
                            store_bind_opt(s, 10, inv->sent_at) |
                            store_bind_opt(s, 11, inv->answered_at) |
                            store_bind_opt(s, 12, inv->closes_at) |
                            store_bind_opt(s, 13, inv->next_attempt_at) |
                            store_bind_i64(s, 14, inv->reminders) |
                            store_bind_i64(s, 15, inv->attempts) |
                            store_bind_text(s, 16, inv->last_error));
    if (err == EQ_OK) {
        inv->id = sqlite3_last_insert_rowid(store_db(st));
        inv->rater_department_id = rater;
    }
    return store_atomic_end(st, nested, err);
}

static enum eq_err
invitation_one(struct store *st, enum sid id, const char *token, int64_t key,
               struct store_invitation *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, id, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return store_fetch(
        st, s, token ? store_bind_text(s, 1, token) : store_bind_i64(s, 1, key),
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
        brc |= store_bind_text(s, i + 1,
                               (mask & (1u << i)) ? state_names[i] : NULL);
    return brc | store_bind_i64(s, 12, f->campaign_id) |
           store_bind_i64(s, 13, f->period_id) |
           store_bind_i64(s, 14, f->employee_id) |
           store_bind_i64(s, 15, f->planned_before) |
           store_bind_i64(s, 16, f->sent_before) |
           store_bind_i64(s, 17, f->next_attempt_before) |
           store_bind_i64(s, 18, f->closes_before) |
           store_bind_i64(s, 19, f->limit ? (int64_t)f->limit : -1);
}

enum eq_err
store_invitations(struct store *st, const struct store_inv_filter *f,
                  struct store_invitation **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_INV_FILTER, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, bind_filter(s, f), sizeof **out,
                         read_invitation, clear_invitation, out, n);
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
        err = store_collect(st, s, store_bind_text(s, 1, json.s), sizeof **out,
                            read_invitation, clear_invitation, out, n);
    else
        store_stmt_done(s);
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
    return store_collect(st, s, bind_filter(s, f), sizeof **out, store_read_i64,
                         NULL, out, n);
}

enum eq_err
store_invitation_set_state(struct store *st, int64_t id, enum inv_state state,
                           eq_time at, const char *error)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if ((unsigned)state >= INV__COUNT) {
        store_set_msg(st, "bad invitation state");
        return EQ_ERR_SOFTWARE;
    }
    err = prep(st, S_INV_SET_STATE, &s);
    if (err != EQ_OK)
        return err;
    return store_run_update(
        st, s,
        store_bind_i64(s, 1, id) | store_bind_text(s, 2, state_names[state]) |
            store_bind_opt(s, 3, at) | store_bind_text(s, 4, error));
}

enum eq_err
store_invitation_defer(struct store *st, int64_t id, eq_time next,
                       const char *error)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_INV_DEFER, &s);

    if (err != EQ_OK)
        return err;
    return store_run_update(st, s,
                            store_bind_i64(s, 1, id) |
                                store_bind_opt(s, 2, next) |
                                store_bind_text(s, 3, error));
}

enum eq_err
store_invitation_reminded(struct store *st, int64_t id, eq_time at)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_INV_REMINDED, &s);

    if (err != EQ_OK)
        return err;
    return store_run_update(
        st, s, store_bind_i64(s, 1, id) | store_bind_opt(s, 2, at));
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
    store_free_array(inv, n, sizeof *inv, clear_invitation);
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
    return store_collect(st, s,
                         nbind > 0 ? store_bind_i64(s, 1, p1) : SQLITE_OK,
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
        store_set_msg(st, "answer needs a metric");
        return EQ_ERR_DATA;
    }
    err = store_atomic_begin(st, &nested);
    if (err != EQ_OK)
        return err;
    err = prep(st, S_ANSWER_SUPERSEDE, &s);
    if (err == EQ_OK)
        err = store_run(st, s,
                        store_bind_i64(s, 1, invitation_id) |
                            store_bind_text(s, 2, metric));
    if (err == EQ_OK)
        err = prep(st, S_ANSWER_INSERT, &s);
    if (err == EQ_OK)
        err = store_run(
            st, s,
            store_bind_i64(s, 1, invitation_id) |
                store_bind_text(s, 2, metric) |
                (not_applicable || score < 0 ? sqlite3_bind_null(s, 3)
                                             : store_bind_i64(s, 3, score)) |
                store_bind_i64(s, 4, !!not_applicable) |
                store_bind_i64(s, 5, at) | store_bind_opt(s, 6, inbound_id));
    return store_atomic_end(st, nested, err);
}

enum eq_err
store_comment_add(struct store *st, int64_t invitation_id, const char *text,
                  eq_time at, int64_t inbound_id)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_COMMENT_INSERT, &s);

    if (err != EQ_OK)
        return err;
    return store_run(st, s,
                     store_bind_i64(s, 1, invitation_id) |
                         store_bind_text(s, 2, text ? text : "") |
                         store_bind_i64(s, 3, at) |
                         store_bind_opt(s, 4, inbound_id));
}

enum eq_err
store_comments(struct store *st, int64_t period_id, int64_t provider_id,
               char ***out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_COMMENTS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(
        st, s,
        store_bind_i64(s, 1, period_id) | store_bind_i64(s, 2, provider_id),
        sizeof **out, store_read_string, store_clear_string, out, n);
}

enum eq_err
store_cancel_inactive(struct store *st, int64_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, S_CANCEL_INACTIVE, &s);

    *n = 0;
    if (err != EQ_OK)
        return err;
    err = store_run(st, s, SQLITE_OK);
    if (err == EQ_OK)
        *n = sqlite3_changes(store_db(st));
    return err;
}
