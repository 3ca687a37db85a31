/* The walking skeleton end to end, without servers: invite → reply →
 * recorded answer → digest, through the capture transport and a Maildir. */
#include <criterion/criterion.h>
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

static void
setup(void)
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
        cr_assert_eq(store_department_upsert(st, codes[d], names[d], &dept[d],
                                             &changed),
                     EQ_OK);
        for (int i = 0; i < 10; i++) {
            char email[64], name[64];
            snprintf(email, sizeof email, "p%d.%s@org.example", i, codes[d]);
            snprintf(name, sizeof name, "Persoon %d %s", i, names[d]);
            struct store_employee e = {.email = email, .name = name,
                                       .department_id = dept[d],
                                       .language = "nl", .active = 1};
            cr_assert_eq(store_employee_upsert(st, &e, &id, &changed), EQ_OK);
            if (i == 0)
                cr_assert_eq(store_manager_set(st, dept[d], id, 1, &changed),
                             EQ_OK);
        }
    }
    buf_free(&diag);
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
    struct run_ctx ctx = {st, cfg, camps, n_camps, tx, NULL,
                          at("2026-03-03T12:00"), 42};

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
    struct ingest_ctx ic = {st, cfg, camps, &cid, n_camps,
                            at("2026-03-03T15:00")};
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
        cr_assert_eq(strstr(m->rcpt[0], ".it@"), NULL,
                     "ICT rates itself: %s", m->rcpt[0]);
        snprintf(raw, sizeof raw,
                 "From: %s\r\nTo: %s\r\nSubject: Re: enquete\r\n"
                 "Message-ID: <reply%zu@client.example>\r\n"
                 "In-Reply-To: %s\r\nMIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                 "8 - snel geholpen\r\n\r\nOp di 3 mrt. 2026 schreef HR:\r\n"
                 "> Hoe waarschijnlijk is het dat je ICT aanraadt? 10\r\n",
                 m->rcpt[0], reply_to, i, msgid);
        enum source_folder folder;
        cr_assert_eq(ingest_message(&ic, raw, strlen(raw), "test", &is,
                                    &folder, &diag),
                     EQ_OK, "%s", buf_str(&diag));
        cr_assert_eq(folder, SOURCE_PROCESSED);
        /* The same mail again is recognised and changes nothing. */
        cr_assert_eq(ingest_message(&ic, raw, strlen(raw), "test", &is,
                                    &folder, &diag),
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
