/*
 * mime: inbound MIME with libetpan (structure, addresses, dates, RFC 2047),
 * iconv (charsets) and libxml2's HTML parser (HTML to text).
 */
#include "mime.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "eqtime.h"

/* libetpan's MIME parser recurses without a limit; messages with more
 * nested containers than this are read as one plain-text body. */
#define MAX_CONTAINERS 256
#define MAX_DEPTH 32
#define MAX_HTML_DEPTH 256

/* ---- UTF-8 and charsets ---------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int
utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* Converts n bytes from charset `from` to UTF-8 with iconv; bytes iconv
 * rejects are dropped. -1 if iconv does not know the charset. */
static int
iconv_to_utf8(const char *from, const char *in, size_t n, struct eq_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t)-1)
        return -1;
    char tmp[4096];
    char *ip = (char *)in;
    size_t il = n;
    int rc = 0;
    for (;;) {
        char *op = tmp;
        size_t ol = sizeof tmp;
        size_t r = il ? iconv(cd, &ip, &il, &op, &ol)
                      : iconv(cd, NULL, NULL, &op, &ol);
        int e = errno;
        if (buf_addn(out, tmp, (size_t)(op - tmp)) != EQ_OK) {
            rc = -2;
            break;
        }
        if (r != (size_t)-1) {
            if (il == 0)
                break;
            continue;
        }
        if (e == E2BIG)
            continue;
        if (e == EILSEQ || e == EINVAL) {
            if (il == 0)
                break;
            ip++;
            il--;
            continue;
        }
        break;
    }
    iconv_close(cd);
    return rc;
}

/* Appends s (n bytes) to out as valid UTF-8 without NULs: invalid bytes are
 * read as Windows-1252 when possible and dropped otherwise. */
static enum eq_err
utf8_sanitize_into(const char *s, size_t n, struct eq_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = p[i] ? utf8_seq(p + i, n - i) : 0;
        if (k > 0) {
            if (buf_addn(out, s + i, k) != EQ_OK)
                return EQ_ERR_NOMEM;
            i += k;
            continue;
        }
        if (p[i] >= 0x80 && iconv_to_utf8("WINDOWS-1252", s + i, 1, out) == -2)
            return EQ_ERR_NOMEM;
        i++;
    }
    if (!out->s && buf_add(out, "") != EQ_OK)
        return EQ_ERR_NOMEM;
    return EQ_OK;
}

static char *
utf8_sanitize(const char *s, size_t n)
{
    struct eq_buf b = {0};
    if (utf8_sanitize_into(s, n, &b) != EQ_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

static int
charset_is(const char *cs, const char *name)
{
    return cs && strcasecmp(cs, name) == 0;
}

/* Any charset label to valid UTF-8; unknown or missing labels are read as
 * UTF-8 when the bytes are valid UTF-8, else as Windows-1252. */
static char *
to_utf8(const char *charset, const char *in, size_t n)
{
    struct eq_buf b = {0};
    char *res = NULL;
    /* Stateful and wide encodings can look like valid UTF-8 (ISO-2022-JP is
     * 7-bit); every other label is ignored when the bytes are valid UTF-8,
     * which also rescues UTF-8 text labelled as Latin-1. */
    int stateful = charset && (strncasecmp(charset, "utf-16", 6) == 0 ||
                               strncasecmp(charset, "utf-32", 6) == 0 ||
                               strncasecmp(charset, "ucs", 3) == 0 ||
                               strncasecmp(charset, "utf-7", 5) == 0 ||
                               strncasecmp(charset, "iso-2022", 8) == 0 ||
                               strncasecmp(charset, "hz", 2) == 0);
    if (!charset || !*charset || (!stateful && utf8_valid(in, n)) ||
        charset_is(charset, "utf-8") || charset_is(charset, "utf8"))
        return utf8_sanitize(in, n);
    const char *cs = charset;
    /* Mail labelled Latin-1 is in practice often Windows-1252 (smart quotes
     * from Outlook); 1252 is a superset for every printable Latin-1 byte. */
    if (charset_is(cs, "iso-8859-1") || charset_is(cs, "latin1") ||
        charset_is(cs, "iso_8859-1") || charset_is(cs, "latin-1"))
        cs = "WINDOWS-1252";
    int r = iconv_to_utf8(cs, in, n, &b);
    if (r == -1) {
        buf_reset(&b);
        return utf8_sanitize(in, n);
    }
    if (r == -2)
        goto out;
    res = utf8_sanitize(buf_str(&b), b.len);
out:
    buf_free(&b);
    return res;
}

/* ---- small string helpers -------------------------------------------- */

static char *
dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void
lower(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* CRLF and lone CR to LF, in place on a NUL-terminated string. */
static void
normalize_eol(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\r') {
            *w++ = '\n';
            if (r[1] == '\n')
                r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static enum eq_err
strv_push(char ***v, size_t *n, char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!nv) {
        free(s);
        return EQ_ERR_NOMEM;
    }
    nv[(*n)++] = s;
    *v = nv;
    return EQ_OK;
}

/* ---- headers ----------------------------------------------------------- */

/* Offset of the body (after the blank line), or len when there is none. */
static size_t
header_end(const char *raw, size_t len, size_t *hdr_len)
{
    size_t i = 0;
    while (i < len) {
        size_t eol = i;
        while (eol < len && raw[eol] != '\n')
            eol++;
        size_t linelen = eol - i;
        if (linelen > 0 && raw[eol - 1] == '\r')
            linelen--;
        if (linelen == 0) {
            *hdr_len = i;
            return eol < len ? eol + 1 : len;
        }
        i = eol < len ? eol + 1 : len;
    }
    *hdr_len = len;
    return len;
}

static enum eq_err
headers_parse(struct mime_msg *m, const char *raw, size_t hlen)
{
    struct eq_buf val = {0};
    char *name = NULL;
    enum eq_err err = EQ_OK;
    size_t i = 0;
    for (;;) {
        int at_end = i >= hlen;
        int cont = !at_end && (raw[i] == ' ' || raw[i] == '\t');
        if (!cont && name) {
            struct mime_header *nh =
                realloc(m->headers, (m->n_headers + 1) * sizeof *nh);
            if (!nh) {
                err = EQ_ERR_NOMEM;
                goto out;
            }
            m->headers = nh;
            if (buf_add(&val, "") != EQ_OK) {
                err = EQ_ERR_NOMEM;
                goto out;
            }
            char *v = buf_take(&val);
            eq_trim(v);
            nh[m->n_headers].name = name;
            nh[m->n_headers].value = v;
            m->n_headers++;
            name = NULL;
        }
        if (at_end)
            break;
        size_t eol = i;
        while (eol < hlen && raw[eol] != '\n')
            eol++;
        size_t end = eol;
        while (end > i && (raw[end - 1] == '\r' || raw[end - 1] == '\n'))
            end--;
        if (cont) {
            if (name && buf_addn(&val, raw + i, end - i) != EQ_OK) {
                err = EQ_ERR_NOMEM;
                goto out;
            }
        } else {
            const char *colon = memchr(raw + i, ':', end - i);
            size_t nl = colon ? (size_t)(colon - (raw + i)) : 0;
            while (nl > 0 &&
                   (raw[i + nl - 1] == ' ' || raw[i + nl - 1] == '\t'))
                nl--;
            /* Lines without a colon (an mbox "From " line, garbage) are
             * skipped along with their continuations. */
            if (colon && nl > 0 && !memchr(raw + i, ' ', nl)) {
                name = dupn(raw + i, nl);
                if (!name ||
                    buf_addn(&val, colon + 1,
                             (size_t)(raw + end - colon - 1)) != EQ_OK) {
                    err = EQ_ERR_NOMEM;
                    goto out;
                }
            }
        }
        i = eol < hlen ? eol + 1 : hlen;
    }
out:
    free(name);
    buf_free(&val);
    return err;
}

const char *
mime_header(const struct mime_msg *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->n_headers; i++)
        if (strcasecmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

/* RFC 2047 words to UTF-8; raw 8-bit text is read as UTF-8 if valid, else
 * as Windows-1252. Whitespace runs (folds, tabs) become one space. */
static char *
decode_words(const char *v)
{
    size_t n = strlen(v);
    const char *def = utf8_valid(v, n) ? "utf-8" : "windows-1252";
    char *dec = NULL;
    size_t idx = 0;
    char *res;
    if (mailmime_encoded_phrase_parse(def, v, n, &idx, "utf-8", &dec) ==
            MAILIMF_NO_ERROR &&
        dec) {
        res = utf8_sanitize(dec, strlen(dec));
        free(dec);
    } else {
        free(dec);
        res = to_utf8(def, v, n);
    }
    if (!res)
        return NULL;
    char *w = res;
    int sp = 0;
    for (char *r = res; *r; r++) {
        if (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n') {
            sp = 1;
            continue;
        }
        if (sp && w != res)
            *w++ = ' ';
        sp = 0;
        *w++ = *r;
    }
    *w = '\0';
    return res;
}

/* Message-IDs without <>: libetpan first, a plain <...> scan as fallback. */
static enum eq_err
msgids(const char *v, char ***ids, size_t *n)
{
    clist *list = NULL;
    size_t idx = 0;
    enum eq_err err = EQ_OK;
    if (mailimf_msg_id_list_parse(v, strlen(v), &idx, &list) ==
        MAILIMF_NO_ERROR) {
        for (clistiter *it = clist_begin(list); it; it = clist_next(it)) {
            const char *id = clist_content(it);
            char *c = id ? utf8_sanitize(id, strlen(id)) : NULL;
            if (!c || (err = strv_push(ids, n, c)) != EQ_OK) {
                err = EQ_ERR_NOMEM;
                break;
            }
        }
        for (clistiter *it = clist_begin(list); it; it = clist_next(it))
            mailimf_msg_id_free(clist_content(it));
        clist_free(list);
        return err;
    }
    const char *p = v;
    while ((p = strchr(p, '<')) != NULL) {
        const char *e = strchr(p + 1, '>');
        if (!e)
            break;
        if (e > p + 1) {
            char *c = dupn(p + 1, (size_t)(e - p - 1));
            char *s = c ? utf8_sanitize(c, strlen(c)) : NULL;
            free(c);
            if (!s || strv_push(ids, n, s) != EQ_OK)
                return EQ_ERR_NOMEM;
        }
        p = e + 1;
    }
    if (*n == 0 && *v && !strpbrk(v, " \t<>")) {
        char *s = utf8_sanitize(v, strlen(v));
        if (!s || strv_push(ids, n, s) != EQ_OK)
            return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

static enum eq_err
first_msgid(const char *v, char **out)
{
    char **ids = NULL;
    size_t n = 0;
    enum eq_err err = msgids(v, &ids, &n);
    if (err == EQ_OK && n > 0) {
        *out = ids[0];
        ids[0] = NULL;
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return err;
}

static char *
clean_addr(const char *a)
{
    char *s = utf8_sanitize(a, strlen(a));
    if (s)
        eq_trim(s);
    return s;
}

/* Address without display name when libetpan cannot parse the header. */
static char *
fallback_addr(const char *v)
{
    const char *lt = strrchr(v, '<');
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (gt && gt > lt + 1 && memchr(lt, '@', (size_t)(gt - lt))) {
            char *c = dupn(lt + 1, (size_t)(gt - lt - 1));
            char *s = c ? clean_addr(c) : NULL;
            free(c);
            return s;
        }
    }
    const char *at = strchr(v, '@');
    if (!at)
        return NULL;
    const char *b = at, *e = at;
    while (b > v && !strchr(" \t<>,;:\"()", b[-1]))
        b--;
    while (*e && !strchr(" \t<>,;:\"()", *e))
        e++;
    char *c = dupn(b, (size_t)(e - b));
    char *s = c ? clean_addr(c) : NULL;
    free(c);
    return s;
}

static enum eq_err
parse_from(struct mime_msg *m, const char *v)
{
    struct mailimf_mailbox_list *mbl = NULL;
    size_t idx = 0;
    if (mailimf_mailbox_list_parse(v, strlen(v), &idx, &mbl) ==
            MAILIMF_NO_ERROR &&
        mbl) {
        clistiter *it = clist_begin(mbl->mb_list);
        struct mailimf_mailbox *mb = it ? clist_content(it) : NULL;
        if (mb && mb->mb_addr_spec) {
            m->from_addr = clean_addr(mb->mb_addr_spec);
            if (mb->mb_display_name)
                m->from_name = decode_words(mb->mb_display_name);
        }
        mailimf_mailbox_list_free(mbl);
        if (m->from_addr)
            return EQ_OK;
    }
    m->from_addr = fallback_addr(v);
    return EQ_OK;
}

static enum eq_err
push_mailbox(struct mime_msg *m, const struct mailimf_mailbox *mb)
{
    if (!mb || !mb->mb_addr_spec)
        return EQ_OK;
    char *a = clean_addr(mb->mb_addr_spec);
    if (!a)
        return EQ_ERR_NOMEM;
    return strv_push(&m->to, &m->n_to, a);
}

static enum eq_err
parse_to(struct mime_msg *m, const char *v)
{
    struct mailimf_address_list *al = NULL;
    size_t idx = 0;
    enum eq_err err = EQ_OK;
    if (mailimf_address_list_parse(v, strlen(v), &idx, &al) !=
            MAILIMF_NO_ERROR ||
        !al) {
        char *a = fallback_addr(v);
        return a ? strv_push(&m->to, &m->n_to, a) : EQ_OK;
    }
    for (clistiter *it = clist_begin(al->ad_list); it && err == EQ_OK;
         it = clist_next(it)) {
        struct mailimf_address *ad = clist_content(it);
        if (ad->ad_type == MAILIMF_ADDRESS_MAILBOX) {
            err = push_mailbox(m, ad->ad_data.ad_mailbox);
        } else if (ad->ad_type == MAILIMF_ADDRESS_GROUP &&
                   ad->ad_data.ad_group->grp_mb_list) {
            clist *l = ad->ad_data.ad_group->grp_mb_list->mb_list;
            for (clistiter *g = clist_begin(l); g && err == EQ_OK;
                 g = clist_next(g))
                err = push_mailbox(m, clist_content(g));
        }
    }
    mailimf_address_list_free(al);
    return err;
}

static eq_time
parse_date(const char *v)
{
    struct mailimf_date_time *dt = NULL;
    size_t idx = 0;
    eq_time t = 0;
    if (mailimf_date_time_parse(v, strlen(v), &idx, &dt) != MAILIMF_NO_ERROR ||
        !dt)
        return 0;
    int y = dt->dt_year;
    if (y >= 0 && y < 50)
        y += 2000;
    else if (y >= 50 && y < 1000)
        y += 1900;
    int z = dt->dt_zone < 0 ? -dt->dt_zone : dt->dt_zone;
    long off = (long)(z / 100) * 3600 + (long)(z % 100) * 60;
    if (dt->dt_zone < 0)
        off = -off;
    if (y >= 1970 && y <= 9999 && dt->dt_month >= 1 && dt->dt_month <= 12 &&
        dt->dt_day >= 1 && dt->dt_day <= 31 && dt->dt_hour >= 0 &&
        dt->dt_hour <= 23 && dt->dt_min >= 0 && dt->dt_min <= 59 &&
        dt->dt_sec >= 0 && dt->dt_sec <= 60 && z % 100 < 60 && z < 2400) {
        eq_day d = eqtime_day_from_ymd(y, dt->dt_month, dt->dt_day);
        t = (eq_time)d * 86400 + dt->dt_hour * 3600 + dt->dt_min * 60 +
            dt->dt_sec - off;
        if (t < 0)
            t = 0;
    }
    mailimf_date_time_free(dt);
    return t;
}

static enum eq_err
headers_interpret(struct mime_msg *m)
{
    enum eq_err err = EQ_OK;
    const char *v;
    if ((v = mime_header(m, "Message-ID")) &&
        (err = first_msgid(v, &m->message_id)) != EQ_OK)
        return err;
    if ((v = mime_header(m, "In-Reply-To")) &&
        (err = first_msgid(v, &m->in_reply_to)) != EQ_OK)
        return err;
    if ((v = mime_header(m, "References")) &&
        (err = msgids(v, &m->references, &m->n_references)) != EQ_OK)
        return err;
    if ((v = mime_header(m, "From")) && (err = parse_from(m, v)) != EQ_OK)
        return err;
    for (size_t i = 0; i < m->n_headers && err == EQ_OK; i++)
        if (strcasecmp(m->headers[i].name, "To") == 0 ||
            strcasecmp(m->headers[i].name, "Cc") == 0)
            err = parse_to(m, m->headers[i].value);
    if (err != EQ_OK)
        return err;
    v = mime_header(m, "Subject");
    m->subject = decode_words(v ? v : "");
    if (!m->subject)
        return EQ_ERR_NOMEM;
    if ((v = mime_header(m, "Date"))) {
        m->date_raw = utf8_sanitize(v, strlen(v));
        if (!m->date_raw)
            return EQ_ERR_NOMEM;
        m->date = parse_date(v);
    }
    return EQ_OK;
}

/* ---- format=flowed (RFC 3676) ----------------------------------------- */

static enum eq_err
unflow(char **text, int delsp)
{
    struct eq_buf out = {0};
    const char *s = *text;
    int prev_flowed = 0, prev_depth = -1;
    enum eq_err err = EQ_OK;
    while (*s) {
        const char *eol = strchr(s, '\n');
        size_t n = eol ? (size_t)(eol - s) : strlen(s);
        int depth = 0;
        while ((size_t)depth < n && s[depth] == '>')
            depth++;
        const char *c = s + depth;
        size_t cn = n - (size_t)depth;
        if (cn > 0 && *c == ' ') {
            c++;
            cn--;
        }
        int sig = cn == 3 && memcmp(c, "-- ", 3) == 0;
        int flowed = !sig && cn > 0 && c[cn - 1] == ' ';
        if (flowed && delsp)
            cn--;
        if (!(prev_flowed && depth == prev_depth)) {
            if (prev_depth >= 0)
                err |= buf_addc(&out, '\n');
            for (int i = 0; i < depth; i++)
                err |= buf_addc(&out, '>');
            if (depth > 0)
                err |= buf_addc(&out, ' ');
        }
        err |= buf_addn(&out, c, cn);
        prev_flowed = flowed;
        prev_depth = depth;
        s = eol ? eol + 1 : s + n;
        if (eol && !*s)
            err |= buf_addc(&out, '\n');
    }
    err |= buf_add(&out, "");
    if (err != EQ_OK) {
        buf_free(&out);
        return EQ_ERR_NOMEM;
    }
    free(*text);
    *text = buf_take(&out);
    return EQ_OK;
}

/* ---- HTML to text ----------------------------------------------------- */

struct render {
    struct eq_buf out;
    int pending_space;
    int pre;
    int err;
    int stop; /* past Outlook's reply header: the rest is the old mail */
};

static int
at_line_start(const struct render *r)
{
    return r->out.len == 0 || r->out.s[r->out.len - 1] == '\n';
}

static void
r_newline(struct render *r)
{
    if (!at_line_start(r))
        r->err |= buf_addc(&r->out, '\n');
    r->pending_space = 0;
}

static void
r_text(struct render *r, const char *t)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (r->pre) {
            if (*p != '\r')
                r->err |= buf_addc(&r->out, (char)*p);
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f') {
            r->pending_space = 1;
            continue;
        }
        if (r->pending_space && !at_line_start(r))
            r->err |= buf_addc(&r->out, ' ');
        r->pending_space = 0;
        /* U+00A0 no-break space reads as an ordinary space. */
        if (p[0] == 0xC2 && p[1] == 0xA0) {
            r->err |= buf_addc(&r->out, ' ');
            p++;
            continue;
        }
        r->err |= buf_addc(&r->out, (char)*p);
    }
}

static int
name_in(const char *n, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(n, *list) == 0)
            return 1;
    return 0;
}

static void render_children(struct render *r, xmlNode *n, int depth);

static int
attr_is(xmlNode *n, const char *attr, const char *want)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
    int hit = v != NULL && strcasecmp((const char *)v, want) == 0;
    xmlFree(v);
    return hit;
}

static int
has_class(xmlNode *n, const char *want)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)"class");
    size_t k = strlen(want);
    int hit = 0;
    for (const char *p = (const char *)v; p != NULL && *p != '\0' && !hit;) {
        size_t w;
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        w = strcspn(p, " \t\n");
        hit = w == k && strncasecmp(p, want, k) == 0;
        p += w;
    }
    xmlFree(v);
    return hit;
}

/* Quoted history that mail clients mark up: Gmail's attribution and quote,
 * Thunderbird's and Apple Mail's cite blocks. Gmail's div.gmail_quote itself
 * is kept, since inline answers are typed inside it between the quotes. */
static int
is_quote_container(xmlNode *n, const char *name)
{
    if (strcasecmp(name, "blockquote") == 0)
        return attr_is(n, "type", "cite") || has_class(n, "gmail_quote");
    if (strcasecmp(name, "div") == 0)
        return has_class(n, "gmail_attr") || has_class(n, "moz-cite-prefix");
    return 0;
}

static void
render_node(struct render *r, xmlNode *n, int depth)
{
    static const char *const skip[] = {"script",   "style",    "head", "title",
                                       "noscript", "template", NULL};
    static const char *const block[] = {
        "p",      "div",     "li",      "tr",     "ul",     "ol",
        "table",  "h1",      "h2",      "h3",     "h4",     "h5",
        "h6",     "hr",      "dl",      "dt",     "dd",     "address",
        "center", "section", "article", "header", "footer", "tbody",
        "thead",  "form",    "body",    "html",   NULL};
    if (depth > MAX_HTML_DEPTH || r->stop)
        return;
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content)
            r_text(r, (const char *)n->content);
        return;
    }
    if (n->type != XML_ELEMENT_NODE || !n->name)
        return;
    const char *name = (const char *)n->name;
    if (name_in(name, skip) || is_quote_container(n, name))
        return;
    /* Outlook (web, new, mobile) opens the quoted mail with this header
     * block; everything from here on is the old mail, in whatever language
     * its "From:/Sent:" labels are. */
    if (attr_is(n, "id", "divRplyFwdMsg")) {
        r->stop = 1;
        return;
    }
    if (strcasecmp(name, "br") == 0) {
        r->err |= buf_addc(&r->out, '\n');
        r->pending_space = 0;
        return;
    }
    if (strcasecmp(name, "blockquote") == 0) {
        struct render sub = {.pre = r->pre};
        render_children(&sub, n, depth + 1);
        r->err |= sub.err;
        r->stop |= sub.stop;
        r_newline(r);
        const char *s = buf_str(&sub.out);
        while (*s == '\n')
            s++;
        size_t len = strlen(s);
        while (len > 0 && s[len - 1] == '\n')
            len--;
        const char *end = s + len;
        while (s < end) {
            const char *eol = memchr(s, '\n', (size_t)(end - s));
            size_t ln = eol ? (size_t)(eol - s) : (size_t)(end - s);
            r->err |= buf_add(&r->out, ln > 0 && *s != '>' ? "> " : ">");
            r->err |= buf_addn(&r->out, s, ln);
            r->err |= buf_addc(&r->out, '\n');
            s += ln + (eol ? 1 : 0);
        }
        buf_free(&sub.out);
        r->pending_space = 0;
        return;
    }
    int is_pre = strcasecmp(name, "pre") == 0;
    int is_block = is_pre || name_in(name, block);
    int is_cell = strcasecmp(name, "td") == 0 || strcasecmp(name, "th") == 0;
    if (is_block)
        r_newline(r);
    if (is_cell && !at_line_start(r))
        r->pending_space = 1;
    int saved_pre = r->pre;
    if (is_pre)
        r->pre = 1;
    render_children(r, n, depth + 1);
    r->pre = saved_pre;
    if (is_block)
        r_newline(r);
}

static void
render_children(struct render *r, xmlNode *n, int depth)
{
    for (xmlNode *c = n->children; c; c = c->next)
        render_node(r, c, depth);
}

/* Trailing spaces off every line, at most one blank line in a row, no
 * leading or trailing blank lines. */
static char *
tidy_lines(const char *s)
{
    struct eq_buf b = {0};
    int blanks = 0, any = 0, err = 0;
    while (*s) {
        const char *eol = strchr(s, '\n');
        size_t n = eol ? (size_t)(eol - s) : strlen(s);
        size_t e = n;
        while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
            e--;
        if (e == 0) {
            blanks++;
        } else {
            if (any)
                err |= buf_add(&b, blanks ? "\n\n" : "\n");
            err |= buf_addn(&b, s, e);
            any = 1;
            blanks = 0;
        }
        s += n + (eol ? 1 : 0);
    }
    err |= buf_add(&b, "");
    if (err) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

enum eq_err
mime_html_to_text(const char *html, size_t len, char **out)
{
    *out = NULL;
    if (len > (size_t)1 << 30)
        len = (size_t)1 << 30;
    struct render r = {0};
    htmlDocPtr doc = NULL;
    if (len > 0)
        doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                             HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                 HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (doc) {
        xmlNode *root = xmlDocGetRootElement(doc);
        if (root)
            render_node(&r, root, 0);
        xmlFreeDoc(doc);
    }
    r.err |= buf_add(&r.out, "");
    char *res = r.err ? NULL : tidy_lines(r.out.s);
    buf_free(&r.out);
    if (!res)
        return EQ_ERR_NOMEM;
    char *clean = utf8_sanitize(res, strlen(res));
    free(res);
    if (!clean)
        return EQ_ERR_NOMEM;
    *out = clean;
    return EQ_OK;
}

/* ---- the MIME tree ----------------------------------------------------- */

struct walk {
    struct mime_msg *m;
    char *plain;   /* first inline text/plain, UTF-8 */
    char *named;   /* first text/plain with a name but not disposition
                      attachment: the body only when there is no other */
    int recovered; /* multiparts re-read with a boundary found in the body */
    enum eq_err err;
};

static char *
content_type_str(const struct mailmime_content *ct)
{
    const char *type = "text";
    if (!ct || !ct->ct_type)
        return eq_strdup("text/plain");
    if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
        ct->ct_type->tp_data.tp_discrete_type) {
        const struct mailmime_discrete_type *d =
            ct->ct_type->tp_data.tp_discrete_type;
        switch (d->dt_type) {
        case MAILMIME_DISCRETE_TYPE_TEXT:
            type = "text";
            break;
        case MAILMIME_DISCRETE_TYPE_IMAGE:
            type = "image";
            break;
        case MAILMIME_DISCRETE_TYPE_AUDIO:
            type = "audio";
            break;
        case MAILMIME_DISCRETE_TYPE_VIDEO:
            type = "video";
            break;
        case MAILMIME_DISCRETE_TYPE_APPLICATION:
            type = "application";
            break;
        default:
            type = d->dt_extension ? d->dt_extension : "x-unknown";
        }
    } else if (ct->ct_type->tp_type == MAILMIME_TYPE_COMPOSITE_TYPE &&
               ct->ct_type->tp_data.tp_composite_type) {
        const struct mailmime_composite_type *c =
            ct->ct_type->tp_data.tp_composite_type;
        switch (c->ct_type) {
        case MAILMIME_COMPOSITE_TYPE_MESSAGE:
            type = "message";
            break;
        case MAILMIME_COMPOSITE_TYPE_MULTIPART:
            type = "multipart";
            break;
        default:
            type = c->ct_token ? c->ct_token : "x-unknown";
        }
    }
    struct eq_buf b = {0};
    if (buf_printf(&b, "%s/%s", type, ct->ct_subtype ? ct->ct_subtype : "") !=
        EQ_OK) {
        buf_free(&b);
        return NULL;
    }
    char *s = buf_take(&b);
    lower(s);
    return s;
}

/* A parameter value without surrounding quotes, newly allocated. */
static char *
param(struct mailmime_content *ct, const char *name)
{
    if (!ct)
        return NULL;
    const char *v = mailmime_content_param_get(ct, (char *)name);
    if (!v)
        return NULL;
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    char *s = dupn(v, n);
    if (s)
        eq_trim(s);
    return s;
}

/* Transfer-decoded body bytes of a single part (NUL-terminated copy). */
static char *
part_bytes(const struct mailmime *p, size_t *len)
{
    const struct mailmime_data *d = p->mm_data.mm_single;
    *len = 0;
    if (!d || d->dt_type != MAILMIME_DATA_TEXT || !d->dt_data.dt_text.dt_data)
        return eq_strdup("");
    const char *src = d->dt_data.dt_text.dt_data;
    size_t n = d->dt_data.dt_text.dt_length;
    int enc = d->dt_encoding;
    if (enc == MAILMIME_MECHANISM_BASE64 ||
        enc == MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
        size_t idx = 0, rl = 0;
        char *res = NULL;
        /* libetpan's decoder looks up to two bytes past a '=' at the very
         * end of a part, beyond the part's length: decode from a copy with
         * NUL bytes behind it rather than from the message buffer. */
        char *padded = malloc(n + 4);
        if (padded == NULL)
            return NULL;
        memcpy(padded, src, n);
        memset(padded + n, 0, 4);
        int rc = mailmime_part_parse(padded, n, &idx, enc, &res, &rl);
        free(padded);
        if (rc == MAILIMF_NO_ERROR && res) {
            char *c = dupn(res, rl);
            mmap_string_unref(res);
            *len = rl;
            return c;
        }
    }
    *len = n;
    return dupn(src, n);
}

static int
disposition_attachment(const struct mailmime_single_fields *sf)
{
    return sf->fld_disposition && sf->fld_disposition->dsp_type &&
           sf->fld_disposition->dsp_type->dsp_type ==
               MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
}

static int
is_attachment(const struct mailmime_single_fields *sf)
{
    if (disposition_attachment(sf))
        return 1;
    return (sf->fld_disposition_filename && *sf->fld_disposition_filename) ||
           (sf->fld_content_name && *sf->fld_content_name);
}

static char *
decoded_text(struct mailmime *p)
{
    size_t n;
    char *bytes = part_bytes(p, &n);
    if (!bytes)
        return NULL;
    char *cs = param(p->mm_content_type, "charset");
    char *t = to_utf8(cs, bytes, n);
    free(cs);
    free(bytes);
    if (t)
        normalize_eol(t);
    return t;
}

/* Decoded text/plain, unflowed when format=flowed. NULL only for want of
 * memory. */
static char *
plain_text(struct mailmime *p, enum eq_err *err)
{
    char *t = decoded_text(p);
    if (!t) {
        *err = EQ_ERR_NOMEM;
        return NULL;
    }
    char *fmt = param(p->mm_content_type, "format");
    char *delsp = param(p->mm_content_type, "delsp");
    if (fmt && strcasecmp(fmt, "flowed") == 0 &&
        (*err = unflow(&t, delsp && strcasecmp(delsp, "yes") == 0)) != EQ_OK) {
        free(t);
        t = NULL;
    }
    free(fmt);
    free(delsp);
    return t;
}

/* ---- multiparts whose boundary does not work --------------------------- */

/* Recovered multiparts per message: each one copies its body, so this
 * bounds the time and memory a hostile message can make us spend. */
#define MAX_RECOVERED 8
/* Distinct "--X" lines tried as the boundary of one multipart. */
#define MAX_CANDIDATES 8
/* RFC 2046 allows 70; a little slack for broken generators. */
#define MAX_BOUNDARY 200

/* Length of line s (up to end) without its line break and trailing
 * whitespace; *next is where the next line starts. */
static size_t
line_len(const char *s, const char *end, const char **next)
{
    const char *eol = memchr(s, '\n', (size_t)(end - s));
    size_t n = eol ? (size_t)(eol - s) : (size_t)(end - s);
    *next = eol ? eol + 1 : end;
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

/* Whether a line of body starts with "--" b (bl bytes); with close, whether
 * a line is exactly "--" b "--". */
static int
has_delimiter(const char *body, size_t n, const char *b, size_t bl, int close)
{
    const char *end = body + n, *next;
    for (const char *s = body; s < end; s = next) {
        size_t ln = line_len(s, end, &next);
        if (ln < bl + 2 || s[0] != '-' || s[1] != '-' ||
            memcmp(s + 2, b, bl) != 0)
            continue;
        if (!close || (ln == bl + 4 && s[bl + 2] == '-' && s[bl + 3] == '-'))
            return 1;
    }
    return 0;
}

/* A usable boundary: not only dashes, and quotable in a header. */
static int
boundary_ok(const char *b, size_t n)
{
    int other = 0;
    if (n == 0 || n > MAX_BOUNDARY)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\')
            return 0;
        other |= c != '-';
    }
    return other;
}

/* The first "--X" line of body whose closing "--X--" line also exists. */
static int
find_boundary(const char *body, size_t n, const char **b, size_t *bl)
{
    const char *end = body + n, *next;
    int tried = 0;
    for (const char *s = body; s < end && tried < MAX_CANDIDATES; s = next) {
        size_t ln = line_len(s, end, &next);
        if (ln < 3 || s[0] != '-' || s[1] != '-' || !boundary_ok(s + 2, ln - 2))
            continue;
        tried++;
        if (has_delimiter(next, (size_t)(end - next), s + 2, ln - 2, 1)) {
            *b = s + 2;
            *bl = ln - 2;
            return 1;
        }
    }
    return 0;
}

static void walk_part(struct walk *w, struct mailmime *p, int depth);

/* A multipart (ct) whose declared boundary is missing or never used in its
 * body, or that libetpan read as a single part, is parsed again with a
 * boundary found in the body, and that tree is walked instead; without one
 * its body is read as text. 1 if so (libetpan's parts are then ignored). */
static int
walk_recovered(struct walk *w, struct mailmime *p, const char *ct, int depth)
{
    const struct mailmime_data *d = p->mm_body;
    if (w->recovered >= MAX_RECOVERED || !d ||
        d->dt_type != MAILMIME_DATA_TEXT || !d->dt_data.dt_text.dt_data)
        return 0;
    const char *body = d->dt_data.dt_text.dt_data;
    size_t n = d->dt_data.dt_text.dt_length;
    const char *b;
    size_t bl;
    char *declared = param(p->mm_content_type, "boundary");
    int works = declared && *declared &&
                has_delimiter(body, n, declared, strlen(declared), 0);
    free(declared);
    if (works)
        return 0;
    if (!find_boundary(body, n, &b, &bl)) {
        /* No delimiter at all: what libetpan makes of it is debris (the
         * last line); the body as text is what a reader would see. */
        if (!w->plain) {
            w->plain = to_utf8(NULL, body, n);
            if (w->plain)
                normalize_eol(w->plain);
            else
                w->err = EQ_ERR_NOMEM;
        }
        return 1;
    }
    w->recovered++;
    struct eq_buf msg = {0};
    struct mailmime *root = NULL;
    size_t idx = 0;
    if (buf_printf(&msg, "Content-Type: %s; boundary=\"%.*s\"\n\n", ct, (int)bl,
                   b) != EQ_OK ||
        buf_addn(&msg, body, n) != EQ_OK) {
        w->err = EQ_ERR_NOMEM;
        buf_free(&msg);
        return 1;
    }
    int done = 0;
    if (mailmime_parse(msg.s, msg.len, &idx, &root) == MAILIMF_NO_ERROR &&
        root && root->mm_type == MAILMIME_MESSAGE &&
        root->mm_data.mm_message.mm_msg_mime &&
        root->mm_data.mm_message.mm_msg_mime->mm_type == MAILMIME_MULTIPLE) {
        walk_part(w, root->mm_data.mm_message.mm_msg_mime, depth + 1);
        done = 1;
    }
    if (root)
        mailmime_free(root);
    buf_free(&msg);
    return done;
}

static int
is_report(const char *ct)
{
    return strcmp(ct, "message/delivery-status") == 0 ||
           strcmp(ct, "message/global-delivery-status") == 0 ||
           strcmp(ct, "message/feedback-report") == 0;
}

static void
walk_part(struct walk *w, struct mailmime *p, int depth)
{
    if (!p || depth > MAX_DEPTH || w->err != EQ_OK)
        return;
    struct mime_msg *m = w->m;
    struct mailmime_single_fields sf;
    memset(&sf, 0, sizeof sf);
    if (p->mm_mime_fields)
        mailmime_single_fields_init(&sf, p->mm_mime_fields, p->mm_content_type);
    char *ct = content_type_str(p->mm_content_type);
    if (!ct) {
        w->err = EQ_ERR_NOMEM;
        return;
    }
    int attach = is_attachment(&sf);
    if (strcmp(ct, "multipart/report") == 0 && !m->report_type) {
        m->report_type = param(p->mm_content_type, "report-type");
        lower(m->report_type);
    }
    if (p->mm_type == MAILMIME_MULTIPLE ||
        (p->mm_type == MAILMIME_SINGLE && strncmp(ct, "multipart/", 10) == 0)) {
        if (walk_recovered(w, p, ct, depth) || p->mm_type != MAILMIME_MULTIPLE)
            goto out;
        for (clistiter *it = clist_begin(p->mm_data.mm_multipart.mm_mp_list);
             it; it = clist_next(it))
            walk_part(w, clist_content(it), depth + 1);
        goto out;
    }
    if (p->mm_type == MAILMIME_MESSAGE || strcmp(ct, "message/rfc822") == 0) {
        /* A forwarded or returned message: never the body. */
        m->n_attachments++;
        goto out;
    }
    if (attach)
        m->n_attachments++;
    char **slot = NULL;
    /* RFC 3464 and 6522: a report part is read whatever its disposition
     * or name says (some gateways name it "deliverystatus.txt"). */
    if (is_report(ct)) {
        if (strcmp(ct, "message/feedback-report") != 0)
            slot = m->delivery_status ? NULL : &m->delivery_status;
        else
            slot = m->feedback_report ? NULL : &m->feedback_report;
        if (slot && !(*slot = decoded_text(p)))
            w->err = EQ_ERR_NOMEM;
        goto out;
    }
    if (strcmp(ct, "text/plain") == 0) {
        /* A named text part shown inline ("deliveryproblems.txt") is the
         * body when nothing else is; a real attachment never is. */
        if (!attach)
            slot = &w->plain;
        else if (!disposition_attachment(&sf))
            slot = &w->named;
        if (slot && !*slot)
            *slot = plain_text(p, &w->err);
        goto out;
    }
    if (!attach && strcmp(ct, "text/html") == 0 && !m->html &&
        !(m->html = decoded_text(p)))
        w->err = EQ_ERR_NOMEM;
out:
    free(ct);
}

static size_t
count_containers(const char *raw, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i + 10 <= len; i++)
        if ((raw[i] == 'm' || raw[i] == 'M') &&
            (strncasecmp(raw + i, "multipart/", 10) == 0 ||
             strncasecmp(raw + i, "message/", 8) == 0))
            n++;
    return n;
}

/* Whole body as text when the MIME structure is unusable. */
static enum eq_err
plain_fallback(struct walk *w, const char *raw, size_t len)
{
    size_t hlen;
    size_t body = header_end(raw, len, &hlen);
    w->plain = to_utf8(NULL, raw + body, len - body);
    if (!w->plain)
        return EQ_ERR_NOMEM;
    normalize_eol(w->plain);
    return EQ_OK;
}

/* A message saved from an mbox starts with a "From sender date" line, not
 * a header: without it the message parses as the mail it is. */
static void
skip_mbox_line(const char **raw, size_t *len)
{
    const char *nl, *h;
    size_t k = 0;

    if (*len < 5 || memcmp(*raw, "From ", 5) != 0 ||
        (nl = memchr(*raw, '\n', *len)) == NULL)
        return;
    /* Only when the next line looks like a header ("Name: value"). */
    h = nl + 1;
    while (h + k < *raw + *len && (isalnum((unsigned char)h[k]) || h[k] == '-'))
        k++;
    if (k == 0 || h + k >= *raw + *len || h[k] != ':')
        return;
    *len -= (size_t)(h - *raw);
    *raw = h;
}

/* Whether line s (n bytes, no line break) starts with name, any case. */
static int
line_starts(const char *s, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n >= k && strncasecmp(s, name, k) == 0;
}

/* Some gateways break the fold of a multipart Content-Type and write its
 * boundary on a line of its own, unindented:
 *     Content-Type: multipart/alternative;
 *     boundary="xyz"
 * libetpan then ends the header there and loses the boundary. Such a line
 * right after a multipart Content-Type without a boundary is indented, so it
 * is read as the continuation it was meant to be. *fixed is the repaired
 * copy (raw and len then point at it), or NULL when nothing needed it. */
static enum eq_err
join_boundary_lines(const char **raw, size_t *len, char **fixed)
{
    const char *s = *raw, *end = *raw + *len, *next;
    struct eq_buf b = {0};
    const char *copied = s; /* raw up to here is in b */
    int in_ct = 0;          /* in a multipart Content-Type without a boundary */
    *fixed = NULL;
    if (!s)
        return EQ_OK;
    for (; s < end; s = next) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        size_t n = eol ? (size_t)(eol - s) : (size_t)(end - s);
        next = eol ? eol + 1 : end;
        int cont = n > 0 && (s[0] == ' ' || s[0] == '\t');
        if (in_ct && !cont && line_starts(s, n, "boundary=")) {
            if (buf_addn(&b, copied, (size_t)(s - copied)) != EQ_OK ||
                buf_addc(&b, '\t') != EQ_OK) {
                buf_free(&b);
                return EQ_ERR_NOMEM;
            }
            copied = s;
            in_ct = 0;
            continue;
        }
        if (!cont) {
            const char *v = s + 13;
            in_ct = line_starts(s, n, "content-type:");
            while (in_ct && v < s + n && (*v == ' ' || *v == '\t'))
                v++;
            in_ct = in_ct && line_starts(v, (size_t)(s + n - v), "multipart/");
        }
        for (size_t i = 0; in_ct && i < n; i++)
            if (line_starts(s + i, n - i, "boundary="))
                in_ct = 0;
    }
    if (!b.s)
        return EQ_OK;
    if (buf_addn(&b, copied, (size_t)(end - copied)) != EQ_OK) {
        buf_free(&b);
        return EQ_ERR_NOMEM;
    }
    *len = b.len;
    *fixed = buf_take(&b);
    *raw = *fixed;
    return EQ_OK;
}

enum eq_err
mime_parse(const char *raw, size_t len, struct mime_msg **out,
           struct eq_buf *diag)
{
    struct mime_msg *m = calloc(1, sizeof *m);
    struct walk w = {.m = m};
    struct mailmime *root = NULL;
    char *fixed = NULL; /* raw with repaired header folds; root points in */
    enum eq_err err = EQ_OK;
    *out = NULL;
    if (!m)
        return EQ_ERR_NOMEM;
    if (!raw)
        len = 0;
    skip_mbox_line(&raw, &len);
    if ((err = join_boundary_lines(&raw, &len, &fixed)) != EQ_OK)
        goto fail;
    size_t hlen;
    header_end(raw ? raw : "", len, &hlen);
    if ((err = headers_parse(m, raw, hlen)) != EQ_OK ||
        (err = headers_interpret(m)) != EQ_OK)
        goto fail;

    size_t idx = 0;
    if (len > 0 && count_containers(raw, len) <= MAX_CONTAINERS &&
        mailmime_parse(raw, len, &idx, &root) == MAILIMF_NO_ERROR && root) {
        struct mailmime *body = root->mm_type == MAILMIME_MESSAGE
                                    ? root->mm_data.mm_message.mm_msg_mime
                                    : root;
        m->content_type = body ? content_type_str(body->mm_content_type)
                               : eq_strdup("text/plain");
        if (!m->content_type) {
            err = EQ_ERR_NOMEM;
            goto fail;
        }
        if (body) {
            if (body->mm_type == MAILMIME_MESSAGE) {
                /* A top-level message/rfc822 body is read as the message
                 * itself would be: it is all there is. */
                walk_part(&w, body->mm_data.mm_message.mm_msg_mime, 1);
            } else {
                walk_part(&w, body, 0);
            }
        }
        if ((err = w.err) != EQ_OK)
            goto fail;
    } else {
        eq_diag(diag, "mime: unreadable MIME structure, body read as text");
        m->content_type = eq_strdup("text/plain");
        if (!m->content_type ||
            (err = plain_fallback(&w, raw ? raw : "", len)) != EQ_OK) {
            err = EQ_ERR_NOMEM;
            goto fail;
        }
    }
    if (w.plain || (!m->html && w.named)) {
        m->text = w.plain ? w.plain : w.named;
        if (w.plain)
            w.plain = NULL;
        else
            w.named = NULL;
    } else if (m->html) {
        if ((err = mime_html_to_text(m->html, strlen(m->html), &m->text)) !=
            EQ_OK)
            goto fail;
    } else {
        m->text = eq_strdup("");
        if (!m->text) {
            err = EQ_ERR_NOMEM;
            goto fail;
        }
    }
    if (root)
        mailmime_free(root);
    free(w.named);
    free(fixed);
    *out = m;
    return EQ_OK;
fail:
    if (root)
        mailmime_free(root);
    free(w.plain);
    free(w.named);
    free(fixed);
    mime_free(m);
    return err;
}

void
mime_free(struct mime_msg *m)
{
    if (!m)
        return;
    free(m->message_id);
    free(m->in_reply_to);
    for (size_t i = 0; i < m->n_references; i++)
        free(m->references[i]);
    free(m->references);
    free(m->from_addr);
    free(m->from_name);
    for (size_t i = 0; i < m->n_to; i++)
        free(m->to[i]);
    free(m->to);
    free(m->subject);
    free(m->date_raw);
    free(m->text);
    free(m->html);
    free(m->content_type);
    free(m->report_type);
    free(m->delivery_status);
    free(m->feedback_report);
    for (size_t i = 0; i < m->n_headers; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    free(m);
}
