#include "schedule.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"

/* Salts keep the streams for picking and for timing independent. */
#define SALT_PICK 0x7069636b2d2d2d2dULL
#define SALT_TIME 0x74696d652d2d2d2dULL

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
    unsigned char *picked;
    struct schedule_block *blocks; /* sorted copy */
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
is_blocked(const struct ctx *x, int64_t employee, int64_t provider)
{
    struct schedule_block key = {employee, provider};

    return x->in->n_blocks > 0 && bsearch(&key, x->blocks, x->in->n_blocks,
                                          sizeof key, cmp_block) != NULL;
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

static int
is_candidate(const struct ctx *x, const struct schedule_employee *e,
             const struct schedule_provider *p)
{
    if (!e->active || e->undeliverable || e->opted_out ||
        e->department_code == NULL)
        return 0;
    /* Nobody rates their own department, whatever `customers` lists. */
    if (e->department_id == p->department_id ||
        (p->code != NULL && eq_strcasecmp(e->department_code, p->code) == 0))
        return 0;
    if (e->last_invited != 0 && e->last_invited >= x->quiet_cutoff)
        return 0;
    if (!campaign_has_customer(x->in->c, e->department_code, p->code))
        return 0;
    return !is_blocked(x, e->id, p->department_id);
}

static void
pick_for_provider(struct ctx *x, const struct schedule_provider *p,
                  int64_t quota)
{
    const struct schedule_input *in = x->in;
    uint64_t rng = rng_mix(rng_mix(in->seed ^ SALT_PICK, (uint64_t)x->today),
                           (uint64_t)p->department_id);
    size_t h = 0, g = 0;
    int64_t q, u, below;

    for (size_t i = 0; i < in->n_employees; i++) {
        const struct schedule_employee *e = &in->employees[i];
        if (x->picked[i] || !is_candidate(x, e, p))
            continue;
        x->cands[h].dept = e->department_id;
        x->cands[h].last = e->last_invited;
        x->cands[h].key = rng_next(&rng);
        x->cands[h].emp = i;
        h++;
    }
    q = quota < (int64_t)h ? quota : (int64_t)h;
    if (q <= 0)
        return;
    qsort(x->cands, h, sizeof *x->cands, cmp_cand);

    /* Departments in random order, then systematic rounding with a random
     * start: q points u, u + H, …, u + (q−1)·H laid over the departments'
     * stretches of q·size units each. Every department gets the floor or
     * the ceiling of its exact share q·size/H, and on average exactly that
     * share. Largest remainder would round the same way every day: with 2
     * or 3 invitations a day, small departments would never be asked. */
    for (size_t i = 0; i < h; i++) {
        if (i > 0 && x->cands[i].dept == x->cands[i - 1].dept) {
            x->groups[g - 1].size++;
            continue;
        }
        x->groups[g].first = i;
        x->groups[g].size = 1;
        x->groups[g].dept = x->cands[i].dept;
        x->groups[g].key = rng_next(&rng);
        g++;
    }
    qsort(x->groups, g, sizeof *x->groups, cmp_group_key);
    u = (int64_t)(rng_next(&rng) % (uint64_t)h);
    below = 0;
    for (size_t k = 0; k < g; k++) {
        int64_t end = below + q * (int64_t)x->groups[k].size;
        x->groups[k].take = points_below(end, u, (int64_t)h) -
                            points_below(below, u, (int64_t)h);
        below = end;
    }

    for (size_t k = 0; k < g; k++) {
        for (int64_t j = 0; j < x->groups[k].take; j++) {
            size_t emp = x->cands[x->groups[k].first + (size_t)j].emp;
            x->picked[emp] = 1;
            x->items[x->n_items].employee_id = in->employees[emp].id;
            x->items[x->n_items].provider_department_id = p->department_id;
            x->items[x->n_items].planned_at = 0;
            x->n_items++;
        }
    }
}

static int
cmp_provider_ptr(const void *pa, const void *pb)
{
    const struct schedule_provider *a =
        *(const struct schedule_provider *const *)pa;
    const struct schedule_provider *b =
        *(const struct schedule_provider *const *)pb;

    if (a->department_id != b->department_id)
        return a->department_id < b->department_id ? -1 : 1;
    return 0;
}

/* Random order, then even steps over the window: each provider's share is
 * spread over the whole window, and the mail load is flat. */
static void
assign_times(struct ctx *x, const char *tz)
{
    const struct schedule_input *in = x->in;
    uint64_t rng = rng_mix(in->seed ^ SALT_TIME, (uint64_t)x->today);
    eq_time ws = eqtime_from_local(x->today, in->c->window_start, tz);
    eq_time we = eqtime_from_local(x->today, in->c->window_end, tz);
    size_t n = x->n_items;

    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(&rng) % i);
        struct schedule_item t = x->items[i - 1];
        x->items[i - 1] = x->items[j];
        x->items[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        if (in->now >= we)
            x->items[i].planned_at = in->now;
        else
            x->items[i].planned_at =
                ws + (eq_time)(((we - ws) * (int64_t)(2 * i + 1)) /
                               (int64_t)(2 * n));
    }
}

enum eq_err
schedule_due(const struct schedule_input *in, struct schedule_item **out,
             size_t *n)
{
    const struct schedule_provider **order = NULL;
    const struct campaign *c;
    struct ctx x = {0};
    struct period per;
    const char *tz;
    int64_t need, total = 0;
    int64_t *quota = NULL;
    enum eq_err err = EQ_OK;
    int minute, days_left, quiet;
    eq_day last;
    size_t np, rot;

    *out = NULL;
    *n = 0;
    if (in == NULL || in->c == NULL ||
        (in->n_employees > 0 && in->employees == NULL) ||
        (in->n_providers > 0 && in->providers == NULL) ||
        (in->n_blocks > 0 && in->blocks == NULL))
        return EQ_ERR_SOFTWARE;
    c = in->c;
    need = schedule_period_need(c);
    if (need < 0 || c->window_start < 0 || c->window_end > 24 * 60 ||
        c->window_end < c->window_start)
        return EQ_ERR_DATA;
    tz = in->timezone ? in->timezone : c->timezone ? c->timezone : "UTC";
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

    last = per.last;
    if (c->end != 0 && c->end < last)
        last = c->end;
    days_left = schedule_send_days_left(c, x.today, last);
    quiet = in->quiet_period_days > 1 ? in->quiet_period_days : 1;
    x.in = in;
    x.quiet_cutoff = eqtime_from_local(x.today - quiet + 1, 0, tz);

    err = EQ_ERR_NOMEM;
    order = malloc(np * sizeof *order);
    quota = malloc(np * sizeof *quota);
    if (order == NULL || quota == NULL)
        goto out;
    for (size_t i = 0; i < np; i++)
        order[i] = &in->providers[i];
    qsort(order, np, sizeof *order, cmp_provider_ptr);
    for (size_t i = 0; i < np; i++) {
        quota[i] = schedule_quota_today(need, order[i]->invited_before_today,
                                        order[i]->planned_today, days_left);
        total += quota[i] < (int64_t)in->n_employees ? quota[i]
                                                     : (int64_t)in->n_employees;
    }
    if (total == 0) {
        err = EQ_OK;
        goto out;
    }
    /* One invitation per person per day bounds the output. */
    x.cap_items =
        (size_t)total < in->n_employees ? (size_t)total : in->n_employees;
    x.picked = calloc(in->n_employees, 1);
    x.cands = malloc(in->n_employees * sizeof *x.cands);
    x.groups = malloc(in->n_employees * sizeof *x.groups);
    x.items = malloc(x.cap_items * sizeof *x.items);
    if (x.picked == NULL || x.cands == NULL || x.groups == NULL ||
        x.items == NULL)
        goto out;
    if (in->n_blocks > 0) {
        x.blocks = malloc(in->n_blocks * sizeof *x.blocks);
        if (x.blocks == NULL)
            goto out;
        memcpy(x.blocks, in->blocks, in->n_blocks * sizeof *x.blocks);
        qsort(x.blocks, in->n_blocks, sizeof *x.blocks, cmp_block);
    }

    rot =
        (size_t)(((int64_t)x.today % (int64_t)np + (int64_t)np) % (int64_t)np);
    for (size_t k = 0; k < np; k++) {
        size_t i = (rot + k) % np;
        int64_t room = (int64_t)(x.cap_items - x.n_items);
        pick_for_provider(&x, order[i], quota[i] < room ? quota[i] : room);
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
    free(x.picked);
    free(x.cands);
    free(x.groups);
    free(x.blocks);
    free(x.items);
    return err;
}
