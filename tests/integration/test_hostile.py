"""Limits and hostile clients (reliability): slow clients are cut off without
starving others (slowloris), an upload cut off mid-stream leaves nothing
behind, a full disk answers 507 with nothing half-written, and a burst of
1,000 concurrent connections keeps /health answering.

Everything talks to 127.0.0.1 only. The full-disk tests mount small tmpfs
file systems and need root; they are skipped (with the reason) otherwise.
Loops are bounded; the whole file takes about a minute."""
import errno
import os
import resource
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from lhtest import Server, ServerTest, free_port, request, request_json

SLOW_CONNECTIONS = 500
BURST_CONNECTIONS = 1000
QUIET = {"LAKEHOUSE_LOG": "quiet"}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


raise_nofile()   # the test itself holds 1,000 sockets; the servers raise their own


def tree_files(root):
    """Every regular file under root, as paths relative to it."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), root))
    return sorted(out)


def cut_upload(port, method, path, headers, body_part, declared):
    """Send the head with Content-Length `declared`, then `body_part`, then
    close without the rest."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n" % (method, path, declared)
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(head.encode() + b"\r\n")
    try:
        s.sendall(body_part)
    except OSError:
        pass
    s.close()


def cut_chunked_upload(port, method, path, headers, body_part):
    """A chunked upload whose terminating chunk never comes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n" % (method, path)
    for k, v in headers.items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(head.encode() + b"\r\n")
    try:
        s.sendall(b"%x\r\n" % len(body_part) + body_part + b"\r\n")
    except OSError:
        pass
    s.close()


def csv_bytes(nbytes, seed=0):
    """A CSV of about nbytes whose values are unique hex (barely compressible)."""
    import hashlib
    rows = [b"id,a,b"]
    i, total = 0, 7
    while total < nbytes:
        h = hashlib.sha256(b"%d-%d" % (seed, i)).hexdigest().encode()
        row = b"%d,%s,%s" % (i, h, h[::-1])
        rows.append(row)
        total += len(row) + 1
        i += 1
    return b"\n".join(rows) + b"\n"


class Tmpfs:
    """A tmpfs of `size` bytes mounted on a fresh directory (root only)."""

    def __init__(self, size):
        self.path = tempfile.mkdtemp(prefix="lh-tmpfs-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", self.path],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def free(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def cleanup(self):
        subprocess.run(["umount", "-l", self.path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        shutil.rmtree(self.path, ignore_errors=True)


def needs_root(test):
    if os.geteuid() != 0:
        print("\nSKIP %s: mounting a small tmpfs needs root" % test.__name__)
        return unittest.skip("mounting a small tmpfs needs root (run as root to test a full disk)")(test)
    return test


class TestSlowClients(ServerTest):
    def test_slowloris_is_cut_off_while_others_are_served(self):
        srv = self.start("storaged", env=dict(QUIET, LAKEHOUSE_HTTP_CONNECTION_TIMEOUT_S="2"))
        slow = []
        for i in range(SLOW_CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(b"GET /storage/list HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-%d: " % i)
            s.setblocking(False)
            slow.append(s)
        open_ = set(range(len(slow)))
        stop = threading.Event()

        def drip():
            # A byte per second on every socket still open; note who was cut.
            while not stop.is_set() and open_:
                for i in list(open_):
                    try:
                        data = slow[i].recv(4096)
                        if data == b"":
                            open_.discard(i)
                            continue
                    except BlockingIOError:
                        pass
                    except OSError:
                        open_.discard(i)
                        continue
                    try:
                        slow[i].send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError:
                        open_.discard(i)
                stop.wait(1.0)

        t = threading.Thread(target=drip)
        t.start()
        try:
            rounds = []
            for i in range(50):
                t0 = time.monotonic()
                st, _, _ = request("GET", srv.url + "/health", timeout=10)
                self.assertEqual(st, 200)
                body = b"object %d" % i
                st, _, _ = request("PUT", srv.url + "/storage/put/slow/%d" % i, body=body,
                                   timeout=10)
                self.assertEqual(st, 200)
                st, _, got = request("GET", srv.url + "/storage/get/slow/%d" % i, timeout=10)
                self.assertEqual((st, got), (200, body))
                rounds.append(time.monotonic() - t0)
                time.sleep(0.04)   # spread the 50 rounds over the cut-off
            # Not starved: a typical round (GET /health, PUT, GET) is quick and
            # none waits long, even while 500 slow sockets are held and cut.
            rounds.sort()
            self.assertLess(rounds[len(rounds) // 2], 0.5, rounds)
            self.assertLess(rounds[-1], 5.0, rounds)
            # The server cuts every slow client: headers must arrive in time.
            deadline = time.monotonic() + 15
            while open_ and time.monotonic() < deadline:
                time.sleep(0.25)
            self.assertEqual(len(open_), 0, "%d slow connections still open" % len(open_))
        finally:
            stop.set()
            t.join()
            for s in slow:
                s.close()
        self.assertEqual(request("GET", srv.url + "/health")[0], 200)


    def test_steady_upload_longer_than_the_timeout_is_not_cut(self):
        # Only the headers have a deadline: a body that keeps coming is fine.
        srv = self.start("storaged", env=dict(QUIET, LAKEHOUSE_HTTP_CONNECTION_TIMEOUT_S="1"))
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        part = b"x" * 1000
        s.sendall(b"PUT /storage/put/steady/a HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: %d\r\n\r\n" % (len(part) * 10))
        for _ in range(10):          # 10 x 0.3 s = 3 s, three times the timeout
            s.sendall(part)
            time.sleep(0.3)
        answer = s.recv(4096)
        s.close()
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        st, _, body = request("GET", srv.url + "/storage/get/steady/a")
        self.assertEqual((st, len(body)), (200, len(part) * 10))


class TestCutUploads(ServerTest):
    def start_serve(self, **kw):
        self.ingestd_port = free_port()
        self.storaged_port = free_port()
        self.catalogd_port = free_port()
        env = dict(QUIET, LAKEHOUSE_INGESTD_BIND="127.0.0.1:%d" % self.ingestd_port,
                   LAKEHOUSE_STORAGED_BIND="127.0.0.1:%d" % self.storaged_port,
                   LAKEHOUSE_CATALOGD_BIND="127.0.0.1:%d" % self.catalogd_port)
        env.update(kw.pop("env", {}))
        return self.start("serve", env=env, **kw)

    def assert_nothing_left(self, srv, name):
        st, _, obj = request_json("GET", srv.url + "/v1/storage/list?prefix=datasets/")
        self.assertEqual((st, obj["objects"]), (200, []))
        st, _, obj = request_json("GET", srv.url + "/v1/catalog/versions/" + name)
        self.assertEqual(st, 404, obj)
        spool = os.path.join(srv.data_dir, "spool")
        self.assertEqual(tree_files(spool), [])
        objects = os.path.join(srv.data_dir, "objects")
        self.assertEqual(tree_files(objects) if os.path.isdir(objects) else [], [])

    def wait_idle(self, srv):
        # The server notices the cut at once; give its done() a moment.
        time.sleep(0.5)

    def test_cut_ingest_through_serve_and_direct(self):
        srv = self.start_serve()
        data = csv_bytes(1 << 20)
        part = data[: len(data) // 3]
        hdr = {"Content-Type": "text/csv"}
        cut_upload(srv.port, "POST", "/v1/ingest?name=cut_gw", hdr, part, len(data))
        cut_upload(self.ingestd_port, "POST", "/ingest?name=cut_direct", hdr, part, len(data))
        cut_chunked_upload(srv.port, "POST", "/v1/ingest?name=cut_chunked", hdr, part)
        cut_chunked_upload(self.ingestd_port, "POST", "/ingest?name=cut_chunked2", hdr, part)
        mp = {"Content-Type": "multipart/form-data; boundary=XyZ"}
        body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
                b"Content-Type: text/csv\r\n\r\n" + part)
        cut_upload(srv.port, "POST", "/v1/ingest?name=cut_mp", mp, body, len(body) + 1000)
        self.wait_idle(srv)
        for name in ("cut_gw", "cut_direct", "cut_chunked", "cut_chunked2", "cut_mp"):
            self.assert_nothing_left(srv, name)
        # still serving: a whole ingest works
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=whole", body=data[:4096]
                                  .rsplit(b"\n", 1)[0] + b"\n", headers=hdr)
        self.assertEqual(st, 200, obj)

    def test_cut_object_upload(self):
        srv = self.start_serve()
        part = os.urandom(300 << 10)
        cut_upload(self.storaged_port, "PUT", "/storage/put/datasets/x/direct", {}, part, 1 << 20)
        cut_upload(srv.port, "PUT", "/v1/storage/put/datasets/x/gw", {}, part, 1 << 20)
        cut_chunked_upload(self.storaged_port, "PUT", "/storage/put/datasets/x/chunked", {}, part)
        cut_chunked_upload(srv.port, "PUT", "/v1/storage/put/datasets/x/chunked2", {}, part)
        self.wait_idle(srv)
        self.assert_nothing_left(srv, "x")
        st, _, _ = request("PUT", srv.url + "/v1/storage/put/datasets/x/whole", body=part)
        self.assertEqual(st, 200)


class TestFullDisk(ServerTest):
    def mount(self, size):
        fs = Tmpfs(size)
        self.addCleanup(fs.cleanup)
        return fs

    @needs_root
    def test_storaged_full_disk_is_507_and_nothing_half_written(self):
        fs = self.mount(8 << 20)
        srv = self.start("storaged", data_dir=fs.path, env=QUIET,
                         log_path=os.path.join(tempfile.gettempdir(), "lh-full-%d.log" % os.getpid()))
        self.addCleanup(os.unlink, srv.log_path)
        st, _, _ = request("PUT", srv.url + "/storage/put/keep/a", body=b"kept")
        self.assertEqual(st, 200)
        before_list = request_json("GET", srv.url + "/storage/list")[2]
        before_files = tree_files(fs.path)
        free_before = fs.free()
        big = os.urandom(12 << 20)
        for chunked in (False, True):
            # an iterable body goes out chunked (http.client)
            body = iter([big[i:i + (1 << 20)] for i in range(0, len(big), 1 << 20)]) \
                if chunked else big
            self.assertError(request_json("PUT", srv.url + "/storage/put/big/b", body=body),
                             507, "insufficient_storage")
            self.assertEqual(tree_files(fs.path), before_files)   # no temp file
            self.assertEqual(request_json("GET", srv.url + "/storage/list")[2], before_list)
            self.assertGreaterEqual(fs.free(), free_before - (64 << 10))  # space given back
            self.assertEqual(request("GET", srv.url + "/storage/get/big/b")[0], 404)
        small = os.urandom(100 << 10)
        st, _, _ = request("PUT", srv.url + "/storage/put/small/c", body=small)
        self.assertEqual(st, 200)
        self.assertEqual(request("GET", srv.url + "/storage/get/small/c")[2], small)

    @needs_root
    def test_ingest_spool_full_is_507_and_no_version(self):
        fs = self.mount(4 << 20)
        srv = self.start("serve", env=dict(QUIET, LAKEHOUSE_INGESTD_SPOOL_DIR=fs.path))
        data = csv_bytes(6 << 20)
        hdrs = {"Content-Type": "text/csv"}
        for chunked in (False, True):
            body = iter([data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)]) \
                if chunked else data
            self.assertError(request_json("POST", srv.url + "/v1/ingest?name=too_big",
                                          body=body, headers=hdrs), 507, "insufficient_storage")
            st, _, obj = request_json("GET", srv.url + "/v1/catalog/versions/too_big")
            self.assertEqual(st, 404, obj)
            self.assertEqual(tree_files(fs.path), [])
            # The spool file goes when ingestd's request ends, which may be
            # a moment after the gateway has relayed the 507.
            deadline = time.monotonic() + 5
            while fs.free() <= (4 << 20) - (256 << 10) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertGreater(fs.free(), (4 << 20) - (256 << 10))
        # a small one still goes through
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=small", body=data[:20000]
                                  .rsplit(b"\n", 1)[0] + b"\n", headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)

    @needs_root
    def test_parquet_conversion_needs_no_spool_space(self):
        # The CSV fits in the spool, the CSV plus its Parquet file would not:
        # DuckDB writes the Parquet into a FIFO that streams into the PUT
        # (pipeline.c note 3), so it takes no spool space and the ingest
        # succeeds; nothing is left in the spool afterwards.
        fs = self.mount(5 << 20)
        srv = self.start("serve", env=dict(QUIET, LAKEHOUSE_INGESTD_SPOOL_DIR=fs.path))
        data = csv_bytes(3 << 20, seed=1)
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=no_room", body=data,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        self.assertGreater(obj["parquet_size"], (5 << 20) - len(data))
        self.assertEqual(tree_files(fs.path), [])
        st, _, got = request_json("POST", srv.url + "/v1/query",
                                  body={"sql": "SELECT count(*) AS n FROM no_room"})
        self.assertEqual(st, 200, got)
        self.assertEqual(got["rows"][0][0], obj["row_count"])

    @needs_root
    def test_conversion_spilling_to_a_full_spool_is_507(self):
        # A tiny DuckDB memory limit makes the conversion spill to the spool,
        # which the CSV has nearly filled: 507, no version, no object, and
        # nothing left in the spool.
        fs = self.mount(12 << 20)
        srv = self.start("serve", env=dict(QUIET, LAKEHOUSE_INGESTD_SPOOL_DIR=fs.path,
                                           LAKEHOUSE_INGESTD_DUCKDB_MEMORY_BYTES="2MiB"))
        data = csv_bytes(10 << 20, seed=3)
        self.assertError(request_json("POST", srv.url + "/v1/ingest?name=spilled", body=data,
                                      headers={"Content-Type": "text/csv"}),
                         507, "insufficient_storage")
        st, _, obj = request_json("GET", srv.url + "/v1/catalog/versions/spilled")
        self.assertEqual(st, 404, obj)
        st, _, obj = request_json("GET", srv.url + "/v1/storage/list?prefix=datasets/")
        self.assertEqual(obj["objects"], [])
        deadline = time.monotonic() + 5
        while tree_files(fs.path) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(tree_files(fs.path), [])

    @needs_root
    def test_object_store_full_during_ingest_is_507(self):
        fs = self.mount(1 << 20)
        srv = self.start("serve", env=dict(QUIET, LAKEHOUSE_STORAGED_ROOT=fs.path))
        data = csv_bytes(3 << 20, seed=2)
        self.assertError(request_json("POST", srv.url + "/v1/ingest?name=no_store", body=data,
                                      headers={"Content-Type": "text/csv"}),
                         507, "insufficient_storage")
        st, _, obj = request_json("GET", srv.url + "/v1/catalog/versions/no_store")
        self.assertEqual(st, 404, obj)
        self.assertEqual(tree_files(fs.path), [])


class TestBurst(ServerTest):
    def test_1000_concurrent_health_checks(self):
        srv = self.start("serve", env=QUIET)
        n = BURST_CONNECTIONS
        req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        socks = []
        t0 = time.monotonic()
        for _ in range(n):
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", srv.port))
            self.assertIn(err, (0, errno.EINPROGRESS))
            socks.append(s)
        pending_send = {s.fileno(): s for s in socks}
        answers = {s.fileno(): b"" for s in socks}
        open_ = {s.fileno(): s for s in socks}
        poller = select.poll()
        for s in socks:
            poller.register(s, select.POLLOUT | select.POLLIN)
        deadline = t0 + 30
        while open_ and time.monotonic() < deadline:
            for fd, ev in poller.poll(500):
                s = open_.get(fd)
                if s is None:
                    continue
                if fd in pending_send and ev & select.POLLOUT:
                    s.send(req)
                    del pending_send[fd]
                    poller.modify(s, select.POLLIN)
                    continue
                if ev & (select.POLLIN | select.POLLHUP | select.POLLERR):
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if data:
                        answers[fd] += data
                    else:
                        poller.unregister(s)
                        del open_[fd]
        elapsed = time.monotonic() - t0
        statuses = {}
        for fd, a in answers.items():
            line = a.split(b"\r\n", 1)[0]
            statuses[line] = statuses.get(line, 0) + 1
        for s in socks:
            s.close()
        self.assertEqual(statuses, {b"HTTP/1.1 200 OK": n}, "elapsed %.1fs" % elapsed)
        self.assertLess(elapsed, 30)
        self.assertEqual(request("GET", srv.url + "/health")[0], 200)


if __name__ == "__main__":
    unittest.main()
