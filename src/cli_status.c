#include "cli_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"

/* --- status ---------------------------------------------------------- */
int
cli_cmd_status(struct app *a, int argc, char **argv)
{
    int json = 0, rc;
    struct store_status s;
    enum eq_err err;
    char t1[21] = "never", t2[21] = "-", t3[21] = "-";

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return cli_usage_error("status: unexpected argument %s", argv[i]);
    }
    if ((rc = cli_need(a, NEED_STORE)) != 0)
        return rc;
    memset(&s, 0, sizeof s);
    if ((err = store_status_get(a->st, &s)) != EQ_OK)
        return cli_fail(a, err, "status");
    uint32_t uidvalidity = 0, last_uid = 0;
    int box_found = store_mailbox_get(a->st, a->cfg->imap.srv.url,
                                      &uidvalidity, &last_uid, NULL) == EQ_OK;
    if (s.last_run_started)
        eqtime_format_iso(s.last_run_started, t1);
    if (s.last_run_finished)
        eqtime_format_iso(s.last_run_finished, t2);
    if (s.next_planned)
        eqtime_format_iso(s.next_planned, t3);
    if (json) {
        printf("{\"database\":");
        cli_json_str(a->cfg->general.database);
        printf(",\"schema_version\":%d,\"employees_active\":%lld,"
               "\"invitations\":{",
               store_schema_version(a->st), (long long)s.employees_active);
        for (int i = 0; i < INV__COUNT; i++)
            printf("%s\"%s\":%lld", i ? "," : "",
                   store_inv_state_name((enum inv_state)i),
                   (long long)s.by_state[i]);
        printf("},\"mailbox\":");
        if (box_found)
            printf("{\"uidvalidity\":%lu,\"last_uid\":%lu}",
                   (unsigned long)uidvalidity, (unsigned long)last_uid);
        else
            printf("null");
        printf(",\"review\":%lld,\"inbound\":%lld,\"next_planned\":%s%s%s,"
               "\"last_run\":",
               (long long)s.review, (long long)s.inbound,
               s.next_planned ? "\"" : "", s.next_planned ? t3 : "null",
               s.next_planned ? "\"" : "");
        if (s.last_run_started)
        {
            printf("{\"command\":");
            cli_json_str(s.last_run_command);
            printf(",\"started\":\"%s\",\"finished\":\"%s\",\"ok\":%s}", t1,
                   t2, s.last_run_ok ? "true" : "false");
        }
        else
            printf("null");
        printf("}\n");
    } else {
        printf("database:   %s (schema %d)\n", a->cfg->general.database,
               store_schema_version(a->st));
        printf("employees:  %lld active\n", (long long)s.employees_active);
        printf("queue:      %lld planned, %lld deferred, %lld sending; next "
               "planned %s\n",
               (long long)s.by_state[INV_PLANNED],
               (long long)s.by_state[INV_DEFERRED],
               (long long)s.by_state[INV_SENDING], t3);
        printf("invitations:");
        for (int i = 0; i < INV__COUNT; i++)
            printf(" %s %lld%s", store_inv_state_name((enum inv_state)i),
                   (long long)s.by_state[i], i + 1 < INV__COUNT ? "," : "\n");
        printf("inbound:    %lld messages, %lld to review\n",
               (long long)s.inbound, (long long)s.review);
        if (box_found)
            printf("mailbox:    %s read up to UID %lu (UIDVALIDITY %lu)\n",
                   a->cfg->imap.srv.url, (unsigned long)last_uid,
                   (unsigned long)uidvalidity);
        printf("last run:   %s %s%s%s\n", t1,
               s.last_run_command ? s.last_run_command : "",
               s.last_run_started ? (s.last_run_ok ? " ok" : " FAILED") : "",
               s.last_run_summary ? "" : "");
        if (s.last_run_summary)
            printf("            %s\n", s.last_run_summary);
    }
    store_status_clear(&s);
    return 0;
}

