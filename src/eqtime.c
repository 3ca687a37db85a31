#include "eqtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Howard Hinnant's days_from_civil / civil_from_days algorithms (public
 * domain arithmetic, restated here). */
eq_day
eqtime_day_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (eq_day)(era * 146097 + (int)doe - 719468);
}

void
eqtime_ymd_from_day(eq_day z0, int *y, int *m, int *d)
{
    int z = z0 + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (mm <= 2);
    *m = (int)mm;
    *d = (int)dd;
}

int
eqtime_weekday(eq_day day)
{
    /* 1970-01-01 was a Thursday (4). */
    int w = (int)((day % 7 + 7) % 7); /* 0 = Thursday */
    return (w + 3) % 7 + 1;
}

static int
days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int
digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int
parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
        digits(s + 8, 2, d))
        return -1;
    if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
        return -1;
    return 0;
}

int
eqtime_parse_day(const char *s, eq_day *out)
{
    int y, m, d;
    if (strlen(s) != 10 || parse_ymd(s, &y, &m, &d))
        return -1;
    *out = eqtime_day_from_ymd(y, m, d);
    return 0;
}

void
eqtime_format_day(eq_day day, char out[11])
{
    int y, m, d;
    eqtime_ymd_from_day(day, &y, &m, &d);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 13u,
             (unsigned)d % 32u);
}

/* Conversions go through the C library with TZ set to the zone asked for.
 * TZ stays set afterwards: switching back and forth made glibc re-read the
 * zone file on every call, and nothing in enquete relies on the process
 * zone. Not thread-safe; enquete is single threaded. */
static void
use_zone(const char *tz)
{
    static char current[128];

    if (tz == NULL || *tz == '\0')
        tz = "UTC";
    if (strcmp(current, tz) == 0)
        return;
    snprintf(current, sizeof current, "%s", tz);
    setenv("TZ", tz, 1);
    tzset();
}

void
eqtime_to_local(eq_time t, const char *tz, eq_day *day, int *minute)
{
    struct tm tm;
    time_t tt = (time_t)t;

    use_zone(tz);
    localtime_r(&tt, &tm);
    if (day)
        *day =
            eqtime_day_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (minute)
        *minute = tm.tm_hour * 60 + tm.tm_min;
}

eq_time
eqtime_from_local(eq_day day, int minute, const char *tz)
{
    struct tm tm;
    int y, m, d;

    eqtime_ymd_from_day(day, &y, &m, &d);
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = minute / 60;
    tm.tm_min = minute % 60;
    tm.tm_isdst = -1;
    use_zone(tz);
    return (eq_time)mktime(&tm);
}

int
eqtime_zone_valid(const char *tz)
{
    char path[512];

    if (tz == NULL || *tz == '\0')
        return -1;
    if (strcmp(tz, "UTC") == 0)
        return 0;
    if (strstr(tz, "..") || tz[0] == '/')
        return -1;
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    return access(path, R_OK) == 0 ? 0 : -1;
}

int
eqtime_parse_iso(const char *s, const char *tz, eq_time *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    size_t n = strlen(s);
    const char *p;
    eq_day day;

    if (n < 10 || parse_ymd(s, &y, &mo, &d))
        return -1;
    day = eqtime_day_from_ymd(y, mo, d);
    p = s + 10;
    if (*p == '\0') {
        *out = eqtime_from_local(day, 0, tz);
        return 0;
    }
    if (*p != 'T' && *p != ' ')
        return -1;
    p++;
    if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi))
        return -1;
    p += 5;
    if (*p == ':') {
        if (digits(p + 1, 2, &se))
            return -1;
        p += 3;
    }
    if (h > 23 || mi > 59 || se > 60)
        return -1;
    if (*p == '\0') {
        *out = eqtime_from_local(day, h * 60 + mi, tz) + se;
        return 0;
    }
    int off = 0;
    if (*p == 'Z' && p[1] == '\0') {
        off = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om))
            return -1;
        off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    } else {
        return -1;
    }
    *out = (eq_time)day * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

void
eqtime_format_iso(eq_time t, char out[21])
{
    eq_day day = (eq_day)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
    int64_t rem = t - (eq_time)day * 86400;
    int y, m, d;

    eqtime_ymd_from_day(day, &y, &m, &d);
    snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u,
             (unsigned)m % 13u, (unsigned)d % 32u, (unsigned)(rem / 3600) % 24u,
             (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

void
eqtime_format_rfc5322(eq_time t, const char *tz, char out[40])
{
    struct tm tm;
    time_t tt = (time_t)t;
    static const char *wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *mn[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long off;

    use_zone(tz);
    localtime_r(&tt, &tm);
    off = tm.tm_gmtoff / 60;
    snprintf(out, 40, "%s, %u %s %04u %02u:%02u:%02u %c%02u%02u",
             wd[tm.tm_wday % 7], (unsigned)tm.tm_mday % 32u, mn[tm.tm_mon % 12],
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)tm.tm_hour % 24u,
             (unsigned)tm.tm_min % 60u, (unsigned)tm.tm_sec % 61u,
             off < 0 ? '-' : '+', (unsigned)(labs(off) / 60) % 24u,
             (unsigned)(labs(off) % 60));
}

int64_t
eqtime_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
