#!/usr/bin/env python3
"""Query latency benchmark (bench/README.md, "Query latency").

Starts storaged, catalogd (or the integration tests' stand-in catalog if this
binary has no catalogd yet) and queryd on free loopback ports; builds a
1,000,000-row dataset (Parquet written by queryd itself, PUT to storaged,
registered with the catalog); then sends N POST /query requests of a small
aggregate over HTTP, one at a time, and reports p50/p99 — beside the same
query run N times in-process by bench/query_bench.c in DuckDB over the same
Parquet file (queryd's cached copy), and the ratio.

    python3 bench/query_bench.py [N] [--baseline OLD_BINARY]   (default N = 200)

With --baseline, a second queryd from OLD_BINARY (e.g. a build of an earlier
commit) serves the same dataset from the same storaged and catalogd, and the
two are measured in alternating rounds of N/4 requests in the same run, so the
difference between them is what the change added (ADR 0114 measured the
worker processes this way).
"""
import http.client
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lhtest  # noqa: E402
from test_queryd import CatalogStandIn, fingerprint  # noqa: E402

SQL = "SELECT state, count(*) AS n, avg(hourly_rate) AS rate FROM bench GROUP BY state ORDER BY state"
DATA = ("SELECT range AS id, 'name-' || range AS full_name, "
        "['CA','NY','TX','WA','OR','NV','AZ','UT','CO','FL'][(range % 10) + 1] AS state, "
        "20.0 + (range % 500) / 10.0 AS hourly_rate, range % 3 = 0 AS available "
        "FROM range(1000000)")


def post(conn, body):
    conn.request("POST", "/query", json.dumps(body), {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, resp.getheaders(), data


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, (len(xs) * p) // 100)]


def measure(port, n, times):
    """n sequential keep-alive requests; appends each latency (ms) to times."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = None
    for _ in range(n):
        t0 = time.perf_counter()
        st, hdrs, data = post(conn, {"sql": SQL})
        times.append((time.perf_counter() - t0) * 1000)
        assert st == 200, data[:300]
    conn.close()
    return data


def main():
    args = sys.argv[1:]
    baseline = None
    if "--baseline" in args:
        i = args.index("--baseline")
        baseline = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    n = int(args[0]) if args else 200
    servers, standin = [], None
    try:
        storaged = lhtest.Server("storaged")
        servers.append(storaged)
        try:
            catalogd = lhtest.Server("catalogd")
            servers.append(catalogd)
            catalog_url, catalog_kind = catalogd.url, "catalogd"
        except RuntimeError:
            standin = CatalogStandIn()
            catalog_url, catalog_kind = standin.url, "stand-in catalog (no catalogd in this build)"
        queryd = lhtest.Server("queryd", env={
            "LAKEHOUSE_QUERYD_STORAGED_URL": storaged.url,
            "LAKEHOUSE_QUERYD_CATALOGD_URL": catalog_url})
        servers.append(queryd)

        st, _, parquet = lhtest.request("POST", queryd.url + "/query",
                                        {"sql": DATA, "format": "parquet"}, timeout=300)
        assert st == 200, parquet[:300]
        key = "datasets/bench/bench/1m.parquet"
        st, _, obj = lhtest.request_json("PUT", storaged.url + "/storage/put/" + key, parquet)
        assert st == 200, obj
        schema = [{"name": "id", "type": "int64", "nullable": False},
                  {"name": "full_name", "type": "utf8", "nullable": False},
                  {"name": "state", "type": "utf8", "nullable": False},
                  {"name": "hourly_rate", "type": "float64", "nullable": False},
                  {"name": "available", "type": "bool", "nullable": False}]
        reg = {"name": "bench", "schema_fingerprint": fingerprint(schema), "schema": schema,
               "objects": [{"key": key, "size": len(parquet), "row_count": 1000000,
                            "content_sha256": obj["sha256"]}],
               "row_count": 1000000, "mode": "replace"}
        st, _, out = lhtest.request_json("POST", catalog_url + "/catalog/register", reg)
        assert st == 200, out

        old = None
        if baseline:
            saved, lhtest.BINARY = lhtest.BINARY, baseline
            try:
                old = lhtest.Server("queryd", env={
                    "LAKEHOUSE_QUERYD_STORAGED_URL": storaged.url,
                    "LAKEHOUSE_QUERYD_CATALOGD_URL": catalog_url})
            finally:
                lhtest.BINARY = saved
            servers.append(old)
            measure(old.port, 5, [])
        measure(queryd.port, 5, [])   # warm-up (the first fetches into the cache)
        times, old_times = [], []
        rounds = 4 if baseline else 1
        for _ in range(rounds):
            data = measure(queryd.port, n // rounds, times)
            if old:
                measure(old.port, n // rounds, old_times)
        rows = json.loads(data)["rows"]
        assert len(rows) == 10 and sum(r[1] for r in rows) == 1000000, rows

        cache_dir = os.path.join(queryd.data_dir, "cache")
        files = [f for f in os.listdir(cache_dir) if f.endswith(".parquet")]
        assert len(files) == 1, files
        exe = os.path.join(ROOT, "build", "query_bench")
        subprocess.check_call(["gcc", "-O2", "-o", exe, os.path.join(ROOT, "bench", "query_bench.c"),
                               "-I" + os.path.join(ROOT, "deps", "duckdb"),
                               "-L" + os.path.join(ROOT, "deps", "duckdb"), "-lduckdb",
                               "-Wl,-rpath," + os.path.join(ROOT, "deps", "duckdb")])
        inproc = json.loads(subprocess.check_output(
            [exe, os.path.join(cache_dir, files[0]), str(n), "2", SQL]))
        inprep = json.loads(subprocess.check_output(
            [exe, os.path.join(cache_dir, files[0]), str(n), "2", SQL, "prepared"]))
        http_p50, http_p99 = pct(times, 50), pct(times, 99)
        print("dataset: 1,000,000 rows, %d bytes of Parquet; catalog: %s" % (len(parquet), catalog_kind))
        print("query:   %s" % SQL)
        print("requests: %d sequential, keep-alive, after 5 warm-up" % n)
        print("HTTP (queryd)      p50 %.2f ms  p99 %.2f ms" % (http_p50, http_p99))
        print("in-process DuckDB  p50 %.2f ms  p99 %.2f ms" % (inproc["p50_ms"], inproc["p99_ms"]))
        print("ratio HTTP/in-process  p50 %.2fx  p99 %.2fx" % (
            http_p50 / inproc["p50_ms"], http_p99 / inproc["p99_ms"]))
        print("in-process prepared once  p50 %.2f ms  p99 %.2f ms  (ratio HTTP/prepared p50 %.2fx,"
              " overhead %+.2f ms)" % (inprep["p50_ms"], inprep["p99_ms"],
                                       http_p50 / inprep["p50_ms"], http_p50 - inprep["p50_ms"]))
        if old:
            o50, o99 = pct(old_times, 50), pct(old_times, 99)
            print("baseline %s" % baseline)
            print("HTTP (baseline)    p50 %.2f ms  p99 %.2f ms" % (o50, o99))
            print("this build - baseline  p50 %+.2f ms  p99 %+.2f ms  (ratio p50 %.2fx)" % (
                http_p50 - o50, http_p99 - o99, http_p50 / o50))
    finally:
        for s in reversed(servers):
            s.cleanup()
        if standin:
            standin.cleanup()


if __name__ == "__main__":
    main()
