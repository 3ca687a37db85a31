/*
 * compose: the message serializer is written here rather than with
 * libetpan's mailmime builder because the output must follow rules that
 * builder does not enforce (folding at 78 columns, encoded words that never
 * split a UTF-8 character, boundaries that cannot occur in encoded content,
 * refusal of CR/LF in header data).
 */
#include "compose.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "eqtime.h"
#include "template.h"
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
static enum eq_err
check_value(const char *what, const char *v, struct eq_buf *diag)
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
        if ((err = check_value("part filename", m->parts[i].filename, diag)) !=
                EQ_OK ||
            (err = check_value("part content id", m->parts[i].content_id,
                               diag)) != EQ_OK ||
            (err = check_value("part content type", m->parts[i].content_type,
                               diag)) != EQ_OK)
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
        if ((err = check_value(values[i].what, values[i].v, diag)) != EQ_OK)
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
    enum eq_err err = EQ_OK;

    for (const unsigned char *p = (const unsigned char *)s; *p && err == EQ_OK;
         p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL ||
            (keep != NULL && strchr(keep, *p) != NULL))
            err = buf_addc(b, (char)*p);
        else if (*p == '\n' && (p == (const unsigned char *)s || p[-1] != '\r'))
            err = buf_add(b, "%0D%0A");
        else
            err = buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
    return err;
}

/* "mailto:LOCAL+TOKEN@DOMAIN?subject=…&body=…" */
static enum eq_err
mailto(const char *local, const char *domain, const char *token,
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
    return mailto(reply_local, domain, token, subject, body, out);
}

/* --- invitations ------------------------------------------------------ */

struct words {
    const char *low_nl, *high_nl, *low_en, *high_en;
};

static const struct words scale_words[] = {
    [METRIC_NPS] = {"zeer onwaarschijnlijk", "zeer waarschijnlijk",
                    "very unlikely", "very likely"},
    [METRIC_CES] = {"helemaal oneens", "helemaal eens", "strongly disagree",
                    "strongly agree"},
    [METRIC_CSAT] = {"zeer ontevreden", "zeer tevreden", "very dissatisfied",
                     "very satisfied"},
};

static const char *
pick(int en, const char *nl_text, const char *en_text)
{
    const char *first = en ? en_text : nl_text,
               *second = en ? nl_text : en_text;

    if (first != NULL && *first != '\0')
        return first;
    return second;
}

static enum eq_err
format_close_date(eq_time t, const char *tz, int en, struct eq_buf *b)
{
    static const char *const nl[] = {
        "januari", "februari", "maart",     "april",   "mei",      "juni",
        "juli",    "augustus", "september", "oktober", "november", "december"};
    static const char *const enm[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    eq_day day;
    int minute, y, m, d;

    eqtime_to_local(t, tz, &day, &minute);
    eqtime_ymd_from_day(day, &y, &m, &d);
    return buf_printf(b, "%d %s %d", d, en ? enm[m - 1] : nl[m - 1], y);
}

/* The first given name: "Anna de Vries" → "Anna", "Vries, Anna" → "Anna". */
static char *
first_name_of(const char *name)
{
    const char *s = name, *comma = strchr(name, ',');
    size_t n;

    if (comma != NULL && comma[1] != '\0')
        s = comma + 1;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strcspn(s, " \t,");
    return strndup(s, n);
}

/* Splits "Subject: …\n\nbody" (rendered .txt) into subject and body. */
static enum eq_err
split_subject(const char *text, const char *where, char **subject,
              const char **body, struct eq_buf *diag)
{
    size_t n;

    *subject = NULL;
    if (strncmp(text, "Subject:", 8) != 0) {
        eq_diag(diag, "%s:1: the first line must be 'Subject: …'", where);
        return EQ_ERR_DATA;
    }
    text += 8;
    n = strcspn(text, "\n");
    *subject = strndup(text, n);
    if (*subject == NULL)
        return EQ_ERR_NOMEM;
    n = strlen(*subject);
    if (n > 0 && (*subject)[n - 1] == '\r')
        (*subject)[n - 1] = '\0';
    eq_trim(*subject);
    text += n;
    if (*text == '\n')
        text++;
    if (*text == '\r' && text[1] == '\n')
        text += 2;
    else if (*text == '\n')
        text++;
    *body = text;
    if ((*subject)[0] == '\0') {
        eq_diag(diag, "%s:1: the subject is empty", where);
        free(*subject);
        *subject = NULL;
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

/* What partials/page_top.html needs: the language, and the subject, which
 * is "" until the .txt has been rendered (the Subject: line cannot show
 * itself). */
static enum eq_err
page_context(struct tpl_ctx *ctx, const char *lang)
{
    enum eq_err err = tpl_set(ctx, "lang", lang);

    return err == EQ_OK ? tpl_set(ctx, "subject", "") : err;
}

struct invite_state {
    const struct compose_invite *ci;
    int en;
    const char *lang, *tz, *token;
    char *local, *domain;
    char *name, *first_name;
    struct tpl_ctx *ctx;
    struct tpl_ctx **answer_items; /* to fill in the links once the
                                      subject is known */
    char **answer_bodies;
    size_t n_answers;
};

static enum eq_err
add_metrics(struct invite_state *st, const char *provider, struct eq_buf *diag)
{
    const struct campaign *c = st->ci->campaign;
    struct tpl_ctx *qctx = tpl_ctx_new();
    struct eq_buf where = {0}, example = {0};
    enum eq_err err = qctx ? EQ_OK : EQ_ERR_NOMEM;
    size_t total = 0;

    for (size_t i = 0; i < c->n_metrics; i++)
        if (c->metrics[i].max >= c->metrics[i].min)
            total += (size_t)(c->metrics[i].max - c->metrics[i].min + 1);
    st->answer_items = calloc(total ? total : 1, sizeof(*st->answer_items));
    st->answer_bodies = calloc(total ? total : 1, sizeof(*st->answer_bodies));
    if (st->answer_items == NULL || st->answer_bodies == NULL)
        err = EQ_ERR_NOMEM;
    if (err == EQ_OK)
        err = tpl_set(qctx, "provider", provider);
    for (size_t i = 0; i < c->n_metrics && err == EQ_OK; i++) {
        const struct campaign_metric *mt = &c->metrics[i];
        const struct words *w = &scale_words[mt->type];
        struct tpl_ctx *it = tpl_add_item(st->ctx, "metrics");
        const char *q = pick(st->en, mt->question_nl, mt->question_en);
        const char *label = pick(st->en, mt->label_nl, mt->label_en);
        char *question = NULL, *upper = NULL;

        if (it == NULL) {
            err = EQ_ERR_NOMEM;
            break;
        }
        buf_reset(&where);
        buf_printf(&where, "%s [metric %s] question_%s",
                   c->file ? c->file : (c->name ? c->name : "campaign"), mt->id,
                   st->lang);
        err = template_render(q ? q : "", qctx, 0, buf_str(&where), &question,
                              diag);
        if (err == EQ_OK &&
            (err = check_value("question", question, diag)) != EQ_OK)
            eq_diag(diag, "%s: a question is one line", buf_str(&where));
        if (err == EQ_OK)
            err = tpl_set(it, "id", mt->id);
        if (err == EQ_OK)
            err = tpl_set(it, "type", campaign_metric_type_name(mt->type));
        if (err == EQ_OK)
            err = tpl_set(it, "label", label ? label : mt->id);
        if (err == EQ_OK)
            err = tpl_set(it, "question", question);
        if (err == EQ_OK)
            err = tpl_setf(it, "min", "%d", mt->min);
        if (err == EQ_OK)
            err = tpl_setf(it, "max", "%d", mt->max);
        if (err == EQ_OK)
            err = tpl_set(it, "low_label", st->en ? w->low_en : w->low_nl);
        if (err == EQ_OK)
            err = tpl_set(it, "high_label", st->en ? w->high_en : w->high_nl);
        if (err == EQ_OK)
            err = tpl_set_bool(it, "first", i == 0);
        upper = eq_strdup(mt->id);
        if (upper == NULL && err == EQ_OK)
            err = EQ_ERR_NOMEM;
        for (char *p = upper; p && *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        for (int v = mt->min; v <= mt->max && err == EQ_OK; v++) {
            struct tpl_ctx *a = tpl_add_item(it, "answers");
            struct eq_buf body = {0};
            if (a == NULL) {
                err = EQ_ERR_NOMEM;
                break;
            }
            err = tpl_setf(a, "value", "%d", v);
            if (err == EQ_OK)
                err = tpl_set(a, "mailto", "");
            if (err == EQ_OK)
                err = buf_printf(&body, "%s: %d", upper, v);
            if (err == EQ_OK) {
                st->answer_items[st->n_answers] = a;
                st->answer_bodies[st->n_answers++] = buf_take(&body);
            }
            buf_free(&body);
        }
        /* An example answer a person can copy: the middle-high value. */
        if (err == EQ_OK)
            err = buf_printf(&example, "%s%d", i ? " " : "",
                             mt->min + (mt->max - mt->min) * 4 / 5);
        free(upper);
        free(question);
    }
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "example", buf_str(&example));
    if (err == EQ_OK)
        err = tpl_set_bool(st->ctx, "several", c->n_metrics > 1);
    buf_free(&where);
    buf_free(&example);
    tpl_ctx_free(qctx);
    return err;
}

static const char *
provider_of(const struct store_invitation *inv)
{
    return inv->provider_name ? inv->provider_name
                              : (inv->provider_code ? inv->provider_code : "");
}

/* The variables every mail to an invitee has: name, first_name, provider,
 * title. */
static enum eq_err
base_context(struct invite_state *st)
{
    const struct campaign *c = st->ci->campaign;
    const char *title = pick(st->en, c->title_nl, c->title_en);
    enum eq_err err;

    if ((st->ctx = tpl_ctx_new()) == NULL)
        return EQ_ERR_NOMEM;
    err = tpl_set(st->ctx, "name", st->name);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "first_name", st->first_name);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "provider", provider_of(st->ci->inv));
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "title", title ? title : c->name);
    return err;
}

static enum eq_err
build_context(struct invite_state *st, struct eq_buf *diag)
{
    const struct compose_invite *ci = st->ci;
    const struct campaign *c = ci->campaign;
    const struct store_invitation *inv = ci->inv;
    const char *provider = provider_of(inv);
    struct eq_buf v = {0};
    enum eq_err err = base_context(st);
    eq_time closes = inv->closes_at;

    if (closes == 0)
        closes = (inv->sent_at ? inv->sent_at : ci->now) +
                 (eq_time)c->close_after * 86400;
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "token", st->token);
    if (err == EQ_OK)
        err = page_context(st->ctx, st->lang);
    if (err == EQ_OK)
        err = tpl_setf(st->ctx, "reply_to", "%s+%s@%s", st->local, st->token,
                       st->domain);
    if (err == EQ_OK)
        err = format_close_date(closes, st->tz, st->en, &v);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "close_date", buf_str(&v));
    if (err == EQ_OK)
        err = tpl_set_bool(st->ctx, "reminder", ci->reminder > 0);
    if (err == EQ_OK)
        err = tpl_setf(st->ctx, "reminder_number", "%d", ci->reminder);
    if (err == EQ_OK)
        err = tpl_set_bool(st->ctx, "anonymous", c->anonymous);
    if (err == EQ_OK)
        err = tpl_setf(st->ctx, "anonymity_min", "%d", c->anonymity_min);
    /* Filled in once the subject is known. */
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "optout_mailto", "");
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "na_mailto", "");
    if (err == EQ_OK)
        err = add_metrics(st, provider, diag);
    buf_free(&v);
    return err;
}

static enum eq_err
fill_links(struct invite_state *st, const char *subject)
{
    struct eq_buf re = {0};
    char *link = NULL;
    enum eq_err err = buf_printf(&re, "Re: %s", subject);

    for (size_t i = 0; i < st->n_answers && err == EQ_OK; i++) {
        err = mailto(st->local, st->domain, st->token, re.s,
                     st->answer_bodies[i], &link);
        if (err == EQ_OK)
            err = tpl_set(st->answer_items[i], "mailto", link);
        free(link);
        link = NULL;
    }
    if (err == EQ_OK)
        err = mailto(st->local, st->domain, st->token, re.s,
                     st->en ? "N/A" : "n.v.t.", &link);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "na_mailto", link);
    free(link);
    link = NULL;
    if (err == EQ_OK)
        err = mailto(st->local, st->domain, st->token,
                     st->en ? "unsubscribe" : "afmelden",
                     st->en ? "unsubscribe" : "afmelden", &link);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "optout_mailto", link);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "subject", subject);
    free(link);
    buf_free(&re);
    return err;
}

static const char *
language_of(const struct compose_invite *ci)
{
    const char *cands[] = {ci->inv->language, ci->campaign->language,
                           ci->cfg->general.language};

    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
        if (cands[i] != NULL &&
            (strcmp(cands[i], "nl") == 0 || strcmp(cands[i], "en") == 0))
            return cands[i];
    return "nl";
}

static void
invite_state_free(struct invite_state *st)
{
    for (size_t i = 0; i < st->n_answers; i++)
        free(st->answer_bodies[i]);
    free(st->answer_bodies);
    free(st->answer_items);
    tpl_ctx_free(st->ctx);
    free(st->local);
    free(st->domain);
    free(st->name);
    free(st->first_name);
    memset(st, 0, sizeof(*st));
}

/* What every mail to one invitee needs: language, zone, reply address, and
 * the name and department checked for headers. No template variables yet. */
static enum eq_err
mail_state_init(struct invite_state *st, const struct compose_invite *ci,
                struct eq_buf *diag)
{
    const struct store_invitation *inv = ci->inv;
    enum eq_err err;

    memset(st, 0, sizeof(*st));
    st->ci = ci;
    st->token = inv->token;
    st->lang = language_of(ci);
    st->en = strcmp(st->lang, "en") == 0;
    st->tz = ci->campaign->timezone
                 ? ci->campaign->timezone
                 : (ci->cfg->general.timezone ? ci->cfg->general.timezone
                                              : "Europe/Amsterdam");
    err = config_reply_parts(ci->cfg, &st->local, &st->domain);
    if (err != EQ_OK) {
        eq_diag(diag, "compose: reply_address '%s' is not LOCAL@DOMAIN",
                ci->cfg->general.reply_address ? ci->cfg->general.reply_address
                                               : "");
        return err;
    }
    /* Both reach headers (To, and Subject through the templates): data
     * with line breaks or control characters is refused here, by name,
     * rather than cleaned up, so the bad row gets fixed at its source. */
    if ((err = check_value("employee name", inv->employee_name, diag)) !=
            EQ_OK ||
        (err = check_value("department name", inv->provider_name, diag)) !=
            EQ_OK ||
        (err = check_value("department code", inv->provider_code, diag)) !=
            EQ_OK)
        return err;
    st->name = strdup(inv->employee_name ? inv->employee_name : "");
    st->first_name = st->name ? first_name_of(st->name) : NULL;
    if (st->name == NULL || st->first_name == NULL)
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

/* Everything the templates of one invitation see, links still empty. */
static enum eq_err
invite_state_init(struct invite_state *st, const struct compose_invite *ci,
                  struct eq_buf *diag)
{
    enum eq_err err = mail_state_init(st, ci, diag);

    return err == EQ_OK ? build_context(st, diag) : err;
}

/* A mail to an invitee can only be threaded and answered with its token. */
static enum eq_err
check_invitee(const struct store_invitation *inv, const char *dir,
              struct eq_buf *diag)
{
    if (!token_valid(inv->token)) {
        eq_diag(diag, "compose: invitation %lld has no valid token",
                (long long)inv->id);
        return EQ_ERR_DATA;
    }
    if (inv->email == NULL || dir == NULL) {
        eq_diag(diag,
                "compose: invitation %lld: no address or no templates "
                "directory",
                (long long)inv->id);
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

/* subject, ending in [#TOKEN] once (a template may have put it there). */
static enum eq_err
tag_subject(struct eq_buf *subject, const char *subj, const char *token)
{
    char tag[TOKEN_LEN + 4];
    size_t sl = strlen(subj), tl;
    enum eq_err err = buf_add(subject, subj);

    snprintf(tag, sizeof(tag), "[#%s]", token);
    tl = strlen(tag);
    if (err == EQ_OK && (sl < tl || strcmp(subj + sl - tl, tag) != 0))
        err = buf_printf(subject, " %s", tag);
    return err;
}

/* One mail's rendered pieces and ids, owned together. */
struct rendered {
    struct eq_buf where, subject, msgid, irt;
    char *txt, *html, *subj;
    const char *body; /* inside txt */
};

static void
rendered_free(struct rendered *r)
{
    buf_free(&r->where);
    buf_free(&r->subject);
    buf_free(&r->msgid);
    buf_free(&r->irt);
    free(r->txt);
    free(r->html);
    free(r->subj);
    memset(r, 0, sizeof(*r));
}

/* Renders DIR/LANG/kind.{txt,html} into r, the subject tagged [#token].
 * The HTML sees the subject (its <title>), without the tag, which only
 * matters to the reply matching. */
static enum eq_err
render_kind(const char *dir, const char *lang, const char *kind,
            struct tpl_ctx *ctx, const char *token, struct rendered *r,
            struct eq_buf *diag)
{
    enum eq_err err = buf_printf(&r->where, "%s/%s/%s.txt", dir, lang, kind);

    if (err == EQ_OK)
        err = template_render_file(dir, lang, kind, "txt", ctx, &r->txt, diag);
    if (err == EQ_OK)
        err = split_subject(r->txt, r->where.s, &r->subj, &r->body, diag);
    if (err == EQ_OK)
        err = tag_subject(&r->subject, r->subj, token);
    if (err == EQ_OK)
        err = tpl_set(ctx, "subject", r->subj);
    if (err == EQ_OK)
        err =
            template_render_file(dir, lang, kind, "html", ctx, &r->html, diag);
    return err;
}

/* Ends a compose_* call: frees its state, says out of memory once. */
static enum eq_err
mail_done(struct invite_state *st, struct rendered *r, enum eq_err err,
          struct eq_buf *diag)
{
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "compose: out of memory");
    invite_state_free(st);
    rendered_free(r);
    return err;
}

/* The headers every mail to an invitee shares (DESIGN.md "Mail
 * conventions"), then the message. The envelope sender is the Reply-To
 * address, so bounces find the token too. unsub may be NULL. */
static enum eq_err
build_to_invitee(const struct invite_state *st, const struct rendered *r,
                 const char *unsub, int auto_submitted, char **out, size_t *len,
                 char **envelope_from, struct eq_buf *diag)
{
    struct eq_buf reply = {0};
    enum eq_err err =
        buf_printf(&reply, "%s+%s@%s", st->local, st->token, st->domain);
    struct compose_mail m = {
        .from = st->ci->cfg->general.from,
        .to = st->ci->inv->email,
        .to_name = st->name[0] ? st->name : NULL,
        .reply_to = reply.s,
        .subject = r->subject.s,
        .message_id = r->msgid.s,
        .in_reply_to = r->irt.len ? r->irt.s : NULL,
        .references = r->irt.len ? r->irt.s : NULL,
        .list_unsubscribe = unsub,
        .auto_submitted = auto_submitted,
        .date = st->ci->now,
        .timezone = st->tz,
        .text = r->body,
        .html = r->html,
    };

    if (err == EQ_OK)
        err = compose_build(&m, out, len, diag);
    if (err == EQ_OK && envelope_from != NULL) {
        *envelope_from = buf_take(&reply);
        if (*envelope_from == NULL)
            err = EQ_ERR_NOMEM;
    }
    if (err != EQ_OK && *out != NULL) {
        free(*out);
        *out = NULL;
    }
    buf_free(&reply);
    return err;
}

/* Sets the out-parameters of a compose_* function to nothing yet. */
static void
outputs_init(char **out, size_t *len, char **envelope_from)
{
    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (envelope_from != NULL)
        *envelope_from = NULL;
}

enum eq_err
compose_invitation(const struct compose_invite *ci, char **out, size_t *len,
                   char **envelope_from, struct eq_buf *diag)
{
    struct invite_state st = {0};
    struct rendered r = {0};
    const struct store_invitation *inv = ci->inv;
    const char *dir =
        ci->templates_dir ? ci->templates_dir : ci->cfg->general.templates;
    const char *kind = ci->reminder > 0 ? "reminder" : "invite";
    struct tpl_source src = {dir, NULL, "txt"};
    char *tpl_txt = NULL, *unsub = NULL;
    enum eq_err err;

    outputs_init(out, len, envelope_from);
    if ((err = check_invitee(inv, dir, diag)) != EQ_OK)
        return err;
    if ((err = invite_state_init(&st, ci, diag)) != EQ_OK)
        goto out;
    src.lang = st.lang;

    if ((err = buf_printf(&r.where, "%s/%s/%s.txt", dir, st.lang, kind)) !=
            EQ_OK ||
        (err = template_load(dir, st.lang, kind, "txt", &tpl_txt, diag)) !=
            EQ_OK)
        goto out;
    /* First pass: the subject, which the answer links repeat. */
    if ((err = template_render_src(tpl_txt, st.ctx, &src, r.where.s, &r.txt,
                                   diag)) != EQ_OK ||
        (err = split_subject(r.txt, r.where.s, &r.subj, &r.body, diag)) !=
            EQ_OK)
        goto out;
    if ((err = tag_subject(&r.subject, r.subj, st.token)) != EQ_OK ||
        (err = fill_links(&st, r.subject.s)) != EQ_OK)
        goto out;
    free(r.txt);
    r.txt = NULL;
    free(r.subj);
    r.subj = NULL;
    if ((err = template_render_src(tpl_txt, st.ctx, &src, r.where.s, &r.txt,
                                   diag)) != EQ_OK ||
        (err = split_subject(r.txt, r.where.s, &r.subj, &r.body, diag)) !=
            EQ_OK)
        goto out;
    if ((err = template_render_file(dir, st.lang, kind, "html", st.ctx, &r.html,
                                    diag)) != EQ_OK)
        goto out;

    if (ci->reminder > 0) {
        err = buf_printf(&r.msgid, "rem.%d.%s@%s", ci->reminder, st.token,
                         st.domain);
        if (err == EQ_OK)
            err = buf_printf(&r.irt, "inv.%s@%s", st.token, st.domain);
    } else {
        err = buf_printf(&r.msgid, "inv.%s@%s", st.token, st.domain);
    }
    if (err == EQ_OK)
        err = mailto(st.local, st.domain, st.token,
                     st.en ? "unsubscribe" : "afmelden", NULL, &unsub);
    if (err == EQ_OK)
        err = build_to_invitee(&st, &r, unsub, COMPOSE_AUTO_GENERATED, out, len,
                               envelope_from, diag);
out:
    free(tpl_txt);
    free(unsub);
    return mail_done(&st, &r, err, diag);
}

/* --- confirmations ---------------------------------------------------- */

/* The invitation fields of an acknowledgement, for the shared helpers. */
static void
ack_invite(const struct compose_ack *ca, struct compose_invite *ci)
{
    memset(ci, 0, sizeof(*ci));
    ci->cfg = ca->cfg;
    ci->campaign = ca->campaign;
    ci->inv = ca->inv;
    ci->templates_dir = ca->templates_dir;
    ci->now = ca->now;
}

/* The variables of confirmation and optout (templates/README.md). */
static enum eq_err
ack_state_init(struct invite_state *st, const struct compose_invite *ci,
               const struct compose_ack *ca, struct eq_buf *diag)
{
    const struct campaign *c = ca->campaign;
    enum eq_err err = mail_state_init(st, ci, diag);

    if (err == EQ_OK)
        err = base_context(st);
    if (err == EQ_OK)
        err = page_context(st->ctx, st->lang);
    if (err == EQ_OK)
        err = tpl_set(st->ctx, "comment", ca->comment ? ca->comment : "");
    for (size_t i = 0; i < ca->n_scores && err == EQ_OK; i++) {
        const struct campaign_metric *mt =
            campaign_metric(c, ca->scores[i].metric);
        const char *label =
            mt ? pick(st->en, mt->label_nl, mt->label_en) : NULL;
        struct tpl_ctx *it = tpl_add_item(st->ctx, "scores");
        if (it == NULL)
            return EQ_ERR_NOMEM;
        err = tpl_set(it, "label", label ? label : ca->scores[i].metric);
        if (err == EQ_OK && ca->scores[i].score < 0)
            err = tpl_set(it, "value", st->en ? "N/A" : "n.v.t.");
        else if (err == EQ_OK)
            err = tpl_setf(it, "value", "%d", ca->scores[i].score);
    }
    if (err == EQ_OK && ca->n_scores == 0)
        err = tpl_set_bool(st->ctx, "scores", 0);
    return err;
}

/* confirmation or optout: one rendering, threaded under the invitation. */
static enum eq_err
compose_ack_mail(const struct compose_ack *ca, const char *kind, int64_t n,
                 char **out, size_t *len, char **envelope_from,
                 struct eq_buf *diag)
{
    struct compose_invite ci;
    struct invite_state st = {0};
    struct rendered r = {0};
    const char *dir =
        ca->templates_dir ? ca->templates_dir : ca->cfg->general.templates;
    enum eq_err err;

    outputs_init(out, len, envelope_from);
    if ((err = check_invitee(ca->inv, dir, diag)) != EQ_OK)
        return err;
    ack_invite(ca, &ci);
    if ((err = ack_state_init(&st, &ci, ca, diag)) != EQ_OK ||
        (err = render_kind(dir, st.lang, kind, st.ctx, st.token, &r, diag)) !=
            EQ_OK)
        goto out;
    err = buf_printf(&r.msgid, "ack.%s.%lld@%s", st.token, (long long)n,
                     st.domain);
    if (err == EQ_OK)
        err = buf_printf(&r.irt, "inv.%s@%s", st.token, st.domain);
    /* It answers a mail (RFC 3834 3.1.7): auto-replied, and no
     * List-Unsubscribe, since nothing more is on its way. */
    if (err == EQ_OK)
        err = build_to_invitee(&st, &r, NULL, COMPOSE_AUTO_REPLIED, out, len,
                               envelope_from, diag);
out:
    return mail_done(&st, &r, err, diag);
}

enum eq_err
compose_confirmation(const struct compose_ack *ca, char **out, size_t *len,
                     char **envelope_from, struct eq_buf *diag)
{
    if (ca->n <= 0) {
        outputs_init(out, len, envelope_from);
        eq_diag(diag, "compose: a confirmation is numbered from 1");
        return EQ_ERR_DATA;
    }
    return compose_ack_mail(ca, "confirmation", ca->n, out, len, envelope_from,
                            diag);
}

enum eq_err
compose_optout_confirmation(const struct compose_ack *ca, char **out,
                            size_t *len, char **envelope_from,
                            struct eq_buf *diag)
{
    return compose_ack_mail(ca, "optout", 0, out, len, envelope_from, diag);
}

/* --- checking templates ---------------------------------------------- */

/* A valid token (Crockford base32, 26 characters) that no real invitation
 * can have been given by chance in a way that matters: samples are never
 * stored or sent. */
#define SAMPLE_TOKEN "abcdefghjkmnpqrstvwxyz0123"

/* Keeps the first failure's code; out of memory ends the check at once. */
static int
check_keep(enum eq_err *total, enum eq_err err)
{
    if (err != EQ_OK && *total == EQ_OK)
        *total = err;
    return err == EQ_ERR_NOMEM;
}

/* The two sample invitees of a check: one named, asked every question;
 * one without a name, asked only the first, with the other anonymity
 * setting, so both sides of {{#several}}, {{#first_name}} and
 * {{#anonymous}} really render. Their confirmations: every question at its
 * top value with a comment; "not applicable" without one. */
#define SAMPLE_SCORES 16
struct check_sample {
    struct campaign camp;
    struct store_invitation inv;
    struct compose_invite ci;
    struct compose_ack ack;
    struct compose_score scores[SAMPLE_SCORES];
};

static void
check_sample_init(struct check_sample *cs, const struct eq_config *cfg,
                  const struct campaign *c, const char *dir, const char *lang,
                  int reminder, int second)
{
    memset(cs, 0, sizeof(*cs));
    cs->camp = *c;
    if (second) {
        cs->camp.n_metrics = c->n_metrics > 0 ? 1 : 0;
        cs->camp.anonymous = !c->anonymous;
    }
    memcpy(cs->inv.token, SAMPLE_TOKEN, sizeof(cs->inv.token));
    cs->inv.language = (char *)lang;
    cs->inv.email = (char *)"sample@example.invalid";
    cs->inv.employee_name = (char *)(second ? "" : "Anna de Vries");
    cs->inv.provider_code =
        (char *)(c->n_providers > 0 && c->providers ? c->providers[0] : "ict");
    cs->inv.provider_name = cs->inv.provider_code;
    cs->inv.closes_at = 1796122800; /* 2026-12-01 */
    cs->ci.cfg = cfg;
    cs->ci.campaign = &cs->camp;
    cs->ci.inv = &cs->inv;
    cs->ci.templates_dir = dir;
    cs->ci.reminder = reminder;
    cs->ci.now = 1795258800; /* 2026-11-21 */
    for (size_t i = 0; i < cs->camp.n_metrics && i < SAMPLE_SCORES; i++) {
        cs->scores[i].metric = cs->camp.metrics[i].id;
        cs->scores[i].score = second ? -1 : cs->camp.metrics[i].max;
        cs->ack.n_scores = i + 1;
    }
    cs->ack.cfg = cfg;
    cs->ack.campaign = &cs->camp;
    cs->ack.inv = &cs->inv;
    cs->ack.templates_dir = dir;
    cs->ack.n = 1;
    cs->ack.scores = cs->scores;
    cs->ack.comment = second ? "" : "Snel & vriendelijk";
    cs->ack.now = cs->ci.now;
}

/* The template variables of sample i, and then its real message. */
static enum eq_err
check_sample_state(struct check_sample *cs, struct invite_state *st,
                   const char *kind, struct eq_buf *diag)
{
    struct eq_buf subj = {0};
    enum eq_err err;

    if (strcmp(kind, "confirmation") == 0 || strcmp(kind, "optout") == 0)
        return ack_state_init(st, &cs->ci, &cs->ack, diag);
    err = invite_state_init(st, &cs->ci, diag);
    if (err == EQ_OK)
        err = buf_printf(&subj, "%s [#%s]", st->en ? "Sample" : "Voorbeeld",
                         SAMPLE_TOKEN);
    if (err == EQ_OK)
        err = fill_links(st, subj.s);
    buf_free(&subj);
    return err;
}

static enum eq_err
check_sample_build(const struct check_sample *cs, const char *kind,
                   struct eq_buf *diag)
{
    char *msg = NULL;
    enum eq_err err;

    if (strcmp(kind, "confirmation") == 0)
        err = compose_confirmation(&cs->ack, &msg, NULL, NULL, diag);
    else if (strcmp(kind, "optout") == 0)
        err = compose_optout_confirmation(&cs->ack, &msg, NULL, NULL, diag);
    else
        err = compose_invitation(&cs->ci, &msg, NULL, NULL, diag);
    free(msg);
    return err;
}

/* One mail kind (invite, reminder 1..reminders, confirmation, optout) in
 * one language: every branch checked against the samples, then one real
 * message built. */
static enum eq_err
check_mails(const struct eq_config *cfg, const struct campaign *c,
            const char *dir, const char *lang, const char *kind, int reminders,
            struct eq_buf *diag)
{
    size_t n = reminders > 0 ? 2 * (size_t)reminders : 2, ns = 0;
    struct check_sample *cs = calloc(n, sizeof(*cs));
    struct invite_state *st = calloc(n, sizeof(*st));
    const struct tpl_ctx **ctxs = calloc(n, sizeof(*ctxs));
    enum eq_err err = EQ_OK, total = EQ_OK;

    if (cs == NULL || st == NULL || ctxs == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        check_sample_init(&cs[i], cfg, c, dir, lang,
                          reminders > 0 ? (int)(i / 2) + 1 : 0, (int)(i % 2));
        err = check_sample_state(&cs[i], &st[i], kind, diag);
        ns = i + 1;
        if (err != EQ_OK)
            goto out;
        ctxs[i] = st[i].ctx;
    }
    {
        enum eq_err a =
            template_check_file(dir, lang, kind, "txt", ctxs, n, diag);
        enum eq_err b =
            template_check_file(dir, lang, kind, "html", ctxs, n, diag);
        if (check_keep(&total, a) || check_keep(&total, b))
            goto out;
    }
    /* The branches are sound: a real message shows what only composing
     * finds (no Subject: line, a value that cannot go in a header). */
    for (size_t i = 0; i < n && total == EQ_OK; i++) {
        struct eq_buf why = {0};
        err = check_sample_build(&cs[i], kind, &why);
        if (err != EQ_OK) {
            if (why.len > 0 && diag != NULL)
                buf_add(diag, why.s);
            buf_free(&why);
            if (check_keep(&total, err))
                goto out;
            break;
        }
        buf_free(&why);
    }
    err = EQ_OK;
out:
    for (size_t i = 0; st != NULL && i < ns; i++)
        invite_state_free(&st[i]);
    free(cs);
    free(st);
    free(ctxs);
    return err != EQ_OK ? err : total;
}

/* Appends the lines of from to diag, each once: a campaign's broken
 * question shows in the invitation and in every reminder. */
static void
diag_merge(struct eq_buf *diag, const struct eq_buf *from)
{
    const char *start = buf_str(from), *p = start;

    while (diag != NULL && *p) {
        size_t n = strcspn(p, "\n");
        int seen = 0;
        for (const char *q = start; q < p && !seen;) {
            size_t m = strcspn(q, "\n");
            seen = m == n && memcmp(q, p, n) == 0;
            q += m + 1;
        }
        if (!seen) {
            buf_addn(diag, p, n);
            buf_addc(diag, '\n');
        }
        p += n + (p[n] == '\n');
    }
}

enum eq_err
compose_check_templates(const struct eq_config *cfg, const struct campaign *c,
                        const char *templates_dir, struct eq_buf *diag)
{
    static const char *const langs[] = {"nl", "en"};
    const char *dir = templates_dir ? templates_dir : cfg->general.templates;
    struct eq_buf all = {0};
    enum eq_err total = EQ_OK;

    if (dir == NULL) {
        eq_diag(diag, "compose: no templates directory");
        return EQ_ERR_CONFIG;
    }
    for (size_t l = 0; l < sizeof(langs) / sizeof(langs[0]); l++) {
        if (check_keep(&total,
                       check_mails(cfg, c, dir, langs[l], "invite", 0, &all)))
            break;
        if (c->max_reminders > 0 &&
            check_keep(&total, check_mails(cfg, c, dir, langs[l], "reminder",
                                           c->max_reminders, &all)))
            break;
        if (check_keep(&total, check_mails(cfg, c, dir, langs[l],
                                           "confirmation", 0, &all)) ||
            check_keep(&total,
                       check_mails(cfg, c, dir, langs[l], "optout", 0, &all)))
            break;
    }
    if (total == EQ_ERR_NOMEM)
        eq_diag(&all, "compose: out of memory");
    diag_merge(diag, &all);
    buf_free(&all);
    return total;
}

/* --- the feedback loop ------------------------------------------------ */

static enum eq_err
format_day(eq_day day, int en, struct eq_buf *b)
{
    static const char *const nl[] = {
        "januari", "februari", "maart",     "april",   "mei",      "juni",
        "juli",    "augustus", "september", "oktober", "november", "december"};
    static const char *const enm[] = {
        "January", "February", "March",     "April",   "May",      "June",
        "July",    "August",   "September", "October", "November", "December"};
    int y, m, d;

    eqtime_ymd_from_day(day, &y, &m, &d);
    return buf_printf(b, "%d %s %d", d, en ? enm[m - 1] : nl[m - 1], y);
}

/* One item of an actions list: number, text, metric, due. */
static enum eq_err
action_item(struct tpl_ctx *ctx, const char *list, const struct compose_action *a,
            int en)
{
    struct tpl_ctx *it = tpl_add_item(ctx, list);
    struct eq_buf due = {0};
    enum eq_err err;

    if (it == NULL)
        return EQ_ERR_NOMEM;
    err = tpl_setf(it, "number", "%d", a->number);
    if (err == EQ_OK)
        err = tpl_set(it, "text", a->text ? a->text : "");
    if (err == EQ_OK)
        err = tpl_set(it, "metric", a->metric ? a->metric : "");
    if (err == EQ_OK && a->has_due)
        err = format_day(a->due, en, &due);
    if (err == EQ_OK)
        err = tpl_set(it, "due", buf_str(&due));
    buf_free(&due);
    return err;
}

/* An empty list is a false section, and its name still exists. */
static enum eq_err
list_or_false(struct tpl_ctx *ctx, const char *name, size_t n)
{
    return n == 0 ? tpl_set_bool(ctx, name, 0) : EQ_OK;
}

/* A feedback mail's context starts with its reader and its page. */
static enum eq_err
feedback_context_new(const char *lang, const char *name, struct tpl_ctx **out)
{
    struct tpl_ctx *ctx = tpl_ctx_new();
    char *first = first_name_of(name ? name : "");
    enum eq_err err = ctx && first ? EQ_OK : EQ_ERR_NOMEM;

    if (err == EQ_OK)
        err = tpl_set(ctx, "name", name ? name : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "first_name", first);
    if (err == EQ_OK)
        err = page_context(ctx, lang ? lang : "");
    free(first);
    *out = ctx;
    return err;
}

/* Hands ctx over when it is complete; frees it otherwise. */
static enum eq_err
feedback_context_done(struct tpl_ctx *ctx, enum eq_err err,
                      struct tpl_ctx **out)
{
    if (err != EQ_OK) {
        tpl_ctx_free(ctx);
        ctx = NULL;
    }
    *out = ctx;
    return err;
}

static enum eq_err
action_ack_context(const struct compose_action_ack *a, int en,
                   struct tpl_ctx **out)
{
    struct tpl_ctx *ctx = NULL;
    enum eq_err err = feedback_context_new(a->lang, a->to_name, &ctx);

    if (err == EQ_OK)
        err = tpl_set(ctx, "department", a->department ? a->department : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "period", a->period ? a->period : "");
    for (size_t i = 0; i < a->n_added && err == EQ_OK; i++)
        err = action_item(ctx, "added", &a->added[i], en);
    for (size_t i = 0; i < a->n_closed && err == EQ_OK; i++)
        err = action_item(ctx, "closed", &a->closed[i], en);
    for (size_t i = 0; i < a->n_unknown && err == EQ_OK; i++) {
        struct tpl_ctx *it = tpl_add_item(ctx, "unknown");
        err = it ? tpl_setf(it, "number", "%d", a->unknown[i]) : EQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < a->n_unread && err == EQ_OK; i++) {
        struct tpl_ctx *it = tpl_add_item(ctx, "unread");
        err = it ? tpl_set(it, "line", a->unread[i].line) : EQ_ERR_NOMEM;
        if (err == EQ_OK)
            err = tpl_set(it, "why", a->unread[i].why ? a->unread[i].why : "");
    }
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_added", a->n_added > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_closed", a->n_closed > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_unknown", a->n_unknown > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "any_unread", a->n_unread > 0);
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "nothing", a->n_added + a->n_closed == 0);
    if (err == EQ_OK)
        err = list_or_false(ctx, "added", a->n_added);
    if (err == EQ_OK)
        err = list_or_false(ctx, "closed", a->n_closed);
    if (err == EQ_OK)
        err = list_or_false(ctx, "unknown", a->n_unknown);
    if (err == EQ_OK)
        err = list_or_false(ctx, "unread", a->n_unread);
    return feedback_context_done(ctx, err, out);
}

static enum eq_err
action_notice_context(const struct compose_action_notice *a, int en,
                      const char *optout, struct tpl_ctx **out)
{
    struct tpl_ctx *ctx = NULL;
    enum eq_err err = feedback_context_new(a->lang, a->to_name, &ctx);

    if (err == EQ_OK)
        err = tpl_set(ctx, "title", a->title ? a->title : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "period", a->period ? a->period : "");
    if (err == EQ_OK)
        err = tpl_set(ctx, "optout_mailto", optout ? optout : "");
    if (err == EQ_OK)
        err = tpl_set_bool(ctx, "several", a->n_depts > 1);
    for (size_t i = 0; i < a->n_depts && err == EQ_OK; i++) {
        struct tpl_ctx *d = tpl_add_item(ctx, "departments");
        if (d == NULL) {
            err = EQ_ERR_NOMEM;
            break;
        }
        err = tpl_set(d, "department",
                      a->depts[i].department ? a->depts[i].department : "");
        for (size_t j = 0; j < a->depts[i].n_actions && err == EQ_OK; j++)
            err = action_item(d, "actions", &a->depts[i].actions[j], en);
        if (err == EQ_OK)
            err = list_or_false(d, "actions", a->depts[i].n_actions);
    }
    if (err == EQ_OK)
        err = list_or_false(ctx, "departments", a->n_depts);
    return feedback_context_done(ctx, err, out);
}

/* What both feedback mails check before rendering anything. */
static enum eq_err
feedback_mail_check(const struct eq_config *cfg, const char *dir,
                    const char *token, const char *to, const char *to_name,
                    const char *lang, char **local, char **domain,
                    struct eq_buf *diag)
{
    enum eq_err err;

    if (!token_valid(token) || to == NULL || dir == NULL || lang == NULL ||
        (strcmp(lang, "nl") != 0 && strcmp(lang, "en") != 0)) {
        eq_diag(diag, "compose: a feedback mail needs a token, an address, "
                      "a templates directory and nl or en");
        return EQ_ERR_DATA;
    }
    if ((err = check_value("name", to_name, diag)) != EQ_OK)
        return err;
    err = config_reply_parts(cfg, local, domain);
    if (err != EQ_OK)
        eq_diag(diag, "compose: reply_address '%s' is not LOCAL@DOMAIN",
                cfg->general.reply_address ? cfg->general.reply_address : "");
    return err;
}

static enum eq_err
send_parts(const struct eq_config *cfg, const char *to, const char *to_name,
           const char *token, const char *local, const char *domain,
           const struct rendered *r, const char *unsub, int auto_submitted,
           eq_time now, char **out, size_t *len, char **envelope_from,
           struct eq_buf *diag)
{
    struct eq_buf reply = {0};
    enum eq_err err = buf_printf(&reply, "%s+%s@%s", local, token, domain);
    struct compose_mail m = {
        .from = cfg->general.from,
        .to = to,
        .to_name = to_name && *to_name ? to_name : NULL,
        .reply_to = reply.s,
        .subject = r->subject.s,
        .message_id = r->msgid.s,
        .in_reply_to = r->irt.len ? r->irt.s : NULL,
        .references = r->irt.len ? r->irt.s : NULL,
        .list_unsubscribe = unsub,
        .auto_submitted = auto_submitted,
        .date = now,
        .timezone = cfg->general.timezone ? cfg->general.timezone
                                          : "Europe/Amsterdam",
        .text = r->body,
        .html = r->html,
    };

    if (err == EQ_OK)
        err = compose_build(&m, out, len, diag);
    if (err == EQ_OK && envelope_from != NULL &&
        (*envelope_from = buf_take(&reply)) == NULL)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK) {
        free(*out);
        *out = NULL;
    }
    buf_free(&reply);
    return err;
}

enum eq_err
compose_action_ack(const struct compose_action_ack *a, char **out,
                   size_t *len, char **envelope_from, struct eq_buf *diag)
{
    const char *dir = a->templates_dir ? a->templates_dir
                                       : a->cfg->general.templates;
    struct rendered r = {0};
    struct tpl_ctx *ctx = NULL;
    char *local = NULL, *domain = NULL;
    enum eq_err err;

    outputs_init(out, len, envelope_from);
    if (a->n <= 0) {
        eq_diag(diag, "compose: a confirmation is numbered from 1");
        return EQ_ERR_DATA;
    }
    err = feedback_mail_check(a->cfg, dir, a->token, a->to, a->to_name,
                              a->lang, &local, &domain, diag);
    if (err == EQ_OK)
        err = check_value("department name", a->department, diag);
    if (err == EQ_OK)
        err = action_ack_context(a, strcmp(a->lang, "en") == 0, &ctx);
    if (err == EQ_OK)
        err = render_kind(dir, a->lang, "action_ack", ctx, a->token, &r, diag);
    if (err == EQ_OK)
        err = buf_printf(&r.msgid, "ack.%s.%lld@%s", a->token,
                         (long long)a->n, domain);
    if (err == EQ_OK)
        err = buf_printf(&r.irt, "dig.%s@%s", a->token, domain);
    if (err == EQ_OK)
        err = send_parts(a->cfg, a->to, a->to_name, a->token, local, domain,
                         &r, NULL, COMPOSE_AUTO_REPLIED, a->now, out, len,
                         envelope_from, diag);
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "compose: out of memory");
    tpl_ctx_free(ctx);
    rendered_free(&r);
    free(local);
    free(domain);
    return err;
}

enum eq_err
compose_action_notice(const struct compose_action_notice *a, char **out,
                      size_t *len, char **envelope_from, struct eq_buf *diag)
{
    const char *dir = a->templates_dir ? a->templates_dir
                                       : a->cfg->general.templates;
    struct rendered r = {0};
    struct tpl_ctx *ctx = NULL;
    char *local = NULL, *domain = NULL, *unsub = NULL;
    int en = a->lang != NULL && strcmp(a->lang, "en") == 0;
    enum eq_err err;

    outputs_init(out, len, envelope_from);
    err = feedback_mail_check(a->cfg, dir, a->token, a->to, a->to_name,
                              a->lang, &local, &domain, diag);
    for (size_t i = 0; i < a->n_depts && err == EQ_OK; i++)
        err = check_value("department name", a->depts[i].department, diag);
    if (err == EQ_OK)
        err = mailto(local, domain, a->token, en ? "unsubscribe" : "afmelden",
                     NULL, &unsub);
    if (err == EQ_OK)
        err = action_notice_context(a, en, unsub, &ctx);
    if (err == EQ_OK)
        err = render_kind(dir, a->lang, "action_notice", ctx, a->token, &r,
                          diag);
    if (err == EQ_OK)
        err = buf_printf(&r.msgid, "act.%s@%s", a->token, domain);
    if (err == EQ_OK)
        err = buf_printf(&r.irt, "inv.%s@%s", a->token, domain);
    if (err == EQ_OK)
        err = send_parts(a->cfg, a->to, a->to_name, a->token, local, domain,
                         &r, unsub, COMPOSE_AUTO_GENERATED, a->now, out, len,
                         envelope_from, diag);
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "compose: out of memory");
    tpl_ctx_free(ctx);
    rendered_free(&r);
    free(unsub);
    free(local);
    free(domain);
    return err;
}

/* Two samples per mail: everything filled in, and everything empty, so
 * every section of the templates really renders once each way. */
enum eq_err
compose_check_action_templates(const struct eq_config *cfg,
                               const char *templates_dir, struct eq_buf *diag)
{
    static const char *const langs[] = {"nl", "en"};
    static const struct compose_action acts[] = {
        {1, "Vast inloopspreekuur op dinsdag", "Communicatie", 1, 20850},
        {2, "Sneller reageren op tickets", NULL, 0, 0}};
    static const struct compose_unread unread[] = {
        {"Actie: [sfeer] taart", "onbekend onderwerp tussen [ ]"}};
    static const int unknown[] = {7};
    static const struct compose_notice_dept depts[] = {
        {"ICT", acts, 2}, {"Facilitair", acts, 1}};
    const char *dir = templates_dir ? templates_dir : cfg->general.templates;
    enum eq_err total = EQ_OK;

    if (dir == NULL) {
        eq_diag(diag, "compose: no templates directory");
        return EQ_ERR_CONFIG;
    }
    for (size_t l = 0; l < 2 && total != EQ_ERR_NOMEM; l++) {
        int en = l == 1;
        struct compose_action_ack ack[2] = {
            {cfg, dir, langs[l], SAMPLE_TOKEN, 1, "sample@example.invalid",
             "Anna de Vries", "ICT", "2027Q1", acts, 2, acts + 1, 1, unknown,
             1, unread, 1, 1795258800},
            {cfg, dir, langs[l], SAMPLE_TOKEN, 2, "sample@example.invalid",
             "", "ICT", "2027Q1", NULL, 0, NULL, 0, NULL, 0, NULL, 0,
             1795258800}};
        struct compose_action_notice nt[2] = {
            {cfg, dir, langs[l], SAMPLE_TOKEN, "sample@example.invalid",
             "Anna de Vries", "Klanttevredenheid", "2027Q1", depts, 2,
             1795258800},
            {cfg, dir, langs[l], SAMPLE_TOKEN, "sample@example.invalid", "",
             "Klanttevredenheid", "2027Q1", depts + 1, 1, 1795258800}};
        struct tpl_ctx *ctx[4] = {NULL, NULL, NULL, NULL};
        enum eq_err err = EQ_OK;

        for (int i = 0; i < 2 && err == EQ_OK; i++) {
            err = action_ack_context(&ack[i], en, &ctx[i]);
            if (err == EQ_OK)
                err = action_notice_context(&nt[i], en, "mailto:x",
                                            &ctx[2 + i]);
        }
        if (err == EQ_OK) {
            const struct tpl_ctx *a2[2] = {ctx[0], ctx[1]};
            const struct tpl_ctx *n2[2] = {ctx[2], ctx[3]};
            check_keep(&total, template_check_file(dir, langs[l], "action_ack",
                                                   "txt", a2, 2, diag));
            check_keep(&total, template_check_file(dir, langs[l], "action_ack",
                                                   "html", a2, 2, diag));
            check_keep(&total,
                       template_check_file(dir, langs[l], "action_notice",
                                           "txt", n2, 2, diag));
            check_keep(&total,
                       template_check_file(dir, langs[l], "action_notice",
                                           "html", n2, 2, diag));
        }
        check_keep(&total, err);
        for (int i = 0; i < 4; i++)
            tpl_ctx_free(ctx[i]);
        for (int i = 0; i < 2 && total == EQ_OK; i++) {
            char *msg = NULL;
            check_keep(&total, compose_action_ack(&ack[i], &msg, NULL, NULL,
                                                  diag));
            free(msg);
            msg = NULL;
            check_keep(&total, compose_action_notice(&nt[i], &msg, NULL, NULL,
                                                     diag));
            free(msg);
        }
    }
    return total;
}
