/*
 * source_int: what the files of the source module share. source.c (the front
 * and maildir) opens IMAP through source_imap_open; source_imap_conn.c sets
 * the session up and source_imap.c reads and files through it. libetpan's
 * types are named here by their struct tags, so that no libetpan header
 * reaches beyond the IMAP files. Only source*.c include this header, and
 * tests/test_source.c for the deadline's clock.
 */
#ifndef SOURCE_INT_H
#define SOURCE_INT_H

#include "source.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* libetpan's mailimap, clist and clistiter. */
struct mailimap;
struct clist_s;
struct clistcell_s;

#define N_FOLDERS 5

/* The overall deadline of the IMAP command in flight, kept by the stream
 * guard (source_imap_conn.c): sending a command starts it, every read of
 * the reply checks it. */
struct imap_deadline {
    int64_t (*now_ms)(void); /* eqtime_mono_ms; tests run a fast one */
    int64_t base_ms;         /* from [imap] timeout */
    int64_t start_ms;        /* when the command went out */
    uint64_t got;            /* bytes of its reply so far */
    int armed;               /* a command was sent */
    int64_t passed_ms;       /* the limit that passed; 0 while none has */
};

struct uidlist {
    uint32_t *v;
    size_t n, cap;
};

struct imap_src {
    struct mailimap *imap;
    struct source_imap_url url;
    const struct eq_config *cfg;
    const char *folders[N_FOLDERS]; /* target per enum source_folder */
    int created[N_FOLDERS];         /* checked/created this run */
    uint32_t uidvalidity;
    struct source_checkpoint cp;
    int searched;
    uint32_t *uids; /* what is in the folder, ascending */
    size_t n_uids, pos;
    struct clist_s *fetched; /* current batch from UID FETCH */
    struct clistcell_s *cur;
    struct uidlist pend[N_FOLDERS]; /* handled, not yet filed */
    size_t n_pend;
    size_t batch;
    int has_move, has_uidplus;
    int broken;      /* the connection failed: no more commands */
    int peer_closed; /* the server hung up (set by the EOF guard) */
    struct imap_deadline dl;
    struct sigaction old_pipe;
    struct eq_buf diag; /* detail of the last failure */
};

/* Opens the IMAP source for cfg->imap.srv.url (imap:// or imaps://). */
enum eq_err source_imap_open(const struct eq_config *cfg, struct source **out,
                             struct eq_buf *diag);
/* Connects, secures, logs in and selects im->url.folder. */
enum eq_err source_imap_connect(struct imap_src *im, struct eq_buf *diag);
/* Maps libetpan's result r of step what to an eq_err (source_imap_conn.c). */
enum eq_err source_imap_fail(struct imap_src *im, int r, const char *what,
                             struct eq_buf *diag);

#endif
