#include "action.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eqtime.h"
#include "reply.h"

/* Only ASCII is case-folded: every label and month name is ASCII. */
static int
prefix_ci(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (tolower((unsigned char)*s) != *p)
            return 0;
    return 1;
}

/* A word ends at anything that is not an ASCII letter or digit, or UTF-8. */
static int
word_end(char c)
{
    return !(isalnum((unsigned char)c) || (unsigned char)c >= 0x80);
}

static const char *
skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* --- due dates --------------------------------------------------------- */

static const char *const months[] = {
    "januari", "februari", "maart",     "april",   "mei",      "juni",
    "juli",    "augustus", "september", "oktober", "november", "december",
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

/* Month number of a full or 3-letter (also "mrt", "okt", "sept") name at s,
 * with its length; 0 if none. */
static int
month_at(const char *s, size_t *len)
{
    static const struct {
        const char *w;
        int m;
    } extra[] = {{"mrt", 3}, {"mei", 5}, {"okt", 10}, {"sept", 9}};
    size_t n = 0;

    while (isalpha((unsigned char)s[n]))
        n++;
    if (n < 3)
        return 0;
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
        size_t ml = strlen(months[i]);
        if ((n == ml || n == 3) && n <= ml &&
            strncasecmp(s, months[i], n) == 0) {
            *len = n;
            return (int)(i % 12) + 1;
        }
    }
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (strlen(extra[i].w) == n && strncasecmp(s, extra[i].w, n) == 0) {
            *len = n;
            return extra[i].m;
        }
    return 0;
}

/* Up to max digits at s; -1 if none. */
static int
digits_at(const char *s, int max, size_t *len)
{
    int v = 0;
    size_t n = 0;

    while (isdigit((unsigned char)s[n]) && (int)n < max)
        v = v * 10 + (s[n++] - '0');
    if (n == 0 || isdigit((unsigned char)s[n]))
        return -1;
    *len = n;
    return v;
}

static int
valid_ymd(int y, int m, int d, eq_day *out)
{
    int yy, mm, dd;
    eq_day day;

    if (y < 2000 || y > 2199 || m < 1 || m > 12 || d < 1 || d > 31)
        return -2;
    day = eqtime_day_from_ymd(y, m, d);
    eqtime_ymd_from_day(day, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d)
        return -2;
    *out = day;
    return 0;
}

/* After a date: the end, a space or closing punctuation. */
static int
date_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == ',' || c == '.' ||
           c == ';' || c == ')' || c == '!';
}

int
action_parse_due(const char *s, eq_day *out, size_t *used)
{
    size_t a, b, c, ml;
    int x, y, z, m;

    if ((x = digits_at(s, 4, &a)) < 0)
        return -1;
    /* 2027-02-01 */
    if (a == 4 && s[a] == '-' && (y = digits_at(s + a + 1, 2, &b)) >= 0 &&
        s[a + 1 + b] == '-' && (z = digits_at(s + a + 2 + b, 2, &c)) >= 0 &&
        date_end(s[a + 2 + b + c])) {
        *used = a + 2 + b + c;
        return valid_ymd(x, y, z, out);
    }
    if (a > 2)
        return -1;
    /* 1-2-2027, 1/2/2027, 1.2.2027: day first, as written in nl and en-GB */
    if ((s[a] == '-' || s[a] == '/' || s[a] == '.') &&
        (y = digits_at(s + a + 1, 2, &b)) >= 0 && s[a + 1 + b] == s[a] &&
        (z = digits_at(s + a + 2 + b, 4, &c)) >= 0 && c == 4 &&
        date_end(s[a + 2 + b + c])) {
        *used = a + 2 + b + c;
        return valid_ymd(z, y, x, out);
    }
    /* 1 februari 2027, 1 Feb 2027 */
    if (s[a] == ' ' && (m = month_at(s + a + 1, &ml)) > 0) {
        const char *p = s + a + 1 + ml;
        if (*p == '.')
            p++;
        if (*p == ' ' && (z = digits_at(p + 1, 4, &c)) >= 0 && c == 4 &&
            date_end(p[1 + c])) {
            *used = (size_t)(p + 1 + c - s);
            return valid_ymd(z, m, x, out);
        }
    }
    return -1;
}

/* --- lines ------------------------------------------------------------- */

enum label { L_NONE, L_ACTION, L_DONE };

static const struct {
    const char *w;
    enum label kind;
} labels[] = {
    /* longer words first, so "actiepunt" is not read as "actie" + "punt" */
    {"actiepunten", L_ACTION}, {"actiepunt", L_ACTION},
    {"action item", L_ACTION}, {"action point", L_ACTION},
    {"actie", L_ACTION},       {"action", L_ACTION},
    {"afgehandeld", L_DONE},   {"afgerond", L_DONE},
    {"completed", L_DONE},     {"gedaan", L_DONE},
    {"klaar", L_DONE},         {"done", L_DONE},
};

static const char *const greet_words[] = {
    "hoi",     "hallo",       "hi",          "hello",       "hey",  "beste",
    "dear",    "goedemorgen", "goedemiddag", "goedenavond", "good", "groet",
    "groeten", "gr",          "mvg",         "bedankt",     "dank", "thanks",
    "thank",   "regards",     "cheers",      NULL};

/* "Hoi,", "Beste Jan,", "Groeten", "Thanks!": short lines that open with a
 * greeting or closing word carry no action and are not worth reporting. */
static int
is_greeting(const char *l)
{
    size_t words = 1, n = strlen(l);

    for (const char *p = l; *p; p++)
        if (*p == ' ' && p[1] != ' ' && p[1] != '\0')
            words++;
    if (n > 60 || words > 5)
        return 0;
    for (const char *const *g = greet_words; *g; g++) {
        size_t gl = strlen(*g);
        if (prefix_ci(l, *g) && word_end(l[gl]))
            return 1;
    }
    return 0;
}

/* A list marker: "-", "*", "•", "–", "1.", "2)". Returns what follows. */
static const char *
skip_marker(const char *l, int *marked)
{
    size_t n = 0;

    *marked = 0;
    if ((*l == '-' || *l == '*') && (l[1] == ' ' || l[1] == '\t'))
        n = 1;
    else if (strncmp(l, "\xE2\x80\xA2", 3) == 0 ||
             strncmp(l, "\xE2\x80\x93", 3) == 0)
        n = 3;
    else {
        while (isdigit((unsigned char)l[n]) && n < 3)
            n++;
        if (n == 0 || (l[n] != '.' && l[n] != ')') || l[n + 1] != ' ')
            n = 0;
        else
            n++;
    }
    if (n == 0)
        return l;
    *marked = 1;
    return skip_ws(l + n);
}

/* The label of a line and where its content starts. A label needs a colon
 * ("Actie: …", "Actie 2: …") or a dash after it, or a list marker before it
 * ("- Actie …"), so running text that starts with "Actie" is not one. */
static enum label
read_label(const char *l, const char **rest)
{
    int marked;
    const char *p = skip_marker(l, &marked);

    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        size_t n = strlen(labels[i].w);
        const char *q;
        if (!prefix_ci(p, labels[i].w) || !word_end(p[n]))
            continue;
        q = skip_ws(p + n);
        if (labels[i].kind == L_ACTION && isdigit((unsigned char)*q)) {
            while (isdigit((unsigned char)*q))
                q++;
            q = skip_ws(q);
        }
        if (*q == ':' || (*q == '-' && (q[1] == ' ' || q[1] == '\0'))) {
            *rest = skip_ws(q + 1);
            return labels[i].kind;
        }
        if (marked && (q > p + n || *q == '\0')) {
            *rest = q;
            return labels[i].kind;
        }
        return L_NONE;
    }
    return L_NONE;
}

/* "1, 3", "#2", "1 en 3", "2 and 4." → numbers; -1 if anything else. */
static int
read_numbers(const char *s, int **out, size_t *n)
{
    size_t cap = 0;

    *n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\t' || *s == ',' || *s == ';' || *s == '&' ||
            *s == '#' || *s == '.') {
            s++;
        } else if (prefix_ci(s, "en") && word_end(s[2])) {
            s += 2;
        } else if (prefix_ci(s, "and") && word_end(s[3])) {
            s += 3;
        } else if (isdigit((unsigned char)*s)) {
            long v = 0;
            int seen = 0;
            while (isdigit((unsigned char)*s)) {
                if (v < 1000000)
                    v = v * 10 + (*s - '0');
                s++;
            }
            if (v < 1 || v >= 1000000 || !word_end(*s))
                return -1;
            for (size_t i = 0; i < *n; i++)
                seen |= (*out)[i] == (int)v;
            if (seen)
                continue;
            if (*n == cap) {
                size_t nc = cap ? 2 * cap : 4;
                int *g = realloc(*out, nc * sizeof *g);
                if (g == NULL)
                    return -2;
                *out = g;
                cap = nc;
            }
            (*out)[(*n)++] = (int)v;
        } else {
            return -1;
        }
    }
    return *n > 0 ? 0 : -1;
}

/* Removes bytes [from, to) of s in place. */
static void
cut(char *s, size_t from, size_t to)
{
    memmove(s + from, s + to, strlen(s + to) + 1);
}

/* "[communication]": the first bracketed word made of id characters. */
static int
find_tag(const char *s, size_t *from, size_t *to)
{
    for (const char *p = strchr(s, '['); p; p = strchr(p + 1, '[')) {
        size_t n = 1;
        while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-')
            n++;
        if (n > 1 && p[n] == ']') {
            *from = (size_t)(p - s);
            *to = *from + n + 1;
            return 1;
        }
    }
    return 0;
}

static const char *const due_words[] = {
    "uiterlijk", "deadline", "before", "voor", "tot", "by", "due", NULL};

/* Finds "tot 2027-02-01" (or another due word and date form) and cuts it,
 * with brackets around it. 0 found, 1 none, -2 a date that is not real. */
static int
take_due(char *s, eq_day *due)
{
    for (size_t i = 0; s[i]; i++) {
        if (i > 0 && s[i - 1] != ' ' && s[i - 1] != '(' && s[i - 1] != ',')
            continue;
        for (const char *const *w = due_words; *w; w++) {
            size_t wl = strlen(*w), used = 0, end;
            const char *d;
            int rc;
            if (!prefix_ci(s + i, *w) || !word_end(s[i + wl]))
                continue;
            d = s + i + wl;
            if (*d == ':')
                d++;
            d = skip_ws(d);
            if (prefix_ci(d, "op ") || prefix_ci(d, "on "))
                d = skip_ws(d + 3);
            rc = action_parse_due(d, due, &used);
            if (rc == -1)
                continue;
            if (rc == -2)
                return -2;
            end = (size_t)(d - s) + used;
            if (i > 0 && s[i - 1] == '(' && s[end] == ')') {
                i--;
                end++;
            }
            cut(s, i, end);
            return 0;
        }
    }
    return 1;
}

/* Collapses runs of spaces and trims separators left at either end. */
static void
tidy(char *s)
{
    size_t j = 0;

    for (size_t i = 0; s[i]; i++) {
        char c = s[i] == '\t' ? ' ' : s[i];
        if (c == ' ' && (j == 0 || s[j - 1] == ' '))
            continue;
        s[j++] = c;
    }
    s[j] = '\0';
    while (j > 0 && strchr(" ,;:-", s[j - 1]) != NULL)
        s[--j] = '\0';
    j = strspn(s, " ,;:-");
    if (j > 0)
        cut(s, 0, j);
}

static enum eq_err
add_unread(struct action_reply *r, size_t *cap, const char *line,
           enum action_reason why)
{
    if (r->n_unread == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        struct action_unread *g = realloc(r->unread, nc * sizeof *g);
        if (g == NULL)
            return EQ_ERR_NOMEM;
        r->unread = g;
        *cap = nc;
    }
    if ((r->unread[r->n_unread].line = strdup(line)) == NULL)
        return EQ_ERR_NOMEM;
    r->unread[r->n_unread++].why = why;
    return EQ_OK;
}

/* One "Actie: …" line: EQ_OK with *why set when it is not readable. */
static enum eq_err
read_action(const char *rest, const char *const *metrics, size_t n_metrics,
            struct action_item *it, int *bad, enum action_reason *why)
{
    char *t = strdup(rest);
    size_t from, to;
    int rc;

    memset(it, 0, sizeof *it);
    *bad = 0;
    if (t == NULL)
        return EQ_ERR_NOMEM;
    if (find_tag(t, &from, &to)) {
        for (size_t i = 0; i < n_metrics && it->metric == NULL; i++)
            if (strlen(metrics[i]) == to - from - 2 &&
                strncasecmp(t + from + 1, metrics[i], to - from - 2) == 0 &&
                (it->metric = strdup(metrics[i])) == NULL) {
                free(t);
                return EQ_ERR_NOMEM;
            }
        if (it->metric == NULL) {
            *bad = 1;
            *why = ACTION_BAD_METRIC;
            goto out;
        }
        cut(t, from, to);
    }
    rc = take_due(t, &it->due);
    if (rc == -2) {
        *bad = 1;
        *why = ACTION_BAD_DATE;
        goto out;
    }
    it->has_due = rc == 0;
    tidy(t);
    if (*t == '\0') {
        *bad = 1;
        *why = ACTION_EMPTY;
    } else if (strlen(t) > ACTION_MAX_TEXT) {
        *bad = 1;
        *why = ACTION_TOO_LONG;
    }
out:
    if (*bad) {
        free(t);
        free(it->metric);
        memset(it, 0, sizeof *it);
        return EQ_OK;
    }
    it->text = t;
    return EQ_OK;
}

enum eq_err
action_parse(const char *body, const char *const *metrics, size_t n_metrics,
             const char *stop, struct action_reply *out)
{
    char *text = NULL, *line, *next;
    size_t cap_items = 0, cap_unread = 0;
    enum eq_err err;

    memset(out, 0, sizeof *out);
    if ((err = reply_strip(body ? body : "", &text)) != EQ_OK)
        return err;
    for (line = text; line != NULL && err == EQ_OK; line = next) {
        const char *rest = NULL;
        enum label kind;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        eq_trim(line);
        if (*line == '\0')
            continue;
        if (stop != NULL && *stop && strstr(line, stop) != NULL)
            break;
        kind = read_label(line, &rest);
        /* "Actie: <wat u gaat doen>": the example of a quoted instruction */
        if (kind != L_NONE && *rest == '<' && strchr(rest, '>') != NULL)
            continue;
        if (kind == L_NONE) {
            if (!is_greeting(line))
                err = add_unread(out, &cap_unread, line, ACTION_NOT_AN_ACTION);
        } else if (*rest == '\0') {
            err = add_unread(out, &cap_unread, line, ACTION_EMPTY);
        } else if (kind == L_DONE) {
            int *nums = NULL;
            size_t n = 0;
            int rc = read_numbers(rest, &nums, &n);
            if (rc == -2)
                err = EQ_ERR_NOMEM;
            else if (rc < 0)
                err = add_unread(out, &cap_unread, line, ACTION_BAD_DONE);
            for (size_t i = 0; rc == 0 && i < n && err == EQ_OK; i++) {
                int seen = 0;
                for (size_t j = 0; j < out->n_done; j++)
                    seen |= out->done[j] == nums[i];
                if (seen)
                    continue;
                int *g = realloc(out->done, (out->n_done + 1) * sizeof *g);
                if (g == NULL) {
                    err = EQ_ERR_NOMEM;
                    break;
                }
                out->done = g;
                out->done[out->n_done++] = nums[i];
            }
            free(nums);
        } else if (out->n_items >= ACTION_MAX_ITEMS) {
            err = add_unread(out, &cap_unread, line, ACTION_TOO_MANY);
        } else {
            struct action_item it;
            enum action_reason why = ACTION_EMPTY;
            int bad;
            err = read_action(rest, metrics, n_metrics, &it, &bad, &why);
            if (err == EQ_OK && bad) {
                err = add_unread(out, &cap_unread, line, why);
            } else if (err == EQ_OK) {
                if (out->n_items == cap_items) {
                    size_t nc = cap_items ? 2 * cap_items : 4;
                    struct action_item *g = realloc(out->items, nc * sizeof *g);
                    if (g == NULL) {
                        free(it.text);
                        free(it.metric);
                        err = EQ_ERR_NOMEM;
                        break;
                    }
                    out->items = g;
                    cap_items = nc;
                }
                out->items[out->n_items++] = it;
            }
        }
    }
    free(text);
    if (err != EQ_OK)
        action_reply_clear(out);
    return err;
}

void
action_reply_clear(struct action_reply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_items; i++) {
        free(r->items[i].text);
        free(r->items[i].metric);
    }
    for (size_t i = 0; i < r->n_unread; i++)
        free(r->unread[i].line);
    free(r->items);
    free(r->done);
    free(r->unread);
    memset(r, 0, sizeof *r);
}

const char *
action_reason_text(enum action_reason why, const char *lang)
{
    static const char *const nl[] = {
        [ACTION_NOT_AN_ACTION] = "geen actie (begin de regel met 'Actie:')",
        [ACTION_EMPTY] = "geen tekst na het label",
        [ACTION_BAD_METRIC] = "onbekend onderwerp tussen [ ]",
        [ACTION_BAD_DATE] = "geen bestaande datum",
        [ACTION_BAD_DONE] =
            "na 'Klaar:' alleen actienummers, zoals 'Klaar: 1, 3'",
        [ACTION_TOO_LONG] = "te lang (ten hoogste 500 tekens)",
        [ACTION_TOO_MANY] = "te veel acties in één bericht (ten hoogste 50)",
    };
    static const char *const en[] = {
        [ACTION_NOT_AN_ACTION] =
            "not an action (start the line with 'Action:')",
        [ACTION_EMPTY] = "no text after the label",
        [ACTION_BAD_METRIC] = "unknown topic in [ ]",
        [ACTION_BAD_DATE] = "not a real date",
        [ACTION_BAD_DONE] =
            "after 'Done:' only action numbers, like 'Done: 1, 3'",
        [ACTION_TOO_LONG] = "too long (500 characters at most)",
        [ACTION_TOO_MANY] = "too many actions in one message (50 at most)",
    };
    if ((unsigned)why > ACTION_TOO_MANY)
        why = ACTION_NOT_AN_ACTION;
    return lang != NULL && strcmp(lang, "en") == 0 ? en[why] : nl[why];
}
