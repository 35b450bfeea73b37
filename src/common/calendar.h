/* calendar.h — the lakehouse's one calendar: proleptic Gregorian dates as day
 * counts from 1970-01-01, the text forms of dates and timestamps (docs/schema.md)
 * (what inference accepts, ADR 0021), RFC 3339 UTC times (manifests, gc's
 * object times) and Excel serial dates. Pure: no clock, no time zone, no
 * libc time functions, so every caller (ingestd's value parsers, catalogd's
 * manifests and gc, the web UI's charts) reads and writes one calendar.
 * Unit-tested in tests/unit/test_calendar.c, fuzzed by tests/fuzz/fuzz_schema.c.
 */
#ifndef LH_COMMON_CALENDAR_H
#define LH_COMMON_CALENDAR_H
#include <stddef.h>
#include <stdint.h>

#define CALENDAR_US_PER_DAY INT64_C(86400000000)

/* 1 if `y` is a Gregorian leap year (divisible by 4, not by 100 unless by
 * 400), else 0. Year 0 is 1 BC and a leap year. */
int calendar_is_leap(int64_t y);

/* Days in month m (1-12) of year y. */
int calendar_days_in_month(int64_t y, int m);

/* Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil), m 1-12.
 * A day past the month's end counts on linearly (Feb 31 is 2 or 3 March),
 * as timegm() normalises it. */
int64_t calendar_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The civil date of day z (days from 1970-01-01): the inverse of
 * calendar_days_from_civil() for real dates. */
void calendar_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* A date (docs/schema.md, "Types"): exactly `YYYY-MM-DD`, a real calendar day, years
 * 0001-9999. 0 and *days (from 1970-01-01), or -1. */
int calendar_parse_date(const char *p, size_t n, int32_t *days);

/* A timestamp (docs/schema.md, "Types"): `YYYY-MM-DD HH:MM:SS` or with `T`, optional `.f` to
 * `.ffffff`, then nothing, `Z` or `+HH:MM`/`-HH:MM` (ADR 0021: upper-case T
 * and Z, hours 00-23, minutes and seconds 00-59, offsets with a colon).
 * 0 with *us the microseconds since 1970-01-01 00:00:00 (a zoned value
 * converted to UTC) and *zoned 1 if it carried a zone, else 0; or -1. */
int calendar_parse_timestamp(const char *p, size_t n, int64_t *us, int *zoned);

/* RFC 3339 UTC with milliseconds, as manifests carry it:
 * "2023-11-14T22:13:20.123Z". out holds CALENDAR_RFC3339_MAX bytes. */
#define CALENDAR_RFC3339_MAX 32
void calendar_format_rfc3339_ms(int64_t ms, char out[CALENDAR_RFC3339_MAX]);

/* Pure: exactly n (1..9) ASCII decimal digits at s into *out; 0, or -1 (out
 * untouched) when one of them is not a digit. s must hold n bytes (a NUL
 * before them is a non-digit, so a C string is safe). */
int calendar_digits(const char *s, int n, int *out);

/* RFC 3339 UTC as storaged lists objects: "YYYY-MM-DDTHH:MM:SS[.f...]Z"
 * (`T` or a space, 1 to 9 fraction digits, cut to milliseconds; only `Z`).
 * Day 1-31 and second 0-60 are taken as timegm() takes them (a day past the
 * month's end, or a leap second, counts on). 0 and *ms since the epoch, or -1. */
int calendar_parse_rfc3339_ms(const char *s, int64_t *ms);

/* Excel serial dates (.xlsx cells): in the 1900 date system (the default)
 * days since 1899-12-30, the fraction being the time of day. Excel counts a
 * 1900-02-29 that never was (serial 60, a Lotus 1-2-3 bug it keeps), so
 * serials below 60 are days since 1899-12-31 and 60 itself is refused. In
 * the 1904 system (`date1904` set in the workbook) days since 1904-01-01.
 * 0 with *us the microseconds since 1970-01-01 (rounded to the
 * microsecond), or -1 for a negative, non-finite, phantom or beyond-9999
 * serial. */
#define CALENDAR_EXCEL_EPOCH_DAYS (-25569)      /* 1899-12-30 from 1970-01-01 */
#define CALENDAR_EXCEL_1904_EPOCH_DAYS (-24107) /* 1904-01-01 from 1970-01-01 */
int calendar_from_excel_serial(double serial, int date1904, int64_t *us);

#endif
