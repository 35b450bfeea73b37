/* test_peer_client.c — the typed peer clients (src/common/catalog_client.c,
 * storage_client.c, peer_client.c; ADR 0130) against a tiny in-process
 * catalogd and storaged (http_server with canned answers): URL shapes and
 * escaping, the token and request id sent, decoded manifests and lists, and
 * the mapping of every kind of peer failure — 404 and 409 as the peer said
 * them, 5xx and unreadable answers as 502 in plain words, 507, an
 * unreachable peer (its URL and reason in the log-only detail), a relaying
 * client, a pool that fails over, a GET whose body does not match its ETag. */
#include "test.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/manifest.h"
#include "common/sha256.h"
#include "common/storage_client.h"
#include "common/upstream.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdlib.h>

#define FP "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define MANIFEST                                                                        \
	"{\"name\":\"trips\",\"version\":2,\"schema_fingerprint\":\"" FP "\","          \
	"\"schema\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false}],"          \
	"\"objects\":[{\"key\":\"datasets/trips/a.parquet\",\"size\":9,\"row_count\":1," \
	"\"content_sha256\":\"" SHA "\"}],\"row_count\":1,\"size_bytes\":9,"             \
	"\"mode\":\"replace\",\"created_at\":\"2026-01-01T00:00:00.000Z\","              \
	"\"updated_at\":\"2026-01-02T00:00:00.000Z\"}"

/* What the fake peer saw last (the test thread reads it after the call). */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static char seen_auth[128], seen_rid[64], seen_path[256], seen_query[256];

static void remember(struct http_request *req)
{
	const char *a = http_request_header(req, "Authorization");
	const char *v = http_request_query(req, "version");
	const char *after = http_request_query(req, "after");
	pthread_mutex_lock(&seen_mu);
	snprintf(seen_auth, sizeof seen_auth, "%s", a ? a : "");
	snprintf(seen_rid, sizeof seen_rid, "%s", http_request_id(req));
	snprintf(seen_path, sizeof seen_path, "%s", http_request_path(req));
	snprintf(seen_query, sizeof seen_query, "%s%s%s", v ? v : "", after ? "after=" : "",
		 after ? after : "");
	pthread_mutex_unlock(&seen_mu);
}

static void answer(struct http_request *req, int status, const char *text)
{
	http_respond_bytes(req, status, "application/json", text, strlen(text));
}

static int catalog_get(struct http_request *req)
{
	const char *rest = http_request_path_rest(req);
	remember(req);
	if (!strcmp(rest, "datasets"))
		answer(req, 200, "{\"datasets\":[{\"name\":\"trips\",\"version\":2,\"row_count\":1,"
				 "\"size_bytes\":9,\"schema_fingerprint\":\"" FP "\"},"
				 "{\"name\":\"b\",\"version\":1}]}");
	else if (!strcmp(rest, "manifest/trips"))
		answer(req, 200, MANIFEST);
	else if (!strcmp(rest, "manifest/unreadable"))
		answer(req, 200, "{\"name\": ");
	else if (!strcmp(rest, "manifest/wrongtype"))
		answer(req, 200, "{\"name\":\"w\",\"version\":\"2\"}");
	else if (!strcmp(rest, "manifest/boom"))
		answer(req, 500, "{\"error\":\"the catalog database failed\",\"code\":\"internal\"}");
	else if (!strcmp(rest, "manifest/teapot"))
		answer(req, 418, "short and stout");
	else if (!strcmp(rest, "versions/trips"))
		answer(req, 200, "{\"name\":\"trips\",\"versions\":[{\"version\":1,\"mode\":\"replace\"},"
				 "{\"version\":2,\"mode\":\"append\"}]}");
	else
		answer(req, 404, "{\"error\":\"there is no dataset named that\","
				 "\"code\":\"unknown_dataset\"}");
	return 0;
}

static int catalog_register(struct http_request *req)
{
	size_t n;
	const char *body = http_request_body(req, &n);
	json_t *b = json_loadb(body, n, 0, NULL);
	const char *name = json_string_value(json_object_get(b, "name"));
	const char *mode = json_string_value(json_object_get(b, "mode"));
	remember(req);
	if (name && !strcmp(name, "drift"))
		answer(req, 409, "{\"error\":\"the schema changed\",\"code\":\"schema_drift\","
				 "\"diff\":[{\"column\":\"x\",\"change\":\"added\"}]}");
	else if (name && !strcmp(name, "full"))
		answer(req, 507, "{\"error\":\"the catalog's disk is full\","
				 "\"code\":\"insufficient_storage\"}");
	else if (mode && !strcmp(mode, "append") && json_array_size(json_object_get(b, "objects")) == 1 &&
		 !json_object_get(b, "version") && !json_object_get(b, "created_at"))
		answer(req, 200, "{\"manifest\":" MANIFEST ",\"existing\":true}");
	else
		answer(req, 400, "{\"error\":\"bad register\",\"code\":\"bad_request\"}");
	json_decref(b);
	return 0;
}

/* storaged: "hello" (its ETag right), "liar" (wrong), "gone" (404). */
static int storage_get(struct http_request *req)
{
	const char *key = http_request_path_rest(req);
	char etag[LH_SHA256_HEX_LEN + 3] = "\"";
	remember(req);
	if (!strcmp(key, "d/hello") || !strcmp(key, "d/liar")) {
		sha256_hex("hello", 5, etag + 1);
		if (!strcmp(key, "d/liar"))
			etag[1] = etag[1] == '0' ? '1' : '0';
		strncat(etag, "\"", 2);
		http_respond_bytes(req, 200, "application/octet-stream", "hello", 5);
		http_response_header(req, "ETag", etag);
	} else {
		answer(req, 404, "{\"error\":\"no such object\",\"code\":\"not_found\"}");
	}
	return 0;
}

static int storage_put(struct http_request *req)
{
	const char *key = http_request_path_rest(req);
	remember(req);
	if (!strcmp(key, "d/exists"))
		answer(req, 412, "{\"error\":\"exists\",\"code\":\"precondition_failed\"}");
	else if (!strcmp(key, "d/full"))
		answer(req, 507, "{\"error\":\"the object store is out of disk space\","
				 "\"code\":\"insufficient_storage\"}");
	else
		answer(req, 200, "{\"key\":\"x\"}");
	return 0;
}

static int storage_list(struct http_request *req)
{
	remember(req);
	if (!http_request_query(req, "after"))
		answer(req, 200, "{\"objects\":[{\"key\":\"d/a\",\"size\":3,\"modified\":"
				 "\"2026-01-01T00:00:00Z\"},{\"key\":\"d/b\"}],\"next\":\"d/b\"}");
	else
		answer(req, 200, "{\"objects\":[{\"size\":3}],\"next\":null}");
	return 0;
}

static const struct http_route routes[] = {
	{ "GET", "/catalog/*", "c", NULL, NULL, catalog_get, NULL, 0, 0 },
	{ "POST", "/catalog/register", "r", NULL, NULL, catalog_register, NULL, 0, 0 },
	{ "GET", "/storage/get/*", "g", NULL, NULL, storage_get, NULL, 0, 0 },
	{ "PUT", "/storage/put/*", "p", NULL, NULL, storage_put, NULL, 0, 0 },
	{ "GET", "/storage/list", "l", NULL, NULL, storage_list, NULL, 0, 0 },
};

static struct http_server *fake_start(void)
{
	struct lh_error err = { 0 };
	struct http_server_config cfg = { .service = "fake", .bind = "127.0.0.1:0",
					  .routes = routes,
					  .nroutes = sizeof routes / sizeof routes[0] };
	return http_server_start(&cfg, &err);
}

/* A URL nobody listens on: a server's, after it stopped. */
static char *dead_url(void)
{
	struct http_server *s = fake_start();
	char *url = xstrdup(http_server_url(s));
	http_server_stop(s);
	return url;
}

static struct catalog_client *catalog_at(const char *url, int relay)
{
	struct peer_config pc = { .name = "the catalog", .url = url, .token = "svc-token",
				  .relay = relay };
	return catalog_client_create(&pc);
}

TEST(peer_client_catalog_decodes_and_sends_who_asks)
{
	struct http_server *s = fake_start();
	CHECK(s != NULL);
	char *base = xasprintf("%s/", http_server_url(s));   /* a trailing '/' is dropped */
	struct catalog_client *c = catalog_at(base, 0);
	struct peer_call call = { .request_id = "rid-42" };
	struct lh_error err = { 0 };
	struct manifest *m = NULL;

	CHECK_EQ_INT(catalog_client_manifest(c, &call, "trips", 2, &m, &err), 0);
	CHECK_EQ_INT(call.status, 200);
	CHECK_EQ_STR(m->name, "trips");
	CHECK_EQ_INT(m->nobjects, 1);
	CHECK_EQ_STR(m->objects[0].key, "datasets/trips/a.parquet");
	manifest_unref(m);
	CHECK_EQ_STR(seen_path, "/catalog/manifest/trips");
	CHECK_EQ_STR(seen_query, "2");
	CHECK_EQ_STR(seen_auth, "Bearer svc-token");
	CHECK_EQ_STR(seen_rid, "rid-42");

	/* the caller's own token instead of the service's (the UI) */
	call.bearer_token = "users-token";
	struct manifest_summary *list = NULL;
	size_t n = 0;
	CHECK_EQ_INT(catalog_client_datasets(c, &call, &list, &n, &err), 0);
	CHECK_EQ_STR(seen_auth, "Bearer users-token");
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(list[0].name, "trips");
	CHECK_EQ_INT(list[0].size_bytes, 9);
	CHECK_EQ_INT(list[1].row_count, -1);
	free(list);
	CHECK_EQ_INT(catalog_client_versions(c, NULL, "trips", &list, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(list[1].mode, "append");
	free(list);

	/* a name is one escaped path segment */
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "a/b c", 0, &m, &err), -1);
	CHECK_EQ_STR(seen_path, "/catalog/manifest/a/b c");   /* decoded by the server */
	CHECK_EQ_STR(seen_query, "");
	lh_error_clear(&err);

	/* register: the request carries what catalogd reads, the answer decoded */
	struct manifest *req = manifest_create(), *out = NULL;
	int existing = 0;
	snprintf(req->name, sizeof req->name, "trips");
	snprintf(req->fingerprint, sizeof req->fingerprint, FP);
	snprintf(req->mode, sizeof req->mode, "append");
	manifest_add_column(req, "id", "int64", 0);
	manifest_add_object(req, "datasets/trips/a.parquet", 9, 1, SHA);
	req->row_count = 1;
	CHECK_EQ_INT(catalog_client_register(c, NULL, req, &out, &existing, &err), 0);
	CHECK_EQ_INT(existing, 1);
	CHECK_EQ_INT(out->version, 2);
	manifest_unref(out);
	manifest_unref(req);

	catalog_client_destroy(c);
	free(base);
	http_server_stop(s);
}

TEST(peer_client_catalog_error_mapping)
{
	struct http_server *s = fake_start();
	struct catalog_client *c = catalog_at(http_server_url(s), 0);
	struct peer_call call = { 0 };
	struct lh_error err = { 0 };
	struct manifest *m = NULL;

	/* 404: as catalogd said it, no detail (an answer, not a failure) */
	CHECK_EQ_INT(catalog_client_manifest(c, &call, "nope", 0, &m, &err), -1);
	CHECK(m == NULL);
	CHECK_EQ_INT(call.status, 404);
	CHECK_EQ_INT(err.status, 404);
	CHECK_EQ_STR(err.code, "unknown_dataset");
	CHECK_EQ_STR(err.msg, "there is no dataset named that");
	lh_error_clear(&err);

	/* 5xx: 502 in our words, catalogd's message after them, the URL in the detail */
	CHECK_EQ_INT(catalog_client_manifest(c, &call, "boom", 0, &m, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_failed");
	CHECK_EQ_STR(err.msg, "the catalog answered 500: the catalog database failed");
	CHECK(strstr(err.detail, "GET http://127.0.0.1:") != NULL);
	CHECK(strstr(err.detail, "/catalog/manifest/boom answered 500") != NULL);
	lh_error_clear(&err);

	/* a 4xx is the catalog's answer, passed on (ADR 0205: never taken for
	 * an outage; it was 502 before, changed deliberately) */
	CHECK_EQ_INT(catalog_client_manifest(c, &call, "teapot", 0, &m, &err), -1);
	CHECK_EQ_INT(err.status, 418);
	CHECK_EQ_STR(err.code, "bad_request");
	CHECK_EQ_STR(err.msg, "the catalog answered 418");
	lh_error_clear(&err);

	/* unreadable answers: plain words, the parser's or the field's complaint logged */
	CHECK_EQ_INT(catalog_client_manifest(c, &call, "unreadable", 0, &m, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_failed");
	CHECK_EQ_STR(err.msg, "the catalog sent an unreadable manifest");
	CHECK(strstr(err.detail, "line 1") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_client_manifest(c, &call, "wrongtype", 0, &m, &err), -1);
	CHECK_EQ_STR(err.msg, "the catalog sent an unreadable manifest");
	CHECK(strstr(err.detail, "version: not an integer") != NULL);
	lh_error_clear(&err);

	/* register: 409 with its extra fields, 4xx as said, 507 as 507 */
	struct manifest *req = manifest_create(), *out = NULL;
	int existing = 0;
	snprintf(req->name, sizeof req->name, "drift");
	CHECK_EQ_INT(catalog_client_register(c, NULL, req, &out, &existing, &err), -1);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "schema_drift");
	CHECK_EQ_STR(err.msg, "the schema changed");
	json_t *j = lh_error_json(&err);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "diff"), 0),
						      "column")), "x");
	json_decref(j);
	lh_error_clear(&err);
	snprintf(req->name, sizeof req->name, "other");
	CHECK_EQ_INT(catalog_client_register(c, NULL, req, &out, &existing, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.msg, "bad register");
	lh_error_clear(&err);
	snprintf(req->name, sizeof req->name, "full");
	CHECK_EQ_INT(catalog_client_register(c, NULL, req, &out, &existing, &err), -1);
	CHECK_EQ_INT(err.status, 507);
	CHECK_EQ_STR(err.code, "insufficient_storage");
	CHECK_EQ_STR(err.msg, "the catalog's disk is full");
	lh_error_clear(&err);
	manifest_unref(req);
	catalog_client_destroy(c);

	/* a relaying client passes the 5xx as it came */
	c = catalog_at(http_server_url(s), 1);
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "boom", 0, &m, &err), -1);
	CHECK_EQ_INT(err.status, 500);
	CHECK_EQ_STR(err.code, "internal");
	CHECK_EQ_STR(err.msg, "the catalog database failed");
	lh_error_clear(&err);
	/* and an answer that is not our JSON error as what it said */
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "teapot", 0, &m, &err), -1);
	CHECK_EQ_INT(err.status, 418);
	CHECK_EQ_STR(err.msg, "the catalog answered HTTP 418: short and stout");
	lh_error_clear(&err);
	catalog_client_destroy(c);
	http_server_stop(s);
}

TEST(peer_client_unreachable_and_unconfigured)
{
	char *dead = dead_url();
	struct catalog_client *c = catalog_at(dead, 0);
	struct peer_call call = { .status = 7 };
	struct lh_error err = { 0 };
	struct manifest_summary *list = NULL;
	size_t n = 0;
	CHECK_EQ_INT(catalog_client_datasets(c, &call, &list, &n, &err), -1);
	CHECK_EQ_INT(call.status, 0);     /* nobody answered */
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_unavailable");
	CHECK_EQ_STR(err.msg, "the catalog is not reachable");
	/* the log gets the address and the transport's reason */
	char *want = xasprintf("%s/catalog/datasets failed: ", dead);
	CHECK(strncmp(err.detail, want, strlen(want)) == 0);
	free(want);
	lh_error_clear(&err);
	catalog_client_destroy(c);

	c = catalog_at("", 0);
	CHECK_EQ_INT(catalog_client_configured(c), 0);
	CHECK_EQ_INT(catalog_client_datasets(c, NULL, &list, &n, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_unavailable");
	CHECK_EQ_STR(err.msg, "the catalog is not configured");
	lh_error_clear(&err);
	catalog_client_destroy(c);

	struct peer_config pc = { .name = "the object store", .url = dead };
	struct storage_client *sc = storage_client_create(&pc);
	uint64_t size = 0;
	CHECK_EQ_INT(storage_client_head(sc, NULL, "d/x", &size, &err), -1);
	CHECK_EQ_STR(err.msg, "the object store is not reachable");
	CHECK(strstr(err.detail, "/storage/get/d/x failed: ") != NULL);
	lh_error_clear(&err);
	storage_client_destroy(sc);
	free(dead);
}

/* The gateway's clients go through its pool: a member that refuses the
 * connection is skipped (ADR 0075), the next one answers. */
TEST(peer_client_pool_fails_over)
{
	struct http_server *s = fake_start();
	char *dead = dead_url();
	char *list = xasprintf("%s,%s", dead, http_server_url(s));
	struct lh_error err = { 0 };
	struct upstream_pool_config upc = { .name = "catalogd", .urls = list, .log_service = "test" };
	struct upstream_pool *pool = upstream_pool_create(&upc, &err);
	CHECK(pool != NULL);
	struct peer_config pc = { .name = "catalogd", .pool = pool, .relay = 1 };
	struct catalog_client *c = catalog_client_create(&pc);
	upstream_pool_destroy(pool);   /* the client holds its own reference */
	struct manifest *m = NULL;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(catalog_client_manifest(c, NULL, "trips", 0, &m, &err), 0);
		CHECK_EQ_INT(m->version, 2);
		manifest_unref(m);
	}
	catalog_client_destroy(c);

	/* an empty pool is "not configured" in the pool's words */
	struct upstream_pool_config none = { .name = "catalogd", .urls = "" };
	pool = upstream_pool_create(&none, &err);
	pc.pool = pool;
	c = catalog_client_create(&pc);
	upstream_pool_destroy(pool);
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "trips", 0, &m, &err), -1);
	CHECK_EQ_STR(err.msg, "catalogd is not configured");
	lh_error_clear(&err);
	catalog_client_destroy(c);
	free(list);
	free(dead);
	http_server_stop(s);
}

struct collect {
	char data[64];
	size_t n;
	int refuse;
};

static int collect_sink(void *ctx, const char *data, size_t n)
{
	struct collect *c = ctx;
	if (c->refuse || c->n + n > sizeof c->data)
		return -1;
	memcpy(c->data + c->n, data, n);
	c->n += n;
	return 0;
}

static ssize_t three_bytes(void *ctx, char *buf, size_t max)
{
	int *left = ctx;
	if (*left == 0)
		return 0;
	buf[0] = 'x';
	(*left)--;
	return 1;
}

TEST(peer_client_storage_calls)
{
	struct http_server *s = fake_start();
	struct peer_config pc = { .name = "the object store", .url = http_server_url(s),
				  .token = "svc" };
	struct storage_client *c = storage_client_create(&pc);
	struct lh_error err = { 0 };
	uint64_t size = 0;

	CHECK_EQ_INT(storage_client_head(c, NULL, "d/hello", &size, &err), 0);
	CHECK_EQ_INT(size, 5);
	CHECK_EQ_INT(storage_client_head(c, NULL, "d/gone", &size, &err), 1);

	/* GET streams into the sink and checks the ETag */
	struct collect col = { .n = 0 };
	CHECK_EQ_INT(storage_client_get(c, NULL, "d/hello", collect_sink, &col, &err), 0);
	CHECK_EQ_INT(col.n, 5);
	CHECK(memcmp(col.data, "hello", 5) == 0);
	col.n = 0;
	CHECK_EQ_INT(storage_client_get(c, NULL, "d/liar", collect_sink, &col, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.msg, "object d/liar from the object store does not match its checksum");
	CHECK(strstr(err.detail, "ETag") != NULL);
	lh_error_clear(&err);
	/* a missing object a manifest named is the store failing */
	CHECK_EQ_INT(storage_client_get(c, NULL, "d/gone", collect_sink, &col, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_failed");
	CHECK_EQ_STR(err.msg, "the object store answered 404: no such object");
	lh_error_clear(&err);
	/* the caller's sink stopping is the caller's failure */
	col.refuse = 1;
	CHECK_EQ_INT(storage_client_get(c, NULL, "d/hello", collect_sink, &col, &err), -1);
	CHECK_EQ_INT(err.status, 500);
	CHECK_EQ_STR(err.code, "internal");
	lh_error_clear(&err);

	/* PUT: stored, already there (write-once), 507 as 507 */
	int left = 3;
	struct storage_put put = { .source = three_bytes, .source_ctx = &left, .write_once = 1,
				   .expect_continue = 1 };
	CHECK_EQ_INT(storage_client_put(c, NULL, "d/new", &put, &err), 0);
	CHECK_EQ_STR(seen_auth, "Bearer svc");
	left = 3;
	CHECK_EQ_INT(storage_client_put(c, NULL, "d/exists", &put, &err), 1);
	left = 3;
	CHECK_EQ_INT(storage_client_put(c, NULL, "d/full", &put, &err), -1);
	CHECK_EQ_INT(err.status, 507);
	CHECK_EQ_STR(err.msg, "the object store is out of disk space");
	lh_error_clear(&err);

	/* list pages; an entry without a key is unreadable */
	struct storage_page page;
	CHECK_EQ_INT(storage_client_list(c, NULL, "d/", NULL, 2, &page, &err), 0);
	CHECK_EQ_INT(page.n, 2);
	CHECK_EQ_STR(page.entries[0].key, "d/a");
	CHECK_EQ_INT(page.entries[0].size, 3);
	CHECK_EQ_STR(page.entries[0].modified, "2026-01-01T00:00:00Z");
	CHECK(page.entries[1].modified == NULL);
	CHECK_EQ_INT(page.entries[1].size, -1);
	CHECK_EQ_STR(page.next, "d/b");
	storage_page_free(&page);
	CHECK_EQ_INT(storage_client_list(c, NULL, "d/", "d/b", 2, &page, &err), -1);
	CHECK_EQ_STR(seen_query, "after=d/b");
	CHECK_EQ_STR(err.msg, "the object store sent an unreadable object list");
	CHECK(strstr(err.detail, "objects[0] has no key") != NULL);
	storage_page_free(&page);
	lh_error_clear(&err);

	storage_client_destroy(c);
	http_server_stop(s);
}
