"""test_catalogd.py — catalogd against the real binary (docs/api.md, issue "catalogd
complete"): register semantics, reads, drop, restart, schema drift, bad input,
concurrency, and durability under SIGKILL at random moments.

Every test runs against both catalog backends: CatalogdTest on SQLite (the
default), PostgresCatalogdTest on PostgreSQL — one throwaway cluster for the
module (lhtest.PostgresServer, started on first use, stopped in
tearDownModule) and a fresh database per test. PostgresCatalogdTest adds what
only a shared server has: two catalogd instances on one database, concurrent
migrations at start, reconnecting after the server drops the connections.
"""
import hashlib
import http.client
import json
import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time
import unittest

from lhtest import PostgresServer, Server, ServerTest, free_port, request, request_json

SCHEMA = [("id", "int64"), ("name", "utf8")]
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"


def fingerprint(schema):
    """docs/schema.md, "The fingerprint"."""
    h = hashlib.sha256()
    for name, typ in schema:
        h.update(name.encode() + b"\x1f" + typ.encode() + b"\x1e")
    return "sha256:" + h.hexdigest()


def obj(key, rows=1):
    return {"key": key, "size": rows * 10, "row_count": rows,
            "content_sha256": hashlib.sha256(key.encode()).hexdigest()}


def body(name, objects, schema=SCHEMA, mode=None):
    """A register body; `objects` is a list of keys or of (key, rows)."""
    objs = [obj(o) if isinstance(o, str) else obj(*o) for o in objects]
    b = {"name": name, "schema_fingerprint": fingerprint(schema),
         "schema": [{"name": n, "type": t, "nullable": True} for n, t in schema],
         "objects": objs, "row_count": sum(o["row_count"] for o in objs)}
    if mode:
        b["mode"] = mode
    return b


class Catalog:
    """Small client for one catalogd."""

    def __init__(self, url):
        self.url = url

    def register(self, b, timeout=60):
        return request_json("POST", self.url + "/catalog/register", b, timeout=timeout)

    def manifest(self, name, version=None):
        q = "" if version is None else "?version=%s" % version
        return request_json("GET", self.url + "/catalog/manifest/" + name + q)

    def versions(self, name):
        return request_json("GET", self.url + "/catalog/versions/" + name)

    def datasets(self):
        return request_json("GET", self.url + "/catalog/datasets")

    def drop(self, name):
        return request("DELETE", self.url + "/catalog/manifest/" + name)


_postgres = None


def postgres():
    """The module's PostgreSQL cluster, started on first use."""
    global _postgres
    if _postgres is None:
        _postgres = PostgresServer()
    return _postgres


def tearDownModule():
    global _postgres
    if _postgres is not None:
        _postgres.stop()
        _postgres = None


class CatalogdTest(ServerTest):
    """catalogd on SQLite (the default backend)."""

    backend = "sqlite"

    def setUp(self):
        self.catalog_env = {}  # the default: <data_dir>/catalog.db

    def catalogd(self, env=None, **kw):
        full_env = dict(self.catalog_env)
        full_env.update(env or {})
        srv = self.start("catalogd", env=full_env, **kw)
        return srv, Catalog(srv.url)

    def check_store_intact(self, data_dir, label):
        """After a SIGKILL: the SQLite file passes PRAGMA integrity_check."""
        con = sqlite3.connect(os.path.join(data_dir, "catalog.db"))
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok", label)
        finally:
            con.close()

    # --- semantics --------------------------------------------------------

    def test_register_versions_and_reads(self):
        srv, c = self.catalogd()
        st, _, r = c.register(body("people", [("p/a.parquet", 3), ("p/b.parquet", 4)]))
        self.assertEqual(st, 200, r)
        self.assertFalse(r["existing"])
        m = r["manifest"]
        for field in ("name", "version", "schema_fingerprint", "schema", "objects",
                      "row_count", "size_bytes", "created_at", "updated_at", "mode"):
            self.assertIn(field, m)
        self.assertEqual((m["name"], m["version"], m["row_count"], m["size_bytes"], m["mode"]),
                         ("people", 1, 7, 70, "replace"))
        self.assertEqual(m["schema_fingerprint"], fingerprint(SCHEMA))
        self.assertEqual(m["schema"][0], {"name": "id", "type": "int64", "nullable": True})
        self.assertEqual(m["objects"][1], obj("p/b.parquet", 4))
        self.assertRegex(m["created_at"], RFC3339)
        self.assertRegex(m["updated_at"], RFC3339)

        # the same content again (any order): existing, no new version
        st, _, r = c.register(body("people", [("p/b.parquet", 4), ("p/a.parquet", 3)]))
        self.assertEqual(st, 200, r)
        self.assertTrue(r["existing"])
        self.assertEqual(r["manifest"]["version"], 1)
        # replace with other objects: version 2
        st, _, r = c.register(body("people", [("p/c.parquet", 5)], mode="replace"))
        self.assertEqual((st, r["existing"], r["manifest"]["version"]), (200, False, 2))
        self.assertEqual([o["key"] for o in r["manifest"]["objects"]], ["p/c.parquet"])
        # append: version 3 holds c and d
        st, _, r = c.register(body("people", [("p/d.parquet", 1)], mode="append"))
        self.assertEqual((st, r["manifest"]["version"]), (200, 3))
        self.assertEqual([o["key"] for o in r["manifest"]["objects"]],
                         ["p/c.parquet", "p/d.parquet"])
        self.assertEqual((r["manifest"]["row_count"], r["manifest"]["mode"]), (6, "append"))
        # appending what is already there: existing (idempotent re-ingest)
        st, _, r = c.register(body("people", [("p/d.parquet", 1)], mode="append"))
        self.assertEqual((st, r["existing"], r["manifest"]["version"]), (200, True, 3))

        st, _, m = c.manifest("people")
        self.assertEqual((st, m["version"]), (200, 3))
        st, _, m1 = c.manifest("people", 1)
        self.assertEqual((st, m1["version"], len(m1["objects"])), (200, 1, 2))
        self.assertEqual(m1["created_at"], m["created_at"])  # the dataset's creation
        st, _, v = c.versions("people")
        self.assertEqual(st, 200)
        self.assertEqual(v["name"], "people")
        self.assertEqual([x["version"] for x in v["versions"]], [1, 2, 3])
        self.assertEqual([x["mode"] for x in v["versions"]], ["replace", "replace", "append"])
        for x in v["versions"]:
            self.assertEqual(set(x), {"version", "created_at", "row_count", "size_bytes",
                                      "mode", "schema_fingerprint"})

        c.register(body("alpha", ["a/x"]))
        c.register(body("Zed", []))
        st, _, d = c.datasets()
        self.assertEqual(st, 200)
        self.assertEqual([x["name"] for x in d["datasets"]], ["Zed", "alpha", "people"])
        people = d["datasets"][2]
        self.assertEqual((people["version"], people["row_count"], people["size_bytes"]),
                         (3, 6, 60))
        for field in ("updated_at", "schema_fingerprint"):
            self.assertIn(field, people)

    def test_not_found_and_bad_paths(self):
        srv, c = self.catalogd()
        c.register(body("people", ["k"]))
        self.assertError(c.manifest("nobody"), 404, "not_found")
        self.assertError(c.manifest("people", 2), 404, "not_found")
        self.assertError(c.versions("nobody"), 404, "not_found")
        for bad in ("0", "-1", "x", "1.5", "99999999999999999999999"):
            st, _, e = c.manifest("people", bad)
            self.assertEqual((st, e["code"], e.get("field")), (400, "bad_request", "version"))
        for path in ("/catalog/manifest/9lives", "/catalog/manifest/a-b",
                     "/catalog/versions/a%2Fb", "/catalog/manifest/"):
            self.assertError(request_json("GET", srv.url + path), 400, "bad_name")
        st, _, _ = request("DELETE", srv.url + "/catalog/manifest/..%2Fx")
        self.assertEqual(st, 400)
        st, _, _ = request("PUT", srv.url + "/catalog/register", b"{}")
        self.assertEqual(st, 405)

    def test_schema_drift(self):
        srv, c = self.catalogd()
        c.register(body("people", ["a"]))
        new_schema = [("name", "utf8"), ("id", "float64"), ("zip", "utf8")]
        st, _, e = c.register(body("people", ["b"], schema=new_schema, mode="append"))
        self.assertEqual(st, 409, e)
        self.assertEqual(e["code"], "schema_drift")
        self.assertTrue(e["error"])
        self.assertEqual(e["existing_fingerprint"], fingerprint(SCHEMA))
        self.assertEqual(e["new_fingerprint"], fingerprint(new_schema))
        diff = {(d["column"], d["change"], d["old_type"], d["new_type"]) for d in e["diff"]}
        self.assertIn(("zip", "added", None, "utf8"), diff)
        self.assertIn(("id", "type_changed", "int64", "float64"), diff)
        self.assertTrue(any(d[1] == "moved" for d in diff), diff)
        st, _, e = c.register(body("people", ["b"], schema=[("id", "int64")]))
        self.assertEqual(st, 409)
        self.assertIn(("name", "removed", "utf8", None),
                      {(d["column"], d["change"], d["old_type"], d["new_type"]) for d in e["diff"]})
        # nothing changed
        st, _, v = c.versions("people")
        self.assertEqual([x["version"] for x in v["versions"]], [1])

    def test_content_types(self):
        srv, c = self.catalogd()
        # `curl -d '{...}'` sends a form type, which an HTML form on any
        # site can send too: refused since ADR 0110, like no type at all
        self.assertError(request_json("POST", srv.url + "/catalog/register",
                                      json.dumps(body("p", ["a"])),
                                      {"Content-Type": "application/x-www-form-urlencoded"}),
                         415, "unsupported_media_type")
        self.assertError(request_json("POST", srv.url + "/catalog/register",
                                      json.dumps(body("p", ["a"])).encode()),
                         415, "unsupported_media_type")
        st, _, r = request_json("POST", srv.url + "/catalog/register", json.dumps(body("p", ["b"])),
                                {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual((st, r["manifest"]["version"]), (200, 1))
        self.assertError(request_json("POST", srv.url + "/catalog/register",
                                      json.dumps(body("p", ["c"])),
                                      {"Content-Type": "multipart/form-data; boundary=x"}),
                         415, "unsupported_media_type")

    def test_object_conflict(self):
        srv, c = self.catalogd()
        c.register(body("people", ["a"]))
        b = body("people", ["a"], mode="append")
        b["objects"][0]["content_sha256"] = "0" * 64
        st, _, e = c.register(b)
        self.assertEqual((st, e["code"]), (409, "object_conflict"))

    def test_drop(self):
        srv, c = self.catalogd()
        c.register(body("people", ["a"]))
        c.register(body("people", ["b"]))
        st, _, data = c.drop("people")
        self.assertEqual((st, data), (204, b""))
        self.assertError(c.manifest("people"), 404, "not_found")
        self.assertError(c.manifest("people", 1), 404, "not_found")
        self.assertEqual(c.datasets()[2]["datasets"], [])
        st, _, _ = c.drop("people")
        self.assertEqual(st, 404)
        # re-creating starts fresh, any schema
        st, _, r = c.register(body("people", ["c"], schema=[("x", "bool")]))
        self.assertEqual((st, r["manifest"]["version"]), (200, 1))

    def test_restart_keeps_everything(self):
        srv, c = self.catalogd()
        for i in range(5):
            c.register(body("people", ["k%d" % i], mode="append"))
        c.register(body("other", ["o"]))
        before = {(n, v): c.manifest(n, v)[2] for n, v in
                  [("people", i) for i in range(1, 6)] + [("other", 1)]}
        listing = c.datasets()[2]
        srv.stop()
        srv2, c2 = self.catalogd(data_dir=srv.data_dir)
        for (n, v), m in before.items():
            self.assertEqual(c2.manifest(n, v)[2], m)
        self.assertEqual(c2.datasets()[2], listing)
        st, _, r = c2.register(body("people", ["k5"], mode="append"))
        self.assertEqual(r["manifest"]["version"], 6)
        self.assertEqual(os.path.exists(os.path.join(srv.data_dir, "catalog.db")),
                         self.backend == "sqlite")

    # --- bad input -----------------------------------------------------------

    def test_bad_input_names_the_field_and_writes_nothing(self):
        srv, c = self.catalogd()
        c.register(body("people", ["a"]))
        before = c.datasets()[2]

        def good():
            return body("people", ["n/1", ("n/2", 2)])

        def mutate(fn):
            b = good()
            fn(b)
            return b

        cases = [
            ("missing name", mutate(lambda b: b.pop("name")), 400, "bad_request", "name"),
            ("name not a string", mutate(lambda b: b.update(name=5)), 400, "bad_request", "name"),
            ("bad name", mutate(lambda b: b.update(name="1x")), 400, "bad_name", "name"),
            ("bad name chars", mutate(lambda b: b.update(name="a;drop")), 400, "bad_name", "name"),
            ("missing fingerprint", mutate(lambda b: b.pop("schema_fingerprint")), 400,
             "bad_request", "schema_fingerprint"),
            ("malformed fingerprint", mutate(lambda b: b.update(schema_fingerprint="sha256:xyz")),
             400, "bad_request", "schema_fingerprint"),
            ("fingerprint of another schema",
             mutate(lambda b: b.update(schema_fingerprint=fingerprint([("a", "utf8")]))),
             400, "bad_request", "schema_fingerprint"),
            ("schema not an array", mutate(lambda b: b.update(schema={})), 400, "bad_request",
             "schema"),
            ("empty schema", mutate(lambda b: b.update(schema=[])), 400, "bad_request", "schema"),
            ("unknown type", mutate(lambda b: b["schema"][1].update(type="varchar")), 400,
             "bad_request", "schema[1].type"),
            ("nullable mistyped", mutate(lambda b: b["schema"][0].update(nullable="no")), 400,
             "bad_request", "schema[0].nullable"),
            ("missing objects", mutate(lambda b: b.pop("objects")), 400, "bad_request", "objects"),
            ("object not an object", mutate(lambda b: b["objects"].append("k")), 400,
             "bad_request", "objects[2]"),
            ("dotdot key", mutate(lambda b: b["objects"][0].update(key="../etc/passwd")), 400,
             "bad_key", "objects[0].key"),
            ("absolute key", mutate(lambda b: b["objects"][1].update(key="/abs")), 400,
             "bad_key", "objects[1].key"),
            ("empty segment", mutate(lambda b: b["objects"][1].update(key="a//b")), 400,
             "bad_key", "objects[1].key"),
            ("control char", mutate(lambda b: b["objects"][1].update(key="a\tb")), 400,
             "bad_key", "objects[1].key"),
            ("negative size", mutate(lambda b: b["objects"][0].update(size=-1)), 400,
             "bad_request", "objects[0].size"),
            ("size as string", mutate(lambda b: b["objects"][0].update(size="10")), 400,
             "bad_request", "objects[0].size"),
            ("negative rows", mutate(lambda b: b["objects"][1].update(row_count=-2)), 400,
             "bad_request", "objects[1].row_count"),
            ("bad digest", mutate(lambda b: b["objects"][1].update(content_sha256="ABC")), 400,
             "bad_request", "objects[1].content_sha256"),
            ("duplicate key", mutate(lambda b: b["objects"][1].update(key="n/1")), 400,
             "bad_request", "objects[1].key"),
            ("missing row_count", mutate(lambda b: b.pop("row_count")), 400, "bad_request",
             "row_count"),
            ("row_count mismatch", mutate(lambda b: b.update(row_count=99)), 400, "bad_request",
             "row_count"),
            ("row_count float", mutate(lambda b: b.update(row_count=3.0)), 400, "bad_request",
             "row_count"),
            ("unknown mode", mutate(lambda b: b.update(mode="upsert")), 400, "bad_request", "mode"),
            ("mode mistyped", mutate(lambda b: b.update(mode=1)), 400, "bad_request", "mode"),
        ]
        for label, b, status, code, field in cases:
            with self.subTest(label):
                st, _, e = c.register(b)
                self.assertEqual(st, status, (label, e))
                self.assertEqual(e["code"], code, (label, e))
                self.assertEqual(e.get("field"), field, (label, e))
                self.assertTrue(e["error"])

        raw = [(b"{not json", "bad_json"), (b"", "bad_json"), (b"[1,2]", "bad_json"),
               (b'"x"', "bad_json"), (b"{" * 100 + b"}" * 100, "bad_json"),
               (b'{"name": "a", "name": "b"}', "bad_json")]
        for data, code in raw:
            with self.subTest(data[:20]):
                self.assertError(request_json("POST", srv.url + "/catalog/register", data,
                                              {"Content-Type": "application/json"}), 400, code)
        self.assertError(request_json("POST", srv.url + "/catalog/register",
                                      json.dumps(good()), {"Content-Type": "text/csv"}),
                         415, "unsupported_media_type")
        # an over-large body: 413, even when it would be valid JSON
        big = good()
        big["objects"] = [obj("big/%07d" % i) for i in range(40000)]
        big["row_count"] = 40000
        data = json.dumps(big).encode()
        self.assertGreater(len(data), 4 << 20)
        try:
            st, _, e = request_json("POST", srv.url + "/catalog/register", data,
                                    {"Content-Type": "application/json"})
            self.assertEqual((st, e["code"]), (413, "too_large"))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer 413 and close before reading it all
        self.assertEqual(c.datasets()[2], before)
        st, _, v = c.versions("people")
        self.assertEqual([x["version"] for x in v["versions"]], [1])

    # --- concurrency ------------------------------------------------------------

    def _parallel(self, fns):
        results = [None] * len(fns)
        barrier = threading.Barrier(len(fns))

        def run(i):
            barrier.wait()
            results[i] = fns[i]()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return results

    def test_concurrent_registers_one_name(self):
        srv, c = self.catalogd()
        for mode in ("append", "replace"):
            name = "shared_" + mode
            fns = [lambda i=i: c.register(body(name, ["%s/obj%02d" % (name, i)], mode=mode))
                   for i in range(16)]
            results = self._parallel(fns)
            versions = []
            for i, (st, _, r) in enumerate(results):
                self.assertEqual(st, 200, r)
                self.assertFalse(r["existing"])
                versions.append(r["manifest"]["version"])
                keys = [o["key"] for o in r["manifest"]["objects"]]
                self.assertEqual(keys.count("%s/obj%02d" % (name, i)), 1)
            self.assertEqual(sorted(versions), list(range(1, 17)))
            st, _, v = c.versions(name)
            self.assertEqual([x["version"] for x in v["versions"]], list(range(1, 17)))
            st, _, m = c.manifest(name)
            if mode == "append":
                keys = [o["key"] for o in m["objects"]]
                self.assertEqual(sorted(keys), sorted("%s/obj%02d" % (name, i) for i in range(16)))
                # every version holds exactly the objects of the versions before it, plus one
                for ver in range(1, 17):
                    mv = c.manifest(name, ver)[2]
                    self.assertEqual([o["key"] for o in mv["objects"]], keys[:ver])
            else:
                self.assertEqual(len(m["objects"]), 1)

    def test_different_names_in_parallel(self):
        srv, c = self.catalogd()
        # 8 clients on 8 names at once, 10 registers each: all succeed, each
        # name's versions are 1..10 in its own order (SQLite queues writers
        # for one short transaction each; ADR 0040)
        names = ["n%d" % i for i in range(8)]

        def worker(name):
            out = []
            for k in range(10):
                st, _, r = c.register(body(name, ["%s/%d" % (name, k)], mode="append"))
                out.append((st, r["manifest"]["version"] if st == 200 else r))
            return out

        t0 = time.time()
        results = self._parallel([lambda n=n: worker(n) for n in names])
        elapsed = time.time() - t0
        for name, out in zip(names, results):
            self.assertEqual(out, [(200, k + 1) for k in range(10)])
            self.assertEqual(c.manifest(name)[2]["version"], 10)
        self.assertLess(elapsed, 30)

    # --- durability ----------------------------------------------------------------

    def test_sigkill_durability(self):
        """Kill -9 at random moments during a stream of registers, 50 times: the
        database stays intact and every acknowledged register is there."""
        rng = random.Random(0xCA7A109)
        data_dir = tempfile.mkdtemp(prefix="lh-catalog-kill-")
        self.addCleanup(shutil.rmtree, data_dir, True)
        plan = [("dur_shared", "append"), ("dur_shared", "append"),
                ("dur_a", "append"), ("dur_b", "replace")]
        acked = []  # (name, version, key)
        lock = threading.Lock()
        cycles = 50
        total_acked = 0

        for cycle in range(cycles):
            srv = Server("catalogd", data_dir=data_dir, env=self.catalog_env)
            c = Catalog(srv.url)
            stop = threading.Event()
            cycle_acked = []

            def stream(t, name, mode):
                i = 0
                while not stop.is_set():
                    key = "%s/c%03d/t%d/%05d" % (name, cycle, t, i)
                    i += 1
                    try:
                        st, _, r = c.register(body(name, [key], mode=mode), timeout=10)
                    except (OSError, ValueError, AssertionError, http.client.HTTPException):
                        return  # the server died under us
                    if st == 200:
                        with lock:
                            cycle_acked.append((name, r["manifest"]["version"], key))

            threads = [threading.Thread(target=stream, args=(t, n, m))
                       for t, (n, m) in enumerate(plan)]
            for t in threads:
                t.start()
            # Kill only once the stream is under way (bounded wait): on a
            # loaded machine the first register can take longer than the
            # random delay, and a kill before any answer tests nothing.
            deadline = time.time() + 10
            while not cycle_acked and time.time() < deadline:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.005, 0.060))
            srv.kill()
            stop.set()
            for t in threads:
                t.join(30)
            self.check_store_intact(data_dir, "cycle %d" % cycle)
            acked.extend(cycle_acked)
            total_acked += len(cycle_acked)

            # restart and check what this cycle acknowledged
            srv = Server("catalogd", data_dir=data_dir, env=self.catalog_env)
            c = Catalog(srv.url)
            try:
                self._check_acked(c, cycle_acked, plan)
            finally:
                srv.stop()

        # everything ever acknowledged, once more at the end
        srv = Server("catalogd", data_dir=data_dir, env=self.catalog_env)
        try:
            self._check_acked(Catalog(srv.url), acked, plan)
        finally:
            srv.stop()
        print("durability: %d cycles, %d acknowledged registers" % (cycles, total_acked))
        self.assertGreaterEqual(total_acked, cycles)  # the kills did land mid-stream

    def _check_acked(self, c, acked, plan):
        manifests = {}
        for name in {n for n, _ in plan}:
            st, _, v = c.versions(name)
            if st == 404:
                self.assertFalse([a for a in acked if a[0] == name])
                continue
            nums = [x["version"] for x in v["versions"]]
            self.assertEqual(nums, list(range(1, len(nums) + 1)), name)  # dense
        for name, version, key in acked:
            if (name, version) not in manifests:
                st, _, m = c.manifest(name, version)
                self.assertEqual(st, 200, (name, version, m))
                manifests[(name, version)] = {o["key"] for o in m["objects"]}
            self.assertIn(key, manifests[(name, version)], (name, version))


class PostgresCatalogdTest(CatalogdTest):
    """Every CatalogdTest again, on PostgreSQL (a fresh database per test), and
    what only a shared database server has."""

    backend = "postgres"

    def setUp(self):
        self.pg = postgres()
        self.dbname = self.pg.create_database("catalogd")
        self.catalog_env = {"LAKEHOUSE_CATALOGD_BACKEND": "postgres",
                            "LAKEHOUSE_CATALOGD_POSTGRES_DSN": self.pg.dsn(self.dbname)}

    def check_store_intact(self, data_dir, label):
        """After a SIGKILL of catalogd. PostgreSQL's own integrity is not in
        question (the server was not killed, and `PRAGMA integrity_check` has no
        equivalent worth running here), so this checks the catalog's invariants
        instead: every dataset's versions are exactly 1..latest_version, each
        version's totals are the sums over its objects, and object positions are
        dense. Counts the violations; 0 expected."""
        bad = self.pg.psql("""
            SELECT (SELECT count(*) FROM datasets d
                     WHERE d.latest_version <> (SELECT count(*) FROM versions v
                                                 WHERE v.dataset_id = d.id)
                        OR d.latest_version <> (SELECT max(version) FROM versions v
                                                 WHERE v.dataset_id = d.id))
                 + (SELECT count(*) FROM versions v
                     LEFT JOIN (SELECT dataset_id, version, sum(row_count) AS rows,
                                       sum(size) AS bytes, max(ord) + 1 - count(*) AS gaps
                                  FROM version_objects GROUP BY dataset_id, version) o
                     USING (dataset_id, version)
                     WHERE v.row_count <> coalesce(o.rows, 0)
                        OR v.size_bytes <> coalesce(o.bytes, 0)
                        OR coalesce(o.gaps, 0) <> 0)
            """, self.dbname)
        self.assertEqual(bad, "0", label)

    def test_health_names_backend(self):
        srv, c = self.catalogd()
        st, _, h = request_json("GET", srv.url + "/health")
        self.assertEqual((st, h["backend"]), (200, "postgres"))

    def test_two_instances_serialize_one_dataset(self):
        """Two catalogd processes on one database: 24 concurrent appends to one
        dataset, alternating between them, give versions 1..24 with every
        acknowledged object present exactly once; both instances agree."""
        srv_a, a = self.catalogd()
        srv_b, b = self.catalogd()
        n = 24
        keys = ["two/obj%02d" % i for i in range(n)]
        clients = [a if i % 2 == 0 else b for i in range(n)]
        results = self._parallel([lambda i=i: clients[i].register(
            body("two", [keys[i]], mode="append")) for i in range(n)])
        versions = {}
        for i, (st, _, r) in enumerate(results):
            self.assertEqual(st, 200, r)
            self.assertFalse(r["existing"])
            versions[r["manifest"]["version"]] = keys[i]
            self.assertEqual([o["key"] for o in r["manifest"]["objects"]].count(keys[i]), 1)
        self.assertEqual(sorted(versions), list(range(1, n + 1)))
        for c in (a, b):
            st, _, v = c.versions("two")
            self.assertEqual([x["version"] for x in v["versions"]], list(range(1, n + 1)))
            st, _, m = c.manifest("two")
            self.assertEqual([o["key"] for o in m["objects"]],
                             [versions[i] for i in range(1, n + 1)])
        # each version is its predecessor plus the one object its writer sent
        for ver in range(1, n + 1):
            mv = (a if ver % 2 else b).manifest("two", ver)[2]
            self.assertEqual([o["key"] for o in mv["objects"]],
                             [versions[i] for i in range(1, ver + 1)])
        # replace through both at once: still dense, each version one object
        results = self._parallel([lambda i=i: clients[i].register(
            body("two", ["two/r%02d" % i], mode="replace")) for i in range(16)])
        got = sorted(r["manifest"]["version"] for st, _, r in results if st == 200)
        self.assertEqual(got, list(range(n + 1, n + 17)))
        self.check_store_intact(None, "two instances")

    def test_concurrent_start_migrates_once(self):
        """Instances starting at once on an empty database race for the
        migration; the advisory lock lets one migrate and the others see it."""
        servers = [None] * 3
        errors = []

        def start(i):
            try:
                servers[i] = Server("catalogd", env=self.catalog_env)
            except RuntimeError as e:
                errors.append(e)

        threads = [threading.Thread(target=start, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for srv in servers:
            if srv:
                self.addCleanup(srv.cleanup)
        self.assertEqual(errors, [])
        # every migration once, in order (4: the renames table, ADR 0175)
        applied = self.pg.psql("SELECT string_agg(version::text, ',' ORDER BY version)"
                               " FROM schema_migrations", self.dbname).split(",")
        self.assertEqual(applied, [str(n) for n in range(1, len(applied) + 1)])
        self.assertGreaterEqual(len(applied), 4)
        st, _, r = Catalog(servers[0].url).register(body("m", ["m/1"]))
        self.assertEqual(st, 200, r)

    def test_newer_schema_refused(self):
        srv, c = self.catalogd()
        srv.stop()
        self.pg.psql("INSERT INTO schema_migrations (version) VALUES (99)", self.dbname)
        with self.assertRaises(RuntimeError) as cm:
            self.catalogd()
        self.assertIn("newer", str(cm.exception))

    def test_unreachable_database_starts_not_ready(self):
        """Start in any order (ADR 0201): no database yet is no exit; catalogd
        serves, says not ready with the reason, and answers 503."""
        env = {"LAKEHOUSE_CATALOGD_POSTGRES_DSN":
               "host=127.0.0.1 port=%d dbname=x user=postgres connect_timeout=2" % free_port()}
        srv, c = self.catalogd(env=env)
        st, _, obj = request_json("GET", srv.url + "/ready")
        self.assertEqual(st, 503, obj)
        self.assertIn("could not be reached", obj["dependencies"]["database"]["reason"])
        st, _, obj = c.datasets()
        self.assertEqual((st, obj["code"]), (503, "catalog_unavailable"), obj)

    def test_reconnects_after_connections_dropped(self):
        """The server terminates every catalogd connection (as a restart or an
        administrator would): the next requests reconnect and succeed."""
        srv, c = self.catalogd()
        self.assertEqual(c.register(body("r", ["r/1"]))[0], 200)
        self._parallel([lambda: c.manifest("r") for _ in range(4)])  # several pooled
        killed = self.pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                              " WHERE datname = current_database() AND pid <> pg_backend_pid()",
                              self.dbname)
        self.assertGreater(int(killed), 0)
        time.sleep(0.2)
        for k in range(2, 6):
            st, _, r = c.register(body("r", ["r/%d" % k], mode="append"))
            self.assertEqual((st, r["manifest"]["version"]), (200, k), r)
        st, _, m = c.manifest("r")
        self.assertEqual((st, len(m["objects"])), (200, 5))
        self.assertEqual(c.datasets()[0], 200)


if __name__ == "__main__":
    unittest.main()
