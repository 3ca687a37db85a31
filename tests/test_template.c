#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

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

    tpl_set(c, "name", "Anna");
    tpl_set(c, "provider", "ICT & Facilitair");
    tpl_set(c, "title", "Klanttevredenheid");
    tpl_set(c, "comment", "Snel <geholpen>");
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
            if (k == 0) {
                cr_assert(strncmp(out, "Subject: ", 9) == 0);
                cr_assert(strstr(out, "Snel <geholpen>") != NULL);
                cr_assert(strstr(out, "\n\n\n") == NULL, "%s", out);
            } else {
                cr_assert(strstr(out, "ICT &amp; Facilitair") != NULL);
                cr_assert(strstr(out, "Snel &lt;geholpen&gt;") != NULL);
            }
            free(out);
        }
    buf_free(&d);
    tpl_ctx_free(c);
}
