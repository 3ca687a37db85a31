#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose.h"
#include "digest.h"
#include "eqtime.h"
#include "log.h"
#include "schedule.h"
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

/* Everything schedule needs for one campaign on today's date. */
static enum eq_err
schedule_campaign(const struct run_ctx *ctx, const struct campaign *c,
                  struct run_summary *sum, struct eq_buf *diag)
{
    const char *tz = c->timezone ? c->timezone : ctx->cfg->general.timezone;
    struct store_employee *emps = NULL;
    struct store_department *deps = NULL;
    struct store_pair *last = NULL, *blocks = NULL, *counts = NULL;
    struct store_invitation *before = NULL;
    struct schedule_employee *se = NULL;
    struct schedule_provider *sp = NULL;
    struct schedule_block *sb = NULL;
    struct schedule_item *items = NULL;
    size_t n_emps = 0, n_deps = 0, n_last = 0, n_blocks = 0, n_counts = 0;
    size_t n_before = 0, n_sp = 0, n_items = 0;
    struct period per;
    int64_t cid, pid;
    eq_day today;
    enum eq_err err;

    eqtime_to_local(ctx->now, tz, &today, NULL);
    if (!campaign_is_send_day(c, today) ||
        campaign_period_of(c, today, &per) != EQ_OK)
        return EQ_OK;
    if ((err = campaign_id(ctx, c, &cid)) != EQ_OK ||
        (err = store_period_ensure(ctx->st, cid, per.label, per.first,
                                   per.last, &pid)) != EQ_OK)
        goto out;
    if ((err = store_employees(ctx->st, &emps, &n_emps)) != EQ_OK ||
        (err = store_departments(ctx->st, &deps, &n_deps)) != EQ_OK ||
        (err = store_last_invited(ctx->st, &last, &n_last)) != EQ_OK ||
        (err = store_na_blocks(ctx->st, ctx->now - 365 * DAY, &blocks,
                               &n_blocks)) != EQ_OK ||
        (err = store_period_provider_counts(ctx->st, pid, &counts,
                                            &n_counts)) != EQ_OK)
        goto out;
    struct store_inv_filter f = {.period_id = pid,
                                 .planned_before =
                                     eqtime_from_local(today, 0, tz) - 1};
    if ((err = store_invitations(ctx->st, &f, &before, &n_before)) != EQ_OK)
        goto out;

    err = EQ_ERR_NOMEM;
    se = calloc(n_emps ? n_emps : 1, sizeof *se);
    sp = calloc(n_deps ? n_deps : 1, sizeof *sp);
    sb = calloc(n_blocks ? n_blocks : 1, sizeof *sb);
    if (!se || !sp || !sb)
        goto out;
    /* Both lists are ordered by employee id: one merge pass. */
    for (size_t i = 0, j = 0; i < n_emps; i++) {
        while (j < n_last && last[j].a < emps[i].id)
            j++;
        if (j < n_last && last[j].a == emps[i].id)
            se[i].last_invited = last[j].t;
        se[i].id = emps[i].id;
        se[i].department_id = emps[i].department_id;
        se[i].department_code = emps[i].department_code;
        se[i].active = emps[i].active;
        se[i].undeliverable = emps[i].undeliverable;
        se[i].opted_out = emps[i].opted_out;
    }
    for (size_t i = 0; i < n_blocks; i++) {
        sb[i].employee_id = blocks[i].a;
        sb[i].provider_department_id = blocks[i].b;
    }
    for (size_t i = 0; i < n_deps; i++) {
        if (!campaign_has_provider(c, deps[i].code))
            continue;
        struct schedule_provider *p = &sp[n_sp++];
        p->department_id = deps[i].id;
        p->code = deps[i].code;
        for (size_t j = 0; j < n_before; j++)
            if (before[j].provider_department_id == deps[i].id &&
                before[j].state != INV_CANCELLED)
                p->invited_before_today++;
        for (size_t j = 0; j < n_counts; j++)
            if (counts[j].a == deps[i].id)
                p->planned_today = counts[j].n - p->invited_before_today;
    }
    struct schedule_input in = {
        .c = c,
        .now = ctx->now,
        .timezone = tz,
        .quiet_period_days = ctx->cfg->general.quiet_period,
        .employees = se,
        .n_employees = n_emps,
        .providers = sp,
        .n_providers = n_sp,
        .blocks = sb,
        .n_blocks = n_blocks,
        .seed = ctx->seed,
    };
    if ((err = schedule_due(&in, &items, &n_items)) != EQ_OK)
        goto out;
    for (size_t i = 0; i < n_items && err == EQ_OK; i++) {
        struct store_invitation inv;
        const struct store_employee *e = NULL;
        memset(&inv, 0, sizeof inv);
        for (size_t j = 0; j < n_emps; j++)
            if (emps[j].id == items[i].employee_id)
                e = &emps[j];
        if (e == NULL)
            continue;
        if ((err = token_new(inv.token)) != EQ_OK)
            break;
        inv.campaign_id = cid;
        inv.period_id = pid;
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
out:
    if (err != EQ_OK)
        eq_diag(diag, "schedule %s: %s", c->name, eq_strerror(err));
    free(items);
    free(se);
    free(sp);
    free(sb);
    free(last);
    free(blocks);
    free(counts);
    store_invitations_free(before, n_before);
    store_employees_free(emps, n_emps);
    store_departments_free(deps, n_deps);
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

/* Nobody who left, opted out or bounces is mailed again. */
static enum eq_err
still_reachable(const struct run_ctx *ctx, const struct store_invitation *inv,
                int *ok)
{
    struct store_employee e;
    enum eq_err err;

    memset(&e, 0, sizeof e);
    err = store_employee_get(ctx->st, inv->employee_id, &e);
    *ok = err == EQ_OK && e.active && !e.opted_out && !e.undeliverable;
    store_employee_clear(&e);
    return err == EQ_ERR_NOTFOUND ? EQ_OK : err;
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
    int ok;

    *ready = 0;
    if ((err = still_reachable(ctx, o->inv, &ok)) != EQ_OK)
        return err;
    if (!ok)
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

/* The outcome of one hand-over, committed after the server's reply. */
static enum eq_err
record(const struct run_ctx *ctx, const struct outgoing *o,
       const struct transport_result *res, struct run_summary *sum,
       struct eq_buf *diag)
{
    const struct store_invitation *inv = o->inv;

    switch (res->err) {
    case EQ_OK:
        if (o->reminder) {
            sum->reminded++;
            return store_invitation_reminded(ctx->st, inv->id, ctx->now);
        }
        sum->sent++;
        return store_invitation_set_state(ctx->st, inv->id, INV_SENT,
                                          ctx->now, NULL);
    case EQ_ERR_TEMP:
        sum->deferred++;
        if (o->reminder)
            return EQ_OK; /* the next run tries the reminder again */
        return store_invitation_defer(ctx->st, inv->id,
                                      ctx->now + retry_after(inv->attempts),
                                      res->text);
    case EQ_ERR_DATA:
        sum->failed++;
        eq_diag(diag, "send to %s: %s", inv->email, res->text);
        return store_invitation_set_state(ctx->st, inv->id, INV_FAILED,
                                          ctx->now, res->text);
    default:
        /* Login refused, TLS unavailable: not this mail's fault; it goes
         * back to the queue. */
        if (o->reminder)
            return EQ_OK;
        return store_invitation_set_state(ctx->st, inv->id, INV_PLANNED,
                                          ctx->now, res->text);
    }
}

/* Reminders go out like invitations: on send days, inside the window. */
static int
reminder_time(const struct run_ctx *ctx, const struct campaign *c)
{
    const char *tz = c->timezone ? c->timezone : ctx->cfg->general.timezone;
    eq_day today;
    int minute;

    eqtime_to_local(ctx->now, tz, &today, &minute);
    return campaign_is_send_day(c, today) && minute >= c->window_start;
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
            eq_time due = list[i].sent_at + (eq_time)c->reminder_after * DAY *
                                                (list[i].reminders + 1);
            if (list[i].reminders >= c->max_reminders || due > ctx->now ||
                !reminder_time(ctx, c))
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
    struct store_invitation *list[3] = {NULL, NULL, NULL};
    size_t n_list[3] = {0, 0, 0}, n = 0, par = transport_parallel(ctx->tx);
    struct outgoing *out = NULL;
    struct transport_msg *msgs = NULL;
    struct transport_result *res = NULL;
    struct outgoing **batch = NULL;
    enum eq_err err = EQ_OK, stop = EQ_OK;

    for (int i = 0; i < 3 && err == EQ_OK; i++)
        if ((err = store_invitations(ctx->st, &q[i], &list[i], &n_list[i])) ==
            EQ_OK)
            err = gather(ctx, list[i], n_list[i], i == 2, &out, &n);
    if (err != EQ_OK || n == 0)
        goto out;
    if (par < 1)
        par = 1;
    msgs = calloc(par, sizeof *msgs);
    res = calloc(par, sizeof *res);
    batch = calloc(par, sizeof *batch);
    if (!msgs || !res || !batch) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    /* Batches of as many as the transport hands over at once: a crash can
     * send only those twice. */
    for (size_t i = 0; i < n && err == EQ_OK && stop == EQ_OK;) {
        size_t k = 0;
        /* One commit for the batch's `sending`, before the hand-over, and
         * one for its outcomes after. */
        if ((err = store_begin(ctx->st)) != EQ_OK)
            break;
        for (; i < n && k < par && err == EQ_OK; i++) {
            int ready;
            err = prepare(ctx, &out[i], &ready, sum, diag);
            if (err == EQ_OK && ready) {
                batch[k] = &out[i];
                msgs[k] = (struct transport_msg){out[i].env, out[i].rcpt, 1,
                                                 out[i].raw, out[i].len};
                k++;
            }
        }
        if (err == EQ_OK)
            err = store_commit(ctx->st);
        else
            store_rollback(ctx->st);
        if (err != EQ_OK || k == 0)
            continue;
        stop = transport_send_many(ctx->tx, msgs, k, res);
        if ((err = store_begin(ctx->st)) != EQ_OK)
            break;
        for (size_t j = 0; j < k && err == EQ_OK; j++)
            err = record(ctx, batch[j], &res[j], sum, diag);
        if (err == EQ_OK)
            err = store_commit(ctx->st);
        else
            store_rollback(ctx->st);
        for (size_t j = 0; j < k; j++) {
            free(batch[j]->raw);
            free(batch[j]->env);
            batch[j]->raw = batch[j]->env = NULL;
        }
        if (ctx->progress)
            ctx->progress(ctx->progress_arg, i, n);
        if (stop != EQ_OK)
            eq_diag(diag, "outgoing mail: %s; the rest waits for the next run",
                    res[k - 1].text);
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(out[i].raw);
        free(out[i].env);
    }
    free(out);
    free(msgs);
    free(res);
    free(batch);
    for (int i = 0; i < 3; i++)
        store_invitations_free(list[i], n_list[i]);
    return err != EQ_OK ? err : stop;
}

enum eq_err
run_expire(const struct run_ctx *ctx, struct run_summary *sum,
           struct eq_buf *diag)
{
    struct store_invitation *inv = NULL;
    size_t n = 0;
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
    }
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
out:
    if (err != EQ_OK)
        eq_diag(diag, "expire: %s", store_errmsg(ctx->st));
    store_invitations_free(inv, n);
    return err;
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
        struct ingest_ctx ic = {ctx->st, ctx->cfg, ctx->campaigns, ids,
                                ctx->n_campaigns, ctx->now};
        STEP(err != EQ_OK ? err : ingest_run(&ic, ctx->src, &sum->in, diag));
    }
    if (steps & RUN_EXPIRE)
        STEP(run_expire(ctx, sum, diag)); /* what closed while we worked */
    if ((steps & RUN_DIGEST) && ctx->tx)
        STEP(run_digests(ctx, sum, diag));
#undef STEP
out:
    free(ids);
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
               "expired %zu, digests %zu",
               s->planned, s->sent, s->reminded, s->deferred, s->failed,
               s->in.seen, s->in.recorded, s->in.review, s->in.bounces,
               s->in.auto_replies, s->in.opt_outs, s->in.late,
               s->in.duplicates, s->expired, s->digests);
}
