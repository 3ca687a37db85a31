#include "schedule.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"

/* Salts keep the streams for picking and for timing independent. */
#define SALT_PICK 0x7069636b2d2d2d2dULL
#define SALT_TIME 0x74696d652d2d2d2dULL
#define SALT_PHASE 0x70686173652d2d2dULL
#define SALT_SHARE 0x73686172652d2d2dULL

/* Resolution of the seeded phase φ of the cumulative target T(j). */
#define PHASE_STEPS 256
/* Share of the exact rate a period is planned at: people come free on
 * uneven days, and at 100 % the period after a saturated one runs a few
 * short on one day and bunches the catch-up on the next (measured on
 * 100–500-person organisations); 3 % less keeps the stream steady. */
#define PLAN_HEADROOM 0.97
/* How far ahead a send day or a window is looked for. */
#define SEARCH_DAYS 3660
#define DAY_SECONDS 86400

struct cand {
    int64_t dept;
    eq_time last;
    uint64_t key;
    size_t emp;
};

struct group {
    size_t first, size;
    int64_t take;
    uint64_t key;
    int64_t dept;
};

struct ctx {
    const struct schedule_input *in;
    eq_time quiet_cutoff; /* last_invited at or after this: still quiet */
    eq_day today;
    unsigned char *avail; /* out of the quiet period, not picked today:
                             one byte a person keeps the daily passes over
                             50k people × 40 providers in cache */
    unsigned char *elig;  /* [provider index × n_employees]: eligible this
                             period, quiet period aside */
    uint32_t *rank;       /* dense department index of each employee */
    size_t n_depts;
    size_t *dept_count; /* [n_depts] */
    size_t *dept_slot;  /* [n_depts]: where its candidates go, or
                           SIZE_MAX when it gets nobody today */
    struct cand *cands;
    struct group *groups;
    struct schedule_item *items;
    size_t n_items, cap_items;
};

/* splitmix64 (Steele, Lea, Flood 2014): tiny, full period, good enough to
 * shuffle people; reproducibility matters more than strength here. */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t
rng_mix(uint64_t a, uint64_t b)
{
    uint64_t s = a ^ rng_next(&b);
    return rng_next(&s);
}

int64_t
schedule_period_need(const struct campaign *c)
{
    double rate, x;

    if (c == NULL || c->target_responses < 0)
        return -1;
    rate = c->expected_response_rate;
    if (!(rate > 0.0 && rate <= 1.0))
        return -1;
    x = (double)c->target_responses / rate;
    /* 35 / 0.35 is 100.00000000000001 in binary floating point. */
    return (int64_t)ceil(x - 1e-9);
}

int
schedule_send_days_left(const struct campaign *c, eq_day from, eq_day last)
{
    int n = 0;

    for (eq_day d = from; d <= last; d++)
        if (campaign_is_send_day(c, d))
            n++;
    return n;
}

int64_t
schedule_quota_today(int64_t need, int64_t invited_before_today,
                     int64_t planned_today, int days_left)
{
    int64_t rem = need - invited_before_today, per;

    if (days_left < 1)
        days_left = 1;
    per = rem > 0 ? (rem + days_left - 1) / days_left : 0;
    return per > planned_today ? per - planned_today : 0;
}

static int
cmp_block(const void *pa, const void *pb)
{
    const struct schedule_block *a = pa, *b = pb;

    if (a->provider_department_id != b->provider_department_id)
        return a->provider_department_id < b->provider_department_id ? -1 : 1;
    if (a->employee_id != b->employee_id)
        return a->employee_id < b->employee_id ? -1 : 1;
    return 0;
}

static int
is_blocked(const struct schedule_block *sorted, size_t n, int64_t employee,
           int64_t provider)
{
    struct schedule_block key = {employee, provider};

    return n > 0 && bsearch(&key, sorted, n, sizeof key, cmp_block) != NULL;
}

/* Department, then longest ago first, then the random draw. */
static int
cmp_cand(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;

    if (a->dept != b->dept)
        return a->dept < b->dept ? -1 : 1;
    if (a->last != b->last)
        return a->last < b->last ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->emp < b->emp ? -1 : a->emp > b->emp;
}

static int
cmp_group_key(const void *pa, const void *pb)
{
    const struct group *a = pa, *b = pb;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->dept < b->dept ? -1 : a->dept > b->dept;
}

/* How many of the points u, u + step, u + 2·step, … lie below x. */
static int64_t
points_below(int64_t x, int64_t u, int64_t step)
{
    return x <= u ? 0 : (x - u + step - 1) / step;
}

static const char *
zone_of(const struct schedule_input *in)
{
    return in->timezone      ? in->timezone
           : in->c->timezone ? in->c->timezone
                             : "UTC";
}

static int
quiet_days(const struct schedule_input *in)
{
    return in->quiet_period_days > 1 ? in->quiet_period_days : 1;
}

/* Checks the input and the campaign's numbers; the period need in *need. */
static enum eq_err
check_input(const struct schedule_input *in, int64_t *need)
{
    const struct campaign *c;

    if (in == NULL || in->c == NULL ||
        (in->n_employees > 0 && in->employees == NULL) ||
        (in->n_providers > 0 && in->providers == NULL) ||
        (in->n_blocks > 0 && in->blocks == NULL))
        return EQ_ERR_SOFTWARE;
    c = in->c;
    *need = schedule_period_need(c);
    if (*need < 0 || c->window_start < 0 || c->window_end > 24 * 60 ||
        c->window_end < c->window_start)
        return EQ_ERR_DATA;
    if (in->capacity_share < 0.0 || in->capacity_share > 1.0)
        return EQ_ERR_DATA;
    return EQ_OK;
}

/* The part of eligibility that depends on the department only: a
 * customer of p, and not p itself whatever `customers` lists. */
static int
dept_may_rate(const struct campaign *c, const struct schedule_employee *e,
              const struct schedule_provider *p)
{
    if (e->department_id == p->department_id ||
        (p->code != NULL && eq_strcasecmp(e->department_code, p->code) == 0))
        return 0;
    return campaign_has_customer(c, e->department_code, p->code);
}

/* The person's own part: present, reachable, joined in time. */
static int
person_may_rate(const struct schedule_employee *e, eq_time period_start)
{
    if (!e->active || e->undeliverable || e->opted_out ||
        e->department_code == NULL)
        return 0;
    return e->joined_at == 0 || e->joined_at <= period_start;
}

static int
cmp_emp_dept(const void *pa, const void *pb, void *arg)
{
    const struct schedule_employee *e = arg;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const char *ca = e[a].department_code, *cb = e[b].department_code;
    int c;

    if (e[a].department_id != e[b].department_id)
        return e[a].department_id < e[b].department_id ? -1 : 1;
    if (ca != cb && (c = ca == NULL ? -1 : cb == NULL ? 1 : strcmp(ca, cb)))
        return c;
    return a < b ? -1 : a > b;
}

/* rank[i]: the dense index of employee i's department (id and code), in
 * department_id order, so people can be grouped by counting, walking the
 * employees in their own order (sequential memory, which matters at 50k
 * people × 40 providers every day). */
static enum eq_err
dept_ranks(const struct schedule_input *in, uint32_t **rank_out, size_t *n_out)
{
    size_t ne = in->n_employees, nd = 0;
    size_t *by = malloc((ne ? ne : 1) * sizeof *by);
    uint32_t *rank = malloc((ne ? ne : 1) * sizeof *rank);

    *rank_out = NULL;
    *n_out = 0;
    if (by == NULL || rank == NULL) {
        free(by);
        free(rank);
        return EQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < ne; i++)
        by[i] = i;
    qsort_r(by, ne, sizeof *by, cmp_emp_dept, (void *)in->employees);
    for (size_t j = 0; j < ne; j++) {
        const struct schedule_employee *e = &in->employees[by[j]];
        const struct schedule_employee *prev =
            j > 0 ? &in->employees[by[j - 1]] : NULL;
        if (prev == NULL || prev->department_id != e->department_id ||
            (prev->department_code != e->department_code &&
             (prev->department_code == NULL || e->department_code == NULL ||
              strcmp(prev->department_code, e->department_code) != 0)))
            nd++;
        rank[by[j]] = (uint32_t)(nd - 1);
    }
    free(by);
    *rank_out = rank;
    *n_out = nd;
    return EQ_OK;
}

/* A sorted copy of the blocks (NULL when there are none) and the
 * eligibility table, elig[k · n_employees + i] for provider k: eligible in
 * the period per, whatever the quiet period says. The department's part is
 * decided once per department (rank from dept_ranks). */
static enum eq_err
build_eligibility(const struct schedule_input *in, const struct period *per,
                  const uint32_t *rank, size_t n_depts,
                  struct schedule_block **blocks_out, unsigned char **elig_out)
{
    eq_time start = eqtime_from_local(per->first, 0, zone_of(in));
    struct schedule_block *blocks = NULL;
    unsigned char *elig = NULL, *person = NULL;
    signed char *dept_ok = NULL;
    size_t ne = in->n_employees, np = in->n_providers;

    *blocks_out = NULL;
    *elig_out = NULL;
    if (in->n_blocks > 0) {
        blocks = malloc(in->n_blocks * sizeof *blocks);
        if (blocks == NULL)
            goto nomem;
        memcpy(blocks, in->blocks, in->n_blocks * sizeof *blocks);
        qsort(blocks, in->n_blocks, sizeof *blocks, cmp_block);
    }
    elig = malloc(ne * np > 0 ? ne * np : 1);
    person = malloc(ne > 0 ? ne : 1);
    dept_ok = malloc(n_depts > 0 ? n_depts : 1);
    if (elig == NULL || person == NULL || dept_ok == NULL)
        goto nomem;
    for (size_t i = 0; i < ne; i++)
        person[i] = (unsigned char)person_may_rate(&in->employees[i], start);
    for (size_t k = 0; k < np; k++) {
        const struct schedule_provider *p = &in->providers[k];
        memset(dept_ok, -1, n_depts);
        for (size_t i = 0; i < ne; i++) {
            const struct schedule_employee *e = &in->employees[i];
            unsigned char ok = 0;
            if (person[i]) {
                if (dept_ok[rank[i]] < 0)
                    dept_ok[rank[i]] = (signed char)dept_may_rate(in->c, e, p);
                ok = dept_ok[rank[i]] &&
                     !is_blocked(blocks, in->n_blocks, e->id, p->department_id);
            }
            elig[k * ne + i] = ok;
        }
    }
    free(person);
    free(dept_ok);
    *blocks_out = blocks;
    *elig_out = elig;
    return EQ_OK;
nomem:
    free(blocks);
    free(elig);
    free(person);
    free(dept_ok);
    return EQ_ERR_NOMEM;
}

/* A weekday mail may go out on, ignoring the campaign's start and end. */
static int
is_send_weekday(const struct campaign *c, eq_day d)
{
    return (c->send_days & (1u << (eqtime_weekday(d) - 1))) &&
           !campaign_is_holiday(c, d);
}

/* Invitations one person can give in the period (see the header). */
static double
slots_per_person(const struct campaign *c, const struct period *per, int q)
{
    eq_day lo = per->first > c->start ? per->first : c->start;
    eq_day hi = c->end != 0 && c->end < per->last ? c->end : per->last;
    eq_day first = 0, last = 0;
    double gaps = 0.0, rate, hard;
    int days = 0;

    for (eq_day d = lo; d <= hi; d++) {
        int gap = q;
        if (!campaign_is_send_day(c, d))
            continue;
        if (days++ == 0)
            first = d;
        last = d;
        for (eq_day e = d + q; e < d + q + SEARCH_DAYS; e++) {
            if (is_send_weekday(c, e)) {
                gap = (int)(e - d);
                break;
            }
        }
        gaps += gap;
    }
    if (days == 0)
        return 0.0;
    rate = (double)(hi - lo + 1) / (gaps / days) * PLAN_HEADROOM;
    hard = (double)((last - first) / q + 1);
    return rate < hard ? rate : hard;
}

struct share {
    size_t idx;
    int64_t cap;
    uint64_t key;
};

static int
cmp_share_cap(const void *pa, const void *pb)
{
    const struct share *a = pa, *b = pb;

    if (a->cap != b->cap)
        return a->cap < b->cap ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int
cmp_share_key(const void *pa, const void *pb)
{
    const struct share *a = pa, *b = pb;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Water-filling of budget over the providers' caps (rows[].feasible holds
 * the cap on entry, the share on return). */
static enum eq_err
water_fill(struct schedule_feasible *rows, size_t np, int64_t budget,
           uint64_t seed)
{
    struct share *s = malloc(np * sizeof *s);
    size_t m = np, k = 0;

    if (s == NULL)
        return EQ_ERR_NOMEM;
    for (size_t i = 0; i < np; i++) {
        s[i].idx = i;
        s[i].cap = rows[i].feasible;
        s[i].key = rng_mix(seed, (uint64_t)rows[i].department_id);
    }
    qsort(s, np, sizeof *s, cmp_share_cap);
    /* Whoever needs less than an equal share of what is left keeps it. */
    for (; k < np && s[k].cap * (int64_t)m <= budget; k++, m--)
        budget -= s[k].cap;
    if (k < np) {
        int64_t level = budget / (int64_t)m, extra = budget % (int64_t)m;
        qsort(s + k, m, sizeof *s, cmp_share_key);
        for (size_t j = k; j < np; j++)
            rows[s[j].idx].feasible = level + ((int64_t)(j - k) < extra);
    }
    free(s);
    return EQ_OK;
}

/* The feasibility rows of period per, in the order of in->providers. */
static enum eq_err
fill_feasible(const struct schedule_input *in, const struct period *per,
              int64_t need, const unsigned char *elig,
              struct schedule_feasible *rows)
{
    const struct campaign *c = in->c;
    size_t ne = in->n_employees, np = in->n_providers;
    double share = in->capacity_share > 0.0 ? in->capacity_share : 1.0;
    double slots = slots_per_person(c, per, quiet_days(in)) * share;
    int64_t any = 0, sum_caps = 0, total;

    for (size_t k = 0; k < np; k++) {
        int64_t e = 0;
        for (size_t i = 0; i < ne; i++)
            e += elig[k * ne + i];
        rows[k].department_id = in->providers[k].department_id;
        rows[k].need = need;
        rows[k].eligible = e;
        /* The epsilon keeps 30 people × 3.0 slots from landing on 89. */
        rows[k].capacity = (int64_t)floor((double)e * slots + 1e-9);
        rows[k].feasible = need < rows[k].capacity ? need : rows[k].capacity;
        sum_caps += rows[k].feasible;
    }
    for (size_t i = 0; i < ne; i++) {
        for (size_t k = 0; k < np; k++) {
            if (elig[k * ne + i]) {
                any++;
                break;
            }
        }
    }
    total = (int64_t)floor((double)any * slots + 1e-9);
    if (sum_caps > total) {
        enum eq_err err =
            water_fill(rows, np, total,
                       rng_mix(in->seed ^ SALT_SHARE, (uint64_t)per->first));
        if (err != EQ_OK)
            return err;
    }
    for (size_t k = 0; k < np; k++) {
        double r = (double)rows[k].feasible * c->expected_response_rate;
        rows[k].expected_responses = r;
        rows[k].nps_margin = 196.0 / sqrt(r + 3.0);
        rows[k].capped = rows[k].feasible < need;
    }
    return EQ_OK;
}

enum eq_err
schedule_feasibility(const struct schedule_input *in, const struct period *p,
                     struct schedule_feasible **out, size_t *n)
{
    struct schedule_block *blocks = NULL;
    unsigned char *elig = NULL;
    struct schedule_feasible *rows = NULL;
    uint32_t *rank = NULL;
    size_t n_depts = 0;
    int64_t need;
    enum eq_err err;

    *out = NULL;
    *n = 0;
    if (p == NULL)
        return EQ_ERR_SOFTWARE;
    if ((err = check_input(in, &need)) != EQ_OK)
        return err;
    if (in->n_providers == 0)
        return EQ_OK;
    if ((err = dept_ranks(in, &rank, &n_depts)) != EQ_OK ||
        (err = build_eligibility(in, p, rank, n_depts, &blocks, &elig)) !=
            EQ_OK)
        goto out;
    err = EQ_ERR_NOMEM;
    rows = calloc(in->n_providers, sizeof *rows);
    if (rows == NULL)
        goto out;
    if ((err = fill_feasible(in, p, need, elig, rows)) != EQ_OK)
        goto out;
    *out = rows;
    *n = in->n_providers;
    rows = NULL;
out:
    free(rows);
    free(rank);
    free(elig);
    free(blocks);
    return err;
}

static inline int
is_candidate(const struct ctx *x, size_t k, size_t i)
{
    return x->avail[i] && x->elig[k * x->in->n_employees + i];
}

static void
swap_cand(struct cand *a, struct cand *b)
{
    struct cand t = *a;
    *a = *b;
    *b = t;
}

/* Puts the k smallest of a[0..n) (cmp_cand) first, in order: expected
 * O(n), where sorting every department would make a day n log n. */
static void
select_smallest(struct cand *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n;

    while (k < n && lo < hi) {
        size_t store = lo;
        swap_cand(&a[lo + (hi - lo) / 2], &a[hi - 1]);
        for (size_t i = lo; i + 1 < hi; i++)
            if (cmp_cand(&a[i], &a[hi - 1]) < 0)
                swap_cand(&a[i], &a[store++]);
        swap_cand(&a[store], &a[hi - 1]);
        if (store == k)
            break;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
    qsort(a, k < n ? k : n, sizeof *a, cmp_cand);
}

static void
pick_for_provider(struct ctx *x, size_t k, int64_t quota)
{
    const struct schedule_input *in = x->in;
    const struct schedule_provider *p = &in->providers[k];
    uint64_t rng = rng_mix(rng_mix(in->seed ^ SALT_PICK, (uint64_t)x->today),
                           (uint64_t)p->department_id);
    size_t h = 0, g = 0, n = 0, *count = x->dept_count, *slot = x->dept_slot;
    uint64_t base;
    int64_t q, u, below;

    if (quota <= 0)
        return;
    /* First only count the candidates per department: the shares need no
     * more, and only the few departments that get one today need their
     * people ordered. */
    memset(count, 0, x->n_depts * sizeof *count);
    for (size_t i = 0; i < in->n_employees; i++) {
        if (is_candidate(x, k, i)) {
            count[x->rank[i]]++;
            h++;
        }
    }
    q = quota < (int64_t)h ? quota : (int64_t)h;
    if (q <= 0)
        return;
    for (size_t d = 0; d < x->n_depts; d++) {
        if (count[d] > 0) {
            x->groups[g].size = count[d];
            x->groups[g].dept = (int64_t)d; /* the rank */
            x->groups[g].key = rng_next(&rng);
            g++;
        }
    }

    /* Departments in random order, then systematic rounding with a random
     * start: q points u, u + H, …, u + (q−1)·H laid over the departments'
     * stretches of q·size units each. Every department gets the floor or
     * the ceiling of its exact share q·size/H, and on average exactly that
     * share. Largest remainder would round the same way every day: with 2
     * or 3 invitations a day, small departments would never be asked. */
    qsort(x->groups, g, sizeof *x->groups, cmp_group_key);
    u = (int64_t)(rng_next(&rng) % (uint64_t)h);
    below = 0;
    for (size_t d = 0; d < x->n_depts; d++)
        slot[d] = SIZE_MAX;
    for (size_t j = 0; j < g; j++) {
        int64_t end = below + q * (int64_t)x->groups[j].size;
        x->groups[j].take = points_below(end, u, (int64_t)h) -
                            points_below(below, u, (int64_t)h);
        below = end;
        if (x->groups[j].take > 0) {
            size_t d = (size_t)x->groups[j].dept;
            x->groups[j].first = n;
            slot[d] = n;
            count[d] = 0;
            n += x->groups[j].size;
        }
    }

    /* Then collect the people of those departments. The tie-break draw
     * hangs on the employee id, so it does not depend on input order. */
    base = rng_next(&rng);
    for (size_t i = 0; i < in->n_employees; i++) {
        size_t d = x->rank[i];
        struct cand *cd;
        if (slot[d] == SIZE_MAX || !is_candidate(x, k, i))
            continue;
        cd = &x->cands[slot[d] + count[d]++];
        cd->dept = in->employees[i].department_id;
        cd->last = in->employees[i].last_invited;
        cd->key = rng_mix(base, (uint64_t)in->employees[i].id);
        cd->emp = i;
    }

    for (size_t j = 0; j < g; j++) {
        struct cand *first;
        if (x->groups[j].take == 0)
            continue;
        first = x->cands + x->groups[j].first;
        /* Longest ago first, ties by the draw. */
        select_smallest(first, x->groups[j].size, (size_t)x->groups[j].take);
        for (int64_t t = 0; t < x->groups[j].take; t++) {
            size_t emp = first[t].emp;
            x->avail[emp] = 0;
            x->items[x->n_items].employee_id = in->employees[emp].id;
            x->items[x->n_items].provider_department_id = p->department_id;
            x->items[x->n_items].planned_at = 0;
            x->n_items++;
        }
    }
}

/* Random order, then one item per equal slot of what is left of the
 * window, at a random second inside its slot: the load is flat, each
 * provider's share is spread over the whole window, and no two runs of
 * the same plan send at the same predictable instants. */
static void
assign_times(struct ctx *x, const char *tz)
{
    const struct schedule_input *in = x->in;
    uint64_t rng = rng_mix(in->seed ^ SALT_TIME, (uint64_t)x->today);
    eq_time ws = eqtime_from_local(x->today, in->c->window_start, tz);
    eq_time we = eqtime_from_local(x->today, in->c->window_end, tz);
    eq_time lo = in->now > ws ? in->now : ws;
    int64_t n = (int64_t)x->n_items, span = we - lo;

    for (size_t i = x->n_items; i > 1; i--) {
        size_t j = (size_t)(rng_next(&rng) % i);
        struct schedule_item t = x->items[i - 1];
        x->items[i - 1] = x->items[j];
        x->items[j] = t;
    }
    for (int64_t i = 0; i < n; i++) {
        eq_time a, b;
        if (span <= 0) {
            /* Late, or a window that has no length today. */
            x->items[i].planned_at = in->now > ws ? in->now : ws;
            continue;
        }
        a = lo + span * i / n;
        b = lo + span * (i + 1) / n;
        x->items[i].planned_at =
            a + (b > a ? (eq_time)(rng_next(&rng) % (uint64_t)(b - a)) : 0);
    }
}

static int
cmp_provider_idx(const void *pa, const void *pb, void *arg)
{
    const struct schedule_provider *p = arg;
    int64_t a = p[*(const size_t *)pa].department_id;
    int64_t b = p[*(const size_t *)pb].department_id;

    return a < b ? -1 : a > b;
}

/* floor(total·j/D + phase/PHASE_STEPS): the campaign's cumulative target
 * after the j-th of D send days. */
static int64_t
cumulative_total(int64_t total, int j, int days, uint64_t phase)
{
    int64_t a = total * j;

    /* Whole days apart first, so large targets cannot overflow. */
    return a / days + ((a % days) * PHASE_STEPS + (int64_t)phase * days) /
                          ((int64_t)days * PHASE_STEPS);
}

/*
 * Each provider's cumulative target after send days k − 1 (t0) and k (t1),
 * in the order of in->providers. The campaign's total is rounded once, so
 * its count per send day is the floor or the ceiling of the mean; the
 * seats 1 … T are dealt to the providers by smooth weighted round-robin
 * (each adds its feasible to a credit, the highest credit takes the seat
 * and pays the total): a provider's count never lags its exact share by a
 * whole seat, shares only grow, and after all T(D) seats each has exactly
 * its feasible. Ties go by a seeded order that is fixed for the period.
 */
static enum eq_err
provider_targets(const struct schedule_feasible *rows, size_t np, int k,
                 int days, uint64_t seed, int64_t *t0, int64_t *t1)
{
    struct share *order = malloc(np * sizeof *order);
    int64_t *credit = calloc(np, sizeof *credit);
    int64_t total = 0, s0, s1;
    enum eq_err err = EQ_ERR_NOMEM;

    if (order == NULL || credit == NULL)
        goto out;
    for (size_t i = 0; i < np; i++) {
        order[i].idx = i;
        order[i].cap = rows[i].feasible;
        order[i].key = rng_mix(seed, (uint64_t)rows[i].department_id);
        total += rows[i].feasible;
        t0[i] = t1[i] = 0;
    }
    qsort(order, np, sizeof *order, cmp_share_key);
    s0 = cumulative_total(total, k - 1, days, seed % PHASE_STEPS);
    s1 = cumulative_total(total, k, days, seed % PHASE_STEPS);
    for (int64_t seat = 1; seat <= s1; seat++) {
        size_t best = np;
        for (size_t r = 0; r < np; r++) {
            size_t i = order[r].idx;
            if (rows[i].feasible == 0)
                continue;
            credit[i] += rows[i].feasible;
            if (best == np || credit[i] > credit[best])
                best = i;
        }
        credit[best] -= total;
        t1[best]++;
        if (seat <= s0)
            t0[best]++;
    }
    err = EQ_OK;
out:
    free(order);
    free(credit);
    return err;
}

/* Today's quota of one provider (see the header). */
static int64_t
quota_of(const struct schedule_provider *p, int64_t t0, int64_t t1,
         int days_left)
{
    int64_t behind = t0 - p->invited_before_today, today;

    if (behind > 0)
        today = (t1 - t0) + schedule_quota_today(behind, 0, 0, days_left);
    else
        today = t1 - p->invited_before_today;
    today -= p->planned_today;
    return today > 0 ? today : 0;
}

enum eq_err
schedule_due(const struct schedule_input *in, struct schedule_item **out,
             size_t *n)
{
    struct schedule_block *blocks = NULL;
    struct schedule_feasible *rows = NULL;
    size_t *order = NULL;
    const struct campaign *c;
    struct ctx x = {0};
    struct period per;
    const char *tz;
    int64_t need, total = 0;
    int64_t *quota = NULL, *t0 = NULL, *t1 = NULL;
    enum eq_err err;
    int minute, k = 0, days = 0;
    size_t np, rot;

    *out = NULL;
    *n = 0;
    if ((err = check_input(in, &need)) != EQ_OK)
        return err;
    c = in->c;
    tz = zone_of(in);
    eqtime_to_local(in->now, tz, &x.today, &minute);
    if (!campaign_is_send_day(c, x.today))
        return EQ_OK;
    err = campaign_period_of(c, x.today, &per);
    if (err == EQ_ERR_NOTFOUND)
        return EQ_OK;
    if (err != EQ_OK)
        return err;
    np = in->n_providers;
    if (np == 0 || in->n_employees == 0)
        return EQ_OK;

    for (eq_day d = per.first; d <= per.last; d++) {
        if (!campaign_is_send_day(c, d))
            continue;
        days++;
        if (d <= x.today)
            k++;
    }
    x.in = in;
    x.quiet_cutoff = eqtime_from_local(x.today - quiet_days(in) + 1, 0, tz);

    if ((err = dept_ranks(in, &x.rank, &x.n_depts)) != EQ_OK ||
        (err = build_eligibility(in, &per, x.rank, x.n_depts, &blocks,
                                 &x.elig)) != EQ_OK)
        goto out;
    err = EQ_ERR_NOMEM;
    rows = calloc(np, sizeof *rows);
    order = malloc(np * sizeof *order);
    quota = malloc(np * sizeof *quota);
    t0 = malloc(np * sizeof *t0);
    t1 = malloc(np * sizeof *t1);
    if (rows == NULL || order == NULL || quota == NULL || t0 == NULL ||
        t1 == NULL)
        goto out;
    if ((err = fill_feasible(in, &per, need, x.elig, rows)) != EQ_OK)
        goto out;
    /* One draw for the period, so the targets do not move day to day. */
    if ((err = provider_targets(
             rows, np, k, days,
             rng_mix(in->seed ^ SALT_PHASE, (uint64_t)per.first), t0, t1)) !=
        EQ_OK)
        goto out;
    for (size_t i = 0; i < np; i++)
        order[i] = i;
    qsort_r(order, np, sizeof *order, cmp_provider_idx, (void *)in->providers);
    err = EQ_ERR_NOMEM;
    for (size_t r = 0; r < np; r++) {
        size_t i = order[r];
        quota[r] = quota_of(&in->providers[i], t0[i], t1[i], days - k + 1);
        total += quota[r] < (int64_t)in->n_employees ? quota[r]
                                                     : (int64_t)in->n_employees;
    }
    if (total == 0) {
        err = EQ_OK;
        goto out;
    }
    /* One invitation per person per day bounds the output. */
    x.cap_items =
        (size_t)total < in->n_employees ? (size_t)total : in->n_employees;
    x.avail = malloc(in->n_employees);
    x.cands = malloc(in->n_employees * sizeof *x.cands);
    x.groups = malloc(in->n_employees * sizeof *x.groups);
    x.items = malloc(x.cap_items * sizeof *x.items);
    x.dept_count = malloc((x.n_depts + 1) * sizeof *x.dept_count);
    x.dept_slot = malloc((x.n_depts + 1) * sizeof *x.dept_slot);
    if (x.avail == NULL || x.cands == NULL || x.groups == NULL ||
        x.items == NULL || x.dept_count == NULL || x.dept_slot == NULL)
        goto out;

    for (size_t i = 0; i < in->n_employees; i++) {
        eq_time last = in->employees[i].last_invited;
        x.avail[i] = last == 0 || last < x.quiet_cutoff;
    }
    rot =
        (size_t)(((int64_t)x.today % (int64_t)np + (int64_t)np) % (int64_t)np);
    for (size_t j = 0; j < np; j++) {
        size_t r = (rot + j) % np;
        int64_t room = (int64_t)(x.cap_items - x.n_items);
        pick_for_provider(&x, order[r], quota[r] < room ? quota[r] : room);
    }
    assign_times(&x, tz);

    err = EQ_OK;
    if (x.n_items > 0) {
        *out = x.items;
        *n = x.n_items;
        x.items = NULL;
    }
out:
    free(order);
    free(quota);
    free(t0);
    free(t1);
    free(rows);
    free(blocks);
    free(x.elig);
    free(x.rank);
    free(x.dept_count);
    free(x.dept_slot);
    free(x.avail);
    free(x.cands);
    free(x.groups);
    free(x.items);
    return err;
}

/* The same local clock time `days` calendar days later, also across DST. */
static eq_time
add_local_days(eq_time t, const char *tz, int days)
{
    eq_day d;
    int minute;

    eqtime_to_local(t, tz, &d, &minute);
    /* Seconds within the minute survive the round trip. */
    return eqtime_from_local(d + days, minute, tz) + (t % 60 + 60) % 60;
}

/* The first moment at or after due inside a send window; 0 if that is not
 * before close. */
static eq_time
next_in_window(const struct campaign *c, const char *tz, eq_time due,
               eq_time close)
{
    eq_day d;
    int minute;

    eqtime_to_local(due, tz, &d, &minute);
    for (eq_day e = d; e < d + SEARCH_DAYS; e++) {
        eq_time ws, we, t;
        if (eqtime_from_local(e, 0, tz) >= close)
            return 0;
        if (!is_send_weekday(c, e))
            continue;
        ws = eqtime_from_local(e, c->window_start, tz);
        we = eqtime_from_local(e, c->window_end, tz);
        t = due > ws ? due : ws;
        if (t >= close)
            return 0;
        if (t < we)
            return t;
    }
    return 0;
}

eq_time
schedule_reminder_at(const struct campaign *c, const char *tz, eq_time sent_at,
                     int n)
{
    eq_time close, prev = 0;

    if (c == NULL || n < 1 || n > c->max_reminders || c->reminder_after < 1 ||
        c->window_start < 0 || c->window_end > 24 * 60 ||
        c->window_end <= c->window_start)
        return 0;
    tz = tz ? tz : c->timezone ? c->timezone : "UTC";
    close = sent_at + (eq_time)c->close_after * DAY_SECONDS;
    for (int i = 1; i <= n; i++) {
        eq_time due = add_local_days(sent_at, tz, i * c->reminder_after);
        /* A reminder pushed past a weekend must not drag the next one onto
         * the same morning. */
        if (prev != 0) {
            eq_time after_prev = add_local_days(prev, tz, c->reminder_after);
            if (after_prev > due)
                due = after_prev;
        }
        if ((prev = next_in_window(c, tz, due, close)) == 0)
            return 0;
    }
    return prev;
}
