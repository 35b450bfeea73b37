/* test_http.c — the HTTP server layer and client against each other on
 * loopback: routing, 404/405/413, buffered and streamed bodies, JSON errors,
 * X-Request-Id, /health, /metrics, %00 decoding, fd and stream responses. */
#include "test.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <unistd.h>

static int echo_end(struct http_request *req)
{
	size_t n;
	const char *body = http_request_body(req, &n);
	json_t *o = json_object();
	json_object_set_new(o, "len", json_integer((json_int_t)n));
	json_object_set_new(o, "body", json_stringn(body, n));
	json_object_set_new(o, "rest", json_string(http_request_path_rest(req)));
	const char *q = http_request_query(req, "q");
	json_object_set_new(o, "q", q ? json_string(q) : json_null());
	http_respond_json(req, 200, o);
	return 0;
}

struct counter { uint64_t n; };

static int count_begin(struct http_request *req)
{
	http_request_set_state(req, xcalloc(1, sizeof(struct counter)));
	return 0;
}

static int count_body(struct http_request *req, const char *data, size_t n)
{
	struct counter *c = http_request_state(req);
	c->n += n;
	if (c->n > 1000000)
		http_respond_fail(req, 413, "too_large", "over a million");
	return 0;
}

static int count_ends;          /* count_end calls: a complete body was seen */

static int count_end(struct http_request *req)
{
	struct counter *c = http_request_state(req);
	__atomic_add_fetch(&count_ends, 1, __ATOMIC_SEQ_CST);
	json_t *o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)c->n));
	http_respond_json(req, 200, o);
	return 0;
}

static void count_done(struct http_request *req, int completed)
{
	free(http_request_state(req));
}

static ssize_t digits_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	uint64_t total = 100000;
	if (pos >= total)
		return 0;
	size_t n = 0;
	while (n < max && pos + n < total) {
		buf[n] = (char)('0' + (pos + n) % 10);
		n++;
	}
	return (ssize_t)n;
}

static int stream_end(struct http_request *req)
{
	http_respond_stream(req, 200, "text/plain", HTTP_SIZE_UNKNOWN, digits_read, NULL, NULL);
	return 0;
}

static const struct http_route routes[] = {
	{ "POST", "/echo/*", "echo", NULL, NULL, echo_end, NULL, 1000, 0 },
	{ "PUT", "/count", "count", count_begin, count_body, count_end, count_done, 0, 0 },
	{ "GET", "/stream", "stream", NULL, NULL, stream_end, NULL, 0, 0 },
};

static struct http_server *start(void)
{
	struct lh_error err = { 0 };
	struct http_server_config cfg = { .service = "test", .bind = "127.0.0.1:0",
					  .routes = routes, .nroutes = 3 };
	return http_server_start(&cfg, &err);
}

static long call(const char *method, const char *url, const char *body,
		 struct http_client_response *resp)
{
	struct lh_error err = { 0 };
	if (http_client_json(method, url, body, "rid-123", resp, &err) != 0)
		return -1;
	return resp->status;
}

static json_t *parse(const struct http_client_response *resp)
{
	return json_loadb(resp->body, resp->body_len, 0, NULL);
}

TEST(http_routes_and_errors)
{
	struct http_server *srv = start();
	CHECK(srv != NULL);
	char url[256];
	struct http_client_response resp;

	snprintf(url, sizeof url, "%s/echo/a%%2Fb%%00c?q=x%%26y", http_server_url(srv));
	CHECK_EQ_INT(call("POST", url, "hello", &resp), 200);
	json_t *o = parse(&resp);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "body")), "hello");
	CHECK_EQ_STR(json_string_value(json_object_get(o, "rest")), "a/b\x7f" "c");
	CHECK_EQ_STR(json_string_value(json_object_get(o, "q")), "x&y");
	json_decref(o);
	http_client_response_free(&resp);

	snprintf(url, sizeof url, "%s/nope", http_server_url(srv));
	CHECK_EQ_INT(call("GET", url, NULL, &resp), 404);
	o = parse(&resp);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "code")), "not_found");
	json_decref(o);
	http_client_response_free(&resp);

	snprintf(url, sizeof url, "%s/echo/x", http_server_url(srv));
	CHECK_EQ_INT(call("GET", url, NULL, &resp), 405);
	http_client_response_free(&resp);

	char big[2000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_EQ_INT(call("POST", url, big, &resp), 413);
	o = parse(&resp);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "code")), "too_large");
	json_decref(o);
	http_client_response_free(&resp);

	snprintf(url, sizeof url, "%s/health", http_server_url(srv));
	CHECK_EQ_INT(call("GET", url, NULL, &resp), 200);
	o = parse(&resp);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "service")), "test");
	json_decref(o);
	http_client_response_free(&resp);

	snprintf(url, sizeof url, "%s/metrics", http_server_url(srv));
	CHECK_EQ_INT(call("GET", url, NULL, &resp), 200);
	CHECK(strstr(resp.body, "lakehouse_http_requests_total{service=\"test\",route=\"echo\",status=\"200\"} 1") != NULL);
	CHECK(strstr(resp.body, "route=\"echo\",status=\"413\",le=\"+Inf\"} 1") != NULL);
	http_client_response_free(&resp);
	http_server_stop(srv);
}

static ssize_t zeros_source(void *ctx, char *buf, size_t max)
{
	size_t *left = ctx;
	size_t n = max < *left ? max : *left;
	memset(buf, 'z', n);
	*left -= n;
	return (ssize_t)n;
}

TEST(http_streaming_body_and_response)
{
	struct http_server *srv = start();
	CHECK(srv != NULL);
	char url[256];
	snprintf(url, sizeof url, "%s/count", http_server_url(srv));
	struct http_client_request r;
	struct http_client_response resp;
	struct lh_error err = { 0 };
	size_t left = 900000;
	http_client_request_init(&r);
	r.method = "PUT";
	r.url = url;
	r.body_source = zeros_source;
	r.body_source_ctx = &left;
	CHECK_EQ_INT(http_client_do(&r, &resp, &err), 0);
	CHECK_EQ_INT(resp.status, 200);
	json_t *o = parse(&resp);
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "count")), 900000);
	json_decref(o);
	http_client_response_free(&resp);

	/* An answer given mid-body: the rest is discarded, the client sees 413. */
	left = 3000000;
	CHECK_EQ_INT(http_client_do(&r, &resp, &err), 0);
	CHECK_EQ_INT(resp.status, 413);
	http_client_response_free(&resp);

	snprintf(url, sizeof url, "%s/stream", http_server_url(srv));
	http_client_request_init(&r);
	r.url = url;
	CHECK_EQ_INT(http_client_do(&r, &resp, &err), 0);
	CHECK_EQ_INT(resp.status, 200);
	CHECK_EQ_INT(resp.body_len, 100000);
	CHECK(resp.body[99999] == '9' && resp.body[12345] == '5');
	http_client_response_free(&resp);
	http_server_stop(srv);
}

/* Gives 300000 bytes, then fails: the body must never look complete. */
static ssize_t failing_source(void *ctx, char *buf, size_t max)
{
	return *(size_t *)ctx ? zeros_source(ctx, buf, max) : -1;
}

/* ingestd streams a conversion into a chunked PUT and aborts it when the
 * conversion fails (pipeline.c note 3): the client must report a failure and
 * the server must never see the end of the body. */
TEST(http_client_source_failure_aborts_the_chunked_body)
{
	struct http_server *srv = start();
	CHECK(srv != NULL);
	char url[256];
	snprintf(url, sizeof url, "%s/count", http_server_url(srv));
	struct http_client_request r;
	struct http_client_response resp;
	struct lh_error err = { 0 };
	size_t left = 300000;
	int ends_before = __atomic_load_n(&count_ends, __ATOMIC_SEQ_CST);
	http_client_request_init(&r);
	r.method = "PUT";
	r.url = url;
	r.body_source = failing_source;
	r.body_source_ctx = &left;
	CHECK_EQ_INT(http_client_do(&r, &resp, &err), -1);
	CHECK_EQ_INT(left, 0);
	lh_error_clear(&err);
	http_server_stop(srv);   /* joins the connection threads */
	CHECK_EQ_INT(__atomic_load_n(&count_ends, __ATOMIC_SEQ_CST), ends_before);
}

TEST(http_client_unreachable_is_502)
{
	struct http_client_response resp;
	struct lh_error err = { 0 };
	/* Port 1 on loopback: nothing listens there. */
	CHECK_EQ_INT(http_client_json("GET", "http://127.0.0.1:1/health", NULL, NULL, &resp, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_unavailable");
	lh_error_clear(&err);
}
