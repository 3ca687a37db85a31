/* `status`: what an operator looks at first — today's queue, each
 * campaign's current period, the mailbox checkpoint, the last runs, the
 * digests due and the mail waiting in Review. Counts, ids and times only:
 * never an answer, a comment or a secret. */
#include "cli_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "eqtime.h"
#include "store_ops.h"

/* One campaign's view: its current period and what its digests wait for. */
struct st_campaign {
    const struct campaign *c;
    int has_period;
    struct period cur;
    struct store_ops_counts counts;
};

struct st_digest {
    const char *campaign;
    char period[16];
    eq_time due;
    int64_t open;
    eq_time last_close;
};

struct st_data {
    struct store_status s;
    struct store_ops_queue q;
    struct st_campaign *camps;
    size_t n_camps;
    struct st_digest *dues;
    size_t n_dues;
    struct store_ops_mailbox *boxes;
    size_t n_boxes;
    struct store_ops_run last, failed;
    int64_t failed_since_ok;
    int64_t review;
    eq_time review_oldest;
};

static void
st_data_free(struct st_data *d)
{
    store_status_clear(&d->s);
    free(d->camps);
    free(d->dues);
    store_ops_mailboxes_free(d->boxes, d->n_boxes);
    store_ops_run_clear(&d->last);
    store_ops_run_clear(&d->failed);
}

/* A mailbox URL as it may be shown: a password written into it
 * (imaps://user:secret@host/) becomes "***". */
static void
redact_url(const char *url, char *out, size_t n)
{
    const char *scheme = strstr(url, "://");
    const char *auth = scheme ? scheme + 3 : NULL;
    const char *end = auth ? auth + strcspn(auth, "/?#") : NULL;
    const char *at = NULL, *colon = NULL;

    for (const char *p = auth; p && p < end; p++)
        if (*p == '@')
            at = p;
    for (const char *p = auth; at && p < at; p++)
        if (*p == ':') {
            colon = p;
            break;
        }
    if (colon == NULL) {
        snprintf(out, n, "%s", url);
        return;
    }
    snprintf(out, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

static enum eq_err
add_due(struct st_data *d, const char *campaign, const struct store_period *p,
        eq_time due, int64_t open, eq_time last_close)
{
    struct st_digest *g = realloc(d->dues, (d->n_dues + 1) * sizeof *g);

    if (g == NULL)
        return EQ_ERR_NOMEM;
    d->dues = g;
    g = &d->dues[d->n_dues++];
    g->campaign = campaign;
    snprintf(g->period, sizeof g->period, "%s", p->label);
    g->due = due;
    g->open = open;
    g->last_close = last_close;
    return EQ_OK;
}

/* The current period's counts, and every finished period without its
 * digest, with the time digest_run will send it (see digest.h). */
static enum eq_err
load_campaign(struct app *a, struct st_data *d, size_t i)
{
    struct st_campaign *sc = &d->camps[i];
    const struct campaign *c = a->camps[i];
    const char *tz = a->cfg->general.timezone;
    struct store_period *per = NULL;
    size_t n = 0;
    eq_day today, today_c;
    enum eq_err err;

    sc->c = c;
    eqtime_to_local(a->now, tz, &today, NULL);
    eqtime_to_local(a->now, c->timezone ? c->timezone : tz, &today_c, NULL);
    sc->has_period = campaign_period_of(c, today_c, &sc->cur) == EQ_OK;
    if ((err = store_ops_periods(a->st, c->name, &per, &n)) != EQ_OK)
        return err;
    for (size_t k = 0; k < n && err == EQ_OK; k++) {
        if (sc->has_period && strcmp(per[k].label, sc->cur.label) == 0)
            err = store_ops_period_counts(a->st, per[k].id, &sc->counts);
        if (err != EQ_OK || per[k].digest_at != 0 || today <= per[k].last)
            continue;
        int64_t open;
        eq_time last_close;
        err = store_ops_period_close(a->st, per[k].id, a->now, &open,
                                     &last_close);
        if (err != EQ_OK || last_close == 0)
            continue; /* no invitation: nothing to report on */
        eq_time due =
            open ? 0
                 : digest_due(per[k].last, last_close, a->cfg->digest.weekday,
                              a->cfg->digest.hour, tz);
        err = add_due(d, c->name, &per[k], due, open, last_close);
    }
    free(per);
    return err;
}

static enum eq_err
load(struct app *a, struct st_data *d)
{
    const char *tz = a->cfg->general.timezone;
    eq_day today;
    enum eq_err err;

    eqtime_to_local(a->now, tz, &today, NULL);
    if ((err = store_status_get(a->st, &d->s)) != EQ_OK ||
        (err = store_ops_queue(a->st, eqtime_from_local(today + 1, 0, tz),
                               &d->q)) != EQ_OK ||
        (err = store_ops_mailboxes(a->st, &d->boxes, &d->n_boxes)) != EQ_OK ||
        (err = store_ops_runs(a->st, &d->last, &d->failed,
                              &d->failed_since_ok)) != EQ_OK ||
        (err = store_ops_review(a->st, &d->review, &d->review_oldest)) != EQ_OK)
        return err;
    d->camps = calloc(a->n_camps ? a->n_camps : 1, sizeof *d->camps);
    if (d->camps == NULL)
        return EQ_ERR_NOMEM;
    d->n_camps = a->n_camps;
    for (size_t i = 0; i < a->n_camps && err == EQ_OK; i++)
        err = load_campaign(a, d, i);
    return err;
}

static const char *
iso(eq_time t, char buf[21])
{
    if (t == 0)
        return NULL;
    eqtime_format_iso(t, buf);
    return buf;
}

/* --- JSON ------------------------------------------------------------- */

static void
j_time(cJSON *o, const char *key, eq_time t)
{
    char b[21];

    if (t == 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddStringToObject(o, key, iso(t, b));
}

static void
j_num(cJSON *o, const char *key, int64_t v)
{
    cJSON_AddNumberToObject(o, key, (double)v);
}

static cJSON *
j_run(const struct store_ops_run *r)
{
    cJSON *o;

    if (r->id == 0)
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "command", r->command ? r->command : "");
    j_time(o, "started", r->started);
    j_time(o, "finished", r->finished);
    cJSON_AddBoolToObject(o, "ok", r->ok);
    if (r->summary)
        cJSON_AddStringToObject(o, "summary", r->summary);
    else
        cJSON_AddNullToObject(o, "summary");
    return o;
}

/* Counts a period shows; "sent" is every invitation that went out. */
static void
j_counts(cJSON *o, const struct store_ops_counts *k)
{
    j_num(o, "invited", k->total - k->by_state[INV_CANCELLED]);
    j_num(o, "sent", k->delivered);
    j_num(o, "answered", k->by_state[INV_ANSWERED]);
    j_num(o, "bounced", k->by_state[INV_BOUNCED]);
    j_num(o, "deferred", k->by_state[INV_DEFERRED]);
    j_num(o, "opted_out", k->by_state[INV_OPTED_OUT]);
    j_num(o, "expired", k->by_state[INV_EXPIRED]);
    j_num(o, "failed", k->by_state[INV_FAILED]);
}

static int
print_json(struct app *a, const struct st_data *d)
{
    cJSON *root = cJSON_CreateObject(), *o, *arr;
    char name[1024], b[21];

    cJSON_AddStringToObject(root, "database", a->cfg->general.database);
    j_num(root, "schema_version", store_schema_version(a->st));
    j_num(root, "employees_active", d->s.employees_active);
    o = cJSON_AddObjectToObject(root, "invitations");
    for (int i = 0; i < INV__COUNT; i++)
        j_num(o, store_inv_state_name((enum inv_state)i), d->s.by_state[i]);
    o = cJSON_AddObjectToObject(root, "queue");
    j_num(o, "planned_today", d->q.planned_due);
    j_num(o, "planned_later", d->q.planned_later);
    j_num(o, "deferred", d->q.deferred);
    j_time(o, "next_retry", d->q.next_retry);
    j_num(o, "sending", d->q.sending);
    j_time(root, "next_planned", d->s.next_planned);
    arr = cJSON_AddArrayToObject(root, "campaigns");
    for (size_t i = 0; i < d->n_camps; i++) {
        const struct st_campaign *sc = &d->camps[i];
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", sc->c->name);
        if (sc->has_period) {
            cJSON_AddStringToObject(o, "period", sc->cur.label);
            eqtime_format_day(sc->cur.first, b);
            cJSON_AddStringToObject(o, "first", b);
            eqtime_format_day(sc->cur.last, b);
            cJSON_AddStringToObject(o, "last", b);
        } else {
            cJSON_AddNullToObject(o, "period");
        }
        j_counts(o, &sc->counts);
        cJSON_AddItemToArray(arr, o);
    }
    /* The configured mailbox's checkpoint, then every one known. */
    const struct store_ops_mailbox *mine = NULL;
    for (size_t i = 0; i < d->n_boxes; i++)
        if (a->cfg->imap.srv.url &&
            strcmp(d->boxes[i].name, a->cfg->imap.srv.url) == 0)
            mine = &d->boxes[i];
    if (mine) {
        o = cJSON_AddObjectToObject(root, "mailbox");
        j_num(o, "uidvalidity", mine->uidvalidity);
        j_num(o, "last_uid", mine->last_uid);
        j_time(o, "updated", mine->updated);
    } else {
        cJSON_AddNullToObject(root, "mailbox");
    }
    arr = cJSON_AddArrayToObject(root, "mailboxes");
    for (size_t i = 0; i < d->n_boxes; i++) {
        o = cJSON_CreateObject();
        redact_url(d->boxes[i].name, name, sizeof name);
        cJSON_AddStringToObject(o, "name", name);
        j_num(o, "uidvalidity", d->boxes[i].uidvalidity);
        j_num(o, "last_uid", d->boxes[i].last_uid);
        j_time(o, "updated", d->boxes[i].updated);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddItemToObject(root, "last_run", j_run(&d->last));
    cJSON_AddItemToObject(root, "last_failed_run", j_run(&d->failed));
    j_num(root, "failed_runs_since_ok", d->failed_since_ok);
    arr = cJSON_AddArrayToObject(root, "digests_due");
    for (size_t i = 0; i < d->n_dues; i++) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "campaign", d->dues[i].campaign);
        cJSON_AddStringToObject(o, "period", d->dues[i].period);
        j_time(o, "due", d->dues[i].due);
        j_num(o, "open_invitations", d->dues[i].open);
        j_time(o, "last_close", d->dues[i].last_close);
        cJSON_AddItemToArray(arr, o);
    }
    j_num(root, "review", d->review);
    j_time(root, "review_oldest", d->review_oldest);
    j_num(root, "inbound", d->s.inbound);

    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (text == NULL)
        return cli_fail(a, EQ_ERR_NOMEM, "status");
    puts(text);
    cJSON_free(text);
    return 0;
}

/* --- text ------------------------------------------------------------- */

#define LABEL "%-14s"

static void
print_run(const char *label, const struct store_ops_run *r)
{
    char b[21], e[21];

    if (r->id == 0) {
        printf(LABEL "none\n", label);
        return;
    }
    printf(LABEL "%s %s %s", label, iso(r->started, b),
           r->command ? r->command : "?", r->ok ? "ok" : "FAILED");
    if (r->finished >= r->started && r->finished != 0)
        printf(" (%lld s, until %s)", (long long)(r->finished - r->started),
               iso(r->finished, e));
    printf("\n");
    if (r->summary && *r->summary)
        printf(LABEL "%s\n", "", r->summary);
}

static void
print_text(struct app *a, const struct st_data *d)
{
    char b[21], name[1024];

    printf(LABEL "%s (schema %d)\n", "database:", a->cfg->general.database,
           store_schema_version(a->st));
    printf(LABEL "%lld active\n",
           "employees:", (long long)d->s.employees_active);
    printf(LABEL "%lld planned for today, %lld deferred, %lld sending; "
                 "%lld planned later\n",
           "queue:", (long long)d->q.planned_due, (long long)d->q.deferred,
           (long long)d->q.sending, (long long)d->q.planned_later);
    if (d->q.deferred)
        printf(LABEL "next retry of a deferred invitation %s\n", "",
               iso(d->q.next_retry, b));
    if (d->s.next_planned)
        printf(LABEL "next planned %s\n", "", iso(d->s.next_planned, b));
    printf("invitations:");
    for (int i = 0; i < INV__COUNT; i++)
        printf(" %s %lld%s", store_inv_state_name((enum inv_state)i),
               (long long)d->s.by_state[i], i + 1 < INV__COUNT ? "," : "\n");
    if (d->n_camps > 0)
        printf("\n%-16s %-9s %8s %8s %8s %8s %9s %8s %8s\n", "campaign",
               "period", "sent", "answered", "bounced", "deferred", "opted out",
               "expired", "failed");
    for (size_t i = 0; i < d->n_camps; i++) {
        const struct st_campaign *sc = &d->camps[i];
        const struct store_ops_counts *k = &sc->counts;
        printf("%-16s %-9s %8lld %8lld %8lld %8lld %9lld %8lld %8lld\n",
               sc->c->name, sc->has_period ? sc->cur.label : "-",
               (long long)k->delivered, (long long)k->by_state[INV_ANSWERED],
               (long long)k->by_state[INV_BOUNCED],
               (long long)k->by_state[INV_DEFERRED],
               (long long)k->by_state[INV_OPTED_OUT],
               (long long)k->by_state[INV_EXPIRED],
               (long long)k->by_state[INV_FAILED]);
    }
    if (d->n_camps > 0)
        printf("\n");
    if (d->n_boxes == 0)
        printf(LABEL "not read yet\n", "mailbox:");
    for (size_t i = 0; i < d->n_boxes; i++) {
        redact_url(d->boxes[i].name, name, sizeof name);
        printf(LABEL "%s read up to UID %lu (UIDVALIDITY %lu) at %s\n",
               i ? "" : "mailbox:", name, (unsigned long)d->boxes[i].last_uid,
               (unsigned long)d->boxes[i].uidvalidity,
               d->boxes[i].updated ? iso(d->boxes[i].updated, b) : "-");
    }
    printf(LABEL "%lld messages\n", "inbound:", (long long)d->s.inbound);
    print_run("last run:", &d->last);
    if (d->failed.id != 0 && d->failed.id != d->last.id)
        print_run("last failure:", &d->failed);
    else if (d->failed.id == 0)
        printf(LABEL "none\n", "last failure:");
    if (d->failed_since_ok > 1)
        printf(LABEL "%lld runs in a row have failed\n", "",
               (long long)d->failed_since_ok);
    if (d->n_dues == 0)
        printf(LABEL "none\n", "digests due:");
    for (size_t i = 0; i < d->n_dues; i++) {
        const struct st_digest *g = &d->dues[i];
        printf(LABEL "%s %s ", i ? "" : "digests due:", g->campaign, g->period);
        if (g->open)
            printf("waits for %lld open invitation%s (closing by %s)\n",
                   (long long)g->open, g->open == 1 ? "" : "s",
                   iso(g->last_close, b));
        else
            printf("%s %s\n", g->due <= a->now ? "overdue since" : "due",
                   iso(g->due, b));
    }
    if (d->review)
        printf(LABEL "%lld message%s waiting since %s "
                     "(see 'enquete review list')\n",
               "review:", (long long)d->review, d->review == 1 ? "" : "s",
               iso(d->review_oldest, b));
    else
        printf(LABEL "nothing waiting\n", "review:");
}

int
cli_cmd_status(struct app *a, int argc, char **argv)
{
    struct st_data d;
    int json = 0, rc;
    enum eq_err err;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return cli_usage_error("status: unexpected argument %s", argv[i]);
    }
    if ((rc = cli_need(a, NEED_STORE)) != 0)
        return rc;
    /* A broken or missing campaign file must not hide the rest: status is
     * what one looks at when something is wrong. */
    if (a->camps == NULL &&
        campaign_load_dir(a->cfg->general.campaigns, a->cfg->general.timezone,
                          &a->camps, &a->n_camps, &a->diag) != EQ_OK) {
        cli_print_diag(&a->diag);
        fprintf(stderr,
                "enquete: status: campaigns not shown: %s cannot "
                "be read\n",
                a->cfg->general.campaigns);
        a->camps = NULL;
        a->n_camps = 0;
    }
    memset(&d, 0, sizeof d);
    if ((err = load(a, &d)) != EQ_OK) {
        st_data_free(&d);
        return cli_fail(a, err, "status");
    }
    if (json)
        rc = print_json(a, &d);
    else
        print_text(a, &d);
    st_data_free(&d);
    return rc;
}
