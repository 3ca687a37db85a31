/*
 * source_imap: the IMAP backend's source_ops (libetpan). It fetches in
 * batches and files handled mail in batches of UID MOVE (or COPY + \Deleted
 * + EXPUNGE); for the daemon it waits with IDLE and purges old handled mail.
 * A finished scan starts over on the next next(). Connecting is
 * source_imap_conn.c's.
 */
#include "source.h"

#include "eqtime.h"
#include "log.h"
#include "source_int.h"

#include <errno.h>
#include <inttypes.h>
#include <libetpan/idle.h>
#include <libetpan/mailimap.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMAP_KEY_FMT "imap:%" PRIu32 ":%" PRIu32

size_t
source_imap_ranges(const uint32_t *uids, size_t n, uint32_t *first,
                   uint32_t *last, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; k++) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        first[k] = uids[i];
        last[k] = uids[j];
        i = j + 1;
    }
    return k;
}

static int
uidlist_add(struct uidlist *l, uint32_t uid)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        uint32_t *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = uid;
    return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The target folder exists: LIST it, CREATE it when missing, once a run. */
static enum eq_err
imap_ensure_folder(struct imap_src *im, int f, struct eq_buf *diag)
{
    clist *list = NULL;
    int r;
    if (im->created[f])
        return EQ_OK;
    r = mailimap_list(im->imap, "", im->folders[f], &list);
    if (r != MAILIMAP_NO_ERROR)
        return source_imap_fail(im, r, "LIST", diag);
    int have = clist_count(list) > 0;
    mailimap_list_result_free(list);
    if (!have) {
        r = mailimap_create(im->imap, im->folders[f]);
        if (r != MAILIMAP_NO_ERROR) {
            char what[160];
            snprintf(what, sizeof what, "CREATE %s", im->folders[f]);
            return source_imap_fail(im, r, what, diag);
        }
    }
    im->created[f] = 1;
    return EQ_OK;
}

static struct mailimap_set *
uid_set(const uint32_t *uids, size_t n)
{
    struct mailimap_set *set = mailimap_set_new_empty();
    if (!set)
        return NULL;
    for (size_t i = 0; i < n;) {
        uint32_t a, b;
        source_imap_ranges(uids + i, n - i, &a, &b, 1);
        if (mailimap_set_add_interval(set, a, b) != MAILIMAP_NO_ERROR) {
            mailimap_set_free(set);
            return NULL;
        }
        i += (size_t)(b - a) + 1;
    }
    return set;
}

static enum eq_err
imap_expunge(struct imap_src *im, struct mailimap_set *set, struct eq_buf *diag)
{
    int r = im->has_uidplus ? mailimap_uid_expunge(im->imap, set)
                            : mailimap_expunge(im->imap);
    return r == MAILIMAP_NO_ERROR ? EQ_OK
                                  : source_imap_fail(im, r, "EXPUNGE", diag);
}

static enum eq_err
imap_mark_deleted(struct imap_src *im, struct mailimap_set *set,
                  struct eq_buf *diag)
{
    struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
    struct mailimap_flag *del = mailimap_flag_new_deleted();
    struct mailimap_store_att_flags *sa = NULL;
    int r;
    if (!fl || !del || mailimap_flag_list_add(fl, del) != 0) {
        if (del)
            mailimap_flag_free(del);
        if (fl)
            mailimap_flag_list_free(fl);
        return EQ_ERR_NOMEM;
    }
    if (!(sa = mailimap_store_att_flags_new_add_flags_silent(fl))) {
        mailimap_flag_list_free(fl);
        return EQ_ERR_NOMEM;
    }
    r = mailimap_uid_store(im->imap, set, sa);
    mailimap_store_att_flags_free(sa);
    return r == MAILIMAP_NO_ERROR
               ? EQ_OK
               : source_imap_fail(im, r, "UID STORE \\Deleted", diag);
}

/* Files what done() queued. On failure the messages stay in the folder and
 * are read again next run; ingest's dedupe files them then. */
static enum eq_err
imap_flush(struct imap_src *im, struct eq_buf *diag)
{
    enum eq_err err = EQ_OK;
    for (int f = 0; f < N_FOLDERS && err == EQ_OK; f++) {
        struct uidlist *l = &im->pend[f];
        struct mailimap_set *set = NULL;
        int r;
        if (l->n == 0)
            continue;
        if (im->broken) {
            eq_diag(diag, "imap %s:%u: connection lost before filing",
                    im->url.host, (unsigned)im->url.port);
            return EQ_ERR_TEMP;
        }
        qsort(l->v, l->n, sizeof *l->v, cmp_u32);
        if (f != SOURCE_DELETE &&
            (err = imap_ensure_folder(im, f, diag)) != EQ_OK)
            break;
        if (!(set = uid_set(l->v, l->n)))
            return EQ_ERR_NOMEM;
        if (f != SOURCE_DELETE && im->has_move) {
            r = mailimap_uid_move(im->imap, set, im->folders[f]);
            if (r != MAILIMAP_NO_ERROR)
                err = source_imap_fail(im, r, "UID MOVE", diag);
        } else {
            if (f != SOURCE_DELETE) {
                r = mailimap_uid_copy(im->imap, set, im->folders[f]);
                if (r != MAILIMAP_NO_ERROR)
                    err = source_imap_fail(im, r, "UID COPY", diag);
            }
            if (err == EQ_OK)
                err = imap_mark_deleted(im, set, diag);
            if (err == EQ_OK)
                err = imap_expunge(im, set, diag);
        }
        mailimap_set_free(set);
        if (err == EQ_OK) {
            im->n_pend -= l->n;
            l->n = 0;
        }
    }
    return err;
}

/* UIDs in the folder. Those at or below a matching checkpoint's last_uid
 * were recorded but their move was lost (a crash before the flush, or a
 * failed move): they are read again so that dedupe files them. */
static enum eq_err
imap_search(struct imap_src *im, struct eq_buf *diag)
{
    clist *res = NULL;
    struct mailimap_set *all = mailimap_set_new_interval(1, 0);
    struct mailimap_search_key *key =
        all ? mailimap_search_key_new_uid(all) : NULL;
    int r;
    if (!key) {
        if (all)
            mailimap_set_free(all);
        return EQ_ERR_NOMEM;
    }
    r = mailimap_uid_search(im->imap, NULL, key, &res);
    mailimap_search_key_free(key);
    if (r != MAILIMAP_NO_ERROR)
        return source_imap_fail(im, r, "UID SEARCH", diag);
    size_t n = (size_t)clist_count(res);
    im->uids = n ? malloc(n * sizeof *im->uids) : NULL;
    if (n && !im->uids) {
        mailimap_search_result_free(res);
        return EQ_ERR_NOMEM;
    }
    im->n_uids = 0;
    for (clistiter *it = clist_begin(res); it; it = clist_next(it))
        im->uids[im->n_uids++] = *(uint32_t *)clist_content(it);
    mailimap_search_result_free(res);
    if (im->n_uids > 1)
        qsort(im->uids, im->n_uids, sizeof *im->uids, cmp_u32);
    return EQ_OK;
}

static void
imap_drop_batch(struct imap_src *im)
{
    if (im->fetched)
        mailimap_fetch_list_free(im->fetched);
    im->fetched = NULL;
    im->cur = NULL;
}

static enum eq_err
imap_fetch_batch(struct imap_src *im, struct eq_buf *diag)
{
    size_t k = im->n_uids - im->pos;
    if (k > im->batch)
        k = im->batch;
    struct mailimap_set *set = uid_set(im->uids + im->pos, k);
    struct mailimap_fetch_type *ft =
        mailimap_fetch_type_new_fetch_att_list_empty();
    struct mailimap_fetch_att *a_uid = mailimap_fetch_att_new_uid();
    struct mailimap_section *sec = mailimap_section_new(NULL);
    struct mailimap_fetch_att *a_body =
        sec ? mailimap_fetch_att_new_body_peek_section(sec) : NULL;
    enum eq_err err = EQ_ERR_NOMEM;
    int r;
    if (!set || !ft || !a_uid || !a_body) {
        if (sec && !a_body)
            mailimap_section_free(sec);
        goto out;
    }
    if (mailimap_fetch_type_new_fetch_att_list_add(ft, a_uid) != 0)
        goto out;
    a_uid = NULL;
    if (mailimap_fetch_type_new_fetch_att_list_add(ft, a_body) != 0)
        goto out;
    a_body = NULL;
    r = mailimap_uid_fetch(im->imap, set, ft, &im->fetched);
    if (r != MAILIMAP_NO_ERROR) {
        im->fetched = NULL;
        err = source_imap_fail(im, r, "UID FETCH", diag);
        goto out;
    }
    im->pos += k;
    im->cur = clist_begin(im->fetched);
    err = EQ_OK;
out:
    if (a_uid)
        mailimap_fetch_att_free(a_uid);
    if (a_body)
        mailimap_fetch_att_free(a_body);
    if (ft)
        mailimap_fetch_type_free(ft);
    if (set)
        mailimap_set_free(set);
    return err;
}

/* A scan ends when next() runs dry; the next one searches again, so a
 * long-lived source (the daemon) sees mail that arrived since. */
static void
imap_forget_scan(struct imap_src *im)
{
    imap_drop_batch(im);
    free(im->uids);
    im->uids = NULL;
    im->n_uids = im->pos = 0;
    im->searched = 0;
}

static void
imap_drop_queue(struct imap_src *im)
{
    for (int f = 0; f < N_FOLDERS; f++)
        im->pend[f].n = 0;
    im->n_pend = 0;
}

static enum eq_err
imap_next_inner(struct source *s, struct source_msg *out)
{
    struct imap_src *im = s->priv;
    enum eq_err err;
    memset(out, 0, sizeof *out);
    buf_reset(&im->diag);
    if (im->broken) {
        eq_diag(&im->diag, "imap %s:%u: connection lost", im->url.host,
                (unsigned)im->url.port);
        return EQ_ERR_TEMP;
    }
    if (!im->searched) {
        /* A new scan: what an earlier one queued but never filed is still
         * in the folder and comes back in this one. */
        imap_drop_queue(im);
        if ((err = imap_search(im, &im->diag)) != EQ_OK)
            return err;
        im->searched = 1;
    }
    for (;;) {
        while (im->cur) {
            struct mailimap_msg_att *ma = clist_content(im->cur);
            uint32_t uid = 0;
            const char *body = NULL;
            size_t blen = 0;
            im->cur = clist_next(im->cur);
            for (clistiter *it = clist_begin(ma->att_list); it;
                 it = clist_next(it)) {
                struct mailimap_msg_att_item *item = clist_content(it);
                if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
                    continue;
                struct mailimap_msg_att_static *st = item->att_data.att_static;
                if (st->att_type == MAILIMAP_MSG_ATT_UID)
                    uid = st->att_data.att_uid;
                else if (st->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
                         st->att_data.att_body_section) {
                    body = st->att_data.att_body_section->sec_body_part;
                    blen = st->att_data.att_body_section->sec_length;
                }
            }
            /* Unsolicited FETCH (flag changes by others) has no body. */
            if (uid == 0 || !body)
                continue;
            struct eq_buf key = {0};
            if (buf_printf(&key, IMAP_KEY_FMT, im->uidvalidity, uid) != EQ_OK ||
                !(out->data = malloc(blen + 1))) {
                buf_free(&key);
                return EQ_ERR_NOMEM;
            }
            memcpy(out->data, body, blen);
            out->data[blen] = '\0';
            out->len = blen;
            out->key = buf_take(&key);
            out->uidvalidity = im->uidvalidity;
            out->uid = uid;
            return EQ_OK;
        }
        imap_drop_batch(im);
        if (im->pos >= im->n_uids) {
            imap_forget_scan(im);
            return EQ_ERR_NOTFOUND;
        }
        if ((err = imap_fetch_batch(im, &im->diag)) != EQ_OK)
            return err;
    }
}

/* next() has no diag parameter: the detail goes to the operator's log. */
static enum eq_err
imap_next(struct source *s, struct source_msg *out)
{
    struct imap_src *im = s->priv;
    enum eq_err err = imap_next_inner(s, out);
    if (err != EQ_OK && err != EQ_ERR_NOTFOUND && im->diag.len)
        log_msg(LOG_ERROR, "%s", buf_str(&im->diag));
    return err;
}

static enum eq_err
imap_done(struct source *s, const struct source_msg *m,
          enum source_folder folder)
{
    struct imap_src *im = s->priv;
    if (!m || !m->key || strncmp(m->key, "imap:", 5) != 0 || m->uid == 0 ||
        m->uidvalidity != im->uidvalidity || (int)folder < 0 ||
        (int)folder >= N_FOLDERS)
        return EQ_ERR_USAGE;
    if (uidlist_add(&im->pend[folder], m->uid) != 0)
        return EQ_ERR_NOMEM;
    im->n_pend++;
    return EQ_OK;
}

static enum eq_err
imap_flush_op(struct source *s)
{
    struct imap_src *im = s->priv;
    enum eq_err err;

    buf_reset(&im->diag);
    err = imap_flush(im, &im->diag);
    if (err != EQ_OK && im->diag.len)
        log_msg(LOG_ERROR, "%s", buf_str(&im->diag));
    return err;
}

/* The folder the source reads from is selected again after a purge (or a
 * failed one), so next() and wait() work on it as before. */
static enum eq_err
imap_reselect(struct imap_src *im, struct eq_buf *diag)
{
    int r = mailimap_select(im->imap, im->url.folder);
    if (r != MAILIMAP_NO_ERROR) {
        char what[160];
        snprintf(what, sizeof what, "SELECT %s", im->url.folder);
        im->broken = 1; /* no folder selected: nothing else can work */
        return source_imap_fail(im, r, what, diag);
    }
    return EQ_OK;
}

static enum eq_err
imap_purge_folder(struct imap_src *im, const char *folder, eq_time cutoff,
                  size_t *removed, struct eq_buf *diag)
{
    clist *res = NULL;
    uint32_t *uids = NULL;
    struct mailimap_set *set = NULL;
    enum eq_err err = EQ_OK;
    size_t n = 0;
    int y, m, d, r;
    char what[160];

    r = mailimap_select(im->imap, folder);
    if (r != MAILIMAP_NO_ERROR) {
        size_t keep = diag->len;
        snprintf(what, sizeof what, "SELECT %s", folder);
        err = source_imap_fail(im, r, what, diag);
        if (!im->broken) { /* NO: the folder was never created */
            diag->len = keep;
            if (diag->s)
                diag->s[keep] = '\0';
            err = EQ_OK;
        }
        return err;
    }
    /* BEFORE compares dates only: the day of cutoff itself is kept, so
     * nothing younger than cutoff goes. */
    eqtime_ymd_from_day(
        (eq_day)((cutoff - (cutoff % 86400 + 86400) % 86400) / 86400), &y, &m,
        &d);
    struct mailimap_date *date = mailimap_date_new(d, m, y);
    struct mailimap_search_key *key =
        date ? mailimap_search_key_new_before(date) : NULL;
    if (!key) {
        if (date)
            mailimap_date_free(date);
        return EQ_ERR_NOMEM;
    }
    r = mailimap_uid_search(im->imap, NULL, key, &res);
    mailimap_search_key_free(key);
    if (r != MAILIMAP_NO_ERROR) {
        snprintf(what, sizeof what, "UID SEARCH BEFORE in %s", folder);
        return source_imap_fail(im, r, what, diag);
    }
    n = (size_t)clist_count(res);
    if (n == 0)
        goto out;
    /* Without UIDPLUS only a plain EXPUNGE exists, and it would also remove
     * what other clients marked \Deleted in that folder. */
    if (!im->has_uidplus) {
        eq_diag(diag,
                "imap %s:%u: %s: %zu old messages kept: the server lacks "
                "UIDPLUS (UID EXPUNGE)",
                im->url.host, (unsigned)im->url.port, folder, n);
        err = EQ_ERR_UNAVAILABLE;
        goto out;
    }
    if (!(uids = malloc(n * sizeof *uids))) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    size_t k = 0;
    for (clistiter *it = clist_begin(res); it; it = clist_next(it))
        uids[k++] = *(uint32_t *)clist_content(it);
    qsort(uids, n, sizeof *uids, cmp_u32);
    if (!(set = uid_set(uids, n))) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    if ((err = imap_mark_deleted(im, set, diag)) != EQ_OK)
        goto out;
    r = mailimap_uid_expunge(im->imap, set);
    if (r != MAILIMAP_NO_ERROR) {
        snprintf(what, sizeof what, "UID EXPUNGE in %s", folder);
        err = source_imap_fail(im, r, what, diag);
        goto out;
    }
    *removed += n;
out:
    if (set)
        mailimap_set_free(set);
    free(uids);
    if (res)
        mailimap_search_result_free(res);
    return err;
}

static enum eq_err
imap_purge_before(struct source *s, eq_time cutoff, size_t *removed)
{
    struct imap_src *im = s->priv;
    enum eq_err err = EQ_OK, e;
    *removed = 0;
    buf_reset(&im->diag);
    if (im->broken) {
        eq_diag(&im->diag, "imap %s:%u: connection lost", im->url.host,
                (unsigned)im->url.port);
        err = EQ_ERR_TEMP;
        goto out;
    }
    imap_forget_scan(im); /* the selection changes under it */
    for (int f = 0; f < N_FOLDERS && !im->broken; f++) {
        if (!im->folders[f])
            continue;
        e = imap_purge_folder(im, im->folders[f], cutoff, removed, &im->diag);
        /* One folder the server cannot purge safely does not stop the
         * others; the first such error is what the caller hears. */
        if (e != EQ_OK && err == EQ_OK)
            err = e;
        if (e != EQ_OK && e != EQ_ERR_UNAVAILABLE)
            break;
    }
    if (!im->broken && (e = imap_reselect(im, &im->diag)) != EQ_OK)
        err = e;
out:
    if (err != EQ_OK && im->diag.len)
        log_msg(LOG_ERROR, "%s", buf_str(&im->diag));
    return err;
}

/* Servers drop an IDLE after 30 minutes (RFC 2177): re-issue it sooner. */
#define IDLE_MAX_MS (25 * 60 * 1000)

/* One IDLE … DONE round. *woke: 1 server data, 2 wake_fd, 0 timeout. */
static enum eq_err
imap_idle_once(struct imap_src *im, int wake_fd, int ms, int *woke)
{
    int r = mailimap_idle(im->imap);
    *woke = 0;
    if (r != MAILIMAP_NO_ERROR)
        return source_imap_fail(im, r, "IDLE", &im->diag);
    /* libetpan may already hold the next line in its read buffer, where
     * poll() cannot see it. */
    if (im->imap->imap_stream && im->imap->imap_stream->read_buffer_len > 0)
        *woke = 1;
    int64_t end = eqtime_mono_ms() + ms;
    while (!*woke) {
        struct pollfd p[2] = {
            {.fd = mailimap_idle_get_fd(im->imap), .events = POLLIN},
            {.fd = wake_fd, .events = POLLIN}};
        int64_t left = end - eqtime_mono_ms();
        if (left <= 0)
            break;
        int n = poll(p, wake_fd >= 0 ? 2 : 1, (int)left);
        if (n < 0 && errno != EINTR) {
            eq_diag(&im->diag, "poll: %s", strerror(errno));
            return EQ_ERR_IO; /* still idling: the caller reconnects */
        }
        if (n < 0)
            continue; /* a signal: its handler woke wake_fd, if it cares */
        if (wake_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP)))
            *woke = 2;
        else if (p[0].revents)
            *woke = 1;
    }
    /* DONE reads the server's untagged replies (EXISTS, RECENT) into the
     * selection info, then the tagged OK. */
    r = mailimap_idle_done(im->imap);
    if (r != MAILIMAP_NO_ERROR)
        return source_imap_fail(im, r, "IDLE DONE", &im->diag);
    return EQ_OK;
}

static enum eq_err
imap_wait_inner(struct imap_src *im, int wake_fd, int timeout_ms, int *arrived)
{
    if (im->broken) {
        eq_diag(&im->diag, "imap %s:%u: connection lost", im->url.host,
                (unsigned)im->url.port);
        return EQ_ERR_TEMP;
    }
    if (!mailimap_has_idle(im->imap))
        return EQ_ERR_UNAVAILABLE;
    /* A negative timeout waits for mail or wake_fd alone. */
    int64_t end =
        timeout_ms < 0 ? INT64_MAX : eqtime_mono_ms() + timeout_ms;
    for (;;) {
        struct mailimap_selection_info *sel = im->imap->imap_selection_info;
        uint32_t exists = sel ? sel->sel_exists : 0;
        uint32_t recent = sel ? sel->sel_recent : 0;
        int64_t left = end - eqtime_mono_ms();
        int woke;
        enum eq_err err;
        if (left <= 0)
            return EQ_OK;
        err = imap_idle_once(
            im, wake_fd, left > IDLE_MAX_MS ? IDLE_MAX_MS : (int)left, &woke);
        if (err != EQ_OK)
            return err;
        sel = im->imap->imap_selection_info;
        /* EXISTS after an EXPUNGE by someone else may not grow: any change
         * is worth a look, which costs one SEARCH. */
        if (sel && (sel->sel_exists != exists || sel->sel_recent > recent)) {
            *arrived = 1;
            return EQ_OK;
        }
        if (woke == 2)
            return EQ_OK;
        /* Server chatter ("* OK still here", flag changes): idle on. */
    }
}

static enum eq_err
imap_wait(struct source *s, int wake_fd, int timeout_ms, int *arrived)
{
    struct imap_src *im = s->priv;
    enum eq_err err;
    *arrived = 0;
    buf_reset(&im->diag);
    err = imap_wait_inner(im, wake_fd, timeout_ms, arrived);
    if (err != EQ_OK && err != EQ_ERR_UNAVAILABLE && im->diag.len)
        log_msg(LOG_ERROR, "%s", buf_str(&im->diag));
    if (err == EQ_ERR_IO)
        im->broken = 1;
    return err;
}

static enum eq_err
imap_resume(struct source *s, const struct source_checkpoint *cp)
{
    struct imap_src *im = s->priv;
    if (cp)
        im->cp = *cp;
    return EQ_OK;
}

static void
imap_close(struct source *s)
{
    struct imap_src *im = s->priv;
    if (im) {
        imap_drop_batch(im);
        if (im->imap) {
            /* What is still queued was not flushed after a commit: it
             * stays in the folder and is read (as a duplicate) next time. */
            if (!im->broken)
                mailimap_logout(im->imap);
            mailimap_free(im->imap);
        }
        for (int f = 0; f < N_FOLDERS; f++)
            free(im->pend[f].v);
        free(im->uids);
        source_imap_url_clear(&im->url);
        buf_free(&im->diag);
        sigaction(SIGPIPE, &im->old_pipe, NULL);
        free(im);
    }
    free(s);
}

static const struct source_ops imap_ops = {
    .name = "imap",
    .next = imap_next,
    .done = imap_done,
    .resume = imap_resume,
    .flush = imap_flush_op,
    .purge_before = imap_purge_before,
    .wait = imap_wait,
    .close = imap_close,
};

enum eq_err
source_imap_open(const struct eq_config *cfg, struct source **out,
                 struct eq_buf *diag)
{
    struct source *s = calloc(1, sizeof *s);
    struct imap_src *im = calloc(1, sizeof *im);
    enum eq_err err;
    if (!s || !im) {
        free(s);
        free(im);
        return EQ_ERR_NOMEM;
    }
    /* A server that hangs up must give an error, not kill the process. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &im->old_pipe);
    s->ops = &imap_ops;
    s->priv = im;
    im->cfg = cfg;
    im->batch = cfg->imap.batch > 0 ? (size_t)cfg->imap.batch : 200;
    im->folders[SOURCE_PROCESSED] =
        cfg->imap.folder_processed ? cfg->imap.folder_processed : "Processed";
    im->folders[SOURCE_BOUNCES] =
        cfg->imap.folder_bounces ? cfg->imap.folder_bounces : "Bounces";
    im->folders[SOURCE_AUTO] =
        cfg->imap.folder_auto ? cfg->imap.folder_auto : "AutoReplies";
    im->folders[SOURCE_REVIEW] =
        cfg->imap.folder_review ? cfg->imap.folder_review : "Review";
    im->folders[SOURCE_DELETE] = NULL;
    if ((err = source_imap_parse_url(cfg->imap.srv.url, &im->url, diag)) !=
        EQ_OK)
        goto fail;
    if (im->url.implicit_tls && cfg->imap.srv.tls == EQ_TLS_OFF) {
        eq_diag(diag, "[imap] imaps:// always uses TLS; tls = off needs "
                      "imap://");
        err = EQ_ERR_CONFIG;
        goto fail;
    }
    if ((err = source_imap_connect(im, diag)) != EQ_OK)
        goto fail;
    *out = s;
    return EQ_OK;
fail:
    imap_close(s);
    return err;
}
