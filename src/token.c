#include "token.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* Crockford base32 in lowercase; i l o u are left out so that a token read
 * aloud or retyped cannot be confused. */
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

static int
is_token_char(char c)
{
    c = (char)tolower((unsigned char)c);
    return c != '\0' && strchr(alphabet, c) != NULL;
}

enum eq_err
token_new(char out[TOKEN_LEN + 1])
{
    unsigned char raw[17]; /* 136 bits; the first 130 are used */
    size_t got = 0;

    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return EQ_ERR_UNAVAILABLE;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < TOKEN_LEN; i++) {
        size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)raw[byte] << 8 | raw[byte + 1];
        out[i] = alphabet[(v >> (11 - shift)) & 31];
    }
    out[TOKEN_LEN] = '\0';
    return EQ_OK;
}

int
token_valid(const char *s)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < TOKEN_LEN; i++)
        if (!is_token_char(s[i]))
            return 0;
    return s[TOKEN_LEN] == '\0';
}

/* 1 if s starts with exactly TOKEN_LEN token characters followed by `end`. */
static int
token_at(const char *s, char end, char out[TOKEN_LEN + 1])
{
    size_t i;

    for (i = 0; i < TOKEN_LEN; i++)
        if (!is_token_char(s[i]))
            return 0;
    if (s[TOKEN_LEN] != end)
        return 0;
    for (i = 0; i < TOKEN_LEN; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[TOKEN_LEN] = '\0';
    return 1;
}

static int
has_prefix(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Skips a run of digits followed by '.', as in the N of "rem.N.TOKEN".
 * Returns NULL if there is none. */
static const char *
skip_counter(const char *s, char sep)
{
    const char *p = s;

    while (isdigit((unsigned char)*p))
        p++;
    if (p == s || *p != sep)
        return NULL;
    return p + 1;
}

/* The ack form ends in ".N@": token, '.', digits, '@'. */
static int
ack_at(const char *s, char out[TOKEN_LEN + 1])
{
    char tmp[TOKEN_LEN + 1];

    if (!token_at(s, '.', tmp))
        return 0;
    if (skip_counter(s + TOKEN_LEN + 1, '@') == NULL)
        return 0;
    memcpy(out, tmp, sizeof tmp);
    return 1;
}

/* Message-ID forms only count at a word start, so "xinv.TOKEN@" is not
 * mistaken for ours. */
static int
msgid_form_at(const char *s, const char *start, char out[TOKEN_LEN + 1],
              char kind[4])
{
    const char *p;

    if (s > start && isalnum((unsigned char)s[-1]))
        return 0;
    if (has_prefix(s, "inv.") && token_at(s + 4, '@', out))
        goto found;
    if (has_prefix(s, "dig.") && token_at(s + 4, '@', out))
        goto found;
    /* The "you said, we did" notice carries the rater's invitation token. */
    if (has_prefix(s, "act.") && token_at(s + 4, '@', out))
        goto found;
    if (has_prefix(s, "ack.") && ack_at(s + 4, out))
        goto found;
    if (has_prefix(s, "rem.") && (p = skip_counter(s + 4, '.')) != NULL &&
        token_at(p, '@', out))
        goto found;
    return 0;
found:
    if (kind != NULL) {
        for (int i = 0; i < 3; i++)
            kind[i] = (char)tolower((unsigned char)s[i]);
        kind[3] = '\0';
    }
    return 1;
}

int
token_find(const char *s, char out[TOKEN_LEN + 1])
{
    const char *p;

    if (s == NULL)
        return -1;
    for (p = s; *p != '\0'; p++) {
        if (p[0] == '[' && p[1] == '#' && token_at(p + 2, ']', out))
            return 0;
        if (p[0] == '+' && token_at(p + 1, '@', out))
            return 0;
        if (msgid_form_at(p, s, out, NULL))
            return 0;
    }
    return -1;
}

int
token_from_message_id(const char *msgid, char out[TOKEN_LEN + 1], char kind[4])
{
    const char *p, *e, *at;
    char tok[TOKEN_LEN + 1], k[4];

    if (msgid == NULL)
        return -1;
    p = msgid;
    while (isspace((unsigned char)*p))
        p++;
    e = p + strlen(p);
    while (e > p && isspace((unsigned char)e[-1]))
        e--;
    if (p < e && *p == '<') {
        if (e - p < 2 || e[-1] != '>')
            return -1;
        p++;
        e--;
    }
    if (!msgid_form_at(p, p, tok, k))
        return -1;
    /* One '@', then a non-empty domain that runs to the end of the id. */
    at = memchr(p, '@', (size_t)(e - p));
    if (at == NULL || at + 1 >= e)
        return -1;
    for (const char *q = at + 1; q < e; q++)
        if (strchr("<>@ \t\r\n", *q) != NULL)
            return -1;
    memcpy(out, tok, sizeof tok);
    memcpy(kind, k, sizeof k);
    return 0;
}
