#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "eq.h"
#include "helpers.h"
#include "mime.h"

/* Parses raw and classifies it with the given stripped reply text. */
static struct classify_result
run_str(const char *raw, const char *stripped)
{
    struct mime_msg *m = NULL;
    cr_assert_eq(mime_parse(raw, strlen(raw), &m, NULL), EQ_OK);
    struct classify_result r;
    cr_assert_eq(classify_message(m, stripped, &r), EQ_OK);
    mime_free(m);
    return r;
}

/* run_str() on the fixture FIXTURES/rel. */
static struct classify_result
run(const char *rel, const char *stripped)
{
    char *raw = th_fixture(rel, NULL);
    struct classify_result r = run_str(raw, stripped);
    free(raw);
    return r;
}

/* Asserts a bounce with this status, recipient and permanence. */
static void
assert_bounce(const struct classify_result *r, const char *status,
              const char *recipient, int permanent)
{
    cr_assert_eq(r->kind, CLASSIFY_BOUNCE);
    cr_assert_str_eq(r->status, status);
    cr_assert_str_eq(r->bounce_recipient, recipient);
    cr_assert_eq(r->permanent, permanent);
}

/* Asserts an auto-reply recognised for this reason. */
static void
assert_auto_reply(const struct classify_result *r, const char *reason)
{
    cr_assert_eq(r->kind, CLASSIFY_AUTO_REPLY);
    cr_assert_str_eq(r->reason, reason);
}

/* The kind of an already parsed message given its stripped text. */
static enum classify_kind
kind_of(const struct mime_msg *m, const char *stripped)
{
    struct classify_result r;
    enum classify_kind kind;

    cr_assert_eq(classify_message(m, stripped, &r), EQ_OK);
    kind = r.kind;
    classify_result_clear(&r);
    return kind;
}

Test(classify, kind_names_follow_design)
{
    cr_assert_str_eq(classify_kind_name(CLASSIFY_REPLY), "reply");
    cr_assert_str_eq(classify_kind_name(CLASSIFY_BOUNCE), "bounce");
    cr_assert_str_eq(classify_kind_name(CLASSIFY_AUTO_REPLY), "auto_reply");
    cr_assert_str_eq(classify_kind_name(CLASSIFY_OPT_OUT), "opt_out");
}

Test(classify, postfix_dsn_is_permanent_bounce_with_recipient)
{
    struct classify_result r = run("classify/postfix_dsn.eml", NULL);
    assert_bounce(&r, "5.1.1", "jan@example.net", 1);
    cr_assert_str_eq(r.reason, "dsn");
    classify_result_clear(&r);
    cr_assert_null(r.bounce_recipient);
}

Test(classify, exchange_ndr_prefers_original_recipient)
{
    struct classify_result r = run("classify/exchange_ndr.eml", NULL);
    /* Original-Recipient is the address we sent to, lowercased. */
    assert_bounce(&r, "5.1.10", "kees.devries@example.com", 1);
    classify_result_clear(&r);
}

Test(classify, delayed_dsn_is_temporary_bounce)
{
    struct classify_result r = run("classify/delayed_dsn.eml", NULL);
    assert_bounce(&r, "4.4.7", "lisa@slow.example.net", 0);
    classify_result_clear(&r);
}

Test(classify, qmail_plain_text_bounce_reads_status_and_address)
{
    struct classify_result r = run("classify/qmail_bounce.eml", NULL);
    assert_bounce(&r, "5.1.1", "henk@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, plain_bounce_without_status_is_permanent)
{
    struct classify_result r = run_str(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
        "To: enquete+x@example.org\n"
        "Subject: Mail delivery failed: returning message to sender\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of "
        "its\nrecipients. This is a permanent error. The following "
        "address(es) failed:\n\n  bob@example.net\n    mailbox is full\n",
        NULL);
    assert_bounce(&r, "", "bob@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, dsn_success_notice_is_auto_reply)
{
    struct classify_result r =
        run_str("From: postmaster@example.net\nSubject: Delivered: survey\n"
                "Content-Type: multipart/report; report-type=delivery-status; "
                "boundary=s\n\n"
                "--s\nContent-Type: text/plain\n\nYour message was delivered.\n"
                "--s\nContent-Type: message/delivery-status\n\n"
                "Reporting-MTA: dns; mx.example.net\n\n"
                "Final-Recipient: rfc822; a@example.net\nAction: delivered\n"
                "Status: 2.0.0\n\n--s--\n",
                NULL);
    assert_auto_reply(&r, "dsn-success");
    cr_assert_null(r.bounce_recipient);
    classify_result_clear(&r);
}

Test(classify, vacation_with_auto_submitted_is_auto_reply)
{
    struct classify_result r = run("classify/vacation.eml", NULL);
    assert_auto_reply(&r, "auto-submitted");
    classify_result_clear(&r);
}

Test(classify, exchange_automatisch_antwoord_subject_is_auto_reply)
{
    struct classify_result r = run("classify/exchange_autoreply.eml", NULL);
    assert_auto_reply(&r, "subject");
    classify_result_clear(&r);
}

Test(classify, read_receipt_is_auto_reply)
{
    struct classify_result r = run("classify/read_receipt.eml", NULL);
    assert_auto_reply(&r, "read receipt");
    classify_result_clear(&r);
}

Test(classify, challenge_response_is_auto_reply)
{
    struct classify_result r = run_str(
        "From: Bob via Boxbe <notification@boxbe.com>\nSubject: Re: survey\n\n"
        "Hello, your message is waiting. Please confirm you are a human "
        "by clicking the link below.\n",
        NULL);
    assert_auto_reply(&r, "challenge-response");
    classify_result_clear(&r);
}

Test(classify, opt_out_reply_is_recognised_above_the_quote)
{
    /* No stripped text given: classify cuts at "Op ... schreef". */
    struct classify_result r = run("classify/optout.eml", NULL);
    cr_assert_eq(r.kind, CLASSIFY_OPT_OUT);
    classify_result_clear(&r);
    r = run("classify/optout.eml", "Graag afmelden, geen enquêtes meer!");
    cr_assert_eq(r.kind, CLASSIFY_OPT_OUT);
    classify_result_clear(&r);
}

Test(classify, opt_out_words_need_a_short_text_without_numbers)
{
    static const char *const yes[] = {
        "STOP",      "Unsubscribe please.",       "Uitschrijven aub",
        "remove me", "Hoi,\nafmelden graag\nJan", "Geen enquetes meer."};
    static const char *const no[] = {
        "8 stop",
        "Stoppen met roken is lastig maar IT hielp me prima "
        "met mijn laptop en mijn telefoon",
        "Prima service", ""};
    struct mime_msg *m = NULL;
    const char *raw = "From: a@example.org\nSubject: Re: Enquete\n\n";
    cr_assert_eq(mime_parse(raw, strlen(raw), &m, NULL), EQ_OK);
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        cr_assert_eq(kind_of(m, yes[i]), CLASSIFY_OPT_OUT, "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_assert_eq(kind_of(m, no[i]), CLASSIFY_REPLY, "%s", no[i]);
    mime_free(m);
}

Test(classify, empty_body_uses_subject_for_opt_out)
{
    struct classify_result r = run_str("From: a@example.org\nSubject: RE: "
                                       "Afmelden [#0123456789abcdefghjkmnpqrs]"
                                       "\n\n",
                                       NULL);
    cr_assert_eq(r.kind, CLASSIFY_OPT_OUT);
    classify_result_clear(&r);
}

Test(classify, reply_mentioning_out_of_office_stays_reply)
{
    struct classify_result r = run("classify/reply_mentions_ooo.eml", NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY);
    cr_assert_str_eq(r.status, "");
    cr_assert_null(r.bounce_recipient);
    classify_result_clear(&r);
}

Test(classify, ordinary_replies_are_replies)
{
    static const char *const files[] = {
        "mime/outlook_html_text.eml", "mime/gmail_qp_utf8.eml",
        "mime/latin1_2047.eml", "mime/flowed.eml", "mime/html_only.eml"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        struct classify_result r = run(files[i], NULL);
        cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s: %s", files[i], r.reason);
        classify_result_clear(&r);
    }
}

Test(classify, status_scan_ignores_ip_addresses)
{
    struct classify_result r = run_str(
        "From: MAILER-DAEMON@mx.example.org\nSubject: Returned mail: see "
        "transcript\n\n"
        "host 10.5.1.1 said: user unknown 550 5.2.2 mailbox full "
        "<kim@example.net>\n",
        NULL);
    cr_assert_eq(r.kind, CLASSIFY_BOUNCE);
    cr_assert_str_eq(r.status, "5.2.2");
    cr_assert_str_eq(r.bounce_recipient, "kim@example.net");
    classify_result_clear(&r);
}
