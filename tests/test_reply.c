#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "reply.h"

static const struct reply_metric metrics[] = {
    {"nps", "Aanbevelen", "Recommend", 0, 10},
    {"ces", "Gemak", "Ease", 1, 7},
    {"csat", "Tevredenheid", "Satisfaction", 1, 5},
};

/* The text of tests/fixtures/reply/name (caller frees). */
static char *
slurp(const char *name)
{
    char rel[256];

    snprintf(rel, sizeof rel, "reply/%s", name);
    return th_fixture(rel, NULL);
}

/* "nps=8,ces=6" or "" */
static void
assert_scores(const struct reply_answer *a, const char *want, const char *ctx)
{
    char got[256] = "";
    size_t len = 0;

    for (size_t i = 0; i < a->n_scores; i++)
        len +=
            (size_t)snprintf(got + len, sizeof got - len, "%s%s=%d",
                             i ? "," : "", a->scores[i].id, a->scores[i].score);
    cr_assert_str_eq(got, want, "%s: scores", ctx);
}

struct case_ {
    const char *file;
    size_t n_metrics;
    const char *scores;
    int not_applicable;
    int needs_review;
    const char *comment;
};

/* Expected values written by hand from reading each fixture. */
static const struct case_ cases[] = {
    {"outlook_nl.txt", 1, "nps=8", 0, 0, "de helpdesk reageerde snel"},
    {"gmail_nl.txt", 1, "nps=7", 0, 0,
     "Ik geef een 7, het duurde wel 3 dagen voordat iemand reageerde."},
    {"gmail_nl_wrapped.txt", 1, "nps=9", 0, 0, ""},
    {"apple_nl_iphone.txt", 1, "nps=8", 0, 0, "Jan hielp me meteen."},
    {"gmail_en.txt", 1, "nps=7", 0, 0, "quick, but I had to ask twice."},
    {"iphone_en.txt", 1, "nps=10", 0, 0, ""},
    {"dash_signature_phone.txt", 1, "nps=9", 0, 0,
     "top, Marieke wist het meteen"},
    {"greeting_second_line.txt", 1, "nps=8", 0, 0, "Dank voor het vragen!"},
    {"top_posted_middle.txt", 1, "nps=5", 0, 0,
     "Eerlijk gezegd viel het tegen, ik geef een 5 omdat mijn laptop pas na "
     "twee weken terug was."},
    {"range_review.txt", 1, "", 0, 1,
     "Tussen 6 en 8, hangt ervan af wie je treft."},
    {"words_range_review.txt", 1, "", 0, 1, "Zes of zeven."},
    {"nvt.txt", 1, "", 1, 0, "ik heb dit jaar geen contact gehad met Finance"},
    {"decimal.txt", 1, "", 0, 1, ""},
    {"out_of_range.txt", 1, "", 0, 1, "Beter kan niet."},
    {"quote_only.txt", 1, "", 0, 1, ""},
    {"sequence_three.txt", 3, "nps=9,ces=6,csat=4", 0, 0,
     "prima service, alleen de wachttijd was lang"},
    {"sequence_lines.txt", 3, "nps=10,ces=5,csat=3", 0, 0, ""},
    {"labelled.txt", 3, "nps=9,ces=6", 0, 0, "snel en vriendelijk"},
    {"word_english.txt", 1, "nps=8", 0, 0, "Very helpful people."},
    {"time_trap.txt", 1, "", 0, 1, "8.45am-1pm"},
    {"date_trap.txt", 1, "", 0, 1,
     "Afspraak staat op 10/19/2017 @ 9:30 am, ik kom dan langs."},
    {"times_and_score.txt", 1, "nps=9", 0, 0,
     "Ik stond er om 8.45 uur en was om 9:30 geholpen, dus een 9."},
    {"bottom_posted.txt", 1, "nps=6", 0, 0, "took a while"},
    {"outlook_en_original.txt", 1, "nps=3", 0, 0, ""},
    {"forwarded.txt", 1, "nps=6", 0, 0, "Zie hieronder wat ik eerder kreeg."},
    {"phone_in_text.txt", 1, "nps=4", 0, 0,
     "Bel me even op 06-12345678 of +31 20 123 4567, ik geef een 4."},
    {"number_later_paragraph.txt", 1, "", 0, 1,
     "Ik weet het niet goed.\n\nMisschien een 7, maar vraag het me volgende "
     "maand nog eens."},
    {"bold_outlook_header.txt", 1, "nps=9", 0, 0, "Prima geholpen: 9"},
};

Test(reply, fixtures_read_as_written_by_hand)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct case_ *c = &cases[i];
        char *body = slurp(c->file);
        struct reply_answer a;

        cr_assert_eq(reply_read(body, metrics, c->n_metrics, &a), EQ_OK, "%s",
                     c->file);
        assert_scores(&a, c->scores, c->file);
        cr_assert_eq(a.not_applicable, c->not_applicable, "%s: n.v.t.",
                     c->file);
        cr_assert_eq(a.needs_review, c->needs_review, "%s: review (%s)",
                     c->file, a.review_reason);
        cr_assert_str_eq(a.comment, c->comment, "%s: comment", c->file);
        reply_answer_clear(&a);
        free(body);
    }
}

/* Reads one inline body against the three metrics. */
static void
read3(const char *body, size_t n, struct reply_answer *a)
{
    cr_assert_eq(reply_read(body, metrics, n, a), EQ_OK);
}

/* Strips fixture file and expects exactly want. */
static void
expect_stripped(const char *file, const char *want)
{
    char *body = slurp(file), *out;
    cr_assert_eq(reply_strip(body, &out), EQ_OK);
    cr_assert_str_eq(out, want);
    free(out);
    free(body);
}

/* Reads body against the first n metrics and checks only its scores. */
static void
expect_scores(const char *body, size_t n, const char *want, const char *ctx)
{
    struct reply_answer a;
    read3(body, n, &a);
    assert_scores(&a, want, ctx);
    reply_answer_clear(&a);
}

/* Reads body against the first n metrics and expects it to need review with
 * these scores and, unless reason is NULL, this reason. */
static void
expect_review(const char *body, size_t n, const char *want, const char *reason)
{
    struct reply_answer a;
    read3(body, n, &a);
    assert_scores(&a, want, body);
    cr_assert(a.needs_review, "%s", body);
    if (reason != NULL)
        cr_assert_str_eq(a.review_reason, reason);
    reply_answer_clear(&a);
}

Test(reply, strips_outlook_block_and_crlf)
{
    expect_stripped("outlook_nl.txt", "8 - de helpdesk reageerde snel");
}

Test(reply, strip_keeps_greeting_but_text_drops_it)
{
    char *body = slurp("gmail_nl.txt"), *out;
    struct reply_answer a;
    cr_assert_eq(reply_strip(body, &out), EQ_OK);
    cr_assert_str_eq(out, "Hoi,\n\nIk geef een 7, het duurde wel 3 dagen "
                          "voordat iemand reageerde.");
    read3(body, 1, &a);
    cr_assert_str_eq(a.text, "Ik geef een 7, het duurde wel 3 dagen voordat "
                             "iemand reageerde.");
    reply_answer_clear(&a);
    free(out);
    free(body);
}

Test(reply, strips_wrapped_gmail_attribution)
{
    expect_stripped("gmail_nl_wrapped.txt", "9");
}

Test(reply, strips_closing_with_signature_block)
{
    expect_stripped("top_posted_middle.txt",
                    "Eerlijk gezegd viel het tegen, ik geef een 5 "
                    "omdat mijn laptop pas na twee weken terug was.");
}

Test(reply, strips_attribution_sharing_the_reply_line)
{
    char *out;
    cr_assert_eq(reply_strip("reply On Wed, Apr 4, 2012 at 3:59 PM, "
                             "bob@example.com wrote:\n> Hi\n",
                             &out),
                 EQ_OK);
    cr_assert_str_eq(out, "reply");
    free(out);
}

Test(reply, reads_number_followed_by_punctuation)
{
    const char *bodies[] = {"8",        "8.",      "8!",
                            "8 -",      "8\n",     "8 \xe2\x80\x94 ok",
                            "8, prima", "8: prima"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct reply_answer a;
        read3(bodies[i], 1, &a);
        assert_scores(&a, "nps=8", bodies[i]);
        cr_assert_eq(a.needs_review, 0, "%s", bodies[i]);
        reply_answer_clear(&a);
    }
}

Test(reply, reads_dutch_and_english_number_words)
{
    const char *bodies[] = {"nul", "een",   "twee", "drie",  "vier", "vijf",
                            "zes", "zeven", "acht", "negen", "tien"};
    const char *en[] = {"zero", "one",   "two",   "three", "four", "five",
                        "six",  "seven", "eight", "nine",  "ten"};
    for (int i = 0; i <= 10; i++) {
        char want[16];
        snprintf(want, sizeof want, "nps=%d", i);
        expect_scores(bodies[i], 1, want, bodies[i]);
        expect_scores(en[i], 1, want, en[i]);
    }
}

Test(reply, article_een_is_not_a_one)
{
    expect_scores("Een snelle reactie, ik geef een 8.", 1, "nps=8", "article");
    expect_scores("Ten minste een 9 waard", 1, "nps=9", "ten minste");
}

Test(reply, fraction_must_match_the_scale)
{
    expect_scores("7/10", 1, "nps=7", "7/10");
    expect_scores("Ik geef het een 8 van de 10", 1, "nps=8", "8 van de 10");
    expect_review("4/5", 1, "", NULL);
}

Test(reply, decimal_without_space_is_not_a_sequence)
{
    struct reply_answer a;
    expect_review("9,6", 2, "", "decimal score");
    read3("9, 6", 2, &a);
    assert_scores(&a, "nps=9,ces=6", "9, 6");
    cr_assert_not(a.needs_review);
    reply_answer_clear(&a);
    expect_review("Ik geef een 7.5", 1, "", NULL);
}

Test(reply, sequence_longer_than_metrics_needs_review)
{
    expect_review("9 6 4", 2, "", NULL);
}

Test(reply, sequence_checks_each_range)
{
    /* ces is 1-7: 8 is out of range */
    expect_review("9 8 4", 3, "nps=9,csat=4", "score out of range");
}

Test(reply, start_number_comment_keeps_its_numbers)
{
    struct reply_answer a;
    read3("8 - wel 2 keer moeten bellen", 1, &a);
    assert_scores(&a, "nps=8", "8 -");
    cr_assert_str_eq(a.comment, "wel 2 keer moeten bellen");
    reply_answer_clear(&a);
}

Test(reply, labels_by_name_and_generic)
{
    struct reply_answer a;
    expect_scores("Gemak: 5\nTevredenheid = 4", 3, "ces=5,csat=4", "labels");
    read3("Cijfer: 8 - prima", 3, &a);
    assert_scores(&a, "nps=8", "Cijfer");
    cr_assert_str_eq(a.comment, "prima");
    reply_answer_clear(&a);
    expect_scores("nps=8", 1, "nps=8", "nps=8");
    read3("NPS: nvt", 1, &a);
    cr_assert(a.not_applicable);
    reply_answer_clear(&a);
}

Test(reply, not_applicable_forms)
{
    const char *bodies[] = {"n.v.t.",
                            "nvt",
                            "N/A",
                            "Not applicable",
                            "NVT, geen contact gehad",
                            "Geen contact gehad."};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct reply_answer a;
        read3(bodies[i], 1, &a);
        cr_assert(a.not_applicable, "%s", bodies[i]);
        cr_assert_eq(a.n_scores, 0, "%s", bodies[i]);
        cr_assert_not(a.needs_review, "%s", bodies[i]);
        reply_answer_clear(&a);
    }
}

Test(reply, comment_label_is_dropped)
{
    struct reply_answer a;
    read3("6\nToelichting: de wachttijd was lang", 1, &a);
    cr_assert_str_eq(a.comment, "de wachttijd was lang");
    reply_answer_clear(&a);
    read3("6 Comment: fine", 1, &a);
    cr_assert_str_eq(a.comment, "fine");
    reply_answer_clear(&a);
}

Test(reply, empty_body_needs_review)
{
    struct reply_answer a;
    read3("", 1, &a);
    cr_assert(a.needs_review);
    cr_assert_str_eq(a.review_reason, "no answer");
    cr_assert_str_eq(a.comment, "");
    cr_assert_str_eq(a.text, "");
    reply_answer_clear(&a);
}

Test(reply, clear_is_null_safe)
{
    reply_answer_clear(NULL);
}
