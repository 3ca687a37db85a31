/*
 * eq: the few things every module shares — the one error enum, a growable
 * string buffer and the time types. Nothing here does I/O or knows the
 * product; modules report details by appending lines to a `struct eq_buf *diag`
 * (which may be NULL) and return an `enum eq_err`.
 */
#ifndef EQ_H
#define EQ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum eq_err {
    EQ_OK = 0,
    EQ_ERR_NOMEM,       /* out of memory */
    EQ_ERR_USAGE,       /* bad command line (exit 64) */
    EQ_ERR_DATA,        /* bad input data (exit 65) */
    EQ_ERR_NOINPUT,     /* input file missing or unreadable (exit 66) */
    EQ_ERR_NOTFOUND,    /* a looked-up thing does not exist (exit 65) */
    EQ_ERR_UNAVAILABLE, /* service or feature not available (exit 69) */
    EQ_ERR_SOFTWARE,    /* internal error (exit 70) */
    EQ_ERR_IO,          /* read/write failed (exit 74) */
    EQ_ERR_TEMP,        /* temporary failure, retry later (exit 75) */
    EQ_ERR_PERM,        /* permission problem (exit 77) */
    EQ_ERR_CONFIG,      /* configuration error (exit 78) */
    EQ_ERR_DB,          /* database error (exit 74) */
    EQ_ERR__COUNT
};

const char *eq_strerror(enum eq_err err);
/* sysexits.h code for an error; 0 for EQ_OK. */
int eq_exit_code(enum eq_err err);

/* Growable NUL-terminated string. A zeroed struct is an empty buffer. */
struct eq_buf {
    char *s;
    size_t len;
    size_t cap;
};

/* Append functions return EQ_ERR_NOMEM or EQ_OK; buf->s is never NULL after
 * a successful append. */
enum eq_err buf_addn(struct eq_buf *b, const char *s, size_t n);
enum eq_err buf_add(struct eq_buf *b, const char *s);
enum eq_err buf_addc(struct eq_buf *b, char c);
enum eq_err buf_printf(struct eq_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum eq_err buf_vprintf(struct eq_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* "" when empty, never NULL. */
const char *buf_str(const struct eq_buf *b);
void buf_reset(struct eq_buf *b);
/* Hands the string to the caller (never NULL, "" when empty) and empties b. */
char *buf_take(struct eq_buf *b);
void buf_free(struct eq_buf *b);

/* Diagnostics: append one line "msg\n" to diag if diag is not NULL. */
void eq_diag(struct eq_buf *diag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* strdup that tolerates NULL (returns NULL for NULL). */
char *eq_strdup(const char *s);
/* Case-insensitive ASCII compare. */
int eq_strcasecmp(const char *a, const char *b);
/* Trim ASCII whitespace both ends, in place; returns s. */
char *eq_trim(char *s);
/* Parse a whole string as a base-10 long within [min,max]; 0 on success. */
int eq_parse_long(const char *s, long min, long max, long *out);

/* Seconds since 1970-01-01T00:00:00Z. */
typedef int64_t eq_time;
/* Civil days since 1970-01-01 (a calendar date with no zone). */
typedef int32_t eq_day;

#endif
