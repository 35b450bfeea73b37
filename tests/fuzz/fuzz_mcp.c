/* fuzz_mcp.c — libFuzzer target for the MCP protocol layer
 * (src/mcp/mcp_protocol.c) and the tools it dispatches to (mcp_tools.c),
 * over a fake backend whose answers are drawn from the input too.
 *
 * Input: the first line is the message; the rest (if any) is the body every
 * backend call answers, with status 200 if it starts with '{' or '[' and
 * 400 otherwise.
 *
 * Invariants: any message gets either no answer or exactly one JSON object
 * with "jsonrpc": "2.0", an "id", and exactly one of "result" and "error";
 * an error has an integer code among the JSON-RPC ones we send and a string
 * message; a tools/call result has a "content" array and a boolean
 * "isError". Nothing crashes, whatever the lakehouse answers.
 */
#include "fuzz.h"

#include "common/error.h"
#include "common/json.h"
#include "common/xmalloc.h"
#include "mcp/mcp.h"

#include <string.h>

struct fake {
	const char *body;
	size_t len;
};

static int fake_call(void *ctx, const char *method, const char *path, const char *content_type,
		     const char *body, size_t body_len, int body_fd, struct mcp_answer *ans,
		     struct lh_error *err)
{
	struct fake *f = ctx;
	(void)method;
	(void)path;
	(void)content_type;
	(void)body;
	(void)body_len;
	(void)body_fd;
	(void)err;
	ans->status = f->len && (f->body[0] == '{' || f->body[0] == '[') ? 200 : 400;
	ans->body = xstrndup(f->body, f->len);
	ans->len = strlen(ans->body);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t n = nl ? (size_t)(nl - text) : size;
	struct fake f = { .body = nl ? nl + 1 : "", .len = nl ? size - n - 1 : 0 };
	struct mcp_backend b = { .call = fake_call, .ctx = &f, .writer = 1, .local_files = 0 };
	struct mcp_session s = { 0 };

	char *answer = mcp_handle_text(&s, &b, text, n);
	if (!answer)
		return 0;
	json_t *a = json_loads(answer, 0, NULL);
	FUZZ_CHECK(json_is_object(a));
	FUZZ_CHECK(json_is_string(json_object_get(a, "jsonrpc")));
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(a, "jsonrpc")), "2.0") == 0);
	FUZZ_CHECK(json_object_get(a, "id") != NULL);
	json_t *result = json_object_get(a, "result");
	json_t *error = json_object_get(a, "error");
	FUZZ_CHECK((result != NULL) != (error != NULL));
	if (error) {
		json_int_t code = json_integer_value(json_object_get(error, "code"));
		FUZZ_CHECK(json_is_integer(json_object_get(error, "code")));
		FUZZ_CHECK(code == MCP_PARSE_ERROR || code == MCP_INVALID_REQUEST ||
			   code == MCP_METHOD_NOT_FOUND || code == MCP_INVALID_PARAMS ||
			   code == MCP_RESOURCE_NOT_FOUND || code == -32603);
		FUZZ_CHECK(json_is_string(json_object_get(error, "message")));
	}
	json_t *msg = json_loadb(text, n, JSON_DECODE_ANY, NULL);
	const char *method = json_string_value(json_object_get(msg, "method"));
	if (result && method && strcmp(method, "tools/call") == 0) {
		FUZZ_CHECK(json_is_array(json_object_get(result, "content")));
		FUZZ_CHECK(json_is_boolean(json_object_get(result, "isError")));
	}
	json_decref(msg);
	json_decref(a);
	free(answer);
	return 0;
}
