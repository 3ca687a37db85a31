/*
 * feedback: closes the loop after a digest. A manager's reply to their
 * digest becomes recorded actions and done marks (only from a manager of
 * that digest's department, else Review) with a confirmation of what was
 * read and what not; and raters hear once per period what the departments
 * they rated do (campaigns with share_actions = yes), never any scores.
 * It parses nothing itself (action) and holds no SQL (store_action).
 */
#ifndef FEEDBACK_H
#define FEEDBACK_H

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "store.h"
#include "transport.h"

struct feedback_ctx {
    struct store *st;
    const struct eq_config *cfg;
    struct campaign *const *campaigns;
    const int64_t *campaign_ids; /* parallel to campaigns; NULL: by name */
    size_t n_campaigns;
    struct transport *tx;      /* NULL: no mail is sent */
    const char *templates_dir; /* NULL = [general] templates */
    eq_time now;
    /* Notices wait until the newest action of the period is this old, so
     * that one mail tells about the actions of several departments. */
    eq_time settle;
};

/* A confirmation owed to a manager, sent after the caller's commit. */
struct feedback_ack;

struct feedback_result {
    const char *outcome; /* "recorded" | "review" (static) */
    char note[128];      /* why, for review; a summary otherwise */
    size_t added, closed;
    struct feedback_ack *ack; /* owned by the caller; NULL when none */
};

/* A reply (text: the decoded body) from sender to the digest with token,
 * inside the caller's transaction; inbound_id is the recorded mail (also
 * the N of the confirmation's ack.TOKEN.N). A reply that is not from a
 * manager of the digest's department, answers the HR digest or holds no
 * action or done mark goes to review (no confirmation). */
enum eq_err feedback_reply(const struct feedback_ctx *ctx, const char *token,
                           const char *sender, const char *text,
                           int64_t inbound_id, struct feedback_result *out,
                           struct eq_buf *diag);
/* Composes and sends k through ctx->tx. */
enum eq_err feedback_ack_send(const struct feedback_ctx *ctx,
                              const struct feedback_ack *k,
                              struct eq_buf *diag);
void feedback_ack_free(struct feedback_ack *k);

struct feedback_summary {
    size_t notices;        /* sent */
    size_t notices_failed; /* composed or sent in vain (see diag) */
};
/* The "you said, we did" notices due now: for every campaign with
 * share_actions, every period with actions, each reachable rater of a
 * department with actions gets one mail (logged in action_notice, never a
 * second one for that period). Runs outside a transaction. A rater whose
 * mail fails is told in diag and tried again next time; the first error
 * is returned after the others were tried. */
enum eq_err feedback_notices(const struct feedback_ctx *ctx,
                             struct feedback_summary *sum, struct eq_buf *diag);

#endif
