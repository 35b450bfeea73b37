#!/usr/bin/python3
"""ann_bench.py — the ANN curve on the 341,479 GloVe word vectors (issue 13
point 8): src/search/ann.h (usearch, through build/bench/ann_bench) against
hnswlib (Debian's python3-hnswlib 0.6) on the same vectors and queries, one
run. bench/README.md "ANN on the GloVe vectors" has the figures.

    make bench-ann                       # builds ann_bench, runs this
    /usr/bin/python3 bench/ann_bench.py [--bin build/bench/ann_bench]
        [--configs 16:100,16:200,32:200,16:200:f16] [--threads 2] [--skip-hnswlib]

Run it with Debian's /usr/bin/python3: python3-hnswlib (apt-get install
python3-hnswlib) and numpy live there. Steps:
  1. `ann_bench prepare`: normalise the vectors, take 1,000 query words
     (seeded) OUT of the indexed set (340,479 remain), exact top-10 by cosine.
  2. per (M, ef_construction[, f16]): `ann_bench run` (usearch; f16: vectors
     stored as f16, no hnswlib peer for it) and a child of this
     script (hnswlib), each in its own process: build on --threads threads,
     build time and peak RSS of the build, then single-thread search of the
     1,000 queries at each ef: recall@10 and queries per second.
  3. QPS at recall 0.90 / 0.95 / 0.99 (interpolated between measured ef
     points, in log QPS), and usearch / hnswlib ratios.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024]
TARGETS = [0.90, 0.95, 0.99]
K = 10


def peak_rss_reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def hnswlib_worker(outdir, m, efc, threads):
    """One hnswlib configuration in this process; prints one JSON line."""
    import numpy as np
    import hnswlib

    nbase, nq, dim = np.fromfile(os.path.join(outdir, "ann_meta.u32"), dtype=np.uint32)
    base = np.fromfile(os.path.join(outdir, "ann_base.f32"), dtype=np.float32).reshape(nbase, dim)
    queries = np.fromfile(os.path.join(outdir, "ann_queries.f32"), dtype=np.float32).reshape(nq, dim)
    truth = np.fromfile(os.path.join(outdir, "ann_truth.u32"), dtype=np.uint32).reshape(nq, K)
    rss_before = status_kib("VmRSS")
    peak_rss_reset()
    t0, c0 = time.monotonic(), time.process_time()
    index = hnswlib.Index(space="ip", dim=int(dim))   # unit vectors: 1 - cosine, as ann.h
    index.init_index(max_elements=int(nbase), ef_construction=efc, M=m, random_seed=100)
    index.add_items(base, np.arange(nbase), num_threads=threads)
    build_s, build_cpu_s = time.monotonic() - t0, time.process_time() - c0
    peak = status_kib("VmHWM")
    curve = []
    for ef in EFS:
        index.set_ef(ef)
        index.knn_query(queries[:100], k=K, num_threads=1)   # warm-up, as ann_bench
        t0, c0 = time.monotonic(), time.thread_time()
        labels, _ = index.knn_query(queries, k=K, num_threads=1)   # runs on this thread
        s, cs = time.monotonic() - t0, time.thread_time() - c0
        hits = sum(len(set(labels[i].tolist()) & set(truth[i].tolist())) for i in range(nq))
        curve.append({"ef": ef, "recall": round(hits / (nq * K), 4), "qps": round(nq / s),
                      "cpu_qps": round(nq / cs)})
    print(json.dumps({"lib": "hnswlib", "M": m, "ef_construction": efc, "threads": threads,
                      "n": int(nbase), "queries": int(nq), "build_s": round(build_s, 2),
                      "build_cpu_s": round(build_cpu_s, 2),
                      "rss_before_mib": round(rss_before / 1024), "build_peak_rss_mib": round(peak / 1024),
                      "curve": curve}))


def qps_at(curve, target, key="qps"):
    """`key` (qps or cpu_qps) where recall reaches `target`, interpolated in
    log QPS between the measured ef points; None if never reached."""
    pts = sorted(curve, key=lambda p: p["ef"])
    if pts and pts[0]["recall"] >= target:
        return pts[0][key]
    for a, b in zip(pts, pts[1:]):
        if a["recall"] < target <= b["recall"]:
            t = (target - a["recall"]) / (b["recall"] - a["recall"])
            return round(math.exp(math.log(a[key]) + t * (math.log(b[key]) - math.log(a[key]))))
    return None


def fmt(v):
    return "-" if v is None else f"{v:,}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/bench/ann_bench"))
    ap.add_argument("--glove", default=os.path.join(ROOT, "deps/glove/glove-6b-100d.lhwv"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/out/ann"))
    ap.add_argument("--configs", default="16:100,16:200,32:200,16:200:f16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--skip-hnswlib", action="store_true")
    ap.add_argument("--hnswlib-worker", nargs=3, type=int, metavar=("M", "EFC", "THREADS"))
    a = ap.parse_args()
    if a.hnswlib_worker:
        return hnswlib_worker(a.out, *a.hnswlib_worker)

    os.makedirs(a.out, exist_ok=True)
    if not os.path.exists(os.path.join(a.out, "ann_truth.u32")):
        subprocess.run([a.bin, "prepare", a.glove, a.out, str(a.queries)], check=True)
    results = []
    for cfg in a.configs.split(","):
        parts = cfg.split(":")
        m, efc = int(parts[0]), int(parts[1])
        f16 = parts[2:] == ["f16"]
        runs = [[a.bin, "run", a.out, str(m), str(efc), str(a.threads)] + (["f16"] if f16 else [])]
        if not a.skip_hnswlib and not f16:
            runs.append([sys.executable, os.path.abspath(__file__), "--out", a.out,
                         "--hnswlib-worker", str(m), str(efc), str(a.threads)])
        for cmd in runs:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            r["at"] = {str(t): qps_at(r["curve"], t) for t in TARGETS}
            r["cpu_at"] = {str(t): qps_at(r["curve"], t, "cpu_qps") for t in TARGETS}
            results.append(r)
            with open(os.path.join(a.out, "results.json"), "w") as f:   # after each run
                json.dump(results, f, indent=1)
            print(f"{r['lib']:11} M={m:<3} efc={efc:<4} build {r['build_s']:7.1f} s "
                  f"({r['build_cpu_s']:.0f} s CPU)  peak RSS {r['build_peak_rss_mib']:5} MiB  "
                  "QPS@0.90/0.95/0.99: " + " / ".join(fmt(r["at"][str(t)]) for t in TARGETS)
                  + "  CPU-time QPS: " + " / ".join(fmt(r["cpu_at"][str(t)]) for t in TARGETS),
                  flush=True)

    print("\nQPS = single-thread queries per second, wall clock (CPU-time QPS in brackets:"
          " the search thread's own CPU seconds, less sensitive to a loaded box)")
    print("\n| library | M | ef_c | build (s) | build CPU (s) | build peak RSS (MiB) | QPS @0.90 | @0.95 | @0.99 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['lib']} | {r['M']} | {r['ef_construction']} | {r['build_s']:.1f} | "
              f"{r['build_cpu_s']:.0f} | {r['build_peak_rss_mib']} | "
              + " | ".join(f"{fmt(r['at'][str(t)])} ({fmt(r['cpu_at'][str(t)])})" for t in TARGETS)
              + " |")
    by = {(r["lib"], r["M"], r["ef_construction"]): r for r in results}
    print("\nusearch / hnswlib (same M, ef_construction):")
    for (lib, m, efc), r in by.items():
        h = by.get(("hnswlib", m, efc))
        if not lib.startswith("usearch") or not h:
            continue
        ratios = []
        for key in ("at", "cpu_at"):
            for t in TARGETS:
                u, v = r[key][str(t)], h[key][str(t)]
                ratios.append("-" if not u or not v else f"{u / v:.2f}x")
        print(f"  {lib} M={m} efc={efc}: build {r['build_cpu_s'] / h['build_cpu_s']:.2f}x the CPU time; "
              f"QPS at 0.90/0.95/0.99: " + " / ".join(ratios[:3])
              + "; CPU-time QPS: " + " / ".join(ratios[3:]))
    print("\ncurves (ef: recall, QPS):")
    for r in results:
        print(f"  {r['lib']} M={r['M']} efc={r['ef_construction']}: "
              + ", ".join(f"{p['ef']}: {p['recall']:.3f} {p['qps']} ({p['cpu_qps']})" for p in r["curve"]))


if __name__ == "__main__":
    main()
