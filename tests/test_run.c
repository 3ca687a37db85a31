/* The walking skeleton end to end, without servers: invite → reply →
 * recorded answer → digest, through the capture transport and a Maildir. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign.h"
#include "chart.h"
#include "config.h"
#include "eqtime.h"
#include "ingest.h"
#include "run.h"
#include "source.h"
#include "store.h"
#include "token.h"
#include "transport.h"

static char dir[64];
static struct eq_config *cfg;
static struct store *st;
static struct campaign **camps;
static size_t n_camps;

static void
write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

static eq_time
at(const char *iso)
{
    eq_time t;
    cr_assert_eq(eqtime_parse_iso(iso, "Europe/Amsterdam", &t), 0);
    return t;
}

/* The fixture with extra lines in the [campaign] section of it.ini. */
static void
setup_with(const char *campaign_extra)
{
    struct eq_buf diag = {0};
    char path[256];
    int64_t id, dept[3];
    static const char *codes[] = {"it", "hr", "fin"};
    static const char *names[] = {"ICT", "HR", "Financiën"};

    snprintf(dir, sizeof dir, "/tmp/enquete-run-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/campaigns", dir);
    mkdir(path, 0700);
    write_file("config.ini",
               "[general]\ndatabase = data/e.db\nfrom = HR <hr@org.example>\n"
               "reply_address = enquete@org.example\n"
               "[smtp]\nurl = maildir:out\n[imap]\nurl = maildir:in\n"
               "[digest]\nhr = hr@org.example\nweekday = mon\nhour = 8\n");
    write_file("campaigns/it.ini",
               "[campaign]\nname = it\nmetrics = nps\nproviders = it\n"
               "customers = *\ncadence = monthly\nstart = 2026-03-01\n"
               "end = 2026-03-31\ntarget_responses = 6\n"
               "expected_response_rate = 0.5\nanonymity_min = 3\n");
    if (*campaign_extra) {
        snprintf(path, sizeof path, "%s/campaigns/it.ini", dir);
        FILE *f = fopen(path, "a");
        cr_assert_not_null(f);
        fputs(campaign_extra, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/config.ini", dir);
    cr_assert_eq(config_load(path, &cfg, &diag), EQ_OK, "%s", buf_str(&diag));
    free(cfg->general.templates);
    cfg->general.templates = strdup(FIXTURES "/../../templates");
    cr_assert_eq(campaign_load_dir(cfg->general.campaigns,
                                   cfg->general.timezone, &camps, &n_camps,
                                   &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(store_open(cfg->general.database, &st, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    for (int d = 0; d < 3; d++) {
        int changed;
        cr_assert_eq(
            store_department_upsert(st, codes[d], names[d], &dept[d], &changed),
            EQ_OK);
        for (int i = 0; i < 10; i++) {
            char email[64], name[64];
            snprintf(email, sizeof email, "p%d.%s@org.example", i, codes[d]);
            snprintf(name, sizeof name, "Persoon %d %s", i, names[d]);
            struct store_employee e = {.email = email,
                                       .name = name,
                                       .department_id = dept[d],
                                       .language = "nl",
                                       .active = 1};
            cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK);
            if (i == 0)
                cr_assert_eq(store_manager_set(st, dept[d], id, 1, &changed),
                             EQ_OK);
        }
    }
    buf_free(&diag);
}

static void
setup(void)
{
    setup_with("");
}

static void
teardown(void)
{
    char cmd[128];
    store_close(st);
    campaign_free_all(camps, n_camps);
    config_free(cfg);
    chart_shutdown(); /* the digest drew a chart: fontconfig's cache */
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Header value of a captured message, up to the line end. */
static void
header(const char *msg, const char *name, char *out, size_t n)
{
    size_t l = strlen(name);
    out[0] = '\0';
    for (const char *p = msg; p && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncasecmp(p, name, l) == 0 && p[l] == ':') {
            p += l + 1;
            while (*p == ' ')
                p++;
            size_t k = strcspn(p, "\r\n");
            if (k >= n)
                k = n - 1;
            memcpy(out, p, k);
            out[k] = '\0';
            return;
        }
        if (*p == '\r' || *p == '\n')
            return; /* end of header */
    }
}

TestSuite(run, .init = setup, .fini = teardown);

Test(run, invitation_reply_answer_digest)
{
    struct transport *tx = transport_capture_new();
    struct eq_buf diag = {0};
    struct run_summary sum;
    struct run_ctx ctx = {.st = st,
                          .cfg = cfg,
                          .campaigns = camps,
                          .n_campaigns = n_camps,
                          .tx = tx,
                          .now = at("2026-03-03T12:00"),
                          .seed = 42};

    /* Tuesday 3 March: the first invitations go out, none to ICT itself. */
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(run_tick(&ctx, RUN_SCHEDULE | RUN_SEND, &sum, &diag), EQ_OK,
                 "%s", buf_str(&diag));
    cr_assert_gt(sum.planned, 0);
    cr_assert_eq(sum.sent, sum.planned);
    cr_assert_eq(transport_capture_count(tx), sum.sent);

    /* A second tick the same day plans nothing new. */
    size_t first = sum.planned;
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(run_tick(&ctx, RUN_SCHEDULE | RUN_SEND, &sum, &diag), EQ_OK);
    cr_assert_eq(sum.planned, 0, "planned %zu more after %zu", sum.planned,
                 first);

    /* Everyone answers 8 by replying from their mail client. */
    size_t replies = 0;
    int64_t cid;
    cr_assert_eq(store_campaign_ensure(st, "it", &cid), EQ_OK);
    struct ingest_ctx ic = {
        st, cfg, camps, &cid, n_camps, at("2026-03-03T15:00"), NULL, NULL};
    struct ingest_summary is;
    memset(&is, 0, sizeof is);
    for (size_t i = 0; i < transport_capture_count(tx); i++) {
        const struct transport_msg *m = transport_capture_get(tx, i);
        char to[128], reply_to[160], msgid[160], subject[256], raw[2048];
        header(m->data, "To", to, sizeof to);
        header(m->data, "Reply-To", reply_to, sizeof reply_to);
        header(m->data, "Message-ID", msgid, sizeof msgid);
        header(m->data, "Subject", subject, sizeof subject);
        cr_assert(strstr(m->data, "\r\nAuto-Submitted: auto-generated"));
        cr_assert_eq(strstr(m->rcpt[0], ".it@"), NULL, "ICT rates itself: %s",
                     m->rcpt[0]);
        snprintf(raw, sizeof raw,
                 "From: %s\r\nTo: %s\r\nSubject: Re: enquete\r\n"
                 "Message-ID: <reply%zu@client.example>\r\n"
                 "In-Reply-To: %s\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                 "8 - snel geholpen\r\n\r\nOp di 3 mrt. 2026 schreef HR:\r\n"
                 "> Hoe waarschijnlijk is het dat je ICT aanraadt? 10\r\n",
                 m->rcpt[0], reply_to, i, msgid);
        enum source_folder folder;
        cr_assert_eq(
            ingest_message(&ic, raw, strlen(raw), "test", &is, &folder, &diag),
            EQ_OK, "%s", buf_str(&diag));
        cr_assert_eq(folder, SOURCE_PROCESSED);
        /* The same mail again is recognised and changes nothing. */
        cr_assert_eq(
            ingest_message(&ic, raw, strlen(raw), "test", &is, &folder, &diag),
            EQ_OK);
        replies++;
    }
    cr_assert_eq(is.recorded, replies);
    cr_assert_eq(is.duplicates, replies);

    struct store_period per;
    cr_assert_eq(store_period_by_label(st, cid, "2026-03", &per), EQ_OK);
    struct store_score_row *rows = NULL;
    size_t n_rows = 0;
    cr_assert_eq(store_score_counts(st, per.id, "nps", &rows, &n_rows), EQ_OK);
    int64_t total = 0;
    for (size_t i = 0; i < n_rows; i++) {
        cr_assert_eq(rows[i].score, 8);
        total += rows[i].n;
    }
    free(rows);
    cr_assert_eq(total, (int64_t)replies);

    /* The period ends, the invitations close, and on the first Monday 8:00
     * after that the ICT manager and HR each get their digest, once. */
    size_t before = transport_capture_count(tx);
    ctx.now = at("2026-04-20T09:00");
    memset(&sum, 0, sizeof sum);
    cr_assert_eq(run_tick(&ctx, RUN_EXPIRE | RUN_DIGEST, &sum, &diag), EQ_OK,
                 "%s", buf_str(&diag));
    cr_assert_geq(sum.digests, 2, "digests %zu", sum.digests);
    int to_manager = 0, to_hr = 0;
    for (size_t i = before; i < transport_capture_count(tx); i++) {
        const struct transport_msg *m = transport_capture_get(tx, i);
        to_manager += strcmp(m->rcpt[0], "p0.it@org.example") == 0;
        to_hr += strcmp(m->rcpt[0], "hr@org.example") == 0;
        cr_assert(strstr(m->data, "Message-ID: <dig."));
    }
    cr_assert_eq(to_manager, 1);
    cr_assert_eq(to_hr, 1);
    memset(&sum, 0, sizeof sum);
    ctx.now = at("2026-04-27T09:00");
    cr_assert_eq(run_tick(&ctx, RUN_EXPIRE | RUN_DIGEST, &sum, &diag), EQ_OK);
    cr_assert_eq(sum.digests, 0, "a digest went out twice");
    buf_free(&diag);
    transport_close(tx);
}

/* A reply to the i-th captured invitation, as a mail client writes it. */
static void
reply_to(struct transport *tx, size_t i, const char *body, const char *id,
         char *raw, size_t n)
{
    const struct transport_msg *m = transport_capture_get(tx, i);
    char reply_to_h[160], msgid[160];

    header(m->data, "Reply-To", reply_to_h, sizeof reply_to_h);
    header(m->data, "Message-ID", msgid, sizeof msgid);
    snprintf(raw, n,
             "From: %s\r\nTo: %s\r\nSubject: Re: enquete\r\n"
             "Message-ID: <%s@client.example>\r\nIn-Reply-To: %s\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
             m->rcpt[0], reply_to_h, id, msgid, body);
}

static struct ingest_ctx
ictx(int64_t *cid, eq_time now)
{
    cr_assert_eq(store_campaign_ensure(st, "it", cid), EQ_OK);
    return (struct ingest_ctx){st, cfg, camps, cid, n_camps, now, NULL, NULL};
}

static size_t
count_state(enum inv_state s, int64_t employee)
{
    struct store_invitation *inv = NULL;
    size_t n = 0;
    struct store_inv_filter f = {.state_mask = 1u << s,
                                 .employee_id = employee};
    cr_assert_eq(store_invitations(st, &f, &inv, &n), EQ_OK);
    store_invitations_free(inv, n);
    return n;
}

/* The one current NPS score of March, and how many answer it. */
static int
current_nps(int64_t cid)
{
    struct store_period per;
    struct store_score_row *rows = NULL;
    size_t n = 0;

    cr_assert_eq(store_period_by_label(st, cid, "2026-03", &per), EQ_OK);
    cr_assert_eq(store_score_counts(st, per.id, "nps", &rows, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(rows[0].n, 1);
    int score = rows[0].score;
    free(rows);
    return score;
}

/* The campaign's first send day, Tuesday 3 March: a capture transport, a
 * run context at noon, and (when send) the day's invitations sent. */
struct day {
    struct transport *tx;
    struct eq_buf diag;
    struct run_summary sum;
    struct run_ctx ctx;
    struct ingest_summary is;
    enum source_folder folder;
};

static void
day_start(struct day *d, unsigned steps)
{
    memset(d, 0, sizeof *d);
    d->tx = transport_capture_new();
    d->ctx = (struct run_ctx){.st = st,
                              .cfg = cfg,
                              .campaigns = camps,
                              .n_campaigns = n_camps,
                              .tx = d->tx,
                              .now = at("2026-03-03T12:00"),
                              .seed = 42};
    cr_assert_eq(run_tick(&d->ctx, steps, &d->sum, &d->diag), EQ_OK, "%s",
                 buf_str(&d->diag));
}

static void
day_end(struct day *d)
{
    buf_free(&d->diag);
    transport_close(d->tx);
}

/* Ingests a reply (body) to the i-th captured invitation. */
static void
day_reply(struct day *d, const struct ingest_ctx *ic, size_t i,
          const char *body, const char *id)
{
    char raw[2048];

    reply_to(d->tx, i, body, id, raw, sizeof raw);
    cr_assert_eq(
        ingest_message(ic, raw, strlen(raw), "t", &d->is, &d->folder, &d->diag),
        EQ_OK, "%s", buf_str(&d->diag));
}

Test(run, invitation_left_sending_by_a_crash_goes_out_again)
{
    struct day d;
    struct store_invitation *inv = NULL;
    size_t n = 0;
    struct store_inv_filter f = {.state_mask = 1u << INV_PLANNED};

    day_start(&d, RUN_SCHEDULE);
    cr_assert_eq(store_invitations(st, &f, &inv, &n), EQ_OK);
    cr_assert_geq(n, 1);
    /* The process died after committing `sending`, before the 250. */
    cr_assert_eq(
        store_invitation_set_state(st, inv[0].id, INV_SENDING, d.ctx.now, NULL),
        EQ_OK);
    cr_assert_eq(run_tick(&d.ctx, RUN_SEND, &d.sum, &d.diag), EQ_OK);
    cr_assert_eq(d.sum.sent, n, "sent %zu of %zu", d.sum.sent, n);
    cr_assert_eq(count_state(INV_SENDING, 0), 0);
    store_invitations_free(inv, n);
    day_end(&d);
}

/* The daemon's SIGTERM: a halted send prepares nothing more, so nothing is
 * left `sending`; the next tick sends what is due. */
Test(run, halted_send_leaves_everything_planned_for_the_next_tick)
{
    struct day d;
    volatile sig_atomic_t stop = 1;
    size_t planned;

    day_start(&d, RUN_SCHEDULE);
    planned = count_state(INV_PLANNED, 0);
    cr_assert_geq(planned, 1);
    d.ctx.stop = &stop;
    cr_assert_eq(run_tick(&d.ctx, RUN_SEND, &d.sum, &d.diag), EQ_OK);
    cr_assert_eq(d.sum.sent, 0);
    cr_assert_eq(transport_capture_count(d.tx), 0);
    cr_assert_eq(count_state(INV_SENDING, 0), 0);
    cr_assert_eq(count_state(INV_PLANNED, 0), planned);
    stop = 0;
    cr_assert_eq(run_tick(&d.ctx, RUN_SEND, &d.sum, &d.diag), EQ_OK);
    cr_assert_eq(d.sum.sent, planned);
    cr_assert_eq(count_state(INV_PLANNED, 0), 0);
    day_end(&d);
}

Test(run, opt_out_ends_every_open_invitation_of_that_person)
{
    struct day d;
    int64_t cid;
    struct store_employee e;

    day_start(&d, RUN_SCHEDULE | RUN_SEND);
    const struct transport_msg *m = transport_capture_get(d.tx, 0);
    cr_assert_eq(store_employee_find(st, m->rcpt[0], &e), EQ_OK);
    struct ingest_ctx ic = ictx(&cid, at("2026-03-03T14:00"));
    day_reply(&d, &ic, 0, "afmelden", "optout");
    cr_assert_eq(d.is.opt_outs, 1);
    cr_assert_eq(count_state(INV_SENT, e.id), 0);
    cr_assert_geq(count_state(INV_OPTED_OUT, e.id), 1);
    store_employee_clear(&e);
    cr_assert_eq(store_employee_find(st, m->rcpt[0], &e), EQ_OK);
    cr_assert_eq(e.opted_out, 1);

    /* Weeks later nobody mails them again. */
    size_t before = transport_capture_count(d.tx);
    for (int day = 4; day <= 26; day++) {
        char iso[32];
        snprintf(iso, sizeof iso, "2026-03-%02dT12:00", day);
        d.ctx.now = at(iso);
        cr_assert_eq(run_tick(&d.ctx, RUN_SCHEDULE | RUN_SEND, &d.sum, &d.diag),
                     EQ_OK);
    }
    for (size_t i = before; i < transport_capture_count(d.tx); i++)
        cr_assert_str_neq(transport_capture_get(d.tx, i)->rcpt[0], e.email);
    store_employee_clear(&e);
    day_end(&d);
}

Test(run, answer_after_the_digest_is_kept_as_late_and_not_counted)
{
    struct day d;
    int64_t cid;

    day_start(&d, RUN_SCHEDULE | RUN_SEND);
    struct ingest_ctx ic = ictx(&cid, at("2026-03-03T15:00"));
    day_reply(&d, &ic, 0, "9", "first");
    cr_assert_eq(d.is.recorded, 1);
    d.ctx.now = at("2026-04-20T09:00");
    cr_assert_eq(run_tick(&d.ctx, RUN_EXPIRE | RUN_DIGEST, &d.sum, &d.diag),
                 EQ_OK, "%s", buf_str(&d.diag));
    /* After the digest the same person changes their mind: too late. */
    ic.now = at("2026-04-21T09:00");
    day_reply(&d, &ic, 0, "2", "second");
    cr_assert_eq(d.is.late, 1);
    cr_assert_eq(current_nps(cid), 9);
    day_end(&d);
}

Test(run, review_assign_records_a_message_once)
{
    struct day d;
    char tok[TOKEN_LEN + 1];
    int64_t cid;

    day_start(&d, RUN_SCHEDULE | RUN_SEND);
    const struct transport_msg *m = transport_capture_get(d.tx, 0);
    cr_assert_eq(token_find(m->envelope_from, tok), 0);
    /* "tussen 6 en 8" has two candidate numbers: a human decides. */
    struct ingest_ctx ic = ictx(&cid, at("2026-03-03T15:00"));
    day_reply(&d, &ic, 0, "Ergens tussen 6 en 8, denk ik.", "vague");
    cr_assert_eq(d.is.review, 1);
    cr_assert_eq(d.folder, SOURCE_REVIEW);
    struct store_inbound *in = NULL;
    size_t n = 0;
    cr_assert_eq(store_review_list(st, &in, &n), EQ_OK);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(in[0].note, "several numbers");
    int64_t id = in[0].id;
    store_inbounds_free(in, n);

    struct ingest_score bad = {"ces", 4}, good = {"nps", 7};
    cr_assert_eq(ingest_assign(&ic, id, tok, &bad, 1, 0, &d.diag), EQ_ERR_DATA,
                 "the campaign asks no ces");
    cr_assert_eq(ingest_assign(&ic, id, tok, &good, 1, 0, &d.diag), EQ_OK, "%s",
                 buf_str(&d.diag));
    cr_assert_eq(ingest_assign(&ic, id, tok, &good, 1, 0, &d.diag), EQ_ERR_DATA,
                 "assigned twice");
    cr_assert_eq(ingest_drop(&ic, id, &d.diag), EQ_ERR_DATA);
    cr_assert_eq(ingest_drop(&ic, 9999, &d.diag), EQ_ERR_DATA);
    struct store_invitation inv;
    cr_assert_eq(store_invitation_by_token(st, tok, &inv), EQ_OK);
    cr_assert_eq(inv.state, INV_ANSWERED);
    store_invitation_clear(&inv);
    day_end(&d);
}

/* --- failed commits --------------------------------------------------- */

/* Makes the COMMIT of every transaction that records an inbound message
 * whose Message-ID is LIKE pattern fail, through a second connection: a
 * trigger adds a row whose deferred foreign key nothing satisfies, and
 * SQLite checks that only at COMMIT. NULL takes the trigger away. */
static void
fail_commits_of(const char *pattern)
{
    char text[512], *err = NULL;
    sqlite3 *db;

    if (pattern != NULL)
        snprintf(text, sizeof text,
                 "CREATE TABLE IF NOT EXISTS t_none(id INTEGER PRIMARY KEY);"
                 "CREATE TABLE IF NOT EXISTS t_dangling(none_id INTEGER "
                 " REFERENCES t_none(id) DEFERRABLE INITIALLY DEFERRED);"
                 "CREATE TRIGGER t_fail AFTER INSERT ON inbound"
                 " WHEN NEW.message_id LIKE '%s'"
                 " BEGIN INSERT INTO t_dangling VALUES (1); END;",
                 pattern);
    else
        snprintf(text, sizeof text, "DROP TRIGGER t_fail;");
    cr_assert_eq(sqlite3_open(cfg->general.database, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    cr_assert_eq(sqlite3_exec(db, text, NULL, NULL, &err), SQLITE_OK, "%s: %s",
                 text, err ? err : "");
    sqlite3_close(db);
}

/* Files in the maildir's new/: mail not filed yet. */
static size_t
unfiled(const char *maildir)
{
    char path[256];
    struct dirent *e;
    size_t n = 0;

    snprintf(path, sizeof path, "%s/new", maildir);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s", path);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

Test(run, message_whose_commit_fails_is_not_counted)
{
    struct day d;
    int64_t cid;
    char raw[2048];
    enum source_folder folder;

    day_start(&d, RUN_SCHEDULE | RUN_SEND);
    struct ingest_ctx ic = ictx(&cid, at("2026-03-03T15:00"));
    reply_to(d.tx, 0, "8", "unlucky", raw, sizeof raw);
    fail_commits_of("%unlucky@%");
    cr_assert_neq(
        ingest_message(&ic, raw, strlen(raw), "t", &d.is, &folder, &d.diag),
        EQ_OK);
    cr_assert(strstr(buf_str(&d.diag), "not recorded") != NULL, "%s",
              buf_str(&d.diag));
    cr_assert_eq(d.is.seen, 0, "seen %zu of a rolled-back message", d.is.seen);
    cr_assert_eq(d.is.recorded, 0);
    cr_assert_eq(count_state(INV_ANSWERED, 0), 0);

    /* Read again once the database takes it: counted once, not a
     * duplicate of the attempt that left nothing behind. */
    fail_commits_of(NULL);
    cr_assert_eq(
        ingest_message(&ic, raw, strlen(raw), "t", &d.is, &folder, &d.diag),
        EQ_OK, "%s", buf_str(&d.diag));
    cr_assert_eq(d.is.seen, 1);
    cr_assert_eq(d.is.recorded, 1);
    cr_assert_eq(d.is.duplicates, 0);
    cr_assert_eq(count_state(INV_ANSWERED, 0), 1);
    day_end(&d);
}

Test(run, batch_whose_commit_fails_is_counted_once_when_read_again)
{
    static const char *const ids[] = {"first", "poison", "third"};
    static const char *const sub[] = {"", "/new", "/cur", "/tmp"};
    struct ingest_summary is;
    struct source *src = NULL;
    struct day d;
    char md[256], path[320], raw[2048], body[8];
    int64_t cid;

    day_start(&d, RUN_SCHEDULE | RUN_SEND);
    struct ingest_ctx ic = ictx(&cid, at("2026-03-03T15:00"));
    snprintf(md, sizeof md, "%s/in", dir);
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s%s", md, sub[i]);
        cr_assert_eq(mkdir(path, 0700), 0, "%s", path);
    }
    /* The invitee changes their mind twice: 7, then 8, then 9. */
    for (size_t i = 0; i < 3; i++) {
        snprintf(body, sizeof body, "%zu", 7 + i);
        reply_to(d.tx, 0, body, ids[i], raw, sizeof raw);
        snprintf(path, sizeof path, "in/new/%zu.%s", i + 1, ids[i]);
        write_file(path, raw);
    }

    /* The first reply commits; the second's commit fails, which ends the
     * run with nothing of that batch kept or filed. */
    fail_commits_of("%poison@%");
    memset(&is, 0, sizeof is);
    cr_assert_eq(source_maildir_new(md, &src, &d.diag), EQ_OK, "%s",
                 buf_str(&d.diag));
    cr_assert_neq(ingest_run(&ic, src, &is, &d.diag), EQ_OK);
    source_close(src);
    cr_assert(strstr(buf_str(&d.diag), "not recorded") != NULL, "%s",
              buf_str(&d.diag));
    cr_assert_eq(is.seen, 1, "seen %zu", is.seen);
    cr_assert_eq(is.recorded, 1, "recorded %zu", is.recorded);
    cr_assert_eq(current_nps(cid), 7);
    cr_assert_eq(unfiled(md), 2);

    /* The next run reads the other two and counts each once. */
    fail_commits_of(NULL);
    memset(&is, 0, sizeof is);
    cr_assert_eq(source_maildir_new(md, &src, &d.diag), EQ_OK);
    cr_assert_eq(ingest_run(&ic, src, &is, &d.diag), EQ_OK, "%s",
                 buf_str(&d.diag));
    source_close(src);
    cr_assert_eq(is.seen, 2, "seen %zu", is.seen);
    cr_assert_eq(is.recorded, 2, "recorded %zu", is.recorded);
    cr_assert_eq(is.duplicates, 0);
    cr_assert_eq(current_nps(cid), 9);
    cr_assert_eq(unfiled(md), 0);
    day_end(&d);
}

/* --- confirmations ---------------------------------------------------- */

static void
setup_confirm(void)
{
    setup_with("confirmation = yes\n");
}

/* Quoted-printable soft breaks and =XX undone, enough to search a text. */
static void
qp_text(const char *msg, char *out, size_t n)
{
    const char *p = strstr(msg, "Content-Type: text/plain");
    size_t k = 0;

    cr_assert_not_null(p);
    p = strstr(p, "\r\n\r\n") + 4;
    for (; *p && strncmp(p, "\r\n--", 4) != 0 && k + 1 < n; p++) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 2;
        } else if (p[0] == '=') {
            unsigned v;
            cr_assert_eq(sscanf(p + 1, "%2x", &v), 1);
            out[k++] = (char)v;
            p += 2;
        } else {
            out[k++] = *p;
        }
    }
    out[k] = '\0';
}

/* One confirmation scenario: the first invitations sent and captured, an
 * ingest context that confirms through capture, and the first token. */
struct confirm_case {
    struct transport *tx;
    struct eq_buf diag;
    struct ingest_summary is;
    struct ingest_ctx ic;
    int64_t cid;
    char tok[TOKEN_LEN + 1];
    size_t before; /* captured messages before any reply */
    char raw[2048], h[256], want[256], text[4096];
};

static void
confirm_case_init(struct confirm_case *k, const char *now)
{
    struct run_summary sum = {0};
    struct run_ctx ctx = {.st = st,
                          .cfg = cfg,
                          .campaigns = camps,
                          .n_campaigns = n_camps,
                          .now = at("2026-03-03T12:00"),
                          .seed = 42};

    memset(k, 0, sizeof *k);
    k->tx = ctx.tx = transport_capture_new();
    cr_assert_eq(run_tick(&ctx, RUN_SCHEDULE | RUN_SEND, &sum, &k->diag), EQ_OK,
                 "%s", buf_str(&k->diag));
    k->before = transport_capture_count(k->tx);
    cr_assert_gt(k->before, 0);
    cr_assert_eq(
        token_find(transport_capture_get(k->tx, 0)->envelope_from, k->tok), 0);
    k->ic = ictx(&k->cid, at(now));
    k->ic.tx = k->tx;
}
static void
confirm_case_free(struct confirm_case *k)
{
    buf_free(&k->diag);
    transport_close(k->tx);
}

/* The reply body to invitation 0, ingested; what the summary says after. */
static void
confirm_reply(struct confirm_case *k, const char *body, const char *id)
{
    enum source_folder folder;

    reply_to(k->tx, 0, body, id, k->raw, sizeof k->raw);
    cr_assert_eq(ingest_message(&k->ic, k->raw, strlen(k->raw), "t", &k->is,
                                &folder, &k->diag),
                 EQ_OK, "%s", buf_str(&k->diag));
}

/* The i-th confirmation: to the invitee, from their token's address. */
static const struct transport_msg *
confirm_get(struct confirm_case *k, size_t i)
{
    const struct transport_msg *ack = transport_capture_get(k->tx, i);
    const struct transport_msg *inv = transport_capture_get(k->tx, 0);

    cr_assert_eq(ack->n_rcpt, 1);
    cr_assert_str_eq(ack->rcpt[0], inv->rcpt[0]);
    cr_assert_str_eq(ack->envelope_from, inv->envelope_from);
    header(ack->data, "Auto-Submitted", k->h, sizeof k->h);
    cr_assert_str_eq(k->h, "auto-replied");
    header(ack->data, "In-Reply-To", k->h, sizeof k->h);
    snprintf(k->want, sizeof k->want, "<inv.%s@org.example>", k->tok);
    cr_assert_str_eq(k->h, k->want);
    qp_text(ack->data, k->text, sizeof k->text);
    header(ack->data, "Message-ID", k->h, sizeof k->h);
    return ack;
}

TestSuite(confirm, .init = setup_confirm, .fini = teardown);

Test(confirm, recorded_answer_is_confirmed_once_to_the_invitee)
{
    struct confirm_case k;
    char first_id[256];

    confirm_case_init(&k, "2026-03-03T15:00");
    confirm_reply(&k, "8 - snel geholpen", "first");
    cr_assert_eq(k.is.recorded, 1);
    cr_assert_eq(transport_capture_count(k.tx), k.before + 1);
    cr_assert_eq(k.is.confirmations, 1);
    const struct transport_msg *ack = confirm_get(&k, k.before);
    snprintf(k.want, sizeof k.want, "<ack.%s.", k.tok);
    cr_assert(strncmp(k.h, k.want, strlen(k.want)) == 0, "%s", k.h);
    cr_assert(strstr(k.h, "@org.example>") != NULL, "%s", k.h);
    snprintf(first_id, sizeof first_id, "%s", k.h);
    cr_assert(strstr(k.text, "  Aanbeveling: 8\r\n") != NULL, "%s", k.text);
    cr_assert(strstr(k.text, "snel geholpen") != NULL, "%s", k.text);
    header(ack->data, "Subject", k.h, sizeof k.h);
    snprintf(k.want, sizeof k.want, "[#%s]", k.tok);
    cr_assert(strstr(k.h, k.want) != NULL, "%s", k.h);

    /* The same mail again is a duplicate: nothing recorded, nothing sent. */
    confirm_reply(&k, "8 - snel geholpen", "first");
    cr_assert_eq(k.is.duplicates, 1);
    cr_assert_eq(transport_capture_count(k.tx), k.before + 1);

    /* A new answer is confirmed again, with its own Message-ID. */
    confirm_reply(&k, "9", "second");
    cr_assert_eq(transport_capture_count(k.tx), k.before + 2);
    confirm_get(&k, k.before + 1);
    cr_assert_str_neq(k.h, first_id);
    cr_assert(strstr(k.text, "  Aanbeveling: 9\r\n") != NULL, "%s", k.text);
    confirm_case_free(&k);
}

Test(confirm, opt_out_is_confirmed_once)
{
    struct confirm_case k;

    confirm_case_init(&k, "2026-03-03T14:00");
    confirm_reply(&k, "afmelden", "optout");
    cr_assert_eq(k.is.opt_outs, 1);
    cr_assert_eq(transport_capture_count(k.tx), k.before + 1);
    confirm_get(&k, k.before);
    snprintf(k.want, sizeof k.want, "<ack.%s.0@org.example>", k.tok);
    cr_assert_str_eq(k.h, k.want);
    cr_assert(strstr(k.text, "Laat het HR weten.") != NULL, "%s", k.text);

    /* "stop" a second time: already out, no second confirmation. */
    confirm_reply(&k, "stop", "optout-again");
    cr_assert_eq(k.is.opt_outs, 2);
    cr_assert_eq(transport_capture_count(k.tx), k.before + 1);
    cr_assert_eq(k.is.confirmations, 1);
    confirm_case_free(&k);
}

Test(run, no_confirmation_unless_the_campaign_asks)
{
    struct confirm_case k;

    confirm_case_init(&k, "2026-03-03T15:00");
    confirm_reply(&k, "7", "plain");
    cr_assert_eq(k.is.recorded, 1);
    cr_assert_eq(transport_capture_count(k.tx), k.before);
    cr_assert_eq(k.is.confirmations, 0);
    confirm_case_free(&k);
}

Test(confirm, failed_confirmation_keeps_the_answer)
{
    struct confirm_case k;
    struct transport *broken = NULL;
    char path[256];

    confirm_case_init(&k, "2026-03-03T15:00");
    /* A Maildir whose tmp/ vanished: every delivery fails. */
    snprintf(path, sizeof path, "%s/md", dir);
    cr_assert_eq(transport_maildir_new(path, &broken, &k.diag), EQ_OK);
    snprintf(path, sizeof path, "%s/md/tmp", dir);
    cr_assert_eq(rmdir(path), 0);
    k.ic.tx = broken;
    confirm_reply(&k, "6", "unlucky");
    cr_assert_eq(k.is.recorded, 1);
    cr_assert_eq(k.is.confirmations, 0);
    cr_assert_eq(k.is.confirmations_failed, 1);
    cr_assert(strstr(buf_str(&k.diag), "confirmation for ") != NULL, "%s",
              buf_str(&k.diag));
    struct store_invitation inv;
    cr_assert_eq(store_invitation_by_token(st, k.tok, &inv), EQ_OK);
    cr_assert_eq(inv.state, INV_ANSWERED);
    store_invitation_clear(&inv);
    transport_close(broken);
    confirm_case_free(&k);
}

Test(run, hostile_mail_goes_to_review_unread_with_the_reason)
{
    struct eq_buf raw = {0}, diag = {0};
    struct ingest_summary is = {0};
    enum source_folder folder;
    struct store_inbound *in = NULL;
    size_t n = 0;
    int64_t cid;
    struct ingest_ctx ic = ictx(&cid, at("2026-03-03T15:00"));

    for (int i = 0; i < 1500; i++)
        buf_printf(&raw, "X-Filler-%d: yes\r\n", i);
    buf_add(&raw, "Subject: many headers\r\n\r\n8\r\n");
    cr_assert_eq(ingest_message(&ic, raw.s, raw.len, "t1", &is, &folder, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(folder, SOURCE_REVIEW);
    buf_reset(&raw);
    buf_add(&raw, "Subject: one long line\r\n\r\n");
    for (int i = 0; i < (1 << 20) / 16 + 1; i++)
        buf_add(&raw, "0123456789abcdef");
    cr_assert_eq(ingest_message(&ic, raw.s, raw.len, "t2", &is, &folder, &diag),
                 EQ_OK);
    cr_assert_eq(folder, SOURCE_REVIEW);
    /* The same hostile mail again is a duplicate, not a second review. */
    cr_assert_eq(ingest_message(&ic, raw.s, raw.len, "t2", &is, &folder, &diag),
                 EQ_OK);
    cr_assert_eq(is.review, 2);
    cr_assert_eq(is.duplicates, 1);
    cr_assert_eq(store_review_list(st, &in, &n), EQ_OK);
    cr_assert_eq(n, 2);
    cr_assert_not_null(strstr(in[0].note, "too many header fields (1501"), "%s",
                       in[0].note);
    cr_assert_not_null(strstr(in[1].note, "a line of"), "%s", in[1].note);
    store_inbounds_free(in, n);
    buf_free(&raw);
    buf_free(&diag);
}
