/*
 * source: the maildir and IMAP backends and the dispatching front. A maildir
 * scan lists new/ once, sorted by name so runs are deterministic; done()
 * files a message with one atomic rename into cur/. The IMAP backend
 * (libetpan; its headers stay in this file) fetches in batches and files
 * handled mail in batches of UID MOVE (or COPY + \Deleted + EXPUNGE).
 * For the daemon both wait for new mail (IDLE, inotify) and purge old
 * handled mail; a finished scan starts over on the next next().
 */
#include "source.h"

#include "eqtime.h"
#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <inttypes.h>
#include <libetpan/idle.h>
#include <libetpan/mailimap.h>
#include <libetpan/mailimap_oauth2.h>
#include <libetpan/mailimap_socket.h>
#include <libetpan/mailimap_ssl.h>
#include <libetpan/mailstream_low.h>
#include <libetpan/mailstream_ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEY_PREFIX "maildir:"

struct maildir {
    char *dir;
    char **names; /* snapshot of new/ taken by the first next() */
    size_t n_names;
    size_t pos;
    int listed;
    int inotify_fd; /* watch on new/, set up by the first wait(); -1 */
};

static enum eq_err
ensure_dir(const char *path, struct eq_buf *diag)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return EQ_OK;
        eq_diag(diag, "%s: not a directory", path);
        return EQ_ERR_IO;
    }
    eq_diag(diag, "%s: %s", path, strerror(errno));
    return errno == EACCES ? EQ_ERR_PERM : EQ_ERR_IO;
}

static char *
join(const char *a, const char *b, const char *c)
{
    struct eq_buf p = {0};
    if (buf_printf(&p, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "") != EQ_OK) {
        buf_free(&p);
        return NULL;
    }
    return buf_take(&p);
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum eq_err
list_new(struct maildir *md)
{
    char *path = join(md->dir, "new", NULL);
    DIR *d = NULL;
    enum eq_err err = EQ_OK;
    size_t cap = 0;
    if (!path)
        return EQ_ERR_NOMEM;
    d = opendir(path);
    if (!d) {
        err = EQ_ERR_IO;
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        /* Dot files are maildir-internal or half-written by other tools. */
        if (e->d_name[0] == '.')
            continue;
        if (md->n_names == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(md->names, nc * sizeof *nn);
            if (!nn) {
                err = EQ_ERR_NOMEM;
                goto out;
            }
            md->names = nn;
            cap = nc;
        }
        if (!(md->names[md->n_names] = eq_strdup(e->d_name))) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
        md->n_names++;
    }
    if (md->n_names > 1)
        qsort(md->names, md->n_names, sizeof *md->names, cmp_names);
out:
    if (d)
        closedir(d);
    free(path);
    return err;
}

/* Reads a whole file; ENOENT gives EQ_ERR_NOTFOUND (it was moved away). */
static enum eq_err
read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct eq_buf b = {0};
    enum eq_err err = EQ_OK;
    if (fd < 0)
        return errno == ENOENT ? EQ_ERR_NOTFOUND : EQ_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return EQ_ERR_NOTFOUND;
    }
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            err = EQ_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        if (buf_addn(&b, tmp, (size_t)n) != EQ_OK) {
            err = EQ_ERR_NOMEM;
            break;
        }
    }
    close(fd);
    if (err == EQ_OK && buf_add(&b, "") != EQ_OK)
        err = EQ_ERR_NOMEM;
    if (err != EQ_OK) {
        buf_free(&b);
        return err;
    }
    *len = b.len;
    *data = buf_take(&b);
    return EQ_OK;
}

static void
md_forget(struct maildir *md)
{
    for (size_t i = 0; i < md->n_names; i++)
        free(md->names[i]);
    free(md->names);
    md->names = NULL;
    md->n_names = md->pos = 0;
    md->listed = 0;
}

static enum eq_err
md_next(struct source *s, struct source_msg *out)
{
    struct maildir *md = s->priv;
    enum eq_err err;
    memset(out, 0, sizeof *out);
    if (!md->listed) {
        if ((err = list_new(md)) != EQ_OK)
            return err;
        md->listed = 1;
    }
    while (md->pos < md->n_names) {
        const char *name = md->names[md->pos++];
        char *path = join(md->dir, "new", name);
        if (!path)
            return EQ_ERR_NOMEM;
        char *data = NULL;
        size_t len = 0;
        err = read_file(path, &data, &len);
        free(path);
        if (err == EQ_ERR_NOTFOUND)
            continue; /* vanished since the listing: someone else took it */
        if (err != EQ_OK)
            return err;
        struct eq_buf key = {0};
        if (buf_printf(&key, KEY_PREFIX "%s", name) != EQ_OK) {
            free(data);
            buf_free(&key);
            return EQ_ERR_NOMEM;
        }
        out->key = buf_take(&key);
        out->data = data;
        out->len = len;
        return EQ_OK;
    }
    /* The scan is over; a later next() (the daemon's next tick) lists new/
     * again. */
    md_forget(md);
    return EQ_ERR_NOTFOUND;
}

static enum eq_err
md_done(struct source *s, const struct source_msg *m, enum source_folder folder)
{
    struct maildir *md = s->priv;
    const size_t pl = strlen(KEY_PREFIX);
    if (!m || !m->key || strncmp(m->key, KEY_PREFIX, pl) != 0)
        return EQ_ERR_USAGE;
    const char *name = m->key + pl;
    if (!*name || strchr(name, '/') || strcmp(name, "..") == 0)
        return EQ_ERR_USAGE;
    char *from = join(md->dir, "new", name);
    struct eq_buf to = {0};
    enum eq_err err = EQ_OK;
    if (!from) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    if (folder == SOURCE_DELETE) {
        if (unlink(from) != 0 && errno != ENOENT)
            err = EQ_ERR_IO;
        goto out;
    }
    /* Keep an existing info part's name; mark it seen. */
    const char *info = strstr(name, ":2,");
    if (buf_printf(&to, "%s/cur/%.*s:2,S", md->dir,
                   (int)(info ? (size_t)(info - name) : strlen(name)),
                   name) != EQ_OK) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    if (rename(from, to.s) != 0)
        err = errno == ENOENT ? EQ_ERR_NOTFOUND : EQ_ERR_IO;
out:
    free(from);
    buf_free(&to);
    return err;
}

/* Handled mail lives in cur/; the file's mtime is when it arrived (a
 * rename into cur/ keeps it). */
static enum eq_err
md_purge_before(struct source *s, eq_time cutoff, size_t *removed)
{
    struct maildir *md = s->priv;
    char *path = join(md->dir, "cur", NULL);
    DIR *d = NULL;
    enum eq_err err = EQ_OK;
    *removed = 0;
    if (!path)
        return EQ_ERR_NOMEM;
    if (!(d = opendir(path))) {
        log_msg(LOG_ERROR, "%s: %s", path, strerror(errno));
        err = EQ_ERR_IO;
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || (eq_time)st.st_mtime >= cutoff)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            (*removed)++;
        else if (errno != ENOENT) {
            log_msg(LOG_ERROR, "%s/%s: %s", path, e->d_name, strerror(errno));
            err = EQ_ERR_IO;
        }
    }
out:
    if (d)
        closedir(d);
    free(path);
    return err;
}

static int
md_new_has_mail(const struct maildir *md)
{
    char *path = join(md->dir, "new", NULL);
    DIR *d = path ? opendir(path) : NULL;
    int any = 0;
    struct dirent *e;
    while (d && !any && (e = readdir(d)) != NULL)
        any = e->d_name[0] != '.';
    if (d)
        closedir(d);
    free(path);
    return any;
}

/* inotify on new/: the watch lives as long as the source, so mail that lands
 * while a tick works is reported by the next wait(). */
static enum eq_err
md_wait(struct source *s, int wake_fd, int timeout_ms, int *arrived)
{
    struct maildir *md = s->priv;
    *arrived = 0;
    if (md->inotify_fd < 0) {
        char *path = join(md->dir, "new", NULL);
        if (!path)
            return EQ_ERR_NOMEM;
        md->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (md->inotify_fd >= 0 &&
            inotify_add_watch(md->inotify_fd, path,
                              IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
            close(md->inotify_fd);
            md->inotify_fd = -1;
        }
        free(path);
        if (md->inotify_fd < 0)
            return EQ_ERR_UNAVAILABLE;
        /* What arrived before the watch existed. */
        if (md_new_has_mail(md)) {
            *arrived = 1;
            return EQ_OK;
        }
    }
    struct pollfd p[2] = {{.fd = md->inotify_fd, .events = POLLIN},
                          {.fd = wake_fd, .events = POLLIN}};
    int r = poll(p, wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (r < 0)
        return errno == EINTR ? EQ_OK : EQ_ERR_IO;
    if (r > 0 && (p[0].revents & POLLIN)) {
        char ev[4096]
            __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(md->inotify_fd, ev, sizeof ev) > 0)
            ;
        *arrived = 1;
    }
    return EQ_OK;
}

static void
md_close(struct source *s)
{
    struct maildir *md = s->priv;
    if (md) {
        md_forget(md);
        if (md->inotify_fd >= 0)
            close(md->inotify_fd);
        free(md->dir);
        free(md);
    }
    free(s);
}

static const struct source_ops maildir_ops = {
    .name = "maildir",
    .next = md_next,
    .done = md_done,
    .purge_before = md_purge_before,
    .wait = md_wait,
    .close = md_close,
};

enum eq_err
source_maildir_new(const char *dir, struct source **out, struct eq_buf *diag)
{
    static const char *const subs[] = {"tmp", "new", "cur"};
    struct source *s = NULL;
    struct maildir *md = NULL;
    enum eq_err err = EQ_OK;
    *out = NULL;
    if (!dir || !*dir) {
        eq_diag(diag, "maildir: empty path");
        return EQ_ERR_CONFIG;
    }
    s = calloc(1, sizeof *s);
    md = calloc(1, sizeof *md);
    if (md)
        md->inotify_fd = -1;
    if (!s || !md || !(md->dir = eq_strdup(dir))) {
        err = EQ_ERR_NOMEM;
        goto fail;
    }
    size_t n = strlen(md->dir);
    while (n > 1 && md->dir[n - 1] == '/')
        md->dir[--n] = '\0';
    if ((err = ensure_dir(md->dir, diag)) != EQ_OK)
        goto fail;
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        char *p = join(md->dir, subs[i], NULL);
        if (!p) {
            err = EQ_ERR_NOMEM;
            goto fail;
        }
        err = ensure_dir(p, diag);
        free(p);
        if (err != EQ_OK)
            goto fail;
    }
    s->ops = &maildir_ops;
    s->priv = md;
    *out = s;
    return EQ_OK;
fail:
    if (md)
        free(md->dir);
    free(md);
    free(s);
    return err;
}

/* ---- IMAP ---------------------------------------------------------------- */

/* Not in source.h (not this module's file to change); declared here so the
 * unit tests can reach the pure parts. */

void
source_imap_url_clear(struct source_imap_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->folder);
    memset(u, 0, sizeof *u);
}

/* %XX in the folder path, as RFC 5092 writes mailbox names. */
static char *
url_unescape(const char *s, size_t n)
{
    struct eq_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            long v = strtol(hex, NULL, 16);
            if (v > 0) { /* %00 stays literal: no NUL in a mailbox name */
                c = (char)v;
                i += 2;
            }
        }
        if (buf_addc(&b, c) != EQ_OK) {
            buf_free(&b);
            return NULL;
        }
    }
    if (buf_add(&b, "") != EQ_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

enum eq_err
source_imap_parse_url(const char *url, struct source_imap_url *out,
                      struct eq_buf *diag)
{
    const char *p;
    memset(out, 0, sizeof *out);
    if (strncmp(url, "imaps://", 8) == 0) {
        out->implicit_tls = 1;
        p = url + 8;
    } else if (strncmp(url, "imap://", 7) == 0) {
        p = url + 7;
    } else {
        eq_diag(diag, "[imap] url: expected imap:// or imaps://, not \"%s\"",
                url);
        return EQ_ERR_CONFIG;
    }
    if (strchr(p, '@')) {
        eq_diag(diag, "[imap] url: put the user in 'user', not in the URL");
        return EQ_ERR_CONFIG;
    }
    const char *slash = strchr(p, '/');
    const char *hend = slash ? slash : p + strlen(p);
    const char *colon = NULL;
    const char *hstart = p, *hstop;
    if (*p == '[') { /* IPv6 literal */
        const char *rb = memchr(p, ']', (size_t)(hend - p));
        if (!rb) {
            eq_diag(diag, "[imap] url: unclosed '[' in \"%s\"", url);
            return EQ_ERR_CONFIG;
        }
        hstart = p + 1;
        hstop = rb;
        if (rb + 1 < hend) {
            if (rb[1] != ':') {
                eq_diag(diag, "[imap] url: bad host in \"%s\"", url);
                return EQ_ERR_CONFIG;
            }
            colon = rb + 1;
        }
    } else {
        colon = memchr(p, ':', (size_t)(hend - p));
        hstop = colon ? colon : hend;
    }
    if (hstop == hstart) {
        eq_diag(diag, "[imap] url: no host in \"%s\"", url);
        return EQ_ERR_CONFIG;
    }
    long port = out->implicit_tls ? 993 : 143;
    if (colon) {
        char num[8];
        size_t nl = (size_t)(hend - colon - 1);
        if (nl == 0 || nl >= sizeof num) {
            eq_diag(diag, "[imap] url: bad port in \"%s\"", url);
            return EQ_ERR_CONFIG;
        }
        memcpy(num, colon + 1, nl);
        num[nl] = '\0';
        if (eq_parse_long(num, 1, 65535, &port) != 0) {
            eq_diag(diag, "[imap] url: bad port in \"%s\"", url);
            return EQ_ERR_CONFIG;
        }
    }
    out->port = (uint16_t)port;
    out->host = malloc((size_t)(hstop - hstart) + 1);
    if (!out->host)
        return EQ_ERR_NOMEM;
    memcpy(out->host, hstart, (size_t)(hstop - hstart));
    out->host[hstop - hstart] = '\0';
    const char *f = slash ? slash + 1 : "";
    size_t fl = strlen(f);
    while (fl > 0 && f[fl - 1] == '/')
        fl--;
    out->folder = fl ? url_unescape(f, fl) : eq_strdup("INBOX");
    if (!out->folder) {
        source_imap_url_clear(out);
        return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

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

#define IMAP_KEY_FMT "imap:%" PRIu32 ":%" PRIu32
#define N_FOLDERS 5

struct uidlist {
    uint32_t *v;
    size_t n, cap;
};

struct imap_src {
    mailimap *imap;
    struct source_imap_url url;
    const struct eq_config *cfg;
    const char *folders[N_FOLDERS]; /* target per enum source_folder */
    int created[N_FOLDERS];         /* checked/created this run */
    uint32_t uidvalidity;
    struct source_checkpoint cp;
    int searched;
    uint32_t *uids; /* what is in the folder, ascending */
    size_t n_uids, pos;
    clist *fetched; /* current batch from UID FETCH */
    clistiter *cur;
    struct uidlist pend[N_FOLDERS]; /* handled, not yet filed */
    size_t n_pend;
    size_t batch;
    int has_move, has_uidplus;
    int broken;      /* the connection failed: no more commands */
    int peer_closed; /* the server hung up (set by the EOF guard) */
    struct sigaction old_pipe;
    struct eq_buf diag; /* detail of the last failure */
};

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

static const char *
imap_reply(const struct imap_src *im)
{
    return im->imap && im->imap->imap_response ? im->imap->imap_response : "";
}

/* A libetpan failure as an eq_err with a diag line naming the server and
 * the step; a stream failure (hang-up, timeout) ends the session. */
static enum eq_err
imap_fail(struct imap_src *im, int r, const char *what, struct eq_buf *diag)
{
    const char *resp = imap_reply(im);
    enum eq_err err = EQ_ERR_TEMP;
    /* A reply cut off by the hang-up may parse as garbage: the hang-up is
     * the news. */
    if (im->peer_closed && r == MAILIMAP_ERROR_PARSE)
        r = MAILIMAP_ERROR_STREAM;
    switch (r) {
    case MAILIMAP_ERROR_STREAM:
    case MAILIMAP_ERROR_CONNECTION_REFUSED:
    case MAILIMAP_ERROR_PARSE:
    case MAILIMAP_ERROR_MEMORY:
        im->broken = 1;
        resp = r == MAILIMAP_ERROR_CONNECTION_REFUSED
                   ? "connection refused or host unreachable"
               : r == MAILIMAP_ERROR_STREAM && im->peer_closed
                   ? "IMAP server closed the connection"
               : r == MAILIMAP_ERROR_STREAM ? "connection lost or timed out"
               : r == MAILIMAP_ERROR_PARSE  ? "unparsable server response"
                                            : "out of memory";
        if (r == MAILIMAP_ERROR_MEMORY)
            err = EQ_ERR_NOMEM;
        break;
    case MAILIMAP_ERROR_LOGIN:
        err = EQ_ERR_CONFIG;
        break;
    default:
        break;
    }
    eq_diag(diag, "imap %s:%u: %s failed: %s", im->url.host,
            (unsigned)im->url.port, what, *resp ? resp : "server said no");
    return err;
}

/* libetpan 1.9.4's plain socket layer returns 0 from read() when the peer
 * hangs up, and its readers take 0 as "nothing yet": inside a FETCH literal
 * it calls recv() = 0 forever at full CPU, so [imap] timeout (a select()
 * per read) never fires and the run lock is held for good. This layer sits
 * between the mailstream and the real low stream (socket, or gnutls after
 * imaps:// or STARTTLS) and turns end of stream into -1, which every
 * libetpan reader reports as MAILIMAP_ERROR_STREAM. */
struct eof_guard {
    mailstream_low *inner;
    int *closed; /* the imap_src's peer_closed: it outlives the stream */
};

/* After -1 from the inner layer (a timeout, a TLS error, or gnutls seeing
 * the hang-up itself): a FIN or RST waiting on the socket is the hang-up,
 * which the operator should hear as such. */
static int
guard_peer_gone(mailstream_low *inner)
{
    char c;
    int fd = mailstream_low_get_fd(inner);
    if (fd < 0)
        return 0;
    ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
}

static ssize_t
guard_read(mailstream_low *s, void *buf, size_t count)
{
    struct eof_guard *g = s->data;
    ssize_t r;
    if (*g->closed)
        return -1; /* a closed socket would only say 0 again */
    /* The driver directly: mailstream_low_read would log the data twice
     * when libetpan's debug log is on. */
    r = g->inner->driver->mailstream_read(g->inner, buf, count);
    if ((r == 0 && count > 0) || (r < 0 && guard_peer_gone(g->inner))) {
        *g->closed = 1;
        return -1;
    }
    return r;
}

static ssize_t
guard_write(mailstream_low *s, const void *buf, size_t count)
{
    struct eof_guard *g = s->data;
    ssize_t r = g->inner->driver->mailstream_write(g->inner, buf, count);
    /* mailstream_flush loops until everything is written: 0 would spin. */
    return r == 0 && count > 0 ? -1 : r;
}

static int
guard_close(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return mailstream_low_close(g->inner);
}

static int
guard_get_fd(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return mailstream_low_get_fd(g->inner);
}

/* Also what STARTTLS calls on the plain layer it replaces: the inner free
 * keeps the descriptor open for the TLS layer. */
static void
guard_free(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    mailstream_low_free(g->inner);
    free(g);
    free(s);
}

static void
guard_cancel(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    mailstream_low_cancel(g->inner);
}

static struct mailstream_cancel *
guard_get_cancel(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return g->inner->driver->mailstream_get_cancel
               ? g->inner->driver->mailstream_get_cancel(g->inner)
               : NULL;
}

static carray *
guard_certificate_chain(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return mailstream_low_get_certificate_chain(g->inner);
}

/* The idle hooks answer -1 ("not implemented, use select()") when the
 * inner layer has none, as libetpan's own wrappers expect. */
static int
guard_setup_idle(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return g->inner->driver->mailstream_setup_idle
               ? g->inner->driver->mailstream_setup_idle(g->inner)
               : -1;
}

static int
guard_unsetup_idle(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return g->inner->driver->mailstream_unsetup_idle
               ? g->inner->driver->mailstream_unsetup_idle(g->inner)
               : -1;
}

static int
guard_interrupt_idle(mailstream_low *s)
{
    struct eof_guard *g = s->data;
    return g->inner->driver->mailstream_interrupt_idle
               ? g->inner->driver->mailstream_interrupt_idle(g->inner)
               : -1;
}

static mailstream_low_driver guard_driver = {
    .mailstream_read = guard_read,
    .mailstream_write = guard_write,
    .mailstream_close = guard_close,
    .mailstream_get_fd = guard_get_fd,
    .mailstream_free = guard_free,
    .mailstream_cancel = guard_cancel,
    .mailstream_get_cancel = guard_get_cancel,
    .mailstream_get_certificate_chain = guard_certificate_chain,
    .mailstream_setup_idle = guard_setup_idle,
    .mailstream_unsetup_idle = guard_unsetup_idle,
    .mailstream_interrupt_idle = guard_interrupt_idle,
};

/* Puts the guard over the session's current low stream: after connecting
 * and again after STARTTLS, which swaps in a new TLS layer. */
static enum eq_err
imap_guard_eof(struct imap_src *im)
{
    mailstream *st = im->imap ? im->imap->imap_stream : NULL;
    mailstream_low *low = st ? mailstream_get_low(st) : NULL;
    struct eof_guard *g = NULL;
    mailstream_low *w = NULL;
    if (!low)
        return EQ_ERR_TEMP;
    if (low->driver == &guard_driver)
        return EQ_OK;
    if (!(g = malloc(sizeof *g)) ||
        !(w = mailstream_low_new(g, &guard_driver))) {
        free(g);
        return EQ_ERR_NOMEM;
    }
    g->inner = low;
    g->closed = &im->peer_closed;
    mailstream_low_set_timeout(w, mailstream_low_get_timeout(low));
    mailstream_set_low(st, w);
    return EQ_OK;
}

static void
tls_sni(struct mailstream_ssl_context *ctx, void *data)
{
    mailstream_ssl_set_server_name(ctx, data);
}

/* libetpan's gnutls layer encrypts but checks no certificate: verify the
 * peer's chain here, before any credential is sent. */
static enum eq_err
imap_verify_peer(struct imap_src *im, struct eq_buf *diag)
{
    const char *ca = im->cfg->imap.srv.ca_file;
    carray *chain = mailstream_get_certificate_chain(im->imap->imap_stream);
    gnutls_x509_crt_t *crts = NULL;
    gnutls_x509_trust_list_t tl = NULL;
    unsigned n = chain ? carray_count(chain) : 0, made = 0, status = 0;
    enum eq_err err = EQ_ERR_CONFIG;
    int r;
    if (n == 0) {
        eq_diag(diag, "imap %s:%u: server sent no certificate", im->url.host,
                (unsigned)im->url.port);
        goto out;
    }
    if (!(crts = calloc(n, sizeof *crts))) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (; made < n; made++) {
        MMAPString *der = carray_get(chain, made);
        gnutls_datum_t d = {(unsigned char *)der->str, (unsigned)der->len};
        if (gnutls_x509_crt_init(&crts[made]) < 0) {
            err = EQ_ERR_NOMEM;
            goto out;
        }
        if (gnutls_x509_crt_import(crts[made], &d, GNUTLS_X509_FMT_DER) < 0) {
            made++;
            eq_diag(diag, "imap %s:%u: unreadable server certificate",
                    im->url.host, (unsigned)im->url.port);
            goto out;
        }
    }
    if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    r = ca ? gnutls_x509_trust_list_add_trust_file(tl, ca, NULL,
                                                   GNUTLS_X509_FMT_PEM, 0, 0)
           : gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
    if (r <= 0) {
        eq_diag(diag, "imap: no trusted certificates in %s",
                ca ? ca : "the system store");
        goto out;
    }
    gnutls_typed_vdata_st vd = {.type = GNUTLS_DT_DNS_HOSTNAME,
                                .data = (unsigned char *)im->url.host,
                                .size = 0};
    r = gnutls_x509_trust_list_verify_crt2(tl, crts, n, &vd, 1, 0, &status,
                                           NULL);
    if (r < 0 || status != 0) {
        gnutls_datum_t txt = {NULL, 0};
        if (r >= 0 && gnutls_certificate_verification_status_print(
                          status, GNUTLS_CRT_X509, &txt, 0) >= 0)
            eq_diag(diag, "imap %s:%u: certificate not trusted: %s",
                    im->url.host, (unsigned)im->url.port, (char *)txt.data);
        else
            eq_diag(diag, "imap %s:%u: certificate not trusted: %s",
                    im->url.host, (unsigned)im->url.port, gnutls_strerror(r));
        gnutls_free(txt.data);
        goto out;
    }
    err = EQ_OK;
out:
    if (tl)
        gnutls_x509_trust_list_deinit(tl, 1);
    for (unsigned i = 0; i < made; i++)
        gnutls_x509_crt_deinit(crts[i]);
    free(crts);
    if (chain)
        mailstream_certificate_chain_free(chain);
    return err;
}

static enum eq_err
imap_capability(struct imap_src *im, struct eq_buf *diag)
{
    struct mailimap_capability_data *cap = NULL;
    int r = mailimap_capability(im->imap, &cap);
    if (r != MAILIMAP_NO_ERROR)
        return imap_fail(im, r, "CAPABILITY", diag);
    mailimap_capability_data_free(cap);
    return EQ_OK;
}

static enum eq_err
imap_connect(struct imap_src *im, struct eq_buf *diag)
{
    const struct config_server *srv = &im->cfg->imap.srv;
    char *pw = NULL;
    enum eq_err err;
    int r;

    if (!(im->imap = mailimap_new(0, NULL)))
        return EQ_ERR_NOMEM;
    mailimap_set_timeout(im->imap, srv->timeout > 0 ? srv->timeout : 60);
    if (im->url.implicit_tls)
        r = mailimap_ssl_connect_with_callback(im->imap, im->url.host,
                                               im->url.port, tls_sni,
                                               im->url.host);
    else
        r = mailimap_socket_connect(im->imap, im->url.host, im->url.port);
    if (r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
        r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
        if (r == MAILIMAP_ERROR_SSL)
            im->broken = 1;
        return imap_fail(im, r == MAILIMAP_ERROR_SSL ? MAILIMAP_ERROR_STREAM : r,
                         im->url.implicit_tls ? "TLS connect" : "connect",
                         diag);
    }
    if ((err = imap_guard_eof(im)) != EQ_OK)
        return err;
    if ((err = imap_capability(im, diag)) != EQ_OK)
        return err;
    int verify = srv->tls == EQ_TLS_REQUIRED;
    if (!im->url.implicit_tls && srv->tls != EQ_TLS_OFF) {
        if (mailimap_has_extension(im->imap, "STARTTLS")) {
            r = mailimap_socket_starttls_with_callback(im->imap, tls_sni,
                                                       im->url.host);
            if (r != MAILIMAP_NO_ERROR)
                return imap_fail(im, r, "STARTTLS", diag);
            if ((err = imap_guard_eof(im)) != EQ_OK)
                return err;
            if ((err = imap_capability(im, diag)) != EQ_OK)
                return err;
        } else if (srv->tls == EQ_TLS_REQUIRED) {
            eq_diag(diag,
                    "imap %s:%u: server does not offer STARTTLS and tls = "
                    "required (use imaps:// or tls = opportunistic/off)",
                    im->url.host, (unsigned)im->url.port);
            return EQ_ERR_CONFIG;
        } else {
            verify = 0;
        }
    } else if (!im->url.implicit_tls) {
        verify = 0;
    }
    if (verify && (err = imap_verify_peer(im, diag)) != EQ_OK)
        return err;

    if (!srv->user) {
        eq_diag(diag, "[imap] user is not set");
        return EQ_ERR_CONFIG;
    }
    if ((err = config_password(srv, &pw, diag)) != EQ_OK)
        return err;
    if (!pw) {
        eq_diag(diag, "[imap] needs password_file or password_env");
        return EQ_ERR_CONFIG;
    }
    if (srv->auth == EQ_AUTH_XOAUTH2) {
        if (!mailimap_has_xoauth2(im->imap)) {
            eq_diag(diag, "imap %s:%u: server does not offer AUTH=XOAUTH2",
                    im->url.host, (unsigned)im->url.port);
            err = EQ_ERR_CONFIG;
            goto out;
        }
        r = mailimap_oauth2_authenticate(im->imap, srv->user, pw);
    } else {
        r = MAILIMAP_ERROR_LOGIN;
        int plain_tried = 0;
        if (srv->auth == EQ_AUTH_PLAIN &&
            mailimap_has_authentication(im->imap, "PLAIN")) {
            r = mailimap_authenticate(im->imap, "PLAIN", im->url.host, NULL,
                                      NULL, srv->user, srv->user, pw, NULL);
            plain_tried = 1;
        }
        /* Without a SASL PLAIN module in this host's Cyrus SASL, libetpan
         * fails before sending anything; LOGIN carries the same secret. */
        if (r != MAILIMAP_NO_ERROR && r != MAILIMAP_ERROR_STREAM &&
            !(plain_tried && strstr(imap_reply(im), "AUTHENTICATIONFAILED")))
            r = mailimap_login(im->imap, srv->user, pw);
    }
    if (r != MAILIMAP_NO_ERROR) {
        char what[160];
        snprintf(what, sizeof what, "login as %s", srv->user);
        err = imap_fail(im, r == MAILIMAP_ERROR_STREAM ? r
                                                       : MAILIMAP_ERROR_LOGIN,
                        what, diag);
        goto out;
    }
    if ((err = imap_capability(im, diag)) != EQ_OK)
        goto out;
    im->has_move = mailimap_has_extension(im->imap, "MOVE");
    im->has_uidplus = mailimap_has_extension(im->imap, "UIDPLUS");
    r = mailimap_select(im->imap, im->url.folder);
    if (r != MAILIMAP_NO_ERROR) {
        char what[160];
        snprintf(what, sizeof what, "SELECT %s", im->url.folder);
        err = imap_fail(im, r, what, diag);
        if (err == EQ_ERR_TEMP && !im->broken)
            err = EQ_ERR_CONFIG; /* the folder does not exist */
        goto out;
    }
    im->uidvalidity = im->imap->imap_selection_info
                          ? im->imap->imap_selection_info->sel_uidvalidity
                          : 0;
    err = EQ_OK;
out:
    if (pw) {
        memset(pw, 0, strlen(pw));
        free(pw);
    }
    return err;
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
        return imap_fail(im, r, "LIST", diag);
    int have = clist_count(list) > 0;
    mailimap_list_result_free(list);
    if (!have) {
        r = mailimap_create(im->imap, im->folders[f]);
        if (r != MAILIMAP_NO_ERROR) {
            char what[160];
            snprintf(what, sizeof what, "CREATE %s", im->folders[f]);
            return imap_fail(im, r, what, diag);
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
imap_expunge(struct imap_src *im, struct mailimap_set *set,
             struct eq_buf *diag)
{
    int r = im->has_uidplus ? mailimap_uid_expunge(im->imap, set)
                            : mailimap_expunge(im->imap);
    return r == MAILIMAP_NO_ERROR ? EQ_OK : imap_fail(im, r, "EXPUNGE", diag);
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
               : imap_fail(im, r, "UID STORE \\Deleted", diag);
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
        if (f != SOURCE_DELETE && (err = imap_ensure_folder(im, f, diag)) != EQ_OK)
            break;
        if (!(set = uid_set(l->v, l->n)))
            return EQ_ERR_NOMEM;
        if (f != SOURCE_DELETE && im->has_move) {
            r = mailimap_uid_move(im->imap, set, im->folders[f]);
            if (r != MAILIMAP_NO_ERROR)
                err = imap_fail(im, r, "UID MOVE", diag);
        } else {
            if (f != SOURCE_DELETE) {
                r = mailimap_uid_copy(im->imap, set, im->folders[f]);
                if (r != MAILIMAP_NO_ERROR)
                    err = imap_fail(im, r, "UID COPY", diag);
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
    struct mailimap_search_key *key = all ? mailimap_search_key_new_uid(all)
                                          : NULL;
    int r;
    if (!key) {
        if (all)
            mailimap_set_free(all);
        return EQ_ERR_NOMEM;
    }
    r = mailimap_uid_search(im->imap, NULL, key, &res);
    mailimap_search_key_free(key);
    if (r != MAILIMAP_NO_ERROR)
        return imap_fail(im, r, "UID SEARCH", diag);
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
        err = imap_fail(im, r, "UID FETCH", diag);
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
        return imap_fail(im, r, what, diag);
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
        err = imap_fail(im, r, what, diag);
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
        return imap_fail(im, r, what, diag);
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
        err = imap_fail(im, r, what, diag);
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

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One IDLE … DONE round. *woke: 1 server data, 2 wake_fd, 0 timeout. */
static enum eq_err
imap_idle_once(struct imap_src *im, int wake_fd, int ms, int *woke)
{
    int r = mailimap_idle(im->imap);
    *woke = 0;
    if (r != MAILIMAP_NO_ERROR)
        return imap_fail(im, r, "IDLE", &im->diag);
    /* libetpan may already hold the next line in its read buffer, where
     * poll() cannot see it. */
    if (im->imap->imap_stream && im->imap->imap_stream->read_buffer_len > 0)
        *woke = 1;
    int64_t end = mono_ms() + ms;
    while (!*woke) {
        struct pollfd p[2] = {
            {.fd = mailimap_idle_get_fd(im->imap), .events = POLLIN},
            {.fd = wake_fd, .events = POLLIN}};
        int64_t left = end - mono_ms();
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
        return imap_fail(im, r, "IDLE DONE", &im->diag);
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
    int64_t end = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;
    for (;;) {
        struct mailimap_selection_info *sel = im->imap->imap_selection_info;
        uint32_t exists = sel ? sel->sel_exists : 0;
        uint32_t recent = sel ? sel->sel_recent : 0;
        int64_t left = end - mono_ms();
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

static enum eq_err
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
    if ((err = imap_connect(im, diag)) != EQ_OK)
        goto fail;
    *out = s;
    return EQ_OK;
fail:
    imap_close(s);
    return err;
}

enum eq_err
source_open(const struct eq_config *cfg, struct source **out,
            struct eq_buf *diag)
{
    *out = NULL;
    const char *url = cfg ? cfg->imap.srv.url : NULL;
    if (!url || !*url) {
        eq_diag(diag, "[imap] url is not set");
        return EQ_ERR_CONFIG;
    }
    if (strncmp(url, "maildir:", 8) == 0) {
        char *path = config_resolve(cfg->dir ? cfg->dir : ".", url + 8);
        if (!path)
            return EQ_ERR_NOMEM;
        enum eq_err err = source_maildir_new(path, out, diag);
        free(path);
        return err;
    }
    if (strncmp(url, "imap://", 7) == 0 || strncmp(url, "imaps://", 8) == 0) {
        return source_imap_open(cfg, out, diag);
    }
    eq_diag(diag, "[imap] url: unsupported scheme in \"%s\"", url);
    return EQ_ERR_CONFIG;
}

enum eq_err
source_next(struct source *s, struct source_msg *out)
{
    return s->ops->next(s, out);
}

enum eq_err
source_done(struct source *s, const struct source_msg *m,
            enum source_folder folder)
{
    return s->ops->done(s, m, folder);
}

enum eq_err
source_flush(struct source *s)
{
    return s->ops->flush ? s->ops->flush(s) : EQ_OK;
}

int
source_defers(const struct source *s)
{
    return s->ops->flush != NULL;
}

enum eq_err
source_resume(struct source *s, const struct source_checkpoint *cp)
{
    return s->ops->resume ? s->ops->resume(s, cp) : EQ_OK;
}

enum eq_err
source_purge_before(struct source *s, eq_time cutoff, size_t *removed)
{
    *removed = 0;
    return s->ops->purge_before ? s->ops->purge_before(s, cutoff, removed)
                                : EQ_ERR_UNAVAILABLE;
}

enum eq_err
source_wait(struct source *s, int wake_fd, int timeout_ms, int *arrived)
{
    *arrived = 0;
    return s->ops->wait ? s->ops->wait(s, wake_fd, timeout_ms, arrived)
                        : EQ_ERR_UNAVAILABLE;
}

void
source_msg_clear(struct source_msg *m)
{
    if (!m)
        return;
    free(m->key);
    free(m->data);
    memset(m, 0, sizeof *m);
}

void
source_close(struct source *s)
{
    if (s && s->ops && s->ops->close)
        s->ops->close(s);
    else
        free(s);
}
