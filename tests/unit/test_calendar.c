/* test_calendar.c — src/common/calendar.c: day counts both ways over the
 * whole 0001-9999 range, leap years, the date and timestamp text
 * (docs/schema.md, "Types"), RFC 3339 formatting and parsing
 * (manifests; storaged's object times as gc reads them) and Excel serial
 * dates. */
#include "test.h"

#include "common/calendar.h"

#include <time.h>

TEST(calendar_leap_years)
{
	CHECK(calendar_is_leap(2024));
	CHECK(calendar_is_leap(2000));
	CHECK(calendar_is_leap(1600));
	CHECK(!calendar_is_leap(1900));
	CHECK(!calendar_is_leap(2100));
	CHECK(!calendar_is_leap(2023));
	CHECK_EQ_INT(calendar_days_in_month(2024, 2), 29);
	CHECK_EQ_INT(calendar_days_in_month(2023, 2), 28);
	CHECK_EQ_INT(calendar_days_in_month(1900, 2), 28);
	CHECK_EQ_INT(calendar_days_in_month(2023, 4), 30);
	CHECK_EQ_INT(calendar_days_in_month(2023, 12), 31);
}

TEST(calendar_days_from_civil_known_days)
{
	CHECK_EQ_INT(calendar_days_from_civil(1970, 1, 1), 0);
	CHECK_EQ_INT(calendar_days_from_civil(1969, 12, 31), -1);
	CHECK_EQ_INT(calendar_days_from_civil(2000, 3, 1), 11017);
	CHECK_EQ_INT(calendar_days_from_civil(1899, 12, 30), CALENDAR_EXCEL_EPOCH_DAYS);
	CHECK_EQ_INT(calendar_days_from_civil(1904, 1, 1), CALENDAR_EXCEL_1904_EPOCH_DAYS);
	CHECK_EQ_INT(calendar_days_from_civil(1, 1, 1), -719162);
	CHECK_EQ_INT(calendar_days_from_civil(9999, 12, 31), 2932896);
	/* past the month's end counts on, as timegm() normalises */
	CHECK_EQ_INT(calendar_days_from_civil(2024, 2, 31), calendar_days_from_civil(2024, 3, 2));
}

/* Every day of 0001-9999 round-trips, consecutively, and agrees with the
 * C library's timegm() where time_t reaches. */
TEST(calendar_every_day_round_trips)
{
	int64_t want = calendar_days_from_civil(1, 1, 1);
	for (int64_t y = 1; y <= 9999; y++) {
		for (unsigned m = 1; m <= 12; m++) {
			for (unsigned d = 1; d <= (unsigned)calendar_days_in_month(y, (int)m); d++) {
				int64_t z = calendar_days_from_civil(y, m, d), yy;
				unsigned mm, dd;
				CHECK_EQ_INT(z, want);
				calendar_civil_from_days(z, &yy, &mm, &dd);
				CHECK(yy == y && mm == m && dd == d);
				want++;
			}
		}
		if (y >= 1902 && y <= 2037 && y % 7 == 0) {
			struct tm tm = { .tm_year = (int)y - 1900, .tm_mon = 5, .tm_mday = 15 };
			CHECK_EQ_INT((int64_t)timegm(&tm) / 86400, calendar_days_from_civil(y, 6, 15));
		}
	}
}

TEST(calendar_parse_date_rules)
{
	int32_t d = 0;
	CHECK_EQ_INT(calendar_parse_date("1970-01-01", 10, &d), 0);
	CHECK_EQ_INT(d, 0);
	CHECK_EQ_INT(calendar_parse_date("2024-02-29", 10, &d), 0);
	CHECK_EQ_INT(d, 19782);
	CHECK_EQ_INT(calendar_parse_date("0001-01-01", 10, &d), 0);
	CHECK_EQ_INT(d, -719162);
	CHECK_EQ_INT(calendar_parse_date("2023-02-29", 10, &d), -1);   /* not a leap year */
	CHECK_EQ_INT(calendar_parse_date("1900-02-29", 10, &d), -1);
	CHECK_EQ_INT(calendar_parse_date("0000-01-01", 10, &d), -1);   /* year 0 is text */
	CHECK_EQ_INT(calendar_parse_date("2024-13-01", 10, &d), -1);
	CHECK_EQ_INT(calendar_parse_date("2024-04-31", 10, &d), -1);
	CHECK_EQ_INT(calendar_parse_date("2024-1-01", 9, &d), -1);
	CHECK_EQ_INT(calendar_parse_date("2024/01/01", 10, &d), -1);
	CHECK_EQ_INT(calendar_parse_date("2024-01-01 ", 11, &d), -1);
}

TEST(calendar_parse_timestamp_rules)
{
	int64_t us = 0;
	int z = -1;
	CHECK_EQ_INT(calendar_parse_timestamp("1970-01-01 00:00:01", 19, &us, &z), 0);
	CHECK_EQ_INT(us, 1000000);
	CHECK_EQ_INT(z, 0);
	CHECK_EQ_INT(calendar_parse_timestamp("1970-01-01T00:00:00.5", 21, &us, &z), 0);
	CHECK_EQ_INT(us, 500000);
	CHECK_EQ_INT(calendar_parse_timestamp("1970-01-01T00:00:00.000001Z", 27, &us, &z), 0);
	CHECK_EQ_INT(us, 1);
	CHECK_EQ_INT(z, 1);
	/* the offset is subtracted: 03:04:05+02:00 is 01:04:05Z */
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05+02:00", 25, &us, &z), 0);
	int64_t utc = 0;
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 01:04:05Z", 20, &utc, &z), 0);
	CHECK_EQ_INT(us, utc);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05.1234567", 27, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 24:00:00", 19, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 23:59:60", 19, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02t03:04:05", 19, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05z", 20, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05+0200", 24, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05+24:00", 25, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05.", 20, &us, &z), -1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04", 16, &us, &z), -1);
}

TEST(calendar_format_rfc3339)
{
	char t[CALENDAR_RFC3339_MAX];
	calendar_format_rfc3339_ms(0, t);
	CHECK_EQ_STR(t, "1970-01-01T00:00:00.000Z");
	calendar_format_rfc3339_ms(1700000000123, t);
	CHECK_EQ_STR(t, "2023-11-14T22:13:20.123Z");
	calendar_format_rfc3339_ms(-1, t);
	CHECK_EQ_STR(t, "1969-12-31T23:59:59.999Z");
	calendar_format_rfc3339_ms(951782400000, t);
	CHECK_EQ_STR(t, "2000-02-29T00:00:00.000Z");
	int64_t back = 0;
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2023-11-14T22:13:20.123Z", &back), 0);
	CHECK_EQ_INT(back, 1700000000123);
}

/* storaged's "modified" times as catalogd's gc reads them (was
 * gc_parse_time in catalogd/gc.c, test catalog_gc_parse_time). */
TEST(calendar_parse_rfc3339_storaged_times)
{
	int64_t ms = 0;
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("1970-01-01T00:00:00Z", &ms), 0);
	CHECK_EQ_INT(ms, 0);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560000ll);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00.358Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560358ll);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00.5Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560500ll);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00.123456Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560123ll);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("", &ms), -1);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00", &ms), -1);       /* no zone */
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00+01:00", &ms), -1); /* not UTC */
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-13-21T22:36:00Z", &ms), -1);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:3x:00Z", &ms), -1);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00.Z", &ms), -1);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:00.1234567890Z", &ms), -1);
	/* as timegm() took them: a leap second and Feb 30 count on */
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2026-11-21T22:36:60Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300620000ll);
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2025-02-30T00:00:00Z", &ms), 0);
	int64_t march2 = 0;
	CHECK_EQ_INT(calendar_parse_rfc3339_ms("2025-03-02T00:00:00Z", &march2), 0);
	CHECK_EQ_INT(ms, march2);
}

TEST(calendar_excel_serials)
{
	int64_t us = 0;
	const int64_t day = CALENDAR_US_PER_DAY;
	CHECK_EQ_INT(calendar_from_excel_serial(25569, 0, &us), 0);     /* 1970-01-01 */
	CHECK_EQ_INT(us, 0);
	CHECK_EQ_INT(calendar_from_excel_serial(45658.5, 0, &us), 0);   /* 2025-01-01 12:00 */
	CHECK_EQ_INT(us, calendar_days_from_civil(2025, 1, 1) * day + day / 2);
	CHECK_EQ_INT(calendar_from_excel_serial(61, 0, &us), 0);        /* 1900-03-01 */
	CHECK_EQ_INT(us, calendar_days_from_civil(1900, 3, 1) * day);
	CHECK_EQ_INT(calendar_from_excel_serial(59, 0, &us), 0);        /* 1900-02-28 */
	CHECK_EQ_INT(us, calendar_days_from_civil(1900, 2, 28) * day);
	CHECK_EQ_INT(calendar_from_excel_serial(1, 0, &us), 0);         /* 1900-01-01 */
	CHECK_EQ_INT(us, calendar_days_from_civil(1900, 1, 1) * day);
	CHECK_EQ_INT(calendar_from_excel_serial(60, 0, &us), -1);       /* 1900-02-29 never was */
	CHECK_EQ_INT(calendar_from_excel_serial(2958465, 0, &us), 0);   /* 9999-12-31 */
	CHECK_EQ_INT(us, calendar_days_from_civil(9999, 12, 31) * day);
	CHECK_EQ_INT(calendar_from_excel_serial(2958466, 0, &us), -1);
	CHECK_EQ_INT(calendar_from_excel_serial(-1, 0, &us), -1);
	CHECK_EQ_INT(calendar_from_excel_serial(0.0 / 0.0, 0, &us), -1);
	/* the 1904 date system: serial 0 is 1904-01-01 */
	CHECK_EQ_INT(calendar_from_excel_serial(0, 1, &us), 0);
	CHECK_EQ_INT(us, calendar_days_from_civil(1904, 1, 1) * day);
	CHECK_EQ_INT(calendar_from_excel_serial(60, 1, &us), 0);
	CHECK_EQ_INT(us, calendar_days_from_civil(1904, 3, 1) * day);
	/* a second past midnight survives the double */
	CHECK_EQ_INT(calendar_from_excel_serial(45658 + 1.0 / 86400, 0, &us), 0);
	CHECK_EQ_INT(us, calendar_days_from_civil(2025, 1, 1) * day + 1000000);
}

/* The one digit reader of the calendar parsers and the UI's chart
 * (ui_time_parse): exactly n digits, nothing else, and no read past a NUL. */
TEST(calendar_digits_reads_exactly_n)
{
	int v = -7;
	CHECK_EQ_INT(calendar_digits("2024", 4, &v), 0);
	CHECK_EQ_INT(v, 2024);
	CHECK_EQ_INT(calendar_digits("0901x", 2, &v), 0);
	CHECK_EQ_INT(v, 9);
	CHECK_EQ_INT(calendar_digits("123456789", 9, &v), 0);
	CHECK_EQ_INT(v, 123456789);
	v = -7;
	CHECK_EQ_INT(calendar_digits("2a24", 4, &v), -1);
	CHECK_EQ_INT(calendar_digits("-1", 2, &v), -1);
	CHECK_EQ_INT(calendar_digits(" 1", 2, &v), -1);
	CHECK_EQ_INT(calendar_digits("12", 3, &v), -1);   /* the NUL is not a digit */
	CHECK_EQ_INT(v, -7);
}
