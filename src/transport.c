/*
 * transport: smtp keeps one libcurl easy handle for the life of the
 * transport, so curl's connection cache reuses one SMTP session for every
 * message; curl.h stays in this file.
 */
#include "transport.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
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

struct smtp {
    CURL *curl;
    char *url, *user, *password;
    enum eq_auth auth;
    enum eq_tls tls;
    char *ca_file;
    long timeout;
    int rate; /* messages per minute, 0 = no limit */
    struct timespec last;
    int sent_any;
    char errbuf[CURL_ERROR_SIZE];
    char server_line[256]; /* the last response line of the server */
    char error_line[256];  /* its last 4xx/5xx line: curl QUITs after it */
    /* the message being uploaded */
    const char *data;
    size_t len, pos;
};

static size_t
smtp_read(char *buf, size_t size, size_t nitems, void *user)
{
    struct smtp *s = user;
    size_t n = size * nitems, left = s->len - s->pos;

    if (n > left)
        n = left;
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return n;
}

/* Keeps the server's last reply line, which curl does not expose. */
static int
smtp_debug(CURL *h, curl_infotype type, char *data, size_t size, void *user)
{
    struct smtp *s = user;

    (void)h;
    if (type == CURLINFO_HEADER_IN && size > 0) {
        char *dst = s->server_line;
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
            size--;
        if (size >= sizeof(s->server_line))
            size = sizeof(s->server_line) - 1;
        if (data[0] == '4' || data[0] == '5')
            dst = s->error_line;
        memcpy(dst, data, size);
        dst[size] = '\0';
    }
    return 0;
}

static void
smtp_pace(struct smtp *s)
{
    struct timespec now, wait;
    double interval, elapsed;

    if (s->rate <= 0 || !s->sent_any)
        return;
    interval = 60.0 / s->rate;
    clock_gettime(CLOCK_MONOTONIC, &now);
    elapsed = (double)(now.tv_sec - s->last.tv_sec) +
              (double)(now.tv_nsec - s->last.tv_nsec) / 1e9;
    if (elapsed >= interval)
        return;
    interval -= elapsed;
    wait.tv_sec = (time_t)interval;
    wait.tv_nsec = (long)((interval - (double)wait.tv_sec) * 1e9);
    while (nanosleep(&wait, &wait) != 0 && errno == EINTR)
        ;
}

static enum eq_err
smtp_configure(struct smtp *s)
{
    static const long use_ssl[] = {[EQ_TLS_REQUIRED] = CURLUSESSL_ALL,
                                   [EQ_TLS_OPPORTUNISTIC] = CURLUSESSL_TRY,
                                   [EQ_TLS_OFF] = CURLUSESSL_NONE};
    CURL *h = s->curl;
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(h, opt, val);                                \
    } while (0)
    SET(CURLOPT_URL, s->url);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_READFUNCTION, smtp_read);
    SET(CURLOPT_READDATA, s);
    SET(CURLOPT_ERRORBUFFER, s->errbuf);
    SET(CURLOPT_DEBUGFUNCTION, smtp_debug);
    SET(CURLOPT_DEBUGDATA, s);
    SET(CURLOPT_VERBOSE, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USE_SSL, use_ssl[s->tls]);
    SET(CURLOPT_TIMEOUT, s->timeout);
    SET(CURLOPT_CONNECTTIMEOUT, s->timeout);
    if (s->ca_file != NULL)
        SET(CURLOPT_CAINFO, s->ca_file);
    if (s->user != NULL) {
        SET(CURLOPT_USERNAME, s->user);
        if (s->auth == EQ_AUTH_XOAUTH2) {
            SET(CURLOPT_XOAUTH2_BEARER, s->password ? s->password : "");
            SET(CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2");
        } else {
            SET(CURLOPT_PASSWORD, s->password ? s->password : "");
            SET(CURLOPT_LOGIN_OPTIONS,
                s->auth == EQ_AUTH_LOGIN ? "AUTH=LOGIN" : "AUTH=PLAIN");
        }
    }
#undef SET
    return rc == CURLE_OK ? EQ_OK : EQ_ERR_UNAVAILABLE;
}

static enum eq_err
smtp_send(struct transport *t, const struct transport_msg *m,
          struct transport_result *res)
{
    struct smtp *s = t->priv;
    struct curl_slist *rcpt = NULL;
    struct eq_buf from = {0}, one = {0};
    enum eq_err err = EQ_OK;
    CURLcode rc;
    long code = 0;

    for (size_t i = 0; i < m->n_rcpt && err == EQ_OK; i++) {
        struct curl_slist *n;
        buf_reset(&one);
        err = buf_printf(&one, "<%s>", m->rcpt[i]);
        if (err == EQ_OK && (n = curl_slist_append(rcpt, one.s)) == NULL)
            err = EQ_ERR_NOMEM;
        else if (err == EQ_OK)
            rcpt = n;
    }
    if (err == EQ_OK)
        err =
            buf_printf(&from, "<%s>", m->envelope_from ? m->envelope_from : "");
    if (err != EQ_OK) {
        set_result(res, 451, "4.3.0 out of memory");
        goto out;
    }
    smtp_pace(s);
    s->data = m->data;
    s->len = m->len;
    s->pos = 0;
    s->errbuf[0] = '\0';
    s->server_line[0] = '\0';
    s->error_line[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, from.s);
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
    rc = curl_easy_perform(s->curl);
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
    /* The handle keeps the list pointer; clear it before freeing the list. */
    curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, (struct curl_slist *)NULL);
    clock_gettime(CLOCK_MONOTONIC, &s->last);
    s->sent_any = 1;

    res->code = (int)code;
    if (s->error_line[0] != '\0' && code >= 400)
        snprintf(res->text, sizeof(res->text), "%s", s->error_line);
    else if (rc != CURLE_OK)
        snprintf(res->text, sizeof(res->text), "%s",
                 s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
    else
        snprintf(res->text, sizeof(res->text), "%s", s->server_line);

    if (rc == CURLE_OK && code >= 200 && code < 300)
        err = EQ_OK;
    else if (code >= 500 && code < 600)
        err = rc == CURLE_LOGIN_DENIED ? EQ_ERR_CONFIG : EQ_ERR_DATA;
    else if (rc == CURLE_USE_SSL_FAILED)
        err = EQ_ERR_UNAVAILABLE;
    else
        err = EQ_ERR_TEMP;
    if (rc != CURLE_OK && code < 400 && res->code == 0)
        res->code = 421; /* no reply: treat like a dropped connection */
out:
    curl_slist_free_all(rcpt);
    buf_free(&from);
    buf_free(&one);
    return err;
}

static void
smtp_close(struct transport *t)
{
    struct smtp *s = t->priv;

    if (s->curl != NULL)
        curl_easy_cleanup(s->curl); /* sends QUIT on the open session */
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

static const struct transport_ops smtp_ops = {
    .name = "smtp", .send = smtp_send, .close = smtp_close};

static enum eq_err
smtp_open(const struct eq_config *cfg, struct transport **out,
          struct eq_buf *diag)
{
    const struct config_server *srv = &cfg->smtp.srv;
    struct transport *t = calloc(1, sizeof(*t));
    struct smtp *s = calloc(1, sizeof(*s));
    enum eq_err err = EQ_ERR_NOMEM;

    if (t == NULL || s == NULL)
        goto fail;
    t->ops = &smtp_ops;
    t->priv = s;
    s->url = strdup(srv->url);
    s->user = eq_strdup(srv->user);
    s->ca_file = eq_strdup(srv->ca_file);
    if (s->url == NULL || (srv->user && s->user == NULL) ||
        (srv->ca_file && s->ca_file == NULL))
        goto fail;
    s->auth = srv->auth;
    s->tls = srv->tls;
    s->timeout = srv->timeout > 0 ? srv->timeout : 60;
    s->rate = cfg->smtp.rate;
    if ((err = config_password(srv, &s->password, diag)) != EQ_OK)
        goto fail;
    s->curl = curl_easy_init();
    if (s->curl == NULL) {
        eq_diag(diag, "smtp: cannot initialise libcurl");
        err = EQ_ERR_UNAVAILABLE;
        goto fail;
    }
    if ((err = smtp_configure(s)) != EQ_OK) {
        eq_diag(diag, "smtp: libcurl lacks an option needed for %s", s->url);
        goto fail;
    }
    *out = t;
    return EQ_OK;
fail:
    if (err == EQ_ERR_NOMEM)
        eq_diag(diag, "smtp: out of memory");
    if (t != NULL && s != NULL)
        smtp_close(t);
    else {
        free(t);
        free(s);
    }
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

enum eq_err
transport_send(struct transport *t, const struct transport_msg *m,
               struct transport_result *res)
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
    return t->ops->send(t, m, res);
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
        /* No reply at all, or a refusal of us rather than of this message:
         * the rest of the batch would fail the same way. */
        if ((res[i].err == EQ_ERR_TEMP && res[i].code == 421) ||
            res[i].err == EQ_ERR_CONFIG || res[i].err == EQ_ERR_UNAVAILABLE)
            stop = res[i].err;
    }
    return stop;
}

size_t
transport_parallel(const struct transport *t)
{
    (void)t;
    return 1;
}

void
transport_close(struct transport *t)
{
    if (t != NULL)
        t->ops->close(t);
}
