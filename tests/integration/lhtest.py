"""lhtest.py — helpers for integration tests against the real binary.

Every test starts `build/lakehouse <command>` on 127.0.0.1 with a free port and
a fresh temporary data directory, talks HTTP to it with http.client, and stops
it with SIGTERM. No fixed ports, no mocks, bounded waits everywhere.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("LAKEHOUSE_BIN", os.path.join(ROOT, "build", "lakehouse"))


def _ephemeral_low():
    """The first port of the kernel's ephemeral range (32768 if unknown)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port that was free a moment ago on 127.0.0.1, below the kernel's
    ephemeral range. A port inside that range can be taken between a server's
    kill and its restart by a client's own connect(): a client that keeps
    connecting to a loopback port with no listener eventually gets that port
    as its source port and connects to itself (TCP simultaneous open), and the
    restarted server then finds its port "already in use" (the SIGKILL soak
    hit this in CI). Ports below the range are never picked as source ports.
    """
    rng = random.SystemRandom()
    high = _ephemeral_low()
    low = max(1024, high - 12000)
    for _ in range(200):
        port = rng.randrange(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
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
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout, blocksize=1 << 20)
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
        """Check an error response (status, headers, obj): JSON with error and code (ADR 0005)."""
        st, _, obj = status_body
        self.assertEqual(st, status, obj)
        self.assertIsInstance(obj, dict)
        self.assertEqual(obj.get("code"), code, obj)
        self.assertIsInstance(obj.get("error"), str)
        self.assertTrue(obj["error"])


# --- PostgreSQL --------------------------------------------------------------

PG_BIN = os.environ.get("LAKEHOUSE_PG_BIN", "/usr/lib/postgresql/15/bin")


class PostgresServer:
    """A throwaway PostgreSQL cluster from Debian's postgresql-15, for tests.

    initdb in a fresh temp dir, started with pg_ctl on 127.0.0.1:<free port>
    (its Unix socket in the same dir, never the system one). initdb and
    pg_ctl refuse to run as root, so as root the dir is given to the
    `postgres` user and they run through `runuser -u postgres --`; otherwise
    they run as the current user. Authentication is `trust` for the superuser
    `postgres`, on loopback only. fsync is off: the tests kill catalogd, never
    the database server, so the server's own durability is not under test and
    the shared 2-core machine is spared the syncs.

    create_database() gives each test its own empty database (fast, and
    independent of the others); stop() stops the server and removes the dir.
    """

    def __init__(self, start=True):
        """start=False: initdb only; start() later (a test of start order)."""
        self.dir = tempfile.mkdtemp(prefix="lh-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.prefix = []
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.ndatabases = 0
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust",
                   "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
        if start:
            self.start()

    def start(self):
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off -c max_connections=200" % (self.port, self.dir))
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log_path,
                   "-o", opts, "-w", "-t", "60", "start"])

    def _run(self, argv, timeout=120):
        r = subprocess.run(self.prefix + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s\n%s" % (
                " ".join(argv), r.returncode, r.stdout.decode("utf-8", "replace"),
                self.read_log()))
        return r.stdout.decode("utf-8", "replace")

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def dsn(self, dbname="postgres"):
        return "host=127.0.0.1 port=%d dbname=%s user=postgres" % (self.port, dbname)

    def psql(self, sql, dbname="postgres"):
        """Run SQL with psql over TCP; returns the rows as unaligned text."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.dsn(dbname), "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr.decode("utf-8", "replace"))
        return r.stdout.decode("utf-8", "replace").strip()

    def create_database(self, prefix="lh"):
        """A new empty database; returns its name."""
        self.ndatabases += 1
        name = "%s_%d" % (prefix, self.ndatabases)
        self.psql("CREATE DATABASE %s" % name)  # our own name, not user data
        return name

    def stop(self):
        try:
            self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast",
                       "-w", "-t", "60", "stop"])
        except (RuntimeError, subprocess.TimeoutExpired):
            self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate",
                       "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
