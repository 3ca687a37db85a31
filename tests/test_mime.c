#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eq.h"
#include "helpers.h"
#include "mime.h"

#define TOKEN "0123456789abcdefghjkmnpqrs"

static struct mime_msg *
parse_fixture(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof rel, "mime/%s", name);
    char *raw = th_fixture(rel, &len);
    struct mime_msg *m = NULL;
    struct eq_buf diag = {0};
    cr_assert_eq(mime_parse(raw, len, &m, &diag), EQ_OK);
    cr_assert_not_null(m);
    cr_assert_not_null(m->text);
    free(raw);
    buf_free(&diag);
    return m;
}

static struct mime_msg *
parse_str(const char *raw)
{
    struct mime_msg *m = NULL;
    cr_assert_eq(mime_parse(raw, strlen(raw), &m, NULL), EQ_OK);
    return m;
}

/* Independent UTF-8 check for the "always valid UTF-8" promise. */
static int
valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80         ? 0
                : (*p >> 5) == 6  ? 1
                : (*p >> 4) == 14 ? 2
                : (*p >> 3) == 30 ? 3
                                  : -1;
        if (n < 0 || (n == 1 && *p < 0xC2))
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

Test(mime, outlook_reply_prefers_text_plain_and_decodes_cp1252)
{
    struct mime_msg *m = parse_fixture("outlook_html_text.eml");
    cr_assert_str_eq(m->subject,
                     "RE: Hoe tevreden bent u over IT? [#" TOKEN "]");
    cr_assert_str_eq(m->from_addr, "piet@example.org");
    cr_assert_str_eq(m->from_name, "Piet Jansen");
    cr_assert_str_eq(m->message_id, "AM0PR01MB1234.eurprd01.prod.outlook.com");
    cr_assert_str_eq(m->in_reply_to, "inv." TOKEN "@example.org");
    cr_assert_eq(m->n_references, 2);
    cr_assert_str_eq(m->references[1], "rem.1." TOKEN "@example.org");
    /* To, then Cc with a group of two. */
    cr_assert_eq(m->n_to, 4);
    cr_assert_str_eq(m->to[0], "enquete+" TOKEN "@example.org");
    cr_assert_str_eq(m->to[1], "marie@example.org");
    cr_assert_str_eq(m->to[3], "b@example.org");
    cr_assert_str_eq(m->content_type, "multipart/alternative");
    cr_assert_eq(m->date, 1793696459); /* 2026-11-03T09:00:59Z */
    /* En dash 0x96 in Windows-1252 is U+2013; CRLF became LF. */
    cr_assert(
        strncmp(
            m->text, "8\n\nDe helpdesk reageerde snel \xe2\x80\x93 prima!\n",
            strlen("8\n\nDe helpdesk reageerde snel \xe2\x80\x93 prima!\n")) ==
            0,
        "text: %s", m->text);
    cr_assert_null(strchr(m->text, '\r'));
    cr_assert_not_null(m->html);
    cr_assert_not_null(strstr(m->html, "WordSection1"));
    cr_assert_str_eq(mime_header(m, "x-auto-response-suppress"), "All");
    cr_assert_str_eq(mime_header(m, "Content-Type"),
                     "multipart/alternative;\tboundary=\"_000_AM0PR01MB_\"");
    cr_assert_null(mime_header(m, "Auto-Submitted"));
    cr_assert_eq(m->n_attachments, 0);
    mime_free(m);
}

Test(mime, gmail_quoted_printable_utf8_and_encoded_from)
{
    struct mime_msg *m = parse_fixture("gmail_qp_utf8.eml");
    cr_assert_str_eq(m->subject, "Re: Hoe waarschijnlijk is het dat u afdeling "
                                 "IT aanraadt? [#" TOKEN "]");
    cr_assert_str_eq(m->from_name, "J\xc3\xbcrgen De Vries");
    cr_assert_str_eq(m->from_addr, "jurgen.devries@gmail.com");
    cr_assert_str_eq(m->message_id, "CAB=xyz+abc@mail.gmail.com");
    cr_assert(
        strncmp(m->text,
                "Ik geef een 9 \xe2\x80\x94 snelle hulp van J\xc3\xbcrgen, "
                "dank je wel! \xf0\x9f\x91\x8d\n\nOp di 3 nov",
                60) == 0,
        "text: %s", m->text);
    cr_assert_not_null(strstr(m->text, "\n> [#" TOKEN "]\n"));
    mime_free(m);
}

Test(mime, latin1_body_and_rfc2047_subject_become_utf8)
{
    struct mime_msg *m = parse_fixture("latin1_2047.eml");
    cr_assert_str_eq(m->subject, "Re: Enqu\xc3\xaate over Facilit\xc3\xa9s");
    cr_assert_str_eq(m->from_name, "Fran\xc3\xa7oise M\xc3\xbcller");
    cr_assert_str_eq(m->text, "7 - tr\xc3\xa8s bien, caf\xc3\xa9 \xc3\xa0 "
                              "volont\xc3\xa9. Gr\xc3\xbc\xc3\x9f"
                              "e\n");
    cr_assert_eq(m->date, 1793798100); /* 08:15 -0500 = 13:15Z */
    mime_free(m);
}

Test(mime, format_flowed_is_unflowed_keeping_quote_depth)
{
    struct mime_msg *m = parse_fixture("flowed.eml");
    cr_assert_str_eq(m->text,
                     "6, de wachttijd bij de servicedesk was lang maar het "
                     "probleem is opgelost.\n"
                     "\n"
                     ">Dit begint met een spatie.\n"
                     "\n"
                     "> Hoe tevreden bent u over de servicedesk?\n"
                     ">> Diep geciteerde regel.\n"
                     "-- \n"
                     "Anna\n");
    mime_free(m);
}

Test(mime, html_only_reply_is_converted_to_text)
{
    struct mime_msg *m = parse_fixture("html_only.eml");
    cr_assert_str_eq(m->content_type, "text/html");
    cr_assert_not_null(m->html);
    cr_assert_str_eq(m->text,
                     "Cijfer: 8\n"
                     "Snel & vriendelijk <top> \xc3\xa9\xc3\xa9n keer\n"
                     "Regel een\n"
                     "Regel twee\n"
                     "punt A\n"
                     "punt B\n"
                     "links rechts\n"
                     "> Hoe tevreden bent u?\n"
                     "> [#" TOKEN "]");
    cr_assert_null(strstr(m->text, "geheim"));
    cr_assert_null(strstr(m->text, "color"));
    mime_free(m);
}

Test(mime, truncated_multipart_gives_best_effort)
{
    struct mime_msg *m = parse_fixture("truncated_multipart.eml");
    /* Bad base64 tail ignored; unknown charset with Latin-1 bytes. */
    cr_assert_str_eq(m->text, "Hallo \xc3\xa9"
                              "en keer");
    cr_assert_eq(m->n_attachments, 1);
    cr_assert_eq(m->date, 0);
    cr_assert_str_eq(m->message_id, "no-angle-brackets@example.org");
    cr_assert(valid_utf8(m->subject), "subject: %s", m->subject);
    cr_assert_not_null(strstr(m->subject, "Broken"));
    cr_assert_str_eq(m->from_addr, "broken@example.org");
    mime_free(m);
}

Test(mime, crlf_and_lf_give_the_same_text)
{
    size_t len;
    char *raw = th_fixture("mime/gmail_qp_utf8.eml", &len);
    struct eq_buf crlf = {0};
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(raw[i] == '\n' ? buf_add(&crlf, "\r\n")
                                    : buf_addc(&crlf, raw[i]),
                     EQ_OK);
    struct mime_msg *a = parse_str(raw), *b = parse_str(crlf.s);
    cr_assert_str_eq(a->text, b->text);
    cr_assert_str_eq(a->subject, b->subject);
    cr_assert_str_eq(b->from_addr, "jurgen.devries@gmail.com");
    mime_free(a);
    mime_free(b);
    buf_free(&crlf);
    free(raw);
}

Test(mime, utf16_and_iso8859_15_parts_are_converted)
{
    struct mime_msg *m =
        parse_str("From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
                  "Content-Type: text/plain; charset=utf-16\n"
                  "Content-Transfer-Encoding: base64\n\n"
                  "//5IAGkAIACsIA==\n"); /* BOM, "Hi €" in UTF-16LE */
    cr_assert_str_eq(m->text, "Hi \xe2\x82\xac");
    mime_free(m);
    m = parse_str("From: a@example.org\nSubject: =?iso-8859-15?q?=A4?=\n"
                  "Content-Type: text/plain; charset=iso-8859-15\n\n"
                  "prijs \xa4 5\n");
    cr_assert_str_eq(m->text, "prijs \xe2\x82\xac 5\n");
    cr_assert_str_eq(m->subject, "\xe2\x82\xac");
    mime_free(m);
}

Test(mime, invalid_utf8_in_utf8_part_is_repaired)
{
    struct mime_msg *m = parse_str("From: a@example.org\nSubject: caf\xe9\n"
                                   "Content-Type: text/plain; charset=utf-8\n\n"
                                   "ok \xff\xfe end \xe2\x82\n");
    cr_assert(valid_utf8(m->text), "text: %s", m->text);
    cr_assert(valid_utf8(m->subject));
    cr_assert_str_eq(m->subject, "caf\xc3\xa9");
    cr_assert_eq(strncmp(m->text, "ok ", 3), 0);
    mime_free(m);
}

Test(mime, forwarded_message_is_not_the_body)
{
    struct mime_msg *m =
        parse_str("From: a@example.org\nSubject: Fwd\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=b\n\n"
                  "--b\nContent-Type: text/plain\n\nZie hieronder.\n"
                  "--b\nContent-Type: message/rfc822\n\n"
                  "From: x@example.org\nSubject: inner\n\nInner body 10\n"
                  "--b--\n");
    cr_assert_str_eq(m->text, "Zie hieronder.");
    cr_assert_eq(m->n_attachments, 1);
    mime_free(m);
}

Test(mime, deep_nesting_is_limited_without_crash)
{
    struct eq_buf b = {0};
    cr_assert_eq(buf_add(&b, "From: a@example.org\nSubject: deep\n"), EQ_OK);
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(buf_printf(&b,
                                "Content-Type: multipart/mixed; "
                                "boundary=b%d\n\n--b%d\n",
                                i, i),
                     EQ_OK);
    cr_assert_eq(buf_add(&b, "Content-Type: text/plain\n\nbottom\n"), EQ_OK);
    struct mime_msg *m = parse_str(b.s);
    cr_assert_str_eq(m->subject, "deep");
    cr_assert(valid_utf8(m->text));
    mime_free(m);
    buf_free(&b);
}

Test(mime, garbage_inputs_never_fail)
{
    static const char *const inputs[] = {
        "",
        "no headers at all",
        "\n\nbody only",
        "Content-Type: multipart/alternative; boundary=\"\"\n\n--\n--",
        "Content-Type: multipart/mixed\n\nno boundary",
        "Subject: =?utf-8?B?####?= =?\n\n",
        "From: <<<@>>>\nTo: ,,,;;;\nReferences: <a> <b\nDate: 32 Foo "
        "99999\n\nx",
        "Content-Type: text/html\n\n<html><body><blockquote><blockquote>q",
        "Content-Transfer-Encoding: quoted-printable\n\n=\n=4=ZZ",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        struct mime_msg *m = NULL;
        cr_assert_eq(mime_parse(inputs[i], strlen(inputs[i]), &m, NULL), EQ_OK,
                     "input %zu", i);
        cr_assert_not_null(m->text);
        cr_assert_not_null(m->subject);
        cr_assert(valid_utf8(m->text));
        mime_free(m);
    }
    mime_free(NULL);
}

Test(mime, html_to_text_marks_nested_blockquotes)
{
    char *t = NULL;
    const char *h = "<p>Top</p><blockquote>een<blockquote>twee</blockquote>"
                    "</blockquote>";
    cr_assert_eq(mime_html_to_text(h, strlen(h), &t), EQ_OK);
    cr_assert_str_eq(t, "Top\n> een\n>> twee");
    free(t);
}

Test(mime, message_saved_from_an_mbox_parses_past_its_from_line)
{
    const char *raw = "From MAILER-DAEMON Mon Nov 23 10:00:00 2026\n"
                      "From: Jan <jan@example.org>\n"
                      "Subject: =?UTF-8?Q?R=C3=A9?= enquete\n"
                      "In-Reply-To: <inv.0123456789abcdefghjkmnpqrs@org>\n"
                      "\n"
                      "8 - prima\n";
    struct mime_msg *m = NULL;

    cr_assert_eq(mime_parse(raw, strlen(raw), &m, NULL), EQ_OK);
    cr_assert_str_eq(m->from_addr, "jan@example.org");
    cr_assert_str_eq(m->subject, "Ré enquete");
    cr_assert_str_eq(m->in_reply_to, "inv.0123456789abcdefghjkmnpqrs@org");
    cr_assert_not_null(strstr(m->text, "8 - prima"));
    cr_assert_null(strstr(m->text, "From MAILER"));
    mime_free(m);
}

/* RFC 3464/6522: the report part is read whatever its disposition says. */
Test(mime, delivery_status_part_marked_as_attachment_is_still_read)
{
    struct mime_msg *m = parse_str(
        "From: postmaster@mx.example.net\nSubject: Undeliverable\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        " boundary=\"rpt\"\n\n"
        "--rpt\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--rpt\nContent-Type: message/delivery-status; name=\"status.txt\"\n"
        "Content-Disposition: attachment; filename=\"status.txt\"\n\n"
        "Reporting-MTA: dns; mx.example.net\n\n"
        "Final-Recipient: rfc822; anna@example.org\n"
        "Action: failed\nStatus: 5.1.1\n"
        "--rpt\nContent-Type: message/feedback-report\n"
        "Content-Disposition: attachment\n\n"
        "Feedback-Type: abuse\n"
        "--rpt--\n");
    cr_assert_str_eq(m->report_type, "delivery-status");
    cr_assert_not_null(m->delivery_status);
    cr_assert_not_null(strstr(m->delivery_status, "Status: 5.1.1"));
    cr_assert_not_null(strstr(m->delivery_status,
                              "Final-Recipient: rfc822; anna@example.org"));
    cr_assert_not_null(m->feedback_report);
    cr_assert_not_null(strstr(m->feedback_report, "Feedback-Type: abuse"));
    cr_assert_str_eq(m->text, "Delivery failed.");
    cr_assert_eq(m->n_attachments, 2);
    mime_free(m);
}

Test(mime, named_inline_text_part_is_the_body_when_there_is_no_other)
{
    struct mime_msg *m =
        parse_str("From: gateway@mx.example.net\nSubject: Delivery Status\n"
                  "MIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=\"gw\"\n\n"
                  "--gw\nContent-Type: text/plain; name=\"problems.txt\"\n\n"
                  "Problems delivering to <bob@example.org>: unknown user\n"
                  "--gw\nContent-Type: message/rfc822\n"
                  "Content-Disposition: attachment\n\n"
                  "From: us@example.org\nSubject: survey\n\nScore 1-10\n"
                  "--gw--\n");
    cr_assert_str_eq(m->text,
                     "Problems delivering to <bob@example.org>: unknown user");
    cr_assert_eq(m->n_attachments, 2);
    mime_free(m);
}

Test(mime, text_part_with_a_name_gives_way_to_a_real_body)
{
    /* The unnamed text/html is the body, not the named text part ... */
    struct mime_msg *m = parse_str(
        "From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
        "--b\nContent-Type: text/html\n\n<p>Mijn cijfer: 7</p>\n"
        "--b\nContent-Type: text/plain; name=\"notes.txt\"\n\nnotitie 3\n"
        "--b--\n");
    cr_assert_str_eq(m->text, "Mijn cijfer: 7");
    mime_free(m);
    /* ... and an attached text file is never the body, even alone. */
    m = parse_str("From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
                  "--b\nContent-Type: text/plain; name=\"cv.txt\"\n"
                  "Content-Disposition: attachment; filename=\"cv.txt\"\n\n"
                  "Cijfers: 9 en 10\n"
                  "--b--\n");
    cr_assert_str_eq(m->text, "");
    cr_assert_eq(m->n_attachments, 1);
    mime_free(m);
}

Test(mime, unindented_boundary_line_continues_the_content_type)
{
    /* Nested: the broken fold is in a part header. */
    struct mime_msg *m =
        parse_str("From: mailer@sms.example.net\nSubject: Returned mail\n"
                  "MIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=\"out-1\"\n\n"
                  "--out-1\n"
                  "Content-Type: multipart/alternative;\n"
                  "boundary=\"in-2\"\n\n"
                  "--in-2\nContent-Type: text/plain\n\n"
                  "Error: no such user here\n"
                  "--in-2\nContent-Type: text/html\n\n<p>Error</p>\n"
                  "--in-2--\n\n"
                  "--out-1--\n");
    cr_assert_str_eq(m->text, "Error: no such user here");
    cr_assert_not_null(m->html);
    mime_free(m);
    /* Top level, unquoted, CRLF: the header itself is repaired too. */
    m = parse_str("From: mailer@sms.example.net\r\nSubject: Returned mail\r\n"
                  "Content-Type: multipart/alternative;\r\n"
                  "Boundary=top3\r\n"
                  "MIME-Version: 1.0\r\n\r\n"
                  "--top3\r\nContent-Type: text/plain\r\n\r\n"
                  "Mailbox unavailable\r\n"
                  "--top3--\r\n");
    cr_assert_str_eq(m->text, "Mailbox unavailable");
    cr_assert_str_eq(mime_header(m, "Content-Type"),
                     "multipart/alternative;\tBoundary=top3");
    cr_assert_str_eq(mime_header(m, "MIME-Version"), "1.0");
    mime_free(m);
}

Test(mime, boundary_is_found_in_the_body_when_the_header_disagrees)
{
    /* The header says .1111, the delimiter lines say .2222. */
    struct mime_msg *m = parse_str(
        "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        "\tboundary=\"Q7.1111/mx.example.net\"\n\n"
        "This is a MIME-encapsulated message.\n\n"
        "--Q7.2222/mx.example.net\nContent-Type: text/plain\n\n"
        "Your message could not be delivered.\n\n"
        "--Q7.2222/mx.example.net\n"
        "Content-Type: message/delivery-status\n\n"
        "Final-Recipient: rfc822; kees@example.org\n"
        "Action: failed\nStatus: 5.1.1\n\n"
        "--Q7.2222/mx.example.net\nContent-Type: message/rfc822\n\n"
        "From: us@example.org\nSubject: survey\n\nhello\n\n"
        "--Q7.2222/mx.example.net--\n");
    cr_assert_str_eq(m->content_type, "multipart/report");
    cr_assert_str_eq(m->report_type, "delivery-status");
    cr_assert_str_eq(m->text, "Your message could not be delivered.\n");
    cr_assert_not_null(m->delivery_status);
    cr_assert_not_null(strstr(m->delivery_status, "Status: 5.1.1"));
    cr_assert_eq(m->n_attachments, 1);
    mime_free(m);
}

Test(mime, boundary_is_found_in_the_body_when_the_header_has_none)
{
    struct mime_msg *m =
        parse_str("From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                  "Content-Type: multipart/alternative\r\n\r\n"
                  "--zz9\r\nContent-Type: text/plain\r\n\r\nCijfer 8\r\n"
                  "--zz9\r\nContent-Type: text/html\r\n\r\n<b>8</b>\r\n"
                  "--zz9--\r\n");
    cr_assert_str_eq(m->text, "Cijfer 8");
    cr_assert_not_null(m->html);
    mime_free(m);
}

/* Without a working boundary the body is what a reader sees: "--x" lines
 * without a closing "--x--" and dash rules are not taken for one. */
Test(mime, multipart_without_a_usable_boundary_is_read_as_text)
{
    struct mime_msg *m =
        parse_str("From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=\"real\"\n\n"
                  "--fake\nContent-Type: text/plain\n\nfirst\n"
                  "--fake\nContent-Type: text/plain\n\nsecond\n");
    cr_assert_str_eq(m->text, "--fake\nContent-Type: text/plain\n\nfirst\n"
                              "--fake\nContent-Type: text/plain\n\nsecond\n");
    mime_free(m);
    m = parse_str("From: a@example.org\nSubject: x\nMIME-Version: 1.0\n"
                  "Content-Type: multipart/mixed; boundary=\"gone\"\n\n"
                  "Cijfer 8\n------\nuitleg\n--------\n");
    cr_assert_str_eq(m->text, "Cijfer 8\n------\nuitleg\n--------\n");
    mime_free(m);
}
