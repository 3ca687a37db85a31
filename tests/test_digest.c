#include <cJSON.h>
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "chart.h"
#include "config.h"
#include "digest.h"
#include "eqtime.h"
#include "store.h"
#include "store_action.h"
#include "token.h"
#include "transport.h"

#define TEMPLATES FIXTURES "/../../templates"
#define TZ "Europe/Amsterdam"

/* ---- a campaign with one NPS metric, built by hand ---------------- */

static struct campaign_metric nps_metric = {
    .id = "nps",
    .type = METRIC_NPS,
    .min = 0,
    .max = 10,
    .label_nl = "Aanbeveling",
    .label_en = "Recommendation",
};
static char *prov_codes[] = {"ict", "hr", "fac"};
static struct campaign camp = {
    .name = "intern",
    .title_nl = "Interne klanttevredenheid",
    .title_en = "Internal customer satisfaction",
    .metrics = &nps_metric,
    .n_metrics = 1,
    .providers = prov_codes,
    .n_providers = 3,
    .cadence = CADENCE_QUARTERLY,
    .anonymity_min = 5,
    .language = "employee",
    .timezone = TZ,
};

/* Departments: providers ICT 1, HR 2, FAC 3; customers FIN 10, SALES 11,
 * OPS 12. */
static struct store_department provs[] = {
    {1, "ict", "ICT"}, {2, "hr", "HR"}, {3, "fac", "Facilitair"}};
static struct store_department depts[] = {{10, "fin", "Financiën"},
                                          {11, "sales", "=Sales+1"},
                                          {12, "ops", "Operations"}};

/* The period's NPS answers:
 *   ICT ← Financiën: five 10s, three 8s, two 3s (P 5, D 2, n 10): NPS +30
 *   ICT ← Sales:     10, 10, 0 (n 3: below 5, hidden)
 *   ICT ← Operations: 9, 9, 9, 7, 7, 2 (n 6: hidden too, else Sales =
 *                     total − Financiën − Operations)
 *   ICT total: P 10, D 4, n 19 → (10 − 4)/19 = +31.58
 *   HR ← Financiën: 9, 9, 9, 9 (n 4: HR hidden altogether)
 *   Facilitair ← Operations: five 10s → +100
 *   Benchmark (shown providers ICT + Facilitair): P 15, D 4, n 24 → +45.83 */
static const struct store_score_row cur_rows[] = {
    {1, 10, 3, 2}, {1, 10, 8, 3}, {1, 10, 10, 5}, {1, 11, 0, 1}, {1, 11, 10, 2},
    {1, 12, 2, 1}, {1, 12, 7, 2}, {1, 12, 9, 3},  {2, 10, 9, 4}, {3, 12, 10, 5},
};
/* Previous period: ICT ← Financiën 10 answers, all 0 (NPS −100): the
 * change to +31.58 is certainly significant. */
static const struct store_score_row prev_rows[] = {{1, 10, 0, 10}};
static const struct store_pair response[] = {
    {1, 19, 40, 0}, {2, 2, 10, 0}, {3, 5, 5, 0}};
static char *ict_comments[] = {"Snelle hulp bij de laptop, dank!",
                               "<script>alert(1)</script> te traag"};
/* The raters' own NPS scores: a promoter and a detractor. */
static const int ict_scores[] = {10, 3};
static char *hr_comments[] = {"Zeer persoonlijke opmerking"};

static struct digest_input
input(int with_prev)
{
    static const struct store_score_row *rows[1], *prows[1];
    static size_t n_rows[1], n_prows[1];
    static char *const *comments[3];
    static size_t n_comments[3];
    static const int *scores[3] = {ict_scores, NULL, NULL};

    rows[0] = cur_rows;
    n_rows[0] = sizeof cur_rows / sizeof cur_rows[0];
    prows[0] = prev_rows;
    n_prows[0] = 1;
    comments[0] = ict_comments;
    n_comments[0] = 2;
    comments[1] = hr_comments;
    n_comments[1] = 1;
    return (struct digest_input){
        .c = &camp,
        .period = "2026Q1",
        .prev_period = with_prev ? "2025Q4" : NULL,
        .providers = provs,
        .n_providers = 3,
        .departments = depts,
        .n_departments = 3,
        .rows = rows,
        .n_rows = n_rows,
        .prev_rows = with_prev ? prows : NULL,
        .n_prev_rows = n_prows,
        .response = response,
        .n_response = 3,
        .comments = comments,
        .n_comments = n_comments,
        .comment_scores = scores,
        .period_last = eqtime_day_from_ymd(2026, 3, 31),
    };
}

static char *
render(int prev, const char *lang, const char *dept, const char *format)
{
    struct digest_input in = input(prev);
    struct eq_buf diag = {0};
    char *out = NULL;
    enum eq_err err =
        digest_render(&in, TEMPLATES, lang, dept, format, &out, &diag);
    cr_assert_eq(err, EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
    return out;
}

#define has(s, needle)                                                         \
    cr_assert_not_null(strstr((s), (needle)), "missing %s in:\n%s", (needle),  \
                       (s))
#define hasnt(s, needle)                                                       \
    cr_assert_null(strstr((s), (needle)), "unexpected %s in:\n%s", (needle),   \
                   (s))

Test(digest, csv_numbers_equal_hand_computed_nps_and_hide_small_groups,
     .fini = chart_shutdown)
{
    char *csv = render(0, "nl", NULL, "csv");
    has(csv, "period;provider;customer;metric;statistic;n;value;lo;hi\r\n");
    /* ICT ← Financiën: +30 with [-19.05, 65.21] (see test_stats). */
    has(csv, "2026Q1;ict;Financiën;nps;nps;10;30,00;-19,05;65,21\r\n");
    has(csv, "2026Q1;ict;;nps;nps;19;31,58;");
    has(csv, "2026Q1;fac;;nps;nps;5;100,00;");
    /* benchmark: median of the shown providers ICT +31.58 and Facilitair
     * +100 = (31.58 + 100) / 2 = 65.79, over 2 providers, no interval */
    has(csv, "2026Q1;*;;nps;median;2;65,79;;\r\n");
    /* primary (Sales, 3), secondary (Operations, 6), whole provider (HR) */
    has(csv, "2026Q1;ict;'=Sales+1;nps;nps;;;;\r\n"); /* no formula */
    has(csv, "2026Q1;ict;Operations;nps;nps;;;;\r\n");
    has(csv, "2026Q1;hr;;nps;nps;;;;\r\n");
    has(csv, "2026Q1;hr;Financiën;nps;nps;;;;\r\n");
    free(csv);
}

Test(digest, manager_text_is_honest_about_uncertainty_and_privacy,
     .fini = chart_shutdown)
{
    char *t = render(1, "nl", "ict", "text");
    has(t, "Benchmark ICT — 2026Q1 — NPS +32");
    has(t, "+32"); /* ICT this period */
    has(t, "+66"); /* benchmark: median of +32 and +100 */
    has(t, "mediaan");
    has(t, "-100");    /* previous period */
    has(t, "+132 *");  /* change, significant after BH */
    has(t, "2 van 2"); /* rank: behind Facilitair, HR not ranked */
    has(t, "ongewogen");
    has(t, "minder dan 5 antwoorden");
    has(t, "Financiën");
    has(t, "+30 (-19 … +65)");
    has(t, "19 van 40 beantwoord");
    has(t, "Snelle hulp bij de laptop");
    hasnt(t, "Facilitair"); /* a manager sees their own department only */
    free(t);
}

Test(digest, hidden_provider_gets_no_scores_and_no_comments,
     .fini = chart_shutdown)
{
    char *t = render(0, "en", "hr", "text");
    has(t, "fewer than 5 answers");
    has(t, "Comments are only shown when there are at least 5 answers");
    hasnt(t, "persoonlijke");
    hasnt(t, "Rank on");
    free(t);
    char *j = render(0, "en", "hr", "json");
    has(j, "\"metrics\":{\"nps\":null}");
    hasnt(j, "comments");
    free(j);
}

Test(digest, organisation_view_ranks_only_shown_providers,
     .fini = chart_shutdown)
{
    char *t = render(1, "nl", NULL, "text");
    has(t, "Benchmark organisatie — 2026Q1 — NPS +66");
    has(t, "ICT");
    has(t, "Facilitair");
    has(t, "19/40 = 48%");
    hasnt(t, "persoonlijke");
    /* weakest link organisation-wide: the only shown cells are ICT ←
     * Financiën (+30) and Facilitair ← Operations (+100) */
    has(t, "ICT — Financiën: +30");
    free(t);
    char *j = render(1, "nl", NULL, "json");
    has(j, "\"rank\":2"); /* ICT behind Facilitair */
    has(j, "\"significant\":true");
    has(j, "\"weighted\":false");
    free(j);
}

Test(digest, html_report_embeds_the_chart, .fini = chart_shutdown)
{
    char *h = render(0, "nl", "ict", "html");
    has(h, "<img src=\"data:image/png;base64,iVBORw0KGgo");
    has(h, "<table");
    has(h, "Financi\xC3\xAB"
           "n");
    free(h);
}

Test(digest, unknown_department_and_format_are_errors)
{
    struct digest_input in = input(0);
    char *out = NULL;
    cr_assert_eq(digest_render(&in, TEMPLATES, "nl", "nope", "csv", &out, NULL),
                 EQ_ERR_NOTFOUND);
    cr_assert_eq(digest_render(&in, TEMPLATES, "nl", NULL, "xml", &out, NULL),
                 EQ_ERR_USAGE);
    cr_assert_null(out);
}

Test(digest, due_on_first_digest_weekday_after_the_period)
{
    /* 2026Q1 ends Tuesday 31 March; the next Monday 08:00 in Amsterdam
     * (CEST, UTC+2) is 6 April 06:00Z. */
    eq_day last = eqtime_day_from_ymd(2026, 3, 31);
    eq_time due = digest_due(last, 0, 1, 8, TZ);
    char iso[21];
    eqtime_format_iso(due, iso);
    cr_assert_str_eq(iso, "2026-04-06T06:00:00Z");
    /* An invitation closing Monday 6 April 09:00 local pushes it a week. */
    eq_time close;
    eqtime_parse_iso("2026-04-06T09:00", TZ, &close);
    eqtime_format_iso(digest_due(last, close, 1, 8, TZ), iso);
    cr_assert_str_eq(iso, "2026-04-13T06:00:00Z");
    /* Closing exactly at the digest hour still makes it that day. */
    eqtime_parse_iso("2026-04-06T08:00", TZ, &close);
    eqtime_format_iso(digest_due(last, close, 1, 8, TZ), iso);
    cr_assert_str_eq(iso, "2026-04-06T06:00:00Z");
}

/* ---- the whole run against a real store ----------------------------- */

static char tmpdir[64];

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* The configuration the store-backed tests share: Amsterdam, nl, the
 * shipped templates, digests on Monday 08:00 to the n_hr addresses hr. */
static void
digest_config(struct eq_config *cfg, char **hr, size_t n_hr)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->general.timezone = TZ;
    cfg->general.language = "nl";
    cfg->general.from = "HR Enquête <hr@org.example>";
    cfg->general.reply_address = "enquete@org.example";
    cfg->general.templates = TEMPLATES;
    cfg->digest.hr = hr;
    cfg->digest.n_hr = n_hr;
    cfg->digest.weekday = 1;
    cfg->digest.hour = 8;
}

static void
cleanup(void)
{
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    chart_shutdown();
}

static int64_t
dept(struct store *st, const char *code, const char *name)
{
    int64_t id;
    int changed;
    cr_assert_eq(store_department_upsert(st, code, name, &id, &changed), EQ_OK);
    return id;
}

static int64_t
employee(struct store *st, const char *email, int64_t dep, const char *lang)
{
    struct store_employee e = {.email = (char *)email,
                               .name = (char *)email,
                               .department_id = dep,
                               .language = (char *)lang,
                               .active = 1};
    int64_t id;
    int changed;
    cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK, "%s",
                 store_errmsg(st));
    return id;
}

/* n invitations from emp about provider, answered with score (or left open
 * when score < 0). */
/* One invitation of emp about provider, answered with score (< 0: sent,
 * not answered); its id. */
static int64_t
invitation(struct store *st, int64_t camp_id, int64_t period, int64_t emp,
           int64_t provider, int score, eq_time closes)
{
    struct store_invitation inv = {
        .campaign_id = camp_id,
        .period_id = period,
        .employee_id = emp,
        .provider_department_id = provider,
        .language = "nl",
        .state = score < 0 ? INV_SENT : INV_ANSWERED,
        .planned_at = closes - 10 * 86400,
        .sent_at = closes - 10 * 86400,
        .closes_at = closes,
    };
    cr_assert_eq(token_new(inv.token), EQ_OK);
    cr_assert_eq(store_invitation_add(st, &inv), EQ_OK, "%s",
                 store_errmsg(st));
    if (score >= 0)
        cr_assert_eq(store_answer_add(st, inv.id, "nps", score, 0,
                                      closes - 86400, 0),
                     EQ_OK);
    return inv.id;
}

static void
answers(struct store *st, int64_t camp_id, int64_t period, int64_t emp,
        int64_t provider, int score, int n, eq_time closes)
{
    for (int i = 0; i < n; i++)
        invitation(st, camp_id, period, emp, provider, score, closes);
}

Test(digest, run_sends_each_digest_once_when_due, .fini = cleanup)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_digest.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char path[128];
    snprintf(path, sizeof path, "%s/db/enquete.db", tmpdir);
    struct store *st = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(store_open(path, &st, &diag), EQ_OK, "%s", buf_str(&diag));

    int64_t ict = dept(st, "ict", "ICT"), hr = dept(st, "hr", "HR");
    int64_t fac = dept(st, "fac", "Facilitair"),
            fin = dept(st, "fin", "Financiën");
    int64_t ops = dept(st, "ops", "Operations");
    int64_t m_ict = employee(st, "boss.ict@org.example", ict, "en");
    int64_t m_hr = employee(st, "boss.hr@org.example", hr, NULL);
    employee(st, "boss.fac@org.example", fac, NULL); /* not a manager */
    int64_t r_fin = employee(st, "rater.fin@org.example", fin, NULL);
    int64_t r_ops = employee(st, "rater.ops@org.example", ops, NULL);
    int changed;
    cr_assert_eq(store_manager_set(st, ict, m_ict, 1, &changed), EQ_OK);
    cr_assert_eq(store_manager_set(st, hr, m_hr, 1, &changed), EQ_OK);

    int64_t cid, pid;
    cr_assert_eq(store_campaign_ensure(st, "intern", &cid), EQ_OK);
    cr_assert_eq(store_period_ensure(st, cid, "2026Q1",
                                     eqtime_day_from_ymd(2026, 1, 1),
                                     eqtime_day_from_ymd(2026, 3, 31), &pid),
                 EQ_OK);
    eq_time closes;
    eqtime_parse_iso("2026-03-20T12:00", TZ, &closes);
    /* ICT ← Financiën: P 5, D 2, n 10 → +30 (the hand-computed case) */
    answers(st, cid, pid, r_fin, ict, 10, 5, closes);
    answers(st, cid, pid, r_fin, ict, 8, 3, closes);
    answers(st, cid, pid, r_fin, ict, 3, 2, closes);
    /* ICT ← Operations: 3 answers, hidden (and protected by subtraction) */
    answers(st, cid, pid, r_ops, ict, 9, 3, closes);
    /* HR: 4 answers, below the minimum */
    answers(st, cid, pid, r_fin, hr, 9, 4, closes);
    /* Facilitair: 5 × 6 → −100, and one invitation still open until
     * 8 April 12:00 */
    answers(st, cid, pid, r_ops, fac, 6, 5, closes);
    eq_time late;
    eqtime_parse_iso("2026-04-08T12:00", TZ, &late);
    answers(st, cid, pid, r_ops, fac, -1, 1, late);

    char *hr_list[] = {"hr@org.example"};
    struct eq_config cfg;
    digest_config(&cfg, hr_list, 1);
    cfg.digest.language_default = "nl";

    struct transport *t = transport_capture_new();
    struct digest_summary sum;
    struct eq_buf out = {0};
    eq_time now;

    /* Monday 6 April 09:00: the period is over but one invitation is open. */
    eqtime_parse_iso("2026-04-06T09:00", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, t, now, 0, &sum, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(transport_capture_count(t), 0);
    /* Wednesday 8 April 13:00: closed, but the digest waits for Monday. */
    eqtime_parse_iso("2026-04-08T13:00", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, t, now, 0, &sum, &out, &diag),
                 EQ_OK);
    cr_assert_eq(transport_capture_count(t), 0);

    /* Monday 13 April 08:00: a dry run renders and sends nothing. */
    eqtime_parse_iso("2026-04-13T08:00", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, t, now, 1, &sum, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(transport_capture_count(t), 0);
    cr_assert_eq(sum.sent, 3);
    has(buf_str(&out), "To: boss.ict@org.example");
    has(buf_str(&out), "Benchmark ICT — 2026Q1 — NPS +46");
    has(buf_str(&out), "To: hr@org.example");

    /* The real run: ICT manager, HR manager, HR address. */
    cr_assert_eq(digest_run(st, &cfg, &camp, t, now, 0, &sum, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(sum.periods, 1);
    cr_assert_eq(sum.sent, 3);
    cr_assert_eq(transport_capture_count(t), 3);
    const char *want[] = {"boss.ict@org.example", "boss.hr@org.example",
                          "hr@org.example"};
    for (size_t i = 0; i < 3; i++) {
        const struct transport_msg *m = transport_capture_get(t, i);
        cr_assert_eq(m->n_rcpt, 1);
        cr_assert_str_eq(m->rcpt[0], want[i]);
        cr_assert_eq(strncmp(m->envelope_from, "enquete+", 8), 0);
        char tok[TOKEN_LEN + 1], kind[4];
        const char *mid = strstr(m->data, "Message-ID: <dig.");
        cr_assert_not_null(mid);
        char msgid[128] = "";
        const char *gt = strchr(mid, '>');
        cr_assert_not_null(gt);
        memcpy(msgid, mid + 12, (size_t)(gt - mid - 11));
        cr_assert_eq(token_from_message_id(msgid, tok, kind), 0, "%s", msgid);
        cr_assert_str_eq(kind, "dig");
        const char *tkind = NULL;
        cr_assert_eq(store_token_kind(st, tok, &tkind), EQ_OK);
        cr_assert_str_eq(tkind, "digest");
        has(m->envelope_from, tok);
        has(m->data, "image/png");
    }
    int sent = 0;
    cr_assert_eq(store_digest_sent(st, pid, "ict:boss.ict@org.example", &sent),
                 EQ_OK);
    cr_assert(sent);

    /* Never twice: a rerun sends nothing. */
    eqtime_parse_iso("2026-04-20T08:00", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, t, now, 0, &sum, &out, &diag),
                 EQ_OK);
    cr_assert_eq(sum.sent, 0);
    cr_assert_eq(transport_capture_count(t), 3);

    /* The report shows the same numbers: ICT total P 5, D 2 + 3 × 9 → P 8,
     * D 2, n 13 → (8 − 2)/13 = +46.15; Operations (3) hidden, and with it
     * Financiën, the only other cell (it equals total − Operations); HR
     * hidden; Facilitair −100. */
    char *csv = NULL;
    cr_assert_eq(
        digest_report(st, &cfg, &camp, NULL, NULL, "csv", 0, &csv, &diag),
        EQ_OK, "%s", buf_str(&diag));
    has(csv, "2026Q1;ict;;nps;nps;13;46,15;");
    has(csv, "2026Q1;ict;Financiën;nps;nps;;;;\r\n");
    has(csv, "2026Q1;ict;Operations;nps;nps;;;;\r\n");
    has(csv, "2026Q1;hr;;nps;nps;;;;\r\n");
    has(csv, "2026Q1;fac;;nps;nps;5;-100,00;");
    free(csv);

    transport_close(t);
    buf_free(&out);
    buf_free(&diag);
    store_close(st);
}

/* The line of s that holds needle (up to, not including, its newline). */
static char *
line_of(const char *s, const char *needle)
{
    const char *p = strstr(s, needle), *a, *b;
    cr_assert_not_null(p, "missing %s", needle);
    for (a = p; a > s && a[-1] != '\n'; a--)
        ;
    b = strchr(p, '\n');
    if (b == NULL)
        b = p + strlen(p);
    return strndup(a, (size_t)(b - a));
}

Test(digest, privacy_decisions_are_identical_in_all_four_formats,
     .fini = chart_shutdown)
{
    static const char *const formats[] = {"text", "html", "json", "csv"};
    for (size_t f = 0; f < 4; f++) {
        /* HR: 4 answers, all 9 (NPS +100 if it were shown). */
        char *o = render(1, "nl", "hr", formats[f]);
        hasnt(o, "+100");
        hasnt(o, "\"value\":100");
        hasnt(o, ";100,00;");
        hasnt(o, "persoonlijke");
        free(o);
        /* ICT ← Operations: 6 answers, +33, but ICT's total minus
         * Financiën minus Sales would give it away: hidden everywhere. */
        o = render(1, "nl", "ict", formats[f]);
        char *l = line_of(o, "Operations");
        hasnt(l, "+33");
        hasnt(l, "33,33");
        hasnt(l, "33.33");
        free(l);
        free(o);
    }
    char *j = render(1, "nl", "ict", "json");
    has(j,
        "{\"name\":\"Operations\",\"shown\":false,\"metrics\":{\"nps\":null}}");
    free(j);
    char *h = render(1, "nl", NULL, "html");
    /* the heat map says why: ¹ too few, ² derivable */
    has(h, "\xE2\x80\x93\xC2\xB9");
    has(h, "\xE2\x80\x93\xC2\xB2");
    free(h);
}

Test(digest, comments_are_grouped_by_the_raters_score_and_escaped,
     .fini = chart_shutdown)
{
    char *h = render(0, "nl", "ict", "html");
    has(h, "&lt;script&gt;alert(1)&lt;/script&gt; te traag");
    hasnt(h, "<script>");
    const char *pro = strstr(h, "Promotors (9");
    const char *det = strstr(h, "Criticasters (0");
    cr_assert(pro && det && pro < det);
    cr_assert(strstr(pro, "Snelle hulp") < det);
    cr_assert(strstr(det, "te traag") != NULL);
    free(h);
    char *t = render(0, "en", "ict", "text");
    has(t, "Promoters (9–10):\n- \"Snelle hulp");
    has(t, "Detractors (0–6):\n- \"<script>");
    free(t);
    char *j = render(0, "en", "ict", "json");
    has(j, "\"group\":\"detractor\"");
    free(j);
}

Test(digest, numbers_follow_the_locale_and_json_stays_plain,
     .fini = chart_shutdown)
{
    char *csv = render(0, "en", NULL, "csv");
    has(csv, "period,provider,customer,metric,statistic,n,value,lo,hi\r\n");
    has(csv, "2026Q1,ict,Financiën,nps,nps,10,30.00,-19.05,65.21\r\n");
    /* response: ICT 19 of 40 = 47.50 % */
    has(csv, "2026Q1,ict,,,response_rate,40,47.50,");
    free(csv);
    csv = render(0, "nl", NULL, "csv");
    has(csv, "2026Q1;ict;;;response_rate;40;47,50;");
    free(csv);
    char *j = render(0, "nl", NULL, "json");
    has(j, "\"lo\":-19.05");
    has(j, "\"benchmark_method\":\"median\"");
    free(j);
}

Test(digest, manager_digest_asks_for_actions_in_the_recipients_language,
     .fini = chart_shutdown)
{
    char *t = render(0, "nl", "ict", "text");
    /* period ends 2026-03-31; the example date is 92 days later */
    has(t, "Actie: vast inloopspreekuur op dinsdag tot 2026-07-01");
    has(t, "\"Klaar: 2\" meldt actie 2 als afgerond.");
    free(t);
    char *h = render(0, "en", "ict", "html");
    has(h, "<b>What will you do?</b>");
    has(h, "Action: fixed walk-in hour on Tuesdays by 2026-07-01");
    free(h);
    char *o = render(0, "nl", NULL, "text");
    hasnt(o, "Wat gaat u doen?"); /* HR has no actions to report */
    free(o);
}

/* A transport that hands the first `left` messages to a capture and then
 * fails as a dropped connection would. */
struct flaky {
    struct transport t;
    struct transport *inner;
    int left;
};

static enum eq_err
flaky_send(struct transport *t, const struct transport_msg *m,
           struct transport_result *res)
{
    struct flaky *f = (struct flaky *)t;
    if (f->left-- <= 0) {
        res->code = 421;
        snprintf(res->text, sizeof res->text, "4.4.2 connection lost");
        res->err = EQ_ERR_TEMP;
        return EQ_ERR_TEMP;
    }
    return transport_send(f->inner, m, res);
}

static const struct transport_ops flaky_ops = {.name = "flaky",
                                               .send = flaky_send};

/* Undo quoted-printable soft breaks and =3D so the HTML can be searched. */
static char *
unqp(const char *s)
{
    char *o = malloc(strlen(s) + 1), *w = o;
    while (*s) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n')
            s += 3;
        else if (strncmp(s, "=3D", 3) == 0)
            *w++ = '=', s += 3;
        else
            *w++ = *s++;
    }
    *w = '\0';
    return o;
}

Test(digest, crash_midway_then_rerun_sends_each_recipient_exactly_one_digest,
     .fini = cleanup)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_digest.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char path[128];
    snprintf(path, sizeof path, "%s/enquete.db", tmpdir);
    struct store *st = NULL;
    struct eq_buf diag = {0}, out = {0};
    cr_assert_eq(store_open(path, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    int64_t ict = dept(st, "ict", "ICT"), fin = dept(st, "fin", "Financiën");
    int64_t boss = employee(st, "boss.ict@org.example", ict, "nl");
    int64_t rater = employee(st, "rater.fin@org.example", fin, NULL);
    int changed;
    cr_assert_eq(store_manager_set(st, ict, boss, 1, &changed), EQ_OK);
    int64_t cid, pid;
    cr_assert_eq(store_campaign_ensure(st, "intern", &cid), EQ_OK);
    cr_assert_eq(store_period_ensure(st, cid, "2026Q1",
                                     eqtime_day_from_ymd(2026, 1, 1),
                                     eqtime_day_from_ymd(2026, 3, 31), &pid),
                 EQ_OK);
    eq_time closes, now;
    eqtime_parse_iso("2026-03-20T12:00", TZ, &closes);
    answers(st, cid, pid, rater, ict, 10, 6, closes);

    char *hr_list[] = {"hr@org.example", "directie@org.example"};
    struct eq_config cfg;
    digest_config(&cfg, hr_list, 2);

    struct transport *cap = transport_capture_new();
    struct flaky fl = {.t = {.ops = &flaky_ops}, .inner = cap, .left = 1};
    struct digest_summary sum;
    eqtime_parse_iso("2026-04-06T09:00", TZ, &now);
    /* The connection drops after the first message. */
    cr_assert_neq(digest_run(st, &cfg, &camp, &fl.t, now, 0, &sum, &out, &diag),
                  EQ_OK);
    cr_assert_eq(transport_capture_count(cap), 1);
    /* The next tick sends the other two, and only those. */
    fl.left = 100;
    eqtime_parse_iso("2026-04-06T09:01", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, &fl.t, now, 0, &sum, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(sum.sent, 2);
    cr_assert_eq(sum.skipped, 1);
    eqtime_parse_iso("2026-04-13T09:00", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, &fl.t, now, 0, &sum, &out, &diag),
                 EQ_OK);
    cr_assert_eq(transport_capture_count(cap), 3);
    const char *want[] = {"boss.ict@org.example", "hr@org.example",
                          "directie@org.example"};
    for (size_t w = 0; w < 3; w++) {
        int seen = 0;
        for (size_t i = 0; i < 3; i++)
            seen +=
                strcmp(transport_capture_get(cap, i)->rcpt[0], want[w]) == 0;
        cr_assert_eq(seen, 1, "%s got %d digests", want[w], seen);
    }

    /* The manager's message, as compose builds it: alternative(text,
     * related(html, png)) — the picture travels with the HTML only. */
    const char *m = transport_capture_get(cap, 0)->data;
    const char *rel = strstr(m, "multipart/related");
    const char *alt = strstr(m, "multipart/alternative");
    const char *txt = strstr(m, "Content-Type: text/plain");
    const char *htm = strstr(m, "Content-Type: text/html");
    const char *png = strstr(m, "Content-Type: image/png");
    cr_assert(rel && alt && txt && htm && png);
    cr_assert(alt < txt && txt < rel && rel < htm && htm < png);
    const char *cidh = strstr(png, "Content-ID: <");
    cr_assert_not_null(cidh);
    char content_id[128] = "";
    const char *gt = strchr(cidh + 13, '>');
    memcpy(content_id, cidh + 13, (size_t)(gt - cidh - 13));
    char *html = unqp(htm);
    char ref[160];
    snprintf(ref, sizeof ref, "src=\"cid:%s\"", content_id);
    has(html, ref);
    has(html, "alt=\"Grafiek: NPS van ICT per periode met 95%-interval: 2026Q1 "
              "+100.");
    has(html, "Wat gaat u doen?");
    free(html);

    transport_close(cap);
    buf_free(&out);
    buf_free(&diag);
    store_close(st);
}

/* ---- the feedback loop: actions in the next digests ----------------- */

static void
action(struct store *st, int64_t dep, int64_t cid, int64_t pid,
       const char *text, const char *metric, eq_day due, eq_time created)
{
    struct store_action a = {.department_id = dep,
                             .campaign_id = cid,
                             .period_id = pid,
                             .text = (char *)text,
                             .metric = (char *)metric,
                             .has_due = due != 0,
                             .due_day = due,
                             .created_at = created};
    cr_assert_eq(store_action_add(st, &a), EQ_OK, "%s", store_errmsg(st));
}

/* The text part of the dry-run digest to `to` (up to the next "To: "). */
static char *
digest_for(const char *out, const char *to)
{
    char hdr[128];
    snprintf(hdr, sizeof hdr, "To: %s\n", to);
    const char *a = strstr(out, hdr);
    cr_assert_not_null(a, "no digest to %s in:\n%s", to, out);
    const char *b = strstr(a + 1, "\nTo: ");
    return strndup(a, b ? (size_t)(b - a) : strlen(a));
}

Test(digest,
     next_digests_show_actions_with_age_movement_and_departments_without,
     .fini = cleanup)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_digest.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char path[128];
    snprintf(path, sizeof path, "%s/enquete.db", tmpdir);
    struct store *st = NULL;
    struct eq_buf diag = {0}, out = {0};
    cr_assert_eq(store_open(path, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    int64_t ict = dept(st, "ict", "ICT"), hr = dept(st, "hr", "HR");
    int64_t fac = dept(st, "fac", "Facilitair"),
            fin = dept(st, "fin", "Financiën");
    int64_t boss = employee(st, "boss.ict@org.example", ict, "nl");
    int64_t chef = employee(st, "chief.ict@org.example", ict, "en");
    int64_t rater = employee(st, "rater.fin@org.example", fin, NULL);
    int changed;
    cr_assert_eq(store_manager_set(st, ict, boss, 1, &changed), EQ_OK);
    cr_assert_eq(store_manager_set(st, ict, chef, 1, &changed), EQ_OK);
    int64_t cid, q1, q2;
    cr_assert_eq(store_campaign_ensure(st, "intern", &cid), EQ_OK);
    cr_assert_eq(store_period_ensure(st, cid, "2026Q1",
                                     eqtime_day_from_ymd(2026, 1, 1),
                                     eqtime_day_from_ymd(2026, 3, 31), &q1),
                 EQ_OK);
    cr_assert_eq(store_period_ensure(st, cid, "2026Q2",
                                     eqtime_day_from_ymd(2026, 4, 1),
                                     eqtime_day_from_ymd(2026, 6, 30), &q2),
                 EQ_OK);
    eq_time c1, c2, t;
    eqtime_parse_iso("2026-03-20T12:00", TZ, &c1);
    eqtime_parse_iso("2026-06-19T12:00", TZ, &c2);
    /* ICT: ten 0s in Q1 (NPS -100), ten 10s in Q2 (+100): a change no BH
     * can miss. Facilitair five 6s (-100) and HR five 9s (+100) in Q2: the
     * median of ICT, HR and Facilitair is +100. */
    answers(st, cid, q1, rater, ict, 0, 10, c1);
    answers(st, cid, q2, rater, ict, 10, 10, c2);
    answers(st, cid, q2, rater, fac, 6, 5, c2);
    answers(st, cid, q2, rater, hr, 9, 5, c2);
    eqtime_parse_iso("2026-04-10T12:00", TZ, &t);
    cr_assert_eq(store_period_set_digest(st, q1, t), EQ_OK);

    /* ICT's managers answered the Q1 digest on 10 April with two actions,
     * and marked the second done on 12 May. */
    action(st, ict, cid, q1, "Vast inloopspreekuur op dinsdag", NULL,
           eqtime_day_from_ymd(2026, 5, 1), t);
    action(st, ict, cid, q1, "Laptops sneller vervangen", "nps", 0, t);
    eq_time done_at;
    eqtime_parse_iso("2026-05-12T10:00", TZ, &done_at);
    cr_assert_eq(store_action_done(st, ict, 2, done_at, &changed), EQ_OK);
    cr_assert_eq(changed, 1);

    char *hr_list[] = {"hr@org.example"};
    struct eq_config cfg;
    digest_config(&cfg, hr_list, 1);
    struct transport *tx = transport_capture_new();
    struct digest_summary sum;
    eq_time now;
    /* Monday 6 July 08:00: 86 days and 20 hours after 10 April 12:00. */
    eqtime_parse_iso("2026-07-06T08:00", TZ, &now);
    cr_assert_eq(digest_run(st, &cfg, &camp, tx, now, 1, &sum, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(sum.sent, 3);

    char *nl = digest_for(buf_str(&out), "boss.ict@org.example");
    has(nl, "Openstaande acties\n"
            "1. Vast inloopspreekuur op dinsdag\n"
            "   sinds 2026Q1, 86 dagen open, tot 2026-05-01 (VERLOPEN)\n"
            "   NPS: -100 in 2026Q1 → +100 in 2026Q2 ↑ (significant)\n");
    /* done in the period: no longer open, listed as done */
    has(nl, "Afgerond in 2026Q2\n2. Laptops sneller vervangen (afgerond op "
            "2026-05-12)\n");
    hasnt(nl, "2. Laptops sneller vervangen [");
    free(nl);
    char *en = digest_for(buf_str(&out), "chief.ict@org.example");
    has(en, "   since 2026Q1, open 86 days, due 2026-05-01 (OVERDUE)\n");
    has(en,
        "Done in 2026Q2\n2. Laptops sneller vervangen (done on 2026-05-12)\n");
    free(en);

    char *h = digest_for(buf_str(&out), "hr@org.example");
    /* Per department: ICT 1 open, 1 done; the others none. */
    const char *sec = strstr(h, "Acties per afdeling");
    cr_assert_not_null(sec, "%s", h);
    char *l = line_of(sec, "ICT ");
    cr_assert_str_eq(l, "ICT            1         1  +100");
    free(l);
    l = line_of(sec, "Facilitair ");
    cr_assert_str_eq(l, "Facilitair     0         0  -100");
    free(l);
    /* Facilitair lies below the median and has no action; HR (at the
     * median) is not weak. The distance is certainly significant: -100 with
     * n = 5 has an adjusted-Wald sd of 23 points. */
    has(h, "Onder de mediaan en nog geen enkele actie\n"
           "- Facilitair: NPS -100 (mediaan +100), significant lager\n");
    hasnt(h, "- HR: NPS");
    has(h, "Aandacht nodig: significant onder de organisatie");
    has(h, "- Facilitair — NPS: -100 (organisatie +100)\n");
    free(h);

    /* The real run carries them in the HTML too. */
    buf_free(&out);
    cr_assert_eq(digest_run(st, &cfg, &camp, tx, now, 0, &sum, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(transport_capture_count(tx), 3);
    char *m = unqp(transport_capture_get(tx, 0)->data);
    has(m, "<h3>Openstaande acties</h3>");
    has(m, "<b style=\"color:#b00020\">verlopen</b>");
    free(m);

    transport_close(tx);
    buf_free(&out);
    buf_free(&diag);
    store_close(st);
}

Test(digest, action_movement_has_an_arrow_only_when_the_change_is_significant,
     .fini = chart_shutdown)
{
    /* Both actions answered the 2025Q4 digest; the third one an older
     * period the model knows nothing of (no trend): no movement line. */
    struct digest_action acts[] = {
        {1, 1, "Spreekuur", NULL, 0, "2025Q4", 0, 0, 0},
        {1, 3, "Oud plan", "nps", 0, "2025Q2", 0, 0, 0},
        {2, 1, "Niet van ICT", NULL, 0, "2025Q4", 0, 0, 0}};
    /* Recorded 1 January 12:00; the digest speaks of the end of 31 March:
     * 89 days and 12 hours later. */
    eq_time jan1;
    eqtime_parse_iso("2026-01-01T12:00", TZ, &jan1);
    for (size_t i = 0; i < 3; i++)
        acts[i].created_at = jan1;
    struct digest_input in = input(1);
    in.actions = acts;
    in.n_actions = 3;
    char *out = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(
        digest_render(&in, TEMPLATES, "nl", "ict", "text", &out, &diag), EQ_OK,
        "%s", buf_str(&diag));
    /* -100 → +31.58: significant, so an arrow */
    has(out, "1. Spreekuur\n   sinds 2025Q4, 89 dagen open\n   NPS: -100 in "
             "2025Q4 → +32 in 2026Q1 ↑ (significant)\n");
    has(out, "3. Oud plan [NPS]\n   sinds 2025Q2, 89 dagen open\n\nWat gaat u "
             "doen?");
    hasnt(out, "Niet van ICT");
    free(out);

    /* Previous ICT ← Financiën P 5, D 2 of 10 (+30): +30 → +32 is chance. */
    static const struct store_score_row close_prev[] = {
        {1, 10, 10, 5}, {1, 10, 8, 3}, {1, 10, 3, 2}};
    static const struct store_score_row *pr[1] = {close_prev};
    static size_t npr[1] = {3};
    in.prev_rows = pr;
    in.n_prev_rows = npr;
    cr_assert_eq(
        digest_render(&in, TEMPLATES, "en", "ict", "text", &out, &diag), EQ_OK,
        "%s", buf_str(&diag));
    has(out, "   NPS: +30 in 2025Q4 → +32 in 2026Q1\n");
    hasnt(out, "(significant)");
    free(out);
    buf_free(&diag);
}

/* The store's score counts of answers given one by one are exactly the
 * hand-written rows the render tests above start from, in the same order:
 * provider, rater department, score. */
Test(digest, stored_answers_count_up_to_the_hand_written_rows)
{
    struct store *st = NULL;
    struct store_score_row *rows = NULL;
    size_t n = 0;
    size_t want = sizeof cur_rows / sizeof cur_rows[0];
    int64_t camp_id, period, id, emp[13] = {0};
    static const char *const codes[] = {"ict", "hr",    "fac",
                                        "fin", "sales", "ops"};
    int64_t ids[13] = {0};
    eq_time closes = 1774958400; /* 2026-03-31T12:00Z */

    cr_assert_eq(store_open(":memory:", &st, NULL), EQ_OK);
    /* Created in this order: ICT 1, HR 2, FAC 3, FIN 4, SALES 5, OPS 6;
     * ids[] maps the numbers of cur_rows to them. */
    for (int i = 0; i < 6; i++) {
        id = dept(st, codes[i], codes[i]);
        ids[i < 3 ? i + 1 : i + 7] = id;
    }
    for (int d = 10; d <= 12; d++) {
        char email[32];
        snprintf(email, sizeof email, "rater%d@example.org", d);
        emp[d] = employee(st, email, ids[d], "nl");
    }
    cr_assert_eq(store_campaign_ensure(st, "intern", &camp_id), EQ_OK);
    cr_assert_eq(store_period_ensure(st, camp_id, "2026Q1",
                                     eqtime_day_from_ymd(2026, 1, 1),
                                     eqtime_day_from_ymd(2026, 3, 31), &period),
                 EQ_OK);
    /* Given from the last row to the first, so no order comes for free. */
    for (size_t i = want; i-- > 0;) {
        const struct store_score_row *r = &cur_rows[i];
        answers(st, camp_id, period, emp[r->rater_department_id],
                ids[r->provider_id], r->score, (int)r->n, closes);
    }
    /* One more, HR ← Financiën 1: it must take its place in the order. */
    answers(st, camp_id, period, emp[10], ids[2], 1, 1, closes);
    cr_assert_eq(store_score_counts(st, period, "nps", &rows, &n), EQ_OK);
    cr_assert_eq(n, want + 1);
    for (size_t i = 0, j = 0; i < n; i++) {
        if (rows[i].provider_id == ids[2] && rows[i].score == 1)
            continue; /* the extra answer, checked below */
        cr_assert_eq(rows[i].provider_id, ids[cur_rows[j].provider_id]);
        cr_assert_eq(rows[i].rater_department_id,
                     ids[cur_rows[j].rater_department_id]);
        cr_assert_eq(rows[i].score, cur_rows[j].score);
        cr_assert_eq(rows[i].n, cur_rows[j].n, "row %zu", i);
        j++;
    }
    /* HR ← Financiën: the extra 1 comes before the four 9s. */
    cr_assert_eq(rows[8].provider_id, ids[2]);
    cr_assert_eq(rows[8].score, 1);
    cr_assert_eq(rows[9].score, 9);
    free(rows);
    store_close(st);
}

/* ---- comments are read one provider at a time --------------------- */

/* A loader over the fixture's comments that counts what it holds. */
struct held {
    int live, max_live, loads;
    size_t last;
};

static enum eq_err
held_load(void *ctx, size_t p, struct digest_comments *out)
{
    struct held *h = ctx;

    /* as input(): Facilitair has none (NULL) */
    memset(out, 0, sizeof *out);
    out->text = p == 0 ? ict_comments : p == 1 ? hr_comments : NULL;
    out->score = p == 0 ? ict_scores : NULL;
    out->n = p == 0 ? 2 : p == 1 ? 1 : 0;
    out->owner = h;
    h->loads++;
    h->last = p;
    if (++h->live > h->max_live)
        h->max_live = h->live;
    return EQ_OK;
}

static void
held_free(void *ctx, struct digest_comments *c)
{
    struct held *h = ctx;

    cr_assert_eq(c->owner, h);
    h->live--;
}

static char *
render_loaded(struct held *h, const char *lang, const char *dept,
              const char *format)
{
    struct digest_input in = input(1);
    struct eq_buf diag = {0};
    char *out = NULL;

    in.comments = NULL;
    in.n_comments = NULL;
    in.comment_scores = NULL;
    in.load_comments = held_load;
    in.free_comments = held_free;
    in.comments_ctx = h;
    cr_assert_eq(digest_render(&in, TEMPLATES, lang, dept, format, &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
    return out;
}

Test(digest, loaded_comments_give_the_same_report_and_are_let_go_at_once,
     .fini = chart_shutdown)
{
    static const char *const formats[] = {"json", "text", "html"};
    static const char *const views[] = {NULL, "ict", "hr", "fac"};

    for (size_t f = 0; f < 3; f++)
        for (size_t v = 0; v < 4; v++) {
            struct held h = {0};
            char *want = render(1, "nl", views[v], formats[f]);
            char *got = render_loaded(&h, "nl", views[v], formats[f]);
            cr_assert_str_eq(got, want, "%s %s", formats[f],
                             views[v] ? views[v] : "organisation");
            /* never two providers' comments at once, all let go */
            cr_assert_eq(h.live, 0);
            cr_assert_leq(h.max_live, 1);
            free(want);
            free(got);
        }
    /* The organisation's JSON reads the shown providers' comments (ICT
     * and Facilitair), never hidden HR's; a manager's text reads only
     * their own department's. */
    struct held h = {0};
    char *j = render_loaded(&h, "nl", NULL, "json");
    cr_assert_eq(h.loads, 2);
    cr_assert_eq(h.last, 2);
    cJSON *doc = cJSON_Parse(j);
    cr_assert_not_null(doc, "not JSON: %s", j);
    const cJSON *plist = cJSON_GetObjectItem(doc, "providers");
    cr_assert_eq(cJSON_GetArraySize(plist), 3);
    const cJSON *ict = cJSON_GetArrayItem(plist, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(ict, "code")->valuestring, "ict");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(ict, "comments")), 2);
    cr_assert_null(
        cJSON_GetObjectItem(cJSON_GetArrayItem(plist, 1), "comments"));
    cJSON_Delete(doc);
    free(j);
    struct held hm = {0};
    char *t = render_loaded(&hm, "nl", "ict", "text");
    cr_assert_eq(hm.loads, 1);
    cr_assert_eq(hm.last, 0);
    has(t, "Snelle hulp bij de laptop");
    free(t);
}

/* One answer of emp on provider with a comment. */
static void
answer_with_comment(struct store *st, int64_t camp_id, int64_t period,
                    int64_t emp, int64_t provider, int score, const char *text,
                    eq_time closes)
{
    int64_t id = invitation(st, camp_id, period, emp, provider, score, closes);
    cr_assert_eq(store_comment_add(st, id, text, closes - 86400, 0), EQ_OK);
}

Test(digest, report_streams_every_shown_providers_comments_from_the_store)
{
    struct store *st = NULL;
    struct eq_buf diag = {0};
    int64_t cid, pid;
    eq_time closes = 1774958400; /* 2026-03-31T12:00Z */

    cr_assert_eq(store_open(":memory:", &st, NULL), EQ_OK);
    int64_t ict = dept(st, "ict", "ICT"), hr = dept(st, "hr", "HR");
    int64_t fac = dept(st, "fac", "Facilitair");
    int64_t fin = dept(st, "fin", "Financiën");
    int64_t r_fin = employee(st, "rater.fin@org.example", fin, NULL);
    cr_assert_eq(store_campaign_ensure(st, "intern", &cid), EQ_OK);
    cr_assert_eq(store_period_ensure(st, cid, "2026Q1",
                                     eqtime_day_from_ymd(2026, 1, 1),
                                     eqtime_day_from_ymd(2026, 3, 31), &pid),
                 EQ_OK);
    for (int i = 0; i < 6; i++) {
        char text[32];
        snprintf(text, sizeof text, "ict-%d", i);
        answer_with_comment(st, cid, pid, r_fin, ict, i < 3 ? 10 : 2, text,
                            closes);
        snprintf(text, sizeof text, "fac-%d", i);
        answer_with_comment(st, cid, pid, r_fin, fac, 8, text, closes);
        if (i < 4) { /* HR: 4 answers, below the minimum of 5 */
            snprintf(text, sizeof text, "hr-%d", i);
            answer_with_comment(st, cid, pid, r_fin, hr, 9, text, closes);
        }
    }
    struct eq_config cfg;
    digest_config(&cfg, NULL, 0);
    cfg.general.language = "en";

    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    cr_assert_not_null(f);
    cr_assert_eq(digest_report_to(st, &cfg, &camp, "2026Q1", NULL, "json", 0,
                                  f, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    fclose(f);
    cJSON *doc = cJSON_Parse(s);
    cr_assert_not_null(doc, "not JSON: %s", s);
    const cJSON *plist = cJSON_GetObjectItem(doc, "providers");
    cr_assert_eq(cJSON_GetArraySize(plist), 3);
    for (int p = 0; p < 3; p++) {
        const cJSON *o = cJSON_GetArrayItem(plist, p);
        const char *code = cJSON_GetObjectItem(o, "code")->valuestring;
        const cJSON *cs = cJSON_GetObjectItem(o, "comments");
        if (strcmp(code, "hr") == 0) {
            cr_assert_null(cs);
            continue;
        }
        cr_assert_eq(cJSON_GetArraySize(cs), 6, "%s", code);
        for (int i = 0; i < 6; i++) {
            const cJSON *c = cJSON_GetArrayItem(cs, i);
            const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
            const char *group = cJSON_GetObjectItem(c, "group")->valuestring;
            cr_assert_eq(strncmp(text, code, strlen(code)), 0, "%s", text);
            if (strcmp(code, "fac") == 0)
                cr_assert_str_eq(group, "passive");
        }
    }
    hasnt(s, "hr-");
    cJSON_Delete(doc);
    free(s);

    /* A manager's report: their own comments, nobody else's. */
    char *t = NULL;
    cr_assert_eq(digest_report(st, &cfg, &camp, "2026Q1", "fac", "text", 0, &t,
                               &diag),
                 EQ_OK, "%s", buf_str(&diag));
    has(t, "fac-5");
    hasnt(t, "ict-");
    free(t);
    /* Nothing is written for a department that is not a provider. */
    s = NULL;
    len = 0;
    f = open_memstream(&s, &len);
    cr_assert_eq(digest_report_to(st, &cfg, &camp, "2026Q1", "fin", "json", 0,
                                  f, &diag),
                 EQ_ERR_NOTFOUND);
    fclose(f);
    cr_assert_eq(len, 0);
    free(s);
    /* A full disk under the output is an error, not a short report. */
    f = fopen("/dev/full", "w");
    cr_assert_not_null(f);
    setvbuf(f, NULL, _IONBF, 0);
    buf_reset(&diag);
    cr_assert_eq(digest_report_to(st, &cfg, &camp, "2026Q1", NULL, "json", 0,
                                  f, &diag),
                 EQ_ERR_IO);
    has(buf_str(&diag), "writing the report failed");
    cr_assert_eq(digest_report_to(st, &cfg, &camp, "2026Q1", "ict", "text", 0,
                                  f, &diag),
                 EQ_ERR_IO);
    fclose(f);
    buf_free(&diag);
    store_close(st);
}
