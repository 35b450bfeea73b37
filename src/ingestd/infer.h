/* infer.h — schema inference over every record of a CSV (SPEC section 4),
 * fed incrementally (infer_begin/feed/finish: ingestd feeds the upload while
 * it arrives) or over a spooled file (infer_fd), the schema fingerprint
 * (SPEC section 5), and the value parsers that define each type. Used by
 * ingestd and by parquet_writer.c, which converts values with the same
 * parsers so that a value is written as exactly the type inference saw it
 * match.
 */
#ifndef LH_INGESTD_INFER_H
#define LH_INGESTD_INFER_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* Column types, in SPEC priority order: a column is the first type every
 * non-null value matches; INGEST_UTF8 matches everything. */
enum ingest_type {
	INGEST_BOOL,
	INGEST_INT64,
	INGEST_FLOAT64,
	INGEST_DATE32,
	INGEST_TIMESTAMP,    /* no zone */
	INGEST_TIMESTAMPTZ,  /* every value had Z or +HH:MM/-HH:MM; stored as UTC */
	INGEST_UTF8,
};
#define INGEST_NTYPES 7
#define INGEST_MASK(t) (1u << (t))

/* The SPEC type name: "bool", "int64", "float64", "date32", "timestamp[us]",
 * "timestamp[us, tz=UTC]", "utf8". Static storage. */
const char *ingest_type_name(enum ingest_type t);

/* The chunk index: data records are split into runs of about
 * INFER_CHUNK_BYTES, each starting at a record start, so a converter can
 * read them independently. Chunk i spans [offset, next chunk's offset or
 * schema->data_end). */
#define INFER_CHUNK_BYTES (2u << 20)
struct ingest_chunk {
	uint64_t offset;     /* file offset of the chunk's first record */
	uint64_t first_row;  /* 0-based data row number of that record */
	uint64_t line;       /* physical line where that record starts */
};

struct ingest_column {
	char *name;          /* owned, NUL-terminated UTF-8 */
	enum ingest_type type;
	int nullable;        /* 1 if any null (empty field) was seen */
};

struct ingest_schema {
	struct ingest_column *columns;   /* ncols, header order */
	size_t ncols;
	uint64_t row_count;              /* data records (header excluded) */
	char fingerprint[7 + 64 + 1];    /* "sha256:<hex>" */
	uint64_t data_end;               /* file offset after the last record */
	struct ingest_chunk *chunks;     /* nchunks (0 when row_count is 0) */
	size_t nchunks;
};

/* Incremental inference. infer_begin() returns a new state (never NULL).
 * infer_feed() takes the next n bytes of the CSV (any split, the caller keeps
 * ownership of data) and returns 0, or -1 with err filled as infer_fd()
 * documents (400 bad_csv / bad_header with the line); after a failure the
 * only allowed call is infer_abort(). infer_finish() says the input ended,
 * and ALWAYS consumes the state: on success *out is a new schema (free with
 * ingest_schema_destroy()), on failure -1 with err (400 empty_file, or a
 * bad last record). infer_abort() frees a state without a result; NULL is
 * fine. Offsets in the chunk index count every fed byte from 0. Memory: one
 * buffer that grows only to hold one record, plus per-column state. */
struct infer_state;
struct infer_state *infer_begin(void);
int infer_feed(struct infer_state *st, const char *data, size_t n, struct lh_error *err);
int infer_finish(struct infer_state *st, struct ingest_schema **out, struct lh_error *err);
void infer_abort(struct infer_state *st);

/* Infer the schema of the CSV in `fd` (read with pread from offset 0 to EOF;
 * the file position is not used): infer_begin/feed/finish over pread pieces.
 * Memory: a read buffer that grows only to hold one record (capped by
 * LH_CSV_MAX_RECORD_BYTES), plus per-column state.
 * On success *out is a new schema the caller frees with
 * ingest_schema_destroy(). On failure returns -1 with err filled:
 * 400 "empty_file"; 400 "bad_csv" with "line" (and "field"); 400 "bad_header"
 * with "column" and "index"; 500 "io_error" if reading fails. */
int infer_fd(int fd, struct ingest_schema **out, struct lh_error *err);

/* Free a schema from infer_fd() or schema_create(). NULL is fine. */
void ingest_schema_destroy(struct ingest_schema *s);

/* Fingerprint of columns[0..n) per SPEC section 5 into out ("sha256:" + 64
 * lowercase hex + NUL). Nullability is not part of it. */
void ingest_fingerprint(const struct ingest_column *columns, size_t n,
			char out[7 + 64 + 1]);

/* The set of types (INGEST_MASK bits, INGEST_UTF8 excluded) that the
 * non-empty value p[0..n) matches exactly. An int64 also matches float64. */
unsigned infer_value_types(const char *p, size_t n);

/* Value parsers. Each returns 0 and stores the value if p[0..n) matches the
 * type exactly as infer_value_types() decides, else -1. */
int infer_parse_bool(const char *p, size_t n, int *out);
int infer_parse_int64(const char *p, size_t n, int64_t *out);
int infer_parse_float64(const char *p, size_t n, double *out);
/* Days since 1970-01-01. */
int infer_parse_date(const char *p, size_t n, int32_t *out);
/* Microseconds since 1970-01-01 00:00:00; a zoned value is converted to UTC.
 * *zoned is set to 1 if the value carried Z or an offset, else 0. */
int infer_parse_timestamp(const char *p, size_t n, int64_t *out, int *zoned);

#endif
