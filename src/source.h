/*
 * source: where inbound mail comes from, behind struct source_ops: maildir
 * (reads new/, moves handled mail to cur/) and imap (libetpan). It hands out
 * raw messages and files them after ingest has recorded them; it does not
 * parse or judge them.
 */
#ifndef SOURCE_H
#define SOURCE_H

#include "config.h"
#include "eq.h"

struct source;

struct source_msg {
    char *key;  /* "maildir:FILENAME" or "imap:UIDVALIDITY:UID" */
    char *data; /* raw message, NUL-terminated */
    size_t len;
    uint32_t uidvalidity, uid; /* imap; 0 for maildir */
};

/* Where reading resumes: messages with a UID above last_uid of a mailbox
 * whose UIDVALIDITY is uidvalidity. A different UIDVALIDITY (or 0) means
 * read everything again: ingest's dedupe keeps that safe. */
struct source_checkpoint {
    uint32_t uidvalidity;
    uint32_t last_uid;
};

/* Where handled mail goes; maildir ignores the folder and moves to cur/. */
enum source_folder {
    SOURCE_PROCESSED,
    SOURCE_BOUNCES,
    SOURCE_AUTO,
    SOURCE_REVIEW,
    SOURCE_DELETE
};

struct source_ops {
    const char *name;
    /* Next unhandled message; EQ_ERR_NOTFOUND when there are no more. */
    enum eq_err (*next)(struct source *s, struct source_msg *out);
    enum eq_err (*done)(struct source *s, const struct source_msg *m,
                        enum source_folder folder);
    /* Optional (imap): resume after cp; called before the first next(). */
    enum eq_err (*resume)(struct source *s, const struct source_checkpoint *cp);
    /* Optional (imap): done() only queues; flush files the queue. Nothing
     * queued is moved before flush (close drops the queue: those messages
     * are read again next time), so the caller can commit first. */
    enum eq_err (*flush)(struct source *s);
    /* Optional: removes handled mail (imap: the processed, bounces,
     * auto-reply and review folders; maildir: cur/) that arrived before
     * cutoff (imap INTERNALDATE, by whole UTC days; maildir file time);
     * *removed = how many. imap without UIDPLUS: EQ_ERR_UNAVAILABLE for
     * those folders (a plain EXPUNGE would take other clients' \Deleted
     * mail too), the other folders are still purged. Not during a scan. */
    enum eq_err (*purge_before)(struct source *s, eq_time cutoff,
                                size_t *removed);
    /* Optional: blocks until new mail may have arrived (imap IDLE, re-issued
     * every 25 minutes; maildir inotify on new/), wake_fd (>= 0) becomes
     * readable, or timeout_ms passes (< 0: no limit); *arrived = 1 when new
     * mail was announced. A scan that next() finished is started afresh by
     * the next next(), so a long-lived source reads what wait() announced.
     * imap: EQ_ERR_UNAVAILABLE without IDLE, EQ_ERR_TEMP when the connection
     * is lost (reopen the source). */
    enum eq_err (*wait)(struct source *s, int wake_fd, int timeout_ms,
                        int *arrived);
    void (*close)(struct source *s);
};

struct source {
    const struct source_ops *ops;
    void *priv;
};

/* Opens cfg->imap.srv.url: "maildir:PATH" (relative to the config dir),
 * "imaps://HOST[:PORT][/FOLDER]" or "imap://…" (STARTTLS per [imap] tls).
 * Connection problems are EQ_ERR_TEMP, a refused login EQ_ERR_CONFIG. */
enum eq_err source_open(const struct eq_config *cfg, struct source **out,
                        struct eq_buf *diag);
enum eq_err source_maildir_new(const char *dir, struct source **out,
                               struct eq_buf *diag);
enum eq_err source_next(struct source *s, struct source_msg *out);
enum eq_err source_done(struct source *s, const struct source_msg *m,
                        enum source_folder folder);
/* Files what done() queued; EQ_OK at once for sources that file in done(). */
enum eq_err source_flush(struct source *s);
/* 1 when done() only queues until source_flush (imap). */
int source_defers(const struct source *s);
/* Tells the source where the last run stopped (no-op for maildir). */
enum eq_err source_resume(struct source *s, const struct source_checkpoint *cp);
/* See source_ops.purge_before; EQ_ERR_UNAVAILABLE when the source has none. */
enum eq_err source_purge_before(struct source *s, eq_time cutoff,
                                size_t *removed);
/* See source_ops.wait; EQ_ERR_UNAVAILABLE when the source cannot wait for
 * new mail (the caller polls instead). */
enum eq_err source_wait(struct source *s, int wake_fd, int timeout_ms,
                        int *arrived);
void source_msg_clear(struct source_msg *m);
void source_close(struct source *s);

/* The parts of an IMAP URL (exposed for tests). */
struct source_imap_url {
    char *host;
    uint16_t port;
    int implicit_tls; /* imaps:// */
    char *folder;     /* INBOX when the URL has no path */
};
enum eq_err source_imap_parse_url(const char *url, struct source_imap_url *out,
                                  struct eq_buf *diag);
void source_imap_url_clear(struct source_imap_url *u);
/* Splits sorted uids[0..n) into set ranges of consecutive values; returns
 * how many ranges were written to first/last (at most cap). */
size_t source_imap_ranges(const uint32_t *uids, size_t n, uint32_t *first,
                          uint32_t *last, size_t cap);

#endif
