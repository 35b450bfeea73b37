/* parquet_reader.h — the Parquet input format (format.h's
 * ingest_format_parquet, ADR 0184): what is pure in it, for the unit tests.
 * The types of a Parquet file's columns are as DuckDB's Parquet reader
 * gives them (parquet_scan.h); parquet_map_type() says which lakehouse type
 * each becomes (docs/schema.md, "Parquet uploads") and how its values are
 * read: as they are, or converted.
 */
#ifndef LH_INGESTD_PARQUET_READER_H
#define LH_INGESTD_PARQUET_READER_H
#include "common/schema.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* How a column's values become the lakehouse type's. */
enum parquet_conv {
	PARQUET_AS_IS,    /* DuckDB reads it as exactly the type's SQL type */
	PARQUET_CAST,     /* CAST(col AS <type>): widening, a timestamp unit or
			   * zone, a decimal without room, text of a TIME/UUID/... */
	PARQUET_CHECKED,  /* an integer wider than int64: cast when in range,
			   * else the upload is a 400 naming the column */
	PARQUET_BYTES,    /* BLOB: the bytes as UTF-8 text, else a 400 */
	PARQUET_JSON,     /* nested (STRUCT, LIST, MAP, UNION): its JSON text */
};

struct parquet_mapping {
	struct schema_type type;
	enum parquet_conv conv;
};

/* The lakehouse type and conversion of a column DuckDB types as `duckdb_type`
 * (its DESCRIBE spelling: "INTEGER", "DECIMAL(10,2)", "TIMESTAMP_NS",
 * "STRUCT(a INTEGER)", "INTEGER[]", ...). Every name maps: what has no
 * closer type is its text (utf8, PARQUET_CAST). Pure. */
void parquet_map_type(const char *duckdb_type, struct parquet_mapping *out);

/* 1 if a column mapped PARQUET_AS_IS is also stored the way the lakehouse
 * writes that type (ADR 0021), so the file may be kept: `physical` is
 * parquet_scan.h's "<physical>|<converted>|<logical>" of the column's
 * schema element. A TIMESTAMP in milliseconds reads as TIMESTAMP in DuckDB
 * but is not stored as timestamp[us]: 0, and the column is converted.
 * Pure. */
int parquet_stored_exactly(const struct schema_type *t, const char *physical);

/* The SQL expression reading column `name` (unquoted) with mapping m; the
 * caller frees it. */
char *parquet_column_expr(const char *name, const struct parquet_mapping *m);

/* The frame of a Parquet file of `size` bytes: head = its first 4 bytes,
 * tail = its last 8 (footer length, little-endian, then the magic). 0 when
 * it can be a plain Parquet file, else -1 with 400 "bad_parquet" in plain
 * words: too short, no PAR1 at the start, an encrypted footer (PARE), no
 * magic at the end (cut short), a footer longer than the file or than
 * LH_PARQUET_MAX_FOOTER_BYTES. Pure. */
int parquet_check_frame(const unsigned char head[4], const unsigned char tail[8], uint64_t size,
			struct lh_error *err);

#endif
