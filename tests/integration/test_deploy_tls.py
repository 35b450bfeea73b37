"""The TLS reverse proxy of docs/deploy.md "A team on one server", tested with
the docs' own file: docs/examples/nginx-lakehouse.conf is run by Debian's
nginx (installed by scripts/bootstrap.sh) with only its ports, certificate
paths and temporary directories replaced, in front of `lakehouse serve` with
named tokens. Through it, over HTTPS with a certificate made by openssl: a
browser-like client signs in and gets a Secure session cookie, reads a page
as maria, uploads a 4 MB CSV with a bearer token (streamed), queries it, and
plain http is redirected to https."""
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from lhtest import ROOT, Server, ServerTest, free_port

MARIA = "maria-token-0123456789"
HOST = "lakehouse.test"


class TestNginxInFront(ServerTest):
    @classmethod
    def setUpClass(cls):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise RuntimeError("nginx is not installed: run `make bootstrap` (scripts/bootstrap.sh "
                               "installs nginx-light)")
        cls.dir = tempfile.mkdtemp(prefix="lh-nginx-")
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": "maria:write:" + MARIA,
                                       "LAKEHOUSE_HTTP_ALLOWED_HOSTS": HOST,
                                       "LAKEHOUSE_LOG": "quiet"})
        key, crt = os.path.join(cls.dir, "privkey.pem"), os.path.join(cls.dir, "fullchain.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=" + HOST, "-keyout", key, "-out", crt],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        cls.tls_port, cls.http_port = free_port(), free_port()
        with open(os.path.join(ROOT, "docs", "examples", "nginx-lakehouse.conf")) as f:
            conf = f.read()
        temp = "".join("    %s_temp_path %s;\n" % (t, os.path.join(cls.dir, t))
                       for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        for old, new in (("listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % cls.tls_port),
                         ("listen 80;", "listen 127.0.0.1:%d;" % cls.http_port),
                         ("/etc/ssl/lakehouse/fullchain.pem", crt),
                         ("/etc/ssl/lakehouse/privkey.pem", key),
                         ("127.0.0.1:8080", "127.0.0.1:%d" % cls.srv.port),
                         ("lakehouse.example.com", HOST),
                         ("http {\n", "http {\n" + temp + "    access_log off;\n")):
            assert old in conf, old
            conf = conf.replace(old, new)
        path = os.path.join(cls.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        cls.nginx = subprocess.Popen(
            [nginx, "-p", cls.dir, "-c", path, "-e", os.path.join(cls.dir, "error.log"),
             "-g", "daemon off; pid %s;" % os.path.join(cls.dir, "nginx.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.tls_port), timeout=1).close()
                break
            except OSError:
                if cls.nginx.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            raise RuntimeError("nginx did not start")
        if cls.nginx.poll() is not None:
            with open(os.path.join(cls.dir, "error.log")) as f:
                raise RuntimeError("nginx exited: " + f.read())

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait(timeout=20)
        cls.srv.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def https(self, method, path, body=None, headers=None):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", self.tls_port, context=ctx, timeout=120)
        try:
            h = {"Host": HOST}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            cookies = [v for k, v in r.getheaders() if k.lower() == "set-cookie"]
            return r.status, {k.lower(): v for k, v in r.getheaders()}, cookies, data
        finally:
            conn.close()

    def test_sign_in_through_tls_gets_a_secure_cookie(self):
        st, _, cookies, page = self.https("GET", "/signin", headers={"Accept": "text/html"})
        self.assertEqual(st, 200)
        csrf = re.search(rb'name="csrf" value="([0-9a-f]{64})"', page).group(1).decode()
        jar = {c.split("=", 1)[0]: c.split("=", 1)[1].split(";")[0] for c in cookies}
        st, hdrs, cookies, _ = self.https(
            "POST", "/signin", body="csrf=%s&token=%s&next=/" % (csrf, MARIA),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Cookie": "lh_csrf=" + jar["lh_csrf"], "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(st, 303)
        session = [c for c in cookies if c.startswith("lh_session=")]
        self.assertEqual(len(session), 1, cookies)
        self.assertIn("Secure", session[0])
        self.assertIn("HttpOnly", session[0])
        sid = session[0].split("=", 1)[1].split(";")[0]
        st, _, _, page = self.https("GET", "/", headers={"Accept": "text/html",
                                                        "Cookie": "lh_session=" + sid})
        self.assertEqual(st, 200)
        self.assertIn(b"maria", page)

    def test_an_upload_and_a_query_stream_through(self):
        rows = ["candidate_id,name,city"] + ["%d,name %d,city %d" % (i, i, i % 50)
                                             for i in range(200000)]
        body = ("\n".join(rows) + "\n").encode()
        self.assertGreater(len(body), 4 << 20)
        st, _, _, data = self.https("POST", "/v1/ingest?name=candidates", body=body, headers={
            "Authorization": "Bearer " + MARIA, "Content-Type": "text/csv"})
        self.assertEqual(st, 200, data)
        st, _, _, data = self.https("POST", "/v1/query",
                                    body=b'{"sql": "SELECT count(*) AS n FROM candidates"}',
                                    headers={"Authorization": "Bearer " + MARIA,
                                             "Content-Type": "application/json"})
        self.assertEqual(st, 200, data)
        self.assertIn(b"200000", data)

    def test_plain_http_goes_to_https(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        conn.request("GET", "/console", headers={"Host": HOST})
        r = conn.getresponse()
        r.read()
        conn.close()
        self.assertEqual(r.status, 301)
        self.assertEqual(r.getheader("Location"), "https://%s/console" % HOST)
