/* test_queryd_allow.c — the function allow-list (ADR 0113, issue 22 points 1
 * and 2): sql_allow.c's pure walk, sql_functions.c's list against the DuckDB
 * we link (every function and internal view must be classified), and the
 * engine refusing each reproduction before DuckDB binds it while ordinary
 * analytics keep working. Engine tests go through engine.c's API only. */
#include "test.h"
#include "engine_fixture.h"

#include "common/error.h"
#include "common/xmalloc.h"
#include "queryd/queryd_int.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- pure ------------------------------------------------------------------ */

TEST(queryd_allow_table_sorted_and_consistent)
{
	const char *bad = sql_functions_selftest();
	if (bad)
		fprintf(stderr, "  out of order or inconsistent: %s\n", bad);
	CHECK(bad == NULL);
	CHECK(sql_fn_find("SUM") != NULL);
	CHECK(sql_fn_find("sum") == sql_fn_find("Sum"));
	CHECK(sql_fn_find("formatreadablesize") != NULL);
	CHECK(sql_fn_find("no_such_function") == NULL);
	CHECK(sql_allow_classified("table", "main", "json_execute_serialized_sql"));
	CHECK(sql_allow_classified("pragma", "main", "json_execute_serialized_sql"));
	CHECK(!sql_allow_classified("scalar", "main", "json_execute_serialized_sql"));
	CHECK(sql_allow_classified("view", "pg_catalog", "pg_settings"));
	CHECK(!sql_allow_classified("view", "main", "pg_settings"));
	CHECK(!sql_allow_classified("window", "main", "sum"));
}

TEST(queryd_allow_explain_body)
{
	const struct {
		const char *sql;
		const char *body;   /* what follows the offset, or NULL: offset 0 */
	} cases[] = {
		{ "SELECT 1", NULL },
		{ "EXPLAIN SELECT 1", " SELECT 1" },
		{ "explain analyze SELECT 1", " SELECT 1" },
		{ "  /* a /* nested */ comment */ EXPLAIN -- x\n ANALYZE\tFROM t", "\tFROM t" },
		{ "EXPLAIN/**/ANALYZE/**/SELECT 1", "/**/SELECT 1" },
		{ "EXPLAINED", NULL },
		{ "EXPLAIN_x SELECT 1", NULL },
		{ "EXPLAIN ANALYZED", " ANALYZED" },
		{ "EXPLAIN \"ANALYZE\" SELECT", " \"ANALYZE\" SELECT" },
		{ "EXPLAIN", "" },
		{ "WITH x AS (EXPLAIN SELECT 1) SELECT 1", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t off = sql_allow_explain_body(cases[i].sql, strlen(cases[i].sql));
		if (!cases[i].body) {
			CHECK_EQ_INT(off, 0);
			continue;
		}
		CHECK(off > 0);
		CHECK_EQ_STR(cases[i].sql + off, cases[i].body);
	}
}

/* A SELECT_NODE around `select_list` and `from`, as json_serialize_sql writes it. */
static char *doc_of(const char *select_list, const char *from)
{
	return xasprintf("{\"error\":false,\"statements\":[{\"node\":{\"type\":\"SELECT_NODE\","
			 "\"modifiers\":[],\"cte_map\":{\"map\":[]},\"select_list\":[%s],"
			 "\"from_table\":%s,\"where_clause\":null},\"named_param_map\":[]}]}",
			 select_list, from);
}

#define EMPTY_FROM "{\"type\":\"EMPTY\",\"alias\":\"\",\"sample\":null}"
#define CALL(name, schema) "{\"class\":\"FUNCTION\",\"type\":\"FUNCTION\",\"function_name\":\"" \
	name "\",\"schema\":\"" schema "\",\"catalog\":\"\",\"children\":[],\"export_state\":false}"

static int check_doc(const char *doc, struct lh_error *err)
{
	return sql_allow_check(doc, strlen(doc), NULL, 0, err);
}

/* The walk fails closed: what it does not know is refused. */
TEST(queryd_allow_fails_closed)
{
	const struct {
		const char *select_list, *from, *code;
	} cases[] = {
		{ CALL("abs", ""), EMPTY_FROM, NULL },
		{ CALL("abs", "main"), EMPTY_FROM, NULL },
		{ CALL("ABS", "PG_CATALOG"), EMPTY_FROM, NULL },
		{ CALL("abs", "temp"), EMPTY_FROM, "forbidden_function" },
		{ CALL("no_such_function", ""), EMPTY_FROM, "forbidden_function" },
		{ CALL("current_setting", ""), EMPTY_FROM, "forbidden_function" },
		{ CALL("range", ""), EMPTY_FROM, NULL },
		{ CALL("read_csv", ""), EMPTY_FROM, "forbidden_function" },   /* not a scalar */
		{ "{\"class\":\"BOUND_FUNCTION\",\"type\":\"BOUND_FUNCTION\"}", EMPTY_FROM,
		  "forbidden_statement" },
		{ "{\"class\":\"WINDOW\",\"type\":\"WINDOW_SOMETHING_NEW\",\"function_name\":\"x\"}",
		  EMPTY_FROM, "forbidden_statement" },
		{ "{\"class\":\"CONSTANT\",\"type\":\"VALUE_CONSTANT\",\"value\":{\"type\":{\"id\":"
		  "\"POINTER\",\"type_info\":null},\"is_null\":false,\"value\":1094795585}}",
		  EMPTY_FROM, "forbidden_statement" },
		{ CALL("abs", ""), "{\"type\":\"COLUMN_DATA\",\"alias\":\"\",\"sample\":null}",
		  "forbidden_statement" },
		{ CALL("abs", ""), "{\"type\":\"TABLE_FUNCTION\",\"alias\":\"\",\"sample\":null,"
		  "\"function\":{\"class\":\"COLUMN_REF\"}}", "forbidden_statement" },
		/* a table reference without the usual keys is still checked */
		{ CALL("abs", ""), "{\"type\":\"TABLE_FUNCTION\",\"function\":" CALL("glob", "") "}",
		  "forbidden_function" },
		{ CALL("abs", ""), "{\"type\":\"BASE_TABLE\",\"table_name\":\"duckdb_logs\"}",
		  "forbidden_function" },
		{ CALL("abs", ""), "{\"type\":\"BASE_TABLE\",\"table_name\":\"x.parquet\"}",
		  "forbidden_function" },
		{ CALL("abs", ""), "{\"type\":\"BASE_TABLE\",\"table_name\":\"people\"}", NULL },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *doc = doc_of(cases[i].select_list, cases[i].from);
		struct lh_error err = { 0 };
		int rc = check_doc(doc, &err);
		if (rc != (cases[i].code ? -1 : 0))
			fprintf(stderr, "  case %zu: rc %d %s\n", i, rc, err.msg);
		CHECK_EQ_INT(rc, cases[i].code ? -1 : 0);
		if (cases[i].code) {
			CHECK_EQ_INT(err.status, 400);
			CHECK_EQ_STR(err.code, cases[i].code);
		}
		lh_error_clear(&err);
		free(doc);
	}
	const char *const whole[] = {
		"", "not json", "[]", "{\"error\":true,\"error_message\":\"Only SELECT statements\"}",
		"{\"error\":false,\"statements\":[]}",
		"{\"error\":false,\"statements\":[{\"node\":{}},{\"node\":{}}]}",
		"{\"statements\":[{\"node\":{}}]}",
	};
	for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
		struct lh_error err = { 0 };
		CHECK_EQ_INT(check_doc(whole[i], &err), -1);
		CHECK_EQ_STR(err.code, "forbidden_statement");
		lh_error_clear(&err);
	}
	/* Nesting beyond what the JSON parser takes is refused, not crashed on. */
	size_t depth = 5000;
	char *deep = xmalloc(depth * 2 + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[depth * 2] = '\0';
	struct lh_error err = { 0 };
	CHECK_EQ_INT(check_doc(deep, &err), -1);
	CHECK_EQ_STR(err.code, "forbidden_statement");
	lh_error_clear(&err);
	free(deep);
}

/* ---- against DuckDB -------------------------------------------------------- */

/* Run `sql` (views `view` over `parquet` when set) as CSV; the output in *out
 * (caller frees). 0, or -1 with err. */
static int run(struct fixture *f, const char *view, const char *parquet, const char *sql,
	       char **out, struct lh_error *err)
{
	return fixture_run(f, view, parquet, sql, ENGINE_CSV, -1, out, err);
}

struct unclassified {
	int n, total;
};

static void note_function(void *ctx, const char *kind, const char *schema, const char *name)
{
	struct unclassified *u = ctx;
	u->total++;
	if (sql_allow_classified(kind, schema, name))
		return;
	if (u->n++ < 200)
		fprintf(stderr, "  not classified in src/queryd/sql_functions.c: %s %s.%s\n", kind,
			schema, name);
}

/* Issue 22: an upgrade of DuckDB cannot add a function (or system view)
 * nobody has classified. */
TEST(queryd_allow_every_duckdb_function_is_classified)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct unclassified u = { 0 };
	struct lh_error err = { 0 };
	CHECK_EQ_INT(engine_functions_each(f.e, note_function, &u, &err), 0);
	fixture_close(&f);
	CHECK(u.total > 900);   /* DuckDB 1.4.4 offers ~950 (kind, schema, name) */
	if (u.n)
		fprintf(stderr, "  %d functions or views are not classified\n", u.n);
	CHECK_EQ_INT(u.n, 0);
}

/* A serialized plan with POINTER constants makes arrow_scan call 0x41414141:
 * before the allow-list this statement crashed the process while DuckDB
 * bound it. */
#define PTR "{\"class\":\"CONSTANT\",\"type\":\"VALUE_CONSTANT\",\"alias\":\"\",\"query_location\":25," \
	"\"value\":{\"type\":{\"id\":\"POINTER\",\"type_info\":null},\"is_null\":false," \
	"\"value\":1094795585}}"
static const char exploit_plan[] =
	"{\"error\":false,\"statements\":[{\"node\":{\"type\":\"SELECT_NODE\",\"modifiers\":[],"
	"\"cte_map\":{\"map\":[]},\"select_list\":[{\"class\":\"STAR\",\"type\":\"STAR\",\"alias\":\"\","
	"\"query_location\":7,\"relation_name\":\"\",\"exclude_list\":[],\"replace_list\":[],"
	"\"columns\":false,\"expr\":null,\"qualified_exclude_list\":[],\"rename_list\":[]}],"
	"\"from_table\":{\"type\":\"TABLE_FUNCTION\",\"alias\":\"\",\"sample\":null,\"query_location\":14,"
	"\"function\":{\"class\":\"FUNCTION\",\"type\":\"FUNCTION\",\"alias\":\"\",\"query_location\":14,"
	"\"function_name\":\"arrow_scan\",\"schema\":\"\",\"children\":[" PTR "," PTR "," PTR "],"
	"\"filter\":null,\"order_bys\":{\"type\":\"ORDER_MODIFIER\",\"orders\":[]},\"distinct\":false,"
	"\"is_operator\":false,\"export_state\":false,\"catalog\":\"\"},\"column_name_alias\":[],"
	"\"with_ordinality\":\"WITHOUT_ORDINALITY\"},\"where_clause\":null,\"group_expressions\":[],"
	"\"group_sets\":[],\"aggregate_handling\":\"STANDARD_HANDLING\",\"having\":null,"
	"\"sample\":null,\"qualify\":null},\"named_param_map\":[]}]}";

static void expect_refused(int *failed, struct fixture *f, const char *sql, const char *word)
{
	struct lh_error err = { 0 };
	char *out = NULL;
	int rc = run(f, NULL, NULL, sql, &out, &err);
	if (rc != -1 || strcmp(err.code, "forbidden_function") != 0 || !strstr(err.msg, word))
		fprintf(stderr, "  %.160s\n    -> rc %d %d %s: %s\n", sql, rc, err.status, err.code,
			err.msg);
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "forbidden_function");
	CHECK(strstr(err.msg, word) != NULL);
	CHECK(strstr(err.msg, "not allowed in queries") != NULL);
	free(out);
	lh_error_clear(&err);
}

TEST(queryd_allow_refuses_issue22_point1_serialized_plan)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char *sql = xasprintf("SELECT * FROM json_execute_serialized_sql('%s')", exploit_plan);
	expect_refused(failed, &f, sql, "json_execute_serialized_sql");
	free(sql);
	/* the same, wrapped every way a statement can hide a table function */
	const char *const wraps[] = {
		"SELECT count(*) FROM (SELECT * FROM json_execute_serialized_sql('%s'))",
		"WITH x AS (FROM json_execute_serialized_sql('%s')) SELECT * FROM x",
		"SELECT 1 UNION ALL SELECT * FROM system.main.json_execute_serialized_sql('%s')",
		"SELECT (SELECT count(*) FROM JSON_EXECUTE_SERIALIZED_SQL('%s'))",
		"EXPLAIN SELECT * FROM json_execute_serialized_sql('%s')",
		"EXPLAIN ANALYZE SELECT * FROM json_execute_serialized_sql('%s')",
		"DESCRIBE SELECT * FROM json_execute_serialized_sql('%s')",
		"SUMMARIZE SELECT * FROM json_execute_serialized_sql('%s')",
		"SELECT * FROM range(2) r, LATERAL (SELECT * FROM json_execute_serialized_sql('%s'))",
		"SELECT list_transform([1], x -> (SELECT count(*) FROM json_execute_serialized_sql('%s')))",
	};
	for (size_t i = 0; i < sizeof wraps / sizeof wraps[0]; i++) {
		sql = xasprintf(wraps[i], exploit_plan);
		expect_refused(failed, &f, sql, "json_execute_serialized_sql");
		free(sql);
		if (*failed)
			break;
	}
	expect_refused(failed, &f, "SELECT * FROM arrow_scan(1, 2, 3)", "arrow_scan");
	expect_refused(failed, &f, "SELECT json_serialize_plan('SELECT 1')", "json_serialize_plan");
	expect_refused(failed, &f, "SELECT json_serialize_sql('SELECT 1')", "json_serialize_sql");
	expect_refused(failed, &f, "SELECT json_deserialize_sql('{}')", "json_deserialize_sql");
	expect_refused(failed, &f, "SELECT * FROM query('SELECT 1')", "query");
	expect_refused(failed, &f, "SELECT * FROM query_table('t')", "query_table");
	/* the engine still answers */
	char *out = NULL;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(run(&f, NULL, NULL, "SELECT 41 + 1 AS x", &out, &err), 0);
	CHECK_EQ_STR(out, "x\n42\n");
	free(out);
	fixture_close(&f);
}

TEST(queryd_allow_refuses_issue22_point2_logging_and_settings)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char *planted = xasprintf("%s/planted", f.dir);
	char *sql = xasprintf("SELECT * FROM enable_logging(storage='file', storage_path='%s')", planted);
	expect_refused(failed, &f, sql, "enable_logging");
	free(sql);
	sql = xasprintf("FROM main.enable_logging(level='trace', storage='file', storage_path='%s')",
			planted);
	expect_refused(failed, &f, sql, "enable_logging");
	free(sql);
	const struct {
		const char *sql, *word;
	} bad[] = {
		{ "SELECT * FROM enable_logging('QueryLog')", "enable_logging" },
		{ "SELECT * FROM disable_logging()", "disable_logging" },
		{ "SELECT * FROM truncate_duckdb_logs()", "truncate_duckdb_logs" },
		{ "SELECT * FROM duckdb_logs()", "duckdb_logs" },
		{ "SELECT * FROM duckdb_logs", "duckdb_logs" },
		{ "SELECT message FROM system.main.duckdb_logs", "duckdb_logs" },
		{ "SELECT * FROM \"DUCKDB_LOGS\"", "DUCKDB_LOGS" },
		{ "SELECT * FROM duckdb_logs_parsed('QueryLog')", "duckdb_logs_parsed" },
		{ "SELECT write_log('x')", "write_log" },
		{ "SELECT * FROM duckdb_settings()", "duckdb_settings" },
		{ "SELECT value FROM duckdb_settings() WHERE name = 'allowed_directories'", "duckdb_settings" },
		{ "SELECT * FROM pg_settings", "pg_settings" },
		{ "SELECT * FROM pg_catalog.pg_settings", "pg_settings" },
		{ "SELECT current_setting('temp_directory')", "current_setting" },
		{ "SELECT main.current_setting('temp_directory')", "current_setting" },
		{ "SELECT system.main.CURRENT_SETTING('temp_directory')", "current_setting" },
		{ "SELECT [current_setting(x) FOR x IN ['temp_directory']]", "current_setting" },
		{ "SELECT 1 WHERE current_setting('memory_limit') IS NOT NULL", "current_setting" },
		{ "SELECT getvariable('x')", "getvariable" },
		{ "SHOW VARIABLES", "VARIABLES" },
		{ "SELECT * FROM duckdb_memory()", "duckdb_memory" },
		{ "SELECT * FROM duckdb_temporary_files()", "duckdb_temporary_files" },
		{ "SELECT * FROM duckdb_databases()", "duckdb_databases" },
		{ "SELECT * FROM duckdb_databases", "duckdb_databases" },
		{ "SELECT * FROM duckdb_extensions()", "duckdb_extensions" },
		{ "SELECT * FROM duckdb_secrets()", "duckdb_secrets" },
		{ "SELECT * FROM duckdb_prepared_statements()", "duckdb_prepared_statements" },
		{ "SELECT * FROM pg_prepared_statements", "pg_prepared_statements" },
		{ "SELECT * FROM duckdb_connection_count()", "duckdb_connection_count" },
		{ "SELECT * FROM pragma_version()", "pragma_version" },
		{ "SELECT * FROM pragma_database_list", "pragma_database_list" },
		{ "SELECT * FROM checkpoint()", "checkpoint" },
		{ "SELECT * FROM force_checkpoint()", "force_checkpoint" },
		{ "SELECT nextval('s')", "nextval" },
		{ "SELECT * FROM test_all_types()", "test_all_types" },
		{ "SELECT finalize(sum(1) EXPORT_STATE)", "finalize" },
		{ "SELECT combine(NULL, NULL)", "combine" },
		{ "SELECT sum(range) EXPORT_STATE FROM range(3)", "EXPORT_STATE" },
		{ "SELECT list_aggregate([1], 'sum_no_overflow')", "sum_no_overflow" },
		{ "SELECT current_connection_id()", "current_connection_id" },
		{ "SELECT * FROM glob('*')", "glob" },
		{ "SELECT * FROM read_parquet('x.parquet')", "read_parquet" },
		{ "SELECT * FROM read_csv('/etc/passwd')", "read_csv" },
		{ "SELECT * FROM parquet_metadata('x.parquet')", "parquet_metadata" },
		{ "SELECT * FROM sniff_csv('x.csv')", "sniff_csv" },
		{ "SELECT * FROM 'x.parquet'", "x.parquet" },
		{ "SELECT * FROM '/etc/passwd'", "/etc/passwd" },
		/* a replacement scan joins catalog.schema.table into a file name */
		{ "SELECT * FROM x.csv", "x.csv" },
		{ "SELECT * FROM main.csv", "main.csv" },
		{ "SELECT * FROM information_schema.parquet", "information_schema.parquet" },
		{ "SELECT * FROM a.b.json", "a.b.json" },
		{ "SELECT * FROM \"/etc/passwd\".csv", "/etc/passwd" },
		{ "SELECT * FROM memory.main.duckdb_tables", "memory.main.duckdb_tables" },
		{ "SELECT * FROM histogram(t, a)", "histogram" },
		/* view definitions name the cache's files */
		{ "SELECT sql FROM duckdb_views()", "duckdb_views" },
		{ "SELECT sql FROM duckdb_views", "duckdb_views" },
		{ "SELECT sql FROM sqlite_master", "sqlite_master" },
		{ "SELECT view_definition FROM information_schema.views", "views" },
		{ "SELECT definition FROM pg_views", "pg_views" },
		{ "SELECT pg_get_viewdef(1)", "pg_get_viewdef" },
		{ "SELECT no_such_function(1)", "no_such_function" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0] && !*failed; i++)
		expect_refused(failed, &f, bad[i].sql, bad[i].word);
	/* nothing was planted, and the next query runs */
	struct stat st;
	CHECK(stat(planted, &st) != 0);
	char *out = NULL;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(run(&f, NULL, NULL, "SELECT 1 AS one", &out, &err), 0);
	CHECK_EQ_STR(out, "one\n1\n");
	free(out);
	free(planted);
	fixture_close(&f);
}

/* Ordinary analytics, metadata and the read-only statement kinds still run. */
TEST(queryd_allow_ordinary_queries_run)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char path[128];
	snprintf(path, sizeof path, "%s/p.parquet", f.dir);
	CHECK(write_parquet(&f, "SELECT range AS id, 'name' || range AS name, range % 3 AS dept, "
			    "range * 1.5 AS salary, DATE '2024-01-01' + range::INT AS day, "
			    "'{\"k\": ' || range || '}' AS doc, [range, range + 1] AS l FROM range(20)",
			    path) == 0);
	const char *const good[] = {
		"SELECT count(*), sum(salary), avg(salary), min(day), max(name) FROM people",
		"SELECT dept, count(*) FILTER (WHERE salary > 5), string_agg(name, ',' ORDER BY id) "
		"FROM people GROUP BY ALL ORDER BY ALL",
		"SELECT id, row_number() OVER w, rank() OVER w, dense_rank() OVER w, lag(id) OVER w, "
		"lead(id, 2, 0) OVER w, first_value(id) OVER w, last_value(id) OVER w, "
		"nth_value(id, 2) OVER w, ntile(4) OVER w, percent_rank() OVER w, cume_dist() OVER w, "
		"sum(salary) OVER (PARTITION BY dept ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
		"FROM people WINDOW w AS (ORDER BY id)",
		"SELECT * FROM people QUALIFY row_number() OVER (PARTITION BY dept ORDER BY salary DESC) = 1",
		"WITH a AS (SELECT * FROM people WHERE dept = 1), b AS (SELECT id FROM a) "
		"SELECT count(*) FROM a JOIN b USING (id)",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r",
		"SELECT list_transform(l, x -> x * 2), list_filter(l, x -> x > 3), [x + 1 FOR x IN l], "
		"list_sum(l), len(l), l[1], list_aggregate(l, 'max'), unnest(l) FROM people",
		"SELECT regexp_matches(name, 'e[0-9]'), regexp_extract(name, '[0-9]+'), "
		"regexp_replace(name, 'a', 'b', 'g'), name ~~ 'n%', name ILIKE 'N%', name SIMILAR TO 'n.*', "
		"upper(name) || lower(name), substr(name, 2, 3), split_part(name, 'm', 1) FROM people",
		"SELECT strftime(day, '%Y-%m'), date_trunc('month', day), extract(year FROM day), "
		"day + INTERVAL 3 DAY, date_diff('day', day, DATE '2025-01-01'), current_date, now() FROM people",
		"SELECT json_extract(doc, '$.k'), json_extract_string(doc, '$.k'), doc->>'$.k', "
		"json_object('a', id), to_json(l), json_array_length('[1,2]') FROM people",
		"SELECT {'a': id, 'b': name} AS s, map([1], [name]), struct_pack(x := 1).x FROM people",
		"SELECT CASE WHEN id > 3 THEN 'big' ELSE 'small' END, coalesce(NULL, id), nullif(id, 1), "
		"greatest(id, 3), id::VARCHAR, TRY_CAST(name AS INT), id BETWEEN 1 AND 4, id IN (1, 2) "
		"FROM people",
		"SELECT median(salary), quantile_cont(salary, 0.9), mode(dept), approx_count_distinct(id), "
		"stddev(salary), corr(id, salary), arg_max(name, salary), list(id ORDER BY id DESC), "
		"histogram(dept) FROM people",
		"SELECT * FROM people WHERE id IN (SELECT id FROM people WHERE dept = 2) AND EXISTS "
		"(SELECT 1) ORDER BY id LIMIT 3 OFFSET 1",
		"SELECT dept FROM people UNION SELECT dept FROM people EXCEPT SELECT 7 INTERSECT SELECT 1",
		"SELECT * FROM people PIVOT (sum(salary) FOR dept IN (0, 1, 2))",
		"UNPIVOT (SELECT id, dept, salary FROM people) ON dept, salary INTO NAME k VALUE v",
		"SELECT * FROM range(3) t(x), generate_series(1, 2) g(y), unnest([1, 2]) u(z)",
		"SELECT COLUMNS('sal.*') FROM people",
		"SELECT * EXCLUDE (doc) REPLACE (id + 1 AS id) FROM people USING SAMPLE 5 ROWS",
		"FROM people SELECT id WHERE id < 2",
		"VALUES (1, 'a'), (2, 'b')",
		"TABLE people",
		"SUMMARIZE people",
		"SUMMARIZE SELECT id FROM people",
		"DESCRIBE people",
		"DESCRIBE SELECT 1 AS a",
		"SHOW TABLES",
		"SHOW ALL TABLES",
		"SHOW people",
		"EXPLAIN SELECT count(*) FROM people",
		"EXPLAIN ANALYZE SELECT count(*) FROM people",
		"SELECT table_name, column_name, data_type FROM information_schema.columns",
		"SELECT * FROM information_schema.tables",
		"SELECT * FROM duckdb_columns() WHERE table_name = 'people'",
		"SELECT * FROM duckdb_tables",
		"SELECT count(*) FROM main.duckdb_tables, pg_catalog.pg_class, system.information_schema.schemata",
		"SELECT count(*) FROM temp.main.people JOIN temp.people USING (id)",
		"SELECT function_name FROM duckdb_functions() LIMIT 1",
		"SELECT typeof(id), version(), current_user, user, current_schema(), hash(name), md5(name), "
		"gen_random_uuid() IS NOT NULL, random() < 2 FROM people LIMIT 1",
		"SELECT levenshtein(name, 'x'), jaro_winkler_similarity(name, 'x'), format('{}-{}', id, name), "
		"printf('%d', id), repeat('ab', 2), lpad(name, 10, '*'), reverse(name) FROM people",
		"SELECT id // 2, id % 2, 2 ** 3, id << 1, abs(-id), round(salary, 1), sqrt(id), ln(id + 1) "
		"FROM people",
		"SELECT * FROM people t1 ASOF JOIN people t2 ON t1.dept = t2.dept AND t1.id >= t2.id",
		"SELECT * FROM json_each('{\"a\": 1}')",
		"WITH views AS (SELECT 1 AS v) SELECT * FROM views",
		"SELECT table_name, table_type FROM information_schema.tables",
		"SELECT 1 -- a trailing comment",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct lh_error err = { 0 };
		char *out = NULL;
		int rc = run(&f, "people", path, good[i], &out, &err);
		if (rc)
			fprintf(stderr, "  %.200s\n    -> %d %s: %s\n", good[i], err.status, err.code, err.msg);
		CHECK_EQ_INT(rc, 0);
		CHECK(strlen(out) > 0);
		free(out);
		lh_error_clear(&err);
	}
	fixture_close(&f);
}

/* A dataset may carry the name of a DuckDB system view: queryd's own view is
 * what an unqualified name finds, and it is allowed; DuckDB's stays refused. */
TEST(queryd_allow_dataset_named_like_a_system_view)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char path[128];
	snprintf(path, sizeof path, "%s/s.parquet", f.dir);
	CHECK(write_parquet(&f, "SELECT 'mine' AS name", path) == 0);
	struct lh_error err = { 0 };
	char *out = NULL;
	CHECK_EQ_INT(run(&f, "pg_settings", path, "SELECT name FROM pg_settings", &out, &err), 0);
	CHECK_EQ_STR(out, "name\nmine\n");
	free(out);
	CHECK_EQ_INT(run(&f, "pg_settings", path, "SELECT name FROM pg_catalog.pg_settings", &out,
			 &err), -1);
	CHECK_EQ_STR(err.code, "forbidden_function");
	lh_error_clear(&err);
	free(out);
	/* a CTE is not a dataset: the name stays refused */
	CHECK_EQ_INT(run(&f, NULL, NULL, "WITH duckdb_logs AS (SELECT 1) SELECT * FROM duckdb_logs",
			 &out, &err), -1);
	CHECK_EQ_STR(err.code, "forbidden_function");
	lh_error_clear(&err);
	free(out);
	fixture_close(&f);
}

/* The sandbox beneath the allow-list still holds: queryd's own view over a
 * file outside the cache directory is refused by DuckDB. */
TEST(queryd_allow_sandbox_still_beneath)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	char *out = NULL;
	CHECK_EQ_INT(run(&f, "t", "/etc/passwd", "SELECT * FROM t", &out, &err), -1);
	CHECK(strstr(err.msg, "Permission Error") != NULL);
	CHECK(strstr(out, "root:") == NULL);
	lh_error_clear(&err);
	free(out);
	fixture_close(&f);
}
