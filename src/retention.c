#include "retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqtime.h"
#include "log.h"
#include "store_privacy.h"

#define DAY 86400

enum eq_err
retention_anonymise(struct store *st, struct campaign *const *camps,
                    size_t n_camps, eq_time now, struct retention_summary *sum,
                    struct eq_buf *diag)
{
    enum eq_err err = EQ_OK;

    for (size_t i = 0; i < n_camps && err == EQ_OK; i++) {
        const struct campaign *c = camps[i];
        struct store_privacy_period *per = NULL;
        size_t np = 0;
        int64_t cid;

        if (!c->anonymous)
            continue;
        if ((err = store_campaign_ensure(st, c->name, &cid)) != EQ_OK ||
            (err = store_privacy_to_anonymise(st, cid, &per, &np)) != EQ_OK) {
            eq_diag(diag, "anonymise %s: %s", c->name, store_errmsg(st));
            break;
        }
        for (size_t k = 0; k < np && err == EQ_OK; k++) {
            struct store_anon_counts ac;
            eq_time coarse = eqtime_from_local(
                per[k].first, 0, c->timezone ? c->timezone : "UTC");

            err = store_privacy_anonymise(st, per[k].id, coarse, now, &ac);
            if (err != EQ_OK) {
                eq_diag(diag, "anonymise %s %s: %s", c->name, per[k].label,
                        store_errmsg(st));
                break;
            }
            sum->periods_anonymised++;
            sum->invitations_anonymised += (size_t)ac.invitations;
            sum->inbound_anonymised += (size_t)ac.inbound;
            sum->review_left += (size_t)ac.review;
            log_msg(LOG_INFO,
                    "anonymised %s %s: %lld invitations, %lld answers, "
                    "%lld mail records",
                    c->name, per[k].label, (long long)ac.invitations,
                    (long long)ac.answers, (long long)ac.inbound);
            /* The source API cannot remove one filed message; say so
             * rather than pretend. */
            /* Notices need the rater's address, which has just gone;
             * no new link is kept for them (docs/privacy.md). */
            if (c->share_actions)
                log_msg(LOG_WARN,
                        "anonymised %s %s: share_actions has no effect in "
                        "an anonymous campaign; its raters get no action "
                        "notices",
                        c->name, per[k].label);
            if (ac.review > 0)
                log_msg(LOG_WARN,
                        "anonymised %s %s: %lld replies were still in "
                        "Review; delete their raw mail from the Review "
                        "folder by hand",
                        c->name, per[k].label, (long long)ac.review);
        }
        free(per);
    }
    return err;
}

enum eq_err
retention_purge(struct store *st, const struct eq_config *cfg,
                struct source *src, eq_time now, struct retention_summary *sum,
                struct eq_buf *diag)
{
    struct store_privacy_period *per = NULL;
    size_t np = 0, periods = 0, comments = 0, raw = 0;
    enum eq_err err, mail_err = EQ_OK;
    int64_t blanked = 0;
    eq_day today;
    int minute;

    if (cfg->general.retention_days <= 0)
        return EQ_OK;
    eqtime_to_local(now, cfg->general.timezone, &today, &minute);
    /* A period is old once its last day lies more than retention_days
     * before today: last < today - retention_days. */
    err = store_privacy_to_purge(st, today - cfg->general.retention_days, &per,
                                 &np);
    for (size_t i = 0; i < np && err == EQ_OK; i++) {
        int64_t k = 0;
        err = store_privacy_purge_period(st, per[i].id, now, &k);
        if (err == EQ_OK) {
            periods++;
            comments += (size_t)k;
        }
    }
    free(per);
    eq_time cutoff = now - (eq_time)cfg->general.retention_days * DAY;
    if (err == EQ_OK)
        err = store_privacy_purge_inbound(st, cutoff, &blanked);
    if (err != EQ_OK) {
        eq_diag(diag, "retention: %s", store_errmsg(st));
        return err;
    }
    /* The mailbox once a local day: the daemon ticks every minute, and
     * each purge searches four folders on the server. */
    char day[16], *last = NULL;
    snprintf(day, sizeof day, "%lld", (long long)today);
    if (src != NULL &&
        store_meta_get(st, "retention:mailbox_day", &last) == EQ_ERR_NOMEM)
        return EQ_ERR_NOMEM;
    if (src != NULL && (last == NULL || strcmp(last, day) != 0)) {
        mail_err = source_purge_before(src, cutoff, &raw);
        if (mail_err == EQ_ERR_UNAVAILABLE) {
            mail_err = EQ_OK; /* this source keeps no filed mail to purge */
            raw = 0;
        } else if (mail_err != EQ_OK) {
            eq_diag(diag, "retention: purging the mailbox failed: %s",
                    eq_strerror(mail_err));
            raw = 0;
        }
        if (mail_err == EQ_OK &&
            (err = store_meta_set(st, "retention:mailbox_day", day)) != EQ_OK)
            mail_err = err;
    }
    free(last);
    sum->periods_purged += periods;
    sum->comments_purged += comments;
    sum->raw_purged += raw;
    sum->inbound_blanked += (size_t)blanked;
    if (periods || comments || raw)
        log_msg(LOG_INFO,
                "retention: purged %zu comments of %zu periods, "
                "%zu raw messages",
                comments, periods, raw);
    return mail_err;
}

enum eq_err
retention_run(struct store *st, const struct eq_config *cfg,
              struct campaign *const *camps, size_t n_camps, struct source *src,
              eq_time now, struct retention_summary *sum, struct eq_buf *diag)
{
    enum eq_err first = retention_anonymise(st, camps, n_camps, now, sum, diag);
    enum eq_err err;

    if (first == EQ_ERR_DB || first == EQ_ERR_NOMEM)
        return first;
    err = retention_purge(st, cfg, src, now, sum, diag);
    return first != EQ_OK ? first : err;
}
