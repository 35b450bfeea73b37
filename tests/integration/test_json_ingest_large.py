"""A 1 GiB NDJSON upload through ingestd with the cap raised: the server's
peak RSS (VmHWM, DuckDB included) stays under the CSV bound of
test_ingest_large.py (512 MiB), and every row lands (docs/api.md, "JSON
input": streamed with bounded memory like CSV; ADR 0182). The size follows
LAKEHOUSE_TEST_LARGE_BYTES like the CSV test (e.g. 64M for a quick run)."""
import os
import tempfile
import time
import unittest

from lhtest import ServerTest, request_json

SIZE = os.environ.get("LAKEHOUSE_TEST_LARGE_BYTES", "1G")
RSS_LIMIT_KIB = 512 * 1024


def parse_size(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(s[:-1]) * units[s[-1].upper()] if s[-1].upper() in units else int(s)


def write_ndjson(path, size):
    """Staffing-like rows of every JSON kind until `size` bytes; returns the
    row count. The last row brings a key no earlier row has."""
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Frances", "Donald"]
    last = ["Byron", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Allen", "Knuth"]
    rows = 0
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        buf = []
        while written < size:
            i = rows
            line = ('{"candidate_id": %d, "full_name": "%s \\"%s\\" %s", "zip": "%05d", '
                    '"hourly_rate": %d.%02d, "available": %s, "start_date": "2026-%02d-%02d", '
                    '"last_contacted": "2026-01-05T09:%02d:%02d", "skills": ["forklift", %d], '
                    '"notes": %s}\n') % (
                i, first[i % 8], last[(i >> 3) % 8], last[i % 8], i % 100000,
                20 + i % 80, i % 100, "true" if i % 3 else "false", 1 + i % 12, 1 + i % 28,
                i % 60, (i >> 6) % 60, i % 7, "null" if i % 5 else '"call back \\u00e9"')
            buf.append(line)
            written += len(line.encode("utf-8"))
            rows += 1
            if len(buf) == 10000:
                f.write("".join(buf))
                buf = []
        buf.append('{"candidate_id": %d, "late_key": 1.5}\n' % rows)
        rows += 1
        f.write("".join(buf))
    return rows


class TestJsonIngestLarge(ServerTest):
    def test_one_gib_ndjson_stays_under_512_mib(self):
        with tempfile.TemporaryDirectory(prefix="lh-large-json-") as tmp:
            path = os.path.join(tmp, "candidates.ndjson")
            rows = write_ndjson(path, parse_size(SIZE))
            size = os.path.getsize(path)
            # the binary refuses LAKEHOUSE_* variables it does not know
            saved = os.environ.pop("LAKEHOUSE_TEST_LARGE_BYTES", None)
            try:
                storaged = self.start("storaged", env={"LAKEHOUSE_STORAGED_MAX_OBJECT_BYTES": "2GiB"})
                catalogd = self.start("catalogd", data_dir=storaged.data_dir)
                ingestd = self.start("ingestd", data_dir=storaged.data_dir, env={
                    "LAKEHOUSE_INGESTD_STORAGED_URL": storaged.url,
                    "LAKEHOUSE_INGESTD_CATALOGD_URL": catalogd.url,
                    "LAKEHOUSE_INGESTD_MAX_UPLOAD_BYTES": "2GiB",
                })
            finally:
                if saved is not None:
                    os.environ["LAKEHOUSE_TEST_LARGE_BYTES"] = saved
            t0 = time.monotonic()
            with open(path, "rb") as f:
                st, _, obj = request_json(
                    "POST", ingestd.url + "/ingest?name=candidates", body=f,
                    headers={"Content-Type": "application/x-ndjson",
                             "Content-Length": str(size)},
                    timeout=1200)
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["row_count"], rows)
            self.assertEqual(obj["manifest"]["row_count"], rows)
            types = {c["name"]: c["type"] for c in obj["manifest"]["schema"]}
            self.assertEqual(types, {
                "candidate_id": "int64", "full_name": "utf8", "zip": "utf8",
                "hourly_rate": "float64", "available": "bool", "start_date": "date32",
                "last_contacted": "timestamp[us]", "skills": "utf8", "notes": "utf8",
                "late_key": "float64"})
            elapsed = time.monotonic() - t0
            peak = ingestd.peak_rss_kib()
            print("\n  %.0f MiB NDJSON ingest: %d rows in %.1f s, parquet %d bytes, ingestd VmHWM %.0f MiB"
                  % (size / 1048576.0, rows, elapsed, obj["parquet_size"], peak / 1024.0))
            self.assertLess(peak, RSS_LIMIT_KIB)
            self.assertEqual(os.listdir(os.path.join(storaged.data_dir, "spool")), [])


if __name__ == "__main__":
    unittest.main()
