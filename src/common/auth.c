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
 *  4. GET /health and GET /ready never reach the hook: http_server.c
 *     answers both first (liveness and readiness probes need no token,
 *     ADR 0200). Every other path does, /metrics included (it names routes
 *     and rates).
 *  5. Named tokens (ADR 0210): cfg->auth.table holds names, roles and
 *     SHA-256s only. The presented token is hashed once and its hash
 *     compared with every entry like the legacy lists (note 2). A match
 *     names the request: the hook records the name for the request log
 *     (http_request_set_who) and every service decides from the role, so
 *     queryd masks personal columns with the same principal the gateway saw
 *     (the gateway forwards the caller's Authorization, ADR 0090).
 */
#include "common/auth.h"

#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/tokens.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every configured token fits (config.c: at most 127 bytes + NUL). */
#define LH_AUTH_TOKEN_CAP sizeof(((struct lh_config *)0)->auth.read_tokens[0])

int auth_enabled(const struct lh_config *cfg)
{
	return cfg->auth.n_read_tokens > 0 || cfg->auth.n_write_tokens > 0 ||
	       cfg->auth.n_tokens > 0 || cfg->auth.n_table > 0 || cfg->auth.tokens_file[0] ||
	       cfg->auth.service_token[0];
}

/* `path` is `prefix` then one more segment at least (no empty rest). */
static int under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && path[n] != '\0';
}

int auth_is_admin(const char *method, const char *path)
{
	if (!strncmp(path, "/v1/", 4))
		path += 3; /* the gateway's /v1/catalog/... is catalogd's /catalog/... */
	if (!strcmp(method, "DELETE") && under(path, "/catalog/manifest/"))
		return 1;
	if (!strcmp(method, "POST") && !strcmp(path, "/catalog/gc"))
		return 1;
	if ((!strcmp(method, "PUT") || !strcmp(method, "DELETE")) && under(path, "/catalog/masks/"))
		return 1;
	size_t n = strlen(path);
	if (!strcmp(method, "POST") && n > 7 && !strcmp(path + n - 7, "/rename") &&
	    (under(path, "/catalog/datasets/") || under(path, "/datasets/")))
		return 1;
	/* the web UI's drop and personal-columns forms (ui_dataset.c) */
	if (!strcmp(method, "POST") && under(path, "/datasets/") && strchr(path + 10, '/') &&
	    (!strcmp(path + n - 5, "/drop") || !strcmp(path + n - 6, "/masks")))
		return 1;
	return 0;
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

/* Note 2: the index of the first of the n tokens equal to `tok`, or -1,
 * looking at all of them. */
static int token_index(const char (*list)[LH_AUTH_TOKEN_CAP], unsigned n, const char *tok,
		       size_t len)
{
	int found = -1;
	for (unsigned i = 0; i < n; i++) {
		int eq = auth_token_equal(list[i], strnlen(list[i], LH_AUTH_TOKEN_CAP), tok, len,
					  LH_AUTH_TOKEN_CAP);
		found = eq && found < 0 ? (int)i : found;
	}
	return found;
}

int auth_is_raw_data(const char *method, const char *path)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 0;
	if (!strncmp(path, "/v1/", 4))
		path += 3;
	/* queryd's builder of a table's Iceberg metadata (ADR 0230): its
	 * manifests hold every column's bounds, masked ones too (ADR 0237). */
	if (!strncmp(path, "/iceberg/tables/", 16))
		return 1;
	if (strncmp(path, "/storage/get/", 13) != 0)
		return 0;
	path += 13;
	while (*path == '/')
		path++;
	return !strncmp(path, "datasets/", 9) || !strncmp(path, "_index/", 7) ||
	       !strncmp(path, "datasets%2", 10) || !strncmp(path, "_index%2", 8) ||
	       !strncmp(path, "documents/", 10) || !strncmp(path, "documents%2", 11) ||
	       !strncmp(path, "_iceberg/", 9) || !strncmp(path, "_iceberg%2", 10) ||
	       !strncasecmp(path, "%5Ficeberg", 10);
}

enum auth_outcome auth_identify(const struct lh_config *cfg, const char *authorization,
				struct auth_principal *out)
{
	memset(out, 0, sizeof *out);
	out->role = LH_ROLE_NONE;
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
	int wi = token_index(cfg->auth.write_tokens, cfg->auth.n_write_tokens, p, len);
	int ri = token_index(cfg->auth.read_tokens, cfg->auth.n_read_tokens, p, len);
	int ti = -1;
	if (cfg->auth.n_table) { /* note 5 */
		char hash[LH_SHA256_HEX_LEN + 1];
		tokens_hash(p, len, hash);
		for (unsigned i = 0; i < cfg->auth.n_table; i++) {
			int eq = auth_token_equal(cfg->auth.table[i].hash, LH_SHA256_HEX_LEN, hash,
						  LH_SHA256_HEX_LEN, LH_SHA256_HEX_LEN);
			ti = eq && ti < 0 ? (int)i : ti;
		}
	}
	if (wi >= 0) {
		snprintf(out->name, sizeof out->name, "write token %d", wi + 1);
		out->role = LH_ROLE_ADMIN;
	} else if (ti >= 0) {
		memcpy(out->name, cfg->auth.table[ti].name, sizeof out->name);
		out->role = (enum lh_role)cfg->auth.table[ti].role;
	} else if (ri >= 0) {
		snprintf(out->name, sizeof out->name, "read token %d", ri + 1);
		out->role = LH_ROLE_READ;
	} else {
		return AUTH_INVALID;
	}
	return AUTH_ALLOW;
}

/* Whether the Authorization header carries the services' own token
 * (auth_service_token), compared in constant time. */
static int is_service_token(const struct lh_config *cfg, const char *authorization)
{
	const char *svc = auth_service_token(cfg), *p = authorization;
	if (!svc || !p)
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0)
		return 0;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t len = strlen(p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return auth_token_equal(p, len, svc, strlen(svc), LH_CFG_TOKEN_LINE);
}

enum auth_outcome auth_decide_who(const struct lh_config *cfg, const char *method,
				  const char *path, const char *authorization,
				  struct auth_principal *who)
{
	struct auth_principal me;
	enum auth_outcome o = auth_identify(cfg, authorization, &me);
	if (who)
		*who = me;
	if (o != AUTH_ALLOW || me.role == LH_ROLE_NONE)
		return o;
	if (me.role == LH_ROLE_ADMIN)
		return AUTH_ALLOW;
	if (me.role == LH_ROLE_WRITE)
		return auth_is_admin(method, path) ? AUTH_NOT_ADMIN : AUTH_ALLOW;
	/* The services' own token reads objects even when it is a read token
	 * (a read-only deployment: queryd must fetch them). */
	if (auth_is_raw_data(method, path) && !is_service_token(cfg, authorization))
		return AUTH_RAW_DATA;
	return auth_is_write(method, path) ? AUTH_READ_ONLY : AUTH_ALLOW;
}

enum auth_outcome auth_decide(const struct lh_config *cfg, const char *method,
			      const char *path, const char *authorization)
{
	return auth_decide_who(cfg, method, path, authorization, NULL);
}

/* The secret of the first plain write/admin line of [auth] tokens, or NULL. */
static const char *first_plain_writer(const struct lh_config *cfg)
{
	for (unsigned i = 0; i < cfg->auth.n_tokens; i++) {
		struct lh_token t;
		char why[200];
		size_t n = strnlen(cfg->auth.tokens[i], sizeof cfg->auth.tokens[i]), sn;
		if (tokens_parse_line(cfg->auth.tokens[i], n, &t, why, sizeof why) || !t.plain ||
		    (t.role != LH_ROLE_WRITE && t.role != LH_ROLE_ADMIN))
			continue;
		const char *secret = tokens_line_secret(cfg->auth.tokens[i], n, &sn);
		if (secret)
			return secret; /* the line's tail: NUL-terminated */
	}
	return NULL;
}

int auth_tokens_load(struct lh_config *cfg, struct lh_error *err)
{
	struct lh_config *c = cfg;
	c->auth.n_table = 0;
	for (unsigned i = 0; i < c->auth.n_tokens; i++) {
		char why[200];
		size_t n = strnlen(c->auth.tokens[i], sizeof c->auth.tokens[i]);
		if (tokens_parse_line(c->auth.tokens[i], n, &c->auth.table[c->auth.n_table], why,
				      sizeof why))
			return lh_fail(err, 400, "bad_config", "[auth] tokens: %s", why);
		c->auth.n_table++;
	}
	if (c->auth.tokens_file[0] &&
	    tokens_file_read(c->auth.tokens_file, c->auth.table, LH_CFG_MAX_NAMED_TOKENS,
			     &c->auth.n_table, err))
		return -1;
	if (c->auth.service_token[0]) {
		char why[200];
		if (tokens_check_secret(c->auth.service_token, strlen(c->auth.service_token), why,
					sizeof why))
			return lh_fail(err, 400, "bad_config", "[auth] service_token: %s", why);
		if (c->auth.n_table == LH_CFG_MAX_NAMED_TOKENS)
			return lh_fail(err, 400, "bad_config", "too many tokens (at most %d in all)",
				       LH_CFG_MAX_NAMED_TOKENS);
		struct lh_token *t = &c->auth.table[c->auth.n_table++];
		memset(t, 0, sizeof *t);
		snprintf(t->name, sizeof t->name, "service");
		t->role = LH_ROLE_ADMIN;
		t->plain = 1;
		tokens_hash(c->auth.service_token, strlen(c->auth.service_token), t->hash);
	}
	for (unsigned i = 0; i < c->auth.n_table; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(c->auth.table[i].name, c->auth.table[j].name))
				return lh_fail(err, 400, "bad_config",
					       "the token name \"%s\" is used twice", c->auth.table[i].name);
	if (c->auth.n_table && !c->auth.n_write_tokens && !first_plain_writer(c) &&
	    !c->auth.service_token[0])
		return lh_fail(err, 400, "bad_config",
			       "the services need a token to call each other: set [auth] "
			       "service_token (LAKEHOUSE_AUTH_SERVICE_TOKEN), or give one write "
			       "or admin token in plain form in [auth] tokens");
	return 0;
}

const char *auth_service_token(const struct lh_config *cfg)
{
	if (cfg->auth.service_token[0])
		return cfg->auth.service_token;
	if (cfg->auth.n_write_tokens)
		return cfg->auth.write_tokens[0];
	const char *w = first_plain_writer(cfg);
	if (w)
		return w;
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
	"<p>In a browser, <a href=\"/signin\">sign in</a> with your token.</p>\n"
	"</body></html>\n";

static int auth_authorize(void *actx, struct http_request *req)
{
	const struct auth_ctx *a = actx;
	const char *method = http_request_method(req);
	const char *accept = http_request_header(req, "Accept");
	struct auth_principal who;
	enum auth_outcome o = auth_decide_who(&a->cfg, method, http_request_path(req),
					      http_request_header(req, "Authorization"), &who);
	if (who.name[0])
		http_request_set_who(req, who.name, (int)who.role);
	switch (o) {
	case AUTH_ALLOW:
		return 0;
	case AUTH_NOT_ADMIN:
		http_respond_fail(req, 403, "forbidden",
				  "the token \"%s\" has the role write: %s %s needs an admin token",
				  who.name, method, http_request_path(req));
		http_response_header(req, "WWW-Authenticate",
				     "Bearer realm=\"lakehouse\", error=\"insufficient_scope\"");
		return -1;
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
	case AUTH_RAW_DATA:
		http_respond_fail(req, 403, "forbidden",
				  "raw data objects are for write and admin tokens: query the "
				  "dataset instead (personal columns are masked for the role %s)",
				  tokens_role_name(who.role));
		http_response_header(req, "WWW-Authenticate",
				     "Bearer realm=\"lakehouse\", error=\"insufficient_scope\"");
		return -1;
	case AUTH_READ_ONLY:
		http_respond_fail(req, 403, "forbidden",
				  "this token is read-only: %s %s needs %s token", method,
				  http_request_path(req),
				  auth_is_admin(method, http_request_path(req)) ? "an admin" : "a write");
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
