/*
 * action: reads a manager's reply to a digest — action lines (`Actie: …`,
 * `Action: …`, `- Actie …`) with an optional `[metric]` tag and due date
 * (`tot 2027-02-01`, `by 1-2-2027`), and done marks (`Klaar: 1, 3`). Pure:
 * text in, what it understood and the lines it could not read out. It knows
 * no database, mail or campaign files; metric ids come from the caller.
 */
#ifndef ACTION_H
#define ACTION_H

#include <stddef.h>

#include "eq.h"

/* Why a line was not read. */
enum action_reason {
    ACTION_NOT_AN_ACTION, /* free text: no Actie:/Action:/Klaar: label */
    ACTION_EMPTY,         /* a label with no text after it */
    ACTION_BAD_METRIC,    /* [tag] that is no metric of the campaign */
    ACTION_BAD_DATE,      /* a due date that is no real date */
    ACTION_BAD_DONE,      /* Klaar:/Done: without clean numbers */
    ACTION_TOO_LONG,      /* more than ACTION_MAX_TEXT bytes */
    ACTION_TOO_MANY       /* past ACTION_MAX_ITEMS in one reply */
};

#define ACTION_MAX_TEXT 500
#define ACTION_MAX_ITEMS 50

struct action_item {
    char *text;   /* the action, tag and due date taken out */
    char *metric; /* a metric id as the caller spelled it, or NULL */
    int has_due;
    eq_day due;
};

struct action_unread {
    char *line; /* as written, trimmed */
    enum action_reason why;
};

struct action_reply {
    struct action_item *items;
    size_t n_items;
    int *done; /* numbers marked done, in order, without repeats */
    size_t n_done;
    struct action_unread *unread;
    size_t n_unread;
};

/* Reads body (decoded UTF-8, LF or CRLF) after cutting quotes and the
 * signature (reply_strip), and stops early at a line holding stop (the
 * digest's token, in case a quote was not recognised; NULL = none).
 * metrics: the campaign's metric ids; a [tag] matches one of them
 * case-insensitively. Greeting and closing lines are skipped silently. */
enum eq_err action_parse(const char *body, const char *const *metrics,
                         size_t n_metrics, const char *stop,
                         struct action_reply *out);
void action_reply_clear(struct action_reply *r);

/* The reason as a short phrase in "nl" or "en" (anything else: nl). */
const char *action_reason_text(enum action_reason why, const char *lang);

/* A due date as written after tot/voor/by/before: 2027-02-01, 1-2-2027,
 * 1/2/2027 (day first), 1 februari 2027, 1 February 2027. 0 on success,
 * -1 when s is no date at all, -2 when it is date-shaped but invalid.
 * *used is how many bytes of s the date took. */
int action_parse_due(const char *s, eq_day *out, size_t *used);

#endif
