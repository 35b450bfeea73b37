#!/usr/bin/env python3
"""soak.py — crash soak of `lakehouse serve` under SIGKILL (bench/README.md,
"Crash soak").

    python3 bench/soak.py --cycles 200 [--seed N] [--threads 3] [--keep]

Each cycle starts `build/lakehouse serve` on a free loopback port over one
persistent data directory, ingests small distinct CSVs from several client
threads (several datasets, replace and append), SIGKILLs serve after a random
20-400 ms, checks catalog.db with PRAGMA integrity_check, restarts serve and
verifies every acknowledged ingest, every referenced object and version
density (tests/integration/soak_lib.py says exactly what). One line per
cycle, a summary last; exits 1 on any failure. Needs `make` first.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
from soak_lib import Soak  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=3)
    ap.add_argument("--min-delay-ms", type=float, default=20)
    ap.add_argument("--max-delay-ms", type=float, default=400)
    ap.add_argument("--full-every", type=int, default=10,
                    help="re-read every manifest every N cycles (new ones always)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument("--json", help="also write the summary as JSON to this file")
    args = ap.parse_args()
    soak = Soak(args.cycles, seed=args.seed, threads=args.threads,
                min_delay=args.min_delay_ms / 1000.0, max_delay=args.max_delay_ms / 1000.0,
                full_every=args.full_every, keep_dir=args.keep,
                log=lambda line: print(line, flush=True))
    summary = soak.run()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
