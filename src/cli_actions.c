#include "cli_actions.h"

#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "csvout.h"
#include "eqtime.h"
#include "store_action.h"

/* Whole days from created to now (0 on the day itself). */
static long
age_days(eq_time created, eq_time now)
{
    return now > created ? (long)((now - created) / 86400) : 0;
}

static void
print_text(const struct store_action *v, size_t n, eq_time now, int filtered)
{
    int64_t dept = 0;

    if (n == 0)
        puts(filtered ? "No actions for this selection."
                      : "No actions recorded yet.");
    for (size_t i = 0; i < n; i++) {
        const struct store_action *a = &v[i];
        char due[11] = "-";
        if (a->department_id != dept) {
            printf("%s%s (%s)\n", i ? "\n" : "", a->department_name,
                   a->department_code);
            dept = a->department_id;
        }
        if (a->has_due)
            eqtime_format_day(a->due_day, due);
        printf("  %3d  %-8s %-4s  %4ldd  due %-10s  %s%s%s%s\n", a->number,
               a->period_label, a->done ? "done" : "open",
               age_days(a->created_at, now), due, a->text,
               a->metric ? " [" : "", a->metric ? a->metric : "",
               a->metric ? "]" : "");
    }
}

static void
print_json(const struct store_action *v, size_t n, eq_time now)
{
    for (size_t i = 0; i < n; i++) {
        const struct store_action *a = &v[i];
        char day[11];
        printf("{\"department\":");
        cli_json_str(a->department_code);
        printf(",\"department_name\":");
        cli_json_str(a->department_name);
        printf(",\"number\":%d,\"period\":", a->number);
        cli_json_str(a->period_label);
        printf(",\"text\":");
        cli_json_str(a->text);
        printf(",\"metric\":");
        if (a->metric)
            cli_json_str(a->metric);
        else
            fputs("null", stdout);
        if (a->has_due) {
            eqtime_format_day(a->due_day, day);
            printf(",\"due\":\"%s\"", day);
        } else {
            fputs(",\"due\":null", stdout);
        }
        printf(",\"state\":\"%s\",\"age_days\":%ld}\n",
               a->done ? "done" : "open", age_days(a->created_at, now));
    }
}

/* Managers write the texts: a cell like "=HYPERLINK(…)" must stay text
 * in a spreadsheet (csvout guards it), and the separator follows the
 * language as in the digest CSV. */
static enum eq_err
print_csv(const struct store_action *v, size_t n, eq_time now, const char *lang)
{
    static const char *const head[9] = {
        "department", "department_name", "number",   "period", "metric",
        "due",        "state",           "age_days", "text"};
    char sep = csvout_sep(lang), dec = csvout_dec(lang);
    struct eq_buf b = {0};
    enum eq_err err = EQ_OK;

    for (size_t k = 0; k < 9; k++)
        if (csvout_cell(&b, head[k], sep, dec, k == 8) != EQ_OK)
            err = EQ_ERR_NOMEM;
    for (size_t i = 0; i < n && err == EQ_OK; i++) {
        const struct store_action *a = &v[i];
        char due[11] = "", num[16], age[24];
        if (a->has_due)
            eqtime_format_day(a->due_day, due);
        snprintf(num, sizeof num, "%d", a->number);
        snprintf(age, sizeof age, "%ld", age_days(a->created_at, now));
        const char *cells[9] = {a->department_code,
                                a->department_name,
                                num,
                                a->period_label,
                                a->metric,
                                due,
                                a->done ? "done" : "open",
                                age,
                                a->text};
        for (size_t k = 0; k < 9; k++)
            if (csvout_cell(&b, cells[k], sep, dec, k == 8) != EQ_OK)
                err = EQ_ERR_NOMEM;
    }
    if (err == EQ_OK)
        fputs(buf_str(&b), stdout);
    buf_free(&b);
    return err;
}

int
cli_report_actions(struct app *a, const char *campaign, const char *department,
                   const char *period, const char *format)
{
    struct store_action_filter f;
    struct store_action *v = NULL;
    size_t n = 0;
    enum eq_err err = EQ_OK;
    int rc;

    if (strcmp(format, "html") == 0)
        return cli_usage_error("report --actions: there is no html list of "
                               "actions; use --format text, json or csv");
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
        strcmp(format, "csv") != 0)
        return cli_usage_error("report --actions: --format must be text, "
                               "json or csv, not %s",
                               format);
    if ((rc = cli_need(a, NEED_STORE)) != 0)
        return rc;
    memset(&f, 0, sizeof f);
    if ((err = store_action_filter_names(a->st, campaign, department, period,
                                         &f)) != EQ_OK ||
        (err = store_actions(a->st, &f, &v, &n)) != EQ_OK) {
        eq_diag(&a->diag, "report --actions: %s", store_errmsg(a->st));
        return cli_fail(a, err, "report --actions");
    }
    if (strcmp(format, "json") == 0)
        print_json(v, n, a->now);
    else if (strcmp(format, "csv") == 0)
        err = print_csv(v, n, a->now, a->cfg->general.language);
    else
        print_text(v, n, a->now, campaign || department || period);
    store_actions_free(v, n);
    return err == EQ_OK ? 0 : cli_fail(a, err, "report --actions");
}
