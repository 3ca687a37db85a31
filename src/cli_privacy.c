/* `privacy export EMAIL` and `privacy erase EMAIL`: one person's data under
 * the AVG/GDPR. Erasure does not take the run lock (a daemon holds it for
 * good): it is one SQLite transaction, serialised with every other writer. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_privacy.h"

static int
privacy_export(struct app *a, const char *email)
{
    char *json = NULL;
    enum eq_err err = store_privacy_export(a->st, email, &json);

    if (err == EQ_ERR_NOTFOUND) {
        eq_diag(&a->diag, "privacy export %s: no such person", email);
        return cli_fail(a, err, "privacy export");
    }
    if (err != EQ_OK) {
        eq_diag(&a->diag, "privacy export %s: %s", email, store_errmsg(a->st));
        return cli_fail(a, err, "privacy export");
    }
    fputs(json, stdout);
    putchar('\n');
    free(json);
    return 0;
}

static int
privacy_erase(struct app *a, const char *email)
{
    struct store_erase_counts c;
    enum eq_err err =
        store_privacy_erase(a->st, email, a->cfg->general.timezone, &c);

    if (err == EQ_ERR_NOTFOUND) {
        eq_diag(&a->diag, "privacy erase %s: no such person", email);
        return cli_fail(a, err, "privacy erase");
    }
    if (err != EQ_OK) {
        eq_diag(&a->diag, "privacy erase %s: %s", email, store_errmsg(a->st));
        return cli_fail(a, err, "privacy erase");
    }
    printf("erased %s\n", email);
    printf("  person           %lld\n", (long long)c.person);
    printf("  aliases          %lld\n", (long long)c.aliases);
    printf("  manager of       %lld\n", (long long)c.manager_of);
    printf("  comments         %lld\n", (long long)c.comments);
    printf("  mail records     %lld (sender and subject removed)\n",
           (long long)c.inbound);
    printf("  review items     %lld\n", (long long)c.review);
    printf("  others' mail     %lld (kept, no longer linked to them)\n",
           (long long)c.unlinked_mail);
    printf("  digest log rows  %lld\n", (long long)c.digests);
    printf("  action notices   %lld\n", (long long)c.notices);
    printf("  actions authored %lld (author removed, action kept)\n",
           (long long)c.actions);
    printf("  invitations      %lld unlinked (answers kept without a person;"
           " %lld unsent cancelled)\n",
           (long long)c.invitations, (long long)c.cancelled);
    return 0;
}

int
cli_cmd_privacy(struct app *a, int argc, char **argv)
{
    int rc;

    if (argc != 3 || (strcmp(argv[1], "export") && strcmp(argv[1], "erase")))
        return cli_usage_error("privacy: expects export EMAIL or erase EMAIL%s",
                               "");
    if ((rc = cli_need(a, NEED_STORE)) != 0)
        return rc;
    if (strcmp(argv[1], "export") == 0)
        return privacy_export(a, argv[2]);
    return privacy_erase(a, argv[2]);
}
