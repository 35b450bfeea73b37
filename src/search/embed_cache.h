/* embed_cache.h — the model-server embedders' vector cache: one per process,
 * shared by every embedder, bounded by LH_EMBED_CACHE_BYTES (least recently
 * used out first), in memory only. Keyed by SHA-256 over the embedder id,
 * the server URL and the text, so two servers answering to the same model
 * name never share vectors. Thread-safe (one mutex). */
#ifndef LH_SEARCH_EMBED_CACHE_H
#define LH_SEARCH_EMBED_CACHE_H
#include <stddef.h>
#include <stdint.h>

#define EMBED_CACHE_KEY_LEN 64   /* hex SHA-256 */

/* key[65] = hex SHA-256 of id NUL url NUL text. */
void embed_cache_key(const char *id, const char *url, const char *text, size_t len,
		     char key[EMBED_CACHE_KEY_LEN + 1]);
/* 1 and the vector copied into out if `key` is cached with dimension
 * *dim; *dim == 0 takes any dimension, sets *dim, and out must hold
 * LH_EMBED_MAX_DIM floats. Else 0. */
int embed_cache_get(const char *key, unsigned *dim, float *out);
/* Remember v[dim] under key (replacing an older one); evicts the least
 * recently used entries past the byte cap. A vector larger than the cap is
 * not kept. */
void embed_cache_put(const char *key, unsigned dim, const float *v);

struct embed_cache_stats {
	size_t entries, bytes, cap_bytes;
	uint64_t hits, misses;
};
void embed_cache_stats(struct embed_cache_stats *out);
/* Drop every entry and set the byte cap (0 = LH_EMBED_CACHE_BYTES): for
 * tests. */
void embed_cache_reset(size_t cap_bytes);

#endif
