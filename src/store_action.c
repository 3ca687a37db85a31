#include "store_action.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

enum {
    A_ADD,
    A_NUMBER,
    A_DONE,
    A_GET,
    A_LIST,
    A_COUNTS,
    A_WITHOUT,
    A_DIGEST,
    A_PERIODS,
    A_RATERS,
    A_NOTICE_LOG,
    A_NOTICE_SENT,
    A_PERIOD,
    A_CAMPAIGN_ID,
    A_PERIOD_LABEL,
    A__COUNT
};

#define ACT_SELECT                                                             \
    "SELECT a.id, a.department_id, a.campaign_id, a.period_id, a.number,"      \
    " a.text, a.metric, a.due_day, a.state = 'done', a.created_at,"            \
    " a.done_at, a.inbound_id, a.author_id, d.code, d.name, p.label"           \
    " FROM action a JOIN department d ON d.id = a.department_id"               \
    " JOIN period p ON p.id = a.period_id "

static const char *const sql[A__COUNT] = {
    /* The number is taken in the same statement, so two writers cannot
     * pick the same one (UNIQUE (department_id, number) backs this up). */
    [A_ADD] = "INSERT INTO action (department_id, campaign_id, period_id,"
              " number, text, metric, due_day, state, created_at, done_at,"
              " inbound_id, author_id)"
              " SELECT ?1, ?2, ?3, COALESCE(MAX(number), 0) + 1, ?4, ?5, ?6,"
              " ?7, ?8, ?9, ?10, ?11 FROM action WHERE department_id = ?1",
    [A_NUMBER] = "SELECT number FROM action WHERE id = ?1",
    [A_DONE] = "UPDATE action SET state = 'done', done_at = ?3"
               " WHERE department_id = ?1 AND number = ?2 AND state = 'open'",
    [A_GET] = ACT_SELECT "WHERE a.department_id = ?1 AND a.number = ?2",
    [A_LIST] = ACT_SELECT "WHERE (?1 = 0 OR a.campaign_id = ?1)"
                          " AND (?2 = 0 OR a.department_id = ?2)"
                          " AND (?3 = 0 OR a.period_id = ?3)"
                          " AND (?4 = 0 OR (?4 = 1 AND a.state = 'open')"
                          "  OR (?4 = 2 AND a.state = 'done'))"
                          " AND (?5 = 0 OR a.done_at >= ?5)"
                          " AND (?6 = 0 OR a.done_at < ?6)"
                          " AND (?7 = 0 OR a.inbound_id = ?7)"
                          " AND (?8 IS NULL OR p.label = ?8)"
                          " ORDER BY d.name, d.id, a.number",
    [A_COUNTS] = "SELECT d.id, d.code, d.name,"
                 " COALESCE(SUM(a.state = 'open'), 0),"
                 " COALESCE(SUM(a.state = 'done'), 0)"
                 " FROM department d LEFT JOIN action a"
                 " ON a.department_id = d.id"
                 " AND (?1 = 0 OR a.campaign_id = ?1)"
                 " GROUP BY d.id ORDER BY d.name, d.id",
    [A_WITHOUT] = "SELECT d.id FROM department d WHERE NOT EXISTS"
                  " (SELECT 1 FROM action a WHERE a.department_id = d.id"
                  " AND (?1 = 0 OR a.campaign_id = ?1))"
                  " ORDER BY d.name, d.id",
    [A_DIGEST] = "SELECT period_id, COALESCE(department_id, 0)"
                 " FROM digest_sent WHERE token = ?1 LIMIT 1",
    [A_PERIODS] = "SELECT DISTINCT a.period_id, p.first_day FROM action a"
                  " JOIN period p ON p.id = a.period_id"
                  " WHERE (?1 = 0 OR a.campaign_id = ?1)"
                  " ORDER BY p.first_day, a.period_id",
    /* MAX(planned_at) makes SQLite take the other columns from that row:
     * the latest invitation of the pair gives the token. */
    [A_RATERS] =
        "SELECT e.id, e.email, e.name, COALESCE(e.language, i.language),"
        " i.provider_department_id, i.token, MAX(i.planned_at)"
        " FROM invitation i JOIN employee e ON e.id = i.employee_id"
        " JOIN department d ON d.id = i.provider_department_id"
        " WHERE i.period_id = ?1 AND i.state = 'answered'"
        " AND e.active = 1 AND e.undeliverable = 0 AND e.opted_out = 0"
        " AND EXISTS (SELECT 1 FROM action a WHERE a.period_id = ?1"
        "  AND a.department_id = i.provider_department_id)"
        " AND EXISTS (SELECT 1 FROM answer s WHERE s.invitation_id = i.id"
        "  AND s.not_applicable = 0 AND s.superseded = 0)"
        " AND NOT EXISTS (SELECT 1 FROM action_notice n"
        "  WHERE n.period_id = ?1 AND n.employee_id = e.id)"
        " GROUP BY e.id, i.provider_department_id"
        " ORDER BY e.id, d.name, d.id",
    [A_NOTICE_LOG] = "INSERT INTO action_notice (period_id, employee_id,"
                     " sent_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    [A_PERIOD] = "SELECT id, campaign_id, label, first_day, last_day,"
                 " COALESCE(closed_at, 0), COALESCE(digest_at, 0)"
                 " FROM period WHERE id = ?1",
    [A_CAMPAIGN_ID] = "SELECT id FROM campaign WHERE name = ?1",
    [A_PERIOD_LABEL] = "SELECT 1 FROM period WHERE label = ?1"
                       " AND (?2 = 0 OR campaign_id = ?2) LIMIT 1",
    [A_NOTICE_SENT] = "SELECT 1 FROM action_notice WHERE period_id = ?1"
                      " AND employee_id = ?2",
};

static enum eq_err
prep(struct store *st, int slot, sqlite3_stmt **s)
{
    return store_prep_part(st, STORE_PART_ACTION, slot, sql[slot], s);
}

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, int slot, sqlite3_stmt **s, void *out, size_t size,
         size_t *n)
{
    return store_prep_out(st, STORE_PART_ACTION, slot, sql[slot], s, out, size,
                          n);
}

/* Passes err on; EQ_ERR_NOTFOUND gets a message saying what is missing
 * ("no such action", "no campaign NAME"). */
static enum eq_err
not_found(struct store *st, enum eq_err err, const char *what, const char *name)
{
    char msg[160];

    if (err == EQ_ERR_NOTFOUND) {
        snprintf(msg, sizeof msg, "%s%s%s", what, name ? " " : "",
                 name ? name : "");
        store_set_msg(st, msg);
    }
    return err;
}

enum eq_err
store_action_add(struct store *st, struct store_action *a)
{
    sqlite3_stmt *s;
    enum eq_err err;
    int64_t number = 0;

    if (a->text == NULL || *a->text == '\0' || a->department_id == 0 ||
        a->period_id == 0 || a->campaign_id == 0) {
        store_set_msg(st, "an action needs text, department and period");
        return EQ_ERR_DATA;
    }
    if ((err = prep(st, A_ADD, &s)) != EQ_OK)
        return err;
    err = store_run(st, s,
                    store_bind_i64(s, 1, a->department_id) |
                        store_bind_i64(s, 2, a->campaign_id) |
                        store_bind_i64(s, 3, a->period_id) |
                        store_bind_text(s, 4, a->text) |
                        store_bind_text(s, 5, a->metric) |
                        (a->has_due ? store_bind_i64(s, 6, a->due_day)
                                    : sqlite3_bind_null(s, 6)) |
                        store_bind_text(s, 7, a->done ? "done" : "open") |
                        store_bind_i64(s, 8, a->created_at) |
                        store_bind_opt(s, 9, a->done ? a->done_at : 0) |
                        store_bind_opt(s, 10, a->inbound_id) |
                        store_bind_opt(s, 11, a->author_id));
    if (err != EQ_OK)
        return err;
    a->id = sqlite3_last_insert_rowid(store_db(st));
    if ((err = prep(st, A_NUMBER, &s)) != EQ_OK)
        return err;
    err = store_fetch(st, s, store_bind_i64(s, 1, a->id), &number,
                      store_read_i64);
    if (err == EQ_OK)
        a->number = (int)number;
    return err;
}

enum eq_err
store_action_done(struct store *st, int64_t department_id, int number,
                  eq_time at, int *changed)
{
    sqlite3_stmt *s;
    struct store_action a;
    enum eq_err err = prep(st, A_DONE, &s);

    *changed = 0;
    if (err != EQ_OK)
        return err;
    err =
        store_run(st, s,
                  store_bind_i64(s, 1, department_id) |
                      store_bind_i64(s, 2, number) | store_bind_i64(s, 3, at));
    if (err != EQ_OK)
        return err;
    if (sqlite3_changes(store_db(st)) > 0) {
        *changed = 1;
        return EQ_OK;
    }
    /* Nothing changed: already done, or no such action. */
    err = store_action_get(st, department_id, number, &a);
    store_action_clear(&a);
    return err;
}

static enum eq_err
read_action(sqlite3_stmt *s, void *rec)
{
    struct store_action *a = rec;

    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(s, 0);
    a->department_id = sqlite3_column_int64(s, 1);
    a->campaign_id = sqlite3_column_int64(s, 2);
    a->period_id = sqlite3_column_int64(s, 3);
    a->number = sqlite3_column_int(s, 4);
    a->has_due = sqlite3_column_type(s, 7) != SQLITE_NULL;
    a->due_day = (eq_day)sqlite3_column_int64(s, 7);
    a->done = sqlite3_column_int(s, 8);
    a->created_at = sqlite3_column_int64(s, 9);
    a->done_at = sqlite3_column_int64(s, 10);
    a->inbound_id = sqlite3_column_int64(s, 11);
    a->author_id = sqlite3_column_int64(s, 12);
    if (store_col_dup(s, 5, &a->text) || store_col_dup(s, 6, &a->metric) ||
        store_col_dup(s, 13, &a->department_code) ||
        store_col_dup(s, 14, &a->department_name) ||
        store_col_dup(s, 15, &a->period_label)) {
        store_action_clear(a);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

/* The clear_* wrappers exist because store_collect() and store_free_array()
 * call through void *; casting the typed function would be undefined. */
static void
clear_action(void *rec)
{
    store_action_clear(rec);
}

/* The rows of a query with one integer parameter, as records of size
 * bytes read by read_row, into out (the caller's T **; see
 * store_collect). */
static enum eq_err
list_of(struct store *st, int slot, int64_t arg, size_t size,
        store_row_fn read_row, void (*clear)(void *), void *out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, slot, &s, out, sizeof(void *), n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, store_bind_i64(s, 1, arg), size, read_row,
                         clear, out, n);
}

enum eq_err
store_action_get(struct store *st, int64_t department_id, int number,
                 struct store_action *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, A_GET, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    err = store_fetch(st, s,
                      store_bind_i64(s, 1, department_id) |
                          store_bind_i64(s, 2, number),
                      out, read_action);
    return not_found(st, err, "no such action", NULL);
}

enum eq_err
store_actions(struct store *st, const struct store_action_filter *f,
              struct store_action **out, size_t *n)
{
    static const struct store_action_filter any;
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, A_LIST, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    if (f == NULL)
        f = &any;
    return store_collect(st, s,
                         store_bind_i64(s, 1, f->campaign_id) |
                             store_bind_i64(s, 2, f->department_id) |
                             store_bind_i64(s, 3, f->period_id) |
                             store_bind_i64(s, 4, (int)f->state) |
                             store_bind_i64(s, 5, f->done_from) |
                             store_bind_i64(s, 6, f->done_before) |
                             store_bind_i64(s, 7, f->inbound_id) |
                             store_bind_text(s, 8, f->period_label),
                         sizeof **out, read_action, clear_action, out, n);
}

void
store_action_clear(struct store_action *a)
{
    if (a == NULL)
        return;
    free(a->text);
    free(a->metric);
    free(a->department_code);
    free(a->department_name);
    free(a->period_label);
    memset(a, 0, sizeof *a);
}

void
store_actions_free(struct store_action *a, size_t n)
{
    store_free_array(a, n, sizeof *a, clear_action);
}

/* Looks a name up through the bound statement s; its first column, if
 * id is not NULL, into *id. */
static enum eq_err
lookup(struct store *st, sqlite3_stmt *s, int brc, const char *what,
       const char *name, int64_t *id)
{
    int64_t found = 0;
    enum eq_err err = store_fetch(st, s, brc, &found, store_read_i64);

    if (err == EQ_OK && id != NULL)
        *id = found;
    return not_found(st, err, what, name);
}

enum eq_err
store_action_filter_names(struct store *st, const char *campaign,
                          const char *department, const char *period,
                          struct store_action_filter *f)
{
    sqlite3_stmt *s;
    enum eq_err err;

    if (campaign) {
        if ((err = prep(st, A_CAMPAIGN_ID, &s)) != EQ_OK ||
            (err = lookup(st, s, store_bind_text(s, 1, campaign), "no campaign",
                          campaign, &f->campaign_id)) != EQ_OK)
            return err;
    }
    if (department) {
        struct store_department d;
        err = not_found(st, store_department_by_code(st, department, &d),
                        "no department", department);
        if (err != EQ_OK)
            return err;
        f->department_id = d.id;
        store_department_clear(&d);
    }
    if (period) {
        if ((err = prep(st, A_PERIOD_LABEL, &s)) != EQ_OK ||
            (err = lookup(st, s,
                          store_bind_text(s, 1, period) |
                              store_bind_i64(s, 2, f->campaign_id),
                          "no period", period, NULL)) != EQ_OK)
            return err;
        f->period_label = period;
    }
    return EQ_OK;
}

static void
clear_count(void *rec)
{
    struct store_action_count *c = rec;

    free(c->code);
    free(c->name);
}

static enum eq_err
read_count(sqlite3_stmt *s, void *rec)
{
    struct store_action_count *c = rec;

    memset(c, 0, sizeof *c);
    c->department_id = sqlite3_column_int64(s, 0);
    c->open = sqlite3_column_int64(s, 3);
    c->done = sqlite3_column_int64(s, 4);
    if (store_col_dup(s, 1, &c->code) || store_col_dup(s, 2, &c->name)) {
        clear_count(c);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

enum eq_err
store_action_counts(struct store *st, int64_t campaign_id,
                    struct store_action_count **out, size_t *n)
{
    return list_of(st, A_COUNTS, campaign_id, sizeof **out, read_count,
                   clear_count, out, n);
}

void
store_action_counts_free(struct store_action_count *c, size_t n)
{
    store_free_array(c, n, sizeof *c, clear_count);
}

enum eq_err
store_action_departments_without(struct store *st, int64_t campaign_id,
                                 int64_t **out, size_t *n)
{
    return list_of(st, A_WITHOUT, campaign_id, sizeof **out, store_read_i64,
                   NULL, out, n);
}

enum eq_err
store_action_periods(struct store *st, int64_t campaign_id, int64_t **out,
                     size_t *n)
{
    return list_of(st, A_PERIODS, campaign_id, sizeof **out, store_read_i64,
                   NULL, out, n);
}

enum eq_err
store_action_digest(struct store *st, const char *token, int64_t *period_id,
                    int64_t *department_id)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, A_DIGEST, &s);

    *period_id = *department_id = 0;
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_text(s, 1, token));
    if (err == EQ_OK) {
        *period_id = sqlite3_column_int64(s, 0);
        *department_id = sqlite3_column_int64(s, 1);
    }
    store_stmt_done(s);
    return not_found(st, err, "no digest with this token", NULL);
}

static void
clear_rater(void *rec)
{
    struct store_action_rater *r = rec;

    free(r->email);
    free(r->name);
    free(r->language);
}

static enum eq_err
read_rater(sqlite3_stmt *s, void *rec)
{
    struct store_action_rater *r = rec;
    const unsigned char *tok = sqlite3_column_text(s, 5);

    memset(r, 0, sizeof *r);
    r->employee_id = sqlite3_column_int64(s, 0);
    r->department_id = sqlite3_column_int64(s, 4);
    snprintf(r->token, sizeof r->token, "%s", tok ? (const char *)tok : "");
    if (store_col_dup(s, 1, &r->email) || store_col_dup(s, 2, &r->name) ||
        store_col_dup(s, 3, &r->language)) {
        clear_rater(r);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

enum eq_err
store_action_raters(struct store *st, int64_t period_id,
                    struct store_action_rater **out, size_t *n)
{
    return list_of(st, A_RATERS, period_id, sizeof **out, read_rater,
                   clear_rater, out, n);
}

void
store_action_raters_free(struct store_action_rater *r, size_t n)
{
    store_free_array(r, n, sizeof *r, clear_rater);
}

enum eq_err
store_action_notice_log(struct store *st, int64_t period_id,
                        int64_t employee_id, eq_time at, int *sent_before)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, A_NOTICE_LOG, &s);

    *sent_before = 0;
    if (err != EQ_OK)
        return err;
    err = store_run(st, s,
                    store_bind_i64(s, 1, period_id) |
                        store_bind_i64(s, 2, employee_id) |
                        store_bind_i64(s, 3, at));
    if (err == EQ_OK)
        *sent_before = sqlite3_changes(store_db(st)) == 0;
    return err;
}

enum eq_err
store_action_notice_sent(struct store *st, int64_t period_id,
                         int64_t employee_id, int *sent)
{
    sqlite3_stmt *s;
    enum eq_err err = prep(st, A_NOTICE_SENT, &s);

    *sent = 0;
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s,
                         store_bind_i64(s, 1, period_id) |
                             store_bind_i64(s, 2, employee_id));
    store_stmt_done(s);
    *sent = err == EQ_OK;
    return err == EQ_ERR_NOTFOUND ? EQ_OK : err;
}

static enum eq_err
read_period(sqlite3_stmt *s, void *rec)
{
    struct store_period *p = rec;
    const unsigned char *l = sqlite3_column_text(s, 2);

    p->id = sqlite3_column_int64(s, 0);
    p->campaign_id = sqlite3_column_int64(s, 1);
    snprintf(p->label, sizeof p->label, "%s", l ? (const char *)l : "");
    p->first = (eq_day)sqlite3_column_int64(s, 3);
    p->last = (eq_day)sqlite3_column_int64(s, 4);
    p->closed_at = sqlite3_column_int64(s, 5);
    p->digest_at = sqlite3_column_int64(s, 6);
    return EQ_OK;
}

enum eq_err
store_action_period(struct store *st, int64_t period_id,
                    struct store_period *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, A_PERIOD, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    err = store_fetch(st, s, store_bind_i64(s, 1, period_id), out, read_period);
    return not_found(st, err, "no such period", NULL);
}
