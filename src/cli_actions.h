/*
 * cli_actions: `report --actions`, the actions managers recorded by replying
 * to their digests, per department with number, period, metric, due date,
 * state and age, as text, JSON (one object per line) or CSV. Only cli*.c
 * include it; it prints to stdout and owns no SQL (store_action does).
 */
#ifndef CLI_ACTIONS_H
#define CLI_ACTIONS_H

struct app;

/* campaign (name), department (code) and period (label) narrow the list;
 * NULL means any, an unknown one is an error (65). format: "text", "json"
 * or "csv" ("html" and others: usage error, 64); CSV is separated by ';'
 * with [general] language nl and ',' with en. Opens the store itself;
 * returns the exit code. */
int cli_report_actions(struct app *a, const char *campaign,
                       const char *department, const char *period,
                       const char *format);

#endif
