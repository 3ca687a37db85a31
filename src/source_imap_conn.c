/*
 * source_imap_conn: opening an IMAP session (libetpan): the server URL, the
 * connection with its TLS (implicit or STARTTLS) and certificate check, the
 * login and SELECT, the guard under the stream (end of stream, the deadline
 * of each command), and how a libetpan failure becomes an eq_err. Reading and
 * filing mail is source_imap.c's.
 */
#include "source.h"

#include "eqtime.h"
#include "source_int.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/mailimap.h>
#include <libetpan/mailimap_oauth2.h>
#include <libetpan/mailimap_socket.h>
#include <libetpan/mailimap_ssl.h>
#include <libetpan/mailstream_low.h>
#include <libetpan/mailstream_ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

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

static const char *
imap_reply(const struct imap_src *im)
{
    return im->imap && im->imap->imap_response ? im->imap->imap_response : "";
}

/* A libetpan failure as an eq_err with a diag line naming the server and
 * the step; a stream failure (hang-up, timeout, deadline) ends the
 * session. */
enum eq_err
source_imap_fail(struct imap_src *im, int r, const char *what,
                 struct eq_buf *diag)
{
    const char *resp = imap_reply(im);
    enum eq_err err = EQ_ERR_TEMP;
    char late[80] = "";
    /* A reply cut off by the hang-up or the deadline may parse as garbage:
     * the cut is the news. */
    if ((im->peer_closed || im->dl.passed_ms) && r == MAILIMAP_ERROR_PARSE)
        r = MAILIMAP_ERROR_STREAM;
    if (im->dl.passed_ms)
        snprintf(late, sizeof late,
                 "deadline passed: no complete reply within %lld s",
                 (long long)(im->dl.passed_ms / 1000));
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
               : r == MAILIMAP_ERROR_STREAM && *late ? late
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

/* [imap] timeout bounds each wait for data, so a server that trickles a
 * byte just inside it keeps one command (and the ingest lock) going for
 * ever. A command gets 5 × [imap] timeout, at least 300 s, plus 1 ms for
 * every 8 bytes of reply (about 8 kB/s), so that a big FETCH batch over a
 * slow but working link still completes; never more than 12 times the
 * base (an hour at the default timeout). The read under way is not cut
 * short: a command can end up to one [imap] timeout late. */
#define DEADLINE_MIN_MS (300 * 1000)
#define DEADLINE_TIMEOUTS 5
#define DEADLINE_BYTES_PER_MS 8
#define DEADLINE_MAX_BASES 12

static void
deadline_init(struct imap_deadline *dl, int timeout_s)
{
    memset(dl, 0, sizeof *dl);
    dl->now_ms = eqtime_mono_ms;
    dl->base_ms = (int64_t)timeout_s * 1000 * DEADLINE_TIMEOUTS;
    if (dl->base_ms < DEADLINE_MIN_MS)
        dl->base_ms = DEADLINE_MIN_MS;
}

/* Every command begins with a write; a LOGIN literal or IDLE's DONE is a
 * write too and starts the clock again, which the client, not the server,
 * decides. IDLE's wait polls the socket outside the stream: no deadline. */
static void
deadline_start(struct imap_deadline *dl)
{
    dl->start_ms = dl->now_ms();
    dl->got = 0;
    dl->armed = 1;
}

/* The limit that the reply so far has run over, or 0. */
static int64_t
deadline_over(const struct imap_deadline *dl)
{
    int64_t cap = dl->base_ms * DEADLINE_MAX_BASES, limit = cap;
    uint64_t extra = dl->got / DEADLINE_BYTES_PER_MS;
    if (!dl->armed)
        return 0;
    if (extra < (uint64_t)(cap - dl->base_ms))
        limit = dl->base_ms + (int64_t)extra;
    return dl->now_ms() - dl->start_ms > limit ? limit : 0;
}

/* libetpan 1.9.4's plain socket layer returns 0 from read() when the peer
 * hangs up, and its readers take 0 as "nothing yet": inside a FETCH literal
 * it calls recv() = 0 forever at full CPU, so [imap] timeout (a select()
 * per read) never fires and the run lock is held for good. This layer sits
 * between the mailstream and the real low stream (socket, or gnutls after
 * imaps:// or STARTTLS) and turns end of stream, and a command past its
 * deadline, into -1, which every libetpan reader reports as
 * MAILIMAP_ERROR_STREAM. */
struct eof_guard {
    mailstream_low *inner;
    struct imap_src *im; /* peer_closed and dl: it outlives the stream */
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
    struct imap_src *im = g->im;
    ssize_t r;
    if (im->peer_closed || im->dl.passed_ms)
        return -1; /* a closed socket would only say 0 again */
    if ((im->dl.passed_ms = deadline_over(&im->dl)) != 0)
        return -1;
    /* The driver directly: mailstream_low_read would log the data twice
     * when libetpan's debug log is on. */
    r = g->inner->driver->mailstream_read(g->inner, buf, count);
    if ((r == 0 && count > 0) || (r < 0 && guard_peer_gone(g->inner))) {
        im->peer_closed = 1;
        return -1;
    }
    if (r > 0)
        im->dl.got += (uint64_t)r;
    return r;
}

static ssize_t
guard_write(mailstream_low *s, const void *buf, size_t count)
{
    struct eof_guard *g = s->data;
    ssize_t r;
    if (g->im->dl.passed_ms)
        return -1; /* the last reply is half read: the session is over */
    deadline_start(&g->im->dl);
    r = g->inner->driver->mailstream_write(g->inner, buf, count);
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
    g->im = im;
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
        return source_imap_fail(im, r, "CAPABILITY", diag);
    mailimap_capability_data_free(cap);
    return EQ_OK;
}

enum eq_err
source_imap_connect(struct imap_src *im, struct eq_buf *diag)
{
    const struct config_server *srv = &im->cfg->imap.srv;
    char *pw = NULL;
    enum eq_err err;
    int r;

    if (!(im->imap = mailimap_new(0, NULL)))
        return EQ_ERR_NOMEM;
    int timeout = srv->timeout > 0 ? srv->timeout : 60;
    mailimap_set_timeout(im->imap, timeout);
    deadline_init(&im->dl, timeout);
    if (im->url.implicit_tls)
        r = mailimap_ssl_connect_with_callback(
            im->imap, im->url.host, im->url.port, tls_sni, im->url.host);
    else
        r = mailimap_socket_connect(im->imap, im->url.host, im->url.port);
    if (r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
        r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
        if (r == MAILIMAP_ERROR_SSL)
            im->broken = 1;
        return source_imap_fail(
            im, r == MAILIMAP_ERROR_SSL ? MAILIMAP_ERROR_STREAM : r,
            im->url.implicit_tls ? "TLS connect" : "connect", diag);
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
                return source_imap_fail(im, r, "STARTTLS", diag);
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
        err = source_imap_fail(
            im, r == MAILIMAP_ERROR_STREAM ? r : MAILIMAP_ERROR_LOGIN, what,
            diag);
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
        err = source_imap_fail(im, r, what, diag);
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
