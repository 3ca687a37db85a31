/*
 * store_ops: the store's answers for the operator — what `status` shows
 * (today's queue, a period's counts by state, the last runs, the mailbox
 * checkpoints, Review items, what a period's digest still waits for) and
 * what the run log lines name. Read-only queries with counts and ids: never
 * answers, comments or secrets. SQL stays in store_ops.c.
 */
#ifndef STORE_OPS_H
#define STORE_OPS_H

#include "eq.h"
#include "store.h"

/* The send queue: planned invitations due before `until` (the end of
 * today) and later ones, deferred ones with their earliest retry, and
 * those handed over but not confirmed (sending). */
struct store_ops_queue {
    int64_t planned_due, planned_later;
    int64_t deferred;
    eq_time next_retry; /* 0 when nothing is deferred */
    int64_t sending;
    eq_time next_planned; /* earliest planned_at of planned ones, or 0 */
};
enum eq_err store_ops_queue(struct store *st, eq_time until,
                            struct store_ops_queue *out);

/* Invitations of one period by state, and how many went out (sent_at
 * set, whatever happened after: answered, bounced, expired, …). */
struct store_ops_counts {
    int64_t by_state[INV__COUNT];
    int64_t delivered;
    int64_t total;
};
enum eq_err store_ops_period_counts(struct store *st, int64_t period_id,
                                    struct store_ops_counts *out);

/* The periods of the campaign named name (none when it never ran), oldest
 * first; free with free(). */
enum eq_err store_ops_periods(struct store *st, const char *campaign,
                              struct store_period **out, size_t *n);

/* What a period's digest waits for: invitations still open at now
 * (planned, sending, sent, reminded, deferred with closes_at > now) and the
 * latest closes_at of those not cancelled (0 when none). */
enum eq_err store_ops_period_close(struct store *st, int64_t period_id,
                                   eq_time now, int64_t *open,
                                   eq_time *last_close);

/* A row of run_log; id 0 when there is none. */
struct store_ops_run {
    int64_t id;
    char *command;
    eq_time started, finished;
    int ok;
    char *summary;
};
/* The latest run, the latest failed one, and how many runs failed since
 * the last good one. */
enum eq_err store_ops_runs(struct store *st, struct store_ops_run *last,
                           struct store_ops_run *last_failed,
                           int64_t *failed_since_ok);
void store_ops_run_clear(struct store_ops_run *r);

/* Where reading each mailbox resumes (table mailbox), by name. */
struct store_ops_mailbox {
    char *name;
    uint32_t uidvalidity, last_uid;
    eq_time updated;
};
enum eq_err store_ops_mailboxes(struct store *st,
                                struct store_ops_mailbox **out, size_t *n);
void store_ops_mailboxes_free(struct store_ops_mailbox *m, size_t n);

/* Inbound mail waiting in Review: how many, and since when (0 if none). */
enum eq_err store_ops_review(struct store *st, int64_t *n, eq_time *oldest);

/* The digests of campaign logged at exactly `at` (one tick's work): the
 * period label and the recipient's department code, NULL for the
 * organisation-wide (HR) digest. For log lines; no addresses. */
struct store_ops_digest {
    char *period;
    char *department;
};
enum eq_err store_ops_digests_at(struct store *st, const char *campaign,
                                 eq_time at, struct store_ops_digest **out,
                                 size_t *n);
void store_ops_digests_free(struct store_ops_digest *d, size_t n);

#endif
