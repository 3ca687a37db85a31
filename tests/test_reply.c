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

/* Strips each body[i] and expects want[i]. */
static void
expect_strips(const char *const *bodies, const char *const *wants, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *out;
        cr_assert_eq(reply_strip(bodies[i], &out), EQ_OK, "%s", bodies[i]);
        cr_assert_str_eq(out, wants[i], "stripping:\n%s", bodies[i]);
        free(out);
    }
}

#define EXPECT_STRIPS(b, w)                                                    \
    do {                                                                       \
        cr_assert_eq(sizeof(b) / sizeof(b)[0], sizeof(w) / sizeof(w)[0]);      \
        expect_strips(b, w, sizeof(b) / sizeof(b)[0]);                         \
    } while (0)

Test(reply, strips_russian_and_ukrainian_quote_headers)
{
    const char *bodies[] = {
        /* Android Gmail, wrapped before the address */
        "8, всё хорошо\n\n3 нояб. 2026 г. 10:05 пользователь \"Отдел "
        "ИТ\" <\nit@example.org> написал:\n\n> Оцените нас\n",
        /* Gmail web: date, name and address, no verb */
        "Спасибо, 9\n\nвт, 3 нояб. 2026 г. в 10:05, Отдел ИТ "
        "<it@example.org>:\n\n> Оцените нас\n",
        /* no address at all, only the user name */
        "Быстро помогли.\n\nвторник, 3 ноября 2026 г. пользователь Ольга "
        "написала:\n\n> Оцените нас\n",
        /* Ukrainian Gmail */
        "Дякую, 7\n\n3 лист. 2026 р. 10:05 \"Відділ ІТ\" <it@example.org> "
        "пише:\n\n> Оцініть нас\n",
    };
    const char *wants[] = {"8, всё хорошо", "Спасибо, 9", "Быстро помогли.",
                           "Дякую, 7"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, strips_quote_headers_in_more_languages)
{
    const char *bodies[] = {
        "Tack, 8\n\nDen tis 3 nov. 2026 kl 10:05 skrev Helpdesk "
        "<it@example.org>:\n\n> Hur var det?\n",
        "Gràcies\n\nEl 03/11/2026 10:05, Helpdesk <it@example.org> ha "
        "escrit:\n\n> Com va anar?\n",
        "Dzięki\n\nW dniu 2026-11-03 10:05, it@example.org pisze:\n\n> Jak "
        "było?\n",
        "Díky\n\nDne 3. 11. 2026 v 10:05 Helpdesk <it@example.org> "
        "napsal(a):\n\n> Jak to šlo?\n",
        "Köszönöm\n\n2026.11.03. 10:05 keltezéssel, Helpdesk írta:\n\n> "
        "Milyen volt?\n",
        "Cảm ơn\n\nVào 10:05 3 tháng 11, 2026, Helpdesk <it@example.org> đã "
        "viết:\n\n> Thế nào?\n",
        "谢谢\n\n在 2026年11月3日，上午10:05，Helpdesk <it@example.org> "
        "写道：\n\n> 怎么样？\n",
        "ありがとう\n\n2026/11/03 10:05、Helpdesk <it@example.org> "
        "のメッセージ:\n\n> どうでしたか\n",
        "감사합니다\n\n2026. 11. 3. 오전 10:05 Helpdesk <it@example.org> "
        "작성:\n\n> 어땠어요?\n",
    };
    const char *wants[] = {"Tack, 8", "Gràcies",    "Dzięki",
                           "Díky",    "Köszönöm",   "Cảm ơn",
                           "谢谢",    "ありがとう", "감사합니다"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, strips_dated_attribution_without_address_or_colon)
{
    const char *bodies[] = {
        /* Eudora style: a date and "you wrote:", no address */
        "Fine by me\n\nAt 14:05 on 3/11/2026, you wrote:\n>Any news?\n",
        /* the colon lost, the address kept */
        "Fine by me\n\nOn Tue, 3 Nov 2026 10:05:11 +0100 Helpdesk "
        "<it@example.org> wrote\n\nAny news?\n",
        /* Gmail date-first, colon lost */
        "Fine by me\n2026/11/3 Helpdesk <it@example.org>\n\n> Any news?\n",
        /* Gmail date-first, address lost */
        "Fine by me\n\n2026-11-03 10:05 GMT+01:00 Helpdesk\n\nAny news?\n",
    };
    const char *wants[] = {"Fine by me", "Fine by me", "Fine by me",
                           "Fine by me"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, joins_attributions_wrapped_over_odd_lines)
{
    const char *bodies[] = {
        /* the closing ">:" wrapped onto a line of its own */
        "Sehr gut\n\nAm Di., 3. Nov. 2026 um 10:05 Uhr schrieb Helpdesk "
        "<it@example.org\n>:\n\n> Wie war es?\n",
        /* the address put in a paragraph of its own (Polymail) */
        "Quick help\n\nOn Tue, Nov 3, 2026 at 10:05 AM Helpdesk\n\n<\n"
        "mailto:Helpdesk <it@example.org>\n> wrote:\nHow was it?\n",
        /* Finnish: the date opens the first line, the address the next */
        "Kiitos\n\nti 3. marraskuuta 2026 klo 10.05 Helpdesk\n"
        "<it@example.org> kirjoitti:\n\nMiten meni?\n",
    };
    const char *wants[] = {"Sehr gut", "Quick help", "Kiitos"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, wrapped_attribution_does_not_swallow_the_reply_above)
{
    const char *bodies[] = {
        /* the reply ends a sentence right above the attribution */
        "Mail me at piet@example.org if you need more. I am back on the\n"
        "fifth...\nOp 3 nov. 2026 10:05 schreef \"Helpdesk\" "
        "<it@example.org> het\nvolgende geschreven:\n\n> Hoe was het?\n",
        /* the reply opens like an attribution, the real one follows */
        "Am Ende gut\nAm Di., 3. Nov. 2026 um 10:05 Uhr schrieb Helpdesk <\n"
        "it@example.org>:\n\n> Wie war es?\n",
    };
    const char *wants[] = {"Mail me at piet@example.org if you need more. I "
                           "am back on the\nfifth...",
                           "Am Ende gut"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, cuts_header_blocks_in_more_languages)
{
    const char *bodies[] = {
        /* Russian Outlook */
        "Хорошо, 8\n\nОт: Отдел ИТ <it@example.org>\nОтправлено: 3 ноября "
        "2026 г. 10:05\nКому: Ольга\nТема: Опрос\n\nОцените нас\n",
        /* Swedish Outlook, capital Ä matched without case */
        "Bra, 8\n\nFRÅN: Helpdesk <it@example.org>\nSKICKAT: den 3 november "
        "2026 10:05\nTILL: Anna\nÄMNE: Enkät\n\nHur var det?\n",
        /* French webmail: the date line stands apart above the block */
        "Très bien\n\n====\n\nMessage du : 03/11/2026 10:05\n\nDe : "
        "\"Helpdesk\" <it@example.org>\nA : anne@example.fr\nObjet : "
        "Enquête\n\nComment était-ce ?\n",
    };
    const char *wants[] = {"Хорошо, 8", "Bra, 8", "Très bien"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, a_lone_from_line_with_an_address_opens_the_quote)
{
    const char *bodies[] = {
        "Prima\n\nFrom: Helpdesk <it@example.org>\n\nHow was it?\n",
        "Prima\n\nVan: it@example.org\n\nHoe was het?\n",
        /* a From line that is not an address stays */
        "Van: de afdeling Financien kreeg ik snel antwoord\n",
    };
    const char *wants[] = {"Prima", "Prima",
                           "Van: de afdeling Financien kreeg ik snel "
                           "antwoord"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, cuts_a_mailing_list_footer)
{
    const char *bodies[] = {
        "Works now.\n\n___________________\nhelp-users mailing list\n"
        "help-users@lists.example.org\n"
        "https://lists.example.org/mailman/listinfo/help-users\n",
    };
    const char *wants[] = {"Works now."};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, cuts_device_signatures_in_more_languages)
{
    const char *bodies[] = {
        "8\n\nEnvoyé depuis mon iPhone\n",
        "8\n\nEnvoyé à partir de Outlook pour Android\n",
        "8\n\nОтправлено с iPhone\n",
        "8\n\nInviato dal mio telefono\n",
        "8\n\nSent from my phone, please excuse the typos\n",
        "8\n\nVerzonden vanaf mijn telefoon, een oude Nokia\n",
        /* a sentence that starts like one is kept */
        "8\n\nSent from my kitchen table, which is where I read mail.\n",
        "9\nSent from home all week and the VPN held up fine.\n",
        "8\n\nSent from the all-new AOL app for iOS\n",
    };
    const char *wants[] = {
        "8",
        "8",
        "8",
        "8",
        "8",
        "8",
        "8\n\nSent from my kitchen table, which is where I read mail.",
        "9\nSent from home all week and the VPN held up fine.",
        "8"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, drops_invisible_tracker_characters)
{
    const char *bodies[] = {
        "Goed geholpen\n\n\xe1\x90\xa7\n",
        "Goed geholpen\xe2\x80\x8b\n\xef\xbb\xbf\n",
    };
    const char *wants[] = {"Goed geholpen", "Goed geholpen"};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, ordinary_lines_with_dates_are_not_attributions)
{
    const char *bodies[] = {
        "Op 3 november 2026 om 10:05 ben ik geholpen.\nJan deed het goed.\n",
        "On Tuesday at 10:05 it was fixed\nby Jan, who wrote back quickly\n",
        "Zoals ik al schreef:\nhet ging snel.\n",
    };
    const char *wants[] = {
        "Op 3 november 2026 om 10:05 ben ik geholpen.\nJan deed het goed.",
        "On Tuesday at 10:05 it was fixed\nby Jan, who wrote back quickly",
        "Zoals ik al schreef:\nhet ging snel."};
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, attribution_verbs_match_whole_words_only)
{
    const char *bodies[] = {
        "On the whole the service was good, but one thing is essential:\n"
        "faster laptops.\n",
        "On Monday nobody from IT was present:\nI waited two hours.\n",
        "Op de dag van de migratie was dit essentieel:\n- een werkende VPN\n",
        "Le technicien était présent le 3/11/2026 :\ntout allait bien.\n",
        "Le plus important, essentiellement:\nla vitesse.\n",
        "8\nDe presentatie die helpdesk@example.org stuurde was duidelijk, op "
        "een punt na:\nde planning.\n",
    };
    const char *wants[] = {
        "On the whole the service was good, but one thing is essential:\n"
        "faster laptops.",
        "On Monday nobody from IT was present:\nI waited two hours.",
        "Op de dag van de migratie was dit essentieel:\n- een werkende VPN",
        "Le technicien était présent le 3/11/2026 :\ntout allait bien.",
        "Le plus important, essentiellement:\nla vitesse.",
        "8\nDe presentatie die helpdesk@example.org stuurde was duidelijk, op "
        "een punt na:\nde planning.",
    };
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, first_person_lines_are_not_attributions)
{
    const char *bodies[] = {
        "In my email of 12/10/2026 I already wrote:\nthe printer on floor 2 "
        "is broken.\n",
        "Zoals ik op 3 november 2026 al schreef:\nde printer doet het niet.\n",
        "Voor de migratie van 1-12-2026 is het volgende essentieel:\neen "
        "werkende VPN.\n",
        "On 3/11/2026 I wrote to it@example.org:\nno answer yet.\n",
        /* the genuine forms stay cut */
        "Fine\n\nAt 6/16/2016 08:32 PM, you wrote:\n> Any news?\n",
        "Fine\n\nOn 3/11/2026 I. Smith <is@example.org> wrote:\n> Any news?\n",
    };
    const char *wants[] = {
        "In my email of 12/10/2026 I already wrote:\nthe printer on floor 2 "
        "is broken.",
        "Zoals ik op 3 november 2026 al schreef:\nde printer doet het niet.",
        "Voor de migratie van 1-12-2026 is het volgende essentieel:\neen "
        "werkende VPN.",
        "On 3/11/2026 I wrote to it@example.org:\nno answer yet.",
        "Fine",
        "Fine",
    };
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, wrapped_reply_text_is_not_joined_into_an_attribution)
{
    const char *bodies[] = {
        "Op zich ben ik tevreden, maar wat ik wel\nessentieel vind is een "
        "snelle laptop, als ik\nmag kiezen:\n- snellere laptops\n",
        "Op zich ging het goed, maar Jan\nschreef me pas na een week terug, "
        "als\nhet goed is:\n- te laat\n",
    };
    const char *wants[] = {
        "Op zich ben ik tevreden, maar wat ik wel\nessentieel vind is een "
        "snelle laptop, als ik\nmag kiezen:\n- snellere laptops",
        "Op zich ging het goed, maar Jan\nschreef me pas na een week terug, "
        "als\nhet goed is:\n- te laat",
    };
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, date_first_line_without_colon_needs_a_quote_below)
{
    const char *bodies[] = {
        "6\n3-11-2026 ticket gemaild naar <servicedesk@org.nl>\n10-11-2026 "
        "nog steeds geen reactie\n",
        "6\n3-11-2026 Servicedesk <servicedesk@org.nl>\nnog steeds geen "
        "reactie\n",
    };
    const char *wants[] = {
        "6\n3-11-2026 ticket gemaild naar <servicedesk@org.nl>\n10-11-2026 "
        "nog steeds geen reactie",
        "6\n3-11-2026 Servicedesk <servicedesk@org.nl>\nnog steeds geen "
        "reactie",
    };
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, header_block_needs_a_sender_line)
{
    const char *bodies[] = {
        "Data: kwijt na de migratie\nKopie: van mijn bestanden was er "
        "niet\n",
        "From: my point of view it went well\nTo: be honest, it took a "
        "while\n",
        /* a sender by name alone still opens the block */
        "Prima\n\nVan: Helpdesk\nVerzonden: dinsdag 3 november 2026 10:05\n"
        "Aan: Jan\nOnderwerp: Enquete\n\nHoe was het?\n",
    };
    const char *wants[] = {
        "Data: kwijt na de migratie\nKopie: van mijn bestanden was er niet",
        "From: my point of view it went well\nTo: be honest, it took a "
        "while",
        "Prima",
    };
    EXPECT_STRIPS(bodies, wants);
}

Test(reply, numbered_items_are_not_scores)
{
    expect_review("Werkte pas bij test 2 weer goed", 1, "", "no score");
    expect_review("Hoofdstuk 4 van de handleiding hielp", 1, "", "no score");
    /* a score in running text is still read, also before capitals */
    expect_scores("Ik geef een 8 want het ging snel", 1, "nps=8", "een 8");
    expect_scores("Ik geef een 8 MAAR de laptops zijn traag.", 1, "nps=8",
                  "8 MAAR");
    expect_scores("I'd give them a 7 OK, could be faster.", 1, "nps=7",
                  "7 OK");
    expect_scores("Ik geef jullie een 9 IT is echt top.", 1, "nps=9", "9 IT");
}

/* Outlook and Apple Mail write a no-break space where a space was typed:
 * it separates a number as a space does. */
Test(reply, a_no_break_space_before_a_number_is_a_space)
{
    expect_scores("Cijfer:\xc2\xa0" "8, snel geholpen", 1, "nps=8", "nbsp 8");
    expect_scores("Ik geef een\xc2\xa0" "7 want het ging snel", 1, "nps=7",
                  "een nbsp 7");
    expect_review("Kamer\xc2\xa0" "12 was koud", 1, "", "no score");
    expect_scores("Prima \xe2\x80\x93 9", 1, "nps=9", "en dash 9");
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

/* The answer link fills in "NPS: 3"; people press Enter twice and type. */
Test(reply, comment_after_a_blank_line_below_labelled_scores)
{
    static const struct {
        const char *body, *scores, *comment;
    } c[] = {
        {"NPS: 3\n\nIk wacht al 2 weken op een nieuwe muis.\n", "nps=3",
         "Ik wacht al 2 weken op een nieuwe muis."},
        {"Cijfer: 6\n\nOpmerking: lang gewacht op de monteur\n", "nps=6",
         "lang gewacht op de monteur"},
        {"NPS: 9 snel\n\nen vriendelijk\n", "nps=9", "snel\n\nen vriendelijk"},
        {"Gemak: 5\nTevredenheid = 4\n\nPrima.\n\nNog iets.", "ces=5,csat=4",
         "Prima.\n\nNog iets."},
        {"NPS: 8\n", "nps=8", ""},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct reply_answer a;
        read3(c[i].body, 3, &a);
        assert_scores(&a, c[i].scores, c[i].body);
        cr_assert_str_eq(a.comment, c[i].comment, "%s", c[i].body);
        reply_answer_clear(&a);
    }
}

/* Outlook's HTML often starts the answer with &nbsp;; plain text with a
 * space. */
Test(reply, white_space_before_the_answer_is_not_part_of_it)
{
    static const struct {
        const char *body, *scores, *comment;
        int nvt;
    } c[] = {
        {"\xc2\xa0" "8\xc2\xa0- snel geholpen", "nps=8", "snel geholpen", 0},
        {" 8\n", "nps=8", "", 0},
        {"\t\xc2\xa0 n.v.t.\n", "", "", 1},
        {"  7 - traag", "nps=7", "traag", 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct reply_answer a;
        read3(c[i].body, 1, &a);
        assert_scores(&a, c[i].scores, c[i].body);
        cr_assert_eq(a.not_applicable, c[i].nvt, "%s", c[i].body);
        cr_assert_str_eq(a.comment, c[i].comment, "%s", c[i].body);
        reply_answer_clear(&a);
    }
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

/* ------------------------------------------------------------------ */
/* Pathological shapes: reading must stay linear. Each body below is 2 MiB;
 * the quadratic reading this guards against took 1-3 s on 64 KiB of these
 * shapes, so 20 minutes or more on 2 MiB, while the linear one takes well
 * under a second (a few under ASan). tests/test_reply.c has no suite-wide
 * timeout and scripts/run-tests sets none, so these tests carry their own
 * .timeout: a regression fails them instead of hanging the run. */

#define BIG (2u << 20)

struct big_case {
    const char *pre, *unit, *post; /* pre + unit repeated to BIG + post */
    size_t n_metrics;
    const char *scores;
    const char *reason; /* "" when no review is wanted */
};

static char *
big_body(const struct big_case *c)
{
    size_t pl = strlen(c->pre), ul = strlen(c->unit), ql = strlen(c->post);
    char *b = malloc(pl + BIG + ql + 1), *p = b;

    cr_assert_not_null(b);
    memcpy(p, c->pre, pl);
    p += pl;
    for (size_t n = 0; n + ul <= BIG; n += ul, p += ul)
        memcpy(p, c->unit, ul);
    memcpy(p, c->post, ql);
    p[ql] = '\0';
    return b;
}

static void
expect_big(const struct big_case *cases_, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct big_case *c = &cases_[i];
        char *body = big_body(c), ctx[64];
        struct reply_answer a;

        snprintf(ctx, sizeof ctx, "%s%.8s…%s", c->pre, c->unit, c->post);
        read3(body, c->n_metrics, &a);
        assert_scores(&a, c->scores, ctx);
        cr_assert_eq(a.needs_review, c->reason[0] != '\0', "%s: review (%s)",
                     ctx, a.review_reason);
        cr_assert_str_eq(a.review_reason, c->reason, "%s", ctx);
        cr_assert_eq(strncmp(a.text, body, strlen(c->pre)), 0, "%s", ctx);
        reply_answer_clear(&a);
        free(body);
    }
}

/* Runs of dots, spaces and the like before a number: the word before a
 * number is looked up once per number, not from every position. */
Test(reply, long_runs_of_separators_read_in_linear_time, .timeout = 60)
{
    static const struct big_case c[] = {
        {"", ".", "", 1, "", "no score"},
        {"ok ", ".", " 8", 1, "nps=8", ""},
        {"ok", " ", "8 a", 1, "nps=8", ""},
        {"om", " ", "8", 1, "", "no score"},
        {"ok", "\xc2\xa0", "8", 1, "nps=8", ""},
        {"NPS: ", ".", "", 1, "", "no score"},
        {"ok ", ",", "", 1, "", "no score"},
        {"ok ", "- ", "", 1, "", "no score"},
    };
    expect_big(c, sizeof c / sizeof c[0]);
}

/* Long runs of small numbers: each could start a phone number, and the
 * run is read once, not once per number. */
Test(reply, long_number_lines_read_in_linear_time, .timeout = 60)
{
    static const struct big_case c[] = {
        {"", "1 ", "", 3, "", "more numbers than questions"},
        {"", "1, ", "", 3, "", "more numbers than questions"},
        {"", "12 ", "", 3, "", "more numbers than questions"},
    };
    expect_big(c, sizeof c / sizeof c[0]);
}

Test(reply, long_runs_of_numbers_read_in_linear_time, .timeout = 60)
{
    static const struct big_case c[] = {
        {"ok ", "1 ", "", 1, "", "several numbers"},
        {"ok ", "12 ", "", 1, "", "several numbers"},
        {"ok ", "1.2.3 ", "", 1, "", "no score"},
        {"ok ", "1(", "", 1, "", "several numbers"},
        {"ok ", "1-", "", 1, "", "no score"},
        /* one phone number after all: never a score */
        {"ok ", "1 ", "123 4567", 1, "", "no score"},
    };
    expect_big(c, sizeof c / sizeof c[0]);
}

/* A number word followed by a word of 2 MiB ("een.een.een…"): the word
 * after a number is read only as far as a unit or month can reach. */
Test(reply, long_words_after_numbers_read_in_linear_time, .timeout = 60)
{
    static const struct big_case c[] = {
        {"ok ", "een.", "", 1, "", "no score"},
        {"ok ", "acht.", "", 1, "", "several numbers"},
        {"ok 8 ", "a.", "", 1, "nps=8", ""},
        {"ok 8 ", "a", "", 1, "nps=8", ""},
        {"ok ", "8 van de ", "", 1, "", "several numbers"},
    };
    expect_big(c, sizeof c / sizeof c[0]);
}

/* Stripping looks at every line as a possible quote header, header block
 * or signature. 4 MiB bodies of lines that pass the first cheap look at
 * each (digits, addresses, dated lines with a colon, header names with a
 * colon, closings, thanks + name) are stripped whole and in linear time:
 * "Groet" lines each looked at all lines below them, so 1 MiB took minutes.
 * The result is checked here; the timeout catches a slow strip. */
Test(reply, strip_of_many_candidate_lines_in_linear_time, .timeout = 60)
{
    static const struct {
        const char *pre, *unit;
        size_t drop;      /* units at the end that go as a signature */
        const char *text; /* the result when it is not the body */
    } c[] = {
        {"", "8\n", 0, NULL},
        {"", "8 8\n", 0, NULL},
        {"", "Jan <jan@x.nl>\n", 0, NULL},
        {"", "Op 3 nov 2026 10:05 kwam Jan langs:\n", 0, NULL},
        {"", "ok:\n", 0, NULL},
        {"", "Van: mijn kant bekeken\n", 0, NULL},
        {"", "Data: kwijt 8\n", 0, NULL},
        /* the last closing with six short lines below is the signature */
        {"", "Groet\n", 7, NULL},
        /* a thanks line needs one to three lines of name below */
        {"", "Thanks\nJan\n\n", 2, NULL},
        {"8\n", "> x\n", 0, "8"},
    };
    const size_t size = 4u << 20;

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        size_t pl = strlen(c[i].pre), ul = strlen(c[i].unit), units = size / ul;
        char *body = malloc(pl + units * ul + 1), *out = NULL, *p = body;
        size_t keep = pl + (units - c[i].drop) * ul;

        cr_assert_not_null(body);
        memcpy(p, c[i].pre, pl);
        p += pl;
        for (size_t k = 0; k < units; k++, p += ul)
            memcpy(p, c[i].unit, ul);
        *p = '\0';
        cr_assert_eq(reply_strip(body, &out), EQ_OK, "%s", c[i].unit);
        if (c[i].text != NULL) {
            cr_assert_str_eq(out, c[i].text, "%s", c[i].unit);
        } else {
            /* the body up to the signature, blank line ends dropped */
            while (keep > 0 && body[keep - 1] == '\n')
                keep--;
            cr_assert_eq(strlen(out), keep, "%s", c[i].unit);
            cr_assert_eq(memcmp(out, body, keep), 0, "%s", c[i].unit);
        }
        free(out);
        free(body);
    }
}
