"""Upgrading a data directory written by the previous release (issue 15
point 5, ADR 0175).

fixtures/datadir-r24/data is what the release before schema evolution
(commit cf28c33) left on disk after ingesting a few datasets (appends, a
replace, a search index declaration whose builds finished) and stopping
cleanly; fixtures/datadir-r24/expected.json is what that release answered
for every dataset and version. make_datadir_fixture.sh made both, with that
release's binary; the test never changes the fixture: it copies it to a
temp dir and starts the current binary on the copy, which must

  - migrate the catalog (SQLite schema version 3 -> this binary's, the
    renames table of ADR 0175 included) and keep every row;
  - answer every manifest as the old release did (fingerprints, objects,
    counts, times) and read every version to the same rows and types;
  - keep the SPEC 5 fingerprints: the fixture's candidates and people
    datasets have the schemas of two of the vectors (the unit tests check
    all four: tests/unit/test_schema.c schema_fingerprint_vectors,
    test_catalog.c catalog_fingerprint_spec_vectors and test_infer.c
    infer_fingerprint_vector_1..4), and a fresh ingest of such a file on
    the upgraded data gets the same fingerprint;
  - take an append with the same schema as a new version on the old
    fingerprint, and answer the old versions unchanged afterwards;
  - answer a real drift (text into an int64 column) with the very 409 body
    the old release gave (expected.json "drift");
  - keep the search index declaration and its ready builds, and rename an
    old dataset with all of that.
"""
import json
import os
import shutil
import sqlite3
import tempfile

from lhtest import ServerTest, request_json

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "datadir-r24")
VECTOR_CANDIDATES = "sha256:d9489da37034d4aaa62209bdc7d8606f39d20ef5b293aa7baf5d979cad4b2931"
VECTOR_ID_NAME = "sha256:293f0ddbb873f5da65f02282c2398ce7597f2bd837fac219f1b1b350bb83dde5"


def user_version(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


class UpgradeTest(ServerTest):
    def setUp(self):
        with open(os.path.join(FIXTURE, "expected.json"), encoding="utf-8") as f:
            self.expected = json.load(f)
        self.tmp = tempfile.mkdtemp(prefix="lh-upgrade-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")
        shutil.copytree(os.path.join(FIXTURE, "data"), self.data)
        self.catalog = os.path.join(self.data, "catalog.db")
        # the fixture is the old release's catalog, untouched
        self.assertEqual(user_version(self.catalog), 3)
        self.srv = self.start("serve", data_dir=self.data)
        self.url = self.srv.url

    def get(self, path):
        st, _, obj = request_json("GET", self.url + path)
        self.assertEqual(st, 200, (path, obj))
        return obj

    def query(self, sql):
        st, _, obj = request_json("POST", self.url + "/v1/query", {"sql": sql, "format": "json"})
        self.assertEqual(st, 200, (sql, obj))
        return {"columns": obj["columns"], "rows": obj["rows"]}

    def assert_manifest_as_before(self, old, new):
        for field, value in old.items():
            self.assertEqual(new.get(field), value, (old["name"], old["version"], field))

    def test_every_version_reads_as_before(self):
        # the catalog was migrated, and the migration kept every row
        self.assertGreaterEqual(user_version(self.catalog), 4)
        db = sqlite3.connect(self.catalog)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            db.close()
        self.assertIn("dataset_renames", tables)
        listed = {d["name"]: d for d in self.get("/v1/catalog/datasets")["datasets"]}
        self.assertEqual(set(listed), set(self.expected["datasets"]))
        for name, ds in self.expected["datasets"].items():
            self.assertEqual(listed[name]["version"], ds["latest"], name)
            versions = self.get("/v1/catalog/versions/%s" % name)["versions"]
            self.assertEqual([v["version"] for v in versions], sorted(int(n) for n in ds["versions"]))
            for n, want in ds["versions"].items():
                m = self.get("/v1/catalog/manifest/%s?version=%s" % (name, n))
                self.assert_manifest_as_before(want["manifest"], m)
                self.assertEqual(self.query('SELECT * FROM "%s@%s"' % (name, n)), want["result"],
                                 (name, n))
            latest = ds["versions"][str(ds["latest"])]
            self.assertEqual(self.query("SELECT * FROM %s" % name), latest["result"], name)

    def test_fingerprints_keep_the_spec_vectors(self):
        fps = {name: ds["versions"]["1"]["manifest"]["schema_fingerprint"]
               for name, ds in self.expected["datasets"].items()}
        self.assertEqual(fps["candidates"], VECTOR_CANDIDATES)
        self.assertEqual(fps["people"], VECTOR_ID_NAME)
        for name, fp in fps.items():
            self.assertEqual(self.get("/v1/catalog/manifest/%s" % name)["schema_fingerprint"], fp)
        # a new dataset of a vector's schema on the upgraded data
        st, _, obj = request_json("POST", self.url + "/v1/ingest?name=fresh", "id,name\n7,Kay\n",
                                  {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["schema_fingerprint"], VECTOR_ID_NAME)

    def test_an_append_with_the_same_schema_works(self):
        old = self.expected["datasets"]["candidates"]
        csv = ("candidate_id,full_name,zip,hourly_rate,available,start_date,last_contacted\n"
               "6,Frances Allen,02139,70.25,true,2024-06-03,2024-06-01 10:00:00\n")
        st, _, obj = request_json("POST", self.url + "/v1/ingest?name=candidates&mode=append",
                                  csv, {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        m = obj["manifest"]
        self.assertEqual(m["version"], old["latest"] + 1)
        self.assertEqual(m["schema_fingerprint"], VECTOR_CANDIDATES)
        self.assertEqual(m["row_count"], old["versions"][str(old["latest"])]["manifest"]["row_count"] + 1)
        # the old objects are still the first ones, the new one appended
        old_keys = [o["key"] for o in old["versions"][str(old["latest"])]["manifest"]["objects"]]
        self.assertEqual([o["key"] for o in m["objects"]][:len(old_keys)], old_keys)
        r = self.query("SELECT full_name FROM candidates WHERE candidate_id = 6")
        self.assertEqual(r["rows"], [["Frances Allen"]])
        for n, want in old["versions"].items():
            self.assertEqual(self.query('SELECT * FROM "candidates@%s"' % n), want["result"], n)
        # and a replace of people with its schema too
        st, _, obj = request_json("POST", self.url + "/v1/ingest?name=people&mode=replace",
                                  "id,name\n9,Zoe\n", {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["version"], 3)
        self.assertEqual(obj["manifest"]["schema_fingerprint"], VECTOR_ID_NAME)

    def test_real_drift_answers_as_before(self):
        # the 409 body stays as it is for real drift (issue 15 point 5)
        drift = self.expected["drift"]
        st, _, obj = request_json("POST", self.url + drift["path"], drift["body"],
                                  {"Content-Type": "text/csv"})
        self.assertEqual(st, drift["status"], obj)
        self.assertEqual(obj, drift["answer"])
        self.assertEqual(self.get("/v1/catalog/manifest/people")["version"],
                         self.expected["datasets"]["people"]["latest"])

    def test_the_search_index_and_a_rename(self):
        before = self.expected["index"]
        ix = self.get("/v1/catalog/index/candidates")
        self.assertEqual(ix["fingerprint"], before["fingerprint"])
        self.assertEqual(ix["declaration"], before["declaration"])
        self.assertEqual([(v["version"], v["state"]) for v in ix["versions"]],
                         [(v["version"], v["state"]) for v in before["versions"]])
        self.assertTrue(all(v["state"] == "ready" for v in ix["versions"]))
        # an old dataset renames with its versions, objects and index
        st, _, obj = request_json("POST", self.url + "/v1/datasets/candidates/rename",
                                  {"to": "talent"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["version"], 2)
        ix2 = self.get("/v1/catalog/index/talent")
        self.assertEqual(ix2["fingerprint"], before["fingerprint"])
        self.assertEqual([v["state"] for v in ix2["versions"]], ["ready", "ready"])
        old = self.expected["datasets"]["candidates"]["versions"]
        for n, want in old.items():
            m = self.get("/v1/catalog/manifest/talent?version=%s" % n)
            self.assertEqual(m["objects"], want["manifest"]["objects"])
            self.assertEqual(self.query('SELECT * FROM "talent@%s"' % n), want["result"])
        st, _, obj = request_json("GET", self.url + "/v1/catalog/manifest/candidates")
        self.assertEqual((st, obj["code"]), (404, "renamed"), obj)
        st, _, obj = request_json("POST", self.url + "/v1/search",
                                  {"dataset": "talent", "query": "Ada Byron", "k": 3,
                                   "mode": "text"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["results"][0]["row"]["candidate_id"], 1, obj)


if __name__ == "__main__":
    import unittest
    unittest.main()
