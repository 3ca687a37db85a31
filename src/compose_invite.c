/*
 * compose_invite: the invitation and its reminders (templates invite.* and
 * reminder.*, with an answer link per scale value), and the per-invitee
 * state, rendering and headers the other mails to an invitee reuse.
 */
#include "compose_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"
#include "template.h"
#include "token.h"

/* --- invitations ------------------------------------------------------ */

struct words {
    const char *low_nl, *high_nl, *low_en, *high_en;
};

static const struct words scale_words[] = {
    [METRIC_NPS] = {"zeer onwaarschijnlijk", "zeer waarschijnlijk",
                    "very unlikely", "very likely"},
    [METRIC_CES] = {"helemaal oneens", "helemaal eens", "strongly disagree",
                    "strongly agree"},
    [METRIC_CSAT] = {"zeer ontevreden", "zeer tevreden", "very dissatisfied",
                     "very satisfied"},
};

const char *
compose_pick(int en, const char *nl_text, const char *en_text)
{
    const char *first = en ? en_text : nl_text,
               *second = en ? nl_text : en_text;

    if (first != NULL && *first != '\0')
        return first;
    return second;
}

static enum eq_err
format_close_date(eq_time t, const char *tz, int en, struct eq_buf *b)
{
    static const char *const nl[] = {
        "januari", "februari", "maart",     "april",   "mei",      "juni",
        "juli",    "augustus", "september", "oktober", "november", "december"};
    static const char *const enm[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    eq_day day;
    int minute, y, m, d;

    eqtime_to_local(t, tz, &day, &minute);
    eqtime_ymd_from_day(day, &y, &m, &d);
    return buf_printf(b, "%d %s %d", d, en ? enm[m - 1] : nl[m - 1], y);
}

/* The first given name: "Anna de Vries" → "Anna", "Vries, Anna" → "Anna". */
char *
compose_first_name_of(const char *name)
{
    const char *s = name, *comma = strchr(name, ',');
    size_t n;

    if (comma != NULL && comma[1] != '\0')
        s = comma + 1;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, " \t,");
    return strndup(s, n);
}

/* Splits "Subject: …\n\nbody" (rendered .txt) into subject and body. */
static enum eq_err
split_subject(const char *text, const char *where, char **subject,
              const char **body, struct eq_buf *diag)
{
    size_t n;

    *subject = NULL;
    if (strncmp(text, "Subject:", 8) != 0) {
        eq_diag(diag, "%s:1: the first line must be 'Subject: …'", where);
        return EQ_ERR_DATA;
    }
    text += 8;
    n = strcspn(text, "\n");
    *subject = strndup(text, n);
    if (*subject == NULL)
        return EQ_ERR_NOMEM;
    n = strlen(*subject);
    if (n > 0 && (*subject)[n - 1] == '\r')
        (*subject)[n - 1] = '\0';
    eq_trim(*subject);
    text += n;
    if (*text == '\n')
        text++;
    if (*text == '\r' && text[1] == '\n')
        text += 2;
    else if (*text == '\n')
        text++;
    *body = text;
    if ((*subject)[0] == '\0') {
        eq_diag(diag, "%s:1: the subject is empty", where);
        free(*subject);
        *subject = NULL;
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

/* What partials/page_top.html needs: the language, and the subject, which
 * is "" until the .txt has been rendered (the Subject: line cannot show
 * itself). */
enum eq_err
compose_page_context(struct tpl_ctx *ctx, const char *lang)
{
    enum eq_err err = tpl_set(ctx, "lang", lang);

    return err == EQ_OK ? tpl_set(ctx, "subject", "") : err;
}

static enum eq_err
add_metrics(struct invite_state *st, const char *provider, struct eq_buf *diag)
{
    const struct campaign *c = st->ci->campaign;
    struct tpl_ctx *qctx = tpl_ctx_new();
    struct eq_buf where = {0}, example = {0};
    enum eq_err err = qctx ? EQ_OK : EQ_ERR_NOMEM;
    size_t total = 0;

    for (size_t i = 0; i < c->n_metrics; i++)
        if (c->metrics[i].max >= c->metrics[i].min)
            total += (size_t)(c->metrics[i].max - c->metrics[i].min + 1);
    st->answer_items = calloc(total ? total : 1, sizeof(*st->answer_items));
    st->answer_bodies = calloc(total ? total : 1, sizeof(*st->answer_bodies));
    if (st->answer_items == NULL || st->answer_bodies == NULL)
        err = EQ_ERR_NOMEM;
    if (err == EQ_OK)
        err = tpl_set(qctx, "provider", provider);
    for (size_t i = 0; i < c->n_metrics && err == EQ_OK; i++) {
        const struct campaign_metric *mt = &c->metrics[i];
        const struct words *w = &scale_words[mt->type];
        struct tpl_ctx *it = tpl_add_item(st->ctx, "metrics");
        const char *q = compose_pick(st->en, mt->question_nl, mt->question_en);
        const char *label = compose_pick(st->en, mt->label_nl, mt->label_en);
        char *question = NULL, *upper = NULL;

        if (it == NULL) {
            err = EQ_ERR_NOMEM;
            break;
        }
        buf_reset(&where);
        buf_printf(&where, "%s [metric %s] question_%s",
                   c->file ? c->file : (c->name ? c->name : "campaign"), mt->id,
                   st->lang);
        err = template_render(q ? q : "", qctx, 0, buf_str(&where), &question,
                              diag);
        if (err == EQ_OK &&
            (err = compose_check_value("question", question, diag)) != EQ_OK)
            eq_diag(diag, "%s: a question is one line", buf_str(&where));
        if (err == EQ_OK)
            err = tpl_set(it, "id", mt->id);
        if (err == EQ_OK)
            err = tpl_set(it, "type", campaign_metric_type_name(mt->type));
        if (err == EQ_OK)
            err = tpl_set(it, "label", label ? label : mt->id);
        if (err == EQ_OK)
            err = tpl_set(it, "question", question);
        if (err == EQ_OK)
            err = tpl_setf(it, "min", "%d", mt->min);
        if (err == EQ_OK)
            err = tpl_setf(it, "max", "%d", mt->max);
        if (err == EQ_OK)
            err = tpl_set(it, "low_label", st->en ? w->low_en : w->low_nl);
        if (err == EQ_OK)
            err = tpl_set(it, "high_label", st->en ? w->high_en : w->high_nl);
        if (err == EQ_OK)
            err = tpl_set_bool(it, "first", i == 0);
        upper = eq_strdup(mt->id);
        if (upper == NULL && err == EQ_OK)
            err = EQ_ERR_NOMEM;
        for (char *p = upper; p && *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        for (int v = mt->min; v <= mt->max && err == EQ_OK; v++) {
            struct tpl_ctx *a = tpl_add_item(it, "answers");
            struct eq_buf body = {0};
            if (a == NULL) {
                err = EQ_ERR_NOMEM;
                break;
            }
            err = tpl_setf(a, "value", "%d", v);
            if (err == EQ_OK)
                err = tpl_set(a, "mailto", "");
            if (err == EQ_OK)
                err = buf_printf(&body, "%s: %d", upper, v);
            if (err == EQ_OK) {
                st->answer_items[st->n_answers] = a;
                st->answer_bodies[st->n_answers++] = buf_take(&body);
            }
            buf_free(&body);
        }
        /* An example answer a person can copy: the middle-high value. */
        if (err == EQ_OK)
            err = buf_printf(&example, "%s%d", i ? " " : "",
                             mt->min + (mt->max - mt->min) * 4 / 5);
        free(upper);
        free(question);
    }
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "example", buf_str(&example));
    if (err == EQ_OK)
        err = tpl_set_bool(st->ctx, "several", c->n_metrics > 1);
    buf_free(&where);
    buf_free(&example);
    tpl_ctx_free(qctx);
    return err;
}

static const char *
provider_of(const struct store_invitation *inv)
{
    return inv->provider_name ? inv->provider_name
                              : (inv->provider_code ? inv->provider_code : "");
}

/* The variables every mail to an invitee has: name, first_name, provider,
 * title. */
enum eq_err
compose_base_context(struct invite_state *st)
{
    const struct campaign *c = st->ci->campaign;
    const char *title = compose_pick(st->en, c->title_nl, c->title_en);
    enum eq_err err;

    if ((st->ctx = tpl_ctx_new()) == NULL)
        return EQ_ERR_NOMEM;
    err = tpl_set(st->ctx, "name", st->name);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "first_name", st->first_name);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "provider", provider_of(st->ci->inv));
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "title", title ? title : c->name);
    return err;
}

static enum eq_err
build_context(struct invite_state *st, struct eq_buf *diag)
{
    const struct compose_invite *ci = st->ci;
    const struct campaign *c = ci->campaign;
    const struct store_invitation *inv = ci->inv;
    const char *provider = provider_of(inv);
    struct eq_buf v = {0};
    enum eq_err err = compose_base_context(st);
    eq_time closes = inv->closes_at;

    if (closes == 0)
        closes = (inv->sent_at ? inv->sent_at : ci->now) +
                 (eq_time)c->close_after * 86400;
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "token", st->token);
    if (err == EQ_OK)
        err = compose_page_context(st->ctx, st->lang);
    if (err == EQ_OK)
        err = tpl_setf(st->ctx, "reply_to", "%s+%s@%s", st->local, st->token,
                       st->domain);
    if (err == EQ_OK)
        err = format_close_date(closes, st->tz, st->en, &v);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "close_date", buf_str(&v));
    if (err == EQ_OK)
        err = tpl_set_bool(st->ctx, "reminder", ci->reminder > 0);
    if (err == EQ_OK)
        err = tpl_setf(st->ctx, "reminder_number", "%d", ci->reminder);
    if (err == EQ_OK)
        err = tpl_set_bool(st->ctx, "anonymous", c->anonymous);
    if (err == EQ_OK)
        err = tpl_setf(st->ctx, "anonymity_min", "%d", c->anonymity_min);
    /* Filled in once the subject is known. */
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "optout_mailto", "");
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "na_mailto", "");
    if (err == EQ_OK)
        err = add_metrics(st, provider, diag);
    buf_free(&v);
    return err;
}

enum eq_err
compose_fill_links(struct invite_state *st, const char *subject)
{
    struct eq_buf re = {0};
    char *link = NULL;
    enum eq_err err = buf_printf(&re, "Re: %s", subject);

    for (size_t i = 0; i < st->n_answers && err == EQ_OK; i++) {
        err = compose_mailto(st->local, st->domain, st->token, re.s,
                             st->answer_bodies[i], &link);
        if (err == EQ_OK)
            err = tpl_set(st->answer_items[i], "mailto", link);
        free(link);
        link = NULL;
    }
    if (err == EQ_OK)
        err = compose_mailto(st->local, st->domain, st->token, re.s,
                             st->en ? "N/A" : "n.v.t.", &link);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "na_mailto", link);
    free(link);
    link = NULL;
    if (err == EQ_OK)
        err = compose_mailto(st->local, st->domain, st->token,
                             st->en ? "unsubscribe" : "afmelden",
                             st->en ? "unsubscribe" : "afmelden", &link);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "optout_mailto", link);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "subject", subject);
    free(link);
    buf_free(&re);
    return err;
}

static const char *
language_of(const struct compose_invite *ci)
{
    const char *cands[] = {ci->inv->language, ci->campaign->language,
                           ci->cfg->general.language};

    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
        if (cands[i] != NULL &&
            (strcmp(cands[i], "nl") == 0 || strcmp(cands[i], "en") == 0))
            return cands[i];
    return "nl";
}

void
compose_invite_state_free(struct invite_state *st)
{
    for (size_t i = 0; i < st->n_answers; i++)
        free(st->answer_bodies[i]);
    free(st->answer_bodies);
    free(st->answer_items);
    tpl_ctx_free(st->ctx);
    free(st->local);
    free(st->domain);
    free(st->name);
    free(st->first_name);
    memset(st, 0, sizeof(*st));
}

/* What every mail to one invitee needs: language, zone, reply address, and
 * the name and department checked for headers. No template variables yet. */
enum eq_err
compose_mail_state_init(struct invite_state *st,
                        const struct compose_invite *ci, struct eq_buf *diag)
{
    const struct store_invitation *inv = ci->inv;
    enum eq_err err;

    memset(st, 0, sizeof(*st));
    st->ci = ci;
    st->token = inv->token;
    st->lang = language_of(ci);
    st->en = strcmp(st->lang, "en") == 0;
    st->tz = ci->campaign->timezone
                 ? ci->campaign->timezone
                 : (ci->cfg->general.timezone ? ci->cfg->general.timezone
                                              : "Europe/Amsterdam");
    err = config_reply_parts(ci->cfg, &st->local, &st->domain);
    if (err != EQ_OK) {
        eq_diag(diag, "compose: reply_address '%s' is not LOCAL@DOMAIN",
                ci->cfg->general.reply_address ? ci->cfg->general.reply_address
                                               : "");
        return err;
    }
    /* Both reach headers (To, and Subject through the templates): data
     * with line breaks or control characters is refused here, by name,
     * rather than cleaned up, so the bad row gets fixed at its source. */
    if ((err = compose_check_value("employee name", inv->employee_name,
                                   diag)) != EQ_OK ||
        (err = compose_check_value("department name", inv->provider_name,
                                   diag)) != EQ_OK ||
        (err = compose_check_value("department code", inv->provider_code,
                                   diag)) != EQ_OK)
        return err;
    st->name = strdup(inv->employee_name ? inv->employee_name : "");
    st->first_name = st->name ? compose_first_name_of(st->name) : NULL;
    if (st->name == NULL || st->first_name == NULL)
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

/* Everything the templates of one invitation see, links still empty. */
enum eq_err
compose_invite_state_init(struct invite_state *st,
                          const struct compose_invite *ci, struct eq_buf *diag)
{
    enum eq_err err = compose_mail_state_init(st, ci, diag);

    return err == EQ_OK ? build_context(st, diag) : err;
}

/* A mail to an invitee can only be threaded and answered with its token. */
enum eq_err
compose_check_invitee(const struct store_invitation *inv, const char *dir,
                      struct eq_buf *diag)
{
    if (!token_valid(inv->token)) {
        eq_diag(diag, "compose: invitation %lld has no valid token",
                (long long)inv->id);
        return EQ_ERR_DATA;
    }
    if (inv->email == NULL || dir == NULL) {
        eq_diag(diag,
                "compose: invitation %lld: no address or no templates "
                "directory",
                (long long)inv->id);
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

/* subject, ending in [#TOKEN] once (a template may have put it there). */
static enum eq_err
tag_subject(struct eq_buf *subject, const char *subj, const char *token)
{
    char tag[TOKEN_LEN + 4];
    size_t sl = strlen(subj), tl;
    enum eq_err err = buf_add(subject, subj);

    snprintf(tag, sizeof(tag), "[#%s]", token);
    tl = strlen(tag);
    if (err == EQ_OK && (sl < tl || strcmp(subj + sl - tl, tag) != 0))
        err = buf_printf(subject, " %s", tag);
    return err;
}

void
compose_rendered_free(struct rendered *r)
{
    buf_free(&r->where);
    buf_free(&r->subject);
    buf_free(&r->msgid);
    buf_free(&r->irt);
    free(r->txt);
    free(r->html);
    free(r->subj);
    memset(r, 0, sizeof(*r));
}

/* Renders DIR/LANG/kind.{txt,html} into r, the subject tagged [#token].
 * The HTML sees the subject (its <title>), without the tag, which only
 * matters to the reply matching. */
enum eq_err
compose_render_kind(const char *dir, const char *lang, const char *kind,
                    struct tpl_ctx *ctx, const char *token, struct rendered *r,
                    struct eq_buf *diag)
{
    enum eq_err err = buf_printf(&r->where, "%s/%s/%s.txt", dir, lang, kind);

    if (err == EQ_OK)
        err = template_render_file(dir, lang, kind, "txt", ctx, &r->txt, diag);
    if (err == EQ_OK)
        err = split_subject(r->txt, r->where.s, &r->subj, &r->body, diag);
    if (err == EQ_OK)
        err = tag_subject(&r->subject, r->subj, token);
    if (err == EQ_OK)
        err = tpl_set(ctx, "subject", r->subj);
    if (err == EQ_OK)
        err =
            template_render_file(dir, lang, kind, "html", ctx, &r->html, diag);
    return err;
}

/* Ends a compose_* call: frees its state, says out of memory once. */
enum eq_err
compose_mail_done(struct invite_state *st, struct rendered *r, enum eq_err err,
                  struct eq_buf *diag)
{
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "compose: out of memory");
    compose_invite_state_free(st);
    compose_rendered_free(r);
    return err;
}

/* The headers every mail to an invitee shares (DESIGN.md "Mail
 * conventions"), then the message. The envelope sender is the Reply-To
 * address, so bounces find the token too. unsub may be NULL. */
enum eq_err
compose_build_to_invitee(const struct invite_state *st,
                         const struct rendered *r, const char *unsub,
                         int auto_submitted, char **out, size_t *len,
                         char **envelope_from, struct eq_buf *diag)
{
    struct eq_buf reply = {0};
    enum eq_err err =
        buf_printf(&reply, "%s+%s@%s", st->local, st->token, st->domain);
    struct compose_mail m = {
        .from = st->ci->cfg->general.from,
        .to = st->ci->inv->email,
        .to_name = st->name[0] ? st->name : NULL,
        .reply_to = reply.s,
        .subject = r->subject.s,
        .message_id = r->msgid.s,
        .in_reply_to = r->irt.len ? r->irt.s : NULL,
        .references = r->irt.len ? r->irt.s : NULL,
        .list_unsubscribe = unsub,
        .auto_submitted = auto_submitted,
        .date = st->ci->now,
        .timezone = st->tz,
        .text = r->body,
        .html = r->html,
    };

    if (err == EQ_OK)
        err = compose_build(&m, out, len, diag);
    if (err == EQ_OK && envelope_from != NULL) {
        *envelope_from = buf_take(&reply);
        if (*envelope_from == NULL)
            err = EQ_ERR_NOMEM;
    }
    if (err != EQ_OK && *out != NULL) {
        free(*out);
        *out = NULL;
    }
    buf_free(&reply);
    return err;
}

/* Sets the out-parameters of a compose_* function to nothing yet. */
void
compose_outputs_init(char **out, size_t *len, char **envelope_from)
{
    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (envelope_from != NULL)
        *envelope_from = NULL;
}

enum eq_err
compose_invitation(const struct compose_invite *ci, char **out, size_t *len,
                   char **envelope_from, struct eq_buf *diag)
{
    struct invite_state st = {0};
    struct rendered r = {0};
    const struct store_invitation *inv = ci->inv;
    const char *dir =
        ci->templates_dir ? ci->templates_dir : ci->cfg->general.templates;
    const char *kind = ci->reminder > 0 ? "reminder" : "invite";
    struct tpl_source src = {dir, NULL, "txt"};
    char *tpl_txt = NULL, *unsub = NULL;
    enum eq_err err;

    compose_outputs_init(out, len, envelope_from);
    if ((err = compose_check_invitee(inv, dir, diag)) != EQ_OK)
        return err;
    if ((err = compose_invite_state_init(&st, ci, diag)) != EQ_OK)
        goto out;
    src.lang = st.lang;

    if ((err = buf_printf(&r.where, "%s/%s/%s.txt", dir, st.lang, kind)) !=
            EQ_OK ||
        (err = template_load(dir, st.lang, kind, "txt", &tpl_txt, diag)) !=
            EQ_OK)
        goto out;
    /* First pass: the subject, which the answer links repeat. */
    if ((err = template_render_src(tpl_txt, st.ctx, &src, r.where.s, &r.txt,
                                   diag)) != EQ_OK ||
        (err = split_subject(r.txt, r.where.s, &r.subj, &r.body, diag)) !=
            EQ_OK)
        goto out;
    if ((err = tag_subject(&r.subject, r.subj, st.token)) != EQ_OK ||
        (err = compose_fill_links(&st, r.subject.s)) != EQ_OK)
        goto out;
    free(r.txt);
    r.txt = NULL;
    free(r.subj);
    r.subj = NULL;
    if ((err = template_render_src(tpl_txt, st.ctx, &src, r.where.s, &r.txt,
                                   diag)) != EQ_OK ||
        (err = split_subject(r.txt, r.where.s, &r.subj, &r.body, diag)) !=
            EQ_OK)
        goto out;
    if ((err = template_render_file(dir, st.lang, kind, "html", st.ctx, &r.html,
                                    diag)) != EQ_OK)
        goto out;

    if (ci->reminder > 0) {
        err = buf_printf(&r.msgid, "rem.%d.%s@%s", ci->reminder, st.token,
                         st.domain);
        if (err == EQ_OK)
            err = buf_printf(&r.irt, "inv.%s@%s", st.token, st.domain);
    } else {
        err = buf_printf(&r.msgid, "inv.%s@%s", st.token, st.domain);
    }
    if (err == EQ_OK)
        err = compose_mailto(st.local, st.domain, st.token,
                             st.en ? "unsubscribe" : "afmelden", NULL, &unsub);
    if (err == EQ_OK)
        err = compose_build_to_invitee(&st, &r, unsub, COMPOSE_AUTO_GENERATED,
                                       out, len, envelope_from, diag);
out:
    free(tpl_txt);
    free(unsub);
    return compose_mail_done(&st, &r, err, diag);
}
