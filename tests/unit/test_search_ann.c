/* test_search_ann.c — src/search/ann_usearch.c (ann.h): recall against exact
 * search, filtered search, views of saved bytes, damaged bytes, concurrent
 * searches, parameter and dimension errors. */
#include "test.h"

#include "search/ann.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A seeded generator (splitmix64) so every run sees the same vectors. */
static uint64_t mix_state;
static uint64_t mix_next(void)
{
	uint64_t z = (mix_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double mix_gauss(void)
{
	double u = ((double)(mix_next() >> 11) + 0.5) / 9007199254740992.0;
	double v = ((double)(mix_next() >> 11) + 0.5) / 9007199254740992.0;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* n random unit vectors of dim floats, seeded. Caller frees. */
static float *unit_vectors(size_t n, unsigned dim, uint64_t seed)
{
	float *v = malloc(n * dim * sizeof *v);
	mix_state = seed;
	for (size_t i = 0; i < n; i++) {
		double norm = 0;
		for (unsigned d = 0; d < dim; d++) {
			double x = mix_gauss();
			v[i * dim + d] = (float)x;
			norm += x * x;
		}
		norm = sqrt(norm);
		for (unsigned d = 0; d < dim; d++)
			v[i * dim + d] = (float)(v[i * dim + d] / norm);
	}
	return v;
}

static float dot(const float *a, const float *b, unsigned dim)
{
	float s = 0;
	for (unsigned d = 0; d < dim; d++)
		s += a[d] * b[d];
	return s;
}

/* The exact k nearest (largest dot) keys among those `allow` keeps. */
static size_t exact_knn(const float *vecs, size_t n, unsigned dim, const float *q, size_t k,
			ann_allow_fn allow, void *ctx, uint64_t *out)
{
	float *best = malloc(k * sizeof *best);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (allow && !allow(ctx, i))
			continue;
		float s = dot(vecs + i * dim, q, dim);
		if (m == k && s <= best[m - 1])
			continue;
		size_t j = m < k ? m++ : m - 1;
		while (j > 0 && best[j - 1] < s) {
			best[j] = best[j - 1];
			out[j] = out[j - 1];
			j--;
		}
		best[j] = s;
		out[j] = i;
	}
	free(best);
	return m;
}

static size_t overlap(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t hits = 0;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			if (a[i] == b[j]) {
				hits++;
				break;
			}
	return hits;
}

static const struct ann_params test_params = {
	ANN_DEFAULT_CONNECTIVITY, ANN_DEFAULT_EXPANSION_ADD, ANN_DEFAULT_EXPANSION_SEARCH, 2, 0
};

/* One shared corpus: 20,000 unit vectors of 24 dims, built once (and kept:
 * the static pointers keep it reachable, so the leak checker is quiet). */
#define CORPUS_N 20000
#define CORPUS_DIM 24
#define CORPUS_Q 200
static float *corpus_vecs, *corpus_queries;
static struct lh_buf corpus_bytes;

static int corpus_ready(void)
{
	struct lh_error err = { 0 };
	if (corpus_vecs)
		return 1;
	corpus_vecs = unit_vectors(CORPUS_N, CORPUS_DIM, 42);
	corpus_queries = unit_vectors(CORPUS_Q, CORPUS_DIM, 4242);
	lh_buf_init(&corpus_bytes, (size_t)1 << 30);
	if (ann_build(corpus_vecs, CORPUS_N, CORPUS_DIM, &test_params, &corpus_bytes, &err)) {
		fprintf(stderr, "  ann_build: %s (%s)\n", err.msg, err.detail);
		return 0;
	}
	return 1;
}

TEST(search_ann_recall_against_exact)
{
	struct lh_error err = { 0 };
	CHECK(corpus_ready());
	struct ann *a = ann_view(corpus_bytes.data, corpus_bytes.len, CORPUS_DIM, &err);
	CHECK(a);
	CHECK_EQ_INT(ann_size(a), CORPUS_N);
	size_t hits = 0, total = 0;
	int ok = 1;
	for (size_t qi = 0; qi < CORPUS_Q; qi++) {
		const float *q = corpus_queries + qi * CORPUS_DIM;
		uint64_t want[10], got[10];
		float dist[10];
		size_t nwant = exact_knn(corpus_vecs, CORPUS_N, CORPUS_DIM, q, 10, NULL, NULL, want);
		size_t ngot = 0;
		if (ann_search(a, q, 10, 0, NULL, NULL, got, dist, &ngot, &err) || ngot != 10)
			ok = 0;
		/* nearest first, distance = 1 - dot */
		for (size_t i = 0; ok && i < ngot; i++) {
			float d = 1.0f - dot(corpus_vecs + got[i] * CORPUS_DIM, q, CORPUS_DIM);
			if (fabsf(d - dist[i]) > 1e-4f || (i && dist[i] < dist[i - 1]))
				ok = 0;
		}
		hits += overlap(got, ngot, want, nwant);
		total += nwant;
	}
	ann_close(a);
	CHECK(ok);
	double recall = (double)hits / (double)total;
	fprintf(stderr, "  recall@10 = %.4f (ef %u)\n", recall, ANN_DEFAULT_EXPANSION_SEARCH);
	CHECK(recall >= 0.95);
}

TEST(search_ann_f16_storage_halves_the_vectors_and_keeps_recall)
{
	struct lh_error err = { 0 };
	CHECK(corpus_ready());
	struct ann_params p = test_params;
	p.storage_f16 = 1;
	struct lh_buf half;
	lh_buf_init(&half, (size_t)1 << 30);
	CHECK(ann_build(corpus_vecs, CORPUS_N, CORPUS_DIM, &p, &half, &err) == 0);
	/* vectors at 2 bytes a float instead of 4 (the matrix's row width
	 * leads the bytes); the graphs differ only by the threads' order */
	uint32_t cols_f32, cols_f16;
	memcpy(&cols_f32, corpus_bytes.data + 4, 4);
	memcpy(&cols_f16, half.data + 4, 4);
	CHECK_EQ_INT(cols_f32, CORPUS_DIM * 4);
	CHECK_EQ_INT(cols_f16, CORPUS_DIM * 2);
	size_t saved = corpus_bytes.len - half.len, expect = (size_t)CORPUS_N * CORPUS_DIM * 2;
	CHECK(saved > expect * 99 / 100 && saved < expect * 101 / 100);
	struct ann *a = ann_view(half.data, half.len, CORPUS_DIM, &err);
	CHECK(a);
	size_t hits = 0;
	for (size_t qi = 0; qi < CORPUS_Q; qi++) {
		const float *q = corpus_queries + qi * CORPUS_DIM;
		uint64_t want[10], got[10];
		float dist[10];
		size_t ngot = 0;
		size_t nwant = exact_knn(corpus_vecs, CORPUS_N, CORPUS_DIM, q, 10, NULL, NULL, want);
		CHECK(ann_search(a, q, 10, 0, NULL, NULL, got, dist, &ngot, &err) == 0);
		hits += overlap(got, ngot, want, nwant);
	}
	ann_close(a);
	/* a graph of one storage viewed as the other's size is refused */
	CHECK(ann_view(half.data, half.len, CORPUS_DIM * 2, &err) == NULL);
	lh_error_clear(&err);
	lh_buf_free(&half);
	fprintf(stderr, "  f16 recall@10 = %.4f\n", hits / (CORPUS_Q * 10.0));
	CHECK(hits >= CORPUS_Q * 10 * 95 / 100);
}

TEST(search_ann_higher_ef_finds_more)
{
	struct lh_error err = { 0 };
	CHECK(corpus_ready());
	struct ann *a = ann_view(corpus_bytes.data, corpus_bytes.len, CORPUS_DIM, &err);
	CHECK(a);
	size_t hits_low = 0, hits_high = 0;
	for (size_t qi = 0; qi < CORPUS_Q; qi++) {
		const float *q = corpus_queries + qi * CORPUS_DIM;
		uint64_t want[10], got[10];
		float dist[10];
		size_t nwant = exact_knn(corpus_vecs, CORPUS_N, CORPUS_DIM, q, 10, NULL, NULL, want);
		size_t ngot;
		CHECK(ann_search(a, q, 10, 10, NULL, NULL, got, dist, &ngot, &err) == 0);
		hits_low += overlap(got, ngot, want, nwant);
		CHECK(ann_search(a, q, 10, 400, NULL, NULL, got, dist, &ngot, &err) == 0);
		hits_high += overlap(got, ngot, want, nwant);
	}
	ann_close(a);
	fprintf(stderr, "  recall@10 ef 10: %.4f, ef 400: %.4f\n", hits_low / (CORPUS_Q * 10.0),
		hits_high / (CORPUS_Q * 10.0));
	CHECK(hits_high > hits_low);
	CHECK(hits_high >= CORPUS_Q * 10 * 99 / 100);
}

static int allow_mod(void *ctx, uint64_t key)
{
	uint64_t m = *(const uint64_t *)ctx;
	return key % m == 7;
}

TEST(search_ann_filtered_returns_only_allowed_and_k_of_them)
{
	struct lh_error err = { 0 };
	CHECK(corpus_ready());
	struct ann *a = ann_view(corpus_bytes.data, corpus_bytes.len, CORPUS_DIM, &err);
	CHECK(a);
	/* 10% and 1% of the keys allowed (2,000 and 200 of 20,000) */
	uint64_t mods[2] = { 10, 100 };
	for (int mi = 0; mi < 2; mi++) {
		size_t hits = 0, total = 0;
		for (size_t qi = 0; qi < 50; qi++) {
			const float *q = corpus_queries + qi * CORPUS_DIM;
			uint64_t want[10], got[10];
			float dist[10];
			size_t ngot = 0;
			size_t nwant = exact_knn(corpus_vecs, CORPUS_N, CORPUS_DIM, q, 10, allow_mod,
						 &mods[mi], want);
			CHECK(ann_search(a, q, 10, 0, allow_mod, &mods[mi], got, dist, &ngot, &err) == 0);
			CHECK_EQ_INT(ngot, 10);
			for (size_t i = 0; i < ngot; i++)
				CHECK_EQ_INT(got[i] % mods[mi], 7);
			hits += overlap(got, ngot, want, nwant);
			total += nwant;
		}
		fprintf(stderr, "  filtered recall@10 with 1/%llu allowed: %.4f\n",
			(unsigned long long)mods[mi], (double)hits / (double)total);
		CHECK((double)hits / (double)total >= 0.9);
	}
	/* fewer allowed than k: all of them come back */
	uint64_t few = 5000;   /* keys 7, 5007, 10007, 15007 */
	uint64_t got[10];
	float dist[10];
	size_t ngot = 0;
	CHECK(ann_search(a, corpus_queries, 10, 0, allow_mod, &few, got, dist, &ngot, &err) == 0);
	CHECK_EQ_INT(ngot, 4);
	for (size_t i = 0; i < ngot; i++)
		CHECK_EQ_INT(got[i] % 5000, 7);
	ann_close(a);
}

TEST(search_ann_view_of_copied_bytes_answers_alike)
{
	struct lh_error err = { 0 };
	CHECK(corpus_ready());
	/* the same bytes at another address (as an mmap'd part would be) */
	char *copy = malloc(corpus_bytes.len);
	memcpy(copy, corpus_bytes.data, corpus_bytes.len);
	struct ann *a = ann_view(corpus_bytes.data, corpus_bytes.len, CORPUS_DIM, &err);
	struct ann *b = ann_view(copy, corpus_bytes.len, CORPUS_DIM, &err);
	int same = a && b;
	for (size_t qi = 0; same && qi < CORPUS_Q; qi++) {
		uint64_t ka[10], kb[10];
		float da[10], db[10];
		size_t na = 0, nb = 0;
		const float *q = corpus_queries + qi * CORPUS_DIM;
		if (ann_search(a, q, 10, 0, NULL, NULL, ka, da, &na, &err) ||
		    ann_search(b, q, 10, 0, NULL, NULL, kb, db, &nb, &err) || na != nb ||
		    memcmp(ka, kb, na * sizeof *ka) || memcmp(da, db, na * sizeof *da))
			same = 0;
	}
	/* stored vectors find themselves first (HNSW is approximate: a few
	 * poorly linked nodes may not be reached; 99% must be) */
	size_t self = 0, tried = 0;
	for (size_t i = 0; same && i < CORPUS_N; i += 7) {
		uint64_t k1;
		float d1;
		size_t n1 = 0;
		if (ann_search(b, corpus_vecs + i * CORPUS_DIM, 1, 0, NULL, NULL, &k1, &d1, &n1, &err) ||
		    n1 != 1)
			same = 0;
		else if (k1 == i && fabsf(d1) < 1e-5f)
			self++;
		tried++;
	}
	fprintf(stderr, "  %zu of %zu stored vectors found themselves first\n", self, tried);
	same = same && self * 100 >= tried * 99;
	ann_close(a);
	ann_close(b);
	free(copy);
	CHECK(same);
}

TEST(search_ann_single_thread_build_is_reproducible)
{
	struct lh_error err = { 0 };
	struct ann_params p = test_params;
	p.threads = 1;
	float *v = unit_vectors(3000, 16, 7);
	struct lh_buf b1, b2;
	lh_buf_init(&b1, (size_t)1 << 28);
	lh_buf_init(&b2, (size_t)1 << 28);
	int ok = ann_build(v, 3000, 16, &p, &b1, &err) == 0 && ann_build(v, 3000, 16, &p, &b2, &err) == 0;
	ok = ok && b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0;
	free(v);
	lh_buf_free(&b1);
	lh_buf_free(&b2);
	CHECK(ok);
}

TEST(search_ann_empty_and_tiny_indexes)
{
	struct lh_error err = { 0 };
	struct lh_buf b;
	lh_buf_init(&b, 1 << 20);
	CHECK(ann_build(NULL, 0, 8, &test_params, &b, &err) == 0);
	struct ann *a = ann_view(b.data, b.len, 8, &err);
	CHECK(a);
	CHECK_EQ_INT(ann_size(a), 0);
	float q[8] = { 1 };
	uint64_t keys[4];
	float dist[4];
	size_t n = 99;
	CHECK(ann_search(a, q, 4, 0, NULL, NULL, keys, dist, &n, &err) == 0);
	CHECK_EQ_INT(n, 0);
	ann_close(a);
	lh_buf_free(&b);

	/* one vector; k larger than the index */
	lh_buf_init(&b, 1 << 20);
	CHECK(ann_build(q, 1, 8, &test_params, &b, &err) == 0);
	a = ann_view(b.data, b.len, 8, &err);
	CHECK(a);
	CHECK(ann_search(a, q, 4, 0, NULL, NULL, keys, dist, &n, &err) == 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(keys[0], 0);
	ann_close(a);
	lh_buf_free(&b);
}

TEST(search_ann_bad_parameters_and_dimension)
{
	struct lh_error err = { 0 };
	struct lh_buf b;
	float v[16] = { 1 };
	struct ann_params p = test_params;
	lh_buf_init(&b, 1 << 20);
	p.connectivity = 1;
	CHECK(ann_build(v, 2, 8, &p, &b, &err) == -1);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	CHECK(ann_build(v, 2, 0, &test_params, &b, &err) == -1);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	/* a cap the graph does not fit in */
	struct lh_buf small;
	lh_buf_init(&small, 64);
	CHECK(ann_build(v, 2, 8, &test_params, &small, &err) == -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_INT(small.len, 0);
	lh_error_clear(&err);

	/* a graph built for dim 8 viewed as dim 4 or 16 */
	CHECK(ann_build(v, 2, 8, &test_params, &b, &err) == 0);
	CHECK(ann_view(b.data, b.len, 4, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "bad_index_part");
	lh_error_clear(&err);
	CHECK(ann_view(b.data, b.len, 16, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	lh_error_clear(&err);
	CHECK(ann_view(b.data, b.len, 0, &err) == NULL);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	lh_buf_free(&b);
}

/* Search a view that passed validation: must not crash whatever it holds. */
static void poke(struct ann *a, unsigned dim)
{
	struct lh_error err = { 0 };
	float q[CORPUS_DIM];
	uint64_t keys[10];
	float dist[10];
	size_t n;
	for (unsigned d = 0; d < dim; d++)
		q[d] = d == 0 ? 1.0f : 0.0f;
	ann_search(a, q, 10, 0, NULL, NULL, keys, dist, &n, &err);
	lh_error_clear(&err);
}

TEST(search_ann_damaged_bytes_are_refused_not_walked)
{
	struct lh_error err = { 0 };
	const unsigned dim = 8;
	float *v = unit_vectors(500, dim, 99);
	struct ann_params p = test_params;
	p.connectivity = 4;
	p.threads = 1;
	struct lh_buf b;
	lh_buf_init(&b, 1 << 24);
	CHECK(ann_build(v, 500, dim, &p, &b, &err) == 0);
	free(v);
	size_t len = b.len;
	unsigned char *m = malloc(len);

	/* every truncation is refused */
	int refused_all = 1;
	for (size_t cut = 0; cut < len; cut += (cut < 300 ? 1 : 37)) {
		memcpy(m, b.data, cut);
		struct ann *a = ann_view(m, cut, dim, &err);
		if (a) {
			refused_all = 0;
			ann_close(a);
		}
		lh_error_clear(&err);
	}
	CHECK(refused_all);
	CHECK(ann_view(NULL, 0, dim, &err) == NULL);
	lh_error_clear(&err);

	/* random garbage of the right length */
	mix_state = 5;
	for (size_t i = 0; i < len; i++)
		m[i] = (unsigned char)mix_next();
	CHECK(ann_view(m, len, dim, &err) == NULL);
	CHECK_EQ_STR(err.code, "bad_index_part");
	lh_error_clear(&err);

	/* the graph after the vectors: each mutated word either is refused or
	 * still makes a graph that searches safely (ASan watches) */
	size_t graph_start = 8 + 500 * dim * 4;
	size_t refused = 0, accepted = 0;
	for (int t = 0; t < 3000; t++) {
		memcpy(m, b.data, len);
		size_t at = graph_start + mix_next() % (len - graph_start - 4);
		uint32_t word;
		switch (t % 3) {
		case 0: word = (uint32_t)mix_next(); break;
		case 1: word = 500 + (uint32_t)(mix_next() % 10); break;   /* just past the end */
		default: word = 0xffff; break;                              /* level -1 */
		}
		memcpy(m + at, &word, sizeof word);
		struct ann *a = ann_view(m, len, dim, &err);
		if (a) {
			accepted++;
			poke(a, dim);
			ann_close(a);
		} else {
			refused++;
		}
		lh_error_clear(&err);
	}
	fprintf(stderr, "  mutated graphs: %zu refused, %zu accepted and searched\n", refused, accepted);
	CHECK(refused > 0);
	free(m);
	lh_buf_free(&b);
}

struct race {
	struct ann *a;
	int id;
	int mismatches;
	uint64_t (*expect)[2][10];  /* per query: ef 32 and ef 200 answers */
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	struct lh_error err = { 0 };
	for (int round = 0; round < 3; round++) {
		for (size_t qi = 0; qi < 100; qi++) {
			int which = (int)((qi + (size_t)r->id + (size_t)round) % 2);
			uint64_t keys[10];
			float dist[10];
			size_t n = 0;
			if (ann_search(r->a, corpus_queries + qi * CORPUS_DIM, 10, which ? 200 : 32, NULL,
				       NULL, keys, dist, &n, &err) ||
			    n != 10 || memcmp(keys, r->expect[qi][which], sizeof keys))
				r->mismatches++;
		}
	}
	return NULL;
}

TEST(search_ann_concurrent_searches_answer_as_alone)
{
	struct lh_error err = { 0 };
	CHECK(corpus_ready());
	struct ann *a = ann_view(corpus_bytes.data, corpus_bytes.len, CORPUS_DIM, &err);
	CHECK(a);
	static uint64_t expect[100][2][10];
	for (size_t qi = 0; qi < 100; qi++)
		for (int w = 0; w < 2; w++) {
			float dist[10];
			size_t n;
			CHECK(ann_search(a, corpus_queries + qi * CORPUS_DIM, 10, w ? 200 : 32, NULL, NULL,
					 expect[qi][w], dist, &n, &err) == 0);
		}
	/* more threads than the view's search slots, two ef values interleaved */
	enum { NT = ANN_SEARCH_SLOTS + 4 };
	pthread_t t[NT];
	struct race r[NT];
	for (int i = 0; i < NT; i++) {
		r[i] = (struct race){ a, i, 0, expect };
		CHECK(pthread_create(&t[i], NULL, race_thread, &r[i]) == 0);
	}
	int mismatches = 0;
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		mismatches += r[i].mismatches;
	}
	ann_close(a);
	CHECK_EQ_INT(mismatches, 0);
}
