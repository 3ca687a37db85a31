/*
 * privacy: which groups of one (campaign, period) may be shown. Built once
 * from respondent counts of a provider × customer-department grid and then
 * asked by every output, so digest, report and status suppress alike:
 * primary suppression below anonymity_min, and secondary suppression of
 * cells that could be derived by subtracting shown cells from a shown total.
 * It never sees scores and does no I/O.
 */
#ifndef PRIVACY_H
#define PRIVACY_H

#include "eq.h"

struct privacy_grid;

/* Also protect per-customer column totals (across providers): only set it
 * when an output shows such totals. */
#define PRIVACY_COLUMN_TOTALS 1u

/* counts: n_providers × n_customers respondents, row-major (may be NULL when
 * either dimension is 0). A provider's total is the sum of its row. */
enum eq_err privacy_grid_new(size_t n_providers, size_t n_customers,
                             const int64_t *counts, int anonymity_min,
                             unsigned flags, struct privacy_grid **out);
void privacy_grid_free(struct privacy_grid *g);

/* 1 if the cell may be shown. Empty cells (0 respondents) are never shown. */
int privacy_cell_visible(const struct privacy_grid *g, size_t provider,
                         size_t customer);
/* 1 if the provider's total (all its customers pooled) may be shown. */
int privacy_total_visible(const struct privacy_grid *g, size_t provider);
/* 1 if the column total of a customer may be shown (only meaningful with
 * PRIVACY_COLUMN_TOTALS; without it, always 0). */
int privacy_column_visible(const struct privacy_grid *g, size_t customer);
/* Comments of a provider: only with a shown total. */
int privacy_comments_visible(const struct privacy_grid *g, size_t provider);
/* Shown cells of a provider hidden only by secondary suppression. */
int privacy_cell_secondary(const struct privacy_grid *g, size_t provider,
                           size_t customer);
int privacy_anonymity_min(const struct privacy_grid *g);

#endif
