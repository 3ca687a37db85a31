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

Test(classify, mailer_daemon_spellings_and_the_null_sender_are_mail_systems)
{
    /* "post_master" and a From of "<>" are mail systems, so their failure
     * words make a bounce. */
    struct classify_result r =
        run_str("From: post_master@sms.example.net\nTo: enquete+x@example.org\n"
                "Subject: Re:Hoe tevreden bent u?\n\n"
                "Error: Invalid user address\n\nError message below:\n"
                "550 - Requested action not taken: no such user here\n\n"
                "  RCPT TO: <mila@sms.example.net>\n",
                NULL);
    assert_bounce(&r, "5.1.1", "mila@sms.example.net", 1);
    cr_assert_str_eq(r.reason, "bounce text");
    classify_result_clear(&r);

    r = run_str("From: <>\nTo: enquete+x@example.org\nSubject: Notice\n\n"
                "--- The following addresses had delivery problems ---\n\n"
                "<joost@example.net>   (joost@example.net... gone)\n",
                NULL);
    assert_bounce(&r, "", "joost@example.net", 1);
    classify_result_clear(&r);

    /* A person's own words about a failed delivery stay a reply. */
    r = run_str("From: Post Office Team <post.office@example.net>\n"
                "Subject: Re: Hoe tevreden bent u?\n\n"
                "7, maar het pakket could not be delivered op dinsdag.\n",
                NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s", r.reason);
    classify_result_clear(&r);
}

Test(classify, no_reply_sender_returning_a_message_is_a_bounce)
{
    struct classify_result r = run_str(
        "From: no-reply@mail.example.jp\nTo: enquete+x@example.org\n"
        "Subject: =?UTF-8?B?44Oh44O844Or44Ko44Op44O86YCa55+l?=\n"
        "Content-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\n"
        "Your mail sent on: Thu, 5 Nov 2026 10:00:00 +0900\n"
        "     Could not be delivered to: <yuki@example.jp>\n"
        "     As their mailbox is full.\n"
        "--b\nContent-Type: message/rfc822\n\n"
        "From: enquete@example.org\nTo: yuki@example.jp\nSubject: survey\n\n"
        "Hoe tevreden bent u?\n--b--\n",
        NULL);
    assert_bounce(&r, "", "yuki@example.jp", 1);
    classify_result_clear(&r);

    /* Without a returned message it is some other automatic notice. */
    r = run_str("From: Helpdesk <do_not_reply@tickets.example.com>\n"
                "Subject: Ticket 4411\n\n"
                "Your request could not be delivered to an agent yet.\n",
                NULL);
    assert_auto_reply(&r, "no-reply sender");
    classify_result_clear(&r);
}

Test(classify, mail_system_notices_in_other_phrasings_are_bounces)
{
    /* Exchange 5.5: "did not reach the following recipient(s)". */
    struct classify_result r = run_str(
        "From: System Administrator <postmaster@example.net>\n"
        "To: enquete+x@example.org\nSubject: E\n\n"
        "Your message\n\n  To:      anna@example.net\n  Subject: survey\n\n"
        "did not reach the following recipient(s):\n\n"
        "anna@example.net on Thu, 5 Nov 2026 10:00:00 +0100\n"
        "    The recipient name is not recognized\n",
        NULL);
    assert_bounce(&r, "", "anna@example.net", 1);
    classify_result_clear(&r);

    /* Exim's "Mail failure" subject. */
    r = run_str("From: Mail Delivery System <mailer-daemon@mx.example.net>\n"
                "Auto-Submitted: auto-replied\n"
                "Subject: Mail failure - malformed recipient address\n\n"
                "A message that you sent contained one or more recipient "
                "addresses that were\nincorrectly constructed:\n\n"
                "  bas@example.com <lars@example.net>: malformed address\n",
                NULL);
    cr_assert_eq(r.kind, CLASSIFY_BOUNCE, "%s", r.reason);
    classify_result_clear(&r);
}

Test(classify, recipient_comes_from_the_notice_not_the_returned_message)
{
    /* The returned message below the notice has a Message-Id in <>; the
     * failed address in the notice is bare. */
    struct classify_result r = run_str(
        "From: MAILER-DAEMON@example.net\nTo: enquete+x@example.org\n"
        "Subject: mail failed, returning to sender\n\n"
        "|---- Message log follows: ----|\n"
        " no valid recipients were found for this message\n"
        "|---- Failed addresses follow: ----|\n"
        " ria@mail.example.com ... unknown host\n"
        "|---- Message text follows: ----|\n"
        "Received: from mx.example.org by mx.example.net\n"
        "Message-Id: <a1b2c3@mx.example.org>\nTo: ria@mail.example.com\n"
        "Subject: survey\n\nHoe tevreden bent u?\n",
        NULL);
    assert_bounce(&r, "", "ria@mail.example.com", 1);
    classify_result_clear(&r);
}

Test(classify, smtp_transcript_status_from_mail_system_is_bounce)
{
    /* No failure words: only the server's "451 4.3.0" says it failed. The
     * recipient is RCPT TO, not the MAIL FROM split over two lines. */
    struct classify_result r = run_str(
        "From: MAILER-DAEMON@mx.example.net\nTo: postmaster@mx.example.net\n"
        "Subject: Postfix SMTP server: errors from localhost\n\n"
        "Transcript of session follows.\n\n"
        " Out: 220 mx.example.net ESMTP\n In:  MAIL\n"
        "     FROM:<enquete+x@example.org>\n Out: 250 2.1.0 Ok\n"
        " In:  RCPT TO:<bram@example.net>\n Out: 250 2.1.5 Ok\n"
        " In:  DATA\n Out: 451 4.3.0 Error: queue file write error\n",
        NULL);
    assert_bounce(&r, "4.3.0", "bram@example.net", 0);
    classify_result_clear(&r);

    /* "250 2.0.0" alone is no failure. */
    r = run_str("From: MAILER-DAEMON@mx.example.net\nSubject: Report\n\n"
                " Out: 250 2.0.0 Ok: queued\n",
                NULL);
    assert_auto_reply(&r, "mail system");
    classify_result_clear(&r);
}

Test(classify, success_subject_from_mail_system_is_no_bounce)
{
    struct classify_result r = run_str(
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example.net>\n"
        "Subject: Delivery Status Notification (Success)\n\n"
        "This is an automatically generated Delivery Status Notification.\n\n"
        "Your message has been successfully delivered to the following "
        "recipients:\n\n   lotte@example.net\n",
        NULL);
    assert_auto_reply(&r, "mail system");
    cr_assert_null(r.bounce_recipient);
    classify_result_clear(&r);
}

Test(classify, lotus_out_of_the_office_subject_is_auto_reply)
{
    struct classify_result r =
        run_str("From: Kees.Jansen@example.net\n"
                "Subject: AUTO: Jansen, Kees is out of the office. (returning "
                "05/01/2027)\n\n"
                "I am out of the office until 05/01/2027.\n",
                NULL);
    assert_auto_reply(&r, "subject");
    classify_result_clear(&r);
}

Test(classify, list_manager_refusal_is_bounce_other_notices_auto_reply)
{
    static const char head[] =
        "From: team-admin@lists.example.org\nTo: enquete+x@example.org\n"
        "X-MLServer: fml [fml 4.0.3 release]\n";
    char buf[512];
    snprintf(buf, sizeof buf,
             "%sSubject: You enquete+x@example.org are not member (team "
             "ML)\n\nYou are not a member of this mailing list "
             "<team@lists.example.org>.\n",
             head);
    struct classify_result r = run_str(buf, NULL);
    assert_bounce(&r, "", "team@lists.example.org", 1);
    cr_assert_str_eq(r.reason, "list rejection");
    classify_result_clear(&r);

    /* The refusal may be in the notice only. */
    snprintf(buf, sizeof buf,
             "%sSubject: Notice (team ML)\n\nYou are not a member of this "
             "list <team@lists.example.org>.\n",
             head);
    r = run_str(buf, NULL);
    assert_bounce(&r, "", "team@lists.example.org", 1);
    cr_assert_str_eq(r.reason, "list rejection");
    classify_result_clear(&r);

    snprintf(buf, sizeof buf,
             "%sSubject: Welcome (team ML)\n\nSend \"guide\" for help.\n",
             head);
    r = run_str(buf, NULL);
    assert_auto_reply(&r, "list manager");
    classify_result_clear(&r);

    /* A person writing through a list sends from their own address. */
    r = run_str("From: Jan <jan@example.net>\nList-Id: <team.example.org>\n"
                "Subject: Re: Hoe tevreden bent u?\n\n"
                "8, al werd mijn voorstel rejected.\n",
                NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s", r.reason);
    classify_result_clear(&r);
}

Test(classify, forwarded_bounce_is_the_persons_own_reply)
{
    /* An employee whose answer bounced forwards the bounce with the answer
     * on top: a person's mail, not a bounce of the invitation. */
    struct classify_result r = run_str(
        "From: Sanne de Vries <s.devries@org.nl>\n"
        "To: enquete+x@example.org\n"
        "Subject: Fwd: Undelivered Mail Returned to Sender\n\n"
        "Mijn antwoord kwam niet aan, dus via deze weg: 8, snel geholpen.\n\n"
        "Groet, Sanne\n\n"
        "-------- Doorgestuurd bericht --------\n"
        "Onderwerp: Undelivered Mail Returned to Sender\n"
        "Datum: Thu, 5 Nov 2026 10:02:11 +0100 (CET)\n"
        "Van: MAILER-DAEMON@mx.org.nl (Mail Delivery System)\n"
        "Aan: s.devries@org.nl\n\n"
        "This is the mail system at host mx.org.nl.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        "<enquete+x@example.org>: host mx.example.org[192.0.2.7] said: "
        "550 5.1.1\n    <enquete+x@example.org>: Recipient address "
        "rejected: User unknown\n\n"
        "Final-Recipient: rfc822; enquete+x@example.org\n"
        "Action: failed\nStatus: 5.1.1\n",
        NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s", r.reason);
    cr_assert_null(r.bounce_recipient);
    classify_result_clear(&r);

    /* The same from Outlook, the bounce quoted below the answer. */
    r = run_str("From: Kees Bakker <k.bakker@org.nl>\n"
                "Subject: FW: Undeliverable: Hoe tevreden bent u?\n\n"
                "Tweede poging: 6, het duurde wat lang.\n\n"
                "> From: Microsoft Outlook <postmaster@org.nl>\n"
                "> Subject: Undeliverable: Hoe tevreden bent u?\n>\n"
                "> Delivery has failed to these recipients or groups:\n>\n"
                "> enquete+x@example.org\n>\n"
                "> Remote Server returned '550 5.4.1 Recipient address "
                "rejected: Access denied'\n",
                NULL);
    cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s", r.reason);
    classify_result_clear(&r);
}

Test(classify, names_that_begin_like_a_mail_system_are_people)
{
    /* "postma.sterre" squeezes to "postmasterre", "post.master.jansen" to
     * "postmasterjansen", "post.masterson" to "postmasterson": people, not
     * postmaster. */
    static const char *const froms[] = {
        "Sterre Postma <postma.sterre@org.nl>",
        "Jansen <post.master.jansen@org.nl>",
        "Eva Masterson-Post <post.masterson@org.nl>", NULL};
    char buf[512];
    for (const char *const *f = froms; *f; f++) {
        snprintf(buf, sizeof buf,
                 "From: %s\nTo: enquete+x@example.org\n"
                 "Subject: Re: Hoe tevreden bent u?\n\n"
                 "7, de monteur kwam op tijd.\n",
                 *f);
        struct classify_result r = run_str(buf, NULL);
        cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s: %s", *f, r.reason);
        classify_result_clear(&r);
    }
}

Test(classify, mail_system_local_parts_match_whole_after_the_tag)
{
    /* Any spelling, and a "+tag", still name the mail system. */
    static const char *const froms[] = {
        "post_master@mx.org.nl",      "Mail-Daemon@mx.org.nl",
        "mailer-daemon@mx.org.nl",    "postmaster+bounces@mx.org.nl",
        "MAILER_DAEMON+x1@mx.org.nl", NULL};
    char buf[512];
    for (const char *const *f = froms; *f; f++) {
        snprintf(buf, sizeof buf,
                 "From: %s\nTo: enquete+x@example.org\nSubject: Notice\n\n"
                 "Your message could not be delivered.\n\n"
                 "<anouk@org.nl>: user unknown\n",
                 *f);
        struct classify_result r = run_str(buf, NULL);
        cr_assert_eq(r.kind, CLASSIFY_BOUNCE, "%s: %s", *f, r.reason);
        cr_assert_str_eq(r.bounce_recipient, "anouk@org.nl");
        classify_result_clear(&r);
    }
}

Test(classify, person_with_admin_address_replying_through_a_group_is_reply)
{
    /* A group alias adds List-Id to a person's mail; the person's own
     * address may end in "-admin". Neither makes it a list notice, nor do
     * words like "loopt" (loop) or "rejected". */
    static const char *const bodies[] = {
        "8, prima geholpen door de servicedesk.\n", "8, het loopt nu prima.\n",
        "6: mijn eerste aanvraag werd rejected, daarna ging het goed.\n", NULL};
    char buf[512];
    for (const char *const *b = bodies; *b; b++) {
        snprintf(buf, sizeof buf,
                 "From: Kees Jansen <kees-admin@org.nl>\n"
                 "To: enquete+x@example.org\n"
                 "List-Id: ICT beheer <ict-beheer.org.nl>\n"
                 "Subject: Re: Hoe tevreden bent u?\n\n%s",
                 *b);
        struct classify_result r = run_str(buf, NULL);
        cr_assert_eq(r.kind, CLASSIFY_REPLY, "%s: %s", *b, r.reason);
        classify_result_clear(&r);
    }

    /* From the list's address with a bulk marking it is a notice. */
    struct classify_result r =
        run_str("From: ict-beheer-request@org.nl\nTo: enquete+x@example.org\n"
                "List-Id: ICT beheer <ict-beheer.org.nl>\n"
                "Precedence: bulk\nSubject: Welkom bij ict-beheer\n\n"
                "Stuur \"help\" voor de commando's.\n",
                NULL);
    assert_auto_reply(&r, "list manager");
    classify_result_clear(&r);
}

Test(classify, challenge_response_dsn_is_auto_reply_unless_permanent)
{
    static const char fmt[] =
        "From: noreply@guard.example.com\nTo: enquete+x@example.org\n"
        "Subject: Re: Hoe tevreden bent u? (Action Required)\n"
        "Content-Type: multipart/report; report-type=delivery-status; "
        "boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nYour message has been held.\n"
        "Click the link below to verify that you are a person.\n"
        "--b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; guard.example.com\n\n"
        "Final-Recipient: rfc822; ilse@example.net\nAction: failed\n"
        "Status: %s\n\n--b--\n";
    char buf[1024];
    snprintf(buf, sizeof buf, fmt, "4.7.0");
    struct classify_result r = run_str(buf, NULL);
    assert_auto_reply(&r, "challenge-response");
    cr_assert_null(r.bounce_recipient);
    cr_assert_str_eq(r.status, "");
    classify_result_clear(&r);

    snprintf(buf, sizeof buf, fmt, "5.7.1");
    r = run_str(buf, NULL);
    assert_bounce(&r, "5.7.1", "ilse@example.net", 1);
    classify_result_clear(&r);
}
