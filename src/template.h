/*
 * template: the mustache subset used for every mail and report. Values are a
 * tree of contexts: names map to strings, booleans or lists of contexts.
 *   {{name}}       value, HTML-escaped when rendering HTML
 *   {{{name}}}     value, never escaped
 *   {{#name}}…{{/name}}  list: once per item; string/bool: once if non-empty/true
 *   {{^name}}…{{/name}}  once if missing, false, "" or an empty list
 *   {{! comment}}
 * Names not found in an item are looked up in the enclosing contexts; a name
 * found nowhere is an error (so `campaign check` catches typos).
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

/* Renders text. where names the template in messages ("FILE"); errors are
 * "FILE:LINE: message" in diag and EQ_ERR_DATA. */
enum eq_err template_render(const char *text, const struct tpl_ctx *ctx,
                            int html, const char *where, char **out,
                            struct eq_buf *diag);
/* Reads DIR/LANG/NAME.EXT ("templates", "nl", "invite", "txt"). */
enum eq_err template_load(const char *dir, const char *lang, const char *name,
                          const char *ext, char **text, struct eq_buf *diag);
/* Renders DIR/LANG/NAME.EXT in one go. */
enum eq_err template_render_file(const char *dir, const char *lang,
                                 const char *name, const char *ext,
                                 const struct tpl_ctx *ctx, char **out,
                                 struct eq_buf *diag);

#endif
