"""Dataset names are unique regardless of letter case (ADR 0112).

Issue 22 point 4: after `POST /v1/ingest?name=SALARIES`, `SELECT * FROM
salaries`, "salaries@1", the UI preview and the download all returned the
newcomer's rows. Now a new name equal to an existing one but for case is 409
name_conflict (ingest and register), and nothing is written. A data directory
made before that rule may hold such a pair: both stay readable by their exact
names, a reference in any other case is 409, and catalogd warns at start.
The pair is made by editing the catalog's SQLite file while the server is
stopped (undoing schema migration 2), as an older lakehouse could have left it.
"""
import json
import os
import sqlite3
import urllib.parse

from lhtest import ServerTest, request, request_json

VICTIM = b"id,owner\n1,victim_row\n2,victim_row\n"
ATTACKER = b"id,owner\n1,attacker_row\n"
JSON = {"Content-Type": "application/json"}
CSV = {"Content-Type": "text/csv"}


class NamesCase(ServerTest):
    def ingest(self, srv, name, body):
        return request_json("POST", srv.url + "/v1/ingest?name=" + name, body=body, headers=CSV)

    def query(self, srv, sql):
        return request_json("POST", srv.url + "/v1/query", body={"sql": sql}, headers=JSON)

    def owners(self, srv, sql):
        st, _, obj = self.query(srv, sql)
        self.assertEqual(st, 200, obj)
        return sorted({r[-1] for r in obj["rows"]})

    def catalog(self, srv, path):
        return request_json("GET", srv.url + "/v1/catalog/" + path)

    def test_a_name_equal_but_for_case_is_refused(self):
        srv = self.start("serve")
        st, _, obj = self.ingest(srv, "salaries", VICTIM)
        self.assertEqual(st, 200, obj)

        for name in ("SALARIES", "Salaries"):
            st, _, obj = self.ingest(srv, name, ATTACKER)
            self.assertError((st, None, obj), 409, "name_conflict")
            self.assertEqual(obj.get("existing_name"), "salaries", obj)
            self.assertIn('"salaries"', obj["error"])
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=SALARIES&mode=append",
                                  body=ATTACKER, headers=CSV)
        self.assertError((st, None, obj), 409, "name_conflict")

        # catalogd itself refuses it too (ingestd's early check is not the only one)
        st, _, manifest = self.catalog(srv, "manifest/salaries")
        self.assertEqual(st, 200, manifest)
        reg = {"name": "SALARIES", "schema_fingerprint": manifest["schema_fingerprint"],
               "schema": manifest["schema"], "objects": manifest["objects"],
               "row_count": manifest["row_count"], "mode": "replace"}
        st, _, obj = request_json("POST", srv.url + "/v1/catalog/register", body=reg,
                                  headers=JSON)
        self.assertError((st, None, obj), 409, "name_conflict")
        self.assertEqual(obj.get("existing_name"), "salaries", obj)

        # nothing was registered, and nothing was converted and stored
        st, _, obj = self.catalog(srv, "datasets")
        self.assertEqual([d["name"] for d in obj["datasets"]], ["salaries"])
        self.assertEqual(self.catalog(srv, "manifest/SALARIES")[0], 404)
        st, _, obj = self.catalog(srv, "versions/salaries")
        self.assertEqual([v["version"] for v in obj["versions"]], [1])
        st, _, obj = request_json("GET", srv.url + "/v1/storage/list?prefix=" +
                                  urllib.parse.quote("datasets/SALARIES/", safe=""))
        self.assertEqual((st, obj["objects"]), (200, []))
        st, _, obj = request_json("GET", srv.url + "/v1/storage/list?prefix=" +
                                  urllib.parse.quote("datasets/Salaries/", safe=""))
        self.assertEqual((st, obj["objects"]), (200, []))

        # every read still gives the first dataset's rows
        for sql in ("SELECT * FROM salaries", "SELECT * FROM SALARIES",
                    'SELECT * FROM "salaries@1"', 'SELECT * FROM "SALARIES@1"'):
            self.assertEqual(self.owners(srv, sql), ["victim_row"], sql)
        st, _, page = request("GET", srv.url + "/datasets/salaries")
        self.assertEqual(st, 200)
        self.assertIn(b"victim_row", page)
        self.assertNotIn(b"attacker_row", page)

        # the exact name still takes new versions
        st, _, obj = self.ingest(srv, "salaries", VICTIM + b"3,victim_row\n")
        self.assertEqual((st, obj["manifest"]["version"]), (200, 2), obj)

    def test_a_legacy_pair_stays_readable_by_exact_names(self):
        srv = self.start("serve")
        self.assertEqual(self.ingest(srv, "salaries", VICTIM)[0], 200)
        self.assertEqual(self.ingest(srv, "legacy_tmp", ATTACKER)[0], 200)
        data_dir = srv.data_dir
        srv.stop()
        db = sqlite3.connect(os.path.join(data_dir, "catalog.db"))
        db.executescript("""
            DROP TRIGGER IF EXISTS datasets_name_nocase_insert;
            DROP TRIGGER IF EXISTS datasets_name_nocase_update;
            DROP INDEX IF EXISTS datasets_name_lower;
            UPDATE datasets SET name = 'SALARIES' WHERE name = 'legacy_tmp';
            PRAGMA user_version = 1;
        """)
        db.close()

        srv = self.start("serve", data_dir=data_dir, log_path=os.path.join(data_dir, "serve2.log"))
        warnings = []
        for line in srv.read_log().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("level") == "warn" and event.get("service") == "catalogd":
                warnings.append(event.get("msg", ""))
        self.assertTrue(any('"SALARIES"' in m and '"salaries"' in m and "letter case" in m
                            for m in warnings), warnings)

        # each by its exact name: SQL (latest and versioned), catalog, UI, download
        self.assertEqual(self.owners(srv, 'SELECT * FROM "salaries"'), ["victim_row"])
        self.assertEqual(self.owners(srv, "SELECT * FROM salaries"), ["victim_row"])
        self.assertEqual(self.owners(srv, 'SELECT * FROM "salaries@1"'), ["victim_row"])
        self.assertEqual(self.owners(srv, 'SELECT * FROM "SALARIES"'), ["attacker_row"])
        self.assertEqual(self.owners(srv, 'SELECT * FROM "SALARIES@1"'), ["attacker_row"])
        st, _, m = self.catalog(srv, "manifest/salaries")
        self.assertEqual((st, m["name"], m["row_count"]), (200, "salaries", 2))
        st, _, m = self.catalog(srv, "manifest/SALARIES")
        self.assertEqual((st, m["name"], m["row_count"]), (200, "SALARIES", 1))
        st, _, v = self.catalog(srv, "versions/salaries")
        self.assertEqual((st, v["name"], len(v["versions"])), (200, "salaries", 1))
        for name, mine, theirs in (("salaries", b"victim_row", b"attacker_row"),
                                   ("SALARIES", b"attacker_row", b"victim_row")):
            st, _, page = request("GET", srv.url + "/datasets/" + name)
            self.assertEqual(st, 200)
            self.assertIn(mine, page)
            self.assertNotIn(theirs, page)
            for q in ("format=csv", "format=csv&version=1"):
                st, _, body = request("GET", srv.url + "/datasets/%s/download?%s" % (name, q))
                self.assertEqual(st, 200, body[:200])
                self.assertIn(mine, body)
                self.assertNotIn(theirs, body)

        # a reference that matches neither exactly is ambiguous: 409, no guess
        for sql in ("SELECT * FROM Salaries", 'SELECT * FROM "Salaries@1"'):
            st, _, obj = self.query(srv, sql)
            self.assertError((st, None, obj), 409, "name_conflict")
            self.assertIn("quotes", obj["error"])
            self.assertEqual(sorted(obj.get("candidates", [])), ["SALARIES", "salaries"], obj)

        # no third name joins them; each still takes versions by its exact name
        st, _, obj = self.ingest(srv, "Salaries", ATTACKER)
        self.assertError((st, None, obj), 409, "name_conflict")
        self.assertIn(obj.get("existing_name"), ("SALARIES", "salaries"))
        st, _, obj = self.ingest(srv, "salaries", VICTIM + b"3,victim_row\n")
        self.assertEqual((st, obj["manifest"]["name"], obj["manifest"]["version"]),
                         (200, "salaries", 2), obj)
        self.assertEqual(self.owners(srv, 'SELECT * FROM "SALARIES"'), ["attacker_row"])
