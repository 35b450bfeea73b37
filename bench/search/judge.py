"""judge.py — grading search hits against the generator's ground truth, and
the quality metrics (bench/search/README in bench/README.md, "Search").

- Truth: truth.bin from gen_profiles.py (one 16-byte record per worker,
  worker_id = record index + 1).
- A hit's grade (0-3) comes from the query's rule in judgements.jsonl and the
  worker's truth record (gen_profiles.Grader.grade: the same function that
  counted the relevant profiles while generating them).
- nDCG@10: gain 2^grade - 1, discount 1/log2(rank + 1), normalised by the
  ideal ranking built from the query's relevant counts (all grade-3 profiles
  first, then grade 2, then 1). A query with nothing relevant is skipped.
- recall@10: hits with grade >= 2 (the right role) in the top 10, divided by
  min(10, number of grade >= 2 profiles). Plain recall (divided by every
  relevant profile) would be ~0 here: thousands of profiles are relevant.
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vocab  # noqa: E402
from gen_profiles import TRUTH, Grader  # noqa: E402

K = 10


class Truth:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        self.n = len(self.data) // TRUTH.size
        self.fams = [f["key"] for f in vocab.FAMILIES]
        self.cities = [c for c, _, _ in vocab.CITIES]

    def record(self, worker_id):
        i = int(worker_id) - 1
        if not 0 <= i < self.n:
            raise ValueError("worker_id %r outside the truth file" % worker_id)
        return TRUTH.unpack_from(self.data, i * TRUTH.size)

    def rule(self, q):
        """The query's grading rule, compiled once per query."""
        fi = self.fams.index(q["family"])
        f = vocab.FAMILIES[fi]
        need_sk = 0
        for s in q["need_skills"]:
            need_sk |= 1 << f["skills"].index(s)
        need_c = 0
        for c in q["need_certs"]:
            need_c |= 1 << vocab.CERTS.index(c)
        flt = q["filter"] or {}
        fl = (vocab.STATES.index(flt["state"]) if "state" in flt else -1,
              self.cities.index(flt["city"]) if "city" in flt else -1,
              bool(flt.get("available")), flt.get("min_years", 0))
        related = {self.fams.index(r) for r in q["related"]}
        return fi, related, need_sk, need_c, fl

    def matching(self, flt):
        """How many profiles pass the filter (a judgement's "filter")."""
        flt = flt or {}
        key = json.dumps(flt, sort_keys=True)
        cache = self.__dict__.setdefault("_matching", {})
        if key not in cache:
            st = vocab.STATES.index(flt["state"]) if "state" in flt else -1
            city = self.cities.index(flt["city"]) if "city" in flt else -1
            n = 0
            for _f, s, c, years, avail, _v, _sk, _cm in TRUTH.iter_unpack(self.data):
                if ((st < 0 or s == st) and (city < 0 or c == city) and
                        (avail or not flt.get("available")) and years >= flt.get("min_years", 0)):
                    n += 1
            cache[key] = n
        return cache[key]

    def grade(self, rule, worker_id):
        fi, related, need_sk, need_c, fl = rule
        fam, st, city, years, avail, _vague, skmask, cmask = self.record(worker_id)
        if fam != fi and fam not in related:
            return 0
        return Grader.grade(fam == fi, need_sk, need_c, fl, st, city, years, avail, skmask, cmask)


def load_judgements(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def dcg(grades):
    return sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(grades[:K]))


def ideal(q):
    r = q["relevant"]
    grades = []
    for g in (3, 2, 1):
        grades += [g] * min(K - len(grades), int(r[str(g)]))
    return grades


def ndcg(q, grades):
    best = dcg(ideal(q))
    return dcg(grades) / best if best > 0 else None


def recall(q, grades):
    r = q["relevant"]
    n = min(K, int(r["3"]) + int(r["2"]))
    if n == 0:
        return None
    return sum(1 for g in grades[:K] if g >= 2) / n


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else float("nan")
