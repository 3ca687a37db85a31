/* A person's data under the AVG/GDPR: the export lists what is stored about
 * them; erasure removes it, and every report still shows the same groups
 * and suppresses the same ones for everybody else. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "campaign.h"
#include "chart.h"
#include "config.h"
#include "digest.h"
#include "eqtime.h"
#include "helpers.h"
#include "store.h"
#include "store_privacy.h"
#include "token.h"

static struct eq_config *cfg;
static struct store *st;
static struct campaign **camps;
static size_t n_camps;
static int64_t per_id, camp_id;
static int64_t dept[4];              /* it, hr, fin, ops */
static int64_t fien_inv, fien_reply; /* her March invitation, her reply */

#define TARGET "fien@org.example"
#define TARGET_ALIAS "f.de.vries@org.example"

static eq_time
utc(const char *iso)
{
    eq_time t;
    cr_assert_eq(eqtime_parse_iso(iso, "UTC", &t), 0, "%s", iso);
    return t;
}

static void
sql(const char *text)
{
    sqlite3 *db;
    char *err = NULL;
    cr_assert_eq(sqlite3_open(cfg->general.database, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    cr_assert_eq(sqlite3_exec(db, text, NULL, NULL, &err), SQLITE_OK, "%s: %s",
                 text, err ? err : "");
    sqlite3_close(db);
}

static long
count(const char *text)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long n = -1;
    cr_assert_eq(sqlite3_open(cfg->general.database, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, text, -1, &s, NULL), SQLITE_OK, "%s",
                 text);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static int64_t
person(const char *email, int d, int64_t *id)
{
    int changed;
    struct store_employee e = {.email = (char *)email,
                               .name = (char *)email,
                               .department_id = dept[d],
                               .language = "nl",
                               .active = 1};
    cr_assert_eq(store_employee_upsert(st, &e, id, &changed), EQ_OK);
    return *id;
}

/* One answered invitation about ICT, with an inbound record from sender. */
static int64_t
answered(int64_t emp, int score, const char *sender, int k, const char *comment)
{
    struct store_invitation inv;
    struct store_inbound in;
    char sha[65], msgid[64];
    int64_t inb;
    eq_time sent = utc("2026-03-03T08:00:00Z") + 60 * k;
    memset(&inv, 0, sizeof inv);
    cr_assert_eq(token_new(inv.token), EQ_OK);
    inv.campaign_id = camp_id;
    inv.period_id = per_id;
    inv.employee_id = emp;
    inv.provider_department_id = dept[0];
    inv.language = "nl";
    inv.state = INV_ANSWERED;
    inv.planned_at = sent;
    inv.sent_at = sent;
    inv.answered_at = sent + 3600;
    inv.closes_at = sent + 10 * 86400;
    cr_assert_eq(store_invitation_add(st, &inv), EQ_OK, "%s", store_errmsg(st));
    snprintf(sha, sizeof sha, "%064d", k);
    snprintf(msgid, sizeof msgid, "<r%d@client.example>", k);
    memset(&in, 0, sizeof in);
    in.message_id = msgid;
    in.sha256 = sha;
    in.received_at = sent + 3600;
    in.kind = "reply";
    in.token = inv.token;
    in.invitation_id = inv.id;
    in.outcome = "recorded";
    in.sender = (char *)sender;
    in.subject = "Re: Hoe tevreden bent u over ICT?";
    cr_assert_eq(store_inbound_add(st, &in, &inb), EQ_OK);
    cr_assert_eq(
        store_answer_add(st, inv.id, "nps", score, 0, sent + 3600, inb), EQ_OK);
    if (comment)
        cr_assert_eq(store_comment_add(st, inv.id, comment, sent + 3600, inb),
                     EQ_OK);
    return inv.id;
}

/* ICT is rated in March 2026 by HR (4 answers), Finance (3, exactly the
 * threshold, among them Fien's) and Operations (2: suppressed). Fien also
 * manages Finance, has an alias, sent a mail that waits in Review, got the
 * digest and an action notice, and authored an action. */
static void
setup(void)
{
    struct eq_buf diag = {0};
    char path[256];
    int changed;
    int64_t id, fien;
    static const char *codes[] = {"it", "hr", "fin", "ops"};

    th_tmpdir("gdpr");
    snprintf(path, sizeof path, "%s/campaigns", th_dir());
    mkdir(path, 0700);
    th_put("config.ini",
           "[general]\ndatabase = data/e.db\nfrom = HR <hr@org.example>\n"
           "reply_address = enquete@org.example\n"
           "[smtp]\nurl = maildir:out\n[imap]\nurl = maildir:in\n"
           "[digest]\nhr = hr@org.example\n");
    th_put("campaigns/it.ini",
           "[campaign]\nname = it\nmetrics = nps\nproviders = it\n"
           "customers = *\ncadence = monthly\nstart = 2026-03-01\n"
           "end = 2026-03-31\nanonymity_min = 3\n");
    snprintf(path, sizeof path, "%s/config.ini", th_dir());
    cr_assert_eq(config_load(path, &cfg, &diag), EQ_OK, "%s", buf_str(&diag));
    free(cfg->general.templates);
    cfg->general.templates = strdup(FIXTURES "/../../templates");
    cr_assert_eq(campaign_load_dir(cfg->general.campaigns,
                                   cfg->general.timezone, &camps, &n_camps,
                                   &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(store_open(cfg->general.database, &st, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    buf_free(&diag);
    for (int d = 0; d < 4; d++)
        cr_assert_eq(
            store_department_upsert(st, codes[d], codes[d], &dept[d], &changed),
            EQ_OK);
    cr_assert_eq(store_campaign_ensure(st, "it", &camp_id), EQ_OK);
    cr_assert_eq(store_period_ensure(st, camp_id, "2026-03",
                                     eqtime_day_from_ymd(2026, 3, 1),
                                     eqtime_day_from_ymd(2026, 3, 31), &per_id),
                 EQ_OK);
    int k = 0;
    for (int i = 0; i < 4; i++) {
        char email[64];
        snprintf(email, sizeof email, "hr%d@org.example", i);
        answered(person(email, 1, &id), 5 + i, email, k++, "snel geholpen");
    }
    for (int i = 0; i < 2; i++) {
        char email[64];
        snprintf(email, sizeof email, "fin%d@org.example", i);
        answered(person(email, 2, &id), 8 + i, email, k++, NULL);
    }
    person(TARGET, 2, &fien);
    const char *alias[] = {TARGET_ALIAS};
    cr_assert_eq(store_employee_set_aliases(st, fien, alias, 1, &changed),
                 EQ_OK);
    cr_assert_eq(store_manager_set(st, dept[2], fien, 1, &changed), EQ_OK);
    fien_inv =
        answered(fien, 3, TARGET_ALIAS, k++, "de helpdesk van Piet is traag");
    fien_reply = count("SELECT MAX(id) FROM inbound");
    for (int i = 0; i < 2; i++) {
        char email[64];
        snprintf(email, sizeof email, "ops%d@org.example", i);
        answered(person(email, 3, &id), 10, email, k++, NULL);
    }
    /* A planned invitation of April: never sent, so cancelled. */
    struct store_invitation later;
    memset(&later, 0, sizeof later);
    cr_assert_eq(token_new(later.token), EQ_OK);
    int64_t april;
    cr_assert_eq(store_period_ensure(st, camp_id, "2026-04",
                                     eqtime_day_from_ymd(2026, 4, 1),
                                     eqtime_day_from_ymd(2026, 4, 30), &april),
                 EQ_OK);
    later.campaign_id = camp_id;
    later.period_id = april;
    later.employee_id = fien;
    later.provider_department_id = dept[0];
    later.state = INV_PLANNED;
    later.planned_at = utc("2026-04-07T08:00:00Z");
    cr_assert_eq(store_invitation_add(st, &later), EQ_OK);
    struct store_inbound rv = {.sha256 = "ab",
                               .received_at = 5,
                               .kind = "reply",
                               .outcome = "review",
                               .note = "no token",
                               .sender = TARGET,
                               .subject = "Vraag over de enquête"};
    cr_assert_eq(store_inbound_add(st, &rv, &id), EQ_OK);
    cr_assert_eq(store_digest_log(st, per_id, "fin:" TARGET, dept[2], NULL,
                                  utc("2026-04-06T06:00:00Z")),
                 EQ_OK);
    cr_assert_eq(store_digest_log(st, per_id, "hr@org.example", 0, NULL,
                                  utc("2026-04-06T06:00:00Z")),
                 EQ_OK);
    char text[512];
    snprintf(text, sizeof text,
             "INSERT INTO action (department_id, campaign_id, period_id,"
             " number, text, created_at, author_id) VALUES (%lld, %lld, %lld,"
             " 1, 'Wachttijd helpdesk halveren', 1775000000, %lld);"
             "INSERT INTO action_notice (period_id, employee_id, sent_at)"
             " VALUES (%lld, %lld, 1775100000);",
             (long long)dept[2], (long long)camp_id, (long long)per_id,
             (long long)fien, (long long)per_id, (long long)fien);
    sql(text);
}

static void
teardown(void)
{
    store_close(st);
    campaign_free_all(camps, n_camps);
    config_free(cfg);
    chart_shutdown();
    th_rmtmp();
}

TestSuite(gdpr, .init = setup, .fini = teardown);

static cJSON *
export_of(const char *email)
{
    char *json = NULL;
    cr_assert_eq(store_privacy_export(st, email, &json), EQ_OK, "%s",
                 store_errmsg(st));
    cJSON *doc = cJSON_Parse(json);
    cr_assert_not_null(doc, "%s", json);
    free(json);
    return doc;
}

static const char *
str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "%s is not a string", key);
    return v->valuestring;
}

Test(gdpr, export_lists_the_person_and_what_they_sent)
{
    cJSON *doc = export_of(TARGET_ALIAS); /* found by an alias too */
    const cJSON *p = cJSON_GetObjectItem(doc, "person");
    cr_assert_str_eq(str_at(p, "email"), TARGET);
    cr_assert_str_eq(str_at(p, "department_code"), "fin");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "active")));
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(p, "opted_out")));
    const cJSON *al = cJSON_GetObjectItem(p, "aliases");
    cr_assert_eq(cJSON_GetArraySize(al), 1);
    cr_assert_str_eq(cJSON_GetArrayItem(al, 0)->valuestring, TARGET_ALIAS);
    const cJSON *mg = cJSON_GetObjectItem(p, "manager_of");
    cr_assert_eq(cJSON_GetArraySize(mg), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(mg, 0), "code"), "fin");

    const cJSON *invs = cJSON_GetObjectItem(doc, "invitations");
    cr_assert_eq(cJSON_GetArraySize(invs), 2);
    const cJSON *inv = cJSON_GetArrayItem(invs, 0);
    cr_assert_str_eq(str_at(inv, "campaign"), "it");
    cr_assert_str_eq(str_at(inv, "period"), "2026-03");
    cr_assert_str_eq(str_at(inv, "provider_code"), "it");
    cr_assert_str_eq(str_at(inv, "state"), "answered");
    /* Sent 2026-03-03 08:06 UTC (the seventh invitation of the set-up). */
    cr_assert_str_eq(str_at(inv, "sent_at"), "2026-03-03T08:06:00Z");
    const cJSON *ans = cJSON_GetObjectItem(inv, "answers");
    cr_assert_eq(cJSON_GetArraySize(ans), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(ans, 0), "metric"), "nps");
    cr_assert_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(ans, 0), "score")->valueint, 3);
    const cJSON *com = cJSON_GetObjectItem(inv, "comments");
    cr_assert_eq(cJSON_GetArraySize(com), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(com, 0), "text"),
                     "de helpdesk van Piet is traag");
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(invs, 1), "state"), "planned");

    /* The reply from the alias and the mail waiting in Review. */
    const cJSON *mail = cJSON_GetObjectItem(doc, "inbound_mail");
    cr_assert_eq(cJSON_GetArraySize(mail), 2);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(mail, 0), "outcome"), "review");
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(mail, 1), "sender"),
                     TARGET_ALIAS);
    const cJSON *acts = cJSON_GetObjectItem(doc, "actions_authored");
    cr_assert_eq(cJSON_GetArraySize(acts), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(acts, 0), "text"),
                     "Wachttijd helpdesk halveren");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "action_notices")),
                 1);
    cr_assert_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(doc, "digests_received")), 1);
    const cJSON *anon = cJSON_GetObjectItem(doc, "anonymised");
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(anon, "periods")), 0);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(anon, "note")));
    cJSON_Delete(doc);
}

Test(gdpr, export_of_an_unknown_address_is_not_found)
{
    char *json = NULL;
    cr_assert_eq(store_privacy_export(st, "nobody@org.example", &json),
                 EQ_ERR_NOTFOUND);
    cr_assert_null(json);
}

Test(gdpr, export_says_which_periods_are_anonymised)
{
    sql("UPDATE period SET anonymised_at = 1775000000"
        " WHERE label = '2026-03'");
    cJSON *doc = export_of("hr0@org.example");
    const cJSON *per =
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "anonymised"), "periods");
    cr_assert_eq(cJSON_GetArraySize(per), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(per, 0), "period"), "2026-03");
    cJSON_Delete(doc);
}

Test(gdpr, erase_removes_the_person_and_their_personal_data)
{
    struct store_erase_counts c;
    char *json = NULL;
    cr_assert_eq(store_privacy_erase(st, TARGET, "Europe/Amsterdam", &c), EQ_OK,
                 "%s", store_errmsg(st));
    cr_assert_eq(c.person, 1);
    cr_assert_eq(c.aliases, 1);
    cr_assert_eq(c.manager_of, 1);
    cr_assert_eq(c.invitations, 2);
    cr_assert_eq(c.cancelled, 1);
    cr_assert_eq(c.comments, 1);
    cr_assert_eq(c.review, 1);
    cr_assert_eq(c.inbound, 1);
    cr_assert_eq(c.digests, 1);
    cr_assert_eq(c.notices, 1);
    cr_assert_eq(c.actions, 1);
    cr_assert_eq(store_privacy_export(st, TARGET, &json), EQ_ERR_NOTFOUND);
    cr_assert_eq(store_privacy_export(st, TARGET_ALIAS, &json),
                 EQ_ERR_NOTFOUND);
    /* No trace of either address anywhere. */
    cr_assert_eq(count("SELECT (SELECT COUNT(*) FROM employee WHERE email"
                       " LIKE 'fien%') + (SELECT COUNT(*) FROM alias) +"
                       " (SELECT COUNT(*) FROM inbound WHERE sender LIKE"
                       " '%fien%' OR sender LIKE '%vries%' OR note LIKE"
                       " '%fien%') + (SELECT COUNT(*) FROM digest_sent WHERE"
                       " recipient LIKE '%fien%') + (SELECT COUNT(*) FROM"
                       " action_notice) + (SELECT COUNT(*) FROM action WHERE"
                       " author_id IS NOT NULL)"),
                 0);
    /* Her answer is kept, unlinked; the comment is gone, others' stay. */
    cr_assert_eq(count("SELECT COUNT(*) FROM answer"), 9);
    cr_assert_eq(count("SELECT COUNT(*) FROM comment"), 4);
    cr_assert_eq(count("SELECT COUNT(*) FROM invitation WHERE employee_id IS"
                       " NULL"),
                 2);
    /* The HR digest log and the department's action stay. */
    cr_assert_eq(count("SELECT COUNT(*) FROM digest_sent"), 1);
    cr_assert_eq(count("SELECT COUNT(*) FROM action"), 1);
    /* Everyone else is still there and can be exported. */
    cJSON *doc = export_of("fin0@org.example");
    cJSON_Delete(doc);
}

/* Comments and the Review queue ("to_handle") held the erased person's own
 * data; everything else must match. */
static void
drop_comments(cJSON *o)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, "comments");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "to_handle");
    for (cJSON *c = o ? o->child : NULL; c; c = c->next)
        drop_comments(c);
}

static char *
report_json(void)
{
    struct eq_buf diag = {0};
    char *out = NULL;
    cr_assert_eq(digest_report(st, cfg, camps[0], "2026-03", NULL, "json", 0,
                               &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    buf_free(&diag);
    cJSON *doc = cJSON_Parse(out);
    cr_assert_not_null(doc, "%s", out);
    free(out);
    drop_comments(doc);
    char *flat = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return flat;
}

Test(gdpr, erase_keeps_every_shown_or_suppressed_decision)
{
    struct store_erase_counts c;
    char *before = report_json();
    /* The set-up is meaningful: Finance sits exactly on the threshold, so
     * dropping her answer would hide it. */
    cr_assert_eq(count("SELECT COUNT(*) FROM answer a JOIN invitation i ON"
                       " i.id = a.invitation_id WHERE i.rater_department_id"
                       " = 3"),
                 3);
    cr_assert_eq(store_privacy_erase(st, TARGET, "Europe/Amsterdam", &c),
                 EQ_OK);
    char *after = report_json();
    /* Both decisions occur: Operations (2) hidden, the others shown. */
    cr_assert_not_null(strstr(before, "\"shown\":false"), "%s", before);
    cr_assert_not_null(strstr(before, "\"shown\":true"), "%s", before);
    cr_assert_str_eq(after, before, "before:\n%s\nafter:\n%s", before, after);
    free(before);
    free(after);
}

/* 2026-03-01 00:00 in Amsterdam (CET) */
#define MARCH_START 1772319600LL

Test(gdpr, erase_leaves_no_exact_time_or_reply_link)
{
    struct store_erase_counts c;
    char q[512];
    /* A deferred retry and the closing time fix the send minute. */
    sql("UPDATE invitation SET next_attempt_at = 1772611200"
        " WHERE state = 'answered' AND employee_id = (SELECT id FROM"
        " employee WHERE email = '" TARGET "')");
    sql("UPDATE inbound SET source_key = 'imap:7:42' WHERE id IN (SELECT"
        " MAX(id) FROM inbound WHERE sender = '" TARGET_ALIAS "')");
    cr_assert_eq(utc("2026-02-28T23:00:00Z"), MARCH_START);
    cr_assert_eq(store_privacy_erase(st, TARGET, "Europe/Amsterdam", &c), EQ_OK,
                 "%s", store_errmsg(st));
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM invitation WHERE id = %lld AND planned_at"
             " = %lld AND sent_at = %lld AND answered_at = %lld AND closes_at"
             " = %lld AND next_attempt_at = %lld",
             (long long)fien_inv, MARCH_START, MARCH_START, MARCH_START,
             MARCH_START, MARCH_START);
    cr_assert_eq(count(q), 1);
    /* Her reply record: no link, token, mailbox position, exact time. */
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM inbound WHERE id = %lld AND invitation_id"
             " IS NULL AND token IS NULL AND source_key IS NULL AND"
             " message_id IS NULL AND sender IS NULL AND subject IS NULL AND"
             " received_at = %lld",
             (long long)fien_reply, MARCH_START);
    cr_assert_eq(count(q), 1);
    /* Her kept answer no longer points at that record (the N of
     * <ack.TOKEN.N@…>). */
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM answer WHERE invitation_id = %lld AND"
             " inbound_id IS NULL AND received_at = %lld AND score = 3",
             (long long)fien_inv, MARCH_START);
    cr_assert_eq(count(q), 1);
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM answer WHERE inbound_id = %lld",
             (long long)fien_reply);
    cr_assert_eq(count(q), 0);
}

/* Kees replied with Fien's token: Review, "sender is not the invitee",
 * linked to her invitation. His address and subject are his data, not
 * hers. */
static void
colleague_replies_with_her_token(void)
{
    int64_t kees;
    person("kees@org.example", 1, &kees);
    char text[512];
    snprintf(text, sizeof text,
             "INSERT INTO inbound (sha256, received_at, kind, token,"
             " invitation_id, outcome, note, sender, subject) SELECT 'kees',"
             " 1772704800, 'reply', token, id, 'review', 'sender is not the"
             " invitee', 'Kees@org.example', 'Re: ICT [#' || token || ']'"
             " FROM invitation WHERE id = %lld",
             (long long)fien_inv);
    sql(text);
}

Test(gdpr, export_shows_others_mail_about_her_invitation_without_sender)
{
    colleague_replies_with_her_token();
    cJSON *doc = export_of(TARGET);
    char *flat = cJSON_PrintUnformatted(doc);
    cr_assert_null(strstr(flat, "kees"), "%s", flat);
    cr_assert_null(strstr(flat, "Kees"), "%s", flat);
    /* Her own two records as before. */
    const cJSON *mail = cJSON_GetObjectItem(doc, "inbound_mail");
    cr_assert_eq(cJSON_GetArraySize(mail), 2);
    /* Kees's reply: only time, kind and outcome. */
    const cJSON *about =
        cJSON_GetObjectItem(doc, "mail_about_their_invitations");
    cr_assert_eq(cJSON_GetArraySize(about), 1);
    const cJSON *k = cJSON_GetArrayItem(about, 0);
    cr_assert_eq(cJSON_GetArraySize(k), 3);
    cr_assert_str_eq(str_at(k, "received_at"), "2026-03-05T10:00:00Z");
    cr_assert_str_eq(str_at(k, "kind"), "reply");
    cr_assert_str_eq(str_at(k, "outcome"), "review");
    free(flat);
    cJSON_Delete(doc);
    /* Kees's own export has it in full. */
    doc = export_of("kees@org.example");
    mail = cJSON_GetObjectItem(doc, "inbound_mail");
    cr_assert_eq(cJSON_GetArraySize(mail), 1);
    cr_assert_str_eq(str_at(cJSON_GetArrayItem(mail, 0), "sender"),
                     "Kees@org.example");
    cJSON_Delete(doc);
}

Test(gdpr, erase_keeps_others_review_item_but_unlinks_it)
{
    struct store_erase_counts c;
    colleague_replies_with_her_token();
    cr_assert_eq(store_privacy_erase(st, TARGET, "Europe/Amsterdam", &c), EQ_OK,
                 "%s", store_errmsg(st));
    cr_assert_eq(c.review, 1);        /* her own mail without a token */
    cr_assert_eq(c.inbound, 1);       /* her reply from the alias */
    cr_assert_eq(c.unlinked_mail, 1); /* Kees's reply */
    /* Still in Review for HR, with his address, but tied to nothing. */
    cr_assert_eq(count("SELECT COUNT(*) FROM inbound WHERE sha256 = 'kees'"
                       " AND outcome = 'review' AND sender ="
                       " 'Kees@org.example' AND invitation_id IS NULL AND"
                       " token IS NULL"),
                 1);
    cr_assert_eq(count("SELECT COUNT(*) FROM inbound WHERE outcome ="
                       " 'review'"),
                 1);
}
