#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "store_report.h"

/* Each test gets its own temporary directory and database. */
static char tmpdir[64];
static char dbpath[256];
static struct store *st;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void
setup_dir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/eq-store-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(dbpath, sizeof dbpath, "%s/var/lib/enquete.db", tmpdir);
}

static void
setup(void)
{
    struct eq_buf diag = {0};

    setup_dir();
    cr_assert_eq(store_open(dbpath, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
}

static void
teardown(void)
{
    store_close(st);
    st = NULL;
    if (tmpdir[0] != '\0')
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- builders for the tests ------------------------------------------ */

static int64_t
dept(const char *code, const char *name)
{
    int64_t id = 0;
    int changed = -1;
    cr_assert_eq(store_department_upsert(st, code, name, &id, &changed), EQ_OK,
                 "%s", store_errmsg(st));
    return id;
}

static int64_t
emp(const char *email, const char *name, int64_t dept_id)
{
    struct store_employee e = {0};
    int64_t id = 0;
    int changed = -1;

    e.email = (char *)email;
    e.name = (char *)name;
    e.department_id = dept_id;
    e.language = "nl";
    e.active = 1;
    cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK, "%s",
                 store_errmsg(st));
    return id;
}

struct world {
    int64_t sales, it, hr;
    int64_t ann, bob, cas;
    int64_t campaign, q3, q4;
};

static struct world
world(void)
{
    struct world w;

    w.sales = dept("sales", "Sales");
    w.it = dept("it", "IT");
    w.hr = dept("hr", "HR");
    w.ann = emp("ann@example.org", "Ann", w.sales);
    w.bob = emp("bob@example.org", "Bob", w.sales);
    w.cas = emp("cas@example.org", "Cas", w.hr);
    cr_assert_eq(store_campaign_ensure(st, "internal", &w.campaign), EQ_OK);
    /* 2026-07-01 = day 20635, 2026-09-30 = 20726, 2026-10-01 = 20727,
     * 2026-12-31 = 20818 */
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026Q3", 20635, 20726, &w.q3),
        EQ_OK);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026Q4", 20727, 20818, &w.q4),
        EQ_OK);
    return w;
}

static int64_t
invite(const struct world *w, const char *token, int64_t period,
       int64_t employee, int64_t provider, eq_time planned)
{
    struct store_invitation inv = {0};

    snprintf(inv.token, sizeof inv.token, "%s", token);
    inv.campaign_id = w->campaign;
    inv.period_id = period;
    inv.employee_id = employee;
    inv.provider_department_id = provider;
    inv.language = "nl";
    inv.state = INV_PLANNED;
    inv.planned_at = planned;
    cr_assert_eq(store_invitation_add(st, &inv), EQ_OK, "%s", store_errmsg(st));
    cr_assert_gt(inv.id, 0);
    return inv.id;
}

/* 26-character tokens that differ in the last characters. */
#define TOK(c) "abcdefghjkmnpqrstvwxyz01" c

/* --- connection ------------------------------------------------------- */

Test(store, fresh_database_is_migrated_and_private, .init = setup,
     .fini = teardown)
{
    struct stat sb;
    char dir[300];

    cr_assert_eq(store_schema_version(st), 4);
    cr_assert_eq(stat(dbpath, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    snprintf(dir, sizeof dir, "%s/var/lib", tmpdir);
    cr_assert_eq(stat(dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700);
    snprintf(dir, sizeof dir, "%s/var", tmpdir);
    cr_assert_eq(stat(dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700);
    /* WAL mode: a write creates the -wal file, as private as the db. */
    dept("it", "IT");
    snprintf(dir, sizeof dir, "%s-wal", dbpath);
    cr_assert_eq(stat(dir, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
}

Test(store, in_memory_database_for_tests_of_other_modules, .fini = teardown)
{
    struct store_department d = {0};

    cr_assert_eq(store_open(":memory:", &st, NULL), EQ_OK);
    cr_assert_eq(store_schema_version(st), 4);
    dept("it", "IT");
    cr_assert_eq(store_department_by_code(st, "it", &d), EQ_OK);
    store_department_clear(&d);
}

Test(store, reopening_keeps_data_and_migrates_nothing_twice, .init = setup,
     .fini = teardown)
{
    struct store_department d = {0};
    struct eq_buf diag = {0};

    dept("sales", "Sales");
    store_close(st);
    st = NULL;
    cr_assert_eq(store_open(dbpath, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(store_schema_version(st), 4);
    cr_assert_eq(store_department_by_code(st, "sales", &d), EQ_OK);
    cr_assert_str_eq(d.name, "Sales");
    store_department_clear(&d);
    buf_free(&diag);
}

Test(store, newer_schema_than_known_is_refused, .init = setup, .fini = teardown)
{
    /* user_version lives big-endian at offset 60 of the file header. */
    unsigned char v[4] = {0, 0, 0, 99};
    struct eq_buf diag = {0};
    int fd;

    store_close(st);
    st = NULL;
    fd = open(dbpath, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, v, 4, 60), 4);
    close(fd);
    cr_assert_eq(store_open(dbpath, &st, &diag), EQ_ERR_DB);
    cr_assert_null(st);
    cr_assert_not_null(strstr(buf_str(&diag), "newer"));
    buf_free(&diag);
}

Test(store, existing_world_readable_file_is_tightened, .fini = teardown)
{
    struct eq_buf diag = {0};
    struct stat sb;
    char path[300];
    int fd;

    setup_dir();
    snprintf(path, sizeof path, "%s/open.db", tmpdir);
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    cr_assert_geq(fd, 0);
    fchmod(fd, 0644);
    close(fd);
    cr_assert_eq(store_open(path, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    buf_free(&diag);
}

Test(store, rolled_back_transaction_leaves_nothing, .init = setup,
     .fini = teardown)
{
    struct store_department d = {0};

    cr_assert_eq(store_begin(st), EQ_OK);
    cr_assert_eq(store_begin(st), EQ_ERR_SOFTWARE); /* not nestable */
    dept("it", "IT");
    store_rollback(st);
    cr_assert_eq(store_department_by_code(st, "it", &d), EQ_ERR_NOTFOUND);
    cr_assert_eq(store_begin(st), EQ_OK);
    dept("it", "IT");
    cr_assert_eq(store_commit(st), EQ_OK);
    cr_assert_eq(store_department_by_code(st, "it", &d), EQ_OK);
    store_department_clear(&d);
}

/* --- organisation ----------------------------------------------------- */

Test(store, department_upsert_reports_only_real_changes, .init = setup,
     .fini = teardown)
{
    struct store_department *all = NULL;
    int64_t id1 = 0, id2 = 0;
    int changed = -1;
    size_t n = 0;

    cr_assert_eq(store_department_upsert(st, "it", "IT", &id1, &changed),
                 EQ_OK);
    cr_assert_eq(changed, 1);
    cr_assert_eq(store_department_upsert(st, "it", "IT", &id2, &changed),
                 EQ_OK);
    cr_assert_eq(changed, 0);
    cr_assert_eq(id1, id2);
    cr_assert_eq(store_department_upsert(st, "it", "ICT", &id2, &changed),
                 EQ_OK);
    cr_assert_eq(changed, 1);
    cr_assert_eq(id1, id2); /* renaming keeps the code and the row */
    dept("sales", "Sales");
    cr_assert_eq(store_departments(st, &all, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(all[0].code, "it");
    cr_assert_str_eq(all[0].name, "ICT");
    cr_assert_str_eq(all[1].code, "sales");
    store_departments_free(all, n);
}

Test(store, employee_reimport_changes_nothing_and_keeps_flags, .init = setup,
     .fini = teardown)
{
    struct store_employee e = {0}, got = {0};
    int64_t sales = dept("sales", "Sales"), it = dept("it", "IT");
    int64_t id = 0, id2 = 0;
    int changed = -1;

    e.email = "Ann.Smit@Example.ORG";
    e.name = "Ann Smit";
    e.department_id = sales;
    e.language = "en";
    e.active = 1;
    cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK);
    cr_assert_eq(changed, 1);
    cr_assert_eq(store_employee_upsert(st, &e, &id2, &changed), EQ_OK);
    cr_assert_eq(changed, 0);
    cr_assert_eq(id, id2);

    cr_assert_eq(store_employee_set_flags(st, id, 1, 1, 1), EQ_OK);
    e.department_id = it;
    cr_assert_eq(store_employee_upsert(st, &e, &id2, &changed), EQ_OK);
    cr_assert_eq(changed, 1);
    cr_assert_eq(store_employee_get(st, id, &got), EQ_OK);
    cr_assert_str_eq(got.email, "ann.smit@example.org");
    cr_assert_str_eq(got.department_code, "it");
    cr_assert_str_eq(got.department_name, "IT");
    cr_assert_str_eq(got.language, "en");
    cr_assert_eq(got.undeliverable, 1);
    cr_assert_eq(got.opted_out, 1);
    cr_assert_eq(got.active, 1);
    store_employee_clear(&got);
    cr_assert_eq(store_employee_set_flags(st, 999, 1, 0, 0), EQ_ERR_NOTFOUND);
}

Test(store, find_matches_primary_or_alias_ignoring_case, .init = setup,
     .fini = teardown)
{
    const char *aliases[] = {"A.Smit@Old.Example.org", "ann@example.org",
                             "a.smit@old.example.org"};
    int64_t sales = dept("sales", "Sales");
    int64_t ann = emp("ann.smit@example.org", "Ann", sales);
    struct store_employee got = {0};
    char **list = NULL;
    size_t n = 0;
    int changed = -1;

    cr_assert_eq(store_employee_set_aliases(st, ann, aliases, 3, &changed),
                 EQ_OK, "%s", store_errmsg(st));
    cr_assert_eq(changed, 1);
    cr_assert_eq(store_employee_aliases(st, ann, &list, &n), EQ_OK);
    cr_assert_eq(n, 2); /* the duplicate differs only in case */
    cr_assert_str_eq(list[0], "a.smit@old.example.org");
    cr_assert_str_eq(list[1], "ann@example.org");
    store_strings_free(list, n);

    cr_assert_eq(store_employee_find(st, "ANN@example.org", &got), EQ_OK);
    cr_assert_eq(got.id, ann);
    cr_assert_str_eq(got.email, "ann.smit@example.org");
    cr_assert_str_eq(got.department_code, "sales");
    store_employee_clear(&got);
    cr_assert_eq(store_employee_find(st, "Ann.Smit@EXAMPLE.org", &got), EQ_OK);
    cr_assert_eq(got.id, ann);
    store_employee_clear(&got);
    cr_assert_eq(store_employee_find(st, "nobody@example.org", &got),
                 EQ_ERR_NOTFOUND);

    /* Same set again, in another order and case: nothing to write. */
    const char *again[] = {"ann@EXAMPLE.org", "a.smit@old.example.org"};
    cr_assert_eq(store_employee_set_aliases(st, ann, again, 2, &changed),
                 EQ_OK);
    cr_assert_eq(changed, 0);
    cr_assert_eq(store_employee_set_aliases(st, ann, NULL, 0, &changed), EQ_OK);
    cr_assert_eq(changed, 1);
    cr_assert_eq(store_employee_find(st, "ann@example.org", &got),
                 EQ_ERR_NOTFOUND);
}

Test(store, alias_of_someone_else_is_bad_data, .init = setup, .fini = teardown)
{
    int64_t sales = dept("sales", "Sales");
    int64_t ann = emp("ann@example.org", "Ann", sales);
    int64_t bob = emp("bob@example.org", "Bob", sales);
    const char *ann_alias[] = {"a@example.org"};
    const char *steal_primary[] = {"x@example.org", "ANN@example.org"};
    const char *steal_alias[] = {"A@Example.org"};
    char **list = NULL;
    size_t n = 9;
    int changed = -1;

    cr_assert_eq(store_employee_set_aliases(st, ann, ann_alias, 1, &changed),
                 EQ_OK);
    cr_assert_eq(
        store_employee_set_aliases(st, bob, steal_primary, 2, &changed),
        EQ_ERR_DATA);
    cr_assert_eq(store_employee_set_aliases(st, bob, steal_alias, 1, &changed),
                 EQ_ERR_DATA);
    cr_assert_eq(store_employee_aliases(st, bob, &list, &n), EQ_OK);
    cr_assert_eq(n, 0); /* nothing half-written */
    store_strings_free(list, n);
}

Test(store, alias_promoted_to_primary_updates_the_same_person, .init = setup,
     .fini = teardown)
{
    int64_t sales = dept("sales", "Sales");
    int64_t ann = emp("ann@old.example.org", "Ann", sales);
    const char *aliases[] = {"ann@new.example.org"};
    struct store_employee got = {0};
    char **list = NULL;
    size_t n = 0;

    cr_assert_eq(store_employee_set_aliases(st, ann, aliases, 1, NULL), EQ_OK);
    cr_assert_eq(emp("ann@new.example.org", "Ann", sales), ann);
    cr_assert_eq(store_employee_get(st, ann, &got), EQ_OK);
    cr_assert_str_eq(got.email, "ann@new.example.org");
    store_employee_clear(&got);
    cr_assert_eq(store_employee_aliases(st, ann, &list, &n), EQ_OK);
    cr_assert_eq(n, 0);
    store_strings_free(list, n);
}

Test(store, managers_and_prune, .init = setup, .fini = teardown)
{
    struct world w = world();
    struct store_employee *m = NULL, got = {0};
    size_t n = 0;
    int changed = -1;
    int64_t keep[] = {w.bob};

    cr_assert_eq(store_manager_set(st, w.sales, w.ann, 1, &changed), EQ_OK);
    cr_assert_eq(changed, 1);
    cr_assert_eq(store_manager_set(st, w.sales, w.ann, 1, &changed), EQ_OK);
    cr_assert_eq(changed, 0);
    cr_assert_eq(store_manager_set(st, w.it, w.cas, 1, &changed), EQ_OK);
    cr_assert_eq(store_managers(st, w.sales, &m, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(m[0].id, w.ann);
    cr_assert_eq(m[0].manages, 1);
    store_employees_free(m, n);
    /* Cas manages IT but belongs to HR: manages means the own department. */
    cr_assert_eq(store_employee_get(st, w.cas, &got), EQ_OK);
    cr_assert_eq(got.manages, 0);
    store_employee_clear(&got);
    cr_assert_eq(store_employee_get(st, w.bob, &got), EQ_OK);
    cr_assert_eq(got.manages, 0);
    store_employee_clear(&got);

    cr_assert_eq(store_employees_deactivate_except(st, keep, 1, &changed),
                 EQ_OK);
    cr_assert_eq(changed, 2);
    cr_assert_eq(store_employees_deactivate_except(st, keep, 1, &changed),
                 EQ_OK);
    cr_assert_eq(changed, 0);
    cr_assert_eq(store_managers(st, w.sales, &m, &n), EQ_OK);
    cr_assert_eq(n, 0); /* Ann is no longer active */
    store_employees_free(m, n);
    cr_assert_eq(store_employees(st, &m, &n), EQ_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(m[0].id, w.ann);
    cr_assert_eq(m[0].active, 0);
    cr_assert_eq(m[1].active, 1);
    cr_assert_eq(m[2].active, 0);
    store_employees_free(m, n);

    cr_assert_eq(store_manager_set(st, w.sales, w.ann, 0, &changed), EQ_OK);
    cr_assert_eq(changed, 1);
}

/* --- campaigns and periods ------------------------------------------- */

Test(store, periods_are_ensured_once_and_ordered, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_period *p = NULL, one;
    int64_t id = 0, c2 = 0;
    size_t n = 0;

    cr_assert_eq(store_campaign_ensure(st, "internal", &c2), EQ_OK);
    cr_assert_eq(c2, w.campaign);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026Q4", 20727, 20818, &id),
        EQ_OK);
    cr_assert_eq(id, w.q4);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026Q4", 20727, 20800, &id),
        EQ_ERR_DATA);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026Q2", 20545, 20634, &id),
        EQ_OK);
    cr_assert_eq(store_periods(st, w.campaign, &p, &n), EQ_OK);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(p[0].label, "2026Q2");
    cr_assert_str_eq(p[1].label, "2026Q3");
    cr_assert_str_eq(p[2].label, "2026Q4");
    cr_assert_eq(p[2].first, 20727);
    cr_assert_eq(p[2].last, 20818);
    cr_assert_eq(p[2].closed_at, 0);
    free(p);

    cr_assert_eq(store_period_set_closed(st, w.q3, 1790000000), EQ_OK);
    cr_assert_eq(store_period_set_digest(st, w.q3, 1790100000), EQ_OK);
    cr_assert_eq(store_period_by_label(st, w.campaign, "2026Q3", &one), EQ_OK);
    cr_assert_eq(one.id, w.q3);
    cr_assert_eq(one.closed_at, 1790000000);
    cr_assert_eq(one.digest_at, 1790100000);
    cr_assert_eq(store_period_by_label(st, w.campaign, "2025Q1", &one),
                 EQ_ERR_NOTFOUND);
    cr_assert_eq(store_period_set_closed(st, 999, 1), EQ_ERR_NOTFOUND);
}

/* --- invitations ------------------------------------------------------ */

Test(store, state_names_round_trip, .init = setup, .fini = teardown)
{
    enum inv_state s;

    cr_assert_str_eq(store_inv_state_name(INV_OPTED_OUT), "opted_out");
    cr_assert_str_eq(store_inv_state_name(INV_CANCELLED), "cancelled");
    for (int i = 0; i < INV__COUNT; i++) {
        cr_assert_eq(
            store_inv_state_parse(store_inv_state_name((enum inv_state)i), &s),
            0);
        cr_assert_eq(s, (enum inv_state)i);
    }
    cr_assert_neq(store_inv_state_parse("Sent", &s), 0);
}

Test(store, invitation_round_trip_with_joined_fields, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_invitation got = {0}, dup = {0};
    const char *kind = NULL;
    int64_t id = invite(&w, TOK("aa"), w.q4, w.ann, w.it, 1790000000);

    cr_assert_eq(store_invitation_by_token(st, TOK("aa"), &got), EQ_OK);
    cr_assert_eq(got.id, id);
    cr_assert_str_eq(got.token, TOK("aa"));
    cr_assert_eq(got.employee_id, w.ann);
    cr_assert_eq(got.rater_department_id, w.sales); /* from Ann */
    cr_assert_eq(got.provider_department_id, w.it);
    cr_assert_eq(got.state, INV_PLANNED);
    cr_assert_eq(got.planned_at, 1790000000);
    cr_assert_eq(got.sent_at, 0);
    cr_assert_str_eq(got.language, "nl");
    cr_assert_str_eq(got.campaign, "internal");
    cr_assert_str_eq(got.period, "2026Q4");
    cr_assert_str_eq(got.email, "ann@example.org");
    cr_assert_str_eq(got.employee_name, "Ann");
    cr_assert_str_eq(got.provider_code, "it");
    cr_assert_str_eq(got.provider_name, "IT");
    store_invitation_clear(&got);
    store_invitation_clear(&got); /* clearing twice is harmless */

    cr_assert_eq(store_token_kind(st, TOK("aa"), &kind), EQ_OK);
    cr_assert_str_eq(kind, "invitation");
    cr_assert_eq(store_token_kind(st, TOK("zz"), &kind), EQ_ERR_NOTFOUND);

    snprintf(dup.token, sizeof dup.token, "%s", TOK("aa"));
    dup.campaign_id = w.campaign;
    dup.period_id = w.q4;
    dup.employee_id = w.bob;
    dup.provider_department_id = w.it;
    dup.planned_at = 1790000001;
    cr_assert_eq(store_invitation_add(st, &dup), EQ_ERR_DATA);
    cr_assert_eq(store_invitation_get(st, 999, &got), EQ_ERR_NOTFOUND);
}

Test(store, unknown_employee_violates_foreign_key_atomically, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_invitation inv = {0};
    const char *kind = NULL;

    snprintf(inv.token, sizeof inv.token, "%s", TOK("fk"));
    inv.campaign_id = w.campaign;
    inv.period_id = w.q4;
    inv.employee_id = 4242;
    inv.provider_department_id = w.it;
    inv.planned_at = 1790000000;
    cr_assert_eq(store_invitation_add(st, &inv), EQ_ERR_NOTFOUND);
    inv.rater_department_id = w.sales; /* now the FK itself must refuse */
    cr_assert_eq(store_invitation_add(st, &inv), EQ_ERR_DB);
    /* The token insert was rolled back with the invitation. */
    cr_assert_eq(store_token_kind(st, TOK("fk"), &kind), EQ_ERR_NOTFOUND);

    inv.employee_id = w.bob;
    inv.provider_department_id = 777;
    cr_assert_eq(store_invitation_add(st, &inv), EQ_ERR_DB);
}

Test(store, filter_by_state_mask_times_and_limit, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_inv_filter f = {0};
    struct store_invitation *v = NULL;
    size_t n = 0;
    int64_t i1 = invite(&w, TOK("01"), w.q4, w.ann, w.it, 3000);
    int64_t i2 = invite(&w, TOK("02"), w.q4, w.bob, w.it, 1000);
    int64_t i3 = invite(&w, TOK("03"), w.q4, w.cas, w.sales, 2000);
    int64_t i4 = invite(&w, TOK("04"), w.q3, w.ann, w.hr, 500);

    cr_assert_eq(store_invitation_set_state(st, i2, INV_SENT, 1100, NULL),
                 EQ_OK);
    cr_assert_eq(store_invitation_defer(st, i3, 2600, "451 try later"), EQ_OK);

    /* No filter: all, by planned_at. */
    cr_assert_eq(store_invitations(st, NULL, &v, &n), EQ_OK);
    cr_assert_eq(n, 4);
    cr_assert_eq(v[0].id, i4);
    cr_assert_eq(v[1].id, i2);
    cr_assert_eq(v[2].id, i3);
    cr_assert_eq(v[3].id, i1);
    store_invitations_free(v, n);

    f.state_mask = 1u << INV_PLANNED | 1u << INV_DEFERRED;
    cr_assert_eq(store_invitations(st, &f, &v, &n), EQ_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(v[0].id, i4);
    cr_assert_eq(v[1].id, i3);
    cr_assert_eq(v[1].state, INV_DEFERRED);
    cr_assert_str_eq(v[1].last_error, "451 try later");
    cr_assert_eq(v[2].id, i1);
    store_invitations_free(v, n);

    f.planned_before = 2000;
    f.period_id = w.q4;
    cr_assert_eq(store_invitations(st, &f, &v, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].id, i3);
    store_invitations_free(v, n);

    memset(&f, 0, sizeof f);
    f.next_attempt_before = 2599;
    cr_assert_eq(store_invitations(st, &f, &v, &n), EQ_OK);
    cr_assert_eq(n, 0);
    store_invitations_free(v, n);
    f.next_attempt_before = 2600;
    cr_assert_eq(store_invitations(st, &f, &v, &n), EQ_OK);
    cr_assert_eq(n, 1);
    store_invitations_free(v, n);

    memset(&f, 0, sizeof f);
    f.sent_before = 1100;
    f.state_mask = 1u << INV_SENT;
    cr_assert_eq(store_invitations(st, &f, &v, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].id, i2);
    cr_assert_eq(v[0].sent_at, 1100);
    store_invitations_free(v, n);

    memset(&f, 0, sizeof f);
    f.employee_id = w.ann;
    f.limit = 1;
    cr_assert_eq(store_invitations(st, &f, &v, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].id, i4);
    store_invitations_free(v, n);
}

Test(store, state_changes_record_times_attempts_and_reminders, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_invitation got = {0};
    int64_t id = invite(&w, TOK("st"), w.q4, w.ann, w.it, 1000);

    cr_assert_eq(store_invitation_defer(st, id, 1600, "421 busy"), EQ_OK);
    cr_assert_eq(store_invitation_defer(st, id, 2200, "421 busy"), EQ_OK);
    cr_assert_eq(store_invitation_set_state(st, id, INV_SENDING, 2200, NULL),
                 EQ_OK);
    cr_assert_eq(store_invitation_set_state(st, id, INV_SENT, 2210, NULL),
                 EQ_OK);
    cr_assert_eq(store_invitation_reminded(st, id, 5000), EQ_OK);
    cr_assert_eq(store_invitation_get(st, id, &got), EQ_OK);
    cr_assert_eq(got.state, INV_REMINDED);
    cr_assert_eq(got.attempts, 2);
    cr_assert_eq(got.next_attempt_at, 2200);
    cr_assert_eq(got.sent_at, 2210);
    cr_assert_eq(got.reminders, 1);
    cr_assert_eq(got.answered_at, 0);
    cr_assert_null(got.last_error);
    store_invitation_clear(&got);

    cr_assert_eq(store_invitation_set_state(st, id, INV_ANSWERED, 6000, NULL),
                 EQ_OK);
    cr_assert_eq(store_invitation_get(st, id, &got), EQ_OK);
    cr_assert_eq(got.state, INV_ANSWERED);
    cr_assert_eq(got.answered_at, 6000);
    cr_assert_eq(got.sent_at, 2210); /* untouched */
    store_invitation_clear(&got);
    cr_assert_eq(store_invitation_set_state(st, 999, INV_SENT, 1, NULL),
                 EQ_ERR_NOTFOUND);
}

Test(store, last_invited_per_employee, .init = setup, .fini = teardown)
{
    struct world w = world();
    struct store_pair *p = NULL;
    size_t n = 0;

    invite(&w, TOK("l1"), w.q3, w.ann, w.it, 1000);
    invite(&w, TOK("l2"), w.q4, w.ann, w.hr, 4000);
    invite(&w, TOK("l3"), w.q4, w.bob, w.it, 3000);
    cr_assert_eq(store_last_invited(st, &p, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(p[0].a, w.ann);
    cr_assert_eq(p[0].t, 4000);
    cr_assert_eq(p[1].a, w.bob);
    cr_assert_eq(p[1].t, 3000);
    free(p);
}

/* --- answers ---------------------------------------------------------- */

Test(store, newer_answer_supersedes_and_only_latest_counts, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_score_row *r = NULL;
    size_t n = 0;
    int64_t a = invite(&w, TOK("s1"), w.q4, w.ann, w.it, 1000);
    int64_t b = invite(&w, TOK("s2"), w.q4, w.bob, w.it, 1000);
    int64_t c = invite(&w, TOK("s3"), w.q4, w.cas, w.it, 1000);
    int64_t d = invite(&w, TOK("s4"), w.q3, w.cas, w.it, 500);

    /* Ann: 6 then 9 (two clicks) -> 9 counts; ces untouched. */
    cr_assert_eq(store_answer_add(st, a, "nps", 6, 0, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, a, "ces", 5, 0, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, a, "nps", 9, 0, 2100, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, b, "nps", 9, 0, 2000, 0), EQ_OK);
    /* Cas: 3, then n.v.t. -> nothing counts for Cas. */
    cr_assert_eq(store_answer_add(st, c, "nps", 3, 0, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, c, "nps", -1, 1, 2200, 0), EQ_OK);
    /* Another period. */
    cr_assert_eq(store_answer_add(st, d, "nps", 1, 0, 600, 0), EQ_OK);

    cr_assert_eq(store_score_counts(st, w.q4, "nps", &r, &n), EQ_OK);
    cr_assert_eq(n, 1); /* Ann and Bob, both sales raters, both 9 */
    cr_assert_eq(r[0].provider_id, w.it);
    cr_assert_eq(r[0].rater_department_id, w.sales);
    cr_assert_eq(r[0].score, 9);
    cr_assert_eq(r[0].n, 2);
    free(r);

    cr_assert_eq(store_score_counts(st, w.q3, "nps", &r, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0].rater_department_id, w.hr);
    cr_assert_eq(r[0].score, 1);
    cr_assert_eq(r[0].n, 1);
    free(r);

    cr_assert_eq(store_score_counts(st, w.q4, "ces", &r, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(r[0].score, 5);
    free(r);
}

Test(store, not_applicable_blocks_employee_provider_pairs, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_pair *p = NULL;
    size_t n = 0;
    int64_t a = invite(&w, TOK("n1"), w.q3, w.ann, w.it, 1000);
    int64_t b = invite(&w, TOK("n2"), w.q4, w.bob, w.hr, 1000);
    int64_t c = invite(&w, TOK("n3"), w.q4, w.cas, w.it, 1000);

    cr_assert_eq(store_answer_add(st, a, "nps", -1, 1, 1500, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, b, "nps", -1, 1, 5000, 0), EQ_OK);
    /* Cas said n.v.t. and then gave a score: no block. */
    cr_assert_eq(store_answer_add(st, c, "nps", -1, 1, 5000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, c, "nps", 7, 0, 5100, 0), EQ_OK);

    cr_assert_eq(store_na_blocks(st, 0, &p, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(p[0].a, w.ann);
    cr_assert_eq(p[0].b, w.it);
    cr_assert_eq(p[0].t, 1500);
    cr_assert_eq(p[1].a, w.bob);
    cr_assert_eq(p[1].b, w.hr);
    free(p);
    cr_assert_eq(store_na_blocks(st, 1501, &p, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(p[0].a, w.bob);
    free(p);
}

Test(store, provider_counts_skip_cancelled, .init = setup, .fini = teardown)
{
    struct world w = world();
    struct store_pair *p = NULL;
    size_t n = 0;
    int64_t a = invite(&w, TOK("p1"), w.q4, w.ann, w.it, 1000);
    int64_t b = invite(&w, TOK("p2"), w.q4, w.bob, w.it, 1000);
    int64_t c = invite(&w, TOK("p3"), w.q4, w.cas, w.it, 1000);
    int64_t d = invite(&w, TOK("p4"), w.q4, w.ann, w.hr, 1000);

    invite(&w, TOK("p5"), w.q3, w.ann, w.it, 500);
    (void)d;
    cr_assert_eq(store_invitation_set_state(st, a, INV_ANSWERED, 2000, NULL),
                 EQ_OK);
    cr_assert_eq(store_invitation_set_state(st, c, INV_CANCELLED, 2000, NULL),
                 EQ_OK);
    (void)b;
    cr_assert_eq(store_period_provider_counts(st, w.q4, &p, &n), EQ_OK);
    cr_assert_eq(n, 2);
    /* ids: sales 1, it 2, hr 3 */
    cr_assert_eq(p[0].a, w.it);
    cr_assert_eq(p[0].n, 2);
    cr_assert_eq(p[0].b, 1);
    cr_assert_eq(p[1].a, w.hr);
    cr_assert_eq(p[1].n, 1);
    cr_assert_eq(p[1].b, 0);
    free(p);
}

Test(store, comments_of_a_provider_oldest_first, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    char **c = NULL;
    size_t n = 0;
    int64_t a = invite(&w, TOK("c1"), w.q4, w.ann, w.it, 1000);
    int64_t b = invite(&w, TOK("c2"), w.q4, w.bob, w.it, 1000);
    int64_t x = invite(&w, TOK("c3"), w.q4, w.bob, w.hr, 1000);

    cr_assert_eq(store_comment_add(st, a, "later", 3000, 0), EQ_OK);
    cr_assert_eq(store_comment_add(st, b, "first", 2000, 0), EQ_OK);
    cr_assert_eq(store_comment_add(st, b, "", 2500, 0), EQ_OK);
    cr_assert_eq(store_comment_add(st, x, "other provider", 1500, 0), EQ_OK);
    cr_assert_eq(store_comments(st, w.q4, w.it, &c, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(c[0], "first");
    cr_assert_str_eq(c[1], "later");
    store_strings_free(c, n);
}

/* --- inbound ---------------------------------------------------------- */

Test(store, inbound_found_by_hash_or_message_id, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_inbound in = {0}, *rv = NULL;
    int64_t id = 0, found = 0, id2 = 0;
    int64_t inv = invite(&w, TOK("ib"), w.q4, w.ann, w.it, 1000);
    size_t n = 0;

    in.message_id = "<m1@example.org>";
    in.sha256 = "aaaa";
    in.source_key = "maildir:1";
    in.received_at = 5000;
    in.kind = "reply";
    in.outcome = "review";
    in.note = "no token";
    in.sender = "ann@example.org";
    in.subject = "Re: enquete";
    cr_assert_eq(store_inbound_add(st, &in, &id), EQ_OK);
    cr_assert_eq(store_inbound_find(st, NULL, "aaaa", &found), EQ_OK);
    cr_assert_eq(found, id);
    found = 0;
    cr_assert_eq(store_inbound_find(st, "<m1@example.org>", "bbbb", &found),
                 EQ_OK);
    cr_assert_eq(found, id);
    cr_assert_eq(store_inbound_find(st, NULL, "bbbb", &found), EQ_ERR_NOTFOUND);
    cr_assert_eq(store_inbound_find(st, "<m2@example.org>", "bbbb", &found),
                 EQ_ERR_NOTFOUND);
    cr_assert_eq(store_inbound_add(st, &in, &id2), EQ_ERR_DATA);

    in.message_id = NULL;
    in.sha256 = "cccc";
    in.outcome = "recorded";
    in.received_at = 4000;
    cr_assert_eq(store_inbound_add(st, &in, &id2), EQ_OK);
    cr_assert_eq(store_review_list(st, &rv, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(rv[0].id, id);
    cr_assert_str_eq(rv[0].note, "no token");
    cr_assert_str_eq(rv[0].source_key, "maildir:1");
    cr_assert_eq(rv[0].invitation_id, 0);
    cr_assert_null(rv[0].token);
    store_inbounds_free(rv, n);

    cr_assert_eq(store_inbound_set_outcome(st, id, "recorded", NULL, inv),
                 EQ_OK);
    cr_assert_eq(store_review_list(st, &rv, &n), EQ_OK);
    cr_assert_eq(n, 0);
    store_inbounds_free(rv, n);
    cr_assert_eq(store_inbound_set_outcome(st, 999, "ignored", NULL, 0),
                 EQ_ERR_NOTFOUND);
}

/* --- digests, runs, status -------------------------------------------- */

Test(store, digest_is_logged_once_per_recipient_and_period, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    const char *kind = NULL;
    int sent = -1;

    cr_assert_eq(store_digest_sent(st, w.q3, "boss@example.org", &sent), EQ_OK);
    cr_assert_eq(sent, 0);
    cr_assert_eq(store_token_add(st, TOK("dg"), "digest", 7000), EQ_OK);
    cr_assert_eq(store_token_kind(st, TOK("dg"), &kind), EQ_OK);
    cr_assert_str_eq(kind, "digest");
    cr_assert_eq(store_token_add(st, TOK("dg"), "digest", 7000), EQ_ERR_DATA);
    cr_assert_eq(store_token_add(st, TOK("dh"), "other", 7000), EQ_ERR_DATA);
    cr_assert_eq(store_digest_log(st, w.q3, "boss@example.org", w.sales,
                                  TOK("dg"), 7000),
                 EQ_OK);
    cr_assert_eq(store_digest_sent(st, w.q3, "Boss@Example.org", &sent), EQ_OK);
    cr_assert_eq(sent, 1);
    cr_assert_eq(store_digest_sent(st, w.q4, "boss@example.org", &sent), EQ_OK);
    cr_assert_eq(sent, 0);
    cr_assert_eq(
        store_digest_log(st, w.q3, "boss@example.org", w.sales, NULL, 7001),
        EQ_ERR_DATA);
    /* HR digest: no department. */
    cr_assert_eq(store_digest_log(st, w.q3, "hr@example.org", 0, NULL, 7000),
                 EQ_OK);
}

Test(store, status_counts_states_review_and_last_run, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_status s;
    struct store_inbound in = {0};
    int64_t a = invite(&w, TOK("t1"), w.q4, w.ann, w.it, 3000);
    int64_t b = invite(&w, TOK("t2"), w.q4, w.bob, w.it, 2000);
    int64_t c = invite(&w, TOK("t3"), w.q4, w.cas, w.it, 4000);

    invite(&w, TOK("t4"), w.q4, w.ann, w.hr, 5000);
    cr_assert_eq(store_status_get(st, &s), EQ_OK);
    cr_assert_eq(s.by_state[INV_PLANNED], 4);
    cr_assert_eq(s.next_planned, 2000);
    cr_assert_eq(s.last_run_started, 0);
    cr_assert_null(s.last_run_command);
    cr_assert_eq(s.employees_active, 3);
    store_status_clear(&s);

    cr_assert_eq(store_invitation_set_state(st, a, INV_SENT, 3000, NULL),
                 EQ_OK);
    cr_assert_eq(store_invitation_set_state(st, b, INV_FAILED, 2000, "550"),
                 EQ_OK);
    cr_assert_eq(store_invitation_defer(st, c, 3500, "421"), EQ_OK);
    in.sha256 = "1";
    in.kind = "reply";
    in.outcome = "review";
    in.received_at = 1;
    cr_assert_eq(store_inbound_add(st, &in, NULL), EQ_OK);
    in.sha256 = "2";
    in.outcome = "recorded";
    cr_assert_eq(store_inbound_add(st, &in, NULL), EQ_OK);
    cr_assert_eq(store_run_log(st, "run", 100, 110, 1, "sent 3"), EQ_OK);
    cr_assert_eq(store_run_log(st, "ingest", 200, 205, 0, "imap down"), EQ_OK);
    cr_assert_eq(store_employee_set_flags(st, w.cas, 0, 0, 0), EQ_OK);

    cr_assert_eq(store_status_get(st, &s), EQ_OK);
    cr_assert_eq(s.by_state[INV_PLANNED], 1);
    cr_assert_eq(s.by_state[INV_SENT], 1);
    cr_assert_eq(s.by_state[INV_FAILED], 1);
    cr_assert_eq(s.by_state[INV_DEFERRED], 1);
    cr_assert_eq(s.by_state[INV_ANSWERED], 0);
    cr_assert_eq(s.review, 1);
    cr_assert_eq(s.inbound, 2);
    cr_assert_eq(s.employees_active, 2);
    cr_assert_str_eq(s.last_run_command, "ingest");
    cr_assert_str_eq(s.last_run_summary, "imap down");
    cr_assert_eq(s.last_run_started, 200);
    cr_assert_eq(s.last_run_finished, 205);
    cr_assert_eq(s.last_run_ok, 0);
    cr_assert_eq(s.next_planned, 3500); /* the deferred retry */
    store_status_clear(&s);
    store_status_clear(NULL);
}

/* --- schema 2: joiners, the seed, leavers ------------------------------ */

Test(store, version_1_database_migrates_to_the_latest_keeping_people,
     .init = setup, .fini = teardown)
{
    struct store_employee e = {0};
    struct eq_buf diag = {0};
    sqlite3 *db;

    emp("ann@example.org", "Ann", dept("sales", "Sales"));
    store_close(st);
    st = NULL;
    /* Turn the file back into what schema 1 wrote. */
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "ALTER TABLE employee DROP COLUMN joined_at;"
                              "DROP TABLE meta; DROP TABLE mailbox;"
                              "DROP TABLE action_notice; DROP TABLE action;"
                              "DROP INDEX digest_sent_token;"
                              "ALTER TABLE period DROP COLUMN anonymised_at;"
                              "ALTER TABLE period DROP COLUMN purged_at;"
                              "DROP INDEX invitation_period_rater;"
                              "CREATE INDEX invitation_period ON invitation("
                              " period_id, provider_department_id);"
                              " PRAGMA user_version = 1;",
                              NULL, NULL, NULL),
                 SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    cr_assert_eq(store_open(dbpath, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(store_schema_version(st), 4);
    cr_assert_eq(store_employee_find(st, "ann@example.org", &e), EQ_OK);
    cr_assert_eq(e.joined_at, 0, "people from before are founding members");
    store_employee_clear(&e);
    buf_free(&diag);
}

Test(store, joined_at_is_kept_from_insert, .init = setup, .fini = teardown)
{
    struct store_employee e = {0}, got = {0};
    int64_t id, sales = dept("sales", "Sales");
    int changed;

    e.email = "new@example.org";
    e.name = "New";
    e.department_id = sales;
    e.active = 1;
    e.joined_at = 1790000000;
    cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK);
    e.joined_at = 1800000000; /* a later import does not move it */
    e.name = "New Name";
    cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK);
    cr_assert_eq(store_employee_get(st, id, &got), EQ_OK);
    cr_assert_eq(got.joined_at, 1790000000);
    store_employee_clear(&got);
}

Test(store, seed_is_random_once_then_kept, .init = setup, .fini = teardown)
{
    uint64_t a = 0, b = 1;
    struct eq_buf diag = {0};

    cr_assert_eq(store_seed(st, &a), EQ_OK);
    store_close(st);
    st = NULL;
    cr_assert_eq(store_open(dbpath, &st, &diag), EQ_OK);
    cr_assert_eq(store_seed(st, &b), EQ_OK);
    cr_assert_eq(a, b);
    buf_free(&diag);
}

Test(store, leavers_lose_their_open_invitations, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_invitation inv = {0};
    int64_t n = -1, done_id;
    int changed;

    int64_t open_id = invite(&w, TOK("aa"), w.q4, w.ann, w.it, 1790000000);
    done_id = invite(&w, TOK("ab"), w.q4, w.ann, w.it, 1790000000);
    invite(&w, TOK("ac"), w.q4, w.bob, w.it, 1790000000);
    cr_assert_eq(
        store_invitation_set_state(st, done_id, INV_ANSWERED, 1790000100, NULL),
        EQ_OK);
    cr_assert_eq(store_employees_deactivate_except(st, &w.bob, 1, &changed),
                 EQ_OK);
    cr_assert_eq(store_cancel_inactive(st, &n), EQ_OK);
    cr_assert_eq(n, 1, "Ann and Cas left; only Ann had an open invitation");
    cr_assert_eq(store_invitation_get(st, open_id, &inv), EQ_OK);
    cr_assert_eq(inv.state, INV_CANCELLED);
    store_invitation_clear(&inv);
    cr_assert_eq(store_invitation_get(st, done_id, &inv), EQ_OK);
    cr_assert_eq(inv.state, INV_ANSWERED, "answers stay");
    store_invitation_clear(&inv);
}

Test(store, mailbox_checkpoint_is_kept_per_mailbox, .init = setup,
     .fini = teardown)
{
    uint32_t v = 9, u = 9;
    eq_time at;

    cr_assert_eq(store_mailbox_get(st, "imap://h/INBOX", &v, &u, &at),
                 EQ_ERR_NOTFOUND);
    cr_assert_eq(v, 0);
    cr_assert_eq(u, 0);
    cr_assert_eq(store_mailbox_set(st, "imap://h/INBOX", 1234, 17, 1790000000),
                 EQ_OK);
    cr_assert_eq(store_mailbox_set(st, "imap://h/INBOX", 1234, 42, 1790000060),
                 EQ_OK);
    cr_assert_eq(store_mailbox_get(st, "imap://h/INBOX", &v, &u, &at), EQ_OK);
    cr_assert_eq(v, 1234);
    cr_assert_eq(u, 42);
    cr_assert_eq(at, 1790000060);
    cr_assert_eq(store_mailbox_get(st, "imap://h/Other", &v, &u, NULL),
                 EQ_ERR_NOTFOUND);
}

/* --- aggregates for reports and digests ------------------------------- */

/* An answered invitation with one nps score. */
static void
scored(const struct world *w, const char *token, int64_t period,
       int64_t employee, int64_t provider, int score)
{
    int64_t id = invite(w, token, period, employee, provider, 1000);

    cr_assert_eq(store_answer_add(st, id, "nps", score, 0, 2000, 0), EQ_OK,
                 "%s", store_errmsg(st));
}

#define SCORE_ROW_IS(r, p, rd, sc, cnt)                                        \
    do {                                                                       \
        cr_assert_eq((r).provider_id, (p));                                    \
        cr_assert_eq((r).rater_department_id, (rd));                           \
        cr_assert_eq((r).score, (sc));                                         \
        cr_assert_eq((r).n, (cnt));                                            \
    } while (0)

Test(store, score_counts_come_per_provider_rater_and_score_in_order,
     .init = setup, .fini = teardown)
{
    struct world w = world();
    struct store_score_row *r = NULL;
    size_t n = 0;

    /* Stored out of order; ids: sales 1, it 2, hr 3. Employee 0 has no
     * department: its rater department is NULL and counts as 0. */
    scored(&w, TOK("o1"), w.q4, w.ann, w.hr, 7);
    scored(&w, TOK("o2"), w.q4, w.cas, w.it, 5);
    scored(&w, TOK("o3"), w.q4, w.ann, w.it, 10);
    scored(&w, TOK("o4"), w.q4, 0, w.it, 8);
    scored(&w, TOK("o5"), w.q4, w.ann, w.hr, 0);
    scored(&w, TOK("o6"), w.q4, w.bob, w.it, 3);
    scored(&w, TOK("o7"), w.q4, 0, w.it, 8);
    scored(&w, TOK("o8"), w.q4, w.bob, w.hr, 7);
    scored(&w, TOK("o9"), w.q3, w.ann, w.it, 1); /* another period */

    cr_assert_eq(store_score_counts(st, w.q4, "nps", &r, &n), EQ_OK);
    cr_assert_eq(n, 6);
    SCORE_ROW_IS(r[0], w.it, 0, 8, 2);
    SCORE_ROW_IS(r[1], w.it, w.sales, 3, 1);
    SCORE_ROW_IS(r[2], w.it, w.sales, 10, 1);
    SCORE_ROW_IS(r[3], w.it, w.hr, 5, 1);
    SCORE_ROW_IS(r[4], w.hr, w.sales, 0, 1);
    SCORE_ROW_IS(r[5], w.hr, w.sales, 7, 2);
    free(r);

    cr_assert_eq(store_score_counts(st, w.q4, "ces", &r, &n), EQ_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(r);
}

Test(store, score_beyond_ten_is_still_counted_in_its_place, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_score_row *r = NULL;
    struct store_trend_row *t = NULL;
    size_t n = 0;

    /* No reply reader stores such a score, but an older database might
     * hold one: the counts must not lose it. */
    scored(&w, TOK("x1"), w.q4, w.ann, w.it, 12);
    scored(&w, TOK("x2"), w.q4, w.bob, w.it, 4);
    scored(&w, TOK("x3"), w.q4, w.cas, w.it, 12);
    cr_assert_eq(store_score_counts(st, w.q4, "nps", &r, &n), EQ_OK);
    cr_assert_eq(n, 3);
    SCORE_ROW_IS(r[0], w.it, w.sales, 4, 1);
    SCORE_ROW_IS(r[1], w.it, w.sales, 12, 1);
    SCORE_ROW_IS(r[2], w.it, w.hr, 12, 1);
    free(r);

    cr_assert_eq(
        store_report_trend(st, w.campaign, 0, "nps", 20635, 20818, &t, &n),
        EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(t[0].score, 4);
    cr_assert_eq(t[0].n, 1);
    cr_assert_eq(t[1].score, 12);
    cr_assert_eq(t[1].n, 2);
    free(t);
}

#define TREND_ROW_IS(r, per, p, sc, cnt)                                       \
    do {                                                                       \
        cr_assert_eq((r).period_id, (per));                                    \
        cr_assert_eq((r).provider_id, (p));                                    \
        cr_assert_eq((r).score, (sc));                                         \
        cr_assert_eq((r).n, (cnt));                                            \
    } while (0)

Test(store, trend_counts_per_period_provider_and_score, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_trend_row *t = NULL;
    size_t n = 0;
    int64_t q2 = 0, sup, na;

    /* Created last, so its id comes after Q4 although its label sorts
     * first: rows follow the period id. 2026-04-01 = day 20544. */
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026Q2", 20544, 20634, &q2),
        EQ_OK);
    scored(&w, TOK("t1"), w.q4, w.ann, w.hr, 9);
    scored(&w, TOK("t2"), w.q4, w.bob, w.it, 9);
    scored(&w, TOK("t3"), w.q3, w.cas, w.it, 2);
    scored(&w, TOK("t4"), w.q4, w.cas, w.it, 6);
    scored(&w, TOK("t5"), q2, w.ann, w.it, 10);
    scored(&w, TOK("t6"), w.q4, w.ann, w.it, 9);
    /* Neither a superseded score nor a n.v.t. counts. */
    sup = invite(&w, TOK("t7"), w.q4, w.bob, w.hr, 1000);
    cr_assert_eq(store_answer_add(st, sup, "nps", 1, 0, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, sup, "nps", 5, 0, 2100, 0), EQ_OK);
    na = invite(&w, TOK("t8"), w.q3, w.bob, w.it, 1000);
    cr_assert_eq(store_answer_add(st, na, "nps", -1, 1, 2000, 0), EQ_OK);

    cr_assert_eq(
        store_report_trend(st, w.campaign, 0, "nps", 20544, 20818, &t, &n),
        EQ_OK);
    cr_assert_eq(n, 6);
    TREND_ROW_IS(t[0], w.q3, w.it, 2, 1);
    TREND_ROW_IS(t[1], w.q4, w.it, 6, 1);
    TREND_ROW_IS(t[2], w.q4, w.it, 9, 2);
    TREND_ROW_IS(t[3], w.q4, w.hr, 5, 1);
    TREND_ROW_IS(t[4], w.q4, w.hr, 9, 1);
    TREND_ROW_IS(t[5], q2, w.it, 10, 1);
    free(t);

    /* One provider, Q3 and Q4 only (first days 20635 and 20727). */
    cr_assert_eq(
        store_report_trend(st, w.campaign, w.it, "nps", 20635, 20727, &t, &n),
        EQ_OK);
    cr_assert_eq(n, 3);
    TREND_ROW_IS(t[0], w.q3, w.it, 2, 1);
    TREND_ROW_IS(t[1], w.q4, w.it, 6, 1);
    TREND_ROW_IS(t[2], w.q4, w.it, 9, 2);
    free(t);

    cr_assert_eq(
        store_report_trend(st, w.campaign, w.hr, "ces", 20544, 20818, &t, &n),
        EQ_OK);
    cr_assert_eq(n, 0);
}

Test(store, not_applicable_counts_each_invitation_once, .init = setup,
     .fini = teardown)
{
    struct world w = world();
    struct store_pair *p = NULL;
    size_t n = 0;
    int64_t both = invite(&w, TOK("v1"), w.q4, w.ann, w.it, 1000);
    int64_t one = invite(&w, TOK("v2"), w.q4, w.bob, w.it, 1000);
    int64_t later = invite(&w, TOK("v3"), w.q4, w.cas, w.hr, 1000);
    int64_t other = invite(&w, TOK("v4"), w.q3, w.cas, w.hr, 1000);

    cr_assert_eq(store_answer_add(st, both, "nps", -1, 1, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, both, "ces", -1, 1, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, one, "nps", -1, 1, 2000, 0), EQ_OK);
    /* n.v.t., then a score after all: no longer n.v.t. */
    cr_assert_eq(store_answer_add(st, later, "nps", -1, 1, 2000, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, later, "nps", 8, 0, 2100, 0), EQ_OK);
    cr_assert_eq(store_answer_add(st, other, "nps", -1, 1, 2000, 0), EQ_OK);

    cr_assert_eq(store_report_na(st, w.q4, &p, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(p[0].a, w.it);
    cr_assert_eq(p[0].n, 2);
    free(p);
    cr_assert_eq(store_report_na(st, w.q3, &p, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(p[0].a, w.hr);
    cr_assert_eq(p[0].n, 1);
    free(p);
}

Test(store, ops_counts_of_a_period, .init = setup, .fini = teardown)
{
    struct world w = world();
    struct store_report_ops ops;
    static const enum inv_state states[] = {INV_BOUNCED, INV_BOUNCED,
                                            INV_OPTED_OUT, INV_ANSWERED};
    static const char *const toks[] = {TOK("b1"), TOK("b2"), TOK("b3"),
                                       TOK("b4")};

    for (size_t i = 0; i < 4; i++) {
        int64_t id = invite(&w, toks[i], w.q4, w.ann, w.it, 1000);
        cr_assert_eq(store_invitation_set_state(st, id, states[i], 2000, NULL),
                     EQ_OK);
    }
    invite(&w, TOK("b5"), w.q3, w.ann, w.it, 1000);
    cr_assert_eq(store_report_ops_counts(st, w.q4, &ops), EQ_OK);
    cr_assert_eq(ops.bounced, 2);
    cr_assert_eq(ops.opted_out, 1);
    cr_assert_eq(ops.failed, 0);
    cr_assert_eq(ops.review_open, 0);
    cr_assert_eq(store_report_ops_counts(st, w.q3, &ops), EQ_OK);
    cr_assert_eq(ops.bounced + ops.opted_out + ops.failed, 0);
}

Test(store, period_index_orders_provider_then_rater_department, .init = setup,
     .fini = teardown)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int rows = 0;

    store_close(st);
    st = NULL;
    cr_assert_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    cr_assert_eq(
        sqlite3_prepare_v2(db,
                           "SELECT i.name, i.seqno FROM"
                           " sqlite_master m, pragma_index_info(m.name)"
                           " i WHERE m.type = 'index' AND m.name ="
                           " 'invitation_period_rater' ORDER BY 2",
                           -1, &s, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    static const char *const cols[] = {"period_id", "provider_department_id",
                                       "rater_department_id"};
    while (sqlite3_step(s) == SQLITE_ROW) {
        cr_assert_lt(rows, 3);
        cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), cols[rows]);
        rows++;
    }
    sqlite3_finalize(s);
    cr_assert_eq(rows, 3);
    /* The two-column index it replaces is gone. */
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT count(*) FROM sqlite_master WHERE"
                                    " name = 'invitation_period'",
                                    -1, &s, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(s, 0), 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
}
