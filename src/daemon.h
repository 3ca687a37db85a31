/*
 * daemon: the long-running loop of `enquete daemon` — a full tick every
 * minute, an ingest as soon as the source reports new mail (IMAP IDLE),
 * reconnects with backoff, a clean stop on SIGTERM/SIGINT and a reload of
 * config and campaigns on SIGHUP. Clock, mail I/O and the tick come in as
 * hooks; it never prints (log only) and never takes the run lock itself.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <signal.h>

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "run.h"
#include "source.h"
#include "store.h"
#include "transport.h"

#define DAEMON_TICK_MS 60000         /* schedule/send/digest/expire */
#define DAEMON_BACKOFF_MIN_MS 1000   /* first reconnect delay */
#define DAEMON_BACKOFF_MAX_MS 300000 /* 5 minutes */

struct daemon_hooks {
    /* A monotonic clock in milliseconds, and the wall clock for ticks. */
    int64_t (*mono_ms)(void *arg);
    eq_time (*now)(void *arg);
    enum eq_err (*open_source)(void *arg, const struct eq_config *cfg,
                               struct source **out, struct eq_buf *diag);
    enum eq_err (*open_transport)(void *arg, const struct eq_config *cfg,
                                  struct transport **out, struct eq_buf *diag);
    enum eq_err (*tick)(void *arg, const struct run_ctx *ctx, unsigned steps,
                        struct run_summary *sum, struct eq_buf *diag);
    /* Blocks until wake_fd (may be -1) is readable or ms pass. */
    void (*sleep)(void *arg, int wake_fd, int ms);
    void *arg;
};

/* The real clock, source_open, transport_open, run_tick and poll(). */
extern const struct daemon_hooks daemon_default_hooks;

struct daemon {
    struct store *st;
    /* Owned by the caller; a successful reload frees the old ones and
     * stores the new ones here. */
    struct eq_config **cfg;
    struct campaign ***camps;
    size_t *n_camps;
    const char *config_path; /* what SIGHUP reads again */
    int wake_fd;             /* readable when a flag below was set; -1 */
    const struct daemon_hooks *hooks; /* NULL: daemon_default_hooks */
    /* Set by the signal handlers (or a test); read between steps. */
    volatile sig_atomic_t stop, reload;
    /* Counters for tests and the final log line. */
    size_t n_ticks, n_ingests, n_reloads, n_connects;
};

/* Runs until d->stop; EQ_OK then. Errors of a tick or of the mailboxes are
 * logged and retried, never returned; only a failing store setup is. */
enum eq_err daemon_run(struct daemon *d, struct eq_buf *diag);

/* Reads config and campaigns again (what SIGHUP does). A broken file keeps
 * the old ones and returns its error with "FILE:LINE: message" in diag. */
enum eq_err daemon_reload(struct daemon *d, struct eq_buf *diag);

/* Self-pipe and handlers: SIGTERM/SIGINT set d->stop, SIGHUP d->reload, and
 * each writes a byte to the pipe whose read end becomes d->wake_fd. The
 * handlers do nothing else. */
struct daemon_signals {
    int pipe[2];
    struct sigaction old[3];
    int installed;
};
enum eq_err daemon_signals_open(struct daemon_signals *ds, struct daemon *d,
                                struct eq_buf *diag);
void daemon_signals_close(struct daemon_signals *ds);

#endif
