/* embed_int.h — what embed.c (the dispatcher) and each embedder
 * implementation share; nothing outside src/search/embed*.c includes it. */
#ifndef LH_SEARCH_EMBED_INT_H
#define LH_SEARCH_EMBED_INT_H
#include "search/embed.h"

#include <stdatomic.h>

/* "ollama/" or "openai/" + a model name of at most this many bytes. */
#define EMBED_MODEL_NAME_MAX 128
#define EMBED_ID_MAX (7 + EMBED_MODEL_NAME_MAX)

struct embed_ops {
	int (*embed)(struct embedder *e, const char *const *texts, const size_t *lens, size_t n,
		     float *out, struct lh_error *err);
	void (*close)(struct embedder *e);
};

/* The common head of every embedder (the first member of each
 * implementation's struct). dim is atomic: a model server's is set by its
 * first answer while other threads may read it. */
struct embedder {
	const struct embed_ops *ops;
	char id[EMBED_ID_MAX + 1];
	atomic_uint dim;
};

struct embedder *embed_builtin_open(const struct embed_config *cfg, struct lh_error *err);
/* id: the whole id ("ollama/<model>" or "openai/<model>", model name
 * already checked); sets e->id itself (the probe's cache key needs it). */
struct embedder *embed_model_open(const char *id, const struct embed_config *cfg,
				  struct lh_error *err);

#endif
