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

Test(classify, exim_bounce_reads_status_after_rcpt_to_error)
{
    struct classify_result r = run("classify/exim_bounce.eml", NULL);
    assert_bounce(&r, "5.1.1", "pieter.jansen@example.com", 1);
    classify_result_clear(&r);
}

Test(classify, exim_bare_reply_code_on_next_line_maps_user_unknown)
{
    /* Exim puts the server's reply on the line below "SMTP error …:". */
    struct classify_result r = run_str(
        "From: Mail Delivery System <Mailer-Daemon@mx.example.com>\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "X-Failed-Recipients: eva@example.net\n\n"
        "A message that you sent could not be delivered to one or more of "
        "its\nrecipients. This is a permanent error. The following "
        "address(es) failed:\n\n  eva@example.net\n"
        "    SMTP error from remote mail server after RCPT TO:"
        "<eva@example.net>:\n    550 Unknown user eva\n",
        NULL);
    assert_bounce(&r, "5.1.1", "eva@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, office365_ndr_reads_remote_server_returned)
{
    struct classify_result r = run("classify/o365_ndr.eml", NULL);
    assert_bounce(&r, "5.1.1", "anna.smit@contoso.example", 1);
    classify_result_clear(&r);
}

Test(classify, exchange_expired_ndr_gives_the_underlying_cause)
{
    /* 4.4.7 only says Exchange gave up; 4.4.1 says why. */
    struct classify_result r =
        run_str("From: postmaster@contoso.example\n"
                "Subject: Undeliverable: enquete\n\n"
                "Delivery has failed to these recipients or groups:\n\n"
                "tom@example.net\n"
                "3-11-2026 08:05 - Remote Server at example.net (192.0.2.3) "
                "returned '550 4.4.7 QUEUE.Expired; message expired'\n"
                "3-11-2026 07:58 - Remote Server at example.net (192.0.2.3) "
                "returned '441 4.4.1 Error encountered while communicating'\n",
                NULL);
    assert_bounce(&r, "4.4.1", "tom@example.net", 0);
    classify_result_clear(&r);
}

Test(classify, qmail_remote_host_said_maps_bare_code)
{
    /* qmail's own "(#5.0.0)" gives way to the server's "550 … no such
     * user". */
    struct classify_result r = run("classify/qmail_remote_host_said.eml", NULL);
    assert_bounce(&r, "5.1.1", "sanne@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, mailbox_full_dsn_prefers_diagnostic_over_generic_status)
{
    struct classify_result r = run("classify/mailbox_full_dsn.eml", NULL);
    assert_bounce(&r, "5.2.2", "karin@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, temporary_mailbox_full_without_status_is_4_2_2)
{
    struct classify_result r =
        run_str("From: MAILER-DAEMON@mx.example.org\n"
                "Subject: Undelivered Mail Returned to Sender\n\n"
                "<ruud@example.net>: host mx.example.net[192.0.2.9] said: 452 "
                "mailbox full, try again later\n",
                NULL);
    assert_bounce(&r, "4.2.2", "ruud@example.net", 0);
    classify_result_clear(&r);
}

Test(classify, bare_codes_map_size_and_spam_rejections)
{
    static const struct {
        const char *said, *status;
    } cases[] = {
        {"552 Message too large for this server", "5.3.4"},
        {"554 rejected as spam", "5.7.1"},
        {"550 requested action not taken", "5.0.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char raw[512];
        snprintf(raw, sizeof raw,
                 "From: MAILER-DAEMON@mx.example.org\n"
                 "Subject: Undelivered Mail Returned to Sender\n\n"
                 "<ruud@example.net>: host mx.example.net said: %s\n",
                 cases[i].said);
        struct classify_result r = run_str(raw, NULL);
        cr_assert_str_eq(r.status, cases[i].status, "%s", cases[i].said);
        classify_result_clear(&r);
    }
}

Test(classify, sendmail_status_gives_way_to_the_remote_servers_status)
{
    /* Status 5.1.1 was sendmail's guess; the server said 5.7.1. */
    struct classify_result r = run_str(
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\n"
        "Content-Type: multipart/report; report-type=delivery-status; "
        "boundary=b\n\n--b\nContent-Type: text/plain\n\nreturned\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: RFC822; wim@example.net\nAction: failed\n"
        "Status: 5.1.1\n"
        "Diagnostic-Code: SMTP; 550 5.7.1 IP address blacklisted\n\n--b--\n",
        NULL);
    assert_bounce(&r, "5.7.1", "wim@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, diagnostic_status_after_reply_code_beats_leading_one)
{
    /* "5.1.0 - Unknown address error 550-'5.7.1 …'": the quoted server
     * reply is the cause. */
    struct classify_result r = run_str(
        "From: MAILER-DAEMON@ses.example\n"
        "Content-Type: multipart/report; report-type=delivery-status; "
        "boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; ses.example\n\n"
        "Final-Recipient: rfc822;joop@example.net\nAction: failed\n"
        "Status: 5.0.0 (permanent failure)\n"
        "Diagnostic-Code: smtp; 5.1.0 - Unknown address error 550-'5.7.1 "
        "<x@ses.example>... Access denied' (delivery attempts: 0)\n\n--b--\n",
        NULL);
    assert_bounce(&r, "5.7.1", "joop@example.net", 1);
    classify_result_clear(&r);
}

Test(classify, arf_report_without_report_type_is_auto_reply)
{
    struct classify_result r =
        run("classify/arf_without_report_type.eml", NULL);
    assert_auto_reply(&r, "feedback report");
    classify_result_clear(&r);
}

Test(classify, complaint_subject_alone_without_attachment_stays_reply)
{
    struct classify_result r = run_str(
        "From: piet@example.org\nSubject: complaint about message from HR\n\n"
        "Ik vond de vragen te lang.\n",
        NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY);
    classify_result_clear(&r);
}

Test(classify, amazon_ses_bounce_notification_is_bounce)
{
    struct classify_result r = run("classify/ses_bounce.eml", NULL);
    assert_bounce(&r, "5.1.1", "lotte@example.net", 1);
    cr_assert_str_eq(r.reason, "ses bounce");
    classify_result_clear(&r);
}

Test(classify, amazon_ses_wrapped_in_sns_and_delivery_notices)
{
    /* SNS wraps the notification as an escaped JSON string. */
    struct classify_result r = run_str(
        "From: no-reply@sns.amazonaws.example\nSubject: AWS Notification\n\n"
        "{\n  \"Type\" : \"Notification\",\n  \"Message\" : "
        "\"{\\\"notificationType\\\":\\\"Bounce\\\",\\\"bounce\\\":"
        "{\\\"bounceType\\\":\\\"Transient\\\",\\\"bouncedRecipients\\\":"
        "[{\\\"emailAddress\\\":\\\"ria@example.net\\\"}]},\\\"mail\\\":"
        "{\\\"messageId\\\":\\\"01\\\"}}\"\n}\n",
        NULL);
    /* No status of its own: Transient makes it temporary. */
    assert_bounce(&r, "", "ria@example.net", 0);
    classify_result_clear(&r);

    r = run_str("From: no-reply@sns.amazonaws.example\nSubject: AWS\n\n"
                "{\"notificationType\":\"Delivery\",\"mail\":{\"messageId\":"
                "\"02\"},\"delivery\":{\"smtpResponse\":\"250 2.6.0 ok\"}}\n",
                NULL);
    assert_auto_reply(&r, "dsn-success");
    classify_result_clear(&r);
}

Test(classify, mbox_from_line_does_not_hide_the_report)
{
    /* The parser sees no MIME structure behind the "From " line; only the
     * report part says this is a delivery-success notice. */
    struct classify_result r =
        run_str("From MAILER-DAEMON  Tue Nov  3 08:00:00 2026\n"
                "From: MAILER-DAEMON@mx.example.org\n"
                "Subject: Successful Mail Delivery Report\n"
                "Content-Type: multipart/report; report-type=delivery-status; "
                "boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n"
                "Reporting-MTA: dns; mx.example.org\n\n"
                "Final-Recipient: rfc822; noor@example.net\nAction: delivered\n"
                "Status: 2.0.0\n\n--b--\n",
                NULL);
    assert_auto_reply(&r, "dsn-success");
    classify_result_clear(&r);
}

Test(classify, bulk_and_suppress_headers_alone_stay_reply)
{
    struct classify_result r =
        run_str("From: Jan <jan@example.net>\nPrecedence: bulk\n"
                "X-Auto-Response-Suppress: All\n"
                "Subject: RE: Hoe tevreden bent u?\n\n4, prima geregeld.\n",
                NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY);
    classify_result_clear(&r);
}
