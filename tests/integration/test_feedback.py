"""test_feedback.py — search that learns (SPEC 13, issue 17; ADR 0190):
POST /v1/search/feedback records ratings as versions of <name>__feedback
(queryable with SQL), "feedback": true re-ranks with them (a rated row
moves up and says why, a rejected one moves down, a missed row is added
only for a very close query, an unrelated query is unchanged), the time
travel rule, bad input, a bulk call of 10,000 and concurrent feedback with
searches, and auth (a write).
"""
import os
import subprocess
import threading
import time

from lhtest import ServerTest, request_json
from test_search import HEADER, PEOPLE, profiles

DECL = {"text": ["title", "skills", "notes"], "id": "worker_id"}


class FeedbackTest(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        self.url = self.srv.url

    # --- helpers ----------------------------------------------------------------

    def ingest(self, name, csv, mode=None):
        q = "?name=%s" % name + ("&mode=%s" % mode if mode else "")
        st, _, obj = request_json("POST", self.url + "/v1/ingest" + q, csv,
                                  {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        return obj

    def declare(self, name, decl=DECL):
        st, _, obj = request_json("PUT", self.url + "/v1/catalog/index/" + name, decl)
        self.assertIn(st, (200, 201), obj)

    def wait_ready(self, name, timeout=90):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.url + "/v1/catalog/index/" + name)
            self.assertEqual(st, 200, obj)
            if obj["versions"] and all(v["state"] == "ready" for v in obj["versions"]):
                return
            time.sleep(0.1)
        self.fail("index of %s never ready" % name)

    def people(self, extra_rows=0):
        csv = PEOPLE + "".join(l + "\n" for l in profiles(extra_rows, start=100))
        self.ingest("people", csv)
        self.declare("people")
        self.wait_ready("people")

    def rate(self, body, status=200, headers=None):
        st, _, obj = request_json("POST", self.url + "/v1/search/feedback", body, headers)
        self.assertEqual(st, status, obj)
        return obj

    def search(self, body, status=200):
        st, _, obj = request_json("POST", self.url + "/v1/search", body)
        self.assertEqual(st, status, obj)
        return obj

    def sql(self, sql):
        st, _, obj = request_json("POST", self.url + "/v1/query", {"sql": sql})
        self.assertEqual(st, 200, obj)
        return obj["rows"]

    @staticmethod
    def ids(answer):
        return [r["row"]["worker_id"] for r in answer["results"]]

    # --- record -----------------------------------------------------------------

    def test_record_appends_versions_queryable_with_sql(self):
        self.people()
        a = self.rate({"dataset": "people", "query": "lift truck driver", "id": 5, "score": 1})
        self.assertEqual(a["feedback_dataset"], "people__feedback")
        self.assertEqual((a["version"], a["recorded"]), (1, 1))
        b = self.rate({"dataset": "people", "items": [
            {"query": "nurse for the ICU", "id": 2, "score": 0.5},
            {"query": "nurse for the ICU", "id": "6", "score": -1}]})
        self.assertEqual((b["version"], b["recorded"]), (2, 2))
        rows = self.sql("SELECT query, id, score, who, embedder FROM people__feedback "
                        "ORDER BY recorded_at, id")
        self.assertEqual(rows, [["lift truck driver", 5, 1.0, None, "builtin"],
                                ["nurse for the ICU", 2, 0.5, None, "builtin"],
                                ["nurse for the ICU", 6, -1.0, None, "builtin"]])
        types = {r[0]: r[1] for r in self.sql("DESCRIBE people__feedback")}
        self.assertEqual(types, {"query": "VARCHAR", "id": "BIGINT", "score": "DOUBLE",
                                 "recorded_at": "TIMESTAMP WITH TIME ZONE", "who": "VARCHAR",
                                 "embedder": "VARCHAR"})
        # versions: one per call, never edited in place
        self.assertEqual(self.sql('SELECT count(*) FROM "people__feedback@1"'), [[1]])
        # a feedback query that reads like a number in CSV stays text in
        # later versions: it is refused, never a type drift
        self.rate({"dataset": "people", "query": "2024", "id": 1, "score": 1}, 400)

    def test_text_ids_keep_their_type(self):
        csv = "code,title\nA-1,forklift operator\n007,registered nurse\n12,welder\n"
        self.ingest("jobs", csv)
        self.declare("jobs", {"text": ["title"], "id": "code"})
        self.wait_ready("jobs")
        self.rate({"dataset": "jobs", "query": "forklift", "id": "12", "score": 1})
        self.rate({"dataset": "jobs", "query": "nurse", "id": "007", "score": 1})
        rows = self.sql("SELECT id FROM jobs__feedback ORDER BY recorded_at")
        self.assertEqual(rows, [['"12"'], ['"007"']])   # the id as JSON: stays text
        ans = self.search({"dataset": "jobs", "query": "forklift", "feedback": True})
        moved = [r for r in ans["results"] if "feedback" in r]
        self.assertEqual([r["row"]["code"] for r in moved], ["12"])

    # --- re-rank ----------------------------------------------------------------

    def test_boost_moves_a_rated_row_up_and_says_why(self):
        self.people()
        plain = self.search({"dataset": "people", "query": "forklift operator", "k": 6})
        self.assertEqual(self.ids(plain)[0], 1)
        pos = self.ids(plain).index(5)
        self.assertGreater(pos, 0)
        self.rate({"dataset": "people", "query": "forklift operator", "id": 5, "score": 1})
        ans = self.search({"dataset": "people", "query": "forklift operator", "k": 6,
                           "feedback": True})
        self.assertEqual(self.ids(ans)[0], 5)
        top = ans["results"][0]
        self.assertEqual(top["feedback"], {"query": "forklift operator", "score": 1.0,
                                           "similarity": 1.0})
        self.assertEqual(ans["feedback"]["dataset"], "people__feedback")
        self.assertEqual(ans["feedback"]["ratings"], 1)
        # rows feedback did not move say nothing
        self.assertTrue(all("feedback" not in r for r in ans["results"][1:]))
        # without "feedback" the answer is the plain one
        again = self.search({"dataset": "people", "query": "forklift operator", "k": 6})
        self.assertEqual(self.ids(again), self.ids(plain))
        self.assertNotIn("feedback", again)

    def test_ratings_follow_a_renamed_dataset(self):
        self.people()
        self.rate({"dataset": "people", "query": "forklift operator", "id": 5, "score": 1})
        st, _, ans = request_json("POST", self.url + "/v1/datasets/people/rename",
                                  {"to": "staff"})
        self.assertEqual(st, 200, ans)
        self.assertEqual(ans["feedback"], "staff__feedback")
        self.wait_ready("staff")
        moved = self.search({"dataset": "staff", "query": "forklift operator", "k": 6,
                             "feedback": True})
        self.assertEqual(self.ids(moved)[0], 5)
        self.assertEqual(moved["feedback"]["dataset"], "staff__feedback")
        rows = self.sql('SELECT count(*) AS n FROM staff__feedback')
        self.assertEqual(rows, [[1]])
        st, _, gone = request_json("GET", self.url + "/v1/catalog/manifest/people__feedback")
        self.assertEqual((st, gone["code"]), (404, "renamed"), gone)
        # a dataset without ratings renames as before, with no "feedback"
        self.ingest("other", "a\n1\n")
        st, _, plain = request_json("POST", self.url + "/v1/datasets/other/rename",
                                    {"to": "other2"})
        self.assertEqual(st, 200, plain)
        self.assertNotIn("feedback", plain)

    def test_demotion(self):
        self.people()
        self.rate({"dataset": "people", "query": "forklift operator", "id": 1, "score": -1})
        ans = self.search({"dataset": "people", "query": "forklift operator", "k": 6,
                           "feedback": True})
        self.assertNotEqual(self.ids(ans)[0], 1)
        ann = [r for r in ans["results"] if r["row"]["worker_id"] == 1][0]
        self.assertEqual(ann["feedback"]["score"], -1.0)

    def test_injection_only_for_a_very_close_query(self):
        self.people()
        # text mode: the nurse holds no word of the query, so the plain
        # search does not have her at all
        body = {"dataset": "people", "query": "forklift operator", "mode": "text", "k": 5}
        self.assertNotIn(2, self.ids(self.search(body)))
        self.rate({"dataset": "people", "query": "forklift operator", "id": 2, "score": 1})
        same = self.search(dict(body, feedback=True))
        self.assertIn(2, self.ids(same))
        nurse = [r for r in same["results"] if r["row"]["worker_id"] == 2][0]
        self.assertEqual(nurse["feedback"]["similarity"], 1.0)
        self.assertIsNone(nurse["text_rank"])
        # a close query that is not very close boosts candidates but adds
        # nothing: with inject_similarity above its similarity
        close = self.search(dict(body, query="forklift driver",
                                 feedback={"min_similarity": 0.3, "inject_similarity": 0.999}))
        self.assertEqual(close["feedback"]["close_queries"], 1)
        self.assertNotIn(2, self.ids(close))
        # the same words again in another request are very close
        again = self.search(dict(body, query="we need forklift operators", feedback=True))
        self.assertIn(2, self.ids(again))
        # and the search's where still applies to an added row
        filtered = self.search(dict(body, where="state = 'WI'", feedback=True))
        self.assertNotIn(2, self.ids(filtered))   # she is in IL

    def test_an_unrelated_query_is_unchanged(self):
        self.people(extra_rows=60)
        self.rate({"dataset": "people", "items": [
            {"query": "forklift operator", "id": 2, "score": 1},
            {"query": "forklift operator", "id": 1, "score": -1}]})
        for q in ("software engineer python", "dental hygienist", "registered nurse ICU"):
            body = {"dataset": "people", "query": q, "k": 10}
            plain = self.search(body)
            fb = self.search(dict(body, feedback=True))
            self.assertEqual([(r["row"]["worker_id"], r["score"]) for r in fb["results"]],
                             [(r["row"]["worker_id"], r["score"]) for r in plain["results"]], q)
            self.assertTrue(all("feedback" not in r for r in fb["results"]))
            self.assertEqual(fb["feedback"]["close_queries"], 0)

    def test_time_travel_and_rows_that_are_gone(self):
        self.people()
        self.rate({"dataset": "people", "query": "forklift operator", "id": 5, "score": 1})
        time.sleep(0.01)
        self.ingest("people", HEADER + "\n" + "\n".join(profiles(3, start=200)) + "\n",
                    mode="append")
        self.wait_ready("people")
        body = {"dataset": "people@1", "query": "forklift operator", "k": 6, "feedback": True}
        v1 = self.search(body)   # made before the rating: no rating applies
        self.assertEqual(v1["feedback"]["ratings"], 0)
        self.assertTrue(all("feedback" not in r for r in v1["results"]))
        v2 = self.search(dict(body, dataset="people@2"))   # made after it
        self.assertEqual(self.ids(v2)[0], 5)
        self.assertEqual(v2["feedback"]["ratings"], 1)
        latest = self.search(dict(body, dataset="people"))
        self.assertEqual(self.ids(latest)[0], 5)
        # a version without the rated row: the rating is ignored, no error
        self.ingest("people", HEADER + "\n" + "\n".join(PEOPLE.splitlines()[1:5]) + "\n")
        self.wait_ready("people")
        gone = self.search(dict(body, dataset="people"))
        self.assertNotIn(5, self.ids(gone))
        self.assertTrue(all("feedback" not in r for r in gone["results"]))

    # --- bad input ----------------------------------------------------------------

    def test_bad_input(self):
        self.people()
        ok = {"dataset": "people", "query": "forklift", "id": 1, "score": 1}
        cases = [
            (dict(ok, score=1.5), 400, "bad_score"),
            (dict(ok, score=-1.01), 400, "bad_score"),
            (dict(ok, score="1"), 400, "bad_score"),
            (dict(ok, id=99), 404, "unknown_id"),
            (dict(ok, id="x"), 400, "bad_id"),
            (dict(ok, id=[1]), 400, "bad_id"),
            (dict(ok, dataset="nope"), 404, "unknown_dataset"),
            (dict(ok, dataset="people@1"), 400, "bad_request"),
            (dict(ok, dataset="people__feedback"), 400, "feedback_on_feedback"),
            (dict(ok, query=""), 400, "bad_query"),
            (dict(ok, query="   "), 400, "bad_query"),
            (dict(ok, query="x" * 5000), 400, "bad_query"),
            (dict(ok, colour="red"), 400, "bad_request"),
            ({"dataset": "people", "items": []}, 400, "bad_request"),
            ({"dataset": "people", "items": [{"query": "forklift", "id": 1, "score": 2}]},
             400, "bad_score"),
            ({"dataset": "people", "items": [ok]}, 400, "bad_request"),   # a field too many
            ({"dataset": "people", "items": [ok], "query": "x"}, 400, "bad_request"),
        ]
        for body, status, code in cases:
            st, _, obj = request_json("POST", self.url + "/v1/search/feedback", body)
            self.assertEqual((st, obj.get("code")), (status, code), (body, obj))
            self.assertTrue(obj["error"])
        item = {"query": "forklift", "id": 1, "score": 1}
        st, _, obj = request_json("POST", self.url + "/v1/search/feedback",
                                  {"dataset": "people", "items": [item, dict(item, id=98),
                                                                  dict(item, id=99)]})
        self.assertEqual((st, obj["code"]), (404, "unknown_id"))
        self.assertEqual(obj["ids"], [98, 99])
        self.assertIn("nothing was recorded", obj["error"])
        # nothing of the refused calls was written
        self.rate(ok)
        self.assertEqual(self.sql("SELECT count(*) FROM people__feedback"), [[1]])
        # no index, an index without id
        self.ingest("plain", "a,b\n1,x\n")
        self.rate(dict(ok, dataset="plain"), 409)
        self.declare("plain", {"text": ["b"]})
        st, _, obj = request_json("POST", self.url + "/v1/search/feedback", dict(ok, dataset="plain"))
        self.assertEqual((st, obj["code"]), (409, "no_id_column"))
        # the search side
        self.search({"dataset": "people", "vector": [0.1] * 100, "feedback": True}, 400)
        self.search({"dataset": "people", "query": "x", "feedback": "yes"}, 400)
        self.search({"dataset": "people", "query": "x", "feedback": {"boost": -1}}, 400)
        self.search({"dataset": "people", "query": "x", "feedback": {"nope": 1}}, 400)

    def test_bulk_of_10000_and_the_cap(self):
        self.people(extra_rows=100)
        ids = [1, 2, 3, 4, 5, 6] + list(range(100, 200))
        items = [{"query": "query number %d" % (i % 50), "id": ids[i % len(ids)],
                  "score": ((i % 21) - 10) / 10} for i in range(10000)]
        a = self.rate({"dataset": "people", "items": items})
        self.assertEqual(a["recorded"], 10000)
        self.assertEqual(self.sql("SELECT count(*), count(DISTINCT query), min(score), max(score) "
                                  "FROM people__feedback"), [[10000, 50, -1.0, 1.0]])
        st, _, obj = request_json("POST", self.url + "/v1/search/feedback",
                                  {"dataset": "people", "items": items + items[:1]})
        self.assertEqual((st, obj["code"]), (413, "too_many_items"))
        self.assertIn("10000", obj["error"])
        # the set of 10,000 is read once and searches use it
        ans = self.search({"dataset": "people", "query": "query number 7", "feedback": True})
        self.assertEqual(ans["feedback"]["ratings"], 10000)

    def test_concurrent_feedback_and_searches(self):
        self.people(extra_rows=40)
        errors, versions = [], []

        def rater(t):
            for i in range(5):
                st, _, obj = request_json("POST", self.url + "/v1/search/feedback",
                                          {"dataset": "people", "query": "forklift operator %d" % t,
                                           "id": 1 + (t + i) % 6, "score": 1})
                if st != 200:
                    errors.append(obj)
                else:
                    versions.append(obj["version"])

        def searcher():
            for _ in range(10):
                st, _, obj = request_json("POST", self.url + "/v1/search",
                                          {"dataset": "people", "query": "forklift operator",
                                           "feedback": True})
                if st != 200:
                    errors.append(obj)

        threads = [threading.Thread(target=rater, args=(t,)) for t in range(4)]
        threads += [threading.Thread(target=searcher) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(versions), list(range(1, 21)))   # one version per call
        self.assertEqual(self.sql("SELECT count(*) FROM people__feedback"), [[20]])
        ans = self.search({"dataset": "people", "query": "forklift operator", "feedback": True})
        self.assertEqual(ans["feedback"]["ratings"], 20)


    # --- the CLI ------------------------------------------------------------------

    def cli(self, *args):
        env = dict(os.environ, LAKEHOUSE_URL=self.url, NO_COLOR="1")
        return subprocess.run([os.environ.get("LAKEHOUSE_BIN", "build/lakehouse")] + list(args),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60)

    def test_cli_feedback_and_search_feedback(self):
        self.people()
        r = self.cli("feedback", "people", "forklift operator", "5", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, 'recorded: row 5 rated +1 for "forklift operator" in '
                                   'people__feedback@1\n')
        r = self.cli("feedback", "people", "forklift operator", "99", "1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no row whose worker_id is 99", r.stderr)
        r = self.cli("feedback", "people", "forklift operator", "5", "2")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("from -1", r.stderr)
        r = self.cli("feedback", "people", "forklift operator", "5", "lots")
        self.assertEqual(r.returncode, 2, r.stderr)   # usage
        r = self.cli("search", "people", "forklift", "operator", "--feedback", "--columns",
                     "worker_id,title", "--wide")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn("FEEDBACK", lines[0])
        self.assertRegex(lines[1], r'^\s*1\s.*\b5\b.*Warehouse Associate.*\+1 "forklift operator" 1\.00')
        self.assertIn("feedback: 1 rating in people__feedback@1, 1 past query close to this one",
                      r.stdout)
        plain = self.cli("search", "people", "forklift", "operator", "--columns", "worker_id")
        self.assertNotIn("FEEDBACK", plain.stdout)
        self.assertNotIn("feedback:", plain.stdout)


class FeedbackAuthTest(ServerTest):
    def test_feedback_needs_a_write_token(self):
        srv = self.start("serve", env={"LAKEHOUSE_AUTH_READ_TOKENS": "r" * 32,
                                       "LAKEHOUSE_AUTH_WRITE_TOKENS": "w" * 32})
        read = {"Authorization": "Bearer " + "r" * 32}
        write = {"Authorization": "Bearer " + "w" * 32}
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=people", PEOPLE,
                                  dict(write, **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("PUT", srv.url + "/v1/catalog/index/people", DECL, write)
        self.assertIn(st, (200, 201), obj)
        body = {"dataset": "people", "query": "forklift", "id": 1, "score": 1}
        st, _, obj = request_json("POST", srv.url + "/v1/search/feedback", body, read)
        self.assertEqual(st, 403, obj)
        st, _, obj = request_json("POST", srv.url + "/v1/search/feedback", body)
        self.assertEqual(st, 401, obj)
        st, _, obj = request_json("POST", srv.url + "/v1/search/feedback", body, write)
        self.assertEqual(st, 200, obj)
        # a search with feedback is a read
        st, _, obj = request_json("POST", srv.url + "/v1/search",
                                  {"dataset": "people", "query": "forklift", "feedback": True},
                                  read)
        self.assertEqual(st, 200, obj)
