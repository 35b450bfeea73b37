/* keys.c — the object-key rule (see keys.h): a pure function over
 * untrusted bytes, no I/O, no allocation, every byte looked at once, every
 * length checked before it is used. The UTF-8 rules are RFC 3629 (the
 * well-formed byte sequences of Unicode 15, table 3-7).
 */
#include "common/keys.h"

#include "common/error.h"
#include "common/limits.h"

#include <stdint.h>

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
