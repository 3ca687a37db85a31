/*
 * compose.c: headers, body encodings, MIME and the mailto links. The mails
 * themselves are composed in compose_invite.c, compose_feedback.c and
 * compose_check.c.
 *
 * compose: the message serializer is written here rather than with
 * libetpan's mailmime builder because the output must follow rules that
 * builder does not enforce (folding at 78 columns, encoded words that never
 * split a UTF-8 character, boundaries that cannot occur in encoded content,
 * refusal of CR/LF in header data).
 */
#include "compose_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eqtime.h"
#include "token.h"

#define FOLD_AT 78
/* A word longer than this cannot sit on a folded line of FOLD_AT columns;
 * it is written as encoded words, which may be split anywhere. */
#define LONG_WORD (FOLD_AT - 1)
/* RFC 5322 2.1.1: no line longer than 998 characters without its CRLF. */
#define MAX_LINE 998
/* "=?UTF-8?Q?" + payload + "?=" must fit in 75 characters (RFC 2047). */
#define EW_PAYLOAD (75 - 10 - 2)

/* --- header writing --------------------------------------------------- */

struct hdr {
    struct eq_buf *b;
    size_t col;
};

static enum eq_err
hdr_begin(struct hdr *h, struct eq_buf *b, const char *name)
{
    h->b = b;
    h->col = strlen(name) + 1;
    if (buf_add(b, name) != EQ_OK || buf_addc(b, ':') != EQ_OK)
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

/* One unit that may not be split; a fold (CRLF SP) goes before it when the
 * line would pass FOLD_AT. Empty units never start a folded line. */
static enum eq_err
hdr_unit(struct hdr *h, const char *s, size_t len)
{
    int fold = len > 0 && h->col + 1 + len > FOLD_AT;
    enum eq_err err = buf_add(h->b, fold ? "\r\n " : " ");

    if (err != EQ_OK)
        return err;
    h->col = (fold ? 1 : h->col + 1) + len;
    return buf_addn(h->b, s, len);
}

static enum eq_err
hdr_units(struct hdr *h, const char *s)
{
    return hdr_unit(h, s, strlen(s));
}

static enum eq_err
hdr_end(struct hdr *h)
{
    return buf_add(h->b, "\r\n");
}

static int
is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

static size_t
utf8_seq_len(const unsigned char *s, size_t left)
{
    size_t n = 1;

    if (s[0] >= 0xf0)
        n = 4;
    else if (s[0] >= 0xe0)
        n = 3;
    else if (s[0] >= 0xc0)
        n = 2;
    if (n > left)
        n = left;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return i;
    return n;
}

/* RFC 2047 Q encoding with the set allowed in phrases (section 5 (3)), so
 * the same words are valid in Subject and in display names. */
static int
q_plain(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("!*+-/", c));
}

static enum eq_err
hdr_encoded_word(struct hdr *h, const char *word, size_t wl)
{
    char full[96];
    int fl = snprintf(full, sizeof(full), "=?UTF-8?Q?%.*s?=", (int)wl, word);

    return hdr_unit(h, full, (size_t)fl);
}

/* Encoded words end before a space where they can, with the space leading
 * the next word: some readers put a blank between adjacent encoded words,
 * which must not land inside a name. */
static enum eq_err
hdr_encoded_words(struct hdr *h, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char word[80];
    size_t wl = 0, i = 0;
    enum eq_err err;

    while (i < len) {
        size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
        char enc[16];
        size_t el = 0;

        if (s[i] == ' ' && wl > 0) {
            size_t seg = 1;
            for (size_t k = i + 1; k < len && s[k] != ' '; k++)
                seg += q_plain((unsigned char)s[k]) ? 1 : 3;
            if (wl + seg > EW_PAYLOAD && seg <= EW_PAYLOAD) {
                if ((err = hdr_encoded_word(h, word, wl)) != EQ_OK)
                    return err;
                wl = 0;
            }
        }
        for (size_t k = 0; k < n; k++) {
            unsigned char c = (unsigned char)s[i + k];
            if (q_plain(c)) {
                enc[el++] = (char)c;
            } else if (c == ' ') {
                enc[el++] = '_';
            } else {
                enc[el++] = '=';
                enc[el++] = hex[c >> 4];
                enc[el++] = hex[c & 15];
            }
        }
        if (wl > 0 && wl + el > EW_PAYLOAD) {
            if ((err = hdr_encoded_word(h, word, wl)) != EQ_OK)
                return err;
            wl = 0;
        }
        memcpy(word + wl, enc, el);
        wl += el;
        i += n;
    }
    if (wl > 0)
        return hdr_encoded_word(h, word, wl);
    return EQ_OK;
}

/* Words that a decoder could take for an encoded word must be encoded too. */
static int
needs_encoding(const char *w, size_t len)
{
    if (!is_ascii(w, len))
        return 1;
    for (size_t i = 0; i + 1 < len; i++)
        if (w[i] == '=' && w[i + 1] == '?')
            return 1;
    return 0;
}

/* Unstructured text (Subject): plain words stay readable; the stretch from
 * the first to the last word that needs it is encoded as one run, so the
 * spaces inside it survive decoding. */
static enum eq_err
hdr_unstructured(struct hdr *h, const char *s)
{
    size_t len = strlen(s), first = len, last_end = 0, i = 0;
    enum eq_err err;

    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ' ')
            j++;
        if (needs_encoding(s + i, j - i) || j - i > LONG_WORD) {
            if (first == len)
                first = i;
            last_end = j;
        }
        i = j + 1;
    }
    i = 0;
    while (i <= len) {
        size_t j = i;
        if (i == first) {
            if ((err = hdr_encoded_words(h, s + first, last_end - first)) !=
                EQ_OK)
                return err;
            i = last_end + 1;
            continue;
        }
        while (j < len && s[j] != ' ')
            j++;
        if ((err = hdr_unit(h, s + i, j - i)) != EQ_OK)
            return err;
        i = j + 1;
    }
    return EQ_OK;
}

static int
is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A display name as a phrase: atoms, a quoted-string, or encoded words. */
static enum eq_err
hdr_phrase(struct hdr *h, const char *name)
{
    size_t len = strlen(name);
    int atoms = 1;
    struct eq_buf q = {0};
    enum eq_err err;

    if (needs_encoding(name, len))
        return hdr_encoded_words(h, name, len);
    for (size_t i = 0, run = 0; i < len; i++) {
        if (!is_atext((unsigned char)name[i]) &&
            !(name[i] == ' ' && i > 0 && name[i - 1] != ' '))
            atoms = 0;
        run = name[i] == ' ' ? 0 : run + 1;
        if (run > LONG_WORD)
            return hdr_encoded_words(h, name, len);
    }
    if (atoms && len > 0 && name[len - 1] != ' ') {
        size_t i = 0;
        while (i < len) {
            size_t j = i;
            while (j < len && name[j] != ' ')
                j++;
            if ((err = hdr_unit(h, name + i, j - i)) != EQ_OK)
                return err;
            i = j + 1;
        }
        return EQ_OK;
    }
    err = buf_addc(&q, '"');
    for (size_t i = 0; i < len && err == EQ_OK; i++) {
        if (name[i] == '"' || name[i] == '\\')
            err = buf_addc(&q, '\\');
        if (err == EQ_OK)
            err = buf_addc(&q, name[i]);
    }
    if (err == EQ_OK)
        err = buf_addc(&q, '"');
    /* A quoted-string is one unit that cannot fold: a long one goes as
     * encoded words instead, which can. */
    if (err == EQ_OK && q.len > LONG_WORD)
        err = hdr_encoded_words(h, name, len);
    else if (err == EQ_OK)
        err = hdr_unit(h, q.s, q.len);
    buf_free(&q);
    return err;
}

/* CR, LF and other control characters in header data would let data
 * write headers of its own. */
enum eq_err
compose_check_value(const char *what, const char *v, struct eq_buf *diag)
{
    if (v == NULL)
        return EQ_OK;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            eq_diag(diag, "compose: %s contains a line break", what);
            return EQ_ERR_DATA;
        }
        /* C0 controls, DEL, and in UTF-8 the C1 controls (NEL among
         * them) and U+2028/U+2029: readers may show any of them as a line
         * break. */
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f ||
            (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
            (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))) {
            eq_diag(diag, "compose: %s contains a control character", what);
            return EQ_ERR_DATA;
        }
    }
    return EQ_OK;
}

static enum eq_err
check_addr(const char *what, const char *a, struct eq_buf *diag)
{
    const char *at = strrchr(a, '@');

    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[],;:\\\"", *p) != NULL) {
            eq_diag(diag, "compose: %s: invalid address '%s'", what, a);
            return EQ_ERR_DATA;
        }
    if (at == NULL || at == a || at[1] == '\0') {
        eq_diag(diag, "compose: %s: invalid address '%s'", what, a);
        return EQ_ERR_DATA;
    }
    /* RFC 5321 4.5.3.1.3: a path holds at most 256 octets with its <>. */
    if (strlen(a) > 254) {
        eq_diag(diag, "compose: %s: address longer than 254 characters", what);
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

/* "Name <a@b>", "\"Name\" <a@b>" or "a@b". */
static enum eq_err
split_mailbox(const char *in, char **display, char **addr)
{
    char *s = strdup(in), *lt, *gt;
    enum eq_err err = EQ_ERR_NOMEM;

    *display = *addr = NULL;
    if (s == NULL)
        return EQ_ERR_NOMEM;
    eq_trim(s);
    lt = strrchr(s, '<');
    gt = lt ? strchr(lt, '>') : NULL;
    if (lt != NULL && gt != NULL && gt[1] == '\0') {
        *gt = '\0';
        *addr = strdup(lt + 1);
        *lt = '\0';
        eq_trim(s);
        size_t n = strlen(s);
        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
            size_t o = 0;
            for (size_t i = 1; i + 1 < n; i++) {
                if (s[i] == '\\' && i + 2 < n)
                    i++;
                s[o++] = s[i];
            }
            s[o] = '\0';
        }
        *display = strdup(s);
    } else {
        *addr = strdup(s);
    }
    if (*addr != NULL && (lt == NULL || gt == NULL || *display != NULL))
        err = EQ_OK;
    free(s);
    if (err != EQ_OK) {
        free(*display);
        free(*addr);
        *display = *addr = NULL;
    }
    return err;
}

static enum eq_err
hdr_mailbox(struct eq_buf *b, const char *name, const char *display,
            const char *addr, struct eq_buf *diag)
{
    struct hdr h;
    struct eq_buf a = {0};
    enum eq_err err;

    if ((err = check_addr(name, addr, diag)) != EQ_OK)
        return err;
    if ((err = hdr_begin(&h, b, name)) != EQ_OK)
        return err;
    if (display != NULL && *display != '\0' &&
        (err = hdr_phrase(&h, display)) != EQ_OK)
        return err;
    if ((err = buf_printf(&a, "<%s>", addr)) == EQ_OK &&
        (err = hdr_unit(&h, a.s, a.len)) == EQ_OK)
        err = hdr_end(&h);
    buf_free(&a);
    return err;
}

static enum eq_err
hdr_mailbox_str(struct eq_buf *b, const char *name, const char *in,
                struct eq_buf *diag)
{
    char *display = NULL, *addr = NULL;
    enum eq_err err = split_mailbox(in, &display, &addr);

    if (err == EQ_OK)
        err = hdr_mailbox(b, name, display, addr, diag);
    free(display);
    free(addr);
    return err;
}

/* Message-IDs given without <>; several may be separated by spaces. */
static enum eq_err
hdr_msgids(struct eq_buf *b, const char *name, const char *ids,
           struct eq_buf *diag)
{
    struct hdr h;
    struct eq_buf one = {0};
    enum eq_err err = hdr_begin(&h, b, name);
    const char *p = ids;

    while (err == EQ_OK && *p) {
        const char *e;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        e = p;
        while (*e && *e != ' ' && *e != '\t')
            e++;
        if (memchr(p, '@', (size_t)(e - p)) == NULL ||
            (size_t)(e - p) > MAX_LINE / 4) {
            eq_diag(diag, "compose: %s: '%.*s' is not a message id", name,
                    (int)(e - p), p);
            err = EQ_ERR_DATA;
            break;
        }
        for (const char *c = p; c < e; c++)
            if (*c == '<' || *c == '>' || (unsigned char)*c >= 0x7f) {
                eq_diag(diag, "compose: %s: '%.*s' is not a message id", name,
                        (int)(e - p), p);
                err = EQ_ERR_DATA;
            }
        buf_reset(&one);
        if (err == EQ_OK &&
            (err = buf_printf(&one, "<%.*s>", (int)(e - p), p)) == EQ_OK)
            err = hdr_unit(&h, one.s, one.len);
        p = e;
    }
    if (err == EQ_OK)
        err = hdr_end(&h);
    buf_free(&one);
    return err;
}

static enum eq_err
hdr_plain(struct eq_buf *b, const char *name, const char *value)
{
    struct hdr h;
    enum eq_err err = hdr_begin(&h, b, name);

    if (err == EQ_OK)
        err = hdr_units(&h, value);
    if (err == EQ_OK)
        err = hdr_end(&h);
    return err;
}

/* --- body encodings --------------------------------------------------- */

/* Quoted-printable (RFC 2045 6.7): lines of at most 76 characters, "=" and
 * non-ASCII as =XX, whitespace before a line end encoded. "From " and "."
 * at the start of a line are encoded too, for mbox and SMTP safety. */
static enum eq_err
qp_encode(struct eq_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    /* One output line at a time: at most 75 characters, "=" and CRLF. */
    char line[80];
    size_t col;
    enum eq_err err = EQ_OK;

#define SOFT_BREAK()                                                           \
    do {                                                                       \
        memcpy(line + col, "=\r\n", 3);                                        \
        err = buf_addn(out, line, col + 3);                                    \
        col = 0;                                                               \
    } while (0)
    while (*s && err == EQ_OK) {
        size_t n = strcspn(s, "\n"), end = n;
        int hard = s[n] == '\n';

        col = 0;
        if (hard && n > 0 && s[n - 1] == '\r')
            end = n - 1;
        for (size_t i = 0; i < end && err == EQ_OK; i++) {
            unsigned char c = (unsigned char)s[i];
            char enc[3];
            size_t el = 0;
            /* The common case, kept cheap: a printable ASCII character
             * (or an inner blank) that fits and is not at a line start. */
            if (col > 0 && col < 75 &&
                ((c >= 33 && c <= 126 && c != '=') ||
                 ((c == ' ' || c == '\t') && i + 1 < end))) {
                line[col++] = (char)c;
                continue;
            }
            if (c == '=' && col > 0 && col + 3 <= 75) {
                memcpy(line + col, "=3D", 3);
                col += 3;
                continue;
            }
            /* Keep a UTF-8 character on one line: some readers decode
             * line by line. */
            if (c >= 0xc0 && col > 0 &&
                col + 3 * utf8_seq_len((const unsigned char *)s + i, end - i) >
                    75)
                SOFT_BREAK();
            for (int pass = 0; pass < 2 && err == EQ_OK; pass++) {
                int literal = (c >= 33 && c <= 126 && c != '=') ||
                              ((c == ' ' || c == '\t') && i + 1 < end);
                if (col == 0 &&
                    (c == '.' || (c == 'F' && strncmp(s + i, "From ", 5) == 0)))
                    literal = 0;
                if (literal) {
                    enc[0] = (char)c;
                    el = 1;
                } else {
                    enc[0] = '=';
                    enc[1] = hex[c >> 4];
                    enc[2] = hex[c & 15];
                    el = 3;
                }
                if (pass == 1 || col + el <= 75)
                    break;
                SOFT_BREAK();
            }
            memcpy(line + col, enc, el);
            col += el;
        }
        if (err == EQ_OK && hard) {
            memcpy(line + col, "\r\n", 2);
            col += 2;
        }
        if (err == EQ_OK && col > 0)
            err = buf_addn(out, line, col);
        s += n + (hard ? 1 : 0);
    }
#undef SOFT_BREAK
    return err;
}

static enum eq_err
b64_encode(struct eq_buf *out, const unsigned char *d, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    enum eq_err err = EQ_OK;
    size_t col = 0;

    for (size_t i = 0; i < len && err == EQ_OK; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        char q[4];
        if (i + 1 < len)
            v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < len)
            v |= d[i + 2];
        q[0] = tab[(v >> 18) & 63];
        q[1] = tab[(v >> 12) & 63];
        q[2] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        q[3] = i + 2 < len ? tab[v & 63] : '=';
        err = buf_addn(out, q, 4);
        col += 4;
        if (col == 76 && err == EQ_OK) {
            err = buf_add(out, "\r\n");
            col = 0;
        }
    }
    if (col > 0 && err == EQ_OK)
        err = buf_add(out, "\r\n");
    return err;
}

/* "=_" cannot occur in quoted-printable or base64 output, so a boundary
 * starting with it never collides with encoded content; the random part
 * keeps nested boundaries apart. */
static void
make_boundary(char out[48], int level)
{
    static const char hex[] = "0123456789abcdef";
    static unsigned counter;
    unsigned char r[12];

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        unsigned long long x =
            (unsigned long long)time(NULL) ^
            ((unsigned long long)getpid() << 32) ^
            (unsigned long long)++counter * 0x9e3779b97f4a7c15ULL;
        for (size_t i = 0; i < sizeof(r); i++) {
            x ^= x >> 29;
            x *= 0xbf58476d1ce4e5b9ULL;
            r[i] = (unsigned char)(x >> 56);
        }
    }
    memcpy(out, "=_enq", 5);
    for (size_t i = 0; i < sizeof(r); i++) {
        out[5 + 2 * i] = hex[r[i] >> 4];
        out[6 + 2 * i] = hex[r[i] & 15];
    }
    out[29] = '_';
    out[30] = (char)('0' + level);
    out[31] = '\0';
}

static int
mime_token_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
            strchr("()<>@,;:\\\"[]?=", *s) != NULL)
            return 0;
    return 1;
}

/* filename="x.png", or RFC 2231 filename*=UTF-8''… when it needs it. */
static enum eq_err
add_filename_param(struct eq_buf *b, const char *param, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    int plain = 1;
    enum eq_err err;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            plain = 0;
    if (plain)
        return buf_printf(b, ";\r\n %s=\"%s\"", param, name);
    err = buf_printf(b, ";\r\n %s*=UTF-8''", param);
    for (const unsigned char *p = (const unsigned char *)name;
         *p && err == EQ_OK; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
            err = buf_addc(b, (char)*p);
        else
            err = buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return err;
}

static enum eq_err
add_text_part(struct eq_buf *b, const char *subtype, const char *body)
{
    enum eq_err err = buf_printf(b,
                                 "Content-Type: text/%s; charset=utf-8\r\n"
                                 "Content-Transfer-Encoding: "
                                 "quoted-printable\r\n\r\n",
                                 subtype);
    size_t n;

    if (err == EQ_OK)
        err = qp_encode(b, body);
    n = b->len;
    if (err == EQ_OK && (n < 2 || memcmp(b->s + n - 2, "\r\n", 2) != 0))
        err = buf_add(b, "\r\n");
    return err;
}

static enum eq_err
add_image_part(struct eq_buf *b, const struct compose_part *p,
               struct eq_buf *diag)
{
    enum eq_err err;
    const char *slash = p->content_type ? strchr(p->content_type, '/') : NULL;

    if (slash == NULL || slash == p->content_type || slash[1] == '\0' ||
        strchr(slash + 1, '/') != NULL) {
        eq_diag(diag, "compose: part content type '%s' is not type/subtype",
                p->content_type ? p->content_type : "(null)");
        return EQ_ERR_DATA;
    }
    {
        char type[64];
        size_t tl = (size_t)(slash - p->content_type);
        if (tl >= sizeof(type)) {
            eq_diag(diag, "compose: part content type too long");
            return EQ_ERR_DATA;
        }
        memcpy(type, p->content_type, tl);
        type[tl] = '\0';
        if (!mime_token_ok(type) || !mime_token_ok(slash + 1)) {
            eq_diag(diag, "compose: part content type '%s' is not valid",
                    p->content_type);
            return EQ_ERR_DATA;
        }
    }
    err = buf_printf(b, "Content-Type: %s", p->content_type);
    if (err == EQ_OK && p->filename != NULL)
        err = add_filename_param(b, "name", p->filename);
    if (err == EQ_OK)
        err = buf_add(b, "\r\nContent-Transfer-Encoding: base64\r\n");
    if (err == EQ_OK && p->content_id != NULL) {
        if ((err = check_addr("Content-ID", p->content_id, diag)) != EQ_OK)
            return err;
        err = buf_printf(b, "Content-ID: <%s>\r\n", p->content_id);
    }
    if (err == EQ_OK)
        err = buf_add(b, "Content-Disposition: inline");
    if (err == EQ_OK && p->filename != NULL)
        err = add_filename_param(b, "filename", p->filename);
    if (err == EQ_OK)
        err = buf_add(b, "\r\n\r\n");
    if (err == EQ_OK)
        err = b64_encode(b, p->data, p->len);
    return err;
}

static enum eq_err
add_body(struct eq_buf *b, const struct compose_mail *m, struct eq_buf *diag)
{
    char alt[48], rel[48];
    enum eq_err err;

    if (m->html == NULL)
        return add_text_part(b, "plain", m->text);
    make_boundary(alt, 1);
    make_boundary(rel, 2);
    err = buf_printf(b,
                     "Content-Type: multipart/alternative;\r\n"
                     " boundary=\"%s\"\r\n\r\n--%s\r\n",
                     alt, alt);
    if (err == EQ_OK)
        err = add_text_part(b, "plain", m->text);
    /* The CRLF before a delimiter belongs to the delimiter: without the
     * extra one a part would lose its last line end. */
    if (err == EQ_OK)
        err = buf_printf(b, "\r\n--%s\r\n", alt);
    if (err == EQ_OK && m->n_parts > 0)
        err = buf_printf(b,
                         "Content-Type: multipart/related; type=\"text/html\";"
                         "\r\n boundary=\"%s\"\r\n\r\n--%s\r\n",
                         rel, rel);
    if (err == EQ_OK)
        err = add_text_part(b, "html", m->html);
    for (size_t i = 0; i < m->n_parts && err == EQ_OK; i++) {
        if ((err = compose_check_value("part filename", m->parts[i].filename,
                                       diag)) != EQ_OK ||
            (err = compose_check_value(
                 "part content id", m->parts[i].content_id, diag)) != EQ_OK ||
            (err = compose_check_value(
                 "part content type", m->parts[i].content_type, diag)) != EQ_OK)
            return err;
        err = buf_printf(b, "\r\n--%s\r\n", rel);
        if (err == EQ_OK)
            err = add_image_part(b, &m->parts[i], diag);
    }
    if (err == EQ_OK && m->n_parts > 0)
        err = buf_printf(b, "\r\n--%s--\r\n", rel);
    if (err == EQ_OK)
        err = buf_printf(b, "\r\n--%s--\r\n", alt);
    return err;
}

/* The last guard for RFC 5322 2.1.1, whatever produced the line. */
static enum eq_err
check_line_length(const char *s, size_t len, struct eq_buf *diag)
{
    size_t line = 1, start = 0;

    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\n')
            continue;
        if (i - start > MAX_LINE + 1) {
            eq_diag(diag,
                    "compose: line %zu of the message is longer than %d "
                    "characters",
                    line, MAX_LINE);
            return EQ_ERR_DATA;
        }
        start = i + 1;
        line++;
    }
    if (len - start > MAX_LINE) {
        eq_diag(diag,
                "compose: line %zu of the message is longer than %d "
                "characters",
                line, MAX_LINE);
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

enum eq_err
compose_build(const struct compose_mail *m, char **out, size_t *len,
              struct eq_buf *diag)
{
    struct eq_buf b = {0};
    struct hdr h;
    char date[40];
    enum eq_err err;
    const struct {
        const char *what, *v;
    } values[] = {
        {"From", m->from},
        {"To", m->to},
        {"To name", m->to_name},
        {"Reply-To", m->reply_to},
        {"Subject", m->subject},
        {"Message-ID", m->message_id},
        {"In-Reply-To", m->in_reply_to},
        {"References", m->references},
        {"List-Unsubscribe", m->list_unsubscribe},
        {"time zone", m->timezone},
    };

    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (m->from == NULL || m->to == NULL || m->subject == NULL ||
        m->message_id == NULL || m->text == NULL) {
        eq_diag(diag, "compose: from, to, subject, message id and text are "
                      "required");
        return EQ_ERR_DATA;
    }
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        if ((err = compose_check_value(values[i].what, values[i].v, diag)) !=
            EQ_OK)
            return err;
    if (m->list_unsubscribe != NULL &&
        (strchr(m->list_unsubscribe, ' ') || strchr(m->list_unsubscribe, '<') ||
         strchr(m->list_unsubscribe, '>') ||
         strchr(m->list_unsubscribe, '\t'))) {
        eq_diag(diag, "compose: List-Unsubscribe must be one URL");
        return EQ_ERR_DATA;
    }
    if (m->list_unsubscribe != NULL &&
        strlen(m->list_unsubscribe) > MAX_LINE - 4) {
        eq_diag(diag,
                "compose: List-Unsubscribe URL longer than %d "
                "characters",
                MAX_LINE - 4);
        return EQ_ERR_DATA;
    }

    eqtime_format_rfc5322(m->date, m->timezone ? m->timezone : "UTC", date);
    if ((err = hdr_plain(&b, "Date", date)) != EQ_OK ||
        (err = hdr_mailbox_str(&b, "From", m->from, diag)) != EQ_OK ||
        (err = hdr_mailbox(&b, "To", m->to_name, m->to, diag)) != EQ_OK)
        goto out;
    if (m->reply_to != NULL &&
        (err = hdr_mailbox_str(&b, "Reply-To", m->reply_to, diag)) != EQ_OK)
        goto out;
    if ((err = hdr_begin(&h, &b, "Subject")) != EQ_OK ||
        (err = hdr_unstructured(&h, m->subject)) != EQ_OK ||
        (err = hdr_end(&h)) != EQ_OK)
        goto out;
    if (strpbrk(m->message_id, " \t") != NULL) {
        eq_diag(diag, "compose: Message-ID '%s' has blanks", m->message_id);
        err = EQ_ERR_DATA;
        goto out;
    }
    if ((err = hdr_msgids(&b, "Message-ID", m->message_id, diag)) != EQ_OK)
        goto out;
    if (m->in_reply_to != NULL &&
        (err = hdr_msgids(&b, "In-Reply-To", m->in_reply_to, diag)) != EQ_OK)
        goto out;
    if (m->references != NULL &&
        (err = hdr_msgids(&b, "References", m->references, diag)) != EQ_OK)
        goto out;
    if (m->auto_submitted &&
        (err = buf_printf(&b,
                          "Auto-Submitted: %s\r\n"
                          "X-Auto-Response-Suppress: OOF, AutoReply\r\n",
                          m->auto_submitted == COMPOSE_AUTO_REPLIED
                              ? "auto-replied"
                              : "auto-generated")) != EQ_OK)
        goto out;
    if (m->list_unsubscribe != NULL) {
        /* RFC 2369 forbids whitespace inside the brackets: the URL can only
         * move to a line of its own. */
        struct eq_buf u = {0};
        if ((err = buf_printf(&u, "<%s>", m->list_unsubscribe)) == EQ_OK &&
            (err = hdr_begin(&h, &b, "List-Unsubscribe")) == EQ_OK &&
            (err = hdr_unit(&h, u.s, u.len)) == EQ_OK)
            err = hdr_end(&h);
        buf_free(&u);
        if (err != EQ_OK)
            goto out;
    }
    if ((err = buf_add(&b, "MIME-Version: 1.0\r\n")) != EQ_OK ||
        (err = add_body(&b, m, diag)) != EQ_OK)
        goto out;
    if ((err = check_line_length(b.s, b.len, diag)) != EQ_OK)
        goto out;
    if (len != NULL)
        *len = b.len;
    *out = buf_take(&b);
    if (*out == NULL)
        err = EQ_ERR_NOMEM;
out:
    buf_free(&b);
    return err;
}

/* --- mailto links (RFC 6068) ------------------------------------------ */

static enum eq_err
pct_encode(struct eq_buf *b, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    /* Built in a local chunk: a mail has a dozen links of a few hundred
     * characters, and one buffer call per character showed in profiles. */
    char chunk[256];
    size_t n = 0;
    enum eq_err err = EQ_OK;

    for (const unsigned char *p = (const unsigned char *)s; *p && err == EQ_OK;
         p++) {
        if (n > sizeof chunk - 6) {
            err = buf_addn(b, chunk, n);
            n = 0;
        }
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL ||
            (keep != NULL && strchr(keep, *p) != NULL)) {
            chunk[n++] = (char)*p;
        } else if (*p == '\n' &&
                   (p == (const unsigned char *)s || p[-1] != '\r')) {
            memcpy(chunk + n, "%0D%0A", 6);
            n += 6;
        } else {
            chunk[n++] = '%';
            chunk[n++] = hex[*p >> 4];
            chunk[n++] = hex[*p & 15];
        }
    }
    if (err == EQ_OK && n > 0)
        err = buf_addn(b, chunk, n);
    return err;
}

/* "mailto:LOCAL+TOKEN@DOMAIN?subject=…&body=…" */
enum eq_err
compose_mailto(const char *local, const char *domain, const char *token,
               const char *subject, const char *body, char **out)
{
    struct eq_buf b = {0}, addr = {0}, subj = {0};
    char tag[TOKEN_LEN + 4];
    enum eq_err err;

    *out = NULL;
    snprintf(tag, sizeof(tag), "[#%s]", token);
    err = buf_printf(&addr, "%s+%s@%s", local, token, domain);
    if (err == EQ_OK)
        err = buf_add(&subj, subject ? subject : "");
    /* The token must survive in the subject whatever the caller passed. */
    if (err == EQ_OK && strstr(buf_str(&subj), tag) == NULL)
        err = buf_printf(&subj, "%s%s", subj.len ? " " : "", tag);
    if (err == EQ_OK)
        err = buf_add(&b, "mailto:");
    if (err == EQ_OK)
        err = pct_encode(&b, addr.s, "!$'()*+,;:@");
    if (err == EQ_OK)
        err = buf_add(&b, "?subject=");
    if (err == EQ_OK)
        err = pct_encode(&b, subj.s, NULL);
    if (err == EQ_OK && body != NULL && *body != '\0') {
        err = buf_add(&b, "&body=");
        if (err == EQ_OK)
            err = pct_encode(&b, body, NULL);
    }
    if (err == EQ_OK) {
        *out = buf_take(&b);
        if (*out == NULL)
            err = EQ_ERR_NOMEM;
    }
    buf_free(&b);
    buf_free(&addr);
    buf_free(&subj);
    return err;
}

enum eq_err
compose_answer_link(const char *reply_local, const char *domain,
                    const char *token, const char *subject, const char *body,
                    char **out)
{
    *out = NULL;
    if (reply_local == NULL || domain == NULL || !token_valid(token))
        return EQ_ERR_DATA;
    return compose_mailto(reply_local, domain, token, subject, body, out);
}
