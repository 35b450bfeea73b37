"""Bearer-token authentication (ADR 0090) on the real binary:
401 without or with a wrong token (JSON, WWW-Authenticate: Bearer), 403 for a
read-only token on a write, /health always open, /metrics behind a token,
service-to-service calls carrying the token (ingest and query through serve),
a standalone service checking tokens, the refusal to listen on a non-loopback
address without tokens (with the fix in the message), and the CLI with
LAKEHOUSE_TOKEN. Traffic goes to 127.0.0.1 only, even when the server binds
0.0.0.0."""
import os
import socket
import subprocess
import tempfile
import shutil

from lhtest import BINARY, Server, ServerTest, free_port, request, request_json

READ, WRITE = "read-token-123", "write-token-456"
TOKENS = {"LAKEHOUSE_AUTH_READ_TOKENS": READ, "LAKEHOUSE_AUTH_WRITE_TOKENS": WRITE}
CSV = b"id,name\n1,ann\n2,bob\n"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def run_cli(args, url, token=None, timeout=60):
    env = dict(os.environ)
    env.pop("LAKEHOUSE_TOKEN", None)
    env["LAKEHOUSE_URL"] = url
    if token:
        env["LAKEHOUSE_TOKEN"] = token
    return subprocess.run([BINARY] + args, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)


class TestAuthServe(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env=dict(TOKENS, LAKEHOUSE_LOG="quiet"))

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def url(self, path):
        return self.srv.url + path

    def test_read_token_downloads_a_console_result(self):
        # The console's download only runs a query with the caller's token,
        # like POST /console: a read (found in review: it needed a write token).
        import re
        from urllib.parse import quote
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=people_dl"), body=CSV,
                                  headers=dict(bearer(WRITE), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        st, hdrs, _ = request("GET", self.url("/console"), headers=bearer(READ))
        self.assertEqual(st, 200)
        token = re.search(r"lh_csrf=([0-9a-f]{64});", hdrs["set-cookie"]).group(1)
        body = "sql=%s&format=csv&csrf=%s" % (quote("SELECT count(*) AS n FROM people_dl"), token)
        st, hdrs, data = request("POST", self.url("/console/download"), body=body, headers=dict(
            bearer(READ), **{"Content-Type": "application/x-www-form-urlencoded",
                             "Cookie": "lh_csrf=" + token}))
        self.assertEqual(st, 200, data[:300])
        self.assertIn("attachment", hdrs.get("content-disposition", ""))
        self.assertEqual(data.decode().splitlines()[0], "n")

    def test_health_is_open(self):
        st, _, obj = request_json("GET", self.url("/health"))
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["status"], "ok")   # upstream probes pass too

    def test_missing_and_wrong_tokens_are_401(self):
        for hdrs in ({}, bearer("nope"), bearer(READ + "x"), {"Authorization": "Basic " + READ},
                     {"Authorization": READ}):
            st, h, obj = request_json("GET", self.url("/v1/catalog/datasets"), headers=hdrs)
            self.assertEqual(st, 401, (hdrs, obj))
            self.assertEqual(obj["code"], "unauthorized")
            self.assertIn("Bearer", obj["error"])
            self.assertTrue(h["www-authenticate"].startswith("Bearer"), h)
        st, h, _ = request("GET", self.url("/v1/catalog/datasets"), headers=bearer("nope"))
        self.assertIn('error="invalid_token"', h["www-authenticate"])
        # a write without a token is 401 too, and nothing is stored
        st, _, obj = request_json("PUT", self.url("/v1/storage/put/a/b"), body=b"xyz")
        self.assertEqual(st, 401, obj)
        st, _, obj = request_json("GET", self.url("/v1/storage/list?prefix=a/"),
                                  headers=bearer(READ))
        self.assertEqual((st, obj["objects"]), (200, []))

    def test_metrics_needs_a_token(self):
        st, _, _ = request("GET", self.url("/metrics"))
        self.assertEqual(st, 401)
        st, _, body = request("GET", self.url("/metrics"), headers=bearer(READ))
        self.assertEqual(st, 200)
        self.assertIn(b"lakehouse_http_requests_total", body)

    def test_browser_gets_a_page_that_explains(self):
        # Changed deliberately with the web UI's sign-in (ADR 0212): the
        # gateway sends a browser to the sign-in page instead of a 401 page.
        st, h, body = request("GET", self.url("/"), headers={"Accept": "text/html"})
        self.assertEqual(st, 303)
        self.assertEqual(h["location"], "/signin?next=/")
        st, h, body = request("GET", self.url("/signin"), headers={"Accept": "text/html"})
        self.assertEqual(st, 200)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn(b"Your token", body)
        st, _, _ = request("GET", self.url("/"), headers=bearer(READ))
        self.assertEqual(st, 200)

    def test_read_token_reads_and_queries_but_cannot_write(self):
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=people_r"), body=CSV,
                                  headers=dict(bearer(WRITE), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)   # ingestd -> storaged/catalogd with its token
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=people_r2"), body=CSV,
                                  headers=dict(bearer(READ), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 403, obj)
        self.assertEqual(obj["code"], "forbidden")
        self.assertIn("read-only", obj["error"])
        st, _, obj = request_json("GET", self.url("/v1/catalog/versions/people_r2"),
                                  headers=bearer(READ))
        self.assertEqual(st, 404, obj)   # the refused ingest left no version
        for method, path in (("DELETE", "/v1/catalog/manifest/people_r"),
                             ("PUT", "/v1/storage/put/x/y"),
                             ("DELETE", "/v1/storage/delete/" + "x/y")):
            st, h, obj = request_json(method, self.url(path), body=b"" if method == "PUT" else None,
                                      headers=bearer(READ))
            self.assertEqual(st, 403, (method, path, obj))
            self.assertIn("insufficient_scope", h["www-authenticate"])
        st, _, obj = request_json("GET", self.url("/v1/catalog/manifest/people_r"),
                                  headers=bearer(READ))
        self.assertEqual(st, 200, obj)
        # queryd -> catalogd/storaged with its token
        st, _, obj = request_json("POST", self.url("/v1/query"),
                                  body={"sql": "SELECT count(*) AS n FROM people_r"},
                                  headers=bearer(READ))
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["rows"], [[2]])
        st, _, obj = request_json("POST", self.url("/v1/query"), body={"sql": "SELECT 1"})
        self.assertEqual(st, 401, obj)

    def test_write_token_deletes(self):
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=people_w"), body=CSV,
                                  headers=dict(bearer(WRITE), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        st, _, _ = request("DELETE", self.url("/v1/catalog/manifest/people_w"),
                           headers=bearer(WRITE))
        self.assertIn(st, (200, 204))

    def test_cli_with_tokens(self):
        d = tempfile.mkdtemp(prefix="lh-auth-cli-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "cli.csv")
        with open(path, "wb") as f:
            f.write(CSV)
        p = run_cli(["ingest", "people_cli", path], self.srv.url)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"bearer token", p.stderr)
        p = run_cli(["ingest", "people_cli", path], self.srv.url, token=READ)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"read-only", p.stderr)
        p = run_cli(["ingest", "people_cli", path], self.srv.url, token=WRITE)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run_cli(["ls"], self.srv.url, token=READ)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"people_cli", p.stdout)
        p = run_cli(["query", "SELECT name FROM people_cli ORDER BY id"], self.srv.url, token=READ)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"bob", p.stdout)
        p = run_cli(["ls"], self.srv.url, token="wrong")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"bearer token", p.stderr)


class TestAuthStandalone(ServerTest):
    def test_storaged_checks_tokens(self):
        srv = self.start("storaged", env=TOKENS)
        u = srv.url + "/storage/put/k/1"
        self.assertEqual(request("PUT", u, body=b"abc")[0], 401)
        self.assertEqual(request("PUT", u, body=b"abc", headers=bearer(READ))[0], 403)
        self.assertEqual(request("PUT", u, body=b"abc", headers=bearer(WRITE))[0], 200)
        st, _, body = request("GET", srv.url + "/storage/get/k/1", headers=bearer(READ))
        self.assertEqual((st, body), (200, b"abc"))
        self.assertEqual(request("GET", srv.url + "/storage/get/k/1")[0], 401)
        # a browser at a service other than the gateway gets the page that explains
        st, h, body = request("GET", srv.url + "/storage/list", headers={"Accept": "text/html"})
        self.assertEqual(st, 401)
        self.assertTrue(h["content-type"].startswith("text/html"))
        self.assertIn(b"needs a token", body)

    def test_tokens_from_the_config_file(self):
        d = tempfile.mkdtemp(prefix="lh-auth-cfg-")
        self.addCleanup(shutil.rmtree, d, True)
        cfg = os.path.join(d, "lakehouse.toml")
        with open(cfg, "w") as f:
            f.write('[auth]\nread_tokens = ["fr1", "fr2"]\nwrite_tokens = ["fw1"]\n')
        srv = self.start("catalogd", args=["--config", cfg])
        self.assertEqual(request("GET", srv.url + "/catalog/datasets")[0], 401)
        self.assertEqual(request("GET", srv.url + "/catalog/datasets", headers=bearer("fr2"))[0], 200)
        self.assertEqual(request("GET", srv.url + "/catalog/datasets", headers=bearer("fw1"))[0], 200)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class TestOpenBind(ServerTest):
    def refused(self, command, extra_env=None):
        port = free_port()
        d = tempfile.mkdtemp(prefix="lh-auth-bind-")
        self.addCleanup(shutil.rmtree, d, True)
        env = dict(os.environ, LAKEHOUSE_DATA_DIR=d)
        for k in list(env):
            if k.startswith("LAKEHOUSE_AUTH_"):
                del env[k]
        env.update(extra_env or {})
        p = subprocess.run([BINARY, command, "--bind", "0.0.0.0:%d" % port], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        err = p.stderr.decode()
        self.assertIn("refusing to listen on 0.0.0.0:%d without tokens" % port, err)
        self.assertIn("LAKEHOUSE_AUTH_WRITE_TOKENS", err)
        self.assertIn("127.0.0.1", err)
        self.assertFalse(port_open(port))
        return err

    def test_every_service_refuses_an_open_bind_without_tokens(self):
        for cmd in ("storaged", "catalogd", "gateway", "serve"):
            self.refused(cmd)
        self.refused("ingestd", {"LAKEHOUSE_INGESTD_STORAGED_URL": "http://127.0.0.1:1",
                                 "LAKEHOUSE_INGESTD_CATALOGD_URL": "http://127.0.0.1:1"})

    def test_an_empty_token_list_is_no_tokens(self):
        self.refused("storaged", {"LAKEHOUSE_AUTH_WRITE_TOKENS": "",
                                  "LAKEHOUSE_AUTH_READ_TOKENS": ""})

    def test_open_bind_with_tokens_starts_and_checks(self):
        port = free_port()
        # Server binds 127.0.0.1 first; the later --bind wins (flags apply in order).
        srv = self.start("serve", port=port, args=["--bind", "0.0.0.0:%d" % port],
                         env=dict(TOKENS, LAKEHOUSE_LOG="quiet"))
        st, _, obj = request_json("GET", srv.url + "/health")
        self.assertEqual(st, 200, obj)
        self.assertEqual(request("GET", srv.url + "/v1/catalog/datasets")[0], 401)
        self.assertEqual(request("GET", srv.url + "/v1/catalog/datasets",
                                 headers=bearer(READ))[0], 200)
        # it really listens on every address (0.0.0.0), state 0A = LISTEN
        with open("/proc/net/tcp") as f:
            rows = [l.split() for l in f.readlines()[1:]]
        self.assertIn(("00000000:%04X" % port, "0A"), [(r[1], r[3]) for r in rows])
