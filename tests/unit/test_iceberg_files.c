/* test_iceberg_files.c — src/iceberg/'s files: the Parquet footer reader
 * over FileMetaData bytes encoded here with the Thrift compact protocol
 * (unknown fields, long field headers, nested columns, damaged input), and
 * the Avro manifests and manifest lists read back with avro-c's own reader
 * (avro_ocf_read): header keys, records, determinism. Real DuckDB-written
 * footers are checked end to end by tests/integration/test_iceberg_metadata.py. */
#include "test.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "iceberg/avro.h"
#include "iceberg/iceberg.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- a Thrift compact encoder, just enough ------------------------------- */

static void b1(struct lh_buf *b, unsigned c)
{
	unsigned char x = (unsigned char)c;
	lh_buf_append(b, &x, 1);
}

static void uvar(struct lh_buf *b, uint64_t u)
{
	while (u >= 0x80) {
		b1(b, (unsigned)(u | 0x80) & 0xff);
		u >>= 7;
	}
	b1(b, (unsigned)u);
}

static void ivar(struct lh_buf *b, int64_t v)
{
	uvar(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* field header: delta form */
static void fh(struct lh_buf *b, int delta, int type)
{
	b1(b, (unsigned)(delta << 4 | type));
}

static void fint(struct lh_buf *b, int delta, int type, int64_t v)
{
	fh(b, delta, type);
	ivar(b, v);
}

static void fbin(struct lh_buf *b, int delta, const void *p, size_t n)
{
	fh(b, delta, 8);
	uvar(b, n);
	lh_buf_append(b, p, n);
}

static void lhead(struct lh_buf *b, int count, int etype)
{
	b1(b, (unsigned)(count << 4 | etype));
}

static void stop(struct lh_buf *b)
{
	b1(b, 0);
}

/* ColumnChunk of a flat column `name` with statistics. */
static void chunk(struct lh_buf *b, int type, const char *name, int64_t values, int64_t size,
		  int64_t nulls, const void *min, const void *max, size_t n)
{
	fint(b, 2, 6, 4);               /* 2: file_offset */
	fh(b, 1, 12);                   /* 3: meta_data */
	fint(b, 1, 5, type);            /* 1: type */
	fh(b, 1, 9);                    /* 2: encodings */
	lhead(b, 1, 5);
	ivar(b, 0);
	fh(b, 1, 9);                    /* 3: path_in_schema */
	lhead(b, 1, 8);
	uvar(b, strlen(name));
	lh_buf_append(b, name, strlen(name));
	fint(b, 1, 5, 1);               /* 4: codec */
	fint(b, 1, 6, values);          /* 5 */
	fint(b, 1, 6, size * 2);        /* 6 */
	fint(b, 1, 6, size);            /* 7 */
	fint(b, 2, 6, 4);               /* 9: data_page_offset */
	fh(b, 3, 12);                   /* 12: statistics */
	fint(b, 3, 6, nulls);           /* 3: null_count */
	if (min) {
		fbin(b, 2, max, n);     /* 5: max_value */
		fbin(b, 1, min, n);     /* 6: min_value */
	}
	stop(b);
	stop(b);
	stop(b);
}

static void footer(struct lh_buf *b)
{
	lh_buf_init(b, 1 << 20);
	fint(b, 1, 5, 1);               /* 1: version */
	fh(b, 1, 9);                    /* 2: schema */
	lhead(b, 6, 12);
	/* root */
	fbin(b, 4, "schema", 6);
	fint(b, 1, 5, 4);               /* 5: num_children */
	stop(b);
	/* id INT64 */
	fint(b, 1, 5, 2);
	fint(b, 2, 5, 1);               /* 3: repetition OPTIONAL */
	fbin(b, 1, "id", 2);
	stop(b);
	/* ts INT64 TIMESTAMP(MICROS, not adjusted) */
	fint(b, 1, 5, 2);
	fbin(b, 3, "ts", 2);
	fh(b, 6, 12);                   /* 10: logicalType */
	fh(b, 8, 12);                   /* 8: TIMESTAMP */
	fh(b, 1, 2);                    /* 1: isAdjustedToUTC false */
	fh(b, 1, 12);                   /* 2: unit */
	fh(b, 2, 12);                   /* MICROS */
	stop(b);
	stop(b);
	stop(b);
	stop(b);
	stop(b);
	/* a nested group with one leaf */
	fbin(b, 4, "g", 1);
	fint(b, 1, 5, 1);
	stop(b);
	fint(b, 1, 5, 1);
	fbin(b, 3, "leaf", 4);
	stop(b);
	/* s BYTE_ARRAY with converted UTF8 and an unknown field in the long form */
	fint(b, 1, 5, 6);
	fbin(b, 3, "s", 1);
	fint(b, 2, 5, 0);               /* 6: converted_type UTF8 */
	b1(b, 5);                       /* long form header: type i32, */
	ivar(b, 77);                    /*   field id 77 */
	ivar(b, 12345);
	stop(b);
	fint(b, 1, 6, 5);               /* 3: num_rows */
	fh(b, 1, 9);                    /* 4: row_groups */
	lhead(b, 2, 12);
	int64_t lo1 = 1, hi1 = 3, lo2 = -7, hi2 = 2;
	/* row group 1 */
	fh(b, 1, 9);
	lhead(b, 4, 12);
	chunk(b, 2, "id", 3, 40, 0, &lo1, &hi1, 8);
	chunk(b, 2, "ts", 3, 41, 1, &hi1, &hi1, 8);
	fh(b, 3, 12);                   /* a nested leaf: path of two */
	fh(b, 3, 9);
	lhead(b, 2, 8);
	uvar(b, 1);
	lh_buf_append(b, "g", 1);
	uvar(b, 4);
	lh_buf_append(b, "leaf", 4);
	fint(b, 2, 6, 3);
	stop(b);
	stop(b);
	chunk(b, 6, "s", 3, 10, 0, "apple", "melon", 5);
	fint(b, 1, 6, 100);             /* 2: total_byte_size */
	fint(b, 1, 6, 3);               /* 3: num_rows */
	fh(b, 4, 11);                   /* 7: an unknown map<i32,binary> */
	uvar(b, 1);
	b1(b, 5 << 4 | 8);
	ivar(b, 1);
	uvar(b, 2);
	lh_buf_append(b, "kv", 2);
	stop(b);
	/* row group 2 */
	fh(b, 1, 9);
	lhead(b, 2, 12);
	chunk(b, 2, "id", 2, 30, 1, &lo2, &hi2, 8);
	chunk(b, 6, "s", 2, 9, 0, "aardvark", "zebra", 5);
	fint(b, 2, 6, 2);
	stop(b);
	fh(b, 3, 9);                    /* 7: column_orders, skipped */
	lhead(b, 0, 12);
	stop(b);
}

TEST(parquet_footer_reads_statistics)
{
	struct lh_buf b;
	footer(&b);
	struct pq_footer f;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parquet_footer_parse((unsigned char *)b.data, b.len, 100, &f, &err), 0);
	CHECK_EQ_INT(f.num_rows, 5);
	CHECK_EQ_INT(f.nrowgroups, 2);
	CHECK_EQ_INT(f.ncolumns, 4);
	CHECK_EQ_STR(f.columns[0].name, "id");
	CHECK_EQ_INT(f.columns[0].physical, 2);
	CHECK_EQ_INT(f.columns[0].nchunks, 2);
	CHECK_EQ_STR(f.columns[1].name, "ts");
	CHECK_EQ_INT(f.columns[1].ts_unit, 2);
	CHECK_EQ_INT(f.columns[1].ts_utc, 0);
	CHECK_EQ_INT(f.columns[1].logical, 8);
	CHECK_EQ_STR(f.columns[2].name, "g");
	CHECK(f.columns[2].nested);
	CHECK_EQ_INT(f.columns[2].nchunks, 1);
	CHECK_EQ_STR(f.columns[3].name, "s");
	CHECK_EQ_INT(f.columns[3].converted, 0);
	CHECK_EQ_INT(f.columns[3].nchunks, 2);
	/* the id column as Iceberg sees it: -7..3 over both row groups */
	struct iceberg_field id = { .id = 1, .name = "id", .type = "long", .lh_type = "int64" };
	struct iceberg_metric m;
	iceberg_metric_of(&f.columns[0], &id, "int64", &m);
	CHECK_EQ_INT(m.value_count, 5);
	CHECK_EQ_INT(m.null_count, 1);
	CHECK_EQ_INT(m.column_size, 70);
	int64_t lo, hi;
	CHECK(m.nlower == 8 && m.nupper == 8);
	memcpy(&lo, m.lower, 8);
	memcpy(&hi, m.upper, 8);
	CHECK_EQ_INT(lo, -7);
	CHECK_EQ_INT(hi, 3);
	iceberg_metric_free(&m);
	struct iceberg_field s = { .id = 3, .name = "s", .type = "string", .lh_type = "utf8" };
	iceberg_metric_of(&f.columns[3], &s, "utf8", &m);
	CHECK(m.nlower == 5 && memcmp(m.lower, "aardv", 5) == 0);
	CHECK(m.nupper == 5 && memcmp(m.upper, "zebra", 5) == 0);
	iceberg_metric_free(&m);
	struct iceberg_field g = { .id = 9, .name = "g", .type = "string", .lh_type = "utf8" };
	iceberg_metric_of(&f.columns[2], &g, "utf8", &m);
	CHECK_EQ_INT(m.value_count, -1);       /* nested: no metrics */
	iceberg_metric_free(&m);
	parquet_footer_free(&f);
	/* every cut of the bytes is refused, never read past */
	for (size_t n = 0; n < b.len; n++) {
		lh_error_clear(&err);
		unsigned char *cut = malloc(n ? n : 1);
		memcpy(cut, b.data, n);
		int rc = parquet_footer_parse(cut, n, 100, &f, &err);
		free(cut);
		CHECK_EQ_INT(rc, -1);
		CHECK_EQ_INT(err.status, 400);
	}
	/* too many columns */
	lh_error_clear(&err);
	CHECK_EQ_INT(parquet_footer_parse((unsigned char *)b.data, b.len, 2, &f, &err), -1);
	CHECK(strstr(err.msg, "more than 2 columns"));
	lh_buf_free(&b);
}

/* A footer of ncols flat INT64 columns c0..c<n-1>, then the list header of
 * the row groups (the caller writes them and the final stop). */
static void wide_schema(struct lh_buf *b, int ncols, uint64_t nrowgroups)
{
	lh_buf_init(b, 1 << 20);
	fint(b, 1, 5, 1);               /* 1: version */
	fh(b, 1, 9);                    /* 2: schema */
	b1(b, 0xf0 | 12);
	uvar(b, (uint64_t)ncols + 1);
	fbin(b, 4, "schema", 6);
	fint(b, 1, 5, ncols);           /* 5: num_children */
	stop(b);
	for (int i = 0; i < ncols; i++) {
		char name[16];
		int n = snprintf(name, sizeof name, "c%d", i);
		fint(b, 1, 5, 2);
		fbin(b, 3, name, (size_t)n);
		stop(b);
	}
	fint(b, 1, 6, 1);               /* 3: num_rows */
	fh(b, 1, 9);                    /* 4: row_groups */
	b1(b, 0xf0 | 12);
	uvar(b, nrowgroups);
}

TEST(parquet_footer_bounds_hostile_chunk_lists)
{
	/* R19: a row group naming one column 20000 times kept 20000 chunks for
	 * it (9M chunks: 756 MB); at most one per column per row group stays */
	struct lh_buf b;
	int64_t lo = 1, hi = 2;
	wide_schema(&b, 1000, 1);
	fh(&b, 1, 9);                   /* row group: 1: columns */
	b1(&b, 0xf0 | 12);
	uvar(&b, 20000);
	for (int i = 0; i < 20000; i++)
		chunk(&b, 2, i % 2 ? "c999" : "c0", 1, 10, 0, &lo, &hi, 8);
	fint(&b, 2, 6, 1);              /* 3: num_rows */
	stop(&b);
	stop(&b);
	struct pq_footer f;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parquet_footer_parse((unsigned char *)b.data, b.len, 4096, &f, &err), 0);
	CHECK_EQ_INT(f.ncolumns, 1000);
	CHECK_EQ_INT(f.columns[0].nchunks, 1);
	CHECK_EQ_INT(f.columns[999].nchunks, 1);
	CHECK_EQ_INT(f.columns[500].nchunks, 0);
	parquet_footer_free(&f);
	lh_buf_free(&b);
	/* row groups x columns past LH_ICEBERG_FOOTER_MAX_CHUNKS: no metrics */
	uint64_t rgs = LH_ICEBERG_FOOTER_MAX_CHUNKS / 1000 + 1;
	wide_schema(&b, 1000, rgs);
	for (uint64_t i = 0; i < rgs; i++)
		stop(&b);               /* an empty row group */
	stop(&b);
	CHECK_EQ_INT(parquet_footer_parse((unsigned char *)b.data, b.len, 4096, &f, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK(strstr(err.msg, "column chunks") != NULL);
	lh_error_clear(&err);
	/* one fewer row group is read */
	lh_buf_free(&b);
	wide_schema(&b, 1000, rgs - 1);
	for (uint64_t i = 0; i + 1 < rgs; i++)
		stop(&b);
	stop(&b);
	CHECK_EQ_INT(parquet_footer_parse((unsigned char *)b.data, b.len, 4096, &f, &err), 0);
	CHECK_EQ_INT(f.nrowgroups, rgs - 1);
	parquet_footer_free(&f);
	lh_buf_free(&b);
}

TEST(parquet_footer_refuses_field_ids_beyond_16_bits)
{
	/* R19's minimal input: a long-form field id of INT32_MAX-ish (f4 ff ff ff
	 * 0f), then a short-form delta on top of it, which overflowed an int. */
	static const unsigned char ub[] = { 0x05, 0xf4, 0xff, 0xff, 0xff, 0x0f,
					    0x00, 0x75, 0x00, 0x00 };
	struct pq_footer f;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parquet_footer_parse(ub, sizeof ub, 10, &f, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
}

TEST(parquet_footer_refuses_deep_nesting_and_locates)
{
	unsigned char deep[200];
	size_t n = 0;
	for (int i = 0; i < 60; i++)
		deep[n++] = 1 << 4 | 12;   /* struct field after struct field */
	struct pq_footer f;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parquet_footer_parse(deep, n, 10, &f, &err), -1);
	unsigned char tail[8] = { 10, 0, 0, 0, 'P', 'A', 'R', '1' };
	uint64_t off;
	uint32_t len;
	CHECK_EQ_INT(parquet_footer_locate(tail, 100, &off, &len), 0);
	CHECK_EQ_INT(off, 82);
	CHECK_EQ_INT(len, 10);
	CHECK_EQ_INT(parquet_footer_locate(tail, 21, &off, &len), -1);    /* longer than the file */
	tail[7] = 'X';
	CHECK_EQ_INT(parquet_footer_locate(tail, 100, &off, &len), -1);
}

/* ---- Avro ------------------------------------------------------------------ */

static int temp_file(char *path)
{
	snprintf(path, 64, "/tmp/lh-unit-avro-XXXXXX");
	return mkstemp(path);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = malloc(1 << 20);
	*n = f ? fread(p, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	return p;
}

/* avro-c renders bytes as a JSON string that ends at a NUL: none here */
static unsigned char lo_bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static int write_manifest(const char *path, int fd, const struct iceberg_schema *schema)
{
	struct lh_error err = { 0 };
	struct iceberg_manifest_writer *w = iceberg_manifest_create(fd, schema, path, &err);
	if (!w)
		return -1;
	unsigned char hi[8] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	unsigned char *lo = lo_bytes;
	struct iceberg_metric mt[2] = {
		{ .field_id = 1, .column_size = 40, .value_count = 3, .null_count = 0,
		  .lower = lo, .nlower = 8, .upper = hi, .nupper = 8 },
		{ .field_id = 2, .column_size = 10, .value_count = 3, .null_count = -1 },
	};
	int rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++) {
		struct iceberg_data_file df = {
			.status = i == 2 ? 1 : 0, .snapshot_id = i + 1, .sequence_number = i + 1,
			.path = "http://h/files/datasets/t/a.parquet", .record_count = 3,
			.file_size = 700 + i, .metrics = mt, .nmetrics = 2,
		};
		rc = iceberg_manifest_add(w, &df, &err);
	}
	uint64_t bytes = 0;
	if (rc == 0)
		rc = iceberg_manifest_finish(w, &bytes, &err);
	iceberg_manifest_destroy(w);
	return rc;
}

TEST(iceberg_manifest_reads_back_with_avro_c)
{
	struct iceberg_fields f;
	iceberg_fields_init(&f);
	struct manifest *m = manifest_create();
	m->version = 1;
	manifest_add_column(m, "id", "int64", 0);
	manifest_add_column(m, "s", "utf8", 1);
	struct lh_error err = { 0 };
	CHECK_EQ_INT(iceberg_fields_add(&f, m, &err), 0);
	manifest_unref(m);
	char p1[64], p2[64];
	int fd1 = temp_file(p1), fd2 = temp_file(p2);
	CHECK(fd1 >= 0 && fd2 >= 0);
	CHECK_EQ_INT(write_manifest("seed", fd1, iceberg_fields_current(&f)), 0);
	CHECK_EQ_INT(write_manifest("seed", fd2, iceberg_fields_current(&f)), 0);
	close(fd1);
	close(fd2);
	size_t n1, n2;
	char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
	int same = n1 == n2 && memcmp(a, b, n1) == 0;   /* deterministic bytes (ADR 0230) */
	free(a);
	free(b);
	CHECK(same);
	json_t *meta = NULL, *recs = NULL;
	int rc = avro_ocf_read(p1, &meta, &recs, &err);
	unlink(p1);
	unlink(p2);
	iceberg_fields_free(&f);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "format-version")), "2");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "content")), "data");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "partition-spec")), "[]");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "partition-spec-id")), "0");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "schema-id")), "0");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "avro.codec")), "null");
	json_error_t je;
	json_t *schema = json_loads(json_string_value(json_object_get(meta, "schema")), 0, &je);
	CHECK(schema);
	CHECK_EQ_INT(json_array_size(json_object_get(schema, "fields")), 2);
	json_decref(schema);
	/* the Avro schema keeps Iceberg's field ids */
	json_t *as = json_loads(json_string_value(json_object_get(meta, "avro.schema")), 0, &je);
	CHECK(as);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(json_object_get(as, "fields"), 4),
							"field-id")), 2);
	json_decref(as);
	CHECK_EQ_INT(json_array_size(recs), 3);
	json_t *r0 = json_array_get(recs, 0), *r2 = json_array_get(recs, 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(r0, "status")), 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(r2, "status")), 1);
	/* avro-c renders a union as {"branch type": value} */
	CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r2, "snapshot_id"), "long")), 3);
	json_t *df = json_object_get(r0, "data_file");
	CHECK_EQ_STR(json_string_value(json_object_get(df, "file_format")), "PARQUET");
	CHECK_EQ_INT(json_integer_value(json_object_get(df, "record_count")), 3);
	CHECK_EQ_INT(json_integer_value(json_object_get(df, "file_size_in_bytes")), 700);
	CHECK_EQ_INT(json_integer_value(json_object_get(df, "content")), 0);
	json_t *vc = json_object_get(json_object_get(df, "value_counts"), "array");
	CHECK_EQ_INT(json_array_size(vc), 2);
	json_t *nc = json_object_get(json_object_get(df, "null_value_counts"), "array");
	CHECK_EQ_INT(json_array_size(nc), 1);     /* field 2's null count is unknown */
	json_t *lb = json_object_get(json_object_get(df, "lower_bounds"), "array");
	CHECK_EQ_INT(json_array_size(lb), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(lb, 0), "key")), 1);
	json_t *lbv = json_object_get(json_array_get(lb, 0), "value");
	CHECK(json_is_string(lbv) && json_string_length(lbv) == 8 &&
	      memcmp(json_string_value(lbv), lo_bytes, 8) == 0);
	CHECK(json_is_null(json_object_get(df, "nan_value_counts")));
	json_decref(meta);
	json_decref(recs);
}

TEST(iceberg_manifest_list_reads_back_with_avro_c)
{
	char p[64];
	int fd = temp_file(p);
	CHECK(fd >= 0);
	struct iceberg_manifest_file files[2] = {
		{ .path = "http://h/m1.avro", .length = 100, .sequence_number = 1,
		  .min_sequence_number = 1, .added_snapshot_id = 1, .added_files = 2, .added_rows = 5 },
		{ .path = "http://h/m3.avro", .length = 120, .sequence_number = 3,
		  .min_sequence_number = 2, .added_snapshot_id = 3, .added_files = 1,
		  .existing_files = 4, .added_rows = 1, .existing_rows = 9 },
	};
	uint64_t bytes = 0;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(iceberg_manifest_list_write(fd, 3, 2, 3, files, 2, "seed", &bytes, &err), 0);
	CHECK(bytes > 0);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_END), (long long)bytes);
	close(fd);
	json_t *meta = NULL, *recs = NULL;
	int rc = avro_ocf_read(p, &meta, &recs, &err);
	unlink(p);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "snapshot-id")), "3");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "parent-snapshot-id")), "2");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "sequence-number")), "3");
	CHECK_EQ_STR(json_string_value(json_object_get(meta, "format-version")), "2");
	CHECK_EQ_INT(json_array_size(recs), 2);
	json_t *r = json_array_get(recs, 1);
	CHECK_EQ_STR(json_string_value(json_object_get(r, "manifest_path")), "http://h/m3.avro");
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "manifest_length")), 120);
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "sequence_number")), 3);
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "min_sequence_number")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "existing_files_count")), 4);
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "existing_rows_count")), 9);
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "deleted_files_count")), 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(r, "content")), 0);
	json_decref(meta);
	json_decref(recs);
}

TEST(avro_ocf_refuses_a_record_that_does_not_fit)
{
	char p[64];
	int fd = temp_file(p);
	unsigned char sync[16] = { 0 };
	struct lh_error err = { 0 };
	struct avro_ocf *w = avro_ocf_create(
		fd, "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}",
		NULL, 0, sync, &err);
	CHECK(w);
	json_t *bad = json_pack("{s:s}", "a", "not a long");
	CHECK_EQ_INT(avro_ocf_append(w, bad, &err), -1);
	CHECK_EQ_INT(err.status, 500);
	json_decref(bad);
	avro_ocf_destroy(w);
	close(fd);
	unlink(p);
	lh_error_clear(&err);
	CHECK(!avro_ocf_create(1, "{\"type\":\"nonsense\"}", NULL, 0, sync, &err));
}
