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
 * - Quota: a provider needs schedule_period_need() invitations per period,
 *   spread evenly over the send days left in the period (today included,
 *   never past the campaign's end): quota_today = schedule_quota_today().
 *   Because quota_today subtracts planned_today, calling again on the same
 *   day with the counts fed back plans nothing more (idempotent). On the
 *   period's last send day the quota is everything still missing, so a
 *   period ends on exactly `need` when there are enough people.
 * - Candidates for a provider: active, deliverable, not opted out; in a
 *   customer department (campaign_has_customer) and never in the provider's
 *   own department, whatever the customers list says; not blocked for that
 *   provider; and last invited on a local date at least quiet_period_days
 *   before today (the quiet period counts calendar days, at least 1, so
 *   nobody gets two invitations on one day, also across runs). A person
 *   picked in this run is not a candidate for the providers after it.
 * - Spread: the quota is divided over the customer departments in
 *   proportion to their eligible headcount: each gets the floor or the
 *   ceiling of its exact share quota·size/eligible, by systematic rounding
 *   with a seeded random start, so over a period each department's count is
 *   its exact share on average and results need no weighting. (Largest
 *   remainder rounds the same way every day; with 2–3 invitations a day it
 *   never asks small departments.) Within a department the people invited
 *   longest ago (never invited first) are taken, ties by a seeded random
 *   draw: over time everyone is asked in turn, and the gap between two
 *   invitations of one person is as long as the pool allows.
 * - Order: providers in department_id order, rotated by the date, so no
 *   provider always has first pick of scarce people.
 * - Randomness: splitmix64 seeded from seed, the date and the provider id:
 *   reproducible, and different days pick differently.
 * - planned_at: the day's items in random order at even steps inside the
 *   send window of today (window_start..window_end local, DST-aware); times
 *   already past are simply due. A run after the window's end is late: its
 *   items are planned at `now`, due at once.
 *
 * EQ_ERR_DATA when the campaign's numbers make no sense (response rate not
 * in (0, 1], negative target, window_end < window_start); EQ_ERR_NOMEM.
 */
enum eq_err schedule_due(const struct schedule_input *in,
                         struct schedule_item **out, size_t *n);

/* ceil(target_responses / expected_response_rate) invitations per provider
 * per period, rounded so that 35 / 0.35 is 100, not 101; -1 when the rate is
 * not in (0, 1] or the target is negative. */
int64_t schedule_period_need(const struct campaign *c);

/* Send days from day `from` to `last` inclusive (campaign_is_send_day). */
int schedule_send_days_left(const struct campaign *c, eq_day from, eq_day last);

/* ceil((need − invited_before_today) / days_left) − planned_today, at
 * least 0; days_left < 1 counts as 1. */
int64_t schedule_quota_today(int64_t need, int64_t invited_before_today,
                             int64_t planned_today, int days_left);

#endif
