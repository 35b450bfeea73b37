/* ready.c — readiness of a service's dependencies (see ready.h, ADR 0200).
 *
 * DESIGN NOTES
 *  1. One mutex guards the dependency table; a second one, `check_mu`,
 *     serialises checks, so a burst of probes runs one check and the others
 *     wait for it and read its result. A check runs without `mu` held (it
 *     may take up to LH_READY_CHECK_TIMEOUT_MS per dependency) and reports
 *     through ready_report(), which takes `mu` briefly.
 *  2. A result is reused for LH_READY_CACHE_MS: load balancers probe often,
 *     and /metrics scrapes would otherwise double the checks.
 *  3. A dependency's first report is logged only when it is down; after
 *     that every change of `up` is logged once (warn when it goes down,
 *     info when it comes back), never each check.
 */
#include "common/ready.h"

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

struct ready_dep {
	char name[48];
	int up;
	double latency_ms;
	unsigned long long checks, errors;
	char reason[512];           /* as long as an lh_error's message */
};

struct ready {
	char service[32];
	ready_check_fn check;
	ready_metrics_fn metrics_extra;
	void *ctx;
	pthread_mutex_t mu;          /* the table (note 1) */
	pthread_mutex_t check_mu;    /* one check at a time (note 1) */
	struct timespec checked_at;  /* under check_mu */
	int checked;                 /* under check_mu */
	size_t n;
	struct ready_dep d[LH_READY_MAX_DEPS];
};

static double ms_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) * 1e3 + (double)(now.tv_nsec - t->tv_nsec) / 1e6;
}

struct ready *ready_create(const char *service, ready_check_fn check, void *ctx)
{
	struct ready *r = xcalloc(1, sizeof *r);
	snprintf(r->service, sizeof r->service, "%s", service);
	r->check = check;
	r->ctx = ctx;
	pthread_mutex_init(&r->mu, NULL);
	pthread_mutex_init(&r->check_mu, NULL);
	return r;
}

void ready_set_metrics_extra(struct ready *r, ready_metrics_fn fn)
{
	r->metrics_extra = fn;
}

void ready_destroy(struct ready *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->check_mu);
	free(r);
}

void ready_report(struct ready *r, const char *dependency, int up, double latency_ms,
		  const char *reason)
{
	pthread_mutex_lock(&r->mu);
	struct ready_dep *d = NULL;
	int fresh = 0;
	for (size_t i = 0; i < r->n && !d; i++)
		if (!strcmp(r->d[i].name, dependency))
			d = &r->d[i];
	if (!d && r->n < LH_READY_MAX_DEPS) {
		d = &r->d[r->n++];
		snprintf(d->name, sizeof d->name, "%s", dependency);
		fresh = 1;
	}
	if (d) {
		if ((fresh && !up) || (!fresh && d->up != up))   /* note 3 */
			log_event(up ? "info" : "warn", r->service, "%s: %s is %s%s%s", r->service,
				  dependency, up ? "ready again" : "not ready",
				  !up && reason ? ": " : "", !up && reason ? reason : "");
		d->up = up ? 1 : 0;
		d->latency_ms = latency_ms;
		d->checks++;
		d->errors += !up;
		snprintf(d->reason, sizeof d->reason, "%s", !up && reason ? reason : "");
	}
	pthread_mutex_unlock(&r->mu);
}

/* Note 2: run the check unless a recent one is good enough. */
static void refresh(struct ready *r)
{
	if (!r->check)
		return;
	pthread_mutex_lock(&r->check_mu);
	if (!r->checked || ms_since(&r->checked_at) >= LH_READY_CACHE_MS) {
		r->check(r->ctx, r);
		clock_gettime(CLOCK_MONOTONIC, &r->checked_at);
		r->checked = 1;
	}
	pthread_mutex_unlock(&r->check_mu);
}

int ready_answer(struct ready *r, json_t *body)
{
	int all_up = 1;
	refresh(r);
	json_t *deps = json_object();
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++) {
		const struct ready_dep *d = &r->d[i];
		json_t *o = json_object();
		json_object_set_new(o, "up", json_boolean(d->up));
		json_object_set_new(o, "latency_ms", json_real((double)(long long)(d->latency_ms * 10) / 10));
		if (!d->up)
			json_object_set_new(o, "reason", json_string(d->reason));
		json_object_set_new(deps, d->name, o);
		all_up &= d->up;
	}
	pthread_mutex_unlock(&r->mu);
	json_object_set_new(body, "dependencies", deps);
	return all_up ? 200 : 503;
}

char *ready_metrics(struct ready *r)
{
	char *out = NULL;
	size_t len = 0;
	refresh(r);
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	pthread_mutex_lock(&r->mu);
	static const char *const heads[] = {
		"lakehouse_dependency_up", "gauge", "1 when the dependency was ready at the last check.",
		"lakehouse_dependency_latency_seconds", "gauge", "How long the last check took.",
		"lakehouse_dependency_checks_total", "counter", "Readiness checks of the dependency.",
		"lakehouse_dependency_errors_total", "counter", "Checks that found it not ready.",
	};
	for (size_t h = 0; h < 4 && r->n; h++) {
		const char *name = heads[3 * h];
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, heads[3 * h + 2], name,
			heads[3 * h + 1]);
		for (size_t i = 0; i < r->n; i++) {
			const struct ready_dep *d = &r->d[i];
			fprintf(f, "%s{service=\"%s\",dependency=\"%s\"} ", name, r->service, d->name);
			if (h == 0)
				fprintf(f, "%d\n", d->up);
			else if (h == 1)
				fprintf(f, "%.6f\n", d->latency_ms / 1e3);
			else
				fprintf(f, "%llu\n", h == 2 ? d->checks : d->errors);
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (r->metrics_extra)
		r->metrics_extra(r->ctx, f);
	fclose(f);
	return out;
}

/* GET <url><path> with the health-check marker: -1 no answer (why in
 * `why`), else the status with *body (caller frees) when asked. */
static long peer_get(const char *url, const char *path, char **body, char *why, size_t why_n)
{
	struct http_client_request req;
	struct http_client_response resp;
	struct lh_error err = { 0 };
	static const char *const marker[] = { HTTP_HEALTH_CHECK_HEADER ": 1", NULL };
	char *u = xasprintf("%s%s", url, path);
	long status = -1;

	http_client_request_init(&req);
	req.url = u;
	req.headers = marker;
	req.timeout_ms = LH_READY_CHECK_TIMEOUT_MS;
	req.max_buffered = 64 << 10;
	if (http_client_do(&req, &resp, &err) != 0) {
		snprintf(why, why_n, "%s", err.status == 504 ? "it did not answer in time"
							     : "it is not reachable");
	} else {
		status = resp.status;
		if (body) {
			*body = resp.body;
			resp.body = NULL;
		}
		http_client_response_free(&resp);
	}
	lh_error_clear(&err);
	free(u);
	return status;
}

/* The first not-up dependency of a peer's /ready body, as "name: reason". */
static void peer_reason(const char *body, char *out, size_t n)
{
	json_t *j = body ? json_loads(body, 0, NULL) : NULL;
	json_t *deps = json_object_get(j, "dependencies");
	const char *k;
	json_t *v;
	snprintf(out, n, "it is not ready");
	json_object_foreach(deps, k, v) {
		if (json_is_true(json_object_get(v, "up")))
			continue;
		const char *why = json_string_value(json_object_get(v, "reason"));
		snprintf(out, n, "it is not ready: %s%s%s", k, why ? ": " : "", why ? why : "");
		break;
	}
	json_decref(j);
}

void ready_check_peer(struct ready *r, const char *dependency, const char *base_url)
{
	struct timespec t0;
	size_t pos = 0, len = strlen(base_url), item_n;
	const char *item;
	char reason[256] = "it is not configured";
	int up = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!up && config_list_next(base_url, len, &pos, &item, &item_n)) {
		while (item_n > 1 && item[item_n - 1] == '/')
			item_n--;
		if (item_n == 0)
			continue;
		char *url = xstrndup(item, item_n);
		char *body = NULL;
		long st = peer_get(url, "/ready", &body, reason, sizeof reason);
		if (st == 200)
			up = 1;
		else if (st == 404)   /* an older peer without /ready */
			up = peer_get(url, "/health", NULL, reason, sizeof reason) == 200;
		else if (st > 0)
			peer_reason(body, reason, sizeof reason);
		if (!up && st == 404)
			snprintf(reason, sizeof reason, "its /health does not answer 200");
		free(body);
		free(url);
	}
	ready_report(r, dependency, up, ms_since(&t0), up ? NULL : reason);
}
