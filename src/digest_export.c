/* digest_export: a view as JSON (cJSON stays in this file) or as CSV. */
#include "digest_int.h"

#include "csvout.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------
 * JSON and CSV.
 */
static cJSON *
json_est(const struct dg_stat *ds)
{
    cJSON *o;

    if (!ds->shown)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)ds->e.n);
    cJSON_AddNumberToObject(o, "value", ds->e.value);
    cJSON_AddNumberToObject(o, "lo", ds->e.lo);
    cJSON_AddNumberToObject(o, "hi", ds->e.hi);
    return o;
}

/* The benchmark: a median over providers, with no interval. */
static cJSON *
json_median(const struct dg_stat *ds, const struct dg_stat *prev)
{
    cJSON *o;

    if (!ds->shown)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", "median");
    cJSON_AddNumberToObject(o, "providers", (double)ds->e.n);
    cJSON_AddNumberToObject(o, "value", ds->e.value);
    if (prev && prev->shown)
        cJSON_AddNumberToObject(o, "previous", prev->e.value);
    return o;
}

static cJSON *
json_rate(int64_t k, int64_t n, const struct stats_estimate *r)
{
    cJSON *o;

    if (n <= 0)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "k", (double)k);
    cJSON_AddNumberToObject(o, "n", (double)n);
    cJSON_AddNumberToObject(o, "value", r->value);
    cJSON_AddNumberToObject(o, "lo", r->lo);
    cJSON_AddNumberToObject(o, "hi", r->hi);
    return o;
}

/* The trend of provider p (or of the median when p < 0). */
static cJSON *
json_trend(const struct dg_model *md, long p)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t t = 0; t < md->nt; t++) {
        const struct dg_stat *ds =
            p < 0 ? &md->trend_med[t] : &md->trend[t * md->np + (size_t)p];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "period", md->in->trend_labels[t]);
        cJSON_AddBoolToObject(o, "shown", ds->shown);
        if (ds->shown && p >= 0) {
            cJSON_AddNumberToObject(o, "n", (double)ds->e.n);
            cJSON_AddNumberToObject(o, "value", ds->e.value);
            cJSON_AddNumberToObject(o, "lo", ds->e.lo);
            cJSON_AddNumberToObject(o, "hi", ds->e.hi);
        } else if (ds->shown) {
            cJSON_AddNumberToObject(o, "providers", (double)ds->e.n);
            cJSON_AddNumberToObject(o, "value", ds->e.value);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Provider p as one JSON object (*out), its comments read for the
 * occasion and let go. */
static enum eq_err
json_provider(const struct view *v, size_t p, cJSON **out)
{
    const struct dg_model *md = v->md;
    size_t sc = md->np + 1, nc = md->cur.nc;
    cJSON *o = cJSON_CreateObject(), *mo, *ca;

    *out = NULL;
    if (o == NULL)
        return EQ_ERR_NOMEM;
    cJSON_AddStringToObject(o, "code", md->in->providers[p].code);
    cJSON_AddStringToObject(o, "name", md->in->providers[p].name);
    cJSON_AddBoolToObject(o, "shown", privacy_total_visible(md->cur.grid, p));
    cJSON_AddNumberToObject(o, "invited", (double)md->invited[p]);
    cJSON_AddNumberToObject(o, "answered", (double)md->answered[p]);
    cJSON_AddItemToObject(
        o, "response_rate",
        json_rate(md->answered[p], md->invited[p], &md->resp[p]));
    cJSON_AddItemToObject(
        o, "not_applicable",
        json_rate(md->na[p], md->answered[p], &md->na_share[p]));
    if (md->nt > 0)
        cJSON_AddItemToObject(o, "trend", json_trend(md, (long)p));
    mo = cJSON_AddObjectToObject(o, "metrics");
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        cJSON *e = json_est(&dm->tot[p]);
        if (dm->tot[p].shown) {
            if (dm->tot2[p].shown)
                cJSON_AddItemToObject(e, "second", json_est(&dm->tot2[p]));
            cJSON_AddNumberToObject(e, "rank", dm->rank[p]);
            cJSON_AddNumberToObject(e, "ranked", dm->n_ranked);
            if (dm->prev[p].shown)
                cJSON_AddNumberToObject(e, "previous", dm->prev[p].e.value);
            if (dm->has_chg[p]) {
                cJSON_AddNumberToObject(e, "change", dm->chg[p].delta);
                cJSON_AddNumberToObject(e, "p", dm->chg[p].p);
                cJSON_AddBoolToObject(e, "significant", v->sig[m * sc + p]);
            }
        }
        cJSON_AddItemToObject(mo, dm->m->id, e);
    }
    ca = cJSON_AddArrayToObject(o, "customers");
    for (size_t k = 0; k < nc; k++) {
        cJSON *co, *cm;
        int64_t n = 0;
        for (size_t m = 0; m < md->nm; m++)
            n += stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
        if (n == 0)
            continue;
        co = cJSON_CreateObject();
        cJSON_AddItemToArray(ca, co);
        cJSON_AddStringToObject(co, "name",
                                dg_dept_name(md->in, md->cur.cust[k], "nl"));
        cJSON_AddBoolToObject(co, "shown",
                              privacy_cell_visible(md->cur.grid, p, k));
        cm = cJSON_AddObjectToObject(co, "metrics");
        for (size_t m = 0; m < md->nm; m++)
            cJSON_AddItemToObject(cm, md->met[m].m->id,
                                  json_est(&md->met[m].cell[p * nc + k]));
    }
    if (privacy_comments_visible(md->cur.grid, p)) {
        const struct campaign_metric *m0 = md->nm ? md->met[0].m : NULL;
        struct digest_comments cs;
        enum eq_err err = dg_comments_get(md->in, p, &cs);
        if (err != EQ_OK) {
            cJSON_Delete(o);
            return err;
        }
        if (cs.text != NULL) {
            cJSON *arr = cJSON_AddArrayToObject(o, "comments");
            for (size_t i = 0; i < cs.n; i++) {
                cJSON *co = cJSON_CreateObject();
                cJSON_AddStringToObject(co, "text", cs.text[i]);
                cJSON_AddStringToObject(
                    co, "group",
                    dg_band_id(m0, dg_band_of(m0, dg_comment_score(&cs, i))));
                cJSON_AddItemToArray(arr, co);
            }
        }
        dg_comments_put(md->in, &cs);
    }
    *out = o;
    return EQ_OK;
}

/* Prints o (unformatted) to f; with drop_close the final '}' is left off,
 * so that more members can follow. */
static enum eq_err
json_put(FILE *f, const cJSON *o, int drop_close)
{
    char *s = cJSON_PrintUnformatted(o);
    size_t len;
    enum eq_err err = EQ_OK;

    if (s == NULL)
        return EQ_ERR_NOMEM;
    len = strlen(s);
    if (drop_close && len > 0 && s[len - 1] == '}')
        len--;
    if (fwrite(s, 1, len, f) != len)
        err = EQ_ERR_IO;
    free(s);
    return err;
}

/* The report's top level is printed first, then "providers" one at a
 * time: a provider's comments are in memory only while it is written. */
enum eq_err
dg_render_json(struct view *v, FILE *f)
{
    const struct dg_model *md = v->md;
    const struct campaign *c = md->in->c;
    cJSON *root = cJSON_CreateObject(), *arr, *bench;
    enum eq_err err;

    if (root == NULL)
        return EQ_ERR_NOMEM;
    cJSON_AddStringToObject(root, "campaign", c->name);
    cJSON_AddStringToObject(root, "period", md->in->period);
    if (md->in->prev_period)
        cJSON_AddStringToObject(root, "previous_period", md->in->prev_period);
    else
        cJSON_AddNullToObject(root, "previous_period");
    if (v->prov >= 0)
        cJSON_AddStringToObject(root, "department",
                                md->in->providers[v->prov].code);
    else
        cJSON_AddNullToObject(root, "department");
    cJSON_AddNumberToObject(root, "anonymity_min", md->min);
    cJSON_AddBoolToObject(root, "weighted", 0);
    cJSON_AddNumberToObject(root, "bh_q", BH_Q);
    cJSON_AddStringToObject(root, "benchmark_method", "median");
    cJSON_AddItemToObject(
        root, "response_rate",
        json_rate(md->org_answered, md->org_invited, &md->org_resp));
    cJSON_AddItemToObject(
        root, "not_applicable",
        json_rate(md->org_na, md->org_answered, &md->org_na_share));
    if (md->nt > 0) {
        cJSON_AddStringToObject(root, "trend_metric", md->met[0].m->id);
        cJSON_AddItemToObject(root, "benchmark_trend", json_trend(md, -1));
    }
    if (v->prov < 0 && md->in->ops) {
        cJSON *ops = cJSON_AddObjectToObject(root, "to_handle");
        cJSON_AddNumberToObject(ops, "bounced", (double)md->in->ops->bounced);
        cJSON_AddNumberToObject(ops, "opted_out",
                                (double)md->in->ops->opted_out);
        cJSON_AddNumberToObject(ops, "failed", (double)md->in->ops->failed);
        cJSON_AddNumberToObject(ops, "review_open",
                                (double)md->in->ops->review_open);
    }
    arr = cJSON_AddArrayToObject(root, "metrics");
    for (size_t m = 0; m < md->nm; m++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", md->met[m].m->id);
        cJSON_AddStringToObject(o, "type",
                                campaign_metric_type_name(md->met[m].m->type));
        cJSON_AddStringToObject(o, "headline",
                                md->met[m].m->type == METRIC_NPS   ? "nps"
                                : md->met[m].m->type == METRIC_CES ? "mean"
                                                                   : "share");
        cJSON_AddItemToArray(arr, o);
    }
    bench = cJSON_AddObjectToObject(root, "benchmark");
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        cJSON *e = json_median(&dm->bench, &dm->pbench);
        if (dm->bench2.shown)
            cJSON_AddItemToObject(e, "second", json_median(&dm->bench2, NULL));
        cJSON_AddItemToObject(bench, dm->m->id, e);
    }
    err = json_put(f, root, 1);
    cJSON_Delete(root);
    if (err == EQ_OK && fputs(",\"providers\":[", f) == EOF)
        err = EQ_ERR_IO;
    for (size_t p = 0, first = 1; p < md->np && err == EQ_OK; p++) {
        cJSON *o = NULL;
        if (v->prov >= 0 && (size_t)v->prov != p)
            continue;
        err = json_provider(v, p, &o);
        if (err == EQ_OK && !first && fputc(',', f) == EOF)
            err = EQ_ERR_IO;
        if (err == EQ_OK)
            err = json_put(f, o, 0);
        cJSON_Delete(o);
        first = 0;
    }
    if (err == EQ_OK && fputs("]}", f) == EOF)
        err = EQ_ERR_IO;
    return err;
}

struct csv {
    struct eq_buf b;
    const char *lang;
    char sep, dec;
};

static void
csv_line(struct csv *cv, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        csvout_cell(&cv->b, f[i], cv->sep, cv->dec, i + 1 == n);
}

static void
csv_row(struct csv *cv, const char *period, const char *prov, const char *cust,
        const char *metric, const char *stat, const struct dg_stat *ds,
        int interval)
{
    char n[32] = "", val[32] = "", lo[32] = "", hi[32] = "";
    const char *f[9] = {period, prov, cust, metric, stat, n, val, lo, hi};

    if (ds->shown) {
        snprintf(n, sizeof n, "%lld", (long long)ds->e.n);
        dg_fmt_num(ds->e.value, 2, cv->lang, val, sizeof val);
        if (interval) {
            dg_fmt_num(ds->e.lo, 2, cv->lang, lo, sizeof lo);
            dg_fmt_num(ds->e.hi, 2, cv->lang, hi, sizeof hi);
        }
    }
    csv_line(cv, f, 9);
}

/* k of n (response, n.v.t.): n is the denominator, value the percent. */
static void
csv_rate(struct csv *cv, const char *period, const char *prov, const char *stat,
         int64_t n, const struct stats_estimate *r)
{
    struct dg_stat ds = {.e = *r, .shown = n > 0};

    ds.e.n = n;
    csv_row(cv, period, prov, "", "", stat, &ds, 1);
}

static const char *
stat_id(const struct campaign_metric *m, int second_stat)
{
    if (m->type == METRIC_NPS)
        return "nps";
    return (m->type == METRIC_CES) != (second_stat != 0) ? "mean" : "share";
}

/* One line per shown-or-suppressed number; suppressed numbers are empty.
 * nl: ';' between fields and decimal commas (Excel in a Dutch locale);
 * en: ',' and points. */
enum eq_err
dg_render_csv(struct view *v, char **out)
{
    static const char *const head[9] = {"period", "provider",  "customer",
                                        "metric", "statistic", "n",
                                        "value",  "lo",        "hi"};
    const struct dg_model *md = v->md;
    const char *period = md->in->period;
    size_t nc = md->cur.nc;
    struct csv cv = {.lang = v->lang};

    cv.sep = csvout_sep(v->lang);
    cv.dec = csvout_dec(v->lang);
    csv_line(&cv, head, 9);
    for (size_t m = 0; m < md->nm; m++) {
        const struct dg_metric *dm = &md->met[m];
        const char *id = dm->m->id;
        if (v->prov < 0) {
            csv_row(&cv, period, "*", "", id, "median", &dm->bench, 0);
            if (dm->bench2.shown)
                csv_row(&cv, period, "*", "", id, "median_second", &dm->bench2,
                        0);
        }
        for (size_t p = 0; p < md->np; p++) {
            const char *code = md->in->providers[p].code;
            if (v->prov >= 0 && (size_t)v->prov != p)
                continue;
            csv_row(&cv, period, code, "", id, stat_id(dm->m, 0), &dm->tot[p],
                    1);
            if (dm->tot2[p].shown)
                csv_row(&cv, period, code, "", id, stat_id(dm->m, 1),
                        &dm->tot2[p], 1);
            for (size_t k = 0; k < nc; k++) {
                int64_t n =
                    stats_dist_n(&md->cur.cell[(m * md->np + p) * nc + k]);
                if (n == 0)
                    continue;
                csv_row(&cv, period, code,
                        dg_dept_name(md->in, md->cur.cust[k], "nl"), id,
                        stat_id(dm->m, 0), &dm->cell[p * nc + k], 1);
            }
        }
    }
    for (size_t p = 0; p < md->np; p++) {
        const char *code = md->in->providers[p].code;
        if (v->prov >= 0 && (size_t)v->prov != p)
            continue;
        csv_rate(&cv, period, code, "response_rate", md->invited[p],
                 &md->resp[p]);
        csv_rate(&cv, period, code, "not_applicable", md->answered[p],
                 &md->na_share[p]);
    }
    if (v->prov < 0) {
        csv_rate(&cv, period, "*", "response_rate", md->org_invited,
                 &md->org_resp);
        csv_rate(&cv, period, "*", "not_applicable", md->org_answered,
                 &md->org_na_share);
    }
    /* The trend's earlier periods (the period itself is above). */
    for (size_t t = 0; t + 1 < md->nt; t++) {
        const char *id = md->met[0].m->id;
        const char *lab = md->in->trend_labels[t];
        if (v->prov < 0)
            csv_row(&cv, lab, "*", "", id, "median", &md->trend_med[t], 0);
        for (size_t p = 0; p < md->np; p++) {
            if (v->prov >= 0 && (size_t)v->prov != p)
                continue;
            csv_row(&cv, lab, md->in->providers[p].code, "", id,
                    stat_id(md->met[0].m, 0), &md->trend[t * md->np + p], 1);
        }
    }
    if (cv.b.s == NULL)
        return EQ_ERR_NOMEM;
    *out = buf_take(&cv.b);
    return EQ_OK;
}
