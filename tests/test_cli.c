/* The enquete binary as a user runs it: exit codes, stdout/stderr and the
 * files it leaves behind. Each test works in its own temporary directory;
 * the binary is $ENQUETE_BIN (exported by scripts/run-tests), so the
 * sanitizer run checks the CLI under ASan/UBSan too. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLI_FIX FIXTURES "/cli"
#define TOKEN_CHARS "0123456789abcdefghjkmnpqrstvwxyz"

static char dir[64];
/* Output of the last run; static so a failed assertion leaks nothing. */
static char out_buf[1 << 18];
static char err_buf[1 << 16];

static void
setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/enquete-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

static const char *
enquete_bin(void)
{
    const char *b = getenv("ENQUETE_BIN");
    if (b == NULL || *b == '\0')
        cr_assert_fail("ENQUETE_BIN is not set: run this test through "
                       "scripts/run-tests (make check-unit), which exports the "
                       "absolute path of the enquete binary under test");
    cr_assert_eq(access(b, X_OK), 0, "ENQUETE_BIN=%s is not executable", b);
    return b;
}

static void
slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(buf, 1, cap - 1, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    cr_assert_not(more, "%s: output larger than %zu bytes", path, cap - 1);
    buf[n] = '\0';
}

/* Runs enquete with args (NULL-terminated) in dir, stdin from /dev/null,
 * with no ENQUETE_CONFIG/ENQUETE_NOW from the caller's environment and
 * umask 022, so file modes are enquete's own doing. Returns the exit code
 * and leaves stdout/stderr in out_buf/err_buf. */
static int
run_argv(const char *const *args)
{
    const char *argv[48];
    char outp[128], errp[128];
    size_t n = 0;
    int status;

    argv[n++] = enquete_bin();
    for (; args[n - 1] != NULL; n++) {
        cr_assert_lt(n, sizeof argv / sizeof argv[0] - 1);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    snprintf(outp, sizeof outp, "%s/.stdout", dir);
    snprintf(errp, sizeof errp, "%s/.stderr", dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork");
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(e, 2) < 0 || chdir(dir) != 0)
            _exit(126);
        unsetenv("ENQUETE_CONFIG");
        unsetenv("ENQUETE_NOW");
        umask(022);
        alarm(100); /* survives exec: a hanging command dies */
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    slurp(outp, out_buf, sizeof out_buf);
    slurp(errp, err_buf, sizeof err_buf);
    cr_assert(WIFEXITED(status), "enquete %s died of signal %d; stderr:\n%s",
              args[0] ? args[0] : "", WTERMSIG(status), err_buf);
    cr_assert_neq(WEXITSTATUS(status), 127, "could not exec %s", argv[0]);
    /* Under ASan the child reports leaks and UB on stderr at exit. */
    cr_assert_null(strstr(err_buf, "ERROR: LeakSanitizer"), "leak:\n%s",
                   err_buf);
    cr_assert_null(strstr(err_buf, "ERROR: AddressSanitizer"), "ASan:\n%s",
                   err_buf);
    cr_assert_null(strstr(err_buf, "runtime error"), "UBSan:\n%s", err_buf);
    return WEXITSTATUS(status);
}

#define RUN(...) run_argv((const char *const[]){__VA_ARGS__, NULL})

static void
path_in(char *out, size_t n, const char *name)
{
    int r = snprintf(out, n, "%s/%s", dir, name);
    cr_assert(r > 0 && (size_t)r < n, "path too long: %s", name);
}

static void
write_file(const char *name, const char *text)
{
    char path[256];
    path_in(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static void
make_dir(const char *name)
{
    char path[256];
    path_in(path, sizeof path, name);
    cr_assert_eq(mkdir(path, 0700), 0, "%s", path);
}

/* A working config: maildir transport and source inside dir, the repo's
 * templates. */
static void
write_config(void)
{
    write_file("config.ini", "[general]\n"
                             "database = data/enquete.db\n"
                             "from = HR Enquête <hr@org.example>\n"
                             "reply_address = enquete@org.example\n"
                             "templates = " FIXTURES "/../../templates\n"
                             "[smtp]\n"
                             "url = maildir:out\n"
                             "[imap]\n"
                             "url = maildir:in\n"
                             "[digest]\n"
                             "hr = hr@org.example\n");
}

/* Does some line of text start with prefix? */
static int
has_line(const char *text, const char *prefix)
{
    size_t l = strlen(prefix);
    for (const char *p = text; p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, prefix, l) == 0)
            return 1;
    }
    return 0;
}

/* The unfolded value of header name in an RFC 5322 message. */
static void
header(const char *msg, const char *name, char *out, size_t n)
{
    size_t l = strlen(name), k = 0;
    out[0] = '\0';
    for (const char *p = msg; p && *p; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (*p == '\r' || *p == '\n')
            return; /* end of the header */
        if (strncasecmp(p, name, l) != 0 || p[l] != ':')
            continue;
        p += l + 1;
        while (*p == ' ' || *p == '\t')
            p++;
        for (; *p; p++) {
            if (*p == '\r')
                continue;
            if (*p == '\n') {
                if (p[1] != ' ' && p[1] != '\t')
                    break;
                continue; /* unfold: CRLF goes, the WSP stays */
            }
            if (k + 1 < n)
                out[k++] = *p;
        }
        out[k] = '\0';
        return;
    }
}

/* Files in a directory, and the first one by name. */
static size_t
list_dir(const char *name, char *first, size_t n)
{
    char path[256];
    size_t count = 0;
    path_in(path, sizeof path, name);
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s", path);
    if (first)
        first[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        if (first && (first[0] == '\0' || strcmp(e->d_name, first) < 0))
            snprintf(first, n, "%s", e->d_name);
    }
    closedir(d);
    return count;
}

/* invitations.STATE (or a top-level key when state is NULL) of
 * `status --json`, which must be valid JSON; -1 when absent. */
static long long
status_count(const char *key, const char *state)
{
    cr_assert_eq(RUN("status", "--json"), 0, "%s", err_buf);
    cr_assert_eq(out_buf[0], '{', "%s", out_buf);
    cJSON *j = cJSON_Parse(out_buf);
    cr_assert_not_null(j, "status --json is not JSON: %s", out_buf);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (v && state)
        v = cJSON_GetObjectItemCaseSensitive(v, state);
    long long r = cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
    cJSON_Delete(j);
    return r;
}

static int
is_token(const char *s)
{
    if (strlen(s) != 26)
        return 0;
    for (; *s; s++)
        if (strchr(TOKEN_CHARS, *s) == NULL)
            return 0;
    return 1;
}

/* --- configuration errors ------------------------------------------- */

Test(cli, unknown_config_key_exits_78_with_file_and_line)
{
    write_file("config.ini", "; test configuration\n"
                             "[general]\n"
                             "database = data/enquete.db\n"
                             "from = HR <hr@org.example>\n"
                             "reply_address = enquete@org.example\n"
                             "[smtp]\n"
                             "url = maildir:out\n"
                             "[imap]\n"
                             "url = maildir:in\n"
                             "folder_procesed = Done\n");
    cr_assert_eq(RUN("status"), 78, "stderr: %s", err_buf);
    cr_assert(has_line(err_buf, "config.ini:10: unknown key"), "stderr: %s",
              err_buf);
}

Test(cli, long_comment_line_does_not_shift_line_numbers)
{
    char text[1024], pad[251];
    memset(pad, 'x', 250);
    pad[250] = '\0';
    snprintf(text, sizeof text,
             "[general]\n"
             "; %s\n"
             "database = data/enquete.db\n"
             "from = HR <hr@org.example>\n"
             "reply_address = enquete@org.example\n"
             "[smtp]\n"
             "url = maildir:out\n"
             "[imap]\n"
             "url = maildir:in\n"
             "batchsize = 10\n",
             pad);
    write_file("config.ini", text);
    cr_assert_eq(RUN("status"), 78, "stderr: %s", err_buf);
    /* The unknown key is on line 10 whatever the long line did before it,
     * and the long line is reported with its own number. */
    cr_assert(has_line(err_buf, "config.ini:10: unknown key"), "stderr: %s",
              err_buf);
    cr_assert(has_line(err_buf, "config.ini:2:"), "stderr: %s", err_buf);
    cr_assert_not(has_line(err_buf, "config.ini:3:"), "stderr: %s", err_buf);
    cr_assert_not(has_line(err_buf, "config.ini:11:"), "stderr: %s", err_buf);
}

Test(cli, long_line_is_reported_with_its_own_line_number)
{
    char text[1024], pad[241];
    memset(pad, 'y', 240);
    pad[240] = '\0';
    /* Line 4 holds a value of 240 bytes: a 200-byte reader would split it
     * and parse the tail as a bogus line 5. */
    snprintf(text, sizeof text,
             "[general]\n"
             "database = data/enquete.db\n"
             "reply_address = enquete@org.example\n"
             "from = HR %s <hr@org.example>\n"
             "[smtp]\n"
             "url = maildir:out\n"
             "[imap]\n"
             "url = maildir:in\n",
             pad);
    write_file("config.ini", text);
    cr_assert_eq(RUN("status"), 78, "stderr: %s", err_buf);
    cr_assert(has_line(err_buf, "config.ini:4:"), "stderr: %s", err_buf);
    cr_assert_not(has_line(err_buf, "config.ini:5:"), "stderr: %s", err_buf);
}

Test(cli, unknown_campaign_key_fails_campaign_check_with_78)
{
    write_config();
    write_file("bad.ini", "[campaign]\n"
                          "name = kwartaal\n"
                          "metrics = nps\n"
                          "providers = it\n"
                          "cadence = quarterly\n"
                          "start = 2026-01-01\n"
                          "reminder_afer = 3\n"
                          "close_after = 10\n");
    cr_assert_eq(RUN("campaign", "check", "bad.ini"), 78, "stderr: %s",
                 err_buf);
    cr_assert(has_line(err_buf, "bad.ini:7:"), "stderr: %s", err_buf);
    cr_assert_not(has_line(err_buf, "bad.ini:8:"), "stderr: %s", err_buf);
}

/* --- organisation CSV ------------------------------------------------ */

Test(cli, org_import_with_one_bad_line_exits_65_and_changes_nothing)
{
    write_config();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    cr_assert_eq(status_count("employees_active", NULL), 40);

    /* Line 4 has an address without a domain; lines 2, 3 and 5 are fine
     * but would rename Anna, add a person and move Bram. */
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org_bad.csv"), 65,
                 "stdout: %s\nstderr: %s", out_buf, err_buf);
    cr_assert(has_line(err_buf, CLI_FIX "/org_bad.csv:4: "), "stderr: %s",
              err_buf);
    cr_assert_not_null(strstr(err_buf, "email"), "no reason: %s", err_buf);
    cr_assert_not(has_line(err_buf, CLI_FIX "/org_bad.csv:2:"), "%s", err_buf);
    cr_assert_not(has_line(err_buf, CLI_FIX "/org_bad.csv:3:"), "%s", err_buf);
    cr_assert_not(has_line(err_buf, CLI_FIX "/org_bad.csv:5:"), "%s", err_buf);

    cr_assert_eq(status_count("employees_active", NULL), 40);
    cr_assert_eq(RUN("org", "show", "anna.jansen@org.example"), 0, "%s",
                 err_buf);
    cr_assert_not_null(strstr(out_buf, "Anna Jansen"), "%s", out_buf);
    cr_assert_null(strstr(out_buf, "Gewijzigd"), "%s", out_buf);
    cr_assert_eq(RUN("org", "show", "bram.devries@org.example"), 0);
    cr_assert_not_null(strstr(out_buf, "ICT"), "%s", out_buf);
    cr_assert_null(strstr(out_buf, "Financi"), "%s", out_buf);
    cr_assert_eq(RUN("org", "show", "nieuw.persoon@org.example"), 65,
                 "the bad import added a person: %s", out_buf);
}

Test(cli, dutch_excel_export_imports_with_diacritics_and_reimports_as_noop)
{
    /* Guard against a checkout that normalised the fixture's bytes. */
    char raw[2048];
    FILE *f = fopen(CLI_FIX "/excel_nl.csv", "rb");
    cr_assert_not_null(f);
    size_t n = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    raw[n] = '\0';
    cr_assert_eq(memcmp(raw, "\xef\xbb\xbf", 3), 0, "fixture lost its BOM");
    cr_assert_not_null(strstr(raw, ";\r\n"), "fixture lost its CRLF");

    write_config();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/excel_nl.csv"), 0,
                 "stdout: %s\nstderr: %s", out_buf, err_buf);
    cr_assert_not_null(strstr(out_buf, "4 rows"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "departments: 2 added"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "employees: 4 added"), "%s", out_buf);

    cr_assert_eq(RUN("org", "show", "genevieve.muller@org.example"), 0, "%s",
                 err_buf);
    cr_assert_not_null(strstr(out_buf, "Geneviève Müller"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "Inkoop; Contractbeheer"), "%s",
                       out_buf);
    cr_assert_eq(RUN("org", "show", "jurgen.ozturk@org.example"), 0, "%s",
                 err_buf);
    cr_assert_not_null(strstr(out_buf, "Jürgen \"Jay\" Öztürk"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "Financiën"), "%s", out_buf);
    cr_assert_eq(RUN("org", "show", "zoe.aero@org.example"), 0, "%s", err_buf);
    cr_assert_not_null(strstr(out_buf, "Zoë Ærø"), "%s", out_buf);
    /* The last record's quoted comment spans two lines: the name before it
     * is still read whole. */
    cr_assert_eq(RUN("org", "show", "jose.nunez@org.example"), 0, "%s",
                 err_buf);
    cr_assert_not_null(strstr(out_buf, "José Núñez"), "%s", out_buf);

    cr_assert_eq(RUN("org", "import", CLI_FIX "/excel_nl.csv"), 0, "%s",
                 err_buf);
    cr_assert_not_null(strstr(out_buf, "departments: 0 added, 0 changed"), "%s",
                       out_buf);
    cr_assert_not_null(strstr(out_buf, "employees: 0 added, 0 changed"), "%s",
                       out_buf);
}

/* --- usage, help, unavailable commands ------------------------------- */

Test(cli, every_command_has_help_without_a_config)
{
    static const char *const cmds[] = {
        "init",      "org",    "campaign", "plan",   "send",   "ingest",
        "digest",    "run",    "daemon",   "report", "review", "preview",
        "test-send", "status", "privacy",  "inspect"};
    char want[64];

    cr_assert_eq(RUN("--config", "/nonexistent/enquete.ini", "--help"), 0);
    cr_assert(has_line(out_buf, "usage: enquete"), "%s", out_buf);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        snprintf(want, sizeof want, "  %s", cmds[i]);
        cr_assert(has_line(out_buf, want), "--help lists no %s:\n%s", cmds[i],
                  out_buf);
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        cr_assert_eq(
            RUN("--config", "/nonexistent/enquete.ini", cmds[i], "--help"), 0,
            "%s --help: %s", cmds[i], err_buf);
        snprintf(want, sizeof want, "usage: enquete ");
        cr_assert(has_line(out_buf, want), "%s --help:\n%s", cmds[i], out_buf);
        snprintf(want, sizeof want, "] %s", cmds[i]);
        cr_assert_not_null(strstr(out_buf, want), "%s --help:\n%s", cmds[i],
                           out_buf);
    }
    cr_assert_eq(RUN("org", "import", "--help"), 0);
    cr_assert(has_line(out_buf, "usage: enquete "), "%s", out_buf);
}

Test(cli, unknown_command_exits_64)
{
    cr_assert_eq(RUN("frobnicate"), 64, "stdout: %s", out_buf);
    cr_assert_not_null(strstr(err_buf, "frobnicate"), "%s", err_buf);
    cr_assert_eq(RUN("--bogus-option", "status"), 64);
}

Test(cli, missing_config_file_is_named_in_the_error)
{
    int rc = RUN("--config", "missing.ini", "status");
    cr_assert(rc == 66 || rc == 78, "exit %d", rc);
    cr_assert_not_null(strstr(err_buf, "missing.ini"), "%s", err_buf);

    /* The default ./config.ini, absent. */
    rc = RUN("status");
    cr_assert(rc == 66 || rc == 78, "exit %d", rc);
    cr_assert_not_null(strstr(err_buf, "config.ini"), "%s", err_buf);
    struct stat sb;
    char path[256];
    path_in(path, sizeof path, "data");
    cr_assert_neq(stat(path, &sb), 0, "a database appeared without config");
}

Test(cli, missing_input_files_exit_66_and_bad_now_exits_64)
{
    write_config();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", "nothere.csv"), 66);
    cr_assert_not_null(strstr(err_buf, "nothere.csv"), "%s", err_buf);
    cr_assert_eq(RUN("inspect", "--json", "nothere.eml"), 66);
    cr_assert_not_null(strstr(err_buf, "nothere.eml"), "%s", err_buf);
    cr_assert_eq(out_buf[0], '\0', "inspect printed: %s", out_buf);
    cr_assert_eq(RUN("--now", "yesterday", "status"), 64);
    cr_assert_not_null(strstr(err_buf, "yesterday"), "%s", err_buf);
}

Test(cli, plan_is_unavailable_or_changes_nothing)
{
    cr_assert_eq(RUN("--config", "/nonexistent/enquete.ini", "plan", "--help"),
                 0);
    int unavailable = strstr(out_buf, "Not available") != NULL;
    write_config();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    if (unavailable) {
        cr_assert_eq(RUN("plan"), 69);
        cr_assert_not_null(strstr(err_buf, "not available"), "%s", err_buf);
        return;
    }
    make_dir("campaigns");
    write_file("campaigns/loop.ini",
               "[campaign]\nname = loop\nmetrics = nps\nproviders = it\n"
               "customers = *\ncadence = monthly\nstart = 2026-03-01\n"
               "send_days = tue,wed,thu\n");
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    cr_assert_eq(RUN("status", "--json"), 0);
    char *before = strdup(out_buf);
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "plan"), 0, "%s", err_buf);
    cr_assert_neq(out_buf[0], '\0', "plan printed nothing");
    cr_assert_eq(RUN("status", "--json"), 0);
    int same = strcmp(before, out_buf) == 0;
    free(before);
    cr_assert(same, "plan changed the database: %s", out_buf);
}

/* --- inspect --------------------------------------------------------- */

static const char *
jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

Test(cli, inspect_json_reads_reply_and_bounce_without_a_database)
{
    static const char *const keys[] = {
        "file",           "kind",    "token",        "scores",
        "not_applicable", "comment", "needs_review", "bounce"};
    char line1[4096], line2[4096];

    /* No config.ini in dir: inspect needs none. */
    cr_assert_eq(RUN("inspect", "--json", CLI_FIX "/reply_nl.eml",
                     CLI_FIX "/bounce_dsn.eml"),
                 0, "%s", err_buf);
    char *nl = strchr(out_buf, '\n');
    cr_assert_not_null(nl, "%s", out_buf);
    cr_assert_lt((size_t)(nl - out_buf), sizeof line1);
    memcpy(line1, out_buf, (size_t)(nl - out_buf));
    line1[nl - out_buf] = '\0';
    char *nl2 = strchr(nl + 1, '\n');
    cr_assert_not_null(nl2, "%s", out_buf);
    cr_assert_eq(nl2[1], '\0', "more than two lines: %s", out_buf);
    snprintf(line2, sizeof line2, "%.*s", (int)(nl2 - nl - 1), nl + 1);

    cJSON *r = cJSON_Parse(line1), *b = cJSON_Parse(line2);
    cr_assert_not_null(r, "not JSON: %s", line1);
    cr_assert_not_null(b, "not JSON: %s", line2);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        cr_assert(cJSON_HasObjectItem(r, keys[i]), "no %s: %s", keys[i], line1);
        cr_assert(cJSON_HasObjectItem(b, keys[i]), "no %s: %s", keys[i], line2);
    }

    cr_assert_str_eq(jstr(r, "file"), CLI_FIX "/reply_nl.eml");
    cr_assert_str_eq(jstr(r, "kind"), "reply");
    cr_assert_str_eq(jstr(r, "token"), "7h3kq9vx2m5ntc8rw4pzy6bgfa");
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(r, "scores");
    cr_assert(cJSON_IsObject(sc));
    cr_assert_eq(cJSON_GetArraySize(sc), 1, "%s", line1);
    const cJSON *nps = cJSON_GetObjectItemCaseSensitive(sc, "nps");
    cr_assert(cJSON_IsNumber(nps), "%s", line1);
    cr_assert_eq(nps->valueint, 8);
    cr_assert_str_eq(jstr(r, "comment"), "prima geholpen");
    cr_assert(
        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "not_applicable")));
    cr_assert(
        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "needs_review")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "bounce")));

    cr_assert_str_eq(jstr(b, "kind"), "bounce");
    cr_assert_str_eq(jstr(b, "token"), "b3x9m2k7q4w8z6y5v1n0trsgha");
    const cJSON *bo = cJSON_GetObjectItemCaseSensitive(b, "bounce");
    cr_assert(cJSON_IsObject(bo), "%s", line2);
    cr_assert_str_eq(jstr(bo, "status"), "5.1.1");
    cr_assert_str_eq(jstr(bo, "recipient"), "oud.collega@org.example");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bo, "permanent")));
    cJSON_Delete(r);
    cJSON_Delete(b);
}

/* --- init and status -------------------------------------------------- */

Test(cli, init_creates_private_database_and_status_shows_nothing_yet)
{
    struct stat sb;
    char path[256];

    write_config();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    path_in(path, sizeof path, "data");
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_eq(sb.st_mode & 0777, 0700, "data/ has mode %o",
                 sb.st_mode & 0777);
    path_in(path, sizeof path, "data/enquete.db");
    cr_assert_eq(stat(path, &sb), 0, "%s", path);
    cr_assert_eq(sb.st_mode & 0777, 0600, "database has mode %o",
                 sb.st_mode & 0777);
    /* init again migrates nothing and keeps the modes. */
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);

    cr_assert_eq(RUN("status"), 0, "%s", err_buf);
    cr_assert(has_line(out_buf, "invitations:"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "sent 0"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "answered 0"), "%s", out_buf);

    cr_assert_eq(RUN("status", "--json"), 0, "%s", err_buf);
    cr_assert_eq(out_buf[0], '{', "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "\"invitations\""), "%s", out_buf);
    cJSON *j = cJSON_Parse(out_buf);
    cr_assert_not_null(j, "not JSON: %s", out_buf);
    const cJSON *inv = cJSON_GetObjectItemCaseSensitive(j, "invitations");
    int states = 0, nonzero = 0;
    for (const cJSON *e = inv ? inv->child : NULL; e; e = e->next) {
        states++;
        nonzero += !cJSON_IsNumber(e) || e->valuedouble != 0;
    }
    cJSON_Delete(j);
    cr_assert_geq(states, 6, "%s", out_buf);
    cr_assert_eq(nonzero, 0, "%s", out_buf);
}

/* --- preview ---------------------------------------------------------- */

Test(cli, preview_prints_a_multipart_invitation_with_subject_token)
{
    char subject[512], ctype[256], msgid[128], boundary[128], want[160];

    write_config();
    make_dir("campaigns");
    char src[2048 * 4];
    FILE *f = fopen(FIXTURES "/../../campaigns/example.ini", "rb");
    cr_assert_not_null(f, "campaigns/example.ini of the repository");
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = '\0';
    write_file("campaigns/example.ini", src);

    cr_assert_eq(RUN("preview", "--campaign", "example"), 0, "%s", err_buf);
    header(out_buf, "Subject", subject, sizeof subject);
    size_t sl = strlen(subject);
    cr_assert_gt(sl, 29, "Subject: %s", subject);
    cr_assert_eq(subject[sl - 1], ']', "Subject: %s", subject);
    cr_assert_eq(strncmp(subject + sl - 29, "[#", 2), 0, "Subject: %s",
                 subject);
    char token[27];
    memcpy(token, subject + sl - 27, 26);
    token[26] = '\0';
    cr_assert(is_token(token), "Subject: %s", subject);

    header(out_buf, "Message-ID", msgid, sizeof msgid);
    snprintf(want, sizeof want, "<inv.%s@org.example>", token);
    cr_assert_str_eq(msgid, want);

    header(out_buf, "Content-Type", ctype, sizeof ctype);
    cr_assert_not_null(strstr(ctype, "multipart/alternative"), "%s", ctype);
    const char *bp = strstr(ctype, "boundary=");
    cr_assert_not_null(bp, "%s", ctype);
    bp += 9;
    if (*bp == '"')
        bp++;
    snprintf(boundary, sizeof boundary, "%.*s", (int)strcspn(bp, "\";"), bp);
    cr_assert_gt(strlen(boundary), 0);
    snprintf(want, sizeof want, "\n--%s", boundary);
    const char *part = strstr(out_buf, want);
    cr_assert_not_null(part, "no part: %s", out_buf);
    cr_assert_not_null(strstr(part, "text/plain"), "%s", out_buf);
    cr_assert_not_null(strstr(part, "text/html"), "%s", out_buf);
    snprintf(want, sizeof want, "\n--%s--", boundary);
    cr_assert_not_null(strstr(out_buf, want), "no closing boundary");
}

/* --- the whole loop on Maildir ----------------------------------------- */

static void
write_loop_setup(void)
{
    write_config();
    make_dir("campaigns");
    write_file("campaigns/loop.ini", "[campaign]\n"
                                     "name = loop\n"
                                     "title_nl = Interne klanttevredenheid\n"
                                     "metrics = nps\n"
                                     "providers = it\n"
                                     "customers = *\n"
                                     "cadence = monthly\n"
                                     "start = 2026-03-01\n"
                                     "send_days = tue,wed,thu\n");
}

Test(cli, run_invites_then_ingests_a_reply_from_maildir)
{
    char name[256], path[512], to[256], reply_to[256], msgid[256];
    char reply[2048];

    write_loop_setup();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    cr_assert_not_null(strstr(out_buf, "departments: 4 added"), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "employees: 40 added"), "%s", out_buf);

    /* Tuesday 3 March 2026, 12:00 local. */
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "run"), 0,
                 "stdout: %s\nstderr: %s", out_buf, err_buf);
    size_t sent = list_dir("out/new", name, sizeof name);
    cr_assert_gt(sent, 0, "no invitation in out/new: %s", out_buf);
    cr_assert_eq(status_count("invitations", "sent"), (long long)sent);
    cr_assert_eq(status_count("invitations", "answered"), 0);

    /* The invitee replies "9" from their mail client. */
    snprintf(path, sizeof path, "out/new/%s", name);
    char full[640];
    path_in(full, sizeof full, path);
    static char inv[1 << 16];
    slurp(full, inv, sizeof inv);
    header(inv, "To", to, sizeof to);
    header(inv, "Reply-To", reply_to, sizeof reply_to);
    header(inv, "Message-ID", msgid, sizeof msgid);
    cr_assert_neq(to[0], '\0');
    cr_assert_not_null(strstr(reply_to, "enquete+"), "%s", reply_to);
    cr_assert_eq(strncmp(msgid, "<inv.", 5), 0, "%s", msgid);
    snprintf(reply, sizeof reply,
             "From: %s\r\n"
             "To: %s\r\n"
             "Subject: Re: enquete\r\n"
             "Date: Wed, 4 Mar 2026 09:30:00 +0100\r\n"
             "Message-ID: <antwoord.1@client.org.example>\r\n"
             "In-Reply-To: %s\r\n"
             "References: %s\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "\r\n"
             "9\r\n",
             to, reply_to, msgid, msgid);
    const char *base = "1772613000.M1P1.client";
    snprintf(path, sizeof path, "in/new/%s", base);
    write_file(path, reply);

    cr_assert_eq(RUN("--now", "2026-03-04T12:00", "run"), 0,
                 "stdout: %s\nstderr: %s", out_buf, err_buf);
    cr_assert_not_null(strstr(out_buf, "recorded 1"), "%s", out_buf);
    cr_assert_eq(status_count("invitations", "answered"), 1);
    cr_assert_eq(RUN("status"), 0);
    cr_assert_not_null(strstr(out_buf, "answered 1"), "%s", out_buf);

    cr_assert_eq(list_dir("in/new", NULL, 0), 0, "reply still in new/");
    cr_assert_eq(list_dir("in/cur", name, sizeof name), 1);
    cr_assert_eq(strncmp(name, base, strlen(base)), 0, "in/cur/%s", name);

    /* The same mail delivered twice is recognised and counted once. */
    write_file("in/new/1772616600.M2P2.client", reply);
    cr_assert_eq(RUN("--now", "2026-03-04T13:00", "run"), 0,
                 "stdout: %s\nstderr: %s", out_buf, err_buf);
    cr_assert_not_null(strstr(out_buf, "duplicates 1"), "%s", out_buf);
    cr_assert_eq(status_count("invitations", "answered"), 1);
    cr_assert_eq(list_dir("in/new", NULL, 0), 0);
}

/* --now without an offset is local time of [general] timezone everywhere,
 * also in the run log: a run cannot finish before it started. */
Test(cli, run_log_reads_now_in_the_configured_zone)
{
    write_config();
    make_dir("campaigns");
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "run"), 0, "%s", err_buf);
    cr_assert_eq(RUN("status", "--json"), 0, "%s", err_buf);
    cJSON *j = cJSON_Parse(out_buf);
    cr_assert_not_null(j, "not JSON: %s", out_buf);
    const cJSON *lr = cJSON_GetObjectItemCaseSensitive(j, "last_run");
    char started[32] = "", finished[32] = "";
    if (jstr(lr, "started"))
        snprintf(started, sizeof started, "%s", jstr(lr, "started"));
    if (jstr(lr, "finished"))
        snprintf(finished, sizeof finished, "%s", jstr(lr, "finished"));
    cJSON_Delete(j);
    /* 12:00 in Europe/Amsterdam (CET, +01:00) is 11:00 UTC. */
    cr_assert_str_eq(finished, "2026-03-03T11:00:00Z", "%s", out_buf);
    cr_assert_str_eq(started, "2026-03-03T11:00:00Z",
                     "run log: started %s, finished %s", started, finished);
}

Test(cli, campaign_check_names_department_codes_the_organisation_lacks)
{
    write_loop_setup();
    write_file("campaigns/typo.ini", "[campaign]\n"
                                     "name = typo\n"
                                     "metrics = nps\n"
                                     "providers = it, facilitair\n"
                                     "customers = *\n"
                                     "start = 2026-03-01\n");
    /* Before any import there is nothing to check against. */
    cr_assert_eq(RUN("campaign", "check"), 0, "%s", err_buf);
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    cr_assert_eq(RUN("campaign", "check"), 78, "%s", err_buf);
    cr_assert_not_null(strstr(err_buf, "typo.ini:4: unknown department code "
                                       "'facilitair'"),
                       "%s", err_buf);
}

Test(cli, a_second_run_while_one_is_busy_leaves_with_75)
{
    char lock[256];

    write_loop_setup();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    path_in(lock, sizeof lock, "data/enquete.db.lock");
    int fd = open(lock, O_RDWR | O_CREAT, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX), 0); /* "another run" holds it */
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "run"), 75, "%s", err_buf);
    cr_assert_not_null(strstr(err_buf, "another enquete is working"), "%s",
                       err_buf);
    cr_assert_eq(status_count("invitations", "sent"), 0);
    close(fd);
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "run"), 0, "%s", err_buf);
}

Test(cli, campaign_check_finds_template_mistakes_with_file_and_line)
{
    write_loop_setup();
    write_file("config.ini", "[general]\n"
                             "database = data/enquete.db\n"
                             "from = HR <hr@org.example>\n"
                             "reply_address = enquete@org.example\n"
                             "templates = " FIXTURES "/compose/broken\n"
                             "[smtp]\nurl = maildir:out\n"
                             "[imap]\nurl = maildir:in\n");
    cr_assert_eq(RUN("campaign", "check"), 78, "%s", err_buf);
    cr_assert_not_null(strstr(err_buf, "/compose/broken/"), "%s", err_buf);
    /* Every complaint names its file and line. */
    cr_assert(strstr(err_buf, ".txt:") || strstr(err_buf, ".html:"), "%s",
              err_buf);
}

/* 100 people in 5 departments who all rate each other: the quarter cannot
 * give every provider its 86 invitations with a 30-day quiet period. */
static void
write_small_org(void)
{
    static const char *codes[] = {"it", "hr", "fac", "fin", "kwa"};
    char line[128], path[256];

    path_in(path, sizeof path, "small.csv");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("email,name,department,department_code\n", f);
    for (int d = 0; d < 5; d++)
        for (int i = 0; i < 20; i++) {
            snprintf(line, sizeof line, "p%d.%s@org.example,P %d,%s,%s\n", i,
                     codes[d], i, codes[d], codes[d]);
            fputs(line, f);
        }
    cr_assert_eq(fclose(f), 0);
}

Test(cli, plan_on_a_small_organisation_shows_the_fair_cap_and_a_warning)
{
    write_config();
    make_dir("campaigns");
    write_file("campaigns/q.ini", "[campaign]\n"
                                  "name = q\n"
                                  "metrics = nps\n"
                                  "providers = *\n"
                                  "customers = *\n"
                                  "cadence = quarterly\n"
                                  "start = 2026-01-01\n");
    write_small_org();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    char csv[256];
    path_in(csv, sizeof csv, "small.csv");
    cr_assert_eq(RUN("org", "import", csv), 0, "%s", err_buf);
    cr_assert_eq(
        RUN("plan", "--from", "2026-01-01", "--to", "2026-01-31", "--json"), 0,
        "%s", err_buf);
    /* Summary objects: every provider capped at the same fair share. */
    long long feasible = -1;
    int summaries = 0;
    for (char *p = out_buf; (p = strstr(p, "\"need\":86")) != NULL; p++) {
        char *f = strstr(p, "\"feasible\":");
        cr_assert_not_null(f);
        long long v = strtoll(f + 11, NULL, 10);
        cr_assert_lt(v, 86, "%s", out_buf);
        if (feasible >= 0)
            cr_assert_leq(llabs(v - feasible), 1, "fair shares: %s", out_buf);
        feasible = v;
        cr_assert_not_null(strstr(p, "\"capped\":true"));
        summaries++;
    }
    cr_assert_eq(summaries, 5, "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "\"kind\":\"invite\""), "%s", out_buf);
    cr_assert_eq(RUN("plan", "--from", "2026-01-01", "--to", "2026-01-31"), 0);
    cr_assert_not_null(strstr(out_buf, "warning: "), "%s", out_buf);
    /* A dry run: the database has no invitations afterwards. */
    cr_assert_eq(status_count("invitations", "planned"), 0);
}

/* --- logging and status (issue 11) ------------------------------------ */

#include "store.h"

#define SECRET "Pa55-hunter2-geheim"

/* Servers that refuse the connection, with credentials from a password
 * file and from the environment. */
static void
write_unreachable_config(void)
{
    char pw[256];

    write_file("smtp.pw", SECRET "\n");
    path_in(pw, sizeof pw, "smtp.pw");
    cr_assert_eq(chmod(pw, 0600), 0);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "[general]\n"
             "database = data/enquete.db\n"
             "from = HR Enquête <hr@org.example>\n"
             "reply_address = enquete@org.example\n"
             "templates = " FIXTURES "/../../templates\n"
             "[smtp]\n"
             "url = smtp://127.0.0.1:1\n"
             "tls = off\n"
             "user = hr\n"
             "password_file = %s\n"
             "timeout = 5\n"
             "[imap]\n"
             "url = imap://127.0.0.1:1/INBOX\n"
             "tls = off\n"
             "user = enquete\n"
             "password_env = EQ_TEST_IMAP_PASSWORD\n"
             "timeout = 5\n"
             "[digest]\n"
             "hr = hr@org.example\n",
             pw);
    write_file("config.ini", cfg);
    make_dir("campaigns");
    write_file("campaigns/loop.ini", "[campaign]\n"
                                     "name = loop\n"
                                     "metrics = nps\n"
                                     "providers = it\n"
                                     "customers = *\n"
                                     "cadence = monthly\n"
                                     "start = 2026-03-01\n");
}

Test(cli, verbose_run_logs_events_but_never_a_password)
{
    write_unreachable_config();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    setenv("EQ_TEST_IMAP_PASSWORD", SECRET, 1);
    int rc = RUN("--verbose", "--now", "2026-03-03T12:00", "run");
    unsetenv("EQ_TEST_IMAP_PASSWORD");
    cr_assert_neq(rc, 0, "servers are unreachable: %s", out_buf);
    cr_assert_null(strstr(err_buf, SECRET), "password in stderr:\n%s", err_buf);
    cr_assert_null(strstr(out_buf, SECRET), "password in stdout:\n%s", out_buf);
    char want[64];
    snprintf(want, sizeof want, "enquete[");
    cr_assert(has_line(err_buf, want), "%s", err_buf);
    cr_assert_not_null(strstr(err_buf, ": info: deferred campaign=loop "
                                       "invitation="),
                       "%s", err_buf);
    /* A tick that failed is a warning, so it shows without --verbose. */
    cr_assert_not_null(strstr(err_buf, "]: warn: tick planned="), "%s",
                       err_buf);

    /* status shows the failed run, and still no password. */
    cr_assert_eq(RUN("--now", "2026-03-03T12:05", "status"), 0, "%s", err_buf);
    cr_assert_not_null(strstr(out_buf, "FAILED"), "%s", out_buf);
    cr_assert_null(strstr(out_buf, SECRET), "%s", out_buf);
    cr_assert_eq(RUN("--now", "2026-03-03T12:05", "status", "--json"), 0);
    cr_assert_null(strstr(out_buf, SECRET), "%s", out_buf);
    cJSON *j = cJSON_Parse(out_buf);
    cr_assert_not_null(j, "%s", out_buf);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "last_failed_run");
    cr_assert(cJSON_IsObject(f), "%s", out_buf);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "ok")));
    const cJSON *k =
        cJSON_GetObjectItemCaseSensitive(j, "failed_runs_since_ok");
    cr_assert_eq(k ? k->valuedouble : -1, 1, "%s", out_buf);
    /* The planned invitations wait in today's queue. */
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "queue");
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(q, "planned_today");
    cr_assert(cJSON_IsNumber(pt) && pt->valuedouble > 0, "%s", out_buf);
    cJSON_Delete(j);
}

Test(cli, quiet_keeps_info_lines_out_and_default_is_warnings)
{
    write_loop_setup();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "run"), 0, "%s", err_buf);
    cr_assert_null(strstr(err_buf, ": info: "), "%s", err_buf);
    cr_assert_eq(RUN("--quiet", "--now", "2026-03-04T12:00", "run"), 0);
    cr_assert_eq(err_buf[0], '\0', "quiet run wrote: %s", err_buf);
    cr_assert_eq(RUN("-v", "--now", "2026-03-05T12:00", "run"), 0);
    cr_assert_not_null(strstr(err_buf, ": info: sent campaign=loop "
                                       "invitation="),
                       "%s", err_buf);
}

static const cJSON *
jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double
jnum(const cJSON *o, const char *k)
{
    const cJSON *v = jget(o, k);
    cr_assert(cJSON_IsNumber(v), "no number %s", k);
    return v->valuedouble;
}

Test(cli, status_shows_period_counts_digest_due_and_hides_url_password)
{
    char path[256];

    write_loop_setup();
    cr_assert_eq(RUN("init"), 0, "%s", err_buf);
    cr_assert_eq(RUN("org", "import", CLI_FIX "/org40.csv"), 0, "%s", err_buf);
    cr_assert_eq(RUN("--now", "2026-03-03T12:00", "run"), 0, "%s", err_buf);
    size_t sent = list_dir("out/new", NULL, 0);
    cr_assert_gt(sent, 0);

    /* A checkpoint under a URL with a password in it (the config allows
     * only password_file/_env, but a URL is free text). */
    struct store *st = NULL;
    path_in(path, sizeof path, "data/enquete.db");
    cr_assert_eq(store_open(path, &st, NULL), EQ_OK);
    cr_assert_eq(store_mailbox_set(st,
                                   "imaps://bob:" SECRET "@mail.example/INBOX",
                                   42, 17, 1772539200),
                 EQ_OK);
    store_close(st);

    cr_assert_eq(RUN("--now", "2026-03-04T12:00", "status", "--json"), 0, "%s",
                 err_buf);
    cr_assert_null(strstr(out_buf, SECRET), "%s", out_buf);
    cJSON *j = cJSON_Parse(out_buf);
    cr_assert_not_null(j, "%s", out_buf);
    const cJSON *c = cJSON_GetArrayItem(jget(j, "campaigns"), 0);
    cr_assert_not_null(c, "%s", out_buf);
    cr_assert_str_eq(cJSON_GetStringValue(jget(c, "name")), "loop");
    cr_assert_str_eq(cJSON_GetStringValue(jget(c, "period")), "2026-03");
    cr_assert_eq(jnum(c, "sent"), (double)sent);
    cr_assert_eq(jnum(c, "answered"), 0);
    const cJSON *m = cJSON_GetArrayItem(jget(j, "mailboxes"), 0);
    cr_assert_str_eq(cJSON_GetStringValue(jget(m, "name")),
                     "imaps://bob:***@mail.example/INBOX");
    cr_assert_eq(jnum(m, "last_uid"), 17);
    cr_assert_eq(cJSON_GetArraySize(jget(j, "digests_due")), 0,
                 "the period is still running: %s", out_buf);
    cJSON_Delete(j);

    cr_assert_eq(RUN("--now", "2026-03-04T12:00", "status"), 0, "%s", err_buf);
    cr_assert_null(strstr(out_buf, SECRET), "%s", out_buf);
    cr_assert_not_null(strstr(out_buf, "imaps://bob:***@mail.example/INBOX "
                                       "read up to UID 17"),
                       "%s", out_buf);

    /* After March, with every invitation closed (close_after 10 days), the
     * digest falls on the first Monday 08:00 after the period:
     * 6 April 2026, 08:00 CEST = 06:00Z. */
    cr_assert_eq(RUN("--now", "2026-04-02T12:00", "status", "--json"), 0, "%s",
                 err_buf);
    j = cJSON_Parse(out_buf);
    cr_assert_not_null(j, "%s", out_buf);
    const cJSON *d = cJSON_GetArrayItem(jget(j, "digests_due"), 0);
    cr_assert_not_null(d, "no digest due: %s", out_buf);
    cr_assert_str_eq(cJSON_GetStringValue(jget(d, "campaign")), "loop");
    cr_assert_str_eq(cJSON_GetStringValue(jget(d, "period")), "2026-03");
    cr_assert_str_eq(cJSON_GetStringValue(jget(d, "due")),
                     "2026-04-06T06:00:00Z");
    cr_assert_eq(jnum(d, "open_invitations"), 0);
    cJSON_Delete(j);
    cr_assert_eq(RUN("--now", "2026-04-02T12:00", "status"), 0);
    cr_assert_not_null(strstr(out_buf, "loop 2026-03 due 2026-04-06T06:00:00Z"),
                       "%s", out_buf);
}
