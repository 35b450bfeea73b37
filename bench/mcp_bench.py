#!/usr/bin/env python3
"""MCP round-trip benchmark (bench/README.md, "MCP").

Starts `lakehouse serve` on a free loopback port with a read and a write
token, ingests a 20,000-row CSV, then measures in alternating rounds, in the
same run, the p50/p99 of one query answered:
  - /v1/query     POST /v1/query (format json) on a kept-alive connection
  - mcp http      tools/call query as a POST /mcp (Streamable HTTP, with its
                  session) on a kept-alive connection
  - mcp stdio     tools/call query as a line to `lakehouse mcp`, answer read
                  back from its stdout
and the ratio of each MCP path to /v1/query (target <= 1.2x, ADR 0162).

    python3 bench/mcp_bench.py [N] [--sql SQL]      (default N = 300)
"""
import http.client
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lhtest  # noqa: E402

READ, WRITE = "bench-read", "bench-write"
SQL = "SELECT state, count(*) AS n, avg(rate) AS rate FROM people GROUP BY state ORDER BY state"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    args = sys.argv[1:]
    sql = SQL
    if "--sql" in args:
        i = args.index("--sql")
        sql = args[i + 1]
        del args[i:i + 2]
    n = int(args[0]) if args else 300

    srv = lhtest.Server("serve", env={"LAKEHOUSE_AUTH_READ_TOKENS": READ,
                                      "LAKEHOUSE_AUTH_WRITE_TOKENS": WRITE,
                                      "LAKEHOUSE_LOG": "quiet"})
    mcp = None
    try:
        rng = random.Random(7)
        states = ["WI", "IL", "MN", "IA", "MI", "OH", "IN", "TX"]
        lines = ["id,name,state,rate"] + ["%d,person %d,%s,%.2f" % (
            i, i, rng.choice(states), 15 + rng.random() * 20) for i in range(20000)]
        st, _, body = lhtest.request("POST", srv.url + "/v1/ingest?name=people",
                                     ("\n".join(lines) + "\n").encode(),
                                     {"Content-Type": "text/csv",
                                      "Authorization": "Bearer " + WRITE})
        assert st == 200, body

        auth = {"Authorization": "Bearer " + READ, "Content-Type": "application/json"}
        v1 = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        v1_body = json.dumps({"sql": sql, "format": "json", "max_rows": 1000})

        def run_v1():
            v1.request("POST", "/v1/query", v1_body, auth)
            r = v1.getresponse()
            data = r.read()
            assert r.status == 200, data

        h = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        h.request("POST", "/mcp", json.dumps({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "bench", "version": "1"}}}), auth)
        r = h.getresponse()
        r.read()
        sid = r.getheader("Mcp-Session-Id")
        mcp_headers = dict(auth, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25",
                                    "Accept": "application/json, text/event-stream"})
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "query", "arguments": {"sql": sql}}}

        def run_http():
            h.request("POST", "/mcp", json.dumps(call), mcp_headers)
            r = h.getresponse()
            data = r.read()
            assert r.status == 200 and b'"isError":false' in data, data[:300]

        mcp = subprocess.Popen([lhtest.BINARY, "mcp"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=dict(os.environ, LAKEHOUSE_URL=srv.url,
                                        LAKEHOUSE_TOKEN=READ))
        mcp.stdin.write((json.dumps({
            "jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}}}) + "\n").encode())
        mcp.stdin.flush()
        mcp.stdout.readline()
        line = (json.dumps(call) + "\n").encode()

        def run_stdio():
            mcp.stdin.write(line)
            mcp.stdin.flush()
            data = mcp.stdout.readline()
            assert b'"isError":false' in data, data[:300]

        paths = [("/v1/query", run_v1), ("mcp http", run_http), ("mcp stdio", run_stdio)]
        times = {name: [] for name, _ in paths}
        for _, fn in paths:          # warm up: caches, workers, connections
            for _ in range(20):
                fn()
        rounds = 10
        for _ in range(rounds):
            for name, fn in paths:
                for _ in range(max(1, n // rounds)):
                    t = time.perf_counter()
                    fn()
                    times[name].append((time.perf_counter() - t) * 1000.0)
        base = pct(times["/v1/query"], 50)
        print("query: %s" % sql)
        print("%d requests per path, %d alternating rounds, one client at a time" % (
            len(times["/v1/query"]), rounds))
        print("%-10s %9s %9s %8s" % ("path", "p50 ms", "p99 ms", "vs v1"))
        for name, _ in paths:
            p50 = pct(times[name], 50)
            print("%-10s %9.3f %9.3f %7.2fx" % (name, p50, pct(times[name], 99), p50 / base))
    finally:
        if mcp:
            mcp.stdin.close()
            mcp.wait(timeout=10)
        srv.cleanup()


if __name__ == "__main__":
    main()
