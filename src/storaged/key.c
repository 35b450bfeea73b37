/* key.c — object key validation and Range header parsing for storaged.
 *
 * Both are pure functions over untrusted request bytes (see key.h): no I/O,
 * no allocation, every byte looked at once, every length checked before it
 * is used. The key rules are SPEC 3; the UTF-8 rules are RFC 3629 (the
 * well-formed byte sequences of Unicode 15, table 3-7).
 */
#include "storaged/key.h"

#include "common/error.h"
#include "common/limits.h"

#include <string.h>
#include <strings.h>

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 if there is none.
 * Sets *cp to the code point. */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;      /* no overlong 3-byte forms */
		else if (c == 0xed)
			hi = 0x9f;      /* no surrogates U+D800..U+DFFF */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;      /* no overlong 4-byte forms */
		else if (c == 0xf4)
			hi = 0x8f;      /* nothing above U+10FFFF */
	} else {
		return 0;               /* continuation byte, C0, C1, F5..FF */
	}
	if (n < need + 1)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		unsigned char b = s[i];
		if (b < lo || b > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
		v = (v << 6) | (b & 0x3f);
	}
	*cp = v;
	return need + 1;
}

static int is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f);
}

int storage_key_validate(const char *key, size_t len, struct lh_error *err)
{
	const unsigned char *s = (const unsigned char *)key;
	size_t seg_start = 0;

	if (!key || len == 0)
		return lh_fail(err, 400, "bad_key", "key is empty");
	if (len > LH_KEY_MAX_BYTES)
		return lh_fail(err, 400, "bad_key", "key is %zu bytes long; the limit is %d",
			       len, LH_KEY_MAX_BYTES);
	if (s[0] == '/')
		return lh_fail(err, 400, "bad_key", "key starts with '/'");

	for (size_t i = 0; i <= len;) {
		if (i == len || s[i] == '/') {
			size_t seg_len = i - seg_start;
			if (seg_len == 0)
				return lh_fail(err, 400, "bad_key",
					       "key has an empty segment at byte %zu", i);
			if ((seg_len == 1 && s[seg_start] == '.') ||
			    (seg_len == 2 && s[seg_start] == '.' && s[seg_start + 1] == '.'))
				return lh_fail(err, 400, "bad_key",
					       "key has a \".\" or \"..\" segment at byte %zu",
					       seg_start);
			seg_start = i + 1;
			i++;
			continue;
		}
		uint32_t cp = 0;
		size_t n = utf8_sequence(s + i, len - i, &cp);
		if (n == 0)
			return lh_fail(err, 400, "bad_key",
				       "key is not valid UTF-8 at byte %zu", i);
		if (is_control(cp))
			return lh_fail(err, 400, "bad_key",
				       "key contains control character U+%04X at byte %zu",
				       (unsigned)cp, i);
		i += n;
	}
	return 0;
}

/* Skip optional whitespace (RFC 9110 OWS: spaces and tabs). */
static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parse 1+ decimal digits at *pp. Returns 1 with *out (saturated at
 * UINT64_MAX on overflow) and *pp advanced, or 0 if there is no digit. */
static int parse_digits(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + d;
	}
	*out = v;
	*pp = p;
	return 1;
}

enum storage_range storage_range_parse(const char *header, uint64_t size,
				       uint64_t *off, uint64_t *len)
{
	const char *p;
	uint64_t first = 0, last = UINT64_MAX;
	int has_first, has_last;

	if (!header)
		return STORAGE_RANGE_NONE;
	p = skip_ows(header);
	if (strncasecmp(p, "bytes", 5) != 0)
		return STORAGE_RANGE_NONE;
	p = skip_ows(p + 5);
	if (*p != '=')
		return STORAGE_RANGE_NONE;
	p = skip_ows(p + 1);

	has_first = parse_digits(&p, &first);
	if (*p != '-')
		return STORAGE_RANGE_NONE;
	p++;
	has_last = parse_digits(&p, &last);
	p = skip_ows(p);
	if (*p != '\0')
		return STORAGE_RANGE_NONE;  /* several ranges, or junk: ignore */
	if (!has_first && !has_last)
		return STORAGE_RANGE_NONE;

	if (!has_first) {               /* suffix: the last `last` bytes */
		if (last == 0 || size == 0)
			return STORAGE_RANGE_UNSATISFIABLE;
		if (last > size)
			last = size;
		*off = size - last;
		*len = last;
		return STORAGE_RANGE_PARTIAL;
	}
	if (has_last && last < first)
		return STORAGE_RANGE_NONE;  /* invalid range-spec: ignore */
	if (first >= size)
		return STORAGE_RANGE_UNSATISFIABLE;
	if (!has_last || last >= size)
		last = size - 1;
	*off = first;
	*len = last - first + 1;
	return STORAGE_RANGE_PARTIAL;
}
