#include "csvout.h"

#include <string.h>

static int
is_en(const char *lang)
{
    return lang && strcmp(lang, "en") == 0;
}

char
csvout_sep(const char *lang)
{
    return is_en(lang) ? ',' : ';';
}

char
csvout_dec(const char *lang)
{
    return is_en(lang) ? '.' : ',';
}

static int
plain_number(const char *s, char dec)
{
    int digits = 0;

    if (*s == '-')
        s++;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    if (*s == dec && digits > 0) {
        s++;
        digits = 0;
        while (*s >= '0' && *s <= '9')
            s++, digits++;
    }
    return digits > 0 && *s == '\0';
}

/* Excel and LibreOffice run a cell starting with = + - @ as a formula, and
 * skip a leading tab or CR before looking (OWASP "CSV injection"). */
static int
formula(const char *s, char dec)
{
    return *s != '\0' && strchr("=+-@\t\r", *s) != NULL &&
           !plain_number(s, dec);
}

enum eq_err
csvout_cell(struct eq_buf *b, const char *s, char sep, char dec, int last)
{
    char specials[5] = {sep, '"', '\r', '\n', '\0'};
    int quote, bad = 0;

    s = s ? s : "";
    quote = strpbrk(s, specials) != NULL;
    if (quote)
        bad |= buf_addc(b, '"') != EQ_OK;
    if (formula(s, dec))
        bad |= buf_addc(b, '\'') != EQ_OK;
    for (; *s; s++) {
        if (*s == '"')
            bad |= buf_addc(b, '"') != EQ_OK;
        bad |= buf_addc(b, *s) != EQ_OK;
    }
    if (quote)
        bad |= buf_addc(b, '"') != EQ_OK;
    bad |= (last ? buf_add(b, "\r\n") : buf_addc(b, sep)) != EQ_OK;
    return bad ? EQ_ERR_NOMEM : EQ_OK;
}
