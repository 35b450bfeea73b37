"""JSON uploads end to end (docs/api.md "JSON input", docs/schema.md "JSON",
ADR 0182): NDJSON and JSON arrays of objects through real storaged, catalogd,
ingestd and queryd processes; columns in first-seen order, typing, nested
values as JSON text, errors with their lines, hostile JSON, the same
digest/idempotency/drift/cast rules as CSV, and the JSON files of the npm
package vega-datasets read back with /query and compared value by value with
Python's json module."""
import datetime
import json
import os
import unittest

from lhtest import ROOT, ServerTest, request_json

VEGA = os.path.join(ROOT, "deps", "node", "node_modules", "vega-datasets", "data")
# JSON arrays of flat objects (weekly-weather has nested values, countries a
# key that only some rows have, movies nulls and mixed types)
VEGA_FILES = ["cars.json", "movies.json", "penguins.json", "countries.json",
              "weekly-weather.json", "budget.json", "flights-20k.json",
              "football.json", "political-contributions.json", "jobs.json"]


def boundary_body(name, data, boundary="lhjsonboundary"):
    return (("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\n" % (boundary, name)).encode()
            + data + ("\r\n--%s--\r\n" % boundary).encode(),
            "multipart/form-data; boundary=" + boundary)


class JsonStack(ServerTest):
    def setUp(self):
        self.storaged = self.start("storaged")
        d = self.storaged.data_dir
        self.catalogd = self.start("catalogd", data_dir=d)
        self.ingestd = self.start("ingestd", data_dir=d, env={
            "LAKEHOUSE_INGESTD_STORAGED_URL": self.storaged.url,
            "LAKEHOUSE_INGESTD_CATALOGD_URL": self.catalogd.url})
        self.queryd = self.start("queryd", data_dir=d, env={
            "LAKEHOUSE_QUERYD_STORAGED_URL": self.storaged.url,
            "LAKEHOUSE_QUERYD_CATALOGD_URL": self.catalogd.url})

    def ingest(self, body, name="people", ctype="application/x-ndjson", query=""):
        return request_json("POST", "%s/ingest?name=%s%s" % (self.ingestd.url, name, query),
                            body=body, headers={"Content-Type": ctype}, timeout=300)

    def ok(self, body, **kw):
        st, _, obj = self.ingest(body, **kw)
        self.assertEqual(st, 200, obj)
        return obj

    def bad(self, body, line, words, code="bad_json", **kw):
        st, _, obj = self.ingest(body, **kw)
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["code"], code, obj)
        if line is not None:
            self.assertEqual(obj.get("line"), line, obj)
        self.assertIn(words, obj["error"])
        return obj

    def query(self, sql):
        st, _, obj = request_json("POST", self.queryd.url + "/query",
                                  {"sql": sql, "max_rows": 1000000}, timeout=120)
        self.assertEqual(st, 200, obj)
        return obj

    def schema(self, obj):
        return [(c["name"], c["type"]) for c in obj["manifest"]["schema"]]


class TestJsonIngest(JsonStack):
    def test_ndjson_columns_types_and_values(self):
        body = (b'{"id": 1, "zip": "02134", "rate": 21.5, "ok": true, "start": "2024-01-05",'
                b' "seen": "2024-01-05T10:00:00Z", "tags": ["a", "b"], "code": "2134"}\n'
                b'\n'
                b'{"id": 2, "zip": "10001", "rate": 30, "ok": false, "start": null,'
                b' "seen": "2024-02-01 09:00:00+01:00", "tags": {"k": [1, {"x": null}]}, "extra": "e"}\n')
        obj = self.ok(body)
        self.assertEqual(obj["row_count"], 2)
        self.assertEqual(self.schema(obj), [
            ("id", "int64"), ("zip", "utf8"), ("rate", "float64"), ("ok", "bool"),
            ("start", "date32"), ("seen", "timestamp[us, tz=UTC]"), ("tags", "utf8"),
            ("code", "utf8"), ("extra", "utf8")])
        nullable = {c["name"]: c["nullable"] for c in obj["manifest"]["schema"]}
        self.assertFalse(nullable["id"])
        self.assertTrue(nullable["start"] and nullable["code"] and nullable["extra"])
        rows = self.query("SELECT * FROM people ORDER BY id")["rows"]
        self.assertEqual(rows, [
            [1, "02134", 21.5, True, "2024-01-05", "2024-01-05T10:00:00Z", '["a","b"]', "2134", None],
            [2, "10001", 30.0, False, None, "2024-02-01T08:00:00Z", '{"k":[1,{"x":null}]}', None, "e"]])

    def test_json_array_by_file_name_and_first_bytes(self):
        data = b'[\n  {"a": 1, "b": "x"},\n  {"a": 2, "b": "y"}\n]\n'
        body, ctype = boundary_body("rows.json", data)
        obj = self.ok(body, ctype=ctype)
        self.assertEqual(self.schema(obj), [("a", "int64"), ("b", "utf8")])
        self.assertEqual(self.query("SELECT * FROM people ORDER BY a")["rows"], [[1, "x"], [2, "y"]])
        # a multipart file with no telling name is recognised by its first byte
        body, ctype = boundary_body("upload.bin", b'{"a": 3, "b": "z"}\n')
        obj = self.ok(body, ctype=ctype, name="other")
        self.assertEqual(self.schema(obj), [("a", "int64"), ("b", "utf8")])

    def test_text_starting_with_a_bracket_is_still_csv(self):
        body, ctype = boundary_body("export.txt", b"[draft] title,owner\n1,2\n")
        obj = self.ok(body, ctype=ctype)
        self.assertEqual(self.schema(obj), [("[draft] title", "int64"), ("owner", "int64")])

    def test_key_first_seen_late_is_a_column(self):
        lines = [b'{"id": %d, "name": "n%d"}' % (i, i) for i in range(1, 50000)]
        lines.append(b'{"id": 50000, "late": 2.5, "name": "last"}')
        obj = self.ok(b"\n".join(lines) + b"\n")
        self.assertEqual(self.schema(obj), [("id", "int64"), ("name", "utf8"), ("late", "float64")])
        r = self.query("SELECT count(*), count(late), max(late) FROM people")["rows"]
        self.assertEqual(r, [[50000, 1, 2.5]])
        r = self.query("SELECT id, name FROM people WHERE id IN (1, 49999) ORDER BY id")["rows"]
        self.assertEqual(r, [[1, "n1"], [49999, "n49999"]])

    def test_a_line_that_is_not_an_object(self):
        self.bad(b'{"a": 1}\n{"a": 2}\n[1, 2]\n', 3, "line 3: the value is an array, not a JSON object")
        self.bad(b'[{"a": 1},\n "x"]', 2, "an element of the array is a string")
        self.bad(b'{"a": 1}\n{"a": 2', 2, "the file ends inside a JSON object")

    def test_empty_uploads(self):
        self.bad(b"[]", None, "no JSON objects", code="empty_file", ctype="application/json")
        self.bad(b"", None, "no JSON objects", code="empty_file", ctype="application/json")
        self.bad(b"[{}]", None, "no keys", code="empty_file", ctype="application/json")


class TestHostileJson(JsonStack):
    def test_deep_nesting(self):
        ok = b'{"a": ' + b"[" * 63 + b"]" * 63 + b"}"
        obj = self.ok(ok)
        self.assertEqual(self.schema(obj), [("a", "utf8")])
        self.bad(b'{"a": ' + b"[" * 100000, 1, "nested deeper than 64 levels")

    def test_huge_numbers_are_text(self):
        obj = self.ok(b'{"a": 123456789012345678901234567890, "b": 1e400, "c": 9223372036854775807}\n'
                      b'{"a": 1, "b": 2.5, "c": 1}\n')
        self.assertEqual(self.schema(obj), [("a", "utf8"), ("b", "utf8"), ("c", "int64")])
        rows = self.query("SELECT * FROM people ORDER BY c")["rows"]
        self.assertEqual(rows, [["1", "2.5", 1],
                                ["123456789012345678901234567890", "1e400", 9223372036854775807]])

    def test_more_digits_than_any_decimal(self):
        # 40 digits declared decimal(38,0): a 400 naming the line, not a
        # failed conversion (infer.h kept 38 of the 39 digit counts)
        st, _, obj = self.ingest(b'{"a": 1}\n{"a": 1234567890123456789012345678901234567890}\n',
                                 query="&types=a:decimal(38,0)")
        self.assertEqual(st, 400, obj)
        self.assertEqual((obj["code"], obj.get("line")), ("bad_value", 2), obj)
        obj = self.ok(b'{"a": 1}\n{"a": 12345678901234567890123456789012345678}\n',
                      query="&types=a:decimal(38,0)")
        self.assertEqual(self.schema(obj), [("a", "decimal(38,0)")])

    def test_invalid_utf8_surrogates_and_nul(self):
        self.bad(b'{"a": "ok"}\n{"a": "\xff\xfe"}\n', 2, "not valid UTF-8")
        self.bad(b'{"a": "ok"}\n\n{"a": "\\ud800"}\n', 3, "lone surrogate")
        obj = self.ok(b'{"a": "\\ud83d\\ude00", "b": "x\\u0000y"}\n')
        self.assertEqual(self.query("SELECT a, b FROM people")["rows"], [["\U0001F600", "x\x00y"]])

    def test_duplicate_and_case_keys(self):
        self.bad(b'{"a": 1, "b": 2}\n{"b": 3, "a": 4, "b": 5}\n', 2, 'the key "b" appears twice')
        self.bad(b'{"Name": 1}\n{"name": 2}\n', 2, "only in letter case")

    def test_trailing_garbage_after_the_array(self):
        self.bad(b'[{"a": 1}]\n{"a": 2}', 2, "something follows the end of the JSON array",
                 ctype="application/json")
        self.bad(b'[{"a": 1},]', 1, "trailing comma", ctype="application/json")

    def test_a_100_mb_string_is_refused(self):
        body = b'{"a": "' + b"x" * (100 << 20) + b'"}\n'
        obj = self.bad(body, 1, "a string longer than 16 MiB")
        self.assertEqual(self.ingestd.proc.poll(), None)
        st, _, _ = request_json("GET", self.ingestd.url + "/health")
        self.assertEqual(st, 200)


class TestJsonLikeCsv(JsonStack):
    """Digest, idempotency, drift and casts are format-neutral (ADR 0132)."""

    def test_idempotent_drift_and_cast(self):
        body = b'{"id": 1, "rate": 1.5}\n{"id": 2, "rate": 2.5}\n'
        first = self.ok(body)
        again = self.ok(body)
        self.assertTrue(again["existing"])
        self.assertEqual(again["manifest"]["version"], first["manifest"]["version"])
        # whole numbers into the float64 column are cast, not drift
        cast = self.ok(b'{"id": 3, "rate": 4}\n', query="&mode=append")
        self.assertEqual(cast["cast"], [{"column": "rate", "from": "int64", "to": "float64"}])
        self.assertEqual(self.query("SELECT sum(rate) FROM people")["rows"], [[8.0]])
        # a quoted number is text: drift, with the diff
        st, _, obj = self.ingest(b'{"id": "4", "rate": 1.5}\n', query="&mode=append")
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "schema_drift")
        self.assertEqual(obj["diff"][0]["column"], "id")

    def test_declared_types_read_quoted_numbers(self):
        """?types= (ADR 0171) applies to JSON values' text: a quoted number
        declared int64 is a number; a value that does not fit names its line."""
        obj = self.ok(b'{"id": "5", "zip": "02134"}\n{"id": "6", "zip": "10001"}\n',
                      query="&types=id:int64")
        self.assertEqual(self.schema(obj), [("id", "int64"), ("zip", "utf8")])
        self.assertEqual(self.query("SELECT sum(id) FROM people")["rows"], [[11]])
        st, _, obj = self.ingest(b'{"id": "5"}\n\n{"id": "x"}\n', name="other",
                                 query="&types=id:int64")
        self.assertEqual(st, 400, obj)
        self.assertEqual((obj["code"], obj.get("line")), ("bad_value", 3), obj)

    def test_same_rows_as_csv_same_fingerprint(self):
        obj = self.ok(b'{"id": 1, "zip": "02134", "day": "2024-01-05"}\n')
        st, _, csv = self.ingest(b"id,zip,day\n1,02134,2024-01-05\n", name="as_csv", ctype="text/csv")
        self.assertEqual(st, 200, csv)
        self.assertEqual(obj["manifest"]["schema_fingerprint"], csv["manifest"]["schema_fingerprint"])


def expected_matches(test, where, v, col_type, got):
    """A value of Python's json module against queryd's JSON cell."""
    if v is None or v == "":
        test.assertIsNone(got, where)
    elif isinstance(v, bool):
        test.assertIs(got, v, where)
    elif isinstance(v, (int, float)):
        if col_type == "VARCHAR":
            test.assertEqual(json.loads(got), v, where)
        else:
            test.assertEqual(got, v, where)
    elif isinstance(v, str):
        if col_type == "DATE":
            test.assertEqual(got, v, where)
        elif col_type.startswith("TIMESTAMP"):
            want = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
            have = datetime.datetime.fromisoformat(got.replace("Z", "+00:00"))
            test.assertEqual(have, want, where)
        else:
            test.assertEqual(got, v, where)
    else:
        test.assertEqual(col_type, "VARCHAR", where)
        test.assertEqual(json.loads(got), v, where)
        test.assertNotIn(", ", got.replace('", "', ""), where)     # compact


@unittest.skipUnless(os.path.isdir(VEGA), "vega-datasets not installed (scripts/bootstrap.sh)")
class TestVegaDatasets(JsonStack):
    def test_vega_json_files_read_back_value_by_value(self):
        for i, fname in enumerate(VEGA_FILES):
            with self.subTest(file=fname):
                path = os.path.join(VEGA, fname)
                with open(path, "rb") as f:
                    data = f.read()
                rows = json.loads(data)
                keys = []
                for r in rows:
                    for k in r:
                        if k not in keys:
                            keys.append(k)
                name = "vega_%d" % i
                body, ctype = boundary_body(fname, data)
                obj = self.ok(body, name=name, ctype=ctype)
                self.assertEqual(obj["row_count"], len(rows))
                self.assertEqual([c["name"] for c in obj["manifest"]["schema"]], keys)
                # rows come back in file order (one object, batches in order)
                res = self.query('SELECT * FROM "%s"' % name)
                self.assertEqual([c["name"] for c in res["columns"]], keys)
                types = [c["type"] for c in res["columns"]]
                self.assertEqual(len(res["rows"]), len(rows))
                for n, (want, got) in enumerate(zip(rows, res["rows"])):
                    for k, key in enumerate(keys):
                        expected_matches(self, "%s row %d %s" % (fname, n, key),
                                         want.get(key), types[k], got[k])


if __name__ == "__main__":
    unittest.main()
