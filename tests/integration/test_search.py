"""test_search.py — search end to end through `lakehouse serve` (SPEC 11-12,
issue 13 points 3-6): index declarations and builds, POST /v1/search in
every mode, `where` before ranking, versions, completeness before a build,
one ingest vs ten appends, several datasets, `like`, POST /v1/embed, bad
input, and a build killed with SIGKILL that resumes after a restart.
"""
import math
import os
import signal
import time
import unittest

from lhtest import ServerTest, Server, request, request_json

PEOPLE = """worker_id,full_name,title,skills,notes,state
1,Ann Smith,Forklift Operator,forklift; pallet jack; OSHA-30,Certified lift truck driver available now,WI
2,Bob Jones,Registered Nurse,ICU; BLS; ACLS,Critical care nurse with 5 years,IL
3,Cara Diaz,Welder,MIG; TIG; AWS D1.1,Welding fabricator for structural steel,WI
4,Dan Wu,Software Engineer,C; Python; SQL,Backend developer who likes databases,CA
5,Eve Kim,Warehouse Associate,picking; packing; forklift,Production worker on night shift,WI
6,Finn Lee,Dental Hygienist,cleaning; x-ray,Dentist assistant in a family practice,MN
"""

ROLES = [("Forklift Operator", "forklift; pallet jack", "drives a lift truck in a warehouse"),
         ("Registered Nurse", "ICU; BLS", "critical care nurse on a hospital ward"),
         ("Welder", "MIG; TIG", "welding fabricator for steel frames"),
         ("Electrician", "wiring; conduit", "electrical technician for new buildings"),
         ("Software Engineer", "Python; SQL", "backend developer for web services"),
         ("Truck Driver", "CDL-A; logistics", "long haul driver with a clean record")]
STATES = ["WI", "IL", "MN", "CA", "TX"]


def profiles(n, start=1):
    """Deterministic profiles as CSV lines (no header)."""
    lines = []
    for i in range(start, start + n):
        title, skills, notes = ROLES[(i * 7) % len(ROLES)]
        lines.append("%d,Worker %d,%s,%s,%s (%d years),%s" % (
            i, i, title, skills, notes, i % 17, STATES[(i * 3) % len(STATES)]))
    return lines


HEADER = "worker_id,full_name,title,skills,notes,state"
DECL = {"text": ["title", "skills", "notes"], "id": "worker_id"}


class SearchTest(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        self.url = self.srv.url

    def ingest(self, name, csv, mode=None):
        q = "?name=%s" % name + ("&mode=%s" % mode if mode else "")
        st, _, obj = request_json("POST", self.url + "/v1/ingest" + q, csv,
                                  {"Content-Type": "text/csv"})
        self.assertIn(st, (200, 201), obj)
        return obj

    def declare(self, name, decl=DECL):
        st, _, obj = request_json("PUT", self.url + "/v1/catalog/index/" + name, decl)
        self.assertIn(st, (200, 201), obj)
        return obj

    def wait_ready(self, name, version=None, timeout=90):
        deadline = time.time() + timeout
        obj = None
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.url + "/v1/catalog/index/" + name)
            self.assertEqual(st, 200, obj)
            vs = obj["versions"]
            want = [v for v in vs if version is None or v["version"] == version]
            if want and all(v["state"] == "ready" for v in want):
                return obj
            failed = [v for v in want if v["state"] == "failed"]
            self.assertFalse(failed, failed)
            time.sleep(0.1)
        self.fail("index of %s never ready: %r" % (name, obj))

    def search(self, body, status=200):
        st, _, obj = request_json("POST", self.url + "/v1/search", body)
        self.assertEqual(st, status, obj)
        return obj

    def ids(self, answer):
        return [r["row"]["worker_id"] for r in answer["results"]]

    # --- the three modes ------------------------------------------------------

    def test_modes_rank_the_right_rows(self):
        self.ingest("people", PEOPLE)
        self.declare("people")
        self.wait_ready("people")
        text = self.search({"dataset": "people", "query": "forklift", "mode": "text", "k": 3})
        self.assertEqual(text["mode"], "text")
        self.assertEqual(text["version"], 1)
        self.assertEqual(text["unindexed_rows"], 0)
        self.assertEqual(text["searched_rows"], 6)
        # Ann has "forklift" twice (title, skills), Eve once: BM25 order
        self.assertEqual(self.ids(text), [1, 5])
        self.assertIn("<mark>Forklift</mark>", text["results"][0]["highlight"]["title"])
        self.assertEqual(text["results"][0]["text_rank"], 1)
        self.assertIsNone(text["results"][0]["vector_rank"])
        # meaning without the words: "lift truck" is in Ann's notes, but
        # "dentist" finds the hygienist through the embedding
        vec = self.search({"dataset": "people", "query": "teeth cleaning dentist",
                           "mode": "vector", "k": 2})
        self.assertEqual(self.ids(vec)[0], 6)
        self.assertEqual(vec["embedder"], "builtin")
        self.assertGreater(vec["results"][0]["score"], vec["results"][1]["score"])
        hyb = self.search({"dataset": "people", "query": "forklift operator", "k": 6})
        self.assertEqual(hyb["mode"], "hybrid")
        self.assertEqual(len(hyb["results"]), 6)
        self.assertEqual(self.ids(hyb)[0], 1)
        top = hyb["results"][0]
        # default weights text 1.5, vector 1 (ADR 0150)
        self.assertAlmostEqual(top["score"], 1.5 / 61 + 1 / (60 + top["vector_rank"]), places=9)
        # stop words neither rank nor light up ("a" would, inside "CDL-A")
        stop = self.search({"dataset": "people", "query": "a nurse for the ICU", "mode": "text"})
        self.assertEqual(self.ids(stop), [2])
        marked = " ".join(" ".join(r["highlight"].values()) for r in stop["results"])
        self.assertNotIn("<mark>for</mark>", marked)
        self.assertIn("<mark>ICU</mark>", marked)
        # vector hits are highlighted too, where the query's words occur
        vh = self.search({"dataset": "people", "query": "forklift", "mode": "vector", "k": 6})
        self.assertTrue(any("<mark>" in " ".join(r["highlight"].values()) for r in vh["results"]))
        cols = self.search({"dataset": "people", "query": "nurse", "k": 1,
                            "columns": ["full_name"]})
        self.assertEqual(cols["results"][0]["row"], {"full_name": "Bob Jones"})

    def test_where_applies_before_ranking(self):
        self.ingest("people", PEOPLE)
        self.declare("people")
        self.wait_ready("people")
        # before the append below is built, the filter's unindexed rows are
        # counted among the rows it kept, never more
        self.ingest("people", HEADER + "\n9,Ivy Moe,Welder,TIG,Pipe welder,WI\n", mode="append")
        early = self.search({"dataset": "people", "query": "welder", "where": "state = 'MN'"})
        self.assertEqual(early["searched_rows"], 1)
        self.assertEqual(early["unindexed_rows"], 0)
        self.wait_ready("people", 2)
        for mode in ("text", "vector", "hybrid"):
            ans = self.search({"dataset": "people", "query": "nurse welder", "mode": mode,
                               "where": "state = 'WI'", "k": 5})
            self.assertTrue(all(r["row"]["state"] == "WI" for r in ans["results"]), ans)
            self.assertEqual(ans["searched_rows"], 4)
            self.assertEqual(ans["unindexed_rows"], 0)
        # vector and hybrid rank every allowed row: exactly k when k match
        ans = self.search({"dataset": "people", "query": "nurse", "mode": "vector",
                           "where": "state = 'WI' AND worker_id > 1 AND worker_id < 9", "k": 2})
        self.assertEqual(sorted(self.ids(ans)), [3, 5])
        # a filter that keeps no row: no results, not an error
        ans = self.search({"dataset": "people", "query": "nurse", "where": "state = 'XX'"})
        self.assertEqual(ans["results"], [])

    def test_bad_input_is_a_clear_400(self):
        self.ingest("people", PEOPLE)
        self.declare("people")
        url = self.url + "/v1/search"
        cases = [
            ({"dataset": "people", "query": "  "}, "bad_query"),
            ({"dataset": "people", "query": "x" * 4097}, "bad_query"),
            ({"dataset": "people", "query": "nurse", "k": 0}, "bad_request"),
            ({"dataset": "people", "query": "nurse", "k": -3}, "bad_request"),
            ({"dataset": "people", "query": "nurse", "mode": "fuzzy"}, "bad_request"),
            ({"dataset": "people", "vector": [0.1] * 7}, "bad_vector"),
            ({"dataset": "people", "vector": [0.1, "x"]}, "bad_vector"),
            ({"dataset": "people", "vector": [1e39] * 100}, "bad_vector"),
            ({"dataset": "people", "query": "nurse", "where": "true; DROP TABLE x"}, "bad_where"),
            ({"dataset": "people", "query": "nurse", "where": "true) UNION (SELECT 1"},
             "bad_where"),
            ({"dataset": "people", "query": "nurse", "where": "1=1 -- comment"}, "bad_where"),
            ({"dataset": "people", "query": "nurse", "where": "no_such_column = 1"}, "sql_error"),
            ({"dataset": "people", "query": "nurse",
              "where": "worker_id IN (SELECT 1 FROM read_csv('/etc/passwd'))"},
             "forbidden_function"),
            ({"dataset": "people", "query": "nurse", "where": "getenv('HOME') = ''"},
             "forbidden_function"),
            ({"dataset": "people", "query": "nurse", "columns": ["nope"]}, "unknown_column"),
            ({"dataset": "people", "query": "nurse", "surprise": 1}, "bad_request"),
            ({"query": "nurse"}, "bad_request"),
            # a dollar-quoted string may not hide a parenthesis from the check
            ({"dataset": "people", "query": "nurse",
              "where": "worker_id = 99 OR $$'$$ = $$a$$) UNION ALL SELECT 0, 1 WHERE "
                       "(1=1 OR $$'$$ = $$b$$"}, "bad_where"),
            ({"dataset": "people", "query": "nurse", "where": "worker_id = 1 /* x */"},
             "bad_where"),
            ({"datasets": ["people", "people"], "query": "nurse"}, "bad_request"),
            ({"dataset": "people", "like": {"dataset": "people", "id": "x" * 9000}},
             "bad_request"),
            # vector mode needs a query with meaning to the embedder
            ({"dataset": "people", "query": "zzqqxx", "mode": "vector"}, "bad_query"),
            ({"dataset": "people", "vector": [0.0] * 100}, "bad_vector"),
        ]
        for body, code in cases:
            with self.subTest(body=str(body)[:80]):
                self.assertError(request_json("POST", url, body), 400, code)
        # hybrid with no known word ranks by words and says so
        words = self.search({"dataset": "people", "query": "nurse zzqqxx", "k": 3})
        self.assertTrue(words["results"])
        unknown = self.search({"dataset": "people", "query": "zzqqxx", "k": 3})
        self.assertEqual(unknown["results"], [])
        self.assertTrue(any("ranked by its words alone" in n for n in unknown["notes"]))
        big = self.search({"dataset": "people", "query": "nurse", "k": 5000})
        self.assertEqual(big["k"], 1000)
        self.assertTrue(any("capped" in n for n in big["notes"]))
        self.assertError(request_json("POST", url, {"dataset": "nobody", "query": "x"}),
                         404, "unknown_dataset")
        self.assertError(request_json("POST", url, {"dataset": "people@9", "query": "x"}),
                         404, "unknown_version")
        self.ingest("plain", PEOPLE)
        st, _, obj = request_json("POST", url, {"dataset": "plain", "query": "x"})
        self.assertError((st, _, obj), 409, "no_index")
        self.assertIn("lakehouse index plain", obj["error"])

    def test_columns_that_hide_row_positions(self):
        """A dataset column named like DuckDB's per-file columns would feed a
        filter its own values as row positions: such a filter is refused."""
        self.ingest("odd", "id,title,file_row_number\n1,forklift operator,5\n"
                           "2,warehouse forklift driver,0\n3,accountant,7\n")
        self.declare("odd", {"text": ["title"], "id": "id"})
        self.assertError(request_json("POST", self.url + "/v1/search",
                                      {"dataset": "odd", "query": "forklift", "where": "id = 2"}),
                         400, "bad_where")
        ans = self.search({"dataset": "odd", "query": "forklift", "mode": "text"})
        self.assertEqual(sorted(r["row"]["id"] for r in ans["results"]), [1, 2])

    def test_parts_are_per_index_component(self):
        """Two datasets holding the same object under indexes whose common
        components differ must not share its part (vectors differ)."""
        shared = HEADER + "\n" + "\n".join(profiles(40, 5000)) + "\n"
        self.ingest("a", shared)
        self.ingest("c", HEADER + "\n" + "\n".join(
            l.replace("Worker", "Person") for l in profiles(300, 1)) + "\n")
        self.ingest("c", shared, mode="append")
        self.declare("a")
        self.declare("c")
        a = self.wait_ready("a")
        c = self.wait_ready("c", 2)
        self.assertNotEqual(a["component"], c["component"])
        a_key = a["versions"][0]["parts"][0]["part_key"]
        c_keys = [p["part_key"] for v in c["versions"] if v["version"] == 2 for p in v["parts"]]
        self.assertEqual(len(c_keys), 2)
        self.assertNotIn(a_key, c_keys)
        # the object is the same: the keys end alike
        self.assertTrue(any(k.rsplit("/", 1)[1] == a_key.rsplit("/", 1)[1] for k in c_keys))

    def test_index_parts_are_read_only_through_the_gateway(self):
        self.ingest("people", PEOPLE)
        self.declare("people")
        idx = self.wait_ready("people")
        key = idx["versions"][0]["parts"][0]["part_key"]
        st, _, obj = request_json("PUT", self.url + "/v1/storage/put/" + key, b"junk",
                                  {"Content-Type": "application/octet-stream"})
        self.assertEqual(st, 403, obj)
        st, _, obj = request_json("DELETE", self.url + "/v1/storage/delete/" + key)
        self.assertEqual(st, 403, obj)
        st, _, body = request("GET", self.url + "/v1/storage/get/" + key)
        self.assertEqual(st, 200)
        self.assertEqual(body[:8], b"LHIXPT02")

    # --- versions and completeness ------------------------------------------

    def test_versions_and_rows_not_yet_indexed(self):
        self.ingest("people", PEOPLE)
        self.declare("people")
        self.wait_ready("people", 1)
        extra = HEADER + "\n7,Gus Ray,Forklift Operator,forklift,Reach truck driver,TX\n"
        self.ingest("people", extra, mode="append")
        # at once: version 2's new row is found whether or not its part is built
        ans = self.search({"dataset": "people", "query": "forklift", "mode": "text", "k": 10})
        self.assertEqual(ans["version"], 2)
        self.assertIn(7, self.ids(ans))
        self.assertIn(ans["unindexed_rows"], (0, 1))
        self.wait_ready("people", 2)
        again = self.search({"dataset": "people", "query": "forklift", "mode": "text", "k": 10})
        self.assertEqual(again["unindexed_rows"], 0)
        self.assertEqual([(r["row"]["worker_id"], r["score"]) for r in again["results"]],
                         [(r["row"]["worker_id"], r["score"]) for r in ans["results"]])
        # replace: version 3 holds only the new rows; version 1 stays searchable as it was
        fresh = HEADER + "\n8,Hal Orr,Forklift Operator,forklift,Order picker,TX\n"
        self.ingest("people", fresh, mode="replace")
        v3 = self.search({"dataset": "people", "query": "forklift", "mode": "text"})
        self.assertEqual(v3["version"], 3)
        self.assertEqual(self.ids(v3), [8])
        v1 = self.search({"dataset": "people@1", "query": "forklift", "mode": "text"})
        self.assertEqual(v1["version"], 1)
        self.assertEqual(self.ids(v1), [1, 5])

    def test_one_ingest_and_ten_appends_rank_alike(self):
        lines = profiles(200)
        self.ingest("once", HEADER + "\n" + "\n".join(lines) + "\n")
        for i in range(10):
            part = lines[i * 20:(i + 1) * 20]
            self.ingest("tens", HEADER + "\n" + "\n".join(part) + "\n",
                        mode="append" if i else None)
        self.declare("once")
        self.declare("tens")
        for q in ("forklift warehouse", "nurse hospital", "driver"):
            body = {"query": q, "mode": "text", "k": 25}
            a = self.search(dict(body, dataset="once"))
            b = self.search(dict(body, dataset="tens"))
            self.assertEqual([(r["row"]["worker_id"], r["score"]) for r in a["results"]],
                             [(r["row"]["worker_id"], r["score"]) for r in b["results"]], q)
        self.wait_ready("once")
        self.wait_ready("tens", 10)
        a = self.search({"dataset": "once", "query": "welder steel", "mode": "text", "k": 25})
        b = self.search({"dataset": "tens", "query": "welder steel", "mode": "text", "k": 25})
        self.assertEqual(b["unindexed_rows"], 0)
        self.assertEqual([(r["row"]["worker_id"], r["score"]) for r in a["results"]],
                         [(r["row"]["worker_id"], r["score"]) for r in b["results"]])

    def test_searches_during_ingests_never_mix_versions(self):
        """Appends of 20 rows each (ids 20j+1..20j+20) run while searches
        run: every answer's rows are exactly its version's, whatever the
        builder has built so far."""
        import threading
        self.ingest("live", HEADER + "\n" + "\n".join(profiles(20, 1)) + "\n")
        self.declare("live")
        stop = threading.Event()
        errors = []

        def appender():
            try:
                for j in range(1, 12):
                    self.ingest("live", HEADER + "\n" + "\n".join(profiles(20, 20 * j + 1)) + "\n",
                                mode="append")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                stop.set()

        t = threading.Thread(target=appender)
        t.start()
        seen = set()
        answers = 0
        while not stop.is_set() or answers < 5:
            ans = self.search({"dataset": "live", "query": "driver nurse welder", "k": 1000,
                               "mode": "vector"})
            v = ans["version"]
            seen.add(v)
            answers += 1
            self.assertEqual(ans["searched_rows"], 20 * v, ans)
            ids = sorted(self.ids(ans))
            self.assertEqual(ids, list(range(1, 20 * v + 1)), v)
        t.join(60)
        self.assertEqual(errors, [])
        last = self.search({"dataset": "live", "query": "driver", "k": 1000, "mode": "vector"})
        self.assertEqual(last["version"], 12)
        self.assertEqual(sorted(self.ids(last)), list(range(1, 241)))
        self.assertGreater(len(seen), 1)   # the searches did overlap the appends

    # --- several datasets, like, embed ------------------------------------------

    def test_several_datasets_and_like(self):
        self.ingest("people", PEOPLE)
        self.ingest("others", HEADER + "\n" + "\n".join(profiles(30, 100)) + "\n")
        self.declare("people")
        self.declare("others")
        ans = self.search({"datasets": ["people", "others"], "query": "forklift", "k": 8})
        names = {r["dataset"] for r in ans["results"]}
        self.assertEqual(names, {"people", "others"})
        self.assertEqual([d["dataset"] for d in ans["datasets"]], ["people", "others"])
        scores = [r["score"] for r in ans["results"]]
        self.assertEqual(scores, sorted(scores, reverse=True))
        # one dataset that fails fails the whole search
        st, _, obj = request_json("POST", self.url + "/v1/search",
                                  {"datasets": ["people", "nobody"], "query": "forklift"})
        self.assertEqual(st, 404, obj)
        self.assertIn("nobody", obj["error"])
        like = self.search({"dataset": "others", "like": {"dataset": "people", "id": 3},
                            "k": 3})
        self.assertTrue(like["results"])
        self.assertEqual(like["results"][0]["row"]["title"], "Welder")
        self.assertError(request_json("POST", self.url + "/v1/search",
                                      {"dataset": "people", "like": {"dataset": "people",
                                                                     "id": 999}}),
                         404, "not_found")

    def test_embed(self):
        st, _, obj = request_json("POST", self.url + "/v1/embed",
                                  {"texts": ["forklift operator", "forklift operator", "zzqx"]})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["embedder"], "builtin")
        self.assertEqual(obj["dimension"], 100)
        a, b, z = obj["vectors"]
        self.assertEqual(a, b)
        self.assertAlmostEqual(math.sqrt(sum(x * x for x in a)), 1.0, places=5)
        self.assertEqual(z, [0.0] * 100)
        self.assertError(request_json("POST", self.url + "/v1/embed", {"texts": []}),
                         400, "bad_request")
        st, _, obj = request_json("POST", self.url + "/v1/embed",
                                  {"texts": ["x"], "embedder": "nope/model"})
        self.assertEqual(st, 400, obj)
        self.assertIn("nope/model", obj["error"])


class SearchPartsTest(ServerTest):
    """An object larger than [search] part_rows gets several parts (here
    1,024 rows each: 3,000 rows make 3); filters, ranks and rows come out as
    one object's."""

    def test_an_object_in_several_parts(self):
        srv = self.start("serve", env={"LAKEHOUSE_SEARCH_PART_ROWS": "1024"})
        url = srv.url
        csv = HEADER + "\n" + "\n".join(profiles(3000)) + "\n"
        st, _, obj = request_json("POST", url + "/v1/ingest?name=big", csv,
                                  {"Content-Type": "text/csv"})
        self.assertIn(st, (200, 201), obj)
        st, _, obj = request_json("PUT", url + "/v1/catalog/index/big", DECL)
        self.assertIn(st, (200, 201), obj)
        body = {"dataset": "big", "query": "welder steel", "k": 40, "mode": "text"}
        st, _, early = request_json("POST", url + "/v1/search", body)
        self.assertEqual(st, 200, early)
        deadline = time.time() + 90
        while time.time() < deadline:
            st, _, ix = request_json("GET", url + "/v1/catalog/index/big")
            if ix["versions"][0]["state"] == "ready":
                break
            time.sleep(0.2)
        self.assertEqual(ix["versions"][0]["state"], "ready", ix)
        parts = ix["versions"][0]["parts"]
        self.assertEqual([p["rows"] for p in parts], [1024, 1024, 952])
        self.assertEqual(len({p["object_key"] for p in parts}), 1)
        st, _, late = request_json("POST", url + "/v1/search", body)
        self.assertEqual(late["unindexed_rows"], 0)
        self.assertEqual([(r["row"]["worker_id"], r["score"]) for r in late["results"]],
                         [(r["row"]["worker_id"], r["score"]) for r in early["results"]])
        # a filter that keeps rows of the last part only, and one row of the first
        st, _, f = request_json("POST", url + "/v1/search",
                                {"dataset": "big", "query": "welder", "k": 1000, "mode": "vector",
                                 "where": "worker_id > 2900 OR worker_id = 7"})
        self.assertEqual(st, 200, f)
        self.assertEqual(f["searched_rows"], 101)
        self.assertEqual(sorted(r["row"]["worker_id"] for r in f["results"]),
                         [7] + list(range(2901, 3001)))


class SearchKillTest(ServerTest):
    def test_a_killed_build_resumes_after_restart(self):
        data = None
        srv = Server("serve")
        data = srv.data_dir
        try:
            csv = HEADER + "\n" + "\n".join(profiles(60000)) + "\n"
            st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=big", csv,
                                      {"Content-Type": "text/csv"})
            self.assertIn(st, (200, 201), obj)
            st, _, obj = request_json("PUT", srv.url + "/v1/catalog/index/big", DECL)
            self.assertIn(st, (200, 201), obj)
            deadline = time.time() + 60
            state = None
            while time.time() < deadline:
                st, _, obj = request_json("GET", srv.url + "/v1/catalog/index/big")
                state = obj["versions"][0]["state"]
                if state != "pending":
                    break
                time.sleep(0.02)
            self.assertEqual(state, "building", obj)
            srv.kill()
            srv.proc.wait(10)
            srv2 = Server("serve", data_dir=data, port=srv.port)
            self.addCleanup(srv2.cleanup)
            # nothing half-built is visible: the version is not ready until
            # the restarted builder finishes it
            st, _, obj = request_json("GET", srv2.url + "/v1/catalog/index/big")
            self.assertNotEqual(obj["versions"][0]["state"], "ready")
            deadline = time.time() + 120
            while time.time() < deadline:
                st, _, obj = request_json("GET", srv2.url + "/v1/catalog/index/big")
                if obj["versions"][0]["state"] in ("ready", "failed"):
                    break
                time.sleep(0.2)
            self.assertEqual(obj["versions"][0]["state"], "ready", obj)
            self.assertEqual(obj["versions"][0]["rows_indexed"], 60000)
            st, _, ans = request_json("POST", srv2.url + "/v1/search",
                                      {"dataset": "big", "query": "welder", "k": 5})
            self.assertEqual(st, 200, ans)
            self.assertEqual(ans["unindexed_rows"], 0)
            self.assertEqual(len(ans["results"]), 5)
        finally:
            srv.cleanup()


if __name__ == "__main__":
    unittest.main()
