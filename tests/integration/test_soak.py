"""Crash soak in `make test`: 20 cycles of ingest through `lakehouse serve`,
SIGKILL at a random moment, restart, verify (soak_lib.py says what is
checked). The 200-cycle run is bench/soak.py; its figures are in
bench/README.md."""
import os
import unittest

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
        self.assertGreater(summary["acknowledged"], CYCLES)


if __name__ == "__main__":
    unittest.main()
