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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",    \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

#endif
