/* fuzz_key.c — libFuzzer target for object key validation
 * (src/common/keys.h) and storaged's Range parsing (src/storaged/range.h).
 *
 * The input is a candidate object key. Invariants when the key is accepted
 * (checked here independently of keys.c): 1..LH_KEY_MAX_BYTES bytes, no NUL,
 * well-formed UTF-8 (no overlongs, surrogates, or code points above
 * U+10FFFF), no control character, no "." or ".." segment, no empty segment
 * (so no leading/trailing '/' or "//"). A rejected key is a 400 "bad_key".
 * The same bytes, NUL-terminated, are a Range header against a few object
 * sizes: a partial range always lies inside the object.
 */
#include "fuzz.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/keys.h"
#include "storaged/range.h"

#include <string.h>

/* Independent UTF-8 decoder: decode greedily, then reject by value. Returns
 * the sequence length at s[0..n) and the code point, or 0 if ill-formed. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v, min;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static void check_accepted_key(const unsigned char *s, size_t n)
{
	FUZZ_CHECK(n >= 1 && n <= LH_KEY_MAX_BYTES);
	FUZZ_CHECK(s[0] != '/' && s[n - 1] != '/');
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t len = decode(s + i, n - i, &cp);
		FUZZ_CHECK(len > 0);
		FUZZ_CHECK(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f));
		i += len;
	}
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		size_t seg = i - start;
		FUZZ_CHECK(seg > 0);
		FUZZ_CHECK(!(seg == 1 && s[start] == '.'));
		FUZZ_CHECK(!(seg == 2 && s[start] == '.' && s[start + 1] == '.'));
		start = i + 1;
	}
}

static void check_range(const char *header)
{
	static const uint64_t sizes[] = { 0, 1, 2, 100, 1u << 20, UINT64_MAX };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint64_t off = 7, len = 7;
		enum storage_range r = storage_range_parse(header, sizes[i], &off, &len);
		FUZZ_CHECK(r == STORAGE_RANGE_NONE || r == STORAGE_RANGE_PARTIAL ||
			   r == STORAGE_RANGE_UNSATISFIABLE);
		if (r == STORAGE_RANGE_PARTIAL) {
			FUZZ_CHECK(len >= 1);
			FUZZ_CHECK(off < sizes[i]);
			FUZZ_CHECK(len <= sizes[i] - off);
		} else {
			FUZZ_CHECK(off == 7 && len == 7);  /* OUT only on PARTIAL */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_error err = { 0 };
	int rc = storage_key_validate((const char *)data, size, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(err.status == 0);
		check_accepted_key(data, size);
	} else {
		FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_key") == 0);
		FUZZ_CHECK(err.msg[0] != '\0');
	}
	lh_error_clear(&err);

	char *header = malloc(size + 1);
	FUZZ_CHECK(header != NULL);
	memcpy(header, data, size);
	header[size] = '\0';
	check_range(header);
	free(header);
	return 0;
}
