/* Real-looking replies from Outlook, OWA, Gmail, Apple Mail, Thunderbird and
 * Android clients (the .eml files of tests/fixtures/replies), read through
 * ingest_inspect exactly as `enquete inspect --json` does, against the
 * readings written by hand in tests/fixtures/replies/expected.tsv. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ingest.h"
#include "mime.h"

#define MAX_ROWS 128

struct row {
    char file[96];
    char metrics[64];
    char scores[128];
    int not_applicable;
    int needs_review;
    char comment[512];
};

/* "\n" and "\t" and "\\" escapes; "-" is the empty comment. */
static void
unescape(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    if (strcmp(in, "-") == 0)
        in = "";
    for (; *in != '\0' && n + 1 < cap; in++) {
        if (*in == '\\' && in[1] != '\0') {
            in++;
            out[n++] = *in == 'n' ? '\n' : *in == 't' ? '\t' : *in;
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
}

static size_t
load_rows(struct row *rows)
{
    char *tsv = th_fixture("replies/expected.tsv", NULL);
    size_t n = 0;
    char *save = NULL;

    for (char *line = strtok_r(tsv, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[6];
        int k = 0;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        for (char *c = line; k < 6; k++) {
            f[k] = c;
            c = strchr(c, '\t');
            if (c == NULL) {
                k++;
                break;
            }
            *c++ = '\0';
        }
        cr_assert_eq(k, 6, "expected.tsv: 6 columns in %s", line);
        cr_assert_lt(n, (size_t)MAX_ROWS);
        snprintf(rows[n].file, sizeof rows[n].file, "%s", f[0]);
        snprintf(rows[n].metrics, sizeof rows[n].metrics, "%s", f[1]);
        snprintf(rows[n].scores, sizeof rows[n].scores, "%s",
                 strcmp(f[2], "-") == 0 ? "" : f[2]);
        rows[n].not_applicable = strcmp(f[3], "1") == 0;
        rows[n].needs_review = strcmp(f[4], "1") == 0;
        unescape(f[5], rows[n].comment, sizeof rows[n].comment);
        n++;
    }
    free(tsv);
    return n;
}

/* The 26-character token of "<inv.TOKEN@org.example>" in raw. */
static void
in_reply_to_token(const char *raw, char tok[27])
{
    const char *p = strstr(raw, "\nIn-Reply-To: <inv.");

    cr_assert_not_null(p, "fixture without In-Reply-To <inv.…>");
    p += strlen("\nIn-Reply-To: <inv.");
    memcpy(tok, p, 26);
    tok[26] = '\0';
    cr_assert_eq(p[26], '@', "token of 26 characters");
}

static void
check_row(const struct row *r)
{
    char rel[160], metrics[64], tok[27], got_scores[128] = "";
    const char *ids[8];
    size_t n_ids = 0, len;
    char *raw, *save = NULL;
    struct eq_buf out = {0}, diag = {0};
    cJSON *o, *v;

    snprintf(rel, sizeof rel, "replies/%s", r->file);
    raw = th_fixture(rel, &len);
    in_reply_to_token(raw, tok);
    snprintf(metrics, sizeof metrics, "%s", r->metrics);
    for (char *m = strtok_r(metrics, ",", &save); m != NULL && n_ids < 8;
         m = strtok_r(NULL, ",", &save))
        ids[n_ids++] = m;
    cr_assert_eq(ingest_inspect(r->file, raw, len, ids, n_ids, 1, &out, &diag),
                 EQ_OK, "%s: %s", r->file, buf_str(&diag));
    cr_assert(out.len > 0 && out.s[out.len - 1] == '\n', "%s: one line",
              r->file);
    o = cJSON_Parse(buf_str(&out));
    cr_assert_not_null(o, "%s: JSON %s", r->file, buf_str(&out));

    v = cJSON_GetObjectItemCaseSensitive(o, "kind");
    cr_assert(cJSON_IsString(v) && strcmp(v->valuestring, "reply") == 0,
              "%s: kind %s", r->file, buf_str(&out));
    v = cJSON_GetObjectItemCaseSensitive(o, "token");
    cr_assert(cJSON_IsString(v), "%s: token", r->file);
    cr_assert_str_eq(v->valuestring, tok, "%s: token", r->file);

    v = cJSON_GetObjectItemCaseSensitive(o, "scores");
    cr_assert(cJSON_IsObject(v), "%s: scores", r->file);
    for (cJSON *s = v->child; s != NULL; s = s->next) {
        size_t l = strlen(got_scores);
        cr_assert(cJSON_IsNumber(s));
        snprintf(got_scores + l, sizeof got_scores - l, "%s%s=%d",
                 l > 0 ? "," : "", s->string, s->valueint);
    }
    cr_assert_str_eq(got_scores, r->scores, "%s: scores", r->file);

    v = cJSON_GetObjectItemCaseSensitive(o, "not_applicable");
    cr_assert(cJSON_IsBool(v), "%s", r->file);
    cr_assert_eq(cJSON_IsTrue(v) != 0, r->not_applicable, "%s: not_applicable",
                 r->file);
    v = cJSON_GetObjectItemCaseSensitive(o, "needs_review");
    cr_assert(cJSON_IsBool(v), "%s", r->file);
    cr_assert_eq(cJSON_IsTrue(v) != 0, r->needs_review, "%s: needs_review",
                 r->file);
    v = cJSON_GetObjectItemCaseSensitive(o, "comment");
    cr_assert(cJSON_IsString(v), "%s: comment", r->file);
    cr_assert_str_eq(v->valuestring, r->comment, "%s: comment", r->file);
    v = cJSON_GetObjectItemCaseSensitive(o, "bounce");
    cr_assert(cJSON_IsNull(v), "%s: bounce", r->file);

    cJSON_Delete(o);
    buf_free(&out);
    buf_free(&diag);
    free(raw);
}

Test(replies, every_fixture_reads_as_expected_tsv_says)
{
    static struct row rows[MAX_ROWS];
    size_t n = load_rows(rows);

    cr_assert_geq(n, (size_t)40, "at least 40 replies, got %zu", n);
    for (size_t i = 0; i < n; i++)
        check_row(&rows[i]);
}

Test(replies, every_eml_in_the_directory_has_an_expected_row)
{
    static struct row rows[MAX_ROWS];
    size_t n = load_rows(rows), seen = 0;
    DIR *d = opendir(FIXTURES "/replies");
    struct dirent *e;

    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        int found = 0;
        if (l < 4 || strcmp(e->d_name + l - 4, ".eml") != 0)
            continue;
        seen++;
        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(rows[i].file, e->d_name) == 0;
        cr_assert(found, "%s has no row in expected.tsv", e->d_name);
    }
    closedir(d);
    cr_assert_eq(seen, n, "one .eml per row");
}

/* The HTML side of quote removal, on the shapes the fixtures use. */
static void
expect_html(const char *html, const char *want)
{
    char *t = NULL;

    cr_assert_eq(mime_html_to_text(html, strlen(html), &t), EQ_OK);
    cr_assert_str_eq(t, want);
    free(t);
}

Test(replies, html_drops_outlook_reply_header_and_everything_after)
{
    expect_html("<div>8 - top</div><div id=\"appendonsend\"></div><hr>"
                "<div id=\"divRplyFwdMsg\"><b>Kimden:</b> x</div>"
                "<div><p>Eski mesaj 10</p></div>",
                "8 - top");
}

Test(replies, html_drops_gmail_attribution_and_quote_but_keeps_inline_text)
{
    expect_html("<div dir=\"ltr\">7</div><div class=\"gmail_quote\">"
                "<div class=\"gmail_attr\">2 Kas 2026 şunu yazdı:</div>"
                "<blockquote class=\"gmail_quote\">vraag 0 tot 10</blockquote>"
                "<div>ook goed</div></div>",
                "7\nook goed");
}

Test(replies, html_drops_cite_blocks_of_thunderbird_and_apple)
{
    expect_html("<p>9</p><div class=\"moz-cite-prefix\">Le 2 nov. a "
                "écrit :</div><blockquote type=\"cite\">oud 10</blockquote>"
                "<blockquote type=\"CITE\">ook oud</blockquote>",
                "9");
}

Test(replies, html_plain_blockquote_still_gets_quote_marks)
{
    expect_html("<p>Top</p><blockquote>een</blockquote>", "Top\n> een");
}
