/*
 * reply_int: what the two files of the reply module share — reply.c strips
 * quotes, attributions and signatures; reply_score.c reads the scores and
 * the comment from what is left. Only reply*.c include it.
 */
#ifndef REPLY_INT_H
#define REPLY_INT_H

#include <stddef.h>

#include "eq.h"

/* One line of the normalized body, without its '\n'. */
struct span {
    const char *s;
    size_t n;
};

enum eq_err reply_emit_lines(struct eq_buf *out, const struct span *v, size_t a,
                             size_t b);
int reply_in_list_ci(struct span w, const char *const *list);
int reply_is_greeting(struct span l);
int reply_is_nbsp(const char *p);
int reply_is_space(char c);
int reply_is_upunct(const char *p);
int reply_is_wordc(const char *p);
/* The character that ends right before p (p > start) belongs to a word;
 * looks at its first byte, so that an NBSP or a dash from general
 * punctuation counts as a separator, as a space does. */
int reply_wordc_before(const char *start, const char *p);
int reply_span_blank(struct span l);
int reply_span_starts_ci(struct span l, const char *prefix);
struct span reply_span_trim(struct span l);
enum eq_err reply_split_lines(const char *text, struct span **out,
                              size_t *n_out);
int reply_starts_ci(const char *s, const char *prefix);

#endif
