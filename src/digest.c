/* digest: loads periods from the store, decides when a digest is due and
 * sends it; `report` on demand. */
#include "digest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "eqtime.h"
#include "store_action.h"
#include "token.h"

/* ---------------------------------------------------------------------
 * Loading a period from the store.
 */
struct loaded {
    struct digest_input in;
    struct store_department *prov, *depts;
    size_t np, nd;
    struct store_score_row **rows, **prev_rows;
    size_t *n_rows, *n_prev_rows;
    struct store_pair *resp;
    size_t n_resp;
    struct store *st; /* comments are read from here when shown */
    int64_t period_id;
    const char *comment_metric;
    int comments_failed;
    struct store_pair *na;
    size_t n_na;
    char (*tlabels)[16];
    const char **tlabel_ptrs;
    int64_t *tids;
    size_t nt;
    struct store_trend_row *trows;
    size_t n_trows;
    struct store_report_ops ops;
    struct store_action *acts;
    size_t n_acts;
    struct digest_action *dacts;
    struct store_action_count *acounts;
    size_t n_acounts;
    struct digest_action_count *dcounts;
    char period[16], prev_period[16];
};

static void
loaded_free(struct loaded *l, size_t nm)
{
    store_departments_free(l->prov, l->np);
    store_departments_free(l->depts, l->nd);
    for (size_t m = 0; m < nm; m++) {
        if (l->rows)
            free(l->rows[m]);
        if (l->prev_rows)
            free(l->prev_rows[m]);
    }
    free(l->rows);
    free(l->prev_rows);
    free(l->n_rows);
    free(l->n_prev_rows);
    free(l->resp);
    free(l->na);
    free(l->tlabels);
    free(l->tlabel_ptrs);
    free(l->tids);
    free(l->trows);
    store_actions_free(l->acts, l->n_acts);
    free(l->dacts);
    store_action_counts_free(l->acounts, l->n_acounts);
    free(l->dcounts);
    memset(l, 0, sizeof *l);
}

/* The campaign's provider departments, in store order. */
static enum eq_err
load_providers(struct store *st, const struct campaign *c, struct loaded *l,
               struct eq_buf *diag)
{
    enum eq_err err = store_departments(st, &l->depts, &l->nd);

    if (err != EQ_OK)
        return err;
    l->prov = calloc(l->nd + 1, sizeof *l->prov);
    if (l->prov == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < l->nd; i++) {
        struct store_department *d = &l->depts[i];
        if (!c->providers_all && !campaign_has_provider(c, d->code))
            continue;
        l->prov[l->np].id = d->id;
        l->prov[l->np].code = strdup(d->code);
        l->prov[l->np].name = strdup(d->name ? d->name : d->code);
        l->np++;
        if (!l->prov[l->np - 1].code || !l->prov[l->np - 1].name)
            return EQ_ERR_NOMEM;
    }
    for (size_t i = 0; !c->providers_all && i < c->n_providers; i++) {
        size_t j;
        for (j = 0; j < l->np; j++)
            if (strcmp(l->prov[j].code, c->providers[i]) == 0)
                break;
        if (j == l->np)
            eq_diag(diag,
                    "digest: provider %s of campaign %s is not in the "
                    "organisation",
                    c->providers[i], c->name);
    }
    return EQ_OK;
}

/* Comments of provider p with the rater's score on the first metric, read
 * when an output shows them (digest_input.load_comments). */
struct held_comments {
    struct store_comment_score *cs;
    size_t n;
    char **text;
    int *score;
};

static void
free_comments(void *ctx, struct digest_comments *c)
{
    struct held_comments *h = c->owner;

    (void)ctx;
    if (h == NULL)
        return;
    store_comment_scores_free(h->cs, h->n);
    free(h->text);
    free(h->score);
    free(h);
}

static enum eq_err
read_comments(void *ctx, size_t p, struct digest_comments *out)
{
    struct loaded *l = ctx;
    struct held_comments *h = calloc(1, sizeof *h);
    enum eq_err err;

    memset(out, 0, sizeof *out);
    if (h == NULL)
        return EQ_ERR_NOMEM;
    out->owner = h;
    err = store_report_comments(l->st, l->period_id, l->prov[p].id,
                                l->comment_metric, &h->cs, &h->n);
    if (err == EQ_OK) {
        h->text = calloc(h->n + 1, sizeof *h->text);
        h->score = calloc(h->n + 1, sizeof *h->score);
        if (h->text == NULL || h->score == NULL)
            err = EQ_ERR_NOMEM;
    }
    if (err != EQ_OK) {
        l->comments_failed = 1;
        free_comments(ctx, out);
        memset(out, 0, sizeof *out);
        return err;
    }
    for (size_t i = 0; i < h->n; i++) {
        h->text[i] = h->cs[i].text;
        h->score[i] = h->cs[i].score;
    }
    out->text = h->text;
    out->score = h->score;
    out->n = h->n;
    return EQ_OK;
}

/* The trend: up to n_trend periods ending at per[at], one query for all
 * providers (GROUP BY period, provider, score). */
static enum eq_err
load_trend(struct store *st, const struct campaign *c, int64_t cid,
           const struct store_period *per, size_t at, size_t n_trend,
           struct loaded *l)
{
    size_t first = at + 1 > n_trend ? at + 1 - n_trend : 0;

    if (c->n_metrics == 0 || n_trend == 0)
        return EQ_OK;
    l->nt = at + 1 - first;
    l->tlabels = calloc(l->nt, sizeof *l->tlabels);
    l->tlabel_ptrs = calloc(l->nt, sizeof *l->tlabel_ptrs);
    l->tids = calloc(l->nt, sizeof *l->tids);
    if (!l->tlabels || !l->tlabel_ptrs || !l->tids)
        return EQ_ERR_NOMEM;
    for (size_t t = 0; t < l->nt; t++) {
        snprintf(l->tlabels[t], sizeof l->tlabels[t], "%s",
                 per[first + t].label);
        l->tlabel_ptrs[t] = l->tlabels[t];
        l->tids[t] = per[first + t].id;
    }
    return store_report_trend(st, cid, 0, c->metrics[0].id, per[first].first,
                              per[at].first, &l->trows, &l->n_trows);
}

/* The feedback loop: every open action of the campaign and those done in
 * the period (the model picks each provider's), and HR's counts. */
static enum eq_err
load_actions(struct store *st, int64_t cid, const struct store_period *per,
             const char *tz, struct loaded *l)
{
    struct store_action_filter open = {.campaign_id = cid,
                                       .state = STORE_ACTION_OPEN};
    struct store_action_filter done = {
        .campaign_id = cid,
        .state = STORE_ACTION_DONE,
        .done_from = eqtime_from_local(per->first, 0, tz),
        .done_before = eqtime_from_local(per->last + 1, 0, tz),
    };
    struct store_action *d = NULL;
    size_t nd = 0, k = 0;
    enum eq_err err = store_actions(st, &open, &l->acts, &l->n_acts);

    if (err == EQ_OK)
        err = store_actions(st, &done, &d, &nd);
    if (err != EQ_OK)
        goto out;
    if (nd > 0) {
        struct store_action *all =
            realloc(l->acts, (l->n_acts + nd) * sizeof *all);
        if (all == NULL) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
        /* The rows move over; their strings keep one owner. */
        memcpy(all + l->n_acts, d, nd * sizeof *d);
        l->acts = all;
        l->n_acts += nd;
        free(d);
        d = NULL;
        nd = 0;
    }
    l->dacts = calloc(l->n_acts + 1, sizeof *l->dacts);
    if (l->dacts == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < l->n_acts; i++) {
        const struct store_action *a = &l->acts[i];
        l->dacts[i] = (struct digest_action){
            .department_id = a->department_id,
            .number = a->number,
            .text = a->text,
            .metric = a->metric,
            .due = a->has_due ? a->due_day : 0,
            .period = a->period_label,
            .created_at = a->created_at,
            .done = a->done,
            .done_at = a->done_at,
        };
    }
    err = store_action_counts(st, cid, &l->acounts, &l->n_acounts);
    if (err != EQ_OK)
        goto out;
    l->dcounts = calloc(l->n_acounts + 1, sizeof *l->dcounts);
    if (l->dcounts == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < l->n_acounts; i++)
        l->dcounts[k++] = (struct digest_action_count){
            l->acounts[i].department_id, l->acounts[i].open,
            l->acounts[i].done};
out:
    store_actions_free(d, nd);
    return err;
}

/* Everything the model needs for per[at] (the one before it for changes,
 * n_trend periods for the trend). */
static enum eq_err
load_period(struct store *st, const struct campaign *c, int64_t cid,
            const struct store_period *all, size_t at, size_t n_trend,
            const char *tz, eq_time as_of, struct loaded *l,
            struct eq_buf *diag)
{
    const struct store_period *per = &all[at];
    const struct store_period *prev = at > 0 ? &all[at - 1] : NULL;
    size_t nm = c->n_metrics;
    enum eq_err err;

    memset(l, 0, sizeof *l);
    err = load_providers(st, c, l, diag);
    if (err != EQ_OK)
        return err;
    l->rows = calloc(nm + 1, sizeof *l->rows);
    l->n_rows = calloc(nm + 1, sizeof *l->n_rows);
    l->prev_rows = calloc(nm + 1, sizeof *l->prev_rows);
    l->n_prev_rows = calloc(nm + 1, sizeof *l->n_prev_rows);
    if (!l->rows || !l->n_rows || !l->prev_rows || !l->n_prev_rows)
        return EQ_ERR_NOMEM;
    for (size_t m = 0; m < nm && err == EQ_OK; m++) {
        err = store_score_counts(st, per->id, c->metrics[m].id, &l->rows[m],
                                 &l->n_rows[m]);
        if (err == EQ_OK && prev)
            err = store_score_counts(st, prev->id, c->metrics[m].id,
                                     &l->prev_rows[m], &l->n_prev_rows[m]);
    }
    if (err == EQ_OK)
        err = store_period_provider_counts(st, per->id, &l->resp, &l->n_resp);
    if (err == EQ_OK)
        err = store_report_na(st, per->id, &l->na, &l->n_na);
    if (err == EQ_OK)
        err = store_report_ops_counts(st, per->id, &l->ops);
    if (err == EQ_OK)
        err = load_trend(st, c, cid, all, at, n_trend, l);
    if (err == EQ_OK)
        err = load_actions(st, cid, per, tz, l);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: reading period %s: %s", per->label,
                store_errmsg(st));
        return err;
    }
    l->st = st;
    l->period_id = per->id;
    l->comment_metric = nm ? c->metrics[0].id : "";
    snprintf(l->period, sizeof l->period, "%s", per->label);
    if (prev)
        snprintf(l->prev_period, sizeof l->prev_period, "%s", prev->label);
    l->in = (struct digest_input){
        .c = c,
        .period = l->period,
        .prev_period = prev ? l->prev_period : NULL,
        .providers = l->prov,
        .n_providers = l->np,
        .departments = l->depts,
        .n_departments = l->nd,
        .rows = (const struct store_score_row *const *)l->rows,
        .n_rows = l->n_rows,
        .prev_rows =
            prev ? (const struct store_score_row *const *)l->prev_rows : NULL,
        .n_prev_rows = l->n_prev_rows,
        .response = l->resp,
        .n_response = l->n_resp,
        .load_comments = read_comments,
        .free_comments = free_comments,
        .comments_ctx = l,
        .na = l->na,
        .n_na = l->n_na,
        .period_last = per->last,
        .trend_labels = l->tlabel_ptrs,
        .trend_ids = l->tids,
        .n_trend = l->nt,
        .trend_rows = l->trows,
        .n_trend_rows = l->n_trows,
        .ops = &l->ops,
        .actions = l->dacts,
        .n_actions = l->n_acts,
        .action_counts = l->dcounts,
        .n_action_counts = l->n_acounts,
        .as_of = as_of,
    };
    return EQ_OK;
}

static int
period_has_answers(struct store *st, const struct campaign *c,
                   const struct store_period *per)
{
    for (size_t m = 0; m < c->n_metrics; m++) {
        struct store_score_row *rows = NULL;
        size_t n = 0;
        if (store_score_counts(st, per->id, c->metrics[m].id, &rows, &n) ==
                EQ_OK &&
            n > 0) {
            free(rows);
            return 1;
        }
        free(rows);
    }
    return 0;
}

enum eq_err
digest_report(struct store *st, const struct eq_config *cfg,
              const struct campaign *c, const char *period_label,
              const char *department, const char *format, size_t n_trend,
              char **out, struct eq_buf *diag)
{
    struct dg_mem m;
    enum eq_err err;

    *out = NULL;
    if (dg_mem_open(&m) == NULL)
        return EQ_ERR_NOMEM;
    err = digest_report_to(st, cfg, c, period_label, department, format,
                           n_trend, m.f, diag);
    return dg_mem_take(&m, err, out);
}

enum eq_err
digest_report_to(struct store *st, const struct eq_config *cfg,
                 const struct campaign *c, const char *period_label,
                 const char *department, const char *format, size_t n_trend,
                 FILE *f, struct eq_buf *diag)
{
    struct store_period *per = NULL;
    size_t np = 0, at = 0;
    struct loaded l;
    struct dg_model *md = NULL;
    int64_t cid;
    enum eq_err err;

    memset(&l, 0, sizeof l);
    err = store_campaign_ensure(st, c->name, &cid);
    if (err == EQ_OK)
        err = store_periods(st, cid, &per, &np);
    if (err != EQ_OK) {
        eq_diag(diag, "report: %s", store_errmsg(st));
        return err;
    }
    err = EQ_ERR_NOTFOUND;
    for (size_t i = np; i-- > 0;) {
        if (period_label ? strcmp(per[i].label, period_label) == 0
                         : period_has_answers(st, c, &per[i])) {
            at = i;
            err = EQ_OK;
            break;
        }
    }
    if (err != EQ_OK) {
        if (period_label)
            eq_diag(diag, "report: campaign %s has no period %s", c->name,
                    period_label);
        else
            eq_diag(diag, "report: campaign %s has no answers yet", c->name);
        goto out;
    }
    if (n_trend == 0)
        n_trend = DIGEST_TREND_PERIODS;
    if (n_trend > DIGEST_TREND_MAX)
        n_trend = DIGEST_TREND_MAX;
    /* A report speaks of the end of its period (there is no clock here). */
    err = load_period(st, c, cid, per, at, n_trend, cfg->general.timezone, 0,
                      &l, diag);
    if (err == EQ_OK)
        err = dg_model_build(&l.in, &md, diag);
    if (err == EQ_OK)
        err = dg_render_model(md, cfg->general.templates, cfg->general.language,
                              department, format, f, diag);
    if (err != EQ_OK && l.comments_failed)
        eq_diag(diag, "report: reading comments: %s", store_errmsg(st));
    else if (err == EQ_ERR_IO)
        eq_diag(diag, "report: writing the report failed");
out:
    dg_model_free(md);
    loaded_free(&l, c->n_metrics);
    free(per);
    return err;
}

/* ---------------------------------------------------------------------
 * Sending.
 */
eq_time
digest_due(eq_day last, eq_time last_close, int weekday, int hour,
           const char *tz)
{
    eq_time from = eqtime_from_local(last + 1, 0, tz), t;
    eq_day day;
    int minute;

    if (last_close > from)
        from = last_close;
    eqtime_to_local(from, tz, &day, &minute);
    for (int i = 0; i < 15; i++, day++) {
        if (eqtime_weekday(day) != weekday)
            continue;
        t = eqtime_from_local(day, hour * 60, tz);
        if (t >= from)
            return t;
    }
    return from; /* not reached: a weekday recurs within 8 days */
}

/* Is the period over at now, and when is its digest due? */
static enum eq_err
period_due(struct store *st, const struct eq_config *cfg,
           const struct store_period *per, eq_time now, int *ready,
           struct eq_buf *diag)
{
    const char *tz = cfg->general.timezone;
    eq_time last_close = 0;
    int64_t open = 0;
    enum eq_err err;
    eq_day today;
    int minute;

    *ready = 0;
    eqtime_to_local(now, tz, &today, &minute);
    if (today <= per->last)
        return EQ_OK;
    err = store_report_period_close(st, per->id, now, &open, &last_close);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: invitations of %s: %s", per->label,
                store_errmsg(st));
        return err;
    }
    if (open > 0)
        return EQ_OK;
    *ready = now >= digest_due(per->last, last_close, cfg->digest.weekday,
                               cfg->digest.hour, tz);
    return EQ_OK;
}

struct sender {
    struct store *st;
    const struct eq_config *cfg;
    const struct campaign *c;
    struct transport *t;
    eq_time now;
    int dry_run;
    struct digest_summary *sum;
    struct eq_buf *out, *diag;
    const struct store_period *per;
    const struct dg_model *md;
    char *local, *domain;
    int failed;
    /* The chart of the view being sent, per language (nl, en): drawn once
     * per provider and language, not once per recipient. */
    unsigned char *png[2];
    size_t png_len[2];
    int drawn[2];
};

static void
sender_forget_charts(struct sender *s)
{
    for (int i = 0; i < 2; i++) {
        free(s->png[i]);
        s->png[i] = NULL;
        s->png_len[i] = 0;
        s->drawn[i] = 0;
    }
}

static enum eq_err
sender_chart(struct sender *s, const struct view *v, const unsigned char **png,
             size_t *len)
{
    int i = dg_is_en(v->lang);

    if (!s->drawn[i]) {
        enum eq_err err = dg_view_chart(v, &s->png[i], &s->png_len[i]);
        if (err != EQ_OK)
            return err;
        s->drawn[i] = 1;
    }
    *png = s->png[i];
    *len = s->png_len[i];
    return EQ_OK;
}

static enum eq_err
send_one(struct sender *s, long prov, const char *email, const char *name,
         const char *lang)
{
    char key[512], token[TOKEN_LEN + 1], subject[300], msgid[256],
        reply_to[256], cid[256], from_env[256], src[270];
    struct view v = {0};
    char *text = NULL, *html = NULL, *msg = NULL;
    const unsigned char *png = NULL;
    size_t len = 0, png_len = 0;
    int sent = 0;
    enum eq_err err;
    const char *tz = s->cfg->general.timezone;

    if (prov >= 0)
        snprintf(key, sizeof key, "%s:%s", s->md->in->providers[prov].code,
                 email);
    else
        snprintf(key, sizeof key, "%s", email);
    if (!s->dry_run) {
        err = store_digest_sent(s->st, s->per->id, key, &sent);
        if (err != EQ_OK)
            return err;
        if (sent) {
            s->sum->skipped++;
            return EQ_OK;
        }
    }
    err = token_new(token);
    if (err != EQ_OK)
        return err;
    err = dg_view_init(&v, s->md, prov, lang);
    if (err != EQ_OK)
        return err;
    snprintf(cid, sizeof cid, "chart.%s@%s", token, s->domain);
    snprintf(src, sizeof src, "cid:%s", cid);
    /* A dry run shows the text only: no chart, no HTML. */
    err = dg_render_tpl(&v, s->cfg->general.templates, 0, NULL, &text, s->diag);
    if (err == EQ_OK && !s->dry_run)
        err = sender_chart(s, &v, &png, &png_len);
    if (err == EQ_OK && !s->dry_run)
        err = dg_render_tpl(&v, s->cfg->general.templates, 1, png ? src : NULL,
                            &html, s->diag);
    if (err != EQ_OK) {
        eq_diag(s->diag, "digest: rendering for %s: %s", email,
                eq_strerror(err));
        goto out;
    }
    dg_view_subject(&v, subject, sizeof subject);
    if (s->dry_run) {
        buf_printf(s->out, "To: %s\nSubject: %s\n\n%s\n", email, subject, text);
        s->sum->sent++;
        goto out;
    }
    strncat(subject, " [#", sizeof subject - strlen(subject) - 1);
    strncat(subject, token, sizeof subject - strlen(subject) - 1);
    strncat(subject, "]", sizeof subject - strlen(subject) - 1);
    snprintf(msgid, sizeof msgid, "dig.%s@%s", token, s->domain);
    snprintf(reply_to, sizeof reply_to, "%s+%s@%s", s->local, token, s->domain);
    snprintf(from_env, sizeof from_env, "%s", reply_to);
    {
        struct compose_part part = {
            .content_type = "image/png",
            .filename = "chart.png",
            .content_id = cid,
            .data = png,
            .len = png_len,
        };
        struct compose_mail m = {
            .from = s->cfg->general.from,
            .to = email,
            .to_name = name,
            .reply_to = reply_to,
            .subject = subject,
            .message_id = msgid,
            .auto_submitted = 1,
            .date = s->now,
            .timezone = tz,
            .text = text,
            .html = html,
            .parts = png ? &part : NULL,
            .n_parts = png ? 1 : 0,
        };
        const char *rcpt[1] = {email};
        struct transport_msg tm = {0};
        struct transport_result res = {0};

        err = compose_build(&m, &msg, &len, s->diag);
        if (err != EQ_OK)
            goto out;
        /* The token is recorded first so that a reply to the digest is
         * recognised even if the log write below fails. */
        err = store_token_add(s->st, token, "digest", s->now);
        if (err != EQ_OK) {
            eq_diag(s->diag, "digest: token: %s", store_errmsg(s->st));
            goto out;
        }
        tm.envelope_from = from_env;
        tm.rcpt = rcpt;
        tm.n_rcpt = 1;
        tm.data = msg;
        tm.len = len;
        err = transport_send(s->t, &tm, &res);
        if (err != EQ_OK) {
            eq_diag(s->diag, "digest: sending to %s: %d %s", email, res.code,
                    res.text);
            goto out;
        }
        err = store_digest_log(s->st, s->per->id, key,
                               prov >= 0 ? s->md->in->providers[prov].id : 0,
                               token, s->now);
        if (err != EQ_OK) {
            eq_diag(s->diag, "digest: log for %s: %s", email,
                    store_errmsg(s->st));
            goto out;
        }
        s->sum->sent++;
    }
out:
    free(v.sig);
    free(text);
    free(html);
    free(msg);
    return err;
}

static const char *
default_lang(const struct eq_config *cfg)
{
    if (cfg->digest.language_default && *cfg->digest.language_default)
        return cfg->digest.language_default;
    if (cfg->general.language && *cfg->general.language)
        return cfg->general.language;
    return "nl";
}

static enum eq_err
send_period(struct sender *s)
{
    enum eq_err err = EQ_OK;

    for (size_t p = 0; p < s->md->np && err != EQ_ERR_NOMEM; p++) {
        struct store_employee *mgr = NULL;
        size_t nmgr = 0;
        enum eq_err e;

        sender_forget_charts(s);
        e = store_managers(s->st, s->md->in->providers[p].id, &mgr, &nmgr);
        if (e != EQ_OK) {
            eq_diag(s->diag, "digest: managers: %s", store_errmsg(s->st));
            sender_forget_charts(s);
            return e;
        }
        for (size_t i = 0; i < nmgr; i++) {
            const char *lang = mgr[i].language && *mgr[i].language
                                   ? mgr[i].language
                                   : default_lang(s->cfg);
            e = send_one(s, (long)p, mgr[i].email, mgr[i].name, lang);
            if (e != EQ_OK) {
                s->failed = 1;
                err = e;
            }
        }
        store_employees_free(mgr, nmgr);
    }
    sender_forget_charts(s);
    for (size_t i = 0; i < s->cfg->digest.n_hr && err != EQ_ERR_NOMEM; i++) {
        enum eq_err e =
            send_one(s, -1, s->cfg->digest.hr[i], NULL, default_lang(s->cfg));
        if (e != EQ_OK) {
            s->failed = 1;
            err = e;
        }
    }
    sender_forget_charts(s);
    return err;
}

enum eq_err
digest_run(struct store *st, const struct eq_config *cfg,
           const struct campaign *c, struct transport *t, eq_time now,
           int dry_run, struct digest_summary *sum, struct eq_buf *out,
           struct eq_buf *diag)
{
    struct store_period *per = NULL;
    size_t np = 0;
    int64_t cid;
    enum eq_err err, first_err = EQ_OK;
    struct sender s = {
        .st = st,
        .cfg = cfg,
        .c = c,
        .t = t,
        .now = now,
        .dry_run = dry_run,
        .sum = sum,
        .out = out,
        .diag = diag,
    };

    memset(sum, 0, sizeof *sum);
    err = config_reply_parts(cfg, &s.local, &s.domain);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: reply_address has no local part and domain");
        return err;
    }
    err = store_campaign_ensure(st, c->name, &cid);
    if (err == EQ_OK)
        err = store_periods(st, cid, &per, &np);
    if (err != EQ_OK) {
        eq_diag(diag, "digest: %s", store_errmsg(st));
        goto out;
    }
    for (size_t i = 0; i < np; i++) {
        struct loaded l;
        struct dg_model *md = NULL;
        int ready = 0;

        if (per[i].digest_at != 0)
            continue;
        err = period_due(st, cfg, &per[i], now, &ready, diag);
        if (err != EQ_OK)
            goto out;
        if (!ready)
            continue;
        err = load_period(st, c, cid, per, i, DIGEST_TREND_PERIODS,
                          cfg->general.timezone, now, &l, diag);
        if (err == EQ_OK)
            err = dg_model_build(&l.in, &md, diag);
        if (err == EQ_OK) {
            s.per = &per[i];
            s.md = md;
            s.failed = 0;
            err = send_period(&s);
            if (!s.failed)
                sum->periods++;
            if (!s.failed && !dry_run)
                err = store_period_set_digest(st, per[i].id, now);
        }
        dg_model_free(md);
        loaded_free(&l, c->n_metrics);
        /* A failed recipient is retried on the next run; other periods
         * still go out. */
        if (err == EQ_ERR_NOMEM || err == EQ_ERR_DB)
            goto out;
        if (err != EQ_OK && first_err == EQ_OK)
            first_err = err;
        err = EQ_OK;
    }
out:
    free(per);
    free(s.local);
    free(s.domain);
    return err != EQ_OK ? err : first_err;
}
