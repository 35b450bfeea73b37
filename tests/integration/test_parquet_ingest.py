"""Parquet uploads end to end (docs/api.md "Parquet uploads", ADR 0184): one
`lakehouse serve`, files written by DuckDB (the lakehouse's own export,
POST /v1/query "format": "parquet") and by an independent writer (npm's
hyparquet-writer through write_parquet.mjs), read back through /v1/query and
compared value by value; kept as they are (the stored object is the upload,
byte for byte) or converted; drift and append against CSV datasets;
damaged and hostile files are plain 400s."""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import unittest
import uuid

from lhtest import ROOT, Server, request, request_json

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "write_parquet.mjs")
NODE_MODULES = os.path.join(ROOT, "deps", "node", "node_modules")

CSV = (b"id,name,rate,active,start,seen\n"
       b"1,Ada,85.5,true,2026-01-05,2026-01-05 09:30:00\n"
       b"2,\"Hopper, Grace\",,false,2026-02-01,2026-02-01T10:00:00.5\n"
       b"3,Zo\xc3\xab,120,,,\n")


def multipart(data, filename="upload.parquet", ctype="application/vnd.apache.parquet"):
    b = "lhpq" + uuid.uuid4().hex
    head = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            "Content-Type: %s\r\n\r\n" % (b, filename, ctype)).encode()
    return head + data + ("\r\n--%s--\r\n" % b).encode(), "multipart/form-data; boundary=" + b


# ---- hand-made Parquet footers (Thrift compact protocol) -------------------

def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(n):
    return _varint((n << 1) ^ (n >> 63))


class _Struct:
    """A Thrift compact struct: fields added in id order."""
    I32, I64, BINARY, LIST, STRUCT = 5, 6, 8, 9, 12

    def __init__(self):
        self.buf = bytearray()
        self.last = 0

    def _head(self, fid, ftype):
        delta = fid - self.last
        assert 0 < delta <= 15
        self.buf.append((delta << 4) | ftype)
        self.last = fid

    def i32(self, fid, v):
        self._head(fid, self.I32)
        self.buf += _zigzag(v)
        return self

    def i64(self, fid, v):
        self._head(fid, self.I64)
        self.buf += _zigzag(v)
        return self

    def binary(self, fid, b):
        self._head(fid, self.BINARY)
        self.buf += _varint(len(b)) + b
        return self

    def lst(self, fid, etype, items):
        self._head(fid, self.LIST)
        n = len(items)
        self.buf += bytes([(n << 4) | etype]) if n < 15 else bytes([0xF0 | etype]) + _varint(n)
        for it in items:
            if etype == self.STRUCT:
                self.buf += it.end()
            elif etype == self.I32:
                self.buf += _zigzag(it)
            elif etype == self.BINARY:
                self.buf += _varint(len(it)) + it
        return self

    def sub(self, fid, s):
        self._head(fid, self.STRUCT)
        self.buf += s.end()
        return self

    def end(self):
        return bytes(self.buf) + b"\x00"


def parquet_frame(footer, body=b""):
    return b"PAR1" + body + footer + struct.pack("<I", len(footer)) + b"PAR1"


def footer_with_columns(n, num_rows=0, row_groups=()):
    schema = [_Struct().binary(4, b"root").i32(5, n)]
    for i in range(n):
        schema.append(_Struct().i32(1, 2).i32(3, 1).binary(4, b"c%d" % i))   # INT64 OPTIONAL
    return (_Struct().i32(1, 1).lst(2, _Struct.STRUCT, schema).i64(3, num_rows)
            .lst(4, _Struct.STRUCT, list(row_groups)).end())


class TestParquetIngest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve")
        cls.tmp = tempfile.mkdtemp(prefix="lh-pq-")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers --

    def ingest(self, name, data, mode=None, raw_csv=False):
        q = "name=%s" % name + ("&mode=" + mode if mode else "")
        if raw_csv:
            body, ctype = data, "text/csv"
        else:
            body, ctype = multipart(data)
        return request_json("POST", "%s/v1/ingest?%s" % (self.srv.url, q), body=body,
                            headers={"Content-Type": ctype})

    def ok_ingest(self, name, data, **kw):
        st, _, obj = self.ingest(name, data, **kw)
        self.assertEqual(st, 200, obj)
        return obj

    def export(self, sql):
        st, hdrs, data = request("POST", self.srv.url + "/v1/query",
                                 body={"sql": sql, "format": "parquet"})
        self.assertEqual(st, 200, data[:300])
        self.assertEqual(data[:4], b"PAR1")
        return data

    def rows(self, sql):
        st, _, obj = request_json("POST", self.srv.url + "/v1/query", body={"sql": sql})
        self.assertEqual(st, 200, obj)
        return obj["columns"], obj["rows"]

    def schema(self, obj):
        return [(c["name"], c["type"]) for c in obj["manifest"]["schema"]]

    def stored_object(self, obj):
        key = obj["parquet_key"]
        st, _, data = request("GET", "%s/v1/storage/get/%s" % (self.srv.url, key))
        self.assertEqual(st, 200)
        return data

    def write_independent(self, spec):
        if not os.path.isdir(os.path.join(NODE_MODULES, "hyparquet-writer")):
            self.fail("hyparquet-writer is not installed: run scripts/bootstrap.sh")
        sp = os.path.join(self.tmp, uuid.uuid4().hex + ".json")
        out = sp + ".parquet"
        with open(sp, "w") as f:
            json.dump(spec, f)
        subprocess.run(["node", WRITER, sp, out], check=True, timeout=60,
                       env=dict(os.environ, LAKEHOUSE_NODE_MODULES=NODE_MODULES))
        with open(out, "rb") as f:
            return f.read()

    def assertBadParquet(self, data, want, code="bad_parquet", name="hostile"):
        st, _, obj = self.ingest(name, data)
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["code"], code, obj)
        self.assertIn(want, obj["error"])
        for leak in ("/proc", "DuckDB", "Error:", "read_parquet", self.srv.data_dir):
            self.assertNotIn(leak, obj["error"])
        st, _, _ = request("GET", "%s/v1/catalog/versions/%s" % (self.srv.url, name))
        self.assertEqual(st, 404)    # nothing registered

    # -- written by DuckDB (the lakehouse's own export) --

    def test_duckdb_export_of_our_types_is_stored_as_it_is(self):
        self.ok_ingest("pq_src", CSV, raw_csv=True)
        pq = self.export("SELECT * FROM pq_src ORDER BY id")
        obj = self.ok_ingest("pq_copy", pq)
        src_cols, src_rows = self.rows("SELECT * FROM pq_src ORDER BY id")
        self.assertEqual(self.schema(obj), [
            ("id", "int64"), ("name", "utf8"), ("rate", "float64"), ("active", "bool"),
            ("start", "date32"), ("seen", "timestamp[us]")])
        self.assertFalse(obj["existing"])
        self.assertEqual(obj["row_count"], 3)
        # stored as it is: the object is the upload, byte for byte
        self.assertEqual(obj["parquet_size"], len(pq))
        self.assertEqual(obj["manifest"]["objects"][0]["size"], len(pq))
        self.assertEqual(obj["manifest"]["objects"][0]["content_sha256"],
                         hashlib.sha256(pq).hexdigest())
        self.assertEqual(self.stored_object(obj), pq)
        cols, rows = self.rows("SELECT * FROM pq_copy ORDER BY id")
        self.assertEqual(cols, src_cols)
        self.assertEqual(rows, src_rows)
        # nullability comes from the values
        nullable = {c["name"]: c["nullable"] for c in obj["manifest"]["schema"]}
        self.assertEqual(nullable, {"id": False, "name": False, "rate": True, "active": True,
                                    "start": True, "seen": True})
        # the same bytes again: existing (idempotency keys on the content digest)
        again = self.ok_ingest("pq_copy", pq)
        self.assertTrue(again["existing"])
        self.assertEqual(again["manifest"]["version"], obj["manifest"]["version"])

    def test_raw_body_as_parquet_media_type_or_octet_stream(self):
        # detection (format.c): the media type, or the PAR1 magic whatever the type says
        pq = self.export("SELECT 1::BIGINT AS id, 'Ada' AS name")
        for i, ctype in enumerate(["application/vnd.apache.parquet", "application/x-parquet",
                                   "application/octet-stream", "text/csv"]):
            st, _, obj = request_json("POST", "%s/v1/ingest?name=pq_raw%d" % (self.srv.url, i),
                                      body=pq, headers={"Content-Type": ctype})
            self.assertEqual(st, 200, (ctype, obj))
            self.assertEqual(obj["parquet_size"], len(pq))
            self.assertEqual(self.schema(obj), [("id", "int64"), ("name", "utf8")])

    def test_duckdb_export_of_other_types_is_converted(self):
        pq = self.export(
            "SELECT i::INTEGER AS small, (i / 4)::FLOAT AS f32, "
            "TIMESTAMP_NS '2024-01-02 03:04:05.123456789' + INTERVAL (i) HOUR AS ns, "
            "{'k': i, 'tags': ['a', 'b']} AS nested, [i, i + 1] AS list, "
            "12345.67::DECIMAL(18,2) AS wide, TIME '01:02:03' AS t, "
            "(i * 1000)::UBIGINT AS u, NULL::INTEGER AS empty "
            "FROM range(0, 5) r(i) ORDER BY i")
        obj = self.ok_ingest("pq_other", pq)
        schema = self.schema(obj)
        # decimal(18,2) where datasets hold decimals (schema_type_stored), else float64
        self.assertIn(schema[5], [("wide", "decimal(18,2)"), ("wide", "float64")])
        self.assertEqual(schema[:5] + schema[6:], [
            ("small", "int64"), ("f32", "float64"), ("ns", "timestamp[us]"), ("nested", "utf8"),
            ("list", "utf8"), ("t", "utf8"), ("u", "int64"), ("empty", "int64")])
        self.assertNotEqual(self.stored_object(obj), pq)   # converted
        cols, rows = self.rows("SELECT * FROM pq_other ORDER BY small")
        types = [c["type"] for c in cols]
        self.assertEqual(types[:5] + types[6:], [
            "BIGINT", "DOUBLE", "TIMESTAMP", "VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT"])
        self.assertEqual(len(rows), 5)
        for i, r in enumerate(rows):
            self.assertEqual(r[0], i)
            self.assertEqual(r[1], i / 4)
            self.assertEqual(r[2], "2024-01-02T%02d:04:05.123456" % (3 + i))   # ns -> us
            self.assertEqual(json.loads(r[3]), {"k": i, "tags": ["a", "b"]})
            self.assertEqual(json.loads(r[4]), [i, i + 1])
            self.assertEqual(r[5], 12345.67)
            self.assertEqual(r[6], "01:02:03")
            self.assertEqual(r[7], i * 1000)
            self.assertIsNone(r[8])

    # -- written by an independent writer (hyparquet-writer) --

    def test_iceberg_field_ids_are_converted_away(self):
        """Iceberg readers match a Parquet file's columns by its field ids (or
        an iceberg.schema key-value) before the table's name mapping: an upload
        whose ids are not the table's (here swapped) would be read with its
        columns swapped, so it is converted, never stored as it is (R19)."""
        node = ("const{createRequire}=require('module');const r=createRequire(process.argv[1]+"
                "'/noop.js');import(r.resolve('hyparquet')).then(async h=>{const b=require('fs')"
                ".readFileSync(process.argv[2]);const m=h.parquetMetadata(b.buffer.slice("
                "b.byteOffset,b.byteOffset+b.length));console.log(JSON.stringify({ids:m.schema"
                ".map(e=>e.field_id??null),keys:(m.key_value_metadata||[]).map(k=>k.key)}))})")
        iceberg_schema = json.dumps({"type": "struct", "schema-id": 0, "fields": [
            {"id": 2, "name": "first", "required": False, "type": "string"},
            {"id": 1, "name": "last", "required": False, "type": "string"}]})
        for i, (ids, kv) in enumerate([((2, 1), None),
                                       ((None, None), [{"key": "iceberg.schema",
                                                        "value": iceberg_schema}])]):
            cols = []
            for name, fid, data in (("first", ids[0], ["Ada", "Grace"]),
                                    ("last", ids[1], ["Lovelace", "Hopper"])):
                el = {"type": "BYTE_ARRAY", "converted_type": "UTF8"}
                if fid is not None:
                    el["field_id"] = fid
                cols.append({"name": name, "element": el, "data": data})
            spec = {"columns": cols}
            if kv:
                spec["kvMetadata"] = kv
            pq = self.write_independent(spec)
            obj = self.ok_ingest("pq_fid%d" % i, pq)
            stored = self.stored_object(obj)
            self.assertNotEqual(stored, pq)   # converted
            path = os.path.join(self.tmp, "stored%d.parquet" % i)
            with open(path, "wb") as f:
                f.write(stored)
            out = subprocess.run(["node", "-e", node, NODE_MODULES, path], check=True,
                                 timeout=60, capture_output=True).stdout
            meta = json.loads(out)
            self.assertEqual(meta["ids"], [None, None, None], meta)
            self.assertNotIn("iceberg.schema", meta["keys"])
            _, rows = self.rows("SELECT first, last FROM pq_fid%d ORDER BY first" % i)
            self.assertEqual(rows, [["Ada", "Lovelace"], ["Grace", "Hopper"]])

    def independent_rows(self, n):
        """Values for n rows with nulls, and their /v1/query JSON form."""
        rows = []
        for i in range(n):
            rows.append({
                "id": None if i % 97 == 5 else str(i * 1000003 - 7),
                "ok": None if i % 11 == 3 else i % 2 == 0,
                "x": None if i % 13 == 4 else i * 0.25 - 3.5,
                "s": None if i % 17 == 6 else "r%d-\u00e9\u6f22" % i,
                "d": None if i % 19 == 7 else 19000 + i,
                "ts": None if i % 23 == 8 else str(1704164645123456 + i * 1000001),
            })
        return rows

    def spec(self, rows, row_group_size, extra=()):
        cols = [
            ("id", {"type": "INT64"}, True),
            ("ok", {"type": "BOOLEAN"}, False),
            ("x", {"type": "DOUBLE"}, False),
            ("s", {"type": "BYTE_ARRAY", "converted_type": "UTF8"}, False),
            ("d", {"type": "INT32", "converted_type": "DATE"}, False),
            ("ts", {"type": "INT64", "logical_type": {"type": "TIMESTAMP", "isAdjustedToUTC": False,
                                                      "unit": "MICROS"}}, True),
        ]
        out = [{"name": n, "element": e, "bigint": b, "data": [r[n] for r in rows]}
               for n, e, b in cols]
        return {"rowGroupSize": row_group_size, "columns": out + list(extra)}

    def check_independent_values(self, name, rows, extra_check=None):
        import datetime
        cols, got = self.rows("SELECT * FROM %s" % name)
        self.assertEqual(len(got), len(rows))
        epoch = datetime.datetime(1970, 1, 1)
        for r, g in zip(rows, got):
            self.assertEqual(g[0], None if r["id"] is None else int(r["id"]))
            self.assertEqual(g[1], r["ok"])
            self.assertEqual(g[2], r["x"])
            self.assertEqual(g[3], r["s"])
            self.assertEqual(g[4], None if r["d"] is None else
                             (datetime.date(1970, 1, 1) + datetime.timedelta(days=r["d"])).isoformat())
            if r["ts"] is None:
                self.assertIsNone(g[5])
            else:
                t = epoch + datetime.timedelta(microseconds=int(r["ts"]))
                self.assertEqual(g[5], t.strftime("%Y-%m-%dT%H:%M:%S.%f"))
            if extra_check:
                extra_check(r, g)

    def test_independent_writer_plain_file_is_stored_as_it_is(self):
        rows = self.independent_rows(2500)
        pq = self.write_independent(self.spec(rows, 1000))   # 3 row groups
        obj = self.ok_ingest("pq_hy", pq)
        self.assertEqual(self.schema(obj), [
            ("id", "int64"), ("ok", "bool"), ("x", "float64"), ("s", "utf8"), ("d", "date32"),
            ("ts", "timestamp[us]")])
        self.assertEqual(obj["row_count"], 2500)
        self.assertEqual(obj["parquet_size"], len(pq))
        self.assertEqual(self.stored_object(obj), pq)
        self.assertTrue(all(c["nullable"] for c in obj["manifest"]["schema"]))
        self.check_independent_values("pq_hy", rows)

    def test_independent_writer_other_types_are_converted(self):
        rows = self.independent_rows(300)
        extra = [
            {"name": "small", "element": {"type": "INT32"},
             "data": [None if i % 7 == 1 else i - 150 for i in range(300)]},
            {"name": "f32", "element": {"type": "FLOAT"},
             "data": [i / 8 for i in range(300)]},
            {"name": "ms", "element": {"type": "INT64", "converted_type": "TIMESTAMP_MILLIS"},
             "bigint": True, "data": [str(1704164645123 + i) for i in range(300)]},
            {"name": "doc", "element": {"type": "BYTE_ARRAY", "converted_type": "JSON"},
             "data": [{"n": i, "v": [i, "x"]} for i in range(300)]},
            {"name": "uid", "element": {"type": "FIXED_LEN_BYTE_ARRAY", "type_length": 16,
                                        "logical_type": {"type": "UUID"}},
             "data": ["%08x-0000-4000-8000-%012x" % (i, i) for i in range(300)]},
        ]
        pq = self.write_independent(self.spec(rows, 128, extra))
        obj = self.ok_ingest("pq_hy_mixed", pq)
        self.assertEqual(self.schema(obj)[6:], [
            ("small", "int64"), ("f32", "float64"), ("ms", "timestamp[us]"), ("doc", "utf8"),
            ("uid", "utf8")])
        self.assertNotEqual(self.stored_object(obj), pq)

        def extra_check(r, g):
            i = rows.index(r)
            self.assertEqual(g[6], None if i % 7 == 1 else i - 150)
            self.assertEqual(g[7], i / 8)
            ms = 1704164645123 + i
            self.assertEqual(g[8], "2024-01-02T03:04:%02d.%06d" % (5 + (123 + i) // 1000,
                                                                   ((123 + i) % 1000) * 1000))
            self.assertEqual(json.loads(g[9]), {"n": i, "v": [i, "x"]})
            self.assertEqual(g[10], "%08x-0000-4000-8000-%012x" % (i, i))
            del ms
        self.check_independent_values("pq_hy_mixed", rows, extra_check)

    # -- schema rules shared with CSV --

    def test_drift_against_a_csv_dataset_of_another_schema(self):
        self.ok_ingest("pq_people", b"id,name\n1,Ada\n2,Grace\n", raw_csv=True)
        pq = self.export("SELECT 3 AS id, 'x@y.z' AS email")
        st, _, obj = self.ingest("pq_people", pq, mode="append")
        self.assertEqual(st, 409, obj)
        self.assertIn("drift", obj["code"])
        _, rows = self.rows("SELECT * FROM pq_people ORDER BY id")
        self.assertEqual(rows, [[1, "Ada"], [2, "Grace"]])   # untouched

    def test_append_parquet_to_a_csv_dataset_of_the_same_schema(self):
        first = self.ok_ingest("pq_staff", b"id,name,rate\n1,Ada,85.5\n2,Grace,\n", raw_csv=True)
        # kept as it is (same types), then converted (INTEGER -> int64): both append
        same = self.export("SELECT 3::BIGINT AS id, 'Linus' AS name, 70.25::DOUBLE AS rate")
        obj = self.ok_ingest("pq_staff", same, mode="append")
        self.assertEqual(obj["manifest"]["version"], first["manifest"]["version"] + 1)
        self.assertEqual(obj["parquet_size"], len(same))
        self.assertEqual(obj["manifest"]["schema_fingerprint"],
                         first["manifest"]["schema_fingerprint"])
        conv = self.export("SELECT 4::INTEGER AS id, 'Barbara' AS name, 1.5::FLOAT AS rate")
        obj = self.ok_ingest("pq_staff", conv, mode="append")
        self.assertEqual(obj["manifest"]["schema_fingerprint"],
                         first["manifest"]["schema_fingerprint"])
        _, rows = self.rows("SELECT * FROM pq_staff ORDER BY id")
        self.assertEqual(rows, [[1, "Ada", 85.5], [2, "Grace", None], [3, "Linus", 70.25],
                                [4, "Barbara", 1.5]])

    def test_cast_into_a_csv_dataset_converts_instead_of_storing_as_is(self):
        # a float64 dataset; an int64 Parquet fits it (ADR 0170): cast, so converted
        self.ok_ingest("pq_hours", b"who,hours\nAda,7.5\n", raw_csv=True)
        pq = self.export("SELECT 'Grace' AS who, 8::BIGINT AS hours")
        obj = self.ok_ingest("pq_hours", pq, mode="append")
        self.assertEqual(obj["cast"], [{"column": "hours", "from": "int64", "to": "float64"}])
        self.assertNotEqual(self.stored_object(obj), pq)
        _, rows = self.rows("SELECT * FROM pq_hours ORDER BY who")
        self.assertEqual(rows, [["Ada", 7.5], ["Grace", 8.0]])

    # -- damaged and hostile files --

    def test_corrupt_and_hostile_files_are_plain_400s(self):
        good = self.export("SELECT range AS i, 'v' || range AS s FROM range(3000)")
        self.assertBadParquet(good[:len(good) // 2], "cut short")
        self.assertBadParquet(good[:-8] + struct.pack("<I", len(good)) + b"PAR1",
                              "its footer says it is")
        self.assertBadParquet(good[:-4] + b"PARE", "encrypted")
        self.assertBadParquet(b"PAR1" + b"\x5a" * 600 + good[604:], "not readable Parquet")
        self.assertBadParquet(b"PAR1PAR1", "too short")
        # 10,000 columns: over the limit of a dataset's columns
        self.assertBadParquet(parquet_frame(footer_with_columns(10000)),
                              "the file has 10000 columns")
        # a row group that claims 5 rows in 0 bytes
        meta = (_Struct().i32(1, 2).lst(2, _Struct.I32, [0]).lst(3, _Struct.BINARY, [b"c0"])
                .i32(4, 0).i64(5, 5).i64(6, 0).i64(7, 0).i64(9, 4))
        chunk = _Struct().i64(2, 4).sub(3, meta)
        rg = _Struct().lst(1, _Struct.STRUCT, [chunk]).i64(2, 0).i64(3, 5)
        self.assertBadParquet(parquet_frame(footer_with_columns(1, 5, [rg])),
                              "not readable Parquet")
        # a plaintext footer over encrypted columns (FileMetaData.encryption_algorithm)
        schema = [_Struct().binary(4, b"root").i32(5, 1),
                  _Struct().i32(1, 2).i32(3, 1).binary(4, b"c0")]
        meta = (_Struct().i32(1, 1).lst(2, _Struct.STRUCT, schema).i64(3, 0)
                .lst(4, _Struct.STRUCT, []).sub(8, _Struct().sub(1, _Struct())))
        self.assertBadParquet(parquet_frame(meta.end()), "encrypted")
        # a footer whose rows disagree with its row groups
        rg = _Struct().lst(1, _Struct.STRUCT, []).i64(2, 0).i64(3, 0)
        st, _, obj = self.ingest("hostile", parquet_frame(footer_with_columns(1, 7, [rg])))
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["code"], "bad_parquet")
        # the service is still there
        self.assertEqual(request("GET", self.srv.url + "/health")[0], 200)


class TestParquetDecodedSize(unittest.TestCase):
    """A small Parquet file whose values are huge once read (ADR 0184,
    parquet_reader.c note 6): a dictionary holds one 512 KiB string once and
    repeats it for every row. Past [ingestd] max_upload_bytes x 4 it is a 413
    before any conversion, and ingestd's memory stays small (before: the
    conversion built Arrow chunks of 2,048 such strings, GiBs, and answered
    500 with DuckDB's out-of-memory text)."""

    def setUp(self):
        self.srv = Server("serve")

    def tearDown(self):
        self.srv.cleanup()

    def export(self, rows):
        # INTEGER, so the file must be converted; the lakehouse's own DuckDB writes it
        st, _, data = request("POST", self.srv.url + "/v1/query", timeout=300, body={
            "sql": "SELECT range::INTEGER AS i, repeat('x', 524288) AS s FROM range(%d)" % rows,
            "format": "parquet"})
        self.assertEqual(st, 200, data[:300])
        return data

    def ingest(self, name, data):
        body, ctype = multipart(data)
        return request_json("POST", "%s/v1/ingest?name=%s" % (self.srv.url, name), body=body,
                            headers={"Content-Type": ctype}, timeout=300)

    def test_amplified_file_is_refused_with_memory_bounded(self):
        pq = self.export(3000)   # ~1.5 GiB of text once read, plus 8 bytes a row for i
        self.assertLess(len(pq), 1 << 20)
        st, _, obj = self.ingest("amp", pq)
        self.assertEqual(st, 413, obj)
        self.assertEqual(obj["code"], "too_large")
        self.assertIn("the file's values take %d bytes once read" % (3000 * (524288 + 8)),
                      obj["error"])
        self.assertIn("the limit is %d ([ingestd] max_upload_bytes x 4)" % (4 * (256 << 20)),
                      obj["error"])
        self.assertLess(self.srv.peak_rss_kib(), 400 * 1024)
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets")
        self.assertEqual(st, 200, obj)
        self.assertNotIn("amp", json.dumps(obj))   # nothing was registered

    def test_values_within_the_bound_are_read(self):
        st, _, obj = self.ingest("amp_ok", self.export(40))   # 20 MiB once read
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["row_count"], 40)
        st, _, res = request_json("POST", self.srv.url + "/v1/query",
                                  body={"sql": "SELECT count(*), sum(length(s)) FROM amp_ok"})
        self.assertEqual(st, 200, res)
        self.assertEqual(res["rows"], [[40, 40 * 524288]])


if __name__ == "__main__":
    unittest.main()
