"""Issue 22, points 5 and 6, at the HTTP layer of every service (ADR 0110):
RFC 9112 framing (Content-Length with Transfer-Encoding, two Content-Lengths,
HTTP/1.1 without Host) on raw sockets, the Host allow-list against DNS
rebinding, cross-site refusal of state-changing requests (Origin,
Sec-Fetch-Site), and Content-Type: application/json on JSON endpoints — each
at the gateway of `lakehouse serve` and at an internal service's own port
(serve with fixed internal binds), plus a gateway in front of a recording
peer that must never see a badly framed request."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from lhtest import BINARY, ServerTest, free_port, request, request_json

QUIET = {"LAKEHOUSE_LOG": "quiet"}
CSV = b"id,name\n1,ann\n2,bob\n"
EVIL = "https://evil.example"


def raw(port, data, timeout=10.0):
    """Send `data` on a fresh connection and read the first response.
    Returns (status, headers lower-cased, body bytes, closed): closed is True
    when the server ended the connection after that response (EOF within
    `timeout`) instead of keeping it open for another request."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError("connection closed without an answer: %r" % buf)
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        # no Content-Length (libmicrohttpd's own error pages): up to EOF
        n = int(hdrs.get("content-length", "-1"))
        while n < 0 or len(rest) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        if n < 0:
            return status, hdrs, rest, True
        body, extra = rest[:n], rest[n:]
        closed = False
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed = True
                    break
                extra += chunk
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = True   # closed with our unread body bytes still queued
        if extra:
            raise AssertionError("a second response followed: %r" % extra[:200])
        return status, hdrs, body, closed
    finally:
        s.close()


def error_code(body):
    try:
        return json.loads(body).get("code")
    except ValueError:
        return None


def multipart(fields, boundary="lhBoundary7"):
    """A multipart/form-data body: fields is a list of (name, filename, bytes)."""
    out = b""
    for name, filename, data in fields:
        disp = 'form-data; name="%s"' % name
        if filename:
            disp += '; filename="%s"' % filename
        out += ("--%s\r\nContent-Disposition: %s\r\n\r\n" % (boundary, disp)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return out, "multipart/form-data; boundary=" + boundary


class SecurityServe(ServerTest):
    """`lakehouse serve` with its internal services on known ports."""

    def start_serve(self, env=None):
        self.ports = {s: free_port() for s in ("storaged", "catalogd", "ingestd", "queryd")}
        full = dict(QUIET)
        for s, p in self.ports.items():
            full["LAKEHOUSE_%s_BIND" % s.upper()] = "127.0.0.1:%d" % p
        full.update(env or {})
        self.srv = self.start("serve", env=full)
        return self.srv

    def internal(self, service):
        return "http://127.0.0.1:%d" % self.ports[service]

    def datasets(self):
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets")
        self.assertEqual(st, 200, obj)
        return [d["name"] for d in obj["datasets"]]

    def ingest(self, name, headers=None):
        hdrs = {"Content-Type": "text/csv"}
        hdrs.update(headers or {})
        return request_json("POST", self.srv.url + "/v1/ingest?name=" + name, CSV, hdrs)


class TestFraming(SecurityServe):
    """RFC 9112 §6.3 and §3.2 on raw sockets, at the gateway and at storaged."""

    def setUp(self):
        self.start_serve()

    def ports_under_test(self):
        return [(self.srv.port, "/v1/storage/put/"), (self.ports["storaged"], "/storage/put/")]

    def assert_refused(self, port, data, status, code):
        st, hdrs, body, closed = raw(port, data)
        self.assertEqual(st, status, body)
        if code:
            self.assertEqual(error_code(body), code, body)
            self.assertIn("error", json.loads(body))
        self.assertTrue(closed, "the connection must be closed after %d %s" % (st, code))
        return body

    def assert_not_stored(self, key):
        st, _, _ = request("GET", self.internal("storaged") + "/storage/get/" + key)
        self.assertEqual(st, 404, key)

    def test_content_length_with_transfer_encoding(self):
        for port, prefix in self.ports_under_test():
            key = "smuggle/cl-te-%d" % port
            self.assert_refused(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 5\r\n"
                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" % (prefix, key, port)
            ).encode(), 400, "bad_framing")
            # and the other order of the two headers
            self.assert_refused(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nTransfer-Encoding: chunked\r\n"
                "Content-Length: 0\r\n\r\n3\r\nabc\r\n0\r\n\r\n" % (prefix, key, port)
            ).encode(), 400, "bad_framing")
            self.assert_not_stored(key)
        # while a well-framed chunked body still works on the same ports
        for port, prefix in self.ports_under_test():
            key = "fine/chunked-%d" % port
            st, _, body, _ = raw(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nTransfer-Encoding: chunked\r\n"
                "Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n" % (prefix, key, port)).encode())
            self.assertIn(st, (200, 201), body)
            st, _, data = request("GET", self.internal("storaged") + "/storage/get/" + key)
            self.assertEqual((st, data), (200, b"abc"))

    def test_two_content_lengths(self):
        for port, prefix in self.ports_under_test():
            key = "smuggle/two-cl-%d" % port
            # MHD alone would frame by the first (0) and read "GET /x ..." as
            # a second request on the same connection.
            self.assert_refused(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\n"
                "Content-Length: 19\r\n\r\nGET /health HTTP/1.1\r\n\r\n" % (prefix, key, port)
            ).encode(), 400, "bad_framing")
            self.assert_not_stored(key)
            # A list value is refused by libmicrohttpd itself, before our
            # code runs (0.9.75 sends its status line and headers twice
            # there, so only the start and the close are checked).
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(("PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 3, 3"
                       "\r\n\r\nabc" % (prefix, key, port)).encode())
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
            s.close()
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:100])
            self.assert_not_stored(key)

    def test_space_before_colon(self):
        # libmicrohttpd keeps "Content-Length : 19" as an unknown header and
        # frames the request as bodiless, so the body would be read as a
        # second request (found in review); RFC 9112 §5.1 says 400.
        for port, prefix in self.ports_under_test():
            key = "smuggle/space-%d" % port
            self.assert_refused(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length : 19\r\n\r\n"
                "GET /health HTTP/1.1\r\n\r\n" % (prefix, key, port)).encode(),
                400, "bad_header_name")
            self.assert_refused(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nTransfer-Encoding\t: chunked\r\n"
                "\r\n3\r\nabc\r\n0\r\n\r\n" % (prefix, key, port)).encode(),
                400, "bad_header_name")
            self.assert_not_stored(key)

    def test_unsupported_transfer_coding(self):
        for port, prefix in self.ports_under_test():
            key = "smuggle/te-%d" % port
            self.assert_refused(port, (
                "PUT %s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nTransfer-Encoding: gzip, chunked"
                "\r\n\r\n0\r\n\r\n" % (prefix, key, port)).encode(),
                501, "unsupported_transfer_encoding")
            self.assert_not_stored(key)

    def test_http11_without_host(self):
        for port, prefix in self.ports_under_test():
            self.assert_refused(port, b"GET /health HTTP/1.1\r\n\r\n", 400, "missing_host")
            self.assert_refused(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      b"Host: 127.0.0.1\r\n\r\n", 400, "bad_host")
            # HTTP/1.0 has no Host requirement
            st, _, body, _ = raw(port, b"GET /health HTTP/1.0\r\n\r\n")
            self.assertEqual(st, 200, body)



class RecordingPeer(http.server.BaseHTTPRequestHandler):
    """Stands in for storaged behind a gateway: answers /health and the
    gateway's /ready probes (ADR 0200), records every other request line
    (the gateway must never forward a request whose framing is ambiguous)."""
    seen = []

    def answer(self):
        if self.path not in ("/health", "/ready"):
            RecordingPeer.seen.append("%s %s" % (self.command, self.path))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_PUT = do_POST = do_DELETE = answer

    def log_message(self, *args):
        pass


class TestGatewayProxyFraming(ServerTest):
    def test_badly_framed_request_never_reaches_the_peer(self):
        RecordingPeer.seen = []
        peer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingPeer)
        threading.Thread(target=peer.serve_forever, daemon=True).start()
        self.addCleanup(peer.server_close)
        self.addCleanup(peer.shutdown)
        url = "http://127.0.0.1:%d" % peer.server_address[1]
        gw = self.start("gateway", env=dict(QUIET, LAKEHOUSE_GATEWAY_STORAGED_URL=url))
        # the peer is reachable through the gateway
        st, _, _ = request("GET", gw.url + "/v1/storage/get/ok")
        self.assertEqual(st, 200)
        self.assertEqual(RecordingPeer.seen, ["GET /storage/get/ok"])
        RecordingPeer.seen = []
        for data in (
            b"PUT /v1/storage/put/a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            b"PUT /v1/storage/put/b HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n"
            b"Content-Length: 30\r\n\r\nabc",
            b"PUT /v1/storage/put/c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        ):
            st, _, body, closed = raw(gw.port, data)
            self.assertEqual(st, 400, body)
            self.assertIn(error_code(body), ("bad_framing", "missing_host"))
            self.assertTrue(closed)
        time.sleep(0.3)
        self.assertEqual(RecordingPeer.seen, [])


class TestHostAllowList(SecurityServe):
    def test_foreign_names_refused_at_gateway_and_internal_port(self):
        self.start_serve()
        for base in (self.srv.url, self.internal("storaged"), self.internal("queryd")):
            for host in ("evil.example", "evil.example:%d" % self.srv.port, "attacker.test.",
                         "127.0.0.1.nip.io", "localhost.evil.example"):
                for path in ("/health", "/metrics", "/v1/catalog/datasets", "/nope"):
                    st, hdrs, obj = request_json("GET", base + path, headers={"Host": host})
                    self.assertEqual(st, 421, (base, host, path, obj))
                    self.assertEqual(obj["code"], "host_not_allowed")
                    self.assertIn(host.split(":")[0].rstrip("."), obj["error"])
                    self.assertIn("allowed_hosts", obj["error"])
        # writes too: nothing stored
        st, _, obj = request_json("PUT", self.internal("storaged") + "/storage/put/rebind",
                                  b"x", {"Host": "evil.example"})
        self.assertEqual(st, 421, obj)
        self.assertEqual(request("GET", self.internal("storaged") + "/storage/get/rebind")[0], 404)
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", {"sql": "SELECT 1"},
                                  {"Host": "evil.example"})
        self.assertEqual(st, 421, obj)
        # IP literals (what peers use) and localhost names are answered
        for base in (self.srv.url, self.internal("catalogd")):
            port = int(base.rsplit(":", 1)[1])
            for host in ("127.0.0.1", "127.0.0.1:%d" % port, "10.0.0.7:1", "[::1]:%d" % port,
                         "localhost", "LOCALHOST:%d" % port, "localhost.", "ui.localhost"):
                st, _, obj = request_json("GET", base + "/health", headers={"Host": host})
                self.assertEqual(st, 200, (base, host, obj))

    def test_configured_names_accepted(self):
        self.start_serve(env={
            "LAKEHOUSE_HTTP_ALLOWED_HOSTS": "lakehouse.example.com, *.corp.example"})
        for base in (self.srv.url, self.internal("ingestd")):
            for host in ("lakehouse.example.com", "Lakehouse.Example.COM.:8080",
                         "a.corp.example", "b.a.corp.example:1"):
                st, _, obj = request_json("GET", base + "/health", headers={"Host": host})
                self.assertEqual(st, 200, (base, host, obj))
            for host in ("corp.example", "example.com", "lakehouse.example.com.evil"):
                st, _, obj = request_json("GET", base + "/health", headers={"Host": host})
                self.assertEqual(st, 421, (base, host, obj))
        # the UI and the API answer under the configured name
        st, _, _ = request("GET", self.srv.url + "/", headers={"Host": "lakehouse.example.com"})
        self.assertEqual(st, 200)

    def test_bad_list_refused_at_start(self):
        env = dict(os.environ, LAKEHOUSE_HTTP_ALLOWED_HOSTS="good.example, bad.example:8080",
                   LAKEHOUSE_DATA_DIR=tempfile.mkdtemp(prefix="lh-test-"))
        self.addCleanup(shutil.rmtree, env["LAKEHOUSE_DATA_DIR"], True)
        p = subprocess.run([BINARY, "storaged", "--bind", "127.0.0.1:%d" % free_port()],
                           env=env, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 1, p)
        self.assertIn(b"allowed_hosts", p.stderr)
        self.assertIn(b"bad.example:8080", p.stderr)


class TestCrossSite(SecurityServe):
    def setUp(self):
        self.start_serve()

    def test_cross_site_ingest_refused_nothing_ingested(self):
        body, ctype = multipart([("file", "a.csv", CSV)])
        for hdrs in ({"Origin": EVIL}, {"Origin": "null"},
                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                     {"Origin": "http://127.0.0.1:%d" % self.srv.port,
                      "Sec-Fetch-Site": "cross-site"},
                     {"Origin": "http://localhost:%d" % self.srv.port}):
            hdrs = dict(hdrs, **{"Content-Type": ctype})
            st, _, obj = request_json("POST", self.srv.url + "/v1/ingest?name=evil", body, hdrs)
            self.assertEqual(st, 403, (hdrs, obj))
            self.assertEqual(obj["code"], "cross_site_request")
            # and at ingestd's own port
            st, _, obj = request_json("POST", self.internal("ingestd") + "/ingest?name=evil2",
                                      body, hdrs)
            self.assertEqual(st, 403, (hdrs, obj))
            self.assertEqual(obj["code"], "cross_site_request")
        self.assertEqual(self.datasets(), [])
        st, _, obj = request_json("GET", self.srv.url + "/v1/storage/list?prefix=datasets/")
        self.assertEqual((st, obj["objects"]), (200, []))

    def test_cross_site_upload_form_refused_nothing_ingested(self):
        body, ctype = multipart([("name", None, b"evil"), ("mode", None, b"replace"),
                                 ("file", "a.csv", CSV)])
        for hdrs in ({"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
            hdrs = dict(hdrs, **{"Content-Type": ctype})
            st, _, obj = request_json("POST", self.srv.url + "/upload", body, hdrs)
            self.assertEqual(st, 403, (hdrs, obj))
            self.assertEqual(obj["code"], "cross_site_request")
        self.assertEqual(self.datasets(), [])

    def test_cross_site_writes_refused_at_every_service(self):
        st, _, obj = self.ingest("keep")
        self.assertEqual(st, 200, obj)
        bad = {"Origin": EVIL, "Content-Type": "application/json"}
        calls = [
            ("DELETE", self.srv.url + "/v1/catalog/manifest/keep", None),
            ("DELETE", self.internal("catalogd") + "/catalog/manifest/keep", None),
            ("POST", self.srv.url + "/v1/catalog/gc", {"grace_seconds": 0}),
            ("POST", self.internal("catalogd") + "/catalog/gc", {"grace_seconds": 0}),
            ("PUT", self.srv.url + "/v1/storage/put/evil/a", b"x"),
            ("PUT", self.internal("storaged") + "/storage/put/evil/b", b"x"),
            ("POST", self.srv.url + "/v1/query", {"sql": "SELECT 1"}),
            ("POST", self.internal("queryd") + "/query", {"sql": "SELECT 1"}),
        ]
        for method, url, body in calls:
            st, _, obj = request_json(method, url, body, bad)
            self.assertEqual(st, 403, (method, url, obj))
            self.assertEqual(obj["code"], "cross_site_request")
        self.assertEqual(self.datasets(), ["keep"])
        for key in ("evil/a", "evil/b"):
            self.assertEqual(request("GET", self.internal("storaged") + "/storage/get/" + key)[0],
                             404)
        # same-origin requests, and requests without either header, pass
        own = "http://127.0.0.1:%d" % self.srv.port
        st, _, obj = self.ingest("mine", {"Origin": own, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(st, 200, obj)
        st, _, obj = self.ingest("typed", {"Sec-Fetch-Site": "none"})
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", {"sql": "SELECT 1 AS x"},
                                  {"Origin": own})
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", {"sql": "SELECT 2 AS x"},
                                  {"Host": "localhost:%d" % self.srv.port,
                                   "Origin": "http://localhost:%d" % self.srv.port})
        self.assertEqual(st, 200, obj)
        # a GET is never refused by this check (it must not change anything)
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets",
                                  headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(sorted(self.datasets()), ["keep", "mine", "typed"])


class TestJsonEndpoints(SecurityServe):
    def setUp(self):
        self.start_serve()

    def test_non_json_bodies_refused(self):
        gc = b'{"dry_run": false, "grace_seconds": 0}'
        cases = [
            ("/v1/query", b'{"sql": "SELECT 1"}', "text/plain"),
            ("/v1/query", b'{"sql": "SELECT 1"}', "text/plain;charset=UTF-8"),
            ("/v1/query", b'{"sql": "SELECT 1"}', None),   # a Blob without a type
            ("/v1/query", b'{"sql": "SELECT 1"}', "application/x-www-form-urlencoded"),
            ("/v1/catalog/gc", gc, "application/x-www-form-urlencoded"),
            ("/v1/catalog/gc", gc, "text/plain"),
            ("/v1/catalog/gc", b"", None),
            ("/v1/catalog/register", b'{"name": "x"}', "application/x-www-form-urlencoded"),
            ("/v1/catalog/register", b'{"name": "x"}', "multipart/form-data; boundary=x"),
        ]
        for path, body, ctype in cases:
            for base, p in ((self.srv.url, path), (self.internal(
                    "queryd" if "query" in path else "catalogd"), path[len("/v1"):])):
                hdrs = {"Content-Type": ctype} if ctype else {}
                st, _, obj = request_json("POST", base + p, body, hdrs)
                self.assertEqual(st, 415, (base, p, ctype, obj))
                self.assertEqual(obj["code"], "unsupported_media_type")
                self.assertIn("application/json", obj["error"])
        self.assertEqual(self.datasets(), [])
        # JSON, with or without parameters, in any case
        for ctype in ("application/json", "application/json; charset=utf-8",
                      "Application/JSON"):
            st, _, obj = request_json("POST", self.srv.url + "/v1/query",
                                      b'{"sql": "SELECT 1 AS x"}', {"Content-Type": ctype})
            self.assertEqual(st, 200, (ctype, obj))
            self.assertEqual(obj["rows"], [[1]])
        st, _, obj = request_json("POST", self.srv.url + "/v1/catalog/gc",
                                  {"dry_run": True, "grace_seconds": 0})
        self.assertEqual(st, 200, obj)
