/*
 * csvout: one CSV cell as every export writes it — RFC 4180 quoting with the
 * caller's separator, and a leading apostrophe on text a spreadsheet would
 * run as a formula. One place, so the guard is the same in every CSV. It does
 * no I/O and knows nothing of what the cells mean.
 */
#ifndef CSVOUT_H
#define CSVOUT_H

#include "eq.h"

/* Appends s (NULL = empty) to b, then sep, or "\r\n" when last. dec is the
 * decimal mark of the file's language: a plain number in it ("-12",
 * "-12,5" in nl) is left alone, since a spreadsheet reads it as a number. */
enum eq_err csvout_cell(struct eq_buf *b, const char *s, char sep, char dec,
                        int last);
/* ',' for "en", ';' for any other language (Excel in a Dutch locale). */
char csvout_sep(const char *lang);
/* '.' for "en", ',' otherwise. */
char csvout_dec(const char *lang);

#endif
