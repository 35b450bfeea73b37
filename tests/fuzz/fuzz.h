/* fuzz.h — what every libFuzzer driver in tests/fuzz/ shares.
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput() for one parser and
 * checks invariants with FUZZ_CHECK, which aborts (so libFuzzer records a
 * crash, and replay.c under ASan fails) whatever NDEBUG says. The same driver
 * is linked with clang's -fsanitize=fuzzer (make fuzz) or with replay.c
 * under gcc + ASan (make fuzz-replay, part of make test).
 */
#ifndef LH_FUZZ_H
#define LH_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",    \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/* A growing byte string the drivers record what a parser saw into, to
 * compare two runs over the same input (fuzz_csv.c, fuzz_json_reader.c,
 * fuzz_multipart.c). */
struct bytes {
	char *p;
	size_t n, cap;
};

static inline void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->n + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		FUZZ_CHECK(b->p != NULL);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

#endif
