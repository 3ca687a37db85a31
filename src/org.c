#include "org.h"

#include "config.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An HR export is a few MB at most; anything far larger is not one. */
#define MAX_FILE (64u * 1024 * 1024)
/* A file with thousands of bad lines is the wrong file: list enough to see
 * the pattern, not all of it. */
#define MAX_LISTED 100

enum col {
    C_EMAIL,
    C_NAME,
    C_DEPT,
    C_CODE,
    C_MANAGES,
    C_LANG,
    C_ACTIVE,
    C_ALIASES,
    C__COUNT
};

static const char *const col_names[C__COUNT] = {
    "email",   "name",     "department", "department_code",
    "manages", "language", "active",     "aliases",
};

struct row {
    size_t line;
    char *email;
    char *name;
    char *dept;
    char *code;
    char *language; /* NULL = not given */
    char **aliases;
    size_t naliases;
    int manages;
    int active;
    size_t dept_index; /* into parse.depts */
};

struct dept {
    char *code;
    char *name;
    size_t line;
    int64_t id;
};

struct err_line {
    size_t line;
    size_t seq; /* keeps messages of one line in the order found */
    char *msg;
};

struct parse {
    const char *path;
    enum eq_err fatal; /* NOMEM inside a libcsv callback */
    /* libcsv feeding */
    size_t cur_line;
    size_t rec_line;
    char **fields;
    size_t nfields, capfields;
    /* header */
    int have_header;
    int bad_header; /* rows cannot be read without the required columns */
    int col[C__COUNT];
    size_t ncols;
    /* result */
    struct row *rows;
    size_t nrows, caprows;
    struct dept *depts;
    size_t ndepts, capdepts;
    struct err_line *errs;
    size_t nerrs, caperrs;
};

/* --- small helpers ----------------------------------------------------- */

static void *
grow_array(void *p, size_t *cap, size_t need, size_t size)
{
    size_t n;
    void *q;

    if (need <= *cap)
        return p;
    n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    q = realloc(p, n * size);
    if (q == NULL)
        return NULL;
    *cap = n;
    return q;
}

static void
lower_ascii(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void add_err(struct parse *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_err(struct parse *p, size_t line, const char *fmt, ...)
{
    struct eq_buf b = {0};
    struct err_line *e;
    va_list ap;

    e = grow_array(p->errs, &p->caperrs, p->nerrs + 1, sizeof *p->errs);
    if (e == NULL) {
        p->fatal = EQ_ERR_NOMEM;
        return;
    }
    p->errs = e;
    va_start(ap, fmt);
    if (buf_vprintf(&b, fmt, ap) != EQ_OK)
        p->fatal = EQ_ERR_NOMEM;
    va_end(ap);
    p->errs[p->nerrs].line = line;
    p->errs[p->nerrs].seq = p->nerrs;
    p->errs[p->nerrs].msg = buf_take(&b);
    p->nerrs++;
}

static int
cmp_err(const void *a, const void *b)
{
    const struct err_line *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
report_errs(struct parse *p, struct eq_buf *diag)
{
    size_t i;

    if (p->nerrs > 0)
        qsort(p->errs, p->nerrs, sizeof *p->errs, cmp_err);
    for (i = 0; i < p->nerrs && i < MAX_LISTED; i++) {
        if (p->errs[i].line > 0)
            eq_diag(diag, "%s:%zu: %s", p->path, p->errs[i].line,
                    p->errs[i].msg);
        else
            eq_diag(diag, "%s: %s", p->path, p->errs[i].msg);
    }
    if (p->nerrs > MAX_LISTED)
        eq_diag(diag, "%s: … and %zu more errors", p->path,
                p->nerrs - MAX_LISTED);
}

static void
free_fields(struct parse *p)
{
    for (size_t i = 0; i < p->nfields; i++)
        free(p->fields[i]);
    p->nfields = 0;
}

static void
row_clear(struct row *r)
{
    free(r->email);
    free(r->name);
    free(r->dept);
    free(r->code);
    free(r->language);
    for (size_t i = 0; i < r->naliases; i++)
        free(r->aliases[i]);
    free(r->aliases);
}

static void
parse_free(struct parse *p)
{
    size_t i;

    free_fields(p);
    free(p->fields);
    for (i = 0; i < p->nrows; i++)
        row_clear(&p->rows[i]);
    free(p->rows);
    for (i = 0; i < p->ndepts; i++) {
        free(p->depts[i].code);
        free(p->depts[i].name);
    }
    free(p->depts);
    for (i = 0; i < p->nerrs; i++)
        free(p->errs[i].msg);
    free(p->errs);
}

/* --- text encoding ------------------------------------------------------ */

static int
utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp, min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

/* Converts a legacy 8-bit file (Excel's plain "CSV" on Windows) to UTF-8.
 * Windows-1252 first; its five undefined bytes make glibc refuse, and then
 * ISO-8859-1, which maps every byte, is the honest reading. */
static enum eq_err
to_utf8(const char *in, size_t n, char **out, size_t *outlen)
{
    static const char *const from[] = {"WINDOWS-1252", "ISO-8859-1"};

    for (size_t f = 0; f < 2; f++) {
        iconv_t cd = iconv_open("UTF-8", from[f]);
        char *buf, *ip = (char *)in, *op;
        size_t il = n, ol = n * 3 + 1, r;

        if (cd == (iconv_t)-1)
            continue;
        buf = malloc(ol);
        if (buf == NULL) {
            iconv_close(cd);
            return EQ_ERR_NOMEM;
        }
        op = buf;
        r = iconv(cd, &ip, &il, &op, &ol);
        iconv_close(cd);
        if (r != (size_t)-1 && il == 0) {
            *op = '\0';
            *out = buf;
            *outlen = (size_t)(op - buf);
            return EQ_OK;
        }
        free(buf);
    }
    return EQ_ERR_DATA;
}

static enum eq_err
read_file(const char *path, char **out, size_t *outlen, struct eq_buf *diag)
{
    FILE *f = fopen(path, "rb");
    struct eq_buf b = {0};
    char chunk[16384];
    size_t n;
    enum eq_err err = EQ_OK;

    if (f == NULL) {
        eq_diag(diag, "%s: %s", path, strerror(errno));
        return EQ_ERR_NOINPUT;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > MAX_FILE) {
            eq_diag(diag, "%s: larger than %u MB, not an organisation file",
                    path, MAX_FILE / (1024 * 1024));
            err = EQ_ERR_DATA;
            goto out;
        }
        if ((err = buf_addn(&b, chunk, n)) != EQ_OK)
            goto out;
    }
    if (ferror(f)) {
        eq_diag(diag, "%s: %s", path, strerror(errno));
        err = EQ_ERR_NOINPUT;
        goto out;
    }
    if (b.s == NULL && (err = buf_add(&b, "")) != EQ_OK)
        goto out;
    *outlen = b.len;
    *out = buf_take(&b);
out:
    buf_free(&b);
    fclose(f);
    return err;
}

/* --- slugs and values ---------------------------------------------------- */

/* ASCII base letters of U+00C0..U+017F; '*' = more than one letter (see
 * fold_multi), '-' = not a letter. */
static const char fold_latin[] = "aaaaaa*ceeeeiiii"
                                 "dnooooo-ouuuuy**"
                                 "aaaaaa*ceeeeiiii"
                                 "dnooooo-ouuuuy*y"
                                 "aaaaaaccccccccdd"
                                 "ddeeeeeeeeeegggg"
                                 "gggghhhhiiiiiiii"
                                 "ii**jjkkklllllll"
                                 "lllnnnnnnnnnoooo"
                                 "oo**rrrrrrssssss"
                                 "ssttttttuuuuuuuu"
                                 "uuuuwwyyyzzzzzzs";

static const char *
fold_multi(unsigned cp)
{
    switch (cp) {
    case 0xc6:
    case 0xe6:
        return "ae";
    case 0xde:
    case 0xfe:
        return "th";
    case 0xdf:
        return "ss";
    case 0x132:
    case 0x133:
        return "ij";
    case 0x152:
    case 0x153:
        return "oe";
    }
    return "";
}

enum eq_err
org_slug(const char *name, struct eq_buf *out)
{
    const unsigned char *s = (const unsigned char *)name;
    size_t start = out->len;
    int dash = 0; /* a separator is pending */
    enum eq_err err = EQ_OK;

    if (out->s == NULL && (err = buf_add(out, "")) != EQ_OK)
        return err;
    while (*s) {
        unsigned cp = *s++;
        char one[2] = {0, 0};
        const char *piece = NULL;

        if (cp >= 0x80) {
            size_t more = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
            cp &= more == 3 ? 0x07 : more == 2 ? 0x0f : 0x1f;
            for (; more > 0 && (*s & 0xc0) == 0x80; more--)
                cp = (cp << 6) | (*s++ & 0x3f);
        }
        if (cp < 0x80 && isalnum((int)cp)) {
            one[0] = (char)tolower((int)cp);
            piece = one;
        } else if (cp >= 0xc0 && cp <= 0x17f) {
            char c = fold_latin[cp - 0xc0];
            if (c == '*') {
                piece = fold_multi(cp);
            } else if (c != '-') {
                one[0] = c;
                piece = one;
            }
        }
        if (piece == NULL) {
            dash = 1;
            continue;
        }
        if (dash && out->len > start)
            err = buf_addc(out, '-');
        dash = 0;
        if (err == EQ_OK)
            err = buf_add(out, piece);
        if (err != EQ_OK)
            return err;
    }
    return EQ_OK;
}

/* 1 yes, 0 no, -1 not a yes/no word. HR exports also mark a flag with
 * Dutch words, single letters or a cross, on top of config's words. */
static int
parse_bool(const char *v, int empty)
{
    static const char *const yes[] = {"ja", "x", "y", "j"};
    static const char *const no[] = {"nee", "n"};
    int b;

    if (*v == '\0')
        return empty;
    if (config_parse_bool(v, &b) == 0)
        return b;
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (eq_strcasecmp(v, yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (eq_strcasecmp(v, no[i]) == 0)
            return 0;
    return -1;
}

/* Simple but strict: what HR systems hold is a plain ASCII address; a
 * display name, a second address or a stray space is a data error. */
static int
email_ok(const char *s)
{
    const char *at = strchr(s, '@'), *dom, *p;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return 0;
    for (p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("<>()[],;:\"\\", c) != NULL)
            return 0;
    }
    dom = at + 1;
    if (strchr(dom, '.') == NULL || dom[0] == '.' ||
        dom[strlen(dom) - 1] == '.' || strstr(dom, "..") != NULL)
        return 0;
    return 1;
}

static int
has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* --- records ------------------------------------------------------------- */

static void
take_header(struct parse *p)
{
    size_t i;

    for (i = 0; i < C__COUNT; i++)
        p->col[i] = -1;
    p->ncols = p->nfields;
    for (i = 0; i < p->nfields; i++) {
        char *h = eq_trim(p->fields[i]);
        lower_ascii(h);
        for (char *c = h; *c; c++)
            if (*c == ' ' || *c == '-')
                *c = '_';
        for (int c = 0; c < C__COUNT; c++) {
            if (strcmp(h, col_names[c]) != 0)
                continue;
            if (p->col[c] >= 0)
                add_err(p, 1, "column \"%s\" appears twice", col_names[c]);
            p->col[c] = (int)i;
        }
    }
    /* Unknown columns are ignored: HR exports carry many more. */
    for (int c = C_EMAIL; c <= C_DEPT; c++)
        if (p->col[c] < 0) {
            add_err(p, 1, "missing required column \"%s\"", col_names[c]);
            p->bad_header = 1;
        }
    p->have_header = 1;
}

static const char *
field(struct parse *p, enum col c)
{
    if (p->col[c] < 0 || (size_t)p->col[c] >= p->nfields)
        return "";
    return eq_trim(p->fields[p->col[c]]);
}

static enum eq_err
split_aliases(struct row *r, const char *list, struct parse *p)
{
    char *copy = strdup(list), *s, *bar;

    if (copy == NULL)
        return EQ_ERR_NOMEM;
    for (s = copy; s != NULL; s = bar) {
        char **a;
        int dup = 0;

        bar = strchr(s, '|');
        if (bar != NULL)
            *bar++ = '\0';
        eq_trim(s);
        lower_ascii(s);
        if (*s == '\0')
            continue;
        if (!email_ok(s)) {
            add_err(p, r->line, "bad alias address \"%s\"", s);
            continue;
        }
        /* Repeating one's own address is harmless; keep it once. */
        dup = strcmp(s, r->email) == 0;
        for (size_t i = 0; i < r->naliases && !dup; i++)
            dup = strcmp(s, r->aliases[i]) == 0;
        if (dup)
            continue;
        a = realloc(r->aliases, (r->naliases + 1) * sizeof *a);
        if (a == NULL || (a[r->naliases] = strdup(s)) == NULL) {
            if (a != NULL)
                r->aliases = a;
            free(copy);
            return EQ_ERR_NOMEM;
        }
        r->aliases = a;
        r->naliases++;
    }
    free(copy);
    return EQ_OK;
}

static enum eq_err
note_dept(struct parse *p, struct row *r)
{
    struct dept *d;

    for (size_t i = 0; i < p->ndepts; i++) {
        if (strcmp(p->depts[i].code, r->code) != 0)
            continue;
        if (strcmp(p->depts[i].name, r->dept) != 0)
            add_err(p, r->line,
                    "department code \"%s\" is \"%s\" on line %zu but "
                    "\"%s\" here",
                    r->code, p->depts[i].name, p->depts[i].line, r->dept);
        r->dept_index = i;
        return EQ_OK;
    }
    d = grow_array(p->depts, &p->capdepts, p->ndepts + 1, sizeof *d);
    if (d == NULL)
        return EQ_ERR_NOMEM;
    p->depts = d;
    d = &p->depts[p->ndepts];
    memset(d, 0, sizeof *d);
    d->code = strdup(r->code);
    d->name = strdup(r->dept);
    d->line = r->line;
    if (d->code == NULL || d->name == NULL) {
        free(d->code);
        free(d->name);
        return EQ_ERR_NOMEM;
    }
    r->dept_index = p->ndepts++;
    return EQ_OK;
}

static enum eq_err
take_row(struct parse *p)
{
    struct row r;
    struct eq_buf slug = {0};
    size_t i, line = p->rec_line;
    const char *v;
    int empty = 1;
    enum eq_err err = EQ_OK;

    memset(&r, 0, sizeof r);
    r.line = line;
    for (i = 0; i < p->nfields && empty; i++)
        empty = *eq_trim(p->fields[i]) == '\0';
    if (empty) /* Excel writes ";;;;" for blank rows */
        return EQ_OK;
    if (p->nfields < p->ncols) {
        add_err(p, line, "%zu fields, the header has %zu", p->nfields,
                p->ncols);
        return EQ_OK;
    }
    for (i = p->ncols; i < p->nfields; i++) {
        if (*eq_trim(p->fields[i]) != '\0') {
            add_err(p, line, "%zu fields, the header has %zu", p->nfields,
                    p->ncols);
            return EQ_OK;
        }
    }

    r.email = strdup(field(p, C_EMAIL));
    r.name = strdup(field(p, C_NAME));
    r.dept = strdup(field(p, C_DEPT));
    if (r.email == NULL || r.name == NULL || r.dept == NULL)
        goto nomem;
    lower_ascii(r.email);
    if (!email_ok(r.email))
        add_err(p, line, "bad email address \"%s\"", r.email);
    if (*r.name == '\0')
        add_err(p, line, "empty name");
    else if (has_control(r.name))
        add_err(p, line, "name contains a line break or control character");
    if (*r.dept == '\0')
        add_err(p, line, "empty department");
    else if (has_control(r.dept))
        add_err(p, line,
                "department contains a line break or control character");

    v = field(p, C_CODE);
    if (*v != '\0') {
        r.code = strdup(v);
        if (r.code == NULL)
            goto nomem;
        /* Stored lowercase, so the letters config_code_valid allows are too. */
        lower_ascii(r.code);
        if (!config_code_valid(r.code))
            add_err(p, line,
                    "bad department_code \"%s\" (letters, digits, '-', '_')",
                    v);
    } else if (*r.dept != '\0') {
        if ((err = org_slug(r.dept, &slug)) != EQ_OK)
            goto out;
        r.code = buf_take(&slug);
        if (*r.code == '\0')
            add_err(p, line,
                    "department \"%s\" gives no code; add a "
                    "department_code column",
                    r.dept);
    }

    v = field(p, C_MANAGES);
    if ((r.manages = parse_bool(v, 0)) < 0)
        add_err(p, line, "bad manages value \"%s\" (yes or no)", v);
    v = field(p, C_LANG);
    if (eq_strcasecmp(v, "nl") == 0 || eq_strcasecmp(v, "en") == 0) {
        if ((r.language = strdup(v)) == NULL)
            goto nomem;
        lower_ascii(r.language);
    } else if (*v != '\0') {
        add_err(p, line, "bad language \"%s\" (nl or en)", v);
    }
    v = field(p, C_ACTIVE);
    if ((r.active = parse_bool(v, 1)) < 0)
        add_err(p, line, "bad active value \"%s\" (yes or no)", v);
    if ((err = split_aliases(&r, field(p, C_ALIASES), p)) != EQ_OK)
        goto out;
    if (r.code != NULL && *r.code != '\0' && *r.dept != '\0' &&
        (err = note_dept(p, &r)) != EQ_OK)
        goto out;

    {
        struct row *rows =
            grow_array(p->rows, &p->caprows, p->nrows + 1, sizeof *rows);
        if (rows == NULL)
            goto nomem;
        p->rows = rows;
        p->rows[p->nrows++] = r;
        memset(&r, 0, sizeof r);
    }
    goto out;
nomem:
    err = EQ_ERR_NOMEM;
out:
    row_clear(&r);
    buf_free(&slug);
    return err;
}

static size_t
count_breaks(const char *s, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')))
            k++;
    return k;
}

static void
on_field(void *s, size_t len, void *data)
{
    struct parse *p = data;
    char **f, *copy;

    if (p->fatal != EQ_OK)
        return;
    if (p->nfields == 0) /* a quoted first field may span lines */
        p->rec_line = p->cur_line - count_breaks(s ? s : "", s ? len : 0);
    f = grow_array(p->fields, &p->capfields, p->nfields + 1, sizeof *f);
    copy = malloc(len + 1);
    if (f == NULL || copy == NULL) {
        if (f != NULL)
            p->fields = f;
        free(copy);
        p->fatal = EQ_ERR_NOMEM;
        return;
    }
    p->fields = f;
    if (len > 0)
        memcpy(copy, s, len);
    copy[len] = '\0';
    p->fields[p->nfields++] = copy;
}

static void
on_record(int c, void *data)
{
    struct parse *p = data;

    (void)c;
    if (p->fatal == EQ_OK) {
        if (!p->have_header)
            take_header(p);
        else if (!p->bad_header)
            p->fatal = take_row(p);
    }
    free_fields(p);
}

/* The delimiter that occurs more often in the header line, outside quotes. */
static unsigned char
detect_delim(const char *s, size_t n)
{
    size_t commas = 0, semis = 0;
    int quoted = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && (s[i] == '\n' || s[i] == '\r'))
            break;
        else if (!quoted && s[i] == ',')
            commas++;
        else if (!quoted && s[i] == ';')
            semis++;
    }
    return semis > commas ? ';' : ',';
}

/* Feeds libcsv one physical line at a time so that every record knows the
 * line it starts on. */
static enum eq_err
parse_text(struct parse *p, const char *text, size_t n)
{
    struct csv_parser cp;
    size_t pos = 0;
    enum eq_err err = EQ_OK;

    if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return EQ_ERR_NOMEM;
    csv_set_delim(&cp, detect_delim(text, n));
    p->cur_line = 1;
    while (pos < n && p->fatal == EQ_OK) {
        size_t end = pos;
        while (end < n && text[end] != '\n' &&
               !(text[end] == '\r' && (end + 1 == n || text[end + 1] != '\n')))
            end++;
        if (end < n)
            end++;
        if (csv_parse(&cp, text + pos, end - pos, on_field, on_record, p) !=
            end - pos) {
            if (csv_error(&cp) == CSV_ENOMEM) {
                err = EQ_ERR_NOMEM;
            } else {
                add_err(p, p->cur_line,
                        "bad quoting (a '\"' inside an unquoted field, or "
                        "text after a closing '\"')");
                err = EQ_ERR_DATA;
            }
            goto out;
        }
        pos = end;
        p->cur_line++;
    }
    if (p->fatal == EQ_OK && csv_fini(&cp, on_field, on_record, p) != 0) {
        add_err(p, p->nfields > 0 ? p->rec_line : p->cur_line - 1,
                "a quoted field is never closed");
        err = EQ_ERR_DATA;
    }
out:
    if (err == EQ_OK)
        err = p->fatal;
    csv_free(&cp);
    return err;
}

struct addr {
    const char *addr;
    size_t line;
};

static int
cmp_addr(const void *a, const void *b)
{
    const struct addr *x = a, *y = b;
    int c = strcmp(x->addr, y->addr);

    if (c != 0)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Every address (emails and aliases, already lowercase) at most once. */
static enum eq_err
check_duplicates(struct parse *p)
{
    struct addr *a;
    size_t n = 0, i;

    for (i = 0; i < p->nrows; i++)
        n += 1 + p->rows[i].naliases;
    if (n == 0)
        return EQ_OK;
    if ((a = calloc(n, sizeof *a)) == NULL)
        return EQ_ERR_NOMEM;
    n = 0;
    for (i = 0; i < p->nrows; i++) {
        a[n].addr = p->rows[i].email;
        a[n++].line = p->rows[i].line;
        for (size_t k = 0; k < p->rows[i].naliases; k++) {
            a[n].addr = p->rows[i].aliases[k];
            a[n++].line = p->rows[i].line;
        }
    }
    qsort(a, n, sizeof *a, cmp_addr);
    for (i = 1; i < n; i++) {
        size_t first = i - 1;
        while (first > 0 && strcmp(a[first - 1].addr, a[i].addr) == 0)
            first--;
        if (strcmp(a[first].addr, a[i].addr) == 0)
            add_err(p, a[i].line, "duplicate address %s (also on line %zu)",
                    a[i].addr, a[first].line);
    }
    free(a);
    return p->fatal;
}

/* Reads, decodes and validates the whole file into p. EQ_ERR_DATA with
 * p->errs filled when the file is not acceptable. */
static enum eq_err
parse_file(struct parse *p, struct eq_buf *diag)
{
    char *raw = NULL, *conv = NULL, *text;
    size_t n = 0, cn = 0;
    enum eq_err err;

    for (int c = 0; c < C__COUNT; c++)
        p->col[c] = -1;
    if ((err = read_file(p->path, &raw, &n, diag)) != EQ_OK)
        return err;
    text = raw;
    if (n >= 2 && ((memcmp(raw, "\xff\xfe", 2) == 0 ||
                    memcmp(raw, "\xfe\xff", 2) == 0))) {
        add_err(p, 1, "UTF-16 text; save the sheet as \"CSV UTF-8\"");
        err = EQ_ERR_DATA;
        goto out;
    }
    if (n >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        n -= 3;
    }
    if (!utf8_valid((unsigned char *)text, n)) {
        if ((err = to_utf8(text, n, &conv, &cn)) != EQ_OK) {
            if (err == EQ_ERR_DATA)
                add_err(p, 0, "neither UTF-8 nor Windows-1252 text");
            goto out;
        }
        text = conv;
        n = cn;
    }
    if (memchr(text, '\0', n) != NULL) {
        add_err(p, 0, "NUL bytes: not a text file");
        err = EQ_ERR_DATA;
        goto out;
    }
    if ((err = parse_text(p, text, n)) != EQ_OK)
        goto out;
    if (!p->have_header) {
        add_err(p, 1, "empty file: no header row");
        err = EQ_ERR_DATA;
        goto out;
    }
    if ((err = check_duplicates(p)) != EQ_OK)
        goto out;
    if (p->nerrs > 0)
        err = EQ_ERR_DATA;
out:
    free(raw);
    free(conv);
    return err;
}

/* --- applying ---------------------------------------------------------- */

struct applied {
    int64_t id;
    int added, changed, deactivated;
};

static int
cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int
has_string(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (eq_strcasecmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Drops the aliases an employee no longer has before any are added, so
 * that an address moving from one person to another in the same file does
 * not collide with itself. */
static enum eq_err
drop_old_aliases(struct store *st, const struct row *r, struct applied *a)
{
    struct store_employee e = {0};
    char **old = NULL, **keep = NULL;
    size_t nold = 0, nkeep = 0;
    int changed = 0;
    enum eq_err err;

    err = store_employee_find(st, r->email, &e);
    if (err == EQ_ERR_NOTFOUND ||
        (err == EQ_OK && eq_strcasecmp(e.email, r->email) != 0)) {
        err = EQ_OK;
        goto out;
    }
    if (err != EQ_OK)
        goto out;
    if ((err = store_employee_aliases(st, e.id, &old, &nold)) != EQ_OK)
        goto out;
    if (nold == 0)
        goto out;
    if ((keep = calloc(nold, sizeof *keep)) == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < nold; i++)
        if (has_string(r->aliases, r->naliases, old[i]))
            keep[nkeep++] = old[i];
    if (nkeep == nold)
        goto out;
    err = store_employee_set_aliases(st, e.id, (const char *const *)keep, nkeep,
                                     &changed);
    if (changed)
        a->changed = 1;
out:
    free(keep);
    store_strings_free(old, nold);
    store_employee_clear(&e);
    return err;
}

static enum eq_err
apply_row(struct store *st, struct parse *p, const struct row *r,
          eq_time joined, struct applied *a)
{
    struct store_employee old = {0}, e = {0};
    int64_t dept = p->depts[r->dept_index].id;
    int existed = 0, changed = 0;
    enum eq_err err;

    err = store_employee_find(st, r->email, &old);
    if (err == EQ_OK && eq_strcasecmp(old.email, r->email) != 0) {
        add_err(p, r->line, "%s is an alias of %s in the database", r->email,
                old.email);
        err = EQ_ERR_DATA;
        goto out;
    }
    if (err == EQ_OK)
        existed = 1;
    else if (err != EQ_ERR_NOTFOUND)
        goto out;

    e.email = r->email;
    e.name = r->name;
    e.department_id = dept;
    e.language = r->language;
    e.active = r->active;
    e.joined_at = joined;
    if ((err = store_employee_upsert(st, &e, &a->id, &changed)) != EQ_OK)
        goto out;
    if (existed && changed) {
        if (old.active && !r->active)
            a->deactivated = 1;
        else
            a->changed = 1;
    }
    a->added = !existed;

    changed = 0;
    err = store_employee_set_aliases(st, a->id, (const char *const *)r->aliases,
                                     r->naliases, &changed);
    if (err == EQ_ERR_DATA) {
        add_err(p, r->line, "an alias of %s belongs to another employee",
                r->email);
        goto out;
    }
    if (err != EQ_OK)
        goto out;
    a->changed |= existed && changed;

    /* Moving a manager to another department ends their old role. */
    if (existed && old.manages && old.department_id != dept) {
        changed = 0;
        err = store_manager_set(st, old.department_id, a->id, 0, &changed);
        if (err != EQ_OK)
            goto out;
        a->changed |= changed;
    }
    changed = 0;
    if ((err = store_manager_set(st, dept, a->id, r->manages, &changed)) !=
        EQ_OK)
        goto out;
    a->changed |= existed && changed;
out:
    store_employee_clear(&old);
    return err;
}

static enum eq_err
count_prunable(struct store *st, const int64_t *keep, size_t nkeep, size_t *n)
{
    struct store_employee *all = NULL;
    size_t nall = 0;
    enum eq_err err;

    *n = 0;
    if ((err = store_employees(st, &all, &nall)) != EQ_OK)
        return err;
    for (size_t i = 0; i < nall; i++)
        if (all[i].active &&
            bsearch(&all[i].id, keep, nkeep, sizeof *keep, cmp_id) == NULL)
            (*n)++;
    store_employees_free(all, nall);
    return EQ_OK;
}

static enum eq_err
apply(struct store *st, struct parse *p, int prune, eq_time now,
      struct org_report *rep)
{
    struct applied *ap = NULL;
    struct store_employee *all = NULL;
    int64_t *keep = NULL, cancelled = 0;
    size_t i, pruned = 0, n_all = 0;
    eq_time joined;
    enum eq_err err;

    if ((ap = calloc(p->nrows + 1, sizeof *ap)) == NULL ||
        (keep = calloc(p->nrows + 1, sizeof *keep)) == NULL) {
        free(ap);
        return EQ_ERR_NOMEM;
    }
    if ((err = store_begin(st)) != EQ_OK)
        goto out;
    /* The first import founds the organisation; people added later are
     * joiners, first asked in the period after the one they joined in. */
    if ((err = store_employees(st, &all, &n_all)) != EQ_OK)
        goto fail;
    store_employees_free(all, n_all);
    joined = n_all == 0 ? 0 : now;
    for (i = 0; i < p->ndepts; i++) {
        struct store_department d = {0};
        int existed, changed = 0;

        err = store_department_by_code(st, p->depts[i].code, &d);
        store_department_clear(&d);
        if (err != EQ_OK && err != EQ_ERR_NOTFOUND)
            goto fail;
        existed = err == EQ_OK;
        err = store_department_upsert(st, p->depts[i].code, p->depts[i].name,
                                      &p->depts[i].id, &changed);
        if (err != EQ_OK)
            goto fail;
        if (!existed)
            rep->departments_added++;
        else if (changed)
            rep->departments_changed++;
    }
    for (i = 0; i < p->nrows; i++)
        if ((err = drop_old_aliases(st, &p->rows[i], &ap[i])) != EQ_OK)
            goto fail;
    for (i = 0; i < p->nrows; i++) {
        err = apply_row(st, p, &p->rows[i], joined, &ap[i]);
        if (err == EQ_ERR_DATA)
            continue; /* collect every conflict, then roll back */
        if (err != EQ_OK)
            goto fail;
        keep[i] = ap[i].id;
    }
    if (p->nerrs > 0) {
        err = EQ_ERR_DATA;
        goto fail;
    }
    if (prune) {
        qsort(keep, p->nrows, sizeof *keep, cmp_id);
        if ((err = count_prunable(st, keep, p->nrows, &pruned)) != EQ_OK)
            goto fail;
        if (pruned > 0) {
            int changed = 0;
            err =
                store_employees_deactivate_except(st, keep, p->nrows, &changed);
            if (err != EQ_OK)
                goto fail;
        }
    }
    /* Leavers (pruned or marked inactive) are not asked any more. */
    if ((err = store_cancel_inactive(st, &cancelled)) != EQ_OK)
        goto fail;
    if ((err = store_commit(st)) != EQ_OK)
        goto fail;

    rep->rows = p->nrows;
    rep->invitations_cancelled = (size_t)cancelled;
    rep->employees_deactivated = pruned;
    for (i = 0; i < p->nrows; i++) {
        if (ap[i].added)
            rep->employees_added++;
        else if (ap[i].deactivated)
            rep->employees_deactivated++;
        else if (ap[i].changed)
            rep->employees_changed++;
        else
            rep->unchanged++;
    }
    goto out;
fail:
    store_rollback(st);
    memset(rep, 0, sizeof *rep);
out:
    free(ap);
    free(keep);
    return err;
}

enum eq_err
org_import(struct store *st, const char *path, int prune, eq_time now,
           struct org_report *rep, struct eq_buf *diag)
{
    struct parse p;
    struct org_report local;
    enum eq_err err;

    memset(&p, 0, sizeof p);
    p.path = path;
    if (rep == NULL)
        rep = &local;
    memset(rep, 0, sizeof *rep);

    err = parse_file(&p, diag);
    if (err == EQ_OK && prune && p.nrows == 0) {
        add_err(&p, 0,
                "no employees in the file; --prune would deactivate "
                "everyone");
        err = EQ_ERR_DATA;
    }
    if (err == EQ_OK) {
        err = apply(st, &p, prune, now, rep);
        if (err != EQ_OK && err != EQ_ERR_DATA && err != EQ_ERR_NOMEM)
            eq_diag(diag, "%s: database: %s", path, store_errmsg(st));
    }
    report_errs(&p, diag);
    parse_free(&p);
    return err;
}

/* --- show and reactivate ---------------------------------------------- */

enum eq_err
org_show(struct store *st, const char *email, struct eq_buf *out)
{
    struct store_employee e = {0};
    char **aliases = NULL;
    size_t naliases = 0;
    enum eq_err err;

    err = store_employee_find(st, email, &e);
    if (err != EQ_OK)
        return err;
    if ((err = store_employee_aliases(st, e.id, &aliases, &naliases)) != EQ_OK)
        goto out;

    buf_printf(out, "Name:       %s\n", e.name ? e.name : "");
    buf_printf(out, "E-mail:     %s\n", e.email);
    buf_add(out, "Aliases:    ");
    for (size_t i = 0; i < naliases; i++)
        buf_printf(out, "%s%s", i ? ", " : "", aliases[i]);
    buf_add(out, naliases ? "\n" : "(none)\n");
    buf_printf(out, "Department: %s (%s)\n",
               e.department_code ? e.department_code : "?",
               e.department_name ? e.department_name : "?");
    buf_printf(out, "Language:   %s\n",
               e.language ? e.language : "(campaign default)");
    buf_printf(out, "Status:     %s%s%s\n", e.active ? "active" : "inactive",
               e.undeliverable ? ", undeliverable (mail bounced)" : "",
               e.opted_out ? ", opted out" : "");
    if (e.manages)
        err = buf_printf(out, "Manages:    yes (receives the %s digest)\n",
                         e.department_code ? e.department_code : "?");
    else
        err = buf_add(out, "Manages:    no\n");
out:
    store_strings_free(aliases, naliases);
    store_employee_clear(&e);
    return err;
}

enum eq_err
org_reactivate(struct store *st, const char *email, struct eq_buf *diag)
{
    struct store_employee e = {0};
    enum eq_err err;

    err = store_employee_find(st, email, &e);
    if (err == EQ_ERR_NOTFOUND) {
        eq_diag(diag, "no employee with address %s", email);
        return err;
    }
    if (err != EQ_OK) {
        eq_diag(diag, "%s: %s", email, store_errmsg(st));
        return err;
    }
    err = store_employee_set_flags(st, e.id, 1, 0, e.opted_out);
    if (err != EQ_OK)
        eq_diag(diag, "%s: %s", email, store_errmsg(st));
    store_employee_clear(&e);
    return err;
}
