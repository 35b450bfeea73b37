#!/usr/bin/env python3
"""ingest_bench.py — the whole HTTP ingest of a staffing CSV beside DuckDB's
own COPY (SELECT * FROM read_csv(f)) TO 'x.parquet' (FORMAT parquet,
COMPRESSION snappy) on the same file, in the same run.

    python3 bench/ingest_bench.py [--bytes 1G] [--repeat 3]

Starts storaged, catalogd and ingestd (each its own process, loopback, fresh
temp data dir), POSTs the file to /ingest under a new dataset name per run
(so every run converts), and reports MB/s, ingestd's peak RSS (VmHWM), the
ratio of median wall times against DuckDB's COPY measured by
build/bench/convert_bench in the same run, and the CPU seconds each side
spends (ours: ingestd + storaged + catalogd + this client; DuckDB: its
process). On a 2-core machine CPU seconds / 2 is a floor for wall time.

--floor adds, once, the CPU floor of ANY design that must receive the CSV
over HTTP, hash and spool it, scan it once, and write Parquet through
DuckDB: DuckDB's encode-only COPY from an in-memory table
(convert_bench --encode-only) + one scan of the file by our inference +
a bare PUT of the CSV to storaged (receive, SHA-256, write; its CPU and
the client's) — against DuckDB's whole COPY in the same run.
Needs `make bench` first.
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lhtest import Server, request_json  # noqa: E402

# The benchmark helpers (gen_staffing, convert_bench); LH_BENCH_BUILD picks
# another build directory (an A/B run of two builds), LAKEHOUSE_BIN the binary.
BUILD = os.environ.get("LH_BENCH_BUILD", os.path.join(ROOT, "build"))


def ensure_csv(size):
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    path = os.path.join(HERE, "out", "staffing-%s.csv" % size)
    if not os.path.exists(path):
        subprocess.run([os.path.join(BUILD, "bench", "gen_staffing"), "--bytes", size, path],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def duckdb_copy_seconds(path):
    """DuckDB COPY wall seconds, peak RSS, CPU seconds, and our in-process
    infer+convert wall seconds, from convert_bench (one run each)."""
    out = subprocess.run([os.path.join(BUILD, "bench", "convert_bench"), "--repeat", "1", path],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"duckdb COPY read_csv:\s+([\d.]+) s wall.*cpu\s+([\d.]+) s\s+peak RSS\s+(\d+) MiB",
                  out)
    ours = re.search(r"ours\s+\(infer\+convert\):\s+([\d.]+) s wall", out)
    return float(m.group(1)), int(m.group(3)), float(ours.group(1)), float(m.group(2))


def cpu_floor(path, size, storaged):
    """The --floor measurement (see the module docstring); prints it."""
    out = subprocess.run([os.path.join(BUILD, "bench", "convert_bench"), "--repeat", "1",
                          "--encode-only", path], check=True, capture_output=True, text=True)
    enc = float(re.search(r"encode only\):\s+[\d.]+ s wall\s+cpu\s+([\d.]+) s",
                          out.stdout).group(1))
    duck = float(re.search(r"duckdb COPY read_csv:.*cpu\s+([\d.]+) s", out.stdout).group(1))
    scan = float(re.search(r"ours: infer ([\d.]+) s", out.stderr).group(1))
    c0 = process_cpu_seconds(storaged) + self_cpu_seconds()
    with open(path, "rb") as f:
        st, _, _ = request_json("PUT", storaged.url + "/storage/put/bench/floor.csv", body=f,
                                timeout=3600, headers={"Content-Length": str(size)})
    upload = process_cpu_seconds(storaged) + self_cpu_seconds() - c0
    if st != 200:
        raise SystemExit("bare PUT failed: %s" % st)
    floor = enc + scan + upload
    print("CPU floor of an HTTP ingest through DuckDB: %.2f s = encode only %.2f + one scan %.2f"
          " + receive/hash/store %.2f; DuckDB COPY CPU %.2f s; floor / DuckDB %.2f"
          % (floor, enc, scan, upload, duck, floor / duck), flush=True)


def process_cpu_seconds(server):
    """utime + stime of a running server process, in seconds."""
    with open("/proc/%d/stat" % server.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", default="1G")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--floor", action="store_true", help="also measure the CPU floor (once)")
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
    our_cpu, duck_cpu = [], []
    servers = (ingestd, storaged, catalogd)
    try:
        for i in range(args.repeat):
            c0 = [process_cpu_seconds(s) for s in servers] + [self_cpu_seconds()]
            t0 = time.time()
            with open(path, "rb") as f:
                st, _, obj = request_json("POST", "%s/ingest?name=bench_%d" % (ingestd.url, i),
                                          body=f, timeout=3600,
                                          headers={"Content-Type": "text/csv",
                                                   "Content-Length": str(size)})
            http_times.append(time.time() - t0)
            c1 = [process_cpu_seconds(s) for s in servers] + [self_cpu_seconds()]
            our_cpu.append([b - a for a, b in zip(c0, c1)])
            if st != 200:
                raise SystemExit("ingest failed: %s %s" % (st, obj))
            rows = obj["row_count"]
            d, rss, ours, dcpu = duckdb_copy_seconds(path)
            duck_times.append(d)
            duck_cpu.append(dcpu)
            duck_rss.append(rss)
            inproc_times.append(ours)
            print("run %d: HTTP ingest %.2f s (CPU %.2f s: ingestd %.2f, storaged %.2f, "
                  "catalogd %.2f, client %.2f), DuckDB COPY %.2f s (CPU %.2f s), "
                  "in-process convert %.2f s"
                  % ((i + 1, http_times[-1], sum(our_cpu[-1])) + tuple(our_cpu[-1]) +
                     (d, dcpu, ours)), flush=True)
        peak = ingestd.peak_rss_kib() / 1024.0
        if args.floor:
            cpu_floor(path, size, storaged)
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
    oc, dc = statistics.median(sum(c) for c in our_cpu), statistics.median(duck_cpu)
    print("CPU seconds, median: HTTP ingest (all processes) %.2f, DuckDB COPY %.2f, ratio %.2f"
          % (oc, dc, oc / dc))
    print("ratio HTTP ingest / DuckDB COPY (wall): %.2f" % (h / d))


if __name__ == "__main__":
    main()
