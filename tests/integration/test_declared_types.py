"""Declared column types and decimal(p,s) (issue 15 point 2, SPEC 16, ADR 0171),
against `lakehouse serve`:

- `POST /v1/ingest?types=col:type,...` fixes columns' types; a bad list, an
  unknown type or column, or a decimal outside 1 <= p <= 38, 0 <= s <= p is a
  400 with its code; a value that does not fit is a 400 with its line and column;
- decimal(p,s) is written as Parquet DECIMAL, DuckDB shows DECIMAL(p,s), and
  sum() over 120,000 rates is the exact decimal sum (Python's decimal module
  over the same CSV), which the float64 sum of the same file is not;
- the dataset keeps its declaration (manifest `declared_types`): later uploads
  without ?types get the same types, after a restart too, on SQLite and on
  PostgreSQL; a ?types that changes a declared type is drift (409);
- the CLI's --types and the upload page's "types" field (through the gateway's
  form post with its CSRF token)."""
import decimal
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import unittest

from lhtest import BINARY, PostgresServer, ServerTest, request, request_json
from lhtest import PG_BIN

_postgres = None


def postgres():
    global _postgres
    if _postgres is None:
        _postgres = PostgresServer()
    return _postgres


def tearDownModule():
    global _postgres
    if _postgres is not None:
        _postgres.stop()
        _postgres = None


PAY = (b"candidate_id,hourly_rate,zip,start_date\n"
       b"1,42.50,02134,2026-01-05\n"
       b"2,38,10001,2026-01-12\n"
       b"3,0.05,94105,\n")


def rates_csv(n, seed=15):
    """n rates with two decimals, and their exact sum (decimal module)."""
    rng = random.Random(seed)
    rows, total = [], decimal.Decimal(0)
    for i in range(n):
        cents = rng.randrange(1, 300)
        text = "%d.%02d" % (cents // 100, cents % 100)
        rows.append("%d,%s\n" % (i, text))
        total += decimal.Decimal(text)
    return ("id,pay_rate\n" + "".join(rows)).encode(), total


class DeclaredTypesTest(ServerTest):
    def env(self):
        return {}

    def setUp(self):
        self.srv = self.start("serve", env=self.env())

    def ingest(self, csv, name, mode="replace", types=None, srv=None):
        q = "/v1/ingest?name=%s&mode=%s" % (name, mode)
        if types is not None:
            q += "&types=" + types.replace("%", "%25").replace(" ", "%20").replace(",", "%2C")
        return request_json("POST", (srv or self.srv).url + q, body=csv,
                            headers={"Content-Type": "text/csv"})

    def ok(self, csv, name, mode="replace", types=None, srv=None):
        st, _, obj = self.ingest(csv, name, mode, types, srv)
        self.assertEqual(st, 200, obj)
        return obj

    def query_raw(self, sql, srv=None):
        """The JSON answer with numbers as Decimal (exact digits)."""
        st, _, body = request("POST", (srv or self.srv).url + "/v1/query", body={"sql": sql})
        self.assertEqual(st, 200, body[:500])
        return json.loads(body, parse_float=decimal.Decimal)

    def manifest(self, name, srv=None):
        st, _, m = request_json("GET", "%s/v1/catalog/manifest/%s" % ((srv or self.srv).url, name))
        self.assertEqual(st, 200, m)
        return m

    # --- the parameter -------------------------------------------------------

    def test_declared_types_skip_inference(self):
        obj = self.ok(PAY, "pay", types="hourly_rate:decimal(10,2),zip:utf8,start_date:timestamp[us]")
        m = obj["manifest"]
        self.assertEqual([(c["name"], c["type"]) for c in m["schema"]], [
            ("candidate_id", "int64"), ("hourly_rate", "decimal(10,2)"), ("zip", "utf8"),
            ("start_date", "timestamp[us]")])
        self.assertEqual(m["declared_types"], [
            {"column": "hourly_rate", "type": "decimal(10,2)"}, {"column": "zip", "type": "utf8"},
            {"column": "start_date", "type": "timestamp[us]"}])
        r = self.query_raw("SELECT typeof(hourly_rate), hourly_rate, zip, "
                           "CAST(start_date AS VARCHAR) FROM pay ORDER BY candidate_id")
        self.assertEqual(r["columns"][1]["type"], "DECIMAL(10,2)")
        self.assertEqual(r["rows"], [
            ["DECIMAL(10,2)", decimal.Decimal("42.50"), "02134", "2026-01-05 00:00:00"],
            ["DECIMAL(10,2)", decimal.Decimal("38.00"), "10001", "2026-01-12 00:00:00"],
            ["DECIMAL(10,2)", decimal.Decimal("0.05"), "94105", None]])
        # without ?types the same file infers float64 and keeps zip as text
        # (a leading zero), so the declared dataset has another fingerprint
        plain = self.ok(PAY, "pay_plain")
        self.assertNotEqual(plain["manifest"]["schema_fingerprint"], m["schema_fingerprint"])
        self.assertEqual(plain["manifest"]["declared_types"], [])

    def test_bad_types_are_400_with_a_code(self):
        cases = [("hourly_rate:money", "unknown_type"), ("hourly_rate:DECIMAL(10,2)", "unknown_type"),
                 ("hourly_rate:decimal(39,2)", "bad_decimal"),
                 ("hourly_rate:decimal(10,11)", "bad_decimal"),
                 ("hourly_rate:decimal(0,0)", "bad_decimal"),
                 ("hourly_rate", "bad_types"), ("hourly_rate:float64,,zip:utf8", "bad_types"),
                 ("zip:utf8,ZIP:utf8", "bad_types"), ("nope:int64", "unknown_column")]
        for types, code in cases:
            res = self.ingest(PAY, "pay", types=types)
            self.assertError(res, 400, code)
        self.assertEqual(request_json("GET", self.srv.url + "/v1/catalog/datasets")[2]["datasets"], [])

    def test_a_value_that_does_not_fit_is_400_with_line_and_column(self):
        csv = (b"candidate_id,hourly_rate,zip\n"
               b"1,42.50,02134\n"
               b"2,\"38\",10001\n"
               b"3,12.345,94105\n"
               b"x4,1,1\n")
        st, _, obj = self.ingest(csv, "pay", types="hourly_rate:decimal(10,2)")
        self.assertEqual(st, 400, obj)
        self.assertEqual((obj["code"], obj["line"], obj["column"], obj["type"]),
                         ("bad_value", 4, "hourly_rate", "decimal(10,2)"))
        self.assertIn("line 4", obj["error"])
        self.assertIn("never rounded", obj["error"])
        st, _, obj = self.ingest(csv, "pay", types="candidate_id:int64")
        self.assertEqual((st, obj["code"], obj["line"], obj["column"]),
                         (400, "bad_value", 5, "candidate_id"))
        st, _, obj = self.ingest(csv, "pay", types="zip:int64")    # 02134 is a code
        self.assertEqual((st, obj["line"], obj["column"]), (400, 2, "zip"))
        st, _, obj = self.ingest(csv, "pay", types="hourly_rate:decimal(3,2)")
        self.assertEqual((st, obj["line"]), (400, 2))              # 42.50: 2 integer digits
        self.assertIn("before the point", obj["error"])
        self.assertEqual(request_json("GET", self.srv.url + "/v1/catalog/datasets")[2]["datasets"], [])
        # decimal(10,3) takes every value but x4's line has 1 there: fine
        self.ok(csv, "pay", types="hourly_rate:decimal(10,3)")

    def test_declared_float64_refuses_an_inexact_int64(self):
        # ADR 0170's exactness for a declared float64 too: 2^53 + 3 would be
        # stored as 2^53 + 4, so a later append with it is a 400 on its line
        self.ok(b"id,v\n1,1.5\n", "f", types="v:float64")
        st, _, obj = self.ingest(b"id,v\n2,7\n3,9007199254740995\n", "f", mode="append")
        self.assertEqual(st, 400, obj)
        self.assertEqual((obj["code"], obj["line"], obj["column"], obj["type"]),
                         ("bad_value", 3, "v", "float64"))
        self.assertIn("exactly", obj["error"])
        self.assertEqual(self.manifest("f")["version"], 1)
        # the same on the first upload, and an exact one (2^53) is fine
        st, _, obj = self.ingest(b"v\n9007199254740995\n", "g", types="v:float64")
        self.assertEqual((st, obj["code"], obj["line"]), (400, "bad_value", 2))
        self.ok(b"id,v\n2,9007199254740992\n", "f", mode="append")
        r = self.query_raw("SELECT max(v) FROM f")
        self.assertEqual(r["rows"][0][0], 9007199254740992)

    # --- exact money -----------------------------------------------------------

    def test_sum_of_120000_rates_is_exact(self):
        csv, exact = rates_csv(120000)
        self.ok(csv, "rates", types="pay_rate:decimal(10,2)")
        self.ok(csv, "rates_float")
        r = self.query_raw("SELECT sum(pay_rate), typeof(any_value(pay_rate)), count(*) FROM rates")
        self.assertEqual(r["rows"][0][1:], ["DECIMAL(10,2)", 120000])
        self.assertEqual(r["rows"][0][0], exact)
        self.assertEqual(str(r["rows"][0][0]), str(exact))   # the digits, e.g. 179xxx.yy
        f = self.query_raw("SELECT sum(pay_rate), typeof(any_value(pay_rate)) FROM rates_float")
        self.assertEqual(f["rows"][0][1], "DOUBLE")
        self.assertNotEqual(f["rows"][0][0], exact)           # float64 is not exact
        # CSV output keeps the digits too
        st, _, body = request("POST", self.srv.url + "/v1/query",
                              body={"sql": "SELECT sum(pay_rate) AS s FROM rates", "format": "csv"})
        self.assertEqual(st, 200)
        self.assertEqual(body.decode().split(), ["s", str(exact)])

    # --- the dataset keeps its declaration -------------------------------------

    def test_declared_types_apply_to_later_uploads(self):
        self.ok(PAY, "pay", types="hourly_rate:decimal(10,2),zip:utf8")
        # whole-number rates and zips without a leading zero would infer
        # int64: the declaration reads them as decimal and text
        later = b"candidate_id,hourly_rate,zip,start_date\n4,40,60601,2026-02-02\n"
        obj = self.ok(later, "pay", mode="append")
        m = obj["manifest"]
        self.assertEqual(m["version"], 2)
        self.assertEqual(obj["cast"], [])
        self.assertEqual(m["declared_types"], [{"column": "hourly_rate", "type": "decimal(10,2)"},
                                               {"column": "zip", "type": "utf8"}])
        r = self.query_raw("SELECT sum(hourly_rate), max(zip) FROM pay")
        self.assertEqual(r["rows"], [[decimal.Decimal("120.55"), "94105"]])
        # replace keeps it too
        obj = self.ok(later.replace(b"40,", b"41.25,"), "pay", mode="replace")
        self.assertEqual(obj["manifest"]["schema_fingerprint"], m["schema_fingerprint"])
        # a value that does not fit the stored declaration: 400 with its line
        st, _, bad = self.ingest(b"candidate_id,hourly_rate,zip,start_date\n5,1.005,1,\n",
                                 "pay", mode="append")
        self.assertEqual((st, bad["code"], bad["line"], bad["column"]),
                         (400, "bad_value", 2, "hourly_rate"))
        # the same type again, or another column declared: fine, and kept
        obj = self.ok(later.replace(b"4,", b"6,"), "pay", mode="append",
                      types="hourly_rate:decimal(10,2),candidate_id:int64")
        self.assertEqual([d["column"] for d in obj["manifest"]["declared_types"]],
                         ["candidate_id", "hourly_rate", "zip"])
        # a ?types that changes a declared type is drift
        st, _, drift = self.ingest(later.replace(b"4,", b"7,"), "pay", mode="append",
                                   types="hourly_rate:float64")
        self.assertEqual(st, 409, drift)
        self.assertEqual(drift["code"], "schema_drift")
        self.assertEqual(drift["diff"], [{"column": "hourly_rate", "change": "type_changed",
                                          "old_type": "decimal(10,2)", "new_type": "float64"}])
        self.assertEqual(len(self.manifest("pay")["declared_types"]), 3)
        # dropping the dataset drops its declaration: a new one infers again
        st, _, _ = request("DELETE", self.srv.url + "/v1/catalog/manifest/pay")
        self.assertEqual(st, 204)
        obj = self.ok(later, "pay")
        self.assertEqual(obj["manifest"]["declared_types"], [])
        self.assertEqual(obj["manifest"]["schema"][1]["type"], "int64")

    def test_a_new_declaration_on_the_same_bytes_is_recorded(self):
        csv = b"id,zip\n1,10001\n"
        first = self.ok(csv, "z", types="zip:int64")        # what inference says anyway
        self.assertEqual(first["manifest"]["declared_types"], [{"column": "zip", "type": "int64"}])
        plain = b"id,zip\n2,20002\n"
        self.ok(plain, "y")
        again = self.ok(plain, "y", types="zip:int64")       # the same bytes, now declared
        self.assertTrue(again["existing"])
        self.assertEqual(again["manifest"]["version"], 1)
        self.assertEqual(again["manifest"]["declared_types"], [{"column": "zip", "type": "int64"}])
        st, _, bad = self.ingest(b"id,zip\n3,02134\n", "y", mode="append")
        self.assertEqual((st, bad["line"], bad["column"]), (400, 2, "zip"))

    def test_declaration_survives_a_restart(self):
        self.ok(PAY, "pay", types="hourly_rate:decimal(12,4)")
        self.srv.stop()
        srv = self.start("serve", env=self.env(), data_dir=self.srv.data_dir)
        m = self.manifest("pay", srv)
        self.assertEqual(m["declared_types"], [{"column": "hourly_rate", "type": "decimal(12,4)"}])
        obj = self.ok(b"candidate_id,hourly_rate,zip,start_date\n9,10,02134,2026-03-02\n", "pay",
                      mode="append", srv=srv)
        self.assertEqual(obj["manifest"]["schema"][1]["type"], "decimal(12,4)")
        r = self.query_raw("SELECT sum(hourly_rate), typeof(any_value(hourly_rate)) FROM pay", srv)
        self.assertEqual(r["rows"], [[decimal.Decimal("90.5500"), "DECIMAL(12,4)"]])

    # --- CLI and web form -------------------------------------------------------

    def test_cli_types_flag(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "pay.csv")
        with open(path, "wb") as f:
            f.write(PAY)
        env = dict(os.environ, LAKEHOUSE_URL=self.srv.url)
        env.pop("LAKEHOUSE_TOKEN", None)

        def cli(*args):
            return subprocess.run([BINARY] + list(args), env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
        p = cli("ingest", "clipay", path, "--types", "hourly_rate:decimal(10,2), zip:utf8")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.manifest("clipay")["schema"][1]["type"], "decimal(10,2)")
        p = cli("show", "clipay")                     # the schema table marks them
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertTrue(any(l.split()[:3] == ["hourly_rate", "decimal(10,2)", "(declared)"]
                            for l in lines if l.strip()), lines)
        self.assertTrue(any(l.split()[:2] == ["candidate_id", "int64"] and "(declared)" not in l
                            for l in lines), lines)
        p = cli("ingest", "clipay2", path, "--types=hourly_rate:decimal(3,2)")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"line 2", p.stderr)
        self.assertIn(b"hourly_rate", p.stderr)
        p = cli("ingest", "clipay3", path, "--types", "hourly_rate:money")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"money", p.stderr)

    def test_upload_page_types_field(self):
        st, hdrs, page = request("GET", self.srv.url + "/upload")
        self.assertEqual(st, 200)
        self.assertIn(b'name="types"', page)
        token = re.search(r"lh_csrf=([0-9a-f]{64})", hdrs["set-cookie"]).group(1)

        def post(name, types, csv):
            b = "----lhtesttypes"
            body = ("--%s\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n%s\r\n"
                    "--%s\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n%s\r\n"
                    "--%s\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\nreplace\r\n"
                    "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n"
                    "Content-Type: text/csv\r\n\r\n" % (b, token, b, name, b, b)).encode()
            body += csv + ("\r\n--%s\r\nContent-Disposition: form-data; name=\"types\"\r\n\r\n"
                           "%s\r\n--%s--\r\n" % (b, types, b)).encode()
            return request("POST", self.srv.url + "/upload", body=body,
                           headers={"Cookie": "lh_csrf=" + token,
                                    "Content-Type": "multipart/form-data; boundary=" + b})
        st, _, page = post("webpay", "hourly_rate:decimal(10,2), zip:utf8", PAY)
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b'data-outcome="new_version"', page)
        self.assertEqual(self.manifest("webpay")["declared_types"],
                         [{"column": "hourly_rate", "type": "decimal(10,2)"},
                          {"column": "zip", "type": "utf8"}])
        st, _, page = post("webpay2", "hourly_rate:decimal(3,2)", PAY)
        self.assertEqual(st, 400, page[:500])
        self.assertIn(b"line 2", page)
        # an empty field declares nothing
        st, _, page = post("webpay3", "", PAY)
        self.assertEqual(st, 200, page[:500])
        self.assertEqual(self.manifest("webpay3")["declared_types"], [])


@unittest.skipUnless(os.path.exists(os.path.join(PG_BIN, "initdb")), "PostgreSQL not installed")
class PostgresDeclaredTypesTest(DeclaredTypesTest):
    """The catalog's half on PostgreSQL: the declaration is kept, applied,
    replaced, recorded without a version, dropped, and survives a restart."""

    def env(self):
        if not getattr(self, "_env", None):
            pg = postgres()
            self._env = {"LAKEHOUSE_CATALOGD_BACKEND": "postgres",
                         "LAKEHOUSE_CATALOGD_POSTGRES_DSN": pg.dsn(pg.create_database("declared"))}
        return self._env

    # the ingest-only cases need no second run
    test_bad_types_are_400_with_a_code = None
    test_a_value_that_does_not_fit_is_400_with_line_and_column = None
    test_sum_of_120000_rates_is_exact = None
    test_cli_types_flag = None
    test_upload_page_types_field = None
    test_declared_types_skip_inference = None


if __name__ == "__main__":
    unittest.main()
