#include "campaign.h"

#include "config.h"
#include "eqtime.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- built-in measures (DESIGN.md, "The measures") --------------------- */

static const struct {
    const char *id;
    enum metric_type type;
    int min, max;
    const char *label_nl, *label_en, *question_nl, *question_en;
} builtins[] = {
    {"nps", METRIC_NPS, 0, 10, "Aanbeveling", "Recommendation",
     "Hoe waarschijnlijk is het dat u {{provider}} aanraadt aan een collega?",
     "How likely is it that you would recommend {{provider}} to a colleague?"},
    {"ces", METRIC_CES, 1, 7, "Gemak", "Ease",
     "{{provider}} zorgde ervoor dat mijn vraag makkelijk werd afgehandeld.",
     "{{provider}} made it easy to get my request handled."},
    {"csat", METRIC_CSAT, 1, 5, "Tevredenheid", "Satisfaction",
     "Hoe tevreden bent u over {{provider}}?",
     "How satisfied are you with {{provider}}?"},
};
#define N_BUILTINS (sizeof builtins / sizeof builtins[0])

static int
builtin_index(const char *id)
{
    size_t i;

    for (i = 0; i < N_BUILTINS; i++)
        if (strcmp(builtins[i].id, id) == 0)
            return (int)i;
    return -1;
}

static void
type_range(enum metric_type t, int *min, int *max)
{
    *min = t == METRIC_NPS ? 0 : 1;
    *max = t == METRIC_NPS ? 10 : t == METRIC_CES ? 7 : 5;
}

const char *
campaign_metric_type_name(enum metric_type t)
{
    switch (t) {
    case METRIC_NPS:
        return "nps";
    case METRIC_CES:
        return "ces";
    case METRIC_CSAT:
        return "csat";
    }
    return "?";
}

/* ---- small parsers ----------------------------------------------------- */

/* "HH:MM" → minute of the day. */
static int
parse_hhmm(const char *s, size_t n, int *out)
{
    if (n != 5 || !isdigit((unsigned char)s[0]) ||
        !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 24 || m > 59 || (h == 24 && m != 0))
        return -1;
    *out = h * 60 + m;
    return 0;
}

static int
metric_id_valid(const char *s)
{
    if (!islower((unsigned char)*s))
        return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
            *s != '_' && *s != '-')
            return 0;
    return 1;
}

static void
free_list(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Splits a comma list into trimmed, non-empty items. -1 on an empty item,
 * -2 when out of memory. */
static int
split_list(const char *v, char ***out, size_t *n)
{
    char *copy = strdup(v), *p, *next, **arr = NULL, **tmp;
    size_t k = 0;

    *out = NULL;
    *n = 0;
    if (copy == NULL)
        return -2;
    for (p = copy; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        eq_trim(p);
        if (*p == '\0')
            goto bad;
        tmp = realloc(arr, (k + 1) * sizeof *arr);
        if (tmp == NULL)
            goto nomem;
        arr = tmp;
        arr[k] = strdup(p);
        if (arr[k] == NULL)
            goto nomem;
        k++;
    }
    free(copy);
    *out = arr;
    *n = k;
    return 0;
bad:
    free(copy);
    free_list(arr, k);
    return -1;
nomem:
    free(copy);
    free_list(arr, k);
    return -2;
}

static int
cmp_day(const void *a, const void *b)
{
    eq_day x = *(const eq_day *)a, y = *(const eq_day *)b;

    return (x > y) - (x < y);
}

/* ---- loading ----------------------------------------------------------- */

struct metric_sec {
    char *id;
    int line; /* first key of the section: the handler never sees headers */
    int has_type, type_line;
    enum metric_type type;
    char *label_nl, *label_en, *question_nl, *question_en;
};

struct load_ctx {
    struct campaign *c;
    const char *path;
    char *dir;
    struct eq_buf *diag;
    int nerr, nomem;
    char **metric_ids;
    size_t n_metric_ids;
    int metrics_line, start_line, end_line;
    int metrics_seen, start_seen; /* set even when the value was bad */
    struct metric_sec *secs;
    size_t n_secs;
    char *bad_section;
    size_t cap_holidays;
};

static int
add_holiday(struct load_ctx *l, eq_day d)
{
    struct campaign *c = l->c;
    eq_day *tmp;

    if (c->n_holidays == l->cap_holidays) {
        size_t cap = l->cap_holidays ? l->cap_holidays * 2 : 16;
        tmp = realloc(c->holidays, cap * sizeof *tmp);
        if (tmp == NULL) {
            l->nomem = 1;
            return -1;
        }
        c->holidays = tmp;
        l->cap_holidays = cap;
    }
    c->holidays[c->n_holidays++] = d;
    return 0;
}

/* A list of dates rather than a file name: starts like YYYY-MM-DD. */
static int
looks_like_date(const char *s)
{
    return strlen(s) >= 10 && isdigit((unsigned char)s[0]) &&
           isdigit((unsigned char)s[3]) && s[4] == '-' && s[7] == '-';
}

/* One date per line; '#' starts a comment. Errors name the holiday file's
 * own line, so they go to diag directly rather than through the handler. */
static void
read_holiday_file(struct load_ctx *l, const char *file, int lineno)
{
    FILE *f = fopen(file, "re");
    char *line = NULL, *hash;
    size_t cap = 0;
    int n = 0;
    eq_day d;

    if (f == NULL) {
        eq_diag(l->diag, "%s:%d: holidays file %s: cannot open: %s", l->path,
                lineno, file, strerror(errno));
        l->nerr++;
        return;
    }
    while (getline(&line, &cap, f) >= 0) {
        n++;
        hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        eq_trim(line);
        if (n == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
            memmove(line, line + 3, strlen(line + 3) + 1);
        if (*line == '\0')
            continue;
        if (eqtime_parse_day(line, &d) != 0) {
            eq_diag(l->diag, "%s:%d: not a date (YYYY-MM-DD): '%s'", file, n,
                    line);
            l->nerr++;
            continue;
        }
        if (add_holiday(l, d) != 0)
            break;
    }
    if (ferror(f)) {
        eq_diag(l->diag, "%s: cannot read: %s", file, strerror(errno));
        l->nerr++;
    }
    free(line);
    fclose(f);
}

static int
set_holidays(struct load_ctx *l, const char *v, int lineno, struct eq_buf *msg)
{
    char **items = NULL;
    size_t n = 0, i;
    int rc = 0;
    eq_day d;

    if (!looks_like_date(v)) {
        char *file = config_resolve(l->dir, v);
        if (file == NULL)
            l->nomem = 1;
        else
            read_holiday_file(l, file, lineno);
        free(file);
        return 0;
    }
    rc = split_list(v, &items, &n);
    if (rc == -2) {
        l->nomem = 1;
    } else if (rc == -1) {
        buf_printf(msg, "'holidays': empty item in the list of dates");
    } else {
        for (i = 0; i < n; i++) {
            if (eqtime_parse_day(items[i], &d) != 0) {
                buf_printf(msg, "'holidays': '%s' is not a valid date",
                           items[i]);
                rc = -1;
                break;
            }
            if (add_holiday(l, d) != 0)
                break;
        }
    }
    free_list(items, n);
    return rc == -2 ? 0 : rc;
}

static int
set_codes(struct load_ctx *l, const char *name, const char *v, char ***list,
          size_t *n, int *all, struct eq_buf *msg)
{
    size_t i;
    int rc;

    if (strcmp(v, "*") == 0) {
        *all = 1;
        return 0;
    }
    rc = split_list(v, list, n);
    if (rc == -2) {
        l->nomem = 1;
        return 0;
    }
    for (i = 0; rc == 0 && i < *n; i++)
        if (!config_code_valid((*list)[i]))
            rc = -1;
    if (rc != 0) {
        free_list(*list, *n);
        *list = NULL;
        *n = 0;
        buf_printf(msg,
                   "'%s' must be '*' or a comma list of department codes, "
                   "not '%s'",
                   name, v);
        return -1;
    }
    *all = 0;
    return 0;
}

static int
set_cadence(struct campaign *c, const char *v, struct eq_buf *msg)
{
    char word1[16], word3[16];
    int weeks, used = 0;

    if (eq_strcasecmp(v, "monthly") == 0) {
        c->cadence = CADENCE_MONTHLY;
        return 0;
    }
    if (eq_strcasecmp(v, "quarterly") == 0) {
        c->cadence = CADENCE_QUARTERLY;
        return 0;
    }
    if (sscanf(v, "%15s %d %15s %n", word1, &weeks, word3, &used) == 3 &&
        v[used] == '\0' && eq_strcasecmp(word1, "every") == 0 &&
        (eq_strcasecmp(word3, "weeks") == 0 ||
         (weeks == 1 && eq_strcasecmp(word3, "week") == 0))) {
        if (weeks < 1 || weeks > 26) {
            buf_printf(msg, "'cadence': every N weeks needs N from 1 to 26");
            return -1;
        }
        c->cadence = CADENCE_WEEKS;
        c->cadence_weeks = weeks;
        return 0;
    }
    buf_printf(msg,
               "'cadence' must be monthly, quarterly or every N weeks, "
               "not '%s'",
               v);
    return -1;
}

static int
set_send_days(struct campaign *c, const char *v, struct eq_buf *msg)
{
    char **items;
    size_t n, i;
    unsigned days = 0;
    int d, rc = split_list(v, &items, &n);

    if (rc == -2)
        return -2;
    for (i = 0; rc == 0 && i < n; i++) {
        d = config_weekday(items[i]);
        if (d == 0)
            rc = -1;
        else
            days |= 1u << (d - 1);
    }
    free_list(items, n);
    if (rc != 0) {
        buf_printf(msg,
                   "'send_days' must be a comma list of weekdays "
                   "(mon … sun, ma … zo), not '%s'",
                   v);
        return -1;
    }
    c->send_days = days;
    return 0;
}

static int
set_window(struct campaign *c, const char *v, struct eq_buf *msg)
{
    const char *dash = strchr(v, '-');
    int a, b;

    if (dash == NULL || parse_hhmm(v, (size_t)(dash - v), &a) != 0 ||
        parse_hhmm(dash + 1, strlen(dash + 1), &b) != 0 || a >= b) {
        buf_printf(msg,
                   "'send_window' must be HH:MM-HH:MM with the start "
                   "before the end, not '%s'",
                   v);
        return -1;
    }
    c->window_start = a;
    c->window_end = b;
    return 0;
}

static int
campaign_key(struct load_ctx *l, const char *name, const char *v, int lineno,
             struct eq_buf *msg)
{
    struct campaign *c = l->c;
    int rc;

    if (strcmp(name, "name") == 0) {
        if (!config_code_valid(v)) {
            buf_printf(msg,
                       "'name' may hold letters, digits, '.', '_' and "
                       "'-' only, not '%s'",
                       v);
            return -1;
        }
        return config_set_str(&c->name, v, &l->nomem);
    }
    if (strcmp(name, "title_nl") == 0)
        return config_set_str(&c->title_nl, v, &l->nomem);
    if (strcmp(name, "title_en") == 0)
        return config_set_str(&c->title_en, v, &l->nomem);
    if (strcmp(name, "metrics") == 0) {
        size_t i, j;
        l->metrics_seen = 1;
        rc = split_list(v, &l->metric_ids, &l->n_metric_ids);
        if (rc == -2) {
            l->nomem = 1;
            return 0;
        }
        for (i = 0; rc == 0 && i < l->n_metric_ids; i++) {
            if (!metric_id_valid(l->metric_ids[i])) {
                buf_printf(msg,
                           "'metrics': '%s' is not a metric id "
                           "(lowercase letters, digits, '_', '-')",
                           l->metric_ids[i]);
                rc = -1;
            }
            for (j = 0; rc == 0 && j < i; j++)
                if (strcmp(l->metric_ids[i], l->metric_ids[j]) == 0) {
                    buf_printf(msg, "'metrics': '%s' is listed twice",
                               l->metric_ids[i]);
                    rc = -1;
                }
        }
        if (rc == -1 && msg->len == 0)
            buf_printf(msg, "'metrics' must be a comma list of metric ids");
        if (rc != 0) {
            free_list(l->metric_ids, l->n_metric_ids);
            l->metric_ids = NULL;
            l->n_metric_ids = 0;
            return -1;
        }
        l->metrics_line = lineno;
        return 0;
    }
    if (strcmp(name, "providers") == 0) {
        c->providers_line = lineno;
        return set_codes(l, name, v, &c->providers, &c->n_providers,
                         &c->providers_all, msg);
    }
    if (strcmp(name, "customers") == 0) {
        c->customers_line = lineno;
        return set_codes(l, name, v, &c->customers, &c->n_customers,
                         &c->customers_all, msg);
    }
    if (strcmp(name, "cadence") == 0)
        return set_cadence(c, v, msg);
    if (strcmp(name, "start") == 0 || strcmp(name, "end") == 0) {
        eq_day d;
        l->start_seen |= name[0] == 's';
        if (eqtime_parse_day(v, &d) != 0) {
            buf_printf(msg, "'%s' must be a date YYYY-MM-DD, not '%s'", name,
                       v);
            return -1;
        }
        if (name[0] == 's') {
            c->start = d;
            l->start_line = lineno;
        } else {
            c->end = d;
            l->end_line = lineno;
        }
        return 0;
    }
    if (strcmp(name, "target_responses") == 0)
        return config_set_int(name, v, 1, 100000, &c->target_responses, msg);
    if (strcmp(name, "expected_response_rate") == 0) {
        char *end;
        double r;
        errno = 0;
        r = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' || !(r > 0.0 && r <= 1.0)) {
            buf_printf(msg,
                       "'expected_response_rate' must be a number above "
                       "0 and at most 1 (e.g. 0.35), not '%s'",
                       v);
            return -1;
        }
        c->expected_response_rate = r;
        return 0;
    }
    if (strcmp(name, "send_days") == 0) {
        rc = set_send_days(c, v, msg);
        if (rc == -2) {
            l->nomem = 1;
            return 0;
        }
        return rc;
    }
    if (strcmp(name, "send_window") == 0)
        return set_window(c, v, msg);
    if (strcmp(name, "timezone") == 0) {
        if (eqtime_zone_valid(v) != 0) {
            buf_printf(msg, "unknown time zone '%s'", v);
            return -1;
        }
        return config_set_str(&c->timezone, v, &l->nomem);
    }
    if (strcmp(name, "holidays") == 0)
        return set_holidays(l, v, lineno, msg);
    if (strcmp(name, "reminder_after") == 0)
        return config_set_int(name, v, 1, 365, &c->reminder_after, msg);
    if (strcmp(name, "max_reminders") == 0)
        return config_set_int(name, v, 0, 10, &c->max_reminders, msg);
    if (strcmp(name, "close_after") == 0)
        return config_set_int(name, v, 1, 365, &c->close_after, msg);
    if (strcmp(name, "language") == 0) {
        if (strcmp(v, "employee") != 0 && strcmp(v, "nl") != 0 &&
            strcmp(v, "en") != 0) {
            buf_printf(msg, "'language' must be employee, nl or en, not '%s'",
                       v);
            return -1;
        }
        return config_set_str(&c->language, v, &l->nomem);
    }
    if (strcmp(name, "anonymity_min") == 0)
        return config_set_int(name, v, 2, 100000, &c->anonymity_min, msg);
    {
        static const char *const bools[] = {"anonymous", "allow_forward",
                                            "share_actions", "confirmation"};
        int *dst[] = {&c->anonymous, &c->allow_forward, &c->share_actions,
                      &c->confirmation};
        size_t i;
        for (i = 0; i < 4; i++) {
            if (strcmp(name, bools[i]) != 0)
                continue;
            if (config_parse_bool(v, dst[i]) != 0) {
                buf_printf(msg, "'%s' must be yes or no, not '%s'", name, v);
                return -1;
            }
            return 0;
        }
    }
    return 1;
}

static const char *const campaign_keys[] = {"name",
                                            "title_nl",
                                            "title_en",
                                            "metrics",
                                            "providers",
                                            "customers",
                                            "cadence",
                                            "start",
                                            "end",
                                            "target_responses",
                                            "expected_response_rate",
                                            "send_days",
                                            "send_window",
                                            "timezone",
                                            "holidays",
                                            "reminder_after",
                                            "max_reminders",
                                            "close_after",
                                            "language",
                                            "anonymous",
                                            "anonymity_min",
                                            "allow_forward",
                                            "share_actions",
                                            "confirmation",
                                            NULL};
static const char *const metric_keys[] = {
    "type", "label_nl", "label_en", "question_nl", "question_en", NULL};

static struct metric_sec *
metric_section(struct load_ctx *l, const char *id, int lineno)
{
    struct metric_sec *s;
    size_t i;

    for (i = 0; i < l->n_secs; i++)
        if (strcmp(l->secs[i].id, id) == 0)
            return &l->secs[i];
    s = realloc(l->secs, (l->n_secs + 1) * sizeof *s);
    if (s == NULL)
        return NULL;
    l->secs = s;
    s = &l->secs[l->n_secs];
    memset(s, 0, sizeof *s);
    s->id = strdup(id);
    if (s->id == NULL)
        return NULL;
    s->line = lineno;
    l->n_secs++;
    return s;
}

static int
metric_key(struct load_ctx *l, const char *section, const char *id,
           const char *name, const char *v, int lineno, struct eq_buf *msg)
{
    struct metric_sec *s;

    if (!metric_id_valid(id)) {
        buf_printf(msg,
                   "[%s]: '%s' is not a metric id (lowercase letters, "
                   "digits, '_', '-')",
                   section, id);
        return -1;
    }
    s = metric_section(l, id, lineno);
    if (s == NULL) {
        l->nomem = 1;
        return 0;
    }
    if (strcmp(name, "type") == 0) {
        if (strcmp(v, "nps") == 0)
            s->type = METRIC_NPS;
        else if (strcmp(v, "ces") == 0)
            s->type = METRIC_CES;
        else if (strcmp(v, "csat") == 0)
            s->type = METRIC_CSAT;
        else {
            buf_printf(msg, "'type' must be nps, ces or csat, not '%s'", v);
            return -1;
        }
        s->has_type = 1;
        s->type_line = lineno;
        return 0;
    }
    if (strcmp(name, "label_nl") == 0)
        return config_set_str(&s->label_nl, v, &l->nomem);
    if (strcmp(name, "label_en") == 0)
        return config_set_str(&s->label_en, v, &l->nomem);
    if (strcmp(name, "question_nl") == 0)
        return config_set_str(&s->question_nl, v, &l->nomem);
    if (strcmp(name, "question_en") == 0)
        return config_set_str(&s->question_en, v, &l->nomem);
    return config_unknown_key(name, section, metric_keys, msg);
}

static int
load_handler(void *user, const char *section, const char *name,
             const char *value, int lineno, struct eq_buf *msg)
{
    struct load_ctx *l = user;
    int rc;

    if (strncmp(section, "metric ", 7) == 0 || strcmp(section, "metric") == 0) {
        const char *id = section + 6;
        while (*id == ' ')
            id++;
        if (*value == '\0') {
            buf_printf(msg, "empty value for '%s'", name);
            return -1;
        }
        return metric_key(l, section, id, name, value, lineno, msg);
    }
    if (strcmp(section, "campaign") != 0) {
        if (l->bad_section && strcmp(l->bad_section, section) == 0)
            return 0;
        free(l->bad_section);
        l->bad_section = strdup(section);
        buf_printf(msg,
                   "unknown section [%s] (expected [campaign] or "
                   "[metric ID])",
                   section);
        return -1;
    }
    l->start_seen |= strcmp(name, "start") == 0;
    l->metrics_seen |= strcmp(name, "metrics") == 0;
    if (*value == '\0') {
        const char *const *k;
        for (k = campaign_keys; *k; k++)
            if (strcmp(*k, name) == 0) {
                buf_printf(msg, "empty value for '%s'", name);
                return -1;
            }
    }
    rc = campaign_key(l, name, value, lineno, msg);
    if (rc == 1)
        return config_unknown_key(name, section, campaign_keys, msg);
    return rc;
}

static void load_error(struct load_ctx *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
load_error(struct load_ctx *l, int line, const char *fmt, ...)
{
    struct eq_buf m = {0};
    va_list ap;

    l->nerr++;
    va_start(ap, fmt);
    if (buf_vprintf(&m, fmt, ap) != EQ_OK)
        l->nomem = 1;
    va_end(ap);
    if (line > 0)
        eq_diag(l->diag, "%s:%d: %s", l->path, line, buf_str(&m));
    else
        eq_diag(l->diag, "%s: %s", l->path, buf_str(&m));
    buf_free(&m);
}

static char *
dup_or(struct load_ctx *l, const char *a, const char *b)
{
    char *s = strdup(a ? a : b);

    if (s == NULL)
        l->nomem = 1;
    return s;
}

/* Turns the metrics list and the [metric ID] sections into c->metrics. */
static void
build_metrics(struct load_ctx *l)
{
    struct campaign *c = l->c;
    size_t i, j;
    int need_nl = strcmp(c->language, "en") != 0;
    int need_en = strcmp(c->language, "nl") != 0;

    if (l->n_metric_ids == 0)
        return;
    c->metrics = calloc(l->n_metric_ids, sizeof *c->metrics);
    if (c->metrics == NULL) {
        l->nomem = 1;
        return;
    }
    c->n_metrics = l->n_metric_ids;
    for (i = 0; i < l->n_metric_ids; i++) {
        struct campaign_metric *m = &c->metrics[i];
        struct metric_sec *s = NULL;
        int b = builtin_index(l->metric_ids[i]);

        for (j = 0; j < l->n_secs; j++)
            if (strcmp(l->secs[j].id, l->metric_ids[i]) == 0)
                s = &l->secs[j];
        m->id = dup_or(l, l->metric_ids[i], NULL);
        if (b >= 0) {
            m->type = builtins[b].type;
            if (s && s->has_type && s->type != m->type)
                load_error(l, s->type_line,
                           "'%s' is built in with type %s; use another id "
                           "for a %s item",
                           m->id, builtins[b].id,
                           campaign_metric_type_name(s->type));
            m->label_nl =
                dup_or(l, s ? s->label_nl : NULL, builtins[b].label_nl);
            m->label_en =
                dup_or(l, s ? s->label_en : NULL, builtins[b].label_en);
            m->question_nl =
                dup_or(l, s ? s->question_nl : NULL, builtins[b].question_nl);
            m->question_en =
                dup_or(l, s ? s->question_en : NULL, builtins[b].question_en);
        } else if (s == NULL) {
            load_error(l, l->metrics_line,
                       "metric '%s' is not built in (nps, ces, csat) and has "
                       "no [metric %s] section",
                       m->id, m->id);
            continue;
        } else {
            if (!s->has_type)
                load_error(l, s->line,
                           "[metric %s] needs a 'type' (nps, ces or csat)",
                           m->id);
            if (need_nl && s->question_nl == NULL)
                load_error(l, s->line, "[metric %s] needs a 'question_nl'",
                           m->id);
            if (need_en && s->question_en == NULL)
                load_error(l, s->line, "[metric %s] needs a 'question_en'",
                           m->id);
            m->type = s->type;
            m->label_nl = dup_or(l, s->label_nl, m->id);
            m->label_en = dup_or(l, s->label_en, m->id);
            m->question_nl = dup_or(l, s->question_nl, "");
            m->question_en = dup_or(l, s->question_en, "");
        }
        type_range(m->type, &m->min, &m->max);
    }
}

static void
check_unlisted(struct load_ctx *l)
{
    size_t i, j;

    for (j = 0; j < l->n_secs; j++) {
        for (i = 0; i < l->n_metric_ids; i++)
            if (strcmp(l->metric_ids[i], l->secs[j].id) == 0)
                break;
        if (i == l->n_metric_ids)
            load_error(l, l->secs[j].line,
                       "[metric %s] is not listed in 'metrics'", l->secs[j].id);
    }
}

static void
free_metric(struct campaign_metric *m)
{
    free(m->id);
    free(m->label_nl);
    free(m->label_en);
    free(m->question_nl);
    free(m->question_en);
}

void
campaign_free(struct campaign *c)
{
    size_t i;

    if (c == NULL)
        return;
    free(c->file);
    free(c->name);
    free(c->title_nl);
    free(c->title_en);
    for (i = 0; i < c->n_metrics; i++)
        free_metric(&c->metrics[i]);
    free(c->metrics);
    free_list(c->providers, c->n_providers);
    free_list(c->customers, c->n_customers);
    free(c->timezone);
    free(c->holidays);
    free(c->language);
    free(c);
}

void
campaign_free_all(struct campaign **c, size_t n)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < n; i++)
        campaign_free(c[i]);
    free(c);
}

static char *
base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    size_t n;

    b = b ? b + 1 : path;
    n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".ini") == 0)
        n -= 4;
    return strndup(b, n);
}

static char *
dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

enum eq_err
campaign_load(const char *path, const char *default_tz, struct campaign **out,
              struct eq_buf *diag)
{
    struct load_ctx l = {0};
    struct campaign *c;
    enum eq_err err;
    size_t i, k;

    *out = NULL;
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return EQ_ERR_NOMEM;
    c->cadence = CADENCE_MONTHLY;
    c->target_responses = 30;
    c->expected_response_rate = 0.35;
    c->send_days = (1u << 1) | (1u << 2) | (1u << 3);
    c->window_start = 9 * 60;
    c->window_end = 11 * 60;
    c->reminder_after = 3;
    c->max_reminders = 1;
    c->close_after = 10;
    c->anonymity_min = 5;
    c->providers_all = c->customers_all = 1;
    l.c = c;
    l.path = path;
    l.diag = diag;
    c->file = strdup(path);
    l.dir = dir_name(path);
    if (c->file == NULL || l.dir == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    err = config_ini_parse(path, load_handler, &l, diag);
    if (l.nomem)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK && err != EQ_ERR_CONFIG)
        goto out;

    if (!l.start_seen)
        load_error(&l, 0, "missing required key 'start' in [campaign]");
    else if (l.start_line && l.end_line && c->end < c->start)
        load_error(&l, l.end_line, "'end' is before 'start'");
    if (!l.metrics_seen)
        load_error(&l, 0, "missing required key 'metrics' in [campaign]");
    if (c->send_days == 0)
        load_error(&l, 0, "'send_days' is empty");
    if (c->language == NULL)
        c->language = dup_or(&l, "employee", NULL);
    if (c->name == NULL && (c->name = base_name(path)) == NULL)
        l.nomem = 1;
    if (c->timezone == NULL)
        c->timezone = dup_or(&l, default_tz, "Europe/Amsterdam");
    if (c->title_nl == NULL)
        c->title_nl = dup_or(&l, c->name, "");
    if (c->title_en == NULL)
        c->title_en = dup_or(&l, c->title_nl, "");
    if (!l.nomem && c->language)
        build_metrics(&l);
    if (l.metrics_line)
        check_unlisted(&l);
    if (c->n_holidays > 0) {
        qsort(c->holidays, c->n_holidays, sizeof *c->holidays, cmp_day);
        for (i = 1, k = 1; i < c->n_holidays; i++)
            if (c->holidays[i] != c->holidays[k - 1])
                c->holidays[k++] = c->holidays[i];
        c->n_holidays = k;
    }
    if (l.nomem)
        err = EQ_ERR_NOMEM;
    else if (err == EQ_OK && l.nerr > 0)
        err = EQ_ERR_CONFIG;
out:
    free_list(l.metric_ids, l.n_metric_ids);
    for (i = 0; i < l.n_secs; i++) {
        free(l.secs[i].id);
        free(l.secs[i].label_nl);
        free(l.secs[i].label_en);
        free(l.secs[i].question_nl);
        free(l.secs[i].question_en);
    }
    free(l.secs);
    free(l.bad_section);
    free(l.dir);
    if (err != EQ_OK) {
        campaign_free(c);
        return err;
    }
    *out = c;
    return EQ_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum eq_err
campaign_load_dir(const char *dir, const char *default_tz,
                  struct campaign ***out, size_t *n, struct eq_buf *diag)
{
    DIR *d;
    struct dirent *e;
    char **names = NULL, **tmp;
    size_t n_names = 0, i, j, len;
    struct campaign **all = NULL, *c;
    enum eq_err err = EQ_OK, e1;

    *out = NULL;
    *n = 0;
    d = opendir(dir);
    if (d == NULL) {
        eq_diag(diag, "%s: cannot open: %s", dir, strerror(errno));
        return EQ_ERR_NOINPUT;
    }
    while ((e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 4 ||
            strcmp(e->d_name + len - 4, ".ini") != 0)
            continue;
        tmp = realloc(names, (n_names + 1) * sizeof *names);
        if (tmp == NULL) {
            err = EQ_ERR_NOMEM;
            break;
        }
        names = tmp;
        names[n_names] = config_resolve(dir, e->d_name);
        if (names[n_names] == NULL) {
            err = EQ_ERR_NOMEM;
            break;
        }
        n_names++;
    }
    closedir(d);
    if (err != EQ_OK)
        goto out;
    if (n_names > 0)
        qsort(names, n_names, sizeof *names, cmp_str);
    all = calloc(n_names ? n_names : 1, sizeof *all);
    if (all == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < n_names; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && !S_ISREG(st.st_mode))
            continue;
        e1 = campaign_load(names[i], default_tz, &c, diag);
        if (e1 == EQ_ERR_NOMEM) {
            err = e1;
            goto out;
        }
        if (e1 != EQ_OK) {
            /* Keep going: one run reports every broken file. */
            if (err == EQ_OK)
                err = e1;
            continue;
        }
        for (j = 0; j < *n; j++)
            if (strcmp(all[j]->name, c->name) == 0)
                break;
        if (j < *n) {
            eq_diag(diag, "%s: campaign name '%s' is already used by %s",
                    c->file, c->name, all[j]->file);
            campaign_free(c);
            err = EQ_ERR_CONFIG;
            continue;
        }
        all[(*n)++] = c;
    }
out:
    free_list(names, n_names);
    if (err != EQ_OK) {
        campaign_free_all(all, *n);
        *n = 0;
        return err;
    }
    if (*n == 0) {
        free(all);
        all = NULL;
    }
    *out = all;
    return EQ_OK;
}

/* ---- queries ----------------------------------------------------------- */

const struct campaign_metric *
campaign_metric(const struct campaign *c, const char *id)
{
    size_t i;

    for (i = 0; i < c->n_metrics; i++)
        if (strcmp(c->metrics[i].id, id) == 0)
            return &c->metrics[i];
    return NULL;
}

static int
in_list(char *const *list, size_t n, const char *code)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (eq_strcasecmp(list[i], code) == 0)
            return 1;
    return 0;
}

int
campaign_has_provider(const struct campaign *c, const char *code)
{
    if (code == NULL)
        return 0;
    return c->providers_all || in_list(c->providers, c->n_providers, code);
}

int
campaign_has_customer(const struct campaign *c, const char *customer,
                      const char *provider)
{
    if (customer == NULL)
        return 0;
    /* Nobody rates their own department, also with an explicit list. */
    if (provider && eq_strcasecmp(customer, provider) == 0)
        return 0;
    return c->customers_all || in_list(c->customers, c->n_customers, customer);
}

int
campaign_is_holiday(const struct campaign *c, eq_day day)
{
    return c->n_holidays > 0 && bsearch(&day, c->holidays, c->n_holidays,
                                        sizeof *c->holidays, cmp_day) != NULL;
}

int
campaign_is_send_day(const struct campaign *c, eq_day day)
{
    if (day < c->start || (c->end != 0 && day > c->end))
        return 0;
    if (!(c->send_days & (1u << (eqtime_weekday(day) - 1))))
        return 0;
    return !campaign_is_holiday(c, day);
}

/* ---- the period grid --------------------------------------------------- */

static void
iso_week(eq_day d, int *year, int *week)
{
    eq_day thu = d - eqtime_weekday(d) + 4;
    int m, dd;

    eqtime_ymd_from_day(thu, year, &m, &dd);
    *week = (thu - eqtime_day_from_ymd(*year, 1, 1)) / 7 + 1;
}

static eq_day
iso_week_monday(int year, int week)
{
    eq_day jan4 = eqtime_day_from_ymd(year, 1, 4);

    return jan4 - (eqtime_weekday(jan4) - 1) + (week - 1) * 7;
}

/* Fills out for the calendar month or quarter, or the week block, whose
 * first day is first. */
static void
fill_period(const struct campaign *c, eq_day first, struct period *out)
{
    int y, m, d, w;

    eqtime_ymd_from_day(first, &y, &m, &d);
    /* Keeps the label inside its 16 bytes whatever the date. */
    if (y < 0)
        y = 0;
    if (y > 9999)
        y = 9999;
    out->first = first;
    switch (c->cadence) {
    case CADENCE_MONTHLY:
        out->last = (m == 12 ? eqtime_day_from_ymd(y + 1, 1, 1)
                             : eqtime_day_from_ymd(y, m + 1, 1)) -
                    1;
        snprintf(out->label, sizeof out->label, "%04d-%02d", y, m);
        break;
    case CADENCE_QUARTERLY:
        out->last = (m >= 10 ? eqtime_day_from_ymd(y + 1, 1, 1)
                             : eqtime_day_from_ymd(y, m + 3, 1)) -
                    1;
        snprintf(out->label, sizeof out->label, "%04dQ%d", y, (m - 1) / 3 + 1);
        break;
    case CADENCE_WEEKS:
        out->last = first + 7 * c->cadence_weeks - 1;
        iso_week(first, &y, &w);
        if (y < 0)
            y = 0;
        if (y > 9999)
            y = 9999;
        snprintf(out->label, sizeof out->label, "%04dW%02d", y, w);
        break;
    }
}

/* The first day of the grid period containing day (day ≥ start). */
static eq_day
period_first(const struct campaign *c, eq_day day)
{
    int y, m, d, block;

    switch (c->cadence) {
    case CADENCE_MONTHLY:
        eqtime_ymd_from_day(day, &y, &m, &d);
        return eqtime_day_from_ymd(y, m, 1);
    case CADENCE_QUARTERLY:
        eqtime_ymd_from_day(day, &y, &m, &d);
        return eqtime_day_from_ymd(y, (m - 1) / 3 * 3 + 1, 1);
    case CADENCE_WEEKS:
        block = 7 * (c->cadence_weeks > 0 ? c->cadence_weeks : 1);
        return c->start + (day - c->start) / block * block;
    }
    return day;
}

enum eq_err
campaign_period_of(const struct campaign *c, eq_day day, struct period *out)
{
    if (day < c->start || (c->end != 0 && day > c->end))
        return EQ_ERR_NOTFOUND;
    fill_period(c, period_first(c, day), out);
    return EQ_OK;
}

static int
digits(const char *s, size_t n, int *out)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

enum eq_err
campaign_period_by_label(const struct campaign *c, const char *label,
                         struct period *out)
{
    int y, m, q, w, wy, ww, block;
    eq_day first, monday;
    struct period p;

    if (strlen(label) < 6 || digits(label, 4, &y) != 0)
        return EQ_ERR_NOTFOUND;
    switch (c->cadence) {
    case CADENCE_MONTHLY:
        if (strlen(label) != 7 || label[4] != '-' ||
            digits(label + 5, 2, &m) != 0 || m < 1 || m > 12)
            return EQ_ERR_NOTFOUND;
        first = eqtime_day_from_ymd(y, m, 1);
        break;
    case CADENCE_QUARTERLY:
        if (strlen(label) != 6 || label[4] != 'Q' ||
            digits(label + 5, 1, &q) != 0 || q < 1 || q > 4)
            return EQ_ERR_NOTFOUND;
        first = eqtime_day_from_ymd(y, (q - 1) * 3 + 1, 1);
        break;
    case CADENCE_WEEKS:
        if (strlen(label) != 7 || label[4] != 'W' ||
            digits(label + 5, 2, &w) != 0 || w < 1 || w > 53)
            return EQ_ERR_NOTFOUND;
        monday = iso_week_monday(y, w);
        iso_week(monday, &wy, &ww);
        if (wy != y || ww != w) /* week 53 of a 52-week year */
            return EQ_ERR_NOTFOUND;
        block = 7 * (c->cadence_weeks > 0 ? c->cadence_weeks : 1);
        if (monday + 6 < c->start)
            return EQ_ERR_NOTFOUND;
        first = c->start;
        if (monday > c->start)
            first += (monday - c->start + block - 1) / block * block;
        if (first > monday + 6)
            return EQ_ERR_NOTFOUND;
        break;
    default:
        return EQ_ERR_NOTFOUND;
    }
    fill_period(c, first, &p);
    /* On the grid: the period holds a day in start..end. */
    if (p.last < c->start || (c->end != 0 && p.first > c->end))
        return EQ_ERR_NOTFOUND;
    *out = p;
    return EQ_OK;
}
