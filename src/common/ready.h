/* ready.h — readiness (GET /ready, ADR 0200): can this service serve now?
 * Each service names its dependencies (catalogd: its database; storaged: its
 * object store; ingestd/queryd: catalogd and storaged; the gateway: each
 * upstream service) and gives one check function that reports every one of
 * them with ready_report(). http_server.c answers GET /ready with
 * ready_answer() and appends ready_metrics() to /metrics.
 *
 * /health stays liveness: 200 while the process serves requests at all.
 */
#ifndef LH_READY_H
#define LH_READY_H
#include "common/json.h"

#include <stdio.h>

struct ready;

/* Checks every dependency now and calls ready_report() for each. Runs in
 * the thread of a /ready or /metrics request, at most once per
 * LH_READY_CACHE_MS (callers meanwhile get the last result). */
typedef void (*ready_check_fn)(void *ctx, struct ready *r);

struct ready *ready_create(const char *service, ready_check_fn check, void *ctx);
void ready_destroy(struct ready *r);   /* NULL is fine */

/* Record a dependency's state: up or not, the check's latency, and (when
 * down) the reason in plain words. A change of `up` is logged once. A
 * dependency is known from its first report on (at most LH_READY_MAX_DEPS). */
void ready_report(struct ready *r, const char *dependency, int up, double latency_ms,
		  const char *reason);

/* Refresh if stale, then add "dependencies": {name: {"up", "latency_ms",
 * "reason"?}} to body. Returns 200 when every dependency is up, else 503. */
int ready_answer(struct ready *r, json_t *body);

/* Refresh if stale, then the Prometheus text of every dependency
 * (lakehouse_dependency_up, _latency_seconds, _checks_total,
 * _errors_total); the caller frees it. */
char *ready_metrics(struct ready *r);

/* More Prometheus text after the dependencies' (the gateway's per-instance
 * gauges); `fn` writes it with ctx = the ready_create ctx. */
typedef void (*ready_metrics_fn)(void *ctx, FILE *f);
void ready_set_metrics_extra(struct ready *r, ready_metrics_fn fn);

/* A peer's readiness: GET <base_url>/ready (no token needed), reported as
 * `dependency`. A peer that has no /ready (404: an older version) counts as
 * up when its /health answers 200. A not-ready peer's first reason is
 * quoted. `base_url` may be a comma-separated list: up when any is ready. */
void ready_check_peer(struct ready *r, const char *dependency, const char *base_url);

#endif
