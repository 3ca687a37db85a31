/*
 * reply: the human answer inside a reply's plain text. Owns quote, forward
 * and signature stripping and reading scores, n.v.t. and the comment as
 * DESIGN.md "Reading an answer" says. Works on decoded UTF-8 text only: it
 * does no MIME, no token matching, no bounce or auto-reply detection.
 */
#ifndef REPLY_H
#define REPLY_H

#include <stddef.h>

#include "eq.h"

struct reply_metric {
    const char *id;       /* "nps" */
    const char *label_nl; /* may be NULL */
    const char *label_en; /* may be NULL */
    int min, max;
};

#define REPLY_MAX_METRICS 16

struct reply_answer {
    size_t n_scores;
    struct {
        char id[32];
        int score;
    } scores[REPLY_MAX_METRICS];
    int not_applicable;
    int needs_review;
    char *comment; /* "" when none, never NULL after success */
    char *text;    /* the stripped reply (quotes, forwarded blocks, signature
                      removed; greeting kept out) */
    char review_reason[64];
};

/* Strip quotes, quote headers ("Op ... schreef ...:", "On ... wrote:", and
 * the like in about twenty languages, also wrapped over up to four lines or
 * date-first as some webmails write them), header blocks ("Van:/From: ...
 * Verzonden:/Sent:" and their translations), "-----Original Message-----"
 * and forwarded-message separators, mailing-list footers, lines starting
 * with ">", and signatures ("-- " line, "Verzonden vanaf mijn iPhone", "Sent
 * from my iPhone/Android" and translations, "Met vriendelijke groet," +
 * name lines, "Groet,", "Kind regards," closings followed by a short
 * signature block); invisible characters (zero-width, BOM, soft hyphen,
 * tracker dots) are trimmed. *out is the reply text (trimmed, LF line ends,
 * greeting still in), owned by the caller. When nothing stands above the
 * first quote (bottom-posting), the text below the quoted block is taken
 * instead. */
enum eq_err reply_strip(const char *body, char **out);
/* Strips, then reads the answer for metrics[0..n_metrics) (n_metrics <=
 * REPLY_MAX_METRICS). On success *out is filled (clear it with
 * reply_answer_clear); a body with no usable answer is still EQ_OK, with
 * needs_review set and review_reason saying why. */
enum eq_err reply_read(const char *body, const struct reply_metric *metrics,
                       size_t n_metrics, struct reply_answer *out);
/* Frees comment and text and zeroes the struct; NULL-safe. */
void reply_answer_clear(struct reply_answer *a);

#endif
