#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "eqtime.h"
#include "schedule.h"

#define TZ "Europe/Amsterdam"
#define MAX_PEOPLE 1000

/* Department ids and codes of the fixture organisation. */
enum { IT = 1, HR = 2, FAC = 3, SALES = 10, OPS = 11, FIN = 12 };

static const char *
code_of(int64_t dept)
{
    switch (dept) {
    case IT:
        return "it";
    case HR:
        return "hr";
    case FAC:
        return "fac";
    case SALES:
        return "sales";
    case OPS:
        return "ops";
    case FIN:
        return "fin";
    }
    return NULL;
}

static eq_day
day(int y, int m, int d)
{
    return eqtime_day_from_ymd(y, m, d);
}

static eq_time
at(const char *iso)
{
    eq_time t;
    cr_assert_eq(eqtime_parse_iso(iso, TZ, &t), 0, "%s", iso);
    return t;
}

/* A quarterly campaign from 2026-10-01, every department rates every other,
 * tue/wed/thu 09:00–11:00 in Amsterdam, 30 answers at 35 %. */
static void
campaign_fixture(struct campaign *c)
{
    memset(c, 0, sizeof *c);
    c->name = "test";
    c->providers_all = 1;
    c->customers_all = 1;
    c->cadence = CADENCE_QUARTERLY;
    c->start = day(2026, 10, 1);
    c->target_responses = 30;
    c->expected_response_rate = 0.35;
    c->send_days = (1u << 1) | (1u << 2) | (1u << 3);
    c->window_start = 9 * 60;
    c->window_end = 11 * 60;
    c->timezone = TZ;
    c->language = "nl";
    c->reminder_after = 3;
    c->max_reminders = 1;
    c->close_after = 10;
    c->anonymity_min = 5;
}

struct org {
    struct schedule_employee emp[MAX_PEOPLE];
    size_t n;
};

static struct org org;

/* count people of dept with ids following the last one; returns first id. */
static int64_t
add_people(int64_t dept, int count)
{
    int64_t first = (int64_t)org.n + 1;
    for (int i = 0; i < count; i++) {
        cr_assert_lt(org.n, MAX_PEOPLE);
        struct schedule_employee *e = &org.emp[org.n];
        memset(e, 0, sizeof *e);
        e->id = (int64_t)org.n + 1;
        e->department_id = dept;
        e->department_code = code_of(dept);
        e->active = 1;
        org.n++;
    }
    return first;
}

static struct schedule_employee *
person(int64_t id)
{
    cr_assert(id >= 1 && (size_t)id <= org.n);
    return &org.emp[id - 1];
}

static struct schedule_provider
provider(int64_t dept)
{
    struct schedule_provider p = {dept, code_of(dept), 0, 0};
    return p;
}

static struct schedule_input
input(const struct campaign *c, const char *now,
      const struct schedule_provider *p, size_t np)
{
    struct schedule_input in;
    memset(&in, 0, sizeof in);
    in.c = c;
    in.now = at(now);
    in.timezone = TZ;
    in.quiet_period_days = 30;
    in.employees = org.emp;
    in.n_employees = org.n;
    in.providers = p;
    in.n_providers = np;
    in.seed = 42;
    return in;
}

static size_t
count_provider(const struct schedule_item *it, size_t n, int64_t provider)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += it[i].provider_department_id == provider;
    return k;
}

static size_t
count_rater_dept(const struct schedule_item *it, size_t n, int64_t dept)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += person(it[i].employee_id)->department_id == dept;
    return k;
}

static int
has_employee(const struct schedule_item *it, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (it[i].employee_id == id)
            return 1;
    return 0;
}

static void
assert_nobody_twice(const struct schedule_item *it, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            cr_assert_neq(it[i].employee_id, it[j].employee_id,
                          "employee %lld invited twice in one run",
                          (long long)it[i].employee_id);
}

static size_t
due(const struct schedule_input *in, struct schedule_item **items)
{
    size_t n = 99;
    cr_assert_eq(schedule_due(in, items, &n), EQ_OK);
    cr_assert((n == 0) == (*items == NULL));
    return n;
}

/* --- when nothing is due ------------------------------------------------ */

Test(schedule, plans_nothing_on_a_monday)
{
    struct campaign c;
    campaign_fixture(&c);
    add_people(SALES, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-16T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 0);
}

Test(schedule, plans_nothing_on_a_holiday_but_does_the_day_after)
{
    struct campaign c;
    eq_day hol[] = {day(2026, 11, 18)};
    campaign_fixture(&c);
    c.holidays = hol;
    c.n_holidays = 1;
    add_people(SALES, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 0);
    in.now = at("2026-11-19T08:00");
    cr_assert_gt(due(&in, &items), 0);
    free(items);
}

Test(schedule, plans_nothing_before_start_or_after_end)
{
    struct campaign c;
    campaign_fixture(&c);
    c.start = day(2026, 12, 1);
    c.end = day(2026, 12, 17);
    add_people(SALES, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 0);
    in.now = at("2026-12-22T08:00");
    cr_assert_eq(due(&in, &items), 0);
    in.now = at("2026-12-16T08:00");
    cr_assert_gt(due(&in, &items), 0);
    free(items);
}

Test(schedule, the_local_date_decides_not_the_utc_date)
{
    struct campaign c;
    campaign_fixture(&c);
    add_people(SALES, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_item *items;
    /* Monday 23:30 UTC is already Tuesday 00:30 in Amsterdam. */
    struct schedule_input in = input(&c, "2026-11-16T23:30:00Z", p, 1);
    cr_assert_gt(due(&in, &items), 0);
    free(items);
    /* Thursday 20:00 in Amsterdam is already Friday in Tokyo. */
    in = input(&c, "2026-11-19T20:00", p, 1);
    in.timezone = "Asia/Tokyo";
    cr_assert_eq(due(&in, &items), 0);
    in.timezone = "America/New_York";
    in.now = at("2026-11-19T05:30"); /* Wed 23:30 in New York */
    cr_assert_gt(due(&in, &items), 0);
    free(items);
    in.now = at("2026-11-21T05:30"); /* Fri 23:30 in New York */
    cr_assert_eq(due(&in, &items), 0);
}

/* --- quota arithmetic ----------------------------------------------------- */

Test(schedule, period_need_rounds_up_the_invitations)
{
    struct campaign c;
    campaign_fixture(&c);
    cr_assert_eq(schedule_period_need(&c), 86); /* 30 / 0.35 = 85.7 */
    c.target_responses = 35;
    cr_assert_eq(schedule_period_need(&c), 100); /* not 101 */
    c.expected_response_rate = 1.0;
    cr_assert_eq(schedule_period_need(&c), 35);
    c.expected_response_rate = 0.0;
    cr_assert_eq(schedule_period_need(&c), -1);
    c.expected_response_rate = 1.5;
    cr_assert_eq(schedule_period_need(&c), -1);
}

Test(schedule, quota_spreads_what_is_missing_over_the_days_left)
{
    cr_assert_eq(schedule_quota_today(86, 0, 0, 20), 5); /* 4.3 → 5 */
    cr_assert_eq(schedule_quota_today(86, 0, 5, 20), 0); /* second call */
    cr_assert_eq(schedule_quota_today(86, 0, 3, 20), 2);
    cr_assert_eq(schedule_quota_today(86, 80, 0, 20), 1); /* 6 / 20 */
    cr_assert_eq(schedule_quota_today(86, 84, 0, 1), 2);  /* last day */
    cr_assert_eq(schedule_quota_today(86, 90, 0, 5), 0);  /* over target */
    cr_assert_eq(schedule_quota_today(86, 0, 9, 20), 0);  /* never negative */
}

Test(schedule, counts_send_days_left_in_the_quarter)
{
    struct campaign c;
    eq_day hol[] = {day(2026, 12, 24)};
    campaign_fixture(&c);
    /* Wed 18 Nov … 31 Dec 2026: Nov 18,19,24,25,26 and 15 tue/wed/thu in
     * December. */
    cr_assert_eq(
        schedule_send_days_left(&c, day(2026, 11, 18), day(2026, 12, 31)), 20);
    c.holidays = hol;
    c.n_holidays = 1;
    cr_assert_eq(
        schedule_send_days_left(&c, day(2026, 11, 18), day(2026, 12, 31)), 19);
    cr_assert_eq(
        schedule_send_days_left(&c, day(2026, 12, 31), day(2026, 12, 30)), 0);
}

Test(schedule, second_call_on_the_same_day_adds_nothing)
{
    struct campaign c;
    campaign_fixture(&c);
    add_people(IT, 10);
    add_people(SALES, 200);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    /* need 86, 20 send days left → 5 today. */
    cr_assert_eq(due(&in, &items), 5);
    cr_assert_eq(count_provider(items, 5, IT), 5);
    free(items);
    p[0].planned_today = 5;
    cr_assert_eq(due(&in, &items), 0);
    p[0].planned_today = 3;
    cr_assert_eq(due(&in, &items), 2);
    free(items);
    p[0].planned_today = 0;
    p[0].invited_before_today = 80;
    cr_assert_eq(due(&in, &items), 1);
    free(items);
}

Test(schedule, last_send_day_of_a_month_asks_for_everything_missing)
{
    struct campaign c;
    campaign_fixture(&c);
    c.cadence = CADENCE_MONTHLY;
    add_people(SALES, 200);
    struct schedule_provider p[] = {provider(IT)};
    p[0].invited_before_today = 80;
    /* Thu 26 Nov is November's last tue/wed/thu: 86 − 80 = 6. */
    struct schedule_input in = input(&c, "2026-11-26T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 6);
    free(items);
    /* Tue 1 Dec opens a new month: the caller's counts start again. */
    p[0].invited_before_today = 0;
    in.now = at("2026-12-01T08:00"); /* 15 send days: ceil(86/15) = 6 */
    cr_assert_eq(due(&in, &items), 6);
    free(items);
    in.now = at("2026-11-25T08:00"); /* 2 days left: ceil(6/2) = 3 */
    p[0].invited_before_today = 80;
    cr_assert_eq(due(&in, &items), 3);
    free(items);
}

Test(schedule, campaign_end_shortens_the_spread)
{
    struct campaign c;
    campaign_fixture(&c);
    c.end = day(2026, 11, 26); /* Nov 18,19,24,25,26 left: 86/5 → 18 */
    add_people(SALES, 200);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 18);
    free(items);
}

Test(schedule, rejects_a_meaningless_campaign)
{
    struct campaign c;
    campaign_fixture(&c);
    c.expected_response_rate = 0;
    add_people(SALES, 5);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    size_t n;
    cr_assert_eq(schedule_due(&in, &items, &n), EQ_ERR_DATA);
    cr_assert_null(items);
    cr_assert_eq(n, 0);
    c.expected_response_rate = 0.35;
    c.window_end = 8 * 60;
    cr_assert_eq(schedule_due(&in, &items, &n), EQ_ERR_DATA);
}

/* --- who is a candidate -------------------------------------------------- */

Test(schedule, nobody_is_invited_twice_in_one_run)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 160; /* 160 / 20 days = 8 per provider */
    c.expected_response_rate = 1.0;
    add_people(IT, 5);
    add_people(HR, 5);
    add_people(FAC, 5);
    add_people(SALES, 10);
    struct schedule_provider p[] = {provider(IT), provider(HR), provider(FAC)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 3);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    /* 24 wanted from 25 people: the pool runs short, nobody doubles. */
    cr_assert_geq(n, 20);
    cr_assert_leq(n, 24);
    assert_nobody_twice(items, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_neq(person(items[i].employee_id)->department_id,
                      items[i].provider_department_id);
    free(items);
}

Test(schedule, quiet_period_counts_local_calendar_days)
{
    struct campaign c;
    campaign_fixture(&c);
    int64_t a = add_people(SALES, 4);
    person(a)->last_invited = at("2026-10-20T10:59");     /* 29 days ago */
    person(a + 1)->last_invited = at("2026-10-19T10:59"); /* 30 days ago */
    person(a + 2)->last_invited = at("2026-11-18T10:00"); /* later today */
    person(a + 3)->last_invited = 0;                      /* never */
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 2);
    cr_assert(has_employee(items, n, a + 1));
    cr_assert(has_employee(items, n, a + 3));
    free(items);
    /* A quiet period of 0 still allows one invitation a day only. */
    in.quiet_period_days = 0;
    n = due(&in, &items);
    cr_assert_eq(n, 3);
    cr_assert_not(has_employee(items, n, a + 2));
    free(items);
}

Test(schedule, a_not_applicable_answer_blocks_only_that_provider)
{
    struct campaign c;
    campaign_fixture(&c);
    int64_t a = add_people(SALES, 3);
    struct schedule_block b[] = {{a, IT}, {a + 1, FAC}};
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    in.blocks = b;
    in.n_blocks = 2;
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 2);
    cr_assert_not(has_employee(items, n, a));
    free(items);
    p[0] = provider(HR);
    n = due(&in, &items);
    cr_assert_eq(n, 3);
    free(items);
}

Test(schedule, skips_inactive_undeliverable_opted_out_and_homeless_people)
{
    struct campaign c;
    campaign_fixture(&c);
    int64_t a = add_people(SALES, 5);
    person(a + 1)->active = 0;
    person(a + 2)->undeliverable = 1;
    person(a + 3)->opted_out = 1;
    person(a + 4)->department_code = NULL;
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 1);
    cr_assert_eq(items[0].employee_id, a);
    free(items);
}

Test(schedule, never_asks_a_department_about_itself)
{
    struct campaign c;
    char *customers[] = {"it", "sales"};
    campaign_fixture(&c);
    add_people(IT, 50);
    add_people(SALES, 3);
    add_people(OPS, 2);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    /* customers = *: everyone but IT; quota 5 = the 5 others. */
    size_t n = due(&in, &items);
    cr_assert_eq(n, 5);
    cr_assert_eq(count_rater_dept(items, n, IT), 0);
    free(items);
    /* An explicit list that names IT itself still does not make IT rate
     * IT; OPS is not listed. */
    c.customers_all = 0;
    c.customers = customers;
    c.n_customers = 2;
    n = due(&in, &items);
    cr_assert_eq(n, 3);
    cr_assert_eq(count_rater_dept(items, n, SALES), 3);
    free(items);
}

/* --- how the sample is spread -------------------------------------------- */

Test(schedule, sample_is_proportional_to_department_size)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 120; /* 120 / 20 days = 6 today */
    c.expected_response_rate = 1.0;
    add_people(SALES, 100);
    add_people(OPS, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    /* Exact shares 4 and 2 leave nothing to chance, whatever the seed. */
    for (uint64_t seed = 1; seed <= 20; seed++) {
        in.seed = seed;
        size_t n = due(&in, &items);
        cr_assert_eq(n, 6);
        cr_assert_eq(count_rater_dept(items, n, SALES), 4);
        cr_assert_eq(count_rater_dept(items, n, OPS), 2);
        free(items);
    }
}

Test(schedule, shares_round_up_or_down_and_are_exact_on_average)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 80; /* 4 today: exact shares 2.4, 1.0, 0.6 */
    c.expected_response_rate = 1.0;
    add_people(SALES, 60);
    add_people(OPS, 25);
    add_people(FIN, 15);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    size_t fin = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        in.seed = seed;
        size_t n = due(&in, &items);
        cr_assert_eq(n, 4);
        size_t s = count_rater_dept(items, n, SALES);
        size_t f = count_rater_dept(items, n, FIN);
        cr_assert(s == 2 || s == 3);
        cr_assert_eq(count_rater_dept(items, n, OPS), 1);
        cr_assert_eq(s + f, 3);
        fin += f;
        free(items);
    }
    /* 0.6 per day on average: 120 of 200 (sd 7). Rounding to the largest
     * remainder would give FIN one every day, 200. */
    cr_assert(fin >= 100 && fin <= 140, "fin %zu", fin);
}

Test(schedule, prefers_people_invited_longest_ago)
{
    struct campaign c;
    campaign_fixture(&c);
    int64_t a = add_people(SALES, 15);
    for (int i = 0; i < 5; i++) {
        person(a + i)->last_invited = at("2026-09-01T10:00");
        person(a + 5 + i)->last_invited = at("2026-08-01T10:00");
        person(a + 10 + i)->last_invited = at("2026-10-01T10:00");
    }
    person(a + 12)->last_invited = 0; /* never: first in line */
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 5);
    cr_assert(has_employee(items, n, a + 12));
    size_t from_august = 0;
    for (int i = 5; i < 10; i++)
        from_august += has_employee(items, n, a + i);
    cr_assert_eq(from_august, 4);
    free(items);
}

Test(schedule, rotates_first_pick_between_providers)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 60; /* 3 a day each, from a pool of 3 */
    c.expected_response_rate = 1.0;
    add_people(SALES, 3);
    struct schedule_provider p[] = {provider(IT), provider(HR)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 2);
    in.quiet_period_days = 0;
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 3);
    int64_t first = items[0].provider_department_id;
    cr_assert_eq(count_provider(items, 3, first), 3);
    free(items);
    in.now = at("2026-11-19T08:00");
    cr_assert_eq(due(&in, &items), 3);
    cr_assert_eq(count_provider(items, 3, first == IT ? HR : IT), 3);
    free(items);
}

/* --- when ------------------------------------------------------------------
 */

static void
assert_spread_in_window(const char *now, eq_day today, eq_time ws, eq_time we)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 10000; /* more than the pool: everyone today */
    c.expected_response_rate = 1.0;
    add_people(SALES, 240);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, now, p, 1);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 240);
    for (size_t i = 0; i < n; i++) {
        eq_day d;
        int minute;
        cr_assert_geq(items[i].planned_at, ws);
        cr_assert_lt(items[i].planned_at, we);
        eqtime_to_local(items[i].planned_at, TZ, &d, &minute);
        cr_assert_eq(d, today);
        cr_assert(minute >= 9 * 60 && minute < 11 * 60);
        if (i > 0) {
            /* 7200 s / 240 = 30 s apart, sorted. */
            cr_assert_eq(items[i].planned_at - items[i - 1].planned_at, 30);
        }
    }
    cr_assert_eq(items[0].planned_at, ws + 15);
    free(items);
}

Test(schedule, planned_times_fill_the_local_window_across_dst)
{
    char iso[21];
    eqtime_format_iso(at("2026-10-22T09:00"), iso);
    cr_assert_str_eq(iso, "2026-10-22T07:00:00Z"); /* summer time */
    /* Thursday before the change (CEST, UTC+2). */
    assert_spread_in_window("2026-10-22T06:00", day(2026, 10, 22),
                            at("2026-10-22T07:00:00Z"),
                            at("2026-10-22T09:00:00Z"));
}

Test(schedule, planned_times_follow_winter_time_after_the_change)
{
    /* Tuesday after the last Sunday of October (CET, UTC+1). */
    assert_spread_in_window("2026-10-27T06:00", day(2026, 10, 27),
                            at("2026-10-27T08:00:00Z"),
                            at("2026-10-27T10:00:00Z"));
}

Test(schedule, a_late_run_plans_everything_due_now)
{
    struct campaign c;
    campaign_fixture(&c);
    add_people(SALES, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T14:00", p, 1);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(items[i].planned_at, at("2026-11-18T14:00"));
    free(items);
    /* Inside the window the whole window is used; the past is due now. */
    in.now = at("2026-11-18T10:00");
    n = due(&in, &items);
    cr_assert_eq(n, 5);
    cr_assert_eq(items[0].planned_at, at("2026-11-18T09:12"));
    cr_assert_eq(items[4].planned_at, at("2026-11-18T10:48"));
    free(items);
}

/* --- randomness ------------------------------------------------------------
 */

static int
same_people(const struct schedule_item *a, size_t na,
            const struct schedule_item *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!has_employee(b, nb, a[i].employee_id))
            return 0;
    return 1;
}

Test(schedule, same_seed_same_plan_other_day_other_people)
{
    struct campaign c;
    campaign_fixture(&c);
    add_people(SALES, 300);
    add_people(OPS, 200);
    struct schedule_provider p[] = {provider(IT), provider(HR)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 2);
    struct schedule_item *a, *b;
    size_t na = due(&in, &a), nb = due(&in, &b);
    cr_assert_eq(na, 10);
    cr_assert_eq(nb, na);
    cr_assert_eq(memcmp(a, b, na * sizeof *a), 0);
    free(b);
    in.now = at("2026-11-19T08:00");
    nb = due(&in, &b);
    cr_assert_not(same_people(a, na, b, nb));
    free(b);
    in.now = at("2026-11-18T08:00");
    in.seed = 43;
    nb = due(&in, &b);
    cr_assert_not(same_people(a, na, b, nb));
    free(b);
    free(a);
}

/* --- a quarter ---------------------------------------------------------------
 */

#define MAX_INV 2000

Test(schedule, a_simulated_quarter_reaches_the_need_and_keeps_quiet)
{
    static struct schedule_item all[MAX_INV];
    size_t n_all = 0;
    struct campaign c;
    eq_day hol[] = {day(2026, 12, 24)};
    campaign_fixture(&c);
    c.holidays = hol;
    c.n_holidays = 1;
    add_people(IT, 20);
    add_people(HR, 10);
    add_people(FAC, 15);
    add_people(SALES, 150);
    add_people(OPS, 100);
    add_people(FIN, 40);
    struct schedule_provider p[] = {provider(IT), provider(HR), provider(FAC)};
    struct schedule_input in = input(&c, "2026-10-01T07:30", p, 3);
    int send_days = 0;

    for (eq_day d = day(2026, 10, 1); d <= day(2026, 12, 31); d++) {
        eq_time today0 = eqtime_from_local(d, 0, TZ);
        size_t before = n_all;
        in.now = eqtime_from_local(d, 7 * 60 + 30, TZ);
        for (int run = 0; run < 2; run++) {
            for (size_t k = 0; k < 3; k++) {
                p[k].invited_before_today = 0;
                p[k].planned_today = 0;
                for (size_t i = 0; i < n_all; i++) {
                    if (all[i].provider_department_id != p[k].department_id)
                        continue;
                    if (all[i].planned_at < today0)
                        p[k].invited_before_today++;
                    else
                        p[k].planned_today++;
                }
            }
            struct schedule_item *items;
            size_t n = due(&in, &items);
            if (run == 1)
                cr_assert_eq(n, 0, "second run of day %d planned more", (int)d);
            cr_assert_leq(n_all + n, MAX_INV);
            for (size_t i = 0; i < n; i++) {
                struct schedule_employee *e = person(items[i].employee_id);
                all[n_all++] = items[i];
                if (items[i].planned_at > e->last_invited)
                    e->last_invited = items[i].planned_at;
            }
            free(items);
        }
        if (n_all > before)
            send_days++;
        for (size_t k = 0; k < 3; k++) {
            /* ceil(86 / 39 send days) = 3 at most on any day. */
            size_t today_k = count_provider(all + before, n_all - before,
                                            p[k].department_id);
            cr_assert_leq(today_k, 3);
        }
    }
    /* Oct 13 + Nov 12 + Dec 15 − Christmas Eve = 39 send days. */
    cr_assert_eq(send_days, 39);
    cr_assert_eq(count_provider(all, n_all, IT), 86);
    cr_assert_eq(count_provider(all, n_all, HR), 86);
    cr_assert_eq(count_provider(all, n_all, FAC), 86);

    /* Every person's invitations lie ≥ 30 local days apart. */
    for (size_t i = 0; i < n_all; i++) {
        for (size_t j = i + 1; j < n_all; j++) {
            if (all[i].employee_id != all[j].employee_id)
                continue;
            eq_day di, dj;
            int mi, mj;
            eqtime_to_local(all[i].planned_at, TZ, &di, &mi);
            eqtime_to_local(all[j].planned_at, TZ, &dj, &mj);
            cr_assert_geq(dj - di, 30, "employee %lld: %d and %d",
                          (long long)all[i].employee_id, (int)di, (int)dj);
        }
        cr_assert_neq(person(all[i].employee_id)->department_id,
                      all[i].provider_department_id);
    }
    /* IT's raters follow department size: SALES 150 of 315 others. */
    size_t it_sales = 0;
    for (size_t i = 0; i < n_all; i++)
        if (all[i].provider_department_id == IT &&
            person(all[i].employee_id)->department_id == SALES)
            it_sales++;
    cr_assert(it_sales >= 34 && it_sales <= 48, "sales rated IT %zu times",
              it_sales);
    /* …and small departments are asked too: FIN 40 of 315, 10.9 expected. */
    size_t it_fin = 0;
    for (size_t i = 0; i < n_all; i++)
        if (all[i].provider_department_id == IT &&
            person(all[i].employee_id)->department_id == FIN)
            it_fin++;
    cr_assert(it_fin >= 5 && it_fin <= 17, "fin rated IT %zu times", it_fin);
}
