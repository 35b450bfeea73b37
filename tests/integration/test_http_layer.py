"""The shared server layer on a real service (storaged): /health, /metrics,
X-Request-Id, JSON log lines, connection time-outs, graceful shutdown on
SIGTERM and SIGINT, and configuration errors reported with file and line."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from lhtest import BINARY, Server, ServerTest, free_port, request, request_json


class TestHttpLayer(ServerTest):
    def test_health_and_metrics(self):
        srv = self.start("storaged")
        st, _, obj = request_json("GET", srv.url + "/health")
        self.assertEqual((st, obj), (200, {"status": "ok", "service": "storaged"}))
        for _ in range(3):
            request("PUT", srv.url + "/storage/put/m/a", body=b"x")
        request("GET", srv.url + "/storage/get/m/missing")
        st, hdrs, body = request("GET", srv.url + "/metrics")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain"))
        text = body.decode()
        self.assertIn('lakehouse_http_requests_total{service="storaged",route="storage_put",status="200"} 3', text)
        self.assertIn('lakehouse_http_requests_total{service="storaged",route="storage_get",status="404"} 1', text)
        self.assertIn('lakehouse_http_request_duration_seconds_count{service="storaged",route="storage_put",status="200"} 3', text)
        self.assertIn('le="+Inf"} 3', text)
        self.assertIn("# TYPE lakehouse_http_request_duration_seconds histogram", text)

    def test_request_id_is_propagated_and_logged(self):
        srv = self.start("storaged")
        st, hdrs, _ = request("GET", srv.url + "/health", headers={"X-Request-Id": "trace-abc-123"})
        self.assertEqual(hdrs["x-request-id"], "trace-abc-123")
        st, hdrs, _ = request("GET", srv.url + "/health")
        generated = hdrs["x-request-id"]
        self.assertRegex(generated, r"^[0-9a-f]{32}$")
        # a hostile id is replaced, not echoed
        st, hdrs, _ = request("GET", srv.url + "/health", headers={"X-Request-Id": "a\"b"})
        self.assertNotEqual(hdrs["x-request-id"], 'a"b')
        # probes are not request lines (ADR 0207): the logged id is checked on a route that is
        st, hdrs, _ = request("GET", srv.url + "/storage/list",
                              headers={"X-Request-Id": "trace-abc-123"})
        self.assertEqual((st, hdrs["x-request-id"]), (200, "trace-abc-123"))
        time.sleep(0.1)
        lines = [json.loads(l) for l in srv.read_log().splitlines() if l.startswith("{")]
        reqs = [l for l in lines if l.get("path") == "/storage/list"]
        self.assertIn("trace-abc-123", [l["request_id"] for l in reqs])
        line = [l for l in reqs if l["request_id"] == "trace-abc-123"][0]
        for field in ("time", "service", "method", "path", "status", "bytes", "duration_ms"):
            self.assertIn(field, line)
        self.assertEqual(line["service"], "storaged")
        self.assertEqual(line["status"], 200)

    def test_errors_are_json(self):
        srv = self.start("storaged")
        self.assertError(request_json("GET", srv.url + "/no/such/route"), 404, "not_found")
        st, hdrs, obj = request_json("POST", srv.url + "/storage/get/a")
        self.assertEqual(st, 405)
        self.assertEqual(obj["code"], "method_not_allowed")
        self.assertIn("GET", hdrs["allow"])

    def test_idle_connection_is_cut_by_timeout(self):
        srv = self.start("storaged", env={"LAKEHOUSE_HTTP_CONNECTION_TIMEOUT_S": "1"})
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # headers never finish
        s.settimeout(5)
        start = time.time()
        data = s.recv(100)
        elapsed = time.time() - start
        s.close()
        self.assertEqual(data, b"")             # closed without an answer
        self.assertLess(elapsed, 4.5)
        self.assertEqual(request("GET", srv.url + "/health")[0], 200)

    def _graceful(self, sig):
        srv = self.start("storaged")
        payload = b"z" * 200000
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"PUT /storage/put/slow/obj HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(payload) + payload[:1000])
        time.sleep(0.3)
        srv.proc.send_signal(sig)
        time.sleep(0.3)
        self.assertIsNone(srv.proc.poll(), "exited before the in-flight request finished")
        s.sendall(payload[1000:])
        s.settimeout(10)
        resp = b""
        while b"\r\n\r\n" not in resp:
            chunk = s.recv(4096)
            if not chunk:
                break
            resp += chunk
        s.close()
        self.assertTrue(resp.startswith(b"HTTP/1.1 200"), resp[:200])
        self.assertEqual(srv.proc.wait(timeout=10), 0)
        # the object the in-flight request wrote is there after a restart
        again = self.start("storaged", data_dir=srv.data_dir)
        st, _, body = request("GET", again.url + "/storage/get/slow/obj")
        self.assertEqual((st, len(body)), (200, len(payload)))

    def test_sigterm_lets_in_flight_request_finish(self):
        self._graceful(signal.SIGTERM)

    def test_sigint_lets_in_flight_request_finish(self):
        self._graceful(signal.SIGINT)


class TestConfigErrors(unittest.TestCase):
    def run_bin(self, args, env=None, cwd=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([BINARY] + args, env=e, cwd=cwd, capture_output=True,
                              timeout=10, stdin=subprocess.DEVNULL)

    def test_unknown_key_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "lakehouse.toml")
            with open(path, "w") as f:
                f.write("[storaged]\nbind = \"127.0.0.1:0\"\nbnid = 3\n")
            r = self.run_bin(["storaged", "--config", path])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("lakehouse.toml:3", r.stderr.decode())
            self.assertIn("bnid", r.stderr.decode())

    def test_bad_value_and_unknown_env(self):
        r = self.run_bin(["storaged"], env={"LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "lots"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES", r.stderr.decode())
        r = self.run_bin(["storaged"], env={"LAKEHOUSE_STORAGED_BNID": "1"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LAKEHOUSE_STORAGED_BNID", r.stderr.decode())

    def test_address_in_use_is_a_clear_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            with tempfile.TemporaryDirectory() as d:
                r = self.run_bin(["storaged", "--bind", "127.0.0.1:%d" % port, "--data-dir", d])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("could not listen", r.stderr.decode())

    def test_address_in_use_names_the_port(self):
        """A foreign program's listener (a plain socket): the one error line
        names the port (libmicrohttpd's own line said "port 0"), exit 1."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            with tempfile.TemporaryDirectory() as d:
                r = self.run_bin(["storaged", "--bind", "127.0.0.1:%d" % port, "--data-dir", d])
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("127.0.0.1:%d: port %d is already in use" % (port, port), err)
        self.assertNotIn("port 0", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_a_second_server_on_a_busy_port_is_refused(self):
        """Two of ours on one port: never both listening (no SO_REUSEPORT)."""
        first = Server("storaged")
        self.addCleanup(first.cleanup)
        with tempfile.TemporaryDirectory() as d:
            r = self.run_bin(["storaged", "--bind", "127.0.0.1:%d" % first.port, "--data-dir", d])
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("port %d is already in use" % first.port, r.stderr.decode())
        self.assertNotIn(b"listening on", r.stdout)

    def test_help_and_version(self):
        r = self.run_bin(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode(), r"^lakehouse \d+\.\d+\.\d+")
        r = self.run_bin(["--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("storaged", r.stdout.decode())
        r = self.run_bin(["storaged", "--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("--bind", r.stdout.decode())
        r = self.run_bin(["frobnicate"])
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
