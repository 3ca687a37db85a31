#include "cli_actions.h"

#include <stdio.h>
#include <string.h>

#include "cli_int.h"
#include "csvout.h"
#include "eqtime.h"
#include "store_action.h"
#include "template.h"

/* What the text and HTML forms say, in [general] language; JSON and CSV
 * keep English identifiers for the programs that read them. The words are
 * the digests' ("open", "afgerond", "tot", "verlopen"), so a manager reads
 * the same word in the report as in the mail. */
struct words {
    const char *html_lang, *title, *none, *none_here;
    const char *open, *done, *due, *late;
    const char *head[8]; /* HTML columns, in print_html's order */
};

static const struct words nl_words = {
    "nl",
    "enquete: acties",
    "Nog geen acties vastgelegd.",
    "Geen acties voor deze selectie.",
    "open",
    "afgerond",
    "tot",
    "verlopen",
    {"afdeling", "nummer", "periode", "status", "looptijd", "tot", "verlopen",
     "actie"},
};

static const struct words en_words = {
    "en",
    "enquete: actions",
    "No actions recorded yet.",
    "No actions for this selection.",
    "open",
    "done",
    "due",
    "overdue",
    {"department", "number", "period", "state", "age", "due", "overdue",
     "action"},
};

/* nl unless en, as everywhere [general] language is read. */
static const struct words *
words_for(const char *lang)
{
    return lang && strcmp(lang, "en") == 0 ? &en_words : &nl_words;
}

/* What every form derives from the clock and the configuration. */
struct view {
    eq_time now;
    eq_day today;            /* in [general] timezone */
    const char *lang;        /* [general] language */
    const struct words *say; /* the words of that language */
};

/* Whole days from created to done_at, or to now while open (0 on the day
 * itself): a done action stops ageing. */
static long
age_days(const struct store_action *a, eq_time now)
{
    eq_time end = a->done && a->done_at ? a->done_at : now;

    return end > a->created_at ? (long)((end - a->created_at) / 86400) : 0;
}

/* Open with a due day before today; the due day itself is still in time,
 * as in the digest. */
static int
overdue(const struct store_action *a, eq_day today)
{
    return !a->done && a->has_due && a->due_day < today;
}

static void
print_text(const struct store_action *v, size_t n, const struct view *w,
           int filtered)
{
    const struct words *say = w->say;
    int64_t dept = 0;
    size_t so = strlen(say->open), sd = strlen(say->done);
    int state_w = (int)(so > sd ? so : sd), late_w = (int)strlen(say->late);

    if (n == 0)
        puts(filtered ? say->none_here : say->none);
    for (size_t i = 0; i < n; i++) {
        const struct store_action *a = &v[i];
        char due[48] = ""; /* "tot 2027-04-10"; blank without a due day */
        int due_w = (int)strlen(say->due) + 11;
        if (a->department_id != dept) {
            printf("%s%s (%s)\n", i ? "\n" : "", a->department_name,
                   a->department_code);
            dept = a->department_id;
        }
        if (a->has_due) {
            char day[11];
            eqtime_format_day(a->due_day, day);
            snprintf(due, sizeof due, "%s %s", say->due, day);
        }
        printf("  %3d  %-8s %-*s  %4ldd  %-*s  %-*s  %s%s%s%s\n", a->number,
               a->period_label, state_w, a->done ? say->done : say->open,
               age_days(a, w->now), due_w, due, late_w,
               overdue(a, w->today) ? say->late : "", a->text,
               a->metric ? " [" : "", a->metric ? a->metric : "",
               a->metric ? "]" : "");
    }
}

static void
print_json(const struct store_action *v, size_t n, const struct view *w)
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
        printf(",\"overdue\":%s,\"state\":\"%s\",\"age_days\":%ld}\n",
               overdue(a, w->today) ? "true" : "false",
               a->done ? "done" : "open", age_days(a, w->now));
    }
}

/* Managers write the texts: a cell like "=HYPERLINK(…)" must stay text
 * in a spreadsheet (csvout guards it), and the separator follows the
 * language as in the digest CSV. overdue is 1 or 0, so a spreadsheet can
 * sum it. */
static enum eq_err
print_csv(const struct store_action *v, size_t n, const struct view *w)
{
    static const char *const head[10] = {
        "department", "department_name", "number", "period",   "metric",
        "due",        "overdue",         "state",  "age_days", "text"};
    char sep = csvout_sep(w->lang), dec = csvout_dec(w->lang);
    struct eq_buf b = {0};
    enum eq_err err = EQ_OK;

    for (size_t k = 0; k < 10; k++)
        if (csvout_cell(&b, head[k], sep, dec, k == 9) != EQ_OK)
            err = EQ_ERR_NOMEM;
    for (size_t i = 0; i < n && err == EQ_OK; i++) {
        const struct store_action *a = &v[i];
        char due[11] = "", num[16], age[24];
        if (a->has_due)
            eqtime_format_day(a->due_day, due);
        snprintf(num, sizeof num, "%d", a->number);
        snprintf(age, sizeof age, "%ld", age_days(a, w->now));
        const char *cells[10] = {a->department_code,
                                 a->department_name,
                                 num,
                                 a->period_label,
                                 a->metric,
                                 due,
                                 overdue(a, w->today) ? "1" : "0",
                                 a->done ? "done" : "open",
                                 age,
                                 a->text};
        for (size_t k = 0; k < 10; k++)
            if (csvout_cell(&b, cells[k], sep, dec, k == 9) != EQ_OK)
                err = EQ_ERR_NOMEM;
    }
    if (err == EQ_OK)
        fputs(buf_str(&b), stdout);
    buf_free(&b);
    return err;
}

/* Appends s to b, escaped when esc; *bad records any failure so that a
 * page is printed whole or not at all. */
static void
put(struct eq_buf *b, const char *s, int esc, int *bad)
{
    if ((esc ? template_html_escape(b, s) : buf_add(b, s)) != EQ_OK)
        *bad = 1;
}

/* One cell; every text in it is escaped, managers' texts above all. */
static void
put_cell(struct eq_buf *b, const char *s, int *bad)
{
    put(b, "<td>", 0, bad);
    put(b, s, 1, bad);
    put(b, "</td>", 0, bad);
}

/* The text form as one table on a page of its own: the same columns, with
 * the department in a column instead of a heading. */
static enum eq_err
print_html(const struct store_action *v, size_t n, const struct view *w,
           int filtered)
{
    const struct words *say = w->say;
    struct eq_buf b = {0};
    int bad = 0;

    put(&b, "<!doctype html>\n<html lang=", 0, &bad);
    put(&b, say->html_lang, 0, &bad);
    put(&b, ">\n<head>\n<meta charset=utf-8>\n<title>", 0, &bad);
    put(&b, say->title, 1, &bad);
    put(&b, "</title>\n</head>\n<body>\n<table>\n<tr>", 0, &bad);
    for (size_t k = 0; k < 8; k++) {
        put(&b, "<th>", 0, &bad);
        put(&b, say->head[k], 1, &bad);
        put(&b, "</th>", 0, &bad);
    }
    put(&b, "</tr>\n", 0, &bad);
    for (size_t i = 0; i < n; i++) {
        const struct store_action *a = &v[i];
        char num[16], age[24], due[11] = "-";
        if (a->has_due)
            eqtime_format_day(a->due_day, due);
        snprintf(num, sizeof num, "%d", a->number);
        snprintf(age, sizeof age, "%ldd", age_days(a, w->now));
        put(&b, "<tr><td>", 0, &bad);
        put(&b, a->department_name, 1, &bad);
        put(&b, " (", 0, &bad);
        put(&b, a->department_code, 1, &bad);
        put(&b, ")</td>", 0, &bad);
        put_cell(&b, num, &bad);
        put_cell(&b, a->period_label, &bad);
        put_cell(&b, a->done ? say->done : say->open, &bad);
        put_cell(&b, age, &bad);
        put_cell(&b, due, &bad);
        put_cell(&b, overdue(a, w->today) ? say->late : "", &bad);
        put(&b, "<td>", 0, &bad);
        put(&b, a->text, 1, &bad);
        if (a->metric) {
            put(&b, " [", 0, &bad);
            put(&b, a->metric, 1, &bad);
            put(&b, "]", 0, &bad);
        }
        put(&b, "</td></tr>\n", 0, &bad);
    }
    put(&b, "</table>\n", 0, &bad);
    if (n == 0) {
        put(&b, "<p>", 0, &bad);
        put(&b, filtered ? say->none_here : say->none, 1, &bad);
        put(&b, "</p>\n", 0, &bad);
    }
    put(&b, "</body>\n</html>\n", 0, &bad);
    if (!bad)
        fputs(buf_str(&b), stdout);
    buf_free(&b);
    return bad ? EQ_ERR_NOMEM : EQ_OK;
}

int
cli_report_actions(struct app *a, const char *campaign, const char *department,
                   const char *period, const char *format)
{
    struct store_action_filter f;
    struct store_action *v = NULL;
    struct view w;
    size_t n = 0;
    enum eq_err err = EQ_OK;
    int rc, filtered = campaign || department || period;

    if (strcmp(format, "text") != 0 && strcmp(format, "html") != 0 &&
        strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
        return cli_usage_error("report --actions: --format must be text, "
                               "html, json or csv, not %s",
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
    w.now = a->now;
    eqtime_to_local(a->now, a->cfg->general.timezone, &w.today, NULL);
    w.lang = a->cfg->general.language;
    w.say = words_for(w.lang);
    if (strcmp(format, "json") == 0)
        print_json(v, n, &w);
    else if (strcmp(format, "csv") == 0)
        err = print_csv(v, n, &w);
    else if (strcmp(format, "html") == 0)
        err = print_html(v, n, &w, filtered);
    else
        print_text(v, n, &w, filtered);
    store_actions_free(v, n);
    return err == EQ_OK ? 0 : cli_fail(a, err, "report --actions");
}
