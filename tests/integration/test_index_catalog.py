"""test_index_catalog.py — the catalog's search-index declarations and build
records over HTTP (docs/api.md "Search indexes", ADR 0140), on the real binary.

IndexCatalogTest: catalogd alone on SQLite — declare / show / replace / drop,
the fingerprint of the canonical declaration, every 400/404/409 of the routes,
build records (ready is final, index_changed, parts checked against the
version), the common component (first writer wins), the builder's queue
(retries, stale builds), and a restart. PostgresIndexCatalogTest runs the same
on PostgreSQL (a throwaway cluster, a database per test).

IndexStoragedTest: catalogd with storaged and no builder: a record's parts
must exist in storaged (409 object_missing, nothing written), GC keeps every
part a record references and deletes the rest (an orphan, a replaced
declaration's parts), never the data.

IndexServeTest: `lakehouse serve` with tokens, through the gateway's /v1: a
read token may GET but not PUT/DELETE, GC with whatever built the version
(queryd's builder or this test), and the CLI (`lakehouse index`).
"""
import hashlib
import json
import os
import subprocess
import time
import unittest

from lhtest import BINARY, PostgresServer, Server, ServerTest, request, request_json

SCHEMA = [("id", "int64"), ("title", "utf8"), ("notes", "utf8"), ("score", "float64")]
READ, WRITE = "read-token-ix1", "write-token-ix2"
TOKENS = {"LAKEHOUSE_AUTH_READ_TOKENS": READ, "LAKEHOUSE_AUTH_WRITE_TOKENS": WRITE}
FP_ZERO = "sha256:" + "0" * 64


def schema_fp(schema):
    h = hashlib.sha256()
    for name, typ in schema:
        h.update(name.encode() + b"\x1f" + typ.encode() + b"\x1e")
    return "sha256:" + h.hexdigest()


def reg_body(name, keys, schema=SCHEMA, mode=None):
    objs = [{"key": k, "size": 10, "row_count": 1,
             "content_sha256": hashlib.sha256(k.encode()).hexdigest()} for k in keys]
    b = {"name": name, "schema_fingerprint": schema_fp(schema),
         "schema": [{"name": n, "type": t, "nullable": True} for n, t in schema],
         "objects": objs, "row_count": len(objs)}
    if mode:
        b["mode"] = mode
    return b


def decl_fp(text, id_col=None, embedder="builtin"):
    """ADR 0140: sha256 of the canonical JSON (sorted keys, defaults filled in,
    compact, UTF-8 as is)."""
    canon = json.dumps({"embedder": embedder, "id": id_col, "text": text}, sort_keys=True,
                       separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()


_postgres = None


def postgres():
    global _postgres
    if _postgres is None:
        _postgres = PostgresServer()
    return _postgres


def tearDownModule():
    global _postgres
    if _postgres is not None:
        _postgres.stop()
        _postgres = None


class IndexCatalogTest(ServerTest):
    """catalogd alone (no storaged: parts are not checked)."""

    def env(self):
        return {}

    def setUp(self):
        self.srv = self.start("catalogd", env=self.env())
        self.url = self.srv.url + "/catalog"

    def reg(self, name, keys, mode=None, schema=SCHEMA):
        st, _, r = request_json("POST", self.url + "/register", reg_body(name, keys, schema, mode))
        self.assertEqual(st, 200, r)
        return r["manifest"]["version"]

    def put(self, path, body):
        return request_json("PUT", self.url + "/index/" + path, body)

    def get(self, name):
        return request_json("GET", self.url + "/index/" + name)

    def record(self, name, version, fp, state, parts=(), **kw):
        body = dict({"fingerprint": fp, "state": state,
                     "parts": [{"object_key": o, "part_key": p, "rows": 1, "bytes": 9}
                               for o, p in parts]}, **kw)
        return self.put("%s/versions/%s" % (name, version), body)

    def pending(self, query=""):
        st, _, r = request_json("GET", self.url + "/index-pending" + query)
        self.assertEqual(st, 200, r)
        return [(p["name"], p["version"], p["state"]) for p in r["pending"]]

    # --- declarations -------------------------------------------------------

    def test_declare_show_replace_drop(self):
        self.assertError(self.put("people", {"text": ["title"]}), 404, "not_found")
        self.assertError(self.get("people"), 404, "not_found")
        self.reg("people", ["p/a"])
        self.reg("people", ["p/b"], "append")
        st, _, e = self.get("people")
        self.assertError((st, _, e), 404, "no_index")
        self.assertIn("lakehouse index people --text", e["error"])

        st, _, ix = self.put("people", {"text": ["title", "notes"], "id": "id"})
        self.assertEqual(st, 201, ix)
        self.assertEqual(set(ix), {"name", "declaration", "fingerprint", "from_version",
                                   "created_at", "component", "component_dim", "versions"})
        self.assertEqual(ix["declaration"],
                         {"text": ["title", "notes"], "id": "id", "embedder": "builtin"})
        self.assertEqual(ix["fingerprint"], decl_fp(["title", "notes"], "id"))
        self.assertEqual((ix["name"], ix["from_version"]), ("people", 2))
        self.assertIsNone(ix["component"])
        self.assertIsNone(ix["component_dim"])
        self.assertEqual(len(ix["versions"]), 1)
        v = ix["versions"][0]
        self.assertEqual((v["version"], v["state"], v["rows"], v["rows_indexed"], v["parts"],
                          v["reason"], v["build_ms"], v["updated_at"]),
                         (2, "pending", 2, 0, [], None, None, None))

        # the same declaration in another spelling: 200, unchanged
        st, _, again = self.put("people", {"embedder": "builtin", "id": "id",
                                           "text": ["title", "notes"]})
        self.assertEqual(st, 200, again)
        self.assertEqual((again["fingerprint"], again["created_at"]),
                         (ix["fingerprint"], ix["created_at"]))
        # later versions are covered
        self.reg("people", ["p/c"], "append")
        st, _, ix = self.get("people")
        self.assertEqual([v["version"] for v in ix["versions"]], [2, 3])
        # another declaration replaces it, from the latest version
        st, _, ix2 = self.put("people", {"text": ["notes"], "embedder": "ollama/nomic-embed-text"})
        self.assertEqual(st, 200, ix2)
        self.assertEqual(ix2["fingerprint"], decl_fp(["notes"], None, "ollama/nomic-embed-text"))
        self.assertEqual((ix2["from_version"], [v["version"] for v in ix2["versions"]]), (3, [3]))

        st, _, _ = request("DELETE", self.url + "/index/people")
        self.assertEqual(st, 204)
        self.assertError(self.get("people"), 404, "no_index")
        self.assertError(request_json("DELETE", self.url + "/index/people"), 404, "no_index")
        self.assertError(request_json("DELETE", self.url + "/index/nobody"), 404, "not_found")
        st, _, m = request_json("GET", self.url + "/manifest/people")
        self.assertEqual((st, m["version"]), (200, 3))  # the data stays

        # dropping the dataset drops its index
        self.assertEqual(self.put("people", {"text": ["notes"]})[0], 201)
        self.assertEqual(request("DELETE", self.url + "/manifest/people")[0], 204)
        self.reg("people", ["p/a"])
        self.assertError(self.get("people"), 404, "no_index")

    def test_declare_bad_input(self):
        self.reg("people", ["p/a"])
        st, _, e = self.put("people", {"text": ["title", "nope"]})
        self.assertError((st, _, e), 400, "unknown_column")
        self.assertEqual((e["column"], e["field"]), ("nope", "text[1]"))
        self.assertEqual(e["columns"], ["id", "title", "notes", "score"])
        self.assertIn("title, notes", e["error"])
        st, _, e = self.put("people", {"text": ["score"]})
        self.assertError((st, _, e), 400, "bad_request")
        self.assertIn("float64", e["error"])
        for body, field in (({"vector": "emb", "id": "id"}, "vector"),
                            ({"text": ["title"], "vector": "emb"}, "vector"),
                            ({"text": []}, "text"),
                            ({"text": "title"}, "text"),
                            ({}, "text"),
                            ({"text": ["title", "title"]}, "text[1]"),
                            ({"text": [3]}, "text[0]"),
                            ({"text": ["title"], "id": "nope"}, "id"),
                            ({"text": ["title"], "embedder": "bert"}, "embedder"),
                            ({"text": ["title"], "embedder": "ollama/"}, "embedder"),
                            ({"text": ["title"], "embedder": "openai/a b"}, "embedder"),
                            ({"text": ["title"], "colour": "red"}, "colour")):
            st, _, e = self.put("people", body)
            self.assertEqual(st, 400, (body, e))
            self.assertEqual(e.get("field"), field, (body, e))
        st, _, e = self.put("people", {"vector": "emb"})
        self.assertIn("only text indexes", e["error"])
        self.assertError(request_json("PUT", self.url + "/index/people", b"{nope",
                                      {"Content-Type": "application/json"}), 400, "bad_json")
        self.assertError(request_json("PUT", self.url + "/index/people", b"{}",
                                      {"Content-Type": "text/csv"}), 415,
                         "unsupported_media_type")
        self.assertError(request_json("PUT", self.url + "/index/9lives", {"text": ["t"]}),
                         400, "bad_name")
        self.assertError(request_json("GET", self.url + "/index/people/versions"), 404,
                         "not_found")
        self.assertError(request_json("DELETE", self.url + "/index/people/"), 404, "not_found")
        for path in ("people/versions/0", "people/versions/x", "people/other", "people/",
                     "people/versions/", "people/versions/1/x"):
            self.assertError(self.put(path, {}), 404, "not_found")
        self.assertError(self.get("people"), 404, "no_index")  # nothing was declared

    # --- build records ------------------------------------------------------

    def test_build_records(self):
        self.reg("people", ["p/a", "p/b"])
        st, _, ix = self.put("people", {"text": ["title"]})
        fp = ix["fingerprint"]
        self.assertError(self.record("people", 1, FP_ZERO, "building"), 409, "index_changed")
        self.assertError(self.record("people", 2, fp, "building"), 404, "not_found")
        self.assertError(self.record("nobody", 1, fp, "building"), 404, "not_found")
        for body in ({"fingerprint": fp, "state": "pending"}, {"fingerprint": fp},
                     {"state": "ready"}, {"fingerprint": "x", "state": "ready"},
                     {"fingerprint": fp, "state": "ready", "rows_indexed": -1},
                     {"fingerprint": fp, "state": "ready", "extra": 1},
                     {"fingerprint": fp, "state": "ready",
                      "parts": [{"object_key": "p/a", "part_key": "elsewhere/x"}]},
                     {"fingerprint": fp, "state": "ready",
                      "parts": [{"object_key": "p/a", "part_key": "_index/../x"}]},
                     {"fingerprint": fp, "state": "ready",
                      "parts": [{"object_key": "p/a", "part_key": "_index/x"},
                                {"object_key": "p/b", "part_key": "_index/x"}]},
                     {"fingerprint": fp, "state": "ready",
                      "parts": [{"object_key": "p/zz", "part_key": "_index/x"}]}):
            st, _, e = self.put("people/versions/1", body)
            self.assertEqual(st, 400, (body, e))

        st, _, r = self.record("people", 1, fp, "building")
        self.assertEqual((st, r["state"], r["attempts"], r["ignored"]), (200, "building", 1, False))
        self.assertEqual(self.record("people", 1, fp, "building")[2]["attempts"], 1)  # heartbeat
        st, _, r = self.record("people", 1, fp, "ready",
                               [("p/a", "_index/f/a"), ("p/b", "_index/f/b")],
                               rows_indexed=2, build_ms=40)
        self.assertEqual((st, r["state"], r["ignored"]), (200, "ready", False), r)
        st, _, ix = self.get("people")
        v = ix["versions"][0]
        self.assertEqual((v["state"], v["rows_indexed"], v["build_ms"]), ("ready", 2, 40))
        self.assertEqual(v["parts"], [
            {"object_key": "p/a", "part_key": "_index/f/a", "rows": 1, "bytes": 9},
            {"object_key": "p/b", "part_key": "_index/f/b", "rows": 1, "bytes": 9}])
        self.assertRegex(v["updated_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # ready is final
        st, _, r = self.record("people", 1, fp, "failed", reason="late")
        self.assertEqual((st, r["state"], r["ignored"]), (200, "ready", True))
        self.assertEqual(self.get("people")[2]["versions"][0]["parts"], v["parts"])
        # re-declared meanwhile: the builder's work is refused
        self.put("people", {"text": ["notes"]})
        self.assertError(self.record("people", 1, fp, "ready"), 409, "index_changed")

    def test_component_first_writer_wins(self):
        self.reg("people", ["p/a"])
        fp = self.put("people", {"text": ["title"]})[2]["fingerprint"]
        self.assertError(self.put("people/component", {"fingerprint": FP_ZERO, "component": [1]}),
                         409, "index_changed")
        for bad in ([], ["x"], "1", [1e400], None):
            st, _, e = self.put("people/component", {"fingerprint": fp, "component": bad})
            self.assertEqual(st, 400, (bad, e))
        st, _, r = self.put("people/component", {"fingerprint": fp,
                                                 "component": [0.1, -0.25, 3]})
        self.assertEqual(st, 200, r)
        self.assertEqual((r["component"], r["component_dim"], r["fingerprint"]),
                         ([0.1, -0.25, 3.0], 3, fp))
        st, _, r = self.put("people/component", {"fingerprint": fp, "component": [9, 9]})
        self.assertEqual((st, r["component"]), (200, [0.1, -0.25, 3.0]))  # the first stays
        self.assertEqual(self.get("people")[2]["component"], [0.1, -0.25, 3.0])

    def test_pending_queue(self):
        self.assertEqual(self.pending(), [])
        self.reg("zeta", ["z/1"])
        time.sleep(0.01)
        self.reg("alpha", ["a/1"])
        self.reg("plain", ["q/1"])  # never declared
        fz = self.put("zeta", {"text": ["title"]})[2]["fingerprint"]
        self.put("alpha", {"text": ["title"]})
        time.sleep(0.01)
        self.reg("zeta", ["z/2"], "append")
        self.assertEqual(self.pending(), [("zeta", 1, "pending"), ("alpha", 1, "pending"),
                                          ("zeta", 2, "pending")])
        self.assertEqual(self.pending("?limit=1"), [("zeta", 1, "pending")])
        st, _, r = request_json("GET", self.url + "/index-pending")
        e = r["pending"][0]
        self.assertEqual(set(e), {"name", "version", "fingerprint", "declaration", "state",
                                  "attempts"})
        self.assertEqual((e["fingerprint"], e["declaration"]["text"]), (fz, ["title"]))
        for q in ("?limit=0", "?limit=x", "?limit=1001", "?stale_ms=-1"):
            self.assertError(request_json("GET", self.url + "/index-pending" + q), 400,
                             "bad_request")

        self.record("zeta", 1, fz, "building")
        self.record("zeta", 2, fz, "ready")
        self.assertEqual(self.pending(), [("alpha", 1, "pending")])
        time.sleep(0.05)
        # a build that stopped reporting is handed out again
        self.assertEqual(self.pending("?stale_ms=10"), [("zeta", 1, "building"),
                                                       ("alpha", 1, "pending")])
        # failed builds are retried, three attempts in all
        self.record("zeta", 1, fz, "failed", reason="boom")
        for _ in range(2):
            self.assertIn(("zeta", 1, "failed"), self.pending())
            self.record("zeta", 1, fz, "building")
            self.record("zeta", 1, fz, "failed", reason="boom")
        self.assertEqual(self.pending(), [("alpha", 1, "pending")])
        v = self.get("zeta")[2]["versions"][0]
        self.assertEqual((v["state"], v["reason"], v["attempts"]), ("failed", "boom", 3))

    def test_concurrent_declarations(self):
        """Declarations of one dataset serialise: of eight identical ones
        exactly one creates it; of racing different ones, one wins whole."""
        import threading
        self.reg("people", ["p/a"])
        results = []

        def put(body):
            st, _, r = self.put("people", body)
            results.append((st, r.get("fingerprint")))

        threads = [threading.Thread(target=put, args=({"text": ["title"]},)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(st for st, _ in results), [200] * 7 + [201])
        self.assertEqual({fp for _, fp in results}, {decl_fp(["title"])})
        results.clear()
        bodies = [{"text": ["title"], "id": "id"}, {"text": ["notes"]}, {"text": ["notes", "title"]}]
        threads = [threading.Thread(target=put, args=(bodies[i % 3],)) for i in range(9)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([st for st, _ in results], [200] * 9)
        st, _, ix = self.get("people")
        self.assertIn(ix["fingerprint"], {fp for _, fp in results})
        self.assertEqual(ix["fingerprint"], decl_fp(ix["declaration"]["text"],
                                                    ix["declaration"]["id"]))

    def test_builder_poll_is_not_logged(self):
        """queryd's builder polls the queue each second, marked as a peer's
        poll (X-Lakehouse-Health-Check, like the health checks): an idle
        server's log stays empty (ADR 0121). Other requests are logged."""
        def lines():
            return [json.loads(l) for l in self.srv.read_log().splitlines()
                    if l.startswith("{") and '"/catalog/index-pending"' in l]
        before = len(lines())
        for _ in range(3):
            st, _, _ = request_json("GET", self.url + "/index-pending",
                                    headers={"X-Lakehouse-Health-Check": "1"})
            self.assertEqual(st, 200)
        self.assertEqual(request_json("GET", self.url + "/index-pending?limit=2")[0], 200)
        deadline = time.time() + 10  # request lines are written after the answer
        while len(lines()) == before and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        self.assertEqual([l["request_id"] and l["path"] for l in lines()[before:]],
                         ["/catalog/index-pending"])  # the unmarked one only

    def test_survives_restart(self):
        self.reg("people", ["p/a"])
        fp = self.put("people", {"text": ["title"]})[2]["fingerprint"]
        self.record("people", 1, fp, "ready", [("p/a", "_index/f/a")])
        self.put("people/component", {"fingerprint": fp, "component": [0.5]})
        before = self.get("people")[2]
        self.srv.stop()
        srv = self.start("catalogd", env=self.env(), data_dir=self.srv.data_dir)
        st, _, after = request_json("GET", srv.url + "/catalog/index/people")
        self.assertEqual((st, after), (200, before))


class PostgresIndexCatalogTest(IndexCatalogTest):
    def setUp(self):
        self._env = None
        super().setUp()

    def env(self):
        """A fresh database per test, kept across a restart."""
        if self._env is None:
            pg = postgres()
            self._env = {"LAKEHOUSE_CATALOGD_BACKEND": "postgres",
                         "LAKEHOUSE_CATALOGD_POSTGRES_DSN": pg.dsn(pg.create_database("index"))}
        return self._env


class IndexStoragedTest(ServerTest):
    """catalogd with storaged (and nothing else: no builder), so each step is
    ours: a record's parts must be in storaged, GC keeps referenced parts."""

    def env(self):
        return {}

    def setUp(self):
        self.st = self.start("storaged")
        self.cat = self.start("catalogd", env=dict(self.env(),
                                                   LAKEHOUSE_CATALOGD_STORAGED_URL=self.st.url))
        self.url = self.cat.url + "/catalog"

    def store(self, key, data=b"x"):
        self.assertEqual(request("PUT", self.st.url + "/storage/put/" + key, data)[0], 200)

    def exists(self, key):
        return request("HEAD", self.st.url + "/storage/get/" + key)[0] == 200

    def gc(self):
        st, _, g = request_json("POST", self.url + "/gc", {"grace_seconds": 0})
        self.assertEqual(st, 200, g)
        return [c["key"] for c in g["candidates"] if c.get("deleted")]

    def test_parts_checked_and_kept(self):
        self.store("datasets/people/a.parquet")
        st, _, r = request_json("POST", self.url + "/register",
                                reg_body("people", ["datasets/people/a.parquet"]))
        self.assertEqual(st, 200, r)
        st, _, ix = request_json("PUT", self.url + "/index/people", {"text": ["title"]})
        fp = ix["fingerprint"]
        rec = {"fingerprint": fp, "state": "ready", "rows_indexed": 1,
               "parts": [{"object_key": "datasets/people/a.parquet", "part_key": "_index/f/a",
                          "rows": 1, "bytes": 1}]}
        st, _, e = request_json("PUT", self.url + "/index/people/versions/1", rec)
        self.assertError((st, _, e), 409, "object_missing")
        self.assertEqual(e["key"], "_index/f/a")
        self.assertEqual(request_json("GET", self.url + "/index/people")[2]["versions"][0]["state"],
                         "pending")  # nothing written
        self.store("_index/f/a")
        self.store("_index/f/orphan")
        st, _, r = request_json("PUT", self.url + "/index/people/versions/1", rec)
        self.assertEqual((st, r["state"]), (200, "ready"), r)
        deleted = self.gc()
        self.assertEqual(deleted, ["_index/f/orphan"])
        self.assertTrue(self.exists("_index/f/a"))
        self.assertTrue(self.exists("datasets/people/a.parquet"))
        # the declaration replaced: its parts are garbage, the data is not
        request_json("PUT", self.url + "/index/people", {"text": ["notes"]})
        self.assertEqual(self.gc(), ["_index/f/a"])
        self.assertFalse(self.exists("_index/f/a"))
        self.assertTrue(self.exists("datasets/people/a.parquet"))


class PostgresIndexStoragedTest(IndexStoragedTest):
    def env(self):
        pg = postgres()
        return {"LAKEHOUSE_CATALOGD_BACKEND": "postgres",
                "LAKEHOUSE_CATALOGD_POSTGRES_DSN": pg.dsn(pg.create_database("ixgc"))}


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


CSV = b"id,title,notes\n1,Forklift operator,OSHA-30 certified\n2,Welder,MIG and TIG\n"


class IndexServeTest(ServerTest):
    """Through `lakehouse serve` and the gateway, with tokens."""

    def setUp(self):
        self.srv = self.start("serve", env=dict(TOKENS, LAKEHOUSE_LOG="quiet"))
        self.url = self.srv.url

    def call(self, method, path, body=None, token=WRITE, headers=None):
        h = dict(bearer(token), **(headers or {}))
        return request_json(method, self.url + path, body, h, timeout=120)

    def ingest(self, name, csv=CSV):
        st, _, r = self.call("POST", "/v1/ingest?name=" + name, csv,
                             headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, r)

    def cli(self, *args, token=WRITE):
        env = dict(os.environ, LAKEHOUSE_URL=self.url, LAKEHOUSE_TOKEN=token)
        return subprocess.run([BINARY] + list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)

    def ready(self, name, version=1, timeout=60):
        """The version's record once it is ready (queryd's builder, if it runs,
        or our own record), None if it never gets there."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, _, ix = self.call("GET", "/v1/catalog/index/" + name, token=READ)
            for v in ix.get("versions", []):
                if v["version"] == version and v["state"] == "ready":
                    return v
            time.sleep(0.1)
        return None

    def test_tokens(self):
        self.ingest("people")
        path = "/v1/catalog/index/people"
        self.assertError(self.call("GET", path, token=READ), 404, "no_index")
        self.assertError(self.call("PUT", path, {"text": ["title"]}, token=READ), 403,
                         "forbidden")
        st, _, ix = self.call("PUT", path, {"text": ["title"]})
        self.assertEqual(st, 201, ix)
        self.assertEqual(self.call("GET", path, token=READ)[0], 200)
        self.assertEqual(self.call("GET", "/v1/catalog/index-pending", token=READ)[0], 200)
        for p in ("/versions/1", "/component"):
            self.assertError(self.call("PUT", path + p, {"fingerprint": ix["fingerprint"],
                                                         "state": "failed"}, token=READ),
                             403, "forbidden")
        self.assertError(self.call("DELETE", path, token=READ), 403, "forbidden")
        st, _, _ = request("GET", self.url + path)
        self.assertEqual(st, 401)
        self.assertEqual(self.call("DELETE", path)[0], 204)

    def storaged_url(self):
        """The embedded storaged's own address, from the gateway's /health."""
        st, _, h = self.call("GET", "/health", token=READ)
        return h["services"]["storaged"]["url"].split(",")[0]

    def test_parts_must_exist_and_gc_keeps_them(self):
        self.ingest("people")
        st, _, m = self.call("GET", "/v1/catalog/manifest/people", token=READ)
        obj = m["objects"][0]["key"]
        st, _, ix = self.call("PUT", "/v1/catalog/index/people", {"text": ["title", "notes"]})
        fp = ix["fingerprint"]
        rec = {"fingerprint": fp, "state": "ready", "rows_indexed": 2,
               "parts": [{"object_key": obj, "part_key": "_index/test/p1", "rows": 2,
                          "bytes": 4}]}
        v = self.ready("people", timeout=1)
        if v is None:
            # no builder was quick enough: the part must exist before its record
            st, _, e = self.call("PUT", "/v1/catalog/index/people/versions/1", rec)
            if st != 200 or not e.get("ignored"):
                self.assertError((st, _, e), 409, "object_missing")
                self.assertEqual(e["key"], "_index/test/p1")
                self.assertEqual(request("PUT", self.storaged_url() + "/storage/put/_index/test/p1",
                                         b"part", bearer(WRITE))[0], 200)
                st, _, r = self.call("PUT", "/v1/catalog/index/people/versions/1", rec)
                self.assertEqual(st, 200, r)
        v = self.ready("people")
        self.assertIsNotNone(v)
        live = [p["part_key"] for p in v["parts"]]
        self.assertTrue(live)
        self.assertTrue(all(k.startswith("_index/") for k in live), live)
        orphan = "_index/test/orphan"
        # index parts are read-only through the gateway (ADR 0150): the
        # orphan goes to storaged itself, as queryd's builder writes parts
        self.assertEqual(request("PUT", self.url + "/v1/storage/put/" + orphan, b"x",
                                 bearer(WRITE))[0], 403)
        self.assertEqual(request("PUT", self.storaged_url() + "/storage/put/" + orphan, b"x",
                                 bearer(WRITE))[0], 200)
        st, _, g = self.call("POST", "/v1/catalog/gc", {"grace_seconds": 0})
        self.assertEqual(st, 200, g)
        deleted = [c["key"] for c in g["candidates"] if c.get("deleted")]
        self.assertIn(orphan, deleted)
        for k in live:
            self.assertNotIn(k, deleted)
            self.assertEqual(request("HEAD", self.url + "/v1/storage/get/" + k,
                                     headers=bearer(WRITE))[0], 200, k)
            # changed deliberately (ADR 0211): parts hold whole rows, personal
            # columns included, so a read token may not fetch them raw
            self.assertEqual(request("HEAD", self.url + "/v1/storage/get/" + k,
                                     headers=bearer(READ))[0], 403, k)
        # a dropped index's parts are garbage
        self.assertEqual(self.call("DELETE", "/v1/catalog/index/people")[0], 204)
        st, _, g = self.call("POST", "/v1/catalog/gc", {"grace_seconds": 0})
        deleted = [c["key"] for c in g["candidates"] if c.get("deleted")]
        for k in live:
            self.assertIn(k, deleted)
        st, _, m2 = self.call("GET", "/v1/catalog/manifest/people", token=READ)
        self.assertEqual(request("HEAD", self.url + "/v1/storage/get/" + obj,
                                 headers=bearer(WRITE))[0], 200)  # the data stays

    def test_cli(self):
        self.ingest("people")
        r = self.cli("help")
        self.assertIn(b"index", r.stdout)
        r = self.cli("index", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"--text", r.stdout)
        r = self.cli("index", "people")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no search index", r.stderr)
        self.assertIn(b"lakehouse index people --text", r.stderr)
        r = self.cli("index", "people", "--text", "title,nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b'no column "nope"', r.stderr)
        r = self.cli("index", "people", "--text", "title, notes", "--id", "id", token=READ)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"read-only", r.stderr)
        r = self.cli("index", "people", "--text", "title, notes", "--id", "id")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("declared the search index of people", out)
        self.assertIn("text:         title, notes", out)
        self.assertIn("id:           id", out)
        self.assertRegex(out, r"VERSION +STATE +ROWS")
        r = self.cli("index", "people", "--text", "title,notes", "--id", "id")
        self.assertIn(b"nothing changed", r.stdout)
        r = self.cli("index", "people", "--json", token=READ)
        self.assertEqual(r.returncode, 0)
        j = json.loads(r.stdout)
        self.assertEqual(j["declaration"], {"text": ["title", "notes"], "id": "id",
                                            "embedder": "builtin"})
        r = self.cli("index", "people", "--text", "notes")
        self.assertIn(b"replaced the search index of people", r.stdout)
        for bad in (["index"], ["index", "people", "--drop", "--text", "a"],
                    ["index", "people", "--id", "id"], ["index", "people", "--text"],
                    ["index", "people", "--text", "a,,b"], ["index", "a", "b"]):
            self.assertEqual(self.cli(*bad).returncode, 2, bad)
        r = self.cli("index", "people", "--drop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"dropped the search index of people", r.stdout)
        self.assertEqual(self.cli("index", "people", "--drop").returncode, 1)


if __name__ == "__main__":
    unittest.main()
