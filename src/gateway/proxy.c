/* proxy.c — the gateway's streaming reverse proxy: one client request in, one
 * upstream request out, bodies streamed both ways through two bounded buffers
 * so the gateway's memory does not grow with the size of a body (a 1 GiB
 * upload holds at most 2 x LH_GATEWAY_PIPE_BYTES here).
 *
 * DESIGN NOTES
 *
 * Three parties share one struct proxy:
 *   C  the client connection's thread (libmicrohttpd, thread per connection):
 *      begin() -> body()* -> end() -> reader()* -> done();
 *   W  a worker thread started in begin(); it runs http_client_do() with
 *      up_source() as the request body, on_head() as the header hook and
 *      down_sink() as the response sink;
 *   S  the stream response handed to the server layer in end(); its reader
 *      runs on C's thread, its free_ctx (stream_release) whenever the server
 *      lets go of the response.
 *
 *  1. Ownership: struct proxy is reference-counted — one reference for C's
 *     request side (dropped in done()), one for W (dropped when
 *     http_client_do returns), one for S once it exists (dropped in
 *     stream_release). Whoever drops the last frees it (proxy_unref). W is
 *     detached and nobody joins it, so a slow or dead upstream never pins a
 *     client thread beyond the upstream timeout, and never blocks shutdown.
 *  2. One mutex and one condition variable guard every shared field below
 *     "shared"; every change broadcasts; every wait re-checks in a loop.
 *     Fields above "shared" are written in begin() before W starts and are
 *     read-only afterwards. The response head (status, content_length,
 *     resp_hdrs) is written by W alone before it sets head_done under the
 *     lock, and only read by C after it has seen head_done under the lock.
 *  3. Request body (C -> W): body() copies into `up`, waiting while it is full
 *     (backpressure reaches the client through its TCP window); up_source()
 *     waits while it is empty and !up_eof. end() sets up_eof. When W has
 *     finished, or the upstream has already answered >= 300 (curl stops
 *     sending then), body() drops the rest instead of waiting.
 *  4. Response head (W -> C): end() waits for head_done or w_done, whichever
 *     comes first. head_done -> a stream response with the upstream's status
 *     and headers; w_done without a head -> a JSON 502/504 built from W's
 *     error (the internals go to the log).
 *  5. Response body (W -> C): down_sink() copies into `down`, waiting while it
 *     is full; the reader waits while it is empty and !w_done. Empty and
 *     w_done: 0 (end) if the transfer succeeded, -1 (cut the connection) if
 *     it failed midway, so a truncated upstream answer never looks complete.
 *  6. Cancellation: done() and stream_release() set `aborted`; every wait of
 *     W ends on it and W's callbacks then return -1, so curl stops at once.
 *  7. Nobody holds the lock while calling into the server layer or curl, so
 *     there is no lock-order cycle.
 *  8. Choosing the instance (ADR 0075): begin() builds only the path and
 *     query; W hands it to upstream_pool_do(), which picks a healthy
 *     instance round-robin and, when the connection itself fails (nothing
 *     was sent, so the body ring is untouched and no callback has run),
 *     tries the next one. Any failure after a connection existed is final
 *     and answered as in note 4: a request is never replayed. W holds a
 *     reference on the pool, so a worker outliving gateway_stop is safe.
 *  9. Two variants for the web UI (ui.c), same parties and invariants:
 *     proxy_begin_request() makes a request of its own (method, path, a
 *     body in memory) instead of copying the client's; proxy_collect()
 *     replaces proxy_end() when the answer is small and the UI renders it
 *     (an upload's JSON result): C drains `down` itself into a capped buffer
 *     until W is done. proxy_wait_head() lets C see the status first and
 *     choose between the two (a download streams a 200, an error is read).
 * 10. A client that hangs up while C waits (for the head in end(), for body
 *     bytes in the reader) is noticed within a fifth of a second by polling
 *     its socket for POLLRDHUP (wait_or_client_gone): C sets `aborted`, and
 *     curl, which polls the cancel hook up_cancelled about once a second
 *     even while nothing moves, drops the upstream connection. So a query
 *     whose client went away is stopped by queryd (its note 6) instead of
 *     running to its time limit.
 * 11. A small answer is whole or an error. After the head, end() holds it
 *     until W is done, `down` is full or LH_GATEWAY_HOLD_MS have passed
 *     (hold_head). An upstream that dies within that time (a queryd killed
 *     while its answer streams) gives the client a clean JSON 502 instead of
 *     a 200 whose body is cut; once the head is sent, a failure can only cut
 *     the connection (note 5). Small answers, most of them, end well within
 *     the hold, so it costs them nothing; a long stream starts at most
 *     LH_GATEWAY_HOLD_MS later.
 * Limitation: an upstream that answers 2xx with more than
 * LH_GATEWAY_PIPE_BYTES of body before it has read the whole request body
 * stalls until the upstream timeout (no service of ours does that).
 */
#include "gateway/gateway_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/upstream.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PROXY_MAX_QUERY_ARGS 256

struct proxy;
static void proxy_start(struct http_request *req, struct proxy *p);

/* Request headers passed to the upstream. Authorization is forwarded so that
 * services deployed apart can check the same bearer token (ADR 0060). */
static const char *const fwd_request_headers[] = {
	"Content-Type", "Accept", "Range", "If-None-Match", "If-Match",
	"If-Modified-Since", "Authorization",
	"Content-Disposition",   /* a document's file name (ingestd, ADR 0225) */
	NULL,
};

/* Response headers passed back to the client. Content-Length is carried as
 * the stream's size; X-Request-Id is added by the server layer. */
static const char *const fwd_response_headers[] = {
	"Content-Type", "ETag", "Content-Range", "Accept-Ranges", "Allow",
	"Last-Modified", "Location", "Cache-Control", "Content-Disposition",
	"Retry-After", "WWW-Authenticate",
	"X-Content-Type-Options", "Content-Security-Policy",  /* originals (ADR 0227) */
	"X-Lakehouse-Catalog-Age",   /* queryd answered from a known catalog state (ADR 0205) */
	NULL,
};

/* A bounded FIFO of bytes: data is buf[head .. head+len) modulo cap. */
struct ring {
	char *buf;
	size_t cap, head, len;
};

struct proxy {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;                       /* note 1 */

	/* set in begin(), read-only afterwards */
	struct upstream_pool *pool;     /* a reference of W's (note 8) */
	char *path;                     /* prefix + encoded rest + query */
	char method[16];
	char service[16];
	char request_id[LH_REQUEST_ID_MAX + 1];
	char *hdrs[LH_GATEWAY_MAX_FWD_HEADERS + 3];  /* "Name: value", NULL-terminated */
	int has_body;                   /* stream `up` to the upstream */
	int empty_body;                 /* send Content-Length: 0 */
	char *mem_body;                 /* proxy_begin_request: the body, owned */
	size_t mem_body_len;
	uint64_t body_len;              /* declared length, 0 = unknown (chunked) */
	unsigned timeout_ms;

	/* shared (note 2) */
	struct ring up, down;
	int up_eof;                     /* end() ran: the request body is complete */
	int head_done;                  /* status and headers are known */
	int w_done;                     /* http_client_do returned */
	int w_rc;                       /* its result */
	int aborted;                    /* C is gone: W must stop */
	int client_fd;                  /* C's socket, polled for a hang-up (note 10) */
	int up_pulled;                  /* the upstream has taken body bytes */
	int not_sent;                   /* W's failure came before any byte was sent */
	struct lh_error err;            /* W's error when w_rc != 0 */
	int member;                     /* the instance of W's last attempt, -1 none */

	/* the response head, W-only until head_done */
	long status;
	uint64_t content_length;        /* UINT64_MAX = unknown */
	char *resp_hdrs[2 * LH_GATEWAY_MAX_FWD_HEADERS];  /* name, value pairs */
	size_t n_resp_hdrs;
};

/* --- ring buffer ------------------------------------------------------------ */

static size_t ring_put(struct ring *r, const char *data, size_t n)
{
	size_t room = r->cap - r->len;
	if (n > room)
		n = room;
	size_t tail = (r->head + r->len) % r->cap;
	size_t first = r->cap - tail < n ? r->cap - tail : n;
	memcpy(r->buf + tail, data, first);
	memcpy(r->buf, data + first, n - first);
	r->len += n;
	return n;
}

static size_t ring_get(struct ring *r, char *out, size_t n)
{
	if (n > r->len)
		n = r->len;
	size_t first = r->cap - r->head < n ? r->cap - r->head : n;
	memcpy(out, r->buf + r->head, first);
	memcpy(out + first, r->buf, n - first);
	r->head = (r->head + n) % r->cap;
	r->len -= n;
	if (r->len == 0)
		r->head = 0;
	return n;
}

/* --- URL building (pure) ---------------------------------------------------- */

int proxy_encode(char *out, size_t cap, size_t *len, const char *in, int keep_slash)
{
	char *enc = url_encode(in, keep_slash);
	size_t n = strlen(enc);
	int rc = -1;
	if (*len + n < cap) {
		memcpy(out + *len, enc, n + 1);
		*len += n;
		rc = 0;
	}
	free(enc);
	return rc;
}

static int append_raw(char *out, size_t cap, size_t *len, const char *s)
{
	size_t k = strlen(s);
	if (*len + k >= cap)
		return -1;
	memcpy(out + *len, s, k + 1);
	*len += k;
	return 0;
}

char *proxy_url_build(const char *base, const char *prefix, const char *rest,
		      const char *const *query, size_t nquery)
{
	size_t cap = LH_GATEWAY_MAX_URL, len = 0;
	char *out = xmalloc(cap);
	out[0] = '\0';
	int rc = append_raw(out, cap, &len, base);
	if (!rc && len && out[len - 1] == '/' && prefix[0] == '/')
		out[--len] = '\0';
	if (!rc)
		rc = append_raw(out, cap, &len, prefix);
	if (!rc)
		rc = proxy_encode(out, cap, &len, rest, 1);
	for (size_t i = 0; !rc && i < nquery; i++) {
		rc = append_raw(out, cap, &len, i == 0 ? "?" : "&");
		if (!rc)
			rc = proxy_encode(out, cap, &len, query[2 * i], 0);
		if (!rc && query[2 * i + 1]) {
			rc = append_raw(out, cap, &len, "=");
			if (!rc)
				rc = proxy_encode(out, cap, &len, query[2 * i + 1], 0);
		}
	}
	if (rc) {
		free(out);
		return NULL;
	}
	return out;
}

/* --- life cycle of struct proxy -------------------------------------------- */

static void proxy_free(struct proxy *p)
{
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->path);
	upstream_pool_unref(p->pool);
	free(p->mem_body);
	for (size_t i = 0; p->hdrs[i]; i++)
		free(p->hdrs[i]);
	for (size_t i = 0; i < p->n_resp_hdrs; i++)
		free(p->resp_hdrs[i]);
	free(p->up.buf);
	free(p->down.buf);
	lh_error_clear(&p->err);
	free(p);
}

/* Drop one reference; called with the lock held, returns with it released. */
static void proxy_unref(struct proxy *p)
{
	int last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (last)
		proxy_free(p);
}

/* Note 10: wait on p->cv for at most a slice, then check whether the client
 * hung up; if it did, abort the exchange. Called with p->mu held. */
static void wait_or_client_gone(struct proxy *p)
{
	struct timespec ts;
	clock_deadline(CLOCK_REALTIME, 200, &ts);
	if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT || p->client_fd < 0)
		return;
	struct pollfd pf = { .fd = p->client_fd, .events = POLLRDHUP };
	if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
		p->aborted = 1;
		pthread_cond_broadcast(&p->cv);
	}
}

/* --- W: the worker and its callbacks --------------------------------------- */

/* http_client's cancel hook: C is gone (note 10). */
static int up_cancelled(void *ctx)
{
	struct proxy *p = ctx;
	pthread_mutex_lock(&p->mu);
	int aborted = p->aborted;
	pthread_mutex_unlock(&p->mu);
	return aborted;
}

static ssize_t up_source(void *ctx, char *buf, size_t max)
{
	struct proxy *p = ctx;
	ssize_t n = 0;
	pthread_mutex_lock(&p->mu);
	while (p->up.len == 0 && !p->up_eof && !p->aborted)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->aborted) {
		n = -1;
	} else if (p->up.len) {
		n = (ssize_t)ring_get(&p->up, buf, max);
		p->up_pulled = 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return n;
}

static int down_sink(void *ctx, const char *data, size_t n)
{
	struct proxy *p = ctx;
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	while (n > 0) {
		if (p->aborted) {
			rc = -1;
			break;
		}
		if (p->down.len == p->down.cap) {
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		size_t k = ring_put(&p->down, data, n);
		data += k;
		n -= k;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static int header_listed(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcasecmp(list[i], name))
			return 1;
	return 0;
}

static int on_head(void *ctx, long status, const char *name, const char *value)
{
	struct proxy *p = ctx;
	if (name) {
		if (!strcasecmp(name, "Content-Length")) {
			char *end;
			unsigned long long v = strtoull(value, &end, 10);
			if (*value >= '0' && *value <= '9' && !*end)
				p->content_length = v;
		} else if (header_listed(fwd_response_headers, name) &&
			   p->n_resp_hdrs + 2 <= 2 * LH_GATEWAY_MAX_FWD_HEADERS) {
			p->resp_hdrs[p->n_resp_hdrs++] = xstrdup(name);
			p->resp_hdrs[p->n_resp_hdrs++] = xstrdup(value);
		}
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	p->status = status;
	p->head_done = 1;
	pthread_cond_broadcast(&p->cv);
	int aborted = p->aborted;
	pthread_mutex_unlock(&p->mu);
	return aborted ? -1 : 0;
}

static void *proxy_worker(void *arg)
{
	struct proxy *p = arg;
	struct http_client_request r;
	struct http_client_response resp;
	struct lh_error err = { 0 };

	http_client_request_init(&r);
	r.method = p->method;
	r.headers = (const char *const *)p->hdrs;
	r.request_id = p->request_id;
	if (p->mem_body) {
		r.body = p->mem_body;
		r.body_len = p->mem_body_len;
	} else if (p->has_body) {
		r.body_source = up_source;
		r.body_source_ctx = p;
		r.body_source_len = p->body_len;
	} else if (p->empty_body) {
		r.body = "";
		r.body_len = 0;
	}
	r.sink = down_sink;
	r.sink_ctx = p;
	r.on_header = on_head;
	r.on_header_ctx = p;
	r.timeout_ms = p->timeout_ms;
	r.cancelled = up_cancelled;
	r.cancelled_ctx = p;

	int member = -1, not_sent = 0;
	r.not_sent = &not_sent;
	int rc = upstream_pool_do(p->pool, p->path, &r, &resp, &member, &err);
	long status = rc == 0 ? resp.status : 0;
	if (rc == 0)
		http_client_response_free(&resp);

	pthread_mutex_lock(&p->mu);
	p->member = member;
	p->not_sent = not_sent;
	p->w_done = 1;
	p->w_rc = rc;
	if (rc != 0) {
		p->err = err;           /* moves err.extra into p */
	} else if (!p->head_done) {
		p->status = status;     /* the hook never saw the end of the head */
		p->head_done = 1;
	}
	pthread_cond_broadcast(&p->cv);
	proxy_unref(p);
	return NULL;
}

/* --- C: the route callbacks ------------------------------------------------ */

struct query_args {
	const char *kv[2 * PROXY_MAX_QUERY_ARGS];
	size_t n;
};

static int collect_arg(void *ctx, const char *key, const char *value)
{
	struct query_args *q = ctx;
	if (q->n == PROXY_MAX_QUERY_ARGS)
		return -1;
	q->kv[2 * q->n] = key;
	q->kv[2 * q->n + 1] = value;
	q->n++;
	return 0;
}

static int method_sends_body(const char *m)
{
	return !strcmp(m, "PUT") || !strcmp(m, "POST") || !strcmp(m, "PATCH");
}

int proxy_begin(struct http_request *req, const struct gateway_upstream *up,
		unsigned timeout_ms)
{
	return proxy_begin_as(req, up, timeout_ms, NULL, NULL);
}

int proxy_begin_as(struct http_request *req, const struct gateway_upstream *up,
		   unsigned timeout_ms, const char *rest, const char *authorization)
{
	struct query_args *q = NULL;
	struct proxy *p = NULL;
	char *url = NULL;
	int rc = 0;

	if (upstream_pool_size(up->pool) == 0) {
		http_respond_fail(req, 502, "upstream_unavailable",
				  "%s is not configured (set [gateway] %s_url)", up->name, up->name);
		goto out;
	}
	q = xcalloc(1, sizeof *q);
	if (http_request_query_each(req, collect_arg, q) != 0) {
		http_respond_fail(req, 400, "bad_request", "more than %d query arguments",
				  PROXY_MAX_QUERY_ARGS);
		goto out;
	}
	url = proxy_url_build("", up->prefix, rest ? rest : http_request_path_rest(req), q->kv,
			      q->n);
	if (!url) {
		http_respond_fail(req, 414, "uri_too_long", "the URL is too long to forward");
		goto out;
	}

	p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->path = url;
	url = NULL;
	p->pool = upstream_pool_ref(up->pool);
	p->member = -1;
	snprintf(p->method, sizeof p->method, "%s", http_request_method(req));
	snprintf(p->service, sizeof p->service, "%s", up->name);
	snprintf(p->request_id, sizeof p->request_id, "%s", http_request_id(req));
	p->client_fd = http_request_client_fd(req);
	p->timeout_ms = timeout_ms;
	p->content_length = UINT64_MAX;

	size_t nh = 0;
	for (size_t i = 0; fwd_request_headers[i]; i++) {
		const char *v = http_request_header(req, fwd_request_headers[i]);
		if (authorization && !strcmp(fwd_request_headers[i], "Authorization"))
			v = authorization;
		if (v)
			p->hdrs[nh++] = xasprintf("%s: %s", fwd_request_headers[i], v);
	}

	uint64_t declared = 0;
	int has_cl = http_request_content_length(req, &declared);
	const char *te = http_request_header(req, "Transfer-Encoding");
	if ((has_cl && declared > 0) || (!has_cl && te)) {
		p->has_body = 1;
		p->body_len = has_cl ? declared : 0;
	} else if (method_sends_body(p->method)) {
		p->empty_body = 1;
	}
	/* Let the upstream refuse a body (413, 401, 404) before it is sent: a
	 * refusal after the body started can reset the connection under the
	 * answer. One loopback round trip per upload. */
	if (p->has_body)
		p->hdrs[nh++] = xstrdup("Expect: 100-continue");
	/* No client Content-Type: send none (curl would invent one for bodies). */
	if ((p->has_body || p->empty_body) && !http_request_header(req, "Content-Type"))
		p->hdrs[nh++] = xstrdup("Content-Type:");
	p->hdrs[nh] = NULL;

	if (p->has_body) {
		p->up.cap = LH_GATEWAY_PIPE_BYTES;
		p->up.buf = xmalloc(p->up.cap);
	}
	p->down.cap = LH_GATEWAY_PIPE_BYTES;
	p->down.buf = xmalloc(p->down.cap);

	proxy_start(req, p);
out:
	free(q);
	free(url);
	return rc;
}

/* Start W on p (refs: C and W) and attach p to the request; on failure free
 * p and answer 503. */
static void proxy_start(struct http_request *req, struct proxy *p)
{
	pthread_attr_t attr;
	pthread_t tid;

	p->refs = 2;   /* C and W (note 1) */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int e = pthread_create(&tid, &attr, proxy_worker, p);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		log_event("error", "gateway", "request %s: cannot start a proxy thread: %s",
			  p->request_id, strerror(e));
		proxy_free(p);
		http_respond_fail(req, 503, "overloaded", "the gateway is overloaded; try again");
		return;
	}
	http_request_set_state(req, p);
}

int proxy_begin_request(struct http_request *req, const struct gateway_upstream *up,
			unsigned timeout_ms, const char *method, const char *path,
			const char *body, size_t body_len, const char *content_type)
{
	if (upstream_pool_size(up->pool) == 0) {
		http_respond_fail(req, 502, "upstream_unavailable",
				  "%s is not configured (set [gateway] %s_url)", up->name, up->name);
		return 0;
	}
	struct proxy *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->path = xstrdup(path);
	p->pool = upstream_pool_ref(up->pool);
	p->member = -1;
	snprintf(p->method, sizeof p->method, "%s", method);
	snprintf(p->service, sizeof p->service, "%s", up->name);
	snprintf(p->request_id, sizeof p->request_id, "%s", http_request_id(req));
	p->client_fd = http_request_client_fd(req);
	p->timeout_ms = timeout_ms;
	p->content_length = UINT64_MAX;
	size_t nh = 0;
	const char *auth = http_request_header(req, "Authorization");
	if (auth)
		p->hdrs[nh++] = xasprintf("Authorization: %s", auth);
	if (body) {
		p->mem_body = xmalloc(body_len + 1);
		memcpy(p->mem_body, body, body_len);
		p->mem_body[body_len] = '\0';
		p->mem_body_len = body_len;
		p->hdrs[nh++] = xasprintf("Content-Type: %s", content_type ? content_type : "");
	}
	p->hdrs[nh] = NULL;
	p->down.cap = LH_GATEWAY_PIPE_BYTES;
	p->down.buf = xmalloc(p->down.cap);
	proxy_start(req, p);
	return 0;
}

int proxy_body(struct http_request *req, const char *data, size_t n)
{
	struct proxy *p = http_request_state(req);
	if (!p || !p->up.buf)
		return 0;   /* a body we did not expect: drop it */
	pthread_mutex_lock(&p->mu);
	while (n > 0) {
		if (p->w_done || p->aborted || (p->head_done && p->status >= 300))
			break;  /* the upstream no longer reads: drop (note 3) */
		if (p->up.len == p->up.cap) {
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		size_t k = ring_put(&p->up, data, n);
		data += k;
		n -= k;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static ssize_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct proxy *p = ctx;
	ssize_t n;
	pthread_mutex_lock(&p->mu);
	while (p->down.len == 0 && !p->w_done && !p->aborted)
		wait_or_client_gone(p);
	if (p->down.len) {
		n = (ssize_t)ring_get(&p->down, buf, max);
		pthread_cond_broadcast(&p->cv);
	} else {
		n = p->w_done && p->w_rc == 0 ? 0 : -1;   /* note 5; aborted: cut */
	}
	pthread_mutex_unlock(&p->mu);
	return n;
}

static void stream_release(void *ctx)
{
	struct proxy *p = ctx;
	pthread_mutex_lock(&p->mu);
	p->aborted = 1;
	pthread_cond_broadcast(&p->cv);
	proxy_unref(p);
}

/* W failed without an answer: the error the client sees (note 4). */
static void upstream_error(struct proxy *p, struct lh_error *err)
{
	log_event("warn", "gateway", "request %s: %s %s%s: %s", p->request_id, p->method,
		  p->member >= 0 ? upstream_pool_url(p->pool, (size_t)p->member) : p->service,
		  p->path, p->err.msg);
	if (p->err.status == 504)
		lh_fail(err, 504, "upstream_timeout", "%s did not answer within %u ms",
			p->service, p->timeout_ms);
	else if (!strcmp(p->err.code, "upstream_unavailable") && (p->up_pulled || !p->not_sent))
		/* ADR 0202: delivered (or partly), then cut: it may have happened */
		lh_fail(err, 502, "upstream_interrupted",
			"%s stopped before answering: the request may or may not have taken "
			"effect%s", p->service, !strcmp(p->service, "ingestd")
			? "; retrying is safe: ingest is idempotent" : "");
	else if (!strcmp(p->err.code, "upstream_unavailable"))
		lh_fail(err, 502, "upstream_unavailable",
			"%s is not reachable", p->service);   /* nothing was sent */
	else
		lh_fail(err, 502, "upstream_failed", "%s failed to answer", p->service);
}

static void respond_upstream_error(struct http_request *req, struct proxy *p)
{
	struct lh_error err = { 0 };
	upstream_error(p, &err);
	http_respond_error(req, &err);
	lh_error_clear(&err);
}

/* Note 11: with the head known, wait a little for the whole answer. */
static void hold_head(struct proxy *p)
{
	struct timespec until;
	clock_deadline(CLOCK_REALTIME, LH_GATEWAY_HOLD_MS, &until);
	while (!p->w_done && !p->aborted && p->down.len < p->down.cap)
		if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT)
			break;
}

int proxy_end(struct http_request *req)
{
	struct proxy *p = http_request_state(req);
	if (!p)
		return -1;
	pthread_mutex_lock(&p->mu);
	p->up_eof = 1;
	pthread_cond_broadcast(&p->cv);
	while (!p->head_done && !p->w_done && !p->aborted)
		wait_or_client_gone(p);
	if (!p->head_done && !p->w_done) {
		/* the client hung up before any answer: nobody will read one */
		pthread_mutex_unlock(&p->mu);
		http_respond_fail(req, 499, "client_closed", "the client went away");
		return 0;
	}
	if (p->head_done)
		hold_head(p);
	/* note 11: a failure before any byte went out is an error, not a cut */
	int have_head = p->head_done && !(p->w_done && p->w_rc != 0);
	long status = p->status;
	int bodyless = status == 204 || status == 304 || status < 200;
	if (have_head && !bodyless)
		p->refs++;   /* S's reference (note 1) */
	pthread_mutex_unlock(&p->mu);

	if (!have_head) {
		respond_upstream_error(req, p);
		return 0;
	}
	if (bodyless)
		http_respond_empty(req, (int)status);
	else
		http_respond_stream(req, (int)status, NULL,
				    p->content_length == UINT64_MAX ? HTTP_SIZE_UNKNOWN
								    : p->content_length,
				    stream_read, p, stream_release);
	for (size_t i = 0; i + 1 < p->n_resp_hdrs; i += 2)
		http_response_header(req, p->resp_hdrs[i], p->resp_hdrs[i + 1]);
	return 0;
}

void proxy_done(struct http_request *req, int completed)
{
	struct proxy *p = http_request_state(req);
	if (!p)
		return;
	http_request_set_state(req, NULL);
	pthread_mutex_lock(&p->mu);
	p->aborted = 1;   /* note 6 */
	pthread_cond_broadcast(&p->cv);
	proxy_unref(p);
}

int proxy_collect(struct http_request *req, size_t cap, long *status, char **body,
		  size_t *len, struct lh_error *err)
{
	struct proxy *p = http_request_state(req);
	size_t n = 0, bcap = 4096;
	char *buf = NULL;
	int rc = -1;

	*body = NULL;
	*len = 0;
	if (!p)
		return lh_fail(err, 500, "internal", "no upstream request");
	buf = xmalloc(bcap);
	pthread_mutex_lock(&p->mu);
	p->up_eof = 1;
	pthread_cond_broadcast(&p->cv);
	for (;;) {
		if (p->down.len) {
			if (n + p->down.len > cap) {
				p->aborted = 1;
				pthread_cond_broadcast(&p->cv);
				pthread_mutex_unlock(&p->mu);
				lh_fail(err, 502, "upstream_too_large",
					"%s answered with more than %zu bytes", p->service, cap);
				goto out;
			}
			while (n + p->down.len + 1 > bcap)
				bcap *= 2;
			buf = xrealloc(buf, bcap);
			n += ring_get(&p->down, buf + n, p->down.len);
			pthread_cond_broadcast(&p->cv);
			continue;
		}
		if (p->w_done)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	int w_rc = p->w_rc;
	*status = p->status;
	pthread_mutex_unlock(&p->mu);
	if (w_rc != 0) {
		upstream_error(p, err);
		goto out;
	}
	buf[n] = '\0';
	*body = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	return rc;
}

long proxy_status(struct http_request *req)
{
	struct proxy *p = http_request_state(req);
	long status = 0;
	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	if (p->head_done)
		status = p->status;
	pthread_mutex_unlock(&p->mu);
	return status;
}

long proxy_wait_head(struct http_request *req)
{
	struct proxy *p = http_request_state(req);
	long status = 0;
	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	p->up_eof = 1;
	pthread_cond_broadcast(&p->cv);
	while (!p->head_done && !p->w_done && !p->aborted)
		wait_or_client_gone(p);
	if (p->head_done)
		status = p->status;
	pthread_mutex_unlock(&p->mu);
	return status;
}
