"""Iceberg metadata build cost (ADR 0230): N one-object appends through
`lakehouse serve`, then queryd's GET /iceberg/tables/<name>?base= builds and
stores the metadata of every version (first request), then answers from the
store (second). Prints the times, the metadata JSON's size and the process
RSS. Usage: python3 bench/iceberg_build.py 200 (after `make`)."""
import json
import os
import sys
import time
import urllib.parse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from lhtest import Server, free_port, request_json, request
N = int(sys.argv[1])
q = free_port()
srv = Server("serve", env={"LAKEHOUSE_QUERYD_BIND": "127.0.0.1:%d" % q})
try:
    t0 = time.time()
    for i in range(N):
        body = ("id,name,score\n%d,n%d,%d.5\n%d,m%d,1.0\n" % (i, i, i, i + 100000, i)).encode()
        st, _, o = request_json("POST", srv.url + "/v1/ingest?name=big&mode=%s" % ("replace" if i == 0 else "append"),
                                body=body, headers={"Content-Type": "text/csv"})
        assert st == 200, o
    t1 = time.time()
    def rss():
        with open("/proc/%d/status" % srv.proc.pid) as f:
            for l in f:
                if l.startswith("VmRSS"): return int(l.split()[1])
    r0 = rss()
    base = urllib.parse.quote("http://files.test/t", safe="")
    st, _, o = request_json("GET", "http://127.0.0.1:%d/iceberg/tables/big?base=%s" % (q, base), timeout=600)
    t2 = time.time()
    assert st == 200, o
    st, _, o2 = request_json("GET", "http://127.0.0.1:%d/iceberg/tables/big?base=%s" % (q, base))
    t3 = time.time()
    print("versions %d: ingest %.1fs; first build %.2fs (%.1f ms/version); stored answer %.1f ms; metadata JSON %d bytes; serve RSS %d -> %d KiB (peak %d KiB)" % (
        N, t1 - t0, t2 - t1, (t2 - t1) * 1000 / N, (t3 - t2) * 1000, len(json.dumps(o["metadata"])), r0, rss(), srv.peak_rss_kib()))
finally:
    srv.cleanup()
