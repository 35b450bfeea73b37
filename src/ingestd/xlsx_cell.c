/* xlsx_cell.c — the pure pieces of the Excel input format (xlsx.h): number
 * format kinds, the text of numbers and serial dates, cell references. No
 * I/O and no allocation: unit-tested in tests/unit/test_xlsx.c.
 */
#include "ingestd/xlsx.h"

#include "common/calendar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- number formats ----------------------------------------------------- */

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The next date/time letter at or after p (d m y h s, any case), skipping
 * what xlsx_format_code_kind skips; 0 at the end of the section. */
static int next_letter(const char *p)
{
	for (; *p && *p != ';'; p++) {
		int c = lower((unsigned char)*p);
		if (c == '"') {
			const char *q = strchr(p + 1, '"');
			if (!q)
				return 0;
			p = q;
		} else if (c == '\\' || c == '_' || c == '*') {
			if (!p[1])
				return 0;
			p++;
		} else if (c == '[') {
			return '[';
		} else if (c == 'd' || c == 'm' || c == 'y' || c == 'h' || c == 's') {
			return c;
		} else if (c == 'a' || c == 'e' || c == 'g' || c == 'b') {
			return c;       /* other letters end a minute's look-ahead */
		}
	}
	return 0;
}

unsigned xlsx_format_code_kind(const char *code)
{
	unsigned kind = 0;
	int last = 0;        /* the previous date/time letter: d m y h s */
	if (!code)
		return 0;
	for (const char *p = code; *p && *p != ';'; p++) {
		int c = lower((unsigned char)*p);
		if (c == '"') {                         /* "quoted text" */
			const char *q = strchr(p + 1, '"');
			if (!q)
				break;
			p = q;
			continue;
		}
		if (c == '\\' || c == '_' || c == '*') { /* escaped, width, fill */
			if (!p[1])
				break;
			p++;
			continue;
		}
		if (c == '[') {                         /* [Red], [$-409], [h] */
			const char *q = strchr(p, ']');
			if (!q)
				break;
			size_t n = (size_t)(q - p - 1);
			int e = n > 0 ? lower((unsigned char)p[1]) : 0;
			int same = n > 0;
			for (size_t i = 1; i < n; i++)
				same &= lower((unsigned char)p[1 + i]) == e;
			if (same && (e == 'h' || e == 'm' || e == 's')) {
				kind |= XLSX_FMT_TIME | XLSX_FMT_ELAPSED;
				last = e;
			}
			p = q;
			continue;
		}
		if (!strncasecmp(p, "am/pm", 5)) {
			p += 4;
			continue;
		}
		if (!strncasecmp(p, "a/p", 3)) {
			p += 2;
			continue;
		}
		if (!strncasecmp(p, "general", 7)) {
			p += 6;
			continue;
		}
		if (c == 'd' || c == 'y') {
			kind |= XLSX_FMT_DATE;
			last = c;
		} else if (c == 'h' || c == 's') {
			kind |= XLSX_FMT_TIME;
			last = c;
		} else if (c == 'm') {
			/* a run of m: minutes right after h or right before s */
			while (lower((unsigned char)p[1]) == 'm')
				p++;
			if (last == 'h' || next_letter(p + 1) == 's')
				kind |= XLSX_FMT_TIME;
			else
				kind |= XLSX_FMT_DATE;
			last = 'm';
		}
	}
	return kind;
}

unsigned xlsx_builtin_format_kind(unsigned id)
{
	if ((id >= 14 && id <= 17) || (id >= 27 && id <= 36) || (id >= 50 && id <= 58))
		return XLSX_FMT_DATE;
	if ((id >= 18 && id <= 21) || id == 45 || id == 47)
		return XLSX_FMT_TIME;
	if (id == 46)
		return XLSX_FMT_TIME | XLSX_FMT_ELAPSED;
	if (id == 22)
		return XLSX_FMT_DATE | XLSX_FMT_TIME;
	return 0;
}

/* ---- numbers ------------------------------------------------------------ */

/* v[0..n) is [+-]?digits[.digits][(e|E)[+-]?digits]: the only numbers a
 * cell stores. Sets *canonical when it is also its own shortest text: no
 * sign but '-', no exponent, no leading zero (but "0.x"), no trailing zero
 * after a point, at most 15 digits (so at most 15 significant ones, and no
 * integer beyond int64), not "-0". */
static int number_syntax(const char *v, size_t n, int *canonical)
{
	size_t i = 0, digits = 0;
	int seen_nonzero = 0, canon = 1;
	if (i < n && (v[i] == '+' || v[i] == '-')) {
		canon = v[i] == '-';
		i++;
	}
	size_t int_start = i;
	while (i < n && v[i] >= '0' && v[i] <= '9') {
		seen_nonzero |= v[i] != '0';
		digits++;
		i++;
	}
	size_t int_len = i - int_start;
	if (int_len == 0)
		return 0;
	if (int_len > 1 && v[int_start] == '0')
		canon = 0;
	if (i < n && v[i] == '.') {
		i++;
		size_t frac_start = i;
		while (i < n && v[i] >= '0' && v[i] <= '9') {
			seen_nonzero |= v[i] != '0';
			digits++;
			i++;
		}
		if (i == frac_start)
			return 0;
		if (v[i - 1] == '0')
			canon = 0;
	}
	if (i < n && (v[i] == 'e' || v[i] == 'E')) {
		canon = 0;
		i++;
		if (i < n && (v[i] == '+' || v[i] == '-'))
			i++;
		size_t exp_start = i;
		while (i < n && v[i] >= '0' && v[i] <= '9')
			i++;
		if (i == exp_start)
			return 0;
	}
	if (i != n)
		return 0;
	if (digits > 15 || (!seen_nonzero && v[0] == '-'))
		canon = 0;
	*canonical = canon;
	return 1;
}

size_t xlsx_number_text(const char *v, size_t n, char out[XLSX_TEXT_MAX])
{
	int canonical = 0;
	char buf[XLSX_TEXT_MAX * 4];
	if (n == 0 || n >= sizeof buf || !number_syntax(v, n, &canonical))
		return 0;
	if (canonical && n < XLSX_TEXT_MAX) {
		memcpy(out, v, n);
		out[n] = '\0';
		return n;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	double d = strtod(buf, NULL);
	if (!isfinite(d))
		return 0;
	/* the fewest significant digits that read back as d, as d.ddde±XX */
	char e[40];
	int elen = 0;
	for (int prec = 1; prec <= 17; prec++) {
		elen = snprintf(e, sizeof e, "%.*e", prec - 1, d);
		if (elen > 0 && (size_t)elen < sizeof e && strtod(e, NULL) == d)
			break;
	}
	if (elen <= 0 || (size_t)elen >= sizeof e)
		return 0;
	char *ep = strchr(e, 'e');
	if (!ep)
		return 0;
	long exp10 = strtol(ep + 1, NULL, 10);
	if (exp10 < XLSX_NUM_POS_MIN_EXP || exp10 > XLSX_NUM_POS_MAX_EXP) {
		if (elen >= XLSX_TEXT_MAX)
			return 0;
		memcpy(out, e, (size_t)elen + 1);       /* 1.5e-07, 1.2345678901234568e+20 */
		return (size_t)elen;
	}
	/* positional: the digits with the point moved exp10 places (30, 2500, 0.00012) */
	char digits[20];
	size_t nd = 0, o = 0;
	int neg = e[0] == '-';
	for (const char *c = e + neg; c < ep && nd < sizeof digits; c++)
		if (*c >= '0' && *c <= '9')
			digits[nd++] = *c;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	char tmp[XLSX_TEXT_MAX + 40];
	if (neg)
		tmp[o++] = '-';
	if (exp10 < 0) {
		tmp[o++] = '0';
		tmp[o++] = '.';
		for (long z = 0; z < -exp10 - 1; z++)
			tmp[o++] = '0';
		memcpy(tmp + o, digits, nd);
		o += nd;
	} else {
		size_t int_digits = (size_t)exp10 + 1;
		for (size_t k = 0; k < int_digits; k++)
			tmp[o++] = k < nd ? digits[k] : '0';
		if (nd > int_digits) {
			tmp[o++] = '.';
			memcpy(tmp + o, digits + int_digits, nd - int_digits);
			o += nd - int_digits;
		}
	}
	if (o >= XLSX_TEXT_MAX)
		return 0;
	memcpy(out, tmp, o);
	out[o] = '\0';
	return o;
}

/* ---- serial dates ------------------------------------------------------- */

#define MS_PER_DAY INT64_C(86400000)

/* HH:MM:SS[.fff] of `ms` milliseconds (hours may pass 23 when elapsed). */
static size_t time_text(int64_t ms, char *out, size_t cap)
{
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
	int len = f ? snprintf(out, cap, "%02lld:%02lld:%02lld.%03lld", (long long)h,
			       (long long)m, (long long)s, (long long)f)
		    : snprintf(out, cap, "%02lld:%02lld:%02lld", (long long)h, (long long)m,
			       (long long)s);
	return len > 0 && (size_t)len < cap ? (size_t)len : 0;
}

size_t xlsx_serial_text(double serial, unsigned kind, int date1904, char out[XLSX_TEXT_MAX])
{
	int64_t us;
	if (!kind || !isfinite(serial) || serial < 0 || serial >= 1e7)
		return 0;
	if (!(kind & XLSX_FMT_DATE)) {                  /* a time alone: any day's */
		int64_t ms = llround(serial * (double)MS_PER_DAY);
		if (!(kind & XLSX_FMT_ELAPSED))
			ms %= MS_PER_DAY;
		return time_text(ms, out, XLSX_TEXT_MAX);
	}
	if (calendar_from_excel_serial(serial, date1904, &us) != 0)
		return 0;
	/* Excel shows time to the millisecond; us is from 1970, maybe negative */
	int64_t ms = us >= 0 ? (us + 500) / 1000 : -((-us + 499) / 1000);
	int64_t days = ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY);
	int64_t tod = ms - days * MS_PER_DAY;
	int64_t y;
	unsigned mo, d;
	calendar_civil_from_days(days, &y, &mo, &d);
	if (y < 1 || y > 9999)
		return 0;
	int len = snprintf(out, XLSX_TEXT_MAX, "%04lld-%02u-%02u", (long long)y, mo, d);
	if (len <= 0 || len >= XLSX_TEXT_MAX)
		return 0;
	if (!(kind & XLSX_FMT_TIME))
		return (size_t)len;
	out[len++] = ' ';
	size_t t = time_text(tod, out + len, XLSX_TEXT_MAX - (size_t)len);
	return t ? (size_t)len + t : 0;
}

/* ---- cell references ---------------------------------------------------- */

int xlsx_cell_ref(const char *ref, uint32_t *col, uint32_t *row)
{
	uint64_t c = 0, r = 0;
	size_t i = 0, nl = 0, nd = 0;
	if (!ref)
		return -1;
	for (; ref[i]; i++, nl++) {
		int ch = (unsigned char)ref[i];
		if (ch >= 'a' && ch <= 'z')
			ch -= 32;
		if (ch < 'A' || ch > 'Z')
			break;
		if (nl == 3)
			return -1;
		c = c * 26 + (uint64_t)(ch - 'A' + 1);
	}
	for (; ref[i]; i++, nd++) {
		if (ref[i] < '0' || ref[i] > '9' || nd == 7)
			return -1;
		r = r * 10 + (uint64_t)(ref[i] - '0');
	}
	if (nl == 0 || nd == 0 || c > XLSX_MAX_COLS || r == 0 || r > XLSX_MAX_ROWS)
		return -1;
	*col = (uint32_t)(c - 1);
	*row = (uint32_t)(r - 1);
	return 0;
}

void xlsx_col_name(uint32_t col, char out[4])
{
	char tmp[4];
	size_t n = 0;
	uint64_t c = (uint64_t)col + 1;
	if (col >= XLSX_MAX_COLS) {
		memcpy(out, "?", 2);
		return;
	}
	while (c > 0 && n < 3) {
		c--;
		tmp[n++] = (char)('A' + c % 26);
		c /= 26;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}
