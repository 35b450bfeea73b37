"""The client commands (`lakehouse ingest|query|ls|show|versions|drop`) end to
end against `lakehouse serve`: --help for each, usage errors (exit 2), the
server's error message and exit 1, an unreachable server, LAKEHOUSE_TOKEN,
the progress bar only on a terminal (with a measured rate, never "0 B/s"),
Ctrl-C, and the full ingest -> ls/show/versions -> query round trip once
ingestd, catalogd and queryd are in the binary. Issue 12 point 6: drop,
query --output (Parquet, CSV, JSON, NDJSON files written atomically), tables
cut to the terminal's width, ingest FILE named after the file, the server
subcommands' --help, and CSV limit errors that state the limit.

Two client-side behaviours need a server the test can watch — the bearer
token on the wire, and the progress bar during a real multi-megabyte upload
before ingestd exists — so those talk to a small recording HTTP peer on
loopback (a real server socket, like the slow peer in test_gateway.py)."""
import http.server
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from lhtest import BINARY, ServerTest, free_port
from test_gateway import built

COMMANDS = ["ingest", "query", "ls", "show", "versions", "drop", "rename"]
SERVERS = ["serve", "storaged", "catalogd", "ingestd", "queryd", "gateway"]


def run(args, url, env=None, stdin=None, timeout=60):
    full = dict(os.environ)
    full.pop("LAKEHOUSE_TOKEN", None)
    full["LAKEHOUSE_URL"] = url
    full.update(env or {})
    return subprocess.run([BINARY] + args, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=stdin or subprocess.DEVNULL,
                          timeout=timeout)


def human(n):
    """Bytes the way the CLI prints them (binary units, like cli_format_bytes)."""
    if n < 1024:
        return "%d B" % n
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024.0
        if n < 1024 or unit == "TiB":
            return "%.1f %s" % (n, unit)


def run_tty(args, url, env=None, answer=None, timeout=60):
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal (what a
    person at a terminal sees). `answer` is typed once the program asks.
    Returns (exit code, everything written to the terminal, as text)."""
    master, slave = pty.openpty()
    full = dict(os.environ)
    full.pop("LAKEHOUSE_TOKEN", None)
    full.pop("COLUMNS", None)
    full["LAKEHOUSE_URL"] = url
    full.update(env or {})
    proc = subprocess.Popen([BINARY] + args, env=full, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if answer is not None and (b"[y/N]" in out or b"to keep it: " in out):
                os.write(master, answer)
                answer = None
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, out.decode("utf-8", "replace").replace("\r\n", "\n")


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers like the gateway would, and remembers what it was sent."""
    protocol_version = "HTTP/1.1"
    seen = []
    delay = 0.002   # per 64 KiB read: a slow link, so the bar has time to draw

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
                time.sleep(Recorder.delay)
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
        Recorder.delay = 0.002
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
                     ["show"], ["versions"], ["ls", "extra"], ["ls", "--bogus"],
                     ["rename"], ["rename", "a"], ["rename", "a", "b", "c"], ["rename", "a", "b", "--x"]):
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

    def test_progress_rate_is_measured_never_zero(self):
        # issue 12 point 6: the bar said "0 B/s"; now the rate is measured over a
        # sliding window and hidden until there is one
        url = self.peer()
        Recorder.delay = 0.03            # 6 MiB at ~2 MiB/s: about three seconds
        path = os.path.join(self.tmp, "slow.csv")
        with open(path, "wb") as f:
            f.write(b"a,b,c\n" + b"1,2,3\n" * (1 << 20))
        master, slave = pty.openpty()
        env = dict(os.environ, LAKEHOUSE_URL=url)
        proc = subprocess.Popen([BINARY, "ingest", "people", path], env=env,
                                stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
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
        proc.stdout.read()
        proc.wait(timeout=30)
        os.close(master)
        self.assertEqual(proc.returncode, 0)
        text = tty.decode("utf-8", "replace")
        self.assertNotIn(" 0 B/s", text)
        rates = re.findall(r"  (\d+(?:\.\d)?) (B|KiB|MiB|GiB)/s", text)
        self.assertTrue(rates, text[-500:])
        self.assertTrue(all(float(v) > 0 for v, _ in rates), rates)
        # the first draw has no rate yet: no "/s" on it
        first = text.split("\r")[1] if "\r" in text else text
        self.assertIn("people [", first)
        self.assertNotIn("/s", first)

    def test_server_help_says_what_each_runs(self):
        # issue 12 point 6: `serve --help` said "Runs the serve service"
        words = {
            "serve": ["gateway", "storaged", "catalogd", "ingestd", "queryd", "127.0.0.1:8080",
                      "./lakehouse-data", "[gateway] bind"],
            "storaged": ["object store", "objects", "s3"],
            "catalogd": ["catalog", "SQLite", "PostgreSQL", "storaged_url"],
            "ingestd": ["CSV", "storaged_url", "catalogd_url", "spool"],
            "queryd": ["SQL", "storaged_url", "catalogd_url", "cache"],
            "gateway": ["web UI", "queryd_url", "127.0.0.1:8080"],
        }
        for cmd in SERVERS:
            p = run([cmd, "--help"], "http://127.0.0.1:1")
            self.assertEqual(p.returncode, 0, (cmd, p.stderr))
            out = p.stdout.decode()
            self.assertTrue(out.startswith("usage: lakehouse %s " % cmd), out)
            self.assertNotIn("Runs the %s service" % cmd, out)
            for flag in ("--config FILE", "--data-dir DIR", "--bind HOST:PORT", "--set"):
                self.assertIn(flag, out, cmd)
            self.assertIn("[%s] bind" % ("gateway" if cmd == "serve" else cmd), out)
            for w in words[cmd]:
                self.assertIn(w, out, (cmd, w))
            self.assertLessEqual(max(len(l) for l in out.splitlines()), 80, cmd)

    def test_drop_without_a_terminal_needs_yes(self):
        url = self.peer()
        p = run(["drop", "people"], url)     # stdin is /dev/null
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--yes", p.stderr)
        self.assertIn(b"terminal", p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(Recorder.seen, [])  # nothing was even asked of the server
        for args in (["drop"], ["drop", "a", "b"], ["drop", "a", "--force"]):
            p = run(args, url)
            self.assertEqual(p.returncode, 2, args)
            self.assertEqual(p.stdout, b"")

    def test_ctrl_c_stops_a_client_command(self):
        # a server that accepts and never answers: Ctrl-C must still end the
        # command (client commands used to block SIGINT like the servers do)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(8)
            url = "http://127.0.0.1:%d" % silent.getsockname()[1]
            out = os.path.join(self.tmp, "never.csv")
            full = dict(os.environ, LAKEHOUSE_URL=url)
            for args in (["query", "select 1"], ["query", "select 1", "--output", out]):
                proc = subprocess.Popen([BINARY] + args, env=full, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                time.sleep(1.0)
                proc.send_signal(signal.SIGINT)
                try:
                    rc = proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    self.fail("%s ignored SIGINT" % args)
                proc.stdout.close()
                proc.stderr.close()
                self.assertEqual(rc, -signal.SIGINT, args)
            self.assertEqual(os.listdir(self.tmp), [])   # no file, no temporary file


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
    def test_ingest_says_what_was_cast(self):
        path = os.path.join(self.tmp, "timesheets.csv")
        with open(path, "w") as f:
            f.write("id,hours,end_date\n1,40.5,2026-03-31\n")
        self.assertEqual(self.cli("ingest", "timesheets", path).returncode, 0)
        with open(path, "w") as f:
            f.write("id,hours,end_date\n2,38,\n")
        p = self.cli("ingest", "timesheets", path, "--mode", "append")
        self.assertEqual((p.returncode, p.stdout),
                         (0, b"timesheets: version 2, 2 rows (+1 appended), 3 columns (new version; "
                             b"cast hours int64 -> float64, end_date utf8 -> date32)\n"), p.stderr)

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

    def test_drop(self):
        if not (built("ingestd") and built("catalogd")):
            self.skipTest("ingestd/catalogd are not both built into this binary yet")
        path = os.path.join(self.tmp, "people.csv")
        with open(path, "w") as f:
            f.write("id,name\n1,Ada\n2,Grace\n")
        more = os.path.join(self.tmp, "more.csv")
        with open(more, "w") as f:
            f.write("id,name\n3,Linus\n4,Barbara\n")
        self.assertEqual(self.cli("ingest", "people", path).returncode, 0)
        self.assertEqual(self.cli("ingest", "people", more, "--mode", "append").returncode, 0)

        # no terminal and no --yes: refused, nothing dropped
        p = self.cli("drop", "people")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--yes", p.stderr)
        self.assertEqual(self.cli("show", "people").returncode, 0)

        # a terminal: it asks for the name again (ADR 0175); "n", a reflexive
        # "y" or the name in another letter case keep the dataset
        for answer in (b"n\n", b"y\n", b"PEOPLE\n", b"\n"):
            rc, out = run_tty(["drop", "people"], self.srv.url, answer=answer)
            self.assertEqual(rc, 1, out)
            self.assertIn('Drop dataset "people" (2 versions; the latest has 4 rows', out)
            self.assertIn("Type the dataset's name to drop it", out)
            self.assertIn('not dropped: the name typed was not "people"', out)
            self.assertEqual(self.cli("show", "people").returncode, 0)
        # typing its name drops it
        rc, out = run_tty(["drop", "people"], self.srv.url, answer=b"people\n")
        self.assertEqual(rc, 0, out)
        self.assertIn("dropped people (2 versions", out)
        self.assertIn("lakehouse gc", out)
        p = self.cli("show", "people")
        self.assertEqual(p.returncode, 1)

        # --yes: no question
        self.assertEqual(self.cli("ingest", "people", path).returncode, 0)
        p = self.cli("drop", "people", "--yes")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertTrue(out.startswith("dropped people (1 version; the latest has 2 rows"), out)
        self.assertIn("garbage", out)
        self.assertIn("`lakehouse gc`", out)
        self.assertEqual(p.stderr, b"")
        p = self.cli("versions", "people")
        self.assertEqual(p.returncode, 1)
        # the dropped objects are what gc now finds
        p = self.cli("gc", "--dry-run", "--grace", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("datasets/people/", p.stdout.decode())
        # dropping again: the server's 404, exit 1
        p = self.cli("drop", "people", "--yes")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith(b"lakehouse: "), p.stderr)
        self.assertEqual(p.stdout, b"")

    def wide_dataset(self):
        if not (built("ingestd") and built("queryd") and built("catalogd")):
            self.skipTest("queryd is not built into this binary yet")
        path = os.path.join(self.tmp, "candidates.csv")
        with open(path, "w") as f:
            f.write("candidate_id,full_name,phone,notes\n")
            f.write('1,Ada Byron,+1 (617) 555-0100,"Prefers remote work; available from '
                    'January; OSHA-30 certified; forklift and reach truck; speaks Hungarian, '
                    'German and French; references on file"\n')
            f.write("2,Grace Hopper,+1 (212) 555-0199,COBOL\n")
        p = self.cli("ingest", "candidates", path)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_query_output_files(self):
        self.wide_dataset()
        sql = "SELECT * FROM candidates ORDER BY candidate_id"
        d = os.path.join(self.tmp, "out")
        os.mkdir(d)

        pq = os.path.join(d, "result.parquet")
        p = self.cli("query", sql, "--output", pq)       # the format from the extension
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(p.stderr.decode(), "wrote 2 rows (%s) to %s\n" % (
            human(os.path.getsize(pq)), pq))
        with open(pq, "rb") as f:
            data = f.read()
        self.assertEqual(data[:4], b"PAR1")
        self.assertEqual(data[-4:], b"PAR1")
        footer = struct.unpack("<I", data[-8:-4])[0]
        self.assertLess(footer, len(data) - 12)
        self.assertIn(b"full_name", data[-8 - footer:-8])   # the schema is in the footer
        # the same through a pipe (not a terminal: allowed), byte for byte the same rows
        p = self.cli("query", sql, "--format", "parquet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout[:4], b"PAR1")
        # a bigger result: the row count comes from the Parquet footer
        p = self.cli("query", "SELECT range AS i, 'x' || range AS s FROM range(12345)",
                     "--output", os.path.join(d, "big.bin"), "--format", "parquet")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stderr.startswith(b"wrote 12345 rows ("), p.stderr)

        csv_path = os.path.join(d, "result.csv")
        p = self.cli("query", sql, "-o", csv_path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stderr.startswith(b"wrote 2 rows ("), p.stderr)
        with open(csv_path, "rb") as f:
            self.assertEqual(f.read(), self.cli("query", sql, "--format", "csv").stdout)

        js = os.path.join(d, "result.json")
        p = self.cli("query", sql, "--output", js)
        self.assertTrue(p.stderr.startswith(b"wrote 2 rows ("), p.stderr)
        with open(js) as f:
            got = json.load(f)
        want = json.loads(self.cli("query", sql, "--format", "json").stdout)
        self.assertEqual(got["rows"], want["rows"])
        self.assertEqual(got["columns"], want["columns"])

        nd = os.path.join(d, "result.ndjson")
        p = self.cli("query", sql, "--output", nd)
        self.assertTrue(p.stderr.startswith(b"wrote 2 rows ("), p.stderr)
        with open(nd, "rb") as f:
            self.assertEqual(f.read(), self.cli("query", sql, "--format", "ndjson").stdout)
        # an explicit --format wins over the extension
        p = self.cli("query", sql, "--output", os.path.join(d, "x.csv"), "--format", "ndjson")
        with open(os.path.join(d, "x.csv"), "rb") as f:
            self.assertTrue(f.read().startswith(b'{"candidate_id":1'))

        # a failed query leaves the old file as it was, and no temporary file
        with open(csv_path, "w") as f:
            f.write("old\n")
        p = self.cli("query", "SELECT * FROM no_such_table", "--output", csv_path)
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith(b"lakehouse: "), p.stderr)
        with open(csv_path) as f:
            self.assertEqual(f.read(), "old\n")
        self.assertEqual(sorted(os.listdir(d)), ["big.bin", "result.csv", "result.json",
                                                 "result.ndjson", "result.parquet", "x.csv"])
        # usage: a table is not a file format; a directory is not a file
        self.assertEqual(self.cli("query", sql, "--output", js, "--format", "table").returncode, 2)
        p = self.cli("query", sql, "--output", d)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"is a directory", p.stderr)

    def test_parquet_is_never_written_to_a_terminal(self):
        self.wide_dataset()
        rc, out = run_tty(["query", "SELECT * FROM candidates", "--format", "parquet"],
                          self.srv.url)
        self.assertEqual(rc, 2, out)
        self.assertIn("--output", out)
        self.assertNotIn("PAR1", out)
        path = os.path.join(self.tmp, "c.parquet")
        rc, out = run_tty(["query", "SELECT * FROM candidates", "--format", "parquet",
                           "--output", path], self.srv.url)
        self.assertEqual(rc, 0, out)
        self.assertIn("wrote 2 rows", out)
        self.assertNotIn("PAR1", out)

    def test_table_fits_the_terminal_width(self):
        # issue 12 point 6: a table of long values made 865-character lines
        self.wide_dataset()
        sql = "SELECT * FROM candidates ORDER BY candidate_id"
        rc, out = run_tty(["query", sql], self.srv.url, env={"COLUMNS": "60"})
        self.assertEqual(rc, 0, out)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("┌"), out)
        self.assertEqual(max(len(l) for l in lines), 60, out)
        self.assertIn("…", out)
        self.assertIn("│            1 │", out)            # short values stay whole
        self.assertIn("2 rows", out)
        # --wide: whole values, however wide
        rc, out = run_tty(["query", sql, "--wide"], self.srv.url, env={"COLUMNS": "60"})
        self.assertEqual(rc, 0, out)
        self.assertIn("references on file │", out)
        self.assertIn("+1 (617) 555-0100", out)
        self.assertNotIn("…", out)
        # not a terminal: whole values too
        p = self.cli("query", sql, "--format", "table")
        self.assertIn("references on file │", p.stdout.decode())
        # ls and show fit as well
        rc, out = run_tty(["ls"], self.srv.url, env={"COLUMNS": "40"})
        self.assertEqual(rc, 0, out)
        self.assertLessEqual(max(len(l) for l in out.splitlines()), 40, out)
        self.assertIn("candid…", out)
        rc, out = run_tty(["ls", "--wide"], self.srv.url, env={"COLUMNS": "40"})
        self.assertIn("candidates ", out)

    def test_ingest_names_the_dataset_after_the_file(self):
        if not (built("ingestd") and built("catalogd")):
            self.skipTest("ingestd/catalogd are not both built into this binary yet")
        path = os.path.join(self.tmp, "candidates.csv")
        with open(path, "w") as f:
            f.write("id,name\n1,Ada\n")
        p = self.cli("ingest", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"candidates: version 1, 1 row, 2 columns (new version)\n")
        self.assertIn(b'dataset name "candidates"', p.stderr)
        odd = os.path.join(self.tmp, "Staff List (2024).csv")
        shutil.copy(path, odd)
        p = self.cli("ingest", odd, "--mode", "append")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(b"Staff_List_2024: version 1"), p.stdout)
        self.assertIn(b'"Staff_List_2024"', p.stderr)
        p = self.cli("ls")
        self.assertIn("Staff_List_2024", p.stdout.decode())
        # stdin has no file name; a word that is no file is a usage error
        for args in (["ingest", "-"], ["ingest", "no_such_file"]):
            p = self.cli(*args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"lakehouse ingest NAME", p.stderr)

    def test_csv_limit_errors_state_the_limit(self):
        if not built("ingestd"):
            self.skipTest("ingestd is not built into this binary yet")
        many = os.path.join(self.tmp, "many.csv")
        with open(many, "w") as f:
            f.write(",".join("c%d" % i for i in range(4097)) + "\n")
            f.write(",".join("1" for _ in range(4097)) + "\n")
        p = self.cli("ingest", "many", many)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"at most 4096", p.stderr)

        long_name = os.path.join(self.tmp, "long.csv")
        with open(long_name, "w") as f:
            f.write("id,%s\n1,2\n" % ("n" * 300))
        p = self.cli("ingest", "long", long_name)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"300 bytes, at most 255", p.stderr)

        big = os.path.join(self.tmp, "big.csv")
        with open(big, "w") as f:
            f.write("id,blob\n1,")
            f.write("x" * ((16 << 20) + 1))
            f.write("\n")
        p = self.cli("ingest", "big", big)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"larger than 16 MiB", p.stderr)

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



# --- lakehouse search (issue 13 point 7) -------------------------------------

SEARCH_PEOPLE = """worker_id,full_name,title,skills,notes,state
1,Ann Smith,Forklift Operator,forklift; pallet jack; OSHA-30,Certified lift truck driver available now,WI
2,Bob Jones,Registered Nurse,ICU; BLS; ACLS,Critical care nurse with 5 years,IL
3,Cara Diaz,Welder,MIG; TIG; AWS D1.1,Welding fabricator for structural steel,WI
4,Dan Wu,Software Engineer,C; Python; SQL,Backend developer who likes databases,CA
5,Eve Kim,Warehouse Associate,picking; packing; forklift,Production worker on night shift,WI
6,Finn Lee,Dental Hygienist,cleaning; x-ray,Dentist & <b>assistant</b> in a family practice,MN
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SearchPeer(http.server.BaseHTTPRequestHandler):
    """A gateway that answers /v1/search with a canned answer (rows not yet
    indexed, a note, a hybrid row found by one ranking only), to check how
    the CLI shows what a real serve rarely answers on cue."""
    protocol_version = "HTTP/1.1"
    seen = []
    answer = {"dataset": "people", "version": 4, "mode": "hybrid", "embedder": "builtin",
              "k": 1000, "results": [
                  {"row": {"state": "WI", "worker_id": 7, "notes": "drives a \x1b[31mlift"},
                   "score": 0.0164, "text_rank": None, "vector_rank": 1,
                   "highlight": {"notes": "drives a \x1b[31m<mark>lift</mark> &amp; more"}}],
              "searched_rows": 12, "unindexed_rows": 5, "elapsed_ms": 2.5,
              "notes": ["k was capped at the largest allowed, 1000"]}

    def send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        SearchPeer.seen.append(("GET", self.path, None))
        if self.path == "/v1/catalog/index/people":
            self.send(200, {"name": "people", "declaration": {
                "text": ["notes"], "id": "worker_id", "embedder": "builtin"}, "versions": []})
        else:
            self.send(404, {"error": "no", "code": "not_found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        SearchPeer.seen.append(("POST", self.path, body))
        self.send(200, SearchPeer.answer)

    def log_message(self, *args):
        pass


class TestCliSearch(ServerTest):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lh-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def peer(self):
        SearchPeer.seen = []
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SearchPeer)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return "http://127.0.0.1:%d" % srv.server_port

    def test_help_and_usage(self):
        for flag in ("--help", "-h"):
            p = run(["search", flag], "http://127.0.0.1:1")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(p.stdout.startswith(b"usage: lakehouse search NAME"), p.stdout)
            self.assertIn(b"--where SQL", p.stdout)
        p = run(["--help"], "http://127.0.0.1:1")
        self.assertIn(b"  search ", p.stdout)
        for args in (["search"], ["search", "people"], ["search", "people", "x", "--mode", "fuzzy"],
                     ["search", "people", "x", "-k", "0"], ["search", "people", "x", "-k", "ten"],
                     ["search", "people", "x", "-k"], ["search", "people", "x", "--where"],
                     ["search", "people", "x", "--columns", "a,,b"], ["search", "--bogus", "people", "x"]):
            p = run(args, "http://127.0.0.1:1")
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr.startswith(b"usage: lakehouse search") or
                            p.stderr.startswith(b"lakehouse: "), (args, p.stderr))
            self.assertEqual(p.stdout, b"", args)
        # bytes JSON cannot carry: said before anything is sent
        for args, what in ((["search", "people", b"caf\xe9"], b"query"),
                           (["search", "people", "x", "--where", b"a = '\xff'"], b"where"),
                           (["search", "people", "x", "--columns", b"a,\xff"], b"columns")):
            p = run(args, "http://127.0.0.1:1")
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertEqual(p.stderr, b"lakehouse: the " + what + b" is not valid UTF-8 text\n"
                             if what != b"columns" else
                             b"lakehouse: the columns are not valid UTF-8 text\n")
        p = run(["search", "people", "nurse"], "http://127.0.0.1:1")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"cannot reach the lakehouse", p.stderr)

    def test_request_and_rendering_against_a_peer(self):
        url = self.peer()
        p = run(["search", "people@4", "forklift", "--where", "x = 1", "--columns",
                 "worker_id, notes,state"], url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(SearchPeer.seen, [("POST", "/v1/search", {
            "dataset": "people@4", "query": "forklift", "where": "x = 1",
            "columns": ["worker_id", "notes", "state"]})])
        SearchPeer.seen = []
        p = run(["search", "people@4", "forklift", "operator", "--where=state = 'WI'", "-k", "5000",
                 "--mode", "hybrid"], url)
        self.assertEqual(p.returncode, 0, p.stderr)
        method, path, body = SearchPeer.seen[0]
        self.assertEqual((method, path), ("POST", "/v1/search"))
        self.assertEqual(body, {"dataset": "people@4", "query": "forklift operator", "k": 5000,
                                "mode": "hybrid", "where": "state = 'WI'"})
        # the declaration (for the column order) is the dataset's, without @4
        self.assertEqual(SearchPeer.seen[1], ("GET", "/v1/catalog/index/people", None))
        out = p.stdout.decode()
        lines = out.splitlines()
        # id, then the text columns, then the rest; hybrid shows each ranking's rank
        self.assertEqual(lines[0].split(), ["#", "SCORE", "TEXT", "VECTOR", "worker_id", "notes",
                                            "state"])
        # not a terminal: brackets, entities decoded, the value's own escape made inert
        self.assertRegex(lines[1], r"^1\s+0\.0164\s+-\s+1\s+7\s+drives a  \[31m\[lift\] & more\s+WI$")
        self.assertNotIn("\x1b", out)
        self.assertEqual(lines[2], "1 result of 12 rows searched (5 not yet indexed: searched "
                                   "exactly) in 2.5 ms \u00b7 hybrid search of people@4")
        self.assertEqual(lines[3], "note: k was capped at the largest allowed, 1000")
        SearchPeer.seen = []
        p = run(["search", "people,jobs@2", "x"], url)
        self.assertEqual(SearchPeer.seen, [("POST", "/v1/search", {
            "datasets": ["people", "jobs@2"], "query": "x"})])   # no declaration asked for
        # --json: the answer as the server sent it
        p = run(["search", "people", "x", "--json"], url)
        self.assertEqual(json.loads(p.stdout), SearchPeer.answer)

    def wait_ready(self, srv, name):
        deadline = time.time() + 90
        while time.time() < deadline:
            p = run(["index", name, "--json"], srv.url)
            if all(v["state"] == "ready" for v in json.loads(p.stdout)["versions"]):
                return
            time.sleep(0.2)
        self.fail("the index of %s was never ready" % name)

    @unittest.skipUnless(built("ingestd") and built("queryd") and built("catalogd"),
                         "search needs ingestd, catalogd and queryd")
    def test_search_against_serve(self):
        srv = self.start("serve")
        path = os.path.join(self.tmp, "people.csv")
        with open(path, "w") as f:
            f.write(SEARCH_PEOPLE)
        self.assertEqual(run(["ingest", "people", path], srv.url).returncode, 0)
        # no index yet: the server's words and the command, with the text columns
        p = run(["search", "people", "forklift"], srv.url)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        err = p.stderr.decode()
        self.assertIn('lakehouse: dataset "people" has no search index', err)
        self.assertIn("  lakehouse index people --text full_name,title,skills,notes,state\n", err)
        p = run(["index", "people", "--text", "title,skills,notes", "--id", "worker_id"], srv.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_ready(srv, "people")

        p = run(["search", "people", "forklift", "--mode", "text"], srv.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0].split(), ["#", "SCORE", "worker_id", "title", "skills", "notes",
                                            "full_name", "state"])
        # BM25 order: Ann (forklift twice) before Eve; the matches in brackets
        self.assertRegex(lines[1], r"^1\s+\d+\.\d{4}\s+1\s+\[Forklift\] Operator\s+\[forklift\]; pallet")
        self.assertRegex(lines[2], r"^2\s+\d+\.\d{4}\s+5\s+Warehouse Associate\s+picking; packing; \[forklift\]")
        self.assertRegex(lines[3], r"^2 results of 6 rows searched \(all indexed\) in [0-9.]+ m?s "
                                   r"\u00b7 text search of people@1$")
        # the same through --json
        ans = json.loads(run(["search", "people", "forklift", "--mode", "text", "--json"],
                             srv.url).stdout)
        self.assertEqual([r["row"]["worker_id"] for r in ans["results"]], [1, 5])
        # hybrid by default, -k, a filter before ranking
        p = run(["search", "people", "nurse", "-k", "2", "--where", "state = 'WI'"], srv.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0].split()[:4], ["#", "SCORE", "TEXT", "VECTOR"])
        self.assertEqual(len(lines), 4, lines)
        self.assertTrue(all(l.rstrip().endswith("WI") for l in lines[1:3]), lines)
        self.assertIn("2 results of 3 rows searched", lines[3])
        # a column left out by --columns: its match shows in MATCH
        p = run(["search", "people", "forklift operator", "--columns", "full_name", "-k", "1"],
                srv.url)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0].split(), ["#", "SCORE", "TEXT", "VECTOR", "full_name", "MATCH"])
        self.assertRegex(lines[1], r"Ann Smith\s+title: \[Forklift\] \[Operator\]$")
        # HTML in a value is shown as the text it is
        p = run(["search", "people", "dentist", "--mode", "text"], srv.url)
        self.assertIn("Dentist & <b>assistant</b>", p.stdout.decode().replace("[", "").replace("]", ""))
        # nothing matches: said, exit 0
        p = run(["search", "people", "zebra", "--mode", "text"], srv.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(b"no row matches\n0 results of 6 rows"), p.stdout)
        # errors in the server's words, exit 1
        for args, words in ((["--where", "nope = 1"], "where:"),
                            (["--where", "1=1; DROP TABLE x"], "where"),
                            (["--columns", "nope"], "nope")):
            p = run(["search", "people", "nurse"] + args, srv.url)
            self.assertEqual(p.returncode, 1, args)
            self.assertTrue(p.stderr.startswith(b"lakehouse: "), p.stderr)
            self.assertIn(words, p.stderr.decode())
            self.assertEqual(p.stdout, b"")
        p = run(["search", "nobody", "nurse"], srv.url)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"nobody", p.stderr)
        # on a terminal: bold matches, the table fits the width
        rc, out = run_tty(["search", "people", "forklift", "operator", "--columns",
                           "worker_id,title,skills,notes"], srv.url, env={"COLUMNS": "72"})
        self.assertEqual(rc, 0, out)
        self.assertIn("\x1b[1mForklift\x1b[22m", out)
        self.assertNotIn("[Forklift]", out)
        self.assertIn("\u2026", out)
        self.assertEqual(max(len(ANSI.sub("", l)) for l in out.splitlines()[:-1]), 72, out)

        # several datasets: each result names its own, the columns are both's
        jobs = os.path.join(self.tmp, "jobs.csv")
        with open(jobs, "w") as f:
            f.write("order_id,role,city\n10,Forklift driver wanted,Milwaukee\n"
                    "11,Night nurse,Chicago\n")
        self.assertEqual(run(["ingest", "jobs", jobs], srv.url).returncode, 0)
        p = run(["index", "jobs", "--text", "role", "--id", "order_id"], srv.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.wait_ready(srv, "jobs")
        p = run(["search", "people,jobs@1", "forklift", "--mode", "text"], srv.url)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0].split(), ["#", "SCORE", "DATASET", "worker_id", "full_name",
                                            "title", "skills", "notes", "state", "order_id",
                                            "role", "city"])
        self.assertEqual(sorted(l.split()[2] for l in lines[1:-1]),
                         ["jobs", "people", "people"])
        self.assertRegex(lines[-1], r"^3 results of 8 rows searched \(all indexed\) in .* "
                                    r"text search of people@1, jobs@1$")
        p = run(["search", "people,nobody", "forklift"], srv.url)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'dataset "nobody"', p.stderr)
        p = run(["search", "people,,jobs", "forklift"], srv.url)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"NAME,NAME", p.stderr)
        self.assertIn("\u2026", out)


if __name__ == "__main__":
    unittest.main()
