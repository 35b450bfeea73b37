"""Explicit schema evolution (issue 15 point 3, SPEC 16, ADR 0173):
POST /ingest?evolve=true accepts added, removed, reordered columns and
widened types as a new version with a new fingerprint; the latest version
reads its older objects with its schema (missing columns null, widened
types cast); every older version reads with its own; narrowing is refused.
Through `lakehouse serve` (the gateway), the CLI's --evolve and the upload
page's checkbox."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from lhtest import BINARY, ServerTest, request, request_json


class EvolveTest(ServerTest):

    def setUp(self):
        self.srv = self.start("serve")

    def ingest(self, csv, name, mode="replace", evolve=None):
        q = "/v1/ingest?name=%s&mode=%s" % (name, mode)
        if evolve is not None:
            q += "&evolve=" + evolve
        return request_json("POST", self.srv.url + q, body=csv,
                            headers={"Content-Type": "text/csv"})

    def ok(self, csv, name, mode="replace", evolve=None):
        st, _, obj = self.ingest(csv, name, mode, evolve)
        self.assertEqual(st, 200, obj)
        return obj

    def query(self, sql):
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", body={"sql": sql})
        self.assertEqual(st, 200, obj)
        return obj

    def cols(self, sql):
        return [(c["name"], c["type"]) for c in self.query(sql)["columns"]]

    def test_append_with_an_added_column(self):
        v1 = self.ok(b"id,name\n1,Ada\n2,Grace\n", "people")
        fp1 = v1["manifest"]["schema_fingerprint"]
        self.assertIsNone(v1["evolved"])
        # without evolve: drift, the 409 body as it always was
        st, _, drift = self.ingest(b"id,name,city\n3,Linus,Helsinki\n", "people", "append")
        self.assertEqual(st, 409, drift)
        self.assertEqual(drift["code"], "schema_drift")
        self.assertEqual(drift["diff"], [{"column": "city", "change": "added",
                                          "old_type": None, "new_type": "utf8"}])
        obj = self.ok(b"id,name,city\n3,Linus,Helsinki\n", "people", "append", "true")
        m = obj["manifest"]
        self.assertEqual(m["version"], 2)
        self.assertNotEqual(m["schema_fingerprint"], fp1)
        self.assertEqual(m["row_count"], 3)
        self.assertEqual(obj["evolved"]["existing_fingerprint"], fp1)
        self.assertEqual(obj["evolved"]["new_fingerprint"], m["schema_fingerprint"])
        self.assertEqual(obj["evolved"]["diff"], drift["diff"])
        # the old object keeps the schema it was written with
        self.assertEqual(m["objects"][0]["schema_fingerprint"], fp1)
        self.assertNotIn("schema_fingerprint", m["objects"][1])
        self.assertEqual([c["name"] for c in m["object_schemas"][fp1]], ["id", "name"])
        self.assertTrue(m["schema"][2]["nullable"])
        # the latest: old rows have city NULL
        r = self.query("SELECT id, name, city FROM people ORDER BY id")
        self.assertEqual(r["rows"], [[1, "Ada", None], [2, "Grace", None],
                                     [3, "Linus", "Helsinki"]])
        # version 1 reads with its own schema
        self.assertEqual(self.cols('SELECT * FROM "people@1"'),
                         [("id", "BIGINT"), ("name", "VARCHAR")])
        self.assertEqual(self.query('SELECT count(*) FROM "people@1"')["rows"], [[2]])
        # a plain append after the evolution: same fingerprint, no evolve needed
        obj = self.ok(b"id,name,city\n4,Barbara,Boston\n", "people", "append")
        self.assertIsNone(obj["evolved"])
        self.assertEqual(obj["manifest"]["objects"][0]["schema_fingerprint"], fp1)
        r = self.query("SELECT count(*), count(city) FROM people")
        self.assertEqual(r["rows"], [[4, 2]])
        # exports: CSV of the latest
        st, _, body = request("POST", self.srv.url + "/v1/query",
                              body={"sql": "SELECT * FROM people ORDER BY id", "format": "csv"})
        self.assertEqual(st, 200)
        self.assertEqual(body.decode().splitlines()[:2], ["id,name,city", "1,Ada,"])
        st, _, body = request("POST", self.srv.url + "/v1/query",
                              body={"sql": "SELECT * FROM people", "format": "parquet"})
        self.assertEqual(st, 200)
        self.assertEqual(body[:4], b"PAR1")

    def test_removed_and_reordered_columns(self):
        self.ok(b"id,name,zip\n1,Ada,02134\n", "cands")
        obj = self.ok(b"name,id\nGrace,2\n", "cands", "append", "true")
        changes = sorted((d["column"], d["change"]) for d in obj["evolved"]["diff"])
        self.assertIn(("zip", "removed"), changes)
        self.assertEqual(self.cols("SELECT * FROM cands"), [("name", "VARCHAR"), ("id", "BIGINT")])
        r = self.query("SELECT * FROM cands ORDER BY id")
        self.assertEqual(r["rows"], [["Ada", 1], ["Grace", 2]])
        r = self.query('SELECT * FROM "cands@1"')
        self.assertEqual(r["rows"], [[1, "Ada", "02134"]])

    def test_int64_widened_to_float64_and_any_to_utf8(self):
        self.ok(b"id,hours,code\n1,40,7\n", "ts")
        obj = self.ok(b"id,hours,code\n2,38.5,A7\n", "ts", "append", "true")
        self.assertEqual(sorted((d["column"], d["old_type"], d["new_type"])
                                for d in obj["evolved"]["diff"]),
                         [("code", "int64", "utf8"), ("hours", "int64", "float64")])
        self.assertEqual(self.cols("SELECT * FROM ts"),
                         [("id", "BIGINT"), ("hours", "DOUBLE"), ("code", "VARCHAR")])
        r = self.query("SELECT id, hours, code FROM ts ORDER BY id")
        self.assertEqual(r["rows"], [[1, 40.0, "7"], [2, 38.5, "A7"]])
        self.assertEqual(self.query("SELECT sum(hours) FROM ts")["rows"], [[78.5]])
        self.assertEqual(self.cols('SELECT * FROM "ts@1"'),
                         [("id", "BIGINT"), ("hours", "BIGINT"), ("code", "BIGINT")])

    def test_narrowing_is_refused_even_with_evolve(self):
        self.ok(b"id,d\n1,2026-01-05\n", "dated")
        # d: date32 -> int64 does not widen; with a new column the file is
        # no cast, and evolve refuses it saying why
        st, _, obj = self.ingest(b"id,d,x\n2,5,y\n", "dated", "append", "true")
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "schema_narrowed")
        self.assertIn('column "d"', obj["error"])
        self.assertIn("date32 to int64", obj["error"])
        self.assertEqual(obj["narrowed"], [{"column": "d", "old_type": "date32",
                                            "new_type": "int64"}])
        self.assertTrue(any(e["column"] == "x" for e in obj["diff"]))
        self.assertIn("new_schema", obj)
        self.assertEqual(self.query("SELECT count(*) FROM dated")["rows"], [[1]])
        # float64 -> int64 (a register that asks for it: declared types can)
        v1 = self.ok(b"id,rate\n1,1.5\n", "rates")["manifest"]
        schema = [{"name": "id", "type": "int64", "nullable": False},
                  {"name": "rate", "type": "int64", "nullable": False}]
        reg = {"name": "rates", "schema": schema, "mode": "append", "evolve": True,
               "schema_fingerprint": self.fingerprint([("id", "int64"), ("rate", "int64")]),
               "objects": [{"key": "datasets/rates/x/y.parquet", "size": 10, "row_count": 1,
                            "content_sha256": "ab" * 32}], "row_count": 1}
        st, _, obj = request_json("POST", self.srv.url + "/v1/catalog/register", body=reg)
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "schema_narrowed")
        self.assertIn("float64 to int64", obj["error"])
        self.assertEqual(obj["existing_fingerprint"], v1["schema_fingerprint"])

    @staticmethod
    def fingerprint(cols):
        import hashlib
        h = hashlib.sha256()
        for name, typ in cols:
            h.update(name.encode() + b"\x1f" + typ.encode() + b"\x1e")
        return "sha256:" + h.hexdigest()

    def test_columns_that_fit_are_cast_before_evolving(self):
        self.ok(b"id,code,hours\n1,A7,40.5\n", "codes")
        # code holds only digits now and hours whole numbers: they fit the
        # dataset's types and are read with them; only x is a change
        obj = self.ok(b"id,code,hours,x\n2,42,38,y\n", "codes", "append", "true")
        self.assertEqual(obj["cast"], [{"column": "code", "from": "int64", "to": "utf8"},
                                       {"column": "hours", "from": "int64", "to": "float64"}])
        self.assertEqual(obj["evolved"]["diff"], [{"column": "x", "change": "added",
                                                   "old_type": None, "new_type": "utf8"}])
        r = self.query("SELECT id, code, hours, x FROM codes ORDER BY id")
        self.assertEqual(r["rows"], [[1, "A7", 40.5, None], [2, "42", 38.0, "y"]])

    def test_replace_mode(self):
        v1 = self.ok(b"id,name\n1,Ada\n", "rep")
        obj = self.ok(b"id,title,name\n5,Dr,Grace\n", "rep", "replace", "true")
        m = obj["manifest"]
        self.assertEqual((m["version"], m["row_count"]), (2, 1))
        self.assertNotEqual(m["schema_fingerprint"], v1["manifest"]["schema_fingerprint"])
        self.assertNotIn("object_schemas", m)
        self.assertEqual(self.query("SELECT * FROM rep")["rows"], [[5, "Dr", "Grace"]])
        self.assertEqual(self.query('SELECT * FROM "rep@1"')["rows"], [[1, "Ada"]])

    def test_bad_evolve_value(self):
        st, _, obj = self.ingest(b"id\n1\n", "bad", "replace", "maybe")
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj.get("field"), "evolve")

    def test_cli_evolve_flag(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        a, b = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
        with open(a, "w") as f:
            f.write("id,name\n1,Ada\n")
        with open(b, "w") as f:
            f.write("id,name,city\n2,Grace,NYC\n")
        env = dict(os.environ, LAKEHOUSE_URL=self.srv.url)
        env.pop("LAKEHOUSE_TOKEN", None)

        def cli(*args):
            return subprocess.run([BINARY] + list(args), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(cli("ingest", "clip", a).returncode, 0)
        p = cli("ingest", "clip", b, "--mode", "append")
        self.assertEqual(p.returncode, 1, p.stderr)
        p = cli("ingest", "clip", b, "--mode", "append", "--evolve")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"evolved", p.stdout + p.stderr)
        self.assertIn(b"city", p.stdout + p.stderr)
        self.assertEqual(self.query("SELECT count(*), count(city) FROM clip")["rows"], [[2, 1]])
        # a narrowing: refused with the column and why, exit 1
        c = os.path.join(tmp, "c.csv")
        with open(c, "w") as f:
            f.write("id,name,city\n3,Linus,1.5\n")
        with open(a, "w") as f:
            f.write("id,rate\n1,1.5\n")
        self.assertEqual(cli("ingest", "rates", a).returncode, 0)
        with open(b, "w") as f:
            f.write("id,rate\n2,2\n3,x\n")
        p = cli("ingest", "rates", b, "--evolve")
        self.assertEqual(p.returncode, 0, p.stderr)   # float64 -> utf8 widens
        with open(b, "w") as f:
            f.write("id,rate\n4,2026-01-05\n")
        p = cli("ingest", "rates", b, "--evolve")
        self.assertEqual(p.returncode, 0, p.stderr)   # a date fits utf8: a cast
        self.assertIn(b"cast rate date32 -> utf8", p.stdout)

    def test_upload_page_checkbox(self):
        self.ok(b"id,name\n1,Ada\n", "web")
        st, hdrs, page = request("GET", self.srv.url + "/upload")
        self.assertEqual(st, 200)
        self.assertIn(b'name="evolve"', page)
        token = hdrs["set-cookie"].split("lh_csrf=")[1].split(";")[0]
        b = "----lhtestevolve"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nweb\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nappend\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"evolve\"\r\n\r\non\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"w.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\nid,name,city\n2,Grace,NYC\n\r\n--%s--\r\n"
                % (b, b, b, b, b)).encode()
        st, _, page = request("POST", self.srv.url + "/upload", body=body,
                              headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                       "Content-Type": "multipart/form-data; boundary=" + b})
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b'data-outcome="new_version"', page)
        self.assertIn(b'id="upload-evolved"', page)
        self.assertIn(b"<strong>city</strong> added", page)
        self.assertEqual(self.query("SELECT count(*), count(city) FROM web")["rows"], [[2, 1]])
        # a narrowing through the form: shown like a drift, with why
        body = body.replace(b"id,name,city\n2,Grace,NYC\n", b"id,name,zip\ntrue,Grace,1\n")
        st, _, page = request("POST", self.srv.url + "/upload", body=body,
                              headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                       "Content-Type": "multipart/form-data; boundary=" + b})
        self.assertEqual(st, 409, page[:500])
        self.assertIn(b'data-outcome="schema_narrowed"', page)
        self.assertIn(b"from int64 to bool", page)
        self.assertIn(b'id="schema-new"', page)


    # --- search over an evolved dataset -------------------------------------

    def index_state(self, name, version, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/index/" + name)
            self.assertEqual(st, 200, obj)
            for v in obj["versions"]:
                if v["version"] == version and v["state"] in ("ready", "failed"):
                    return v
            time.sleep(0.1)
        self.fail("the index of %s@%d never settled" % (name, version))

    def test_search_over_an_evolved_dataset_returns_old_and_new_rows(self):
        self.ok(b"worker_id,title,years\n1,Forklift operator,3\n2,Nurse,5\n", "crew")
        st, _, obj = request_json("PUT", self.srv.url + "/v1/catalog/index/crew",
                                  {"text": ["title"], "id": "worker_id"})
        self.assertIn(st, (200, 201), obj)
        self.assertEqual(self.index_state("crew", 1)["state"], "ready")
        # v2: a new column, years widened to float64
        self.ok(b"worker_id,title,years,state\n3,Forklift driver,1.5,WI\n", "crew", "append",
                "true")
        self.assertEqual(self.index_state("crew", 2)["state"], "ready")
        st, _, ans = request_json("POST", self.srv.url + "/v1/search",
                                  {"dataset": "crew", "query": "forklift", "mode": "text",
                                   "k": 5})
        self.assertEqual(st, 200, ans)
        self.assertEqual(ans["version"], 2)
        rows = sorted((r["row"] for r in ans["results"]), key=lambda r: r["worker_id"])
        # the old object's row shown with the version's columns
        self.assertEqual(rows, [{"worker_id": 1, "title": "Forklift operator", "years": 3.0,
                                 "state": None},
                                {"worker_id": 3, "title": "Forklift driver", "years": 1.5,
                                 "state": "WI"}])
        # a filter over the evolved version (the positions view) sees both
        st, _, ans = request_json("POST", self.srv.url + "/v1/search",
                                  {"dataset": "crew", "query": "forklift", "mode": "text",
                                   "where": "state IS NULL"})
        self.assertEqual(st, 200, ans)
        self.assertEqual([r["row"]["worker_id"] for r in ans["results"]], [1])
        # search() in SQL too
        r = self.query("SELECT worker_id, years, state FROM search('crew', 'forklift', "
                       "mode := 'text') ORDER BY worker_id")
        self.assertEqual(r["rows"], [[1, 3.0, None], [3, 1.5, "WI"]])

    def test_search_index_whose_column_was_removed(self):
        self.ok(b"worker_id,title,notes\n1,Welder,MIG\n", "shop")
        st, _, obj = request_json("PUT", self.srv.url + "/v1/catalog/index/shop",
                                  {"text": ["title", "notes"]})
        self.assertIn(st, (200, 201), obj)
        self.assertEqual(self.index_state("shop", 1)["state"], "ready")
        self.ok(b"worker_id,title\n2,Welder\n", "shop", "append", "true")
        v2 = self.index_state("shop", 2)
        self.assertEqual(v2["state"], "failed")
        self.assertIn('column "notes"', v2["reason"])
        st, _, ans = request_json("POST", self.srv.url + "/v1/search",
                                  {"dataset": "shop", "query": "welder"})
        self.assertEqual(st, 409, ans)
        self.assertEqual(ans["code"], "index_column_missing")
        self.assertEqual(ans["column"], "notes")
        # the older version still searches
        st, _, ans = request_json("POST", self.srv.url + "/v1/search",
                                  {"dataset": "shop@1", "query": "welder"})
        self.assertEqual(st, 200, ans)
        self.assertEqual(len(ans["results"]), 1)


class EvolveTimeZoneTest(EvolveTest):
    """A server in another time zone reads older timestamps widened to
    utf8 as the text queryd answers for them, not DuckDB's zone-dependent
    CAST (review finding 5)."""

    def setUp(self):
        self.srv = self.start("serve", env={"TZ": "America/New_York"})

    def test_timestamps_widened_to_utf8_read_as_the_lakehouse_shows_them(self):
        self.ok(b"id,seen,wall,day\n"
                b"1,2024-01-01T10:00:00.5Z,2024-01-01 10:00:00.5,2024-01-01\n"
                b"2,2024-07-01T23:30:00+02:00,2024-07-01 23:30:00,2024-07-01\n"
                b"3,,,\n", "ev")
        self.assertEqual(self.cols('SELECT seen, wall, day FROM "ev@1"'),
                         [("seen", "TIMESTAMP WITH TIME ZONE"), ("wall", "TIMESTAMP"),
                          ("day", "DATE")])
        v1 = self.query('SELECT seen, wall, day FROM "ev@1" ORDER BY id')["rows"]
        self.assertEqual(v1[:2], [["2024-01-01T10:00:00.500000Z", "2024-01-01T10:00:00.500000",
                                   "2024-01-01"],
                                  ["2024-07-01T21:30:00Z", "2024-07-01T23:30:00", "2024-07-01"]])
        obj = self.ok(b"id,seen,wall,day\n4,soon,later,someday\n", "ev", "append", "true")
        self.assertEqual(sorted((d["column"], d["new_type"]) for d in obj["evolved"]["diff"]),
                         [("day", "utf8"), ("seen", "utf8"), ("wall", "utf8")])
        rows = self.query("SELECT seen, wall, day FROM ev ORDER BY id")["rows"]
        self.assertEqual(rows, v1 + [["soon", "later", "someday"]])
        self.assertEqual(rows[2], [None, None, None])


if __name__ == "__main__":
    unittest.main()
