#!/usr/bin/env python3
"""ann_curve.py — HNSW recall@10 against ef on the profiles' own sentence
embeddings (what the served vector search ranks), to choose the served ef:
speed.py measures recall at the served setting only.

    python3 bench/search/ann_curve.py --data-dir D [--queries 1000] [--M 16] [--efc 128]

D is a serve data dir where speed.py (or quality.py) built the 500,000-row
index. Steps:
1. serve (LAKEHOUSE_BIN) starts on D; the version's parts and the index's
   common component come from GET /v1/catalog/index/profiles and
   /v1/storage/get (as speed.py does).
2. Queries: the judged queries plus generated ones (seeded: a family's
   title or synonym, sometimes with one of its skills, certifications or a
   city), embedded with POST /v1/embed, the component removed; queries with
   no known word are dropped.
3. Exact top-10 per query from exact_knn (DuckDB, array_cosine_distance).
4. build/bench/ann_bench (ann.h over usearch; `make bench-ann`) builds an
   HNSW graph over the same vectors with M and ef_construction (the served
   defaults: 16 and 128, src/search/ann.h) and reports recall@10 and
   single-thread queries per second at ef 10..1024. Its graph is built
   anew (a threaded build is not bit-identical to the served one), so its
   recall at ef 64 is comparable to, not equal to, speed.py's.
Writes bench/out/search_ann_curve.json.
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client  # noqa: E402
import judge  # noqa: E402
import speed  # noqa: E402
import vocab  # noqa: E402


def generated_queries(n, seed=13):
    rnd = random.Random(seed).random
    out = []
    for _ in range(n):
        f = vocab.FAMILIES[int(rnd() * len(vocab.FAMILIES))]
        r = rnd()
        role = (f["title"] if r < 0.4 else f["synonym"] if r < 0.55
                else f["titles"][int(rnd() * len(f["titles"]))][0])
        extra = rnd()
        if extra < 0.3:
            role += " " + f["skills"][int(rnd() * len(f["skills"]))]
        elif extra < 0.5 and f["certs"]:
            role += " " + f["certs"][int(rnd() * len(f["certs"]))][0]
        elif extra < 0.65:
            role += " near " + vocab.CITIES[int(rnd() * len(vocab.CITIES))][0]
        out.append(role.lower() if rnd() < 0.7 else role)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--rows", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--queries", type=int, default=1000, help="generated queries (beside the judged)")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--efc", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2, help="build threads")
    ap.add_argument("--out", default=os.path.join(client.OUT, "search_ann_curve.json"))
    args = ap.parse_args()
    ann_bench = os.path.join(speed.BUILD, "bench", "ann_bench")
    if not os.path.exists(ann_bench):
        sys.exit("%s is missing: run `make bench-ann` (or make BUILD=... <build>/bench/ann_bench)"
                 % ann_bench)

    d = client.ensure_data(args.rows, args.seed)
    judged = [q["query"] for q in judge.load_judgements(os.path.join(d, "judgements.jsonl"))]
    texts = judged + generated_queries(args.queries, args.seed)
    lh = client.Lakehouse(data_dir=args.data_dir)
    tmp = tempfile.mkdtemp(prefix="lh-ann-curve-")
    try:
        version = lh.dataset_version()
        status = lh.index_status()
        entry = lh.version_entry(status, version)
        if not entry or entry.get("state") != "ready":
            sys.exit("the index of profiles@%s is not built in %s: %r" % (version, args.data_dir, entry))
        parts = speed.fetch_parts(lh, entry, tmp)
        if len(parts) != 1:
            sys.exit("one part expected, found %d" % len(parts))
        path, rows, dim, voff, _ids = parts[0]
        raw = []
        for i in range(0, len(texts), 64):
            raw += lh.embed(texts[i:i + 64])
        qv = [speed.remove_component(v, status.get("component")) for v in raw]
        keep = [i for i, v in enumerate(qv) if any(v)]
        qv = [qv[i] for i in keep]
        print("%d queries (%d judged, %d generated), %d without a known word dropped; %d rows" % (
            len(qv), len(judged), args.queries, len(texts) - len(qv), rows), flush=True)
        qpath = os.path.join(tmp, "ann_queries.f32")
        with open(qpath, "wb") as f:
            for v in qv:
                f.write(struct.pack("<%df" % dim, *v))
        out = subprocess.run([speed.exact_knn_binary(), path, str(voff), str(rows), str(dim), qpath,
                              str(len(qv)), "10", "2"], check=True, capture_output=True,
                             text=True).stdout
        exact = json.loads(out)
        with open(os.path.join(tmp, "ann_truth.u32"), "wb") as f:
            for ids in exact["ids"]:
                f.write(struct.pack("<10I", *ids))
        with open(os.path.join(tmp, "ann_meta.u32"), "wb") as f:
            f.write(struct.pack("<3I", rows, len(qv), dim))
        with open(path, "rb") as src, open(os.path.join(tmp, "ann_base.f32"), "wb") as dst:
            src.seek(voff)
            dst.write(src.read(rows * dim * 4))
        os.unlink(path)
        lh.close()
        lh = None
        print("building M=%d ef_construction=%d on %d threads (ann_bench)" % (
            args.M, args.efc, args.threads), flush=True)
        res = json.loads(subprocess.run([ann_bench, "run", tmp, str(args.M), str(args.efc),
                                         str(args.threads)], check=True, capture_output=True,
                                        text=True).stdout)
        res["exact_p50_ms"] = client.pct(exact["times_ms"], 50)
        print("build %.1f s (%.1f CPU s), %d MiB graph, build peak RSS %d MiB" % (
            res["build_s"], res["build_cpu_s"], res["bytes"] / 2**20, res["build_peak_rss_mib"]))
        print("| ef | recall@10 | QPS (1 thread) | CPU QPS |")
        print("| --- | --- | --- | --- |")
        for p in res["curve"]:
            print("| %d | %.4f | %d | %d |" % (p["ef"], p["recall"], p["qps"], p["cpu_qps"]))
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"git": client.git_head(), "queries": len(qv), "rows": rows, **res}, f, indent=1)
        print("wrote %s" % args.out)
    finally:
        if lh is not None:
            lh.close()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
