/* json_copy_bench.c — DuckDB's own NDJSON -> Parquet, the yardstick of
 * bench/ndjson_bench.py (bench/README.md, "Issue 16: NDJSON ingest"):
 *
 *   build/bench/json_copy_bench FILE.ndjson OUT.parquet
 *
 * runs COPY (FROM read_json('FILE')) TO 'OUT' (FORMAT parquet, COMPRESSION
 * snappy) in a fresh in-memory DuckDB, the same library ingestd links, and
 * prints "rows N wall S". The caller measures CPU and peak RSS (wait4).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3 || strchr(argv[1], '\'') || strchr(argv[2], '\'')) {
		fprintf(stderr, "usage: json_copy_bench FILE.ndjson OUT.parquet (no quotes)\n");
		return 2;
	}
	char copy[8192];
	snprintf(copy, sizeof copy,
		 "COPY (FROM read_json('%s')) TO '%s' (FORMAT parquet, COMPRESSION snappy)",
		 argv[1], argv[2]);
	duckdb_database db;
	duckdb_connection con;
	duckdb_result res;
	if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "duckdb: cannot open\n");
		return 1;
	}
	double t0 = now();
	if (duckdb_query(con, copy, &res) == DuckDBError) {
		fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		return 1;
	}
	double wall = now() - t0;
	printf("rows %lld wall %.3f\n", (long long)duckdb_value_int64(&res, 0, 0), wall);
	duckdb_destroy_result(&res);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return 0;
}
