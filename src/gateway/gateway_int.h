/* gateway_int.h — the gateway's private pieces, shared by gateway.c (routes,
 * health, start/stop), proxy.c (the streaming reverse proxy) and ui.c (the
 * page at "/"). Other modules include only gateway/gateway.h.
 */
#ifndef LH_GATEWAY_INT_H
#define LH_GATEWAY_INT_H
#include "common/config.h"

#include <stddef.h>
#include <stdint.h>

struct http_request;
struct http_server;
struct lh_error;

struct upstream_pool;
struct catalog_client;
struct ui_sessions;

/* One service behind the gateway: a pool of interchangeable instances
 * (common/upstream.h, ADR 0075). */
struct gateway_upstream {
	const char *name;            /* "storaged": logs, /health, error messages */
	const char *prefix;          /* path on the upstream, e.g. "/storage/" */
	struct upstream_pool *pool;  /* owned; empty = not configured */
};

enum { GW_STORAGED, GW_CATALOGD, GW_INGESTD, GW_QUERYD, GW_NUPSTREAMS };

struct gateway {
	struct http_server *srv;
	struct gateway_upstream up[GW_NUPSTREAMS];
	unsigned timeout_ms;         /* cfg->gateway.upstream_timeout_ms */
	struct catalog_client *catalog;  /* the UI's reads of catalogd, over
					  * up[GW_CATALOGD]'s pool: a relaying
					  * client (catalog_client.h, ADR 0130) */
	struct mcp_http *mcp;        /* /mcp's sessions (mcp_http.c) */
	struct ready *ready;         /* GET /ready over the pools (ADR 0200) */
	struct ui_sessions *sessions; /* web UI sign-ins (ui_session.c, ADR 0212) */
	struct lh_config *auth_cfg;  /* a copy of the configuration, for the
				      * sign-in page's token checks (auth.h),
				      * and the Iceberg locations (iceberg.c) */
	struct ice_cache *ice;       /* tables' file keys (iceberg.c note 3) */
};

/* --- iceberg.c ----------------------------------------------------------------
 * The Iceberg REST Catalog API under /iceberg/v1/ (ADR 0235-0237). */
struct ice_cache;
struct http_server_config;
struct ice_cache *iceberg_cache_create(void);
void iceberg_cache_destroy(struct ice_cache *c);
/* Wrap the authorize hook so /iceberg/v1/ answers 401 as an ErrorModel and
 * lets every identified caller through to the routes, which decide by role. */
void iceberg_wrap_authorize(struct http_server_config *hc, struct gateway *g);
int iceberg_get_begin(struct http_request *req);   /* GET|HEAD /iceberg/v1/... */
int iceberg_get_end(struct http_request *req);     /*   (done: proxy_done) */
int iceberg_write_end(struct http_request *req);   /* POST|PUT|DELETE: 405 */

/* --- mcp_http.c -------------------------------------------------------------
 * MCP over Streamable HTTP at /mcp (ADR 0161): the sessions and the tokens'
 * classes (a copy of cfg->auth), and the routes' end callbacks. */
struct mcp_http;
struct mcp_http *mcp_http_create(const struct lh_config *cfg);
void mcp_http_destroy(struct mcp_http *m);
int mcp_http_post_end(struct http_request *req);
int mcp_http_delete_end(struct http_request *req);

/* --- proxy.c --------------------------------------------------------------
 * Route callbacks that forward the request to `up` (see proxy.c's design
 * notes). proxy_begin() is called by the route's begin() with the upstream
 * chosen; body/end/done are the route's callbacks as they are. */
int proxy_begin(struct http_request *req, const struct gateway_upstream *up,
		unsigned timeout_ms);
/* As proxy_begin(), but the upstream path is up->prefix + encode(`rest`)
 * (NULL = the request's path rest) and, when `authorization` is not NULL,
 * the upstream gets that Authorization value instead of the client's (the
 * Iceberg file route reads objects with the services' token once it has
 * decided the caller may, iceberg.c). Both are copied. */
int proxy_begin_as(struct http_request *req, const struct gateway_upstream *up,
		   unsigned timeout_ms, const char *rest, const char *authorization);
int proxy_body(struct http_request *req, const char *data, size_t n);
int proxy_end(struct http_request *req);
void proxy_done(struct http_request *req, int completed);

/* Instead of proxy_begin(): a request of the gateway's own to `up` —
 * `method` to up->url + `path` (already encoded, with its query string),
 * with `body` (copied; NULL = none) of `content_type`. The client's body is
 * not forwarded (the route needs no body callback). Finish with proxy_end()
 * to stream the answer back, or proxy_collect(); proxy_done() as usual. */
int proxy_begin_request(struct http_request *req, const struct gateway_upstream *up,
			unsigned timeout_ms, const char *method, const char *path,
			const char *body, size_t body_len, const char *content_type);
/* Instead of proxy_end(): wait for the whole upstream answer (at most `cap`
 * bytes) and hand it over rather than streaming it: returns 0 with *status
 * and *body (NUL-terminated, caller frees, *len bytes), or -1 with err (the
 * upstream could not be reached, timed out, or answered more than cap). Sets
 * no response. */
int proxy_collect(struct http_request *req, size_t cap, long *status, char **body,
		  size_t *len, struct lh_error *err);
/* After proxy_end(): the upstream's status, or 0 if it never answered. */
long proxy_status(struct http_request *req);
/* Before proxy_end() or proxy_collect(): wait for the upstream's answer to
 * begin and return its status, or 0 if it failed without one (then either
 * call answers the error). Lets a route stream a 200 and render anything
 * else (the console's downloads, ui.c). */
long proxy_wait_head(struct http_request *req);

/* Pure: percent-encode `in` onto the capped buffer `out` (size `cap`, used
 * `*len`), keeping RFC 3986 unreserved bytes, and '/' when keep_slash.
 * Returns 0, or -1 when it does not fit (out is then unspecified). */
int proxy_encode(char *out, size_t cap, size_t *len, const char *in, int keep_slash);

/* Pure: the upstream URL base + prefix + encode(rest) [+ "?" k=v&...]
 * (base "" gives the path alone, which the worker puts after the URL of the
 * instance it picks).
 * `query` holds nquery (key, value) pairs, value NULL for a bare key.
 * Returns a new string (caller frees) or NULL if longer than
 * LH_GATEWAY_MAX_URL. */
char *proxy_url_build(const char *base, const char *prefix, const char *rest,
		      const char *const *query, size_t nquery);

/* --- ui.c -----------------------------------------------------------------
 * The web UI's route callbacks (ui.c's header comment lists the pages). */
int ui_index_end(struct http_request *req);            /* GET /            */
int ui_dataset_begin(struct http_request *req);        /* GET /datasets/... */
int ui_dataset_post_end(struct http_request *req);     /* POST /datasets/<name>/rename|drop */
int ui_dataset_end(struct http_request *req);          /*   (done: proxy_done) */
int ui_upload_page_end(struct http_request *req);      /* GET /upload      */
int ui_upload_begin(struct http_request *req);         /* POST /upload     */
int ui_upload_body(struct http_request *req, const char *data, size_t n);
int ui_upload_end(struct http_request *req);
void ui_upload_done(struct http_request *req, int completed);
int ui_console_get_end(struct http_request *req);      /* GET /console     */
int ui_console_post_end(struct http_request *req);     /* POST /console    */
int ui_console_download_end(struct http_request *req); /* POST /console/download
                                                        *   (done: proxy_done) */
int ui_search_get_end(struct http_request *req);       /* GET /search      */
int ui_search_post_end(struct http_request *req);      /* POST /search     */
int ui_search_feedback_post_end(struct http_request *req); /* POST /search/feedback */
int ui_favicon_end(struct http_request *req);          /* GET /favicon.ico */
int ui_signin_page_end(struct http_request *req);      /* GET /signin      */
int ui_signin_post_end(struct http_request *req);      /* POST /signin     */
int ui_signout_post_end(struct http_request *req);     /* POST /signout    */
/* Sign-in sessions (ui_session.c, ui_signin.c, ADR 0212). */
struct http_server_config;
struct ui_sessions *ui_sessions_create(int64_t ttl_ms, int64_t (*now_ms)(void));
void ui_sessions_destroy(struct ui_sessions *t);
void ui_signin_wrap_authorize(struct http_server_config *hc, struct gateway *g);
int ui_static_end(struct http_request *req);           /* GET /static/...   */

#endif
