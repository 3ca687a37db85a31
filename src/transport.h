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
    const char *envelope_from; /* MAIL FROM */
    const char *const *rcpt;   /* RCPT TO addresses */
    size_t n_rcpt;
    const char *data; /* the whole RFC 5322 message, CRLF lines */
    size_t len;
};

/* What the peer said: SMTP code and text; maildir/capture report 250.
 * err is what transport_send would have returned for this message. */
struct transport_result {
    int code;
    char text[256];
    enum eq_err err;
};

struct transport_ops {
    const char *name;
    enum eq_err (*send)(struct transport *t, const struct transport_msg *m,
                        struct transport_result *res);
    /* Optional: up to n messages at once (smtp: one per connection). */
    enum eq_err (*send_many)(struct transport *t, const struct transport_msg *m,
                             size_t n, struct transport_result *res);
    /* Optional pair: send_many split in a start that returns at once and
     * a wait for its results. */
    enum eq_err (*submit)(struct transport *t, const struct transport_msg *m,
                          size_t n, struct transport_result *res);
    enum eq_err (*wait)(struct transport *t);
    void (*close)(struct transport *t);
};

struct transport {
    const struct transport_ops *ops;
    void *priv;
    /* The batch of transport_submit without ops->submit, sent at wait. */
    const struct transport_msg *pending;
    size_t n_pending;
    struct transport_result *pending_res;
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
/* Hands over n messages, at most transport_parallel() at the same time, and
 * fills res[i] (with res[i].err) for each. Returns EQ_OK when every message
 * got its own result, or the error that stopped the batch (the server is
 * unreachable, login refused): then the messages without a result have
 * res[i].err == EQ_ERR_TEMP. */
enum eq_err transport_send_many(struct transport *t,
                                const struct transport_msg *m, size_t n,
                                struct transport_result *res);
/* transport_send_many in two halves, so the caller can prepare the next
 * batch while this one is on its way: submit starts handing over (m and res
 * must stay untouched until the wait), wait returns what send_many would
 * have. One batch at a time. */
enum eq_err transport_submit(struct transport *t, const struct transport_msg *m,
                             size_t n, struct transport_result *res);
enum eq_err transport_wait(struct transport *t);
/* How many messages the transport hands over at once ([smtp] connections
 * for smtp, 1 otherwise): the most that a crash can send twice. */
size_t transport_parallel(const struct transport *t);
void transport_close(struct transport *t);

#endif
