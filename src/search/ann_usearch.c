/* ann_usearch.c — ann.h over usearch's C API (usearch 2.26.2 from npm, ADR
 * 0147): the only file that includes usearch.h.
 *
 * DESIGN NOTES
 * 1. Metric: inner product (usearch_metric_ip_k, distance 1 - dot), vectors
 *    stored as f32 or, with storage_f16, f16 (usearch casts each f32 query).
 *    The vectors are unit length (or zero), so this is 1 - cosine without
 *    usearch's per-pair norms. Keys are the row ordinals 0..n-1.
 * 2. Build (ann_build): usearch_init, usearch_reserve(n), one usearch context
 *    per build thread (usearch_change_threads_add), `threads` pthreads adding
 *    keys t, t + T, t + 2T, ...; the first usearch error wins and fails the
 *    build. Then usearch_save_buffer straight into usearch_serialized_length
 *    bytes made room for at the end of the caller's lh_buf (lh_buf_extend: no
 *    second copy of the graph at the build's peak).
 * 3. View (ann_view): the bytes come from storage, and usearch's view only
 *    checks that sizes fit the buffer, not that the graph points inside it
 *    (a neighbour slot, the entry slot or a level out of range would be read
 *    out of bounds during a search). ann_validate walks the whole layout first
 *    (header, vector matrix, every node's level, count and neighbours, unique
 *    keys < n) and refuses anything else; only then usearch_view_buffer maps it
 *    without copying.
 * 4. Concurrency: usearch's search takes one of its per-thread contexts and
 *    FAILS ("Reserve capacity ahead of searches!") when none is free, so the
 *    view reserves ANN_SEARCH_SLOTS contexts and ann_search waits on a counting
 *    semaphore (slot_mu/slot_cv) for one. The C API has no per-search ef:
 *    usearch_change_expansion_search writes the index's config, which
 *    searches read. So searches hold ef_lock shared, and a search that needs a
 *    different ef takes it exclusively to change it (rare: queryd serves one
 *    ef). The struct's locks are mutable state behind a const view.
 */
#include "search/ann.h"

#include "common/xmalloc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <usearch.h>

struct ann {
	usearch_index_t index;
	unsigned dim;
	size_t n;
	pthread_rwlock_t ef_lock;   /* Note 4: guards usearch's expansion_search */
	size_t ef;                  /* the expansion usearch's config holds now */
	pthread_mutex_t slot_mu;    /* Note 4: the search-context semaphore */
	pthread_cond_t slot_cv;
	unsigned slots_free;
};

/* ---- build (Note 2) --------------------------------------------------------- */

struct build_job {
	usearch_index_t index;
	const float *vecs;
	size_t n;
	unsigned dim;
	unsigned threads;
	unsigned id;
	pthread_mutex_t *mu;
	usearch_error_t *first_error;  /* shared: the first failure, under mu */
};

static void *build_thread(void *arg)
{
	struct build_job *j = arg;
	for (size_t i = j->id; i < j->n; i += j->threads) {
		usearch_error_t uerr = NULL;
		usearch_add(j->index, (usearch_key_t)i, j->vecs + i * j->dim, usearch_scalar_f32_k, &uerr);
		if (uerr) {
			pthread_mutex_lock(j->mu);
			if (!*j->first_error)
				*j->first_error = uerr;
			pthread_mutex_unlock(j->mu);
			return NULL;
		}
		if ((i & 1023) == 0) {
			bool stop;
			pthread_mutex_lock(j->mu);
			stop = *j->first_error != NULL;
			pthread_mutex_unlock(j->mu);
			if (stop)
				return NULL;
		}
	}
	return NULL;
}

static int usearch_failed(struct lh_error *err, const char *what, usearch_error_t uerr)
{
	lh_fail(err, 500, "ann_failed", "the vector index could not be %s", what);
	lh_error_detail(err, "usearch: %s", uerr ? uerr : "unknown error");
	return -1;
}

int ann_build(const float *vecs, size_t n, unsigned dim, const struct ann_params *p,
	      struct lh_buf *out, struct lh_error *err)
{
	usearch_index_t index = NULL;
	usearch_error_t uerr = NULL;
	pthread_t *tids = NULL;
	struct build_job *jobs = NULL;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	unsigned started = 0;
	int rc = -1;

	if (dim == 0 || dim > ANN_MAX_DIM)
		return lh_fail(err, 400, "bad_dimension", "a vector index needs a dimension from 1 to %u, not %u",
			       ANN_MAX_DIM, dim);
	if (p->connectivity < 2 || p->connectivity > ANN_MAX_CONNECTIVITY)
		return lh_fail(err, 400, "bad_ann_params", "HNSW connectivity must be from 2 to %u, not %u",
			       ANN_MAX_CONNECTIVITY, p->connectivity);
	if (p->expansion_add == 0)
		return lh_fail(err, 400, "bad_ann_params", "HNSW ef_construction must be at least 1");
	if (n >= UINT32_MAX)  /* usearch's slots are u32 */
		return lh_fail(err, 400, "too_large", "a vector index holds fewer than %u vectors", UINT32_MAX);
	if (n > 0 && !vecs)
		return lh_fail(err, 400, "bad_request", "no vectors given");

	usearch_init_options_t opts;
	memset(&opts, 0, sizeof opts);
	opts.metric_kind = usearch_metric_ip_k;
	opts.metric = NULL;
	opts.quantization = p->storage_f16 ? usearch_scalar_f16_k : usearch_scalar_f32_k;
	opts.dimensions = dim;
	opts.connectivity = p->connectivity;
	opts.expansion_add = p->expansion_add;
	opts.expansion_search = p->expansion_search ? p->expansion_search : ANN_DEFAULT_EXPANSION_SEARCH;
	opts.multi = false;
	index = usearch_init(&opts, &uerr);
	if (!index || uerr) {
		usearch_failed(err, "created", uerr);
		goto out;
	}
	unsigned threads = p->threads ? p->threads : 1;
	if (threads > 64)
		threads = 64;
	if ((size_t)threads > n)
		threads = n ? (unsigned)n : 1;
	usearch_reserve(index, n ? n : 1, &uerr);
	if (!uerr)
		usearch_change_threads_add(index, threads, &uerr);
	if (uerr) {
		usearch_failed(err, "built (out of memory)", uerr);
		goto out;
	}

	usearch_error_t first = NULL;
	tids = xcalloc(threads, sizeof *tids);
	jobs = xcalloc(threads, sizeof *jobs);
	for (unsigned t = 0; t < threads; t++) {
		jobs[t] = (struct build_job){ index, vecs, n, dim, threads, t, &mu, &first };
		if (t == threads - 1) {
			build_thread(&jobs[t]);   /* the caller's thread is the last builder */
			break;
		}
		if (pthread_create(&tids[t], NULL, build_thread, &jobs[t]))
			break;
		started++;
	}
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	if (first) {
		usearch_failed(err, "built", first);
		goto out;
	}
	if (started + 1 < threads && n > 0) {
		/* a thread could not start: its keys are missing */
		lh_fail(err, 500, "ann_failed", "the vector index could not be built (no thread)");
		goto out;
	}
	if (usearch_size(index, &uerr) != n || uerr) {
		usearch_failed(err, "built (some vectors are missing)", uerr);
		goto out;
	}

	size_t len = usearch_serialized_length(index, &uerr);
	if (uerr || len == 0) {
		usearch_failed(err, "serialized", uerr);
		goto out;
	}
	size_t old_len = out->len;
	char *dst = lh_buf_extend(out, len);   /* serialized in place: no copy */
	if (!dst) {
		lh_fail(err, 413, "too_large", "the vector index (%zu bytes) exceeds its cap", len);
		goto out;
	}
	usearch_save_buffer(index, dst, len, &uerr);
	if (uerr) {
		out->len = old_len;
		out->data[old_len] = '\0';
		usearch_failed(err, "serialized", uerr);
		goto out;
	}
	rc = 0;
out:
	free(tids);
	free(jobs);
	if (index)
		usearch_free(index, &uerr);
	return rc;
}

/* ---- validation (Note 3) --------------------------------------------------- */

/* usearch 2.26's serialized dense index (index_dense.hpp save/view,
 * index.hpp view), little-endian:
 *   u32 rows, u32 cols; rows * cols bytes of vectors (slot order)
 *   64-byte head: "usearch", u16 major, minor, patch, u8 metric, u8 scalar,
 *     u8 key kind, u8 slot kind, u64 present, u64 deleted, u64 dims, u8 multi
 *   graph header: u64 size, connectivity, connectivity_base, max_level, entry_slot
 *   i16 levels[size]
 *   nodes in slot order: u64 key, i16 level, then level 0's u32 count +
 *     connectivity_base u32 slots, and for each level 1..level a u32 count +
 *     connectivity u32 slots. */
#define US_HEAD_BYTES 64
#define US_GRAPH_HEADER_BYTES 40
#define US_METRIC_IP 'i'
#define US_SCALAR_F32 11
#define US_SCALAR_F16 12
#define US_SCALAR_U64 14
#define US_SCALAR_U32 15
#define US_MAX_LEVEL 64   /* 16^64 nodes: far past any real graph */

static uint64_t rd_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int rd_i16(const unsigned char *p)
{
	return (int16_t)(uint16_t)((unsigned)p[0] | (unsigned)p[1] << 8);
}

static int damaged(struct lh_error *err, const char *what)
{
	return lh_fail(err, 502, "bad_index_part", "an index part's vector graph is damaged: %s", what);
}

/* 0 if `b[0..len)` is a graph ann_build could have made for `dim`; else -1
 * with err naming the first thing wrong. *n (OUT) is its size. */
static int ann_validate(const unsigned char *b, size_t len, unsigned dim, size_t *nout,
			struct lh_error *err)
{
	uint64_t *seen = NULL;
	int rc = -1;
	size_t off = 0;

	if (len < 8)
		return damaged(err, "it is too short");
	uint64_t rows = rd_u32(b), cols = rd_u32(b + 4);
	off = 8;
	if (cols != (uint64_t)dim * 4 && cols != (uint64_t)dim * 2)
		return damaged(err, "its vectors do not have the index's dimension");
	if (rows >= UINT32_MAX || rows * cols > len - off)
		return damaged(err, "its vectors do not fit");
	off += rows * cols;
	if (len - off < US_HEAD_BYTES)
		return damaged(err, "it has no header");
	const unsigned char *h = b + off;
	if (memcmp(h, "usearch", 7) != 0)
		return damaged(err, "it is not a usearch index");
	if (h[13] != US_METRIC_IP || h[14] != (cols == (uint64_t)dim * 4 ? US_SCALAR_F32 : US_SCALAR_F16) ||
	    h[15] != US_SCALAR_U64 || h[16] != US_SCALAR_U32)
		return damaged(err, "its metric or types are not the ones ann_build uses");
	if (rd_u64(h + 17) != rows || rd_u64(h + 25) != 0 || rd_u64(h + 33) != dim || h[41] != 0)
		return damaged(err, "its header does not match its vectors");
	off += US_HEAD_BYTES;

	if (len - off < US_GRAPH_HEADER_BYTES)
		return damaged(err, "it has no graph header");
	const unsigned char *g = b + off;
	uint64_t size = rd_u64(g), conn = rd_u64(g + 8), conn0 = rd_u64(g + 16);
	uint64_t max_level = rd_u64(g + 24), entry = rd_u64(g + 32);
	off += US_GRAPH_HEADER_BYTES;
	if (size != rows)
		return damaged(err, "its graph and its vectors differ in size");
	if (size == 0) {
		*nout = 0;
		return 0;
	}
	if (conn < 2 || conn > ANN_MAX_CONNECTIVITY || conn0 < conn || conn0 > 2 * ANN_MAX_CONNECTIVITY)
		return damaged(err, "its connectivity is out of range");
	if (max_level >= US_MAX_LEVEL || entry >= size)
		return damaged(err, "its entry point is out of range");
	if (size * 2 > len - off)
		return damaged(err, "its node levels do not fit");
	const unsigned char *levels = b + off;
	off += size * 2;

	size_t base_bytes = 4 + conn0 * 4, level_bytes = 4 + conn * 4;
	seen = xcalloc((size + 63) / 64, sizeof *seen);
	for (uint64_t i = 0; i < size; i++) {
		int level = rd_i16(levels + 2 * i);
		if (level < 0 || (uint64_t)level > max_level) {
			damaged(err, "a node's level is out of range");
			goto out;
		}
		if (i == entry && (uint64_t)level != max_level) {
			damaged(err, "its entry point is not on the top level");
			goto out;
		}
		size_t node_bytes = 10 + base_bytes + (size_t)level * level_bytes;
		if (node_bytes > len - off) {
			damaged(err, "its nodes do not fit");
			goto out;
		}
		const unsigned char *nd = b + off;
		uint64_t key = rd_u64(nd);
		if (key >= size || (seen[key / 64] >> (key % 64) & 1)) {
			damaged(err, "a node's key is out of range or repeated");
			goto out;
		}
		seen[key / 64] |= (uint64_t)1 << (key % 64);
		if (rd_i16(nd + 8) != level) {
			damaged(err, "a node's level disagrees with the level table");
			goto out;
		}
		const unsigned char *nb = nd + 10;
		for (int l = 0; l <= level; l++) {
			uint64_t cap = l ? conn : conn0;
			uint32_t cnt = rd_u32(nb);
			if (cnt > cap) {
				damaged(err, "a node has too many neighbours");
				goto out;
			}
			for (uint32_t j = 0; j < cnt; j++) {
				uint32_t s = rd_u32(nb + 4 + 4 * (size_t)j);
				/* a neighbour on level l must have level l itself,
				 * or a search would read its missing list */
				if (s >= size || rd_i16(levels + 2 * (size_t)s) < l) {
					damaged(err, "a neighbour is out of range");
					goto out;
				}
			}
			nb += l ? level_bytes : base_bytes;
		}
		off += node_bytes;
	}
	*nout = size;
	rc = 0;
out:
	free(seen);
	return rc;
}

/* ---- view and search (Notes 3, 4) ------------------------------------------ */

struct ann *ann_view(const void *bytes, size_t len, unsigned dim, struct lh_error *err)
{
	usearch_error_t uerr = NULL;
	struct ann *a = NULL;
	size_t n = 0;

	if (dim == 0 || dim > ANN_MAX_DIM) {
		lh_fail(err, 400, "bad_dimension", "a vector index needs a dimension from 1 to %u, not %u",
			ANN_MAX_DIM, dim);
		return NULL;
	}
	if (!bytes || ann_validate(bytes, len, dim, &n, err))
		return bytes ? NULL : (damaged(err, "it is empty"), NULL);

	usearch_init_options_t opts;
	memset(&opts, 0, sizeof opts);
	opts.metric_kind = usearch_metric_ip_k;
	opts.quantization = usearch_scalar_f32_k;
	opts.dimensions = dim;
	opts.connectivity = ANN_DEFAULT_CONNECTIVITY;
	opts.expansion_add = ANN_DEFAULT_EXPANSION_ADD;
	opts.expansion_search = ANN_DEFAULT_EXPANSION_SEARCH;
	usearch_index_t index = usearch_init(&opts, &uerr);
	if (!index || uerr) {
		usearch_failed(err, "opened", uerr);
		return NULL;
	}
	/* The contexts the view keeps (usearch's view carries the thread
	 * limits over from the index it replaces). */
	usearch_change_threads_search(index, ANN_SEARCH_SLOTS, &uerr);
	if (!uerr)
		usearch_view_buffer(index, bytes, len, &uerr);
	if (!uerr && usearch_size(index, &uerr) != n && !uerr)
		uerr = "size mismatch after view";
	if (uerr) {
		usearch_failed(err, "opened", uerr);
		usearch_free(index, &uerr);
		return NULL;
	}
	a = xcalloc(1, sizeof *a);
	a->index = index;
	a->dim = dim;
	a->n = n;
	a->ef = ANN_DEFAULT_EXPANSION_SEARCH;
	a->slots_free = ANN_SEARCH_SLOTS;
	pthread_rwlock_init(&a->ef_lock, NULL);
	pthread_mutex_init(&a->slot_mu, NULL);
	pthread_cond_init(&a->slot_cv, NULL);
	return a;
}

void ann_close(struct ann *a)
{
	usearch_error_t uerr = NULL;
	if (!a)
		return;
	usearch_free(a->index, &uerr);
	pthread_rwlock_destroy(&a->ef_lock);
	pthread_mutex_destroy(&a->slot_mu);
	pthread_cond_destroy(&a->slot_cv);
	free(a);
}

size_t ann_size(const struct ann *a)
{
	return a->n;
}

struct allow_ctx {
	ann_allow_fn fn;
	void *ctx;
};

static int allow_tramp(usearch_key_t key, void *state)
{
	const struct allow_ctx *c = state;
	return c->fn(c->ctx, key) != 0;
}

/* Hold ef_lock shared with usearch's expansion == ef (Note 4). */
static void ef_enter(struct ann *a, size_t ef)
{
	for (;;) {
		pthread_rwlock_rdlock(&a->ef_lock);
		if (a->ef == ef)
			return;
		pthread_rwlock_unlock(&a->ef_lock);
		pthread_rwlock_wrlock(&a->ef_lock);
		if (a->ef != ef) {
			usearch_error_t uerr = NULL;
			usearch_change_expansion_search(a->index, ef, &uerr);
			a->ef = ef;
		}
		pthread_rwlock_unlock(&a->ef_lock);
	}
}

int ann_search(const struct ann *ca, const float *q, size_t k, unsigned ef, ann_allow_fn allow,
	       void *ctx, uint64_t *keys, float *dist, size_t *nout, struct lh_error *err)
{
	struct ann *a = (struct ann *)ca;  /* the locks are mutable (Note 4) */
	usearch_error_t uerr = NULL;
	size_t found;

	*nout = 0;
	if (k == 0 || a->n == 0)
		return 0;
	size_t want_ef = ef ? ef : ANN_DEFAULT_EXPANSION_SEARCH;
	if (want_ef < k)
		want_ef = k;

	pthread_mutex_lock(&a->slot_mu);
	while (a->slots_free == 0)
		pthread_cond_wait(&a->slot_cv, &a->slot_mu);
	a->slots_free--;
	pthread_mutex_unlock(&a->slot_mu);

	ef_enter(a, want_ef);
	if (allow) {
		struct allow_ctx c = { allow, ctx };
		found = usearch_filtered_search(a->index, q, usearch_scalar_f32_k, k, allow_tramp, &c,
						keys, dist, &uerr);
	} else {
		found = usearch_search(a->index, q, usearch_scalar_f32_k, k, keys, dist, &uerr);
	}
	pthread_rwlock_unlock(&a->ef_lock);

	pthread_mutex_lock(&a->slot_mu);
	a->slots_free++;
	pthread_cond_signal(&a->slot_cv);
	pthread_mutex_unlock(&a->slot_mu);

	if (uerr)
		return usearch_failed(err, "searched", uerr);
	*nout = found < k ? found : k;
	return 0;
}
