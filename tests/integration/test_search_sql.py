"""test_search_sql.py — search and embeddings inside SQL (SPEC 11 "In SQL",
SPEC 12; issue 13 point 6; ADR 0152) through `lakehouse serve`:
embed(text) as FLOAT[100] equal to POST /v1/embed's vectors, ranking by
array_cosine_similarity, the search(...) table function (typed columns plus
_score in POST /v1/search's order, joins, name@N, filter, errors), and that
search(...) calls cannot exhaust the worker pool.
"""
import struct
import threading
import time
import unittest

from lhtest import ServerTest, request, request_json

PEOPLE = """worker_id,full_name,title,skills,notes,state,rate,since,active
1,Ann Smith,Forklift Operator,forklift; pallet jack; OSHA-30,Certified lift truck driver available now,WI,21.5,2019-03-01,true
2,Bob Jones,Registered Nurse,ICU; BLS; ACLS,Critical care nurse with 5 years,IL,48.25,2015-07-15,true
3,Cara Diaz,Welder,MIG; TIG; AWS D1.1,Welding fabricator for structural steel,WI,31.0,2020-01-20,false
4,Dan Wu,Software Engineer,C; Python; SQL,Backend developer who likes databases,CA,75.75,2012-11-30,true
5,Eve Kim,Warehouse Associate,picking; packing; forklift,Production worker on night shift,WI,18.0,2022-05-05,true
6,Finn Lee,Dental Hygienist,cleaning; x-ray,Dentist assistant in a family practice,MN,39.5,2018-09-09,false
"""

PLACEMENTS = """placement_id,worker_id,client
100,1,Acme Logistics
101,3,Steelworks Inc
102,5,Acme Logistics
103,3,Bridge Builders
"""

DECL = {"text": ["title", "skills", "notes"], "id": "worker_id"}


def f32(x):
    """x as the float32 it stands for (both sides print floats differently)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class SearchSqlTest(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        self.url = self.srv.url

    def ingest(self, name, csv, mode=None):
        q = "?name=%s" % name + ("&mode=%s" % mode if mode else "")
        st, _, obj = request_json("POST", self.url + "/v1/ingest" + q, csv,
                                  {"Content-Type": "text/csv"})
        self.assertIn(st, (200, 201), obj)
        return obj

    def declare(self, name):
        st, _, obj = request_json("PUT", self.url + "/v1/catalog/index/" + name, DECL)
        self.assertIn(st, (200, 201), obj)

    def wait_ready(self, name, timeout=90):
        deadline = time.time() + timeout
        obj = None
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.url + "/v1/catalog/index/" + name)
            self.assertEqual(st, 200, obj)
            if obj["versions"] and all(v["state"] == "ready" for v in obj["versions"]):
                return
            time.sleep(0.1)
        self.fail("index of %s never ready: %r" % (name, obj))

    def sql(self, sql, status=200):
        st, _, obj = request_json("POST", self.url + "/v1/query", {"sql": sql})
        self.assertEqual(st, status, obj)
        return obj

    def search(self, body):
        st, _, obj = request_json("POST", self.url + "/v1/search", body)
        self.assertEqual(st, 200, obj)
        return obj

    def people(self):
        self.ingest("people", PEOPLE)
        self.declare("people")
        self.wait_ready("people")

    # --- embed() ---------------------------------------------------------------

    def test_embed_equals_post_embed(self):
        texts = ["forklift operator", "Registered Nurse, ICU", "zzzqqq", ""]
        st, _, emb = request_json("POST", self.url + "/v1/embed", {"texts": texts})
        self.assertEqual(st, 200, emb)
        for text, want in zip(texts, emb["vectors"]):
            lit = text.replace("'", "''")
            res = self.sql("SELECT embed('%s') AS v, typeof(embed('%s')) AS t" % (lit, lit))
            self.assertEqual(res["columns"][0]["name"], "v")
            self.assertEqual(res["rows"][0][1], "FLOAT[100]")
            got = res["rows"][0][0]
            self.assertEqual(len(got), 100)
            self.assertEqual([f32(x) for x in got], [f32(x) for x in want], text)
        # a column, not only a constant: every row as POST /embed embeds it
        self.ingest("people", PEOPLE)
        res = self.sql("SELECT title, embed(title) FROM people ORDER BY worker_id")
        titles = [r[0] for r in res["rows"]]
        st, _, emb = request_json("POST", self.url + "/v1/embed", {"texts": titles})
        self.assertEqual(st, 200, emb)
        for row, want in zip(res["rows"], emb["vectors"]):
            self.assertEqual([f32(x) for x in row[1]], [f32(x) for x in want], row[0])
        # NULL for NULL
        res = self.sql("SELECT embed(NULL::VARCHAR) IS NULL, embed(CASE WHEN worker_id = 2 "
                       "THEN NULL ELSE title END) IS NULL FROM people ORDER BY worker_id")
        self.assertEqual([r[1] for r in res["rows"]], [False, True, False, False, False, False])
        self.assertTrue(res["rows"][0][0])

    def test_embed_ranks_by_cosine_similarity(self):
        self.ingest("people", PEOPLE)
        res = self.sql("SELECT full_name FROM people ORDER BY array_cosine_similarity("
                       "embed(title || ' ' || notes)::FLOAT[100], embed('dentist teeth')::FLOAT[100]) "
                       "DESC LIMIT 2")
        self.assertEqual(res["rows"][0][0], "Finn Lee")
        # FLOAT[100] is an ARRAY: array_* functions take it without a cast,
        # list functions through DuckDB's implicit cast
        res = self.sql("SELECT full_name, array_cosine_similarity(embed(title), embed('forklift')) "
                       "AS a, list_cosine_similarity(embed(title), embed('forklift')) AS l "
                       "FROM people ORDER BY a DESC LIMIT 1")
        self.assertEqual(res["rows"][0][0], "Ann Smith")
        self.assertAlmostEqual(res["rows"][0][1], res["rows"][0][2], places=5)

    def test_embed_uses_the_configured_word_vectors(self):
        """[search] glove_path reaches the workers: a missing file makes
        embed() fail in words (and only embed())."""
        other = self.start("serve", env={"LAKEHOUSE_SEARCH_GLOVE_PATH": "/nonexistent/w.lhwv"})
        st, _, obj = request_json("POST", other.url + "/v1/query", {"sql": "SELECT embed('x')"})
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["code"], "sql_error")
        self.assertIn("embed()", obj["error"])
        st, _, obj = request_json("POST", other.url + "/v1/query", {"sql": "SELECT 41 + 1"})
        self.assertEqual((st, obj["rows"]), (200, [[42]]))

    # --- search() --------------------------------------------------------------

    def test_search_returns_typed_rows_in_search_order(self):
        self.people()
        for mode in ("hybrid", "text", "vector"):
            api = self.search({"dataset": "people", "query": "forklift nurse welder",
                               "mode": mode, "k": 4})
            res = self.sql("SELECT * FROM search('people', 'forklift nurse welder', k := 4, "
                           "mode := '%s')" % mode)
            names = [c["name"] for c in res["columns"]]
            self.assertEqual(names, ["worker_id", "full_name", "title", "skills", "notes",
                                     "state", "rate", "since", "active", "_score"])
            types = {c["name"]: c["type"] for c in res["columns"]}
            self.assertEqual(types["worker_id"], "BIGINT")
            self.assertEqual(types["rate"], "DOUBLE")
            self.assertEqual(types["since"], "DATE")
            self.assertEqual(types["active"], "BOOLEAN")
            self.assertEqual(types["_score"], "DOUBLE")
            self.assertEqual([r[0] for r in res["rows"]],
                             [h["row"]["worker_id"] for h in api["results"]], mode)
            self.assertEqual([r[-1] for r in res["rows"]],
                             [h["score"] for h in api["results"]], mode)
            first = dict(zip(names, res["rows"][0]))
            want = api["results"][0]["row"]
            for col in want:
                self.assertEqual(first[col], want[col], col)
        # typed: the columns compute as their types
        res = self.sql("SELECT worker_id + 1, rate * 2, since + INTERVAL 1 DAY, NOT active "
                       "FROM search('people', 'forklift', mode := 'text', k := 1)")
        self.assertEqual(res["rows"], [[2, 43.0, "2019-03-02T00:00:00", False]])
        # defaults: k 10, hybrid
        res = self.sql("SELECT count(*) FROM search('people', 'forklift')")
        self.assertEqual(res["rows"], [[6]])

    def test_search_in_every_format(self):
        self.people()
        sql = ("SELECT worker_id, full_name, _score FROM search('people', 'welder', "
               "mode := 'text', k := 1)")
        st, hdrs, body = request("POST", self.url + "/v1/query", {"sql": sql, "format": "csv"})
        self.assertEqual(st, 200, body)
        lines = body.decode().splitlines()
        self.assertEqual(lines[0], "worker_id,full_name,_score")
        self.assertTrue(lines[1].startswith("3,Cara Diaz,"), lines)
        st, _, body = request("POST", self.url + "/v1/query", {"sql": sql, "format": "ndjson"})
        self.assertEqual(st, 200, body)
        self.assertIn('"full_name":"Cara Diaz"', body.decode())
        st, hdrs, body = request("POST", self.url + "/v1/query", {"sql": sql, "format": "parquet"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body[:4], b"PAR1")
        self.assertIn(b"Cara Diaz", body)
        # EXPLAIN and DESCRIBE bind it too
        res = self.sql("DESCRIBE " + sql)
        self.assertEqual([r[0] for r in res["rows"]], ["worker_id", "full_name", "_score"])

    def test_search_joins_other_datasets(self):
        self.people()
        self.ingest("placements", PLACEMENTS)
        res = self.sql("SELECT s.full_name, p.client FROM search('people', 'welder', "
                       "mode := 'text') s JOIN placements p USING (worker_id) "
                       "ORDER BY p.placement_id")
        self.assertEqual(res["rows"], [["Cara Diaz", "Steelworks Inc"],
                                       ["Cara Diaz", "Bridge Builders"]])
        # two searches in one statement, and the same search twice
        res = self.sql("SELECT a.worker_id, b.worker_id FROM search('people', 'nurse', k := 1, "
                       "mode := 'text') a, search('people', 'welder', k := 1, mode := 'text') b "
                       "UNION ALL SELECT worker_id, worker_id FROM search('people', 'nurse', "
                       "k := 1, mode := 'text')")
        self.assertEqual(sorted(map(tuple, res["rows"])), [(2, 2), (2, 3)])

    def test_search_versions_and_filter(self):
        self.people()
        self.ingest("people", "worker_id,full_name,title,skills,notes,state,rate,since,active\n"
                    "7,Gus Park,Forklift Operator,forklift,reach truck,WI,22.0,2023-01-01,true\n",
                    mode="append")
        self.wait_ready("people")
        latest = self.sql("SELECT worker_id FROM search('people', 'forklift', mode := 'text') "
                          "ORDER BY worker_id")
        self.assertEqual([r[0] for r in latest["rows"]], [1, 5, 7])
        v1 = self.sql("SELECT worker_id FROM search('people@1', 'forklift', mode := 'text') "
                      "ORDER BY worker_id")
        self.assertEqual([r[0] for r in v1["rows"]], [1, 5])
        api = self.search({"dataset": "people", "query": "forklift operator", "k": 3,
                           "where": "state = 'WI' AND worker_id <> 1"})
        res = self.sql("SELECT worker_id, _score FROM search('people', 'forklift operator', "
                       "k := 3, filter := 'state = ''WI'' AND worker_id <> 1')")
        self.assertEqual([r[0] for r in res["rows"]],
                         [h["row"]["worker_id"] for h in api["results"]])
        self.assertNotIn(1, [r[0] for r in res["rows"]])

    def test_search_errors(self):
        self.ingest("people", PEOPLE)
        self.ingest("placements", PLACEMENTS)
        # no index declared: 409 as POST /search says it
        st, _, api = request_json("POST", self.url + "/v1/search",
                                  {"dataset": "placements", "query": "acme"})
        self.assertEqual(st, 409, api)
        res = self.sql("SELECT * FROM search('placements', 'acme')", status=409)
        self.assertEqual(res["code"], "no_index")
        self.assertIn(api["error"], res["error"])
        self.assertIn("search('placements'", res["error"])
        # unknown dataset 404
        res = self.sql("SELECT * FROM search('nobody', 'acme')", status=404)
        self.assertEqual(res["code"], "unknown_dataset")
        res = self.sql("SELECT * FROM search('people@9', 'acme')", status=404)
        self.assertEqual(res["code"], "unknown_version")
        self.declare("people")
        self.wait_ready("people")
        # a bad filter: 400 in POST /search's words
        st, _, api = request_json("POST", self.url + "/v1/search",
                                  {"dataset": "people", "query": "x", "where": "nope = 1"})
        self.assertEqual(st, 400, api)
        res = self.sql("SELECT * FROM search('people', 'x', filter := 'nope = 1')", status=400)
        self.assertEqual(res["code"], api["code"])
        self.assertIn("nope", res["error"])
        res = self.sql("SELECT * FROM search('people', 'x', filter := 'read_csv(''/etc/passwd'')"
                       " IS NOT NULL')", status=400)
        self.assertEqual(res["code"], "forbidden_function")
        res = self.sql("SELECT * FROM search('people', '')", status=400)
        self.assertEqual(res["code"], "bad_query")
        res = self.sql("SELECT * FROM search('people', 'x', k := 0)", status=400)
        self.assertIn("k", res["error"])
        # a search per row, or computed arguments: refused in words
        for sql in ("SELECT * FROM placements p, search('people', p.client)",
                    "SELECT * FROM placements p, LATERAL search(p.client, 'x')",
                    "SELECT * FROM search('people', 'wel' || 'der')",
                    "SELECT * FROM search('people', 'welder', k := 1 + 1)"):
            res = self.sql(sql, status=400)
            self.assertEqual(res["code"], "sql_error", sql)
            self.assertIn("search(...) takes constants only", res["error"], sql)
            self.assertIn("JOIN", res["error"], sql)
        # as a scalar it is no function at all (the allow-list knows it as
        # a table function only)
        res = self.sql("SELECT search('people', 'welder')", status=400)
        self.assertEqual(res["code"], "forbidden_function")

    def test_many_searches_do_not_exhaust_the_workers(self):
        """Each statement's search needs a worker for its filter; more such
        statements at once than there are workers must all answer."""
        self.people()
        results = []

        def one(i):
            st, _, obj = request_json("POST", self.url + "/v1/query", {
                "sql": "SELECT count(*) FROM search('people', 'forklift %d', "
                       "filter := 'state = ''WI''')" % i})
            results.append((st, obj))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(results), 12)
        for st, obj in results:
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["rows"], [[3]])


if __name__ == "__main__":
    unittest.main()
