/*
 * template: the mustache subset used for every mail and report. Values are a
 * tree of contexts: names map to strings, booleans or lists of contexts.
 *   {{name}}       value, HTML-escaped when rendering HTML
 *   {{{name}}}     value, never escaped
 *   {{#name}}…{{/name}}  list: once per item; string/bool: once if
 * non-empty/true
 *   {{^name}}…{{/name}}  once if missing, false, "" or an empty list
 *   {{! comment}}
 *   {{> name}}     partial: DIR/LANG/name.EXT, else DIR/partials/name.EXT
 *                  (EXT of the including template), with the current context
 * Names not found in an item are looked up in the enclosing contexts; a name
 * found nowhere is an error (so `campaign check` catches typos). It reads
 * template files but knows nothing of mail or of the product's variables.
 */
#ifndef TEMPLATE_H
#define TEMPLATE_H

#include "eq.h"

struct tpl_ctx;

struct tpl_ctx *tpl_ctx_new(void);
void tpl_ctx_free(struct tpl_ctx *ctx);
enum eq_err tpl_set(struct tpl_ctx *ctx, const char *name, const char *value);
enum eq_err tpl_setf(struct tpl_ctx *ctx, const char *name, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));
enum eq_err tpl_set_bool(struct tpl_ctx *ctx, const char *name, int value);
/* Appends a new empty item to list `name` (created if needed) and returns
 * it; the item is owned by ctx. NULL when out of memory. */
struct tpl_ctx *tpl_add_item(struct tpl_ctx *ctx, const char *name);

/* Where a template came from, so its partials can be found: DIR/LANG/NAME.EXT
 * first, then DIR/partials/NAME.EXT; html escaping when ext is "html". */
struct tpl_source {
    const char *dir;  /* "templates" */
    const char *lang; /* "nl" */
    const char *ext;  /* "txt" | "html" */
};

/* Renders text. where names the template in messages ("FILE"); errors are
 * "FILE:LINE: message" in diag and EQ_ERR_DATA. */
enum eq_err template_render(const char *text, const struct tpl_ctx *ctx,
                            int html, const char *where, char **out,
                            struct eq_buf *diag);
/* As template_render, with partials resolved from src (which also gives
 * html mode). Errors inside a partial name the partial's FILE:LINE; a partial
 * that includes itself, directly or not, or nesting deeper than 8 is an
 * error at the including tag. */
enum eq_err template_render_src(const char *text, const struct tpl_ctx *ctx,
                                const struct tpl_source *src, const char *where,
                                char **out, struct eq_buf *diag);
/* Reads DIR/LANG/NAME.EXT ("templates", "nl", "invite", "txt"). */
enum eq_err template_load(const char *dir, const char *lang, const char *name,
                          const char *ext, char **text, struct eq_buf *diag);
/* Renders DIR/LANG/NAME.EXT in one go, partials included. */
enum eq_err template_render_file(const char *dir, const char *lang,
                                 const char *name, const char *ext,
                                 const struct tpl_ctx *ctx, char **out,
                                 struct eq_buf *diag);

/* Checks DIR/LANG/NAME.EXT (partials included) against sample contexts
 * without producing output: every sample is rendered and every branch is
 * visited, including sections no sample opens. A name where a sample really
 * renders must resolve as in template_render; in a branch no sample opens
 * it must exist somewhere in some sample. Every error is reported, once, as
 * FILE:LINE: message; EQ_ERR_DATA when there is any. */
enum eq_err template_check_file(const char *dir, const char *lang,
                                const char *name, const char *ext,
                                const struct tpl_ctx *const *samples,
                                size_t n_samples, struct eq_buf *diag);

/* Appends s with & < > " ' as HTML entities: what {{name}} does in a
 * template, for HTML built outside one. */
enum eq_err template_html_escape(struct eq_buf *b, const char *s);

/* Templates are read once per process; this forgets them (after edits). */
void template_cache_clear(void);

#endif
