"""lhtest.py — helpers for integration tests against the real binary.

Every test starts `build/lakehouse <command>` on 127.0.0.1 with a free port and
a fresh temporary data directory, talks HTTP to it with http.client, and stops
it with SIGTERM. No fixed ports, no mocks, bounded waits everywhere.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LAKEHOUSE_BIN", os.path.join(ROOT, "build", "lakehouse"))


def free_port():
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `lakehouse <command>` process on a free loopback port.

    args: extra command-line arguments; env: extra environment variables.
    The data directory is a fresh temp dir unless data_dir is given (so a
    test can restart a server on the same data).
    """

    def __init__(self, command, args=(), env=None, data_dir=None, port=None,
                 bind_flag="--bind", log_path=None):
        self.command = command
        self.port = port or free_port()
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="lh-test-")
        self.log_path = log_path or os.path.join(self.data_dir, "%s.log" % command)
        full_env = dict(os.environ)
        full_env["LAKEHOUSE_DATA_DIR"] = self.data_dir
        full_env.update(env or {})
        argv = [BINARY, command, bind_flag, "127.0.0.1:%d" % self.port] + list(args)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, env=full_env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_ready()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def wait_ready(self, timeout=60.0):
        """Bounded: a loaded machine (fsync stalls) can slow start-up a lot."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s; log:\n%s" % (
                    self.command, self.proc.returncode, self.read_log()))
            try:
                status, _, _ = request("GET", self.url + "/health", timeout=1)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not become healthy; log:\n%s" % (self.command, self.read_log()))

    def read_log(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def peak_rss_kib(self):
        """VmHWM of the server process, in KiB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stop the process; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def request(method, url, body=None, headers=None, timeout=60):
    """One HTTP request; returns (status, headers dict lower-cased, body bytes).
    body may be bytes, str, a dict (sent as JSON) or a file object (streamed)."""
    assert url.startswith("http://")
    hostport, _, path = url[len("http://"):].partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    hdrs = dict(headers or {})
    if isinstance(body, dict) or isinstance(body, list):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, "/" + path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def request_json(method, url, body=None, headers=None, timeout=60):
    """Like request() but decodes a JSON body: (status, headers, obj)."""
    status, hdrs, data = request(method, url, body, headers, timeout)
    try:
        obj = json.loads(data) if data else None
    except ValueError:
        raise AssertionError("not JSON (status %d): %r" % (status, data[:300]))
    return status, hdrs, obj


class ServerTest(unittest.TestCase):
    """Base class: self.start(...) starts a server that is stopped at the end."""

    def start(self, command, **kw):
        srv = Server(command, **kw)
        self.addCleanup(srv.cleanup)
        return srv

    def assertError(self, status_body, status, code):
        """Check an error response (status, headers, obj) per SPEC 2."""
        st, _, obj = status_body
        self.assertEqual(st, status, obj)
        self.assertIsInstance(obj, dict)
        self.assertEqual(obj.get("code"), code, obj)
        self.assertIsInstance(obj.get("error"), str)
        self.assertTrue(obj["error"])
