#include "reply.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One line of the normalized body, without its '\n'. */
struct span {
    const char *s;
    size_t n;
};

/* ------------------------------------------------------------------ */
/* Small text helpers. Only ASCII is case-folded: every marker we look for
 * starts with ASCII, and UTF-8 bytes compare equal byte for byte. */

static int
is_nbsp(const char *p)
{
    return (unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0;
}

/* U+2010..U+205F (dashes, quotes, ellipsis) count as punctuation. */
static int
is_upunct(const char *p)
{
    return (unsigned char)p[0] == 0xE2 && (unsigned char)p[1] >= 0x80 &&
           (unsigned char)p[1] <= 0x81 && p[2] != '\0';
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* A byte that belongs to a word: ASCII letter or digit, or part of a
 * non-ASCII letter (anything that is not NBSP or general punctuation). */
static int
is_wordc(const char *p)
{
    unsigned char c = (unsigned char)*p;

    if (c < 0x80)
        return isalnum(c);
    return !is_nbsp(p) && !is_upunct(p);
}

static struct span
span_trim(struct span l)
{
    while (l.n > 0 && (is_space(*l.s) || (l.n >= 2 && is_nbsp(l.s)))) {
        size_t k = is_space(*l.s) ? 1 : 2;
        l.s += k;
        l.n -= k;
    }
    while (l.n > 0 && is_space(l.s[l.n - 1]))
        l.n--;
    while (l.n >= 2 && (unsigned char)l.s[l.n - 2] == 0xC2 &&
           (unsigned char)l.s[l.n - 1] == 0xA0)
        l.n -= 2;
    return l;
}

static int
span_blank(struct span l)
{
    return span_trim(l).n == 0;
}

static int
span_starts_ci(struct span l, const char *prefix)
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

static int
starts_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int
in_list_ci(struct span w, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strlen(*list) == w.n && strncasecmp(w.s, *list, w.n) == 0)
            return 1;
    return 0;
}

/* Splits text in place on '\n'; *out is one allocation. */
static enum eq_err
split_lines(const char *text, struct span **out, size_t *n_out)
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
    l = span_trim(l);
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
            if (span_starts_ci(s, *o))
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
        struct span l = span_trim(v[i + k]);
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
                opener |= span_starts_ci(s, *o);
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
    l = span_trim(l);
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
    struct span l = span_trim(v[i]);
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
    if (span_starts_ci(l, "begin forwarded message") ||
        span_starts_ci(l, "begin doorgestuurd bericht") ||
        span_starts_ci(l, "doorgestuurd bericht:") ||
        span_starts_ci(l, "forwarded message:"))
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
        if (span_blank(v[j]))
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
    l = span_trim(l);
    if (l.n == 0 || l.s[0] == '>' || !is_wordc(l.s))
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
static int
is_greeting(struct span l)
{
    l = span_trim(l);
    if (l.n == 0 || l.n > 60)
        return 0;
    for (size_t i = 0; i < l.n; i++)
        if (isdigit((unsigned char)l.s[i]))
            return 0;
    for (const char *const *g = greetings; *g != NULL; g++) {
        size_t k = strlen(*g), words = 0;
        int in_word = 0;
        if (!span_starts_ci(l, *g))
            continue;
        if (l.n > k && is_wordc(l.s + k))
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
    struct span t = span_trim(l);
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
    l = span_trim(l);
    if (l.n > 80)
        return 0;
    for (const char *const *m = mobile_sigs; *m != NULL; m++)
        if (span_starts_ci(l, *m))
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
    l = span_trim(l);
    for (const char *const *c = closings; *c != NULL; c++) {
        size_t k = strlen(*c), words = 0;
        const char *r;
        if (!span_starts_ci(l, *c) || (l.n > k && is_wordc(l.s + k)))
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
        if (span_starts_ci(l, *c) && only_punct(l.s + k, l.n - k))
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
        struct span l = span_trim(v[i]);
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

    l = span_trim(l);
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
            else if (!in_list_ci(w, name_particles))
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

    while (e > a && span_blank(v[e - 1]))
        e--;
    p = e;
    while (p > a && !span_blank(v[p - 1]))
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
    l = span_trim(l);
    if (l.n < 3)
        return 0;
    for (size_t i = 0; i < l.n; i++)
        if (strchr("-_=*", l.s[i]) == NULL)
            return 0;
    return 1;
}

/* Appends lines [a, b) with trailing blanks and rules dropped. */
static enum eq_err
emit_lines(struct eq_buf *out, const struct span *v, size_t a, size_t b)
{
    while (b > a && (span_blank(v[b - 1]) || is_rule_line(v[b - 1])))
        b--;
    while (a < b && span_blank(v[a]))
        a++;
    for (size_t i = a; i < b; i++) {
        struct span l = v[i];
        while (l.n > 0 && is_space(l.s[l.n - 1]))
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
        if (!span_blank(v[i]) && !is_greeting(v[i]) && !is_rule_line(v[i]))
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
    if ((err = split_lines(text, &v, &n)) != EQ_OK)
        goto out;
    for (m = 0; m < n; m++) {
        if ((k = inline_attribution(v[m])) > 0) {
            v[m].n = (size_t)(span_trim(v[m]).s - v[m].s) + k;
            mk = MARK_HARD;
            m++;
            break;
        }
        if ((mk = marker_at(v, n, m)) != MARK_NONE)
            break;
    }
    end = cut_signature(v, 0, m);
    if (has_content(v, 0, end) || mk == MARK_NONE || mk == MARK_HARD) {
        err = emit_lines(&res, v, 0, end);
        goto done;
    }
    /* Bottom-posted: nothing but a greeting above the quote, so the answer
     * is the unquoted text below it. */
    j = m;
    while (j < n) {
        if (is_quote_line(v[j]) || span_blank(v[j]))
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
    if ((err = emit_lines(&res, v, 0, end)) != EQ_OK)
        goto out;
    if (res.len > 0 && has_content(v, j, k) &&
        (err = buf_addc(&res, '\n')) != EQ_OK)
        goto out;
    err = emit_lines(&res, v, j, k);
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

/* ------------------------------------------------------------------ */
/* Numbers. */

enum num_kind {
    NUM_NONE,    /* no number here */
    NUM_SKIP,    /* a number that never counts: time, date, phone, year */
    NUM_INT,     /* value, and denom when written as "7/10" */
    NUM_DECIMAL, /* "7,5", "7.5" */
    NUM_RANGE    /* "6-8" */
};

struct num {
    enum num_kind kind;
    long value;
    long denom; /* 0 unless "N/D" or "N out of D" */
    const char *end;
};

static const struct {
    const char *word;
    int value;
} number_words[] = {
    {"nul", 0},        {"zero", 0},  {"een", 1},   {"\xc3\xa9\xc3\xa9n", 1},
    {"e\xc3\xa9n", 1}, {"one", 1},   {"twee", 2},  {"two", 2},
    {"drie", 3},       {"three", 3}, {"vier", 4},  {"four", 4},
    {"vijf", 5},       {"five", 5},  {"zes", 6},   {"six", 6},
    {"zeven", 7},      {"seven", 7}, {"acht", 8},  {"eight", 8},
    {"negen", 9},      {"nine", 9},  {"tien", 10}, {"ten", 10},
};

static const char *const units[] = {
    "uur",       "u",     "h",        "am",      "pm",       "a.m.",
    "p.m.",      "min",   "mins",     "minuten", "minuut",   "minute",
    "minutes",   "sec",   "seconden", "hours",   "hour",     "uren",
    "hrs",       "dag",   "dagen",    "day",     "days",     "week",
    "weken",     "weeks", "maand",    "maanden", "month",    "months",
    "jaar",      "jaren", "year",     "years",   "keer",     "times",
    "x",         "%",     "procent",  "percent", "euro",     "eur",
    "cent",      "km",    "kg",       "mensen",  "personen", "people",
    "werkdagen", NULL};

static const char *const months[] = {
    "jan",  "januari",   "january", "feb",      "februari", "february",
    "mrt",  "maart",     "mar",     "march",    "apr",      "april",
    "mei",  "may",       "jun",     "juni",     "june",     "jul",
    "juli", "july",      "aug",     "augustus", "august",   "sep",
    "sept", "september", "okt",     "oktober",  "oct",      "october",
    "nov",  "november",  "dec",     "december", NULL};

/* Words before a number that make it a time, an id or a date. */
static const char *const skip_before[] = {
    "om",   "at",     "nr",      "nummer",   "no",    "ticket",  "kamer",
    "room", "versie", "version", "week",     "wk",    "pagina",  "page",
    "stap", "step",   "tel",     "telefoon", "phone", "toestel", "ext",
    "rond", "around", "sinds",   "since",    NULL};

/* Dutch phrases with "ten" that are not the number. */
static const char *const ten_dutch[] = {
    "behoeve",    "minste",  "opzichte", "eerste",  "tweede",    "slotte",
    "aanzien",    "tijde",   "gevolge",  "einde",   "onrechte",  "koste",
    "dele",       "volle",   "laatste",  "hoogste", "huize",     "noorden",
    "zuiden",     "oosten",  "westen",   "allen",   "overstaan", "spijt",
    "spoedigste", "zeerste", NULL};

static size_t
word_len(const char *p)
{
    size_t n = 0;

    while (p[n] != '\0' && is_wordc(p + n))
        n++;
    return n;
}

static size_t
digits_len(const char *p)
{
    size_t n = 0;

    while (isdigit((unsigned char)p[n]))
        n++;
    return n;
}

/* The word right after p (skipping spaces), with a trailing '.' kept for
 * "a.m."-like units. */
static struct span
next_word(const char *p)
{
    struct span w;

    while (*p == ' ' || is_nbsp(p))
        p += *p == ' ' ? 1 : 2;
    w.s = p;
    if (*p == '%') {
        w.n = 1;
        return w;
    }
    w.n = word_len(p);
    while (w.s[w.n] == '.' && is_wordc(w.s + w.n + 1))
        w.n += 1 + word_len(w.s + w.n + 1);
    return w;
}

/* The word right before p, which is the start of a number. */
static struct span
prev_word(const char *start, const char *p)
{
    struct span w = {p, 0};

    while (p > start && (p[-1] == ' ' || p[-1] == '.'))
        p--;
    w.s = p;
    while (w.s > start && isalpha((unsigned char)w.s[-1]))
        w.s--;
    w.n = (size_t)(p - w.s);
    return w;
}

static int
is_after_boundary(const char *p)
{
    unsigned char c = (unsigned char)*p;

    if (c == '\0' || c == '\n' || is_space((char)c) || is_nbsp(p) ||
        is_upunct(p))
        return 1;
    return c < 0x80 && ispunct(c);
}

static long
span_long(const char *p, size_t n)
{
    long v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* A phone number: at least seven digits in groups, one of three or more,
 * joined by single spaces, dashes, dots, slashes or brackets. */
static const char *
phone_end(const char *p)
{
    size_t digits = 0, group = 0, longest = 0;
    const char *q = p, *last = p;

    if (*q == '+')
        q++;
    while (*q != '\0') {
        if (isdigit((unsigned char)*q)) {
            digits++;
            group++;
            if (group > longest)
                longest = group;
            last = ++q;
        } else if (strchr(" -./()", *q) != NULL &&
                   (isdigit((unsigned char)q[1]) ||
                    (q[1] != '\0' && strchr(" (", q[1]) != NULL && q[1] != *q &&
                     isdigit((unsigned char)q[2])))) {
            group = 0;
            q++;
        } else {
            break;
        }
    }
    return digits >= 7 && longest >= 3 ? last : NULL;
}

/* "N/D", "N van de D", "N uit D", "N out of D", "N op D" */
static const char *
denominator(const char *p, long *denom)
{
    static const char *const joins[] = {" van de ", " uit ", " out of ",
                                        " op ",     " van ", NULL};
    const char *q = NULL;
    size_t d;

    if (*p == '/')
        q = p + 1;
    for (const char *const *j = joins; q == NULL && *j != NULL; j++)
        if (starts_ci(p, *j))
            q = p + strlen(*j);
    if (q == NULL || (d = digits_len(q)) == 0 || d > 3 ||
        !is_after_boundary(q + d) ||
        ((q[d] == '/' || q[d] == '-' || q[d] == '.') &&
         isdigit((unsigned char)q[d + 1])))
        return NULL;
    *denom = span_long(q, d);
    return q + d;
}

/* Reads the number that starts at p, if any. start is the beginning of the
 * text (for looking back). running is set for running text, where a few
 * number words are too common as ordinary words to count. */
static void
read_number(const char *start, const char *p, int running, struct num *out)
{
    struct span pw = prev_word(start, p), w;
    const char *q;
    size_t d1;

    memset(out, 0, sizeof *out);
    out->end = p;
    if (p > start && (is_wordc(p - 1) || strchr("@/:#+_=&$\\", p[-1]) != NULL))
        return;
    if (p > start && p[-1] == '-' && p - 1 > start && is_wordc(p - 2))
        return;
    if (*p == '+' || isdigit((unsigned char)*p)) {
        if ((q = phone_end(p)) != NULL) {
            out->kind = NUM_SKIP;
            out->end = q;
            return;
        }
    }
    if (isdigit((unsigned char)*p)) {
        d1 = digits_len(p);
        q = p + d1;
        out->kind = NUM_SKIP;
        out->end = q;
        if (q[0] == ':' && isdigit((unsigned char)q[1])) { /* 9:30 */
            out->end = q + 1 + digits_len(q + 1);
            return;
        }
        if ((q[0] == '.' || q[0] == ',' || q[0] == '-') &&
            isdigit((unsigned char)q[1])) {
            const char *r = q + 1;
            size_t d2 = digits_len(r);
            r += d2;
            out->end = r;
            if ((*r == '.' || *r == '-' || *r == '/') &&
                isdigit((unsigned char)r[1])) { /* 3-11-2026, 3.11.2026 */
                out->end = r + 1 + digits_len(r + 1);
                return;
            }
            w = next_word(r);
            if (q[0] != ',' && in_list_ci(w, units)) /* 8.45am, 9.30 uur */
                return;
            if (is_wordc(r) || d1 > 2)
                return;
            if (q[0] == '-') {
                out->kind = d2 <= 2 ? NUM_RANGE : NUM_SKIP;
                return;
            }
            if (d2 > 2 && q[0] == ',') /* 1,000 */
                return;
            out->kind = NUM_DECIMAL;
            return;
        }
        if (q[0] == '/' && isdigit((unsigned char)q[1])) {
            const char *r = q + 1 + digits_len(q + 1);
            if ((*r == '/' || *r == '-') && isdigit((unsigned char)r[1])) {
                out->end = r + 1 + digits_len(r + 1); /* 10/19/2017 */
                return;
            }
        }
        if (d1 > 2 || is_wordc(q)) /* years, ids, "3e", "4th", "8am" */
            return;
        if (in_list_ci(pw, months) || in_list_ci(pw, skip_before))
            return;
        w = next_word(q);
        if (in_list_ci(w, units) || in_list_ci(w, months))
            return;
        out->value = span_long(p, d1);
        out->kind = NUM_INT;
        if ((q = denominator(q, &out->denom)) != NULL)
            out->end = q;
        return;
    }
    w.s = p;
    w.n = word_len(p);
    if (w.n == 0)
        return;
    out->end = p + w.n;
    for (size_t i = 0; i < sizeof number_words / sizeof number_words[0]; i++) {
        const char *nw = number_words[i].word;
        struct span after;
        if (strlen(nw) != w.n || strncasecmp(p, nw, w.n) != 0)
            continue;
        after = next_word(p + w.n);
        if (in_list_ci(after, units) || in_list_ci(after, months))
            return;
        if (running && (strcmp(nw, "een") == 0 || strcmp(nw, "one") == 0))
            return;
        if (strcmp(nw, "ten") == 0 && in_list_ci(after, ten_dutch))
            return;
        if (strcmp(nw, "acht") == 0 &&
            ((pw.n == 2 && strncasecmp(pw.s, "in", 2) == 0) ||
             starts_ci(after.s, "genomen") || starts_ci(after.s, "nemen") ||
             starts_ci(after.s, "neem")))
            return;
        out->kind = NUM_INT;
        out->value = number_words[i].value;
        return;
    }
}

/* ------------------------------------------------------------------ */
/* Reading. */

static const char *const nvt_phrases[] = {"n.v.t.",
                                          "n.v.t",
                                          "nvt",
                                          "n/a",
                                          "not applicable",
                                          "niet van toepassing",
                                          "geen contact",
                                          NULL};

/* Length of an n.v.t. phrase at p, else 0. */
static size_t
nvt_at(const char *start, const char *p)
{
    if (p > start && is_wordc(p - 1))
        return 0;
    for (const char *const *ph = nvt_phrases; *ph != NULL; ph++) {
        size_t k = strlen(*ph);
        if (starts_ci(p, *ph) && !is_wordc(p + k))
            return k;
    }
    return 0;
}

static int
nvt_in(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nvt_at(s, s + i) > 0)
            return 1;
    return 0;
}

/* The comment starts after the score's separator: " - ", " — ", ":", ",",
 * ".", "!" and white space. */
static const char *
skip_separator(const char *p)
{
    for (;;) {
        if (*p == '\n' || is_space(*p) || strchr("-:,.;!?)+", *p) != NULL) {
            if (*p == '\0')
                return p;
            p++;
        } else if (is_nbsp(p)) {
            p += 2;
        } else if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
                   ((unsigned char)p[2] == 0x93 ||
                    (unsigned char)p[2] == 0x94 ||
                    (unsigned char)p[2] == 0xA6)) {
            p += 3;
        } else {
            return p;
        }
    }
}

struct reader {
    const struct reply_metric *metrics;
    size_t n_metrics;
    struct reply_answer *a;
};

static void
review(struct reader *r, const char *reason)
{
    r->a->needs_review = 1;
    if (r->a->review_reason[0] == '\0')
        snprintf(r->a->review_reason, sizeof r->a->review_reason, "%s", reason);
}

static void
set_score(struct reader *r, size_t metric, int score)
{
    struct reply_answer *a = r->a;
    size_t i;

    for (i = 0; i < a->n_scores; i++)
        if (strcmp(a->scores[i].id, r->metrics[metric].id) == 0)
            break;
    if (i == a->n_scores) {
        if (a->n_scores == REPLY_MAX_METRICS)
            return;
        a->n_scores++;
    }
    snprintf(a->scores[i].id, sizeof a->scores[i].id, "%s",
             r->metrics[metric].id);
    a->scores[i].score = score;
}

/* Applies one read number to a metric, or flags the mail for review. */
static void
answer(struct reader *r, size_t metric, const struct num *nm)
{
    const struct reply_metric *m = &r->metrics[metric];

    if (nm->kind == NUM_DECIMAL) {
        review(r, "decimal score");
        return;
    }
    if (nm->kind == NUM_RANGE) {
        review(r, "several numbers");
        return;
    }
    if (nm->denom != 0 && nm->denom != m->max) {
        review(r, "score on another scale");
        return;
    }
    if (nm->value < m->min || nm->value > m->max) {
        review(r, "score out of range");
        return;
    }
    set_score(r, metric, (int)nm->value);
}

static int
scoreish(const struct num *nm)
{
    return nm->kind == NUM_INT || nm->kind == NUM_DECIMAL ||
           nm->kind == NUM_RANGE;
}

/* Start-of-answer reading of one number; "een"/"one" there must stand
 * alone, since "Een snelle reactie" starts with the article. */
static void
read_start_number(const char *start, const char *p, struct num *nm)
{
    read_number(start, p, 0, nm);
    if (nm->kind == NUM_INT && !isdigit((unsigned char)*p) && nm->value == 1 &&
        nm->end[0] == ' ' && is_wordc(nm->end + 1))
        nm->kind = NUM_NONE;
    if (scoreish(nm) && !is_after_boundary(nm->end))
        nm->kind = NUM_NONE;
}

/* A line holding only numbers ("9 6 4", "9, 6, 4", "8."): their count, or
 * -1 if the line holds anything else. */
static int
numeric_line(const char *start, struct span l, struct num *nums, int max)
{
    const char *p = l.s, *e = l.s + l.n;
    int count = 0;

    while (p < e) {
        struct num nm;
        while (p < e && (is_space(*p) || is_nbsp(p)))
            p += is_nbsp(p) ? 2 : 1;
        if (p >= e)
            break;
        read_start_number(start, p, &nm);
        if (!scoreish(&nm) || nm.end > e)
            return -1;
        if (count < max)
            nums[count] = nm;
        count++;
        p = nm.end;
        if (p < e && (*p == ',' || *p == ';')) {
            if (p + 1 < e && !is_space(p[1]))
                return -1;
            p++;
        } else if (p < e && strchr(".!", *p) != NULL) {
            while (p < e && strchr(".!", *p) != NULL)
                p++;
            if (p < e && span_trim((struct span){p, (size_t)(e - p)}).n > 0)
                return -1;
        } else if (p < e && !is_space(*p) && !is_nbsp(p)) {
            return -1;
        }
    }
    return count;
}

static enum eq_err
set_comment(struct reply_answer *a, const char *from, const char *to)
{
    static const char *const labels[] = {
        "opmerkingen:", "opmerking:", "toelichting:",
        "comments:",    "comment:",   NULL};
    struct span c = {from, (size_t)(to - from)};

    c = span_trim(c);
    while (c.n > 0 && c.s[0] == '\n') {
        c.s++;
        c.n--;
        c = span_trim(c);
    }
    for (const char *const *l = labels; *l != NULL; l++)
        if (span_starts_ci(c, *l)) {
            c.s += strlen(*l);
            c.n -= strlen(*l);
            break;
        }
    while (c.n > 0 && (is_space(*c.s) || *c.s == '\n')) {
        c.s++;
        c.n--;
    }
    while (c.n > 0 && (is_space(c.s[c.n - 1]) || c.s[c.n - 1] == '\n'))
        c.n--;
    free(a->comment);
    a->comment = strndup(c.s, c.n);
    return a->comment != NULL ? EQ_OK : EQ_ERR_NOMEM;
}

static const char *const generic_labels[] = {"cijfer", "score", "antwoord",
                                             "rating", NULL};

/* A label at the start of l followed by a value; sets *metric and returns
 * where the value starts, or NULL. */
static const char *
label_at(const struct reader *r, struct span l, size_t *metric)
{
    size_t best = 0;
    const char *value = NULL;

    for (size_t m = 0; m < r->n_metrics; m++) {
        const char *names[3] = {r->metrics[m].id, r->metrics[m].label_nl,
                                r->metrics[m].label_en};
        for (int i = 0; i < 3; i++) {
            size_t k = names[i] != NULL ? strlen(names[i]) : 0;
            if (k == 0 || k <= best || !span_starts_ci(l, names[i]) ||
                (k < l.n && is_wordc(l.s + k)))
                continue;
            best = k;
            *metric = m;
            value = l.s + k;
        }
    }
    for (const char *const *g = generic_labels; *g != NULL && r->n_metrics;
         g++) {
        size_t k = strlen(*g);
        if (k <= best || !span_starts_ci(l, *g) ||
            (k < l.n && is_wordc(l.s + k)))
            continue;
        best = k;
        *metric = 0;
        value = l.s + k;
    }
    if (value == NULL)
        return NULL;
    while (value < l.s + l.n && (is_space(*value) || *value == ':' ||
                                 *value == '=' || *value == '-'))
        value++;
    return value < l.s + l.n ? value : NULL;
}

/* Labelled lines at the start ("NPS: 9", "CES 6", "Cijfer: 8"). Returns 1
 * if there was at least one; the comment is what follows their values. */
static enum eq_err
read_labelled(struct reader *r, const char *ans, const struct span *v, size_t n,
              int *found)
{
    struct eq_buf c = {0};
    size_t i;
    enum eq_err err = EQ_OK;

    *found = 0;
    for (i = 0; i < n; i++) {
        size_t metric = 0, k;
        const char *val = label_at(r, span_trim(v[i]), &metric), *rest;
        struct num nm;
        if (val == NULL)
            break;
        if ((k = nvt_at(ans, val)) > 0) {
            r->a->not_applicable = 1;
            rest = val + k;
        } else {
            /* The label is the context: no looking back past it. */
            read_start_number(val, val, &nm);
            if (!scoreish(&nm))
                break;
            answer(r, metric, &nm);
            rest = nm.end;
        }
        *found = 1;
        rest = skip_separator(rest);
        if (rest < v[i].s + v[i].n) {
            if (c.len > 0 && (err = buf_addc(&c, '\n')) != EQ_OK)
                goto out;
            if ((err = buf_addn(&c, rest, (size_t)(v[i].s + v[i].n - rest))) !=
                EQ_OK)
                goto out;
        }
    }
    if (!*found)
        goto out;
    if (i < n) {
        if (c.len > 0 && (err = buf_addc(&c, '\n')) != EQ_OK)
            goto out;
        if ((err = buf_add(&c, v[i].s)) != EQ_OK)
            goto out;
    }
    err = set_comment(r->a, buf_str(&c), buf_str(&c) + c.len);
out:
    buf_free(&c);
    return err;
}

/* The first paragraph as running text: exactly one candidate number. */
static enum eq_err
read_running(struct reader *r, const char *ans, const char *para_end)
{
    struct num found = {0}, nm;
    int count = 0;

    for (const char *p = ans; p < para_end;) {
        if (p > ans && is_wordc(p - 1)) {
            p++;
            continue;
        }
        read_number(ans, p, 1, &nm);
        if (nm.kind == NUM_NONE) {
            p++;
            continue;
        }
        if (scoreish(&nm)) {
            count += nm.kind == NUM_RANGE ? 2 : 1;
            found = nm;
        }
        p = nm.end > p ? nm.end : p + 1;
    }
    if (count == 0 && nvt_in(ans, (size_t)(para_end - ans)))
        r->a->not_applicable = 1;
    else if (count == 0)
        review(r, "no score");
    else if (count > 1)
        review(r, "several numbers");
    else
        answer(r, 0, &found);
    /* The sentence around the number is the comment as a whole. */
    return set_comment(r->a, ans, ans + strlen(ans));
}

static enum eq_err
read_answer(struct reader *r, const char *ans)
{
    struct span *v = NULL;
    size_t n, i, para;
    struct num nm, nums[REPLY_MAX_METRICS + 1];
    const char *rest, *para_end;
    int found, count = 0;
    enum eq_err err;

    if ((err = split_lines(ans, &v, &n)) != EQ_OK)
        return err;
    for (para = 0; para < n && !span_blank(v[para]); para++)
        ;
    para_end = para < n ? v[para].s : ans + strlen(ans);
    if ((err = read_labelled(r, ans, v, para, &found)) != EQ_OK || found)
        goto out;
    if ((i = nvt_at(ans, ans)) > 0) {
        r->a->not_applicable = 1;
        err = set_comment(r->a, skip_separator(ans + i), ans + strlen(ans));
        goto out;
    }
    /* Leading lines of only numbers: a sequence when there are several. */
    for (i = 0; i < para; i++) {
        int c = numeric_line(ans, span_trim(v[i]), nums + count,
                             REPLY_MAX_METRICS + 1 - count);
        if (c <= 0)
            break;
        count += c;
        if (count > REPLY_MAX_METRICS)
            break;
    }
    if (count >= 2) {
        if ((size_t)count > r->n_metrics) {
            review(r, "more numbers than questions");
        } else {
            for (int k = 0; k < count; k++)
                answer(r, (size_t)k, &nums[k]);
        }
        rest = i < n ? v[i].s : ans + strlen(ans);
        err = set_comment(r->a, rest, ans + strlen(ans));
        goto out;
    }
    read_start_number(ans, ans, &nm);
    if (scoreish(&nm)) {
        /* "zes of zeven", "8 - 9", "6 tot 8": a range, not a score. */
        static const char *const joins[] = {
            "-",  "of",       "tot", "en",           "or",
            "to", "\xc3\xa0", "a",   "\xe2\x80\x93", NULL};
        struct span w;
        struct num nx;
        const char *p = nm.end;
        while (*p == ' ')
            p++;
        w.s = p;
        w.n = *p == '-' ? 1 : word_len(p);
        if (w.n == 0 && (unsigned char)*p == 0xE2)
            w.n = 3;
        if (w.n > 0 && in_list_ci(w, joins) && p[w.n] == ' ') {
            p += w.n;
            while (*p == ' ')
                p++;
            read_start_number(ans, p, &nx);
            if (scoreish(&nx))
                nm.kind = NUM_RANGE;
        }
        if (nm.kind == NUM_RANGE) {
            review(r, "several numbers");
            err = set_comment(r->a, ans, ans + strlen(ans));
            goto out;
        }
        answer(r, 0, &nm);
        err = set_comment(r->a, skip_separator(nm.end), ans + strlen(ans));
        goto out;
    }
    err = read_running(r, ans, para_end);
out:
    free(v);
    return err;
}

void
reply_answer_clear(struct reply_answer *a)
{
    if (a == NULL)
        return;
    free(a->comment);
    free(a->text);
    memset(a, 0, sizeof *a);
}

enum eq_err
reply_read(const char *body, const struct reply_metric *metrics,
           size_t n_metrics, struct reply_answer *out)
{
    char *stripped = NULL;
    struct span *v = NULL;
    struct eq_buf t = {0};
    struct reader r = {metrics, n_metrics, out};
    size_t n, i;
    enum eq_err err;

    memset(out, 0, sizeof *out);
    if (n_metrics > REPLY_MAX_METRICS || (n_metrics > 0 && metrics == NULL))
        return EQ_ERR_USAGE;
    if ((err = reply_strip(body, &stripped)) != EQ_OK)
        goto out;
    if ((err = split_lines(stripped, &v, &n)) != EQ_OK)
        goto out;
    for (i = 0; i < n && (span_blank(v[i]) || is_greeting(v[i])); i++)
        ;
    if ((err = emit_lines(&t, v, i, n)) != EQ_OK)
        goto out;
    out->text = buf_take(&t);
    if (out->text[0] == '\0') {
        review(&r, "no answer");
        err = (out->comment = eq_strdup("")) != NULL ? EQ_OK : EQ_ERR_NOMEM;
        goto out;
    }
    err = read_answer(&r, out->text);
out:
    if (err == EQ_OK && out->comment == NULL &&
        (out->comment = eq_strdup("")) == NULL)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK)
        reply_answer_clear(out);
    buf_free(&t);
    free(v);
    free(stripped);
    return err;
}
