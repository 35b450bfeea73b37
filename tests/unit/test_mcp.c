/* test_mcp.c — the MCP protocol layer (src/mcp/mcp_protocol.c) and the
 * tools' pure pieces (mcp_tools.c) over a fake backend: version
 * negotiation, the JSON-RPC errors for malformed input (not JSON, wrong
 * "jsonrpc", bad ids, batch arrays, unknown methods, bad params, oversized
 * messages), notifications answered with nothing, tools listed by token
 * class, tool errors as isError results, the query caps, "did you mean".
 */
#include "test.h"

#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "mcp/mcp.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fake lakehouse: answers by path from a small table; counts calls. */
struct fake {
	int calls;
	int unreachable;
	char last_path[256];
	char last_body[256];
	const char *search_answer;   /* the body of a 200 to /v1/search, when set */
};

static int fake_call(void *ctx, const char *method, const char *path, const char *content_type,
		     const char *body, size_t body_len, int body_fd, struct mcp_answer *ans,
		     struct lh_error *err)
{
	struct fake *f = ctx;
	const char *text = "{\"error\":\"no such route\",\"code\":\"not_found\"}";
	long status = 404;

	f->calls++;
	snprintf(f->last_path, sizeof f->last_path, "%s", path);
	snprintf(f->last_body, sizeof f->last_body, "%.*s", (int)(body_len < 255 ? body_len : 255),
		 body ? body : "");
	if (f->unreachable)
		return lh_fail(err, 502, "upstream_unavailable",
			       "cannot reach the lakehouse at http://x (LAKEHOUSE_URL)");
	if (strcmp(path, "/v1/catalog/datasets") == 0) {
		status = 200;
		text = "{\"datasets\":[{\"name\":\"candidates\",\"version\":2,\"row_count\":3,"
		       "\"size_bytes\":10,\"updated_at\":\"t\"}]}";
	} else if (strcmp(path, "/v1/query") == 0 && strstr(body, "boom")) {
		status = 400;
		text = "{\"error\":\"Parser Error: syntax error at or near \\\"boom\\\"\","
		       "\"code\":\"sql_error\"}";
	} else if (strcmp(path, "/v1/query") == 0) {
		status = 200;
		text = "{\"columns\":[{\"name\":\"a\",\"type\":\"INTEGER\"},{\"name\":\"b\","
		       "\"type\":\"VARCHAR\"}],\"rows\":[[1,\"x|y\"],[2,null],[3,\"z\"]],"
		       "\"row_count\":3,\"truncated\":false}";
	} else if (strcmp(path, "/v1/search") == 0 && f->search_answer) {
		status = 200;
		text = f->search_answer;
	} else if (strncmp(path, "/v1/ingest?name=hours&", 22) == 0) {
		status = 200;      /* an append cast to the dataset's types (ADR 0170) */
		text = "{\"manifest\":{\"name\":\"hours\",\"version\":2,\"row_count\":3},"
		       "\"existing\":false,\"row_count\":1,\"cast\":[{\"column\":\"h\","
		       "\"from\":\"int64\",\"to\":\"float64\"},{\"column\":\"end\","
		       "\"from\":\"utf8\",\"to\":\"date32\"}]}";
	} else if (strncmp(path, "/v1/ingest", 10) == 0) {
		status = 403;
		text = "{\"error\":\"this token may only read\",\"code\":\"forbidden\"}";
	}
	(void)method;
	(void)content_type;
	(void)body_fd;
	ans->status = status;
	ans->body = xstrdup(text);
	ans->len = strlen(text);
	return 0;
}

/* One message through mcp_handle_text; the parsed answer (or NULL). */
static json_t *roundtrip(struct mcp_session *s, struct mcp_backend *b, const char *text)
{
	char *answer = mcp_handle_text(s, b, text, strlen(text));
	if (!answer)
		return NULL;
	json_t *j = json_loads(answer, 0, NULL);
	free(answer);
	return j;
}

static long error_code(const json_t *a)
{
	return (long)json_integer_value(json_object_get(json_object_get(a, "error"), "code"));
}

static const char *result_text(const json_t *a)
{
	return json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(a, "result"), "content"), 0),
		"text"));
}

#define FAKE_BACKEND(f, w) { .call = fake_call, .ctx = &(f), .writer = (w), .local_files = 0 }

TEST(mcp_negotiates_the_version)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	static const char *const ours[] = { "2025-11-25", "2025-06-18" };
	char msg[256];

	for (size_t i = 0; i < 2; i++) {
		CHECK(mcp_version_supported(ours[i]));
		snprintf(msg, sizeof msg,
			 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
			 "{\"protocolVersion\":\"%s\",\"capabilities\":{}}}",
			 ours[i]);
		json_t *a = roundtrip(&s, &b, msg);
		CHECK(a);
		CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(a, "result"),
							       "protocolVersion")),
			     ours[i]);
		CHECK(json_object_get(json_object_get(json_object_get(a, "result"), "capabilities"),
				      "tools"));
		json_decref(a);
	}
	/* an unsupported (older or future) revision gets our latest */
	json_t *a = roundtrip(&s, &b,
			      "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"initialize\","
			      "\"params\":{\"protocolVersion\":\"2024-11-05\"}}");
	CHECK_EQ_STR(json_string_value(
			     json_object_get(json_object_get(a, "result"), "protocolVersion")),
		     MCP_VERSION_LATEST);
	CHECK_EQ_STR(json_string_value(json_object_get(a, "id")), "x");
	json_decref(a);
	CHECK(!mcp_version_supported("2024-11-05"));
	/* 2025-03-26 requires batches, which we refuse: not ours either */
	CHECK(!mcp_version_supported("2025-03-26"));
	a = roundtrip(&s, &b,
		      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\","
		      "\"params\":{\"protocolVersion\":\"2025-03-26\"}}");
	CHECK_EQ_STR(json_string_value(
			     json_object_get(json_object_get(a, "result"), "protocolVersion")),
		     MCP_VERSION_LATEST);
	json_decref(a);
	CHECK(!mcp_version_supported(NULL));
	/* no protocolVersion: invalid params */
	a = roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\"}");
	CHECK_EQ_INT(error_code(a), MCP_INVALID_PARAMS);
	json_decref(a);
	CHECK_EQ_INT(f.calls, 0);
}

TEST(mcp_malformed_messages_get_jsonrpc_errors)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	static const struct {
		const char *in;
		long code;
	} cases[] = {
		{ "{bad", MCP_PARSE_ERROR },
		{ "", MCP_PARSE_ERROR },
		{ "\"\xff\xfe\"", MCP_PARSE_ERROR },                 /* invalid UTF-8 */
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}", MCP_PARSE_ERROR },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", MCP_INVALID_REQUEST },
		{ "[]", MCP_INVALID_REQUEST },
		{ "42", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", MCP_INVALID_REQUEST },
		{ "{\"id\":1,\"method\":\"ping\"}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", MCP_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}", MCP_METHOD_NOT_FOUND },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":[1]}",
		  MCP_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}",
		  MCP_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
		  "{\"name\":\"drop_everything\"}}",
		  MCP_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
		  "{\"name\":\"query\",\"arguments\":\"SELECT 1\"}}",
		  MCP_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{}}",
		  MCP_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":"
		  "{\"uri\":\"file:///etc/passwd\"}}",
		  MCP_RESOURCE_NOT_FOUND },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *a = roundtrip(&s, &b, cases[i].in);
		if (!a || error_code(a) != cases[i].code)
			fprintf(stderr, "  case %zu: %s\n", i, cases[i].in);
		CHECK(a);
		CHECK_EQ_INT(error_code(a), cases[i].code);
		CHECK_EQ_STR(json_string_value(json_object_get(a, "jsonrpc")), "2.0");
		CHECK(json_object_get(a, "id"));   /* present: the request's, or null */
		CHECK(json_string_value(json_object_get(json_object_get(a, "error"), "message")));
		json_decref(a);
	}
	CHECK_EQ_INT(f.calls, 0);   /* none of them reached the lakehouse */
}

TEST(mcp_oversized_message_is_a_parse_error)
{
	size_t n = LH_MCP_MAX_MESSAGE + 1;
	char *big = xmalloc(n);
	memset(big, ' ', n);
	char *err = NULL;
	json_t *v = mcp_parse(big, n, &err);
	free(big);
	CHECK(!v);
	CHECK(err);
	json_t *a = json_loads(err, 0, NULL);
	free(err);
	CHECK_EQ_INT(error_code(a), MCP_PARSE_ERROR);
	CHECK(json_is_null(json_object_get(a, "id")));
	json_decref(a);
}

TEST(mcp_notifications_and_responses_get_no_answer)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	CHECK(!roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
	CHECK_EQ_INT(s.initialized, 1);
	CHECK(!roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
				 "\"params\":{\"requestId\":3}}"));
	CHECK(!roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\"}"));
	CHECK(!roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}"));
	json_t *a = roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}");
	CHECK(json_is_object(json_object_get(a, "result")));
	CHECK_EQ_INT(json_integer_value(json_object_get(a, "id")), 9);
	json_decref(a);
}

static int has_tool(const json_t *a, const char *name)
{
	const json_t *tools = json_object_get(json_object_get(a, "result"), "tools");
	for (size_t i = 0; i < json_array_size(tools); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(tools, i), "name")),
			   name) == 0)
			return 1;
	return 0;
}

TEST(mcp_tools_by_token_class)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	const char *list = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}";
	static const char *const read_tools[] = { "list_datasets", "describe_dataset", "query",
						  "search", "list_versions" };

	json_t *a = roundtrip(&s, &b, list);
	for (size_t i = 0; i < 5; i++)
		CHECK(has_tool(a, read_tools[i]));
	CHECK(has_tool(a, "ingest_csv"));
	CHECK(has_tool(a, "record_feedback"));   /* issue 17 (ADR 0190): the second write tool */
	/* each tool has a schema and the hints */
	const json_t *tools = json_object_get(json_object_get(a, "result"), "tools");
	for (size_t i = 0; i < json_array_size(tools); i++) {
		const json_t *t = json_array_get(tools, i);
		const json_t *ann = json_object_get(t, "annotations");
		CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(t, "inputSchema"),
							       "type")),
			     "object");
		CHECK(json_string_value(json_object_get(t, "description")));
		CHECK(json_is_boolean(json_object_get(ann, "readOnlyHint")));
		CHECK(json_is_boolean(json_object_get(ann, "destructiveHint")));
		CHECK(json_is_boolean(json_object_get(ann, "idempotentHint")));
		int write = strcmp(json_string_value(json_object_get(t, "name")), "ingest_csv") == 0 ||
			    strcmp(json_string_value(json_object_get(t, "name")), "record_feedback") ==
				    0;
		CHECK_EQ_INT(json_is_true(json_object_get(ann, "readOnlyHint")), !write);
	}
	json_decref(a);

	b.writer = 0;   /* a read token: no write tool, and calling it anyway is isError */
	a = roundtrip(&s, &b, list);
	CHECK(has_tool(a, "query"));
	CHECK(!has_tool(a, "ingest_csv"));
	CHECK(!has_tool(a, "record_feedback"));
	json_decref(a);
	a = roundtrip(&s, &b,
		      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
		      "{\"name\":\"record_feedback\",\"arguments\":{\"dataset\":\"x\",\"query\":"
		      "\"forklift\",\"id\":1,\"score\":1}}}");
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "may only read"));
	json_decref(a);
	a = roundtrip(&s, &b,
		      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
		      "{\"name\":\"ingest_csv\",\"arguments\":{\"name\":\"x\",\"csv\":\"a\\n1\\n\"}}}");
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "may only read"));
	json_decref(a);
	CHECK_EQ_INT(f.calls, 0);

	/* the stdio probe: a 403 on the harmless write means a read token */
	b.writer = -1;
	mcp_tools_writer(&b);
	CHECK_EQ_INT(b.writer, 0);
	CHECK_EQ_STR(f.last_path, "/v1/ingest");
	/* the lakehouse down at the probe: not known is no write tool */
	b.writer = -1;
	f.unreachable = 1;
	a = roundtrip(&s, &b, list);
	CHECK(has_tool(a, "query"));
	CHECK(!has_tool(a, "ingest_csv"));
	CHECK_EQ_INT(b.writer, -1);
	json_decref(a);
	f.unreachable = 0;
	/* a path is refused when the server is not on the caller's machine */
	b.writer = 1;
	a = roundtrip(&s, &b,
		      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
		      "{\"name\":\"ingest_csv\",\"arguments\":{\"name\":\"x\",\"path\":\"/etc/passwd\"}}}");
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "stdio"));
	json_decref(a);
}

TEST(mcp_ingest_says_what_was_cast)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	json_t *a = roundtrip(&s, &b,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
			      "{\"name\":\"ingest_csv\",\"arguments\":{\"name\":\"hours\","
			      "\"mode\":\"append\",\"csv\":\"h,end\\n40,\\n\"}}}");
	CHECK(!json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK_EQ_STR(result_text(a), "Ingested 1 row into hours: now version 2 with 3 rows in all "
				     "(mode append). Read with the dataset's types: h int64 -> "
				     "float64, end utf8 -> date32.");
	json_decref(a);
}

TEST(mcp_tool_errors_are_results)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };

	json_t *a = roundtrip(&s, &b,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
			      "{\"name\":\"query\",\"arguments\":{\"sql\":\"SELECT boom\"}}}");
	CHECK(!json_object_get(a, "error"));
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "syntax error"));
	json_decref(a);
	/* a missing argument is a tool error too, in words */
	a = roundtrip(&s, &b,
		      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
		      "{\"name\":\"query\",\"arguments\":{}}}");
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "\"sql\" is required"));
	json_decref(a);
	/* an unreachable lakehouse is said so */
	f.unreachable = 1;
	a = roundtrip(&s, &b,
		      "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
		      "{\"name\":\"list_datasets\"}}");
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "cannot reach the lakehouse"));
	json_decref(a);
	a = roundtrip(&s, &b, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/list\"}");
	CHECK(json_object_get(a, "error"));
	json_decref(a);
}

TEST(mcp_query_result_states_its_caps)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };

	json_t *a = roundtrip(&s, &b,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
			      "{\"name\":\"query\",\"arguments\":{\"sql\":\"SELECT 1\"}}}");
	const char *t = result_text(a);
	CHECK(t);
	CHECK(strstr(t, "a | b\n1 | x\\|y\n2 | NULL\n3 | z\n"));
	CHECK(strstr(t, "not truncated; caps 1,000 rows / 64 KiB"));
	CHECK(strstr(f.last_body, "\"max_rows\":1000"));
	CHECK(strstr(f.last_body, "\"format\":\"json\""));
	json_decref(a);

	/* the caps cut: rows, then bytes */
	json_t *ans = json_loads("{\"columns\":[{\"name\":\"n\"}],\"rows\":[[1],[2],[3],[4]],"
				 "\"truncated\":false}",
				 0, NULL);
	int trunc = 0;
	size_t shown = 0;
	char *text = mcp_render_rows(ans, 2, 1 << 16, &trunc, &shown);
	CHECK_EQ_INT(trunc, 1);
	CHECK_EQ_INT(shown, 2);
	CHECK(strstr(text, "n\n1\n2\n(2 rows shown; truncated"));
	free(text);
	text = mcp_render_rows(ans, 10, 6, &trunc, &shown);   /* "n\n1\n2\n" is 6 bytes */
	CHECK_EQ_INT(trunc, 1);
	CHECK_EQ_INT(shown, 2);
	free(text);
	text = mcp_render_rows(ans, 10, 1 << 16, &trunc, &shown);
	CHECK_EQ_INT(trunc, 0);
	CHECK_EQ_INT(shown, 4);
	free(text);
	/* queryd's own truncated flag carries through */
	json_object_set_new(ans, "truncated", json_true());
	text = mcp_render_rows(ans, 10, 1 << 16, &trunc, &shown);
	CHECK_EQ_INT(trunc, 1);
	free(text);
	json_decref(ans);
}

TEST(mcp_closest_name)
{
	static const char *const names[] = { "candidates", "job_orders", "placements" };
	CHECK_EQ_STR(mcp_closest_name("candidtes", names, 3), "candidates");
	CHECK_EQ_STR(mcp_closest_name("Job_Order", names, 3), "job_orders");
	CHECK(!mcp_closest_name("invoices", names, 3));
	CHECK(!mcp_closest_name("x", names, 0));
}

TEST(mcp_ingest_path_refuses_a_fifo_without_blocking)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	char dir[] = "/tmp/lh-mcp-fifo-XXXXXX";
	CHECK(mkdtemp(dir));
	char *fifo = xasprintf("%s/f.csv", dir);
	CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
	b.local_files = 1;
	char *msg = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
			      "{\"name\":\"ingest_csv\",\"arguments\":{\"name\":\"x\",\"path\":\"%s\"}}}",
			      fifo);
	alarm(20);   /* before the fix open() blocked forever: SIGALRM fails the run */
	json_t *a = roundtrip(&s, &b, msg);
	alarm(0);
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(strstr(result_text(a), "not a regular file"));
	CHECK_EQ_INT(f.calls, 0);
	json_decref(a);
	unlink(fifo);
	rmdir(dir);
	free(msg);
	free(fifo);
}

TEST(mcp_cut_text_keeps_whole_characters)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };

	/* a method name cut in the middle of an é still gets its "message" */
	char e100[201], e700[1401];
	for (int i = 0; i < 100; i++)
		memcpy(e100 + 2 * i, "\xc3\xa9", 2);
	e100[200] = '\0';
	for (int i = 0; i < 700; i++)
		memcpy(e700 + 2 * i, "\xc3\xa9", 2);
	e700[1400] = '\0';
	char *m = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a%s\"}", e100);
	json_t *a = roundtrip(&s, &b, m);
	CHECK_EQ_INT(error_code(a), MCP_METHOD_NOT_FOUND);
	CHECK(json_string_value(json_object_get(json_object_get(a, "error"), "message")));
	json_decref(a);
	free(m);

	/* so does a tool's error text longer than its buffer */
	m = xasprintf("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
		      "\"name\":\"describe_dataset\",\"arguments\":{\"name\":\"a%s\"}}}",
		      e700);
	a = roundtrip(&s, &b, m);
	CHECK(json_is_true(json_object_get(json_object_get(a, "result"), "isError")));
	CHECK(result_text(a));
	CHECK(!strstr(result_text(a), "unknown tool"));
	CHECK(strstr(result_text(a), "a\xc3\xa9"));
	json_decref(a);
	free(m);

	char buf[8];
	CHECK_EQ_STR(mcp_clip(buf, sizeof buf, "a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
		     "a\xc3\xa9\xc3\xa9\xc3\xa9");   /* 7 bytes fit, not 8 */
	CHECK_EQ_STR(mcp_clip(buf, sizeof buf, "ab\xff"), "ab?");
}

TEST(mcp_results_keep_the_caps)
{
	struct fake f = { 0 };
	struct mcp_backend b = FAKE_BACKEND(f, 1);
	struct mcp_session s = { 0 };
	int trunc = 0;
	size_t shown = 0;

	/* one row wider than the byte cap is shown cut at "…", not dropped */
	char *wide = xmalloc(5001);
	memset(wide, 'w', 5000);
	wide[5000] = '\0';
	json_t *ans = json_pack("{s:[{s:s}],s:[[s]],s:b}", "columns", "name", "c", "rows", wide,
				"truncated", 0);
	char *text = mcp_render_rows(ans, 10, 1024, &trunc, &shown);
	CHECK_EQ_INT(shown, 1);
	CHECK_EQ_INT(trunc, 1);
	CHECK(strstr(text, "w\xE2\x80\xA6\n"));
	CHECK(!strstr(text, "more rows"));
	CHECK(strlen(text) < 1024 + 300);
	free(text);
	json_decref(ans);
	/* so is a header wider than the cap: it counts against it */
	json_t *cols = json_array();
	for (int i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof name, "column_number_%d", i);
		json_array_append_new(cols, json_pack("{s:s}", "name", name));
	}
	ans = json_pack("{s:o,s:[[i]],s:b}", "columns", cols, "rows", 1, "truncated", 0);
	text = mcp_render_rows(ans, 10, 1024, &trunc, &shown);
	CHECK(strlen(text) < 1024 + 300);
	CHECK_EQ_INT(trunc, 1);
	free(text);
	json_decref(ans);

	/* search: structuredContent holds only the hits the text shows */
	json_t *hits = json_array();
	memset(wide, 'x', 5000);
	for (int i = 0; i < 40; i++)
		json_array_append_new(hits, json_pack("{s:f,s:{s:i,s:s}}", "score", 1.0 / (i + 1),
						      "row", "id", i, "bio", wide));
	json_t *sa = json_pack("{s:s,s:i,s:s,s:i,s:o}", "dataset", "candidates", "version", 2,
			       "mode", "text", "searched_rows", 40, "results", hits);
	char *sa_text = json_dumps(sa, JSON_COMPACT);
	f.search_answer = sa_text;
	json_t *a = roundtrip(&s, &b,
			      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
			      "{\"name\":\"search\",\"arguments\":{\"dataset\":\"candidates\","
			      "\"query\":\"x\",\"k\":40}}}");
	const json_t *sc = json_object_get(json_object_get(a, "result"), "structuredContent");
	size_t n = json_array_size(json_object_get(sc, "results"));
	CHECK(n >= 1);
	CHECK(n < 40);   /* 40 x 5,000 bytes do not fit 64 KiB */
	CHECK(json_is_true(json_object_get(sc, "truncated")));
	char *all = json_dumps(a, JSON_COMPACT);
	CHECK(strlen(all) < 2 * LH_MCP_QUERY_MAX_BYTES + 4096);
	free(all);
	json_decref(a);
	free(sa_text);
	json_decref(sa);
	free(wide);
}

TEST(mcp_masks_credentials_in_urls)
{
	char out[256];
	CHECK_EQ_STR(mcp_mask_userinfo(out, sizeof out,
				       "cannot reach the lakehouse at http://user:secret@host:8080 "
				       "(LAKEHOUSE_URL): Could not connect"),
		     "cannot reach the lakehouse at http://***@host:8080 (LAKEHOUSE_URL): Could "
		     "not connect");
	CHECK_EQ_STR(mcp_mask_userinfo(out, sizeof out, "https://a@b/x?u=c@d and http://h/p"),
		     "https://***@b/x?u=c@d and http://h/p");
	CHECK_EQ_STR(mcp_mask_userinfo(out, sizeof out, "http://127.0.0.1:8080"),
		     "http://127.0.0.1:8080");
	CHECK_EQ_STR(mcp_mask_userinfo(out, 12, "http://u:p@h"), "http://***@");   /* cut, no leak */
}
