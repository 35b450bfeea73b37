"""Named tokens with roles (ADR 0210) on the real binary: `lakehouse token new`
writes only a hashed line to a tokens file; `serve` reads it; each role may do
what ADR 0210 says (agent reads only, write ingests but cannot drop, admin
drops); the request log names who made each request; a configuration with
only hashed tokens and no service token is refused with what to set; errors
never print a token."""
import json
import os
import re
import subprocess
import tempfile

from lhtest import BINARY, Server, ServerTest, request, request_json

CSV = b"id,name\n1,ann\n2,bob\n"


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def new_token(name, role, path):
    out = subprocess.run([BINARY, "token", "new", name, "--role", role, "--file", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, timeout=30)
    assert out.returncode == 0, out.stderr
    token = out.stdout.decode().strip()
    assert re.fullmatch(r"lh_[A-Za-z0-9_-]{43}", token), token
    return token, out.stderr.decode()


class TestNamedTokens(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lh-tokens-")
        cls.file = os.path.join(cls.dir, "tokens")
        cls.maria, cls.maria_says = new_token("maria", "write", cls.file)
        cls.bot, _ = new_token("claims-bot", "agent", cls.file)
        cls.root, _ = new_token("root", "admin", cls.file)
        cls.service = "service-token-0123456789abcdef"
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS_FILE": cls.file,
                                       "LAKEHOUSE_AUTH_SERVICE_TOKEN": cls.service,
                                       "LAKEHOUSE_LOG": "json"})

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def url(self, path):
        return self.srv.url + path

    def test_the_file_holds_hashes_only(self):
        with open(self.file) as f:
            text = f.read()
        for tok in (self.maria, self.bot, self.root):
            self.assertNotIn(tok, text)
        self.assertRegex(text, r"(?m)^maria:write:sha256:[0-9a-f]{64}$")
        self.assertRegex(text, r"(?m)^claims-bot:agent:sha256:[0-9a-f]{64}$")
        self.assertEqual(os.stat(self.file).st_mode & 0o777, 0o600)
        self.assertIn("not shown again", self.maria_says)

    def test_a_file_without_a_final_newline_gets_one(self):
        path = os.path.join(self.dir, "edited-by-hand")
        with open(path, "w") as f:
            f.write("ann:read:ann-token-0123456789")      # no newline at the end
        new_token("bob", "read", path)
        with open(path) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "ann:read:ann-token-0123456789")
        self.assertRegex(lines[1], r"^bob:read:sha256:[0-9a-f]{64}$")

    def test_a_name_is_not_given_twice(self):
        out = subprocess.run([BINARY, "token", "new", "maria", "--file", self.file],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(out.returncode, 1)
        self.assertEqual(out.stdout, b"")
        self.assertIn("already has a token named", out.stderr.decode())

    def test_roles(self):
        hdr = {"Content-Type": "text/csv"}
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=people"), body=CSV,
                                  headers=dict(bearer(self.bot), **hdr))
        self.assertEqual(st, 403, obj)
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=people"), body=CSV,
                                  headers=dict(bearer(self.maria), **hdr))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", self.url("/v1/query"),
                                  body=json.dumps({"sql": "SELECT count(*) AS n FROM people"}).encode(),
                                  headers=dict(bearer(self.bot), **{"Content-Type": "application/json"}))
        self.assertEqual(st, 200, obj)
        # write may not drop: an admin operation.
        st, h, obj = request_json("DELETE", self.url("/v1/catalog/manifest/people"),
                                  headers=bearer(self.maria))
        self.assertEqual(st, 403, obj)
        self.assertIn("admin token", obj["error"])
        self.assertIn("insufficient_scope", h["www-authenticate"])
        st, _, obj = request_json("DELETE", self.url("/v1/catalog/manifest/people"),
                                  headers=bearer(self.root))
        self.assertIn(st, (200, 204), obj)

    def test_the_log_names_who(self):
        st, _, _ = request_json("GET", self.url("/v1/catalog/datasets"), headers=bearer(self.bot))
        self.assertEqual(st, 200)
        whos = set()
        for line in self.srv.read_log().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("path") == "/v1/catalog/datasets" and rec.get("service") == "gateway":
                whos.add(rec.get("who"))
            self.assertNotIn(self.bot, line)
        self.assertIn("claims-bot", whos)

    def test_versions_say_who_ingested_them(self):
        hdr = {"Content-Type": "text/csv"}
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=placements"),
                                  body=b"id,client\n1,Acme\n", headers=dict(bearer(self.maria), **hdr))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", self.url("/v1/ingest?name=placements&mode=append"),
                                  body=b"id,client\n2,Globex\n", headers=dict(bearer(self.root), **hdr))
        self.assertEqual(st, 200, obj)
        # a caller registering by itself cannot claim to be someone else
        man = obj["manifest"]
        o = man["objects"][0]
        forged = {"name": "placements", "schema": man["schema"], "mode": "replace",
                  "schema_fingerprint": man["schema_fingerprint"],
                  "objects": [{k: o[k] for k in ("key", "size", "row_count", "content_sha256")}],
                  "row_count": o["row_count"], "ingested_by": "root"}
        st, _, obj = request_json("POST", self.url("/v1/catalog/register"), body=forged,
                                  headers=bearer(self.maria))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("GET", self.url("/v1/catalog/versions/placements"),
                                  headers=bearer(self.bot))
        self.assertEqual(st, 200, obj)
        self.assertEqual([v.get("ingested_by") for v in obj["versions"]],
                         ["maria", "root", "maria"])
        env = dict(os.environ, LAKEHOUSE_URL=self.srv.url, LAKEHOUSE_TOKEN=self.bot)
        out = subprocess.run([BINARY, "versions", "placements"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.decode().splitlines()
        self.assertIn("BY", lines[0])
        self.assertTrue(lines[1].rstrip().endswith("maria"), lines)
        st, _, page = request("GET", self.url("/datasets/placements"),
                              headers=dict(bearer(self.bot), Accept="text/html"))
        self.assertEqual(st, 200)
        self.assertIn(b'<td class="who">root</td>', page)

    def test_unknown_token_is_401(self):
        st, _, obj = request_json("GET", self.url("/v1/catalog/datasets"),
                                  headers=bearer(self.bot[:-1] + "x"))
        self.assertEqual(st, 401, obj)


class TestNamedTokenConfig(ServerTest):
    def run_serve(self, env):
        full = dict(os.environ, LAKEHOUSE_DATA_DIR=tempfile.mkdtemp(prefix="lh-tokcfg-"),
                    **env)
        return subprocess.run([BINARY, "serve", "--bind", "127.0.0.1:1"], env=full,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=30)

    def test_only_hashed_tokens_need_a_service_token(self):
        d = tempfile.mkdtemp(prefix="lh-tokcfg-")
        path = os.path.join(d, "tokens")
        tok, _ = new_token("ann", "read", path)
        out = self.run_serve({"LAKEHOUSE_AUTH_TOKENS_FILE": path})
        self.assertNotEqual(out.returncode, 0)
        err = out.stderr.decode()
        self.assertIn("service_token", err)
        self.assertNotIn(tok, err)

    def test_a_bad_line_names_file_and_line_not_the_token(self):
        d = tempfile.mkdtemp(prefix="lh-tokcfg-")
        path = os.path.join(d, "tokens")
        with open(path, "w") as f:
            f.write("# team\nann:read:ann-token-0123456789\nbob:boss:bob-secret-0123456789\n")
        out = self.run_serve({"LAKEHOUSE_AUTH_TOKENS_FILE": path,
                              "LAKEHOUSE_AUTH_SERVICE_TOKEN": "service-token-0123456789"})
        self.assertNotEqual(out.returncode, 0)
        err = out.stderr.decode()
        self.assertIn(path + ":3:", err)
        self.assertIn("role", err)
        self.assertNotIn("bob-secret", err)

    def test_plain_tokens_in_the_environment(self):
        srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS":
                                   "ops:admin:ops-token-0123456789,viewer:read:viewer-token-0123456",
                                   "LAKEHOUSE_LOG": "quiet"})
        try:
            st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=t", body=CSV,
                                      headers=dict(bearer("ops-token-0123456789"),
                                                   **{"Content-Type": "text/csv"}))
            self.assertEqual(st, 200, obj)   # services call each other with ops's token
            st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=t", body=CSV,
                                      headers=dict(bearer("viewer-token-0123456"),
                                                   **{"Content-Type": "text/csv"}))
            self.assertEqual(st, 403, obj)
        finally:
            srv.cleanup()
