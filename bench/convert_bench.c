/* convert_bench.c — our CSV -> Parquet (ingest_infer_fd + parquet_write_input) against
 * DuckDB's own COPY (SELECT * FROM read_csv(f)) TO 'x.parquet' (FORMAT
 * parquet, COMPRESSION snappy) on the same file in the same run.
 *
 *   build/bench/convert_bench [--repeat N] [--threads N] [--memory MiB] FILE.csv
 *
 * --memory sets our conversion's DuckDB memory_limit (ingestd's
 * duckdb_memory_bytes); DuckDB's own COPY keeps its default.
 *
 * --encode-only adds a third measurement: DuckDB loads the CSV into an
 * in-memory table first (not timed), then only `COPY t TO ...` is timed,
 * wall and CPU: the Parquet encoding every design that writes Parquet
 * through DuckDB pays, without any CSV parsing (bench/README.md, "HTTP
 * ingest", uses it for the CPU floor).
 *
 * Each measurement runs in a fresh child process (fork), so peak RSS
 * (wait4's ru_maxrss) and CPU time are per run, not shared. Runs alternate
 * ours/DuckDB; the median wall time of each is reported with MB/s, the
 * ratio, CPU seconds and the largest peak RSS. Output goes to a temp dir.
 */
#include "common/error.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/parquet_writer.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t memory_limit_bytes;     /* --memory; 0 = DuckDB's default */

static int run_ours(const char *csv, const char *out, unsigned threads)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	struct parquet_writer_options opt = { memory_limit_bytes, threads, NULL, NULL };
	uint64_t rows = 0;
	int fd = open(csv, O_RDONLY);
	if (fd < 0)
		return 1;
	double t0 = now();
	if (ingest_infer_fd(&ingest_format_csv, fd, &s, &err)) {
		fprintf(stderr, "infer: %s\n", err.msg);
		return 1;
	}
	double t1 = now();
	if (parquet_write_input(fd, s, out, &opt, &rows, &err)) {
		fprintf(stderr, "convert: %s\n", err.msg);
		return 1;
	}
	double t2 = now();
	size_t nchunks = 0;
	csv_chunks(s, &nchunks);
	fprintf(stderr, "    ours: infer %.2f s, convert %.2f s, %llu rows, %zu chunks\n", t1 - t0,
		t2 - t1, (unsigned long long)rows, nchunks);
	ingest_schema_destroy(s);
	close(fd);
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A fresh in-memory DuckDB (`threads` set if non-zero) runs `setup` (may be
 * NULL), then `copy`. With `label`, the copy's own wall and CPU time are
 * printed under it, from the child, since the setup must not count.
 * Returns 0, or 1 on any failure. */
static int run_duckdb_copy(unsigned threads, const char *setup, const char *copy,
			   const char *label)
{
	duckdb_database db;
	duckdb_connection con;
	duckdb_result res;
	char sql[64];
	if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError)
		return 1;
	if (threads) {
		snprintf(sql, sizeof sql, "SET threads=%u", threads);
		duckdb_query(con, sql, NULL);
	}
	if (setup && duckdb_query(con, setup, NULL) == DuckDBError)
		return 1;
	double t0 = now(), c0 = cpu_seconds();
	if (duckdb_query(con, copy, &res) == DuckDBError) {
		fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&res));
		return 1;
	}
	if (label) {
		printf("%s %6.2f s wall  cpu %6.2f s\n", label, now() - t0, cpu_seconds() - c0);
		fflush(stdout);
	}
	duckdb_destroy_result(&res);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return 0;
}

static int run_duckdb(const char *csv, const char *out, unsigned threads)
{
	char copy[2048];
	snprintf(copy, sizeof copy,
		 "COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet, COMPRESSION snappy)",
		 csv, out);
	return run_duckdb_copy(threads, NULL, copy, NULL);
}

/* --encode-only: load the CSV into a table, then time only its COPY. */
static int run_encode_only(const char *csv, const char *out, unsigned threads)
{
	char setup[1024], copy[1024];
	snprintf(setup, sizeof setup, "CREATE TABLE t AS SELECT * FROM read_csv('%s')", csv);
	snprintf(copy, sizeof copy, "COPY t TO '%s' (FORMAT parquet, COMPRESSION snappy)", out);
	return run_duckdb_copy(threads, setup, copy, "duckdb COPY from a table (encode only):");
}

struct sample {
	double wall, cpu;
	long rss_kib;
};

enum which { OURS, DUCKDB, ENCODE_ONLY };

static int measure(enum which w, const char *csv, const char *out, unsigned threads,
		   struct sample *s)
{
	double t0 = now();
	pid_t pid = fork();
	if (pid == 0)
		_exit(w == OURS     ? run_ours(csv, out, threads)
		      : w == DUCKDB ? run_duckdb(csv, out, threads)
				    : run_encode_only(csv, out, threads));
	int status;
	struct rusage ru;
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	s->wall = now() - t0;
	s->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	s->rss_kib = ru.ru_maxrss;
	unlink(out);
	return 0;
}

static int by_wall(const void *a, const void *b)
{
	double x = ((const struct sample *)a)->wall, y = ((const struct sample *)b)->wall;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int repeat = 3, encode_only = 0;
	unsigned threads = 0;
	const char *csv = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = (int)strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--encode-only"))
			encode_only = 1;
		else if (!strcmp(argv[i], "--memory") && i + 1 < argc)
			memory_limit_bytes = strtoull(argv[++i], NULL, 10) << 20;
		else
			csv = argv[i];
	}
	struct stat st;
	if (!csv || stat(csv, &st) || repeat < 1 || repeat > 99) {
		fprintf(stderr, "usage: convert_bench [--repeat N] [--threads N] [--memory MiB] "
			"[--encode-only] FILE.csv\n");
		return 2;
	}
	char dir[] = "/tmp/lh-bench-XXXXXX", out[64];
	if (!mkdtemp(dir))
		return 1;
	snprintf(out, sizeof out, "%s/x.parquet", dir);
	struct sample ours[99], duck[99];
	for (int r = 0; r < repeat; r++) {
		struct sample enc;
		if (measure(OURS, csv, out, threads, &ours[r]) ||
		    measure(DUCKDB, csv, out, threads, &duck[r]) ||
		    (encode_only && measure(ENCODE_ONLY, csv, out, threads, &enc))) {
			fprintf(stderr, "a run failed\n");
			rmdir(dir);
			return 1;
		}
		fprintf(stderr, "  run %d: ours %.2f s, duckdb %.2f s\n", r + 1, ours[r].wall,
			duck[r].wall);
	}
	rmdir(dir);
	long rss_o = 0, rss_d = 0;
	for (int r = 0; r < repeat; r++) {
		rss_o = ours[r].rss_kib > rss_o ? ours[r].rss_kib : rss_o;
		rss_d = duck[r].rss_kib > rss_d ? duck[r].rss_kib : rss_d;
	}
	qsort(ours, (size_t)repeat, sizeof ours[0], by_wall);
	qsort(duck, (size_t)repeat, sizeof duck[0], by_wall);
	struct sample *o = &ours[repeat / 2], *d = &duck[repeat / 2];
	double mb = (double)st.st_size / 1e6;
	printf("file %s: %.1f MB, median of %d\n", csv, mb, repeat);
	printf("ours   (infer+convert): %6.2f s wall %7.1f MB/s  cpu %6.2f s  peak RSS %5ld MiB\n",
	       o->wall, mb / o->wall, o->cpu, rss_o / 1024);
	printf("duckdb COPY read_csv:   %6.2f s wall %7.1f MB/s  cpu %6.2f s  peak RSS %5ld MiB\n",
	       d->wall, mb / d->wall, d->cpu, rss_d / 1024);
	printf("ratio ours/duckdb wall: %.2f\n", o->wall / d->wall);
	return 0;
}
