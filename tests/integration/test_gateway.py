"""The gateway over real services (`lakehouse serve`, and `lakehouse gateway`
alone in front of real or deliberately broken peers): every /v1 route, odd
keys and query values that must round-trip, X-Request-Id in every hop's log
line, 502 for a dead upstream, 504 for a slow one, /health, and memory that
stays flat while a 300 MiB object streams through both ways.

Routes of services not yet built into the binary are tested through their
502 "not configured" answer, and their own tests are skipped with a reason
naming the missing service (see built())."""
import hashlib
import http.server
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from lhtest import BINARY, Server, ServerTest, free_port, request, request_json


def built(command):
    """True if `lakehouse <command>` is part of this binary."""
    p = subprocess.run([BINARY, command, "--help"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)
    return p.returncode == 0


def q(key):
    """A key as a URL path: every byte that is not unreserved or '/' encoded."""
    return urllib.parse.quote(key, safe="/")


def log_lines(srv):
    out = []
    for line in srv.read_log().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


class AnyHealthServer(Server):
    """A gateway whose /health may legitimately say 503 (a dead upstream):
    ready as soon as /health answers at all."""

    def wait_ready(self, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited: %s" % self.read_log())
            try:
                request("GET", self.url + "/health", timeout=5)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gateway did not answer: %s" % self.read_log())


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """A real HTTP peer that takes 5 s to answer anything."""

    def do_GET(self):
        time.sleep(5)
        try:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass

    def log_message(self, *args):
        pass


class Pattern:
    """A file-like body of `size` pseudo-random bytes, hashed as it is read."""

    def __init__(self, size):
        self.left = size
        self.sha = hashlib.sha256()
        self.block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB

    def read(self, n=-1):
        if self.left == 0:
            return b""
        n = min(self.left, len(self.block) if n is None or n < 0 else n, len(self.block))
        chunk = self.block[:n]
        self.left -= n
        self.sha.update(chunk)
        return chunk


class TestGatewayStorage(ServerTest):
    """/v1/storage/* through `lakehouse serve`."""

    def setUp(self):
        self.srv = self.start("serve")
        self.base = self.srv.url + "/v1/storage"

    def test_odd_keys_round_trip_every_method(self):
        keys = ["plain.txt", "dir with space/äöü/日本語.csv", "100%/a+b&c=d?e#f",
                "semi;colon,comma'quote\"paren()", "tilde~/x@y$z!*"]
        for i, key in enumerate(keys):
            body = ("object %d: %s" % (i, key)).encode()
            sha = hashlib.sha256(body).hexdigest()
            st, _, obj = request_json("PUT", self.base + "/put/" + q(key), body=body)
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["key"], key)
            self.assertEqual(obj["sha256"], sha)

            st, hdrs, data = request("GET", self.base + "/get/" + q(key))
            self.assertEqual((st, data), (200, body))
            self.assertEqual(hdrs["etag"], '"%s"' % sha)
            self.assertEqual(hdrs["content-length"], str(len(body)))

            st, hdrs, data = request("HEAD", self.base + "/get/" + q(key))
            self.assertEqual((st, data), (200, b""))
            self.assertEqual(hdrs["content-length"], str(len(body)))
            self.assertEqual(hdrs["etag"], '"%s"' % sha)

            st, hdrs, data = request("GET", self.base + "/get/" + q(key),
                                     headers={"Range": "bytes=2-5"})
            self.assertEqual((st, data), (206, body[2:6]))
            self.assertEqual(hdrs["content-range"], "bytes 2-5/%d" % len(body))

        st, _, obj = request_json("GET", self.base + "/list")
        self.assertEqual(st, 200)
        self.assertEqual([o["key"] for o in obj["objects"]], sorted(keys, key=lambda k: k.encode()))

        for key in keys:
            st, _, _ = request("DELETE", self.base + "/delete/" + q(key))
            self.assertEqual(st, 204)
            self.assertError(request_json("GET", self.base + "/get/" + q(key)), 404, "not_found")
        self.assertError(request_json("DELETE", self.base + "/delete/" + q(keys[0])), 404, "not_found")

    def test_query_values_are_re_encoded(self):
        for key in ["q/a&b=c", "q/a b", "q/a+b", "q/a%b", "q/é", "q/z"]:
            self.assertEqual(request("PUT", self.base + "/put/" + q(key), body=b"x")[0], 200)

        def listing(**params):
            st, _, obj = request_json("GET", self.base + "/list?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))
            self.assertEqual(st, 200, obj)
            return [o["key"] for o in obj["objects"]]

        self.assertEqual(listing(prefix="q/a&b="), ["q/a&b=c"])
        self.assertEqual(listing(prefix="q/a "), ["q/a b"])
        self.assertEqual(listing(prefix="q/a+"), ["q/a+b"])
        self.assertEqual(listing(prefix="q/a%"), ["q/a%b"])
        self.assertEqual(listing(prefix="q/é"), ["q/é"])
        self.assertEqual(listing(prefix="q/", limit=2), ["q/a b", "q/a%b"])
        got = listing(prefix="q/", after="q/a+b")
        self.assertEqual(got, sorted([k for k in ["q/a&b=c", "q/a b", "q/a+b", "q/a%b", "q/é", "q/z"]
                                      if k.encode() > b"q/a+b"], key=lambda k: k.encode()))

    def test_bad_keys_reach_storaged_verbatim(self):
        # No normalisation on the way: storaged itself refuses these.
        for path in ["/get/a/../b", "/get/a/./b", "/get/a//b", "/get/%00x", "/put/..%2Fescape"]:
            method = "PUT" if path.startswith("/put") else "GET"
            st, _, obj = request_json(method, self.base + path, body=b"x" if method == "PUT" else None)
            self.assertEqual(st, 400, (path, obj))
            self.assertEqual(obj["code"], "bad_key", (path, obj))

    def test_empty_body_and_write_once(self):
        st, _, obj = request_json("PUT", self.base + "/put/empty", body=b"")
        self.assertEqual((st, obj["size"]), (200, 0))
        self.assertEqual(request("GET", self.base + "/get/empty")[::2], (200, b""))
        st, _, _ = request("PUT", self.base + "/put/once", body=b"1", headers={"If-None-Match": "*"})
        self.assertEqual(st, 200)
        st, _, obj = request_json("PUT", self.base + "/put/once", body=b"2", headers={"If-None-Match": "*"})
        self.assertEqual(st, 412, obj)
        self.assertEqual(request("GET", self.base + "/get/once")[2], b"1")

    def test_chunked_upload(self):
        def gen():
            for i in range(50):
                yield (b"%03d" % i) * 1000
        host, port = "127.0.0.1", self.srv.port
        import http.client
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("PUT", "/v1/storage/put/chunked", body=gen(), encode_chunked=True)
        resp = conn.getresponse()
        obj = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 200, obj)
        expected = b"".join(gen())
        self.assertEqual(obj["size"], len(expected))
        self.assertEqual(request("GET", self.base + "/get/chunked")[2], expected)

    def test_errors_and_allow_pass_through(self):
        st, hdrs, obj = request_json("POST", self.base + "/get/x")
        self.assertEqual(st, 405, obj)
        self.assertIn("GET", hdrs["allow"])
        self.assertError(request_json("GET", self.srv.url + "/v1/nope"), 404, "not_found")
        self.assertError(request_json("GET", self.srv.url + "/v1/storage"), 404, "not_found")
        st, _, obj = request_json("PATCH", self.base + "/put/x")
        self.assertEqual(st, 405, obj)

    def test_request_id_in_every_hop(self):
        st, hdrs, _ = request("PUT", self.base + "/put/rid", body=b"x",
                              headers={"X-Request-Id": "trace-gw-42"})
        self.assertEqual((st, hdrs["x-request-id"]), (200, "trace-gw-42"))
        st, hdrs, _ = request("GET", self.base + "/get/rid")
        generated = hdrs["x-request-id"]
        self.assertRegex(generated, r"^[0-9a-f]{32}$")
        time.sleep(0.2)
        lines = log_lines(self.srv)
        for rid, gw_path, st_path in [("trace-gw-42", "/v1/storage/put/rid", "/storage/put/rid"),
                                      (generated, "/v1/storage/get/rid", "/storage/get/rid")]:
            hops = {(l["service"], l["path"]) for l in lines if l.get("request_id") == rid}
            self.assertIn(("gateway", gw_path), hops)
            self.assertIn(("storaged", st_path), hops)

    def test_ui_index(self):
        # The web UI's datasets page (tested in depth in tests/browser/).
        st, hdrs, body = request("GET", self.srv.url + "/")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/html"))
        self.assertIn(b'id="dataset-list"', body)
        self.assertIn(b'href="/v1/catalog/datasets"', body)
        st, hdrs, body = request("GET", self.srv.url + "/static/htmx.min.js")
        self.assertEqual(st, 200)
        self.assertIn(b"htmx", body)

    def test_health_reports_each_service(self):
        st, _, obj = request_json("GET", self.srv.url + "/health")
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["status"], obj["service"]), ("ok", "gateway"))
        self.assertEqual(set(obj["services"]), {"storaged", "catalogd", "ingestd", "queryd"})
        for name, s in obj["services"].items():
            if built(name):
                self.assertEqual(s["status"], "ok", (name, s))
                self.assertTrue(s["url"].startswith("http://127.0.0.1:"), s)
            else:
                self.assertEqual(s["status"], "not_configured", (name, s))

    def test_unbuilt_services_answer_502(self):
        for name, method, path in [("catalogd", "GET", "/v1/catalog/datasets"),
                                   ("ingestd", "POST", "/v1/ingest?name=x"),
                                   ("queryd", "POST", "/v1/query")]:
            if built(name):
                continue
            st, _, obj = request_json(method, self.srv.url + path, body=b"")
            self.assertEqual(st, 502, obj)
            self.assertEqual(obj["code"], "upstream_unavailable")
            self.assertIn(name, obj["error"])


class TestGatewayUpstreams(ServerTest):
    """`lakehouse gateway` alone, in front of dead, slow and strict peers."""

    def gateway(self, env):
        srv = AnyHealthServer("gateway", env=env)
        self.addCleanup(srv.cleanup)
        return srv

    def test_dead_upstream_is_502(self):
        dead = "http://127.0.0.1:%d" % free_port()
        gw = self.gateway({"LAKEHOUSE_GATEWAY_STORAGED_URL": dead,
                           "LAKEHOUSE_GATEWAY_CATALOGD_URL": dead})
        st, _, obj = request_json("GET", gw.url + "/v1/storage/get/x")
        self.assertEqual(st, 502, obj)
        self.assertEqual(obj, {"code": "upstream_unavailable", "error": "storaged is not reachable"})
        st, _, obj = request_json("PUT", gw.url + "/v1/storage/put/x", body=b"x" * 100000)
        self.assertEqual((st, obj["code"]), (502, "upstream_unavailable"))
        st, _, obj = request_json("GET", gw.url + "/v1/catalog/datasets")
        self.assertEqual((st, obj["error"]), (502, "catalogd is not reachable"))
        # /health is liveness (ADR 0200): 200 and each pool's state;
        # /ready says the gateway cannot serve
        st, _, obj = request_json("GET", gw.url + "/health")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["status"], "ok")
        st, _, ready = request_json("GET", gw.url + "/ready")
        self.assertEqual((st, ready["status"]), (503, "not_ready"), ready)
        self.assertEqual(set(ready["dependencies"]), {"storaged", "catalogd"})
        self.assertEqual(obj["services"]["storaged"],
                         {"status": "unreachable", "url": dead,
                          "instances": [{"url": dead, "status": "unreachable"}]})
        self.assertEqual(obj["services"]["queryd"]["status"], "not_configured")

    def test_slow_upstream_is_504(self):
        slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
        slow.daemon_threads = True
        threading.Thread(target=slow.serve_forever, daemon=True).start()
        self.addCleanup(slow.server_close)
        self.addCleanup(slow.shutdown)
        gw = self.gateway({"LAKEHOUSE_GATEWAY_STORAGED_URL": "http://127.0.0.1:%d" % slow.server_port,
                           "LAKEHOUSE_GATEWAY_UPSTREAM_TIMEOUT_MS": "300"})
        t0 = time.time()
        st, _, obj = request_json("GET", gw.url + "/v1/storage/get/x")
        took = time.time() - t0
        self.assertEqual(st, 504, obj)
        self.assertEqual(obj["code"], "upstream_timeout")
        self.assertIn("storaged", obj["error"])
        self.assertLess(took, 3.0)
        self.assertGreaterEqual(took, 0.25)

    def test_gateway_in_front_of_separate_storaged(self):
        storaged = self.start("storaged")
        gw = self.gateway({"LAKEHOUSE_GATEWAY_STORAGED_URL": storaged.url})
        st, _, _ = request("PUT", gw.url + "/v1/storage/put/sep/a", body=b"hello",
                           headers={"X-Request-Id": "two-processes-1"})
        self.assertEqual(st, 200)
        self.assertEqual(request("GET", gw.url + "/v1/storage/get/sep/a")[2], b"hello")
        time.sleep(0.2)
        self.assertTrue(any(l.get("request_id") == "two-processes-1" and l["path"] == "/v1/storage/put/sep/a"
                            for l in log_lines(gw)))
        self.assertTrue(any(l.get("request_id") == "two-processes-1" and l["path"] == "/storage/put/sep/a"
                            for l in log_lines(storaged)))

    def test_upstream_rejection_mid_upload_passes_through(self):
        srv = self.start("serve", env={"LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "1MiB"})
        url = srv.url + "/v1/storage/put/too-big"
        # declared too large: storaged answers before reading the body
        self.assertError(request_json("PUT", url, body=b"x" * (4 << 20)), 413, "too_large")
        # chunked: storaged finds out mid-body
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.request("PUT", "/v1/storage/put/too-big",
                     body=(b"y" * 65536 for _ in range(64)), encode_chunked=True)
        resp = conn.getresponse()
        obj = json.loads(resp.read())
        conn.close()
        self.assertEqual((resp.status, obj["code"]), (413, "too_large"))
        self.assertError(request_json("GET", srv.url + "/v1/storage/get/too-big"), 404, "not_found")


class TestGatewayStreaming(ServerTest):
    def test_300_mib_both_ways_in_bounded_memory(self):
        size = 300 << 20
        srv = self.start("serve", env={"LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "1GiB",
                                       "LAKEHOUSE_LOG": "quiet"})
        before = srv.peak_rss_kib()
        body = Pattern(size)
        st, _, obj = request_json("PUT", srv.url + "/v1/storage/put/big/object.bin", body=body,
                                  headers={"Content-Length": str(size)}, timeout=300)
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["size"], obj["sha256"]), (size, body.sha.hexdigest()))

        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=300)
        conn.request("GET", "/v1/storage/get/big/object.bin")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Length"), str(size))
        sha, got = hashlib.sha256(), 0
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            sha.update(chunk)
            got += len(chunk)
        conn.close()
        self.assertEqual((got, sha.hexdigest()), (size, body.sha.hexdigest()))
        grown_mib = (srv.peak_rss_kib() - before) / 1024
        # 300 MiB went through twice; the gateway's pipes are 2 x 1 MiB per request
        self.assertLess(grown_mib, 48, "peak RSS grew by %.1f MiB" % grown_mib)


@unittest.skipUnless(built("catalogd"), "catalogd is not built into this binary yet")
class TestGatewayCatalog(ServerTest):
    def test_catalog_routes(self):
        srv = self.start("serve")
        base = srv.url + "/v1/catalog"
        st, _, obj = request_json("GET", base + "/datasets")
        self.assertEqual(st, 200, obj)
        reg = {"name": "gw_people", "mode": "replace",
               "schema_fingerprint": "sha256:293f0ddbb873f5da65f02282c2398ce7597f2bd837fac219f1b1b350bb83dde5",
               "schema": [{"name": "id", "type": "int64", "nullable": False},
                          {"name": "name", "type": "utf8", "nullable": True}],
               "objects": [{"key": "datasets/gw_people/a.parquet", "size": 10, "row_count": 2,
                            "content_sha256": "a" * 64}],
               "row_count": 2}
        # Registering an object storaged does not hold is refused: the check
        # that keeps GC from racing a register (ADR 0095).
        st, _, obj = request_json("POST", base + "/register", body=reg)
        self.assertEqual((st, obj["code"]), (409, "object_missing"), obj)
        st, _, _ = request("PUT", srv.url + "/v1/storage/put/datasets/gw_people/a.parquet",
                           body=b"0123456789")
        self.assertEqual(st, 200)
        st, _, obj = request_json("POST", base + "/register", body=reg)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["version"], 1)
        st, _, obj = request_json("GET", base + "/manifest/gw_people")
        self.assertEqual((st, obj["name"], obj["version"]), (200, "gw_people", 1))
        st, _, obj = request_json("GET", base + "/manifest/gw_people?version=1")
        self.assertEqual((st, obj["version"]), (200, 1))
        st, _, obj = request_json("GET", base + "/versions/gw_people")
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("GET", base + "/datasets")
        self.assertIn("gw_people", json.dumps(obj))
        self.assertEqual(request_json("GET", base + "/manifest/nope")[0], 404)
        st, _, _ = request("DELETE", base + "/manifest/gw_people")
        self.assertIn(st, (200, 204))
        self.assertEqual(request_json("GET", base + "/manifest/gw_people")[0], 404)


class TestGatewayIngestQuery(ServerTest):
    def ingest(self, srv):
        csv = b"id,name\n1,Ada\n2,Grace\n"
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=gw_people", body=csv,
                                  headers={"Content-Type": "text/csv", "X-Request-Id": "ingest-hops-1"})
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["row_count"], obj["existing"]), (2, False))

    @unittest.skipUnless(built("ingestd") and built("catalogd"),
                         "ingestd/catalogd are not both built into this binary yet")
    def test_ingest_every_hop_logs_the_request_id(self):
        srv = self.start("serve")
        self.ingest(srv)
        # the same bytes again: existing, nothing new
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=gw_people",
                                  body=b"id,name\n1,Ada\n2,Grace\n", headers={"Content-Type": "text/csv"})
        self.assertEqual((st, obj["existing"]), (200, True))
        # a malformed CSV: ingestd's 400 with its line number passes through
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=gw_bad",
                                  body=b"a,b\n1,2\n3\n", headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj.get("line"), 3, obj)
        time.sleep(0.2)
        services = {l["service"] for l in log_lines(srv) if l.get("request_id") == "ingest-hops-1"}
        self.assertTrue({"gateway", "ingestd", "storaged", "catalogd"} <= services, services)

    @unittest.skipUnless(built("ingestd") and built("queryd") and built("catalogd"),
                         "queryd is not built into this binary yet")
    def test_ingest_then_query(self):
        srv = self.start("serve")
        self.ingest(srv)
        st, _, obj = request_json("POST", srv.url + "/v1/query",
                                  body={"sql": "SELECT name FROM gw_people ORDER BY id", "format": "json"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["rows"], [["Ada"], ["Grace"]])
        st, hdrs, body = request("POST", srv.url + "/v1/query",
                                 body={"sql": "SELECT id FROM gw_people ORDER BY id", "format": "csv"})
        self.assertEqual(st, 200, body)
        self.assertIn(b"1", body)

    @unittest.skipUnless(built("ingestd") and built("queryd") and built("catalogd"),
                         "queryd is not built into this binary yet")
    def test_cast_upload_through_the_gateway_and_the_upload_page(self):
        """ADR 0170: the ingest answer's `cast` passes through /v1/ingest, and
        the web UI's upload page says which columns were read with the
        dataset's types."""
        srv = self.start("serve")
        csv = b"id,hours\n1,40.5\n"
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=gw_hours", body=csv,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual((st, obj["cast"]), (200, []), obj)
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=gw_hours&mode=append",
                                  body=b"id,hours\n2,38\n", headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [{"column": "hours", "from": "int64", "to": "float64"}])
        st, hdrs, page = request("GET", srv.url + "/upload")
        self.assertEqual(st, 200)
        token = hdrs["set-cookie"].split("lh_csrf=")[1].split(";")[0]
        b = "----lhtestcast"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ngw_hours\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nappend\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"h.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\nid,hours\n3,36\n\r\n--%s--\r\n"
                % (b, b, b, b)).encode()
        st, _, page = request("POST", srv.url + "/upload", body=body,
                              headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                       "Content-Type": "multipart/form-data; boundary=" + b})
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b'data-outcome="new_version"', page)
        self.assertIn("<p id=\"upload-cast\">Read with the dataset's types: "
                      "<strong>hours</strong> int64 \u2192 float64.</p>".encode(), page)
        st, _, obj = request_json("POST", srv.url + "/v1/query",
                                  body={"sql": "SELECT sum(hours) FROM gw_hours"})
        self.assertEqual((st, obj["rows"]), (200, [[114.5]]), obj)


if __name__ == "__main__":
    unittest.main()
