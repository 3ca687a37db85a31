/*
 * store_privacy: the SQL of data protection — anonymising a finished period
 * of an anonymous campaign, the retention purge, and one person's export and
 * erasure (AVG/GDPR). Each writing call is one transaction of its own, so it
 * must not be called inside store_begin. It decides nothing about *when*:
 * that is retention's (and cli's) business.
 */
#ifndef STORE_PRIVACY_H
#define STORE_PRIVACY_H

#include "eq.h"
#include "store.h"

/* A period as the privacy work needs it. */
struct store_privacy_period {
    int64_t id;
    int64_t campaign_id;
    char campaign[64];
    char label[16];
    eq_day first, last;
    eq_time digest_at; /* 0 = not sent */
};

/* Periods of a campaign whose digest has gone out and that are not
 * anonymised yet, oldest first. */
enum eq_err store_privacy_to_anonymise(struct store *st, int64_t campaign_id,
                                       struct store_privacy_period **out,
                                       size_t *n);

struct store_anon_counts {
    int64_t invitations; /* rows unlinked and coarsened */
    int64_t answers, comments;
    int64_t inbound; /* inbound rows stripped of sender, subject… */
    int64_t review;  /* of those, still waiting in Review (raw mail may
                        remain in the Review folder) */
};

/* One transaction: every invitation of the period loses its employee, its
 * language, its error text and its token (a fresh random one replaces it, so
 * mail that carried the old token no longer leads anywhere); its times and
 * its answers' and comments' times become coarse (the start of the period);
 * inbound mail of those invitations (by link or by token) loses sender,
 * subject, Message-ID, source key, note, token and link, its time becomes
 * coarse and pending Review items become "ignored"; answers and comments
 * lose their inbound link (the confirmation's Message-ID names the inbound
 * id); the ids of the period's invitations, answers and comments are
 * shuffled among themselves, so row order no longer tells the order of
 * sending or replying; period.anonymised_at = now. */
enum eq_err store_privacy_anonymise(struct store *st, int64_t period_id,
                                    eq_time coarse, eq_time now,
                                    struct store_anon_counts *out);

/* Periods (any campaign) with last day before `before`, digest sent and
 * not purged yet, oldest first. */
enum eq_err store_privacy_to_purge(struct store *st, eq_day before,
                                   struct store_privacy_period **out,
                                   size_t *n);
/* One transaction: deletes the period's comments (*comments = how many) and
 * sets period.purged_at = now. */
enum eq_err store_privacy_purge_period(struct store *st, int64_t period_id,
                                       eq_time now, int64_t *comments);
/* Strips sender, subject and note from inbound records received before
 * cutoff (the hash stays, so a message is still recognised); *n rows. */
enum eq_err store_privacy_purge_inbound(struct store *st, eq_time cutoff,
                                        int64_t *n);

/* Everything stored about the person with this address (primary or alias)
 * as a JSON document (newly allocated, pretty-printed). Mail records are
 * listed in full only when sent from one of their addresses; others' mail
 * about their invitations shows time, kind and outcome only.
 * EQ_ERR_NOTFOUND for an unknown address. */
enum eq_err store_privacy_export(struct store *st, const char *email,
                                 char **json);

struct store_erase_counts {
    int64_t person; /* 1 */
    int64_t aliases;
    int64_t manager_of;  /* manager rows */
    int64_t invitations; /* unlinked (answers kept, without a person) */
    int64_t cancelled;   /* of those, never sent: cancelled */
    int64_t comments;
    int64_t inbound;       /* records they sent: stripped of sender,
                              subject, token, link; time coarsened */
    int64_t review;        /* Review records they sent: deleted */
    int64_t unlinked_mail; /* others' mail about their invitations (a
                              colleague's reply, a bounce): kept, only the
                              link to them removed */
    int64_t digests;       /* digest log rows addressed to them */
    int64_t notices;       /* action notices */
    int64_t actions;       /* actions they authored: author removed */
};

/* One transaction: removes the person with this address and their personal
 * data (see docs/privacy.md). Answers stay, unlinked, so aggregates and
 * suppression for everyone else are unchanged; their invitations get fresh
 * tokens and times coarsened to the start of their period (00:00 in tz),
 * and their answers lose the link to the reply. Mail from their addresses
 * is stripped (Review items deleted); mail others sent about their
 * invitations stays, unlinked.
 * EQ_ERR_NOTFOUND for an unknown address. */
enum eq_err store_privacy_erase(struct store *st, const char *email,
                                const char *tz, struct store_erase_counts *out);

#endif
