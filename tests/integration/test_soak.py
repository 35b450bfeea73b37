"""Crash soak in `make test`: 20 cycles of ingest through `lakehouse serve`,
SIGKILL at a random moment, restart, verify (soak_lib.py says what is
checked). The 200-cycle run is bench/soak.py; its figures are in
bench/README.md."""
import os
import shutil
import subprocess
import tempfile
import unittest

from lhtest import Server
from soak_lib import Soak

CYCLES = int(os.environ.get("LAKEHOUSE_SOAK_CYCLES", "20"))


class TestSoak(unittest.TestCase):
    def test_sigkill_soak(self):
        lines = []
        soak = Soak(CYCLES, seed=20261121, full_every=5, log=lines.append)
        summary = soak.run()
        print("\n" + lines[-1 - min(len(soak.failures), 50)])
        self.assertEqual(soak.failures, [], "\n".join(lines))
        self.assertEqual(summary["verified"], summary["acknowledged"])
        # the kills did land mid-stream, with acknowledged ingests to check
        self.assertGreaterEqual(summary["acknowledged"], CYCLES)


    def test_restart_sweeps_parquet_temp_files_of_dead_processes(self):
        """Regression (found by the soak): a kill mid-conversion left
        <digest>.<pid>.<thread>.parquet in the spool forever."""
        data = tempfile.mkdtemp(prefix="lh-sweep-")
        self.addCleanup(shutil.rmtree, data, True)
        spool = os.path.join(data, "spool")
        os.makedirs(spool)
        dead = subprocess.Popen(["true"])
        dead.wait()
        digest = "ab" * 32
        stale = os.path.join(spool, "%s.%d.7f00deadbeef.parquet" % (digest, dead.pid))
        live = os.path.join(spool, "%s.%d.7f00deadbeef.parquet" % (digest, os.getpid()))
        other = os.path.join(spool, "notes.%d.txt" % dead.pid)
        for p in (stale, live, other):
            with open(p, "wb") as f:
                f.write(b"PAR1")
        srv = Server("serve", data_dir=data, env={"LAKEHOUSE_LOG": "quiet"})
        self.addCleanup(srv.cleanup)
        self.assertFalse(os.path.exists(stale), "a dead process's temp file is removed")
        self.assertTrue(os.path.exists(live), "a live process's temp file is kept")
        self.assertTrue(os.path.exists(other), "other names are not touched")


if __name__ == "__main__":
    unittest.main()
