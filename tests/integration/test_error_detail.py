"""Errors keep their detail (ADR 0130): when a peer cannot be reached, the
client is told in plain words ("the object store is not reachable") and the
request's log line carries what failed — the peer's URL and the transport's
reason — as JSON "detail" or, in human lines, in parentheses. The client's
JSON never carries the URL."""
import json
import re
import time

import lhtest
from lhtest import ServerTest, request_json
from test_gateway import AnyHealthServer

CSV = b"id,name\n1,ann\n2,bob\n"


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


class ErrorDetail(ServerTest):
    def stack(self, ingestd_args=()):
        """storaged + catalogd + ingestd; storaged is then stopped."""
        storaged = self.start("storaged")
        catalogd = self.start("catalogd", data_dir=storaged.data_dir)
        ingestd = self.start("ingestd", data_dir=storaged.data_dir, args=list(ingestd_args),
                             env={"LAKEHOUSE_INGESTD_STORAGED_URL": storaged.url,
                                  "LAKEHOUSE_INGESTD_CATALOGD_URL": catalogd.url})
        storaged.stop()
        return storaged, ingestd

    def ingest(self, ingestd, rid):
        return request_json("POST", ingestd.url + "/ingest?name=people", body=CSV,
                            headers={"Content-Type": "text/csv", "X-Request-Id": rid})

    def test_ingest_with_storaged_down_json_log(self):
        storaged, ingestd = self.stack()
        st, _, obj = self.ingest(ingestd, "detail-json")
        self.assertEqual(st, 502, obj)
        # the client: plain words only
        self.assertEqual(obj, {"error": "the object store is not reachable",
                               "code": "upstream_unavailable"})
        time.sleep(0.2)
        lines = [l for l in json_lines(ingestd.read_log())
                 if l.get("request_id") == "detail-json" and "status" in l]
        self.assertEqual(len(lines), 1, ingestd.read_log())
        line = lines[0]
        self.assertEqual(line["status"], 502)
        self.assertEqual(line["error"], "the object store is not reachable")
        # the log: which URL and why
        self.assertIn(storaged.url + "/storage/put/datasets/people/", line["detail"])
        self.assertRegex(line["detail"], r"failed: .*(connect|Connect)")

    def test_ingest_with_storaged_down_human_log(self):
        storaged, ingestd = self.stack(ingestd_args=["--log", "human"])
        st, _, obj = self.ingest(ingestd, "detail-human")
        self.assertEqual(st, 502, obj)
        self.assertNotIn("127.0.0.1", json.dumps(obj))
        time.sleep(0.2)
        text = ingestd.read_log()
        line = [l for l in text.splitlines() if " POST /ingest?name=people 502 " in l]
        self.assertEqual(len(line), 1, text)
        self.assertRegex(line[0], r" - the object store is not reachable \(" +
                         re.escape(storaged.url) + r"/storage/put/\S+ failed: [^)]+\)$")

    def test_query_with_catalogd_down(self):
        dead = "http://127.0.0.1:%d" % lhtest.free_port()
        q = self.start("queryd", env={"LAKEHOUSE_QUERYD_CATALOGD_URL": dead,
                                      "LAKEHOUSE_QUERYD_STORAGED_URL": dead})
        st, _, obj = request_json("POST", q.url + "/query", {"sql": "SELECT * FROM people"},
                                  headers={"X-Request-Id": "detail-query"})
        # ADR 0205: queryd answers a catalog it cannot read with a retryable
        # 503 catalog_unavailable (it was 502 upstream_unavailable), the
        # catalog's words first, then why it cannot answer from what it knows
        self.assertEqual(st, 503, obj)
        self.assertEqual(obj["code"], "catalog_unavailable")
        self.assertTrue(obj["error"].startswith("the catalog is not reachable; "), obj)
        self.assertNotIn(dead, obj["error"])
        time.sleep(0.2)
        line = [l for l in json_lines(q.read_log())
                if l.get("request_id") == "detail-query" and "status" in l]
        self.assertEqual(len(line), 1, q.read_log())
        self.assertTrue(line[0]["detail"].startswith(dead + "/catalog/datasets failed: "),
                        line[0])

    def test_ui_page_with_catalogd_down(self):
        """The web UI reads catalogd through the relaying catalog client: the
        page says it in words, the gateway's log line says where and why."""
        dead = "http://127.0.0.1:%d" % lhtest.free_port()
        gw = AnyHealthServer("gateway", env={"LAKEHOUSE_GATEWAY_CATALOGD_URL": dead})
        self.addCleanup(gw.cleanup)
        st, _, body = lhtest.request("GET", gw.url + "/", headers={"X-Request-Id": "detail-ui"})
        self.assertEqual(st, 502)
        self.assertIn(b"catalogd is not reachable", body)
        self.assertNotIn(dead.encode(), body)
        time.sleep(0.2)
        line = [l for l in json_lines(gw.read_log())
                if l.get("request_id") == "detail-ui" and "status" in l]
        self.assertEqual(len(line), 1, gw.read_log())
        self.assertTrue(line[0]["detail"].startswith(dead + "/catalog/datasets failed: "),
                        line[0])


if __name__ == "__main__":
    import unittest
    unittest.main()


class TestMessagesStayReadable(ServerTest):
    def test_a_header_cut_mid_character_still_says_what_is_wrong(self):
        # "%.64s" of a long non-ASCII header name cuts a character in two;
        # the answer must still carry its "error" (found in review: it lost it)
        srv = self.start("serve")
        name = "a" + "\u00e9" * 150
        body = ("%s,b\n1,2\n" % name).encode()
        st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=t", body,
                                  {"Content-Type": "text/csv"})
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["code"], "bad_header")
        self.assertIn("header column 1", obj["error"])
        self.assertIn("too long", obj["error"])
