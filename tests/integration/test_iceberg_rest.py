"""The Iceberg REST Catalog API in the gateway (issue 19 points 2-3, ADR
0235-0237) on the real binary with named tokens: config, the one namespace,
list tables with paging, errors in the spec's ErrorModel (404, 401, 403),
writes refused with 405 pointing at /v1/ingest, metrics reports accepted;
the files over HTTP (Range, HEAD) and who may read them. The load-table
answer and the files' contents are checked against H19a's builder here and,
end to end with real clients, in tests/iceberg/."""
import json
import threading

import urllib.parse

from lhtest import Server, ServerTest, free_port, request, request_json

ADMIN = "admin-token-0123456789"
WRITER = "write-token-0123456789"
READER = "read-token-01234567890"
AGENT = "agent-token-0123456789"
TOKENS = "root:admin:%s,maria:write:%s,ann:read:%s,bot:agent:%s" % (ADMIN, WRITER, READER,
                                                                      AGENT)


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def ingest(base, name, body, mode=None, tok=WRITER):
    url = base + "/v1/ingest?name=" + name + ("&mode=" + mode if mode else "")
    st, _, obj = request_json("POST", url, body, dict(bearer(tok), **{"Content-Type": "text/csv"}))
    assert st == 200, obj
    return obj


class IcebergRestTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet"})
        cls.base = cls.srv.url
        cls.ice = cls.base + "/iceberg/v1"
        ingest(cls.base, "people", b"id,name\n1,Ada\n2,Grace\n")
        ingest(cls.base, "people", b"id,name\n3,Alan\n", mode="append")
        for name in ("alpha", "beta", "gamma"):
            ingest(cls.base, name, b"x\n1\n")
        ingest(cls.base, "candidates", b"id,email\n1,ada@example.com\n")
        st, _, obj = request_json("PUT", cls.base + "/v1/catalog/masks/candidates",
                                  {"columns": ["email"]}, bearer(ADMIN))
        assert st == 200, obj

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def get(self, path, tok=READER, method="GET", headers=None):
        return request_json(method, self.ice + path, None, dict(bearer(tok), **(headers or {})))

    def assertIcebergError(self, answer, status, typ):
        """The REST spec's ErrorModel: {"error": {"message", "type", "code"}}."""
        st, _, obj = answer
        self.assertEqual(st, status, obj)
        self.assertEqual(set(obj), {"error"}, obj)
        err = obj["error"]
        self.assertEqual(err["type"], typ, err)
        self.assertEqual(err["code"], status, err)
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"])
        return err["message"]

    # --- config and namespaces ---------------------------------------------------

    def test_config_has_defaults_overrides_and_our_endpoints(self):
        for q in ("", "?warehouse=anything"):
            st, _, obj = self.get("/config" + q)
            self.assertEqual(st, 200, obj)
            self.assertEqual(obj["defaults"], {})
            self.assertEqual(obj["overrides"], {})   # no prefix: paths are /v1/namespaces
            self.assertIn("GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
                          obj["endpoints"])
            self.assertFalse([e for e in obj["endpoints"] if not e.startswith(("GET", "HEAD"))
                              and not e.endswith("/metrics")], obj["endpoints"])

    def test_one_namespace_holds_every_dataset(self):
        st, _, obj = self.get("/namespaces")
        self.assertEqual((st, obj), (200, {"namespaces": [["lakehouse"]]}))
        st, _, obj = self.get("/namespaces?parent=lakehouse")
        self.assertEqual((st, obj), (200, {"namespaces": []}))
        self.assertIcebergError(self.get("/namespaces?parent=sales"), 404,
                                "NoSuchNamespaceException")
        st, _, obj = self.get("/namespaces/lakehouse")
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["namespace"], ["lakehouse"])
        self.assertIsInstance(obj["properties"], dict)
        st, _, data = request("HEAD", self.ice + "/namespaces/lakehouse", None, bearer(READER))
        self.assertEqual((st, data), (204, b""))
        st, _, _ = request("HEAD", self.ice + "/namespaces/sales", None, bearer(READER))
        self.assertEqual(st, 404)
        msg = self.assertIcebergError(self.get("/namespaces/sales"), 404,
                                      "NoSuchNamespaceException")
        self.assertIn("sales", msg)
        self.assertIcebergError(self.get("/namespaces/sales/tables"), 404,
                                "NoSuchNamespaceException")
        # a nested namespace (parts joined by %1F) is not ours either
        self.assertIcebergError(self.get("/namespaces/lakehouse%1Fx"), 404,
                                "NoSuchNamespaceException")

    # --- tables ------------------------------------------------------------------

    def test_list_tables_names_every_dataset_in_order(self):
        st, _, obj = self.get("/namespaces/lakehouse/tables")
        self.assertEqual(st, 200, obj)
        self.assertNotIn("next-page-token", obj)
        self.assertEqual(obj["identifiers"],
                         [{"namespace": ["lakehouse"], "name": n}
                          for n in ("alpha", "beta", "candidates", "gamma", "people")])

    def test_list_tables_pages(self):
        names, token, pages = [], None, 0
        while True:
            q = "?pageSize=2" + ("&pageToken=" + token if token else "")
            st, _, obj = self.get("/namespaces/lakehouse/tables" + q)
            self.assertEqual(st, 200, obj)
            self.assertLessEqual(len(obj["identifiers"]), 2)
            names += [i["name"] for i in obj["identifiers"]]
            pages += 1
            token = obj.get("next-page-token")
            if not token:
                break
        self.assertEqual(names, ["alpha", "beta", "candidates", "gamma", "people"])
        self.assertEqual(pages, 3)
        self.assertIcebergError(self.get("/namespaces/lakehouse/tables?pageSize=0"), 400,
                                "BadRequestException")

    def test_unknown_table_is_no_such_table(self):
        for name in ("nope", "bad-name", "x" * 300):
            msg = self.assertIcebergError(self.get("/namespaces/lakehouse/tables/" + name), 404,
                                          "NoSuchTableException")
            self.assertIn("does not exist", msg)
        st, _, data = request("HEAD", self.ice + "/namespaces/lakehouse/tables/people", None,
                              bearer(READER))
        self.assertEqual((st, data), (204, b""))
        st, _, _ = request("HEAD", self.ice + "/namespaces/lakehouse/tables/nope", None,
                           bearer(READER))
        self.assertEqual(st, 404)
        self.assertIcebergError(self.get("/no/such/route"), 404, "NotFoundException")

    # --- tokens ------------------------------------------------------------------

    def test_a_token_is_required_and_errors_are_the_error_model(self):
        for hdrs in ({}, {"Authorization": "Bearer not-a-known-token-123"},
                     {"Authorization": "Basic abc"}):
            st, h, obj = request_json("GET", self.ice + "/namespaces", None, hdrs)
            self.assertIcebergError((st, h, obj), 401, "NotAuthorizedException")
            self.assertTrue(h["www-authenticate"].startswith("Bearer"), h)
        # the rest of the gateway keeps our own error shape (ADR 0005)
        st, _, obj = request_json("GET", self.base + "/v1/catalog/datasets", None, {})
        self.assertEqual((st, obj["code"]), (401, "unauthorized"))
        for tok in (READER, AGENT, WRITER, ADMIN):
            st, _, obj = self.get("/namespaces/lakehouse/tables", tok)
            self.assertEqual(st, 200, obj)

    def test_a_masked_table_is_forbidden_to_read_and_agent_tokens(self):
        for tok in (READER, AGENT):
            msg = self.assertIcebergError(self.get("/namespaces/lakehouse/tables/candidates", tok),
                                          403, "ForbiddenException")
            self.assertIn("email", msg)
            self.assertIn("write or admin token", msg)
            # its files too, even a data object named exactly
            key = self.object_keys("candidates")[0]
            self.assertIcebergError(self.get("/files/candidates/" + key, tok), 403,
                                    "ForbiddenException")
        # listing still names it: names are not personal data
        st, _, obj = self.get("/namespaces/lakehouse/tables", READER)
        self.assertIn("candidates", [i["name"] for i in obj["identifiers"]])

    # --- writes ------------------------------------------------------------------

    def test_writes_are_refused_with_a_pointer_to_ingest(self):
        cases = [("POST", "/namespaces", {"namespace": ["x"]}),
                 ("DELETE", "/namespaces/lakehouse", None),
                 ("POST", "/namespaces/lakehouse/properties", {"updates": {"a": "b"}}),
                 ("POST", "/namespaces/lakehouse/tables", {"name": "t", "schema": {}}),
                 ("POST", "/namespaces/lakehouse/tables/people", {"updates": []}),
                 ("DELETE", "/namespaces/lakehouse/tables/people", None),
                 ("POST", "/namespaces/lakehouse/register", {"name": "t"}),
                 ("POST", "/tables/rename", {"source": {}, "destination": {}}),
                 ("POST", "/transactions/commit", {"table-changes": []}),
                 ("PUT", "/files/people/datasets/x.parquet", "bytes")]
        for tok in (READER, ADMIN):
            for method, path, body in cases:
                st, h, obj = request_json(method, self.ice + path, body, bearer(tok))
                msg = self.assertIcebergError((st, h, obj), 405, "UnsupportedOperationException")
                self.assertIn("/v1/ingest", msg)
                self.assertEqual(h.get("allow"), "GET, HEAD")
        # nothing changed
        st, _, obj = self.get("/namespaces/lakehouse/tables")
        self.assertEqual(len(obj["identifiers"]), 5)

    def test_a_metrics_report_is_accepted_and_dropped(self):
        st, _, data = request("POST", self.ice + "/namespaces/lakehouse/tables/people/metrics",
                              {"report-type": "scan-report", "table-name": "lakehouse.people"},
                              bearer(READER))
        self.assertEqual((st, data), (204, b""))

    # --- files -------------------------------------------------------------------

    def object_keys(self, name, version=None):
        q = "?version=%d" % version if version else ""
        st, _, m = request_json("GET", self.base + "/v1/catalog/manifest/" + name + q, None,
                                bearer(ADMIN))
        self.assertEqual(st, 200, m)
        return [o["key"] for o in m["objects"]]

    def test_files_answer_ranges_and_heads(self):
        key = self.object_keys("people", 1)[0]
        st, _, whole = request("GET", self.base + "/v1/storage/get/" + key, None, bearer(ADMIN))
        self.assertEqual(st, 200)
        url = self.ice + "/files/people/" + key
        st, h, data = request("HEAD", url, None, bearer(WRITER))
        self.assertEqual((st, data), (200, b""))
        self.assertEqual(int(h["content-length"]), len(whole))
        self.assertEqual(h.get("accept-ranges"), "bytes")
        st, h, data = request("GET", url, None, dict(bearer(WRITER), Range="bytes=-8"))
        self.assertEqual(st, 206)
        self.assertEqual(data, whole[-8:])
        self.assertTrue(data.endswith(b"PAR1"))
        self.assertEqual(h["content-range"], "bytes %d-%d/%d" % (len(whole) - 8, len(whole) - 1,
                                                                 len(whole)))
        st, _, data = request("GET", url, None, dict(bearer(ADMIN), Range="bytes=4-9"))
        self.assertEqual((st, data), (206, whole[4:10]))
        st, _, data = request("GET", url, None, bearer(ADMIN))
        self.assertEqual((st, data), (200, whole))

    def test_only_data_and_metadata_keys_are_files(self):
        for rest in ("people/_index/x/y", "people/other/key", "people/../datasets/x",
                     "people", "bad-name/datasets/x"):
            st, _, obj = request_json("GET", self.ice + "/files/" + rest, None, bearer(ADMIN))
            self.assertIn(st, (400, 404), (rest, obj))
        st, _, _ = request("GET", self.ice + "/files/people/datasets/people/nope.parquet", None,
                           bearer(ADMIN))
        self.assertEqual(st, 404)


class IcebergLoadTableTest(ServerTest):
    """Load table over H19a's builder (queryd's GET /iceberg/tables/<t>?base=),
    the metadata files over HTTP, and which files a read token may read."""

    @classmethod
    def setUpClass(cls):
        cls.qport = free_port()
        cls.srv = Server("serve", env={"LAKEHOUSE_AUTH_TOKENS": TOKENS, "LAKEHOUSE_LOG": "quiet",
                                       "LAKEHOUSE_QUERYD_BIND": "127.0.0.1:%d" % cls.qport})
        cls.base = cls.srv.url
        cls.ice = cls.base + "/iceberg/v1"
        ingest(cls.base, "people", b"id,name\n1,Ada\n2,Grace\n")
        ingest(cls.base, "people", b"id,name\n3,Alan\n", mode="append")
        ingest(cls.base, "alpha", b"x\n1\n")
        ingest(cls.base, "candidates", b"id,email\n1,ada@example.com\n")
        st, _, obj = request_json("PUT", cls.base + "/v1/catalog/masks/candidates",
                                  {"columns": ["email"]}, bearer(ADMIN))
        assert st == 200, obj

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def load(self, name, tok=READER, headers=None):
        st, _, obj = request_json("GET", self.ice + "/namespaces/lakehouse/tables/" + name, None,
                                  dict(bearer(tok), **(headers or {})))
        self.assertEqual(st, 200, obj)
        return obj

    def key_of(self, table, url):
        prefix = self.ice + "/files/" + table + "/"
        self.assertTrue(url.startswith(prefix), url)
        return url[len(prefix):]

    def test_iceberg_metadata_objects_are_raw_data(self):
        """The manifests hold every column's bounds, a masked one's real
        min/max too: a read or agent token may neither read _iceberg/ objects
        through /v1/storage nor see them listed, nor have queryd build them."""
        self.load("candidates", ADMIN)  # stores candidates' metadata
        st, _, obj = request_json("GET", self.base + "/v1/storage/list?prefix=_iceberg/&limit=1000",
                                  None, bearer(ADMIN))
        self.assertEqual(st, 200, obj)
        keys = [o["key"] for o in obj["objects"]]
        avro = [k for k in keys if k.endswith(".avro")]
        self.assertTrue(avro, keys)
        for tok in (READER, AGENT):
            for key in (avro[0], urllib.parse.quote(avro[0], safe="")):
                st, _, got = request_json("GET", self.base + "/v1/storage/get/" + key, None,
                                          bearer(tok))
                self.assertEqual((st, got["code"]), (403, "forbidden"), key)
            for prefix in ("_iceberg/", ""):
                st, _, got = request_json("GET", self.base + "/v1/storage/list?limit=1000&prefix="
                                          + prefix, None, bearer(tok))
                self.assertEqual(st, 200, got)
                self.assertEqual([o["key"] for o in got["objects"]
                                  if o["key"].startswith("_iceberg/")], [], prefix)
            # queryd's builder, reached directly, refuses them too
            q = "http://127.0.0.1:%d/iceberg/tables/candidates?base=%s" % (
                self.qport, urllib.parse.quote("http://x/iceberg/v1/files/candidates", safe=""))
            st, _, got = request_json("GET", q, None, bearer(tok))
            self.assertEqual((st, got["code"]), (403, "forbidden"))
        for tok in (WRITER, ADMIN):
            st, _, _ = request("GET", self.base + "/v1/storage/get/" + avro[0], None, bearer(tok))
            self.assertEqual(st, 200)
        # a read token still loads an unmasked table (the gateway asks queryd as the services)
        self.assertTrue(self.load("alpha", READER)["metadata-location"])

    def test_load_table_answers_the_metadata_and_its_file(self):
        obj = self.load("people")
        self.assertEqual(set(obj), {"metadata-location", "metadata", "config"})
        self.assertEqual(obj["config"], {})
        m = obj["metadata"]
        self.assertEqual(m["format-version"], 2)
        self.assertEqual(len(m["snapshots"]), 2)
        loc = obj["metadata-location"]
        self.assertTrue(loc.startswith(self.ice + "/files/people/_iceberg/"), loc)
        self.assertTrue(m["location"].startswith(self.ice + "/files/people/_iceberg/"), m)
        st, h, data = request("GET", loc, None, bearer(READER))
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(data), m)
        st, h, _ = request("HEAD", loc, None, bearer(READER))
        self.assertEqual((st, int(h["content-length"])), (200, len(data)))
        # the manifest list of the current snapshot is a file of the table too
        snap = [s for s in m["snapshots"] if s["snapshot-id"] == m["current-snapshot-id"]][0]
        st, _, avro = request("GET", snap["manifest-list"], None, bearer(READER))
        self.assertEqual((st, avro[:4]), (200, b"Obj\x01"))

    def test_a_read_token_gets_only_the_tables_own_files(self):
        people = self.load("people")
        alpha = self.load("alpha", ADMIN)
        data_key = request_json("GET", self.base + "/v1/catalog/manifest/people", None,
                                bearer(ADMIN))[2]["objects"][0]["key"]
        cand_key = request_json("GET", self.base + "/v1/catalog/manifest/candidates", None,
                                bearer(ADMIN))[2]["objects"][0]["key"]
        alpha_meta = self.key_of("alpha", alpha["metadata-location"])
        for tok in (READER, AGENT):
            st, _, _ = request("GET", self.ice + "/files/people/" + data_key, None, bearer(tok))
            self.assertEqual(st, 200)
            # a masked dataset's object, or another table's metadata, through people's URL
            for key in (cand_key, alpha_meta):
                st, _, obj = request_json("GET", self.ice + "/files/people/" + key, None,
                                          bearer(tok))
                self.assertEqual(st, 404, (key, obj))
                self.assertEqual(obj["error"]["type"], "NotFoundException")
            # the raw storage route stays closed to them (ADR 0211)
            st, _, _ = request("GET", self.base + "/v1/storage/get/" + data_key, None, bearer(tok))
            self.assertEqual(st, 403)
        # write and admin tokens read any data or metadata object, as through /v1/storage
        for tok in (WRITER, ADMIN):
            for key in (cand_key, alpha_meta):
                st, _, _ = request("GET", self.ice + "/files/people/" + key, None, bearer(tok))
                self.assertEqual(st, 200, key)
        self.assertTrue(people["metadata-location"])

    def test_a_new_version_is_a_new_snapshot_readable_at_once(self):
        ingest(self.base, "beta", b"x\n1\n")
        self.load("beta")
        v1 = request_json("GET", self.base + "/v1/catalog/manifest/beta", None,
                          bearer(ADMIN))[2]["objects"][0]["key"]
        st, _, _ = request("GET", self.ice + "/files/beta/" + v1, None, bearer(READER))
        self.assertEqual(st, 200)   # beta's keys as of version 1 are now known
        ingest(self.base, "beta", b"x\n2\n", mode="append")
        obj = self.load("beta")
        self.assertEqual(len(obj["metadata"]["snapshots"]), 2)
        keys = request_json("GET", self.base + "/v1/catalog/manifest/beta?version=2", None,
                            bearer(ADMIN))[2]["objects"]
        self.assertEqual(len(keys), 2)
        for k in [o["key"] for o in keys] + [v1]:
            st, _, _ = request("GET", self.ice + "/files/beta/" + k, None, bearer(READER))
            self.assertEqual(st, 200, k)
        # and the new metadata file too
        st, _, _ = request("GET", obj["metadata-location"], None, bearer(READER))
        self.assertEqual(st, 200)

    def test_concurrent_first_reads_of_a_table(self):
        ingest(self.base, "gamma", b"x\n1\n")
        ingest(self.base, "gamma", b"x\n2\n", mode="append")
        loc = self.load("gamma")["metadata-location"]
        keys = [o["key"] for o in request_json("GET", self.base + "/v1/catalog/manifest/gamma",
                                               None, bearer(ADMIN))[2]["objects"]]
        urls = [self.ice + "/files/gamma/" + k for k in keys] + [loc]
        results = []

        def read(url):
            results.append(request("GET", url, None, bearer(READER))[0])

        threads = [threading.Thread(target=read, args=(urls[i % len(urls)],)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * 12)

    def test_a_mask_applies_to_the_next_request(self):
        ingest(self.base, "later", b"id,phone\n1,555\n")
        loc = self.load("later")["metadata-location"]
        st, _, _ = request("GET", loc, None, bearer(READER))
        self.assertEqual(st, 200)
        st, _, obj = request_json("PUT", self.base + "/v1/catalog/masks/later",
                                  {"columns": ["phone"]}, bearer(ADMIN))
        self.assertEqual(st, 200, obj)
        for url in (self.ice + "/namespaces/lakehouse/tables/later", loc):
            st, _, obj = request_json("GET", url, None, bearer(READER))
            self.assertEqual((st, obj["error"]["type"]), (403, "ForbiddenException"), url)
        st, _, obj = request_json("DELETE", self.base + "/v1/catalog/masks/later", None,
                                  bearer(ADMIN))
        self.assertEqual(st, 200, obj)
        st, _, _ = request("GET", loc, None, bearer(READER))
        self.assertEqual(st, 200)

    def test_the_location_follows_the_host_the_client_used(self):
        port = self.base.rsplit(":", 1)[1]
        obj = self.load("people", headers={"Host": "localhost:" + port})
        self.assertTrue(obj["metadata-location"].startswith(
            "http://localhost:%s/iceberg/v1/files/people/_iceberg/" % port), obj)
        # a read token's file check works out the base from the same Host
        st, _, data = request("GET", obj["metadata-location"].replace("localhost", "127.0.0.1"),
                              None, dict(bearer(READER), Host="localhost:" + port))
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(data)["location"], obj["metadata"]["location"])
        # that file is not one of the table's files as seen under another name
        st, _, _ = request("GET", obj["metadata-location"].replace("localhost", "127.0.0.1"),
                           None, bearer(READER))
        self.assertEqual(st, 404)


    def test_a_host_the_gateway_does_not_answer_for_gets_its_own_address(self):
        """Each base stores a whole metadata set: a Host naming some other
        address, port or name (any IP literal passes the Host allow-list)
        gets the address and port the connection reached instead, so varying
        Host cannot make storage grow (R19)."""
        port = self.base.rsplit(":", 1)[1]
        own = "http://127.0.0.1:%s/iceberg/v1/files/alpha/_iceberg/" % port
        for host in ("10.20.2.3:" + port, "127.0.0.1:1", "localhost:1", "a.localhost:" + port,
                     "[::1]:" + port, "127.0.0.2:" + port, "127.0.0.1"):
            obj = self.load("alpha", headers={"Host": host})
            self.assertTrue(obj["metadata-location"].startswith(own), (host, obj))
        # the folders stored for alpha: its own address and localhost's at most
        self.load("alpha", headers={"Host": "localhost:" + port})
        st, _, got = request_json("GET", self.base + "/v1/storage/list?prefix=_iceberg/&limit=10000",
                                  None, bearer(ADMIN))
        uuid = self.load("alpha")["metadata"]["table-uuid"]
        folders = {o["key"].split("/")[2] for o in got["objects"]
                   if o["key"].startswith("_iceberg/%s/" % uuid)}
        self.assertEqual(len(folders), 2, folders)


class IcebergPublicUrlTest(ServerTest):
    def test_public_url_is_the_base_of_every_location(self):
        srv = self.start("serve", env={"LAKEHOUSE_GATEWAY_PUBLIC_URL": "https://lake.example.com/",
                                       "LAKEHOUSE_LOG": "quiet"})
        ingest(srv.url, "people", b"id,name\n1,Ada\n")
        st, _, obj = request_json("GET", srv.url + "/iceberg/v1/namespaces/lakehouse/tables/people")
        self.assertEqual(st, 200, obj)
        prefix = "https://lake.example.com/iceberg/v1/files/people/_iceberg/"
        self.assertTrue(obj["metadata-location"].startswith(prefix), obj)
        self.assertTrue(obj["metadata"]["location"].startswith(prefix), obj)
        # the file behind it is served here under the same path
        path = obj["metadata-location"][len("https://lake.example.com"):]
        st, _, data = request("GET", srv.url + path)
        self.assertEqual((st, json.loads(data)), (200, obj["metadata"]))


class IcebergS3Test(ServerTest):
    def test_s3_backend_locations_are_the_buckets(self):
        from test_storaged import S3_BUCKET, S3rver
        s3 = S3rver()
        self.addCleanup(s3.stop)
        srv = self.start("serve", env={
            "LAKEHOUSE_STORAGED_BACKEND": "s3",
            "LAKEHOUSE_STORAGED_S3_ENDPOINT": s3.endpoint,
            "LAKEHOUSE_STORAGED_S3_BUCKET": S3_BUCKET,
            "LAKEHOUSE_STORAGED_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "S3RVER",
            "AWS_SECRET_ACCESS_KEY": "S3RVER",
            "LAKEHOUSE_STORAGED_SINGLE_WRITER": "true",
            "LAKEHOUSE_LOG": "quiet"})
        ingest(srv.url, "people", b"id,name\n1,Ada\n2,Grace\n")
        st, _, obj = request_json("GET", srv.url + "/iceberg/v1/namespaces/lakehouse/tables/people")
        self.assertEqual(st, 200, obj)
        loc = obj["metadata-location"]
        self.assertTrue(loc.startswith("s3://%s/_iceberg/" % S3_BUCKET), loc)
        self.assertTrue(obj["metadata"]["location"].startswith("s3://%s/_iceberg/" % S3_BUCKET))
        # the metadata object is in the bucket under that very key
        key = loc[len("s3://%s/" % S3_BUCKET):]
        self.assertIn(key, s3.objects())
        # and the gateway's file route serves it as well
        st, _, data = request("GET", srv.url + "/iceberg/v1/files/people/" + key)
        self.assertEqual((st, json.loads(data)), (200, obj["metadata"]))
