"""Functions by allow-list (issue 22 points 1 and 2, ADR 0113).

A user's statement may call only functions known to be safe, checked on
DuckDB's own parse tree before DuckDB binds it. Each reproduction of the
security probe goes through the gateway's POST /v1/query of `lakehouse
serve` and must be refused with 400 "forbidden_function" and plain words,
with every service still answering afterwards; ordinary analytics keep
working.
"""
import glob
import json
import os

from lhtest import ServerTest, request, request_json

CSV = (b"id,name,dept,rate,hired,doc\n"
       b"1,Ada,eng,85.5,2024-01-02,\"{\"\"k\"\": 1}\"\n"
       b"2,Grace,eng,120.0,2023-05-06,\"{\"\"k\"\": 2}\"\n"
       b"3,Linus,ops,99.0,2022-07-08,\"{\"\"k\"\": 3}\"\n")

# A serialized plan whose arrow_scan gets POINTER constants (0x41414141):
# before the allow-list, DuckDB called that address while binding it.
_PTR = ('{"class":"CONSTANT","type":"VALUE_CONSTANT","alias":"","query_location":25,'
        '"value":{"type":{"id":"POINTER","type_info":null},"is_null":false,"value":1094795585}}')
EXPLOIT_PLAN = (
    '{"error":false,"statements":[{"node":{"type":"SELECT_NODE","modifiers":[],'
    '"cte_map":{"map":[]},"select_list":[{"class":"STAR","type":"STAR","alias":"",'
    '"query_location":7,"relation_name":"","exclude_list":[],"replace_list":[],'
    '"columns":false,"expr":null,"qualified_exclude_list":[],"rename_list":[]}],'
    '"from_table":{"type":"TABLE_FUNCTION","alias":"","sample":null,"query_location":14,'
    '"function":{"class":"FUNCTION","type":"FUNCTION","alias":"","query_location":14,'
    '"function_name":"arrow_scan","schema":"","children":[' + ",".join([_PTR] * 3) + '],'
    '"filter":null,"order_bys":{"type":"ORDER_MODIFIER","orders":[]},"distinct":false,'
    '"is_operator":false,"export_state":false,"catalog":""},"column_name_alias":[],'
    '"with_ordinality":"WITHOUT_ORDINALITY"},"where_clause":null,"group_expressions":[],'
    '"group_sets":[],"aggregate_handling":"STANDARD_HANDLING","having":null,'
    '"sample":null,"qualify":null},"named_param_map":[]}]}')
EXPLOIT_SQL = "SELECT * FROM json_execute_serialized_sql('%s')" % EXPLOIT_PLAN


class SqlAllowTest(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        st, _, body = request("POST", self.srv.url + "/v1/ingest?name=people", CSV,
                              {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, body)

    def query(self, sql, **extra):
        body = {"sql": sql}
        body.update(extra)
        return request("POST", self.srv.url + "/v1/query", body, timeout=120)

    def query_json(self, sql, **extra):
        return request_json("POST", self.srv.url + "/v1/query", dict(sql=sql, **extra),
                            timeout=120)

    def assertRefused(self, sql, word):
        st, _, data = self.query(sql)
        self.assertEqual(st, 400, data[:400])
        obj = json.loads(data)
        self.assertEqual(obj["code"], "forbidden_function", obj)
        self.assertIn(word, obj["error"])
        self.assertIn("not allowed in queries", obj["error"])
        if self.srv.data_dir not in sql:   # no path the caller did not write
            self.assertNotIn(self.srv.data_dir.encode(), data)
        return obj

    def assertAlive(self):
        st, _, obj = self.query_json("SELECT count(*) AS n FROM people")
        self.assertEqual((st, obj.get("rows")), (200, [[3]]), obj)
        st, _, _ = request("GET", self.srv.url + "/health")
        self.assertEqual(st, 200)
        st, _, _ = request("GET", self.srv.url + "/v1/catalog/datasets")
        self.assertEqual(st, 200)

    def cache_files(self):
        return [p for p in glob.glob(os.path.join(self.srv.data_dir, "**", "*.parquet"),
                                     recursive=True) if os.sep + "cache" + os.sep in p]

    # -- issue 22 point 1 -------------------------------------------------------
    def test_serialized_plan_with_pointers_is_refused(self):
        obj = self.assertRefused(EXPLOIT_SQL, "json_execute_serialized_sql")
        self.assertIn("serialized plan", obj["error"])
        for fmt in ("csv", "ndjson", "parquet"):
            with self.subTest(fmt=fmt):
                st, _, data = self.query(EXPLOIT_SQL, format=fmt)
                self.assertEqual(st, 400, data[:300])
        for sql in ["SELECT * FROM arrow_scan(1, 2, 3)",
                    "SELECT json_serialize_plan('SELECT 1')",
                    "SELECT * FROM query('SELECT 1')",
                    "SELECT * FROM query_table('people')",
                    "EXPLAIN ANALYZE " + EXPLOIT_SQL,
                    "WITH x AS (" + EXPLOIT_SQL + ") SELECT * FROM x"]:
            with self.subTest(sql=sql[:60]):
                st, _, obj = self.query_json(sql)
                self.assertEqual((st, obj["code"]), (400, "forbidden_function"), obj)
        self.assertAlive()

    # -- issue 22 point 2 -------------------------------------------------------
    def test_logging_cannot_be_enabled(self):
        self.assertAlive()   # fills the cache
        files = self.cache_files()
        self.assertTrue(files, "no cached Parquet under %s" % self.srv.data_dir)
        target = files[0]
        elsewhere = os.path.join(self.srv.data_dir, "planted")
        for path in (target, elsewhere):
            self.assertRefused("SELECT * FROM enable_logging(storage='file', storage_path='%s')"
                               % path, "enable_logging")
            self.assertRefused("FROM enable_logging(level='trace', storage='file', "
                               "storage_path='%s')" % path, "enable_logging")
        self.assertRefused("SELECT * FROM enable_logging('QueryLog')", "enable_logging")
        self.query_json("SELECT 'a secret of another user' AS s")
        self.assertRefused("SELECT * FROM duckdb_logs()", "duckdb_logs")
        self.assertRefused("SELECT message FROM duckdb_logs", "duckdb_logs")
        self.assertRefused("SELECT * FROM disable_logging()", "disable_logging")
        self.assertRefused("SELECT * FROM truncate_duckdb_logs()", "truncate_duckdb_logs")
        self.assertTrue(os.path.isfile(target))
        self.assertFalse(os.path.exists(elsewhere))
        for _ in range(3):   # whichever worker answers
            self.assertAlive()

    def test_settings_and_paths_are_not_readable(self):
        for sql, word in [("SELECT * FROM duckdb_settings()", "duckdb_settings"),
                          ("SELECT value FROM duckdb_settings() WHERE name = 'allowed_directories'",
                           "duckdb_settings"),
                          ("SELECT current_setting('temp_directory')", "current_setting"),
                          ("SELECT main.current_setting('temp_directory')", "current_setting"),
                          ("SELECT * FROM pg_settings", "pg_settings"),
                          ("SELECT * FROM duckdb_temporary_files()", "duckdb_temporary_files"),
                          ("SELECT * FROM duckdb_databases()", "duckdb_databases"),
                          ("SELECT * FROM duckdb_memory()", "duckdb_memory"),
                          ("SELECT * FROM duckdb_extensions()", "duckdb_extensions"),
                          ("SELECT * FROM pragma_version()", "pragma_version"),
                          ("SELECT * FROM glob('*')", "glob"),
                          # a view's SQL names its cached files
                          ("SELECT sql FROM duckdb_views() WHERE view_name = 'people'",
                           "duckdb_views"),
                          ("SELECT view_definition FROM information_schema.views", "views"),
                          ("SELECT sql FROM sqlite_master", "sqlite_master"),
                          ("SELECT * FROM read_parquet('x.parquet')", "read_parquet"),
                          ("SELECT * FROM 'x.parquet'", "x.parquet"),
                          ("SELECT no_such_function(1)", "no_such_function")]:
            with self.subTest(sql=sql):
                self.assertRefused(sql, word)
        # reading a cached file by its path is refused too
        self.assertAlive()
        self.assertRefused("SELECT * FROM '%s'" % self.cache_files()[0], "reading a file")
        self.assertRefused("SELECT * FROM read_blob('%s')" % self.cache_files()[0], "read_blob")

    # -- what keeps working -----------------------------------------------------
    def test_ordinary_analytics_run(self):
        for sql in [
                "SELECT dept, count(*), avg(rate), string_agg(name, ',' ORDER BY id) "
                "FROM people GROUP BY ALL ORDER BY ALL",
                "SELECT name, row_number() OVER (PARTITION BY dept ORDER BY rate DESC), "
                "lag(rate) OVER (ORDER BY id), sum(rate) OVER (ORDER BY id) FROM people",
                "WITH e AS (SELECT * FROM people WHERE dept = 'eng') SELECT count(*) FROM e",
                "SELECT [x * 2 FOR x IN [id, id + 1]], list_transform([id], x -> x + 1), "
                "list_aggregate([rate], 'max') FROM people",
                "SELECT regexp_extract(name, '[A-Z]'), regexp_replace(name, 'a', 'b'), "
                "name ILIKE 'a%' FROM people",
                "SELECT strftime(hired, '%Y-%m'), date_trunc('year', hired), "
                "hired + INTERVAL 1 DAY FROM people",
                "SELECT json_extract(doc, '$.k'), doc->>'$.k' FROM people",
                'SELECT * FROM "people@1"',
                "SUMMARIZE people",
                "DESCRIBE people",
                "EXPLAIN SELECT count(*) FROM people",
                "SELECT * FROM range(3) t(x) CROSS JOIN unnest(['a', 'b'])",
        ]:
            with self.subTest(sql=sql[:60]):
                st, _, obj = self.query_json(sql)
                self.assertEqual(st, 200, obj)
                self.assertTrue(obj["rows"], obj)
        # queryd makes views only for the datasets a statement names
        st, _, obj = self.query_json("SHOW TABLES")
        self.assertEqual(st, 200, obj)
        st, _, obj = self.query_json("SELECT column_name FROM information_schema.columns "
                                     "WHERE table_name = 'people' AND EXISTS "
                                     "(SELECT 1 FROM people) ORDER BY ordinal_position")
        self.assertEqual([r[0] for r in obj["rows"]], ["id", "name", "dept", "rate", "hired", "doc"])
