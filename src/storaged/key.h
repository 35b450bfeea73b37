/* key.h — pure parsers of storaged's request data: object keys (SPEC 3) and
 * the HTTP Range header. No I/O, no allocation: unit-tested and fuzzed
 * directly (tests/unit/test_storaged_key.c). storage_key_validate() is also
 * used by catalogd to check the object keys a manifest names.
 */
#ifndef LH_STORAGED_KEY_H
#define LH_STORAGED_KEY_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* Validate an object key of `len` bytes (it may contain NUL bytes, which are
 * rejected). A valid key is 1..LH_KEY_MAX_BYTES bytes of well-formed UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF), made of
 * segments separated by '/', each segment non-empty and neither "." nor "..",
 * with no control character (U+0000..U+001F, U+007F, U+0080..U+009F); so no
 * leading or trailing '/' and no "//". Such a key can never name anything
 * outside the storage root.
 * Returns 0, or -1 with a 400 "bad_key" error whose message says why. */
int storage_key_validate(const char *key, size_t len, struct lh_error *err);

/* Result of storage_range_parse(). */
enum storage_range {
	STORAGE_RANGE_NONE = 0,       /* no usable Range: serve the whole object (200) */
	STORAGE_RANGE_PARTIAL = 1,    /* one satisfiable range: serve *off, *len (206) */
	STORAGE_RANGE_UNSATISFIABLE = -1, /* 416 with Content-Range: bytes SLASH-star-size */
};

/* Interpret a Range header (`header` may be NULL) against an object of
 * `size` bytes, per RFC 9110 14.2: "bytes=a-b", "bytes=a-" and "bytes=-n".
 * A header that is malformed, uses another unit, or asks for several ranges
 * is ignored (STORAGE_RANGE_NONE), which RFC 9110 allows. A range whose first
 * byte is at or past the end, or a zero-length suffix, is unsatisfiable.
 * On STORAGE_RANGE_PARTIAL, *off and *len (OUT) give the bytes to send. */
enum storage_range storage_range_parse(const char *header, uint64_t size,
				       uint64_t *off, uint64_t *len);

#endif
