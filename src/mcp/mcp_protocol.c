/* mcp_protocol.c — JSON-RPC 2.0 and the MCP lifecycle, for both transports
 * (stdio: mcp_stdio.c; Streamable HTTP: gateway/mcp_http.c).
 *
 * DESIGN NOTES
 *  1. One message in, at most one answer out (mcp_handle_message): a
 *     request gets its result or its JSON-RPC error, a notification and a
 *     client's response get nothing. Every malformed message gets the
 *     specified error and never stops the server: -32700 for text that is
 *     not JSON (or over LH_MCP_MAX_MESSAGE, or not UTF-8), -32600 for JSON
 *     that is not a request ("jsonrpc" other than "2.0", an id that is null,
 *     fractional, boolean or structured, a method that is not a string, a
 *     batch array), -32601 for a method we do not have, -32602 for params
 *     that are not an object or lack a required field.
 *  2. Batches: JSON-RPC batch arrays were part of 2025-03-26 only and were
 *     removed in 2025-06-18; we answer an array with one -32600 (id null).
 *     So we do not claim 2025-03-26: asked for it, initialize offers our
 *     latest (ADR 0160).
 *  3. initialize negotiates as the specification says: a revision we speak
 *     is echoed, any other gets our latest; the client decides whether to
 *     go on. We do not insist on initialize first (ping, tools/list before
 *     it are answered): over HTTP the session id already enforces it.
 *  4. A tool that fails is a result with isError (mcp_tools.c), so the model
 *     reads the lakehouse's words; only an unknown tool name, or arguments
 *     that are not an object, is a protocol error (-32602).
 */
#include "mcp/mcp.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MCP_SERVER_NAME "lakehouse"
#define MCP_SERVER_VERSION "0.1.0"

/* Not 2025-03-26: it requires JSON-RPC batches, which we refuse (note 2);
 * a client asking for it is offered our latest (ADR 0160). */
static const char *const mcp_versions[] = { "2025-11-25", "2025-06-18" };

int mcp_version_supported(const char *v)
{
	if (!v)
		return 0;
	for (size_t i = 0; i < sizeof mcp_versions / sizeof mcp_versions[0]; i++)
		if (strcmp(v, mcp_versions[i]) == 0)
			return 1;
	return 0;
}

const char *mcp_version_negotiate(const char *requested)
{
	for (size_t i = 0; i < sizeof mcp_versions / sizeof mcp_versions[0]; i++)
		if (requested && strcmp(requested, mcp_versions[i]) == 0)
			return mcp_versions[i];
	return MCP_VERSION_LATEST;
}

/* --- answers ------------------------------------------------------------------ */

static char *answer_text(json_t *answer)
{
	char *text = json_dump_compact(answer);
	json_decref(answer);
	return text;
}

static json_t *answer_new(const json_t *id)
{
	json_t *a = json_object();
	json_object_set_new(a, "jsonrpc", json_string("2.0"));
	json_object_set_new(a, "id", id ? json_deep_copy(id) : json_null());
	return a;
}

/* The length of the valid UTF-8 character at s (n bytes left), or 0. */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
	    (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
		return 0;   /* overlong, surrogate, over U+10FFFF */
	return len;
}

char *mcp_clip(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t n = strlen((const char *)s), i = 0, o = 0;
	while (i < n) {
		size_t len = utf8_char_len(s + i, n - i);
		if (o + (len ? len : 1) >= size)
			break;
		if (len) {
			memcpy(dst + o, s + i, len);
			o += len;
			i += len;
		} else {
			dst[o++] = '?';
			i++;
		}
	}
	dst[o] = '\0';
	return dst;
}

char *mcp_mask_userinfo(char *dst, size_t size, const char *text)
{
	size_t o = 0;
	const char *p = text ? text : "";
	while (*p && o + 1 < size) {
		const char *sep = strstr(p, "://");
		if (!sep) {
			snprintf(dst + o, size - o, "%s", p);
			return dst;
		}
		const char *host = sep + 3;
		size_t auth_len = strcspn(host, "/?# \t\n\"'");
		const char *at = NULL;
		for (size_t i = 0; i < auth_len; i++)
			if (host[i] == '@')
				at = host + i;   /* the last '@' ends the user-info */
		int w = at ? snprintf(dst + o, size - o, "%.*s***", (int)(host - p), p)
			   : snprintf(dst + o, size - o, "%.*s", (int)(host - p), p);
		if (w < 0 || (size_t)w >= size - o) {
			dst[size - 1] = '\0';
			return dst;
		}
		o += (size_t)w;
		p = at ? at : host;
	}
	dst[o < size ? o : size - 1] = '\0';
	return dst;
}

char *mcp_error_text(const json_t *id, int code, const char *message)
{
	json_t *a = answer_new(id);
	json_t *e = json_object();
	json_t *m = json_string(message);
	if (!m) {   /* not UTF-8: say it in the valid part, never drop "message" */
		char clean[512];
		m = json_string(mcp_clip(clean, sizeof clean, message));
	}
	json_object_set_new(e, "code", json_integer(code));
	json_object_set_new(e, "message", m ? m : json_string("Internal error"));
	json_object_set_new(a, "error", e);
	return answer_text(a);
}

static char *result_text(const json_t *id, json_t *result)
{
	json_t *a = answer_new(id);
	json_object_set_new(a, "result", result);
	return answer_text(a);
}

/* --- parsing -------------------------------------------------------------------- */

json_t *mcp_parse(const char *text, size_t n, char **error_answer)
{
	json_error_t jerr;
	char msg[256];

	*error_answer = NULL;
	if (n > LH_MCP_MAX_MESSAGE) {
		snprintf(msg, sizeof msg, "Parse error: the message is over %u bytes",
			 (unsigned)LH_MCP_MAX_MESSAGE);
		*error_answer = mcp_error_text(NULL, MCP_PARSE_ERROR, msg);
		return NULL;
	}
	json_t *v = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!v) {
		snprintf(msg, sizeof msg, "Parse error: %s (at byte %d)", jerr.text,
			 jerr.position);
		*error_answer = mcp_error_text(NULL, MCP_PARSE_ERROR, msg);
	}
	return v;
}

const char *mcp_message_method(const json_t *msg)
{
	return json_is_object(msg) ? json_string_value(json_object_get(msg, "method")) : NULL;
}

/* An id a request may carry: a string or an integer (MCP: not null). */
static int id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

/* --- methods -------------------------------------------------------------------- */

static json_t *initialize_result(struct mcp_session *s, const char *requested)
{
	snprintf(s->version, sizeof s->version, "%s", mcp_version_negotiate(requested));
	json_t *r = json_object();
	json_object_set_new(r, "protocolVersion", json_string(s->version));
	json_t *caps = json_object();
	json_object_set_new(caps, "tools", json_pack("{s:b}", "listChanged", 0));
	json_object_set_new(caps, "resources",
			    json_pack("{s:b,s:b}", "subscribe", 0, "listChanged", 0));
	json_object_set_new(r, "capabilities", caps);
	json_object_set_new(r, "serverInfo",
			    json_pack("{s:s,s:s,s:s}", "name", MCP_SERVER_NAME, "title",
				      "Lakehouse", "version", MCP_SERVER_VERSION));
	json_object_set_new(
		r, "instructions",
		json_string("The team's data lakehouse. Start with list_datasets, then "
			    "describe_dataset for a dataset's columns and sample rows; "
			    "answer questions with query (read-only DuckDB SQL, each "
			    "dataset a table under its name) and search (words and "
			    "meaning over a dataset's indexed text columns)."));
	return r;
}

static char *tools_call(struct mcp_backend *b, const json_t *id, const json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	const json_t *args = json_object_get(params, "arguments");
	char msg[160], clipped[101];

	if (!name)
		return mcp_error_text(id, MCP_INVALID_PARAMS,
				      "Invalid params: \"name\" (the tool) is required");
	if (args && !json_is_object(args) && !json_is_null(args))
		return mcp_error_text(id, MCP_INVALID_PARAMS,
				      "Invalid params: \"arguments\" must be an object");
	if (!mcp_tool_known(name)) {
		snprintf(msg, sizeof msg, "Unknown tool: %s", mcp_clip(clipped, sizeof clipped, name));
		return mcp_error_text(id, MCP_INVALID_PARAMS, msg);
	}
	return result_text(id, mcp_tools_call(b, name, json_is_object(args) ? args : NULL));
}

static char *resources_call(struct mcp_backend *b, const json_t *id, const char *method,
			    const json_t *params)
{
	struct lh_error err = { 0 };
	json_t *out = NULL;
	int rc;

	if (strcmp(method, "resources/list") == 0) {
		rc = mcp_resources_list(b, &out, &err);
	} else {
		const char *uri = json_string_value(json_object_get(params, "uri"));
		if (!uri)
			return mcp_error_text(id, MCP_INVALID_PARAMS,
					      "Invalid params: \"uri\" is required");
		rc = mcp_resources_read(b, uri, &out, &err);
	}
	if (rc == 0)
		return result_text(id, out);
	char *text = mcp_error_text(id, err.status == 404 ? MCP_RESOURCE_NOT_FOUND : -32603,
				    err.msg);
	lh_error_clear(&err);
	return text;
}

static json_t *resource_templates(void)
{
	return json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "resourceTemplates", "uriTemplate",
			 "lakehouse://datasets/{name}", "name", "dataset", "description",
			 "A dataset's schema (types, nullability), row count and sample rows",
			 "mimeType", "text/plain");
}

char *mcp_handle_message(struct mcp_session *s, struct mcp_backend *b, const json_t *msg)
{
	char text[160];

	if (json_is_array(msg))
		return mcp_error_text(NULL, MCP_INVALID_REQUEST,
				      "Invalid Request: JSON-RPC batches are not supported "
				      "(removed in MCP 2025-06-18); send one message at a time");
	if (!json_is_object(msg))
		return mcp_error_text(NULL, MCP_INVALID_REQUEST,
				      "Invalid Request: a message is a JSON object");
	const json_t *id = json_object_get(msg, "id");
	const json_t *method_v = json_object_get(msg, "method");
	const char *jsonrpc = json_string_value(json_object_get(msg, "jsonrpc"));
	int has_id = id != NULL;

	if (has_id && !id_valid(id))
		return mcp_error_text(NULL, MCP_INVALID_REQUEST,
				      "Invalid Request: \"id\" must be a string or an integer");
	if (!jsonrpc || strcmp(jsonrpc, "2.0") != 0)
		return mcp_error_text(id, MCP_INVALID_REQUEST,
				      "Invalid Request: \"jsonrpc\" must be \"2.0\"");
	if (!method_v) {
		/* A client's response (we send no requests) is dropped. */
		if (has_id && (json_object_get(msg, "result") || json_object_get(msg, "error")))
			return NULL;
		return mcp_error_text(id, MCP_INVALID_REQUEST,
				      "Invalid Request: \"method\" is required");
	}
	const char *method = json_string_value(method_v);
	if (!method)
		return mcp_error_text(id, MCP_INVALID_REQUEST,
				      "Invalid Request: \"method\" must be a string");
	const json_t *params = json_object_get(msg, "params");
	if (params && !json_is_object(params) && !json_is_null(params))
		return has_id ? mcp_error_text(id, MCP_INVALID_PARAMS,
					       "Invalid params: \"params\" must be an object")
			      : NULL;

	if (!has_id) {
		/* Notifications: nothing is answered, known or not. */
		if (strcmp(method, "notifications/initialized") == 0)
			s->initialized = 1;
		return NULL;
	}
	if (strcmp(method, "initialize") == 0) {
		const char *v = json_string_value(json_object_get(params, "protocolVersion"));
		if (!v)
			return mcp_error_text(id, MCP_INVALID_PARAMS,
					      "Invalid params: \"protocolVersion\" is required");
		return result_text(id, initialize_result(s, v));
	}
	if (strcmp(method, "ping") == 0)
		return result_text(id, json_object());
	if (strcmp(method, "tools/list") == 0)
		return result_text(id, mcp_tools_list(b));
	if (strcmp(method, "tools/call") == 0)
		return tools_call(b, id, params);
	if (strcmp(method, "resources/list") == 0 || strcmp(method, "resources/read") == 0)
		return resources_call(b, id, method, params);
	if (strcmp(method, "resources/templates/list") == 0)
		return result_text(id, resource_templates());
	char clipped[101];
	snprintf(text, sizeof text, "Method not found: %s",
		 mcp_clip(clipped, sizeof clipped, method));
	return mcp_error_text(id, MCP_METHOD_NOT_FOUND, text);
}

char *mcp_handle_text(struct mcp_session *s, struct mcp_backend *b, const char *text, size_t n)
{
	char *error_answer = NULL;
	json_t *msg = mcp_parse(text, n, &error_answer);
	if (!msg)
		return error_answer;
	char *answer = mcp_handle_message(s, b, msg);
	json_decref(msg);
	return answer;
}
