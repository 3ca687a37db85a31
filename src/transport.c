/*
 * transport: smtp keeps `connections` libcurl easy handles for the life of
 * the transport, each with its own worker thread when there are several;
 * each carries one message at a time and reuses its SMTP session for the
 * next. curl.h stays in this file.
 */
#include "transport.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
set_result(struct transport_result *res, int code, const char *text)
{
    res->code = code;
    snprintf(res->text, sizeof(res->text), "%s", text ? text : "");
}

/* Reply texts are cut to fit: the start says what happened. */
static void __attribute__((format(printf, 3, 4)))
set_resultf(struct transport_result *res, int code, const char *fmt, ...)
{
    va_list ap;

    res->code = code;
    va_start(ap, fmt);
    vsnprintf(res->text, sizeof(res->text), fmt, ap);
    va_end(ap);
}

static enum eq_err msg_check(const struct transport_msg *m,
                             struct transport_result *res);

/* --- maildir ---------------------------------------------------------- */

struct maildir {
    char *dir;
    char host[128];
    unsigned counter;
};

static enum eq_err
mkdir_p(const char *path, struct eq_buf *diag)
{
    char *p = strdup(path);
    enum eq_err err = EQ_OK;

    if (p == NULL)
        return EQ_ERR_NOMEM;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                eq_diag(diag, "%s: cannot create directory: %s", p,
                        strerror(errno));
                err = errno == EACCES ? EQ_ERR_PERM : EQ_ERR_IO;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    free(p);
    return err;
}

static enum eq_err
write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return EQ_ERR_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    return EQ_OK;
}

static enum eq_err
maildir_send(struct transport *t, const struct transport_msg *m,
             struct transport_result *res)
{
    struct maildir *md = t->priv;
    struct eq_buf tmp = {0}, dst = {0}, name = {0}, rp = {0};
    enum eq_err err;
    int fd = -1;
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    err = buf_printf(&name, "%lld.M%ldP%ldQ%u.%s", (long long)now.tv_sec,
                     (long)(now.tv_nsec / 1000), (long)getpid(), ++md->counter,
                     md->host);
    if (err == EQ_OK)
        err = buf_printf(&tmp, "%s/tmp/%s", md->dir, name.s);
    if (err == EQ_OK)
        err = buf_printf(&dst, "%s/new/%s", md->dir, name.s);
    /* What a delivery agent would add: the envelope sender survives. */
    if (err == EQ_OK && m->envelope_from != NULL)
        err = buf_printf(&rp, "Return-Path: <%s>\r\n", m->envelope_from);
    if (err != EQ_OK) {
        set_result(res, 451, "4.3.0 out of memory");
        goto out;
    }
    fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        set_result(res, 451, strerror(errno));
        err = EQ_ERR_TEMP;
        goto out;
    }
    if ((rp.len > 0 && write_all(fd, rp.s, rp.len) != EQ_OK) ||
        write_all(fd, m->data, m->len) != EQ_OK || fdatasync(fd) != 0) {
        set_result(res, 451, strerror(errno));
        err = EQ_ERR_TEMP;
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        set_result(res, 451, strerror(errno));
        err = EQ_ERR_TEMP;
        goto out;
    }
    fd = -1;
    if (rename(tmp.s, dst.s) != 0) {
        set_result(res, 451, strerror(errno));
        err = EQ_ERR_TEMP;
        goto out;
    }
    res->code = 250;
    snprintf(res->text, sizeof(res->text), "2.0.0 delivered to maildir as %s",
             name.s);
out:
    if (fd >= 0)
        close(fd);
    if (err != EQ_OK && tmp.s != NULL)
        unlink(tmp.s);
    buf_free(&tmp);
    buf_free(&dst);
    buf_free(&name);
    buf_free(&rp);
    return err;
}

static void
maildir_close(struct transport *t)
{
    struct maildir *md = t->priv;

    free(md->dir);
    free(md);
    free(t);
}

static const struct transport_ops maildir_ops = {
    .name = "maildir", .send = maildir_send, .close = maildir_close};

enum eq_err
transport_maildir_new(const char *dir, struct transport **out,
                      struct eq_buf *diag)
{
    struct transport *t = calloc(1, sizeof(*t));
    struct maildir *md = calloc(1, sizeof(*md));
    struct eq_buf sub = {0};
    enum eq_err err = EQ_OK;
    static const char *const subdirs[] = {"tmp", "new", "cur"};

    *out = NULL;
    if (t == NULL || md == NULL || (md->dir = strdup(dir)) == NULL) {
        err = EQ_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < 3 && err == EQ_OK; i++) {
        buf_reset(&sub);
        err = buf_printf(&sub, "%s/%s", dir, subdirs[i]);
        if (err == EQ_OK)
            err = mkdir_p(sub.s, diag);
    }
    if (err != EQ_OK)
        goto out;
    if (gethostname(md->host, sizeof(md->host) - 1) != 0)
        snprintf(md->host, sizeof(md->host), "localhost");
    /* Maildir names use '/' and ':' as separators. */
    for (char *p = md->host; *p; p++)
        if (*p == '/' || *p == ':')
            *p = '_';
    t->ops = &maildir_ops;
    t->priv = md;
    *out = t;
    t = NULL;
    md = NULL;
out:
    if (md != NULL)
        free(md->dir);
    free(md);
    free(t);
    buf_free(&sub);
    return err;
}

/* --- capture ---------------------------------------------------------- */

struct captured {
    struct transport_msg msg;
    char *from;
    char **rcpt;
    char *data;
};

struct capture {
    struct captured *items;
    size_t n, cap;
};

static void
captured_clear(struct captured *c)
{
    for (size_t i = 0; i < c->msg.n_rcpt; i++)
        free(c->rcpt[i]);
    free(c->rcpt);
    free(c->from);
    free(c->data);
}

static enum eq_err
capture_send(struct transport *t, const struct transport_msg *m,
             struct transport_result *res)
{
    struct capture *cp = t->priv;
    struct captured c = {0};

    if (cp->n == cp->cap) {
        size_t cap = cp->cap ? cp->cap * 2 : 16;
        struct captured *p = realloc(cp->items, cap * sizeof(*p));
        if (p == NULL)
            goto nomem;
        cp->items = p;
        cp->cap = cap;
    }
    c.from = eq_strdup(m->envelope_from);
    c.data = malloc(m->len + 1);
    c.rcpt = calloc(m->n_rcpt ? m->n_rcpt : 1, sizeof(char *));
    if ((m->envelope_from && c.from == NULL) || c.data == NULL ||
        c.rcpt == NULL)
        goto nomem;
    memcpy(c.data, m->data, m->len);
    c.data[m->len] = '\0';
    for (size_t i = 0; i < m->n_rcpt; i++) {
        c.rcpt[i] = strdup(m->rcpt[i]);
        if (c.rcpt[i] == NULL)
            goto nomem;
        c.msg.n_rcpt = i + 1;
    }
    c.msg.envelope_from = c.from;
    c.msg.rcpt = (const char *const *)c.rcpt;
    c.msg.n_rcpt = m->n_rcpt;
    c.msg.data = c.data;
    c.msg.len = m->len;
    cp->items[cp->n++] = c;
    set_result(res, 250, "2.0.0 captured");
    return EQ_OK;
nomem:
    captured_clear(&c);
    set_result(res, 451, "4.3.0 out of memory");
    return EQ_ERR_NOMEM;
}

static void
capture_close(struct transport *t)
{
    struct capture *cp = t->priv;

    for (size_t i = 0; i < cp->n; i++)
        captured_clear(&cp->items[i]);
    free(cp->items);
    free(cp);
    free(t);
}

static const struct transport_ops capture_ops = {
    .name = "capture", .send = capture_send, .close = capture_close};

struct transport *
transport_capture_new(void)
{
    struct transport *t = calloc(1, sizeof(*t));
    struct capture *cp = calloc(1, sizeof(*cp));

    if (t == NULL || cp == NULL) {
        free(t);
        free(cp);
        return NULL;
    }
    t->ops = &capture_ops;
    t->priv = cp;
    return t;
}

size_t
transport_capture_count(const struct transport *t)
{
    if (t == NULL || t->ops != &capture_ops)
        return 0;
    return ((const struct capture *)t->priv)->n;
}

const struct transport_msg *
transport_capture_get(const struct transport *t, size_t i)
{
    const struct capture *cp;

    if (t == NULL || t->ops != &capture_ops)
        return NULL;
    cp = t->priv;
    return i < cp->n ? &cp->items[i].msg : NULL;
}

/* --- smtp ------------------------------------------------------------- */

/* One connection: an easy handle that carries one message at a time. The
 * handle outlives the message, so curl keeps its session open for the next
 * one. With connections > 1 each has a worker thread: libcurl waits for the
 * reply to the final dot inside smtp_done, blocking even under the multi
 * interface, so only threads let N servers' replies overlap. */
struct smtp;
struct conn {
    struct smtp *s;
    CURL *h;
    pthread_t th;
    int started; /* th runs */
    struct curl_slist *rcpt;
    struct eq_buf from;
    int retried; /* this message already had its second chance */
    const char *data;
    size_t len, pos;
    char errbuf[CURL_ERROR_SIZE];
    char server_line[256]; /* the last response line of the server */
    char error_line[256];  /* its last 4xx/5xx line: curl QUITs after it */
};

/* Marks a result nobody has written yet. */
#define NOT_YET EQ_ERR__COUNT

struct smtp {
    struct conn *conns;
    size_t n_conns;
    /* The batch being sent, shared by the workers under lock. */
    pthread_mutex_t lock;
    pthread_cond_t work, idle;
    int quit;
    const struct transport_msg *m;
    struct transport_result *res;
    size_t n, next, busy;
    enum eq_err stop;
    char *url, *user, *password;
    enum eq_auth auth;
    enum eq_tls tls;
    int creds_need_tls; /* STARTTLS demanded because of credentials */
    char *ca_file;
    long timeout;
    int rate; /* messages per minute over all connections, 0 = no limit */
    struct timespec slot; /* when the last message was allowed to start */
    int started_any;
};

static size_t
smtp_read(char *buf, size_t size, size_t nitems, void *user)
{
    struct conn *c = user;
    size_t n = size * nitems, left = c->len - c->pos;

    if (n > left)
        n = left;
    memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return n;
}

/* Keeps the server's last reply line, which curl does not expose. */
static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *user)
{
    struct conn *c = user;

    (void)h;
    if (type == CURLINFO_HEADER_IN && size > 0) {
        char *dst = c->server_line;
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
            size--;
        if (size >= sizeof(c->server_line))
            size = sizeof(c->server_line) - 1;
        if (data[0] == '4' || data[0] == '5')
            dst = c->error_line;
        memcpy(dst, data, size);
        dst[size] = '\0';
    }
    return 0;
}

/* Reserves the next start time allowed by `rate` over all connections and
 * returns how long to wait for it. Called under lock. */
static struct timespec
smtp_take_slot(struct smtp *s)
{
    struct timespec now, wait = {0, 0};
    long long interval, due, t;

    if (s->rate <= 0)
        return wait;
    clock_gettime(CLOCK_MONOTONIC, &now);
    interval = 60000000000LL / s->rate;
    t = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    due = (long long)s->slot.tv_sec * 1000000000LL + s->slot.tv_nsec + interval;
    if (!s->started_any || due < t)
        due = t;
    s->started_any = 1;
    s->slot.tv_sec = (time_t)(due / 1000000000LL);
    s->slot.tv_nsec = (long)(due % 1000000000LL);
    wait.tv_sec = (time_t)((due - t) / 1000000000LL);
    wait.tv_nsec = (long)((due - t) % 1000000000LL);
    return wait;
}

static enum eq_err
smtp_configure(struct smtp *s, struct conn *c)
{
    CURL *h = c->h;
    CURLcode rc = CURLE_OK;
    long use_ssl = s->tls == EQ_TLS_REQUIRED        ? CURLUSESSL_ALL
                   : s->tls == EQ_TLS_OPPORTUNISTIC ? CURLUSESSL_TRY
                                                    : CURLUSESSL_NONE;

    /* Credentials never travel in clear text unless tls = off says so. */
    if (s->creds_need_tls)
        use_ssl = CURLUSESSL_ALL;
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(h, opt, val);                                \
    } while (0)
    SET(CURLOPT_URL, s->url);
    /* No proxy from the environment: curl would read it with getenv while
     * the main thread may change TZ (eqtime) for another campaign. */
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_UPLOAD, 1L);
    /* curl's default 16 KB upload buffer splits a typical invitation over
     * two writes; 64 KB (its maximum is 2 MB) sends most in one. */
    SET(CURLOPT_UPLOAD_BUFFERSIZE, 65536L);
    SET(CURLOPT_READFUNCTION, smtp_read);
    SET(CURLOPT_READDATA, c);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_DEBUGFUNCTION, smtp_debug);
    SET(CURLOPT_DEBUGDATA, c);
    SET(CURLOPT_VERBOSE, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USE_SSL, use_ssl);
    SET(CURLOPT_SASL_IR, 1L); /* AUTH PLAIN with its answer: one round trip */
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_TIMEOUT, s->timeout);
    SET(CURLOPT_CONNECTTIMEOUT, s->timeout);
    if (s->ca_file != NULL)
        SET(CURLOPT_CAINFO, s->ca_file);
    if (s->user != NULL) {
        SET(CURLOPT_USERNAME, s->user);
        if (s->auth == EQ_AUTH_XOAUTH2) {
            SET(CURLOPT_XOAUTH2_BEARER, s->password);
            SET(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
        } else {
            SET(CURLOPT_PASSWORD, s->password);
            SET(CURLOPT_LOGIN_OPTIONS,
                s->auth == EQ_AUTH_LOGIN ? "AUTH=LOGIN" : "AUTH=PLAIN");
        }
    }
#undef SET
    return rc == CURLE_OK ? EQ_OK : EQ_ERR_UNAVAILABLE;
}

/* Sets the envelope and the data of m on c's handle. */
static enum eq_err
conn_prepare(struct conn *c, const struct transport_msg *m)
{
    struct eq_buf one = {0};
    enum eq_err err = EQ_OK;

    curl_easy_setopt(c->h, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
    curl_slist_free_all(c->rcpt);
    c->rcpt = NULL;
    buf_reset(&c->from);
    for (size_t k = 0; k < m->n_rcpt && err == EQ_OK; k++) {
        struct curl_slist *n;
        buf_reset(&one);
        err = buf_printf(&one, "<%s>", m->rcpt[k]);
        if (err == EQ_OK && (n = curl_slist_append(c->rcpt, one.s)) == NULL)
            err = EQ_ERR_NOMEM;
        else if (err == EQ_OK)
            c->rcpt = n;
    }
    if (err == EQ_OK)
        err = buf_printf(&c->from, "<%s>",
                         m->envelope_from ? m->envelope_from : "");
    buf_free(&one);
    if (err != EQ_OK)
        return err;
    c->data = m->data;
    c->len = m->len;
    curl_easy_setopt(c->h, CURLOPT_MAIL_FROM, c->from.s);
    curl_easy_setopt(c->h, CURLOPT_MAIL_RCPT, c->rcpt);
    curl_easy_setopt(c->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
    return EQ_OK;
}

/* A transfer that ended without the server refusing anything in words:
 * the connection broke, or the server hung up (421). */
static int
conn_level(CURLcode rc, long code, const struct conn *c)
{
    if (code == 421)
        return 1;
    if (code >= 400 && c->error_line[0] != '\0')
        return 0;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PARTIAL_FILE:
        return 1;
    default:
        return 0;
    }
}

/* Maps how the transfer on c ended to res; *retry asks for a second try
 * on a fresh connection. */
static enum eq_err
conn_result(struct smtp *s, struct conn *c, CURLcode rc,
            struct transport_result *res, int *retry)
{
    const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    long code = 0;

    *retry = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
    res->code = (int)code;
    if (rc == CURLE_OK && code >= 200 && code < 300) {
        set_resultf(res, (int)code, "%s", c->server_line);
        return EQ_OK;
    }
    switch (rc) {
    case CURLE_LOGIN_DENIED:
        set_resultf(res, code >= 400 ? (int)code : 535, "login refused: %s",
                    code >= 400 && c->error_line[0] ? c->error_line : why);
        return code >= 400 && code < 500 ? EQ_ERR_TEMP : EQ_ERR_CONFIG;
    case CURLE_USE_SSL_FAILED:
        set_resultf(res, 421, "the server offers no STARTTLS%s (%s)",
                    s->creds_need_tls
                        ? ", and credentials are only sent over TLS (tls = "
                          "off allows clear text)"
                        : " and tls = required",
                    why);
        return EQ_ERR_UNAVAILABLE;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CERTPROBLEM:
        set_resultf(res, 421,
                    "the server's TLS certificate is not trusted%s: %s",
                    s->ca_file ? " by ca_file" : "", why);
        return EQ_ERR_UNAVAILABLE;
    default:
        break;
    }
    if (conn_level(rc, code, c)) {
        if (!c->retried) {
            *retry = 1;
            return EQ_ERR_TEMP;
        }
        /* No usable reply: like a dropped connection. */
        set_resultf(res, 421, "%s",
                    code == 421 && c->error_line[0] ? c->error_line : why);
        return EQ_ERR_TEMP;
    }
    if (code >= 400 && c->error_line[0] != '\0') {
        set_resultf(res, (int)code, "%s", c->error_line);
        return code >= 500 ? EQ_ERR_DATA : EQ_ERR_TEMP;
    }
    set_resultf(res, 421, "%s", why);
    return EQ_ERR_TEMP;
}

/* Refusals that are about us or the server, not about one message: the
 * rest of the batch would meet them too. */
static int
stops_batch(const struct transport_result *r)
{
    return r->err == EQ_ERR_CONFIG || r->err == EQ_ERR_UNAVAILABLE ||
           (r->err == EQ_ERR_TEMP && r->code == 421);
}

/* One message on c, with one more try on a fresh connection when the
 * server had closed the one curl kept (idle timeout, restart). */
static void
conn_send(struct smtp *s, struct conn *c, const struct transport_msg *m,
          struct transport_result *res)
{
    int retry = 0;

    if (conn_prepare(c, m) != EQ_OK) {
        set_result(res, 451, "4.3.0 out of memory");
        res->err = EQ_ERR_TEMP;
        return;
    }
    c->retried = 0;
    do {
        c->pos = 0;
        c->errbuf[0] = c->server_line[0] = c->error_line[0] = '\0';
        res->err = conn_result(s, c, curl_easy_perform(c->h), res, &retry);
        c->retried++;
    } while (retry);
}

/* Sends messages of the current batch on c until none is left or the batch
 * stopped. Called and returns with s->lock held. */
static void
batch_drain(struct smtp *s, struct conn *c)
{
    while (s->m != NULL && s->stop == EQ_OK) {
        while (s->next < s->n && s->res[s->next].err != NOT_YET)
            s->next++; /* refused by msg_check: never reaches the server */
        if (s->next >= s->n) {
            /* Also when nothing was left to send: the waiter must wake. */
            pthread_cond_broadcast(&s->idle);
            break;
        }
        size_t i = s->next++;
        const struct transport_msg *m = &s->m[i];
        struct transport_result *r = &s->res[i];
        struct timespec wait = smtp_take_slot(s);
        s->busy++;
        pthread_mutex_unlock(&s->lock);
        /* Without a rate there is nothing to wait for: no sleep call. */
        while ((wait.tv_sec > 0 || wait.tv_nsec > 0) &&
               nanosleep(&wait, &wait) != 0 && errno == EINTR)
            ;
        conn_send(s, c, m, r);
        pthread_mutex_lock(&s->lock);
        s->busy--;
        if (s->stop == EQ_OK && stops_batch(r))
            s->stop = r->err;
        /* The only waiter (smtp_wait) needs the batch over: waking it
         * after every message only costs the composing thread a switch. */
        if (s->busy == 0 && (s->stop != EQ_OK || s->next >= s->n))
            pthread_cond_broadcast(&s->idle);
    }
}

static void *
smtp_worker(void *arg)
{
    struct conn *c = arg;
    struct smtp *s = c->s;

    pthread_mutex_lock(&s->lock);
    while (!s->quit) {
        if (s->m != NULL && s->stop == EQ_OK && s->next < s->n)
            batch_drain(s, c);
        else
            pthread_cond_wait(&s->work, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Starts the workers once; signals stay with the main thread. */
static enum eq_err
smtp_start_workers(struct smtp *s)
{
    sigset_t all, old;
    enum eq_err err = EQ_OK;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (size_t k = 0; k < s->n_conns && err == EQ_OK; k++) {
        struct conn *c = &s->conns[k];
        if (c->started)
            continue;
        if (pthread_create(&c->th, NULL, smtp_worker, c) != 0)
            err = EQ_ERR_NOMEM;
        else
            c->started = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return err;
}

/* Starts the batch: the workers take it, one message per connection at a
 * time. Without threads the batch is sent here, and wait only collects. */
static enum eq_err
smtp_submit(struct transport *t, const struct transport_msg *m, size_t n,
            struct transport_result *res)
{
    struct smtp *s = t->priv;
    /* The workers take the batch if the first one runs (a partial start
     * still has a thread per handle in use); else it is sent here, on the
     * first connection, which then has no thread of its own. */
    smtp_start_workers(s);
    int async = s->conns[0].started;

    for (size_t i = 0; i < n; i++)
        if ((res[i].err = msg_check(&m[i], &res[i])) == EQ_OK)
            res[i].err = NOT_YET;
    pthread_mutex_lock(&s->lock);
    s->m = m;
    s->res = res;
    s->n = n;
    s->next = 0;
    s->busy = 0;
    s->stop = EQ_OK;
    if (async)
        pthread_cond_broadcast(&s->work);
    else
        batch_drain(s, &s->conns[0]);
    pthread_mutex_unlock(&s->lock);
    return EQ_OK;
}

static enum eq_err
smtp_wait(struct transport *t)
{
    struct smtp *s = t->priv;
    struct transport_result *res;
    enum eq_err stop;
    size_t n;

    pthread_mutex_lock(&s->lock);
    if (s->m == NULL) {
        pthread_mutex_unlock(&s->lock);
        return EQ_OK;
    }
    while (s->busy > 0 || (s->stop == EQ_OK && s->next < s->n))
        pthread_cond_wait(&s->idle, &s->lock);
    stop = s->stop;
    res = s->res;
    n = s->n;
    s->m = NULL;
    s->res = NULL;
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < n; i++)
        if (res[i].err == NOT_YET) {
            set_result(&res[i], 421, "4.4.0 not attempted");
            res[i].err = EQ_ERR_TEMP;
        }
    return stop;
}

static enum eq_err
smtp_send_many(struct transport *t, const struct transport_msg *m, size_t n,
               struct transport_result *res)
{
    smtp_submit(t, m, n, res);
    return smtp_wait(t);
}

static enum eq_err
smtp_send(struct transport *t, const struct transport_msg *m,
          struct transport_result *res)
{
    smtp_send_many(t, m, 1, res);
    return res->err;
}

static void
smtp_close(struct transport *t)
{
    struct smtp *s = t->priv;

    pthread_mutex_lock(&s->lock);
    s->quit = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    for (size_t k = 0; k < s->n_conns; k++) {
        struct conn *c = &s->conns[k];
        if (c->started)
            pthread_join(c->th, NULL);
        if (c->h != NULL)
            curl_easy_cleanup(c->h); /* sends QUIT on an open session */
        curl_slist_free_all(c->rcpt);
        buf_free(&c->from);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->idle);
    free(s->conns);
    free(s->url);
    free(s->user);
    if (s->password != NULL) {
        explicit_bzero(s->password, strlen(s->password));
        free(s->password);
    }
    free(s->ca_file);
    free(s);
    free(t);
}

static const struct transport_ops smtp_ops = {.name = "smtp",
                                              .send = smtp_send,
                                              .send_many = smtp_send_many,
                                              .submit = smtp_submit,
                                              .wait = smtp_wait,
                                              .close = smtp_close};

static enum eq_err
smtp_open(const struct eq_config *cfg, struct transport **out,
          struct eq_buf *diag)
{
    const struct config_server *srv = &cfg->smtp.srv;
    struct transport *t = calloc(1, sizeof(*t));
    struct smtp *s = calloc(1, sizeof(*s));
    enum eq_err err = EQ_ERR_NOMEM;

    if (t == NULL || s == NULL) {
        free(t);
        free(s);
        eq_diag(diag, "smtp: out of memory");
        return EQ_ERR_NOMEM;
    }
    t->ops = &smtp_ops;
    t->priv = s;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->n_conns = cfg->smtp.connections > 0 ? (size_t)cfg->smtp.connections : 1;
    s->conns = calloc(s->n_conns, sizeof(*s->conns));
    s->url = strdup(srv->url);
    s->user = eq_strdup(srv->user);
    s->ca_file = eq_strdup(srv->ca_file);
    if (s->conns == NULL) {
        s->n_conns = 0;
        goto fail;
    }
    if (s->url == NULL || (srv->user && !s->user) ||
        (srv->ca_file && !s->ca_file))
        goto fail;
    s->auth = srv->auth;
    s->tls = srv->tls;
    s->timeout = srv->timeout > 0 ? srv->timeout : 60;
    s->rate = cfg->smtp.rate;
    if ((err = config_password(srv, &s->password, diag)) != EQ_OK)
        goto fail;
    if (s->user != NULL && s->password == NULL) {
        eq_diag(diag, "[smtp] user is set but neither password_file nor "
                      "password_env");
        err = EQ_ERR_CONFIG;
        goto fail;
    }
    s->creds_need_tls = s->user != NULL && s->tls != EQ_TLS_OFF &&
                        strncmp(s->url, "smtp://", 7) == 0;
    for (size_t k = 0; k < s->n_conns; k++) {
        s->conns[k].s = s;
        if ((s->conns[k].h = curl_easy_init()) == NULL) {
            eq_diag(diag, "smtp: cannot initialise libcurl");
            err = EQ_ERR_UNAVAILABLE;
            goto fail;
        }
        if ((err = smtp_configure(s, &s->conns[k])) != EQ_OK) {
            eq_diag(diag, "smtp: libcurl lacks an option needed for %s",
                    s->url);
            goto fail;
        }
    }
    *out = t;
    return EQ_OK;
fail:
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "smtp: out of memory");
    smtp_close(t);
    return err;
}

/* --- dispatch --------------------------------------------------------- */

enum eq_err
transport_open(const struct eq_config *cfg, struct transport **out,
               struct eq_buf *diag)
{
    const char *url = cfg->smtp.srv.url;

    *out = NULL;
    if (url == NULL || *url == '\0') {
        eq_diag(diag, "[smtp] url is not set");
        return EQ_ERR_CONFIG;
    }
    if (strncmp(url, "maildir:", 8) == 0) {
        char *path = config_resolve(cfg->dir, url + 8);
        enum eq_err err;
        if (path == NULL)
            return EQ_ERR_NOMEM;
        err = transport_maildir_new(path, out, diag);
        free(path);
        return err;
    }
    if (strncmp(url, "smtp://", 7) == 0 || strncmp(url, "smtps://", 8) == 0)
        return smtp_open(cfg, out, diag);
    eq_diag(diag,
            "[smtp] url '%s': expected smtp://, smtps:// or maildir:", url);
    return EQ_ERR_CONFIG;
}

/* What no server should see: a message without recipients, or an address
 * that would break out of its SMTP command. */
static enum eq_err
msg_check(const struct transport_msg *m, struct transport_result *res)
{
    res->code = 0;
    res->text[0] = '\0';
    if (m->data == NULL || m->n_rcpt == 0) {
        set_result(res, 554, "5.5.1 no message or no recipients");
        return EQ_ERR_DATA;
    }
    for (size_t i = 0; i < m->n_rcpt; i++)
        if (m->rcpt[i] == NULL || strpbrk(m->rcpt[i], "\r\n<>") != NULL) {
            set_result(res, 553, "5.1.3 bad recipient address");
            return EQ_ERR_DATA;
        }
    if (m->envelope_from != NULL && strpbrk(m->envelope_from, "\r\n<>")) {
        set_result(res, 553, "5.1.7 bad sender address");
        return EQ_ERR_DATA;
    }
    return EQ_OK;
}

enum eq_err
transport_send(struct transport *t, const struct transport_msg *m,
               struct transport_result *res)
{
    enum eq_err err = msg_check(m, res);

    return err != EQ_OK ? err : t->ops->send(t, m, res);
}

enum eq_err
transport_send_many(struct transport *t, const struct transport_msg *m,
                    size_t n, struct transport_result *res)
{
    enum eq_err stop = EQ_OK;

    if (t->ops->send_many != NULL)
        return t->ops->send_many(t, m, n, res);
    for (size_t i = 0; i < n; i++) {
        if (stop != EQ_OK) {
            set_result(&res[i], 421, "4.4.0 not attempted");
            res[i].err = EQ_ERR_TEMP;
            continue;
        }
        res[i].err = transport_send(t, &m[i], &res[i]);
        if (stops_batch(&res[i]))
            stop = res[i].err;
    }
    return stop;
}

enum eq_err
transport_submit(struct transport *t, const struct transport_msg *m, size_t n,
                 struct transport_result *res)
{
    if (t->ops->submit != NULL)
        return t->ops->submit(t, m, n, res);
    t->pending = m;
    t->n_pending = n;
    t->pending_res = res;
    return EQ_OK;
}

enum eq_err
transport_wait(struct transport *t)
{
    enum eq_err err = EQ_OK;

    if (t->ops->wait != NULL)
        return t->ops->wait(t);
    if (t->pending != NULL)
        err = transport_send_many(t, t->pending, t->n_pending, t->pending_res);
    t->pending = NULL;
    t->n_pending = 0;
    t->pending_res = NULL;
    return err;
}

size_t
transport_parallel(const struct transport *t)
{
    if (t != NULL && t->ops == &smtp_ops)
        return ((const struct smtp *)t->priv)->n_conns;
    return 1;
}

void
transport_close(struct transport *t)
{
    if (t != NULL)
        t->ops->close(t);
}
