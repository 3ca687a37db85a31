/*
 * log: diagnostics for the operator, one line per event with its ids as
 * key=value ("enquete[PID]: info: sent campaign=it invitation=12"), on stderr
 * or through syslog, above a level threshold. Not for command output, which
 * is cli's, and never for secrets: callers log ids and codes, not passwords,
 * answers or comments. <syslog.h> stays inside log.c (its LOG_INFO and
 * LOG_DEBUG macros would clash with the names below).
 */
#ifndef LOG_H
#define LOG_H

#include <stdio.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Lines above level are dropped; the default is LOG_WARN. */
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* "error", "warn", "info", "debug"; -1 for anything else. */
int log_level_parse(const char *name, enum log_level *out);
/* Lines go to syslog (ident "enquete", facility daemon, with the PID) from
 * now on, at the level's priority; log_use_syslog(0) closes it again. */
void log_use_syslog(int on);
/* Where stderr lines go instead (tests); NULL = stderr again. */
void log_set_stream(FILE *f);
/* One line: control characters in the text (a diag of several lines, a
 * server's reply) become "; " or a space, so an event stays one line. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
