/*
 * run: one tick of the whole loop — schedule the invitations due, send them
 * and the reminders, ingest replies, expire what closed and send the period
 * digests that are due. It wires the pure modules to the store, the
 * transport and the source it is given; it never reads the clock itself.
 */
#ifndef RUN_H
#define RUN_H

#include <signal.h>

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "ingest.h"
#include "schedule.h"
#include "source.h"
#include "store.h"
#include "transport.h"

enum run_step {
    RUN_SCHEDULE = 1 << 0,
    RUN_SEND = 1 << 1,
    RUN_INGEST = 1 << 2,
    RUN_EXPIRE = 1 << 3,
    RUN_DIGEST = 1 << 4,
    RUN_ALL = 0x1f
};

struct run_ctx {
    struct store *st;
    const struct eq_config *cfg;
    struct campaign **campaigns;
    size_t n_campaigns;
    struct transport *tx; /* needed for RUN_SEND and RUN_DIGEST */
    struct source *src;   /* needed for RUN_INGEST */
    eq_time now;
    uint64_t seed; /* store_seed(): the same choices in `plan` and `run` */
    /* Optional (the daemon's SIGTERM): when *stop becomes non-zero, send
     * and ingest finish the mail in flight and return early; the rest waits
     * for the next run. */
    const volatile sig_atomic_t *stop;
    /* Optional: called after each batch of mail, for a progress bar. */
    void (*progress)(void *arg, size_t done, size_t total);
    void *progress_arg;
};

struct run_summary {
    size_t planned, sent, deferred, failed, reminded, expired, digests;
    size_t notices; /* "you said, we did" mails to raters */
    struct ingest_summary in;
};

enum eq_err run_tick(const struct run_ctx *ctx, unsigned steps,
                     struct run_summary *sum, struct eq_buf *diag);
/* Steps one by one, for the `send`, `ingest` and `digest` commands. */
enum eq_err run_schedule(const struct run_ctx *ctx, struct run_summary *sum,
                         struct eq_buf *diag);
enum eq_err run_send(const struct run_ctx *ctx, struct run_summary *sum,
                     struct eq_buf *diag);
enum eq_err run_expire(const struct run_ctx *ctx, struct run_summary *sum,
                       struct eq_buf *diag);
/* What one provider of a campaign can get in the period of day (see
 * schedule_feasibility), with its names. */
struct run_feasible {
    struct schedule_feasible f;
    char period[16];
    char code[64];
    char name[128];
};
enum eq_err run_feasibility(const struct run_ctx *ctx, const struct campaign *c,
                            eq_day day, struct run_feasible **out, size_t *n,
                            struct eq_buf *diag);

/* `plan`: schedules day by day from..to (local dates) as `run` would, on
 * ctx->st — which must be a throw-away copy (store_snapshot) — and returns
 * the invitations so planned, oldest first. */
enum eq_err run_plan(const struct run_ctx *ctx, eq_day from, eq_day to,
                     struct store_invitation **out, size_t *n,
                     struct eq_buf *diag);
/* One line for logs and `status`: "planned 5, sent 5, …". */
void run_summary_format(const struct run_summary *sum, struct eq_buf *out);

#endif
