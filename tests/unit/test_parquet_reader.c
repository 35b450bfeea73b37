/* test_parquet_reader.c — the Parquet input format (src/ingestd/
 * parquet_reader.c, parquet_scan.c; ADR 0184): the type mapping of every
 * DuckDB type name, the frame check, SQL quoting; and files written by
 * DuckDB here (test-only DuckDB use, as test_parquet_writer.c) inferred with
 * ingest_infer_fd: our own objects are kept as they are, other types are
 * converted (read back value by value), hostile files are plain 400s. */
#include "test.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/schema.h"
#include "ingestd/format.h"
#include "ingestd/parquet_reader.h"
#include "ingestd/parquet_writer.h"

/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- the mapping ------------------------------------------------------- */

static const struct {
	const char *duckdb, *type;
	enum parquet_conv conv;
} mapping[] = {
	{ "BOOLEAN", "bool", PARQUET_AS_IS },
	{ "BIGINT", "int64", PARQUET_AS_IS },
	{ "DOUBLE", "float64", PARQUET_AS_IS },
	{ "DATE", "date32", PARQUET_AS_IS },
	{ "TIMESTAMP", "timestamp[us]", PARQUET_AS_IS },
	{ "TIMESTAMP WITH TIME ZONE", "timestamp[us, tz=UTC]", PARQUET_AS_IS },
	{ "VARCHAR", "utf8", PARQUET_AS_IS },
	{ "TINYINT", "int64", PARQUET_CAST },
	{ "SMALLINT", "int64", PARQUET_CAST },
	{ "INTEGER", "int64", PARQUET_CAST },
	{ "UTINYINT", "int64", PARQUET_CAST },
	{ "USMALLINT", "int64", PARQUET_CAST },
	{ "UINTEGER", "int64", PARQUET_CAST },
	{ "UBIGINT", "int64", PARQUET_CHECKED },
	{ "HUGEINT", "int64", PARQUET_CHECKED },
	{ "UHUGEINT", "int64", PARQUET_CHECKED },
	{ "FLOAT", "float64", PARQUET_CAST },
	{ "TIMESTAMP_S", "timestamp[us]", PARQUET_CAST },
	{ "TIMESTAMP_MS", "timestamp[us]", PARQUET_CAST },
	{ "TIMESTAMP_NS", "timestamp[us]", PARQUET_CAST },
	{ "TIMESTAMP_NS WITH TIME ZONE", "timestamp[us, tz=UTC]", PARQUET_CAST },
	{ "BLOB", "utf8", PARQUET_BYTES },
	{ "INTEGER[]", "utf8", PARQUET_JSON },
	{ "VARCHAR[3]", "utf8", PARQUET_JSON },
	{ "STRUCT(a INTEGER, b VARCHAR[])", "utf8", PARQUET_JSON },
	{ "MAP(VARCHAR, INTEGER)", "utf8", PARQUET_JSON },
	{ "UNION(a INTEGER, b VARCHAR)", "utf8", PARQUET_JSON },
	{ "TIME", "utf8", PARQUET_CAST },
	{ "TIME WITH TIME ZONE", "utf8", PARQUET_CAST },
	{ "UUID", "utf8", PARQUET_CAST },
	{ "INTERVAL", "utf8", PARQUET_CAST },
	{ "JSON", "utf8", PARQUET_CAST },
	{ "DECIMAL(39,2)", "float64", PARQUET_CAST },   /* no decimal that wide */
	{ "DECIMAL(x)", "utf8", PARQUET_CAST },        /* not a decimal: text */
	{ "SOMETHING NEW", "utf8", PARQUET_CAST },
};

TEST(parquet_map_type_every_duckdb_name)
{
	for (size_t i = 0; i < sizeof mapping / sizeof mapping[0]; i++) {
		struct parquet_mapping m;
		char buf[SCHEMA_TYPE_NAME_MAX];
		parquet_map_type(mapping[i].duckdb, &m);
		if (strcmp(schema_type_name(&m.type, buf), mapping[i].type) || m.conv != mapping[i].conv)
			fprintf(stderr, "  %s -> %s conv %d\n", mapping[i].duckdb, buf, (int)m.conv);
		CHECK_EQ_STR(schema_type_name(&m.type, buf), mapping[i].type);
		CHECK_EQ_INT(m.conv, mapping[i].conv);
		/* an exact type is what queryd's DuckDB reads: the type's SQL name */
		if (m.conv == PARQUET_AS_IS) {
			const char *sql = schema_type_sql(&m.type, buf);
			CHECK(!strcmp(sql, mapping[i].duckdb) ||
			      (!strcmp(sql, "TIMESTAMPTZ") &&
			       !strcmp(mapping[i].duckdb, "TIMESTAMP WITH TIME ZONE")));
		}
	}
}

/* decimal(p,s) is kept when datasets may hold it (schema_type_stored),
 * else it is its nearest double */
TEST(parquet_map_type_decimal)
{
	const char *names[] = { "DECIMAL(10,2)", "DECIMAL(38,38)", "DECIMAL(1,0)", "DECIMAL(18,3)" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct parquet_mapping m;
		char buf[SCHEMA_TYPE_NAME_MAX], want[SCHEMA_TYPE_NAME_MAX];
		struct schema_type d;
		parquet_map_type(names[i], &m);
		snprintf(want, sizeof want, "decimal%s", names[i] + 7);
		CHECK_EQ_INT(schema_type_parse(want, strlen(want), &d), 0);
		if (schema_type_stored(&d)) {
			CHECK_EQ_STR(schema_type_name(&m.type, buf), want);
			CHECK_EQ_INT(m.conv, PARQUET_AS_IS);
			CHECK_EQ_STR(schema_type_sql(&m.type, buf), names[i]);
		} else {
			CHECK_EQ_STR(schema_type_name(&m.type, buf), "float64");
			CHECK_EQ_INT(m.conv, PARQUET_CAST);
		}
	}
}

TEST(parquet_stored_exactly_cases)
{
	static const struct {
		enum schema_type_id id;
		const char *physical;
		int exact;
	} cases[] = {
		{ SCHEMA_BOOL, "BOOLEAN||", 1 },
		{ SCHEMA_INT64, "INT64||", 1 },
		{ SCHEMA_INT64, "INT64|INT_64|", 1 },
		{ SCHEMA_INT64, "INT64||IntType(bitWidth=64, isSigned=1)", 1 },
		{ SCHEMA_INT64, "INT64|UINT_64|", 0 },
		{ SCHEMA_FLOAT64, "DOUBLE||", 1 },
		{ SCHEMA_FLOAT64, "FLOAT||", 0 },
		{ SCHEMA_DATE32, "INT32|DATE|", 1 },
		{ SCHEMA_DATE32, "INT32||DateType()", 1 },
		{ SCHEMA_TIMESTAMP, "INT64|TIMESTAMP_MICROS|TimestampType(isAdjustedToUTC=0, unit=TimeUnit("
				    "MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))", 1 },
		{ SCHEMA_TIMESTAMP, "INT64|TIMESTAMP_MILLIS|TimestampType(isAdjustedToUTC=0, unit=TimeUnit("
				    "MILLIS=MilliSeconds(), MICROS=<null>, NANOS=<null>))", 0 },
		{ SCHEMA_TIMESTAMP, "INT64|TIMESTAMP_MILLIS|", 0 },
		{ SCHEMA_TIMESTAMP, "INT64|TIMESTAMP_MICROS|", 0 },    /* legacy: its zone is unsaid */
		{ SCHEMA_TIMESTAMP, "INT96||", 0 },
		{ SCHEMA_TIMESTAMP, "INT64||TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, "
				    "MICROS=MicroSeconds(), NANOS=<null>))", 0 },
		{ SCHEMA_TIMESTAMPTZ, "INT64||TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, "
				      "MICROS=MicroSeconds(), NANOS=<null>))", 1 },
		{ SCHEMA_UTF8, "BYTE_ARRAY|UTF8|", 1 },
		{ SCHEMA_UTF8, "BYTE_ARRAY||StringType()", 1 },
		{ SCHEMA_UTF8, "BYTE_ARRAY|ENUM|", 0 },
		{ SCHEMA_UTF8, "BYTE_ARRAY|JSON|", 0 },
		{ SCHEMA_UTF8, "", 0 },                                 /* unknown */
		{ SCHEMA_INT64, "INT64", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct schema_type t = schema_type_of(cases[i].id);
		int got = parquet_stored_exactly(&t, cases[i].physical);
		if (got != cases[i].exact)
			fprintf(stderr, "  %s: %d\n", cases[i].physical, got);
		CHECK_EQ_INT(got, cases[i].exact);
	}
	struct schema_type d = { SCHEMA_DECIMAL, 10, 2 };
	CHECK_EQ_INT(parquet_stored_exactly(&d, "INT64|DECIMAL|DecimalType(scale=2, precision=10)"), 1);
	CHECK_EQ_INT(parquet_stored_exactly(&d, "FIXED_LEN_BYTE_ARRAY||DecimalType(scale=2, precision=10)"), 1);
}

TEST(parquet_column_expr_quotes)
{
	struct parquet_mapping m = { schema_type_of(SCHEMA_UTF8), PARQUET_AS_IS };
	char *e = parquet_column_expr("a\"b", &m);
	CHECK_EQ_STR(e, "\"a\"\"b\"");
	free(e);
	m.type = schema_type_of(SCHEMA_INT64);
	m.conv = PARQUET_CAST;
	e = parquet_column_expr("x", &m);
	CHECK_EQ_STR(e, "CAST(\"x\" AS BIGINT)");
	free(e);
	m.conv = PARQUET_CHECKED;
	e = parquet_column_expr("it's", &m);   /* the name in the error text is a literal */
	CHECK(strstr(e, "error('LH400:column \"it''s\" holds an integer beyond") != NULL);
	free(e);
	m.type = schema_type_of(SCHEMA_UTF8);
	m.conv = PARQUET_JSON;
	e = parquet_column_expr("s", &m);
	CHECK_EQ_STR(e, "CAST(to_json(\"s\") AS VARCHAR)");
	free(e);
}

TEST(parquet_sniff_scores)
{
	const unsigned char par1[] = "PAR1\x15\x04", csv[] = "id,name\n";
	struct ingest_sniff in = { .head = par1, .nhead = 6 };
	CHECK_EQ_INT(ingest_format_parquet.sniff(&in), INGEST_SNIFF_MAGIC);
	in.media_type = "text/csv";                       /* the magic wins */
	CHECK_EQ_INT(ingest_format_parquet.sniff(&in), INGEST_SNIFF_MAGIC);
	struct ingest_sniff declared = { .media_type = "Application/Vnd.Apache.Parquet; x=1",
					 .head = csv, .nhead = 8 };
	CHECK_EQ_INT(ingest_format_parquet.sniff(&declared), INGEST_SNIFF_DECLARED);
	declared.media_type = "application/x-parquet";
	CHECK_EQ_INT(ingest_format_parquet.sniff(&declared), INGEST_SNIFF_DECLARED);
	struct ingest_sniff named = { .file_name = "People.PARQUET", .head = csv, .nhead = 8 };
	CHECK_EQ_INT(ingest_format_parquet.sniff(&named), INGEST_SNIFF_DECLARED);
	struct ingest_sniff other = { .media_type = "text/csv", .file_name = "a.csv", .head = csv,
				      .nhead = 8 };
	CHECK_EQ_INT(ingest_format_parquet.sniff(&other), 0);
	struct ingest_sniff none = { 0 };
	CHECK_EQ_INT(ingest_format_parquet.sniff(&none), 0);
	/* the registry picks Parquet for its magic, whatever the declaration */
	const struct ingest_format *f = NULL;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(ingest_format_pick(&in, &f, &err), 0);
	CHECK(f == &ingest_format_parquet);
}

/* ---- the frame --------------------------------------------------------- */

static int frame(const char *head, const char *tail8, uint64_t size, struct lh_error *err)
{
	return parquet_check_frame((const unsigned char *)head, (const unsigned char *)tail8, size,
				   err);
}

TEST(parquet_check_frame_cases)
{
	struct lh_error err = { 0 };
	CHECK_EQ_INT(frame("PAR1", "\x10\0\0\0PAR1", 100, &err), 0);
	CHECK_EQ_INT(frame("PAR1", "\x58\0\0\0PAR1", 100, &err), 0);          /* 88 = 100 - 12 */
	CHECK_EQ_INT(frame("PAR1", "\x59\0\0\0PAR1", 100, &err), -1);         /* one beyond */
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_parquet");
	CHECK(strstr(err.msg, "footer says it is 89 bytes long but the file has only 88") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(frame("PAR1", "\xff\xff\xff\xffPAR1", 100, &err), -1);   /* 4 GiB footer */
	CHECK(strstr(err.msg, "4294967295") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(frame("PAR1", "\x10\0\0\0PARE", 100, &err), -1);
	CHECK(strstr(err.msg, "encrypted") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(frame("PAR1", "\x10\0\0\0XXXX", 100, &err), -1);
	CHECK(strstr(err.msg, "cut short") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(frame("id,n", "\x10\0\0\0PAR1", 100, &err), -1);
	CHECK(strstr(err.msg, "does not start with PAR1") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(frame("PAR1", "\0\0\0\0PAR1", 11, &err), -1);
	CHECK(strstr(err.msg, "too short") != NULL);
	lh_error_clear(&err);
	/* a footer within the file but past the cap */
	uint64_t big = (uint64_t)LH_PARQUET_MAX_FOOTER_BYTES + 1;
	char tail[8] = { (char)(big & 0xff), (char)(big >> 8 & 0xff), (char)(big >> 16 & 0xff),
			 (char)(big >> 24 & 0xff), 'P', 'A', 'R', '1' };
	CHECK_EQ_INT(frame("PAR1", tail, big + 100, &err), -1);
	CHECK(strstr(err.msg, "at most") != NULL);
	lh_error_clear(&err);
}

/* ---- files written by DuckDB ------------------------------------------- */

struct pqfile {
	char path[64];
	int fd;
	struct ingest_schema *schema;
	duckdb_database db;
	duckdb_connection con;
};

/* Write COPY (<select>) TO a temp Parquet file with DuckDB; open it. */
static int pq_write(struct pqfile *f, const char *select)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	snprintf(f->path, sizeof f->path, "/tmp/lh-test-pqr-XXXXXX");
	int t = mkstemp(f->path);
	if (t < 0)
		return -1;
	close(t);
	if (duckdb_open(NULL, &f->db) == DuckDBError || duckdb_connect(f->db, &f->con) == DuckDBError)
		return -1;
	size_t n = strlen(select) + 200;
	char *sql = malloc(n);
	snprintf(sql, n, "COPY (%s) TO '%s' (FORMAT parquet)", select, f->path);
	duckdb_result res;
	int rc = duckdb_query(f->con, sql, &res) == DuckDBError ? -1 : 0;
	if (rc)
		fprintf(stderr, "  %s\n", duckdb_result_error(&res));
	duckdb_destroy_result(&res);
	free(sql);
	f->fd = open(f->path, O_RDWR);
	return rc || f->fd < 0 ? -1 : 0;
}

static void pq_free(struct pqfile *f)
{
	if (f->con)
		duckdb_disconnect(&f->con);
	if (f->db)
		duckdb_close(&f->db);
	if (f->fd >= 0)
		close(f->fd);
	unlink(f->path);
	ingest_schema_destroy(f->schema);
}

static const char *type_of(const struct ingest_schema *s, size_t i)
{
	static char buf[SCHEMA_TYPE_NAME_MAX];
	return schema_type_name(&s->columns[i].type, buf);
}

TEST(parquet_our_own_types_are_kept_as_they_are)
{
	struct pqfile f;
	struct lh_error err = { 0 };
	CHECK(pq_write(&f, "SELECT * FROM (VALUES "
		       "(true, 1::BIGINT, 1.5::DOUBLE, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', "
		       " TIMESTAMPTZ '2024-01-02 03:04:05+00', 'x'), "
		       "(NULL, NULL, NULL, NULL, NULL, NULL, NULL)) "
		       "t(b, i, f, d, ts, tz, s)") == 0);
	int rc = ingest_infer_fd(&ingest_format_parquet, f.fd, &f.schema, &err);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_EQ_INT(rc, 0);
	CHECK(f.schema->format == &ingest_format_parquet);
	CHECK_EQ_INT(f.schema->as_is, 1);
	CHECK_EQ_INT(f.schema->ncols, 7);
	CHECK_EQ_INT(f.schema->row_count, 2);
	const char *want[] = { "bool", "int64", "float64", "date32", "timestamp[us]",
			       "timestamp[us, tz=UTC]", "utf8" };
	for (size_t i = 0; i < 7; i++) {
		CHECK_EQ_STR(type_of(f.schema, i), want[i]);
		CHECK_EQ_INT(f.schema->columns[i].nullable, 1);
		CHECK_EQ_INT(f.schema->columns[i].all_null, 0);
	}
	CHECK_EQ_STR(f.schema->columns[6].name, "s");
	char fp[SCHEMA_FP_LEN + 1];
	ingest_fingerprint(f.schema->columns, f.schema->ncols, fp);
	CHECK_EQ_STR(f.schema->fingerprint, fp);
	CHECK_EQ_INT(f.schema->data_end, (uint64_t)lseek(f.fd, 0, SEEK_END));
	pq_free(&f);
	lh_error_clear(&err);
}

/* DuckDB reads a TIMESTAMP_MILLIS column as TIMESTAMP, but the file does
 * not store it as timestamp[us]: converted, not kept. */
TEST(parquet_millisecond_timestamps_are_converted)
{
	struct pqfile f;
	struct lh_error err = { 0 };
	CHECK(pq_write(&f, "SELECT TIMESTAMP_MS '2024-01-02 03:04:05.123' AS ms, 1::BIGINT AS i") == 0);
	int rc = ingest_infer_fd(&ingest_format_parquet, f.fd, &f.schema, &err);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(type_of(f.schema, 0), "timestamp[us]");
	CHECK_EQ_INT(f.schema->as_is, 0);
	pq_free(&f);
	lh_error_clear(&err);
}

/* cast.h's inexact: only a value no double holds exactly counts, whatever
 * the range (2^60 is wide but exact). */
TEST(parquet_inexact_int64_columns)
{
	struct pqfile f;
	struct lh_error err = { 0 };
	CHECK(pq_write(&f, "SELECT * FROM (VALUES (1::BIGINT, 9007199254740993::BIGINT, "
		       "1152921504606846976::BIGINT, 9223372036854775807::BIGINT, -9007199254740992::BIGINT), "
		       "(2, 3, 4, 5, 6)) t(small, odd, pow2, top, low)") == 0);
	int rc = ingest_infer_fd(&ingest_format_parquet, f.fd, &f.schema, &err);
	CHECK_EQ_INT(rc, 0);
	const int want[] = { 0, 1, 0, 1, 0 };
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ_STR(type_of(f.schema, i), "int64");
		CHECK_EQ_INT(f.schema->columns[i].inexact, want[i]);
	}
	pq_free(&f);
	lh_error_clear(&err);
}

/* Other types are converted: infer, write through parquet_write_input (the
 * pipeline's path), read the result back with DuckDB. */
TEST(parquet_other_types_are_converted_value_by_value)
{
	struct pqfile f;
	struct lh_error err = { 0 };
	char out[80];
	CHECK(pq_write(&f, "SELECT * FROM (VALUES "
		       "(1::INTEGER, 2.5::FLOAT, TIMESTAMP_NS '2024-01-02 03:04:05.123456789', "
		       " {'a': 1, 'b': [1, 2]}, 'caf\\xC3\\xA9'::BLOB, 9007199254740993::UBIGINT, TIME '01:02:03', NULL::INTEGER), "
		       "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)) t(i, f, ns, s, b, u, tm, n)") == 0);
	int rc = ingest_infer_fd(&ingest_format_parquet, f.fd, &f.schema, &err);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(f.schema->as_is, 0);
	const char *want[] = { "int64", "float64", "timestamp[us]", "utf8", "utf8", "int64", "utf8",
			       "int64" };
	for (size_t i = 0; i < 8; i++)
		CHECK_EQ_STR(type_of(f.schema, i), want[i]);
	CHECK_EQ_INT(f.schema->columns[5].inexact, 1);   /* 2^53 + 1 */
	CHECK_EQ_INT(f.schema->columns[0].inexact, 0);
	CHECK_EQ_INT(f.schema->columns[7].all_null, 1);
	CHECK_EQ_INT(f.schema->columns[0].all_null, 0);

	snprintf(out, sizeof out, "%s.out.parquet", f.path);
	struct parquet_writer_options opt = { 256u << 20, 2, "/tmp", NULL };
	uint64_t rows = 0;
	rc = parquet_write_input(f.fd, f.schema, out, &opt, &rows, &err);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(rows, 2);
	char sql[256];
	duckdb_result res;
	snprintf(sql, sizeof sql, "SELECT i, f, ns::VARCHAR, s, b, u, tm, n, typeof(i), typeof(ns) "
		 "FROM read_parquet('%s')", out);
	rc = duckdb_query(f.con, sql, &res) == DuckDBError ? -1 : 0;
	unlink(out);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(duckdb_row_count(&res), 2);
	const char *row0[] = { "1", "2.5", "2024-01-02 03:04:05.123456", "{\"a\":1,\"b\":[1,2]}",
			       "caf\xc3\xa9", "9007199254740993", "01:02:03", NULL, "BIGINT", "TIMESTAMP" };
	for (idx_t c = 0; c < 10; c++) {
		char *v = duckdb_value_varchar(&res, c, 0);
		int ok = row0[c] ? v && !strcmp(v, row0[c]) : v == NULL;
		if (!ok)
			fprintf(stderr, "  column %llu: %s\n", (unsigned long long)c, v ? v : "NULL");
		duckdb_free(v);
		if (!ok)
			duckdb_destroy_result(&res);
		CHECK(ok);
	}
	for (idx_t c = 0; c < 8; c++)
		CHECK(duckdb_value_is_null(&res, c, 1));
	duckdb_destroy_result(&res);
	pq_free(&f);
	lh_error_clear(&err);
}

/* Infer `select`'s file; expect a 400 bad_parquet whose message has `want`. */
static int refused(const char *select, const char *want, const char *code)
{
	struct pqfile f;
	struct lh_error err = { 0 };
	int ok = pq_write(&f, select) == 0 &&
		 ingest_infer_fd(&ingest_format_parquet, f.fd, &f.schema, &err) == -1 &&
		 err.status == 400 && !strcmp(err.code, code) && strstr(err.msg, want) &&
		 !strstr(err.msg, "/proc") && !strstr(err.msg, "Error:");
	if (!ok)
		fprintf(stderr, "  %s: %d %s %s\n", select, err.status, err.code, err.msg);
	pq_free(&f);
	lh_error_clear(&err);
	return ok;
}

TEST(parquet_values_that_do_not_fit_are_400s_naming_the_column)
{
	CHECK(refused("SELECT 18446744073709551615::UBIGINT AS big",
		      "column \"big\" holds an integer beyond the 64-bit range", "bad_parquet"));
	CHECK(refused("SELECT '\\xff\\xfe'::BLOB AS raw",
		      "column \"raw\" holds binary values that are not UTF-8 text", "bad_parquet"));
	CHECK(refused("SELECT 1 AS \"a\tb\"", "control character", "bad_header"));
}

TEST(parquet_too_many_columns_is_a_400)
{
	/* LH_PARQUET_MAX_COLUMNS + 1 columns */
	size_t n = LH_PARQUET_MAX_COLUMNS + 1, cap = n * 24 + 16, len = 0;
	char *sel = malloc(cap);
	len += (size_t)snprintf(sel + len, cap - len, "SELECT ");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(sel + len, cap - len, "%s1 AS c%zu", i ? ", " : "", i);
	char want[64];
	snprintf(want, sizeof want, "the file has %zu columns", n);
	int ok = refused(sel, want, "bad_parquet");
	free(sel);
	CHECK(ok);
}

/* Damage a good file in place; expect a plain 400. */
static int damaged(void (*damage)(int fd, off_t size), const char *want)
{
	struct pqfile f;
	struct lh_error err = { 0 };
	int ok = pq_write(&f, "SELECT range AS i, 'v' || range AS s FROM range(5000)") == 0;
	off_t size = ok ? lseek(f.fd, 0, SEEK_END) : 0;
	if (ok)
		damage(f.fd, size);
	ok = ok && ingest_infer_fd(&ingest_format_parquet, f.fd, &f.schema, &err) == -1 &&
	     err.status == 400 && !strcmp(err.code, "bad_parquet") && strstr(err.msg, want) &&
	     !strstr(err.msg, "/proc") && !strstr(err.msg, "Error:");
	if (!ok)
		fprintf(stderr, "  %d %s %s\n", err.status, err.code, err.msg);
	pq_free(&f);
	lh_error_clear(&err);
	return ok;
}

static void cut_in_half(int fd, off_t size)
{
	(void)!ftruncate(fd, size / 2);
}

static void footer_beyond(int fd, off_t size)
{
	unsigned char len[4] = { 0xff, 0xff, 0xff, 0x7f };
	(void)!pwrite(fd, len, 4, size - 8);
}

static void scribble_pages(int fd, off_t size)
{
	/* the data pages (after PAR1, before the footer): garbage */
	char junk[256];
	memset(junk, 0x5a, sizeof junk);
	(void)!pwrite(fd, junk, sizeof junk, 4);
}

static void encrypted_footer(int fd, off_t size)
{
	(void)!pwrite(fd, "PARE", 4, size - 4);
}

TEST(parquet_damaged_files_are_plain_400s)
{
	CHECK(damaged(cut_in_half, "cut short"));
	CHECK(damaged(footer_beyond, "its footer says it is"));
	CHECK(damaged(scribble_pages, "not readable Parquet"));
	CHECK(damaged(encrypted_footer, "encrypted"));
}

/* More uploads than LH_PARQUET_SCAN_MAX_CHECKS inferred at once: each waits
 * its turn and gets its own right answer. */
struct concurrent {
	int fd;
	int rc;
	uint64_t rows;
};

static void *infer_one(void *arg)
{
	struct concurrent *c = arg;
	struct ingest_schema *s = NULL;
	struct lh_error err = { 0 };
	c->rc = ingest_infer_fd(&ingest_format_parquet, c->fd, &s, &err);
	c->rows = s ? s->row_count : 0;
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	return NULL;
}

TEST(parquet_concurrent_inference_waits_its_turn)
{
	enum { N = 5 };
	struct pqfile f[N];
	struct concurrent c[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		char sel[96];
		snprintf(sel, sizeof sel, "SELECT range AS i FROM range(%d)", 1000 * (i + 1));
		CHECK(pq_write(&f[i], sel) == 0);
		c[i].fd = f[i].fd;
	}
	for (int i = 0; i < N; i++)
		CHECK(pthread_create(&t[i], NULL, infer_one, &c[i]) == 0);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(c[i].rc, 0);
		CHECK_EQ_INT(c[i].rows, 1000 * (i + 1));
		pq_free(&f[i]);
	}
}
