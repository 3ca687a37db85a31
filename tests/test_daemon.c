/* The daemon loop with a fake clock, a fake source and a recording tick:
 * when it ticks, when it ingests, how it reconnects, what SIGHUP and SIGTERM
 * do. No network; the store and config are real files in a scratch dir. */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign.h"
#include "config.h"
#include "daemon.h"
#include "helpers.h"
#include "store.h"

#define MAXREC 64

struct fake {
    int64_t clock, stop_at;
    struct daemon *d;
    /* ticks */
    size_t n_ticks;
    int64_t tick_at[MAXREC];
    unsigned tick_steps[MAXREC];
    size_t tick_camps[MAXREC];
    int tick_had_src[MAXREC];
    /* open_source */
    size_t n_opens;
    int64_t open_at[MAXREC];
    int open_fails; /* this many opens fail, then they succeed */
    /* the source's wait(): -1 no IDLE; else mail at these times */
    int can_wait;
    int64_t mail_at[4];
    size_t n_mail;
    int fail_first_wait;
    size_t n_waits;
    /* run inside the tick hook at tick number k (1-based), if set */
    void (*on_tick)(struct fake *f, size_t k);
};

static struct fake *F;

static void
check_stop(struct fake *f)
{
    if (f->clock >= f->stop_at)
        f->d->stop = 1;
}

static int64_t
fake_mono(void *arg)
{
    return ((struct fake *)arg)->clock;
}

static eq_time
fake_now(void *arg)
{
    /* 2026-11-03T09:00:00Z plus the fake clock */
    return (eq_time)1793696400 + ((struct fake *)arg)->clock / 1000;
}

static void
fake_sleep(void *arg, int wake_fd, int ms)
{
    struct fake *f = arg;
    (void)wake_fd;
    f->clock += ms;
    check_stop(f);
}

static enum eq_err
fake_next(struct source *s, struct source_msg *out)
{
    (void)s;
    memset(out, 0, sizeof *out);
    return EQ_ERR_NOTFOUND;
}

static enum eq_err
fake_done(struct source *s, const struct source_msg *m, enum source_folder f)
{
    (void)s;
    (void)m;
    (void)f;
    return EQ_OK;
}

static enum eq_err
fake_wait(struct source *s, int wake_fd, int timeout_ms, int *arrived)
{
    struct fake *f = F;
    (void)s;
    (void)wake_fd;
    *arrived = 0;
    f->n_waits++;
    if (f->fail_first_wait && f->n_waits == 1) {
        f->clock += 2000; /* the server went away two seconds in */
        return EQ_ERR_TEMP;
    }
    int64_t end = f->clock + timeout_ms;
    for (size_t i = 0; i < f->n_mail; i++) {
        if (f->mail_at[i] > f->clock && f->mail_at[i] <= end) {
            f->clock = f->mail_at[i];
            *arrived = 1;
            check_stop(f);
            return EQ_OK;
        }
    }
    f->clock = end;
    check_stop(f);
    return EQ_OK;
}

static void
fake_close(struct source *s)
{
    (void)s; /* static */
}

static const struct source_ops waiting_ops = {.name = "fake",
                                              .next = fake_next,
                                              .done = fake_done,
                                              .wait = fake_wait,
                                              .close = fake_close};
static const struct source_ops polled_ops = {.name = "fake-poll",
                                             .next = fake_next,
                                             .done = fake_done,
                                             .close = fake_close};
static struct source waiting_src = {.ops = &waiting_ops};
static struct source polled_src = {.ops = &polled_ops};

static enum eq_err
fake_open_source(void *arg, const struct eq_config *cfg, struct source **out,
                 struct eq_buf *diag)
{
    struct fake *f = arg;
    (void)cfg;
    if (f->n_opens < MAXREC)
        f->open_at[f->n_opens] = f->clock;
    f->n_opens++;
    if (f->open_fails > 0) {
        f->open_fails--;
        eq_diag(diag, "imap test:143: connect failed: connection refused");
        return EQ_ERR_TEMP;
    }
    *out = f->can_wait ? &waiting_src : &polled_src;
    return EQ_OK;
}

static enum eq_err
fake_open_transport(void *arg, const struct eq_config *cfg,
                    struct transport **out, struct eq_buf *diag)
{
    (void)arg;
    (void)cfg;
    (void)diag;
    *out = transport_capture_new();
    return *out ? EQ_OK : EQ_ERR_NOMEM;
}

static enum eq_err
fake_tick(void *arg, const struct run_ctx *ctx, unsigned steps,
          struct run_summary *sum, struct eq_buf *diag)
{
    struct fake *f = arg;
    (void)sum;
    (void)diag;
    size_t k = f->n_ticks++;
    if (k < MAXREC) {
        f->tick_at[k] = f->clock;
        f->tick_steps[k] = steps;
        f->tick_camps[k] = ctx->n_campaigns;
        f->tick_had_src[k] = ctx->src != NULL;
    }
    if (f->on_tick)
        f->on_tick(f, k + 1);
    return EQ_OK;
}

static const struct daemon_hooks fake_hooks = {
    .mono_ms = fake_mono,
    .now = fake_now,
    .open_source = fake_open_source,
    .open_transport = fake_open_transport,
    .tick = fake_tick,
    .sleep = fake_sleep,
};

static struct eq_config *cfg;
static struct campaign **camps;
static size_t n_camps;
static struct store *st;
static char cfg_path[256];
static struct daemon_hooks hooks;
static struct fake fk;
static struct daemon dm;

static void
setup(void)
{
    const char *dir = th_tmpdir("daemon");
    char p[512];
    struct eq_buf diag = {0};
    snprintf(cfg_path, sizeof cfg_path, "%s/config.ini", dir);
    th_write(cfg_path, "[general]\n"
                       "database = db/enquete.db\n"
                       "from = HR <hr@org.example>\n"
                       "reply_address = enquete@org.example\n"
                       "[smtp]\nurl = maildir:out\n"
                       "[imap]\nurl = maildir:in\n");
    snprintf(p, sizeof p, "%s/campaigns", dir);
    cr_assert_eq(mkdir(p, 0700), 0);
    th_put("campaigns/a.ini",
           "[campaign]\nmetrics = nps\nstart = 2026-11-02\n");
    cr_assert_eq(config_load(cfg_path, &cfg, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    cr_assert_eq(campaign_load_dir(cfg->general.campaigns,
                                   cfg->general.timezone, &camps, &n_camps,
                                   &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(store_open(cfg->general.database, &st, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    buf_free(&diag);

    memset(&fk, 0, sizeof fk);
    memset(&dm, 0, sizeof dm);
    F = &fk;
    fk.d = &dm;
    fk.stop_at = 1000000000;
    fk.can_wait = 1;
    hooks = fake_hooks;
    hooks.arg = &fk;
    dm.st = st;
    dm.cfg = &cfg;
    dm.camps = &camps;
    dm.n_camps = &n_camps;
    dm.config_path = cfg_path;
    dm.wake_fd = -1;
    dm.hooks = &hooks;
}

static void
teardown(void)
{
    store_close(st);
    campaign_free_all(camps, n_camps);
    config_free(cfg);
    th_rmtmp();
}

TestSuite(daemon, .init = setup, .fini = teardown);

Test(daemon, ticks_everything_at_start_and_then_every_minute)
{
    fk.can_wait = 0; /* no IDLE: the minute tick is the poll */
    fk.stop_at = 185000;
    cr_assert_eq(daemon_run(&dm, NULL), EQ_OK);
    cr_assert_eq(fk.n_ticks, 4);
    const int64_t want[] = {0, 60000, 120000, 180000};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(fk.tick_at[i], want[i], "tick %zu at %lld", i,
                     (long long)fk.tick_at[i]);
        cr_assert_eq(fk.tick_steps[i], RUN_ALL);
        cr_assert(fk.tick_had_src[i]);
    }
    cr_assert_eq(fk.n_opens, 1);
}

Test(daemon, ingests_as_soon_as_the_source_announces_mail)
{
    fk.mail_at[0] = 5000;
    fk.mail_at[1] = 70500;
    fk.n_mail = 2;
    fk.stop_at = 100000;
    cr_assert_eq(daemon_run(&dm, NULL), EQ_OK);
    cr_assert_eq(fk.n_ticks, 4);
    cr_assert_eq(fk.tick_at[0], 0);
    cr_assert_eq(fk.tick_steps[0], RUN_ALL);
    cr_assert_eq(fk.tick_at[1], 5000);
    cr_assert_eq(fk.tick_steps[1], RUN_INGEST);
    cr_assert_eq(fk.tick_at[2], 60000);
    cr_assert_eq(fk.tick_steps[2], RUN_ALL);
    cr_assert_eq(fk.tick_at[3], 70500);
    cr_assert_eq(fk.tick_steps[3], RUN_INGEST);
    cr_assert_eq(dm.n_ingests, 2);
}

Test(daemon, reconnects_with_doubling_backoff_up_to_five_minutes)
{
    fk.open_fails = 1000;
    fk.stop_at = 900000;
    cr_assert_eq(daemon_run(&dm, NULL), EQ_OK);
    /* Gaps 1, 2, 4, … 256 s, then 300 s (the cap). */
    const int64_t want[] = {0,     1000,   3000,   7000,   15000, 31000,
                            63000, 127000, 255000, 511000, 811000};
    cr_assert_geq(fk.n_opens, 11);
    for (size_t i = 0; i < 11; i++)
        cr_assert_eq(fk.open_at[i], want[i], "open %zu at %lld", i,
                     (long long)fk.open_at[i]);
    /* The minute ticks go on without incoming mail. */
    cr_assert_geq(fk.n_ticks, 15);
    cr_assert_eq(fk.tick_at[1], 60000);
    cr_assert(!fk.tick_had_src[0]);
}

Test(daemon, lost_connection_is_reopened_and_read_at_once)
{
    fk.fail_first_wait = 1;
    fk.stop_at = 30000;
    cr_assert_eq(daemon_run(&dm, NULL), EQ_OK);
    /* Lost at 2 s, reopened 1 s later, and what came meanwhile is read. */
    cr_assert_eq(fk.n_opens, 2);
    cr_assert_eq(fk.open_at[1], 3000);
    cr_assert_eq(fk.n_ticks, 2);
    cr_assert_eq(fk.tick_at[1], 3000);
    cr_assert_eq(fk.tick_steps[1], RUN_INGEST);
    cr_assert_eq(dm.n_connects, 2);
}

static void
reload_script(struct fake *f, size_t k)
{
    if (k == 1) {
        /* Broken on line 3: not a number. */
        th_put("campaigns/b.ini", "[campaign]\nmetrics = nps\n"
                                  "target_responses = many\n"
                                  "start = 2026-11-02\n");
        f->d->reload = 1;
    } else if (k == 2) {
        th_put("campaigns/b.ini",
               "[campaign]\nmetrics = nps\nstart = 2026-11-02\n");
        f->d->reload = 1;
    } else {
        f->d->stop = 1;
    }
}

Test(daemon, reload_keeps_the_old_campaigns_when_a_file_is_broken)
{
    struct campaign *first = camps[0];
    fk.on_tick = reload_script;
    cr_assert_eq(daemon_run(&dm, NULL), EQ_OK);
    cr_assert_eq(fk.n_ticks, 3);
    cr_assert_eq(fk.tick_camps[0], 1);
    cr_assert_eq(fk.tick_camps[1], 1, "a broken file changed the campaigns");
    cr_assert_eq(fk.tick_camps[2], 2, "a fixed file was not read");
    cr_assert_eq(dm.n_reloads, 1);
    cr_assert_eq(n_camps, 2);
    cr_assert_str_eq(camps[0]->name, "a");
    cr_assert_str_eq(camps[1]->name, "b");
    cr_assert_neq(camps[0], first);
    /* The source was reopened on the new configuration. */
    cr_assert_eq(fk.n_opens, 2);
}

Test(daemon, reload_reports_file_and_line_of_a_broken_campaign)
{
    struct eq_buf diag = {0};
    struct campaign *first = camps[0];
    const char *bad = th_put("campaigns/b.ini", "[campaign]\nmetrics = nps\n"
                                                "target_responses = many\n");
    cr_assert_neq(daemon_reload(&dm, &diag), EQ_OK);
    th_assert_has(&diag, bad);
    th_assert_has(&diag, ":3: ");
    cr_assert_eq(n_camps, 1);
    cr_assert_eq(camps[0], first);
    buf_free(&diag);
}

Test(daemon, signals_set_flags_and_wake_the_loop)
{
    struct daemon_signals ds;
    struct pollfd p;
    cr_assert_eq(daemon_signals_open(&ds, &dm, NULL), EQ_OK);
    cr_assert_geq(dm.wake_fd, 0);
    raise(SIGHUP);
    cr_assert_eq(dm.reload, 1);
    cr_assert_eq(dm.stop, 0);
    p.fd = dm.wake_fd;
    p.events = POLLIN;
    cr_assert_eq(poll(&p, 1, 0), 1);
    raise(SIGTERM);
    cr_assert_eq(dm.stop, 1);
    /* Stopped before the first turn: nothing runs, and it says OK. */
    cr_assert_eq(daemon_run(&dm, NULL), EQ_OK);
    cr_assert_eq(fk.n_ticks, 0);
    daemon_signals_close(&ds);
}
