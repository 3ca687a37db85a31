#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "eqtime.h"
#include "helpers.h"

#define CDIR FIXTURES "/campaign"

static eq_day
D(const char *s)
{
    eq_day d;

    cr_assert_eq(eqtime_parse_day(s, &d), 0, "bad test date %s", s);
    return d;
}

/* Loads text as tmp/c.ini; expects EQ_ERR_CONFIG and returns the path. */
static const char *
load_bad(const char *text, struct eq_buf *diag)
{
    struct campaign *c = NULL;
    const char *p = th_put("c.ini", text);

    cr_assert_eq(campaign_load(p, "UTC", &c, diag), EQ_ERR_CONFIG, "%s",
                 buf_str(diag));
    cr_assert_null(c);
    return p;
}

/* Loads text as tmp/c.ini, which must load cleanly. */
static struct campaign *
load_ok(const char *text)
{
    struct campaign *c = NULL;
    struct eq_buf diag = {0};

    cr_assert_eq(campaign_load(th_put("c.ini", text), "UTC", &c, &diag), EQ_OK,
                 "%s", buf_str(&diag));
    buf_free(&diag);
    return c;
}

/* A campaign built in memory, for the period grid. */
static struct campaign
grid(enum cadence_kind k, int weeks, const char *start, const char *end)
{
    struct campaign c;

    memset(&c, 0, sizeof c);
    c.cadence = k;
    c.cadence_weeks = weeks;
    c.start = D(start);
    c.end = end ? D(end) : 0;
    c.send_days = 0x0e;
    return c;
}

static void
assert_period(const struct campaign *c, const char *day, const char *label,
              const char *first, const char *last)
{
    struct period p;

    cr_assert_eq(campaign_period_of(c, D(day), &p), EQ_OK, "%s", day);
    cr_assert_str_eq(p.label, label, "%s", day);
    cr_assert_eq(p.first, D(first), "%s: first", day);
    cr_assert_eq(p.last, D(last), "%s: last", day);
}

/* The keys after the send window: reminders, language and privacy. */
struct follow_up {
    int reminder_after, max_reminders, close_after;
    const char *language;
    int anonymous, anonymity_min, allow_forward, share_actions, confirmation;
};

static void
assert_follow_up(const struct campaign *c, struct follow_up w)
{
    cr_assert_eq(c->reminder_after, w.reminder_after);
    cr_assert_eq(c->max_reminders, w.max_reminders);
    cr_assert_eq(c->close_after, w.close_after);
    cr_assert_str_eq(c->language, w.language);
    cr_assert_eq(c->anonymous, w.anonymous);
    cr_assert_eq(c->anonymity_min, w.anonymity_min);
    cr_assert_eq(c->allow_forward, w.allow_forward);
    cr_assert_eq(c->share_actions, w.share_actions);
    cr_assert_eq(c->confirmation, w.confirmation);
}

/* ---- loading ---- */

Test(campaign, minimal_file_gets_design_defaults)
{
    struct campaign *c = NULL;
    struct eq_buf diag = {0};

    cr_assert_eq(
        campaign_load(CDIR "/minimal.ini", "Europe/Amsterdam", &c, &diag),
        EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(c->file, CDIR "/minimal.ini");
    cr_assert_str_eq(c->name, "minimal");
    cr_assert_str_eq(c->title_nl, "minimal");
    cr_assert_str_eq(c->title_en, "minimal");
    cr_assert_eq(c->n_metrics, 1);
    cr_assert_str_eq(c->metrics[0].id, "nps");
    cr_assert_eq(c->metrics[0].type, METRIC_NPS);
    cr_assert_eq(c->metrics[0].min, 0);
    cr_assert_eq(c->metrics[0].max, 10);
    cr_assert_str_eq(c->metrics[0].label_nl, "Aanbeveling");
    cr_assert_str_eq(c->metrics[0].question_nl,
                     "Hoe waarschijnlijk is het dat u {{provider}} aanraadt "
                     "aan een collega?");
    cr_assert(c->providers_all && c->customers_all);
    cr_assert_eq(c->cadence, CADENCE_MONTHLY);
    cr_assert_eq(c->start, D("2026-11-02"));
    cr_assert_eq(c->end, 0);
    cr_assert_eq(c->target_responses, 30);
    cr_assert_float_eq(c->expected_response_rate, 0.35, 1e-12);
    cr_assert_eq(c->send_days, (1u << 1) | (1u << 2) | (1u << 3),
                 "tue, wed, thu");
    cr_assert_eq(c->window_start, 540);
    cr_assert_eq(c->window_end, 660);
    cr_assert_str_eq(c->timezone, "Europe/Amsterdam");
    cr_assert_eq(c->n_holidays, 0);
    assert_follow_up(c, (struct follow_up){.reminder_after = 3,
                                           .max_reminders = 1,
                                           .close_after = 10,
                                           .language = "employee",
                                           .anonymous = 0,
                                           .anonymity_min = 5,
                                           .allow_forward = 0,
                                           .share_actions = 0,
                                           .confirmation = 0});
    campaign_free(c);
    buf_free(&diag);
}

Test(campaign, full_file_sets_every_key)
{
    struct campaign *c = NULL;
    struct eq_buf diag = {0};
    const struct campaign_metric *m;

    cr_assert_eq(campaign_load(CDIR "/full.ini", "Europe/Amsterdam", &c, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(c->name, "it-service");
    cr_assert_str_eq(c->title_nl, "Tevredenheid IT");
    cr_assert_str_eq(c->title_en, "IT satisfaction");
    cr_assert_eq(c->n_metrics, 3);
    cr_assert_str_eq(c->metrics[0].id, "nps");
    cr_assert_str_eq(c->metrics[1].id, "ces");
    cr_assert_str_eq(c->metrics[2].id, "responsiveness");
    /* A [metric nps] section overrides only what it sets. */
    cr_assert_str_eq(c->metrics[0].label_en, "Would recommend");
    cr_assert_str_eq(c->metrics[0].label_nl, "Aanbeveling");
    m = campaign_metric(c, "ces");
    cr_assert_not_null(m);
    cr_assert_eq(m->type, METRIC_CES);
    cr_assert_eq(m->min, 1);
    cr_assert_eq(m->max, 7);
    cr_assert_str_eq(m->question_nl, "{{provider}} zorgde ervoor dat mijn "
                                     "vraag makkelijk werd afgehandeld.");
    cr_assert_str_eq(m->question_en,
                     "{{provider}} made it easy to get my request handled.");
    m = campaign_metric(c, "responsiveness");
    cr_assert_eq(m->type, METRIC_CSAT);
    cr_assert_eq(m->min, 1);
    cr_assert_eq(m->max, 5);
    cr_assert_str_eq(m->label_nl, "Snelheid");
    cr_assert_str_eq(m->question_nl,
                     "Hoe tevreden bent u over de snelheid van {{provider}}?");
    cr_assert_str_eq(campaign_metric_type_name(m->type), "csat");
    cr_assert_null(campaign_metric(c, "csat"));
    cr_assert_eq(c->providers_all, 0);
    cr_assert_eq(c->n_providers, 2);
    cr_assert(campaign_has_provider(c, "it"));
    cr_assert(campaign_has_provider(c, "hr"), "codes compare without case");
    cr_assert_not(campaign_has_provider(c, "finance"));
    cr_assert(c->customers_all);
    cr_assert(campaign_has_customer(c, "finance", "it"));
    cr_assert_not(campaign_has_customer(c, "it", "it"), "not one's own");
    cr_assert_eq(c->cadence, CADENCE_WEEKS);
    cr_assert_eq(c->cadence_weeks, 2);
    cr_assert_eq(c->end, D("2027-06-30"));
    cr_assert_eq(c->target_responses, 40);
    cr_assert_float_eq(c->expected_response_rate, 0.5, 1e-12);
    cr_assert_eq(c->send_days, (1u << 0) | (1u << 2) | (1u << 4),
                 "ma, wo, vrijdag");
    cr_assert_eq(c->window_start, 8 * 60 + 30);
    cr_assert_eq(c->window_end, 10 * 60);
    cr_assert_str_eq(c->timezone, "UTC");
    /* From holidays.txt, sorted. */
    cr_assert_eq(c->n_holidays, 3);
    cr_assert_eq(c->holidays[0], D("2026-04-27"));
    cr_assert_eq(c->holidays[1], D("2026-12-25"));
    cr_assert_eq(c->holidays[2], D("2026-12-26"));
    assert_follow_up(c, (struct follow_up){.reminder_after = 2,
                                           .max_reminders = 2,
                                           .close_after = 7,
                                           .language = "nl",
                                           .anonymous = 1,
                                           .anonymity_min = 7,
                                           .allow_forward = 1,
                                           .share_actions = 1,
                                           .confirmation = 0});
    campaign_free(c);
    buf_free(&diag);
}

Test(campaign, customers_list_excludes_unlisted_and_own_department)
{
    struct campaign *c = NULL;

    th_tmpdir("campaign");
    c = load_ok("[campaign]\nmetrics = csat\n"
                "start = 2026-01-01\nproviders = *\n"
                "customers = sales, it\n");
    cr_assert(campaign_has_provider(c, "anything"));
    cr_assert(campaign_has_customer(c, "sales", "it"));
    cr_assert(campaign_has_customer(c, "IT", "hr"));
    cr_assert_not(campaign_has_customer(c, "finance", "it"));
    cr_assert_not(campaign_has_customer(c, "it", "it"));
    campaign_free(c);
    th_rmtmp();
}

Test(campaign, unknown_key_is_reported_at_its_line)
{
    struct eq_buf diag = {0};

    th_tmpdir("campaign");
    const char *p = load_bad("[campaign]\n"          /* 1 */
                             "metrics = nps\n"       /* 2 */
                             "start = 2026-01-01\n"  /* 3 */
                             "reminder_afterr = 2\n" /* 4 */
                             "[other]\n"             /* 5 */
                             "x = 1\n",              /* 6 */
                             &diag);
    th_assert_at(&diag, p, 4,
                 "unknown key 'reminder_afterr' in [campaign] (did you "
                 "mean 'reminder_after'?)\n");
    th_assert_at(&diag, p, 6, "unknown section [other]");
    buf_free(&diag);
    th_rmtmp();
}

Test(campaign, metric_errors_point_at_the_right_line)
{
    struct eq_buf diag = {0};

    th_tmpdir("campaign");
    const char *p = load_bad("[campaign]\n"                         /* 1 */
                             "start = 2026-01-01\n"                 /* 2 */
                             "metrics = nps, speed, clarity, ces\n" /* 3 */
                             "\n"                                   /* 4 */
                             "[metric unused]\n"                    /* 5 */
                             "type = csat\n"                        /* 6 */
                             "[metric clarity]\n"                   /* 7 */
                             "label_nl = Helderheid\n"              /* 8 */
                             "question_nl = Hoe helder?\n"          /* 9 */
                             "question_en = How clear?\n"           /* 10 */
                             "[metric ces]\n"                       /* 11 */
                             "type = nps\n"                         /* 12 */
                             "colour = red\n",                      /* 13 */
                             &diag);
    th_assert_at(&diag, p, 3,
                 "metric 'speed' is not built in (nps, ces, csat) and has "
                 "no [metric speed] section\n");
    th_assert_at(&diag, p, 6, "[metric unused] is not listed in 'metrics'\n");
    th_assert_at(&diag, p, 8,
                 "[metric clarity] needs a 'type' (nps, ces or csat)\n");
    th_assert_at(&diag, p, 12, "'ces' is built in with type ces");
    th_assert_at(&diag, p, 13, "unknown key 'colour' in [metric ces]");
    buf_free(&diag);
    th_rmtmp();
}

Test(campaign, custom_metric_needs_questions_for_its_languages)
{
    struct eq_buf diag = {0};
    char want[300];

    th_tmpdir("campaign");
    const char *p = load_bad("[campaign]\n"                  /* 1 */
                             "start = 2026-01-01\n"          /* 2 */
                             "metrics = service\n"           /* 3 */
                             "[metric service]\n"            /* 4 */
                             "type = csat\n"                 /* 5 */
                             "question_nl = Hoe was het?\n", /* 6 */
                             &diag);
    snprintf(want, sizeof want,
             "%s:5: [metric service] needs a 'question_en'\n", p);
    cr_assert_str_eq(buf_str(&diag), want);
    buf_free(&diag);

    /* Dutch only: the English question is not needed. */
    struct campaign *c = NULL;
    c = load_ok("[campaign]\nstart = 2026-01-01\nmetrics = service\n"
                "language = nl\n[metric service]\ntype = csat\n"
                "question_nl = Hoe was het?\n");
    cr_assert_str_eq(c->metrics[0].label_nl, "service");
    campaign_free(c);
    buf_free(&diag);
    th_rmtmp();
}

Test(campaign, bad_values_are_reported_at_their_lines)
{
    struct eq_buf diag = {0};
    char want[300];

    th_tmpdir("campaign");
    const char *p = load_bad("[campaign]\n"                        /* 1 */
                             "metrics = nps\n"                     /* 2 */
                             "start = 2026-06-01\n"                /* 3 */
                             "end = 2026-05-31\n"                  /* 4 */
                             "send_window = 11:00-09:00\n"         /* 5 */
                             "anonymity_min = 1\n"                 /* 6 */
                             "expected_response_rate = 1.5\n"      /* 7 */
                             "cadence = every 27 weeks\n"          /* 8 */
                             "send_days = tue, someday\n"          /* 9 */
                             "anonymous = maybe\n"                 /* 10 */
                             "language = de\n"                     /* 11 */
                             "holidays = 2026-12-25, 2026-13-01\n" /* 12 */
                             "providers = it, bad code\n",         /* 13 */
                             &diag);
    for (int line = 4; line <= 13; line++) {
        th_assert_at(&diag, p, line, "");
    }
    th_assert_at(&diag, p, 4, "'end' is before 'start'");
    buf_free(&diag);

    /* A bad required value is reported once, not also as missing. */
    p = load_bad("[campaign]\nmetrics = nps, 4x\nstart = 2026-02-30\n"
                 "[metric speed]\ntype = csat\n",
                 &diag);
    snprintf(want, sizeof want,
             "%s:2: 'metrics': '4x' is not a metric id (lowercase letters, "
             "digits, '_', '-')\n"
             "%s:3: 'start' must be a date YYYY-MM-DD, not '2026-02-30'\n",
             p, p);
    cr_assert_str_eq(buf_str(&diag), want);
    buf_free(&diag);

    p = load_bad("[campaign]\nmetrics = nps\nexpected_response_rate = 0\n",
                 &diag);
    th_assert_at(&diag, p, 3, "'expected_response_rate'");
    snprintf(want, sizeof want,
             "%s: missing required key 'start' in "
             "[campaign]\n",
             p);
    th_assert_has(&diag, want);
    buf_free(&diag);
    th_rmtmp();
}

Test(campaign, bad_date_in_holiday_file_names_that_file_and_line)
{
    struct campaign *c = NULL;
    struct eq_buf diag = {0};

    cr_assert_eq(campaign_load(CDIR "/bad-holidays.ini", "UTC", &c, &diag),
                 EQ_ERR_CONFIG);
    cr_assert_str_eq(buf_str(&diag),
                     CDIR "/bad-holidays.txt:3: not a date (YYYY-MM-DD): "
                          "'2026-02-30'\n" CDIR
                          "/bad-holidays.txt:5: not a date (YYYY-MM-DD): "
                          "'not a date'\n");
    buf_free(&diag);

    th_tmpdir("campaign");
    const char *p =
        th_put("c.ini", "[campaign]\nmetrics = nps\n"
                        "start = 2026-01-01\nholidays = nope.txt\n");
    cr_assert_eq(campaign_load(p, "UTC", &c, &diag), EQ_ERR_CONFIG);
    th_assert_has(&diag, ":4: holidays file ");
    th_assert_has(&diag, "nope.txt: cannot open: No such file or directory");
    buf_free(&diag);
    th_rmtmp();
}

Test(campaign, holidays_as_a_list_of_dates)
{
    struct campaign *c = NULL;

    th_tmpdir("campaign");
    c = load_ok("[campaign]\nmetrics = nps\n"
                "start = 2026-11-02\n"
                "holidays = 2026-12-25, 2026-11-25\n");
    cr_assert_eq(c->n_holidays, 2);
    cr_assert(campaign_is_holiday(c, D("2026-11-25")));
    cr_assert(campaign_is_holiday(c, D("2026-12-25")));
    cr_assert_not(campaign_is_holiday(c, D("2026-12-24")));
    campaign_free(c);
    th_rmtmp();
}

Test(campaign, missing_file_is_noinput)
{
    struct campaign *c = NULL;
    struct eq_buf diag = {0};

    cr_assert_eq(campaign_load(CDIR "/nope.ini", "UTC", &c, &diag),
                 EQ_ERR_NOINPUT);
    cr_assert_null(c);
    buf_free(&diag);
}

Test(campaign, directory_loads_ini_files_sorted)
{
    struct campaign **all = NULL;
    size_t n = 0;
    struct eq_buf diag = {0};

    cr_assert_eq(campaign_load_dir(CDIR "/dir-ok", "UTC", &all, &n, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(n, 2);
    cr_assert_str_eq(all[0]->name, "alpha");
    cr_assert_str_eq(all[0]->file, CDIR "/dir-ok/a.ini");
    cr_assert_str_eq(all[1]->name, "b");
    cr_assert_eq(all[1]->cadence, CADENCE_QUARTERLY);
    campaign_free_all(all, n);
    buf_free(&diag);
}

Test(campaign, duplicate_names_in_a_directory_name_both_files)
{
    struct campaign **all = NULL;
    size_t n = 0;
    struct eq_buf diag = {0};

    cr_assert_eq(campaign_load_dir(CDIR "/dir-dup", "UTC", &all, &n, &diag),
                 EQ_ERR_CONFIG);
    cr_assert_null(all);
    cr_assert_eq(n, 0);
    cr_assert_str_eq(buf_str(&diag),
                     CDIR "/dir-dup/two.ini: campaign name 'same' is already "
                          "used by " CDIR "/dir-dup/one.ini\n");
    buf_free(&diag);
    cr_assert_eq(campaign_load_dir(CDIR "/no-such-dir", "UTC", &all, &n, &diag),
                 EQ_ERR_NOINPUT);
    th_assert_has(&diag, "no-such-dir: cannot open");
    buf_free(&diag);
}

/* ---- the period grid (dates hand-checked against a calendar) ---- */

Test(period, monthly_periods_are_calendar_months_from_start)
{
    struct campaign c = grid(CADENCE_MONTHLY, 0, "2026-11-10", "2027-01-15");
    struct period p;

    assert_period(&c, "2026-11-23", "2026-11", "2026-11-01", "2026-11-30");
    assert_period(&c, "2026-11-10", "2026-11", "2026-11-01", "2026-11-30");
    assert_period(&c, "2026-12-31", "2026-12", "2026-12-01", "2026-12-31");
    /* The last period is not clipped to end. */
    assert_period(&c, "2027-01-15", "2027-01", "2027-01-01", "2027-01-31");
    cr_assert_eq(campaign_period_of(&c, D("2026-11-09"), &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_of(&c, D("2027-01-16"), &p), EQ_ERR_NOTFOUND);
    struct campaign feb = grid(CADENCE_MONTHLY, 0, "2028-01-01", NULL);
    assert_period(&feb, "2028-02-14", "2028-02", "2028-02-01", "2028-02-29");
}

Test(period, quarterly_periods_are_calendar_quarters)
{
    struct campaign c = grid(CADENCE_QUARTERLY, 0, "2026-11-02", NULL);
    struct period p;

    assert_period(&c, "2026-11-23", "2026Q4", "2026-10-01", "2026-12-31");
    assert_period(&c, "2027-02-14", "2027Q1", "2027-01-01", "2027-03-31");
    assert_period(&c, "2027-06-30", "2027Q2", "2027-04-01", "2027-06-30");
    assert_period(&c, "2027-07-01", "2027Q3", "2027-07-01", "2027-09-30");
    cr_assert_eq(campaign_period_of(&c, D("2026-10-15"), &p), EQ_ERR_NOTFOUND);
}

Test(period, week_blocks_count_from_start_with_iso_labels)
{
    /* 2026-11-02 is a Monday in ISO week 45. */
    struct campaign c = grid(CADENCE_WEEKS, 2, "2026-11-02", NULL);
    struct period p;

    assert_period(&c, "2026-11-02", "2026W45", "2026-11-02", "2026-11-15");
    assert_period(&c, "2026-11-15", "2026W45", "2026-11-02", "2026-11-15");
    assert_period(&c, "2026-11-16", "2026W47", "2026-11-16", "2026-11-29");
    /* 2026 has 53 ISO weeks (1 January 2026 is a Thursday); the block
     * from 28 December crosses into 2027 and keeps its 2026W53 label. */
    assert_period(&c, "2027-01-01", "2026W53", "2026-12-28", "2027-01-10");
    /* 11 January 2027 is in ISO week 2 of 2027 (week 1 starts 4 January). */
    assert_period(&c, "2027-01-11", "2027W02", "2027-01-11", "2027-01-24");
    cr_assert_eq(campaign_period_of(&c, D("2026-11-01"), &p), EQ_ERR_NOTFOUND);

    /* A Wednesday start: blocks run Wednesday to Tuesday. */
    struct campaign w = grid(CADENCE_WEEKS, 1, "2026-11-04", "2026-12-01");
    assert_period(&w, "2026-11-10", "2026W45", "2026-11-04", "2026-11-10");
    assert_period(&w, "2026-11-11", "2026W46", "2026-11-11", "2026-11-17");
    assert_period(&w, "2026-12-01", "2026W48", "2026-11-25", "2026-12-01");
    cr_assert_eq(campaign_period_of(&w, D("2026-12-02"), &p), EQ_ERR_NOTFOUND);
}

static void
round_trip(const struct campaign *c, const char *from, int days)
{
    eq_day d0 = D(from);
    struct period p, q;

    for (eq_day d = d0; d < d0 + days; d++) {
        if (campaign_period_of(c, d, &p) != EQ_OK)
            continue;
        cr_assert_eq(campaign_period_by_label(c, p.label, &q), EQ_OK, "%s",
                     p.label);
        cr_assert_str_eq(q.label, p.label);
        cr_assert_eq(q.first, p.first, "%s", p.label);
        cr_assert_eq(q.last, p.last, "%s", p.label);
        cr_assert(d >= p.first && d <= p.last);
    }
}

Test(period, labels_round_trip_for_every_cadence)
{
    struct campaign m = grid(CADENCE_MONTHLY, 0, "2025-12-15", "2028-03-01");
    struct campaign q = grid(CADENCE_QUARTERLY, 0, "2025-12-15", NULL);
    struct campaign w2 = grid(CADENCE_WEEKS, 2, "2026-11-02", NULL);
    struct campaign w3 = grid(CADENCE_WEEKS, 3, "2025-12-31", "2028-01-05");

    round_trip(&m, "2025-12-01", 900);
    round_trip(&q, "2025-12-01", 900);
    round_trip(&w2, "2026-11-01", 900);
    round_trip(&w3, "2025-12-01", 900);
}

Test(period, labels_off_the_grid_are_not_found)
{
    struct campaign m = grid(CADENCE_MONTHLY, 0, "2026-11-10", "2027-01-15");
    struct campaign q = grid(CADENCE_QUARTERLY, 0, "2026-11-02", NULL);
    struct campaign w = grid(CADENCE_WEEKS, 2, "2026-11-02", "2027-03-01");
    struct period p;

    cr_assert_eq(campaign_period_by_label(&m, "2026-11", &p), EQ_OK);
    cr_assert_eq(p.first, D("2026-11-01"));
    cr_assert_eq(campaign_period_by_label(&m, "2026-10", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&m, "2027-02", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&m, "2026-13", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&m, "2026Q4", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&m, "2026-11x", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&q, "2026Q4", &p), EQ_OK);
    cr_assert_eq(p.last, D("2026-12-31"));
    cr_assert_eq(campaign_period_by_label(&q, "2026Q3", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&q, "2026Q5", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&w, "2026W47", &p), EQ_OK);
    cr_assert_eq(p.first, D("2026-11-16"));
    cr_assert_eq(p.last, D("2026-11-29"));
    /* Week 46 starts no block of this two-week grid. */
    cr_assert_eq(campaign_period_by_label(&w, "2026W46", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&w, "2026W43", &p), EQ_ERR_NOTFOUND);
    /* 2027 has 52 ISO weeks. */
    cr_assert_eq(campaign_period_by_label(&w, "2027W53", &p), EQ_ERR_NOTFOUND);
    /* 2027-02-22 (W08) starts the last block; 2027-03-08 (W10) is after
     * end. */
    cr_assert_eq(campaign_period_by_label(&w, "2027W08", &p), EQ_OK);
    cr_assert_eq(p.last, D("2027-03-07"));
    cr_assert_eq(campaign_period_by_label(&w, "2027W10", &p), EQ_ERR_NOTFOUND);
    cr_assert_eq(campaign_period_by_label(&w, "2026W5", &p), EQ_ERR_NOTFOUND);
}

Test(period, send_days_skip_other_weekdays_holidays_and_days_off_the_campaign)
{
    struct campaign *c = NULL;

    th_tmpdir("campaign");
    c = load_ok("[campaign]\nmetrics = nps\n"
                "start = 2026-11-17\nend = 2026-12-03\n"
                "holidays = 2026-11-25\n");
    /* Default tue, wed, thu; 2026-11-23 is a Monday. */
    cr_assert_not(campaign_is_send_day(c, D("2026-11-12")), "before start");
    cr_assert(campaign_is_send_day(c, D("2026-11-17")), "start, Tuesday");
    cr_assert_not(campaign_is_send_day(c, D("2026-11-23")), "Monday");
    cr_assert(campaign_is_send_day(c, D("2026-11-24")), "Tuesday");
    cr_assert_not(campaign_is_send_day(c, D("2026-11-25")), "holiday");
    cr_assert(campaign_is_send_day(c, D("2026-11-26")), "Thursday");
    cr_assert_not(campaign_is_send_day(c, D("2026-11-27")), "Friday");
    cr_assert_not(campaign_is_send_day(c, D("2026-11-28")), "Saturday");
    cr_assert(campaign_is_send_day(c, D("2026-12-03")), "end, Thursday");
    cr_assert_not(campaign_is_send_day(c, D("2026-12-08")), "after end");
    campaign_free(c);
    th_rmtmp();
}

#define CADENCE_INI                                                            \
    "[campaign]\nmetrics = nps\nstart = 2026-01-05\ncadence = %s\n"

Test(campaign, cadence_forms)
{
    static const struct {
        const char *text;
        enum cadence_kind kind;
        int weeks;
    } ok[] = {{"monthly", CADENCE_MONTHLY, 0},
              {"Quarterly", CADENCE_QUARTERLY, 0},
              {"every 1 week", CADENCE_WEEKS, 1},
              {"every 4 weeks", CADENCE_WEEKS, 4},
              {"Every 26 Weeks", CADENCE_WEEKS, 26}};
    static const char *const bad[] = {"weekly", "every weeks", "every 0 weeks",
                                      "every 2 week", "every 3 weeks extra"};
    char text[256];

    th_tmpdir("campaign");
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(text, sizeof text, CADENCE_INI, ok[i].text);
        struct campaign *c = load_ok(text);
        cr_assert_eq(c->cadence, ok[i].kind, "%s", ok[i].text);
        if (ok[i].kind == CADENCE_WEEKS)
            cr_assert_eq(c->cadence_weeks, ok[i].weeks, "%s", ok[i].text);
        campaign_free(c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct eq_buf diag = {0};
        snprintf(text, sizeof text, CADENCE_INI, bad[i]);
        const char *p = load_bad(text, &diag);
        th_assert_at(&diag, p, 4, "'cadence'");
        buf_free(&diag);
    }
    th_rmtmp();
}
