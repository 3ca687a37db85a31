/* Shared scaffolding for the unit tests: one scratch directory per test,
 * whole-file reads and writes, and diagnostics checks. Header-only, all
 * static, because the Makefile links each tests/test_*.c alone against
 * libenquete.a. Helpers assert on failure instead of returning errors; they
 * must not touch anything outside /tmp and FIXTURES. */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eq.h"

enum { TH_DIR_MAX = 64 };

/* The current scratch directory (one per test: Criterion forks per test). */
static inline char *
th_dir(void)
{
    static char dir[TH_DIR_MAX];

    return dir;
}

/* Makes a fresh /tmp/eq-TAG-XXXXXX directory and returns its path. */
static inline const char *
th_tmpdir(const char *tag)
{
    char *dir = th_dir();

    snprintf(dir, TH_DIR_MAX, "/tmp/eq-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
    return dir;
}

/* nftw() callback for th_rmrf(): removes one entry, children first. */
static inline int
th_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* Removes path and everything below it, never following symlinks. */
static inline void
th_rmrf(const char *path)
{
    nftw(path, th_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Removes the directory th_tmpdir() made. */
static inline void
th_rmtmp(void)
{
    th_rmrf(th_dir());
}

/* Writes text to path (created or truncated). */
static inline void
th_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Writes text to name in the scratch directory and returns the full path
 * (a static buffer: valid until the next call). */
static inline const char *
th_put(const char *name, const char *text)
{
    static char path[256];

    snprintf(path, sizeof path, "%s/%s", th_dir(), name);
    th_write(path, text);
    return path;
}

/* Reads a whole file; NUL-terminated, its length in *len unless len is
 * NULL. The caller frees. */
static inline char *
th_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct eq_buf b = {0};
    char chunk[4096];
    size_t n;

    cr_assert_not_null(f, "cannot read %s", path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert_eq(buf_addn(&b, chunk, n), EQ_OK);
    fclose(f);
    if (len != NULL)
        *len = b.len;
    return buf_take(&b);
}

/* th_slurp() of FIXTURES/rel, e.g. th_fixture("mime/plain.eml", &len). */
static inline char *
th_fixture(const char *rel, size_t *len)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", FIXTURES, rel);
    return th_slurp(path, len);
}

/* Asserts that the diagnostics contain want. */
static inline void
th_assert_has(const struct eq_buf *diag, const char *want)
{
    cr_assert_not_null(strstr(buf_str(diag), want), "diag lacks \"%s\":\n%s",
                       want, buf_str(diag));
}

/* Asserts that the diagnostics contain "FILE:LINE: MSG". */
static inline void
th_assert_at(const struct eq_buf *diag, const char *file, int line,
             const char *msg)
{
    char want[512];

    snprintf(want, sizeof want, "%s:%d: %s", file, line, msg);
    th_assert_has(diag, want);
}

#endif
