/* calendar.c — proleptic Gregorian day counts, the date and timestamp text
 * of docs/schema.md, RFC 3339 UTC and Excel serial dates (calendar.h). Pure arithmetic:
 * no gmtime/timegm (their range and time zone are the C library's), so a
 * value means the same in every service. The parsers are on ingestd's hot
 * path (one call per date or timestamp value): they look at bytes, never
 * allocate, and call nothing but the day count.
 */
#include "common/calendar.h"

#include <math.h>
#include <stdio.h>

int calendar_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int calendar_days_in_month(int64_t y, int m)
{
	static const unsigned char dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && calendar_is_leap(y) ? 29 : dm[m - 1];
}

int64_t calendar_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * ((int64_t)m + (m > 2 ? -3 : 9)) + 2) / 5 + (int64_t)d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void calendar_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static inline int isdig(char c)
{
	return c >= '0' && c <= '9';
}

static inline int num2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* YYYY-MM-DD at p[0..10), a real date, year 0001-9999. */
static int date_at(const char *p, int64_t *days)
{
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (p[i] != '-')
				return -1;
		} else if (!isdig(p[i])) {
			return -1;
		}
	}
	int y = num2(p) * 100 + num2(p + 2), m = num2(p + 5), d = num2(p + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > calendar_days_in_month(y, m))
		return -1;
	*days = calendar_days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int calendar_parse_date(const char *p, size_t n, int32_t *out)
{
	int64_t d;
	if (n != 10 || date_at(p, &d))
		return -1;
	*out = (int32_t)d;
	return 0;
}

int calendar_parse_timestamp(const char *p, size_t n, int64_t *out, int *zoned)
{
	int64_t days;
	if (n < 19 || date_at(p, &days) || (p[10] != ' ' && p[10] != 'T'))
		return -1;
	const char *t = p + 11;
	if (!isdig(t[0]) || !isdig(t[1]) || t[2] != ':' || !isdig(t[3]) || !isdig(t[4]) ||
	    t[5] != ':' || !isdig(t[6]) || !isdig(t[7]))
		return -1;
	int hh = num2(t), mm = num2(t + 3), ss = num2(t + 6);
	if (hh > 23 || mm > 59 || ss > 59)
		return -1;
	size_t i = 19;
	int64_t us = 0;
	if (i < n && p[i] == '.') {
		size_t j = ++i;
		while (i < n && isdig(p[i]) && i - j < 6)
			us = us * 10 + (p[i++] - '0');
		if (i == j || (i < n && isdig(p[i])))
			return -1;
		for (size_t k = i - j; k < 6; k++)
			us *= 10;
	}
	int64_t off = 0;
	*zoned = 0;
	if (i < n && p[i] == 'Z') {
		*zoned = 1;
		i++;
	} else if (i < n && (p[i] == '+' || p[i] == '-')) {
		if (n - i != 6 || !isdig(p[i + 1]) || !isdig(p[i + 2]) || p[i + 3] != ':' ||
		    !isdig(p[i + 4]) || !isdig(p[i + 5]))
			return -1;
		int oh = num2(p + i + 1), om = num2(p + i + 4);
		if (oh > 23 || om > 59)
			return -1;
		off = (int64_t)(oh * 60 + om) * 60;
		if (p[i] == '-')
			off = -off;
		*zoned = 1;
		i += 6;
	}
	if (i != n)
		return -1;
	int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - off;
	*out = secs * 1000000 + us;
	return 0;
}

void calendar_format_rfc3339_ms(int64_t ms, char out[CALENDAR_RFC3339_MAX])
{
	int64_t secs = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	calendar_civil_from_days(days, &y, &m, &d);
	snprintf(out, CALENDAR_RFC3339_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y,
		 m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), (int)frac);
}

int calendar_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdig(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int calendar_parse_rfc3339_ms(const char *s, int64_t *out_ms)
{
	int y, mo, d, h, mi, sec, ms = 0;
	size_t n = 0;
	while (s[n])
		n++;
	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':' || s[n - 1] != 'Z')
		return -1;
	if (calendar_digits(s, 4, &y) || calendar_digits(s + 5, 2, &mo) ||
	    calendar_digits(s + 8, 2, &d) || calendar_digits(s + 11, 2, &h) ||
	    calendar_digits(s + 14, 2, &mi) || calendar_digits(s + 17, 2, &sec))
		return -1;
	if (n > 20) {  /* ".f..." then 'Z' */
		int f = 0, nf = (int)n - 21;
		if (s[19] != '.' || nf < 1 || nf > 9 || calendar_digits(s + 20, nf, &f))
			return -1;
		for (int i = nf; i > 3; i--)
			f /= 10;
		for (int i = nf; i < 3; i++)
			f *= 10;
		ms = f;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	int64_t days = calendar_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*out_ms = ((days * 86400) + h * 3600 + mi * 60 + sec) * 1000 + ms;
	return 0;
}

int calendar_from_excel_serial(double serial, int date1904, int64_t *us)
{
	/* 9999-12-31 is serial 2958465 (1900 system), 2957003 (1904 system) */
	const double max = date1904 ? 2957004.0 : 2958466.0;
	if (!isfinite(serial) || serial < 0 || serial >= max)
		return -1;
	double whole = floor(serial);
	int64_t epoch = date1904 ? CALENDAR_EXCEL_1904_EPOCH_DAYS : CALENDAR_EXCEL_EPOCH_DAYS;
	if (!date1904 && whole < 60)
		epoch += 1;             /* before the phantom 1900-02-29 */
	else if (!date1904 && whole == 60)
		return -1;              /* 1900-02-29 never was */
	int64_t frac_us = llround((serial - whole) * (double)CALENDAR_US_PER_DAY);
	*us = ((int64_t)whole + epoch) * CALENDAR_US_PER_DAY + frac_us;
	return 0;
}
