/* test_gateway.c — the gateway's pure URL building (proxy_encode,
 * proxy_url_build): keys with spaces, '%', '&', '?', '#', UTF-8 and "..",
 * query arguments with and without values, and the length cap. */
#include "test.h"

#include "common/limits.h"
#include "gateway/gateway_int.h"

#include <stdlib.h>
#include <strings.h>

TEST(gateway_encode_keeps_unreserved_and_slash)
{
	char out[64];
	size_t len = 0;
	CHECK_EQ_INT(proxy_encode(out, sizeof out, &len, "a b/c%d/é~x-_.", 1), 0);
	CHECK_EQ_STR(out, "a%20b/c%25d/%C3%A9~x-_.");
	len = 0;
	CHECK_EQ_INT(proxy_encode(out, sizeof out, &len, "a/b&c=d?e#f+", 0), 0);
	CHECK_EQ_STR(out, "a%2Fb%26c%3Dd%3Fe%23f%2B");
	len = 0;
	CHECK_EQ_INT(proxy_encode(out, 4, &len, "abcd", 1), -1);   /* no room for the NUL */
	len = 0;
	CHECK_EQ_INT(proxy_encode(out, 4, &len, "ab ", 1), -1);    /* %20 does not fit */
}

TEST(gateway_url_build)
{
	const char *q[] = { "prefix", "a b&c", "flag", NULL, "é", "=" };
	char *u = proxy_url_build("http://127.0.0.1:9/", "/storage/", "list", q, 3);
	CHECK_EQ_STR(u, "http://127.0.0.1:9/storage/list?prefix=a%20b%26c&flag&%C3%A9=%3D");
	free(u);
	u = proxy_url_build("http://h:1", "/storage/", "get/a/../b", NULL, 0);
	CHECK_EQ_STR(u, "http://h:1/storage/get/a/../b");   /* verbatim: storaged refuses it */
	free(u);
	u = proxy_url_build("http://h:1", "/ingest", "", q, 1);
	CHECK_EQ_STR(u, "http://h:1/ingest?prefix=a%20b%26c");
	free(u);
	u = proxy_url_build("http://h:1", "/storage/", "get/\x7f", NULL, 0);
	CHECK_EQ_STR(u, "http://h:1/storage/get/%7F");
	free(u);
}

TEST(gateway_url_build_cap)
{
	size_t n = LH_GATEWAY_MAX_URL;
	char *rest = malloc(n + 1);
	memset(rest, ' ', n);
	rest[n] = '\0';
	CHECK(proxy_url_build("http://h:1", "/storage/", rest, NULL, 0) == NULL);
	memset(rest, 'a', n);
	CHECK(proxy_url_build("http://h:1", "/storage/", rest, NULL, 0) == NULL);
	rest[100] = '\0';
	char *u = proxy_url_build("http://h:1", "/storage/", rest, NULL, 0);
	CHECK(u != NULL);
	CHECK_EQ_INT(strlen(u), strlen("http://h:1/storage/") + 100);
	free(u);
	free(rest);
}

/* --- the http_client on_header hook the proxy relies on ------------------- */

#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"

static int hook_end(struct http_request *req)
{
	http_respond_bytes(req, 201, "text/plain", "body!", 5);
	http_response_header(req, "ETag", "\"e\"");
	return 0;
}

struct hook_seen {
	long status;
	int head_done, etag, ctype, body_before_head;
	size_t body;
};

static int hook_cb(void *ctx, long status, const char *name, const char *value)
{
	struct hook_seen *s = ctx;
	if (!name) {
		s->head_done++;
		s->status = status;
	} else if (!strcasecmp(name, "ETag") && !strcmp(value, "\"e\"")) {
		s->etag = 1;
	} else if (!strcasecmp(name, "Content-Type") && !strcmp(value, "text/plain")) {
		s->ctype = 1;
	}
	return 0;
}

static int hook_sink(void *ctx, const char *data, size_t n)
{
	struct hook_seen *s = ctx;
	if (!s->head_done)
		s->body_before_head = 1;
	s->body += n;
	return 0;
}

static const struct http_route hook_routes[] = {
	{ "GET", "/h", "h", NULL, NULL, hook_end, NULL, 0, 0 },
};

TEST(gateway_client_header_hook)
{
	struct lh_error err = { 0 };
	struct http_server_config cfg = { .service = "test", .bind = "127.0.0.1:0",
					  .routes = hook_routes, .nroutes = 1 };
	struct http_server *srv = http_server_start(&cfg, &err);
	CHECK(srv != NULL);
	char url[128];
	snprintf(url, sizeof url, "%s/h", http_server_url(srv));
	struct hook_seen seen = { 0 };
	struct http_client_request r;
	struct http_client_response resp;
	http_client_request_init(&r);
	r.url = url;
	r.on_header = hook_cb;
	r.on_header_ctx = &seen;
	r.sink = hook_sink;
	r.sink_ctx = &seen;
	int rc = http_client_do(&r, &resp, &err);
	http_server_stop(srv);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(resp.status, 201);
	CHECK_EQ_INT(seen.status, 201);
	CHECK_EQ_INT(seen.head_done, 1);
	CHECK(seen.etag && seen.ctype && !seen.body_before_head);
	CHECK_EQ_INT(seen.body, 5);
	http_client_response_free(&resp);
}
