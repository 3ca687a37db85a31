#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "template.h"

/* Renders text against ctx; returns the output (caller frees) or NULL with
 * the diagnostics in *diag. */
static char *
render(const char *text, const struct tpl_ctx *ctx, int html,
       struct eq_buf *diag)
{
    char *out = NULL;
    enum eq_err err = template_render(text, ctx, html, "t.txt", &out, diag);

    if (err != EQ_OK) {
        cr_assert_null(out);
        return NULL;
    }
    return out;
}

/* Renders text against ctx and expects exactly want. */
static void
expect(const char *text, const struct tpl_ctx *ctx, int html, const char *want)
{
    char *s = render(text, ctx, html, NULL);

    cr_assert_str_eq(s, want);
    free(s);
}

/* Expects text to be refused as broken, with exactly these diagnostics. */
static void
expect_error(const char *text, const struct tpl_ctx *ctx, const char *want)
{
    struct eq_buf d = {0};
    char *out = NULL;

    cr_assert_eq(template_render(text, ctx, 0, "t", &out, &d), EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d), want);
    buf_free(&d);
}

Test(template, substitutes_variables)
{
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};

    tpl_set(c, "name", "Anna");
    tpl_setf(c, "n", "%d", 42);
    char *s = render("Hoi {{name}}, {{ n }}!", c, 0, &d);
    cr_assert_str_eq(s, "Hoi Anna, 42!");
    free(s);
    tpl_ctx_free(c);
    buf_free(&d);
}

Test(template, replaces_a_value_set_twice)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set(c, "x", "one");
    tpl_set(c, "x", "two");
    expect("{{x}}", c, 0, "two");
    tpl_ctx_free(c);
}

Test(template, escapes_html_only_in_html_mode)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set(c, "v", "a&b <c> \"d\" 'e'");
    expect("{{v}}|{{{v}}}|{{&v}}", c, 1,
           "a&amp;b &lt;c&gt; &quot;d&quot; &#39;e&#39;|"
           "a&b <c> \"d\" 'e'|a&b <c> \"d\" 'e'");
    expect("{{v}}", c, 0, "a&b <c> \"d\" 'e'");
    tpl_ctx_free(c);
}

Test(template, repeats_a_section_per_list_item)
{
    struct tpl_ctx *c = tpl_ctx_new();

    for (int i = 0; i < 3; i++) {
        struct tpl_ctx *it = tpl_add_item(c, "answers");
        cr_assert_not_null(it);
        tpl_setf(it, "value", "%d", i * 5);
    }
    expect("[{{#answers}}<{{value}}>{{/answers}}]", c, 0, "[<0><5><10>]");
    tpl_ctx_free(c);
}

Test(template, bools_and_strings_open_sections_once)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set_bool(c, "yes", 1);
    tpl_set_bool(c, "no", 0);
    tpl_set(c, "full", "x");
    tpl_set(c, "empty", "");
    expect("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#full}}F{{/full}}"
           "{{#empty}}E{{/empty}}",
           c, 0, "YF");
    tpl_ctx_free(c);
}

Test(template, inverted_sections_show_for_missing_false_empty)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set_bool(c, "no", 0);
    tpl_set_bool(c, "yes", 1);
    tpl_set(c, "empty", "");
    cr_assert_not_null(tpl_add_item(c, "list"));
    expect("{{^missing}}M{{/missing}}{{^no}}N{{/no}}"
           "{{^empty}}E{{/empty}}{{^yes}}Y{{/yes}}"
           "{{^list}}L{{/list}}",
           c, 0, "MNE");
    tpl_ctx_free(c);
}

Test(template, items_see_names_of_enclosing_contexts)
{
    struct tpl_ctx *c = tpl_ctx_new();
    struct tpl_ctx *m = tpl_add_item(c, "metrics");

    tpl_set(c, "token", "abc");
    tpl_set(c, "label", "outer");
    tpl_set(m, "label", "inner");
    struct tpl_ctx *a = tpl_add_item(m, "answers");
    tpl_set(a, "value", "7");
    expect("{{#metrics}}{{label}}:{{#answers}}{{value}}/{{token}}/"
           "{{label}}{{/answers}}{{/metrics}} {{label}}",
           c, 0, "inner:7/abc/inner outer");
    tpl_ctx_free(c);
}

Test(template, unknown_variable_names_file_and_line)
{
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};

    tpl_set(c, "name", "x");
    cr_assert_null(render("Hoi {{name}}\n\nline three {{nmae}}\n", c, 0, &d));
    cr_assert_str_eq(buf_str(&d), "t.txt:3: unknown variable 'nmae'\n");
    buf_free(&d);
    tpl_ctx_free(c);
}

Test(template, reports_unclosed_mismatched_and_unterminated)
{
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};
    char *out = NULL;

    tpl_set_bool(c, "a", 1);
    tpl_set_bool(c, "b", 1);
    expect_error("x\n{{#a}}\ny", c, "t:2: section {{#a}} is not closed\n");
    expect_error("{{#a}}\n{{#b}}\n{{/a}}", c,
                 "t:3: {{/a}} does not match {{#b}} of line 2\n");
    expect_error("ok\nok {{a", c, "t:2: unterminated tag\n");
    cr_assert_eq(template_render("{{/a}}", c, 0, "t", &out, &d), EQ_ERR_DATA);
    cr_assert_null(out);
    buf_free(&d);
    tpl_ctx_free(c);
}

Test(template, standalone_section_lines_leave_no_blank_lines)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set_bool(c, "yes", 1);
    tpl_set_bool(c, "no", 0);
    for (int i = 1; i <= 2; i++)
        tpl_setf(tpl_add_item(c, "l"), "v", "%d", i);
    const char *text = "Top\n"
                       "  {{#yes}}  \n"
                       "in yes\n"
                       "{{/yes}}\n"
                       "{{#no}}\r\n"
                       "in no\n"
                       "{{/no}}\n"
                       "{{! a comment }}\n"
                       "{{#l}}\n"
                       "- {{v}}\n"
                       "{{/l}}\n"
                       "inline {{#yes}}kept{{/yes}} here\n"
                       "End\n"
                       "{{^no}}\n"
                       "last\n"
                       "{{/no}}";
    expect(text, c, 0, "Top\nin yes\n- 1\n- 2\ninline kept here\nEnd\nlast\n");
    tpl_ctx_free(c);
}

Test(template, standalone_close_at_end_of_text)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set_bool(c, "yes", 1);
    expect("{{#yes}}\nA\n{{/yes}}", c, 0, "A\n");
    tpl_ctx_free(c);
}

Test(template, loads_and_renders_files_by_language)
{
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};
    char *out = NULL;

    tpl_set(c, "name", "Bo & Co");
    cr_assert_eq(template_render_file(FIXTURES "/template", "nl", "hello",
                                      "html", c, &out, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(out, "<p>Hallo Bo &amp; Co</p>\n");
    free(out);
    cr_assert_eq(template_render_file(FIXTURES "/template", "en", "hello",
                                      "txt", c, &out, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(out, "Hello Bo & Co\n");
    free(out);
    cr_assert_eq(template_render_file(FIXTURES "/template", "en", "typo", "txt",
                                      c, &out, &d),
                 EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d), FIXTURES "/template/en/typo.txt:2: unknown "
                                           "variable 'nmae'\n");
    buf_reset(&d);
    cr_assert_eq(
        template_load(FIXTURES "/template", "fr", "hello", "txt", &out, &d),
        EQ_ERR_NOINPUT);
    cr_assert_null(out);
    cr_assert(strstr(buf_str(&d), FIXTURES "/template/fr/hello.txt") != NULL);
    buf_free(&d);
    tpl_ctx_free(c);
}

Test(template, shipped_confirmation_renders_with_documented_variables)
{
    const char *langs[] = {"nl", "en"}, *exts[] = {"txt", "html"};
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};

    /* The confirmation greets by first name, as the invitation does. */
    tpl_set(c, "name", "Anna de Vries");
    tpl_set(c, "first_name", "Anna");
    tpl_set(c, "provider", "ICT & Facilitair");
    tpl_set(c, "title", "Klanttevredenheid");
    tpl_set(c, "comment", "Snel <geholpen>");
    /* The page partial's: the HTML page's language and title. */
    tpl_set(c, "lang", "nl");
    tpl_set(c, "subject", "Bedankt voor uw antwoord");
    struct tpl_ctx *s = tpl_add_item(c, "scores");
    tpl_set(s, "label", "Aanbeveling");
    tpl_set(s, "value", "9");
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 2; k++) {
            char *out = NULL;
            cr_assert_eq(template_render_file(FIXTURES "/../../templates",
                                              langs[i], "confirmation", exts[k],
                                              c, &out, &d),
                         EQ_OK, "%s", buf_str(&d));
            cr_assert(strstr(out, "Aanbeveling") != NULL);
            cr_assert(strstr(out, "Anna de Vries") == NULL, "%s", out);
            if (k == 0) {
                cr_assert(strncmp(out, "Subject: ", 9) == 0);
                cr_assert(strstr(out, i ? "Hi Anna," : "Beste Anna,") != NULL,
                          "%s", out);
                cr_assert(strstr(out, "Snel <geholpen>") != NULL);
                cr_assert(strstr(out, "\n\n\n") == NULL, "%s", out);
            } else {
                cr_assert(strstr(out, "ICT &amp; Facilitair") != NULL);
                cr_assert(strstr(out, "Snel &lt;geholpen&gt;") != NULL);
                cr_assert(
                    strstr(out, "<title>Bedankt voor uw antwoord</title>") !=
                    NULL);
            }
            free(out);
        }
    buf_free(&d);
    tpl_ctx_free(c);
}

/* --- partials --------------------------------------------------------- */

#define TPL FIXTURES "/template"

/* Renders TPL/LANG/NAME.EXT against ctx and expects exactly want. */
static void
expect_file(const char *lang, const char *name, const char *ext,
            const struct tpl_ctx *ctx, const char *want)
{
    struct eq_buf d = {0};
    char *out = NULL;

    cr_assert_eq(template_render_file(TPL, lang, name, ext, ctx, &out, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(out, want);
    free(out);
    buf_free(&d);
}

/* Expects TPL/LANG/NAME.txt to fail with exactly these diagnostics. */
static void
expect_file_error(const char *lang, const char *name, const struct tpl_ctx *ctx,
                  const char *want)
{
    struct eq_buf d = {0};
    char *out = NULL;

    cr_assert_eq(template_render_file(TPL, lang, name, "txt", ctx, &out, &d),
                 EQ_ERR_DATA);
    cr_assert_null(out);
    cr_assert_str_eq(buf_str(&d), want);
    buf_free(&d);
}

static struct tpl_ctx *
partial_ctx(void)
{
    struct tpl_ctx *c = tpl_ctx_new();

    tpl_set(c, "name", "Bo & Co");
    tpl_set(c, "team", "HR");
    for (int i = 1; i <= 2; i++)
        tpl_setf(tpl_add_item(c, "items"), "v", "%d", i);
    return c;
}

Test(template, partials_come_from_the_language_then_the_shared_dir)
{
    struct tpl_ctx *c = partial_ctx();

    /* greet from nl/, sig and item from partials/; a standalone partial
     * line leaves no blank line; item sees the list item and the outer
     * context. */
    expect_file("nl", "page", "txt", c,
                "Hoi Bo & Co,\n- 1 (Bo & Co)\n- 2 (Bo & Co)\n-- HR\n");
    /* The extension follows the including template, escaping too. */
    expect_file("nl", "page", "html", c,
                "<p><b>Bo &amp; Co</b> <i>HR</i></p>\n");
    expect_file_error("en", "page", c,
                      TPL "/en/page.txt:1: partial 'greet' not found (" TPL
                          "/en/greet.txt, " TPL "/partials/greet.txt)\n");
    tpl_ctx_free(c);
}

Test(template, errors_in_a_partial_name_the_partial_file_and_line)
{
    struct tpl_ctx *c = partial_ctx();

    expect_file_error("nl", "usetypo", c,
                      TPL "/nl/typo.txt:2: unknown variable 'nmae'\n");
    expect_file_error("nl", "useunclosed", c,
                      TPL "/partials/unclosed.txt:1: section {{#open}} is not "
                          "closed\n");
    expect_file_error("nl", "missing", c,
                      TPL "/nl/missing.txt:2: partial 'nope' not found (" TPL
                          "/nl/nope.txt, " TPL "/partials/nope.txt)\n");
    tpl_ctx_free(c);
}

Test(template, partial_cycles_are_errors)
{
    struct tpl_ctx *c = partial_ctx();

    expect_file_error("nl", "self", c,
                      TPL "/nl/self.txt:1: partial 'self' includes itself\n");
    expect_file_error("nl", "loop_a", c,
                      TPL "/nl/loop_b.txt:2: partial 'loop_a' includes "
                          "itself\n");
    tpl_ctx_free(c);
}

Test(template, partials_need_a_source_and_a_plain_name)
{
    struct tpl_ctx *c = partial_ctx();

    expect_error("a\n{{> greet}}", c,
                 "t:2: partial 'greet': no template directory to load it "
                 "from\n");
    expect_error("{{> ../etc/passwd}}", c,
                 "t:1: partial name '../etc/passwd' may only hold letters, "
                 "digits, '-' and '_'\n");
    /* template_render_src finds them and takes html mode from ext. */
    struct tpl_source src = {TPL, "nl", "html"};
    char *out = NULL;
    cr_assert_eq(template_render_src("[{{> greet}}]", c, &src, "x", &out, NULL),
                 EQ_OK);
    cr_assert_str_eq(out, "[<b>Bo &amp; Co</b>]");
    free(out);
    tpl_ctx_free(c);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(template, partials_nest_eight_deep_and_no_deeper)
{
    char dir[] = "/tmp/tpl-depth-XXXXXX", path[256], text[64];
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};
    char *out = NULL;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/nl", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    /* d0 (the template) includes d1, …, d8 includes nothing. */
    for (int i = 0; i <= 9; i++) {
        snprintf(path, sizeof(path), "%s/nl/d%d.txt", dir, i);
        snprintf(text, sizeof(text), i < 8 ? "%d{{> d%d}}" : "%d", i, i + 1);
        write_file(path, text);
    }
    cr_assert_eq(template_render_file(dir, "nl", "d0", "txt", c, &out, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(out, "012345678");
    free(out);
    snprintf(path, sizeof(path), "%s/nl/d8.txt", dir);
    write_file(path, "8{{> d9}}");
    cr_assert_eq(template_render_file(dir, "nl", "d0", "txt", c, &out, &d),
                 EQ_ERR_DATA);
    snprintf(text, sizeof(text), "/nl/d8.txt:1: partial 'd9': partials");
    cr_assert(strstr(buf_str(&d), text) != NULL, "%s", buf_str(&d));
    cr_assert(strstr(buf_str(&d), "nested deeper than 8\n") != NULL);
    for (int i = 0; i <= 9; i++) {
        snprintf(path, sizeof(path), "%s/nl/d%d.txt", dir, i);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/nl", dir);
    rmdir(path);
    rmdir(dir);
    buf_free(&d);
    tpl_ctx_free(c);
}

/* The cache trusts an entry until its directory reports a change: an
 * editor that saves by writing a new file and renaming it over the old one,
 * or a partial added to the language folder, shows on the next render. */
Test(template, cached_template_replaced_by_rename_is_read_again)
{
    char dir[] = "/tmp/tpl-rename-XXXXXX", path[256], tmp[256];
    struct tpl_ctx *c = tpl_ctx_new();
    struct eq_buf d = {0};
    char *out = NULL;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/en", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/en/t.txt", dir);
    write_file(path, "one");
    for (int round = 0; round < 2; round++) { /* the second from the cache */
        cr_assert_eq(template_render_file(dir, "en", "t", "txt", c, &out, &d),
                     EQ_OK, "%s", buf_str(&d));
        cr_assert_str_eq(out, "one");
        free(out);
    }
    snprintf(tmp, sizeof(tmp), "%s/en/.t.txt.swp", dir);
    write_file(tmp, "two {{> p}}");
    cr_assert_eq(rename(tmp, path), 0);
    snprintf(tmp, sizeof(tmp), "%s/en/p.txt", dir);
    write_file(tmp, "and a partial");
    cr_assert_eq(template_render_file(dir, "en", "t", "txt", c, &out, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(out, "two and a partial");
    free(out);
    unlink(tmp);
    unlink(path);
    snprintf(path, sizeof(path), "%s/en", dir);
    rmdir(path);
    rmdir(dir);
    buf_free(&d);
    tpl_ctx_free(c);
}

/* --- check mode ------------------------------------------------------- */

Test(template, check_reports_every_error_in_every_branch_once)
{
    struct tpl_ctx *s1 = tpl_ctx_new(), *s2 = tpl_ctx_new();
    struct eq_buf d = {0};

    /* s1 opens {{#yes}}, s2 opens {{^yes}}; neither opens {{#no}} or the
     * false "empty" (a bool standing for an empty list). */
    tpl_set(s1, "title", "T");
    tpl_set(s1, "name", "Anna");
    tpl_set_bool(s1, "yes", 1);
    tpl_set_bool(s1, "no", 0);
    tpl_setf(tpl_add_item(s1, "items"), "v", "%d", 1);
    tpl_set_bool(s1, "empty", 0);
    tpl_set(s2, "title", "T");
    tpl_set(s2, "name", "");
    tpl_set_bool(s2, "yes", 0);
    tpl_set_bool(s2, "no", 0);
    tpl_set_bool(s2, "items", 0);
    tpl_set_bool(s2, "empty", 0);
    const struct tpl_ctx *samples[] = {s1, s2};
    cr_assert_eq(template_check_file(TPL, "nl", "check", "txt", samples, 2, &d),
                 EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d),
                     TPL "/nl/check.txt:3: unknown variable 'nmae'\n" TPL
                         "/nl/check.txt:6: unknown variable 'tilte'\n" TPL
                         "/nl/check.txt:9: unknown variable 'provder'\n" TPL
                         "/nl/check.txt:12: unknown variable 'vv'\n" TPL
                         "/nl/check.txt:15: unknown variable 'w'\n" TPL
                         "/nl/typo.txt:2: unknown variable 'nmae'\n" TPL
                         "/nl/check.txt:18: unknown section 'ghost'\n");
    buf_free(&d);
    tpl_ctx_free(s1);
    tpl_ctx_free(s2);
}

Test(template, check_is_strict_where_a_sample_renders)
{
    struct tpl_ctx *with = tpl_ctx_new(), *without = tpl_ctx_new();
    struct tpl_ctx *p = partial_ctx();
    struct eq_buf d = {0};

    tpl_set(with, "name", "x");
    const struct tpl_ctx *one[] = {with}, *both[] = {with, without};
    cr_assert_eq(template_check_file(TPL, "nl", "hello", "html", one, 1, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_str_eq(buf_str(&d), "");
    /* A sample that really renders {{name}} without having it. */
    cr_assert_eq(template_check_file(TPL, "nl", "hello", "html", both, 2, &d),
                 EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d),
                     TPL "/nl/hello.html:1: unknown variable 'name'\n");
    buf_reset(&d);
    const struct tpl_ctx *pp[] = {p};
    cr_assert_eq(template_check_file(TPL, "nl", "page", "txt", pp, 1, &d),
                 EQ_OK, "%s", buf_str(&d));
    cr_assert_eq(template_check_file(TPL, "nl", "loop_a", "txt", pp, 1, &d),
                 EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d), TPL "/nl/loop_b.txt:2: partial 'loop_a' "
                                      "includes itself\n");
    buf_free(&d);
    tpl_ctx_free(with);
    tpl_ctx_free(without);
    tpl_ctx_free(p);
}
