/* iceberg.h — the lakehouse's datasets as Apache Iceberg (format version 2)
 * tables: the format code of SPEC 18 (ADRs 0230-0234, docs/iceberg.md). Pure
 * and deterministic; queryd (src/queryd/iceberg_build.c) does the I/O.
 *
 *   iceberg_schema.c    type mapping, field ids over a dataset's version
 *                       history, schemas and the name mapping (ADR 0231)
 *   parquet_footer.c    a Parquet footer's statistics (Thrift compact)
 *   iceberg_bounds.c    data file metrics: column sizes, counts and bounds in
 *                       Iceberg's single-value serialization (ADR 0232)
 *   iceberg_manifest.c  manifests and manifest lists (Avro, avro.h)
 *   iceberg_metadata.c  the table metadata JSON (vN.metadata.json)
 *   avro_libavro.c      Avro container files over avro-c (avro.h)
 */
#ifndef LH_ICEBERG_H
#define LH_ICEBERG_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct manifest;

/* ---- iceberg_schema.c ------------------------------------------------------- */

/* The Iceberg type of a lakehouse type name (docs/schema.md): utf8 ->
 * "string", int64 -> "long", float64 -> "double", bool -> "boolean",
 * date32 -> "date", timestamp[us] -> "timestamp", timestamp[us, tz=UTC] ->
 * "timestamptz", decimal(p,s) -> "decimal(p,s)". 0 with out filled, or -1
 * for a name that is none of these. */
#define ICEBERG_TYPE_MAX 32
int iceberg_type_of(const char *lh_type, char out[ICEBERG_TYPE_MAX]);

/* 1 if Iceberg v2 allows promoting a column of type `from` to `to` (both
 * Iceberg names) while keeping its field id: equal, int -> long, float ->
 * double, decimal(p,s) -> decimal(q,s) with q >= p. */
int iceberg_type_promotes(const char *from, const char *to);

/* Field ids and schemas over a dataset's versions, walked oldest first
 * (ADR 0231): a column keeps its id while it stays in consecutive versions'
 * schemas (matched by name, byte for byte); a name that was not in the
 * previous version's schema gets the next id, so a removed and re-added
 * column gets a new one. Schemas are numbered from 0 in order of first
 * appearance; a version whose (id, name, type) list equals an earlier
 * schema's reuses its id. All fields are optional (a lakehouse column may
 * gain nulls at any version). */
struct iceberg_field {
	int id;
	char *name;             /* owned */
	char type[ICEBERG_TYPE_MAX];
	char lh_type[ICEBERG_TYPE_MAX];   /* the lakehouse's type name */
	int widened_from_version;   /* > 0: the type changed at that version in a
				     * way Iceberg does not promote (ADR 0231) */
	char widened_from[ICEBERG_TYPE_MAX];
};
struct iceberg_schema {
	int schema_id;
	struct iceberg_field *fields;   /* owned */
	size_t nfields;
};
struct iceberg_fields {
	struct iceberg_schema *schemas;  /* owned: distinct schemas, by schema id */
	size_t nschemas;
	int last_column_id;
	int current;                     /* the schema id of the last version added */
	int64_t version;                 /* the last version added */
};
void iceberg_fields_init(struct iceberg_fields *f);
void iceberg_fields_free(struct iceberg_fields *f);
/* Add the next version's schema (m->columns; m->version must follow the
 * last one added). 0, or -1 with 500 for a column type Iceberg cannot hold. */
int iceberg_fields_add(struct iceberg_fields *f, const struct manifest *m, struct lh_error *err);
/* The current schema (of the last version added). */
const struct iceberg_schema *iceberg_fields_current(const struct iceberg_fields *f);
/* {"type":"struct","schema-id":N,"fields":[{"id","name","required":false,
 * "type"[,"doc"]}]}: a new object. */
json_t *iceberg_schema_json(const struct iceberg_schema *s);
/* The name mapping of `s` as JSON text (malloc'd): [{"field-id":1,
 * "names":["a"]},...], for the "schema.name-mapping.default" property. */
char *iceberg_name_mapping(const struct iceberg_schema *s);
/* The field of `s` named `name`, or NULL. */
const struct iceberg_field *iceberg_schema_field(const struct iceberg_schema *s, const char *name);

/* ---- parquet_footer.c ------------------------------------------------------- */

/* One column chunk (a column in one row group). min/max point into the
 * footer bytes given to parquet_footer_parse (borrowed). */
struct pq_chunk {
	int64_t values;          /* num_values: rows, nulls included (flat columns) */
	int64_t compressed;      /* total_compressed_size */
	int64_t nulls;
	int has_nulls;
	const unsigned char *min, *max;   /* Statistics min_value / max_value */
	size_t nmin, nmax;
	int has_min, has_max;
	int inexact_min, inexact_max;     /* is_min/max_value_exact said false */
};
/* A top-level column of the file. */
struct pq_column {
	char *name;              /* owned */
	int physical;            /* Parquet Type: 0 BOOLEAN, 1 INT32, 2 INT64, 3 INT96,
				  * 4 FLOAT, 5 DOUBLE, 6 BYTE_ARRAY, 7 FIXED_LEN_BYTE_ARRAY;
				  * -1 unsaid */
	int converted;           /* ConvertedType, -1 unsaid (5 DECIMAL, 6 DATE,
				  * 9 TIMESTAMP_MILLIS, 10 TIMESTAMP_MICROS, 0 UTF8) */
	int logical;             /* LogicalType member, 0 unsaid (1 STRING, 5 DECIMAL,
				  * 6 DATE, 8 TIMESTAMP) */
	int ts_unit;             /* TIMESTAMP: 1 MILLIS, 2 MICROS, 3 NANOS; 0 unsaid */
	int ts_utc;
	int scale, precision;    /* -1 unsaid */
	int type_length;
	int nested;              /* a group: no metrics are taken */
	struct pq_chunk *chunks; /* owned, one per row group that has the column */
	size_t nchunks, achunks;
	size_t rg_seen;          /* parsing: 1 + the row group of the last chunk kept */
};
struct pq_footer {
	int64_t num_rows;
	struct pq_column *columns;   /* owned */
	size_t ncolumns;
	size_t nrowgroups;
};

/* The footer's last 8 bytes (length + "PAR1") of a file of `file_size`
 * bytes: 0 with where the FileMetaData starts and its length, or -1 when
 * they are not a Parquet tail. Pure. */
int parquet_footer_locate(const unsigned char tail[8], uint64_t file_size, uint64_t *offset,
			  uint32_t *length);
/* Parse the FileMetaData bytes p[0..n) (which must outlive *out: bounds
 * point into them). At most max_columns top-level columns (more: 400
 * bad_parquet). 0 and *out (parquet_footer_free it), or -1 with 400
 * "bad_parquet". Pure. */
int parquet_footer_parse(const unsigned char *p, size_t n, size_t max_columns,
			 struct pq_footer *out, struct lh_error *err);
void parquet_footer_free(struct pq_footer *f);

/* ---- iceberg_bounds.c -------------------------------------------------------- */

/* Iceberg keeps at most this many code points of a string bound (Iceberg's
 * default metrics mode, truncate(16)): the lower bound is the prefix, the
 * upper bound the prefix with its last code point incremented. */
#define ICEBERG_STRING_BOUND_CHARS 16

/* A data file's metrics for one field. */
struct iceberg_metric {
	int field_id;
	int64_t column_size;     /* -1 = unknown */
	int64_t value_count;     /* -1 = unknown */
	int64_t null_count;      /* -1 = unknown */
	unsigned char *lower, *upper;   /* owned; NULL = no bound */
	size_t nlower, nupper;
};

/* The metrics of column `col` of a file as field `field` (whose Iceberg
 * type says how to read the Parquet values; `file_lh_type` is the type the
 * object was written with: when it is not the field's lakehouse type no
 * bounds are given, ADR 0231). Bounds need every row group with a value to
 * carry exact min_value/max_value of the expected physical type; otherwise
 * they are left out. Pure. */
void iceberg_metric_of(const struct pq_column *col, const struct iceberg_field *field,
		       const char *file_lh_type, struct iceberg_metric *out);
void iceberg_metric_free(struct iceberg_metric *m);

/* Serialize one value of Iceberg `type` given as text (tests and checks):
 * long/int/date/timestamp[tz] as a decimal integer (days or microseconds),
 * double as a C double literal, boolean "true"/"false", string verbatim,
 * decimal as its unscaled integer. 0 with out[*n], or -1. Pure. */
int iceberg_bound_from_text(const char *type, const char *text, unsigned char *out, size_t cap,
			    size_t *n);
/* Compare two serialized values of `type` in Iceberg's order: <0, 0, >0. */
int iceberg_bound_cmp(const char *type, const unsigned char *a, size_t na, const unsigned char *b,
		      size_t nb);
/* Truncate a UTF-8 string bound to `chars` code points: the lower bound is
 * the prefix; the upper bound's last kept code point is incremented (0 when
 * no upper bound exists, e.g. every kept code point is U+10FFFF). Both
 * write into out (cap >= n) and return the new length; an upper bound that
 * cannot be made returns (size_t)-1. Pure. */
size_t iceberg_truncate_lower(const unsigned char *s, size_t n, size_t chars, unsigned char *out);
size_t iceberg_truncate_upper(const unsigned char *s, size_t n, size_t chars, unsigned char *out);

/* ---- iceberg_manifest.c ---------------------------------------------------- */

/* One data file of a manifest. */
struct iceberg_data_file {
	int status;                 /* 0 EXISTING, 1 ADDED */
	int64_t snapshot_id;        /* the snapshot that added the file */
	int64_t sequence_number;    /* its data and file sequence number */
	const char *path;           /* absolute: <base>/<object key> */
	int64_t record_count;
	int64_t file_size;
	struct iceberg_metric *metrics;   /* borrowed */
	size_t nmetrics;
};

struct iceberg_manifest_writer;
/* Start a manifest (Avro: iceberg_manifest.c's schema with the header keys
 * "schema" (`schema`'s JSON), "schema-id", "partition-spec" "[]",
 * "partition-spec-id" "0", "format-version" "2", "content" "data") on
 * `fd`. `sync_seed` names the file (its key): the sync marker is derived
 * from it. NULL with err. */
struct iceberg_manifest_writer *iceberg_manifest_create(int fd, const struct iceberg_schema *schema,
							 const char *sync_seed, struct lh_error *err);
int iceberg_manifest_add(struct iceberg_manifest_writer *w, const struct iceberg_data_file *df,
			 struct lh_error *err);
/* Finish: 0 with *bytes, the file's length. */
int iceberg_manifest_finish(struct iceberg_manifest_writer *w, uint64_t *bytes,
			    struct lh_error *err);
void iceberg_manifest_destroy(struct iceberg_manifest_writer *w);

/* One manifest_file entry of a manifest list. */
struct iceberg_manifest_file {
	const char *path;
	int64_t length;
	int64_t sequence_number;      /* when it was added */
	int64_t min_sequence_number;  /* the least data sequence number in it */
	int64_t added_snapshot_id;
	int32_t added_files, existing_files;
	int64_t added_rows, existing_rows;
};
/* Write a manifest list of `n` entries on `fd` with header keys
 * "snapshot-id", "parent-snapshot-id" (when > 0), "sequence-number",
 * "format-version" "2". 0 with *bytes, or -1. */
int iceberg_manifest_list_write(int fd, int64_t snapshot_id, int64_t parent_id, int64_t seq,
				const struct iceberg_manifest_file *files, size_t n,
				const char *sync_seed, uint64_t *bytes, struct lh_error *err);

/* The Avro schemas (JSON text) of manifest entries and manifest_file. */
extern const char iceberg_manifest_entry_schema[];
extern const char iceberg_manifest_file_schema[];

/* ---- iceberg_metadata.c ------------------------------------------------------ */

/* One snapshot (= one catalog version). */
struct iceberg_snapshot {
	int64_t id;                 /* = the version */
	int64_t timestamp_ms;       /* the version's registration time */
	int schema_id;
	const char *operation;      /* "append" or "overwrite" */
	char *manifest_list;        /* owned: absolute path */
	char *metadata_file;        /* owned: absolute path of vN.metadata.json */
	int64_t added_files, added_records, total_files, total_records, total_size;
};

struct iceberg_table {
	char uuid[37];
	char *location;             /* owned: <base>/_iceberg/<uuid>/<b> */
	struct iceberg_fields fields;
	struct iceberg_snapshot *snapshots;   /* owned, 1..N in order */
	size_t nsnapshots;
};

/* The table metadata of snapshot `upto` (1-based: snapshots[0..upto) are
 * its history) as a new JSON object: format-version 2, table-uuid,
 * location, last-sequence-number, last-updated-ms, last-column-id, schemas
 * (those of snapshots up to it), current-schema-id, partition-specs (the
 * unpartitioned spec 0), default-spec-id, last-partition-id 999,
 * sort-orders (unsorted order 0), default-sort-order-id, properties (the
 * name mapping), current-snapshot-id, snapshots, snapshot-log,
 * metadata-log, refs {"main"}. `schemas_upto` is how many of
 * t->fields.schemas existed at that snapshot. */
json_t *iceberg_metadata_json(const struct iceberg_table *t, size_t upto, size_t schemas_upto);

/* The table uuid of a dataset from its identity (ADR 0230): SHA-256 of
 * "lakehouse-iceberg-table\n<created_at>\n<first>" as an RFC 9562 version 8
 * UUID, `first` being the key of version 1's first object (it carries the
 * dataset's first name, so a rename keeps the uuid). Pure. */
void iceberg_table_uuid(const char *created_at, const char *first, char out[37]);

/* "<16 hex>": the first 16 hex digits of SHA-256(base). Pure. */
void iceberg_base_hash(const char *base, char out[17]);

/* Check a base URL (ADR 0230): http://, https:// or s3:// then at least one
 * character, at most 1024 bytes, no '?', '#', space, control character or
 * trailing '/'. 0, or -1 with 400 bad_request. Pure. */
int iceberg_base_check(const char *base, struct lh_error *err);

#endif
