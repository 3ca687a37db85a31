/* What the operator sees: the store's status queries (store_ops) on a small
 * hand-built database, and the log line format and levels. The binary's
 * log lines and `status` output are tested in test_cli.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign.h"
#include "config.h"
#include "helpers.h"
#include "log.h"
#include "run.h"
#include "store.h"
#include "store_ops.h"
#include "transport.h"

static struct store *st;

static void
setup(void)
{
    cr_assert_eq(store_open(":memory:", &st, NULL), EQ_OK);
}

static void
teardown(void)
{
    store_close(st);
    st = NULL;
}

TestSuite(ops, .init = setup, .fini = teardown, .timeout = 30);

/* --- a small world ----------------------------------------------------- */

/* 2026-03-01 = day 20513, 2026-03-31 = 20543, 2026-04-01 = 20544. */
#define MAR1 20513
#define MAR31 20543
#define APR1 20544
#define APR30 20573
#define T0 ((eq_time)1772582400) /* 2026-03-04T00:00:00Z */
#define H 3600

struct world {
    int64_t it, sales, ann, bob, campaign, march, april;
};

static int64_t
emp(const char *email, int64_t dept)
{
    struct store_employee e = {0};
    int64_t id = 0;
    int changed;

    e.email = (char *)email;
    e.name = (char *)"X";
    e.department_id = dept;
    e.active = 1;
    cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK);
    return id;
}

static struct world
world(void)
{
    struct world w;
    int changed;

    cr_assert_eq(store_department_upsert(st, "it", "IT", &w.it, &changed),
                 EQ_OK);
    cr_assert_eq(
        store_department_upsert(st, "sales", "Sales", &w.sales, &changed),
        EQ_OK);
    w.ann = emp("ann@example.org", w.sales);
    w.bob = emp("bob@example.org", w.sales);
    cr_assert_eq(store_campaign_ensure(st, "loop", &w.campaign), EQ_OK);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026-03", MAR1, MAR31, &w.march),
        EQ_OK);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026-04", APR1, APR30, &w.april),
        EQ_OK);
    return w;
}

static int tokens;

/* An invitation in state, planned at planned, closing at closes. */
static int64_t
inv(const struct world *w, int64_t period, enum inv_state state,
    eq_time planned, eq_time closes)
{
    struct store_invitation v = {0};

    snprintf(v.token, sizeof v.token, "abcdefghjkmnpqrstvwxyz%04u",
             (unsigned)(++tokens % 10000));
    v.campaign_id = w->campaign;
    v.period_id = period;
    v.employee_id = w->ann;
    v.provider_department_id = w->it;
    v.language = "nl";
    v.state = INV_PLANNED;
    v.planned_at = planned;
    v.closes_at = closes;
    cr_assert_eq(store_invitation_add(st, &v), EQ_OK, "%s", store_errmsg(st));
    if (state == INV_DEFERRED)
        cr_assert_eq(store_invitation_defer(st, v.id, planned + 2 * H, "451"),
                     EQ_OK);
    else if (state != INV_PLANNED) {
        /* Answered, bounced, expired…: it went out first, as in life. */
        if (state != INV_SENDING && state != INV_CANCELLED)
            cr_assert_eq(
                store_invitation_set_state(st, v.id, INV_SENT, planned, NULL),
                EQ_OK);
        cr_assert_eq(store_invitation_set_state(st, v.id, state, planned, NULL),
                     EQ_OK);
    }
    return v.id;
}

/* --- store_ops --------------------------------------------------------- */

Test(ops, queue_splits_today_from_later_and_finds_the_next_retry)
{
    struct world w = world();
    struct store_ops_queue q;
    eq_time end_of_today = T0 + 24 * H;

    inv(&w, w.march, INV_PLANNED, T0 + 9 * H, T0 + 240 * H);  /* today */
    inv(&w, w.march, INV_PLANNED, T0 - 30 * H, T0 + 240 * H); /* overdue */
    inv(&w, w.march, INV_PLANNED, T0 + 33 * H, T0 + 240 * H); /* tomorrow */
    inv(&w, w.march, INV_DEFERRED, T0 + 1 * H, T0 + 240 * H); /* retry +3h */
    inv(&w, w.march, INV_DEFERRED, T0 + 5 * H, T0 + 240 * H); /* retry +7h */
    inv(&w, w.march, INV_SENDING, T0 + 2 * H, T0 + 240 * H);
    inv(&w, w.march, INV_SENT, T0 + 2 * H, T0 + 240 * H);

    cr_assert_eq(store_ops_queue(st, end_of_today, &q), EQ_OK);
    cr_assert_eq(q.planned_due, 2);
    cr_assert_eq(q.planned_later, 1);
    cr_assert_eq(q.deferred, 2);
    cr_assert_eq(q.next_retry, T0 + 3 * H);
    cr_assert_eq(q.sending, 1);
    cr_assert_eq(q.next_planned, T0 - 30 * H);
}

Test(ops, empty_queue_is_all_zero)
{
    struct store_ops_queue q;

    cr_assert_eq(store_ops_queue(st, T0, &q), EQ_OK);
    cr_assert_eq(q.planned_due + q.planned_later + q.deferred + q.sending, 0);
    cr_assert_eq(q.next_retry, 0);
    cr_assert_eq(q.next_planned, 0);
}

Test(ops, period_counts_count_every_invitation_that_went_out_as_sent)
{
    struct world w = world();
    struct store_ops_counts k;

    inv(&w, w.march, INV_SENT, T0, T0 + 240 * H);
    inv(&w, w.march, INV_ANSWERED, T0, T0 + 240 * H);
    inv(&w, w.march, INV_ANSWERED, T0, T0 + 240 * H);
    inv(&w, w.march, INV_DEFERRED, T0, T0 + 240 * H);
    inv(&w, w.march, INV_PLANNED, T0, T0 + 240 * H);
    inv(&w, w.march, INV_CANCELLED, T0, T0 + 240 * H);
    inv(&w, w.april, INV_SENT, T0, T0 + 240 * H);    /* another period */
    inv(&w, w.march, INV_BOUNCED, T0, T0 + 240 * H); /* sent_at stays */

    cr_assert_eq(store_ops_period_counts(st, w.march, &k), EQ_OK);
    cr_assert_eq(k.total, 7);
    cr_assert_eq(k.by_state[INV_ANSWERED], 2);
    cr_assert_eq(k.by_state[INV_BOUNCED], 1);
    cr_assert_eq(k.by_state[INV_DEFERRED], 1);
    cr_assert_eq(k.by_state[INV_SENT], 1);
    /* sent, 2 answered, bounced: four went out; planned, deferred and
     * cancelled did not. */
    cr_assert_eq(k.delivered, 4);
}

Test(ops, period_close_counts_open_invitations_and_the_last_close)
{
    struct world w = world();
    int64_t open;
    eq_time last;

    inv(&w, w.march, INV_SENT, T0, T0 + 100 * H);
    inv(&w, w.march, INV_ANSWERED, T0, T0 + 300 * H);
    inv(&w, w.march, INV_CANCELLED, T0, T0 + 900 * H); /* ignored */
    inv(&w, w.march, INV_REMINDED, T0, T0 + 200 * H);

    cr_assert_eq(
        store_ops_period_close(st, w.march, T0 + 150 * H, &open, &last), EQ_OK);
    cr_assert_eq(open, 1); /* the reminded one, until +200h */
    cr_assert_eq(last, T0 + 300 * H);
    cr_assert_eq(
        store_ops_period_close(st, w.march, T0 + 250 * H, &open, &last), EQ_OK);
    cr_assert_eq(open, 0);
    cr_assert_eq(store_ops_period_close(st, w.april, T0, &open, &last), EQ_OK);
    cr_assert_eq(open, 0);
    cr_assert_eq(last, 0);
}

Test(ops, periods_are_found_by_campaign_name_oldest_first)
{
    struct world w = world();
    struct store_period *p = NULL;
    size_t n = 0;

    cr_assert_eq(store_period_set_digest(st, w.march, T0), EQ_OK);
    cr_assert_eq(store_ops_periods(st, "loop", &p, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(p[0].label, "2026-03");
    cr_assert_eq(p[0].first, MAR1);
    cr_assert_eq(p[0].last, MAR31);
    cr_assert_eq(p[0].digest_at, T0);
    cr_assert_str_eq(p[1].label, "2026-04");
    cr_assert_eq(p[1].digest_at, 0);
    free(p);
    cr_assert_eq(store_ops_periods(st, "other", &p, &n), EQ_OK);
    cr_assert_eq(n, 0);
    free(p);
}

Test(ops, runs_give_the_last_the_last_failed_and_failures_since_ok)
{
    struct store_ops_run last, failed;
    int64_t since;

    cr_assert_eq(store_ops_runs(st, &last, &failed, &since), EQ_OK);
    cr_assert_eq(last.id, 0);
    cr_assert_eq(failed.id, 0);
    cr_assert_eq(since, 0);

    cr_assert_eq(store_run_log(st, "run", T0, T0 + 5, 0, "broken 1"), EQ_OK);
    cr_assert_eq(store_run_log(st, "run", T0 + 60, T0 + 61, 1, "fine"), EQ_OK);
    cr_assert_eq(store_run_log(st, "send", T0 + 120, T0 + 125, 0, "broken 2"),
                 EQ_OK);
    cr_assert_eq(store_run_log(st, "run", T0 + 180, T0 + 190, 0, "broken 3"),
                 EQ_OK);
    cr_assert_eq(store_ops_runs(st, &last, &failed, &since), EQ_OK);
    cr_assert_str_eq(last.command, "run");
    cr_assert_eq(last.started, T0 + 180);
    cr_assert_eq(last.finished, T0 + 190);
    cr_assert_eq(last.ok, 0);
    cr_assert_str_eq(last.summary, "broken 3");
    cr_assert_eq(failed.id, last.id);
    cr_assert_eq(since, 2);
    store_ops_run_clear(&last);
    store_ops_run_clear(&failed);

    cr_assert_eq(store_run_log(st, "run", T0 + 240, T0 + 241, 1, "fine"),
                 EQ_OK);
    cr_assert_eq(store_ops_runs(st, &last, &failed, &since), EQ_OK);
    cr_assert_eq(last.ok, 1);
    cr_assert_str_eq(failed.summary, "broken 3");
    cr_assert_eq(failed.started, T0 + 180);
    cr_assert_eq(since, 0);
    store_ops_run_clear(&last);
    store_ops_run_clear(&failed);
}

Test(ops, mailboxes_list_every_checkpoint_by_name)
{
    struct store_ops_mailbox *m = NULL;
    size_t n = 0;

    cr_assert_eq(store_mailbox_set(st, "imaps://h/INBOX", 7, 120, T0), EQ_OK);
    cr_assert_eq(store_mailbox_set(st, "imap://a/INBOX", 1, 3, T0 + 5), EQ_OK);
    cr_assert_eq(store_ops_mailboxes(st, &m, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(m[0].name, "imap://a/INBOX");
    cr_assert_eq(m[0].last_uid, 3);
    cr_assert_eq(m[0].updated, T0 + 5);
    cr_assert_str_eq(m[1].name, "imaps://h/INBOX");
    cr_assert_eq(m[1].uidvalidity, 7);
    cr_assert_eq(m[1].last_uid, 120);
    store_ops_mailboxes_free(m, n);
}

Test(ops, review_counts_only_mail_waiting_and_its_oldest_time)
{
    const char *outcomes[] = {"review", "recorded", "review", "late"};
    eq_time at[] = {T0 + 50, T0 + 10, T0 + 20, T0 + 5};
    int64_t n, id;
    eq_time oldest;

    for (int i = 0; i < 4; i++) {
        char sha[65];
        snprintf(sha, sizeof sha, "%064d", i);
        struct store_inbound in = {.sha256 = sha,
                                   .received_at = at[i],
                                   .kind = "reply",
                                   .outcome = (char *)outcomes[i]};
        cr_assert_eq(store_inbound_add(st, &in, &id), EQ_OK, "%s",
                     store_errmsg(st));
    }
    cr_assert_eq(store_ops_review(st, &n, &oldest), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(oldest, T0 + 20);
}

Test(ops, digests_at_a_tick_name_period_and_department_not_address)
{
    struct world w = world();
    struct store_ops_digest *d = NULL;
    size_t n = 0;

    cr_assert_eq(
        store_digest_log(st, w.march, "it:boss@example.org", w.it, NULL, T0),
        EQ_OK);
    cr_assert_eq(store_digest_log(st, w.march, "hr@example.org", 0, NULL, T0),
                 EQ_OK);
    cr_assert_eq(
        store_digest_log(st, w.april, "hr@example.org", 0, NULL, T0 + 60),
        EQ_OK);
    cr_assert_eq(store_ops_digests_at(st, "loop", T0, &d, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(d[0].period, "2026-03");
    cr_assert_str_eq(d[0].department, "it");
    cr_assert_str_eq(d[1].period, "2026-03");
    cr_assert_null(d[1].department);
    store_ops_digests_free(d, n);
    cr_assert_eq(store_ops_digests_at(st, "other", T0, &d, &n), EQ_OK);
    cr_assert_eq(n, 0);
    store_ops_digests_free(d, n);
}

/* --- log --------------------------------------------------------------- */

/* The log lines written while fn runs at level. */
static char *
capture(enum log_level level, void (*fn)(void))
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    log_set_level(level);
    log_set_stream(f);
    fn();
    log_set_stream(NULL);
    log_set_level(LOG_WARN);
    fclose(f);
    return text;
}

static void
one_of_each(void)
{
    log_msg(LOG_ERROR, "e campaign=%s", "x");
    log_msg(LOG_WARN, "w");
    log_msg(LOG_INFO, "sent campaign=it-2026 invitation=%d provider=%s", 123,
            "it");
    log_msg(LOG_DEBUG, "d");
}

Test(ops, log_line_has_pid_level_and_key_values)
{
    char *t = capture(LOG_INFO, one_of_each);
    char want[128];

    snprintf(want, sizeof want,
             "enquete[%ld]: info: sent campaign=it-2026 invitation=123 "
             "provider=it\n",
             (long)getpid());
    cr_assert_not_null(strstr(t, want), "%s", t);
    snprintf(want, sizeof want, "enquete[%ld]: error: e campaign=x\n",
             (long)getpid());
    cr_assert_not_null(strstr(t, want), "%s", t);
    cr_assert_null(strstr(t, ": debug: "), "%s", t);
    free(t);
}

Test(ops, quiet_logs_errors_only_and_default_adds_warnings)
{
    char *t = capture(LOG_ERROR, one_of_each);
    cr_assert_not_null(strstr(t, ": error: "), "%s", t);
    cr_assert_null(strstr(t, ": warn: "), "%s", t);
    cr_assert_null(strstr(t, ": info: "), "%s", t);
    free(t);
    t = capture(LOG_WARN, one_of_each);
    cr_assert_not_null(strstr(t, ": warn: w\n"), "%s", t);
    cr_assert_null(strstr(t, ": info: "), "%s", t);
    free(t);
    t = capture(LOG_DEBUG, one_of_each);
    cr_assert_not_null(strstr(t, ": debug: d\n"), "%s", t);
    free(t);
}

static void
multi_line(void)
{
    log_msg(LOG_ERROR, "a.ini:3: bad key\nb.ini:9: bad value\r\n");
    log_msg(LOG_ERROR, "reply=\"550 no\r\nInjected: yes\"");
}

Test(ops, an_event_of_several_lines_stays_one_line)
{
    char *t = capture(LOG_WARN, multi_line);
    int lines = 0;

    for (const char *p = t; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 2, "%s", t);
    cr_assert_not_null(strstr(t, "a.ini:3: bad key; b.ini:9: bad value\n"),
                       "%s", t);
    cr_assert_not_null(strstr(t, "reply=\"550 no; Injected: yes\"\n"), "%s", t);
    free(t);
}

Test(ops, level_names_parse)
{
    enum log_level l;

    cr_assert_eq(log_level_parse("debug", &l), 0);
    cr_assert_eq(l, LOG_DEBUG);
    cr_assert_eq(log_level_parse("warn", &l), 0);
    cr_assert_eq(l, LOG_WARN);
    cr_assert_eq(log_level_parse("loud", &l), -1);
    cr_assert_not(log_enabled(LOG_INFO)); /* default threshold: warn */
    cr_assert(log_enabled(LOG_WARN));
}

/* --- what run logs of a refused mail ----------------------------------- */

/* A server that greylists every recipient, naming the address as real
 * servers do. */
static enum eq_err
greylist_send(struct transport *t, const struct transport_msg *m,
              struct transport_result *res)
{
    (void)t;
    res->code = 450;
    snprintf(res->text, sizeof res->text,
             "450 4.2.0 <%s>: Recipient address rejected: Greylisted",
             m->rcpt[0]);
    res->err = EQ_ERR_TEMP;
    return EQ_ERR_TEMP;
}

static const struct transport_ops greylist_ops = {.name = "greylist",
                                                  .send = greylist_send};

static struct {
    struct eq_config *cfg;
    struct campaign *camp;
    int64_t inv;
} gl;

/* One campaign "kto" (anonymous or not) with one invitation of
 * jan@example.org due at T0, through config and campaign files as in
 * production. */
static void
greylist_world(int anonymous)
{
    struct eq_buf diag = {0};
    struct world w;
    char path[256];

    th_tmpdir("opslog");
    snprintf(path, sizeof path, "%s/campaigns", th_dir());
    cr_assert_eq(mkdir(path, 0700), 0);
    th_put("config.ini",
           "[general]\ndatabase = e.db\nfrom = HR <hr@example.org>\n"
           "reply_address = enquete@example.org\n"
           "[smtp]\nurl = maildir:out\n[imap]\nurl = maildir:in\n"
           "[digest]\nhr = hr@example.org\n");
    th_put("campaigns/kto.ini",
           anonymous ? "[campaign]\nname = kto\nmetrics = nps\n"
                       "providers = it\ncustomers = *\ncadence = monthly\n"
                       "start = 2026-03-01\nanonymous = yes\n"
                     : "[campaign]\nname = kto\nmetrics = nps\n"
                       "providers = it\ncustomers = *\ncadence = monthly\n"
                       "start = 2026-03-01\n");
    snprintf(path, sizeof path, "%s/config.ini", th_dir());
    cr_assert_eq(config_load(path, &gl.cfg, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    free(gl.cfg->general.templates);
    gl.cfg->general.templates = strdup(FIXTURES "/../../templates");
    snprintf(path, sizeof path, "%s/campaigns/kto.ini", th_dir());
    cr_assert_eq(campaign_load(path, "Europe/Amsterdam", &gl.camp, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(gl.camp->anonymous, anonymous);
    buf_free(&diag);

    w = world();
    /* world() names its campaign "loop"; this one is "kto". */
    cr_assert_eq(store_campaign_ensure(st, "kto", &w.campaign), EQ_OK);
    cr_assert_eq(
        store_period_ensure(st, w.campaign, "2026-03", MAR1, MAR31, &w.march),
        EQ_OK);
    w.ann = emp("jan@example.org", w.sales);
    /* Ids that cannot be mistaken for attempts=1 or code=450. */
    for (int i = 0; i < 6; i++)
        inv(&w, w.march, INV_CANCELLED, T0, T0 + 10 * 24 * H);
    gl.inv = inv(&w, w.march, INV_PLANNED, T0, T0 + 10 * 24 * H);
}

static void
greylist_free(void)
{
    campaign_free(gl.camp);
    config_free(gl.cfg);
    th_rmtmp();
}

static void
greylist_send_once(void)
{
    struct transport tx = {.ops = &greylist_ops};
    struct campaign *camps[1] = {gl.camp};
    struct run_ctx ctx = {.st = st,
                          .cfg = gl.cfg,
                          .campaigns = camps,
                          .n_campaigns = 1,
                          .tx = &tx,
                          .now = T0 + H};
    struct run_summary sum;
    struct eq_buf diag = {0};

    memset(&sum, 0, sizeof sum);
    cr_assert_eq(run_send(&ctx, &sum, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(sum.deferred, 1);
    buf_free(&diag);
}

Test(ops, deferred_send_of_anonymous_campaign_logs_codes_without_id_or_address)
{
    char id[32], *t;

    greylist_world(1);
    t = capture(LOG_INFO, greylist_send_once);
    cr_assert_not_null(strstr(t, ": info: deferred campaign=kto "
                                 "mail=invitation attempts=1 code=450 "
                                 "status=4.2.0\n"),
                       "%s", t);
    cr_assert_null(strstr(t, "jan@"), "%s", t);
    cr_assert_null(strstr(t, "Greylisted"), "%s", t);
    cr_assert_null(strstr(t, "invitation="), "%s", t);
    cr_assert_eq(gl.inv, 7);
    snprintf(id, sizeof id, "=%lld ", (long long)gl.inv);
    cr_assert_null(strstr(t, id), "%s", t);
    snprintf(id, sizeof id, "=%lld\n", (long long)gl.inv);
    cr_assert_null(strstr(t, id), "%s", t);
    free(t);
    greylist_free();
}

Test(ops, deferred_send_logs_the_invitation_id_but_never_the_reply_text)
{
    char want[96], *t;

    greylist_world(0);
    t = capture(LOG_INFO, greylist_send_once);
    snprintf(want, sizeof want,
             "deferred campaign=kto invitation=%lld attempts=1 code=450 "
             "status=4.2.0\n",
             (long long)gl.inv);
    cr_assert_not_null(strstr(t, want), "%s", t);
    cr_assert_null(strstr(t, "jan@"), "%s", t);
    cr_assert_null(strstr(t, "Greylisted"), "%s", t);
    free(t);
    greylist_free();
}
