/*
 * store: the SQLite database and every SQL statement of enquete. Opens with
 * WAL, foreign keys and a busy timeout, creates the file 0600 in a 0700
 * directory and migrates by PRAGMA user_version. Statements are prepared once
 * per connection and bound, never built from data. Other modules see rows as
 * the plain structs below; sqlite3.h stays inside store.c.
 */
#ifndef STORE_H
#define STORE_H

#include "eq.h"

struct store;

/* --- connection ------------------------------------------------------- */
enum eq_err store_open(const char *path, struct store **out,
                       struct eq_buf *diag);
void store_close(struct store *st);
int store_schema_version(struct store *st); /* PRAGMA user_version */
/* Transactions (BEGIN IMMEDIATE). Not nestable. */
enum eq_err store_begin(struct store *st);
enum eq_err store_commit(struct store *st);
void store_rollback(struct store *st);
/* Small settings kept with the data (table meta). EQ_ERR_NOTFOUND (and
 * *value NULL) for a key never set. */
enum eq_err store_meta_get(struct store *st, const char *key, char **value);
enum eq_err store_meta_set(struct store *st, const char *key,
                           const char *value);
/* The scheduler's seed: random on first use, then kept in the database so
 * `plan` and `run` make the same choices. */
enum eq_err store_seed(struct store *st, uint64_t *seed);
/* A consistent copy of the whole database into a new file at path (which
 * must not exist), for dry runs such as `plan`. */
enum eq_err store_snapshot(struct store *st, const char *path);
/* Last SQLite error text, for messages. */
const char *store_errmsg(struct store *st);

/* --- organisation ----------------------------------------------------- */
struct store_department {
    int64_t id;
    char *code;
    char *name;
};

struct store_employee {
    int64_t id;
    char *email; /* primary address, lowercase */
    char *name;
    int64_t department_id;
    char *department_code; /* filled by the readers */
    char *department_name; /* filled by the readers */
    char *language;        /* "nl", "en" or NULL */
    int active;
    int undeliverable;
    int opted_out;
    int manages;       /* readers: manages their own department */
    eq_time joined_at; /* set on insert only; 0 = a founding member */
};

/* Inserts or updates by code; *changed = 1 if anything was written. */
enum eq_err store_department_upsert(struct store *st, const char *code,
                                    const char *name, int64_t *id,
                                    int *changed);
enum eq_err store_departments(struct store *st, struct store_department **out,
                              size_t *n);
enum eq_err store_department_by_code(struct store *st, const char *code,
                                     struct store_department *out);
void store_department_clear(struct store_department *d);
void store_departments_free(struct store_department *d, size_t n);

/* Inserts or updates by email (case-insensitive) from email, name,
 * department_id, language, active; the undeliverable/opted_out flags are
 * kept on update. *changed = 1 if anything was written. */
enum eq_err store_employee_upsert(struct store *st,
                                  const struct store_employee *e, int64_t *id,
                                  int *changed);
/* Replaces the aliases of an employee. An alias that is another employee's
 * address or alias is EQ_ERR_DATA. */
enum eq_err store_employee_set_aliases(struct store *st, int64_t id,
                                       const char *const *aliases, size_t n,
                                       int *changed);
enum eq_err store_employee_aliases(struct store *st, int64_t id, char ***out,
                                   size_t *n);
/* By primary address or alias, case-insensitive. EQ_ERR_NOTFOUND if none. */
enum eq_err store_employee_find(struct store *st, const char *email,
                                struct store_employee *out);
enum eq_err store_employee_get(struct store *st, int64_t id,
                               struct store_employee *out);
/* All employees, ordered by id. */
enum eq_err store_employees(struct store *st, struct store_employee **out,
                            size_t *n);
enum eq_err store_employee_set_flags(struct store *st, int64_t id, int active,
                                     int undeliverable, int opted_out);
/* Sets whether employee manages department (digest recipient). */
enum eq_err store_manager_set(struct store *st, int64_t department_id,
                              int64_t employee_id, int manages, int *changed);
/* Managers of a department (active employees only). */
enum eq_err store_managers(struct store *st, int64_t department_id,
                           struct store_employee **out, size_t *n);
/* Leavers: cancel every open invitation of inactive employees. */
enum eq_err store_cancel_inactive(struct store *st, int64_t *n);
/* --prune: deactivate every active employee whose id is not in keep. */
enum eq_err store_employees_deactivate_except(struct store *st,
                                              const int64_t *keep, size_t n,
                                              int *changed);
void store_employee_clear(struct store_employee *e);
void store_employees_free(struct store_employee *e, size_t n);
void store_strings_free(char **s, size_t n);

/* --- campaigns and periods ------------------------------------------- */
enum eq_err store_campaign_ensure(struct store *st, const char *name,
                                  int64_t *id);

struct store_period {
    int64_t id;
    int64_t campaign_id;
    char label[16];     /* "2026Q4", "2026-11", "2026W45" */
    eq_day first, last; /* inclusive local dates */
    eq_time closed_at;  /* 0 = open */
    eq_time digest_at;  /* 0 = digest not yet sent */
};

enum eq_err store_period_ensure(struct store *st, int64_t campaign_id,
                                const char *label, eq_day first, eq_day last,
                                int64_t *id);
/* Periods of a campaign, oldest first. */
enum eq_err store_periods(struct store *st, int64_t campaign_id,
                          struct store_period **out, size_t *n);
enum eq_err store_period_by_label(struct store *st, int64_t campaign_id,
                                  const char *label, struct store_period *out);
enum eq_err store_period_set_closed(struct store *st, int64_t id, eq_time t);
enum eq_err store_period_set_digest(struct store *st, int64_t id, eq_time t);

/* --- tokens and invitations ------------------------------------------ */
enum inv_state {
    INV_PLANNED,
    INV_SENDING,
    INV_SENT,
    INV_REMINDED,
    INV_ANSWERED,
    INV_EXPIRED,
    INV_DEFERRED,
    INV_FAILED,
    INV_BOUNCED,
    INV_OPTED_OUT,
    INV_CANCELLED,
    INV__COUNT
};
const char *store_inv_state_name(enum inv_state s);
int store_inv_state_parse(const char *name, enum inv_state *out);

struct store_invitation {
    int64_t id;
    char token[27];
    int64_t campaign_id;
    int64_t period_id;
    int64_t employee_id;         /* 0 once anonymised */
    int64_t rater_department_id; /* the invitee's department when created */
    int64_t provider_department_id;
    char *language; /* "nl" | "en" */
    enum inv_state state;
    eq_time planned_at, sent_at, answered_at, closes_at, next_attempt_at;
    int reminders;
    int attempts;
    char *last_error;
    /* Filled by the readers (joins), ignored on insert: */
    char *campaign;
    char *period;
    char *email;
    char *employee_name;
    char *provider_code;
    char *provider_name;
    int reachable; /* the invitee is active, deliverable, not opted out */
};

/* Inserts the token (kind "invitation") and the invitation; sets inv->id.
 * rater_department_id is taken from the employee when left 0. A token that
 * exists already is EQ_ERR_DATA. */
enum eq_err store_invitation_add(struct store *st,
                                 struct store_invitation *inv);
enum eq_err store_invitation_by_token(struct store *st, const char *token,
                                      struct store_invitation *out);
enum eq_err store_invitation_get(struct store *st, int64_t id,
                                 struct store_invitation *out);

/* Zero fields mean "any". state_mask is a bit mask of (1u << enum inv_state).
 */
struct store_inv_filter {
    int64_t campaign_id;
    int64_t period_id;
    int64_t employee_id;
    unsigned state_mask;
    eq_time planned_before;      /* planned_at <= this */
    eq_time sent_before;         /* sent_at <= this */
    eq_time next_attempt_before; /* next_attempt_at <= this */
    eq_time closes_before;       /* closes_at <= this */
    size_t limit;
};
enum eq_err store_invitations(struct store *st,
                              const struct store_inv_filter *f,
                              struct store_invitation **out, size_t *n);
/* Only the ids of store_invitations, in the same order: 8 bytes a row, for
 * long queues read a page at a time. */
enum eq_err store_invitation_ids(struct store *st,
                                 const struct store_inv_filter *f,
                                 int64_t **out, size_t *n);
/* The rows of these ids (those that still exist), in store_invitations'
 * order. */
enum eq_err store_invitations_by_id(struct store *st, const int64_t *ids,
                                    size_t n_ids, struct store_invitation **out,
                                    size_t *n);
/* Sets state; sets sent_at for SENT, answered_at for ANSWERED, and stores
 * error (may be NULL) in last_error. */
enum eq_err store_invitation_set_state(struct store *st, int64_t id,
                                       enum inv_state state, eq_time at,
                                       const char *error);
/* 4xx: state DEFERRED, attempts+1, next_attempt_at = next. */
enum eq_err store_invitation_defer(struct store *st, int64_t id, eq_time next,
                                   const char *error);
/* A reminder went out: state REMINDED, reminders+1. */
enum eq_err store_invitation_reminded(struct store *st, int64_t id, eq_time at);
void store_invitation_clear(struct store_invitation *inv);
void store_invitations_free(struct store_invitation *inv, size_t n);

/* Token ownership: *kind is "invitation" or "digest" (static string). */
enum eq_err store_token_kind(struct store *st, const char *token,
                             const char **kind);
enum eq_err store_token_add(struct store *st, const char *token,
                            const char *kind, eq_time at);

/* --- scheduler history ------------------------------------------------ */
struct store_pair {
    int64_t a, b; /* meaning depends on the query */
    int64_t n;
    eq_time t;
};
/* Per employee (a) the latest planned_at of any invitation (t). */
enum eq_err store_last_invited(struct store *st, struct store_pair **out,
                               size_t *n);
/* (employee a, provider department b) answered not-applicable at or after
 * since (t = when). */
enum eq_err store_na_blocks(struct store *st, eq_time since,
                            struct store_pair **out, size_t *n);
/* Per provider department (a) of a period: invitations not cancelled (n),
 * and answered ones (b). */
enum eq_err store_period_provider_counts(struct store *st, int64_t period_id,
                                         struct store_pair **out, size_t *n);

/* --- answers ---------------------------------------------------------- */
/* score -1 with not_applicable = 1 for n.v.t. Older answers of the same
 * (invitation, metric) are kept as history and marked superseded. */
enum eq_err store_answer_add(struct store *st, int64_t invitation_id,
                             const char *metric, int score, int not_applicable,
                             eq_time at, int64_t inbound_id);
enum eq_err store_comment_add(struct store *st, int64_t invitation_id,
                              const char *text, eq_time at, int64_t inbound_id);

struct store_score_row {
    int64_t provider_id;
    int64_t rater_department_id;
    int score;
    int64_t n;
};
/* Current (not superseded, not n.v.t.) answers of a metric in a period,
 * counted per provider, rater department and score. */
enum eq_err store_score_counts(struct store *st, int64_t period_id,
                               const char *metric, struct store_score_row **out,
                               size_t *n);
/* Comments of a period for one provider department, oldest first. */
enum eq_err store_comments(struct store *st, int64_t period_id,
                           int64_t provider_id, char ***out, size_t *n);

/* --- inbound mail ----------------------------------------------------- */
struct store_inbound {
    int64_t id;
    char *message_id; /* may be NULL */
    char *sha256;     /* hex of the raw message */
    char *source_key; /* "imap:UIDVALIDITY:UID" or "maildir:NAME" */
    eq_time received_at;
    char *kind;            /* reply | bounce | auto_reply | opt_out */
    char *token;           /* may be NULL */
    int64_t invitation_id; /* 0 if none */
    char *outcome;         /* recorded | review | late | ignored | duplicate */
    char *note;            /* why (for review) */
    char *sender;
    char *subject;
};
/* EQ_OK and *id if a message with this sha256 (or this non-NULL
 * message_id) was recorded before, else EQ_ERR_NOTFOUND. */
enum eq_err store_inbound_find(struct store *st, const char *message_id,
                               const char *sha256, int64_t *id);
enum eq_err store_inbound_add(struct store *st, const struct store_inbound *in,
                              int64_t *id);
/* Inbound mail with outcome "review", oldest first. */
enum eq_err store_review_list(struct store *st, struct store_inbound **out,
                              size_t *n);
/* Sets the outcome, the note (kept when NULL) and the invitation (kept
 * when 0). EQ_ERR_NOTFOUND for an unknown id. */
enum eq_err store_inbound_set_outcome(struct store *st, int64_t id,
                                      const char *outcome, const char *note,
                                      int64_t invitation_id);
enum eq_err store_inbound_get(struct store *st, int64_t id,
                              struct store_inbound *out);
void store_inbound_clear(struct store_inbound *in);
void store_inbounds_free(struct store_inbound *in, size_t n);

/* Where reading mailbox `name` resumes (IMAP). EQ_ERR_NOTFOUND (zeros) if
 * never read. */
enum eq_err store_mailbox_get(struct store *st, const char *name,
                              uint32_t *uidvalidity, uint32_t *last_uid,
                              eq_time *at);
enum eq_err store_mailbox_set(struct store *st, const char *name,
                              uint32_t uidvalidity, uint32_t last_uid,
                              eq_time at);

/* --- digests and runs ------------------------------------------------- */
/* *sent = 1 if (period, recipient) is logged. */
enum eq_err store_digest_sent(struct store *st, int64_t period_id,
                              const char *recipient, int *sent);
enum eq_err store_digest_log(struct store *st, int64_t period_id,
                             const char *recipient, int64_t department_id,
                             const char *token, eq_time at);

enum eq_err store_run_log(struct store *st, const char *command,
                          eq_time started, eq_time finished, int ok,
                          const char *summary);

struct store_status {
    int64_t by_state[INV__COUNT];
    int64_t review;
    int64_t inbound;
    int64_t employees_active;
    eq_time last_run_started, last_run_finished; /* 0 if never */
    int last_run_ok;
    char *last_run_command;
    char *last_run_summary;
    eq_time next_planned; /* earliest planned_at of planned/deferred, 0 */
};
enum eq_err store_status_get(struct store *st, struct store_status *out);
void store_status_clear(struct store_status *s);

#endif
