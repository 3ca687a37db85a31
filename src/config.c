#include "config.h"

#include "eqtime.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ENQUETE_DATADIR
#define ENQUETE_DATADIR "/usr/local/share/enquete"
#endif

/* Debian's libinih reads into a 200-byte buffer: the line, "\n" and NUL. */
#define INI_LINE_MAX 198
/* inih's section and key buffers (MAX_SECTION, MAX_NAME) hold 49 bytes. */
#define INI_NAME_MAX 49

/* ---- the line-counting INI reader ------------------------------------ */

struct seen_key {
    char *section, *name;
    int line;
};

struct ini_ctx {
    FILE *f;
    const char *path;
    char *line;
    size_t cap;
    int lineno;
    int nerr;
    int read_errno;
    int nomem;
    config_ini_handler handler;
    void *user;
    struct eq_buf *diag;
    struct eq_buf msg;
    struct seen_key *seen;
    size_t n_seen, cap_seen;
};

static void ini_error(struct ini_ctx *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ini_error(struct ini_ctx *c, int line, const char *fmt, ...)
{
    struct eq_buf m = {0};
    va_list ap;

    c->nerr++;
    va_start(ap, fmt);
    if (buf_vprintf(&m, fmt, ap) != EQ_OK)
        c->nomem = 1;
    va_end(ap);
    eq_diag(c->diag, "%s:%d: %s", c->path, line, buf_str(&m));
    buf_free(&m);
}

/* Where inih's find_chars_or_comment() stops: at one of chars or at an
 * inline ';' comment preceded by whitespace. */
static const char *
ini_find(const char *s, const char *chars)
{
    int was_space = 0;

    while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
        was_space = isspace((unsigned char)*s);
        s++;
    }
    return s;
}

/* Checks what inih would reject, so every syntax error is reported with its
 * line (inih itself only returns the first). 0 when the line is fine. */
static int
ini_check_syntax(struct ini_ctx *c, const char *p)
{
    const char *e;
    size_t n;

    if (*p == '\0' || *p == ';' || *p == '#')
        return 0;
    if (*p == '[') {
        e = ini_find(p + 1, "]");
        if (*e != ']') {
            ini_error(c, c->lineno, "missing ']' after section name");
            return -1;
        }
        n = (size_t)(e - (p + 1));
        if (n > INI_NAME_MAX) {
            ini_error(c, c->lineno,
                      "section name too long (%zu bytes, at most %d)", n,
                      INI_NAME_MAX);
            return -1;
        }
        return 0;
    }
    e = ini_find(p, "=:");
    if (*e != '=' && *e != ':') {
        ini_error(c, c->lineno,
                  "expected 'key = value', '[section]' or a comment");
        return -1;
    }
    n = (size_t)(e - p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n > INI_NAME_MAX) {
        ini_error(c, c->lineno, "key too long (%zu bytes, at most %d)", n,
                  INI_NAME_MAX);
        return -1;
    }
    return 0;
}

/* inih calls the handler right after each reader call, so lineno here is the
 * handler's line. Every physical line is handed over as exactly one line;
 * a rejected line becomes an empty one so the count never drifts. */
static char *
read_line(char *str, int num, void *stream)
{
    struct ini_ctx *c = stream;
    ssize_t got;
    size_t len, max = INI_LINE_MAX;
    char *p;

    if (num < 3)
        return NULL;
    if ((size_t)num - 2 < max)
        max = (size_t)num - 2;
    errno = 0;
    got = getline(&c->line, &c->cap, c->f);
    if (got < 0) {
        if (ferror(c->f))
            c->read_errno = errno ? errno : EIO;
        return NULL;
    }
    c->lineno++;
    p = c->line;
    len = (size_t)got;
    if (len > 0 && p[len - 1] == '\n')
        p[--len] = '\0';
    if (len > 0 && p[len - 1] == '\r')
        p[--len] = '\0';
    if (c->lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    if (len > max) {
        ini_error(c, c->lineno, "line too long (%zu bytes, at most %zu)", len,
                  max);
        goto empty;
    }
    /* Dropping indentation turns off inih's multi-line values, which would
     * otherwise show up as a second value for the previous key. */
    while (*p == ' ' || *p == '\t') {
        p++;
        len--;
    }
    if (strlen(p) != len) {
        ini_error(c, c->lineno, "NUL byte in line");
        goto empty;
    }
    if (ini_check_syntax(c, p) != 0)
        goto empty;
    memcpy(str, p, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
empty:
    str[0] = '\n';
    str[1] = '\0';
    return str;
}

static void
ini_handler_msg(struct ini_ctx *c, const char *name)
{
    const char *s = buf_str(&c->msg), *nl;

    c->nerr++;
    if (*s == '\0') {
        eq_diag(c->diag, "%s:%d: invalid value for '%s'", c->path, c->lineno,
                name);
        return;
    }
    /* One prefix per line, so multi-line messages stay greppable. */
    while (*s) {
        nl = strchr(s, '\n');
        if (nl == NULL)
            nl = s + strlen(s);
        eq_diag(c->diag, "%s:%d: %.*s", c->path, c->lineno, (int)(nl - s), s);
        s = *nl ? nl + 1 : nl;
    }
}

static int
ini_on_pair(void *user, const char *section, const char *name,
            const char *value)
{
    struct ini_ctx *c = user;
    struct seen_key *k;
    size_t i;

    if (*section == '\0') {
        ini_error(c, c->lineno, "key '%s' outside any section", name);
        return 1;
    }
    for (i = 0; i < c->n_seen; i++) {
        k = &c->seen[i];
        if (strcmp(k->section, section) == 0 && strcmp(k->name, name) == 0) {
            ini_error(c, c->lineno,
                      "duplicate key '%s' in [%s] (first set on line %d)", name,
                      section, k->line);
            return 1;
        }
    }
    if (c->n_seen == c->cap_seen) {
        size_t cap = c->cap_seen ? c->cap_seen * 2 : 32;
        k = realloc(c->seen, cap * sizeof *k);
        if (k == NULL)
            goto nomem;
        c->seen = k;
        c->cap_seen = cap;
    }
    k = &c->seen[c->n_seen];
    k->section = strdup(section);
    k->name = strdup(name);
    k->line = c->lineno;
    if (k->section == NULL || k->name == NULL) {
        free(k->section);
        free(k->name);
        goto nomem;
    }
    c->n_seen++;
    buf_reset(&c->msg);
    if (c->handler(c->user, section, name, value, c->lineno, &c->msg) != 0)
        ini_handler_msg(c, name);
    return 1;
nomem:
    c->nomem = 1;
    return 1;
}

enum eq_err
config_ini_parse(const char *path, config_ini_handler handler, void *user,
                 struct eq_buf *diag)
{
    struct ini_ctx c = {0};
    struct stat st;
    enum eq_err err = EQ_OK;
    size_t i;
    int rc;

    c.path = path;
    c.handler = handler;
    c.user = user;
    c.diag = diag;
    c.f = fopen(path, "re");
    if (c.f == NULL) {
        eq_diag(diag, "%s: cannot open: %s", path, strerror(errno));
        return EQ_ERR_NOINPUT;
    }
    if (fstat(fileno(c.f), &st) == 0 && S_ISDIR(st.st_mode)) {
        eq_diag(diag, "%s: cannot open: %s", path, strerror(EISDIR));
        err = EQ_ERR_NOINPUT;
        goto out;
    }
    rc = ini_parse_stream(read_line, &c, ini_on_pair, &c);
    if (c.read_errno) {
        eq_diag(diag, "%s: cannot read: %s", path, strerror(c.read_errno));
        err = EQ_ERR_NOINPUT;
    } else if (rc == -2 || c.nomem) {
        err = EQ_ERR_NOMEM;
    } else if (rc > 0 && c.nerr == 0) {
        /* The reader should have caught it; never let one pass silently. */
        ini_error(&c, rc, "syntax error");
        err = EQ_ERR_CONFIG;
    } else if (c.nerr > 0) {
        err = EQ_ERR_CONFIG;
    }
out:
    for (i = 0; i < c.n_seen; i++) {
        free(c.seen[i].section);
        free(c.seen[i].name);
    }
    free(c.seen);
    free(c.line);
    buf_free(&c.msg);
    fclose(c.f);
    return err;
}

char *
config_resolve(const char *dir, const char *p)
{
    struct eq_buf b = {0};
    size_t n;

    if (p == NULL)
        return NULL;
    if (p[0] == '/' || dir == NULL || dir[0] == '\0')
        return strdup(p);
    while (p[0] == '.' && p[1] == '/') {
        p += 2;
        while (*p == '/')
            p++;
    }
    if (p[0] == '\0' || strcmp(p, ".") == 0)
        return strdup(dir);
    n = strlen(dir);
    if (buf_addn(&b, dir, n) != EQ_OK ||
        (dir[n - 1] != '/' && buf_addc(&b, '/') != EQ_OK) ||
        buf_add(&b, p) != EQ_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* ---- value checks ----------------------------------------------------- */

static int
addr_char_ok(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && !strchr("<>()[],;:\"\\@", ch);
}

/* local@domain, the addr-spec subset enquete sends to and reads from. */
static int
addr_valid(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    size_t i, local, label = 0;

    if (at == NULL || memchr(at + 1, '@', n - (size_t)(at - s) - 1))
        return 0;
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || local + 1 == n)
        return 0;
    for (i = 0; i < local; i++)
        if (!addr_char_ok((unsigned char)s[i]))
            return 0;
    for (i = local + 1; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (isalnum(ch) || ch == '-') {
            label++;
        } else {
            return 0;
        }
    }
    return label > 0;
}

static int
from_valid(const char *v)
{
    const char *lt = strrchr(v, '<'), *gt;
    size_t n = strlen(v);

    if (lt == NULL)
        return addr_valid(v, n);
    gt = strchr(lt, '>');
    if (gt == NULL || gt[1] != '\0')
        return 0;
    return addr_valid(lt + 1, (size_t)(gt - lt - 1));
}

static int
url_valid(const char *v, const char *const schemes[2])
{
    size_t i, n;
    const char *host;

    if (strncmp(v, "maildir:", 8) == 0)
        return v[8] != '\0';
    for (i = 0; i < 2; i++) {
        n = strlen(schemes[i]);
        if (strncmp(v, schemes[i], n) != 0)
            continue;
        host = v + n;
        return *host != '\0' && *host != '/' && *host != ':';
    }
    return 0;
}

int
config_weekday(const char *s)
{
    static const char *const names[7][4] = {
        {"mon", "monday", "ma", "maandag"},
        {"tue", "tuesday", "di", "dinsdag"},
        {"wed", "wednesday", "wo", "woensdag"},
        {"thu", "thursday", "do", "donderdag"},
        {"fri", "friday", "vr", "vrijdag"},
        {"sat", "saturday", "za", "zaterdag"},
        {"sun", "sunday", "zo", "zondag"},
    };
    int d, k;

    for (d = 0; d < 7; d++)
        for (k = 0; k < 4; k++)
            if (eq_strcasecmp(s, names[d][k]) == 0)
                return d + 1;
    return 0;
}

static size_t
edit_distance(const char *a, const char *b)
{
    size_t row[64], i, j, la = strlen(a), lb = strlen(b), diag, up;

    if (la >= 64 || lb >= 64)
        return SIZE_MAX;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t best = diag + (a[i - 1] != b[j - 1]);
            up = row[j];
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

const char *
config_closest(const char *s, const char *const *names)
{
    const char *best = NULL;
    size_t d, bestd = 3;

    for (; *names; names++) {
        d = edit_distance(s, *names);
        if (d < bestd) {
            bestd = d;
            best = *names;
        }
    }
    return best;
}

/* ---- values shared with campaign files and the HR export -------------- */

int
config_parse_bool(const char *v, int *out)
{
    if (eq_strcasecmp(v, "yes") == 0 || eq_strcasecmp(v, "true") == 0 ||
        strcmp(v, "1") == 0)
        *out = 1;
    else if (eq_strcasecmp(v, "no") == 0 || eq_strcasecmp(v, "false") == 0 ||
             strcmp(v, "0") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int
config_code_valid(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
            return 0;
    return 1;
}

int
config_set_str(char **dst, const char *v, int *nomem)
{
    free(*dst);
    *dst = strdup(v);
    if (*dst == NULL)
        *nomem = 1;
    return 0;
}

int
config_set_int(const char *name, const char *v, long min, long max, int *dst,
               struct eq_buf *msg)
{
    long n;

    if (eq_parse_long(v, min, max, &n) != 0) {
        buf_printf(msg, "'%s' must be a whole number from %ld to %ld, not '%s'",
                   name, min, max, v);
        return -1;
    }
    *dst = (int)n;
    return 0;
}

int
config_unknown_key(const char *name, const char *section,
                   const char *const *keys, struct eq_buf *msg)
{
    const char *best = config_closest(name, keys);

    if (best)
        buf_printf(msg, "unknown key '%s' in [%s] (did you mean '%s'?)", name,
                   section, best);
    else
        buf_printf(msg, "unknown key '%s' in [%s]", name, section);
    return -1;
}

/* ---- config.ini -------------------------------------------------------- */

static const char *const sections[] = {"general", "smtp", "imap", "digest",
                                       NULL};
static const char *const general_keys[] = {
    "database",     "timezone",       "language",  "from",      "reply_address",
    "quiet_period", "retention_days", "campaigns", "templates", NULL};
static const char *const smtp_keys[] = {
    "url",          "tls",     "user",    "password_file",
    "password_env", "auth",    "ca_file", "connections",
    "rate",         "timeout", NULL};
static const char *const imap_keys[] = {"url",
                                        "tls",
                                        "user",
                                        "password_file",
                                        "password_env",
                                        "auth",
                                        "ca_file",
                                        "timeout",
                                        "folder_processed",
                                        "folder_bounces",
                                        "folder_auto",
                                        "folder_review",
                                        "batch",
                                        NULL};
static const char *const digest_keys[] = {"hr", "weekday", "hour",
                                          "language_default", NULL};

struct load_ctx {
    struct eq_config *cfg;
    int nomem;
    char *bad_section; /* last unknown section reported, to report it once */
    unsigned present;  /* REQ_* keys seen, valid or not */
};

/* Required keys: a bad value is reported at its line, not as missing. */
enum { REQ_FROM = 1, REQ_REPLY = 2, REQ_SMTP_URL = 4, REQ_IMAP_URL = 8 };

static int
set_path(struct load_ctx *l, char **dst, const char *v)
{
    free(*dst);
    *dst = config_resolve(l->cfg->dir, v);
    if (*dst == NULL)
        l->nomem = 1;
    return 0;
}

static int
set_language(struct load_ctx *l, const char *name, const char *v, char **dst,
             struct eq_buf *msg)
{
    if (strcmp(v, "nl") != 0 && strcmp(v, "en") != 0) {
        buf_printf(msg, "'%s' must be nl or en, not '%s'", name, v);
        return -1;
    }
    return config_set_str(dst, v, &l->nomem);
}

static int
set_hr(struct load_ctx *l, const char *v, struct eq_buf *msg)
{
    struct eq_config *cfg = l->cfg;
    char *copy = strdup(v), *p, *next, **arr;
    int rc = 0;

    if (copy == NULL) {
        l->nomem = 1;
        return 0;
    }
    if (*copy == '\0')
        goto out;
    for (p = copy; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        eq_trim(p);
        if (!addr_valid(p, strlen(p))) {
            buf_printf(msg,
                       "'hr' must be a comma-separated list of "
                       "addresses; '%s' is not an address",
                       p);
            rc = -1;
            goto out;
        }
        arr = realloc(cfg->digest.hr, (cfg->digest.n_hr + 1) * sizeof *arr);
        if (arr == NULL)
            goto nomem;
        cfg->digest.hr = arr;
        arr[cfg->digest.n_hr] = strdup(p);
        if (arr[cfg->digest.n_hr] == NULL)
            goto nomem;
        cfg->digest.n_hr++;
    }
out:
    free(copy);
    return rc;
nomem:
    l->nomem = 1;
    free(copy);
    return 0;
}

static int
server_key(struct load_ctx *l, struct config_server *srv, int is_smtp,
           const char *name, const char *v, struct eq_buf *msg)
{
    static const char *const smtp_schemes[2] = {"smtp://", "smtps://"};
    static const char *const imap_schemes[2] = {"imap://", "imaps://"};

    if (strcmp(name, "url") == 0) {
        if (!url_valid(v, is_smtp ? smtp_schemes : imap_schemes)) {
            buf_printf(msg,
                       "'url' must be %s://HOST[:PORT], %ss://HOST[:PORT] or "
                       "maildir:PATH, not '%s'",
                       is_smtp ? "smtp" : "imap", is_smtp ? "smtp" : "imap", v);
            return -1;
        }
        return config_set_str(&srv->url, v, &l->nomem);
    }
    if (strcmp(name, "tls") == 0) {
        if (eq_strcasecmp(v, "required") == 0)
            srv->tls = EQ_TLS_REQUIRED;
        else if (eq_strcasecmp(v, "opportunistic") == 0)
            srv->tls = EQ_TLS_OPPORTUNISTIC;
        else if (eq_strcasecmp(v, "off") == 0)
            srv->tls = EQ_TLS_OFF;
        else {
            buf_printf(msg,
                       "'tls' must be required, opportunistic or off, "
                       "not '%s'",
                       v);
            return -1;
        }
        return 0;
    }
    if (strcmp(name, "auth") == 0) {
        if (eq_strcasecmp(v, "plain") == 0)
            srv->auth = EQ_AUTH_PLAIN;
        else if (eq_strcasecmp(v, "login") == 0)
            srv->auth = EQ_AUTH_LOGIN;
        else if (eq_strcasecmp(v, "xoauth2") == 0)
            srv->auth = EQ_AUTH_XOAUTH2;
        else {
            buf_printf(msg, "'auth' must be plain, login or xoauth2, not '%s'",
                       v);
            return -1;
        }
        return 0;
    }
    if (strcmp(name, "user") == 0)
        return config_set_str(&srv->user, v, &l->nomem);
    if (strcmp(name, "password_file") == 0 ||
        strcmp(name, "password_env") == 0) {
        int is_file = name[9] == 'f';
        if (is_file ? srv->password_env != NULL : srv->password_file != NULL) {
            buf_printf(msg, "password_file and password_env are mutually "
                            "exclusive; set one");
            return -1;
        }
        if (is_file)
            return set_path(l, &srv->password_file, v);
        return config_set_str(&srv->password_env, v, &l->nomem);
    }
    if (strcmp(name, "ca_file") == 0)
        return set_path(l, &srv->ca_file, v);
    if (strcmp(name, "timeout") == 0)
        return config_set_int(name, v, 1, 3600, &srv->timeout, msg);
    return 1;
}

static int
general_key(struct load_ctx *l, const char *name, const char *v,
            struct eq_buf *msg)
{
    struct eq_config *cfg = l->cfg;

    if (strcmp(name, "database") == 0)
        return set_path(l, &cfg->general.database, v);
    if (strcmp(name, "timezone") == 0) {
        if (eqtime_zone_valid(v) != 0) {
            buf_printf(msg,
                       "unknown time zone '%s' (an IANA name such as "
                       "Europe/Amsterdam)",
                       v);
            return -1;
        }
        return config_set_str(&cfg->general.timezone, v, &l->nomem);
    }
    if (strcmp(name, "language") == 0)
        return set_language(l, name, v, &cfg->general.language, msg);
    if (strcmp(name, "from") == 0) {
        if (!from_valid(v)) {
            buf_printf(msg,
                       "'from' must be an address or 'Name <address>', "
                       "not '%s'",
                       v);
            return -1;
        }
        return config_set_str(&cfg->general.from, v, &l->nomem);
    }
    if (strcmp(name, "reply_address") == 0) {
        const char *at = strchr(v, '@');
        if (!addr_valid(v, strlen(v)) || memchr(v, '+', (size_t)(at - v))) {
            buf_printf(msg,
                       "'reply_address' must be a bare address "
                       "local@domain without '+' in the local part, "
                       "not '%s'",
                       v);
            return -1;
        }
        return config_set_str(&cfg->general.reply_address, v, &l->nomem);
    }
    if (strcmp(name, "quiet_period") == 0)
        return config_set_int(name, v, 0, 365, &cfg->general.quiet_period, msg);
    if (strcmp(name, "retention_days") == 0)
        return config_set_int(name, v, 0, 36500, &cfg->general.retention_days,
                              msg);
    if (strcmp(name, "campaigns") == 0)
        return set_path(l, &cfg->general.campaigns, v);
    if (strcmp(name, "templates") == 0)
        return set_path(l, &cfg->general.templates, v);
    return 1;
}

static int
digest_key(struct load_ctx *l, const char *name, const char *v,
           struct eq_buf *msg)
{
    struct eq_config *cfg = l->cfg;

    if (strcmp(name, "hr") == 0)
        return set_hr(l, v, msg);
    if (strcmp(name, "weekday") == 0) {
        int d = config_weekday(v);
        if (d == 0) {
            buf_printf(msg,
                       "'weekday' must be a day name (mon … sun, "
                       "ma … zo), not '%s'",
                       v);
            return -1;
        }
        cfg->digest.weekday = d;
        return 0;
    }
    if (strcmp(name, "hour") == 0)
        return config_set_int(name, v, 0, 23, &cfg->digest.hour, msg);
    if (strcmp(name, "language_default") == 0)
        return set_language(l, name, v, &cfg->digest.language_default, msg);
    return 1;
}

static int
load_handler(void *user, const char *section, const char *name,
             const char *value, int lineno, struct eq_buf *msg)
{
    struct load_ctx *l = user;
    struct eq_config *cfg = l->cfg;
    const char *const *keys;
    const char *hint;
    int rc;

    (void)lineno;
    if (strcmp(section, "general") == 0)
        keys = general_keys;
    else if (strcmp(section, "smtp") == 0)
        keys = smtp_keys;
    else if (strcmp(section, "imap") == 0)
        keys = imap_keys;
    else if (strcmp(section, "digest") == 0)
        keys = digest_keys;
    else {
        if (l->bad_section && strcmp(l->bad_section, section) == 0)
            return 0;
        free(l->bad_section);
        l->bad_section = strdup(section);
        hint = config_closest(section, sections);
        if (hint)
            buf_printf(msg, "unknown section [%s] (did you mean [%s]?)",
                       section, hint);
        else
            buf_printf(msg, "unknown section [%s]", section);
        return -1;
    }
    if (keys == general_keys && strcmp(name, "from") == 0)
        l->present |= REQ_FROM;
    else if (keys == general_keys && strcmp(name, "reply_address") == 0)
        l->present |= REQ_REPLY;
    else if ((keys == smtp_keys || keys == imap_keys) &&
             strcmp(name, "url") == 0)
        l->present |= keys == smtp_keys ? REQ_SMTP_URL : REQ_IMAP_URL;
    if (*value == '\0' && strcmp(name, "hr") != 0) {
        int known = 0;
        for (const char *const *k = keys; *k; k++)
            known |= strcmp(*k, name) == 0;
        if (known) {
            buf_printf(msg, "empty value for '%s'", name);
            return -1;
        }
    }
    if (keys == general_keys)
        rc = general_key(l, name, value, msg);
    else if (keys == smtp_keys) {
        rc = server_key(l, &cfg->smtp.srv, 1, name, value, msg);
        if (rc == 1 && strcmp(name, "connections") == 0)
            rc =
                config_set_int(name, value, 1, 16, &cfg->smtp.connections, msg);
        else if (rc == 1 && strcmp(name, "rate") == 0)
            rc = config_set_int(name, value, 0, 1000000, &cfg->smtp.rate, msg);
    } else if (keys == imap_keys) {
        rc = server_key(l, &cfg->imap.srv, 0, name, value, msg);
        if (rc == 1 && strcmp(name, "folder_processed") == 0)
            rc = config_set_str(&cfg->imap.folder_processed, value, &l->nomem);
        else if (rc == 1 && strcmp(name, "folder_bounces") == 0)
            rc = config_set_str(&cfg->imap.folder_bounces, value, &l->nomem);
        else if (rc == 1 && strcmp(name, "folder_auto") == 0)
            rc = config_set_str(&cfg->imap.folder_auto, value, &l->nomem);
        else if (rc == 1 && strcmp(name, "folder_review") == 0)
            rc = config_set_str(&cfg->imap.folder_review, value, &l->nomem);
        else if (rc == 1 && strcmp(name, "batch") == 0)
            rc = config_set_int(name, value, 1, 10000, &cfg->imap.batch, msg);
    } else {
        rc = digest_key(l, name, value, msg);
    }
    if (rc == 1)
        return config_unknown_key(name, section, keys, msg);
    return rc;
}

static void
server_free(struct config_server *s)
{
    free(s->url);
    free(s->user);
    free(s->password_file);
    free(s->password_env);
    free(s->ca_file);
}

void
config_free(struct eq_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    free(cfg->path);
    free(cfg->dir);
    free(cfg->general.database);
    free(cfg->general.timezone);
    free(cfg->general.language);
    free(cfg->general.from);
    free(cfg->general.reply_address);
    free(cfg->general.campaigns);
    free(cfg->general.templates);
    server_free(&cfg->smtp.srv);
    server_free(&cfg->imap.srv);
    free(cfg->imap.folder_processed);
    free(cfg->imap.folder_bounces);
    free(cfg->imap.folder_auto);
    free(cfg->imap.folder_review);
    for (i = 0; i < cfg->digest.n_hr; i++)
        free(cfg->digest.hr[i]);
    free(cfg->digest.hr);
    free(cfg->digest.language_default);
    free(cfg);
}

/* The absolute directory of the file, so resolved paths survive a chdir. */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *raw, *abs;

    if (slash == NULL)
        raw = strdup(".");
    else if (slash == path)
        raw = strdup("/");
    else
        raw = strndup(path, (size_t)(slash - path));
    if (raw == NULL)
        return NULL;
    abs = realpath(raw, NULL);
    if (abs == NULL)
        return raw;
    free(raw);
    return abs;
}

static int
is_dir(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The templates installed beside the binary (PREFIX/bin/enquete →
 * PREFIX/share/enquete/templates), so `make install PREFIX=…` works
 * without a rebuild; else the compiled-in data directory. */
static char *
installed_templates(void)
{
    char exe[PATH_MAX], *slash, *path;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    if (n > 0) {
        exe[n] = '\0';
        if ((slash = strrchr(exe, '/')) != NULL) {
            *slash = '\0';
            if (asprintf(&path, "%s/../share/enquete/templates", exe) < 0)
                return NULL;
            if (is_dir(path))
                return path;
            free(path);
        }
    }
    return strdup(ENQUETE_DATADIR "/templates");
}

static enum eq_err
apply_defaults(struct eq_config *cfg)
{
#define DEF(field, expr)                                                       \
    do {                                                                       \
        if ((field) == NULL && ((field) = (expr)) == NULL)                     \
            return EQ_ERR_NOMEM;                                               \
    } while (0)
    DEF(cfg->general.database, config_resolve(cfg->dir, "data/enquete.db"));
    DEF(cfg->general.timezone, strdup("Europe/Amsterdam"));
    DEF(cfg->general.language, strdup("nl"));
    DEF(cfg->general.campaigns, config_resolve(cfg->dir, "campaigns"));
    if (cfg->general.templates == NULL) {
        char *local = config_resolve(cfg->dir, "templates");
        if (local == NULL)
            return EQ_ERR_NOMEM;
        if (is_dir(local))
            cfg->general.templates = local;
        else {
            free(local);
            DEF(cfg->general.templates, installed_templates());
        }
    }
    DEF(cfg->imap.folder_processed, strdup("Processed"));
    DEF(cfg->imap.folder_bounces, strdup("Bounces"));
    DEF(cfg->imap.folder_auto, strdup("AutoReplies"));
    DEF(cfg->imap.folder_review, strdup("Review"));
    DEF(cfg->digest.language_default, strdup(cfg->general.language));
#undef DEF
    return EQ_OK;
}

enum eq_err
config_load(const char *path, struct eq_config **out, struct eq_buf *diag)
{
    struct load_ctx l = {0};
    struct eq_config *cfg;
    enum eq_err err;
    int missing = 0;

    *out = NULL;
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return EQ_ERR_NOMEM;
    cfg->general.quiet_period = 30;
    cfg->general.retention_days = 730;
    cfg->smtp.srv.timeout = 60;
    cfg->smtp.connections = 1;
    cfg->imap.srv.timeout = 60;
    cfg->imap.batch = 200;
    cfg->digest.weekday = 1;
    cfg->digest.hour = 8;
    cfg->path = strdup(path);
    cfg->dir = dir_of(path);
    if (cfg->path == NULL || cfg->dir == NULL) {
        err = EQ_ERR_NOMEM;
        goto fail;
    }
    l.cfg = cfg;
    err = config_ini_parse(path, load_handler, &l, diag);
    if (l.nomem)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK && err != EQ_ERR_CONFIG)
        goto fail;
#define REQUIRE(bit, key, sect)                                                \
    do {                                                                       \
        if (!(l.present & (bit))) {                                            \
            eq_diag(diag, "%s: missing required key '%s' in [%s]", path, key,  \
                    sect);                                                     \
            missing = 1;                                                       \
        }                                                                      \
    } while (0)
    REQUIRE(REQ_FROM, "from", "general");
    REQUIRE(REQ_REPLY, "reply_address", "general");
    REQUIRE(REQ_SMTP_URL, "url", "smtp");
    REQUIRE(REQ_IMAP_URL, "url", "imap");
#undef REQUIRE
    if (err != EQ_OK || missing) {
        err = EQ_ERR_CONFIG;
        goto fail;
    }
    err = apply_defaults(cfg);
    if (err != EQ_OK)
        goto fail;
    free(l.bad_section);
    *out = cfg;
    return EQ_OK;
fail:
    free(l.bad_section);
    config_free(cfg);
    return err;
}

/* ---- secrets ----------------------------------------------------------- */

static void
strip_newline(char *s)
{
    size_t n = strlen(s);

    if (n > 0 && s[n - 1] == '\n') {
        s[--n] = '\0';
        if (n > 0 && s[n - 1] == '\r')
            s[--n] = '\0';
    }
}

static enum eq_err
read_secret_file(const char *file, char **out, struct eq_buf *diag)
{
    struct eq_buf b = {0};
    struct stat st;
    char chunk[4096];
    enum eq_err err = EQ_OK;
    ssize_t n;
    int fd;

    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        eq_diag(diag, "%s: cannot open: %s", file, strerror(errno));
        return EQ_ERR_NOINPUT;
    }
    /* fstat on the open descriptor: the mode checked is the file read. */
    if (fstat(fd, &st) != 0) {
        eq_diag(diag, "%s: cannot stat: %s", file, strerror(errno));
        err = EQ_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        eq_diag(diag, "%s: password file is not a regular file", file);
        err = EQ_ERR_NOINPUT;
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        eq_diag(diag,
                "%s: password file is accessible by group or others (mode "
                "%04o); run chmod 600 on it",
                file, (unsigned)(st.st_mode & 07777));
        err = EQ_ERR_PERM;
        goto out;
    }
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            eq_diag(diag, "%s: cannot read: %s", file, strerror(errno));
            err = EQ_ERR_IO;
            goto out;
        }
        if (b.len + (size_t)n > 65536) {
            eq_diag(diag, "%s: password file is larger than 64 KiB", file);
            err = EQ_ERR_DATA;
            goto out;
        }
        if (buf_addn(&b, chunk, (size_t)n) != EQ_OK) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
    }
    *out = buf_take(&b);
    if (*out == NULL)
        err = EQ_ERR_NOMEM;
    else
        strip_newline(*out);
out:
    explicit_bzero(chunk, sizeof chunk);
    if (b.s)
        explicit_bzero(b.s, b.cap);
    buf_free(&b);
    close(fd);
    return err;
}

enum eq_err
config_password(const struct config_server *srv, char **out,
                struct eq_buf *diag)
{
    const char *v;

    *out = NULL;
    if (srv->password_file)
        return read_secret_file(srv->password_file, out, diag);
    if (srv->password_env == NULL)
        return EQ_OK;
    v = getenv(srv->password_env);
    if (v == NULL) {
        eq_diag(diag, "environment variable %s (password_env) is not set",
                srv->password_env);
        return EQ_ERR_CONFIG;
    }
    *out = strdup(v);
    if (*out == NULL)
        return EQ_ERR_NOMEM;
    strip_newline(*out);
    return EQ_OK;
}

enum eq_err
config_reply_parts(const struct eq_config *cfg, char **local, char **domain)
{
    const char *addr = cfg->general.reply_address;
    const char *at = addr ? strrchr(addr, '@') : NULL;

    *local = *domain = NULL;
    if (at == NULL || at == addr || at[1] == '\0')
        return EQ_ERR_CONFIG;
    *local = strndup(addr, (size_t)(at - addr));
    *domain = strdup(at + 1);
    if (*local == NULL || *domain == NULL) {
        free(*local);
        free(*domain);
        *local = *domain = NULL;
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}
