/* parquet_scan.c — an uploaded Parquet file read through DuckDB's Parquet
 * reader (parquet_scan.h, ADR 0184). A DuckDB adapter file: it includes
 * <duckdb.h>; duckdb_open.h opens the database.
 *
 * DESIGN NOTES
 *   1. One in-memory DuckDB per call (per stream), opened by lh_duckdb_open
 *      with LH_PARQUET_SCAN_MEMORY_BYTES and LH_PARQUET_SCAN_THREADS, no
 *      extension loading, TimeZone UTC (so a cast to TIMESTAMPTZ reads a
 *      zoneless instant as UTC, never as the host's local time). It holds no
 *      tables; the only input is read_parquet('/proc/self/fd/<fd>').
 *   2. The stream is DuckDB's streaming result of the SELECT (pending
 *      streaming, then duckdb_fetch_chunk), each chunk turned into one Arrow
 *      array by DuckDB itself (duckdb_data_chunk_to_arrow) with the result's
 *      Arrow options, so memory stays at a few chunks (2,048 rows each)
 *      whatever the row count, and rows come in file order
 *      (preserve_insertion_order). A chunk is as big as its rows' values,
 *      which the file's size does not bound (a dictionary repeats one big
 *      string for every row): parquet_reader.c note 6 refuses, before any
 *      stream, a file whose values take more than LH_PARQUET_DECODED_FACTOR
 *      x [ingestd] max_upload_bytes once read, which bounds every chunk.
 *      Chunks are not split by bytes.
 *   3. Errors: scan_error() turns DuckDB's text into plain words (see the
 *      header); DuckDB's own text, which names the /proc path, is only in the
 *      log-only detail or the log.
 *   4. The Arrow schema is the stream's for its whole life (as batch.c's):
 *      DuckDB's arrow scan keeps the schemas it obtains without releasing
 *      them, so get_schema() hands out views of one schema whose release
 *      only marks them released; the stream's release frees it.
 *   5. Memory: each DuckDB may use LH_PARQUET_SCAN_MEMORY_BYTES, so at most
 *      LH_PARQUET_SCAN_MAX_CHECKS describe/aggregate passes (inference,
 *      which runs before the pipeline's conversion slots) run at once per
 *      process; more uploads wait for a turn. A stream runs inside a
 *      conversion, which the pipeline's slots already bound.
 */
/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop

#include "common/duckdb_open.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/parquet_scan.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Note 3: DuckDB's message `why` as our error. */
static int scan_error(struct lh_error *err, const char *why)
{
	const char *m = why ? strstr(why, PARQUET_SCAN_MARKER) : NULL;
	if (m) {
		m += strlen(PARQUET_SCAN_MARKER);
		int len = (int)strcspn(m, "\n");
		lh_fail(err, 400, "bad_parquet", "%.*s", len, m);
	} else if (why && strstr(why, "Out of Memory")) {
		lh_fail(err, 500, "internal",
			"reading the Parquet file needs more memory than ingest may use");
	} else if (why && strstr(why, "ncrypt")) {
		lh_fail(err, 400, "bad_parquet",
			"the Parquet file is encrypted; the lakehouse reads only unencrypted Parquet: "
			"send it decrypted");
	} else {
		lh_fail(err, 400, "bad_parquet",
			"the file is not readable Parquet: it is cut short or damaged, or uses a "
			"feature the reader does not know");
	}
	lh_error_detail(err, "DuckDB: %.400s", why ? why : "unknown error");
	return -1;
}

/* Note 1. 0 with *db and *con, or -1 with err (nothing left open). */
static int scan_open(duckdb_database *db, duckdb_connection *con, struct lh_error *err)
{
	struct lh_duckdb_options o = {
		.memory_limit_bytes = LH_PARQUET_SCAN_MEMORY_BYTES,
		.threads = LH_PARQUET_SCAN_THREADS,
		.preserve_insertion_order = 1,
		.fail_code = "internal",
	};
	duckdb_result r;
	*con = NULL;
	if (lh_duckdb_open(&o, db, err) != 0)
		return -1;
	if (duckdb_connect(*db, con) == DuckDBError) {
		*con = NULL;
		lh_fail(err, 500, "internal", "could not connect to DuckDB");
		goto fail;
	}
	if (duckdb_query(*con, "SET TimeZone = 'UTC'", &r) == DuckDBError) {
		lh_fail(err, 500, "internal", "DuckDB refused TimeZone UTC");
		duckdb_destroy_result(&r);
		goto fail;
	}
	duckdb_destroy_result(&r);
	return 0;
fail:
	if (*con)
		duckdb_disconnect(con);
	duckdb_close(db);
	return -1;
}

static void scan_close(duckdb_database *db, duckdb_connection *con)
{
	if (*con)
		duckdb_disconnect(con);
	if (*db)
		duckdb_close(db);
}

/* Run <before><func>('/proc/self/fd/<fd>')<after> (func: read_parquet,
 * parquet_schema, ...) into *res. 0, or -1 with err (the result destroyed). */
static int scan_query(duckdb_connection con, int fd, const char *before, const char *func,
		      const char *after, duckdb_result *res, struct lh_error *err)
{
	char *sql = xasprintf("%s%s('/proc/self/fd/%d')%s", before, func, fd, after);
	int rc = 0;
	if (duckdb_query(con, sql, res) == DuckDBError) {
		rc = scan_error(err, duckdb_result_error(res));
		duckdb_destroy_result(res);
	}
	free(sql);
	return rc;
}

void parquet_scan_columns_free(struct parquet_scan_column *cols, size_t n)
{
	for (size_t i = 0; cols && i < n; i++) {
		free(cols[i].name);
		free(cols[i].type);
		free(cols[i].physical);
	}
	free(cols);
}

/* The schema element after the subtree starting at row i of
 * parquet_schema()'s rows (depth-first), or nrows past the end. */
static idx_t skip_subtree(duckdb_result *res, idx_t i, idx_t nrows, int depth)
{
	if (i >= nrows || depth > 64)
		return nrows;
	int64_t children = duckdb_value_int64(res, 1, i);
	i++;
	for (int64_t k = 0; k < children && i < nrows; k++)
		i = skip_subtree(res, i, nrows, depth + 1);
	return i;
}

/* The top-level elements' "type|converted|logical" into c[].physical, when
 * their count is the columns' (else every one stays "": unknown). */
static void physical_of_top_level(duckdb_result *res, struct parquet_scan_column *c, size_t n)
{
	idx_t nrows = duckdb_row_count(res), i = 1;
	size_t k = 0;
	idx_t *top = xcalloc(n ? n : 1, sizeof *top);
	while (i < nrows && k < n) {
		top[k++] = i;
		i = skip_subtree(res, i, nrows, 0);
	}
	int ok = nrows > 0 && k == n && i == nrows;
	for (size_t j = 0; j < n; j++) {
		char *v = ok ? duckdb_value_varchar(res, 0, top[j]) : NULL;
		c[j].physical = xstrdup(v ? v : "");
		duckdb_free(v);
	}
	free(top);
}

/* Whether the file carries Iceberg field ids: a schema element with a
 * field_id, or an "iceberg.schema" key-value. 0 with *ids, or -1 with err. */
static int carries_field_ids(duckdb_connection con, int fd, int *ids, struct lh_error *err)
{
	duckdb_result res;
	*ids = 0;
	if (scan_query(con, fd, "SELECT CAST(count(field_id) AS BIGINT) FROM ", "parquet_schema",
		       "", &res, err) != 0)
		return -1;
	*ids = duckdb_row_count(&res) == 1 && duckdb_value_int64(&res, 0, 0) != 0;
	duckdb_destroy_result(&res);
	if (*ids)
		return 0;
	if (scan_query(con, fd, "SELECT CAST(count(*) AS BIGINT) FROM ", "parquet_kv_metadata",
		       " WHERE key = CAST('iceberg.schema' AS BLOB)", &res, err) != 0)
		return -1;
	*ids = duckdb_row_count(&res) == 1 && duckdb_value_int64(&res, 0, 0) != 0;
	duckdb_destroy_result(&res);
	return 0;
}

static int describe(int fd, size_t max_columns, struct parquet_scan_column **cols,
		    size_t *ncols, uint64_t *footer_rows, int *field_ids, struct lh_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	struct parquet_scan_column *c = NULL;
	size_t n = 0;
	int rc = -1;

	*cols = NULL;
	*ncols = 0;
	*footer_rows = 0;
	if (scan_open(&db, &con, err) != 0)
		return -1;
	/* the footer alone: its row count (and a first check of the file) */
	char *fmeta = xasprintf("SELECT num_rows, CAST(encryption_algorithm IS NOT NULL AS BIGINT) "
				"FROM parquet_file_metadata('/proc/self/fd/%d')", fd);
	int bad = duckdb_query(con, fmeta, &res) == DuckDBError;
	free(fmeta);
	if (bad) {
		scan_error(err, duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		goto out;
	}
	int64_t rows = duckdb_row_count(&res) == 1 ? duckdb_value_int64(&res, 0, 0) : -1;
	int encrypted = duckdb_row_count(&res) == 1 && duckdb_value_int64(&res, 1, 0) != 0;
	duckdb_destroy_result(&res);
	if (encrypted) {   /* a plaintext footer over encrypted columns */
		lh_fail(err, 400, "bad_parquet", "the Parquet file is encrypted; the lakehouse reads "
			"only unencrypted Parquet: send it decrypted");
		goto out;
	}
	if (rows < 0) {
		lh_fail(err, 400, "bad_parquet", "the Parquet footer gives no valid row count");
		goto out;
	}
	*footer_rows = (uint64_t)rows;
	if (scan_query(con, fd, "DESCRIBE SELECT * FROM ", "read_parquet", "", &res, err) != 0)
		goto out;
	n = (size_t)duckdb_row_count(&res);
	if (n > max_columns) {
		lh_fail(err, 400, "bad_parquet", "the file has %zu columns; a dataset has at most %zu",
			n, max_columns);
		duckdb_destroy_result(&res);
		n = 0;
		goto out;
	}
	c = xcalloc(n ? n : 1, sizeof *c);
	for (size_t i = 0; i < n; i++) {
		char *name = duckdb_value_varchar(&res, 0, i);
		char *type = duckdb_value_varchar(&res, 1, i);
		c[i].name = xstrdup(name ? name : "");
		c[i].type = xstrdup(type ? type : "");
		duckdb_free(name);
		duckdb_free(type);
	}
	duckdb_destroy_result(&res);
	if (scan_query(con, fd, "SELECT coalesce(type, '') || '|' || coalesce(converted_type, '') || "
		       "'|' || coalesce(logical_type, ''), coalesce(num_children, 0) FROM ",
		       "parquet_schema", "", &res, err) != 0)
		goto out;
	physical_of_top_level(&res, c, n);
	duckdb_destroy_result(&res);
	if (carries_field_ids(con, fd, field_ids, err) != 0)
		goto out;
	*cols = c;
	*ncols = n;
	c = NULL;
	rc = 0;
out:
	parquet_scan_columns_free(c, n);
	scan_close(&db, &con);
	return rc;
}

static int aggregate(int fd, const char *select_list, int64_t *values, size_t nvalues,
		     struct lh_error *err)
{
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	int rc = -1;

	if (scan_open(&db, &con, err) != 0)
		return -1;
	char *before = xasprintf("SELECT %s FROM ", select_list);
	int qrc = scan_query(con, fd, before, "read_parquet", "", &res, err);
	free(before);
	if (qrc != 0)
		goto out;
	if (duckdb_row_count(&res) != 1 || duckdb_column_count(&res) != nvalues) {
		lh_fail(err, 500, "internal", "the Parquet check gave %llu rows of %llu values",
			(unsigned long long)duckdb_row_count(&res),
			(unsigned long long)duckdb_column_count(&res));
	} else {
		for (size_t i = 0; i < nvalues; i++)
			values[i] = duckdb_value_int64(&res, i, 0);
		rc = 0;
	}
	duckdb_destroy_result(&res);
out:
	scan_close(&db, &con);
	return rc;
}

/* Note 5: the checks of uploads running at once, at most
 * LH_PARQUET_SCAN_MAX_CHECKS; the others wait their turn. */
static pthread_mutex_t checks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t checks_cond = PTHREAD_COND_INITIALIZER;
static int checks_running;

static void checks_acquire(void)
{
	pthread_mutex_lock(&checks_lock);
	while (checks_running >= LH_PARQUET_SCAN_MAX_CHECKS)
		pthread_cond_wait(&checks_cond, &checks_lock);
	checks_running++;
	pthread_mutex_unlock(&checks_lock);
}

static void checks_release(void)
{
	pthread_mutex_lock(&checks_lock);
	checks_running--;
	pthread_cond_signal(&checks_cond);
	pthread_mutex_unlock(&checks_lock);
}

int parquet_scan_describe(int fd, size_t max_columns, struct parquet_scan_column **cols,
			  size_t *ncols, uint64_t *footer_rows, int *field_ids,
			  struct lh_error *err)
{
	checks_acquire();
	int rc = describe(fd, max_columns, cols, ncols, footer_rows, field_ids, err);
	checks_release();
	return rc;
}

int parquet_scan_aggregate(int fd, const char *select_list, int64_t *values, size_t nvalues,
			   struct lh_error *err)
{
	checks_acquire();
	int rc = aggregate(fd, select_list, values, nvalues, err);
	checks_release();
	return rc;
}

/* ---- the stream (note 2) ----------------------------------------------- */

struct scan_stream {
	duckdb_database db;
	duckdb_connection con;
	duckdb_result res;
	int have_res;
	duckdb_arrow_options opts;
	struct ArrowSchema schema;   /* made at the first get_schema, freed at release */
	int have_schema;
	char msg[512];           /* get_last_error */
};

/* Note 4: what get_schema hands out is a view of s->schema. */
static void schema_view_release(struct ArrowSchema *v)
{
	v->release = NULL;
}

static int stream_fail(struct scan_stream *s, const char *why)
{
	struct lh_error e = { 0 };
	scan_error(&e, why);
	snprintf(s->msg, sizeof s->msg, "reading the uploaded Parquet file failed: %.400s", e.msg);
	log_event("error", "ingestd", "parquet scan: %.400s", why ? why : "unknown error");
	lh_error_clear(&e);
	return EIO;
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
	struct scan_stream *s = st->private_data;
	if (s->have_schema) {
		*out = s->schema;
		out->release = schema_view_release;
		return 0;
	}
	idx_t n = duckdb_column_count(&s->res);
	duckdb_logical_type *types = xcalloc(n ? n : 1, sizeof *types);
	const char **names = xcalloc(n ? n : 1, sizeof *names);
	for (idx_t i = 0; i < n; i++) {
		types[i] = duckdb_column_logical_type(&s->res, i);
		names[i] = duckdb_column_name(&s->res, i);
	}
	memset(&s->schema, 0, sizeof s->schema);
	duckdb_error_data e = duckdb_to_arrow_schema(s->opts, types, names, n, &s->schema);
	int rc = 0;
	if (e && duckdb_error_data_has_error(e)) {
		rc = stream_fail(s, duckdb_error_data_message(e));
		if (s->schema.release)
			s->schema.release(&s->schema);
	} else {
		s->have_schema = 1;
		*out = s->schema;
		out->release = schema_view_release;
	}
	if (e)
		duckdb_destroy_error_data(&e);
	for (idx_t i = 0; i < n; i++)
		duckdb_destroy_logical_type(&types[i]);
	free(types);
	free(names);
	return rc;
}

static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
	struct scan_stream *s = st->private_data;
	memset(out, 0, sizeof *out);
	duckdb_data_chunk chunk = duckdb_fetch_chunk(s->res);
	if (!chunk) {
		const char *why = duckdb_result_error(&s->res);
		return why ? stream_fail(s, why) : 0;   /* release == NULL: the end */
	}
	duckdb_error_data e = duckdb_data_chunk_to_arrow(s->opts, chunk, out);
	int rc = 0;
	if (e && duckdb_error_data_has_error(e)) {
		rc = stream_fail(s, duckdb_error_data_message(e));
		if (out->release)
			out->release(out);
		memset(out, 0, sizeof *out);
	}
	if (e)
		duckdb_destroy_error_data(&e);
	duckdb_destroy_data_chunk(&chunk);
	return rc;
}

static const char *stream_last_error(struct ArrowArrayStream *st)
{
	struct scan_stream *s = st->private_data;
	return s->msg[0] ? s->msg : NULL;
}

static void stream_release(struct ArrowArrayStream *st)
{
	struct scan_stream *s = st->private_data;
	if (s->have_schema && s->schema.release)
		s->schema.release(&s->schema);
	if (s->opts)
		duckdb_destroy_arrow_options(&s->opts);
	if (s->have_res)
		duckdb_destroy_result(&s->res);
	scan_close(&s->db, &s->con);
	free(s);
	st->release = NULL;
	st->private_data = NULL;
}

int parquet_scan_stream(int fd, const char *select_list, struct ArrowArrayStream *out,
			struct lh_error *err)
{
	struct scan_stream *s = xcalloc(1, sizeof *s);
	duckdb_prepared_statement stmt = NULL;
	duckdb_pending_result pending = NULL;
	char *sql = NULL;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (scan_open(&s->db, &s->con, err) != 0) {
		free(s);
		return -1;
	}
	sql = xasprintf("SELECT %s FROM read_parquet('/proc/self/fd/%d')", select_list, fd);
	if (duckdb_prepare(s->con, sql, &stmt) == DuckDBError) {
		scan_error(err, duckdb_prepare_error(stmt));
		goto out;
	}
	if (duckdb_pending_prepared_streaming(stmt, &pending) == DuckDBError) {
		scan_error(err, pending ? duckdb_pending_error(pending) : NULL);
		goto out;
	}
	s->have_res = 1;
	if (duckdb_execute_pending(pending, &s->res) == DuckDBError) {
		scan_error(err, duckdb_result_error(&s->res));
		goto out;
	}
	s->opts = duckdb_result_get_arrow_options(&s->res);
	out->get_schema = stream_get_schema;
	out->get_next = stream_get_next;
	out->get_last_error = stream_last_error;
	out->release = stream_release;
	out->private_data = s;
	s = NULL;
	rc = 0;
out:
	if (pending)
		duckdb_destroy_pending(&pending);
	if (stmt)
		duckdb_destroy_prepare(&stmt);
	if (s) {
		struct ArrowArrayStream tmp = { .private_data = s };
		stream_release(&tmp);
	}
	free(sql);
	return rc;
}
