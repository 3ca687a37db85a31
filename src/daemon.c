/*
 * daemon: one loop over a monotonic clock. Each turn it handles a reload
 * request, (re)connects what is missing, runs a full tick when one is due or
 * an ingest when mail was announced, and then waits — on the source (IMAP
 * IDLE, inotify) when it can, else on the wake fd alone — until the next
 * tick, a reconnect, new mail or a signal.
 */
#include "daemon.h"

#include "eqtime.h"
#include "log.h"
#include "template.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t
real_mono_ms(void *arg)
{
    (void)arg;
    return eqtime_mono_ms();
}

static eq_time
real_now(void *arg)
{
    (void)arg;
    return (eq_time)time(NULL);
}

static enum eq_err
real_open_source(void *arg, const struct eq_config *cfg, struct source **out,
                 struct eq_buf *diag)
{
    (void)arg;
    return source_open(cfg, out, diag);
}

static enum eq_err
real_open_transport(void *arg, const struct eq_config *cfg,
                    struct transport **out, struct eq_buf *diag)
{
    (void)arg;
    return transport_open(cfg, out, diag);
}

static enum eq_err
real_tick(void *arg, const struct run_ctx *ctx, unsigned steps,
          struct run_summary *sum, struct eq_buf *diag)
{
    (void)arg;
    return run_tick(ctx, steps, sum, diag);
}

static void
real_sleep(void *arg, int wake_fd, int ms)
{
    struct pollfd p = {.fd = wake_fd, .events = POLLIN};
    (void)arg;
    /* EINTR is a wake-up too: the loop looks at its flags again. */
    poll(&p, wake_fd >= 0 ? 1 : 0, ms);
}

const struct daemon_hooks daemon_default_hooks = {
    .mono_ms = real_mono_ms,
    .now = real_now,
    .open_source = real_open_source,
    .open_transport = real_open_transport,
    .tick = real_tick,
    .sleep = real_sleep,
    .arg = NULL,
};

/* Each line of diag as its own log line. */
static void
log_lines(enum log_level level, const char *prefix, struct eq_buf *diag)
{
    const char *p = buf_str(diag);
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (n > 0)
            log_msg(level, "%s%.*s", prefix, (int)n, p);
        p += n + (p[n] == '\n');
    }
    buf_reset(diag);
}

static void
drain(int fd)
{
    char b[64];
    if (fd < 0)
        return;
    while (read(fd, b, sizeof b) > 0)
        ;
}

static int64_t
grow_backoff(int64_t ms)
{
    ms *= 2;
    return ms > DAEMON_BACKOFF_MAX_MS ? DAEMON_BACKOFF_MAX_MS : ms;
}

static void
tick(struct daemon *d, const struct daemon_hooks *h, unsigned steps,
     struct transport *tx, struct source *src, uint64_t seed)
{
    struct run_ctx ctx = {.st = d->st,
                          .cfg = *d->cfg,
                          .campaigns = *d->camps,
                          .n_campaigns = *d->n_camps,
                          .tx = tx,
                          .src = src,
                          .now = h->now(h->arg),
                          .seed = seed,
                          .stop = &d->stop};
    struct run_summary sum, zero;
    struct eq_buf dg = {0}, line = {0}, idle_line = {0};
    const char *what = steps == RUN_ALL ? "tick" : "ingest";
    enum eq_err err;

    memset(&sum, 0, sizeof sum);
    memset(&zero, 0, sizeof zero);
    err = h->tick(h->arg, &ctx, steps, &sum, &dg);
    d->n_ticks++;
    if (steps == RUN_INGEST)
        d->n_ingests++;
    run_summary_format(&sum, &line);
    run_summary_format(&zero, &idle_line);
    /* run_tick logs its own summary line at info. */
    log_msg(LOG_DEBUG, "daemon %s: %s", what, buf_str(&line));
    if (err != EQ_OK) {
        log_lines(LOG_ERROR, "", &dg);
        log_msg(LOG_ERROR, "%s failed: %s", what, eq_strerror(err));
    } else {
        log_lines(LOG_WARN, "", &dg); /* e.g. permanent failures */
    }
    /* `status` shows the last runs; a quiet minute is not one. */
    if (err != EQ_OK || strcmp(buf_str(&line), buf_str(&idle_line)) != 0)
        store_run_log(d->st, steps == RUN_ALL ? "daemon" : "daemon ingest",
                      ctx.now, h->now(h->arg), err == EQ_OK, buf_str(&line));
    buf_free(&dg);
    buf_free(&line);
    buf_free(&idle_line);
}

static enum eq_err
load_new(const struct daemon *d, struct eq_config **cfg,
         struct campaign ***camps, size_t *n, struct eq_buf *diag)
{
    enum eq_err err;
    *cfg = NULL;
    *camps = NULL;
    *n = 0;
    if ((err = config_load(d->config_path, cfg, diag)) != EQ_OK)
        return err;
    err = campaign_load_dir((*cfg)->general.campaigns, (*cfg)->general.timezone,
                            camps, n, diag);
    if (err != EQ_OK) {
        config_free(*cfg);
        *cfg = NULL;
    }
    return err;
}

/* Nothing may still point into the old config (sources and transports keep
 * pointers to it): the caller closes them first. */
static void
swap_in(struct daemon *d, struct eq_config *cfg, struct campaign **camps,
        size_t n)
{
    if (strcmp(cfg->general.database, (*d->cfg)->general.database) != 0)
        log_msg(LOG_WARN,
                "reload: database changed to %s; still using %s until a "
                "restart",
                cfg->general.database, (*d->cfg)->general.database);
    config_free(*d->cfg);
    *d->cfg = cfg;
    campaign_free_all(*d->camps, *d->n_camps);
    *d->camps = camps;
    *d->n_camps = n;
    template_cache_clear(); /* the templates may have changed too */
    d->n_reloads++;
}

enum eq_err
daemon_reload(struct daemon *d, struct eq_buf *diag)
{
    struct eq_config *cfg;
    struct campaign **camps;
    size_t n;
    enum eq_err err = load_new(d, &cfg, &camps, &n, diag);
    if (err == EQ_OK)
        swap_in(d, cfg, camps, n);
    return err;
}

enum eq_err
daemon_run(struct daemon *d, struct eq_buf *diag)
{
    const struct daemon_hooks *h = d->hooks ? d->hooks : &daemon_default_hooks;
    struct source *src = NULL;
    struct transport *tx = NULL;
    struct eq_buf dg = {0};
    uint64_t seed;
    int64_t backoff = DAEMON_BACKOFF_MIN_MS, src_retry, tx_retry, next_tick;
    int can_wait = 1, ingest_due = 0;
    enum eq_err err;

    if ((err = store_seed(d->st, &seed)) != EQ_OK) {
        eq_diag(diag, "daemon: cannot read the database's seed");
        return err;
    }
    next_tick = src_retry = tx_retry = h->mono_ms(h->arg);
    log_msg(LOG_INFO, "daemon: started (%zu campaigns)", *d->n_camps);
    while (!d->stop) {
        int64_t t;
        if (d->reload) {
            struct eq_config *cfg;
            struct campaign **camps;
            size_t n;
            d->reload = 0;
            if (load_new(d, &cfg, &camps, &n, &dg) != EQ_OK) {
                log_lines(LOG_ERROR, "reload: ", &dg);
                log_msg(LOG_ERROR,
                        "reload failed: keeping the previous "
                        "configuration and %zu campaigns",
                        *d->n_camps);
            } else {
                source_close(src);
                transport_close(tx);
                src = NULL;
                tx = NULL;
                swap_in(d, cfg, camps, n);
                log_msg(LOG_INFO, "reload: %s and %zu campaigns read",
                        (*d->cfg)->path, n);
                src_retry = tx_retry = h->mono_ms(h->arg);
                backoff = DAEMON_BACKOFF_MIN_MS;
                can_wait = 1;
            }
        }
        t = h->mono_ms(h->arg);
        if (!src && t >= src_retry) {
            if (h->open_source(h->arg, *d->cfg, &src, &dg) == EQ_OK) {
                d->n_connects++;
                can_wait = 1;
                ingest_due = 2; /* what arrived while we were away */
            } else {
                src = NULL;
                log_lines(LOG_ERROR, "incoming mail: ", &dg);
                log_msg(LOG_WARN, "incoming mail: trying again in %lld s",
                        (long long)(backoff / 1000));
                src_retry = t + backoff;
                backoff = grow_backoff(backoff);
            }
        }
        if (!tx && t >= tx_retry) {
            if (h->open_transport(h->arg, *d->cfg, &tx, &dg) != EQ_OK) {
                tx = NULL;
                log_lines(LOG_ERROR, "outgoing mail: ", &dg);
                tx_retry = t + DAEMON_TICK_MS;
            }
        }
        if (t >= next_tick) {
            tick(d, h, RUN_ALL, tx, src, seed);
            ingest_due = 0;
            /* From the tick's end: a slow tick is not followed by a
             * burst of catch-up ticks. */
            next_tick = h->mono_ms(h->arg) + DAEMON_TICK_MS;
        } else if (ingest_due && src) {
            log_msg(LOG_INFO, "daemon: %s; reading it",
                    ingest_due == 2 ? "connected to incoming mail"
                                    : "new mail announced");
            tick(d, h, RUN_INGEST, tx, src, seed);
            ingest_due = 0;
        }
        if (d->stop)
            break;
        t = h->mono_ms(h->arg);
        int64_t until = next_tick;
        if (!src && src_retry < until)
            until = src_retry;
        int ms = until > t ? (int)(until - t) : 0;
        if (d->reload)
            ms = 0;
        if (src && can_wait && ms > 0) {
            int arrived = 0;
            err = source_wait(src, d->wake_fd, ms, &arrived);
            if (err == EQ_OK) {
                backoff = DAEMON_BACKOFF_MIN_MS; /* the connection held */
                if (arrived)
                    ingest_due = 1;
            } else if (err == EQ_ERR_UNAVAILABLE) {
                can_wait = 0;
                log_msg(LOG_INFO, "incoming mail: the source cannot announce "
                                  "new mail; reading it every minute");
            } else {
                source_close(src);
                src = NULL;
                log_msg(LOG_WARN, "incoming mail: %s; reconnecting in %lld s",
                        eq_strerror(err), (long long)(backoff / 1000));
                src_retry = h->mono_ms(h->arg) + backoff;
                backoff = grow_backoff(backoff);
            }
        } else if (ms > 0) {
            h->sleep(h->arg, d->wake_fd, ms);
        }
        drain(d->wake_fd);
    }
    source_close(src);
    transport_close(tx);
    buf_free(&dg);
    log_msg(LOG_INFO, "daemon: stopped after %zu ticks", d->n_ticks);
    return EQ_OK;
}

/* ---- signals ------------------------------------------------------------ */

static struct daemon *sig_daemon;
static int sig_fd = -1;

static void
on_signal(int sig)
{
    int saved = errno;
    if (sig_daemon) {
        if (sig == SIGHUP)
            sig_daemon->reload = 1;
        else
            sig_daemon->stop = 1;
    }
    if (sig_fd >= 0) {
        ssize_t r = write(sig_fd, "x", 1);
        (void)r; /* a full pipe already wakes the loop */
    }
    errno = saved;
}

static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};

enum eq_err
daemon_signals_open(struct daemon_signals *ds, struct daemon *d,
                    struct eq_buf *diag)
{
    memset(ds, 0, sizeof *ds);
    if (pipe2(ds->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        eq_diag(diag, "daemon: pipe: %s", strerror(errno));
        return EQ_ERR_IO;
    }
    sig_daemon = d;
    sig_fd = ds->pipe[1];
    d->wake_fd = ds->pipe[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Reads inside libcurl and libetpan carry on; poll() still returns. */
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &sa, &ds->old[i]);
    ds->installed = 1;
    return EQ_OK;
}

void
daemon_signals_close(struct daemon_signals *ds)
{
    if (!ds->installed)
        return;
    for (int i = 0; i < 3; i++)
        sigaction(sigs[i], &ds->old[i], NULL);
    sig_daemon = NULL;
    sig_fd = -1;
    close(ds->pipe[0]);
    close(ds->pipe[1]);
    ds->installed = 0;
}
