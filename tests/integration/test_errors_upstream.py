"""test_errors_upstream.py — errors that say what happened (issue 23 point 5,
ADR 0202), on the gateway and through ingestd/queryd:

- catalogd's retryable 503 reaches the client as 503 (its own code) with
  Retry-After, not as 502 upstream_failed;
- a peer that received the request and then went away is "may have happened"
  (502 upstream_interrupted; for an ingest "retrying is safe: ingest is
  idempotent"), distinct from "nothing happened" (502 upstream_unavailable);
- internal URLs never reach clients: the log gets them, the client gets words.
"""
import socket
import threading
import time
import unittest

from lhtest import Server, ServerTest, free_port, request, request_json

CSV = b"id,name\n1,ann\n2,bob\n"


class CutAfterRequest:
    """A TCP server that reads a request (headers and some body) and closes
    the connection without answering: a peer that died mid-request."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.stopped = False
        threading.Thread(target=self.run, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head = data.split(b"\r\n", 1)[0]
                if head.startswith(b"GET /ready") or head.startswith(b"GET /health"):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                              b"Content-Type: application/json\r\n\r\n{}")
                else:
                    self.requests += 1
                    try:
                        c.recv(65536)   # some of the body, then go away
                    except OSError:
                        pass
            finally:
                c.close()

    def stop(self):
        self.stopped = True
        self.sock.close()


class CutMidAnswer(CutAfterRequest):
    """A peer that starts a 200 answer (head and a first chunk) and dies
    before finishing it: a queryd killed while its answer streams."""

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                c.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"GET /ready") or data.startswith(b"GET /health"):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                              b"Content-Type: application/json\r\n\r\n{}")
                else:
                    self.requests += 1
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n"
                              b"9\r\n{\"rows\": \r\n")
            finally:
                c.close()


def assert_no_url(test, obj):
    test.assertNotIn("http://", str(obj), obj)
    test.assertNotIn("127.0.0.1", str(obj), obj)


class TestUpstreamErrors(ServerTest):

    def not_ready_catalogd(self):
        """catalogd whose PostgreSQL is not there (ADR 0201): every call 503."""
        return self.start("catalogd", env={
            "LAKEHOUSE_CATALOGD_BACKEND": "postgres",
            "LAKEHOUSE_CATALOGD_POSTGRES_DSN":
                "host=127.0.0.1 port=%d dbname=x user=postgres connect_timeout=2" % free_port()})

    def test_catalog_503_reaches_clients_with_retry_after(self):
        cat = self.not_ready_catalogd()
        sto = self.start("storaged")
        ing = self.start("ingestd", env={"LAKEHOUSE_INGESTD_CATALOGD_URL": cat.url,
                                         "LAKEHOUSE_INGESTD_STORAGED_URL": sto.url})
        qry = self.start("queryd", env={"LAKEHOUSE_QUERYD_CATALOGD_URL": cat.url,
                                        "LAKEHOUSE_QUERYD_STORAGED_URL": sto.url})
        gw = self.start("gateway", env={"LAKEHOUSE_GATEWAY_INGESTD_URL": ing.url,
                                        "LAKEHOUSE_GATEWAY_QUERYD_URL": qry.url,
                                        "LAKEHOUSE_GATEWAY_CATALOGD_URL": cat.url,
                                        "LAKEHOUSE_GATEWAY_STORAGED_URL": sto.url})
        for url in (ing.url + "/ingest?name=people", gw.url + "/v1/ingest?name=people"):
            st, hdrs, obj = request_json("POST", url, body=CSV,
                                         headers={"Content-Type": "text/csv"})
            self.assertEqual((st, obj["code"]), (503, "catalog_unavailable"), (url, obj))
            self.assertEqual(hdrs.get("retry-after"), "2", (url, hdrs))
            assert_no_url(self, obj)
        for url in (qry.url + "/query", gw.url + "/v1/query"):
            st, hdrs, obj = request_json("POST", url, {"sql": "SELECT * FROM people"})
            self.assertEqual((st, obj["code"]), (503, "catalog_unavailable"), (url, obj))
            self.assertEqual(hdrs.get("retry-after"), "2", (url, hdrs))
        st, hdrs, obj = request_json("GET", gw.url + "/v1/catalog/datasets")
        self.assertEqual((st, obj["code"], hdrs.get("retry-after")),
                         (503, "catalog_unavailable", "2"), obj)

    def test_gateway_tells_interrupted_from_unreachable(self):
        cut = CutAfterRequest()
        self.addCleanup(cut.stop)
        dead = "http://127.0.0.1:%d" % free_port()
        gw = self.start("gateway", env={"LAKEHOUSE_GATEWAY_INGESTD_URL": cut.url,
                                        "LAKEHOUSE_GATEWAY_QUERYD_URL": dead})
        st, _, obj = request_json("POST", gw.url + "/v1/ingest?name=people", body=CSV * 200,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual((st, obj["code"]), (502, "upstream_interrupted"), obj)
        self.assertIn("may or may not have taken effect", obj["error"])
        self.assertIn("retrying is safe: ingest is idempotent", obj["error"])
        self.assertGreaterEqual(cut.requests, 1)
        st, _, obj = request_json("POST", gw.url + "/v1/query", {"sql": "SELECT 1"})
        self.assertEqual(obj, {"code": "upstream_unavailable",
                               "error": "queryd is not reachable"})
        self.assertIn(cut.url, gw.read_log())   # the log has the address

    def test_an_answer_cut_early_is_an_error_not_a_short_200(self):
        # proxy.c note 11: the upstream died before its answer was whole and
        # before the gateway sent anything: a clean JSON 502, no cut 200
        cut = CutMidAnswer()
        self.addCleanup(cut.stop)
        gw = self.start("gateway", env={"LAKEHOUSE_GATEWAY_QUERYD_URL": cut.url})
        st, _, obj = request_json("POST", gw.url + "/v1/query", {"sql": "SELECT 1"})
        self.assertEqual(st, 502, obj)
        self.assertIn(obj["code"], ("upstream_interrupted", "upstream_failed"), obj)
        assert_no_url(self, obj)
        self.assertGreaterEqual(cut.requests, 1)

    def test_ingestd_tells_interrupted_catalog(self):
        cut = CutAfterRequest()
        self.addCleanup(cut.stop)
        sto = self.start("storaged")
        ing = self.start("ingestd", env={"LAKEHOUSE_INGESTD_CATALOGD_URL": cut.url,
                                         "LAKEHOUSE_INGESTD_STORAGED_URL": sto.url})
        st, _, obj = request_json("POST", ing.url + "/ingest?name=people", body=CSV,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual((st, obj["code"]), (502, "upstream_interrupted"), obj)
        self.assertTrue(obj["error"].startswith("the catalog stopped before answering"), obj)
        self.assertIn("retrying is safe: ingest is idempotent", obj["error"])
        assert_no_url(self, obj)
        time.sleep(0.2)
        self.assertIn(cut.url, ing.read_log())   # the log has the address

    def test_object_store_urls_stay_in_the_log(self):
        from test_storaged import S3_BUCKET, S3rver
        s3 = S3rver()
        sto = self.start("storaged", env={
            "LAKEHOUSE_STORAGED_BACKEND": "s3", "LAKEHOUSE_STORAGED_S3_ENDPOINT": s3.endpoint,
            "LAKEHOUSE_STORAGED_S3_BUCKET": S3_BUCKET, "LAKEHOUSE_STORAGED_SINGLE_WRITER": "true",
            "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"})
        cat = self.start("catalogd")
        ing = self.start("ingestd", env={"LAKEHOUSE_INGESTD_CATALOGD_URL": cat.url,
                                         "LAKEHOUSE_INGESTD_STORAGED_URL": sto.url})
        s3.stop()   # the store goes away
        st, _, obj = request_json("PUT", sto.url + "/storage/put/k1", body=b"x")
        self.assertEqual(st, 502, obj)
        self.assertIn("it is not reachable", obj["error"])
        assert_no_url(self, obj)
        st, _, obj = request_json("POST", ing.url + "/ingest?name=people", body=CSV,
                                  headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 502, obj)
        self.assertIn("the object store", obj["error"])
        assert_no_url(self, obj)
        time.sleep(0.2)
        self.assertIn(s3.endpoint, sto.read_log())   # the log keeps the URL


if __name__ == "__main__":
    unittest.main()
