/*
 * template: a small mustache renderer. Text is first cut into tokens (with
 * the "standalone line" rule applied, so section and partial tags alone on a
 * line leave no blank line), then rendered against a stack of contexts.
 * Partials are parsed into their own token lists, cached per render, and
 * rendered with the including context; check mode walks every branch.
 */
#include "template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

enum val_kind { VAL_STR, VAL_BOOL, VAL_LIST };

struct tpl_val {
    char *name;
    enum val_kind kind;
    char *str;
    int boolean;
    struct tpl_ctx **items;
    size_t n_items, cap_items;
};

struct tpl_ctx {
    struct tpl_val *vals;
    size_t n, cap;
};

struct tpl_ctx *
tpl_ctx_new(void)
{
    return calloc(1, sizeof(struct tpl_ctx));
}

static void
val_clear(struct tpl_val *v)
{
    free(v->str);
    v->str = NULL;
    for (size_t i = 0; i < v->n_items; i++)
        tpl_ctx_free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n_items = v->cap_items = 0;
}

void
tpl_ctx_free(struct tpl_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (size_t i = 0; i < ctx->n; i++) {
        val_clear(&ctx->vals[i]);
        free(ctx->vals[i].name);
    }
    free(ctx->vals);
    free(ctx);
}

static const struct tpl_val *
ctx_find(const struct tpl_ctx *ctx, const char *name, size_t len)
{
    for (size_t i = 0; i < ctx->n; i++)
        if (strlen(ctx->vals[i].name) == len &&
            memcmp(ctx->vals[i].name, name, len) == 0)
            return &ctx->vals[i];
    return NULL;
}

/* The slot for name, emptied; created when missing. */
static struct tpl_val *
ctx_slot(struct tpl_ctx *ctx, const char *name)
{
    struct tpl_val *v = (struct tpl_val *)ctx_find(ctx, name, strlen(name));

    if (v != NULL) {
        val_clear(v);
        return v;
    }
    if (ctx->n == ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap * 2 : 16;
        struct tpl_val *p = realloc(ctx->vals, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        ctx->vals = p;
        ctx->cap = cap;
    }
    v = &ctx->vals[ctx->n];
    memset(v, 0, sizeof(*v));
    v->name = strdup(name);
    if (v->name == NULL)
        return NULL;
    ctx->n++;
    return v;
}

enum eq_err
tpl_set(struct tpl_ctx *ctx, const char *name, const char *value)
{
    char *copy = strdup(value ? value : "");
    struct tpl_val *v;

    if (copy == NULL)
        return EQ_ERR_NOMEM;
    v = ctx_slot(ctx, name);
    if (v == NULL) {
        free(copy);
        return EQ_ERR_NOMEM;
    }
    v->kind = VAL_STR;
    v->str = copy;
    return EQ_OK;
}

enum eq_err
tpl_setf(struct tpl_ctx *ctx, const char *name, const char *fmt, ...)
{
    struct eq_buf b = {0};
    va_list ap;
    enum eq_err err;

    va_start(ap, fmt);
    err = buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (err == EQ_OK)
        err = tpl_set(ctx, name, buf_str(&b));
    buf_free(&b);
    return err;
}

enum eq_err
tpl_set_bool(struct tpl_ctx *ctx, const char *name, int value)
{
    struct tpl_val *v = ctx_slot(ctx, name);

    if (v == NULL)
        return EQ_ERR_NOMEM;
    v->kind = VAL_BOOL;
    v->boolean = value != 0;
    return EQ_OK;
}

struct tpl_ctx *
tpl_add_item(struct tpl_ctx *ctx, const char *name)
{
    struct tpl_val *v = (struct tpl_val *)ctx_find(ctx, name, strlen(name));
    struct tpl_ctx *item;

    if (v == NULL || v->kind != VAL_LIST) {
        v = ctx_slot(ctx, name);
        if (v == NULL)
            return NULL;
        v->kind = VAL_LIST;
    }
    if (v->n_items == v->cap_items) {
        size_t cap = v->cap_items ? v->cap_items * 2 : 8;
        struct tpl_ctx **p = realloc(v->items, cap * sizeof(*p));
        if (p == NULL)
            return NULL;
        v->items = p;
        v->cap_items = cap;
    }
    item = tpl_ctx_new();
    if (item == NULL)
        return NULL;
    v->items[v->n_items++] = item;
    return item;
}

/* --- parsing ---------------------------------------------------------- */

enum tok_kind {
    TOK_TEXT,
    TOK_VAR,
    TOK_RAW,
    TOK_SECTION,
    TOK_INVERTED,
    TOK_PARTIAL
};

struct tok {
    enum tok_kind kind;
    const char *s; /* text, or the tag's name */
    size_t len;
    int line;
    size_t end; /* sections: index of the first token after the section */
};

struct parser {
    const char *text;
    const char *where;
    struct tok *toks;
    size_t n, cap;
    struct eq_buf *diag;
};

static enum eq_err
push_tok(struct parser *p, enum tok_kind kind, const char *s, size_t len,
         int line)
{
    if (kind == TOK_TEXT && len == 0)
        return EQ_OK;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct tok *t = realloc(p->toks, cap * sizeof(*t));
        if (t == NULL)
            return EQ_ERR_NOMEM;
        p->toks = t;
        p->cap = cap;
    }
    p->toks[p->n] = (struct tok){kind, s, len, line, 0};
    p->n++;
    return EQ_OK;
}

static int
count_lines(const char *from, const char *to)
{
    int n = 0;

    for (; from < to; from++)
        if (*from == '\n')
            n++;
    return n;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A tag is standalone when only blanks share its line; then the line's
 * leading blanks and its line end are dropped with the tag. */
static int
standalone(const char *text, const char *tag_start, const char *tag_end,
           const char **line_start, const char **next)
{
    const char *a = tag_start, *b = tag_end;

    while (a > text && is_blank(a[-1]))
        a--;
    if (a > text && a[-1] != '\n')
        return 0;
    while (is_blank(*b))
        b++;
    if (*b == '\r' && b[1] == '\n')
        b += 2;
    else if (*b == '\n')
        b++;
    else if (*b != '\0')
        return 0;
    *line_start = a;
    *next = b;
    return 1;
}

static void
trim_name(const char **s, size_t *len)
{
    while (*len > 0 && (is_blank(**s) || **s == '\n' || **s == '\r')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && (is_blank((*s)[*len - 1]) || (*s)[*len - 1] == '\n' ||
                        (*s)[*len - 1] == '\r'))
        (*len)--;
}

/* Partial names become file names: no directories, no dot files. */
static int
partial_name_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return 0;
    return len > 0;
}

static enum eq_err
parse(struct parser *p)
{
    const char *text = p->text, *pos = text, *open;
    size_t stack[32];
    size_t depth = 0;
    int line = 1;

    while ((open = strstr(pos, "{{")) != NULL) {
        const char *inner = open + 2, *close, *after, *name;
        int tag_line = line + count_lines(pos, open);
        char sigil = *inner;
        size_t nlen;
        enum eq_err err;

        if (sigil == '{') {
            close = strstr(inner + 1, "}}}");
            after = close ? close + 3 : NULL;
            inner++;
        } else {
            close = strstr(inner, "}}");
            after = close ? close + 2 : NULL;
            if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' ||
                sigil == '&' || sigil == '>')
                inner++;
        }
        if (close == NULL) {
            eq_diag(p->diag, "%s:%d: unterminated tag", p->where, tag_line);
            return EQ_ERR_DATA;
        }
        name = inner;
        nlen = (size_t)(close - inner);
        trim_name(&name, &nlen);
        if (sigil != '!' &&
            (nlen == 0 || memchr(name, '{', nlen) || memchr(name, '}', nlen) ||
             memchr(name, '\n', nlen))) {
            eq_diag(p->diag, "%s:%d: malformed tag", p->where, tag_line);
            return EQ_ERR_DATA;
        }
        if (sigil == '>' && !partial_name_ok(name, nlen)) {
            eq_diag(p->diag,
                    "%s:%d: partial name '%.*s' may only hold letters, "
                    "digits, '-' and '_'",
                    p->where, tag_line, (int)nlen, name);
            return EQ_ERR_DATA;
        }

        const char *text_end = open, *next = after;
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' ||
            sigil == '>') {
            const char *ls, *nx;
            if (standalone(text, open, after, &ls, &nx)) {
                text_end = ls;
                next = nx;
            }
        }
        err = push_tok(p, TOK_TEXT, pos, (size_t)(text_end - pos), line);
        if (err != EQ_OK)
            return err;
        line = tag_line;

        switch (sigil) {
        case '!':
            break;
        case '#':
        case '^':
            if (depth == sizeof(stack) / sizeof(stack[0])) {
                eq_diag(p->diag, "%s:%d: sections nested too deeply", p->where,
                        tag_line);
                return EQ_ERR_DATA;
            }
            stack[depth++] = p->n;
            err = push_tok(p, sigil == '#' ? TOK_SECTION : TOK_INVERTED, name,
                           nlen, tag_line);
            break;
        case '/': {
            struct tok *o;
            if (depth == 0) {
                eq_diag(p->diag, "%s:%d: {{/%.*s}} closes no open section",
                        p->where, tag_line, (int)nlen, name);
                return EQ_ERR_DATA;
            }
            o = &p->toks[stack[--depth]];
            if (o->len != nlen || memcmp(o->s, name, nlen) != 0) {
                eq_diag(p->diag,
                        "%s:%d: {{/%.*s}} does not match {{%c%.*s}} of "
                        "line %d",
                        p->where, tag_line, (int)nlen, name,
                        o->kind == TOK_SECTION ? '#' : '^', (int)o->len, o->s,
                        o->line);
                return EQ_ERR_DATA;
            }
            o->end = p->n;
            break;
        }
        case '>':
            err = push_tok(p, TOK_PARTIAL, name, nlen, tag_line);
            break;
        case '{':
        case '&':
            err = push_tok(p, TOK_RAW, name, nlen, tag_line);
            break;
        default:
            err = push_tok(p, TOK_VAR, name, nlen, tag_line);
            break;
        }
        if (err != EQ_OK)
            return err;
        line += count_lines(open, next);
        pos = next;
    }
    if (depth > 0) {
        struct tok *o = &p->toks[stack[depth - 1]];
        eq_diag(p->diag, "%s:%d: section {{%c%.*s}} is not closed", p->where,
                o->line, o->kind == TOK_SECTION ? '#' : '^', (int)o->len, o->s);
        return EQ_ERR_DATA;
    }
    return push_tok(p, TOK_TEXT, pos, strlen(pos), line);
}

/* --- files ------------------------------------------------------------ */

/* Files read once per process while they do not change: every invitation
 * renders the same few templates and partials. A stat() tells a changed
 * file from the cached one. A send stats ~17 paths per mail that way (a
 * sixth of its compose time), so the directories of cached files are
 * watched with inotify: while no event came for its directory an entry is
 * used without a stat. inotify queues an event before the changing call
 * returns, so an edit is still seen by the very next render. Where no watch
 * can be set (no inotify, limits, a directory that does not exist) every
 * use stats as before. */
struct cached {
    struct cached *next;
    char *path;
    char *text; /* NULL: the file does not exist */
    struct timespec mtime;
    off_t size;
    int wd;    /* watch of the file's directory, -1 = none */
    int fresh; /* stat'ed since the last event for wd */
};
static struct cached *cache;
static int ino_fd = -2; /* -2: not opened yet, -1: unavailable */

void
template_cache_clear(void)
{
    while (cache) {
        struct cached *c = cache;
        cache = c->next;
        free(c->path);
        free(c->text);
        free(c);
    }
    if (ino_fd >= 0)
        close(ino_fd); /* drops every watch with it */
    ino_fd = -2;
}

/* Every entry needs a stat again. */
static void
cache_stale(void)
{
    for (struct cached *c = cache; c; c = c->next)
        c->fresh = 0;
}

/* Reads the events queued so far; any event in a directory makes its
 * entries stale. A lost queue (overflow) or a read error makes all stale
 * and stops trusting inotify. */
static void
watch_drain(void)
{
    char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    if (ino_fd < 0)
        return;
    while ((n = read(ino_fd, ev, sizeof ev)) > 0) {
        for (char *p = ev; p < ev + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            if (e->mask & IN_Q_OVERFLOW) {
                cache_stale();
            } else {
                /* Any event: the watch may have gone (IN_IGNORED) too, so
                 * the next load sets it again. */
                for (struct cached *c = cache; c; c = c->next)
                    if (c->wd == e->wd)
                        c->fresh = 0;
            }
            p += sizeof *e + e->len;
        }
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        cache_stale();
        close(ino_fd);
        ino_fd = -1;
    }
}

/* The watch on path's directory, set now; -1 when none can be set. */
static int
watch_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    int wd;

    if (ino_fd == -2)
        ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ino_fd < 0) {
        ino_fd = -1;
        return -1;
    }
    dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
                : strdup(".");
    if (dir == NULL)
        return -1;
    wd = inotify_add_watch(ino_fd, dir,
                           IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE |
                               IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                               IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
    free(dir);
    return wd < 0 ? -1 : wd;
}

static enum eq_err read_file(const char *path, char **text, int *missing,
                             struct eq_buf *diag);

/* Reads path whole. A missing file is EQ_ERR_NOINPUT with errno kept, so
 * callers that try several places can tell "absent" from "unreadable". */
static enum eq_err
read_text(const char *path, char **text, int *missing, struct eq_buf *diag)
{
    struct cached *c;
    struct stat sb;
    int exists, gone = 0, wd;
    enum eq_err err;

    watch_drain();
    for (c = cache; c; c = c->next)
        if (strcmp(c->path, path) == 0)
            break;
    if (c && c->fresh && c->wd >= 0)
        goto hit;
    /* The watch comes before the stat: a change after it is an event. */
    wd = watch_dir_of(path);
    exists = stat(path, &sb) == 0;
    if (c) {
        c->wd = wd;
        c->fresh = 0; /* until the text below is known to match */
    }
    if (c && (exists != (c->text != NULL) ||
              (exists &&
               (sb.st_size != c->size || sb.st_mtim.tv_sec != c->mtime.tv_sec ||
                sb.st_mtim.tv_nsec != c->mtime.tv_nsec)))) {
        free(c->text); /* changed since: read again */
        c->text = NULL;
        c->size = -1;
    } else if (c) {
        c->fresh = wd >= 0;
        goto hit;
    }
    {
        char *t = NULL;
        err = read_file(path, &t, &gone, NULL);
        if (err != EQ_OK && !gone) /* unreadable: report, don't remember */
            return read_file(path, text, missing, diag);
        if (c == NULL) {
            if ((c = calloc(1, sizeof *c)) == NULL ||
                (c->path = strdup(path)) == NULL) {
                free(c);
                free(t);
                return EQ_ERR_NOMEM;
            }
            c->next = cache;
            cache = c;
        }
        c->wd = wd;
        c->fresh = wd >= 0;
        c->text = t;
        c->size = exists ? sb.st_size : -1;
        if (exists)
            c->mtime = sb.st_mtim;
    }
hit:
    *text = NULL;
    if (missing != NULL)
        *missing = c->text == NULL;
    if (c->text == NULL) {
        if (missing == NULL)
            eq_diag(diag, "%s: cannot open template: %s", path,
                    strerror(ENOENT));
        return EQ_ERR_NOINPUT;
    }
    return (*text = strdup(c->text)) ? EQ_OK : EQ_ERR_NOMEM;
}

static enum eq_err
read_file(const char *path, char **text, int *missing, struct eq_buf *diag)
{
    struct eq_buf data = {0};
    enum eq_err err = EQ_OK;
    FILE *f;
    char chunk[8192];
    size_t n;

    *text = NULL;
    if (missing != NULL)
        *missing = 0;
    f = fopen(path, "rb");
    if (f == NULL) {
        if (missing != NULL && errno == ENOENT) {
            *missing = 1;
            return EQ_ERR_NOINPUT;
        }
        eq_diag(diag, "%s: cannot open template: %s", path, strerror(errno));
        return EQ_ERR_NOINPUT;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((err = buf_addn(&data, chunk, n)) != EQ_OK)
            goto out;
    if (ferror(f)) {
        eq_diag(diag, "%s: read error", path);
        err = EQ_ERR_IO;
        goto out;
    }
    if (memchr(buf_str(&data), '\0', data.len) != NULL) {
        eq_diag(diag, "%s: template contains a NUL byte", path);
        err = EQ_ERR_DATA;
        goto out;
    }
    *text = buf_take(&data);
out:
    fclose(f);
    buf_free(&data);
    return err;
}

static int
html_ext(const char *ext)
{
    return ext != NULL && (strcmp(ext, "html") == 0 || strcmp(ext, "htm") == 0);
}

/* --- rendering -------------------------------------------------------- */

#define PARTIAL_DEPTH 8

/* A partial, loaded and parsed once per render call however often it is
 * included (answer buttons repeat it per scale value). */
struct partial {
    char *name;
    char *path;
    char *text;
    struct parser p;
    enum eq_err err; /* load or parse failure, already reported */
};

struct render {
    const struct tpl_source *src;
    int html;
    const struct tpl_ctx *stack[32];
    size_t depth;
    struct eq_buf out;
    struct eq_buf *diag;
    struct partial **cache;
    size_t n_cache;
    const char *active[PARTIAL_DEPTH + 1]; /* paths being rendered */
    size_t n_active;
    /* Check mode: every branch is visited, errors are collected (once each)
     * instead of stopping the render. */
    int check;
    const struct tpl_ctx *const *samples;
    size_t n_samples;
    int forced; /* > 0 inside a branch no sample value would take */
    struct eq_buf errors;
    int n_errors;
};

static void
partial_free(struct partial *pt)
{
    if (pt == NULL)
        return;
    free(pt->name);
    free(pt->path);
    free(pt->text);
    free(pt->p.toks);
    free(pt);
}

static void
render_free(struct render *r)
{
    for (size_t i = 0; i < r->n_cache; i++)
        partial_free(r->cache[i]);
    free(r->cache);
    buf_free(&r->out);
    buf_free(&r->errors);
}

/* Reports one template error. Outside check mode it ends the render;
 * in check mode it is kept (once) and the walk goes on. */
static enum eq_err report(struct render *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum eq_err
report(struct render *r, const char *fmt, ...)
{
    struct eq_buf line = {0};
    va_list ap;
    enum eq_err err;

    va_start(ap, fmt);
    err = buf_vprintf(&line, fmt, ap);
    va_end(ap);
    if (err == EQ_OK)
        err = buf_addc(&line, '\n');
    if (err != EQ_OK) {
        buf_free(&line);
        return EQ_ERR_NOMEM;
    }
    if (!r->check) {
        if (r->diag != NULL)
            buf_add(r->diag, line.s);
        buf_free(&line);
        return EQ_ERR_DATA;
    }
    /* The same line can come from every list item and every sample. */
    {
        const char *e = buf_str(&r->errors), *hit = e;
        int seen = 0;
        while ((hit = strstr(hit, line.s)) != NULL) {
            if (hit == e || hit[-1] == '\n') {
                seen = 1;
                break;
            }
            hit++;
        }
        if (!seen) {
            r->n_errors++;
            err = buf_add(&r->errors, line.s);
        }
    }
    buf_free(&line);
    return err;
}

static const struct tpl_val *
lookup(const struct render *r, const struct tok *t)
{
    for (size_t i = r->depth; i-- > 0;) {
        const struct tpl_val *v = ctx_find(r->stack[i], t->s, t->len);
        if (v != NULL)
            return v;
    }
    return NULL;
}

/* Is name a value anywhere in ctx, at any depth? */
static int
tree_has(const struct tpl_ctx *ctx, const char *name, size_t len)
{
    for (size_t i = 0; i < ctx->n; i++) {
        const struct tpl_val *v = &ctx->vals[i];
        if (strlen(v->name) == len && memcmp(v->name, name, len) == 0)
            return 1;
        for (size_t k = 0; k < v->n_items; k++)
            if (tree_has(v->items[k], name, len))
                return 1;
    }
    return 0;
}

/* An unknown name in check mode. Where a sample renders the branch the
 * name must resolve as in a real render; in a branch no sample takes it
 * need only exist in some sample, so typos are caught without inventing
 * values for every branch. */
static int
check_unknown(const struct render *r, const struct tok *t)
{
    if (!r->forced)
        return 1;
    for (size_t i = 0; i < r->n_samples; i++)
        if (tree_has(r->samples[i], t->s, t->len))
            return 0;
    return 1;
}

enum eq_err
template_html_escape(struct eq_buf *b, const char *s)
{
    enum eq_err err = EQ_OK;

    while (*s && err == EQ_OK) {
        /* Runs without a special character go in at once. */
        size_t n = strcspn(s, "&<>\"'");
        const char *rep = NULL;
        if (n > 0)
            err = buf_addn(b, s, n);
        s += n;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            break;
        }
        if (rep != NULL && err == EQ_OK) {
            err = buf_add(b, rep);
            s++;
        }
    }
    return err;
}

static int
truthy(const struct tpl_val *v)
{
    if (v == NULL)
        return 0;
    switch (v->kind) {
    case VAL_STR:
        return v->str[0] != '\0';
    case VAL_BOOL:
        return v->boolean;
    case VAL_LIST:
        return v->n_items > 0;
    }
    return 0;
}

static enum eq_err render_range(struct render *r, const struct parser *p,
                                size_t from, size_t to);

/* Finds DIR/LANG/NAME.EXT, else DIR/partials/NAME.EXT; loads and parses it
 * once. *pt is NULL when it failed (already reported). */
static enum eq_err
partial_get(struct render *r, const struct parser *p, const struct tok *t,
            struct partial **out)
{
    const struct tpl_source *src = r->src;
    struct partial *pt = NULL, **grown;
    struct eq_buf a = {0}, b = {0};
    enum eq_err err;
    int missing = 0;

    *out = NULL;
    for (size_t i = 0; i < r->n_cache; i++)
        if (strlen(r->cache[i]->name) == t->len &&
            memcmp(r->cache[i]->name, t->s, t->len) == 0) {
            *out = r->cache[i]->err == EQ_OK ? r->cache[i] : NULL;
            return r->cache[i]->err == EQ_OK || r->check ? EQ_OK
                                                         : r->cache[i]->err;
        }
    if (src == NULL || src->dir == NULL || src->lang == NULL ||
        src->ext == NULL)
        return report(r,
                      "%s:%d: partial '%.*s': no template directory to "
                      "load it from",
                      p->where, t->line, (int)t->len, t->s);
    pt = calloc(1, sizeof(*pt));
    grown = realloc(r->cache, (r->n_cache + 1) * sizeof(*grown));
    if (pt == NULL || grown == NULL) {
        free(pt);
        if (grown != NULL)
            r->cache = grown;
        return EQ_ERR_NOMEM;
    }
    r->cache = grown;
    r->cache[r->n_cache++] = pt;
    pt->name = strndup(t->s, t->len);
    if (pt->name == NULL ||
        buf_printf(&a, "%s/%s/%.*s.%s", src->dir, src->lang, (int)t->len, t->s,
                   src->ext) != EQ_OK ||
        buf_printf(&b, "%s/partials/%.*s.%s", src->dir, (int)t->len, t->s,
                   src->ext) != EQ_OK) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    err = read_text(a.s, &pt->text, &missing, r->diag);
    if (err == EQ_ERR_NOINPUT && missing) {
        pt->path = buf_take(&b);
        err = read_text(pt->path, &pt->text, &missing, r->diag);
        if (err == EQ_ERR_NOINPUT && missing) {
            pt->err = EQ_ERR_DATA;
            err = report(r, "%s:%d: partial '%.*s' not found (%s, %s)",
                         p->where, t->line, (int)t->len, t->s, a.s, pt->path);
            goto out;
        }
    } else {
        pt->path = buf_take(&a);
    }
    if (pt->path == NULL && err == EQ_OK)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK) {
        pt->err = err;
        if (r->check && err != EQ_ERR_NOMEM) {
            r->n_errors++;
            err = EQ_OK;
        }
        goto out;
    }
    pt->p = (struct parser){pt->text, pt->path, NULL, 0, 0, NULL};
    pt->p.diag = r->check ? &r->errors : r->diag;
    err = parse(&pt->p);
    if (err == EQ_ERR_DATA) {
        pt->err = err;
        if (r->check) {
            r->n_errors++;
            err = EQ_OK;
        }
        goto out;
    }
    if (err == EQ_OK)
        *out = pt;
out:
    buf_free(&a);
    buf_free(&b);
    return err;
}

static enum eq_err
render_partial(struct render *r, const struct parser *p, const struct tok *t)
{
    struct partial *pt;
    enum eq_err err;

    if (r->n_active > PARTIAL_DEPTH)
        return report(r,
                      "%s:%d: partial '%.*s': partials nested deeper "
                      "than %d",
                      p->where, t->line, (int)t->len, t->s, PARTIAL_DEPTH);
    err = partial_get(r, p, t, &pt);
    if (err != EQ_OK || pt == NULL)
        return err;
    for (size_t i = 0; i < r->n_active; i++)
        if (strcmp(r->active[i], pt->path) == 0)
            return report(r, "%s:%d: partial '%.*s' includes itself", p->where,
                          t->line, (int)t->len, t->s);
    r->active[r->n_active++] = pt->path;
    err = render_range(r, &pt->p, 0, pt->p.n);
    r->n_active--;
    return err;
}

static enum eq_err
render_section(struct render *r, const struct parser *p, size_t i,
               const struct tpl_val *v)
{
    const struct tok *t = &p->toks[i];
    enum eq_err err = EQ_OK;

    if (v != NULL && v->kind == VAL_LIST && v->n_items > 0) {
        if (r->depth == sizeof(r->stack) / sizeof(r->stack[0]))
            return report(r, "%s:%d: lists nested too deeply", p->where,
                          t->line);
        for (size_t k = 0; k < v->n_items && err == EQ_OK; k++) {
            r->stack[r->depth++] = v->items[k];
            err = render_range(r, p, i + 1, t->end);
            r->depth--;
        }
        return err;
    }
    if (truthy(v))
        return render_range(r, p, i + 1, t->end);
    if (!r->check)
        return EQ_OK;
    r->forced++;
    err = render_range(r, p, i + 1, t->end);
    r->forced--;
    return err;
}

static enum eq_err
render_range(struct render *r, const struct parser *p, size_t from, size_t to)
{
    enum eq_err err = EQ_OK;

    for (size_t i = from; i < to && err == EQ_OK; i++) {
        const struct tok *t = &p->toks[i];
        const struct tpl_val *v;

        switch (t->kind) {
        case TOK_TEXT:
            err = buf_addn(&r->out, t->s, t->len);
            break;
        case TOK_VAR:
        case TOK_RAW:
            v = lookup(r, t);
            if (v == NULL) {
                if (!r->check || check_unknown(r, t))
                    err = report(r, "%s:%d: unknown variable '%.*s'", p->where,
                                 t->line, (int)t->len, t->s);
                break;
            }
            if (v->kind == VAL_LIST) {
                err = report(r, "%s:%d: '%.*s' is a list: use {{#%.*s}}",
                             p->where, t->line, (int)t->len, t->s, (int)t->len,
                             t->s);
                break;
            }
            if (v->kind == VAL_BOOL)
                err = buf_add(&r->out, v->boolean ? "true" : "");
            else if (r->html && t->kind == TOK_VAR)
                err = template_html_escape(&r->out, v->str);
            else
                err = buf_add(&r->out, v->str);
            break;
        case TOK_PARTIAL:
            err = render_partial(r, p, t);
            break;
        case TOK_INVERTED:
            v = lookup(r, t);
            if (!truthy(v)) {
                err = render_range(r, p, i + 1, t->end);
            } else if (r->check) {
                r->forced++;
                err = render_range(r, p, i + 1, t->end);
                r->forced--;
            }
            i = t->end - 1;
            break;
        case TOK_SECTION:
            v = lookup(r, t);
            if (v == NULL) {
                if (!r->check || check_unknown(r, t))
                    err = report(r, "%s:%d: unknown section '%.*s'", p->where,
                                 t->line, (int)t->len, t->s);
                if (err != EQ_OK)
                    return err;
            }
            err = render_section(r, p, i, v);
            i = t->end - 1;
            break;
        }
    }
    return err;
}

/* The one render path: normal (ctxs[0] only, stops at the first error) or
 * check mode (every sample, every branch, all errors). */
static enum eq_err
render_text(const char *text, const struct tpl_ctx *const *ctxs, size_t n,
            int html, const struct tpl_source *src, const char *where,
            int check, char **out, struct eq_buf *diag)
{
    struct parser p = {text, where ? where : "template", NULL, 0, 0, diag};
    struct render r = {0};
    enum eq_err err;

    if (out != NULL)
        *out = NULL;
    r.src = src;
    r.html = html;
    r.diag = diag;
    r.check = check;
    r.samples = ctxs;
    r.n_samples = n;
    err = parse(&p);
    if (err != EQ_OK)
        goto out;
    r.active[r.n_active++] = p.where;
    for (size_t i = 0; i < n && err == EQ_OK; i++) {
        r.depth = 0;
        r.stack[r.depth++] = ctxs[i];
        buf_reset(&r.out);
        err = render_range(&r, &p, 0, p.n);
    }
    if (err != EQ_OK)
        goto out;
    if (check) {
        if (r.n_errors > 0) {
            if (diag != NULL && r.errors.len > 0)
                buf_add(diag, r.errors.s);
            err = EQ_ERR_DATA;
        }
        goto out;
    }
    *out = buf_take(&r.out);
    if (*out == NULL)
        err = EQ_ERR_NOMEM;
out:
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "%s: out of memory", p.where);
    render_free(&r);
    free(p.toks);
    return err;
}

enum eq_err
template_render(const char *text, const struct tpl_ctx *ctx, int html,
                const char *where, char **out, struct eq_buf *diag)
{
    return render_text(text, &ctx, 1, html, NULL, where, 0, out, diag);
}

enum eq_err
template_render_src(const char *text, const struct tpl_ctx *ctx,
                    const struct tpl_source *src, const char *where, char **out,
                    struct eq_buf *diag)
{
    return render_text(text, &ctx, 1, html_ext(src ? src->ext : NULL), src,
                       where, 0, out, diag);
}

static enum eq_err
template_path(const char *dir, const char *lang, const char *name,
              const char *ext, struct eq_buf *path)
{
    return buf_printf(path, "%s/%s/%s.%s", dir, lang, name, ext);
}

enum eq_err
template_load(const char *dir, const char *lang, const char *name,
              const char *ext, char **text, struct eq_buf *diag)
{
    struct eq_buf path = {0};
    enum eq_err err;

    *text = NULL;
    err = template_path(dir, lang, name, ext, &path);
    if (err == EQ_OK)
        err = read_text(path.s, text, NULL, diag);
    buf_free(&path);
    return err;
}

static enum eq_err
render_file(const char *dir, const char *lang, const char *name,
            const char *ext, const struct tpl_ctx *const *ctxs, size_t n,
            int check, char **out, struct eq_buf *diag)
{
    struct tpl_source src = {dir, lang, ext};
    struct eq_buf where = {0};
    char *text = NULL;
    enum eq_err err;

    if (out != NULL)
        *out = NULL;
    err = template_path(dir, lang, name, ext, &where);
    if (err == EQ_OK)
        err = read_text(where.s, &text, NULL, diag);
    if (err == EQ_OK)
        err = render_text(text, ctxs, n, html_ext(ext), &src, where.s, check,
                          out, diag);
    free(text);
    buf_free(&where);
    return err;
}

enum eq_err
template_render_file(const char *dir, const char *lang, const char *name,
                     const char *ext, const struct tpl_ctx *ctx, char **out,
                     struct eq_buf *diag)
{
    return render_file(dir, lang, name, ext, &ctx, 1, 0, out, diag);
}

enum eq_err
template_check_file(const char *dir, const char *lang, const char *name,
                    const char *ext, const struct tpl_ctx *const *samples,
                    size_t n_samples, struct eq_buf *diag)
{
    if (n_samples == 0) {
        eq_diag(diag, "%s/%s/%s.%s: no sample to check against", dir, lang,
                name, ext);
        return EQ_ERR_SOFTWARE;
    }
    return render_file(dir, lang, name, ext, samples, n_samples, 1, NULL, diag);
}
