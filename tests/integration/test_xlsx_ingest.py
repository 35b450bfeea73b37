"""Excel workbooks (.xlsx) through POST /v1/ingest, read back through
/v1/query and compared value by value (docs/api.md "Excel workbooks",
docs/schema.md "Excel cells", ADR 0186).

The workbooks are written by a real spreadsheet writer, Debian's
libxlsxwriter (tests/integration/gen_xlsx.c, built by the Makefile as
$(BUILD)/tests/gen_xlsx): every kind of cell, a second sheet, merged header
cells, a hidden first sheet, a 100,000-row sheet (peak RSS measured). What
no writer makes on purpose is made here with Python's zipfile from those
workbooks: the 1904 date system, a formula without a cached value, a file
cut short, a zip bomb, a workbook without sheets.
"""
import datetime
import io
import os
import re
import subprocess
import tempfile
import unittest
import zipfile

from lhtest import BINARY, ROOT, ServerTest, request_json

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GEN = os.path.join(os.path.dirname(BINARY), "tests", "gen_xlsx")
BIG_ROWS = 100000
RSS_LIMIT_KIB = 384 * 1024

# types.xlsx, sheet "Staff" (gen_xlsx.c): the types inferred and every value
# read back, in order. Row 5 of the sheet (formatted, empty cells) is skipped.
STAFF_TYPES = [
    ("name", "utf8"), ("hired", "date32"), ("start", "timestamp[us]"), ("shift", "utf8"),
    ("salary", "float64"), ("headcount", "int64"), ("active", "bool"), ("bonus", "float64"),
    ("grade", "utf8"), ("note", "utf8"), ("serial", "float64"), ("zip", "utf8"),
    ("when", "date32"), ("share", "float64"),
]
STAFF_ROWS = [
    ["Ann", "2024-01-15", "2024-01-15T13:45:30.250000", "08:30:00", 52000.5, 12, True,
     104001.0, "AB", "first", 45306.0, "02134", "2020-02-29", 0.125],
    ["Bob", "1999-12-31", "2000-01-01T00:00:00", "17:05:00", 0.1, -3, False,
     0.2, "CD", None, 45306.5, "10001", "1900-03-01", 1.0],
    ["Zo\u00eb \U0001F600", "1900-01-01", "2024-02-29T23:59:59", "00:00:00", 1e20, 0, True,
     2e20, None, "line one\nline two", 1.0, "00501", "1900-02-28", 0.5],
    ["Dee", None, None, None, None, 7, None, None, None, None, None, None, None, None],
]


def generator():
    """The path of gen_xlsx, built first if this build has not made it."""
    if not os.path.exists(GEN):
        build = os.path.relpath(os.path.dirname(BINARY), ROOT)
        subprocess.run(["make", "-s", "BUILD=" + build, os.path.join(build, "tests", "gen_xlsx")],
                       cwd=ROOT, check=True, timeout=300)
    return GEN


def rewrite(data, changes):
    """The zip `data` with parts replaced: changes maps a part's name to a
    function of its text."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in changes:
                body = changes[info.filename](body.decode()).encode()
            dst.writestr(info.filename, body)
    return out.getvalue()


class TestXlsxIngest(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="lh-xlsx-")
        subprocess.run([generator(), cls.tmp.name, str(BIG_ROWS)], check=True, timeout=300)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def book(self, name):
        with open(os.path.join(self.tmp.name, name), "rb") as f:
            return f.read()

    def serve(self):
        if not hasattr(self, "_srv"):
            self._srv = self.start("serve")
        return self._srv

    def ingest(self, name, body, query="", ctype=XLSX):
        srv = self.serve()
        return request_json("POST", "%s/v1/ingest?name=%s%s" % (srv.url, name, query),
                            body=body, headers={"Content-Type": ctype}, timeout=300)

    def rows(self, sql):
        st, _, res = request_json("POST", self.serve().url + "/v1/query", body={"sql": sql})
        self.assertEqual(st, 200, res)
        return [c["name"] for c in res["columns"]], res["rows"]

    def assertRows(self, got, want):
        self.assertEqual(len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertEqual(len(g), len(w), "row %d" % i)
            for j, (a, b) in enumerate(zip(g, w)):
                if isinstance(b, float) and isinstance(a, (int, float)):
                    self.assertEqual(float(a), b, "row %d column %d" % (i, j))
                else:
                    self.assertEqual(a, b, "row %d column %d" % (i, j))

    def test_every_kind_of_cell_round_trips(self):
        st, _, obj = self.ingest("staff", self.book("types.xlsx"))
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["row_count"], len(STAFF_ROWS))
        types = [(c["name"], c["type"]) for c in obj["manifest"]["schema"]]
        self.assertEqual(types, STAFF_TYPES)
        cols, rows = self.rows('SELECT * FROM staff')
        self.assertEqual(cols, [n for n, _ in STAFF_TYPES])
        self.assertRows(rows, STAFF_ROWS)
        # the same bytes again: the content digest says it is there
        st, _, again = self.ingest("staff", self.book("types.xlsx"))
        self.assertEqual(st, 200, again)
        self.assertTrue(again["existing"], again)

    def test_multipart_upload_with_a_file_name(self):
        # as the web form and the CLI send it: the file name says .xlsx, the
        # part's type says nothing
        boundary = "xlsxboundary"
        body = (b"--" + boundary.encode() + b"\r\n"
                b'Content-Disposition: form-data; name="file"; filename="Staff.xlsx"\r\n'
                b"Content-Type: application/octet-stream\r\n\r\n" + self.book("types.xlsx") +
                b"\r\n--" + boundary.encode() + b"--\r\n")
        st, _, obj = self.ingest("staff_form", body,
                                 ctype="multipart/form-data; boundary=" + boundary)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["row_count"], len(STAFF_ROWS))

    def test_declared_types_name_the_sheet_row(self):
        # types= applies as for CSV; a value that does not fit names its row
        st, _, obj = self.ingest("staff_typed", self.book("types.xlsx"), "&types=headcount:float64")
        self.assertEqual(st, 200, obj)
        types = {c["name"]: c["type"] for c in obj["manifest"]["schema"]}
        self.assertEqual(types["headcount"], "float64")
        st, _, err = self.ingest("staff_bad", self.book("types.xlsx"), "&types=zip:int64")
        self.assertEqual(st, 400, err)
        self.assertEqual((err["code"], err["line"], err["column"]), ("bad_value", 2, "zip"))

    def test_sheet_as_a_form_field(self):
        boundary = "sheetboundary"
        body = (b"--" + boundary.encode() + b"\r\n"
                b'Content-Disposition: form-data; name="file"; filename="book.xlsx"\r\n\r\n' +
                self.book("types.xlsx") + b"\r\n--" + boundary.encode() + b"\r\n"
                b'Content-Disposition: form-data; name="sheet"\r\n\r\nrates\r\n'
                b"--" + boundary.encode() + b"--\r\n")
        st, _, obj = self.ingest("rates_form", body, ctype="multipart/form-data; boundary=" + boundary)
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], ["role", "rate"])
        st, _, err = self.ingest("rates_bad", self.book("types.xlsx"), "&sheet=a%0Ab")
        self.assertEqual(st, 400, err)
        self.assertEqual((err["code"], err["field"]), ("bad_request", "sheet"))

    def test_second_sheet_by_name(self):
        st, _, obj = self.ingest("rates", self.book("types.xlsx"), "&sheet=Rates")
        self.assertEqual(st, 200, obj)
        self.assertEqual([(c["name"], c["type"]) for c in obj["manifest"]["schema"]],
                         [("role", "utf8"), ("rate", "float64")])
        self.assertRows(self.rows("SELECT * FROM rates")[1], [["dev", 100.0], ["ops", 85.5]])
        st, _, err = self.ingest("rates", self.book("types.xlsx"), "&sheet=Payroll")
        self.assertEqual(st, 400, err)
        self.assertEqual(err["code"], "unknown_sheet")
        self.assertIn('no sheet named "Payroll"', err["error"])
        self.assertIn('"Staff", "Rates"', err["error"])
        self.assertEqual(err["sheets"], ["Staff", "Rates"])

    def test_cli_ingest_with_a_sheet(self):
        # lakehouse ingest NAME file.xlsx [--sheet NAME] (docs/cli.md)
        env = dict(os.environ, LAKEHOUSE_URL=self.serve().url)
        path = os.path.join(self.tmp.name, "types.xlsx")
        run = lambda *args: subprocess.run([BINARY, "ingest"] + list(args), env=env, timeout=120,
                                           capture_output=True, text=True)
        r = run("staff_cli", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "staff_cli: version 1, 4 rows, 14 columns (new version; "
                                   "read sheet Staff of the workbook)\n")
        r = run("rates_cli", path, "--sheet", "Rates")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "rates_cli: version 1, 2 rows, 2 columns (new version; "
                                   "read sheet Rates of the workbook)\n")
        r = run("rates_cli", path, "--sheet=Pay & Rates")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('the workbook has no sheet named "Pay & Rates"; its sheets are "Staff", "Rates"',
                      r.stderr)

    def test_hidden_first_sheet_is_passed_over(self):
        st, _, obj = self.ingest("cities", self.book("hidden_first.xlsx"))
        self.assertEqual(st, 200, obj)
        self.assertRows(self.rows("SELECT * FROM cities")[1], [["Lyon"]])
        st, _, obj = self.ingest("secret", self.book("hidden_first.xlsx"), "&sheet=Secret")
        self.assertEqual(st, 200, obj)
        self.assertRows(self.rows("SELECT * FROM secret")[1], [["hidden"]])

    def test_merged_header_cells(self):
        # "Address" is merged over B1:C1; with no data in C, C is dropped
        st, _, obj = self.ingest("people", self.book("merged.xlsx"))
        self.assertEqual(st, 200, obj)
        cols, rows = self.rows("SELECT * FROM people")
        self.assertEqual(cols, ["Name", "Address", "Age"])
        self.assertRows(rows, [["Ann", "1 Main St", 30], ["Bob", "2 High St", 41]])
        # with a value in C, the column has no name: a 400 naming the cells
        st, _, err = self.ingest("people_bad", self.book("merged_bad.xlsx"))
        self.assertEqual(st, 400, err)
        self.assertEqual(err["code"], "bad_header")
        self.assertIn("the first in cell C3", err["error"])
        self.assertIn("merged cell B1:C1", err["error"])
        self.assertEqual((err["cell"], err["column"]), ("C1", "C"))

    def test_1904_dates_and_a_formula_without_a_value(self):
        # the writer's workbook switched to the 1904 date system, and H2's
        # cached value removed: the serials now count from 1904-01-01
        data = rewrite(self.book("types.xlsx"), {
            "xl/workbook.xml": lambda x: x.replace("<workbookPr ", '<workbookPr date1904="1" '),
            "xl/worksheets/sheet1.xml": lambda x: x.replace("<f>E2*2</f><v>104001</v>",
                                                            "<f>E2*2</f>"),
        })
        st, _, obj = self.ingest("staff1904", data)
        self.assertEqual(st, 200, obj)
        cols, rows = self.rows("SELECT hired, bonus FROM staff1904")
        epoch = datetime.date(1904, 1, 1)
        want = [(epoch + datetime.timedelta(days=d)).isoformat() for d in (45306, 36525, 1)]
        self.assertEqual([r[0] for r in rows], want + [None])
        self.assertEqual([r[1] for r in rows], [None, 0.2, 2e20, None])

    def test_a_large_sheet_in_bounded_memory(self):
        storaged = self.start("storaged")
        d = storaged.data_dir
        catalogd = self.start("catalogd", data_dir=d)
        peers = {"STORAGED_URL": storaged.url, "CATALOGD_URL": catalogd.url}
        ingestd = self.start("ingestd", data_dir=d, env={
            "LAKEHOUSE_INGESTD_" + k: v for k, v in peers.items()})
        queryd = self.start("queryd", data_dir=d, env={
            "LAKEHOUSE_QUERYD_" + k: v for k, v in peers.items()})
        path = os.path.join(self.tmp.name, "big.xlsx")
        with open(path, "rb") as f:
            st, _, obj = request_json("POST", ingestd.url + "/ingest?name=big", body=f,
                                      headers={"Content-Type": XLSX,
                                               "Content-Length": str(os.path.getsize(path))},
                                      timeout=600)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["row_count"], BIG_ROWS)
        self.assertEqual([(c["name"], c["type"]) for c in obj["manifest"]["schema"]],
                         [("id", "int64"), ("name", "utf8"), ("score", "float64"),
                          ("day", "date32"), ("flag", "bool")])
        rss = ingestd.peak_rss_kib()
        with zipfile.ZipFile(path) as z:
            sheet_bytes = z.getinfo("xl/worksheets/sheet1.xml").file_size
        print("\n  big.xlsx: %d rows, %.1f MiB file, sheet XML %.1f MiB inflated, "
              "ingestd peak RSS %.1f MiB" % (BIG_ROWS, os.path.getsize(path) / 2**20,
                                             sheet_bytes / 2**20, rss / 1024))
        self.assertLess(rss, RSS_LIMIT_KIB)
        st, _, res = request_json("POST", queryd.url + "/query", body={"sql":
            "SELECT count(*), sum(id), min(day), max(day), count(*) FILTER (WHERE flag), "
            "max(score), min(name) FROM big"})
        self.assertEqual(st, 200, res)
        n = BIG_ROWS
        self.assertEqual(res["rows"][0], [n, n * (n + 1) // 2, "2009-07-06", "2012-03-31", n // 2,
                                          n * 0.5, "name-1"])
        st, _, res = request_json("POST", queryd.url + "/query", body={"sql":
            "SELECT id, name, score, day, flag FROM big WHERE id IN (1, 77777, 100000) ORDER BY id"})
        self.assertEqual(st, 200, res)
        self.assertEqual(res["rows"], [[1, "name-1", 0.5, "2009-07-07", True],
                                       [77777, "name-77777", 38888.5, "2011-08-22", True],
                                       [100000, "name-100000", 50000.0, "2009-07-06", False]])

    def test_a_damaged_workbook_is_a_400_in_plain_words(self):
        data = self.book("types.xlsx")
        at = data.index(b"xl/worksheets/sheet1.xml") + 60     # inside the sheet's deflated data
        for label, body in (("cut short", data[:len(data) // 2]),
                            ("bytes changed", data[:at] + bytes(b ^ 0x5A for b in data[at:at + 200])
                             + data[at + 200:])):
            with self.subTest(label):
                st, _, err = self.ingest("broken", body)
                self.assertEqual(st, 400, err)
                self.assertEqual(err["code"], "bad_xlsx")
                self.assertTrue(err["error"].startswith(
                    "the file is not a readable Excel workbook: "), err)
                for internal in ("libzip", "zip_", "/tmp", "spool", "xmlParse", "errno"):
                    self.assertNotIn(internal, err["error"])

    def test_a_zip_bomb_is_refused(self):
        # 512 MiB of empty elements inside a sheet deflate to about 0.5 MiB
        out = io.BytesIO()
        src = zipfile.ZipFile(io.BytesIO(self.book("merged.xlsx")))
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename != "xl/worksheets/sheet1.xml":
                    dst.writestr(info.filename, src.read(info.filename))
            with dst.open("xl/worksheets/sheet1.xml", "w") as f:
                f.write(b'<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>a</t></is></c></row>')
                chunk = b"<x/>" * (1 << 18)
                for _ in range(512):
                    f.write(chunk)
                f.write(b"</sheetData></worksheet>")
        body = out.getvalue()
        self.assertLess(len(body), 2 << 20)
        st, _, err = self.ingest("bomb", body)
        self.assertEqual(st, 400, err)
        self.assertEqual(err["code"], "xlsx_too_large")
        self.assertIn("times its compressed size", err["error"])

    def test_a_workbook_without_sheets(self):
        data = rewrite(self.book("merged.xlsx"), {
            "xl/workbook.xml": lambda x: re.sub(r"<sheets>.*</sheets>", "<sheets/>", x)})
        st, _, err = self.ingest("nosheets", data)
        self.assertEqual(st, 400, err)
        self.assertEqual(err["code"], "bad_xlsx")
        self.assertIn("it has no worksheet", err["error"])

    def with_sheet(self, sheet_xml, strings_xml=None):
        """merged.xlsx with its first sheet (and maybe its shared strings)
        replaced: a workbook no writer makes on purpose."""
        src = zipfile.ZipFile(io.BytesIO(self.book("merged.xlsx")))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            names = src.namelist()
            for name in names:
                body = src.read(name)
                if name == "xl/worksheets/sheet1.xml":
                    body = sheet_xml
                elif name == "xl/sharedStrings.xml" and strings_xml is not None:
                    body = strings_xml
                dst.writestr(name, body)
            if strings_xml is not None and "xl/sharedStrings.xml" not in names:
                dst.writestr("xl/sharedStrings.xml", strings_xml)
        return out.getvalue()

    def test_stored_numbers_with_trailing_zeros_stay_whole(self):
        # <v>30.0</v> was read as "3e+01": whole-number columns became float64
        rows = [("30.0", "2500.00", "0.1250"), ("100.0", "-7.0", "1E-7"), ("5", "12.50", "2.0")]
        xml = ['<worksheet><sheetData><row r="1">',
               '<c r="A1" t="inlineStr"><is><t>a</t></is></c>',
               '<c r="B1" t="inlineStr"><is><t>b</t></is></c>',
               '<c r="C1" t="inlineStr"><is><t>c</t></is></c></row>']
        for i, (a, b, c) in enumerate(rows, start=2):
            xml.append('<row r="%d"><c r="A%d"><v>%s</v></c><c r="B%d"><v>%s</v></c>'
                       '<c r="C%d"><v>%s</v></c></row>' % (i, i, a, i, b, i, c))
        xml.append("</sheetData></worksheet>")
        st, _, obj = self.ingest("zeros", self.with_sheet("".join(xml)))
        self.assertEqual(st, 200, obj)
        types = [(c["name"], c["type"]) for c in obj["manifest"]["schema"]]
        self.assertEqual(types, [("a", "int64"), ("b", "float64"), ("c", "float64")])
        cols, got = self.rows("SELECT a, b, c FROM zeros")
        self.assertRows(got, [[30, 2500.0, 0.125], [100, -7.0, 1e-7], [5, 12.5, 2.0]])
        # a declared decimal reads "2500.00" as 2500, not "2.5e+03"
        st, _, obj = self.ingest("zeros_dec", self.with_sheet("".join(xml)),
                                 query="&types=b:decimal(10,2)")
        self.assertEqual(st, 200, obj)
        self.assertEqual([c["type"] for c in obj["manifest"]["schema"]][1], "decimal(10,2)")


class TestXlsxDecodedLimit(ServerTest):
    """One large shared string referenced by many rows: the sheet's displayed
    text is bounded by [ingestd] max_upload_bytes x 4 (ADR 0186)."""

    def test_a_string_repeated_past_the_limit_is_refused(self):
        tmp = tempfile.mkdtemp(prefix="lh-xlsx-amp-")
        conf = os.path.join(tmp, "lakehouse.toml")
        with open(conf, "w") as f:
            f.write('[ingestd]\nmax_upload_bytes = "1MiB"\n')
        big = "x" * (64 << 10)
        strings = ('<sst count="2" uniqueCount="2"><si><t>a</t></si><si><t>%s</t></si></sst>' % big)
        sheet = ['<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>']
        for r in range(2, 2 + 100):     # 100 x 64 KiB = 6.25 MiB > 4 MiB
            sheet.append('<row r="%d"><c r="A%d" t="s"><v>1</v></c></row>' % (r, r))
        sheet.append("</sheetData></worksheet>")
        wb = ['<?xml version="1.0" encoding="UTF-8"?>']
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml",
                       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                       '<Default Extension="xml" ContentType="application/xml"/></Types>')
            z.writestr("xl/workbook.xml", wb[0] + '<workbook><sheets><sheet name="S" sheetId="1" '
                       'r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                       '2006/relationships"/></sheets></workbook>')
            z.writestr("xl/_rels/workbook.xml.rels",
                       '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                       'relationships"><Relationship Id="rId1" Type="http://schemas.'
                       'openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                       'Target="worksheets/sheet1.xml"/></Relationships>')
            z.writestr("xl/sharedStrings.xml", strings)
            z.writestr("xl/worksheets/sheet1.xml", "".join(sheet))
        body = out.getvalue()
        self.assertLess(len(body), 1 << 20)
        srv = self.start("serve", args=["--config", conf])
        st, _, err = request_json("POST", srv.url + "/v1/ingest?name=amp", body=body,
                                  headers={"Content-Type": XLSX}, timeout=120)
        self.assertEqual(st, 400, err)
        self.assertEqual(err["code"], "xlsx_too_large")
        self.assertIn("4 times [ingestd] max_upload_bytes", err["error"])
        # under the limit: the same string in 40 rows (2.5 MiB) is read
        sheet2 = sheet[:41] + ["</sheetData></worksheet>"]
        out2 = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(body)) as src, \
                zipfile.ZipFile(out2, "w", zipfile.ZIP_DEFLATED) as dst:
            for name in src.namelist():
                dst.writestr(name, "".join(sheet2) if name == "xl/worksheets/sheet1.xml"
                             else src.read(name))
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=amp2", body=out2.getvalue(),
                                  headers={"Content-Type": XLSX}, timeout=120)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["row_count"], 40)


if __name__ == "__main__":
    unittest.main()
