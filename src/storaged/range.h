/* range.h — a pure parser of storaged's request data: the HTTP Range header.
 * No I/O, no allocation: unit-tested and fuzzed directly
 * (tests/unit/test_storaged_key.c). The object-key rule, which catalogd
 * applies too, is common/keys.h.
 */
#ifndef LH_STORAGED_RANGE_H
#define LH_STORAGED_RANGE_H
#include <stddef.h>
#include <stdint.h>

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
