"""The web UI refuses requests that did not come from its own pages (issue 22
point 5, ADR 0111), against `lakehouse serve`:

- GET /console?sql= fills the editor and runs nothing (queryd sees no query);
- POST /console and POST /upload need the page's CSRF token: the lh_csrf
  cookie and the same value in the form field "csrf" (for the upload, the
  body's first part) or the X-CSRF-Token header; otherwise 403, a page in
  words, and nothing reaches queryd or ingestd;
- a browser's Sec-Fetch-Site other than same-origin is refused even with a
  token; the cookie is HttpOnly and SameSite=Strict.
The browser half is tests/browser/cross_site.test.js."""
import http.client
import json
import re
import time
import unittest
import uuid

from lhtest import ServerTest, request, request_json

EXPIRED = b"This form has expired or came from another site; reload the page and try again."
CSV = b"a,b\n1,2\n3,4\n"


def upstream_calls(srv, service, path):
    """How many requests `service` (queryd, ingestd) logged for `path`."""
    n = 0
    for line in srv.read_log().splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("service") == service and e.get("path") == path and "status" in e:
            n += 1
    return n


def settled_calls(srv, service, path, want=None):
    """upstream_calls once the log has settled: a service logs its request
    when it has finished with it, which can be a moment after the gateway
    has answered. Waits (bounded) for `want`, or a quiet moment."""
    deadline = time.time() + 10
    n = upstream_calls(srv, service, path)
    while time.time() < deadline and (n < want if want is not None else True):
        time.sleep(0.1)
        m = upstream_calls(srv, service, path)
        if want is None and m == n:
            break
        n = m
    return n


def multipart(fields, boundary=None):
    """(content type, body) of multipart/form-data with fields in order;
    a value that is bytes is sent as a file."""
    b = boundary or "----lhtest" + uuid.uuid4().hex
    out = []
    for name, value in fields:
        if isinstance(value, bytes):
            out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                        "filename=\"t.csv\"\r\nContent-Type: text/csv\r\n\r\n"
                        % (b, name)).encode() + value + b"\r\n")
        else:
            out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                        % (b, name, value)).encode())
    out.append(("--%s--\r\n" % b).encode())
    return "multipart/form-data; boundary=" + b, b"".join(out)


class TestUiCsrf(ServerTest):
    def setUp(self):
        self.srv = self.start("serve")

    def page_token(self, path="/console"):
        """Load a page as a browser would: (cookie header, token)."""
        st, hdrs, body = request("GET", self.srv.url + path)
        self.assertEqual(st, 200)
        cookie = hdrs.get("set-cookie", "")
        m = re.match(r"lh_csrf=([0-9a-f]{64}); Path=/; HttpOnly; SameSite=Strict$", cookie)
        self.assertTrue(m, cookie)
        token = m.group(1)
        self.assertIn(('<meta name="csrf-token" content="%s">' % token).encode(), body)
        self.assertIn(('<input type="hidden" name="csrf" value="%s">' % token).encode(), body)
        return "lh_csrf=" + token, token

    def datasets(self):
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets")
        self.assertEqual(st, 200, obj)
        return sorted(d["name"] for d in obj["datasets"])

    def test_get_console_fills_the_editor_and_runs_nothing(self):
        before = upstream_calls(self.srv, "queryd", "/query")
        for headers in ({}, {"HX-Request": "true"}):
            st, _, body = request("GET", self.srv.url + "/console?sql=SELECT%204242%20AS%20x",
                                  headers=headers)
            self.assertEqual(st, 200)
            self.assertIn(b">\nSELECT 4242 AS x</textarea>", body)
            self.assertIn(b'id="console-hint"', body)
            self.assertNotIn(b'id="result"', body)
            self.assertNotIn(b"4242</td>", body)
        self.assertEqual(settled_calls(self.srv, "queryd", "/query"), before)

    def test_console_post_needs_the_token(self):
        cookie, token = self.page_token()
        before = upstream_calls(self.srv, "queryd", "/query")
        form = "sql=SELECT%204242%20AS%20x"
        wrong = token[:-1] + ("1" if token[-1] == "0" else "0")
        refusals = [
            ({}, form),                                              # no cookie, no field
            ({"Cookie": cookie}, form),                              # cookie, no field
            ({}, form + "&csrf=" + token),                           # field, no cookie
            ({"Cookie": cookie}, form + "&csrf=" + wrong),  # wrong field
            ({"Cookie": cookie, "X-CSRF-Token": "0" * 64}, form + "&csrf=" + token),
            ({"Cookie": cookie + "; lh_csrf=" + "1" * 64}, form + "&csrf=" + token),
            ({"Cookie": cookie, "Sec-Fetch-Site": "same-site"}, form + "&csrf=" + token),
            ({"Cookie": cookie, "Sec-Fetch-Site": "cross-site"}, form + "&csrf=" + token),
        ]
        for headers, body in refusals:
            for htmx in (False, True):
                h = dict(headers, **{"Content-Type": "application/x-www-form-urlencoded"})
                if htmx:
                    h["HX-Request"] = "true"
                st, hdrs, page = request("POST", self.srv.url + "/console", body=body,
                                         headers=h)
                self.assertEqual(st, 403, (headers, body, page[:300]))
                self.assertNotIn(b"4242</td>", page)
                if "Sec-Fetch-Site" in headers:
                    continue   # the server layer may refuse it first (http_policy)
                self.assertTrue(hdrs["content-type"].startswith("text/html"))
                self.assertIn(EXPIRED, page)
                self.assertIn(b'data-code="csrf_failed"', page)
        self.assertEqual(settled_calls(self.srv, "queryd", "/query"), before)

        # the page's own form, without and with htmx: the query runs
        accepted = [
            ({"Cookie": cookie}, form + "&csrf=" + token),
            ({"Cookie": cookie, "Sec-Fetch-Site": "same-origin"}, form + "&csrf=" + token),
            ({"Cookie": cookie, "X-CSRF-Token": token, "HX-Request": "true"}, form),
        ]
        for headers, body in accepted:
            h = dict(headers, **{"Content-Type": "application/x-www-form-urlencoded"})
            st, _, page = request("POST", self.srv.url + "/console", body=body, headers=h)
            self.assertEqual(st, 200, page[:500])
            self.assertIn(b'<td class="num">4242</td>', page)
        self.assertEqual(settled_calls(self.srv, "queryd", "/query", before + 3), before + 3)

    def test_upload_post_needs_the_token(self):
        cookie, token = self.page_token("/upload")
        url = self.srv.url + "/upload"
        refusals = [
            ({}, [("csrf", token), ("name", "r1"), ("file", CSV)]),         # no cookie
            ({"Cookie": cookie}, [("name", "r2"), ("file", CSV)]),          # no field
            ({"Cookie": cookie}, [("name", "r3"), ("csrf", token), ("file", CSV)]),  # not first
            ({"Cookie": cookie}, [("csrf", "0" * 64), ("name", "r4"), ("file", CSV)]),
            ({"Cookie": cookie, "X-CSRF-Token": "0" * 64},
             [("csrf", token), ("name", "r5"), ("file", CSV)]),
            ({"Cookie": cookie, "Sec-Fetch-Site": "cross-site"},
             [("csrf", token), ("name", "r6"), ("file", CSV)]),
            ({"Cookie": cookie}, [("csrf", token + "0"), ("name", "r7"), ("file", CSV)]),
            ({"Cookie": cookie}, []),                                       # an empty form
        ]
        for headers, fields in refusals:
            ctype, body = multipart(fields)
            st, _, page = request("POST", url, body=body,
                                  headers=dict(headers, **{"Content-Type": ctype}))
            self.assertEqual(st, 403, (headers, fields, page[:300]))
            if "Sec-Fetch-Site" not in headers:
                self.assertIn(EXPIRED, page)
        # the first part never completes within the bytes the gateway holds
        ctype, body = multipart([("csrf", "x" * 5000), ("name", "r8"), ("file", CSV)])
        st, _, page = request("POST", url, body=body,
                              headers={"Cookie": cookie, "Content-Type": ctype})
        self.assertEqual(st, 403)
        self.assertEqual(settled_calls(self.srv, "ingestd", "/ingest"), 0)
        self.assertEqual(self.datasets(), [])

        # the page's own form: the token as the first part, or the htmx header
        ctype, body = multipart([("csrf", token), ("name", "ok1"), ("mode", "replace"),
                                 ("file", CSV)])
        st, _, page = request("POST", url, body=body,
                              headers={"Cookie": cookie, "Content-Type": ctype})
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b'data-outcome="new_version"', page)
        ctype, body = multipart([("name", "ok2"), ("file", CSV)])
        st, _, page = request("POST", url, body=body,
                              headers={"Cookie": cookie, "Content-Type": ctype,
                                       "X-CSRF-Token": token, "HX-Request": "true"})
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b'data-outcome="new_version"', page)
        self.assertEqual(self.datasets(), ["ok1", "ok2"])

    def test_upload_streams_a_large_file_after_the_token(self):
        cookie, token = self.page_token("/upload")
        rows = b"".join(b"%d,%d\n" % (i, i * 3) for i in range(400000))   # ~5 MB
        ctype, body = multipart([("csrf", token), ("name", "big"), ("file", b"a,b\n" + rows)])
        st, _, page = request("POST", self.srv.url + "/upload", body=body,
                              headers={"Cookie": cookie, "Content-Type": ctype})
        self.assertEqual(st, 200, page[:500])
        self.assertIn(b"400,000 rows", page)

    def test_upload_token_split_across_reads(self):
        """A slow client: the first part arrives a few bytes at a time, so the
        gateway holds the start of the body over many reads before it checks
        the token and forwards what it held."""
        cookie, token = self.page_token("/upload")
        for name, tok, want in (("slow_ok", token, 200), ("slow_bad", "f" * 64, 403)):
            ctype, body = multipart([("csrf", tok), ("name", name), ("file", CSV)])

            def pieces(body=body, cut=200):
                for i in range(0, cut, 7):
                    time.sleep(0.005)
                    yield body[i:min(i + 7, cut)]
                yield body[cut:]
            conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
            try:
                conn.request("POST", "/upload", body=pieces(), headers={
                    "Cookie": cookie, "Content-Type": ctype,
                    "Content-Length": str(len(body))})
                resp = conn.getresponse()
                page = resp.read()
            finally:
                conn.close()
            self.assertEqual(resp.status, want, page[:300])
        self.assertEqual(self.datasets(), ["slow_ok"])

    def test_pages_reuse_the_browser_token(self):
        cookie, token = self.page_token()
        for path in ("/", "/upload", "/console", "/datasets/nope"):
            st, hdrs, body = request("GET", self.srv.url + path, headers={"Cookie": cookie})
            self.assertNotIn("set-cookie", hdrs, path)
            self.assertIn(('<meta name="csrf-token" content="%s">' % token).encode(), body)
        # a malformed cookie is replaced
        st, hdrs, _ = request("GET", self.srv.url + "/", headers={"Cookie": "lh_csrf=x"})
        self.assertRegex(hdrs.get("set-cookie", ""), r"^lh_csrf=[0-9a-f]{64};")
        self.assertNotIn(token, hdrs["set-cookie"])


if __name__ == "__main__":
    unittest.main()
