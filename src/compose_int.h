/*
 * compose_int: what the files of the compose module share. compose.c
 * serializes messages and writes mailto links, compose_invite.c renders
 * the invitation and holds the per-invitee state and rendering the other
 * mails reuse, compose_feedback.c the confirmations and feedback-loop
 * mails, compose_check.c the template checks. Only compose*.c include this.
 */
#ifndef COMPOSE_INT_H
#define COMPOSE_INT_H

#include "compose.h"

struct tpl_ctx;

/* One invitee's mail being composed: language, zone, reply address, names
 * and the template variables. */
struct invite_state {
    const struct compose_invite *ci;
    int en;
    const char *lang, *tz, *token;
    char *local, *domain;
    char *name, *first_name;
    struct tpl_ctx *ctx;
    struct tpl_ctx **answer_items; /* to fill in the links once the
                                      subject is known */
    char **answer_bodies;
    size_t n_answers;
};

/* One mail's rendered pieces and ids, owned together. */
struct rendered {
    struct eq_buf where, subject, msgid, irt;
    char *txt, *html, *subj;
    const char *body; /* inside txt */
};

/* --- compose.c -------------------------------------------------------- */

/* EQ_ERR_DATA (and a diag line naming what) when v holds a line break or
 * a control character; NULL is fine. */
enum eq_err compose_check_value(const char *what, const char *v,
                                struct eq_buf *diag);
/* "mailto:LOCAL+TOKEN@DOMAIN?subject=…&body=…", the subject always
 * carrying [#TOKEN]; body may be NULL. */
enum eq_err compose_mailto(const char *local, const char *domain,
                           const char *token, const char *subject,
                           const char *body, char **out);

/* --- compose_invite.c ------------------------------------------------- */

/* The text in the wanted language, else the other one. */
const char *compose_pick(int en, const char *nl_text, const char *en_text);
/* The first given name, newly allocated (NULL when out of memory). */
char *compose_first_name_of(const char *name);
/* Sets lang, and subject to "" until the .txt is rendered. */
enum eq_err compose_page_context(struct tpl_ctx *ctx, const char *lang);

/* Fills st without template variables; free with compose_invite_state_free
 * whatever it returns. */
enum eq_err compose_mail_state_init(struct invite_state *st,
                                    const struct compose_invite *ci,
                                    struct eq_buf *diag);
/* Creates st->ctx with name, first_name, provider and title. */
enum eq_err compose_base_context(struct invite_state *st);
/* compose_mail_state_init plus all variables of an invitation, the
 * links still empty. */
enum eq_err compose_invite_state_init(struct invite_state *st,
                                      const struct compose_invite *ci,
                                      struct eq_buf *diag);
/* Fills the answer, n.v.t. and opt-out links for this subject. */
enum eq_err compose_fill_links(struct invite_state *st, const char *subject);
void compose_invite_state_free(struct invite_state *st);

enum eq_err compose_check_invitee(const struct store_invitation *inv,
                                  const char *dir, struct eq_buf *diag);
/* Renders DIR/LANG/kind.{txt,html} into r, the subject tagged [#token]. */
enum eq_err compose_render_kind(const char *dir, const char *lang,
                                const char *kind, struct tpl_ctx *ctx,
                                const char *token, struct rendered *r,
                                struct eq_buf *diag);
void compose_rendered_free(struct rendered *r);
/* Frees st and r, says out of memory once, returns err. */
enum eq_err compose_mail_done(struct invite_state *st, struct rendered *r,
                              enum eq_err err, struct eq_buf *diag);
/* The message to the invitee of st from r; unsub may be NULL. */
enum eq_err compose_build_to_invitee(const struct invite_state *st,
                                     const struct rendered *r,
                                     const char *unsub, int auto_submitted,
                                     char **out, size_t *len,
                                     char **envelope_from, struct eq_buf *diag);
void compose_outputs_init(char **out, size_t *len, char **envelope_from);

/* --- compose_feedback.c ----------------------------------------------- */

/* The variables of confirmation and optout. */
enum eq_err compose_ack_state_init(struct invite_state *st,
                                   const struct compose_invite *ci,
                                   const struct compose_ack *ca,
                                   struct eq_buf *diag);
/* The template variables of action_ack / action_notice; *out is the
 * caller's on EQ_OK, NULL otherwise. */
enum eq_err compose_action_ack_context(const struct compose_action_ack *a,
                                       int en, struct tpl_ctx **out);
enum eq_err compose_action_notice_context(const struct compose_action_notice *a,
                                          int en, const char *optout,
                                          struct tpl_ctx **out);

#endif
