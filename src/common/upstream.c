/* upstream.c — pools of replicated stateless services (see upstream.h and
 * ADR 0075).
 *
 * DESIGN NOTES
 *
 *  1. Members (URL list) are fixed at creation and never change, so their
 *     URLs are read without a lock; `state`, `cursor` and `stop` are guarded
 *     by the pool's one mutex, and every change of them broadcasts `cv`.
 *  2. One checker thread per member (upstream_check_run), so a member that
 *     does not answer (a black-holed host) never delays the probes of the
 *     others: each round is bounded by timeout_ms, then the thread sleeps
 *     interval_ms on `cv` so that destroy wakes it at once.
 *  3. A probe runs without the lock; its result is stored under it. Passive
 *     reports (upstream_pool_report) and probes write the same field; the
 *     last writer wins, which is right because both observe the present.
 *  4. Picking never blocks on the network: it reads states under the lock
 *     and advances the round-robin cursor past the chosen member.
 *  5. The only retry is the one that cannot duplicate work: http_client_do
 *     says "not sent" only when no connection was made, so the upstream never
 *     saw a byte; a streamed request body has not been read either (curl
 *     pulls it after connecting). Every other failure is final (ADR 0075).
 *  7. Readiness (ADR 0200): the default probe asks GET /ready; 200 is
 *     "ok", a 503 is "not_ready" (alive, e.g. catalogd whose database is
 *     down), and a 404 (a peer without /ready) falls back to /health.
 *     Picking prefers "ok" members and takes a "not_ready" one only as the
 *     last resort, like an unhealthy one; its own 503 then tells the client
 *     why. A passive "it answered" does not turn not_ready into ok.
 *  6. The pool is reference-counted: the gateway's detached proxy workers
 *     hold one each, so a worker still running after gateway_stop never
 *     touches freed memory. destroy stops the checkers at once and drops
 *     the creator's reference; the last unref frees.
 */
#include "common/upstream.h"

#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct upstream_member {
	struct upstream_pool *pool;
	size_t idx;
	char *url;                  /* immutable (note 1) */
	enum upstream_state state;  /* under pool->mu */
	int first_done;             /* the first probe has finished */
	pthread_t tid;
	int started;
};

struct upstream_pool {
	char name[32];
	char log_service[32];
	char *list;                 /* the configured text, for /health */
	size_t n;
	struct upstream_member m[LH_UPSTREAM_MAX_MEMBERS];
	unsigned interval_ms, timeout_ms;
	upstream_probe_fn probe;
	void *probe_ctx;

	pthread_mutex_t mu;
	pthread_cond_t cv;          /* CLOCK_MONOTONIC */
	size_t cursor;              /* next member to consider (note 4) */
	int stop;
	int refs;                   /* note 6 */
};

/* --- probing ---------------------------------------------------------------- */

static int get_probe(const char *url, const char *path, unsigned timeout_ms)
{
	struct http_client_request r;
	struct http_client_response resp;
	struct lh_error err = { 0 };
	char *u = xasprintf("%s%s", url, path);
	/* Not a request anyone reads: the service leaves it out of its log. */
	static const char *const marker[] = { HTTP_HEALTH_CHECK_HEADER ": 1", NULL };
	int rc;

	http_client_request_init(&r);
	r.url = u;
	r.headers = marker;
	r.timeout_ms = timeout_ms;
	r.max_buffered = 64 << 10;
	if (http_client_do(&r, &resp, &err) != 0) {
		rc = -1;
	} else {
		rc = (int)resp.status;
		http_client_response_free(&resp);
	}
	lh_error_clear(&err);
	free(u);
	return rc;
}

/* Note 7: /ready, else /health. */
static int default_probe(void *ctx, const char *url, unsigned timeout_ms)
{
	int st = get_probe(url, "/ready", timeout_ms);
	if (st == 404)
		st = get_probe(url, "/health", timeout_ms);
	return st < 0 ? -1 : st == 200 ? 0 : st == 503 ? 2 : 1;
}

/* Set member i's state (lock held); log a change. */
static void set_state(struct upstream_pool *p, size_t i, enum upstream_state s, const char *why)
{
	struct upstream_member *m = &p->m[i];
	if (m->state != s)
		log_event(s == UPSTREAM_OK ? "info" : "warn", p->log_service, "%s %s is %s%s%s",
			  p->name, m->url, upstream_state_name(s), why ? ": " : "", why ? why : "");
	m->state = s;
	pthread_cond_broadcast(&p->cv);
}

static enum upstream_state probe_member(struct upstream_pool *p, size_t i)
{
	int r = p->probe(p->probe_ctx, p->m[i].url, p->timeout_ms);
	return r == 0 ? UPSTREAM_OK : r == 2 ? UPSTREAM_NOT_READY
		      : r > 0 ? UPSTREAM_UNHEALTHY : UPSTREAM_UNREACHABLE;
}

/* A member's checker thread (note 2). */
static void *upstream_check_run(void *arg)
{
	struct upstream_member *m = arg;
	struct upstream_pool *p = m->pool;

	for (;;) {
		enum upstream_state s = probe_member(p, m->idx);
		pthread_mutex_lock(&p->mu);
		set_state(p, m->idx, s, s == UPSTREAM_OK ? NULL : s == UPSTREAM_NOT_READY
								      ? "its /ready answered 503"
								      : "health check failed");
		m->first_done = 1;
		pthread_cond_broadcast(&p->cv);
		struct timespec until;
		clock_deadline(CLOCK_MONOTONIC, p->interval_ms, &until);
		int timed_out = 0;
		while (!p->stop && !timed_out)
			timed_out = pthread_cond_timedwait(&p->cv, &p->mu, &until) != 0;
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			return NULL;
	}
}

void upstream_pool_check(struct upstream_pool *p)
{
	for (size_t i = 0; i < p->n; i++) {
		enum upstream_state s = probe_member(p, i);
		pthread_mutex_lock(&p->mu);
		set_state(p, i, s, s == UPSTREAM_OK ? NULL : s == UPSTREAM_NOT_READY
							      ? "its /ready answered 503"
							      : "health check failed");
		pthread_mutex_unlock(&p->mu);
	}
}

/* --- life cycle ------------------------------------------------------------- */

struct upstream_pool *upstream_pool_create(const struct upstream_pool_config *c,
					   struct lh_error *err)
{
	const char *list = c->urls ? c->urls : "";
	struct upstream_pool *p = xcalloc(1, sizeof *p);
	pthread_condattr_t ca;
	size_t pos = 0, len = strlen(list), item_n;
	const char *item;

	snprintf(p->name, sizeof p->name, "%s", c->name ? c->name : "upstream");
	snprintf(p->log_service, sizeof p->log_service, "%s",
		 c->log_service ? c->log_service : "lakehouse");
	p->list = xstrdup(list);
	p->interval_ms = c->interval_ms;
	p->timeout_ms = c->timeout_ms ? c->timeout_ms : LH_UPSTREAM_CHECK_TIMEOUT_MS;
	p->probe = c->probe ? c->probe : default_probe;
	p->probe_ctx = c->probe_ctx;
	p->refs = 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);

	while (config_list_next(list, len, &pos, &item, &item_n)) {
		if (item_n == 0) {
			lh_fail(err, 400, "bad_config", "%s: empty URL in the list \"%s\"", p->name,
				list);
			goto fail;
		}
		if (p->n == LH_UPSTREAM_MAX_MEMBERS) {
			lh_fail(err, 400, "bad_config", "%s: more than %d URLs", p->name,
				LH_UPSTREAM_MAX_MEMBERS);
			goto fail;
		}
		while (item_n > 1 && item[item_n - 1] == '/')
			item_n--;
		struct upstream_member *m = &p->m[p->n];
		m->pool = p;
		m->idx = p->n;
		m->url = xstrndup(item, item_n);
		m->state = UPSTREAM_OK;
		p->n++;
	}
	if (p->interval_ms == 0)
		return p;

	for (size_t i = 0; i < p->n; i++) {
		if (pthread_create(&p->m[i].tid, NULL, upstream_check_run, &p->m[i]) != 0) {
			lh_fail(err, 500, "internal", "%s: cannot start a health-check thread",
				p->name);
			goto fail;
		}
		p->m[i].started = 1;
	}
	/* Wait for every first probe; each is bounded by its timeout. */
	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t done = 0;
		for (size_t i = 0; i < p->n; i++)
			done += (size_t)p->m[i].first_done;
		if (done == p->n)
			break;
		pthread_cond_wait(&p->cv, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return p;
fail:
	upstream_pool_destroy(p);
	return NULL;
}

int upstream_pool_for_list(const char *name, const char *urls, const char *log_service,
			   struct upstream_pool **out, struct lh_error *err)
{
	*out = NULL;
	if (!urls || !strchr(urls, ','))
		return 0;
	struct upstream_pool_config c = { .name = name, .urls = urls, .log_service = log_service,
					  .interval_ms = LH_UPSTREAM_CHECK_INTERVAL_MS,
					  .timeout_ms = LH_UPSTREAM_CHECK_TIMEOUT_MS };
	*out = upstream_pool_create(&c, err);
	return *out ? 0 : -1;
}

static void pool_free(struct upstream_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->m[i].url);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->list);
	free(p);
}

void upstream_pool_destroy(struct upstream_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->n; i++) {
		if (p->m[i].started)
			pthread_join(p->m[i].tid, NULL);
		p->m[i].started = 0;
	}
	upstream_pool_unref(p);
}

struct upstream_pool *upstream_pool_ref(struct upstream_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->refs++;
	pthread_mutex_unlock(&p->mu);
	return p;
}

void upstream_pool_unref(struct upstream_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	int last = --p->refs == 0;
	pthread_mutex_unlock(&p->mu);
	if (last)
		pool_free(p);
}

/* --- reading ---------------------------------------------------------------- */

size_t upstream_pool_size(const struct upstream_pool *p)
{
	return p ? p->n : 0;
}

const char *upstream_pool_name(const struct upstream_pool *p)
{
	return p->name;
}

const char *upstream_pool_url(const struct upstream_pool *p, size_t i)
{
	return p->m[i].url;
}

const char *upstream_pool_list(const struct upstream_pool *p)
{
	return p->list;
}

enum upstream_state upstream_pool_state(struct upstream_pool *p, size_t i)
{
	pthread_mutex_lock(&p->mu);
	enum upstream_state s = p->m[i].state;
	pthread_mutex_unlock(&p->mu);
	return s;
}

const char *upstream_state_name(enum upstream_state s)
{
	switch (s) {
	case UPSTREAM_OK:
		return "ok";
	case UPSTREAM_UNHEALTHY:
		return "unhealthy";
	case UPSTREAM_UNREACHABLE:
		return "unreachable";
	case UPSTREAM_NOT_READY:
		return "not_ready";
	}
	return "unknown";
}

/* --- choosing --------------------------------------------------------------- */

int upstream_pool_pick(struct upstream_pool *p, uint32_t *tried)
{
	int chosen = -1;
	if (!p || p->n == 0)
		return -1;
	pthread_mutex_lock(&p->mu);
	for (int pass = 0; pass < 2 && chosen < 0; pass++) {
		for (size_t k = 0; k < p->n; k++) {
			size_t i = (p->cursor + k) % p->n;
			if (*tried & (UINT32_C(1) << i))
				continue;
			if (pass == 0 && p->m[i].state != UPSTREAM_OK)
				continue;
			chosen = (int)i;
			break;
		}
	}
	if (chosen >= 0) {
		p->cursor = ((size_t)chosen + 1) % p->n;
		*tried |= UINT32_C(1) << chosen;
	}
	pthread_mutex_unlock(&p->mu);
	return chosen;
}

void upstream_pool_report(struct upstream_pool *p, size_t i, int ok, const char *why)
{
	pthread_mutex_lock(&p->mu);
	if (ok) {
		if (p->m[i].state != UPSTREAM_NOT_READY)   /* note 7 */
			set_state(p, i, UPSTREAM_OK, "it answered");
	} else {
		set_state(p, i, UPSTREAM_UNREACHABLE, why);
	}
	pthread_mutex_unlock(&p->mu);
}

int upstream_pool_do(struct upstream_pool *p, const char *path, struct http_client_request *r,
		     struct http_client_response *resp, int *member, struct lh_error *err)
{
	struct lh_error last = { 0 };
	int *caller_not_sent = r->not_sent;
	uint32_t tried = 0;
	int rc = -1, m = -1, not_sent = 0;

	if (member)
		*member = -1;
	if (upstream_pool_size(p) == 0)
		return lh_fail(err, 502, "upstream_unavailable", "%s is not configured",
			       p ? p->name : "the service");
	r->not_sent = &not_sent;
	for (;;) {
		int i = upstream_pool_pick(p, &tried);
		if (i < 0)
			break;
		m = i;
		char *url = xasprintf("%s%s", p->m[i].url, path);
		r->url = url;
		not_sent = 0;
		lh_error_clear(&last);
		rc = http_client_do(r, resp, &last);
		r->url = NULL;
		free(url);
		if (rc == 0) {
			upstream_pool_report(p, (size_t)i, 1, NULL);
			break;
		}
		if (!not_sent)
			break;   /* it may have reached the server: final (note 5) */
		upstream_pool_report(p, (size_t)i, 0, last.msg);
	}
	r->not_sent = caller_not_sent;
	if (caller_not_sent)
		*caller_not_sent = rc != 0 && not_sent;
	if (member)
		*member = m;
	if (rc != 0) {
		if (err->status == 0)
			*err = last;    /* moves last.extra */
		else
			lh_error_clear(&last);
	}
	return rc;
}

json_t *upstream_pool_json(struct upstream_pool *p, const char **summary)
{
	json_t *arr = json_array();
	size_t nok = 0, nunhealthy = 0, nnotready = 0, n = upstream_pool_size(p);

	for (size_t i = 0; i < n; i++) {
		enum upstream_state s = upstream_pool_state(p, i);
		nok += s == UPSTREAM_OK;
		nunhealthy += s == UPSTREAM_UNHEALTHY;
		nnotready += s == UPSTREAM_NOT_READY;
		json_t *o = json_object();
		json_object_set_new(o, "url", json_string(p->m[i].url));
		json_object_set_new(o, "status", json_string(upstream_state_name(s)));
		json_array_append_new(arr, o);
	}
	if (n == 0)
		*summary = "not_configured";
	else if (nok == n)
		*summary = "ok";
	else if (nok > 0)
		*summary = "degraded";
	else
		*summary = nnotready ? "not_ready" : nunhealthy ? "unhealthy" : "unreachable";
	return arr;
}
