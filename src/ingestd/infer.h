/* infer.h — schema inference over every record of a CSV (SPEC section 4),
 * fed incrementally (infer_begin/feed/finish: ingestd feeds the upload while
 * it arrives) or over a spooled file (infer_fd). The types, their names, the
 * fingerprint and the value parsers that define each type are the schema
 * vocabulary's (common/schema.h, common/calendar.h); parquet_writer.c
 * converts values with the same parsers, so a value is written as exactly
 * the type inference saw it match.
 */
#ifndef LH_INGESTD_INFER_H
#define LH_INGESTD_INFER_H
#include <stddef.h>
#include <stdint.h>

#include "common/schema.h"

struct lh_error;

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
	struct schema_type type; /* one of the inferred types (schema.h) */
	int nullable;        /* 1 if any null (empty field) was seen */
};

struct ingest_schema {
	struct ingest_column *columns;   /* ncols, header order */
	size_t ncols;
	uint64_t row_count;              /* data records (header excluded) */
	char fingerprint[SCHEMA_FP_LEN + 1]; /* "sha256:<hex>" */
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

/* Fingerprint of columns[0..n) (schema.h's schema_fp) into out ("sha256:"
 * + 64 lowercase hex + NUL). Nullability is not part of it. */
void ingest_fingerprint(const struct ingest_column *columns, size_t n,
			char out[SCHEMA_FP_LEN + 1]);

#endif
