/* test_queryd_engine.c — engine.c against a real sandboxed DuckDB: views over
 * Parquet in the sandbox, the sandbox refusing every file outside it, value
 * rendering in each format, max_rows, interruption, and the parquet writer.
 * Parquet fixtures are written by the engine itself (engine_query_to_parquet). */
#include "test.h"
#include "engine_fixture.h"

#include "common/error.h"
#include "common/xmalloc.h"
#include "queryd/queryd_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Run `sql` with a view "t" over `parquet` (if set); the whole output in *out
 * (caller frees). Returns 0, or -1 with err filled (err->status). */
static int run(struct fixture *f, const char *parquet, const char *sql, enum engine_format fmt,
	       int64_t max_rows, char **out, struct lh_error *err)
{
	return fixture_run(f, "t", parquet, sql, fmt, max_rows, out, err);
}

TEST(queryd_engine_view_over_parquet_after_lock)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char path[128];
	snprintf(path, sizeof path, "%s/a.parquet", f.dir);
	CHECK(write_parquet(&f, "SELECT range AS i, 'n' || range AS s FROM range(1000)", path) == 0);
	struct lh_error err = { 0 };
	char *out = NULL;
	int rc = run(&f, path, "SELECT count(*) AS n, sum(i) AS total FROM t", ENGINE_JSON, -1, &out, &err);
	CHECK_EQ_INT(rc, 0);
	json_t *o = json_loads(out, 0, NULL);
	CHECK(o != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "columns"), 0), "type")), "BIGINT");
	json_t *row = json_array_get(json_object_get(o, "rows"), 0);
	CHECK_EQ_INT(json_integer_value(json_array_get(row, 0)), 1000);
	CHECK(json_is_number(json_array_get(row, 1)));
	CHECK_EQ_INT(json_number_value(json_array_get(row, 1)), 499500);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "row_count")), 1);
	CHECK(json_is_false(json_object_get(o, "truncated")));
	json_decref(o);
	free(out);
	fixture_close(&f);
}

TEST(queryd_engine_sandbox_refuses_outside_files)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char inside[128];
	snprintf(inside, sizeof inside, "%s/x.parquet", f.dir);
	CHECK(write_parquet(&f, "SELECT 1 AS a", inside) == 0);
	char *escape = xasprintf("SELECT * FROM read_text('%s/../../etc/passwd')", f.dir);
	const char *const bad[] = {
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_csv_auto('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_blob('/etc/passwd')",
		"SELECT * FROM read_parquet('/etc/passwd')",
		"SELECT * FROM parquet_scan('/etc/passwd')",
		"SELECT * FROM glob('/*')",
		"SELECT * FROM read_json('/etc/passwd')",
		"SELECT * FROM read_json_auto('/etc/passwd')",
		"SELECT * FROM read_ndjson('/etc/passwd')",
		"SELECT * FROM sniff_csv('/etc/passwd')",
		"SELECT * FROM parquet_metadata('/etc/passwd')",
		"SELECT * FROM '/etc/passwd'",
		"SELECT * FROM read_csv('/proc/self/environ')",
		escape,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct lh_error err = { 0 };
		char *out = NULL;
		int rc = run(&f, NULL, bad[i], ENGINE_CSV, -1, &out, &err);
		if (rc == 0 || err.status != 400)
			fprintf(stderr, "  %s -> %d %s\n", bad[i], err.status, err.msg);
		CHECK_EQ_INT(rc, -1);
		CHECK_EQ_INT(err.status, 400);
		CHECK(strstr(out, "root:") == NULL);
		CHECK(strstr(err.msg, "root:") == NULL);
		free(out);
		lh_error_clear(&err);
	}
	free(escape);
	/* Settings cannot be changed, even via a statement DuckDB would run. */
	struct lh_error err = { 0 };
	char *out = NULL;
	CHECK_EQ_INT(run(&f, NULL, "SET enable_external_access = true", ENGINE_JSON, -1, &out, &err), -1);
	CHECK_EQ_STR(err.code, "forbidden_statement");
	free(out);
	lh_error_clear(&err);
	/* Issue 22: settings are not even readable any more (the allow-list,
	 * ADR 0113); the sandbox beneath it is tested through queryd's own
	 * views (queryd_allow_sandbox_still_beneath). */
	CHECK_EQ_INT(run(&f, NULL, "SELECT value FROM duckdb_settings() WHERE name = 'enable_external_access'",
			 ENGINE_CSV, -1, &out, &err), -1);
	CHECK_EQ_STR(err.code, "forbidden_function");
	lh_error_clear(&err);
	free(out);
	/* Files inside the sandbox stay readable: queryd's views read them. */
	CHECK_EQ_INT(run(&f, inside, "SELECT a FROM t", ENGINE_CSV, -1, &out, &err), 0);
	CHECK_EQ_STR(out, "a\n1\n");
	free(out);
	fixture_close(&f);
}

TEST(queryd_engine_refuses_non_queries)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	const char *const bad[] = {
		"CREATE TABLE x (a INT)", "INSERT INTO x VALUES (1)", "PRAGMA threads = 1",
		"ATTACH ':memory:' AS m", "CALL pragma_version()", "SELECT 1; SELECT 2",
		"CHECKPOINT", "LOAD parquet",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct lh_error err = { 0 };
		char *out = NULL;
		int rc = run(&f, NULL, bad[i], ENGINE_JSON, -1, &out, &err);
		if (rc != -1)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_EQ_INT(rc, -1);
		CHECK_EQ_INT(err.status, 400);
		free(out);
		lh_error_clear(&err);
	}
	/* The read-only kinds DuckDB calls SELECT or EXPLAIN all run. */
	const char *const good[] = {
		"DESCRIBE SELECT 1 AS a", "SUMMARIZE SELECT 1 AS a", "SHOW TABLES",
		"EXPLAIN SELECT 1", "VALUES (1)", "FROM range(3)", "WITH x AS (SELECT 1) SELECT * FROM x",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct lh_error err = { 0 };
		char *out = NULL;
		int rc = run(&f, NULL, good[i], ENGINE_JSON, -1, &out, &err);
		if (rc)
			fprintf(stderr, "  %s -> %s\n", good[i], err.msg);
		CHECK_EQ_INT(rc, 0);
		free(out);
		lh_error_clear(&err);
	}
	struct lh_error err = { 0 };
	char *out = NULL;
	CHECK_EQ_INT(run(&f, NULL, "SELECT * FROM nope", ENGINE_JSON, -1, &out, &err), -1);
	CHECK_EQ_STR(err.code, "sql_error");
	CHECK(strstr(err.msg, "nope") != NULL);
	free(out);
	lh_error_clear(&err);
	fixture_close(&f);
}

TEST(queryd_engine_json_types)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	char *out = NULL;
	const char *sql =
		"SELECT 42::TINYINT AS ti, 9223372036854775807 AS big, "
		"-123::HUGEINT AS huge, "
		"-12.05::DECIMAL(10,2) AS dec, 0.1::DOUBLE AS dbl, 'nan'::DOUBLE AS nan, "
		"'a\"b\\c\n' AS s, NULL AS n, true AS b, DATE '2024-02-29' AS d, "
		"TIMESTAMP '2024-01-02 03:04:05.25' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tz, "
		"TIME '01:02:03' AS tm, [1, NULL, 3] AS l, {'k': 'v', 'n': 1} AS st, "
		"MAP {'x': 1} AS m, '00000000-0000-0000-0000-000000000001'::UUID AS u, "
		"INTERVAL 3 DAY AS iv, '\\x00\\xFF'::BLOB AS bl, 2.0::DOUBLE AS two";
	int rc = run(&f, NULL, sql, ENGINE_JSON, -1, &out, &err);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_EQ_INT(rc, 0);
	json_error_t je;
	json_t *o = json_loads(out, JSON_DECODE_INT_AS_REAL * 0, &je);
	if (!o)
		fprintf(stderr, "  bad json: %s\n  %s\n", je.text, out);
	CHECK(o != NULL);
	json_t *r = json_array_get(json_object_get(o, "rows"), 0);
	CHECK_EQ_INT(json_integer_value(json_array_get(r, 0)), 42);
	CHECK_EQ_INT(json_integer_value(json_array_get(r, 1)), 9223372036854775807LL);
	CHECK_EQ_INT(json_integer_value(json_array_get(r, 2)), -123);
	CHECK(strstr(out, ",-12.05,0.1,\"NaN\",") != NULL);
	CHECK_EQ_STR(json_string_value(json_array_get(r, 6)), "a\"b\\c\n");
	CHECK(json_is_null(json_array_get(r, 7)));
	CHECK(json_is_true(json_array_get(r, 8)));
	CHECK_EQ_STR(json_string_value(json_array_get(r, 9)), "2024-02-29");
	CHECK_EQ_STR(json_string_value(json_array_get(r, 10)), "2024-01-02T03:04:05.250000");
	CHECK_EQ_STR(json_string_value(json_array_get(r, 11)), "2024-01-02T03:04:05Z");
	CHECK_EQ_STR(json_string_value(json_array_get(r, 12)), "01:02:03");
	CHECK(strstr(out, "[1,null,3]") != NULL);
	CHECK(strstr(out, "{\"k\":\"v\",\"n\":\"1\"}") != NULL || strstr(out, "{\"k\":\"v\",\"n\":1}") != NULL);
	CHECK(strstr(out, "[{\"key\":\"x\",\"value\":1}]") != NULL);
	CHECK_EQ_STR(json_string_value(json_array_get(r, 16)), "00000000-0000-0000-0000-000000000001");
	CHECK_EQ_STR(json_string_value(json_array_get(r, 17)), "P3D");
	CHECK_EQ_STR(json_string_value(json_array_get(r, 18)), "\\x00\\xFF");
	CHECK(json_is_real(json_array_get(r, 19)));
	json_t *cols = json_object_get(o, "columns");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cols, 3), "type")), "DECIMAL(10,2)");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cols, 13), "type")), "INTEGER[]");
	json_decref(o);
	free(out);

	CHECK_EQ_INT(run(&f, NULL, "SELECT 170141183460469231731687303715884105727::HUGEINT AS h, "
			 "-1.5::DECIMAL(38,30) AS d", ENGINE_JSON, -1, &out, &err), 0);
	CHECK(strstr(out, "[[170141183460469231731687303715884105727,-1.500000000000000000000000000000]]") != NULL);
	free(out);
	CHECK_EQ_INT(run(&f, NULL, "SELECT 1::UNION(a INT, b VARCHAR) AS u", ENGINE_JSON, -1, &out, &err), -1);
	CHECK_EQ_STR(err.code, "unsupported_type");
	free(out);
	lh_error_clear(&err);
	fixture_close(&f);
}

TEST(queryd_engine_csv_ndjson_and_max_rows)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	char *out = NULL;
	CHECK_EQ_INT(run(&f, NULL, "SELECT 'a,b' AS \"x,y\", 'q\"' AS q, '' AS e, NULL AS n, [1,2] AS l, 3 AS i",
			 ENGINE_CSV, -1, &out, &err), 0);
	CHECK_EQ_STR(out, "\"x,y\",q,e,n,l,i\n\"a,b\",\"q\"\"\",\"\",,\"[1,2]\",3\n");
	free(out);
	CHECK_EQ_INT(run(&f, NULL, "SELECT range AS i FROM range(3)", ENGINE_NDJSON, -1, &out, &err), 0);
	CHECK_EQ_STR(out, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
	free(out);
	CHECK_EQ_INT(run(&f, NULL, "SELECT range AS i FROM range(5000)", ENGINE_JSON, 3000, &out, &err), 0);
	json_t *o = json_loads(out, 0, NULL);
	CHECK(o != NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "row_count")), 3000);
	CHECK_EQ_INT(json_array_size(json_object_get(o, "rows")), 3000);
	CHECK(json_is_true(json_object_get(o, "truncated")));
	json_decref(o);
	free(out);
	/* exactly max_rows rows: not truncated */
	CHECK_EQ_INT(run(&f, NULL, "SELECT range AS i FROM range(2048)", ENGINE_JSON, 2048, &out, &err), 0);
	o = json_loads(out, 0, NULL);
	CHECK(json_is_false(json_object_get(o, "truncated")));
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "row_count")), 2048);
	json_decref(o);
	free(out);
	/* zero rows */
	CHECK_EQ_INT(run(&f, NULL, "SELECT 1 AS a WHERE false", ENGINE_JSON, -1, &out, &err), 0);
	o = json_loads(out, 0, NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(o, "rows")), 0);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "row_count")), 0);
	json_decref(o);
	free(out);
	/* a large CSV streams chunk by chunk */
	CHECK_EQ_INT(run(&f, NULL, "SELECT range AS i FROM range(100000)", ENGINE_CSV, -1, &out, &err), 0);
	size_t lines = 0;
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	CHECK_EQ_INT(lines, 100001);
	CHECK(strstr(out, "\n99999\n") != NULL);
	free(out);
	fixture_close(&f);
}

TEST(queryd_engine_empty_view_from_schema)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	struct engine_query *q = engine_query_create(f.e, &err);
	CHECK(q != NULL);
	json_t *schema = json_loads("[{\"name\":\"id\",\"type\":\"int64\"},{\"name\":\"when\",\"type\":\"timestamp[us]\"}]", 0, NULL);
	CHECK_EQ_INT(engine_query_add_view(q, "empty@1", NULL, 0, schema, NULL, &err), 0);
	CHECK_EQ_INT(engine_query_prepare(q, "SELECT count(*) AS n, typeof(max(\"when\")) AS t FROM \"empty@1\"", &err), 0);
	CHECK_EQ_INT(engine_query_start(q, ENGINE_CSV, -1, &err), 0);
	char buf[256];
	size_t len = 0;
	ssize_t n;
	while ((n = engine_query_read(q, buf + len, sizeof buf - 1 - len, 0)) > 0)
		len += (size_t)n;
	CHECK_EQ_INT(n, 0);
	buf[len] = '\0';
	if (!strstr(buf, "\n0,TIMESTAMP\n"))
		fprintf(stderr, "  got: %s\n", buf);
	CHECK(strstr(buf, "\n0,TIMESTAMP\n") != NULL);
	json_decref(schema);
	engine_query_destroy(q);
	fixture_close(&f);
}

struct interrupter { struct engine_query *q; };

static void *interrupt_later(void *arg)
{
	struct interrupter *it = arg;
	usleep(300 * 1000);
	engine_query_interrupt(it->q);
	return NULL;
}

TEST(queryd_engine_interrupt_is_a_timeout)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	struct engine_query *q = engine_query_create(f.e, &err);
	CHECK(q != NULL);
	CHECK_EQ_INT(engine_query_prepare(q, "SELECT count(*) FROM range(100000000) a, range(100000000) b", &err), 0);
	struct interrupter it = { q };
	pthread_t th;
	pthread_create(&th, NULL, interrupt_later, &it);
	int rc = engine_query_start(q, ENGINE_JSON, -1, &err);
	pthread_join(th, NULL);
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_INT(err.status, 504);
	CHECK_EQ_STR(err.code, "query_timeout");
	engine_query_destroy(q);
	fixture_close(&f);
}

TEST(queryd_engine_parquet_output)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	char path[128];
	snprintf(path, sizeof path, "%s/out.parquet", f.dir);
	const char *sql = "SELECT range AS i FROM range(100) -- trailing comment";
	struct engine_query *q = engine_query_create(f.e, &err);
	CHECK_EQ_INT(engine_query_prepare(q, sql, &err), 0);
	CHECK_EQ_INT(engine_query_to_parquet(q, sql, strlen(sql), 10, path, &err), 0);
	CHECK_EQ_INT(engine_query_rows(q), 10);
	engine_query_destroy(q);
	char *out = NULL;
	CHECK_EQ_INT(run(&f, path, "SELECT count(*), max(i) FROM t", ENGINE_CSV, -1, &out, &err), 0);
	CHECK(strstr(out, "\n10,9\n") != NULL);
	free(out);
	/* writing outside the sandbox is refused */
	q = engine_query_create(f.e, &err);
	CHECK_EQ_INT(engine_query_prepare(q, "SELECT 1", &err), 0);
	CHECK_EQ_INT(engine_query_to_parquet(q, "SELECT 1", 8, -1, "/tmp/lh-qe-outside.parquet", &err), -1);
	CHECK_EQ_STR(err.code, "forbidden_statement");
	CHECK(access("/tmp/lh-qe-outside.parquet", F_OK) != 0);
	lh_error_clear(&err);
	engine_query_destroy(q);
	fixture_close(&f);
}

/* engine.c note 8: a worker's session keeps statements prepared; a new
 * version of a view is seen, a name that stops being ours is checked again,
 * and a past version's TEMP view does not outlive its query. */
TEST(queryd_engine_session_statement_cache)
{
	struct fixture f;
	struct lh_error err = { 0 };
	char *out = NULL;
	CHECK(fixture_open(&f, 1) == 0);
	char *p1 = xasprintf("%s/one.parquet", f.dir), *p2 = xasprintf("%s/two.parquet", f.dir);
	CHECK(write_parquet(&f, "SELECT 1 AS x", p1) == 0);
	CHECK(write_parquet(&f, "SELECT 2 AS x UNION ALL SELECT 3", p2) == 0);
	const char *one = p1, *two = p2;

	CHECK(engine_dataset_view(f.e, "ds", &one, 1, NULL, NULL, 0, &err) == 0);
	CHECK(run(&f, NULL, "SELECT sum(x) AS s FROM ds", ENGINE_CSV, -1, &out, &err) == 0);
	CHECK_EQ_STR(out, "s\n1\n");
	free(out);
	/* the same text after a new version: DuckDB rebinds the kept statement */
	CHECK(engine_dataset_view(f.e, "ds", &two, 1, NULL, NULL, 0, &err) == 0);
	CHECK(run(&f, NULL, "SELECT sum(x) AS s FROM ds", ENGINE_CSV, -1, &out, &err) == 0);
	CHECK_EQ_STR(out, "s\n5\n");
	free(out);

	/* allowed because a dataset is named like a system view ... */
	CHECK(engine_dataset_view(f.e, "pg_settings", &one, 1, NULL, NULL, 0, &err) == 0);
	CHECK(run(&f, NULL, "SELECT count(*) AS n FROM pg_settings", ENGINE_CSV, -1, &out,
		  &err) == 0);
	CHECK_EQ_STR(out, "n\n1\n");
	free(out);
	/* ... and checked again once it is not ours: the kept statement must not
	 * now read DuckDB's own view */
	CHECK(engine_dataset_view_drop(f.e, "pg_settings", &err) == 0);
	CHECK(run(&f, NULL, "SELECT count(*) AS n FROM pg_settings", ENGINE_CSV, -1, &out,
		  &err) == -1);
	if (strcmp(err.code, "forbidden_function"))
		fprintf(stderr, "  got %s: %s\n", err.code, err.msg);
	CHECK_EQ_STR(err.code, "forbidden_function");
	free(out);
	lh_error_clear(&err);

	/* a TEMP view (a past version) goes with its query */
	CHECK(run(&f, p1, "SELECT x FROM t", ENGINE_CSV, -1, &out, &err) == 0);
	CHECK_EQ_STR(out, "x\n1\n");
	free(out);
	CHECK(run(&f, NULL, "SELECT x FROM t", ENGINE_CSV, -1, &out, &err) == -1);
	CHECK_EQ_STR(err.code, "sql_error");
	free(out);
	lh_error_clear(&err);
	/* and the session survives the failure with a fresh connection */
	CHECK(run(&f, NULL, "SELECT sum(x) AS s FROM ds", ENGINE_CSV, -1, &out, &err) == 0);
	CHECK_EQ_STR(out, "s\n5\n");
	free(out);
	free(p1);
	free(p2);
	fixture_close(&f);
}

/* engine.c note 9: every output buffer has a cap. Read a started query to
 * its end: 0, or -1 when the stream was cut. */
static int drain(struct engine_query *q, size_t *total)
{
	char buf[4096];
	ssize_t n;
	*total = 0;
	while ((n = engine_query_read(q, buf, sizeof buf, 1.0)) > 0)
		*total += (size_t)n;
	return n < 0 ? -1 : 0;
}

/* Start `sql` with a row cap of `cap` bytes; the result of engine_query_start. */
static int start_capped(struct fixture *f, struct engine_query **q, const char *sql,
			enum engine_format fmt, size_t cap, struct lh_error *err)
{
	*q = engine_query_create(f->e, err);
	if (!*q)
		return -1;
	engine_query_set_max_row(*q, cap);
	if (engine_query_prepare(*q, sql, err))
		return -1;
	return engine_query_start(*q, fmt, -1, err);
}

TEST(queryd_engine_row_over_the_cap_is_an_answer)
{
	static const enum engine_format fmts[] = { ENGINE_JSON, ENGINE_CSV, ENGINE_NDJSON };
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
		struct lh_error err = { 0 };
		struct engine_query *q = NULL;
		size_t total = 0;
		/* under the cap: the whole value */
		CHECK_EQ_INT(start_capped(&f, &q, "SELECT repeat('x', 900) AS v", fmts[i], 1000,
					  &err), 0);
		CHECK_EQ_INT(drain(q, &total), 0);
		CHECK(total > 900);
		engine_query_destroy(q);
		/* a first row over it: 400 row_too_large before any byte */
		CHECK_EQ_INT(start_capped(&f, &q, "SELECT 1 AS a, repeat('x', 2000) AS v", fmts[i],
					  1000, &err), -1);
		CHECK_EQ_INT(err.status, 400);
		CHECK_EQ_STR(err.code, "row_too_large");
		CHECK(strstr(err.msg, "1000 bytes") != NULL);
		lh_error_clear(&err);
		engine_query_destroy(q);
		/* a nested value over it (CSV renders it aside first) */
		CHECK_EQ_INT(start_capped(&f, &q, "SELECT [repeat('x', 600), repeat('y', 600)] AS l",
					  fmts[i], 1000, &err), -1);
		CHECK_EQ_STR(err.code, "row_too_large");
		lh_error_clear(&err);
		engine_query_destroy(q);
	}
	fixture_close(&f);
}

TEST(queryd_engine_later_row_over_the_cap_cuts_the_stream)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	struct engine_query *q = NULL;
	size_t total = 0;
	/* more short rows than one LH_STREAM_CHUNK, then long ones */
	const char *sql = "SELECT i, CASE WHEN i < 30000 THEN 'short' ELSE repeat('x', 5000) END "
			  "AS v FROM range(30100) t(i) ORDER BY i";
	CHECK_EQ_INT(start_capped(&f, &q, sql, ENGINE_JSON, 1000, &err), 0);
	CHECK_EQ_INT(drain(q, &total), -1);
	CHECK(total >= LH_STREAM_CHUNK);   /* the short rows went out first */
	CHECK_EQ_INT(engine_query_read(q, (char[8]){ 0 }, 8, 1.0), -1);   /* and it stays cut */
	engine_query_destroy(q);
	/* the default cap takes the same rows whole */
	CHECK_EQ_INT(start_capped(&f, &q, sql, ENGINE_JSON, LH_QUERY_MAX_ROW_BYTES, &err), 0);
	CHECK_EQ_INT(drain(q, &total), 0);
	CHECK(total > 100 * 5000);
	engine_query_destroy(q);
	fixture_close(&f);
}

/* Found in review: the header and the first row share the output buffer, so a
 * header longer than the slack (thousands of long column names) made a first
 * row within the cap fail as too large. */
TEST(queryd_engine_wide_header_leaves_the_first_row_its_cap)
{
	struct fixture f;
	struct lh_error err = { 0 };
	struct engine_query *q = NULL;
	size_t total = 0;
	CHECK(fixture_open(&f, 0) == 0);
	char *sql = xasprintf("SELECT repeat('x', 190000) AS big");
	for (int i = 0; i < 2700; i++) {
		char *more = xasprintf("%s, %d AS \"c%04d_%0100d\"", sql, i % 10, i, 0);
		free(sql);
		sql = more;
	}
	/* header ~300 KiB (over the 260 KiB slack), row ~196 KiB, cap 200 KiB */
	CHECK_EQ_INT(start_capped(&f, &q, sql, ENGINE_JSON, 200u << 10, &err), 0);
	CHECK_EQ_INT(drain(q, &total), 0);
	CHECK(total > 190000 + 2700 * 100);
	engine_query_destroy(q);
	free(sql);
	lh_error_clear(&err);
	fixture_close(&f);
}
