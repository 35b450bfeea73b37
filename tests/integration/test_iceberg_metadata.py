"""Iceberg metadata per version (issue 19 point 1, SPEC 18, ADR 0230-0233):
queryd's internal GET /iceberg/tables/<name>?base=<URL>[&version=N] builds,
stores write-once and answers each catalog version's Iceberg v2 metadata.

The spec check (issue 19 point 4, last sentence) is test_metadata_has_
every_required_field: for a dataset with appends, a replace and evolved
schemas (a column added, one removed and added back, one widened), the
stored metadata JSON, manifest lists and manifests are read back (the Avro
decoded by avro_lite.py, independent of the C writer) and every field the
Apache Iceberg table spec (format/spec.md, format version 2: "Table
Metadata", "Snapshots", "Manifest Lists", "Manifests": manifest metadata,
manifest_entry, data_file) marks required is checked, with the values the
catalog says it must have. The other tests: bounds per type equal the data's
min and max, field ids over evolution, the name mapping, immutability and
racing builders, rename, another base, errors.
"""
import base64
import datetime
import decimal
import hashlib
import json
import os
import struct
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import avro_lite  # noqa: E402
from lhtest import ServerTest, free_port, request, request_json  # noqa: E402

BASE = "http://files.test/iceberg/v1/files/people"

# The table spec's required fields, format version 2 (format/spec.md).
TABLE_REQUIRED = ["format-version", "table-uuid", "location", "last-sequence-number",
                  "last-updated-ms", "last-column-id", "schemas", "current-schema-id",
                  "partition-specs", "default-spec-id", "last-partition-id", "sort-orders",
                  "default-sort-order-id"]
SNAPSHOT_REQUIRED = ["snapshot-id", "sequence-number", "timestamp-ms", "manifest-list",
                     "summary"]
MANIFEST_FILE_REQUIRED = {  # field id: name
    500: "manifest_path", 501: "manifest_length", 502: "partition_spec_id", 517: "content",
    515: "sequence_number", 516: "min_sequence_number", 503: "added_snapshot_id",
    504: "added_files_count", 505: "existing_files_count", 506: "deleted_files_count",
    512: "added_rows_count", 513: "existing_rows_count", 514: "deleted_rows_count"}
MANIFEST_META_REQUIRED = ["schema", "schema-id", "partition-spec", "partition-spec-id",
                          "format-version", "content"]
ENTRY_REQUIRED = {0: "status", 2: "data_file"}
DATA_FILE_REQUIRED = {134: "content", 100: "file_path", 101: "file_format", 102: "partition",
                      103: "record_count", 104: "file_size_in_bytes"}

V1 = (b"id,name,qty,score,ok,day,ts,tz,amount,code\n"
      b"3,Ada,1,2.5,true,2024-01-02,2024-01-02 03:04:05,2024-05-06T07:08:09Z,12.34,007\n"
      b"1,Grace,7,-1.25,false,2023-12-31,2023-01-01 00:00:00.5,2024-05-06T07:08:10+01:00,"
      b"-5.00,010\n"
      b"2,,3,,true,2025-06-30,2026-01-01 23:59:59,2024-01-01T00:00:00Z,,\n")
V2 = (b"id,name,qty,score,ok,day,ts,tz,amount,code\n"
      b"4,Linus,2,3.5,false,2024-02-29,2024-01-02 03:04:05,2024-05-06T07:08:09Z,1.00,020\n")


def decode_bound(typ, b):
    if typ == "long":
        return struct.unpack("<q", b)[0]
    if typ == "double":
        return struct.unpack("<d", b)[0]
    if typ == "boolean":
        return b == b"\x01"
    if typ == "date":
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=struct.unpack("<i", b)[0])
    if typ in ("timestamp", "timestamptz"):
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(
            microseconds=struct.unpack("<q", b)[0])
    if typ.startswith("decimal("):
        scale = int(typ[:-1].split(",")[1])
        return decimal.Decimal(int.from_bytes(b, "big", signed=True)).scaleb(-scale)
    if typ == "string":
        return b.decode("utf-8")
    raise AssertionError("type " + typ)


def as_map(entries):
    """An Avro array-of-key/value map (None = absent) as a dict."""
    return {e["key"]: e["value"] for e in entries or []}


class IcebergMetadataTest(ServerTest):

    def setUp(self):
        self.qport = free_port()
        self.srv = self.start("serve", env={
            "LAKEHOUSE_QUERYD_BIND": "127.0.0.1:%d" % self.qport})
        self.queryd = "http://127.0.0.1:%d" % self.qport

    # --- helpers -------------------------------------------------------------

    def ingest(self, csv, name="people", mode="replace", evolve=False, types=None):
        q = "/v1/ingest?name=%s&mode=%s" % (name, mode)
        if evolve:
            q += "&evolve=true"
        if types:
            q += "&types=" + urllib.parse.quote(types)
        st, _, obj = request_json("POST", self.srv.url + q, body=csv,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 200, obj)
        return obj["manifest"]

    def table(self, name="people", base=BASE, version=None, expect=200):
        q = "/iceberg/tables/%s?base=%s" % (name, urllib.parse.quote(base, safe=""))
        if version is not None:
            q += "&version=%s" % version
        st, _, obj = request_json("GET", self.queryd + q)
        self.assertEqual(st, expect, obj)
        return obj

    def manifest(self, version, name="people"):
        st, _, obj = request_json(
            "GET", self.srv.url + "/v1/catalog/manifest/%s?version=%d" % (name, version))
        self.assertEqual(st, 200, obj)
        return obj

    def key_of(self, url, base=BASE):
        self.assertTrue(url.startswith(base + "/"), url)
        return url[len(base) + 1:]

    def get_object(self, url, base=BASE):
        st, _, data = request("GET", self.srv.url + "/v1/storage/get/" + self.key_of(url, base))
        self.assertEqual(st, 200, url)
        return data

    def avro(self, url, base=BASE):
        data = self.get_object(url, base)
        meta, schema, records = avro_lite.read(data)
        return data, meta, schema, records

    def history(self):
        """appends, a replace, a column added, one removed and added back, one widened"""
        self.ingest(V1, types="amount:decimal(10,2)")                       # v1
        self.ingest(V2, mode="append")                                      # v2: append
        self.ingest(b"id,name,qty,score,ok,day,ts,tz,amount,code,city\n"
                    b"5,Ken,4,1.5,true,2024-03-01,2024-03-01 00:00:00,2024-03-01T00:00:00Z,"
                    b"2.50,030,Oslo\n", mode="append", evolve=True)         # v3: city added
        self.ingest(b"id,name,qty,score,ok,day,ts,tz,amount,code,city\n"
                    b"6,Barbara,5,0.5,false,2022-01-01,2022-01-01 00:00:00,"
                    b"2022-01-01T00:00:00Z,9.99,040,Rome\n"
                    b"7,Edsger,6,7.5,true,2022-01-02,2022-01-02 00:00:00,"
                    b"2022-01-02T00:00:00Z,0.01,050,Delft\n")               # v4: replace
        self.ingest(b"id,qty,score,ok,day,ts,tz,amount,code,city\n"
                    b"8,1,1.0,true,2021-01-01,2021-01-01 00:00:00,2021-01-01T00:00:00Z,"
                    b"1.11,060,Bern\n", mode="append", evolve=True)         # v5: name removed
        self.ingest(b"id,qty,score,ok,day,ts,tz,amount,code,city,name\n"
                    b"9,2,2.0,false,2021-02-01,2021-02-01 00:00:00,2021-02-01T00:00:00Z,"
                    b"2.22,070,Lima,Alan\n", mode="append", evolve=True)    # v6: name back
        self.ingest(b"id,qty,score,ok,day,ts,tz,amount,code,city,name\n"
                    b"10,2.5,2.0,false,2021-02-01,2021-02-01 00:00:00,2021-02-01T00:00:00Z,"
                    b"2.22,070,Lima,Niklaus\n", mode="append", evolve=True)  # v7: qty -> float64
        return 7

    # --- the spec check --------------------------------------------------------

    def test_metadata_has_every_required_field(self):
        latest = self.history()
        answers = {}
        for n in range(1, latest + 1):
            answers[n] = self.table(version=n)
        self.assertEqual(self.table()["metadata"], answers[latest]["metadata"])
        uuid = answers[1]["metadata"]["table-uuid"]
        for n in range(1, latest + 1):
            with self.subTest(version=n):
                self.check_version(n, answers[n], uuid)

    def check_version(self, n, answer, uuid):
        md = answer["metadata"]
        cat = self.manifest(n)
        loc = answer["location"]
        self.assertEqual(answer["version"], n)
        self.assertEqual(answer["metadata-location"], "%s/metadata/v%d.metadata.json" % (loc, n))
        # the stored file is what was answered
        stored = json.loads(self.get_object(answer["metadata-location"]))
        self.assertEqual(stored, md)
        # table metadata: required fields
        for f in TABLE_REQUIRED:
            self.assertIn(f, md, f)
        self.assertEqual(md["format-version"], 2)
        self.assertEqual(md["table-uuid"], uuid)
        self.assertEqual(md["location"], loc)
        self.assertTrue(loc.startswith(BASE + "/_iceberg/" + uuid + "/"), loc)
        self.assertEqual(md["last-sequence-number"], n)
        self.assertEqual(md["current-snapshot-id"], n)
        self.assertEqual(md["default-spec-id"], 0)
        self.assertEqual(md["partition-specs"], [{"spec-id": 0, "fields": []}])
        self.assertEqual(md["default-sort-order-id"], 0)
        self.assertEqual(md["sort-orders"], [{"order-id": 0, "fields": []}])
        self.assertEqual(md["refs"], {"main": {"snapshot-id": n, "type": "branch"}})
        schema_ids = [s["schema-id"] for s in md["schemas"]]
        self.assertEqual(len(schema_ids), len(set(schema_ids)))
        self.assertIn(md["current-schema-id"], schema_ids)
        ids = set()
        for s in md["schemas"]:
            self.assertEqual(s["type"], "struct")
            for f in s["fields"]:
                for k in ("id", "name", "required", "type"):
                    self.assertIn(k, f)
                ids.add(f["id"])
        self.assertEqual(md["last-column-id"], max(ids))
        current = [s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"]][0]
        # the current schema is the version's, column for column
        self.assertEqual([f["name"] for f in current["fields"]],
                         [c["name"] for c in cat["schema"]])
        mapping = json.loads(md["properties"]["schema.name-mapping.default"])
        self.assertEqual(mapping, [{"field-id": f["id"], "names": [f["name"]]}
                                   for f in current["fields"]])
        # snapshots 1..n
        self.assertEqual([s["snapshot-id"] for s in md["snapshots"]], list(range(1, n + 1)))
        for i, s in enumerate(md["snapshots"], 1):
            for f in SNAPSHOT_REQUIRED:
                self.assertIn(f, s)
            self.assertEqual(s["sequence-number"], i)
            self.assertIn(s["summary"]["operation"], ("append", "overwrite"))
            self.assertIn(s["schema-id"], schema_ids)
            if i > 1:
                self.assertEqual(s["parent-snapshot-id"], i - 1)
            self.assertEqual(s["manifest-list"], "%s/metadata/snap-%d.avro" % (loc, i))
        self.assertEqual(md["last-updated-ms"], md["snapshots"][-1]["timestamp-ms"])
        ts = datetime.datetime.strptime(cat["updated_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        ts = ts.replace(tzinfo=datetime.timezone.utc)
        self.assertEqual(md["last-updated-ms"], int(ts.timestamp() * 1000 + 0.5))
        self.assertEqual([e["snapshot-id"] for e in md["snapshot-log"]], list(range(1, n + 1)))
        self.assertEqual([e["metadata-file"] for e in md["metadata-log"]],
                         ["%s/metadata/v%d.metadata.json" % (loc, i) for i in range(1, n)])
        snap = md["snapshots"][-1]
        self.assertEqual(snap["summary"]["operation"],
                         "overwrite" if cat["mode"] == "replace" and n > 1 else "append")
        self.assertEqual(int(snap["summary"]["total-records"]), cat["row_count"])
        self.assertEqual(int(snap["summary"]["total-data-files"]), len(cat["objects"]))
        # the manifest list
        data, meta, schema, mfiles = self.avro(snap["manifest-list"])
        self.assertEqual(meta["format-version"], b"2")
        self.assertEqual(meta["snapshot-id"], str(n).encode())
        fids = {f["field-id"]: f for f in schema["fields"]}
        for fid, name in MANIFEST_FILE_REQUIRED.items():
            self.assertIn(fid, fids)
            self.assertEqual(fids[fid]["name"], name)
            self.assertNotIsInstance(fids[fid]["type"], list, name)   # not nullable
        files = {}
        for mf in mfiles:
            for name in MANIFEST_FILE_REQUIRED.values():
                self.assertIsNotNone(mf[name], name)
            self.assertEqual(mf["content"], 0)
            self.assertEqual(mf["partition_spec_id"], 0)
            self.assertEqual(mf["deleted_files_count"], 0)
            self.assertEqual(mf["added_snapshot_id"], mf["sequence_number"])
            self.assertLessEqual(mf["sequence_number"], n)
            self.assertLessEqual(mf["min_sequence_number"], mf["sequence_number"])
            self.assertTrue(mf["manifest_path"].startswith(loc + "/metadata/"))
            mdata, mmeta, mschema, entries = self.avro(mf["manifest_path"])
            self.assertEqual(mf["manifest_length"], len(mdata))
            self.check_manifest(mmeta, mschema, entries, mf, md, n)
            self.assertEqual(sum(e["status"] == 1 for e in entries), mf["added_files_count"])
            self.assertEqual(sum(e["status"] == 0 for e in entries), mf["existing_files_count"])
            self.assertEqual(sum(e["data_file"]["record_count"] for e in entries
                                 if e["status"] == 1), mf["added_rows_count"])
            self.assertEqual(min(e["sequence_number"] for e in entries), mf["min_sequence_number"])
            for e in entries:
                files[e["data_file"]["file_path"]] = e
        # every object of the version is a data file, exactly once, as the catalog says
        self.assertEqual(len(files), len(cat["objects"]))
        self.assertEqual(sum(len(self.avro(mf["manifest_path"])[3]) for mf in mfiles),
                         len(cat["objects"]))
        for o in cat["objects"]:
            e = files[BASE + "/" + o["key"]]
            self.assertEqual(e["data_file"]["record_count"], o["row_count"])
            self.assertEqual(e["data_file"]["file_size_in_bytes"], o["size"])

    def check_manifest(self, meta, schema, entries, mf, md, n):
        for k in MANIFEST_META_REQUIRED:
            self.assertIn(k, meta)
        self.assertEqual(meta["format-version"], b"2")
        self.assertEqual(meta["content"], b"data")
        self.assertEqual(json.loads(meta["partition-spec"]), [])
        self.assertEqual(meta["partition-spec-id"], b"0")
        mschema = json.loads(meta["schema"])
        self.assertEqual(str(mschema["schema-id"]).encode(), meta["schema-id"])
        self.assertIn(mschema, md["schemas"])
        fids = {f["field-id"]: f for f in schema["fields"]}
        for fid, name in ENTRY_REQUIRED.items():
            self.assertEqual(fids[fid]["name"], name)
        dfs = {f["field-id"]: f for f in fids[2]["type"]["fields"]}
        for fid, name in DATA_FILE_REQUIRED.items():
            self.assertEqual(dfs[fid]["name"], name)
        self.assertEqual(dfs[102]["type"]["fields"], [])   # unpartitioned
        types = {f["id"]: f["type"] for f in mschema["fields"]}
        for e in entries:
            self.assertIn(e["status"], (0, 1))
            df = e["data_file"]
            for name in DATA_FILE_REQUIRED.values():
                self.assertIsNotNone(df[name], name)
            self.assertEqual(df["content"], 0)
            self.assertEqual(df["file_format"], "PARQUET")
            self.assertEqual(df["partition"], {})
            self.assertTrue(df["file_path"].startswith(BASE + "/datasets/people/"))
            self.assertLessEqual(e["snapshot_id"], n)
            self.assertEqual(e["sequence_number"], e["snapshot_id"])
            self.assertEqual(e["file_sequence_number"], e["snapshot_id"])
            if e["status"] == 1:
                self.assertEqual(e["snapshot_id"], mf["added_snapshot_id"])
            else:
                self.assertLess(e["snapshot_id"], mf["added_snapshot_id"])
            for m in ("column_sizes", "value_counts", "null_value_counts", "lower_bounds",
                      "upper_bounds"):
                for fid in as_map(df[m]):
                    self.assertIn(fid, types, m)
            vc = as_map(df["value_counts"])
            for fid, v in vc.items():
                self.assertEqual(v, df["record_count"])
            lo, hi = as_map(df["lower_bounds"]), as_map(df["upper_bounds"])
            for fid in lo:
                if fid in hi:
                    self.assertLessEqual(decode_bound(types[fid], lo[fid]),
                                         decode_bound(types[fid], hi[fid]))

    # --- bounds, per type ------------------------------------------------------

    def test_bounds_are_the_data_min_and_max(self):
        self.ingest(V1, types="amount:decimal(10,2)")
        md = self.table()["metadata"]
        fields = {f["name"]: f for f in md["schemas"][0]["fields"]}
        self.assertEqual({n: f["type"] for n, f in fields.items()}, {
            "id": "long", "name": "string", "qty": "long", "score": "double",
            "ok": "boolean", "day": "date", "ts": "timestamp", "tz": "timestamptz",
            "amount": "decimal(10,2)", "code": "string"})
        _, _, _, mfiles = self.avro(md["snapshots"][0]["manifest-list"])
        _, _, _, entries = self.avro(mfiles[0]["manifest_path"])
        self.assertEqual(len(entries), 1)
        df = entries[0]["data_file"]
        lo, hi = as_map(df["lower_bounds"]), as_map(df["upper_bounds"])
        nulls = as_map(df["null_value_counts"])
        sizes = as_map(df["column_sizes"])
        D = datetime.datetime
        want = {
            "id": (1, 3), "name": ("Ada", "Grace"), "qty": (1, 7), "score": (-1.25, 2.5),
            "ok": (False, True),
            "day": (datetime.date(2023, 12, 31), datetime.date(2025, 6, 30)),
            "ts": (D(2023, 1, 1, 0, 0, 0, 500000), D(2026, 1, 1, 23, 59, 59)),
            "tz": (D(2024, 1, 1), D(2024, 5, 6, 7, 8, 9)),   # 07:08:10+01:00 is 06:08:10Z
            "amount": (decimal.Decimal("-5.00"), decimal.Decimal("12.34")),
            "code": ("007", "010"),
        }
        for name, (a, b) in want.items():
            with self.subTest(column=name):
                fid, typ = fields[name]["id"], fields[name]["type"]
                self.assertEqual(decode_bound(typ, lo[fid]), a)
                self.assertEqual(decode_bound(typ, hi[fid]), b)
                self.assertGreater(sizes[fid], 0)
        self.assertEqual(nulls[fields["name"]["id"]], 1)
        self.assertEqual(nulls[fields["score"]["id"]], 1)
        self.assertEqual(nulls[fields["amount"]["id"]], 1)
        self.assertEqual(nulls[fields["id"]["id"]], 0)
        # the decimal bound is the fewest bytes: 1234 fits in two
        self.assertEqual(hi[fields["amount"]["id"]], (1234).to_bytes(2, "big", signed=True))

    def test_long_strings_are_truncated_to_16_characters(self):
        self.ingest(b"s\n" + b"a" * 40 + b"\n" + "zzzzzzzzzzzzzzzzzzzzé".encode() + b"\n")
        md = self.table()["metadata"]
        _, _, _, mfiles = self.avro(md["snapshots"][0]["manifest-list"])
        _, _, _, entries = self.avro(mfiles[0]["manifest_path"])
        df = entries[0]["data_file"]
        self.assertEqual(as_map(df["lower_bounds"])[1], b"a" * 16)
        self.assertEqual(as_map(df["upper_bounds"])[1], b"z" * 15 + b"{")

    # --- field ids -----------------------------------------------------------------

    def test_field_ids_follow_columns_through_evolution(self):
        latest = self.history()
        md = self.table()["metadata"]
        by_version = {}
        for s in md["snapshots"]:
            schema = [x for x in md["schemas"] if x["schema-id"] == s["schema-id"]][0]
            by_version[s["snapshot-id"]] = {f["name"]: f for f in schema["fields"]}
        v1, v3, v5, v6, v7 = (by_version[i] for i in (1, 3, 5, 6, 7))
        self.assertEqual([f["id"] for f in v1.values()], list(range(1, 11)))
        for name in v1:
            if name != "name":
                self.assertEqual(v7[name]["id"], v1[name]["id"], name)
        self.assertEqual(v3["city"]["id"], 11)                 # added: the next id
        self.assertNotIn("name", v5)                           # removed
        self.assertEqual(v6["name"]["id"], 12)                 # added back: a new id
        self.assertNotEqual(v6["name"]["id"], v1["name"]["id"])
        self.assertEqual(md["last-column-id"], 12)
        # the same schema at v1 and v2 (an append): one schema id
        self.assertEqual(md["snapshots"][0]["schema-id"], md["snapshots"][1]["schema-id"])
        self.assertEqual(len(md["schemas"]), 5)    # v1=v2, v3=v4, v5, v6, v7
        # qty widened at v7: same id, the new type, and a doc saying so
        self.assertEqual(v7["qty"]["type"], "double")
        self.assertIn("widened from long at version 7", v7["qty"]["doc"])
        self.assertNotIn("doc", v6["qty"])
        # bounds of qty only in the file written as double
        snap = md["snapshots"][-1]
        _, _, _, mfiles = self.avro(snap["manifest-list"])
        self.assertEqual(len(mfiles), 1)           # a new schema: one manifest of all files
        _, meta, _, entries = self.avro(mfiles[0]["manifest_path"])
        self.assertEqual(json.loads(meta["schema"])["fields"][1]["type"], "double")
        qty = v7["qty"]["id"]
        with_bounds = [e for e in entries if qty in as_map(e["data_file"]["lower_bounds"])]
        self.assertEqual(len(with_bounds), 1)
        self.assertEqual(with_bounds[0]["status"], 1)
        self.assertEqual(decode_bound("double", as_map(
            with_bounds[0]["data_file"]["lower_bounds"])[qty]), 2.5)
        for e in entries:      # the older files keep bounds of the columns that did not change
            self.assertIn(v7["id"]["id"], as_map(e["data_file"]["lower_bounds"]))
        # a restart changes nothing: ids come from the catalog's versions
        self.assertEqual(self.table(version=latest)["metadata"], md)

    def test_appends_share_manifests_and_a_replace_starts_over(self):
        self.ingest(V1)
        self.ingest(V2, mode="append")
        self.ingest(V2.replace(b"4,Linus", b"5,Linus"), mode="append")
        md = self.table()["metadata"]
        _, _, _, l3 = self.avro(md["snapshots"][2]["manifest-list"])
        self.assertEqual([m["added_snapshot_id"] for m in l3], [1, 2, 3])
        self.assertTrue(l3[0]["manifest_path"].endswith("/metadata/m1.avro"))
        self.ingest(V2.replace(b"4,Linus", b"6,Linus"))   # v4: replace
        md = self.table()["metadata"]
        _, _, _, l4 = self.avro(md["snapshots"][3]["manifest-list"])
        self.assertEqual([(m["added_snapshot_id"], m["added_files_count"],
                           m["existing_files_count"]) for m in l4], [(4, 1, 0)])
        self.assertEqual(md["snapshots"][3]["summary"]["operation"], "overwrite")
        self.assertEqual(md["snapshots"][3]["summary"]["total-records"], "1")

    # --- storage: write-once, races, rename, bases ---------------------------------

    def iceberg_keys(self):
        st, _, obj = request_json("GET", self.srv.url + "/v1/storage/list?prefix=_iceberg/&limit=1000")
        self.assertEqual(st, 200, obj)
        return {o["key"]: o["sha256"] for o in obj["objects"]}

    def test_metadata_is_written_once_and_read_back(self):
        self.ingest(V1)
        self.ingest(V2, mode="append")
        # nothing is built before it is asked for (and datasets made before
        # this change are built on their first request, like these)
        self.assertEqual(self.iceberg_keys(), {})
        # version 1 first: only its files
        a1 = self.table(version=1)
        keys = self.iceberg_keys()
        self.assertEqual(sorted(k.rsplit("/", 1)[1] for k in keys),
                         ["m1.avro", "snap-1.avro", "v1.metadata.json"])
        a2 = self.table()
        keys2 = self.iceberg_keys()
        self.assertEqual(len(keys2), 6)
        for k, sha in keys.items():          # version 1's files were not written again
            self.assertEqual(keys2[k], sha)
        self.assertEqual(self.table()["metadata"], a2["metadata"])
        self.assertEqual(self.table(version=1)["metadata"], a1["metadata"])
        self.assertEqual(self.iceberg_keys(), keys2)
        # the objects are the stored files' bytes (ETag = SHA-256)
        for k, sha in keys2.items():
            st, _, data = request("GET", self.srv.url + "/v1/storage/get/" + k)
            self.assertEqual(hashlib.sha256(data).hexdigest(), sha)

    def test_racing_builders_agree(self):
        self.ingest(V1)
        self.ingest(V2, mode="append")
        self.ingest(V2.replace(b"4,Linus", b"5,Linus"), mode="append")
        results, errors = [], []

        def build():
            try:
                results.append(self.table(base="https://race.test/t")["metadata"])
            except AssertionError as e:      # pragma: no cover - reported below
                errors.append(e)
        threads = [threading.Thread(target=build) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 4)
        for r in results[1:]:
            self.assertEqual(r, results[0])
        self.assertEqual(len(self.iceberg_keys()), 9)

    def test_rename_keeps_the_table_and_another_base_gets_its_own_files(self):
        self.ingest(V1)
        before = self.table()
        st, _, obj = request_json("POST", self.srv.url + "/v1/datasets/people/rename",
                                  body={"to": "staff"})
        self.assertEqual(st, 200, obj)
        after = self.table(name="staff")
        self.assertEqual(after["metadata"]["table-uuid"], before["metadata"]["table-uuid"])
        self.assertEqual(after["metadata-location"], before["metadata-location"])
        self.assertEqual(after["metadata"], before["metadata"])
        other = self.table(name="staff", base="s3://bucket")
        self.assertEqual(other["metadata"]["table-uuid"], before["metadata"]["table-uuid"])
        self.assertTrue(other["location"].startswith("s3://bucket/_iceberg/"))
        self.assertNotEqual(other["location"].rsplit("/", 1)[1],
                            before["location"].rsplit("/", 1)[1])
        _, _, _, mfiles = self.avro(other["metadata"]["snapshots"][0]["manifest-list"],
                                    base="s3://bucket")
        _, _, _, entries = self.avro(mfiles[0]["manifest_path"], base="s3://bucket")
        self.assertTrue(entries[0]["data_file"]["file_path"].startswith(
            "s3://bucket/datasets/people/"))
        # a new dataset under the old name is another table
        self.ingest(V1)
        fresh = self.table()
        self.assertNotEqual(fresh["metadata"]["table-uuid"], before["metadata"]["table-uuid"])

    def test_errors(self):
        self.ingest(V1)
        q = self.queryd + "/iceberg/tables/"
        st, _, obj = request_json("GET", q + "people")
        self.assertError((st, _, obj), 400, "bad_request")
        self.assertIn("base", obj["error"])
        for bad in ("ftp://x", "http://h/", "http://h?x", "file:///etc", "http://h%20x",
                    "http://" + "a" * 1100):
            self.assertError(request_json("GET", q + "people?base=" + bad), 400, "bad_request")
        self.assertError(request_json("GET", q + "nobody?base=http://h"), 404, "not_found")
        self.assertError(request_json("GET", q + "people?base=http://h&version=2"), 404,
                         "unknown_version")
        for v in ("0", "-1", "x", "1.5", ""):
            self.assertError(request_json("GET", q + "people?base=http://h&version=" + v),
                             400, "bad_request")
        self.assertError(request_json("GET", q + "bad-name?base=http://h"), 400, "bad_name")
        st, _, _ = request("POST", q + "people?base=http://h")
        self.assertEqual(st, 405)


if __name__ == "__main__":
    unittest.main()
