/* test_declared_types.c — declared column types (src/ingestd/declared.c,
 * ADR 0171) and decimal values (src/common/schema.c): decimal text both
 * ways (negative, leading and trailing zeros, 38 digits, overflow, never
 * rounded), parsing ?types=, the merge with a stored declaration, applying
 * a declaration to a real inferred CSV (the line and column of a value that
 * does not fit, for every kind of type), the register's declaration, and a
 * decimal column converted to Parquet and summed exactly by DuckDB. */
#include "test.h"

#include "catalog_fixtures.h"
#include "catalogd/catalog.h"
#include "common/error.h"
#include "common/manifest.h"
#include "common/schema.h"
#include "ingestd/declared.h"
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

static struct schema_type dec(unsigned p, unsigned s)
{
	struct schema_type t = { SCHEMA_DECIMAL, (uint8_t)p, (uint8_t)s };
	return t;
}

/* parse at decimal(p,s) then format: the text, or NULL if refused */
static const char *dec_round_trip(const char *text, unsigned p, unsigned s)
{
	static char buf[SCHEMA_DECIMAL_TEXT_MAX];
	struct schema_type t = dec(p, s);
	__int128 v;
	if (schema_parse_decimal(text, strlen(text), &t, &v))
		return NULL;
	schema_format_decimal(v, s, buf);
	return buf;
}

/* ---- decimal values ------------------------------------------------------ */

TEST(declared_decimal_parse_and_format)
{
	CHECK_EQ_STR(dec_round_trip("12.34", 10, 2), "12.34");
	CHECK_EQ_STR(dec_round_trip("-12.34", 10, 2), "-12.34");
	CHECK_EQ_STR(dec_round_trip("+7", 10, 2), "7.00");
	CHECK_EQ_STR(dec_round_trip("0.05", 10, 2), "0.05");
	CHECK_EQ_STR(dec_round_trip("-0.05", 10, 2), "-0.05");
	CHECK_EQ_STR(dec_round_trip("0", 1, 0), "0");
	CHECK_EQ_STR(dec_round_trip("-0", 1, 0), "0");
	CHECK_EQ_STR(dec_round_trip("007.50", 3, 2), "7.50");         /* leading zeros */
	CHECK_EQ_STR(dec_round_trip("000000000000000000000000000000000000000000001", 1, 0), "1");
	CHECK_EQ_STR(dec_round_trip("12.340000", 10, 2), "12.34");    /* trailing zeros */
	CHECK_EQ_STR(dec_round_trip("0.5", 2, 2), "0.50");
	CHECK(dec_round_trip("1.5", 2, 2) == NULL);                   /* no integer digit room */
	CHECK(dec_round_trip("12.345", 10, 2) == NULL);               /* never rounded */
	CHECK(dec_round_trip("123456789", 10, 2) == NULL);            /* 9 > 8 integer digits */
	CHECK_EQ_STR(dec_round_trip("12345678.99", 10, 2), "12345678.99");
	static const char *const bad[] = { "", "+", "-", ".5", "5.", "1.2.3", "1e5", "1,000",
					   " 1", "1 ", "0x10", "NaN", "--1", "1-", "١" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned id, fd;
		CHECK(schema_decimal_digits(bad[i], strlen(bad[i]), &id, &fd) == -1);
		CHECK(dec_round_trip(bad[i], 38, 10) == NULL);
	}
}

TEST(declared_decimal_38_digits_and_overflow)
{
	const char *max = "99999999999999999999999999999999999999";       /* 38 nines */
	char neg[64], over[64], frac[64];
	snprintf(neg, sizeof neg, "-%s", max);
	snprintf(over, sizeof over, "1%s", max);                         /* 39 digits */
	CHECK_EQ_STR(dec_round_trip(max, 38, 0), max);
	CHECK_EQ_STR(dec_round_trip(neg, 38, 0), neg);
	CHECK(dec_round_trip(over, 38, 0) == NULL);
	CHECK(dec_round_trip(over, 38, 38) == NULL);
	snprintf(frac, sizeof frac, "0.%s", max);                        /* 38 after the point */
	CHECK_EQ_STR(dec_round_trip(frac, 38, 38), frac);
	snprintf(frac, sizeof frac, "-0.%s", max);
	CHECK_EQ_STR(dec_round_trip(frac, 38, 38), frac);
	CHECK_EQ_STR(dec_round_trip("1234567890123456789012345678.9012345678", 38, 10),
		     "1234567890123456789012345678.9012345678");
	/* the digit counts cap at 39 however long the value */
	char huge[200];
	memset(huge, '7', sizeof huge - 1);
	huge[sizeof huge - 1] = 0;
	unsigned id = 0, fd = 0;
	CHECK_EQ_INT(schema_decimal_digits(huge, strlen(huge), &id, &fd), 0);
	CHECK_EQ_INT(id, 39);
	CHECK_EQ_INT(fd, 0);
	CHECK_EQ_INT(schema_decimal_digits("-0012.3400", 10, &id, &fd), 0);
	CHECK_EQ_INT(id, 2);
	CHECK_EQ_INT(fd, 2);
	/* formatting the extremes of __int128 stays in the buffer */
	char buf[SCHEMA_DECIMAL_TEXT_MAX];
	__int128 lo = -(__int128)((~(unsigned __int128)0) >> 1) - 1;
	CHECK(schema_format_decimal(lo, 38, buf) < SCHEMA_DECIMAL_TEXT_MAX);
	CHECK(schema_format_decimal(-lo - 1, 0, buf) < SCHEMA_DECIMAL_TEXT_MAX);
	CHECK_EQ_STR(buf, "170141183460469231731687303715884105727");
}

TEST(declared_decimal_is_stored)
{
	struct schema_type t = dec(10, 2), bad = dec(39, 2), bad2 = dec(10, 11), zero = dec(0, 0);
	CHECK(schema_type_stored(&t));
	CHECK(!schema_type_stored(&bad));
	CHECK(!schema_type_stored(&bad2));
	CHECK(!schema_type_stored(&zero));
}

/* ---- ?types= --------------------------------------------------------------- */

static const char *parse_code(const char *text)
{
	static char code[32];
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	if (declared_types_parse(text, &d, &err) == 0) {
		declared_types_free(&d);
		return "ok";
	}
	snprintf(code, sizeof code, "%s", err.status == 400 ? err.code : "not a 400");
	lh_error_clear(&err);
	return code;
}

TEST(declared_types_parse_items)
{
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	char buf[SCHEMA_TYPE_NAME_MAX];
	CHECK_EQ_INT(declared_types_parse("zip:utf8,hourly_rate:decimal(10,2), at :timestamp[us, "
					  "tz=UTC],a:b:int64", &d, &err), 0);
	CHECK_EQ_INT(d.n, 4);
	CHECK_EQ_STR(d.items[0].column, "zip");
	CHECK_EQ_STR(schema_type_name(&d.items[0].type, buf), "utf8");
	CHECK_EQ_STR(d.items[1].column, "hourly_rate");
	CHECK_EQ_STR(schema_type_name(&d.items[1].type, buf), "decimal(10,2)");
	CHECK_EQ_STR(d.items[2].column, "at");
	CHECK_EQ_STR(schema_type_name(&d.items[2].type, buf), "timestamp[us, tz=UTC]");
	CHECK_EQ_STR(d.items[3].column, "a:b");                 /* the last ':' splits */
	CHECK(d.items[0].requested && d.items[3].requested);
	declared_types_free(&d);

	CHECK_EQ_STR(parse_code("a:int64"), "ok");
	CHECK_EQ_STR(parse_code("a:decimal(38,38)"), "ok");
	CHECK_EQ_STR(parse_code("a:decimal(1,0)"), "ok");
	CHECK_EQ_STR(parse_code("a:integer"), "unknown_type");
	CHECK_EQ_STR(parse_code("a:INT64"), "unknown_type");
	CHECK_EQ_STR(parse_code("a:"), "unknown_type");
	CHECK_EQ_STR(parse_code("a:decimal(39,2)"), "bad_decimal");
	CHECK_EQ_STR(parse_code("a:decimal(10,11)"), "bad_decimal");
	CHECK_EQ_STR(parse_code("a:decimal(0,0)"), "bad_decimal");
	CHECK_EQ_STR(parse_code("a:decimal(10)"), "bad_decimal");
	CHECK_EQ_STR(parse_code("a"), "bad_types");
	CHECK_EQ_STR(parse_code(":int64"), "bad_types");
	CHECK_EQ_STR(parse_code("a:int64,,b:utf8"), "bad_types");
	CHECK_EQ_STR(parse_code("a:int64,"), "bad_types");
	CHECK_EQ_STR(parse_code("a:int64,A:utf8"), "bad_types");   /* twice, regardless of case */
}

TEST(declared_types_parse_error_names_the_column_and_type)
{
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	CHECK_EQ_INT(declared_types_parse("rate:money", &d, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "unknown_type");
	CHECK(strstr(err.msg, "\"money\"") && strstr(err.msg, "decimal(p,s)"));
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "column")), "rate");
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "type")), "money");
	CHECK_EQ_INT(d.n, 0);
	lh_error_clear(&err);
}

TEST(declared_types_merge_requested_over_stored)
{
	struct manifest *m = manifest_create();
	struct declared_types stored = { 0 }, req = { 0 }, out = { 0 };
	struct lh_error err = { 0 };
	char buf[SCHEMA_TYPE_NAME_MAX];
	manifest_add_declared(m, "zip", "utf8");
	manifest_add_declared(m, "rate", "decimal(10,2)");
	manifest_add_declared(m, "bogus", "varchar");          /* not a type: skipped */
	declared_types_from_manifest(m, &stored);
	CHECK_EQ_INT(stored.n, 2);
	CHECK(!stored.items[0].requested);
	CHECK_EQ_INT(declared_types_parse("RATE:decimal(12,2),n:int64", &req, &err), 0);
	declared_types_merge(&stored, &req, &out);
	CHECK_EQ_INT(out.n, 3);
	CHECK_EQ_STR(out.items[0].column, "zip");
	CHECK(!out.items[0].requested);
	CHECK_EQ_STR(out.items[1].column, "rate");             /* the stored spelling */
	CHECK_EQ_STR(schema_type_name(&out.items[1].type, buf), "decimal(12,2)");
	CHECK(out.items[1].requested);
	CHECK_EQ_STR(out.items[2].column, "n");
	declared_types_free(&out);
	declared_types_merge(&stored, NULL, &out);
	CHECK_EQ_INT(out.n, 2);
	declared_types_free(&out);
	declared_types_free(&stored);
	declared_types_free(&req);
	declared_types_from_manifest(NULL, &stored);
	CHECK_EQ_INT(stored.n, 0);
	manifest_unref(m);
}

/* ---- applying a declaration to an inferred CSV ------------------------------ */

static struct ingest_schema *infer_csv(const char *text, int *fd_out)
{
	char path[] = "/tmp/lh-test-declared-XXXXXX";
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

/* Apply `types` to `csv`: "ok" and *out the applied schema (destroy it), or
 * "<code> <line> <column>" of the 400. */
static const char *apply(const char *csv, const char *types, struct ingest_schema **out)
{
	static char res[160];
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_csv(csv, NULL);
	if (out)
		*out = NULL;
	if (!s)
		return "bad csv";
	if (declared_types_parse(types, &d, &err))
		snprintf(res, sizeof res, "parse %s", err.code);
	else if (declared_types_apply(s, &d, &err))
		snprintf(res, sizeof res, "%s %lld %s", err.code,
			 (long long)json_integer_value(json_object_get(err.extra, "line")),
			 json_string_value(json_object_get(err.extra, "column")));
	else
		snprintf(res, sizeof res, "ok");
	if (!strcmp(res, "ok") && out)
		*out = s;
	else
		ingest_schema_destroy(s);
	declared_types_free(&d);
	lh_error_clear(&err);
	return res;
}

TEST(declared_types_apply_line_and_column_of_a_bad_value)
{
	const char *csv = "id,rate,zip,note\n"
			  "1,12.50,02134,x\n"
			  "2,7,10001,\n"
			  "3,12.345,abc,y\n"
			  "x4,1e3,9,z\n";
	CHECK_EQ_STR(apply(csv, "zip:utf8,note:utf8", NULL), "ok");
	CHECK_EQ_STR(apply(csv, "rate:decimal(10,2)", NULL), "bad_value 4 rate");
	CHECK_EQ_STR(apply(csv, "rate:decimal(10,3)", NULL), "bad_value 5 rate");  /* 1e3 */
	CHECK_EQ_STR(apply(csv, "rate:decimal(3,3)", NULL), "bad_value 2 rate");   /* 12 */
	CHECK_EQ_STR(apply(csv, "rate:float64", NULL), "ok");
	CHECK_EQ_STR(apply(csv, "id:int64", NULL), "bad_value 5 id");
	CHECK_EQ_STR(apply(csv, "zip:int64", NULL), "bad_value 2 zip");         /* 02134 is a code */
	CHECK_EQ_STR(apply(csv, "note:bool", NULL), "bad_value 2 note");
	CHECK_EQ_STR(apply(csv, "missing:int64", NULL), "unknown_column 0 missing");
	CHECK_EQ_STR(apply(csv, "ZIP:utf8", NULL), "ok");                       /* case */

	/* the message says line, column, type and why in plain words */
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_csv(csv, NULL);
	CHECK(s);
	CHECK_EQ_INT(declared_types_parse("rate:decimal(10,2)", &d, &err), 0);
	CHECK_EQ_INT(declared_types_apply(s, &d, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK(strstr(err.msg, "line 4") && strstr(err.msg, "\"rate\"") &&
	      strstr(err.msg, "decimal(10,2)") && strstr(err.msg, "never rounded"));
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "type")), "decimal(10,2)");
	lh_error_clear(&err);
	declared_types_free(&d);
	ingest_schema_destroy(s);
}

TEST(declared_types_apply_every_kind)
{
	struct ingest_schema *s = NULL;
	char buf[SCHEMA_TYPE_NAME_MAX];
	const char *csv = "b,i,d,ts,tz,day,empty\n"
			  "true,1,2026-01-05,2026-01-05 09:30:00,2026-01-05T09:30:00Z,2026-01-05,\n"
			  "FALSE,-2,2026-02-28,2026-01-05T09:30:00.25,2026-01-05T09:30:00+02:00,2026-01-06,\n";
	CHECK_EQ_STR(apply(csv, "b:bool,i:int64,d:date32,ts:timestamp[us],"
			   "tz:timestamp[us, tz=UTC],day:timestamp[us],empty:decimal(5,1)", &s), "ok");
	CHECK(s);
	CHECK_EQ_STR(schema_type_name(&s->columns[5].type, buf), "timestamp[us]");
	CHECK(s->columns[5].cast && s->columns[5].from.id == SCHEMA_DATE32);   /* midnight */
	CHECK_EQ_STR(schema_type_name(&s->columns[6].type, buf), "decimal(5,1)");  /* all null */
	char fp[SCHEMA_FP_LEN + 1];
	ingest_fingerprint(s->columns, s->ncols, fp);
	CHECK_EQ_STR(s->fingerprint, fp);                       /* recomputed */
	ingest_schema_destroy(s);
	CHECK_EQ_STR(apply(csv, "i:float64", NULL), "ok");
	/* ADR 0170's exactness: an int64 no float64 holds is refused on its
	 * line (2^53 + 3 would be stored as 2^53 + 4); 2^53 itself is exact */
	CHECK_EQ_STR(apply("v\n1\n9007199254740992\n9007199254740995\n9007199254740997\n",
			   "v:float64", NULL), "bad_value 4 v");
	CHECK_EQ_STR(apply("v\n1\n9007199254740992\n", "v:float64", NULL), "ok");
	CHECK_EQ_STR(apply("v\n9007199254740995\nabc\n", "v:float64", NULL), "bad_value 2 v");
	CHECK_EQ_STR(apply(csv, "b:int64", NULL), "bad_value 2 b");
	CHECK_EQ_STR(apply(csv, "i:bool", NULL), "bad_value 2 i");
	CHECK_EQ_STR(apply(csv, "ts:date32", NULL), "bad_value 2 ts");
	CHECK_EQ_STR(apply(csv, "ts:timestamp[us, tz=UTC]", NULL), "bad_value 2 ts");
	CHECK_EQ_STR(apply(csv, "tz:timestamp[us]", NULL), "bad_value 2 tz");
	CHECK_EQ_STR(apply(csv, "day:timestamp[us, tz=UTC]", NULL), "bad_value 2 day");
	CHECK_EQ_STR(apply(csv, "d:decimal(10,0)", NULL), "bad_value 2 d");
	CHECK_EQ_STR(apply(csv, "i:decimal(1,0)", NULL), "ok");
	/* a date among timestamps: the first value that is not one */
	CHECK_EQ_STR(apply("t\n2026-01-05 09:30:00\n2026-01-06\n", "t:timestamp[us]", NULL),
		     "bad_value 3 t");
	/* more integer digits than any decimal holds (39 and more are counted
	 * as 39): refused on its line; 38 digits fit decimal(38,0) */
	CHECK_EQ_STR(apply("n\n1\n1234567890123456789012345678901234567890\n", "n:decimal(38,0)",
			   NULL), "bad_value 3 n");
	CHECK_EQ_STR(apply("n\n1\n12345678901234567890123456789012345678\n", "n:decimal(38,0)",
			   NULL), "ok");
	CHECK_EQ_STR(apply("n\n0.123456789012345678901234567890123456789\n", "n:decimal(38,38)",
			   NULL), "bad_value 2 n");
	/* a quoted multi-line record: the line where the record starts */
	CHECK_EQ_STR(apply("n,t\n1,\"a\nb\"\n2,x\nz,y\n", "n:int64", NULL), "bad_value 5 n");
}

TEST(declared_types_apply_stored_column_missing_is_left_to_drift)
{
	struct ingest_schema *s = infer_csv("a,b\n1,2\n", NULL);
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	struct manifest *m = manifest_create();
	CHECK(s);
	manifest_add_declared(m, "gone", "int64");
	manifest_add_declared(m, "b", "utf8");
	declared_types_from_manifest(m, &d);                   /* stored, not requested */
	CHECK_EQ_INT(declared_types_apply(s, &d, &err), 0);
	CHECK_EQ_INT(s->columns[1].type.id, SCHEMA_UTF8);
	CHECK_EQ_INT(s->columns[0].type.id, SCHEMA_INT64);
	/* the register says only the columns the upload has, in its order */
	struct manifest *req = manifest_create();
	declared_types_to_manifest(&d, s, req);
	CHECK(req->has_declared);
	CHECK_EQ_INT(req->ndeclared, 1);
	CHECK_EQ_STR(req->declared[0].name, "b");
	CHECK_EQ_STR(req->declared[0].type, "utf8");
	CHECK(!declared_types_same(&d, s, m));
	CHECK(declared_types_same(&d, s, req));
	CHECK(!declared_types_same(&d, s, NULL));
	json_t *j = manifest_to_json(req);
	json_t *want = json_loads("[{\"column\":\"b\",\"type\":\"utf8\"}]", 0, NULL);
	int same = json_equal(json_object_get(j, "declared_types"), want);
	json_decref(want);
	json_decref(j);
	CHECK(same);
	manifest_unref(req);
	manifest_unref(m);
	declared_types_free(&d);
	ingest_schema_destroy(s);
}

TEST(declared_types_manifest_json_round_trip)
{
	struct lh_error err = { 0 };
	const char *text = "{\"name\":\"d\",\"version\":1,\"schema_fingerprint\":\"sha256:00\","
			   "\"schema\":[{\"name\":\"r\",\"type\":\"decimal(10,2)\"}],\"objects\":[],"
			   "\"row_count\":0,\"declared_types\":[{\"column\":\"r\",\"type\":\"decimal(10,2)\"}]}";
	json_t *j = json_loads(text, 0, NULL);
	struct manifest *m = manifest_from_json(j, &err);
	CHECK(m);
	CHECK(m->has_declared);
	CHECK_EQ_INT(m->ndeclared, 1);
	CHECK_EQ_STR(m->declared[0].name, "r");
	CHECK_EQ_STR(m->declared[0].type, "decimal(10,2)");
	json_t *back = manifest_to_json(m);
	CHECK(json_equal(json_object_get(back, "declared_types"), json_object_get(j, "declared_types")));
	json_decref(back);
	manifest_unref(m);
	/* absent: not said, and not written back */
	json_object_del(j, "declared_types");
	m = manifest_from_json(j, &err);
	CHECK(m && !m->has_declared);
	back = manifest_to_json(m);
	CHECK(json_object_get(back, "declared_types") == NULL);
	json_decref(back);
	manifest_unref(m);
	/* not an array: the peer is wrong */
	json_object_set_new(j, "declared_types", json_string("x"));
	CHECK(manifest_from_json(j, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	lh_error_clear(&err);
	json_decref(j);
}

/* ---- a decimal column in Parquet, summed by DuckDB ---------------------------- */

TEST(declared_decimal_conversion_sums_exactly)
{
	/* 0.1 + 0.2 + ... as float64 is not exact; as decimal(10,2) it is */
	char *csv = malloc(64 * 1024);
	size_t len = 0;
	len += (size_t)snprintf(csv + len, 64, "rate\n");
	for (int i = 0; i < 3000; i++)
		len += (size_t)snprintf(csv + len, 64, "%d.%02d\n", i % 97, (i * 7) % 100);
	len += (size_t)snprintf(csv + len, 64, "-0.01\n\n");
	struct ingest_schema *s = NULL;
	struct declared_types d = { 0 };
	struct lh_error err = { 0 };
	char pq[] = "/tmp/lh-test-declared-pq-XXXXXX";
	int fd = -1, pfd = mkstemp(pq);
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char sql[256];
	struct parquet_writer_options opt = { 256u << 20, 1, "/tmp", NULL };
	uint64_t rows = 0;
	long long cents = -1;
	for (int i = 0; i < 3000; i++)
		cents += (i % 97) * 100LL + (i * 7) % 100;

	CHECK(pfd >= 0);
	close(pfd);
	unlink(pq);
	s = infer_csv(csv, &fd);
	free(csv);
	CHECK(s);
	CHECK_EQ_INT(s->columns[0].type.id, SCHEMA_FLOAT64);
	CHECK_EQ_INT(declared_types_parse("rate:decimal(10,2)", &d, &err), 0);
	CHECK_EQ_INT(declared_types_apply(s, &d, &err), 0);
	CHECK_EQ_INT(parquet_write_input(fd, s, pq, &opt, &rows, &err), 0);
	CHECK_EQ_INT(rows, 3002);
	CHECK(duckdb_open(NULL, &db) != DuckDBError && duckdb_connect(db, &con) != DuckDBError);
	snprintf(sql, sizeof sql, "SELECT typeof(any_value(rate)), CAST(sum(rate) AS VARCHAR), "
		 "CAST(min(rate) AS VARCHAR), count(rate) FROM read_parquet('%s')", pq);
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		fprintf(stderr, "  %s: %s\n", sql, duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		CHECK(0);
	}
	char *type = duckdb_value_varchar(&res, 0, 0), *sum = duckdb_value_varchar(&res, 1, 0);
	char *min = duckdb_value_varchar(&res, 2, 0), want[64];
	snprintf(want, sizeof want, "%lld.%02lld", cents / 100, cents % 100);
	int ok = !strcmp(type, "DECIMAL(10,2)") && !strcmp(sum, want) && !strcmp(min, "-0.01") &&
		 duckdb_value_int64(&res, 3, 0) == 3001;
	if (!ok)
		fprintf(stderr, "  %s %s (want %s) %s\n", type, sum, want, min);
	duckdb_free(type);
	duckdb_free(sum);
	duckdb_free(min);
	duckdb_destroy_result(&res);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	unlink(pq);
	close(fd);
	declared_types_free(&d);
	ingest_schema_destroy(s);
	CHECK(ok);
}

/* ---- catalogd's half: the register request ---------------------------------- */

static const char *register_parse(const char *declared_json)
{
	static char res[96];
	struct lh_error err = { 0 };
	json_t *body = fixture_body("pay", "id:int64,name:utf8", "a=1", NULL);
	if (declared_json)
		json_object_set_new(body, "declared_types", json_loads(declared_json, 0, NULL));
	struct catalog_version *v = catalog_request_parse(body, &err);
	if (v)
		snprintf(res, sizeof res, "ok %d %zu", v->has_declared, v->ndeclared);
	else
		snprintf(res, sizeof res, "%d %s", err.status, fixture_err_field(&err));
	catalog_version_destroy(v);
	json_decref(body);
	lh_error_clear(&err);
	return res;
}

TEST(declared_types_register_request)
{
	CHECK_EQ_STR(register_parse(NULL), "ok 0 0");
	CHECK_EQ_STR(register_parse("[]"), "ok 1 0");
	CHECK_EQ_STR(register_parse("[{\"column\":\"name\",\"type\":\"utf8\"}]"), "ok 1 1");
	CHECK_EQ_STR(register_parse("[{\"column\":\"name\",\"type\":\"utf8\"},"
				    "{\"column\":\"id\",\"type\":\"int64\"}]"), "ok 1 2");
	CHECK_EQ_STR(register_parse("{}"), "400 declared_types");
	CHECK_EQ_STR(register_parse("[{\"column\":\"nope\",\"type\":\"utf8\"}]"),
		     "400 declared_types[0]");
	CHECK_EQ_STR(register_parse("[{\"column\":\"id\",\"type\":\"utf8\"}]"),   /* not its type */
		     "400 declared_types[0]");
	CHECK_EQ_STR(register_parse("[{\"column\":\"id\",\"type\":\"int64\"},"
				    "{\"column\":\"id\",\"type\":\"int64\"}]"), "400 declared_types[1]");
	CHECK_EQ_STR(register_parse("[\"id\"]"), "400 declared_types[0]");
	/* a manifest says them back */
	struct catalog_version *v = catalog_version_create();
	snprintf(v->name, sizeof v->name, "pay");
	catalog_version_add_declared(v, "rate", "decimal(10,2)");
	json_t *j = catalog_version_json(v);
	json_t *want = json_loads("[{\"column\":\"rate\",\"type\":\"decimal(10,2)\"}]", 0, NULL);
	int same = json_equal(json_object_get(j, "declared_types"), want);
	json_decref(want);
	json_decref(j);
	catalog_version_clear_declared(v);
	CHECK(!v->has_declared && v->ndeclared == 0);
	catalog_version_destroy(v);
	CHECK(same);
	CHECK(catalog_type_valid("decimal(38,0)") && !catalog_type_valid("decimal(39,0)"));
}
