/* test_auth.c — src/common/auth.c: the allow/401/403 decision, what is a
 * write, loopback binds, constant-time token equality, the service token,
 * and the hook on a real http_server (401 with WWW-Authenticate, 403, /health
 * open, the refusal of a non-loopback bind without tokens). */
#include "test.h"

#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"

#include <stdlib.h>
#include <strings.h>

static void cfg_with_tokens(struct lh_config *cfg, const char *read, const char *write)
{
	struct lh_error err = { 0 };
	config_defaults(cfg);
	if (read)
		config_set(cfg, "auth", "read_tokens", read, &err);
	if (write)
		config_set(cfg, "auth", "write_tokens", write, &err);
	lh_error_clear(&err);
}

TEST(auth_is_write)
{
	CHECK_EQ_INT(auth_is_write("GET", "/storage/get/a"), 0);
	CHECK_EQ_INT(auth_is_write("HEAD", "/v1/storage/get/a"), 0);
	CHECK_EQ_INT(auth_is_write("POST", "/query"), 0);
	CHECK_EQ_INT(auth_is_write("POST", "/v1/query"), 0);
	CHECK_EQ_INT(auth_is_write("POST", "/console/download"), 0);
	CHECK_EQ_INT(auth_is_write("POST", "/console/downloads"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/v1/query/x"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/console"), 0);     /* the UI's SQL console */
	CHECK_EQ_INT(auth_is_write("POST", "/upload"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/mcp"), 0);        /* MCP messages (ADR 0161) */
	CHECK_EQ_INT(auth_is_write("DELETE", "/mcp"), 0);
	CHECK_EQ_INT(auth_is_write("PUT", "/mcp"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/mcp/x"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/ingest"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/v1/ingest"), 1);
	CHECK_EQ_INT(auth_is_write("PUT", "/storage/put/a"), 1);
	CHECK_EQ_INT(auth_is_write("DELETE", "/v1/catalog/manifest/a"), 1);
	CHECK_EQ_INT(auth_is_write("POST", "/catalog/register"), 1);
	CHECK_EQ_INT(auth_is_write("OPTIONS", "/query"), 1);
	CHECK_EQ_INT(auth_is_write("GET", "/metrics"), 0);
}

TEST(auth_bind_is_loopback)
{
	CHECK_EQ_INT(auth_bind_is_loopback("127.0.0.1:8080"), 1);
	CHECK_EQ_INT(auth_bind_is_loopback("127.1.2.3:0"), 1);
	CHECK_EQ_INT(auth_bind_is_loopback("localhost:8080"), 1);
	CHECK_EQ_INT(auth_bind_is_loopback("LOCALHOST:8080"), 1);
	CHECK_EQ_INT(auth_bind_is_loopback("[::1]:8080"), 1);
	CHECK_EQ_INT(auth_bind_is_loopback("[::ffff:127.0.0.1]:8080"), 1);
	CHECK_EQ_INT(auth_bind_is_loopback("0.0.0.0:8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback("[::]:8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback("10.0.0.5:8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback("128.0.0.1:8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback("example.com:8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback("127.0.0.1.example.com:80"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback(":8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback("8080"), 0);
	CHECK_EQ_INT(auth_bind_is_loopback(""), 0);
	CHECK_EQ_INT(auth_bind_is_loopback(NULL), 0);
}

TEST(auth_token_equal)
{
	CHECK_EQ_INT(auth_token_equal("abc", 3, "abc", 3, 128), 1);
	CHECK_EQ_INT(auth_token_equal("abc", 3, "abd", 3, 128), 0);
	CHECK_EQ_INT(auth_token_equal("abc", 3, "abc\0", 4, 128), 0);   /* lengths count */
	CHECK_EQ_INT(auth_token_equal("abc", 3, "ab", 2, 128), 0);
	CHECK_EQ_INT(auth_token_equal("", 0, "", 0, 128), 1);
	CHECK_EQ_INT(auth_token_equal("abc", 3, "abc", 3, 2), 0);       /* over the cap */
	char a[300], b[300];
	memset(a, 'x', sizeof a);
	memset(b, 'x', sizeof b);
	CHECK_EQ_INT(auth_token_equal(a, 128, b, 128, 128), 1);
	CHECK_EQ_INT(auth_token_equal(a, 129, b, 129, 128), 0);
	b[127] = 'y';
	CHECK_EQ_INT(auth_token_equal(a, 128, b, 128, 128), 0);
}

TEST(auth_decide_no_tokens_allows_all)
{
	struct lh_config cfg;
	cfg_with_tokens(&cfg, NULL, NULL);
	CHECK_EQ_INT(auth_enabled(&cfg), 0);
	CHECK_EQ_INT(auth_decide(&cfg, "DELETE", "/storage/delete/a", NULL), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/x", "Bearer whatever"), AUTH_ALLOW);
	CHECK(auth_service_token(&cfg) == NULL);
}

TEST(auth_decide_tokens)
{
	struct lh_config cfg;
	cfg_with_tokens(&cfg, "r1,r2", "w1,w2");
	CHECK_EQ_INT(auth_enabled(&cfg), 1);
	/* missing or malformed */
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", NULL), AUTH_MISSING);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", ""), AUTH_MISSING);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer"), AUTH_MISSING);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer "), AUTH_MISSING);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Basic cjE6"), AUTH_MISSING);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearerr1"), AUTH_MISSING);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "r1"), AUTH_MISSING);
	/* unknown */
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer r3"), AUTH_INVALID);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer r"), AUTH_INVALID);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer r1x"), AUTH_INVALID);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer R1"), AUTH_INVALID);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer r1 r2"), AUTH_INVALID);
	/* read tokens read and query, not write */
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer r1"), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "HEAD", "/storage/get/a", "Bearer r2"), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "POST", "/v1/query", "Bearer r2"), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "POST", "/query", "bearer  r1 "), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "POST", "/v1/ingest", "Bearer r1"), AUTH_READ_ONLY);
	CHECK_EQ_INT(auth_decide(&cfg, "PUT", "/storage/put/a", "Bearer r1"), AUTH_READ_ONLY);
	CHECK_EQ_INT(auth_decide(&cfg, "DELETE", "/v1/catalog/manifest/a", "Bearer r2"),
		     AUTH_READ_ONLY);
	/* write tokens do everything */
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/catalog/datasets", "Bearer w1"), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "POST", "/v1/ingest", "Bearer w2"), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "DELETE", "/storage/delete/a", "BEARER w1"), AUTH_ALLOW);
	CHECK_EQ_STR(auth_service_token(&cfg), "w1");
}

TEST(auth_decide_read_only_deployment)
{
	struct lh_config cfg;
	cfg_with_tokens(&cfg, "r1", NULL);
	CHECK_EQ_INT(auth_decide(&cfg, "GET", "/x", "Bearer r1"), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(&cfg, "PUT", "/x", "Bearer r1"), AUTH_READ_ONLY);
	CHECK_EQ_STR(auth_service_token(&cfg), "r1");
}

TEST(auth_setup_refuses_open_bind)
{
	struct lh_config cfg;
	struct lh_error err = { 0 };
	struct http_server_config hc = { .service = "gateway", .bind = "0.0.0.0:8080" };
	cfg_with_tokens(&cfg, NULL, NULL);
	CHECK_EQ_INT(auth_http_setup(&hc, &cfg, &err), -1);
	CHECK_EQ_STR(err.code, "insecure_bind");
	CHECK(strstr(err.msg, "refusing to listen on 0.0.0.0:8080 without tokens") != NULL);
	CHECK(strstr(err.msg, "LAKEHOUSE_AUTH_WRITE_TOKENS") != NULL);
	CHECK(strstr(err.msg, "127.0.0.1") != NULL);
	CHECK(hc.authorize == NULL);
	lh_error_clear(&err);

	hc.bind = "127.0.0.1:0";          /* loopback without tokens: open */
	CHECK_EQ_INT(auth_http_setup(&hc, &cfg, &err), 0);
	CHECK(hc.authorize == NULL);

	cfg_with_tokens(&cfg, NULL, "w");  /* tokens: any address, hook installed */
	hc.bind = "0.0.0.0:8080";
	CHECK_EQ_INT(auth_http_setup(&hc, &cfg, &err), 0);
	CHECK(hc.authorize != NULL && hc.authorize_ctx != NULL && hc.authorize_free != NULL);
	hc.authorize_free(hc.authorize_ctx);
}

/* --- the hook on a real server --------------------------------------------- */

static int echo_end(struct http_request *req)
{
	http_respond_bytes(req, 200, "text/plain", "ok", 2);
	return 0;
}

static const struct http_route echo_routes[] = {
	{ .method = "GET", .path = "/thing", .name = "thing", .end = echo_end },
	{ .method = "PUT", .path = "/thing", .name = "thing_put", .end = echo_end },
	{ .method = "POST", .path = "/query", .name = "query", .end = echo_end },
};

struct seen {
	char www_auth[200];
};

static int on_header(void *ctx, long status, const char *name, const char *value)
{
	struct seen *s = ctx;
	if (name && !strcasecmp(name, "WWW-Authenticate"))
		snprintf(s->www_auth, sizeof s->www_auth, "%s", value);
	return 0;
}

static long call(const char *base, const char *method, const char *path, const char *token,
		 struct seen *seen)
{
	struct http_client_request r;
	struct http_client_response resp;
	struct lh_error err = { 0 };
	char url[256];
	snprintf(url, sizeof url, "%s%s", base, path);
	memset(seen, 0, sizeof *seen);
	http_client_request_init(&r);
	r.method = method;
	r.url = url;
	r.bearer_token = token;
	r.on_header = on_header;
	r.on_header_ctx = seen;
	if (http_client_do(&r, &resp, &err) != 0) {
		lh_error_clear(&err);
		return -1;
	}
	long st = resp.status;
	http_client_response_free(&resp);
	return st;
}

TEST(auth_hook_on_server)
{
	struct lh_config cfg;
	struct lh_error err = { 0 };
	struct seen seen;
	cfg_with_tokens(&cfg, "reader", "writer");
	struct http_server_config hc = {
		.service = "authtest", .bind = "127.0.0.1:0", .routes = echo_routes,
		.nroutes = sizeof echo_routes / sizeof echo_routes[0],
	};
	CHECK_EQ_INT(auth_http_setup(&hc, &cfg, &err), 0);
	struct http_server *srv = http_server_start(&hc, &err);
	CHECK(srv != NULL);
	const char *u = http_server_url(srv);
	int ok = call(u, "GET", "/health", NULL, &seen) == 200 &&
		 call(u, "GET", "/thing", NULL, &seen) == 401 &&
		 !strcmp(seen.www_auth, "Bearer realm=\"lakehouse\"") &&
		 call(u, "GET", "/thing", "nope", &seen) == 401 &&
		 strstr(seen.www_auth, "invalid_token") != NULL &&
		 call(u, "GET", "/metrics", NULL, &seen) == 401 &&
		 call(u, "GET", "/metrics", "reader", &seen) == 200 &&
		 call(u, "GET", "/thing", "reader", &seen) == 200 &&
		 call(u, "POST", "/query", "reader", &seen) == 200 &&
		 call(u, "PUT", "/thing", "reader", &seen) == 403 &&
		 strstr(seen.www_auth, "insufficient_scope") != NULL &&
		 call(u, "PUT", "/thing", "writer", &seen) == 200 &&
		 call(u, "GET", "/nothing", NULL, &seen) == 401;  /* no route map leak */
	http_server_stop(srv);
	CHECK(ok);
}
