/* mcp_http.c — MCP over Streamable HTTP at /mcp on the gateway (SPEC 14,
 * docs/mcp.md, ADR 0161): POST /mcp carries one JSON-RPC message and gets
 * its answer as application/json; DELETE /mcp ends a session; GET /mcp is
 * 405 (we open no server-initiated stream).
 *
 * DESIGN NOTES
 *  1. Sessions: an initialize request creates one, its id (32 random hex
 *     digits from the kernel) sent back in Mcp-Session-Id; every later
 *     request must carry it: without it 400 mcp_session_required, with an
 *     unknown or ended one 404 mcp_session_not_found (the client then
 *     initializes again, as the specification says). A session belongs to
 *     the token that made it (a SHA-256 of the Authorization header is kept,
 *     never the token): a request or DELETE with another token gets the same
 *     404, so one token holder can neither use nor end another's session.
 *     At most LH_MCP_MAX_SESSIONS_PER_TOKEN per token (a new one pushes out
 *     that token's least recently used, so one token cannot evict the
 *     others') and LH_MCP_MAX_SESSIONS in all (then the least recently used
 *     of all goes). A session is only the negotiated revision and the
 *     initialized flag, so losing one costs a client a new initialize.
 *  2. MCP-Protocol-Version, when sent, must be a revision we speak (else 400
 *     unsupported_protocol_version); absent, we go on and answer as the
 *     session's negotiated revision (the specification would assume
 *     2025-03-26, which we do not speak, ADR 0160; nothing we answer
 *     differs).
 *  3. Security is the gateway's own (ADR 0090, 0110): the route is behind
 *     the bearer tokens like /v1 (auth.c counts POST and DELETE /mcp as
 *     reads, so a read token may use the read tools), the Host allow-list
 *     and the cross-site refusal of http_policy.c apply before we run (a
 *     foreign Origin is 403: the Origin validation the transport requires).
 *     Whether the caller may write is decided here from the same tokens
 *     (auth_decide on POST /v1/ingest): a read token gets no write tool, and
 *     the upstream checks the token again on every call.
 *  4. The tools' backend calls the gateway's upstream pools directly (no
 *     loopback hop through our own port), mapping /v1/catalog/..., /v1/query,
 *     /v1/search and /v1/ingest as the proxy routes do, with the caller's
 *     bearer token and request id. A `path` argument of ingest_csv is
 *     refused: the file would be the gateway's, not the caller's.
 *  5. Errors of the transport (session, version) are our JSON errors
 *     {"error","code"}; a body that is not JSON-RPC gets the JSON-RPC error
 *     (400 for a parse error, else 200 with the error object).
 *  6. A caller that hangs up mid-call stops the call: curl polls
 *     client_gone (about once a second), which sees the socket's hang-up
 *     (POLLRDHUP, as proxy.c does), and the aborted upstream request makes
 *     queryd kill the query's worker.
 */
#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/random.h"
#include "common/sha256.h"
#include "common/upstream.h"
#include "common/xmalloc.h"
#include "gateway/gateway_int.h"
#include "mcp/mcp.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mcp_http_session {
	char id[33];
	char owner[LH_SHA256_HEX_LEN + 1];   /* SHA-256 of the maker's Authorization */
	struct mcp_session s;
	uint64_t last_used;          /* mcp_http.tick when last used */
};

struct mcp_http {
	pthread_mutex_t lock;
	struct mcp_http_session *sessions;   /* n of them, unordered */
	size_t n;
	uint64_t tick;
	struct lh_config *auth;      /* only .auth is filled: the tokens */
};

struct mcp_http *mcp_http_create(const struct lh_config *cfg)
{
	struct mcp_http *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	m->sessions = xcalloc(LH_MCP_MAX_SESSIONS, sizeof *m->sessions);
	m->auth = xcalloc(1, sizeof *m->auth);
	m->auth->auth = cfg->auth;
	return m;
}

void mcp_http_destroy(struct mcp_http *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->sessions);
	free(m->auth);
	free(m);
}

/* --- sessions (under m->lock) -------------------------------------------------- */

static struct mcp_http_session *session_find(struct mcp_http *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->sessions[i].id, id) == 0)
			return &m->sessions[i];
	return NULL;
}

/* The owner a request's token makes (note 1): SHA-256 of its Authorization
 * header ("" when none, auth being off). */
static void session_owner(struct http_request *req, char owner[LH_SHA256_HEX_LEN + 1])
{
	const char *auth = http_request_header(req, "Authorization");
	sha256_hex(auth ? auth : "", auth ? strlen(auth) : 0, owner);
}

static struct mcp_http_session *session_new(struct mcp_http *m, const char *owner)
{
	struct mcp_http_session *s = NULL, *oldest_own = NULL;
	size_t own = 0;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->sessions[i].owner, owner) == 0) {
			own++;
			if (!oldest_own || m->sessions[i].last_used < oldest_own->last_used)
				oldest_own = &m->sessions[i];
		}
	if (own >= LH_MCP_MAX_SESSIONS_PER_TOKEN) {
		s = oldest_own;   /* note 1: this token's least recently used goes */
	} else if (m->n < LH_MCP_MAX_SESSIONS) {
		s = &m->sessions[m->n++];
	} else {
		s = &m->sessions[0];   /* note 1: the least recently used goes */
		for (size_t i = 1; i < m->n; i++)
			if (m->sessions[i].last_used < s->last_used)
				s = &m->sessions[i];
	}
	memset(s, 0, sizeof *s);
	return s;
}

/* --- the backend: /v1 paths onto the upstream pools ------------------------------ */

struct http_backend {
	struct http_request *req;
	struct gateway *g;
	int client_fd;               /* the caller's socket, polled for a hang-up */
};

/* curl's cancel hook (note 6): the caller hung up, so stop the upstream
 * call (queryd then stops the query at once). */
static int client_gone(void *ctx)
{
	struct http_backend *hb = ctx;
	struct pollfd pf = { .fd = hb->client_fd, .events = POLLRDHUP };
	if (hb->client_fd < 0)
		return 0;
	return poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int http_backend_call(void *ctx, const char *method, const char *path,
			     const char *content_type, const char *body, size_t body_len,
			     int body_fd, struct mcp_answer *ans, struct lh_error *err)
{
	struct http_backend *hb = ctx;
	struct gateway *g = hb->g;
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	const char *auth = http_request_header(hb->req, "Authorization");
	const char *headers[3] = { "Accept: application/json", NULL, NULL };
	char ct[128];
	char *upath = NULL;
	int which, rc = -1;

	memset(ans, 0, sizeof *ans);
	if (strncmp(path, "/v1/catalog/", 12) == 0) {
		which = GW_CATALOGD;
		upath = xasprintf("/catalog/%s", path + 12);
	} else if (strncmp(path, "/v1/query", 9) == 0) {
		which = GW_QUERYD;
		upath = xasprintf("/query%s", path + 9);
	} else if (strncmp(path, "/v1/search", 10) == 0) {
		which = GW_QUERYD;
		upath = xasprintf("/search%s", path + 10);
	} else if (strncmp(path, "/v1/ingest", 10) == 0) {
		which = GW_INGESTD;
		upath = xasprintf("/ingest%s", path + 10);
	} else {
		return lh_fail(err, 500, "internal", "no upstream for %s", path);
	}
	const struct gateway_upstream *up = &g->up[which];
	if (upstream_pool_size(up->pool) == 0) {
		lh_fail(err, 502, "upstream_unavailable", "%s is not configured", up->name);
		goto out;
	}
	http_client_request_init(&r);
	r.method = method;
	r.request_id = http_request_id(hb->req);
	r.bearer_token = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
	r.timeout_ms = g->timeout_ms;
	r.cancelled = client_gone;
	r.cancelled_ctx = hb;
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
	if (upstream_pool_do(up->pool, upath, &r, &resp, NULL, err) != 0) {
		lh_error_clear(err);
		lh_fail(err, 502, "upstream_unavailable", "%s is not reachable", up->name);
		goto out;
	}
	ans->status = resp.status;
	ans->body = resp.body;
	ans->len = resp.body_len;
	resp.body = NULL;
	rc = 0;
out:
	http_client_response_free(&resp);
	free(upath);
	return rc;
}

/* --- routes -------------------------------------------------------------------------- */

static void respond_answer(struct http_request *req, int status, char *answer)
{
	if (!answer) {
		http_respond_empty(req, 202);
		return;
	}
	http_respond_bytes(req, status, "application/json", answer, strlen(answer));
	free(answer);
}

/* The session a request names, or NULL after answering 400/404. Copies it
 * into *out under the lock. */
static int session_take(struct http_request *req, struct mcp_http *m, struct mcp_session *out,
			char id[33])
{
	const char *sid = http_request_header(req, "Mcp-Session-Id");
	char owner[LH_SHA256_HEX_LEN + 1];
	int found = 0;
	if (!sid || !*sid) {
		http_respond_fail(req, 400, "mcp_session_required",
				  "an MCP request needs the Mcp-Session-Id header its initialize "
				  "answer gave; send initialize first");
		return -1;
	}
	session_owner(req, owner);
	pthread_mutex_lock(&m->lock);
	struct mcp_http_session *s = strlen(sid) < 33 ? session_find(m, sid) : NULL;
	if (s && strcmp(s->owner, owner) != 0)
		s = NULL;   /* another token's session: as if unknown (note 1) */
	if (s) {
		*out = s->s;
		s->last_used = ++m->tick;
		snprintf(id, 33, "%s", s->id);
		found = 1;
	}
	pthread_mutex_unlock(&m->lock);
	if (!found) {
		http_respond_fail(req, 404, "mcp_session_not_found",
				  "unknown or ended MCP session; send initialize again");
		return -1;
	}
	return 0;
}

int mcp_http_post_end(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	struct mcp_http *m = g->mcp;
	size_t n = 0;
	const char *text = http_request_body(req, &n);
	char *error_answer = NULL;
	struct mcp_session s = { 0 };
	char id[33] = "";

	const char *pv = http_request_header(req, "MCP-Protocol-Version");
	if (pv && !mcp_version_supported(pv)) {
		char clipped[41];
		http_respond_fail(req, 400, "unsupported_protocol_version",
				  "MCP-Protocol-Version %s is not one we speak (2025-11-25, "
				  "2025-06-18)",
				  mcp_clip(clipped, sizeof clipped, pv));
		return 0;
	}
	json_t *msg = mcp_parse(text ? text : "", n, &error_answer);
	if (!msg) {
		respond_answer(req, 400, error_answer);
		return 0;
	}
	const char *method = mcp_message_method(msg);
	int initialize = method && strcmp(method, "initialize") == 0 &&
			 json_object_get(msg, "id") != NULL;
	if (!initialize && session_take(req, m, &s, id) != 0) {
		json_decref(msg);
		return 0;
	}
	struct http_backend hb = { .req = req, .g = g, .client_fd = http_request_client_fd(req) };
	struct mcp_backend b = {
		.call = http_backend_call,
		.ctx = &hb,
		.writer = auth_decide(m->auth, "POST", "/v1/ingest",
				      http_request_header(req, "Authorization")) == AUTH_ALLOW,
		.local_files = 0,
	};
	char *answer = mcp_handle_message(&s, &b, msg);
	json_decref(msg);
	if (initialize && s.version[0]) {
		if (random_hex(id, 16) != 0) {
			free(answer);
			http_respond_fail(req, 503, "no_randomness",
					  "the system could not give random bytes for a session id");
			return 0;
		}
		char owner[LH_SHA256_HEX_LEN + 1];
		session_owner(req, owner);
		pthread_mutex_lock(&m->lock);
		struct mcp_http_session *ns = session_new(m, owner);
		snprintf(ns->id, sizeof ns->id, "%s", id);
		snprintf(ns->owner, sizeof ns->owner, "%s", owner);
		ns->s = s;
		ns->last_used = ++m->tick;
		pthread_mutex_unlock(&m->lock);
	} else if (id[0]) {
		pthread_mutex_lock(&m->lock);
		struct mcp_http_session *ns = session_find(m, id);
		if (ns)
			ns->s.initialized |= s.initialized;
		pthread_mutex_unlock(&m->lock);
	}
	respond_answer(req, 200, answer);
	if (initialize && id[0])
		http_response_header(req, "Mcp-Session-Id", id);
	return 0;
}

int mcp_http_delete_end(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	struct mcp_http *m = g->mcp;
	struct mcp_session s;
	char id[33];

	if (session_take(req, m, &s, id) != 0)
		return 0;
	pthread_mutex_lock(&m->lock);
	struct mcp_http_session *found = session_find(m, id);
	if (found) {
		*found = m->sessions[m->n - 1];
		m->n--;
	}
	pthread_mutex_unlock(&m->lock);
	http_respond_empty(req, 204);
	return 0;
}
