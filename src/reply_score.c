/* reply_score: reading the scores, n.v.t. and the comment of a reply
 * (numbers in words and digits, labelled or running text, traps such as
 * times, dates, phone numbers and fractions). */
#include "reply.h"
#include "reply_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Numbers. */

enum num_kind {
    NUM_NONE,    /* no number here */
    NUM_SKIP,    /* a number that never counts: time, date, phone, year */
    NUM_INT,     /* value, and denom when written as "7/10" */
    NUM_DECIMAL, /* "7,5", "7.5" */
    NUM_RANGE    /* "6-8" */
};

struct num {
    enum num_kind kind;
    long value;
    long denom; /* 0 unless "N/D" or "N out of D" */
    const char *end;
};

static const struct {
    const char *word;
    int value;
} number_words[] = {
    {"nul", 0},        {"zero", 0},  {"een", 1},   {"\xc3\xa9\xc3\xa9n", 1},
    {"e\xc3\xa9n", 1}, {"one", 1},   {"twee", 2},  {"two", 2},
    {"drie", 3},       {"three", 3}, {"vier", 4},  {"four", 4},
    {"vijf", 5},       {"five", 5},  {"zes", 6},   {"six", 6},
    {"zeven", 7},      {"seven", 7}, {"acht", 8},  {"eight", 8},
    {"negen", 9},      {"nine", 9},  {"tien", 10}, {"ten", 10},
};

static const char *const units[] = {
    "uur",       "u",     "h",        "am",      "pm",       "a.m.",
    "p.m.",      "min",   "mins",     "minuten", "minuut",   "minute",
    "minutes",   "sec",   "seconden", "hours",   "hour",     "uren",
    "hrs",       "dag",   "dagen",    "day",     "days",     "week",
    "weken",     "weeks", "maand",    "maanden", "month",    "months",
    "jaar",      "jaren", "year",     "years",   "keer",     "times",
    "x",         "%",     "procent",  "percent", "euro",     "eur",
    "cent",      "km",    "kg",       "mensen",  "personen", "people",
    "werkdagen", NULL};

static const char *const months[] = {
    "jan",  "januari",   "january", "feb",      "februari", "february",
    "mrt",  "maart",     "mar",     "march",    "apr",      "april",
    "mei",  "may",       "jun",     "juni",     "june",     "jul",
    "juli", "july",      "aug",     "augustus", "august",   "sep",
    "sept", "september", "okt",     "oktober",  "oct",      "october",
    "nov",  "november",  "dec",     "december", NULL};

/* Words before a number that make it a time, an id or a date. */
static const char *const skip_before[] = {
    "om",       "at",      "nr",       "nummer",  "no",      "ticket",
    "kamer",    "room",    "versie",   "version", "release", "week",
    "wk",       "pagina",  "page",     "stap",    "step",    "test",
    "item",     "deel",    "part",     "fase",    "phase",   "hoofdstuk",
    "chapter",  "bijlage", "appendix", "artikel", "article", "tel",
    "telefoon", "phone",   "toestel",  "ext",     "rond",    "around",
    "sinds",    "since",   NULL};

/* Dutch phrases with "ten" that are not the number. */
static const char *const ten_dutch[] = {
    "behoeve",    "minste",  "opzichte", "eerste",  "tweede",    "slotte",
    "aanzien",    "tijde",   "gevolge",  "einde",   "onrechte",  "koste",
    "dele",       "volle",   "laatste",  "hoogste", "huize",     "noorden",
    "zuiden",     "oosten",  "westen",   "allen",   "overstaan", "spijt",
    "spoedigste", "zeerste", NULL};

static size_t
word_len(const char *p)
{
    size_t n = 0;

    while (p[n] != '\0' && reply_is_wordc(p + n))
        n++;
    return n;
}

/* Longer than any word in the lists above, and than an acronym: a word
 * after a number is read no further than this (a 1 MB "een.een.een…" would
 * otherwise be read to its end after every "een"). */
#define WORD_LOOK 32

/* word_len, but stops at max. */
static size_t
word_len_max(const char *p, size_t max)
{
    size_t n = 0;

    while (n < max && p[n] != '\0' && reply_is_wordc(p + n))
        n++;
    return n;
}

static size_t
digits_len(const char *p)
{
    size_t n = 0;

    while (isdigit((unsigned char)p[n]))
        n++;
    return n;
}

/* The word right after p (skipping spaces), with a trailing '.' kept for
 * "a.m."-like units. A word of WORD_LOOK bytes or more is cut there: it is
 * in no list either way. */
static struct span
next_word(const char *p)
{
    struct span w;

    while (*p == ' ' || reply_is_nbsp(p))
        p += *p == ' ' ? 1 : 2;
    w.s = p;
    if (*p == '%') {
        w.n = 1;
        return w;
    }
    w.n = word_len_max(p, WORD_LOOK);
    while (w.n < WORD_LOOK && w.s[w.n] == '.' && reply_is_wordc(w.s + w.n + 1))
        w.n += 1 + word_len_max(w.s + w.n + 1, WORD_LOOK);
    return w;
}

/* The word right before p, which is the start of a number. */
static struct span
prev_word(const char *start, const char *p)
{
    struct span w = {p, 0};

    for (;;) {
        if (p > start && (p[-1] == ' ' || p[-1] == '.'))
            p--;
        else if (p - 1 > start && reply_is_nbsp(p - 2))
            p -= 2;
        else
            break;
    }
    w.s = p;
    while (w.s > start && isalpha((unsigned char)w.s[-1]))
        w.s--;
    w.n = (size_t)(p - w.s);
    return w;
}

static int
is_after_boundary(const char *p)
{
    unsigned char c = (unsigned char)*p;

    if (c == '\0' || c == '\n' || reply_is_space((char)c) || reply_is_nbsp(p) ||
        reply_is_upunct(p))
        return 1;
    return c < 0x80 && ispunct(c);
}

static long
span_long(const char *p, size_t n)
{
    long v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* The last run of digits and separators found not to be a phone number.
 * Every number inside it reads as the same run from there on, which is not
 * one either: without this, "1 1 1 …" is scanned to its end from every
 * digit (quadratic). */
struct phone_miss {
    const char *from, *to;
};

/* A phone number: at least seven digits in groups, one of three or more,
 * joined by single spaces, dashes, dots, slashes or brackets. */
static const char *
phone_end(const char *p, struct phone_miss *miss)
{
    size_t digits = 0, group = 0, longest = 0;
    const char *q = p, *last = p;

    if (miss->to != NULL && p >= miss->from && p < miss->to)
        return NULL;
    if (*q == '+')
        q++;
    while (*q != '\0') {
        if (isdigit((unsigned char)*q)) {
            digits++;
            group++;
            if (group > longest)
                longest = group;
            last = ++q;
        } else if (strchr(" -./()", *q) != NULL &&
                   (isdigit((unsigned char)q[1]) ||
                    (q[1] != '\0' && strchr(" (", q[1]) != NULL && q[1] != *q &&
                     isdigit((unsigned char)q[2])))) {
            group = 0;
            q++;
        } else {
            break;
        }
    }
    if (digits >= 7 && longest >= 3)
        return last;
    miss->from = p;
    miss->to = q;
    return NULL;
}

/* "N/D", "N van de D", "N uit D", "N out of D", "N op D" */
static const char *
denominator(const char *p, long *denom)
{
    static const char *const joins[] = {" van de ", " uit ", " out of ",
                                        " op ",     " van ", NULL};
    const char *q = NULL;
    size_t d;

    if (*p == '/')
        q = p + 1;
    for (const char *const *j = joins; q == NULL && *j != NULL; j++)
        if (reply_starts_ci(p, *j))
            q = p + strlen(*j);
    if (q == NULL || (d = digits_len(q)) == 0 || d > 3 ||
        !is_after_boundary(q + d) ||
        ((q[d] == '/' || q[d] == '-' || q[d] == '.') &&
         isdigit((unsigned char)q[d + 1])))
        return NULL;
    *denom = span_long(q, d);
    return q + d;
}

/* Reads the number that starts at p, if any. start is the beginning of the
 * text (for looking back). running is set for running text, where a few
 * number words are too common as ordinary words to count. The word before
 * is looked up only for a number: it may stand after a long run of spaces
 * or dots, which must not be read again from every position in it. */
static void
read_number(const char *start, const char *p, int running,
            struct phone_miss *miss, struct num *out)
{
    struct span pw, w;
    const char *q;
    size_t d1;

    memset(out, 0, sizeof *out);
    out->end = p;
    if (p > start &&
        (reply_wordc_before(start, p) || strchr("@/:#+_=&$\\", p[-1]) != NULL))
        return;
    if (p > start && p[-1] == '-' && p - 1 > start &&
        reply_wordc_before(start, p - 1))
        return;
    if (*p == '+' || isdigit((unsigned char)*p)) {
        if ((q = phone_end(p, miss)) != NULL) {
            out->kind = NUM_SKIP;
            out->end = q;
            return;
        }
    }
    if (isdigit((unsigned char)*p)) {
        d1 = digits_len(p);
        q = p + d1;
        out->kind = NUM_SKIP;
        out->end = q;
        if (q[0] == ':' && isdigit((unsigned char)q[1])) { /* 9:30 */
            out->end = q + 1 + digits_len(q + 1);
            return;
        }
        if ((q[0] == '.' || q[0] == ',' || q[0] == '-') &&
            isdigit((unsigned char)q[1])) {
            const char *r = q + 1;
            size_t d2 = digits_len(r);
            r += d2;
            out->end = r;
            if ((*r == '.' || *r == '-' || *r == '/') &&
                isdigit((unsigned char)r[1])) { /* 3-11-2026, 3.11.2026 */
                out->end = r + 1 + digits_len(r + 1);
                return;
            }
            w = next_word(r);
            if (q[0] != ',' &&
                reply_in_list_ci(w, units)) /* 8.45am, 9.30 uur */
                return;
            if (reply_is_wordc(r) || d1 > 2)
                return;
            if (q[0] == '-') {
                out->kind = d2 <= 2 ? NUM_RANGE : NUM_SKIP;
                return;
            }
            if (d2 > 2 && q[0] == ',') /* 1,000 */
                return;
            out->kind = NUM_DECIMAL;
            return;
        }
        if (q[0] == '/' && isdigit((unsigned char)q[1])) {
            const char *r = q + 1 + digits_len(q + 1);
            if ((*r == '/' || *r == '-') && isdigit((unsigned char)r[1])) {
                out->end = r + 1 + digits_len(r + 1); /* 10/19/2017 */
                return;
            }
        }
        if (d1 > 2 || reply_is_wordc(q)) /* years, ids, "3e", "4th", "8am" */
            return;
        pw = prev_word(start, p);
        if (reply_in_list_ci(pw, months) || reply_in_list_ci(pw, skip_before))
            return;
        w = next_word(q);
        if (reply_in_list_ci(w, units) || reply_in_list_ci(w, months))
            return;
        out->value = span_long(p, d1);
        out->kind = NUM_INT;
        if ((q = denominator(q, &out->denom)) != NULL)
            out->end = q;
        return;
    }
    w.s = p;
    w.n = word_len(p);
    if (w.n == 0)
        return;
    out->end = p + w.n;
    for (size_t i = 0; i < sizeof number_words / sizeof number_words[0]; i++) {
        const char *nw = number_words[i].word;
        struct span after;
        if (strlen(nw) != w.n || strncasecmp(p, nw, w.n) != 0)
            continue;
        after = next_word(p + w.n);
        if (reply_in_list_ci(after, units) || reply_in_list_ci(after, months))
            return;
        if (running && (strcmp(nw, "een") == 0 || strcmp(nw, "one") == 0))
            return;
        if (strcmp(nw, "ten") == 0 && reply_in_list_ci(after, ten_dutch))
            return;
        if (strcmp(nw, "acht") == 0) {
            pw = prev_word(start, p);
            if ((pw.n == 2 && strncasecmp(pw.s, "in", 2) == 0) ||
                reply_starts_ci(after.s, "genomen") ||
                reply_starts_ci(after.s, "nemen") ||
                reply_starts_ci(after.s, "neem"))
                return;
        }
        out->kind = NUM_INT;
        out->value = number_words[i].value;
        return;
    }
}

/* ------------------------------------------------------------------ */
/* Reading. */

static const char *const nvt_phrases[] = {"n.v.t.",
                                          "n.v.t",
                                          "nvt",
                                          "n/a",
                                          "not applicable",
                                          "niet van toepassing",
                                          "geen contact",
                                          NULL};

/* Length of an n.v.t. phrase at p, else 0. */
static size_t
nvt_at(const char *start, const char *p)
{
    if (p > start && reply_wordc_before(start, p))
        return 0;
    for (const char *const *ph = nvt_phrases; *ph != NULL; ph++) {
        size_t k = strlen(*ph);
        if (reply_starts_ci(p, *ph) && !reply_is_wordc(p + k))
            return k;
    }
    return 0;
}

static int
nvt_in(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nvt_at(s, s + i) > 0)
            return 1;
    return 0;
}

/* The comment starts after the score's separator: " - ", " — ", ":", ",",
 * ".", "!" and white space. */
static const char *
skip_separator(const char *p)
{
    for (;;) {
        if (*p == '\n' || reply_is_space(*p) ||
            strchr("-:,.;!?)+", *p) != NULL) {
            if (*p == '\0')
                return p;
            p++;
        } else if (reply_is_nbsp(p)) {
            p += 2;
        } else if ((unsigned char)p[0] == 0xE2 && (unsigned char)p[1] == 0x80 &&
                   ((unsigned char)p[2] == 0x93 ||
                    (unsigned char)p[2] == 0x94 ||
                    (unsigned char)p[2] == 0xA6)) {
            p += 3;
        } else {
            return p;
        }
    }
}

struct reader {
    const struct reply_metric *metrics;
    size_t n_metrics;
    struct reply_answer *a;
    struct phone_miss miss; /* in a->text */
};

static void
review(struct reader *r, const char *reason)
{
    r->a->needs_review = 1;
    if (r->a->review_reason[0] == '\0')
        snprintf(r->a->review_reason, sizeof r->a->review_reason, "%s", reason);
}

static void
set_score(struct reader *r, size_t metric, int score)
{
    struct reply_answer *a = r->a;
    size_t i;

    for (i = 0; i < a->n_scores; i++)
        if (strcmp(a->scores[i].id, r->metrics[metric].id) == 0)
            break;
    if (i == a->n_scores) {
        if (a->n_scores == REPLY_MAX_METRICS)
            return;
        a->n_scores++;
    }
    snprintf(a->scores[i].id, sizeof a->scores[i].id, "%s",
             r->metrics[metric].id);
    a->scores[i].score = score;
}

/* Applies one read number to a metric, or flags the mail for review. */
static void
answer(struct reader *r, size_t metric, const struct num *nm)
{
    const struct reply_metric *m = &r->metrics[metric];

    if (nm->kind == NUM_DECIMAL) {
        review(r, "decimal score");
        return;
    }
    if (nm->kind == NUM_RANGE) {
        review(r, "several numbers");
        return;
    }
    if (nm->denom != 0 && nm->denom != m->max) {
        review(r, "score on another scale");
        return;
    }
    if (nm->value < m->min || nm->value > m->max) {
        review(r, "score out of range");
        return;
    }
    set_score(r, metric, (int)nm->value);
}

static int
scoreish(const struct num *nm)
{
    return nm->kind == NUM_INT || nm->kind == NUM_DECIMAL ||
           nm->kind == NUM_RANGE;
}

/* Start-of-answer reading of one number; "een"/"one" there must stand
 * alone, since "Een snelle reactie" starts with the article. */
static void
read_start_number(const char *start, const char *p, struct phone_miss *miss,
                  struct num *nm)
{
    read_number(start, p, 0, miss, nm);
    if (nm->kind == NUM_INT && !isdigit((unsigned char)*p) && nm->value == 1 &&
        nm->end[0] == ' ' && reply_is_wordc(nm->end + 1))
        nm->kind = NUM_NONE;
    if (scoreish(nm) && !is_after_boundary(nm->end))
        nm->kind = NUM_NONE;
}

/* A line holding only numbers ("9 6 4", "9, 6, 4", "8."): their count, or
 * -1 if the line holds anything else. */
static int
numeric_line(const char *start, struct span l, struct phone_miss *miss,
             struct num *nums, int max)
{
    const char *p = l.s, *e = l.s + l.n;
    int count = 0;

    while (p < e) {
        struct num nm;
        while (p < e && (reply_is_space(*p) || reply_is_nbsp(p)))
            p += reply_is_nbsp(p) ? 2 : 1;
        if (p >= e)
            break;
        read_start_number(start, p, miss, &nm);
        if (!scoreish(&nm) || nm.end > e)
            return -1;
        if (count < max)
            nums[count] = nm;
        count++;
        p = nm.end;
        if (p < e && (*p == ',' || *p == ';')) {
            if (p + 1 < e && !reply_is_space(p[1]))
                return -1;
            p++;
        } else if (p < e && strchr(".!", *p) != NULL) {
            while (p < e && strchr(".!", *p) != NULL)
                p++;
            if (p < e &&
                reply_span_trim((struct span){p, (size_t)(e - p)}).n > 0)
                return -1;
        } else if (p < e && !reply_is_space(*p) && !reply_is_nbsp(p)) {
            return -1;
        }
    }
    return count;
}

static enum eq_err
set_comment(struct reply_answer *a, const char *from, const char *to)
{
    static const char *const labels[] = {
        "opmerkingen:", "opmerking:", "toelichting:",
        "comments:",    "comment:",   NULL};
    struct span c = {from, (size_t)(to - from)};

    c = reply_span_trim(c);
    while (c.n > 0 && c.s[0] == '\n') {
        c.s++;
        c.n--;
        c = reply_span_trim(c);
    }
    for (const char *const *l = labels; *l != NULL; l++)
        if (reply_span_starts_ci(c, *l)) {
            c.s += strlen(*l);
            c.n -= strlen(*l);
            break;
        }
    while (c.n > 0 && (reply_is_space(*c.s) || *c.s == '\n')) {
        c.s++;
        c.n--;
    }
    while (c.n > 0 && (reply_is_space(c.s[c.n - 1]) || c.s[c.n - 1] == '\n'))
        c.n--;
    free(a->comment);
    a->comment = strndup(c.s, c.n);
    return a->comment != NULL ? EQ_OK : EQ_ERR_NOMEM;
}

static const char *const generic_labels[] = {"cijfer", "score", "antwoord",
                                             "rating", NULL};

/* A label at the start of l followed by a value; sets *metric and returns
 * where the value starts, or NULL. */
static const char *
label_at(const struct reader *r, struct span l, size_t *metric)
{
    size_t best = 0;
    const char *value = NULL;

    for (size_t m = 0; m < r->n_metrics; m++) {
        const char *names[3] = {r->metrics[m].id, r->metrics[m].label_nl,
                                r->metrics[m].label_en};
        for (int i = 0; i < 3; i++) {
            size_t k = names[i] != NULL ? strlen(names[i]) : 0;
            if (k == 0 || k <= best || !reply_span_starts_ci(l, names[i]) ||
                (k < l.n && reply_is_wordc(l.s + k)))
                continue;
            best = k;
            *metric = m;
            value = l.s + k;
        }
    }
    for (const char *const *g = generic_labels; *g != NULL && r->n_metrics;
         g++) {
        size_t k = strlen(*g);
        if (k <= best || !reply_span_starts_ci(l, *g) ||
            (k < l.n && reply_is_wordc(l.s + k)))
            continue;
        best = k;
        *metric = 0;
        value = l.s + k;
    }
    if (value == NULL)
        return NULL;
    while (value < l.s + l.n && (reply_is_space(*value) || *value == ':' ||
                                 *value == '=' || *value == '-'))
        value++;
    return value < l.s + l.n ? value : NULL;
}

/* Labelled lines at the start ("NPS: 9", "CES 6", "Cijfer: 8"). Returns 1
 * if there was at least one; the comment is what follows their values, and
 * when every line of the first paragraph (v, n) is labelled, the paragraphs
 * after it (from para_end): "NPS: 3", a blank line, then the comment. */
static enum eq_err
read_labelled(struct reader *r, const char *ans, const struct span *v, size_t n,
              const char *para_end, int *found)
{
    struct eq_buf c = {0};
    size_t i;
    enum eq_err err = EQ_OK;

    *found = 0;
    for (i = 0; i < n; i++) {
        size_t metric = 0, k;
        const char *val = label_at(r, reply_span_trim(v[i]), &metric), *rest;
        struct num nm;
        if (val == NULL)
            break;
        if ((k = nvt_at(ans, val)) > 0) {
            r->a->not_applicable = 1;
            rest = val + k;
        } else {
            /* The label is the context: no looking back past it. */
            read_start_number(val, val, &r->miss, &nm);
            if (!scoreish(&nm))
                break;
            answer(r, metric, &nm);
            rest = nm.end;
        }
        *found = 1;
        rest = skip_separator(rest);
        if (rest < v[i].s + v[i].n) {
            if (c.len > 0 && (err = buf_addc(&c, '\n')) != EQ_OK)
                goto out;
            if ((err = buf_addn(&c, rest, (size_t)(v[i].s + v[i].n - rest))) !=
                EQ_OK)
                goto out;
        }
    }
    if (!*found)
        goto out;
    if (i < n || *para_end != '\0') {
        if (c.len > 0 && (err = buf_addc(&c, '\n')) != EQ_OK)
            goto out;
        if ((err = buf_add(&c, i < n ? v[i].s : para_end)) != EQ_OK)
            goto out;
    }
    err = set_comment(r->a, buf_str(&c), buf_str(&c) + c.len);
out:
    buf_free(&c);
    return err;
}

/* The first paragraph as running text: exactly one candidate number. */
static enum eq_err
read_running(struct reader *r, const char *ans, const char *para_end)
{
    struct num found = {0}, nm;
    int count = 0;

    for (const char *p = ans; p < para_end;) {
        if (p > ans && reply_wordc_before(ans, p)) {
            p++;
            continue;
        }
        read_number(ans, p, 1, &r->miss, &nm);
        if (nm.kind == NUM_NONE) {
            p++;
            continue;
        }
        if (scoreish(&nm)) {
            count += nm.kind == NUM_RANGE ? 2 : 1;
            found = nm;
        }
        p = nm.end > p ? nm.end : p + 1;
    }
    if (count == 0 && nvt_in(ans, (size_t)(para_end - ans)))
        r->a->not_applicable = 1;
    else if (count == 0)
        review(r, "no score");
    else if (count > 1)
        review(r, "several numbers");
    else
        answer(r, 0, &found);
    /* The sentence around the number is the comment as a whole. */
    return set_comment(r->a, ans, ans + strlen(ans));
}

static enum eq_err
read_answer(struct reader *r, const char *ans)
{
    struct span *v = NULL;
    size_t n, i, para;
    struct num nm, nums[REPLY_MAX_METRICS + 1];
    const char *rest, *para_end;
    int found, count = 0;
    enum eq_err err;

    /* " 8", "&nbsp;8 - snel" (Outlook): white space before the answer */
    while (reply_is_space(*ans) || reply_is_nbsp(ans))
        ans += reply_is_nbsp(ans) ? 2 : 1;
    if ((err = reply_split_lines(ans, &v, &n)) != EQ_OK)
        return err;
    for (para = 0; para < n && !reply_span_blank(v[para]); para++)
        ;
    para_end = para < n ? v[para].s : ans + strlen(ans);
    if ((err = read_labelled(r, ans, v, para, para_end, &found)) != EQ_OK ||
        found)
        goto out;
    if ((i = nvt_at(ans, ans)) > 0) {
        r->a->not_applicable = 1;
        err = set_comment(r->a, skip_separator(ans + i), ans + strlen(ans));
        goto out;
    }
    /* Leading lines of only numbers: a sequence when there are several. */
    for (i = 0; i < para; i++) {
        int c = numeric_line(ans, reply_span_trim(v[i]), &r->miss, nums + count,
                             REPLY_MAX_METRICS + 1 - count);
        if (c <= 0)
            break;
        count += c;
        if (count > REPLY_MAX_METRICS)
            break;
    }
    if (count >= 2) {
        if ((size_t)count > r->n_metrics) {
            review(r, "more numbers than questions");
        } else {
            for (int k = 0; k < count; k++)
                answer(r, (size_t)k, &nums[k]);
        }
        rest = i < n ? v[i].s : ans + strlen(ans);
        err = set_comment(r->a, rest, ans + strlen(ans));
        goto out;
    }
    read_start_number(ans, ans, &r->miss, &nm);
    if (scoreish(&nm)) {
        /* "zes of zeven", "8 - 9", "6 tot 8": a range, not a score. */
        static const char *const joins[] = {
            "-",  "of",       "tot", "en",           "or",
            "to", "\xc3\xa0", "a",   "\xe2\x80\x93", NULL};
        struct span w;
        struct num nx;
        const char *p = nm.end;
        while (*p == ' ')
            p++;
        w.s = p;
        w.n = *p == '-' ? 1 : word_len(p);
        if (w.n == 0 && (unsigned char)*p == 0xE2)
            w.n = 3;
        if (w.n > 0 && reply_in_list_ci(w, joins) && p[w.n] == ' ') {
            p += w.n;
            while (*p == ' ')
                p++;
            read_start_number(ans, p, &r->miss, &nx);
            if (scoreish(&nx))
                nm.kind = NUM_RANGE;
        }
        if (nm.kind == NUM_RANGE) {
            review(r, "several numbers");
            err = set_comment(r->a, ans, ans + strlen(ans));
            goto out;
        }
        answer(r, 0, &nm);
        err = set_comment(r->a, skip_separator(nm.end), ans + strlen(ans));
        goto out;
    }
    err = read_running(r, ans, para_end);
out:
    free(v);
    return err;
}

void
reply_answer_clear(struct reply_answer *a)
{
    if (a == NULL)
        return;
    free(a->comment);
    free(a->text);
    memset(a, 0, sizeof *a);
}

enum eq_err
reply_read(const char *body, const struct reply_metric *metrics,
           size_t n_metrics, struct reply_answer *out)
{
    char *stripped = NULL;
    struct span *v = NULL;
    struct eq_buf t = {0};
    struct reader r = {metrics, n_metrics, out, {NULL, NULL}};
    size_t n, i;
    enum eq_err err;

    memset(out, 0, sizeof *out);
    if (n_metrics > REPLY_MAX_METRICS || (n_metrics > 0 && metrics == NULL))
        return EQ_ERR_USAGE;
    if ((err = reply_strip(body, &stripped)) != EQ_OK)
        goto out;
    if ((err = reply_split_lines(stripped, &v, &n)) != EQ_OK)
        goto out;
    for (i = 0; i < n && (reply_span_blank(v[i]) || reply_is_greeting(v[i]));
         i++)
        ;
    if ((err = reply_emit_lines(&t, v, i, n)) != EQ_OK)
        goto out;
    out->text = buf_take(&t);
    if (out->text[0] == '\0') {
        review(&r, "no answer");
        err = (out->comment = eq_strdup("")) != NULL ? EQ_OK : EQ_ERR_NOMEM;
        goto out;
    }
    err = read_answer(&r, out->text);
out:
    if (err == EQ_OK && out->comment == NULL &&
        (out->comment = eq_strdup("")) == NULL)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK)
        reply_answer_clear(out);
    buf_free(&t);
    free(v);
    free(stripped);
    return err;
}
