/*
 * schedule: the rolling scheduler. Given `now`, one campaign, the people and
 * their invitation history, it decides who is invited about which provider
 * today and when. Pure: no store, no clock, no I/O, no global state; the same
 * input always gives the same output.
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include "campaign.h"
#include "eq.h"

struct schedule_employee {
    int64_t id;
    int64_t department_id;
    const char *department_code; /* NULL: in no department, never invited */
    int active, undeliverable, opted_out;
    eq_time last_invited; /* latest planned_at of any invitation, 0 = never */
    eq_time joined_at;    /* first seen in the organisation; 0 = founding
                             member. Joined after the local midnight that
                             opens the current period: not invited (and not
                             counted in the capacity) until the next one. */
};

/* Answered n.v.t. within the last year: don't ask again. */
struct schedule_block {
    int64_t employee_id;
    int64_t provider_department_id;
};

struct schedule_provider {
    int64_t department_id;
    const char *code;
    int64_t invited_before_today; /* this period, planned before today's
                                     local midnight */
    int64_t planned_today;        /* this period, planned today */
};

struct schedule_input {
    const struct campaign *c;
    eq_time now;
    const char *timezone; /* NULL: c->timezone, then "UTC" */
    int quiet_period_days;
    const struct schedule_employee *employees;
    size_t n_employees;
    const struct schedule_provider *providers; /* the departments rated by
                                                  this campaign */
    size_t n_providers;
    const struct schedule_block *blocks;
    size_t n_blocks;
    uint64_t seed;
    /* Fraction of every person's invitations (one per quiet period, across
     * all campaigns) this campaign may count on when it sizes its period;
     * 0 means 1 (the whole). E.g. 1/k with k campaigns asking the same
     * people. Affects only the feasibility cap, never who is quiet. */
    double capacity_share;
};

struct schedule_item {
    int64_t employee_id;
    int64_t provider_department_id;
    eq_time planned_at;
};

/*
 * The invitations to plan now. *out is a malloc'd array sorted by planned_at
 * (free() it), NULL when *n is 0.
 *
 * - Today is the local date of now in the time zone. Not a send day
 *   (campaign_is_send_day: weekday, holiday, start..end) or in no period →
 *   no items.
 * - How many: each provider plans `feasible` invitations in the period
 *   (schedule_feasibility: its need, capped fairly when the people cannot
 *   give that many). With D send days in the period (within start..end),
 *   today the k-th, and F the sum of feasible, the campaign's cumulative
 *   target is T(j) = floor(F·j/D + φ) with a seeded φ ∈ [0, 1) fixed for
 *   the period: its count per send day is the floor or the ceiling of
 *   F/D, so |count − mean| < 1 ≤ 1 + 10 % of the mean. Seats 1 … T(j) are
 *   dealt to the providers by smooth weighted round-robin (weights
 *   feasible, ties in a seeded order fixed for the period): a provider's
 *   cumulative target target(j) never falls behind its exact share
 *   feasible·j/D by a whole invitation, only grows, and is exactly
 *   feasible at j = D. Quota today = target(k) − invited_before_today −
 *   planned_today, at least 0; a provider behind target(k−1) (started
 *   mid-period, people ran short) catches up ceil(behind / send days left)
 *   per day instead of at once, and on the last send day asks for
 *   everything missing. Because the quota subtracts planned_today, a
 *   second call on the same day (also after a crash halfway) plans only
 *   what is missing.
 * - Candidates for a provider: active, deliverable, not opted out; in a
 *   customer department (campaign_has_customer) and never in the provider's
 *   own department, whatever the customers list says; not blocked for that
 *   provider; joined by the period's first local midnight; and last invited
 *   (by any campaign: the caller's last_invited) on a local date at least
 *   quiet_period_days before today (calendar days, at least 1, so nobody
 *   gets two invitations on one day, also across runs). A person picked in
 *   this run is not a candidate for the providers after it.
 * - Spread: the quota is divided over the customer departments in
 *   proportion to their eligible headcount: each gets the floor or the
 *   ceiling of its exact share quota·size/eligible, by systematic rounding
 *   with a seeded random start, so over a period each department's count is
 *   its exact share on average and results need no weighting. (Largest
 *   remainder rounds the same way every day; with 2–3 invitations a day it
 *   never asks small departments.) Within a department the people invited
 *   longest ago (never invited first) are taken, ties by a seeded random
 *   draw (hashed from the employee id, so input order does not matter):
 *   over time everyone is asked in turn, and the gap between two
 *   invitations of one person is as long as the pool allows.
 * - Order: providers in department_id order, rotated by the date, so no
 *   provider always has first pick of scarce people.
 * - Randomness: splitmix64 seeded from seed, the date and the provider id:
 *   reproducible, and different days pick differently.
 * - planned_at: the day's items in random order, one per equal slot of the
 *   rest of today's send window [max(now, window_start), window_end) local
 *   (DST-aware), each at a seeded random second inside its slot: no burst,
 *   nothing outside the window, nothing in the past. A run at or after the
 *   window's end is late: its items are planned at `now`, due at once.
 *
 * EQ_ERR_DATA when the numbers make no sense (response rate not in (0, 1],
 * negative target, window_end < window_start, capacity_share not in
 * [0, 1]); EQ_ERR_NOMEM.
 */
enum eq_err schedule_due(const struct schedule_input *in,
                         struct schedule_item **out, size_t *n);

/* What one provider can get in one period (schedule_feasibility). */
struct schedule_feasible {
    int64_t department_id;
    int64_t need;     /* schedule_period_need() */
    int64_t eligible; /* people who may rate it this period */
    int64_t capacity; /* floor(eligible × slots × share), see below */
    int64_t feasible; /* its fair share: what schedule_due plans */
    double expected_responses; /* feasible × expected_response_rate */
    double nps_margin;         /* 196 / sqrt(expected_responses + 3) */
    int capped;                /* feasible < need */
};

/*
 * Feasibility of period p for the providers of in (in->now, the quiet
 * status and the day counts are not used: the answer is the same all
 * period). *out is a malloc'd array in the order of in->providers (free()
 * it), NULL when *n is 0.
 *
 * - Eligible for a provider: the candidates of schedule_due without the
 *   quiet-period test (active, deliverable, not opted out, a customer of
 *   it, not its own department, not blocked, joined by p's first local
 *   midnight).
 * - Slots: how many invitations one person can give in p, given one per
 *   quiet_period_days Q (≥ 1) across all campaigns: min(0.97 · L / G,
 *   floor((last − first send day) / Q) + 1), where L is the number of
 *   days of p within the campaign's start..end and G the mean, over p's
 *   send days d, of the days from d to the first send weekday (not a
 *   holiday) at least Q days later: Q rounded up to the days mail can go
 *   out, so the rate holds period after period; the 3 % headroom absorbs
 *   people coming free on uneven days (at 100 % the period after a
 *   saturated one runs short, then bunches). Times capacity_share.
 * - Capacity of a provider: floor(eligible × slots × share); of the
 *   campaign: the same over the people eligible for at least one provider.
 *   (People shared by providers are counted once in the total, which is
 *   the binding limit; the exact assignment would be a flow problem.)
 * - feasible: water-filling. Each provider's cap is min(need, capacity);
 *   when the caps together exceed the campaign's capacity, every provider
 *   gets the same level, a provider whose cap is below it keeps its cap,
 *   and the remainder of the integer division goes one each to providers
 *   drawn by the seed and the period. Otherwise feasible = need.
 * - nps_margin: the half-width, in NPS points, of DESIGN.md's adjusted-Wald
 *   95 % interval for n = expected_responses at its widest, p₊ = p₋ = ½
 *   (var = 1/(n + 3)): 1.96·√var·100 — a conservative ± for planning.
 *
 * EQ_ERR_DATA as schedule_due; EQ_ERR_NOMEM.
 */
enum eq_err schedule_feasibility(const struct schedule_input *in,
                                 const struct period *p,
                                 struct schedule_feasible **out, size_t *n);

/*
 * When the n-th reminder (n ≥ 1) of an invitation sent at sent_at is due:
 * the first moment inside the send window (local in tz; NULL: the
 * campaign's zone, then UTC) on a send weekday that is not a holiday, at or
 * after the same local clock time n·reminder_after calendar days later —
 * and at least reminder_after days after reminder n−1, so a first reminder
 * pushed past a weekend does not land on the second's morning.
 * The campaign's start/end do not matter: an invitation sent on the last
 * day still gets its reminder. 0 when there is none: n < 1, n >
 * max_reminders, reminder_after < 1, or the moment is not before the
 * invitation's close, sent_at + close_after·86400 s (run's closes_at).
 */
eq_time schedule_reminder_at(const struct campaign *c, const char *tz,
                             eq_time sent_at, int n);

/* ceil(target_responses / expected_response_rate) invitations per provider
 * per period, rounded so that 35 / 0.35 is 100, not 101; -1 when the rate is
 * not in (0, 1] or the target is negative. */
int64_t schedule_period_need(const struct campaign *c);

/* Send days from day `from` to `last` inclusive (campaign_is_send_day). */
int schedule_send_days_left(const struct campaign *c, eq_day from, eq_day last);

/* ceil((need − invited_before_today) / days_left) − planned_today, at
 * least 0; days_left < 1 counts as 1. (The front-loading rule of before
 * the cumulative target; schedule_due uses it only for catching up.) */
int64_t schedule_quota_today(int64_t need, int64_t invited_before_today,
                             int64_t planned_today, int days_left);

#endif
