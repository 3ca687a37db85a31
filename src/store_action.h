/*
 * store_action: the SQL of the feedback loop — actions that managers record
 * by replying to their digest (numbered per department, as they see them),
 * marking them done, the lists and counts digests and `report --actions`
 * show, and the log of notices that tell raters about them (once per period
 * and person). It reads no mail and decides nothing about what is shown.
 */
#ifndef STORE_ACTION_H
#define STORE_ACTION_H

#include "store.h"

struct store_action {
    int64_t id;
    int64_t department_id;
    int64_t campaign_id;
    int64_t period_id;
    int number; /* per department, from 1; set by store_action_add */
    char *text;
    char *metric; /* metric id or NULL */
    int has_due;
    eq_day due_day;
    int done;
    eq_time created_at;
    eq_time done_at;    /* 0 while open */
    int64_t inbound_id; /* the reply it came from, 0 if none */
    int64_t author_id;  /* the manager, 0 if unknown */
    /* Filled by the readers, ignored on insert: */
    char *department_code;
    char *department_name;
    char *period_label; /* the period whose digest it answered */
};

/* Inserts a with the department's next number (a->number, a->id set). */
enum eq_err store_action_add(struct store *st, struct store_action *a);
/* Marks action number of department done at `at`. EQ_ERR_NOTFOUND if there
 * is no such action; *changed = 0 when it was done already. */
enum eq_err store_action_done(struct store *st, int64_t department_id,
                              int number, eq_time at, int *changed);
/* One action by department and number (EQ_ERR_NOTFOUND if none). */
enum eq_err store_action_get(struct store *st, int64_t department_id,
                             int number, struct store_action *out);

/* Zero fields mean "any". */
enum store_action_state {
    STORE_ACTION_ANY = 0,
    STORE_ACTION_OPEN,
    STORE_ACTION_DONE
};
struct store_action_filter {
    int64_t campaign_id;
    int64_t department_id;
    int64_t period_id; /* the period the action was recorded for */
    enum store_action_state state;
    eq_time done_from;   /* done_at >= this (0: any) */
    eq_time done_before; /* done_at < this (0: any) */
    int64_t inbound_id;  /* recorded from this reply */
    /* The label of that period ("2027Q1"), in any campaign unless
     * campaign_id is set; NULL: any. */
    const char *period_label;
};
/* Fills f from the names `report --actions` takes (NULL: any): campaign
 * name to campaign_id, department code to department_id, and the period
 * label, which must exist (in that campaign, if one is named).
 * EQ_ERR_NOTFOUND, with store_errmsg "no department X", when one does not;
 * the other fields of f are left as they are. */
enum eq_err store_action_filter_names(struct store *st, const char *campaign,
                                      const char *department,
                                      const char *period,
                                      struct store_action_filter *f);
/* Ordered by department name, then number. For the digests: a
 * department's open actions (department_id, state OPEN: age is now -
 * created_at, period_label is where it was created), the actions done in a
 * period (state DONE, done_from/done_before = the period's bounds). */
enum eq_err store_actions(struct store *st, const struct store_action_filter *f,
                          struct store_action **out, size_t *n);
void store_action_clear(struct store_action *a);
void store_actions_free(struct store_action *a, size_t n);

/* Per department (every department, also those without actions), for the
 * HR digest: open and done actions of campaign_id (0 = any). A department
 * with open + done == 0 has no action at all. Ordered by name. */
struct store_action_count {
    int64_t department_id;
    char *code;
    char *name;
    int64_t open, done;
};
enum eq_err store_action_counts(struct store *st, int64_t campaign_id,
                                struct store_action_count **out, size_t *n);
void store_action_counts_free(struct store_action_count *c, size_t n);
/* Ids of the departments that have no action in campaign_id (0 = any). */
enum eq_err store_action_departments_without(struct store *st,
                                             int64_t campaign_id, int64_t **out,
                                             size_t *n);

/* The digest a token belongs to: its period and department (0 for the HR
 * digest). EQ_ERR_NOTFOUND when no digest was logged with it. */
enum eq_err store_action_digest(struct store *st, const char *token,
                                int64_t *period_id, int64_t *department_id);

/* A period by id (store.h reads them by campaign and label only). */
enum eq_err store_action_period(struct store *st, int64_t period_id,
                                struct store_period *out);

/* --- notices to raters ------------------------------------------------- */
/* Periods of campaign_id that have actions, oldest first. */
enum eq_err store_action_periods(struct store *st, int64_t campaign_id,
                                 int64_t **out, size_t *n);
/* Who should hear about the actions of period_id: one row per (employee,
 * department with actions) for employees who answered an invitation of
 * that period about that department with a real score (not n.v.t.), who are
 * active, deliverable and not opted out, and whose notice for the period
 * was not logged yet. Ordered by employee, then department name. The
 * token is the latest such invitation's (for threading and opting out). */
struct store_action_rater {
    int64_t employee_id;
    char *email;
    char *name;
    char *language; /* the employee's, or the invitation's, or NULL */
    int64_t department_id;
    char token[27];
};
enum eq_err store_action_raters(struct store *st, int64_t period_id,
                                struct store_action_rater **out, size_t *n);
void store_action_raters_free(struct store_action_rater *r, size_t n);
/* Logs the notice of (period, employee); *sent = 1 if it was logged
 * before (then nothing changes). */
enum eq_err store_action_notice_log(struct store *st, int64_t period_id,
                                    int64_t employee_id, eq_time at,
                                    int *sent_before);
enum eq_err store_action_notice_sent(struct store *st, int64_t period_id,
                                     int64_t employee_id, int *sent);

#endif
