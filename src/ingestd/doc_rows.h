/* doc_rows.h — the rows of a documents dataset (SPEC 15, ADR 0225) as an
 * input format of ingest (format.h), so that a documents upload goes through
 * the same pipeline as a CSV (pipeline.c: idempotency, Parquet, write-once
 * object, register, versions, append/replace).
 *
 * The schema is fixed: doc_id utf8, file_name utf8, chunk int64, page int64
 * (NULL where the format has no pages), text utf8, chars int64. doc_ingest.c
 * extracts and chunks each file and appends its rows with doc_rows_add() to
 * a spool file of length-prefixed fields; doc_rows_finish() gives the
 * schema (row count, fingerprint, the offsets of every DOC_ROWS_PER_BATCH
 * rows as the layout) whose format's batches() reads that spool back as
 * Arrow record batches (batch.h), in parallel, for the Parquet writer.
 */
#ifndef LH_INGESTD_DOC_ROWS_H
#define LH_INGESTD_DOC_ROWS_H
#include "common/schema.h"

#include <stddef.h>
#include <stdint.h>

struct ingest_schema;
struct lh_error;

#define DOC_ROWS_PER_BATCH 2048

/* The format of a documents dataset's rows: never picked by sniffing. */
extern const struct ingest_format ingest_format_documents;

/* The fixed fingerprint of a documents dataset ("sha256:<hex>"): how
 * ingest tells a documents dataset from a table (pipeline.c note 8). */
const char *doc_rows_fingerprint(void);

/* A writer of rows into `fd` (a fresh spool file, written with pwrite from
 * offset 0; the caller keeps and closes fd). Never NULL. */
struct doc_rows;
struct doc_rows *doc_rows_create(int fd);

/* Append one row: page < 0 is NULL. 0, or -1 with 500/507 err. */
int doc_rows_add(struct doc_rows *w, const char *doc_id, const char *file_name, int64_t chunk,
		 int64_t page, const char *text, size_t text_len, int64_t chars,
		 struct lh_error *err);

/* Rows so far. */
uint64_t doc_rows_count(const struct doc_rows *w);

/* Flush and give the schema of what was written (caller destroys it with
 * ingest_schema_destroy; its batches() reads the same fd). The writer is
 * consumed either way. 0 and *out, or -1 with err. */
int doc_rows_finish(struct doc_rows *w, struct ingest_schema **out, struct lh_error *err);
void doc_rows_abort(struct doc_rows *w);

#endif
