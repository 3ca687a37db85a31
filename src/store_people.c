/*
 * store_people: departments, employees, their aliases and the managers of
 * each department, as the org import and the address lookups need them.
 * It keeps no survey state: invitations and answers are store_invitation.c's.
 */
#include "store.h"
#include "store_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define EMP_SELECT                                                             \
    "SELECT e.id, e.email, e.name, e.department_id, d.code, d.name,"           \
    " e.language, e.active, e.undeliverable, e.opted_out,"                     \
    " EXISTS (SELECT 1 FROM manager m WHERE m.employee_id = e.id"              \
    "  AND m.department_id = e.department_id), e.joined_at"                    \
    " FROM employee e LEFT JOIN department d ON d.id = e.department_id "

enum sid {
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
    S__COUNT
};

_Static_assert(S__COUNT <= STORE_PART_SLOTS, "too many statements");

static const char *const sql_text[S__COUNT] = {
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
};

static enum eq_err
prep(struct store *st, enum sid id, sqlite3_stmt **out)
{
    return store_prep_part(st, STORE_PART_PEOPLE, (int)id, sql_text[id], out);
}

/* store_prep_out with this file's statements. */
static enum eq_err
prep_out(struct store *st, enum sid id, sqlite3_stmt **s, void *out,
         size_t size, size_t *n)
{
    return store_prep_out(st, STORE_PART_PEOPLE, (int)id, sql_text[id], s, out,
                          size, n);
}

/* --- organisation ----------------------------------------------------- */

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

static enum eq_err
read_department(sqlite3_stmt *s, void *rec)
{
    struct store_department *d = rec;

    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(s, 0);
    if (store_col_dup(s, 1, &d->code) || store_col_dup(s, 2, &d->name)) {
        store_department_clear(d);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

/* The clear_* wrappers exist because store_collect() and store_free_array()
 * call through void *; casting the typed function would be undefined. */
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
        store_set_msg(st, "department needs a code and a name");
        return EQ_ERR_DATA;
    }
    err = prep(st, S_DEPT_BY_CODE, &s);
    if (err != EQ_OK)
        return err;
    err = store_step_row(st, s, store_bind_text(s, 1, code));
    if (err == EQ_OK) {
        found = sqlite3_column_int64(s, 0);
        same = str_eq((const char *)sqlite3_column_text(s, 2), name);
    }
    store_stmt_done(s);
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
            err = store_run(st, s,
                            store_bind_i64(s, 1, found) |
                                store_bind_text(s, 2, name));
    } else {
        err = prep(st, S_DEPT_INSERT, &s);
        if (err == EQ_OK)
            err = store_run(st, s,
                            store_bind_text(s, 1, code) |
                                store_bind_text(s, 2, name));
        found = sqlite3_last_insert_rowid(store_db(st));
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
    return store_collect(st, s, SQLITE_OK, sizeof **out, read_department,
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
    return store_fetch(st, s, store_bind_text(s, 1, code), out,
                       read_department);
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
    store_free_array(d, n, sizeof *d, clear_department);
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
    if (store_col_dup(s, 1, &e->email) || store_col_dup(s, 2, &e->name) ||
        store_col_dup(s, 4, &e->department_code) ||
        store_col_dup(s, 5, &e->department_name) ||
        store_col_dup(s, 6, &e->language)) {
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
    err = store_step_row(st, s, store_bind_text(s, 1, email));
    if (err == EQ_OK) {
        *found = sqlite3_column_int64(s, 0);
        *same = str_eq((const char *)sqlite3_column_text(s, 1), email) &&
                str_eq((const char *)sqlite3_column_text(s, 2), e->name) &&
                sqlite3_column_int64(s, 3) == e->department_id &&
                str_eq((const char *)sqlite3_column_text(s, 4), e->language) &&
                sqlite3_column_int(s, 5) == !!e->active;
    }
    store_stmt_done(s);
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
        store_set_msg(st, "employee needs an email address");
        return EQ_ERR_DATA;
    }
    email = lower_dup(e->email);
    if (email == NULL)
        return EQ_ERR_NOMEM;
    err = store_atomic_begin(st, &nested);
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
            err = store_run(st, s,
                            store_bind_text(s, 1, email) |
                                store_bind_text(s, 2, e->name) |
                                store_bind_opt(s, 3, e->department_id) |
                                store_bind_text(s, 4, e->language) |
                                store_bind_i64(s, 5, !!e->active) |
                                store_bind_i64(s, 6, e->joined_at));
        found = sqlite3_last_insert_rowid(store_db(st));
        same = 0;
    } else if (err == EQ_OK && !same) {
        /* An alias that becomes the primary address stops being an alias. */
        if (by_alias) {
            err = prep(st, S_ALIAS_DELETE_ONE, &s);
            if (err == EQ_OK)
                err = store_run(st, s, store_bind_text(s, 1, email));
        }
        if (err == EQ_OK)
            err = prep(st, S_EMP_UPDATE, &s);
        if (err == EQ_OK)
            err = store_run(st, s,
                            store_bind_i64(s, 1, found) |
                                store_bind_text(s, 2, email) |
                                store_bind_text(s, 3, e->name) |
                                store_bind_opt(s, 4, e->department_id) |
                                store_bind_text(s, 5, e->language) |
                                store_bind_i64(s, 6, !!e->active));
    }
    err = store_atomic_end(st, nested, err);
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
        if (store_bind_text(s, 1, want[i]) != SQLITE_OK) {
            err = store_fail(st, SQLITE_NOMEM);
            store_stmt_done(s);
            goto out;
        }
        while ((r = store_stmt_next(st, s, &err)) == 1) {
            if (sqlite3_column_int64(s, 0) != id) {
                store_set_msg(st, "alias belongs to another employee");
                err = EQ_ERR_DATA;
                break;
            }
        }
        store_stmt_done(s);
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
    err = store_atomic_begin(st, &nested);
    if (err != EQ_OK)
        goto out;
    err = prep(st, S_ALIAS_DELETE, &s);
    if (err == EQ_OK)
        err = store_run(st, s, store_bind_i64(s, 1, id));
    for (size_t i = 0; err == EQ_OK && i < nwant; i++) {
        err = prep(st, S_ALIAS_INSERT, &s);
        if (err == EQ_OK)
            err = store_run(st, s,
                            store_bind_text(s, 1, want[i]) |
                                store_bind_i64(s, 2, id));
    }
    err = store_atomic_end(st, nested, err);
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
    return store_collect(st, s, store_bind_i64(s, 1, id), sizeof **out,
                         store_read_string, store_clear_string, out, n);
}

enum eq_err
store_employee_find(struct store *st, const char *email,
                    struct store_employee *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_EMP_FIND, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return store_fetch(st, s, store_bind_text(s, 1, email), out, read_employee);
}

enum eq_err
store_employee_get(struct store *st, int64_t id, struct store_employee *out)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_EMP_GET, &s, out, sizeof *out, NULL);

    if (err != EQ_OK)
        return err;
    return store_fetch(st, s, store_bind_i64(s, 1, id), out, read_employee);
}

enum eq_err
store_employees(struct store *st, struct store_employee **out, size_t *n)
{
    sqlite3_stmt *s;
    enum eq_err err = prep_out(st, S_EMPS, &s, out, sizeof *out, n);

    if (err != EQ_OK)
        return err;
    return store_collect(st, s, SQLITE_OK, sizeof **out, read_employee,
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
    return store_run_update(st, s,
                            store_bind_i64(s, 1, id) |
                                store_bind_i64(s, 2, !!active) |
                                store_bind_i64(s, 3, !!undeliverable) |
                                store_bind_i64(s, 4, !!opted_out));
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
    err = store_run(st, s,
                    store_bind_i64(s, 1, employee_id) |
                        store_bind_i64(s, 2, department_id));
    if (err == EQ_OK && changed)
        *changed = sqlite3_changes(store_db(st)) > 0;
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
    return store_collect(st, s, store_bind_i64(s, 1, department_id),
                         sizeof **out, read_employee, clear_employee, out, n);
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
    err = store_atomic_begin(st, &nested);
    if (err != EQ_OK)
        goto out;
    err = prep(st, S_EMP_ACTIVE_IDS, &s);
    if (err == EQ_OK)
        err = store_collect(st, s, SQLITE_OK, sizeof *active, store_read_i64,
                            NULL, &active, &nactive);
    for (size_t i = 0; err == EQ_OK && i < nactive; i++) {
        if (n > 0 && bsearch(&active[i], sorted, n, sizeof *sorted, cmp_i64))
            continue;
        err = prep(st, S_EMP_DEACTIVATE, &s);
        if (err == EQ_OK)
            err = store_run(st, s, store_bind_i64(s, 1, active[i]));
        ndrop++;
    }
    err = store_atomic_end(st, nested, err);
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
    store_free_array(e, n, sizeof *e, clear_employee);
}
