/*
 * eqtime: calendar arithmetic and time-zone conversion. Civil dates are
 * eq_day (days since 1970-01-01); instants are eq_time (UTC seconds). Zone
 * conversion goes through the C library's TZ database. This module never reads
 * the clock: `now` always comes from the caller.
 */
#ifndef EQTIME_H
#define EQTIME_H

#include "eq.h"

eq_day eqtime_day_from_ymd(int y, int m, int d);
void eqtime_ymd_from_day(eq_day day, int *y, int *m, int *d);
/* 1 = Monday … 7 = Sunday (ISO 8601). */
int eqtime_weekday(eq_day day);
/* Parse "YYYY-MM-DD" exactly; 0 on success, -1 if malformed or invalid. */
int eqtime_parse_day(const char *s, eq_day *out);
/* Writes "YYYY-MM-DD" into out (at least 11 bytes). */
void eqtime_format_day(eq_day day, char out[11]);

/* Local civil date and minute-of-day of an instant in IANA zone tz. */
void eqtime_to_local(eq_time t, const char *tz, eq_day *day, int *minute);
/* The instant of local date day at minute-of-day in zone tz. */
eq_time eqtime_from_local(eq_day day, int minute, const char *tz);
/* 0 if tz names a zone the system knows ("UTC" and zone files). */
int eqtime_zone_valid(const char *tz);

/* Parse ISO 8601: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" (local in tz when no
 * offset), or with "Z" / "+HH:MM" / "-HH:MM". 0 on success. */
int eqtime_parse_iso(const char *s, const char *tz, eq_time *out);
/* RFC 3339 in UTC, "2026-11-23T09:00:00Z" (out: at least 21 bytes). */
void eqtime_format_iso(eq_time t, char out[21]);
/* RFC 5322 Date header value in zone tz (out: at least 40 bytes). */
void eqtime_format_rfc5322(eq_time t, const char *tz, char out[40]);
/* The monotonic clock (CLOCK_MONOTONIC) in milliseconds: for timeouts and
 * deadlines, never for dates. */
int64_t eqtime_mono_ms(void);

#endif
