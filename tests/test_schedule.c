#include <criterion/criterion.h>
#include <math.h>
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
    /* Ten departments d20 … d29 for the small organisation. */
    static const char *const small[] = {"d20", "d21", "d22", "d23", "d24",
                                        "d25", "d26", "d27", "d28", "d29"};
    if (dept >= 20 && dept < 30)
        return small[dept - 20];
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

/* Q4 2026 has 40 tue/wed/thu send days; Wed 18 Nov is the 21st, with 20
 * left (itself included). A need of 80 makes the cumulative target 2·k
 * exactly, whatever the seeded phase: target(20) = 40, target(21) = 42. */
Test(schedule, second_call_on_the_same_day_adds_nothing)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 80;
    c.expected_response_rate = 1.0;
    add_people(IT, 10);
    add_people(SALES, 200);
    struct schedule_provider p[] = {provider(IT)};
    p[0].invited_before_today = 40; /* on track */
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 2);
    cr_assert_eq(count_provider(items, 2, IT), 2);
    free(items);
    p[0].planned_today = 2;
    cr_assert_eq(due(&in, &items), 0);
    p[0].planned_today = 1;
    cr_assert_eq(due(&in, &items), 1);
    free(items);
    /* Ahead of the target: nothing today. */
    p[0].planned_today = 0;
    p[0].invited_before_today = 45;
    cr_assert_eq(due(&in, &items), 0);
    /* Nothing sent yet: today's 2 plus ceil(40 behind / 20 days) = 4, not
     * all 42 at once. */
    p[0].invited_before_today = 0;
    cr_assert_eq(due(&in, &items), 4);
    free(items);
}

Test(schedule, last_send_day_of_a_month_asks_for_everything_missing)
{
    struct campaign c;
    campaign_fixture(&c);
    c.cadence = CADENCE_MONTHLY;
    c.target_responses = 90;
    c.expected_response_rate = 1.0;
    add_people(SALES, 200); /* capacity 180 a month, above 90 */
    struct schedule_provider p[] = {provider(IT)};
    p[0].invited_before_today = 80;
    /* Thu 26 Nov is November's last tue/wed/thu: 90 − 80 = 10. */
    struct schedule_input in = input(&c, "2026-11-26T08:00", p, 1);
    struct schedule_item *items;
    cr_assert_eq(due(&in, &items), 10);
    free(items);
    /* Tue 1 Dec opens a new month of 15 send days: 90 / 15 = 6. */
    p[0].invited_before_today = 0;
    in.now = at("2026-12-01T08:00");
    cr_assert_eq(due(&in, &items), 6);
    free(items);
}

Test(schedule, campaign_end_shortens_the_spread)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 100;
    c.expected_response_rate = 1.0;
    add_people(SALES, 200);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_item *items;
    /* Open-ended: 100 over 40 days, target(20) = 50, target(21) = 52 or 53
     * depending on the phase. */
    p[0].invited_before_today = 50;
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    size_t n = due(&in, &items);
    cr_assert(n == 2 || n == 3, "%zu", n);
    free(items);
    /* Ending on 26 Nov leaves 25 send days: 4 a day, target(20) = 80. */
    c.end = day(2026, 11, 26);
    p[0].invited_before_today = 80;
    cr_assert_eq(due(&in, &items), 4);
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
    c.target_responses = 300; /* 7.5 a day per provider */
    c.expected_response_rate = 1.0;
    add_people(IT, 5);
    add_people(HR, 5);
    add_people(FAC, 5);
    add_people(SALES, 10);
    struct schedule_provider p[] = {provider(IT), provider(HR), provider(FAC)};
    for (size_t k = 0; k < 3; k++)
        p[k].invited_before_today = 150; /* 450 dealt round-robin */
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 3);
    /* Quiet period 0: a person can give an invitation every send day (92
     * days / mean gap 2.4 × 0.97 = 37.2), 929 for 25 people, so all 900
     * fit. T(21) = 472 or 473: 7 or 8 each today. */
    in.quiet_period_days = 0;
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
    c.target_responses = 160; /* target(21) − target(20) = 84 − 80 = 4 */
    c.expected_response_rate = 1.0;
    int64_t a = add_people(SALES, 4);
    person(a)->last_invited = at("2026-10-20T10:59");     /* 29 days ago */
    person(a + 1)->last_invited = at("2026-10-19T10:59"); /* 30 days ago */
    person(a + 2)->last_invited = at("2026-11-18T10:00"); /* later today */
    person(a + 3)->last_invited = 0;                      /* never */
    /* 100 more asked by another campaign earlier today: they count in the
     * capacity (104 × 2.76 = 286 ≥ 160) but are quiet. */
    int64_t b = add_people(SALES, 100);
    for (int i = 0; i < 100; i++)
        person(b + i)->last_invited = at("2026-11-18T07:00");
    struct schedule_provider p[] = {provider(IT)};
    p[0].invited_before_today = 80;
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
    in.quiet_period_days = 0; /* a capacity far above the three people */
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
    in.quiet_period_days = 0; /* quota 5–6: more than the 5 others */
    struct schedule_item *items;
    /* customers = *: everyone but IT. */
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
    c.target_responses = 200;         /* 5 a day */
    c.expected_response_rate = 1.0;
    struct schedule_provider p[] = {provider(IT)};
    p[0].invited_before_today = 100;
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 1);
    in.quiet_period_days = 0; /* capacity 15 × 38 slots, above 200 */
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
    in.quiet_period_days = 0; /* lifts the capacity above 240 a day */
    struct schedule_item *items;
    size_t n = due(&in, &items);
    int offsets[30] = {0};
    cr_assert_eq(n, 240);
    for (size_t i = 0; i < n; i++) {
        eq_day d;
        int minute;
        eqtime_to_local(items[i].planned_at, TZ, &d, &minute);
        cr_assert_eq(d, today);
        cr_assert(minute >= 9 * 60 && minute < 11 * 60);
        /* 7200 s / 240: one item in each 30-second slot, sorted. */
        cr_assert_geq(items[i].planned_at, ws + 30 * (eq_time)i);
        cr_assert_lt(items[i].planned_at, ws + 30 * (eq_time)(i + 1));
        cr_assert_lt(items[i].planned_at, we);
        offsets[(items[i].planned_at - ws) % 30]++;
    }
    /* Jittered: the seconds inside the slots vary (240 draws of 30). */
    int used = 0;
    for (int k = 0; k < 30; k++)
        used += offsets[k] > 0;
    cr_assert_geq(used, 20);
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
    c.target_responses = 80; /* 2 today + 2 catching up */
    c.expected_response_rate = 1.0;
    add_people(SALES, 50);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T14:00", p, 1);
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(items[i].planned_at, at("2026-11-18T14:00"));
    free(items);
    /* Inside the window, the rest of it is used: one item per quarter of
     * an hour from 10:00, none in the past (that would be a burst). */
    in.now = at("2026-11-18T10:00");
    n = due(&in, &items);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        eq_time slot = at("2026-11-18T10:00") + 900 * (eq_time)i;
        cr_assert_geq(items[i].planned_at, slot);
        cr_assert_lt(items[i].planned_at, slot + 900);
    }
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
    c.target_responses = 80; /* 4 each today */
    c.expected_response_rate = 1.0;
    add_people(SALES, 300);
    add_people(OPS, 200);
    struct schedule_provider p[] = {provider(IT), provider(HR)};
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 2);
    struct schedule_item *a, *b;
    size_t na = due(&in, &a), nb = due(&in, &b);
    cr_assert_eq(na, 8);
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

/* --- simulation helpers ------------------------------------------------------
 */

#define MAX_SIM 4000

/* The invitations one campaign planned, as its store would hold them. */
struct sim {
    struct schedule_item all[MAX_SIM];
    size_t n;
};

/* One run of a campaign at local minute `minute` of day d, as run.c does
 * it: this period's counts of the campaign are fed back, the items are
 * recorded, and everybody's last_invited (shared by all campaigns) moves.
 * Returns how many items the run planned. */
static size_t
sim_run(struct sim *s, struct schedule_input *in, struct schedule_provider *p,
        size_t np, eq_day d, int minute)
{
    eq_time today0 = eqtime_from_local(d, 0, TZ);
    struct period per;
    eq_time per0 = 0;
    struct schedule_item *items;
    size_t n;

    if (campaign_period_of(in->c, d, &per) == EQ_OK)
        per0 = eqtime_from_local(per.first, 0, TZ);
    for (size_t k = 0; k < np; k++) {
        p[k].invited_before_today = 0;
        p[k].planned_today = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (s->all[i].provider_department_id != p[k].department_id ||
                s->all[i].planned_at < per0)
                continue;
            if (s->all[i].planned_at < today0)
                p[k].invited_before_today++;
            else
                p[k].planned_today++;
        }
    }
    in->now = eqtime_from_local(d, minute, TZ);
    n = due(in, &items);
    cr_assert_leq(s->n + n, MAX_SIM);
    for (size_t i = 0; i < n; i++) {
        struct schedule_employee *e = person(items[i].employee_id);
        s->all[s->n++] = items[i];
        if (items[i].planned_at > e->last_invited)
            e->last_invited = items[i].planned_at;
    }
    free(items);
    return n;
}

static size_t
count_on_day(const struct schedule_item *it, size_t n, eq_day d)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        eq_day di;
        int mi;
        eqtime_to_local(it[i].planned_at, TZ, &di, &mi);
        k += di == d;
    }
    return k;
}

/* Any two invitations of one person, over all the lists, lie at least
 * `quiet` local calendar days apart. */
static void
assert_quiet(const struct sim *const *s, size_t ns, int quiet)
{
    for (size_t a = 0; a < ns; a++)
        for (size_t i = 0; i < s[a]->n; i++)
            for (size_t b = a; b < ns; b++)
                for (size_t j = (a == b ? i + 1 : 0); j < s[b]->n; j++) {
                    const struct schedule_item *x = &s[a]->all[i];
                    const struct schedule_item *y = &s[b]->all[j];
                    eq_day dx, dy;
                    int mx, my;
                    if (x->employee_id != y->employee_id)
                        continue;
                    eqtime_to_local(x->planned_at, TZ, &dx, &mx);
                    eqtime_to_local(y->planned_at, TZ, &dy, &my);
                    cr_assert_geq(dx > dy ? dx - dy : dy - dx, quiet,
                                  "employee %lld on days %d and %d",
                                  (long long)x->employee_id, (int)dx, (int)dy);
                }
}

/* --- spread over a whole quarter ---------------------------------------------
 */

Test(schedule, quarter_total_per_send_day_stays_within_the_spread_bound)
{
    static struct sim s;
    struct campaign c;
    eq_day hol[] = {day(2026, 12, 24)};
    campaign_fixture(&c);
    c.holidays = hol;
    c.n_holidays = 1;
    add_people(IT, 60);
    add_people(HR, 40);
    add_people(FAC, 50);
    add_people(SALES, 300);
    add_people(OPS, 200);
    add_people(FIN, 150);
    struct schedule_provider p[] = {provider(IT), provider(HR), provider(FAC),
                                    provider(SALES), provider(OPS)};
    struct schedule_input in = input(&c, "2026-10-01T07:30", p, 5);
    size_t per_day[100];
    int send_days = 0;

    for (eq_day d = day(2026, 10, 1); d <= day(2026, 12, 31); d++) {
        size_t before = s.n;
        sim_run(&s, &in, p, 5, d, 7 * 60 + 30);
        /* A second run mid-window adds nothing. */
        cr_assert_eq(sim_run(&s, &in, p, 5, d, 10 * 60), 0);
        if (!campaign_is_send_day(&c, d)) {
            cr_assert_eq(s.n, before, "planned on a non-send day %d", (int)d);
            continue;
        }
        for (size_t k = 0; k < 5; k++) {
            /* 86 / 39 = 2.2: each provider 2 or 3 a day. */
            size_t x = count_provider(s.all + before, s.n - before,
                                      p[k].department_id);
            cr_assert(x == 2 || x == 3, "provider %lld: %zu on day %d",
                      (long long)p[k].department_id, x, (int)d);
        }
        per_day[send_days++] = s.n - before;
    }
    cr_assert_eq(send_days, 39);
    cr_assert_eq(count_on_day(s.all, s.n, day(2026, 12, 24)), 0);
    for (size_t k = 0; k < 5; k++)
        cr_assert_eq(count_provider(s.all, s.n, p[k].department_id), 86);
    /* Mean 430 / 39 = 11.03 a day: within 1 + 1.10 means 9 … 13. With
     * ceil((need − sent) / days left) each day would take 3 per provider
     * (15) until the need runs out. */
    double mean = 430.0 / 39.0;
    for (int i = 0; i < send_days; i++)
        cr_assert_leq(fabs((double)per_day[i] - mean), 1.0 + 0.1 * mean,
                      "send day %d: %zu", i, per_day[i]);
    const struct sim *all[] = {&s};
    assert_quiet(all, 1, 30);
}

/* --- quiet period across campaigns -------------------------------------------
 */

Test(schedule, two_campaigns_never_ask_one_person_twice_within_the_quiet_period)
{
    static struct sim sa, sb;
    struct campaign a, b;
    campaign_fixture(&a);
    campaign_fixture(&b);
    b.name = "second";
    add_people(IT, 30);
    add_people(HR, 30);
    add_people(FAC, 40);
    add_people(SALES, 100);
    add_people(OPS, 60);
    add_people(FIN, 40);
    struct schedule_provider pa[] = {provider(IT), provider(HR)};
    struct schedule_provider pb[] = {provider(FAC), provider(SALES)};
    struct schedule_input ia = input(&a, "2026-10-01T07:30", pa, 2);
    struct schedule_input ib = input(&b, "2026-10-01T07:30", pb, 2);
    /* Each may count on half of everybody's invitations: 300 × 2.76 / 2 =
     * 413, above the 172 each needs. */
    ia.capacity_share = 0.5;
    ib.capacity_share = 0.5;
    ib.seed = 7;

    for (eq_day d = day(2026, 10, 1); d <= day(2026, 12, 31); d++) {
        sim_run(&sa, &ia, pa, 2, d, 7 * 60 + 30);
        /* The second campaign sees the first one's picks of today. */
        sim_run(&sb, &ib, pb, 2, d, 7 * 60 + 31);
    }
    const struct sim *all[] = {&sa, &sb};
    assert_quiet(all, 2, 30);
    cr_assert_eq(count_provider(sa.all, sa.n, IT), 86);
    cr_assert_eq(count_provider(sa.all, sa.n, HR), 86);
    cr_assert_eq(count_provider(sb.all, sb.n, FAC), 86);
    cr_assert_eq(count_provider(sb.all, sb.n, SALES), 86);
}

/* --- feasibility
 * ---------------------------------------------------------------
 */

/* 100 people in ten departments of ten; every department rates the others. */
static void
small_org(struct schedule_provider *p)
{
    for (int k = 0; k < 10; k++) {
        add_people(20 + k, 10);
        p[k] = provider(20 + k);
    }
}

static struct period
q4(void)
{
    struct period per = {"2026Q4", 0, 0};
    per.first = day(2026, 10, 1);
    per.last = day(2026, 12, 31);
    return per;
}

/* Slots per person in Q4 2026 with a quiet period of 30: the 40 send days
 * are 13 Tuesdays (next send day 30 days later: Thursday), 13 Wednesdays
 * (34: Friday → Tuesday) and 14 Thursdays (33: Saturday → Tuesday), a mean
 * gap of 1294 / 40 = 32.35 days; 0.97 × 92 days / 32.35 = 2.7586 (below
 * the hard bound floor(91 / 30) + 1 = 4). 100 people → 275; 90 → 248. */
Test(schedule, feasibility_caps_a_small_organisation_fairly)
{
    struct campaign c;
    struct schedule_provider p[10];
    struct schedule_feasible *f;
    struct period per = q4();
    size_t n;
    campaign_fixture(&c);
    small_org(p);
    struct schedule_input in = input(&c, "2026-10-01T07:30", p, 10);
    cr_assert_eq(schedule_feasibility(&in, &per, &f, &n), EQ_OK);
    cr_assert_eq(n, 10);
    int64_t sum = 0;
    int with_28 = 0;
    for (size_t k = 0; k < n; k++) {
        cr_assert_eq(f[k].department_id, 20 + (int64_t)k);
        cr_assert_eq(f[k].need, 86);
        cr_assert_eq(f[k].eligible, 90);
        cr_assert_eq(f[k].capacity, 248);
        cr_assert(f[k].feasible == 27 || f[k].feasible == 28);
        cr_assert(f[k].capped);
        with_28 += f[k].feasible == 28;
        sum += f[k].feasible;
        double r = f[k].feasible == 27 ? 9.45 : 9.8;
        cr_assert_float_eq(f[k].expected_responses, r, 1e-9);
        /* 196 / √12.45 = 55.55; 196 / √12.8 = 54.78. */
        cr_assert_float_eq(f[k].nps_margin, f[k].feasible == 27 ? 55.55 : 54.78,
                           0.01);
    }
    /* 275 = 10 × 27 + 5: five providers get one more. */
    cr_assert_eq(sum, 275);
    cr_assert_eq(with_28, 5);
    free(f);

    /* A need of 20 each (7 / 0.35) fits: 200 ≤ 275, nothing capped. */
    c.target_responses = 7;
    cr_assert_eq(schedule_feasibility(&in, &per, &f, &n), EQ_OK);
    for (size_t k = 0; k < n; k++) {
        cr_assert_eq(f[k].feasible, 20);
        cr_assert_not(f[k].capped);
        cr_assert_float_eq(f[k].nps_margin, 196.0 / sqrt(10.0), 1e-9);
    }
    free(f);

    /* Two campaigns sharing the people: half of 275.86 = 137 → 13 each,
     * seven of them 14. */
    c.target_responses = 30;
    in.capacity_share = 0.5;
    cr_assert_eq(schedule_feasibility(&in, &per, &f, &n), EQ_OK);
    sum = 0;
    for (size_t k = 0; k < n; k++) {
        cr_assert(f[k].feasible == 13 || f[k].feasible == 14);
        sum += f[k].feasible;
    }
    cr_assert_eq(sum, 137);
    free(f);
}

Test(schedule, water_filling_gives_a_small_pool_all_it_can_and_shares_the_rest)
{
    struct campaign c;
    struct schedule_provider p[10];
    struct schedule_block b[85];
    struct schedule_feasible *f;
    struct period per = q4();
    size_t n, nb = 0;
    campaign_fixture(&c);
    small_org(p);
    /* 85 of d20's 90 raters said n.v.t.: 5 × 2.76 = 13 is all it can get. */
    for (int64_t id = 11; id <= 100 && nb < 85; id++)
        b[nb++] = (struct schedule_block){id, 20};
    struct schedule_input in = input(&c, "2026-10-01T07:30", p, 10);
    in.blocks = b;
    in.n_blocks = nb;
    cr_assert_eq(schedule_feasibility(&in, &per, &f, &n), EQ_OK);
    cr_assert_eq(f[0].eligible, 5);
    cr_assert_eq(f[0].capacity, 13);
    cr_assert_eq(f[0].feasible, 13);
    cr_assert(f[0].capped);
    /* (275 − 13) / 9 = 29 rest 1 for the others. */
    int64_t sum = 0;
    for (size_t k = 1; k < n; k++) {
        cr_assert(f[k].feasible == 29 || f[k].feasible == 30, "%zu: %lld", k,
                  (long long)f[k].feasible);
        sum += f[k].feasible;
    }
    cr_assert_eq(sum, 262);
    free(f);
}

/* Simulates one quarter for the organisation already in s and checks that
 * every provider gets exactly its fair share and every send day stays
 * within the spread bound. */
static void
small_org_quarter(struct sim *s, struct schedule_input *in,
                  struct schedule_provider *p, struct period per,
                  int send_days_expected)
{
    struct schedule_feasible *f;
    size_t nf, first = s->n, per_day[50];
    int send_days = 0;
    int64_t total = 0;
    cr_assert_eq(schedule_feasibility(in, &per, &f, &nf), EQ_OK);
    for (eq_day d = per.first; d <= per.last; d++) {
        size_t before = s->n;
        sim_run(s, in, p, 10, d, 7 * 60 + 30);
        if (campaign_is_send_day(in->c, d))
            per_day[send_days++] = s->n - before;
    }
    cr_assert_eq(send_days, send_days_expected);
    /* Exactly the fair share of each provider, not first-come. */
    for (size_t k = 0; k < 10; k++) {
        cr_assert(f[k].capped);
        cr_assert_eq(
            count_provider(s->all + first, s->n - first, p[k].department_id),
            (size_t)f[k].feasible, "%s provider %zu", per.label, k);
        total += f[k].feasible;
    }
    double mean = (double)total / send_days;
    for (int i = 0; i < send_days; i++)
        cr_assert_leq(fabs((double)per_day[i] - mean), 1.0 + 0.1 * mean,
                      "%s day %d: %zu", per.label, i, per_day[i]);
    free(f);
}

Test(schedule, a_small_organisation_gets_its_fair_cap_quarter_after_quarter)
{
    static struct sim s;
    struct campaign c;
    struct schedule_provider p[10];
    campaign_fixture(&c);
    small_org(p);
    struct schedule_input in = input(&c, "2026-10-01T07:30", p, 10);
    /* The first quarter starts with everyone fresh: 275 (see above). */
    small_org_quarter(&s, &in, p, q4(), 40);
    cr_assert_eq(s.n, 275);
    /* The next starts with most people still quiet from December: the
     * steady state. Q1 2027 has 38 send days. */
    struct period q1 = {"2027Q1", 0, 0};
    q1.first = day(2027, 1, 1);
    q1.last = day(2027, 3, 31);
    small_org_quarter(&s, &in, p, q1, 38);
    const struct sim *all[] = {&s};
    assert_quiet(all, 1, 30);
}

/* --- DST, holidays, joiners, leavers
 * --------------------------------------------
 */

Test(schedule, the_dst_week_keeps_every_invitation_inside_the_local_window)
{
    static struct sim s;
    struct campaign c;
    campaign_fixture(&c);
    add_people(SALES, 200);
    add_people(OPS, 100);
    struct schedule_provider p[] = {provider(IT), provider(HR)};
    struct schedule_input in = input(&c, "2026-10-20T07:30", p, 2);
    /* Summer time ends on Sunday 25 October 2026. */
    for (eq_day d = day(2026, 10, 20); d <= day(2026, 10, 29); d++)
        sim_run(&s, &in, p, 2, d, 0);
    cr_assert_gt(s.n, 0);
    for (size_t i = 0; i < s.n; i++) {
        eq_day d;
        int minute;
        eqtime_to_local(s.all[i].planned_at, TZ, &d, &minute);
        cr_assert(campaign_is_send_day(&c, d));
        cr_assert(minute >= 9 * 60 && minute < 11 * 60, "minute %d", minute);
        /* 09:00–11:00 is 07:00–09:00 UTC before, 08:00–10:00 after. */
        eq_time utc0 = eqtime_from_local(d, 0, "UTC");
        eq_time lo = utc0 + (d < day(2026, 10, 25) ? 7 : 8) * 3600;
        cr_assert_geq(s.all[i].planned_at, lo);
        cr_assert_lt(s.all[i].planned_at, lo + 2 * 3600);
    }
    cr_assert_gt(count_on_day(s.all, s.n, day(2026, 10, 22)), 0);
    cr_assert_gt(count_on_day(s.all, s.n, day(2026, 10, 27)), 0);
}

Test(schedule, joiners_wait_for_the_next_period)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 10000; /* everyone eligible, every day */
    c.expected_response_rate = 1.0;
    int64_t a = add_people(SALES, 6);
    person(a + 3)->joined_at = at("2026-10-01T00:00"); /* the period's start */
    person(a + 4)->joined_at = at("2026-10-01T00:00:01");
    person(a + 5)->joined_at = at("2026-11-10T12:00");
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-18T07:30", p, 1);
    in.quiet_period_days = 0;
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert(has_employee(items, n, a + i));
    free(items);

    struct schedule_feasible *f;
    size_t nf;
    struct period per = q4();
    cr_assert_eq(schedule_feasibility(&in, &per, &f, &nf), EQ_OK);
    cr_assert_eq(f[0].eligible, 4);
    free(f);

    /* Tue 5 January 2027 opens Q1: all six. */
    in.now = at("2027-01-05T07:30");
    n = due(&in, &items);
    cr_assert_eq(n, 6);
    free(items);
}

Test(schedule, a_leaver_is_never_invited_after_leaving)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 10000;
    c.expected_response_rate = 1.0;
    int64_t a = add_people(SALES, 10);
    struct schedule_provider p[] = {provider(IT)};
    struct schedule_input in = input(&c, "2026-11-17T07:30", p, 1);
    in.quiet_period_days = 0;
    struct schedule_item *items;
    size_t n = due(&in, &items);
    cr_assert_eq(n, 10);
    free(items);
    person(a + 2)->active = 0; /* org import --prune */
    for (const char *d = "2026-11-18T07:30"; d; d = NULL) {
        in.now = at(d);
        n = due(&in, &items);
        cr_assert_eq(n, 9);
        cr_assert_not(has_employee(items, n, a + 2));
        free(items);
    }
    in.now = at("2027-01-05T07:30");
    n = due(&in, &items);
    cr_assert_not(has_employee(items, n, a + 2));
    free(items);
}

/* --- reminders
 * ----------------------------------------------------------------------
 */

static void
assert_reminder(const struct campaign *c, const char *sent, int n,
                const char *expect)
{
    eq_time got = schedule_reminder_at(c, TZ, at(sent), n);
    if (expect == NULL) {
        cr_assert_eq(got, 0, "sent %s, reminder %d: not none", sent, n);
        return;
    }
    char a[21], b[21];
    eqtime_format_iso(got, a);
    eqtime_format_iso(at(expect), b);
    cr_assert_str_eq(a, b, "sent %s, reminder %d", sent, n);
}

Test(schedule, reminders_come_inside_the_window_on_the_next_send_day)
{
    struct campaign c;
    campaign_fixture(&c); /* after 3 days, at most 1, close after 10 */
    /* Tue + 3 = Friday: wait for Tuesday's window. */
    assert_reminder(&c, "2026-11-17T09:30", 1, "2026-11-24T09:00");
    /* Thu + 3 = Sunday. */
    assert_reminder(&c, "2026-11-19T10:30", 1, "2026-11-24T09:00");
    /* A late send on Monday: Thursday 10:00 is inside the window. */
    assert_reminder(&c, "2026-11-16T10:00", 1, "2026-11-19T10:00");
    /* Sunday noon + 3 = Wednesday 12:00, after the window: Thursday 09:00. */
    assert_reminder(&c, "2026-11-15T12:00", 1, "2026-11-19T09:00");
    /* One reminder only. */
    assert_reminder(&c, "2026-11-17T09:30", 2, NULL);
    assert_reminder(&c, "2026-11-17T09:30", 0, NULL);
}

Test(schedule, reminders_skip_holidays_and_never_come_after_the_close)
{
    struct campaign c;
    eq_day hol[] = {day(2026, 11, 24)};
    campaign_fixture(&c);
    c.holidays = hol;
    c.n_holidays = 1;
    assert_reminder(&c, "2026-11-17T09:30", 1, "2026-11-25T09:00");
    /* Closing after 5 days (Sun 22 Nov 09:30): no send day before that. */
    c.close_after = 5;
    assert_reminder(&c, "2026-11-17T09:30", 1, NULL);
    /* The campaign's end does not cancel a due reminder. */
    c.close_after = 10;
    c.end = day(2026, 11, 19);
    assert_reminder(&c, "2026-11-17T09:30", 1, "2026-11-25T09:00");
    c.reminder_after = 0;
    assert_reminder(&c, "2026-11-17T09:30", 1, NULL);
}

Test(schedule, a_second_reminder_keeps_its_distance_from_the_first)
{
    struct campaign c;
    campaign_fixture(&c);
    c.max_reminders = 2;
    c.close_after = 21;
    /* 1st: Fri → Tue 24 09:00. 2nd: Mon 23 would share that morning; 3
     * days after the 1st is Fri 27 → Tue 1 Dec 09:00. */
    assert_reminder(&c, "2026-11-17T09:30", 1, "2026-11-24T09:00");
    assert_reminder(&c, "2026-11-17T09:30", 2, "2026-12-01T09:00");
    c.close_after = 14; /* closes Tue 1 Dec 09:30: 09:00 still counts */
    assert_reminder(&c, "2026-11-17T09:30", 2, "2026-12-01T09:00");
    c.close_after = 13;
    assert_reminder(&c, "2026-11-17T09:30", 2, NULL);
}

Test(schedule, reminders_keep_the_local_window_across_the_dst_change)
{
    struct campaign c;
    campaign_fixture(&c);
    /* Thu 22 Oct 09:30 CEST + 3 = Sunday after the change → Tue 27 Oct
     * 09:00 CET, which is 08:00 UTC (it was 07:00 UTC the week before). */
    eq_time r = schedule_reminder_at(&c, TZ, at("2026-10-22T09:30"), 1);
    cr_assert_eq(r, at("2026-10-27T08:00:00Z"));
    /* Tue 20 Oct 10:15 CEST + 3 = Fri → Tue 27 09:00 CET. */
    r = schedule_reminder_at(&c, TZ, at("2026-10-20T10:15"), 1);
    cr_assert_eq(r, at("2026-10-27T09:00"));
    /* Mon 19 Oct 10:15 CEST + 3 days = Thu 22 Oct 10:15 CEST (72 h). */
    r = schedule_reminder_at(&c, NULL, at("2026-10-19T10:15"), 1);
    cr_assert_eq(r, at("2026-10-22T10:15"));
}

/* --- crash in the middle of a day
 * -----------------------------------------------------
 */

Test(schedule, a_rerun_after_a_crash_completes_the_day_without_doubles)
{
    struct campaign c;
    campaign_fixture(&c);
    c.target_responses = 400; /* 10 a day: target(21) − target(20) = 10 */
    c.expected_response_rate = 1.0;
    add_people(SALES, 300);
    add_people(OPS, 200);
    struct schedule_provider p[] = {provider(IT), provider(HR)};
    p[0].invited_before_today = 200;
    p[1].invited_before_today = 200;
    struct schedule_input in = input(&c, "2026-11-18T08:00", p, 2);
    struct schedule_item *first, *again;
    size_t n = due(&in, &first);
    cr_assert_eq(n, 20);
    /* The crash: only the first 7 were stored. */
    size_t kept = 7;
    for (size_t i = 0; i < kept; i++) {
        person(first[i].employee_id)->last_invited = first[i].planned_at;
        if (first[i].provider_department_id == IT)
            p[0].planned_today++;
        else
            p[1].planned_today++;
    }
    in.now = at("2026-11-18T09:40");
    size_t m = due(&in, &again);
    cr_assert_eq(m, 13);
    cr_assert_eq(count_provider(again, m, IT) + p[0].planned_today, 10);
    cr_assert_eq(count_provider(again, m, HR) + p[1].planned_today, 10);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < kept; j++)
            cr_assert_neq(again[i].employee_id, first[j].employee_id);
        cr_assert_geq(again[i].planned_at, at("2026-11-18T09:40"));
        cr_assert_lt(again[i].planned_at, at("2026-11-18T11:00"));
    }
    assert_nobody_twice(again, m);
    free(first);
    free(again);
}
