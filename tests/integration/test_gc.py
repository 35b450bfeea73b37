"""test_gc.py — garbage collection (ADR 0095) through `lakehouse
serve`: POST /v1/catalog/gc and `lakehouse gc`.

Orphans from schema drift (409), from ingests killed between PUT and
register, and from dropped datasets are found and removed once older than
the grace period; a dry run deletes nothing; objects any retained version
references are never removed — also while ingests run concurrently with a
GC looping at grace 0, some of them re-ingesting dropped content so that the
412-reuse path of ingestd races with the deletion of the very same object.

GcTest runs on SQLite (the default), PostgresGcTest the same tests on a
throwaway PostgreSQL (lhtest.PostgresServer, one per module, a database per
test; skipped when PostgreSQL is not installed).
"""
import os
import subprocess
import threading
import time
import unittest

from lhtest import BINARY, PG_BIN, PostgresServer, ServerTest, request, request_json

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


def csv(header, rows):
    return (",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)).encode()


class GcTest(ServerTest):
    backend = "sqlite"
    load_seconds = 25

    def env(self):
        return {}

    def setUp(self):
        self.srv = self.start("serve", env=self.env())
        self.url = self.srv.url

    # --- helpers ----------------------------------------------------------

    def ingest(self, name, body, mode=None, timeout=120):
        q = "?name=%s%s" % (name, "&mode=" + mode if mode else "")
        return request_json("POST", self.url + "/v1/ingest" + q, body,
                            {"Content-Type": "text/csv"}, timeout=timeout)

    def gc(self, dry_run=False, grace=0, timeout=120):
        st, _, obj = request_json("POST", self.url + "/v1/catalog/gc",
                                  {"dry_run": dry_run, "grace_seconds": grace}, timeout=timeout)
        self.assertEqual(st, 200, obj)
        return obj

    def keys(self, prefix="datasets/"):
        st, _, obj = request_json("GET", self.url + "/v1/storage/list?prefix=%s&limit=10000" % prefix)
        self.assertEqual(st, 200, obj)
        return [o["key"] for o in obj["objects"]]

    def head(self, key):
        return request("HEAD", self.url + "/v1/storage/get/" + key)[0]

    def query(self, sql):
        return request_json("POST", self.url + "/v1/query", {"sql": sql})

    # --- orphans ----------------------------------------------------------

    def test_drift_orphan_listed_by_dry_run_then_deleted(self):
        st, _, v1 = self.ingest("people", csv(["id", "name"], [(1, "ann"), (2, "bob")]))
        self.assertEqual(st, 200, v1)
        v1_key = v1["parquet_key"]
        st, _, drift = self.ingest("people", csv(["id", "name", "zip"], [(1, "ann", "02134")]))
        self.assertEqual(st, 409, drift)
        self.assertEqual(drift["code"], "schema_drift")
        orphan = [k for k in self.keys() if k != v1_key]
        self.assertEqual(len(orphan), 1)  # the drifted Parquet was PUT and is now garbage

        dry = self.gc(dry_run=True, grace=0)
        self.assertTrue(dry["dry_run"])
        self.assertEqual([c["key"] for c in dry["candidates"]], orphan)
        self.assertEqual(dry["deleted"], 0)
        self.assertEqual((dry["scanned"], dry["referenced"]), (2, 1))
        self.assertGreater(dry["candidates"][0]["size"], 0)
        self.assertRegex(dry["candidates"][0]["modified"], r"Z$")
        self.assertEqual(sorted(self.keys()), sorted([v1_key] + orphan))  # dry run deleted nothing

        run = self.gc(grace=0)
        self.assertFalse(run["dry_run"])
        self.assertEqual(run["deleted"], 1)
        self.assertEqual(run["bytes_freed"], dry["candidates"][0]["size"])
        self.assertEqual(run["candidates"][0]["deleted"], True)
        self.assertEqual(self.keys(), [v1_key])
        self.assertEqual(self.head(orphan[0]), 404)
        self.assertEqual(self.head(v1_key), 200)
        st, _, res = self.query("SELECT count(*) FROM people")
        self.assertEqual((st, res["rows"]), (200, [[2]]), res)
        self.assertEqual(self.gc(grace=0)["candidates"], [])  # nothing left

    def test_killed_ingest_orphans_respect_the_grace_period(self):
        # An ingest killed after its PUT and before its register leaves exactly this.
        orphans = ["datasets/gone/%064x/%064x.parquet" % (1, i) for i in range(3)]
        for k in orphans:
            self.assertEqual(request("PUT", self.url + "/v1/storage/put/" + k, b"PAR1 junk")[0], 200)
        self.assertEqual(request("PUT", self.url + "/v1/storage/put/elsewhere/x", b"x")[0], 200)

        young = self.gc(grace=3600)
        self.assertEqual((young["candidates"], young["deleted"], young["too_young"]), ([], 0, 3))
        self.assertEqual(sorted(self.keys()), orphans)
        default = request_json("POST", self.url + "/v1/catalog/gc", b"",  # defaults: 1 h
                               {"Content-Type": "application/json"})
        self.assertEqual(default[0], 200, default[2])
        self.assertEqual((default[2]["grace_seconds"], default[2]["deleted"]), (3600, 0))

        time.sleep(1.1)
        old = self.gc(grace=1)
        self.assertEqual(old["deleted"], 3)
        self.assertEqual(sorted(c["key"] for c in old["candidates"]), orphans)
        self.assertEqual(self.keys(), [])
        self.assertEqual(self.head("elsewhere/x"), 200)  # only datasets/ is GC's

    def test_dropped_dataset_objects_become_garbage(self):
        keys = []
        for i in range(2):
            st, _, r = self.ingest("tmp", csv(["id"], [(i,)]), mode="append")
            self.assertEqual(st, 200, r)
            keys.append(r["parquet_key"])
        st, _, keep = self.ingest("keep", csv(["id"], [(1,)]))
        self.assertEqual(st, 200, keep)
        self.assertEqual(self.gc(grace=0)["deleted"], 0)  # every version references them
        self.assertEqual(request("DELETE", self.url + "/v1/catalog/manifest/tmp")[0], 204)
        run = self.gc(grace=0)
        self.assertEqual(sorted(c["key"] for c in run["candidates"]), sorted(keys))
        self.assertEqual(run["deleted"], 2)
        self.assertEqual(self.keys(), [keep["parquet_key"]])
        # the same content again: stored anew, registered, queryable
        st, _, again = self.ingest("tmp", csv(["id"], [(0,)]))
        self.assertEqual((st, again["parquet_key"]), (200, keys[0]), again)
        self.assertEqual(self.head(keys[0]), 200)
        st, _, res = self.query("SELECT count(*) FROM tmp")
        self.assertEqual((st, res["rows"]), (200, [[1]]), res)

    def test_reuse_of_an_unreferenced_object_is_kept(self):
        body = csv(["id", "v"], [(1, "x")])
        st, _, r = self.ingest("reuse", body)
        self.assertEqual(st, 200, r)
        self.assertEqual(request("DELETE", self.url + "/v1/catalog/manifest/reuse")[0], 204)
        # the object is garbage now; ingesting the same bytes reuses it (412) ...
        st, _, again = self.ingest("reuse", body)
        self.assertEqual((st, again["parquet_key"], again["existing"]), (200, r["parquet_key"], False))
        # ... and once registered it is referenced again
        self.assertEqual(self.gc(grace=0)["deleted"], 0)
        self.assertEqual(self.head(r["parquet_key"]), 200)

    def test_bad_requests(self):
        for body, field in (({"grace_seconds": -1}, "grace_seconds"),
                            ({"grace_seconds": "1h"}, "grace_seconds"),
                            ({"dry_run": "yes"}, "dry_run")):
            res = request_json("POST", self.url + "/v1/catalog/gc", body)
            self.assertError(res, 400, "bad_request")
            self.assertEqual(res[2].get("field"), field)
        self.assertError(request_json("POST", self.url + "/v1/catalog/gc", b"[1]",
                                      {"Content-Type": "application/json"}), 400, "bad_json")
        # JSON needs its type (ADR 0110): an empty body too
        self.assertError(request_json("POST", self.url + "/v1/catalog/gc", b""),
                         415, "unsupported_media_type")
        self.assertEqual(request("GET", self.url + "/v1/catalog/gc")[0], 405)

    def test_cli(self):
        st, _, r = self.ingest("cli", csv(["a"], [(1,)]))
        self.assertEqual(st, 200, r)
        self.assertEqual(self.ingest("cli", csv(["a", "b"], [(1, 2)]))[0], 409)
        env = dict(os.environ, LAKEHOUSE_URL=self.url)

        def run(*args):
            p = subprocess.run([BINARY, "gc"] + list(args), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            return p.returncode, p.stdout.decode(), p.stderr.decode()

        rc, out, err = run("--dry-run", "--grace", "0")
        self.assertEqual(rc, 0, err)
        self.assertIn("datasets/cli/", out)
        self.assertIn("1 object", out)
        self.assertIn("would be deleted (dry run, grace 0s)", out)
        self.assertEqual(len(self.keys()), 2)
        rc, out, err = run("--grace", "1h")
        self.assertEqual(rc, 0, err)
        self.assertIn("deleted 0 objects", out)
        self.assertIn("1 younger than the grace period", out)
        rc, out, err = run("--grace", "0", "--json")
        self.assertEqual(rc, 0, err)
        self.assertIn('"deleted": 1', out)
        self.assertEqual(self.keys(), [r["parquet_key"]])
        self.assertEqual(run("--grace", "soon")[0], 2)
        self.assertEqual(run("extra")[0], 2)
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        self.assertIn("--dry-run", out)

    # --- the race -------------------------------------------------------------

    def test_referenced_objects_survive_concurrent_ingests(self):
        """Ingests (new content, appends, drift orphans, drop + re-ingest of
        old content through the 412-reuse path) race with GC at grace 0 in a
        loop. Afterwards every object of every version is in storaged, every
        version is queryable, every acknowledged ingest is there."""
        nthreads, deadline = 3, time.time() + self.load_seconds
        stop = threading.Event()
        errors, acks = [], {}     # acks: name -> [(version, key)] since its last drop
        gc_stats = {"runs": 0, "deleted": 0, "verified": 0}
        client_retries = [0]
        lock = threading.Lock()

        def ingester(t):
            name = "race%d" % t
            first = csv(["id", "who"], [(0, "t%d" % t)])
            acks[name] = []
            i = 0
            try:
                while time.time() < deadline and i < 198:  # ends on step 8
                    i += 1
                    step = i % 10
                    if step == 7:      # a drift orphan: PUT, then 409
                        st, _, r = self.ingest(name, csv(["id", "who", "x"], [(i, "d", t)]))
                        if st not in (409, 200):
                            raise AssertionError("drift ingest: %s %s" % (st, r))
                        continue
                    if step == 9:      # drop, then the first content again: 412 reuse
                        self.assertEqual(request("DELETE", self.url + "/v1/catalog/manifest/" + name)[0],
                                         204)
                        with lock:
                            acks[name] = []
                        body, mode = first, None
                    else:
                        body = csv(["id", "who"], [(i, "t%d-%d" % (t, i)), (i + 1000, "y")])
                        mode = "append" if step in (3, 6) else None
                    # GC at grace 0 in a tight loop can beat even ingestd's own
                    # retries (safe, not live: ADR 0095); a client retries the
                    # retryable answers, and only a 200 is an acknowledgement.
                    for _ in range(20):
                        st, _, r = self.ingest(name, body, mode=mode)
                        if not (st == 409 and r.get("code") == "object_missing" or
                                st == 503 and r.get("code") == "busy"):
                            break
                        with lock:
                            client_retries[0] += 1
                    if st != 200:
                        raise AssertionError("ingest %s #%d: %s %s" % (name, i, st, r))
                    with lock:
                        acks[name].append((r["manifest"]["version"], r["parquet_key"]))
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        def verifier():
            """While the race runs: a latest version's objects are in storaged
            (a 404 counts only if the version still names the key after it)."""
            try:
                while not stop.is_set():
                    for d in request_json("GET", self.url + "/v1/catalog/datasets")[2]["datasets"]:
                        url = self.url + "/v1/catalog/manifest/%s?version=%d" % (d["name"], d["version"])
                        st, _, m = request_json("GET", url)
                        for o in (m["objects"] if st == 200 else []):
                            if self.head(o["key"]) != 200:
                                st2, _, m2 = request_json("GET", url)
                                if st2 == 200 and m2["created_at"] == m["created_at"]:
                                    raise AssertionError("version %s@%d lost %s" % (
                                        d["name"], d["version"], o["key"]))
                        with lock:
                            gc_stats["verified"] += 1
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        def collector():
            try:
                while not stop.is_set():
                    r = self.gc(grace=0)
                    gc_stats["runs"] += 1
                    gc_stats["deleted"] += r["deleted"]
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=ingester, args=(t,)) for t in range(nthreads)]
        gc_thread = threading.Thread(target=collector)
        verify_thread = threading.Thread(target=verifier)
        gc_thread.start()
        verify_thread.start()
        for th in threads:
            th.start()
        for th in threads:
            th.join(self.load_seconds + 180)
        stop.set()
        gc_thread.join(120)
        verify_thread.join(120)
        self.assertFalse(any(th.is_alive() for th in threads + [gc_thread, verify_thread]),
                         "a thread hung")
        self.assertEqual(errors, [])
        self.assertGreater(gc_stats["runs"], 3)
        self.assertGreater(gc_stats["deleted"], 0)  # drift orphans and dropped versions went

        checked = 0
        st, _, ds = request_json("GET", self.url + "/v1/catalog/datasets")
        self.assertEqual(st, 200, ds)
        for d in ds["datasets"]:
            name = d["name"]
            st, _, vs = request_json("GET", self.url + "/v1/catalog/versions/" + name)
            self.assertEqual(st, 200, vs)
            for v in vs["versions"]:
                n = v["version"]
                st, _, m = request_json("GET", self.url + "/v1/catalog/manifest/%s?version=%d" % (name, n))
                self.assertEqual(st, 200, m)
                for o in m["objects"]:
                    self.assertEqual(self.head(o["key"]), 200, (name, n, o["key"]))
                    checked += 1
                st, _, res = self.query('SELECT count(*) FROM "%s@%d"' % (name, n))
                self.assertEqual(st, 200, res)
                self.assertEqual(res["rows"], [[m["row_count"]]])
        for name, lst in acks.items():
            for version, key in lst:
                st, _, m = request_json("GET", self.url + "/v1/catalog/manifest/%s?version=%d" % (name, version))
                self.assertEqual(st, 200, (name, version, m))
                self.assertIn(key, [o["key"] for o in m["objects"]])
        self.assertGreater(checked, 3)
        retries = self.srv.read_log().count("storing it again")
        print("\n  %s: %d GC runs deleted %d objects; %d live checks; %d objects checked; "
              "%d ingestd re-PUTs, %d client retries" % (
                  self.backend, gc_stats["runs"], gc_stats["deleted"], gc_stats["verified"],
                  checked, retries, client_retries[0]))
        # and a last GC at grace 0 leaves exactly the referenced objects
        self.gc(grace=0)
        referenced = set()
        for d in request_json("GET", self.url + "/v1/catalog/datasets")[2]["datasets"]:
            for v in request_json("GET", self.url + "/v1/catalog/versions/" + d["name"])[2]["versions"]:
                m = request_json("GET", self.url + "/v1/catalog/manifest/%s?version=%d"
                                 % (d["name"], v["version"]))[2]
                referenced.update(o["key"] for o in m["objects"])
        self.assertEqual(set(self.keys()), referenced)


class StandaloneCatalogdTest(ServerTest):
    def test_without_storaged_url_gc_is_503(self):
        srv = self.start("catalogd")
        self.assertError(request_json("POST", srv.url + "/catalog/gc", {"dry_run": True}),
                         503, "gc_unavailable")


@unittest.skipUnless(os.path.exists(os.path.join(PG_BIN, "initdb")), "PostgreSQL not installed")
class PostgresGcTest(GcTest):
    backend = "postgres"
    load_seconds = 15

    def env(self):
        pg = postgres()
        return {"LAKEHOUSE_CATALOGD_BACKEND": "postgres",
                "LAKEHOUSE_CATALOGD_POSTGRES_DSN": pg.dsn(pg.create_database("gc"))}


if __name__ == "__main__":
    unittest.main()
