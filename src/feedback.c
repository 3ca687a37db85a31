#include "feedback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "compose.h"
#include "store_action.h"
#include "token.h"

struct feedback_ack {
    char token[TOKEN_LEN + 1];
    int64_t n;
    char *lang, *to, *to_name, *department, *period;
    struct compose_action *added, *closed;
    size_t n_added, n_closed;
    int *unknown;
    size_t n_unknown;
    struct compose_unread *unread;
    size_t n_unread;
};

static void
actions_free(struct compose_action *a, size_t n)
{
    for (size_t i = 0; a != NULL && i < n; i++) {
        free((char *)a[i].text);
        free((char *)a[i].metric);
    }
    free(a);
}

void
feedback_ack_free(struct feedback_ack *k)
{
    if (k == NULL)
        return;
    free(k->lang);
    free(k->to);
    free(k->to_name);
    free(k->department);
    free(k->period);
    actions_free(k->added, k->n_added);
    actions_free(k->closed, k->n_closed);
    free(k->unknown);
    for (size_t i = 0; i < k->n_unread; i++)
        free((char *)k->unread[i].line);
    free(k->unread);
    free(k);
}

static const char *
default_lang(const struct eq_config *cfg)
{
    const char *l = cfg->digest.language_default;

    if (l == NULL || *l == '\0')
        l = cfg->general.language;
    return l != NULL && strcmp(l, "en") == 0 ? "en" : "nl";
}

static const char *
lang_of(const struct eq_config *cfg, const char *pref)
{
    if (pref != NULL && (strcmp(pref, "nl") == 0 || strcmp(pref, "en") == 0))
        return pref;
    return default_lang(cfg);
}

static const struct campaign *
campaign_of(const struct feedback_ctx *ctx, int64_t id)
{
    for (size_t i = 0; i < ctx->n_campaigns; i++) {
        int64_t cid = 0;
        if (ctx->campaign_ids != NULL)
            cid = ctx->campaign_ids[i];
        else if (store_campaign_ensure(ctx->st, ctx->campaigns[i]->name,
                                       &cid) != EQ_OK)
            continue;
        if (cid == id)
            return ctx->campaigns[i];
    }
    return NULL;
}

/* The label a metric goes by in lang, or its id. */
static const char *
metric_label(const struct campaign *c, const char *id, const char *lang)
{
    const struct campaign_metric *m = c && id ? campaign_metric(c, id) : NULL;
    const char *l;

    if (m == NULL)
        return id;
    l = strcmp(lang, "en") == 0 ? m->label_en : m->label_nl;
    return l != NULL && *l ? l : id;
}

static enum eq_err
department_name(struct store *st, int64_t id, char **name)
{
    struct store_department *d = NULL;
    size_t n = 0;
    enum eq_err err = store_departments(st, &d, &n);

    *name = NULL;
    for (size_t i = 0; err == EQ_OK && i < n && *name == NULL; i++)
        if (d[i].id == id && (*name = strdup(d[i].name)) == NULL)
            err = EQ_ERR_NOMEM;
    if (err == EQ_OK && *name == NULL)
        err = EQ_ERR_NOTFOUND;
    store_departments_free(d, n);
    return err;
}

/* Is employee id one of the (active) managers of department? */
static enum eq_err
is_manager(struct store *st, int64_t department, int64_t id, int *yes)
{
    struct store_employee *m = NULL;
    size_t n = 0;
    enum eq_err err = store_managers(st, department, &m, &n);

    *yes = 0;
    for (size_t i = 0; err == EQ_OK && i < n; i++)
        *yes |= m[i].id == id;
    store_employees_free(m, n);
    return err;
}

static void
review(struct feedback_result *out, const char *why)
{
    out->outcome = "review";
    snprintf(out->note, sizeof out->note, "%s", why);
}

static enum eq_err
push_action(struct compose_action **v, size_t *n, int number, const char *text,
            const char *metric, int has_due, eq_day due)
{
    struct compose_action *g = realloc(*v, (*n + 1) * sizeof *g);

    if (g == NULL)
        return EQ_ERR_NOMEM;
    *v = g;
    g[*n] =
        (struct compose_action){number, strdup(text ? text : ""),
                                metric ? strdup(metric) : NULL, has_due, due};
    (*n)++;
    if (g[*n - 1].text == NULL || (metric && g[*n - 1].metric == NULL))
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

/* Records what the reply says; the confirmation's lists grow alongside. */
static enum eq_err
record(const struct feedback_ctx *ctx, const struct action_reply *r,
       const struct store_period *per, int64_t dept, int64_t author,
       int64_t inbound_id, const struct campaign *c, struct feedback_ack *k,
       struct feedback_result *out)
{
    enum eq_err err = EQ_OK;

    for (size_t i = 0; i < r->n_items && err == EQ_OK; i++) {
        struct store_action a = {
            .department_id = dept,
            .campaign_id = per->campaign_id,
            .period_id = per->id,
            .text = r->items[i].text,
            .metric = r->items[i].metric,
            .has_due = r->items[i].has_due,
            .due_day = r->items[i].due,
            .created_at = ctx->now,
            .inbound_id = inbound_id,
            .author_id = author,
        };
        err = store_action_add(ctx->st, &a);
        if (err == EQ_OK)
            err = push_action(&k->added, &k->n_added, a.number, a.text,
                              metric_label(c, a.metric, k->lang), a.has_due,
                              a.due_day);
        out->added += err == EQ_OK;
    }
    for (size_t i = 0; i < r->n_done && err == EQ_OK; i++) {
        struct store_action a;
        int changed;
        err = store_action_done(ctx->st, dept, r->done[i], ctx->now, &changed);
        if (err == EQ_ERR_NOTFOUND) {
            int *g = realloc(k->unknown, (k->n_unknown + 1) * sizeof *g);
            if (g == NULL)
                return EQ_ERR_NOMEM;
            k->unknown = g;
            g[k->n_unknown++] = r->done[i];
            err = EQ_OK;
            continue;
        }
        if (err == EQ_OK)
            err = store_action_get(ctx->st, dept, r->done[i], &a);
        if (err == EQ_OK) {
            err = push_action(&k->closed, &k->n_closed, a.number, a.text,
                              metric_label(c, a.metric, k->lang), a.has_due,
                              a.due_day);
            store_action_clear(&a);
        }
        out->closed += err == EQ_OK;
    }
    for (size_t i = 0; i < r->n_unread && err == EQ_OK; i++) {
        struct compose_unread *g =
            realloc(k->unread, (k->n_unread + 1) * sizeof *g);
        if (g == NULL)
            return EQ_ERR_NOMEM;
        k->unread = g;
        g[k->n_unread].why = action_reason_text(r->unread[i].why, k->lang);
        if ((g[k->n_unread].line = strdup(r->unread[i].line)) == NULL)
            return EQ_ERR_NOMEM;
        k->n_unread++;
    }
    return err;
}

enum eq_err
feedback_reply(const struct feedback_ctx *ctx, const char *token,
               const char *sender, const char *text, int64_t inbound_id,
               struct feedback_result *out, struct eq_buf *diag)
{
    struct store_period per;
    struct store_employee who;
    struct action_reply r;
    struct feedback_ack *k = NULL;
    const struct campaign *c;
    const char **ids = NULL;
    int64_t period_id, dept;
    int manager = 0;
    enum eq_err err;

    memset(out, 0, sizeof *out);
    memset(&who, 0, sizeof who);
    memset(&r, 0, sizeof r);
    out->outcome = "recorded";
    err = store_action_digest(ctx->st, token, &period_id, &dept);
    if (err == EQ_ERR_NOTFOUND) {
        review(out, "reply to a digest that was never logged");
        return EQ_OK;
    }
    if (err != EQ_OK)
        return err;
    if (dept == 0) {
        review(out, "reply to the HR digest");
        return EQ_OK;
    }
    if ((err = store_action_period(ctx->st, period_id, &per)) != EQ_OK)
        return err;
    if ((c = campaign_of(ctx, per.campaign_id)) == NULL) {
        review(out, "reply to a digest of a campaign no longer configured");
        return EQ_OK;
    }
    err = sender ? store_employee_find(ctx->st, sender, &who) : EQ_ERR_NOTFOUND;
    if (err == EQ_OK)
        err = is_manager(ctx->st, dept, who.id, &manager);
    if (err == EQ_ERR_NOTFOUND || (err == EQ_OK && !manager)) {
        review(out, "reply to a digest from someone who does not manage "
                    "its department");
        err = EQ_OK;
        goto out;
    }
    if (err != EQ_OK)
        goto out;
    if ((ids = calloc(c->n_metrics + 1, sizeof *ids)) == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < c->n_metrics; i++)
        ids[i] = c->metrics[i].id;
    if ((err = action_parse(text, ids, c->n_metrics, token, &r)) != EQ_OK)
        goto out;
    if (r.n_items == 0 && r.n_done == 0) {
        review(out, "reply to a digest without Actie:/Klaar: lines");
        goto out;
    }
    if ((k = calloc(1, sizeof *k)) == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    snprintf(k->token, sizeof k->token, "%s", token);
    k->n = inbound_id;
    if ((k->lang = strdup(lang_of(ctx->cfg, who.language))) == NULL ||
        (k->to = strdup(who.email)) == NULL ||
        (k->to_name = strdup(who.name ? who.name : "")) == NULL ||
        (k->period = strdup(per.label)) == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    if ((err = department_name(ctx->st, dept, &k->department)) != EQ_OK)
        goto out;
    err = record(ctx, &r, &per, dept, who.id, inbound_id, c, k, out);
    if (err == EQ_OK)
        snprintf(out->note, sizeof out->note,
                 "%zu action(s) recorded, %zu done, %zu line(s) not read",
                 out->added, out->closed, r.n_unread);
out:
    if (err == EQ_OK && strcmp(out->outcome, "recorded") == 0) {
        out->ack = k;
        k = NULL;
    }
    if (err != EQ_OK && err != EQ_ERR_NOMEM)
        eq_diag(diag, "feedback: %s", store_errmsg(ctx->st));
    feedback_ack_free(k);
    free(ids);
    action_reply_clear(&r);
    store_employee_clear(&who);
    return err;
}

/* Sends msg (from env) to one address. */
static enum eq_err
send_to(const struct feedback_ctx *ctx, const char *to, const char *env,
        const char *msg, size_t len, struct eq_buf *diag)
{
    const char *rcpt[1] = {to};
    struct transport_msg tm = {env, rcpt, 1, msg, len};
    struct transport_result res;
    enum eq_err err;

    memset(&res, 0, sizeof res);
    if (ctx->tx == NULL)
        return EQ_OK;
    err = transport_send(ctx->tx, &tm, &res);
    if (err != EQ_OK)
        eq_diag(diag, "feedback: sending to %s: %d %s", to, res.code, res.text);
    return err;
}

enum eq_err
feedback_ack_send(const struct feedback_ctx *ctx, const struct feedback_ack *k,
                  struct eq_buf *diag)
{
    struct compose_action_ack a = {
        .cfg = ctx->cfg,
        .templates_dir = ctx->templates_dir,
        .lang = k->lang,
        .token = k->token,
        .n = k->n,
        .to = k->to,
        .to_name = k->to_name,
        .department = k->department,
        .period = k->period,
        .added = k->added,
        .n_added = k->n_added,
        .closed = k->closed,
        .n_closed = k->n_closed,
        .unknown = k->unknown,
        .n_unknown = k->n_unknown,
        .unread = k->unread,
        .n_unread = k->n_unread,
        .now = ctx->now,
    };
    char *msg = NULL, *env = NULL;
    size_t len = 0;
    enum eq_err err = compose_action_ack(&a, &msg, &len, &env, diag);

    if (err == EQ_OK)
        err = send_to(ctx, k->to, env, msg, len, diag);
    free(msg);
    free(env);
    return err;
}

/* --- notices ------------------------------------------------------------ */

/* The actions of one period, per department, as the notices show them. */
struct period_actions {
    struct store_action *a;
    size_t n;
    eq_time newest;
};

/* One rater's mail: the departments of rows[from..to) (one employee). */
static enum eq_err
notice_one(const struct feedback_ctx *ctx, const struct campaign *c,
           const struct store_period *per, const struct period_actions *pa,
           const struct store_action_rater *rows, size_t from, size_t to,
           struct eq_buf *diag)
{
    const struct store_action_rater *r = &rows[from];
    const char *lang = lang_of(ctx->cfg, r->language);
    const char *title = strcmp(lang, "en") == 0 ? c->title_en : c->title_nl;
    struct compose_notice_dept *d = calloc(to - from, sizeof *d);
    struct compose_action *acts = calloc(pa->n + 1, sizeof *acts);
    size_t nd = 0, na = 0;
    char *msg = NULL, *env = NULL;
    size_t len = 0;
    int before;
    enum eq_err err = d && acts ? EQ_OK : EQ_ERR_NOMEM;

    for (size_t i = from; i < to && err == EQ_OK; i++) {
        size_t first = na;
        for (size_t j = 0; j < pa->n; j++) {
            if (pa->a[j].department_id != rows[i].department_id)
                continue;
            if (first == na)
                d[nd].department = pa->a[j].department_name;
            acts[na++] =
                (struct compose_action){pa->a[j].number, pa->a[j].text,
                                        metric_label(c, pa->a[j].metric, lang),
                                        pa->a[j].has_due, pa->a[j].due_day};
        }
        if (na > first) {
            d[nd].actions = &acts[first];
            d[nd++].n_actions = na - first;
        }
    }
    if (err == EQ_OK && nd > 0) {
        struct compose_action_notice n = {
            .cfg = ctx->cfg,
            .templates_dir = ctx->templates_dir,
            .lang = lang,
            .token = r->token,
            .to = r->email,
            .to_name = r->name ? r->name : "",
            .title = title && *title ? title : c->name,
            .period = per->label,
            .depts = d,
            .n_depts = nd,
            .now = ctx->now,
        };
        err = compose_action_notice(&n, &msg, &len, &env, diag);
        if (err == EQ_OK)
            err = send_to(ctx, r->email, env, msg, len, diag);
        /* Logged after the hand-over: a crash in between sends it twice,
         * never not at all. */
        if (err == EQ_OK)
            err = store_action_notice_log(ctx->st, per->id, r->employee_id,
                                          ctx->now, &before);
    }
    free(msg);
    free(env);
    free(d);
    free(acts);
    return err;
}

static enum eq_err
notices_period(const struct feedback_ctx *ctx, const struct campaign *c,
               int64_t period_id, struct feedback_summary *sum,
               struct eq_buf *diag)
{
    struct store_action_filter f = {.period_id = period_id};
    struct period_actions pa = {NULL, 0, 0};
    struct store_action_rater *rows = NULL;
    struct store_period per;
    size_t n = 0;
    enum eq_err err, first = EQ_OK;

    if ((err = store_action_period(ctx->st, period_id, &per)) != EQ_OK ||
        (err = store_actions(ctx->st, &f, &pa.a, &pa.n)) != EQ_OK)
        goto out;
    for (size_t i = 0; i < pa.n; i++)
        if (pa.a[i].created_at > pa.newest)
            pa.newest = pa.a[i].created_at;
    if (ctx->now - pa.newest < ctx->settle)
        goto out;
    if ((err = store_action_raters(ctx->st, period_id, &rows, &n)) != EQ_OK)
        goto out;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && rows[j].employee_id == rows[i].employee_id;)
            j++;
        struct eq_buf why = {0};
        enum eq_err e = notice_one(ctx, c, &per, &pa, rows, i, j, &why);
        if (e == EQ_OK) {
            sum->notices++;
        } else {
            sum->notices_failed++;
            eq_diag(diag, "feedback: notice to %s not sent: %s%s%s",
                    rows[i].email, eq_strerror(e), why.len ? ": " : "",
                    buf_str(&why));
            if (first == EQ_OK)
                first = e;
        }
        buf_free(&why);
        if (e == EQ_ERR_NOMEM || e == EQ_ERR_DB)
            break;
    }
out:
    if (err != EQ_OK)
        eq_diag(diag, "feedback: %s", store_errmsg(ctx->st));
    store_action_raters_free(rows, n);
    store_actions_free(pa.a, pa.n);
    return err != EQ_OK ? err : first;
}

enum eq_err
feedback_notices(const struct feedback_ctx *ctx, struct feedback_summary *sum,
                 struct eq_buf *diag)
{
    enum eq_err first = EQ_OK;

    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < ctx->n_campaigns; i++) {
        const struct campaign *c = ctx->campaigns[i];
        int64_t cid, *periods = NULL;
        size_t np = 0;
        enum eq_err err;

        if (!c->share_actions)
            continue;
        if (ctx->campaign_ids != NULL)
            cid = ctx->campaign_ids[i];
        else if ((err = store_campaign_ensure(ctx->st, c->name, &cid)) != EQ_OK)
            return err;
        err = store_action_periods(ctx->st, cid, &periods, &np);
        for (size_t p = 0; p < np && err != EQ_ERR_NOMEM; p++) {
            enum eq_err e = notices_period(ctx, c, periods[p], sum, diag);
            if (e != EQ_OK && err == EQ_OK)
                err = e;
        }
        free(periods);
        if (err != EQ_OK && first == EQ_OK)
            first = err;
    }
    return first;
}
