#include <criterion/criterion.h>
#include <string.h>

#include "action.h"
#include "csvout.h"
#include "eqtime.h"

static const char *const metrics[] = {"nps", "responsiveness", "communication"};

static struct action_reply
parse(const char *body)
{
    struct action_reply r;

    cr_assert_eq(action_parse(body, metrics, 3, NULL, &r), EQ_OK);
    return r;
}

Test(action, reads_dutch_and_english_lines_with_tag_and_due_date)
{
    struct action_reply r =
        parse("Beste HR,\n"
              "\n"
              "Actie: vast inloopspreekuur IT op dinsdag\n"
              "actie: [communication] wekelijkse nieuwsbrief tot 2027-02-01\n"
              "- Actie telefonische bereikbaarheid tot 15-3-2027\n"
              "Action: reply to tickets within a day [responsiveness] by 1 "
              "February 2027\n");

    cr_assert_eq(r.n_items, 4);
    cr_assert_str_eq(r.items[0].text, "vast inloopspreekuur IT op dinsdag");
    cr_assert_null(r.items[0].metric);
    cr_assert_eq(r.items[0].has_due, 0);
    cr_assert_str_eq(r.items[1].text, "wekelijkse nieuwsbrief");
    cr_assert_str_eq(r.items[1].metric, "communication");
    cr_assert_eq(r.items[1].due, eqtime_day_from_ymd(2027, 2, 1));
    cr_assert_str_eq(r.items[2].text, "telefonische bereikbaarheid");
    cr_assert_eq(r.items[2].due, eqtime_day_from_ymd(2027, 3, 15));
    cr_assert_str_eq(r.items[3].text, "reply to tickets within a day");
    cr_assert_str_eq(r.items[3].metric, "responsiveness");
    cr_assert_eq(r.items[3].due, eqtime_day_from_ymd(2027, 2, 1));
    cr_assert_eq(r.n_unread, 0, "greeting is skipped, not reported");
    action_reply_clear(&r);
}

Test(action, reads_done_marks_as_numbers)
{
    struct action_reply r = parse("Klaar: 2\nDone: 1, 3 en #4.\nKLAAR: 3\n");

    cr_assert_eq(r.n_items, 0);
    cr_assert_eq(r.n_done, 4);
    cr_assert_eq(r.done[0], 2);
    cr_assert_eq(r.done[1], 1);
    cr_assert_eq(r.done[2], 3);
    cr_assert_eq(r.done[3], 4);
    cr_assert_eq(r.n_unread, 0);
    action_reply_clear(&r);
}

Test(action, reports_unknown_metric_bad_date_and_free_text)
{
    struct action_reply r = parse("Actie: [sfeer] taart op vrijdag\n"
                                  "Actie: nieuwe printer tot 2027-02-30\n"
                                  "We gaan hier goed naar kijken.\n"
                                  "Klaar: de printer\n"
                                  "Actie:\n");

    cr_assert_eq(r.n_items, 0);
    cr_assert_eq(r.n_unread, 5);
    cr_assert_eq(r.unread[0].why, ACTION_BAD_METRIC);
    cr_assert_str_eq(r.unread[0].line, "Actie: [sfeer] taart op vrijdag");
    cr_assert_eq(r.unread[1].why, ACTION_BAD_DATE);
    cr_assert_eq(r.unread[2].why, ACTION_NOT_AN_ACTION);
    cr_assert_eq(r.unread[3].why, ACTION_BAD_DONE);
    cr_assert_eq(r.unread[4].why, ACTION_EMPTY);
    action_reply_clear(&r);
}

Test(action, ignores_the_quoted_digest_below_the_reply)
{
    struct action_reply r =
        parse("Actie: servicedesk ook op vrijdagmiddag open\n"
              "\n"
              "Op 6 april 2027 om 08:00 schreef HR Enquête <hr@org>:\n"
              "> Antwoord met één actie per regel, bijvoorbeeld\n"
              "> Actie: vast inloopspreekuur op dinsdag\n"
              "> Klaar: 1\n");

    cr_assert_eq(r.n_items, 1);
    cr_assert_str_eq(r.items[0].text, "servicedesk ook op vrijdagmiddag open");
    cr_assert_eq(r.n_done, 0);
    cr_assert_eq(r.n_unread, 0);
    action_reply_clear(&r);
}

Test(action, stops_at_a_line_with_the_digest_token)
{
    static const char *const none[] = {"nps"};
    struct action_reply r;
    const char *body =
        "Actie: koffieautomaat repareren\n"
        "Onderwerp: Uw resultaten 2027Q1 [#abcdefghjkmnpqrstvwxyz0123]\n"
        "Actie: voorbeeldregel uit de digest\n";

    cr_assert_eq(action_parse(body, none, 1, "abcdefghjkmnpqrstvwxyz0123", &r),
                 EQ_OK);
    cr_assert_eq(r.n_items, 1);
    cr_assert_str_eq(r.items[0].text, "koffieautomaat repareren");
    action_reply_clear(&r);
}

Test(action, keeps_running_text_words_that_look_like_due_words)
{
    struct action_reply r =
        parse("Actie: training voor de servicedesk tot nader order\n"
              "Actiepunt: (tot 1-4-2027) nieuwe laptops\n");

    cr_assert_eq(r.n_items, 2);
    cr_assert_str_eq(r.items[0].text,
                     "training voor de servicedesk tot nader order");
    cr_assert_eq(r.items[0].has_due, 0);
    cr_assert_str_eq(r.items[1].text, "nieuwe laptops");
    cr_assert_eq(r.items[1].due, eqtime_day_from_ymd(2027, 4, 1));
    action_reply_clear(&r);
}

Test(action, running_text_starting_with_actie_is_not_an_action)
{
    struct action_reply r = parse("Actie ondernemen we na het overleg.\n");

    cr_assert_eq(r.n_items, 0);
    cr_assert_eq(r.n_unread, 1);
    cr_assert_eq(r.unread[0].why, ACTION_NOT_AN_ACTION);
    action_reply_clear(&r);
}

Test(action, parses_due_date_forms)
{
    eq_day d;
    size_t used;

    cr_assert_eq(action_parse_due("2027-02-01", &d, &used), 0);
    cr_assert_eq(d, eqtime_day_from_ymd(2027, 2, 1));
    cr_assert_eq(used, 10);
    cr_assert_eq(action_parse_due("1/2/2027.", &d, &used), 0);
    cr_assert_eq(d, eqtime_day_from_ymd(2027, 2, 1));
    cr_assert_eq(used, 8);
    cr_assert_eq(action_parse_due("3 mrt 2027", &d, &used), 0);
    cr_assert_eq(d, eqtime_day_from_ymd(2027, 3, 3));
    cr_assert_eq(action_parse_due("31 April 2027", &d, &used), -2);
    cr_assert_eq(action_parse_due("5 uur", &d, &used), -1);
    cr_assert_eq(action_parse_due("nader order", &d, &used), -1);
}

Test(action, reason_texts_exist_in_both_languages)
{
    cr_assert_str_eq(action_reason_text(ACTION_BAD_DATE, "en"),
                     "not a real date");
    cr_assert_str_eq(action_reason_text(ACTION_BAD_DATE, "nl"),
                     "geen bestaande datum");
}

/* --- csvout: the cell every CSV export writes ---------------------------- */

static char *
cells(char sep, char dec, const char *const *v, size_t n)
{
    struct eq_buf b = {0};

    for (size_t i = 0; i < n; i++)
        cr_assert_eq(csvout_cell(&b, v[i], sep, dec, i + 1 == n), EQ_OK);
    return buf_take(&b);
}

Test(action, csv_cells_starting_a_formula_get_an_apostrophe)
{
    static const char *const v[] = {
        "=1+1", "+31", "@A1", "-x", "\tTAB", "\r=2", "Actie: =HYPERLINK(1)"};
    char *s = cells(';', ',', v, 7);

    /* Only a leading character counts; the CR cell is quoted as well. */
    cr_assert_str_eq(s, "'=1+1;'+31;'@A1;'-x;'\tTAB;\"'\r=2\";"
                        "Actie: =HYPERLINK(1)\r\n");
    free(s);
}

Test(action, csv_plain_numbers_of_the_language_stay_numbers)
{
    static const char *const v[] = {"-12", "-12,5", "-12.5", "7", NULL, "-"};
    char *nl = cells(';', ',', v, 6), *en = cells(',', '.', v, 6);

    cr_assert_str_eq(nl, "-12;-12,5;'-12.5;7;;'-\r\n");
    /* In en the comma is the separator: "-12,5" is text, quoted. */
    cr_assert_str_eq(en, "-12,\"'-12,5\",-12.5,7,,'-\r\n");
    free(nl);
    free(en);
}

Test(action, csv_separator_and_decimal_follow_the_language)
{
    cr_assert_eq(csvout_sep("nl"), ';');
    cr_assert_eq(csvout_sep("en"), ',');
    cr_assert_eq(csvout_dec("nl"), ',');
    cr_assert_eq(csvout_dec("en"), '.');
}
