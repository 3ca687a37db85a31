#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eq.h"
#include "helpers.h"
#include "org.h"
#include "store.h"

#define FIX FIXTURES "/org/"

static struct store *st;

static void
setup(void)
{
    struct eq_buf diag = {0};
    char path[128];

    snprintf(path, sizeof path, "%s/db/enquete.db", th_tmpdir("org"));
    cr_assert_eq(store_open(path, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
}

static void
teardown(void)
{
    store_close(st);
    st = NULL;
    th_rmtmp();
}

TestSuite(org, .init = setup, .fini = teardown);

static size_t
n_employees(size_t *active)
{
    struct store_employee *e;
    size_t n;

    cr_assert_eq(store_employees(st, &e, &n), EQ_OK);
    if (active != NULL) {
        *active = 0;
        for (size_t i = 0; i < n; i++)
            *active += e[i].active != 0;
    }
    store_employees_free(e, n);
    return n;
}

static size_t
n_departments(void)
{
    struct store_department *d;
    size_t n;

    cr_assert_eq(store_departments(st, &d, &n), EQ_OK);
    store_departments_free(d, n);
    return n;
}

static void
import_ok(const char *file, int prune, struct org_report *rep)
{
    struct eq_buf diag = {0};
    enum eq_err err = org_import(st, file, prune, 1790000000, rep, &diag);

    cr_assert_eq(err, EQ_OK, "%s: %s", eq_strerror(err), buf_str(&diag));
    cr_assert_str_eq(buf_str(&diag), "");
    buf_free(&diag);
}

/* Finds an employee and copies the interesting text fields out. */
static void
find(const char *email, struct store_employee *e)
{
    cr_assert_eq(store_employee_find(st, email, e), EQ_OK, "%s not found",
                 email);
}

Test(org, imports_comma_file)
{
    struct org_report rep;
    struct store_employee e = {0};
    struct store_department d = {0};
    struct store_employee *m;
    size_t nm;

    import_ok(FIX "good.csv", 0, &rep);
    cr_assert_eq(rep.rows, 6);
    cr_assert_eq(rep.departments_added, 3);
    cr_assert_eq(rep.employees_added, 6);
    cr_assert_eq(rep.employees_changed + rep.employees_deactivated +
                     rep.unchanged + rep.departments_changed,
                 0);
    cr_assert_eq(n_employees(NULL), 6);
    cr_assert_eq(n_departments(), 3);

    /* Mixed-case address in the file is stored lowercase. */
    find("bram.devries@example.org", &e);
    cr_assert_str_eq(e.email, "bram.devries@example.org");
    cr_assert_str_eq(e.name, "Bram de Vries");
    cr_assert_str_eq(e.department_code, "it");
    cr_assert_str_eq(e.department_name, "ICT");
    cr_assert_str_eq(e.language, "en");
    cr_assert_eq(e.active, 1);
    cr_assert_eq(e.manages, 0);
    store_employee_clear(&e);

    find("frank.mulder@example.org", &e);
    cr_assert_str_eq(e.language, "nl", "NL is folded to nl");
    store_employee_clear(&e);
    find("carla.bakker@example.org", &e);
    cr_assert_null(e.language, "an empty language stays unset");
    cr_assert_eq(e.manages, 1, "ja = yes");
    store_employee_clear(&e);

    /* "x" marks Eva as the one manager of fac; "nee" is not one. */
    cr_assert_eq(store_department_by_code(st, "fac", &d), EQ_OK);
    cr_assert_str_eq(d.name, "Facilitaire Zaken");
    cr_assert_eq(store_managers(st, d.id, &m, &nm), EQ_OK);
    cr_assert_eq(nm, 1);
    cr_assert_str_eq(m[0].email, "eva.smit@example.org");
    store_employees_free(m, nm);
    store_department_clear(&d);
}

Test(org, imports_dutch_excel_export_with_slugged_codes)
{
    struct org_report rep;
    struct store_employee e = {0};
    struct store_department d = {0};

    import_ok(FIX "excel_nl.csv", 0, &rep);
    cr_assert_eq(rep.rows, 5, "the ';;;;' blank row is not a record");
    cr_assert_eq(rep.departments_added, 4);
    cr_assert_eq(rep.employees_added, 5);

    find("sebastien.celik@example.org", &e);
    cr_assert_str_eq(e.name, "S\xc3\xa9"
                             "bastien \xc3\x87"
                             "elik");
    cr_assert_str_eq(e.department_code, "facilitaire-zaken");
    cr_assert_eq(e.manages, 1);
    store_employee_clear(&e);

    find("jan.devries@example.org", &e);
    cr_assert_str_eq(e.name, "Jan \"Sjonnie\" de Vries");
    cr_assert_str_eq(e.department_code, "inkoop-contractbeheer");
    cr_assert_str_eq(e.department_name, "Inkoop; Contractbeheer");
    store_employee_clear(&e);

    find("zoe.vandenbergh@example.org", &e);
    cr_assert_str_eq(e.department_code, "financien");
    cr_assert_str_eq(e.language, "en");
    store_employee_clear(&e);

    cr_assert_eq(store_department_by_code(st, "kwaliteit-arbo", &d), EQ_OK);
    cr_assert_str_eq(d.name, "Kwaliteit & Arbo");
    store_department_clear(&d);

    /* The alias column works with headers in any order and case. */
    find("S.Celik@example.org", &e);
    cr_assert_str_eq(e.email, "sebastien.celik@example.org");
    store_employee_clear(&e);
}

Test(org, converts_windows_1252_to_utf8)
{
    struct org_report rep;
    struct store_employee e = {0};

    import_ok(FIX "cp1252.csv", 0, &rep);
    cr_assert_eq(rep.employees_added, 3);
    find("jose.muller@example.org", &e);
    cr_assert_str_eq(e.name, "Jos\xc3\xa9 M\xc3\xbcller");
    cr_assert_str_eq(e.department_name, "Financi\xc3\xabn");
    store_employee_clear(&e);
    find("zoe.oconnor@example.org", &e);
    /* 0x92 in Windows-1252 is U+2019, not a C1 control as in Latin-1. */
    cr_assert_str_eq(e.name, "Zo\xc3\xab O\xe2\x80\x99"
                             "Connor");
    store_employee_clear(&e);
}

Test(org, refuses_a_file_with_one_bad_line_and_changes_nothing)
{
    struct eq_buf diag = {0};
    struct org_report rep;
    struct store_employee e = {0};

    cr_assert_eq(org_import(st, FIX "bad_one.csv", 0, 1790000000, &rep, &diag),
                 EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&diag), FIX "bad_one.csv:4: bad email address "
                                         "\"carla.bakker@example\"\n");
    cr_assert_eq(n_employees(NULL), 0);
    cr_assert_eq(n_departments(), 0);
    cr_assert_eq(rep.rows, 0);

    /* Against a filled database: Anna's new name on line 2 is not applied
     * and no new person or department appears. */
    import_ok(FIX "good.csv", 0, &rep);
    buf_reset(&diag);
    cr_assert_eq(org_import(st, FIX "bad_one.csv", 1, 1790000000, &rep, &diag),
                 EQ_ERR_DATA);
    cr_assert_eq(n_employees(NULL), 6);
    cr_assert_eq(n_departments(), 3);
    find("anna.jansen@example.org", &e);
    cr_assert_str_eq(e.name, "Anna Jansen");
    store_employee_clear(&e);
    cr_assert_eq(store_employee_find(st, "gina.kok@example.org", &e),
                 EQ_ERR_NOTFOUND);
    buf_free(&diag);
}

Test(org, lists_every_bad_line_with_physical_line_numbers)
{
    struct eq_buf diag = {0};
    const char *want[] = {
        "bad_many.csv:3: name contains a line break",
        "bad_many.csv:5: bad email address \"carla bakker@example.org\"",
        "bad_many.csv:6: empty name",
        "bad_many.csv:7: empty department",
        "bad_many.csv:8: duplicate address anna@example.org (also on line 2)",
        "bad_many.csv:9: department code \"it\" is \"ICT\" on line 2 but "
        "\"Informatievoorziening\" here",
        "bad_many.csv:10: bad manages value \"misschien\"",
        "bad_many.csv:10: bad language \"de\"",
        "bad_many.csv:10: bad active value \"soms\"",
        "bad_many.csv:11: 3 fields, the header has 8",
    };
    const char *prev = NULL;

    cr_assert_eq(org_import(st, FIX "bad_many.csv", 0, 1790000000, NULL, &diag),
                 EQ_ERR_DATA);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const char *at = strstr(buf_str(&diag), want[i]);
        cr_assert_not_null(at, "missing \"%s\" in:\n%s", want[i],
                           buf_str(&diag));
        cr_assert(prev == NULL || at > prev, "out of order: %s", want[i]);
        prev = at;
    }
    /* Lines 2 and 4 are fine and not mentioned. */
    cr_assert_null(strstr(buf_str(&diag), "csv:2:"));
    cr_assert_null(strstr(buf_str(&diag), "csv:4:"));
    cr_assert_eq(n_employees(NULL), 0);
    buf_free(&diag);
}

Test(org, missing_required_column_is_reported_on_line_1)
{
    struct eq_buf diag = {0};

    cr_assert_eq(
        org_import(st, FIX "missing_column.csv", 0, 1790000000, NULL, &diag),
        EQ_ERR_DATA);
    cr_assert_not_null(strstr(buf_str(&diag),
                              "missing_column.csv:1: missing required "
                              "column \"department\""),
                       "%s", buf_str(&diag));
    buf_free(&diag);
}

Test(org, missing_file_is_noinput)
{
    struct eq_buf diag = {0};

    cr_assert_eq(
        org_import(st, FIX "no-such-file.csv", 0, 1790000000, NULL, &diag),
        EQ_ERR_NOINPUT);
    cr_assert_not_null(strstr(buf_str(&diag), "no-such-file.csv"));
    buf_free(&diag);
}

Test(org, reimport_changes_nothing)
{
    struct org_report rep;

    import_ok(FIX "good.csv", 0, &rep);
    import_ok(FIX "good.csv", 0, &rep);
    cr_assert_eq(rep.rows, 6);
    cr_assert_eq(rep.unchanged, 6);
    cr_assert_eq(rep.departments_added + rep.departments_changed +
                     rep.employees_added + rep.employees_changed +
                     rep.employees_deactivated,
                 0);
    import_ok(FIX "excel_nl.csv", 0, &rep);
    import_ok(FIX "excel_nl.csv", 0, &rep);
    cr_assert_eq(rep.unchanged, 5);
    cr_assert_eq(rep.employees_changed + rep.departments_changed, 0);
}

Test(org, prune_deactivates_the_missing)
{
    struct org_report rep;
    struct store_employee e = {0};
    size_t active;

    import_ok(FIX "good.csv", 0, &rep);
    /* Without --prune the absent stay active. */
    import_ok(FIX "subset.csv", 0, &rep);
    cr_assert_eq(rep.employees_changed, 1, "Bram's new name");
    cr_assert_eq(rep.employees_deactivated, 0);
    n_employees(&active);
    cr_assert_eq(active, 6);

    import_ok(FIX "subset.csv", 1, &rep);
    cr_assert_eq(rep.rows, 4);
    cr_assert_eq(rep.employees_deactivated, 2);
    cr_assert_eq(rep.employees_changed, 0);
    cr_assert_eq(rep.unchanged, 4);
    cr_assert_eq(n_employees(&active), 6, "nobody is deleted");
    cr_assert_eq(active, 4);
    find("daan.visser@example.org", &e);
    cr_assert_eq(e.active, 0);
    store_employee_clear(&e);
    find("bram.devries@example.org", &e);
    cr_assert_str_eq(e.name, "Bram de Vries-Smit");
    cr_assert_eq(e.active, 1);
    store_employee_clear(&e);

    /* Coming back in a later file makes them active again. */
    import_ok(FIX "good.csv", 1, &rep);
    cr_assert_eq(rep.employees_changed, 3, "Bram renamed, Daan and Frank back");
    n_employees(&active);
    cr_assert_eq(active, 6);
}

Test(org, prune_with_no_employees_is_refused)
{
    struct eq_buf diag = {0};
    size_t active;

    import_ok(FIX "good.csv", 0, NULL);
    cr_assert_eq(
        org_import(st, FIX "header_only.csv", 1, 1790000000, NULL, &diag),
        EQ_ERR_DATA);
    n_employees(&active);
    cr_assert_eq(active, 6);
    buf_free(&diag);
}

Test(org, department_rename_keeps_code)
{
    struct org_report rep;
    struct store_department before = {0}, after = {0};
    struct store_employee e = {0};

    import_ok(FIX "good.csv", 0, &rep);
    cr_assert_eq(store_department_by_code(st, "hr", &before), EQ_OK);
    import_ok(FIX "renamed.csv", 0, &rep);
    cr_assert_eq(rep.departments_changed, 1);
    cr_assert_eq(rep.departments_added, 0);
    cr_assert_eq(rep.unchanged, 6);
    cr_assert_eq(n_departments(), 3);
    cr_assert_eq(store_department_by_code(st, "hr", &after), EQ_OK);
    cr_assert_eq(after.id, before.id);
    cr_assert_str_eq(after.name, "Personeelszaken");
    find("daan.visser@example.org", &e);
    cr_assert_str_eq(e.department_name, "Personeelszaken");
    store_employee_clear(&e);
    store_department_clear(&before);
    store_department_clear(&after);
}

Test(org, aliases_are_found_and_can_move_between_people)
{
    struct org_report rep;
    struct store_employee e = {0};

    import_ok(FIX "good.csv", 0, &rep);
    find("ANNA@example.org", &e);
    cr_assert_str_eq(e.email, "anna.jansen@example.org");
    store_employee_clear(&e);
    find("a.jansen@example.org", &e);
    cr_assert_str_eq(e.name, "Anna Jansen");
    store_employee_clear(&e);

    /* anna@ moves from Anna to Bram within one file. */
    import_ok(FIX "alias_move.csv", 0, &rep);
    cr_assert_eq(rep.employees_changed, 2);
    cr_assert_eq(rep.unchanged, 4);
    find("anna@example.org", &e);
    cr_assert_str_eq(e.email, "bram.devries@example.org");
    store_employee_clear(&e);
}

Test(org, show_tells_the_key_facts)
{
    struct eq_buf out = {0};
    const char *want[] = {
        "Anna Jansen",
        "anna.jansen@example.org",
        "a.jansen@example.org",
        "anna@example.org",
        "it (ICT)",
        "nl",
        "active",
        "Manages:    yes",
    };

    import_ok(FIX "good.csv", 0, NULL);
    cr_assert_eq(org_show(st, "a.jansen@example.org", &out), EQ_OK);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        th_assert_has(&out, want[i]);
    cr_assert_null(strstr(buf_str(&out), "opted out"));
    buf_reset(&out);
    cr_assert_eq(org_show(st, "nobody@example.org", &out), EQ_ERR_NOTFOUND);
    buf_free(&out);
}

Test(org, reactivate_clears_undeliverable_but_keeps_opt_out)
{
    struct eq_buf diag = {0}, out = {0};
    struct store_employee e = {0};

    import_ok(FIX "good.csv", 0, NULL);
    find("eva.smit@example.org", &e);
    cr_assert_eq(store_employee_set_flags(st, e.id, 0, 1, 1), EQ_OK);
    store_employee_clear(&e);
    cr_assert_eq(org_show(st, "eva.smit@example.org", &out), EQ_OK);
    cr_assert_not_null(strstr(buf_str(&out), "inactive, undeliverable"));
    cr_assert_not_null(strstr(buf_str(&out), "opted out"));

    cr_assert_eq(org_reactivate(st, "eva.smit@example.org", &diag), EQ_OK);
    find("eva.smit@example.org", &e);
    cr_assert_eq(e.active, 1);
    cr_assert_eq(e.undeliverable, 0);
    cr_assert_eq(e.opted_out, 1, "an opt-out is consent, not a flag to reset");
    store_employee_clear(&e);
    cr_assert_eq(org_reactivate(st, "nobody@example.org", &diag),
                 EQ_ERR_NOTFOUND);
    buf_free(&diag);
    buf_free(&out);
}

static void
slug_is(const char *name, const char *want)
{
    struct eq_buf b = {0};

    cr_assert_eq(org_slug(name, &b), EQ_OK);
    cr_assert_str_eq(buf_str(&b), want, "slug of \"%s\"", name);
    buf_free(&b);
}

Test(org_slug, folds_diacritics_and_joins_runs_with_dashes)
{
    slug_is("Facilitaire Zaken", "facilitaire-zaken");
    slug_is("Financi\xc3\xabn", "financien");
    slug_is("  ICT & Innovatie! ", "ict-innovatie");
    slug_is("Stra\xc3\x9f"
            "e \xc5\x92uvre",
            "strasse-oeuvre");
    slug_is("\xc3\x87"
            "elik/\xc5\x81\xc3\xb3"
            "d\xc5\xba 2",
            "celik-lodz-2");
    slug_is("\xce\xb1\xce\xb2\xce\xb3", "");
    slug_is("---", "");
}

Test(org, bad_quoting_is_refused_with_its_line)
{
    struct eq_buf diag = {0};

    /* The quoted CRLF inside Anna's name moves Bram to physical line 4. */
    cr_assert_eq(
        org_import(st, FIX "bad_quote.csv", 0, 1790000000, NULL, &diag),
        EQ_ERR_DATA);
    cr_assert_not_null(strstr(buf_str(&diag), "bad_quote.csv:4: bad quoting"),
                       "%s", buf_str(&diag));
    cr_assert_eq(n_employees(NULL), 0);
    buf_free(&diag);
}

Test(org, alias_of_someone_outside_the_file_is_refused)
{
    struct eq_buf diag = {0};
    struct store_employee e = {0};

    import_ok(FIX "good.csv", 0, NULL);
    cr_assert_eq(
        org_import(st, FIX "alias_conflict.csv", 0, 1790000000, NULL, &diag),
        EQ_ERR_DATA);
    cr_assert_not_null(strstr(buf_str(&diag), "alias_conflict.csv:2: "), "%s",
                       buf_str(&diag));
    cr_assert_eq(store_employee_find(st, "gina.kok@example.org", &e),
                 EQ_ERR_NOTFOUND, "the whole import was rolled back");
    find("anna@example.org", &e);
    cr_assert_str_eq(e.email, "anna.jansen@example.org");
    store_employee_clear(&e);
    buf_free(&diag);
}

Test(org, people_added_later_are_joiners_and_leavers_lose_open_invitations)
{
    struct org_report rep;
    struct store_employee e = {0};
    struct store_invitation inv = {0};
    int64_t cid, pid;

    /* subset.csv founds the organisation: nobody is a joiner. */
    import_ok(FIX "subset.csv", 0, &rep);
    find("eva.smit@example.org", &e);
    cr_assert_eq(e.joined_at, 0);
    store_employee_clear(&e);
    find("carla.bakker@example.org", &e);
    cr_assert_eq(store_campaign_ensure(st, "c", &cid), EQ_OK);
    cr_assert_eq(store_period_ensure(st, cid, "2026Q4", 20727, 20818, &pid),
                 EQ_OK);
    snprintf(inv.token, sizeof inv.token, "abcdefghjkmnpqrstvwxyz0123");
    inv.campaign_id = cid;
    inv.period_id = pid;
    inv.employee_id = e.id;
    inv.provider_department_id = e.department_id;
    inv.language = "nl";
    inv.state = INV_SENT;
    inv.planned_at = 1789000000;
    cr_assert_eq(store_invitation_add(st, &inv), EQ_OK);
    store_employee_clear(&e);

    /* good.csv adds Daan and Frank: joiners as of the import's now. */
    import_ok(FIX "good.csv", 0, &rep);
    find("daan.visser@example.org", &e);
    cr_assert_eq(e.joined_at, 1790000000);
    store_employee_clear(&e);
    find("anna.jansen@example.org", &e);
    cr_assert_eq(e.joined_at, 0, "re-imported founders keep 0");
    store_employee_clear(&e);

    /* Carla leaves: her open invitation is cancelled. */
    import_ok(FIX "without_carla.csv", 1, &rep);
    cr_assert_eq(rep.employees_deactivated, 1);
    cr_assert_eq(rep.invitations_cancelled, 1);
    struct store_invitation got = {0};
    cr_assert_eq(
        store_invitation_by_token(st, "abcdefghjkmnpqrstvwxyz0123", &got),
        EQ_OK);
    cr_assert_eq(got.state, INV_CANCELLED);
    store_invitation_clear(&got);
}
