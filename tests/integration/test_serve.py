"""`lakehouse serve`: all five services in one process. It starts on the
address given, prints the URL to open, reports every service healthy, keeps
its data in the data directory (./lakehouse-data by default) across restarts,
stops cleanly on SIGTERM/SIGINT, and refuses a busy port with a clear error."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from lhtest import BINARY, Server, ServerTest, free_port, request, request_json
from test_gateway import built


class TestServe(ServerTest):
    def test_starts_prints_url_and_is_healthy(self):
        srv = self.start("serve")
        st, _, obj = request_json("GET", srv.url + "/health")
        self.assertEqual(st, 200, obj)
        for name in ("storaged", "catalogd", "ingestd", "queryd"):
            expected = "ok" if built(name) else "not_configured"
            self.assertEqual(obj["services"][name]["status"], expected, (name, obj))
        self.assertIn("lakehouse is running at %s/" % srv.url, srv.read_log())
        # the embedded services are on other loopback ports, and answer there too
        for name in ("storaged", "catalogd", "ingestd", "queryd"):
            url = obj["services"][name]["url"]
            if url:
                self.assertRegex(url, r"^http://127\.0\.0\.1:\d+$")
                self.assertNotEqual(url, srv.url)
                self.assertEqual(request_json("GET", url + "/health")[2]["service"], name)

    def test_sigterm_stops_cleanly_and_data_survives_a_restart(self):
        data = tempfile.mkdtemp(prefix="lh-serve-")
        self.addCleanup(shutil.rmtree, data, True)
        srv = Server("serve", data_dir=data)
        self.addCleanup(srv.cleanup)
        st, _, _ = request("PUT", srv.url + "/v1/storage/put/keep/me", body=b"still here")
        self.assertEqual(st, 200)
        t0 = time.time()
        self.assertEqual(srv.stop(signal.SIGTERM, timeout=10), 0)
        self.assertLess(time.time() - t0, 5)
        with open(srv.log_path, "rb") as f:
            self.assertIn(b'"msg":"stopped"', f.read())

        again = Server("serve", data_dir=data, log_path=os.path.join(data, "second.log"))
        self.addCleanup(again.cleanup)
        st, _, body = request("GET", again.url + "/v1/storage/get/keep/me")
        self.assertEqual((st, body), (200, b"still here"))
        self.assertEqual(again.stop(signal.SIGINT, timeout=10), 0)

    def test_sigterm_waits_for_an_in_flight_upload(self):
        srv = self.start("serve")
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.putrequest("PUT", "/v1/storage/put/inflight")
        conn.putheader("Content-Length", str(2 << 20))
        conn.endheaders()
        conn.send(b"a" * (1 << 20))
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        conn.send(b"b" * (1 << 20))
        resp = conn.getresponse()
        resp.read()
        conn.close()
        self.assertEqual(resp.status, 200)
        self.assertEqual(srv.proc.wait(timeout=10), 0)

    def test_default_data_dir_is_lakehouse_data_in_cwd(self):
        cwd = tempfile.mkdtemp(prefix="lh-cwd-")
        self.addCleanup(shutil.rmtree, cwd, True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
        log = open(os.path.join(cwd, "serve.log"), "wb")
        self.addCleanup(log.close)
        proc = subprocess.Popen([BINARY, "serve", "--bind", "127.0.0.1:%d" % port], cwd=cwd,
                                env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        url = "http://127.0.0.1:%d" % port
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if request("GET", url + "/health", timeout=1)[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        self.assertEqual(request("PUT", url + "/v1/storage/put/d/x", body=b"x")[0], 200)
        self.assertTrue(os.path.isdir(os.path.join(cwd, "lakehouse-data")))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)

    def test_busy_port_is_a_clear_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            data = tempfile.mkdtemp(prefix="lh-busy-")
            self.addCleanup(shutil.rmtree, data, True)
            p = subprocess.run([BINARY, "serve", "--bind", "127.0.0.1:%d" % port, "--data-dir", data],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertIn("127.0.0.1:%d" % port, err)
        self.assertRegex(err, r"lakehouse: .*could not listen")
        self.assertIn("--bind", err)
        self.assertNotIn(b"is running", p.stdout)
        self.assertIn("port %d is already in use" % port, err)
        self.assertNotIn("port 0", err)   # libmicrohttpd's own message said "port 0"

    def test_a_second_serve_on_the_same_port_exits_and_the_first_keeps_serving(self):
        first = self.start("serve")
        st, _, _ = request("PUT", first.url + "/v1/storage/put/mine/obj", body=b"first's data")
        self.assertEqual(st, 200)
        other = tempfile.mkdtemp(prefix="lh-second-")
        self.addCleanup(shutil.rmtree, other, True)
        p = subprocess.Popen([BINARY, "serve", "--bind", "127.0.0.1:%d" % first.port,
                              "--data-dir", other], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            out, err = p.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            # with SO_REUSEPORT it listened too, and took half the requests
            p.kill()
            out, err = p.communicate()
            self.fail("a second serve runs on a busy port: %r" % out)
        self.assertEqual(p.returncode, 1, (out, err))
        err = err.decode()
        self.assertIn("port %d is already in use" % first.port, err)
        self.assertIn("--bind", err)
        self.assertNotIn(b"is running", out)
        for _ in range(20):    # every request reaches the first, with its data
            st, _, body = request("GET", first.url + "/v1/storage/get/mine/obj")
            self.assertEqual((st, body), (200, b"first's data"))

    def test_help(self):
        p = subprocess.run([BINARY, "serve", "--help"], stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: lakehouse serve", p.stdout)
        self.assertIn(b"--bind", p.stdout)


if __name__ == "__main__":
    unittest.main()
