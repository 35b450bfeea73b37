"""Personal columns masked for read and agent tokens (issue 20 point 3, ADR
0211) on the real binary, with named tokens: an admin marks candidates'
email, phone and dob; a read token and an agent token then read them as
NULL through every way the SQL can reach them (SELECT *, length(), LIKE in a
WHERE, GROUP BY, a join, a CTE, a past version "name@1", CSV and Parquet
results, search() in SQL), through search (hits, a `where` on a masked
column, an index over a masked column refused), through MCP over HTTP, and
cannot fetch the raw objects; write and admin tokens see every value; a
change of mask applies to the very next query; rename keeps the mask and
drop removes it; only an admin may set one."""
import json
import time

from lhtest import Server, ServerTest, request, request_json

ROOT = "root-token-0123456789"
MARIA = "maria-token-0123456789"
ANN = "ann-token-0123456789"
BOT = "bot-token-0123456789ab"
TOKENS = "root:admin:%s,maria:write:%s,ann:read:%s,bot:agent:%s" % (ROOT, MARIA, ANN, BOT)

CANDIDATES = (b"candidate_id,full_name,email,phone,dob,skills\n"
              b"1,Ada Lovelace,ada@example.com,+44 20 7946 0001,1990-12-10,forklift warehouse\n"
              b"2,Grace Hopper,grace@example.org,+1 212 555 0102,1985-12-09,dental hygienist\n"
              b"3,Alan Turing,alan@example.net,+44 161 496 0003,1992-06-23,software engineer\n")
PLACEMENTS = (b"placement_id,candidate_email,client\n"
              b"10,ada@example.com,Acme\n11,grace@example.org,Globex\n")
PERSONAL = ["email", "phone", "dob"]


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


class TestMasking(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url
        for name, body in (("candidates", CANDIDATES), ("placements", PLACEMENTS)):
            st, _, obj = request_json("POST", cls.base + "/v1/ingest?name=" + name, body,
                                      dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
            assert st == 200, obj
        # version 2, so "candidates@1" is a past version
        st, _, obj = request_json("POST", cls.base + "/v1/ingest?name=candidates&mode=append",
                                  b"candidate_id,full_name,email,phone,dob,skills\n"
                                  b"4,Edsger Dijkstra,edsger@example.nl,+31 20 555 0004,"
                                  b"1930-05-11,registered nurse\n",
                                  dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        assert st == 200, obj
        st, _, obj = request_json("PUT", cls.base + "/v1/catalog/masks/candidates",
                                  {"columns": PERSONAL}, bearer(ROOT))
        assert st == 200, obj

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def query(self, tok, sql, fmt=None, status=200):
        body = {"sql": sql}
        if fmt:
            body["format"] = fmt
        st, hdrs, data = request("POST", self.base + "/v1/query", body, bearer(tok))
        self.assertEqual(st, status, data[:400])
        return json.loads(data) if fmt is None else data

    def rows(self, tok, sql):
        return self.query(tok, sql)["rows"]

    # --- SQL ------------------------------------------------------------------

    def test_select_star_masks_for_read_and_agent_only(self):
        for tok in (ANN, BOT):
            rows = self.rows(tok, "SELECT email, phone, dob, full_name FROM candidates "
                                  "ORDER BY candidate_id")
            self.assertEqual([r[:3] for r in rows], [[None, None, None]] * 4)
            self.assertEqual(rows[0][3], "Ada Lovelace")
            answer = self.query(tok, "SELECT * FROM candidates")
            types = {c["name"]: c["type"] for c in answer["columns"]}
            self.assertEqual(types["dob"], "DATE")   # the type stays
        for tok in (MARIA, ROOT):
            rows = self.rows(tok, "SELECT email FROM candidates ORDER BY candidate_id")
            self.assertEqual(rows[0][0], "ada@example.com")

    def test_indirect_reads_see_nothing(self):
        cases = {
            "SELECT max(length(email)) FROM candidates": [[None]],
            "SELECT count(*) FROM candidates WHERE email LIKE 'a%'": [[0]],
            "SELECT count(*) FROM candidates WHERE dob < DATE '1950-01-01'": [[0]],
            "SELECT count(DISTINCT email), count(*) FROM candidates GROUP BY email": [[0, 4]],
            "SELECT count(*) FROM placements p JOIN candidates c ON c.email = p.candidate_email":
                [[0]],
            "WITH x AS (SELECT * FROM candidates) SELECT min(phone) FROM x": [[None]],
            "SELECT email FROM \"candidates@1\" WHERE candidate_id = 1": [[None]],
            "SELECT max(email) FROM (SELECT * FROM main.candidates)": [[None]],
            "SELECT string_agg(email, ',') FROM candidates": [[None]],
        }
        for sql, want in cases.items():
            for tok in (ANN, BOT):
                self.assertEqual(self.rows(tok, sql), want, (tok, sql))
        # the same statements as a writer: the values are there
        self.assertEqual(self.rows(MARIA, "SELECT count(*) FROM candidates WHERE email LIKE 'a%'"),
                         [[2]])
        self.assertEqual(self.rows(MARIA, "SELECT count(*) FROM placements p JOIN candidates c "
                                          "ON c.email = p.candidate_email"), [[2]])

    def test_masked_and_unmasked_alternate_on_the_workers(self):
        sql = "SELECT email FROM candidates WHERE candidate_id = 2"
        for _ in range(4):
            self.assertEqual(self.rows(ANN, sql), [[None]])
            self.assertEqual(self.rows(ROOT, sql), [["grace@example.org"]])

    def test_csv_and_parquet_results(self):
        csv = self.query(ANN, "SELECT candidate_id, email FROM candidates ORDER BY 1", "csv")
        self.assertNotIn(b"@example", csv)
        self.assertIn(b"1,", csv)
        pq = self.query(BOT, "SELECT * FROM candidates", "parquet")
        self.assertEqual(pq[:4], b"PAR1")
        self.assertNotIn(b"@example", pq)
        self.assertNotIn(b"+44", pq)
        pq = self.query(MARIA, "SELECT * FROM candidates", "parquet")
        self.assertEqual(pq[:4], b"PAR1")

    def test_raw_objects_are_refused(self):
        st, _, man = request_json("GET", self.base + "/v1/catalog/manifest/candidates",
                                  headers=bearer(ANN))
        self.assertEqual(st, 200, man)
        key = man["objects"][0]["key"]
        for tok in (ANN, BOT):
            st, _, obj = request_json("GET", self.base + "/v1/storage/get/" + key,
                                      headers=bearer(tok))
            self.assertEqual(st, 403, obj)
            self.assertIn("query the dataset instead", obj["error"])
        st, _, data = request("GET", self.base + "/v1/storage/get/" + key, headers=bearer(MARIA))
        self.assertEqual(st, 200)
        self.assertEqual(data[:4], b"PAR1")

    # --- setting masks --------------------------------------------------------

    def test_only_an_admin_sets_masks_and_names_are_checked(self):
        url = self.base + "/v1/catalog/masks/candidates"
        for tok in (ANN, MARIA):
            st, _, obj = request_json("PUT", url, {"columns": ["email"]}, bearer(tok))
            self.assertEqual(st, 403, obj)
            self.assertIn("admin token", obj["error"])
        st, _, obj = request_json("PUT", url, {"columns": ["nope"]}, bearer(ROOT))
        self.assertEqual(st, 400, obj)
        self.assertEqual(obj["code"], "unknown_column")
        st, _, obj = request_json("PUT", url, {"columns": "email"}, bearer(ROOT))
        self.assertEqual(st, 400, obj)
        st, _, obj = request_json("PUT", self.base + "/v1/catalog/masks/nobody",
                                  {"columns": ["email"]}, bearer(ROOT))
        self.assertEqual(st, 404, obj)
        st, _, obj = request_json("GET", url, headers=bearer(ANN))
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["columns"], PERSONAL)
        st, _, obj = request_json("GET", self.base + "/v1/catalog/datasets", headers=bearer(ANN))
        masked = {d["name"]: d.get("masked") for d in obj["datasets"]}
        self.assertEqual(masked["candidates"], PERSONAL)
        self.assertIsNone(masked["placements"])

    def test_a_change_applies_to_the_next_query_and_rename_drop(self):
        body = (b"id,secret\n1,s3cret\n")
        st, _, obj = request_json("POST", self.base + "/v1/ingest?name=notes", body,
                                  dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        sql = "SELECT secret FROM notes"
        self.assertEqual(self.rows(ANN, sql), [["s3cret"]])
        st, _, obj = request_json("PUT", self.base + "/v1/catalog/masks/notes",
                                  {"columns": ["secret"]}, bearer(ROOT))
        self.assertEqual(st, 200, obj)
        self.assertEqual(self.rows(ANN, sql), [[None]])
        st, _, obj = request_json("DELETE", self.base + "/v1/catalog/masks/notes",
                                  headers=bearer(ROOT))
        self.assertEqual(st, 200, obj)
        self.assertEqual(self.rows(ANN, sql), [["s3cret"]])
        request_json("PUT", self.base + "/v1/catalog/masks/notes", {"columns": ["secret"]},
                     bearer(ROOT))
        # drop removes the mask with the dataset; a new dataset of that name starts clean
        st, _, _ = request("DELETE", self.base + "/v1/catalog/manifest/notes", headers=bearer(ROOT))
        self.assertIn(st, (200, 204))
        request_json("POST", self.base + "/v1/ingest?name=notes", body,
                     dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        self.assertEqual(self.rows(ANN, sql), [["s3cret"]])


class TestMaskingHoles(ServerTest):
    """What review found (R20) and the fixes keep closed."""

    def serve(self, extra=None, workers=1):
        env = {"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet",
               "LAKEHOUSE_QUERYD_WORKERS": str(workers)}
        env.update(extra or {})
        return Server("serve", env=env)

    def test_a_view_a_writer_left_on_a_worker_never_answers_a_reader(self):
        srv = self.serve()
        try:
            request_json("POST", srv.url + "/v1/ingest?name=candidates", CANDIDATES,
                         dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
            request_json("PUT", srv.url + "/v1/catalog/masks/candidates", {"columns": PERSONAL},
                         bearer(ROOT))
            q = lambda tok, sql: request_json("POST", srv.url + "/v1/query", {"sql": sql},
                                              bearer(tok))
            st, _, obj = q(ROOT, "SELECT email FROM candidates WHERE candidate_id = 1")
            self.assertEqual(obj["rows"], [["ada@example.com"]])
            pad = ", ".join("1 AS c%d" % i for i in range(300))
            st, _, obj = q(ANN, "WITH p AS (SELECT %s) SELECT email FROM candidates "
                                "WHERE candidate_id = 1" % pad)
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["rows"], [[None]])
            # past the scanner's limit the statement is refused, never run
            many = ", ".join("1 AS c%d" % i for i in range(1100))
            st, _, obj = q(ANN, "WITH p AS (SELECT %s) SELECT email FROM candidates" % many)
            self.assertEqual(st, 400, obj)
            # a name the reader's statement does not pin is a stub, not the writer's view
            st, _, obj = q(ROOT, "SELECT email FROM candidates WHERE candidate_id = 1")
            st, _, obj = q(ANN, "SELECT 1")
            self.assertEqual(st, 200, obj)
            st, _, obj = q(ROOT, "SELECT email FROM candidates WHERE candidate_id = 2")
            self.assertEqual(obj["rows"], [["grace@example.org"]])
        finally:
            srv.cleanup()

    def test_searching_several_datasets_masks_each_its_own(self):
        srv = self.serve()
        try:
            h = dict(bearer(MARIA), **{"Content-Type": "text/csv"})
            a = b"id,email,notes\n" + b"".join(b"%d,a%d@x.org,alpha person%d\n" % (i, i, i)
                                                for i in range(20))
            bb = b"id,email,notes\n" + b"".join(b"%d,person%d@y.org,beta\n" % (i, i)
                                                 for i in range(20))
            for name, body in (("a", a), ("b", bb)):
                st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=" + name, body, h)
                self.assertEqual(st, 200, obj)
            request_json("PUT", srv.url + "/v1/catalog/index/a", {"text": ["notes"], "id": "id"},
                         bearer(MARIA))
            request_json("PUT", srv.url + "/v1/catalog/index/b",
                         {"text": ["email", "notes"], "id": "id"}, bearer(MARIA))
            request_json("PUT", srv.url + "/v1/catalog/masks/a", {"columns": ["email"]},
                         bearer(ROOT))
            # the reader searches both before any index is built: the versions
            # are opened (in-memory parts, the component) during its search
            st, _, obj = request_json("POST", srv.url + "/v1/search",
                                      {"datasets": ["a", "b"], "query": "person7"}, bearer(ANN))
            self.assertIn(st, (200, 403), obj)
            st, _, obj = request_json("POST", srv.url + "/v1/search",
                                      {"dataset": "b", "query": "person7", "mode": "text"},
                                      bearer(ROOT))
            self.assertEqual(st, 200, obj)
            self.assertTrue(obj["results"], obj)
            self.assertEqual(obj["results"][0]["row"]["email"], "person7@y.org")
        finally:
            srv.cleanup()

    def test_a_column_only_past_versions_have_can_be_masked(self):
        srv = self.serve()
        try:
            h = dict(bearer(MARIA), **{"Content-Type": "text/csv"})
            st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=c",
                                      b"id,mail\n1,ada@example.com\n", h)
            self.assertEqual(st, 200, obj)
            st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=c&evolve=true",
                                      b"id,email\n2,grace@example.org\n", h)
            self.assertEqual(st, 200, obj)
            st, _, obj = request_json("PUT", srv.url + "/v1/catalog/masks/c",
                                      {"columns": ["email", "mail"]}, bearer(ROOT))
            self.assertEqual(st, 200, obj)
            st, _, obj = request_json("POST", srv.url + "/v1/query",
                                      {"sql": "SELECT mail FROM \"c@1\""}, bearer(ANN))
            self.assertEqual(obj["rows"], [[None]])
        finally:
            srv.cleanup()

    def test_a_read_only_deployment_still_queries(self):
        import shutil
        import tempfile
        d = tempfile.mkdtemp(prefix="lh-ro-")
        try:
            srv = Server("serve", data_dir=d, env={"LAKEHOUSE_LOG": "quiet"})
            request_json("POST", srv.url + "/v1/ingest?name=t", b"a,b\n1,2\n",
                         {"Content-Type": "text/csv"})
            srv.stop()
            srv = Server("serve", data_dir=d, env={"LAKEHOUSE_LOG": "quiet",
                                                   "LAKEHOUSE_AUTH_READ_TOKENS": ANN})
            st, _, obj = request_json("POST", srv.url + "/v1/query", {"sql": "SELECT * FROM t"},
                                      bearer(ANN))
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["rows"], [[1, 2]])
            srv.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)


class TestMaskingInTheWebUI(ServerTest):
    """The dataset page: personal columns marked; the form for admins only."""

    def test_page_marks_and_the_admin_form_sets_them(self):
        import re
        from urllib.parse import quote
        srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet"})
        try:
            st, _, obj = request_json("POST", srv.url + "/v1/ingest?name=candidates", CANDIDATES,
                                      dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
            self.assertEqual(st, 200, obj)
            page = lambda tok: request("GET", srv.url + "/datasets/candidates",
                                       headers=dict(bearer(tok), Accept="text/html"))
            st, hdrs, body = page(ROOT)
            self.assertEqual(st, 200)
            self.assertIn(b'id="masks-form"', body)
            self.assertIn(b'id="drop-form"', body)
            csrf = re.search(r"lh_csrf=([0-9a-f]{64});", hdrs["set-cookie"]).group(1)
            form = "csrf=%s&columns=%s" % (csrf, quote("email, phone"))
            post = lambda tok: request("POST", srv.url + "/datasets/candidates/masks", body=form,
                                       headers=dict(bearer(tok), **{
                                           "Content-Type": "application/x-www-form-urlencoded",
                                           "Cookie": "lh_csrf=" + csrf, "Accept": "text/html"}))
            st, _, _ = post(MARIA)      # a write token may not
            self.assertEqual(st, 403)
            st, hdrs, _ = post(ROOT)
            self.assertEqual(st, 303)
            self.assertEqual(hdrs["location"], "/datasets/candidates#personal")
            st, _, obj = request_json("GET", srv.url + "/v1/catalog/masks/candidates",
                                      headers=bearer(ANN))
            self.assertEqual(obj["columns"], ["email", "phone"])
            for tok in (ANN, MARIA):
                st, _, body = page(tok)
                self.assertEqual(st, 200)
                self.assertEqual(body.count(b'class="badge personal"'), 2)
                self.assertNotIn(b'id="masks-form"', body)
                self.assertNotIn(b'id="drop-form"', body)
                self.assertNotIn(b"ada@example.com", body) if tok == ANN else \
                    self.assertIn(b"ada@example.com", body)
            self.assertNotIn(b"Upload new version", page(ANN)[2])
            self.assertIn(b"Upload new version", page(MARIA)[2])
        finally:
            srv.cleanup()


class TestMaskedSearch(ServerTest):
    """Search over a dataset with personal columns."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url
        st, _, obj = request_json("POST", cls.base + "/v1/ingest?name=candidates", CANDIDATES,
                                  dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        assert st == 200, obj
        for name, decl in (("candidates", {"text": ["full_name", "skills"], "id": "candidate_id"}),):
            st, _, obj = request_json("PUT", cls.base + "/v1/catalog/index/" + name, decl,
                                      bearer(MARIA))
            assert st in (200, 201), obj
        deadline = time.time() + 90
        while time.time() < deadline:
            st, _, obj = request_json("GET", cls.base + "/v1/catalog/index/candidates",
                                      headers=bearer(MARIA))
            if obj["versions"] and all(v["state"] == "ready" for v in obj["versions"]):
                break
            time.sleep(0.1)
        st, _, obj = request_json("PUT", cls.base + "/v1/catalog/masks/candidates",
                                  {"columns": PERSONAL}, bearer(ROOT))
        assert st == 200, obj

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def search(self, tok, body, status=200):
        st, _, obj = request_json("POST", self.base + "/v1/search", body, bearer(tok))
        self.assertEqual(st, status, obj)
        return obj

    def test_hits_hide_personal_columns(self):
        for tok in (ANN, BOT):
            ans = self.search(tok, {"dataset": "candidates", "query": "dental hygienist"})
            top = ans["results"][0]
            self.assertEqual(top["row"]["full_name"], "Grace Hopper")
            for col in PERSONAL:
                self.assertIsNone(top["row"][col])
            self.assertNotIn("grace@", json.dumps(ans))
        ans = self.search(MARIA, {"dataset": "candidates", "query": "dental hygienist"})
        self.assertEqual(ans["results"][0]["row"]["email"], "grace@example.org")

    def test_where_on_a_masked_column_keeps_nothing(self):
        body = {"dataset": "candidates", "query": "engineer", "where": "email LIKE 'alan%'"}
        self.assertEqual(self.search(ANN, body)["results"], [])
        self.assertEqual(len(self.search(MARIA, body)["results"]), 1)
        # and the reader's empty filter is not served from the writer's cache
        self.assertEqual(self.search(BOT, body)["results"], [])

    def test_search_in_sql(self):
        sql = "SELECT full_name, email FROM search('candidates', 'software engineer', k := 1)"
        st, _, obj = request_json("POST", self.base + "/v1/query", {"sql": sql}, bearer(ANN))
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["rows"], [["Alan Turing", None]])

    def test_an_index_over_a_masked_column_is_refused(self):
        st, _, obj = request_json("POST", self.base + "/v1/ingest?name=contacts",
                                  b"id,email\n1,ada@example.com\n",
                                  dict(bearer(MARIA), **{"Content-Type": "text/csv"}))
        self.assertEqual(st, 200, obj)
        request_json("PUT", self.base + "/v1/catalog/index/contacts",
                     {"text": ["email"], "id": "id"}, bearer(MARIA))
        request_json("PUT", self.base + "/v1/catalog/masks/contacts", {"columns": ["email"]},
                     bearer(ROOT))
        obj = self.search(ANN, {"dataset": "contacts", "query": "ada"}, status=403)
        self.assertEqual(obj["code"], "masked_column")
        self.assertIn("email", obj["error"])

    def test_feedback_names_who_rated(self):
        # issue 20 point 2: the feedback dataset's "who" is the token's name
        st, _, obj = request_json("POST", self.base + "/v1/search/feedback",
                                  {"dataset": "candidates", "query": "dental hygienist",
                                   "id": 2, "score": 1}, bearer(MARIA))
        self.assertEqual(st, 200, obj)
        st, _, obj = request_json("POST", self.base + "/v1/query",
                                  {"sql": "SELECT who, id FROM candidates__feedback"},
                                  bearer(ANN))
        self.assertEqual(st, 200, obj)
        self.assertIn(["maria", 2], obj["rows"])

    def test_mcp_query_tool_sees_nulls(self):
        hdr = dict(bearer(BOT), **{"Accept": "application/json, text/event-stream"})
        st, h, obj = request_json("POST", self.base + "/mcp", {
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                       "clientInfo": {"name": "test", "version": "1"}}}, hdr)
        self.assertEqual(st, 200, obj)
        sid = h["mcp-session-id"]
        hdr["Mcp-Session-Id"] = sid
        hdr["MCP-Protocol-Version"] = "2025-06-18"
        request("POST", self.base + "/mcp", {"jsonrpc": "2.0",
                                             "method": "notifications/initialized"}, hdr)
        st, _, obj = request_json("POST", self.base + "/mcp", {
            "jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "query", "arguments": {
                "sql": "SELECT full_name, email, phone FROM candidates ORDER BY candidate_id"}}},
            hdr)
        self.assertEqual(st, 200, obj)
        text = json.dumps(obj)
        self.assertIn("Ada Lovelace", text)
        self.assertNotIn("@example", text)
        self.assertNotIn("+44", text)
