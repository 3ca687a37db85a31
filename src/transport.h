/*
 * transport: hands finished messages to the outside world. Backends sit
 * behind struct transport_ops: smtp (libcurl, one connection reused), maildir
 * (tmp/ then rename into new/) and capture (kept in memory, for tests). It
 * does not build messages (compose) or decide what to send (run).
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include "config.h"
#include "eq.h"

struct transport;

struct transport_msg {
    const char *envelope_from;   /* MAIL FROM */
    const char *const *rcpt;     /* RCPT TO addresses */
    size_t n_rcpt;
    const char *data;            /* the whole RFC 5322 message, CRLF lines */
    size_t len;
};

/* What the peer said: SMTP code and text; maildir/capture report 250. */
struct transport_result {
    int code;
    char text[256];
};

struct transport_ops {
    const char *name;
    enum eq_err (*send)(struct transport *t, const struct transport_msg *m,
                        struct transport_result *res);
    void (*close)(struct transport *t);
};

struct transport {
    const struct transport_ops *ops;
    void *priv;
};

/* Opens the transport named by cfg->smtp.srv.url ("maildir:PATH" relative to
 * the config dir, "smtp://", "smtps://"). */
enum eq_err transport_open(const struct eq_config *cfg, struct transport **out,
                           struct eq_buf *diag);
enum eq_err transport_maildir_new(const char *dir, struct transport **out,
                                  struct eq_buf *diag);
struct transport *transport_capture_new(void);
size_t transport_capture_count(const struct transport *t);
/* The i-th captured message (NUL-terminated) and its envelope. */
const struct transport_msg *transport_capture_get(const struct transport *t,
                                                  size_t i);

/* EQ_OK on 2xx; EQ_ERR_TEMP on 4xx or a connection problem (retry later);
 * EQ_ERR_DATA on 5xx (permanent). res is always filled. */
enum eq_err transport_send(struct transport *t, const struct transport_msg *m,
                           struct transport_result *res);
void transport_close(struct transport *t);

#endif
