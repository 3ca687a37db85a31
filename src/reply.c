#include "reply.h"
#include "reply_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Small text helpers. Only ASCII is case-folded: every marker we look for
 * starts with ASCII, and UTF-8 bytes compare equal byte for byte. */

int
reply_is_nbsp(const char *p)
{
    return (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0;
}

/* U+2010..U+205F (dashes, quotes, ellipsis) count as punctuation. */
int
reply_is_upunct(const char *p)
{
    return (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] >= 0x80 &&
           (unsigned char)p[1] <= 0x81 && p[2] != '\0';
}

int
reply_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* A byte that belongs to a word: ASCII letter or digit, or part of a
 * non-ASCII letter (anything that is not NBSP or general punctuation). */
int
reply_is_wordc(const char *p)
{
    unsigned char c = (unsigned char)*p;

    if (c < 0x80)
        return isalnum(c);
    return !reply_is_nbsp(p) && !reply_is_upunct(p);
}

struct span
reply_span_trim(struct span l)
{
    while (l.n > 0 &&
           (reply_is_space(*l.s) || (l.n >= 2 && reply_is_nbsp(l.s)))) {
        size_t k = reply_is_space(*l.s) ? 1 : 2;
        l.s += k;
        l.n -= k;
    }
    while (l.n > 0 && reply_is_space(l.s[l.n - 1]))
        l.n--;
    while (l.n >= 2 && (unsigned char)l.s[l.n - 2] == 0xC2 &&
           (unsigned char)l.s[l.n - 1] == 0xA0)
        l.n -= 2;
    return l;
}

int
reply_span_blank(struct span l)
{
    return reply_span_trim(l).n == 0;
}

int
reply_span_starts_ci(struct span l, const char *prefix)
{
    size_t n = strlen(prefix);
    return l.n >= n && strncasecmp(l.s, prefix, n) == 0;
}

static int
span_has_ci(struct span l, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= l.n; i++)
        if (strncasecmp(l.s + i, needle, n) == 0)
            return 1;
    return 0;
}

int
reply_starts_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int
reply_in_list_ci(struct span w, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strlen(*list) == w.n && strncasecmp(w.s, *list, w.n) == 0)
            return 1;
    return 0;
}

/* Splits text in place on '\n'; *out is one allocation. */
enum eq_err
reply_split_lines(const char *text, struct span **out, size_t *n_out)
{
    size_t n = 1, i = 0;
    const char *p;
    struct span *v;

    for (p = text; *p != '\0'; p++)
        n += *p == '\n';
    v = calloc(n, sizeof *v);
    if (v == NULL)
        return EQ_ERR_NOMEM;
    p = text;
    for (;;) {
        const char *e = strchr(p, '\n');
        v[i].s = p;
        v[i].n = e != NULL ? (size_t)(e - p) : strlen(p);
        i++;
        if (e == NULL)
            break;
        p = e + 1;
    }
    *out = v;
    *n_out = i;
    return EQ_OK;
}

/* ------------------------------------------------------------------ */
/* Quote markers. */

static int
is_quote_line(struct span l)
{
    l = reply_span_trim(l);
    return l.n > 0 && l.s[0] == '>';
}

static const char *const attr_openers[] = {
    "on ", "op ",     "am ",  "le ",        "el ",  "il ",
    "em ", "w dniu ", "den ", "p\xc3\xa5 ", "dne ", NULL};
static const char *const attr_verbs[] = {"wrote",
                                         "schreef",
                                         "geschreven",
                                         "schrieb",
                                         "\xc3\xa9"
                                         "crit",
                                         "escribi\xc3\xb3",
                                         "escreveu",
                                         "scritto",
                                         "napisa\xc5\x82",
                                         "skrev",
                                         "sent",
                                         "kirjoitti",
                                         NULL};

static int
attribution_text(const char *t, size_t n)
{
    struct span s = {t, n};
    int digit = 0, at = 0;

    if (n == 0 || n > 400 || t[n - 1] != ':')
        return 0;
    for (size_t i = 0; i < n; i++) {
        digit |= isdigit((unsigned char)t[i]) != 0;
        at |= t[i] == '@';
    }
    for (const char *const *v = attr_verbs; *v != NULL; v++) {
        if (!span_has_ci(s, *v))
            continue;
        /* "On … wrote:", or "Jan <jan@x.nl> schrieb am …:" without one */
        if (at)
            return 1;
        for (const char *const *o = attr_openers; *o != NULL; o++)
            if (reply_span_starts_ci(s, *o))
                return 1;
    }
    /* Date-first forms such as "2014-03-20 11:45 GMT+01:00 Jan <j@x.nl>:" */
    return digit && at && n >= 2 && t[n - 2] == '>' &&
           isdigit((unsigned char)t[0]);
}

/* Number of lines (1..3) of an attribution line starting at i, else 0.
 * Clients wrap long attributions, so up to three lines are joined. */
static size_t
attribution_len(const struct span *v, size_t n, size_t i)
{
    char buf[512];
    size_t len = 0;

    for (size_t k = 0; k < 3 && i + k < n; k++) {
        struct span l = reply_span_trim(v[i + k]);
        if (l.n == 0 || is_quote_line(l) || len + l.n + 1 >= sizeof buf)
            return 0;
        if (len > 0)
            buf[len++] = ' ';
        memcpy(buf + len, l.s, l.n);
        len += l.n;
        if (attribution_text(buf, len))
            return k + 1;
        /* A wrapped attribution still opens like one or names a sender. */
        if (k == 0) {
            struct span s = {buf, len};
            int opener = isdigit((unsigned char)buf[0]) ||
                         memchr(buf, '@', len) != NULL ||
                         memchr(buf, '<', len) != NULL;
            for (const char *const *o = attr_openers; *o != NULL; o++)
                opener |= reply_span_starts_ci(s, *o);
            if (!opener)
                return 0;
        }
    }
    return 0;
}

static const char *const from_hdrs[] = {
    "from",     "van", "von",
    "de",       "fra", "fr\xc3\xa5n",
    "od",       "da",  "l\xc3\xa4hett\xc3\xa4j\xc3\xa4",
    "afzender", NULL};
static const char *const other_hdrs[] = {"sent",
                                         "verzonden",
                                         "date",
                                         "datum",
                                         "gesendet",
                                         "envoy\xc3\xa9",
                                         "to",
                                         "aan",
                                         "an",
                                         "subject",
                                         "onderwerp",
                                         "betreff",
                                         "objet",
                                         "cc",
                                         "skickat",
                                         "sendt",
                                         "wys\xc5\x82"
                                         "ano",
                                         "dato",
                                         "till",
                                         "til",
                                         "temat",
                                         "\xc3\xa4mne",
                                         "emne",
                                         "asunto",
                                         "enviado",
                                         "para",
                                         "oggetto",
                                         "inviato",
                                         "reply-to",
                                         "verstuurd",
                                         "sent at",
                                         "datum verzonden",
                                         NULL};

static int
date_hdr(const char *name)
{
    return strcmp(name, "date") == 0 || strcmp(name, "sent") == 0 ||
           strcmp(name, "datum") == 0 || strcmp(name, "verzonden") == 0;
}

/* 2 for a From-type header line, 3 for a date line, 1 for another header
 * line, 0 if none.
 * Outlook's plain text may bold the name: "*Van:* ...". */
static int
header_kind(struct span l)
{
    l = reply_span_trim(l);
    while (l.n > 0 && l.s[0] == '*') {
        l.s++;
        l.n--;
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass == 0 ? from_hdrs : other_hdrs;
        for (; *list != NULL; list++) {
            size_t k = strlen(*list);
            size_t c = k;
            if (l.n <= k || strncasecmp(l.s, *list, k) != 0)
                continue;
            /* "*Van:*", French "De :" */
            if (c < l.n && (l.s[c] == '*' || l.s[c] == ' '))
                c++;
            if (c < l.n && l.s[c] == ':')
                return pass == 0 ? 2 : (date_hdr(*list) ? 3 : 1);
        }
    }
    return 0;
}

static const char *const separator_phrases[] = {
    "original message",
    "oorspronkelijk bericht",
    "oorspronkelijke bericht",
    "origineel bericht",
    "forwarded message",
    "doorgestuurd bericht",
    "doorgestuurde bericht",
    "urspr\xc3\xbcngliche nachricht",
    "weitergeleitete nachricht",
    "original-nachricht",
    "message d'origine",
    "message transf\xc3\xa9r\xc3\xa9",
    "mensaje original",
    "messaggio originale",
    "original meddelelse",
    "opprinnelig melding",
    "ursprungligt meddelande",
    "wiadomo\xc5\x9b\xc4\x87 oryginalna",
    "oryginalna wiadomo\xc5\x9b\xc4\x87",
    NULL};

static int is_rule_line(struct span l);

/* Lines after which everything is quoted without '>' prefixes. */
static int
is_hard_cut(const struct span *v, size_t n, size_t i)
{
    struct span l = reply_span_trim(v[i]);
    int kind, has_from, count;

    if (l.n == 0)
        return 0;
    if (strchr("-_*=", l.s[0]) != NULL) {
        for (const char *const *p = separator_phrases; *p != NULL; p++)
            if (span_has_ci(l, *p))
                return 1;
    }
    /* "-----Reply Message-----", "---- Jan wrote ----" */
    if (l.n > 6 && strncmp(l.s, "--", 2) == 0 &&
        strncmp(l.s + l.n - 2, "--", 2) == 0 && !is_rule_line(l))
        return 1;
    if (reply_span_starts_ci(l, "begin forwarded message") ||
        reply_span_starts_ci(l, "begin doorgestuurd bericht") ||
        reply_span_starts_ci(l, "doorgestuurd bericht:") ||
        reply_span_starts_ci(l, "forwarded message:"))
        return 1;
    kind = header_kind(l);
    if (kind == 0)
        return 0;
    /* A block of header lines with a sender among them, or opening with the
     * date; values may wrap. */
    has_from = kind == 2 || kind == 3;
    count = 1;
    for (size_t j = i + 1; j < n && j < i + 8; j++) {
        int k;
        if (reply_span_blank(v[j]))
            break;
        k = header_kind(v[j]);
        if (k > 0)
            count++;
        has_from |= k == 2;
    }
    return count >= 2 && has_from;
}

/* "reply On Wed, … wrote:": an attribution that shares its line with the
 * reply. Returns the length of the reply part, or 0 if there is none. */
static size_t
inline_attribution(struct span l)
{
    l = reply_span_trim(l);
    if (l.n == 0 || l.s[0] == '>' || !reply_is_wordc(l.s))
        return 0;
    for (size_t i = 1; i + 3 < l.n; i++) {
        size_t r;
        if (l.s[i - 1] != ' ' && l.s[i - 1] != '-')
            continue;
        if (strncmp(l.s + i, "On ", 3) != 0 && strncmp(l.s + i, "Op ", 3) != 0)
            continue;
        if (!attribution_text(l.s + i, l.n - i))
            continue;
        r = i;
        while (r > 0 && (l.s[r - 1] == ' ' || l.s[r - 1] == '-'))
            r--;
        if (r > 0)
            return r;
    }
    return 0;
}

enum marker { MARK_NONE, MARK_QUOTE, MARK_ATTR, MARK_HARD };

static enum marker
marker_at(const struct span *v, size_t n, size_t i)
{
    if (is_quote_line(v[i]))
        return MARK_QUOTE;
    if (attribution_len(v, n, i) > 0)
        return MARK_ATTR;
    if (is_hard_cut(v, n, i))
        return MARK_HARD;
    return MARK_NONE;
}

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
                                          "envoy\xc3\xa9 de ",
                                          "enviado desde ",
                                          "inviato da ",
                                          "skickat fr\xc3\xa5n ",
                                          "sendt fra ",
                                          "wys\xc5\x82"
                                          "ane z ",
                                          NULL};

static int
is_mobile_sig(struct span l)
{
    l = reply_span_trim(l);
    if (l.n > 80)
        return 0;
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
        count++;
    }
    *nonblank = count;
    return count <= 6;
}

static int has_content(const struct span *v, size_t a, size_t b);

static const char *const name_particles[] = {
    "van", "de", "der", "den", "ten", "ter", "te", "het", "'t", "el",
    "la",  "le", "di",  "da",  "du",  "von", "zu", "op",  "in", NULL};

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
            else if (!reply_in_list_ci(w, name_particles))
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
        !short_block(v, p, e, &count) || count > 5 || !has_content(v, a, p))
        return b;
    return p;
}

/* The end of the reply inside [a, b): where its signature begins. */
static size_t
cut_signature(const struct span *v, size_t a, size_t b)
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

static int
is_rule_line(struct span l)
{
    l = reply_span_trim(l);
    if (l.n < 3)
        return 0;
    for (size_t i = 0; i < l.n; i++)
        if (strchr("-_=*", l.s[i]) == NULL)
            return 0;
    return 1;
}

/* Appends lines [a, b) with trailing blanks and rules dropped. */
enum eq_err
reply_emit_lines(struct eq_buf *out, const struct span *v, size_t a, size_t b)
{
    while (b > a && (reply_span_blank(v[b - 1]) || is_rule_line(v[b - 1])))
        b--;
    while (a < b && reply_span_blank(v[a]))
        a++;
    for (size_t i = a; i < b; i++) {
        struct span l = v[i];
        while (l.n > 0 && reply_is_space(l.s[l.n - 1]))
            l.n--;
        if (out->len > 0 && buf_addc(out, '\n') != EQ_OK)
            return EQ_ERR_NOMEM;
        if (buf_addn(out, l.s, l.n) != EQ_OK)
            return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

static int
has_content(const struct span *v, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (!reply_span_blank(v[i]) && !reply_is_greeting(v[i]) &&
            !is_rule_line(v[i]))
            return 1;
    return 0;
}

static enum eq_err
normalize(const char *body, char **out)
{
    struct eq_buf b = {0};

    for (const char *p = body; *p != '\0'; p++) {
        char c = *p;
        if (c == '\r') {
            if (p[1] == '\n')
                continue;
            c = '\n';
        }
        if (buf_addc(&b, c) != EQ_OK) {
            buf_free(&b);
            return EQ_ERR_NOMEM;
        }
    }
    *out = buf_take(&b);
    return EQ_OK;
}

enum eq_err
reply_strip(const char *body, char **out)
{
    char *text = NULL;
    struct span *v = NULL;
    struct eq_buf res = {0};
    size_t n, m, end, j, k;
    enum eq_err err;
    enum marker mk = MARK_NONE;

    *out = NULL;
    if (body == NULL)
        return EQ_ERR_DATA;
    if ((err = normalize(body, &text)) != EQ_OK)
        goto out;
    if ((err = reply_split_lines(text, &v, &n)) != EQ_OK)
        goto out;
    for (m = 0; m < n; m++) {
        if ((k = inline_attribution(v[m])) > 0) {
            v[m].n = (size_t)(reply_span_trim(v[m]).s - v[m].s) + k;
            mk = MARK_HARD;
            m++;
            break;
        }
        if ((mk = marker_at(v, n, m)) != MARK_NONE)
            break;
    }
    end = cut_signature(v, 0, m);
    if (has_content(v, 0, end) || mk == MARK_NONE || mk == MARK_HARD) {
        err = reply_emit_lines(&res, v, 0, end);
        goto done;
    }
    /* Bottom-posted: nothing but a greeting above the quote, so the answer
     * is the unquoted text below it. */
    j = m;
    while (j < n) {
        if (is_quote_line(v[j]) || reply_span_blank(v[j]))
            j++;
        else if ((k = attribution_len(v, n, j)) > 0)
            j += k;
        else
            break;
    }
    for (k = j; k < n; k++)
        if (marker_at(v, n, k) != MARK_NONE)
            break;
    k = cut_signature(v, j, k);
    if ((err = reply_emit_lines(&res, v, 0, end)) != EQ_OK)
        goto out;
    if (res.len > 0 && has_content(v, j, k) &&
        (err = buf_addc(&res, '\n')) != EQ_OK)
        goto out;
    err = reply_emit_lines(&res, v, j, k);
done:
    if (err != EQ_OK)
        goto out;
    *out = buf_take(&res);
out:
    buf_free(&res);
    free(v);
    free(text);
    return err;
}
