/* parquet_writer.c — CSV -> Parquet through DuckDB's C API; the only file of
 * ingestd that includes <duckdb.h>.
 *
 * Design notes:
 *   1. One in-memory DuckDB per conversion, configured from the options
 *      (memory_limit, threads, temp_directory, preserve_insertion_order).
 *      It holds no tables; the only data path is the table function below.
 *   2. The table function `lh_csv_scan()` reads the spooled file chunk by
 *      chunk using the chunk index infer_fd() built: each chunk starts at a
 *      record start, so a chunk is scanned on its own with csv_scan_record()
 *      (the one dialect) from its recorded line. Memory: one chunk buffer
 *      (INFER_CHUNK_BYTES + one record) per scanning thread.
 *   3. Values are converted with infer.h's parsers, the same code that
 *      decided the column types, and written as native DuckDB values
 *      (BOOLEAN, BIGINT, DOUBLE, DATE days, TIMESTAMP / TIMESTAMPTZ micros in
 *      UTC); strings are copied verbatim; empty fields set the validity bit.
 *   4. File order: DuckDB's C API cannot report batch indexes for a table
 *      function, so with preserve_insertion_order (the default) COPY ... TO
 *      parquet runs the pipeline on one thread, which scans chunks in order
 *      (ADR 0020). The scan is still written for several threads (a chunk
 *      counter under a mutex, per-thread state), but max_threads is 1:
 *      rows come out in file order, tested on a multi-chunk file.
 *   5. Any failure inside DuckDB callbacks is reported through
 *      duckdb_function_set_error / duckdb_init_set_error and surfaces as the
 *      COPY's error; the partial output file is then removed.
 */
#include "ingestd/parquet_writer.h"

#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ingestd/csv.h"
#include "ingestd/infer.h"

/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scan_ctx {                /* extra info: lives for the whole conversion */
	int fd;
	const struct ingest_schema *schema;
};

struct scan_global {
	pthread_mutex_t lock;
	size_t next_chunk;
};

struct scan_local {
	char *buf;
	size_t cap, len, pos;
	int active;              /* a chunk is loaded and not yet exhausted */
	struct csv_scanner sc;
};

static duckdb_logical_type logical_type(enum ingest_type t)
{
	switch (t) {
	case INGEST_BOOL:
		return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
	case INGEST_INT64:
		return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	case INGEST_FLOAT64:
		return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
	case INGEST_DATE32:
		return duckdb_create_logical_type(DUCKDB_TYPE_DATE);
	case INGEST_TIMESTAMP:
		return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
	case INGEST_TIMESTAMPTZ:
		return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ);
	case INGEST_UTF8:
	default:
		return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	}
}

static void scan_bind(duckdb_bind_info info)
{
	struct scan_ctx *ctx = duckdb_bind_get_extra_info(info);
	for (size_t i = 0; i < ctx->schema->ncols; i++) {
		duckdb_logical_type t = logical_type(ctx->schema->columns[i].type);
		duckdb_bind_add_result_column(info, ctx->schema->columns[i].name, t);
		duckdb_destroy_logical_type(&t);
	}
	duckdb_bind_set_cardinality(info, ctx->schema->row_count, true);
}

static void global_destroy(void *p)
{
	struct scan_global *g = p;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void scan_init(duckdb_init_info info)
{
	struct scan_global *g = xcalloc(1, sizeof *g);
	pthread_mutex_init(&g->lock, NULL);
	duckdb_init_set_init_data(info, g, global_destroy);
	duckdb_init_set_max_threads(info, 1);   /* invariant 4 */
}

static void local_destroy(void *p)
{
	struct scan_local *l = p;
	csv_scanner_free(&l->sc);
	free(l->buf);
	free(l);
}

static void scan_local_init(duckdb_init_info info)
{
	struct scan_local *l = xcalloc(1, sizeof *l);
	csv_scanner_init(&l->sc);
	duckdb_init_set_init_data(info, l, local_destroy);
}

/* Load the next unclaimed chunk into l->buf. Returns 1 loaded, 0 none left,
 * -1 read error. */
static int load_chunk(const struct scan_ctx *ctx, struct scan_global *g, struct scan_local *l)
{
	const struct ingest_schema *s = ctx->schema;
	pthread_mutex_lock(&g->lock);
	size_t i = g->next_chunk;
	if (i < s->nchunks)
		g->next_chunk++;
	pthread_mutex_unlock(&g->lock);
	if (i >= s->nchunks)
		return 0;
	uint64_t off = s->chunks[i].offset;
	uint64_t end = i + 1 < s->nchunks ? s->chunks[i + 1].offset : s->data_end;
	size_t n = (size_t)(end - off);
	if (n > l->cap) {
		free(l->buf);
		l->cap = n;
		l->buf = xmalloc(l->cap);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(ctx->fd, l->buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	l->len = n;
	l->pos = 0;
	/* a chunk starts at a record boundary after the header (invariant 2) */
	l->sc.line = s->chunks[i].line;
	l->sc.expected = s->ncols;
	l->sc.started = 1;
	l->active = 1;
	return 1;
}

struct out_col {
	duckdb_vector vec;
	void *data;
	uint64_t *validity;
	enum ingest_type type;
};

static int put_value(struct out_col *c, idx_t row, const struct csv_field *f)
{
	if (f->len == 0) {
		if (!c->validity) {
			duckdb_vector_ensure_validity_writable(c->vec);
			c->validity = duckdb_vector_get_validity(c->vec);
		}
		duckdb_validity_set_row_invalid(c->validity, row);
		return 0;
	}
	switch (c->type) {
	case INGEST_BOOL: {
		int b;
		if (infer_parse_bool(f->ptr, f->len, &b))
			return -1;
		((bool *)c->data)[row] = b;
		return 0;
	}
	case INGEST_INT64:
		return infer_parse_int64(f->ptr, f->len, &((int64_t *)c->data)[row]);
	case INGEST_FLOAT64:
		return infer_parse_float64(f->ptr, f->len, &((double *)c->data)[row]);
	case INGEST_DATE32:
		return infer_parse_date(f->ptr, f->len, &((duckdb_date *)c->data)[row].days);
	case INGEST_TIMESTAMP:
	case INGEST_TIMESTAMPTZ: {
		int zoned;
		if (infer_parse_timestamp(f->ptr, f->len, &((int64_t *)c->data)[row], &zoned))
			return -1;
		return zoned == (c->type == INGEST_TIMESTAMPTZ) ? 0 : -1;
	}
	case INGEST_UTF8:
	default:
		duckdb_vector_assign_string_element_len(c->vec, row, f->ptr, f->len);
		return 0;
	}
}

static void scan_function(duckdb_function_info info, duckdb_data_chunk output)
{
	struct scan_ctx *ctx = duckdb_function_get_extra_info(info);
	struct scan_global *g = duckdb_function_get_init_data(info);
	struct scan_local *l = duckdb_function_get_local_init_data(info);
	const struct ingest_schema *s = ctx->schema;
	idx_t cap = duckdb_vector_size(), row = 0;
	struct out_col cols_small[64];
	struct out_col *cols = s->ncols <= 64 ? cols_small : xmalloc(s->ncols * sizeof *cols);
	struct lh_error err = { 0 };

	for (size_t i = 0; i < s->ncols; i++) {
		cols[i].vec = duckdb_data_chunk_get_vector(output, i);
		cols[i].data = duckdb_vector_get_data(cols[i].vec);
		cols[i].validity = NULL;
		cols[i].type = s->columns[i].type;
	}
	while (row < cap) {
		if (!l->active) {
			int r = load_chunk(ctx, g, l);
			if (r < 0) {
				duckdb_function_set_error(info, "reading the spooled CSV failed");
				goto out;
			}
			if (r == 0)
				break;
		}
		size_t used = 0;
		int r = csv_scan_record(&l->sc, l->buf + l->pos, l->len - l->pos, 1, &used, &err);
		if (r == CSV_END) {
			l->active = 0;
			continue;
		}
		if (r != CSV_RECORD) {
			duckdb_function_set_error(info, err.msg[0] ? err.msg : "CSV changed after inference");
			goto out;
		}
		l->pos += used;
		for (size_t i = 0; i < s->ncols; i++) {
			if (put_value(&cols[i], row, &l->sc.fields[i])) {
				char msg[160];
				snprintf(msg, sizeof msg, "line %llu: value of column %zu does not match its inferred type",
					 (unsigned long long)l->sc.record_line, i + 1);
				duckdb_function_set_error(info, msg);
				goto out;
			}
		}
		row++;
	}
out:
	duckdb_data_chunk_set_size(output, row);
	lh_error_clear(&err);
	if (cols != cols_small)
		free(cols);
}

/* 'path' as an SQL string literal (single quotes doubled); caller frees. */
static char *sql_quote(const char *path)
{
	size_t n = strlen(path), k = 0;
	char *q = xmalloc(2 * n + 3);
	q[k++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (path[i] == '\'')
			q[k++] = '\'';
		q[k++] = path[i];
	}
	q[k++] = '\'';
	q[k] = 0;
	return q;
}

static int set_config(duckdb_config cfg, const char *name, const char *value,
		      struct lh_error *err)
{
	if (duckdb_set_config(cfg, name, value) == DuckDBError)
		return lh_fail(err, 500, "convert_failed", "invalid DuckDB setting %s=%s", name, value);
	return 0;
}

int parquet_write_csv(int csv_fd, const struct ingest_schema *schema, const char *out_path,
		      const struct parquet_writer_options *opt, uint64_t *rows_out,
		      struct lh_error *err)
{
	int rc = -1, have_result = 0;
	duckdb_config cfg = NULL;
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_table_function tf = NULL;
	duckdb_result res;
	char *open_err = NULL, *quoted = NULL, *sql = NULL;
	struct scan_ctx *ctx = xcalloc(1, sizeof *ctx);
	char val[64];

	ctx->fd = csv_fd;
	ctx->schema = schema;
	if (duckdb_create_config(&cfg) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not configure DuckDB");
		goto out;
	}
	if (opt && opt->memory_limit_bytes) {
		snprintf(val, sizeof val, "%lluKiB",
			 (unsigned long long)(opt->memory_limit_bytes + 1023) / 1024);
		if (set_config(cfg, "memory_limit", val, err))
			goto out;
	}
	if (opt && opt->threads) {
		snprintf(val, sizeof val, "%u", opt->threads);
		if (set_config(cfg, "threads", val, err))
			goto out;
	}
	if (opt && opt->temp_directory && set_config(cfg, "temp_directory", opt->temp_directory, err))
		goto out;
	if (set_config(cfg, "preserve_insertion_order", "true", err))
		goto out;
	if (duckdb_open_ext(NULL, &db, cfg, &open_err) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not open DuckDB: %s",
			open_err ? open_err : "unknown error");
		goto out;
	}
	if (duckdb_connect(db, &con) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not connect to DuckDB");
		goto out;
	}
	tf = duckdb_create_table_function();
	duckdb_table_function_set_name(tf, "lh_csv_scan");
	duckdb_table_function_set_extra_info(tf, ctx, NULL);
	duckdb_table_function_set_bind(tf, scan_bind);
	duckdb_table_function_set_init(tf, scan_init);
	duckdb_table_function_set_local_init(tf, scan_local_init);
	duckdb_table_function_set_function(tf, scan_function);
	if (duckdb_register_table_function(con, tf) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not register the CSV scan with DuckDB");
		goto out;
	}
	quoted = sql_quote(out_path);
	sql = xasprintf("COPY (SELECT * FROM lh_csv_scan()) TO %s "
			"(FORMAT parquet, COMPRESSION snappy)", quoted);
	have_result = 1;
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		const char *why = duckdb_result_error(&res) ? duckdb_result_error(&res)
							    : "unknown error";
		/* DuckDB reports a full disk only as text: its IO error carries
		 * strerror(ENOSPC) (or EDQUOT). That is the disk, not the data. */
		if (strstr(why, strerror(ENOSPC)) || strstr(why, strerror(EDQUOT))) {
			lh_fail(err, 507, "insufficient_storage",
				"the ingest spool is out of disk space (converting to Parquet)");
			log_event("error", "ingestd", "parquet conversion: %s", why);
		} else {
			lh_fail(err, 500, "convert_failed", "writing Parquet failed: %s", why);
		}
		goto out;
	}
	uint64_t rows = duckdb_rows_changed(&res);
	if (rows != schema->row_count) {
		lh_fail(err, 500, "convert_failed", "wrote %llu rows, expected %llu",
			(unsigned long long)rows, (unsigned long long)schema->row_count);
		goto out;
	}
	if (rows_out)
		*rows_out = rows;
	rc = 0;
out:
	if (have_result)
		duckdb_destroy_result(&res);
	if (tf)
		duckdb_destroy_table_function(&tf);
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	if (cfg)
		duckdb_destroy_config(&cfg);
	if (open_err)
		duckdb_free(open_err);
	if (rc)
		unlink(out_path);
	free(quoted);
	free(sql);
	free(ctx);
	return rc;
}
