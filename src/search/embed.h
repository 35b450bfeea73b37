/* embed.h — embedders: text -> a unit vector (SPEC 12; docs/embeddings.md).
 *
 *   "builtin"        SIF-weighted GloVe 6B 100-d word vectors (embed_builtin.c,
 *                    ADR 0143): in-process, no network, deterministic bits.
 *   "ollama/<model>" a local Ollama server, POST <url>/api/embed
 *                    (embed_model.c, ADR 0144; vectors cached: embed_cache.h).
 *   "openai/<model>" an OpenAI-compatible server (OpenAI, llama.cpp's
 *                    llama-server, vLLM, ...), POST <url>/v1/embeddings.
 *
 * Used by queryd (POST /embed, POST /search, the index builder). An
 * embedder is thread-safe after open: many threads may call
 * embedder_embed on one embedder at once.
 */
#ifndef LH_SEARCH_EMBED_H
#define LH_SEARCH_EMBED_H
#include <stddef.h>

struct lh_error;
struct embedder;

struct embed_config {
	/* builtin: the .lhwv file; NULL or "" = LH_DEFAULT_GLOVE_PATH (the
	 * Makefile's deps/glove/glove-6b-100d.lhwv). [search] glove_path. */
	const char *glove_path;
	/* ollama/openai: the server's base URL, e.g. "http://127.0.0.1:11434"
	 * (no trailing path); [embed] url. Required for those ids. */
	const char *url;
	/* openai: sent as "Authorization: Bearer <key>" when non-empty;
	 * [embed] api_key. */
	const char *api_key;
	/* One request's time-out; 0 = LH_EMBED_DEFAULT_TIMEOUT_MS. */
	unsigned timeout_ms;
	/* Texts per request; 0 = LH_EMBED_BATCH. */
	unsigned batch;
	/* 1 = do not use the process-wide vector cache (embed_cache.h); the
	 * builtin embedder never does: it is faster than a lookup. */
	int no_cache;
};

/* Open the embedder named `id` ("builtin" | "ollama/<model>" |
 * "openai/<model>"; cfg may be NULL for builtin). A model-server embedder
 * asks its server to embed one short probe text here (through the cache, so
 * only the first open per process and server does), to learn the
 * dimension: after a successful open embedder_dim is known. NULL on
 * failure with err: 400 "unknown_embedder" for an id of no known form, 400
 * "embedder_not_configured" for a model server without [embed] url, 503
 * "embedder_unavailable" when the builtin's word-vector file cannot be
 * loaded, 502 "embedder_unavailable" when the model server cannot be
 * reached or answers wrongly. The caller owns the result: embedder_close. */
struct embedder *embedder_open(const char *id, const struct embed_config *cfg,
			       struct lh_error *err);
void embedder_close(struct embedder *e);

/* The id it was opened with (owned by e). */
const char *embedder_id(const struct embedder *e);
/* Its vectors' dimension (100 for builtin). */
unsigned embedder_dim(const struct embedder *e);

/* Embed n texts (texts[i], lens[i] bytes, need not be NUL-terminated nor
 * valid UTF-8: a model server is sent invalid bytes as U+FFFD) into
 * out[n * embedder_dim(e)]. Each vector is unit length, or all zeros for a
 * text with no known word (builtin) or an empty text. No common-component
 * removal here (that is per index: sif.h). n <= LH_EMBED_MAX_TEXTS, else
 * 400 "too_many_texts". 0, or -1 with err (a model server's failures: 502
 * "embedder_unavailable" in plain words, the server's own words in the
 * log detail). */
int embedder_embed(struct embedder *e, const char *const *texts, const size_t *lens, size_t n,
		   float *out, struct lh_error *err);

/* The builtin embedder's compiled-in word-vector file (the Makefile's
 * GLOVE_PATH, deps/glove/glove-6b-100d.lhwv), used when
 * embed_config.glove_path is empty. A static string. */
const char *embed_default_glove_path(void);

#endif
