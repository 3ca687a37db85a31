/*
 * classify: decides what an inbound message is — a human reply, a bounce
 * (failed or delayed delivery), an automatic reply (out-of-office,
 * challenge-response, delivery-success notice, read receipt, abuse report)
 * or an opt-out request — from a parsed struct mime_msg. It reads no files,
 * matches no tokens and reads no scores (that is reply and ingest).
 */
#ifndef CLASSIFY_H
#define CLASSIFY_H

#include "eq.h"
#include "mime.h"

enum classify_kind {
    CLASSIFY_REPLY,
    CLASSIFY_BOUNCE,
    CLASSIFY_AUTO_REPLY,
    CLASSIFY_OPT_OUT
};

struct classify_result {
    enum classify_kind kind;
    char *bounce_recipient; /* lowercase address, or NULL */
    char status[16];        /* "5.1.1" or "" */
    int permanent;          /* 5.x.x, or a failure without any status */
    char reason[64];        /* short why: "dsn", "auto-submitted", ... */
};

/* stripped_text is the reply text after quotes/signature removal (by
 * reply), or NULL: then a rough cut of m->text at the first quote is used.
 * *out is always initialised; clear it with classify_result_clear. */
enum eq_err classify_message(const struct mime_msg *m,
                             const char *stripped_text,
                             struct classify_result *out);
/* "reply", "bounce", "auto_reply", "opt_out" (DESIGN.md inspect --json). */
const char *classify_kind_name(enum classify_kind k);
void classify_result_clear(struct classify_result *r);

#endif
