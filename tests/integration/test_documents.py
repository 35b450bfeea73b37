"""Documents as datasets (issue 18 points 1, 3 and 4; SPEC 15; ADR 0225-0228)
on the real binary: POST /v1/ingest?kind=documents with many files or one
body, the rows (doc_id = SHA-256, file_name, chunk, page, text, chars), the
originals stored write-once under documents/<doc_id>/original, re-ingest
`existing`, append/replace and time travel, the text index declared by
itself and search over it, documents and tables kept apart (409), bad files
listed by name with nothing written unless partial=true, 413 naming the file
over the upload cap, GET /v1/documents/<doc_id> with its name and media type,
who may download (ADR 0227: masks), the CLI's --documents, and the SQL
example of docs/documents.md joining resume chunks to a candidates CSV by
the email found in the text. PDF and DOCX files, good and bad, are made at
test time by tests/documents/make_docs.py (real tools: ghostscript, qpdf,
pandoc, zip) into a temp dir."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

from lhtest import BINARY, ROOT, Server, ServerTest, request, request_json

MAKE_DOCS = os.path.join(ROOT, "tests", "documents", "make_docs.py")

JANE = b"Jane Doe\njane.doe@example.com\n\nForklift operator with OSHA-30, ten years in warehouses.\n"
BOB = b"# Bob Stone\n\nbob.stone@example.org\n\nCertified welder, MIG and TIG.\n"
LATIN1 = "Ren\u00e9e M\u00fcller\nrenee@example.net\n\nDental hygienist.\n".encode("latin-1")

ADMIN = "root-token-0123456789"
WRITER = "maria-token-0123456789"
READER = "ann-token-0123456789"
AGENT = "bot-token-0123456789ab"
TOKENS = "root:admin:%s,maria:write:%s,ann:read:%s,bot:agent:%s" % (ADMIN, WRITER, READER, AGENT)


def multipart(files, fields=()):
    """A multipart/form-data body of ("file", name, bytes) parts."""
    boundary = "b" + uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, k, v)).encode())
    for name, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                    "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name)).encode())
        out.append(data)
        out.append(b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def sha(data):
    return hashlib.sha256(data).hexdigest()


def bearer(tok):
    return {"Authorization": "Bearer " + tok} if tok else {}


class DocsBase(ServerTest):
    token = None

    def ingest(self, name, files, query="", token=None, status=200):
        body, ctype = multipart(files)
        hdrs = dict(bearer(token or self.token), **{"Content-Type": ctype})
        st, _, obj = request_json("POST", self.base + "/v1/ingest?kind=documents&name=%s%s"
                                  % (name, query), body, hdrs)
        self.assertEqual(st, status, obj)
        return obj

    def sql(self, q, token=None):
        st, _, obj = request_json("POST", self.base + "/v1/query", {"sql": q},
                                  bearer(token or self.token))
        self.assertEqual(st, 200, obj)
        return obj["rows"]

    def versions(self, name):
        st, _, obj = request_json("GET", self.base + "/v1/catalog/versions/" + name, None,
                                  bearer(self.token))
        return (obj["versions"] if isinstance(obj, dict) else obj) if st == 200 else None

    def wait_index_ready(self, name, version):
        deadline = time.time() + 60
        obj = None
        while time.time() < deadline:
            st, _, obj = request_json("GET", self.base + "/v1/catalog/index/" + name, None,
                                      bearer(self.token))
            if st == 200:
                for v in obj.get("versions", []):
                    if v.get("version") == version and v.get("state") == "ready":
                        return v
            time.sleep(0.2)
        self.fail("index of %s never ready: %r" % (name, obj))


class TestDocuments(DocsBase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_many_files_rows_originals_index_and_search(self):
        obj = self.ingest("resumes_a", [("jane.txt", JANE), ("bob.md", BOB),
                                        ("renee.txt", LATIN1)])
        self.assertEqual(obj["kind"], "documents")
        self.assertFalse(obj["existing"])
        self.assertEqual(obj["format"]["name"], "documents")
        cols = [(c["name"], c["type"]) for c in obj["manifest"]["schema"]]
        self.assertEqual(cols, [("doc_id", "utf8"), ("file_name", "utf8"), ("chunk", "int64"),
                                ("page", "int64"), ("text", "utf8"), ("chars", "int64")])
        files = {f["file_name"]: f for f in obj["files"]}
        self.assertEqual(set(files), {"jane.txt", "bob.md", "renee.txt"})
        self.assertEqual(files["jane.txt"]["doc_id"], sha(JANE))
        self.assertEqual(files["jane.txt"]["format"], "text")
        self.assertEqual(files["bob.md"]["format"], "markdown")
        self.assertIsNone(files["jane.txt"]["pages"])
        self.assertTrue(files["renee.txt"]["from_latin1"])
        self.assertFalse(files["jane.txt"]["from_latin1"])
        self.assertEqual(obj["skipped"], [])
        self.assertTrue(obj["index_declared"])
        rows = self.sql("SELECT doc_id, file_name, chunk, page, chars, text FROM resumes_a "
                        "ORDER BY file_name, chunk")
        self.assertEqual([r[1] for r in rows], ["bob.md", "jane.txt", "renee.txt"])
        for r in rows:
            self.assertIsNone(r[3])                       # text has no pages
            self.assertEqual(r[4], len(r[5]))             # characters, not bytes
        self.assertIn("Ren\u00e9e M\u00fcller", rows[2][5])  # Latin-1 converted
        self.assertEqual(rows[2][4], len("Ren\u00e9e M\u00fcller\nrenee@example.net\n\n"
                                          "Dental hygienist."))
        # every original is in the store under its SHA-256, byte for byte
        for name, data in (("jane.txt", JANE), ("bob.md", BOB), ("renee.txt", LATIN1)):
            st, _, got = request("GET", self.base + "/v1/storage/get/documents/%s/original"
                                 % sha(data))
            self.assertEqual((st, got), (200, data))
        # the index on text is declared by itself, builds, and search finds the chunk
        st, _, ix = request_json("GET", self.base + "/v1/catalog/index/resumes_a")
        self.assertEqual(ix["declaration"]["text"], ["text"])
        self.wait_index_ready("resumes_a", 1)
        st, _, res = request_json("POST", self.base + "/v1/search",
                                  {"dataset": "resumes_a", "query": "forklift osha",
                                   "mode": "text", "k": 3})
        self.assertEqual(st, 200, res)
        top = res["results"][0]
        self.assertEqual(top["row"]["file_name"], "jane.txt")
        self.assertIn("<mark>Forklift</mark>", top["highlight"]["text"])
        self.assertEqual(res["unindexed_rows"], 0)

    def test_reingest_is_existing_append_replace_and_time_travel(self):
        self.ingest("resumes_b", [("jane.txt", JANE)])
        again = self.ingest("resumes_b", [("jane.txt", JANE)])
        self.assertTrue(again["existing"])
        self.assertEqual(again["manifest"]["version"], 1)
        self.assertFalse(again["index_declared"])      # already there
        app = self.ingest("resumes_b", [("bob.md", BOB)], "&mode=append")
        self.assertEqual(app["manifest"]["version"], 2)
        self.assertEqual(app["manifest"]["row_count"], 2)
        self.assertTrue(self.ingest("resumes_b", [("bob.md", BOB)], "&mode=append")["existing"])
        rep = self.ingest("resumes_b", [("renee.txt", LATIN1)], "&mode=replace")
        self.assertEqual(rep["manifest"]["version"], 3)
        self.assertEqual(self.sql("SELECT file_name FROM resumes_b"), [["renee.txt"]])
        self.assertEqual(self.sql('SELECT file_name FROM "resumes_b@2" ORDER BY 1'),
                         [["bob.md"], ["jane.txt"]])
        # a replaced document still downloads (its version is kept)
        only = b"Only in resumes_b: a tower crane operator.\n"
        self.ingest("resumes_b", [("only.txt", only)], "&mode=append")
        self.ingest("resumes_b", [("jane.txt", JANE)], "&mode=replace")
        self.assertEqual(self.sql("SELECT file_name FROM resumes_b"), [["jane.txt"]])
        st, _, got = request("GET", self.base + "/v1/documents/" + sha(only))
        self.assertEqual((st, got), (200, only))

    def test_append_of_a_file_already_in_the_dataset_adds_it_once(self):
        # R18 finding 6: SPEC 15 "re-ingesting the same file is existing" holds per
        # file in append mode
        g = b"Gina Holt\ngina@example.com\nAppend test: crane operator.\n"
        hk = b"Hank Kim\nhank@example.com\nAppend test: welder.\n"
        self.ingest("resumes_ap", [("g.txt", g)], "&mode=append")
        obj = self.ingest("resumes_ap", [("g.txt", g), ("hk.txt", hk)], "&mode=append")
        self.assertFalse(obj["existing"])
        self.assertEqual(obj["manifest"]["version"], 2)
        by = {f["file_name"]: f for f in obj["files"]}
        self.assertTrue(by["g.txt"].get("existing"), obj)
        self.assertNotIn("existing", by["hk.txt"])
        self.assertEqual(self.sql("SELECT file_name, count(*) FROM resumes_ap GROUP BY 1 ORDER BY 1"),
                         [["g.txt", 1], ["hk.txt", 1]])
        # nothing new at all: existing, no version
        obj = self.ingest("resumes_ap", [("hk.txt", hk), ("g.txt", g)], "&mode=append")
        self.assertTrue(obj["existing"], obj)
        self.assertEqual(obj["manifest"]["version"], 2)
        self.assertEqual(len(self.versions("resumes_ap")), 2)
        # a replace drops g; appending it again adds it (j is held)
        j = b"Jo Lee\njo@example.com\nAppend test: electrician.\n"
        self.ingest("resumes_ap", [("j.txt", j)], "&mode=replace")
        obj = self.ingest("resumes_ap", [("g.txt", g), ("j.txt", j)], "&mode=append")
        self.assertFalse(obj["existing"])
        self.assertEqual(self.sql("SELECT file_name, count(*) FROM resumes_ap GROUP BY 1 ORDER BY 1"),
                         [["g.txt", 1], ["j.txt", 1]])

    def test_documents_and_tables_do_not_mix(self):
        self.ingest("resumes_c", [("jane.txt", JANE)])
        st, _, obj = request_json("POST", self.base + "/v1/ingest?name=resumes_c",
                                  b"a,b\n1,2\n", {"Content-Type": "text/csv"})
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "kind_mismatch")
        self.assertIn("documents dataset", obj["error"])
        st, _, obj = request_json("POST", self.base + "/v1/ingest?name=resumes_c&evolve=true",
                                  b"a,b\n1,2\n", {"Content-Type": "text/csv"})
        self.assertEqual((st, obj["code"]), (409, "kind_mismatch"))
        st, _, obj = request_json("POST", self.base + "/v1/ingest?name=table_c",
                                  b"a,b\n1,2\n", {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        only = b"only ever sent to a table: a crane operator\n"
        obj = self.ingest("table_c", [("jane.txt", JANE), ("only.txt", only)], status=409)
        self.assertEqual(obj["code"], "kind_mismatch")
        self.assertIn("is a table", obj["error"])
        self.assertEqual(len(self.versions("table_c")), 1)
        # R18 finding 8a: refused before the originals are stored
        st, _, _ = request("HEAD", self.base + "/v1/storage/get/documents/%s/original" % sha(only))
        self.assertEqual(st, 404)

    def test_bad_files_listed_nothing_written_unless_partial(self):
        bad1 = b"\x00\x01\x02\x03 not a document"
        files = [("jane.txt", JANE), ("blob.bin", bad1), ("empty.txt", b"")]
        obj = self.ingest("resumes_d", files, status=400)
        self.assertEqual(obj["code"], "bad_documents")
        failed = {f["file_name"]: f for f in obj["failed"]}
        self.assertEqual(set(failed), {"blob.bin", "empty.txt"})
        self.assertEqual(failed["blob.bin"]["code"], "unsupported_format")
        self.assertEqual(failed["empty.txt"]["code"], "no_text")
        self.assertIn("blob.bin", obj["error"])
        self.assertIn("empty.txt", obj["error"])
        self.assertIsNone(self.versions("resumes_d"))        # no dataset
        st, _, _ = request("HEAD", self.base + "/v1/storage/get/documents/%s/original" % sha(JANE))
        self.assertEqual(st, 404)                              # no original either
        # one bad file alone keeps its own status and code
        obj = self.ingest("resumes_d", [("blob.bin", bad1)], status=415)
        self.assertEqual((obj["code"], obj["file_name"]), ("unsupported_format", "blob.bin"))
        # partial=true: the good one goes in, the others are listed
        obj = self.ingest("resumes_d", files, "&partial=true")
        self.assertEqual([f["file_name"] for f in obj["files"]], ["jane.txt"])
        self.assertEqual(sorted(f["file_name"] for f in obj["skipped"]), ["blob.bin", "empty.txt"])
        self.assertEqual(self.sql("SELECT DISTINCT file_name FROM resumes_d"), [["jane.txt"]])
        # partial=true with nothing good is still the failure
        obj = self.ingest("resumes_d", [("blob.bin", bad1), ("empty.txt", b"")],
                          "&partial=true", status=400)
        self.assertEqual(len(obj["failed"]), 2)
        self.assertEqual(len(self.versions("resumes_d")), 1)

    def test_same_bytes_twice_in_one_upload_read_once(self):
        one = b"Duplicate test: a crane operator.\n"
        obj = self.ingest("resumes_dup", [("a.txt", one), ("b.txt", BOB), ("copy.txt", one)])
        self.assertEqual([(f["file_name"], f.get("duplicate", False)) for f in obj["files"]],
                         [("a.txt", False), ("b.txt", False), ("copy.txt", True)])
        self.assertEqual(obj["files"][2]["doc_id"], sha(one))
        self.assertEqual(self.sql("SELECT file_name FROM resumes_dup ORDER BY 1"),
                         [["a.txt"], ["b.txt"]])
        bad = b"\x00\x01 twice"
        obj = self.ingest("resumes_dup", [("x.bin", bad), ("y.bin", bad), ("b.txt", BOB)],
                          status=400)
        self.assertEqual([(f["file_name"], f["code"]) for f in obj["failed"]],
                         [("x.bin", "unsupported_format"), ("y.bin", "unsupported_format")])

    def test_raw_body_names(self):
        url = self.base + "/v1/ingest?kind=documents&name=resumes_e"
        st, _, obj = request_json("POST", url + "&file_name=jane.txt", JANE,
                                  {"Content-Type": "text/plain"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["files"][0]["file_name"], "jane.txt")
        st, _, obj = request_json("POST", url + "&mode=append", BOB,
                                  {"Content-Type": "text/markdown",
                                   "Content-Disposition": 'attachment; filename="dir/bob.md"'})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["files"][0]["file_name"], "bob.md")   # the last segment only
        st, _, obj = request_json("POST", url, JANE, {"Content-Type": "text/plain"})
        self.assertEqual((st, obj["code"]), (400, "missing_file_name"))
        st, _, obj = request_json("POST", url + "&kind=tables&file_name=a.txt", JANE,
                                  {"Content-Type": "text/plain"})
        self.assertEqual(st, 200, obj)    # the first kind= wins; documents
        st, _, obj = request_json("POST", self.base + "/v1/ingest?kind=pictures&name=x", JANE,
                                  {"Content-Type": "text/plain"})
        self.assertEqual((st, obj["code"]), (400, "bad_request"))

    def test_download(self):
        jane = JANE + b"\nDownload test copy.\n"   # content no other test ingests
        bob = BOB + b"\nDownload test copy.\n"
        self.ingest("resumes_f", [("Jane Doe résumé.txt", jane), ("bob.md", bob)])
        st, hdrs, got = request("GET", self.base + "/v1/documents/" + sha(jane))
        self.assertEqual((st, got), (200, jane))
        self.assertEqual(hdrs["content-type"], "text/plain; charset=utf-8")
        self.assertIn("attachment", hdrs["content-disposition"])
        self.assertIn("filename*=UTF-8''Jane%20Doe%20r%C3%A9sum%C3%A9.txt",
                      hdrs["content-disposition"])
        self.assertEqual(hdrs["x-content-type-options"], "nosniff")
        self.assertEqual(hdrs["etag"], '"%s"' % sha(jane))
        self.assertIn("sandbox", hdrs["content-security-policy"])
        st, hdrs, got = request("GET", self.base + "/v1/documents/" + sha(bob))
        self.assertEqual((st, hdrs["content-type"]), (200, "text/markdown; charset=utf-8"))
        for bad in (sha(b"never ingested"), "abc", sha(JANE).upper(), "../../etc/passwd"):
            st, _, obj = request_json("GET", self.base + "/v1/documents/" + bad)
            self.assertEqual((st, obj["code"]), (404, "not_found"), bad)
        # a dropped dataset no longer serves its documents
        self.ingest("resumes_g", [("solo.txt", b"only here: a crane operator\n")])
        doc = sha(b"only here: a crane operator\n")
        self.assertEqual(request("GET", self.base + "/v1/documents/" + doc)[0], 200)
        st, _, _ = request("DELETE", self.base + "/v1/catalog/manifest/resumes_g")
        self.assertIn(st, (200, 204))
        self.assertEqual(request("GET", self.base + "/v1/documents/" + doc)[0], 404)

    def test_download_follows_a_renamed_dataset(self):
        doc = b"renamed later: a forklift driver with ten years\n"
        self.ingest("resumes_r", [("r.txt", doc)])
        st, _, obj = request_json("POST", self.base + "/v1/datasets/resumes_r/rename",
                                  {"to": "resumes_r2"}, bearer(self.token))
        self.assertEqual(st, 200, obj)
        st, _, got = request("GET", self.base + "/v1/documents/" + sha(doc))
        self.assertEqual((st, got), (200, doc))
        # dropped under its new name: gone
        st, _, _ = request("DELETE", self.base + "/v1/catalog/manifest/resumes_r2")
        self.assertIn(st, (200, 204))
        self.assertEqual(request("GET", self.base + "/v1/documents/" + sha(doc))[0], 404)

    def test_upload_cap_names_the_file(self):
        srv = self.start("serve", env={"LAKEHOUSE_LOG": "quiet",
                                       "LAKEHOUSE_INGESTD_MAX_UPLOAD_BYTES": "4096"})
        body, ctype = multipart([("small.txt", JANE), ("huge.txt", b"word " * 2000)])
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?kind=documents&name=r",
                                  body, {"Content-Type": ctype})
        self.assertEqual((st, obj["code"]), (413, "too_large"), obj)
        self.assertIn("huge.txt", obj["error"])
        self.assertEqual(obj["file_name"], "huge.txt")
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?kind=documents&name=r"
                                  "&file_name=big.txt", b"word " * 2000,
                                  {"Content-Type": "text/plain"})
        self.assertEqual((st, obj["file_name"]), (413, "big.txt"), obj)
        st, _, _ = request("GET", srv.url + "/v1/catalog/versions/r")
        self.assertEqual(st, 404)

    def test_latin1_text_past_the_cap_is_refused_in_bounded_memory(self):
        # review R18 finding 3: 250 MB of 0x80 (a euro sign each in Windows-1252,
        # 3 bytes of UTF-8) peaked at 2.6 GB: the file read whole, converted,
        # normalised twice, all uncapped. Now the spool range is mapped and the
        # normaliser stops at the 64 MiB text cap.
        srv = self.start("serve", env={"LAKEHOUSE_LOG": "quiet"})
        before = srv.peak_rss_kib()
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?kind=documents&name=euros"
                                  "&file_name=euro.txt", b"\x80" * (80 << 20),
                                  {"Content-Type": "text/plain"}, timeout=300)
        self.assertEqual((st, obj["code"]), (413, "too_large"), obj)
        grew = (srv.peak_rss_kib() - before) / 1024.0
        print("\n  80 MiB of Latin-1 euros: 413, ingestd peak grew %.0f MiB" % grew)
        self.assertLess(grew, 240)     # before: about 10 x the file

    def test_sql_example_joins_resumes_to_candidates(self):
        # docs/documents.md's example, on a generated candidates CSV and resumes
        # that mention those emails
        people = [(i, "Person%d Lastname%d" % (i, i), "person%d@example.com" % i)
                  for i in range(1, 8)]
        csv = "candidate_id,full_name,email\n" + "".join("%d,%s,%s\n" % p for p in people)
        st, _, obj = request_json("POST", self.base + "/v1/ingest?name=candidates_x",
                                  csv.encode(), {"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        resumes = [("resume_%d.txt" % i, ("%s\nContact: %s\n\nSkills: welding, forklift.\n"
                                          % (n, e)).encode()) for i, n, e in people[:5]]
        self.ingest("resumes_x", resumes)
        with open(os.path.join(ROOT, "docs", "documents.md")) as f:
            doc = f.read()
        start = doc.index("```sql\n-- join resumes to candidates") + len("```sql\n")
        example = doc[start:doc.index("```", start)]
        example = example.replace("candidates", "candidates_x").replace("resumes", "resumes_x")
        rows = self.sql(example)
        self.assertEqual(sorted((r[0], r[1]) for r in rows),
                         [(i, "resume_%d.txt" % i) for i in range(1, 6)])


class TestDocumentsAuth(DocsBase):
    """ADR 0227: who may download an original."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    token = WRITER

    def test_download_and_masks(self):
        self.ingest("open_docs", [("jane.txt", JANE)])
        self.ingest("private_docs", [("bob.md", BOB)])
        url = self.base + "/v1/documents/"
        self.assertEqual(request("GET", url + sha(JANE))[0], 401)
        for tok in (READER, AGENT, WRITER, ADMIN):
            st, _, got = request("GET", url + sha(JANE), None, bearer(tok))
            self.assertEqual((st, got), (200, JANE), tok)
        # read tokens only ingest nothing
        obj = self.ingest("other", [("x.txt", JANE)], token=READER, status=403)
        # a mask on the dataset: read and agent tokens may not download
        st, _, obj = request_json("PUT", self.base + "/v1/catalog/masks/private_docs",
                                  {"columns": ["text"]}, bearer(ADMIN))
        self.assertEqual(st, 200, obj)
        for tok in (READER, AGENT):
            st, _, obj = request_json("GET", url + sha(BOB), None, bearer(tok))
            self.assertEqual((st, obj["code"]), (403, "masked_column"), tok)
        for tok in (WRITER, ADMIN):
            self.assertEqual(request("GET", url + sha(BOB), None, bearer(tok))[:3:2],
                             (200, BOB))
        # the same document also in an unmasked dataset: readable through that one
        self.ingest("open_docs", [("bob.md", BOB)], "&mode=append")
        self.assertEqual(request("GET", url + sha(BOB), None, bearer(READER))[0], 200)
        # raw store reads of originals are refused to read and agent tokens
        for tok in (READER, AGENT):
            st, _, _ = request("GET", self.base + "/v1/storage/get/documents/%s/original"
                               % sha(JANE), None, bearer(tok))
            self.assertEqual(st, 403, tok)
        st, _, got = request("GET", self.base + "/v1/storage/get/documents/%s/original"
                             % sha(JANE), None, bearer(WRITER))
        self.assertEqual((st, got), (200, JANE))


    def test_records_follow_the_dataset_not_its_name(self):
        # R18 finding 1: a masked dataset renamed (or dropped) and a new one made
        # under its old name must not hand its originals to a read token
        url = self.base + "/v1/documents/"
        finn = b"Finn Hale\nsalary 91000\n"
        bob = b"Bob Ray\nsalary 55000\n"
        for how in ("rename", "drop"):
            name = "payroll_" + how
            f, b = finn + how.encode(), bob + how.encode()
            self.ingest(name, [("finn.txt", f)])
            st, _, obj = request_json("PUT", self.base + "/v1/catalog/masks/" + name,
                                      {"columns": ["text"]}, bearer(ADMIN))
            self.assertEqual(st, 200, obj)
            st, _, obj = request_json("GET", url + sha(f), None, bearer(READER))
            self.assertEqual((st, obj["code"]), (403, "masked_column"))
            if how == "rename":
                st, _, obj = request_json("POST", self.base + "/v1/datasets/%s/rename" % name,
                                          {"to": name + "_2025"}, bearer(ADMIN))
                self.assertEqual(st, 200, obj)
            else:
                st, _, _ = request("DELETE", self.base + "/v1/catalog/manifest/" + name, None,
                                   bearer(ADMIN))
                self.assertIn(st, (200, 204))
            self.ingest(name, [("bob.txt", b)])
            st, _, obj = request_json("GET", url + sha(f), None, bearer(READER))
            self.assertIn(st, (403, 404), (how, obj))
            # the legitimate downloads still work
            self.assertEqual(request("GET", url + sha(b), None, bearer(READER))[:3:2], (200, b))
            if how == "rename":
                self.assertEqual(request("GET", url + sha(f), None, bearer(WRITER))[:3:2],
                                 (200, f))
            else:
                self.assertEqual(request("GET", url + sha(f), None, bearer(WRITER))[0], 404)


class TestDocumentsCli(DocsBase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def cli(self, *args):
        env = dict(os.environ, LAKEHOUSE_URL=self.base)
        return subprocess.run([BINARY] + list(args), env=env, capture_output=True, timeout=120)

    def test_folder_walk_batches_partial_and_summary(self):
        d = tempfile.mkdtemp(prefix="lh-docs-")
        self.addCleanup(shutil.rmtree, d)
        os.makedirs(os.path.join(d, "sub"))
        for i in range(6):
            with open(os.path.join(d, "sub" if i % 2 else "", "r%d.txt" % i), "wb") as f:
                f.write(b"Resume %d\nforklift operator number %d\n" % (i, i))
        with open(os.path.join(d, ".hidden.txt"), "wb") as f:
            f.write(b"hidden\n")
        os.symlink(os.path.join(d, "r0.txt"), os.path.join(d, "link.txt"))
        os.mkfifo(os.path.join(d, "pipe"))
        p = self.cli("ingest", "cli_docs", "--documents", d, "--batch-bytes", "80")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("cli_docs: version ", out)
        self.assertIn("6 chunks from 6 files", out)
        self.assertIn("3 not regular files left out", out)
        self.assertRegex(out, r"in [2-6] uploads \(new version\)")
        self.assertEqual(p.stderr, b"")      # no bar when stderr is not a terminal
        names = [r[0] for r in self.sql("SELECT file_name FROM cli_docs ORDER BY 1")]
        self.assertEqual(names, ["r%d.txt" % i for i in range(6)])
        # the same folder in one upload: the dataset becomes that one object
        # (same rows); once more: unchanged. A replace spread over several
        # uploads is not idempotent as a whole (ADR 0228): its first upload
        # replaces the dataset by part of the files.
        again = self.cli("ingest", "cli_docs", "--documents", d)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("in 1 upload", again.stdout.decode())
        names = [r[0] for r in self.sql("SELECT file_name FROM cli_docs ORDER BY 1")]
        self.assertEqual(names, ["r%d.txt" % i for i in range(6)])
        third = self.cli("ingest", "cli_docs", "--documents", d)
        self.assertEqual(third.returncode, 0, third.stderr)
        self.assertIn("(unchanged)", third.stdout.decode())
        # a bad file: nothing of its upload is written, named on stderr, exit 1
        with open(os.path.join(d, "zz.bin"), "wb") as f:
            f.write(b"\x00\x01\x02 binary")
        bad = self.cli("ingest", "cli_docs2", "--documents", d)
        self.assertEqual(bad.returncode, 1)
        self.assertIn(b"zz.bin", bad.stderr)
        self.assertEqual(request("GET", self.base + "/v1/catalog/versions/cli_docs2")[0], 404)
        part = self.cli("ingest", "cli_docs2", "--documents", d, "--partial")
        self.assertEqual(part.returncode, 0, part.stderr)
        self.assertIn(b"skipped zz.bin", part.stderr)
        self.assertIn("1 skipped", part.stdout.decode())
        # one file named on the command line; usage errors
        one = self.cli("ingest", "cli_docs3", "--documents", os.path.join(d, "r0.txt"))
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertEqual(self.cli("ingest", "cli_docs3", "--documents").returncode, 2)
        self.assertEqual(self.cli("ingest", "x", os.path.join(d, "r0.txt"), "--partial")
                         .returncode, 2)
        missing = self.cli("ingest", "cli_docs3", "--documents", os.path.join(d, "nope"))
        self.assertEqual(missing.returncode, 1)
        self.assertIn(b"no file or folder", missing.stderr)


    def test_file_cannot_inject_parts(self):
        # R18 finding 5: the CLI's boundary was a constant, so a file holding it
        # could end its own part and add another file to the upload
        d = tempfile.mkdtemp(prefix="lh-docs-")
        self.addCleanup(shutil.rmtree, d)
        old = "lakehouse-documents-7d2f9c41b3"
        evil = ("Real text of a.txt\r\n--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                "filename=\"injected.txt\"\r\nContent-Type: text/plain\r\n\r\n"
                "injected words\n" % old).encode()
        with open(os.path.join(d, "a.txt"), "wb") as f:
            f.write(evil)
        p = self.cli("ingest", "cli_inject", "--documents", d)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = self.sql("SELECT DISTINCT file_name, doc_id FROM cli_inject")
        self.assertEqual(rows, [["a.txt", sha(evil)]])


class TestDocumentsRealFiles(DocsBase):
    """PDF, DOCX, HTML, Markdown and text made by real tools (make_docs.py),
    good and bad, end to end through ingest, rows, pages and download."""

    @classmethod
    def setUpClass(cls):
        cls.fx = tempfile.mkdtemp(prefix="lh-docfx-")
        subprocess.run([MAKE_DOCS, "--fixtures", cls.fx], check=True, capture_output=True,
                       timeout=300)
        cls.srv = Server("serve", env={"LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        shutil.rmtree(cls.fx, ignore_errors=True)

    def file(self, name):
        with open(os.path.join(self.fx, name), "rb") as f:
            return f.read()

    def test_good_files_of_every_format(self):
        names = ["text-1p.pdf", "text-3p.pdf", "pages-500.pdf", "owner-only.pdf", "resume.docx",
                 "page.html", "latin1.html", "notes.md", "utf8.txt", "latin1.txt"]
        obj = self.ingest("real_good", [(n, self.file(n)) for n in names])
        files = {f["file_name"]: f for f in obj["files"]}
        self.assertEqual(set(files), set(names))
        self.assertEqual(obj["skipped"], [])
        fmt = {n: files[n]["format"] for n in names}
        self.assertEqual(fmt, {"text-1p.pdf": "pdf", "text-3p.pdf": "pdf", "pages-500.pdf": "pdf",
                               "owner-only.pdf": "pdf", "resume.docx": "docx", "page.html": "html",
                               "latin1.html": "html", "notes.md": "markdown", "utf8.txt": "text",
                               "latin1.txt": "text"})
        self.assertEqual(files["text-3p.pdf"]["pages"], 3)
        self.assertEqual(files["pages-500.pdf"]["pages"], 500)   # under the 2,000-page cap
        self.assertIsNone(files["resume.docx"]["pages"])
        self.assertTrue(files["latin1.txt"]["from_latin1"])
        # latin1.html declares its charset: read as declared (not a guess)
        self.assertTrue(self.sql("SELECT bool_or(contains(text, 'M\u00fcller')) FROM real_good "
                                 "WHERE file_name = 'latin1.html'")[0][0])
        self.assertFalse(files["utf8.txt"]["from_latin1"])
        # PDF chunks carry their page; a chunk never crosses pages
        rows = self.sql("SELECT page, text FROM real_good WHERE file_name = 'text-3p.pdf' "
                        "ORDER BY chunk")
        self.assertEqual(sorted({r[0] for r in rows}), [1, 2, 3])
        for page, text in rows:
            self.assertNotIn("marker-p%d" % (page % 3 + 1), text)
        self.assertTrue(any("marker-p2" in t for p, t in rows if p == 2))
        rows = self.sql("SELECT count(DISTINCT page), min(page), max(page) FROM real_good "
                        "WHERE file_name = 'pages-500.pdf'")
        self.assertEqual(rows, [[500, 1, 500]])
        rows = self.sql("SELECT count(*) FROM real_good WHERE file_name IN ('resume.docx', "
                        "'page.html') AND page IS NOT NULL")
        self.assertEqual(rows, [[0]])
        html = " ".join(r[0] for r in self.sql("SELECT text FROM real_good WHERE "
                                               "file_name = 'page.html'"))
        self.assertNotIn("<", html)           # text only
        # the PDF original downloads as a PDF under its name
        st, hdrs, got = request("GET", self.base + "/v1/documents/" + files["text-1p.pdf"]["doc_id"])
        self.assertEqual((st, got), (200, self.file("text-1p.pdf")))
        self.assertEqual(hdrs["content-type"], "application/pdf")
        self.assertIn('filename="text-1p.pdf"', hdrs["content-disposition"])
        st, hdrs, _ = request("GET", self.base + "/v1/documents/" + files["resume.docx"]["doc_id"])
        self.assertEqual(hdrs["content-type"], "application/vnd.openxmlformats-officedocument."
                                               "wordprocessingml.document")

    def test_bad_files_each_reported_by_name(self):
        bad = {"encrypted.pdf": "encrypted_pdf", "image-only.pdf": "no_text",
               "truncated.pdf": "bad_document", "corrupt.docx": "bad_document",
               "bomb.docx": "too_large", "no-text.docx": "no_text"}
        files = [("text-1p.pdf", self.file("text-1p.pdf"))] + [(n, self.file(n)) for n in bad]
        obj = self.ingest("real_bad", files, status=400)
        self.assertEqual(obj["code"], "bad_documents")
        got = {f["file_name"]: f["code"] for f in obj["failed"]}
        self.assertEqual(got, bad)
        for n in bad:
            self.assertIn(n, obj["error"])
        self.assertIsNone(self.versions("real_bad"))
        # one at a time, each keeps its own status and code
        for n, code in bad.items():
            obj = self.ingest("real_bad", [(n, self.file(n))],
                              status=413 if code == "too_large" else 400)
            self.assertEqual((obj["code"], obj["file_name"]), (code, n))
        obj = self.ingest("real_bad", files, "&partial=true")
        self.assertEqual([f["file_name"] for f in obj["files"]], ["text-1p.pdf"])
        self.assertEqual({f["file_name"]: f["code"] for f in obj["skipped"]}, bad)
        self.assertEqual(self.sql("SELECT DISTINCT file_name FROM real_bad"), [["text-1p.pdf"]])
        # the server is still up and reads PDFs after all that
        self.assertTrue(self.ingest("real_bad", [("text-2p.pdf", self.file("text-2p.pdf"))],
                                    "&mode=append")["files"][0]["pages"] == 2)

    def test_page_cap(self):
        srv = self.start("serve", env={"LAKEHOUSE_LOG": "quiet",
                                       "LAKEHOUSE_INGESTD_MAX_DOCUMENT_PAGES": "100"})
        body, ctype = multipart([("pages-500.pdf", self.file("pages-500.pdf"))])
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?kind=documents&name=big",
                                  body, {"Content-Type": ctype})
        self.assertEqual((st, obj["code"], obj["file_name"]), (413, "too_many_pages",
                                                               "pages-500.pdf"), obj)
