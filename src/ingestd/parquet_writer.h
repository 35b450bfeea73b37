/* parquet_writer.h — write an Arrow C stream of record batches as one
 * Snappy-compressed Parquet file through DuckDB (ADR 0020, ADR 0021,
 * ADR 0132). Format-neutral: the stream comes from an input format's reader
 * (format.h, batch.h), never from a file this writer parses; DuckDB scans
 * it in parallel and runs COPY (SELECT * FROM it) TO '<out>' (FORMAT
 * parquet, COMPRESSION snappy) with its order-preserving parallel writer.
 * Used by the ingest pipeline (parquet_write_input()) once the upload's
 * schema is inferred.
 */
#ifndef LH_INGESTD_PARQUET_WRITER_H
#define LH_INGESTD_PARQUET_WRITER_H
#include <stdatomic.h>
#include <stdint.h>

struct lh_error;
struct ArrowArrayStream;
struct ingest_schema;

struct parquet_writer_options {
	uint64_t memory_limit_bytes;  /* DuckDB memory_limit; 0 = DuckDB's default */
	unsigned threads;             /* DuckDB threads; 0 = DuckDB's default (cores) */
	const char *temp_directory;   /* where DuckDB may spill; NULL = DuckDB's default */
	atomic_int *cancel;           /* optional: once another thread sets it to 1,
				       * the conversion stops at its next batch and
				       * fails with 500 "convert_failed" "cancelled" */
};

/* Write the batches of `in` as Parquet to `out_path`, one row per row in
 * stream order, the column types being the stream's Arrow types:
 * bool b->BOOLEAN, int64 l->INT64, float64 g->DOUBLE, date32 tdD->DATE,
 * tsu:->TIMESTAMP(MICROS), tsu:UTC->TIMESTAMP(MICROS, isAdjustedToUTC),
 * utf8 u->STRING; nulls stay nulls. `opt` may be NULL. The stream is
 * borrowed (the caller releases it afterwards) and must give exactly
 * `expected_rows` rows. On success returns 0 and stores the rows written in
 * *rows_out (may be NULL). On failure returns -1 with 500 "convert_failed"
 * (the stream's or DuckDB's message in the error text; "cancelled" after
 * the cancel flag), or 507 "insufficient_storage" for a full disk, and
 * removes `out_path`. */
int parquet_write_stream(struct ArrowArrayStream *in, uint64_t expected_rows,
			 const char *out_path, const struct parquet_writer_options *opt,
			 uint64_t *rows_out, struct lh_error *err);

/* The records of the spooled input `fd` as Parquet: the batches of the
 * format that inferred `s` from it (s->format->batches, format.h) through
 * parquet_write_stream() with s->row_count expected, the stream released on
 * every path. Errors as parquet_write_stream(). */
int parquet_write_input(int fd, const struct ingest_schema *s, const char *out_path,
			const struct parquet_writer_options *opt, uint64_t *rows_out,
			struct lh_error *err);

/* Test and diagnostics helper: the same DuckDB set-up as
 * parquet_write_stream(), but runs EXPLAIN on the COPY instead of the COPY
 * (no batch is read, nothing is written). On success returns 0 and
 * *plan_out is the physical plan text (caller frees with free()); on
 * failure -1 with 500 "convert_failed". Used by the unit tests to check
 * DuckDB plans the order-preserving parallel BATCH_COPY_TO_FILE (ADR 0020). */
int parquet_explain_stream(struct ArrowArrayStream *in, const char *out_path,
			   const struct parquet_writer_options *opt, char **plan_out,
			   struct lh_error *err);

#endif
