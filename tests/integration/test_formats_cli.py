"""Issue 16 point 6 (ADR 0180): one file of each kind the lakehouse reads
(.ndjson, a .json array, .parquet as it is and converted, .tsv, a
semicolon .csv, .xlsx) through `lakehouse ingest` and through the web upload
form against `lakehouse serve`: each lands, the ingest answer's "format" says
how it was read, the CLI's summary line and the upload page's result say it
in words, a 409 drift body stays as it was (no format), and the page asks for "a file". The
media type the CLI sends for each extension is checked against a stand-in
server that records it."""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

from lhtest import BINARY, ServerTest, request, request_json
from test_formats_detect import multipart
from test_gateway import built
from test_xlsx_ingest import generator

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cli(url, *args):
    env = dict(os.environ, LAKEHOUSE_URL=url)
    env.pop("LAKEHOUSE_TOKEN", None)
    return subprocess.run([BINARY] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)


class TestCliMediaTypes(unittest.TestCase):
    """The CLI sends the media type of the file's extension (cli_ingest.c's
    media_type_of) and prints the answer's "format" in words."""

    def test_media_type_per_extension_and_words(self):
        seen = []
        answer = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                seen.append((self.path, self.headers.get("Content-Type")))
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        url = "http://127.0.0.1:%d" % httpd.server_address[1]
        tmp = tempfile.mkdtemp(prefix="lh-fmt-cli-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cases = [
            ("a.ndjson", "application/x-ndjson", {"name": "json", "layout": "ndjson"},
             "read as NDJSON"),
            ("a.jsonl", "application/x-ndjson", {"name": "json", "layout": "ndjson"},
             "read as NDJSON"),
            ("a.json", "application/json", {"name": "json", "layout": "array"},
             "read as a JSON array of objects"),
            ("a.parquet", "application/vnd.apache.parquet",
             {"name": "parquet", "stored_as_is": True}, "stored the Parquet file as it is"),
            ("a.PARQUET", "application/vnd.apache.parquet",
             {"name": "parquet", "stored_as_is": False}, "converted the Parquet file"),
            ("a.tsv", "text/tab-separated-values", {"name": "tsv", "delimiter": "\t"},
             "read as tab-separated text"),
            ("a.csv", "text/csv", {"name": "csv", "delimiter": ";"},
             "read as semicolon-separated text"),
            ("a.xlsx", XLSX_TYPE, {"name": "xlsx", "sheet": "Placements"},
             "read sheet Placements of the workbook"),
            ("a.dat", "application/octet-stream", {"name": "csv", "delimiter": "|"},
             "read as pipe-separated text"),
        ]
        for fname, ctype, fmt, words in cases:
            path = os.path.join(tmp, fname)
            with open(path, "wb") as f:
                f.write(b"x")
            answer.clear()
            answer.update({"manifest": {"name": "d", "version": 1, "row_count": 2,
                                        "schema": [{"name": "a"}]},
                           "existing": False, "row_count": 2, "cast": [], "evolved": None,
                           "format": fmt})
            p = cli(url, "ingest", "d", path)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(seen[-1][1], ctype, fname)
            self.assertEqual(p.stdout.decode(),
                             "d: version 1, 2 rows, 1 column (new version; %s)\n" % words)
        # comma CSV, the default, and an older server without "format": no words
        for fmt in ({"name": "csv", "delimiter": ","}, None):
            answer["format"] = fmt
            p = cli(url, "ingest", "d", os.path.join(tmp, "a.csv"))
            self.assertEqual(p.stdout, b"d: version 1, 2 rows, 1 column (new version)\n")


@unittest.skipUnless(built("ingestd") and built("queryd") and built("catalogd"),
                     "ingestd/queryd/catalogd are not all built into this binary")
class TestFormatsCli(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lh-formats-cli-")
        subprocess.run([generator(), cls.tmp], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.srv = self.start("serve")

    def rows(self, sql):
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", body={"sql": sql})
        self.assertEqual(st, 200, obj)
        return obj["rows"]

    def export(self, sql):
        st, _, data = request("POST", self.srv.url + "/v1/query",
                              body={"sql": sql, "format": "parquet"})
        self.assertEqual(st, 200, data[:300])
        return data

    def files(self):
        """(file name, bytes, the answer's format, the words, rows, extra CLI args)"""
        base = request_json("POST", self.srv.url + "/v1/ingest?name=src", body=b"id,name\n1,Ada\n2,Bo\n",
                            headers={"Content-Type": "text/csv"})
        self.assertEqual(base[0], 200, base[2])
        as_is = self.export("SELECT * FROM src ORDER BY id")
        converted = self.export("SELECT id::INTEGER AS id, name FROM src ORDER BY id")
        with open(os.path.join(self.tmp, "types.xlsx"), "rb") as f:
            xlsx = f.read()
        return [
            ("people.ndjson", b'{"id": 1, "name": "Ada"}\n{"id": 2, "name": "Bo"}\n',
             {"name": "json", "layout": "ndjson"}, "read as NDJSON", 2, []),
            ("people.json", b'[{"id": 1, "name": "Ada"},\n {"id": 2, "name": "Bo"}]\n',
             {"name": "json", "layout": "array"}, "read as a JSON array of objects", 2, []),
            ("people.parquet", as_is, {"name": "parquet", "stored_as_is": True},
             "stored the Parquet file as it is", 2, []),
            ("narrow.parquet", converted, {"name": "parquet", "stored_as_is": False},
             "converted the Parquet file", 2, []),
            ("people.tsv", b"id\tname\n1\tAda, Lovelace\n2\tBo\n",
             {"name": "tsv", "delimiter": "\t"}, "read as tab-separated text", 2, []),
            ("people.csv", b"id;name\n1;Ada\n2;Bo\n", {"name": "csv", "delimiter": ";"},
             "read as semicolon-separated text", 2, []),
            ("staff.xlsx", xlsx, {"name": "xlsx", "sheet": "Staff"},
             "read sheet Staff of the workbook", 4, []),
            ("rates.xlsx", xlsx, {"name": "xlsx", "sheet": "Rates"},
             "read sheet Rates of the workbook", 2, ["--sheet", "Rates"]),
        ]

    def test_each_kind_through_the_cli(self):
        for fname, data, fmt, words, nrows, extra in self.files():
            path = os.path.join(self.tmp, fname)
            with open(path, "wb") as f:
                f.write(data)
            name = "cli_" + fname.replace(".", "_")
            p = cli(self.srv.url, "ingest", name, path, *extra)
            self.assertEqual(p.returncode, 0, (fname, p.stderr))
            out = p.stdout.decode()
            self.assertTrue(out.startswith("%s: version 1, %d rows, " % (name, nrows)), out)
            self.assertTrue(out.endswith("(new version; %s)\n" % words), out)
            self.assertEqual(self.rows("SELECT count(*) FROM %s" % name), [[nrows]])
            # the answer itself: POST /ingest's "format", also when nothing is new
            st, _, obj = request_json(
                "POST", "%s/v1/ingest?name=%s%s" % (self.srv.url, name,
                                                   "&sheet=Rates" if extra else ""),
                body=data, headers={"Content-Type": "application/octet-stream"
                                    if not fname.endswith(".tsv")
                                    else "text/tab-separated-values"})
            self.assertEqual(st, 200, obj)
            self.assertTrue(obj["existing"], (fname, obj))
            self.assertEqual(obj["format"], fmt, fname)

    def test_each_kind_through_the_upload_form(self):
        st, hdrs, page = request("GET", self.srv.url + "/upload")
        self.assertEqual(st, 200)
        self.assertIn(b"<h1>Upload a file</h1>", page)
        self.assertNotIn(b"Upload a CSV", page)
        for ext in (b".json", b".ndjson", b".parquet", b".tsv", b".xlsx", b".csv"):
            self.assertIn(ext, page.split(b'name="file"')[1].split(b">")[0])
        token = hdrs["set-cookie"].split("lh_csrf=")[1].split(";")[0]
        for fname, data, fmt, words, nrows, extra in self.files():
            name = "ui_" + fname.replace(".", "_")
            fields = [("csrf", token), ("name", name)]
            if extra:
                fields.append(("sheet", extra[1]))
            body, ct = multipart(fname, data, fields=fields)
            st, _, page = request("POST", self.srv.url + "/upload", body=body,
                                  headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                           "Content-Type": ct})
            self.assertEqual(st, 200, page[:800])
            self.assertIn(b'data-outcome="new_version"', page)
            want = (words[0].upper() + words[1:] + ".").encode()
            self.assertIn(b'<p id="upload-format">' + want + b"</p>", page, fname)
            self.assertEqual(self.rows("SELECT count(*) FROM %s" % name), [[nrows]])

    def test_drift_answer_stays_as_before(self):
        st, _, obj = request_json("POST", self.srv.url + "/v1/ingest?name=drift",
                                  body=b'{"a": 1}\n', headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", self.srv.url + "/v1/ingest?name=drift",
                                  body=b"b;c\nx;y\n", headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "schema_drift")
        # changed deliberately: a drift body stays as it was before formats
        # (issue 15 point 5), so it carries no "format"
        self.assertNotIn("format", obj)
        st, hdrs, page = request("GET", self.srv.url + "/upload")
        token = hdrs["set-cookie"].split("lh_csrf=")[1].split(";")[0]
        body, ct = multipart("x.tsv", b"b\tc\nx\ty\n", ctype="text/tab-separated-values",
                             fields=[("csrf", token), ("name", "drift")])
        st, _, page = request("POST", self.srv.url + "/upload", body=body,
                              headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                       "Content-Type": ct})
        self.assertEqual(st, 409, page[:800])
        self.assertIn(b'data-outcome="schema_drift"', page)
        self.assertNotIn(b'<p id="upload-format">', page)


if __name__ == "__main__":
    unittest.main()
