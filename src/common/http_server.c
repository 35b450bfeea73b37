/* http_server.c — the HTTP/1.1 server layer on libmicrohttpd (see http_server.h).
 *
 * This is the only file that includes <microhttpd.h>.
 *
 * DESIGN NOTES
 *  1. One MHD daemon per service, thread per connection (ADR 0003): a handler
 *     may block on disk, an upstream or DuckDB without stalling others.
 *  2. MHD calls access_handler() several times per request: once when the
 *     headers are in (we create struct http_request, route, run begin()),
 *     once per body chunk, and once when the body is complete (end()). It
 *     only accepts a response on the first call or the last one, so a handler
 *     that fails mid-body has its response held in req->resp and the rest of
 *     the body is discarded (capped by LH_HTTP_DISCARD_MAX, then the
 *     connection is cut).
 *  3. request_completed() runs exactly once for every request the access
 *     handler has seen, whether it finished or the client went away: it runs
 *     the route's done(), records metrics, writes the log line and frees req.
 *  4. In-flight requests are counted from the first access_handler() call to
 *     request_completed(). http_server_stop() quiesces the listening socket,
 *     answers 503 to new requests on kept-alive connections, waits for the
 *     count to reach zero (bounded), then stops the daemon.
 *  5. Paths are percent-decoded by our own unescaper so that %00 can never
 *     truncate a string: it decodes to 0x7f, a control character that every
 *     validator rejects.
 *  6. Slow clients (slowloris): libmicrohttpd's connection timeout counts
 *     inactivity, so a client sending a header byte a second would hold its
 *     connection (and thread) for ever. Every connection is therefore watched
 *     (struct conn_watch, from MHD's NOTIFY_CONNECTION STARTED to CLOSED):
 *     while no request is in progress — before the headers are complete, or
 *     between keep-alive requests — it has the connection timeout in total
 *     to deliver the next request's headers. A reaper thread shuts down the
 *     socket of one that does not; its own thread then sees EOF and MHD
 *     closes it. The reaper calls shutdown() only under watch_mu, and the
 *     CLOSED notification (which MHD sends before it closes the fd) removes
 *     the watch under the same lock, so the fd is never a reused one.
 *     Bodies and responses are bounded by the inactivity timeout only.
 *  7. Request policy (http_policy.h, ADR 0110) runs in request_begin() on
 *     every header libmicrohttpd parsed, duplicates included (it iterates
 *     them one by one; MHD_lookup_connection_value would see only the
 *     first). libmicrohttpd 0.9.75/0.9.76 frames a body by the first
 *     Transfer-Encoding if any, else the first Content-Length, and accepts
 *     a request without Host; so a conflict is refused here, in the first
 *     access_handler() call, before any body byte is read or a handler runs.
 *     Framing and Host refusals carry "Connection: close": with the body's
 *     extent unknown, nothing after it on the connection can be trusted.
 *     Order: framing, Host, (/health, /ready), cross-site, (authorize, /metrics,
 *     routing), then the JSON media type of `json_body` routes.
 *  8. We create, bind and listen on the socket ourselves (listen_socket) and
 *     hand it to libmicrohttpd (MHD_OPTION_LISTEN_SOCKET), so a failed bind
 *     says why with its errno and names the port (MHD's own message says
 *     "port 0" when given an address). SO_REUSEADDR only, never
 *     SO_REUSEPORT: a restart may bind over connections in TIME_WAIT, but a
 *     second server can never share a live port and take half its requests
 *     (ADR 0120). From MHD_start_daemon() on, the socket is MHD's: it closes
 *     it on its failure paths and at MHD_stop_daemon/quiesce.
 *  9. Request lines (note 3) leave out probes: GET /health and GET /ready,
 *     from the gateway's pools or from a load balancer, header or not (ADR
 *     0207, amending ADR 0121); they are counted in /metrics (route
 *     "health" / "ready"), also when answered 503 while stopping. A /health
 *     whose check fails (5xx: never in normal running) is still logged; a
 *     not-ready /ready is not (it repeats every
 *     second while a dependency is down: ready.c logs the change of state
 *     once instead). So are a peer's polls carrying that header of a route whose handler
 *     calls http_request_quiet_poll() (queryd's index builder asks catalogd
 *     for work each second). For
 *     human log lines the request also keeps its query string and the error
 *     message its client got.
 */
#include "common/http_server.h"

#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/http_policy.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/random.h"
#include "common/ready.h"
#include "common/tokens.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Body bytes we are willing to read and drop after answering early. */
#define LH_HTTP_DISCARD_MAX (64u << 20)

/* Note 6: one per open connection. */
struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	int in_request;                 /* headers in, response not yet done */
	int cut;                        /* shutdown() already sent */
	struct timespec since;          /* connection start or last request end */
};

struct http_server {
	struct MHD_Daemon *daemon;
	char *service;
	const struct http_route *routes;
	size_t nroutes;
	void *ctx;
	int (*health)(void *ctx, json_t *body);
	struct ready *ready;            /* GET /ready, ADR 0200; not owned */
	int (*authorize)(void *actx, struct http_request *req);
	void *authorize_ctx;
	void (*authorize_free)(void *actx);
	char *allowed_hosts;            /* [http] allowed_hosts, note 7 */
	struct metrics *metrics;
	uint16_t port;
	char url[64];
	atomic_int in_flight;
	atomic_int stopping;

	/* note 6 */
	unsigned header_timeout_s;
	pthread_mutex_t watch_mu;
	pthread_cond_t watch_cv;
	struct conn_watch *watches;     /* doubly linked, under watch_mu */
	int reaper_stop;                /* under watch_mu */
	int reaper_started;
	pthread_t reaper;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const struct http_route *route;
	const char *route_name;         /* for metrics/logs */
	char method[16];
	char *path;                     /* owned copy of the decoded path */
	const char *path_rest;
	char request_id[LH_REQUEST_ID_MAX + 1];
	char who[LH_TOKEN_NAME_MAX + 1]; /* the token's name (auth.c), "" = none */
	int role;                        /* its enum lh_role, LH_ROLE_NONE = none */
	char *authorization;             /* set by an authorize hook: overrides the
					  * Authorization header (a signed-in
					  * browser's session, ADR 0212) */
	void *state;
	struct timespec start;
	struct http_policy_headers hdrs;  /* note 7; values live in MHD's pool */

	int body_streaming;             /* route->body set */
	struct lh_buf body;             /* buffered body (routes without body()) */
	uint64_t bytes_in, discarded;

	struct MHD_Response *resp;      /* pending response, owned until queued */
	int status;
	uint64_t bytes_out;
	int queued;
	int ended;
	char *error_detail;             /* for the log line of a 5xx */
	char *detail;                   /* lh_error's log-only detail, any status */
	char *message;                  /* the error the client got (>= 400), note 9 */
	int log_skip;                   /* a peer's health check or poll, note 9 */
	char query[LH_LOG_HUMAN_QUERY_MAX + 2]; /* decoded, cut; human lines only */
	char *err_head;                 /* first bytes of a streamed error body, note 9 */
	size_t err_head_n;
};

/* --- helpers ------------------------------------------------------------ */

static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* --- slow clients (note 6) ------------------------------------------------- */

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
			      enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	struct conn_watch *w = *socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		w = xcalloc(1, sizeof *w);
		w->fd = ci ? ci->connect_fd : -1;
		clock_gettime(CLOCK_MONOTONIC, &w->since);
		pthread_mutex_lock(&srv->watch_mu);
		w->next = srv->watches;
		if (srv->watches)
			srv->watches->prev = w;
		srv->watches = w;
		pthread_mutex_unlock(&srv->watch_mu);
		*socket_ctx = w;
		return;
	}
	if (!w)
		return;
	pthread_mutex_lock(&srv->watch_mu);
	if (w->prev)
		w->prev->next = w->next;
	else
		srv->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&srv->watch_mu);
	*socket_ctx = NULL;
	free(w);
}

/* A request starts (1) or ends (0) on this connection. */
static void watch_mark(struct http_server *srv, struct MHD_Connection *conn, int in_request)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_watch *w = ci ? ci->socket_context : NULL;
	if (!w)
		return;
	pthread_mutex_lock(&srv->watch_mu);
	w->in_request = in_request;
	if (!in_request)
		clock_gettime(CLOCK_MONOTONIC, &w->since);
	pthread_mutex_unlock(&srv->watch_mu);
}

static void *reaper_main(void *arg)
{
	struct http_server *srv = arg;
	pthread_mutex_lock(&srv->watch_mu);
	while (!srv->reaper_stop) {
		struct timespec now, wake;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (struct conn_watch *w = srv->watches; w; w = w->next) {
			if (w->in_request || w->cut || w->fd < 0)
				continue;
			if (now.tv_sec - w->since.tv_sec >= (time_t)srv->header_timeout_s) {
				shutdown(w->fd, SHUT_RDWR);
				w->cut = 1;
			}
		}
		wake = now;
		clock_timespec_add_ms(&wake, LH_HTTP_REAPER_INTERVAL_MS);
		pthread_cond_timedwait(&srv->watch_cv, &srv->watch_mu, &wake);
	}
	pthread_mutex_unlock(&srv->watch_mu);
	return NULL;
}

/* MHD unescape callback: %XX decoding in place; %00 becomes 0x7f (note 5). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *out = s;
	for (char *in = s; *in; in++) {
		int hi, lo;
		if (in[0] == '%' && (hi = url_hexval(in[1])) >= 0 && (lo = url_hexval(in[2])) >= 0) {
			int v = hi * 16 + lo;
			*out++ = (char)(v == 0 ? 0x7f : v);
			in += 2;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

static int request_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > LH_REQUEST_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

static void request_id_generate(char out[LH_REQUEST_ID_MAX + 1])
{
	random_name(out, 16);   /* 32 hex digits */
}

/* --- responses ------------------------------------------------------------ */

static void set_response(struct http_request *req, int status, struct MHD_Response *resp,
			 uint64_t nbytes)
{
	if (req->resp || req->queued) {
		MHD_destroy_response(resp);
		return;
	}
	req->resp = resp;
	req->status = status;
	req->bytes_out = nbytes;
}

int http_request_responded(struct http_request *req)
{
	return req->resp != NULL || req->queued;
}

void http_request_set_who(struct http_request *req, const char *who, int role)
{
	snprintf(req->who, sizeof req->who, "%s", who ? who : "");
	req->role = role;
}

const char *http_request_who(struct http_request *req)
{
	return req->who;
}

int http_request_role(struct http_request *req)
{
	return req->role;
}

void http_request_set_authorization(struct http_request *req, const char *value)
{
	free(req->authorization);
	req->authorization = value ? xstrdup(value) : NULL;
}

void http_request_log_detail(struct http_request *req, const char *detail)
{
	if (detail && detail[0] && !req->detail)
		req->detail = xstrdup(detail);
}

void http_respond_bytes(struct http_request *req, int status, const char *content_type,
			const void *data, size_t n)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)data,
								 MHD_RESPMEM_MUST_COPY);
	if (content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	set_response(req, status, r, n);
}

void http_respond_json(struct http_request *req, int status, json_t *body)
{
	char *text = json_dump_compact(body);
	json_decref(body);
	size_t n = strlen(text);
	/* MUST_FREE hands the buffer to MHD, which frees it with free(). */
	struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	set_response(req, status, r, n);
}

void http_respond_error(struct http_request *req, const struct lh_error *err)
{
	int status = err->status ? err->status : 500;
	if (status >= 500 && !req->error_detail)
		req->error_detail = xstrdup(err->msg);
	if (status >= 400 && !req->message)
		req->message = xstrdup(err->msg);
	http_request_log_detail(req, err->detail);   /* ADR 0130: the log's, not the client's */
	http_respond_json(req, status, lh_error_json(err));
	if (status == 503)   /* retryable by definition (ADR 0202) */
		http_response_header(req, "Retry-After", LH_HTTP_RETRY_AFTER_S);
}

void http_respond_fail(struct http_request *req, int status, const char *code,
		       const char *fmt, ...)
{
	struct lh_error err = { 0 };
	char msg[sizeof err.msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lh_fail(&err, status, code, "%s", msg);
	http_respond_error(req, &err);
	lh_error_clear(&err);
}

void http_respond_empty(struct http_request *req, int status)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	set_response(req, status, r, 0);
}

void http_respond_fd(struct http_request *req, int status, const char *content_type,
		     int fd, uint64_t offset, uint64_t len)
{
	/* MHD takes the fd and closes it when the response is destroyed. */
	struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, offset);
	if (!r) {
		close(fd);
		http_respond_fail(req, 500, "internal", "could not create the response");
		return;
	}
	if (content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	set_response(req, status, r, len);
}

struct stream_ctx {
	http_read_fn read;
	void *ctx;
	void (*free_ctx)(void *ctx);
	uint64_t *bytes_out;   /* req->bytes_out; only touched while req lives */
	char *head;            /* req->err_head or NULL (note 9); same lifetime */
	size_t *head_n;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_ctx *s = cls;
	ssize_t n = s->read(s->ctx, pos, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	*s->bytes_out += (uint64_t)n;
	if (s->head && *s->head_n < LH_LOG_ERROR_HEAD_MAX) {
		size_t take = LH_LOG_ERROR_HEAD_MAX - *s->head_n;
		if (take > (size_t)n)
			take = (size_t)n;
		memcpy(s->head + *s->head_n, buf, take);
		*s->head_n += take;
	}
	return n;
}

static void stream_free(void *cls)
{
	struct stream_ctx *s = cls;
	if (s->free_ctx)
		s->free_ctx(s->ctx);
	free(s);
}

void http_respond_stream(struct http_request *req, int status, const char *content_type,
			 uint64_t size, http_read_fn read, void *ctx,
			 void (*free_ctx)(void *ctx))
{
	struct stream_ctx *s = xmalloc(sizeof *s);
	s->read = read;
	s->ctx = ctx;
	s->free_ctx = free_ctx;
	s->bytes_out = &req->bytes_out;
	s->head = NULL;
	s->head_n = NULL;
	if (status >= 400 && !req->err_head && !http_request_responded(req) && log_is_human()) {
		/* a proxied error: its JSON "error" is the message of the log line */
		req->err_head = xmalloc(LH_LOG_ERROR_HEAD_MAX);
		s->head = req->err_head;
		s->head_n = &req->err_head_n;
	}
	struct MHD_Response *r = MHD_create_response_from_callback(
		size == HTTP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN : size, LH_STREAM_CHUNK,
		stream_read, s, stream_free);
	if (content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	set_response(req, status, r, 0);
}

void http_response_header(struct http_request *req, const char *name, const char *value)
{
	if (req->resp)
		MHD_add_response_header(req->resp, name, value);
}

/* --- request accessors ---------------------------------------------------- */

void *http_request_ctx(struct http_request *req) { return req->srv->ctx; }
void *http_request_state(struct http_request *req) { return req->state; }
void http_request_set_state(struct http_request *req, void *state) { req->state = state; }
const char *http_request_method(struct http_request *req) { return req->method; }
const char *http_request_path(struct http_request *req) { return req->path; }
const char *http_request_path_rest(struct http_request *req) { return req->path_rest; }

void http_request_quiet_poll(struct http_request *req)
{
	if (http_request_header(req, HTTP_HEALTH_CHECK_HEADER))
		req->log_skip = 1;
}
const char *http_request_id(struct http_request *req) { return req->request_id; }

int http_request_client_fd(struct http_request *req)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? (int)ci->connect_fd : -1;
}

const char *http_request_header(struct http_request *req, const char *name)
{
	if (req->authorization && !strcasecmp(name, "Authorization"))
		return req->authorization;
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_request_query(struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct query_visit {
	int (*fn)(void *ctx, const char *key, const char *value);
	void *ctx;
	int stopped;
};

static enum MHD_Result query_visit_one(void *cls, enum MHD_ValueKind kind,
				       const char *key, const char *value)
{
	struct query_visit *v = cls;
	if (v->fn(v->ctx, key, value) != 0) {
		v->stopped = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

int http_request_query_each(struct http_request *req,
			    int (*fn)(void *ctx, const char *key, const char *value),
			    void *ctx)
{
	struct query_visit v = { fn, ctx, 0 };
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, query_visit_one, &v);
	return v.stopped ? -1 : 0;
}

int http_request_content_length(struct http_request *req, uint64_t *out)
{
	const char *v = http_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || *end || v[0] == '-')
		return 0;
	*out = n;
	return 1;
}

const char *http_request_body(struct http_request *req, size_t *n)
{
	*n = req->body.len;
	return req->body.data ? req->body.data : "";
}

/* --- routing -------------------------------------------------------------- */

static int path_matches(const char *pattern, const char *path, const char **rest)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*') {
		if (strncmp(pattern, path, n - 1) != 0)
			return 0;
		*rest = path + n - 1;
		return 1;
	}
	*rest = path + strlen(path);
	return strcmp(pattern, path) == 0;
}

/* Find the route for (method, path). On a path match with the wrong method,
 * returns NULL and fills `allow` with the methods that would match. */
static const struct http_route *route_find(struct http_server *srv, const char *method,
					   const char *path, const char **rest,
					   char *allow, size_t allow_cap)
{
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	allow[0] = '\0';
	for (size_t i = 0; i < srv->nroutes; i++) {
		const struct http_route *r = &srv->routes[i];
		const char *tail;
		if (!path_matches(r->path, path, &tail))
			continue;
		if (strcmp(r->method, m) == 0) {
			*rest = tail;
			return r;
		}
		size_t used = strlen(allow);
		snprintf(allow + used, allow_cap - used, "%s%s%s", used ? ", " : "", r->method,
			 strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
	}
	return NULL;
}

static void respond_health(struct http_request *req)
{
	struct http_server *srv = req->srv;
	json_t *body = json_object();
	json_object_set_new(body, "status", json_string("ok"));
	json_object_set_new(body, "service", json_string(srv->service));
	int status = 200;
	if (srv->health)
		status = srv->health(srv->ctx, body);
	if (status != 200)
		json_object_set_new(body, "status", json_string("degraded"));
	http_respond_json(req, status, body);
}

/* GET /ready (ADR 0200): "ready" or "not_ready" with each dependency. */
static void respond_ready(struct http_request *req)
{
	struct http_server *srv = req->srv;
	json_t *body = json_object();
	int status = srv->ready ? ready_answer(srv->ready, body) : 200;
	json_object_set_new(body, "status", json_string(status == 200 ? "ready" : "not_ready"));
	json_object_set_new(body, "service", json_string(srv->service));
	http_respond_json(req, status, body);
}

static enum MHD_Result policy_visit_one(void *cls, enum MHD_ValueKind kind,
					const char *key, const char *value)
{
	http_policy_headers_add(cls, key, value);
	return MHD_YES;
}

/* Answer a policy refusal (note 7); `close` ends the connection after it. */
static void respond_refusal(struct http_request *req, struct lh_error *err, int close)
{
	req->route_name = "refused";
	http_respond_error(req, err);
	if (close)
		http_response_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
	lh_error_clear(err);
}

static void respond_metrics(struct http_request *req)
{
	char *text = metrics_render(req->srv->metrics, atomic_load(&req->srv->in_flight));
	if (req->srv->ready) {   /* the dependencies' gauges, ADR 0200 */
		char *more = ready_metrics(req->srv->ready);
		char *all = xasprintf("%s%s", text, more);
		free(text);
		free(more);
		text = all;
	}
	http_respond_bytes(req, 200, "text/plain; version=0.0.4", text, strlen(text));
	free(text);
}

/* Note 9: the query string as "k=v&flag", decoded, cut at the buffer. */
static enum MHD_Result query_keep_one(void *cls, enum MHD_ValueKind kind,
				      const char *key, const char *value)
{
	struct http_request *req = cls;
	size_t n = strlen(req->query), cap = sizeof req->query;
	if (n + 1 >= cap)
		return MHD_NO;
	snprintf(req->query + n, cap - n, "%s%s%s%s", n ? "&" : "", key ? key : "",
		 value ? "=" : "", value ? value : "");
	return MHD_YES;
}

/* First call for a request: build it, route it, run begin(). */
static struct http_request *request_begin(struct http_server *srv, struct MHD_Connection *conn,
					  const char *url, const char *method, const char *version)
{
	struct lh_error perr = { 0 };
	struct http_request *req = xcalloc(1, sizeof *req);
	req->srv = srv;
	req->conn = conn;
	req->route_name = "unmatched";
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	snprintf(req->method, sizeof req->method, "%s", method);
	req->path = xstrdup(url);
	req->path_rest = req->path + strlen(req->path);
	atomic_fetch_add(&srv->in_flight, 1);

	const char *rid = http_request_header(req, "X-Request-Id");
	if (rid && request_id_valid(rid))
		snprintf(req->request_id, sizeof req->request_id, "%s", rid);
	else
		request_id_generate(req->request_id);

	if (log_is_human())
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_keep_one, req);

	int is_get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	if (atomic_load(&srv->stopping)) {
		/* a probe while stopping: not a line either (note 9) */
		if (is_get && (!strcmp(req->path, "/health") || !strcmp(req->path, "/ready"))) {
			req->route_name = req->path[1] == 'h' ? "health" : "ready";
			req->log_skip = 1;
		}
		http_respond_fail(req, 503, "shutting_down", "the service is shutting down");
		return req;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, policy_visit_one, &req->hdrs);
	if (http_policy_framing(&req->hdrs, version, &perr) != 0 ||
	    http_policy_host(&req->hdrs, version, srv->allowed_hosts, &perr) != 0) {
		respond_refusal(req, &perr, 1);
		return req;
	}
	if (strlen(req->path) > LH_HTTP_MAX_PATH) {
		http_respond_fail(req, 414, "uri_too_long", "the URL path is longer than %d bytes",
				  LH_HTTP_MAX_PATH);
		return req;
	}
	if (is_get && !strcmp(req->path, "/health")) {
		req->route_name = "health";
		req->log_skip = 1;   /* note 9 */
		respond_health(req);
		if (req->status >= 500)
			req->log_skip = 0;   /* a failed liveness check is worth a line */
		return req;
	}
	if (is_get && !strcmp(req->path, "/ready")) {   /* probes: never logged */
		req->route_name = "ready";
		req->log_skip = 1;
		respond_ready(req);
		return req;
	}
	if (http_policy_cross_site(&req->hdrs, method, &perr) != 0) {
		respond_refusal(req, &perr, 0);
		return req;
	}
	if (srv->authorize && srv->authorize(srv->authorize_ctx, req) != 0) {
		if (!http_request_responded(req))
			http_respond_fail(req, 401, "unauthorized", "a valid bearer token is required");
		return req;
	}
	if (is_get && !strcmp(req->path, "/metrics")) {
		req->route_name = "metrics";
		respond_metrics(req);
		return req;
	}

	char allow[128];
	const struct http_route *route = route_find(srv, method, req->path, &req->path_rest,
						    allow, sizeof allow);
	if (!route) {
		if (allow[0]) {
			req->route_name = "method_not_allowed";
			http_respond_fail(req, 405, "method_not_allowed",
					  "%s is not allowed here; use %s", method, allow);
			http_response_header(req, "Allow", allow);
		} else {
			http_respond_fail(req, 404, "not_found", "no such endpoint: %s", req->path);
		}
		return req;
	}
	req->route = route;
	req->route_name = route->name;
	req->body_streaming = route->body != NULL;
	lh_buf_init(&req->body, route->max_body ? route->max_body : LH_HTTP_MAX_JSON_BODY);
	if (route->json_body && http_policy_json_type(&req->hdrs, &perr) != 0) {
		http_respond_error(req, &perr);
		lh_error_clear(&perr);
		return req;
	}

	uint64_t declared;
	if (!req->body_streaming && http_request_content_length(req, &declared) &&
	    declared > req->body.max) {
		http_respond_fail(req, 413, "too_large", "request body exceeds %zu bytes",
				  req->body.max);
		return req;
	}
	if (route->begin && route->begin(req) != 0 && !http_request_responded(req))
		http_respond_fail(req, 500, "internal", "the request could not be started");
	return req;
}

/* A body chunk: stream it, buffer it, or drop it after an early answer. */
static int request_body(struct http_request *req, const char *data, size_t n)
{
	req->bytes_in += n;
	if (http_request_responded(req)) {
		req->discarded += n;
		return req->discarded > LH_HTTP_DISCARD_MAX ? -1 : 0;
	}
	if (req->body_streaming) {
		if (req->route->body(req, data, n) != 0 && !http_request_responded(req))
			http_respond_fail(req, 500, "internal", "the request body could not be handled");
		return 0;
	}
	if (lh_buf_append(&req->body, data, n) != 0)
		http_respond_fail(req, 413, "too_large", "request body exceeds %zu bytes",
				  req->body.max);
	return 0;
}

static enum MHD_Result queue(struct http_request *req)
{
	if (!req->resp)
		http_respond_fail(req, 500, "internal", "the handler gave no response");
	MHD_add_response_header(req->resp, "X-Request-Id", req->request_id);
	if (atomic_load(&req->srv->stopping))
		MHD_add_response_header(req->resp, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status, req->resp);
	MHD_destroy_response(req->resp);   /* MHD holds its own reference now */
	req->resp = NULL;
	req->queued = 1;
	return rc;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	if (!req) {
		watch_mark(srv, conn, 1);
		req = request_begin(srv, conn, url, method, version);
		*con_cls = req;
		/* Only the first call or the last may queue (note 2). An early
		 * answer goes out now; MHD drops the body and closes. */
		if (req->resp)
			return queue(req);
		return MHD_YES;
	}
	if (req->queued)
		return MHD_YES;
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		return request_body(req, upload_data, n) == 0 ? MHD_YES : MHD_NO;
	}
	if (!req->resp && !req->ended) {
		req->ended = 1;
		if (req->route->end(req) != 0 && !http_request_responded(req))
			http_respond_fail(req, 500, "internal", "the request failed");
	}
	return queue(req);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	if (!req)
		return;
	*con_cls = NULL;
	watch_mark(srv, conn, 0);
	int ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	if (req->route && req->route->done)
		req->route->done(req, ok);
	if (req->resp)              /* never queued: client went away first */
		MHD_destroy_response(req->resp);

	double ms = elapsed_ms(&req->start);
	int status = req->queued ? req->status : 499;   /* 499: client closed */
	metrics_observe(srv->metrics, req->route_name, status, ms / 1e3);
	struct log_request line = {
		.service = srv->service, .request_id = req->request_id,
		.method = req->method, .path = req->path,
		.query = req->query[0] ? req->query : NULL, .status = status,
		.bytes_in = req->bytes_in, .bytes_out = req->bytes_out,
		.duration_ms = ms, .error = req->error_detail, .message = req->message,
		.detail = req->detail, .who = req->who[0] ? req->who : NULL,
	};
	if (!ok && req->queued)
		line.error = "connection ended before the response was complete";
	if (status == 499)
		line.message = "the client went away before the answer";
	json_t *head = NULL;
	if (!line.message && req->err_head_n) {
		head = json_loadb(req->err_head, req->err_head_n, 0, NULL);
		line.message = json_string_value(json_object_get(head, "error"));
	}
	if (!req->log_skip)
		log_request(&line);
	json_decref(head);

	free(req->err_head);
	free(req->authorization);
	free(req->message);
	free(req->error_detail);
	free(req->detail);
	lh_buf_free(&req->body);
	free(req->path);
	free(req);
	atomic_fetch_sub(&srv->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_event("warn", srv->service, "libmicrohttpd: %s", msg);
}

/* --- lifecycle ------------------------------------------------------------ */

/* Parse "HOST:PORT" or "[V6]:PORT" into a socket address. */
static int parse_bind(const char *bind, struct sockaddr_storage *ss, socklen_t *len,
		      struct lh_error *err)
{
	char host[256];
	const char *colon = strrchr(bind, ':');
	if (!colon || colon == bind || (size_t)(colon - bind) >= sizeof host)
		return lh_fail(err, 400, "bad_config", "bind address \"%s\" is not HOST:PORT", bind);
	const char *h = bind;
	size_t hl = (size_t)(colon - bind);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int g = getaddrinfo(host, colon + 1, &hints, &res);
	if (g != 0 || !res)
		return lh_fail(err, 400, "bad_config", "cannot resolve bind address \"%s\": %s",
			       bind, gai_strerror(g));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Note 8: why a bind failed, in words, naming the address and its port. */
static int bind_fail(struct lh_error *err, const char *service, const char *where,
		     unsigned port, int e)
{
	const char *why;
	switch (e) {
	case EADDRINUSE:
		return lh_fail(err, 500, "bind_failed", "%s could not listen on %s: port %u is "
			       "already in use (by another lakehouse or another program)",
			       service, where, port);
	case EACCES:
		why = port < 1024 ? "ports below 1024 need privileges" : "permission denied";
		break;
	case EADDRNOTAVAIL:
		why = "that address is not one of this machine's";
		break;
	default:
		why = strerror(e);
		break;
	}
	return lh_fail(err, 500, "bind_failed", "%s could not listen on %s (port %u): %s",
		       service, where, port, why);
}

/* Note 8: a listening socket on addr, or -1 with err. */
static int listen_socket(const struct sockaddr_storage *addr, socklen_t len,
			 const char *service, const char *where, struct lh_error *err)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;
	unsigned port = ntohs(addr->ss_family == AF_INET6 ? a6->sin6_port : a4->sin_port);
	int on = 1;
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		bind_fail(err, service, where, port, errno);
		return -1;
	}
	/* TIME_WAIT only; never SO_REUSEPORT (note 8). Best effort. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (addr->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, (const struct sockaddr *)addr, len) != 0 ||
	    listen(fd, LH_HTTP_LISTEN_BACKLOG) != 0) {
		int e = errno;
		close(fd);
		bind_fail(err, service, where, port, e);
		return -1;
	}
	return fd;
}

struct http_server *http_server_start(const struct http_server_config *cfg,
				      struct lh_error *err)
{
	struct sockaddr_storage addr;
	socklen_t addrlen = 0;
	char why[200];
	const char *hosts = cfg->allowed_hosts ? cfg->allowed_hosts : "";
	if (http_policy_host_list_check(hosts, strlen(hosts), why, sizeof why) != 0) {
		lh_fail(err, 400, "bad_config", "[http] allowed_hosts: %s", why);
		if (cfg->authorize_free)
			cfg->authorize_free(cfg->authorize_ctx);
		return NULL;
	}
	int lfd = -1;
	if (parse_bind(cfg->bind, &addr, &addrlen, err) != 0 ||
	    (lfd = listen_socket(&addr, addrlen, cfg->service, cfg->bind, err)) < 0) {
		if (cfg->authorize_free)
			cfg->authorize_free(cfg->authorize_ctx);
		return NULL;
	}

	struct sockaddr_storage bound;
	socklen_t boundlen = sizeof bound;
	uint16_t bound_port = 0;   /* the one the kernel chose for port 0 */
	if (getsockname(lfd, (struct sockaddr *)&bound, &boundlen) == 0)
		bound_port = ntohs(bound.ss_family == AF_INET6
					   ? ((struct sockaddr_in6 *)&bound)->sin6_port
					   : ((struct sockaddr_in *)&bound)->sin_port);

	struct http_server *srv = xcalloc(1, sizeof *srv);
	srv->service = xstrdup(cfg->service);
	srv->routes = cfg->routes;
	srv->nroutes = cfg->nroutes;
	srv->ctx = cfg->ctx;
	srv->health = cfg->health;
	srv->ready = cfg->ready;
	srv->authorize = cfg->authorize;
	srv->authorize_ctx = cfg->authorize_ctx;
	srv->authorize_free = cfg->authorize_free;
	srv->allowed_hosts = xstrdup(hosts);
	srv->metrics = metrics_create(cfg->service);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&srv->watch_mu, NULL);
	pthread_cond_init(&srv->watch_cv, &ca);
	pthread_condattr_destroy(&ca);

	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	unsigned timeout = cfg->connection_timeout_s ? cfg->connection_timeout_s
						      : LH_HTTP_CONNECTION_TIMEOUT_S;
	unsigned maxconn = cfg->max_connections ? cfg->max_connections : LH_HTTP_MAX_CONNECTIONS;
	srv->header_timeout_s = timeout;
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, access_handler, srv,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)lfd,
		MHD_OPTION_CONNECTION_TIMEOUT, timeout,
		MHD_OPTION_CONNECTION_LIMIT, maxconn,
		MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv,
		MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LH_HTTP_CONNECTION_MEMORY,
		MHD_OPTION_END);
	if (!srv->daemon) {   /* MHD has closed lfd (note 8) */
		lh_fail(err, 500, "internal", "%s could not start its HTTP server on %s",
			cfg->service, cfg->bind);
		if (srv->authorize_free)
			srv->authorize_free(srv->authorize_ctx);
		pthread_mutex_destroy(&srv->watch_mu);
		pthread_cond_destroy(&srv->watch_cv);
		metrics_destroy(srv->metrics);
		free(srv->allowed_hosts);
		free(srv->service);
		free(srv);
		return NULL;
	}
	/* Without the reaper slow clients are only cut when idle: worse, but
	 * the server still works, so a failure here is not fatal. */
	srv->reaper_started = pthread_create(&srv->reaper, NULL, reaper_main, srv) == 0;
	if (!srv->reaper_started)
		log_event("warn", cfg->service, "cannot start the slow-client reaper thread");
	srv->port = bound_port;
	char host[INET6_ADDRSTRLEN] = "127.0.0.1";
	if (addr.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&addr;
		if (a->sin_addr.s_addr != htonl(INADDR_ANY))
			inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		snprintf(srv->url, sizeof srv->url, "http://%s:%u", host, (unsigned)srv->port);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		snprintf(srv->url, sizeof srv->url, "http://[%s]:%u", host, (unsigned)srv->port);
	}
	return srv;
}

uint16_t http_server_port(const struct http_server *srv) { return srv->port; }
const char *http_server_url(const struct http_server *srv) { return srv->url; }

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stopping, 1);
	/* Stop accepting: MHD hands the listening socket back to us to close. */
	MHD_socket listener = MHD_quiesce_daemon(srv->daemon);
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	for (int waited = 0; waited < LH_HTTP_SHUTDOWN_GRACE_MS; waited += 10) {
		if (atomic_load(&srv->in_flight) == 0)
			break;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	if (srv->reaper_started) {
		pthread_mutex_lock(&srv->watch_mu);
		srv->reaper_stop = 1;
		pthread_cond_signal(&srv->watch_cv);
		pthread_mutex_unlock(&srv->watch_mu);
		pthread_join(srv->reaper, NULL);
	}
	pthread_mutex_destroy(&srv->watch_mu);
	pthread_cond_destroy(&srv->watch_cv);
	if (srv->authorize_free)
		srv->authorize_free(srv->authorize_ctx);
	metrics_destroy(srv->metrics);
	free(srv->allowed_hosts);
	free(srv->service);
	free(srv);
}
