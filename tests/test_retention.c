/* Anonymous close and the retention purge, on a real database: after an
 * anonymous period is anonymised no join leads from an answer to a person,
 * and retention purges exactly the periods older than retention_days. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "config.h"
#include "eqtime.h"
#include "helpers.h"
#include "retention.h"
#include "source.h"
#include "store.h"
#include "store_privacy.h"
#include "token.h"

#define TZ "Europe/Amsterdam"
#define N_PEOPLE 6

static struct store *st;
static char dbpath[128];
static int64_t dept_it, dept_hr, dept_fin;
static int64_t emp[N_PEOPLE];
static int64_t camp_anon, camp_named;
static int64_t per_anon, per_named, per_anon_open;
static char anon_tokens[N_PEOPLE][TOKEN_LEN + 1];
static int64_t anon_inbound[N_PEOPLE]; /* N of <ack.TOKEN.N@…> */

static eq_time
utc(const char *iso)
{
    eq_time t;
    cr_assert_eq(eqtime_parse_iso(iso, "UTC", &t), 0, "%s", iso);
    return t;
}

/* Rows of a query on a second, plain connection: what someone with the
 * database file could ask. */
static long
rows_of(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long n = 0;
    cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s",
                 sql, sqlite3_errmsg(db));
    while (sqlite3_step(s) == SQLITE_ROW)
        n++;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* Rows in any table with any column whose text contains needle: a scan
 * of the whole file's tables, so no column is forgotten. */
static long
rows_containing(const char *needle)
{
    sqlite3 *db;
    sqlite3_stmt *t, *c;
    long n = 0;
    cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT m.name, p.name FROM sqlite_master"
                                    " m, pragma_table_info(m.name) p"
                                    " WHERE m.type = 'table'",
                                    -1, &t, NULL),
                 SQLITE_OK);
    while (sqlite3_step(t) == SQLITE_ROW) {
        char q[256];
        snprintf(q, sizeof q,
                 "SELECT COUNT(*) FROM \"%s\" WHERE instr(lower(CAST(\"%s\""
                 " AS TEXT)), lower(?1)) > 0",
                 (const char *)sqlite3_column_text(t, 0),
                 (const char *)sqlite3_column_text(t, 1));
        cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &c, NULL), SQLITE_OK, "%s",
                     q);
        sqlite3_bind_text(c, 1, needle, -1, SQLITE_STATIC);
        if (sqlite3_step(c) == SQLITE_ROW)
            n += sqlite3_column_int64(c, 0);
        sqlite3_finalize(c);
    }
    sqlite3_finalize(t);
    sqlite3_close(db);
    return n;
}

static int64_t
add_inv(int64_t campaign, int64_t period, int64_t employee, int64_t provider,
        eq_time sent, enum inv_state state, char *token_out)
{
    struct store_invitation inv;
    memset(&inv, 0, sizeof inv);
    cr_assert_eq(token_new(inv.token), EQ_OK);
    inv.campaign_id = campaign;
    inv.period_id = period;
    inv.employee_id = employee;
    inv.provider_department_id = provider;
    inv.language = "nl";
    inv.state = state;
    inv.planned_at = sent - 60;
    inv.sent_at = sent;
    inv.closes_at = sent + 10 * 86400;
    cr_assert_eq(store_invitation_add(st, &inv), EQ_OK, "%s", store_errmsg(st));
    if (token_out)
        memcpy(token_out, inv.token, TOKEN_LEN + 1);
    return inv.id;
}

static int64_t
add_inbound(const char *sender, const char *token, int64_t inv, eq_time at,
            const char *kind, const char *outcome, int k)
{
    char sha[65], msgid[64], subject[96], key[32];
    struct store_inbound in;
    int64_t id;
    snprintf(sha, sizeof sha, "%064d", k);
    snprintf(msgid, sizeof msgid, "<reply-%d@client.example>", k);
    snprintf(subject, sizeof subject, "Re: Hoe tevreden bent u? [#%s]",
             token ? token : "");
    snprintf(key, sizeof key, "imap:7:%d", k);
    memset(&in, 0, sizeof in);
    in.message_id = msgid;
    in.sha256 = sha;
    in.source_key = key;
    in.received_at = at;
    in.kind = (char *)kind;
    in.token = (char *)token;
    in.invitation_id = inv;
    in.outcome = (char *)outcome;
    in.note =
        strcmp(outcome, "review") == 0 ? "sender is not the invitee" : NULL;
    in.sender = (char *)sender;
    in.subject = subject;
    cr_assert_eq(store_inbound_add(st, &in, &id), EQ_OK, "%s",
                 store_errmsg(st));
    return id;
}

/* Two campaigns over March 2026 with the same six people: "anon"
 * (anonymous) and "named". Each person got one invitation of each at the
 * same minute and answered both; the anonymous replies left inbound
 * records, one person wrote from an alias, one reply waits in Review and
 * one auto-reply came back. */
static void
setup(void)
{
    struct eq_buf diag = {0};
    int changed;
    th_tmpdir("retention");
    snprintf(dbpath, sizeof dbpath, "%s/e.db", th_dir());
    cr_assert_eq(store_open(dbpath, &st, &diag), EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
    cr_assert_eq(store_department_upsert(st, "it", "ICT", &dept_it, &changed),
                 EQ_OK);
    cr_assert_eq(store_department_upsert(st, "hr", "HR", &dept_hr, &changed),
                 EQ_OK);
    cr_assert_eq(
        store_department_upsert(st, "fin", "Financiën", &dept_fin, &changed),
        EQ_OK);
    for (int i = 0; i < N_PEOPLE; i++) {
        char email[64], name[64];
        snprintf(email, sizeof email, "p%d@org.example", i);
        snprintf(name, sizeof name, "Persoon %d", i);
        struct store_employee e = {.email = email,
                                   .name = name,
                                   .department_id = i < 3 ? dept_hr : dept_fin,
                                   .language = "nl",
                                   .active = 1};
        cr_assert_eq(store_employee_upsert(st, &e, &emp[i], &changed), EQ_OK);
    }
    const char *alias[] = {"piet.alias@org.example"};
    cr_assert_eq(store_employee_set_aliases(st, emp[1], alias, 1, &changed),
                 EQ_OK);
    cr_assert_eq(store_campaign_ensure(st, "anon", &camp_anon), EQ_OK);
    cr_assert_eq(store_campaign_ensure(st, "named", &camp_named), EQ_OK);
    eq_day mar1 = eqtime_day_from_ymd(2026, 3, 1);
    eq_day mar31 = eqtime_day_from_ymd(2026, 3, 31);
    cr_assert_eq(
        store_period_ensure(st, camp_anon, "2026-03", mar1, mar31, &per_anon),
        EQ_OK);
    cr_assert_eq(
        store_period_ensure(st, camp_named, "2026-03", mar1, mar31, &per_named),
        EQ_OK);
    cr_assert_eq(store_period_ensure(
                     st, camp_anon, "2026-04", eqtime_day_from_ymd(2026, 4, 1),
                     eqtime_day_from_ymd(2026, 4, 30), &per_anon_open),
                 EQ_OK);
    for (int i = 0; i < N_PEOPLE; i++) {
        eq_time sent = utc("2026-03-03T08:00:00Z") + 60 * i;
        eq_time got = utc("2026-03-04T12:00:00Z") + 97 * i;
        int64_t a = add_inv(camp_anon, per_anon, emp[i], dept_it, sent,
                            INV_ANSWERED, anon_tokens[i]);
        int64_t b = add_inv(camp_named, per_named, emp[i], dept_it, sent,
                            INV_ANSWERED, NULL);
        const char *from = i == 1 ? "Piet.Alias@org.example" : NULL;
        char email[64];
        snprintf(email, sizeof email, "p%d@org.example", i);
        int64_t in = add_inbound(from ? from : email, anon_tokens[i], a, got,
                                 "reply", "recorded", i);
        anon_inbound[i] = in;
        cr_assert_eq(store_answer_add(st, a, "nps", 6 + i % 5, 0, got, in),
                     EQ_OK);
        cr_assert_eq(store_comment_add(st, a, "prima geholpen", got, in),
                     EQ_OK);
        cr_assert_eq(store_answer_add(st, b, "nps", 8, 0, got, 0), EQ_OK);
    }
    /* Waiting in Review: the right token, but no link yet. */
    add_inbound("someone.else@org.example", anon_tokens[2], 0,
                utc("2026-03-05T10:00:00Z"), "reply", "review", 100);
    add_inbound("p3@org.example", anon_tokens[3], 0,
                utc("2026-03-03T08:05:00Z"), "auto_reply", "recorded", 101);
    /* An invitation of the next, still open period. */
    add_inv(camp_anon, per_anon_open, emp[0], dept_it,
            utc("2026-04-07T08:00:00Z"), INV_SENT, NULL);
}

static void
teardown(void)
{
    store_close(st);
    th_rmtmp();
}

TestSuite(retention, .init = setup, .fini = teardown);

static struct campaign
campaign_named(const char *name, int anonymous)
{
    struct campaign c;
    memset(&c, 0, sizeof c);
    c.name = (char *)name;
    c.anonymous = anonymous;
    c.timezone = TZ;
    return c;
}

static void
anonymise_march(struct retention_summary *sum)
{
    struct campaign anon = campaign_named("anon", 1);
    struct campaign named = campaign_named("named", 0);
    struct campaign *camps[] = {&anon, &named};
    cr_assert_eq(
        store_period_set_digest(st, per_anon, utc("2026-04-13T06:00:00Z")),
        EQ_OK);
    cr_assert_eq(
        store_period_set_digest(st, per_named, utc("2026-04-13T06:00:00Z")),
        EQ_OK);
    memset(sum, 0, sizeof *sum);
    cr_assert_eq(retention_anonymise(st, camps, 2, utc("2026-04-13T07:00:00Z"),
                                     sum, NULL),
                 EQ_OK, "%s", store_errmsg(st));
}

Test(retention, no_join_links_anonymised_answers_to_people)
{
    struct retention_summary sum;

    /* Before: every path finds the six anonymous answers. */
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id JOIN employee e ON e.id ="
                         " i.employee_id WHERE i.period_id = 1"),
                 6);
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id JOIN invitation o ON o.employee_id"
                         " IS NOT NULL AND o.id <> i.id AND o.sent_at ="
                         " i.sent_at WHERE i.campaign_id = 1"),
                 6);
    anonymise_march(&sum);
    cr_assert_eq(sum.periods_anonymised, 1);
    cr_assert_eq(sum.invitations_anonymised, 6);

    /* Via the invitation's employee link. */
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id JOIN employee e ON e.id ="
                         " i.employee_id JOIN campaign c ON c.id ="
                         " i.campaign_id WHERE c.name = 'anon'"),
                 0);
    /* Via the reply's sender: primary address or alias. */
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN inbound n ON n.id ="
                         " a.inbound_id JOIN employee e ON lower(n.sender) ="
                         " lower(e.email) UNION ALL SELECT 1 FROM answer a"
                         " JOIN inbound n ON n.id = a.inbound_id JOIN alias l"
                         " ON lower(n.sender) = lower(l.email)"),
                 0);
    cr_assert_eq(rows_of("SELECT 1 FROM comment m JOIN inbound n ON n.id ="
                         " m.inbound_id WHERE n.sender IS NOT NULL OR"
                         " n.subject IS NOT NULL OR n.message_id IS NOT NULL"),
                 0);
    /* Via the token an inbound record (Review included) carried. */
    cr_assert_eq(rows_of("SELECT 1 FROM inbound n JOIN invitation i ON"
                         " i.token = n.token JOIN campaign c ON c.id ="
                         " i.campaign_id WHERE c.name = 'anon'"),
                 0);
    /* Via times equal to a named invitation's, or to a named answer's. */
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id JOIN invitation o ON o.employee_id"
                         " IS NOT NULL AND o.id <> i.id AND (o.sent_at ="
                         " i.sent_at OR o.planned_at = i.planned_at) WHERE"
                         " i.campaign_id = 1"),
                 0);
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id JOIN answer b ON b.received_at ="
                         " a.received_at JOIN invitation o ON o.id ="
                         " b.invitation_id WHERE i.campaign_id = 1 AND"
                         " o.employee_id IS NOT NULL"),
                 0);
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN inbound n ON"
                         " n.received_at = a.received_at OR n.received_at ="
                         " (SELECT sent_at FROM invitation WHERE id ="
                         " a.invitation_id) WHERE n.sender IS NOT NULL"),
                 0);
    /* The named campaign keeps its links. */
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id JOIN employee e ON e.id ="
                         " i.employee_id WHERE i.campaign_id = 2"),
                 6);
}

Test(retention, times_become_the_start_of_the_period)
{
    struct retention_summary sum;
    anonymise_march(&sum);
    /* 2026-03-01 00:00 in Amsterdam (CET, UTC+1) is 2026-02-28 23:00 UTC. */
    eq_time start = utc("2026-02-28T23:00:00Z");
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT 1 FROM invitation WHERE period_id = 1 AND planned_at ="
             " %lld AND sent_at = %lld AND closes_at = %lld AND language IS"
             " NULL",
             (long long)start, (long long)start, (long long)start);
    cr_assert_eq(rows_of(sql), 6);
    snprintf(sql, sizeof sql,
             "SELECT 1 FROM answer a JOIN invitation i ON i.id ="
             " a.invitation_id WHERE i.period_id = 1 AND a.received_at = %lld"
             " UNION ALL SELECT 1 FROM comment WHERE received_at = %lld"
             " UNION ALL SELECT 1 FROM inbound WHERE received_at = %lld",
             (long long)start, (long long)start, (long long)start);
    cr_assert_eq(rows_of(sql), 6 + 6 + 8);
    /* The rater's department stays: the matrix needs it. */
    cr_assert_eq(rows_of("SELECT 1 FROM invitation WHERE period_id = 1 AND"
                         " rater_department_id IS NOT NULL"),
                 6);
}

Test(retention, old_tokens_lead_nowhere_and_review_items_are_closed)
{
    struct retention_summary sum;
    struct store_invitation inv;
    const char *kind;
    anonymise_march(&sum);
    for (int i = 0; i < N_PEOPLE; i++) {
        memset(&inv, 0, sizeof inv);
        cr_assert_eq(store_invitation_by_token(st, anon_tokens[i], &inv),
                     EQ_ERR_NOTFOUND);
        cr_assert_eq(store_token_kind(st, anon_tokens[i], &kind),
                     EQ_ERR_NOTFOUND);
    }
    cr_assert_eq(sum.review_left, 1);
    cr_assert_eq(sum.inbound_anonymised, 8);
    cr_assert_eq(rows_of("SELECT 1 FROM inbound WHERE outcome = 'review'"), 0);
    cr_assert_eq(rows_of("SELECT 1 FROM inbound WHERE outcome = 'ignored'"
                         " AND note = 'anonymised'"),
                 1);
    /* Every invitation still has a (new) token of its own. */
    cr_assert_eq(rows_of("SELECT 1 FROM invitation i JOIN token t ON"
                         " t.token = i.token WHERE i.period_id = 1"),
                 6);
}

/* The confirmation of person 2's answer went out as <ack.TOKEN.N@domain>,
 * N = the id of the inbound record of their reply. A mail server log shows
 * who received it; after anonymisation neither TOKEN nor N may lead to an
 * answer or a comment. */
Test(retention, ack_message_id_no_longer_leads_to_the_answer)
{
    struct retention_summary sum;
    char q[256];
    snprintf(q, sizeof q,
             "SELECT 1 FROM answer WHERE inbound_id = %lld UNION ALL"
             " SELECT 1 FROM comment WHERE inbound_id = %lld",
             (long long)anon_inbound[2], (long long)anon_inbound[2]);
    cr_assert_eq(rows_of(q), 2); /* the answer and the comment */
    cr_assert_gt(rows_containing(anon_tokens[2]), 0);
    anonymise_march(&sum);
    cr_assert_eq(rows_of(q), 0);
    cr_assert_eq(rows_of("SELECT 1 FROM answer a JOIN invitation i ON i.id ="
                         " a.invitation_id WHERE i.period_id = 1 AND"
                         " a.inbound_id IS NOT NULL UNION ALL SELECT 1 FROM"
                         " comment m JOIN invitation i ON i.id ="
                         " m.invitation_id WHERE i.period_id = 1 AND"
                         " m.inbound_id IS NOT NULL"),
                 0);
    /* The old token is nowhere in the file: not in token, invitation,
     * inbound (token, subject), nor any other column. */
    for (int i = 0; i < N_PEOPLE; i++)
        cr_assert_eq(rows_containing(anon_tokens[i]), 0, "token of p%d", i);
    /* The named campaign was not touched (its answers never had a reply
     * record in this set-up, but its invitations keep their tokens). */
    cr_assert_eq(rows_of("SELECT 1 FROM invitation i JOIN token t ON"
                         " t.token = i.token WHERE i.period_id = 2 AND"
                         " i.employee_id IS NOT NULL"),
                 6);
}

/* One text per query: the concatenated rows. */
static char *
text_of(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char *out = NULL;
    cr_assert_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s: %s",
                 sql, sqlite3_errmsg(db));
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        out = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    cr_assert_not_null(out, "%s", sql);
    return out;
}

/* Person i (sent i-th, replied i-th) gave score 6 + i % 5 from hr (i < 3)
 * or fin: the order of row ids told who it was. */
#define BY_INV                                                                 \
    "SELECT group_concat(v, ',') FROM (SELECT a.score || d.code AS v FROM"     \
    " answer a JOIN invitation i ON i.id = a.invitation_id JOIN department d"  \
    " ON d.id = i.rater_department_id WHERE i.period_id = 1 ORDER BY i.id)"
#define BY_ANSWER                                                              \
    "SELECT group_concat(v, ',') FROM (SELECT a.score || d.code AS v FROM"     \
    " answer a JOIN invitation i ON i.id = a.invitation_id JOIN department d"  \
    " ON d.id = i.rater_department_id WHERE i.period_id = 1 ORDER BY a.id)"
#define BY_COMMENT                                                             \
    "SELECT group_concat(v, ',') FROM (SELECT a.score || d.code AS v FROM"     \
    " comment c JOIN answer a ON a.invitation_id = c.invitation_id JOIN"       \
    " invitation i ON i.id = c.invitation_id JOIN department d ON d.id ="      \
    " i.rater_department_id WHERE i.period_id = 1 ORDER BY c.id)"
#define IDS                                                                    \
    "SELECT group_concat(id, ',') FROM (SELECT id FROM invitation WHERE"       \
    " period_id = 1 ORDER BY id)"

Test(retention, row_ids_no_longer_follow_the_sending_order)
{
    struct retention_summary sum;
    static const char order[] = "6hr,7hr,8hr,9fin,10fin,6fin";
    char *ids = text_of(IDS), *v;
    v = text_of(BY_INV);
    cr_assert_str_eq(v, order);
    free(v);
    v = text_of(BY_ANSWER);
    cr_assert_str_eq(v, order);
    free(v);
    v = text_of(BY_COMMENT);
    cr_assert_str_eq(v, order);
    free(v);
    anonymise_march(&sum);
    /* The same ids, each answer still with its own department and its
     * comment, and every reference intact. */
    v = text_of(IDS);
    cr_assert_str_eq(v, ids);
    free(v);
    cr_assert_eq(rows_of("PRAGMA foreign_key_check"), 0);
    cr_assert_eq(rows_of("SELECT 1 FROM comment c JOIN answer a ON"
                         " a.invitation_id = c.invitation_id JOIN invitation"
                         " i ON i.id = a.invitation_id WHERE i.period_id = 1"),
                 6);
    /* The three orders survive a shuffle together with chance
     * (1/720)^3. */
    char *a = text_of(BY_INV), *b = text_of(BY_ANSWER),
         *c = text_of(BY_COMMENT);
    cr_assert(strcmp(a, order) || strcmp(b, order) || strcmp(c, order),
              "%s | %s | %s", a, b, c);
    free(a);
    free(b);
    free(c);
    free(ids);
}

Test(retention, scores_per_department_are_unchanged)
{
    struct store_score_row *before, *after;
    size_t nb, na;
    struct retention_summary sum;
    cr_assert_eq(store_score_counts(st, per_anon, "nps", &before, &nb), EQ_OK);
    anonymise_march(&sum);
    cr_assert_eq(store_score_counts(st, per_anon, "nps", &after, &na), EQ_OK);
    /* Scores 6,7,8 from hr and 9,10,6 from fin, one each. */
    cr_assert_eq(nb, 6);
    cr_assert_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert_eq(after[i].provider_id, before[i].provider_id);
        cr_assert_eq(after[i].rater_department_id,
                     before[i].rater_department_id);
        cr_assert_eq(after[i].score, before[i].score);
        cr_assert_eq(after[i].n, 1);
    }
    free(before);
    free(after);
}

Test(retention, only_finished_anonymous_periods_once)
{
    struct retention_summary sum;
    anonymise_march(&sum);
    /* The April period has no digest yet; the named campaign is not
     * anonymous: both keep their people. */
    cr_assert_eq(rows_of("SELECT 1 FROM invitation WHERE period_id = 3 AND"
                         " employee_id IS NOT NULL"),
                 1);
    cr_assert_eq(rows_of("SELECT 1 FROM period WHERE anonymised_at IS NOT"
                         " NULL"),
                 1);
    struct campaign anon = campaign_named("anon", 1);
    struct campaign *camps[] = {&anon};
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(retention_anonymise(st, camps, 1, utc("2026-04-14T07:00:00Z"),
                                     &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_anonymised, 0);
}

/* --- retention purge ---------------------------------------------------- */

struct fake {
    eq_time cutoff;
    int calls;
    size_t removes;
};

static enum eq_err
fake_purge(struct source *s, eq_time cutoff, size_t *removed)
{
    struct fake *f = s->priv;
    f->cutoff = cutoff;
    f->calls++;
    *removed = f->removes;
    f->removes = 0; /* gone now */
    return EQ_OK;
}

static const struct source_ops fake_ops = {.name = "fake",
                                           .purge_before = fake_purge};
static const struct source_ops plain_ops = {.name = "plain"};

static int64_t
period_with_comments(const char *label, int y, int m, int d0, int d1, int k)
{
    int64_t pid, inv;
    cr_assert_eq(store_period_ensure(st, camp_named, label,
                                     eqtime_day_from_ymd(y, m, d0),
                                     eqtime_day_from_ymd(y, m, d1), &pid),
                 EQ_OK);
    /* The digest of each went out the week after its end. */
    cr_assert_eq(
        store_period_set_digest(
            st, pid,
            eqtime_from_local(eqtime_day_from_ymd(y, m, d1) + 7, 480, TZ)),
        EQ_OK);
    inv = add_inv(camp_named, pid, emp[0], dept_it,
                  eqtime_from_local(eqtime_day_from_ymd(y, m, d0), 600, TZ),
                  INV_ANSWERED, NULL);
    for (int i = 0; i < k; i++)
        cr_assert_eq(store_comment_add(st, inv, "trage reactie", 1, 0), EQ_OK);
    return pid;
}

Test(retention, purges_exactly_the_periods_older_than_retention_days)
{
    struct eq_config cfg;
    struct retention_summary sum;
    struct fake f = {.removes = 4};
    struct source src = {.ops = &fake_ops, .priv = &f};
    memset(&cfg, 0, sizeof cfg);
    cfg.general.retention_days = 730;
    cfg.general.timezone = TZ;
    /* Today 2026-06-15; 730 days before is 2024-06-15. */
    eq_time now = utc("2026-06-15T10:00:00Z");
    period_with_comments("old-a", 2024, 5, 1, 31, 2); /* purged */
    period_with_comments("old-b", 2024, 6, 1, 14, 3); /* purged */
    period_with_comments("edge", 2024, 6, 1, 15, 5);  /* exactly 730: kept */
    period_with_comments("young", 2024, 7, 1, 31, 7); /* kept */
    /* An old mail record and a young one. */
    add_inbound("p0@org.example", NULL, 0, utc("2024-06-01T10:00:00Z"), "reply",
                "review", 200);
    add_inbound("p0@org.example", NULL, 0, utc("2024-06-16T10:00:00Z"), "reply",
                "review", 201);
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(retention_purge(st, &cfg, &src, now, &sum, NULL), EQ_OK);
    cr_assert_eq(sum.periods_purged, 2);
    cr_assert_eq(sum.comments_purged, 5);
    cr_assert_eq(sum.raw_purged, 4);
    cr_assert_eq(sum.inbound_blanked, 1);
    cr_assert_eq(f.cutoff, now - 730 * 86400LL);
    cr_assert_eq(rows_of("SELECT 1 FROM period WHERE purged_at IS NOT NULL"
                         " AND label IN ('old-a', 'old-b')"),
                 2);
    cr_assert_eq(rows_of("SELECT 1 FROM period WHERE purged_at IS NOT NULL"),
                 2);
    /* 5 + 7 young comments and the six of March 2026 remain. */
    cr_assert_eq(rows_of("SELECT 1 FROM comment"), 5 + 7 + 6);
    cr_assert_eq(rows_of("SELECT 1 FROM inbound WHERE sender IS NULL AND"
                         " subject IS NULL AND received_at < 1718000000"),
                 1);
    cr_assert_eq(rows_of("SELECT 1 FROM inbound WHERE sender ="
                         " 'p0@org.example'"),
                 2); /* the young record and March's reply */

    /* Run again: nothing left to do in the database, and the mailbox is
     * searched once a day, not every tick. */
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(retention_purge(st, &cfg, &src, now + 3600, &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_purged, 0);
    cr_assert_eq(sum.comments_purged, 0);
    cr_assert_eq(sum.raw_purged, 0);
    cr_assert_eq(f.calls, 1);
    cr_assert_eq(retention_purge(st, &cfg, &src, now + 86400, &sum, NULL),
                 EQ_OK);
    cr_assert_eq(f.calls, 2);
    cr_assert_eq(f.cutoff, now + 86400 - 730 * 86400LL);
}

Test(retention, mailbox_without_purge_still_purges_the_database)
{
    struct eq_config cfg;
    struct retention_summary sum;
    struct source src = {.ops = &plain_ops, .priv = NULL};
    memset(&cfg, 0, sizeof cfg);
    cfg.general.retention_days = 30;
    cfg.general.timezone = TZ;
    cr_assert_eq(
        store_period_set_digest(st, per_anon, utc("2026-04-13T06:00:00Z")),
        EQ_OK);
    cr_assert_eq(
        store_period_set_digest(st, per_named, utc("2026-04-13T06:00:00Z")),
        EQ_OK);
    memset(&sum, 0, sizeof sum);
    /* March 2026 ends 2026-03-31; 30 days later is 2026-04-30. */
    cr_assert_eq(retention_purge(st, &cfg, &src, utc("2026-04-30T12:00:00Z"),
                                 &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_purged, 0);
    cr_assert_eq(retention_purge(st, &cfg, &src, utc("2026-05-01T12:00:00Z"),
                                 &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_purged, 2); /* anon and named March */
    cr_assert_eq(sum.comments_purged, 6);
    cr_assert_eq(sum.raw_purged, 0);
}

/* retention_days (5) shorter than close_after (10): March's last day is
 * old on 2026-04-07, but its invitations still count until the digest
 * (2026-04-13 06:00 UTC); only then may its comments go. */
Test(retention, running_period_is_not_purged_before_its_digest)
{
    struct eq_config cfg;
    struct retention_summary sum;
    memset(&cfg, 0, sizeof cfg);
    cfg.general.retention_days = 5;
    cfg.general.timezone = TZ;
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(retention_purge(st, &cfg, NULL, utc("2026-04-07T12:00:00Z"),
                                 &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_purged, 0);
    cr_assert_eq(sum.comments_purged, 0);
    cr_assert_eq(rows_of("SELECT 1 FROM comment"), 6);
    /* Digest of the anonymous March period out; the named one's not yet. */
    cr_assert_eq(
        store_period_set_digest(st, per_anon, utc("2026-04-13T06:00:00Z")),
        EQ_OK);
    cr_assert_eq(retention_purge(st, &cfg, NULL, utc("2026-04-13T06:30:00Z"),
                                 &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_purged, 1);
    cr_assert_eq(sum.comments_purged, 6);
    cr_assert_eq(rows_of("SELECT 1 FROM period WHERE purged_at IS NOT NULL"
                         " AND id = 1"),
                 1);
    cr_assert_eq(rows_of("SELECT 1 FROM period WHERE purged_at IS NULL AND"
                         " id IN (2, 3)"),
                 2);
}

Test(retention, run_does_both)
{
    struct eq_config cfg;
    struct retention_summary sum;
    struct campaign anon = campaign_named("anon", 1);
    struct campaign *camps[] = {&anon};
    memset(&cfg, 0, sizeof cfg);
    cfg.general.retention_days = 730;
    cfg.general.timezone = TZ;
    cr_assert_eq(
        store_period_set_digest(st, per_anon, utc("2026-04-13T06:00:00Z")),
        EQ_OK);
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(retention_run(st, &cfg, camps, 1, NULL,
                               utc("2026-04-13T07:00:00Z"), &sum, NULL),
                 EQ_OK);
    cr_assert_eq(sum.periods_anonymised, 1);
    cr_assert_eq(sum.periods_purged, 0);
}
