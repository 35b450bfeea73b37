/* mcp.h — the lakehouse as a Model Context Protocol server (SPEC 14,
 * docs/mcp.md, ADR 0160-0162).
 *
 * Three layers, one per file:
 *   mcp_protocol.c  JSON-RPC 2.0, the lifecycle (initialize, version
 *                   negotiation, ping) and the dispatch of the tools and
 *                   resources methods; pure but for the tools it calls.
 *   mcp_tools.c     the tools and resources, over a `struct mcp_backend`:
 *                   one function that sends a request to the lakehouse's /v1
 *                   API and hands back its answer.
 *   mcp_stdio.c     `lakehouse mcp`: one message per line on stdin/stdout,
 *                   the backend being LAKEHOUSE_URL with LAKEHOUSE_TOKEN.
 * The Streamable HTTP transport is a gateway route (gateway/mcp_http.c)
 * whose backend calls the gateway's upstreams with the caller's token.
 */
#ifndef LH_MCP_H
#define LH_MCP_H
#include "common/json.h"

#include <stddef.h>

struct lh_error;

/* Protocol revisions we speak, newest first (mcp_protocol.c). */
#define MCP_VERSION_LATEST "2025-11-25"

/* JSON-RPC error codes (JSON-RPC 2.0; MCP's resource-not-found). */
#define MCP_PARSE_ERROR -32700
#define MCP_INVALID_REQUEST -32600
#define MCP_METHOD_NOT_FOUND -32601
#define MCP_INVALID_PARAMS -32602
#define MCP_RESOURCE_NOT_FOUND -32002

/* --- the backend: how the tools reach /v1 --------------------------------- */

/* One answer of the lakehouse: any HTTP status, the body (owned,
 * NUL-terminated, may be NULL when empty). */
struct mcp_answer {
	long status;
	char *body;
	size_t len;
};
void mcp_answer_free(struct mcp_answer *a);

struct mcp_backend {
	/* Send `method` to the /v1 path `path` (with its query string, already
	 * encoded), with the body `body`/`body_len` (NULL = none) or, when
	 * body_fd >= 0, the file body_fd (`body_len` bytes, not closed), of
	 * `content_type` (NULL = none). Returns 0 with *ans filled (the caller
	 * frees it with mcp_answer_free), or -1 with err when no answer came
	 * (err's message says so in words: "cannot reach the lakehouse ..."). */
	int (*call)(void *ctx, const char *method, const char *path, const char *content_type,
		    const char *body, size_t body_len, int body_fd, struct mcp_answer *ans,
		    struct lh_error *err);
	void *ctx;
	/* Whether the caller's token may write: 1 yes (a write token, or no
	 * auth), 0 no (a read token), -1 not known yet (stdio: the first
	 * tools/list asks the lakehouse, mcp_tools_writer). */
	int writer;
	/* 1 when the server runs on the caller's machine (stdio): ingest_csv
	 * may read a `path`. 0 over HTTP: a path is refused. */
	int local_files;
};

/* --- the protocol (mcp_protocol.c) ----------------------------------------- */

/* One client's conversation: the negotiated revision ("" before initialize)
 * and whether notifications/initialized came. */
struct mcp_session {
	char version[16];
	int initialized;
};

/* 1 if we speak revision `v`. Pure. */
int mcp_version_supported(const char *v);
/* The revision to answer an initialize asking for `requested`: the same
 * when we speak it, else our latest (the client then decides). Pure. */
const char *mcp_version_negotiate(const char *requested);

/* Parse one message. Returns a new reference, or NULL with *error_answer
 * set to the JSON-RPC error to send (-32700 for text that is not JSON, a
 * message over LH_MCP_MAX_MESSAGE, invalid UTF-8; caller frees the string). */
json_t *mcp_parse(const char *text, size_t n, char **error_answer);

/* The method of a parsed message, or NULL (borrowed). */
const char *mcp_message_method(const json_t *msg);

/* Handle one parsed message (borrowed). Returns the answer as compact JSON
 * text (the caller frees it), or NULL when none is due (a notification, or
 * a client's response). Never fails: every bad message gets its JSON-RPC
 * error. Tools run through `b` and may block on it. */
char *mcp_handle_message(struct mcp_session *s, struct mcp_backend *b, const json_t *msg);

/* mcp_parse + mcp_handle_message: a line or a body in, the answer out (or
 * NULL). */
char *mcp_handle_text(struct mcp_session *s, struct mcp_backend *b, const char *text, size_t n);

/* Text cut to fit: copies `src` into `dst` (`size` bytes, size >= 1) as
 * whole UTF-8 characters only, so a byte cut never splits one (jansson
 * refuses such a string and the message would be lost); an invalid byte
 * becomes '?'. Returns dst. Pure. */
char *mcp_clip(char *dst, size_t size, const char *src);

/* `text` into `dst` (`size` bytes) with the user-info of every URL in it
 * (in "http://user:secret@host" the "user:secret" becomes "***") masked, so credentials
 * in LAKEHOUSE_URL reach neither a tool's error text nor the log. Returns
 * dst. Pure. */
char *mcp_mask_userinfo(char *dst, size_t size, const char *text);

/* A JSON-RPC error answer to `id` (borrowed, NULL = null) as text. */
char *mcp_error_text(const json_t *id, int code, const char *message);

/* --- tools and resources (mcp_tools.c) -------------------------------------- */

/* The tools/list result: {"tools": [...]}, the write tools only when
 * b->writer is not 0. A new reference. */
json_t *mcp_tools_list(struct mcp_backend *b);

/* Whether `name` is one of our tools (any token). */
int mcp_tool_known(const char *name);

/* Run tool `name` with `args` (an object, borrowed; NULL = {}). Returns the
 * CallToolResult (a new reference): content text, isError true with the
 * lakehouse's own words when it refused or failed. */
json_t *mcp_tools_call(struct mcp_backend *b, const char *name, const json_t *args);

/* resources/list: every dataset as lakehouse://datasets/<name>. Returns 0
 * with a new reference, or -1 with err (the lakehouse did not answer). */
int mcp_resources_list(struct mcp_backend *b, json_t **out, struct lh_error *err);

/* resources/read of `uri`: 0 with the ReadResourceResult, or -1 with err:
 * 404 for a URI naming no dataset (a JSON-RPC -32002), else the reason. */
int mcp_resources_read(struct mcp_backend *b, const char *uri, json_t **out,
		       struct lh_error *err);

/* For stdio: learn b->writer by a request that only a write token passes
 * and that changes nothing (POST /v1/ingest without a name: 400 for a
 * writer, 403 for a reader). Leaves -1 when no answer says. */
void mcp_tools_writer(struct mcp_backend *b);

/* Pure: "did you mean" — the name of `names` (n of them) closest to `name`
 * by edit distance ignoring case, or NULL when none is close (distance
 * more than a third of the length, at least 2). Borrowed. */
const char *mcp_closest_name(const char *name, const char *const *names, size_t n);

/* Pure: a query answer's JSON (/v1/query format json) as the tool's text: a
 * header line, one line per row, cells separated by " | ", at most
 * `max_rows` rows and `max_bytes` bytes, ending in a line that states the
 * caps and whether the result was cut. *truncated (OUT) 1 when cut here or
 * by queryd; *nshown (OUT, optional) the rows shown. Returns a new string. */
char *mcp_render_rows(const json_t *answer, size_t max_rows, size_t max_bytes, int *truncated,
		      size_t *nshown);

/* --- stdio (mcp_stdio.c) ------------------------------------------------------ */

/* `lakehouse mcp`: serve stdin/stdout until EOF. Exit code 0, 2 for bad
 * usage. */
int mcp_stdio_main(int argc, char **argv);

#endif
