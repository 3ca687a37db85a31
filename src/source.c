/*
 * source: the dispatching front (source_open and the source_ops wrappers)
 * and the maildir backend. A maildir scan lists new/ once, sorted by name so
 * runs are deterministic; done() files a message with one atomic rename into
 * cur/. The IMAP backend lives in source_imap*.c; no libetpan header here.
 */
#include "source.h"

#include "log.h"
#include "source_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
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
