/* iceberg.c — the Iceberg REST Catalog API, read-only, under /iceberg/v1/
 * (SPEC 18, issue 19 points 2 and 3; ADR 0235-0237; docs/iceberg.md):
 *   GET  /iceberg/v1/config                               CatalogConfig
 *   GET  /iceberg/v1/namespaces[?parent=]                 one namespace, "lakehouse"
 *   GET|HEAD /iceberg/v1/namespaces/lakehouse             its properties / 204
 *   GET  /iceberg/v1/namespaces/lakehouse/tables          every dataset (paged)
 *   GET|HEAD /iceberg/v1/namespaces/lakehouse/tables/<t>  LoadTableResult / 204
 *   GET|HEAD /iceberg/v1/files/<t>/<key>                  the table's files (Range)
 *   POST .../tables/<t>/metrics                           accepted and dropped (204)
 *   any other POST/PUT/DELETE                             405: writes go to /v1/ingest
 *
 * DESIGN NOTES
 *  1. Errors under /iceberg/v1/ are the spec's ErrorModel, {"error":
 *     {"message", "type", "code"}}, not our {"error", "code"} (ADR 0235):
 *     Iceberg clients read `type` to raise NoSuchTableException and the like.
 *     The 401 for a missing or unknown token is ours too (iceberg_wrap_authorize
 *     answers before auth.c would). Everything else keeps our error shape.
 *  2. Tokens as for /v1 (bearer). The hook only identifies the caller
 *     (401 otherwise); this file decides by role, because every route here is
 *     a read but the files are the raw objects ADR 0211 keeps from read and
 *     agent tokens. Sign-in sessions do not apply (no cookie is honoured).
 *  3. Masks (ADR 0237): a read or agent token may load a table and read its
 *     files only when the dataset has no personal columns; a masked table is
 *     403 ForbiddenException for them (its files hold the values, its
 *     manifests the bounds). Whether a dataset is masked is read from catalogd
 *     on every request, so a new mask applies at once. A file is served to a
 *     read or agent token only when it belongs to the table named in its URL:
 *     one of the objects of one of its versions, or under the table's own
 *     metadata folder; the keys of a table are cached (struct ice_cache) by
 *     (name, created_at, latest version, base), which a new version, a drop
 *     and re-create, or another base all change. Write and admin tokens (and
 *     no tokens at all) read any object under datasets/ or _iceberg/, as
 *     through /v1/storage; nobody reads other keys (_index/ ...) here.
 *  4. Locations (ADR 0236): with the S3 backend a table's base is
 *     s3://<bucket> (objects are stored under their own keys); otherwise it is
 *     <public_url>/iceberg/v1/files/<table>, public_url being [gateway]
 *     public_url or http(s)://<Host> of the request (note 6). queryd builds and stores
 *     the metadata for that base (GET /iceberg/tables/<t>?base=, H19a's
 *     builder, ADR 0230-0234); metadata files are write-once per base.
 *  5. Reads from upstreams carry the caller's token (ui_call_service), except
 *     the file bytes and queryd's metadata build for read and agent tokens,
 *     which storaged and queryd refuse them (auth_is_raw_data): those go with
 *     the services' token after note 3's check.
 *  6. The Host of a request picks the base (note 4) only when it names the
 *     gateway as the connection reached it: the local address and port of
 *     the connection (getsockname), or "localhost" or an exact [http]
 *     allowed_hosts name with that port; any other Host gets that address
 *     and port. Each base builds and stores a whole metadata set, so a
 *     client varying Host (any IP literal and port passes the Host
 *     allow-list) made storage grow without bound (review R19); now the
 *     bases are at most (addresses x (2 + names)) x 2 schemes per table.
 *     Behind a proxy that rewrites the port or the name, set public_url.
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/auth.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/tokens.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define ICE_NAMESPACE "lakehouse"
#define ICE_PREFIX "/iceberg/v1/"

/* --- ErrorModel (note 1) ---------------------------------------------------- */

static void ice_fail(struct http_request *req, int status, const char *type, const char *fmt,
		     ...) __attribute__((format(printf, 4, 5)));
static void ice_fail(struct http_request *req, int status, const char *type, const char *fmt,
		     ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *e = json_object();
	json_object_set_new(e, "message", json_string(msg));
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "code", json_integer(status));
	json_t *body = json_object();
	json_object_set_new(body, "error", e);
	http_respond_json(req, status, body);
	http_request_log_detail(req, msg);
}

/* The spec's exception type for an upstream status. */
static const char *ice_type_for(long status)
{
	switch (status) {
	case 400: return "BadRequestException";
	case 401: return "NotAuthorizedException";
	case 403: return "ForbiddenException";
	case 404: return "NoSuchTableException";
	case 503: return "ServiceUnavailableException";
	default: return "ServerErrorException";
	}
}

/* An upstream's answer that was not a success, as an ErrorModel. */
static void ice_fail_upstream(struct http_request *req, long status, const json_t *body,
			      const char *what)
{
	const char *m = json_string_value(json_object_get(body, "error"));
	if (status < 400 || status > 599)
		status = 502;
	ice_fail(req, (int)status, ice_type_for(status), "%s: %s", what,
		 m ? m : "the service gave no reason");
}

static void ice_fail_err(struct http_request *req, const struct lh_error *err)
{
	ice_fail(req, err->status ? err->status : 502, ice_type_for(err->status), "%s", err->msg);
}

/* --- the hook (note 2) ------------------------------------------------------ */

struct ice_hook {
	int (*inner)(void *ctx, struct http_request *req);
	void *inner_ctx;
	void (*inner_free)(void *ctx);
	struct gateway *g;
};

static int ice_authorize(void *ctx, struct http_request *req)
{
	struct ice_hook *hk = ctx;
	if (strncmp(http_request_path(req), ICE_PREFIX, strlen(ICE_PREFIX)) != 0 &&
	    strcmp(http_request_path(req), "/iceberg/v1"))
		return hk->inner(hk->inner_ctx, req);
	struct auth_principal who;
	const char *authz = http_request_header(req, "Authorization");
	enum auth_outcome o = auth_identify(hk->g->auth_cfg, authz, &who);
	if (o == AUTH_ALLOW) {
		if (who.name[0])
			http_request_set_who(req, who.name, (int)who.role);
		return 0;
	}
	ice_fail(req, 401, "NotAuthorizedException",
		 "a valid bearer token is required: send \"Authorization: Bearer <token>\" (set "
		 "the client's token property)");
	http_response_header(req, "WWW-Authenticate",
			     authz ? "Bearer realm=\"lakehouse\", error=\"invalid_token\""
				   : "Bearer realm=\"lakehouse\"");
	return -1;
}

static void ice_hook_free(void *ctx)
{
	struct ice_hook *hk = ctx;
	if (hk->inner_free)
		hk->inner_free(hk->inner_ctx);
	free(hk);
}

void iceberg_wrap_authorize(struct http_server_config *hc, struct gateway *g)
{
	if (!hc->authorize)
		return; /* no tokens: nothing to check */
	struct ice_hook *hk = xcalloc(1, sizeof *hk);
	hk->inner = hc->authorize;
	hk->inner_ctx = hc->authorize_ctx;
	hk->inner_free = hc->authorize_free;
	hk->g = g;
	hc->authorize = ice_authorize;
	hc->authorize_ctx = hk;
	hc->authorize_free = ice_hook_free;
}

/* --- the table-keys cache (note 3) ------------------------------------------ */

struct ice_entry {
	char *name, *created_at, *base;
	int64_t version;
	char *meta_prefix;            /* "_iceberg/.../" of this table and base */
	char **keys;                  /* sorted data object keys of every version */
	size_t nkeys;
	uint64_t used;                /* LRU stamp */
};

struct ice_cache {
	pthread_mutex_t mu;
	struct ice_entry e[LH_ICEBERG_CACHE_TABLES];
	uint64_t clock;
};

struct ice_cache *iceberg_cache_create(void)
{
	struct ice_cache *c = xcalloc(1, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void ice_entry_free(struct ice_entry *e)
{
	free(e->name);
	free(e->created_at);
	free(e->base);
	free(e->meta_prefix);
	for (size_t i = 0; i < e->nkeys; i++)
		free(e->keys[i]);
	free(e->keys);
	memset(e, 0, sizeof *e);
}

void iceberg_cache_destroy(struct ice_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < LH_ICEBERG_CACHE_TABLES; i++)
		ice_entry_free(&c->e[i]);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if `key` belongs to the cached entry matching (name, created_at,
 * version, base), 0 if it does not, -1 if there is no such entry. */
static int ice_cache_lookup(struct ice_cache *c, const char *name, const char *created_at,
			    int64_t version, const char *base, const char *key)
{
	int found = -1;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < LH_ICEBERG_CACHE_TABLES; i++) {
		struct ice_entry *e = &c->e[i];
		if (!e->name || strcmp(e->name, name) || strcmp(e->created_at, created_at) ||
		    e->version != version || strcmp(e->base, base))
			continue;
		e->used = ++c->clock;
		if (e->meta_prefix[0] && !strncmp(key, e->meta_prefix, strlen(e->meta_prefix)))
			found = 1;
		else
			found = bsearch(&key, e->keys, e->nkeys, sizeof *e->keys, cmp_str) != NULL;
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

/* Take out the entry of (name, created_at, base) made for an older version,
 * if there is one: 1 with *out (now the caller's), else 0. Versions only
 * add keys, so a refill fetches only the versions after it. */
static int ice_cache_take_older(struct ice_cache *c, const char *name, const char *created_at,
				int64_t version, const char *base, struct ice_entry *out)
{
	int found = 0;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < LH_ICEBERG_CACHE_TABLES; i++) {
		struct ice_entry *e = &c->e[i];
		if (!e->name || strcmp(e->name, name) || strcmp(e->created_at, created_at) ||
		    e->version >= version || strcmp(e->base, base))
			continue;
		*out = *e;
		memset(e, 0, sizeof *e);
		found = 1;
		break;
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

/* Store `fresh` (taken over) in place of the least recently used entry. */
static void ice_cache_store(struct ice_cache *c, struct ice_entry *fresh)
{
	pthread_mutex_lock(&c->mu);
	int victim = 0;
	for (int i = 0; i < LH_ICEBERG_CACHE_TABLES; i++) {
		struct ice_entry *e = &c->e[i];
		if (e->name && !strcmp(e->name, fresh->name) &&
		    !strcmp(e->created_at, fresh->created_at) && e->version == fresh->version &&
		    !strcmp(e->base, fresh->base)) {
			/* a concurrent request filled it first: keep one */
			pthread_mutex_unlock(&c->mu);
			ice_entry_free(fresh);
			return;
		}
	}
	for (int i = 0; i < LH_ICEBERG_CACHE_TABLES; i++) {
		if (!c->e[i].name) {
			victim = i;
			break;
		}
		if (c->e[i].used < c->e[victim].used)
			victim = i;
	}
	ice_entry_free(&c->e[victim]);
	c->e[victim] = *fresh;
	c->e[victim].used = ++c->clock;
	memset(fresh, 0, sizeof *fresh);
	pthread_mutex_unlock(&c->mu);
}

/* --- helpers ---------------------------------------------------------------- */

static int is_head(struct http_request *req)
{
	return !strcmp(http_request_method(req), "HEAD");
}

static int role_is_masked(struct http_request *req)
{
	enum lh_role r = (enum lh_role)http_request_role(req);
	return !tokens_role_sees_personal(r);
}

/* Whether the name n[0..nn) is one the gateway answers for by name
 * (note 6): "localhost" or an exact name of [http] allowed_hosts. */
static int ice_host_named(const struct lh_config *cfg, const char *n, size_t nn)
{
	if (nn == 9 && !strncasecmp(n, "localhost", 9))
		return 1;
	const char *list = cfg->http.allowed_hosts, *e;
	size_t pos = 0, en, ln = strnlen(list, sizeof cfg->http.allowed_hosts);
	while (config_list_next(list, ln, &pos, &e, &en))
		if (en == nn && e[0] != '*' && !strncasecmp(e, n, nn))
			return 1;
	return 0;
}

/* The host[:port] of the locations (note 6): the request's Host when it
 * names the address and port the connection arrived on, or "localhost" or
 * an allowed_hosts name with that port; else that address and port. */
static void ice_host(struct http_request *req, const struct lh_config *cfg, char *out,
		     size_t on)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[INET6_ADDRSTRLEN] = "127.0.0.1";
	unsigned port = 0;
	int fd = http_request_client_fd(req), v6 = 0;
	memset(&ss, 0, sizeof ss);
	if (fd >= 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
				inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof ip);
			} else {
				inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
				v6 = 1;
			}
			port = ntohs(a->sin6_port);
		}
	}
	if (port)
		snprintf(out, on, v6 ? "[%s]:%u" : "%s:%u", ip, port);
	else
		snprintf(out, on, "%s", ip);
	const char *h = http_request_header(req, "Host");
	if (!h || !port)
		return;
	/* split host[:port] / [v6][:port] */
	size_t hl = strlen(h), nn;
	const char *n = h, *colon;
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', hl);
		if (!rb)
			return;
		n = h + 1;
		nn = (size_t)(rb - n);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] && !colon)
			return;
	} else {
		colon = strrchr(h, ':');
		nn = colon ? (size_t)(colon - h) : hl;
	}
	unsigned hp = 80;
	if (colon) {
		hp = 0;
		if (!colon[1] || strlen(colon + 1) > 5)
			return;
		for (const char *p = colon + 1; *p; p++) {
			if (*p < '0' || *p > '9')
				return;
			hp = hp * 10 + (unsigned)(*p - '0');
		}
	}
	if (hp != port || nn == 0 || nn >= 256)
		return;
	char name[256];
	memcpy(name, n, nn);
	name[nn] = 0;
	unsigned char want[16], got[16];
	int same_ip = inet_pton(v6 ? AF_INET6 : AF_INET, ip, want) == 1 &&
		      inet_pton(v6 ? AF_INET6 : AF_INET, name, got) == 1 &&
		      !memcmp(want, got, v6 ? 16 : 4);
	if (same_ip || ice_host_named(cfg, n, nn))
		snprintf(out, on, "%s", h);
}

/* The table location base for `table` (note 4): a new string. */
static char *ice_base(struct http_request *req, const char *table)
{
	struct gateway *g = http_request_ctx(req);
	const struct lh_config *cfg = g->auth_cfg;
	if (!strcmp(cfg->storaged.backend, "s3") && cfg->storaged.s3_bucket[0])
		return xasprintf("s3://%s", cfg->storaged.s3_bucket);
	if (cfg->gateway.public_url[0]) {
		size_t n = strlen(cfg->gateway.public_url);
		while (n && cfg->gateway.public_url[n - 1] == '/')
			n--;
		return xasprintf("%.*s/iceberg/v1/files/%s", (int)n, cfg->gateway.public_url, table);
	}
	char host[300];
	ice_host(req, cfg, host, sizeof host);
	const char *proto = http_request_header(req, "X-Forwarded-Proto");
	return xasprintf("%s://%s/iceberg/v1/files/%s",
			 proto && !strcasecmp(proto, "https") ? "https" : "http", host, table);
}

/* GET /catalog/datasets with the caller's token: 0 with *out (the
 * "datasets" array's owner object), or -1 having answered the request. */
static int ice_datasets(struct http_request *req, json_t **out)
{
	struct lh_error err = { 0 };
	long status = 0;
	json_t *body = NULL;
	*out = NULL;
	if (ui_call_service(req, GW_CATALOGD, "GET", "/catalog/datasets", NULL, &status, &body,
			    &err)) {
		ice_fail_err(req, &err);
		lh_error_clear(&err);
		return -1;
	}
	if (status != 200 || !json_is_array(json_object_get(body, "datasets"))) {
		ice_fail_upstream(req, status == 200 ? 502 : status, body, "the catalog failed");
		json_decref(body);
		return -1;
	}
	*out = body;
	return 0;
}

/* The dataset called `name` in a /catalog/datasets answer, or NULL. */
static json_t *ice_find(json_t *datasets, const char *name)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(datasets, "datasets"), i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		if (n && !strcmp(n, name))
			return d;
	}
	return NULL;
}

/* The masked columns of a dataset as "a, b" (a new string) or NULL. */
static char *ice_masked(json_t *d)
{
	json_t *m = json_object_get(d, "masked");
	if (!json_is_array(m) || json_array_size(m) == 0)
		return NULL;
	size_t cap = 1024, len = 0, i;
	char *s = xcalloc(1, cap);
	json_t *c;
	json_array_foreach(m, i, c) {
		const char *v = json_string_value(c);
		if (v)
			len += (size_t)snprintf(s + len, len < cap ? cap - len : 0, "%s%s",
						i ? ", " : "", v);
		if (len >= cap) {
			s[cap - 1] = '\0';
			break;
		}
	}
	return s;
}

/* Note 3: 403 for a read or agent token on a masked table; 0 when allowed. */
static int ice_check_masks(struct http_request *req, json_t *d, const char *table)
{
	if (!role_is_masked(req))
		return 0;
	char *cols = ice_masked(d);
	if (!cols)
		return 0;
	ice_fail(req, 403, "ForbiddenException",
		 "the table %s has personal columns (%s), which are masked for the role %s; an "
		 "Iceberg client reads the files as they are, so it needs a write or admin token. "
		 "Query the dataset through /v1/query instead", table, cols,
		 tokens_role_name((enum lh_role)http_request_role(req)));
	free(cols);
	return -1;
}

/* queryd's GET /iceberg/tables/<t>?base= (note 4): 0 with *out, or -1
 * having answered the request. */
static int ice_table_metadata(struct http_request *req, const char *table, const char *base,
			      json_t **out)
{
	struct lh_error err = { 0 };
	long status = 0;
	json_t *body = NULL;
	char *eb = url_encode(base, 0);
	char *path = xasprintf("/iceberg/tables/%s?base=%s", table, eb);
	free(eb);
	*out = NULL;
	/* queryd builds metadata for write and admin tokens and the services'
	 * token only (the manifests hold masked columns' bounds): a read or
	 * agent token's request goes with the services' token once
	 * ice_check_masks has let it through (note 5). */
	struct gateway *g = http_request_ctx(req);
	const char *as = role_is_masked(req) && http_request_role(req) != LH_ROLE_NONE
				 ? auth_service_token(g->auth_cfg) : NULL;
	int rc = ui_call_service_as(req, GW_QUERYD, "GET", path, NULL, as, &status, &body, &err);
	free(path);
	if (rc) {
		ice_fail_err(req, &err);
		lh_error_clear(&err);
		return -1;
	}
	if (status == 404) {
		ice_fail(req, 404, "NoSuchTableException", "Table does not exist: %s.%s",
			 ICE_NAMESPACE, table);
		json_decref(body);
		return -1;
	}
	if (status != 200 || !json_is_string(json_object_get(body, "metadata-location")) ||
	    !json_is_object(json_object_get(body, "metadata"))) {
		ice_fail_upstream(req, status == 200 ? 502 : status, body,
				  "building the table's Iceberg metadata failed");
		json_decref(body);
		return -1;
	}
	*out = body;
	return 0;
}

/* The namespace of a path segment: 1 for ours. */
static int ice_is_ns(const char *s, size_t n)
{
	return n == strlen(ICE_NAMESPACE) && !memcmp(s, ICE_NAMESPACE, n);
}

/* --- routes ------------------------------------------------------------------ */

static int ice_config(struct http_request *req)
{
	static const char *const endpoints[] = {
		"GET /v1/{prefix}/namespaces",
		"GET /v1/{prefix}/namespaces/{namespace}",
		"HEAD /v1/{prefix}/namespaces/{namespace}",
		"GET /v1/{prefix}/namespaces/{namespace}/tables",
		"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
		"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
		"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics",
	};
	json_t *body = json_object(), *eps = json_array();
	json_object_set_new(body, "defaults", json_object());
	json_object_set_new(body, "overrides", json_object());
	for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++)
		json_array_append_new(eps, json_string(endpoints[i]));
	json_object_set_new(body, "endpoints", eps);
	http_respond_json(req, 200, body);
	return 0;
}

static int ice_namespaces(struct http_request *req)
{
	const char *parent = http_request_query(req, "parent");
	json_t *list = json_array();
	if (parent && !ice_is_ns(parent, strlen(parent))) {
		json_decref(list);
		ice_fail(req, 404, "NoSuchNamespaceException", "Namespace does not exist: %s",
			 parent);
		return 0;
	}
	if (!parent) { /* "lakehouse" has no namespaces under it */
		json_t *ns = json_array();
		json_array_append_new(ns, json_string(ICE_NAMESPACE));
		json_array_append_new(list, ns);
	}
	json_t *body = json_object();
	json_object_set_new(body, "namespaces", list);
	http_respond_json(req, 200, body);
	return 0;
}

static int ice_namespace(struct http_request *req, const char *ns, size_t n)
{
	if (!ice_is_ns(ns, n)) {
		ice_fail(req, 404, "NoSuchNamespaceException", "Namespace does not exist: %.*s",
			 (int)(n > 200 ? 200 : n), ns);
		return 0;
	}
	if (is_head(req)) {
		http_respond_empty(req, 204);
		return 0;
	}
	json_t *body = json_object(), *name = json_array(), *props = json_object();
	json_array_append_new(name, json_string(ICE_NAMESPACE));
	json_object_set_new(props, "comment", json_string("every dataset of this lakehouse, "
							   "read-only; write through /v1/ingest"));
	json_object_set_new(body, "namespace", name);
	json_object_set_new(body, "properties", props);
	http_respond_json(req, 200, body);
	return 0;
}

/* GET .../tables[?pageToken=&pageSize=]: names in byte order; the page
 * token is the last name of the previous page. */
static int ice_list_tables(struct http_request *req)
{
	json_t *ds = NULL;
	const char *token = http_request_query(req, "pageToken");
	const char *size = http_request_query(req, "pageSize");
	long page = 0;
	if (size && size[0]) {
		char *end;
		page = strtol(size, &end, 10);
		if (*end || page < 1) {
			ice_fail(req, 400, "BadRequestException",
				 "pageSize must be a positive whole number");
			return 0;
		}
		if (page > LH_ICEBERG_PAGE_MAX)
			page = LH_ICEBERG_PAGE_MAX;
	}
	if (ice_datasets(req, &ds))
		return 0;
	json_t *ids = json_array();
	size_t i, taken = 0;
	json_t *d;
	const char *last = NULL;
	int more = 0;
	json_array_foreach(json_object_get(ds, "datasets"), i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		if (!n || (token && token[0] && strcmp(n, token) <= 0))
			continue;
		if (page && taken == (size_t)page) {
			more = 1;
			break;
		}
		json_t *id = json_object(), *nsa = json_array();
		json_array_append_new(nsa, json_string(ICE_NAMESPACE));
		json_object_set_new(id, "namespace", nsa);
		json_object_set_new(id, "name", json_string(n));
		json_array_append_new(ids, id);
		last = n;
		taken++;
	}
	json_t *body = json_object();
	json_object_set_new(body, "identifiers", ids);
	if (more && last)
		json_object_set_new(body, "next-page-token", json_string(last));
	http_respond_json(req, 200, body);
	json_decref(ds);
	return 0;
}

static int ice_load_table(struct http_request *req, const char *table)
{
	json_t *ds = NULL, *meta = NULL;
	char *base = NULL;
	if (!dataset_name_valid(table)) {
		ice_fail(req, 404, "NoSuchTableException", "Table does not exist: %s.%.200s",
			 ICE_NAMESPACE, table);
		return 0;
	}
	if (ice_datasets(req, &ds))
		return 0;
	json_t *d = ice_find(ds, table);
	if (!d) {
		ice_fail(req, 404, "NoSuchTableException", "Table does not exist: %s.%s",
			 ICE_NAMESPACE, table);
		goto out;
	}
	if (is_head(req)) {
		http_respond_empty(req, 204);
		goto out;
	}
	if (ice_check_masks(req, d, table))
		goto out;
	base = ice_base(req, table);
	if (ice_table_metadata(req, table, base, &meta))
		goto out;
	json_t *body = json_object();
	json_object_set(body, "metadata-location", json_object_get(meta, "metadata-location"));
	json_object_set(body, "metadata", json_object_get(meta, "metadata"));
	json_object_set_new(body, "config", json_object());
	http_respond_json(req, 200, body);
out:
	free(base);
	json_decref(meta);
	json_decref(ds);
	return 0;
}

/* Note 3: fill a cache entry for (table, base): every version's objects and
 * the metadata folder, starting from `older` (an entry of an earlier
 * version, taken over; its name is NULL when there is none). 0, or -1
 * having answered. */
static int ice_fill(struct http_request *req, const char *table, const char *created_at,
		    int64_t version, const char *base, struct ice_entry *older,
		    struct ice_entry *e)
{
	struct lh_error err = { 0 };
	json_t *meta = NULL, *body = NULL;
	long status = 0;
	size_t cap = 64;
	int64_t from = 1;
	int rc = -1;

	memset(e, 0, sizeof *e);
	if (older->name) { /* the folder and the older versions' keys stay */
		*e = *older;
		memset(older, 0, sizeof *older);
		from = e->version + 1;
		cap = e->nkeys > cap ? e->nkeys : cap;
		e->keys = xrealloc(e->keys, cap * sizeof *e->keys);
		free(e->name);
		free(e->created_at);
		free(e->base);
		e->name = e->created_at = e->base = NULL;
	} else {
		e->keys = xmalloc(cap * sizeof *e->keys);
		if (ice_table_metadata(req, table, base, &meta))
			goto out;
		/* metadata-location = base/<folder>/metadata/vN.metadata.json */
		const char *loc = json_string_value(json_object_get(meta, "metadata-location"));
		size_t bl = strlen(base);
		const char *m = strncmp(loc, base, bl) || loc[bl] != '/'
					? NULL : strstr(loc + bl, "/metadata/");
		if (!m || m == loc + bl) {
			ice_fail(req, 502, "ServerErrorException",
				 "the table's metadata is not under its location");
			goto out;
		}
		e->meta_prefix = xasprintf("%.*s/", (int)(m - (loc + bl + 1)), loc + bl + 1);
	}
	for (int64_t v = from; v <= version; v++) {
		char *path = xasprintf("/catalog/manifest/%s?version=%lld", table, (long long)v);
		json_decref(body);
		body = NULL;
		int crc = ui_call_service(req, GW_CATALOGD, "GET", path, NULL, &status, &body, &err);
		free(path);
		if (crc) {
			ice_fail_err(req, &err);
			goto out;
		}
		if (status != 200) {
			ice_fail_upstream(req, status, body, "the catalog failed");
			goto out;
		}
		size_t i;
		json_t *o;
		json_array_foreach(json_object_get(body, "objects"), i, o) {
			const char *k = json_string_value(json_object_get(o, "key"));
			if (!k)
				continue;
			if (e->nkeys == cap) {
				cap *= 2;
				e->keys = xrealloc(e->keys, cap * sizeof *e->keys);
			}
			e->keys[e->nkeys++] = xstrdup(k);
		}
	}
	qsort(e->keys, e->nkeys, sizeof *e->keys, cmp_str);
	e->name = xstrdup(table);
	e->created_at = xstrdup(created_at);
	e->base = xstrdup(base);
	e->version = version;
	rc = 0;
out:
	if (rc)
		ice_entry_free(e);
	lh_error_clear(&err);
	json_decref(body);
	json_decref(meta);
	return rc;
}

/* GET|HEAD /iceberg/v1/files/<table>/<key> (notes 3, 5). */
static int ice_file(struct http_request *req, const char *rest)
{
	struct gateway *g = http_request_ctx(req);
	struct lh_error err = { 0 };
	json_t *ds = NULL;
	char *table = NULL, *base = NULL, *authz = NULL;
	const char *slash = strchr(rest, '/');
	int rc = 0;

	if (!slash) {
		ice_fail(req, 404, "NotFoundException", "no such file: a file's path is "
			 "/iceberg/v1/files/<table>/<key>");
		return 0;
	}
	table = xasprintf("%.*s", (int)(slash - rest), rest);
	const char *key = slash + 1;
	if (!dataset_name_valid(table) ||
	    storage_key_validate(key, strlen(key), &err) != 0 ||
	    (strncmp(key, "datasets/", 9) && strncmp(key, "_iceberg/", 9))) {
		ice_fail(req, 404, "NotFoundException", "no such file: %.300s", rest);
		goto out;
	}
	if (role_is_masked(req) && http_request_role(req) != LH_ROLE_NONE) {
		if (ice_datasets(req, &ds))
			goto out;
		json_t *d = ice_find(ds, table);
		if (!d) {
			ice_fail(req, 404, "NoSuchTableException", "Table does not exist: %s.%s",
				 ICE_NAMESPACE, table);
			goto out;
		}
		if (ice_check_masks(req, d, table))
			goto out;
		const char *created = json_string_value(json_object_get(d, "created_at"));
		int64_t version = json_integer_value(json_object_get(d, "version"));
		base = ice_base(req, table);
		int in = ice_cache_lookup(g->ice, table, created ? created : "", version, base, key);
		if (in < 0) {
			struct ice_entry e, older = { 0 };
			ice_cache_take_older(g->ice, table, created ? created : "", version, base,
					     &older);
			int frc = ice_fill(req, table, created ? created : "", version, base, &older,
					   &e);
			ice_entry_free(&older);
			if (frc)
				goto out;
			ice_cache_store(g->ice, &e);
			in = ice_cache_lookup(g->ice, table, created ? created : "", version, base,
					      key);
		}
		if (in != 1) {
			ice_fail(req, 404, "NotFoundException", "no such file in the table %s: %.300s",
				 table, key);
			goto out;
		}
		const char *svc = auth_service_token(g->auth_cfg);
		authz = xasprintf("Bearer %s", svc ? svc : "");
	}
	struct gateway_upstream up = g->up[GW_STORAGED];
	up.prefix = "/storage/get/";
	rc = proxy_begin_as(req, &up, g->timeout_ms, key, authz);
out:
	lh_error_clear(&err);
	json_decref(ds);
	free(table);
	free(base);
	if (authz)
		memset(authz, 0, strlen(authz));
	free(authz);
	return rc;
}

/* GET and HEAD under /iceberg/v1/: the route's begin (files are proxied and
 * need begin; everything else answers here, before end). */
int iceberg_get_begin(struct http_request *req)
{
	const char *rest = http_request_path_rest(req);
	if (!rest)
		rest = "";
	if (!strcmp(rest, "config"))
		return ice_config(req);
	if (!strncmp(rest, "files/", 6))
		return ice_file(req, rest + 6);
	if (!strcmp(rest, "namespaces"))
		return ice_namespaces(req);
	if (!strncmp(rest, "namespaces/", 11)) {
		const char *ns = rest + 11, *s = strchr(ns, '/');
		size_t n = s ? (size_t)(s - ns) : strlen(ns);
		if (!s)
			return ice_namespace(req, ns, n);
		if (!ice_is_ns(ns, n)) {
			ice_fail(req, 404, "NoSuchNamespaceException",
				 "Namespace does not exist: %.*s", (int)(n > 200 ? 200 : n), ns);
			return 0;
		}
		if (!strcmp(s, "/tables"))
			return ice_list_tables(req);
		if (!strncmp(s, "/tables/", 8) && s[8] && !strchr(s + 8, '/'))
			return ice_load_table(req, s + 8);
		if (!strcmp(s, "/views")) { /* no views: an empty list */
			json_t *body = json_object();
			json_object_set_new(body, "identifiers", json_array());
			http_respond_json(req, 200, body);
			return 0;
		}
	}
	ice_fail(req, 404, "NotFoundException",
		 "no such Iceberg REST route: GET /iceberg/v1/%.200s (this catalog serves config, "
		 "namespaces, tables and files, read-only)", rest);
	return 0;
}

int iceberg_get_end(struct http_request *req)
{
	if (http_request_responded(req))
		return 0;
	return proxy_end(req);
}

/* POST/PUT/DELETE under /iceberg/v1/: a metrics report is accepted and
 * dropped (clients send one after each scan); every write is 405. */
int iceberg_write_end(struct http_request *req)
{
	const char *m = http_request_method(req), *rest = http_request_path_rest(req);
	size_t n = rest ? strlen(rest) : 0;
	if (!strcmp(m, "POST") && n > 8 && !strcmp(rest + n - 8, "/metrics") &&
	    !strncmp(rest, "namespaces/", 11)) {
		http_respond_empty(req, 204);
		return 0;
	}
	ice_fail(req, 405, "UnsupportedOperationException",
		 "this Iceberg catalog is read-only: %s /iceberg/v1/%.200s is not supported. Write "
		 "data with POST /v1/ingest (or lakehouse ingest); each ingest is a new snapshot",
		 m, rest ? rest : "");
	http_response_header(req, "Allow", "GET, HEAD");
	return 0;
}
