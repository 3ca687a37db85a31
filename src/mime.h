/*
 * mime: turns one raw inbound message into a struct mime_msg — decoded
 * headers, addresses, the best text body as valid UTF-8, and the pieces of
 * delivery reports that classify needs. libetpan and libxml2 stay inside
 * mime.c. It never judges a message (that is classify) and never crashes,
 * hangs or leaks on malformed input: it gives a best-effort result instead
 * (a multipart whose boundary does not work is re-read with the one its
 * body uses, or read as text).
 */
#ifndef MIME_H
#define MIME_H

#include <stddef.h>

#include "eq.h"

struct mime_header {
    char *name;  /* as written */
    char *value; /* unfolded, raw (not RFC 2047 decoded), trimmed */
};

struct mime_msg {
    char *message_id;  /* without <>, or NULL */
    char *in_reply_to; /* first id, without <>, or NULL */
    char **references; /* without <> */
    size_t n_references;
    char *from_addr; /* or NULL */
    char *from_name; /* decoded UTF-8, or NULL */
    char **to;       /* addresses in To and Cc */
    size_t n_to;
    char *subject;         /* decoded UTF-8 (RFC 2047); "" when absent */
    char *date_raw;        /* or NULL */
    eq_time date;          /* 0 if missing/bad */
    char *text;            /* best text body, UTF-8, LF line ends, never NULL:
                              text/plain part if any, else HTML converted to
                              text, else a named (not attached) text/plain */
    char *html;            /* first text/html part as UTF-8, or NULL */
    char *content_type;    /* top-level, lowercase, e.g. "multipart/report" */
    char *report_type;     /* report-type of the first multipart/report, or
                              NULL */
    char *delivery_status; /* message/delivery-status part, or NULL; report
                              parts are read whatever their disposition */
    char *feedback_report; /* message/feedback-report part, or NULL */
    int n_attachments;     /* parts with a filename or disposition attachment
                              (a forwarded message/rfc822 counts as one; its
                              own parts are not looked at) */
    struct mime_header *headers; /* top-level headers in order */
    size_t n_headers;
};

/* Parses raw (len bytes; need not be NUL-terminated). Malformed input gives
 * a best-effort *out and EQ_OK; only EQ_ERR_NOMEM fails. */
enum eq_err mime_parse(const char *raw, size_t len, struct mime_msg **out,
                       struct eq_buf *diag);
/* First top-level header with that name (case-insensitive), unfolded, raw
 * (not decoded); NULL if absent. */
const char *mime_header(const struct mime_msg *m, const char *name);
void mime_free(struct mime_msg *m);

/* HTML (UTF-8) to plain text as mime_parse does it: script/style dropped,
 * block elements and <br> become line breaks, blockquote lines get "> ",
 * entities decoded. *out is newly allocated. */
enum eq_err mime_html_to_text(const char *html, size_t len, char **out);

#endif
