/* exact_knn.c — the in-process exact peer of bench/search/speed.py: DuckDB's
 * own exact nearest-neighbour search, `ORDER BY array_cosine_distance(vec,
 * q) LIMIT k`, over the same embeddings an index part holds, timed per
 * query. speed.py compares the served vector search (HNSW over HTTP)
 * against it: its recall (this program's answers are the truth) and its
 * latency (the ratio target is <= 0.2x).
 *
 *   exact_knn VECTORS OFFSET ROWS DIM QUERIES NQ K THREADS
 *
 * VECTORS: a file holding ROWS x DIM little-endian float32 at byte OFFSET
 * (an index part's vector section, src/search/segment.h). QUERIES: NQ x DIM
 * float32 from offset 0. The rows go into an in-memory table
 * v(id INTEGER, vec FLOAT[DIM]) through DuckDB's appender (id = the row's
 * position), then one prepared statement
 *   SELECT id, array_cosine_distance(vec, $1::FLOAT[DIM]) AS d FROM v
 *   ORDER BY d LIMIT K
 * runs for every query (3 warm-up runs first), on THREADS DuckDB threads.
 * Prints JSON: load_ms, times_ms[NQ], ids[NQ][<=K], dist[NQ][<=K].
 *
 * A benchmark helper, not part of the binary: plain C17, DuckDB's C API,
 * built by `make bench-search` (or speed.py) against deps/duckdb.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static float *read_floats(const char *path, unsigned long long off, size_t n)
{
	FILE *f = fopen(path, "rb");
	float *buf = malloc(n * sizeof *buf + 1);
	if (!f || !buf || fseek(f, (long)off, SEEK_SET) || fread(buf, sizeof *buf, n, f) != n) {
		fprintf(stderr, "exact_knn: cannot read %zu floats at %llu from %s\n", n, off, path);
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	unsigned long long off, rows, dim, nq, k, threads;
	if (argc != 9 || parse_u64(argv[2], &off) || parse_u64(argv[3], &rows) ||
	    parse_u64(argv[4], &dim) || parse_u64(argv[6], &nq) || parse_u64(argv[7], &k) ||
	    parse_u64(argv[8], &threads) || !dim || dim > 4096 || !k || k > 1000 || !threads) {
		fprintf(stderr, "usage: exact_knn VECTORS OFFSET ROWS DIM QUERIES NQ K THREADS\n");
		return 2;
	}
	int rc = 1;
	float *vecs = read_floats(argv[1], off, (size_t)(rows * dim));
	float *qs = read_floats(argv[5], 0, (size_t)(nq * dim));
	double *times = calloc((size_t)nq + 1, sizeof *times);
	long long *ids = calloc((size_t)(nq * k) + 1, sizeof *ids);
	double *dist = calloc((size_t)(nq * k) + 1, sizeof *dist);
	size_t *got = calloc((size_t)nq + 1, sizeof *got);
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_config cfg = NULL;
	duckdb_appender app = NULL;
	duckdb_prepared_statement st = NULL;
	duckdb_logical_type types[2] = {NULL, NULL}, ftype = NULL;
	duckdb_data_chunk chunk = NULL;
	duckdb_result r;
	char sql[512], nthreads[32], *err = NULL;
	if (!vecs || !qs || !times || !ids || !dist || !got)
		goto out;
	duckdb_create_config(&cfg);
	snprintf(nthreads, sizeof nthreads, "%llu", threads);
	duckdb_set_config(cfg, "threads", nthreads);
	if (duckdb_open_ext(NULL, &db, cfg, &err) == DuckDBError || duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "exact_knn: open failed: %s\n", err ? err : "?");
		goto out;
	}
	double t0 = now_ms();
	snprintf(sql, sizeof sql, "CREATE TABLE v (id INTEGER, vec FLOAT[%llu])", dim);
	if (duckdb_query(con, sql, &r) == DuckDBError) {
		fprintf(stderr, "exact_knn: %s\n", duckdb_result_error(&r));
		duckdb_destroy_result(&r);
		goto out;
	}
	duckdb_destroy_result(&r);
	if (duckdb_appender_create(con, NULL, "v", &app) == DuckDBError) {
		fprintf(stderr, "exact_knn: appender: %s\n", duckdb_appender_error(app));
		goto out;
	}
	ftype = duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
	types[0] = duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
	types[1] = duckdb_create_array_type(ftype, (idx_t)dim);
	chunk = duckdb_create_data_chunk(types, 2);
	idx_t cap = duckdb_vector_size();
	for (unsigned long long base = 0; base < rows; base += cap) {
		idx_t n = rows - base < cap ? (idx_t)(rows - base) : cap;
		duckdb_data_chunk_reset(chunk);
		int32_t *idcol = duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0));
		float *child = duckdb_vector_get_data(
			duckdb_array_vector_get_child(duckdb_data_chunk_get_vector(chunk, 1)));
		for (idx_t i = 0; i < n; i++)
			idcol[i] = (int32_t)(base + i);
		memcpy(child, vecs + base * dim, (size_t)(n * dim) * sizeof(float));
		duckdb_data_chunk_set_size(chunk, n);
		if (duckdb_append_data_chunk(app, chunk) == DuckDBError) {
			fprintf(stderr, "exact_knn: append: %s\n", duckdb_appender_error(app));
			goto out;
		}
	}
	if (duckdb_appender_close(app) == DuckDBError) {
		fprintf(stderr, "exact_knn: append: %s\n", duckdb_appender_error(app));
		goto out;
	}
	double load_ms = now_ms() - t0;
	snprintf(sql, sizeof sql,
		 "SELECT id, array_cosine_distance(vec, $1::FLOAT[%llu]) AS d FROM v ORDER BY d LIMIT %llu",
		 dim, k);
	if (duckdb_prepare(con, sql, &st) == DuckDBError) {
		fprintf(stderr, "exact_knn: %s\n", duckdb_prepare_error(st));
		goto out;
	}
	for (long long qi = -3; qi < (long long)nq; qi++) {  /* 3 warm-up runs */
		const float *q = qs + (size_t)(qi < 0 ? 0 : qi) * dim;
		duckdb_value *vals = malloc((size_t)dim * sizeof *vals);
		if (!vals)
			goto out;
		for (unsigned long long j = 0; j < dim; j++)
			vals[j] = duckdb_create_float(q[j]);
		duckdb_value arr = duckdb_create_array_value(ftype, vals, (idx_t)dim);
		for (unsigned long long j = 0; j < dim; j++)
			duckdb_destroy_value(&vals[j]);
		free(vals);
		double q0 = now_ms();
		int bad = duckdb_bind_value(st, 1, arr) == DuckDBError ||
			  duckdb_execute_prepared(st, &r) == DuckDBError;
		duckdb_destroy_value(&arr);
		if (bad) {
			fprintf(stderr, "exact_knn: query: %s\n", duckdb_result_error(&r));
			duckdb_destroy_result(&r);
			goto out;
		}
		idx_t nrows = duckdb_row_count(&r);
		if (qi >= 0) {
			for (idx_t i = 0; i < nrows && i < k; i++) {
				ids[(size_t)qi * k + i] = duckdb_value_int64(&r, 0, i);
				dist[(size_t)qi * k + i] = duckdb_value_double(&r, 1, i);
			}
			got[qi] = nrows < k ? nrows : k;
		}
		duckdb_destroy_result(&r);
		if (qi >= 0)
			times[qi] = now_ms() - q0;
	}
	printf("{\"duckdb\": \"%s\", \"load_ms\": %.1f, \"threads\": %llu, \"times_ms\": [",
	       duckdb_library_version(), load_ms, threads);
	for (unsigned long long qi = 0; qi < nq; qi++)
		printf("%s%.3f", qi ? ", " : "", times[qi]);
	printf("],\n \"ids\": [");
	for (unsigned long long qi = 0; qi < nq; qi++) {
		printf("%s[", qi ? ", " : "");
		for (size_t i = 0; i < got[qi]; i++)
			printf("%s%lld", i ? ", " : "", ids[qi * k + i]);
		printf("]");
	}
	printf("],\n \"dist\": [");
	for (unsigned long long qi = 0; qi < nq; qi++) {
		printf("%s[", qi ? ", " : "");
		for (size_t i = 0; i < got[qi]; i++)
			printf("%s%.7g", i ? ", " : "", dist[qi * k + i]);
		printf("]");
	}
	printf("]}\n");
	rc = 0;
out:
	if (st)
		duckdb_destroy_prepare(&st);
	if (app)
		duckdb_appender_destroy(&app);
	if (chunk)
		duckdb_destroy_data_chunk(&chunk);
	for (int i = 0; i < 2; i++)
		if (types[i])
			duckdb_destroy_logical_type(&types[i]);
	if (ftype)
		duckdb_destroy_logical_type(&ftype);
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	if (cfg)
		duckdb_destroy_config(&cfg);
	free(vecs);
	free(qs);
	free(times);
	free(ids);
	free(dist);
	free(got);
	return rc;
}
