/* <syslog.h> first: its priority values are taken before its LOG_INFO and
 * LOG_DEBUG macros are dropped for log.h's enum of the same names. */
#include <syslog.h>

static const int log_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

#undef LOG_INFO
#undef LOG_DEBUG

#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static enum log_level threshold = LOG_WARN;
static int to_syslog;
static FILE *stream;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_set_level(enum log_level level)
{
    threshold = level;
}

int
log_enabled(enum log_level level)
{
    return level <= threshold;
}

int
log_level_parse(const char *name, enum log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    return -1;
}

void
log_use_syslog(int on)
{
    if (on && !to_syslog)
        openlog("enquete", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    else if (!on && to_syslog)
        closelog();
    to_syslog = on;
}

void
log_set_stream(FILE *f)
{
    stream = f;
}

/* Newlines become "; " (a diag of several lines is one event), other
 * control characters a space; trailing ones go. */
static void
one_line(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), k = 0;

    while (n > 0 && (unsigned char)in[n - 1] < 0x20)
        n--;
    for (size_t i = 0; i < n && k + 3 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '\n') {
            while (k > 0 && out[k - 1] == ' ')
                k--;
            if (k > 0 && out[k - 1] != ';')
                out[k++] = ';';
            out[k++] = ' ';
        } else if (c < 0x20 || c == 0x7f) {
            if (k > 0 && out[k - 1] != ' ')
                out[k++] = ' ';
        } else {
            out[k++] = (char)c;
        }
    }
    out[k] = '\0';
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    char raw[2048], line[2048];
    va_list ap;

    if (level < LOG_ERROR || level > LOG_DEBUG || level > threshold)
        return;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    one_line(raw, line, sizeof line);
    if (to_syslog) {
        syslog(log_prio[level], "%s: %s", level_names[level], line);
        return;
    }
    /* One write per line, so lines of parallel processes do not mix. */
    FILE *f = stream ? stream : stderr;
    fprintf(f, "enquete[%ld]: %s: %s\n", (long)getpid(), level_names[level],
            line);
    fflush(f);
}
