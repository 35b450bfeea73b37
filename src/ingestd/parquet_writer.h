/* parquet_writer.h — convert a spooled, already-inferred CSV file to one
 * Snappy-compressed Parquet file through DuckDB (ADR 0020, ADR 0021).
 *
 * The records are read by the project's own scanner (csv.h), never by
 * DuckDB's read_csv: parsing threads turn the file's chunks into Arrow record
 * batches, in file order, behind an Arrow C stream that DuckDB scans in
 * parallel, and DuckDB runs COPY (SELECT * FROM it) TO '<out>' (FORMAT
 * parquet, COMPRESSION snappy) with its order-preserving parallel writer.
 * Used by the ingest pipeline once the upload's schema is inferred.
 */
#ifndef LH_INGESTD_PARQUET_WRITER_H
#define LH_INGESTD_PARQUET_WRITER_H
#include <stdatomic.h>
#include <stdint.h>

struct lh_error;
struct ingest_schema;

struct parquet_writer_options {
	uint64_t memory_limit_bytes;  /* DuckDB memory_limit; 0 = DuckDB's default */
	unsigned threads;             /* DuckDB threads; 0 = DuckDB's default (cores) */
	const char *temp_directory;   /* where DuckDB may spill; NULL = DuckDB's default */
	atomic_int *cancel;           /* optional: once another thread sets it to 1,
				       * the conversion stops at its next batch and
				       * fails with 500 "convert_failed" "cancelled" */
};

/* Write the records of `csv_fd` (read with pread; the file position is not
 * used) as Parquet to `out_path`, one row per record in file order, column
 * types per `schema` (which inference produced from the same bytes, chunk
 * index included):
 * bool->BOOLEAN, int64->INT64, float64->DOUBLE, date32->DATE,
 * timestamp[us]->TIMESTAMP(MICROS), timestamp[us, tz=UTC]->TIMESTAMP(MICROS,
 * isAdjustedToUTC), utf8->STRING; empty fields are nulls. `opt` may be NULL.
 * On success returns 0 and stores the number of rows written in *rows_out
 * (may be NULL). On failure returns -1 with 500 "convert_failed" (DuckDB's
 * message goes to the error text) and removes `out_path`. The caller owns
 * everything passed in. */
int parquet_write_csv(int csv_fd, const struct ingest_schema *schema, const char *out_path,
		      const struct parquet_writer_options *opt, uint64_t *rows_out,
		      struct lh_error *err);

/* Test and diagnostics helper: the same DuckDB set-up as parquet_write_csv(),
 * but runs EXPLAIN on the COPY instead of the COPY (no row is read, nothing
 * is written). On success returns 0 and *plan_out is the physical plan text
 * (caller frees with free()); on failure -1 with 500 "convert_failed". Used
 * by the unit tests to check DuckDB plans the order-preserving parallel
 * BATCH_COPY_TO_FILE (ADR 0020). */
int parquet_explain_csv(int csv_fd, const struct ingest_schema *schema, const char *out_path,
			const struct parquet_writer_options *opt, char **plan_out,
			struct lh_error *err);

#endif
