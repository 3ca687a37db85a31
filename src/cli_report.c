#include "cli_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_actions.h"
#include "digest.h"

/* --- report ---------------------------------------------------------- */
int
cli_cmd_report(struct app *a, int argc, char **argv)
{
    static const struct option opts[] = {
        {"period", required_argument, NULL, 'p'},
        {"department", required_argument, NULL, 'd'},
        {"campaign", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"actions", no_argument, NULL, 'a'},
        {"periods", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0}};
    const char *period = NULL, *dept = NULL, *camp = NULL, *fmt = "text";
    int o, rc, shown = 0, actions = 0;
    long n_trend = 0;

    cli_reset_getopt();
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            period = optarg;
            break;
        case 'd':
            dept = optarg;
            break;
        case 'c':
            camp = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'n':
            if (eq_parse_long(optarg, 1, DIGEST_TREND_MAX, &n_trend) != 0)
                return cli_usage_error("report: --periods must be 1 to %d, "
                                       "not %s",
                                       DIGEST_TREND_MAX, optarg);
            break;
        case 'a':
            actions = 1;
            break;
        default:
            return 64;
        }
    }
    if (optind < argc)
        return cli_usage_error("report: unexpected argument %s", argv[optind]);
    if (strcmp(fmt, "text") && strcmp(fmt, "html") && strcmp(fmt, "json") &&
        strcmp(fmt, "csv"))
        return cli_usage_error("report: --format must be text, html, json or "
                               "csv, not %s",
                               fmt);
    if (actions) /* one list, narrowed by the names given */
        return cli_report_actions(a, camp, dept, period, fmt);
    if ((rc = cli_need(a, NEED_STORE | NEED_CAMPAIGNS)) != 0)
        return rc;
    for (size_t i = 0; i < a->n_camps; i++) {
        if (camp && strcmp(camp, a->camps[i]->name) != 0)
            continue;
        /* Written as it is made: a period's comments are not all held. */
        enum eq_err err =
            digest_report_to(a->st, a->cfg, a->camps[i], period, dept, fmt,
                             (size_t)n_trend, stdout, &a->diag);
        if (err == EQ_OK && fflush(stdout) != 0) {
            eq_diag(&a->diag, "report: writing to standard output failed");
            err = EQ_ERR_IO;
        }
        if (err != EQ_OK)
            return cli_fail(a, err, "report");
        shown++;
    }
    if (shown == 0)
        return cli_usage_error("report: no campaign %s",
                               camp ? camp : "defined");
    return 0;
}
