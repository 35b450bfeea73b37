/* glove.h — the GloVe word-vector file (.lhwv), memory-mapped read-only.
 *
 * Written once by scripts/glove_convert.py at bootstrap (layout there and in
 * docs/embeddings.md "The word-vector file"); read by the builtin embedder
 * (embed_builtin.c) and the ANN benchmark. glove_open validates every offset
 * and size against the file's length, every word end and every hash slot,
 * so a damaged or hostile file is a clear error, never a crash (as long as
 * nobody truncates the file while it is mapped: that would be SIGBUS, as for
 * any mmap'd file). After open, every call is read-only and thread-safe.
 */
#ifndef LH_SEARCH_GLOVE_H
#define LH_SEARCH_GLOVE_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct glove;

/* Map and validate `path`. NULL on failure with err: 503 "embedder_unavailable"
 * "the builtin embedder's word vectors could not be loaded" (the path and
 * the exact reason in err->detail, for the log). The caller owns the result:
 * glove_close. */
struct glove *glove_open(const char *path, struct lh_error *err);
/* The same validation over `len` bytes already in memory (the fuzz target,
 * tests): `bytes` must outlive the result and be 4-byte aligned; nothing is
 * copied. The detail names the file as "(memory)". */
struct glove *glove_view(const void *bytes, size_t len, struct lh_error *err);
/* Unmap (glove_open) and free; NULL is a no-op. */
void glove_close(struct glove *g);

uint32_t glove_dim(const struct glove *g);
/* Number of words; index 0 is the most frequent (frequency rank = index+1). */
uint32_t glove_count(const struct glove *g);
/* The index of `word` (len bytes, exact match: callers lower-case), or -1. */
int64_t glove_find(const struct glove *g, const char *word, size_t len);
/* The dim raw float32 values of word `index` (< glove_count), pointing into
 * the mapping: valid until glove_close. */
const float *glove_vector(const struct glove *g, uint32_t index);
/* The bytes of word `index` (not NUL-terminated), *len its length. */
const char *glove_word(const struct glove *g, uint32_t index, size_t *len);

/* FNV-1a 32-bit: the file's hash function (exposed for tests). */
uint32_t glove_hash(const char *word, size_t len);

#endif
