/* avro.h — Avro object container files (Avro 1.11 "Object Container
 * Files") written record by record, and read back: the interface of
 * avro_libavro.c, the only file that includes <avro.h> (ADR 0231, 0110
 * dep ADR 0110-dep-libavro.md). Iceberg's manifest lists and manifests are
 * such files (iceberg_manifest.c).
 *
 * libavro (Debian's avro-c) parses and checks the schema and encodes each
 * record; the container around the blocks (magic, header metadata, blocks,
 * sync markers) is written here because avro-c's file writer can neither
 * add the header keys Iceberg requires ("schema", "partition-spec",
 * "format-version", "content") nor take a chosen sync marker (it draws one
 * from rand(), which would make two builds of one manifest differ: ADR
 * 0230's write-once races need equal bytes). The codec is "null".
 *
 * Records come as jansson values shaped like the schema: a record is an
 * object with a member per field (a missing member is null), an array an
 * array, a union ["null", T] takes null or a T, int/long JSON integers,
 * double a JSON real or integer, boolean JSON true/false, string a JSON
 * string, bytes a JSON string of lowercase hex digits (bounds are binary).
 */
#ifndef LH_ICEBERG_AVRO_H
#define LH_ICEBERG_AVRO_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct avro_ocf;

/* One header metadata entry ("key" -> value bytes). */
struct avro_meta {
	const char *key;
	const char *value;
};

/* Start a file on `fd` (written from its current offset; not closed here):
 * the header with avro.schema = `schema_json` (kept verbatim: Iceberg's
 * field-id attributes stay), avro.codec = "null", then `meta` in order,
 * and the 16-byte `sync` marker. NULL with err (500 "internal": a schema
 * avro-c refuses, a write that failed). */
struct avro_ocf *avro_ocf_create(int fd, const char *schema_json, const struct avro_meta *meta,
				 size_t nmeta, const unsigned char sync[16], struct lh_error *err);
/* Encode one record (borrowed) into the current block; blocks are flushed
 * at AVRO_OCF_BLOCK_BYTES. 0, or -1 with err (a value that does not fit the
 * schema is a 500: the caller built it). */
int avro_ocf_append(struct avro_ocf *w, const json_t *record, struct lh_error *err);
/* Flush the last block. 0 with *bytes (the file's length), or -1. */
int avro_ocf_finish(struct avro_ocf *w, uint64_t *bytes, struct lh_error *err);
/* Free the writer (finished or not). NULL is fine. */
void avro_ocf_destroy(struct avro_ocf *w);

#define AVRO_OCF_BLOCK_BYTES (64u << 10)

/* Read the container file at `path` with avro-c's own reader: *records is
 * a new JSON array of the records as avro-c renders them
 * (avro_value_to_json: a union as {"type": value}, bytes as a string of
 * code points 0-255), *meta a new object of the header's string entries.
 * For tests and checks. 0, or -1 with err. */
int avro_ocf_read(const char *path, json_t **meta, json_t **records, struct lh_error *err);

#endif
