#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose.h"
#include "digest.h"
#include "eqtime.h"
#include "mime.h"

#define TOKEN "abcdefghjkmnpqrstvwxyz0123"

/* --- independent decoders used to read the output back ---------------- */

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The unfolded value of header name (first occurrence), or NULL. */
static char *
header(const char *msg, const char *name)
{
    const char *end = strstr(msg, "\r\n\r\n"), *p = msg;
    size_t nl = strlen(name);
    struct eq_buf b = {0};

    while (p && p < end) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            for (;;) {
                const char *e = strstr(v, "\r\n");
                buf_addn(&b, v, (size_t)(e - v));
                if (e[2] != ' ' && e[2] != '\t')
                    break;
                v = e + 2;
            }
            char *s = buf_take(&b);
            size_t i = 0;
            while (s[i] == ' ')
                i++;
            memmove(s, s + i, strlen(s + i) + 1);
            return s;
        }
        p = strstr(p, "\r\n");
        if (p)
            p += 2;
    }
    return NULL;
}

/* Asserts that header name of msg unfolds to exactly want. */
static void
assert_header(const char *msg, const char *name, const char *want)
{
    char *v = header(msg, name);

    cr_assert_not_null(v, "no %s header", name);
    cr_assert_str_eq(v, want, "%s", name);
    free(v);
}

/* RFC 2047 decoding of Q-encoded UTF-8 words; whitespace between two
 * encoded words is dropped. */
static char *
decode_2047(const char *s)
{
    struct eq_buf b = {0}, pending = {0};
    int last_encoded = 0;

    while (*s) {
        if (strncmp(s, "=?UTF-8?Q?", 10) == 0) {
            const char *e = strstr(s + 10, "?=");
            cr_assert_not_null(e);
            if (!last_encoded)
                buf_addn(&b, pending.s ? pending.s : "", pending.len);
            buf_reset(&pending);
            for (const char *p = s + 10; p < e; p++) {
                if (*p == '_')
                    buf_addc(&b, ' ');
                else if (*p == '=') {
                    buf_addc(&b, (char)(hexval(p[1]) * 16 + hexval(p[2])));
                    p += 2;
                } else
                    buf_addc(&b, *p);
            }
            s = e + 2;
            last_encoded = 1;
        } else if (*s == ' ' || *s == '\t') {
            buf_addc(&pending, *s++);
        } else {
            buf_addn(&b, pending.s ? pending.s : "", pending.len);
            buf_reset(&pending);
            buf_addc(&b, *s++);
            last_encoded = 0;
        }
    }
    buf_addn(&b, pending.s ? pending.s : "", pending.len);
    buf_free(&pending);
    return buf_take(&b);
}

/* Asserts that the Subject of msg decodes to exactly want. */
static void
assert_subject(const char *msg, const char *want)
{
    char *v = header(msg, "Subject"), *subj;

    cr_assert_not_null(v, "no Subject header");
    subj = decode_2047(v);
    cr_assert_str_eq(subj, want);
    free(subj);
    free(v);
}

static char *
qp_decode(const char *s, size_t n)
{
    struct eq_buf b = {0};

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n')
            i += 2;
        else if (s[i] == '=') {
            cr_assert(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
            buf_addc(&b, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else
            buf_addc(&b, s[i]);
    }
    return buf_take(&b);
}

/* Body of the part whose Content-Type starts with type, QP-decoded. */
static char *
part_body(const char *msg, const char *type)
{
    char key[80];
    snprintf(key, sizeof(key), "Content-Type: %s", type);
    const char *p = strstr(msg, key);
    cr_assert_not_null(p, "no %s part", type);
    const char *body = strstr(p, "\r\n\r\n") + 4;
    const char *end = strstr(body, "\r\n--");
    if (end == NULL)
        end = body + strlen(body);
    return qp_decode(body, (size_t)(end - body));
}

static void
assert_crlf_only(const char *msg, size_t len)
{
    cr_assert_eq(strlen(msg), len);
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n')
            cr_assert(i > 0 && msg[i - 1] == '\r', "bare LF at %zu", i);
        if (msg[i] == '\r')
            cr_assert(msg[i + 1] == '\n', "bare CR at %zu", i);
    }
}

static void
assert_header_lines_fit(const char *msg, size_t max)
{
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p < end;) {
        const char *e = strstr(p, "\r\n");
        cr_assert_leq((size_t)(e - p), max, "header line too long: %.*s",
                      (int)(e - p), p);
        p = e + 2;
    }
}

static struct compose_mail
base_mail(void)
{
    struct compose_mail m = {
        .from = "HR Enquête <hr@example.org>",
        .to = "anna@example.org",
        .to_name = "Anna de Vries",
        .reply_to = "enquete+" TOKEN "@example.org",
        .subject = "Een vraag over ICT [#" TOKEN "]",
        .message_id = "inv." TOKEN "@example.org",
        .list_unsubscribe =
            "mailto:enquete+" TOKEN "@example.org?subject=afmelden",
        .auto_submitted = 1,
        .timezone = "Europe/Amsterdam",
        .text = "Hoi Anna,\nHoe tevreden ben je?\n",
        .html = NULL,
    };
    eqtime_parse_iso("2026-12-01T09:00:00+01:00", "UTC", &m.date);
    return m;
}

/* --- compose_build ---------------------------------------------------- */

Test(compose, builds_headers_with_crlf_line_ends)
{
    struct compose_mail m = base_mail();
    char *out = NULL, *v;
    size_t len = 0;
    struct eq_buf d = {0};

    cr_assert_eq(compose_build(&m, &out, &len, &d), EQ_OK, "%s", buf_str(&d));
    assert_crlf_only(out, len);
    assert_header(out, "Date", "Tue, 1 Dec 2026 09:00:00 +0100");
    assert_header(out, "To", "Anna de Vries <anna@example.org>");
    assert_header(out, "Reply-To", "<enquete+" TOKEN "@example.org>");
    assert_header(out, "Message-ID", "<inv." TOKEN "@example.org>");
    assert_header(out, "Auto-Submitted", "auto-generated");
    assert_header(out, "X-Auto-Response-Suppress", "OOF, AutoReply");
    v = header(out, "List-Unsubscribe");
    cr_assert_str_eq(v,
                     "<mailto:enquete+" TOKEN "@example.org?subject=afmelden>");
    free(v);
    cr_assert_null(header(out, "List-Unsubscribe-Post"));
    cr_assert_null(header(out, "In-Reply-To"));
    assert_header(out, "MIME-Version", "1.0");
    assert_header(out, "Content-Type", "text/plain; charset=utf-8");
    cr_assert(strstr(out, "\r\n\r\nHoi Anna,\r\nHoe tevreden ben je?\r\n") !=
              NULL);
    free(out);
    buf_free(&d);
}

Test(compose, encodes_non_ascii_display_name_and_quotes_specials)
{
    struct compose_mail m = base_mail();
    char *out = NULL, *v;

    m.to_name = "Vries, Anna \"AJ\"";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_OK);
    assert_header(out, "From", "=?UTF-8?Q?HR_Enqu=C3=AAte?= <hr@example.org>");
    assert_header(out, "To", "\"Vries, Anna \\\"AJ\\\"\" <anna@example.org>");
    free(out);

    const char *longname = "Zoë van den Berg-Ĳsselmeer, afdeling Facilitaire "
                           "Dienstverlening";
    m.to_name = longname;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_OK);
    assert_header_lines_fit(out, 78);
    v = header(out, "To");
    char *lt = strstr(v, " <anna@example.org>");
    cr_assert_not_null(lt, "%s", v);
    *lt = '\0';
    char *dec = decode_2047(v);
    cr_assert_str_eq(dec, longname);
    /* Split between words, never inside one. */
    cr_assert(strstr(v, "?= =?UTF-8?Q?_") != NULL, "%s", v);
    free(dec);
    free(v);
    free(out);
}

Test(compose, folds_long_subject_within_78_columns)
{
    struct compose_mail m = base_mail();
    const char *subj = "Een heel lange onderwerpregel die veel te lang is om "
                       "op een enkele regel te passen zonder te vouwen en dus "
                       "gevouwen wordt [#" TOKEN "]";
    char *out = NULL;

    m.subject = subj;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_OK);
    assert_header_lines_fit(out, 78);
    cr_assert(strstr(out, "Subject: Een heel lange") != NULL);
    cr_assert(strstr(out, "\r\n ") != NULL, "%s", out);
    assert_header(out, "Subject", subj);
    free(out);
}

Test(compose, encodes_non_ascii_subject_as_rfc2047_round_trip)
{
    struct compose_mail m = base_mail();
    const char *subj = "Klanttevredenheid 2026: één vraag over Facilitaire "
                       "Zaken – ‘snel’ en ‘prettig’ geholpen? Zeg het ons "
                       "even [#" TOKEN "]";
    char *out = NULL, *raw, *dec;

    m.subject = subj;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_OK);
    assert_header_lines_fit(out, 78);
    raw = header(out, "Subject");
    /* ASCII words around the encoded stretch stay readable. */
    cr_assert(strncmp(raw, "Klanttevredenheid 2026: =?UTF-8?Q?", 34) == 0, "%s",
              raw);
    cr_assert(strstr(raw, "?= geholpen? Zeg het ons even [#" TOKEN "]") != NULL,
              "%s", raw);
    cr_assert(strstr(raw, "=C3=A9=C3=A9n") != NULL);
    for (char *p = raw; *p; p++)
        cr_assert((unsigned char)*p < 0x80);
    /* No encoded word longer than 75 characters. */
    for (char *p = strstr(raw, "=?"); p; p = strstr(p + 2, "=?")) {
        char *e = strstr(p + 10, "?=");
        cr_assert_leq((size_t)(e + 2 - p), 75);
        p = e;
    }
    dec = decode_2047(raw);
    cr_assert_str_eq(dec, subj);
    free(dec);
    free(raw);
    free(out);
}

Test(compose, refuses_line_breaks_in_header_values)
{
    struct compose_mail m = base_mail();
    char *out = (char *)"x";
    struct eq_buf d = {0};

    m.subject = "Hallo\r\nBcc: everyone@example.org";
    cr_assert_eq(compose_build(&m, &out, NULL, &d), EQ_ERR_DATA);
    cr_assert_null(out);
    cr_assert(strstr(buf_str(&d), "Subject") != NULL);
    m = base_mail();
    m.to_name = "Anna\nX-Evil: 1";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    m = base_mail();
    m.message_id = "a@b\r\nX: y";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    m = base_mail();
    m.list_unsubscribe = "mailto:a@b?subject=x\ny";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    m = base_mail();
    m.to = "anna@example.org>\r\nBcc: x@y";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    m = base_mail();
    m.from = "HR <hr@example.org\rX>";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    cr_assert_null(out);
    buf_free(&d);
}

Test(compose, quoted_printable_lines_fit_and_round_trip)
{
    struct compose_mail m = base_mail();
    struct eq_buf t = {0}, want = {0};
    char *out = NULL, *body;
    size_t len;

    /* A long line of accented text, '=' signs, trailing blanks, a line
     * starting with "From " and one with a dot. */
    for (int i = 0; i < 30; i++)
        buf_add(&t, "één=twee ");
    buf_add(&t, "\nregel met spatie aan het eind  \n");
    buf_add(&t, "From here\n.\ntab\t\n");
    /* Long runs the encoder copies in one go: plain ASCII with a dot where
     * a soft break may fall, and nothing but '='. */
    for (int i = 0; i < 60; i++)
        buf_add(&t, "abcd.");
    buf_add(&t, "\n");
    for (int i = 0; i < 50; i++)
        buf_add(&t, "==");
    buf_add(&t, "\nlaatste");
    m.text = t.s;
    cr_assert_eq(compose_build(&m, &out, &len, NULL), EQ_OK);
    assert_crlf_only(out, len);
    const char *b = strstr(out, "\r\n\r\n") + 4;
    for (const char *p = b; *p;) {
        const char *e = strstr(p, "\r\n");
        if (e == NULL)
            e = p + strlen(p);
        cr_assert_leq((size_t)(e - p), 76);
        if (e > p)
            cr_assert(e[-1] != ' ' && e[-1] != '\t', "trailing blank");
        for (const char *c = p; c < e; c++)
            cr_assert((unsigned char)*c < 0x80);
        cr_assert(strncmp(p, "From ", 5) != 0);
        p = *e ? e + 2 : e;
    }
    cr_assert(strstr(b, "=3D") != NULL);
    body = qp_decode(b, strlen(b));
    for (const char *p = t.s; *p; p++) {
        if (*p == '\n')
            buf_addc(&want, '\r');
        buf_addc(&want, *p);
    }
    buf_add(&want, "\r\n");
    cr_assert_str_eq(body, want.s);
    free(body);
    free(out);
    buf_free(&t);
    buf_free(&want);
}

Test(compose, alternative_with_html_has_unique_boundary)
{
    struct compose_mail m = base_mail();
    char *out = NULL, *ct, *html, *text;
    size_t len;

    m.html = "<p>Hoi &amp; welkom — <a href=\"mailto:x@y\">klik</a></p>\n";
    cr_assert_eq(compose_build(&m, &out, &len, NULL), EQ_OK);
    assert_crlf_only(out, len);
    ct = header(out, "Content-Type");
    cr_assert(strncmp(ct, "multipart/alternative; boundary=\"", 33) == 0, "%s",
              ct);
    char boundary[80];
    const char *q = ct + 33;
    size_t bl = strcspn(q, "\"");
    cr_assert_lt(bl, sizeof(boundary));
    memcpy(boundary, q, bl);
    boundary[bl] = '\0';
    /* The boundary appears only as delimiter lines. */
    size_t count = 0;
    for (const char *p = strstr(out, boundary); p;
         p = strstr(p + 1, boundary)) {
        count++;
        cr_assert(p[-1] == '"' || (p[-2] == '-' && p[-3] == '\n'));
    }
    cr_assert_eq(count, 4); /* header, two parts, closing */
    cr_assert(strstr(out, "--") != NULL);
    text = part_body(out, "text/plain");
    cr_assert_str_eq(text, "Hoi Anna,\r\nHoe tevreden ben je?\r\n");
    html = part_body(out, "text/html");
    cr_assert_str_eq(html, "<p>Hoi &amp; welkom — <a "
                           "href=\"mailto:x@y\">klik</a></p>\r\n");
    char closing[100];
    snprintf(closing, sizeof(closing), "\r\n--%s--\r\n", boundary);
    cr_assert(strstr(out, closing) != NULL);
    free(text);
    free(html);
    free(ct);
    free(out);
}

Test(compose, related_parts_carry_content_id_and_base64)
{
    struct compose_mail m = base_mail();
    static const unsigned char png[] = {0x89, 'P',  'N',  'G',  0x0d,
                                        0x0a, 0x1a, 0x0a, 0x00, 0xff};
    struct compose_part part = {"image/png", "chart.png", "chart1@example.org",
                                png, sizeof(png)};
    char *out = NULL;

    m.html = "<img src=\"cid:chart1@example.org\">";
    m.parts = &part;
    m.n_parts = 1;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_OK);
    const char *rel = strstr(out, "Content-Type: multipart/related;");
    cr_assert_not_null(rel);
    cr_assert(strstr(out, "Content-Type: text/html") > rel);
    const char *img = strstr(out, "Content-Type: image/png");
    cr_assert_not_null(img);
    cr_assert(strstr(img, "Content-ID: <chart1@example.org>\r\n") != NULL);
    cr_assert(strstr(img, "Content-Transfer-Encoding: base64\r\n") != NULL);
    /* 89 50 4E 47 0D 0A 1A 0A 00 FF in base64, computed by hand. */
    cr_assert(strstr(img, "\r\n\r\niVBORw0KGgoA/w==\r\n") != NULL);
    free(out);
}

Test(compose, threads_reminders_with_in_reply_to)
{
    struct compose_mail m = base_mail();
    char *out = NULL;

    m.message_id = "rem.1." TOKEN "@example.org";
    m.in_reply_to = "inv." TOKEN "@example.org";
    m.references = "inv." TOKEN "@example.org";
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_OK);
    assert_header(out, "In-Reply-To", "<inv." TOKEN "@example.org>");
    assert_header(out, "References", "<inv." TOKEN "@example.org>");
    free(out);
}

/* --- links and invitations -------------------------------------------- */

Test(compose, answer_link_percent_encodes_subject_and_body)
{
    char *link = NULL;

    cr_assert_eq(compose_answer_link("enquete", "example.org", TOKEN,
                                     "Re: Eén vraag [#" TOKEN "]", "NPS: 9",
                                     &link),
                 EQ_OK);
    cr_assert_str_eq(link, "mailto:enquete+" TOKEN "@example.org"
                           "?subject=Re%3A%20E%C3%A9n%20vraag%20%5B%23" TOKEN
                           "%5D&body=NPS%3A%209");
    free(link);
    /* The token is appended when the subject lacks it. */
    cr_assert_eq(compose_answer_link("enquete", "example.org", TOKEN, "a&b=c",
                                     "x\ny", &link),
                 EQ_OK);
    cr_assert_str_eq(link,
                     "mailto:enquete+" TOKEN "@example.org"
                     "?subject=a%26b%3Dc%20%5B%23" TOKEN "%5D&body=x%0D%0Ay");
    free(link);
    cr_assert_eq(
        compose_answer_link("enquete", "example.org", "short", "s", "b", &link),
        EQ_ERR_DATA);
}

struct fixture {
    struct eq_config cfg;
    struct campaign camp;
    struct campaign_metric metrics[2];
    struct store_invitation inv;
    struct compose_invite ci;
};

static void
fixture_init(struct fixture *f, const char *templates)
{
    memset(f, 0, sizeof(*f));
    f->cfg.general.from = (char *)"HR Enquête <hr@example.org>";
    f->cfg.general.reply_address = (char *)"enquete@example.org";
    f->cfg.general.language = (char *)"nl";
    f->cfg.general.timezone = (char *)"Europe/Amsterdam";
    f->cfg.general.templates = (char *)templates;
    f->metrics[0] = (struct campaign_metric){
        (char *)"nps",
        METRIC_NPS,
        0,
        10,
        (char *)"Aanbeveling",
        (char *)"Recommendation",
        (char *)"Hoe waarschijnlijk is het dat u {{provider}} aanraadt aan "
                "een collega?",
        (char *)"How likely is it that you would recommend {{provider}} to a "
                "colleague?"};
    f->metrics[1] = (struct campaign_metric){
        (char *)"ces",
        METRIC_CES,
        1,
        7,
        (char *)"Gemak",
        (char *)"Ease",
        (char *)"{{provider}} zorgde ervoor dat mijn vraag makkelijk werd "
                "afgehandeld.",
        (char *)"{{provider}} made it easy to handle my request."};
    f->camp.name = (char *)"kto";
    f->camp.file = (char *)"campaigns/kto.ini";
    f->camp.title_nl = (char *)"Klanttevredenheid";
    f->camp.title_en = (char *)"Customer satisfaction";
    f->camp.metrics = f->metrics;
    f->camp.n_metrics = 1;
    f->camp.close_after = 10;
    f->camp.language = (char *)"employee";
    f->camp.anonymity_min = 5;
    f->camp.timezone = (char *)"Europe/Amsterdam";
    memcpy(f->inv.token, TOKEN, sizeof(f->inv.token));
    f->inv.id = 7;
    f->inv.language = (char *)"nl";
    f->inv.email = (char *)"anna@example.org";
    f->inv.employee_name = (char *)"Anna de Vries";
    f->inv.provider_name = (char *)"Facilitaire Zaken";
    f->inv.provider_code = (char *)"fz";
    f->ci.cfg = &f->cfg;
    f->ci.campaign = &f->camp;
    f->ci.inv = &f->inv;
    eqtime_parse_iso("2026-11-23T09:30", "Europe/Amsterdam", &f->ci.now);
}

#define TEMPLATES FIXTURES "/../../templates"

Test(compose, invitation_follows_mail_conventions)
{
    struct fixture f;
    char *out = NULL, *env = NULL, *v, *subj;
    size_t len;
    struct eq_buf d = {0};

    fixture_init(&f, TEMPLATES);
    cr_assert_eq(compose_invitation(&f.ci, &out, &len, &env, &d), EQ_OK, "%s",
                 buf_str(&d));
    assert_crlf_only(out, len);
    assert_header_lines_fit(out, 998);
    cr_assert_str_eq(env, "enquete+" TOKEN "@example.org");
    v = header(out, "Subject");
    subj = decode_2047(v);
    cr_assert_str_eq(subj, "Klanttevredenheid: één vraag over Facilitaire "
                           "Zaken [#" TOKEN "]");
    free(v);
    assert_header(out, "Reply-To", "<enquete+" TOKEN "@example.org>");
    assert_header(out, "Message-ID", "<inv." TOKEN "@example.org>");
    assert_header(out, "To", "Anna de Vries <anna@example.org>");
    assert_header(out, "From", "=?UTF-8?Q?HR_Enqu=C3=AAte?= <hr@example.org>");
    assert_header(out, "List-Unsubscribe",
                  "<mailto:enquete+" TOKEN "@example.org?subject="
                  "afmelden%20%5B%23" TOKEN "%5D>");
    assert_header(out, "Auto-Submitted", "auto-generated");

    char *text = part_body(out, "text/plain");
    cr_assert(strncmp(text, "Beste Anna,\r\n\r\n", 15) == 0, "%s", text);
    cr_assert(strstr(text, "Hoe waarschijnlijk is het dat u Facilitaire "
                           "Zaken aanraadt aan een collega?") != NULL);
    cr_assert(strstr(text, "   0  1  2  3  4  5  6  7  8  9  10\r\n") != NULL,
              "%s", text);
    cr_assert(strstr(text, "0 = zeer onwaarschijnlijk, 10 = zeer "
                           "waarschijnlijk") != NULL);
    cr_assert(strstr(text, "tot en met 3 december 2026") != NULL);
    cr_assert(strstr(text, "minstens 5 mensen") != NULL);
    cr_assert(strstr(text, "\"afmelden\"") != NULL);
    cr_assert(strstr(text, "\"n.v.t.\"") != NULL);
    cr_assert(strstr(text, "Subject:") == NULL);
    cr_assert(strstr(text, "\r\n\r\n\r\n") == NULL, "double blank line");

    char *html = part_body(out, "text/html");
    cr_assert(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    for (int value = 0; value <= 10; value++) {
        char want[300];
        snprintf(want, sizeof(want),
                 "href=\"mailto:enquete+" TOKEN
                 "@example.org?subject=Re%%3A%%20"
                 "Klanttevredenheid%%3A%%20%%C3%%A9%%C3%%A9n%%20vraag%%20over"
                 "%%20Facilitaire%%20Zaken%%20%%5B%%23" TOKEN
                 "%%5D&amp;body=NPS%%3A%%20%d\"",
                 value);
        cr_assert(strstr(html, want) != NULL, "no link for %d", value);
    }
    cr_assert(strstr(html, "NPS%3A%2011") == NULL);
    cr_assert(strstr(html, "http") == NULL, "no external resources");
    free(text);
    free(html);
    free(subj);
    free(out);
    free(env);
    buf_free(&d);
}

Test(compose, reminder_references_the_invitation)
{
    struct fixture f;
    char *out = NULL, *env = NULL, *v, *subj;

    fixture_init(&f, TEMPLATES);
    f.ci.reminder = 1;
    f.inv.sent_at = f.ci.now - 3 * 86400;
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, &env, NULL), EQ_OK);
    assert_header(out, "Message-ID", "<rem.1." TOKEN "@example.org>");
    assert_header(out, "In-Reply-To", "<inv." TOKEN "@example.org>");
    assert_header(out, "References", "<inv." TOKEN "@example.org>");
    v = header(out, "Subject");
    subj = decode_2047(v);
    cr_assert(strncmp(subj, "Herinnering: ", 13) == 0, "%s", subj);
    cr_assert(strstr(subj, " [#" TOKEN "]") != NULL);
    /* Closes ten days after the original send, not after the reminder. */
    char *text = part_body(out, "text/plain");
    cr_assert(strstr(text, "tot en met 30 november 2026") != NULL, "%s", text);
    free(text);
    free(subj);
    free(v);
    free(out);
    free(env);
}

/* --- confirmations ---------------------------------------------------- */

static struct compose_ack
ack_of(struct fixture *f, const struct compose_score *scores, size_t n)
{
    struct compose_ack ca = {
        .cfg = &f->cfg,
        .campaign = &f->camp,
        .inv = &f->inv,
        .n = 2,
        .scores = scores,
        .n_scores = n,
        .comment = "Snel geholpen",
        .now = f->ci.now,
    };
    return ca;
}

Test(compose, confirmation_answers_the_reply_in_its_thread)
{
    struct fixture f;
    struct compose_score s[2] = {{"nps", 8}, {"ces", -1}};
    char *out = NULL, *env = NULL;
    size_t len;
    struct eq_buf d = {0};

    fixture_init(&f, TEMPLATES);
    f.camp.n_metrics = 2;
    struct compose_ack ca = ack_of(&f, s, 2);
    cr_assert_eq(compose_confirmation(&ca, &out, &len, &env, &d), EQ_OK, "%s",
                 buf_str(&d));
    assert_crlf_only(out, len);
    assert_header(out, "Message-ID", "<ack." TOKEN ".2@example.org>");
    assert_header(out, "In-Reply-To", "<inv." TOKEN "@example.org>");
    assert_header(out, "References", "<inv." TOKEN "@example.org>");
    assert_header(out, "Reply-To", "<enquete+" TOKEN "@example.org>");
    assert_header(out, "To", "Anna de Vries <anna@example.org>");
    assert_header(out, "Auto-Submitted", "auto-replied");
    assert_header(out, "X-Auto-Response-Suppress", "OOF, AutoReply");
    cr_assert_null(header(out, "List-Unsubscribe"));
    cr_assert_str_eq(env, "enquete+" TOKEN "@example.org");
    assert_subject(out, "Bedankt voor uw antwoord over Facilitaire Zaken "
                        "[#" TOKEN "]");
    char *text = part_body(out, "text/plain");
    cr_assert(strncmp(text, "Beste Anna,\r\n", 13) == 0, "%s", text);
    cr_assert(strstr(text, "  Aanbeveling: 8\r\n") != NULL, "%s", text);
    cr_assert(strstr(text, "  Gemak: n.v.t.\r\n") != NULL, "%s", text);
    cr_assert(strstr(text, "  Snel geholpen\r\n") != NULL, "%s", text);
    char *html = part_body(out, "text/html");
    cr_assert(strstr(html, "Aanbeveling</td>") != NULL);
    free(html);
    free(text);
    free(out);
    free(env);

    /* N numbers the confirmations of one token; 0 is the opt-out's. */
    ca.n = 0;
    cr_assert_eq(compose_confirmation(&ca, &out, NULL, NULL, &d), EQ_ERR_DATA);
    cr_assert_null(out);
    buf_free(&d);
}

Test(compose, english_confirmation_uses_english_labels)
{
    struct fixture f;
    struct compose_score s[1] = {{"nps", 10}};
    char *out = NULL;

    fixture_init(&f, TEMPLATES);
    f.inv.language = (char *)"en";
    f.inv.employee_name = (char *)"";
    struct compose_ack ca = ack_of(&f, s, 1);
    ca.n = 1;
    ca.comment = NULL;
    cr_assert_eq(compose_confirmation(&ca, &out, NULL, NULL, NULL), EQ_OK);
    assert_header(out, "Message-ID", "<ack." TOKEN ".1@example.org>");
    assert_header(out, "To", "<anna@example.org>");
    assert_header(out, "Auto-Submitted", "auto-replied");
    assert_subject(out, "Thank you for your answer about Facilitaire Zaken "
                        "[#" TOKEN "]");
    char *text = part_body(out, "text/plain");
    cr_assert(strncmp(text, "Hi,\r\n", 5) == 0, "%s", text);
    cr_assert(strstr(text, "  Recommendation: 10\r\n") != NULL, "%s", text);
    cr_assert(strstr(text, "Your comment") == NULL, "%s", text);
    free(text);
    free(out);
}

Test(compose, optout_confirmation_in_both_languages)
{
    static const struct {
        const char *lang, *subject, *hr;
    } want[] = {
        {"nl", "U bent afgemeld voor de enquêtes [#" TOKEN "]",
         "Wilt u toch weer meedoen? Laat het HR weten."},
        {"en", "You have been unsubscribed from the surveys [#" TOKEN "]",
         "Changed your mind? Let HR know."},
    };

    for (size_t i = 0; i < 2; i++) {
        struct fixture f;
        char *out = NULL, *env = NULL;

        fixture_init(&f, TEMPLATES);
        f.inv.language = (char *)want[i].lang;
        struct compose_ack ca = ack_of(&f, NULL, 0);
        cr_assert_eq(compose_optout_confirmation(&ca, &out, NULL, &env, NULL),
                     EQ_OK);
        assert_header(out, "Message-ID", "<ack." TOKEN ".0@example.org>");
        assert_header(out, "In-Reply-To", "<inv." TOKEN "@example.org>");
        assert_header(out, "Reply-To", "<enquete+" TOKEN "@example.org>");
        assert_header(out, "Auto-Submitted", "auto-replied");
        cr_assert_null(header(out, "List-Unsubscribe"));
        cr_assert_str_eq(env, "enquete+" TOKEN "@example.org");
        assert_subject(out, want[i].subject);
        char *text = part_body(out, "text/plain");
        cr_assert(strstr(text, want[i].hr) != NULL, "%s", text);
        free(text);
        free(out);
        free(env);
    }
}

/* The greeting that opens a mail's text: its first line. */
static char *
greeting(const char *msg)
{
    char *text = part_body(msg, "text/plain");
    char *line = strndup(text, strcspn(text, "\r\n"));

    free(text);
    return line;
}

Test(compose, confirmation_and_optout_greet_by_first_name_as_the_invitation)
{
    static const struct {
        const char *lang, *name, *hello;
    } want[] = {
        {"nl", "Vries, Anna", "Beste Anna,"},
        {"en", "Anna de Vries", "Hi Anna,"},
        {"nl", "", "Beste collega,"},
        {"en", "", "Hi,"},
    };
    struct compose_score s[1] = {{"nps", 9}};

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct fixture f;
        char *mail[3] = {NULL, NULL, NULL}, html_hello[64];

        fixture_init(&f, TEMPLATES);
        f.inv.language = (char *)want[i].lang;
        f.inv.employee_name = (char *)want[i].name;
        struct compose_ack ca = ack_of(&f, s, 1);
        cr_assert_eq(compose_invitation(&f.ci, &mail[0], NULL, NULL, NULL),
                     EQ_OK);
        cr_assert_eq(compose_confirmation(&ca, &mail[1], NULL, NULL, NULL),
                     EQ_OK);
        cr_assert_eq(
            compose_optout_confirmation(&ca, &mail[2], NULL, NULL, NULL),
            EQ_OK);
        snprintf(html_hello, sizeof html_hello, ">%s</p>", want[i].hello);
        for (size_t m = 0; m < 3; m++) {
            char *hello = greeting(mail[m]);
            char *html = part_body(mail[m], "text/html");
            cr_assert_str_eq(hello, want[i].hello, "mail %zu to '%s'", m,
                             want[i].name);
            cr_assert(strstr(html, html_hello) != NULL, "mail %zu: %s", m,
                      html);
            free(hello);
            free(html);
            free(mail[m]);
        }
    }
}

Test(compose, english_invitation_with_two_questions)
{
    struct fixture f;
    char *out = NULL, *env = NULL, *v, *subj;
    struct eq_buf d = {0};

    fixture_init(&f, TEMPLATES);
    f.inv.language = (char *)"en";
    f.inv.employee_name = (char *)"Vries, Anna";
    f.camp.n_metrics = 2;
    f.camp.anonymous = 1;
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, &env, &d), EQ_OK, "%s",
                 buf_str(&d));
    v = header(out, "Subject");
    subj = decode_2047(v);
    cr_assert_str_eq(subj, "Customer satisfaction: one question about "
                           "Facilitaire Zaken [#" TOKEN "]");
    char *text = part_body(out, "text/plain");
    cr_assert(strncmp(text, "Hi Anna,", 8) == 0, "%s", text);
    cr_assert(strstr(text, "0 = very unlikely, 10 = very likely") != NULL);
    cr_assert(strstr(text, "1 = strongly disagree, 7 = strongly agree") !=
              NULL);
    cr_assert(strstr(text, "Facilitaire Zaken made it easy") != NULL);
    cr_assert(strstr(text, "until 3 December 2026") != NULL);
    cr_assert(strstr(text, "for example \"8 5\"") != NULL, "%s", text);
    cr_assert(strstr(text, "separated from your name") != NULL);
    char *html = part_body(out, "text/html");
    cr_assert(strstr(html, "&amp;body=CES%3A%207\"") != NULL);
    cr_assert(strstr(html, "&amp;body=CES%3A%200\"") == NULL);
    cr_assert(strstr(html, "<html lang=\"en\">") != NULL);
    free(text);
    free(html);
    free(subj);
    free(v);
    free(out);
    free(env);
    buf_free(&d);
}

Test(compose, appends_token_to_subject_once)
{
    struct fixture f;
    char *out = NULL;

    fixture_init(&f, FIXTURES "/compose");
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, NULL), EQ_OK);
    assert_header(out, "Subject", "Vraag over Facilitaire Zaken [#" TOKEN "]");
    free(out);
    /* en/invite.txt carries the tag itself: it is not doubled. */
    f.inv.language = (char *)"en";
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, NULL), EQ_OK);
    assert_header(out, "Subject", "About Facilitaire Zaken [#" TOKEN "]");
    free(out);
}

Test(compose, template_errors_name_file_and_line)
{
    struct fixture f;
    char *out = NULL;
    struct eq_buf d = {0};

    fixture_init(&f, FIXTURES "/compose");
    f.ci.reminder = 2;
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, &d), EQ_ERR_DATA);
    cr_assert_null(out);
    cr_assert_str_eq(buf_str(&d), FIXTURES "/compose/nl/reminder.txt:3: "
                                           "unknown variable 'provder'\n");
    buf_reset(&d);
    f.inv.provider_name = (char *)"IT\r\nBcc: x@y";
    f.ci.reminder = 0;
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, &d), EQ_ERR_DATA);
    cr_assert_null(out);
    buf_free(&d);
}

Test(compose, every_shipped_template_renders)
{
    struct fixture f;
    const char *langs[] = {"nl", "en"};

    fixture_init(&f, TEMPLATES);
    f.camp.n_metrics = 2;
    for (size_t i = 0; i < 2; i++)
        for (int rem = 0; rem <= 1; rem++) {
            char *out = NULL;
            struct eq_buf d = {0};
            f.inv.language = (char *)langs[i];
            f.ci.reminder = rem;
            cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, &d), EQ_OK,
                         "%s", buf_str(&d));
            free(out);
            buf_free(&d);
        }
}

/* --- header injection and line length --------------------------------- */

/* Header field names of msg, in order, separated by spaces. */
static char *
header_names(const char *msg)
{
    const char *end = strstr(msg, "\r\n\r\n");
    struct eq_buf b = {0};

    for (const char *p = msg; p < end;) {
        const char *e = strstr(p, "\r\n");
        if (*p != ' ' && *p != '\t') {
            const char *colon = memchr(p, ':', (size_t)(e - p));
            cr_assert_not_null(colon, "not a header line: %.*s", (int)(e - p),
                               p);
            buf_printf(&b, "%s%.*s", b.len ? " " : "", (int)(colon - p), p);
        }
        p = e + 2;
    }
    return buf_take(&b);
}

Test(compose, csv_name_with_crlf_cannot_add_a_header)
{
    static const char *const evil[] = {
        "Evil\r\nBcc: x@y",
        "Evil\nBcc: x@y",
        "Evil\rBcc: x@y",
        "Evil\x01",
        "Evil\x1b[0m",
        "Evil\x7f",
        "Evil\xc2\x85"
        "Bcc: x@y",
        "Evil\xe2\x80\xa8"
        "Bcc: x@y",
    };
    struct fixture f;

    fixture_init(&f, TEMPLATES);
    for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
        char *out = (char *)"x";
        struct eq_buf d = {0};
        /* As the invitee's name: it reaches To. */
        f.inv.employee_name = (char *)evil[i];
        f.inv.provider_name = (char *)"Facilitaire Zaken";
        cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, &d),
                     EQ_ERR_DATA, "name %zu", i);
        cr_assert_null(out);
        /* compose_build refuses it on its own as well. */
        struct compose_mail m = base_mail();
        m.to_name = evil[i];
        cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
        cr_assert_null(out);
        cr_assert(strstr(buf_str(&d), "compose: employee name contains a") !=
                      NULL,
                  "%s", buf_str(&d));
        buf_reset(&d);
        /* As the department's name: it reaches the Subject (and the
         * questions). */
        f.inv.employee_name = (char *)"Anna de Vries";
        f.inv.provider_name = (char *)evil[i];
        out = (char *)"x";
        cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, &d),
                     EQ_ERR_DATA, "department %zu", i);
        cr_assert_null(out);
        cr_assert(strstr(buf_str(&d), "compose: department name contains a") !=
                      NULL,
                  "department %zu: %s", i, buf_str(&d));
        buf_free(&d);
    }
    /* A tab is ordinary white space: the mail goes out with exactly the
     * headers compose writes. */
    char *out = NULL, *names;
    f.inv.employee_name = (char *)"Anna\tde Vries";
    f.inv.provider_name = (char *)"Facilitaire Zaken";
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, NULL), EQ_OK);
    names = header_names(out);
    cr_assert_str_eq(names, "Date From To Reply-To Subject Message-ID "
                            "Auto-Submitted X-Auto-Response-Suppress "
                            "List-Unsubscribe MIME-Version Content-Type");
    free(names);
    free(out);
}

/* A strict RFC 5322 phrase reader with RFC 2047 Q words: atoms, quoted
 * strings and encoded words only; anything else (a bare comma, an encoded
 * word glued to text, a bad escape) is NULL. Adjacent encoded words join
 * without their white space. */
static char *
parse_phrase(const char *s)
{
    struct eq_buf b = {0};
    int prev_encoded = 0, first = 1;

    for (;;) {
        int had_space = 0;
        while (*s == ' ' || *s == '\t') {
            s++;
            had_space = 1;
        }
        if (*s == '\0')
            break;
        if (!first && !had_space)
            goto bad;
        if (*s == '"') {
            if (!first)
                buf_addc(&b, ' ');
            for (s++; *s != '"'; s++) {
                if (*s == '\0' || *s == '\r' || *s == '\n')
                    goto bad;
                if (*s == '\\') {
                    s++;
                    if (*s == '\0')
                        goto bad;
                }
                buf_addc(&b, *s);
            }
            s++;
            prev_encoded = 0;
        } else if (strncmp(s, "=?", 2) == 0) {
            const char *e;
            if (strncmp(s, "=?UTF-8?Q?", 10) != 0)
                goto bad;
            e = strstr(s + 10, "?=");
            if (e == NULL || e + 2 - s > 75 ||
                (e[2] != '\0' && e[2] != ' ' && e[2] != '\t'))
                goto bad;
            if (!first && !prev_encoded)
                buf_addc(&b, ' ');
            for (const char *p = s + 10; p < e; p++) {
                unsigned char c = (unsigned char)*p;
                if (c == '_')
                    buf_addc(&b, ' ');
                else if (c == '=') {
                    if (hexval(p[1]) < 0 || hexval(p[2]) < 0)
                        goto bad;
                    buf_addc(&b, (char)(hexval(p[1]) * 16 + hexval(p[2])));
                    p += 2;
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || strchr("!*+-/", c))
                    buf_addc(&b, (char)c);
                else
                    goto bad;
            }
            s = e + 2;
            prev_encoded = 1;
        } else {
            if (!first)
                buf_addc(&b, ' ');
            if (!(isalnum((unsigned char)*s) ||
                  strchr("!#$%&'*+-/=?^_`{|}~", *s)))
                goto bad;
            while (*s && (isalnum((unsigned char)*s) ||
                          strchr("!#$%&'*+-/=?^_`{|}~", *s)))
                buf_addc(&b, *s++);
            if (*s != '\0' && *s != ' ' && *s != '\t')
                goto bad;
            prev_encoded = 0;
        }
        first = 0;
    }
    return buf_take(&b);
bad:
    buf_free(&b);
    return NULL;
}

/* The display name of a "phrase <addr>" header value, strictly parsed. */
static char *
display_name(const char *value, const char *addr)
{
    char want[128], *copy = strdup(value), *name;
    size_t n = strlen(copy), al;

    snprintf(want, sizeof(want), " <%s>", addr);
    al = strlen(want);
    cr_assert(n > al && strcmp(copy + n - al, want) == 0, "%s", value);
    copy[n - al] = '\0';
    name = parse_phrase(copy);
    cr_assert_not_null(name, "not a strict phrase: %s", copy);
    free(copy);
    return name;
}

Test(compose, display_names_decode_back_exactly)
{
    static const char *const names[] = {
        "José Çelik",
        "Zoë",
        "Vries, Anna \"AJ\"",
        "back\\slash \\\" end",
        "O'Brien",
        "a,b;c:d@e<f>(g)[h]",
        "\"Evil\" <x@y>",
        "=?UTF-8?Q?fake?=",
        "Anna  de Vries",
        "Anna\tB",
        "Çelik, José \"Jo\" \\ Zoë",
        "Ĳsbrand van 't Hek-Überström, Facilitaire Dienstverlening Noord",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct compose_mail m = base_mail();
        struct eq_buf from = {0};
        struct mime_msg *mm = NULL;
        char *out = NULL, *v, *got;
        size_t len;

        m.to_name = names[i];
        /* The same name in From goes through the "quoted" <addr> form. */
        buf_add(&from, "\"");
        for (const char *p = names[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_addc(&from, '\\');
            buf_addc(&from, *p);
        }
        buf_add(&from, "\" <hr@example.org>");
        m.from = from.s;
        cr_assert_eq(compose_build(&m, &out, &len, NULL), EQ_OK, "%s",
                     names[i]);
        assert_header_lines_fit(out, 78);
        v = header(out, "To");
        got = display_name(v, "anna@example.org");
        cr_assert_str_eq(got, names[i]);
        free(got);
        free(v);
        v = header(out, "From");
        got = display_name(v, "hr@example.org");
        cr_assert_str_eq(got, names[i]);
        free(got);
        free(v);
        /* And libetpan, through mime, reads the same name. */
        cr_assert_eq(mime_parse(out, len, &mm, NULL), EQ_OK);
        cr_assert_str_eq(mm->from_addr, "hr@example.org");
        if (strchr(names[i], '\t') == NULL && strstr(names[i], "  ") == NULL)
            cr_assert_str_eq(mm->from_name, names[i]);
        mime_free(mm);
        buf_free(&from);
        free(out);
    }
}

static void
assert_all_lines_fit(const char *msg, size_t len, size_t max)
{
    size_t start = 0;

    for (size_t i = 0; i + 1 < len; i++)
        if (msg[i] == '\r' && msg[i + 1] == '\n') {
            cr_assert_leq(i - start, max, "line of %zu: %.60s…", i - start,
                          msg + start);
            start = i + 2;
        }
    cr_assert_leq(len - start, max);
}

Test(compose, long_unbreakable_values_still_fit_998)
{
    struct compose_mail m = base_mail();
    struct eq_buf word = {0}, subj = {0}, name = {0}, qname = {0};
    char *out = NULL, *v, *dec;
    size_t len;

    for (int i = 0; i < 2000; i++)
        buf_addc(&word, (char)('a' + i % 26));
    buf_printf(&subj, "Vraag %s één [#%s]", word.s, TOKEN);
    for (int i = 0; i < 150; i++)
        buf_add(&name, "Çelik");
    for (int i = 0; i < 120; i++)
        buf_add(&qname, "Vries,A\"");
    m.subject = subj.s;
    m.to_name = name.s;
    m.html = word.s;
    m.text = word.s;
    cr_assert_eq(compose_build(&m, &out, &len, NULL), EQ_OK);
    /* Headers within 78 (they fold into encoded words), the bodies within
     * quoted-printable's 76. */
    assert_header_lines_fit(out, 78);
    assert_all_lines_fit(out, len, 998);
    v = header(out, "Subject");
    dec = decode_2047(v);
    cr_assert_str_eq(dec, subj.s);
    free(dec);
    free(v);
    v = header(out, "To");
    dec = display_name(v, "anna@example.org");
    cr_assert_str_eq(dec, name.s);
    free(dec);
    free(v);
    free(out);

    /* A long name of specials cannot be one quoted-string either. */
    m = base_mail();
    m.to_name = qname.s;
    cr_assert_eq(compose_build(&m, &out, &len, NULL), EQ_OK);
    assert_header_lines_fit(out, 78);
    v = header(out, "To");
    dec = display_name(v, "anna@example.org");
    cr_assert_str_eq(dec, qname.s);
    free(dec);
    free(v);
    free(out);

    /* What cannot fold is refused rather than sent too long. */
    struct eq_buf addr = {0}, id = {0}, url = {0}, file = {0};
    struct eq_buf d = {0};
    buf_printf(&addr, "%.250s@example.org", word.s);
    buf_printf(&id, "%.990s@example.org", word.s);
    buf_printf(&url, "mailto:a@example.org?subject=%.990s", word.s);
    buf_printf(&file, "%.1200s.png", word.s);
    m = base_mail();
    m.to = addr.s;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    m = base_mail();
    m.message_id = id.s;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    m = base_mail();
    m.list_unsubscribe = url.s;
    cr_assert_eq(compose_build(&m, &out, NULL, NULL), EQ_ERR_DATA);
    /* The last guard: any line over 998 (here a part's file name). */
    static const unsigned char png[] = {0x89, 'P', 'N', 'G'};
    struct compose_part part = {"image/png", file.s, NULL, png, sizeof(png)};
    m = base_mail();
    m.html = "<p>x</p>";
    m.parts = &part;
    m.n_parts = 1;
    cr_assert_eq(compose_build(&m, &out, NULL, &d), EQ_ERR_DATA);
    cr_assert_null(out);
    cr_assert(strstr(buf_str(&d), "longer than 998") != NULL, "%s",
              buf_str(&d));
    buf_free(&d);
    buf_free(&addr);
    buf_free(&id);
    buf_free(&url);
    buf_free(&file);
    buf_free(&word);
    buf_free(&subj);
    buf_free(&name);
    buf_free(&qname);
}

/* --- the shipped templates ------------------------------------------- */

static size_t
count_of(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

Test(compose, html_invitation_is_built_for_outlook_gmail_and_phones)
{
    struct fixture f;
    const char *langs[] = {"nl", "en"};

    fixture_init(&f, TEMPLATES);
    for (size_t i = 0; i < 2; i++)
        for (int rem = 0; rem <= 1; rem++) {
            char *out = NULL, *html;
            f.inv.language = (char *)langs[i];
            f.ci.reminder = rem;
            cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, NULL),
                         EQ_OK);
            html = part_body(out, "text/html");
            /* Layout in tables, a max-width column, an Outlook-only fixed
             * width, no style sheet or external resource. */
            cr_assert(strstr(html, "max-width:560px") != NULL);
            cr_assert(strstr(html, "<!--[if mso]><table role=\"presentation\" "
                                   "width=\"560\"") != NULL);
            cr_assert(strstr(html, "<style") == NULL);
            cr_assert(strstr(html, "<div") == NULL);
            cr_assert(strstr(html, "http") == NULL);
            cr_assert(strstr(html, "<img") == NULL);
            cr_assert(strstr(html, "<meta name=\"viewport\"") != NULL);
            /* Each answer is a left-aligned table (so rows wrap on a
             * phone) whose cell carries the colour, holding a padded
             * link. */
            size_t buttons = 0;
            for (const char *p = strstr(html, "bgcolor=\"#1a4480\""); p;
                 p = strstr(p + 1, "bgcolor=\"#1a4480\"")) {
                const char *a = strstr(p, "<a href=\"mailto:");
                cr_assert_not_null(a);
                cr_assert(strstr(a, "padding:10px 0;") < strstr(a, "</a>"));
                buttons++;
            }
            cr_assert_eq(buttons, 11, "%zu buttons", buttons);
            cr_assert(strstr(html, "<table role=\"presentation\" "
                                   "align=\"left\"") != NULL);
            /* The footer partial: privacy, opt-out link, reference. */
            cr_assert(strstr(html, "optout") == NULL);
            cr_assert(strstr(html, i ? ">Unsubscribe</a>" : ">Afmelden</a>") !=
                      NULL);
            cr_assert(strstr(html, "[#" TOKEN "]") != NULL);
            /* page_end: the footer under the card, then the closing tags,
             * once. */
            cr_assert_eq(count_of(html, "</html>"), 1);
            cr_assert(strstr(html, "[#" TOKEN "]") <
                      strstr(html, "<!--[if mso]></td></tr></table>"));
            cr_assert(strstr(html, i ? "at least 5 people"
                                     : "minstens 5 "
                                       "mensen") != NULL);
            free(html);
            char *text = part_body(out, "text/plain");
            cr_assert(strstr(text, i ? "reply to this e-mail with a number "
                                       "from 0 to 10"
                                     : "beantwoord deze mail met een cijfer "
                                       "van 0 tot en met 10") != NULL ||
                          strstr(text, i ? "Reply to this e-mail with a number "
                                           "from 0 to 10"
                                         : "Beantwoord deze mail met een "
                                           "cijfer van 0 tot en met 10") !=
                              NULL,
                      "%s", text);
            cr_assert(strstr(text, i ? "Put your comment after the number."
                                     : "Zet uw opmerking dan achter het "
                                       "cijfer.") != NULL);
            cr_assert(strstr(text, "[#" TOKEN "]") != NULL);
            free(text);
            free(out);
        }
}

/* One page per mail: the head, the Outlook-safe column and the closing tags
 * come from the partials once, with the mail's language and its subject
 * (without the [#TOKEN] tag) as the title. */
static void
assert_one_page(const char *html, const char *lang, const char *title)
{
    char head[64], want[256];

    snprintf(head, sizeof(head), "<!DOCTYPE html>\r\n<html lang=\"%s\">\r\n",
             lang);
    cr_assert(strncmp(html, head, strlen(head)) == 0, "%s", html);
    snprintf(want, sizeof(want), "<title>%s</title>", title);
    cr_assert(strstr(html, want) != NULL, "want %s in %s", want, html);
    cr_assert_eq(count_of(html, "<!DOCTYPE"), 1);
    cr_assert_eq(count_of(html, "<body"), 1);
    cr_assert_eq(count_of(html, "</body>"), 1);
    cr_assert_eq(count_of(html, "<!--[if mso]><table role=\"presentation\" "
                                "width=\"560\""),
                 1);
    cr_assert_eq(count_of(html, "<!--[if mso]></td></tr></table>"), 1);
    cr_assert(strstr(html, "max-width:560px") != NULL);
    cr_assert(strstr(html, "<div") == NULL);
    const char *end = "</td>\r\n</tr>\r\n</table>\r\n</body>\r\n</html>\r\n";
    size_t hl = strlen(html), el = strlen(end);
    cr_assert(hl > el && strcmp(html + hl - el, end) == 0, "%s", html);
}

Test(compose, confirmation_and_optout_pages_carry_language_and_subject)
{
    static const struct {
        const char *lang, *confirmation, *optout, *hello;
    } want[] = {
        {"nl", "Bedankt voor uw antwoord over Facilitaire Zaken",
         "U bent afgemeld voor de enquêtes", "Beste Anna,</p>"},
        {"en", "Thank you for your answer about Facilitaire Zaken",
         "You have been unsubscribed from the surveys", "Hi Anna,</p>"},
    };
    struct compose_score s[1] = {{"nps", 9}};

    for (size_t i = 0; i < 2; i++) {
        struct fixture f;
        char *out = NULL, *html;

        fixture_init(&f, TEMPLATES);
        f.inv.language = (char *)want[i].lang;
        struct compose_ack ca = ack_of(&f, s, 1);
        cr_assert_eq(compose_confirmation(&ca, &out, NULL, NULL, NULL), EQ_OK);
        html = part_body(out, "text/html");
        assert_one_page(html, want[i].lang, want[i].confirmation);
        /* The content sits inside the card, before the closing tags. */
        const char *hello = strstr(html, want[i].hello);
        cr_assert_not_null(hello, "%s", html);
        cr_assert(hello > strstr(html, "<td style=\"padding:20px;"));
        cr_assert(strstr(html, "<blockquote") < strstr(html, "</body>"));
        cr_assert(strstr(html, ">9</td>") != NULL);
        free(html);
        free(out);

        cr_assert_eq(compose_optout_confirmation(&ca, &out, NULL, NULL, NULL),
                     EQ_OK);
        html = part_body(out, "text/html");
        assert_one_page(html, want[i].lang, want[i].optout);
        cr_assert(strstr(html, want[i].hello) != NULL, "%s", html);
        free(html);
        free(out);
    }
}

Test(compose, action_mail_pages_carry_language_and_escaped_subject)
{
    static const struct {
        const char *lang, *ack, *notice;
    } want[] = {
        {"nl", "Uw acties voor R&amp;D (2027Q1)",
         "U gaf uw mening, dit doen we ermee (2027Q1)"},
        {"en", "Your actions for R&amp;D (2027Q1)",
         "You gave your view, here is what we do with it (2027Q1)"},
    };
    static const struct compose_action act = {3, "Wekelijks <overleg>", NULL, 0,
                                              0};
    static const struct compose_notice_dept dept = {"R&D", &act, 1};

    for (size_t i = 0; i < 2; i++) {
        struct fixture f;
        char *out = NULL, *html;

        fixture_init(&f, TEMPLATES);
        struct compose_action_ack a = {
            .cfg = &f.cfg,
            .lang = want[i].lang,
            .token = TOKEN,
            .n = 4,
            .to = "piet@example.org",
            .to_name = "Piet Jansen",
            .department = "R&D",
            .period = "2027Q1",
            .added = &act,
            .n_added = 1,
            .now = f.ci.now,
        };
        cr_assert_eq(compose_action_ack(&a, &out, NULL, NULL, NULL), EQ_OK);
        assert_subject(out, i ? "Your actions for R&D (2027Q1) [#" TOKEN "]"
                              : "Uw acties voor R&D (2027Q1) [#" TOKEN "]");
        html = part_body(out, "text/html");
        assert_one_page(html, want[i].lang, want[i].ack);
        cr_assert(strstr(html, "Wekelijks &lt;overleg&gt;</td>") != NULL, "%s",
                  html);
        free(html);
        free(out);

        struct compose_action_notice n = {
            .cfg = &f.cfg,
            .lang = want[i].lang,
            .token = TOKEN,
            .to = "anna@example.org",
            .to_name = "Anna de Vries",
            .title = "Klanttevredenheid",
            .period = "2027Q1",
            .depts = &dept,
            .n_depts = 1,
            .now = f.ci.now,
        };
        cr_assert_eq(compose_action_notice(&n, &out, NULL, NULL, NULL), EQ_OK);
        html = part_body(out, "text/html");
        /* Greeted by first name, as in the invitation. */
        cr_assert(strstr(html, i ? "Dear Anna,</p>" : "Beste Anna,</p>") !=
                      NULL,
                  "%s", html);
        assert_one_page(html, want[i].lang, want[i].notice);
        /* Its own opt-out line stays; the invitation's footer (privacy
         * note, reference) is not added. */
        cr_assert(strstr(html, i ? ">Unsubscribe</a>" : ">Afmelden</a>") !=
                  NULL);
        cr_assert(strstr(html, "[#" TOKEN "]") == NULL, "%s", html);
        free(html);
        free(out);
    }
}

Test(compose, text_gives_each_metric_its_own_scale)
{
    struct fixture f;
    char *out = NULL, *text;

    fixture_init(&f, TEMPLATES);
    f.metrics[0].min = 1;
    f.metrics[0].max = 5;
    cr_assert_eq(compose_invitation(&f.ci, &out, NULL, NULL, NULL), EQ_OK);
    text = part_body(out, "text/plain");
    cr_assert(strstr(text, "met een cijfer van 1 tot en met 5, bijvoorbeeld "
                           "\"4\"") != NULL,
              "%s", text);
    cr_assert(strstr(text, "   1  2  3  4  5\r\n") != NULL);
    free(text);
    free(out);
}

#define BROKEN FIXTURES "/compose/broken"

Test(compose, check_templates_passes_the_shipped_templates)
{
    struct fixture f;
    struct eq_buf d = {0};

    fixture_init(&f, TEMPLATES);
    f.camp.n_metrics = 2;
    f.camp.max_reminders = 2;
    cr_assert_eq(compose_check_templates(&f.cfg, &f.camp, NULL, &d), EQ_OK,
                 "%s", buf_str(&d));
    cr_assert_str_eq(buf_str(&d), "");
    cr_assert_eq(digest_check_templates(TEMPLATES, &f.camp, &d), EQ_OK, "%s",
                 buf_str(&d));
    cr_assert_str_eq(buf_str(&d), "");
    buf_free(&d);
}

Test(compose, check_templates_reports_every_error_with_file_and_line)
{
    struct fixture f;
    struct eq_buf d = {0};

    fixture_init(&f, TEMPLATES);
    f.camp.n_metrics = 2;
    f.camp.max_reminders = 2;
    cr_assert_eq(compose_check_templates(&f.cfg, &f.camp, BROKEN, &d),
                 EQ_ERR_DATA);
    cr_assert_str_eq(
        buf_str(&d), BROKEN
        "/nl/invite.txt:4: unknown variable 'frist_name'\n" BROKEN
        "/nl/invite.txt:7: unknown variable 'provder'\n" BROKEN
        "/nl/footer.txt:1: unknown variable 'tokn'\n" BROKEN
        "/nl/invite.html:1: section {{#metrics}} is not closed\n" BROKEN
        "/nl/reminder.txt:1: the first line must be 'Subject: …'\n" BROKEN
        "/nl/confirmation.txt:4: unknown variable 'lable'\n" BROKEN
        "/nl/optout.txt: cannot open template: No such file or "
        "directory\n" BROKEN
        "/nl/optout.html: cannot open template: No such file or "
        "directory\n" BROKEN
        "/en/invite.html:1: {{/metrics}} does not match {{^several}} "
        "of line 1\n" BROKEN
        "/en/confirmation.txt: cannot open template: No such file or "
        "directory\n" BROKEN
        "/en/confirmation.html: cannot open template: No such file or "
        "directory\n" BROKEN
        "/en/optout.txt: cannot open template: No such file or "
        "directory\n" BROKEN
        "/en/optout.html: cannot open template: No such file or "
        "directory\n");
    buf_reset(&d);
    cr_assert_eq(digest_check_templates(BROKEN, &f.camp, &d), EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d), BROKEN
                     "/nl/digest.txt:3: unknown variable 'deparment'\n" BROKEN
                     "/nl/digest.txt:6: unknown variable 'txet'\n" BROKEN
                     "/nl/digest.html:2: section {{#hr}} is not "
                     "closed\n");
    buf_free(&d);
}

Test(compose, check_templates_reports_a_broken_question_once)
{
    struct fixture f;
    struct eq_buf d = {0};

    fixture_init(&f, TEMPLATES);
    f.camp.max_reminders = 2;
    f.metrics[0].question_nl = (char *)"Hoe vindt u {{provder}}?";
    buf_add(&d, "earlier line\n");
    cr_assert_eq(compose_check_templates(&f.cfg, &f.camp, NULL, &d),
                 EQ_ERR_DATA);
    cr_assert_str_eq(buf_str(&d),
                     "earlier line\n"
                     "campaigns/kto.ini [metric nps] question_nl:1: unknown "
                     "variable 'provder'\n");
    buf_free(&d);
}
