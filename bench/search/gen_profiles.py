#!/usr/bin/env python3
"""gen_profiles.py — deterministic staffing worker profiles for the search
benchmarks, with graded relevance judgements derived from the generator's
own ground truth (never from a search engine).

    python3 bench/search/gen_profiles.py [--rows 500000] [--seed 13] [--out bench/out/search]

Writes into --out (same bytes for the same --rows and --seed, on any
machine; Python 3 stdlib only):

- profiles.csv: worker_id (1..N), full_name, title, skills (comma-separated),
  certifications (comma-separated, may be empty), city, state,
  years_experience, available (true/false), available_from (date),
  hourly_rate, notes (a free-text sentence from templates, some typos).
  A profile's role family (vocab.FAMILIES) is NOT a column: 8% of profiles
  have a vague title ("Associate") and say what they do only in the notes;
  many others are titled by a synonym ("Lift Truck Operator", "RN").
- truth.bin: one 16-byte record per profile, little-endian, row i = worker
  i + 1: u8 family (index into vocab.FAMILIES), u8 state (index into
  vocab.STATES), u8 city (index into vocab.CITIES), u8 years_experience,
  u8 available (0/1), u8 vague title (0/1), u16 skill mask (bit j = the
  family's skill j), u64 certification mask (bit j = vocab.CERTS[j]).
- judgements.jsonl: one query a line (~200): id, kind (exact_title,
  synonym, paraphrase, misspelling, certification, skill_combo), query,
  where (a SQL filter or null), and the rule that grades every profile:
  family, related families, need_certs, need_skills, filter; plus
  "relevant": how many profiles have each grade. Grades: 3 = the right
  role and everything the query asks for (its certification/skills; a
  plain role query asks for nothing more), 2 = the right role without a
  required certification/skill, 1 = a related role, 0 = the rest. A
  profile outside the `where` filter has grade 0 (search applies the filter
  before ranking). judge.py grades a hit from truth.bin.

Randomness: random.Random(seed).random() only (Mersenne Twister's floats,
stable across Python versions), turned into choices by our own helpers
(random.choice/sample/randrange changed across versions).
Streaming: rows are written as they are made; memory stays flat.
"""
import argparse
import bisect
import csv
import datetime
import hashlib
import json
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vocab  # noqa: E402

TRUTH = struct.Struct("<BBBBBBHQ")
HEADER = ["worker_id", "full_name", "title", "skills", "certifications", "city", "state",
          "years_experience", "available", "available_from", "hourly_rate", "notes"]
START_DATE = datetime.date(2026, 12, 7)
VAGUE_P = 0.08        # a vague title; the notes then always describe the work
PHRASE_P = 0.55       # otherwise, the notes describe the work this often
TYPO_P = 0.07         # a note with one typo

# Relative share of each family among profiles (default 3).
FAMILY_WEIGHT = {"warehouse": 7, "forklift": 5, "production": 6, "cna": 5, "rn": 5, "cdl": 4,
                 "customer_service": 4, "laborer": 4, "home_health": 4, "janitor": 3,
                 "software": 2, "data_analyst": 2, "phlebotomist": 2, "pharmacy_tech": 2,
                 "dental_hygienist": 2, "dental_assistant": 2, "quality": 2, "plumber": 2}
BASE_RATE = {"rn": 42, "software": 55, "data_analyst": 38, "electrician": 32, "hvac": 30,
             "plumber": 31, "dental_hygienist": 40, "machinist": 26, "welder": 25, "cdl": 28,
             "lpn": 28, "it_support": 24, "maintenance": 26}

FILTERS = [  # the `where` of filtered queries, in turn
    {"state": "WI"},
    {"state": "TX", "available": True},
    {"city": "Milwaukee"},
    {"state": "CA", "min_years": 5},
    {"city": "Chicago"},
    {"state": "OH"},
    {"state": "FL", "available": True},
    {"state": "WI", "available": True},
]


def filter_sql(f):
    parts = []
    if "city" in f:
        parts.append("city = '%s'" % f["city"])
    if "state" in f:
        parts.append("state = '%s'" % f["state"])
    if f.get("available"):
        parts.append("available")
    if "min_years" in f:
        parts.append("years_experience >= %d" % f["min_years"])
    return " AND ".join(parts)


def pick(rnd, seq):
    return seq[int(rnd() * len(seq))]


class Weighted:
    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = []
        t = 0
        for w in weights:
            t += w
            self.cum.append(t)
        self.total = t

    def pick(self, rnd):
        return self.items[bisect.bisect_right(self.cum, rnd() * self.total)]


def distinct(rnd, seq, k):
    """k distinct items of seq (partial Fisher-Yates on a copy)."""
    a = list(seq)
    k = min(k, len(a))
    for i in range(k):
        j = i + int(rnd() * (len(a) - i))
        a[i], a[j] = a[j], a[i]
    return a[:k]


def typo(rnd, word):
    """One edit: swap two neighbours, drop or double a letter."""
    i = 1 + int(rnd() * (len(word) - 2))
    kind = int(rnd() * 3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def make_queries():
    """The judged queries: six per family plus hand-written extras."""
    fams = vocab.FAMILIES
    queries = []
    for fi, f in enumerate(fams):
        base = dict(family=f["key"], related=list(f["related"]))
        queries.append(dict(base, kind="exact_title", query=f["title"].lower()))
        queries.append(dict(base, kind="synonym", query=f["synonym"]))
        queries.append(dict(base, kind="paraphrase", query=f["paraphrase"]))
        queries.append(dict(base, kind="misspelling", query=f["misspelling"]))
        certs = [c for c, p in f["certs"] if p <= 0.5] or [c for c, _ in f["certs"]]
        if certs:
            c = certs[fi % len(certs)]
            form = ["{t} with {c}", "{c} certified {t}", "{t} {c}"][fi % 3]
            queries.append(dict(base, kind="certification", need_certs=[c],
                                query=form.format(t=f["title"].lower(), c=c)))
        sk = f["skills"]
        a, b = sk[fi % len(sk)], sk[(fi * 3 + 1) % len(sk)]
        if a == b:
            b = sk[(fi + 1) % len(sk)]
        form = ["{t} {a} {b}", "{t} with {a} and {b} experience", "{a} and {b} {t}"][fi % 3]
        queries.append(dict(base, kind="skill_combo", need_skills=[a, b],
                            query=form.format(t=f["title"].lower(), a=a, b=b)))
        if not certs:  # a second skill combination instead
            a, b = sk[(fi + 2) % len(sk)], sk[(fi + 5) % len(sk)]
            queries.append(dict(base, kind="skill_combo", need_skills=[a, b],
                                query="%s who knows %s and %s" % (f["title"].lower(), a, b)))
    extras = [
        ("certification", "forklift", "forklift operator with OSHA-30 near Milwaukee, available now",
         ["OSHA-30"], [], {"city": "Milwaukee", "available": True}),
        ("certification", "rn", "ICU nurse ACLS", ["ACLS"], [], {"state": "IL"}),
        ("certification", "cdl", "CDL-A driver with hazmat", ["CDL-A", "HazMat endorsement"], [], None),
        ("certification", "welder", "AWS certified structural welder", ["AWS D1.1"], [], None),
        ("skill_combo", "software", "python developer with docker and kubernetes", [],
         ["Python", "Docker", "Kubernetes"], None),
        ("paraphrase", "cna", "help for an elderly person with bathing and getting dressed", [], [],
         {"state": "WI"}),
        ("synonym", "forklift", "hi-lo driver", [], [], None),
        ("paraphrase", "rn", "nurse for the intensive care unit", [], [], {"state": "TX"}),
    ]
    for kind, fam, q, nc, ns, flt in extras:
        f = fams[[x["key"] for x in fams].index(fam)]
        d = dict(family=fam, related=list(f["related"]), kind=kind, query=q,
                 need_certs=nc, need_skills=ns)
        if flt is not None:
            d["filter"] = flt
        queries.append(d)
    # Every other query gets a filter, the filters in turn; the parity flips
    # from family to family so that every kind is asked with and without one.
    nf = 0
    keys = [x["key"] for x in fams]
    for i, q in enumerate(queries):
        q.setdefault("need_certs", [])
        q.setdefault("need_skills", [])
        if "filter" not in q:
            if (i + keys.index(q["family"])) % 2 == 1:
                q["filter"] = FILTERS[nf % len(FILTERS)]
                nf += 1
            else:
                q["filter"] = None
    out = []
    for i, q in enumerate(queries):
        out.append({"id": "q%03d" % (i + 1), "kind": q["kind"], "query": q["query"],
                    "where": filter_sql(q["filter"]) if q["filter"] else None,
                    "family": q["family"], "related": q["related"],
                    "need_certs": q["need_certs"], "need_skills": q["need_skills"],
                    "filter": q["filter"]})
    return out


class Grader:
    """Grades truth records for the queries, grouped by family so a row is
    checked only against the queries it can be relevant to."""

    def __init__(self, queries):
        fams = [f["key"] for f in vocab.FAMILIES]
        self.queries = queries
        self.counts = [[0, 0, 0, 0] for _ in queries]
        self.by_family = [[] for _ in fams]
        cities = [c for c, _, _ in vocab.CITIES]
        for qi, q in enumerate(queries):
            fi = fams.index(q["family"])
            f = vocab.FAMILIES[fi]
            need_sk = 0
            for s in q["need_skills"]:
                need_sk |= 1 << f["skills"].index(s)
            need_c = 0
            for c in q["need_certs"]:
                need_c |= 1 << vocab.CERTS.index(c)
            flt = q["filter"] or {}
            fl = (vocab.STATES.index(flt["state"]) if "state" in flt else -1,
                  cities.index(flt["city"]) if "city" in flt else -1,
                  bool(flt.get("available")), flt.get("min_years", 0))
            self.by_family[fi].append((qi, True, need_sk, need_c, fl))
            for r in q["related"]:
                self.by_family[fams.index(r)].append((qi, False, 0, 0, fl))

    @staticmethod
    def grade(same, need_sk, need_c, fl, state, city, years, avail, skmask, cmask):
        if fl[0] >= 0 and state != fl[0]:
            return 0
        if fl[1] >= 0 and city != fl[1]:
            return 0
        if fl[2] and not avail:
            return 0
        if years < fl[3]:
            return 0
        if not same:
            return 1
        if (skmask & need_sk) == need_sk and (cmask & need_c) == need_c:
            return 3
        return 2

    def add(self, fam, state, city, years, avail, skmask, cmask):
        for qi, same, need_sk, need_c, fl in self.by_family[fam]:
            g = self.grade(same, need_sk, need_c, fl, state, city, years, avail, skmask, cmask)
            if g:
                self.counts[qi][g] += 1


def generate(rows, seed, out_dir, quiet=False):
    os.makedirs(out_dir, exist_ok=True)
    rnd = random.Random(seed).random
    fams = vocab.FAMILIES
    fam_w = Weighted(range(len(fams)), [FAMILY_WEIGHT.get(f["key"], 3) for f in fams])
    title_w = [Weighted([t for t, _ in f["titles"]], [w for _, w in f["titles"]]) for f in fams]
    city_w = Weighted(range(len(vocab.CITIES)), [w for _, _, w in vocab.CITIES])
    city_state = [vocab.STATES.index(s) for _, s, _ in vocab.CITIES]
    cert_bit = {c: 1 << i for i, c in enumerate(vocab.CERTS)}
    skill_bit = [{s: 1 << j for j, s in enumerate(f["skills"])} for f in fams]
    fam_certs = [[(c, p) for c, p in f["certs"]] + [(c, p) for c, p in (("CPR", 0.05),
                 ("First Aid", 0.03)) if c not in dict(f["certs"])] for f in fams]
    dates = [(START_DATE + datetime.timedelta(days=d)).isoformat() for d in range(121)]
    years_txt = ["1 year" if y <= 1 else "%d years" % y for y in range(32)]
    base_rate = [BASE_RATE.get(f["key"], 17) for f in fams]
    queries = make_queries()
    grader = Grader(queries)
    t0 = time.time()
    csv_path = os.path.join(out_dir, "profiles.csv")
    with open(csv_path, "w", newline="", encoding="utf-8", buffering=1 << 20) as fcsv, \
            open(os.path.join(out_dir, "truth.bin"), "wb", buffering=1 << 20) as ftruth:
        w = csv.writer(fcsv, lineterminator="\n")
        w.writerow(HEADER)
        batch, tbatch = [], []
        for i in range(rows):
            fi = fam_w.pick(rnd)
            f = fams[fi]
            vague = rnd() < VAGUE_P
            title = pick(rnd, vocab.VAGUE_TITLES) if vague else title_w[fi].pick(rnd)
            n = 4 + int(rnd() * 3)
            ngen = 1 if rnd() < 0.6 else 2
            skills = distinct(rnd, f["skills"], n - ngen)
            skills += distinct(rnd, [s for s in vocab.GENERAL_SKILLS if s not in skills], ngen)
            sb = skill_bit[fi]
            skmask = 0
            for s in skills:
                skmask |= sb.get(s, 0)
            certs = [c for c, p in fam_certs[fi] if rnd() < p]
            cmask = 0
            for c in certs:
                cmask |= cert_bit[c]
            ci = city_w.pick(rnd)
            city, st = vocab.CITIES[ci][0], city_state[ci]
            years = int(rnd() ** 1.6 * 31)
            avail = rnd() < 0.55
            afrom = dates[int(rnd() * 15)] if avail else dates[15 + int(rnd() * 106)]
            rate = base_rate[fi] + years * 0.35 + rnd() * 4
            if vague or rnd() < PHRASE_P:
                tmpl = pick(rnd, vocab.NOTES_WITH_PHRASE)
            else:
                tmpl = pick(rnd, vocab.NOTES_WITHOUT_PHRASE)
            notes = tmpl.format(
                phrase=pick(rnd, f["phrases"]), years=years_txt[years], employer=pick(rnd, vocab.EMPLOYERS),
                shift=pick(rnd, vocab.SHIFTS), city=city,
                avail=pick(rnd, vocab.AVAIL_NOW if avail else vocab.AVAIL_LATER),
                skill_a=skills[0], skill_b=skills[-1])
            notes = notes[0].upper() + notes[1:]
            if rnd() < TYPO_P:
                words = notes.split(" ")
                k = int(rnd() * len(words))
                if len(words[k]) >= 5 and words[k].isalpha():
                    words[k] = typo(rnd, words[k])
                    notes = " ".join(words)
            name = pick(rnd, vocab.FIRST_NAMES) + " " + pick(rnd, vocab.LAST_NAMES)
            batch.append((i + 1, name, title, ", ".join(skills), ", ".join(certs), city,
                          vocab.STATES[st], years, "true" if avail else "false", afrom,
                          "%.2f" % rate, notes))
            tbatch.append(TRUTH.pack(fi, st, ci, years, avail, vague, skmask, cmask))
            grader.add(fi, st, ci, years, avail, skmask, cmask)
            if len(batch) >= 4096:
                w.writerows(batch)
                ftruth.write(b"".join(tbatch))
                batch, tbatch = [], []
        w.writerows(batch)
        ftruth.write(b"".join(tbatch))
    with open(os.path.join(out_dir, "judgements.jsonl"), "w", encoding="utf-8") as fj:
        for q, c in zip(queries, grader.counts):
            q = dict(q, relevant={"3": c[3], "2": c[2], "1": c[1]})
            fj.write(json.dumps(q, sort_keys=True) + "\n")
    elapsed = time.time() - t0
    digests = {}
    for name in ("profiles.csv", "truth.bin", "judgements.jsonl"):
        h = hashlib.sha256()
        with open(os.path.join(out_dir, name), "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digests[name] = h.hexdigest()
    meta = {"rows": rows, "seed": seed, "queries": len(queries), "seconds": round(elapsed, 2),
            "sha256": digests}
    with open(os.path.join(out_dir, "meta.json"), "w") as fm:
        json.dump(meta, fm, indent=1, sort_keys=True)
    if not quiet:
        print("%d profiles, %d judged queries in %.1f s -> %s" % (rows, len(queries), elapsed, out_dir))
        for k, v in digests.items():
            print("  sha256 %s  %s" % (v, k))
    return meta


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "out", "search"))
    args = ap.parse_args()
    if args.rows < 1:
        ap.error("--rows must be >= 1")
    generate(args.rows, args.seed, args.out)


if __name__ == "__main__":
    main()
