/* fuzz_schema.c — libFuzzer target for the schema vocabulary's parsers
 * (src/common/schema.h) and the calendar's (src/common/calendar.h).
 *
 * The input is a candidate type name and value text. Invariants:
 *   - a type name that parses formats back to exactly the same bytes
 *     (canonical names only), its SQL and Arrow spellings are non-empty and
 *     fit SCHEMA_TYPE_NAME_MAX, and decimal's parameters are in range;
 *   - schema_value_types() agrees with every value parser (a bit is set
 *     exactly when that parser accepts), an int64 is also a float64, and a
 *     zoned timestamp sets only the zoned bit;
 *   - a date round-trips through the day count and prints back as the input;
 *   - an RFC 3339 time that parses, formatted and parsed again, gives the
 *     same milliseconds when it was a real date with seconds < 60;
 *   - every 8-byte double read from the input is a serial that converts
 *     back into the 0001-9999 range or is refused;
 *   - a decimal (ADR 0171): schema_decimal_digits() and
 *     schema_parse_decimal() agree at every (p,s) the digits decide, the
 *     value formats back to the input without its sign of zero, leading
 *     and trailing zeros, and a decimal is always also a float64 unless it
 *     has a leading zero (a code).
 */
#include "fuzz.h"

#include "common/calendar.h"
#include "common/schema.h"

#include <math.h>
#include <string.h>

static void check_type_name(const char *p, size_t n)
{
	struct schema_type t;
	char buf[SCHEMA_TYPE_NAME_MAX];
	if (schema_type_parse(p, n, &t) != 0)
		return;
	const char *name = schema_type_name(&t, buf);
	FUZZ_CHECK(strlen(name) == n && memcmp(name, p, n) == 0);
	FUZZ_CHECK(strlen(schema_type_sql(&t, buf)) > 0);
	FUZZ_CHECK(strlen(schema_type_arrow(&t, buf)) > 0);
	if (t.id == SCHEMA_DECIMAL)
		FUZZ_CHECK(t.precision >= 1 && t.precision <= SCHEMA_DECIMAL_MAX_PRECISION &&
			   t.scale <= t.precision && schema_type_stored(&t));
	else
		FUZZ_CHECK(t.id < SCHEMA_NINFERRED && schema_type_stored(&t));
}

static void check_value(const char *p, size_t n)
{
	if (n == 0)
		return;
	unsigned m = schema_value_types(p, n);
	int b, z;
	int64_t v, us;
	double d;
	int32_t day;
	FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_UTF8)));
	FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_BOOL)) == !!schema_parse_bool(p, n, &b));
	FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_INT64)) == !!schema_parse_int64(p, n, &v));
	FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_FLOAT64)) == !!schema_parse_float64(p, n, &d));
	FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_DATE32)) == !!calendar_parse_date(p, n, &day));
	if (m & SCHEMA_MASK(SCHEMA_INT64)) {
		FUZZ_CHECK((m & SCHEMA_MASK(SCHEMA_FLOAT64)) && d == (double)v);
		/* ADR 0170: an int64 fits a float64 column iff its double reads
		 * back as the same integer (2^63 has no int64) */
		int exact = d < 9223372036854775808.0 && d >= -9223372036854775808.0 &&
			    (int64_t)d == v;
		FUZZ_CHECK(schema_int64_fits_float64(v) == exact);
	}
	if (m & SCHEMA_MASK(SCHEMA_FLOAT64))
		FUZZ_CHECK(isfinite(d));
	int tr = calendar_parse_timestamp(p, n, &us, &z);
	unsigned ts = SCHEMA_MASK(SCHEMA_TIMESTAMP) | SCHEMA_MASK(SCHEMA_TIMESTAMPTZ);
	FUZZ_CHECK(!(m & ts) == !!tr);
	if (tr == 0)
		FUZZ_CHECK((m & ts) == SCHEMA_MASK(z ? SCHEMA_TIMESTAMPTZ : SCHEMA_TIMESTAMP));
	if (m & SCHEMA_MASK(SCHEMA_DATE32)) {
		int64_t y;
		unsigned mo, dd;
		char back[16];
		calendar_civil_from_days(day, &y, &mo, &dd);
		FUZZ_CHECK(y >= 1 && y <= 9999);
		FUZZ_CHECK(calendar_days_from_civil(y, mo, dd) == day);
		snprintf(back, sizeof back, "%04d-%02u-%02u", (int)y, mo, dd);
		FUZZ_CHECK(n == 10 && memcmp(back, p, 10) == 0);
	}
}

static void check_rfc3339(const char *s)
{
	int64_t ms, again;
	char out[CALENDAR_RFC3339_MAX];
	int32_t day;
	if (calendar_parse_rfc3339_ms(s, &ms) != 0)
		return;
	calendar_format_rfc3339_ms(ms, out);
	FUZZ_CHECK(calendar_parse_rfc3339_ms(out, &again) == 0 && again == ms);
	if (calendar_parse_date(s, 10, &day) == 0 && s[17] < '6')
		FUZZ_CHECK(memcmp(out, s, 10) == 0 && memcmp(out + 11, s + 11, 8) == 0);
}

static void check_excel(const uint8_t *data, size_t size)
{
	double serial;
	int64_t us;
	if (size < sizeof serial)
		return;
	memcpy(&serial, data, sizeof serial);
	for (int d1904 = 0; d1904 < 2; d1904++) {
		if (calendar_from_excel_serial(serial, d1904, &us) != 0)
			continue;
		int64_t days = us / CALENDAR_US_PER_DAY - (us % CALENDAR_US_PER_DAY < 0), y;
		unsigned m, d;
		calendar_civil_from_days(days, &y, &m, &d);
		FUZZ_CHECK(y >= 1899 && y <= 10000);
	}
}

/* The canonical text of a decimal at scale sc, as schema_format_decimal
 * writes it: no '+', no leading zeros but one before the point, exactly sc
 * digits after it, "-" only for a non-zero value. */
static void canonical_decimal(const char *p, size_t n, unsigned sc, char *out, size_t cap)
{
	size_t i = 0, k = 0;
	int neg = p[0] == '-';
	if (p[0] == '+' || p[0] == '-')
		i = 1;
	char ip[256] = "", fp[256] = "";
	size_t ni = 0, nf = 0;
	while (i < n && p[i] != '.' && ni < sizeof ip - 1)
		ip[ni++] = p[i++];
	if (i < n && p[i] == '.')
		i++;
	while (i < n && nf < sizeof fp - 1)
		fp[nf++] = p[i++];
	size_t lead = 0;
	while (lead + 1 < ni && ip[lead] == '0')
		lead++;
	int zero = 1;
	for (size_t j = lead; j < ni; j++)
		zero &= ip[j] == '0';
	for (size_t j = 0; j < nf && j < sc; j++)
		zero &= fp[j] == '0';
	if (neg && !zero)
		out[k++] = '-';
	for (size_t j = lead; j < ni && k < cap - 1; j++)
		out[k++] = ip[j];
	if (sc && k < cap - 1)
		out[k++] = '.';
	for (size_t j = 0; j < sc && k < cap - 1; j++)
		out[k++] = j < nf ? fp[j] : '0';
	out[k] = '\0';
}

static void check_decimal(const char *p, size_t n)
{
	unsigned id, fd;
	__int128 v;
	if (schema_decimal_digits(p, n, &id, &fd) != 0) {
		struct schema_type any = { SCHEMA_DECIMAL, 38, 19 };
		FUZZ_CHECK(schema_parse_decimal(p, n, &any, &v) != 0);
		return;
	}
	FUZZ_CHECK(id <= SCHEMA_DECIMAL_MAX_PRECISION + 1 && fd <= SCHEMA_DECIMAL_MAX_PRECISION + 1);
	const char *d = p + (p[0] == '+' || p[0] == '-');
	size_t nd = n - (size_t)(d - p);
	int leading_zero = nd > 1 && d[0] == '0' && d[1] >= '0' && d[1] <= '9';
	/* the float64 grammar: no leading zero, and an integer within int64 */
	if (!leading_zero && n < 300 && (memchr(p, '.', n) || id <= 18))
		FUZZ_CHECK(schema_value_types(p, n) & SCHEMA_MASK(SCHEMA_FLOAT64));
	for (unsigned prec = 1; prec <= SCHEMA_DECIMAL_MAX_PRECISION; prec += 7)
		for (unsigned sc = 0; sc <= prec; sc += 3) {
			struct schema_type t = { SCHEMA_DECIMAL, (uint8_t)prec, (uint8_t)sc };
			int fits = id <= prec - sc && fd <= sc;
			FUZZ_CHECK((schema_parse_decimal(p, n, &t, &v) == 0) == fits);
			if (!fits || n > 200)
				continue;
			char out[SCHEMA_DECIMAL_TEXT_MAX], want[600];
			size_t len = schema_format_decimal(v, sc, out);
			canonical_decimal(p, n, sc, want, sizeof want);
			FUZZ_CHECK(len == strlen(out) && strcmp(out, want) == 0);
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	check_type_name(s, size);
	check_value(s, size);
	check_decimal(s, size);
	if (!memchr(s, '\0', size))
		check_rfc3339(s);
	check_excel(data, size);
	free(s);
	return 0;
}
