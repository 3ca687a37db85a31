#include "reply.h"
#include "reply_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ */
/* Words of names and senders. */

const char *const reply_name_particles[] = {
    "van", "de", "der", "den", "ten", "ter", "te", "het", "'t", "el",
    "la",  "le", "di",  "da",  "du",  "von", "zu", "op",  "in", NULL};

/* 1 for a capital letter at p, -1 for a small one, 0 for anything else
 * (digits, signs, letters of scripts without case). Knows ASCII, Latin-1
 * and Cyrillic. */
static int
letter_case_at(const char *p, size_t avail)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned c, lower;
    size_t len;

    if (avail == 0)
        return 0;
    if (u[0] < 0x80)
        return isupper(u[0]) ? 1 : islower(u[0]) ? -1 : 0;
    lower = reply_fold_at(u, avail, &len);
    if (len != 2)
        return 0;
    c = ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu);
    if (lower != c)
        return 1;
    return (c >= 0xDF && c <= 0xFF && c != 0xF7) || (c >= 0x430 && c <= 0x45F)
               ? -1
               : 0;
}

/* w with the quotes, brackets and punctuation around it taken off. */
static struct span
bare_word(struct span w)
{
    while (w.n > 0 && strchr("\"'(<[*", w.s[0]) != NULL) {
        w.s++;
        w.n--;
    }
    while (w.n > 0 && strchr("\"')>]*,;:!?", w.s[w.n - 1]) != NULL)
        w.n--;
    return w;
}

/* Subject pronouns of the first person: reply text, never an attribution
 * ("In my mail of 12/10/2026 I already wrote:"). */
static const char *const first_person[] = {"ik", "ich", "je", "jag", "jeg",
                                           "ja", "já",  "я",  NULL};

/* The word w (bare) is a first-person pronoun; "I." is an initial. */
static int
is_first_person(struct span w)
{
    if (w.n >= 3 && (w.s[0] == 'j' || w.s[0] == 'J') &&
        (w.s[1] == '\'' ||
         (w.n >= 5 && memcmp(w.s + 1, "\xe2\x80\x99", 3) == 0)))
        return 1; /* j'ai, j’avais */
    w = bare_word(w);
    if (w.n == 1 && w.s[0] == 'I')
        return 1;
    return reply_in_list_ci(w, first_person);
}

/* The words of t[0, n) other than addresses include a first-person
 * pronoun. */
static int
has_first_person(const char *t, size_t n)
{
    for (size_t i = 0; i < n;) {
        struct span w = {t + i, 0};
        while (i + w.n < n && t[i + w.n] != ' ')
            w.n++;
        if (w.n > 0 && memchr(w.s, '@', w.n) == NULL && w.s[0] != '<' &&
            is_first_person(w))
            return 1;
        i += w.n + 1;
    }
    return 0;
}

/* Whom an attribution names before its verb: "you", a name ("Ольга",
 * "Helpdesk", "van Dijk"), not a word of a sentence ("al", "already"). */
static const char *const second_person[] = {
    "you", "u", "du", "vous", "tu", "jij", "usted", "sie", "вы", "ты", NULL};

static int
is_sender_word(struct span w)
{
    w = bare_word(w);
    if (w.n == 0 || is_first_person(w))
        return 0;
    if (reply_in_list_ci(w, second_person) ||
        reply_in_list_ci(w, reply_name_particles))
        return 1;
    for (size_t i = 0; i < w.n; i++)
        if (isdigit((unsigned char)w.s[i]))
            return 0;
    return letter_case_at(w.s, w.n) >= 0;
}

/* A header's sender value: an address, or a name of up to six words
 * that opens with a capital ("Helpdesk", "Outlook user", "Sally54721",
 * "Vries, Jan de"); not "my point of view". */
static int
is_sender_value(struct span v)
{
    size_t words = 0;
    struct span first = {NULL, 0};

    if (memchr(v.s, '@', v.n) != NULL)
        return 1;
    if (has_first_person(v.s, v.n))
        return 0;
    for (size_t i = 0; i < v.n;) {
        struct span w = {v.s + i, 0};
        while (i + w.n < v.n && v.s[i + w.n] != ' ')
            w.n++;
        if (bare_word(w).n > 0 && words++ == 0)
            first = bare_word(w);
        i += w.n + 1;
    }
    return words > 0 && words <= 6 &&
           (reply_in_list_ci(first, reply_name_particles) ||
            letter_case_at(first.s, first.n) >= 0);
}

/* ------------------------------------------------------------------ */
/* Quote markers. */

static int
is_quote_line(struct span l)
{
    l = reply_span_trim(l);
    return l.n > 0 && l.s[0] == '>';
}

/* Words that open an attribution line: "On …", "Op …", "Le …". */
static const char *const attr_openers[] = {
    "on ",     "op ",   "am ",  "le ", "el ",  "il ",  "em ",
    "w dniu ", "dnia ", "den ", "på ", "dne ", "vào ", NULL};
/* The verb of an attribution, matched as a whole word ("sent", not
 * "essential"); each form is listed ("написал", "написала"). A short ending
 * may follow: "napsal(a)". */
static const char *const attr_verbs[] = {
    "wrote",    "schreef",  "geschreven",   "schrieb", "écrit",     "escribió",
    "escrit",   "escreveu", "scritto",      "napisał", "napisała",  "pisze",
    "napsal",   "napsala",  "skrev",        "sent",    "kirjoitti", "написал",
    "написала", "написав",  "пише",         "yazdı",   "írta",      "viết",
    "写道",     "작성",     "のメッセージ", NULL};

static int
starts_with_opener(struct span l)
{
    for (const char *const *o = attr_openers; *o != NULL; o++)
        if (reply_span_starts_ci(l, *o))
            return 1;
    return 0;
}

static size_t
digits_at(const char *t, size_t n, size_t i)
{
    size_t d = 0;

    while (i + d < n && isdigit((unsigned char)t[i + d]))
        d++;
    return d;
}

/* A numeric date at i ("2026-11-03", "11/3/2026", "03.11.26"); returns
 * its end, or 0. */
static size_t
numeric_date_at(const char *t, size_t n, size_t i)
{
    size_t d = digits_at(t, n, i);
    char sep;

    if (d == 0 || d > 4 || i + d >= n || strchr("-/.", t[i + d]) == NULL)
        return 0;
    sep = t[i + d];
    i += d + 1;
    d = digits_at(t, n, i);
    if (d == 0 || d > 2 || i + d >= n || t[i + d] != sep)
        return 0;
    i += d + 1;
    d = digits_at(t, n, i);
    return d == 0 || d > 4 ? 0 : i + d;
}

/* The text holds a year (19xx, 20xx), a time ("10:07") or a numeric date:
 * what every attribution carries and few lines of a reply do. */
static int
looks_dated(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t d;
        if (!isdigit((unsigned char)t[i]) ||
            (i > 0 && isdigit((unsigned char)t[i - 1])))
            continue;
        d = digits_at(t, n, i);
        if (d == 4 && (t[i] == '1' || t[i] == '2') &&
            (t[i + 1] == '9' || t[i + 1] == '0'))
            return 1;
        if (d <= 2 && i + d + 2 < n && t[i + d] == ':' &&
            digits_at(t, n, i + d + 1) == 2)
            return 1;
        if (numeric_date_at(t, n, i) > 0)
            return 1;
    }
    return 0;
}

/* Gmail's date-first attribution, "2026-11-03 10:05 GMT+01:00 Jan …":
 * date, time and zone open it whether or not the address survived. */
static int
gmt_stamp(const char *t, size_t n)
{
    size_t i = numeric_date_at(t, n, 0), d;

    if (i == 0 || i >= n || t[i] != ' ')
        return 0;
    i++;
    d = digits_at(t, n, i);
    if (d == 0 || d > 2 || i + d >= n || t[i + d] != ':' ||
        digits_at(t, n, i + d + 1) != 2)
        return 0;
    i += d + 3;
    return i + 5 < n &&
           (strncmp(t + i, " GMT", 4) == 0 || strncmp(t + i, " UTC", 4) == 0) &&
           (t[i + 4] == '+' || t[i + 4] == '-');
}

/* Where verb occurs last in l as a whole word, or NULL. Verbs in scripts
 * written without spaces ("写道", "のメッセージ") need no boundary. */
static const char *
find_verb(struct span l, const char *verb)
{
    size_t n = strlen(verb);
    int spaced = (unsigned char)verb[0] < 0xE0;
    const char *p, *end = l.s + l.n;

    while ((p = reply_span_find_last_ci_n(l, verb, n)) != NULL) {
        if (!spaced || ((p == l.s || !reply_wordc_before(l.s, p)) &&
                        (p + n == end || !reply_is_wordc(p + n))))
            return p;
        l.n = (size_t)(p - l.s) + n - 1;
    }
    return NULL;
}

/* The verb is the last word of t[0, n): at most a short ending ("(a)")
 * follows it. Returns where it starts, or NULL. */
static const char *
ends_with_verb(const char *t, size_t n, const char *verb)
{
    const char *p = find_verb((struct span){t, n}, verb), *e;
    size_t rest;

    if (p == NULL)
        return NULL;
    e = p + strlen(verb);
    rest = (size_t)(t + n - e);
    return rest <= 4 && memchr(e, ' ', rest) == NULL ? p : NULL;
}

/* The word right before the verb at p names the sender, as an attribution
 * does ("…, you wrote:", "пользователь Ольга написала:"), unlike a sentence
 * ("… al schreef:", "… I already wrote:"). */
static int
sender_before(const char *t, const char *p)
{
    static const char *const user[] = {"пользователь", "користувач", NULL};
    struct span w, prev;
    const char *e;

    while (p > t && p[-1] == ' ')
        p--;
    w.s = p;
    while (w.s > t && w.s[-1] != ' ')
        w.s--;
    w.n = (size_t)(p - w.s);
    if (w.n == 0 || w.s[w.n - 1] == ',' || is_first_person(w))
        return 0;
    /* Android: "пользователь lidel написал:" names the user as typed */
    e = w.s;
    while (e > t && e[-1] == ' ')
        e--;
    prev.s = e;
    while (prev.s > t && prev.s[-1] != ' ')
        prev.s--;
    prev.n = (size_t)(e - prev.s);
    return is_sender_word(w) || reply_in_list_ci(bare_word(prev), user);
}

static const char *const meridiem[] = {"am", "pm", NULL};

/* "10:05", "10.05,": digits and their separators only. */
static int
is_time_word(struct span w)
{
    for (size_t i = 0; i < w.n; i++)
        if (!isdigit((unsigned char)w.s[i]) && strchr(":.,", w.s[i]) == NULL)
            return 0;
    return w.n > 0;
}

/* "2026/11/3 10:05 Helpdesk <it@x.nl>": t[0, n) is a numeric date, maybe a
 * time, a name and the address that ends it, nothing else. */
static int
date_first_sender(const char *t, size_t n)
{
    size_t i = numeric_date_at(t, n, 0), words = 0;
    const char *lt = memchr(t, '<', n);

    if (i == 0 || lt == NULL || memchr(lt, ' ', (size_t)(t + n - lt)) != NULL)
        return 0;
    n = (size_t)(lt - t);
    while (i < n) {
        struct span w = {t + i, 0};
        while (i + w.n < n && t[i + w.n] != ' ')
            w.n++;
        i += w.n + 1;
        if (w.n == 0)
            continue;
        if (words == 0 && (is_time_word(w) || reply_in_list_ci(w, meridiem)))
            continue; /* the time */
        if (!is_sender_word(w) || ++words > 5)
            return 0;
    }
    return 1;
}

/* t[0, n) is an attribution: 1, or 2 for a date-first one without a
 * colon, which is one only if a quote follows. joined says it was joined
 * from wrapped lines, which then also need a date or an address. Never in
 * the first person. */
static int
attribution_text(const char *t, size_t n, int joined)
{
    struct span s = {t, n};
    size_t body = n;
    int colon = 0, at, dated, opener, with_colon, verb_last;

    if (n == 0 || n > 400)
        return 0;
    if (t[n - 1] == ':') {
        colon = 1;
        body = n - 1;
    } else if (n >= 3 && memcmp(t + n - 3, "：", 3) == 0) {
        colon = 1;
        body = n - 3;
    }
    while (body > 0 && t[body - 1] == ' ')
        body--;
    at = memchr(t, '@', n) != NULL;
    /* most lines end here: every form below needs one of these */
    if (!colon && !at && !isdigit((unsigned char)t[0]))
        return 0;
    /* without colon or address only the GMT stamp below can hold */
    if (!colon && !at)
        return gmt_stamp(t, n) && !has_first_person(t, n);
    if (has_first_person(t, n))
        return 0;
    dated = looks_dated(t, n);
    opener = starts_with_opener(s);
    /* "On … wrote:", or "Jan <jan@x.nl> schrieb am …:" without one */
    with_colon = colon && (at || (opener && (dated || !joined)));
    /* "вторник, 3 ноября 2026 г. пользователь Ольга написала:",
     * "At 10:05 on 11/3/2026, you wrote:", or the colon lost:
     * "On Tue, 3 Nov 2026 10:05 Jan <jan@x.nl> wrote" */
    verb_last = dated && (at || (colon && !joined));
    /* most candidates (a line opening with a digit, an address) fit
     * neither form: no need to look for the verbs */
    for (const char *const *v = attr_verbs;
         (with_colon || verb_last) && *v != NULL; v++) {
        const char *p;
        if (find_verb(s, *v) == NULL)
            continue;
        if (with_colon)
            return 1;
        if ((p = ends_with_verb(t, body, *v)) != NULL &&
            (at || sender_before(t, p)))
            return 1;
    }
    /* Date-first and localized forms without a verb:
     * "2026-11-03 10:05 GMT+01:00 Jan <j@x.nl>:", "вт, 3 нояб. 2026 г. в
     * 10:05, Jan <j@x.ru>:", or with the colon lost "2026/11/3 Jan <j@x.nl>"
     * above a quote */
    if (at && dated && body > 0 && t[body - 1] == '>') {
        if (colon)
            return 1;
        if (date_first_sender(t, body))
            return 2;
    }
    return gmt_stamp(t, n);
}

/* The quoted last piece of a wrapped attribution: ">:", "> wrote:". */
static int
quoted_tail(struct span l)
{
    l.s++;
    l.n--;
    l = reply_span_trim(l);
    return l.n > 0 && l.n <= 24 &&
           (l.s[l.n - 1] == ':' ||
            (l.n >= 3 && memcmp(l.s + l.n - 3, "：", 3) == 0));
}

/* l ends a sentence: "!", "?", "...", or a full stop after a long word
 * (not "28.", "Apr.", "kl.", which wrapped dates end with). */
static int
ends_sentence(struct span l)
{
    size_t i, chars = 0;

    if (l.n == 0)
        return 0;
    if (l.s[l.n - 1] == '!' || l.s[l.n - 1] == '?')
        return 1;
    if (l.s[l.n - 1] != '.')
        return 0;
    if (l.n >= 3 && strncmp(l.s + l.n - 3, "...", 3) == 0)
        return 1;
    for (i = l.n - 1; i > 0 && reply_is_wordc(l.s + i - 1); i--) {
        if (isdigit((unsigned char)l.s[i - 1]))
            return 0;
        chars += ((unsigned char)l.s[i - 1] & 0xC0) != 0x80;
    }
    return chars >= 5;
}

static size_t attribution_len(const struct span *v, size_t n, size_t i);

/* The line after j is a quote, or a blank line and then one. */
static int
quote_follows(const struct span *v, size_t n, size_t j)
{
    if (j + 1 < n && reply_span_blank(v[j + 1]))
        j++;
    return j + 1 < n && is_quote_line(v[j + 1]);
}

/* Lines i+1..j hold an attribution of their own that opens with its word
 * ("Am Ende gut\nAm Di., 3. Nov. 2026 … schrieb …:"): line i is
 * reply text, not the start of a wrapped attribution. */
static int
later_opener(const struct span *v, size_t n, size_t i, size_t j)
{
    for (size_t k = i + 1; k <= j; k++)
        if (starts_with_opener(reply_span_trim(v[k])) &&
            attribution_len(v, n, k) == j - k + 1)
            return 1;
    return 0;
}

/* Number of lines of an attribution starting at i, else 0. Clients wrap
 * long attributions: up to four lines are joined, the tail may come out
 * quoted ("<jan@x.nl\n>:"), and a dated one may have a blank line inside
 * (Polymail: "On …, 2026 at 10:05 AM Jan\n\n<\nmailto:…> wrote:"). No
 * piece ends a sentence. */
static size_t
attribution_len(const struct span *v, size_t n, size_t i)
{
    char buf[512];
    size_t len = 0, parts = 0;
    int gap_ok = 0, after_gap = 0;

    for (size_t j = i; j < n && parts < 4; j++) {
        struct span l = reply_span_trim(v[j]);
        if (l.n == 0) {
            if (!gap_ok)
                return 0;
            gap_ok = 0;
            after_gap = 1;
            continue;
        }
        /* only the address goes to a paragraph of its own */
        if (after_gap && l.s[0] != '<')
            return 0;
        after_gap = 0;
        if ((is_quote_line(l) && (parts == 0 || !quoted_tail(l))) ||
            len + l.n + 1 >= sizeof buf)
            return 0;
        if (len > 0)
            buf[len++] = ' ';
        memcpy(buf + len, l.s, l.n);
        len += l.n;
        switch (attribution_text(buf, len, parts > 0)) {
        case 2:
            if (!quote_follows(v, n, j))
                return 0;
            /* fall through */
        case 1:
            return parts > 0 && later_opener(v, n, i, j) ? 0 : j - i + 1;
        default:
            break;
        }
        if (ends_sentence(l))
            return 0;
        if (parts++ == 0) {
            /* A wrapped attribution still opens like one, names a sender
             * or gives the date. */
            struct span s = {buf, len};
            int opener = isdigit((unsigned char)buf[0]) ||
                         memchr(buf, '@', len) != NULL ||
                         memchr(buf, '<', len) != NULL || starts_with_opener(s);
            int dated = looks_dated(buf, len);
            if (!opener && !dated)
                return 0;
            gap_ok = opener && dated;
        }
    }
    return 0;
}

/* Header names of a quoted header block (Outlook and webmail, many
 * languages): a sender, a date, or another. */
enum hdr_kind { HDR_NONE, HDR_OTHER, HDR_FROM, HDR_DATE };

static const struct {
    const char *name;
    enum hdr_kind kind;
} headers[] = {
    {"from", HDR_FROM},
    {"van", HDR_FROM},
    {"afzender", HDR_FROM},
    {"von", HDR_FROM},
    {"absender", HDR_FROM},
    {"de", HDR_FROM},
    {"expéditeur", HDR_FROM},
    {"remitente", HDR_FROM},
    {"remetente", HDR_FROM},
    {"da", HDR_FROM},
    {"mittente", HDR_FROM},
    {"fra", HDR_FROM},
    {"från", HDR_FROM},
    {"od", HDR_FROM},
    {"nadawca", HDR_FROM},
    {"odesílatel", HDR_FROM},
    {"lähettäjä", HDR_FROM},
    {"от", HDR_FROM},
    {"від", HDR_FROM},
    {"kimden", HDR_FROM},
    {"feladó", HDR_FROM},
    {"sent", HDR_DATE},
    {"sent at", HDR_DATE},
    {"date", HDR_DATE},
    {"datum", HDR_DATE},
    {"verzonden", HDR_DATE},
    {"datum verzonden", HDR_DATE},
    {"verstuurd", HDR_DATE},
    {"gesendet", HDR_DATE},
    {"envoyé", HDR_DATE},
    {"date d'envoi", HDR_DATE},
    {"message du", HDR_DATE},
    {"enviado", HDR_DATE},
    {"enviado el", HDR_DATE},
    {"enviada em", HDR_DATE},
    {"enviado em", HDR_DATE},
    {"fecha", HDR_DATE},
    {"data", HDR_DATE},
    {"inviato", HDR_DATE},
    {"skickat", HDR_DATE},
    {"sendt", HDR_DATE},
    {"dato", HDR_DATE},
    {"wysłano", HDR_DATE},
    {"odesláno", HDR_DATE},
    {"lähetetty", HDR_DATE},
    {"päivämäärä", HDR_DATE},
    {"отправлено", HDR_DATE},
    {"надіслано", HDR_DATE},
    {"дата", HDR_DATE},
    {"tarih", HDR_DATE},
    {"elküldve", HDR_DATE},
    {"to", HDR_OTHER},
    {"cc", HDR_OTHER},
    {"bcc", HDR_OTHER},
    {"reply-to", HDR_OTHER},
    {"subject", HDR_OTHER},
    {"aan", HDR_OTHER},
    {"onderwerp", HDR_OTHER},
    {"an", HDR_OTHER},
    {"betreff", HDR_OTHER},
    {"kopie", HDR_OTHER},
    {"à", HDR_OTHER},
    {"a", HDR_OTHER},
    {"objet", HDR_OTHER},
    {"sujet", HDR_OTHER},
    {"copie à", HDR_OTHER},
    {"cci", HDR_OTHER},
    {"para", HDR_OTHER},
    {"asunto", HDR_OTHER},
    {"assunto", HDR_OTHER},
    {"oggetto", HDR_OTHER},
    {"till", HDR_OTHER},
    {"ämne", HDR_OTHER},
    {"kopia", HDR_OTHER},
    {"til", HDR_OTHER},
    {"emne", HDR_OTHER},
    {"kopi", HDR_OTHER},
    {"do", HDR_OTHER},
    {"temat", HDR_OTHER},
    {"dw", HDR_OTHER},
    {"komu", HDR_OTHER},
    {"předmět", HDR_OTHER},
    {"vastaanottaja", HDR_OTHER},
    {"aihe", HDR_OTHER},
    {"kopio", HDR_OTHER},
    {"кому", HDR_OTHER},
    {"тема", HDR_OTHER},
    {"копия", HDR_OTHER},
    {"копія", HDR_OTHER},
    {"kime", HDR_OTHER},
    {"konu", HDR_OTHER},
    {"címzett", HDR_OTHER},
    {"tárgy", HDR_OTHER},
};

/* The kind of header line l is; *value is set to what follows the colon.
 * Outlook's plain text may bold the name: "*Van:* ...". */
static enum hdr_kind
header_kind_value(struct span l, struct span *value)
{
    l = reply_span_trim(l);
    while (l.n > 0 && l.s[0] == '*') {
        l.s++;
        l.n--;
    }
    /* every header line has its colon; most lines have none */
    if (memchr(l.s, ':', l.n) == NULL)
        return HDR_NONE;
    for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
        size_t c;
        if (reply_ascii_differ((unsigned char)l.s[0],
                               (unsigned char)headers[h].name[0]))
            continue;
        c = strlen(headers[h].name);
        if (l.n <= c || !reply_ci_eq(l.s, headers[h].name, c))
            continue;
        /* "*Van:*", French "De :" */
        if (c < l.n && (l.s[c] == '*' || l.s[c] == ' '))
            c++;
        if (c < l.n && l.s[c] == ':') {
            c++;
            while (c < l.n && l.s[c] == '*')
                c++;
            *value = reply_span_trim((struct span){l.s + c, l.n - c});
            return headers[h].kind;
        }
    }
    return HDR_NONE;
}

static enum hdr_kind
header_kind(struct span l)
{
    struct span value;
    return header_kind_value(l, &value);
}

/* "jan@x.nl", "Jan <jan@x.nl>", "Jan [mailto:jan@x.nl]": nothing but a
 * sender. */
static int
is_address_value(struct span v)
{
    if (v.n < 3 || memchr(v.s, '@', v.n) == NULL)
        return 0;
    if (v.s[v.n - 1] == '>' || v.s[v.n - 1] == ']')
        return 1;
    return memchr(v.s, ' ', v.n) == NULL;
}

static const char *const separator_phrases[] = {"original message",
                                                "oorspronkelijk bericht",
                                                "oorspronkelijke bericht",
                                                "origineel bericht",
                                                "forwarded message",
                                                "doorgestuurd bericht",
                                                "doorgestuurde bericht",
                                                "ursprüngliche nachricht",
                                                "weitergeleitete nachricht",
                                                "original-nachricht",
                                                "message d'origine",
                                                "message original",
                                                "message transféré",
                                                "mensaje original",
                                                "mensaje reenviado",
                                                "mensagem original",
                                                "mensagem encaminhada",
                                                "messaggio originale",
                                                "messaggio inoltrato",
                                                "original meddelelse",
                                                "videresendt meddelelse",
                                                "opprinnelig melding",
                                                "videresendt melding",
                                                "ursprungligt meddelande",
                                                "vidarebefordrat meddelande",
                                                "alkuperäinen viesti",
                                                "välitetty viesti",
                                                "wiadomość oryginalna",
                                                "oryginalna wiadomość",
                                                "wiadomość przekazana",
                                                "przekazana wiadomość",
                                                "původní zpráva",
                                                "přeposlaná zpráva",
                                                "исходное сообщение",
                                                "пересылаемое сообщение",
                                                "пересланное сообщение",
                                                "оригінальне повідомлення",
                                                "переслане повідомлення",
                                                NULL};

/* Apple Mail and others open a forwarded message with a line of its own. */
static const char *const forward_openers[] = {
    "begin forwarded message",
    "forwarded message:",
    "begin doorgestuurd bericht",
    "doorgestuurd bericht:",
    "anfang der weitergeleiteten nachricht",
    "début du message réexpédié",
    "inicio del mensaje reenviado",
    "inizio messaggio inoltrato",
    "início da mensagem reencaminhada",
    "начало пересылаемого сообщения",
    NULL};

static int is_rule_line(struct span l);

/* "_______________\nfoo mailing list\n…": a list footer (Mailman). */
static int
is_list_footer(const struct span *v, size_t n, size_t i)
{
    struct span l = reply_span_trim(v[i]), next;

    if (l.n < 2 || strspn(l.s, "_") < l.n || i + 1 >= n)
        return 0;
    next = reply_span_trim(v[i + 1]);
    return next.n > 13 &&
           reply_ci_eq(next.s + next.n - 13, " mailing list", 13);
}

/* Lines after which everything is quoted without '>' prefixes. */
static int
is_hard_cut(const struct span *v, size_t n, size_t i)
{
    struct span l = reply_span_trim(v[i]), value;
    enum hdr_kind kind;
    int has_from, count;

    if (l.n == 0)
        return 0;
    if (strchr("-_*=", l.s[0]) != NULL) {
        for (const char *const *p = separator_phrases; *p != NULL; p++)
            if (reply_span_has_ci(l, *p))
                return 1;
    }
    /* "-----Reply Message-----", "---- Jan wrote ----" */
    if (l.n > 6 && strncmp(l.s, "--", 2) == 0 &&
        strncmp(l.s + l.n - 2, "--", 2) == 0 && !is_rule_line(l))
        return 1;
    for (const char *const *p = forward_openers; *p != NULL; p++)
        if (reply_span_starts_ci(l, *p))
            return 1;
    if (is_list_footer(v, n, i))
        return 1;
    kind = header_kind_value(l, &value);
    if (kind == HDR_NONE)
        return 0;
    /* "From: jan@x.nl": a sender's address alone opens a quoted mail */
    if (kind == HDR_FROM && is_address_value(value))
        return 1;
    /* A block of header lines that opens with a sender line or a dated date
     * line and names a sender ("Van: Helpdesk"; not "From: my point of
     * view", "Data: kwijt"); values may wrap. */
    has_from = (kind == HDR_FROM && is_sender_value(value)) ||
               (kind == HDR_DATE && looks_dated(value.s, value.n));
    if (!has_from)
        return 0;
    count = 1;
    for (size_t j = i + 1; j < n && j < i + 8; j++) {
        enum hdr_kind k;
        if (reply_span_blank(v[j]))
            break;
        k = header_kind_value(v[j], &value);
        if (k != HDR_NONE)
            count++;
        has_from |= k == HDR_FROM && is_sender_value(value);
    }
    return count >= 2 && has_from;
}

/* A header block may have its date line set apart above it ("Message du :
 * 03/11/2026 10:05", blank line, "De : …"): the cut starts there. */
static size_t
hard_cut_start(const struct span *v, size_t i)
{
    size_t p = i;

    if (header_kind(v[i]) == HDR_NONE)
        return i;
    if (p > 0 && reply_span_blank(v[p - 1]))
        p--;
    return p > 0 && header_kind(v[p - 1]) == HDR_DATE ? p - 1 : i;
}

/* "reply On Wed, … wrote:": an attribution that shares its line with the
 * reply. Returns the length of the reply part, or 0 if there is none. */
static size_t
inline_attribution(struct span l)
{
    l = reply_span_trim(l);
    /* only the plain "On … wrote:" form, colon and all */
    if (l.n == 0 || l.s[0] == '>' || !reply_is_wordc(l.s) ||
        l.s[l.n - 1] != ':')
        return 0;
    for (size_t i = 1; i + 3 < l.n; i++) {
        size_t r;
        if (l.s[i - 1] != ' ' && l.s[i - 1] != '-')
            continue;
        if (strncmp(l.s + i, "On ", 3) != 0 && strncmp(l.s + i, "Op ", 3) != 0)
            continue;
        if (!attribution_text(l.s + i, l.n - i, 0))
            continue;
        r = i;
        while (r > 0 && (l.s[r - 1] == ' ' || l.s[r - 1] == '-'))
            r--;
        if (r > 0)
            return r;
    }
    return 0;
}

enum marker { MARK_NONE, MARK_QUOTE, MARK_ATTR, MARK_HARD };

static enum marker
marker_at(const struct span *v, size_t n, size_t i)
{
    if (is_quote_line(v[i]))
        return MARK_QUOTE;
    if (attribution_len(v, n, i) > 0)
        return MARK_ATTR;
    if (is_hard_cut(v, n, i))
        return MARK_HARD;
    return MARK_NONE;
}

static int
is_rule_line(struct span l)
{
    l = reply_span_trim(l);
    if (l.n < 3)
        return 0;
    for (size_t i = 0; i < l.n; i++)
        if (strchr("-_=*", l.s[i]) == NULL)
            return 0;
    return 1;
}

/* Appends lines [a, b) with trailing blanks and rules dropped, and white
 * space and invisible characters at line ends. */
enum eq_err
reply_emit_lines(struct eq_buf *out, const struct span *v, size_t a, size_t b)
{
    while (b > a && (reply_span_blank(v[b - 1]) || is_rule_line(v[b - 1])))
        b--;
    while (a < b && reply_span_blank(v[a]))
        a++;
    for (size_t i = a; i < b; i++) {
        struct span l = v[i];
        size_t k;
        while ((k = reply_trail_space(l)) > 0)
            l.n -= k;
        if (out->len > 0 && buf_addc(out, '\n') != EQ_OK)
            return EQ_ERR_NOMEM;
        if (buf_addn(out, l.s, l.n) != EQ_OK)
            return EQ_ERR_NOMEM;
    }
    return EQ_OK;
}

int
reply_has_content(const struct span *v, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (!reply_span_blank(v[i]) && !reply_is_greeting(v[i]) &&
            !is_rule_line(v[i]))
            return 1;
    return 0;
}

static enum eq_err
normalize(const char *body, char **out)
{
    struct eq_buf b = {0};

    for (const char *p = body; *p != '\0'; p++) {
        char c = *p;
        if (c == '\r') {
            if (p[1] == '\n')
                continue;
            c = '\n';
        }
        if (buf_addc(&b, c) != EQ_OK) {
            buf_free(&b);
            return EQ_ERR_NOMEM;
        }
    }
    *out = buf_take(&b);
    return EQ_OK;
}

enum eq_err
reply_strip(const char *body, char **out)
{
    char *text = NULL;
    struct span *v = NULL;
    struct eq_buf res = {0};
    size_t n, m, end, j, k;
    enum eq_err err;
    enum marker mk = MARK_NONE;

    *out = NULL;
    if (body == NULL)
        return EQ_ERR_DATA;
    if ((err = normalize(body, &text)) != EQ_OK)
        goto out;
    if ((err = reply_split_lines(text, &v, &n)) != EQ_OK)
        goto out;
    for (m = 0; m < n; m++) {
        if ((k = inline_attribution(v[m])) > 0) {
            v[m].n = (size_t)(reply_span_trim(v[m]).s - v[m].s) + k;
            mk = MARK_HARD;
            m++;
            break;
        }
        if ((mk = marker_at(v, n, m)) != MARK_NONE) {
            if (mk == MARK_HARD)
                m = hard_cut_start(v, m);
            break;
        }
    }
    end = reply_cut_signature(v, 0, m);
    if (reply_has_content(v, 0, end) || mk == MARK_NONE || mk == MARK_HARD) {
        err = reply_emit_lines(&res, v, 0, end);
        goto done;
    }
    /* Bottom-posted: nothing but a greeting above the quote, so the answer
     * is the unquoted text below it. */
    j = m;
    while (j < n) {
        if (is_quote_line(v[j]) || reply_span_blank(v[j]))
            j++;
        else if ((k = attribution_len(v, n, j)) > 0)
            j += k;
        else
            break;
    }
    for (k = j; k < n; k++)
        if (marker_at(v, n, k) != MARK_NONE)
            break;
    k = reply_cut_signature(v, j, k);
    if ((err = reply_emit_lines(&res, v, 0, end)) != EQ_OK)
        goto out;
    if (res.len > 0 && reply_has_content(v, j, k) &&
        (err = buf_addc(&res, '\n')) != EQ_OK)
        goto out;
    err = reply_emit_lines(&res, v, j, k);
done:
    if (err != EQ_OK)
        goto out;
    *out = buf_take(&res);
out:
    buf_free(&res);
    free(v);
    free(text);
    return err;
}
