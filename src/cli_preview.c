/* cli_preview: `preview` and `test-send`, the exact invitation mail. */
#include "cli_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"
#include "mime.h"
#include "run.h"
#include "token.h"

/* --- preview and test-send ------------------------------------------- */

static int
compose_sample(struct app *a, const char *camp, const char *employee,
               const char *to, const char *lang, char **raw, size_t *len,
               char **env)
{
    const struct campaign *c;
    struct store_employee e;
    struct store_invitation inv;
    enum eq_err err;
    int rc;

    if ((rc = cli_need(a, NEED_CAMPAIGNS)) != 0)
        return rc;
    /* Real names come from the database when there is one; a preview never
     * creates it. */
    if ((employee || access(a->cfg->general.database, F_OK) == 0) &&
        (rc = cli_need(a, NEED_STORE)) != 0)
        return rc;
    if ((c = cli_campaign_arg(a, camp)) == NULL)
        return cli_usage_error(
            "no campaign named %s (see 'enquete campaign list')",
            camp ? camp : "(none)");
    memset(&e, 0, sizeof e);
    memset(&inv, 0, sizeof inv);
    if ((err = token_new(inv.token)) != EQ_OK)
        return cli_fail(a, err, "token");
    if (employee) {
        if ((err = store_employee_find(a->st, employee, &e)) != EQ_OK)
            return cli_fail(a, err, employee);
    }
    inv.email = to ? (char *)to : e.email ? e.email : "voorbeeld@example.org";
    inv.employee_name = e.name ? e.name : "Voorbeeld Medewerker";
    inv.language =
        e.language && *e.language ? e.language : a->cfg->general.language;
    if (strcmp(c->language, "employee") != 0)
        inv.language = c->language;
    if (lang)
        inv.language = (char *)lang;
    inv.provider_code =
        c->providers_all || c->n_providers == 0 ? "it" : c->providers[0];
    inv.provider_name = inv.provider_code;
    struct store_department d;
    memset(&d, 0, sizeof d);
    if (a->st &&
        store_department_by_code(a->st, inv.provider_code, &d) == EQ_OK)
        inv.provider_name = d.name;
    inv.planned_at = inv.sent_at = a->now;
    inv.closes_at = a->now + (eq_time)c->close_after * 86400;
    struct compose_invite ci = {a->cfg, c,     &inv, a->cfg->general.templates,
                                0,      a->now};
    err = compose_invitation(&ci, raw, len, env, &a->diag);
    store_department_clear(&d);
    store_employee_clear(&e);
    return err == EQ_OK ? 0 : cli_fail(a, err, "compose");
}

int
cli_cmd_preview(struct app *a, int argc, char **argv)
{
    const char *camp = NULL, *emp = NULL, *lang = NULL, *html = NULL;
    char *raw = NULL, *env = NULL;
    struct mime_msg *m = NULL;
    size_t len;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--campaign") == 0 && i + 1 < argc)
            camp = argv[++i];
        else if (strcmp(argv[i], "--employee") == 0 && i + 1 < argc)
            emp = argv[++i];
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            lang = argv[++i];
        else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc)
            html = argv[++i];
        else
            return cli_usage_error("preview: unexpected argument %s", argv[i]);
    }
    if (camp == NULL)
        return cli_usage_error("preview: --campaign C is required");
    if (lang && strcmp(lang, "nl") != 0 && strcmp(lang, "en") != 0)
        return cli_usage_error("preview: --lang must be nl or en, not %s",
                               lang);
    if ((rc = cli_need(a, NEED_CONFIG)) != 0)
        return rc;
    if ((rc = compose_sample(a, camp, emp, NULL, lang, &raw, &len, &env)) != 0)
        return rc;
    if (html) {
        /* The HTML part as a browser shows it, read back from the mail. */
        FILE *f = NULL;
        enum eq_err err = mime_parse(raw, len, &m, &a->diag);
        if (err == EQ_OK && (m->html == NULL || (f = fopen(html, "w")) == NULL))
            err = EQ_ERR_IO;
        if (f && (fputs(m->html, f) < 0 || fclose(f) != 0))
            err = EQ_ERR_IO;
        if (err != EQ_OK)
            rc = cli_fail(a, err, html);
        else
            fprintf(stderr, "enquete: HTML part written to %s\n", html);
    }
    if (rc == 0)
        fwrite(raw, 1, len, stdout);
    mime_free(m);
    free(raw);
    free(env);
    return rc;
}

int
cli_cmd_test_send(struct app *a, int argc, char **argv)
{
    const char *camp = NULL, *to = NULL;
    char *raw = NULL, *env = NULL;
    struct transport *tx = NULL;
    struct transport_result res;
    size_t len;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--campaign") == 0 && i + 1 < argc)
            camp = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else
            return cli_usage_error("test-send: unexpected argument %s",
                                   argv[i]);
    }
    if (camp == NULL || to == NULL)
        return cli_usage_error("test-send: --campaign C and --to ADDRESS are "
                               "required%s",
                               "");
    if ((rc = cli_need(a, NEED_CONFIG)) != 0)
        return rc;
    if ((rc = compose_sample(a, camp, NULL, to, NULL, &raw, &len, &env)) != 0)
        return rc;
    if ((rc = cli_open_io(a, RUN_SEND, &tx, NULL)) == 0) {
        const char *rcpt[1] = {to};
        struct transport_msg m = {env, rcpt, 1, raw, len};
        enum eq_err err = transport_send(tx, &m, &res);
        if (err != EQ_OK) {
            fprintf(stderr, "enquete: test-send to %s: %s\n", to, res.text);
            rc = eq_exit_code(err);
        } else {
            printf("sent to %s: %s\n", to, res.text);
        }
    }
    transport_close(tx);
    free(raw);
    free(env);
    return rc;
}
