/*
 * template: a small mustache renderer. Text is first cut into tokens (with
 * the "standalone line" rule applied, so section tags alone on a line leave
 * no blank line), then rendered against a stack of contexts.
 */
#include "template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum tok_kind { TOK_TEXT, TOK_VAR, TOK_RAW, TOK_SECTION, TOK_INVERTED };

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
                sigil == '&')
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

        const char *text_end = open, *next = after;
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') {
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

/* --- rendering -------------------------------------------------------- */

struct render {
    const struct parser *p;
    const struct tpl_ctx *stack[32];
    size_t depth;
    int html;
    struct eq_buf out;
};

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

static enum eq_err
add_escaped(struct eq_buf *b, const char *s)
{
    enum eq_err err = EQ_OK;

    for (; *s && err == EQ_OK; s++) {
        switch (*s) {
        case '&':
            err = buf_add(b, "&amp;");
            break;
        case '<':
            err = buf_add(b, "&lt;");
            break;
        case '>':
            err = buf_add(b, "&gt;");
            break;
        case '"':
            err = buf_add(b, "&quot;");
            break;
        case '\'':
            err = buf_add(b, "&#39;");
            break;
        default:
            err = buf_addc(b, *s);
            break;
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

static enum eq_err
render_range(struct render *r, size_t from, size_t to, struct eq_buf *diag)
{
    const struct parser *p = r->p;
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
                eq_diag(diag, "%s:%d: unknown variable '%.*s'", p->where,
                        t->line, (int)t->len, t->s);
                return EQ_ERR_DATA;
            }
            if (v->kind == VAL_LIST) {
                eq_diag(diag, "%s:%d: '%.*s' is a list: use {{#%.*s}}",
                        p->where, t->line, (int)t->len, t->s, (int)t->len,
                        t->s);
                return EQ_ERR_DATA;
            }
            if (v->kind == VAL_BOOL)
                err = buf_add(&r->out, v->boolean ? "true" : "");
            else if (r->html && t->kind == TOK_VAR)
                err = add_escaped(&r->out, v->str);
            else
                err = buf_add(&r->out, v->str);
            break;
        case TOK_INVERTED:
            v = lookup(r, t);
            if (!truthy(v))
                err = render_range(r, i + 1, t->end, diag);
            i = t->end - 1;
            break;
        case TOK_SECTION:
            v = lookup(r, t);
            if (v == NULL) {
                eq_diag(diag, "%s:%d: unknown section '%.*s'", p->where,
                        t->line, (int)t->len, t->s);
                return EQ_ERR_DATA;
            }
            if (v->kind == VAL_LIST) {
                if (r->depth == sizeof(r->stack) / sizeof(r->stack[0])) {
                    eq_diag(diag, "%s:%d: lists nested too deeply", p->where,
                            t->line);
                    return EQ_ERR_DATA;
                }
                for (size_t k = 0; k < v->n_items && err == EQ_OK; k++) {
                    r->stack[r->depth++] = v->items[k];
                    err = render_range(r, i + 1, t->end, diag);
                    r->depth--;
                }
            } else if (truthy(v)) {
                err = render_range(r, i + 1, t->end, diag);
            }
            i = t->end - 1;
            break;
        }
    }
    return err;
}

enum eq_err
template_render(const char *text, const struct tpl_ctx *ctx, int html,
                const char *where, char **out, struct eq_buf *diag)
{
    struct parser p = {text, where ? where : "template", NULL, 0, 0, diag};
    struct render r = {0};
    enum eq_err err;

    *out = NULL;
    err = parse(&p);
    if (err != EQ_OK)
        goto out;
    r.p = &p;
    r.html = html;
    r.stack[r.depth++] = ctx;
    err = render_range(&r, 0, p.n, diag);
    if (err != EQ_OK)
        goto out;
    *out = buf_take(&r.out);
    if (*out == NULL)
        err = EQ_ERR_NOMEM;
out:
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "%s: out of memory", p.where);
    buf_free(&r.out);
    free(p.toks);
    return err;
}

enum eq_err
template_load(const char *dir, const char *lang, const char *name,
              const char *ext, char **text, struct eq_buf *diag)
{
    struct eq_buf path = {0}, data = {0};
    enum eq_err err;
    FILE *f = NULL;
    char chunk[8192];
    size_t n;

    *text = NULL;
    err = buf_printf(&path, "%s/%s/%s.%s", dir, lang, name, ext);
    if (err != EQ_OK)
        goto out;
    f = fopen(path.s, "rb");
    if (f == NULL) {
        eq_diag(diag, "%s: cannot open template: %s", path.s, strerror(errno));
        err = EQ_ERR_NOINPUT;
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((err = buf_addn(&data, chunk, n)) != EQ_OK)
            goto out;
    if (ferror(f)) {
        eq_diag(diag, "%s: read error", path.s);
        err = EQ_ERR_IO;
        goto out;
    }
    if (memchr(buf_str(&data), '\0', data.len) != NULL) {
        eq_diag(diag, "%s: template contains a NUL byte", path.s);
        err = EQ_ERR_DATA;
        goto out;
    }
    *text = buf_take(&data);
out:
    if (f != NULL)
        fclose(f);
    buf_free(&path);
    buf_free(&data);
    return err;
}

static int
html_ext(const char *ext)
{
    return strcmp(ext, "html") == 0 || strcmp(ext, "htm") == 0;
}

enum eq_err
template_render_file(const char *dir, const char *lang, const char *name,
                     const char *ext, const struct tpl_ctx *ctx, char **out,
                     struct eq_buf *diag)
{
    struct eq_buf where = {0};
    char *text = NULL;
    enum eq_err err;

    *out = NULL;
    err = template_load(dir, lang, name, ext, &text, diag);
    if (err != EQ_OK)
        goto out;
    err = buf_printf(&where, "%s/%s/%s.%s", dir, lang, name, ext);
    if (err != EQ_OK)
        goto out;
    err = template_render(text, ctx, html_ext(ext), where.s, out, diag);
out:
    free(text);
    buf_free(&where);
    return err;
}
