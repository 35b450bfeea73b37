"""ingestd end to end: real storaged, catalogd and ingestd processes on
loopback (docs/api.md, POST /ingest). Upload forms, idempotency, drift, bad CSV, limits, peers
down, spool hygiene."""
import gzip
import json
import os
import random
import socket
import time
import unittest

from lhtest import Server, ServerTest, free_port, request, request_json

CSV = (b"candidate_id,full_name,zip,hourly_rate,available,start_date,last_contacted\n"
       b"1,Ada Byron,02134,85.5,true,2026-01-05,2026-01-05 09:30:00\n"
       b"2,\"Hopper, Grace\",10001,120,FALSE,2026-02-01,2026-02-01T10:00:00.5\n")
EXPECTED_SCHEMA = [
    ("candidate_id", "int64"), ("full_name", "utf8"), ("zip", "utf8"),
    ("hourly_rate", "float64"), ("available", "bool"), ("start_date", "date32"),
    ("last_contacted", "timestamp[us]")]


class IngestStack(ServerTest):
    """storaged + catalogd + ingestd, each its own process, one data dir."""

    def setUp(self):
        self.storaged = self.start("storaged")
        self.data_dir = self.storaged.data_dir
        self.catalogd = self.start("catalogd", data_dir=self.data_dir)
        self.ingestd = self.start_ingestd()

    def start_ingestd(self, **env):
        e = {"LAKEHOUSE_INGESTD_STORAGED_URL": self.storaged.url,
             "LAKEHOUSE_INGESTD_CATALOGD_URL": self.catalogd.url}
        e.update(env)
        return self.start("ingestd", data_dir=self.data_dir, env=e)

    def ingest(self, body, name="candidates", mode=None, ctype="text/csv", srv=None):
        q = "name=%s" % name if name is not None else ""
        if mode:
            q += "&mode=" + mode
        return request_json("POST", "%s/ingest?%s" % ((srv or self.ingestd).url, q),
                            body=body, headers={"Content-Type": ctype})

    def spool_entries(self):
        spool = os.path.join(self.data_dir, "spool")
        return os.listdir(spool) if os.path.isdir(spool) else []

    def versions(self, name="candidates"):
        st, _, obj = request_json("GET", "%s/catalog/versions/%s" % (self.catalogd.url, name))
        return [] if st == 404 else [v["version"] for v in obj["versions"]]


class TestIngest(IngestStack):
    def test_raw_csv_ingest_registers_version_1(self):
        st, _, obj = self.ingest(CSV)
        self.assertEqual(st, 200, obj)
        self.assertFalse(obj["existing"])
        self.assertEqual(obj["row_count"], 2)
        m = obj["manifest"]
        self.assertEqual(m["name"], "candidates")
        self.assertEqual(m["version"], 1)
        self.assertEqual([(c["name"], c["type"]) for c in m["schema"]], EXPECTED_SCHEMA)
        key = obj["parquet_key"]
        fp = m["schema_fingerprint"]
        self.assertTrue(key.startswith("datasets/candidates/%s/" % fp[len("sha256:"):]), key)
        self.assertTrue(key.endswith(".parquet"))
        # the object is in storaged, and it is Parquet
        st, hdrs, data = request("GET", "%s/storage/get/%s" % (self.storaged.url, key))
        self.assertEqual(st, 200)
        self.assertEqual(len(data), obj["parquet_size"])
        self.assertEqual(data[:4], b"PAR1")
        self.assertEqual(data[-4:], b"PAR1")
        self.assertEqual(self.spool_entries(), [])

    def test_multipart_upload(self):
        boundary = "lakehouseBoundary42"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\n" % boundary).encode() + CSV + \
               ("\r\n--%s--\r\n" % boundary).encode()
        st, _, obj = self.ingest(body, ctype="multipart/form-data; boundary=" + boundary)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["row_count"], 2)
        # the same bytes sent raw are the same content: existing
        st, _, obj = self.ingest(CSV)
        self.assertEqual(st, 200, obj)
        self.assertTrue(obj["existing"])

    def test_multipart_name_field(self):
        b = "xx"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nplacements\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n" % (b, b)).encode() \
            + CSV + ("\r\n--%s--\r\n" % b).encode()
        st, _, obj = self.ingest(body, name=None, ctype="multipart/form-data; boundary=" + b)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["name"], "placements")

    def test_reingest_same_bytes_is_existing_and_writes_nothing(self):
        st, _, first = self.ingest(CSV)
        self.assertEqual(st, 200)
        st, _, listing = request_json("GET", self.storaged.url + "/storage/list?prefix=datasets/")
        before = [o["key"] for o in listing["objects"]]
        st, _, again = self.ingest(CSV)
        self.assertEqual(st, 200, again)
        self.assertTrue(again["existing"])
        self.assertEqual(again["manifest"]["version"], 1)
        self.assertEqual(again["parquet_key"], first["parquet_key"])
        st, _, listing = request_json("GET", self.storaged.url + "/storage/list?prefix=datasets/")
        self.assertEqual([o["key"] for o in listing["objects"]], before)
        self.assertEqual(self.versions(), [1])

    def test_new_rows_same_schema_make_version_2_and_append(self):
        self.assertEqual(self.ingest(CSV)[0], 200)
        more = CSV + b"3,Alan Turing,00501,99.99,true,2026-03-01,2026-03-01 12:00:00\n"
        st, _, obj = self.ingest(more)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["version"], 2)
        self.assertEqual(obj["manifest"]["row_count"], 3)
        extra = CSV.split(b"\n")[0] + b"\n4,Edsger Dijkstra,02139,150.25,false,2026-04-01,2026-04-01 08:00:00\n"
        st, _, obj = self.ingest(extra, mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["version"], 3)
        self.assertEqual(obj["manifest"]["row_count"], 4)
        self.assertEqual(len(obj["manifest"]["objects"]), 2)
        self.assertEqual(self.versions(), [1, 2, 3])

    def test_replace_by_one_of_the_appended_files_is_a_new_version(self):
        # append a, append b, replace with b: the dataset becomes b alone
        # (catalogd's rule: a replace is existing only for the same object
        # set); before, ingestd answered existing and a stayed
        head = CSV.split(b"\n")[0] + b"\n"
        a = head + b"7,Grace Hopper,00501,120.50,true,2026-02-01,2026-02-01 10:00:00\n"
        b = head + b"8,Edsger Dijkstra,02139,150.25,false,2026-04-01,2026-04-01 08:00:00\n"
        self.assertEqual(self.ingest(a)[0], 200)
        self.assertEqual(self.ingest(b, mode="append")[0], 200)
        st, _, obj = self.ingest(b, mode="replace")
        self.assertEqual(st, 200, obj)
        self.assertFalse(obj["existing"], obj)
        self.assertEqual(obj["manifest"]["version"], 3)
        self.assertEqual(obj["manifest"]["row_count"], 1)
        self.assertEqual(len(obj["manifest"]["objects"]), 1)
        # and replacing with the same single file again is existing
        st, _, again = self.ingest(b, mode="replace")
        self.assertTrue(again["existing"], again)
        self.assertEqual(self.versions(), [1, 2, 3])

    def test_schema_drift_is_409_with_diff_and_live_data_intact(self):
        st, _, first = self.ingest(CSV)
        self.assertEqual(st, 200)
        drifted = (b"candidate_id,full_name,zip,hourly_rate,available,start_date,last_contacted\n"
                   b"x1,Ada,02134,85.5,true,2026-01-05,2026-01-05 09:30:00\n")
        st, _, obj = self.ingest(drifted)
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "schema_drift")
        self.assertEqual(obj["existing_fingerprint"], first["manifest"]["schema_fingerprint"])
        self.assertNotEqual(obj["new_fingerprint"], obj["existing_fingerprint"])
        self.assertIn({"column": "candidate_id", "change": "type_changed",
                       "old_type": "int64", "new_type": "utf8"},
                      [{k: d.get(k) for k in ("column", "change", "old_type", "new_type")}
                       for d in obj["diff"]])
        st, _, m = request_json("GET", self.catalogd.url + "/catalog/manifest/candidates")
        self.assertEqual(st, 200)
        self.assertEqual(m["version"], 1)
        self.assertEqual(m["objects"][0]["key"], first["parquet_key"])
        st, _, _ = request("GET", "%s/storage/get/%s" % (self.storaged.url, first["parquet_key"]))
        self.assertEqual(st, 200)

    def test_malformed_csv_is_400_with_line(self):
        cases = [
            (b"a,b\n1,2\n3\n", 3),                  # ragged record
            (b"a,b\n1,2\n\"open,3\n4,5\n", 3),      # unterminated quote
            (b"a,b\n1,2\n3,\xff\xfe\n", 3),         # invalid UTF-8
        ]
        for body, line in cases:
            st, _, obj = self.ingest(body, name="bad")
            self.assertEqual(st, 400, (body, obj))
            self.assertEqual(obj.get("line"), line, (body, obj))
            self.assertTrue(obj["error"])
        st, _, obj = self.ingest(b"a,A\n1,2\n", name="bad")
        self.assertEqual(st, 400, obj)
        st, _, obj = self.ingest(b"", name="bad")
        self.assertEqual(st, 400, obj)
        self.assertEqual(self.versions("bad"), [])
        self.assertEqual(self.spool_entries(), [])

    def test_bad_requests(self):
        self.assertError(self.ingest(CSV, name="9bad"), 400, "bad_name")
        self.assertError(self.ingest(CSV, name="a-b"), 400, "bad_name")
        self.assertError(self.ingest(CSV, mode="upsert"), 400, "bad_mode")
        # the media type is a hint, not a gate (ADR 0180): a kind of file ingest
        # does not read is the 415, whatever it is sent as
        self.assertError(self.ingest(gzip.compress(CSV), ctype="text/csv"), 415,
                         "unsupported_format")
        st, _, obj = request_json("POST", self.ingestd.url + "/ingest", body=CSV,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["field"], "name")
        self.assertError(self.ingest(b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--",
                                     ctype="multipart/form-data; boundary=b"), 400, "bad_multipart")
        st, _, obj = request_json("GET", self.ingestd.url + "/ingest?name=a")
        self.assertEqual(st, 405, obj)


class TestIngestLimits(IngestStack):
    def setUp(self):
        self.storaged = self.start("storaged")
        self.data_dir = self.storaged.data_dir
        self.catalogd = self.start("catalogd", data_dir=self.data_dir)
        self.ingestd = self.start_ingestd(LAKEHOUSE_INGESTD_MAX_UPLOAD_BYTES="4096")

    def test_oversize_declared_is_413(self):
        body = CSV + b"3,x,00000,1,true,2026-01-01,2026-01-01 00:00:00\n" * 200
        self.assertError(self.ingest(body), 413, "too_large")
        self.assertEqual(self.versions(), [])

    def test_oversize_chunked_is_413_and_nothing_registered(self):
        def gen():
            yield CSV
            for _ in range(500):
                yield b"3,x,00000,1,true,2026-01-01,2026-01-01 00:00:00\n"
        st, _, obj = request_json("POST", self.ingestd.url + "/ingest?name=candidates",
                                  body=gen(), headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 413, obj)
        self.assertEqual(self.versions(), [])
        self.assertEqual(self.spool_entries(), [])

    def test_client_disconnect_leaves_nothing(self):
        s = socket.create_connection(("127.0.0.1", self.ingestd.port))
        s.sendall(b"POST /ingest?name=candidates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: text/csv\r\nContent-Length: 4000\r\n\r\n" + CSV)
        time.sleep(0.2)
        s.close()
        time.sleep(0.3)
        self.assertEqual(self.spool_entries(), [])
        self.assertEqual(self.versions(), [])
        # the service is still fine
        self.assertEqual(self.ingest(CSV)[0], 200)


class TestIngestPeersDown(IngestStack):
    def test_storaged_down_is_502(self):
        self.storaged.stop()
        st, _, obj = self.ingest(CSV)
        self.assertEqual(st, 502, obj)
        self.assertIn("object store", obj["error"])
        self.assertEqual(self.spool_entries(), [])

    def test_catalogd_down_is_502(self):
        self.catalogd.stop()
        st, _, obj = self.ingest(CSV)
        self.assertEqual(st, 502, obj)
        self.assertIn("catalog", obj["error"])
        self.assertEqual(self.spool_entries(), [])


class TestParquetOverStoragedLimit(IngestStack):
    """The Parquet streams into a chunked PUT, so storaged can only refuse an
    object over its max_object_bytes mid-body: the ingest answers 502 with
    a clear reason and nothing is stored, registered or left in the spool."""

    def setUp(self):
        self.storaged = self.start("storaged", env={"LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "256KiB"})
        self.data_dir = self.storaged.data_dir
        self.catalogd = self.start("catalogd", data_dir=self.data_dir)
        self.ingestd = self.start_ingestd()

    def random_csv(self, rows):
        rnd = random.Random(5)
        return ("id,a,b\n" + "".join("%d,%x,%x\n" % (i, rnd.getrandbits(64), rnd.getrandbits(64))
                                    for i in range(rows))).encode()

    def assertNothingLeft(self):
        self.assertEqual(self.versions(), [])
        st, _, obj = request_json("GET", self.storaged.url + "/storage/list?prefix=datasets/")
        self.assertEqual(obj["objects"], [])
        deadline = time.monotonic() + 5
        while self.spool_entries() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.spool_entries(), [])

    def test_a_little_over_is_storageds_413_relayed(self):
        st, _, obj = self.ingest(self.random_csv(20000))     # ~0.6 MiB of Parquet
        self.assertEqual(st, 502, obj)
        self.assertIn("413", obj["error"])
        self.assertNothingLeft()

    def test_far_over_is_a_cut_connection_explained(self):
        # storaged drops at most 64 MiB past its limit, then closes
        st, _, obj = self.ingest(self.random_csv(3000000))   # ~65 MiB of Parquet
        self.assertEqual(st, 502, obj)
        self.assertIn("max_object_bytes", obj["error"])
        self.assertNothingLeft()
        st, _, obj = self.ingest(CSV)                         # a small one still fits
        self.assertEqual(st, 200, obj)


class TestCompatibleUploadsAreCast(IngestStack):
    """SPEC 16, ADR 0170: an upload whose values all fit the dataset's types
    is converted with them and keeps the fingerprint; the answer lists
    `cast`; anything else is drift as before. The three cases of issue 15."""

    def setUp(self):
        super().setUp()
        self.queryd = self.start("queryd", env={
            "LAKEHOUSE_QUERYD_STORAGED_URL": self.storaged.url,
            "LAKEHOUSE_QUERYD_CATALOGD_URL": self.catalogd.url})

    def query(self, sql):
        st, _, obj = request_json("POST", self.queryd.url + "/query", {"sql": sql})
        self.assertEqual(st, 200, obj)
        return obj

    def schema(self, name):
        st, _, m = request_json("GET", "%s/catalog/manifest/%s" % (self.catalogd.url, name))
        self.assertEqual(st, 200, m)
        return [(c["name"], c["type"]) for c in m["schema"]], m["schema_fingerprint"]

    def test_timesheets_of_whole_hours_append_to_a_float64_column(self):
        week1 = (b"placement_id,week_ending,regular_hours,overtime_hours\n"
                 b"1,2026-01-09,40.5,2.25\n2,2026-01-09,38,0\n")
        week2 = (b"placement_id,week_ending,regular_hours,overtime_hours\n"
                 b"1,2026-01-16,40,0\n2,2026-01-16,36,4\n")
        st, _, first = self.ingest(week1, name="timesheets")
        self.assertEqual(st, 200, first)
        self.assertEqual(first["cast"], [])
        fp = first["manifest"]["schema_fingerprint"]
        st, _, obj = self.ingest(week2, name="timesheets", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["version"], 2)
        self.assertEqual(obj["manifest"]["schema_fingerprint"], fp)
        self.assertEqual(obj["manifest"]["row_count"], 4)
        self.assertEqual(obj["cast"], [
            {"column": "regular_hours", "from": "int64", "to": "float64"},
            {"column": "overtime_hours", "from": "int64", "to": "float64"}])
        self.assertIn("/%s/" % fp[len("sha256:"):], obj["parquet_key"])
        r = self.query("SELECT typeof(any_value(regular_hours)), sum(regular_hours), sum(overtime_hours) "
                       "FROM timesheets")
        self.assertEqual(r["rows"], [["DOUBLE", 154.5, 6.25]])
        # the same bytes again: idempotent under the dataset's fingerprint
        st, _, again = self.ingest(week2, name="timesheets", mode="append")
        self.assertEqual(st, 200, again)
        self.assertTrue(again["existing"])
        self.assertEqual(again["manifest"]["version"], 2)
        self.assertEqual(again["cast"], obj["cast"])
        # replace mode casts too
        week3 = week2.replace(b"2026-01-16", b"2026-01-23")
        st, _, rep = self.ingest(week3, name="timesheets", mode="replace")
        self.assertEqual(st, 200, rep)
        self.assertEqual(rep["manifest"]["schema_fingerprint"], fp)
        self.assertEqual(rep["manifest"]["row_count"], 2)
        self.assertEqual(len(rep["cast"]), 2)
        self.assertEqual(self.versions("timesheets"), [1, 2, 3])

    def test_placements_whose_end_date_is_blank_everywhere_append_to_a_date_column(self):
        v1 = (b"placement_id,candidate_id,start_date,end_date\n"
              b"1,10,2026-01-05,2026-03-31\n2,11,2026-01-12,\n")
        v2 = (b"placement_id,candidate_id,start_date,end_date\n"
              b"3,12,2026-02-02,\n4,13,2026-02-09,\n")
        st, _, first = self.ingest(v1, name="placements")
        self.assertEqual(st, 200, first)
        st, _, obj = self.ingest(v2, name="placements", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [{"column": "end_date", "from": "utf8", "to": "date32"}])
        self.assertEqual(obj["manifest"]["schema_fingerprint"], first["manifest"]["schema_fingerprint"])
        cols, _ = self.schema("placements")
        self.assertEqual(cols, [("placement_id", "int64"), ("candidate_id", "int64"),
                                ("start_date", "date32"), ("end_date", "date32")])
        r = self.query("SELECT count(*), count(end_date), typeof(any_value(end_date)) "
                       "FROM placements")
        self.assertEqual(r["rows"], [[4, 1, "DATE"]])

    def test_anything_after_a_header_only_first_upload(self):
        st, _, first = self.ingest(b"id,name,rate,start\n", name="later")
        self.assertEqual(st, 200, first)
        self.assertEqual(first["manifest"]["row_count"], 0)
        body = b"id,name,rate,start\n7,Ada,85.5,2026-01-05\n8,,true,2026-01-05 09:30:00Z\n"
        st, _, obj = self.ingest(body, name="later", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["manifest"]["schema_fingerprint"], first["manifest"]["schema_fingerprint"])
        self.assertEqual(obj["cast"], [{"column": "id", "from": "int64", "to": "utf8"}])
        r = self.query("SELECT id, name, rate, start FROM later ORDER BY id")
        self.assertEqual(r["rows"], [["7", "Ada", "85.5", "2026-01-05"],
                                     ["8", None, "true", "2026-01-05 09:30:00Z"]])

    def test_anything_into_utf8_is_verbatim(self):
        self.assertEqual(self.ingest(b"code,note\nx1,a\n", name="codes")[0], 200)
        body = b"code,note\n007,1e3\n-0.50,TRUE\n2026-01-05T09:30:00.5+02:00,2026-02-30\n"
        st, _, obj = self.ingest(body, name="codes", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [])   # both columns infer utf8 here: nothing to cast
        body = b"code,note\n1,true\n2,false\n"
        st, _, obj = self.ingest(body, name="codes", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [{"column": "code", "from": "int64", "to": "utf8"},
                                       {"column": "note", "from": "bool", "to": "utf8"}])
        body = b"code,note\n2026-01-05 09:30:00.5+02:00,2.50\n"
        st, _, obj = self.ingest(body, name="codes", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [
            {"column": "code", "from": "timestamp[us, tz=UTC]", "to": "utf8"},
            {"column": "note", "from": "float64", "to": "utf8"}])
        r = self.query("SELECT code, note FROM codes")
        self.assertEqual([row for row in r["rows"]], [
            ["x1", "a"], ["007", "1e3"], ["-0.50", "TRUE"],
            ["2026-01-05T09:30:00.5+02:00", "2026-02-30"], ["1", "true"], ["2", "false"],
            ["2026-01-05 09:30:00.5+02:00", "2.50"]])

    def test_dates_into_a_timestamp_column_are_midnight(self):
        self.assertEqual(self.ingest(b"happened\n2026-01-05 09:30:00\n", name="events")[0], 200)
        st, _, obj = self.ingest(b"happened\n2026-01-06\n", name="events", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [{"column": "happened", "from": "date32", "to": "timestamp[us]"}])
        r = self.query("SELECT CAST(happened AS VARCHAR) FROM events ORDER BY happened")
        self.assertEqual(r["rows"], [["2026-01-05 09:30:00"], ["2026-01-06 00:00:00"]])
        # not into a zoned column: a date has no zone
        self.assertEqual(self.ingest(b"happened\n2026-01-05 09:30:00Z\n", name="zoned")[0], 200)
        st, _, obj = self.ingest(b"happened\n2026-01-06\n", name="zoned", mode="append")
        self.assertEqual(st, 409, obj)
        self.assertEqual(obj["code"], "schema_drift")

    def test_values_that_do_not_fit_are_drift_with_the_diff(self):
        self.assertEqual(self.ingest(b"id,rate,day,n\n1,1.5,2026-01-05,2\n", name="d")[0], 200)
        cases = [
            # a float into an int64 column
            (b"id,rate,day,n\n1.5,1.5,2026-01-05,2\n", "id", "int64", "float64"),
            # text into a date column
            (b"id,rate,day,n\n1,1.5,soon,2\n", "day", "date32", "utf8"),
            # an int64 that no float64 holds exactly (2^53 + 1)
            (b"id,rate,day,n\n1,9007199254740993,2026-01-05,2\n", "rate", "float64", "int64"),
            # a timestamp into a date column (it would lose the time)
            (b"id,rate,day,n\n1,1.5,2026-01-05 10:00:00,2\n", "day", "date32", "timestamp[us]"),
        ]
        for body, column, old, new in cases:
            st, _, obj = self.ingest(body, name="d", mode="append")
            self.assertEqual(st, 409, (body, obj))
            self.assertEqual(obj["code"], "schema_drift")
            self.assertEqual(sorted(obj.keys()), ["code", "diff", "error", "existing_fingerprint",
                                                  "existing_schema", "new_fingerprint",
                                                  "new_schema"], obj)
            self.assertEqual([{k: d.get(k) for k in ("column", "change", "old_type", "new_type")}
                              for d in obj["diff"]],
                             [{"column": column, "change": "type_changed",
                               "old_type": old, "new_type": new}], body)
        # another column order, name or count is drift too, even if every type fits
        for body in (b"rate,id,day,n\n1.5,1,2026-01-05,2\n", b"id,Rate,day,n\n1,1.5,2026-01-05,2\n",
                     b"id,rate,day\n1,1.5,2026-01-05\n"):
            st, _, obj = self.ingest(body, name="d", mode="append")
            self.assertEqual(st, 409, (body, obj))
            self.assertEqual(obj["code"], "schema_drift")
        self.assertEqual(self.versions("d"), [1])
        # an int64 2^53 fits (exact), and so does -2^63
        st, _, obj = self.ingest(b"id,rate,day,n\n1,9007199254740992,2026-01-05,2\n"
                                 b"2,-9223372036854775808,,\n", name="d", mode="append")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["cast"], [{"column": "rate", "from": "int64", "to": "float64"}])


if __name__ == "__main__":
    unittest.main()
