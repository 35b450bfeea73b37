"""Replicated stateless services behind one gateway (ADR 0075).

One storaged and one catalogd, two ingestd and two queryd, and one gateway
configured with both URLs of each (every one a real `lakehouse <svc>` on a
free loopback port). Clients ingest distinct small CSVs and query them from
a few threads while one ingestd and one queryd are killed with SIGKILL:
every request succeeds or fails cleanly (a JSON 502/503 with a code, within
a bound), requests after the gateway marked them down all succeed, and
every acknowledged ingest is in the catalog and queryable. Also: the
gateway balances across instances, reports each in /health, takes a
restarted instance back, and refuses a malformed URL list at start."""
import http.client
import json
import os
import subprocess
import sys
import threading
import time

from lhtest import BINARY, Server, ServerTest, free_port, request, request_json

REQUEST_TIMEOUT = 30        # seconds: no request may hang longer
RUN_BEFORE_KILL = 4.0       # seconds of traffic before the kill
RUN_AFTER_DOWN = 5.0        # seconds of traffic after both are marked down


def served_paths(srv, path):
    """How many requests for `path` the server's JSON log lines record."""
    n = 0
    with open(srv.log_path, "rb") as f:     # also for a killed server
        text = f.read().decode("utf-8", "replace")
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                if json.loads(line).get("path") == path:
                    n += 1
            except ValueError:
                pass
    return n


class Outcome:
    def __init__(self, kind, started, status, obj, problem):
        self.kind, self.started, self.status, self.obj = kind, started, status, obj
        self.problem = problem    # None = a valid answer (200 or clean error)


def call(method, url, body, headers, expect):
    """One request; returns (status, obj, problem). A problem is anything
    that is neither a valid 200 nor a clean JSON 502/503 error."""
    try:
        st, _, data = request(method, url, body=body, headers=headers,
                              timeout=REQUEST_TIMEOUT)
    except http.client.IncompleteRead as e:
        return None, None, "truncated body: %r" % (e,)
    except (OSError, http.client.HTTPException) as e:
        return None, None, "no answer: %r" % (e,)
    try:
        obj = json.loads(data)
    except ValueError:
        return st, None, "not JSON (%d): %r" % (st, data[:200])
    if st == 200:
        problem = expect(obj)
        return st, obj, problem
    if st in (502, 503) and isinstance(obj, dict) and obj.get("code") and obj.get("error"):
        return st, obj, None
    return st, obj, "unclean failure %d: %r" % (st, obj)


class TestReplicas(ServerTest):

    def setUp(self):
        self.storaged = self.start("storaged")
        self.catalogd = self.start("catalogd")
        self.ingestd = [self.start_ingestd() for _ in range(2)]
        self.queryd = [self.start_queryd() for _ in range(2)]
        self.gw = self.start("gateway", env={
            "LAKEHOUSE_GATEWAY_STORAGED_URL": self.storaged.url,
            "LAKEHOUSE_GATEWAY_CATALOGD_URL": self.catalogd.url,
            "LAKEHOUSE_GATEWAY_INGESTD_URL": ",".join(s.url for s in self.ingestd),
            "LAKEHOUSE_GATEWAY_QUERYD_URL": " %s , %s/ " % (self.queryd[0].url,
                                                            self.queryd[1].url),
        })

    def start_ingestd(self, port=None):
        return self.start("ingestd", port=port, env={
            "LAKEHOUSE_INGESTD_STORAGED_URL": self.storaged.url,
            "LAKEHOUSE_INGESTD_CATALOGD_URL": self.catalogd.url,
            "LAKEHOUSE_INGESTD_DUCKDB_THREADS": "1"})

    def start_queryd(self, port=None):
        return self.start("queryd", port=port, env={
            "LAKEHOUSE_QUERYD_STORAGED_URL": self.storaged.url,
            "LAKEHOUSE_QUERYD_CATALOGD_URL": self.catalogd.url,
            "LAKEHOUSE_QUERYD_DUCKDB_THREADS": "1"})

    def health(self):
        st, _, obj = request_json("GET", self.gw.url + "/health", timeout=10)
        return st, obj

    def instance_states(self, service):
        _, obj = self.health()
        return {i["url"]: i["status"] for i in obj["services"][service]["instances"]}

    def wait_for(self, cond, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return time.time()
            time.sleep(0.1)
        self.fail("%s within %.0f s; health: %r" % (what, timeout, self.health()))

    def ingest(self, name, rows):
        csv = "id,label\n" + "".join("%d,row %d of %s\n" % (i, i, name) for i in range(rows))

        def expect(obj):
            m = obj.get("manifest") if isinstance(obj, dict) else None
            if not m or m.get("name") != name or obj.get("row_count") != rows:
                return "bad ingest answer: %r" % (obj,)
            return None
        return call("POST", self.gw.url + "/v1/ingest?name=" + name, csv.encode(),
                    {"Content-Type": "text/csv"}, expect)

    def count(self, name, rows):
        def expect(obj):
            if not isinstance(obj, dict) or obj.get("rows") != [[rows]]:
                return "bad query answer for %s: %r" % (name, obj)
            return None
        return call("POST", self.gw.url + "/v1/query",
                    json.dumps({"sql": "SELECT count(*) FROM %s" % name}).encode(),
                    {"Content-Type": "application/json"}, expect)

    def test_health_lists_every_instance(self):
        st, obj = self.health()
        self.assertEqual(st, 200, obj)
        for svc, members in (("ingestd", self.ingestd), ("queryd", self.queryd)):
            s = obj["services"][svc]
            self.assertEqual(s["status"], "ok", s)
            self.assertEqual([i["url"] for i in s["instances"]], [m.url for m in members])
            self.assertEqual({i["status"] for i in s["instances"]}, {"ok"})
        self.assertEqual(obj["services"]["storaged"]["instances"],
                         [{"url": self.storaged.url, "status": "ok"}])

    def test_kill_one_of_each_mid_run(self):
        acked = {}                 # dataset name -> rows, for every 200 ingest
        outcomes = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(t):
            i = 0
            while not stop.is_set():
                i += 1
                name = "r%d_%d" % (t, i)
                rows = 1 + (t * 7 + i) % 20
                started = time.time()
                st, obj, problem = self.ingest(name, rows)
                with lock:
                    outcomes.append(Outcome("ingest", started, st, obj, problem))
                    if st == 200 and problem is None:
                        acked[name] = rows
                    known = list(acked.items())
                if known:
                    qname, qrows = known[(t + i) % len(known)]
                    started = time.time()
                    st, obj, problem = self.count(qname, qrows)
                    with lock:
                        outcomes.append(Outcome("query", started, st, obj, problem))

        threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(3)]
        for th in threads:
            th.start()
        try:
            time.sleep(RUN_BEFORE_KILL)
            killed_at = time.time()
            self.ingestd[0].kill()
            self.queryd[0].kill()
            dead = (self.ingestd[0].url, self.queryd[0].url)
            marked_at = self.wait_for(
                lambda: self.instance_states("ingestd")[dead[0]] == "unreachable"
                and self.instance_states("queryd")[dead[1]] == "unreachable",
                10, "the killed instances marked unreachable")
            # One instance of each left: the gateway still serves, /health 200.
            st, obj = self.health()
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["services"]["ingestd"]["status"], "degraded")
            self.assertEqual(obj["services"]["queryd"]["status"], "degraded")
            time.sleep(RUN_AFTER_DOWN)
        finally:
            stop.set()
            for th in threads:
                th.join(REQUEST_TIMEOUT + 10)
        self.assertFalse(any(th.is_alive() for th in threads), "a client hung")

        not_ok = [(o.kind, o.status, (o.obj or {}).get("code")) for o in outcomes
                  if o.status != 200]
        print("\n  %d requests, %d not 200: %r" % (len(outcomes), len(not_ok), not_ok),
              file=sys.stderr)
        problems = [(o.kind, o.problem) for o in outcomes if o.problem]
        self.assertEqual(problems, [])
        before = [o for o in outcomes if o.started < killed_at]
        after = [o for o in outcomes if o.started > marked_at + 0.5]
        self.assertGreater(len(before), 5, "too little traffic before the kill")
        self.assertGreater(len(after), 5, "too little traffic after the kill")
        failed_after = [(o.kind, o.status, o.obj) for o in after if o.status != 200]
        self.assertEqual(failed_after, [], "requests failed after the instances were marked down")
        # Failures at all can only be requests in flight at the kill.
        failures = [o for o in outcomes if o.status != 200]
        self.assertLessEqual(len(failures), 6, [(o.kind, o.status, o.obj) for o in failures])

        # Both instances took traffic before the kill (round-robin).
        for srv, path in ((self.ingestd[1], "/ingest"), (self.queryd[1], "/query")):
            self.assertGreater(served_paths(srv, path), 0, path)
        for srv, path in ((self.ingestd[0], "/ingest"), (self.queryd[0], "/query")):
            self.assertGreater(served_paths(srv, path), 0, path)

        # Every acknowledged ingest is in the catalog and queryable.
        self.assertGreater(len(acked), 5)
        for name, rows in sorted(acked.items()):
            st, _, m = request_json("GET", self.gw.url + "/v1/catalog/manifest/" + name)
            self.assertEqual(st, 200, (name, m))
            self.assertEqual(m["row_count"], rows, m)
            st, obj, problem = self.count(name, rows)
            self.assertEqual((st, problem), (200, None), obj)

        # A restarted instance is taken back once its health check passes.
        q0 = self.start_queryd(port=self.queryd[0].port)
        self.wait_for(lambda: self.instance_states("queryd")[q0.url] == "ok", 10,
                      "the restarted queryd marked ok")
        name, rows = sorted(acked.items())[0]
        for _ in range(4):
            st, obj, problem = self.count(name, rows)
            self.assertEqual((st, problem), (200, None), obj)
        self.assertGreater(served_paths(q0, "/query"), 0)
        self.assertEqual(self.health()[0], 200)


class TestReplicaConfig(ServerTest):

    def run_gateway(self, env):
        full = dict(os.environ)
        full.update(env)
        full["LAKEHOUSE_DATA_DIR"] = "/nonexistent-lh-test"
        return subprocess.run([BINARY, "gateway", "--bind", "127.0.0.1:%d" % free_port()],
                              env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=20)

    def test_bad_lists_refused_at_start(self):
        for value, words in (("http://127.0.0.1:1,,http://127.0.0.1:2", "empty URL"),
                             ("http://127.0.0.1:1,ftp://x", "is not an http"),
                             ("http://127.0.0.1:1,http://127.0.0.1:1", "listed twice")):
            p = self.run_gateway({"LAKEHOUSE_GATEWAY_QUERYD_URL": value})
            self.assertNotEqual(p.returncode, 0, value)
            self.assertIn(words, p.stderr.decode(), value)
        # ingestd's peer URLs take lists since ADR 0204, checked the same way;
        # catalogd's storaged_url is one URL: a list is refused, not misread.
        p = subprocess.run([BINARY, "ingestd", "--bind", "127.0.0.1:%d" % free_port()],
                           env=dict(os.environ, LAKEHOUSE_INGESTD_STORAGED_URL=
                                    "http://127.0.0.1:1,ftp://x",
                                    LAKEHOUSE_INGESTD_CATALOGD_URL="http://127.0.0.1:1"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("is not an http", p.stderr.decode())
        p = subprocess.run([BINARY, "catalogd", "--bind", "127.0.0.1:%d" % free_port()],
                           env=dict(os.environ, LAKEHOUSE_CATALOGD_STORAGED_URL=
                                    "http://127.0.0.1:1,http://127.0.0.1:2"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("one URL expected", p.stderr.decode())

    def test_dead_member_skipped_for_writes(self):
        """A PUT (not idempotent) to a pool with a dead member: the dead one
        never received a byte, so every PUT lands on the live one."""
        storaged = self.start("storaged")
        dead = "http://127.0.0.1:%d" % free_port()
        gw = self.start("gateway", env={
            "LAKEHOUSE_GATEWAY_STORAGED_URL": "%s,%s" % (dead, storaged.url)})
        for i in range(6):
            st, _, obj = request_json("PUT", gw.url + "/v1/storage/put/k%d" % i,
                                      body=b"x" * (1000 + i))
            self.assertEqual(st, 200, obj)
        st, _, obj = request_json("GET", gw.url + "/health")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["services"]["storaged"]["status"], "degraded")
        self.assertEqual(obj["services"]["storaged"]["instances"],
                         [{"url": dead, "status": "unreachable"},
                          {"url": storaged.url, "status": "ok"}])
