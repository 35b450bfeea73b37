"""Rename and drop (issue 15 point 4, ADR 0175) against `lakehouse serve`:

- POST /v1/datasets/<old>/rename {"to"} keeps every version, the history,
  the objects (keys keep the old name) and the search index with its
  builds; queries use the new name at once;
- the old name answers 404 "renamed" with "renamed to NEW" on the catalog
  routes and in /v1/query (the latest, "old@N", and what the SQL error
  said), until a dataset is made under it or the dataset is dropped;
- the new name obeys the name rules and case-uniqueness (400 bad_name,
  409 name_conflict), a read token may not rename (403);
- a dataset dropped, or renamed, and made again under its name reads its
  own rows, not the old one's (queryd's manifest cache);
- `lakehouse rename` and `lakehouse show` of an old name;
- the dataset page's rename and drop forms: the CSRF token, the name
  typed again for a drop (the browser half is tests/browser/manage.test.js).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

from lhtest import BINARY, ServerTest, request, request_json

V1 = b"id,name,title\n1,Ada,forklift operator\n2,Grace,reach truck driver\n"
V2 = b"id,name,title\n3,Linus,warehouse lead\n"
READ, WRITE = "read-token-123", "write-token-456"


def cli(url, *args, env=None):
    full = dict(os.environ)
    full.pop("LAKEHOUSE_TOKEN", None)
    full["LAKEHOUSE_URL"] = url
    full.update(env or {})
    return subprocess.run([BINARY] + list(args), env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)


class RenameTest(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")
        self.url = self.srv.url

    def ingest(self, name, body, mode="replace", headers=None):
        h = {"Content-Type": "text/csv"}
        h.update(headers or {})
        st, _, obj = request_json("POST", self.url + "/v1/ingest?name=%s&mode=%s" % (name, mode),
                                  body, h)
        self.assertEqual(st, 200, obj)
        return obj["manifest"]

    def rename(self, old, to, headers=None):
        return request_json("POST", self.url + "/v1/datasets/%s/rename" % old, {"to": to},
                            headers)

    def query(self, sql):
        return request_json("POST", self.url + "/v1/query", {"sql": sql, "format": "json"})

    def rows(self, sql):
        st, _, obj = self.query(sql)
        self.assertEqual(st, 200, obj)
        return obj["rows"]

    def wait_index_ready(self, name, n):
        deadline = time.time() + 60
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.url + "/v1/catalog/index/%s" % name)
            if st == 200 and len(obj["versions"]) == n and \
                    all(v["state"] == "ready" for v in obj["versions"]):
                return obj
            time.sleep(0.1)
        self.fail("index of %s never ready: %r" % (name, obj))

    def assertRenamed(self, answer, old, new):
        st, _, obj = answer
        self.assertEqual(st, 404, obj)
        self.assertEqual(obj["code"], "renamed", obj)
        self.assertIn('"%s" was renamed to "%s"' % (old, new), obj["error"])
        self.assertEqual(obj["renamed_to"], new)
        self.assertRegex(obj["renamed_at"], r"^\d{4}-\d\d-\d\dT")

    def test_rename_keeps_versions_objects_and_index(self):
        self.ingest("people", V1)
        st, _, decl = request_json("PUT", self.url + "/v1/catalog/index/people",
                                   {"text": ["title"], "id": "id"})
        self.assertIn(st, (200, 201), decl)
        self.ingest("people", V2, "append")
        before = [request_json("GET", self.url + "/v1/catalog/manifest/people?version=%d" % n)[2]
                  for n in (1, 2)]
        ix = self.wait_index_ready("people", 2)

        st, _, obj = self.rename("people", "staff")
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["name"], obj["renamed_from"]), ("staff", "people"))
        self.assertEqual(obj["manifest"]["name"], "staff")
        self.assertEqual(obj["manifest"]["version"], 2)
        for n, old in ((1, before[0]), (2, before[1])):
            st, _, m = request_json("GET", self.url + "/v1/catalog/manifest/staff?version=%d" % n)
            self.assertEqual(st, 200, m)
            for field in ("schema_fingerprint", "objects", "row_count", "created_at",
                          "updated_at", "schema"):
                self.assertEqual(m[field], old[field], field)
            self.assertTrue(all(o["key"].startswith("datasets/people/") for o in m["objects"]))
        st, _, vs = request_json("GET", self.url + "/v1/catalog/versions/staff")
        self.assertEqual([v["version"] for v in vs["versions"]], [1, 2])
        # the index and its builds came along
        ix2 = self.wait_index_ready("staff", 2)
        self.assertEqual(ix2["fingerprint"], ix["fingerprint"])
        self.assertEqual([v["rows_indexed"] for v in ix2["versions"]],
                         [v["rows_indexed"] for v in ix["versions"]])
        st, _, hits = request_json("POST", self.url + "/v1/search",
                                   {"dataset": "staff", "query": "forklift", "mode": "text"})
        self.assertEqual(st, 200, hits)
        self.assertEqual(hits["results"][0]["row"]["id"], 1)
        # queries use the new name at once, every version
        self.assertEqual(self.rows("SELECT id FROM staff ORDER BY id"), [[1], [2], [3]])
        self.assertEqual(self.rows('SELECT count(*) FROM "staff@1"'), [[2]])
        # GC finds nothing to delete among the datasets' objects
        st, _, gc = request_json("POST", self.url + "/v1/catalog/gc",
                                 {"dry_run": True, "grace_seconds": 0})
        self.assertEqual(st, 200, gc)
        self.assertNotIn("datasets/people/", str(gc))
        # the list names it once, by its new name
        st, _, ls = request_json("GET", self.url + "/v1/catalog/datasets")
        self.assertEqual([d["name"] for d in ls["datasets"]], ["staff"])

    def test_old_name_answers_renamed(self):
        self.ingest("people", V1)
        self.ingest("people", V2, "append")
        self.assertEqual(self.rows("SELECT count(*) FROM people"), [[3]])  # views made
        st, _, obj = self.rename("people", "staff")
        self.assertEqual(st, 200, obj)
        for method, path in (("GET", "/v1/catalog/manifest/people"),
                             ("GET", "/v1/catalog/manifest/people?version=1"),
                             ("GET", "/v1/catalog/versions/people"),
                             ("DELETE", "/v1/catalog/manifest/people"),
                             ("GET", "/v1/catalog/index/people"),
                             ("GET", "/v1/catalog/manifest/PEOPLE")):
            self.assertRenamed(request_json(method, self.url + path), path.split("/")[4]
                               .split("?")[0], "staff")
        self.assertRenamed(self.rename("people", "other"), "people", "staff")
        # queries: the latest, a version, any letter case; the words say what the
        # database said and what to write instead
        st, _, obj = self.query("SELECT * FROM people")
        self.assertRenamed((st, _, obj), "people", "staff")
        self.assertIn('query staff instead', obj["error"])
        self.assertIn("the database said: Catalog Error: Table with name people does not exist",
                      obj["error"])
        st, _, obj = self.query('SELECT * FROM "people@1"')
        self.assertRenamed((st, _, obj), "people", "staff")
        self.assertIn('query "staff@1" instead', obj["error"])
        self.assertRenamed(self.query("SELECT * FROM Staff JOIN PEOPLE USING (id)"), "PEOPLE",
                           "staff")
        # a search of the old name says so too
        for ds in ("people", "people@1"):
            st, _, obj = request_json("POST", self.url + "/v1/search",
                                      {"dataset": ds, "query": "Ada"})
            self.assertRenamed((st, _, obj), "people", "staff")
        # an unknown name is still the plain error
        st, _, obj = self.query("SELECT * FROM nobody")
        self.assertEqual((st, obj["code"]), (400, "sql_error"), obj)
        # dropping the dataset ends its redirects: a plain 404
        st, _, _ = request_json("DELETE", self.url + "/v1/catalog/manifest/staff")
        self.assertEqual(st, 204)
        st, _, obj = request_json("GET", self.url + "/v1/catalog/manifest/people")
        self.assertEqual((st, obj["code"]), (404, "not_found"), obj)

    def test_a_new_dataset_under_the_old_name_ends_the_redirect(self):
        self.ingest("people", V1)
        self.assertEqual(self.rows("SELECT name FROM people ORDER BY id"), [["Ada"], ["Grace"]])
        self.assertEqual(self.rename("people", "staff")[0], 200)
        self.ingest("people", b"id,city\n9,Oslo\n")
        st, _, m = request_json("GET", self.url + "/v1/catalog/manifest/people")
        self.assertEqual((st, m["version"]), (200, 1), m)
        # its own rows at version 1, not the renamed dataset's version 1
        self.assertEqual(self.rows("SELECT * FROM people"), [[9, "Oslo"]])
        self.assertEqual(self.rows('SELECT * FROM "people@1"'), [[9, "Oslo"]])
        self.assertEqual(self.rows("SELECT name FROM staff ORDER BY id"), [["Ada"], ["Grace"]])
        # the same after a drop and a new dataset under the name (same version 1)
        st, _, _ = request_json("DELETE", self.url + "/v1/catalog/manifest/people")
        self.assertEqual(st, 204)
        self.ingest("people", b"id,city\n10,Lima\n")
        self.assertEqual(self.rows("SELECT * FROM people"), [[10, "Lima"]])
        self.assertEqual(self.rows('SELECT * FROM "people@1"'), [[10, "Lima"]])

    def test_chains_and_renaming_back(self):
        self.ingest("a", V1)
        self.assertEqual(self.rename("a", "b")[0], 200)
        self.assertEqual(self.rename("b", "c")[0], 200)
        self.assertRenamed(request_json("GET", self.url + "/v1/catalog/manifest/a"), "a", "c")
        self.assertRenamed(request_json("GET", self.url + "/v1/catalog/manifest/b"), "b", "c")
        self.assertEqual(self.rename("c", "a")[0], 200)
        st, _, m = request_json("GET", self.url + "/v1/catalog/manifest/a")
        self.assertEqual((st, m["version"]), (200, 1))
        self.assertRenamed(request_json("GET", self.url + "/v1/catalog/manifest/c"), "c", "a")
        self.assertEqual(self.rows("SELECT count(*) FROM a"), [[2]])

    def test_refusals(self):
        self.ingest("people", V1)
        self.ingest("Staff", V2)
        cases = [
            ("people", {"to": "staff"}, 409, "name_conflict"),
            ("people", {"to": "STAFF"}, 409, "name_conflict"),
            ("people", {"to": "people"}, 400, "same_name"),
            ("people", {"to": "1abc"}, 400, "bad_name"),
            ("people", {"to": "a" * 65}, 400, "bad_name"),
            ("people", {"to": "x;drop"}, 400, "bad_name"),
            ("people", {"to": ""}, 400, "bad_name"),
            ("people", {"to": 7}, 400, "bad_request"),
            ("people", {}, 400, "bad_request"),
            ("nobody", {"to": "x"}, 404, "not_found"),
            ("bad-name", {"to": "x"}, 400, "bad_name"),
        ]
        for old, body, status, code in cases:
            answer = request_json("POST", self.url + "/v1/datasets/%s/rename" % old, body)
            self.assertError(answer, status, code)
        st, _, obj = self.rename("people", "staff")
        self.assertEqual(obj["existing_name"], "Staff")
        self.assertEqual(obj["field"], "to")
        # not JSON, another route, another method
        self.assertError(request_json("POST", self.url + "/v1/datasets/people/rename", "to=x",
                                      {"Content-Type": "text/csv"}), 415, "unsupported_media_type")
        self.assertEqual(request_json("POST", self.url + "/v1/datasets/people/move",
                                      {"to": "x"})[0], 404)
        self.assertEqual(request("GET", self.url + "/v1/datasets/people/rename")[0], 405)
        # nothing changed
        st, _, ls = request_json("GET", self.url + "/v1/catalog/datasets")
        self.assertEqual(sorted(d["name"] for d in ls["datasets"]), ["Staff", "people"])

    def test_cli_rename_and_show(self):
        self.ingest("people", V1)
        p = cli(self.url, "rename", "people", "staff")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertTrue(out.startswith("renamed people to staff (1 version kept)\n"), out)
        self.assertIn('for 30 days "people" answers "renamed to staff"', out)
        p = cli(self.url, "show", "people")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'renamed to \\"staff\\"'.replace(b"\\", b""), p.stderr)
        p = cli(self.url, "query", "SELECT * FROM people")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b'renamed to "staff"', p.stderr)
        p = cli(self.url, "rename", "staff", "9lives")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith(b"lakehouse: "), p.stderr)
        self.assertEqual(p.stdout, b"")
        p = cli(self.url, "rename", "nobody", "x")
        self.assertEqual(p.returncode, 1)
        p = cli(self.url, "rename", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"usage: lakehouse rename OLD NEW", p.stdout)

    # --- the web UI (ui_dataset.c) ------------------------------------------

    def page(self, path):
        st, hdrs, body = request("GET", self.url + path)
        m = re.search(r"lh_csrf=([0-9a-f]{64})", hdrs.get("set-cookie", ""))
        self.assertTrue(m, hdrs)
        return st, body.decode(), "lh_csrf=" + m.group(1), m.group(1)

    def post_form(self, path, fields, cookie):
        body = urllib.parse.urlencode(fields)
        return request("POST", self.url + path, body,
                       {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})

    def test_ui_forms(self):
        self.ingest("people", V1)
        self.ingest("people", V2, "append")
        st, html, cookie, token = self.page("/datasets/people")
        self.assertEqual(st, 200)
        self.assertIn('<form class="manage-form" id="rename-form" method="post" '
                      'action="/datasets/people/rename">', html)
        self.assertIn('id="drop-confirm" name="confirm" required pattern="people"', html)
        self.assertIn("all its 2 versions", html)
        # rename, drop and (ADR 0211) personal columns: each form carries the token
        self.assertEqual(html.count('<input type="hidden" name="csrf" value="%s">' % token), 3)
        # no token, a wrong token: refused, nothing changed
        for fields, ck in (({"to": "staff"}, cookie), ({"csrf": "0" * 64, "to": "staff"}, cookie),
                           ({"csrf": token, "to": "staff"}, "")):
            st, _, body = self.post_form("/datasets/people/rename", fields, ck)
            self.assertEqual(st, 403, body)
            self.assertIn(b'data-code="csrf_failed"', body)
        # a bad name: the catalog's words
        st, _, body = self.post_form("/datasets/people/rename", {"csrf": token, "to": "1x"}, cookie)
        self.assertEqual(st, 400)
        self.assertIn(b'data-code="bad_name"', body)
        # rename: 303 to the new page
        st, hdrs, _ = self.post_form("/datasets/people/rename", {"csrf": token, "to": "staff"},
                                     cookie)
        self.assertEqual(st, 303)
        self.assertEqual(hdrs["location"], "/datasets/staff")
        st, html, _, _ = self.page("/datasets/staff")
        self.assertEqual(st, 200)
        self.assertIn('<h1 id="dataset-name">staff</h1>', html)
        # the old page says where it went
        st, body = request("GET", self.url + "/datasets/people")[::2]
        self.assertEqual(st, 404)
        self.assertIn(b'renamed to &quot;staff&quot;', body)
        self.assertIn(b'id="renamed-link" href="/datasets/staff"', body)
        # drop: the name typed again, exactly
        for typed in (None, "", "y", "STAFF", "staff ", "people"):
            fields = {"csrf": token}
            if typed is not None:
                fields["confirm"] = typed
            st, _, body = self.post_form("/datasets/staff/drop", fields, cookie)
            self.assertEqual(st, 400, typed)
            self.assertIn(b'data-code="confirm_mismatch"', body)
        self.assertEqual(request("GET", self.url + "/v1/catalog/manifest/staff")[0], 200)
        st, _, body = self.post_form("/datasets/staff/drop", {"csrf": "1" * 64, "confirm": "staff"},
                                     cookie)
        self.assertEqual(st, 403)
        st, _, body = self.post_form("/datasets/staff/drop", {"csrf": token, "confirm": "staff"},
                                     cookie)
        self.assertEqual(st, 200, body)
        self.assertIn(b"Dataset staff was dropped.", body)
        self.assertEqual(request("GET", self.url + "/v1/catalog/manifest/staff")[0], 404)
        st, _, body = self.post_form("/datasets/staff/drop", {"csrf": token, "confirm": "staff"},
                                     cookie)
        self.assertEqual(st, 404)
        st, _, body = self.post_form("/datasets/x/elsewhere", {"csrf": token}, cookie)
        self.assertEqual(st, 404)


class RenameAuthTest(ServerTest):
    def test_rename_needs_a_write_token(self):
        srv = self.start("serve", env={"LAKEHOUSE_AUTH_READ_TOKENS": READ,
                                       "LAKEHOUSE_AUTH_WRITE_TOKENS": WRITE})
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=people", V1,
                                  {"Content-Type": "text/csv", "Authorization": "Bearer " + WRITE})
        self.assertEqual(st, 200, obj)
        url = srv.url + "/v1/datasets/people/rename"
        self.assertEqual(request_json("POST", url, {"to": "staff"})[0], 401)
        self.assertError(request_json("POST", url, {"to": "staff"},
                                      {"Authorization": "Bearer " + READ}), 403,
                         "forbidden")
        st, _, obj = request_json("POST", url, {"to": "staff"},
                                  {"Authorization": "Bearer " + WRITE})
        self.assertEqual(st, 200, obj)
        p = cli(srv.url, "rename", "staff", "crew", env={"LAKEHOUSE_TOKEN": READ})
        self.assertEqual(p.returncode, 1)
        p = cli(srv.url, "rename", "staff", "crew", env={"LAKEHOUSE_TOKEN": WRITE})
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
