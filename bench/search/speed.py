#!/usr/bin/env python3
"""speed.py — search speed on the generated staffing profiles (issue 13
point 8): index build time and peak memory, search latency over HTTP per
mode with and without `where`, and the served vector search (HNSW) against
DuckDB's in-process exact search over the same embeddings.

    python3 bench/search/speed.py [--rows 500000] [--repeat 1] [--url URL | --data-dir DIR]

1. Data from gen_profiles.py (bench/out/search-<rows>-<seed>/). Without
   --url, `lakehouse serve` (LAKEHOUSE_BIN) starts on a free loopback port
   with a fresh data dir; the CSV is POSTed to /v1/ingest ("profiles").
2. Build: PUT /v1/catalog/index/profiles {"text": ["title", "skills",
   "certifications", "notes"], "id": "worker_id"}, then GET it every 0.2 s
   until the version is `ready`: the wall time from the PUT to `ready`, and
   the build_ms the catalog reports. Meanwhile the RSS of serve and of its
   child processes (queryd's workers) is sampled; the peak of their sum and
   serve's own VmHWM are reported.
3. Latency: every judged query (judgements.jsonl, ~200) in modes text,
   vector and hybrid, k=10, columns ["worker_id"], one keep-alive
   connection, sequential, after 20 warm-up searches per mode; once without
   `where` and once with one (the query's own, or "state = 'WI'" for the
   queries that have none). p50/p99 of the round trip, and the server's
   elapsed_ms p50. Repeated --repeat times (the figures are over all runs).
4. Exact vs ANN: GET the index for its common component and part keys, GET
   the parts from storaged (/v1/storage/get/<key>) and read their vector
   sections (src/search/segment.h). Each judged query text is embedded
   with POST /v1/embed, the component removed (v -= (v.pc) pc, normalised:
   sif.h's sif_remove), and sent as {"vector": [...], "mode": "vector"}
   (k=10). bench/search/exact_knn.c (DuckDB, same process, prepared
   `ORDER BY array_cosine_distance(vec, $1) LIMIT 10` over the same
   vectors, 2 threads and 1 thread) gives the exact answers and their
   latency. recall@10 counts a served hit as right when its cosine distance
   is within 1e-5 of the exact 10th (ties are not misses); the id overlap
   is printed too. Queries with no known word (a zero vector: misspellings
   GloVe lacks) have no neighbours and are left out. Ratio = HTTP vector p50 / DuckDB exact p50.
Prints a table and writes bench/out/search_speed.json. Needs deps/duckdb
(bootstrap) and a C compiler for exact_knn (built into build/bench/ unless
LH_BENCH_BUILD names another build directory).
Targets: build <= 120 s and <= 1 GiB; hybrid k=10 p50 <= 10 ms; ANN
recall@10 >= 0.95; ANN latency <= 0.2x DuckDB's exact.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client  # noqa: E402
import judge  # noqa: E402

ROOT = client.ROOT
BUILD = os.environ.get("LH_BENCH_BUILD", os.path.join(ROOT, "build"))
MODES = ("text", "vector", "hybrid")
DEFAULT_WHERE = "state = 'WI'"
SEG = struct.Struct("<8sII" + "Q" * 10)  # src/search/segment.h's header


# --- memory sampling ---------------------------------------------------------

def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


class Sampler(threading.Thread):
    """Samples RSS(serve) + RSS(its children) every 0.1 s; .peak_kib."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.stop_ = pid, 0, threading.Event()

    def run(self):
        while not self.stop_.is_set():
            total = rss_kib(self.pid) + sum(rss_kib(c) for c in children(self.pid))
            self.peak_kib = max(self.peak_kib, total)
            self.stop_.wait(0.1)

    def stop(self):
        self.stop_.set()
        self.join()


# --- latency -----------------------------------------------------------------

def latency(lh, queries, mode, with_where, repeat):
    times, server = [], []
    unknown = 0
    for q in queries[:20]:  # warm-up
        body = {"query": q["query"], "k": 10, "mode": mode, "columns": ["worker_id"]}
        lh.search(body)
    for _ in range(repeat):
        for q in queries:
            body = {"query": q["query"], "k": 10, "mode": mode, "columns": ["worker_id"]}
            if with_where:
                body["where"] = q["where"] or DEFAULT_WHERE
            st, ans, dt = lh.search(body)
            if (st == 400 and mode == "vector" and isinstance(ans, dict)
                    and ans.get("code") == "bad_query"):
                # no word of the query is known to the embedder: vector
                # mode refuses it (docs/search.md); not a latency sample
                unknown += 1
                continue
            if st != 200:
                raise RuntimeError("%s %s: %d %r" % (q["id"], mode, st, ans))
            times.append(dt * 1000)
            if isinstance(ans, dict) and isinstance(ans.get("elapsed_ms"), (int, float)):
                server.append(float(ans["elapsed_ms"]))
    return {"n": len(times), "p50_ms": client.pct(times, 50), "p99_ms": client.pct(times, 99),
            "server_p50_ms": client.pct(server, 50) if server else None,
            "refused_no_known_word": unknown}


# --- exact vs ANN --------------------------------------------------------------

def fetch_parts(lh, entry, tmp):
    """Download the version's parts; [(path, rows, dim, vec_off, worker_ids)]."""
    parts = []
    for i, p in enumerate(entry.get("parts") or []):
        st, data, _ = lh.conn.call("GET", "/v1/storage/get/" + p["part_key"])
        if st != 200 or not isinstance(data, bytes):
            raise RuntimeError("GET part %s: %d" % (p["part_key"], st))
        magic, rows, dim, _to, _tl, vo, vl, _ao, _al, so, sl, size, _r = SEG.unpack_from(data, 0)
        if magic != b"LHIXPT02" or size != len(data) or vl != rows * dim * 4:
            raise RuntimeError("part %s: not an index part (segment.h) this script reads" %
                               p["part_key"])
        ends = struct.unpack_from("<%dQ" % rows, data, so)
        base = so + 8 * rows
        ids, prev = [], 0
        for e in ends:
            ids.append(json.loads(data[base + prev:base + e])["worker_id"])
            prev = e
        path = os.path.join(tmp, "part%d.bin" % i)
        with open(path, "wb") as f:
            f.write(data)
        parts.append((path, rows, dim, vo, ids))
    if not parts:
        raise RuntimeError("the index status lists no parts: %r" % entry)
    return parts


def remove_component(v, pc):
    if pc:
        d = sum(a * b for a, b in zip(v, pc))
        v = [a - d * b for a, b in zip(v, pc)]
    n = math.sqrt(sum(a * a for a in v))
    return [a / n for a in v] if n > 0 else v


def exact_knn_binary():
    exe = os.path.join(BUILD, "bench", "exact_knn")
    src = os.path.join(HERE, "exact_knn.c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        dd = os.path.join(ROOT, "deps", "duckdb")
        subprocess.run(["cc", "-std=c17", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-o", exe, src, "-I" + dd, "-L" + dd, "-lduckdb", "-Wl,-rpath," + dd],
                       check=True)
    return exe


def exact_vs_ann(lh, entry, status, queries, tmp, threads_list=(2, 1)):
    parts = fetch_parts(lh, entry, tmp)
    dim = parts[0][2]
    # one vector file for DuckDB: the parts' vector sections back to back
    if len(parts) == 1:
        vpath, voff = parts[0][0], parts[0][3]
    else:
        vpath, voff = os.path.join(tmp, "vectors.f32"), 0
        with open(vpath, "wb") as out:
            for path, rows, _, vo, _ in parts:
                with open(path, "rb") as f:
                    f.seek(vo)
                    out.write(f.read(rows * dim * 4))
    worker_ids = [w for p in parts for w in p[4]]
    row_of = {w: i for i, w in enumerate(worker_ids)}
    nrows = len(worker_ids)
    with open(vpath, "rb") as f:
        f.seek(voff)
        allvec = f.read(nrows * dim * 4)

    pc = status.get("component")
    texts = [q["query"] for q in queries]
    raw = []
    for i in range(0, len(texts), 64):
        raw += lh.embed(texts[i:i + 64])
    qvecs = [remove_component(v, pc) for v in raw]
    qpath = os.path.join(tmp, "queries.f32")
    with open(qpath, "wb") as f:
        for v in qvecs:
            f.write(struct.pack("<%df" % dim, *v))

    exe = exact_knn_binary()
    exact = {}
    for th in threads_list:
        out = subprocess.run([exe, vpath, str(voff), str(nrows), str(dim), qpath, str(len(qvecs)),
                              "10", str(th)], check=True, capture_output=True, text=True).stdout
        exact[th] = json.loads(out)

    # the served ANN search, by vector; and by text, to check both agree
    for v in [v for v in qvecs if any(v)][:20]:
        lh.search({"vector": v, "k": 10, "mode": "vector", "columns": ["worker_id"]})
    times, ann_rows, same_as_text = [], [], 0
    for q, v in zip(queries, qvecs):
        if not any(v):  # no known word: vector search refuses it (400), recall skips it
            ann_rows.append([])
            continue
        st, ans, dt = lh.search({"vector": v, "k": 10, "mode": "vector", "columns": ["worker_id"]})
        if st != 200:
            raise RuntimeError("vector search: %d %r" % (st, ans))
        times.append(dt * 1000)
        rows = [row_of[r["row"]["worker_id"]] for r in ans["results"]]
        ann_rows.append(rows)
        st, ans2, _ = lh.search({"query": q["query"], "k": 10, "mode": "vector",
                                 "columns": ["worker_id"]})
        if st == 200 and [row_of[r["row"]["worker_id"]] for r in ans2["results"]] == rows:
            same_as_text += 1

    def dist(row, qv):
        vec = struct.unpack_from("<%df" % dim, allvec, row * dim * 4)
        n = math.sqrt(sum(a * a for a in vec))
        return 1.0 - sum(a * b for a, b in zip(vec, qv)) / n if n > 0 else float("nan")

    ex = exact[threads_list[0]]
    rec_d, rec_id = [], []
    zero = 0
    for qi, rows in enumerate(ann_rows):
        if not any(qvecs[qi]):  # no known word: no nearest neighbours to find
            zero += 1
            continue
        truth_ids, truth_d = ex["ids"][qi], ex["dist"][qi]
        if len(truth_ids) < 10:
            continue
        kth = truth_d[-1]
        if math.isnan(kth):
            continue
        good = sum(1 for r in rows if dist(r, qvecs[qi]) <= kth + 1e-5)
        rec_d.append(min(good, 10) / 10)
        rec_id.append(len(set(rows) & set(truth_ids)) / 10)
    http_p50 = client.pct(times, 50)
    res = {"rows": nrows, "dim": dim, "parts": len(parts), "queries": len(qvecs),
           "recall10": judge.mean(rec_d), "recall10_ids": judge.mean(rec_id),
           "recall_queries": len(rec_d), "zero_vector_queries": zero,
           "http_vector_p50_ms": http_p50, "http_vector_p99_ms": client.pct(times, 99),
           "by_text_equals_by_vector": same_as_text, "duckdb": exact[threads_list[0]]["duckdb"]}
    for th in threads_list:
        e = exact[th]
        res["exact_threads%d_p50_ms" % th] = client.pct(e["times_ms"], 50)
        res["exact_threads%d_p99_ms" % th] = client.pct(e["times_ms"], 99)
        res["exact_threads%d_load_ms" % th] = e["load_ms"]
        res["ratio_threads%d" % th] = http_p50 / client.pct(e["times_ms"], 50)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--repeat", type=int, default=1, help="latency passes over the queries")
    ap.add_argument("--url", help="an existing lakehouse (gateway) instead of starting serve")
    ap.add_argument("--skip-exact", action="store_true")
    ap.add_argument("--data-dir", help="serve's data dir, kept (a second run reuses the ingest "
                    "and the built index)")
    ap.add_argument("--out", default=os.path.join(client.OUT, "search_speed.json"))
    args = ap.parse_args()
    if any(k.startswith("LAKEHOUSE_") and k not in ("LAKEHOUSE_BIN", "LAKEHOUSE_TOKEN")
           for k in os.environ):
        print("settings from the environment: %s" % ", ".join(
            "%s=%s" % (k, v) for k, v in sorted(os.environ.items())
            if k.startswith("LAKEHOUSE_") and k not in ("LAKEHOUSE_BIN", "LAKEHOUSE_TOKEN")))

    d = client.ensure_data(args.rows, args.seed)
    queries = judge.load_judgements(os.path.join(d, "judgements.jsonl"))
    lh = client.Lakehouse(args.url, data_dir=args.data_dir)
    facts = {"rows": args.rows, "seed": args.seed, "git": client.git_head(),
             "date": time.strftime("%Y-%m-%d %H:%M"), "loadavg_start": os.getloadavg()}
    sampler = None
    try:
        version = lh.dataset_version()
        if version is None:
            print("ingesting %d profiles" % args.rows, flush=True)
            obj, dt = lh.ingest(os.path.join(d, "profiles.csv"))
            version = obj["manifest"]["version"]
            facts["ingest_s"] = round(dt, 2)
            print("  %.1f s, version %d" % (dt, version), flush=True)
        if lh.pid:
            facts["serve_vmhwm_after_ingest_mib"] = lh.peak_rss_kib() / 1024
            sampler = Sampler(lh.pid)
            sampler.start()
        try:
            before = lh.version_entry(lh.index_status(), version)
        except RuntimeError:
            before = None
        facts["index_built_before"] = bool(before and before.get("state") == "ready")
        if facts["index_built_before"]:
            print("the index of version %d is built already: build figures are the earlier "
                  "build's build_ms only" % version, flush=True)
        t0 = time.time()
        lh.declare()
        _, entry = lh.wait_ready(version)
        facts["build_wall_s"] = time.time() - t0
        facts["build_ms_reported"] = entry.get("build_ms")
        facts["rows_indexed"] = entry.get("rows_indexed")
        facts["part_bytes"] = [p.get("bytes") for p in entry.get("parts") or []]
        facts["env"] = {k: v for k, v in os.environ.items() if k.startswith("LAKEHOUSE_")
                        and k not in ("LAKEHOUSE_BIN", "LAKEHOUSE_TOKEN")}
        if sampler:
            sampler.stop()
            facts["build_peak_rss_sum_mib"] = sampler.peak_kib / 1024
            facts["serve_vmhwm_after_build_mib"] = lh.peak_rss_kib() / 1024
        print("build: %.1f s from the declaration to ready (catalog build_ms %s); parts of "
              "%s MiB; peak RSS serve+workers %s MiB, serve VmHWM %s MiB" % (
                  facts["build_wall_s"], facts["build_ms_reported"],
                  ", ".join("%.0f" % (b / 2**20) for b in facts["part_bytes"] if b),
                  "%.0f" % facts["build_peak_rss_sum_mib"] if sampler else "-",
                  "%.0f" % facts["serve_vmhwm_after_build_mib"] if sampler else "-"), flush=True)

        lat = {}
        for m in MODES:
            for w in (False, True):
                key = "%s%s" % (m, " + where" if w else "")
                lat[key] = latency(lh, queries, m, w, args.repeat)
                r = lat[key]
                print("%-16s p50 %7.2f ms  p99 %7.2f ms  server p50 %s  (%d searches)" % (
                    key, r["p50_ms"], r["p99_ms"],
                    "%.2f ms" % r["server_p50_ms"] if r["server_p50_ms"] is not None else "-",
                    r["n"]), flush=True)

        exact = None
        if not args.skip_exact:
            tmp = tempfile.mkdtemp(prefix="lh-search-speed-")
            try:
                exact = exact_vs_ann(lh, entry, lh.index_status(), queries, tmp)
            finally:
                for f in os.listdir(tmp):
                    os.unlink(os.path.join(tmp, f))
                os.rmdir(tmp)
            print("ANN vs exact: recall@10 %.4f (id overlap %.4f, %d queries; %d without a known word "
                  "left out); HTTP vector p50 "
                  "%.2f ms vs DuckDB exact p50 %.2f ms (2 threads) / %.2f ms (1 thread): "
                  "ratio %.3fx / %.3fx; by-text == by-vector for %d/%d" % (
                      exact["recall10"], exact["recall10_ids"], exact["recall_queries"],
                      exact["zero_vector_queries"],
                      exact["http_vector_p50_ms"], exact["exact_threads2_p50_ms"],
                      exact["exact_threads1_p50_ms"], exact["ratio_threads2"],
                      exact["ratio_threads1"], exact["by_text_equals_by_vector"],
                      exact["queries"]), flush=True)
        facts["loadavg_end"] = os.getloadavg()

        print()
        print("| measure | value | target |")
        print("| --- | --- | --- |")
        print("| index build, declaration to ready | %.1f s (build_ms %s) | <= 120 s |" % (
            facts["build_wall_s"], facts["build_ms_reported"]))
        if sampler:
            print("| peak RSS during the build, serve + workers | %.0f MiB (serve VmHWM %.0f MiB) "
                  "| <= 1 GiB |" % (facts["build_peak_rss_sum_mib"],
                                    facts["serve_vmhwm_after_build_mib"]))
        for k, r in lat.items():
            print("| %s k=10, p50 / p99 | %.2f / %.2f ms | %s |" % (
                k, r["p50_ms"], r["p99_ms"], "<= 10 ms p50" if k.startswith("hybrid") else ""))
        if exact:
            print("| ANN recall@10 vs exact | %.4f | >= 0.95 |" % exact["recall10"])
            print("| vector p50 over HTTP / DuckDB exact p50 (2 threads) | %.2f / %.2f ms = %.3fx "
                  "| <= 0.2x |" % (exact["http_vector_p50_ms"], exact["exact_threads2_p50_ms"],
                                   exact["ratio_threads2"]))
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"facts": facts, "latency": lat, "exact_vs_ann": exact}, f, indent=1)
        print("\nwrote %s" % args.out)
    finally:
        if sampler and sampler.is_alive():
            sampler.stop()
        lh.close()


if __name__ == "__main__":
    main()
