"""Format detection on POST /v1/ingest (issue 16 points 1 and 4, ADR 0180)
against `lakehouse serve`: every kind of file the lakehouse does not read is
a 415 unsupported_format whose message says what the file looks like and
what to send instead (raw bodies and multipart, whatever the Content-Type);
delimited text: ?delimiter=, TSV by media type, by file name and by
detection, semicolon CSV detected, an ambiguous file staying comma CSV,
errors with lines in a TSV; the CLI's --delimiter and the upload page's
delimiter field.

The binary samples are made by real writers where the standard library has
one (gzip, bz2, lzma for xz, zipfile, zlib for a PNG, UTF-16 by Python's
codec; zstd by the zstd tool when installed). A legacy .xls is only its
OLE2 header (no .xls writer is installed), a PDF a minimal hand-written
file."""
import bz2
import gzip
import io
import lzma
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import zipfile
import zlib

from lhtest import BINARY, ServerTest, request, request_json
from test_gateway import built

CSV = b"id,name,city\n1,Ada,London\n2,Grace,New York\n"


def png_bytes():
    """A 1x1 PNG written with zlib (the format's real compression)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


# Only the OLE2 compound-file header of a legacy .xls: no writer is installed.
XLS = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff" + \
    b"\x00" * 490
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
DOCX = zip_bytes([("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>")])


def multipart(filename, data, ctype="application/octet-stream", fields=(), after=()):
    b = "----lhformats"
    out = b""
    for k, v in fields:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (b, k, v)).encode()
    out += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: %s\r\n\r\n" % (b, filename, ctype)).encode() + data + b"\r\n"
    for k, v in after:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (b, k, v)).encode()
    return out + ("--%s--\r\n" % b).encode(), "multipart/form-data; boundary=" + b


@unittest.skipUnless(built("ingestd") and built("queryd") and built("catalogd"),
                     "ingestd/queryd/catalogd are not all built into this binary")
class TestFormatsDetect(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lh-formats-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.srv = self.start("serve")

    def ingest(self, body, name="f", ctype="text/csv", query=""):
        headers = {"Content-Type": ctype} if ctype else {}
        return request_json("POST", "%s/v1/ingest?name=%s%s" % (self.srv.url, name, query),
                            body=body, headers=headers)

    def rows(self, sql):
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", body={"sql": sql})
        self.assertEqual(st, 200, obj)
        return [c["name"] for c in obj["columns"]], obj["rows"]

    def assertRefused(self, res, detected, *words):
        st, _, obj = res
        self.assertEqual(st, 415, obj)
        self.assertEqual(obj["code"], "unsupported_format", obj)
        self.assertEqual(obj["detected"], detected, obj)
        for w in words:
            self.assertIn(w, obj["error"])

    # ---- 415: kinds of files the lakehouse does not read -------------------

    def test_every_refusal_raw_and_multipart(self):
        zstd = None
        if shutil.which("zstd"):
            zstd = subprocess.run(["zstd", "-q", "-c"], input=CSV, stdout=subprocess.PIPE,
                                  check=True).stdout
        cases = [
            ("people.xls", XLS, "xls", ["legacy Excel workbook (.xls", "CSV UTF-8"]),
            ("people.zip", zip_bytes([("people.csv", CSV)]), "zip",
             ["a zip archive", "unzip it and send the CSV"]),
            ("report.pdf", PDF, "pdf", ["a PDF document", "PDF documents are not read yet"]),
            ("cv.docx", DOCX, "docx", ["a Word document (.docx)", "not read yet"]),
            ("logo.png", png_bytes(), "png", ["a PNG image", "reads tables"]),
            ("people.csv.gz", gzip.compress(CSV), "gzip",
             ["gzip-compressed", "gunzip", "CSV"]),
            ("people.csv.bz2", bz2.compress(CSV), "bzip2", ["bzip2-compressed", "bunzip2"]),
            ("people.csv.xz", lzma.compress(CSV), "xz", ["xz-compressed", "unxz"]),
            ("people.csv", "id,name\n1,Zoë\n".encode("utf-16"), "utf16",
             ["UTF-16 text", "UTF-8"]),
        ]
        if zstd:
            cases.append(("people.csv.zst", zstd, "zstd", ["zstd-compressed", "unzstd"]))
        for fname, data, detected, words in cases:
            with self.subTest(file=fname, form="raw text/csv"):
                # a declared CSV that is not: the bytes win
                self.assertRefused(self.ingest(data), detected, *words)
            with self.subTest(file=fname, form="raw, no Content-Type"):
                self.assertRefused(self.ingest(data, ctype=None), detected, *words)
            with self.subTest(file=fname, form="multipart"):
                body, ct = multipart(fname, data)
                self.assertRefused(self.ingest(body, ctype=ct), detected, *words)
        # nothing was registered
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets")
        self.assertEqual((st, obj.get("datasets")), (200, []), obj)

    def test_large_refused_upload(self):
        """A 4 MiB gzip is refused from its first 64 KiB (note 8 of
        ingestd.c); the rest of the body is read and dropped by the HTTP
        layer (http_server.c note 2), not spooled or inferred."""
        big = gzip.compress(os.urandom(4 << 20), compresslevel=1)
        self.assertGreater(len(big), 4 << 20)
        self.assertRefused(self.ingest(big, name="big", ctype="application/octet-stream"),
                           "gzip")

    def test_unknown_media_type_with_csv_text_is_read(self):
        # curl --data-binary sends application/x-www-form-urlencoded
        for ct in ("application/x-www-form-urlencoded", "application/octet-stream",
                   "text/plain", None, "application/vnd.ms-excel"):
            with self.subTest(ctype=ct):
                st, _, obj = self.ingest(CSV, name="anytype", ctype=ct)
                self.assertEqual(st, 200, obj)
                self.assertEqual([c["name"] for c in obj["manifest"]["schema"]],
                                 ["id", "name", "city"])

    # ---- delimited text ----------------------------------------------------

    def test_semicolon_csv_detected_and_read_back(self):
        body = "id;name;price\n1;Zoë;1,5\n2;\"Smith; J\";2\n".encode()
        st, _, obj = self.ingest(body, name="semicolons")
        self.assertEqual(st, 200, obj)
        self.assertEqual([(c["name"], c["type"]) for c in obj["manifest"]["schema"]],
                         [("id", "int64"), ("name", "utf8"), ("price", "utf8")])
        cols, rows = self.rows("SELECT * FROM semicolons ORDER BY id")
        self.assertEqual(rows, [[1, "Zoë", "1,5"], [2, "Smith; J", "2"]])
        # the same bytes again: unchanged (the content digest is of the bytes)
        st, _, obj = self.ingest(body, name="semicolons")
        self.assertEqual((st, obj["existing"]), (200, True), obj)

    def test_delimiter_parameter(self):
        body = b"a|b\n1|x,y\n"
        for value in ("|", "%7C", "pipe"):
            with self.subTest(delimiter=value):
                st, _, obj = self.ingest(body, name="piped", query="&delimiter=" + value)
                self.assertEqual(st, 200, obj)
                self.assertEqual(len(obj["manifest"]["schema"]), 2)
        self.assertEqual(self.rows("SELECT a, b FROM piped")[1], [[1, "x,y"]])
        # an explicit comma reads a ';' file as one column
        st, _, obj = self.ingest(b"a;b\n1;2\n", name="onecol", query="&delimiter=%2C")
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["a;b"])
        # tab as %09 and as the word
        for value in ("%09", "tab"):
            with self.subTest(delimiter=value):
                st, _, obj = self.ingest(b"a\tb\n1\t2\n", name="tabbed",
                                         query="&delimiter=" + value)
                self.assertEqual(st, 200, obj)
                self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["a", "b"])
        st, _, obj = self.ingest(b"a:b\n", name="bad", query="&delimiter=%3A")
        self.assertEqual((st, obj["code"], obj["field"]), (400, "bad_delimiter", "delimiter"))
        self.assertIn("delimiter must be one of", obj["error"])
        # ?delimiter= does not make a gzip readable
        self.assertRefused(self.ingest(gzip.compress(b"a;b\n1;2\n"), query="&delimiter=%3B"),
                           "gzip")

    def test_tsv_by_media_type_by_name_and_by_detection(self):
        tsv = b"id\tnote\n1\thello, world\n2\tsemi;colon\n"
        st, _, obj = self.ingest(tsv, name="tsv_type", ctype="text/tab-separated-values")
        self.assertEqual(st, 200, obj)
        self.assertEqual(self.rows("SELECT note FROM tsv_type ORDER BY id")[1],
                         [["hello, world"], ["semi;colon"]])
        # by name (multipart); the part's own type says nothing useful
        body, ct = multipart("notes.tsv", b"id\tnote\n1\ta,b;c|d\n")
        st, _, obj = self.ingest(body, name="tsv_name", ctype=ct)
        self.assertEqual(st, 200, obj)
        self.assertEqual(self.rows("SELECT note FROM tsv_name")[1], [["a,b;c|d"]])
        # detected: no type, no name, tabs split every line the same way
        st, _, obj = self.ingest(b"x\ty\tz\n1\t2\t3\n", name="tsv_detected",
                                 ctype="application/octet-stream")
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["x", "y", "z"])

    def test_ambiguous_file_stays_comma_csv(self):
        # ';' and ',' both split each line in two: comma, as always
        st, _, obj = self.ingest(b"a;b,c\n1;2,3\n", name="amb")
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["a;b", "c"])
        self.assertEqual(self.rows("SELECT * FROM amb")[1], [["1;2", 3]])
        # the other side: without the comma, ';' is unambiguous
        st, _, obj = self.ingest(b"a;b;c\n1;2;3\n", name="unamb")
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["a", "b", "c"])

    def test_tsv_errors_name_their_line(self):
        st, _, obj = self.ingest(b"a\tb\n1\t2\n3\t4\t5\n", name="badtsv",
                                 ctype="text/tab-separated-values")
        self.assertEqual((st, obj["code"], obj["line"]), (400, "bad_csv", 3), obj)
        self.assertIn("line 3: record has 3 fields, the header has 2", obj["error"])
        st, _, obj = self.ingest(b"a\tb\n\"x\"y\t2\n", name="badtsv",
                                 ctype="text/tab-separated-values")
        self.assertEqual((st, obj["line"]), (400, 2), obj)
        self.assertIn("after a closing quote", obj["error"])

    def test_detection_sees_past_a_small_first_piece(self):
        """The pick waits for the head (64 KiB or the whole file), so a file
        sent in small chunks is detected from its lines, not its first
        chunk. A 200 KiB semicolon file, chunked."""
        lines = [b"id;label"] + [b"%d;row %d" % (i, i) for i in range(20000)]
        body = b"\n".join(lines) + b"\n"
        self.assertGreater(len(body), 128 << 10)

        def chunks():
            for i in range(0, len(body), 1000):
                yield body[i:i + 1000]
        st, _, obj = request_json("POST", self.srv.url + "/v1/ingest?name=chunked",
                                  body=chunks(), headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["row_count"], 20000)
        self.assertEqual(self.rows("SELECT count(*), max(id) FROM chunked")[1], [[20000, 19999]])

    def test_multipart_delimiter_field(self):
        body, ct = multipart("x.txt", b"a|b\n1|2\n", fields=[("delimiter", "|")])
        st, _, obj = self.ingest(body, name="formpipe", ctype=ct)
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["a", "b"])
        body, ct = multipart("x.txt", b"a|b\n1|2\n", after=[("delimiter", "|")])
        st, _, obj = self.ingest(body, name="formpipe2", ctype=ct)
        self.assertEqual((st, obj["code"]), (400, "bad_request"), obj)
        self.assertIn("must come before the file", obj["error"])

    # ---- CLI and web upload ------------------------------------------------

    def cli(self, *args):
        env = dict(os.environ, LAKEHOUSE_URL=self.srv.url)
        env.pop("LAKEHOUSE_TOKEN", None)
        return subprocess.run([BINARY] + list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)

    def test_cli_delimiter_and_file_types(self):
        path = os.path.join(self.tmp, "pipes.txt")
        with open(path, "wb") as f:
            f.write(b"a|b;c\n1|2;3\n")   # ambiguous: '|' and ';' both split
        p = self.cli("ingest", "clipipe", path, "--delimiter", "|")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.rows("SELECT * FROM clipipe")[1], [[1, "2;3"]])
        p = self.cli("ingest", "clisemi", path, "--delimiter=;")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.rows("SELECT * FROM clisemi")[0], ["a|b", "c"])
        p = self.cli("ingest", "clibad", path, "--delimiter", "::")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"--delimiter", p.stderr)
        # a .tsv file is sent as TSV
        tsv = os.path.join(self.tmp, "notes.tsv")
        with open(tsv, "wb") as f:
            f.write(b"id\tnote\n1\ta,b\n")
        p = self.cli("ingest", tsv)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.rows("SELECT note FROM notes")[1], [["a,b"]])
        # a gzip: the server's 415 words, exit 1
        gz = os.path.join(self.tmp, "people.csv.gz")
        with open(gz, "wb") as f:
            f.write(gzip.compress(CSV))
        p = self.cli("ingest", "gz", gz)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"gzip-compressed", p.stderr)

    def test_upload_page_delimiter_field(self):
        st, hdrs, page = request("GET", self.srv.url + "/upload")
        self.assertEqual(st, 200)
        self.assertIn(b'name="delimiter"', page)
        # the field comes before the file input (the format is picked from the head)
        self.assertLess(page.index(b'name="delimiter"'), page.index(b'name="file"'))
        token = hdrs["set-cookie"].split("lh_csrf=")[1].split(";")[0]
        body, ct = multipart("x.txt", b"a|b;c\n1|2;3\n",
                             fields=[("csrf", token), ("name", "uipipe"),
                                     ("delimiter", "|")])
        st, _, page = request("POST", self.srv.url + "/upload", body=body,
                              headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                       "Content-Type": ct})
        self.assertEqual(st, 200, page[:500])
        self.assertEqual(self.rows("SELECT * FROM uipipe")[1], [[1, "2;3"]])
        # a refusal is shown in plain words
        body, ct = multipart("people.csv.gz", gzip.compress(CSV),
                             fields=[("csrf", token), ("name", "uigz")])
        st, _, page = request("POST", self.srv.url + "/upload", body=body,
                              headers={"Cookie": "lh_csrf=" + token, "X-CSRF-Token": token,
                                       "Content-Type": ct})
        self.assertEqual(st, 415, page[:500])
        self.assertIn(b"gzip-compressed", page)


if __name__ == "__main__":
    unittest.main()
