/* http_server.h — the HTTP/1.1 server every service runs, on libmicrohttpd.
 *
 * A service describes itself as a table of routes and calls
 * http_server_start(). The layer gives it, for free: /health, /ready and /metrics,
 * X-Request-Id (propagated or generated), one log line per request (log.h;
 * none for peers' health checks, HTTP_HEALTH_CHECK_HEADER),
 * request counts and latency histograms per route and status, JSON errors
 * for 404/405/413, connection timeouts and caps, and a graceful stop that lets
 * in-flight requests finish (http_server_stop).
 *
 * Before routing, every request (GET /health included) passes the checks of
 * http_policy.h (ADR 0110): RFC 9112 framing (400/501, and the connection is
 * closed), the Host allow-list (400 missing_host/bad_host, 421
 * host_not_allowed), cross-site refusal of every method but GET/HEAD/OPTIONS
 * (403 cross_site_request); then, on routes marked `json_body`, the JSON
 * media type (415 unsupported_media_type).
 *
 * Threading: one thread per connection (ADR 0003), so handlers may block
 * (fsync, upstream HTTP, DuckDB). Handlers must be thread-safe with respect to
 * their service context.
 *
 * Request life cycle — the server calls, in order, on one thread at a time:
 *   1. begin(req)           headers are in. The handler may answer at once
 *                           (http_respond_*), e.g. 400 for a bad key; the body
 *                           is then read and discarded.
 *   2. body(req, data, n)   each chunk of the request body, only while no
 *                           response is set. Routes without `body` get their
 *                           body buffered (cap `max_body`, default
 *                           LH_HTTP_MAX_JSON_BODY; over it -> 413) and read it
 *                           with http_request_body().
 *   3. end(req)             the body is complete; must set a response.
 *   4. done(req, ok)        always, last, even if the client went away
 *                           (ok = 0): free the handler's state here.
 * A callback returning -1 without setting a response yields a 500.
 */
#ifndef LH_HTTP_SERVER_H
#define LH_HTTP_SERVER_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Sent by the gateway's health checks (upstream.c) with GET /health: such
 * requests are answered and counted in /metrics but not logged (ADR 0121).
 * An external prober may send it too, to stay out of the log. So may a
 * peer's poll of a route whose handler calls http_request_quiet_poll(). */
#define HTTP_HEALTH_CHECK_HEADER "X-Lakehouse-Health-Check"

struct lh_error;
struct http_server;
struct http_request;

struct http_route {
	const char *method;  /* "GET", "PUT", ...; HEAD is served by GET routes */
	const char *path;    /* exact path, or a prefix when it ends in '*' */
	const char *name;    /* metrics/log label, e.g. "storage_get" */
	int (*begin)(struct http_request *req);                       /* optional */
	int (*body)(struct http_request *req, const char *data, size_t n); /* optional: streaming */
	int (*end)(struct http_request *req);                         /* required */
	void (*done)(struct http_request *req, int completed);        /* optional */
	size_t max_body;     /* buffered routes: 0 = LH_HTTP_MAX_JSON_BODY */
	int json_body;       /* 1: the body is JSON; any other Content-Type -> 415 */
};

struct ready;

struct http_server_config {
	const char *service;             /* "storaged", used in logs and /health */
	const char *bind;                /* "HOST:PORT"; port 0 = any free port */
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;                       /* service context, http_request_ctx() */
	unsigned connection_timeout_s;   /* 0 = LH_HTTP_CONNECTION_TIMEOUT_S */
	unsigned max_connections;        /* 0 = LH_HTTP_MAX_CONNECTIONS */
	/* Optional: add fields to the /health body (e.g. the gateway's view of
	 * each service). Return the HTTP status (200, or 503 when degraded). */
	int (*health)(void *ctx, json_t *body);
	/* Optional: the service's readiness (ready.h, ADR 0200). GET /ready
	 * answers 200 or 503 with each dependency's state (without one: 200),
	 * needs no token and is never logged; /metrics gains its gauges. Not
	 * owned: the service destroys it after http_server_stop(). */
	struct ready *ready;
	/* Optional: called before routing for every request but GET /health
	 * and GET /ready;
	 * returning -1 with a response set (e.g. 401) stops the request. Used
	 * for bearer tokens (auth.h: auth_http_setup fills these three).
	 * `authorize_ctx` belongs to the server from http_server_start() on,
	 * even when it fails: `authorize_free` (if set) frees it at the end. */
	int (*authorize)(void *authorize_ctx, struct http_request *req);
	void *authorize_ctx;
	void (*authorize_free)(void *authorize_ctx);
	/* Host names answered besides IP literals and localhost: [http]
	 * allowed_hosts (http_policy_host_list_check syntax; NULL = none).
	 * Copied by http_server_start(), which refuses a bad list (400
	 * bad_config). auth_http_setup() sets it from the configuration. */
	const char *allowed_hosts;
};

/* Start listening; returns NULL with an error (e.g. address in use). */
struct http_server *http_server_start(const struct http_server_config *cfg,
				      struct lh_error *err);
/* The bound port (useful with port 0). */
uint16_t http_server_port(const struct http_server *srv);
/* "http://127.0.0.1:PORT" for this server; the string lives with srv. */
const char *http_server_url(const struct http_server *srv);
/* Stop accepting, wait up to LH_HTTP_SHUTDOWN_GRACE_MS for in-flight requests,
 * close everything and free srv. NULL is fine. */
void http_server_stop(struct http_server *srv);

/* --- inside a handler --------------------------------------------------- */
void *http_request_ctx(struct http_request *req);            /* service ctx */
void *http_request_state(struct http_request *req);          /* handler state */
void http_request_set_state(struct http_request *req, void *state);
const char *http_request_method(struct http_request *req);   /* "HEAD" for HEAD */
/* Percent-decoded path without the query string. A %00 decodes to 0x7f so it
 * stays visible to validators (it is a control character, never a NUL). */
const char *http_request_path(struct http_request *req);
/* The path after a '*' route's prefix (e.g. the object key). */
const char *http_request_path_rest(struct http_request *req);
/* For a route a peer polls (catalogd's index-pending, which queryd's builder
 * asks each second): when the request carries HTTP_HEALTH_CHECK_HEADER its
 * request line is not logged, as the peers' health checks are not (note 9
 * of http_server.c; ADR 0121, 0140). It is still counted in /metrics. */
void http_request_quiet_poll(struct http_request *req);
const char *http_request_header(struct http_request *req, const char *name);
const char *http_request_query(struct http_request *req, const char *name);
const char *http_request_id(struct http_request *req);
/* The client connection's socket, only to poll() for a hang-up while a
 * handler waits (never read, write or close it); -1 if unknown. */
int http_request_client_fd(struct http_request *req);
/* Visit every query argument in the order sent, percent-decoded like the
 * path; `value` is NULL for a bare "?flag". `fn` returns 0 to go on, -1 to
 * stop. Returns 0, or -1 if `fn` stopped. (The gateway re-encodes them.) */
int http_request_query_each(struct http_request *req,
			    int (*fn)(void *ctx, const char *key, const char *value),
			    void *ctx);
/* Content-Length if the client sent one: returns 1 and sets *out, else 0. */
int http_request_content_length(struct http_request *req, uint64_t *out);
/* Buffered body of a route without `body` (valid in end()). */
const char *http_request_body(struct http_request *req, size_t *n);

/* --- responses (set exactly one; the first one wins) -------------------- */
/* JSON body; steals `body`. */
void http_respond_json(struct http_request *req, int status, json_t *body);
/* {"error","code",...} from err; clears nothing (caller still owns err). */
void http_respond_error(struct http_request *req, const struct lh_error *err);
/* Shorthand: build an error and respond. */
void http_respond_fail(struct http_request *req, int status, const char *code,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A copy of `data`. */
void http_respond_bytes(struct http_request *req, int status, const char *content_type,
			const void *data, size_t n);
void http_respond_empty(struct http_request *req, int status);
/* `len` bytes of `fd` from `offset`; takes ownership of fd. */
void http_respond_fd(struct http_request *req, int status, const char *content_type,
		     int fd, uint64_t offset, uint64_t len);
/* A body produced on demand: `read` fills up to `max` bytes and returns the
 * count, 0 at the end, -1 on error (the connection is then cut). `size` is the
 * total length or HTTP_SIZE_UNKNOWN (chunked). `free_ctx` runs once, last. */
#define HTTP_SIZE_UNKNOWN UINT64_MAX
typedef ssize_t (*http_read_fn)(void *ctx, uint64_t pos, char *buf, size_t max);
void http_respond_stream(struct http_request *req, int status, const char *content_type,
			 uint64_t size, http_read_fn read, void *ctx,
			 void (*free_ctx)(void *ctx));
/* Add a header to the response about to be (or just) set. */
void http_response_header(struct http_request *req, const char *name, const char *value);
/* Whether a response has been set. */
int http_request_responded(struct http_request *req);
/* Log-only detail for this request's log line (an lh_error's detail, ADR
 * 0130) when the handler answers with a page of its own instead of
 * http_respond_error; copied; the first one set stays. NULL or "" is a no-op. */
void http_request_log_detail(struct http_request *req, const char *detail);
/* The name and role (enum lh_role, tokens.h) of the token that made the
 * request (auth.c, ADR 0210): the request log shows the name; "" and 0
 * when auth is off or the token was not known. */
void http_request_set_who(struct http_request *req, const char *who, int role);
const char *http_request_who(struct http_request *req);
int http_request_role(struct http_request *req);
/* For an authorize hook only: from now on http_request_header(req,
 * "Authorization") answers `value` (copied; NULL = the real header again):
 * a signed-in browser's session stands for its token (ADR 0212). */
void http_request_set_authorization(struct http_request *req, const char *value);

#endif
