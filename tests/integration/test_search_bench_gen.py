"""The search benchmark's generator (bench/search/gen_profiles.py) is
deterministic and its judgements agree with its ground truth.

No server: the generator is pure Python. 1,000 profiles take well under a
second; the whole file runs in about one.
"""
import csv
import hashlib
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench", "search"))
import gen_profiles  # noqa: E402
import judge  # noqa: E402
import vocab  # noqa: E402


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TestSearchBenchGenerator(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lh-gen-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def gen(self, name, rows=1000, seed=13):
        d = os.path.join(self.tmp, name)
        gen_profiles.generate(rows, seed, d, quiet=True)
        return d

    def test_two_runs_write_the_same_bytes(self):
        a, b = self.gen("a"), self.gen("b")
        for f in ("profiles.csv", "truth.bin", "judgements.jsonl"):
            self.assertEqual(sha(os.path.join(a, f)), sha(os.path.join(b, f)), f)
        c = self.gen("c", seed=14)
        self.assertNotEqual(sha(os.path.join(a, "profiles.csv")), sha(os.path.join(c, "profiles.csv")))

    def test_profiles_are_well_formed(self):
        d = self.gen("a")
        with open(os.path.join(d, "profiles.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        self.assertEqual(rows[0], gen_profiles.HEADER)
        self.assertEqual(len(rows), 1001)
        self.assertEqual([int(r[0]) for r in rows[1:]], list(range(1, 1001)))
        for r in rows[1:]:
            self.assertEqual(len(r), len(gen_profiles.HEADER))
            self.assertIn(r[8], ("true", "false"))
            self.assertTrue(4 <= len(r[3].split(", ")) <= 6, r[3])
            self.assertTrue(r[11])
        titles = {r[2] for r in rows[1:]}
        # synonyms and vague titles occur, not only the canonical ones
        self.assertIn("Lift Truck Operator", titles)
        self.assertTrue(titles & set(vocab.VAGUE_TITLES))
        self.assertEqual(os.path.getsize(os.path.join(d, "truth.bin")), 1000 * gen_profiles.TRUTH.size)

    def test_judgement_counts_match_the_truth_file(self):
        d = self.gen("a")
        truth = judge.Truth(os.path.join(d, "truth.bin"))
        qs = judge.load_judgements(os.path.join(d, "judgements.jsonl"))
        self.assertGreaterEqual(len(qs), 190)
        kinds = {(q["kind"], q["where"] is not None) for q in qs}
        for k in ("exact_title", "synonym", "paraphrase", "misspelling", "certification", "skill_combo"):
            self.assertIn((k, True), kinds)
            self.assertIn((k, False), kinds)
        for q in qs:
            rule = truth.rule(q)
            counts = {1: 0, 2: 0, 3: 0}
            for wid in range(1, truth.n + 1):
                g = truth.grade(rule, wid)
                if g:
                    counts[g] += 1
            self.assertEqual({str(g): n for g, n in counts.items()}, q["relevant"], q["id"])

    def test_metrics(self):
        q = {"relevant": {"3": 2, "2": 1, "1": 50}}
        self.assertAlmostEqual(judge.ndcg(q, [3, 3, 2] + [1] * 7), 1.0)
        # gains 2^g - 1 discounted by log2(rank + 1), over the ideal 3, 3, 2, 1...
        import math
        disc = [1 / math.log2(i + 2) for i in range(10)]
        best = 7 * disc[0] + 7 * disc[1] + 3 * disc[2] + sum(disc[3:])
        got = sum(disc[:7]) + 7 * disc[7] + 7 * disc[8] + 3 * disc[9]
        self.assertAlmostEqual(judge.ndcg(q, [1] * 7 + [3, 3, 2]), got / best)
        self.assertEqual(judge.ndcg(q, [0] * 10), 0.0)
        self.assertEqual(judge.recall(q, [0, 3, 0, 2, 1]), 2 / 3)
        self.assertIsNone(judge.recall({"relevant": {"3": 0, "2": 0, "1": 4}}, [1]))


if __name__ == "__main__":
    unittest.main()
