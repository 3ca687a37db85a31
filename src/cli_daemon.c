/*
 * cli_daemon: `enquete daemon` — opens what the daemon needs, takes the
 * per-database lock, installs the signal handlers and hands over to
 * daemon_run. --now starts the daemon's clock at that time; it then runs.
 */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"

struct clock {
    eq_time start;
    int64_t mono0;
};

static eq_time
shifted_now(void *arg)
{
    const struct clock *c = arg;
    return c->start + (daemon_default_hooks.mono_ms(NULL) - c->mono0) / 1000;
}

int
cli_cmd_daemon(struct app *a, int argc, char **argv)
{
    struct daemon_signals ds;
    struct daemon_hooks hooks = daemon_default_hooks;
    struct clock clk;
    struct daemon d;
    enum eq_err err;
    int rc;

    if (argc > 1)
        return cli_usage_error("daemon: unexpected argument %s", argv[1]);
    if ((rc = cli_need(a, NEED_STORE | NEED_CAMPAIGNS)) != 0 ||
        (rc = cli_lock_runs(a)) != 0)
        return rc;
    if (a->now_arg) {
        clk.start = a->now;
        clk.mono0 = daemon_default_hooks.mono_ms(NULL);
        hooks.now = shifted_now;
        hooks.arg = &clk;
    }
    memset(&d, 0, sizeof d);
    d.st = a->st;
    d.cfg = &a->cfg;
    d.camps = &a->camps;
    d.n_camps = &a->n_camps;
    d.config_path = a->config_path;
    d.wake_fd = -1;
    d.hooks = &hooks;
    if ((err = daemon_signals_open(&ds, &d, &a->diag)) != EQ_OK)
        return cli_fail(a, err, "daemon");
    err = daemon_run(&d, &a->diag);
    daemon_signals_close(&ds);
    return err == EQ_OK ? 0 : cli_fail(a, err, "daemon");
}
