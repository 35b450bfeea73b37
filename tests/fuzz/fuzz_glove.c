/* fuzz_glove.c — libFuzzer target for the word-vector file reader
 * (src/search/glove.h, glove_view over bytes in memory).
 *
 * Invariants: a refused file is a 503 "embedder_unavailable" with a reason
 * in the detail; an accepted one has dim and count > 0, every word and
 * vector readable inside the input (ASan checks the reads), the index past
 * the end answers NULL, and glove_find of any word's bytes returns -1 or an
 * index whose word is exactly those bytes. Two views agree.
 */
#include "fuzz.h"

#include "common/error.h"
#include "search/glove.h"

#include <string.h>

volatile float fuzz_glove_sink;   /* keeps the vector reads */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* glove_view wants 4-byte alignment: an exact-size aligned copy */
	uint32_t *buf = malloc(size ? (size + 3) / 4 * 4 : 4);
	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, size);
	struct lh_error err = { 0 };
	struct glove *g = glove_view(buf, size, &err);
	if (!g) {
		FUZZ_CHECK(err.status == 503 && strcmp(err.code, "embedder_unavailable") == 0);
		FUZZ_CHECK(err.detail[0] != '\0');
		lh_error_clear(&err);
		free(buf);
		return 0;
	}
	uint32_t n = glove_count(g), dim = glove_dim(g);
	FUZZ_CHECK(n > 0 && dim > 0);
	float sink = 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t len;
		const char *w = glove_word(g, i, &len);
		const float *v = glove_vector(g, i);
		FUZZ_CHECK(w != NULL && v != NULL);
		FUZZ_CHECK((const uint8_t *)w >= (const uint8_t *)buf &&
			   (const uint8_t *)w + len <= (const uint8_t *)buf + size);
		sink += v[0] + v[dim - 1];
		int64_t f = glove_find(g, w, len);
		FUZZ_CHECK(f >= -1 && f < (int64_t)n);
		if (f >= 0) {
			size_t fl;
			const char *fw = glove_word(g, (uint32_t)f, &fl);
			FUZZ_CHECK(fl == len && memcmp(fw, w, len) == 0);
		}
	}
	fuzz_glove_sink = sink;
	size_t len;
	FUZZ_CHECK(glove_word(g, n, &len) == NULL && len == 0 && glove_vector(g, n) == NULL);
	struct glove *g2 = glove_view(buf, size, &err);
	FUZZ_CHECK(g2 && glove_count(g2) == n && glove_dim(g2) == dim);
	glove_close(g2);
	glove_close(g);
	free(buf);
	return 0;
}
