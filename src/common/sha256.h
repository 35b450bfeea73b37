/* sha256.h — streaming SHA-256 over OpenSSL libcrypto (the only file that
 * includes OpenSSL). Used for object ETags, content digests and schema
 * fingerprints. */
#ifndef LH_SHA256_H
#define LH_SHA256_H
#include <stddef.h>

#define LH_SHA256_HEX_LEN 64

struct sha256;  /* opaque streaming context */

struct sha256 *sha256_create(void);
void sha256_update(struct sha256 *h, const void *data, size_t n);
/* Write the lowercase hex digest + NUL into hex[65] and destroy `h`. */
void sha256_finish_hex(struct sha256 *h, char hex[LH_SHA256_HEX_LEN + 1]);
/* Abandon a context without a digest (error paths). NULL is fine. */
void sha256_destroy(struct sha256 *h);
/* One-shot digest of a buffer. */
void sha256_hex(const void *data, size_t n, char hex[LH_SHA256_HEX_LEN + 1]);

#endif
