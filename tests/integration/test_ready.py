"""test_ready.py — liveness vs readiness (issue 23 points 1-2, ADR 0200/0201).

/health is liveness (200 while the process serves); /ready answers 200 only
when the service can serve, else 503 with the reason per dependency. It needs
no token, is never logged, and /metrics carries per-dependency gauges (and
per-instance gauges in the gateway). catalogd started before its PostgreSQL
starts, reports not ready with the reason, and becomes ready once the
database is up; a refused login stays a fatal error (exit 1, the fix in words).
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from lhtest import (BINARY, PG_BIN, PostgresServer, Server, ServerTest, free_port, request,
                    request_json)

TOKENS = {"LAKEHOUSE_AUTH_READ_TOKENS": "r-token-123456789012",
          "LAKEHOUSE_AUTH_WRITE_TOKENS": "w-token-123456789012"}


def wait_for(fn, timeout=20.0):
    """Call fn until its (status, body) has status 200; returns the last."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last[0] == 200:
            return last
        time.sleep(0.1)
    return last


def ready(url):
    st, _, obj = request_json("GET", url + "/ready", timeout=10)
    return st, obj


def metrics(url, token=None):
    hdrs = {"Authorization": "Bearer " + token} if token else None
    st, _, body = request("GET", url + "/metrics", headers=hdrs)
    assert st == 200, st
    return body.decode()


class TestReady(ServerTest):

    def test_catalogd_sqlite_is_ready_without_token_and_unlogged(self):
        cat = self.start("catalogd", env=dict(TOKENS))
        st, obj = ready(cat.url)
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["status"], obj["service"]), ("ready", "catalogd"))
        self.assertIs(obj["dependencies"]["database"]["up"], True)
        # a token-protected route still needs the token; /ready does not
        self.assertEqual(request("GET", cat.url + "/catalog/datasets")[0], 401)
        for i in range(3):
            request("GET", cat.url + "/ready", headers={"X-Request-Id": "ready-probe-%d" % i})
        request("GET", cat.url + "/health", headers={"X-Request-Id": "health-probe"})
        time.sleep(0.3)
        log = cat.read_log()
        # probes are never logged (ADR 0207: before it a plain /health was)
        self.assertNotIn("health-probe", log)
        self.assertNotIn("ready-probe", log)
        text = metrics(cat.url, TOKENS["LAKEHOUSE_AUTH_READ_TOKENS"])
        self.assertIn('lakehouse_dependency_up{service="catalogd",dependency="database"} 1', text)
        self.assertIn('lakehouse_dependency_checks_total{service="catalogd",dependency="database"}',
                      text)

    def test_ingestd_waits_for_its_peers(self):
        cport, sport = free_port(), free_port()
        ing = self.start("ingestd", env={
            "LAKEHOUSE_INGESTD_CATALOGD_URL": "http://127.0.0.1:%d" % cport,
            "LAKEHOUSE_INGESTD_STORAGED_URL": "http://127.0.0.1:%d" % sport})
        self.assertEqual(request("GET", ing.url + "/health")[0], 200)   # alive
        st, obj = ready(ing.url)
        self.assertEqual(st, 503, obj)
        self.assertEqual(obj["status"], "not_ready")
        for dep in ("catalogd", "storaged"):
            self.assertIs(obj["dependencies"][dep]["up"], False, obj)
            self.assertEqual(obj["dependencies"][dep]["reason"], "it is not reachable")
        self.assertIn('lakehouse_dependency_up{service="ingestd",dependency="catalogd"} 0',
                      metrics(ing.url))
        self.start("storaged", port=sport)
        self.start("catalogd", port=cport)
        st, obj = wait_for(lambda: ready(ing.url))
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["status"], "ready")
        text = metrics(ing.url)
        self.assertIn('lakehouse_dependency_up{service="ingestd",dependency="storaged"} 1', text)
        self.assertRegex(text, r'lakehouse_dependency_errors_total\{service="ingestd",'
                               r'dependency="catalogd"\} [1-9]')

    def test_gateway_ready_follows_its_pools(self):
        dead = "http://127.0.0.1:%d" % free_port()
        storaged = self.start("storaged")
        gw = self.start("gateway", env={"LAKEHOUSE_GATEWAY_STORAGED_URL": storaged.url,
                                        "LAKEHOUSE_GATEWAY_CATALOGD_URL": dead})
        st, _, obj = request_json("GET", gw.url + "/health")
        self.assertEqual((st, obj["status"]), (200, "ok"), obj)   # liveness only
        st, obj = ready(gw.url)
        self.assertEqual(st, 503, obj)
        self.assertIs(obj["dependencies"]["storaged"]["up"], True)
        self.assertIs(obj["dependencies"]["catalogd"]["up"], False)
        self.assertIn("none of its 1 instance is ready", obj["dependencies"]["catalogd"]["reason"])
        self.assertNotIn("queryd", obj["dependencies"])   # not configured: not counted
        text = metrics(gw.url)
        self.assertIn('lakehouse_upstream_instance_up{service="gateway",upstream="storaged",'
                      'instance="%s",state="ok"} 1' % storaged.url, text)
        self.assertIn('lakehouse_upstream_instance_up{service="gateway",upstream="catalogd",'
                      'instance="%s",state="unreachable"} 0' % dead, text)
        self.assertIn('lakehouse_dependency_up{service="gateway",dependency="catalogd"} 0', text)

    def test_serve_is_ready(self):
        srv = self.start("serve")
        st, obj = wait_for(lambda: ready(srv.url))
        self.assertEqual(st, 200, obj)
        self.assertEqual(set(obj["dependencies"]), {"storaged", "catalogd", "ingestd", "queryd"})


class TestStartOrder(ServerTest):
    """catalogd before PostgreSQL (ADR 0201)."""

    def test_catalogd_starts_before_postgres(self):
        pg = PostgresServer(start=False)
        self.addCleanup(pg.stop)
        cat = self.start("catalogd", env={"LAKEHOUSE_CATALOGD_BACKEND": "postgres",
                                          "LAKEHOUSE_CATALOGD_POSTGRES_DSN": pg.dsn()})
        st, obj = ready(cat.url)
        self.assertEqual(st, 503, obj)
        self.assertIs(obj["dependencies"]["database"]["up"], False)
        self.assertIn("could not be reached", obj["dependencies"]["database"]["reason"])
        st, _, err = request_json("GET", cat.url + "/catalog/datasets")
        self.assertEqual((st, err["code"]), (503, "catalog_unavailable"), err)
        time.sleep(1.5)   # a few retries while it is down: logged once
        pg.start()
        st, obj = wait_for(lambda: ready(cat.url), timeout=30)
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("GET", cat.url + "/catalog/datasets")
        self.assertEqual(st, 200, obj)
        log = cat.read_log()
        self.assertEqual(log.count("postgres: connect:"), 1, log)
        self.assertIn("the catalog is ready", log)

    def test_storaged_starts_before_its_store(self):
        from test_storaged import S3_BUCKET, S3rver
        port = free_port()
        env = {"LAKEHOUSE_STORAGED_BACKEND": "s3",
               "LAKEHOUSE_STORAGED_S3_ENDPOINT": "http://127.0.0.1:%d" % port,
               "LAKEHOUSE_STORAGED_S3_BUCKET": S3_BUCKET,
               "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
               "LAKEHOUSE_STORAGED_SINGLE_WRITER": "true"}
        sto = self.start("storaged", env=env)
        st, obj = ready(sto.url)
        self.assertEqual(st, 503, obj)
        self.assertEqual(obj["dependencies"]["object_store"]["reason"],
                         "the S3 store is not reachable")
        s3 = S3rver(port=port)
        self.addCleanup(s3.stop)
        st, obj = wait_for(lambda: ready(sto.url))
        self.assertEqual(st, 200, obj)
        st, _, body = request("PUT", sto.url + "/storage/put/k1", body=b"hello")
        self.assertEqual(st, 200, body)
        self.assertIn("not reachable yet", sto.read_log())

    def test_store_without_write_once_needs_single_writer(self):
        """s3rver accepts a second PUT with If-None-Match: * (ADR 0203):
        storaged refuses to start on it without single_writer, saying what
        is at risk; started before the store, it stays not ready and refuses
        writes once it has probed the store."""
        from test_storaged import S3_BUCKET, S3rver
        port = free_port()
        env = {"LAKEHOUSE_STORAGED_BACKEND": "s3",
               "LAKEHOUSE_STORAGED_S3_ENDPOINT": "http://127.0.0.1:%d" % port,
               "LAKEHOUSE_STORAGED_S3_BUCKET": S3_BUCKET,
               "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}
        early = self.start("storaged", env=env)
        s3 = S3rver(port=port)
        self.addCleanup(s3.stop)
        # the store is up: the probe runs, and the answer is no
        deadline = time.time() + 20
        while time.time() < deadline:
            st, obj = ready(early.url)
            if "write-once" in obj["dependencies"]["object_store"].get("reason", ""):
                break
            time.sleep(0.1)
        self.assertEqual(st, 503, obj)
        self.assertIn("single_writer = true", obj["dependencies"]["object_store"]["reason"])
        st, _, err = request_json("PUT", early.url + "/storage/put/k1", body=b"x")
        self.assertEqual((st, err["code"]), (503, "store_unsafe"), err)
        self.assertNotIn("write-once-", " ".join(s3.objects()))   # probe keys deleted

        d = tempfile.mkdtemp(prefix="lh-test-")
        self.addCleanup(shutil.rmtree, d, True)
        r = subprocess.run([BINARY, "storaged", "--bind", "127.0.0.1:%d" % free_port()],
                           env=dict(os.environ, LAKEHOUSE_DATA_DIR=d, **env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        text = r.stderr.decode()
        self.assertIn("does not enforce write-once", text)
        self.assertIn("silently replace", text)
        self.assertIn("single_writer = true", text)

        ok = self.start("storaged", env=dict(env, LAKEHOUSE_STORAGED_SINGLE_WRITER="true"))
        self.assertEqual(ready(ok.url)[0], 200)
        self.assertIn("single_writer = true", ok.read_log())

    def test_refused_login_is_fatal(self):
        pg = PostgresServer()
        self.addCleanup(pg.stop)
        dsn = "host=127.0.0.1 port=%d dbname=postgres user=nobody_here" % pg.port
        d = tempfile.mkdtemp(prefix="lh-test-")
        self.addCleanup(shutil.rmtree, d, True)
        env = dict(os.environ, LAKEHOUSE_DATA_DIR=d, LAKEHOUSE_CATALOGD_BACKEND="postgres",
                   LAKEHOUSE_CATALOGD_POSTGRES_DSN=dsn)
        r = subprocess.run([BINARY, "catalogd", "--bind", "127.0.0.1:%d" % free_port()],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr.decode()
        self.assertIn("refused the login", err)
        self.assertIn("postgres_dsn", err)


if __name__ == "__main__":
    unittest.main()


class TestPeerLists(ServerTest):
    """ingestd and queryd take lists of catalogd/storaged URLs and balance
    over them with the gateway's pools (issue 23 point 3, ADR 0204)."""

    def test_lists_with_a_dead_member(self):
        dead = "http://127.0.0.1:%d" % free_port()
        sto = self.start("storaged")
        cat = self.start("catalogd", env={"LAKEHOUSE_CATALOGD_STORAGED_URL": sto.url})
        lists = {"CATALOGD_URL": "%s,%s" % (dead, cat.url),
                 "STORAGED_URL": "%s, %s" % (dead, sto.url)}
        ing = self.start("ingestd", env={"LAKEHOUSE_INGESTD_" + k: v for k, v in lists.items()})
        qry = self.start("queryd", env={"LAKEHOUSE_QUERYD_" + k: v for k, v in lists.items()})
        for srv in (ing, qry):
            st, obj = wait_for(lambda: ready(srv.url))
            self.assertEqual(st, 200, obj)
        for i in range(4):
            st, _, obj = request_json("POST", ing.url + "/ingest?name=people&mode=append",
                                      body=b"id,name\n%d,x\n" % i,
                                      headers={"Content-Type": "text/csv"})
            self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", qry.url + "/query",
                                  {"sql": "SELECT count(*) AS n FROM people"})
        self.assertEqual(st, 200, obj)
        self.assertIn("4", json.dumps(obj))


class TestJsonLinesOnly(ServerTest):
    def test_listening_line_is_json(self):
        """With JSON logs every output line is JSON, the "listening on" line
        included (issue 23 point 7: a plain line breaks jq)."""
        sto = self.start("storaged", env={"LAKEHOUSE_LOG": "json"})
        request("GET", sto.url + "/health")
        time.sleep(0.2)
        lines = [l for l in sto.read_log().splitlines() if l.strip()]
        self.assertTrue(lines)
        msgs = [json.loads(l).get("msg", "") for l in lines]   # each line is JSON
        self.assertIn("storaged listening on %s" % sto.url, msgs)
