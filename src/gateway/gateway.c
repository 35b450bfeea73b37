/* gateway.c — the front door (SPEC 9): the route table that maps
 *   /v1/storage/<rest>  -> storaged  /storage/<rest>
 *   /v1/catalog/<rest>  -> catalogd  /catalog/<rest>
 *   /v1/ingest          -> ingestd   /ingest
 *   /v1/query           -> queryd    /query
 *   / and /datasets/..., /upload, /console, /static/...  -> the web UI (ui.c)
 * plus /health with each upstream's state, and gateway_start/stop/main.
 *
 * Every proxied route streams through proxy.c. The methods an upstream does
 * not serve are its own business: the gateway forwards GET/HEAD/PUT/POST/
 * DELETE and passes the upstream's 405 and Allow back. The upstream URLs come
 * from cfg->gateway.*_url and are copied at start, so the gateway owns no
 * pointer into the caller's config.
 */
#include "gateway/gateway.h"

#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "gateway/gateway_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- routes ----------------------------------------------------------------- */

static int begin_upstream(struct http_request *req, int which)
{
	struct gateway *g = http_request_ctx(req);
	return proxy_begin(req, &g->up[which], g->timeout_ms);
}

static int storage_begin(struct http_request *req) { return begin_upstream(req, GW_STORAGED); }
static int catalog_begin(struct http_request *req) { return begin_upstream(req, GW_CATALOGD); }
static int ingest_begin(struct http_request *req) { return begin_upstream(req, GW_INGESTD); }
static int query_begin(struct http_request *req) { return begin_upstream(req, GW_QUERYD); }

#define PROXY_ROUTE(m, p, n, b) \
	{ .method = m, .path = p, .name = n, .begin = b, .body = proxy_body, \
	  .end = proxy_end, .done = proxy_done }
#define PROXY_ROUTES(p, n, b)                                                  \
	PROXY_ROUTE("GET", p, n, b), PROXY_ROUTE("PUT", p, n, b),              \
	PROXY_ROUTE("POST", p, n, b), PROXY_ROUTE("DELETE", p, n, b)

static const struct http_route gateway_routes[] = {
	/* the web UI (ui.c) */
	{ .method = "GET", .path = "/", .name = "ui", .end = ui_index_end },
	{ .method = "GET", .path = "/datasets/*", .name = "ui_dataset",
	  .begin = ui_dataset_begin, .end = ui_dataset_end, .done = proxy_done },
	{ .method = "GET", .path = "/upload", .name = "ui_upload", .end = ui_upload_page_end },
	{ .method = "POST", .path = "/upload", .name = "ui_upload", .begin = ui_upload_begin,
	  .body = proxy_body, .end = ui_upload_end, .done = proxy_done },
	{ .method = "GET", .path = "/console", .name = "ui_console", .end = ui_console_get_end },
	{ .method = "POST", .path = "/console", .name = "ui_console",
	  .end = ui_console_post_end, .max_body = 1u << 20 },
	{ .method = "GET", .path = "/static/*", .name = "ui_static", .end = ui_static_end },
	PROXY_ROUTES("/v1/storage/*", "storage", storage_begin),
	PROXY_ROUTES("/v1/catalog/*", "catalog", catalog_begin),
	PROXY_ROUTES("/v1/ingest", "ingest", ingest_begin),
	PROXY_ROUTES("/v1/query", "query", query_begin),
};

/* --- /health ------------------------------------------------------------------ */

struct probe {
	const struct gateway_upstream *up;
	pthread_t tid;
	int started;
	const char *status;   /* "ok", "unhealthy", "unreachable", "not_configured" */
};

static void *probe_run(void *arg)
{
	struct probe *pr = arg;
	struct http_client_request r;
	struct http_client_response resp;
	struct lh_error err = { 0 };
	char *url = xasprintf("%s/health", pr->up->url);

	http_client_request_init(&r);
	r.url = url;
	r.timeout_ms = LH_GATEWAY_HEALTH_TIMEOUT_MS;
	r.max_buffered = 64 << 10;
	if (http_client_do(&r, &resp, &err) != 0) {
		pr->status = "unreachable";
	} else {
		pr->status = resp.status == 200 ? "ok" : "unhealthy";
		http_client_response_free(&resp);
	}
	lh_error_clear(&err);
	free(url);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Probe every configured upstream in parallel; status[i] is a static string. */
static void probe_round(struct gateway *g, const char *status[GW_NUPSTREAMS])
{
	struct probe probes[GW_NUPSTREAMS];
	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		probes[i] = (struct probe){ .up = &g->up[i], .status = "not_configured" };
		if (!g->up[i].url[0])
			continue;
		if (pthread_create(&probes[i].tid, NULL, probe_run, &probes[i]) == 0)
			probes[i].started = 1;
		else
			probe_run(&probes[i]);
	}
	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		if (probes[i].started)
			pthread_join(probes[i].tid, NULL);
		status[i] = probes[i].status;
	}
}

static int round_healthy(const char *status[GW_NUPSTREAMS])
{
	for (int i = 0; i < GW_NUPSTREAMS; i++)
		if (strcmp(status[i], "ok") != 0 && strcmp(status[i], "not_configured") != 0)
			return 0;
	return 1;
}

/* The http_server health hook: each upstream's state; 503 ("degraded") when
 * one of them is not healthy. A burst of /health requests must not become
 * four upstream calls (and four threads) each: one probe round runs at a
 * time, and callers arriving meanwhile wait for it and share its result. A
 * healthy result also answers for LH_GATEWAY_HEALTH_CACHE_MS; a degraded
 * one is not reused by later callers, so recovery shows at once. */
static int gateway_health(void *ctx, json_t *body)
{
	struct gateway *g = ctx;
	const char *status[GW_NUPSTREAMS];
	int healthy = 1;

	pthread_mutex_lock(&g->health_mu);
	int waited = 0;
	while (g->health_running) {
		pthread_cond_wait(&g->health_cv, &g->health_mu);
		waited = 1;
	}
	if (!waited && (!g->health_valid || !round_healthy(g->health_status) ||
			now_ms() - g->health_at_ms > LH_GATEWAY_HEALTH_CACHE_MS)) {
		g->health_running = 1;
		pthread_mutex_unlock(&g->health_mu);
		probe_round(g, status);
		pthread_mutex_lock(&g->health_mu);
		memcpy(g->health_status, status, sizeof status);
		g->health_at_ms = now_ms();
		g->health_valid = 1;
		g->health_running = 0;
		pthread_cond_broadcast(&g->health_cv);
	}
	memcpy(status, g->health_status, sizeof status);
	pthread_mutex_unlock(&g->health_mu);

	json_t *services = json_object();
	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		json_t *s = json_object();
		json_object_set_new(s, "status", json_string(status[i]));
		json_object_set_new(s, "url", g->up[i].url[0] ? json_string(g->up[i].url)
							       : json_null());
		json_object_set_new(services, g->up[i].name, s);
	}
	/* An upstream left unconfigured is reported, not counted: its routes
	 * answer 502 "not configured" on their own. */
	healthy = round_healthy(status);
	json_object_set_new(body, "services", services);
	return healthy ? 200 : 503;
}

/* --- life cycle ------------------------------------------------------------- */

struct gateway *gateway_start(const struct lh_config *cfg, struct lh_error *err)
{
	static const char *const names[GW_NUPSTREAMS] = { "storaged", "catalogd", "ingestd",
							  "queryd" };
	static const char *const prefixes[GW_NUPSTREAMS] = { "/storage/", "/catalog/",
							     "/ingest", "/query" };
	const char *urls[GW_NUPSTREAMS] = { cfg->gateway.storaged_url, cfg->gateway.catalogd_url,
					    cfg->gateway.ingestd_url, cfg->gateway.queryd_url };
	struct gateway *g = xcalloc(1, sizeof *g);

	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		g->up[i].name = names[i];
		g->up[i].prefix = prefixes[i];
		snprintf(g->up[i].url, sizeof g->up[i].url, "%s", urls[i]);
		size_t n = strlen(g->up[i].url);
		while (n && g->up[i].url[n - 1] == '/')
			g->up[i].url[--n] = '\0';
	}
	g->timeout_ms = cfg->gateway.upstream_timeout_ms;
	pthread_mutex_init(&g->health_mu, NULL);
	pthread_cond_init(&g->health_cv, NULL);
	struct http_server_config hc = {
		.service = "gateway",
		.bind = cfg->gateway.bind,
		.routes = gateway_routes,
		.nroutes = sizeof gateway_routes / sizeof gateway_routes[0],
		.ctx = g,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.health = gateway_health,
	};
	g->srv = auth_http_setup(&hc, cfg, err) == 0 ? http_server_start(&hc, err) : NULL;
	if (!g->srv) {
		pthread_mutex_destroy(&g->health_mu);
		pthread_cond_destroy(&g->health_cv);
		free(g);
		return NULL;
	}
	for (int i = 0; i < GW_NUPSTREAMS; i++)
		log_event("info", "gateway", "gateway: %s -> %s", names[i],
			  g->up[i].url[0] ? g->up[i].url : "(not configured)");
	return g;
}

const char *gateway_url(const struct gateway *g)
{
	return http_server_url(g->srv);
}

void gateway_stop(struct gateway *g)
{
	if (!g)
		return;
	http_server_stop(g->srv);   /* in-flight requests finish first */
	pthread_mutex_destroy(&g->health_mu);
	pthread_cond_destroy(&g->health_cv);
	free(g);
}

int gateway_main(int argc, char **argv)
{
	struct lh_config cfg;
	struct lh_error err = { 0 };
	struct gateway *g = NULL;
	int rc = service_load_config(argc, argv, "gateway", &cfg, &err);

	if (rc == 1)
		return 0;
	if (rc)
		return service_die(&err);
	config_finish(&cfg);
	g = gateway_start(&cfg, &err);
	if (!g)
		return service_die(&err);
	printf("gateway listening on %s\n", gateway_url(g));
	fflush(stdout);
	service_wait_for_signal();
	gateway_stop(g);
	return 0;
}
