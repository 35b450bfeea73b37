#!/usr/bin/env python3
"""ndjson_bench.py — `lakehouse ingest NAME file.ndjson` end to end (the CLI
streaming the file to `lakehouse serve`: gateway, ingestd's JSON reader,
DuckDB's Parquet writer, storaged, catalogd) beside DuckDB's own
COPY (FROM read_json('f.ndjson')) TO 'out.parquet' (FORMAT parquet,
COMPRESSION snappy) on the same file, with the same DuckDB library, in the
same run (bench/README.md, "Issue 16: NDJSON ingest"; issue 16 point 6).

    make bench-ndjson [NDJSON_BYTES=1G]
    python3 bench/ndjson_bench.py [--bytes 1G] [--repeat 1]

The file is deterministic: the staffing-like rows of
tests/integration/test_json_ingest_large.py (every JSON kind: ints, a
quoted-escape string, a zip code kept as text, floats, booleans, dates,
timestamps, a nested array, nulls and a \\u escape; its last row, which
brings a new key, left out: drop_last_line), written once to bench/out/staffing-SIZE.ndjson. Runs alternate ours /
DuckDB. Reported per side: wall seconds, CPU seconds (ours: the serve process
+ the CLI; DuckDB: its process), MB/s, peak RSS (ours: VmHWM of the one
serve process, every service and its DuckDB included; DuckDB: the child's
ru_maxrss), and the ratio of wall and CPU medians. Needs LAKEHOUSE_BIN (or
build/lakehouse) and LH_BENCH_BUILD/bench/json_copy_bench (the Makefile
target builds both).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lhtest import BINARY, Server  # noqa: E402
from test_json_ingest_large import parse_size, write_ndjson  # noqa: E402

BUILD = os.environ.get("LH_BENCH_BUILD", os.path.join(ROOT, "build"))


def ensure_ndjson(size):
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    path = os.path.join(HERE, "out", "staffing-%s.ndjson" % size)
    if not os.path.exists(path):
        t0 = time.time()
        write_ndjson(path + ".tmp", parse_size(size))
        drop_last_line(path + ".tmp")
        os.rename(path + ".tmp", path)
        print("generated %s in %.0f s" % (path, time.time() - t0), flush=True)
    return path


def drop_last_line(path):
    """write_ndjson's last row brings a key no earlier row has; DuckDB's
    read_json with its default sample refuses that ("has unknown key"), so
    the benchmark file leaves it out (the lakehouse reads it either way)."""
    with open(path, "rb+") as f:
        f.seek(-4096, os.SEEK_END)
        tail = f.read()
        cut = tail.rstrip(b"\n").rfind(b"\n")
        f.truncate(f.tell() - len(tail) + cut + 1)


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv, env=None):
    """Run argv; (wall s, CPU s, peak RSS MiB, stdout, stderr, exit code)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.time()
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.time() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0,
                out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                p.returncode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", default="1G")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    path = ensure_ndjson(args.bytes)
    size = os.path.getsize(path)
    copy = os.path.join(BUILD, "bench", "json_copy_bench")
    env = {"LAKEHOUSE_LOG": "quiet", "LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "8GiB",
           "LAKEHOUSE_INGESTD_MAX_UPLOAD_BYTES": "8GiB"}
    srv = Server("serve", env=env)
    ours, duck = [], []
    outdir = tempfile.mkdtemp(prefix="lh-ndjson-bench-")
    try:
        cli_env = dict(os.environ, LAKEHOUSE_URL=srv.url)
        cli_env.pop("LAKEHOUSE_TOKEN", None)
        for i in range(args.repeat):
            c0 = proc_cpu_seconds(srv.proc.pid)
            wall, cli_cpu, _, out, err, rc = timed(
                [BINARY, "ingest", "bench_%d" % i, path], env=cli_env)
            cpu = proc_cpu_seconds(srv.proc.pid) - c0 + cli_cpu
            if rc != 0:
                raise SystemExit("lakehouse ingest failed (%d): %s" % (rc, err.strip()))
            ours.append((wall, cpu))
            print("run %d: lakehouse ingest %.2f s wall, CPU %.2f s (CLI %.2f): %s"
                  % (i + 1, wall, cpu, cli_cpu, out.strip()), flush=True)
            target = os.path.join(outdir, "out.parquet")
            dwall, dcpu, drss, out, err, rc = timed([copy, path, target])
            os.unlink(target)
            if rc != 0:
                raise SystemExit("DuckDB COPY failed (%d): %s" % (rc, err.strip()))
            duck.append((dwall, dcpu, drss))
            print("run %d: DuckDB COPY read_json %.2f s wall, CPU %.2f s, peak RSS %.0f MiB (%s)"
                  % (i + 1, dwall, dcpu, drss, out.strip()), flush=True)
        peak = srv.peak_rss_kib() / 1024.0
    finally:
        srv.cleanup()
        os.rmdir(outdir)
    mb = size / 1e6
    ow, oc = statistics.median(w for w, _ in ours), statistics.median(c for _, c in ours)
    dw, dc = statistics.median(d[0] for d in duck), statistics.median(d[1] for d in duck)
    print("file %s: %.1f MB, median of %d" % (os.path.basename(path), mb, args.repeat))
    print("lakehouse ingest (CLI -> serve):     %7.2f s wall  %7.2f s CPU  %6.1f MB/s  "
          "peak RSS %.0f MiB (serve, all services)" % (ow, oc, mb / ow, peak))
    print("DuckDB COPY read_json -> parquet:    %7.2f s wall  %7.2f s CPU  %6.1f MB/s  "
          "peak RSS %.0f MiB" % (dw, dc, mb / dw, max(d[2] for d in duck)))
    print("ratio lakehouse / DuckDB: wall %.2f, CPU %.2f" % (ow / dw, oc / dc))


if __name__ == "__main__":
    main()
