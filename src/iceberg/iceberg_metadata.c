/* iceberg_metadata.c — the table metadata JSON of one snapshot
 * (vN.metadata.json, Iceberg table spec "Table Metadata", format version
 * 2), the table uuid and the base checks (iceberg.h; ADR 0230). Pure: the
 * same table and snapshot always give the same JSON, so racing builders
 * write equal bytes.
 */
#include "iceberg/iceberg.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void iceberg_table_uuid(const char *created_at, const char *first, char out[37])
{
	char hex[LH_SHA256_HEX_LEN + 1];
	char *s = xasprintf("lakehouse-iceberg-table\n%s\n%s", created_at, first);
	sha256_hex(s, strlen(s), hex);
	free(s);
	/* RFC 9562: version 8 (custom) in nibble 12, variant 10xx in nibble 16 */
	hex[12] = '8';
	static const char variant[] = "89ab";
	unsigned v = (unsigned)(hex[16] <= '9' ? hex[16] - '0' : hex[16] - 'a' + 10);
	hex[16] = variant[v & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void iceberg_base_hash(const char *base, char out[17])
{
	char hex[LH_SHA256_HEX_LEN + 1];
	sha256_hex(base, strlen(base), hex);
	memcpy(out, hex, 16);
	out[16] = 0;
}

int iceberg_base_check(const char *base, struct lh_error *err)
{
	size_t n = base ? strlen(base) : 0;
	size_t scheme = 0;
	if (n > 0 && strncmp(base, "http://", 7) == 0)
		scheme = 7;
	else if (strncmp(base ? base : "", "https://", 8) == 0)
		scheme = 8;
	else if (strncmp(base ? base : "", "s3://", 5) == 0)
		scheme = 5;
	if (!scheme || n <= scheme || n > 1024)
		return lh_fail(err, 400, "bad_request",
			       "base must be an http://, https:// or s3:// URL of at most 1024 bytes");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)base[i];
		if (c <= 0x20 || c == 0x7f || c == '?' || c == '#')
			return lh_fail(err, 400, "bad_request",
				       "base must not hold spaces, control characters, '?' or '#'");
	}
	if (base[n - 1] == '/')
		return lh_fail(err, 400, "bad_request", "base must not end with '/'");
	return 0;
}

static json_t *snapshot_json(const struct iceberg_snapshot *s, int64_t parent)
{
	json_t *summary = json_pack(
		"{s:s, s:o, s:o, s:o, s:o, s:o}", "operation", s->operation, "added-data-files",
		json_sprintf("%lld", (long long)s->added_files), "added-records",
		json_sprintf("%lld", (long long)s->added_records), "total-data-files",
		json_sprintf("%lld", (long long)s->total_files), "total-records",
		json_sprintf("%lld", (long long)s->total_records), "total-files-size",
		json_sprintf("%lld", (long long)s->total_size));
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:o, s:i}", "snapshot-id", (json_int_t)s->id,
			      "sequence-number", (json_int_t)s->id, "timestamp-ms",
			      (json_int_t)s->timestamp_ms, "manifest-list", s->manifest_list,
			      "summary", summary, "schema-id", s->schema_id);
	if (parent > 0)
		json_object_set_new(o, "parent-snapshot-id", json_integer(parent));
	return o;
}

json_t *iceberg_metadata_json(const struct iceberg_table *t, size_t upto, size_t schemas_upto)
{
	const struct iceberg_snapshot *cur = &t->snapshots[upto - 1];
	json_t *schemas = json_array();
	int last_column_id = 0;
	for (size_t i = 0; i < schemas_upto; i++) {
		json_array_append_new(schemas, iceberg_schema_json(&t->fields.schemas[i]));
		for (size_t j = 0; j < t->fields.schemas[i].nfields; j++)
			if (t->fields.schemas[i].fields[j].id > last_column_id)
				last_column_id = t->fields.schemas[i].fields[j].id;
	}
	json_t *snaps = json_array(), *slog = json_array(), *mlog = json_array();
	for (size_t i = 0; i < upto; i++) {
		const struct iceberg_snapshot *s = &t->snapshots[i];
		json_array_append_new(snaps, snapshot_json(s, i > 0 ? t->snapshots[i - 1].id : 0));
		json_array_append_new(slog, json_pack("{s:I, s:I}", "timestamp-ms",
						      (json_int_t)s->timestamp_ms, "snapshot-id",
						      (json_int_t)s->id));
		if (i + 1 < upto)
			json_array_append_new(mlog, json_pack("{s:I, s:s}", "timestamp-ms",
							      (json_int_t)s->timestamp_ms,
							      "metadata-file", s->metadata_file));
	}
	char *mapping = iceberg_name_mapping(&t->fields.schemas[cur->schema_id]);
	json_t *props = json_pack("{s:s, s:o, s:s}", "schema.name-mapping.default", mapping,
				  "lakehouse.version", json_sprintf("%lld", (long long)cur->id),
				  "write.format.default", "parquet");
	free(mapping);
	json_t *m = json_object();
	json_object_set_new(m, "format-version", json_integer(2));
	json_object_set_new(m, "table-uuid", json_string(t->uuid));
	json_object_set_new(m, "location", json_string(t->location));
	json_object_set_new(m, "last-sequence-number", json_integer(cur->id));
	json_object_set_new(m, "last-updated-ms", json_integer(cur->timestamp_ms));
	json_object_set_new(m, "last-column-id", json_integer(last_column_id));
	json_object_set_new(m, "current-schema-id", json_integer(cur->schema_id));
	json_object_set_new(m, "schemas", schemas);
	json_object_set_new(m, "default-spec-id", json_integer(0));
	json_object_set_new(m, "partition-specs",
			    json_pack("[{s:i, s:[]}]", "spec-id", 0, "fields"));
	/* no partition field was ever assigned: the spec's default for that */
	json_object_set_new(m, "last-partition-id", json_integer(999));
	json_object_set_new(m, "default-sort-order-id", json_integer(0));
	json_object_set_new(m, "sort-orders", json_pack("[{s:i, s:[]}]", "order-id", 0, "fields"));
	json_object_set_new(m, "properties", props);
	json_object_set_new(m, "current-snapshot-id", json_integer(cur->id));
	json_object_set_new(m, "refs", json_pack("{s:{s:I, s:s}}", "main", "snapshot-id",
						 (json_int_t)cur->id, "type", "branch"));
	json_object_set_new(m, "snapshots", snaps);
	json_object_set_new(m, "snapshot-log", slog);
	json_object_set_new(m, "metadata-log", mlog);
	json_object_set_new(m, "statistics", json_array());
	return m;
}
