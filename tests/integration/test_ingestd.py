"""ingestd end to end: real storaged, catalogd and ingestd processes on
loopback (docs/api.md, POST /ingest). Upload forms, idempotency, drift, bad CSV, limits, peers
down, spool hygiene."""
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
        self.assertError(self.ingest(CSV, ctype="application/json"), 415, "unsupported_media_type")
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


if __name__ == "__main__":
    unittest.main()
