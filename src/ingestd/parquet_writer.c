/* parquet_writer.c — an Arrow C stream of record batches -> one
 * Snappy-compressed Parquet file through DuckDB's C API. A DuckDB adapter
 * file (it includes <duckdb.h>; duckdb_open.h opens the database). It knows
 * nothing of input formats: format.h's readers make the stream (batch.h).
 *
 * Design notes:
 *   1. One in-memory DuckDB per conversion, opened by lh_duckdb_open() with
 *      the options (memory_limit, threads, temp_directory,
 *      preserve_insertion_order; no extension loading). It holds no tables;
 *      the only data path is the stream, registered as a view with
 *      duckdb_arrow_scan(), then COPY (SELECT * FROM view) TO '<out>'
 *      (FORMAT parquet, COMPRESSION snappy).
 *   2. Why Arrow and not a C-API table function (ADR 0020): DuckDB's arrow
 *      scan declares batch indexes (get_partition_data); each DuckDB thread
 *      takes the next record batch from the stream under the scan's mutex
 *      and numbers it. With preserve_insertion_order DuckDB then plans the
 *      order-preserving parallel (FIXED_)BATCH_COPY_TO_FILE, so Parquet
 *      encoding runs on every thread while rows stay in input order. A
 *      C-API table function has no batch index and forces a one-thread COPY.
 *   3. DuckDB is handed a wrapper stream (struct relay), never the caller's:
 *      duckdb_arrow_scan() copies the struct it gets and a scan's copy may
 *      be released by DuckDB, so the wrapper's release only marks it
 *      released, and the caller releases its own stream once DuckDB is
 *      closed. The wrapper forwards get_schema/get_next/get_last_error,
 *      counts the rows handed to DuckDB (the written count must equal it
 *      and the expected count) and fails get_next once the caller's cancel
 *      flag is set ("cancelled"), checked before and after each batch.
 *   4. A failing stream (a parse error, a read error, a cancel) fails the
 *      COPY with the stream's message; the partial output file is removed.
 *      DuckDB's own text (an out-of-memory with its "Possible solutions",
 *      paths) never reaches the client: it is the error's log-only detail.
 *      A full disk is 507 whatever DuckDB's wording (run_copy).
 */
#include "ingestd/parquet_writer.h"

#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/format.h"

/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop

#include "common/duckdb_open.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the relay DuckDB reads (note 3) ----------------------------------- */

struct relay {
	struct ArrowArrayStream stream;   /* what DuckDB gets; private_data = this */
	struct ArrowArrayStream *in;      /* the caller's */
	atomic_int *cancel;               /* the caller's flag, or NULL */
	atomic_ullong rows;               /* rows handed to DuckDB */
	atomic_int cancelled;
};

static int relay_cancelled(struct relay *r)
{
	if (r->cancel && atomic_load(r->cancel)) {
		atomic_store(&r->cancelled, 1);
		return 1;
	}
	return 0;
}

static int relay_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
	struct relay *r = st->private_data;
	return r->in->get_schema(r->in, out);
}

static int relay_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
	struct relay *r = st->private_data;
	memset(out, 0, sizeof *out);
	if (relay_cancelled(r))
		return ECANCELED;
	int rc = r->in->get_next(r->in, out);
	if (rc != 0)
		return rc;
	if (relay_cancelled(r)) {
		if (out->release)
			out->release(out);
		memset(out, 0, sizeof *out);
		return ECANCELED;
	}
	if (out->release)
		atomic_fetch_add(&r->rows, (unsigned long long)out->length);
	return 0;
}

static const char *relay_last_error(struct ArrowArrayStream *st)
{
	struct relay *r = st->private_data;
	if (atomic_load(&r->cancelled))
		return "cancelled";
	return r->in->get_last_error ? r->in->get_last_error(r->in) : NULL;
}

static void relay_release(struct ArrowArrayStream *st)
{
	st->release = NULL;      /* note 3: the caller releases its own stream */
}

static void relay_init(struct relay *r, struct ArrowArrayStream *in, atomic_int *cancel)
{
	memset(r, 0, sizeof *r);
	r->in = in;
	r->cancel = cancel;
	atomic_init(&r->rows, 0);
	atomic_init(&r->cancelled, 0);
	r->stream.get_schema = relay_get_schema;
	r->stream.get_next = relay_get_next;
	r->stream.get_last_error = relay_last_error;
	r->stream.release = relay_release;
	r->stream.private_data = r;
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

/* ---- the COPY (notes 1, 4) --------------------------------------------- */

/* Open DuckDB per the options, register the relay over `in` as view lh_in,
 * and run the COPY (or, with plan_out, EXPLAIN it and return the plan text). */
static int run_copy(struct ArrowArrayStream *in, uint64_t expected_rows, const char *out_path,
		    const struct parquet_writer_options *opt, uint64_t *rows_out, char **plan_out,
		    struct lh_error *err)
{
	int rc = -1, have_result = 0;
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char *quoted = NULL, *sql = NULL;
	struct relay *relay = xmalloc(sizeof *relay);
	struct lh_duckdb_options dopt = {
		.memory_limit_bytes = opt ? opt->memory_limit_bytes : 0,
		.threads = opt ? opt->threads : 0,
		.temp_directory = opt ? opt->temp_directory : NULL,
		.preserve_insertion_order = 1,
		.fail_code = "convert_failed",
	};

	relay_init(relay, in, opt ? opt->cancel : NULL);
	if (lh_duckdb_open(&dopt, &db, err) != 0)
		goto out;
	if (duckdb_connect(db, &con) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not connect to DuckDB");
		goto out;
	}
	if (duckdb_arrow_scan(con, "lh_in", (duckdb_arrow_stream)&relay->stream) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not register the record batches with DuckDB");
		goto out;
	}
	quoted = sql_quote(out_path);
	sql = xasprintf("%sCOPY (SELECT * FROM lh_in) TO %s (FORMAT parquet, COMPRESSION snappy)",
			plan_out ? "EXPLAIN " : "", quoted);
	have_result = 1;
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		const char *why = duckdb_result_error(&res) ? duckdb_result_error(&res)
							    : "unknown error";
		/* DuckDB reports a full disk only as text: its IO error carries
		 * strerror(ENOSPC) (or EDQUOT), and spilling to a full temp
		 * directory fails on 'max_temp_directory_size', whose default is
		 * the free space of that disk (we never set it). That is the disk,
		 * not the data. */
		if (strstr(why, strerror(ENOSPC)) || strstr(why, strerror(EDQUOT)) ||
		    strstr(why, "max_temp_directory_size")) {
			lh_fail(err, 507, "insufficient_storage",
				"the ingest spool is out of disk space (converting to Parquet)");
			log_event("error", "ingestd", "parquet conversion: %s", why);
		} else {
			/* note 4: the client gets the stream's own words, when it
			 * failed, never DuckDB's text (its hints, our paths): that
			 * is log-only detail (ADR 0130, ADR 0184) */
			const char *own = relay_last_error(&relay->stream);
			if (own && *own)
				lh_fail(err, 500, "convert_failed",
					"converting the upload to Parquet failed: %.400s", own);
			else
				lh_fail(err, 500, "convert_failed",
					"converting the upload to Parquet failed");
			lh_error_detail(err, "DuckDB: %.600s", why);
		}
		goto out;
	}
	if (plan_out) {
		size_t len = 0;
		char *plan = xcalloc(1, 1);
		for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
			for (idx_t c = 0; c < duckdb_column_count(&res); c++) {
				char *v = duckdb_value_varchar(&res, c, r);
				size_t n = v ? strlen(v) : 0;
				plan = xrealloc(plan, len + n + 2);
				memcpy(plan + len, v ? v : "", n);
				len += n;
				plan[len++] = '\n';
				plan[len] = 0;
				duckdb_free(v);
			}
		}
		*plan_out = plan;
		rc = 0;
		goto out;
	}
	uint64_t rows = duckdb_rows_changed(&res);
	uint64_t handed_out = atomic_load(&relay->rows);
	if (rows != expected_rows || handed_out != expected_rows) {
		lh_fail(err, 500, "convert_failed", "wrote %llu rows, expected %llu",
			(unsigned long long)rows, (unsigned long long)expected_rows);
		goto out;
	}
	if (rows_out)
		*rows_out = rows;
	rc = 0;
out:
	if (have_result)
		duckdb_destroy_result(&res);
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	free(relay);             /* after DuckDB is closed: nothing reads it */
	if (rc && !plan_out)
		unlink(out_path);
	free(quoted);
	free(sql);
	return rc;
}

int parquet_write_stream(struct ArrowArrayStream *in, uint64_t expected_rows,
			 const char *out_path, const struct parquet_writer_options *opt,
			 uint64_t *rows_out, struct lh_error *err)
{
	return run_copy(in, expected_rows, out_path, opt, rows_out, NULL, err);
}

int parquet_explain_stream(struct ArrowArrayStream *in, const char *out_path,
			   const struct parquet_writer_options *opt, char **plan_out,
			   struct lh_error *err)
{
	*plan_out = NULL;
	return run_copy(in, 0, out_path, opt, NULL, plan_out, err);
}

int parquet_write_input(int fd, const struct ingest_schema *s, const char *out_path,
			const struct parquet_writer_options *opt, uint64_t *rows_out,
			struct lh_error *err)
{
	struct ArrowArrayStream stream = { 0 };
	if (s->format->batches(fd, s, &stream, err) != 0) {
		unlink(out_path);
		return -1;
	}
	int rc = parquet_write_stream(&stream, s->row_count, out_path, opt, rows_out, err);
	if (stream.release)
		stream.release(&stream);
	return rc;
}
