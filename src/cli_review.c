/* cli_review: `review list|assign|drop`, mail that needs a human. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"
#include "ingest.h"

/* --- review ---------------------------------------------------------- */
/* Mail text on the operator's terminal: control characters shown as '?'. */
static void
print_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        putchar(*p < 0x20 || *p == 0x7f ? '?' : *p);
}

static int
review_ctx(struct app *a, struct ingest_ctx *ic, int64_t **ids)
{
    enum eq_err err = EQ_OK;

    *ids = calloc(a->n_camps ? a->n_camps : 1, sizeof **ids);
    if (*ids == NULL)
        return cli_fail(a, EQ_ERR_NOMEM, "review");
    for (size_t i = 0; i < a->n_camps && err == EQ_OK; i++)
        err = store_campaign_ensure(a->st, a->camps[i]->name, &(*ids)[i]);
    if (err != EQ_OK)
        return cli_fail(a, err, "review");
    *ic = (struct ingest_ctx){.st = a->st,
                              .cfg = a->cfg,
                              .campaigns = a->camps,
                              .campaign_ids = *ids,
                              .n_campaigns = a->n_camps,
                              .now = a->now};
    return 0;
}

int
cli_cmd_review(struct app *a, int argc, char **argv)
{
    struct ingest_score scores[16]; /* as many as a reply can hold */
    struct ingest_ctx ic;
    int64_t *ids = NULL;
    const char *token = NULL;
    size_t ns = 0;
    int rc, nvt = 0;
    long id;
    enum eq_err err;

    if (argc < 2)
        return cli_usage_error(
            "review: missing subcommand (list, assign, drop)");
    if ((rc = cli_need(a, NEED_STORE | NEED_CAMPAIGNS)) != 0)
        return rc;
    if (strcmp(argv[1], "list") == 0) {
        struct store_inbound *in = NULL;
        size_t n = 0;
        if (argc > 2)
            return cli_usage_error("review list: unexpected argument %s",
                                   argv[2]);
        if ((err = store_review_list(a->st, &in, &n)) != EQ_OK)
            return cli_fail(a, err, "review list");
        for (size_t i = 0; i < n; i++) {
            char iso[21];
            eqtime_format_iso(in[i].received_at, iso);
            printf("%-6lld %s  ", (long long)in[i].id, iso);
            print_safe(in[i].sender ? in[i].sender : "?");
            printf("\n       subject: ");
            print_safe(in[i].subject);
            printf("\n       why: ");
            print_safe(in[i].note);
            printf("%s%s\n", in[i].token ? "; token " : "",
                   in[i].token ? in[i].token : "");
        }
        printf("%zu message%s to review\n", n, n == 1 ? "" : "s");
        store_inbounds_free(in, n);
        return 0;
    }
    if (strcmp(argv[1], "assign") != 0 && strcmp(argv[1], "drop") != 0)
        return cli_usage_error("review: unknown subcommand %s", argv[1]);
    if (argc < 3 || eq_parse_long(argv[2], 1, INT64_MAX, &id) != 0)
        return cli_usage_error("review %s: expects a message ID from 'review "
                               "list'",
                               argv[1]);
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[1], "assign") != 0)
            return cli_usage_error("review drop: unexpected argument %s",
                                   argv[i]);
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
            token = argv[++i];
        } else if (strcmp(argv[i], "--nvt") == 0) {
            nvt = 1;
        } else if (strcmp(argv[i], "--score") == 0 && i + 1 < argc && ns < 16) {
            char *v = argv[++i], *eqs = strchr(v, '=');
            long sc;
            if (eqs == NULL || eqs == v ||
                eq_parse_long(eqs + 1, 0, 100, &sc) != 0)
                return cli_usage_error("review assign: --score wants METRIC=N, "
                                       "not %s",
                                       v);
            *eqs = '\0';
            scores[ns].metric = v;
            scores[ns++].score = (int)sc;
        } else {
            return cli_usage_error("review assign: unexpected argument %s",
                                   argv[i]);
        }
    }
    if (strcmp(argv[1], "assign") == 0 && token == NULL)
        return cli_usage_error("review assign: --token TOKEN is required");
    if ((rc = review_ctx(a, &ic, &ids)) != 0)
        goto out;
    if (strcmp(argv[1], "drop") == 0)
        err = ingest_drop(&ic, id, &a->diag);
    else
        err = ingest_assign(&ic, id, token, scores, ns, nvt, &a->diag);
    if (err != EQ_OK)
        rc = cli_fail(a, err, "review");
    else
        printf("message %ld %s\n", id,
               argv[1][0] == 'd' ? "dropped" : "recorded as the answer");
out:
    free(ids);
    return rc;
}
