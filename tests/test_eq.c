#include <criterion/criterion.h>
#include <string.h>

#include "eq.h"
#include "eqtime.h"

Test(eq, buffer_grows_and_hands_over)
{
    struct eq_buf b = {0};
    for (int i = 0; i < 100; i++)
        cr_assert_eq(buf_printf(&b, "%d,", i), EQ_OK);
    cr_assert_eq(strncmp(buf_str(&b), "0,1,2,", 6), 0);
    cr_assert_eq(b.len, strlen(b.s));
    char *s = buf_take(&b);
    cr_assert_null(b.s);
    cr_assert_str_eq(buf_str(&b), "");
    free(s);
}

Test(eq, exit_codes_follow_sysexits)
{
    cr_assert_eq(eq_exit_code(EQ_OK), 0);
    cr_assert_eq(eq_exit_code(EQ_ERR_USAGE), 64);
    cr_assert_eq(eq_exit_code(EQ_ERR_DATA), 65);
    cr_assert_eq(eq_exit_code(EQ_ERR_UNAVAILABLE), 69);
    cr_assert_eq(eq_exit_code(EQ_ERR_TEMP), 75);
    cr_assert_eq(eq_exit_code(EQ_ERR_CONFIG), 78);
}

Test(eqtime, civil_days_round_trip)
{
    for (eq_day d = -800; d < 80000; d += 37) {
        int y, m, dd;
        eqtime_ymd_from_day(d, &y, &m, &dd);
        cr_assert_eq(eqtime_day_from_ymd(y, m, dd), d);
    }
    eq_day d;
    cr_assert_eq(eqtime_parse_day("2026-11-23", &d), 0);
    cr_assert_eq(eqtime_weekday(d), 1, "2026-11-23 is a Monday");
    cr_assert_eq(eqtime_parse_day("2026-02-29", &d), -1);
    char out[11];
    eqtime_format_day(eqtime_day_from_ymd(2028, 2, 29), out);
    cr_assert_str_eq(out, "2028-02-29");
}

Test(eqtime, local_time_follows_amsterdam_dst)
{
    eq_time t;
    cr_assert_eq(eqtime_parse_iso("2026-07-01T09:00", "Europe/Amsterdam", &t),
                 0);
    char iso[21];
    eqtime_format_iso(t, iso);
    cr_assert_str_eq(iso, "2026-07-01T07:00:00Z");
    cr_assert_eq(eqtime_parse_iso("2026-12-01T09:00:00+01:00", "UTC", &t), 0);
    eqtime_format_iso(t, iso);
    cr_assert_str_eq(iso, "2026-12-01T08:00:00Z");
    eq_day day;
    int minute;
    eqtime_to_local(t, "Europe/Amsterdam", &day, &minute);
    cr_assert_eq(minute, 9 * 60);
    char hdr[40];
    eqtime_format_rfc5322(t, "Europe/Amsterdam", hdr);
    cr_assert_str_eq(hdr, "Tue, 1 Dec 2026 09:00:00 +0100");
    cr_assert_eq(eqtime_parse_iso("2026-13-01", "UTC", &t), -1);
}
