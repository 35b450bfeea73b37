/* test_cast.c — compatible uploads are cast (src/ingestd/cast.c, ADR 0170):
 * the type-level rule of schema.h for every pair of types, int64 exactness
 * as a double, the plan of a real inferred CSV against a dataset of each
 * type (every pair of inferred type and dataset type, an all-null column
 * included), what is not a cast (names, order, count), and the values of
 * a cast conversion read back from the Parquet file with DuckDB. */
#include "test.h"

#include "common/error.h"
#include "common/manifest.h"
#include "common/schema.h"
#include "ingestd/cast.h"
#include "ingestd/format.h"
#include "ingestd/parquet_writer.h"

/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Infer the CSV text through a temp file; *fd stays open (the caller closes
 * it) when fd is not NULL. NULL on a bad CSV. */
static struct ingest_schema *infer_csv(const char *text, int *fd_out)
{
	char path[] = "/tmp/lh-test-cast-XXXXXX";
	int fd = mkstemp(path);
	struct ingest_schema *s = NULL;
	struct lh_error err = { 0 };
	size_t n = strlen(text);
	if (fd < 0)
		return NULL;
	unlink(path);
	if (write(fd, text, n) == (ssize_t)n)
		ingest_infer_fd(&ingest_format_csv, fd, &s, &err);
	lh_error_clear(&err);
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return s;
}

/* A latest manifest with columns names[i]: types[i] and their fingerprint. */
static struct manifest *dataset(size_t n, const char *const *names, const char *const *types)
{
	struct manifest *m = manifest_create();
	struct schema_fp fp;
	schema_fp_init(&fp);
	snprintf(m->name, sizeof m->name, "d");
	m->version = 1;
	for (size_t i = 0; i < n; i++) {
		manifest_add_column(m, names[i], types[i], 1);
		schema_fp_add(&fp, names[i], types[i]);
	}
	schema_fp_finish(&fp, m->fingerprint);
	return m;
}

static const char *const type_names[SCHEMA_NINFERRED] = {
	"bool", "int64", "float64", "date32", "timestamp[us]", "timestamp[us, tz=UTC]", "utf8",
};

/* ---- the type-level rule (schema.h) ------------------------------------ */

TEST(cast_type_pairs)
{
	/* allowed[from][to], SPEC 16: the same type, anything into utf8, int64
	 * into float64, date32 into timestamp[us]; nothing else */
	static const char allowed[SCHEMA_NINFERRED][SCHEMA_NINFERRED + 1] = {
		/*            b i f d t z u */
		[SCHEMA_BOOL] = "1000001",
		[SCHEMA_INT64] = "0110001",
		[SCHEMA_FLOAT64] = "0010001",
		[SCHEMA_DATE32] = "0001101",
		[SCHEMA_TIMESTAMP] = "0000101",
		[SCHEMA_TIMESTAMPTZ] = "0000011",
		[SCHEMA_UTF8] = "0000001",
	};
	for (int f = 0; f < SCHEMA_NINFERRED; f++) {
		for (int t = 0; t < SCHEMA_NINFERRED; t++) {
			struct schema_type from = schema_type_of((enum schema_type_id)f);
			struct schema_type to = schema_type_of((enum schema_type_id)t);
			if (schema_type_casts_to(&from, &to) != (allowed[f][t] == '1'))
				fprintf(stderr, "  %s -> %s\n", type_names[f], type_names[t]);
			CHECK_EQ_INT(schema_type_casts_to(&from, &to), allowed[f][t] == '1');
		}
	}
}

TEST(cast_type_decimal_only_to_itself_and_utf8)
{
	struct schema_type d102, d112, i64 = schema_type_of(SCHEMA_INT64);
	struct schema_type f64 = schema_type_of(SCHEMA_FLOAT64), u = schema_type_of(SCHEMA_UTF8);
	CHECK_EQ_INT(schema_type_parse("decimal(10,2)", 13, &d102), 0);
	CHECK_EQ_INT(schema_type_parse("decimal(11,2)", 13, &d112), 0);
	CHECK(schema_type_casts_to(&d102, &d102));
	CHECK(!schema_type_casts_to(&d102, &d112));
	CHECK(!schema_type_casts_to(&i64, &d102));
	CHECK(!schema_type_casts_to(&d102, &f64));
	CHECK(schema_type_casts_to(&d102, &u));
}

TEST(cast_int64_fits_float64_exactly)
{
	CHECK(schema_int64_fits_float64(0));
	CHECK(schema_int64_fits_float64(INT64_C(9007199254740992)));     /* 2^53 */
	CHECK(schema_int64_fits_float64(-INT64_C(9007199254740992)));
	CHECK(!schema_int64_fits_float64(INT64_C(9007199254740993)));    /* 2^53 + 1 */
	CHECK(!schema_int64_fits_float64(-INT64_C(9007199254740993)));
	CHECK(schema_int64_fits_float64(INT64_C(9007199254740994)));     /* even: exact */
	CHECK(schema_int64_fits_float64(INT64_MIN));                      /* -2^63 */
	CHECK(!schema_int64_fits_float64(INT64_MAX));                     /* rounds to 2^63 */
	CHECK(schema_int64_fits_float64(INT64_C(4611686018427387904)));   /* 2^62 */
	CHECK(!schema_int64_fits_float64(INT64_C(4611686018427387905)));
}

/* ---- the plan, every pair of inferred type and dataset type ------------ */

/* One value of each inferred type, and an all-null column (index 7). */
static const char *const sample_csv[SCHEMA_NINFERRED + 1] = {
	[SCHEMA_BOOL] = "c\ntrue\nFALSE\n",
	[SCHEMA_INT64] = "c\n42\n-7\n",
	[SCHEMA_FLOAT64] = "c\n1.5\n2\n",
	[SCHEMA_DATE32] = "c\n2024-01-02\n2024-02-29\n",
	[SCHEMA_TIMESTAMP] = "c\n2024-01-02 03:04:05\n2024-01-02T03:04:05.5\n",
	[SCHEMA_TIMESTAMPTZ] = "c\n2024-01-02 03:04:05Z\n2024-01-02T03:04:05+02:00\n",
	[SCHEMA_UTF8] = "c\nabc\n007\n",
	[SCHEMA_NINFERRED] = "c\n\n\"\"\n",
};

TEST(cast_plan_every_pair)
{
	/* fits[sample][dataset type]: as cast_type_pairs, plus an all-null
	 * column fits every type */
	static const char fits[SCHEMA_NINFERRED + 1][SCHEMA_NINFERRED + 1] = {
		/*            b i f d t z u */
		[SCHEMA_BOOL] = "1000001",
		[SCHEMA_INT64] = "0110001",
		[SCHEMA_FLOAT64] = "0010001",
		[SCHEMA_DATE32] = "0001101",
		[SCHEMA_TIMESTAMP] = "0000101",
		[SCHEMA_TIMESTAMPTZ] = "0000011",
		[SCHEMA_UTF8] = "0000001",
		[SCHEMA_NINFERRED] = "1111111",
	};
	static const char *const name[] = { "c" };
	for (int v = 0; v <= SCHEMA_NINFERRED; v++) {
		struct ingest_schema *s = infer_csv(sample_csv[v], NULL);
		CHECK(s);
		/* the sample infers the type it stands for (all-null: utf8) */
		CHECK_EQ_INT(s->columns[0].type.id, v < SCHEMA_NINFERRED ? v : SCHEMA_UTF8);
		CHECK_EQ_INT(s->columns[0].all_null, v == SCHEMA_NINFERRED);
		for (int t = 0; t < SCHEMA_NINFERRED; t++) {
			struct manifest *m = dataset(1, name, &type_names[t]);
			struct ingest_schema *c = NULL;
			json_t *cast = json_array();
			int same = !strcmp(m->fingerprint, s->fingerprint);
			int rc = ingest_cast_plan(s, m, &c, cast);
			struct schema_type to = schema_type_of((enum schema_type_id)t);
			if (rc != (fits[v][t] == '1' && !same))
				fprintf(stderr, "  sample %d into %s: %d\n", v, type_names[t], rc);
			CHECK_EQ_INT(ingest_cast_fits(&s->columns[0], &to), fits[v][t] == '1');
			CHECK_EQ_INT(rc, fits[v][t] == '1' && !same);
			if (rc) {
				CHECK_EQ_STR(c->fingerprint, m->fingerprint);
				CHECK_EQ_INT(c->columns[0].type.id, t);
				CHECK_EQ_INT(c->columns[0].cast, 1);
				CHECK_EQ_INT(c->columns[0].from.id, s->columns[0].type.id);
				CHECK(c->columns[0].name == s->columns[0].name);   /* shared */
				CHECK_EQ_INT(json_array_size(cast), 1);
				json_t *o = json_array_get(cast, 0);
				CHECK_EQ_STR(json_string_value(json_object_get(o, "column")), "c");
				CHECK_EQ_STR(json_string_value(json_object_get(o, "from")),
					     type_names[s->columns[0].type.id]);
				CHECK_EQ_STR(json_string_value(json_object_get(o, "to")), type_names[t]);
			} else {
				CHECK(c == NULL);
				CHECK_EQ_INT(json_array_size(cast), 0);
			}
			ingest_cast_free(c);
			json_decref(cast);
			manifest_unref(m);
		}
		ingest_schema_destroy(s);
	}
}

TEST(cast_plan_inexact_int64_is_not_a_float64)
{
	static const char *const name[] = { "c" }, *const f64[] = { "float64" };
	struct manifest *m = dataset(1, name, f64);
	struct ingest_schema *c = NULL;
	json_t *cast = json_array();
	/* 2^53 + 1 rounds as a double: the column is int64 but does not fit */
	struct ingest_schema *s = infer_csv("c\n1\n9007199254740993\n", NULL);
	CHECK(s);
	CHECK_EQ_INT(s->columns[0].type.id, SCHEMA_INT64);
	CHECK_EQ_INT(s->columns[0].inexact, 1);
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 0);
	ingest_schema_destroy(s);
	/* 2^53, -2^63 and long values with trailing zero bits are exact */
	s = infer_csv("c\n9007199254740992\n-9223372036854775808\n+1152921504606846976\n", NULL);
	CHECK(s);
	CHECK_EQ_INT(s->columns[0].inexact, 0);
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 1);
	ingest_cast_free(c);
	ingest_schema_destroy(s);
	/* an inexact value in a float column is no cast: float64 as inferred */
	s = infer_csv("c\n9007199254740993\n0.5\n", NULL);
	CHECK(s);
	CHECK_EQ_INT(s->columns[0].type.id, SCHEMA_FLOAT64);
	CHECK_EQ_STR(s->fingerprint, m->fingerprint);
	ingest_schema_destroy(s);
	json_decref(cast);
	manifest_unref(m);
}

TEST(cast_plan_header_only_fits_any_schema_of_its_names)
{
	static const char *const names[] = { "id", "day", "rate", "ok" };
	static const char *const types[] = { "int64", "date32", "float64", "bool" };
	struct manifest *m = dataset(4, names, types);
	struct ingest_schema *c = NULL;
	json_t *cast = json_array();
	struct ingest_schema *s = infer_csv("id,day,rate,ok\n", NULL);
	CHECK(s);
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 1);
	CHECK_EQ_STR(c->fingerprint, m->fingerprint);
	CHECK_EQ_INT(json_array_size(cast), 4);
	ingest_cast_free(c);
	ingest_schema_destroy(s);
	json_decref(cast);
	manifest_unref(m);
}

TEST(cast_plan_only_the_columns_that_differ_are_listed)
{
	static const char *const names[] = { "id", "hours", "end_date" };
	static const char *const types[] = { "int64", "float64", "date32" };
	struct manifest *m = dataset(3, names, types);
	struct ingest_schema *c = NULL;
	json_t *cast = json_array();
	struct ingest_schema *s = infer_csv("id,hours,end_date\n1,40,\n2,38,\n", NULL);
	CHECK(s);
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 1);
	CHECK_EQ_INT(c->columns[0].cast, 0);
	CHECK_EQ_INT(json_array_size(cast), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cast, 0), "column")), "hours");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cast, 1), "column")), "end_date");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cast, 1), "from")), "utf8");
	CHECK_EQ_INT(c->columns[2].nullable, 1);     /* the upload's nullability */
	ingest_cast_free(c);
	ingest_schema_destroy(s);
	json_decref(cast);
	manifest_unref(m);
}

TEST(cast_plan_names_order_and_count_must_match)
{
	static const char *const names[] = { "id", "name" };
	static const char *const types[] = { "utf8", "utf8" };
	static const char *const csvs[] = {
		"name,id\n1,2\n",          /* another order */
		"id,Name\n1,2\n",          /* another name (letter case counts) */
		"id\n1\n",                 /* a column removed */
		"id,name,x\n1,2,3\n",      /* a column added */
	};
	struct manifest *m = dataset(2, names, types);
	for (size_t i = 0; i < sizeof csvs / sizeof csvs[0]; i++) {
		struct ingest_schema *c = NULL;
		json_t *cast = json_array();
		struct ingest_schema *s = infer_csv(csvs[i], NULL);
		CHECK(s);
		CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 0);
		CHECK(c == NULL);
		CHECK_EQ_INT(json_array_size(cast), 0);
		ingest_schema_destroy(s);
		json_decref(cast);
	}
	manifest_unref(m);
}

TEST(cast_plan_nothing_for_a_new_dataset_or_the_same_schema)
{
	struct ingest_schema *c = NULL;
	json_t *cast = json_array();
	struct ingest_schema *s = infer_csv("id\n1\n", NULL);
	static const char *const names[] = { "id" }, *const types[] = { "int64" };
	struct manifest *m = dataset(1, names, types);
	CHECK(s);
	CHECK_EQ_INT(ingest_cast_plan(s, NULL, &c, cast), 0);
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 0);
	CHECK(c == NULL);
	CHECK_EQ_INT(json_array_size(cast), 0);
	ingest_cast_free(NULL);
	ingest_schema_destroy(s);
	json_decref(cast);
	manifest_unref(m);
}

TEST(cast_plan_a_type_the_lakehouse_does_not_store_is_drift)
{
	static const char *const names[] = { "x" }, *const types[] = { "decimal(10,2)" };
	static const char *const bogus[] = { "varchar" };
	struct manifest *m = dataset(1, names, types), *b = dataset(1, names, bogus);
	struct ingest_schema *c = NULL;
	json_t *cast = json_array();
	struct ingest_schema *s = infer_csv("x\n\n", NULL);     /* all null: fits any type */
	CHECK(s);
	/* decimal(p,s) is stored since declared types (ADR 0171): an all-null
	 * column casts into it like into any stored type */
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 1);
	ingest_cast_free(c);
	c = NULL;
	CHECK_EQ_INT(ingest_cast_plan(s, b, &c, cast), 0);
	ingest_schema_destroy(s);
	json_decref(cast);
	manifest_unref(m);
	manifest_unref(b);
}

/* ---- a cast conversion, read back -------------------------------------- */

TEST(cast_conversion_values)
{
	static const char *const names[] = { "hours", "note", "at", "end_date", "code" };
	static const char *const types[] = { "float64", "utf8", "timestamp[us]", "date32", "utf8" };
	const char *csv = "hours,note,at,end_date,code\n"
			  "40,true,2026-01-06,,2026-01-05T09:30:00.5+02:00\n"
			  "-9007199254740992,FALSE,1970-01-01,,007\n"
			  ",,,,\n";
	struct manifest *m = dataset(5, names, types);
	struct ingest_schema *s = NULL, *c = NULL;
	json_t *cast = json_array();
	char pq[] = "/tmp/lh-test-cast-pq-XXXXXX";
	int fd = -1, pfd = mkstemp(pq);
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char sql[256];
	struct lh_error err = { 0 };
	struct parquet_writer_options opt = { 256u << 20, 1, "/tmp", NULL };
	uint64_t rows = 0;

	CHECK(pfd >= 0);
	close(pfd);
	unlink(pq);                  /* the COPY makes it */
	s = infer_csv(csv, &fd);
	CHECK(s);
	CHECK_EQ_INT(ingest_cast_plan(s, m, &c, cast), 1);
	CHECK_EQ_INT(json_array_size(cast), 4);    /* code is utf8 already */
	CHECK_EQ_INT(parquet_write_input(fd, c, pq, &opt, &rows, &err), 0);
	CHECK_EQ_INT(rows, 3);
	CHECK(duckdb_open(NULL, &db) != DuckDBError && duckdb_connect(db, &con) != DuckDBError);
	snprintf(sql, sizeof sql,
		 "SELECT typeof(hours), hours, note, CAST(\"at\" AS VARCHAR), typeof(end_date), "
		 "end_date IS NULL, code FROM read_parquet('%s')", pq);
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		fprintf(stderr, "  %s: %s\n", sql, duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		CHECK(0);
	}
	CHECK_EQ_INT(duckdb_row_count(&res), 3);
	static const char *const want[3][7] = {
		{ "DOUBLE", "40.0", "true", "2026-01-06 00:00:00", "DATE", "true",
		  "2026-01-05T09:30:00.5+02:00" },
		{ "DOUBLE", "-9007199254740992.0", "FALSE", "1970-01-01 00:00:00", "DATE", "true", "007" },
		{ "DOUBLE", NULL, NULL, NULL, "DATE", "true", NULL },
	};
	for (idx_t r = 0; r < 3; r++) {
		for (idx_t k = 0; k < 7; k++) {
			char *v = duckdb_value_is_null(&res, k, r) ? NULL : duckdb_value_varchar(&res, k, r);
			int ok = want[r][k] ? v && !strcmp(v, want[r][k]) : !v;
			if (!ok)
				fprintf(stderr, "  row %d col %d: %s\n", (int)r, (int)k, v ? v : "NULL");
			duckdb_free(v);
			CHECK(ok);
		}
	}
	duckdb_destroy_result(&res);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	unlink(pq);
	close(fd);
	ingest_cast_free(c);
	ingest_schema_destroy(s);
	json_decref(cast);
	manifest_unref(m);
}
