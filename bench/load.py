#!/usr/bin/env python3
"""load.py — HTTP load on loopback with wrk: storaged GET beside nginx
serving the same bytes, and /v1/query through `lakehouse serve`.

    python3 bench/load.py [--duration 30] [--conns 1,16,64,256] [--qconns 1,8,32]

Needs wrk and nginx (Debian packages). They are not in scripts/bootstrap.sh
(it runs for every `make test` and CI, which need neither): when one is
missing, this script runs `apt-get install -y wrk nginx` if it is root and
otherwise prints that command and exits 2. Needs `make` and `make bench`
(for build/bench/gen_staffing) first.

1. storaged (LAKEHOUSE_LOG=quiet, fresh temp data dir, free loopback port)
   holds a 1 MiB and a 4 KiB object (deterministic bytes); nginx, started
   from a throwaway config in a temp dir (`nginx -c CONF -p DIR -e LOG`,
   daemon off, access_log off, sendfile on as in Debian's stock config,
   worker_processes auto), serves the same bytes as static files. Both are
   read back and compared before any load.
2. `wrk -t2 -cC -dD --latency --timeout 10s` against each object on each
   server for every C in --conns.
3. `lakehouse serve` with a generated staffing CSV of about 100k rows
   ingested as "candidates"; `wrk -s bench/query.lua` POSTs
   SELECT state, count(*) FROM candidates GROUP BY state to /v1/query for
   every C in --qconns.
Every run must have zero socket errors and zero non-2xx answers; any is
reported and makes the exit status 1. Prints a Markdown table (requests/s,
p50, p90, p99) and the storaged/nginx ratio of requests/s, and writes the
figures as JSON to bench/out/load.json.
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lhtest import Server, free_port, request, request_json  # noqa: E402

GEN = os.path.join(ROOT, "build", "bench", "gen_staffing")
QUERY_LUA = os.path.join(HERE, "query.lua")
SQL = "SELECT state, count(*) FROM candidates GROUP BY state"


def ensure_tools():
    missing = [t for t in ("wrk", "nginx") if not shutil.which(t)
               and not os.path.exists("/usr/sbin/" + t)]
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", "wrk", "nginx"]
    if os.geteuid() != 0:
        sys.exit("load.py needs %s: run `sudo %s`" % (" and ".join(missing), " ".join(cmd)))
    print("installing %s: %s" % (", ".join(missing), " ".join(cmd)), flush=True)
    subprocess.run(cmd, check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def nginx_bin():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def start_nginx(files):
    """nginx on a free loopback port serving files {name: bytes}: (proc, url, dir)."""
    d = tempfile.mkdtemp(prefix="lh-nginx-")
    os.chmod(d, 0o755)  # nginx workers drop root: they must reach the files
    www = os.path.join(d, "www")
    for name, data in files.items():
        path = os.path.join(www, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    for dirpath, dirs, names in os.walk(d):
        os.chmod(dirpath, 0o755)
        for n in names:
            os.chmod(os.path.join(dirpath, n), 0o644)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""daemon off;
worker_processes auto;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    server {
        listen 127.0.0.1:%(port)d;
        root %(www)s;
        location / { }
    }
}
""" % {"d": d, "port": port, "www": www})
    proc = subprocess.Popen([nginx_bin(), "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr.log"), "wb"))
    url = "http://127.0.0.1:%d" % port
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(os.path.join(d, "stderr.log")) as f:
                sys.exit("nginx exited: %s" % f.read())
        try:
            if request("GET", url + "/" + next(iter(files)), timeout=1)[0] == 200:
                return proc, url, d
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit("nginx did not start")


UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNIT[m.group(2)]


def parse_wrk(out):
    """Requests/s, latency percentiles (ms) and error counts from wrk's text."""
    r = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
         "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for p in ("50", "75", "90", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % p, out, re.M)
        r["p" + p] = ms(m.group(1)) if m else None
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    return r


def wrk(url, conns, duration, script=None):
    argv = ["wrk", "-t%d" % min(2, conns), "-c%d" % conns, "-d%ds" % duration,
            "--latency", "--timeout", "10s"]
    if script:
        argv += ["-s", script]
    out = subprocess.run(argv + [url], check=True, capture_output=True, text=True).stdout
    r = parse_wrk(out)
    r["raw"] = out
    return r


def fmt_ms(x):
    if x is None:
        return "-"
    if x < 1:
        return "%.0f us" % (x * 1000)
    return "%.2f ms" % x if x < 100 else "%.0f ms" % x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=int, default=30, help="seconds per wrk run")
    ap.add_argument("--conns", default="1,16,64,256", help="connections for the GET runs")
    ap.add_argument("--qconns", default="1,8,32", help="connections for the query runs")
    ap.add_argument("--rows", default="14M", help="staffing CSV size for the query dataset "
                    "(gen_staffing --bytes; 14M is about 100k rows)")
    ap.add_argument("--skip-get", action="store_true")
    ap.add_argument("--skip-query", action="store_true")
    args = ap.parse_args()
    conns = [int(x) for x in args.conns.split(",")]
    qconns = [int(x) for x in args.qconns.split(",")]
    ensure_tools()
    results, errors = [], []

    def record(target, c, r):
        r = dict(r, target=target, conns=c)
        raw = r.pop("raw")
        results.append(r)
        bad = r["socket_errors"] + r["non_2xx"]
        if bad:
            errors.append("%s -c%d: %d socket errors, %d non-2xx\n%s" % (
                target, c, r["socket_errors"], r["non_2xx"], raw))
        print("%-22s -c%-4d %10.1f req/s  p50 %-10s p90 %-10s p99 %-10s errors %d" % (
            target, c, r["rps"], fmt_ms(r["p50"]), fmt_ms(r["p90"]), fmt_ms(r["p99"]), bad),
            flush=True)

    rnd = random.Random(42)
    files = {"bench/4k.bin": bytes(rnd.getrandbits(8) for _ in range(4096)),
             "bench/1m.bin": rnd.randbytes(1 << 20)}
    if not args.skip_get:
        st = Server("storaged", env={"LAKEHOUSE_LOG": "quiet"})
        ng = None
        try:
            for key, data in files.items():
                code, _, _ = request("PUT", "%s/storage/put/%s" % (st.url, key), body=data)
                assert code == 200, code
            ng, ng_url, ng_dir = start_nginx(files)
            for key, data in files.items():
                for url in ("%s/storage/get/%s" % (st.url, key), "%s/%s" % (ng_url, key)):
                    code, hdrs, body = request("GET", url)
                    assert code == 200 and body == data, (url, code, len(body))
            sha = {k: hashlib.sha256(v).hexdigest()[:12] for k, v in files.items()}
            print("objects: 4 KiB (sha256 %s...), 1 MiB (sha256 %s...)" % (
                sha["bench/4k.bin"], sha["bench/1m.bin"]), flush=True)
            for key, label in (("bench/4k.bin", "4 KiB"), ("bench/1m.bin", "1 MiB")):
                for c in conns:
                    record("storaged GET %s" % label, c,
                           wrk("%s/storage/get/%s" % (st.url, key), c, args.duration))
                    record("nginx GET %s" % label, c,
                           wrk("%s/%s" % (ng_url, key), c, args.duration))
        finally:
            if ng is not None:
                ng.terminate()
                ng.wait(10)
                shutil.rmtree(ng_dir, ignore_errors=True)
            st.cleanup()

    if not args.skip_query:
        tmp = tempfile.mkdtemp(prefix="lh-load-")
        csv = os.path.join(tmp, "candidates.csv")
        subprocess.run([GEN, "--bytes", args.rows, csv], check=True, stdout=subprocess.DEVNULL)
        srv = Server("serve", env={"LAKEHOUSE_LOG": "quiet"})
        try:
            with open(csv, "rb") as f:
                code, _, obj = request_json("POST", srv.url + "/v1/ingest?name=candidates", body=f,
                                            headers={"Content-Type": "text/csv",
                                                     "Content-Length": str(os.path.getsize(csv))},
                                            timeout=600)
            assert code == 200, (code, obj)
            rows = obj["row_count"]
            code, _, q = request_json("POST", srv.url + "/v1/query", body={"sql": SQL})
            assert code == 200 and sum(r[1] for r in q["rows"]) == rows, (code, q)
            print("query dataset: %d rows, %d bytes of Parquet; %d groups" % (
                rows, obj["parquet_size"], len(q["rows"])), flush=True)
            for c in qconns:
                record("/v1/query GROUP BY", c,
                       wrk(srv.url + "/v1/query", c, args.duration, script=QUERY_LUA))
        finally:
            srv.cleanup()
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| target | connections | requests/s | p50 | p90 | p99 | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print("| %s | %d | %.0f | %s | %s | %s | %d |" % (
            r["target"], r["conns"], r["rps"], fmt_ms(r["p50"]), fmt_ms(r["p90"]),
            fmt_ms(r["p99"]), r["socket_errors"] + r["non_2xx"]))
    by = {(r["target"], r["conns"]): r for r in results}
    ratios = []
    for label in ("4 KiB", "1 MiB"):
        for c in conns:
            s, n = by.get(("storaged GET " + label, c)), by.get(("nginx GET " + label, c))
            if s and n:
                ratios.append({"object": label, "conns": c, "ratio": s["rps"] / n["rps"]})
    if ratios:
        print()
        print("| object | " + " | ".join("-c%d" % c for c in conns) + " |")
        print("| --- |" + " --- |" * len(conns))
        for label in ("4 KiB", "1 MiB"):
            print("| storaged/nginx req/s, %s | " % label + " | ".join(
                "%.2f" % x["ratio"] for x in ratios if x["object"] == label) + " |")
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "load.json"), "w") as f:
        json.dump({"duration_s": args.duration, "results": results, "ratios": ratios,
                   "errors": errors}, f, indent=1)
    for e in errors:
        print("ERROR " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
