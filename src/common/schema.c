/* schema.c — the schema vocabulary (schema.h, ADR 0131): type names and
 * their DuckDB and Arrow spellings, the fingerprint, and the
 * text form of bool, int64 and float64 values (dates and timestamps are
 * calendar.c's). The value parsers run once per value in inference and
 * again in conversion: they look at bytes, never allocate (but strtod's
 * copy for a float beyond the fast path), and need no regex.
 */
#include "common/schema.h"

#include "common/calendar.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- types ------------------------------------------------------------- */

struct type_info {
	const char *name;    /* manifests, API, fingerprint */
	const char *sql;     /* DuckDB */
	const char *arrow;   /* Arrow C data interface format */
};

/* Indexed by enum schema_type_id; decimal's strings are formats of p, s. */
static const struct type_info types[] = {
	[SCHEMA_BOOL] = { "bool", "BOOLEAN", "b" },
	[SCHEMA_INT64] = { "int64", "BIGINT", "l" },
	[SCHEMA_FLOAT64] = { "float64", "DOUBLE", "g" },
	[SCHEMA_DATE32] = { "date32", "DATE", "tdD" },
	[SCHEMA_TIMESTAMP] = { "timestamp[us]", "TIMESTAMP", "tsu:" },
	[SCHEMA_TIMESTAMPTZ] = { "timestamp[us, tz=UTC]", "TIMESTAMPTZ", "tsu:UTC" },
	[SCHEMA_UTF8] = { "utf8", "VARCHAR", "u" },
	[SCHEMA_DECIMAL] = { "decimal(%u,%u)", "DECIMAL(%u,%u)", "d:%u,%u" },
};
#define NTYPES (sizeof types / sizeof types[0])

enum spelling { NAME, SQL, ARROW };

static const char *spell(const struct schema_type *t, enum spelling which, char *buf)
{
	unsigned id = (unsigned)t->id < NTYPES ? (unsigned)t->id : SCHEMA_UTF8;
	const struct type_info *ti = &types[id];
	const char *s = which == NAME ? ti->name : which == SQL ? ti->sql : ti->arrow;
	if (id != SCHEMA_DECIMAL)
		return s;
	snprintf(buf, SCHEMA_TYPE_NAME_MAX, s, (unsigned)t->precision, (unsigned)t->scale);
	return buf;
}

const char *schema_type_name(const struct schema_type *t, char buf[SCHEMA_TYPE_NAME_MAX])
{
	return spell(t, NAME, buf);
}

const char *schema_type_sql(const struct schema_type *t, char buf[SCHEMA_TYPE_NAME_MAX])
{
	return spell(t, SQL, buf);
}

const char *schema_type_arrow(const struct schema_type *t, char buf[SCHEMA_TYPE_NAME_MAX])
{
	return spell(t, ARROW, buf);
}

/* A canonical unsigned number (no sign, no leading zero) at s[*i..n) up to
 * `stop`; 0 and *out, or -1. */
static int canon_uint(const char *s, size_t n, size_t *i, char stop, unsigned *out)
{
	size_t j = *i;
	unsigned v = 0;
	while (j < n && s[j] >= '0' && s[j] <= '9' && j - *i < 3)
		v = v * 10 + (unsigned)(s[j++] - '0');
	if (j == *i || j == n || s[j] != stop || (s[*i] == '0' && j - *i > 1))
		return -1;
	*out = v;
	*i = j + 1;
	return 0;
}

int schema_type_parse(const char *s, size_t n, struct schema_type *out)
{
	for (unsigned id = 0; id < SCHEMA_NINFERRED; id++) {
		size_t len = strlen(types[id].name);
		if (n == len && !memcmp(s, types[id].name, len)) {
			*out = schema_type_of((enum schema_type_id)id);
			return 0;
		}
	}
	unsigned p, sc;
	size_t i = 8;
	if (n < 12 || memcmp(s, "decimal(", 8) || canon_uint(s, n, &i, ',', &p) ||
	    canon_uint(s, n, &i, ')', &sc) || i != n || p < 1 ||
	    p > SCHEMA_DECIMAL_MAX_PRECISION || sc > p)
		return -1;
	out->id = SCHEMA_DECIMAL;
	out->precision = (uint8_t)p;
	out->scale = (uint8_t)sc;
	return 0;
}

int schema_type_stored(const struct schema_type *t)
{
	if (t->id == SCHEMA_DECIMAL)
		return t->precision >= 1 && t->precision <= SCHEMA_DECIMAL_MAX_PRECISION &&
		       t->scale <= t->precision;
	return (unsigned)t->id < SCHEMA_NINFERRED;
}

/* ---- casts (ADR 0170) ------------------------------------------------- */

int schema_type_casts_to(const struct schema_type *from, const struct schema_type *to)
{
	if (from->id == to->id && from->precision == to->precision && from->scale == to->scale)
		return 1;
	switch (to->id) {
	case SCHEMA_UTF8:
		return 1;
	case SCHEMA_FLOAT64:
		return from->id == SCHEMA_INT64;
	case SCHEMA_TIMESTAMP:
		return from->id == SCHEMA_DATE32;
	default:
		return 0;
	}
}

int schema_int64_fits_float64(int64_t v)
{
	if (v >= -(INT64_C(1) << 53) && v <= (INT64_C(1) << 53))
		return 1;
	double d = (double)v;
	/* 2^63 rounds from INT64_MAX and has no int64: not exact (and the
	 * conversion back would be undefined) */
	if (d >= 9223372036854775808.0)
		return 0;
	return (int64_t)d == v;
}

/* ---- fingerprint (docs/schema.md) ---------------------------------------------- */

void schema_fp_init(struct schema_fp *fp)
{
	fp->h = sha256_create();
}

void schema_fp_add(struct schema_fp *fp, const char *name, const char *type_name)
{
	sha256_update(fp->h, name, strlen(name));
	sha256_update(fp->h, "\x1f", 1);
	sha256_update(fp->h, type_name, strlen(type_name));
	sha256_update(fp->h, "\x1e", 1);
}

void schema_fp_finish(struct schema_fp *fp, char out[SCHEMA_FP_LEN + 1])
{
	char hex[LH_SHA256_HEX_LEN + 1];
	sha256_finish_hex(fp->h, hex);
	fp->h = NULL;
	memcpy(out, "sha256:", 7);
	memcpy(out + 7, hex, LH_SHA256_HEX_LEN + 1);
}

/* ---- values as text (docs/schema.md) ------------------------------------------- */

static inline int isdig(char c)
{
	return c >= '0' && c <= '9';
}

int schema_parse_bool(const char *p, size_t n, int *out)
{
	if (n == 4 && strncasecmp(p, "true", 4) == 0) {
		*out = 1;
		return 0;
	}
	if (n == 5 && strncasecmp(p, "false", 5) == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

int schema_parse_int64(const char *p, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (n && (p[0] == '+' || p[0] == '-')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (i == n || !isdig(p[i]))
		return -1;
	if (p[i] == '0' && n - i > 1)
		return -1;      /* leading zero: a code, not a number */
	uint64_t v = 0;
	const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (!isdig(p[i]))
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (lim - d) / 10)
			return -1;      /* out of range: text, not float */
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Shape check of the float64 grammar; *digits_exp estimates the decimal
 * exponent so that only values near the double range need strtod. */
static int float_shape(const char *p, size_t n, long *dexp)
{
	size_t i = 0, intd = 0;
	if (n && (p[0] == '+' || p[0] == '-'))
		i = 1;
	if (i == n || !isdig(p[i]))
		return -1;
	if (p[i] == '0' && i + 1 < n && isdig(p[i + 1]))
		return -1;
	while (i < n && isdig(p[i])) {
		i++;
		intd++;
	}
	int frac = 0, expo = 0;
	if (i < n && p[i] == '.') {
		size_t j = ++i;
		while (i < n && isdig(p[i]))
			i++;
		if (i == j)
			return -1;
		frac = 1;
	}
	long e = 0;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		int eneg = 0;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			eneg = p[i++] == '-';
		size_t j = i;
		while (i < n && isdig(p[i])) {
			if (e < 100000)
				e = e * 10 + (p[i] - '0');
			i++;
		}
		if (i == j)
			return -1;
		if (eneg)
			e = -e;
		expo = 1;
	}
	if (i != n)
		return -1;
	*dexp = (long)intd + e;
	return frac || expo ? 1 : 0;
}

static int strtod_n(const char *p, size_t n, double *out)
{
	char small[128];
	char *s = n < sizeof small ? small : xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	*out = strtod(s, NULL);
	if (s != small)
		free(s);
	return isfinite(*out) ? 0 : -1;
}

/* Clinger's fast path for a value float_shape() accepted: with at most 15
 * significant digits the decimal mantissa m is an exact double, and so is
 * 10^k for k <= 22, so m * 10^k or m / 10^k is one correctly rounded IEEE
 * operation: the same double strtod() returns. Returns -1 (use strtod) for
 * anything else. Money, rates and coordinates take this path. */
static int float_fast(const char *p, size_t n, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	size_t i = 0;
	int neg = 0, digits = 0;
	uint64_t m = 0;
	long scale = 0, e = 0;
	if (p[0] == '+' || p[0] == '-')
		neg = p[i++] == '-';
	for (; i < n && isdig(p[i]); i++) {
		if (m || p[i] != '0')
			digits++;
		m = m * 10 + (uint64_t)(p[i] - '0');
		if (digits > 15)
			return -1;
	}
	if (i < n && p[i] == '.') {
		for (i++; i < n && isdig(p[i]); i++) {
			if (m || p[i] != '0')
				digits++;
			m = m * 10 + (uint64_t)(p[i] - '0');
			scale++;
			if (digits > 15)
				return -1;
		}
	}
	if (i < n) {                     /* 'e' or 'E': the shape is checked */
		int eneg = 0;
		i++;
		if (p[i] == '+' || p[i] == '-')
			eneg = p[i++] == '-';
		for (; i < n; i++) {
			e = e * 10 + (p[i] - '0');
			if (e > 1000)
				return -1;
		}
		if (eneg)
			e = -e;
	}
	long k = e - scale;
	if (k < -22 || k > 22)
		return -1;
	double v = (double)m;
	v = k < 0 ? v / pow10[-k] : v * pow10[k];
	*out = neg ? -v : v;
	return 0;
}

int schema_parse_float64(const char *p, size_t n, double *out)
{
	long dexp = 0;
	int shape = float_shape(p, n, &dexp);
	if (shape < 0)
		return -1;
	if (shape == 0) {
		int64_t v;
		if (schema_parse_int64(p, n, &v))
			return -1;      /* out-of-range integers are text */
		*out = (double)v;
		return 0;
	}
	if (float_fast(p, n, out) == 0)
		return 0;
	return strtod_n(p, n, out);
}

unsigned schema_value_types(const char *p, size_t n)
{
	char c = p[0];
	if (c == 't' || c == 'T' || c == 'f' || c == 'F') {
		int b;
		return schema_parse_bool(p, n, &b) ? 0 : SCHEMA_MASK(SCHEMA_BOOL);
	}
	if (!isdig(c) && c != '+' && c != '-')
		return 0;
	/* a date has '-' at both; a float's one exponent sign is at most one */
	if (n >= 10 && p[4] == '-' && p[7] == '-' && isdig(c)) {
		if (n == 10) {
			int32_t d;
			return calendar_parse_date(p, n, &d) ? 0 : SCHEMA_MASK(SCHEMA_DATE32);
		}
		int64_t us;
		int z;
		if (calendar_parse_timestamp(p, n, &us, &z))
			return 0;
		return SCHEMA_MASK(z ? SCHEMA_TIMESTAMPTZ : SCHEMA_TIMESTAMP);
	}
	long dexp = 0;
	int shape = float_shape(p, n, &dexp);
	if (shape < 0)
		return 0;
	if (shape == 0) {
		int64_t v;
		if (schema_parse_int64(p, n, &v))
			return 0;
		return SCHEMA_MASK(SCHEMA_INT64) | SCHEMA_MASK(SCHEMA_FLOAT64);
	}
	if (dexp > 300 || dexp < -300) {
		double d;
		if (strtod_n(p, n, &d))
			return 0;       /* beyond the double range: text */
	}
	return SCHEMA_MASK(SCHEMA_FLOAT64);
}

/* ---- decimal values (declared types, ADR 0171) ------------------------- */

int schema_decimal_digits(const char *p, size_t n, unsigned *int_digits,
			  unsigned *frac_digits)
{
	const size_t cap = SCHEMA_DECIMAL_MAX_PRECISION + 1;
	size_t i = 0, fd = 0;
	if (n && (p[0] == '+' || p[0] == '-'))
		i = 1;
	if (i == n || !isdig(p[i]))
		return -1;
	while (i < n && p[i] == '0')
		i++;                                    /* leading zeros */
	size_t start = i;
	while (i < n && isdig(p[i]))
		i++;
	size_t id = i - start;
	if (i < n) {
		if (p[i] != '.')
			return -1;
		size_t f = ++i;
		while (i < n && isdig(p[i]))
			i++;
		if (i == f || i != n)
			return -1;
		size_t e = i;
		while (e > f && p[e - 1] == '0')
			e--;                            /* trailing zeros */
		fd = e - f;
	}
	*int_digits = (unsigned)(id > cap ? cap : id);
	*frac_digits = (unsigned)(fd > cap ? cap : fd);
	return 0;
}

int schema_parse_decimal(const char *p, size_t n, const struct schema_type *t, __int128 *out)
{
	unsigned id, fd, frac = 0;
	int in_frac = 0;
	if (t->id != SCHEMA_DECIMAL || t->scale > t->precision ||
	    schema_decimal_digits(p, n, &id, &fd) || id > (unsigned)(t->precision - t->scale) ||
	    fd > t->scale)
		return -1;
	/* at most p significant digits in all: |value| < 10^38 < 2^127 */
	__int128 v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '.') {
			in_frac = 1;
			continue;
		}
		if (!isdig(c))
			continue;                       /* the sign */
		if (in_frac) {
			if (frac == t->scale)
				break;                  /* only trailing zeros are left */
			frac++;
		}
		v = v * 10 + (c - '0');
	}
	for (; frac < t->scale; frac++)
		v *= 10;
	*out = p[0] == '-' ? -v : v;
	return 0;
}

size_t schema_format_decimal(__int128 v, unsigned scale, char buf[SCHEMA_DECIMAL_TEXT_MAX])
{
	char digits[SCHEMA_DECIMAL_TEXT_MAX];
	size_t nd = 0, len = 0;
	unsigned __int128 m = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v
				    : (unsigned __int128)v;
	if (scale > SCHEMA_DECIMAL_MAX_PRECISION)
		scale = SCHEMA_DECIMAL_MAX_PRECISION;
	do {                                            /* least significant first */
		digits[nd++] = (char)('0' + (unsigned)(m % 10));
		m /= 10;
	} while (m && nd < sizeof digits - 1);
	while (nd <= scale)
		digits[nd++] = '0';                     /* 0.05: a digit before the point */
	if (v < 0)
		buf[len++] = '-';
	while (nd > 0 && len < SCHEMA_DECIMAL_TEXT_MAX - 2) {
		if (nd == scale)
			buf[len++] = '.';
		buf[len++] = digits[--nd];
	}
	buf[len] = '\0';
	return len;
}
