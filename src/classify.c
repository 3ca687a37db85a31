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
    "delivery status notification",
    "mail delivery failed",
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
 * dotted number such as an IP address; classes limits which C count. */
static int
scan_status(const char *s, const char *classes, char out[16])
{
    if (!s)
        return 0;
    for (const char *p = s; *p; p++) {
        if (!strchr(classes, *p) || p[1] != '.')
            continue;
        if (p > s && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
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

static int
is_system_sender(const struct mime_msg *m)
{
    static const char *const locals[] = {
        "mailer-daemon", "postmaster", "mail-daemon",   "mailerdaemon",
        "maildaemon",    "mailadmin",  "mail.delivery", NULL};
    static const char *const names[] = {"mail delivery",      "mailer-daemon",
                                        "mail administrator", "postmaster",
                                        "mailer daemon",      NULL};
    if (m->from_addr)
        for (const char *const *l = locals; *l; l++)
            if (strncasecmp(m->from_addr, *l, strlen(*l)) == 0)
                return 1;
    if (contains_any(m->from_name, names))
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

/* The failed recipient named in a bounce's text: a DSN-style field first,
 * then the first <address> that is not the bounce's sender or receiver. */
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
    for (const char *p = strchr(text, '<'); p; p = strchr(p + 1, '<')) {
        const char *e = strchr(p, '>');
        if (!e)
            break;
        char *a = addr_from(p + 1, (size_t)(e - p - 1));
        if (a && !is_excluded_addr(m, a))
            return a;
        free(a);
    }
    for (const char *p = strchr(text, '@'); p; p = strchr(p + 1, '@')) {
        const char *b = p;
        while (b > text && !strchr(" \t\r\n<>\"',;:()[]", b[-1]))
            b--;
        const char *e = p;
        while (*e && !strchr(" \t\r\n<>\"',;:()[]", *e))
            e++;
        char *a = addr_from(b, (size_t)(e - b));
        if (a && !is_excluded_addr(m, a) && strchr(a, '.'))
            return a;
        free(a);
    }
    return NULL;
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
            /* A generic X.0.0 often hides the specific code in the
             * diagnostic ("smtp; 550 5.1.1 user unknown"). */
            const char *diag = field(block, "Diagnostic-Code", &n);
            if (diag && (!r->status[0] || strcmp(r->status + 1, ".0.0") == 0)) {
                char tmp[256], st[16];
                snprintf(tmp, sizeof tmp, "%.*s", (int)(n < 255 ? n : 255),
                         diag);
                if (scan_status(tmp, "45", st) &&
                    (!r->status[0] || st[0] == r->status[0]))
                    snprintf(r->status, sizeof r->status, "%s", st);
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

static void
finish_bounce(const struct mime_msg *m, struct classify_result *r,
              int delayed_hint)
{
    r->kind = CLASSIFY_BOUNCE;
    if (!r->status[0] && !scan_status(m->delivery_status, "54", r->status))
        scan_status(m->text, "54", r->status);
    if (!r->bounce_recipient) {
        const char *xf = mime_header(m, "X-Failed-Recipients");
        if (xf)
            r->bounce_recipient = addr_from(xf, strlen(xf));
    }
    if (!r->bounce_recipient)
        r->bounce_recipient = text_recipient(m, m->delivery_status);
    if (!r->bounce_recipient)
        r->bounce_recipient = text_recipient(m, m->text);
    if (r->status[0])
        r->permanent = r->status[0] == '5';
    else
        r->permanent = !delayed_hint;
}

static int
check_bounce(const struct mime_msg *m, struct classify_result *r,
             enum eq_err *err)
{
    const char *rt = m->report_type;
    if ((rt && strcasecmp(rt, "delivery-status") == 0) || m->delivery_status) {
        enum dsn_action act = DSN_NONE;
        if (m->delivery_status &&
            (*err = read_dsn(m->delivery_status, &act, r)) != EQ_OK)
            return 1;
        if (act == DSN_SUCCESS || (act == DSN_NONE && r->status[0] == '2')) {
            r->kind = CLASSIFY_AUTO_REPLY;
            set_reason(r, "dsn-success");
            free(r->bounce_recipient);
            r->bounce_recipient = NULL;
            r->status[0] = '\0';
            return 1;
        }
        set_reason(r, "dsn");
        int delayed =
            act == DSN_DELAYED ||
            (act == DSN_NONE && contains_any(m->subject, delay_phrases));
        finish_bounce(m, r, delayed);
        if (act == DSN_FAILED && !r->status[0])
            r->permanent = 1;
        return 1;
    }
    int system = is_system_sender(m);
    int xfailed = mime_header(m, "X-Failed-Recipients") != NULL;
    int subj = subject_says_bounce(m->subject);
    int phrase = contains_any(m->subject, bounce_phrases) ||
                 contains_any(m->text, bounce_phrases);
    if (subj || xfailed || (system && phrase)) {
        set_reason(r, subj      ? "bounce subject"
                      : xfailed ? "x-failed-recipients"
                                : "bounce text");
        int delayed = contains_any(m->subject, delay_phrases) ||
                      (!subj && contains_any(m->text, delay_phrases));
        finish_bounce(m, r, delayed != 0);
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
    if ((rt && strcasecmp(rt, "feedback-report") == 0) || m->feedback_report) {
        set_reason(r, "feedback report");
        goto yes;
    }
    if ((v = mime_header(m, "Auto-Submitted")) && *v &&
        !(strncasecmp(v, "no", 2) == 0 &&
          (v[2] == '\0' || v[2] == ';' || v[2] == ' ' || v[2] == '('))) {
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
    /* Whatever else a mail system sends is not a human answer. */
    if (is_system_sender(m)) {
        set_reason(r, "mail system");
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

enum eq_err
classify_message(const struct mime_msg *m, const char *stripped_text,
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
