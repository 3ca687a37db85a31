/*
 * The security review of docs/security.md as tests: one per attack surface
 * that had no test of its own elsewhere, plus the regressions of crashes the
 * fuzzers found (inputs in tests/fixtures/fuzz/). The "flow" tests drive the
 * real binary ($ENQUETE_BIN) over maildir transports, as a stranger would
 * reach it: by mail.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compose.h"
#include "config.h"
#include "helpers.h"
#include "mime.h"
#include "reply.h"
#include "store.h"
#include "template.h"
#include "token.h"

/* --- regressions of fuzzer finds ---------------------------------------- */

/* fuzz_reply: reply.c phone_end() read two bytes past a separator at the
 * very end of the text (strchr(" (", '\0') matches the terminator), one past
 * the buffer when the paragraph copy is exactly full. Needs the fix described
 * in docs/security.md ("Fuzzing"): check q[1] != '\0' before strchr.
 * ASan catches the read only under the sanitizer run. */
Test(regression, reply_number_and_separator_at_end_of_text)
{
    static const struct reply_metric m[] = {{"nps", NULL, NULL, 0, 10}};
    struct reply_answer a;
    size_t len;
    char *body = th_fixture("fuzz/reply-phone-end-overread.txt", &len);

    memset(&a, 0, sizeof a);
    cr_assert_eq(reply_read(body, m, 1, &a), EQ_OK);
    /* "… dus een 9." — the candidate number of the running text. */
    cr_assert_eq(a.n_scores, 1);
    cr_assert_eq(a.scores[0].score, 9);
    reply_answer_clear(&a);
    free(body);
}

/* fuzz_classify: a quoted-printable part whose last bytes are "=l" made
 * libetpan's mailmime_part_parse (called by mime.c part_bytes) read two
 * bytes past the part, and past the message buffer when the part ends the
 * message: a heap over-read on a stranger's mail (the source's NUL
 * terminator covers only one byte). Needs the fix in docs/security.md
 * ("Fuzzing"): part_bytes decodes from a copy padded with NUL bytes. */
Test(regression, quoted_printable_equals_sign_at_end_of_message)
{
    size_t len;
    char *file = th_fixture("fuzz/mime-qp-part-overread.eml", &len);
    /* Exactly len bytes, no terminator: as a mail source may hand it over. */
    char *raw = malloc(len);
    struct mime_msg *m = NULL;

    cr_assert_not_null(raw);
    memcpy(raw, file, len);
    cr_assert_eq(mime_parse(raw, len, &m, NULL), EQ_OK);
    cr_assert_not_null(m);
    cr_assert_not_null(strstr(m->text, "recommend the ICT Service Desk"));
    mime_free(m);
    free(raw);
    free(file);
}

/* --- outbound mail ------------------------------------------------------ */

/* Only the header block: a line injected into a header would show there. */
static char *
header_block(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");

    cr_assert_not_null(end, "no end of headers");
    return strndup(msg, (size_t)(end - msg) + 2);
}

Test(outbound, crlf_in_name_or_subject_cannot_add_a_header)
{
    struct compose_mail m = {
        .from = "HR <hr@example.org>",
        .to = "anna@example.org",
        .to_name = "Anna\r\nBcc: evil@attacker.example",
        .subject = "Vraag\nBcc: evil2@attacker.example\r\nX-Evil: 1",
        .message_id = "inv.0123456789abcdefghjkmnpqrs@example.org",
        .auto_submitted = COMPOSE_AUTO_GENERATED,
        .date = 1795000000,
        .timezone = "Europe/Amsterdam",
        .text = "Hallo\n",
    };
    char *out = NULL, *head;
    size_t len = 0;
    struct eq_buf diag = {0};
    enum eq_err err = compose_build(&m, &out, &len, &diag);

    if (err != EQ_OK) {
        /* Refusing the data is a defence too. */
        cr_assert_eq(err, EQ_ERR_DATA, "%s", buf_str(&diag));
        buf_free(&diag);
        return;
    }
    head = header_block(out);
    cr_assert_null(strstr(head, "\nBcc:"), "%s", head);
    cr_assert_null(strstr(head, "\nX-Evil:"), "%s", head);
    cr_assert_neq(strncmp(head, "Bcc:", 4), 0);
    /* Every line break in the header block is a CRLF, and every line is a
     * header or a fold. */
    for (const char *p = head; *p; p++) {
        if (*p == '\n')
            cr_assert(p > head && p[-1] == '\r', "bare LF in %s", head);
        if (*p == '\r')
            cr_assert_eq(p[1], '\n', "bare CR in %s", head);
    }
    free(head);
    free(out);
    buf_free(&diag);
}

Test(outbound, html_template_escapes_every_markup_character)
{
    struct tpl_ctx *ctx = tpl_ctx_new();
    char *out = NULL;
    struct eq_buf diag = {0};

    cr_assert_not_null(ctx);
    tpl_set(ctx, "c", "<script>alert('x')</script> & \"q\"");
    cr_assert_eq(template_render("<p title=\"{{c}}\">{{c}}</p>", ctx, 1, "t",
                                 &out, &diag),
                 EQ_OK, "%s", buf_str(&diag));
    cr_assert_str_eq(
        out, "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
             " &amp; &quot;q&quot;\">&lt;script&gt;alert(&#39;x&#39;)"
             "&lt;/script&gt; &amp; &quot;q&quot;</p>");
    free(out);
    tpl_ctx_free(ctx);
    buf_free(&diag);
}

Test(outbound, partial_name_cannot_leave_the_template_directory)
{
    const char *dir = th_tmpdir("sec-tpl");
    char tdir[128], path[160];
    struct tpl_ctx *ctx = tpl_ctx_new();
    struct tpl_source src;
    char *out = NULL;
    struct eq_buf diag = {0};
    static const char *const names[] = {"../secret", "../../secret",
                                        "/etc/passwd", "nl/../../secret"};

    snprintf(tdir, sizeof tdir, "%s/templates", dir);
    cr_assert_eq(mkdir(tdir, 0700), 0);
    snprintf(path, sizeof path, "%s/nl", tdir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/secret.txt", dir);
    th_write(path, "TOPSECRET");
    src.dir = tdir;
    src.lang = "nl";
    src.ext = "txt";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char tpl[64];
        snprintf(tpl, sizeof tpl, "a{{> %s}}b", names[i]);
        buf_reset(&diag);
        cr_assert_eq(template_render_src(tpl, ctx, &src, "t.txt", &out, &diag),
                     EQ_ERR_DATA, "%s rendered", names[i]);
        cr_assert(out == NULL || strstr(out, "TOPSECRET") == NULL);
        free(out);
        out = NULL;
    }
    tpl_ctx_free(ctx);
    buf_free(&diag);
    th_rmtmp();
}

/* --- tokens ------------------------------------------------------------- */

static int
cmp_tok(const void *a, const void *b)
{
    return strcmp(a, b);
}

Test(tokens, are_26_crockford_characters_and_do_not_repeat)
{
    enum { N = 4000 };
    static char toks[N][TOKEN_LEN + 1];
    unsigned seen[256] = {0};

    for (int i = 0; i < N; i++) {
        cr_assert_eq(token_new(toks[i]), EQ_OK);
        cr_assert_eq(strlen(toks[i]), 26);
        cr_assert(token_valid(toks[i]));
        for (int j = 0; j < TOKEN_LEN; j++)
            seen[(unsigned char)toks[i][j]]++;
    }
    /* Crockford lowercase: no i, l, o, u, nothing outside 0-9a-z. */
    for (int c = 0; c < 256; c++) {
        int allowed = (c >= '0' && c <= '9') ||
                      (c >= 'a' && c <= 'z' && !strchr("ilou", c));
        if (!allowed)
            cr_assert_eq(seen[c], 0, "character %d in a token", c);
        else
            /* 4000 × 26 / 32 ≈ 3250 of each: all 32 symbols are used, so
             * every character carries 5 bits (26 × 5 = 130). */
            cr_assert_gt(seen[c], 2500, "symbol %c only %u times", c, seen[c]);
    }
    qsort(toks, N, sizeof toks[0], cmp_tok);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(toks[i - 1], toks[i]);
}

Test(tokens, only_delimited_forms_are_accepted)
{
    char t[TOKEN_LEN + 1], got[TOKEN_LEN + 1], text[128];

    cr_assert_eq(token_new(t), EQ_OK);
    snprintf(text, sizeof text, "mijn code is %s dus", t);
    cr_assert_eq(token_find(text, got), -1, "bare word accepted");
    snprintf(text, sizeof text, "Re: vraag [#%s]", t);
    cr_assert_eq(token_find(text, got), 0);
    cr_assert_str_eq(got, t);
    /* A guessed token with a letter Crockford excludes is not a token. */
    memcpy(text, t, sizeof t);
    text[3] = 'u';
    cr_assert_eq(token_valid(text), 0);
}

/* --- files and secrets -------------------------------------------------- */

Test(files, database_is_0600_in_a_new_0700_directory)
{
    const char *dir = th_tmpdir("sec-db");
    char path[128];
    struct store *st = NULL;
    struct stat sb;
    mode_t old = umask(0);

    snprintf(path, sizeof path, "%s/data/sub/enquete.db", dir);
    cr_assert_eq(store_open(path, &st, NULL), EQ_OK);
    umask(old);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600, "db mode %o", sb.st_mode & 0777);
    snprintf(path, sizeof path, "%s/data/sub", dir);
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0700, "dir mode %o", sb.st_mode & 0777);
    store_close(st);
    th_rmtmp();
}

Test(files, password_file_readable_by_others_is_refused)
{
    const char *dir = th_tmpdir("sec-pw");
    char path[128];
    struct config_server srv = {0};
    char *pw = NULL;
    struct eq_buf diag = {0};

    snprintf(path, sizeof path, "%s/pw", dir);
    th_write(path, "s3cret\n");
    srv.password_file = path;
    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_ERR_PERM);
    cr_assert_null(pw);
    /* The refusal names the file, never the secret. */
    cr_assert_null(strstr(buf_str(&diag), "s3cret"));
    cr_assert_eq(chmod(path, 0600), 0);
    cr_assert_eq(config_password(&srv, &pw, &diag), EQ_OK);
    cr_assert_str_eq(pw, "s3cret");
    free(pw);
    buf_free(&diag);
    th_rmtmp();
}

/* Report CSV cells hold codes, labels and numbers only; a code cannot start
 * a spreadsheet formula. */
Test(files, department_code_cannot_start_a_spreadsheet_formula)
{
    static const char *const bad[] = {
        "=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "\tx", "a,b", "a\"b", "x\ny"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(config_code_valid(bad[i]), 0, "'%s' accepted", bad[i]);
    cr_assert_eq(config_code_valid("it-ops_2"), 1);
}

/* --- the whole program, reached by mail --------------------------------- */

static char top[128];

static int
sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static const char *
bin(void)
{
    const char *b = getenv("ENQUETE_BIN");

    cr_assert_not_null(b, "ENQUETE_BIN not set (run through make check)");
    return b;
}

/* An organisation of six, one campaign whose whole need (5) is sent on
 * 2026-01-31 into the maildir DIR/out; replies are read from DIR/inbox. */
static void
flow_setup(const char *extra_org_line)
{
    char path[256], text[2048];

    snprintf(top, sizeof top, "%s", th_tmpdir("sec-flow"));
    snprintf(path, sizeof path, "%s/campaigns", top);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/campaigns/it.ini", top);
    th_write(path, "[campaign]\nname = it\nmetrics = nps\nproviders = it\n"
                   "customers = *\ncadence = monthly\nstart = 2026-01-01\n"
                   "target_responses = 5\nexpected_response_rate = 1\n"
                   "send_days = mon,tue,wed,thu,fri,sat,sun\n"
                   "send_window = 09:00-11:00\n");
    snprintf(text, sizeof text,
             "email,name,department,department_code,manages\n"
             "boss@org.example,Bea Baas,ICT,it,yes\n"
             "a1@org.example,An Een,Sales,sales,no\n"
             "a2@org.example,An Twee,Sales,sales,no\n"
             "a3@org.example,An Drie,Sales,sales,no\n"
             "a4@org.example,An Vier,Sales,sales,no\n%s",
             extra_org_line ? extra_org_line
                            : "a5@org.example,An Vijf,Sales,sales,no\n");
    snprintf(path, sizeof path, "%s/org.csv", top);
    th_write(path, text);
    snprintf(text, sizeof text,
             "[general]\ndatabase = db/enquete.db\n"
             "from = HR <hr@org.example>\nreply_address = enquete@org.example\n"
             "quiet_period = 1\ntemplates = %s/../../templates\n"
             "[smtp]\nurl = maildir:out\ntls = off\nuser = enquete\n"
             "password_env = EQ_SEC_PW\n"
             "[imap]\nurl = maildir:inbox\n",
             FIXTURES);
    snprintf(path, sizeof path, "%s/config.ini", top);
    th_write(path, text);
    snprintf(path, sizeof path, "%s/inbox", top);
    cr_assert_eq(mkdir(path, 0700), 0);
    for (int i = 0; i < 3; i++) {
        static const char *const sub[] = {"new", "cur", "tmp"};
        snprintf(path, sizeof path, "%s/inbox/%s", top, sub[i]);
        cr_assert_eq(mkdir(path, 0700), 0);
    }
    setenv("EQ_SEC_PW", "Hunter2-VerySecret", 1);
    cr_assert_eq(
        sh("cd %s && %s --config config.ini init >init.out 2>&1", top, bin()),
        0);
}

static int
flow(const char *args)
{
    return sh("cd %s && %s --config config.ini --now 2026-01-31T12:00 %s "
              ">>flow.out 2>&1",
              top, bin(), args);
}

/* The first token found in the sent mail addressed to `to`. */
static void
token_of(const char *to, char tok[TOKEN_LEN + 1])
{
    char path[512];
    DIR *d;
    struct dirent *e;
    int found = 0;

    snprintf(path, sizeof path, "%s/out/new", top);
    d = opendir(path);
    cr_assert_not_null(d, "no sent mail");
    while (!found && (e = readdir(d)) != NULL) {
        size_t len;
        char *m;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/out/new/%s", top, e->d_name);
        m = th_slurp(path, &len);
        if (strstr(m, to) && token_find(m, tok) == 0)
            found = 1;
        free(m);
    }
    closedir(d);
    cr_assert(found, "no invitation to %s", to);
}

static void
inbox_put(const char *name, const char *text)
{
    char path[512];

    snprintf(path, sizeof path, "%s/inbox/new/%s", top, name);
    th_write(path, text);
}

static char *
query(const char *sql)
{
    char path[256];
    size_t len;

    cr_assert_eq(
        sh("sqlite3 %s/db/enquete.db \"%s\" > %s/q.out 2>&1", top, sql, top),
        0);
    snprintf(path, sizeof path, "%s/q.out", top);
    return th_slurp(path, &len);
}

Test(mail, reply_from_someone_else_goes_to_review_and_counts_nothing)
{
    char tok[TOKEN_LEN + 1], msg[1024], *r;

    flow_setup(NULL);
    cr_assert_eq(flow("org import org.csv"), 0);
    cr_assert_eq(flow("run"), 0);
    token_of("a1@org.example", tok);
    snprintf(msg, sizeof msg,
             "From: Mallory <mallory@org.example>\r\n"
             "To: enquete+%s@org.example\r\n"
             "Subject: Re: vraag [#%s]\r\n"
             "Message-ID: <forged-1@org.example>\r\n"
             "Date: Sat, 31 Jan 2026 12:30:00 +0100\r\n\r\n0\r\n",
             tok, tok);
    inbox_put("1.forged", msg);
    cr_assert_eq(flow("ingest"), 0);
    r = query("SELECT COUNT(*) FROM answer");
    cr_assert_str_eq(r, "0\n", "a forged answer was counted");
    free(r);
    r = query("SELECT outcome FROM inbound");
    cr_assert_str_eq(r, "review\n");
    free(r);
    th_rmtmp();
}

Test(mail, oversized_message_is_set_aside_unparsed)
{
    char tok[TOKEN_LEN + 1], path[512], *r;
    FILE *f;

    flow_setup(NULL);
    cr_assert_eq(flow("org import org.csv"), 0);
    cr_assert_eq(flow("run"), 0);
    token_of("a2@org.example", tok);
    snprintf(path, sizeof path, "%s/inbox/new/2.big", top);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "From: a2@org.example\r\nSubject: Re: [#%s]\r\n"
            "Message-ID: <big@org.example>\r\n\r\n9\r\n",
            tok);
    /* 26 MB of short lines: past the 25 MB limit of ingest. */
    for (int i = 0; i < 26 * 1024 * 16; i++)
        fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
              "ab\r\n",
              f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(flow("ingest"), 0);
    r = query("SELECT COUNT(*) FROM answer");
    cr_assert_str_eq(r, "0\n");
    free(r);
    r = query("SELECT outcome, note FROM inbound");
    cr_assert(strncmp(r, "review|message too large", 24) == 0, "%s", r);
    free(r);
    th_rmtmp();
}

Test(mail, password_never_appears_in_status_or_output)
{
    char path[256], *all;
    size_t len;

    flow_setup(NULL);
    cr_assert_eq(flow("org import org.csv"), 0);
    cr_assert_eq(flow("run"), 0);
    cr_assert_eq(flow("status"), 0);
    cr_assert_eq(flow("status --json"), 0);
    snprintf(path, sizeof path, "%s/flow.out", top);
    all = th_slurp(path, &len);
    cr_assert_gt(len, 0);
    cr_assert_null(strstr(all, "Hunter2"), "%s", all);
    free(all);
    /* Nor in the database (run log, errors). */
    cr_assert_eq(sh("grep -qa Hunter2 %s/db/enquete.db", top), 1);
    th_rmtmp();
}

Test(mail, line_break_in_an_org_name_cannot_add_a_header)
{
    char path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;

    flow_setup("a5@org.example,\"An\r\nBcc: evil@attacker.example\","
               "Sales,sales,no\n");
    /* Refusing the file is fine; if it is taken, the mail must be clean. */
    if (flow("org import org.csv") != 0)
        goto out;
    cr_assert_eq(flow("run"), 0);
    snprintf(path, sizeof path, "%s/out/new", top);
    d = opendir(path);
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t len;
        char *m, *head;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/out/new/%s", top, e->d_name);
        m = th_slurp(path, &len);
        head = header_block(m);
        cr_assert_null(strstr(head, "\nBcc:"), "%s", head);
        free(head);
        free(m);
        n++;
    }
    closedir(d);
    cr_assert_eq(n, 5);
out:
    th_rmtmp();
}
