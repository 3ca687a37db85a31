#include "ingest.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "classify.h"
#include "compose.h"
#include "feedback.h"
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
    size_t n =
        c->n_metrics < REPLY_MAX_METRICS ? c->n_metrics : REPLY_MAX_METRICS;
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

/* States in which a reply still records an answer (while the period's
 * digest has not gone out). */
static int
state_answerable(enum inv_state s)
{
    return s == INV_SENDING || s == INV_SENT || s == INV_REMINDED ||
           s == INV_ANSWERED || s == INV_DEFERRED || s == INV_EXPIRED;
}

/* States in which an invitation still waits for its answer. */
static int
state_waiting(enum inv_state s)
{
    return s == INV_PLANNED || s == INV_SENDING || s == INV_SENT ||
           s == INV_REMINDED || s == INV_DEFERRED;
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

/* What ingest and inspect both do with a message: read the answer, then
 * classify on the reply text without quotes, signature and greeting. */
static enum eq_err
analyse(const struct mime_msg *m, const struct reply_metric *rm, size_t n,
        struct reply_answer *a, struct classify_result *cr)
{
    enum eq_err err = reply_read(m->text ? m->text : "", rm, n, a);

    if (err == EQ_OK)
        err = classify_message(m, a->text, cr);
    return err;
}

/* A confirmation owed once the transaction commits: never before, so no
 * mail thanks for an answer that was rolled back. */
enum ack_kind { ACK_NONE, ACK_ANSWER, ACK_OPT_OUT, ACK_ACTIONS };
struct ack {
    enum ack_kind kind;
    struct feedback_ack *actions; /* ACK_ACTIONS: a manager's reply */
    char token[TOKEN_LEN + 1];
    int64_t n; /* ack.TOKEN.N: the inbound id, 0 for an opt-out */
    struct compose_score scores[REPLY_MAX_METRICS]; /* ids: the campaign's */
    size_t n_scores;
    char *comment;
};

struct verdict {
    const char *outcome;
    char note[128];
    enum source_folder folder;
    struct ack ack;
};

/* What an ack owns (the ack itself is a value). */
static void
ack_clear(struct ack *k)
{
    free(k->comment);
    feedback_ack_free(k->actions);
    k->comment = NULL;
    k->actions = NULL;
}

static struct feedback_ctx
feedback_of(const struct ingest_ctx *ctx)
{
    struct feedback_ctx f = {
        .st = ctx->st,
        .cfg = ctx->cfg,
        .campaigns = ctx->campaigns,
        .campaign_ids = ctx->campaign_ids,
        .n_campaigns = ctx->n_campaigns,
        .tx = ctx->tx,
        .now = ctx->now,
    };
    return f;
}

static void
to_review(struct verdict *v, struct ingest_summary *sum, const char *why)
{
    v->outcome = "review";
    v->folder = SOURCE_REVIEW;
    snprintf(v->note, sizeof v->note, "%s", why);
    sum->review++;
}

static enum eq_err
record_answer(const struct ingest_ctx *ctx, const struct store_invitation *inv,
              const struct reply_answer *a, const struct reply_metric *rm,
              size_t n, int64_t inbound_id)
{
    enum eq_err err = EQ_OK;

    if (a->not_applicable)
        for (size_t i = 0; i < n && err == EQ_OK; i++)
            err = store_answer_add(ctx->st, inv->id, rm[i].id, -1, 1, ctx->now,
                                   inbound_id);
    for (size_t i = 0; i < a->n_scores && err == EQ_OK; i++)
        err = store_answer_add(ctx->st, inv->id, a->scores[i].id,
                               a->scores[i].score, 0, ctx->now, inbound_id);
    if (err == EQ_OK && a->comment && *a->comment)
        err = store_comment_add(ctx->st, inv->id, a->comment, ctx->now,
                                inbound_id);
    if (err == EQ_OK && inv->state != INV_ANSWERED)
        err = store_invitation_set_state(ctx->st, inv->id, INV_ANSWERED,
                                         ctx->now, NULL);
    return err;
}

/* What the confirmation of this answer will say, when c asks for one. */
static enum eq_err
ack_answer(struct ack *k, const struct campaign *c,
           const struct store_invitation *inv, const struct reply_answer *a,
           const struct reply_metric *rm, size_t n, int64_t inbound_id)
{
    if (!c->confirmation)
        return EQ_OK;
    memset(k, 0, sizeof *k);
    for (size_t i = 0; a->not_applicable && i < n; i++)
        k->scores[k->n_scores++] = (struct compose_score){rm[i].id, -1};
    for (size_t i = 0; i < a->n_scores && k->n_scores < REPLY_MAX_METRICS;
         i++) {
        const struct campaign_metric *mt = campaign_metric(c, a->scores[i].id);
        if (mt != NULL)
            k->scores[k->n_scores++] =
                (struct compose_score){mt->id, a->scores[i].score};
    }
    if (a->comment && *a->comment && (k->comment = strdup(a->comment)) == NULL)
        return EQ_ERR_NOMEM;
    snprintf(k->token, sizeof k->token, "%s", inv->token);
    k->n = inbound_id;
    k->kind = ACK_ANSWER;
    return EQ_OK;
}

/* The opt-out's confirmation goes under one of the person's invitations
 * (the one replied to, if theirs): without a token it could not be
 * threaded or answered. */
static enum eq_err
ack_opt_out(const struct ingest_ctx *ctx, struct ack *k,
            const struct store_employee *e, const struct store_invitation *inv)
{
    struct store_invitation *mine = NULL;
    size_t n = 0;
    struct store_inv_filter f = {.employee_id = e->id, .limit = 1};
    enum eq_err err = EQ_OK;

    memset(k, 0, sizeof *k);
    if (inv != NULL && inv->employee_id == e->id)
        snprintf(k->token, sizeof k->token, "%s", inv->token);
    else if ((err = store_invitations(ctx->st, &f, &mine, &n)) == EQ_OK &&
             n > 0)
        snprintf(k->token, sizeof k->token, "%s", mine[0].token);
    store_invitations_free(mine, n);
    if (err == EQ_OK && k->token[0])
        k->kind = ACK_OPT_OUT;
    return err;
}

/* Composes and sends k, after the commit. A failure is told in diag and
 * counted; what was recorded stays. */
static void
acknowledge(const struct ingest_ctx *ctx, const struct ack *k,
            struct ingest_summary *sum, struct eq_buf *diag)
{
    struct store_invitation inv;
    struct campaign none;
    struct transport_result res;
    struct eq_buf why = {0};
    char *msg = NULL, *env = NULL;
    size_t len = 0;
    enum eq_err err;

    if (ctx->tx == NULL || k->kind == ACK_NONE)
        return;
    if (k->kind == ACK_ACTIONS) {
        struct feedback_ctx f = feedback_of(ctx);
        err = feedback_ack_send(&f, k->actions, &why);
        if (sum != NULL && err == EQ_OK)
            sum->confirmations++;
        else if (sum != NULL)
            sum->confirmations_failed++;
        if (err != EQ_OK)
            eq_diag(diag, "ingest: confirmation for %s not sent: %s%s%s",
                    k->token, eq_strerror(err), why.len ? ": " : "",
                    buf_str(&why));
        buf_free(&why);
        return;
    }
    memset(&inv, 0, sizeof inv);
    memset(&none, 0, sizeof none);
    none.name = (char *)"";
    err = store_invitation_by_token(ctx->st, k->token, &inv);
    if (err == EQ_OK) {
        const struct campaign *c = campaign_by_id(ctx, inv.campaign_id);
        struct compose_ack ca = {
            .cfg = ctx->cfg,
            .campaign = c ? c : &none,
            .inv = &inv,
            .n = k->n,
            .scores = k->scores,
            .n_scores = k->n_scores,
            .comment = k->comment,
            .now = ctx->now,
        };
        err = k->kind == ACK_OPT_OUT
                  ? compose_optout_confirmation(&ca, &msg, &len, &env, &why)
                  : compose_confirmation(&ca, &msg, &len, &env, &why);
    }
    if (err == EQ_OK) {
        const char *rcpt[1] = {inv.email};
        struct transport_msg tm = {env, rcpt, 1, msg, len};
        if ((err = transport_send(ctx->tx, &tm, &res)) != EQ_OK)
            eq_diag(&why, "%d %s", res.code, res.text);
    }
    if (sum != NULL && err == EQ_OK)
        sum->confirmations++;
    else if (sum != NULL)
        sum->confirmations_failed++;
    if (err != EQ_OK)
        eq_diag(diag, "ingest: confirmation for %s not sent: %s%s%s", k->token,
                eq_strerror(err), why.len ? ": " : "", buf_str(&why));
    free(msg);
    free(env);
    buf_free(&why);
    store_invitation_clear(&inv);
}

/* An opt-out ends every invitation still waiting for this person. */
static enum eq_err
opt_out(const struct ingest_ctx *ctx, const struct store_employee *e)
{
    struct store_invitation *inv = NULL;
    size_t n = 0;
    struct store_inv_filter f = {
        .employee_id = e->id,
        .state_mask = (1u << INV_PLANNED) | (1u << INV_SENDING) |
                      (1u << INV_SENT) | (1u << INV_REMINDED) |
                      (1u << INV_DEFERRED),
    };
    enum eq_err err = store_employee_set_flags(ctx->st, e->id, e->active,
                                               e->undeliverable, 1);

    if (err == EQ_OK)
        err = store_invitations(ctx->st, &f, &inv, &n);
    for (size_t i = 0; i < n && err == EQ_OK; i++)
        err = store_invitation_set_state(ctx->st, inv[i].id, INV_OPTED_OUT,
                                         ctx->now, NULL);
    store_invitations_free(inv, n);
    return err;
}

/* A permanent bounce of an invitation that was on its way. The person is
 * marked undeliverable only when the address that failed is theirs (not,
 * say, an external address they forward to). */
static enum eq_err
bounce(const struct ingest_ctx *ctx, const struct store_invitation *inv,
       const struct classify_result *cr)
{
    struct store_employee e;
    enum eq_err err;

    if (!cr->permanent || !state_waiting(inv->state) ||
        inv->state == INV_PLANNED)
        return EQ_OK;
    err = store_invitation_set_state(ctx->st, inv->id, INV_BOUNCED, ctx->now,
                                     cr->status[0] ? cr->status : "bounced");
    if (err != EQ_OK || inv->employee_id == 0)
        return err;
    memset(&e, 0, sizeof e);
    if (cr->bounce_recipient == NULL ||
        (store_employee_find(ctx->st, cr->bounce_recipient, &e) == EQ_OK &&
         e.id == inv->employee_id)) {
        store_employee_clear(&e);
        if ((err = store_employee_get(ctx->st, inv->employee_id, &e)) == EQ_OK)
            err = store_employee_set_flags(ctx->st, e.id, e.active, 1,
                                           e.opted_out);
    }
    store_employee_clear(&e);
    return err;
}

/* Decide and record, inside the caller's transaction. */
static enum eq_err
judge(const struct ingest_ctx *ctx, const struct mime_msg *m, const char *sha,
      const char *source_key, struct verdict *v, struct ingest_summary *sum)
{
    static const struct reply_metric nps = {"nps", NULL, NULL, 0, 10};
    struct reply_metric rm[REPLY_MAX_METRICS];
    char tok[TOKEN_LEN + 1] = "";
    const char *tok_kind = NULL;
    struct reply_answer a;
    struct classify_result cr;
    struct store_invitation inv;
    struct store_employee sender;
    struct store_inbound in;
    const struct campaign *c = NULL;
    int have_inv = 0, have_sender = 0;
    int64_t inbound_id = 0;
    size_t n_rm = 1;
    enum eq_err err;

    memset(&a, 0, sizeof a);
    memset(&cr, 0, sizeof cr);
    memset(&inv, 0, sizeof inv);
    memset(&sender, 0, sizeof sender);
    v->outcome = "recorded";
    v->folder = SOURCE_PROCESSED;
    rm[0] = nps;

    if (find_token(m, tok) == 0 &&
        store_token_kind(ctx->st, tok, &tok_kind) == EQ_OK &&
        strcmp(tok_kind, "invitation") == 0 &&
        store_invitation_by_token(ctx->st, tok, &inv) == EQ_OK) {
        have_inv = 1;
        if ((c = campaign_by_id(ctx, inv.campaign_id)) != NULL)
            n_rm = campaign_metrics(c, rm);
    }
    if ((err = analyse(m, rm, n_rm, &a, &cr)) != EQ_OK)
        goto out;
    if (m->from_addr &&
        store_employee_find(ctx->st, m->from_addr, &sender) == EQ_OK)
        have_sender = 1;

    /* The inbound row first, so answers can point at it. */
    memset(&in, 0, sizeof in);
    in.message_id = m->message_id;
    in.sha256 = (char *)sha;
    in.source_key = (char *)source_key;
    in.received_at = ctx->now;
    in.kind = (char *)classify_kind_name(cr.kind);
    in.token = tok[0] ? tok : NULL;
    in.invitation_id = have_inv ? inv.id : 0;
    in.outcome = "pending";
    in.sender = m->from_addr;
    in.subject = m->subject;
    if ((err = store_inbound_add(ctx->st, &in, &inbound_id)) != EQ_OK)
        goto out;

    switch (cr.kind) {
    case CLASSIFY_BOUNCE:
        sum->bounces++;
        v->folder = SOURCE_BOUNCES;
        if (have_inv)
            err = bounce(ctx, &inv, &cr);
        else
            snprintf(v->note, sizeof v->note, "bounce without a known token");
        break;
    case CLASSIFY_AUTO_REPLY:
        sum->auto_replies++;
        v->folder = SOURCE_AUTO;
        break;
    case CLASSIFY_OPT_OUT:
        sum->opt_outs++;
        if (have_sender && !sender.opted_out)
            err = ack_opt_out(ctx, &v->ack, &sender, have_inv ? &inv : NULL);
        if (have_sender && err == EQ_OK)
            err = opt_out(ctx, &sender);
        else if (!have_sender)
            to_review(v, sum, "opt-out from an unknown sender");
        break;
    case CLASSIFY_REPLY:
        if (!have_inv && tok_kind && strcmp(tok_kind, "digest") == 0) {
            struct feedback_ctx f = feedback_of(ctx);
            struct feedback_result fr;
            err = feedback_reply(&f, tok, m->from_addr, m->text, inbound_id,
                                 &fr, NULL);
            if (err == EQ_OK && strcmp(fr.outcome, "review") == 0) {
                to_review(v, sum, fr.note);
            } else if (err == EQ_OK) {
                snprintf(v->note, sizeof v->note, "%s", fr.note);
                memset(&v->ack, 0, sizeof v->ack);
                v->ack.kind = ACK_ACTIONS;
                v->ack.actions = fr.ack;
                snprintf(v->ack.token, sizeof v->ack.token, "%s", tok);
                v->ack.n = inbound_id;
                sum->recorded++;
            }
        } else if (!have_inv) {
            to_review(v, sum,
                      tok_kind && strcmp(tok_kind, "digest") == 0
                          ? "reply to a digest"
                      : tok[0] ? "token of no known invitation"
                               : "no token");
        } else if (c == NULL) {
            to_review(v, sum, "campaign no longer configured");
        } else if (!c->allow_forward &&
                   (!have_sender || sender.id != inv.employee_id)) {
            to_review(v, sum, "sender is not the invitee");
        } else if (!state_answerable(inv.state) ||
                   !period_counting(ctx->st, &inv)) {
            /* After the period's digest: kept, never counted. */
            v->outcome = "late";
            snprintf(v->note, sizeof v->note, "invitation %s, digest out",
                     store_inv_state_name(inv.state));
            sum->late++;
        } else if (a.needs_review || (a.n_scores == 0 && !a.not_applicable)) {
            to_review(v, sum,
                      a.review_reason[0] ? a.review_reason : "no score found");
        } else {
            err = record_answer(ctx, &inv, &a, rm, n_rm, inbound_id);
            if (err == EQ_OK)
                err = ack_answer(&v->ack, c, &inv, &a, rm, n_rm, inbound_id);
            sum->recorded += err == EQ_OK;
        }
        break;
    }
    /* Anonymous campaigns keep no raw replies in the mailbox. */
    if (c && c->anonymous && v->folder == SOURCE_PROCESSED)
        v->folder = SOURCE_DELETE;
    if (err == EQ_OK)
        err = store_inbound_set_outcome(ctx->st, inbound_id, v->outcome,
                                        v->note[0] ? v->note : NULL,
                                        have_inv ? inv.id : 0);
out:
    reply_answer_clear(&a);
    classify_result_clear(&cr);
    store_invitation_clear(&inv);
    store_employee_clear(&sender);
    return err;
}

/* Where a message recorded before was filed, from what was decided then. */
static enum source_folder
folder_of(const struct ingest_ctx *ctx, const struct store_inbound *in)
{
    /* Anonymous campaigns keep no raw replies, also when one comes back. */
    if (in->invitation_id != 0 && in->kind && strcmp(in->kind, "reply") == 0 &&
        (!in->outcome || strcmp(in->outcome, "review") != 0)) {
        struct store_invitation inv;
        const struct campaign *c = NULL;
        memset(&inv, 0, sizeof inv);
        if (store_invitation_get(ctx->st, in->invitation_id, &inv) == EQ_OK)
            c = campaign_by_id(ctx, inv.campaign_id);
        store_invitation_clear(&inv);
        if (c && c->anonymous)
            return SOURCE_DELETE;
    }
    if (in->outcome && strcmp(in->outcome, "review") == 0)
        return SOURCE_REVIEW;
    if (in->kind && strcmp(in->kind, "bounce") == 0)
        return SOURCE_BOUNCES;
    if (in->kind && strcmp(in->kind, "auto_reply") == 0)
        return SOURCE_AUTO;
    return SOURCE_PROCESSED;
}

/* Hard limits: mail past them is not parsed (unbounded work for a hostile
 * or broken message) but goes to Review with the reason. */
#define MAX_MESSAGE (25u << 20) /* bytes */
#define MAX_HEADERS 1000        /* header fields */
#define MAX_LINE (1u << 20)     /* bytes in one line */
#define MAX_PARTS 1000          /* MIME boundary lines */

static int
too_hostile(const char *raw, size_t len, char *why, size_t n)
{
    size_t headers = 0, parts = 0, line = 0, longest = 0;
    int in_header = 1;

    if (len > MAX_MESSAGE) {
        snprintf(why, n, "message too large (%zu bytes, at most %u)", len,
                 MAX_MESSAGE);
        return 1;
    }
    for (size_t i = 0; i < len; i++) {
        if (raw[i] != '\n') {
            line++;
            continue;
        }
        if (line > longest)
            longest = line;
        const char *next = raw + i + 1;
        size_t left = len - i - 1;
        if (in_header && (line == 0 || (line == 1 && raw[i - 1] == '\r')))
            in_header = 0;
        else if (in_header && left > 0 && *next != ' ' && *next != '\t')
            headers++;
        if (left >= 2 && next[0] == '-' && next[1] == '-')
            parts++;
        line = 0;
    }
    if (line > longest)
        longest = line;
    if (headers > MAX_HEADERS)
        snprintf(why, n, "too many header fields (%zu, at most %d)", headers,
                 MAX_HEADERS);
    else if (longest > MAX_LINE)
        snprintf(why, n, "a line of %zu bytes (at most %u)", longest, MAX_LINE);
    else if (parts > MAX_PARTS)
        snprintf(why, n, "too many MIME parts (%zu boundary lines, at most %d)",
                 parts, MAX_PARTS);
    else
        return 0;
    return 1;
}

/* Records a message that is not read at all, for a person to look at
 * (inside the caller's transaction). */
static enum eq_err
set_aside(const struct ingest_ctx *ctx, const char *sha, const char *key,
          const char *why, struct ingest_summary *sum,
          enum source_folder *folder)
{
    struct store_inbound in;
    int64_t id;
    enum eq_err err = EQ_OK;

    if (store_inbound_find(ctx->st, NULL, sha, &id) == EQ_OK) {
        sum->duplicates++;
    } else {
        memset(&in, 0, sizeof in);
        in.sha256 = (char *)sha;
        in.source_key = (char *)key;
        in.received_at = ctx->now;
        in.kind = "reply";
        in.outcome = "review";
        in.note = (char *)why;
        err = store_inbound_add(ctx->st, &in, &id);
        sum->review += err == EQ_OK;
    }
    *folder = SOURCE_REVIEW;
    return err;
}

/* One message inside the caller's transaction; k gets what to acknowledge
 * once that transaction has committed. */
static enum eq_err
ingest_one(const struct ingest_ctx *ctx, const char *raw, size_t len,
           const char *source_key, struct ingest_summary *sum,
           enum source_folder *folder, struct ack *k, struct eq_buf *diag)
{
    struct mime_msg *m = NULL;
    struct store_inbound seen;
    struct verdict v;
    char sha[65], why[96];
    int64_t seen_id;
    enum eq_err err;

    memset(&v, 0, sizeof v);
    memset(&seen, 0, sizeof seen);
    memset(k, 0, sizeof *k);
    sum->seen++;
    *folder = SOURCE_PROCESSED;
    if ((err = sha256_hex(raw, len, sha)) != EQ_OK)
        return err;
    if (too_hostile(raw, len, why, sizeof why))
        return set_aside(ctx, sha, source_key, why, sum, folder);
    if ((err = mime_parse(raw, len, &m, diag)) != EQ_OK)
        return err;
    /* Seen before (a crash between recording and filing, or the same mail
     * twice): file it where it went the first time, record nothing. */
    if (store_inbound_find(ctx->st, m->message_id, sha, &seen_id) == EQ_OK) {
        err = store_inbound_get(ctx->st, seen_id, &seen);
        if (err == EQ_OK)
            *folder = folder_of(ctx, &seen);
        sum->duplicates++;
    } else {
        err = judge(ctx, m, sha, source_key, &v, sum);
        if (err == EQ_OK) {
            *folder = v.folder;
            *k = v.ack;
            memset(&v.ack, 0, sizeof v.ack);
        }
    }
    if (err != EQ_OK)
        eq_diag(diag, "ingest %s: %s", source_key,
                err == EQ_ERR_DB ? store_errmsg(ctx->st) : eq_strerror(err));
    ack_clear(&v.ack);
    store_inbound_clear(&seen);
    mime_free(m);
    return err;
}

/* Adds what a committed transaction counted to the caller's summary. */
static void
summary_add(struct ingest_summary *to, const struct ingest_summary *from)
{
    to->seen += from->seen;
    to->recorded += from->recorded;
    to->review += from->review;
    to->bounces += from->bounces;
    to->auto_replies += from->auto_replies;
    to->opt_outs += from->opt_outs;
    to->duplicates += from->duplicates;
    to->late += from->late;
    to->confirmations += from->confirmations;
    to->confirmations_failed += from->confirmations_failed;
}

/* The transaction's COMMIT, told in diag when it fails: nothing of it
 * stays, and its messages are read again next time. */
static enum eq_err
commit(const struct ingest_ctx *ctx, struct eq_buf *diag)
{
    enum eq_err err = store_commit(ctx->st);

    if (err != EQ_OK)
        eq_diag(diag, "ingest: not recorded, read again next time: %s",
                err == EQ_ERR_DB ? store_errmsg(ctx->st) : eq_strerror(err));
    return err;
}

enum eq_err
ingest_message(const struct ingest_ctx *ctx, const char *raw, size_t len,
               const char *source_key, struct ingest_summary *sum,
               enum source_folder *folder, struct eq_buf *diag)
{
    struct ingest_summary part = {0}; /* sum's only once committed */
    struct ack k;
    enum eq_err err = store_begin(ctx->st);

    memset(&k, 0, sizeof k);
    if (err == EQ_OK)
        err = ingest_one(ctx, raw, len, source_key, &part, folder, &k, diag);
    if (err == EQ_OK)
        err = commit(ctx, diag);
    else
        store_rollback(ctx->st);
    if (err == EQ_OK) {
        summary_add(sum, &part);
        acknowledge(ctx, &k, sum, diag);
    }
    ack_clear(&k);
    return err;
}

/* The inbound message id, waiting for review. */
static enum eq_err
waiting_review(const struct ingest_ctx *ctx, int64_t id,
               struct store_inbound *in, struct eq_buf *diag)
{
    enum eq_err err = store_inbound_get(ctx->st, id, in);

    if (err == EQ_ERR_NOTFOUND) {
        eq_diag(diag, "no message %lld (see 'enquete review list')",
                (long long)id);
        return EQ_ERR_DATA;
    }
    if (err == EQ_OK && strcmp(in->outcome, "review") != 0) {
        eq_diag(diag, "message %lld is not waiting for review (it was %s)",
                (long long)id, in->outcome);
        err = EQ_ERR_DATA;
    }
    return err;
}

enum eq_err
ingest_assign(const struct ingest_ctx *ctx, int64_t inbound_id,
              const char *token, const struct ingest_score *scores, size_t n,
              int not_applicable, struct eq_buf *diag)
{
    struct reply_metric rm[REPLY_MAX_METRICS];
    struct reply_answer a;
    struct store_inbound in;
    struct store_invitation inv;
    const struct campaign *c;
    char tok[TOKEN_LEN + 1];
    size_t n_rm;
    struct ack k;
    enum eq_err err;

    memset(&k, 0, sizeof k);
    memset(&a, 0, sizeof a);
    memset(&inv, 0, sizeof inv);
    if ((err = store_begin(ctx->st)) != EQ_OK)
        return err;
    if ((err = waiting_review(ctx, inbound_id, &in, diag)) != EQ_OK)
        goto out;
    err = EQ_ERR_DATA;
    if (!token_valid(token)) {
        eq_diag(diag, "not a token: %s", token);
        goto out;
    }
    for (size_t i = 0; i <= TOKEN_LEN; i++)
        tok[i] = (char)tolower((unsigned char)token[i]);
    if (store_invitation_by_token(ctx->st, tok, &inv) != EQ_OK) {
        eq_diag(diag, "no invitation has token %s", tok);
        goto out;
    }
    if ((c = campaign_by_id(ctx, inv.campaign_id)) == NULL) {
        eq_diag(diag, "campaign %s is no longer configured", inv.campaign);
        goto out;
    }
    if (!state_answerable(inv.state) || !period_counting(ctx->st, &inv)) {
        eq_diag(diag, "invitation %s is %s and its period's digest went out",
                tok, store_inv_state_name(inv.state));
        goto out;
    }
    if (n == 0 && !not_applicable) {
        eq_diag(diag, "give at least one --score METRIC=N, or --nvt");
        goto out;
    }
    n_rm = campaign_metrics(c, rm);
    for (size_t i = 0; i < n; i++) {
        const struct campaign_metric *cm = campaign_metric(c, scores[i].metric);
        if (cm == NULL || scores[i].score < cm->min ||
            scores[i].score > cm->max || a.n_scores >= REPLY_MAX_METRICS) {
            eq_diag(diag, "campaign %s has no metric %s with a score %d",
                    c->name, scores[i].metric, scores[i].score);
            goto out;
        }
        snprintf(a.scores[a.n_scores].id, sizeof a.scores[0].id, "%s", cm->id);
        a.scores[a.n_scores++].score = scores[i].score;
    }
    a.not_applicable = not_applicable;
    err = record_answer(ctx, &inv, &a, rm, n_rm, inbound_id);
    if (err == EQ_OK)
        err = ack_answer(&k, c, &inv, &a, rm, n_rm, inbound_id);
    if (err == EQ_OK)
        err = store_inbound_set_outcome(ctx->st, inbound_id, "recorded",
                                        "assigned by hand", inv.id);
out:
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
    if (err == EQ_OK)
        acknowledge(ctx, &k, NULL, diag);
    ack_clear(&k);
    store_inbound_clear(&in);
    store_invitation_clear(&inv);
    return err;
}

enum eq_err
ingest_drop(const struct ingest_ctx *ctx, int64_t inbound_id,
            struct eq_buf *diag)
{
    struct store_inbound in;
    enum eq_err err;

    if ((err = store_begin(ctx->st)) != EQ_OK)
        return err;
    err = waiting_review(ctx, inbound_id, &in, diag);
    if (err == EQ_OK)
        err = store_inbound_set_outcome(ctx->st, inbound_id, "dropped",
                                        "dropped by hand", 0);
    if (err == EQ_OK)
        err = store_commit(ctx->st);
    else
        store_rollback(ctx->st);
    store_inbound_clear(&in);
    return err;
}

#define INGEST_FILE_EVERY 2000

/* Batched reading (imap): one transaction per batch of messages, and the
 * moves of that batch filed only after it committed. */
struct pending_acks {
    struct ack *v;
    size_t n, cap;
};

/* Commits the batch; what it counted in *batch goes to sum only when the
 * commit holds (a batch rolled back is read and counted again next time). */
static enum eq_err
batch_commit(const struct ingest_ctx *ctx, struct source *src,
             struct pending_acks *acks, struct source_checkpoint *cp,
             const struct source_checkpoint *last, struct ingest_summary *batch,
             struct ingest_summary *sum, struct eq_buf *diag)
{
    enum eq_err err = commit(ctx, diag);

    if (err == EQ_OK)
        summary_add(sum, batch);
    memset(batch, 0, sizeof *batch);
    /* Recorded answers are confirmed whatever happens to the filing: a
     * message not moved comes back as a duplicate, which confirms nothing. */
    for (size_t i = 0; i < acks->n; i++) {
        if (err == EQ_OK)
            acknowledge(ctx, &acks->v[i], sum, diag);
        ack_clear(&acks->v[i]);
    }
    acks->n = 0;
    if (err == EQ_OK)
        err = source_flush(src);
    if (err == EQ_OK && (last->uidvalidity != cp->uidvalidity ||
                         last->last_uid > cp->last_uid)) {
        *cp = *last;
        err = store_mailbox_set(ctx->st, ctx->cfg->imap.srv.url,
                                cp->uidvalidity, cp->last_uid, ctx->now);
    }
    return err;
}

enum eq_err
ingest_run(const struct ingest_ctx *ctx, struct source *src,
           struct ingest_summary *sum, struct eq_buf *diag)
{
    const char *box = ctx->cfg->imap.srv.url;
    /* Each filing expunges from the folder, which costs the server time in
     * proportion to the folder's size: file in steps of a few fetch
     * batches (at most that many messages are read again after a crash). */
    size_t per_batch = 1;
    if (source_defers(src) && ctx->cfg->imap.batch > 0) {
        per_batch = (size_t)ctx->cfg->imap.batch;
        while (per_batch < INGEST_FILE_EVERY)
            per_batch += (size_t)ctx->cfg->imap.batch;
    }
    struct source_checkpoint cp = {0, 0}, last;
    struct pending_acks acks = {NULL, 0, 0};
    struct ingest_summary batch = {0}; /* the open batch's counts */
    struct source_msg msg;
    size_t in_batch = 0;
    int open = 0;
    enum eq_err err;

    /* The checkpoint is kept for `status` and handed to the source; IMAP
     * reads whatever is still in the folder (handled mail is moved out, and
     * what was recorded but not moved comes back as a duplicate). */
    err = store_mailbox_get(ctx->st, box, &cp.uidvalidity, &cp.last_uid, NULL);
    if (err != EQ_OK && err != EQ_ERR_NOTFOUND)
        return err;
    if ((err = source_resume(src, &cp)) != EQ_OK)
        return err;
    last = cp;
    for (;;) {
        enum source_folder folder;
        struct ack k;
        if (ctx->stop != NULL && *ctx->stop != 0)
            break; /* as if the mailbox were read to the end */
        memset(&msg, 0, sizeof msg);
        err = source_next(src, &msg);
        if (err == EQ_ERR_NOTFOUND) {
            err = EQ_OK;
            break;
        }
        if (err != EQ_OK)
            break;
        if (!open && (err = store_begin(ctx->st)) != EQ_OK)
            break;
        open = 1;
        err = ingest_one(ctx, msg.data, msg.len, msg.key, &batch, &folder, &k,
                         diag);
        if (err == EQ_OK && acks.n == acks.cap) {
            size_t cap = acks.cap ? 2 * acks.cap : 16;
            struct ack *g = realloc(acks.v, cap * sizeof *g);
            if (g == NULL)
                err = EQ_ERR_NOMEM;
            else {
                acks.v = g;
                acks.cap = cap;
            }
        }
        if (err == EQ_OK) {
            acks.v[acks.n++] = k;
            memset(&k, 0, sizeof k);
        }
        ack_clear(&k);
        /* Recorded first; a source that files at once (maildir) does so
         * only after its one-message batch committed. */
        if (err == EQ_OK && source_defers(src))
            err = source_done(src, &msg, folder);
        if (err == EQ_OK && msg.uid != 0) {
            last.uidvalidity = msg.uidvalidity;
            if (msg.uidvalidity != cp.uidvalidity || msg.uid > last.last_uid)
                last.last_uid = msg.uid;
        }
        if (err == EQ_OK && ++in_batch >= per_batch) {
            err = batch_commit(ctx, src, &acks, &cp, &last, &batch, sum, diag);
            open = 0;
            in_batch = 0;
            if (err == EQ_OK && !source_defers(src))
                err = source_done(src, &msg, folder);
        }
        source_msg_clear(&msg);
        if (err != EQ_OK)
            break;
    }
    if (open && err == EQ_OK)
        err = batch_commit(ctx, src, &acks, &cp, &last, &batch, sum, diag);
    else if (open)
        store_rollback(ctx->st); /* nothing of it is filed or counted */
    for (size_t i = 0; i < acks.n; i++)
        ack_clear(&acks.v[i]);
    free(acks.v);
    return err;
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
    if ((err = analyse(m, rm, n_metrics, &a, &cr)) != EQ_OK)
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
