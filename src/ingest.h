/*
 * ingest: turns inbound mail into recorded answers. For each message it
 * dedupes (Message-ID + SHA-256), finds the token (In-Reply-To/References →
 * plus address → subject tag → delimited token in the text), checks the
 * sender, reads the answer, classifies bounces/auto-replies/opt-outs, records
 * everything in one transaction and only then files the message at the source.
 * Confirmations (of an answer, of an opt-out) go out only after that
 * transaction commits, and a failed one never undoes what was recorded.
 */
#ifndef INGEST_H
#define INGEST_H

#include <signal.h>

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "source.h"
#include "store.h"
#include "transport.h"

/* Counts of committed work only: the messages of a transaction that was
 * rolled back are read, and counted, again next time. */
struct ingest_summary {
    size_t seen, recorded, review, bounces, auto_replies, opt_outs, duplicates,
        late;
    size_t confirmations;        /* sent: answers and opt-outs */
    size_t confirmations_failed; /* composed or sent in vain (see diag) */
};

struct ingest_ctx {
    struct store *st;
    const struct eq_config *cfg;
    struct campaign *const *campaigns;
    const int64_t *campaign_ids; /* store ids, parallel to campaigns */
    size_t n_campaigns;
    eq_time now;
    /* Where confirmations go; NULL sends none (inspect, review). An
     * answer's confirmation needs `confirmation = yes`, and is Message-ID
     * ack.TOKEN.N@DOMAIN with N the id of the inbound mail it answers:
     * unique per token and the same if it were ever composed again. An
     * opt-out's is ack.TOKEN.0@DOMAIN, sent once, when the person was not
     * opted out yet, threaded under their invitation (none without one). */
    struct transport *tx;
    /* Optional: non-zero asks ingest to stop after the message at hand
     * (recorded and filed as usual; the rest is read next time). */
    const volatile sig_atomic_t *stop;
};

/* Reads every pending message of src. */
enum eq_err ingest_run(const struct ingest_ctx *ctx, struct source *src,
                       struct ingest_summary *sum, struct eq_buf *diag);
/* One raw message; *folder says where the source should file it. */
enum eq_err ingest_message(const struct ingest_ctx *ctx, const char *raw,
                           size_t len, const char *source_key,
                           struct ingest_summary *sum,
                           enum source_folder *folder, struct eq_buf *diag);

/* `review assign`: a message waiting for review becomes the answer of the
 * invitation with token, with the scores a person read (metric ids of the
 * campaign, in range) or not-applicable. Refused (EQ_ERR_DATA, reason in
 * diag) when the message is not waiting for review, or the invitation can no
 * longer be answered. */
struct ingest_score {
    const char *metric;
    int score;
};
enum eq_err ingest_assign(const struct ingest_ctx *ctx, int64_t inbound_id,
                          const char *token, const struct ingest_score *scores,
                          size_t n, int not_applicable, struct eq_buf *diag);
/* `review drop`: the message is set aside without counting. */
enum eq_err ingest_drop(const struct ingest_ctx *ctx, int64_t inbound_id,
                        struct eq_buf *diag);

/* `inspect`: read a message as ingest would, without a database, and append
 * to out one JSON object and a newline (json, DESIGN.md "inspect --json") or
 * a short readable block. metric_ids: the metrics asked, in order (NULL/0 =
 * "nps"). */
enum eq_err ingest_inspect(const char *file, const char *raw, size_t len,
                           const char *const *metric_ids, size_t n_metrics,
                           int json, struct eq_buf *out, struct eq_buf *diag);

#endif
