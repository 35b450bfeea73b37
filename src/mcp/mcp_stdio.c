/* mcp_stdio.c — `lakehouse mcp`: the MCP server an agent starts as a child
 * process (SPEC 14, docs/mcp.md), talking to the lakehouse at LAKEHOUSE_URL
 * with LAKEHOUSE_TOKEN.
 *
 * DESIGN NOTES
 *  1. stdout carries only protocol: one JSON-RPC message per line, written
 *     whole with write(2) (a compact JSON text holds no newline). Everything
 *     else (the start line, failures) goes to stderr.
 *  2. Messages are handled one at a time, in the order they came; a client
 *     that sends several requests at once gets each answer, matched by id.
 *  3. A line over LH_MCP_MAX_MESSAGE bytes is skipped to its end, never held,
 *     and answered -32700; a blank line is ignored.
 *  4. EOF on stdin ends the server (exit 0) once the message in hand is
 *     answered; a closed stdout (the client died mid-call) ends it too:
 *     the call in hand is cut (stdout_gone, curl's cancel hook, so the
 *     lakehouse stops its query), SIGPIPE is ignored (main.c) and the
 *     EPIPE of the answer stops the loop.
 *  5. Whether the token may write is asked of the lakehouse at the first
 *     tools/list or write tool call (mcp_tools_writer), not at start: the
 *     lakehouse may not be up yet when the agent starts us.
 */
#include "mcp/mcp.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MCP_DEFAULT_URL "http://127.0.0.1:8080"

struct stdio_backend {
	char url[1024];      /* LAKEHOUSE_URL without trailing '/' */
	const char *token;   /* LAKEHOUSE_TOKEN or NULL */
};

/* curl's cancel hook: the client is gone when our stdout is (a pipe whose
 * reader closed polls POLLERR), so the call in hand is stopped (note 4). */
static int stdout_gone(void *ctx)
{
	struct pollfd pf = { .fd = STDOUT_FILENO, .events = 0 };
	(void)ctx;
	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static int stdio_call(void *ctx, const char *method, const char *path, const char *content_type,
		      const char *body, size_t body_len, int body_fd, struct mcp_answer *ans,
		      struct lh_error *err)
{
	struct stdio_backend *sb = ctx;
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	char ct[128];
	const char *headers[3] = { "Accept: application/json", NULL, NULL };
	char *url = xasprintf("%s%s", sb->url, path);
	int rc = -1;

	memset(ans, 0, sizeof *ans);
	http_client_request_init(&r);
	r.method = method;
	r.url = url;
	r.bearer_token = sb->token;
	r.cancelled = stdout_gone;
	if (content_type) {
		snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
		headers[1] = ct;
	}
	r.headers = headers;
	if (body_fd >= 0) {
		r.body_fd = body_fd;
		r.body_fd_len = body_len;
	} else if (body) {
		r.body = body;
		r.body_len = body_len;
	}
	if (http_client_do(&r, &resp, err) != 0) {
		char reason[sizeof err->msg];
		snprintf(reason, sizeof reason, "%s", err->msg);   /* rephrase overwrites it */
		char *said = xasprintf("cannot reach the lakehouse at %s (LAKEHOUSE_URL): %s",
				       sb->url, reason);
		char masked[sizeof err->msg];   /* no credentials in the text */
		lh_error_rephrase(err, "%s", mcp_mask_userinfo(masked, sizeof masked, said));
		free(said);
		goto out;
	}
	ans->status = resp.status;
	ans->body = resp.body;
	ans->len = resp.body_len;
	resp.body = NULL;
	rc = 0;
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}

/* Write one line; 0, or -1 when stdout is gone. */
static int write_line(const char *text)
{
	size_t n = strlen(text);
	char *line = xmalloc(n + 1);
	memcpy(line, text, n);
	line[n] = '\n';
	size_t off = 0;
	int rc = 0;
	while (off < n + 1) {
		ssize_t w = write(STDOUT_FILENO, line + off, n + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)w;
	}
	free(line);
	return rc;
}

static int handle_line(struct mcp_session *s, struct mcp_backend *b, char *line, size_t n)
{
	if (n && line[n - 1] == '\r')
		n--;
	size_t i = 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == n)
		return 0;
	char *answer = mcp_handle_text(s, b, line, n);
	int rc = answer ? write_line(answer) : 0;
	free(answer);
	return rc;
}

int mcp_stdio_main(int argc, char **argv)
{
	struct stdio_backend sb = { 0 };
	struct mcp_backend b = { .call = stdio_call, .ctx = &sb, .writer = -1, .local_files = 1 };
	struct mcp_session s = { 0 };
	size_t cap = 64 << 10, len = 0;
	char *buf = xmalloc(cap);
	int skipping = 0, rc = 0;

	if (argc > 1) {
		FILE *out = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ? stdout
											  : stderr;
		if (out == stderr)
			fprintf(stderr, "lakehouse mcp: unexpected argument \"%s\"\n\n", argv[1]);
		fprintf(out,
			"usage: lakehouse mcp\n\n"
			"Serve the lakehouse to an AI agent over the Model Context Protocol: "
			"JSON-RPC on\nstdin/stdout, one message per line (docs/mcp.md). An MCP "
			"client starts it as a\ncommand. It talks to the lakehouse at "
			"LAKEHOUSE_URL (default %s)\nwith the bearer token LAKEHOUSE_TOKEN; a "
			"write token adds the ingest_csv tool.\n",
			MCP_DEFAULT_URL);
		free(buf);
		return out == stdout ? 0 : 2;
	}
	const char *env = getenv("LAKEHOUSE_URL");
	snprintf(sb.url, sizeof sb.url, "%s", env && *env ? env : MCP_DEFAULT_URL);
	for (size_t n = strlen(sb.url); n && sb.url[n - 1] == '/';)
		sb.url[--n] = '\0';
	sb.token = getenv("LAKEHOUSE_TOKEN");
	if (sb.token && !*sb.token)
		sb.token = NULL;
	char shown_url[sizeof sb.url];
	log_event("info", "mcp", "lakehouse mcp: serving MCP on stdio for %s",
		  mcp_mask_userinfo(shown_url, sizeof shown_url, sb.url));

	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t got = read(STDIN_FILENO, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t start = 0, end = len + (size_t)got;
		for (size_t i = len; i < end; i++) {
			if (buf[i] != '\n')
				continue;
			if (skipping) {
				skipping = 0;
				char msg[96];
				snprintf(msg, sizeof msg, "Parse error: the message is over %u bytes",
					 (unsigned)LH_MCP_MAX_MESSAGE);
				char *answer = mcp_error_text(NULL, MCP_PARSE_ERROR, msg);
				rc = write_line(answer);
				free(answer);
			} else {
				rc = handle_line(&s, &b, buf + start, i - start);
			}
			start = i + 1;
			if (rc)
				goto out;
		}
		memmove(buf, buf + start, end - start);
		len = end - start;
		if (len > LH_MCP_MAX_MESSAGE) {
			skipping = 1;   /* note 3: drop what we hold, read to the newline */
			len = 0;
			cap = 64 << 10;
			buf = xrealloc(buf, cap);
		}
	}
	if (len && !skipping)
		rc = handle_line(&s, &b, buf, len);   /* a last line without '\n' */
out:
	free(buf);
	if (rc)
		log_event("info", "mcp", "lakehouse mcp: the client closed stdout; stopping");
	return 0;
}
