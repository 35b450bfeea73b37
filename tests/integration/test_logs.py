"""The log a person or a machine reads (ADR 0121): JSON lines when the output
is not a terminal, short human lines on a terminal or with --log human,
--log quiet for problems only; the gateway's health checks are never logged;
a new dataset's first ingest logs nothing that looks like a problem."""
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from lhtest import BINARY, Server, ServerTest, free_port, request, request_json

CSV = b"id,name\n1,ann\n2,bob\n"
HUMAN_REQUEST = re.compile(r"^\d\d:\d\d:\d\d (?:(\w+): )?([A-Z]+) (\S+) (\d{3}) "
                           r"\d+\.\d+ m?s \d+(?:\.\d)? (?:B|KiB|MiB|GiB)")
IDLE_SECONDS = 3.5          # the gateway probes each upstream every second


def json_lines(text):
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def metrics(url):
    st, _, body = request("GET", url + "/metrics")
    assert st == 200, st
    return body.decode()


def health_count(text):
    """The gateway's answered GET /health requests, from /metrics."""
    m = re.search(r'^lakehouse_http_requests_total\{service="gateway",route="health",'
                  r'status="200"\} (\d+)$', text, re.M)
    return int(m.group(1)) if m else 0


def ingest(url, name, body=CSV, rid=None):
    headers = {"Content-Type": "text/csv"}
    if rid:
        headers["X-Request-Id"] = rid
    return request_json("POST", url + "/v1/ingest?name=" + name, body=body, headers=headers)


class TestJsonLog(ServerTest):
    """Output to a file: JSON lines."""

    def test_one_json_line_per_request_and_no_health_checks(self):
        srv = self.start("serve")
        time.sleep(0.3)
        before = len(srv.read_log())
        time.sleep(IDLE_SECONDS)
        idle = srv.read_log()[before:]
        # 4 upstreams probed each second: ~14 lines here before ADR 0121
        self.assertEqual([l for l in json_lines(idle) if l.get("path") == "/health"], [],
                         idle[:2000])
        self.assertEqual(idle.strip(), "", "an idle server logs nothing")

        ids = ["log-test-%d" % i for i in range(3)]
        self.assertEqual(request("GET", srv.url + "/v1/catalog/datasets",
                                 headers={"X-Request-Id": ids[0]})[0], 200)
        self.assertEqual(ingest(srv.url, "people", rid=ids[1])[0], 200)
        self.assertEqual(request("GET", srv.url + "/v1/catalog/manifest/nobody",
                                 headers={"X-Request-Id": ids[2]})[0], 404)
        time.sleep(0.3)
        lines = json_lines(srv.read_log())
        for rid in ids:
            gw = [l for l in lines if l.get("request_id") == rid and l["service"] == "gateway"]
            self.assertEqual(len(gw), 1, (rid, gw))
            for field in ("time", "level", "service", "request_id", "method", "path",
                          "status", "bytes_in", "bytes", "duration_ms"):
                self.assertIn(field, gw[0])
            self.assertEqual(gw[0]["level"], "info")
        # probes are not logged, with or without the peers' marker (ADR 0207;
        # before it, an external prober's /health was a request line)...
        before = metrics(srv.url)
        request("GET", srv.url + "/health", headers={"X-Request-Id": "probe-1"})
        request("GET", srv.url + "/health", headers={"X-Request-Id": "probe-2",
                                                     "X-Lakehouse-Health-Check": "1"})
        request("GET", srv.url + "/ready", headers={"X-Request-Id": "probe-3"})
        time.sleep(0.2)
        rids = [l.get("request_id") for l in json_lines(srv.read_log())]
        for rid in ("probe-1", "probe-2", "probe-3"):
            self.assertNotIn(rid, rids)
        # ...but counted in /metrics
        self.assertEqual(health_count(metrics(srv.url)) - health_count(before), 2)

    def test_first_ingest_logs_no_problem(self):
        srv = self.start("serve")
        st, _, obj = ingest(srv.url, "fresh", rid="first-ingest")
        self.assertEqual(st, 200, obj)
        time.sleep(0.3)
        mine = [l for l in json_lines(srv.read_log()) if l.get("request_id") == "first-ingest"]
        lookup = [l for l in mine if l.get("path") == "/catalog/manifest/fresh"]
        self.assertEqual([l["status"] for l in lookup], [404], mine)   # expected: new name
        self.assertEqual(lookup[0]["level"], "info")
        problems = [l for l in json_lines(srv.read_log()) if l.get("level") in ("warn", "error")]
        self.assertEqual(problems, [])

    def test_a_failed_request_is_an_error_line(self):
        srv = self.start("storaged")
        # a 5xx at storaged: its root is a file, so the object cannot be stored
        os.makedirs(os.path.join(srv.data_dir, "objects"), exist_ok=True)
        shutil.rmtree(os.path.join(srv.data_dir, "objects"))
        with open(os.path.join(srv.data_dir, "objects"), "w") as f:
            f.write("not a directory")
        st, _, _ = request("PUT", srv.url + "/storage/put/a/b", body=b"x",
                           headers={"X-Request-Id": "will-fail"})
        self.assertGreaterEqual(st, 500)
        time.sleep(0.2)
        line = [l for l in json_lines(srv.read_log()) if l.get("request_id") == "will-fail"]
        self.assertEqual([l["level"] for l in line], ["error"], line)


def all_json(test, text, what):
    """Every line of `text` is one JSON object (ADR 0207); returns them."""
    out = []
    for i, line in enumerate(text.splitlines()):
        try:
            obj = json.loads(line)
        except ValueError:
            test.fail("%s: line %d is not JSON: %r\n%s" % (what, i + 1, line, text[-3000:]))
        test.assertIsInstance(obj, dict, (what, line))
        for field in ("time", "level", "service"):
            test.assertIn(field, obj, (what, line))
        out.append(obj)
    return out


class TestJsonOnly(ServerTest):
    """--log json: every line a service writes, on stdout or stderr, is one
    JSON object, from start to stop, failures and a fatal start included;
    probes (/health, /ready) are not request lines (ADR 0207)."""

    def exercise(self, srv, prefix):
        for path in ("/health", "/ready"):
            for _ in range(3):
                request("GET", srv.url + path)

    def check_stopped(self, srv, what):
        self.assertEqual(srv.stop(), 0, what)
        with open(srv.log_path, "rb") as f:
            text = f.read().decode("utf-8")
        lines = all_json(self, text, what)
        self.assertEqual([l for l in lines if l.get("path") in ("/health", "/ready")], [],
                         what)
        return lines

    def test_each_service_alone(self):
        json_log = ["--log", "json"]
        sto = self.start("storaged", args=json_log)
        cat = self.start("catalogd", args=json_log,
                         env={"LAKEHOUSE_CATALOGD_STORAGED_URL": sto.url})
        peers = {"STORAGED_URL": sto.url, "CATALOGD_URL": cat.url}
        ing = self.start("ingestd", args=json_log,
                         env={"LAKEHOUSE_INGESTD_" + k: v for k, v in peers.items()})
        qry = self.start("queryd", args=json_log,
                         env={"LAKEHOUSE_QUERYD_" + k: v for k, v in peers.items()})
        gw = self.start("gateway", args=json_log, env={
            "LAKEHOUSE_GATEWAY_STORAGED_URL": sto.url, "LAKEHOUSE_GATEWAY_CATALOGD_URL": cat.url,
            "LAKEHOUSE_GATEWAY_INGESTD_URL": ing.url, "LAKEHOUSE_GATEWAY_QUERYD_URL": qry.url})
        self.assertEqual(ingest(gw.url, "people")[0], 200)
        self.assertEqual(request_json("POST", gw.url + "/v1/query",
                                      {"sql": "SELECT count(*) FROM people"})[0], 200)
        self.assertEqual(request_json("POST", gw.url + "/v1/query",
                                      {"sql": "SELECT * FROM nowhere"})[0], 400)
        self.assertEqual(request("GET", gw.url + "/v1/catalog/manifest/nobody")[0], 404)
        self.assertEqual(request("POST", ing.url + "/ingest?name=x", body=b"")[0] >= 400, True)
        for srv in (sto, cat, ing, qry, gw):
            self.exercise(srv, srv.command)
        # a peer going away: the gateway and ingestd log it, as JSON
        cat.stop()
        self.assertGreaterEqual(ingest(gw.url, "people")[0], 500)
        time.sleep(1.5)
        for srv in (gw, qry, ing, sto, cat):
            lines = self.check_stopped(srv, srv.command)
            msgs = [l.get("msg", "") for l in lines]
            self.assertIn("%s listening on %s" % (srv.command, srv.url), msgs, srv.command)
            self.assertIn(srv.url, [l.get("url") for l in lines])

    def test_serve_running_at_is_an_event(self):
        srv = self.start("serve", args=["--log", "json"])
        self.assertEqual(ingest(srv.url, "people")[0], 200)
        self.exercise(srv, "serve")
        lines = self.check_stopped(srv, "serve")
        running = [l for l in lines if "is running at" in l.get("msg", "")]
        self.assertEqual(len(running), 1, lines[:20])
        self.assertEqual(running[0]["url"], srv.url)
        self.assertEqual(running[0]["service"], "serve")

    def test_quiet_json_keeps_the_announcement(self):
        srv = self.start("storaged", args=["--log", "quiet"])
        request("GET", srv.url + "/storage/get/none")
        lines = self.check_stopped(srv, "storaged --log quiet")
        self.assertEqual([l.get("url") for l in lines], [srv.url], lines)

    def test_fatal_start_error_is_json(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            data = tempfile.mkdtemp(prefix="lh-busy-")
            self.addCleanup(shutil.rmtree, data, True)
            for cmd in ("serve", "storaged"):
                p = subprocess.run([BINARY, cmd, "--bind", "127.0.0.1:%d" % port, "--data-dir",
                                    data, "--log", "json"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
                self.assertEqual(p.returncode, 1, p.stdout)
                lines = all_json(self, p.stdout.decode(), cmd)
                fatal = [l for l in lines if l["level"] == "error"]
                self.assertEqual(len(fatal), 1, lines)
                self.assertIn("port %d is already in use" % port, fatal[0]["msg"])


class TestHumanLog(ServerTest):
    def human_lines(self, srv):
        return [l for l in srv.read_log().splitlines() if HUMAN_REQUEST.match(l)]

    def test_log_human_flag(self):
        srv = self.start("serve", args=["--log", "human"])
        self.assertEqual(ingest(srv.url, "staff")[0], 200)
        st, _, _ = request_json("GET", srv.url + "/v1/catalog/manifest/nobody")
        self.assertEqual(st, 404)
        time.sleep(0.3)
        text = srv.read_log()
        self.assertNotIn('{"time"', text)
        self.assertNotIn("\033", text, "no colours in a file")
        lines = self.human_lines(srv)
        ingest_line = [l for l in lines if " POST /v1/ingest?name=staff 200 " in l]
        self.assertEqual(len(ingest_line), 1, text)
        self.assertIn(" in, ", ingest_line[0])
        # only the gateway's requests: no internal hop, no health check
        self.assertEqual([l for l in lines if HUMAN_REQUEST.match(l).group(1)], [], text)
        self.assertFalse([l for l in lines if "/catalog/manifest/staff" in l], text)
        # errors in words: the upstream's message on the gateway's line
        missing = [l for l in lines if "/v1/catalog/manifest/nobody" in l]
        self.assertEqual(len(missing), 1, text)
        self.assertRegex(missing[0], r" 404 .* - .*nobody")
        # the first ingest's 404 lookup is no warning or error
        self.assertNotRegex(text, r"(?m)^\d\d:\d\d:\d\d (warning|error):")

    def test_env_and_file_and_flag_precedence(self):
        srv = self.start("storaged", env={"LAKEHOUSE_LOG": "human"})
        request("PUT", srv.url + "/storage/put/k/1", body=b"abc")
        time.sleep(0.2)
        self.assertTrue([l for l in self.human_lines(srv) if " PUT /storage/put/k/1 200 " in l],
                        srv.read_log())
        self.assertNotIn('{"time"', srv.read_log())

        conf = os.path.join(tempfile.mkdtemp(prefix="lh-logconf-"), "lakehouse.toml")
        self.addCleanup(shutil.rmtree, os.path.dirname(conf), True)
        with open(conf, "w") as f:
            f.write('log = "human"\n')
        srv = self.start("storaged", args=["--config", conf])
        request("GET", srv.url + "/storage/get/none")
        time.sleep(0.2)
        self.assertTrue([l for l in self.human_lines(srv) if " GET /storage/get/none 404 " in l],
                        srv.read_log())
        # --log beats LAKEHOUSE_LOG, which beats the file
        srv = self.start("storaged", args=["--config", conf, "--log", "json"],
                         env={"LAKEHOUSE_LOG": "human"})
        request("GET", srv.url + "/storage/get/none", headers={"X-Request-Id": "j1"})
        time.sleep(0.2)
        self.assertIn("j1", [l.get("request_id") for l in json_lines(srv.read_log())])

    def test_bad_mode_is_refused(self):
        for args, env, where in ((["--log", "loud"], {}, "--log"),
                                 ([], {"LAKEHOUSE_LOG": "debug"}, "LAKEHOUSE_LOG")):
            d = tempfile.mkdtemp(prefix="lh-logbad-")
            self.addCleanup(shutil.rmtree, d, True)
            p = subprocess.run([BINARY, "storaged", "--data-dir", d,
                                "--bind", "127.0.0.1:%d" % free_port()] + args,
                               env=dict(os.environ, **env), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 1)
            err = p.stderr.decode()
            self.assertIn(where, err)
            self.assertIn("json, human or quiet", err)

    def test_help_lists_the_log_flag(self):
        p = subprocess.run([BINARY, "serve", "--help"], stdout=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"--log MODE", p.stdout)
        self.assertIn(b"quiet", p.stdout)

    def test_quiet_keeps_only_problems(self):
        srv = self.start("serve", args=["--log", "quiet"])
        self.assertEqual(ingest(srv.url, "q")[0], 200)
        request("GET", srv.url + "/v1/catalog/manifest/nobody")
        time.sleep(0.3)
        text = srv.read_log()
        self.assertIn("lakehouse is running at %s/" % srv.url, text)
        rest = [l for l in text.splitlines()
                if l.strip() and "is running at" not in l and not l.startswith("data in")]
        self.assertEqual(rest, [], text)


class PtyServe:
    """`lakehouse serve` with stdout and stderr on a pseudo-terminal, as in a
    person's shell (`make run`); everything it writes is collected."""

    def __init__(self, args=(), env=None):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.data_dir = tempfile.mkdtemp(prefix="lh-pty-")
        master, slave = pty.openpty()
        full_env = dict(os.environ, TERM="xterm", LAKEHOUSE_DATA_DIR=self.data_dir)
        full_env.pop("NO_COLOR", None)
        full_env.pop("LAKEHOUSE_LOG", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen([BINARY, "serve", "--bind", "127.0.0.1:%d" % self.port]
                                     + list(args), stdin=slave, stdout=slave, stderr=slave,
                                     env=full_env, close_fds=True)
        os.close(slave)
        self.master = master
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.time() + 60
        while b"is running at" not in self.output() and time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("serve exited: %r" % self.output())
            time.sleep(0.05)
        if b"is running at" not in self.output():
            raise RuntimeError("serve did not start: %r" % self.output())

    def _read(self):
        while True:
            try:
                r, _, _ = select.select([self.master], [], [], 0.5)
                if not r:
                    if self.proc.poll() is not None:
                        return
                    continue
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.buf.extend(data)

    def output(self):
        with self.lock:
            return bytes(self.buf)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=5)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode


class TestTerminal(unittest.TestCase):
    def test_a_terminal_gets_human_lines_and_no_flood(self):
        srv = PtyServe()
        self.addCleanup(srv.stop)
        started = srv.output()
        # the line a person looks for stands apart: its own line, bold
        self.assertRegex(started, rb"\r?\n\r?\n  \x1b\[1mlakehouse is running at "
                                  + re.escape(srv.url.encode()) + rb"/\x1b\[0m\r?\n")
        self.assertNotIn(b'{"time"', started)
        time.sleep(IDLE_SECONDS)
        idle = srv.output()[len(started):]
        self.assertEqual(idle, b"", "an idle server prints nothing on the terminal")

        self.assertEqual(ingest(srv.url, "crew")[0], 200)
        request("GET", srv.url + "/%1b[2J")      # an escape sequence in a path
        time.sleep(0.5)
        after = srv.output()[len(started):].decode("utf-8", "replace")
        lines = [l.strip("\r") for l in after.split("\n") if l.strip()]
        ingest_lines = [l for l in lines if " POST /v1/ingest?name=crew 200 " in l]
        self.assertEqual(len(ingest_lines), 1, lines)
        self.assertTrue(HUMAN_REQUEST.match(ingest_lines[0]), ingest_lines[0])
        self.assertNotIn("\x1b[2J", after)
        # the path's ESC shows as '?'; the status is coloured (yellow 4xx)
        self.assertTrue([l for l in lines if "GET /?[2J \x1b[33m404\x1b[0m " in l], lines)
        self.assertFalse([l for l in lines if "/catalog/manifest/" in l], lines)
        self.assertNotRegex(after, r"(warning|error):")
        self.assertEqual(srv.stop(), 0)

    def test_log_json_on_a_terminal(self):
        srv = PtyServe(args=["--log", "json"])
        self.addCleanup(srv.stop)
        request("GET", srv.url + "/v1/catalog/datasets", headers={"X-Request-Id": "tty-json"})
        time.sleep(0.3)
        lines = [l.strip("\r") for l in srv.output().decode().split("\n")]
        self.assertIn("tty-json", [json.loads(l).get("request_id") for l in lines
                                   if l.startswith("{")])


if __name__ == "__main__":
    unittest.main()
