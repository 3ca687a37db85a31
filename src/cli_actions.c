#include "cli_actions.h"

#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "eqtime.h"
#include "store_action.h"

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or break. */
static void
csv_field(const char *v, int last)
{
    v = v ? v : "";
    if (strpbrk(v, ",\"\r\n") == NULL) {
        fputs(v, stdout);
    } else {
        putchar('"');
        for (; *v; v++) {
            if (*v == '"')
                putchar('"');
            putchar(*v);
        }
        putchar('"');
    }
    putchar(last ? '\n' : ',');
}

/* Whole days from created to now (0 on the day itself). */
static long
age_days(eq_time created, eq_time now)
{
    return now > created ? (long)((now - created) / 86400) : 0;
}

static void
print_text(const struct store_action *v, size_t n, eq_time now)
{
    int64_t dept = 0;

    if (n == 0)
        puts("No actions recorded yet.");
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

static void
print_csv(const struct store_action *v, size_t n, eq_time now)
{
    puts("department,department_name,number,period,metric,due,state,"
         "age_days,text");
    for (size_t i = 0; i < n; i++) {
        const struct store_action *a = &v[i];
        char due[11] = "", num[16], age[24];
        if (a->has_due)
            eqtime_format_day(a->due_day, due);
        snprintf(num, sizeof num, "%d", a->number);
        snprintf(age, sizeof age, "%ld", age_days(a->created_at, now));
        csv_field(a->department_code, 0);
        csv_field(a->department_name, 0);
        csv_field(num, 0);
        csv_field(a->period_label, 0);
        csv_field(a->metric, 0);
        csv_field(due, 0);
        csv_field(a->done ? "done" : "open", 0);
        csv_field(age, 0);
        csv_field(a->text, 1);
    }
}

int
cli_report_actions(struct app *a, const char *format)
{
    struct store_action *v = NULL;
    size_t n = 0;
    enum eq_err err;
    int rc;

    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 &&
        strcmp(format, "csv") != 0)
        return cli_usage_error("report --actions: --format must be text, "
                               "json or csv, not %s",
                               format);
    if ((rc = cli_need(a, NEED_STORE)) != 0)
        return rc;
    if ((err = store_actions(a->st, NULL, &v, &n)) != EQ_OK)
        return cli_fail(a, err, "report --actions");
    if (strcmp(format, "json") == 0)
        print_json(v, n, a->now);
    else if (strcmp(format, "csv") == 0)
        print_csv(v, n, a->now);
    else
        print_text(v, n, a->now);
    store_actions_free(v, n);
    return 0;
}
