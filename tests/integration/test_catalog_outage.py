"""Reads during a catalog outage (issue 23 point 4, ADR 0205).

The scaled-out layout as separate processes — PostgreSQL, storaged, catalogd
on PostgreSQL, ingestd, queryd, a gateway — with named tokens and a masked
column. A pinned query ("candidates@1"), a latest one and searches are
warmed; then PostgreSQL is stopped (and, separately, catalogd is killed):
  - within [queryd] catalog_stale_seconds of queryd's last catalog answer,
    pinned and latest queries and searches answer 200 with the same rows as
    before and X-Lakehouse-Catalog-Age (through the gateway too); a read
    token only within [queryd] catalog_stale_masked_seconds (raised here to
    the same bound), and its masked column stays NULL;
  - with that bound at its default 0, a read token gets 503 at once (a mask
    set just before an outage never fails open), a write token is answered;
  - past the bound, 503 catalog_unavailable with Retry-After;
  - once the catalog is back, answers are fresh again (no header) and a new
    ingest is seen by the very next query.
Both sides of the bound are decided by measured times, not by sleeps that
hope: a query answered before (last fresh send + bound) must be 200, one
sent after (last fresh answer + bound) must be 503.
Only "no answer" is an outage: a search with a name catalogd refuses, or a
catalogd that refuses queryd's token, is an answer (no stale answers, a
new mask applies to the next query).
"""
import os
import subprocess
import time

from lhtest import BINARY, PG_BIN, PostgresServer, ServerTest, request_json

ROOT = "root-token-0123456789"
MARIA = "maria-token-0123456789"
ANN = "ann-token-0123456789"
TOKENS = "root:admin:%s,maria:write:%s,ann:read:%s" % (ROOT, MARIA, ANN)
STALE_S = 12

V1 = (b"candidate_id,full_name,email,skills\n"
      b"1,Ada Lovelace,ada@example.com,forklift warehouse\n"
      b"2,Grace Hopper,grace@example.org,dental hygienist\n")
V2 = b"candidate_id,full_name,email,skills\n3,Alan Turing,alan@example.net,software engineer\n"
V3 = b"candidate_id,full_name,email,skills\n4,Edsger Dijkstra,ed@example.nl,registered nurse\n"

PINNED = 'SELECT candidate_id, full_name, email FROM "candidates@1" ORDER BY candidate_id'
LATEST = "SELECT count(*) AS n, max(email) AS e FROM candidates"

_pg = None


def postgres():
    global _pg
    if _pg is None:
        _pg = PostgresServer()
    return _pg


def tearDownModule():
    global _pg
    if _pg is not None:
        _pg.stop()
        _pg = None


def pg_halt(pg):
    """Stop the server and keep its data (PostgresServer.stop removes it)."""
    pg._run([os.path.join(PG_BIN, "pg_ctl"), "-D", pg.data, "-m", "fast", "-w", "-t", "60",
             "stop"])


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class TestCatalogOutage(ServerTest):

    def setUp(self):
        self.pg = postgres()
        db = self.pg.create_database("outage")
        common = {"LAKEHOUSE_AUTH_TOKENS": TOKENS}
        self.sto = self.start("storaged", env=dict(common))
        self.cat_env = dict(common, LAKEHOUSE_CATALOGD_BACKEND="postgres",
                            LAKEHOUSE_CATALOGD_POSTGRES_DSN=self.pg.dsn(db),
                            LAKEHOUSE_CATALOGD_STORAGED_URL=self.sto.url)
        self.cat = self.start("catalogd", env=self.cat_env)
        peers = dict(common, LAKEHOUSE_INGESTD_CATALOGD_URL=self.cat.url,
                     LAKEHOUSE_INGESTD_STORAGED_URL=self.sto.url)
        self.ing = self.start("ingestd", env=peers)
        self.qry = self.start("queryd", env=dict(
            common, LAKEHOUSE_QUERYD_CATALOGD_URL=self.cat.url,
            LAKEHOUSE_QUERYD_STORAGED_URL=self.sto.url,
            LAKEHOUSE_QUERYD_INGESTD_URL=self.ing.url,
            LAKEHOUSE_QUERYD_CATALOG_STALE_SECONDS=str(STALE_S),
            LAKEHOUSE_QUERYD_CATALOG_STALE_MASKED_SECONDS=str(STALE_S)))
        self.gw = self.start("gateway", env=dict(
            common, LAKEHOUSE_GATEWAY_STORAGED_URL=self.sto.url,
            LAKEHOUSE_GATEWAY_CATALOGD_URL=self.cat.url,
            LAKEHOUSE_GATEWAY_INGESTD_URL=self.ing.url,
            LAKEHOUSE_GATEWAY_QUERYD_URL=self.qry.url))
        for body, mode in ((V1, "replace"), (V2, "append")):
            self.ingest(body, mode)
        st, _, obj = request_json("PUT", self.gw.url + "/v1/catalog/masks/candidates",
                                  {"columns": ["email"]}, bearer(ROOT))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("PUT", self.gw.url + "/v1/catalog/index/candidates",
                                  {"text": ["full_name", "skills"], "id": "candidate_id"},
                                  bearer(MARIA))
        self.assertIn(st, (200, 201), obj)

    def ingest(self, body, mode="append"):
        st, _, obj = request_json("POST", self.gw.url + "/v1/ingest?name=candidates&mode=" + mode,
                                  body, dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        return obj

    def query(self, tok, sql, base=None):
        """(status, catalog age header or None, answer, send time, answer time)."""
        url = self.gw.url + "/v1/query" if base is None else base + "/query"
        t0 = time.monotonic()
        st, hdrs, obj = request_json("POST", url, {"sql": sql}, bearer(tok))
        return st, hdrs.get("x-lakehouse-catalog-age"), obj, t0, time.monotonic(), hdrs

    def search(self, tok, dataset):
        st, hdrs, obj = request_json("POST", self.gw.url + "/v1/search",
                                     {"dataset": dataset, "query": "dental hygienist", "k": 2},
                                     bearer(tok))
        return st, hdrs.get("x-lakehouse-catalog-age"), obj

    def warm(self):
        """The answers of a healthy catalog; returns them and the send time
        of the last answer that read the catalog."""
        want = {}
        for tok in (ANN, MARIA):
            for sql in (PINNED, LATEST):
                st, age, obj, t0, _, _ = self.query(tok, sql)
                self.assertEqual(st, 200, obj)
                self.assertIsNone(age, "a fresh answer says no age")
                want[tok, sql] = obj["rows"]
            for ds in ("candidates@1", "candidates"):
                st, age, obj = self.search(tok, ds)
                self.assertEqual(st, 200, obj)
                self.assertIsNone(age)
                want[tok, ds] = obj["results"]
        self.assertEqual(want[ANN, PINNED], [[1, "Ada Lovelace", None], [2, "Grace Hopper", None]])
        self.assertEqual(want[MARIA, PINNED][0][2], "ada@example.com")
        self.assertEqual(want[ANN, LATEST], [[3, None]])
        self.assertEqual(want[MARIA, LATEST], [[3, "grace@example.org"]])
        # the last answer that read the catalog: sent now
        st, age, obj, last_sent, _, _ = self.query(MARIA, LATEST)
        self.assertEqual((st, age), (200, None), obj)
        return want, last_sent

    def assert_served_stale(self, want, last_sent, outage):
        """Within the bound: everything as before, with its age."""
        answered = 0
        for _ in range(3):
            for tok in (ANN, MARIA):
                for sql in (PINNED, LATEST):
                    st, age, obj, _, t1, hdrs = self.query(tok, sql)
                    self.assertLess(t1, last_sent + STALE_S, "%s: too slow to test the bound"
                                    % outage)
                    self.assertEqual(st, 200, (outage, sql, obj))
                    self.assertEqual(obj["rows"], want[tok, sql], (outage, tok, sql))
                    self.assertIsNotNone(age, "%s: a stale answer says so" % outage)
                    self.assertLessEqual(int(age), STALE_S)
                    answered += 1
        for tok in (ANN, MARIA):
            for ds in ("candidates@1", "candidates"):
                st, age, obj = self.search(tok, ds)
                self.assertEqual(st, 200, (outage, ds, obj))
                self.assertIsNotNone(age)
                self.assertEqual(obj["results"], want[tok, ds], (outage, tok, ds))
                if tok == ANN:
                    self.assertTrue(all(h["row"]["email"] is None for h in obj["results"]))
        # the CLI says so on stderr, table and streamed formats alike
        for fmt in ("table", "csv"):
            r = subprocess.run([BINARY, "query", "--format", fmt, PINNED],
                               env=dict(os.environ, LAKEHOUSE_URL=self.gw.url,
                                        LAKEHOUSE_TOKEN=ANN),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertLess(time.monotonic(), last_sent + STALE_S)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"Grace Hopper", r.stdout)
            self.assertNotIn(b"@example", r.stdout)
            self.assertIn(b"note: the catalog is not reachable; this answer is from what it "
                          b"said", r.stderr)
        # straight from queryd too (the gateway only passes the header on)
        st, age, obj, _, _, _ = self.query(ANN, PINNED, base=self.qry.url)
        self.assertEqual((st, obj["rows"]), (200, want[ANN, PINNED]))
        self.assertIsNotNone(age)
        return answered

    def assert_refused_past_bound(self, last_answer_ms, outage):
        while time.monotonic() < last_answer_ms + STALE_S + 0.2:
            time.sleep(0.2)
        for sql in (PINNED, LATEST):
            st, _, obj, _, _, hdrs = self.query(ANN, sql)
            self.assertEqual((st, obj["code"]), (503, "catalog_unavailable"), (outage, obj))
            self.assertEqual(hdrs.get("retry-after"), "2")
            # a read token's bound (ADR 0205 point 4; was catalog_stale_seconds)
            self.assertIn("catalog_stale_masked_seconds", obj["error"])
            self.assertNotIn("rows", obj)
        st, _, obj = self.search(ANN, "candidates")
        self.assertEqual((st, obj["code"]), (503, "catalog_unavailable"), obj)

    def assert_fresh_again(self, outage):
        """Back: fresh answers, and a new ingest is seen by the next query."""
        deadline = time.monotonic() + 30
        while True:
            st, age, obj, _, _, _ = self.query(MARIA, LATEST)
            if st == 200 and age is None:
                break
            self.assertLess(time.monotonic(), deadline, (outage, st, age, obj))
            time.sleep(0.2)
        self.ingest(V3)
        st, age, obj, _, _, _ = self.query(ANN, LATEST)
        self.assertEqual((st, age, obj["rows"]), (200, None, [[4, None]]), outage)
        st, age, obj, _, _, _ = self.query(MARIA, PINNED)
        self.assertEqual((st, age), (200, None))
        r = subprocess.run([BINARY, "query", "--format", "table", PINNED],
                           env=dict(os.environ, LAKEHOUSE_URL=self.gw.url, LAKEHOUSE_TOKEN=ANN),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, b""))   # fresh: no note
        health = request_json("GET", self.qry.url + "/health")[2]["catalog"]
        self.assertIs(health["down"], False)
        return health

    def test_postgres_stopped(self):
        want, last_sent = self.warm()
        last_answer = time.monotonic()
        pg_halt(self.pg)
        restarted = False
        try:
            st, _, obj = request_json("GET", self.cat.url + "/catalog/datasets",
                                      headers=bearer(MARIA))
            self.assertEqual(st, 503, obj)   # the outage is real
            n = self.assert_served_stale(want, last_sent, "postgres stopped")
            self.assertGreaterEqual(n, 12)
            st, _, obj = request_json("POST", self.gw.url + "/v1/ingest?name=candidates",
                                      V3, dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
            self.assertEqual(st, 503, obj)   # writes do fail: nothing is made up
            self.assert_refused_past_bound(last_answer, "postgres stopped")
            health = request_json("GET", self.qry.url + "/health")[2]["catalog"]
            self.assertIs(health["down"], True)
            self.assertGreaterEqual(health["stale_answers"], n)
            self.assertGreaterEqual(health["unavailable"], 2)
            self.assertEqual(health["stale_seconds"], STALE_S)
            self.pg.start()
            restarted = True
            self.assert_fresh_again("postgres restarted")
        finally:
            if not restarted:
                self.pg.start()
        log = self.qry.read_log()
        self.assertEqual(log.count("the catalog is not reachable ("), 1, log)
        self.assertIn("the catalog answers again", log)

    def test_catalogd_killed(self):
        want, last_sent = self.warm()
        last_answer = time.monotonic()
        self.cat.kill()
        self.assert_served_stale(want, last_sent, "catalogd killed")
        self.assert_refused_past_bound(last_answer, "catalogd killed")
        self.cat = self.start("catalogd", env=self.cat_env, port=self.cat.port)
        self.assert_fresh_again("catalogd restarted")

    def test_no_catalog_ever_read_is_503(self):
        """A queryd that never read the catalog has nothing to answer from."""
        self.cat.kill()
        st, _, obj, _, _, hdrs = self.query(ANN, PINNED, base=self.qry.url)
        self.assertEqual((st, obj["code"]), (503, "catalog_unavailable"), obj)
        self.assertIn("not read the catalog since it started", obj["error"])
        self.assertIsNone(hdrs.get("x-lakehouse-catalog-age"))

    # ---- R23's findings (ADR 0205 points 1, 4, 6) ----------------------------

    def queryd_default_masked(self):
        """Another queryd on the same catalog, catalog_stale_masked_seconds
        left at its default 0."""
        return self.start("queryd", env=dict(
            LAKEHOUSE_AUTH_TOKENS=TOKENS, LAKEHOUSE_QUERYD_CATALOGD_URL=self.cat.url,
            LAKEHOUSE_QUERYD_STORAGED_URL=self.sto.url,
            LAKEHOUSE_QUERYD_INGESTD_URL=self.ing.url,
            LAKEHOUSE_QUERYD_CATALOG_STALE_SECONDS=str(STALE_S)))

    def test_read_token_refused_during_outage_by_default(self):
        """Default 0: a mask set just before the outage can never fail open."""
        q0 = self.queryd_default_masked()
        for tok in (ANN, MARIA):
            st, age, obj, _, _, _ = self.query(tok, PINNED, base=q0.url)
            self.assertEqual((st, age), (200, None), obj)
        st, _, obj = request_json("PUT", self.gw.url + "/v1/catalog/masks/candidates",
                                  {"columns": ["email", "full_name"]}, bearer(ROOT))
        self.assertEqual(st, 200, obj)
        self.cat.kill()
        st, age, obj, _, _, hdrs = self.query(ANN, PINNED, base=q0.url)
        self.assertEqual((st, obj.get("code")), (503, "catalog_unavailable"), obj)
        self.assertEqual(hdrs.get("retry-after"), "2")
        self.assertIn("catalog_stale_masked_seconds is 0", obj["error"])
        self.assertNotIn("rows", obj)
        st, _, obj = request_json("POST", q0.url + "/search",
                                  {"dataset": "candidates", "query": "nurse", "k": 1},
                                  bearer(ANN))
        self.assertEqual((st, obj.get("code")), (503, "catalog_unavailable"), obj)
        # a write token keeps catalog_stale_seconds
        st, age, obj, _, _, _ = self.query(MARIA, PINNED, base=q0.url)
        self.assertEqual(st, 200, obj)
        self.assertIsNotNone(age)
        self.assertEqual(obj["rows"][0][2], "ada@example.com")
        health = request_json("GET", q0.url + "/health")[2]["catalog"]
        self.assertEqual(health["stale_masked_seconds"], 0)

    def test_search_masks_come_from_the_list_it_answers_from(self):
        """A mask a fresh search saw is not lost during an outage."""
        st, _, obj = request_json("POST", self.gw.url + "/v1/ingest?name=people&mode=replace",
                                  V1, dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        st, _, obj, _, _, _ = self.query(ANN, "SELECT 1")   # a known list: people, no mask
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("PUT", self.gw.url + "/v1/catalog/masks/people",
                                  {"columns": ["email"]}, bearer(ROOT))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("PUT", self.gw.url + "/v1/catalog/index/people",
                                  {"text": ["full_name", "skills"], "id": "candidate_id"},
                                  bearer(MARIA))
        self.assertIn(st, (200, 201), obj)
        for _ in range(2):
            st, age, obj = self.search(ANN, "people")
            self.assertEqual((st, age), (200, None), obj)
            self.assertTrue(obj["results"])
            self.assertTrue(all(h["row"]["email"] is None for h in obj["results"]))
        self.cat.kill()
        st, age, obj = self.search(ANN, "people")
        self.assertEqual(st, 200, obj)
        self.assertIsNotNone(age)
        self.assertTrue(obj["results"])
        self.assertTrue(all(h["row"]["email"] is None for h in obj["results"]), obj)

    def test_search_after_one_fresh_search_answers_during_outage(self):
        """The declaration is remembered with its stored component (it was a
        502 upstream_unavailable: the component was asked for again)."""
        st, age, obj = self.search(MARIA, "candidates")
        self.assertEqual((st, age), (200, None), obj)
        want = obj["results"]
        self.cat.kill()
        st, age, obj = self.search(MARIA, "candidates")
        self.assertEqual(st, 200, obj)
        self.assertIsNotNone(age)
        self.assertEqual(obj["results"], want)

    def test_bad_name_search_is_not_an_outage(self):
        """catalogd's 400 for a client's bad name never makes queryd answer
        from a known state nor holds off a new mask."""
        st, age, obj, _, _, _ = self.query(ANN, PINNED, base=self.qry.url)
        self.assertEqual((st, age), (200, None), obj)
        for name in ("a b", "x" * 300, "bad/name", "..", "a\u00e9", "bad/name@1"):
            st, _, obj = request_json("POST", self.qry.url + "/search",
                                      {"dataset": name, "query": "x", "k": 1}, bearer(ANN))
            self.assertEqual((st, obj.get("code")), (400, "bad_name"), (name, obj))
        st, _, obj = request_json("PUT", self.cat.url + "/catalog/masks/candidates",
                                  {"columns": ["email", "full_name"]}, bearer(ROOT))
        self.assertEqual(st, 200, obj)
        st, age, obj, _, _, _ = self.query(ANN, PINNED, base=self.qry.url)
        self.assertEqual((st, age), (200, None), obj)
        self.assertEqual(obj["rows"], [[1, None, None], [2, None, None]])
        health = request_json("GET", self.qry.url + "/health")[2]["catalog"]
        self.assertIs(health["down"], False)
        self.assertEqual(health["stale_answers"], 0)

    def test_catalog_refusing_queryd_is_not_an_outage(self):
        """A catalogd that refuses queryd's token (rotated) answers: no stale answers."""
        st, age, obj, _, _, _ = self.query(MARIA, PINNED, base=self.qry.url)
        self.assertEqual((st, age), (200, None), obj)
        self.cat.kill()
        rotated = TOKENS.replace(ROOT, "root-token-ROTATED-0123456789")
        self.cat = self.start("catalogd", env=dict(self.cat_env, LAKEHOUSE_AUTH_TOKENS=rotated),
                              port=self.cat.port)
        time.sleep(1.2)   # past the hold-down of a failure the restart may have caused
        st, age, obj, _, _, _ = self.query(MARIA, PINNED, base=self.qry.url)
        self.assertNotEqual(st, 200, obj)
        self.assertIsNone(age)
        self.assertNotIn("rows", obj)
        health = request_json("GET", self.qry.url + "/health")[2]["catalog"]
        self.assertIs(health["down"], False)
