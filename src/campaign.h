/*
 * campaign: reads and validates campaigns/NAME.ini (DESIGN.md keys), fills
 * in defaults (the built-in nps/ces/csat metrics) and owns the period grid:
 * which period a local date falls in, and that period's first and last day.
 * It does not touch the database or the clock.
 */
#ifndef CAMPAIGN_H
#define CAMPAIGN_H

#include "eq.h"

enum metric_type { METRIC_NPS, METRIC_CES, METRIC_CSAT };

struct campaign_metric {
    char *id; /* "nps", "ces", "csat", "responsiveness", … */
    enum metric_type type;
    int min, max;                    /* nps 0–10, ces 1–7, csat 1–5 */
    char *label_nl, *label_en;       /* short label, e.g. "Aanbeveling" */
    char *question_nl, *question_en; /* may contain "{{provider}}" */
};

enum cadence_kind { CADENCE_MONTHLY, CADENCE_QUARTERLY, CADENCE_WEEKS };

struct campaign {
    char *file; /* path it was read from */
    char *name; /* [campaign] name; default: file name without .ini */
    char *title_nl, *title_en;
    struct campaign_metric *metrics; /* in asking order, at least one */
    size_t n_metrics;
    char **providers; /* department codes; NULL with providers_all */
    size_t n_providers;
    int providers_all;
    char **customers; /* department codes; NULL with customers_all */
    size_t n_customers;
    int customers_all;                  /* "*" = every other department */
    int providers_line, customers_line; /* where they were set, 0 if not */
    enum cadence_kind cadence;
    int cadence_weeks;             /* N for "every N weeks" */
    eq_day start;                  /* required */
    eq_day end;                    /* 0 = open-ended */
    int target_responses;          /* 30 */
    double expected_response_rate; /* 0.35 */
    unsigned
        send_days; /* bit (weekday-1), Monday = bit 0; default tue,wed,thu */
    int window_start, window_end; /* minutes of the local day, 540–660 */
    char *timezone;   /* default: [general] timezone, set by the caller */
    eq_day *holidays; /* sorted */
    size_t n_holidays;
    int reminder_after; /* days, 3 */
    int max_reminders;  /* 1 */
    int close_after;    /* days, 10 */
    char *language;     /* "employee" | "nl" | "en" */
    int anonymous, anonymity_min, allow_forward, share_actions, confirmation;
};

/* Reads one campaign file; errors as "FILE:LINE: message" in diag
 * (EQ_ERR_CONFIG). default_tz fills timezone when the file has none;
 * relative holiday files resolve against the campaign file's directory. */
enum eq_err campaign_load(const char *path, const char *default_tz,
                          struct campaign **out, struct eq_buf *diag);
/* Every *.ini in dir, sorted by file name. Duplicate names are an error. */
enum eq_err campaign_load_dir(const char *dir, const char *default_tz,
                              struct campaign ***out, size_t *n,
                              struct eq_buf *diag);
void campaign_free(struct campaign *c);
void campaign_free_all(struct campaign **c, size_t n);

const struct campaign_metric *campaign_metric(const struct campaign *c,
                                              const char *id);
const char *campaign_metric_type_name(enum metric_type t);
/* Does the campaign rate provider code / ask customer code? */
int campaign_has_provider(const struct campaign *c, const char *code);
int campaign_has_customer(const struct campaign *c, const char *customer,
                          const char *provider);
int campaign_is_holiday(const struct campaign *c, eq_day day);
/* A send day: a send_days weekday, not a holiday, within start..end. */
int campaign_is_send_day(const struct campaign *c, eq_day day);

struct period {
    char label[16];     /* "2026-11", "2026Q4", "2026W45" */
    eq_day first, last; /* inclusive */
};
/* The period of the grid that contains day (days before start belong to no
 * period: EQ_ERR_NOTFOUND). Weeks: N-week blocks from start, labelled by the
 * ISO year and week of the block's first day. */
enum eq_err campaign_period_of(const struct campaign *c, eq_day day,
                               struct period *out);
/* The period with this label, EQ_ERR_NOTFOUND if not on the grid. */
enum eq_err campaign_period_by_label(const struct campaign *c,
                                     const char *label, struct period *out);

#endif
