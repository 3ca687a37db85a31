#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "helpers.h"

#define CFG_DIR FIXTURES "/config"
#define EXAMPLE FIXTURES "/../../config.ini.example"

#define REQUIRED                                                               \
    "[general]\n"                                                              \
    "from = HR <hr@example.org>\n"                                             \
    "reply_address = enquete@example.org\n"                                    \
    "[smtp]\n"                                                                 \
    "url = maildir:outbox\n"                                                   \
    "[imap]\n"                                                                 \
    "url = maildir:inbox\n"

/* Loads text as tmp/c.ini; expects EQ_ERR_CONFIG and returns the path. */
static const char *
load_bad(const char *text, struct eq_buf *diag)
{
    struct eq_config *cfg = NULL;
    const char *p = th_put("c.ini", text);

    cr_assert_eq(config_load(p, &cfg, diag), EQ_ERR_CONFIG, "%s",
                 buf_str(diag));
    cr_assert_null(cfg);
    return p;
}

static size_t
count_lines(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The four IMAP folders messages are filed into after reading. */
static void
assert_folders(const struct eq_config *cfg, const char *processed,
               const char *bounces, const char *autoreplies, const char *review)
{
    cr_assert_str_eq(cfg->imap.folder_processed, processed);
    cr_assert_str_eq(cfg->imap.folder_bounces, bounces);
    cr_assert_str_eq(cfg->imap.folder_auto, autoreplies);
    cr_assert_str_eq(cfg->imap.folder_review, review);
}

/* ---- config_load ---- */

Test(config, required_keys_alone_get_the_documented_defaults)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};
    char dir[PATH_MAX], want[PATH_MAX + 64];

    cr_assert_not_null(realpath(CFG_DIR, dir));
    cr_assert_eq(config_load(CFG_DIR "/good.ini", &cfg, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    cr_assert_str_eq(cfg->dir, dir);
    snprintf(want, sizeof want, "%s/data/enquete.db", dir);
    cr_assert_str_eq(cfg->general.database, want);
    snprintf(want, sizeof want, "%s/campaigns", dir);
    cr_assert_str_eq(cfg->general.campaigns, want);
    /* No templates/ beside this file: the installed ones. */
    cr_assert_str_eq(cfg->general.templates, ENQUETE_DATADIR "/templates");
    cr_assert_str_eq(cfg->general.timezone, "Europe/Amsterdam");
    cr_assert_str_eq(cfg->general.language, "nl");
    cr_assert_str_eq(cfg->general.from, "HR Enquête <hr@example.org>");
    cr_assert_eq(cfg->general.quiet_period, 30);
    cr_assert_eq(cfg->general.retention_days, 730);
    cr_assert_str_eq(cfg->smtp.srv.url, "smtp://mail.example.org:587");
    cr_assert_eq(cfg->smtp.srv.tls, EQ_TLS_REQUIRED);
    cr_assert_eq(cfg->smtp.srv.auth, EQ_AUTH_PLAIN);
    cr_assert_eq(cfg->smtp.srv.timeout, 60);
    cr_assert_null(cfg->smtp.srv.user);
    cr_assert_null(cfg->smtp.srv.password_file);
    cr_assert_null(cfg->smtp.srv.password_env);
    cr_assert_null(cfg->smtp.srv.ca_file);
    cr_assert_eq(cfg->smtp.connections, 1);
    cr_assert_eq(cfg->smtp.rate, 0);
    cr_assert_eq(cfg->imap.srv.timeout, 60);
    assert_folders(cfg, "Processed", "Bounces", "AutoReplies", "Review");
    cr_assert_eq(cfg->imap.batch, 200);
    cr_assert_eq(cfg->digest.n_hr, 0);
    cr_assert_eq(cfg->digest.weekday, 1);
    cr_assert_eq(cfg->digest.hour, 8);
    cr_assert_str_eq(cfg->digest.language_default, "nl");
    config_free(cfg);
    buf_free(&diag);
}

Test(config, every_key_is_read_and_relative_paths_resolve_beside_the_file)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};
    char dir[PATH_MAX], want[PATH_MAX + 64];

    cr_assert_not_null(realpath(CFG_DIR, dir));
    cr_assert_eq(config_load(CFG_DIR "/full.ini", &cfg, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    snprintf(want, sizeof want, "%s/state/survey.db", dir);
    cr_assert_str_eq(cfg->general.database, want);
    cr_assert_str_eq(cfg->general.timezone, "UTC");
    cr_assert_str_eq(cfg->general.language, "en");
    cr_assert_str_eq(cfg->general.reply_address, "survey@example.org");
    cr_assert_eq(cfg->general.quiet_period, 14);
    cr_assert_eq(cfg->general.retention_days, 365);
    cr_assert_str_eq(cfg->general.campaigns, "/srv/enquete/campaigns");
    snprintf(want, sizeof want, "%s/my-templates", dir);
    cr_assert_str_eq(cfg->general.templates, want);
    /* maildir: URLs stay verbatim; source/transport resolve them. */
    cr_assert_str_eq(cfg->smtp.srv.url, "maildir:outbox");
    cr_assert_eq(cfg->smtp.srv.tls, EQ_TLS_OPPORTUNISTIC);
    cr_assert_str_eq(cfg->smtp.srv.user, "mailer");
    snprintf(want, sizeof want, "%s/secrets/smtp.pass", dir);
    cr_assert_str_eq(cfg->smtp.srv.password_file, want);
    cr_assert_eq(cfg->smtp.srv.auth, EQ_AUTH_LOGIN);
    snprintf(want, sizeof want, "%s/certs/ca.pem", dir);
    cr_assert_str_eq(cfg->smtp.srv.ca_file, want);
    cr_assert_eq(cfg->smtp.connections, 4);
    cr_assert_eq(cfg->smtp.rate, 120);
    cr_assert_eq(cfg->smtp.srv.timeout, 30);
    cr_assert_str_eq(cfg->imap.srv.url, "imap://mail.example.org/INBOX");
    cr_assert_eq(cfg->imap.srv.tls, EQ_TLS_OFF);
    cr_assert_str_eq(cfg->imap.srv.password_env, "ENQUETE_TEST_IMAP_PW");
    cr_assert_eq(cfg->imap.srv.auth, EQ_AUTH_XOAUTH2);
    cr_assert_eq(cfg->imap.srv.timeout, 3600);
    assert_folders(cfg, "Done", "Bounced", "Auto", "Check");
    cr_assert_eq(cfg->imap.batch, 500);
    cr_assert_eq(cfg->digest.n_hr, 2);
    cr_assert_str_eq(cfg->digest.hr[0], "hr@example.org");
    cr_assert_str_eq(cfg->digest.hr[1], "director@example.org");
    cr_assert_eq(cfg->digest.weekday, 5, "Vrijdag is Friday");
    cr_assert_eq(cfg->digest.hour, 17);
    cr_assert_str_eq(cfg->digest.language_default, "nl");
    config_free(cfg);
    buf_free(&diag);
}

Test(config, templates_beside_the_config_file_are_preferred)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};
    char want[PATH_MAX], real[PATH_MAX];

    th_tmpdir("config");
    const char *p = th_put("config.ini", REQUIRED);
    snprintf(want, sizeof want, "%s/templates", th_dir());
    cr_assert_eq(mkdir(want, 0700), 0);
    cr_assert_not_null(realpath(want, real));
    cr_assert_eq(config_load(p, &cfg, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(cfg->general.templates, real);
    /* language_default follows [general] language when not set. */
    config_free(cfg);
    p = th_put("config.ini", REQUIRED "[general]\nlanguage = en\n");
    cr_assert_eq(config_load(p, &cfg, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(cfg->digest.language_default, "en");
    config_free(cfg);
    buf_free(&diag);
    th_rmtmp();
}

Test(config, unknown_key_names_file_line_and_closest_key)
{
    struct eq_buf diag = {0};

    th_tmpdir("config");
    const char *p = load_bad(REQUIRED          /* lines 1-7 */
                             "[smtp]\n"        /* 8 */
                             "timeuot = 5\n"   /* 9 */
                             "[digest]\n"      /* 10 */
                             "colour = blue\n" /* 11 */
                             "[mail]\n"        /* 12 */
                             "a = 1\n"         /* 13 */
                             "b = 2\n",        /* 14: same section, once */
                             &diag);
    th_assert_at(&diag, p, 9,
                 "unknown key 'timeuot' in [smtp] (did you mean "
                 "'timeout'?)\n");
    th_assert_at(&diag, p, 11, "unknown key 'colour' in [digest]\n");
    th_assert_at(&diag, p, 13, "unknown section [mail]");
    cr_assert_eq(count_lines(buf_str(&diag)), 3, "%s", buf_str(&diag));
    buf_free(&diag);
    th_rmtmp();
}

Test(config, bad_values_are_reported_on_their_own_lines)
{
    struct eq_buf diag = {0};

    th_tmpdir("config");
    const char *p = load_bad("[general]\n"                       /* 1 */
                             "from = HR hr@example.org\n"        /* 2 */
                             "reply_address = a+b@example.org\n" /* 3 */
                             "timezone = Mars/Olympus_Mons\n"    /* 4 */
                             "language = de\n"                   /* 5 */
                             "[smtp]\n"                          /* 6 */
                             "url = http://example.org\n"        /* 7 */
                             "connections = 17\n"                /* 8 */
                             "tls = maybe\n"                     /* 9 */
                             "[imap]\n"                          /* 10 */
                             "url = smtp://example.org\n"        /* 11 */
                             "batch = 0\n"                       /* 12 */
                             "[digest]\n"                        /* 13 */
                             "weekday = someday\n"               /* 14 */
                             "hour = 24\n"                       /* 15 */
                             "hr = hr@example.org, nobody\n",    /* 16 */
                             &diag);
    for (int line = 2; line <= 16; line++) {
        if (line == 6 || line == 10 || line == 13)
            continue;
        th_assert_at(&diag, p, line, "");
    }
    th_assert_at(&diag, p, 8,
                 "'connections' must be a whole number from 1 to 16, not "
                 "'17'");
    /* A required key with a bad value is not also "missing". */
    cr_assert_null(strstr(buf_str(&diag), "missing"), "%s", buf_str(&diag));
    buf_free(&diag);
    th_rmtmp();
}

Test(config, line_longer_than_inih_buffer_is_an_error_and_keeps_numbering)
{
    struct eq_buf text = {0}, diag = {0};

    th_tmpdir("config");
    buf_add(&text, REQUIRED);      /* lines 1-7 */
    buf_add(&text, "[general]\n"); /* 8 */
    buf_add(&text, "database = "); /* 9: 11 + 239 = 250 bytes */
    for (int i = 0; i < 239; i++)
        buf_addc(&text, 'x');
    buf_add(&text, "\n");
    /* Exactly 198 bytes fits: '#' and 197 more. */
    buf_addc(&text, '#'); /* 10 */
    for (int i = 0; i < 197; i++)
        buf_addc(&text, 'y');
    buf_add(&text, "\r\n");
    buf_add(&text, "bogus = 1\n"); /* 11 */
    const char *p = load_bad(buf_str(&text), &diag);
    th_assert_at(&diag, p, 9, "line too long (250 bytes, at most 198)\n");
    th_assert_at(&diag, p, 11, "unknown key 'bogus' in [general]\n");
    /* Nothing of the long line leaks out as a bogus key of its own. */
    cr_assert_eq(count_lines(buf_str(&diag)), 2, "%s", buf_str(&diag));
    buf_free(&text);
    buf_free(&diag);
    th_rmtmp();
}

Test(config, missing_required_keys_are_named_with_their_section)
{
    struct eq_buf diag = {0};
    char want[300];

    th_tmpdir("config");
    const char *p = load_bad("[general]\n"
                             "from = hr@example.org\n"
                             "[smtp]\n"
                             "url = smtps://mail.example.org:465\n",
                             &diag);
    snprintf(want, sizeof want,
             "%s: missing required key 'reply_address' in [general]\n"
             "%s: missing required key 'url' in [imap]\n",
             p, p);
    cr_assert_str_eq(buf_str(&diag), want);
    buf_free(&diag);
    th_rmtmp();
}

Test(config, syntax_duplicates_and_keys_outside_sections_are_all_reported)
{
    struct eq_buf diag = {0};

    th_tmpdir("config");
    const char *p = load_bad("stray = 1\n"                  /* 1 */
                             REQUIRED                       /* 2-8 */
                             "this line means nothing\n"    /* 9 */
                             "[digest\n"                    /* 10 */
                             "[smtp]\n"                     /* 11 */
                             "url = smtp://other.example\n" /* 12 */
                             "password_file = a\n"          /* 13 */
                             "password_env = B\n",          /* 14 */
                             &diag);
    th_assert_at(&diag, p, 1, "key 'stray' outside any section\n");
    th_assert_at(&diag, p, 9,
                 "expected 'key = value', '[section]' or a comment\n");
    th_assert_at(&diag, p, 10, "missing ']' after section name\n");
    th_assert_at(&diag, p, 12,
                 "duplicate key 'url' in [smtp] (first set on line 6)\n");
    th_assert_at(&diag, p, 14,
                 "password_file and password_env are mutually exclusive");
    cr_assert_eq(count_lines(buf_str(&diag)), 5, "%s", buf_str(&diag));
    buf_free(&diag);
    th_rmtmp();
}

Test(config, missing_file_is_noinput)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};

    cr_assert_eq(config_load(CFG_DIR "/nope.ini", &cfg, &diag), EQ_ERR_NOINPUT);
    cr_assert_str_eq(buf_str(&diag), CFG_DIR
                     "/nope.ini: cannot open: No such file or directory\n");
    cr_assert_null(cfg);
    buf_free(&diag);
}

Test(config, from_and_reply_address_forms)
{
    static const struct {
        const char *from;
        int ok;
    } cases[] = {
        {"HR Enquête <hr@example.org>", 1},
        {"\"HR, Enquête\" <hr@example.org>", 1},
        {"hr@example.org", 1},
        {"<hr@example.org>", 1},
        {"HR hr@example.org", 0},
        {"HR <hr@example.org> x", 0},
        {"HR <>", 0},
        {"HR <hr@>", 0},
        {"hr@exa mple.org", 0},
    };
    char text[512];

    th_tmpdir("config");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct eq_config *cfg = NULL;
        struct eq_buf diag = {0};
        snprintf(text, sizeof text,
                 "[general]\nfrom = %s\nreply_address = enquete@example.org\n"
                 "[smtp]\nurl = maildir:o\n[imap]\nurl = maildir:i\n",
                 cases[i].from);
        const char *p = th_put("c.ini", text);
        enum eq_err want = cases[i].ok ? EQ_OK : EQ_ERR_CONFIG;
        cr_assert_eq(config_load(p, &cfg, &diag), want, "from = %s: %s",
                     cases[i].from, buf_str(&diag));
        config_free(cfg);
        buf_free(&diag);
    }
    th_rmtmp();
}

Test(config, reply_parts_split_local_and_domain)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};
    char *local, *domain;

    cr_assert_eq(config_load(CFG_DIR "/good.ini", &cfg, &diag), EQ_OK);
    cr_assert_eq(config_reply_parts(cfg, &local, &domain), EQ_OK);
    cr_assert_str_eq(local, "enquete");
    cr_assert_str_eq(domain, "example.org");
    free(local);
    free(domain);
    config_free(cfg);
    buf_free(&diag);
}

Test(config, weekday_accepts_english_and_dutch_names)
{
    static const struct {
        const char *name;
        int day;
    } cases[] = {{"mon", 1}, {"Tuesday", 2}, {"WO", 3},     {"do", 4},
                 {"fri", 5}, {"za", 6},      {"sunday", 7}, {"zo", 7}};
    char text[512];

    th_tmpdir("config");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct eq_config *cfg = NULL;
        struct eq_buf diag = {0};
        snprintf(text, sizeof text, REQUIRED "[digest]\nweekday = %s\n",
                 cases[i].name);
        cr_assert_eq(config_load(th_put("c.ini", text), &cfg, &diag), EQ_OK,
                     "%s", buf_str(&diag));
        cr_assert_eq(cfg->digest.weekday, cases[i].day, "%s", cases[i].name);
        config_free(cfg);
        buf_free(&diag);
    }
    th_rmtmp();
}

Test(config, a_bom_on_the_first_line_is_ignored)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};

    th_tmpdir("config");
    const char *p = th_put("c.ini", "\xEF\xBB\xBF" REQUIRED);
    cr_assert_eq(config_load(p, &cfg, &diag), EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(cfg->general.reply_address, "enquete@example.org");
    config_free(cfg);
    buf_free(&diag);
    th_rmtmp();
}

/* ---- the example file ---- */

Test(config, example_file_parses)
{
    struct eq_config *cfg = NULL;
    struct eq_buf diag = {0};

    cr_assert_eq(config_load(EXAMPLE, &cfg, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    cr_assert_str_eq(cfg->smtp.srv.url, "maildir:outbox");
    cr_assert_str_eq(cfg->imap.srv.url, "maildir:inbox");
    cr_assert_str_eq(cfg->general.from, "HR Enquête <hr@example.org>");
    cr_assert_eq(cfg->digest.n_hr, 1);
    config_free(cfg);
    buf_free(&diag);
}

/* "#key = value" lines are the example's optional settings: switched on,
 * they must parse too. */
Test(config, example_file_parses_with_its_optional_settings_enabled)
{
    struct eq_config *cfg = NULL;
    struct eq_buf text = {0}, diag = {0};
    char *line = NULL;
    size_t cap = 0;
    int enabled = 0;
    FILE *f = fopen(EXAMPLE, "r");

    cr_assert_not_null(f);
    while (getline(&line, &cap, f) > 0) {
        const char *p = line;
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
            strstr(line, " = ")) {
            p = line + 1;
            enabled++;
        }
        buf_add(&text, p);
    }
    free(line);
    fclose(f);
    cr_assert_geq(enabled, 6);
    th_tmpdir("config");
    cr_assert_eq(config_load(th_put("c.ini", buf_str(&text)), &cfg, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(cfg->smtp.srv.user, "enquete");
    cr_assert_str_eq(cfg->smtp.srv.password_env, "ENQUETE_SMTP_PASSWORD");
    cr_assert_str_eq(cfg->imap.srv.ca_file,
                     "/etc/ssl/certs/ca-certificates.crt");
    config_free(cfg);
    buf_free(&text);
    buf_free(&diag);
    th_rmtmp();
}

/* ---- secrets ---- */

Test(config, password_file_readable_by_others_is_refused)
{
    struct config_server srv = {0};
    struct eq_buf diag = {0};
    char *pw = (char *)"untouched";

    th_tmpdir("config");
    srv.password_file = (char *)th_put("pw", "s3cret\n");
    cr_assert_eq(chmod(srv.password_file, 0644), 0);
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_ERR_PERM);
    cr_assert_null(pw);
    th_assert_has(&diag, srv.password_file);
    th_assert_has(&diag, "0644");
    buf_free(&diag);
    cr_assert_eq(chmod(srv.password_file, 0640), 0);
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_ERR_PERM);
    buf_free(&diag);
    th_rmtmp();
}

Test(config, password_file_of_mode_0600_is_read_without_one_newline)
{
    struct config_server srv = {0};
    struct eq_buf diag = {0};
    char *pw = NULL;

    th_tmpdir("config");
    srv.password_file = (char *)th_put("pw", "s3cret\r\n");
    cr_assert_eq(chmod(srv.password_file, 0600), 0);
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_OK, "%s",
                 buf_str(&diag));
    cr_assert_str_eq(pw, "s3cret");
    free(pw);
    /* Only one newline goes: the rest is part of the secret. */
    th_put("pw", "two lines\n\n");
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_OK);
    cr_assert_str_eq(pw, "two lines\n");
    free(pw);
    buf_free(&diag);
    th_rmtmp();
}

Test(config, password_env_is_read_and_its_absence_is_an_error)
{
    struct config_server srv = {0};
    struct eq_buf diag = {0};
    char *pw = NULL;

    srv.password_env = (char *)"ENQUETE_TEST_PW_XYZ";
    setenv("ENQUETE_TEST_PW_XYZ", "from-env", 1);
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_OK);
    cr_assert_str_eq(pw, "from-env");
    free(pw);
    unsetenv("ENQUETE_TEST_PW_XYZ");
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_ERR_CONFIG);
    cr_assert_null(pw);
    th_assert_has(&diag, "ENQUETE_TEST_PW_XYZ");
    buf_free(&diag);
    /* Neither key: no secret, no error. */
    srv.password_env = NULL;
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_OK);
    cr_assert_null(pw);
}

Test(config, missing_password_file_is_noinput)
{
    struct config_server srv = {0};
    struct eq_buf diag = {0};
    char *pw = NULL;

    srv.password_file = (char *)"/nonexistent/enquete/pw";
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_ERR_NOINPUT);
    th_assert_has(&diag, "/nonexistent/enquete/pw: cannot open");
    buf_free(&diag);
}

/* ---- the INI reader itself ---- */

struct seen {
    char text[1024];
};

static int
record(void *user, const char *section, const char *name, const char *value,
       int lineno, struct eq_buf *msg)
{
    struct seen *s = user;
    size_t n = strlen(s->text);

    if (strcmp(name, "fail") == 0) {
        buf_printf(msg, "rejected '%s'", value);
        return 1;
    }
    snprintf(s->text + n, sizeof s->text - n, "%d %s.%s=%s|", lineno, section,
             name, value);
    return 0;
}

Test(config_ini, handler_gets_true_line_numbers_and_no_continuations)
{
    struct seen s = {{0}};
    struct eq_buf diag = {0};
    char want[300];

    th_tmpdir("config");
    const char *p = th_put("x.ini", "; comment\n"         /* 1 */
                                    "[a]\n"               /* 2 */
                                    "k = v ; trailing\n"  /* 3 */
                                    "\n"                  /* 4 */
                                    "   indented = yes\n" /* 5 */
                                    "[b c]\n"             /* 6 */
                                    "# another\n"         /* 7 */
                                    "fail = me\n"         /* 8 */
                                    "k2: v2\n");          /* 9 */
    cr_assert_eq(config_ini_parse(p, record, &s, &diag), EQ_ERR_CONFIG);
    cr_assert_str_eq(s.text, "3 a.k=v|5 a.indented=yes|9 b c.k2=v2|");
    snprintf(want, sizeof want, "%s:8: rejected 'me'\n", p);
    cr_assert_str_eq(buf_str(&diag), want);
    buf_free(&diag);
    th_rmtmp();
}

Test(config_ini, resolve_joins_relative_paths_only)
{
    char *s;

    s = config_resolve("/etc/enquete", "data/x.db");
    cr_assert_str_eq(s, "/etc/enquete/data/x.db");
    free(s);
    s = config_resolve("/etc/enquete", "./data");
    cr_assert_str_eq(s, "/etc/enquete/data");
    free(s);
    s = config_resolve("/etc/enquete/", "/var/lib/x");
    cr_assert_str_eq(s, "/var/lib/x");
    free(s);
    s = config_resolve("/", "x");
    cr_assert_str_eq(s, "/x");
    free(s);
    cr_assert_null(config_resolve("/", NULL));
}
