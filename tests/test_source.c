#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "eq.h"
#include "eqtime.h"
#include "log.h"
#include "source.h"
#include "source_int.h"

static char tmpdir[64];

static void
setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/eq-source-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        rm_rf(p);
    }
    closedir(d);
    rmdir(path);
}

static void
teardown(void)
{
    rm_rf(tmpdir);
}

static void
put(const char *dir, const char *sub, const char *name, const char *data)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f, "%s", p);
    fputs(data, f);
    fclose(f);
}

static int
exists(const char *dir, const char *sub, const char *name)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name);
    return stat(p, &st) == 0;
}

TestSuite(source, .init = setup, .fini = teardown);

Test(source, maildir_creates_subdirs_and_reads_in_name_order)
{
    char md[128];
    snprintf(md, sizeof md, "%s/Maildir", tmpdir);
    struct source *s = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(source_maildir_new(md, &s, &diag), EQ_OK);
    cr_assert(exists(md, "tmp", "") && exists(md, "new", "") &&
              exists(md, "cur", ""));
    put(md, "new", "200.b.host", "Subject: two\n\nB\n");
    put(md, "new", "100.a.host", "Subject: one\n\nA\n");
    put(md, "new", ".hidden", "ignored");

    struct source_msg m = {0};
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_str_eq(m.key, "maildir:100.a.host");
    cr_assert_str_eq(m.data, "Subject: one\n\nA\n");
    cr_assert_eq(m.len, strlen("Subject: one\n\nA\n"));
    cr_assert_eq(source_done(s, &m, SOURCE_PROCESSED), EQ_OK);
    cr_assert(!exists(md, "new", "100.a.host"));
    cr_assert(exists(md, "cur", "100.a.host:2,S"));
    source_msg_clear(&m);
    cr_assert_null(m.key);

    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_str_eq(m.key, "maildir:200.b.host");
    cr_assert_eq(source_done(s, &m, SOURCE_DELETE), EQ_OK);
    cr_assert(!exists(md, "new", "200.b.host"));
    cr_assert(!exists(md, "cur", "200.b.host:2,S"));
    source_msg_clear(&m);

    cr_assert_eq(source_next(s, &m), EQ_ERR_NOTFOUND);
    source_close(s);
    buf_free(&diag);
}

Test(source, vanished_message_is_skipped)
{
    struct source *s = NULL;
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    put(tmpdir, "new", "1.x", "A");
    put(tmpdir, "new", "2.x", "B");
    put(tmpdir, "new", "3.x", "C");
    struct source_msg m = {0};
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_str_eq(m.key, "maildir:1.x");
    source_msg_clear(&m);
    char p[256];
    snprintf(p, sizeof p, "%s/new/2.x", tmpdir);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_str_eq(m.key, "maildir:3.x");
    cr_assert_str_eq(m.data, "C");
    /* Filing a message someone else already moved reports it. */
    snprintf(p, sizeof p, "%s/new/3.x", tmpdir);
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(source_done(s, &m, SOURCE_AUTO), EQ_ERR_NOTFOUND);
    source_msg_clear(&m);
    cr_assert_eq(source_next(s, &m), EQ_ERR_NOTFOUND);
    source_close(s);
}

Test(source, done_refuses_foreign_keys)
{
    struct source *s = NULL;
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    struct source_msg m = {.key = "maildir:../../etc/passwd"};
    cr_assert_eq(source_done(s, &m, SOURCE_PROCESSED), EQ_ERR_USAGE);
    struct source_msg i = {.key = "imap:1:2"};
    cr_assert_eq(source_done(s, &i, SOURCE_PROCESSED), EQ_ERR_USAGE);
    source_close(s);
}

Test(source, open_resolves_maildir_against_config_dir)
{
    struct eq_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = tmpdir;
    cfg.imap.srv.url = "maildir:mail/in";
    char mail[128];
    snprintf(mail, sizeof mail, "%s/mail", tmpdir);
    cr_assert_eq(mkdir(mail, 0700), 0);
    struct source *s = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(source_open(&cfg, &s, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(s->ops->name, "maildir");
    char in[160];
    snprintf(in, sizeof in, "%s/mail/in", tmpdir);
    cr_assert(exists(in, "new", ""));
    put(in, "new", "k", "X");
    struct source_msg m = {0};
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_str_eq(m.key, "maildir:k");
    source_msg_clear(&m);
    source_close(s);
    buf_free(&diag);
}

/* Declared in source.c (not in source.h) for these tests. */

Test(source, imap_url_gives_host_port_folder_and_tls_mode)
{
    struct source_imap_url u;
    cr_assert_eq(source_imap_parse_url("imaps://mail.org.example:10993/Enquete",
                                       &u, NULL),
                 EQ_OK);
    cr_assert_str_eq(u.host, "mail.org.example");
    cr_assert_eq(u.port, 10993);
    cr_assert_eq(u.implicit_tls, 1);
    cr_assert_str_eq(u.folder, "Enquete");
    source_imap_url_clear(&u);
    cr_assert_eq(source_imap_parse_url("imap://127.0.0.1", &u, NULL), EQ_OK);
    cr_assert_str_eq(u.host, "127.0.0.1");
    cr_assert_eq(u.port, 143);
    cr_assert_eq(u.implicit_tls, 0);
    cr_assert_str_eq(u.folder, "INBOX");
    source_imap_url_clear(&u);
}

Test(source, imap_url_defaults_993_and_unescapes_folder)
{
    struct source_imap_url u;
    cr_assert_eq(
        source_imap_parse_url("imaps://h/INBOX.HR%20Enqu%C3%AAte/", &u, NULL),
        EQ_OK);
    cr_assert_eq(u.port, 993);
    cr_assert_str_eq(u.folder, "INBOX.HR Enqu\xc3\xaate");
    source_imap_url_clear(&u);
    cr_assert_eq(source_imap_parse_url("imap://[::1]:1143/", &u, NULL), EQ_OK);
    cr_assert_str_eq(u.host, "::1");
    cr_assert_eq(u.port, 1143);
    cr_assert_str_eq(u.folder, "INBOX");
    source_imap_url_clear(&u);
}

Test(source, imap_url_errors_are_config_errors)
{
    static const char *const bad[] = {
        "imap://",         "imap://:143/INBOX", "imap://h:0/INBOX",
        "imap://h:65536/", "imap://h:x/INBOX",  "imap://u@h/INBOX",
        "pop3://h/INBOX",  "imap://[::1/INBOX",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct source_imap_url u;
        struct eq_buf diag = {0};
        cr_assert_eq(source_imap_parse_url(bad[i], &u, &diag), EQ_ERR_CONFIG,
                     "%s", bad[i]);
        cr_assert(diag.len > 0, "%s", bad[i]);
        cr_assert_null(u.host);
        buf_free(&diag);
    }
}

Test(source, imap_uid_ranges_join_consecutive_uids)
{
    const uint32_t uids[] = {3, 4, 5, 9, 11, 12, 40};
    uint32_t a[8], b[8];
    size_t n = source_imap_ranges(uids, 7, a, b, 8);
    cr_assert_eq(n, 4);
    cr_assert_eq(a[0], 3);
    cr_assert_eq(b[0], 5);
    cr_assert_eq(a[1], 9);
    cr_assert_eq(b[1], 9);
    cr_assert_eq(a[2], 11);
    cr_assert_eq(b[2], 12);
    cr_assert_eq(a[3], 40);
    cr_assert_eq(b[3], 40);
    cr_assert_eq(source_imap_ranges(uids, 7, a, b, 2), 2);
    cr_assert_eq(source_imap_ranges(uids, 0, a, b, 8), 0);
}

/* A port nothing listens on: the open fails as temporary and names the
 * server and the step, without a network. */
Test(source, imap_refused_connection_is_temporary)
{
    char url[64];
    uint16_t port = 0;
    /* An ephemeral port that was free a moment ago. */
    {
        FILE *p =
            popen("/usr/bin/python3 -c 'import socket; s=socket.socket();"
                  " s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'",
                  "r");
        unsigned v = 0;
        if (p) {
            if (fscanf(p, "%u", &v) != 1)
                v = 0;
            pclose(p);
        }
        port = (uint16_t)(v ? v : 1);
    }
    snprintf(url, sizeof url, "imap://127.0.0.1:%u/INBOX", (unsigned)port);
    struct eq_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = tmpdir;
    cfg.imap.srv.url = url;
    cfg.imap.srv.tls = EQ_TLS_OFF;
    cfg.imap.srv.timeout = 5;
    struct source *s = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(source_open(&cfg, &s, &diag), EQ_ERR_TEMP);
    cr_assert_null(s);
    char want[64];
    snprintf(want, sizeof want, "imap 127.0.0.1:%u: connect failed",
             (unsigned)port);
    cr_assert_not_null(strstr(buf_str(&diag), want), "%s", buf_str(&diag));
    buf_free(&diag);
}

Test(source, imaps_with_tls_off_is_refused)
{
    struct eq_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = tmpdir;
    cfg.imap.srv.url = "imaps://127.0.0.1:1/INBOX";
    cfg.imap.srv.tls = EQ_TLS_OFF;
    struct source *s = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(source_open(&cfg, &s, &diag), EQ_ERR_CONFIG);
    cr_assert_null(s);
    cr_assert_not_null(strstr(buf_str(&diag), "tls = off"));
    buf_free(&diag);
}

/* ---- purge_before and wait ------------------------------------------- */

static void
age(const char *dir, const char *sub, const char *name, time_t mtime)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, p, ts, 0), 0, "%s", p);
}

Test(source, maildir_purge_removes_handled_mail_older_than_cutoff)
{
    struct source *s = NULL;
    size_t removed = 99;
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    /* 2026-01-01T00:00:00Z = 1767225600 */
    const time_t cutoff = 1767225600;
    put(tmpdir, "cur", "old.a:2,S", "A");
    age(tmpdir, "cur", "old.a:2,S", cutoff - 86400);
    put(tmpdir, "cur", "old.b:2,S", "B");
    age(tmpdir, "cur", "old.b:2,S", cutoff - 1);
    put(tmpdir, "cur", "edge:2,S", "C"); /* exactly at the cutoff: kept */
    age(tmpdir, "cur", "edge:2,S", cutoff);
    put(tmpdir, "cur", "young:2,S", "D");
    age(tmpdir, "cur", "young:2,S", cutoff + 3600);
    put(tmpdir, "new", "unhandled", "E"); /* not yet ingested: kept */
    age(tmpdir, "new", "unhandled", cutoff - 86400 * 400);
    put(tmpdir, "cur", ".dot", "F");
    age(tmpdir, "cur", ".dot", cutoff - 86400);

    cr_assert_eq(source_purge_before(s, cutoff, &removed), EQ_OK);
    cr_assert_eq(removed, 2);
    cr_assert(!exists(tmpdir, "cur", "old.a:2,S"));
    cr_assert(!exists(tmpdir, "cur", "old.b:2,S"));
    cr_assert(exists(tmpdir, "cur", "edge:2,S"));
    cr_assert(exists(tmpdir, "cur", "young:2,S"));
    cr_assert(exists(tmpdir, "new", "unhandled"));
    cr_assert(exists(tmpdir, "cur", ".dot"));
    /* Again: nothing left to remove. */
    cr_assert_eq(source_purge_before(s, cutoff, &removed), EQ_OK);
    cr_assert_eq(removed, 0);
    source_close(s);
}

Test(source, maildir_next_lists_new_again_after_running_dry)
{
    struct source *s = NULL;
    struct source_msg m = {0};
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    put(tmpdir, "new", "1.x", "A");
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_eq(source_done(s, &m, SOURCE_PROCESSED), EQ_OK);
    source_msg_clear(&m);
    cr_assert_eq(source_next(s, &m), EQ_ERR_NOTFOUND);
    /* A long-lived source (the daemon) sees what arrived since. */
    put(tmpdir, "new", "2.x", "B");
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_str_eq(m.key, "maildir:2.x");
    source_msg_clear(&m);
    cr_assert_eq(source_next(s, &m), EQ_ERR_NOTFOUND);
    source_close(s);
}

static long
elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

Test(source, maildir_wait_reports_delivery_into_new)
{
    struct source *s = NULL;
    struct timespec t0;
    int arrived = 7;
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(source_wait(s, -1, 150, &arrived), EQ_OK);
    cr_assert_eq(arrived, 0);
    cr_assert_geq(elapsed_ms(&t0), 140);
    /* Delivered the maildir way, tmp/ then rename into new/. */
    put(tmpdir, "tmp", "9.x", "Z");
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/tmp/9.x", tmpdir);
    snprintf(to, sizeof to, "%s/new/9.x", tmpdir);
    cr_assert_eq(rename(from, to), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(source_wait(s, -1, 5000, &arrived), EQ_OK);
    cr_assert_eq(arrived, 1);
    cr_assert_lt(elapsed_ms(&t0), 1000);
    source_close(s);
}

Test(source, maildir_wait_sees_mail_that_was_there_first)
{
    struct source *s = NULL;
    int arrived = 0;
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    put(tmpdir, "new", "early", "A");
    cr_assert_eq(source_wait(s, -1, 5000, &arrived), EQ_OK);
    cr_assert_eq(arrived, 1);
    source_close(s);
}

Test(source, maildir_wait_returns_when_wake_fd_is_readable)
{
    struct source *s = NULL;
    struct timespec t0;
    int fds[2], arrived = 7;
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(source_maildir_new(tmpdir, &s, NULL), EQ_OK);
    cr_assert_eq(write(fds[1], "x", 1), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(source_wait(s, fds[0], 5000, &arrived), EQ_OK);
    cr_assert_eq(arrived, 0);
    cr_assert_lt(elapsed_ms(&t0), 1000);
    source_close(s);
    close(fds[0]);
    close(fds[1]);
}

static enum eq_err
bare_next(struct source *s, struct source_msg *out)
{
    (void)s;
    (void)out;
    return EQ_ERR_NOTFOUND;
}

static enum eq_err
bare_done(struct source *s, const struct source_msg *m, enum source_folder f)
{
    (void)s;
    (void)m;
    (void)f;
    return EQ_OK;
}

Test(source, purge_and_wait_are_unavailable_without_the_ops)
{
    static const struct source_ops bare = {
        .name = "bare", .next = bare_next, .done = bare_done};
    struct source s = {.ops = &bare};
    size_t removed = 5;
    int arrived = 5;
    cr_assert_eq(source_purge_before(&s, 0, &removed), EQ_ERR_UNAVAILABLE);
    cr_assert_eq(removed, 0);
    cr_assert_eq(source_wait(&s, -1, 10, &arrived), EQ_ERR_UNAVAILABLE);
    cr_assert_eq(arrived, 0);
}

/* Against a real server only: tests/e2e/test_daemon.sh sets
 * EQ_TEST_IMAP_CONFIG to a config.ini whose [imap] is a Dovecot holding
 * 2 old + 1 new message in Processed, 1 old in Review and 1 old in INBOX
 * (INTERNALDATE 2020 for old, today for new). Skipped in unit runs. */
Test(source, imap_purge_removes_old_mail_from_filing_folders_only)
{
    const char *path = getenv("EQ_TEST_IMAP_CONFIG");
    struct eq_config *cfg = NULL;
    struct source *s = NULL;
    struct eq_buf diag = {0};
    size_t removed = 0;
    int arrived = 7;
    if (!path || !*path)
        cr_skip_test("needs EQ_TEST_IMAP_CONFIG (tests/e2e/test_daemon.sh)");
    cr_assert_eq(config_load(path, &cfg, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_eq(source_open(cfg, &s, &diag), EQ_OK, "%s", buf_str(&diag));
    /* 2025-01-01T00:00:00Z */
    cr_assert_eq(source_purge_before(s, 1735689600, &removed), EQ_OK);
    cr_assert_eq(removed, 3);
    cr_assert_eq(source_purge_before(s, 1735689600, &removed), EQ_OK);
    cr_assert_eq(removed, 0);
    /* INBOX is selected again: a wait works and nothing arrives. */
    cr_assert_eq(source_wait(s, -1, 300, &arrived), EQ_OK);
    cr_assert_eq(arrived, 0);
    /* And reading goes on from INBOX: its one old message. */
    struct source_msg m = {0};
    cr_assert_eq(source_next(s, &m), EQ_OK);
    cr_assert_not_null(strstr(m.data, "inbox-old"));
    source_msg_clear(&m);
    cr_assert_eq(source_next(s, &m), EQ_ERR_NOTFOUND);
    source_close(s);
    config_free(cfg);
    buf_free(&diag);
}

/* ---- a server that hangs up (issue #10) or crawls -------------------- */

/* A one-connection IMAP server in a child process: plain, imaps:// or
 * STARTTLS (gnutls with a throwaway self-signed certificate), one message
 * with UID 1. The fault says what goes wrong: a hang-up, a FETCH literal
 * of 100 bytes that comes a byte every 50 ms, or one of BIG_LEN bytes
 * that comes 64 KiB every 20 ms. */
enum fault {
    HANG_IN_LITERAL,
    HANG_AFTER_GREETING,
    TRICKLE_IN_LITERAL,
    BIG_LITERAL
};
#define BIG_LEN (8u << 20)
#define BIG_CHUNK (64u << 10)
enum wire { WIRE_PLAIN, WIRE_IMAPS, WIRE_STARTTLS };

struct peer {
    int fd;
    gnutls_session_t tls; /* NULL before TLS */
    gnutls_certificate_credentials_t cred;
    char in[1024];
    size_t have;
};

static void
peer_tls(struct peer *p)
{
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
    time_t now = time(NULL);
    unsigned char serial = 1;
    if (gnutls_x509_privkey_init(&key) < 0 ||
        gnutls_x509_privkey_generate(
            key, GNUTLS_PK_ECDSA,
            GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0) < 0 ||
        gnutls_x509_crt_init(&crt) < 0 ||
        gnutls_x509_crt_set_version(crt, 3) < 0 ||
        gnutls_x509_crt_set_serial(crt, &serial, 1) < 0 ||
        gnutls_x509_crt_set_activation_time(crt, now - 3600) < 0 ||
        gnutls_x509_crt_set_expiration_time(crt, now + 3600) < 0 ||
        gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                      "localhost", 9) < 0 ||
        gnutls_x509_crt_set_key(crt, key) < 0 ||
        gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0) < 0 ||
        gnutls_certificate_allocate_credentials(&p->cred) < 0 ||
        gnutls_certificate_set_x509_key(p->cred, &crt, 1, key) < 0 ||
        gnutls_init(&p->tls, GNUTLS_SERVER) < 0 ||
        gnutls_set_default_priority(p->tls) < 0 ||
        gnutls_credentials_set(p->tls, GNUTLS_CRD_CERTIFICATE, p->cred) < 0)
        _exit(2);
    gnutls_transport_set_int(p->tls, p->fd);
    int r;
    do
        r = gnutls_handshake(p->tls);
    while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0)
        _exit(3);
}

static void
peer_send(struct peer *p, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = p->tls ? gnutls_record_send(p->tls, data, n)
                           : send(p->fd, data, n, 0);
        if (w <= 0)
            _exit(4);
        data += w;
        n -= (size_t)w;
    }
}

static void
peer_say(struct peer *p, const char *text)
{
    peer_send(p, text, strlen(text));
}

/* The next command line without CRLF; the client hanging up ends the
 * child. */
static void
peer_line(struct peer *p, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(p->in, '\n', p->have);
        if (nl) {
            size_t n = (size_t)(nl - p->in);
            size_t k = n > 0 && p->in[n - 1] == '\r' ? n - 1 : n;
            if (k >= cap)
                k = cap - 1;
            memcpy(line, p->in, k);
            line[k] = '\0';
            p->have -= n + 1;
            memmove(p->in, nl + 1, p->have);
            return;
        }
        if (p->have == sizeof p->in)
            _exit(5);
        ssize_t r =
            p->tls ? gnutls_record_recv(p->tls, p->in + p->have,
                                        sizeof p->in - p->have)
                   : recv(p->fd, p->in + p->have, sizeof p->in - p->have, 0);
        if (r <= 0)
            _exit(0);
        p->have += (size_t)r;
    }
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* One byte every 50 ms; the client hanging up ends the child, as it
 * should. */
static void
peer_trickle(struct peer *p, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sleep_ms(50);
        ssize_t w = p->tls ? gnutls_record_send(p->tls, data + i, 1)
                           : send(p->fd, data + i, 1, 0);
        if (w <= 0)
            _exit(0);
    }
}

/* A message of BIG_LEN bytes at a steady pace, about 3 MB/s. */
static void
peer_big_literal(struct peer *p)
{
    static char chunk[BIG_CHUNK];
    static const char head[] = "Subject: big\r\n\r\n";
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (i + 1) % 64 == 0 ? '\n' : (char)('a' + i % 26);
    peer_say(p, "* 1 FETCH (UID 1 BODY[] {8388608}\r\n");
    for (size_t sent = 0; sent < BIG_LEN; sent += sizeof chunk) {
        if (sent == 0) {
            peer_send(p, head, sizeof head - 1);
            peer_send(p, chunk, sizeof chunk - (sizeof head - 1));
        } else {
            peer_send(p, chunk, sizeof chunk);
        }
        sleep_ms(20);
    }
}

/* No goodbye of any kind, TLS or TCP: the socket just closes. */
static void
peer_hang_up(struct peer *p)
{
    shutdown(p->fd, SHUT_RDWR);
    close(p->fd);
    _exit(0);
}

static void
serve_one(int lfd, enum wire wire, enum fault at)
{
    struct peer p = {.fd = accept(lfd, NULL, NULL)};
    char line[512], out[600];
    if (p.fd < 0)
        _exit(1);
    close(lfd);
    if (wire == WIRE_IMAPS)
        peer_tls(&p);
    peer_say(&p, "* OK fake ready\r\n");
    for (;;) {
        peer_line(&p, line, sizeof line);
        char *sp = strchr(line, ' ');
        if (!sp)
            _exit(6);
        *sp = '\0';
        const char *tag = line, *cmd = sp + 1;
        if (strncmp(cmd, "CAPABILITY", 10) == 0) {
            if (at == HANG_AFTER_GREETING)
                peer_hang_up(&p);
            snprintf(out, sizeof out,
                     "* CAPABILITY IMAP4rev1 UIDPLUS MOVE%s\r\n%s OK done\r\n",
                     wire == WIRE_STARTTLS && !p.tls ? " STARTTLS" : "", tag);
        } else if (strncmp(cmd, "STARTTLS", 8) == 0) {
            snprintf(out, sizeof out, "%s OK begin TLS\r\n", tag);
            peer_say(&p, out);
            peer_tls(&p);
            continue;
        } else if (strncmp(cmd, "SELECT", 6) == 0) {
            snprintf(out, sizeof out,
                     "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n"
                     "%s OK [READ-WRITE] done\r\n",
                     tag);
        } else if (strncmp(cmd, "UID SEARCH", 10) == 0) {
            snprintf(out, sizeof out, "* SEARCH 1\r\n%s OK done\r\n", tag);
        } else if (strncmp(cmd, "UID FETCH", 9) == 0 &&
                   at == TRICKLE_IN_LITERAL) {
            static const char body[] = "Subject: slow\r\n\r\n"
                                       "0123456789012345678901234567890123"
                                       "4567890123456789012345678901234567"
                                       "8901234567890\r\n";
            _Static_assert(sizeof body - 1 == 100, "the literal is 100");
            peer_say(&p, "* 1 FETCH (UID 1 BODY[] {100}\r\n");
            peer_trickle(&p, body, sizeof body - 1);
            snprintf(out, sizeof out, ")\r\n%s OK done\r\n", tag);
        } else if (strncmp(cmd, "UID FETCH", 9) == 0 && at == BIG_LITERAL) {
            peer_big_literal(&p);
            snprintf(out, sizeof out, ")\r\n%s OK done\r\n", tag);
        } else if (strncmp(cmd, "UID FETCH", 9) == 0) {
            /* Half of the 100-byte literal, then nothing. */
            peer_say(&p,
                     "* 1 FETCH (UID 1 BODY[] {100}\r\n"
                     "Subject: half\r\n\r\n0123456789012345678901234567890");
            peer_hang_up(&p);
        } else if (strncmp(cmd, "LOGOUT", 6) == 0) {
            snprintf(out, sizeof out, "* BYE\r\n%s OK bye\r\n", tag);
            peer_say(&p, out);
            _exit(0);
        } else { /* LOGIN and the rest */
            snprintf(out, sizeof out, "%s OK done\r\n", tag);
        }
        peer_say(&p, out);
    }
}

static pid_t
fake_imap(enum wire wire, enum fault at, uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(lfd, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(lfd, 1), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        signal(SIGPIPE, SIG_IGN);
        alarm(20); /* never outlive a stuck client */
        serve_one(lfd, wire, at);
        _exit(0);
    }
    close(lfd);
    return pid;
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* [imap] timeout is far longer than the test may take: only end of stream
 * can end these reads in time. */
static void
hangup_cfg(struct eq_config *cfg, enum wire wire, uint16_t port, char *url,
           size_t cap)
{
    snprintf(url, cap, "%s://127.0.0.1:%u/INBOX",
             wire == WIRE_IMAPS ? "imaps" : "imap", (unsigned)port);
    memset(cfg, 0, sizeof *cfg);
    cfg->dir = tmpdir;
    cfg->imap.srv.url = url;
    cfg->imap.srv.tls = wire == WIRE_PLAIN ? EQ_TLS_OFF : EQ_TLS_OPPORTUNISTIC;
    cfg->imap.srv.user = "enquete";
    cfg->imap.srv.password_env = "EQ_TEST_IMAP_PW";
    cfg->imap.srv.timeout = 30;
    setenv("EQ_TEST_IMAP_PW", "s3cret", 1);
}

/* The command deadline's clock at 200 times real time: the 300 s of the
 * default [imap] timeout pass in 1.5 s. */
static int64_t
fast_clock(void)
{
    return eqtime_mono_ms() * 200;
}

static void
use_fast_clock(struct source *s)
{
    ((struct imap_src *)s->priv)->dl.now_ms = fast_clock;
}

/* The first next() meets the fault inside the FETCH: it fails as temporary
 * within seconds and logs why; the source stays failed. */
static void
fetch_fails(enum wire wire, enum fault fault, const char *why)
{
    struct eq_config cfg;
    char url[64];
    uint16_t port;
    struct source *s = NULL;
    struct eq_buf diag = {0};
    struct source_msg m = {0};
    char *logged = NULL;
    size_t logged_len = 0;
    FILE *log = open_memstream(&logged, &logged_len);
    int status = -1;
    cr_assert_not_null(log);
    pid_t pid = fake_imap(wire, fault, &port);
    hangup_cfg(&cfg, wire, port, url, sizeof url);
    log_set_stream(log);
    cr_assert_eq(source_open(&cfg, &s, &diag), EQ_OK, "%s", buf_str(&diag));
    if (fault == TRICKLE_IN_LITERAL)
        use_fast_clock(s);
    double t0 = mono_s();
    cr_assert_eq(source_next(s, &m), EQ_ERR_TEMP);
    double took = mono_s() - t0;
    cr_assert_null(m.data);
    cr_assert_lt(took, 4.0, "next() took %.1f s", took);
    cr_assert_eq(source_next(s, &m), EQ_ERR_TEMP);
    source_close(s);
    log_set_stream(NULL);
    fclose(log);
    char want[160];
    snprintf(want, sizeof want, "imap 127.0.0.1:%u: UID FETCH failed: %s",
             (unsigned)port, why);
    cr_assert_not_null(strstr(logged, want), "%s", logged);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server %d",
              status);
    free(logged);
    buf_free(&diag);
}

static const char closed[] = "IMAP server closed the connection";

Test(source, imap_hangup_inside_fetch_literal_fails_at_once, .timeout = 15)
{
    fetch_fails(WIRE_PLAIN, HANG_IN_LITERAL, closed);
}

Test(source, imaps_hangup_inside_fetch_literal_fails_at_once, .timeout = 15)
{
    fetch_fails(WIRE_IMAPS, HANG_IN_LITERAL, closed);
}

Test(source, starttls_hangup_inside_fetch_literal_fails_at_once, .timeout = 15)
{
    fetch_fails(WIRE_STARTTLS, HANG_IN_LITERAL, closed);
}

/* A byte every 50 ms, well inside [imap] timeout (30 s): without a deadline
 * for the whole command the 100 bytes would take 5 s and the FETCH would
 * succeed; the deadline (300 s on the fast clock) ends it after 1.5 s. */
static const char late[] = "deadline passed: no complete reply within 300 s";

Test(source, imap_trickling_fetch_fails_when_its_deadline_passes, .timeout = 15)
{
    fetch_fails(WIRE_PLAIN, TRICKLE_IN_LITERAL, late);
}

Test(source, imaps_trickling_fetch_fails_when_its_deadline_passes,
     .timeout = 15)
{
    fetch_fails(WIRE_IMAPS, TRICKLE_IN_LITERAL, late);
}

/* A big FETCH that keeps coming at a working pace earns time by the byte:
 * it runs past the 300 s base (about 500 s on the fast clock) and
 * completes. */
Test(source, imap_big_fetch_at_a_steady_pace_outlasts_the_base_deadline,
     .timeout = 15)
{
    struct eq_config cfg;
    char url[64];
    uint16_t port;
    struct source *s = NULL;
    struct eq_buf diag = {0};
    struct source_msg m = {0};
    int status = -1;
    pid_t pid = fake_imap(WIRE_PLAIN, BIG_LITERAL, &port);
    hangup_cfg(&cfg, WIRE_PLAIN, port, url, sizeof url);
    cr_assert_eq(source_open(&cfg, &s, &diag), EQ_OK, "%s", buf_str(&diag));
    use_fast_clock(s);
    int64_t t0 = fast_clock();
    cr_assert_eq(source_next(s, &m), EQ_OK);
    int64_t took_ms = fast_clock() - t0;
    cr_assert_gt(took_ms, 300 * 1000, "took %lld ms", (long long)took_ms);
    cr_assert_eq(m.len, BIG_LEN);
    cr_assert_eq(strncmp(m.data, "Subject: big\r\n\r\n", 16), 0);
    cr_assert_eq(m.uid, 1);
    source_msg_clear(&m);
    cr_assert_eq(source_next(s, &m), EQ_ERR_NOTFOUND);
    source_close(s);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server %d",
              status);
    buf_free(&diag);
}

/* A server that greets and then hangs up: the open is a temporary failure
 * that says so, not a wait for [imap] timeout. */
Test(source, imap_hangup_after_greeting_fails_open_at_once, .timeout = 15)
{
    struct eq_config cfg;
    char url[64];
    uint16_t port;
    struct source *s = NULL;
    struct eq_buf diag = {0};
    int status = -1;
    pid_t pid = fake_imap(WIRE_PLAIN, HANG_AFTER_GREETING, &port);
    hangup_cfg(&cfg, WIRE_PLAIN, port, url, sizeof url);
    double t0 = mono_s();
    cr_assert_eq(source_open(&cfg, &s, &diag), EQ_ERR_TEMP);
    cr_assert_lt(mono_s() - t0, 5.0);
    cr_assert_null(s);
    cr_assert_not_null(strstr(buf_str(&diag), "CAPABILITY failed: IMAP "
                                              "server closed the connection"),
                       "%s", buf_str(&diag));
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    buf_free(&diag);
}
