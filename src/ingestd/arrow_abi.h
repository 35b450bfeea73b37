/* arrow_abi.h — the Arrow C data interface and C stream interface structs,
 * declared from the published ABI specification (Apache Arrow, "The Arrow C
 * data interface" and "The Arrow C stream interface",
 * https://arrow.apache.org/docs/format/CDataInterface.html and
 * .../CStreamInterface.html). The layout is a stable ABI, so no Arrow library
 * is needed: parquet_writer.c produces a stream of record batches that
 * DuckDB's arrow scan consumes (ADR 0020).
 *
 * Ownership rules (from the specification): the producer fills a struct and
 * sets `release`; the consumer calls `release` exactly once on the base
 * (root) struct when done, and the producer's root release frees the
 * children; a released struct has release == NULL. A stream's get_next
 * marks the end of the stream by returning 0 with out->release == NULL.
 *
 * The guard macros are the specification's, so this header coexists with
 * any other correct copy of the same declarations.
 */
#ifndef LH_INGESTD_ARROW_ABI_H
#define LH_INGESTD_ARROW_ABI_H
#include <stdint.h>

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
	const char *format;          /* type format string, e.g. "l", "u", "tsu:UTC" */
	const char *name;
	const char *metadata;
	int64_t flags;
	int64_t n_children;
	struct ArrowSchema **children;
	struct ArrowSchema *dictionary;
	void (*release)(struct ArrowSchema *);
	void *private_data;
};

struct ArrowArray {
	int64_t length;
	int64_t null_count;
	int64_t offset;
	int64_t n_buffers;
	int64_t n_children;
	const void **buffers;        /* buffers[0] is the validity bitmap (or NULL) */
	struct ArrowArray **children;
	struct ArrowArray *dictionary;
	void (*release)(struct ArrowArray *);
	void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
	/* 0 or an errno value; *out is a new schema owned by the caller */
	int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
	/* 0 or an errno value; out->release == NULL marks the end */
	int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
	/* after an error: a message valid until the next call, or NULL */
	const char *(*get_last_error)(struct ArrowArrayStream *);
	void (*release)(struct ArrowArrayStream *);
	void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

#endif
