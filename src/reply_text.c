/* reply_text: the small text helpers of the reply module (spans, lines,
 * case folding, word characters), shared by reply.c and reply_score.c. */
#include "reply_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Small text helpers. Case folding covers ASCII, the Latin-1 letters and
 * Cyrillic, the scripts of the markers we look for; other UTF-8 bytes
 * compare equal byte for byte. */

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

int
reply_wordc_before(const char *start, const char *p)
{
    const char *q = p - 1;

    /* at most three continuation bytes: a run of stray ones costs no more
     * per call, so callers that try every position stay linear */
    while (q > start && p - q < 4 && ((unsigned char)*q & 0xC0) == 0x80)
        q--;
    return reply_is_wordc(q);
}

/* The lower-case code point of the character at p (at most avail bytes);
 * *len is its length, 1 for anything but a two-byte sequence. */
unsigned
reply_fold_at(const unsigned char *p, size_t avail, size_t *len)
{
    unsigned c;

    if (avail < 2 || p[0] < 0xC2 || p[0] > 0xDF || (p[1] & 0xC0) != 0x80) {
        *len = 1;
        return (unsigned)tolower(p[0]);
    }
    *len = 2;
    c = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x410 && c <= 0x42F))
        return c + 0x20; /* À..Þ, А..Я */
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50; /* Ѐ..Џ (Є, І, Ї) */
    return c;
}

/* The n bytes at a and b are equal but for case. */
int
reply_ci_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        size_t la, lb;
        if (x < 0x80 && y < 0x80) {
            if (x != y && tolower(x) != tolower(y))
                return 0;
            i++;
            continue;
        }
        if (reply_fold_at((const unsigned char *)a + i, n - i, &la) !=
                reply_fold_at((const unsigned char *)b + i, n - i, &lb) ||
            la != lb)
            return 0;
        i += la;
    }
    return 1;
}

/* Length of an invisible character at p: zero-width space, joiners, word
 * joiner, BOM, soft hyphen, and U+1427, the dot that mail trackers append
 * as their beacon. 0 if there is none. */
static size_t
invisible_at(const char *p, size_t avail)
{
    const unsigned char *u = (const unsigned char *)p;

    if (avail >= 2 && u[0] == 0xC2 && u[1] == 0xAD)
        return 2;
    if (avail < 3)
        return 0;
    if ((u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x8B && u[2] <= 0x8D) ||
        (u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0xA0) ||
        (u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) ||
        (u[0] == 0xE1 && u[1] == 0x90 && u[2] == 0xA7))
        return 3;
    return 0;
}

/* Length of white space (or an invisible character) at the start of l. */
static size_t
lead_space(struct span l)
{
    if (l.n == 0)
        return 0;
    if (reply_is_space(*l.s))
        return 1;
    if (l.n >= 2 && reply_is_nbsp(l.s))
        return 2;
    return invisible_at(l.s, l.n);
}

/* The same at the end of l. */
size_t
reply_trail_space(struct span l)
{
    if (l.n == 0)
        return 0;
    if (reply_is_space(l.s[l.n - 1]))
        return 1;
    if (l.n >= 2 && reply_is_nbsp(l.s + l.n - 2))
        return 2;
    if (l.n >= 3 && invisible_at(l.s + l.n - 3, 3) == 3)
        return 3;
    if (l.n >= 2 && invisible_at(l.s + l.n - 2, 2) == 2)
        return 2;
    return 0;
}

struct span
reply_span_trim(struct span l)
{
    size_t k;

    while ((k = lead_space(l)) > 0) {
        l.s += k;
        l.n -= k;
    }
    while ((k = reply_trail_space(l)) > 0)
        l.n -= k;
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
    size_t n;

    if (l.n > 0 && *prefix != '\0' &&
        reply_ascii_differ((unsigned char)l.s[0], (unsigned char)*prefix))
        return 0;
    n = strlen(prefix);
    return l.n >= n && reply_ci_eq(l.s, prefix, n);
}

/* Where needle (n bytes) occurs last in l, or NULL. */
const char *
reply_span_find_last_ci_n(struct span l, const char *needle, size_t n)
{
    unsigned char f = (unsigned char)needle[0];
    const unsigned char *u = (const unsigned char *)l.s;

    if (n == 0)
        return l.s + l.n;
    if (l.n < n)
        return NULL;
    /* a cheap look at the first byte before the full comparison: an ASCII
     * byte of either case, any lead byte of a two-byte character, or the
     * very byte */
    if (f < 0x80) {
        unsigned char lo = (unsigned char)tolower(f),
                      up = (unsigned char)toupper(f);
        for (size_t i = l.n - n + 1; i-- > 0;)
            if ((u[i] == lo || u[i] == up) && reply_ci_eq(l.s + i, needle, n))
                return l.s + i;
    } else if (f <= 0xDF) {
        for (size_t i = l.n - n + 1; i-- > 0;)
            if (u[i] >= 0xC2 && u[i] <= 0xDF && reply_ci_eq(l.s + i, needle, n))
                return l.s + i;
    } else {
        for (size_t i = l.n - n + 1; i-- > 0;)
            if (u[i] == f && reply_ci_eq(l.s + i, needle, n))
                return l.s + i;
    }
    return NULL;
}

int
reply_span_has_ci(struct span l, const char *needle)
{
    return reply_span_find_last_ci_n(l, needle, strlen(needle)) != NULL;
}

int
reply_starts_ci(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);

    /* strnlen keeps reply_ci_eq inside a shorter s */
    return strnlen(s, n) == n && reply_ci_eq(s, prefix, n);
}

int
reply_in_list_ci(struct span w, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (w.n > 0 &&
            reply_ascii_differ((unsigned char)w.s[0], (unsigned char)**list))
            continue;
        if (strlen(*list) == w.n && reply_ci_eq(w.s, *list, w.n))
            return 1;
    }
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
