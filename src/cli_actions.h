/*
 * cli_actions: `report --actions`, the actions managers recorded by replying
 * to their digests, per department with number, period, metric, due date,
 * state, overdue mark and age, as text, an HTML page, JSON (one object per
 * line) or CSV. Only cli*.c include it; it prints to stdout and owns no SQL
 * (store_action does).
 */
#ifndef CLI_ACTIONS_H
#define CLI_ACTIONS_H

struct app;

/* campaign (name), department (code) and period (label) narrow the list;
 * NULL means any, an unknown one is an error (65). format: "text", "html",
 * "json" or "csv" (others: usage error, 64). Text and HTML speak [general]
 * language (nl unless en) with the digests' words, "verlopen" or "overdue"
 * for an overdue action; JSON and CSV keep English keys and values, and CSV
 * is separated by ';' with nl and ',' with en. a->now is the clock: an open
 * action whose due day is before today (in [general] timezone) is overdue,
 * and age runs to now, or to done_at once done. Opens the store itself;
 * returns the exit code. */
int cli_report_actions(struct app *a, const char *campaign,
                       const char *department, const char *period,
                       const char *format);

#endif
