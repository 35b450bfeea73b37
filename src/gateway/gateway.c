/* gateway.c — the front door (docs/api.md "gateway"): the route table that maps
 *   /v1/storage/<rest>  -> storaged  /storage/<rest>
 *   /v1/catalog/<rest>  -> catalogd  /catalog/<rest>
 *   POST /v1/datasets/<name>/rename -> catalogd /catalog/datasets/<name>/rename
 *   /v1/ingest          -> ingestd   /ingest
 *   GET /v1/documents/<doc_id> -> ingestd /documents/<doc_id> (ADR 0227)
 *   /v1/query           -> queryd    /query
 *   /v1/search, /v1/embed -> queryd  /search, /embed (search, ADR 0150)
 *   /v1/search/feedback -> queryd  /search/feedback (ADR 0190)
 *   /mcp                -> MCP over Streamable HTTP (mcp_http.c, ADR 0161)
 *   /iceberg/v1/...     -> the Iceberg REST Catalog API, read-only, and the
 *                          tables' files (iceberg.c, ADR 0235-0237)
 *   / and /datasets/..., /upload, /console[/download], /search, /static/..., /favicon.ico
 *                       -> the web UI (ui.c)
 * plus /health with each upstream's state, /ready (every configured service
 * has a ready instance, ADR 0200), and gateway_start/stop/main.
 *
 * Every proxied route streams through proxy.c. The methods an upstream does
 * not serve are its own business: the gateway forwards GET/HEAD/PUT/POST/
 * DELETE and passes the upstream's 405 and Allow back. Each service is a pool
 * of instances (common/upstream.h, ADR 0075) made at start from
 * cfg->gateway.*_url, a comma-separated list; the pools copy the URLs, so
 * the gateway owns no pointer into the caller's config. /health reads the
 * pools' health checkers and never calls an upstream itself.
 */
#include "gateway/gateway.h"

#include "common/auth.h"
#include "common/catalog_client.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/ready.h"
#include "common/service.h"
#include "common/upstream.h"
#include "common/xmalloc.h"
#include "gateway/gateway_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- routes ----------------------------------------------------------------- */

static int begin_upstream(struct http_request *req, int which)
{
	struct gateway *g = http_request_ctx(req);
	return proxy_begin(req, &g->up[which], g->timeout_ms);
}

/* Index parts (`_index/...`, ADR 0150) are written and removed by queryd's
 * builder and catalogd's GC with the service token, straight to storaged;
 * through the front door they are read-only, so no caller can plant a part
 * that a search would serve. */
static int storage_begin(struct http_request *req)
{
	const char *m = http_request_method(req), *rest = http_request_path_rest(req);
	if (strcmp(m, "GET") && strcmp(m, "HEAD") && rest &&
	    (!strncmp(rest, "put/_index/", 11) || !strncmp(rest, "delete/_index/", 14))) {
		http_respond_fail(req, 403, "forbidden", "index parts (keys under _index/) are written "
				  "only by the lakehouse itself; declare an index with PUT "
				  "/v1/catalog/index/<name>");
		return 0;
	}
	return begin_upstream(req, GW_STORAGED);
}
static int catalog_begin(struct http_request *req) { return begin_upstream(req, GW_CATALOGD); }
static int ingest_begin(struct http_request *req) { return begin_upstream(req, GW_INGESTD); }
static int query_begin(struct http_request *req) { return begin_upstream(req, GW_QUERYD); }

/* queryd's other routes: the same pool, another path (proxy_begin copies
 * what it keeps of `up`). */
static int queryd_route_begin(struct http_request *req, const char *path)
{
	struct gateway *g = http_request_ctx(req);
	struct gateway_upstream up = g->up[GW_QUERYD];
	up.prefix = path;
	return proxy_begin(req, &up, g->timeout_ms);
}

/* POST /v1/datasets/<name>/rename -> catalogd POST /catalog/datasets/<name>/rename
 * (ADR 0175); a write, so a write token. */
static int datasets_begin(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	struct gateway_upstream up = g->up[GW_CATALOGD];
	up.prefix = "/catalog/datasets/";
	return proxy_begin(req, &up, g->timeout_ms);
}

/* GET /v1/documents/<doc_id> -> ingestd GET /documents/<doc_id>: the
 * original file of a document (ADR 0227); ingestd decides who may. */
static int documents_begin(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	struct gateway_upstream up = g->up[GW_INGESTD];
	up.prefix = "/documents/";
	return proxy_begin(req, &up, g->timeout_ms);
}

static int search_begin(struct http_request *req) { return queryd_route_begin(req, "/search"); }
static int embed_begin(struct http_request *req) { return queryd_route_begin(req, "/embed"); }
/* search feedback (ADR 0190): a write for auth, since it appends a version */
static int feedback_begin(struct http_request *req)
{
	return queryd_route_begin(req, "/search/feedback");
}

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
	{ .method = "POST", .path = "/datasets/*", .name = "ui_dataset_rename_drop",
	  .end = ui_dataset_post_end, .max_body = 64u << 10 },
	{ .method = "GET", .path = "/upload", .name = "ui_upload", .end = ui_upload_page_end },
	{ .method = "POST", .path = "/upload", .name = "ui_upload", .begin = ui_upload_begin,
	  .body = ui_upload_body, .end = ui_upload_end, .done = ui_upload_done },
	{ .method = "GET", .path = "/console", .name = "ui_console", .end = ui_console_get_end },
	{ .method = "POST", .path = "/console", .name = "ui_console",
	  .end = ui_console_post_end, .max_body = 1u << 20 },
	{ .method = "POST", .path = "/console/download", .name = "ui_console_download",
	  .end = ui_console_download_end, .done = proxy_done, .max_body = 1u << 20 },
	{ .method = "GET", .path = "/search", .name = "ui_search", .end = ui_search_get_end },
	{ .method = "POST", .path = "/search", .name = "ui_search", .end = ui_search_post_end,
	  .max_body = 64u << 10 },
	{ .method = "POST", .path = "/search/feedback", .name = "ui_search_feedback",
	  .end = ui_search_feedback_post_end, .max_body = 64u << 10 },
	{ .method = "GET", .path = "/signin", .name = "ui_signin", .end = ui_signin_page_end },
	{ .method = "POST", .path = "/signin", .name = "ui_signin", .end = ui_signin_post_end,
	  .max_body = 8u << 10 },
	{ .method = "POST", .path = "/signout", .name = "ui_signin", .end = ui_signout_post_end,
	  .max_body = 8u << 10 },
	{ .method = "GET", .path = "/favicon.ico", .name = "ui_static", .end = ui_favicon_end },
	{ .method = "GET", .path = "/static/*", .name = "ui_static", .end = ui_static_end },
	PROXY_ROUTES("/v1/storage/*", "storage", storage_begin),
	PROXY_ROUTES("/v1/catalog/*", "catalog", catalog_begin),
	PROXY_ROUTE("POST", "/v1/datasets/*", "datasets", datasets_begin),
	PROXY_ROUTES("/v1/ingest", "ingest", ingest_begin),
	PROXY_ROUTE("GET", "/v1/documents/*", "documents", documents_begin),
	PROXY_ROUTES("/v1/query", "query", query_begin),
	PROXY_ROUTES("/v1/search", "search", search_begin),
	PROXY_ROUTES("/v1/search/feedback", "search_feedback", feedback_begin),
	PROXY_ROUTES("/v1/embed", "embed", embed_begin),
	/* MCP over Streamable HTTP (mcp_http.c, ADR 0161); GET is 405 */
	{ .method = "POST", .path = "/mcp", .name = "mcp", .end = mcp_http_post_end,
	  .max_body = LH_MCP_MAX_MESSAGE, .json_body = 1 },
	{ .method = "DELETE", .path = "/mcp", .name = "mcp", .end = mcp_http_delete_end },
	/* Iceberg REST Catalog (iceberg.c, ADR 0235) */
	{ .method = "GET", .path = "/iceberg/v1/*", .name = "iceberg",
	  .begin = iceberg_get_begin, .end = iceberg_get_end, .done = proxy_done },
	{ .method = "POST", .path = "/iceberg/v1/*", .name = "iceberg", .end = iceberg_write_end },
	{ .method = "PUT", .path = "/iceberg/v1/*", .name = "iceberg", .end = iceberg_write_end },
	{ .method = "DELETE", .path = "/iceberg/v1/*", .name = "iceberg", .end = iceberg_write_end },
};

/* --- /health ------------------------------------------------------------------ */

/* The http_server health hook: each service's summary ("ok", "degraded",
 * "not_ready", "unreachable", "unhealthy", "not_configured"), its configured
 * URL list and every instance's state as the pool's checkers last saw it (at
 * most LH_UPSTREAM_CHECK_INTERVAL_MS old). Always 200: /health is liveness
 * (ADR 0200); whether the gateway can serve is /ready's answer. */
static int gateway_health(void *ctx, json_t *body)
{
	struct gateway *g = ctx;
	json_t *services = json_object();

	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		const char *summary;
		struct upstream_pool *pool = g->up[i].pool;
		json_t *s = json_object();
		json_t *instances = upstream_pool_json(pool, &summary);
		json_object_set_new(s, "status", json_string(summary));
		json_object_set_new(s, "url", upstream_pool_size(pool)
						      ? json_string(upstream_pool_list(pool))
						      : json_null());
		json_object_set_new(s, "instances", instances);
		json_object_set_new(services, g->up[i].name, s);
	}
	json_object_set_new(body, "services", services);
	return 200;
}

/* /ready: each configured service has a ready instance (as the pools'
 * checkers last saw them). An unconfigured one is left out: its routes
 * answer 502 "not configured" on their own. */
static void gateway_check(void *ctx, struct ready *r)
{
	struct gateway *g = ctx;
	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		struct upstream_pool *pool = g->up[i].pool;
		size_t n = upstream_pool_size(pool), nok = 0, nnot = 0;
		if (n == 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			enum upstream_state s = upstream_pool_state(pool, k);
			nok += s == UPSTREAM_OK;
			nnot += s == UPSTREAM_NOT_READY;
		}
		char why[160];
		snprintf(why, sizeof why, "none of its %zu instance%s is ready (%zu not ready, %zu "
			 "not reachable or unhealthy)", n, n == 1 ? "" : "s", nnot, n - nnot);
		ready_report(r, g->up[i].name, nok > 0, 0, nok ? NULL : why);
	}
}

/* /metrics: one gauge per instance (1 = ok, ready) and its state. */
static void gateway_instance_metrics(void *ctx, FILE *f)
{
	struct gateway *g = ctx;
	fprintf(f, "# HELP lakehouse_upstream_instance_up 1 when the instance's last check "
		   "found it ready.\n# TYPE lakehouse_upstream_instance_up gauge\n");
	for (int i = 0; i < GW_NUPSTREAMS; i++) {
		struct upstream_pool *pool = g->up[i].pool;
		for (size_t k = 0; k < upstream_pool_size(pool); k++) {
			enum upstream_state s = upstream_pool_state(pool, k);
			fprintf(f, "lakehouse_upstream_instance_up{service=\"gateway\",upstream=\"%s\","
				   "instance=\"%s\",state=\"%s\"} %d\n", g->up[i].name,
				upstream_pool_url(pool, k), upstream_state_name(s), s == UPSTREAM_OK);
		}
	}
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
		struct upstream_pool_config pc = {
			.name = names[i],
			.urls = urls[i],
			.log_service = "gateway",
			.interval_ms = LH_UPSTREAM_CHECK_INTERVAL_MS,
			.timeout_ms = LH_UPSTREAM_CHECK_TIMEOUT_MS,
		};
		g->up[i].pool = upstream_pool_create(&pc, err);
		if (!g->up[i].pool)
			goto fail;
	}
	g->timeout_ms = cfg->gateway.upstream_timeout_ms;
	/* The UI's pages are their client's requests: each call sends that
	 * client's own bearer token (ui_peer_call), never a service token. */
	struct peer_config cc = { .name = names[GW_CATALOGD], .pool = g->up[GW_CATALOGD].pool,
				  .relay = 1 };
	g->catalog = catalog_client_create(&cc);
	g->mcp = mcp_http_create(cfg);
	g->auth_cfg = xmalloc(sizeof *g->auth_cfg);
	memcpy(g->auth_cfg, cfg, sizeof *g->auth_cfg);
	g->ice = iceberg_cache_create();
	if (auth_enabled(cfg))
		g->sessions = ui_sessions_create(cfg->gateway.session_ttl_ms, NULL);
	struct http_server_config hc = {
		.service = "gateway",
		.bind = cfg->gateway.bind,
		.routes = gateway_routes,
		.nroutes = sizeof gateway_routes / sizeof gateway_routes[0],
		.ctx = g,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.health = gateway_health,
		.ready = g->ready = ready_create("gateway", gateway_check, g),
	};
	ready_set_metrics_extra(g->ready, gateway_instance_metrics);
	if (auth_http_setup(&hc, cfg, err) == 0) {
		ui_signin_wrap_authorize(&hc, g); /* a session cookie stands for a token */
		iceberg_wrap_authorize(&hc, g);   /* /iceberg/v1/: ErrorModel 401s */
		g->srv = http_server_start(&hc, err);
	}
	if (!g->srv)
		goto fail;
	for (int i = 0; i < GW_NUPSTREAMS; i++)
		log_event("info", "gateway", "gateway: %s -> %s", names[i],
			  upstream_pool_size(g->up[i].pool) ? upstream_pool_list(g->up[i].pool)
							    : "(not configured)");
	return g;
fail:
	ready_destroy(g->ready);
	iceberg_cache_destroy(g->ice);
	ui_sessions_destroy(g->sessions);
	free(g->auth_cfg);
	mcp_http_destroy(g->mcp);
	catalog_client_destroy(g->catalog);
	for (int i = 0; i < GW_NUPSTREAMS; i++)
		upstream_pool_destroy(g->up[i].pool);
	free(g);
	return NULL;
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
	ready_destroy(g->ready);
	iceberg_cache_destroy(g->ice);
	ui_sessions_destroy(g->sessions);
	if (g->auth_cfg)
		memset(g->auth_cfg, 0, sizeof *g->auth_cfg);
	free(g->auth_cfg);
	mcp_http_destroy(g->mcp);
	catalog_client_destroy(g->catalog);
	for (int i = 0; i < GW_NUPSTREAMS; i++)
		upstream_pool_destroy(g->up[i].pool);   /* workers may hold refs */
	free(g);
}

SERVICE_OPS(gateway);

int gateway_main(int argc, char **argv)
{
	return service_run(argc, argv, &gateway_service_ops);
}
