"""The client commands (`lakehouse ingest|query|ls|show|versions`) end to end
against `lakehouse serve`: --help for each, usage errors (exit 2), the
server's error message and exit 1, an unreachable server, LAKEHOUSE_TOKEN,
the progress bar only on a terminal, and the full ingest -> ls/show/versions
-> query round trip once ingestd, catalogd and queryd are in the binary.

Two client-side behaviours need a server the test can watch — the bearer
token on the wire, and the progress bar during a real multi-megabyte upload
before ingestd exists — so those talk to a small recording HTTP peer on
loopback (a real server socket, like the slow peer in test_gateway.py)."""
import http.server
import json
import os
import pty
import select
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from lhtest import BINARY, ServerTest, free_port
from test_gateway import built

COMMANDS = ["ingest", "query", "ls", "show", "versions"]


def run(args, url, env=None, stdin=None, timeout=60):
    full = dict(os.environ)
    full.pop("LAKEHOUSE_TOKEN", None)
    full["LAKEHOUSE_URL"] = url
    full.update(env or {})
    return subprocess.run([BINARY] + args, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=stdin or subprocess.DEVNULL,
                          timeout=timeout)


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers like the gateway would, and remembers what it was sent."""
    protocol_version = "HTTP/1.1"
    seen = []

    def answer(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Recorder.seen.append((self.command, self.path, dict(self.headers), 0))
        self.answer({"datasets": []})

    def do_POST(self):
        n = 0
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()
        if self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                size = int(self.rfile.readline().strip(), 16)
                self.rfile.read(size + 2)
                n += size
                if size == 0:
                    break
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                chunk = self.rfile.read(min(left, 1 << 16))
                time.sleep(0.002)   # a slow link, so the bar has time to draw
                left -= len(chunk)
                n += len(chunk)
        Recorder.seen.append((self.command, self.path, dict(self.headers), n))
        self.answer({"manifest": {"name": "people", "version": 4, "row_count": 1234,
                                  "schema": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
                     "existing": False, "row_count": 1234})

    def log_message(self, *args):
        pass


class TestCliAlone(ServerTest):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lh-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def peer(self):
        Recorder.seen = []
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return "http://127.0.0.1:%d" % srv.server_port

    def test_help_for_each_command(self):
        for cmd in COMMANDS:
            for flag in ("--help", "-h"):
                p = run([cmd, flag], "http://127.0.0.1:1")
                self.assertEqual(p.returncode, 0, (cmd, p.stderr))
                self.assertTrue(p.stdout.startswith(b"usage: lakehouse " + cmd.encode()), p.stdout)
                self.assertEqual(p.stderr, b"")
        p = run(["--help"], "http://127.0.0.1:1")
        for cmd in COMMANDS + ["serve", "gateway"]:
            self.assertIn(b"  " + cmd.encode() + b" ", p.stdout)

    def test_bad_usage_exits_2(self):
        for args in (["ingest"], ["ingest", "only_name"], ["ingest", "a", "b", "c"],
                     ["ingest", "a", "b", "--mode", "sideways"], ["query"],
                     ["query", "select 1", "--format", "xml"], ["query", "select 1", "--max-rows", "x"],
                     ["show"], ["versions"], ["ls", "extra"], ["ls", "--bogus"]):
            p = run(args, "http://127.0.0.1:1")
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr.startswith(b"usage: lakehouse") or
                            p.stderr.startswith(b"lakehouse: "), (args, p.stderr))
            self.assertEqual(p.stdout, b"", args)

    def test_unreachable_server(self):
        dead = "http://127.0.0.1:%d" % free_port()
        for args in (["ls"], ["show", "x"], ["versions", "x"], ["query", "select 1"]):
            p = run(args, dead)
            self.assertEqual(p.returncode, 1, args)
            self.assertEqual(p.stderr.decode(),
                             "lakehouse: cannot reach the lakehouse at %s (is `lakehouse serve` "
                             "running? set LAKEHOUSE_URL)\n" % dead)
            self.assertEqual(p.stdout, b"")

    def test_missing_file(self):
        p = run(["ingest", "people", os.path.join(self.tmp, "nope.csv")], "http://127.0.0.1:1")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"lakehouse: cannot open", p.stderr)

    def test_token_is_sent_as_bearer(self):
        url = self.peer()
        self.assertEqual(run(["ls"], url, env={"LAKEHOUSE_TOKEN": "s3cret"}).returncode, 0)
        self.assertEqual(run(["ls"], url).returncode, 0)
        self.assertEqual(Recorder.seen[0][2].get("Authorization"), "Bearer s3cret")
        self.assertNotIn("Authorization", Recorder.seen[1][2])
        self.assertEqual(Recorder.seen[0][1], "/v1/catalog/datasets")

    def test_ingest_streams_and_draws_a_bar_only_on_a_terminal(self):
        url = self.peer()
        path = os.path.join(self.tmp, "big.csv")
        with open(path, "wb") as f:
            f.write(b"a,b,c\n" + b"1,2,3\n" * (1 << 20))   # 6 MiB
        size = os.path.getsize(path)

        p = run(["ingest", "people", path, "--mode", "append"], url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"people: version 4, 1234 rows (+1234 appended), 3 columns (new version)\n")
        self.assertEqual(p.stderr, b"")   # not a terminal: no bar, no escape codes
        method, target, headers, nbytes = Recorder.seen[-1]
        self.assertEqual((method, target, nbytes), ("POST", "/v1/ingest?name=people&mode=append", size))
        self.assertEqual(headers["Content-Type"], "text/csv")
        self.assertEqual(headers["Content-Length"], str(size))

        # a pipe on stdin streams chunked
        cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
        p = run(["ingest", "people", "-"], url, stdin=cat.stdout)
        cat.stdout.close()
        cat.wait()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(Recorder.seen[-1][3], size)
        self.assertEqual(Recorder.seen[-1][2].get("Transfer-Encoding"), "chunked")

        # stderr on a terminal: the bar is drawn there, stdout stays clean
        master, slave = pty.openpty()
        env = dict(os.environ, LAKEHOUSE_URL=url)
        proc = subprocess.Popen([BINARY, "ingest", "people", path], env=env, stdout=subprocess.PIPE,
                                stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        tty = b""
        while True:
            r, _, _ = select.select([master], [], [], 30)
            if not r:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
        out = proc.stdout.read()
        proc.wait(timeout=30)
        os.close(master)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(b"100%", tty)
        self.assertIn(b"\r", tty)
        self.assertIn(b"people [", tty)
        self.assertEqual(out, b"people: version 4, 1234 rows, 3 columns (new version)\n")


class TestCliAgainstServe(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        self.tmp = tempfile.mkdtemp(prefix="lh-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def cli(self, *args, **kw):
        return run(list(args), self.srv.url, **kw)

    def test_server_errors_are_one_line_and_exit_1(self):
        for args in (["show", "no_such_dataset"], ["versions", "no_such_dataset"],
                     ["show", "bad name!"]):
            p = self.cli(*args)
            self.assertEqual(p.returncode, 1, (args, p.stdout))
            err = p.stderr.decode()
            self.assertTrue(err.startswith("lakehouse: "), err)
            self.assertNotIn("{", err)
            self.assertEqual(p.stdout, b"")
            if not built("catalogd"):
                self.assertIn("catalogd is not configured", err)

    def test_ingest_error_has_no_progress_bar_when_piped(self):
        path = os.path.join(self.tmp, "p.csv")
        with open(path, "w") as f:
            f.write("id,name\n1,Ada\n2,Grace\n")
        p = self.cli("ingest", "people", path)
        self.assertNotIn(b"\r", p.stderr)
        self.assertNotIn(b"\x1b[", p.stderr)
        if not built("ingestd"):
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"lakehouse: ingestd is not configured", p.stderr)

    @unittest.skipUnless(built("ingestd") and built("catalogd"),
                         "ingestd/catalogd are not both built into this binary yet")
    def test_ingest_ls_show_versions(self):
        self.ingest_three_versions()

    @unittest.skipUnless(built("ingestd") and built("queryd") and built("catalogd"),
                         "queryd is not built into this binary yet")
    def test_query(self):
        self.ingest_three_versions()
        p = self.cli("query", "SELECT id, name FROM people ORDER BY id")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().replace("\r\n", "\n").splitlines()[0], "id,name")
        self.assertIn("Linus", p.stdout.decode())
        p = self.cli("query", "SELECT count(*) AS n FROM \"people@1\"", "--format", "json")
        self.assertEqual(json.loads(p.stdout)["rows"], [[2]])
        p = self.cli("query", "SELECT id, name FROM people ORDER BY id", "--format", "table")
        self.assertIn("┌", p.stdout.decode())
        self.assertIn("│ Ada", p.stdout.decode())
        self.assertIn("3 rows", p.stdout.decode())

        p = self.cli("query", "SELEC nonsense")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith(b"lakehouse: "), p.stderr)
        self.assertEqual(p.stdout, b"")
        p = self.cli("query", "DROP TABLE people")
        self.assertEqual(p.returncode, 1)

    def ingest_three_versions(self):
        path = os.path.join(self.tmp, "people.csv")
        with open(path, "w") as f:
            f.write("id,name,rate\n1,Ada,85.5\n2,Grace,120\n")
        p = self.cli("ingest", "people", path)
        self.assertEqual((p.returncode, p.stdout), (0, b"people: version 1, 2 rows, 3 columns (new version)\n"), p.stderr)
        self.assertEqual(p.stderr, b"")
        p = self.cli("ingest", "people", path)
        self.assertEqual(p.stdout, b"people: version 1, 2 rows, 3 columns (unchanged)\n")
        more = os.path.join(self.tmp, "more.csv")
        with open(more, "w") as f:
            f.write("id,name,rate\n3,Linus,99.0\n")
        p = self.cli("ingest", "people", more, "--mode", "append")
        self.assertEqual(p.stdout, b"people: version 2, 3 rows (+1 appended), 3 columns (new version)\n", p.stderr)

        p = self.cli("ls")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "VERSION", "ROWS", "SIZE", "UPDATED"])
        self.assertEqual(lines[1].split()[:3], ["people", "2", "3"])

        p = self.cli("show", "people")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(out, r"version:\s+2\n")
        self.assertRegex(out, r"rows:\s+3\n")
        self.assertRegex(out, r"\nid\s+int64\s+no\n")
        self.assertRegex(out, r"\nrate\s+float64\s+no\n")
        p = self.cli("show", "people", "--version", "1")
        self.assertRegex(p.stdout.decode(), r"rows:\s+2\n")
        p = self.cli("show", "people", "--json")
        self.assertEqual(json.loads(p.stdout)["version"], 2)

        p = self.cli("versions", "people")
        rows = [l.split() for l in p.stdout.decode().splitlines()]
        self.assertEqual(rows[0][:4], ["VERSION", "ROWS", "SIZE", "MODE"])
        self.assertEqual(sorted((r[0], r[1]) for r in rows[1:]), [("1", "2"), ("2", "3")])


if __name__ == "__main__":
    unittest.main()
