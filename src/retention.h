/*
 * retention: when personal data stops being kept. It anonymises the
 * finished periods of anonymous campaigns and purges comments and raw mail
 * older than [general] retention_days, deciding from `now` and the config
 * it is given. All SQL is store_privacy's; the mailbox is reached only
 * through the source ops. It never reads the clock and prints nothing.
 */
#ifndef RETENTION_H
#define RETENTION_H

#include "campaign.h"
#include "config.h"
#include "eq.h"
#include "source.h"
#include "store.h"

struct retention_summary {
    size_t periods_anonymised;
    size_t invitations_anonymised;
    size_t inbound_anonymised;
    /* Replies of anonymised periods that were waiting in Review: their raw
     * mail may still be in the Review folder (see docs/privacy.md). */
    size_t review_left;
    size_t periods_purged;
    size_t comments_purged;
    size_t raw_purged;      /* raw messages removed from the mailbox */
    size_t inbound_blanked; /* old inbound records stripped of sender… */
};

/* Anonymises every period of the anonymous campaigns among camps whose
 * digest has gone out (period.digest_at set): until then a late answer
 * still counts and must reach its invitation. Times are coarsened to 00:00
 * of the period's first day in the campaign's zone. One transaction per
 * period; a period done before is not touched again. */
enum eq_err retention_anonymise(struct store *st, struct campaign *const *camps,
                                size_t n_camps, eq_time now,
                                struct retention_summary *sum,
                                struct eq_buf *diag);

/* The retention_days purge: comments of every period whose last day is
 * more than retention_days before today (local date of now in [general]
 * timezone) are deleted and the period marked purged; inbound records
 * received before now − retention_days lose sender, subject and note; raw
 * mail the source filed before that cutoff is removed when src (may be
 * NULL) can purge. Logs one line with counts when anything was purged. */
enum eq_err retention_purge(struct store *st, const struct eq_config *cfg,
                            struct source *src, eq_time now,
                            struct retention_summary *sum, struct eq_buf *diag);

/* Both, as one step of `run`. The first error is returned; a mailbox that
 * cannot purge does not stop the database work. */
enum eq_err retention_run(struct store *st, const struct eq_config *cfg,
                          struct campaign *const *camps, size_t n_camps,
                          struct source *src, eq_time now,
                          struct retention_summary *sum, struct eq_buf *diag);

#endif
