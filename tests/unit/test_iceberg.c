/* test_iceberg.c — src/iceberg/: type mapping, field ids over a version
 * history (evolution, removal and re-adding, widening), the schema and name
 * mapping JSON, bounds in Iceberg's single-value serialization per type,
 * string truncation, the metadata JSON's shape, the table uuid and base
 * checks. The Parquet footer reader and the Avro files are in
 * test_iceberg_files.c. */
#include "test.h"

#include "common/error.h"
#include "common/manifest.h"
#include "iceberg/iceberg.h"

#include <stdlib.h>

static struct manifest *version_of(int64_t v, const char *mode, const char *const *cols)
{
	struct manifest *m = manifest_create();
	m->version = v;
	snprintf(m->mode, sizeof m->mode, "%s", mode);
	for (size_t i = 0; cols[i]; i += 2)
		manifest_add_column(m, cols[i], cols[i + 1], 1);
	return m;
}

static int add(struct iceberg_fields *f, int64_t v, const char *const *cols)
{
	struct lh_error err = { 0 };
	struct manifest *m = version_of(v, "append", cols);
	int rc = iceberg_fields_add(f, m, &err);
	manifest_unref(m);
	return rc;
}

static int id_of(const struct iceberg_fields *f, const char *name)
{
	const struct iceberg_field *x = iceberg_schema_field(iceberg_fields_current(f), name);
	return x ? x->id : -1;
}

TEST(iceberg_type_mapping)
{
	static const char *const pairs[] = {
		"utf8", "string", "int64", "long", "float64", "double", "bool", "boolean",
		"date32", "date", "timestamp[us]", "timestamp", "timestamp[us, tz=UTC]",
		"timestamptz", "decimal(10,2)", "decimal(10,2)", "decimal(38,0)", "decimal(38,0)",
	};
	char out[ICEBERG_TYPE_MAX];
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i += 2) {
		CHECK_EQ_INT(iceberg_type_of(pairs[i], out), 0);
		CHECK_EQ_STR(out, pairs[i + 1]);
	}
	CHECK_EQ_INT(iceberg_type_of("string", out), -1);
	CHECK_EQ_INT(iceberg_type_of("INT64", out), -1);
	CHECK_EQ_INT(iceberg_type_of("", out), -1);
	CHECK(iceberg_type_promotes("int", "long"));
	CHECK(iceberg_type_promotes("float", "double"));
	CHECK(iceberg_type_promotes("decimal(9,2)", "decimal(18,2)"));
	CHECK(!iceberg_type_promotes("decimal(18,2)", "decimal(9,2)"));
	CHECK(!iceberg_type_promotes("decimal(9,2)", "decimal(18,3)"));
	CHECK(!iceberg_type_promotes("long", "double"));
	CHECK(!iceberg_type_promotes("long", "string"));
	CHECK(!iceberg_type_promotes("date", "timestamp"));
}

TEST(iceberg_field_ids_follow_columns_for_life)
{
	struct iceberg_fields f;
	iceberg_fields_init(&f);
	static const char *const v1[] = { "id", "int64", "name", "utf8", NULL };
	static const char *const v2[] = { "id", "int64", "name", "utf8", NULL };   /* append */
	static const char *const v3[] = { "name", "utf8", "id", "int64", "email", "utf8", NULL };
	static const char *const v4[] = { "id", "int64", "email", "utf8", NULL };  /* name removed */
	static const char *const v5[] = { "id", "int64", "email", "utf8", "name", "utf8", NULL };
	static const char *const v6[] = { "id", "int64", "email", "utf8", "name", "utf8", NULL };
	CHECK_EQ_INT(add(&f, 1, v1), 0);
	CHECK_EQ_INT(id_of(&f, "id"), 1);
	CHECK_EQ_INT(id_of(&f, "name"), 2);
	CHECK_EQ_INT(f.current, 0);
	CHECK_EQ_INT(add(&f, 2, v2), 0);
	CHECK_EQ_INT(f.current, 0);              /* the same schema: the same id */
	CHECK_EQ_INT(f.nschemas, 1);
	CHECK_EQ_INT(add(&f, 3, v3), 0);         /* reordered, one added */
	CHECK_EQ_INT(id_of(&f, "id"), 1);
	CHECK_EQ_INT(id_of(&f, "name"), 2);
	CHECK_EQ_INT(id_of(&f, "email"), 3);
	CHECK_EQ_INT(f.current, 1);
	CHECK_EQ_INT(add(&f, 4, v4), 0);
	CHECK_EQ_INT(id_of(&f, "name"), -1);
	CHECK_EQ_INT(add(&f, 5, v5), 0);         /* re-added: a new id */
	CHECK_EQ_INT(id_of(&f, "name"), 4);
	CHECK_EQ_INT(id_of(&f, "email"), 3);
	CHECK_EQ_INT(f.last_column_id, 4);
	CHECK_EQ_INT(f.nschemas, 4);
	CHECK_EQ_INT(add(&f, 6, v6), 0);
	CHECK_EQ_INT(f.current, 3);
	/* the same history walked again gives the same ids (they are not stored) */
	struct iceberg_fields g;
	iceberg_fields_init(&g);
	const char *const *all[] = { v1, v2, v3, v4, v5, v6 };
	for (int i = 0; i < 6; i++)
		CHECK_EQ_INT(add(&g, i + 1, all[i]), 0);
	CHECK_EQ_INT(g.nschemas, f.nschemas);
	for (size_t s = 0; s < f.nschemas; s++) {
		json_t *a = iceberg_schema_json(&f.schemas[s]), *b = iceberg_schema_json(&g.schemas[s]);
		int eq = json_equal(a, b);
		json_decref(a);
		json_decref(b);
		CHECK(eq);
	}
	iceberg_fields_free(&g);
	iceberg_fields_free(&f);
}

TEST(iceberg_field_ids_keep_through_widening_and_say_so)
{
	struct iceberg_fields f;
	iceberg_fields_init(&f);
	static const char *const v1[] = { "n", "int64", "d", "decimal(9,2)", "z", "int64", NULL };
	static const char *const v2[] = { "n", "float64", "d", "decimal(18,2)", "z", "utf8", NULL };
	CHECK_EQ_INT(add(&f, 1, v1), 0);
	CHECK_EQ_INT(add(&f, 2, v2), 0);
	CHECK_EQ_INT(id_of(&f, "n"), 1);
	CHECK_EQ_INT(id_of(&f, "d"), 2);
	CHECK_EQ_INT(id_of(&f, "z"), 3);
	const struct iceberg_schema *s = iceberg_fields_current(&f);
	CHECK_EQ_INT(s->fields[0].widened_from_version, 2);   /* long -> double: not a promotion */
	CHECK_EQ_STR(s->fields[0].widened_from, "long");
	CHECK_EQ_INT(s->fields[1].widened_from_version, 0);   /* decimal precision: a promotion */
	CHECK_EQ_INT(s->fields[2].widened_from_version, 2);
	json_t *j = iceberg_schema_json(s);
	json_t *f0 = json_array_get(json_object_get(j, "fields"), 0);
	CHECK_EQ_STR(json_string_value(json_object_get(f0, "type")), "double");
	CHECK(json_is_false(json_object_get(f0, "required")));
	CHECK(strstr(json_string_value(json_object_get(f0, "doc")), "widened from long at version 2"));
	CHECK(!json_object_get(json_array_get(json_object_get(j, "fields"), 1), "doc"));
	json_decref(j);
	iceberg_fields_free(&f);
}

TEST(iceberg_fields_refuse_an_unknown_type)
{
	struct iceberg_fields f;
	iceberg_fields_init(&f);
	static const char *const v1[] = { "a", "list<int64>", NULL };
	CHECK_EQ_INT(add(&f, 1, v1), -1);
	iceberg_fields_free(&f);
}

TEST(iceberg_schema_and_name_mapping_json)
{
	struct iceberg_fields f;
	iceberg_fields_init(&f);
	static const char *const v1[] = { "id", "int64", "full name", "utf8", NULL };
	CHECK_EQ_INT(add(&f, 1, v1), 0);
	json_t *j = iceberg_schema_json(iceberg_fields_current(&f));
	char *text = json_dumps(j, JSON_COMPACT);
	CHECK_EQ_STR(text, "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
			   "{\"id\":1,\"name\":\"id\",\"required\":false,\"type\":\"long\"},"
			   "{\"id\":2,\"name\":\"full name\",\"required\":false,\"type\":\"string\"}]}");
	free(text);
	json_decref(j);
	char *nm = iceberg_name_mapping(iceberg_fields_current(&f));
	CHECK_EQ_STR(nm, "[{\"field-id\":1,\"names\":[\"id\"]},{\"field-id\":2,\"names\":[\"full name\"]}]");
	free(nm);
	iceberg_fields_free(&f);
}

static int bound_is(const char *type, const char *text, const char *hex)
{
	unsigned char b[64];
	size_t n = 0;
	if (iceberg_bound_from_text(type, text, b, sizeof b, &n))
		return 0;
	char got[129];
	for (size_t i = 0; i < n; i++)
		snprintf(got + 2 * i, 3, "%02x", b[i]);
	got[2 * n] = 0;
	if (strcmp(got, hex))
		fprintf(stderr, "  %s %s: %s, expected %s\n", type, text, got, hex);
	return strcmp(got, hex) == 0;
}

/* The table spec's Appendix D, "Binary single-value serialization". */
TEST(iceberg_bound_serialization_per_type)
{
	CHECK(bound_is("boolean", "true", "01"));
	CHECK(bound_is("boolean", "false", "00"));
	CHECK(bound_is("long", "1", "0100000000000000"));
	CHECK(bound_is("long", "-2", "feffffffffffffff"));
	CHECK(bound_is("date", "19724", "0c4d0000"));            /* 2024-01-02 */
	CHECK(bound_is("date", "-1", "ffffffff"));
	CHECK(bound_is("double", "1.5", "000000000000f83f"));
	CHECK(bound_is("double", "-0.0", "0000000000000080"));
	CHECK(bound_is("timestamp", "1704164645000000", "40d34dc0ed0d0600"));
	CHECK(bound_is("timestamptz", "0", "0000000000000000"));
	CHECK(bound_is("string", "héllo", "68c3a96c6c6f"));
	CHECK(bound_is("decimal(10,2)", "12345", "3039"));        /* 123.45 */
	CHECK(bound_is("decimal(10,2)", "-1", "ff"));
	CHECK(bound_is("decimal(10,2)", "128", "0080"));          /* minimal, sign kept */
	CHECK(bound_is("decimal(10,2)", "-129", "ff7f"));
	CHECK(bound_is("decimal(10,2)", "0", "00"));
	unsigned char b[8];
	size_t n;
	CHECK_EQ_INT(iceberg_bound_from_text("date", "99999999999", b, sizeof b, &n), -1);
	CHECK_EQ_INT(iceberg_bound_from_text("long", "x", b, sizeof b, &n), -1);
	CHECK_EQ_INT(iceberg_bound_from_text("geometry", "1", b, sizeof b, &n), -1);
}

TEST(iceberg_bound_order_per_type)
{
	unsigned char a[16], b[16];
	size_t na, nb;
#define CMP(type, x, y)                                                                 \
	(iceberg_bound_from_text(type, x, a, sizeof a, &na),                           \
	 iceberg_bound_from_text(type, y, b, sizeof b, &nb), iceberg_bound_cmp(type, a, na, b, nb))
	CHECK(CMP("long", "-5", "3") < 0);               /* signed, not bytewise */
	CHECK(CMP("long", "256", "255") > 0);
	CHECK(CMP("date", "-1", "0") < 0);
	CHECK(CMP("double", "-1.5", "0.25") < 0);
	CHECK(CMP("double", "2.0", "10.0") < 0);
	CHECK(CMP("decimal(10,2)", "-129", "-1") < 0);   /* different lengths */
	CHECK(CMP("decimal(10,2)", "128", "127") > 0);
	CHECK(CMP("decimal(10,2)", "-1", "0") < 0);
	CHECK(CMP("string", "b", "ab") > 0);
	CHECK(CMP("string", "a", "ab") < 0);
	CHECK(CMP("string", "\xc3\xa9", "z") > 0);       /* unsigned bytes: U+00E9 > z */
	CHECK(CMP("boolean", "false", "true") < 0);
	CHECK(CMP("long", "7", "7") == 0);
#undef CMP
}

TEST(iceberg_string_bounds_truncate)
{
	unsigned char out[64];
	const char *s = "abcdefghijklmnopqrstuvwxyz";
	size_t n = iceberg_truncate_lower((const unsigned char *)s, strlen(s), 16, out);
	CHECK_EQ_INT(n, 16);
	CHECK(memcmp(out, "abcdefghijklmnop", 16) == 0);
	n = iceberg_truncate_upper((const unsigned char *)s, strlen(s), 16, out);
	CHECK_EQ_INT(n, 16);
	CHECK(memcmp(out, "abcdefghijklmnoq", 16) == 0);
	/* short strings stay as they are */
	n = iceberg_truncate_upper((const unsigned char *)"abc", 3, 16, out);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(out, "abc", 3) == 0);
	/* code points, not bytes: 3 two-byte characters kept of 4 */
	const char *e = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
	n = iceberg_truncate_lower((const unsigned char *)e, 8, 3, out);
	CHECK_EQ_INT(n, 6);
	n = iceberg_truncate_upper((const unsigned char *)e, 8, 3, out);
	CHECK_EQ_INT(n, 6);
	CHECK(memcmp(out, "\xc3\xa9\xc3\xa9\xc3\xaa", 6) == 0);   /* é é ê */
	/* U+10FFFF cannot grow: the one before it does */
	const char *m = "a\xf4\x8f\xbf\xbf" "bc";
	n = iceberg_truncate_upper((const unsigned char *)m, strlen(m), 2, out);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(out[0], 'b');
	const char *mm = "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf" "x";
	CHECK_EQ_INT(iceberg_truncate_upper((const unsigned char *)mm, strlen(mm), 2, out),
		     (long long)(size_t)-1);
	/* not UTF-8 (a lead byte without its continuation): no upper bound, and
	 * the lower bound is still a prefix */
	const char *bad = "\xf0" "aaaaaaaaaaaaaaaaaaaa";
	CHECK_EQ_INT(iceberg_truncate_upper((const unsigned char *)bad, strlen(bad), 16, out),
		     (long long)(size_t)-1);
	n = iceberg_truncate_lower((const unsigned char *)bad, strlen(bad), 16, out);
	CHECK_EQ_INT(n, 16);
	/* overlong, surrogate or beyond U+10FFFF: not text, no upper bound (an
	 * overlong E0 80 80 would grow to U+0001, below the real value, R19) */
	static const char *const nonutf8[] = {
		"\xe0\x80\x80" "aaaaaaaaaaaaaaaaaaaa", "\xf0\x80\x80\x80" "aaaaaaaaaaaaaaaaaaaa",
		"\xf4\x90\x80\x80" "aaaaaaaaaaaaaaaaaaaa", "\xed\xa0\x80" "aaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof nonutf8 / sizeof nonutf8[0]; i++)
		CHECK_EQ_INT(iceberg_truncate_upper((const unsigned char *)nonutf8[i],
						    strlen(nonutf8[i]), 16, out),
			     (long long)(size_t)-1);
	/* a surrogate is skipped: U+D7FF + 1 is U+E000 */
	const char *d = "\xed\x9f\xbf" "zz";
	n = iceberg_truncate_upper((const unsigned char *)d, strlen(d), 1, out);
	CHECK_EQ_INT(n, 3);
	CHECK(memcmp(out, "\xee\x80\x80", 3) == 0);
}

static struct pq_column column(int physical, struct pq_chunk *chunks, size_t n)
{
	struct pq_column c = { .name = "c", .physical = physical, .converted = -1, .scale = -1,
			       .precision = -1, .chunks = chunks, .nchunks = n };
	return c;
}

static struct iceberg_field field(const char *type, const char *lh)
{
	struct iceberg_field f = { .id = 7, .name = "c" };
	snprintf(f.type, sizeof f.type, "%s", type);
	snprintf(f.lh_type, sizeof f.lh_type, "%s", lh);
	return f;
}

TEST(iceberg_metrics_combine_row_groups)
{
	unsigned char lo1[8] = { 5 }, hi1[8] = { 9 }, lo2[8] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		      hi2[8] = { 3 };
	struct pq_chunk ch[3] = {
		{ .values = 10, .compressed = 100, .nulls = 1, .has_nulls = 1, .min = lo1, .max = hi1,
		  .nmin = 8, .nmax = 8, .has_min = 1, .has_max = 1 },
		{ .values = 5, .compressed = 50, .nulls = 0, .has_nulls = 1, .min = lo2, .max = hi2,
		  .nmin = 8, .nmax = 8, .has_min = 1, .has_max = 1 },
		{ .values = 4, .compressed = 7, .nulls = 4, .has_nulls = 1 },   /* all null */
	};
	struct pq_column c = column(2, ch, 3);
	struct iceberg_field f = field("long", "int64");
	struct iceberg_metric m;
	iceberg_metric_of(&c, &f, "int64", &m);
	CHECK_EQ_INT(m.field_id, 7);
	CHECK_EQ_INT(m.column_size, 157);
	CHECK_EQ_INT(m.value_count, 19);
	CHECK_EQ_INT(m.null_count, 5);
	CHECK(m.lower && m.nlower == 8 && memcmp(m.lower, lo2, 8) == 0);   /* -2 < 5 */
	CHECK(m.upper && m.nupper == 8 && memcmp(m.upper, hi1, 8) == 0);
	iceberg_metric_free(&m);
	/* the object holds another type than the field (a widened column): no bounds */
	struct iceberg_field fd = field("double", "float64");
	iceberg_metric_of(&c, &fd, "int64", &m);
	CHECK(!m.lower && !m.upper);
	CHECK_EQ_INT(m.value_count, 19);
	iceberg_metric_free(&m);
	/* a row group with values but no statistics: no bounds */
	ch[1].has_min = ch[1].has_max = 0;
	iceberg_metric_of(&c, &f, "int64", &m);
	CHECK(!m.lower && !m.upper);
	iceberg_metric_free(&m);
	/* an inexact max keeps the lower bound only */
	ch[1].has_min = ch[1].has_max = 1;
	ch[0].inexact_max = 1;
	iceberg_metric_of(&c, &f, "int64", &m);
	CHECK(m.lower && !m.upper);
	iceberg_metric_free(&m);
	/* unknown null counts */
	ch[0].has_nulls = 0;
	iceberg_metric_of(&c, &f, "int64", &m);
	CHECK_EQ_INT(m.null_count, -1);
	iceberg_metric_free(&m);
	/* the wrong physical type for the field: no bounds */
	struct pq_column cd = column(5, ch, 2);
	ch[0].inexact_max = 0;
	iceberg_metric_of(&cd, &f, "int64", &m);
	CHECK(!m.lower && !m.upper);
	iceberg_metric_free(&m);
}

TEST(iceberg_metrics_decimals_and_strings)
{
	/* decimal(10,2) stored as INT64 -123 and 45600: minimal big-endian */
	unsigned char lo[8] = { 0x85, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, hi[8] = { 0x20, 0xb2 };
	struct pq_chunk ch = { .values = 3, .compressed = 1, .has_nulls = 1, .min = lo, .max = hi,
			       .nmin = 8, .nmax = 8, .has_min = 1, .has_max = 1 };
	struct pq_column c = column(2, &ch, 1);
	c.scale = 2;
	struct iceberg_field f = field("decimal(10,2)", "decimal(10,2)");
	struct iceberg_metric m;
	iceberg_metric_of(&c, &f, "decimal(10,2)", &m);
	CHECK(m.lower && m.nlower == 1 && m.lower[0] == 0x85);
	CHECK(m.upper && m.nupper == 3 && m.upper[0] == 0x00 && m.upper[1] == 0xb2 &&
	      m.upper[2] == 0x20);
	iceberg_metric_free(&m);
	c.scale = 3;                  /* another scale in the file: no bounds */
	iceberg_metric_of(&c, &f, "decimal(10,2)", &m);
	CHECK(!m.lower && !m.upper);
	iceberg_metric_free(&m);
	/* strings: truncated to 16 code points */
	const char *a = "aaaaaaaaaaaaaaaaaaaaaaaa", *z = "zzzzzzzzzzzzzzzzzzzz";
	struct pq_chunk sc = { .values = 2, .compressed = 1, .has_nulls = 1,
			       .min = (const unsigned char *)a, .max = (const unsigned char *)z,
			       .nmin = strlen(a), .nmax = strlen(z), .has_min = 1, .has_max = 1 };
	struct pq_column s = column(6, &sc, 1);
	struct iceberg_field fs = field("string", "utf8");
	iceberg_metric_of(&s, &fs, "utf8", &m);
	CHECK(m.nlower == 16 && memcmp(m.lower, a, 16) == 0);
	CHECK(m.nupper == 16 && memcmp(m.upper, "zzzzzzzzzzzzzzz{", 16) == 0);
	iceberg_metric_free(&m);
	/* timestamps only in microseconds */
	unsigned char t[8] = { 1 };
	struct pq_chunk tc = { .values = 1, .compressed = 1, .has_nulls = 1, .min = t, .max = t,
			       .nmin = 8, .nmax = 8, .has_min = 1, .has_max = 1 };
	struct pq_column tcol = column(2, &tc, 1);
	struct iceberg_field ft = field("timestamp", "timestamp[us]");
	tcol.ts_unit = 1;             /* millis */
	iceberg_metric_of(&tcol, &ft, "timestamp[us]", &m);
	CHECK(!m.lower);
	iceberg_metric_free(&m);
	tcol.ts_unit = 2;
	iceberg_metric_of(&tcol, &ft, "timestamp[us]", &m);
	CHECK(m.lower && m.nlower == 8);
	iceberg_metric_free(&m);
	tcol.ts_unit = 0;
	tcol.converted = 10;          /* TIMESTAMP_MICROS */
	iceberg_metric_of(&tcol, &ft, "timestamp[us]", &m);
	CHECK(m.lower && m.upper);
	iceberg_metric_free(&m);
	/* a double NaN is no bound */
	unsigned char nan[8] = { 0, 0, 0, 0, 0, 0, 0xf8, 0x7f };
	struct pq_chunk dc = { .values = 1, .compressed = 1, .has_nulls = 1, .min = nan, .max = nan,
			       .nmin = 8, .nmax = 8, .has_min = 1, .has_max = 1 };
	struct pq_column dcol = column(5, &dc, 1);
	struct iceberg_field fdbl = field("double", "float64");
	iceberg_metric_of(&dcol, &fdbl, "float64", &m);
	CHECK(!m.lower && !m.upper);
	iceberg_metric_free(&m);
}

TEST(iceberg_table_uuid_and_base)
{
	char a[37], b[37], c[37];
	iceberg_table_uuid("2026-12-06T10:00:00.000Z", "datasets/people/x/y.parquet", a);
	iceberg_table_uuid("2026-12-06T10:00:00.000Z", "datasets/people/x/y.parquet", b);
	iceberg_table_uuid("2026-12-06T10:00:00.001Z", "datasets/people/x/y.parquet", c);
	CHECK_EQ_STR(a, b);
	CHECK(strcmp(a, c));
	CHECK_EQ_INT(strlen(a), 36);
	CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
	CHECK_EQ_INT(a[14], '8');                           /* version 8 */
	CHECK(strchr("89ab", a[19]));                       /* RFC 9562 variant */
	char h1[17], h2[17];
	iceberg_base_hash("http://a/files", h1);
	iceberg_base_hash("s3://bucket", h2);
	CHECK_EQ_INT(strlen(h1), 16);
	CHECK(strcmp(h1, h2));
	struct lh_error err = { 0 };
	CHECK_EQ_INT(iceberg_base_check("http://h:8080/iceberg/v1/files/t", &err), 0);
	CHECK_EQ_INT(iceberg_base_check("https://h", &err), 0);
	CHECK_EQ_INT(iceberg_base_check("s3://bucket", &err), 0);
	static const char *const bad[] = { "", "http://", "ftp://x", "file:///etc", "http://h/",
					   "http://h?x=1", "http://h#f", "http://h x", "http://h\n",
					   "s3:/b" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		lh_error_clear(&err);
		CHECK_EQ_INT(iceberg_base_check(bad[i], &err), -1);
		CHECK_EQ_INT(err.status, 400);
	}
	char longb[1100];
	memset(longb, 'a', sizeof longb);
	memcpy(longb, "http://", 7);
	longb[sizeof longb - 1] = 0;
	lh_error_clear(&err);
	CHECK_EQ_INT(iceberg_base_check(longb, &err), -1);
}

/* The table spec's required fields of table metadata (format version 2)
 * and of each snapshot, with values a two-snapshot table must have. */
TEST(iceberg_metadata_json_shape)
{
	struct iceberg_table t = { 0 };
	iceberg_fields_init(&t.fields);
	static const char *const v1[] = { "id", "int64", NULL };
	static const char *const v2[] = { "id", "int64", "x", "utf8", NULL };
	snprintf(t.uuid, sizeof t.uuid, "00000000-0000-8000-8000-000000000000");
	t.location = "http://h/files/_iceberg/u/b";
	struct iceberg_snapshot s[2] = {
		{ .id = 1, .timestamp_ms = 1000, .schema_id = 0, .operation = "append",
		  .manifest_list = "http://h/l1", .metadata_file = "http://h/v1.metadata.json",
		  .added_files = 1, .added_records = 2, .total_files = 1, .total_records = 2 },
		{ .id = 2, .timestamp_ms = 2000, .schema_id = 1, .operation = "overwrite",
		  .manifest_list = "http://h/l2", .metadata_file = "http://h/v2.metadata.json" },
	};
	CHECK_EQ_INT(add(&t.fields, 1, v1), 0);
	CHECK_EQ_INT(add(&t.fields, 2, v2), 0);
	t.snapshots = s;
	t.nsnapshots = 2;
	json_t *m = iceberg_metadata_json(&t, 2, 2);
	static const char *const required[] = {
		"format-version", "table-uuid", "location", "last-sequence-number",
		"last-updated-ms", "last-column-id", "schemas", "current-schema-id",
		"partition-specs", "default-spec-id", "last-partition-id", "sort-orders",
		"default-sort-order-id",
	};
	for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
		CHECK(json_object_get(m, required[i]));
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "format-version")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "last-sequence-number")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "last-updated-ms")), 2000);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "last-column-id")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "current-schema-id")), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "current-snapshot-id")), 2);
	CHECK_EQ_INT(json_array_size(json_object_get(m, "schemas")), 2);
	json_t *snaps = json_object_get(m, "snapshots");
	CHECK_EQ_INT(json_array_size(snaps), 2);
	json_t *s2 = json_array_get(snaps, 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(s2, "snapshot-id")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(s2, "parent-snapshot-id")), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(s2, "sequence-number")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(s2, "timestamp-ms")), 2000);
	CHECK_EQ_STR(json_string_value(json_object_get(s2, "manifest-list")), "http://h/l2");
	CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(s2, "summary"), "operation")),
		     "overwrite");
	CHECK(!json_object_get(json_array_get(snaps, 0), "parent-snapshot-id"));
	CHECK_EQ_INT(json_array_size(json_object_get(m, "snapshot-log")), 2);
	json_t *mlog = json_object_get(m, "metadata-log");
	CHECK_EQ_INT(json_array_size(mlog), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(mlog, 0), "metadata-file")),
		     "http://h/v1.metadata.json");
	json_t *main_ref = json_object_get(json_object_get(m, "refs"), "main");
	CHECK_EQ_INT(json_integer_value(json_object_get(main_ref, "snapshot-id")), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(main_ref, "type")), "branch");
	const char *nm = json_string_value(
		json_object_get(json_object_get(m, "properties"), "schema.name-mapping.default"));
	CHECK(nm && strstr(nm, "\"names\":[\"x\"]"));
	json_t *spec = json_array_get(json_object_get(m, "partition-specs"), 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(spec, "spec-id")), 0);
	CHECK_EQ_INT(json_array_size(json_object_get(spec, "fields")), 0);
	json_decref(m);
	/* snapshot 1's metadata: its history only */
	m = iceberg_metadata_json(&t, 1, 1);
	CHECK_EQ_INT(json_array_size(json_object_get(m, "snapshots")), 1);
	CHECK_EQ_INT(json_array_size(json_object_get(m, "schemas")), 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "last-column-id")), 1);
	CHECK_EQ_INT(json_array_size(json_object_get(m, "metadata-log")), 0);
	/* deterministic: the same input, the same bytes */
	char *a = json_dumps(m, JSON_COMPACT);
	json_t *m2 = iceberg_metadata_json(&t, 1, 1);
	char *b = json_dumps(m2, JSON_COMPACT);
	CHECK_EQ_STR(a, b);
	free(a);
	free(b);
	json_decref(m2);
	json_decref(m);
	iceberg_fields_free(&t.fields);
}
