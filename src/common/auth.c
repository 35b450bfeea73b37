/* auth.c — bearer tokens for every service (see auth.h, ADR 0090).
 *
 * DESIGN NOTES
 *  1. The decision (auth_decide) is pure: tokens, method, path and the
 *     Authorization header in, an outcome out. The HTTP hook
 *     (auth_authorize) only turns the outcome into 401/403.
 *  2. Constant time: the presented token is compared with EVERY configured
 *     token (no early exit), each comparison over the whole LH_AUTH_TOKEN_CAP
 *     buffer with the lengths folded in, and the results are OR-ed. The time
 *     depends only on the number of configured tokens.
 *  3. The hook works on a private copy of the tokens (struct auth_ctx)
 *     owned by the server, so a service never keeps a pointer into the
 *     caller's configuration.
 *  4. /health never reaches the hook: http_server.c answers it first. Every
 *     other path does, /metrics included (it names routes and rates).
 */
#include "common/auth.h"

#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every configured token fits (config.c: at most 127 bytes + NUL). */
#define LH_AUTH_TOKEN_CAP sizeof(((struct lh_config *)0)->auth.read_tokens[0])

int auth_enabled(const struct lh_config *cfg)
{
	return cfg->auth.n_read_tokens > 0 || cfg->auth.n_write_tokens > 0;
}

int auth_is_write(const char *method, const char *path)
{
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		return 0;
	/* Queries are reads (ADR 0090), including the web UI's SQL console and
	 * its download, whose POSTs only run a query at queryd with the
	 * caller's token; so are searches and embeddings (ADR 0150). */
	if (!strcmp(method, "POST") && (!strcmp(path, "/query") || !strcmp(path, "/v1/query") ||
					!strcmp(path, "/search") || !strcmp(path, "/v1/search") ||
					!strcmp(path, "/embed") || !strcmp(path, "/v1/embed") ||
					!strcmp(path, "/console") ||
					!strcmp(path, "/console/download")))
		return 0;
	/* MCP (ADR 0161): a POST /mcp is a message, a DELETE ends the
	 * caller's own session; the write tool checks the token itself and
	 * its upstream call is checked again. */
	if ((!strcmp(method, "POST") || !strcmp(method, "DELETE")) && !strcmp(path, "/mcp"))
		return 0;
	return 1;
}

int auth_bind_is_loopback(const char *bind)
{
	char host[256];
	const char *colon = bind ? strrchr(bind, ':') : NULL;
	if (!colon)
		return 0;
	const char *h = bind;
	size_t hl = (size_t)(colon - bind);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof host)
		return 0;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!strcasecmp(host, "localhost"))
		return 1;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return 0;
}

int auth_token_equal(const char *a, size_t alen, const char *b, size_t blen, size_t cap)
{
	if (alen > cap || blen > cap)
		return 0;
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < cap; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;
		diff |= (unsigned char)(x ^ y);
	}
	size_t ld = alen ^ blen;
	for (size_t i = 0; i < sizeof ld; i++)
		diff |= (unsigned char)(ld >> (8 * i));
	return diff == 0;
}

/* Note 2: 1 if `tok` equals any of the n tokens, looking at all of them. */
static int token_in(const char (*list)[LH_AUTH_TOKEN_CAP], unsigned n, const char *tok,
		    size_t len)
{
	int found = 0;
	for (unsigned i = 0; i < n; i++)
		found |= auth_token_equal(list[i], strnlen(list[i], LH_AUTH_TOKEN_CAP), tok, len,
					  LH_AUTH_TOKEN_CAP);
	return found;
}

enum auth_outcome auth_decide(const struct lh_config *cfg, const char *method,
			      const char *path, const char *authorization)
{
	if (!auth_enabled(cfg))
		return AUTH_ALLOW;
	if (!authorization)
		return AUTH_MISSING;
	const char *p = authorization;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return AUTH_MISSING;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t len = strlen(p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0)
		return AUTH_MISSING;
	int is_write = token_in(cfg->auth.write_tokens, cfg->auth.n_write_tokens, p, len);
	int is_read = token_in(cfg->auth.read_tokens, cfg->auth.n_read_tokens, p, len);
	if (is_write)
		return AUTH_ALLOW;
	if (!is_read)
		return AUTH_INVALID;
	return auth_is_write(method, path) ? AUTH_READ_ONLY : AUTH_ALLOW;
}

const char *auth_service_token(const struct lh_config *cfg)
{
	if (cfg->auth.n_write_tokens)
		return cfg->auth.write_tokens[0];
	if (cfg->auth.n_read_tokens)
		return cfg->auth.read_tokens[0];
	return NULL;
}

/* --- the HTTP hook --------------------------------------------------------- */

/* Note 3: the tokens, copied out of the caller's configuration. */
struct auth_ctx {
	struct lh_config cfg;
};

static const char unauthorized_html[] =
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<title>Token required</title></head>\n"
	"<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto\">\n"
	"<h1>This lakehouse needs a token</h1>\n"
	"<p>It is reachable from the network, so every request must carry\n"
	"<code>Authorization: Bearer &lt;token&gt;</code>. Use the command line with\n"
	"<code>LAKEHOUSE_TOKEN</code> set, or any HTTP client that sends the header.</p>\n"
	"<p>The web pages need no token when the lakehouse listens on 127.0.0.1 only\n"
	"(for example through an SSH tunnel).</p>\n"
	"</body></html>\n";

static int auth_authorize(void *actx, struct http_request *req)
{
	const struct auth_ctx *a = actx;
	const char *method = http_request_method(req);
	const char *accept = http_request_header(req, "Accept");
	switch (auth_decide(&a->cfg, method, http_request_path(req),
			    http_request_header(req, "Authorization"))) {
	case AUTH_ALLOW:
		return 0;
	case AUTH_MISSING:
	case AUTH_INVALID:
		if (!strcmp(method, "GET") && accept && strstr(accept, "text/html"))
			http_respond_bytes(req, 401, "text/html; charset=utf-8", unauthorized_html,
					   sizeof unauthorized_html - 1);
		else
			http_respond_fail(req, 401, "unauthorized",
					  "a valid bearer token is required: send "
					  "\"Authorization: Bearer <token>\" (the CLI sends "
					  "$LAKEHOUSE_TOKEN)");
		http_response_header(req, "WWW-Authenticate",
				     http_request_header(req, "Authorization")
					     ? "Bearer realm=\"lakehouse\", error=\"invalid_token\""
					     : "Bearer realm=\"lakehouse\"");
		return -1;
	case AUTH_READ_ONLY:
		http_respond_fail(req, 403, "forbidden",
				  "this token is read-only: %s %s needs a write token", method,
				  http_request_path(req));
		http_response_header(req, "WWW-Authenticate",
				     "Bearer realm=\"lakehouse\", error=\"insufficient_scope\"");
		return -1;
	}
	return -1;
}

static void auth_ctx_free(void *actx)
{
	free(actx);
}

int auth_http_setup(struct http_server_config *hc, const struct lh_config *cfg,
		    struct lh_error *err)
{
	/* Not a token matter, but every service passes through here with its
	 * configuration: the Host allow-list (http_policy.h, ADR 0110). */
	hc->allowed_hosts = cfg->http.allowed_hosts;
	if (!auth_enabled(cfg)) {
		if (!auth_bind_is_loopback(hc->bind))
			return lh_fail(err, 400, "insecure_bind",
				       "refusing to listen on %s without tokens; set [auth] "
				       "write_tokens (LAKEHOUSE_AUTH_WRITE_TOKENS) and read_tokens "
				       "(LAKEHOUSE_AUTH_READ_TOKENS), or bind %s to 127.0.0.1",
				       hc->bind, hc->service);
		return 0;
	}
	struct auth_ctx *a = xcalloc(1, sizeof *a);
	memcpy(&a->cfg.auth, &cfg->auth, sizeof a->cfg.auth);
	hc->authorize = auth_authorize;
	hc->authorize_ctx = a;
	hc->authorize_free = auth_ctx_free;
	return 0;
}
