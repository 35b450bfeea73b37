"""client.py — what quality.py and speed.py share: the generated data, a
`lakehouse serve` (started here, or an existing one at --url), the ingest,
the index declaration, waiting for the build, and keep-alive HTTP calls.

The API used is docs/api.md's (SPEC sections 11 and 12):
POST /v1/ingest?name=, PUT/GET /v1/catalog/index/<name>, POST /v1/search,
POST /v1/embed. Loopback needs no token; LAKEHOUSE_TOKEN is sent as a
Bearer token when set (for a server with [auth] tokens).
"""
import http.client
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "bench", "out")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
from lhtest import Server  # noqa: E402
import gen_profiles  # noqa: E402

DATASET = "profiles"
INDEX = {"text": ["title", "skills", "certifications", "notes"], "id": "worker_id"}


def data_dir(rows, seed=13):
    return os.path.join(OUT, "search-%d-%d" % (rows, seed))


def ensure_data(rows, seed=13):
    """The generated files for (rows, seed), made once and kept in bench/out/."""
    d = data_dir(rows, seed)
    meta = os.path.join(d, "meta.json")
    if os.path.exists(meta):
        with open(meta) as f:
            m = json.load(f)
        if m.get("rows") == rows and m.get("seed") == seed:
            return d
    print("generating %d profiles (seed %d) into %s" % (rows, seed, d), flush=True)
    gen_profiles.generate(rows, seed, d)
    return d


class Conn:
    """One keep-alive HTTP connection (reconnects once if the server closed it)."""

    def __init__(self, url, timeout=600):
        assert url.startswith("http://")
        host, _, port = url[len("http://"):].rstrip("/").partition(":")
        self.host, self.port, self.timeout = host, int(port or 80), timeout
        self.c = None
        self.headers = {}
        tok = os.environ.get("LAKEHOUSE_TOKEN")
        if tok:
            self.headers["Authorization"] = "Bearer " + tok

    def call(self, method, path, body=None, headers=None):
        """(status, decoded JSON or raw bytes, seconds)."""
        h = dict(self.headers, **(headers or {}))
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                                    blocksize=1 << 20)
            t0 = time.perf_counter()
            try:
                self.c.request(method, path, body=body, headers=h)
                resp = self.c.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.c.close()
                self.c = None
                if attempt or hasattr(body, "read"):
                    raise
                continue
            dt = time.perf_counter() - t0
            if resp.getheader("Connection", "").lower() == "close":
                self.c.close()
                self.c = None
            try:
                obj = json.loads(data) if data else None
            except ValueError:
                obj = data
            return resp.status, obj, dt
        raise AssertionError("unreachable")

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


class Lakehouse:
    """A serve process (ours unless --url is given) holding the profiles."""

    def __init__(self, url=None, env=None, data_dir=None):
        """data_dir: serve keeps its data there (made if missing, never
        removed), so a later run finds the profiles and their index built."""
        self.server = None
        if url is None:
            e = {"LAKEHOUSE_LOG": "quiet"}
            e.update(env or {})
            if data_dir:
                os.makedirs(data_dir, exist_ok=True)
            self.server = Server("serve", env=e, data_dir=data_dir and os.path.abspath(data_dir))
            url = self.server.url
        self.url = url.rstrip("/")
        self.conn = Conn(self.url)

    @property
    def pid(self):
        return self.server.proc.pid if self.server else None

    def peak_rss_kib(self):
        return self.server.peak_rss_kib() if self.server else None

    def close(self):
        self.conn.close()
        if self.server is not None:
            self.server.cleanup()

    def ingest(self, csv_path, name=DATASET):
        size = os.path.getsize(csv_path)
        c = Conn(self.url, timeout=3600)
        with open(csv_path, "rb") as f:
            st, obj, dt = c.call("POST", "/v1/ingest?name=%s" % name, body=f,
                                 headers={"Content-Type": "text/csv", "Content-Length": str(size)})
        c.close()
        if st != 200:
            raise RuntimeError("ingest: %d %r" % (st, obj))
        return obj, dt

    def dataset_version(self, name=DATASET):
        st, obj, _ = self.conn.call("GET", "/v1/catalog/datasets")
        if st != 200:
            raise RuntimeError("datasets: %d %r" % (st, obj))
        items = obj.get("datasets", obj) if isinstance(obj, dict) else obj
        for d in items:
            if d.get("name") == name:
                return d.get("version")
        return None

    def declare(self, decl=None, name=DATASET):
        st, obj, _ = self.conn.call("PUT", "/v1/catalog/index/%s" % name, body=decl or INDEX)
        if st not in (200, 201):
            raise RuntimeError("declare index: %d %r" % (st, obj))
        return obj

    def index_status(self, name=DATASET):
        st, obj, _ = self.conn.call("GET", "/v1/catalog/index/%s" % name)
        if st != 200:
            raise RuntimeError("index status: %d %r" % (st, obj))
        return obj

    @staticmethod
    def version_entry(status, version):
        """The status's entry for `version` (docs/api.md: "versions": [...])."""
        vs = status.get("versions") or []
        if isinstance(vs, dict):
            vs = [dict(v, version=int(k)) for k, v in vs.items()]
        for v in vs:
            if int(v.get("version", -1)) == int(version):
                return v
        return None

    def wait_ready(self, version, timeout=1800, name=DATASET, progress=True):
        """Poll GET /catalog/index/<name> until `version` is ready; returns
        (seconds waited, its entry). Raises if it failed or timed out."""
        t0 = time.time()
        last = None
        while True:
            entry = self.version_entry(self.index_status(name), version)
            state = entry.get("state") if entry else None
            if state == "ready":
                return time.time() - t0, entry
            if state == "failed":
                raise RuntimeError("index build failed: %r" % entry)
            if progress and state != last:
                print("  index of %s@%s: %s (%.0f s)" % (name, version, state, time.time() - t0),
                      flush=True)
                last = state
            if time.time() - t0 > timeout:
                raise RuntimeError("index not ready after %d s: %r" % (timeout, entry))
            time.sleep(0.2)

    def search(self, body):
        """(status, answer, seconds)."""
        b = dict(body)
        b.setdefault("dataset", DATASET)
        return self.conn.call("POST", "/v1/search", body=b)

    def embed(self, texts):
        st, obj, _ = self.conn.call("POST", "/v1/embed", body={"texts": list(texts)})
        if st != 200:
            raise RuntimeError("embed: %d %r" % (st, obj))
        return obj["vectors"]


def setup(args, rows):
    """Data, server, ingest (unless the server holds "profiles" already) and
    ready index: (lakehouse, generated data dir, facts)."""
    d = ensure_data(rows, args.seed)
    lh = Lakehouse(args.url, data_dir=args.data_dir)
    facts = {"rows": rows, "seed": args.seed, "url": lh.url}
    try:
        version = lh.dataset_version()
        if version is None:
            print("ingesting %s" % os.path.join(d, "profiles.csv"), flush=True)
            obj, dt = lh.ingest(os.path.join(d, "profiles.csv"))
            facts["ingest_s"] = round(dt, 2)
            version = obj["manifest"]["version"]
            print("  %d rows in %.1f s, version %s" % (obj.get("row_count", -1), dt, version),
                  flush=True)
        facts["version"] = version
        t0 = time.time()
        lh.declare()
        waited, entry = lh.wait_ready(version)
        facts["build_wait_s"] = round(time.time() - t0, 2)
        facts["build_entry"] = entry
        return lh, d, facts
    except BaseException:
        lh.close()
        raise


def git_head():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(len(xs) * p / 100.0))]
