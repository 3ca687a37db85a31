#include "eq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum eq_err
grow(struct eq_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1, cap;
    char *p;

    if (need <= b->cap)
        return EQ_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->s, cap);
    if (p == NULL)
        return EQ_ERR_NOMEM;
    b->s = p;
    b->cap = cap;
    return EQ_OK;
}

enum eq_err
buf_addn(struct eq_buf *b, const char *s, size_t n)
{
    if (grow(b, n) != EQ_OK)
        return EQ_ERR_NOMEM;
    if (n > 0)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return EQ_OK;
}

enum eq_err
buf_add(struct eq_buf *b, const char *s)
{
    return buf_addn(b, s, strlen(s));
}

enum eq_err
buf_addc(struct eq_buf *b, char c)
{
    return buf_addn(b, &c, 1);
}

enum eq_err
buf_vprintf(struct eq_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return EQ_ERR_SOFTWARE;
    if (grow(b, (size_t)n) != EQ_OK)
        return EQ_ERR_NOMEM;
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return EQ_OK;
}

enum eq_err
buf_printf(struct eq_buf *b, const char *fmt, ...)
{
    va_list ap;
    enum eq_err err;

    va_start(ap, fmt);
    err = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

const char *
buf_str(const struct eq_buf *b)
{
    return b->s ? b->s : "";
}

void
buf_reset(struct eq_buf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

char *
buf_take(struct eq_buf *b)
{
    char *s = b->s ? b->s : strdup("");

    b->s = NULL;
    b->len = b->cap = 0;
    return s;
}

void
buf_free(struct eq_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
