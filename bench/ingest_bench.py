#!/usr/bin/env python3
"""ingest_bench.py — the whole HTTP ingest of a staffing CSV beside DuckDB's
own COPY (SELECT * FROM read_csv(f)) TO 'x.parquet' (FORMAT parquet,
COMPRESSION snappy) on the same file, in the same run.

    python3 bench/ingest_bench.py [--bytes 1G] [--repeat 3]

Starts storaged, catalogd and ingestd (each its own process, loopback, fresh
temp data dir), POSTs the file to /ingest under a new dataset name per run
(so every run converts), and reports MB/s, ingestd's peak RSS (VmHWM), and
the ratio of median wall times against DuckDB's COPY measured by
build/bench/convert_bench in the same run. Needs `make bench` first.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lhtest import Server, request_json  # noqa: E402

BUILD = os.path.join(ROOT, "build")


def ensure_csv(size):
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    path = os.path.join(HERE, "out", "staffing-%s.csv" % size)
    if not os.path.exists(path):
        subprocess.run([os.path.join(BUILD, "bench", "gen_staffing"), "--bytes", size, path],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def duckdb_copy_seconds(path):
    """Median DuckDB COPY wall seconds from convert_bench (one run each)."""
    out = subprocess.run([os.path.join(BUILD, "bench", "convert_bench"), "--repeat", "1", path],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"duckdb COPY read_csv:\s+([\d.]+) s wall.*peak RSS\s+(\d+) MiB", out)
    ours = re.search(r"ours\s+\(infer\+convert\):\s+([\d.]+) s wall", out)
    return float(m.group(1)), int(m.group(2)), float(ours.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", default="1G")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = ensure_csv(args.bytes)
    size = os.path.getsize(path)
    env = {"LAKEHOUSE_LOG": "quiet", "LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "4GiB"}
    storaged = Server("storaged", env=env)
    catalogd = Server("catalogd", env=env, data_dir=storaged.data_dir)
    ingestd = Server("ingestd", data_dir=storaged.data_dir, env=dict(env, **{
        "LAKEHOUSE_INGESTD_STORAGED_URL": storaged.url,
        "LAKEHOUSE_INGESTD_CATALOGD_URL": catalogd.url,
        "LAKEHOUSE_INGESTD_MAX_UPLOAD_BYTES": "4GiB"}))
    http_times, duck_times, inproc_times, duck_rss = [], [], [], []
    try:
        for i in range(args.repeat):
            t0 = time.time()
            with open(path, "rb") as f:
                st, _, obj = request_json("POST", "%s/ingest?name=bench_%d" % (ingestd.url, i),
                                          body=f, timeout=3600,
                                          headers={"Content-Type": "text/csv",
                                                   "Content-Length": str(size)})
            http_times.append(time.time() - t0)
            if st != 200:
                raise SystemExit("ingest failed: %s %s" % (st, obj))
            rows = obj["row_count"]
            d, rss, ours = duckdb_copy_seconds(path)
            duck_times.append(d)
            duck_rss.append(rss)
            inproc_times.append(ours)
            print("run %d: HTTP ingest %.2f s, DuckDB COPY %.2f s, in-process convert %.2f s"
                  % (i + 1, http_times[-1], d, ours), flush=True)
        peak = ingestd.peak_rss_kib() / 1024.0
    finally:
        for s in (ingestd, catalogd, storaged):
            s.cleanup()
    mb = size / 1e6
    h, d = statistics.median(http_times), statistics.median(duck_times)
    print("file %s: %.1f MB, %d rows, median of %d" % (os.path.basename(path), mb, rows, args.repeat))
    print("HTTP ingest (spool+infer+convert+PUT+register): %.2f s  %.1f MB/s  ingestd peak RSS %.0f MiB"
          % (h, mb / h, peak))
    print("DuckDB COPY read_csv -> parquet:                 %.2f s  %.1f MB/s  peak RSS %d MiB"
          % (d, mb / d, max(duck_rss)))
    print("in-process infer+convert (no HTTP):              %.2f s" % statistics.median(inproc_times))
    print("ratio HTTP ingest / DuckDB COPY (wall): %.2f" % (h / d))


if __name__ == "__main__":
    main()
