#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "transport.h"

static const char msg1[] = "From: a@example.org\r\nTo: b@example.org\r\n"
                           "Subject: one\r\n\r\nHello\r\n.dot line\r\n";
static const char msg2[] = "Subject: two\r\n\r\nSecond\r\n";

/* --- helpers ---------------------------------------------------------- */

static size_t
count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    cr_assert_not_null(d, "%s", dir);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static char *
first_file(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *path = NULL;

    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && path == NULL)
            cr_assert(asprintf(&path, "%s/%s", dir, e->d_name) > 0);
    closedir(d);
    return path;
}

/* --- maildir and capture ---------------------------------------------- */

Test(transport, maildir_delivers_into_new_and_leaves_tmp_empty)
{
    const char *dir = th_tmpdir("transport");
    char *md, *sub, *file, *text;
    struct transport *t = NULL;
    struct transport_result res;
    const char *rcpt[] = {"b@example.org"};
    struct transport_msg m = {"enquete+tok@example.org", rcpt, 1, msg1,
                              sizeof(msg1) - 1};

    cr_assert(asprintf(&md, "%s/out/Maildir", dir) > 0);
    cr_assert_eq(transport_maildir_new(md, &t, NULL), EQ_OK);
    cr_assert_eq(transport_send(t, &m, &res), EQ_OK);
    cr_assert_eq(res.code, 250);
    m.data = msg2;
    m.len = sizeof(msg2) - 1;
    cr_assert_eq(transport_send(t, &m, &res), EQ_OK);
    transport_close(t);

    static const struct {
        const char *sub;
        size_t files;
    } want[] = {{"new", 2}, {"cur", 0}, {"tmp", 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert(asprintf(&sub, "%s/%s", md, want[i].sub) > 0);
        cr_assert_eq(count_files(sub), want[i].files, "%s", want[i].sub);
        free(sub);
    }

    cr_assert(asprintf(&sub, "%s/new", md) > 0);
    file = first_file(sub);
    text = th_slurp(file, NULL);
    /* Either message; both start with the envelope sender. */
    cr_assert(strncmp(text, "Return-Path: <enquete+tok@example.org>\r\n", 40) ==
              0);
    cr_assert(strcmp(text + 40, msg1) == 0 || strcmp(text + 40, msg2) == 0);
    free(text);
    free(file);
    free(sub);
    free(md);
    th_rmtmp();
}

Test(transport, open_resolves_maildir_against_config_dir)
{
    const char *dir = th_tmpdir("transport");
    char *sub;
    struct eq_config cfg;
    struct transport *t = NULL;
    struct eq_buf d = {0};
    struct stat st;

    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = (char *)dir;
    cfg.smtp.srv.url = (char *)"maildir:outbox";
    cr_assert_eq(transport_open(&cfg, &t, &d), EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(t->ops->name, "maildir");
    cr_assert(asprintf(&sub, "%s/outbox/new", dir) > 0);
    cr_assert_eq(stat(sub, &st), 0);
    free(sub);
    transport_close(t);
    cfg.smtp.srv.url = (char *)"ftp://example.org";
    cr_assert_eq(transport_open(&cfg, &t, &d), EQ_ERR_CONFIG);
    cr_assert_null(t);
    buf_free(&d);
    th_rmtmp();
}

Test(transport, capture_keeps_copies_of_message_and_envelope)
{
    struct transport *t = transport_capture_new();
    struct transport_result res;
    char from[] = "enquete+abc@example.org";
    char r1[] = "x@example.org", r2[] = "y@example.org";
    const char *rcpt[] = {r1, r2};
    char data[] = "Subject: hi\r\n\r\nbody\r\n";
    struct transport_msg m = {from, rcpt, 2, data, strlen(data)};

    cr_assert_eq(transport_send(t, &m, &res), EQ_OK);
    cr_assert_eq(res.code, 250);
    /* The caller's buffers change; the captured copy does not. */
    from[0] = 'X';
    r2[0] = 'Z';
    data[0] = 'Q';
    cr_assert_eq(transport_capture_count(t), 1);
    const struct transport_msg *c = transport_capture_get(t, 0);
    cr_assert_str_eq(c->envelope_from, "enquete+abc@example.org");
    cr_assert_eq(c->n_rcpt, 2);
    cr_assert_str_eq(c->rcpt[0], "x@example.org");
    cr_assert_str_eq(c->rcpt[1], "y@example.org");
    cr_assert_str_eq(c->data, "Subject: hi\r\n\r\nbody\r\n");
    cr_assert_eq(c->len, 21);
    cr_assert_null(transport_capture_get(t, 1));
    transport_close(t);
}

Test(transport, refuses_message_without_recipients)
{
    struct transport *t = transport_capture_new();
    struct transport_result res;
    struct transport_msg m = {"a@b", NULL, 0, msg2, sizeof(msg2) - 1};

    cr_assert_eq(transport_send(t, &m, &res), EQ_ERR_DATA);
    cr_assert_geq(res.code, 500);
    cr_assert_eq(transport_capture_count(t), 0);
    transport_close(t);
}

/* --- a tiny SMTP server on 127.0.0.1 ---------------------------------- */

enum { MAX_SESSIONS = 32, MAX_RCPT = 64 };

struct fake {
    int lfd;
    int port;
    pthread_t th;
    atomic_int stop;
    atomic_int connections; /* sockets accepted */
    atomic_int open;        /* sessions open right now */
    atomic_int max_open;
    atomic_int messages;
    atomic_int auths; /* AUTH commands seen */
    /* Behaviour, set before fake_run. */
    const char *rcpt_reply;  /* NULL = "250 2.1.5 ok" */
    const char *defer_rcpt;  /* RCPT TO this address: 451 */
    const char *reject_rcpt; /* RCPT TO this address: 550 */
    const char *auth_plain;  /* accepted AUTH response, or NULL */
    const char *auth_mechs;  /* advertised mechanisms; NULL = "PLAIN" */
    int data_delay_ms;       /* before the reply to the final dot */
    int idle_close_ms;       /* 421 and hang up when idle this long */
    int drop_mail;           /* 1: hang up at the 2nd MAIL FROM of a session,
                                2: at every MAIL FROM */
    /* What arrived, under lock: sessions run in parallel. */
    pthread_mutex_t lock;
    char mail_from[256];
    struct eq_buf data; /* the last DATA, dot-unstuffed */
    char *rcpts[MAX_RCPT];
    size_t n_rcpts;
    pthread_t sessions[MAX_SESSIONS];
    int fds[MAX_SESSIONS];
    size_t n_sessions;
};

struct session_arg {
    struct fake *f;
    int fd;
};

static int
read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;

    while (n + 1 < cap) {
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r <= 0)
            return -1;
        buf[n++] = c;
        if (c == '\n')
            break;
    }
    buf[n] = '\0';
    return (int)n;
}

static void
say(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static int
addr_is(const char *line, const char *addr)
{
    char want[128];

    snprintf(want, sizeof(want), "<%s>", addr ? addr : "");
    return addr != NULL && strstr(line, want) != NULL;
}

/* One SMTP session; several run at once on their own threads. */
static void *
session(void *arg)
{
    struct session_arg *sa = arg;
    struct fake *f = sa->f;
    int fd = sa->fd, mails = 0, done = 0;
    char line[1024], rcpt[128] = "";
    struct eq_buf data = {0};

    free(sa);
    int now_open = atomic_fetch_add(&f->open, 1) + 1;
    int seen = atomic_load(&f->max_open);
    while (now_open > seen &&
           !atomic_compare_exchange_weak(&f->max_open, &seen, now_open))
        ;
    say(fd, "220 fake ESMTP\r\n");
    for (;;) {
        if (f->idle_close_ms > 0 && done > 0) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, f->idle_close_ms) == 0) {
                say(fd, "421 4.4.2 fake idle timeout\r\n");
                break;
            }
        }
        if (read_line(fd, line, sizeof(line)) <= 0)
            break;
        if (strncasecmp(line, "EHLO", 4) == 0) {
            if (f->auth_plain) {
                char ehlo[160];
                snprintf(ehlo, sizeof ehlo,
                         "250-fake\r\n250-AUTH %s\r\n250 8BITMIME\r\n",
                         f->auth_mechs ? f->auth_mechs : "PLAIN");
                say(fd, ehlo);
            } else {
                say(fd, "250-fake\r\n250 8BITMIME\r\n");
            }
        } else if (strncasecmp(line, "HELO", 4) == 0) {
            say(fd, "250 fake\r\n");
        } else if (strncasecmp(line, "AUTH", 4) == 0) {
            atomic_fetch_add(&f->auths, 1);
            /* "AUTH MECH" without an initial response: ask for it. */
            if (strchr(line + 5, ' ') == NULL) {
                say(fd, "334 \r\n");
                if (read_line(fd, line, sizeof(line)) <= 0)
                    break;
            }
            if (f->auth_plain != NULL && strstr(line, f->auth_plain) != NULL)
                say(fd, "235 2.7.0 welcome\r\n");
            else
                say(fd, "535 5.7.8 bad credentials\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            if (f->drop_mail == 2 || (f->drop_mail == 1 && mails == 1))
                break; /* as if the server timed us out just now */
            mails++;
            pthread_mutex_lock(&f->lock);
            snprintf(f->mail_from, sizeof(f->mail_from), "%.*s",
                     (int)strcspn(line + 10, " \r\n"), line + 10);
            pthread_mutex_unlock(&f->lock);
            say(fd, "250 2.1.0 ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            snprintf(rcpt, sizeof(rcpt), "%.*s",
                     (int)strcspn(line + 9, ">\r\n"), line + 9);
            if (addr_is(line, f->defer_rcpt))
                say(fd, "451 4.3.0 try again later\r\n");
            else if (addr_is(line, f->reject_rcpt))
                say(fd, "550 5.1.1 no such user\r\n");
            else
                say(fd, f->rcpt_reply ? f->rcpt_reply : "250 2.1.5 ok\r\n");
        } else if (strncasecmp(line, "DATA", 4) == 0) {
            say(fd, "354 go ahead\r\n");
            buf_reset(&data);
            while (read_line(fd, line, sizeof(line)) > 0 &&
                   strcmp(line, ".\r\n") != 0)
                buf_add(&data, line[0] == '.' ? line + 1 : line);
            if (f->data_delay_ms > 0)
                poll(NULL, 0, f->data_delay_ms);
            pthread_mutex_lock(&f->lock);
            buf_reset(&f->data);
            buf_add(&f->data, buf_str(&data));
            if (f->n_rcpts < MAX_RCPT)
                f->rcpts[f->n_rcpts++] = strdup(rcpt);
            pthread_mutex_unlock(&f->lock);
            atomic_fetch_add(&f->messages, 1);
            done++;
            say(fd, "250 2.0.0 queued\r\n");
        } else if (strncasecmp(line, "QUIT", 4) == 0) {
            say(fd, "221 bye\r\n");
            break;
        } else if (strncasecmp(line, "RSET", 4) == 0 ||
                   strncasecmp(line, "NOOP", 4) == 0) {
            say(fd, "250 ok\r\n");
        } else {
            say(fd, "502 5.5.2 not implemented\r\n");
        }
    }
    buf_free(&data);
    atomic_fetch_sub(&f->open, 1);
    shutdown(fd, SHUT_RDWR);
    return NULL;
}

static void *
serve(void *arg)
{
    struct fake *f = arg;

    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        atomic_fetch_add(&f->connections, 1);
        struct session_arg *sa = malloc(sizeof(*sa));
        cr_assert_not_null(sa);
        sa->f = f;
        sa->fd = fd;
        cr_assert_lt(f->n_sessions, MAX_SESSIONS);
        f->fds[f->n_sessions] = fd;
        cr_assert_eq(
            pthread_create(&f->sessions[f->n_sessions], NULL, session, sa), 0);
        f->n_sessions++;
    }
    return NULL;
}

static int
listen_any(int *port)
{
    struct sockaddr_in a = {0};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 16), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* fake_init, then set behaviour fields, then fake_run. */
static void
fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->lfd = listen_any(&f->port);
}

static void
fake_run(struct fake *f)
{
    cr_assert_eq(pthread_create(&f->th, NULL, serve, f), 0);
}

static void
fake_start(struct fake *f, const char *rcpt_reply)
{
    fake_init(f);
    f->rcpt_reply = rcpt_reply;
    fake_run(f);
}

static void
fake_stop(struct fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    for (size_t i = 0; i < f->n_sessions; i++) {
        shutdown(f->fds[i], SHUT_RDWR); /* wakes a session still reading */
        pthread_join(f->sessions[i], NULL);
        close(f->fds[i]);
    }
    close(f->lfd);
    buf_free(&f->data);
    for (size_t i = 0; i < f->n_rcpts; i++)
        free(f->rcpts[i]);
    pthread_mutex_destroy(&f->lock);
}

/* How many messages the fake accepted for addr. */
static int
fake_got(struct fake *f, const char *addr)
{
    int n = 0;

    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_rcpts; i++)
        n += strcmp(f->rcpts[i], addr) == 0;
    pthread_mutex_unlock(&f->lock);
    return n;
}

struct smtp_opts {
    int connections, rate;
    enum eq_tls tls;
    enum eq_auth auth;
    const char *user, *password_env;
};

static struct transport *
smtp_open_with(int port, const struct smtp_opts *o, enum eq_err want)
{
    static char url[64];
    struct eq_config cfg;
    struct transport *t = NULL;
    struct eq_buf d = {0};

    memset(&cfg, 0, sizeof(cfg));
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d/enquete.test", port);
    cfg.smtp.srv.url = url;
    cfg.smtp.srv.tls = o->tls;
    cfg.smtp.srv.timeout = 5;
    cfg.smtp.srv.user = (char *)o->user;
    cfg.smtp.srv.password_env = (char *)o->password_env;
    cfg.smtp.srv.auth = o->auth;
    cfg.smtp.rate = o->rate;
    cfg.smtp.connections = o->connections;
    cr_assert_eq(transport_open(&cfg, &t, &d), want, "%s", buf_str(&d));
    if (want == EQ_OK)
        cr_assert_str_eq(t->ops->name, "smtp");
    buf_free(&d);
    return t;
}

static struct transport *
smtp_to(int port, int rate)
{
    struct smtp_opts o = {.connections = 1, .rate = rate, .tls = EQ_TLS_OFF};

    return smtp_open_with(port, &o, EQ_OK);
}

/* n messages, the i-th to rcpt[i]. */
struct batch {
    char addr[16][64];
    const char *rcpt[16];
    struct transport_msg m[16];
    struct transport_result res[16];
    size_t n;
};

static void
batch_make(struct batch *b, size_t n, const char *prefix)
{
    cr_assert_leq(n, 16);
    memset(b, 0, sizeof(*b));
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        snprintf(b->addr[i], sizeof(b->addr[i]), "%s%zu@example.org", prefix,
                 i);
        b->rcpt[i] = b->addr[i];
        b->m[i] = (struct transport_msg){"enquete+tok@example.org", &b->rcpt[i],
                                         1, msg2, sizeof(msg2) - 1};
    }
}

Test(transport, smtp_sends_two_messages_over_one_connection)
{
    struct fake f;
    struct transport *t;
    struct transport_result res;
    const char *rcpt[] = {"anna@example.org"};
    struct transport_msg m = {"enquete+tok@example.org", rcpt, 1, msg1,
                              sizeof(msg1) - 1};

    fake_start(&f, NULL);
    t = smtp_to(f.port, 0);
    cr_assert_eq(transport_send(t, &m, &res), EQ_OK, "%d %s", res.code,
                 res.text);
    cr_assert_eq(res.code, 250);
    cr_assert_str_eq(res.text, "250 2.0.0 queued");
    cr_assert_str_eq(f.mail_from, "<enquete+tok@example.org>");
    /* The ".dot line" went through SMTP dot-stuffing and back. */
    cr_assert_str_eq(f.data.s, msg1);
    m.data = msg2;
    m.len = sizeof(msg2) - 1;
    cr_assert_eq(transport_send(t, &m, &res), EQ_OK, "%d %s", res.code,
                 res.text);
    cr_assert_str_eq(f.data.s, msg2);
    cr_assert_eq(atomic_load(&f.messages), 2);
    cr_assert_eq(atomic_load(&f.connections), 1);
    transport_close(t);
    fake_stop(&f);
}

/* Sends msg2 to rcpt_to through a fake server that answers RCPT with
 * rcpt_reply; expects err, code and a reply text containing want. Returns
 * how many messages the server accepted. */
static int
send_refused(const char *rcpt_to, const char *rcpt_reply, enum eq_err err,
             int code, const char *want)
{
    struct fake f;
    struct transport *t;
    struct transport_result res;
    const char *rcpt[] = {rcpt_to};
    struct transport_msg m = {"enquete+tok@example.org", rcpt, 1, msg2,
                              sizeof(msg2) - 1};
    int messages;

    fake_start(&f, rcpt_reply);
    t = smtp_to(f.port, 0);
    cr_assert_eq(transport_send(t, &m, &res), err);
    cr_assert_eq(res.code, code);
    cr_assert(strstr(res.text, want) != NULL, "%s", res.text);
    messages = atomic_load(&f.messages);
    transport_close(t);
    fake_stop(&f);
    return messages;
}

Test(transport, smtp_451_on_rcpt_is_temporary)
{
    cr_assert_eq(send_refused("anna@example.org",
                              "451 4.3.0 try again later\r\n", EQ_ERR_TEMP, 451,
                              "try again later"),
                 0);
}

Test(transport, smtp_550_is_permanent)
{
    send_refused("nobody@example.org", "550 5.1.1 no such user\r\n",
                 EQ_ERR_DATA, 550, "no such user");
}

Test(transport, smtp_refused_connection_is_temporary)
{
    int port, fd = listen_any(&port);
    struct transport *t;
    struct transport_result res;
    const char *rcpt[] = {"anna@example.org"};
    struct transport_msg m = {"enquete+tok@example.org", rcpt, 1, msg2,
                              sizeof(msg2) - 1};

    close(fd); /* nothing listens on port any more */
    t = smtp_to(port, 0);
    cr_assert_eq(transport_send(t, &m, &res), EQ_ERR_TEMP);
    cr_assert_neq(res.text[0], '\0');
    transport_close(t);
}

Test(transport, smtp_rate_spaces_messages)
{
    struct fake f;
    struct transport *t;
    struct transport_result res;
    const char *rcpt[] = {"anna@example.org"};
    struct transport_msg m = {"enquete+tok@example.org", rcpt, 1, msg2,
                              sizeof(msg2) - 1};
    struct timespec a, b;

    fake_start(&f, NULL);
    t = smtp_to(f.port, 600); /* one per 100 ms */
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(transport_send(t, &m, &res), EQ_OK);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double elapsed =
        (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    cr_assert_geq(elapsed, 0.19, "three messages took %.3f s", elapsed);
    cr_assert_eq(atomic_load(&f.messages), 3);
    transport_close(t);
    fake_stop(&f);
}

/* --- several connections (send_many) ---------------------------------- */

static double
since(const struct timespec *a)
{
    struct timespec b;

    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) +
           (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

Test(transport, parallel_is_connections_for_smtp_and_one_otherwise)
{
    struct fake f;
    struct smtp_opts o = {.connections = 3, .tls = EQ_TLS_OFF};
    struct transport *t, *cap = transport_capture_new();

    fake_start(&f, NULL);
    t = smtp_open_with(f.port, &o, EQ_OK);
    cr_assert_eq(transport_parallel(t), 3);
    cr_assert_eq(transport_parallel(cap), 1);
    transport_close(t);
    transport_close(cap);
    /* Opening connects nowhere: the first message does. */
    cr_assert_eq(atomic_load(&f.connections), 0);
    fake_stop(&f);
}

Test(transport, send_many_spreads_a_batch_over_three_connections)
{
    struct fake f;
    struct smtp_opts o = {.connections = 3, .tls = EQ_TLS_OFF};
    struct transport *t;
    struct batch b;

    struct timespec a;

    fake_init(&f);
    f.data_delay_ms = 60; /* the server thinks before each 250 */
    fake_run(&f);
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 9, "p");
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    /* One after the other would take 9 × 60 ms; three at once about 180. */
    double elapsed = since(&a);
    cr_assert_lt(elapsed, 0.45, "nine messages took %.3f s", elapsed);
    for (size_t i = 0; i < b.n; i++) {
        cr_assert_eq(b.res[i].err, EQ_OK, "%zu: %d %s", i, b.res[i].code,
                     b.res[i].text);
        cr_assert_eq(b.res[i].code, 250);
        cr_assert_str_eq(b.res[i].text, "250 2.0.0 queued");
        cr_assert_eq(fake_got(&f, b.addr[i]), 1, "%s", b.addr[i]);
    }
    cr_assert_eq(atomic_load(&f.messages), 9);
    cr_assert_eq(atomic_load(&f.connections), 3);
    cr_assert_eq(atomic_load(&f.max_open), 3);
    /* A second batch reuses the three sessions. */
    batch_make(&b, 6, "q");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    cr_assert_eq(atomic_load(&f.messages), 15);
    cr_assert_eq(atomic_load(&f.connections), 3);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, send_many_defers_only_the_recipient_that_got_451)
{
    struct fake f;
    struct smtp_opts o = {.connections = 2, .tls = EQ_TLS_OFF};
    struct transport *t;
    struct batch b;

    fake_init(&f);
    f.defer_rcpt = "p2@example.org";
    f.reject_rcpt = "p4@example.org";
    fake_run(&f);
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 6, "p");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    for (size_t i = 0; i < b.n; i++) {
        if (i == 2) {
            cr_assert_eq(b.res[i].err, EQ_ERR_TEMP);
            cr_assert_eq(b.res[i].code, 451);
            cr_assert_str_eq(b.res[i].text, "451 4.3.0 try again later");
        } else if (i == 4) {
            cr_assert_eq(b.res[i].err, EQ_ERR_DATA);
            cr_assert_eq(b.res[i].code, 550);
            cr_assert_str_eq(b.res[i].text, "550 5.1.1 no such user");
        } else {
            cr_assert_eq(b.res[i].err, EQ_OK, "%zu: %s", i, b.res[i].text);
            cr_assert_eq(fake_got(&f, b.addr[i]), 1);
        }
    }
    cr_assert_eq(atomic_load(&f.messages), 4);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, send_many_after_server_closed_idle_connections)
{
    struct fake f;
    struct smtp_opts o = {.connections = 2, .tls = EQ_TLS_OFF};
    struct transport *t;
    struct batch b;

    fake_init(&f);
    f.idle_close_ms = 150;
    f.data_delay_ms = 30; /* both connections get work */
    fake_run(&f);
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 4, "p");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    cr_assert_eq(atomic_load(&f.connections), 2, "%d",
                 atomic_load(&f.connections));
    poll(NULL, 0, 400); /* both sessions time out and say 421 */
    cr_assert_eq(atomic_load(&f.open), 0);
    batch_make(&b, 4, "q");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    for (size_t i = 0; i < b.n; i++) {
        cr_assert_eq(b.res[i].err, EQ_OK, "%zu: %d %s", i, b.res[i].code,
                     b.res[i].text);
        cr_assert_eq(fake_got(&f, b.addr[i]), 1);
    }
    cr_assert_eq(atomic_load(&f.messages), 8);
    cr_assert_eq(atomic_load(&f.connections), 4);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, smtp_hangup_at_mail_from_is_retried_on_a_new_connection)
{
    struct fake f;
    struct transport *t;
    struct batch b;

    fake_init(&f);
    f.drop_mail = 1; /* every session dies at its second MAIL FROM */
    fake_run(&f);
    t = smtp_to(f.port, 0);
    batch_make(&b, 3, "p");
    for (size_t i = 0; i < b.n; i++) {
        cr_assert_eq(transport_send(t, &b.m[i], &b.res[i]), EQ_OK, "%zu: %s", i,
                     b.res[i].text);
        cr_assert_eq(fake_got(&f, b.addr[i]), 1);
    }
    cr_assert_eq(atomic_load(&f.connections), 3);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, send_many_stops_when_the_retry_fails_too)
{
    struct fake f;
    struct transport *t;
    struct batch b;

    fake_init(&f);
    f.drop_mail = 2; /* no MAIL FROM is ever answered */
    fake_run(&f);
    t = smtp_to(f.port, 0);
    batch_make(&b, 3, "p");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_ERR_TEMP);
    cr_assert_eq(b.res[0].err, EQ_ERR_TEMP);
    cr_assert_eq(b.res[0].code, 421);
    cr_assert_neq(b.res[0].text[0], '\0');
    for (size_t i = 1; i < b.n; i++) {
        cr_assert_eq(b.res[i].err, EQ_ERR_TEMP);
        cr_assert_str_eq(b.res[i].text, "4.4.0 not attempted");
    }
    /* The first try and one retry, then nothing more. */
    cr_assert_eq(atomic_load(&f.connections), 2);
    cr_assert_eq(atomic_load(&f.messages), 0);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, send_many_keeps_rate_over_all_connections)
{
    struct fake f;
    struct smtp_opts o = {.connections = 3, .rate = 600, .tls = EQ_TLS_OFF};
    struct transport *t;
    struct batch b;
    struct timespec a;

    fake_start(&f, NULL);
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 4, "p");
    clock_gettime(CLOCK_MONOTONIC, &a);
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    /* Four starts 100 ms apart, whatever the number of connections. */
    double elapsed = since(&a);
    cr_assert_geq(elapsed, 0.29, "four messages took %.3f s", elapsed);
    cr_assert_eq(atomic_load(&f.messages), 4);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, send_many_refuses_bad_address_without_touching_the_rest)
{
    struct fake f;
    struct smtp_opts o = {.connections = 2, .tls = EQ_TLS_OFF};
    struct transport *t;
    struct batch b;

    fake_start(&f, NULL);
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 3, "p");
    b.rcpt[1] = "x@example.org>\r\nRCPT TO:<y@example.org";
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK);
    cr_assert_eq(b.res[1].err, EQ_ERR_DATA);
    cr_assert_eq(b.res[1].code, 553);
    cr_assert_eq(b.res[0].err, EQ_OK);
    cr_assert_eq(b.res[2].err, EQ_OK);
    cr_assert_eq(atomic_load(&f.messages), 2);
    cr_assert_eq(fake_got(&f, "y@example.org"), 0);
    transport_close(t);
    fake_stop(&f);
}

/* --- TLS policy and login ---------------------------------------------- */

Test(transport, tls_required_refuses_a_server_without_starttls)
{
    struct fake f;
    struct smtp_opts o = {.connections = 1, .tls = EQ_TLS_REQUIRED};
    struct transport *t;
    struct batch b;

    fake_start(&f, NULL);
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 2, "p");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_ERR_UNAVAILABLE);
    cr_assert_eq(b.res[0].err, EQ_ERR_UNAVAILABLE);
    cr_assert(strstr(b.res[0].text, "STARTTLS") != NULL, "%s", b.res[0].text);
    cr_assert_eq(b.res[1].err, EQ_ERR_TEMP);
    cr_assert_eq(atomic_load(&f.messages), 0);
    transport_close(t);
    fake_stop(&f);
}

/* A fake server that accepts AUTH PLAIN for enquete/s3cret; the client's
 * password (from $EQ_TEST_SMTP_PW) is `password`. */
static void
auth_server(struct fake *f, const char *password)
{
    setenv("EQ_TEST_SMTP_PW", password, 1);
    fake_init(f);
    f->auth_plain = "AGVucXVldGUAczNjcmV0"; /* \0enquete\0s3cret */
    fake_run(f);
}

Test(transport, credentials_never_go_out_without_tls_when_opportunistic)
{
    struct fake f;
    struct smtp_opts o = {.connections = 1,
                          .tls = EQ_TLS_OPPORTUNISTIC,
                          .user = "enquete",
                          .password_env = "EQ_TEST_SMTP_PW"};
    struct transport *t;
    struct batch b;

    auth_server(&f, "s3cret");
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 1, "p");
    cr_assert_eq(transport_send(t, &b.m[0], &b.res[0]), EQ_ERR_UNAVAILABLE);
    cr_assert(strstr(b.res[0].text, "only sent over TLS") != NULL, "%s",
              b.res[0].text);
    cr_assert_eq(atomic_load(&f.auths), 0);
    cr_assert_eq(atomic_load(&f.messages), 0);
    transport_close(t);
    fake_stop(&f);
}

/* Sends two messages with auth over one plain connection to f (which knows
 * the credentials): one login, both delivered. */
static void
login_and_send_two(struct fake *f, enum eq_auth auth)
{
    struct smtp_opts o = {.connections = 1,
                          .tls = EQ_TLS_OFF,
                          .auth = auth,
                          .user = "enquete",
                          .password_env = "EQ_TEST_SMTP_PW"};
    struct transport *t = smtp_open_with(f->port, &o, EQ_OK);
    struct batch b;

    batch_make(&b, 2, "p");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_OK, "%s",
                 b.res[0].text);
    cr_assert_eq(atomic_load(&f->auths), 1); /* one login, one session */
    cr_assert_eq(atomic_load(&f->messages), 2);
    transport_close(t);
    fake_stop(f);
}

Test(transport, auth_plain_over_tls_off_logs_in_and_sends)
{
    struct fake f;

    auth_server(&f, "s3cret");
    login_and_send_two(&f, EQ_AUTH_PLAIN);
}

/* RFC 7628 / Google's XOAUTH2: base64 of "user=enquete^Aauth=Bearer
 * tok-123^A^A", the token taken from the password setting. */
Test(transport, xoauth2_sends_the_bearer_token_and_sends)
{
    struct fake f;

    setenv("EQ_TEST_SMTP_PW", "tok-123", 1);
    fake_init(&f);
    f.auth_mechs = "PLAIN XOAUTH2";
    f.auth_plain = "dXNlcj1lbnF1ZXRlAWF1dGg9QmVhcmVyIHRvay0xMjMBAQ==";
    fake_run(&f);
    login_and_send_two(&f, EQ_AUTH_XOAUTH2);
}

Test(transport, refused_login_is_a_config_error_and_stops_the_batch)
{
    struct fake f;
    struct smtp_opts o = {.connections = 2,
                          .tls = EQ_TLS_OFF,
                          .user = "enquete",
                          .password_env = "EQ_TEST_SMTP_PW"};
    struct transport *t;
    struct batch b;

    auth_server(&f, "wrong");
    t = smtp_open_with(f.port, &o, EQ_OK);
    batch_make(&b, 5, "p");
    cr_assert_eq(transport_send_many(t, b.m, b.n, b.res), EQ_ERR_CONFIG);
    cr_assert_eq(b.res[0].err, EQ_ERR_CONFIG);
    cr_assert_eq(b.res[0].code, 535);
    cr_assert(strstr(b.res[0].text, "bad credentials") != NULL, "%s",
              b.res[0].text);
    /* Both connections tried to log in; nothing more was started. */
    cr_assert_leq(atomic_load(&f.auths), 2);
    for (size_t i = 2; i < b.n; i++)
        cr_assert_str_eq(b.res[i].text, "4.4.0 not attempted");
    cr_assert_eq(atomic_load(&f.messages), 0);
    transport_close(t);
    fake_stop(&f);
}

Test(transport, user_without_password_is_a_config_error)
{
    struct smtp_opts o = {
        .connections = 1, .tls = EQ_TLS_REQUIRED, .user = "enquete"};

    cr_assert_null(smtp_open_with(25, &o, EQ_ERR_CONFIG));
}

/* A batch whose every message is refused before the server (a bad address)
 * still returns from the wait: nothing is left for the workers to do. */
Test(transport, batch_of_only_refused_messages_does_not_hang, .timeout = 20)
{
    struct smtp_opts o = {.connections = 2, .tls = EQ_TLS_OFF};
    struct transport *t = smtp_open_with(9, &o, EQ_OK); /* never connected */
    const char *bad[1] = {"x\r\ny@example.org"};
    struct transport_msg m[2] = {{"a@example.org", bad, 1, msg1, strlen(msg1)},
                                 {"a@example.org", bad, 1, msg1, strlen(msg1)}};
    struct transport_result r[2];

    for (int round = 0; round < 3; round++) {
        cr_assert_eq(transport_submit(t, m, 2, r), EQ_OK);
        cr_assert_eq(transport_wait(t), EQ_OK);
        cr_assert_eq(r[0].err, EQ_ERR_DATA);
        cr_assert_eq(r[1].err, EQ_ERR_DATA);
    }
    transport_close(t);
}
