/* ann.h — approximate nearest-neighbour search (HNSW) over an index part's
 * vectors: the builder makes one graph per part, queryd serves it straight
 * from the part's bytes.
 *
 * One adapter, src/search/ann_usearch.c, implements this over usearch's C API
 * (ADR 0147); nothing else includes usearch.h. Vectors are unit length (or all
 * zeros), compared by inner product: distance = 1 - cosine. Keys are the
 * part's dense row ordinals 0..n-1. Bytes that reach ann_view come from
 * storage and are validated before any search walks them (hostile-safe).
 */
#ifndef LH_SEARCH_ANN_H
#define LH_SEARCH_ANN_H
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* HNSW's parameters. The served defaults and why: ADR 0147 and
 * bench/README.md "ANN on the GloVe vectors". */
struct ann_params {
	unsigned connectivity;      /* M: links per node per layer (2..ANN_MAX_CONNECTIVITY) */
	unsigned expansion_add;     /* ef_construction (>= 1) */
	unsigned expansion_search;  /* the default ef for searches that pass ef = 0 */
	unsigned threads;           /* build threads (0 = 1) */
	unsigned storage_f16;       /* 1: the graph keeps its vectors as f16 (half the
				     * bytes; queries stay f32); 0: f32 */
};

/* M = 16, ef_construction = 128: between the two settings measured on the
 * 341,479 GloVe word vectors (100 and 200: bench/README.md "ANN on the GloVe
 * vectors", ADR 0147); build time grows with ef_construction, and 500,000
 * rows must build in SPEC 11's budget on two cores. */
#define ANN_DEFAULT_CONNECTIVITY 16
#define ANN_DEFAULT_EXPANSION_ADD 128
/* ef = 64 when a search passes 0: recall@10 ~0.87 on the GloVe words, a
 * hard set (ef ~190 reaches 0.95 there). queryd passes its own per search
 * (SEARCH_EF 192 in src/queryd/search_http.c, ADR 0150). */
#define ANN_DEFAULT_EXPANSION_SEARCH 64
/* f16 storage for index parts: on the GloVe words the same recall at every
 * ef (within 0.005), 1.1-1.3x the queries per second, 0.78x the build CPU
 * and 64% of the bytes of f32 (bench/README.md "ANN on the GloVe vectors"). */
#define ANN_DEFAULT_STORAGE_F16 1
/* Refuse graphs whose M is larger (a hostile part would make every node huge). */
#define ANN_MAX_CONNECTIVITY 256
/* The largest dimension accepted (an OpenAI text-embedding-3-large is 3,072). */
#define ANN_MAX_DIM 8192
/* Searches that may run at once on one view; a further one waits for a slot. */
#define ANN_SEARCH_SLOTS 16

struct ann;

/* Build an HNSW index over n vectors of `dim` floats (vecs[n*dim], unit length
 * or zero; the caller keeps them), keys 0..n-1, with p's M, ef_construction and
 * threads, and append its serialized form (usearch's format, vectors included)
 * to `out` (the caller's buffer and cap: 413 "too_large" past it). n = 0 gives
 * a valid empty index. A build with threads > 1 is not bit-reproducible (the
 * graph depends on the order threads insert in); its recall is. Returns 0, or
 * -1 with err (400 on bad parameters, 500 when usearch fails). */
int ann_build(const float *vecs, size_t n, unsigned dim, const struct ann_params *p,
	      struct lh_buf *out, struct lh_error *err);

/* View a serialized index in place (no copy: `bytes`, e.g. an mmap'd part,
 * must outlive the view). Validates the whole structure first (header, metric,
 * scalar type, dim, every node's level, neighbour count and neighbour slots,
 * unique keys < n): bytes that are not a graph ann_build made for `dim` are
 * refused with 422 "bad_index", never walked. Returns NULL with err on failure;
 * free with ann_close. */
struct ann *ann_view(const void *bytes, size_t len, unsigned dim, struct lh_error *err);

/* Free a view (not the bytes). NULL is a no-op. */
void ann_close(struct ann *a);

/* The number of vectors in the view. */
size_t ann_size(const struct ann *a);

/* Called for each candidate key during a filtered search: non-zero keeps it. */
typedef int (*ann_allow_fn)(void *ctx, uint64_t key);

/* The k nearest keys to q (dim floats) with expansion `ef` (0 = the default
 * ANN_DEFAULT_EXPANSION_SEARCH; raised to k when smaller). `allow` (NULL = all)
 * filters candidates during the graph walk, not after it: the walk goes on
 * until ef allowed keys are found or the graph is exhausted, so when at least
 * k keys are allowed and reachable, k come back. keys[k]/dist[k] (OUT) get the
 * hits nearest first (distance = 1 - dot(q, v)), *nout (OUT) their count.
 * Thread-safe: any number of concurrent searches on one view (ANN_SEARCH_SLOTS
 * run at once, others wait). Returns 0, or -1 with err (500 when usearch
 * fails). */
int ann_search(const struct ann *a, const float *q, size_t k, unsigned ef, ann_allow_fn allow,
	       void *ctx, uint64_t *keys, float *dist, size_t *nout, struct lh_error *err);

#endif
