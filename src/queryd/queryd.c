/* queryd.c — the read-only SQL service (SPEC 8): POST /query, the catalog
 * and storage lookups behind it, the time-limit watchdog, and the service
 * life cycle (queryd_start / queryd_stop / queryd_main).
 *
 * DESIGN NOTES — one POST /query (query_end), in order:
 *  1. Parse {"sql","format","max_rows","timeout_ms"}; SQL over
 *     LH_SQL_MAX_BYTES -> 413; an unknown format -> 400 naming "format".
 *  2. sql_guard_check: one read-only statement, or 400.
 *  3. Resolve datasets (resolve_tables): sql_refs_scan lists identifiers;
 *     GET /catalog/datasets (every query, so a new ingest is visible at
 *     once) says which are datasets; for each, GET /catalog/manifest/<name>
 *     [?version=N] (404 -> 404 "unknown_version"). Every object of those
 *     manifests is pinned in the cache (cache.c), fetched from storaged on a
 *     miss and verified against its ETag (fetch_object).
 *  4. A fresh DuckDB connection gets one TEMP VIEW per dataset reference,
 *     "name" for the latest version and "name@N" for a past one, over the
 *     cached files (engine.c), registered with the watchdog, then the
 *     statement is prepared and checked by DuckDB itself.
 *  5. The first chunk is fetched before answering, so SQL errors (400) and
 *     time-outs (504) are proper answers; then the rest streams chunk by
 *     chunk (query_read). parquet is written by DuckDB to a file in the
 *     sandbox's out/ directory, unlinked, and sent from the open fd.
 *  6. The watchdog thread interrupts any query past its deadline
 *     (cfg timeout_ms, or a smaller per-request timeout_ms). A query that
 *     times out mid-stream has its connection cut.
 *  7. Teardown (qrun_free) runs once per query, from done() or from the
 *     stream's free callback: unregister from the watchdog (under its lock,
 *     so no interrupt can touch a destroyed connection), destroy the DuckDB
 *     connection, unpin the cache files.
 */
#include "queryd/queryd.h"
#include "queryd/queryd_int.h"

#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/service.h"
#include "common/sha256.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUERYD_MAX_REFS 256

struct qrun;

struct queryd {
	struct lh_config cfg;
	struct http_server *srv;
	struct engine *engine;
	struct qcache *cache;
	char *out_dir;
	/* watchdog */
	pthread_t watchdog;
	int watchdog_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	struct qrun *active;           /* doubly linked */
	atomic_uint_fast64_t queries, timeouts;
};

struct qrun {
	struct queryd *s;
	struct engine_query *q;
	char **keys;                   /* pinned cache keys */
	size_t nkeys;
	double start_ms;
	double deadline_ms;
	int registered, fired;
	struct qrun *prev, *next;
	int hits, fetches;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- watchdog ------------------------------------------------------------- */

static void *watchdog_main(void *arg)
{
	struct queryd *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		double now = now_ms(), next = now + 1000;
		for (struct qrun *r = s->active; r; r = r->next) {
			if (!r->fired && now >= r->deadline_ms) {
				r->fired = 1;
				engine_query_interrupt(r->q);
				atomic_fetch_add(&s->timeouts, 1);
			} else if (!r->fired && r->deadline_ms < next) {
				next = r->deadline_ms;
			}
		}
		double wait = next - now_ms();
		if (wait < 1)
			wait = 1;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long long ns = (long long)ts.tv_nsec + (long long)(wait * 1e6);
		ts.tv_sec += (time_t)(ns / 1000000000LL);
		ts.tv_nsec = (long)(ns % 1000000000LL);
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void watch(struct qrun *r)
{
	struct queryd *s = r->s;
	pthread_mutex_lock(&s->mu);
	r->next = s->active;
	r->prev = NULL;
	if (s->active)
		s->active->prev = r;
	s->active = r;
	r->registered = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void unwatch(struct qrun *r)
{
	struct queryd *s = r->s;
	pthread_mutex_lock(&s->mu);
	if (r->registered) {
		if (r->prev)
			r->prev->next = r->next;
		else
			s->active = r->next;
		if (r->next)
			r->next->prev = r->prev;
		r->registered = 0;
	}
	pthread_mutex_unlock(&s->mu);
}

static void qrun_free(struct qrun *r)
{
	if (!r)
		return;
	unwatch(r);
	engine_query_destroy(r->q);
	for (size_t i = 0; i < r->nkeys; i++) {
		qcache_release(r->s->cache, r->keys[i]);
		free(r->keys[i]);
	}
	free(r->keys);
	free(r);
}

/* ---- upstream ------------------------------------------------------------- */

/* GET a JSON document from a peer; 0 with *out (new ref) and *status. */
static int get_json(const struct queryd *s, const char *base, const char *what,
		    const char *path, const char *rid, json_t **out, long *status,
		    struct lh_error *err)
{
	struct http_client_response resp = { 0 };
	char *url = NULL;
	int rc = -1;
	*out = NULL;
	if (!base[0])
		return lh_fail(err, 502, "upstream_unavailable",
			       "queryd has no %s URL configured", what);
	url = xasprintf("%s%s", base, path);
	if (http_client_json_auth("GET", url, NULL, rid, auth_service_token(&s->cfg), &resp,
				  err) != 0) {
		snprintf(err->msg, sizeof err->msg, "the %s is unreachable", what);
		goto out;
	}
	*status = resp.status;
	if (resp.status == 200) {
		*out = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
		if (!*out) {
			lh_fail(err, 502, "upstream_failed", "the %s answered with invalid JSON", what);
			goto out;
		}
	} else if (resp.status != 404) {
		lh_fail(err, 502, "upstream_failed", "the %s answered HTTP %ld", what, resp.status);
		goto out;
	}
	rc = 0;
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}

struct fetch_ctx {
	struct queryd *s;
	const char *rid;
	int fd;
	struct sha256 *h;
	int write_failed;
};

static int fetch_sink(void *ctx, const char *data, size_t n)
{
	struct fetch_ctx *f = ctx;
	sha256_update(f->h, data, n);
	while (n > 0) {
		ssize_t w = write(f->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->write_failed = 1;
			return -1;
		}
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* cache_fetch_fn: GET /storage/get/<key> into fd, verified against the ETag. */
static int fetch_object(void *ctx, const char *key, int fd, struct lh_error *err)
{
	struct fetch_ctx *f = ctx;
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	char *ek = url_encode(key, 1), *url = NULL;
	char hex[LH_SHA256_HEX_LEN + 1];
	int rc = -1;
	if (!f->s->cfg.queryd.storaged_url[0]) {
		lh_fail(err, 502, "upstream_unavailable", "queryd has no storaged URL configured");
		goto out;
	}
	url = xasprintf("%s/storage/get/%s", f->s->cfg.queryd.storaged_url, ek);
	f->fd = fd;
	f->h = sha256_create();
	f->write_failed = 0;
	http_client_request_init(&r);
	r.method = "GET";
	r.url = url;
	r.request_id = f->rid;
	r.bearer_token = auth_service_token(&f->s->cfg);
	r.sink = fetch_sink;
	r.sink_ctx = f;
	if (http_client_do(&r, &resp, err) != 0) {
		if (f->write_failed) {
			lh_error_clear(err);
			lh_fail(err, 500, "internal", "cannot write to the query cache");
		} else {
			snprintf(err->msg, sizeof err->msg, "the object store is unreachable");
		}
		goto out;
	}
	if (resp.status != 200) {
		lh_fail(err, 502, "upstream_failed", "the object store answered HTTP %ld for object %s",
			resp.status, key);
		goto out;
	}
	sha256_finish_hex(f->h, hex);
	f->h = NULL;
	const char *etag = resp.etag ? resp.etag : "";
	size_t el = strlen(etag);
	if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
		etag++;
		el -= 2;
	}
	if (el != LH_SHA256_HEX_LEN || strncmp(etag, hex, el) != 0) {
		lh_fail(err, 502, "upstream_failed",
			"object %s from the object store does not match its checksum", key);
		goto out;
	}
	rc = 0;
out:
	sha256_destroy(f->h);
	f->h = NULL;
	http_client_response_free(&resp);
	free(ek);
	free(url);
	return rc;
}

/* ---- table resolution ----------------------------------------------------- */

/* The catalog's name for `ref` among the datasets, or NULL. */
static const char *match_dataset(const json_t *list, const char *ref)
{
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		if (name && !strcasecmp(name, ref))
			return name;
	}
	return NULL;
}

static int pin_manifest(struct qrun *r, const json_t *manifest, const char *view,
			const char *rid, struct lh_error *err)
{
	struct queryd *s = r->s;
	const json_t *objects = json_object_get(manifest, "objects");
	size_t n = json_array_size(objects);
	char **paths = xcalloc(n ? n : 1, sizeof *paths);
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		const char *key = json_string_value(json_object_get(json_array_get(objects, i), "key"));
		if (!key) {
			lh_fail(err, 502, "upstream_failed", "the catalog returned an object without a key");
			goto out;
		}
		char path[LH_CFG_STR + QCACHE_NAME_LEN + 2];
		struct fetch_ctx fc = { .s = s, .rid = rid };
		int fetched = 0;
		if (qcache_acquire(s->cache, key, fetch_object, &fc, path, sizeof path, &fetched, err))
			goto out;
		r->keys = xrealloc(r->keys, (r->nkeys + 1) * sizeof *r->keys);
		r->keys[r->nkeys++] = xstrdup(key);
		r->fetches += fetched;
		r->hits += !fetched;
		paths[i] = xstrdup(path);
	}
	rc = engine_query_add_view(r->q, view, (const char *const *)paths, n,
				   json_object_get(manifest, "schema"), err);
out:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return rc;
}

static int resolve_tables(struct qrun *r, const char *sql, size_t len, const char *rid,
			  struct lh_error *err)
{
	struct queryd *s = r->s;
	struct sql_ref *refs = xcalloc(QUERYD_MAX_REFS, sizeof *refs);
	json_t *list = NULL, *doc = NULL;
	int rc = -1;
	long status = 0;
	size_t nrefs = sql_refs_scan(sql, len, refs, QUERYD_MAX_REFS);
	/* Without a catalog (a bare `lakehouse queryd`) there are no datasets. */
	if (nrefs == 0 || !s->cfg.queryd.catalogd_url[0]) {
		rc = 0;
		goto out;
	}
	if (get_json(s, s->cfg.queryd.catalogd_url, "catalog", "/catalog/datasets", rid, &doc,
		     &status, err))
		goto out;
	list = json_is_array(doc) ? doc : json_object_get(doc, "datasets");
	if (status != 200 || !json_is_array(list)) {
		lh_fail(err, 502, "upstream_failed", "the catalog's dataset list is not readable");
		goto out;
	}
	for (size_t i = 0; i < nrefs; i++) {
		const char *name = match_dataset(list, refs[i].name);
		if (!name) {
			if (refs[i].version > 0) {
				lh_fail(err, 404, "unknown_dataset", "there is no dataset named \"%s\"",
					refs[i].name);
				goto out;
			}
			continue;
		}
		char *ename = url_encode(name, 1), *path, *view;
		json_t *m = NULL;
		if (refs[i].version > 0) {
			path = xasprintf("/catalog/manifest/%s?version=%" PRId64, ename, refs[i].version);
			view = xasprintf("%s@%" PRId64, name, refs[i].version);
		} else {
			path = xasprintf("/catalog/manifest/%s", ename);
			view = xstrdup(name);
		}
		int grc = get_json(s, s->cfg.queryd.catalogd_url, "catalog", path, rid, &m, &status, err);
		if (grc == 0 && status == 404) {
			if (refs[i].version > 0)
				lh_fail(err, 404, "unknown_version", "dataset \"%s\" has no version %" PRId64,
					name, refs[i].version);
			else
				lh_fail(err, 404, "unknown_dataset", "dataset \"%s\" was just deleted", name);
		}
		int prc = grc == 0 && status == 200 ? pin_manifest(r, m, view, rid, err) : -1;
		json_decref(m);
		free(ename);
		free(path);
		free(view);
		if (prc)
			goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	free(refs);
	return rc;
}

/* ---- POST /query ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum engine_format fmt;
	const char *content_type;
} formats[] = {
	{ "json", ENGINE_JSON, "application/json" },
	{ "csv", ENGINE_CSV, "text/csv; charset=utf-8" },
	{ "ndjson", ENGINE_NDJSON, "application/x-ndjson" },
	{ "parquet", ENGINE_PARQUET, "application/vnd.apache.parquet" },
};

static ssize_t query_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct qrun *r = ctx;
	return engine_query_read(r->q, buf, max, now_ms() - r->start_ms);
}

static void query_stream_free(void *ctx)
{
	qrun_free(ctx);
}

static void set_cache_headers(struct http_request *req, const struct qrun *r)
{
	char v[32];
	snprintf(v, sizeof v, "%d", r->hits);
	http_response_header(req, "X-Cache-Hits", v);
	snprintf(v, sizeof v, "%d", r->fetches);
	http_response_header(req, "X-Cache-Fetches", v);
}

static int send_parquet(struct http_request *req, struct qrun *r, const char *sql, size_t len,
			int64_t max_rows, struct lh_error *err)
{
	struct queryd *s = r->s;
	unsigned rnd[2] = { 0, 0 };
	int ufd = open("/dev/urandom", O_RDONLY | O_CLOEXEC), fd = -1, rc = -1;
	if (ufd >= 0) {
		if (read(ufd, rnd, sizeof rnd) < 0)
			rnd[0] = (unsigned)getpid();
		close(ufd);
	}
	char *path = xasprintf("%s/%08x%08x.parquet", s->out_dir, rnd[0], rnd[1]);
	if (engine_query_to_parquet(r->q, sql, len, max_rows, path, err))
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		lh_fail(err, 500, "internal", "cannot read the query result file");
		goto out;
	}
	http_respond_fd(req, 200, "application/vnd.apache.parquet", fd, 0, (uint64_t)st.st_size);
	fd = -1;
	set_cache_headers(req, r);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
	return rc;
}

static int query_end(struct http_request *req)
{
	struct queryd *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct qrun *r = NULL;
	json_t *body = NULL;
	const char *sql = NULL, *fmt_name = "json", *rid = http_request_id(req);
	int64_t max_rows = -1, timeout = s->cfg.queryd.timeout_ms;
	size_t n, body_len = 0, fi;
	const char *raw = http_request_body(req, &n);

	atomic_fetch_add(&s->queries, 1);
	body = json_parse_request(raw, n, &err);
	if (!body || json_get_string(body, "sql", 1, &sql, &err) ||
	    json_get_string(body, "format", 0, &fmt_name, &err) ||
	    json_get_int(body, "max_rows", 0, &max_rows, &err) ||
	    json_get_int(body, "timeout_ms", 0, &timeout, &err))
		goto fail;
	size_t sql_len = json_string_length(json_object_get(body, "sql"));
	if (sql_len > LH_SQL_MAX_BYTES) {
		lh_fail(&err, 413, "too_large", "the SQL text is %zu bytes; the limit is %u", sql_len,
			LH_SQL_MAX_BYTES);
		goto fail;
	}
	if (strlen(sql) != sql_len) {
		lh_fail(&err, 400, "bad_request", "field \"sql\" contains a NUL character");
		goto fail;
	}
	for (fi = 0; fi < sizeof formats / sizeof formats[0]; fi++)
		if (!strcmp(fmt_name, formats[fi].name))
			break;
	if (fi == sizeof formats / sizeof formats[0]) {
		lh_fail(&err, 400, "bad_request",
			"field \"format\" must be one of json, csv, ndjson, parquet (got \"%.40s\")", fmt_name);
		goto fail;
	}
	if (json_object_get(body, "max_rows") && max_rows < 1) {
		lh_fail(&err, 400, "bad_request", "field \"max_rows\" must be a positive integer");
		goto fail;
	}
	if (max_rows < 0 && s->cfg.queryd.max_rows > 0)
		max_rows = s->cfg.queryd.max_rows;
	if (s->cfg.queryd.max_rows > 0 && max_rows > s->cfg.queryd.max_rows)
		max_rows = s->cfg.queryd.max_rows;
	if (timeout < 1) {
		lh_fail(&err, 400, "bad_request", "field \"timeout_ms\" must be a positive integer");
		goto fail;
	}
	if (s->cfg.queryd.timeout_ms && timeout > s->cfg.queryd.timeout_ms)
		timeout = s->cfg.queryd.timeout_ms;

	if (sql_guard_check(sql, sql_len, &body_len, &err))
		goto fail;

	r = xcalloc(1, sizeof *r);
	r->s = s;
	r->start_ms = now_ms();
	r->deadline_ms = r->start_ms + (double)timeout;
	r->q = engine_query_create(s->engine, &err);
	if (!r->q)
		goto fail;
	watch(r);
	if (resolve_tables(r, sql, sql_len, rid, &err))
		goto fail;
	if (now_ms() >= r->deadline_ms) {
		lh_fail(&err, 504, "query_timeout", "the query ran past its time limit of %" PRId64 " ms",
			timeout);
		goto fail;
	}
	if (engine_query_prepare(r->q, sql, &err))
		goto fail;
	if (formats[fi].fmt == ENGINE_PARQUET) {
		if (send_parquet(req, r, sql, body_len, max_rows, &err))
			goto fail;
		qrun_free(r);
		json_decref(body);
		return 0;
	}
	if (engine_query_start(r->q, formats[fi].fmt, max_rows, &err))
		goto fail;
	http_respond_stream(req, 200, formats[fi].content_type, HTTP_SIZE_UNKNOWN, query_read, r,
			    query_stream_free);
	set_cache_headers(req, r);
	json_decref(body);
	return 0;
fail:
	http_respond_error(req, &err);
	if (r)
		set_cache_headers(req, r);
	qrun_free(r);
	lh_error_clear(&err);
	json_decref(body);
	return 0;
}

static const struct http_route queryd_routes[] = {
	{ "POST", "/query", "query", NULL, NULL, query_end, NULL, 0 },
};

static int queryd_health(void *ctx, json_t *body)
{
	struct queryd *s = ctx;
	struct qcache_stats st;
	qcache_stats(s->cache, &st);
	json_t *c = json_object();
	json_object_set_new(c, "hits", json_integer((json_int_t)st.hits));
	json_object_set_new(c, "misses", json_integer((json_int_t)st.misses));
	json_object_set_new(c, "fetches", json_integer((json_int_t)st.fetches));
	json_object_set_new(c, "evictions", json_integer((json_int_t)st.evictions));
	json_object_set_new(c, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(c, "files", json_integer((json_int_t)st.files));
	json_object_set_new(c, "cap_bytes", json_integer((json_int_t)s->cfg.queryd.cache_bytes));
	json_object_set_new(body, "cache", c);
	json_object_set_new(body, "queries", json_integer((json_int_t)atomic_load(&s->queries)));
	json_object_set_new(body, "timeouts", json_integer((json_int_t)atomic_load(&s->timeouts)));
	return 200;
}

/* ---- life cycle ----------------------------------------------------------- */

struct queryd *queryd_start(const struct lh_config *cfg, struct lh_error *err)
{
	struct queryd *s = xcalloc(1, sizeof *s);
	char *spill = NULL;
	s->cfg = *cfg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	const char *dir = cfg->queryd.cache_dir;
	if (!dir[0]) {
		lh_fail(err, 400, "bad_config", "[queryd] cache_dir is empty");
		goto fail;
	}
	if (service_mkdirs(dir, err))
		goto fail;
	s->cache = qcache_open(dir, cfg->queryd.cache_bytes, err);
	if (!s->cache)
		goto fail;
	spill = xasprintf("%s/spill", dir);
	s->out_dir = xasprintf("%s/out", dir);
	if (service_mkdirs(spill, err) || service_mkdirs(s->out_dir, err))
		goto fail;
	struct engine_options eo = {
		.sandbox_dir = dir,
		.temp_dir = spill,
		.memory_bytes = cfg->queryd.duckdb_memory_bytes,
		.threads = cfg->queryd.duckdb_threads,
	};
	s->engine = engine_open(&eo, err);
	if (!s->engine)
		goto fail;
	if (pthread_create(&s->watchdog, NULL, watchdog_main, s) != 0) {
		lh_fail(err, 500, "internal", "cannot start the query watchdog");
		goto fail;
	}
	s->watchdog_started = 1;
	struct http_server_config hc = {
		.service = "queryd",
		.bind = cfg->queryd.bind,
		.routes = queryd_routes,
		.nroutes = sizeof queryd_routes / sizeof queryd_routes[0],
		.ctx = s,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.health = queryd_health,
	};
	if (auth_http_setup(&hc, cfg, err) != 0)
		goto fail;
	s->srv = http_server_start(&hc, err);
	if (!s->srv)
		goto fail;
	log_event("info", "queryd", "queryd: cache %s (%" PRIu64 " bytes), DuckDB %u threads, "
		  "%" PRIu64 " bytes, time limit %u ms", dir, cfg->queryd.cache_bytes,
		  cfg->queryd.duckdb_threads, cfg->queryd.duckdb_memory_bytes, cfg->queryd.timeout_ms);
	free(spill);
	return s;
fail:
	free(spill);
	queryd_stop(s);
	return NULL;
}

const char *queryd_url(const struct queryd *s)
{
	return http_server_url(s->srv);
}

void queryd_stop(struct queryd *s)
{
	if (!s)
		return;
	http_server_stop(s->srv);   /* in-flight queries finish first */
	if (s->watchdog_started) {
		pthread_mutex_lock(&s->mu);
		s->stopping = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->watchdog, NULL);
	}
	engine_close(s->engine);
	qcache_close(s->cache);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->out_dir);
	free(s);
}

static void *run_start(const struct lh_config *cfg, struct lh_error *err)
{
	return queryd_start(cfg, err);
}

static const char *run_url(const void *svc)
{
	return queryd_url(svc);
}

static void run_stop(void *svc)
{
	queryd_stop(svc);
}

int queryd_main(int argc, char **argv)
{
	static const struct service_ops ops = { "queryd", run_start, run_url, run_stop };
	return service_run(argc, argv, &ops);
}
