#!/usr/bin/env python3
"""documents_ingest_bench.py — issue 18 point 5: ingest N generated resumes
(PDF and DOCX, 1-3 pages, tests/documents/make_docs.py, cached in
bench/out/documents/) end to end through the CLI, against a peer measured in
the same run. bench/README.md "Issue 18: documents".

  python3 bench/documents_ingest_bench.py [N]        (default 1000; after make)

Measures, on a fresh `lakehouse serve` (loopback, temp data dir):
  - ingest: `lakehouse ingest resumes --documents DIR` wall time -> files/s and
    MB/s of original bytes (upload, extraction in worker processes for PDFs,
    chunking, originals stored, Parquet, register);
  - indexed: from the start of the ingest until every version's text index
    is `ready` -> chunks/s indexed (the index on `text` is declared by the
    first upload itself);
  - peer: the same files' text extracted by Debian's tools, one process per
    file as a script would: `pdftotext FILE -` for PDFs, `pandoc -t plain
    FILE` for DOCX -> files/s and MB/s; and the ratio of the lakehouse's
    whole ingest time to the peer's extraction time.
Prints a Markdown table row per measurement.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from lhtest import BINARY, Server  # noqa: E402

MAKE_DOCS = os.path.join(ROOT, "tests", "documents", "make_docs.py")


def resumes(n):
    """The cached set of n resumes (made once): (dir, [paths])."""
    out = os.path.join(ROOT, "bench", "out", "documents", "resumes-%d" % n)
    stamp = os.path.join(out, ".bench-done")
    if not os.path.exists(stamp):
        shutil.rmtree(out, ignore_errors=True)
        t = time.time()
        subprocess.run([sys.executable, MAKE_DOCS, "--resumes", str(n), out], check=True)
        # the listing is not a resume: keep it beside the folder, not in it
        os.replace(os.path.join(out, "resumes.csv"), out + ".csv")
        open(stamp, "w").close()
        print("made %d resumes in %.1f s" % (n, time.time() - t), file=sys.stderr)
    files = sorted(os.path.join(out, f) for f in os.listdir(out) if not f.startswith("."))
    return out, files


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


def peer(files):
    """Extraction by pdftotext / pandoc, one process per file."""
    t = time.time()
    for f in files:
        argv = ["pdftotext", f, "-"] if f.endswith(".pdf") else ["pandoc", "-t", "plain", f]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.time() - t


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    folder, files = resumes(n)
    nbytes = sum(os.path.getsize(f) for f in files)
    npdf = sum(f.endswith(".pdf") for f in files)
    mb = nbytes / 1e6
    srv = Server("serve", env={"LAKEHOUSE_LOG": "quiet"})
    try:
        env = dict(os.environ, LAKEHOUSE_URL=srv.url)
        t0 = time.time()
        p = subprocess.run([BINARY, "ingest", "resumes", "--documents", folder], env=env,
                           capture_output=True, text=True)
        t_ingest = time.time() - t0
        if p.returncode != 0:
            sys.exit("ingest failed: %s" % p.stderr)
        summary = p.stdout.strip()
        while True:
            ix = get_json(srv.url + "/v1/catalog/index/resumes")
            vs = ix.get("versions", [])
            versions = get_json(srv.url + "/v1/catalog/versions/resumes")
            versions = versions["versions"] if isinstance(versions, dict) else versions
            latest = max(v["version"] for v in versions)
            if any(v["state"] == "failed" for v in vs):
                sys.exit("index build failed: %r" % vs)
            if vs and all(v["state"] == "ready" for v in vs) and \
                    any(v["version"] == latest for v in vs):
                break
            if time.time() - t0 > 3600:
                sys.exit("index never ready: %r" % vs)
            time.sleep(0.1)
        t_indexed = time.time() - t0
        chunks = get_json(srv.url + "/v1/catalog/manifest/resumes")["row_count"]
        build_ms = sum(v.get("build_ms") or 0 for v in vs)
    finally:
        srv.cleanup()
    t_peer = peer(files)
    load = os.getloadavg()[0]
    print(summary)
    print("%d files (%d PDF, %d DOCX), %.1f MB, %d chunks, load average %.1f"
          % (len(files), npdf, len(files) - npdf, mb, chunks, load))
    print("| measure | time | files/s | MB/s | chunks/s |")
    print("| --- | --- | --- | --- | --- |")
    print("| lakehouse ingest (CLI, end to end) | %.1f s | %.1f | %.2f | %.0f |"
          % (t_ingest, len(files) / t_ingest, mb / t_ingest, chunks / t_ingest))
    print("| ... until the text index is ready | %.1f s | %.1f | %.2f | %.0f |"
          % (t_indexed, len(files) / t_indexed, mb / t_indexed, chunks / t_indexed))
    print("| index builds (sum of build_ms) | %.1f s | | | %.0f |"
          % (build_ms / 1000.0, chunks / (build_ms / 1000.0) if build_ms else 0))
    print("| peer: pdftotext + pandoc, extraction only | %.1f s | %.1f | %.2f | |"
          % (t_peer, len(files) / t_peer, mb / t_peer))
    print("| ratio ingest / peer extraction | %.2fx | | | |" % (t_ingest / t_peer))


if __name__ == "__main__":
    main()
