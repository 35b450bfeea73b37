/* batch.h — Arrow record batches of an inferred schema, and an ordered
 * Arrow C stream (arrow_abi.h) over them parsed in parallel. Format-neutral:
 * an input format (format.h) splits its input into chunks that parse on
 * their own and says how to parse one; this file owns the Arrow memory,
 * the value conversion (schema.h's parsers, the code inference chose the
 * types with: ADR 0021) and the threads (ADR 0020). The Parquet writer
 * consumes the stream (parquet_writer.h).
 */
#ifndef LH_INGESTD_BATCH_H
#define LH_INGESTD_BATCH_H
#include "ingestd/arrow_abi.h"

#include <stddef.h>
#include <stdint.h>

struct ingest_schema;

/* One record batch being filled: nrows rows of every column of the schema
 * (which must outlive the filling, not the batch). */
struct batch;

/* A batch of nrows rows, every value null until put. Never NULL. */
struct batch *batch_create(const struct ingest_schema *s, size_t nrows);

/* Put the text value p[0..n) in column `col`, row `row` (< nrows): an empty
 * value is null; any other is converted by its column type's parser.
 * Returns 0, or -1 if the value does not match the column's type. */
int batch_put_text(struct batch *b, size_t col, size_t row, const char *p, size_t n);

/* Free a batch that was never handed to a consumer. NULL is fine. */
void batch_free(struct batch *b);

/* How a format produces the batches of one input: chunk i (0..nchunks) is
 * parsed on its own into one batch, by up to BATCH_PRODUCERS threads at
 * once, each with its own scratch. */
struct batch_source {
	size_t nchunks;
	void *ctx;                                  /* the format's, for parse */
	void *(*scratch_create)(void *ctx);         /* per thread; may return NULL */
	void (*scratch_destroy)(void *scratch);
	/* A new batch of chunk i, or NULL with a one-line reason in msg
	 * (msg_cap bytes): it becomes the stream's error, so the COPY's. */
	struct batch *(*parse)(void *ctx, void *scratch, size_t i, char *msg, size_t msg_cap);
	void (*ctx_free)(void *ctx);                /* at release; may be NULL */
};

#define BATCH_PRODUCERS 2   /* parsing threads */
#define BATCH_RING 4        /* parsed batches waiting for the consumer, at most */

/* Fill *out with a stream of the source's batches in chunk order, with the
 * schema's columns as Arrow types (schema_type_arrow). Threads start on the
 * first get_next. The caller owns the stream: its release stops and joins
 * the threads, frees what was never handed out and calls src->ctx_free; a
 * batch handed out belongs to the consumer, whose root release frees it
 * (from any thread, also after the stream is gone). get_schema hands out
 * views of one schema owned by the stream (their release only marks them
 * released), because DuckDB's arrow scan keeps what it gets without
 * releasing it. `s` and src->ctx must outlive the stream. */
void batch_stream_open(const struct ingest_schema *s, const struct batch_source *src,
		       struct ArrowArrayStream *out);

#endif
