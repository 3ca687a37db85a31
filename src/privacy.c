#include "privacy.h"

#include <stdlib.h>

enum cell { CELL_EMPTY, CELL_SHOWN, CELL_PRIMARY, CELL_SECONDARY };

struct privacy_grid {
    size_t np, nc;
    int min;
    unsigned flags;
    int64_t *count;      /* np × nc */
    unsigned char *cell; /* enum cell, np × nc */
    unsigned char *row;  /* provider total shown */
    unsigned char *col;  /* customer column total shown */
};

/* One line of cells (a row or a column) whose total is shown: if the hidden
 * cells can be recovered by subtraction — a single one, or several that
 * together are still fewer than the minimum — hide the smallest shown cell
 * too. Returns 1 if it changed anything. */
static int
protect_line(struct privacy_grid *g, size_t first, size_t stride, size_t len)
{
    int64_t hidden_sum = 0;
    size_t hidden = 0, pick = (size_t)-1;

    for (size_t i = 0; i < len; i++) {
        size_t k = first + i * stride;
        if (g->cell[k] == CELL_PRIMARY || g->cell[k] == CELL_SECONDARY) {
            hidden++;
            hidden_sum += g->count[k];
        } else if (g->cell[k] == CELL_SHOWN &&
                   (pick == (size_t)-1 || g->count[k] < g->count[pick])) {
            pick = k;
        }
    }
    if (hidden == 0 || (hidden > 1 && hidden_sum >= g->min))
        return 0;
    if (pick == (size_t)-1)
        return 0;
    g->cell[pick] = CELL_SECONDARY;
    return 1;
}

enum eq_err
privacy_grid_new(size_t n_providers, size_t n_customers, const int64_t *counts,
                 int anonymity_min, unsigned flags, struct privacy_grid **out)
{
    struct privacy_grid *g;
    size_t cells = n_providers * n_customers;
    int changed;

    *out = NULL;
    if (n_customers != 0 && cells / n_customers != n_providers)
        return EQ_ERR_DATA;
    g = calloc(1, sizeof *g);
    if (g == NULL)
        return EQ_ERR_NOMEM;
    g->np = n_providers;
    g->nc = n_customers;
    g->min = anonymity_min < 1 ? 1 : anonymity_min;
    g->flags = flags;
    g->count = calloc(cells + 1, sizeof *g->count);
    g->cell = calloc(cells + 1, 1);
    g->row = calloc(n_providers + 1, 1);
    g->col = calloc(n_customers + 1, 1);
    if (!g->count || !g->cell || !g->row || !g->col) {
        privacy_grid_free(g);
        return EQ_ERR_NOMEM;
    }
    for (size_t k = 0; k < cells; k++) {
        g->count[k] = counts[k] < 0 ? 0 : counts[k];
        g->cell[k] = g->count[k] == 0        ? CELL_EMPTY
                     : g->count[k] >= g->min ? CELL_SHOWN
                                             : CELL_PRIMARY;
    }
    for (size_t p = 0; p < n_providers; p++) {
        int64_t sum = 0;
        for (size_t c = 0; c < n_customers; c++)
            sum += g->count[p * n_customers + c];
        g->row[p] = sum >= g->min;
    }
    for (size_t c = 0; c < n_customers && (flags & PRIVACY_COLUMN_TOTALS);
         c++) {
        int64_t sum = 0;
        for (size_t p = 0; p < n_providers; p++)
            sum += g->count[p * n_customers + c];
        g->col[c] = sum >= g->min;
    }
    /* Hiding a cell for one line can expose another line; repeat until
     * nothing changes (each pass hides at least one more cell, so this
     * ends). */
    do {
        changed = 0;
        for (size_t p = 0; p < n_providers; p++)
            if (g->row[p])
                changed |= protect_line(g, p * n_customers, 1, n_customers);
        for (size_t c = 0; c < n_customers; c++)
            if (g->col[c])
                changed |= protect_line(g, c, n_customers, n_providers);
    } while (changed);
    *out = g;
    return EQ_OK;
}

void
privacy_grid_free(struct privacy_grid *g)
{
    if (g == NULL)
        return;
    free(g->count);
    free(g->cell);
    free(g->row);
    free(g->col);
    free(g);
}

int
privacy_cell_visible(const struct privacy_grid *g, size_t provider,
                     size_t customer)
{
    if (provider >= g->np || customer >= g->nc)
        return 0;
    return g->cell[provider * g->nc + customer] == CELL_SHOWN;
}

int
privacy_cell_secondary(const struct privacy_grid *g, size_t provider,
                       size_t customer)
{
    if (provider >= g->np || customer >= g->nc)
        return 0;
    return g->cell[provider * g->nc + customer] == CELL_SECONDARY;
}

int
privacy_total_visible(const struct privacy_grid *g, size_t provider)
{
    return provider < g->np && g->row[provider];
}

int
privacy_column_visible(const struct privacy_grid *g, size_t customer)
{
    return customer < g->nc && g->col[customer];
}

int
privacy_comments_visible(const struct privacy_grid *g, size_t provider)
{
    return privacy_total_visible(g, provider);
}

int
privacy_anonymity_min(const struct privacy_grid *g)
{
    return g->min;
}
