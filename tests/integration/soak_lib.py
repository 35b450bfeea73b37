"""soak_lib.py — crash soak of `lakehouse serve`: ingest continuously, SIGKILL
at a random moment, restart on the same data directory, verify, repeat.

Used by bench/soak.py (200 cycles, figures in bench/README.md) and by
tests/integration/test_soak.py (20 cycles in `make test`).

What one cycle checks (docs/api.md and docs/architecture.md "Durability rules"):
  (a) every ingest acknowledged with 200 — in this cycle or any before — is
      version N of its dataset with the acknowledged row count and object,
      and `SELECT count(*) FROM "<name>@<N>"` returns that count (queries for
      this cycle's acknowledgements every cycle, for all of them at the end);
  (b) every object referenced by any version of any dataset exists in
      storaged (HEAD 200) with the manifest's size, and its ETag (sha256) is
      the one seen the first time the key was seen, when the bytes were read
      and hashed;
  (c) after the kill and before the restart, catalog.db passes
      PRAGMA integrity_check;
  (d) every dataset's versions are dense 1..latest, and a version's row
      count and size never change once seen;
  (e) after the restart no Parquet temp file is left in the spool (a kill
      mid-conversion leaves one; ingestd sweeps them at start).
Ingests in flight at the kill may or may not have landed: not a failure.
Files the kill left behind (spool, storaged's .tmp/) are counted.

Every CSV is distinct (ids carry the cycle, thread and sequence number), so
each acknowledged ingest makes a new version and names its own object.
Randomness comes from random.Random(seed): the plan (datasets, modes, row
counts, kill delays) repeats; thread timing does not.
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
import urllib.parse

from lhtest import Server, request

# (dataset name, modes used). The append-only dataset gets a new name every
# APPEND_ROTATE cycles so its manifests (which list every object appended so
# far) stay small; the mixed one is reset now and then by its replaces.
APPEND_ROTATE = 25
HEADER = "id,cycle,thread,seq,label,amount\n"


def datasets_for(cycle):
    return [("soak_replace", ("replace",)),
            ("soak_append_%d" % (cycle // APPEND_ROTATE), ("append",)),
            ("soak_mixed", ("replace", "append", "append"))]


def make_csv(rng, cycle, thread, seq):
    """A small CSV no other ingest of the soak sends: (bytes, rows)."""
    rows = rng.randint(1, 8)
    out = [HEADER]
    for r in range(rows):
        uid = ((cycle * 8 + thread) * 100000 + seq) * 10 + r
        out.append("%d,%d,%d,%d,c%d-t%d-s%d-r%d,%d.%02d\n" % (
            uid, cycle, thread, seq, cycle, thread, seq, r,
            rng.randint(0, 9999), rng.randint(0, 99)))
    return "".join(out).encode(), rows


class Conn:
    """A keep-alive HTTP connection for the verifier, reopened on error."""

    def __init__(self, url, timeout=60, headers=None):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.timeout = u.hostname, u.port, timeout
        self.headers = dict(headers or {})   # sent with every request (a token)
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        headers = dict(self.headers, **(headers or {}))
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise

    def json(self, method, path, body=None):
        hdrs = {}
        if body is not None:
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        st, h, data = self.request(method, path, body, hdrs)
        try:
            return st, json.loads(data) if data else None
        except ValueError:
            return st, {"unparsed": data[:300].decode("utf-8", "replace")}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Soak:
    """One soak run over one persistent data directory.

    log: a function taking one line (print by default). keep_dir: leave the
    data directory in place at the end (it is printed)."""

    def __init__(self, cycles, seed=1, threads=3, min_delay=0.02, max_delay=0.4,
                 full_every=10, log=print, data_dir=None, keep_dir=False, headers=None):
        self.cycles, self.seed, self.nthreads = cycles, seed, threads
        self.min_delay, self.max_delay, self.full_every = min_delay, max_delay, full_every
        self.log = log
        self.work = tempfile.mkdtemp(prefix="lh-soak-")
        self.data_dir = data_dir or os.path.join(self.work, "data")
        self.keep_dir = keep_dir
        self.headers = headers   # for the verifier's requests (a token)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.acked = []          # dicts: name, mode, version, rows, total, key, cycle
        self.failures = []       # strings
        self.etags = {}          # key -> (size, etag) at first sight
        self.manifests = {}      # (name, version) -> {"row_count", "size_bytes", "objects"}
        self.names = set()       # every dataset name the soak ever sent
        self.queries = 0
        self.objects_checked = 0
        self.unexpected = 0
        self.leftovers = 0
        self.verified = 0        # acknowledged ingests that passed the final check

    # --- one cycle --------------------------------------------------------------

    def _start(self, cycle):
        log_path = os.path.join(self.work, "serve.log")
        if os.path.exists(log_path):
            os.replace(log_path, log_path + ".prev")
        return Server("serve", args=("--data-dir", self.data_dir), data_dir=self.data_dir,
                      env={"LAKEHOUSE_LOG": "quiet"}, log_path=log_path)

    def _worker(self, url, cycle, t, stop, out):
        rng = random.Random("%d/%d/%d" % (self.seed, cycle, t))
        seq = 0
        while not stop.is_set():
            name, modes = rng.choice(datasets_for(cycle))
            mode = rng.choice(modes)
            body, rows = make_csv(rng, cycle, t, seq)
            seq += 1
            with self.lock:
                self.names.add(name)
            try:
                st, _, data = request("POST", "%s/v1/ingest?name=%s&mode=%s" % (url, name, mode),
                                      body=body, headers={"Content-Type": "text/csv"}, timeout=30)
            except (OSError, http.client.HTTPException):
                return  # the server died under us: this one is not acknowledged
            if st != 200:
                with self.lock:
                    self.unexpected += 1
                    self.failures.append("cycle %d: ingest %s (%s) answered %d: %s" % (
                        cycle, name, mode, st, data[:300].decode("utf-8", "replace")))
                continue
            try:
                obj = json.loads(data)
                ack = {"name": name, "mode": mode, "version": obj["manifest"]["version"],
                       "rows": obj["row_count"], "total": obj["manifest"]["row_count"],
                       "key": obj["parquet_key"], "existing": obj["existing"], "cycle": cycle,
                       "sent_rows": rows}
            except (ValueError, KeyError, TypeError) as e:
                with self.lock:
                    self.failures.append("cycle %d: unreadable 200 answer (%s): %r" % (
                        cycle, e, data[:300]))
                continue
            out.append(ack)

    def _integrity(self, cycle):
        """(c): PRAGMA integrity_check on catalog.db while serve is down."""
        db = os.path.join(self.data_dir, "catalog.db")
        if not os.path.exists(db):
            return
        try:
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        except sqlite3.Error as e:
            self.fail(cycle, "catalog.db does not open read-only: %s" % e)
            return
        try:
            res = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            if res != ["ok"]:
                self.fail(cycle, "catalog.db integrity_check: %s" % res[:5])
        except sqlite3.Error as e:
            self.fail(cycle, "catalog.db integrity_check raised %s" % e)
        finally:
            con.close()

    def fail(self, cycle, msg):
        self.failures.append("cycle %d: %s" % (cycle, msg))

    def _verify(self, url, cycle, new_acks, full, query_all):
        """(a), (b), (d) against a running serve. Returns (versions, objects) checked."""
        c = Conn(url, headers=self.headers)
        try:
            return self._verify_with(c, cycle, new_acks, full, query_all)
        finally:
            c.close()

    def _verify_with(self, c, cycle, new_acks, full, query_all):
        nversions = 0
        referenced = {}  # key -> size
        for name in sorted(self.names):
            st, v = c.json("GET", "/v1/catalog/versions/%s" % name)
            if st == 404:
                if any(a["name"] == name for a in self.acked):
                    self.fail(cycle, "dataset %s is gone but had acknowledged ingests" % name)
                continue
            if st != 200:
                self.fail(cycle, "versions of %s answered %d %s" % (name, st, v))
                continue
            nums = [x["version"] for x in v["versions"]]
            if nums != list(range(1, len(nums) + 1)):                      # (d)
                self.fail(cycle, "versions of %s are not dense: %s" % (name, nums))
            for x in v["versions"]:
                nversions += 1
                mkey = (name, x["version"])
                m = self.manifests.get(mkey)
                if m is not None and (m["row_count"], m["size_bytes"]) != (
                        x["row_count"], x["size_bytes"]):                # (d)
                    self.fail(cycle, "%s@%d changed: rows/size %s -> %s" % (
                        name, x["version"], (m["row_count"], m["size_bytes"]),
                        (x["row_count"], x["size_bytes"])))
                if m is None or full:
                    m = self._manifest(c, cycle, name, x["version"])
                    if m is None:
                        continue
                for o in m["objects"]:
                    if referenced.setdefault(o["key"], o["size"]) != o["size"]:
                        self.fail(cycle, "object %s has two sizes in manifests" % o["key"])
        # (b) every referenced object is there with its size and first-seen ETag
        for key in sorted(referenced):
            self._check_object(c, cycle, key, referenced[key])
        # (a) acknowledged ingests: this cycle's always, all of them when asked
        acks = self.acked if query_all else new_acks
        seen = {}
        for a in self.acked:
            k = (a["name"], a["version"])
            if k in seen and seen[k] != a["key"]:
                self.fail(cycle, "%s@%d acknowledged twice, for %s and %s" % (
                    k[0], k[1], seen[k], a["key"]))
            seen[k] = a["key"]
        counted = {}
        bad = 0
        for a in acks:
            before = len(self.failures)
            mkey = (a["name"], a["version"])
            m = self.manifests.get(mkey)
            if m is None:
                self.fail(cycle, "acknowledged %s@%d (cycle %d) is missing" % (
                    a["name"], a["version"], a["cycle"]))
                continue
            if m["row_count"] != a["total"]:
                self.fail(cycle, "%s@%d has %d rows, acknowledged %d" % (
                    a["name"], a["version"], m["row_count"], a["total"]))
            objs = {o["key"]: o for o in m["objects"]}
            if a["key"] not in objs or objs[a["key"]]["row_count"] != a["rows"]:
                self.fail(cycle, "%s@%d lacks acknowledged object %s with %d rows" % (
                    a["name"], a["version"], a["key"], a["rows"]))
            if a["rows"] != a["sent_rows"] or a["existing"]:
                self.fail(cycle, "ingest of %d distinct rows acknowledged as %d rows, existing=%s"
                          % (a["sent_rows"], a["rows"], a["existing"]))
            if mkey not in counted:
                counted[mkey] = self._count(c, cycle, *mkey)
            if counted[mkey] is not None and counted[mkey] != a["total"]:
                self.fail(cycle, 'SELECT count(*) FROM "%s@%d" = %s, acknowledged %d' % (
                    a["name"], a["version"], counted[mkey], a["total"]))
            bad += len(self.failures) > before
        if query_all:
            self.verified = len(acks) - bad
        return nversions, len(referenced)

    def _manifest(self, c, cycle, name, version):
        st, m = c.json("GET", "/v1/catalog/manifest/%s?version=%d" % (name, version))
        if st != 200:
            self.fail(cycle, "manifest %s@%d answered %d %s" % (name, version, st, m))
            return None
        if m["row_count"] != sum(o["row_count"] for o in m["objects"]) or \
                m["size_bytes"] != sum(o["size"] for o in m["objects"]):
            self.fail(cycle, "manifest %s@%d totals differ from its objects" % (name, version))
        rec = {"row_count": m["row_count"], "size_bytes": m["size_bytes"],
               "objects": [{"key": o["key"], "size": o["size"], "row_count": o["row_count"]}
                           for o in m["objects"]]}
        old = self.manifests.get((name, version))
        if old is not None and old != rec:
            self.fail(cycle, "manifest %s@%d changed since first seen" % (name, version))
        self.manifests[(name, version)] = rec
        return rec

    def _check_object(self, c, cycle, key, size):
        self.objects_checked += 1
        path = "/v1/storage/get/" + urllib.parse.quote(key)
        first = self.etags.get(key)
        if first is None:
            st, h, data = c.request("GET", path)
            if st != 200:
                self.fail(cycle, "object %s: GET %d (referenced by a manifest)" % (key, st))
                return
            etag = '"%s"' % hashlib.sha256(data).hexdigest()
            if len(data) != size or h.get("etag") != etag:
                self.fail(cycle, "object %s: %d bytes hashing to %s, manifest size %d, ETag %s"
                          % (key, len(data), etag, size, h.get("etag")))
            self.etags[key] = (size, etag)
            return
        st, h, _ = c.request("HEAD", path)
        if st != 200:
            self.fail(cycle, "object %s: HEAD %d (referenced by a manifest)" % (key, st))
        elif int(h.get("content-length", -1)) != size or h.get("etag") != first[1]:
            self.fail(cycle, "object %s changed: size %s etag %s, first seen %d %s" % (
                key, h.get("content-length"), h.get("etag"), first[0], first[1]))

    def _count(self, c, cycle, name, version):
        self.queries += 1
        st, r = c.json("POST", "/v1/query", {"sql": 'SELECT count(*) FROM "%s@%d"' % (name, version)})
        if st != 200:
            self.fail(cycle, 'SELECT count(*) FROM "%s@%d" answered %d %s' % (name, version, st, r))
            return None
        return r["rows"][0][0]

    def _count_leftovers(self, subs=("spool", os.path.join("objects", ".tmp"))):
        """Files a kill left behind: Parquet temp files in the spool and
        uploads in storaged's .tmp/ (both removed at the next start)."""
        n = 0
        for sub in subs:
            p = os.path.join(self.data_dir, sub)
            if os.path.isdir(p):
                n += len(os.listdir(p))
        return n

    # --- the run ----------------------------------------------------------------

    def run(self):
        t0 = time.time()
        self.log("soak: %d cycles, seed %d, %d client threads, kill after %d-%d ms, data in %s"
                 % (self.cycles, self.seed, self.nthreads, self.min_delay * 1000,
                    self.max_delay * 1000, self.data_dir))
        try:
            for cycle in range(self.cycles):
                try:
                    self._cycle(cycle, last=(cycle == self.cycles - 1))
                except (RuntimeError, OSError, http.client.HTTPException,
                        KeyError, TypeError, ValueError) as e:
                    # e.g. serve does not come back after a kill: that is a
                    # finding, and the run cannot go on meaningfully
                    self.fail(cycle, "aborted: %s: %s" % (type(e).__name__, e))
                    self.cycles = cycle + 1
                    break
        finally:
            if not self.keep_dir:
                shutil.rmtree(self.work, ignore_errors=True)
        elapsed = time.time() - t0
        summary = {"cycles": self.cycles, "acknowledged": len(self.acked),
                   "verified": self.verified,
                   "versions": len(self.manifests), "objects": len(self.etags),
                   "queries": self.queries, "leftover_files": self.leftovers,
                   "failures": len(self.failures), "elapsed_s": round(elapsed, 1)}
        self.log("soak summary: %d cycles, %d acknowledged ingests, %d verified, %d versions, "
                 "%d objects, %d count(*) queries, %d files left by kills (swept at restart), "
                 "%d failures, %.1f s"
                 % (summary["cycles"], summary["acknowledged"], summary["verified"],
                    summary["versions"], summary["objects"], summary["queries"],
                    summary["leftover_files"], summary["failures"], elapsed))
        for f in self.failures[:50]:
            self.log("FAIL " + f)
        return summary

    def _cycle(self, cycle, last):
        tc = time.time()
        nfail = len(self.failures)
        srv = self._start(cycle)
        stop = threading.Event()
        outs = [[] for _ in range(self.nthreads)]
        threads = [threading.Thread(target=self._worker, args=(srv.url, cycle, t, stop, outs[t]))
                   for t in range(self.nthreads)]
        for t in threads:
            t.start()
        # Kill only once ingests are being acknowledged (bounded wait): on a
        # loaded machine the first one can take longer than the random delay.
        deadline = time.time() + 20
        while not any(outs) and time.time() < deadline:
            time.sleep(0.005)
        delay = self.rng.uniform(self.min_delay, self.max_delay)
        time.sleep(delay)
        srv.kill()
        stop.set()
        for t in threads:
            t.join(60)
        new = [a for out in outs for a in out]
        self.acked.extend(new)
        self._integrity(cycle)                                   # (c), while stopped
        leftovers = self._count_leftovers()
        self.leftovers += leftovers

        srv = self._start(cycle)
        try:
            left = self._count_leftovers(("spool",))                  # (e)
            if left:
                self.fail(cycle, "%d files left in the spool after the restart" % left)
            full = last or (self.full_every and cycle % self.full_every == 0)
            nv, no = self._verify(srv.url, cycle, new, full, query_all=last)
            if last:
                code = srv.stop()
                if code != 0:
                    self.fail(cycle, "serve exited %s on SIGTERM" % code)
                self._integrity(cycle)
        finally:
            srv.stop(timeout=30)
        status = "ok" if len(self.failures) == nfail else "FAIL (%d)" % (len(self.failures) - nfail)
        self.log("cycle %3d: killed after %3.0f ms, %2d acknowledged (total %d), %d versions, "
                 "%d objects checked%s, %d files left by the kill, %.1f s: %s"
                 % (cycle + 1, delay * 1000, len(new), len(self.acked), nv, no,
                    " (full)" if full else "", leftovers, time.time() - tc, status))
