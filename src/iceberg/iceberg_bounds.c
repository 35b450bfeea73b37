/* iceberg_bounds.c — a data file's metrics for Iceberg (iceberg.h; ADR
 * 0232): column sizes, value and null counts, and lower/upper bounds in
 * Iceberg's single-value serialization (table spec, Appendix D): boolean
 * 0x00/0x01; int and date 4 bytes little-endian; long, timestamp and
 * timestamptz 8 bytes little-endian; double 8 bytes little-endian IEEE 754;
 * string its UTF-8 bytes; decimal the unscaled value as two's-complement
 * big-endian in the fewest bytes. Pure.
 *
 * Parquet's min_value/max_value (plain encoding) are the same bytes for
 * every type but decimal, so bounds are copied after checking the physical
 * type is the one the field's type expects; decimals are re-encoded. Row
 * groups are combined in the field type's order (iceberg_bound_cmp).
 */
#include "iceberg/iceberg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define BOUND_MAX 64   /* the widest non-string bound we make (a decimal is <= 16) */

static int64_t le64(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 7; i >= 0; i--)
		u = u << 8 | p[i];
	return (int64_t)u;
}

static int32_t le32(const unsigned char *p)
{
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			 (uint32_t)p[3] << 24);
}

static void put_le64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

static double dbl(const unsigned char *p)
{
	int64_t v = le64(p);
	double d;
	memcpy(&d, &v, sizeof d);
	return d;
}

/* Big-endian two's complement in the fewest bytes (at least one). */
static size_t be_minimal(const unsigned char *b, size_t n, unsigned char *out)
{
	size_t i = 0;
	while (i + 1 < n && ((b[i] == 0x00 && !(b[i + 1] & 0x80)) ||
			     (b[i] == 0xff && (b[i + 1] & 0x80))))
		i++;
	memcpy(out, b + i, n - i);
	return n - i;
}

static size_t be_of_int64(int64_t v, unsigned char *out)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
	return be_minimal(b, 8, out);
}

static int decimal_scale(const char *type, int *scale)
{
	const char *c = strchr(type, ',');
	if (strncmp(type, "decimal(", 8) || !c)
		return -1;
	*scale = (int)strtol(c + 1, NULL, 10);
	return 0;
}

/* One Parquet statistic value of `col` as field type `type` into out
 * (BOUND_MAX bytes, or n for strings: *heap set then). 0, or -1 when the
 * file's encoding is not the one the type expects. */
static int convert(const struct pq_column *col, const char *type, const unsigned char *v, size_t n,
		   unsigned char *out, size_t *on)
{
	int ph = col->physical;
	if (strcmp(type, "boolean") == 0) {
		if (ph != 0 || n < 1)
			return -1;
		out[0] = v[0] & 1;
		*on = 1;
		return 0;
	}
	if (strcmp(type, "long") == 0) {
		if (ph == 2 && n == 8) {
			memcpy(out, v, 8);
		} else if (ph == 1 && n == 4) {
			put_le64(out, le32(v));
		} else {
			return -1;
		}
		*on = 8;
		return 0;
	}
	if (strcmp(type, "double") == 0) {
		if (ph != 5 || n != 8 || isnan(dbl(v)))
			return -1;
		memcpy(out, v, 8);
		*on = 8;
		return 0;
	}
	if (strcmp(type, "date") == 0) {
		if (ph != 1 || n != 4)
			return -1;
		memcpy(out, v, 4);
		*on = 4;
		return 0;
	}
	if (strcmp(type, "timestamp") == 0 || strcmp(type, "timestamptz") == 0) {
		int micros = col->ts_unit == 2 || (col->ts_unit == 0 && col->converted == 10);
		if (ph != 2 || n != 8 || !micros)
			return -1;
		memcpy(out, v, 8);
		*on = 8;
		return 0;
	}
	int scale;
	if (decimal_scale(type, &scale) == 0) {
		if (col->scale != scale)
			return -1;
		if (ph == 1 && n == 4) {
			*on = be_of_int64(le32(v), out);
		} else if (ph == 2 && n == 8) {
			*on = be_of_int64(le64(v), out);
		} else if ((ph == 6 || ph == 7) && n >= 1 && n <= BOUND_MAX) {
			*on = be_minimal(v, n, out);
		} else {
			return -1;
		}
		return 0;
	}
	return -1;
}

static int cmp_be_signed(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	int sa = na && (a[0] & 0x80), sb = nb && (b[0] & 0x80);
	if (sa != sb)
		return sa ? -1 : 1;
	size_t n = na > nb ? na : nb;
	for (size_t i = 0; i < n; i++) {
		unsigned ca = i + na < n ? (sa ? 0xff : 0) : a[i + na - n];
		unsigned cb = i + nb < n ? (sb ? 0xff : 0) : b[i + nb - n];
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return 0;
}

int iceberg_bound_cmp(const char *type, const unsigned char *a, size_t na, const unsigned char *b,
		      size_t nb)
{
	if (strcmp(type, "long") == 0 || strcmp(type, "timestamp") == 0 ||
	    strcmp(type, "timestamptz") == 0) {
		int64_t x = le64(a), y = le64(b);
		return x < y ? -1 : x > y;
	}
	if (strcmp(type, "date") == 0 || strcmp(type, "int") == 0) {
		int32_t x = le32(a), y = le32(b);
		return x < y ? -1 : x > y;
	}
	if (strcmp(type, "double") == 0) {
		double x = dbl(a), y = dbl(b);
		return x < y ? -1 : x > y;
	}
	if (strcmp(type, "boolean") == 0)
		return (int)a[0] - (int)b[0];
	if (strncmp(type, "decimal(", 8) == 0)
		return cmp_be_signed(a, na, b, nb);
	size_t n = na < nb ? na : nb;       /* string, binary: unsigned bytes */
	int c = memcmp(a, b, n);
	if (c)
		return c < 0 ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

/* UTF-8: the length of the sequence starting with byte c (1 for a stray). */
static size_t u8len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/* The length of the well-formed code point at s[0..n) (its lead byte's
 * length when every continuation byte follows), else 1: a stray byte counts
 * as one. */
static size_t cp_len(const unsigned char *s, size_t n)
{
	size_t l = u8len(s[0]);
	if (l > n)
		return 1;
	for (size_t i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return l;
}

static uint32_t decode_cp(const unsigned char *p, size_t l);

/* 1 if s[0..n) is well-formed UTF-8: every byte >= 0x80 belongs to a lead
 * byte (0xc2-0xf4) with its continuation bytes, and the code point is in
 * the shortest form, not a surrogate and at most U+10FFFF. An overlong or
 * out-of-range sequence (E0 80 .., F0 80 .., F4 90 ..) would be
 * incremented into a code point that sorts below the real value, making a
 * truncated upper bound too low (review R19). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t off = 0; off < n;) {
		if (s[off] < 0x80) {
			off++;
			continue;
		}
		size_t l = cp_len(s + off, n - off);
		if (l == 1 || s[off] < 0xc2 || s[off] > 0xf4)
			return 0;
		uint32_t cp = decode_cp(s + off, l);
		if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		off += l;
	}
	return 1;
}

/* Byte length of the first `chars` code points of s[0..n). */
static size_t prefix_bytes(const unsigned char *s, size_t n, size_t chars)
{
	size_t off = 0;
	for (size_t k = 0; k < chars && off < n; k++)
		off += cp_len(s + off, n - off);
	return off;
}

size_t iceberg_truncate_lower(const unsigned char *s, size_t n, size_t chars, unsigned char *out)
{
	size_t m = prefix_bytes(s, n, chars);
	memcpy(out, s, m);
	return m;
}

static uint32_t decode_cp(const unsigned char *p, size_t l)
{
	if (l == 1)
		return p[0];
	uint32_t cp = p[0] & (0xff >> (l + 1));
	for (size_t i = 1; i < l; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

static size_t encode_cp(uint32_t cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t iceberg_truncate_upper(const unsigned char *s, size_t n, size_t chars, unsigned char *out)
{
	size_t m = prefix_bytes(s, n, chars);
	if (m == n) {
		memcpy(out, s, n);
		return n;
	}
	if (!utf8_ok(s, m))
		return (size_t)-1;   /* not text: no code point to increment */
	/* the starts of the kept code points, last first */
	size_t starts[64];
	size_t ns = 0;
	for (size_t off = 0; off < m && ns < sizeof starts / sizeof starts[0];) {
		starts[ns++] = off;
		off += cp_len(s + off, m - off);
	}
	while (ns > 0) {
		size_t at = starts[--ns];
		size_t l = u8len(s[at]);
		if (at + l > m)
			continue;
		uint32_t cp = decode_cp(s + at, l) + 1;
		if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xe000;
		if (cp > 0x10ffff)
			continue;              /* carry: drop it, bump the one before */
		memcpy(out, s, at);
		return at + encode_cp(cp, out + at);
	}
	return (size_t)-1;
}

static void set_bound(unsigned char **dst, size_t *nd, const unsigned char *v, size_t n)
{
	free(*dst);
	*dst = xmalloc(n ? n : 1);
	memcpy(*dst, v, n);
	*nd = n;
}

void iceberg_metric_of(const struct pq_column *col, const struct iceberg_field *field,
		       const char *file_lh_type, struct iceberg_metric *out)
{
	memset(out, 0, sizeof *out);
	out->field_id = field->id;
	out->column_size = out->value_count = out->null_count = -1;
	if (col->nested)
		return;
	int64_t size = 0, values = 0, nulls = 0;
	int nulls_known = 1;
	for (size_t i = 0; i < col->nchunks; i++) {
		size += col->chunks[i].compressed;
		values += col->chunks[i].values;
		nulls += col->chunks[i].nulls;
		nulls_known &= col->chunks[i].has_nulls;
	}
	out->column_size = size;
	out->value_count = values;
	out->null_count = nulls_known ? nulls : -1;
	/* bounds: only when the file holds the field's own type (note in the
	 * header; ADR 0231 for widened columns) */
	if (!file_lh_type || strcmp(file_lh_type, field->lh_type))
		return;
	int is_string = strcmp(field->type, "string") == 0;
	int lower_ok = 1, upper_ok = 1, any = 0;
	for (size_t i = 0; i < col->nchunks && (lower_ok || upper_ok); i++) {
		const struct pq_chunk *c = &col->chunks[i];
		if (c->has_nulls && c->nulls >= c->values)
			continue;                  /* no value in this row group */
		any = 1;
		for (int side = 0; side < 2; side++) {
			int *ok = side ? &upper_ok : &lower_ok;
			const unsigned char *v = side ? c->max : c->min;
			size_t n = side ? c->nmax : c->nmin;
			int has = side ? c->has_max && !c->inexact_max : c->has_min && !c->inexact_min;
			if (!*ok)
				continue;
			if (!has) {
				*ok = 0;
				continue;
			}
			unsigned char buf[BOUND_MAX];
			const unsigned char *conv = buf;
			size_t cn = 0;
			if (is_string) {
				if (col->physical != 6) {
					*ok = 0;
					continue;
				}
				conv = v;
				cn = n;
			} else if (convert(col, field->type, v, n, buf, &cn)) {
				*ok = 0;
				continue;
			}
			unsigned char **dst = side ? &out->upper : &out->lower;
			size_t *nd = side ? &out->nupper : &out->nlower;
			if (!*dst) {
				set_bound(dst, nd, conv, cn);
			} else {
				int c2 = iceberg_bound_cmp(field->type, conv, cn, *dst, *nd);
				if (side ? c2 > 0 : c2 < 0)
					set_bound(dst, nd, conv, cn);
			}
		}
	}
	if (!any || !lower_ok) {
		free(out->lower);
		out->lower = NULL;
		out->nlower = 0;
	}
	if (!any || !upper_ok) {
		free(out->upper);
		out->upper = NULL;
		out->nupper = 0;
	}
	if (is_string && out->lower) {
		out->nlower = iceberg_truncate_lower(out->lower, out->nlower,
						     ICEBERG_STRING_BOUND_CHARS, out->lower);
	}
	if (is_string && out->upper) {
		unsigned char *t = xmalloc(out->nupper + 4);
		size_t k = iceberg_truncate_upper(out->upper, out->nupper, ICEBERG_STRING_BOUND_CHARS, t);
		free(out->upper);
		out->upper = NULL;
		out->nupper = 0;
		if (k != (size_t)-1) {
			out->upper = t;
			out->nupper = k;
		} else {
			free(t);
		}
	}
}

void iceberg_metric_free(struct iceberg_metric *m)
{
	if (!m)
		return;
	free(m->lower);
	free(m->upper);
	m->lower = m->upper = NULL;
}

int iceberg_bound_from_text(const char *type, const char *text, unsigned char *out, size_t cap,
			    size_t *n)
{
	char *end;
	errno = 0;
	if (strcmp(type, "boolean") == 0) {
		if (cap < 1 || (strcmp(text, "true") && strcmp(text, "false")))
			return -1;
		out[0] = strcmp(text, "true") == 0;
		*n = 1;
		return 0;
	}
	if (strcmp(type, "string") == 0) {
		size_t l = strlen(text);
		if (l > cap)
			return -1;
		memcpy(out, text, l);
		*n = l;
		return 0;
	}
	if (strcmp(type, "double") == 0) {
		double d = strtod(text, &end);
		if (*end || errno || cap < 8)
			return -1;
		int64_t v;
		memcpy(&v, &d, 8);
		put_le64(out, v);
		*n = 8;
		return 0;
	}
	long long v = strtoll(text, &end, 10);
	if (*end || errno || end == text)
		return -1;
	if (strcmp(type, "int") == 0 || strcmp(type, "date") == 0) {
		if (cap < 4 || v < INT32_MIN || v > INT32_MAX)
			return -1;
		for (int i = 0; i < 4; i++)
			out[i] = (unsigned char)((uint64_t)v >> (8 * i));
		*n = 4;
		return 0;
	}
	if (strcmp(type, "long") == 0 || strcmp(type, "timestamp") == 0 ||
	    strcmp(type, "timestamptz") == 0) {
		if (cap < 8)
			return -1;
		put_le64(out, v);
		*n = 8;
		return 0;
	}
	if (strncmp(type, "decimal(", 8) == 0) {
		unsigned char t[8];
		size_t k = be_of_int64(v, t);
		if (k > cap)
			return -1;
		memcpy(out, t, k);
		*n = k;
		return 0;
	}
	return -1;
}
