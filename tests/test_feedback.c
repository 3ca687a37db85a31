/* The feedback loop end to end on a real database: a manager's reply to
 * their digest goes through ingest_message, is recorded and confirmed; the
 * raters of that department hear about it once. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_int.h"
#include "compose.h"
#include "eqtime.h"
#include "feedback.h"
#include "helpers.h"
#include "ingest.h"
#include "store_action.h"
#include "token.h"
#include "transport.h"

#define TEMPLATES FIXTURES "/../../templates"
#define DIG "dddddddddddddddddddddddddd"
#define NOW 1807430400 /* 2027-04-11T08:00:00Z, 10:00 in Amsterdam */

struct world {
    struct eq_config cfg;
    struct campaign camp;
    struct campaign *camps[1];
    struct campaign_metric metrics[2];
    int64_t camp_id, period_id, it, hr;
    int64_t boss, anna, bert, carl, dirk, eva;
    struct store *st;
    struct transport *tx;
    struct ingest_ctx ictx;
};

static int64_t
person(struct world *w, const char *email, const char *name, int64_t dept,
       const char *lang)
{
    struct store_employee e;
    int64_t id;
    int changed;

    memset(&e, 0, sizeof e);
    e.email = (char *)email;
    e.name = (char *)name;
    e.department_id = dept;
    e.language = (char *)lang;
    e.active = 1;
    cr_assert_eq(store_employee_upsert(w->st, &e, &id, &changed), EQ_OK);
    return id;
}

/* An invitation of the period about IT, answered with score (or, with
 * score < 0, only "not applicable"; INT_MIN-ish 99: not answered). */
static void
rated(struct world *w, int64_t who, int64_t rater_dept, int score)
{
    struct store_invitation inv;
    char tok[27];

    memset(&inv, 0, sizeof inv);
    cr_assert_eq(token_new(tok), EQ_OK);
    memcpy(inv.token, tok, sizeof inv.token);
    inv.campaign_id = w->camp_id;
    inv.period_id = w->period_id;
    inv.employee_id = who;
    inv.rater_department_id = rater_dept;
    inv.provider_department_id = w->it;
    inv.language = (char *)"nl";
    inv.planned_at = NOW - 80 * 86400;
    cr_assert_eq(store_invitation_add(w->st, &inv), EQ_OK);
    if (score == 99) {
        cr_assert_eq(store_invitation_set_state(w->st, inv.id, INV_SENT,
                                                NOW - 80 * 86400, NULL),
                     EQ_OK);
        return;
    }
    cr_assert_eq(store_answer_add(w->st, inv.id, "nps", score < 0 ? -1 : score,
                                  score < 0, NOW - 79 * 86400, 0),
                 EQ_OK);
    cr_assert_eq(store_invitation_set_state(w->st, inv.id, INV_ANSWERED,
                                            NOW - 79 * 86400, NULL),
                 EQ_OK);
}

static void
world_init(struct world *w)
{
    char db[256];
    int changed;

    memset(w, 0, sizeof *w);
    th_tmpdir("feedback");
    snprintf(db, sizeof db, "%s/enquete.db", th_dir());
    cr_assert_eq(store_open(db, &w->st, NULL), EQ_OK);
    w->cfg.general.from = (char *)"HR Enquête <hr@example.org>";
    w->cfg.general.reply_address = (char *)"enquete@example.org";
    w->cfg.general.language = (char *)"nl";
    w->cfg.general.timezone = (char *)"Europe/Amsterdam";
    w->cfg.general.templates = (char *)TEMPLATES;
    w->metrics[0] = (struct campaign_metric){(char *)"nps",
                                             METRIC_NPS,
                                             0,
                                             10,
                                             (char *)"Aanbeveling",
                                             (char *)"Recommendation",
                                             NULL,
                                             NULL};
    w->metrics[1] = (struct campaign_metric){
        (char *)"communication", METRIC_CSAT, 1,   5, (char *)"Communicatie",
        (char *)"Communication", NULL,        NULL};
    w->camp.name = (char *)"kto";
    w->camp.title_nl = (char *)"Klanttevredenheid";
    w->camp.title_en = (char *)"Customer satisfaction";
    w->camp.metrics = w->metrics;
    w->camp.n_metrics = 2;
    w->camp.share_actions = 1;
    w->camps[0] = &w->camp;
    cr_assert_eq(store_department_upsert(w->st, "it", "ICT", &w->it, &changed),
                 EQ_OK);
    cr_assert_eq(store_department_upsert(w->st, "hr", "HR", &w->hr, &changed),
                 EQ_OK);
    w->boss = person(w, "boss@example.org", "Bas Baas", w->it, "nl");
    w->anna = person(w, "anna@example.org", "Anna de Vries", w->hr, "en");
    w->bert = person(w, "bert@example.org", "Bert Bos", w->hr, "nl");
    w->carl = person(w, "carl@example.org", "Carl Cox", w->hr, "nl");
    w->dirk = person(w, "dirk@example.org", "Dirk Dam", w->hr, "nl");
    w->eva = person(w, "eva@example.org", "Eva Eik", w->hr, "nl");
    cr_assert_eq(store_manager_set(w->st, w->it, w->boss, 1, &changed), EQ_OK);
    cr_assert_eq(store_campaign_ensure(w->st, "kto", &w->camp_id), EQ_OK);
    cr_assert_eq(store_period_ensure(w->st, w->camp_id, "2027Q1",
                                     eqtime_day_from_ymd(2027, 1, 1),
                                     eqtime_day_from_ymd(2027, 3, 31),
                                     &w->period_id),
                 EQ_OK);
    rated(w, w->anna, w->hr, 9);  /* a rater, in English */
    rated(w, w->bert, w->hr, 4);  /* a rater */
    rated(w, w->carl, w->hr, -1); /* n.v.t. only: did not rate */
    rated(w, w->dirk, w->hr, 99); /* never answered */
    rated(w, w->eva, w->hr, 7);   /* a rater who opts out */
    cr_assert_eq(store_employee_set_flags(w->st, w->eva, 1, 0, 1), EQ_OK);
    cr_assert_eq(store_token_add(w->st, DIG, "digest", NOW - 5 * 86400), EQ_OK);
    cr_assert_eq(store_digest_log(w->st, w->period_id, "it:boss@example.org",
                                  w->it, DIG, NOW - 5 * 86400),
                 EQ_OK);
    w->tx = transport_capture_new();
    w->ictx.st = w->st;
    w->ictx.cfg = &w->cfg;
    w->ictx.campaigns = w->camps;
    w->ictx.campaign_ids = &w->camp_id;
    w->ictx.n_campaigns = 1;
    w->ictx.now = NOW;
    w->ictx.tx = w->tx;
}

static void
world_free(struct world *w)
{
    transport_close(w->tx);
    store_close(w->st);
    th_rmtmp();
}

/* A reply to the digest from `from`, with body. */
static enum source_folder
reply(struct world *w, const char *from, const char *id, const char *body)
{
    char raw[4096];
    enum source_folder folder;
    struct ingest_summary sum;
    struct eq_buf diag = {0};

    memset(&sum, 0, sizeof sum);
    snprintf(raw, sizeof raw,
             "From: %s\r\n"
             "To: enquete+" DIG "@example.org\r\n"
             "Subject: RE: Resultaten ICT 2027Q1 [#" DIG "]\r\n"
             "Message-ID: <%s@example.org>\r\n"
             "In-Reply-To: <dig." DIG "@example.org>\r\n"
             "Date: Sat, 10 Apr 2027 12:00:00 +0200\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "\r\n%s",
             from, id, body);
    cr_assert_eq(
        ingest_message(&w->ictx, raw, strlen(raw), id, &sum, &folder, &diag),
        EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
    return folder;
}

static const char *const four_actions =
    "Beste HR,\r\n"
    "\r\n"
    "Actie: vast inloopspreekuur op dinsdag\r\n"
    "Actie: [communication] maandelijkse nieuwsbrief tot 2027-06-01\r\n"
    "- Actie wachttijd servicedesk halveren\r\n"
    "Action: English FAQ on the intranet by 15-5-2027\r\n"
    "Actie: [sfeer] taart\r\n"
    "\r\n"
    "Groet,\r\nBas\r\n";

Test(feedback,
     records_dutch_and_english_actions_with_department_period_metric_and_due)
{
    struct world w;
    struct store_action *a = NULL;
    size_t n = 0;

    world_init(&w);
    cr_assert_eq(reply(&w, "Bas Baas <BOSS@example.org>", "r1", four_actions),
                 SOURCE_PROCESSED);
    cr_assert_eq(store_actions(w.st, NULL, &a, &n), EQ_OK);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(a[i].number, (int)i + 1);
        cr_assert_eq(a[i].department_id, w.it);
        cr_assert_str_eq(a[i].period_label, "2027Q1");
        cr_assert_eq(a[i].author_id, w.boss);
        cr_assert_eq(a[i].done, 0);
    }
    cr_assert_str_eq(a[0].text, "vast inloopspreekuur op dinsdag");
    cr_assert_null(a[0].metric);
    cr_assert_str_eq(a[1].text, "maandelijkse nieuwsbrief");
    cr_assert_str_eq(a[1].metric, "communication");
    cr_assert_eq(a[1].due_day, eqtime_day_from_ymd(2027, 6, 1));
    cr_assert_str_eq(a[2].text, "wachttijd servicedesk halveren");
    cr_assert_str_eq(a[3].text, "English FAQ on the intranet");
    cr_assert_eq(a[3].due_day, eqtime_day_from_ymd(2027, 5, 15));
    store_actions_free(a, n);
    world_free(&w);
}

Test(feedback, confirmation_says_what_was_understood_and_what_not)
{
    struct world w;
    const struct transport_msg *m;

    world_init(&w);
    reply(&w, "boss@example.org", "r1", four_actions);
    cr_assert_eq(transport_capture_count(w.tx), 1);
    m = transport_capture_get(w.tx, 0);
    cr_assert_str_eq(m->rcpt[0], "boss@example.org");
    cr_assert_str_eq(m->envelope_from, "enquete+" DIG "@example.org");
    cr_assert_not_null(
        strstr(m->data, "Message-ID: <ack." DIG ".1@example.org>"), "%s",
        m->data);
    cr_assert_not_null(
        strstr(m->data, "In-Reply-To: <dig." DIG "@example.org>"));
    cr_assert_not_null(strstr(m->data, "Auto-Submitted: auto-replied"));
    cr_assert_not_null(strstr(m->data, "[#" DIG "]"));
    /* quoted-printable may wrap; the text part starts with the plain lines */
    cr_assert_not_null(strstr(m->data, "Deze acties hebben we vastgelegd:"),
                       "%s", m->data);
    cr_assert_not_null(
        strstr(m->data,
               "2. maandelijkse nieuwsbrief [Communicatie] (tot 1 juni 2027)"),
        "%s", m->data);
    cr_assert_not_null(strstr(m->data, "Deze regels konden we niet lezen:"));
    cr_assert_not_null(strstr(m->data, "\"Actie: [sfeer] taart\": onbekend"),
                       "%s", m->data);
    world_free(&w);
}

Test(feedback, reply_from_someone_who_is_not_a_manager_goes_to_review)
{
    struct world w;
    struct store_inbound *in = NULL;
    struct store_action *a = NULL;
    size_t n = 0, na = 0;

    world_init(&w);
    cr_assert_eq(reply(&w, "anna@example.org", "r1", four_actions),
                 SOURCE_REVIEW);
    cr_assert_eq(store_review_list(w.st, &in, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_not_null(strstr(in[0].note, "does not manage"), "%s", in[0].note);
    cr_assert_eq(store_actions(w.st, NULL, &a, &na), EQ_OK);
    cr_assert_eq(na, 0);
    cr_assert_eq(transport_capture_count(w.tx), 0, "no confirmation");
    store_inbounds_free(in, n);
    world_free(&w);
}

Test(feedback, done_closes_the_second_action_and_unknown_numbers_are_told)
{
    struct world w;
    struct store_action a;
    const struct transport_msg *m;

    world_init(&w);
    reply(&w, "boss@example.org", "r1", four_actions);
    w.ictx.now = NOW + 86400;
    cr_assert_eq(reply(&w, "boss@example.org", "r2", "Done: 2, 9\r\n"),
                 SOURCE_PROCESSED);
    cr_assert_eq(store_action_get(w.st, w.it, 2, &a), EQ_OK);
    cr_assert_eq(a.done, 1);
    cr_assert_eq(a.done_at, NOW + 86400);
    store_action_clear(&a);
    cr_assert_eq(store_action_get(w.st, w.it, 1, &a), EQ_OK);
    cr_assert_eq(a.done, 0);
    store_action_clear(&a);
    cr_assert_eq(transport_capture_count(w.tx), 2);
    m = transport_capture_get(w.tx, 1);
    cr_assert_not_null(strstr(m->data, "Deze acties staan nu op klaar:"));
    cr_assert_not_null(strstr(m->data, "2. maandelijkse nieuwsbrief"));
    cr_assert_not_null(strstr(m->data, "Geen open actie van ICT met nummer: 9"),
                       "%s", m->data);
    world_free(&w);
}

Test(feedback, reply_without_action_lines_goes_to_review)
{
    struct world w;

    world_init(&w);
    cr_assert_eq(
        reply(&w, "boss@example.org", "r1", "Dank, we kijken ernaar.\r\n"),
        SOURCE_REVIEW);
    cr_assert_eq(transport_capture_count(w.tx), 0);
    world_free(&w);
}

Test(feedback, notices_go_once_per_period_to_the_raters_only)
{
    struct world w;
    struct feedback_summary sum;
    struct eq_buf diag = {0};
    struct feedback_ctx f;
    int sent;

    world_init(&w);
    reply(&w, "boss@example.org", "r1", four_actions);
    memset(&f, 0, sizeof f);
    f.st = w.st;
    f.cfg = &w.cfg;
    f.campaigns = w.camps;
    f.n_campaigns = 1;
    f.tx = transport_capture_new();
    f.now = NOW + 3600;
    f.settle = 86400;
    cr_assert_eq(feedback_notices(&f, &sum, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    cr_assert_eq(sum.notices, 0, "the actions have not settled yet");
    f.now = NOW + 86400;
    cr_assert_eq(feedback_notices(&f, &sum, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    cr_assert_eq(sum.notices, 2, "%s", buf_str(&diag));
    cr_assert_eq(transport_capture_count(f.tx), 2);
    {
        const struct transport_msg *a = transport_capture_get(f.tx, 0);
        const struct transport_msg *b = transport_capture_get(f.tx, 1);
        cr_assert_str_eq(a->rcpt[0], "anna@example.org");
        cr_assert_str_eq(b->rcpt[0], "bert@example.org");
        cr_assert_not_null(strstr(a->data, "This is what the departments"),
                           "%s", a->data);
        cr_assert_not_null(
            strstr(a->data, "  - English FAQ on the intranet (by 15 May 2027)"),
            "%s", a->data);
        cr_assert_not_null(strstr(b->data, "Zo gaan de afdelingen"));
        cr_assert_not_null(strstr(b->data, "List-Unsubscribe:"));
        cr_assert_null(strstr(b->data, "Aanbeveling"), "no scores or metrics");
    }
    cr_assert_eq(store_action_notice_sent(w.st, w.period_id, w.anna, &sent),
                 EQ_OK);
    cr_assert_eq(sent, 1);
    cr_assert_eq(store_action_notice_sent(w.st, w.period_id, w.eva, &sent),
                 EQ_OK);
    cr_assert_eq(sent, 0, "opted out: never told");
    /* Later actions of the same period send nothing new. */
    w.ictx.now = NOW + 2 * 86400;
    reply(&w, "boss@example.org", "r2", "Actie: nog een actie\r\n");
    f.now = NOW + 5 * 86400;
    cr_assert_eq(feedback_notices(&f, &sum, &diag), EQ_OK);
    cr_assert_eq(sum.notices, 0);
    cr_assert_eq(transport_capture_count(f.tx), 2);
    transport_close(f.tx);
    buf_free(&diag);
    world_free(&w);
}

Test(feedback, no_notices_without_share_actions)
{
    struct world w;
    struct feedback_summary sum;
    struct feedback_ctx f;

    world_init(&w);
    reply(&w, "boss@example.org", "r1", four_actions);
    w.camp.share_actions = 0;
    memset(&f, 0, sizeof f);
    f.st = w.st;
    f.cfg = &w.cfg;
    f.campaigns = w.camps;
    f.n_campaigns = 1;
    f.tx = w.tx;
    f.now = NOW + 86400;
    cr_assert_eq(feedback_notices(&f, &sum, NULL), EQ_OK);
    cr_assert_eq(sum.notices, 0);
    world_free(&w);
}

Test(feedback, counts_per_department_and_departments_without_actions)
{
    struct world w;
    struct store_action_count *c = NULL;
    int64_t *ids = NULL;
    size_t n = 0, ni = 0;

    world_init(&w);
    reply(&w, "boss@example.org", "r1", four_actions);
    reply(&w, "boss@example.org", "r2", "Klaar: 1\r\n");
    cr_assert_eq(store_action_counts(w.st, w.camp_id, &c, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(c[0].code, "hr"); /* by name: HR before ICT */
    cr_assert_eq(c[0].open + c[0].done, 0);
    cr_assert_str_eq(c[1].code, "it");
    cr_assert_eq(c[1].open, 3);
    cr_assert_eq(c[1].done, 1);
    cr_assert_eq(store_action_departments_without(w.st, w.camp_id, &ids, &ni),
                 EQ_OK);
    cr_assert_eq(ni, 1);
    cr_assert_eq(ids[0], w.hr);
    free(ids);
    store_action_counts_free(c, n);
    world_free(&w);
}

Test(feedback, action_templates_pass_the_check)
{
    struct world w;
    struct eq_buf d = {0};

    world_init(&w);
    cr_assert_eq(compose_check_action_templates(&w.cfg, NULL, &d), EQ_OK, "%s",
                 buf_str(&d));
    buf_free(&d);
    world_free(&w);
}

/* --- report --actions ------------------------------------------------- */

static int64_t
add_action(struct world *w, int64_t dept, int64_t camp, int64_t period,
           const char *text)
{
    struct store_action a;

    memset(&a, 0, sizeof a);
    a.department_id = dept;
    a.campaign_id = camp;
    a.period_id = period;
    a.text = (char *)text;
    a.created_at = NOW - 3 * 86400;
    cr_assert_eq(store_action_add(w->st, &a), EQ_OK, "%s", store_errmsg(w->st));
    return a.number;
}

/* An action of IT in kto 2027Q1, created three days before NOW, due on
 * y-m-d (y = 0: no due day). */
static int
add_due(struct world *w, const char *text, int y, int m, int d)
{
    struct store_action a;

    memset(&a, 0, sizeof a);
    a.department_id = w->it;
    a.campaign_id = w->camp_id;
    a.period_id = w->period_id;
    a.text = (char *)text;
    a.has_due = y != 0;
    a.due_day = y ? eqtime_day_from_ymd(y, m, d) : 0;
    a.created_at = NOW - 3 * 86400;
    cr_assert_eq(store_action_add(w->st, &a), EQ_OK, "%s", store_errmsg(w->st));
    return a.number;
}

/* What `enquete report ARGS…` prints on stdout at `now` (the app's clock,
 * as --now sets it), and its exit code. */
static char *
run_report_at(struct world *w, eq_time now, int *rc, const char *const *args)
{
    char *argv[16], path[128];
    int argc = 0, saved, fd;
    struct app a;

    memset(&a, 0, sizeof a);
    a.cfg = &w->cfg;
    a.st = w->st;
    a.now = now;
    argv[argc++] = (char *)"report";
    for (; *args && argc < 15; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    snprintf(path, sizeof path, "%s/stdout", th_dir());
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    *rc = cli_cmd_report(&a, argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    buf_free(&a.diag);
    return th_slurp(path, NULL);
}

static char *
run_report(struct world *w, int *rc, const char *const *args)
{
    return run_report_at(w, NOW, rc, args);
}

/* The "text" of each JSON line, joined by '|'. */
static void
texts(const char *out, char *buf, size_t cap)
{
    size_t len = 0;

    buf[0] = '\0';
    for (const char *p = out; (p = strstr(p, "\"text\":\"")) != NULL;) {
        p += 8;
        size_t k = strcspn(p, "\"");
        len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", len ? "|" : "",
                                (int)k, p);
        cr_assert_lt(len, cap);
        p += k;
    }
}

/* Four actions: IT and HR in kto 2027Q1, IT in kto 2027Q2, IT in the
 * campaign "intern" 2027Q1 (the same label as kto's). */
static void
four_places(struct world *w)
{
    int64_t q2, intern, intern_q1;

    cr_assert_eq(store_period_ensure(w->st, w->camp_id, "2027Q2",
                                     eqtime_day_from_ymd(2027, 4, 1),
                                     eqtime_day_from_ymd(2027, 6, 30), &q2),
                 EQ_OK);
    cr_assert_eq(store_campaign_ensure(w->st, "intern", &intern), EQ_OK);
    cr_assert_eq(store_period_ensure(
                     w->st, intern, "2027Q1", eqtime_day_from_ymd(2027, 1, 1),
                     eqtime_day_from_ymd(2027, 3, 31), &intern_q1),
                 EQ_OK);
    add_action(w, w->it, w->camp_id, w->period_id, "spreekuur");
    add_action(w, w->hr, w->camp_id, w->period_id, "intranet");
    add_action(w, w->it, w->camp_id, q2, "nieuwsbrief");
    add_action(w, w->it, intern, intern_q1, "laptops");
}

static void
expect_texts(struct world *w, const char *const *args, const char *want)
{
    char got[256];
    int rc;
    char *out = run_report(w, &rc, args);

    cr_assert_eq(rc, 0);
    texts(out, got, sizeof got);
    cr_assert_str_eq(got, want, "%s", out);
    free(out);
}

Test(feedback, report_actions_narrows_by_department)
{
    struct world w;

    world_init(&w);
    four_places(&w);
    expect_texts(&w,
                 (const char *const[]){"--actions", "--format", "json", NULL},
                 "intranet|spreekuur|nieuwsbrief|laptops");
    expect_texts(&w,
                 (const char *const[]){"--actions", "--department", "it",
                                       "--format", "json", NULL},
                 "spreekuur|nieuwsbrief|laptops");
    world_free(&w);
}

Test(feedback, report_actions_narrows_by_campaign)
{
    struct world w;

    world_init(&w);
    four_places(&w);
    expect_texts(&w,
                 (const char *const[]){"--actions", "--campaign", "kto",
                                       "--format", "json", NULL},
                 "intranet|spreekuur|nieuwsbrief");
    expect_texts(&w,
                 (const char *const[]){"--actions", "--campaign", "intern",
                                       "--format", "json", NULL},
                 "laptops");
    world_free(&w);
}

Test(feedback, report_actions_narrows_by_period_in_every_or_one_campaign)
{
    struct world w;

    world_init(&w);
    four_places(&w);
    expect_texts(&w,
                 (const char *const[]){"--actions", "--period", "2027Q1",
                                       "--format", "json", NULL},
                 "intranet|spreekuur|laptops");
    expect_texts(&w,
                 (const char *const[]){"--actions", "--period", "2027Q2",
                                       "--format", "json", NULL},
                 "nieuwsbrief");
    expect_texts(&w,
                 (const char *const[]){"--actions", "--campaign", "intern",
                                       "--period", "2027Q1", "--department",
                                       "it", "--format", "json", NULL},
                 "laptops");
    world_free(&w);
}

Test(feedback, report_actions_refuses_unknown_names_and_formats)
{
    struct world w;
    int rc;
    char *out;

    world_init(&w);
    four_places(&w);
    out = run_report(
        &w, &rc,
        (const char *const[]){"--actions", "--department", "sales", NULL});
    cr_assert_eq(rc, 65);
    cr_assert_str_eq(out, "");
    free(out);
    out = run_report(&w, &rc,
                     (const char *const[]){"--actions", "--campaign", "intern",
                                           "--period", "2027Q2", NULL});
    cr_assert_eq(rc, 65, "intern has no 2027Q2");
    free(out);
    out = run_report(
        &w, &rc,
        (const char *const[]){"--actions", "--campaign", "nope", NULL});
    cr_assert_eq(rc, 65);
    free(out);
    out = run_report(
        &w, &rc, (const char *const[]){"--actions", "--format", "pdf", NULL});
    cr_assert_eq(rc, 64);
    cr_assert_str_eq(out, "");
    free(out);
    world_free(&w);
}

Test(feedback, report_actions_html_is_a_page_with_every_cell_escaped)
{
    struct world w;
    int rc;
    char *out;
    int64_t odd;

    world_init(&w);
    cr_assert_eq(
        store_department_upsert(w.st, "it", "ICT & <Beheer>", &w.it, &(int){0}),
        EQ_OK);
    cr_assert_eq(store_period_ensure(w.st, w.camp_id, "Q<2>",
                                     eqtime_day_from_ymd(2027, 4, 1),
                                     eqtime_day_from_ymd(2027, 6, 30), &odd),
                 EQ_OK);
    add_due(&w, "<script>alert(\"x\")</script> & 'co'", 2027, 4, 10);
    add_action(&w, w.hr, w.camp_id, odd, "intranet");
    out = run_report(
        &w, &rc, (const char *const[]){"--actions", "--format", "html", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_eq(strncmp(out, "<!doctype html>\n<html lang=nl>\n", 31), 0, "%s",
                 out);
    cr_assert_not_null(strstr(out, "<meta charset=utf-8>"), "%s", out);
    cr_assert_not_null(strstr(out, "<title>enquete: acties</title>"), "%s",
                       out);
    cr_assert_not_null(strstr(out, "</table>\n</body>\n</html>\n"), "%s", out);
    cr_assert_not_null(
        strstr(out, "<tr><th>afdeling</th><th>nummer</th><th>periode</th>"
                    "<th>status</th><th>looptijd</th><th>tot</th>"
                    "<th>verlopen</th><th>actie</th></tr>\n"),
        "%s", out);
    cr_assert_not_null(
        strstr(out, "<tr><td>HR (hr)</td><td>1</td><td>Q&lt;2&gt;</td>"
                    "<td>open</td><td>3d</td><td>-</td><td></td>"
                    "<td>intranet</td></tr>\n"),
        "%s", out);
    cr_assert_not_null(
        strstr(out, "<tr><td>ICT &amp; &lt;Beheer&gt; (it)</td><td>1</td>"
                    "<td>2027Q1</td><td>open</td><td>3d</td>"
                    "<td>2027-04-10</td><td>verlopen</td>"
                    "<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
                    "&amp; &#39;co&#39;</td></tr>\n"),
        "%s", out);
    cr_assert_null(strstr(out, "<script"), "%s", out);
    cr_assert_null(strstr(strstr(out, "<table>") + 1, "<table"), "one table");
    free(out);
    w.cfg.general.language = (char *)"en";
    out = run_report(
        &w, &rc, (const char *const[]){"--actions", "--format", "html", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_eq(strncmp(out, "<!doctype html>\n<html lang=en>\n", 31), 0, "%s",
                 out);
    cr_assert_not_null(strstr(out, "<title>enquete: actions</title>"), "%s",
                       out);
    cr_assert_not_null(
        strstr(out, "<tr><th>department</th><th>number</th><th>period</th>"
                    "<th>state</th><th>age</th><th>due</th><th>overdue</th>"
                    "<th>action</th></tr>\n"),
        "%s", out);
    cr_assert_not_null(strstr(out, "<td>2027-04-10</td><td>overdue</td>"), "%s",
                       out);
    free(out);
    world_free(&w);
}

/* Text and HTML speak [general] language even with nothing to show, and
 * tell an empty selection from an empty store. */
Test(feedback, report_actions_says_there_are_none_in_the_language)
{
    static const struct {
        const char *lang, *none, *none_here;
    } want[2] = {
        {"nl", "Nog geen acties vastgelegd.",
         "Geen acties voor deze selectie."},
        {"en", "No actions recorded yet.", "No actions for this selection."},
    };
    struct world w;
    int rc;
    char *out, line[64];

    world_init(&w);
    for (size_t i = 0; i < 2; i++) {
        w.cfg.general.language = (char *)want[i].lang;
        out = run_report(&w, &rc, (const char *const[]){"--actions", NULL});
        cr_assert_eq(rc, 0);
        snprintf(line, sizeof line, "%s\n", want[i].none);
        cr_assert_str_eq(out, line);
        free(out);
        out = run_report(
            &w, &rc,
            (const char *const[]){"--actions", "--department", "it", NULL});
        cr_assert_eq(rc, 0);
        snprintf(line, sizeof line, "%s\n", want[i].none_here);
        cr_assert_str_eq(out, line);
        free(out);
        out = run_report(
            &w, &rc,
            (const char *const[]){"--actions", "--format", "html", NULL});
        cr_assert_eq(rc, 0);
        snprintf(line, sizeof line, "</table>\n<p>%s</p>\n", want[i].none);
        cr_assert_not_null(strstr(out, line), "%s", out);
        free(out);
    }
    world_free(&w);
}

Test(feedback, store_names_the_missing_department_period_or_campaign)
{
    struct world w;
    struct store_action_filter f;

    world_init(&w);
    memset(&f, 0, sizeof f);
    cr_assert_eq(store_action_filter_names(w.st, NULL, "sales", NULL, &f),
                 EQ_ERR_NOTFOUND);
    cr_assert_str_eq(store_errmsg(w.st), "no department sales");
    cr_assert_eq(store_action_filter_names(w.st, "kto", NULL, "2031Q1", &f),
                 EQ_ERR_NOTFOUND);
    cr_assert_str_eq(store_errmsg(w.st), "no period 2031Q1");
    memset(&f, 0, sizeof f);
    cr_assert_eq(store_action_filter_names(w.st, "kto", "hr", "2027Q1", &f),
                 EQ_OK);
    cr_assert_eq(f.campaign_id, w.camp_id);
    cr_assert_eq(f.department_id, w.hr);
    cr_assert_str_eq(f.period_label, "2027Q1");
    world_free(&w);
}

Test(feedback, report_actions_csv_keeps_formulas_as_text_with_semicolons_in_nl)
{
    struct world w;
    int rc;
    char *out;

    world_init(&w);
    add_action(&w, w.it, w.camp_id, w.period_id,
               "=HYPERLINK(\"http://x.example\";\"klik\")");
    add_action(&w, w.it, w.camp_id, w.period_id, "@SUM(A1:A9)");
    add_action(&w, w.it, w.camp_id, w.period_id, "+31 20 555 0000 bellen");
    add_action(&w, w.it, w.camp_id, w.period_id, "\tverborgen");
    add_action(&w, w.it, w.camp_id, w.period_id, "-12");
    out = run_report(
        &w, &rc, (const char *const[]){"--actions", "--format", "csv", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(
        out, "department;department_name;number;period;metric;due;overdue;"
             "state;age_days;text\r\n"
             "it;ICT;1;2027Q1;;;0;open;3;"
             "\"'=HYPERLINK(\"\"http://x.example\"\";\"\"klik\"\")\"\r\n"
             "it;ICT;2;2027Q1;;;0;open;3;'@SUM(A1:A9)\r\n"
             "it;ICT;3;2027Q1;;;0;open;3;'+31 20 555 0000 bellen\r\n"
             "it;ICT;4;2027Q1;;;0;open;3;'\tverborgen\r\n"
             "it;ICT;5;2027Q1;;;0;open;3;-12\r\n");
    free(out);
    w.cfg.general.language = (char *)"en";
    out = run_report(&w, &rc,
                     (const char *const[]){"--actions", "--format", "csv",
                                           "--department", "it", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_not_null(strstr(out, "\r\nit,ICT,1,2027Q1,,,0,open,3,"
                                   "\"'=HYPERLINK(\"\"http://x.example\"\";"
                                   "\"\"klik\"\")\"\r\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "\r\nit,ICT,5,2027Q1,,,0,open,3,-12\r\n"),
                       "%s", out);
    free(out);
    world_free(&w);
}

/* NOW is 10:00 on Sunday 11 April in Amsterdam. LATE_EVENING,
 * 2027-04-10T22:30Z, is already the 11th there but still the 10th in UTC. */
#define LATE_EVENING (NOW - 9 * 3600 - 1800)

/* Due yesterday (Amsterdam), today, tomorrow; done after its due day; no
 * due day. */
static void
five_dues(struct world *w)
{
    int changed;

    add_due(w, "gisteren", 2027, 4, 10);
    add_due(w, "vandaag", 2027, 4, 11);
    add_due(w, "morgen", 2027, 4, 12);
    add_due(w, "afgerond", 2027, 4, 1);
    add_due(w, "ooit", 0, 0, 0);
    cr_assert_eq(store_action_done(w->st, w->it, 4, NOW - 86400, &changed),
                 EQ_OK);
}

Test(feedback, report_actions_marks_open_actions_past_their_due_day_in_json)
{
    struct world w;
    int rc;
    char *out;

    world_init(&w);
    five_dues(&w);
    out = run_report_at(
        &w, LATE_EVENING, &rc,
        (const char *const[]){"--actions", "--format", "json", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_not_null(strstr(out, "\"text\":\"gisteren\",\"metric\":null,"
                                   "\"due\":\"2027-04-10\",\"overdue\":true,"
                                   "\"state\":\"open\""),
                       "the day is over in [general] timezone: %s", out);
    cr_assert_not_null(strstr(out, "\"due\":\"2027-04-11\",\"overdue\":false"),
                       "due today is in time: %s", out);
    cr_assert_not_null(strstr(out, "\"due\":\"2027-04-12\",\"overdue\":false"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "\"due\":\"2027-04-01\",\"overdue\":false,"
                                   "\"state\":\"done\""),
                       "a done action is never late: %s", out);
    cr_assert_not_null(strstr(out, "\"due\":null,\"overdue\":false"), "%s",
                       out);
    free(out);
    /* In UTC it is still the 10th: nothing is late yet. */
    w.cfg.general.timezone = (char *)"UTC";
    out = run_report_at(
        &w, LATE_EVENING, &rc,
        (const char *const[]){"--actions", "--format", "json", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_null(strstr(out, "\"overdue\":true"), "%s", out);
    free(out);
    world_free(&w);
}

Test(feedback, report_actions_marks_overdue_in_text_and_csv_in_the_language)
{
    struct world w;
    int rc;
    char *out;

    world_init(&w);
    five_dues(&w);
    /* The state column is as wide as "afgerond", the mark as "verlopen". */
    out = run_report(&w, &rc, (const char *const[]){"--actions", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(out, "ICT (it)\n"
                          "    1  2027Q1   open         3d  tot 2027-04-10  "
                          "verlopen  gisteren\n"
                          "    2  2027Q1   open         3d  tot 2027-04-11  "
                          "          vandaag\n"
                          "    3  2027Q1   open         3d  tot 2027-04-12  "
                          "          morgen\n"
                          "    4  2027Q1   afgerond     2d  tot 2027-04-01  "
                          "          afgerond\n"
                          "    5  2027Q1   open         3d                  "
                          "          ooit\n");
    free(out);
    out = run_report(
        &w, &rc, (const char *const[]){"--actions", "--format", "csv", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_not_null(strstr(out, "\r\nit;ICT;1;2027Q1;;2027-04-10;1;open;3;"
                                   "gisteren\r\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "\r\nit;ICT;2;2027Q1;;2027-04-11;0;open;3;"
                                   "vandaag\r\n"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "\r\nit;ICT;4;2027Q1;;2027-04-01;0;done;2;"
                                   "afgerond\r\n"),
                       "%s", out);
    free(out);
    w.cfg.general.language = (char *)"en";
    out = run_report(&w, &rc, (const char *const[]){"--actions", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(out,
                     "ICT (it)\n"
                     "    1  2027Q1   open     3d  due 2027-04-10  overdue  "
                     "gisteren\n"
                     "    2  2027Q1   open     3d  due 2027-04-11           "
                     "vandaag\n"
                     "    3  2027Q1   open     3d  due 2027-04-12           "
                     "morgen\n"
                     "    4  2027Q1   done     2d  due 2027-04-01           "
                     "afgerond\n"
                     "    5  2027Q1   open     3d                           "
                     "ooit\n");
    free(out);

    out = run_report(
        &w, &rc, (const char *const[]){"--actions", "--format", "html", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_not_null(strstr(out, "<td>2027-04-10</td><td>overdue</td>"
                                   "<td>gisteren</td>"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "<td>2027-04-11</td><td></td>"
                                   "<td>vandaag</td>"),
                       "%s", out);
    free(out);
    world_free(&w);
}

Test(feedback, report_actions_age_of_a_done_action_stops_at_its_done_day)
{
    struct world w;
    int rc, changed;
    char *out;

    world_init(&w);
    add_due(&w, "lopend", 0, 0, 0);
    add_due(&w, "klaar", 0, 0, 0);
    /* Created NOW - 3 days, done 30 hours later: one whole day. */
    cr_assert_eq(
        store_action_done(w.st, w.it, 2, NOW - 3 * 86400 + 30 * 3600, &changed),
        EQ_OK);
    out = run_report_at(
        &w, NOW + 40 * 86400, &rc,
        (const char *const[]){"--actions", "--format", "json", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_not_null(strstr(out, "\"text\":\"lopend\"") &&
                           strstr(out, "\"state\":\"open\",\"age_days\":43}"),
                       "an open action ages on: %s", out);
    cr_assert_not_null(strstr(out, "\"state\":\"done\",\"age_days\":1}"),
                       "a done one counts to its done day: %s", out);
    free(out);
    out = run_report_at(&w, NOW + 40 * 86400, &rc,
                        (const char *const[]){"--actions", NULL});
    cr_assert_eq(rc, 0);
    cr_assert_not_null(strstr(out, "    2  2027Q1   afgerond     1d  "), "%s",
                       out);
    cr_assert_not_null(strstr(out, "    1  2027Q1   open        43d  "), "%s",
                       out);
    free(out);
    world_free(&w);
}
