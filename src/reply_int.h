/*
 * reply_int: what the files of the reply module share — reply.c strips
 * quotes and attributions, reply_sig.c finds greetings and signatures,
 * reply_score.c reads the scores and the comment from what is left, and
 * reply_text.c holds the text helpers they all use. Only reply*.c include
 * it.
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

/* reply_text.c: case folding (ASCII, Latin-1, Cyrillic) and searching. */
unsigned reply_fold_at(const unsigned char *p, size_t avail, size_t *len);
int reply_ci_eq(const char *a, const char *b, size_t n);
size_t reply_trail_space(struct span l);
const char *reply_span_find_last_ci_n(struct span l, const char *needle,
                                      size_t n);
int reply_span_has_ci(struct span l, const char *needle);
/* The ASCII bytes x and y differ even ignoring case: a cheap look that
 * spares the full comparison (and the strlen before it) on most lines. */
static inline int
reply_ascii_differ(unsigned char x, unsigned char y)
{
    /* tolower of the C locale (nothing here calls setlocale), inline */
    if (x >= 'A' && x <= 'Z')
        x = (unsigned char)(x + ('a' - 'A'));
    if (y >= 'A' && y <= 'Z')
        y = (unsigned char)(y + ('a' - 'A'));
    return x != y && x < 0x80 && y < 0x80;
}

/* reply.c: name particles ("van", "de", "von", …), for name lines. */
extern const char *const reply_name_particles[];

/* reply.c: lines [a, b) hold more than blanks, greetings and rules. */
int reply_has_content(const struct span *v, size_t a, size_t b);

/* reply_sig.c: the end of the reply inside lines [a, b): where its
 * signature begins. */
size_t reply_cut_signature(const struct span *v, size_t a, size_t b);

#endif
