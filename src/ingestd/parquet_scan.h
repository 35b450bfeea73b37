/* parquet_scan.h — an uploaded Parquet file read through DuckDB's Parquet
 * reader (ADR 0184): its columns as DuckDB types them, one aggregate pass
 * over every value (the validation of inference), and an Arrow C stream of
 * a SELECT over it (the batches of a conversion). The DuckDB adapter of the
 * Parquet input format (parquet_reader.c, which knows the lakehouse's types
 * and builds the SQL; this file only runs it).
 *
 * The file is the spooled upload `fd` (an O_TMPFILE: no name), which DuckDB
 * opens as /proc/self/fd/<fd>; that path never reaches a message.
 * DuckDB's errors about the file become 400 "bad_parquet" in plain words
 * (its own text goes to the log-only detail): an expression's
 * error('LH400:<words>') becomes exactly <words>, an encrypted file says
 * so, anything else says the file is not readable Parquet. A DuckDB that
 * cannot be opened is 500 "internal".
 */
#ifndef LH_INGESTD_PARQUET_SCAN_H
#define LH_INGESTD_PARQUET_SCAN_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct ArrowArrayStream;

/* The marker an expression's error() text starts with to be answered as a
 * 400 with the rest of its text (parquet_reader.c writes them). */
#define PARQUET_SCAN_MARKER "LH400:"

struct parquet_scan_column {
	char *name;      /* owned, as DuckDB names the column */
	char *type;      /* owned, DuckDB's type name: "BIGINT", "DECIMAL(10,2)",
			  * "STRUCT(a INTEGER)", "INTEGER[]", ... */
	char *physical;  /* owned, how the file stores it, from its schema
			  * element: "<physical type>|<converted type>|<logical
			  * type>" as DuckDB's parquet_schema() spells them, an
			  * absent part empty ("INT64||TimestampType(...)");
			  * "" when unknown */
};

/* The file's top-level columns (at most max_columns: more is a 400
 * "bad_parquet" saying how many), the row count its footer states, and
 * whether it carries Iceberg field ids (*field_ids: a schema element's
 * field_id, or an "iceberg.schema" key-value, which Iceberg readers prefer
 * to the table's name mapping, ADR 0184). 0 and *cols
 * (parquet_scan_columns_free), or -1 with err. */
int parquet_scan_describe(int fd, size_t max_columns, struct parquet_scan_column **cols,
			  size_t *ncols, uint64_t *footer_rows, int *field_ids,
			  struct lh_error *err);
void parquet_scan_columns_free(struct parquet_scan_column *cols, size_t n);

/* SELECT <select_list> FROM the file: an aggregate list giving exactly one
 * row of nvalues integer values, read into values[]. Every value the list
 * names is decoded, so a damaged page is found here. 0, or -1 with err. */
int parquet_scan_aggregate(int fd, const char *select_list, int64_t *values, size_t nvalues,
			   struct lh_error *err);

/* SELECT <select_list> FROM the file as an Arrow C stream (file order),
 * streamed in DuckDB chunks: the caller releases *out, which closes the
 * DuckDB behind it; the fd must stay open until then. 0, or -1 with err. A
 * failure while streaming fails get_next with get_last_error in plain
 * words. */
int parquet_scan_stream(int fd, const char *select_list, struct ArrowArrayStream *out,
			struct lh_error *err);

#endif
