/*
 * classify: ordered checks — bounce first, then automatic replies, then
 * opt-out — over headers, report parts, subject and text. Phrase lists are
 * data; no regular expressions.
 */
#include "classify.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Subjects that only delivery failures carry (compared at the start). */
static const char *const bounce_subject_prefix[] = {
    "Undelivered Mail Returned to Sender",
    "Undeliverable",
    "Undeliverable mail",
    "Unzustellbar",
    "Onbestelbaar",
    "Non remis",
    "Non recapitabile",
    "No se puede entregar",
    "Returned mail",
    "Mail delivery failed",
    "Mail Delivery Failure",
    "Delivery Failure",
    "Delivery failed",
    "Delivery Notification: Delivery has failed",
    "Delivery Status Notification (Failure)",
    "Delivery Status Notification (Delay)",
    "Failure notice",
    "failure delivery",
    "Mail System Error - Returned Mail",
    "Message delivery has failed",
    "Nondeliverable mail",
    "Warning: could not send message",
    "Delayed Mail",
    "DELIVERY FAILURE",
    "Unable to deliver",
    "Undelivered mail",
    "Notice of delivery failure",
    "Mail could not be delivered",
    "Message not delivered",
    "Delivery Notification: Delivery has been delayed",
    "Warning: message",
    NULL};

/* Phrases of failure notices in subject or text; counted only when the
 * sender looks like a mail system. */
static const char *const bounce_phrases[] = {
    "undelivered mail returned to sender",
    "delivery status",
    "mail delivery failed",
    "mail failed",
    "mail failure",
    "returned mail",
    "user unknown",
    "unknown user",
    "550 5.1.1",
    "550-5.1.1",
    "could not be delivered",
    "couldn't be delivered",
    "was not delivered",
    "wasn't delivered",
    "undeliverable",
    "unzustellbar",
    "onbestelbaar",
    "delivery has failed",
    "delivery to the following recipient",
    "permanent error",
    "permanent fatal errors",
    "fatal errors",
    "this is the mail system at host",
    "i'm afraid i wasn't able to deliver",
    "i'm sorry to have to inform you",
    "unable to deliver",
    "mailbox unavailable",
    "mailbox is full",
    "mailbox full",
    "over quota",
    "quota exceeded",
    "does not exist",
    "no such user",
    "recipient address rejected",
    "message delivery failed",
    "failed to deliver",
    "delivery failed",
    "not be delivered",
    "the following addresses had permanent",
    "the following address(es) failed",
    "could not deliver",
    "host unknown",
    "unknown host",
    "no valid recipients",
    "invalid user",
    "not a valid user",
    "did not reach the following recipient",
    "had delivery problems",
    "malformed address",
    "mailbox not found",
    "account has been disabled",
    "delivery failure",
    "message was not delivered",
    "has not been delivered",
    "non remis",
    "550 ",
    "554 ",
    "553 ",
    "551 ",
    NULL};

/* Phrases that make a failure notice temporary when there is no status. */
static const char *const delay_phrases[] = {"(delay)",
                                            "delayed",
                                            "has been delayed",
                                            "will continue trying",
                                            "will be retried",
                                            "still trying",
                                            "could not send message for past",
                                            "not yet been delivered",
                                            "verzögert",
                                            "vertraagd",
                                            NULL};

/* Subjects of delivery-success notices, which mail systems also send. */
static const char *const success_words[] = {"success", "succeeded", NULL};

/* Why a list manager refused a post: the sender is no member, or the mail
 * looped. */
static const char *const list_refusals[] = {
    "not member", "not a member", "non-member",  "nonmember", "rejected",
    "refused",    "denied",       "not allowed", "loop",      NULL};

static const char *const auto_subject_prefix[] = {"Out of Office",
                                                  "Out of the Office",
                                                  "Automatic reply",
                                                  "Automatisch antwoord",
                                                  "Automatische Antwort",
                                                  "Automatisk svar",
                                                  "Autosvar",
                                                  "Afwezig",
                                                  "Abwesenheitsnotiz",
                                                  "Abwesend",
                                                  "Autoreply",
                                                  "Auto reply",
                                                  "Auto-reply",
                                                  "Autoresponse",
                                                  "Auto response",
                                                  "Auto-response",
                                                  "Vacation",
                                                  "On vacation",
                                                  "Away from",
                                                  "I am out of the office",
                                                  "I will be out of the office",
                                                  "Réponse automatique",
                                                  "Reponse automatique",
                                                  "Respuesta automática",
                                                  "Respuesta automatica",
                                                  "Risposta automatica",
                                                  "Automatyczna odpowiedź",
                                                  "Fuera de la oficina",
                                                  "Absence",
                                                  "Niet aanwezig",
                                                  "Met vakantie",
                                                  "[Auto-Reply]",
                                                  "[Autoreply]",
                                                  "AutoReply:",
                                                  NULL};

/* Anywhere in the subject: only automatic mail says these. */
static const char *const auto_subject_any[] = {"out of office autoreply",
                                               "(auto-reply)",
                                               "(autoreply)",
                                               "auto-reply:",
                                               "autoreply:",
                                               "automatic reply:",
                                               "automatisch antwoord:",
                                               "is out of the office",
                                               "is out of office",
                                               NULL};

static const char *const vacation_words[] = {"out of office",
                                             "out of the office",
                                             "vacation",
                                             "vakantie",
                                             "afwezig",
                                             "abwesend",
                                             "urlaub",
                                             "holiday",
                                             "away from",
                                             "auto",
                                             "automatic",
                                             "automatisch",
                                             NULL};

static const char *const challenge_phrases[] = {
    "please confirm you are a human",
    "confirm that you are a human",
    "prove you are a human",
    "verify your email to deliver",
    "verify your e-mail to deliver",
    "verify your email address",
    "verify that you are a person",
    "boxbe",
    "bluebottle",
    "challenge-response",
    "challenge/response",
    "i use a spam filter",
    "to have your message delivered",
    "is awaiting your verification",
    "click the link below to verify",
    NULL};

/* Whole-word opt-out requests, compared after folding to lowercase ASCII
 * words. */
static const char *const opt_out_phrases[] = {"afmelden",
                                              "afmelding",
                                              "uitschrijven",
                                              "uitschrijving",
                                              "unsubscribe",
                                              "stop",
                                              "remove me",
                                              "geen enquetes meer",
                                              "geen enquete meer",
                                              "opt out",
                                              "optout",
                                              "abmelden",
                                              "no more surveys",
                                              "niet meer mailen",
                                              "geen mail meer",
                                              "uit de lijst",
                                              "take me off",
                                              NULL};

#define OPT_OUT_MAX_WORDS 8

const char *
classify_kind_name(enum classify_kind k)
{
    switch (k) {
    case CLASSIFY_BOUNCE:
        return "bounce";
    case CLASSIFY_AUTO_REPLY:
        return "auto_reply";
    case CLASSIFY_OPT_OUT:
        return "opt_out";
    case CLASSIFY_REPLY:
        break;
    }
    return "reply";
}

void
classify_result_clear(struct classify_result *r)
{
    if (!r)
        return;
    free(r->bounce_recipient);
    memset(r, 0, sizeof *r);
}

static void
set_reason(struct classify_result *r, const char *why)
{
    snprintf(r->reason, sizeof r->reason, "%s", why);
}

/* A delivery report that is no bounce (a success, a challenge): an
 * auto-reply without recipient or status; 1, for the caller to return. */
static int
report_not_bounce(struct classify_result *r, const char *why)
{
    r->kind = CLASSIFY_AUTO_REPLY;
    set_reason(r, why);
    free(r->bounce_recipient);
    r->bounce_recipient = NULL;
    r->status[0] = '\0';
    return 1;
}

static const char *
contains_any(const char *hay, const char *const *list)
{
    if (!hay)
        return NULL;
    for (; *list; list++)
        if (strcasestr(hay, *list))
            return *list;
    return NULL;
}

static const char *
starts_any(const char *s, const char *const *list)
{
    if (!s)
        return NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    for (; *list; list++)
        if (strncasecmp(s, *list, strlen(*list)) == 0)
            return *list;
    return NULL;
}

/* First "C.S.D" status (C in 2/4/5, S and D 1–3 digits) not inside a longer
 * dotted number such as an IP address; classes limits which C count.
 * Returns where it starts, or NULL. */
static const char *
scan_status_at(const char *s, const char *classes, char out[16])
{
    if (!s)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (!strchr(classes, *p) || p[1] != '.')
            continue;
        if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
            continue;
        const char *q = p + 2;
        int a = 0, b = 0;
        while (isdigit((unsigned char)*q) && a < 4) {
            q++;
            a++;
        }
        if (a < 1 || a > 3 || *q != '.')
            continue;
        q++;
        while (isdigit((unsigned char)*q) && b < 4) {
            q++;
            b++;
        }
        if (b < 1 || b > 3 || *q == '.' || isdigit((unsigned char)*q))
            continue;
        size_t n = (size_t)(q - p);
        memcpy(out, p, n);
        out[n] = '\0';
        return p;
    }
    return NULL;
}

static int
scan_status(const char *s, const char *classes, char out[16])
{
    return scan_status_at(s, classes, out) != NULL;
}

/* The status a remote server gave for its own reply: among the statuses in
 * s, the first that follows a three-digit SMTP reply code of the same class
 * ("550 5.1.1", "550-5.1.1", "550-'5.7.1", "#550 5.1.1"), skipping x.4.7:
 * "message expired" only says the sender gave up, while a later status
 * says why ("554 4.4.7 expired <421 4.4.2 timed out>"). Falls back to an
 * x.4.7 with a code, then to any status when any_ok. Returns 1 when *out
 * was set. */
static int
pick_status(const char *s, const char *classes, int any_ok, char out[16])
{
    char first[16] = "", expired[16] = "", st[16];
    if (!s)
        return 0;
    for (const char *p = s, *at; (at = scan_status_at(p, classes, st));) {
        if (at > s && (isalnum((unsigned char)at[-1]) || at[-1] == '.')) {
            p = at + 1;
            continue;
        }
        if (!first[0])
            snprintf(first, sizeof first, "%s", st);
        /* Walk back over quotes, dashes and spaces to a reply code. */
        const char *b = at;
        int gap = 0;
        while (b > s && gap < 3 && strchr(" -'\"", b[-1])) {
            b--;
            gap++;
        }
        int coded = gap > 0 && b - s >= 3 && b[-3] == st[0] &&
                    isdigit((unsigned char)b[-2]) &&
                    isdigit((unsigned char)b[-1]) &&
                    (b - s == 3 || !isalnum((unsigned char)b[-4]));
        if (coded) {
            if (strcmp(st + 1, ".4.7") != 0) {
                snprintf(out, 16, "%s", st);
                return 1;
            }
            if (!expired[0])
                snprintf(expired, sizeof expired, "%s", st);
        }
        p = at + strlen(st);
    }
    if (expired[0]) {
        snprintf(out, 16, "%s", expired);
        return 1;
    }
    if (any_ok && first[0]) {
        snprintf(out, 16, "%s", first);
        return 1;
    }
    return 0;
}

/* An address out of a DSN recipient value ("rfc822; <a@b>") or a text
 * fragment, lowercased; NULL when there is none. */
static char *
addr_from(const char *v, size_t n)
{
    const char *semi = memchr(v, ';', n);
    if (semi) {
        n -= (size_t)(semi + 1 - v);
        v = semi + 1;
    }
    while (n > 0 && (*v == ' ' || *v == '\t' || *v == '<' || *v == '"')) {
        v++;
        n--;
    }
    size_t k = 0;
    while (k < n && !strchr(" \t\r\n<>\"',;()[]", v[k]))
        k++;
    while (k > 0 && (v[k - 1] == '.' || v[k - 1] == ':'))
        k--;
    const char *at = memchr(v, '@', k);
    if (!at || at == v || at == v + k - 1)
        return NULL;
    char *a = malloc(k + 1);
    if (!a)
        return NULL;
    for (size_t i = 0; i < k; i++)
        a[i] = (char)tolower((unsigned char)v[i]);
    a[k] = '\0';
    return a;
}

/* Value of the first "Name:" line in a header-like block; *n its length. */
static const char *
field(const char *block, const char *name, size_t *n)
{
    size_t nl = strlen(name);
    const char *p = block;
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *e = strchr(v, '\n');
            *n = e ? (size_t)(e - v) : strlen(v);
            while (*n > 0 && (v[*n - 1] == '\r' || v[*n - 1] == ' '))
                (*n)--;
            return v;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

/* The local part of addr without its "+tag", in lowercase letters and
 * digits only, so that "Mailer-Daemon", "post_master+bounces" and
 * "no.reply" read as "mailerdaemon", "postmaster" and "noreply"; cut at
 * outsz - 1. */
static void
squeezed_local(const char *addr, char *out, size_t outsz)
{
    size_t k = 0;
    for (const char *p = addr; *p && *p != '@' && *p != '+' && k + 1 < outsz;
         p++)
        if (isalnum((unsigned char)*p))
            out[k++] = (char)tolower((unsigned char)*p);
    out[k] = '\0';
}

/* "<>" or "Name <>": a From with the null address, as some gateways write
 * the sender of their notices. */
static int
null_from(const struct mime_msg *m)
{
    const char *v = mime_header(m, "From");
    if (!v)
        return 0;
    const char *lt = strrchr(v, '<');
    if (!lt)
        return 0;
    const char *p = lt + 1;
    while (*p == ' ')
        p++;
    if (*p != '>')
        return 0;
    for (p++; *p == ' ' || *p == '\t'; p++)
        ;
    return *p == '\0';
}

/* The local part of the From address, squeezed, is one of list: the whole
 * of it, since a person's name may begin with one ("postma.sterre" squeezes
 * to "postmasterre"). */
static int
from_local_is(const struct mime_msg *m, const char *const *list)
{
    char lp[32];
    if (!m->from_addr)
        return 0;
    squeezed_local(m->from_addr, lp, sizeof lp);
    for (; *list; list++)
        if (strcmp(lp, *list) == 0)
            return 1;
    return 0;
}

/* An address that takes no replies ("no-reply", "noreply", "do_not_reply"):
 * software, not a person. */
static int
is_noreply_sender(const struct mime_msg *m)
{
    static const char *const locals[] = {"noreply", "donotreply", NULL};
    return from_local_is(m, locals);
}

/* The sender is a mail system: any spelling of mailer-daemon or
 * postmaster, or the null sender. */
static int
is_system_sender(const struct mime_msg *m)
{
    static const char *const locals[] = {"mailerdaemon", "maildaemon",
                                         "postmaster",   "mailadmin",
                                         "maildelivery", NULL};
    static const char *const names[] = {"mail delivery",      "mailer-daemon",
                                        "mail administrator", "postmaster",
                                        "mailer daemon",      NULL};
    if (from_local_is(m, locals) || contains_any(m->from_name, names) ||
        null_from(m))
        return 1;
    const char *rp = mime_header(m, "Return-Path");
    if (rp && (strcmp(rp, "<>") == 0 || strcmp(rp, "< >") == 0))
        return 1;
    return 0;
}

static int
is_excluded_addr(const struct mime_msg *m, const char *a)
{
    if (strstr(a, "mailer-daemon") || strstr(a, "postmaster"))
        return 1;
    if (m->from_addr && strcasecmp(a, m->from_addr) == 0)
        return 1;
    for (size_t i = 0; i < m->n_to; i++)
        if (strcasecmp(a, m->to[i]) == 0)
            return 1;
    return 0;
}

/* Where the returned copy of the original message starts in a bounce's
 * text: statuses below it belong to the original, not to the failure. */
static size_t
notice_len(const char *text)
{
    static const char *const marks[] = {
        "original message headers", "\nreceived: ", "\nreturn-path: ", NULL};
    size_t n = strlen(text);
    for (const char *const *k = marks; *k; k++) {
        const char *p = strcasestr(text, *k);
        if (p && (size_t)(p - text) < n)
            n = (size_t)(p - text);
    }
    return n;
}

/* Whether the "<" at p follows "MAIL FROM:", as the sender's address does
 * in an SMTP transcript (also split over lines: "MAIL\n    FROM:<a@b>"). */
static int
after_mail_from(const char *text, const char *p)
{
    const char *b = p;
    while (b > text && b[-1] == ' ')
        b--;
    if (b - text < 5 || strncasecmp(b - 5, "from:", 5) != 0)
        return 0;
    b -= 5;
    while (b > text && isspace((unsigned char)b[-1]))
        b--;
    return b - text >= 4 && strncasecmp(b - 4, "mail", 4) == 0 &&
           (b - text == 4 || !isalnum((unsigned char)b[-5]));
}

/* No address is longer (RFC 5321 allows 254); scans stop there, so that
 * text full of "<" or "@" costs linear time. */
#define ADDR_SCAN_MAX 256

/* The first address before end that is not the bounce's sender, receiver
 * or the transcript's MAIL FROM: an <address>, else a bare one. */
static char *
scan_recipient(const struct mime_msg *m, const char *text, const char *end)
{
    static const char stop[] = " \t\r\n<>\"',;:()[]";
    for (const char *p = strchr(text, '<'); p && p < end;
         p = strchr(p + 1, '<')) {
        const char *e = p + 1;
        while (*e && *e != '>' && *e != '<' && e - p < ADDR_SCAN_MAX)
            e++;
        if (*e != '>' || after_mail_from(text, p))
            continue;
        char *a = addr_from(p + 1, (size_t)(e - p - 1));
        if (a && !is_excluded_addr(m, a))
            return a;
        free(a);
    }
    /* Every "@" of one word gives the same word: go on after it. */
    for (const char *p = strchr(text, '@'), *e = p; p && p < end;
         p = strchr(e > p ? e : p + 1, '@')) {
        const char *b = p;
        while (b > text && p - b < ADDR_SCAN_MAX && !strchr(stop, b[-1]))
            b--;
        e = p;
        while (*e && e - p < ADDR_SCAN_MAX && !strchr(stop, *e))
            e++;
        if (b > text && b[-1] == '<' && after_mail_from(text, b - 1))
            continue;
        char *a = addr_from(b, (size_t)(e - b));
        if (a && !is_excluded_addr(m, a) && strchr(a, '.'))
            return a;
        free(a);
    }
    return NULL;
}

/* The failed recipient named in a bounce's text: a DSN-style field first,
 * then an address in the notice itself, then one in the returned message
 * below it (whose Message-ID and From say nothing about the failure). */
static char *
text_recipient(const struct mime_msg *m, const char *text)
{
    static const char *const names[] = {"Original-Recipient", "Final-Recipient",
                                        NULL};
    size_t n;
    if (!text)
        return NULL;
    for (const char *const *f = names; *f; f++) {
        const char *v = field(text, *f, &n);
        if (v) {
            char *a = addr_from(v, n);
            if (a)
                return a;
        }
    }
    char *a = scan_recipient(m, text, text + notice_len(text));
    return a ? a : scan_recipient(m, text, text + strlen(text));
}

enum dsn_action { DSN_NONE, DSN_FAILED, DSN_DELAYED, DSN_SUCCESS };

/* Reads the first recipient block of a delivery-status part that carries
 * an Action or Status. */
static enum eq_err
read_dsn(const char *ds, enum dsn_action *act, struct classify_result *r)
{
    *act = DSN_NONE;
    const char *p = ds;
    /* Per-recipient blocks follow the per-message block after a blank
     * line; a block is found by its own Action/Status lines. */
    while (p && *p) {
        const char *end = strstr(p, "\n\n");
        size_t blen = end ? (size_t)(end - p) : strlen(p);
        char *block = malloc(blen + 1);
        if (!block)
            return EQ_ERR_NOMEM;
        memcpy(block, p, blen);
        block[blen] = '\0';
        size_t n;
        const char *action = field(block, "Action", &n);
        size_t sn;
        const char *status = field(block, "Status", &sn);
        if (action || status) {
            if (action) {
                if (n >= 6 && strncasecmp(action, "failed", 6) == 0)
                    *act = DSN_FAILED;
                else if (n >= 7 && strncasecmp(action, "delayed", 7) == 0)
                    *act = DSN_DELAYED;
                else if ((n >= 9 && strncasecmp(action, "delivered", 9) == 0) ||
                         (n >= 7 && strncasecmp(action, "relayed", 7) == 0) ||
                         (n >= 8 && strncasecmp(action, "expanded", 8) == 0))
                    *act = DSN_SUCCESS;
            }
            if (status) {
                char tmp[64];
                snprintf(tmp, sizeof tmp, "%.*s", (int)(sn < 63 ? sn : 63),
                         status);
                scan_status(tmp, "245", r->status);
            }
            /* The Status field is the reporting MTA's summary; the
             * diagnostic holds the remote server's own words. A generic
             * x.0.0 or an "expired" x.4.7 says less than the status the
             * remote server gave with its reply code, and so does a
             * Status that the reporting MTA derived on its own (sendmail
             * writing 5.1.1 above "550 5.7.1 blacklisted"). */
            const char *diag = field(block, "Diagnostic-Code", &n);
            if (diag) {
                char *d = malloc(n + 1), st[16];
                if (!d) {
                    free(block);
                    return EQ_ERR_NOMEM;
                }
                memcpy(d, diag, n);
                d[n] = '\0';
                int generic = !r->status[0] ||
                              strcmp(r->status + 1, ".0.0") == 0 ||
                              strcmp(r->status + 1, ".4.7") == 0;
                if (pick_status(d, "45", 0, st)) {
                    if (!r->status[0] || st[0] == r->status[0] ||
                        (*act == DSN_FAILED && st[0] == '5'))
                        snprintf(r->status, sizeof r->status, "%s", st);
                } else if (generic && scan_status(d, "45", st) &&
                           (!r->status[0] || st[0] == r->status[0])) {
                    snprintf(r->status, sizeof r->status, "%s", st);
                }
                free(d);
            }
            const char *rv = field(block, "Original-Recipient", &n);
            char *a = rv ? addr_from(rv, n) : NULL;
            if (!a && (rv = field(block, "Final-Recipient", &n)))
                a = addr_from(rv, n);
            if (a) {
                free(r->bounce_recipient);
                r->bounce_recipient = a;
            }
            free(block);
            return EQ_OK;
        }
        free(block);
        p = end ? end + 2 : NULL;
    }
    return EQ_OK;
}

static int
subject_says_bounce(const char *subj)
{
    return starts_any(subj, bounce_subject_prefix) != NULL;
}

/* Words after a bare SMTP reply code, mapped to the RFC 3463 status that
 * mail systems commonly pair with them; NULL keeps the class only. */
static const char *
words_detail(const char *w)
{
    static const struct {
        const char *word, *detail;
    } map[] = {{"user unknown", ".1.1"},
               {"unknown user", ".1.1"},
               {"no such user", ".1.1"},
               {"unknown recipient", ".1.1"},
               {"recipient unknown", ".1.1"},
               {"invalid recipient", ".1.1"},
               {"does not exist", ".1.1"},
               {"no mailbox", ".1.1"},
               {"mailbox unavailable", ".1.1"},
               {"mailbox not found", ".1.1"},
               {"address rejected", ".1.1"},
               {"mailbox full", ".2.2"},
               {"mailbox is full", ".2.2"},
               {"over quota", ".2.2"},
               {"quota exceeded", ".2.2"},
               {"exceeded storage", ".2.2"},
               {"insufficient storage", ".2.2"},
               {"too large", ".3.4"},
               {"too big", ".3.4"},
               {"size limit", ".3.4"},
               {"message size", ".3.4"},
               {"spam", ".7.1"},
               {"blocked", ".7.1"},
               {"blacklist", ".7.1"},
               {"blocklist", ".7.1"},
               {"access denied", ".7.1"},
               {"policy", ".7.1"},
               {NULL, NULL}};
    for (size_t i = 0; map[i].word; i++)
        if (strcasestr(w, map[i].word))
            return map[i].detail;
    return NULL;
}

/* A status built from a bare reply code ("Remote host said: 550 No such
 * user", "#550 …", "said: 552 mailbox full") in the first n bytes of t. */
static int
code_status(const char *t, size_t n, char out[16])
{
    for (size_t i = 0; i + 4 <= n; i++) {
        const char *p = t + i;
        if ((p[0] != '4' && p[0] != '5') || !isdigit((unsigned char)p[1]) ||
            !isdigit((unsigned char)p[2]) ||
            (p[3] != ' ' && p[3] != '-' && p[3] != ':'))
            continue;
        if (i > 0 && !strchr(" \t\n#'(:<", p[-1]))
            continue;
        /* Only a code that a server said: after "said:", "<<<", "#",
         * "returned '", "error … :" or "reason:", on its line or at the end
         * of the line before (Exim: "SMTP error from remote mail server
         * after RCPT TO:<a@b>:" then the reply on the next line). */
        const char *ls = p;
        int lines = 0;
        while (ls > t && !(ls[-1] == '\n' && ++lines == 2))
            ls--;
        char head[240];
        size_t hl = (size_t)(p - ls) < sizeof head - 1 ? (size_t)(p - ls)
                                                       : sizeof head - 1;
        memcpy(head, p - hl, hl);
        head[hl] = '\0';
        const char *own = strrchr(head, '\n');
        own = own ? own + 1 : head;
        int at_line_start = own[strspn(own, " \t")] == '\0';
        if (!(i > 0 && p[-1] == '#') && !strstr(head, "said") &&
            !strstr(head, "<<<") && !strcasestr(head, "returned") &&
            !strcasestr(head, "error") && !strcasestr(head, "reason:") &&
            !(at_line_start && p[3] == ':'))
            continue;
        char tail[240];
        size_t tl = n - i < sizeof tail - 1 ? n - i : sizeof tail - 1;
        memcpy(tail, p, tl);
        tail[tl] = '\0';
        const char *d = words_detail(tail + 4);
        snprintf(out, 16, "%c%s", p[0], d ? d : ".0.0");
        return 1;
    }
    return 0;
}

/* The status a plain-text notice gives: the statuses next to the failed
 * recipient's address first (a notice listing several recipients gives one
 * line each), then any in the notice, then a bare reply code. */
static int
text_status(const char *text, const char *rcpt, int bare_code, char out[16])
{
    if (!text)
        return 0;
    size_t n = notice_len(text);
    char *t = malloc(n + 1);
    int ok = 0;
    if (!t)
        return 0;
    memcpy(t, text, n);
    t[n] = '\0';
    const char *at = rcpt ? strcasestr(t, rcpt) : NULL;
    /* Bounded, so that hostile text repeating the address costs little. */
    for (int tries = 0; at && !ok && tries < 16;
         at = strcasestr(at + 1, rcpt), tries++) {
        /* The rest of that paragraph. */
        const char *e = strstr(at, "\n\n");
        size_t wl = e ? (size_t)(e - at) : strlen(at);
        if (wl > 2048)
            wl = 2048;
        char *w = malloc(wl + 1);
        if (!w)
            break;
        memcpy(w, at, wl);
        w[wl] = '\0';
        ok = pick_status(w, "45", 1, out);
        free(w);
    }
    if (!ok)
        ok = pick_status(t, "45", 1, out);
    /* qmail's own "(#5.0.0)" next to "Remote host said: 550 no such
     * user": the server's words say more. */
    char st[16], qm[24];
    snprintf(qm, sizeof qm, "(#%s)", ok ? out : "");
    if (ok && strcmp(out + 1, ".0.0") == 0 && strstr(t, qm) &&
        code_status(t, n, st) && st[0] == out[0])
        snprintf(out, 16, "%s", st);
    /* A notice that is only a wrapper around a forwarded notice. */
    if (!ok)
        ok = pick_status(text, "45", 1, out);
    if (!ok && bare_code)
        ok = code_status(t, n, out);
    free(t);
    return ok;
}

/* Fills in status, recipient and permanence of a bounce. */
static void
finish_bounce(const struct mime_msg *m, struct classify_result *r,
              int delayed_hint)
{
    r->kind = CLASSIFY_BOUNCE;
    if (!r->status[0])
        scan_status(m->delivery_status, "54", r->status);
    if (!r->bounce_recipient) {
        const char *xf = mime_header(m, "X-Failed-Recipients");
        if (xf)
            r->bounce_recipient = addr_from(xf, strlen(xf));
    }
    if (!r->bounce_recipient)
        r->bounce_recipient = text_recipient(m, m->delivery_status);
    if (!r->bounce_recipient)
        r->bounce_recipient = text_recipient(m, m->text);
    /* A DSN's generic x.0.0 or expiry x.4.7 leaves the cause to the notice
     * text, which often quotes the remote server per recipient. */
    int generic = !r->status[0] || strcmp(r->status + 1, ".0.0") == 0 ||
                  strcmp(r->status + 1, ".4.7") == 0;
    char st[16];
    if (generic &&
        text_status(m->text, r->bounce_recipient, !r->status[0], st) &&
        (!r->status[0] || st[0] == r->status[0]))
        snprintf(r->status, sizeof r->status, "%s", st);
    if (r->status[0])
        r->permanent = r->status[0] == '5';
    else
        r->permanent = !delayed_hint;
}

/* The string value of "key" in JSON text, cut at the first escape; also
 * found inside a JSON string that holds escaped JSON (Amazon SNS wraps an
 * SES notification so). Returns 1 when found. */
static int
json_str(const char *t, const char *key, char *out, size_t outsz)
{
    size_t kl = strlen(key);
    for (const char *p = strstr(t, key); p; p = strstr(p + 1, key)) {
        if (p == t || p[-1] != '"')
            continue;
        const char *q = p + kl;
        q += *q == '\\';
        if (*q++ != '"')
            continue;
        while (*q == ' ' || *q == '\t' || *q == '\n')
            q++;
        if (*q++ != ':')
            continue;
        while (*q == ' ' || *q == '\t' || *q == '\n')
            q++;
        q += *q == '\\';
        if (*q++ != '"')
            continue;
        size_t n = 0;
        while (q[n] && q[n] != '"' && q[n] != '\\' && n + 1 < outsz)
            n++;
        memcpy(out, q, n);
        out[n] = '\0';
        return 1;
    }
    return 0;
}

/* Amazon SES event notifications (delivered by SNS as a JSON text body):
 * "Bounce" is a bounce with its own per-recipient status, "Delivery" a
 * delivery-success notice and "Complaint" an abuse report. */
static int
check_ses(const struct mime_msg *m, struct classify_result *r)
{
    char type[32], v[256];
    if (!strstr(m->text, "notificationType") ||
        !json_str(m->text, "notificationType", type, sizeof type) ||
        !json_str(m->text, "messageId", v, sizeof v))
        return 0;
    if (strcmp(type, "Delivery") == 0) {
        r->kind = CLASSIFY_AUTO_REPLY;
        set_reason(r, "dsn-success");
        return 1;
    }
    if (strcmp(type, "Complaint") == 0) {
        r->kind = CLASSIFY_AUTO_REPLY;
        set_reason(r, "feedback report");
        return 1;
    }
    if (strcmp(type, "Bounce") != 0)
        return 0;
    set_reason(r, "ses bounce");
    r->kind = CLASSIFY_BOUNCE;
    if (json_str(m->text, "emailAddress", v, sizeof v))
        r->bounce_recipient = addr_from(v, strlen(v));
    if (!(json_str(m->text, "status", v, sizeof v) &&
          scan_status(v, "45", r->status)) &&
        json_str(m->text, "diagnosticCode", v, sizeof v))
        pick_status(v, "45", 1, r->status);
    if (r->status[0])
        r->permanent = r->status[0] == '5';
    else
        r->permanent = json_str(m->text, "bounceType", v, sizeof v) &&
                       strcmp(v, "Permanent") == 0;
    return 1;
}

/* The first phrase of list that starts within the first n bytes of hay. */
static const char *
contains_within(const char *hay, size_t n, const char *const *list)
{
    if (!hay)
        return NULL;
    for (; *list; list++) {
        const char *p = strcasestr(hay, *list);
        if (p && (size_t)(p - hay) < n)
            return *list;
    }
    return NULL;
}

/* An Auto-Submitted header other than "no": mail that software sent. */
static int
auto_submitted(const struct mime_msg *m)
{
    const char *v = mime_header(m, "Auto-Submitted");
    return v && *v &&
           !(strncasecmp(v, "no", 2) == 0 &&
             (v[2] == '\0' || v[2] == ';' || v[2] == ' ' || v[2] == '('));
}

/* The From address is a list's administrative one: "owner-team@", or
 * "team-admin@", "-owner", "-request", "-bounces". A person's own address
 * can be too ("kees-admin@"). */
static int
list_admin_sender(const struct mime_msg *m)
{
    static const char *const suffixes[] = {"-admin", "-owner", "-request",
                                           "-bounces", NULL};
    if (!m->from_addr)
        return 0;
    const char *at = strchr(m->from_addr, '@');
    size_t n = at ? (size_t)(at - m->from_addr) : strlen(m->from_addr);
    if (n > 6 && strncasecmp(m->from_addr, "owner-", 6) == 0)
        return 1;
    for (const char *const *k = suffixes; *k; k++) {
        size_t sl = strlen(*k);
        if (n > sl && strncasecmp(m->from_addr + n - sl, *k, sl) == 0)
            return 1;
    }
    return 0;
}

/* A mailing-list manager's notice: sent from the list's administrative
 * address, and marked as sent by software: Auto-Submitted, Precedence
 * bulk, list or junk, or a list manager's own header. List-Id alone is
 * not enough: a group alias adds it to a person's mail too, and a person's
 * address may end in "-admin". Wording alone is not either: "loop" is in
 * "het loopt goed". */
static int
list_notice(const struct mime_msg *m)
{
    static const char *const marks[] = {
        "X-MLServer", "X-ML-Name", "X-Mailman-Version", "Mailing-List", NULL};
    static const char *const bulk[] = {"bulk", "list", "junk", NULL};
    if (!list_admin_sender(m))
        return 0;
    if (auto_submitted(m))
        return 1;
    const char *v = mime_header(m, "Precedence");
    if (v)
        for (const char *const *k = bulk; *k; k++)
            if (strcasecmp(v, *k) == 0)
                return 1;
    for (const char *const *k = marks; *k; k++)
        if (mime_header(m, *k))
            return 1;
    return 0;
}

static int
check_bounce(const struct mime_msg *m, struct classify_result *r,
             enum eq_err *err)
{
    if (check_ses(m, r))
        return 1;
    const char *rt = m->report_type;
    if ((rt && strcasecmp(rt, "delivery-status") == 0) || m->delivery_status) {
        enum dsn_action act = DSN_NONE;
        if (m->delivery_status &&
            (*err = read_dsn(m->delivery_status, &act, r)) != EQ_OK)
            return 1;
        if (act == DSN_SUCCESS || (act == DSN_NONE && r->status[0] == '2'))
            return report_not_bounce(r, "dsn-success");
        /* A challenge-response service reports the mail it holds as a
         * DSN (failed, 4.7.0) that asks the sender to confirm. */
        if (r->status[0] != '5' && contains_any(m->text, challenge_phrases))
            return report_not_bounce(r, "challenge-response");
        set_reason(r, "dsn");
        int delayed =
            act == DSN_DELAYED ||
            (act == DSN_NONE && contains_any(m->subject, delay_phrases));
        finish_bounce(m, r, delayed);
        if (act == DSN_FAILED && !r->status[0])
            r->permanent = 1;
        return 1;
    }
    /* A no-reply sender that returns a message is a mail system too. */
    int system =
        is_system_sender(m) || (is_noreply_sender(m) && m->n_attachments > 0);
    int xfailed = mime_header(m, "X-Failed-Recipients") != NULL;
    int subj = subject_says_bounce(m->subject);
    /* From a mail system: failure words, or a server's reply with its
     * status ("Out: 451 4.3.0 Error"), unless the subject reports success. */
    char st[16];
    int failed = system &&
                 (contains_any(m->subject, bounce_phrases) ||
                  contains_any(m->text, bounce_phrases) ||
                  pick_status(m->text, "45", 0, st)) &&
                 !contains_any(m->subject, success_words);
    if (subj || xfailed || failed) {
        set_reason(r, subj      ? "bounce subject"
                      : xfailed ? "x-failed-recipients"
                                : "bounce text");
        int delayed = contains_any(m->subject, delay_phrases) ||
                      (!subj && contains_any(m->text, delay_phrases));
        finish_bounce(m, r, delayed != 0);
        return 1;
    }
    if (list_notice(m) &&
        (contains_any(m->subject, list_refusals) ||
         contains_within(m->text, notice_len(m->text), list_refusals))) {
        set_reason(r, "list rejection");
        finish_bounce(m, r, 0);
        return 1;
    }
    return 0;
}

static int
check_auto(const struct mime_msg *m, struct classify_result *r)
{
    const char *rt = m->report_type;
    const char *v;
    if (rt && strcasecmp(rt, "disposition-notification") == 0) {
        set_reason(r, "read receipt");
        goto yes;
    }
    /* Some providers (Hotmail's JMRP) send complaints as a bare attached
     * message without the ARF report part. */
    if ((rt && strcasecmp(rt, "feedback-report") == 0) || m->feedback_report ||
        (m->n_attachments > 0 &&
         strncasecmp(m->subject, "complaint about message from ", 29) == 0)) {
        set_reason(r, "feedback report");
        goto yes;
    }
    if (auto_submitted(m)) {
        set_reason(r, "auto-submitted");
        goto yes;
    }
    if (mime_header(m, "X-Autoreply") || mime_header(m, "X-Autorespond") ||
        mime_header(m, "X-Autoresponder") ||
        mime_header(m, "X-Autogenerated")) {
        set_reason(r, "x-autoreply");
        goto yes;
    }
    if ((v = mime_header(m, "Precedence")) &&
        strcasecmp(v, "auto_reply") == 0) {
        set_reason(r, "precedence");
        goto yes;
    }
    if (starts_any(m->subject, auto_subject_prefix) ||
        contains_any(m->subject, auto_subject_any)) {
        set_reason(r, "subject");
        goto yes;
    }
    if ((v = mime_header(m, "Precedence")) &&
        (strcasecmp(v, "bulk") == 0 || strcasecmp(v, "junk") == 0) &&
        (contains_any(m->subject, vacation_words) ||
         contains_any(m->text, vacation_words))) {
        set_reason(r, "precedence");
        goto yes;
    }
    if (contains_any(m->subject, challenge_phrases) ||
        contains_any(m->text, challenge_phrases)) {
        set_reason(r, "challenge-response");
        goto yes;
    }
    if (list_notice(m)) {
        set_reason(r, "list manager");
        goto yes;
    }
    /* Whatever else a mail system or a no-reply address sends is not a
     * human answer. */
    if (is_system_sender(m)) {
        set_reason(r, "mail system");
        goto yes;
    }
    if (is_noreply_sender(m)) {
        set_reason(r, "no-reply sender");
        goto yes;
    }
    return 0;
yes:
    r->kind = CLASSIFY_AUTO_REPLY;
    return 1;
}

/* Text above the first quote, quote header or signature, when the caller
 * gave no stripped text. */
static char *
rough_strip(const char *t)
{
    static const char *const stops[] = {"-----original message-----",
                                        "-----oorspronkelijk bericht-----",
                                        "________________________________",
                                        "from:",
                                        "van:",
                                        "sent:",
                                        "verzonden:",
                                        "-- ",
                                        "begin forwarded message",
                                        "---------- forwarded message",
                                        NULL};
    struct eq_buf b = {0};
    const char *p = t ? t : "";
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *s = p;
        while (s < p + n && (*s == ' ' || *s == '\t'))
            s++;
        if (*s == '>' || starts_any(s, stops))
            break;
        /* "On … wrote:" / "Op … schreef …:" */
        if (n > 0 && p[n - 1 - (p[n - 1] == '\r')] == ':' &&
            (strncasecmp(s, "on ", 3) == 0 || strncasecmp(s, "op ", 3) == 0 ||
             strncasecmp(s, "am ", 3) == 0 || strncasecmp(s, "le ", 3) == 0))
            break;
        if (buf_addn(&b, p, n) != EQ_OK || buf_addc(&b, '\n') != EQ_OK) {
            buf_free(&b);
            return NULL;
        }
        p = eol ? eol + 1 : p + n;
    }
    if (buf_add(&b, "") != EQ_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* Lowercase ASCII words separated by single spaces; "ê" and friends fold to
 * their base letter so "enquêtes" reads as "enquetes". *words gets the
 * count; *digits is set when the text holds a digit. */
static char *
fold_words(const char *s, int *words, int *digits)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    int in_word = 0;
    *words = 0;
    *digits = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int c = 0;
        if (isalnum(*p)) {
            c = tolower(*p);
            if (isdigit(*p))
                *digits = 1;
        } else if (*p == 0xC3 && p[1]) {
            /* Latin-1 supplement letters: map the common accented vowels. */
            unsigned char x = p[1] | 0x20;
            static const char map[32] = "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
            c = (x >= 0xA0 && x <= 0xBF) ? map[x - 0xA0] : 0;
            if (c == '/')
                c = 0;
            p++;
        } else if (*p == '-' && in_word && isalnum(p[1])) {
            continue; /* "opt-out" → "optout" */
        }
        if (c) {
            if (!in_word && w > 0)
                out[w++] = ' ';
            if (!in_word)
                (*words)++;
            out[w++] = (char)c;
            in_word = 1;
        } else {
            in_word = 0;
        }
    }
    out[w] = '\0';
    return out;
}

static int
has_phrase(const char *folded, const char *phrase)
{
    size_t pl = strlen(phrase);
    for (const char *p = strstr(folded, phrase); p; p = strstr(p + 1, phrase)) {
        int start_ok = p == folded || p[-1] == ' ';
        int end_ok = p[pl] == '\0' || p[pl] == ' ';
        if (start_ok && end_ok)
            return 1;
    }
    return 0;
}

/* Subject without reply prefixes and without the [#TOKEN] tag. */
static char *
bare_subject(const char *subj)
{
    static const char *const pre[] = {
        "re:", "aw:", "antw:", "sv:", "fw:", "fwd:", "wg:", "tr:", NULL};
    const char *s = subj ? subj : "";
    for (;;) {
        while (*s == ' ')
            s++;
        const char *p = starts_any(s, pre);
        if (!p)
            break;
        s += strlen(p);
    }
    char *c = eq_strdup(s);
    if (!c)
        return NULL;
    char *tag = strstr(c, "[#");
    if (tag)
        *tag = '\0';
    return c;
}

static int
opt_out_text(const char *text, int *matched, enum eq_err *err)
{
    int words, digits;
    char *f = fold_words(text, &words, &digits);
    if (!f) {
        *err = EQ_ERR_NOMEM;
        return 0;
    }
    *matched = 0;
    if (words > 0 && words <= OPT_OUT_MAX_WORDS && !digits)
        for (const char *const *p = opt_out_phrases; *p; p++) {
            char *pf;
            int pw, pd;
            if (!(pf = fold_words(*p, &pw, &pd))) {
                *err = EQ_ERR_NOMEM;
                break;
            }
            *matched = has_phrase(f, pf);
            free(pf);
            if (*matched)
                break;
        }
    free(f);
    return words;
}

static int
check_opt_out(const struct mime_msg *m, const char *stripped,
              struct classify_result *r, enum eq_err *err)
{
    char *own = NULL;
    int matched = 0, words;
    if (!stripped) {
        own = rough_strip(m->text);
        if (!own) {
            *err = EQ_ERR_NOMEM;
            return 0;
        }
        stripped = own;
    }
    words = opt_out_text(stripped, &matched, err);
    free(own);
    if (*err != EQ_OK)
        return 0;
    if (words == 0) {
        char *s = bare_subject(m->subject);
        if (!s) {
            *err = EQ_ERR_NOMEM;
            return 0;
        }
        opt_out_text(s, &matched, err);
        free(s);
    }
    if (matched) {
        r->kind = CLASSIFY_OPT_OUT;
        set_reason(r, "opt-out word");
    }
    return matched;
}

static enum eq_err
classify_at(const struct mime_msg *m, const char *stripped_text,
            struct classify_result *out)
{
    enum eq_err err = EQ_OK;
    memset(out, 0, sizeof *out);
    out->kind = CLASSIFY_REPLY;
    if (!m)
        return EQ_ERR_USAGE;
    if (check_bounce(m, out, &err) || err != EQ_OK)
        goto done;
    if (check_auto(m, out))
        goto done;
    if (check_opt_out(m, stripped_text, out, &err) || err != EQ_OK)
        goto done;
    set_reason(out, "reply");
done:
    if (err != EQ_OK)
        classify_result_clear(out);
    return err;
}

enum eq_err
classify_message(const struct mime_msg *m, const char *stripped_text,
                 struct classify_result *out)
{
    return classify_at(m, stripped_text, out);
}
