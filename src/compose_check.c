/*
 * compose_check: `campaign check` for the mail templates: renders every
 * kind with sample invitees and sample actions so each branch runs, then
 * builds one real message per sample. Nothing is stored or sent.
 */
#include "compose_int.h"

#include <stdlib.h>
#include <string.h>

#include "template.h"

/* --- checking templates ---------------------------------------------- */

/* A valid token (Crockford base32, 26 characters) that no real invitation
 * can have been given by chance in a way that matters: samples are never
 * stored or sent. */
#define SAMPLE_TOKEN "abcdefghjkmnpqrstvwxyz0123"

/* Keeps the first failure's code; out of memory ends the check at once. */
static int
check_keep(enum eq_err *total, enum eq_err err)
{
    if (err != EQ_OK && *total == EQ_OK)
        *total = err;
    return err == EQ_ERR_NOMEM;
}

/* The two sample invitees of a check: one named, asked every question;
 * one without a name, asked only the first, with the other anonymity
 * setting, so both sides of {{#several}}, {{#first_name}} and
 * {{#anonymous}} really render. Their confirmations: every question at its
 * top value with a comment; "not applicable" without one. */
#define SAMPLE_SCORES 16
struct check_sample {
    struct campaign camp;
    struct store_invitation inv;
    struct compose_invite ci;
    struct compose_ack ack;
    struct compose_score scores[SAMPLE_SCORES];
};

static void
check_sample_init(struct check_sample *cs, const struct eq_config *cfg,
                  const struct campaign *c, const char *dir, const char *lang,
                  int reminder, int second)
{
    memset(cs, 0, sizeof(*cs));
    cs->camp = *c;
    if (second) {
        cs->camp.n_metrics = c->n_metrics > 0 ? 1 : 0;
        cs->camp.anonymous = !c->anonymous;
    }
    memcpy(cs->inv.token, SAMPLE_TOKEN, sizeof(cs->inv.token));
    cs->inv.language = (char *)lang;
    cs->inv.email = (char *)"sample@example.invalid";
    cs->inv.employee_name = (char *)(second ? "" : "Anna de Vries");
    cs->inv.provider_code =
        (char *)(c->n_providers > 0 && c->providers ? c->providers[0] : "ict");
    cs->inv.provider_name = cs->inv.provider_code;
    cs->inv.closes_at = 1796122800; /* 2026-12-01 */
    cs->ci.cfg = cfg;
    cs->ci.campaign = &cs->camp;
    cs->ci.inv = &cs->inv;
    cs->ci.templates_dir = dir;
    cs->ci.reminder = reminder;
    cs->ci.now = 1795258800; /* 2026-11-21 */
    for (size_t i = 0; i < cs->camp.n_metrics && i < SAMPLE_SCORES; i++) {
        cs->scores[i].metric = cs->camp.metrics[i].id;
        cs->scores[i].score = second ? -1 : cs->camp.metrics[i].max;
        cs->ack.n_scores = i + 1;
    }
    cs->ack.cfg = cfg;
    cs->ack.campaign = &cs->camp;
    cs->ack.inv = &cs->inv;
    cs->ack.templates_dir = dir;
    cs->ack.n = 1;
    cs->ack.scores = cs->scores;
    cs->ack.comment = second ? "" : "Snel & vriendelijk";
    cs->ack.now = cs->ci.now;
}

/* The template variables of sample i, and then its real message. */
static enum eq_err
check_sample_state(struct check_sample *cs, struct invite_state *st,
                   const char *kind, struct eq_buf *diag)
{
    struct eq_buf subj = {0};
    enum eq_err err;

    if (strcmp(kind, "confirmation") == 0 || strcmp(kind, "optout") == 0)
        return compose_ack_state_init(st, &cs->ci, &cs->ack, diag);
    err = compose_invite_state_init(st, &cs->ci, diag);
    if (err == EQ_OK)
        err = buf_printf(&subj, "%s [#%s]", st->en ? "Sample" : "Voorbeeld",
                         SAMPLE_TOKEN);
    if (err == EQ_OK)
        err = compose_fill_links(st, subj.s);
    buf_free(&subj);
    return err;
}

static enum eq_err
check_sample_build(const struct check_sample *cs, const char *kind,
                   struct eq_buf *diag)
{
    char *msg = NULL;
    enum eq_err err;

    if (strcmp(kind, "confirmation") == 0)
        err = compose_confirmation(&cs->ack, &msg, NULL, NULL, diag);
    else if (strcmp(kind, "optout") == 0)
        err = compose_optout_confirmation(&cs->ack, &msg, NULL, NULL, diag);
    else
        err = compose_invitation(&cs->ci, &msg, NULL, NULL, diag);
    free(msg);
    return err;
}

/* One mail kind (invite, reminder 1..reminders, confirmation, optout) in
 * one language: every branch checked against the samples, then one real
 * message built. */
static enum eq_err
check_mails(const struct eq_config *cfg, const struct campaign *c,
            const char *dir, const char *lang, const char *kind, int reminders,
            struct eq_buf *diag)
{
    size_t n = reminders > 0 ? 2 * (size_t)reminders : 2, ns = 0;
    struct check_sample *cs = calloc(n, sizeof(*cs));
    struct invite_state *st = calloc(n, sizeof(*st));
    const struct tpl_ctx **ctxs = calloc(n, sizeof(*ctxs));
    enum eq_err err = EQ_OK, total = EQ_OK;

    if (cs == NULL || st == NULL || ctxs == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        check_sample_init(&cs[i], cfg, c, dir, lang,
                          reminders > 0 ? (int)(i / 2) + 1 : 0, (int)(i % 2));
        err = check_sample_state(&cs[i], &st[i], kind, diag);
        ns = i + 1;
        if (err != EQ_OK)
            goto out;
        ctxs[i] = st[i].ctx;
    }
    {
        enum eq_err a =
            template_check_file(dir, lang, kind, "txt", ctxs, n, diag);
        enum eq_err b =
            template_check_file(dir, lang, kind, "html", ctxs, n, diag);
        if (check_keep(&total, a) || check_keep(&total, b))
            goto out;
    }
    /* The branches are sound: a real message shows what only composing
     * finds (no Subject: line, a value that cannot go in a header). */
    for (size_t i = 0; i < n && total == EQ_OK; i++) {
        struct eq_buf why = {0};
        err = check_sample_build(&cs[i], kind, &why);
        if (err != EQ_OK) {
            if (why.len > 0 && diag != NULL)
                buf_add(diag, why.s);
            buf_free(&why);
            if (check_keep(&total, err))
                goto out;
            break;
        }
        buf_free(&why);
    }
    err = EQ_OK;
out:
    for (size_t i = 0; st != NULL && i < ns; i++)
        compose_invite_state_free(&st[i]);
    free(cs);
    free(st);
    free(ctxs);
    return err != EQ_OK ? err : total;
}

/* Appends the lines of from to diag, each once: a campaign's broken
 * question shows in the invitation and in every reminder. */
static void
diag_merge(struct eq_buf *diag, const struct eq_buf *from)
{
    const char *start = buf_str(from), *p = start;

    while (diag != NULL && *p) {
        size_t n = strcspn(p, "\n");
        int seen = 0;
        for (const char *q = start; q < p && !seen;) {
            size_t m = strcspn(q, "\n");
            seen = m == n && memcmp(q, p, n) == 0;
            q += m + 1;
        }
        if (!seen) {
            buf_addn(diag, p, n);
            buf_addc(diag, '\n');
        }
        p += n + (p[n] == '\n');
    }
}

enum eq_err
compose_check_templates(const struct eq_config *cfg, const struct campaign *c,
                        const char *templates_dir, struct eq_buf *diag)
{
    static const char *const langs[] = {"nl", "en"};
    const char *dir = templates_dir ? templates_dir : cfg->general.templates;
    struct eq_buf all = {0};
    enum eq_err total = EQ_OK;

    if (dir == NULL) {
        eq_diag(diag, "compose: no templates directory");
        return EQ_ERR_CONFIG;
    }
    for (size_t l = 0; l < sizeof(langs) / sizeof(langs[0]); l++) {
        if (check_keep(&total,
                       check_mails(cfg, c, dir, langs[l], "invite", 0, &all)))
            break;
        if (c->max_reminders > 0 &&
            check_keep(&total, check_mails(cfg, c, dir, langs[l], "reminder",
                                           c->max_reminders, &all)))
            break;
        if (check_keep(&total, check_mails(cfg, c, dir, langs[l],
                                           "confirmation", 0, &all)) ||
            check_keep(&total,
                       check_mails(cfg, c, dir, langs[l], "optout", 0, &all)))
            break;
    }
    if (total == EQ_ERR_NOMEM)
        eq_diag(&all, "compose: out of memory");
    diag_merge(diag, &all);
    buf_free(&all);
    return total;
}

/* Two samples per mail: everything filled in, and everything empty, so
 * every section of the templates really renders once each way. */
enum eq_err
compose_check_action_templates(const struct eq_config *cfg,
                               const char *templates_dir, struct eq_buf *diag)
{
    static const char *const langs[] = {"nl", "en"};
    static const struct compose_action acts[] = {
        {1, "Vast inloopspreekuur op dinsdag", "Communicatie", 1, 20850},
        {2, "Sneller reageren op tickets", NULL, 0, 0}};
    static const struct compose_unread unread[] = {
        {"Actie: [sfeer] taart", "onbekend onderwerp tussen [ ]"}};
    static const int unknown[] = {7};
    static const struct compose_notice_dept depts[] = {{"ICT", acts, 2},
                                                       {"Facilitair", acts, 1}};
    const char *dir = templates_dir ? templates_dir : cfg->general.templates;
    enum eq_err total = EQ_OK;

    if (dir == NULL) {
        eq_diag(diag, "compose: no templates directory");
        return EQ_ERR_CONFIG;
    }
    for (size_t l = 0; l < 2 && total != EQ_ERR_NOMEM; l++) {
        int en = l == 1;
        struct compose_action_ack ack[2] = {
            {cfg, dir, langs[l], SAMPLE_TOKEN, 1, "sample@example.invalid",
             "Anna de Vries", "ICT", "2027Q1", acts, 2, acts + 1, 1, unknown, 1,
             unread, 1, 1795258800},
            {cfg, dir, langs[l], SAMPLE_TOKEN, 2, "sample@example.invalid", "",
             "ICT", "2027Q1", NULL, 0, NULL, 0, NULL, 0, NULL, 0, 1795258800}};
        struct compose_action_notice nt[2] = {
            {cfg, dir, langs[l], SAMPLE_TOKEN, "sample@example.invalid",
             "Anna de Vries", "Klanttevredenheid", "2027Q1", depts, 2,
             1795258800},
            {cfg, dir, langs[l], SAMPLE_TOKEN, "sample@example.invalid", "",
             "Klanttevredenheid", "2027Q1", depts + 1, 1, 1795258800}};
        struct tpl_ctx *ctx[4] = {NULL, NULL, NULL, NULL};
        enum eq_err err = EQ_OK;

        for (int i = 0; i < 2 && err == EQ_OK; i++) {
            err = compose_action_ack_context(&ack[i], en, &ctx[i]);
            if (err == EQ_OK)
                err = compose_action_notice_context(&nt[i], en, "mailto:x",
                                                    &ctx[2 + i]);
        }
        if (err == EQ_OK) {
            const struct tpl_ctx *a2[2] = {ctx[0], ctx[1]};
            const struct tpl_ctx *n2[2] = {ctx[2], ctx[3]};
            check_keep(&total, template_check_file(dir, langs[l], "action_ack",
                                                   "txt", a2, 2, diag));
            check_keep(&total, template_check_file(dir, langs[l], "action_ack",
                                                   "html", a2, 2, diag));
            check_keep(&total,
                       template_check_file(dir, langs[l], "action_notice",
                                           "txt", n2, 2, diag));
            check_keep(&total,
                       template_check_file(dir, langs[l], "action_notice",
                                           "html", n2, 2, diag));
        }
        check_keep(&total, err);
        for (int i = 0; i < 4; i++)
            tpl_ctx_free(ctx[i]);
        for (int i = 0; i < 2 && total == EQ_OK; i++) {
            char *msg = NULL;
            check_keep(&total,
                       compose_action_ack(&ack[i], &msg, NULL, NULL, diag));
            free(msg);
            msg = NULL;
            check_keep(&total,
                       compose_action_notice(&nt[i], &msg, NULL, NULL, diag));
            free(msg);
        }
    }
    return total;
}
