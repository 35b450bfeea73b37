/* catalogd.c — the catalog service's HTTP routes, start/stop and main.
 *
 * Handlers are thin: parse (catalog.c), call the store (catalog_store.h),
 * answer JSON. Every failure is an lh_error turned into one JSON response at
 * the end of the handler. The store is thread-safe, so handlers share the
 * service context without locks.
 *
 *   POST   /catalog/register          {"manifest", "existing"} | 400 | 409
 *   GET    /catalog/datasets          {"datasets": [...]} sorted by name
 *   GET    /catalog/manifest/<name>   [?version=N] the manifest | 404
 *   GET    /catalog/versions/<name>   {"name", "versions": [...]} | 404
 *   DELETE /catalog/manifest/<name>   204 | 404
 *   POST   /catalog/datasets/<name>/rename  {"to"} -> {"name","renamed_from",
 *                                     "manifest"} | 400 | 404 | 409 name_conflict
 *   POST   /catalog/gc                {"dry_run", "grace_seconds"} -> the GC report
 *                                     (gc.h) | 400 | 409 gc_running | 503 without
 *                                     [catalogd] storaged_url
 *   PUT    /catalog/index/<name>      declare a search index -> 201/200 | 400 | 404
 *   GET    /catalog/index/<name>      the declaration and each version's build | 404
 *   DELETE /catalog/index/<name>      204 | 404
 *   PUT    /catalog/index/<name>/versions/<N>   a build record (queryd's builder)
 *                                     | 404 | 409 index_changed | 409 object_missing
 *   PUT    /catalog/index/<name>/component      the common component, first wins
 *   GET    /catalog/index-pending     [?limit=N&stale_ms=N] the builder's queue
 *                                     (catalog_index.h, ADR 0140)
 *
 * A name renamed within LH_RENAME_REDIRECT_MS answers 404 "renamed" with
 * its new name on every route that names a dataset (explain_renamed, ADR
 * 0175) instead of a plain "not_found".
 *
 * Names are exact everywhere; a register of a new name that equals an
 * existing one but for letter case is 409 name_conflict (catalog_store.h
 * note 6). Such pairs made before that rule are logged at start
 * (warn_case_clashes).
 *
 * With [catalogd] storaged_url set, every register also checks that its new
 * objects exist in storaged (gc.c notes 3 and 5), which is what makes GC safe;
 * without it GC is refused.
 */
#include "catalogd/catalogd.h"

#include "catalogd/catalog.h"
#include "catalogd/catalog_index.h"
#include "catalogd/catalog_store.h"
#include "catalogd/gc.h"
#include "common/auth.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/ready.h"
#include "common/service.h"
#include "common/storage_client.h"
#include "common/tokens.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct catalogd {
	struct catalog_store *store;
	struct http_server *srv;
	struct storage_client *storaged;  /* NULL: no GC, no object check */
	struct gc_peer peer;         /* the register's object check (no request id) */
	pthread_mutex_t gc_lock;     /* one GC at a time in this catalogd */
	struct ready *ready;         /* GET /ready: the database (ADR 0200) */
	char service_hash[LH_SHA256_HEX_LEN + 1]; /* SHA-256 of the services' own
						   * token, "" without auth */
};

/* ADR 0210: who made a version. ingestd registers with the services' token
 * and says whose upload it was ("ingested_by"); any other caller is named
 * by its own token, whatever its body claims. */
static void set_ingested_by(struct catalogd *c, struct http_request *req,
			    struct catalog_version *v)
{
	const char *auth = http_request_header(req, "Authorization");
	char hash[LH_SHA256_HEX_LEN + 1];
	if (!c->service_hash[0])
		return;   /* no tokens: nobody to tell apart */
	if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		tokens_hash(auth + 7, strlen(auth + 7), hash);
		if (auth_token_equal(hash, LH_SHA256_HEX_LEN, c->service_hash, LH_SHA256_HEX_LEN,
				     LH_SHA256_HEX_LEN))
			return;
	}
	snprintf(v->ingested_by, sizeof v->ingested_by, "%s", http_request_who(req));
}

/* Answer err if set (always returns 0: a response is set either way). */
static int respond_result(struct http_request *req, struct lh_error *err)
{
	if (err->status)
		http_respond_error(req, err);
	lh_error_clear(err);
	return 0;
}

/* Request bodies are JSON. No Content-Type, a JSON one, or curl -d's default
 * form type (what a person typing `curl -d '{...}'` sends) are accepted; a
 * body declared as anything else (CSV, multipart, ...) is a 415. */
static int check_json_type(struct http_request *req, struct lh_error *err)
{
	const char *ct = http_request_header(req, "Content-Type");
	if (!ct || !strncasecmp(ct, "application/json", 16) ||
	    !strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return 0;
	return lh_fail(err, 415, "unsupported_media_type",
		       "the request body must be JSON (Content-Type: application/json)");
}

static int register_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_version *parsed = NULL, *manifest = NULL;
	json_t *doc = NULL, *resp = NULL;
	const char *body;
	size_t n = 0;
	int existing = 0;

	if (check_json_type(req, &err))
		goto out;
	body = http_request_body(req, &n);
	doc = json_parse_request(body, n, &err);
	if (!doc)
		goto out;
	parsed = catalog_request_parse(doc, &err);
	if (!parsed)
		goto out;
	set_ingested_by(c, req, parsed);
	if (catalog_store_register(c->store, parsed, &manifest, &existing, &err))
		goto out;
	resp = json_object();
	json_object_set_new(resp, "manifest", catalog_version_json(manifest));
	json_object_set_new(resp, "existing", json_boolean(existing));
	if (manifest->evolved && !existing)                                  /* ADR 0173 */
		json_object_set(resp, "evolved", manifest->evolved);
	http_respond_json(req, 200, resp);
out:
	json_decref(doc);
	catalog_version_destroy(parsed);
	catalog_version_destroy(manifest);
	return respond_result(req, &err);
}

static int datasets_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	struct catalog_masks *masks = NULL;
	size_t n = 0, nm = 0;
	if (catalog_store_list_datasets(c->store, &list, &n, &err) == 0 &&
	    catalog_store_masks_list(c->store, &masks, &nm, &err) == 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *d = catalog_summary_json(&list[i], 0);
			/* ADR 0211: queryd masks these for read and agent tokens */
			for (size_t k = 0; k < nm; k++)
				if (!strcmp(masks[k].name, list[i].name))
					json_object_set_new(d, "masked",
							    json_loads(masks[k].columns, 0, NULL));
			json_array_append_new(arr, d);
		}
		json_t *resp = json_object();
		json_object_set_new(resp, "datasets", arr);
		http_respond_json(req, 200, resp);
	}
	free(list);
	catalog_masks_free(masks, nm);
	return respond_result(req, &err);
}


/* The dataset name after the route prefix, validated. */
static const char *path_name(struct http_request *req, struct lh_error *err)
{
	const char *name = http_request_path_rest(req);
	return dataset_name_check(name, err) ? NULL : name;
}

/* ADR 0175: a 404 "not_found" for `name` when `name` was renamed within
 * LH_RENAME_REDIRECT_MS becomes 404 "renamed" naming the new name (extras
 * renamed_to, renamed_at). Any other error, or no redirect, stays as it is. */
static void explain_renamed(struct catalogd *c, const char *name, struct lh_error *err)
{
	char to[LH_DATASET_NAME_MAX + 1], when[32];
	int64_t ms = 0;
	struct lh_error lookup = { 0 };
	if (!name || err->status != 404 || strcmp(err->code, "not_found"))
		return;
	if (catalog_store_renamed(c->store, name, LH_RENAME_REDIRECT_MS, to, &ms, &lookup) != 1) {
		lh_error_clear(&lookup);   /* no redirect to tell: the 404 stands */
		return;
	}
	catalog_time_format(ms, when);
	lh_error_clear(err);
	lh_fail(err, 404, "renamed", "dataset \"%s\" was renamed to \"%s\" on %.10s; use the new "
		"name", name, to, when);
	lh_error_set(err, "renamed_to", json_string(to));
	lh_error_set(err, "renamed_at", json_string(when));
}

/* ?version=N: 0 when absent, else a positive integer. */
static int parse_version(struct http_request *req, int64_t *out, struct lh_error *err)
{
	const char *s = http_request_query(req, "version");
	char *end = NULL;
	*out = 0;
	if (!s)
		return 0;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < 1) {
		lh_fail(err, 400, "bad_request", "version must be a positive integer");
		lh_error_set(err, "field", json_string("version"));
		return -1;
	}
	*out = v;
	return 0;
}

static int manifest_get_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	int64_t version = 0;
	const char *name = path_name(req, &err);
	if (name && !parse_version(req, &version, &err) &&
	    !catalog_store_get(c->store, name, version, &v, &err))
		http_respond_json(req, 200, catalog_version_json(v));
	explain_renamed(c, name, &err);
	catalog_version_destroy(v);
	return respond_result(req, &err);
}

static int manifest_delete_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	const char *name = path_name(req, &err);
	if (name && !catalog_store_drop(c->store, name, &err))
		http_respond_empty(req, 204);
	explain_renamed(c, name, &err);
	return respond_result(req, &err);
}

static int versions_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	size_t n = 0;
	const char *name = path_name(req, &err);
	if (name && !catalog_store_list_versions(c->store, name, &list, &n, &err)) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, catalog_summary_json(&list[i], 1));
		json_t *resp = json_object();
		json_object_set_new(resp, "name", json_string(name));
		json_object_set_new(resp, "versions", arr);
		http_respond_json(req, 200, resp);
	}
	explain_renamed(c, name, &err);
	free(list);
	return respond_result(req, &err);
}

/* POST /catalog/gc {"dry_run": bool, "grace_seconds": n}, both optional. */
static int gc_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	json_t *doc = NULL, *resp = NULL;
	const char *body;
	size_t n = 0;
	struct gc_options opt = { .dry_run = 0, .grace_s = LH_GC_DEFAULT_GRACE_S };
	int locked = 0;

	if (!c->storaged) {
		lh_fail(&err, 503, "gc_unavailable",
			"garbage collection needs the object store's address: set [catalogd] "
			"storaged_url (LAKEHOUSE_CATALOGD_STORAGED_URL)");
		goto out;
	}
	if (check_json_type(req, &err))
		goto out;
	body = http_request_body(req, &n);
	if (n > 0) {
		int dry = 0;
		doc = json_parse_request(body, n, &err);
		if (!doc || json_get_bool(doc, "dry_run", 0, &dry, &err) ||
		    json_get_int(doc, "grace_seconds", 0, &opt.grace_s, &err))
			goto out;
		opt.dry_run = dry;
		if (opt.grace_s < 0 || opt.grace_s > LH_GC_MAX_GRACE_S) {
			lh_fail(&err, 400, "bad_request", "grace_seconds must be from 0 to %lld",
				(long long)LH_GC_MAX_GRACE_S);
			lh_error_set(&err, "field", json_string("grace_seconds"));
			goto out;
		}
	}
	if (pthread_mutex_trylock(&c->gc_lock) != 0) {
		lh_fail(&err, 409, "gc_running", "a garbage collection is already running; try again later");
		goto out;
	}
	locked = 1;
	struct gc_peer peer = { .store = c->storaged, .request_id = http_request_id(req) };
	opt.now_ms = clock_wall_ms();
	if (gc_run(c->store, &peer, &opt, &resp, &err))
		goto out;
	http_respond_json(req, 200, resp);
out:
	if (locked)
		pthread_mutex_unlock(&c->gc_lock);
	json_decref(doc);
	return respond_result(req, &err);
}

/* --- search indexes (catalog_index.h, ADR 0140) ------------------------------ */

/* A positive integer from the text s (whole): 0 with *out, or -1. */
static int positive_int(const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < 1)
		return -1;
	*out = v;
	return 0;
}

/* The GET body of `name`'s index (a new reference), or NULL with err. */
static json_t *index_body(struct catalogd *c, const char *name, struct lh_error *err)
{
	struct catalog_index_info *info = NULL;
	json_t *o = NULL;
	if (!catalog_store_index_get(c->store, name, &info, err))
		o = catalog_index_info_json(info, clock_wall_ms(), LH_INDEX_BUILD_STALE_MS);
	catalog_index_info_destroy(info);
	return o;
}

/* PUT /catalog/index/<name>: declare (ADR 0140). 201 new, 200 unchanged or
 * replaced; the answer is the GET body. */
static int index_declare(struct http_request *req, struct catalogd *c, const char *name,
			 const json_t *doc, struct lh_error *err)
{
	struct catalog_version *latest = NULL;
	struct catalog_index_decl decl = { 0 };
	json_t *resp = NULL;
	int outcome = 0, rc = -1;
	if (catalog_store_get(c->store, name, 0, &latest, err) ||
	    catalog_index_decl_parse(doc, latest, &decl, err) ||
	    catalog_store_index_declare(c->store, name, &decl, latest->version, latest->fingerprint,
					&outcome, err))
		goto out;
	resp = index_body(c, name, err);
	if (!resp)
		goto out;
	http_respond_json(req, outcome == 1 ? 201 : 200, resp);
	rc = 0;
out:
	catalog_version_destroy(latest);
	catalog_index_decl_free(&decl);
	return rc;
}

/* PUT /catalog/index/<name>/versions/<N>: the builder's record. The answer
 * is the version's entry of the GET body, "name" and "ignored" (1: the
 * version was ready already and nothing was written). */
static int index_record(struct http_request *req, struct catalogd *c, const char *name,
			int64_t version, const json_t *doc, struct lh_error *err)
{
	struct catalog_index_build b = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	json_t *body = NULL, *entry = NULL, *v;
	int ignored = 0, rc = -1;
	size_t i;
	if (catalog_index_build_parse(doc, &b, fp, err))
		goto out;
	b.version = version;
	if (catalog_store_index_record(c->store, name, fp, &b, &ignored, err))
		goto out;
	body = index_body(c, name, err);
	if (!body)
		goto out;
	json_array_foreach(json_object_get(body, "versions"), i, v)
		if (json_integer_value(json_object_get(v, "version")) == version)
			entry = json_incref(v);
	if (!entry)
		entry = json_object();  /* re-declared meanwhile: the record went with it */
	json_object_set_new(entry, "name", json_string(name));
	json_object_set_new(entry, "ignored", json_boolean(ignored));
	http_respond_json(req, 200, entry);
	rc = 0;
out:
	json_decref(body);
	catalog_index_build_free(&b);
	return rc;
}

/* PUT /catalog/index/<name>/component: compare and set; the answer is the
 * stored component, which may be another writer's. */
static int index_component(struct http_request *req, struct catalogd *c, const char *name,
			   const json_t *doc, struct lh_error *err)
{
	char fp[CATALOG_FP_LEN + 1];
	double *vals = NULL;
	size_t n = 0;
	json_t *body = NULL, *resp;
	int rc = -1;
	if (catalog_index_component_parse(doc, fp, &vals, &n, err) ||
	    catalog_store_index_set_component(c->store, name, fp, vals, n, err))
		goto out;
	body = index_body(c, name, err);
	if (!body)
		goto out;
	resp = json_object();
	static const char *const keep[] = { "name", "fingerprint", "component", "component_dim" };
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		json_object_set(resp, keep[i], json_object_get(body, keep[i]));
	http_respond_json(req, 200, resp);
	rc = 0;
out:
	json_decref(body);
	free(vals);
	return rc;
}

/* Split /catalog/index/<rest> into the dataset name (validated, a copy the
 * caller frees) and what follows its '/' (*tail, "" when there is no '/';
 * a trailing '/' alone leaves "/", which names no route). */
/* --- personal columns (ADR 0211) ---------------------------------------- */

/* The masked columns of `name` as a JSON array (new reference; [] when
 * none), or NULL with err. */
static json_t *masks_of(struct catalogd *c, const char *name, struct lh_error *err)
{
	struct catalog_masks *masks = NULL;
	size_t nm = 0;
	json_t *cols = NULL;
	if (catalog_store_masks_list(c->store, &masks, &nm, err))
		return NULL;
	for (size_t k = 0; k < nm && !cols; k++)
		if (!strcmp(masks[k].name, name))
			cols = json_loads(masks[k].columns, 0, NULL);
	catalog_masks_free(masks, nm);
	return cols ? cols : json_array();
}

static void masks_answer(struct http_request *req, const char *name, json_t *cols)
{
	http_respond_json(req, 200, json_pack("{s:s, s:o}", "dataset", name, "columns", cols));
}

static int masks_get_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	const char *name = path_name(req, &err);
	if (name && catalog_store_get(c->store, name, 0, &v, &err) == 0) {
		json_t *cols = masks_of(c, name, &err);
		if (cols)
			masks_answer(req, name, cols);
	}
	catalog_version_destroy(v);
	return respond_result(req, &err);
}

/* Whether `col` is a column of `latest` or of an earlier version of `name`:
 * a column an evolution dropped or renamed still holds values in the older
 * versions ("name@N"), so it can be masked too (ADR 0211). 1, 0, or 0 with
 * err set when a version could not be read. */
static int column_in_any_version(struct catalogd *c, const char *name,
				 const struct catalog_version *latest, const char *col,
				 struct lh_error *err)
{
	for (int64_t ver = latest->version; ver >= 1; ver--) {
		struct catalog_version *v = NULL;
		const struct catalog_version *cur = latest;
		if (ver != latest->version) {
			if (catalog_store_get(c->store, name, ver, &v, err))
				return 0;
			cur = v;
		}
		int found = 0;
		for (size_t k = 0; k < cur->ncolumns && !found; k++)
			found = !strcmp(cur->columns[k].name, col);
		catalog_version_destroy(v);
		if (found)
			return 1;
	}
	return 0;
}

/* PUT {"columns": [...]}: every name a column of some version (the latest
 * first), no duplicates; [] clears. DELETE clears. */
static int masks_put_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	json_t *doc = NULL, *cols = NULL;
	char *text = NULL;
	size_t n = 0, i;
	const json_t *col;
	const char *name = path_name(req, &err);
	int del = !strcmp(http_request_method(req), "DELETE");

	if (!name || catalog_store_get(c->store, name, 0, &v, &err))
		goto out;
	if (!del) {
		const char *body;
		if (check_json_type(req, &err))
			goto out;
		body = http_request_body(req, &n);
		doc = json_parse_request(body, n, &err);
		if (!doc)
			goto out;
		cols = json_object_get(doc, "columns");
		if (!json_is_array(cols)) {
			lh_fail(&err, 400, "bad_request",
				"the body is {\"columns\": [\"email\", \"phone\", ...]}");
			goto out;
		}
		json_array_foreach(cols, i, col) {
			const char *cn = json_string_value(col);
			size_t k;
			if (!cn || !column_in_any_version(c, name, v, cn, &err)) {
				if (err.status)
					goto out;
				lh_fail(&err, 400, "unknown_column",
					"dataset \"%s\" has no column %s%s%s", name, cn ? "\"" : "",
					cn ? cn : "(a column name is a string)", cn ? "\"" : "");
				goto out;
			}
			for (k = 0; k < i; k++)
				if (!strcmp(json_string_value(json_array_get(cols, k)), cn)) {
					lh_fail(&err, 400, "bad_request", "column \"%s\" is listed twice",
						cn);
					goto out;
				}
		}
		if (json_array_size(cols))
			text = json_dumps(cols, JSON_COMPACT);
		if (text && strlen(text) > LH_MASKED_JSON_MAX) {
			lh_fail(&err, 400, "bad_request", "too many personal columns: their names "
				"take more than %d bytes", LH_MASKED_JSON_MAX);
			goto out;
		}
	}
	if (catalog_store_masks_set(c->store, name, text, &err))
		goto out;
	log_event("info", "catalogd", "personal columns of %s are now %s (by %s)", name,
		  text ? text : "none", http_request_who(req)[0] ? http_request_who(req) : "anyone");
	masks_answer(req, name, text ? json_incref(cols) : json_array());
out:
	free(text);
	json_decref(doc);
	catalog_version_destroy(v);
	return respond_result(req, &err);
}

static char *index_path(struct http_request *req, const char **tail, struct lh_error *err)
{
	const char *rest = http_request_path_rest(req);
	const char *slash = strchr(rest, '/');
	char *name = slash ? xstrndup(rest, (size_t)(slash - rest)) : xstrdup(rest);
	*tail = !slash ? "" : slash[1] ? slash + 1 : "/";
	if (dataset_name_check(name, err)) {
		free(name);
		return NULL;
	}
	return name;
}

static int no_such_route(struct http_request *req, struct lh_error *err)
{
	return lh_fail(err, 404, "not_found", "no such route: %s %s (see docs/api.md, "
		       "\"Search indexes\")", http_request_method(req), http_request_path(req));
}

static int index_put_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	json_t *doc = NULL;
	const char *tail, *body;
	size_t n = 0;
	int64_t version;
	char *name = index_path(req, &tail, &err);
	if (!name)
		goto out;
	if (!strncmp(tail, "versions/", 9) ? positive_int(tail + 9, &version) != 0
					   : tail[0] && strcmp(tail, "component")) {
		no_such_route(req, &err);
		goto out;
	}
	if (check_json_type(req, &err))
		goto out;
	body = http_request_body(req, &n);
	doc = json_parse_request(body, n, &err);
	if (!doc)
		goto out;
	if (!tail[0])
		index_declare(req, c, name, doc, &err);
	else if (!strcmp(tail, "component"))
		index_component(req, c, name, doc, &err);
	else
		index_record(req, c, name, version, doc, &err);
	explain_renamed(c, name, &err);
out:
	json_decref(doc);
	free(name);
	return respond_result(req, &err);
}

static int index_get_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	const char *tail;
	json_t *body;
	char *name = index_path(req, &tail, &err);
	if (name && tail[0])
		no_such_route(req, &err);
	else if (name && (body = index_body(c, name, &err)) != NULL)
		http_respond_json(req, 200, body);
	explain_renamed(c, name, &err);
	free(name);
	return respond_result(req, &err);
}

static int index_delete_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	const char *tail;
	char *name = index_path(req, &tail, &err);
	if (name && tail[0])
		no_such_route(req, &err);
	else if (name && !catalog_store_index_drop(c->store, name, &err))
		http_respond_empty(req, 204);
	explain_renamed(c, name, &err);
	free(name);
	return respond_result(req, &err);
}

/* An optional ?<field>=N within [lo, hi] into *out (left as is when absent). */
static int query_int(struct http_request *req, const char *field, int64_t lo, int64_t hi,
		     int64_t *out, struct lh_error *err)
{
	const char *s = http_request_query(req, field);
	int64_t v;
	if (!s)
		return 0;
	if (!strcmp(s, "0"))
		v = 0;
	else if (positive_int(s, &v))
		v = -1;
	if (v < lo || v > hi) {
		lh_fail(err, 400, "bad_request", "%s must be an integer from %lld to %lld", field,
			(long long)lo, (long long)hi);
		lh_error_set(err, "field", json_string(field));
		return -1;
	}
	*out = v;
	return 0;
}

/* GET /catalog/index-pending[?limit=N][&stale_ms=N]: the builder's queue. */
static int index_pending_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_index_pending *list = NULL;
	size_t n = 0;
	int64_t limit = LH_INDEX_PENDING_DEFAULT_LIMIT, stale = LH_INDEX_BUILD_STALE_MS;
	http_request_quiet_poll(req);  /* the builder's poll, each second */
	if (!query_int(req, "limit", 1, LH_INDEX_PENDING_MAX_LIMIT, &limit, &err) &&
	    !query_int(req, "stale_ms", 0, 7ll * 86400 * 1000, &stale, &err) &&
	    !catalog_store_index_pending(c->store, stale, (size_t)limit, &list, &n, &err))
		http_respond_json(req, 200, catalog_index_pending_json(list, n));
	catalog_index_pending_free(list, n);
	return respond_result(req, &err);
}

/* The ratings follow their dataset (ADR 0175, 0190): after `from` became
 * `to`, `<from>__feedback` becomes `<to>__feedback` when there is one, and
 * the answer says so ("feedback"). A second store call, not one transaction:
 * when it fails (a `<to>__feedback` left from an older dataset, a name too
 * long) the dataset stays renamed and the log says where the ratings are. */
static void rename_feedback(struct catalogd *c, const char *from, const char *to, json_t *resp)
{
	size_t sl = strlen(LH_FEEDBACK_SUFFIX), fl = strlen(from);
	if (fl >= sl && !strcasecmp(from + fl - sl, LH_FEEDBACK_SUFFIX))
		return;         /* a feedback dataset renamed by itself */
	char ffrom[LH_DATASET_NAME_MAX + 16], fto[LH_DATASET_NAME_MAX + 16];
	snprintf(ffrom, sizeof ffrom, "%s%s", from, LH_FEEDBACK_SUFFIX);
	snprintf(fto, sizeof fto, "%s%s", to, LH_FEEDBACK_SUFFIX);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	if (strlen(ffrom) > LH_DATASET_NAME_MAX)
		return;         /* no such dataset can exist */
	if (strlen(fto) > LH_DATASET_NAME_MAX) {
		lh_fail(&err, 400, "bad_name", "\"%s\" would be longer than %d characters", fto,
			LH_DATASET_NAME_MAX);
	} else if (catalog_store_rename(c->store, ffrom, fto, &v, &err) == 0) {
		log_event("info", "catalogd", "renamed the ratings \"%s\" to \"%s\"", ffrom, fto);
		json_object_set_new(resp, "feedback", json_string(fto));
		catalog_version_destroy(v);
		return;
	}
	if (err.status != 404)
		log_event("warn", "catalogd", "dataset \"%s\" was renamed to \"%s\" but its ratings "
			  "stay in \"%s\": %s", from, to, ffrom, err.msg);
	lh_error_clear(&err);
}

/* POST /catalog/datasets/<name>/rename {"to": "<new name>"} (ADR 0175):
 * 200 {"name", "renamed_from", "manifest"} (the latest version under its
 * new name); 400 bad_name / same_name (field "to"), 404, 409 name_conflict. */
static int rename_end(struct http_request *req)
{
	struct catalogd *c = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	json_t *doc = NULL, *resp;
	const char *tail, *body, *to = NULL;
	size_t n = 0;
	char *name = index_path(req, &tail, &err);
	if (!name)
		goto out;
	if (strcmp(tail, "rename")) {
		lh_fail(&err, 404, "not_found", "no such route: %s %s (see docs/api.md, "
			"\"Rename a dataset\")", http_request_method(req), http_request_path(req));
		goto out;
	}
	if (check_json_type(req, &err))
		goto out;
	body = http_request_body(req, &n);
	doc = json_parse_request(body, n, &err);
	if (!doc || json_get_string(doc, "to", 1, &to, &err))
		goto out;
	if (dataset_name_check(to, &err)) {
		lh_error_set(&err, "field", json_string("to"));
		goto out;
	}
	if (catalog_store_rename(c->store, name, to, &v, &err)) {
		explain_renamed(c, name, &err);
		goto out;
	}
	log_event("info", "catalogd", "renamed dataset \"%s\" to \"%s\"", name, to);
	resp = json_object();
	json_object_set_new(resp, "name", json_string(v->name));
	json_object_set_new(resp, "renamed_from", json_string(name));
	json_object_set_new(resp, "manifest", catalog_version_json(v));
	rename_feedback(c, name, to, resp);
	http_respond_json(req, 200, resp);
out:
	catalog_version_destroy(v);
	json_decref(doc);
	free(name);
	return respond_result(req, &err);
}

static const struct http_route catalogd_routes[] = {
	{ .method = "POST", .path = "/catalog/register", .name = "catalog_register",
	  .end = register_end, .max_body = LH_HTTP_MAX_JSON_BODY, .json_body = 1 },
	{ .method = "GET", .path = "/catalog/datasets", .name = "catalog_datasets",
	  .end = datasets_end },
	{ .method = "GET", .path = "/catalog/manifest/*", .name = "catalog_manifest",
	  .end = manifest_get_end },
	{ .method = "DELETE", .path = "/catalog/manifest/*", .name = "catalog_drop",
	  .end = manifest_delete_end },
	{ .method = "GET", .path = "/catalog/versions/*", .name = "catalog_versions",
	  .end = versions_end },
	{ .method = "POST", .path = "/catalog/datasets/*", .name = "catalog_rename",
	  .end = rename_end, .max_body = LH_HTTP_MAX_JSON_BODY, .json_body = 1 },
	{ .method = "POST", .path = "/catalog/gc", .name = "catalog_gc", .end = gc_end,
	  .max_body = LH_HTTP_MAX_JSON_BODY, .json_body = 1 },
	{ .method = "PUT", .path = "/catalog/index/*", .name = "catalog_index_put",
	  .end = index_put_end, .max_body = LH_HTTP_MAX_JSON_BODY, .json_body = 1 },
	{ .method = "GET", .path = "/catalog/index/*", .name = "catalog_index",
	  .end = index_get_end },
	{ .method = "DELETE", .path = "/catalog/index/*", .name = "catalog_index_drop",
	  .end = index_delete_end },
	{ .method = "GET", .path = "/catalog/masks/*", .name = "catalog_masks", .end = masks_get_end },
	{ .method = "PUT", .path = "/catalog/masks/*", .name = "catalog_masks", .end = masks_put_end,
	  .max_body = 64u << 10 },
	{ .method = "DELETE", .path = "/catalog/masks/*", .name = "catalog_masks",
	  .end = masks_put_end },
	{ .method = "GET", .path = "/catalog/index-pending", .name = "catalog_index_pending",
	  .end = index_pending_end },
};

/* The parent directory of `path` exists afterwards (0) or err is set. */
static int make_parent_dir(const char *path, struct lh_error *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char *dir = xstrndup(path, (size_t)(slash - path));
	int rc = service_mkdirs(dir, err);
	free(dir);
	return rc;
}

/* ADR 0112: names are unique regardless of letter case, but a catalog made
 * before that may hold names equal but for case. Each stays readable and
 * writable by its exact name; say so once per group at start, so an
 * operator can end it. A catalog that cannot be listed now is not fatal. */
static void warn_case_clashes(struct catalog_store *store)
{
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	size_t n = 0, i;
	json_t *groups = NULL, *g;
	if (catalog_store_list_datasets(store, &list, &n, &err)) {
		log_event("warn", "catalogd", "could not check dataset names for letter-case "
			  "clashes: %s", err.msg);
		goto out;
	}
	groups = catalog_case_clashes(list, n);
	json_array_foreach(groups, i, g) {
		char *names = json_dump_compact(g);
		const char *first = json_string_value(json_array_get(g, 0));
		log_event("warn", "catalogd", "datasets %s have names that differ only in letter "
			  "case (made before names were unique regardless of case); each stays "
			  "readable by its exact name, e.g. SELECT * FROM \"%s\", and a query that "
			  "names them in any other case is refused with 409 name_conflict. To end "
			  "this, ingest one under a new name and drop it", names, first);
		free(names);
	}
out:
	json_decref(groups);
	free(list);
	lh_error_clear(&err);
}

static int catalogd_health(void *ctx, json_t *body)
{
	struct catalogd *c = ctx;
	json_object_set_new(body, "backend", json_string(c->store->ops->name));
	return 200;
}

/* /ready: SQLite is ready once opened; PostgreSQL answers a SELECT 1. */
static void catalogd_check(void *ctx, struct ready *r)
{
	struct catalogd *c = ctx;
	struct lh_error err = { 0 };
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = catalog_store_ping(c->store, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ready_report(r, "database", rc == 0,
		     (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		     rc ? err.msg : NULL);
	lh_error_clear(&err);
}

struct catalogd *catalogd_start(const struct lh_config *cfg, struct lh_error *err)
{
	struct catalogd *c = xcalloc(1, sizeof *c);
	const char *backend = cfg->catalogd.backend[0] ? cfg->catalogd.backend : "sqlite";
	const char *location = cfg->catalogd.postgres_dsn;

	pthread_mutex_init(&c->gc_lock, NULL);
	if (cfg->catalogd.storaged_url[0]) {
		struct peer_config pc = { .name = "the object store",
					  .url = cfg->catalogd.storaged_url,
					  .token = auth_service_token(cfg) };
		c->storaged = storage_client_create(&pc);
	}
	c->peer.store = c->storaged;

	if (!strcmp(backend, "sqlite")) {
		location = cfg->catalogd.sqlite_path;
		if (!location[0]) {
			lh_fail(err, 500, "bad_config", "[catalogd] sqlite_path is empty");
			goto fail;
		}
		if (make_parent_dir(location, err))
			goto fail;
	}
	if (auth_service_token(cfg))
		tokens_hash(auth_service_token(cfg), strlen(auth_service_token(cfg)), c->service_hash);
	c->store = catalog_store_open(backend, location, err);
	if (!c->store)
		goto fail;
	if (c->storaged)  /* gc.c note 3; before any thread sees the store */
		catalog_store_set_object_check(c->store, gc_object_check, &c->peer);
	warn_case_clashes(c->store);
	c->ready = ready_create("catalogd", catalogd_check, c);

	struct http_server_config sc = {
		.service = "catalogd",
		.bind = cfg->catalogd.bind,
		.routes = catalogd_routes,
		.nroutes = sizeof catalogd_routes / sizeof catalogd_routes[0],
		.ctx = c,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.health = catalogd_health,
		.ready = c->ready,
	};
	if (auth_http_setup(&sc, cfg, err) != 0)
		goto fail;
	c->srv = http_server_start(&sc, err);
	if (!c->srv)
		goto fail;
	return c;
fail:
	catalogd_stop(c);
	return NULL;
}

const char *catalogd_url(const struct catalogd *c)
{
	return http_server_url(c->srv);
}

void catalogd_stop(struct catalogd *c)
{
	if (!c)
		return;
	http_server_stop(c->srv);  /* in-flight requests finish first */
	catalog_store_close(c->store);
	ready_destroy(c->ready);
	pthread_mutex_destroy(&c->gc_lock);
	storage_client_destroy(c->storaged);
	free(c);
}

SERVICE_OPS(catalogd);

int catalogd_main(int argc, char **argv)
{
	return service_run(argc, argv, &catalogd_service_ops);
}
