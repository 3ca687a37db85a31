#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "digest.h"
#include "eqtime.h"
#include "feedback.h"
#include "log.h"
#include "retention.h"
#include "schedule.h"
#include "store_ops.h"
#include "token.h"

#define DAY 86400
#define STATE(s) (1u << (s))

static enum eq_err
campaign_id(const struct run_ctx *ctx, const struct campaign *c, int64_t *id)
{
    return store_campaign_ensure(ctx->st, c->name, id);
}

static const char *
invite_language(const struct run_ctx *ctx, const struct campaign *c,
                const struct store_employee *e)
{
    if (strcmp(c->language, "employee") != 0)
        return c->language;
    if (e->language && *e->language)
        return e->language;
    return ctx->cfg->general.language;
}

/* Everything schedule needs for one campaign on one day, from the store. */
struct sched_data {
    struct store_employee *emps;
    struct store_department *deps;
    struct store_pair *last, *blocks, *counts;
    struct store_invitation *before;
    size_t n_emps, n_deps, n_last, n_blocks, n_counts, n_before;
    struct schedule_employee *se;
    struct schedule_provider *sp;
    struct schedule_block *sb;
    struct schedule_input in;
    struct period per;
    int64_t campaign_id, period_id;
};

static void
sched_free(struct sched_data *d)
{
    free(d->se);
    free(d->sp);
    free(d->sb);
    free(d->last);
    free(d->blocks);
    free(d->counts);
    store_invitations_free(d->before, d->n_before);
    store_employees_free(d->emps, d->n_emps);
    store_departments_free(d->deps, d->n_deps);
    memset(d, 0, sizeof *d);
}

static const char *
zone_of(const struct run_ctx *ctx, const struct campaign *c)
{
    return c->timezone ? c->timezone : ctx->cfg->general.timezone;
}

/* Campaigns with a period on day: they share people's quiet periods. */
static size_t
campaigns_on(const struct run_ctx *ctx, eq_day day)
{
    size_t k = 0;
    struct period p;

    for (size_t i = 0; i < ctx->n_campaigns; i++)
        k += campaign_period_of(ctx->campaigns[i], day, &p) == EQ_OK;
    return k;
}

/* Loads the input of c on local date day (its period is ensured in the
 * store). EQ_ERR_NOTFOUND when day is in none of c's periods. */
static enum eq_err
sched_load(const struct run_ctx *ctx, const struct campaign *c, eq_day day,
           struct sched_data *d)
{
    const char *tz = zone_of(ctx, c);
    enum eq_err err;

    memset(d, 0, sizeof *d);
    if (campaign_period_of(c, day, &d->per) != EQ_OK)
        return EQ_ERR_NOTFOUND;
    if ((err = campaign_id(ctx, c, &d->campaign_id)) != EQ_OK ||
        (err = store_period_ensure(ctx->st, d->campaign_id, d->per.label,
                                   d->per.first, d->per.last, &d->period_id)) !=
            EQ_OK ||
        (err = store_employees(ctx->st, &d->emps, &d->n_emps)) != EQ_OK ||
        (err = store_departments(ctx->st, &d->deps, &d->n_deps)) != EQ_OK ||
        (err = store_last_invited(ctx->st, &d->last, &d->n_last)) != EQ_OK ||
        (err = store_na_blocks(ctx->st, ctx->now - 365 * DAY, &d->blocks,
                               &d->n_blocks)) != EQ_OK ||
        (err = store_period_provider_counts(ctx->st, d->period_id, &d->counts,
                                            &d->n_counts)) != EQ_OK)
        return err;
    struct store_inv_filter f = {.period_id = d->period_id,
                                 .planned_before =
                                     eqtime_from_local(day, 0, tz) - 1};
    if ((err = store_invitations(ctx->st, &f, &d->before, &d->n_before)) !=
        EQ_OK)
        return err;
    d->se = calloc(d->n_emps ? d->n_emps : 1, sizeof *d->se);
    d->sp = calloc(d->n_deps ? d->n_deps : 1, sizeof *d->sp);
    d->sb = calloc(d->n_blocks ? d->n_blocks : 1, sizeof *d->sb);
    if (!d->se || !d->sp || !d->sb)
        return EQ_ERR_NOMEM;
    /* Both lists are ordered by employee id: one merge pass. */
    for (size_t i = 0, j = 0; i < d->n_emps; i++) {
        const struct store_employee *e = &d->emps[i];
        while (j < d->n_last && d->last[j].a < e->id)
            j++;
        if (j < d->n_last && d->last[j].a == e->id)
            d->se[i].last_invited = d->last[j].t;
        d->se[i].id = e->id;
        d->se[i].department_id = e->department_id;
        d->se[i].department_code = e->department_code;
        d->se[i].active = e->active;
        d->se[i].undeliverable = e->undeliverable;
        d->se[i].opted_out = e->opted_out;
        d->se[i].joined_at = e->joined_at;
    }
    for (size_t i = 0; i < d->n_blocks; i++) {
        d->sb[i].employee_id = d->blocks[i].a;
        d->sb[i].provider_department_id = d->blocks[i].b;
    }
    size_t n_sp = 0;
    for (size_t i = 0; i < d->n_deps; i++) {
        if (!campaign_has_provider(c, d->deps[i].code))
            continue;
        struct schedule_provider *p = &d->sp[n_sp++];
        p->department_id = d->deps[i].id;
        p->code = d->deps[i].code;
        for (size_t j = 0; j < d->n_before; j++)
            if (d->before[j].provider_department_id == d->deps[i].id &&
                d->before[j].state != INV_CANCELLED)
                p->invited_before_today++;
        for (size_t j = 0; j < d->n_counts; j++)
            if (d->counts[j].a == d->deps[i].id)
                p->planned_today = d->counts[j].n - p->invited_before_today;
    }
    size_t k = campaigns_on(ctx, day);
    d->in = (struct schedule_input){
        .c = c,
        .now = ctx->now,
        .timezone = tz,
        .quiet_period_days = ctx->cfg->general.quiet_period,
        .employees = d->se,
        .n_employees = d->n_emps,
        .providers = d->sp,
        .n_providers = n_sp,
        .blocks = d->sb,
        .n_blocks = d->n_blocks,
        .seed = ctx->seed,
        .capacity_share = k > 1 ? 1.0 / (double)k : 1.0,
    };
    return EQ_OK;
}

static enum eq_err
schedule_campaign(const struct run_ctx *ctx, const struct campaign *c,
                  struct run_summary *sum, struct eq_buf *diag)
{
    struct sched_data d;
    struct schedule_item *items = NULL;
    size_t n_items = 0;
    eq_day today;
    enum eq_err err;

    eqtime_to_local(ctx->now, zone_of(ctx, c), &today, NULL);
    if (!campaign_is_send_day(c, today))
        return EQ_OK;
    /* Once a day is planned, later ticks of that day (cron every minute)
     * skip reading the whole organisation: the marker commits with the
     * day's invitations, so a crash before that plans the day again. */
    char key[160], day_s[11], *done_day = NULL;
    eqtime_format_day(today, day_s);
    snprintf(key, sizeof key, "scheduled:%s", c->name);
    err = store_meta_get(ctx->st, key, &done_day);
    int already = err == EQ_OK && strcmp(done_day, day_s) == 0;
    free(done_day);
    if (err != EQ_OK && err != EQ_ERR_NOTFOUND)
        return err;
    if (already)
        return EQ_OK;
    err = sched_load(ctx, c, today, &d);
    if (err == EQ_ERR_NOTFOUND) {
        sched_free(&d);
        return EQ_OK;
    }
    if (err == EQ_OK)
        err = schedule_due(&d.in, &items, &n_items);
    for (size_t i = 0; i < n_items && err == EQ_OK; i++) {
        struct store_invitation inv;
        const struct store_employee *e = NULL;
        /* emps is ordered by id */
        size_t lo = 0, hi = d.n_emps;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (d.emps[mid].id < items[i].employee_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < d.n_emps && d.emps[lo].id == items[i].employee_id)
            e = &d.emps[lo];
        if (e == NULL)
            continue;
        memset(&inv, 0, sizeof inv);
        if ((err = token_new(inv.token)) != EQ_OK)
            break;
        inv.campaign_id = d.campaign_id;
        inv.period_id = d.period_id;
        inv.employee_id = e->id;
        inv.rater_department_id = e->department_id;
        inv.provider_department_id = items[i].provider_department_id;
        inv.language = (char *)invite_language(ctx, c, e);
        inv.state = INV_PLANNED;
        inv.planned_at = items[i].planned_at;
        inv.closes_at = items[i].planned_at + (eq_time)c->close_after * DAY;
        err = store_invitation_add(ctx->st, &inv);
        if (err == EQ_OK)
            sum->planned++;
    }
    if (err == EQ_OK)
        err = store_meta_set(ctx->st, key, day_s);
    if (err != EQ_OK)
        eq_diag(diag, "schedule %s: %s", c->name, eq_strerror(err));
    free(items);
    sched_free(&d);
    return err;
}

enum eq_err
run_feasibility(const struct run_ctx *ctx, const struct campaign *c, eq_day day,
                struct run_feasible **out, size_t *n, struct eq_buf *diag)
{
    struct sched_data d;
    struct schedule_feasible *rows = NULL;
    size_t n_rows = 0;
    enum eq_err err;

    *out = NULL;
    *n = 0;
    err = sched_load(ctx, c, day, &d);
    if (err == EQ_OK)
        err = schedule_feasibility(&d.in, &d.per, &rows, &n_rows);
    if (err == EQ_OK && n_rows > 0 &&
        (*out = calloc(n_rows, sizeof **out)) == NULL)
        err = EQ_ERR_NOMEM;
    for (size_t i = 0; err == EQ_OK && i < n_rows; i++) {
        struct run_feasible *f = &(*out)[i];
        f->f = rows[i];
        snprintf(f->period, sizeof f->period, "%s", d.per.label);
        for (size_t j = 0; j < d.n_deps; j++)
            if (d.deps[j].id == rows[i].department_id) {
                snprintf(f->code, sizeof f->code, "%s", d.deps[j].code);
                snprintf(f->name, sizeof f->name, "%s", d.deps[j].name);
            }
        (*n)++;
    }
    if (err != EQ_OK && err != EQ_ERR_NOTFOUND)
        eq_diag(diag, "feasibility %s: %s", c->name, eq_strerror(err));
    free(rows);
    sched_free(&d);
    return err;
}

enum eq_err
run_schedule(const struct run_ctx *ctx, struct run_summary *sum,
             struct eq_buf *diag)
{
    enum eq_err err = EQ_OK;

    for (size_t i = 0; i < ctx->n_campaigns && err == EQ_OK; i++) {
        if ((err = store_begin(ctx->st)) != EQ_OK)
            break;
        err = schedule_campaign(ctx, ctx->campaigns[i], sum, diag);
        if (err == EQ_OK)
            err = store_commit(ctx->st);
        else
            store_rollback(ctx->st);
    }
    return err;
}

static const struct campaign *
campaign_named(const struct run_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_campaigns; i++)
        if (name && strcmp(ctx->campaigns[i]->name, name) == 0)
            return ctx->campaigns[i];
    return NULL;
}

/* One invitation or reminder on its way. */
struct outgoing {
    struct store_invitation *inv;
    const struct campaign *c;
    int reminder; /* 0 = the invitation, N = Nth reminder */
    char *raw, *env;
    size_t len;
    const char *rcpt[1];
};

/* Builds the message and, for an invitation, commits `sending` before the
 * hand-over (DESIGN.md "State"). *ready = 0 when there is nothing to send:
 * the person is no longer reachable, or this mail cannot be built (it fails
 * alone, the others still go out). */
static enum eq_err
prepare(const struct run_ctx *ctx, struct outgoing *o, int *ready,
        struct run_summary *sum, struct eq_buf *diag)
{
    struct compose_invite ci = {
        .cfg = ctx->cfg,
        .campaign = o->c,
        .inv = o->inv,
        .templates_dir = ctx->cfg->general.templates,
        .reminder = o->reminder,
        .now = ctx->now,
    };
    struct eq_buf why = {0};
    enum eq_err err;

    *ready = 0;
    /* Nobody who left, opted out or bounces is mailed again. */
    if (!o->inv->reachable)
        return store_invitation_set_state(ctx->st, o->inv->id, INV_CANCELLED,
                                          ctx->now, "not reachable");
    if (compose_invitation(&ci, &o->raw, &o->len, &o->env, &why) != EQ_OK) {
        eq_diag(diag, "compose for %s: %s", o->inv->email, buf_str(&why));
        sum->failed++;
        err = store_invitation_set_state(ctx->st, o->inv->id, INV_FAILED,
                                         ctx->now, buf_str(&why));
        buf_free(&why);
        return err;
    }
    o->rcpt[0] = o->inv->email;
    if (!o->reminder &&
        (err = store_invitation_set_state(ctx->st, o->inv->id, INV_SENDING,
                                          ctx->now, NULL)) != EQ_OK)
        return err;
    *ready = 1;
    return EQ_OK;
}

/* Back-off for 4xx: 15 min, 1 h, 4 h, then daily. */
static eq_time
retry_after(int attempts)
{
    static const eq_time steps[] = {900, 3600, 4 * 3600};
    return attempts < 3 ? steps[attempts] : DAY;
}

/* The enhanced status code (RFC 3463, "4.2.0") after the basic code at the
 * start of a server's reply text, or "" when it has none. Logs carry the
 * codes only: the rest of the text often names the recipient. */
static void
reply_status(const char *text, char *out, size_t cap)
{
    const char *p = text;
    size_t n = 0;

    out[0] = '\0';
    if (strspn(p, "0123456789") == 3 && (p[3] == ' ' || p[3] == '-'))
        p += 4;
    while (*p == ' ')
        p++;
    if (*p != '2' && *p != '4' && *p != '5')
        return;
    for (int part = 0; part < 3; part++) {
        size_t digits = 0;
        if (part > 0 && p[n++] != '.')
            return;
        while (p[n] >= '0' && p[n] <= '9' && digits < 3)
            n++, digits++;
        if (digits == 0 || (part == 0 && digits != 1))
            return;
    }
    if ((p[n] >= '0' && p[n] <= '9') || p[n] == '.' || n >= cap)
        return;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* " invitation=12" (or " reminder=12"), except in anonymous campaigns:
 * there the id would link a person's mail to a time after anonymisation
 * unlinked their answers, so only the kind of mail is named. */
static void
log_mail(const struct outgoing *o, char *out, size_t cap)
{
    const char *what = o->reminder ? "reminder" : "invitation";

    if (o->c->anonymous)
        snprintf(out, cap, " mail=%s", what);
    else
        snprintf(out, cap, " %s=%lld", what, (long long)o->inv->id);
}

/* One line for a refused or failed hand-over: codes, never reply text. A
 * requeued mail also says why the server was not usable (eq_strerror). */
static void
log_refusal(const char *event, const struct outgoing *o,
            const struct transport_result *res)
{
    char mail[48], status[16], attempts[32] = "", why[64] = "";

    if (!log_enabled(LOG_INFO))
        return;
    log_mail(o, mail, sizeof mail);
    reply_status(res->text, status, sizeof status);
    if (res->err == EQ_ERR_TEMP && !o->reminder)
        snprintf(attempts, sizeof attempts, " attempts=%d",
                 o->inv->attempts + 1);
    if (res->err != EQ_ERR_TEMP && res->err != EQ_ERR_DATA)
        snprintf(why, sizeof why, " why=\"%s\"", eq_strerror(res->err));
    log_msg(LOG_INFO, "%s campaign=%s%s%s code=%d%s%s%s", event, o->c->name,
            mail, attempts, res->code, status[0] ? " status=" : "", status,
            why);
}

/* The outcome of one hand-over, committed after the server's reply. */
static enum eq_err
record(const struct run_ctx *ctx, const struct outgoing *o,
       const struct transport_result *res, struct run_summary *sum,
       struct eq_buf *diag)
{
    const struct store_invitation *inv = o->inv;
    char mail[48];

    log_mail(o, mail, sizeof mail);
    switch (res->err) {
    case EQ_OK:
        if (o->reminder) {
            sum->reminded++;
            log_msg(LOG_INFO,
                    "reminder sent campaign=%s%s provider=%s "
                    "reminder=%d",
                    o->c->name, o->c->anonymous ? "" : mail, inv->provider_code,
                    o->reminder);
            return store_invitation_reminded(ctx->st, inv->id, ctx->now);
        }
        sum->sent++;
        log_msg(LOG_INFO, "sent campaign=%s%s provider=%s", o->c->name,
                o->c->anonymous ? "" : mail, inv->provider_code);
        return store_invitation_set_state(ctx->st, inv->id, INV_SENT, ctx->now,
                                          NULL);
    case EQ_ERR_TEMP:
        sum->deferred++;
        log_refusal("deferred", o, res);
        if (o->reminder)
            return EQ_OK; /* the next run tries the reminder again */
        return store_invitation_defer(
            ctx->st, inv->id, ctx->now + retry_after(inv->attempts), res->text);
    case EQ_ERR_DATA:
        sum->failed++;
        log_refusal("failed", o, res);
        eq_diag(diag, "send to %s: %s", inv->email, res->text);
        return store_invitation_set_state(ctx->st, inv->id, INV_FAILED,
                                          ctx->now, res->text);
    default:
        /* Login refused, TLS unavailable: not this mail's fault; it goes
         * back to the queue. */
        log_refusal("requeued", o, res);
        if (o->reminder)
            return EQ_OK;
        return store_invitation_set_state(ctx->st, inv->id, INV_PLANNED,
                                          ctx->now, res->text);
    }
}

/* Appends the mail due now from list to out. */
static enum eq_err
gather(const struct run_ctx *ctx, struct store_invitation *list, size_t n,
       int reminders, struct outgoing **out, size_t *n_out)
{
    for (size_t i = 0; i < n; i++) {
        const struct campaign *c = campaign_named(ctx, list[i].campaign);
        int r = 0;
        if (c == NULL || list[i].closes_at <= ctx->now)
            continue; /* campaign file removed, or expire() takes it */
        if (reminders) {
            eq_time due = schedule_reminder_at(
                c, zone_of(ctx, c), list[i].sent_at, list[i].reminders + 1);
            if (due == 0 || due > ctx->now)
                continue;
            r = list[i].reminders + 1;
        }
        struct outgoing *g = realloc(*out, (*n_out + 1) * sizeof **out);
        if (g == NULL)
            return EQ_ERR_NOMEM;
        *out = g;
        memset(&g[*n_out], 0, sizeof g[0]);
        g[*n_out].inv = &list[i];
        g[*n_out].c = c;
        g[(*n_out)++].reminder = r;
    }
    return EQ_OK;
}

/* One batch: at most transport_parallel() messages. */
struct batch {
    struct transport_msg *msgs;
    struct transport_result *res;
    struct outgoing **out;
    size_t k;
};

/* Builds the next batch from out[*i…] and commits its `sending` in one
 * transaction, before anything is handed over. */
static enum eq_err
batch_prepare(const struct run_ctx *ctx, struct outgoing *out, size_t n,
              size_t *i, size_t par, struct batch *b, struct run_summary *sum,
              struct eq_buf *diag)
{
    enum eq_err err = store_begin(ctx->st);

    b->k = 0;
    for (; err == EQ_OK && *i < n && b->k < par; (*i)++) {
        int ready;
        struct outgoing *o = &out[*i];
        err = prepare(ctx, o, &ready, sum, diag);
        if (err == EQ_OK && ready) {
            b->out[b->k] = o;
            b->msgs[b->k] =
                (struct transport_msg){o->env, o->rcpt, 1, o->raw, o->len};
            b->k++;
        }
    }
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
    return err;
}

/* Waits for the batch in flight and commits its outcomes. */
static enum eq_err
batch_finish(const struct run_ctx *ctx, struct batch *b, enum eq_err *stop,
             struct run_summary *sum, struct eq_buf *diag)
{
    enum eq_err err;

    *stop = transport_wait(ctx->tx);
    if ((err = store_begin(ctx->st)) != EQ_OK)
        return err;
    for (size_t j = 0; j < b->k && err == EQ_OK; j++)
        err = record(ctx, b->out[j], &b->res[j], sum, diag);
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
    for (size_t j = 0; j < b->k; j++) {
        free(b->out[j]->raw);
        free(b->out[j]->env);
        b->out[j]->raw = b->out[j]->env = NULL;
    }
    if (*stop != EQ_OK && b->k > 0)
        eq_diag(diag, "outgoing mail: %s; the rest waits for the next run",
                b->res[b->k - 1].text);
    b->k = 0;
    return err;
}

/* Sends out[0…n) in batches of par. While one batch is on its way the next
 * is composed and committed as `sending`: a crash leaves that one to the
 * next run and never sends it twice; only the batch on the wire (at most
 * par) can go twice. Returns with nothing in flight. */
static int
halted(const struct run_ctx *ctx)
{
    return ctx->stop != NULL && *ctx->stop != 0;
}

static enum eq_err
send_all(const struct run_ctx *ctx, struct outgoing *out, size_t n, size_t par,
         struct batch b[2], enum eq_err *stop, struct run_summary *sum,
         struct eq_buf *diag)
{
    size_t i = 0;
    int cur = 0, flying = -1;
    enum eq_err err = EQ_OK;

    /* Once halted, nothing new is prepared: the batch on the wire is
     * collected and the loop ends with nothing left `sending`. */
    while (err == EQ_OK && *stop == EQ_OK &&
           ((i < n && !halted(ctx)) || flying >= 0)) {
        if (i < n && !halted(ctx))
            err = batch_prepare(ctx, out, n, &i, par, &b[cur], sum, diag);
        if (flying >= 0) {
            enum eq_err e2 = batch_finish(ctx, &b[flying], stop, sum, diag);
            if (err == EQ_OK)
                err = e2;
            flying = -1;
        }
        if (err != EQ_OK || *stop != EQ_OK || b[cur].k == 0)
            continue; /* b[cur] is empty when halted: nothing prepared */
        transport_submit(ctx->tx, b[cur].msgs, b[cur].k, b[cur].res);
        flying = cur;
        cur ^= 1;
    }
    if (flying >= 0) { /* stopped by an error: still collect the batch */
        enum eq_err e2 = batch_finish(ctx, &b[flying], stop, sum, diag);
        if (err == EQ_OK)
            err = e2;
    }
    /* A batch prepared while the server turned out unusable never left:
     * back to the queue, not `sending`. */
    if (err == EQ_OK && *stop != EQ_OK && b[cur].k > 0) {
        err = store_begin(ctx->st);
        for (size_t j = 0; j < b[cur].k && err == EQ_OK; j++)
            if (!b[cur].out[j]->reminder)
                err =
                    store_invitation_set_state(ctx->st, b[cur].out[j]->inv->id,
                                               INV_PLANNED, ctx->now, NULL);
        if (err == EQ_OK)
            err = store_commit(ctx->st);
        else
            store_rollback(ctx->st);
    }
    b[cur].k = 0;
    return err;
}

/* Due mail is read a page at a time (the queue as ids, the rows per page),
 * so memory stays flat however long the queue. */
#define SEND_PAGE 256

enum eq_err
run_send(const struct run_ctx *ctx, struct run_summary *sum,
         struct eq_buf *diag)
{
    /* New invitations (and any left in `sending` by a crash: they go again
     * with the same Message-ID), the deferred ones due again, and the
     * reminders due. */
    struct store_inv_filter q[3] = {
        {.state_mask = STATE(INV_PLANNED) | STATE(INV_SENDING),
         .planned_before = ctx->now},
        {.state_mask = STATE(INV_DEFERRED), .next_attempt_before = ctx->now},
        {.state_mask = STATE(INV_SENT) | STATE(INV_REMINDED)},
    };
    size_t par = transport_parallel(ctx->tx), total = 0, done = 0;
    /* No reminder comes before the shortest reminder_after. */
    int soonest = 0;
    for (size_t c = 0; c < ctx->n_campaigns; c++)
        if (soonest == 0 || ctx->campaigns[c]->reminder_after < soonest)
            soonest = ctx->campaigns[c]->reminder_after;
    /* A day of slack: reminders fall on the same local clock time, which a
     * DST change moves by an hour; schedule_reminder_at decides exactly. */
    q[2].sent_before = ctx->now - (eq_time)(soonest - 1) * DAY;
    int64_t *ids[3] = {NULL, NULL, NULL};
    size_t n_ids[3] = {0, 0, 0};
    struct store_invitation *page = NULL;
    size_t np = 0;
    struct batch b[2];
    enum eq_err err = EQ_OK, stop = EQ_OK;

    memset(b, 0, sizeof b);
    if (par < 1)
        par = 1;
    for (int j = 0; j < 3 && err == EQ_OK; j++) {
        err = store_invitation_ids(ctx->st, &q[j], &ids[j], &n_ids[j]);
        total += n_ids[j];
    }
    for (int j = 0; j < 2 && err == EQ_OK; j++) {
        b[j].msgs = calloc(par, sizeof *b[j].msgs);
        b[j].res = calloc(par, sizeof *b[j].res);
        b[j].out = calloc(par, sizeof *b[j].out);
        if (!b[j].msgs || !b[j].res || !b[j].out)
            err = EQ_ERR_NOMEM;
    }
    for (int j = 0; j < 3 && err == EQ_OK && stop == EQ_OK; j++) {
        for (size_t at = 0;
             at < n_ids[j] && err == EQ_OK && stop == EQ_OK && !halted(ctx);) {
            struct outgoing *out = NULL;
            size_t n = 0, take = n_ids[j] - at;
            if (take > SEND_PAGE)
                take = SEND_PAGE;
            err =
                store_invitations_by_id(ctx->st, ids[j] + at, take, &page, &np);
            at += take;
            if (err == EQ_OK)
                err = gather(ctx, page, np, j == 2, &out, &n);
            if (err == EQ_OK && n > 0)
                err = send_all(ctx, out, n, par, b, &stop, sum, diag);
            for (size_t k = 0; k < n; k++) {
                free(out[k].raw);
                free(out[k].env);
            }
            free(out);
            store_invitations_free(page, np);
            page = NULL;
            done += take;
            if (ctx->progress)
                ctx->progress(ctx->progress_arg, done, total);
        }
    }
    for (int j = 0; j < 3; j++)
        free(ids[j]);
    for (int j = 0; j < 2; j++) {
        free(b[j].msgs);
        free(b[j].res);
        free(b[j].out);
    }
    return err != EQ_OK ? err : stop;
}

enum eq_err
run_expire(const struct run_ctx *ctx, struct run_summary *sum,
           struct eq_buf *diag)
{
    struct store_invitation *inv = NULL;
    size_t n = 0, cancelled = 0;
    enum eq_err err;
    struct store_inv_filter f = {
        .state_mask = STATE(INV_PLANNED) | STATE(INV_SENDING) |
                      STATE(INV_SENT) | STATE(INV_REMINDED) |
                      STATE(INV_DEFERRED),
        .closes_before = ctx->now,
    };

    if ((err = store_invitations(ctx->st, &f, &inv, &n)) != EQ_OK)
        return err;
    if ((err = store_begin(ctx->st)) != EQ_OK)
        goto out;
    for (size_t i = 0; i < n && err == EQ_OK; i++) {
        /* Never delivered: it was no invitation, so it does not count
         * against the response rate. */
        int never = inv[i].state == INV_PLANNED || inv[i].state == INV_DEFERRED;
        err = store_invitation_set_state(ctx->st, inv[i].id,
                                         never ? INV_CANCELLED : INV_EXPIRED,
                                         ctx->now, never ? "never sent" : NULL);
        sum->expired += err == EQ_OK && !never;
        cancelled += err == EQ_OK && never;
    }
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
    if (err == EQ_OK && n > 0)
        log_msg(LOG_INFO, "expired invitations=%zu cancelled=%zu",
                n - cancelled, cancelled);
out:
    if (err != EQ_OK)
        eq_diag(diag, "expire: %s", store_errmsg(ctx->st));
    store_invitations_free(inv, n);
    return err;
}

/* One line per digest this tick sent: the period and the recipient's
 * department (the log names no address and no figure). */
static void
log_digests(const struct run_ctx *ctx, const struct campaign *c)
{
    struct store_ops_digest *d = NULL;
    size_t n = 0;

    if (!log_enabled(LOG_INFO) ||
        store_ops_digests_at(ctx->st, c->name, ctx->now, &d, &n) != EQ_OK)
        return;
    for (size_t i = 0; i < n; i++)
        log_msg(LOG_INFO, "digest sent campaign=%s period=%s department=%s",
                c->name, d[i].period,
                d[i].department ? d[i].department : "(organisation)");
    store_ops_digests_free(d, n);
}

static enum eq_err
run_digests(const struct run_ctx *ctx, struct run_summary *sum,
            struct eq_buf *diag)
{
    enum eq_err err = EQ_OK;

    for (size_t i = 0; i < ctx->n_campaigns && err == EQ_OK; i++) {
        struct digest_summary ds;
        memset(&ds, 0, sizeof ds);
        err = digest_run(ctx->st, ctx->cfg, ctx->campaigns[i], ctx->tx,
                         ctx->now, 0, &ds, NULL, diag);
        sum->digests += ds.sent;
        if (ds.sent > 0)
            log_digests(ctx, ctx->campaigns[i]);
    }
    return err;
}

/* A failed step does not stop the others (mail that cannot go out must not
 * keep replies from coming in); only the store failing does. The first
 * error is returned. */
static int
fatal(enum eq_err err)
{
    return err == EQ_ERR_DB || err == EQ_ERR_NOMEM || err == EQ_ERR_SOFTWARE;
}

enum eq_err
run_tick(const struct run_ctx *ctx, unsigned steps, struct run_summary *sum,
         struct eq_buf *diag)
{
    enum eq_err first = EQ_OK, err;
    int64_t *ids = NULL;

#define STEP(call)                                                             \
    do {                                                                       \
        err = (call);                                                          \
        if (first == EQ_OK)                                                    \
            first = err;                                                       \
        if (fatal(err)) {                                                      \
            first = err;                                                       \
            goto out;                                                          \
        }                                                                      \
    } while (0)
    if (steps & RUN_SCHEDULE)
        STEP(run_schedule(ctx, sum, diag));
    /* Closed invitations first: nothing is sent for a closed one. */
    if (steps & RUN_EXPIRE)
        STEP(run_expire(ctx, sum, diag));
    if ((steps & RUN_SEND) && ctx->tx)
        STEP(run_send(ctx, sum, diag));
    if ((steps & RUN_INGEST) && ctx->src) {
        ids = calloc(ctx->n_campaigns ? ctx->n_campaigns : 1, sizeof *ids);
        if (ids == NULL) {
            first = EQ_ERR_NOMEM;
            goto out;
        }
        err = EQ_OK;
        for (size_t i = 0; i < ctx->n_campaigns && err == EQ_OK; i++)
            err = campaign_id(ctx, ctx->campaigns[i], &ids[i]);
        struct ingest_ctx ic = {ctx->st, ctx->cfg,         ctx->campaigns,
                                ids,     ctx->n_campaigns, ctx->now,
                                ctx->tx, ctx->stop};
        STEP(err != EQ_OK ? err : ingest_run(&ic, ctx->src, &sum->in, diag));
    }
    if (steps & RUN_EXPIRE)
        STEP(run_expire(ctx, sum, diag)); /* what closed while we worked */
    if ((steps & RUN_DIGEST) && ctx->tx)
        STEP(run_digests(ctx, sum, diag));
    /* "You said, we did": raters hear of their departments' actions. */
    if ((steps & RUN_DIGEST) && ctx->tx) {
        struct feedback_ctx fc = {.st = ctx->st,
                                  .cfg = ctx->cfg,
                                  .campaigns = ctx->campaigns,
                                  .n_campaigns = ctx->n_campaigns,
                                  .tx = ctx->tx,
                                  .now = ctx->now,
                                  .settle = 2 * 86400};
        struct feedback_summary fs;
        memset(&fs, 0, sizeof fs);
        err = feedback_notices(&fc, &fs, diag);
        sum->notices += fs.notices;
        STEP(err);
    }
    /* After the digests: a period is anonymised once its digest is out. */
    if (steps & RUN_DIGEST) {
        struct retention_summary rs;
        memset(&rs, 0, sizeof rs);
        STEP(retention_run(ctx->st, ctx->cfg, ctx->campaigns, ctx->n_campaigns,
                           ctx->src, ctx->now, &rs, diag));
    }
#undef STEP
out:
    free(ids);
    log_msg(first == EQ_OK ? LOG_INFO : LOG_WARN,
            "tick planned=%zu sent=%zu reminded=%zu deferred=%zu failed=%zu "
            "replies=%zu recorded=%zu review=%zu bounces=%zu "
            "auto_replies=%zu opt_outs=%zu late=%zu expired=%zu digests=%zu "
            "result=\"%s\"",
            sum->planned, sum->sent, sum->reminded, sum->deferred, sum->failed,
            sum->in.seen, sum->in.recorded, sum->in.review, sum->in.bounces,
            sum->in.auto_replies, sum->in.opt_outs, sum->in.late, sum->expired,
            sum->digests, eq_strerror(first));
    return first;
}

enum eq_err
run_plan(const struct run_ctx *ctx, eq_day from, eq_day to,
         struct store_invitation **out, size_t *n, struct eq_buf *diag)
{
    const char *tz = ctx->cfg->general.timezone;
    struct store_invitation *all = NULL;
    struct run_summary sum;
    size_t n_all = 0, k = 0;
    enum eq_err err = EQ_OK;

    *out = NULL;
    *n = 0;
    memset(&sum, 0, sizeof sum);
    for (eq_day d = from; d <= to && err == EQ_OK; d++) {
        /* Just after midnight: each day's invitations land in its window. */
        struct run_ctx day = *ctx;
        day.now = eqtime_from_local(d, 1, tz);
        err = run_schedule(&day, &sum, diag);
    }
    struct store_inv_filter f = {.state_mask = STATE(INV_PLANNED)};
    if (err == EQ_OK)
        err = store_invitations(ctx->st, &f, &all, &n_all);
    if (err != EQ_OK)
        return err;
    eq_time lo = eqtime_from_local(from, 0, tz);
    eq_time hi = eqtime_from_local(to + 1, 0, tz);
    for (size_t i = 0; i < n_all; i++) {
        if (all[i].planned_at >= lo && all[i].planned_at < hi)
            all[k++] = all[i];
        else
            store_invitation_clear(&all[i]);
    }
    *out = all;
    *n = k;
    return EQ_OK;
}

void
run_summary_format(const struct run_summary *s, struct eq_buf *out)
{
    buf_printf(out,
               "planned %zu, sent %zu, reminded %zu, deferred %zu, failed %zu, "
               "replies %zu (recorded %zu, review %zu, bounces %zu, "
               "auto-replies %zu, opt-outs %zu, late %zu, duplicates %zu), "
               "confirmations %zu (failed %zu), expired %zu, digests %zu, "
               "notices %zu",
               s->planned, s->sent, s->reminded, s->deferred, s->failed,
               s->in.seen, s->in.recorded, s->in.review, s->in.bounces,
               s->in.auto_replies, s->in.opt_outs, s->in.late, s->in.duplicates,
               s->in.confirmations, s->in.confirmations_failed, s->expired,
               s->digests, s->notices);
}
