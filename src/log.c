#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static enum log_level threshold = LOG_WARN;

void
log_set_level(enum log_level level)
{
    threshold = level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    va_list ap;

    if (level > threshold)
        return;
    fprintf(stderr, "enquete: %s: ", names[level]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
