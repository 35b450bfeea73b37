/* query_bench.c — the in-process baseline for bench/query_bench.py: run one
 * SQL query N times in DuckDB (same version, same threads) over a view on
 * the given Parquet file, print p50 and p99 latency in ms as JSON.
 *
 *   query_bench PARQUET N THREADS SQL [prepared]   (the view is named "bench")
 *
 * With "prepared", the query is prepared once and executed N times (the
 * floor: execution only, as queryd's workers do for a repeated text);
 * without, each run is a duckdb_query (parse, bind, plan, execute). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
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

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5 && !(argc == 6 && !strcmp(argv[5], "prepared"))) {
		fprintf(stderr, "usage: query_bench PARQUET N THREADS SQL [prepared]\n");
		return 2;
	}
	int prepared = argc == 6;
	duckdb_prepared_statement st = NULL;
	int n = (int)strtol(argv[2], NULL, 10);
	duckdb_database db;
	duckdb_connection con;
	duckdb_config cfg;
	duckdb_result r;
	char view[4096], *err = NULL;
	duckdb_create_config(&cfg);
	duckdb_set_config(cfg, "threads", argv[3]);
	if (duckdb_open_ext(NULL, &db, cfg, &err) == DuckDBError || duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "open failed: %s\n", err ? err : "?");
		return 1;
	}
	snprintf(view, sizeof view, "CREATE VIEW bench AS SELECT * FROM read_parquet('%s')", argv[1]);
	if (duckdb_query(con, view, &r) == DuckDBError) {
		fprintf(stderr, "%s\n", duckdb_result_error(&r));
		return 1;
	}
	duckdb_destroy_result(&r);
	if (prepared && duckdb_prepare(con, argv[4], &st) == DuckDBError) {
		fprintf(stderr, "%s\n", duckdb_prepare_error(st));
		return 1;
	}
	double *t = calloc((size_t)n, sizeof *t);
	for (int i = -5; i < n; i++) {   /* 5 warm-up runs */
		double t0 = now_ms();
		if ((prepared ? duckdb_execute_prepared(st, &r) : duckdb_query(con, argv[4], &r)) ==
		    DuckDBError) {
			fprintf(stderr, "%s\n", duckdb_result_error(&r));
			return 1;
		}
		duckdb_destroy_result(&r);
		if (i >= 0)
			t[i] = now_ms() - t0;
	}
	qsort(t, (size_t)n, sizeof *t, cmp);
	printf("{\"p50_ms\": %.3f, \"p99_ms\": %.3f}\n", t[n / 2], t[(n * 99) / 100]);
	free(t);
	if (st)
		duckdb_destroy_prepare(&st);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	duckdb_destroy_config(&cfg);
	return 0;
}
