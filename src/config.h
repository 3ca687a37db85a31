/*
 * config: reads config.ini (the keys of DESIGN.md's configuration reference)
 * into a struct eq_config, with defaults applied and every value validated.
 * It owns the line-counting INI reader that campaign files use too, and the
 * value syntax (yes/no, codes, numbers) that campaign and org share; inih's
 * header stays inside config.c. Errors are "FILE:LINE: message" lines in diag.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "eq.h"

enum eq_tls { EQ_TLS_REQUIRED, EQ_TLS_OPPORTUNISTIC, EQ_TLS_OFF };
enum eq_auth { EQ_AUTH_PLAIN, EQ_AUTH_LOGIN, EQ_AUTH_XOAUTH2 };

/* Settings shared by [smtp] and [imap]. */
struct config_server {
    char *url;       /* smtp://, smtps://, imap://, imaps://, maildir:PATH */
    enum eq_tls tls; /* default: required */
    char *user;      /* may be NULL */
    char *password_file; /* absolute path or NULL */
    char *password_env;  /* variable name or NULL */
    enum eq_auth auth;   /* default: plain */
    char *ca_file;       /* absolute path or NULL */
    int timeout;         /* seconds, default 60 */
};

struct eq_config {
    char *path; /* the file read */
    char *dir;  /* its directory: relative paths are resolved against it */
    struct {
        char *database;      /* absolute; default DIR/data/enquete.db */
        char *timezone;      /* default Europe/Amsterdam */
        char *language;      /* nl | en, default nl */
        char *from;          /* "HR Enquête <hr@org>"; required */
        char *reply_address; /* "enquete@org"; required */
        int quiet_period;    /* days, default 30 */
        int retention_days;  /* default 730 */
        char *campaigns;     /* absolute dir; default DIR/campaigns */
        char *templates;     /* absolute dir; default DIR/templates if it
                                exists, else the installed ones */
    } general;
    struct {
        struct config_server srv; /* url default: none (required) */
        int connections;          /* default 1 */
        int rate;                 /* messages/minute, 0 = unlimited */
    } smtp;
    struct {
        struct config_server srv;
        char *folder_processed, *folder_bounces, *folder_auto, *folder_review;
        int batch; /* default 200 */
    } imap;
    struct {
        char **hr; /* addresses for the organisation-wide digest */
        size_t n_hr;
        int weekday;            /* 1 = Monday … 7 = Sunday, default 1 */
        int hour;               /* 0–23, default 8 */
        char *language_default; /* nl | en, default general.language */
    } digest;
};

/* Reads and validates path. On EQ_ERR_CONFIG, diag holds "FILE:LINE: msg"
 * lines; on EQ_ERR_NOINPUT the file could not be opened. */
enum eq_err config_load(const char *path, struct eq_config **out,
                        struct eq_buf *diag);
void config_free(struct eq_config *cfg);

/* The secret of a server block: from password_file (refused when readable
 * by group or others: EQ_ERR_PERM) or password_env; trailing newline
 * dropped. *out is NULL when neither key is set. */
enum eq_err config_password(const struct config_server *srv, char **out,
                            struct eq_buf *diag);

/* Local part and domain of general.reply_address ("enquete", "org"). */
enum eq_err config_reply_parts(const struct eq_config *cfg, char **local,
                               char **domain);

/* INI reading for every file enquete reads: lines longer than inih's
 * 200-byte buffer are an error, and the handler gets the true line number.
 * The handler returns 0 to accept; on non-zero it must have written a
 * message to diag (without the FILE:LINE: prefix, which config_ini_parse
 * adds). */
typedef int (*config_ini_handler)(void *user, const char *section,
                                  const char *name, const char *value,
                                  int lineno, struct eq_buf *msg);
enum eq_err config_ini_parse(const char *path, config_ini_handler handler,
                             void *user, struct eq_buf *diag);

/* Weekday name in English (short or full) or Dutch, any case: 1 = Monday …
 * 7 = Sunday, 0 = not a weekday. */
int config_weekday(const char *s);
/* The name in the NULL-terminated list closest to s (edit distance ≤ 2), for
 * "did you mean" hints; NULL if none is close. */
const char *config_closest(const char *s, const char *const *names);

/* Resolve p against dir unless it is absolute; newly allocated. */
char *config_resolve(const char *dir, const char *p);

/* Value syntax shared by every file enquete reads, so that config.ini,
 * campaign files and the HR export agree on what a word means. */

/* yes/true/1 → 1, no/false/0 → 0, any case; -1 for anything else (the
 * empty string too), *out untouched. Callers add their own extra words. */
int config_parse_bool(const char *v, int *out);
/* A department or campaign code: non-empty, ASCII letters, digits, '.', '_'
 * and '-' only. 1 when valid. */
int config_code_valid(const char *s);

/* Setters for config_ini_handler functions; they return what the handler
 * returns. config_set_str replaces *dst with a copy of v; out of memory
 * sets *nomem and still returns 0, since the load fails as a whole. */
int config_set_str(char **dst, const char *v, int *nomem);
/* A whole number from min to max; otherwise -1 with "'NAME' must be a whole
 * number from MIN to MAX, not 'V'" in msg. */
int config_set_int(const char *name, const char *v, long min, long max,
                   int *dst, struct eq_buf *msg);
/* Writes "unknown key 'NAME' in [SECTION]", with a did-you-mean hint from
 * the NULL-terminated keys, to msg; returns -1. */
int config_unknown_key(const char *name, const char *section,
                       const char *const *keys, struct eq_buf *msg);

#endif
