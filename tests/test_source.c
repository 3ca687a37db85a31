#include <criterion/criterion.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "eq.h"
#include "source.h"

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
                                       &u, NULL), EQ_OK);
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
    cr_assert_eq(source_imap_parse_url("imaps://h/INBOX.HR%20Enqu%C3%AAte/",
                                       &u, NULL), EQ_OK);
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
        "imap://",           "imap://:143/INBOX", "imap://h:0/INBOX",
        "imap://h:65536/",   "imap://h:x/INBOX",  "imap://u@h/INBOX",
        "pop3://h/INBOX",    "imap://[::1/INBOX",
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
        FILE *p = popen("/usr/bin/python3 -c 'import socket; s=socket.socket();"
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
