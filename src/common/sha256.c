/* sha256.c — SHA-256 through OpenSSL's EVP interface (see sha256.h). */
#include "common/sha256.h"

#include "common/xmalloc.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

struct sha256 {
	EVP_MD_CTX *ctx;
};

struct sha256 *sha256_create(void)
{
	struct sha256 *h = xmalloc(sizeof *h);
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		fprintf(stderr, "lakehouse: OpenSSL SHA-256 unavailable\n");
		abort();
	}
	return h;
}

void sha256_update(struct sha256 *h, const void *data, size_t n)
{
	EVP_DigestUpdate(h->ctx, data, n);
}

void sha256_finish_hex(struct sha256 *h, char hex[LH_SHA256_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;
	EVP_DigestFinal_ex(h->ctx, md, &len);
	for (unsigned i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	sha256_destroy(h);
}

void sha256_destroy(struct sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void sha256_hex(const void *data, size_t n, char hex[LH_SHA256_HEX_LEN + 1])
{
	struct sha256 *h = sha256_create();
	sha256_update(h, data, n);
	sha256_finish_hex(h, hex);
}
