/*
 * cli_int: what the files of the cli module share — the lazily opened
 * application state and the helpers for errors, usage and locking. Only
 * cli*.c include it; the rest of the program knows cli_main alone.
 */
#ifndef CLI_INT_H
#define CLI_INT_H

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "source.h"
#include "store.h"
#include "transport.h"

/* What every command may need; opened lazily by cli_need(). */
struct app {
    const char *config_path;
    const char *now_arg;
    eq_time now;
    struct eq_config *cfg;
    struct store *st;
    struct campaign **camps;
    size_t n_camps;
    struct eq_buf diag;
};

enum need { NEED_CONFIG = 1, NEED_STORE = 2, NEED_CAMPAIGNS = 4 };

/* Opens what a command needs (config, store, campaigns); 0 or an exit code
 * with the error printed. */
int cli_need(struct app *a, unsigned what);
/* Prints "enquete: what: why" (or the diag lines) and returns the exit code
 * of err. */
int cli_fail(struct app *a, enum eq_err err, const char *what);
/* Prints a usage error and returns 64. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_print_diag(struct eq_buf *diag);
/* Resets getopt for a command's own arguments (argv[0] is the command). */
void cli_reset_getopt(void);
/* Takes the per-database lock or returns 75 (another run) / 74. */
int cli_lock_runs(struct app *a);
int cli_open_io(struct app *a, unsigned steps, struct transport **tx,
                struct source **src);
/* One run of the given RUN_* steps with locking, logging and the summary
 * line; the exit code. */
int cli_do_steps(struct app *a, const char *command, unsigned steps);
/* A JSON string literal on stdout. */
void cli_json_str(const char *v);

/* Commands that live in their own files. */
int cli_cmd_report(struct app *a, int argc, char **argv);
int cli_cmd_status(struct app *a, int argc, char **argv);
int cli_cmd_privacy(struct app *a, int argc, char **argv);
int cli_cmd_daemon(struct app *a, int argc, char **argv);
int cli_cmd_review(struct app *a, int argc, char **argv);
int cli_cmd_preview(struct app *a, int argc, char **argv);
int cli_cmd_test_send(struct app *a, int argc, char **argv);
int cli_cmd_inspect(struct app *a, int argc, char **argv);
/* The loaded campaign called name, or NULL. */
const struct campaign *cli_campaign_arg(struct app *a, const char *name);

#endif
