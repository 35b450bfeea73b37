"""SQL that finds the datasets, and errors that point at them (issue 12,
point 3), and the query path's catalog snapshot staying fresh (point 7).

Runs `lakehouse serve` and talks to /v1/query like a new user, a BI tool or
an AI agent would.
"""
import time

from lhtest import ServerTest, request, request_json

CANDIDATES = b"candidate_id,full_name,rate\n1,Ada,85.5\n2,Grace,99.0\n"
TIMESHEETS = b"timesheet_id,hours\n1,8\n2,7\n3,9\n"


class Discovery(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        self.ingest("candidates", CANDIDATES)
        self.ingest("timesheets", TIMESHEETS)

    def ingest(self, name, data, mode=None):
        url = self.srv.url + "/v1/ingest?name=" + name + ("&mode=" + mode if mode else "")
        st, _, body = request("POST", url, data, {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, body)

    def query(self, sql):
        return request_json("POST", self.srv.url + "/v1/query", {"sql": sql})

    def rows(self, sql):
        st, _, obj = self.query(sql)
        self.assertEqual(st, 200, obj)
        return obj["rows"]

    def queryd_health(self):
        _, _, gw = request_json("GET", self.srv.url + "/health")
        _, _, h = request_json("GET", gw["services"]["queryd"]["url"] + "/health")
        return h

    def test_show_tables_lists_every_dataset(self):
        # Before: an empty list (only the datasets a query named had views).
        self.assertEqual(self.rows("SHOW TABLES"), [["candidates"], ["timesheets"]])

    def test_information_schema_without_fetching_objects(self):
        before = self.queryd_health()["cache"]["fetches"]
        self.assertEqual(
            self.rows("SELECT table_name FROM information_schema.tables ORDER BY 1"),
            [["candidates"], ["timesheets"]])
        self.assertEqual(
            self.rows("SELECT column_name, data_type FROM information_schema.columns "
                      "WHERE table_name = 'timesheets' ORDER BY ordinal_position"),
            [["timesheet_id", "BIGINT"], ["hours", "BIGINT"]])
        # The columns came from the manifests: no Parquet object was fetched.
        self.assertEqual(self.queryd_health()["cache"]["fetches"], before)

    def test_describe_a_dataset(self):
        cols = [r[:2] for r in self.rows("DESCRIBE candidates")]
        self.assertEqual(cols, [["candidate_id", "BIGINT"], ["full_name", "VARCHAR"],
                                ["rate", "DOUBLE"]])

    def test_unknown_table_suggests_a_dataset(self):
        st, _, obj = self.query("SELECT * FROM candidatse")
        self.assertEqual(st, 400, obj)
        self.assertIn('"candidates"', obj["error"])
        # not DuckDB's guess among its system views
        for system in ("pg_", "sqlite_master", "duckdb_"):
            self.assertNotIn(system, obj["error"])

    def test_unquoted_version_is_told_to_quote_it(self):
        st, _, obj = self.query("SELECT * FROM timesheets@1")
        self.assertEqual(st, 400, obj)
        self.assertIn('"timesheets@1"', obj["error"])
        self.assertIn("quote", obj["error"])

    def test_version_zero_is_unknown_version(self):
        for ref in ('"timesheets@0"', '"timesheets@007"'):
            st, _, obj = self.query("SELECT * FROM " + ref)
            self.assertEqual(st, 404, obj)
            self.assertEqual(obj["code"], "unknown_version", obj)

    def test_syntax_errors_carry_duckdbs_message(self):
        st, _, obj = self.query("SELEC 1")
        self.assertEqual((st, obj["code"]), (400, "sql_error"), obj)
        self.assertIn('syntax error at or near "SELEC"', obj["error"])
        st, _, obj = self.query("SELECT (1")
        self.assertEqual((st, obj["code"]), (400, "sql_error"), obj)
        self.assertIn("syntax error", obj["error"])
        # statements queryd refuses are still refused in its own words
        st, _, obj = self.query("DROP TABLE candidates")
        self.assertEqual((st, obj["code"]), (400, "forbidden_statement"), obj)

    def test_the_next_query_sees_a_new_ingest(self):
        self.assertEqual(self.rows("SELECT count(*) FROM timesheets"), [[3]])
        self.ingest("timesheets", b"timesheet_id,hours\n4,6\n", mode="append")
        # the very next query, on the same (warm) worker
        self.assertEqual(self.rows("SELECT count(*) FROM timesheets"), [[4]])
        self.ingest("placements", b"placement_id\n1\n")
        self.assertEqual(self.rows("SHOW TABLES"),
                         [["candidates"], ["placements"], ["timesheets"]])
        self.assertEqual(self.rows("SELECT count(*) FROM placements"), [[1]])
        st, _, _ = request("DELETE", self.srv.url + "/v1/catalog/manifest/placements")
        self.assertIn(st, (200, 204))
        self.assertEqual(self.rows("SHOW TABLES"), [["candidates"], ["timesheets"]])
        st, _, obj = self.query("SELECT * FROM placements")
        self.assertEqual(st, 400, obj)

    def test_manifests_are_fetched_once_per_version(self):
        for _ in range(5):
            self.rows("SELECT count(*) FROM candidates")
        fetched = self.queryd_health()["manifest_fetches"]
        for _ in range(5):
            self.rows("SELECT count(*) FROM candidates")
            self.rows('SELECT count(*) FROM "candidates@1"')
        # one more for "candidates@1"'s manifest at most (it is the latest's)
        self.assertLessEqual(self.queryd_health()["manifest_fetches"], fetched + 1)
