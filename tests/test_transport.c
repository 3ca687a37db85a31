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

struct fake {
    int lfd;
    int port;
    pthread_t th;
    atomic_int stop;
    atomic_int connections;
    atomic_int messages;
    const char *rcpt_reply; /* NULL = "250 2.1.5 ok" */
    char mail_from[256];
    struct eq_buf data; /* the last DATA, dot-unstuffed */
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

static void
session(struct fake *f, int fd)
{
    char line[1024];

    say(fd, "220 fake ESMTP\r\n");
    while (read_line(fd, line, sizeof(line)) > 0) {
        if (strncasecmp(line, "EHLO", 4) == 0) {
            say(fd, "250-fake\r\n250 8BITMIME\r\n");
        } else if (strncasecmp(line, "HELO", 4) == 0) {
            say(fd, "250 fake\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            snprintf(f->mail_from, sizeof(f->mail_from), "%.*s",
                     (int)strcspn(line + 10, " \r\n"), line + 10);
            say(fd, "250 2.1.0 ok\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            say(fd, f->rcpt_reply ? f->rcpt_reply : "250 2.1.5 ok\r\n");
        } else if (strncasecmp(line, "DATA", 4) == 0) {
            say(fd, "354 go ahead\r\n");
            buf_reset(&f->data);
            while (read_line(fd, line, sizeof(line)) > 0 &&
                   strcmp(line, ".\r\n") != 0)
                buf_add(&f->data, line[0] == '.' ? line + 1 : line);
            atomic_fetch_add(&f->messages, 1);
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
    close(fd);
}

static void *
serve(void *arg)
{
    struct fake *f = arg;

    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        atomic_fetch_add(&f->connections, 1);
        session(f, fd);
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
    cr_assert_eq(listen(fd, 4), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void
fake_start(struct fake *f, const char *rcpt_reply)
{
    memset(f, 0, sizeof(*f));
    f->rcpt_reply = rcpt_reply;
    f->lfd = listen_any(&f->port);
    cr_assert_eq(pthread_create(&f->th, NULL, serve, f), 0);
}

static void
fake_stop(struct fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    close(f->lfd);
    buf_free(&f->data);
}

static struct transport *
smtp_to(int port, int rate)
{
    static char url[64];
    struct eq_config cfg;
    struct transport *t = NULL;
    struct eq_buf d = {0};

    memset(&cfg, 0, sizeof(cfg));
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d/enquete.test", port);
    cfg.smtp.srv.url = url;
    cfg.smtp.srv.tls = EQ_TLS_OFF;
    cfg.smtp.srv.timeout = 5;
    cfg.smtp.rate = rate;
    cr_assert_eq(transport_open(&cfg, &t, &d), EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(t->ops->name, "smtp");
    buf_free(&d);
    return t;
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
