/* digest_actions: the feedback loop's sections of a digest (issue #8): a
 * manager's open actions and how their metric moved, the actions done in
 * the period, and HR's overview (actions per department, weak scores
 * without any action, what needs attention). */
#include "digest_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"
#include "template.h"

#define ARROW_UP "\xE2\x86\x91"   /* ↑ */
#define ARROW_DOWN "\xE2\x86\x93" /* ↓ */

static const char *
zone_of(const struct digest_input *in)
{
    return in->c->timezone && *in->c->timezone ? in->c->timezone
                                               : "Europe/Amsterdam";
}

/* The moment the digest speaks of (0 when unknown). */
static eq_time
as_of(const struct digest_input *in)
{
    if (in->as_of)
        return in->as_of;
    if (in->period_last)
        return eqtime_from_local(in->period_last + 1, 0, zone_of(in));
    return 0;
}

/* The campaign metric an action targets: its tag, else the headline. */
static size_t
action_metric(const struct dg_model *md, const struct digest_action *a)
{
    for (size_t m = 0; a->metric && m < md->nm; m++)
        if (eq_strcasecmp(md->met[m].m->id, a->metric) == 0)
            return m;
    return 0;
}

/* How metric m of provider p moved since the action's period: from the
 * previous period with the view's BH decision (an arrow only when it is
 * significant), or for the headline from the trend, untested. */
static enum eq_err
set_move(const struct view *v, size_t p, size_t m,
         const struct digest_action *a, struct tpl_ctx *it)
{
    const struct dg_model *md = v->md;
    const struct dg_metric *dm = &md->met[m];
    const struct dg_stat *then = NULL, *now = &dm->tot[p];
    const char *arrow = "";
    char tv[32] = "", nv[32] = "";

    if (a->period && md->in->prev_period &&
        strcmp(a->period, md->in->prev_period) == 0) {
        then = &dm->prev[p];
        if (dm->has_chg[p] && v->sig[m * (md->np + 1) + p])
            arrow = dm->chg[p].delta > 0 ? ARROW_UP : ARROW_DOWN;
    } else if (a->period && m == 0 && strcmp(a->period, md->in->period)) {
        for (size_t t = 0; t < md->nt; t++)
            if (strcmp(md->in->trend_labels[t], a->period) == 0)
                then = &md->trend[t * md->np + p];
    }
    if (then == NULL || !then->shown || !now->shown) {
        tpl_set_bool(it, "has_move", 0);
        tpl_set(it, "then", "");
        tpl_set(it, "now", "");
        tpl_set(it, "arrow", "");
        return tpl_set(it, "move_metric", dg_metric_label(dm->m, v->lang));
    }
    dg_fmt_value(dm->m, 0, v->lang, then->e.value, tv, sizeof tv);
    dg_fmt_value(dm->m, 0, v->lang, now->e.value, nv, sizeof nv);
    tpl_set_bool(it, "has_move", 1);
    tpl_set(it, "then", tv);
    tpl_set(it, "now", nv);
    tpl_set(it, "arrow", arrow);
    return tpl_set(it, "move_metric", dg_metric_label(dm->m, v->lang));
}

/* A manager's open actions and the ones done in the period. */
static enum eq_err
add_manager_actions(const struct view *v, struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    const struct digest_input *in = md->in;
    eq_time at = as_of(in);
    eq_day today = 0;
    int minute;
    size_t n_open = 0, n_done = 0;

    if (at)
        eqtime_to_local(at, zone_of(in), &today, &minute);
    for (size_t i = 0; v->prov >= 0 && i < in->n_actions; i++) {
        const struct digest_action *a = &in->actions[i];
        size_t p = (size_t)v->prov, m = action_metric(md, a);
        struct tpl_ctx *it;
        char d[11] = "";

        if (a->department_id != in->providers[p].id)
            continue;
        if (at && a->created_at >= at)
            continue; /* recorded after the moment this digest speaks of */
        it = tpl_add_item(ctx, a->done ? "done_actions" : "open_actions");
        if (it == NULL)
            return EQ_ERR_NOMEM;
        tpl_setf(it, "number", "%d", a->number);
        tpl_set(it, "text", a->text ? a->text : "");
        tpl_set(it, "metric",
                a->metric && md->nm ? dg_metric_label(md->met[m].m, v->lang)
                                    : "");
        if (a->done) {
            eq_day day;
            eqtime_to_local(a->done_at, zone_of(in), &day, &minute);
            eqtime_format_day(day, d);
            tpl_set(it, "done_on", d);
            n_done++;
            continue;
        }
        if (a->due)
            eqtime_format_day(a->due, d);
        tpl_set(it, "due", d);
        tpl_set_bool(it, "overdue", a->due && today && a->due < today);
        tpl_set(it, "since", a->period ? a->period : "");
        if (at && a->created_at && a->created_at <= at)
            tpl_setf(it, "age", "%lld",
                     (long long)((at - a->created_at) / 86400));
        else
            tpl_set(it, "age", "");
        if (md->nm > 0 && set_move(v, p, m, a, it) != EQ_OK)
            return EQ_ERR_NOMEM;
        if (md->nm == 0) {
            tpl_set_bool(it, "has_move", 0);
            tpl_set(it, "move_metric", "");
            tpl_set(it, "then", "");
            tpl_set(it, "now", "");
            tpl_set(it, "arrow", "");
        }
        n_open++;
    }
    tpl_set_bool(ctx, "has_open_actions", n_open > 0);
    if (n_open == 0)
        tpl_set_bool(ctx, "open_actions", 0);
    tpl_set_bool(ctx, "has_done_actions", n_done > 0);
    if (n_done == 0)
        tpl_set_bool(ctx, "done_actions", 0);
    return EQ_OK;
}

/* HR: which provider × metric lies significantly below the organisation.
 * Each shown value is tested against the median of its metric, taken as a
 * fixed reference (var 0), with BH at q = BH_Q over all those tests; the
 * median needs at least two providers to mean anything. below is np × nm. */
static enum eq_err
below_median(const struct dg_model *md, int *below)
{
    size_t n = md->np * md->nm;
    double *pv = calloc(n + 1, sizeof *pv),
           *delta = calloc(n + 1, sizeof *delta);
    int *sig = calloc(n + 1, sizeof *sig);

    if (pv == NULL || delta == NULL || sig == NULL) {
        free(pv);
        free(delta);
        free(sig);
        return EQ_ERR_NOMEM;
    }
    for (size_t p = 0; p < md->np; p++)
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_metric *dm = &md->met[m];
            struct stats_estimate ref = dm->bench.e;
            struct stats_change ch;
            pv[p * md->nm + m] = NAN;
            if (!dm->bench.shown || dm->bench.e.n < 2 || !dm->tot[p].shown)
                continue;
            ref.var = 0;
            if (stats_change(&ref, &dm->tot[p].e, &ch) == EQ_OK) {
                pv[p * md->nm + m] = ch.p;
                delta[p * md->nm + m] = ch.delta;
            }
        }
    stats_bh(pv, n, BH_Q, sig);
    for (size_t i = 0; i < n; i++)
        below[i] = sig[i] && delta[i] < 0;
    free(pv);
    free(delta);
    free(sig);
    return EQ_OK;
}

static const struct digest_action_count *
count_of(const struct digest_input *in, int64_t dept)
{
    for (size_t i = 0; i < in->n_action_counts; i++)
        if (in->action_counts[i].department_id == dept)
            return &in->action_counts[i];
    return NULL;
}

/* Actions per provider: open, done, and the headline beside them. */
static enum eq_err
counts_table(const struct view *v, int html, char **out)
{
    const struct dg_model *md = v->md;
    const struct words *w = dg_words_for(v->lang);
    int en = dg_is_en(v->lang);
    struct tbl t = {.cols = 4};
    char cap[128] = "";
    const char *head[4] = {w->department, en ? "Open" : "Open",
                           en ? "Done" : "Afgerond", cap};
    enum eq_err err;

    if (md->nm > 0)
        dg_metric_caption(md->met[0].m, 0, v->lang, cap, sizeof cap);
    err = dg_tbl_row(&t, head);
    for (size_t p = 0; p < md->np && err == EQ_OK; p++) {
        const struct digest_action_count *k =
            count_of(md->in, md->in->providers[p].id);
        char o[24], d[24], val[32] = DASH;
        const char *row[4] = {md->in->providers[p].name, o, d, val};
        snprintf(o, sizeof o, "%lld", k ? (long long)k->open : 0LL);
        snprintf(d, sizeof d, "%lld", k ? (long long)k->done : 0LL);
        if (md->nm > 0 && md->met[0].tot[p].shown)
            dg_fmt_value(md->met[0].m, 0, v->lang, md->met[0].tot[p].e.value,
                         val, sizeof val);
        err = dg_tbl_row(&t, row);
    }
    return dg_tbl_finish(&t, err, html, out);
}

/* HR's overview of the feedback loop. */
static enum eq_err
add_hr_actions(const struct view *v, int html, struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    const struct digest_input *in = md->in;
    int hr = v->prov < 0 && md->nm > 0;
    int known = hr && in->action_counts != NULL;
    int *below = NULL;
    char *tab = NULL;
    size_t n_without = 0, n_attention = 0;
    enum eq_err err = EQ_OK;

    tpl_set_bool(ctx, "has_action_counts", known);
    tpl_set(ctx, "action_table", "");
    if (!hr)
        goto out;
    if (known) {
        err = counts_table(v, html, &tab);
        if (err == EQ_OK)
            err = tpl_set(ctx, "action_table", tab);
        free(tab);
    }
    below = calloc(md->np * md->nm + 1, sizeof *below);
    if (err == EQ_OK && below == NULL)
        err = EQ_ERR_NOMEM;
    if (err == EQ_OK)
        err = below_median(md, below);
    if (err != EQ_OK)
        goto out;
    for (size_t p = 0; known && p < md->np; p++) {
        const struct dg_metric *dm = &md->met[0];
        const struct digest_action_count *k = count_of(in, in->providers[p].id);
        struct tpl_ctx *it;
        char val[32], med[32];
        if (!dm->tot[p].shown || !dm->bench.shown || dm->bench.e.n < 2 ||
            !(dm->tot[p].e.value < dm->bench.e.value) ||
            (k && k->open + k->done > 0))
            continue;
        it = tpl_add_item(ctx, "without");
        if (it == NULL) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
        dg_fmt_value(dm->m, 0, v->lang, dm->tot[p].e.value, val, sizeof val);
        dg_fmt_value(dm->m, 0, v->lang, dm->bench.e.value, med, sizeof med);
        tpl_set(it, "name", in->providers[p].name);
        tpl_set(it, "metric", dg_metric_label(dm->m, v->lang));
        tpl_set(it, "value", val);
        tpl_set(it, "median", med);
        tpl_set_bool(it, "significant", below[p * md->nm]);
        n_without++;
    }
    for (size_t p = 0; p < md->np; p++)
        for (size_t m = 0; m < md->nm; m++) {
            const struct dg_metric *dm = &md->met[m];
            struct tpl_ctx *it;
            char val[32], org[32];
            if (!below[p * md->nm + m])
                continue;
            it = tpl_add_item(ctx, "attention");
            if (it == NULL) {
                err = EQ_ERR_NOMEM;
                goto out;
            }
            dg_fmt_value(dm->m, 0, v->lang, dm->tot[p].e.value, val,
                         sizeof val);
            dg_fmt_value(dm->m, 0, v->lang, dm->bench.e.value, org, sizeof org);
            tpl_set(it, "name", in->providers[p].name);
            tpl_set(it, "metric", dg_metric_label(dm->m, v->lang));
            tpl_set(it, "value", val);
            tpl_set(it, "org", org);
            n_attention++;
        }
out:
    free(below);
    tpl_set_bool(ctx, "has_without", n_without > 0);
    if (n_without == 0)
        tpl_set_bool(ctx, "without", 0);
    tpl_set_bool(ctx, "has_attention", n_attention > 0);
    if (n_attention == 0)
        tpl_set_bool(ctx, "attention", 0);
    return err;
}

enum eq_err
dg_add_actions(const struct view *v, int html, struct tpl_ctx *ctx)
{
    const struct dg_model *md = v->md;
    const struct campaign *c = md->in->c;
    const char *touch = NULL;
    char due[11];
    eq_day day;
    enum eq_err err;

    /* A touchpoint is a csat item beyond the headline measures. */
    for (size_t m = 0; m < c->n_metrics && touch == NULL; m++)
        if (c->metrics[m].type == METRIC_CSAT &&
            strcmp(c->metrics[m].id, "csat") != 0 && m > 0)
            touch = c->metrics[m].id;
    tpl_set_bool(ctx, "has_action_metric", touch != NULL);
    tpl_set(ctx, "action_metric", touch ? touch : "");
    /* About a quarter after the period: a date that reads as an example. */
    day = md->in->period_last ? md->in->period_last + 92
                              : eqtime_day_from_ymd(2027, 2, 1);
    eqtime_format_day(day, due);
    tpl_set(ctx, "action_due", due);
    err = add_manager_actions(v, ctx);
    if (err == EQ_OK)
        err = add_hr_actions(v, html, ctx);
    return err;
}
