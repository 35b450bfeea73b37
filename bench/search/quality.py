#!/usr/bin/env python3
"""quality.py — search quality on the generated staffing profiles (issue 13
point 9): nDCG@10 and recall@10 of text, vector and hybrid search against
graded judgements derived from the generator's ground truth.

    python3 bench/search/quality.py [--rows 500000] [--url http://127.0.0.1:8080 | --data-dir DIR]
                                    [--no-sweep] [--limit N]

1. The profiles, truth and judgements come from gen_profiles.py (made once
   into bench/out/search-<rows>-<seed>/).
2. Without --url, `lakehouse serve` (LAKEHOUSE_BIN, default build/lakehouse)
   starts on a free loopback port with a fresh data dir; the CSV is POSTed to
   /v1/ingest as "profiles" and the index declared with
   PUT /v1/catalog/index/profiles {"text": ["title", "skills",
   "certifications", "notes"], "id": "worker_id"} (builtin embedder). With
   --url, an existing server is used (the CSV is ingested only if it has no
   "profiles" dataset).
3. Once GET /v1/catalog/index/profiles shows the version `ready`, every
   judged query runs in modes text, vector and hybrid (k=10, the query's
   `where` if any, columns ["worker_id"]); each hit is graded from truth.bin
   (judge.py). Vector and hybrid answers must hold exactly 10 results when
   10 rows pass the filter (text mode returns only rows holding a term). Then, unless --no-sweep, hybrid with `weights` text/vector in
   {0.5, 1, 2, 3} x {0.5, 1, 2, 3} (RRF ranks depend only on the ratio, so
   each distinct ratio is run once and reported for every pair that has it).
4. Prints tables (overall, per query kind, with/without a filter) and writes
   bench/out/search_quality.json. Every answer must be 200.
Target: hybrid >= the better single mode on the whole set (nDCG@10).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import client  # noqa: E402
import judge  # noqa: E402

MODES = ("text", "vector", "hybrid")
WEIGHTS = (0.5, 1, 2, 3)


def run_queries(lh, truth, queries, mode, weights=None, problems=None):
    """Per query: (grades of the top 10, elapsed seconds, answer size)."""
    out = []
    for q in queries:
        body = {"query": q["query"], "k": judge.K, "mode": mode, "columns": ["worker_id"]}
        if q["where"]:
            body["where"] = q["where"]
        if weights:
            body["weights"] = {"text": weights[0], "vector": weights[1]}
        st, ans, dt = lh.search(body)
        if (st == 400 and mode == "vector" and isinstance(ans, dict)
                and ans.get("code") == "bad_query"):
            # no word of the query is known to the embedder: vector mode
            # refuses it in words (docs/search.md); it scores 0 here
            if problems is not None:
                problems.append("%s vector: refused, no word of %r is known to the embedder"
                                % (q["id"], q["query"]))
            out.append({"grades": [], "ms": dt * 1000, "unindexed": None})
            continue
        if st != 200:
            raise RuntimeError("%s %s: %d %r" % (q["id"], mode, st, ans))
        rule = q["_rule"]
        grades = [truth.grade(rule, r["row"]["worker_id"]) for r in ans["results"]]
        # vector and hybrid rank every row the filter lets through: exactly
        # k results whenever k rows match (text mode only returns rows that
        # hold a query term)
        if (problems is not None and mode != "text" and len(ans["results"]) != judge.K and
                truth.matching(q["filter"]) >= judge.K):
            problems.append("%s %s: %d results, k=10 and %d rows match the filter%s" % (
                q["id"], mode, len(ans["results"]), truth.matching(q["filter"]),
                " (no word of %r is known to the embedder: its vector is zero)" % q["query"]
                if q.get("_zero") else ""))
        out.append({"grades": grades, "ms": dt * 1000, "unindexed": ans.get("unindexed_rows")})
    return out


def summarize(queries, runs):
    """{"all": {...}, "kind:<k>": {...}, "filter:yes|no": {...}} of nDCG/recall means."""
    groups = {"all": list(range(len(queries)))}
    for i, q in enumerate(queries):
        groups.setdefault("kind:" + q["kind"], []).append(i)
        groups.setdefault("filter:" + ("yes" if q["where"] else "no"), []).append(i)
    res = {}
    for g, idx in groups.items():
        res[g] = {"n": len(idx),
                  "ndcg10": judge.mean(judge.ndcg(queries[i], runs[i]["grades"]) for i in idx),
                  "recall10": judge.mean(judge.recall(queries[i], runs[i]["grades"]) for i in idx)}
    return res


def table(queries, per_mode):
    groups = ["all"] + sorted(k for k in per_mode[next(iter(per_mode))] if k != "all")
    modes = list(per_mode)
    print("| queries | n | " + " | ".join("%s nDCG@10 | %s R@10" % (m, m) for m in modes) + " |")
    print("| --- | --- |" + " --- | --- |" * len(modes))
    for g in groups:
        n = per_mode[modes[0]][g]["n"]
        print("| %s | %d | " % (g, n) + " | ".join(
            "%.3f | %.3f" % (per_mode[m][g]["ndcg10"], per_mode[m][g]["recall10"]) for m in modes)
            + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--url", help="an existing lakehouse (gateway) instead of starting serve")
    ap.add_argument("--data-dir", help="serve's data dir, kept (a second run reuses the ingest "
                    "and the built index)")
    ap.add_argument("--no-sweep", action="store_true", help="skip the hybrid weight sweep")
    ap.add_argument("--limit", type=int, help="only the first N judged queries")
    ap.add_argument("--out", default=os.path.join(client.OUT, "search_quality.json"))
    args = ap.parse_args()

    lh, d, facts = client.setup(args, args.rows)
    try:
        truth = judge.Truth(os.path.join(d, "truth.bin"))
        queries = judge.load_judgements(os.path.join(d, "judgements.jsonl"))
        if args.limit:
            queries = queries[:args.limit]
        vecs = []
        for i in range(0, len(queries), 64):
            vecs += lh.embed(q["query"] for q in queries[i:i + 64])
        for q, v in zip(queries, vecs):
            q["_rule"] = truth.rule(q)
            q["_zero"] = not any(v)
        problems = []
        runs, per_mode = {}, {}
        for m in MODES:
            t0 = time.time()
            runs[m] = run_queries(lh, truth, queries, m, problems=problems)
            per_mode[m] = summarize(queries, runs[m])
            print("%-6s nDCG@10 %.3f  recall@10 %.3f  (%d queries, %.1f s)" % (
                m, per_mode[m]["all"]["ndcg10"], per_mode[m]["all"]["recall10"], len(queries),
                time.time() - t0), flush=True)
        print()
        table(queries, per_mode)
        best_single = max(per_mode["text"]["all"]["ndcg10"], per_mode["vector"]["all"]["ndcg10"])
        hyb = per_mode["hybrid"]["all"]["ndcg10"]
        print("\nhybrid nDCG@10 %.3f vs the better single mode %.3f: %s" % (
            hyb, best_single, "target met" if hyb >= best_single else "TARGET MISSED"))

        sweep = []
        if not args.no_sweep:
            by_ratio = {}
            for wt in WEIGHTS:
                for wv in WEIGHTS:
                    ratio = round(wt / wv, 6)
                    if ratio not in by_ratio:
                        r = run_queries(lh, truth, queries, "hybrid", weights=(wt, wv))
                        by_ratio[ratio] = summarize(queries, r)
                    s = by_ratio[ratio]
                    sweep.append({"text": wt, "vector": wv, "ndcg10": s["all"]["ndcg10"],
                                  "recall10": s["all"]["recall10"],
                                  "by_group": {k: v["ndcg10"] for k, v in s.items()}})
            print("\nhybrid weight sweep (text, vector): nDCG@10 / recall@10")
            print("| text \\ vector | " + " | ".join(str(w) for w in WEIGHTS) + " |")
            print("| --- |" + " --- |" * len(WEIGHTS))
            for wt in WEIGHTS:
                cells = [s for s in sweep if s["text"] == wt]
                print("| %s | " % wt + " | ".join("%.3f / %.3f" % (s["ndcg10"], s["recall10"])
                                                   for s in cells) + " |")
            best = max(sweep, key=lambda s: (round(s["ndcg10"], 6), -abs(s["text"] - s["vector"])))
            print("best: text %s, vector %s: nDCG@10 %.3f, recall@10 %.3f" % (
                best["text"], best["vector"], best["ndcg10"], best["recall10"]))
        if problems:
            print("\n%d answers with fewer than k results where k rows match:" % len(problems))
            for p in problems[:20]:
                print("  " + p)
        facts["peak_rss_kib"] = lh.peak_rss_kib()
        result = {"facts": facts, "git": client.git_head(), "date": time.strftime("%Y-%m-%d %H:%M"),
                  "modes": per_mode, "sweep": sweep, "problems": problems,
                  "per_query": [{"id": q["id"], "kind": q["kind"], "query": q["query"],
                                 "where": q["where"],
                                 **{m: {"grades": runs[m][i]["grades"],
                                        "ndcg10": judge.ndcg(q, runs[m][i]["grades"])}
                                    for m in MODES}} for i, q in enumerate(queries)]}
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        print("\nwrote %s" % args.out)
    finally:
        lh.close()


if __name__ == "__main__":
    main()
