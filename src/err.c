#include "eq.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *text;
    int code;
} errs[EQ_ERR__COUNT] = {
    [EQ_OK] = {"success", 0},
    [EQ_ERR_NOMEM] = {"out of memory", 71},
    [EQ_ERR_USAGE] = {"usage error", 64},
    [EQ_ERR_DATA] = {"bad input data", 65},
    [EQ_ERR_NOINPUT] = {"cannot open input", 66},
    [EQ_ERR_NOTFOUND] = {"not found", 65},
    [EQ_ERR_UNAVAILABLE] = {"not available", 69},
    [EQ_ERR_SOFTWARE] = {"internal error", 70},
    [EQ_ERR_IO] = {"input/output error", 74},
    [EQ_ERR_TEMP] = {"temporary failure", 75},
    [EQ_ERR_PERM] = {"permission denied", 77},
    [EQ_ERR_CONFIG] = {"configuration error", 78},
    [EQ_ERR_DB] = {"database error", 74},
};

const char *
eq_strerror(enum eq_err err)
{
    if ((unsigned)err >= EQ_ERR__COUNT)
        return "unknown error";
    return errs[err].text;
}

int
eq_exit_code(enum eq_err err)
{
    if ((unsigned)err >= EQ_ERR__COUNT)
        return 70;
    return errs[err].code;
}

void
eq_diag(struct eq_buf *diag, const char *fmt, ...)
{
    va_list ap;

    if (diag == NULL)
        return;
    va_start(ap, fmt);
    if (buf_vprintf(diag, fmt, ap) == EQ_OK)
        buf_addc(diag, '\n');
    va_end(ap);
}

char *
eq_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int
eq_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
        if (ca != cb || ca == 0)
            return ca - cb;
    }
}

char *
eq_trim(char *s)
{
    size_t n = strlen(s), i = 0;

    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[i]))
        i++;
    if (i > 0)
        memmove(s, s + i, n - i + 1);
    return s;
}

int
eq_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}
