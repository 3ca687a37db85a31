/*
 * compose: builds outgoing RFC 5322/MIME messages — multipart/alternative
 * text + HTML (quoted-printable), inline PNG parts, RFC 2047 headers, the
 * conventions of DESIGN.md (Message-ID forms, Reply-To with the token,
 * Auto-Submitted, List-Unsubscribe). No header can carry CR/LF from data.
 * It renders templates but neither decides nor sends.
 */
#ifndef COMPOSE_H
#define COMPOSE_H

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "store.h"

struct compose_part {
    const char *content_type; /* "image/png" */
    const char *filename;
    const char *content_id; /* referenced as cid: in the HTML, or NULL */
    const unsigned char *data;
    size_t len;
};

enum {
    COMPOSE_AUTO_GENERATED = 1, /* a mail of its own (invitation, digest) */
    COMPOSE_AUTO_REPLIED = 2    /* the answer to a mail (confirmation) */
};

struct compose_mail {
    const char *from; /* display form, "HR Enquête <hr@org>" */
    const char *to;   /* address; to_name optional */
    const char *to_name;
    const char *reply_to;         /* may be NULL */
    const char *subject;          /* UTF-8 */
    const char *message_id;       /* without <>: "inv.TOKEN@org" */
    const char *in_reply_to;      /* without <>, or NULL */
    const char *references;       /* without <>, or NULL */
    const char *list_unsubscribe; /* "mailto:…", or NULL */
    int auto_submitted;           /* COMPOSE_AUTO_*: Auto-Submitted (RFC 3834) +
                                     X-Auto-Response-Suppress; 0 = neither */
    eq_time date;
    const char *timezone;
    const char *text;                 /* UTF-8 plain text body, required */
    const char *html;                 /* UTF-8 HTML body, or NULL */
    const struct compose_part *parts; /* related inline parts (HTML only) */
    size_t n_parts;
};

/* A whole message with CRLF line ends. *out is NUL-terminated. */
enum eq_err compose_build(const struct compose_mail *m, char **out, size_t *len,
                          struct eq_buf *diag);

/* Who is invited, about whom: the fields compose needs beyond the row. */
struct compose_invite {
    const struct eq_config *cfg;
    const struct campaign *campaign;
    const struct store_invitation *inv; /* token, language, email, names */
    const char *templates_dir;
    int reminder; /* 0 = invitation, N = Nth reminder */
    eq_time now;
};
/* Renders templates DIR/LANG/invite.{txt,html} (or reminder.*), builds the
 * message, and gives the envelope sender (LOCAL+TOKEN@DOMAIN). */
enum eq_err compose_invitation(const struct compose_invite *ci, char **out,
                               size_t *len, char **envelope_from,
                               struct eq_buf *diag);
/* mailto: answer link for one scale value ("NPS: 9" in the body). */
enum eq_err compose_answer_link(const char *reply_local, const char *domain,
                                const char *token, const char *subject,
                                const char *body, char **out);

/* The thanks after a recorded answer, or after an opt-out. */
struct compose_score {
    const char *metric; /* metric id of the campaign */
    int score;          /* < 0: not applicable */
};
struct compose_ack {
    const struct eq_config *cfg;
    const struct campaign *campaign;
    const struct store_invitation *inv; /* token, language, email, names */
    const char *templates_dir;          /* NULL = [general] templates */
    int64_t n; /* Message-ID ack.TOKEN.N@DOMAIN; must be > 0 for answers */
    const struct compose_score *scores; /* what this answer said */
    size_t n_scores;
    const char *comment; /* or NULL */
    eq_time now;
};
/* Renders DIR/LANG/confirmation.{txt,html} in the invitation's language:
 * Message-ID ack.TOKEN.N@DOMAIN, In-Reply-To/References the invitation,
 * Reply-To and envelope sender LOCAL+TOKEN@DOMAIN (a reply changes the
 * answer), Auto-Submitted: auto-replied. */
enum eq_err compose_confirmation(const struct compose_ack *ca, char **out,
                                 size_t *len, char **envelope_from,
                                 struct eq_buf *diag);
/* The one confirmation of an opt-out, from optout.{txt,html}: as above but
 * always Message-ID ack.TOKEN.0@DOMAIN (ca->n, scores and comment are not
 * used; 0 never names an answer's confirmation). */
enum eq_err compose_optout_confirmation(const struct compose_ack *ca,
                                        char **out, size_t *len,
                                        char **envelope_from,
                                        struct eq_buf *diag);

/* `campaign check` for the mails of c: renders invite, reminder (when
 * c->max_reminders > 0, once per reminder number), confirmation and optout,
 * .txt and .html, in nl and en, for sample invitees (named and unnamed, one
 * and all questions), visiting every template branch; then builds one real
 * message per sample. Every problem is a "FILE:LINE: message" line in diag,
 * all of them, not only the first. templates_dir NULL = [general]
 * templates. EQ_OK when all is well, else the first failure's code
 * (EQ_ERR_DATA for template errors, EQ_ERR_NOINPUT for a missing file). */
enum eq_err compose_check_templates(const struct eq_config *cfg,
                                    const struct campaign *c,
                                    const char *templates_dir,
                                    struct eq_buf *diag);

/* --- the feedback loop (actions managers record by replying to their
 * digest) ------------------------------------------------------------- */
struct compose_action {
    int number;
    const char *text;
    const char *metric; /* label in the mail's language, or NULL */
    int has_due;
    eq_day due;
};
struct compose_unread {
    const char *line; /* as the manager wrote it */
    const char *why;  /* in the mail's language */
};
/* The confirmation of a manager's reply: what was recorded, closed, not
 * found and not read. */
struct compose_action_ack {
    const struct eq_config *cfg;
    const char *templates_dir; /* NULL = [general] templates */
    const char *lang;          /* "nl" | "en" */
    const char *token;         /* the digest's token */
    int64_t n;                 /* > 0, the inbound mail: ack.TOKEN.N@DOMAIN */
    const char *to, *to_name;  /* the manager */
    const char *department;    /* display name */
    const char *period;        /* "2027Q1" */
    const struct compose_action *added;
    size_t n_added;
    const struct compose_action *closed; /* marked done by this reply */
    size_t n_closed;
    const int *unknown; /* Klaar:/Done: numbers with no such action */
    size_t n_unknown;
    const struct compose_unread *unread;
    size_t n_unread;
    eq_time now;
};
/* Renders DIR/LANG/action_ack.{txt,html}: Message-ID ack.TOKEN.N@DOMAIN,
 * In-Reply-To/References dig.TOKEN@DOMAIN, Reply-To and envelope sender
 * LOCAL+TOKEN@DOMAIN (a further reply adds actions or closes them),
 * Auto-Submitted: auto-replied, no List-Unsubscribe. */
enum eq_err compose_action_ack(const struct compose_action_ack *a, char **out,
                               size_t *len, char **envelope_from,
                               struct eq_buf *diag);

/* "You said, we did": the actions of the departments someone rated in a
 * period, never any scores. */
struct compose_notice_dept {
    const char *department;
    const struct compose_action *actions;
    size_t n_actions;
};
struct compose_action_notice {
    const struct eq_config *cfg;
    const char *templates_dir; /* NULL = [general] templates */
    const char *lang;          /* "nl" | "en" */
    const char *token;         /* the rater's invitation token */
    const char *to, *to_name;
    const char *title;  /* campaign title in lang */
    const char *period; /* "2027Q1" */
    const struct compose_notice_dept *depts;
    size_t n_depts;
    eq_time now;
};
/* Renders DIR/LANG/action_notice.{txt,html}: Message-ID act.TOKEN@DOMAIN
 * (one notice per rater and period, and an invitation token belongs to one
 * of each), References inv.TOKEN@DOMAIN, Reply-To and envelope sender
 * LOCAL+TOKEN@DOMAIN, Auto-Submitted: auto-generated and List-Unsubscribe
 * (opting out by mail works as for the invitation). */
enum eq_err compose_action_notice(const struct compose_action_notice *a,
                                  char **out, size_t *len, char **envelope_from,
                                  struct eq_buf *diag);
/* `campaign check` for action_ack and action_notice in nl and en (run
 * beside compose_check_templates, which does not call it). */
enum eq_err compose_check_action_templates(const struct eq_config *cfg,
                                           const char *templates_dir,
                                           struct eq_buf *diag);

#endif
