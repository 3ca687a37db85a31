#include <criterion/criterion.h>

#include "privacy.h"

static struct privacy_grid *
grid(size_t np, size_t nc, const int64_t *counts, unsigned flags)
{
    struct privacy_grid *g = NULL;
    cr_assert_eq(privacy_grid_new(np, nc, counts, 5, flags, &g), EQ_OK);
    cr_assert_not_null(g);
    return g;
}

/* Checks row p cell by cell: '+' shown, '-' hidden, '.' not checked. */
static void
assert_row(const struct privacy_grid *g, size_t p, const char *want)
{
    for (size_t c = 0; want[c] != '\0'; c++)
        if (want[c] != '.')
            cr_assert_eq(privacy_cell_visible(g, p, c) != 0, want[c] == '+',
                         "row %zu cell %zu should be %s", p, c,
                         want[c] == '+' ? "shown" : "hidden");
}

Test(privacy, group_of_exactly_the_minimum_is_shown_one_less_is_not)
{
    /* One provider, two customers of 5 and 7: all shown. */
    int64_t ok[] = {5, 7};
    struct privacy_grid *g = grid(1, 2, ok, 0);
    assert_row(g, 0, "++");
    cr_assert(privacy_total_visible(g, 0));
    cr_assert(privacy_comments_visible(g, 0));
    privacy_grid_free(g);

    /* A provider with 4 respondents in all: nothing of it is shown. */
    int64_t small[] = {4};
    g = grid(1, 1, small, 0);
    assert_row(g, 0, "-");
    cr_assert_not(privacy_total_visible(g, 0));
    cr_assert_not(privacy_comments_visible(g, 0));
    privacy_grid_free(g);
}

Test(privacy, single_small_cell_takes_the_next_smallest_with_it)
{
    /* Row 3, 6, 9, 12 (total 30 shown): the 3 is below the minimum; showing
     * the others and the total would give it away, so the 6 goes too. */
    int64_t c[] = {3, 9, 6, 12};
    struct privacy_grid *g = grid(1, 4, c, 0);
    cr_assert(privacy_total_visible(g, 0));
    assert_row(g, 0, "-+-+");
    cr_assert_not(privacy_cell_secondary(g, 0, 0), "primary, not secondary");
    cr_assert(privacy_cell_secondary(g, 0, 2));
    privacy_grid_free(g);
}

Test(privacy, two_small_cells_that_together_stay_small_are_protected)
{
    /* 2 + 2 = 4 people could still be derived as a group from the total. */
    int64_t c[] = {2, 2, 8, 10};
    struct privacy_grid *g = grid(1, 4, c, 0);
    assert_row(g, 0, "..-+");
    privacy_grid_free(g);

    /* 3 + 4 = 7 hidden together is enough: no secondary suppression. */
    int64_t d[] = {3, 4, 8, 10};
    g = grid(1, 4, d, 0);
    assert_row(g, 0, "..++");
    privacy_grid_free(g);
}

Test(privacy, empty_cells_do_not_protect_a_small_one)
{
    /* A 0 cell hides nothing: the 3 is still total − 10 − 9, so the 9, the
     * next smallest, goes too. */
    int64_t c[] = {0, 3, 10, 9};
    struct privacy_grid *g = grid(1, 4, c, 0);
    assert_row(g, 0, "--+-");
    privacy_grid_free(g);
}

Test(privacy, hidden_row_total_needs_no_secondary_suppression)
{
    /* Total 4 is not shown, so nothing can be subtracted. */
    int64_t c[] = {1, 3};
    struct privacy_grid *g = grid(1, 2, c, 0);
    cr_assert_not(privacy_total_visible(g, 0));
    cr_assert_not(privacy_cell_secondary(g, 0, 0));
    cr_assert_not(privacy_cell_secondary(g, 0, 1));
    privacy_grid_free(g);
}

Test(privacy, column_totals_spread_suppression_until_stable)
{
    /*            c0  c1  c2
     * provider0   3   8  20
     * provider1  10   9  30
     * Rows: p0 hides 3 (primary) and 8 (secondary). With column totals,
     * column c1 then has a single hidden cell (8): 9 goes as well, and
     * column c0 has the single hidden 3: 10 goes. Row p1 then has 10 and 9
     * hidden together (19 ≥ 5): stable. */
    int64_t c[] = {3, 8, 20, 10, 9, 30};
    struct privacy_grid *g = grid(2, 3, c, PRIVACY_COLUMN_TOTALS);
    assert_row(g, 0, "--+");
    assert_row(g, 1, "--+");
    cr_assert(privacy_column_visible(g, 0));
    privacy_grid_free(g);

    /* Without column totals the second row is untouched. */
    g = grid(2, 3, c, 0);
    assert_row(g, 1, "++.");
    cr_assert_not(privacy_column_visible(g, 0));
    privacy_grid_free(g);
}

Test(privacy, out_of_range_and_empty_grids_show_nothing)
{
    struct privacy_grid *g = NULL;
    cr_assert_eq(privacy_grid_new(0, 0, NULL, 5, 0, &g), EQ_OK);
    cr_assert_not(privacy_total_visible(g, 0));
    cr_assert_not(privacy_cell_visible(g, 0, 0));
    privacy_grid_free(g);
    privacy_grid_free(NULL);
}
