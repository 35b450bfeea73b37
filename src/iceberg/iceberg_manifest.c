/* iceberg_manifest.c — Iceberg v2 manifests and manifest lists as Avro
 * container files (iceberg.h; ADR 0232). The Avro schemas are the table
 * spec's ("Manifests", "Manifest Lists"), field ids included, with maps
 * keyed by field id written as arrays of key/value records with logicalType
 * "map" (the spec's rule for maps whose keys are not strings). Files are
 * written record by record through avro.h: memory does not grow with the
 * number of data files.
 */
#include "iceberg/iceberg.h"
#include "iceberg/avro.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_OF(name, id, k, v, vtype)                                                           \
	"{\"name\":\"" name "\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":"   \
	"\"record\",\"name\":\"k" #k "_v" #v "\",\"fields\":[{\"name\":\"key\",\"type\":"     \
	"\"int\",\"field-id\":" #k "},{\"name\":\"value\",\"type\":\"" vtype "\","             \
	"\"field-id\":" #v "}]},\"logicalType\":\"map\"}],\"default\":null,\"field-id\":" #id "}"

const char iceberg_manifest_entry_schema[] =
	"{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
	"{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
	"{\"name\":\"snapshot_id\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":1},"
	"{\"name\":\"sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,\"field-id\":3},"
	"{\"name\":\"file_sequence_number\",\"type\":[\"null\",\"long\"],\"default\":null,"
	"\"field-id\":4},"
	"{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\",\"fields\":["
	"{\"name\":\"content\",\"type\":\"int\",\"field-id\":134},"
	"{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
	"{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
	"{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":\"r102\",\"fields\":[]},"
	"\"field-id\":102},"
	"{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
	"{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
	MAP_OF("column_sizes", 108, 117, 118, "long") ","
	MAP_OF("value_counts", 109, 119, 120, "long") ","
	MAP_OF("null_value_counts", 110, 121, 122, "long") ","
	MAP_OF("nan_value_counts", 137, 138, 139, "long") ","
	MAP_OF("lower_bounds", 125, 126, 127, "bytes") ","
	MAP_OF("upper_bounds", 128, 129, 130, "bytes") ","
	"{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":131},"
	"{\"name\":\"split_offsets\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"long\","
	"\"element-id\":133}],\"default\":null,\"field-id\":132},"
	"{\"name\":\"equality_ids\",\"type\":[\"null\",{\"type\":\"array\",\"items\":\"int\","
	"\"element-id\":136}],\"default\":null,\"field-id\":135},"
	"{\"name\":\"sort_order_id\",\"type\":[\"null\",\"int\"],\"default\":null,\"field-id\":140}"
	"]},\"field-id\":2}]}";

const char iceberg_manifest_file_schema[] =
	"{\"type\":\"record\",\"name\":\"manifest_file\",\"fields\":["
	"{\"name\":\"manifest_path\",\"type\":\"string\",\"field-id\":500},"
	"{\"name\":\"manifest_length\",\"type\":\"long\",\"field-id\":501},"
	"{\"name\":\"partition_spec_id\",\"type\":\"int\",\"field-id\":502},"
	"{\"name\":\"content\",\"type\":\"int\",\"field-id\":517},"
	"{\"name\":\"sequence_number\",\"type\":\"long\",\"field-id\":515},"
	"{\"name\":\"min_sequence_number\",\"type\":\"long\",\"field-id\":516},"
	"{\"name\":\"added_snapshot_id\",\"type\":\"long\",\"field-id\":503},"
	"{\"name\":\"added_files_count\",\"type\":\"int\",\"field-id\":504},"
	"{\"name\":\"existing_files_count\",\"type\":\"int\",\"field-id\":505},"
	"{\"name\":\"deleted_files_count\",\"type\":\"int\",\"field-id\":506},"
	"{\"name\":\"added_rows_count\",\"type\":\"long\",\"field-id\":512},"
	"{\"name\":\"existing_rows_count\",\"type\":\"long\",\"field-id\":513},"
	"{\"name\":\"deleted_rows_count\",\"type\":\"long\",\"field-id\":514},"
	"{\"name\":\"partitions\",\"type\":[\"null\",{\"type\":\"array\",\"items\":{\"type\":"
	"\"record\",\"name\":\"r508\",\"fields\":["
	"{\"name\":\"contains_null\",\"type\":\"boolean\",\"field-id\":509},"
	"{\"name\":\"contains_nan\",\"type\":[\"null\",\"boolean\"],\"default\":null,"
	"\"field-id\":518},"
	"{\"name\":\"lower_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":510},"
	"{\"name\":\"upper_bound\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":511}"
	"]},\"element-id\":508}],\"default\":null,\"field-id\":507},"
	"{\"name\":\"key_metadata\",\"type\":[\"null\",\"bytes\"],\"default\":null,\"field-id\":519}"
	"]}";

/* The sync marker of the file named `seed`: the same file always gets the
 * same bytes (ADR 0230). */
static void sync_of(const char *seed, unsigned char sync[16])
{
	char hex[LH_SHA256_HEX_LEN + 1];
	char *s = xasprintf("lakehouse-iceberg-avro-sync\n%s", seed);
	sha256_hex(s, strlen(s), hex);
	free(s);
	for (int i = 0; i < 16; i++) {
		unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0'
							     : hex[2 * i + 1] - 'a' + 10);
		sync[i] = (unsigned char)(hi << 4 | lo);
	}
}

static json_t *hex_of(const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *h = xmalloc(2 * n + 1);
	for (size_t i = 0; i < n; i++) {
		h[2 * i] = digits[p[i] >> 4];
		h[2 * i + 1] = digits[p[i] & 15];
	}
	h[2 * n] = 0;
	json_t *s = json_stringn(h, 2 * n);
	free(h);
	return s;
}

struct iceberg_manifest_writer {
	struct avro_ocf *ocf;
};

struct iceberg_manifest_writer *iceberg_manifest_create(int fd, const struct iceberg_schema *schema,
							 const char *sync_seed, struct lh_error *err)
{
	json_t *sj = iceberg_schema_json(schema);
	char *schema_text = json_dumps(sj, JSON_COMPACT);
	json_decref(sj);
	char sid[16];
	snprintf(sid, sizeof sid, "%d", schema->schema_id);
	struct avro_meta meta[] = {
		{ "schema", schema_text },       { "schema-id", sid },
		{ "partition-spec", "[]" },      { "partition-spec-id", "0" },
		{ "format-version", "2" },       { "content", "data" },
	};
	unsigned char sync[16];
	sync_of(sync_seed, sync);
	struct avro_ocf *ocf = avro_ocf_create(fd, iceberg_manifest_entry_schema, meta,
					       sizeof meta / sizeof meta[0], sync, err);
	free(schema_text);
	if (!ocf)
		return NULL;
	struct iceberg_manifest_writer *w = xcalloc(1, sizeof *w);
	w->ocf = ocf;
	return w;
}

/* An Avro "map" of field id -> long (array of {key, value}); null when no
 * metric has it. */
static json_t *long_map(const struct iceberg_metric *m, size_t n, size_t which)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		int64_t v = which == 0 ? m[i].column_size : which == 1 ? m[i].value_count
								       : m[i].null_count;
		if (v >= 0)
			json_array_append_new(a, json_pack("{s:i, s:I}", "key", m[i].field_id,
							   "value", (json_int_t)v));
	}
	if (json_array_size(a) == 0) {
		json_decref(a);
		return json_null();
	}
	return a;
}

static json_t *bound_map(const struct iceberg_metric *m, size_t n, int upper)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const unsigned char *b = upper ? m[i].upper : m[i].lower;
		size_t nb = upper ? m[i].nupper : m[i].nlower;
		if (b)
			json_array_append_new(a, json_pack("{s:i, s:o}", "key", m[i].field_id, "value",
							   hex_of(b, nb)));
	}
	if (json_array_size(a) == 0) {
		json_decref(a);
		return json_null();
	}
	return a;
}

int iceberg_manifest_add(struct iceberg_manifest_writer *w, const struct iceberg_data_file *df,
			 struct lh_error *err)
{
	json_t *file = json_pack(
		"{s:i, s:s, s:s, s:{}, s:I, s:I, s:o, s:o, s:o, s:n, s:o, s:o, s:n, s:n, s:n, s:n}",
		"content", 0, "file_path", df->path, "file_format", "PARQUET", "partition",
		"record_count", (json_int_t)df->record_count, "file_size_in_bytes",
		(json_int_t)df->file_size, "column_sizes", long_map(df->metrics, df->nmetrics, 0),
		"value_counts", long_map(df->metrics, df->nmetrics, 1), "null_value_counts",
		long_map(df->metrics, df->nmetrics, 2), "nan_value_counts", "lower_bounds",
		bound_map(df->metrics, df->nmetrics, 0), "upper_bounds",
		bound_map(df->metrics, df->nmetrics, 1), "key_metadata", "split_offsets",
		"equality_ids", "sort_order_id");
	json_t *entry = json_pack("{s:i, s:I, s:I, s:I, s:o}", "status", df->status, "snapshot_id",
				  (json_int_t)df->snapshot_id, "sequence_number",
				  (json_int_t)df->sequence_number, "file_sequence_number",
				  (json_int_t)df->sequence_number, "data_file", file);
	int rc = avro_ocf_append(w->ocf, entry, err);
	json_decref(entry);
	return rc;
}

int iceberg_manifest_finish(struct iceberg_manifest_writer *w, uint64_t *bytes,
			    struct lh_error *err)
{
	return avro_ocf_finish(w->ocf, bytes, err);
}

void iceberg_manifest_destroy(struct iceberg_manifest_writer *w)
{
	if (!w)
		return;
	avro_ocf_destroy(w->ocf);
	free(w);
}

int iceberg_manifest_list_write(int fd, int64_t snapshot_id, int64_t parent_id, int64_t seq,
				const struct iceberg_manifest_file *files, size_t n,
				const char *sync_seed, uint64_t *bytes, struct lh_error *err)
{
	char sid[24], pid[24], sq[24];
	snprintf(sid, sizeof sid, "%" PRId64, snapshot_id);
	snprintf(pid, sizeof pid, "%" PRId64, parent_id);
	snprintf(sq, sizeof sq, "%" PRId64, seq);
	struct avro_meta meta[4] = { { "snapshot-id", sid }, { "sequence-number", sq },
				     { "format-version", "2" }, { "parent-snapshot-id", pid } };
	unsigned char sync[16];
	sync_of(sync_seed, sync);
	struct avro_ocf *ocf = avro_ocf_create(fd, iceberg_manifest_file_schema, meta,
					       parent_id > 0 ? 4 : 3, sync, err);
	if (!ocf)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct iceberg_manifest_file *f = &files[i];
		json_t *rec = json_pack(
			"{s:s, s:I, s:i, s:i, s:I, s:I, s:I, s:i, s:i, s:i, s:I, s:I, s:I, s:[], s:n}",
			"manifest_path", f->path, "manifest_length", (json_int_t)f->length,
			"partition_spec_id", 0, "content", 0, "sequence_number",
			(json_int_t)f->sequence_number, "min_sequence_number",
			(json_int_t)f->min_sequence_number, "added_snapshot_id",
			(json_int_t)f->added_snapshot_id, "added_files_count", (int)f->added_files,
			"existing_files_count", (int)f->existing_files, "deleted_files_count", 0,
			"added_rows_count", (json_int_t)f->added_rows, "existing_rows_count",
			(json_int_t)f->existing_rows, "deleted_rows_count", (json_int_t)0,
			"partitions", "key_metadata");
		rc = avro_ocf_append(ocf, rec, err);
		json_decref(rec);
	}
	if (rc == 0)
		rc = avro_ocf_finish(ocf, bytes, err);
	avro_ocf_destroy(ocf);
	return rc;
}
