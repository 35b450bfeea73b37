#!/usr/bin/env python3
"""pg_unit.py — run the catalog store unit tests (tests/unit/test_catalog_store.c)
against a real PostgreSQL: start a throwaway cluster (lhtest.PostgresServer),
run `<unit-tests binary> catalog_store` for each binary named on the command
line with LAKEHOUSE_TEST_CATALOG_BACKEND=postgres and a fresh database's DSN in
LAKEHOUSE_TEST_CATALOG_LOCATION, stop the cluster. `make unit-pg` runs it on
the release and the ASan/UBSan builds. Last line: "N passed, N failed".

    python3 tests/pg_unit.py build/release/unit-tests [build/asan/unit-tests ...]
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))
from lhtest import PostgresServer  # noqa: E402


def main():
    binaries = sys.argv[1:]
    if not binaries:
        print(__doc__.strip())
        return 2
    passed = failed = 0
    pg = PostgresServer()
    try:
        for binary in binaries:
            env = dict(os.environ)
            env["LAKEHOUSE_TEST_CATALOG_BACKEND"] = "postgres"
            env["LAKEHOUSE_TEST_CATALOG_LOCATION"] = pg.dsn(pg.create_database("unit"))
            env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
            print("== %s catalog_store (postgres)" % binary, flush=True)
            r = subprocess.run([binary, "catalog_store"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=600)
            out = r.stdout.decode("utf-8", "replace")
            sys.stdout.write(out)
            m = re.search(r"(\d+) passed, (\d+) failed\s*$", out)
            if r.returncode != 0 or not m or int(m.group(2)):
                print("-- last lines of the PostgreSQL log:\n%s" %
                      "\n".join(pg.read_log().splitlines()[-30:]))
            if r.returncode != 0 or not m:
                failed += int(m.group(2)) if m and int(m.group(2)) else 1
                passed += int(m.group(1)) if m else 0
            else:
                passed += int(m.group(1))
                failed += int(m.group(2))
    finally:
        pg.stop()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
