"""Signing in to the web UI with a token (ADR 0212), over HTTP on the real
binary: browsers without a session are sent to /signin; the sign-in form
needs its CSRF token and a valid token; the session cookie is HttpOnly,
SameSite=Strict (Secure behind HTTPS) and stands for the token at every
hop (the request log names who); unsafe requests with a session need the
session's CSRF token (the API's in X-CSRF-Token), and a cross-site one is
refused; signing out ends the session on the server; a session expires;
API clients with a bearer header see no change."""
import http.client
import json
import re
import time

from lhtest import Server, ServerTest, request, request_json

MARIA = "maria-token-0123456789"
ANN = "ann-token-0123456789"
TOKENS = "maria:write:%s,ann:read:%s" % (MARIA, ANN)
CSV = b"id,name\n1,ann\n2,bob\n"


def request_all(method, url, body=None, headers=None):
    """Like lhtest.request, but the headers keep every Set-Cookie: the dict's
    "set-cookie" is the list of them."""
    hostport, _, path = url[len("http://"):].partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, "/" + path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        hdrs["set-cookie"] = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
        return resp.status, hdrs, data
    finally:
        conn.close()


def cookies_of(hdrs):
    """name -> (value, attributes) of every Set-Cookie in a response."""
    out = {}
    for part in hdrs.get("set-cookie", []):
        name, rest = part.split("=", 1)
        value = rest.split(";", 1)[0]
        out[name.strip()] = (value, rest)
    return out


class Browser:
    """A cookie jar and the headers a same-origin page would send."""

    def __init__(self, base):
        self.base = base
        self.jar = {}

    def cookie_header(self):
        return "; ".join("%s=%s" % kv for kv in self.jar.items())

    def go(self, method, path, body=None, headers=None, site="same-origin"):
        h = {"Accept": "text/html", "Cookie": self.cookie_header()}
        if site:
            h["Sec-Fetch-Site"] = site
        h.update(headers or {})
        st, hdrs, data = request_all(method, self.base + path, body=body, headers=h)
        for name, (value, _) in cookies_of(hdrs).items():
            if value:
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        return st, hdrs, data

    def csrf_of_page(self, path="/signin"):
        st, _, data = self.go("GET", path)
        m = re.search(rb'name="csrf" value="([0-9a-f]{64})"', data)
        assert m, data[:500]
        return m.group(1).decode()

    def sign_in(self, token, next_path="/"):
        csrf = self.csrf_of_page()
        body = "csrf=%s&token=%s&next=%s" % (csrf, token, next_path)
        return self.go("POST", "/signin", body=body.encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


class TestSignIn(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "json"})

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def test_a_browser_without_a_session_goes_to_signin(self):
        b = Browser(self.srv.url)
        st, hdrs, _ = b.go("GET", "/datasets/jobs")
        self.assertEqual(st, 303)
        self.assertEqual(hdrs["location"], "/signin?next=/datasets/jobs")
        st, _, data = b.go("GET", "/signin")
        self.assertEqual(st, 200)
        self.assertIn(b'type="password"', data)
        # an API client still gets 401 JSON
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets")
        self.assertEqual(st, 401)
        # assets need no token
        st, _, _ = request("GET", self.srv.url + "/static/app.css")
        self.assertEqual(st, 200)

    def test_sign_in_sets_a_session_cookie_not_the_token(self):
        b = Browser(self.srv.url)
        st, hdrs, _ = b.sign_in(MARIA, "/upload")
        self.assertEqual(st, 303)
        self.assertEqual(hdrs["location"], "/upload")
        c = cookies_of(hdrs)
        value, attrs = c["lh_session"]
        self.assertRegex(value, r"^[0-9a-f]{64}$")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(attr, attrs)
        self.assertNotIn("Secure", attrs)      # plain http here
        self.assertNotIn(MARIA, " ".join(hdrs["set-cookie"]))
        st, _, page = b.go("GET", "/upload")
        self.assertEqual(st, 200)
        self.assertIn(b"maria", page)
        self.assertIn(b"Sign out", page)

    def test_secure_behind_https(self):
        b = Browser(self.srv.url)
        csrf = b.csrf_of_page()
        st, hdrs, _ = b.go("POST", "/signin", body=("csrf=%s&token=%s" % (csrf, MARIA)).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                    "X-Forwarded-Proto": "https"})
        self.assertEqual(st, 303)
        self.assertIn("Secure", cookies_of(hdrs)["lh_session"][1])

    def test_a_wrong_token_or_missing_csrf_is_refused(self):
        b = Browser(self.srv.url)
        st, hdrs, data = b.sign_in("not-a-token-at-all-000")
        self.assertEqual(st, 401)
        self.assertIn(b"not valid", data)
        self.assertNotIn("lh_session", cookies_of(hdrs))
        st, hdrs, _ = b.go("POST", "/signin", body=("token=" + MARIA).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 403)
        self.assertNotIn("lh_session", cookies_of(hdrs))

    def test_session_requests_need_the_session_csrf(self):
        b = Browser(self.srv.url)
        b.sign_in(MARIA)
        csrf = b.jar["lh_csrf"]
        url = "/v1/ingest?name=signed_in"
        hdr = {"Content-Type": "text/csv", "Accept": "application/json"}
        st, _, data = b.go("POST", url, body=CSV, headers=hdr)
        self.assertEqual(st, 403, data)
        self.assertEqual(json.loads(data)["code"], "csrf_failed")
        st, _, data = b.go("POST", url, body=CSV, headers=dict(hdr, **{"X-CSRF-Token": "0" * 64}))
        self.assertEqual(st, 403, data)
        st, _, data = b.go("POST", url, body=CSV, headers=dict(hdr, **{"X-CSRF-Token": csrf}),
                           site="cross-site")
        self.assertEqual(st, 403, data)
        st, _, data = b.go("POST", url, body=CSV, headers=dict(hdr, **{"X-CSRF-Token": csrf}))
        self.assertEqual(st, 200, data)
        # the ingest was maria's: the services behind saw her name
        log = self.srv.read_log()
        ingests = [json.loads(l) for l in log.splitlines() if l.startswith("{") and
                   '"path":"/ingest"' in l]
        self.assertTrue(any(r.get("who") == "maria" and r.get("service") == "ingestd"
                            for r in ingests), ingests)

    def test_a_reader_session_cannot_write(self):
        b = Browser(self.srv.url)
        b.sign_in(ANN)
        st, _, page = b.go("GET", "/upload")
        self.assertEqual(st, 200)
        self.assertIn(b"can only read", page)
        self.assertNotIn(b'href="/upload"', page)
        st, _, data = b.go("POST", "/v1/ingest?name=by_ann", body=CSV,
                           headers={"Content-Type": "text/csv", "Accept": "application/json",
                                    "X-CSRF-Token": b.jar["lh_csrf"]})
        self.assertEqual(st, 403, data)
        self.assertEqual(json.loads(data)["code"], "forbidden")

    def test_sign_out_ends_the_session_on_the_server(self):
        b = Browser(self.srv.url)
        b.sign_in(MARIA)
        old = dict(b.jar)
        st, _, _ = b.go("GET", "/")
        self.assertEqual(st, 200)
        body = ("csrf=%s" % b.jar["lh_csrf"]).encode()
        st, hdrs, _ = b.go("POST", "/signout", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 303)
        self.assertEqual(hdrs["location"], "/signin?signed_out=1")
        self.assertNotIn("lh_session", b.jar)
        # the old cookie is dead on the server, not only in the browser
        b.jar = old
        st, hdrs, _ = b.go("GET", "/")
        self.assertEqual(st, 303)

    def test_a_next_outside_the_site_goes_home(self):
        for bad in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            b = Browser(self.srv.url)
            st, hdrs, _ = b.sign_in(MARIA, bad)
            self.assertEqual(st, 303)
            self.assertEqual(hdrs["location"], "/", bad)

    def test_bearer_clients_are_unchanged(self):
        st, _, obj = request_json("GET", self.srv.url + "/v1/catalog/datasets",
                                  headers={"Authorization": "Bearer " + ANN})
        self.assertEqual(st, 200, obj)
        st, _, page = request("GET", self.srv.url + "/", headers={
            "Authorization": "Bearer " + ANN, "Accept": "text/html"})
        self.assertEqual(st, 200)


class TestSessionExpiry(ServerTest):
    def test_an_expired_session_signs_in_again(self):
        srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet",
                                   "LAKEHOUSE_GATEWAY_SESSION_TTL": "1s"})
        try:
            b = Browser(srv.url)
            b.sign_in(MARIA)
            st, _, _ = b.go("GET", "/")
            self.assertEqual(st, 200)
            time.sleep(1.3)
            st, hdrs, _ = b.go("GET", "/")
            self.assertEqual(st, 303)
            self.assertEqual(hdrs["location"], "/signin?expired=1&next=/")
            st, _, page = b.go("GET", hdrs["location"])
            self.assertIn(b"expired", page)
        finally:
            srv.cleanup()
