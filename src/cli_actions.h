/*
 * cli_actions: `report --actions`, the actions managers recorded by replying
 * to their digests, per department with number, period, metric, due date,
 * state and age, as text, JSON (one object per line) or CSV. Only cli*.c
 * include it; it prints to stdout and owns no SQL (store_action does).
 */
#ifndef CLI_ACTIONS_H
#define CLI_ACTIONS_H

struct app;

/* format: "text", "json" or "csv" (others: usage error, 64). Opens the
 * store itself; returns the exit code. */
int cli_report_actions(struct app *a, const char *format);

#endif
