/* embed_builtin.c — the "builtin" embedder: SIF-weighted averages of GloVe
 * 6B 100-d word vectors (ADR 0143; docs/embeddings.md).
 *
 * DESIGN NOTES
 * 1. A text's vector: tokenize() it (the same tokens BM25 sees, unstemmed:
 *    GloVe has "operators" as well as "operator"); for every token
 *    occurrence whose lower-cased word is in the vocabulary, add
 *    sif_weight(rank) * vector(word); L2-normalise the sum. (SIF's average
 *    divides by the token count, which the normalisation cancels, so it is
 *    not done.) A token cut at TOKEN_MAX_BYTES is no word and is skipped;
 *    so are unknown words. No known word: all zeros.
 * 2. Bit-reproducible: the sum is in double, in token order; the result is
 *    rounded to float once. No state is shared between calls but the
 *    read-only mapping, so any number of threads embed at once and get the
 *    same bits as one thread.
 * 3. One mapping per process and path: embedders opened on the same file
 *    share one struct glove (a refcounted process-wide slot under a mutex;
 *    the last embedder_close unmaps it). An embedder on a different path
 *    while the slot is taken gets its own mapping. The mapping itself is
 *    shared with every other process through the page cache.
 */
#include "search/embed_int.h"
#include "search/glove.h"
#include "search/sif.h"
#include "search/tokenize.h"

#include "common/error.h"
#include "common/limits.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifndef LH_DEFAULT_GLOVE_PATH
#define LH_DEFAULT_GLOVE_PATH "deps/glove/glove-6b-100d.lhwv"
#endif

struct builtin {
	struct embedder base;   /* first */
	struct glove *g;
	double h;               /* H_count, for sif_weight_h */
};

/* Design note 3: the process-wide shared mapping. */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char path[4096];
	struct glove *g;
	unsigned refs;
} shared;

static struct glove *glove_acquire(const char *path, struct lh_error *err)
{
	struct glove *g = NULL;
	pthread_mutex_lock(&shared_mu);
	if (shared.g && strcmp(shared.path, path) == 0) {
		shared.refs++;
		g = shared.g;
	} else {
		g = glove_open(path, err);
		if (g && !shared.g && strlen(path) < sizeof shared.path) {
			memcpy(shared.path, path, strlen(path) + 1);
			shared.g = g;
			shared.refs = 1;
		}
	}
	pthread_mutex_unlock(&shared_mu);
	return g;
}

static void glove_release(struct glove *g)
{
	pthread_mutex_lock(&shared_mu);
	if (g == shared.g) {
		if (--shared.refs == 0) {
			glove_close(shared.g);
			shared.g = NULL;
			shared.path[0] = '\0';
		}
	} else {
		glove_close(g);
	}
	pthread_mutex_unlock(&shared_mu);
}

struct sum_ctx {
	const struct builtin *b;
	double *acc;
	unsigned dim;
	size_t known;
};

static int add_token(void *ctx, const char *word, size_t len, size_t src_off, size_t src_len)
{
	struct sum_ctx *s = ctx;
	(void)src_off;
	if (src_len != len)
		return 0;                    /* cut at TOKEN_MAX_BYTES: not a word */
	int64_t idx = glove_find(s->b->g, word, len);
	if (idx < 0)
		return 0;
	double w = sif_weight_h((uint64_t)idx + 1, s->b->h);
	const float *v = glove_vector(s->b->g, (uint32_t)idx);
	for (unsigned j = 0; j < s->dim; j++)
		s->acc[j] += w * (double)v[j];
	s->known++;
	return 0;
}

static int builtin_embed(struct embedder *e, const char *const *texts, const size_t *lens,
			 size_t n, float *out, struct lh_error *err)
{
	struct builtin *b = (struct builtin *)e;
	unsigned dim = glove_dim(b->g);
	double *acc = malloc(sizeof *acc * dim);
	if (!acc)
		return lh_fail(err, 500, "out_of_memory", "out of memory while embedding");
	for (size_t i = 0; i < n; i++) {
		float *o = out + i * dim;
		struct sum_ctx s = { b, acc, dim, 0 };
		memset(acc, 0, sizeof *acc * dim);
		tokenize(texts[i], lens[i], add_token, &s);
		double norm = 0;
		for (unsigned j = 0; j < dim; j++)
			norm += acc[j] * acc[j];
		norm = sqrt(norm);
		if (s.known == 0 || !(norm > 0)) {
			memset(o, 0, sizeof *o * dim);
			continue;
		}
		for (unsigned j = 0; j < dim; j++)
			o[j] = (float)(acc[j] / norm);
	}
	free(acc);
	return 0;
}

static void builtin_close(struct embedder *e)
{
	struct builtin *b = (struct builtin *)e;
	glove_release(b->g);
	free(b);
}

static const struct embed_ops builtin_ops = { builtin_embed, builtin_close };

const char *embed_default_glove_path(void)
{
	return LH_DEFAULT_GLOVE_PATH;
}

struct embedder *embed_builtin_open(const struct embed_config *cfg, struct lh_error *err)
{
	const char *path = cfg->glove_path && cfg->glove_path[0] ? cfg->glove_path
								   : LH_DEFAULT_GLOVE_PATH;
	struct glove *g = glove_acquire(path, err);
	if (!g)
		return NULL;
	struct builtin *b = calloc(1, sizeof *b);
	if (!b) {
		glove_release(g);
		lh_fail(err, 500, "out_of_memory", "out of memory opening the builtin embedder");
		return NULL;
	}
	b->base.ops = &builtin_ops;
	atomic_init(&b->base.dim, glove_dim(g));
	b->g = g;
	b->h = sif_harmonic(glove_count(g));
	return &b->base;
}
