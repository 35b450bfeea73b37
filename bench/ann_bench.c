/* ann_bench.c — the ANN curve of src/search/ann.h (usearch) on the 341,479
 * GloVe 6B 100-d word vectors (issue 13 point 8; bench/README.md "ANN on the
 * GloVe vectors"). Driven by bench/ann_bench.py, which also runs hnswlib on
 * the same vectors and queries.
 *
 *   ann_bench prepare GLOVE.lhwv OUTDIR [NQ]
 *     normalises every vector, picks NQ (1,000) query words with a seeded
 *     generator, and writes OUTDIR/ann_base.f32 (the other words, row order
 *     kept), ann_queries.f32 and ann_truth.u32 (each query's exact 10 nearest
 *     base rows by cosine, 2 threads, in double).
 *   ann_bench run OUTDIR M EFC THREADS [f16]
 *     builds with ann_build (M, ef_construction, THREADS; vectors stored as
 *     f16 with "f16"), views the bytes,
 *     and for each ef searches the 1,000 queries one at a time on one thread;
 *     prints one JSON object: build seconds, peak RSS of the build, bytes,
 *     and per ef the recall@10 against ann_truth and the queries per second.
 *
 * The GloVe file is read directly (format: docs/embeddings.md, the LHWV0001
 * header), not through src/search/glove.h, so the bench depends only on ann.h.
 */
#include "search/ann.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 10

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the calling thread: the search figures on a shared, loaded
 * box (the wall-clock QPS is printed too). */
static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (all build threads). */
static double proc_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "ann_bench: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	exit(1);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc((size_t)n + 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n)
		die(path);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		die(path);
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- prepare ---------------------------------------------------------------- */

struct truth_job {
	const float *base;
	const float *queries;
	size_t nbase, nq;
	unsigned dim;
	unsigned id, threads;
	uint32_t *truth;
};

static void *truth_thread(void *arg)
{
	struct truth_job *j = arg;
	for (size_t qi = j->id; qi < j->nq; qi += j->threads) {
		const float *q = j->queries + qi * j->dim;
		double best[K];
		uint32_t ids[K];
		size_t m = 0;
		for (size_t i = 0; i < j->nbase; i++) {
			const float *v = j->base + i * j->dim;
			double s = 0;
			for (unsigned d = 0; d < j->dim; d++)
				s += (double)q[d] * v[d];
			if (m == K && s <= best[K - 1])
				continue;
			size_t at = m < K ? m++ : K - 1;
			while (at > 0 && best[at - 1] < s) {
				best[at] = best[at - 1];
				ids[at] = ids[at - 1];
				at--;
			}
			best[at] = s;
			ids[at] = (uint32_t)i;
		}
		memcpy(j->truth + qi * K, ids, sizeof ids);
	}
	return NULL;
}

static int prepare(const char *glove, const char *outdir, size_t nq)
{
	size_t len;
	unsigned char *g = read_file(glove, &len);
	if (len < 64 || memcmp(g, "LHWV0001", 8) != 0)
		die("not an LHWV0001 file");
	uint32_t dim = le32(g + 8), count = le32(g + 12);
	uint64_t voff = le64(g + 24);
	if (dim == 0 || voff > len || (uint64_t)count * dim * 4 > len - voff)
		die("the vectors do not fit the file");
	const float *raw = (const float *)(g + voff);

	/* a seeded sample of nq distinct words (splitmix64 + Fisher-Yates prefix) */
	uint32_t *perm = malloc(count * sizeof *perm);
	for (uint32_t i = 0; i < count; i++)
		perm[i] = i;
	uint64_t st = 20261206;
	for (size_t i = 0; i < nq; i++) {
		uint64_t z = (st += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		size_t j = i + (size_t)(z % (count - i));
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	unsigned char *is_query = calloc(count, 1);
	for (size_t i = 0; i < nq; i++)
		is_query[perm[i]] = 1;

	size_t nbase = count - nq, zero = 0;
	float *base = malloc(nbase * dim * sizeof *base);
	float *queries = malloc(nq * dim * sizeof *queries);
	size_t b = 0;
	for (uint32_t i = 0; i < count; i++) {
		const float *v = raw + (size_t)i * dim;
		double norm = 0;
		for (uint32_t d = 0; d < dim; d++)
			norm += (double)v[d] * v[d];
		norm = sqrt(norm);
		if (norm == 0)
			zero++;
		float *dst = is_query[i] ? NULL : base + b++ * dim;
		if (!dst)
			continue;
		for (uint32_t d = 0; d < dim; d++)
			dst[d] = norm ? (float)(v[d] / norm) : 0.0f;
	}
	for (size_t i = 0; i < nq; i++) {
		const float *v = raw + (size_t)perm[i] * dim;
		double norm = 0;
		for (uint32_t d = 0; d < dim; d++)
			norm += (double)v[d] * v[d];
		norm = sqrt(norm);
		for (uint32_t d = 0; d < dim; d++)
			queries[i * dim + d] = norm ? (float)(v[d] / norm) : 0.0f;
	}

	double t0 = now();
	uint32_t *truth = malloc(nq * K * sizeof *truth);
	enum { T = 2 };
	pthread_t tid[T];
	struct truth_job jobs[T];
	for (unsigned t = 0; t < T; t++) {
		jobs[t] = (struct truth_job){ base, queries, nbase, nq, dim, t, T, truth };
		pthread_create(&tid[t], NULL, truth_thread, &jobs[t]);
	}
	for (unsigned t = 0; t < T; t++)
		pthread_join(tid[t], NULL);
	fprintf(stderr, "ann_bench: %u words (%zu zero), %zu base, %zu queries, truth in %.1f s\n",
		count, zero, nbase, nq, now() - t0);

	uint32_t hdr[3] = { (uint32_t)nbase, (uint32_t)nq, dim };
	write_file(outdir, "ann_meta.u32", hdr, sizeof hdr);
	write_file(outdir, "ann_base.f32", base, nbase * dim * sizeof *base);
	write_file(outdir, "ann_queries.f32", queries, nq * dim * sizeof *queries);
	write_file(outdir, "ann_truth.u32", truth, nq * K * sizeof *truth);
	uint32_t *qwords = malloc(nq * sizeof *qwords);
	for (size_t i = 0; i < nq; i++)
		qwords[i] = perm[i];
	write_file(outdir, "ann_query_words.u32", qwords, nq * sizeof *qwords);
	free(qwords);
	free(truth);
	free(base);
	free(queries);
	free(is_query);
	free(perm);
	free(g);
	return 0;
}

/* ---- run --------------------------------------------------------------------- */

/* VmHWM (peak RSS) in KiB; `reset` first restarts it (Linux clear_refs 5). */
static long peak_rss_kib(int reset)
{
	if (reset) {
		FILE *c = fopen("/proc/self/clear_refs", "w");
		if (c) {
			fputs("5", c);
			fclose(c);
		}
		return 0;
	}
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

static int run(const char *dir, unsigned m, unsigned efc, unsigned threads, unsigned f16)
{
	char path[4096];
	size_t len;
	snprintf(path, sizeof path, "%s/ann_meta.u32", dir);
	uint32_t *meta = read_file(path, &len);
	size_t nbase = meta[0], nq = meta[1];
	unsigned dim = meta[2];
	snprintf(path, sizeof path, "%s/ann_base.f32", dir);
	float *base = read_file(path, &len);
	snprintf(path, sizeof path, "%s/ann_queries.f32", dir);
	float *queries = read_file(path, &len);
	snprintf(path, sizeof path, "%s/ann_truth.u32", dir);
	uint32_t *truth = read_file(path, &len);

	struct ann_params p = { .connectivity = m, .expansion_add = efc, .threads = threads,
				.storage_f16 = f16 };
	struct lh_error err = { 0 };
	struct lh_buf bytes;
	lh_buf_init(&bytes, (size_t)1 << 34);
	long rss_before = rss_kib();
	peak_rss_kib(1);
	double t0 = now(), c0 = proc_cpu_now();
	if (ann_build(base, nbase, dim, &p, &bytes, &err)) {
		fprintf(stderr, "ann_bench: %s (%s)\n", err.msg, err.detail);
		return 1;
	}
	double build_s = now() - t0, build_cpu_s = proc_cpu_now() - c0;
	long peak = peak_rss_kib(0);
	t0 = now();
	struct ann *a = ann_view(bytes.data, bytes.len, dim, &err);
	if (!a) {
		fprintf(stderr, "ann_bench: %s (%s)\n", err.msg, err.detail);
		return 1;
	}
	double view_s = now() - t0;

	printf("{\"lib\": \"%s\", \"M\": %u, \"ef_construction\": %u, \"threads\": %u, "
	       "\"n\": %zu, \"queries\": %zu, \"build_s\": %.2f, \"build_cpu_s\": %.2f, \"view_s\": %.4f, "
	       "\"bytes\": %zu, \"rss_before_mib\": %.0f, \"build_peak_rss_mib\": %.0f, \"curve\": [",
	       f16 ? "usearch-f16" : "usearch", m, efc, threads, nbase, nq, build_s, build_cpu_s, view_s, bytes.len, rss_before / 1024.0,
	       peak / 1024.0);
	static const unsigned efs[] = { 10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024 };
	uint64_t keys[K];
	float dist[K];
	for (size_t e = 0; e < sizeof efs / sizeof efs[0]; e++) {
		size_t hits = 0, n;
		/* one warm-up pass over the first 100 queries */
		for (size_t qi = 0; qi < nq && qi < 100; qi++)
			ann_search(a, queries + qi * dim, K, efs[e], NULL, NULL, keys, dist, &n, &err);
		t0 = now();
		c0 = cpu_now();
		for (size_t qi = 0; qi < nq; qi++) {
			if (ann_search(a, queries + qi * dim, K, efs[e], NULL, NULL, keys, dist, &n, &err))
				return 1;
			const uint32_t *t = truth + qi * K;
			for (size_t i = 0; i < n; i++)
				for (size_t j = 0; j < K; j++)
					if (keys[i] == t[j]) {
						hits++;
						break;
					}
		}
		double s = now() - t0, cs = cpu_now() - c0;
		printf("%s{\"ef\": %u, \"recall\": %.4f, \"qps\": %.0f, \"cpu_qps\": %.0f}",
		       e ? ", " : "", efs[e], (double)hits / (double)(nq * K), (double)nq / s,
		       (double)nq / cs);
		fflush(stdout);
	}
	printf("]}\n");
	ann_close(a);
	lh_buf_free(&bytes);
	free(meta);
	free(base);
	free(queries);
	free(truth);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "prepare") == 0)
		return prepare(argv[2], argv[3], argc > 4 ? strtoul(argv[4], NULL, 10) : 1000);
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "run") == 0)
		return run(argv[2], (unsigned)strtoul(argv[3], NULL, 10), (unsigned)strtoul(argv[4], NULL, 10),
			   (unsigned)strtoul(argv[5], NULL, 10), argc == 7 && strcmp(argv[6], "f16") == 0);
	fprintf(stderr, "usage: ann_bench prepare GLOVE.lhwv OUTDIR [NQ] | run OUTDIR M EFC THREADS [f16]\n");
	return 2;
}
