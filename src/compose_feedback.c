/*
 * compose_feedback: the mails that follow a reply: the confirmation of an
 * answer or an opt-out, the acknowledgement of a manager's actions and the
 * "you said, we did" notice to raters. Renders and builds; never sends.
 */
#include "compose_int.h"

#include <stdlib.h>
#include <string.h>

#include "eqtime.h"
#include "template.h"
#include "token.h"

/* --- confirmations ---------------------------------------------------- */

/* The invitation fields of an acknowledgement, for the shared helpers. */
static void
ack_invite(const struct compose_ack *ca, struct compose_invite *ci)
{
    memset(ci, 0, sizeof(*ci));
    ci->cfg = ca->cfg;
    ci->campaign = ca->campaign;
    ci->inv = ca->inv;
    ci->templates_dir = ca->templates_dir;
    ci->now = ca->now;
}

/* The variables of confirmation and optout (templates/README.md). */
enum eq_err
compose_ack_state_init(struct invite_state *st, const struct compose_invite *ci,
                       const struct compose_ack *ca, struct eq_buf *diag)
{
    const struct campaign *c = ca->campaign;
    enum eq_err err = compose_mail_state_init(st, ci, diag);

    if (err == EQ_OK)
        err = compose_base_context(st);
    if (err == EQ_OK)
        err = compose_page_context(st->ctx, st->lang);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "comment", ca->comment ? ca->comment : "");
    for (size_t i = 0; i < ca->n_scores && err == EQ_OK; i++) {
        const struct campaign_metric *mt =
            campaign_metric(c, ca->scores[i].metric);
        const char *label =
            mt ? compose_pick(st->en, mt->label_nl, mt->label_en) : NULL;
        struct tpl_ctx *it = tpl_add_item(st->ctx, "scores");
        if (it == NULL)
            return EQ_ERR_NOMEM;
        err = tpl_set(it, "label", label ? label : ca->scores[i].metric);
        if (err == EQ_OK && ca->scores[i].score < 0)
            err = tpl_set(it, "value", st->en ? "N/A" : "n.v.t.");
        else if (err == EQ_OK)
            err = tpl_setf(it, "value", "%d", ca->scores[i].score);
    }
    if (err == EQ_OK && ca->n_scores == 0)
        err = tpl_set_bool(st->ctx, "scores", 0);
    return err;
}

/* confirmation or optout: one rendering, threaded under the invitation. */
static enum eq_err
compose_ack_mail(const struct compose_ack *ca, const char *kind, int64_t n,
                 char **out, size_t *len, char **envelope_from,
                 struct eq_buf *diag)
{
    struct compose_invite ci;
    struct invite_state st = {0};
    struct rendered r = {0};
    const char *dir =
        ca->templates_dir ? ca->templates_dir : ca->cfg->general.templates;
    enum eq_err err;

    compose_outputs_init(out, len, envelope_from);
    if ((err = compose_check_invitee(ca->inv, dir, diag)) != EQ_OK)
        return err;
    ack_invite(ca, &ci);
    if ((err = compose_ack_state_init(&st, &ci, ca, diag)) != EQ_OK ||
        (err = compose_render_kind(dir, st.lang, kind, st.ctx, st.token, &r,
                                   diag)) != EQ_OK)
        goto out;
    err = buf_printf(&r.msgid, "ack.%s.%lld@%s", st.token, (long long)n,
                     st.domain);
    if (err == EQ_OK)
        err = buf_printf(&r.irt, "inv.%s@%s", st.token, st.domain);
    /* It answers a mail (RFC 3834 3.1.7): auto-replied, and no
     * List-Unsubscribe, since nothing more is on its way. */
    if (err == EQ_OK)
        err = compose_build_to_invitee(&st, &r, NULL, COMPOSE_AUTO_REPLIED, out,
                                       len, envelope_from, diag);
out:
    return compose_mail_done(&st, &r, err, diag);
}

enum eq_err
compose_confirmation(const struct compose_ack *ca, char **out, size_t *len,
                     char **envelope_from, struct eq_buf *diag)
{
    if (ca->n <= 0) {
        compose_outputs_init(out, len, envelope_from);
        eq_diag(diag, "compose: a confirmation is numbered from 1");
        return EQ_ERR_DATA;
    }
    return compose_ack_mail(ca, "confirmation", ca->n, out, len, envelope_from,
                            diag);
}

enum eq_err
compose_optout_confirmation(const struct compose_ack *ca, char **out,
                            size_t *len, char **envelope_from,
                            struct eq_buf *diag)
{
    return compose_ack_mail(ca, "optout", 0, out, len, envelope_from, diag);
}

/* --- the feedback loop ------------------------------------------------ */

static enum eq_err
format_day(eq_day day, int en, struct eq_buf *b)
{
    static const char *const nl[] = {
        "januari", "februari", "maart",     "april",   "mei",      "juni",
        "juli",    "augustus", "september", "oktober", "november", "december"};
    static const char *const enm[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    int y, m, d;

    eqtime_ymd_from_day(day, &y, &m, &d);
    return buf_printf(b, "%d %s %d", d, en ? enm[m - 1] : nl[m - 1], y);
}

/* One item of an actions list: number, text, metric, due. */
static enum eq_err
action_item(struct tpl_ctx *ctx, const char *list,
            const struct compose_action *a, int en)
{
    struct tpl_ctx *it = tpl_add_item(ctx, list);
    struct eq_buf due = {0};
    enum eq_err err;

    if (it == NULL)
        return EQ_ERR_NOMEM;
    err = tpl_setf(it, "number", "%d", a->number);
    if (err == EQ_OK)
        err = tpl_set(it, "text", a->text ? a->text : "");
    if (err == EQ_OK)
        err = tpl_set(it, "metric", a->metric ? a->metric : "");
    if (err == EQ_OK && a->has_due)
        err = format_day(a->due, en, &due);
    if (err == EQ_OK)
        err = tpl_set(it, "due", buf_str(&due));
    buf_free(&due);
    return err;
}

/* An empty list is a false section, and its name still exists. */
static enum eq_err
list_or_false(struct tpl_ctx *ctx, const char *name, size_t n)
{
    return n == 0 ? tpl_set_bool(ctx, name, 0) : EQ_OK;
}

/* A feedback mail's context starts with its reader and its page. */
static enum eq_err
feedback_context_new(const char *lang, const char *name, struct tpl_ctx **out)
{
    struct tpl_ctx *ctx = tpl_ctx_new();
    char *first = compose_first_name_of(name ? name : "");
    enum eq_err err = ctx && first ? EQ_OK : EQ_ERR_NOMEM;

    if (err == EQ_OK)
        err = tpl_set(ctx, "name", name ? name : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "first_name", first);
    if (err == EQ_OK)
        err = compose_page_context(ctx, lang ? lang : "");
    free(first);
    *out = ctx;
    return err;
}

/* Hands ctx over when it is complete; frees it otherwise. */
static enum eq_err
feedback_context_done(struct tpl_ctx *ctx, enum eq_err err,
                      struct tpl_ctx **out)
{
    if (err != EQ_OK) {
        tpl_ctx_free(ctx);
        ctx = NULL;
    }
    *out = ctx;
    return err;
}

enum eq_err
compose_action_ack_context(const struct compose_action_ack *a, int en,
                           struct tpl_ctx **out)
{
    struct tpl_ctx *ctx = NULL;
    enum eq_err err = feedback_context_new(a->lang, a->to_name, &ctx);

    if (err == EQ_OK)
        err = tpl_set(ctx, "department", a->department ? a->department : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "period", a->period ? a->period : "");
    for (size_t i = 0; i < a->n_added && err == EQ_OK; i++)
        err = action_item(ctx, "added", &a->added[i], en);
    for (size_t i = 0; i < a->n_closed && err == EQ_OK; i++)
        err = action_item(ctx, "closed", &a->closed[i], en);
    for (size_t i = 0; i < a->n_unknown && err == EQ_OK; i++) {
        struct tpl_ctx *it = tpl_add_item(ctx, "unknown");
        err = it ? tpl_setf(it, "number", "%d", a->unknown[i]) : EQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->n_unread && err == EQ_OK; i++) {
        struct tpl_ctx *it = tpl_add_item(ctx, "unread");
        err = it ? tpl_set(it, "line", a->unread[i].line) : EQ_ERR_NOMEM;
        if (err == EQ_OK)
            err = tpl_set(it, "why", a->unread[i].why ? a->unread[i].why : "");
    }
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_added", a->n_added > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_closed", a->n_closed > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_unknown", a->n_unknown > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_unread", a->n_unread > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "nothing", a->n_added + a->n_closed == 0);
    if (err == EQ_OK)
        err = list_or_false(ctx, "added", a->n_added);
    if (err == EQ_OK)
        err = list_or_false(ctx, "closed", a->n_closed);
    if (err == EQ_OK)
        err = list_or_false(ctx, "unknown", a->n_unknown);
    if (err == EQ_OK)
        err = list_or_false(ctx, "unread", a->n_unread);
    return feedback_context_done(ctx, err, out);
}

enum eq_err
compose_action_notice_context(const struct compose_action_notice *a, int en,
                              const char *optout, struct tpl_ctx **out)
{
    struct tpl_ctx *ctx = NULL;
    enum eq_err err = feedback_context_new(a->lang, a->to_name, &ctx);

    if (err == EQ_OK)
        err = tpl_set(ctx, "title", a->title ? a->title : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "period", a->period ? a->period : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "optout_mailto", optout ? optout : "");
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "several", a->n_depts > 1);
    for (size_t i = 0; i < a->n_depts && err == EQ_OK; i++) {
        struct tpl_ctx *d = tpl_add_item(ctx, "departments");
        if (d == NULL) {
            err = EQ_ERR_NOMEM;
            break;
        }
        err = tpl_set(d, "department",
                      a->depts[i].department ? a->depts[i].department : "");
        for (size_t j = 0; j < a->depts[i].n_actions && err == EQ_OK; j++)
            err = action_item(d, "actions", &a->depts[i].actions[j], en);
        if (err == EQ_OK)
            err = list_or_false(d, "actions", a->depts[i].n_actions);
    }
    if (err == EQ_OK)
        err = list_or_false(ctx, "departments", a->n_depts);
    return feedback_context_done(ctx, err, out);
}

/* What both feedback mails check before rendering anything. */
static enum eq_err
feedback_mail_check(const struct eq_config *cfg, const char *dir,
                    const char *token, const char *to, const char *to_name,
                    const char *lang, char **local, char **domain,
                    struct eq_buf *diag)
{
    enum eq_err err;

    if (!token_valid(token) || to == NULL || dir == NULL || lang == NULL ||
        (strcmp(lang, "nl") != 0 && strcmp(lang, "en") != 0)) {
        eq_diag(diag, "compose: a feedback mail needs a token, an address, "
                      "a templates directory and nl or en");
        return EQ_ERR_DATA;
    }
    if ((err = compose_check_value("name", to_name, diag)) != EQ_OK)
        return err;
    err = config_reply_parts(cfg, local, domain);
    if (err != EQ_OK)
        eq_diag(diag, "compose: reply_address '%s' is not LOCAL@DOMAIN",
                cfg->general.reply_address ? cfg->general.reply_address : "");
    return err;
}

static enum eq_err
send_parts(const struct eq_config *cfg, const char *to, const char *to_name,
           const char *token, const char *local, const char *domain,
           const struct rendered *r, const char *unsub, int auto_submitted,
           eq_time now, char **out, size_t *len, char **envelope_from,
           struct eq_buf *diag)
{
    struct eq_buf reply = {0};
    enum eq_err err = buf_printf(&reply, "%s+%s@%s", local, token, domain);
    struct compose_mail m = {
        .from = cfg->general.from,
        .to = to,
        .to_name = to_name && *to_name ? to_name : NULL,
        .reply_to = reply.s,
        .subject = r->subject.s,
        .message_id = r->msgid.s,
        .in_reply_to = r->irt.len ? r->irt.s : NULL,
        .references = r->irt.len ? r->irt.s : NULL,
        .list_unsubscribe = unsub,
        .auto_submitted = auto_submitted,
        .date = now,
        .timezone =
            cfg->general.timezone ? cfg->general.timezone : "Europe/Amsterdam",
        .text = r->body,
        .html = r->html,
    };

    if (err == EQ_OK)
        err = compose_build(&m, out, len, diag);
    if (err == EQ_OK && envelope_from != NULL &&
        (*envelope_from = buf_take(&reply)) == NULL)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK) {
        free(*out);
        *out = NULL;
    }
    buf_free(&reply);
    return err;
}

/* What tells the two feedback mails apart; feedback_mail does the rest. */
struct feedback_mail {
    const struct eq_config *cfg;
    const char *templates_dir, *lang, *token, *to, *to_name;
    eq_time now;
    const char *kind;   /* the templates: action_ack, action_notice */
    const char *id;     /* Message-ID ID.TOKEN[.N]@DOMAIN */
    int64_t n;          /* > 0: the .N */
    const char *thread; /* In-Reply-To and References THREAD.TOKEN@DOMAIN */
    int unsubscribe;    /* an opt-out link, also as List-Unsubscribe */
    int auto_submitted;
    /* Checks the mail's own values and makes its template variables;
     * optout is the opt-out link or NULL. */
    enum eq_err (*vars)(const void *mail, int en, const char *optout,
                        struct tpl_ctx **out, struct eq_buf *diag);
    const void *mail;
};

/* Checks, renders and builds a feedback mail to its one reader. */
static enum eq_err
feedback_mail(const struct feedback_mail *m, char **out, size_t *len,
              char **envelope_from, struct eq_buf *diag)
{
    const char *dir =
        m->templates_dir ? m->templates_dir : m->cfg->general.templates;
    struct rendered r = {0};
    struct tpl_ctx *ctx = NULL;
    char *local = NULL, *domain = NULL, *unsub = NULL;
    int en = 0;
    enum eq_err err;

    compose_outputs_init(out, len, envelope_from);
    err = feedback_mail_check(m->cfg, dir, m->token, m->to, m->to_name, m->lang,
                              &local, &domain, diag);
    if (err == EQ_OK)
        en = strcmp(m->lang, "en") == 0;
    if (err == EQ_OK && m->unsubscribe)
        err = compose_mailto(local, domain, m->token,
                             en ? "unsubscribe" : "afmelden", NULL, &unsub);
    if (err == EQ_OK)
        err = m->vars(m->mail, en, unsub, &ctx, diag);
    if (err == EQ_OK)
        err =
            compose_render_kind(dir, m->lang, m->kind, ctx, m->token, &r, diag);
    if (err == EQ_OK && m->n > 0)
        err = buf_printf(&r.msgid, "%s.%s.%lld@%s", m->id, m->token,
                         (long long)m->n, domain);
    else if (err == EQ_OK)
        err = buf_printf(&r.msgid, "%s.%s@%s", m->id, m->token, domain);
    if (err == EQ_OK)
        err = buf_printf(&r.irt, "%s.%s@%s", m->thread, m->token, domain);
    if (err == EQ_OK)
        err = send_parts(m->cfg, m->to, m->to_name, m->token, local, domain, &r,
                         unsub, m->auto_submitted, m->now, out, len,
                         envelope_from, diag);
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "compose: out of memory");
    tpl_ctx_free(ctx);
    compose_rendered_free(&r);
    free(unsub);
    free(local);
    free(domain);
    return err;
}

static enum eq_err
action_ack_vars(const void *mail, int en, const char *optout,
                struct tpl_ctx **out, struct eq_buf *diag)
{
    const struct compose_action_ack *a = mail;
    enum eq_err err =
        compose_check_value("department name", a->department, diag);

    (void)optout;
    *out = NULL;
    return err == EQ_OK ? compose_action_ack_context(a, en, out) : err;
}

enum eq_err
compose_action_ack(const struct compose_action_ack *a, char **out, size_t *len,
                   char **envelope_from, struct eq_buf *diag)
{
    struct feedback_mail m = {
        .cfg = a->cfg,
        .templates_dir = a->templates_dir,
        .lang = a->lang,
        .token = a->token,
        .to = a->to,
        .to_name = a->to_name,
        .now = a->now,
        .kind = "action_ack",
        .id = "ack",
        .n = a->n,
        .thread = "dig",
        .auto_submitted = COMPOSE_AUTO_REPLIED,
        .vars = action_ack_vars,
        .mail = a,
    };

    if (a->n <= 0) {
        compose_outputs_init(out, len, envelope_from);
        eq_diag(diag, "compose: a confirmation is numbered from 1");
        return EQ_ERR_DATA;
    }
    return feedback_mail(&m, out, len, envelope_from, diag);
}

static enum eq_err
action_notice_vars(const void *mail, int en, const char *optout,
                   struct tpl_ctx **out, struct eq_buf *diag)
{
    const struct compose_action_notice *a = mail;
    enum eq_err err = EQ_OK;

    *out = NULL;
    for (size_t i = 0; i < a->n_depts && err == EQ_OK; i++)
        err = compose_check_value("department name", a->depts[i].department,
                                  diag);
    return err == EQ_OK ? compose_action_notice_context(a, en, optout, out)
                        : err;
}

enum eq_err
compose_action_notice(const struct compose_action_notice *a, char **out,
                      size_t *len, char **envelope_from, struct eq_buf *diag)
{
    struct feedback_mail m = {
        .cfg = a->cfg,
        .templates_dir = a->templates_dir,
        .lang = a->lang,
        .token = a->token,
        .to = a->to,
        .to_name = a->to_name,
        .now = a->now,
        .kind = "action_notice",
        .id = "act",
        .thread = "inv",
        .unsubscribe = 1,
        .auto_submitted = COMPOSE_AUTO_GENERATED,
        .vars = action_notice_vars,
        .mail = a,
    };

    return feedback_mail(&m, out, len, envelope_from, diag);
}
