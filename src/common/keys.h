/* keys.h — object keys, the names of storaged's objects: the one rule that
 * storaged applies to every request and catalogd to every key a manifest
 * names (docs/api.md, storaged: Keys), with the other name rules of
 * common/ (names.h: dataset names). Pure: unit-tested and fuzzed directly
 * (tests/unit/test_storaged_key.c, tests/fuzz/fuzz_key.c).
 */
#ifndef LH_KEYS_H
#define LH_KEYS_H
#include <stddef.h>

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

#endif
