/* test_search_embed.c — src/search/{glove,sif,embed,embed_builtin}.c: the
 * .lhwv reader on the real file and on hostile ones, SIF weights, the
 * common component, the builtin embedder against an independent Python
 * computation (tests/search/sif_reference.py -> search_embed_expected.h),
 * and its determinism across threads.
 *
 * Tests on the real file need deps/glove/glove-6b-100d.lhwv, which
 * scripts/bootstrap.sh always makes; without it they FAIL saying so (a
 * silent skip would hide a broken bootstrap in `make test`), unless
 * LAKEHOUSE_TEST_NO_GLOVE=1 asks to skip them. */
#include "test.h"

#include "search/embed.h"
#include "search/glove.h"
#include "search/sif.h"

#include "common/error.h"
#include "common/limits.h"
#include "search_embed_expected.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* 1 if the real file is there; else says why and sets *failed unless
 * skipping was asked for. */
static int have_glove(int *failed)
{
	if (access(embed_default_glove_path(), R_OK) == 0)
		return 1;
	const char *skip = getenv("LAKEHOUSE_TEST_NO_GLOVE");
	fprintf(stderr, "  %s: %s is missing (run scripts/bootstrap.sh)\n",
		skip && *skip == '1' ? "SKIP" : "FAIL", embed_default_glove_path());
	if (!(skip && *skip == '1'))
		*failed = 1;
	return 0;
}

#define NEED_GLOVE()                    \
	do {                            \
		if (!have_glove(failed)) \
			return;         \
	} while (0)

/* ---- the real file -------------------------------------------------------- */

TEST(search_glove_real_file)
{
	NEED_GLOVE();
	struct lh_error err = { 0 };
	struct glove *g = glove_open(embed_default_glove_path(), &err);
	CHECK(g != NULL);
	CHECK_EQ_INT(glove_dim(g), 100);
	CHECK_EQ_INT(glove_count(g), 341479);
	CHECK_EQ_INT(glove_find(g, "the", 3), 0);
	const float *v = glove_vector(g, 0);
	/* the package's values (MEASUREMENTS "Search building blocks") */
	CHECK(v[0] == -0.038194f && v[1] == -0.24487f && v[2] == 0.72812f);
	size_t n;
	const char *w = glove_word(g, 0, &n);
	CHECK(n == 3 && memcmp(w, "the", 3) == 0);
	w = glove_word(g, 1, &n);
	CHECK(n == 1 && w[0] == ',');
	int64_t op = glove_find(g, "operator", 8);
	CHECK(op > 0);
	w = glove_word(g, (uint32_t)op, &n);
	CHECK(n == 8 && memcmp(w, "operator", 8) == 0);
	CHECK(glove_find(g, "cafe", 4) > 0);
	/* wink's vocabulary kept ASCII words only (docs/embeddings.md) */
	CHECK_EQ_INT(glove_find(g, "caf\xc3\xa9", 5), -1);
	CHECK_EQ_INT(glove_find(g, "qzxvkq", 6), -1);
	CHECK_EQ_INT(glove_find(g, "", 0), -1);
	CHECK_EQ_INT(glove_find(g, "The", 3), -1);   /* exact bytes: callers lower-case */
	CHECK(glove_vector(g, 341479) == NULL);
	CHECK(glove_word(g, 341479, &n) == NULL && n == 0);
	/* every word is found at its own index (a stride through the file) */
	for (uint32_t i = 0; i < glove_count(g); i += 97) {
		w = glove_word(g, i, &n);
		CHECK_EQ_INT(glove_find(g, w, n), i);
	}
	glove_close(g);
}

/* ---- small and hostile files --------------------------------------------- */

/* A well-formed .lhwv of `nw` words (dim 2; word i's vector is (i, -i)),
 * built here independently of the converter. Returns its size; buf holds
 * >= 4096 bytes, u32-aligned. */
static size_t make_lhwv(uint32_t *buf32, const char *const *words, uint32_t nw)
{
	unsigned char *b = (unsigned char *)buf32;
	uint32_t dim = 2, slots = 8;
	while (slots < 2 * nw)
		slots *= 2;
	memset(b, 0, 4096);
	uint64_t voff = 64, woff = voff + 4ull * dim * nw, wlen = 0;
	for (uint32_t i = 0; i < nw; i++)
		wlen += strlen(words[i]);
	uint64_t eoff = (woff + wlen + 7) / 8 * 8, hoff = eoff + 4ull * nw;
	uint64_t size = hoff + 4ull * slots;
	memcpy(b, "LHWV0001", 8);
	memcpy(b + 8, &dim, 4);
	memcpy(b + 12, &nw, 4);
	memcpy(b + 16, &slots, 4);
	memcpy(b + 24, &voff, 8);
	memcpy(b + 32, &woff, 8);
	memcpy(b + 40, &eoff, 8);
	memcpy(b + 48, &hoff, 8);
	memcpy(b + 56, &size, 8);
	uint32_t end = 0;
	for (uint32_t i = 0; i < nw; i++) {
		float v[2] = { (float)i, -(float)i };
		memcpy(b + voff + 8 * i, v, 8);
		size_t l = strlen(words[i]);
		memcpy(b + woff + end, words[i], l);
		end += (uint32_t)l;
		memcpy(b + eoff + 4 * i, &end, 4);
		uint32_t s = glove_hash(words[i], l) & (slots - 1), one = i + 1, cur;
		for (;;) {
			memcpy(&cur, b + hoff + 4 * s, 4);
			if (!cur)
				break;
			s = (s + 1) & (slots - 1);
		}
		memcpy(b + hoff + 4 * s, &one, 4);
	}
	return (size_t)size;
}

static const char *const small_words[] = { "the", "cat", "sat", "mat", "caf\xc3\xa9" };

TEST(search_glove_small_file_view_and_open)
{
	uint32_t buf[1024];
	size_t size = make_lhwv(buf, small_words, 5);
	struct lh_error err = { 0 };
	struct glove *g = glove_view(buf, size, &err);
	CHECK(g != NULL);
	CHECK_EQ_INT(glove_count(g), 5);
	CHECK_EQ_INT(glove_find(g, "mat", 3), 3);
	CHECK_EQ_INT(glove_find(g, "caf\xc3\xa9", 5), 4);
	CHECK_EQ_INT(glove_find(g, "dog", 3), -1);
	CHECK(glove_vector(g, 3)[0] == 3.0f && glove_vector(g, 3)[1] == -3.0f);
	glove_close(g);
	/* the same bytes through a file */
	char path[] = "/tmp/lh-glove-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, buf, size) == (ssize_t)size);
	close(fd);
	g = glove_open(path, &err);
	CHECK(g != NULL);
	CHECK_EQ_INT(glove_find(g, "sat", 3), 2);
	glove_close(g);
	/* truncated by a byte: refused with the reason in the log detail */
	CHECK(truncate(path, (off_t)size - 1) == 0);
	g = glove_open(path, &err);
	CHECK(g == NULL);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "embedder_unavailable");
	CHECK(strstr(err.detail, "truncated") != NULL);
	lh_error_clear(&err);
	unlink(path);
	g = glove_open(path, &err);
	CHECK(g == NULL);
	CHECK_EQ_STR(err.code, "embedder_unavailable");
	CHECK(strstr(err.detail, "cannot open") != NULL);
	CHECK(strstr(err.msg, "/tmp") == NULL);     /* paths only in the log */
	lh_error_clear(&err);
	g = glove_open("/tmp", &err);
	CHECK(g == NULL);
	lh_error_clear(&err);
}

static void put32(uint32_t *buf, size_t off, uint32_t v)
{
	memcpy((unsigned char *)buf + off, &v, 4);
}

static void put64(uint32_t *buf, size_t off, uint64_t v)
{
	memcpy((unsigned char *)buf + off, &v, 8);
}

/* Each damaged header or section is refused with a reason. */
TEST(search_glove_hostile_headers)
{
	static uint32_t buf[1024];
	struct lh_error err = { 0 };
	struct {
		const char *why;
		size_t off;
		int width;
		uint64_t value;
	} cases[] = {
		{ "magic", 0, 4, 0x5757484c },
		{ "reserved", 20, 4, 1 },
		{ "dimension", 8, 4, 0 },
		{ "dimension", 8, 4, 1u << 20 },
		{ "count", 12, 4, 0 },
		{ "count", 12, 4, 0xffffffffu },
		{ "hash table size", 16, 4, 12 },          /* not a power of two */
		{ "hash table size", 16, 4, 4 },           /* < 2 * count */
		{ "file size", 56, 8, 1ull << 40 },
		{ "aligned", 24, 8, 66 },
		{ "overlaps the header", 24, 8, 0 },
		{ "vectors section", 24, 8, 1ull << 62 },
		{ "word ends section", 40, 8, 0xfffffffffffffff0ull },
		{ "hash section", 48, 8, 0xfffffffffffffff0ull },
		{ "words section", 32, 8, 1ull << 40 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t size = make_lhwv(buf, small_words, 5);
		if (cases[c].width == 4)
			put32(buf, cases[c].off, (uint32_t)cases[c].value);
		else
			put64(buf, cases[c].off, cases[c].value);
		struct glove *g = glove_view(buf, size, &err);
		if (g || strstr(err.detail, cases[c].why) == NULL) {
			fprintf(stderr, "  case %zu (%s): %s\n", c, cases[c].why,
				g ? "accepted" : err.detail);
			glove_close(g);
			CHECK(0);
		}
		CHECK_EQ_INT(err.status, 503);
		lh_error_clear(&err);
	}
	/* word ends that decrease, or run past the file */
	size_t size = make_lhwv(buf, small_words, 5);
	uint64_t eoff, hoff;
	memcpy(&eoff, (unsigned char *)buf + 40, 8);
	memcpy(&hoff, (unsigned char *)buf + 48, 8);
	put32(buf, eoff + 4, 1);
	CHECK(glove_view(buf, size, &err) == NULL);
	CHECK(strstr(err.detail, "decrease") != NULL);
	lh_error_clear(&err);
	size = make_lhwv(buf, small_words, 5);
	put32(buf, eoff + 16, 0x7fffffff);
	CHECK(glove_view(buf, size, &err) == NULL);
	CHECK(strstr(err.detail, "words section") != NULL);
	lh_error_clear(&err);
	/* a hash slot past the last word; a full table */
	size = make_lhwv(buf, small_words, 5);
	put32(buf, hoff, 6);
	CHECK(glove_view(buf, size, &err) == NULL);
	CHECK(strstr(err.detail, "past the end") != NULL);
	lh_error_clear(&err);
	size = make_lhwv(buf, small_words, 5);
	for (int s = 0; s < 16; s++)
		put32(buf, hoff + 4 * (size_t)s, 1);
	CHECK(glove_view(buf, size, &err) == NULL);
	CHECK(strstr(err.detail, "more entries") != NULL);
	lh_error_clear(&err);
	/* unaligned memory */
	CHECK(glove_view((unsigned char *)buf + 1, 100, &err) == NULL);
	lh_error_clear(&err);
}

/* Every truncation and every single-byte change of a small file is either
 * refused or gives a reader whose every lookup stays in bounds (ASan
 * checks the "in bounds"). */
TEST(search_glove_every_truncation_and_flip)
{
	static uint32_t orig[1024], buf[1024];
	size_t size = make_lhwv(orig, small_words, 5);
	struct lh_error err = { 0 };
	for (size_t n = 0; n < size; n++) {
		uint32_t *exact = malloc(n ? (n + 3) / 4 * 4 : 4);
		memcpy(exact, orig, n);
		struct glove *g = glove_view(exact, n, &err);
		CHECK(g == NULL);
		lh_error_clear(&err);
		free(exact);
	}
	for (size_t i = 0; i < size; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(buf, orig, sizeof buf);
			((unsigned char *)buf)[i] ^= (unsigned char)(1u << bit);
			struct glove *g = glove_view(buf, size, &err);
			lh_error_clear(&err);
			if (!g)
				continue;
			for (uint32_t w = 0; w <= glove_count(g); w++) {
				size_t l;
				const char *s = glove_word(g, w, &l);
				const float *v = glove_vector(g, w);
				if (w == glove_count(g)) {
					CHECK(s == NULL && v == NULL);
					continue;
				}
				volatile float sum = 0;
				for (uint32_t d = 0; d < glove_dim(g); d++)
					sum += v[d];
				int64_t f = glove_find(g, s, l);
				CHECK(f >= -1 && f < (int64_t)glove_count(g));
			}
			glove_find(g, "zzz", 3);
			glove_close(g);
		}
	}
}

/* ---- SIF ------------------------------------------------------------------ */

TEST(search_sif_weights)
{
	/* H_N: the double sum agrees with a long double one */
	long double exact = 0;
	for (uint64_t i = 1; i <= 341479; i++) {
		exact += 1.0L / (long double)i;
		if (i == 64 || i == 65 || i == 1000 || i == 341479)
			CHECK(fabs(sif_harmonic(i) - (double)exact) < 1e-13 * (double)exact);
	}
	CHECK(sif_harmonic(0) == 0);
	CHECK(sif_harmonic(1) == 1);
	CHECK(sif_harmonic(2) == 1.5);
	/* a / (a + 1/(r H)) */
	CHECK(fabs(sif_weight(1, 1) - 1e-3 / (1e-3 + 1.0)) < 1e-15);
	double h = sif_harmonic(341479);
	CHECK(fabs(sif_weight(100, 341479) - 1e-3 / (1e-3 + 1.0 / (100.0 * h))) < 1e-15);
	CHECK(sif_weight(0, 10) == 0);
	CHECK(sif_weight(11, 10) == 0);
	/* rarer words weigh more, all in (0, 1) */
	double prev = 0;
	for (uint64_t r = 1; r <= 341479; r *= 3) {
		double w = sif_weight(r, 341479);
		CHECK(w > prev && w < 1);
		prev = w;
	}
	CHECK(sif_weight(1, 341479) < 0.02);      /* "the" counts for little */
	CHECK(sif_weight(341479, 341479) > 0.99); /* the rarest almost fully */
}

TEST(search_sif_component_known_direction)
{
	/* Rows 3*u +- 1*w (u, w orthonormal): X^T X = n(9 uu^T + ww^T), so the
	 * first component is u (sign: its largest coordinate positive). */
	enum { N = 40, D = 5 };
	float u[D] = { 0.6f, 0, -0.8f, 0, 0 }, w[D] = { 0, 1, 0, 0, 0 };
	float x[N * D], pc[D];
	for (int r = 0; r < N; r++)
		for (int j = 0; j < D; j++)
			x[r * D + j] = 3 * u[j] + (r % 2 ? 1.0f : -1.0f) * w[j];
	CHECK_EQ_INT(sif_component(x, N, D, pc), 0);
	CHECK(fabsf(pc[0] + 0.6f) < 1e-6f && fabsf(pc[2] - 0.8f) < 1e-6f);
	CHECK(fabsf(pc[1]) < 1e-6f && pc[3] == 0 && pc[4] == 0);
	/* deterministic: the same bits again */
	float pc2[D];
	CHECK_EQ_INT(sif_component(x, N, D, pc2), 0);
	CHECK(memcmp(pc, pc2, sizeof pc) == 0);
	/* no rows, zero rows: no component */
	CHECK_EQ_INT(sif_component(x, 0, D, pc), -1);
	CHECK(pc[0] == 0 && pc[2] == 0);
	float z[3 * D] = { 0 };
	CHECK_EQ_INT(sif_component(z, 3, D, pc), -1);
	CHECK(pc[0] == 0);
}

TEST(search_sif_remove)
{
	float pc[3] = { 1, 0, 0 };
	float v[3] = { 3, 4, 0 };
	sif_remove(v, 3, pc);
	CHECK(v[0] == 0 && v[1] == 1 && v[2] == 0);
	float z[3] = { 0, 0, 0 };
	sif_remove(z, 3, pc);
	CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0);
	float along[3] = { -2, 0, 0 };
	sif_remove(along, 3, pc);
	CHECK(along[0] == 0 && along[1] == 0 && along[2] == 0);
	float nopc[3] = { 0, 0, 0 }, o[3] = { 0, 3, 4 };
	sif_remove(o, 3, nopc);
	CHECK(fabsf(o[1] - 0.6f) < 1e-7f && fabsf(o[2] - 0.8f) < 1e-7f);
	/* a unit pc at 45 degrees: the result is orthogonal to it, unit length */
	float pc45[2] = { (float)M_SQRT1_2, (float)M_SQRT1_2 }, p[2] = { 1, 0 };
	sif_remove(p, 2, pc45);
	CHECK(fabsf(p[0] * pc45[0] + p[1] * pc45[1]) < 1e-7f);
	CHECK(fabsf(p[0] * p[0] + p[1] * p[1] - 1) < 1e-6f);
}

/* ---- the builtin embedder ----------------------------------------------- */

TEST(search_embed_ids)
{
	struct lh_error err = { 0 };
	const char *bad[] = { "", "glove", "Builtin", "ollama/", "openai/", "ollama/ a",
			      "ollama/a\"b", "ollama//x", "huggingface/x", NULL };
	for (int i = 0; bad[i]; i++) {
		CHECK(embedder_open(bad[i], NULL, &err) == NULL);
		CHECK_EQ_INT(err.status, 400);
		CHECK_EQ_STR(err.code, "unknown_embedder");
		lh_error_clear(&err);
	}
	CHECK(embedder_open(NULL, NULL, &err) == NULL);
	CHECK_EQ_STR(err.code, "unknown_embedder");
	lh_error_clear(&err);
	struct embed_config cfg = { .glove_path = "/nonexistent/x.lhwv" };
	CHECK(embedder_open("builtin", &cfg, &err) == NULL);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "embedder_unavailable");
	CHECK(strstr(err.detail, "/nonexistent/x.lhwv") != NULL);
	lh_error_clear(&err);
}

TEST(search_embed_builtin_matches_reference)
{
	NEED_GLOVE();
	struct lh_error err = { 0 };
	struct embedder *e = embedder_open("builtin", NULL, &err);
	CHECK(e != NULL);
	CHECK_EQ_STR(embedder_id(e), "builtin");
	CHECK_EQ_INT(embedder_dim(e), SIF_DIM);
	size_t lens[SIF_NSENTENCES];
	for (int i = 0; i < SIF_NSENTENCES; i++)
		lens[i] = strlen(SIF_SENTENCES[i]);
	static float out[SIF_NSENTENCES * SIF_DIM];
	CHECK_EQ_INT(embedder_embed(e, SIF_SENTENCES, lens, SIF_NSENTENCES, out, &err), 0);
	for (int i = 0; i < SIF_NSENTENCES; i++) {
		double norm = 0;
		for (int j = 0; j < SIF_DIM; j++) {
			double d = fabs((double)out[i * SIF_DIM + j] - SIF_EXPECTED[i][j]);
			if (d > 1e-6) {
				fprintf(stderr, "  sentence %d dim %d: %.9g, expected %.9g\n", i, j,
					out[i * SIF_DIM + j], SIF_EXPECTED[i][j]);
				CHECK(0);
			}
			norm += (double)out[i * SIF_DIM + j] * out[i * SIF_DIM + j];
		}
		int zero = SIF_EXPECTED[i][0] == 0 && SIF_EXPECTED[i][1] == 0;
		CHECK(zero ? norm == 0 : fabs(norm - 1) < 1e-6);
	}
	/* "the the the" is the unit vector of "the" */
	struct glove *g = glove_open(embed_default_glove_path(), &err);
	CHECK(g != NULL);
	const float *the = glove_vector(g, 0);
	double n2 = 0;
	for (int j = 0; j < SIF_DIM; j++)
		n2 += (double)the[j] * the[j];
	for (int j = 0; j < SIF_DIM; j++)
		CHECK(fabs(out[4 * SIF_DIM + j] - the[j] / sqrt(n2)) < 1e-7);
	glove_close(g);
	/* the unknown-words and empty texts are all zeros */
	for (int j = 0; j < SIF_DIM; j++)
		CHECK(out[6 * SIF_DIM + j] == 0 && out[7 * SIF_DIM + j] == 0);
	/* nothing asked, nothing written; over the cap refused */
	CHECK_EQ_INT(embedder_embed(e, SIF_SENTENCES, lens, 0, out, &err), 0);
	CHECK_EQ_INT(embedder_embed(e, SIF_SENTENCES, lens, LH_EMBED_MAX_TEXTS + 1, NULL, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	embedder_close(e);
}

/* ---- determinism across threads ----------------------------------------- */

enum { DET_TEXTS = 1000, DET_THREADS = 4 };

struct det {
	struct embedder *e;
	const char *const *texts;
	const size_t *lens;
	float *out;
	int rc;
};

static void *det_run(void *arg)
{
	struct det *d = arg;
	struct lh_error err = { 0 };
	/* in batches of 7, in reverse order, to differ from the main pass */
	d->rc = 0;
	for (size_t end = DET_TEXTS; end > 0;) {
		size_t start = end >= 7 ? end - 7 : 0;
		if (embedder_embed(d->e, d->texts + start, d->lens + start, end - start,
				   d->out + start * SIF_DIM, &err) != 0)
			d->rc = -1;
		end = start;
	}
	lh_error_clear(&err);
	return NULL;
}

TEST(search_embed_builtin_deterministic_across_threads)
{
	NEED_GLOVE();
	struct lh_error err = { 0 };
	struct embedder *e = embedder_open("builtin", NULL, &err);
	CHECK(e != NULL);
	/* a second embedder on the same file shares the mapping; closing it
	 * leaves the first working */
	struct embedder *e2 = embedder_open("builtin", NULL, &err);
	CHECK(e2 != NULL);
	struct glove *g = glove_open(embed_default_glove_path(), &err);
	CHECK(g != NULL);
	static char texts_buf[DET_TEXTS][256];
	static const char *texts[DET_TEXTS];
	static size_t lens[DET_TEXTS];
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < DET_TEXTS; i++) {
		size_t n = 0;
		int words = 1 + i % 12;
		for (int k = 0; k < words; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t l;
			const char *w = glove_word(g, (uint32_t)(x % 50000), &l);
			if (n + l + 2 >= sizeof texts_buf[i])
				break;
			memcpy(texts_buf[i] + n, w, l);
			n += l;
			texts_buf[i][n++] = k % 3 ? ' ' : ',';
		}
		texts[i] = texts_buf[i];
		lens[i] = n;
	}
	glove_close(g);
	float *base = malloc(sizeof *base * DET_TEXTS * SIF_DIM);
	CHECK_EQ_INT(embedder_embed(e2, texts, lens, DET_TEXTS, base, &err), 0);
	embedder_close(e2);
	struct det d[DET_THREADS];
	pthread_t th[DET_THREADS];
	for (int t = 0; t < DET_THREADS; t++) {
		d[t] = (struct det){ e, texts, lens, malloc(sizeof(float) * DET_TEXTS * SIF_DIM), 0 };
		CHECK(pthread_create(&th[t], NULL, det_run, &d[t]) == 0);
	}
	int same = 1;
	for (int t = 0; t < DET_THREADS; t++) {
		pthread_join(th[t], NULL);
		if (d[t].rc != 0 || memcmp(d[t].out, base, sizeof *base * DET_TEXTS * SIF_DIM) != 0)
			same = 0;
		free(d[t].out);
	}
	size_t nonzero = 0;
	for (int i = 0; i < DET_TEXTS; i++)
		nonzero += base[i * SIF_DIM] != 0;
	free(base);
	embedder_close(e);
	CHECK(same);
	CHECK(nonzero > DET_TEXTS * 9 / 10);
}
