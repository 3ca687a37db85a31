/*
 * token: the 26-character lowercase Crockford base32 tokens (130 bits from
 * getrandom()) that tie mail to invitations and digests, and finding them in
 * inbound text. Only delimited forms count, never a bare 26-character word.
 */
#ifndef TOKEN_H
#define TOKEN_H

#include "eq.h"

#define TOKEN_LEN 26

/* A fresh random token, NUL-terminated. */
enum eq_err token_new(char out[TOKEN_LEN + 1]);
/* 1 if s is exactly a valid token (case-insensitive), else 0. */
int token_valid(const char *s);
/* The first token in s in a delimited form: "[#TOKEN]", "+TOKEN@", or a
 * Message-ID form ("inv.TOKEN@", "rem.N.TOKEN@", "dig.TOKEN@",
 * "ack.TOKEN.N@", "act.TOKEN@"). Case is folded; out is lowercase. 0 if found,
 * -1 if not. */
int token_find(const char *s, char out[TOKEN_LEN + 1]);
/* A Message-ID ("<inv.TOKEN@DOMAIN>" with or without <>): token and kind
 * ("inv", "rem", "dig", "ack", "act"). 0 if it is one of ours, -1 if not. */
int token_from_message_id(const char *msgid, char out[TOKEN_LEN + 1],
                          char kind[4]);

#endif
