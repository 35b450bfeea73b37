#!/usr/bin/env python3
"""catalog_outage.py — queries through a PostgreSQL stop (bench/README.md,
"Catalog outage"; ADR 0205).

    python3 bench/catalog_outage.py [--stop-s 10] [--threads 2] [--json FILE]

Starts PostgreSQL, storaged, catalogd on PostgreSQL, ingestd and two queryd
as separate processes on loopback: queryd A with the default
`[queryd] catalog_stale_seconds` (30) and queryd B with 0 (every outage is a
503 at once: the peer, which answers as queryd did before ADR 0205 but for
the status). Both are warmed with a pinned query (`"candidates@1"`) and a
latest one; then `--threads` clients per queryd loop over the two queries
while PostgreSQL is stopped for `--stop-s` seconds and started again. Prints,
per queryd and kind, the queries sent during the stop, how many failed, how
many were answered from a known state (X-Lakehouse-Catalog-Age), and the
median latency of the answers. Needs `make` first.
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
from lhtest import PG_BIN, PostgresServer, Server, request_json  # noqa: E402

PINNED = 'SELECT candidate_id, full_name FROM "candidates@1" ORDER BY candidate_id'
LATEST = "SELECT count(*) FROM candidates"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stop-s", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the figures as JSON to this file")
    args = ap.parse_args()

    servers = []
    pg = PostgresServer()
    try:
        db = pg.create_database("bench")
        quiet = {"LAKEHOUSE_LOG": "quiet"}
        sto = Server("storaged", env=quiet)
        servers.append(sto)
        cat = Server("catalogd", env=dict(quiet, LAKEHOUSE_CATALOGD_BACKEND="postgres",
                                          LAKEHOUSE_CATALOGD_POSTGRES_DSN=pg.dsn(db)))
        servers.append(cat)
        ing = Server("ingestd", env=dict(quiet, LAKEHOUSE_INGESTD_CATALOGD_URL=cat.url,
                                         LAKEHOUSE_INGESTD_STORAGED_URL=sto.url))
        servers.append(ing)
        qry = {}
        for label, stale in (("A (catalog_stale_seconds 30)", "30"),
                             ("B (catalog_stale_seconds 0)", "0")):
            q = Server("queryd", env=dict(quiet, LAKEHOUSE_QUERYD_CATALOGD_URL=cat.url,
                                          LAKEHOUSE_QUERYD_STORAGED_URL=sto.url,
                                          LAKEHOUSE_QUERYD_CATALOG_STALE_SECONDS=stale))
            servers.append(q)
            qry[label] = q
        for i, mode in enumerate(("replace", "append")):
            body = "candidate_id,full_name\n%d,person %d\n" % (i + 1, i + 1)
            st, _, obj = request_json("POST", ing.url + "/ingest?name=candidates&mode=" + mode,
                                      body, {"Content-Type": "text/csv"})
            assert st == 200, obj
        for q in qry.values():
            for sql in (PINNED, LATEST):
                st, _, obj = request_json("POST", q.url + "/query", {"sql": sql})
                assert st == 200, obj

        window = {}
        stop = threading.Event()
        results = []   # (label, kind, sent, status, stale, ms)
        lock = threading.Lock()

        def client(label, url, n):
            k = n
            while not stop.is_set():
                kind, sql = (("pinned", PINNED), ("latest", LATEST))[k % 2]
                k += 1
                t0 = time.monotonic()
                try:
                    st, hdrs, _ = request_json("POST", url + "/query", {"sql": sql}, timeout=30)
                    stale = "x-lakehouse-catalog-age" in hdrs
                except OSError:
                    st, stale = 0, False
                with lock:
                    results.append((label, kind, t0, st, stale, (time.monotonic() - t0) * 1000))

        threads = [threading.Thread(target=client, args=(label, q.url, n))
                   for label, q in qry.items() for n in range(args.threads)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        window["stop"] = time.monotonic()
        pg._run([os.path.join(PG_BIN, "pg_ctl"), "-D", pg.data, "-m", "fast", "-w", "stop"])
        time.sleep(max(0.0, args.stop_s - (time.monotonic() - window["stop"])))
        pg.start()
        window["start"] = time.monotonic()
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join()

        figures = {}
        print("PostgreSQL stopped for %.1f s; %d client threads per queryd" % (
            window["start"] - window["stop"], args.threads))
        print("%-30s %-7s %8s %7s %7s %10s" % ("queryd", "kind", "sent", "failed", "stale",
                                              "median ms"))
        for label in qry:
            for kind in ("pinned", "latest"):
                rows = [r for r in results if r[0] == label and r[1] == kind
                        and window["stop"] <= r[2] <= window["start"]]
                failed = sum(1 for r in rows if r[3] != 200)
                stale = sum(1 for r in rows if r[4])
                ok_ms = [r[5] for r in rows if r[3] == 200]
                med = statistics.median(ok_ms) if ok_ms else float("nan")
                figures["%s %s" % (label, kind)] = {"sent": len(rows), "failed": failed,
                                                    "stale": stale, "median_ms": med}
                print("%-30s %-7s %8d %7d %7d %10.1f" % (label, kind, len(rows), failed, stale,
                                                        med))
        after = [r for r in results if r[2] > window["start"] + 1.5 and r[3] != 200]
        print("failures later than 1.5 s after the restart: %d" % len(after))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=1)
    finally:
        for s in reversed(servers):
            s.cleanup()
        pg.stop()


if __name__ == "__main__":
    main()
