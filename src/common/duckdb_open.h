/* duckdb_open.h — the one way the lakehouse opens a DuckDB database
 * (ADR 0132): ingestd's Parquet writer (ingestd/parquet_writer.c) and
 * queryd's engine (queryd/engine.c) both call lh_duckdb_open(), so both get
 * the same settings and the same refusals: extensions are never installed
 * or auto-loaded (what a statement may reach is what libduckdb was built
 * with: Parquet and the Arrow scan are built in), and every setting DuckDB
 * refuses is an error, never ignored.
 *
 * Only the DuckDB adapter files include this header, and they include
 * <duckdb.h> first (the types below are DuckDB's): duckdb_open.c,
 * ingestd/parquet_writer.c, ingestd/parquet_scan.c (Parquet uploads, ADR
 * 0184), queryd/engine.c. `grep -l duckdb.h src` lists
 * exactly those.
 */
#ifndef LH_COMMON_DUCKDB_OPEN_H
#define LH_COMMON_DUCKDB_OPEN_H
#include <stdint.h>

struct lh_error;

struct lh_duckdb_options {
	uint64_t memory_limit_bytes;  /* memory_limit; 0 = DuckDB's default (80% of RAM) */
	unsigned threads;             /* threads; 0 = DuckDB's default (cores) */
	const char *temp_directory;   /* where DuckDB may spill; NULL = DuckDB's default */
	uint64_t max_temp_bytes;      /* max_temp_directory_size; 0 = DuckDB's default
				       * (the free space of that disk) */
	int preserve_insertion_order; /* 1: set it true explicitly (the ordered
				       * parallel COPY of ADR 0020 needs it) */
	const char *fail_code;        /* the error code of a failure: the caller's
				       * ("convert_failed", "internal") */
};

/* Open an in-memory database with these options into *db (close it with
 * duckdb_close). 0, or -1 with 500 `fail_code` and what DuckDB said:
 * "DuckDB refused memory_limit 12KiB", "could not open DuckDB: <why>". */
int lh_duckdb_open(const struct lh_duckdb_options *o, duckdb_database *db,
		   struct lh_error *err);

#endif
