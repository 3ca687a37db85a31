#include "ingest.h"

#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "classify.h"
#include "log.h"
#include "mime.h"
#include "reply.h"
#include "token.h"

#define YEAR (365 * 86400)

static enum eq_err
sha256_hex(const char *raw, size_t len, char out[65])
{
    unsigned char d[32];

    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, d) < 0)
        return EQ_ERR_SOFTWARE;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return EQ_OK;
}

/* DESIGN.md order: In-Reply-To/References, plus address, subject tag, then a
 * delimited token anywhere in the text (quote included). */
static int
find_token(const struct mime_msg *m, char tok[TOKEN_LEN + 1])
{
    char kind[4];

    if (m->in_reply_to && token_from_message_id(m->in_reply_to, tok, kind) == 0)
        return 0;
    for (size_t i = m->n_references; i-- > 0;)
        if (token_from_message_id(m->references[i], tok, kind) == 0)
            return 0;
    for (size_t i = 0; i < m->n_to; i++)
        if (m->to[i] && token_find(m->to[i], tok) == 0)
            return 0;
    if (m->subject && token_find(m->subject, tok) == 0)
        return 0;
    if (m->text && token_find(m->text, tok) == 0)
        return 0;
    if (m->delivery_status && token_find(m->delivery_status, tok) == 0)
        return 0;
    return -1;
}

static void
metric_range(const char *id, int *min, int *max)
{
    if (strcmp(id, "nps") == 0) {
        *min = 0;
        *max = 10;
    } else if (strcmp(id, "ces") == 0) {
        *min = 1;
        *max = 7;
    } else {
        *min = 1;
        *max = 5;
    }
}

static size_t
campaign_metrics(const struct campaign *c, struct reply_metric *rm)
{
    size_t n = c->n_metrics < REPLY_MAX_METRICS ? c->n_metrics
                                                : REPLY_MAX_METRICS;
    for (size_t i = 0; i < n; i++) {
        rm[i].id = c->metrics[i].id;
        rm[i].label_nl = c->metrics[i].label_nl;
        rm[i].label_en = c->metrics[i].label_en;
        rm[i].min = c->metrics[i].min;
        rm[i].max = c->metrics[i].max;
    }
    return n;
}

static const struct campaign *
campaign_by_id(const struct ingest_ctx *ctx, int64_t id)
{
    for (size_t i = 0; i < ctx->n_campaigns; i++)
        if (ctx->campaign_ids[i] == id)
            return ctx->campaigns[i];
    return NULL;
}

static int
state_open(enum inv_state s)
{
    return s == INV_SENT || s == INV_REMINDED || s == INV_ANSWERED ||
           s == INV_SENDING || s == INV_DEFERRED;
}

/* Is this invitation's period still counting (its digest not out)? */
static int
period_counting(struct store *st, const struct store_invitation *inv)
{
    struct store_period p;
    if (store_period_by_label(st, inv->campaign_id, inv->period, &p) != EQ_OK)
        return 0;
    return p.digest_at == 0;
}

struct verdict {
    const char *kind;
    const char *outcome;
    char note[128];
    enum source_folder folder;
    int64_t invitation_id;
};

static enum eq_err
record_reply(const struct ingest_ctx *ctx, const struct mime_msg *m,
             const struct store_invitation *inv, const struct campaign *c,
             int64_t inbound_id, struct verdict *v, struct ingest_summary *sum)
{
    struct reply_metric rm[REPLY_MAX_METRICS];
    struct reply_answer a;
    size_t n = campaign_metrics(c, rm);
    enum eq_err err;

    memset(&a, 0, sizeof a);
    err = reply_read(m->text ? m->text : "", rm, n, &a);
    if (err != EQ_OK)
        return err;
    if (a.needs_review || (a.n_scores == 0 && !a.not_applicable)) {
        v->outcome = "review";
        snprintf(v->note, sizeof v->note, "%s",
                 a.review_reason[0] ? a.review_reason : "no score found");
        v->folder = SOURCE_REVIEW;
        sum->review++;
        goto out;
    }
    if (a.not_applicable) {
        for (size_t i = 0; i < n && err == EQ_OK; i++)
            err = store_answer_add(ctx->st, inv->id, rm[i].id, -1, 1,
                                   ctx->now, inbound_id);
    }
    for (size_t i = 0; i < a.n_scores && err == EQ_OK; i++)
        err = store_answer_add(ctx->st, inv->id, a.scores[i].id,
                               a.scores[i].score, 0, ctx->now, inbound_id);
    if (err == EQ_OK && a.comment && *a.comment)
        err = store_comment_add(ctx->st, inv->id, a.comment, ctx->now,
                                inbound_id);
    if (err == EQ_OK && inv->state != INV_ANSWERED)
        err = store_invitation_set_state(ctx->st, inv->id, INV_ANSWERED,
                                         ctx->now, NULL);
    if (err == EQ_OK)
        sum->recorded++;
out:
    reply_answer_clear(&a);
    return err;
}

/* Decide and record, inside the caller's transaction. */
static enum eq_err
judge(const struct ingest_ctx *ctx, const struct mime_msg *m,
      const char *sha, const char *source_key, struct verdict *v,
      struct ingest_summary *sum, struct eq_buf *diag)
{
    char tok[TOKEN_LEN + 1] = "";
    char *stripped = NULL;
    struct classify_result cr;
    struct store_invitation inv;
    struct store_employee sender;
    struct store_inbound in;
    const struct campaign *c = NULL;
    int have_inv = 0, have_sender = 0;
    int64_t inbound_id = 0;
    enum eq_err err;

    memset(&cr, 0, sizeof cr);
    memset(&inv, 0, sizeof inv);
    memset(&sender, 0, sizeof sender);
    v->outcome = "recorded";
    v->folder = SOURCE_PROCESSED;

    err = reply_strip(m->text ? m->text : "", &stripped);
    if (err != EQ_OK)
        goto out;
    err = classify_message(m, stripped, &cr);
    if (err != EQ_OK)
        goto out;
    v->kind = classify_kind_name(cr.kind);

    if (find_token(m, tok) == 0) {
        const char *kind = NULL;
        if (store_token_kind(ctx->st, tok, &kind) == EQ_OK &&
            strcmp(kind, "invitation") == 0 &&
            store_invitation_by_token(ctx->st, tok, &inv) == EQ_OK) {
            have_inv = 1;
            v->invitation_id = inv.id;
            c = campaign_by_id(ctx, inv.campaign_id);
        }
    }
    if (m->from_addr &&
        store_employee_find(ctx->st, m->from_addr, &sender) == EQ_OK)
        have_sender = 1;

    /* The inbound row first, so answers can point at it. */
    memset(&in, 0, sizeof in);
    in.message_id = m->message_id;
    in.sha256 = (char *)sha;
    in.source_key = (char *)source_key;
    in.received_at = ctx->now;
    in.kind = (char *)v->kind;
    in.token = tok[0] ? tok : NULL;
    in.invitation_id = have_inv ? inv.id : 0;
    in.outcome = "pending";
    in.sender = m->from_addr;
    in.subject = m->subject;
    err = store_inbound_add(ctx->st, &in, &inbound_id);
    if (err != EQ_OK)
        goto out;

    switch (cr.kind) {
    case CLASSIFY_BOUNCE:
        sum->bounces++;
        v->folder = SOURCE_BOUNCES;
        if (have_inv && cr.permanent) {
            err = store_invitation_set_state(ctx->st, inv.id, INV_BOUNCED,
                                             ctx->now, cr.status);
            if (err == EQ_OK && inv.employee_id) {
                struct store_employee e;
                memset(&e, 0, sizeof e);
                if (store_employee_get(ctx->st, inv.employee_id, &e) == EQ_OK)
                    err = store_employee_set_flags(ctx->st, e.id, e.active, 1,
                                                   e.opted_out);
                store_employee_clear(&e);
            }
        } else if (!have_inv) {
            snprintf(v->note, sizeof v->note, "bounce without a known token");
        }
        break;
    case CLASSIFY_AUTO_REPLY:
        sum->auto_replies++;
        v->folder = SOURCE_AUTO;
        break;
    case CLASSIFY_OPT_OUT:
        sum->opt_outs++;
        if (have_sender) {
            err = store_employee_set_flags(ctx->st, sender.id, sender.active,
                                           sender.undeliverable, 1);
            if (err == EQ_OK && have_inv && sender.id == inv.employee_id &&
                state_open(inv.state) && inv.state != INV_ANSWERED)
                err = store_invitation_set_state(ctx->st, inv.id,
                                                 INV_OPTED_OUT, ctx->now, NULL);
        } else {
            v->outcome = "review";
            v->folder = SOURCE_REVIEW;
            snprintf(v->note, sizeof v->note, "opt-out from unknown sender");
            sum->review++;
        }
        break;
    case CLASSIFY_REPLY:
        if (!have_inv || c == NULL) {
            v->outcome = "review";
            v->folder = SOURCE_REVIEW;
            snprintf(v->note, sizeof v->note, "%s",
                     tok[0] ? "token of no open invitation" : "no token");
            sum->review++;
            break;
        }
        if (!c->allow_forward &&
            (!have_sender || sender.id != inv.employee_id)) {
            v->outcome = "review";
            v->folder = SOURCE_REVIEW;
            snprintf(v->note, sizeof v->note, "sender is not the invitee");
            sum->review++;
            break;
        }
        if (!state_open(inv.state) &&
            !(inv.state == INV_EXPIRED && period_counting(ctx->st, &inv))) {
            v->outcome = "late";
            snprintf(v->note, sizeof v->note, "invitation %s",
                     store_inv_state_name(inv.state));
            sum->late++;
            break;
        }
        err = record_reply(ctx, m, &inv, c, inbound_id, v, sum);
        break;
    }
    if (err == EQ_OK)
        err = store_inbound_set_outcome(ctx->st, inbound_id, v->outcome,
                                        have_inv ? inv.id : 0);
out:
    if (err != EQ_OK)
        eq_diag(diag, "ingest %s: %s", source_key, store_errmsg(ctx->st));
    free(stripped);
    classify_result_clear(&cr);
    store_invitation_clear(&inv);
    store_employee_clear(&sender);
    return err;
}

enum eq_err
ingest_message(const struct ingest_ctx *ctx, const char *raw, size_t len,
               const char *source_key, struct ingest_summary *sum,
               enum source_folder *folder, struct eq_buf *diag)
{
    struct mime_msg *m = NULL;
    struct verdict v;
    char sha[65];
    int64_t seen_id;
    enum eq_err err;

    memset(&v, 0, sizeof v);
    sum->seen++;
    *folder = SOURCE_PROCESSED;
    if ((err = sha256_hex(raw, len, sha)) != EQ_OK)
        return err;
    err = mime_parse(raw, len, &m, diag);
    if (err != EQ_OK)
        return err;
    if (store_inbound_find(ctx->st, m->message_id, sha, &seen_id) == EQ_OK) {
        sum->duplicates++;
        goto out;
    }
    if ((err = store_begin(ctx->st)) != EQ_OK)
        goto out;
    err = judge(ctx, m, sha, source_key, &v, sum, diag);
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
    if (err == EQ_OK)
        *folder = v.folder;
out:
    mime_free(m);
    return err;
}

enum eq_err
ingest_run(const struct ingest_ctx *ctx, struct source *src,
           struct ingest_summary *sum, struct eq_buf *diag)
{
    struct source_msg msg;
    enum eq_err err;

    for (;;) {
        enum source_folder folder;
        memset(&msg, 0, sizeof msg);
        err = source_next(src, &msg);
        if (err == EQ_ERR_NOTFOUND)
            return EQ_OK;
        if (err != EQ_OK)
            return err;
        err = ingest_message(ctx, msg.data, msg.len, msg.key, sum, &folder,
                             diag);
        /* Filed only after it is recorded: a crash in between re-reads the
         * message next time, and the dedupe makes that harmless. */
        if (err == EQ_OK)
            err = source_done(src, &msg, folder);
        source_msg_clear(&msg);
        if (err != EQ_OK)
            return err;
    }
}

enum eq_err
ingest_inspect(const char *file, const char *raw, size_t len,
               const char *const *metric_ids, size_t n_metrics, int json,
               struct eq_buf *out, struct eq_buf *diag)
{
    static const char *const def[] = {"nps"};
    struct reply_metric rm[REPLY_MAX_METRICS];
    struct mime_msg *m = NULL;
    struct reply_answer a;
    struct classify_result cr;
    char tok[TOKEN_LEN + 1];
    cJSON *o = NULL, *scores;
    char *js = NULL;
    enum eq_err err;

    memset(&a, 0, sizeof a);
    memset(&cr, 0, sizeof cr);
    if (metric_ids == NULL || n_metrics == 0) {
        metric_ids = def;
        n_metrics = 1;
    }
    if (n_metrics > REPLY_MAX_METRICS)
        n_metrics = REPLY_MAX_METRICS;
    for (size_t i = 0; i < n_metrics; i++) {
        rm[i].id = metric_ids[i];
        rm[i].label_nl = rm[i].label_en = NULL;
        metric_range(metric_ids[i], &rm[i].min, &rm[i].max);
    }
    if ((err = mime_parse(raw, len, &m, diag)) != EQ_OK)
        return err;
    if ((err = reply_read(m->text ? m->text : "", rm, n_metrics, &a)) != EQ_OK)
        goto out;
    if ((err = classify_message(m, a.text, &cr)) != EQ_OK)
        goto out;
    int reply = cr.kind == CLASSIFY_REPLY;
    if (!json) {
        buf_printf(out, "%s: %s", file, classify_kind_name(cr.kind));
        if (find_token(m, tok) == 0)
            buf_printf(out, ", token %s", tok);
        for (size_t i = 0; reply && i < a.n_scores; i++)
            buf_printf(out, ", %s %d", a.scores[i].id, a.scores[i].score);
        if (reply && a.not_applicable)
            buf_add(out, ", not applicable");
        if (reply && a.needs_review)
            buf_printf(out, ", needs review (%s)", a.review_reason);
        if (cr.kind == CLASSIFY_BOUNCE)
            buf_printf(out, ", %s %s %s",
                       cr.permanent ? "permanent" : "temporary",
                       cr.status[0] ? cr.status : "(no status)",
                       cr.bounce_recipient ? cr.bounce_recipient : "");
        if (reply && a.comment && *a.comment) {
            buf_add(out, "\n    comment: ");
            for (const char *c = a.comment; *c; c++)
                buf_add(out, *c == '\n' ? "\n             " : (char[2]){*c, 0});
        }
        err = buf_addc(out, '\n');
        goto out;
    }
    err = EQ_ERR_NOMEM;
    if ((o = cJSON_CreateObject()) == NULL)
        goto out;
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "kind", classify_kind_name(cr.kind));
    if (find_token(m, tok) == 0)
        cJSON_AddStringToObject(o, "token", tok);
    else
        cJSON_AddNullToObject(o, "token");
    scores = cJSON_AddObjectToObject(o, "scores");
    for (size_t i = 0; reply && i < a.n_scores; i++)
        cJSON_AddNumberToObject(scores, a.scores[i].id, a.scores[i].score);
    cJSON_AddBoolToObject(o, "not_applicable", reply && a.not_applicable);
    cJSON_AddStringToObject(o, "comment", reply && a.comment ? a.comment : "");
    cJSON_AddBoolToObject(o, "needs_review", reply && a.needs_review);
    if (cr.kind == CLASSIFY_BOUNCE) {
        cJSON *b = cJSON_AddObjectToObject(o, "bounce");
        if (cr.bounce_recipient)
            cJSON_AddStringToObject(b, "recipient", cr.bounce_recipient);
        else
            cJSON_AddNullToObject(b, "recipient");
        cJSON_AddStringToObject(b, "status", cr.status);
        cJSON_AddBoolToObject(b, "permanent", cr.permanent);
    } else {
        cJSON_AddNullToObject(o, "bounce");
    }
    if ((js = cJSON_PrintUnformatted(o)) == NULL)
        goto out;
    err = buf_add(out, js);
    if (err == EQ_OK)
        err = buf_addc(out, '\n');
out:
    cJSON_free(js);
    cJSON_Delete(o);
    reply_answer_clear(&a);
    classify_result_clear(&cr);
    mime_free(m);
    return err;
}
