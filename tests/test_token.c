#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

/* A fixed valid token written by hand: 26 characters, none of i l o u. */
#define TOK "0123456789abcdefghjkmnpqrs"
#define TOK_UPPER "0123456789ABCDEFGHJKMNPQRS"

static int
cmp_tokens(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Asserts that token_find() finds nothing in text. */
static void
assert_no_token(const char *text)
{
    char out[TOKEN_LEN + 1];

    cr_assert_eq(token_find(text, out), -1, "%s", text);
}

Test(token, new_tokens_use_the_alphabet_and_are_unique)
{
    enum { N = 10000 };
    char(*toks)[TOKEN_LEN + 1] = calloc(N, sizeof *toks);
    int seen[256] = {0};

    cr_assert_not_null(toks);
    for (int i = 0; i < N; i++) {
        cr_assert_eq(token_new(toks[i]), EQ_OK);
        cr_assert_eq(strlen(toks[i]), TOKEN_LEN);
        for (int j = 0; j < TOKEN_LEN; j++) {
            char c = toks[i][j];
            cr_assert((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'),
                      "bad char %c", c);
            cr_assert(strchr("ilou", c) == NULL, "excluded letter %c", c);
            seen[(unsigned char)c]++;
        }
        cr_assert(token_valid(toks[i]));
    }
    qsort(toks, N, sizeof *toks, cmp_tokens);
    for (int i = 1; i < N; i++)
        cr_assert_str_neq(toks[i - 1], toks[i]);
    /* 260,000 characters over 32 symbols, about 8,125 each: every symbol
     * must show up. */
    int distinct = 0;
    for (int c = 0; c < 256; c++)
        distinct += seen[c] > 0;
    cr_assert_eq(distinct, 32);
    free(toks);
}

Test(token, last_character_is_random_too)
{
    /* 130 bits = 26 * 5: the 26th character carries five random bits like
     * the others; a bug that ran out of bytes would pin it to a few values. */
    int seen[256] = {0}, distinct = 0;
    char t[TOKEN_LEN + 1];
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(token_new(t), EQ_OK);
        seen[(unsigned char)t[TOKEN_LEN - 1]] = 1;
    }
    for (int c = 0; c < 256; c++)
        distinct += seen[c];
    cr_assert_gt(distinct, 16);
}

Test(token, valid_checks_length_and_alphabet)
{
    cr_assert(token_valid(TOK));
    cr_assert(token_valid(TOK_UPPER));
    cr_assert_not(token_valid("0123456789abcdefghjkmnpqr"));   /* 25 */
    cr_assert_not(token_valid("0123456789abcdefghjkmnpqrst")); /* 27 */
    cr_assert_not(token_valid("0123456789abcdefghjkmnpqri"));
    cr_assert_not(token_valid("0123456789abcdefghjkmnpqrl"));
    cr_assert_not(token_valid("0123456789abcdefghjkmnpqro"));
    cr_assert_not(token_valid("0123456789abcdefghjkmnpqru"));
    cr_assert_not(token_valid(""));
    cr_assert_not(token_valid(NULL));
}

Test(token, finds_subject_tag)
{
    char out[TOKEN_LEN + 1];
    cr_assert_eq(token_find("Re: Hoe was IT? [#" TOK "]", out), 0);
    cr_assert_str_eq(out, TOK);
}

Test(token, finds_plus_address)
{
    char out[TOKEN_LEN + 1];
    cr_assert_eq(token_find("To: <enquete+" TOK "@org.example>", out), 0);
    cr_assert_str_eq(out, TOK);
}

Test(token, finds_every_message_id_form)
{
    char out[TOKEN_LEN + 1];
    const char *forms[] = {
        "In-Reply-To: <inv." TOK "@org.example>",
        "References: <rem.2." TOK "@org.example>",
        "<dig." TOK "@org.example>",
        "<ack." TOK ".3@org.example>",
        "In-Reply-To: <act." TOK "@org.example>",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        memset(out, 0, sizeof out);
        cr_assert_eq(token_find(forms[i], out), 0, "%s", forms[i]);
        cr_assert_str_eq(out, TOK);
    }
}

Test(token, folds_uppercase)
{
    char out[TOKEN_LEN + 1];
    cr_assert_eq(token_find("SUBJECT [#" TOK_UPPER "]", out), 0);
    cr_assert_str_eq(out, TOK);
    cr_assert_eq(token_find("<INV." TOK_UPPER "@ORG>", out), 0);
    cr_assert_str_eq(out, TOK);
}

Test(token, bare_token_is_not_found)
{
    assert_no_token("your code is " TOK " thanks");
    assert_no_token(TOK);
    assert_no_token("[" TOK "]");
    assert_no_token("#" TOK);
}

Test(token, longer_or_shorter_runs_are_not_found)
{
    assert_no_token("[#" TOK "t]");
    assert_no_token("a+" TOK "t@org");
    assert_no_token("[#0123456789abcdefghjkmnpqr]");
    assert_no_token("<inv.x" TOK "@org>");
    assert_no_token("<ack." TOK "@org>");
    assert_no_token("<rem." TOK "@org>");
    assert_no_token("<exact." TOK "@org>");
}

Test(token, excluded_letters_are_rejected)
{
    assert_no_token("[#0123456789abcdefghjkmnpqri]");
    assert_no_token("x+0123456789abcdefghjkmnpqrl@org");
    assert_no_token("<inv.0123456789abcdefghjkmnpqro@org>");
    assert_no_token("<dig.0123456789abcdefghjkmnpqru@org>");
}

Test(token, message_id_gives_kind)
{
    static const struct {
        const char *id, *kind;
    } ids[] = {{"<inv." TOK "@org.example>", "inv"},
               {"rem.12." TOK "@org", "rem"},
               {" <DIG." TOK_UPPER "@org> ", "dig"},
               {"<ack." TOK ".1@org>", "ack"},
               {"<act." TOK "@org>", "act"}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char out[TOKEN_LEN + 1], kind[4];
        cr_assert_eq(token_from_message_id(ids[i].id, out, kind), 0, "%s",
                     ids[i].id);
        cr_assert_str_eq(out, TOK, "%s", ids[i].id);
        cr_assert_str_eq(kind, ids[i].kind);
    }
}

Test(token, foreign_message_ids_are_not_ours)
{
    static const char *const ids[] = {"<CAF3x@mail.gmail.com>",
                                      "<inv." TOK "@>",
                                      "<inv." TOK "@org",
                                      "<foo.inv." TOK "@org>",
                                      "<rem.x." TOK "@org>",
                                      "<ack." TOK ".@org>",
                                      ""};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char out[TOKEN_LEN + 1], kind[4];
        cr_assert_eq(token_from_message_id(ids[i], out, kind), -1, "%s",
                     ids[i]);
    }
}
