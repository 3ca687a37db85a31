/* reply_sig: greetings and signatures — where a reply's own text ends
 * (reply_cut_signature) and which line only greets. */
#include "reply_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Greetings and signatures. */

static const char *const greetings[] = {"goedemorgen",
                                        "goedemiddag",
                                        "goedenavond",
                                        "good morning",
                                        "good afternoon",
                                        "good evening",
                                        "geachte",
                                        "hallo",
                                        "hello",
                                        "beste",
                                        "dear",
                                        "hoi",
                                        "hey",
                                        "heey",
                                        "hee",
                                        "hi",
                                        "dag",
                                        "morning",
                                        "moi",
                                        "hai",
                                        NULL};

/* "Hoi,", "Beste Jan,", "Dear HR team," — a greeting word, at most three
 * name words, closing punctuation; no digits. */
int
reply_is_greeting(struct span l)
{
    l = reply_span_trim(l);
    if (l.n == 0 || l.n > 60)
        return 0;
    for (size_t i = 0; i < l.n; i++)
        if (isdigit((unsigned char)l.s[i]))
            return 0;
    for (const char *const *g = greetings; *g != NULL; g++) {
        size_t k = strlen(*g), words = 0;
        int in_word = 0;
        if (!reply_span_starts_ci(l, *g))
            continue;
        if (l.n > k && reply_is_wordc(l.s + k))
            continue;
        for (size_t i = k; i < l.n; i++) {
            if (l.s[i] == ' ') {
                in_word = 0;
            } else if (!in_word) {
                in_word = 1;
                words++;
            }
        }
        if (words > 3)
            return 0;
        /* "Hi Jan" is a greeting; "Hoi ik" + words is not: without closing
         * punctuation allow one name word only. */
        if (strchr(",!:", l.s[l.n - 1]) == NULL && words > 1)
            return 0;
        return 1;
    }
    return 0;
}

static int
is_sig_dash(struct span l)
{
    /* "-- " is the standard delimiter; trailing spaces are often lost. */
    struct span t = reply_span_trim(l);
    return t.n == 2 && t.s[0] == '-' && t.s[1] == '-' && l.s[0] == '-';
}

static const char *const mobile_sigs[] = {"sent from ",
                                          "sent with ",
                                          "sent via ",
                                          "verzonden vanaf ",
                                          "verzonden vanuit ",
                                          "verzonden met ",
                                          "verzonden via ",
                                          "verstuurd vanaf ",
                                          "verstuurd vanuit ",
                                          "verstuurd met ",
                                          "verstuurd via ",
                                          "get outlook for ",
                                          "download outlook for ",
                                          "von meinem ",
                                          "gesendet von ",
                                          "gesendet mit ",
                                          "holen sie sich outlook für ",
                                          "envoyé de ",
                                          "envoyé depuis ",
                                          "envoyé à partir de ",
                                          "envoyé avec ",
                                          "obtenir outlook pour ",
                                          "enviado desde ",
                                          "enviado do meu ",
                                          "enviado de meu ",
                                          "enviado de mi ",
                                          "obtener outlook para ",
                                          "inviato da ",
                                          "inviato dal mio ",
                                          "skickat från ",
                                          "sendt fra ",
                                          "wysłane z ",
                                          "odesláno z ",
                                          "отправлено с ",
                                          "отправлено из ",
                                          "надіслано з ",
                                          NULL};

/* What may follow a comma in a device signature: an apology ("Sent from my
 * phone, please excuse typos") or what the device is ("Sent from my Galaxy,
 * an AT&T smartphone"), not more of a sentence ("Sent from my desk, is much
 * easier"). */
static const char *const sig_apologies[] = {
    "please",  "pls",     "excuse",  "sorry",  "apologies",
    "pardon",  "excuses", "excuus",  "bitte",  "entschuldig",
    "excusez", "désolé",  "disculp", "perdón", "scusa",
    "scusate", "a ",      "an ",     "een ",   NULL};

static int
is_mobile_sig(struct span l)
{
    const char *comma;

    l = reply_span_trim(l);
    if (l.n > 80)
        return 0;
    comma = memchr(l.s, ',', l.n);
    /* A device names itself in a few words ("Sent from the all-new AOL
     * app for iOS" is eight); more is a sentence ("Sent from home all week
     * and the VPN held up fine"). */
    {
        struct span head = {l.s, comma ? (size_t)(comma - l.s) : l.n};
        size_t words = 0;
        for (size_t i = 0; i < head.n; i++)
            words += !reply_is_space(head.s[i]) &&
                     (i == 0 || reply_is_space(head.s[i - 1]));
        if (words > 9)
            return 0;
    }
    if (comma != NULL) {
        struct span rest = {comma + 1, (size_t)(l.s + l.n - comma - 1)};
        int apology = 0;
        rest = reply_span_trim(rest);
        for (const char *const *a = sig_apologies; *a != NULL; a++)
            apology |= reply_span_starts_ci(rest, *a);
        if (!apology)
            return 0;
    }
    for (const char *const *m = mobile_sigs; *m != NULL; m++)
        if (reply_span_starts_ci(l, *m))
            return 1;
    return 0;
}

/* Closings that end a reply; a name may follow on the same line. */
static const char *const closings[] = {"met vriendelijke groeten",
                                       "met vriendelijke groet",
                                       "vriendelijke groeten",
                                       "vriendelijke groet",
                                       "met hartelijke groet",
                                       "hartelijke groeten",
                                       "hartelijke groet",
                                       "met groet",
                                       "groetjes",
                                       "groeten",
                                       "groet",
                                       "gr.",
                                       "gr",
                                       "m.v.g.",
                                       "mvg",
                                       "kind regards",
                                       "best regards",
                                       "warm regards",
                                       "kindest regards",
                                       "regards",
                                       "best wishes",
                                       "mit freundlichen gr\xc3\xbc\xc3\x9f"
                                       "en",
                                       "viele gr\xc3\xbc\xc3\x9f"
                                       "e",
                                       "cordialement",
                                       NULL};
/* Closings that are also ordinary words: only alone on their line and only
 * when a name follows. */
static const char *const thanks[] = {
    "thanks",  "thank you",   "many thanks", "cheers",     "best",
    "bedankt", "dank je wel", "dankjewel",   "dank u wel", "alvast bedankt",
    "dank",    "thx",         NULL};

static int
only_punct(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(",.!: ", s[i]) == NULL)
            return 0;
    return 1;
}

/* 1 for a closing line, 2 for a thanks-type line that needs a name after. */
static int
closing_kind(struct span l)
{
    l = reply_span_trim(l);
    for (const char *const *c = closings; *c != NULL; c++) {
        size_t k = strlen(*c), words = 0;
        const char *r;
        if (!reply_span_starts_ci(l, *c) ||
            (l.n > k && reply_is_wordc(l.s + k)))
            continue;
        if (only_punct(l.s + k, l.n - k))
            return 1;
        /* "Groet, Jan" / "Gr. Piet de Vries" */
        r = l.s + k;
        if (*r != ',' && *r != ' ' && (*c)[k - 1] != '.')
            continue;
        for (size_t i = k; i < l.n; i++) {
            if (isdigit((unsigned char)l.s[i]))
                return 0;
            if (l.s[i] != ' ' && l.s[i] != ',' &&
                (i == k || l.s[i - 1] == ' ' || l.s[i - 1] == ','))
                words++;
        }
        return words <= 4 ? 1 : 0;
    }
    for (const char *const *c = thanks; *c != NULL; c++) {
        size_t k = strlen(*c);
        if (reply_span_starts_ci(l, *c) && only_punct(l.s + k, l.n - k))
            return 2;
    }
    return 0;
}

/* A signature block: a few short lines. */
static int
short_block(const struct span *v, size_t from, size_t to, size_t *nonblank)
{
    size_t count = 0;

    for (size_t i = from; i < to; i++) {
        struct span l = reply_span_trim(v[i]);
        if (l.n == 0)
            continue;
        if (l.n > 80)
            return 0;
        /* no longer short: stop here, or a body of many closing lines
         * costs time quadratic in its lines */
        if (++count > 6)
            return 0;
    }
    *nonblank = count;
    return 1;
}

/* "Lotte Smits", "Jan van der Berg", "P. de Vries": two to five words,
 * each capitalised (name particles aside), letters only. One word ("Hans")
 * is not enough: "Prima" or "Top" in a paragraph of its own is a comment. */
static int
is_name_line(struct span l)
{
    size_t words = 0, caps = 0;

    l = reply_span_trim(l);
    if (l.n == 0 || l.n > 60)
        return 0;
    for (size_t i = 0; i < l.n;) {
        struct span w = {l.s + i, 0};
        while (w.n < l.n - i && l.s[i + w.n] != ' ')
            w.n++;
        for (size_t k = 0; k < w.n; k++) {
            unsigned char c = (unsigned char)w.s[k];
            if (c < 0x80 && !isalpha(c) && strchr(".-'", c) == NULL)
                return 0;
        }
        if (w.n > 0) {
            words++;
            if (isupper((unsigned char)w.s[0]))
                caps++;
            else if (!reply_in_list_ci(w, reply_name_particles))
                return 0;
        }
        i += w.n;
        while (i < l.n && l.s[i] == ' ')
            i++;
    }
    return words >= 2 && words <= 5 && caps >= 2 &&
           isupper((unsigned char)l.s[0]);
}

/* A signature without a closing: the reply's last paragraph, opening with
 * a name line, a few short lines long, below other text. Returns where it
 * starts, or b. */
static size_t
cut_name_block(const struct span *v, size_t a, size_t b)
{
    size_t e = b, p, count;

    while (e > a && reply_span_blank(v[e - 1]))
        e--;
    p = e;
    while (p > a && !reply_span_blank(v[p - 1]))
        p--;
    if (p == a || p == e || !is_name_line(v[p]) ||
        !short_block(v, p, e, &count) || count > 5 ||
        !reply_has_content(v, a, p))
        return b;
    return p;
}

/* The end of the reply inside [a, b): where its signature begins. */
size_t
reply_cut_signature(const struct span *v, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (is_sig_dash(v[i]) || is_mobile_sig(v[i])) {
            b = i;
            break;
        }
    for (size_t i = a; i < b; i++) {
        int kind = closing_kind(v[i]);
        size_t after;
        if (kind == 0 || !short_block(v, i + 1, b, &after))
            continue;
        if (kind == 2 && (after == 0 || after > 3))
            continue;
        return i;
    }
    return cut_name_block(v, a, b);
}
