/* catalog_client.c — catalogd's routes as typed calls (see catalog_client.h,
 * ADR 0130): the paths, the bodies, and which of catalogd's answers mean
 * what; the transport and the error mapping are peer_client.c's. */
#include "common/catalog_client.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/manifest.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct catalog_client {
	struct peer_client peer;
};

struct catalog_client *catalog_client_create(const struct peer_config *c)
{
	struct catalog_client *cc = xcalloc(1, sizeof *cc);
	peer_client_init(&cc->peer, c);
	return cc;
}

void catalog_client_destroy(struct catalog_client *c)
{
	if (!c)
		return;
	peer_client_free(&c->peer);
	free(c);
}

int catalog_client_configured(const struct catalog_client *c)
{
	return c && peer_client_configured(&c->peer);
}

/* "<prefix><name escaped as one segment><suffix>". */
static char *name_path(const char *prefix, const char *name, const char *suffix)
{
	char *e = url_encode(name, 0);
	char *p = xasprintf("%s%s%s", prefix, e, suffix);
	free(e);
	return p;
}

/* The list under `field` of a list answer (catalogd wraps its lists in an
 * object; a bare array is read too). */
static int summaries(struct catalog_client *c, const char *path, const char *field,
		     int for_versions, struct peer_call *call, struct manifest_summary **out,
		     size_t *n, struct lh_error *err)
{
	json_t *doc = NULL;
	const char *what = for_versions ? "version list" : "dataset list";
	/* a version list's 404 is "no such dataset"; the dataset list has none.
	 * A 4xx is catalogd's answer (a refused token), passed on as it said
	 * it: queryd must not take it for an outage (ADR 0205) */
	int rc = peer_json(&c->peer, call, "GET", path, NULL,
			   for_versions ? PEER_PASS_404 : PEER_PASS_4XX, what, &doc, err);
	if (rc == 0) {
		const json_t *list = json_is_array(doc) ? doc : json_object_get(doc, field);
		rc = manifest_summaries_from_json(list, for_versions, out, n, err);
		if (rc)
			peer_unreadable(&c->peer, path, what, err);
	}
	json_decref(doc);
	return rc;
}

int catalog_client_datasets(struct catalog_client *c, struct peer_call *call,
			    struct manifest_summary **out, size_t *n, struct lh_error *err)
{
	*out = NULL;
	*n = 0;
	return summaries(c, "/catalog/datasets", "datasets", 0, call, out, n, err);
}

int catalog_client_versions(struct catalog_client *c, struct peer_call *call, const char *name,
			    struct manifest_summary **out, size_t *n, struct lh_error *err)
{
	char *path = name_path("/catalog/versions/", name, "");
	*out = NULL;
	*n = 0;
	int rc = summaries(c, path, "versions", 1, call, out, n, err);
	free(path);
	return rc;
}

int catalog_client_manifest(struct catalog_client *c, struct peer_call *call, const char *name,
			    int64_t version, struct manifest **out, struct lh_error *err)
{
	char v[40] = "";
	json_t *doc = NULL;
	*out = NULL;
	if (version > 0)
		snprintf(v, sizeof v, "?version=%" PRId64, version);
	char *path = name_path("/catalog/manifest/", name, v);
	/* a 4xx (a bad name, a refused token) is an answer, passed on (ADR 0205) */
	int rc = peer_json(&c->peer, call, "GET", path, NULL, PEER_PASS_4XX, "manifest", &doc, err);
	if (rc == 0) {
		*out = manifest_from_json(doc, err);
		if (!*out)
			rc = peer_unreadable(&c->peer, path, "manifest", err);
	}
	json_decref(doc);
	free(path);
	return rc;
}

/* The register request: what catalogd's catalog_request_parse reads. */
static json_t *register_json(const struct manifest *m)
{
	json_t *full = manifest_to_json(m), *b = json_object();
	static const char *const fields[] = { "name", "schema_fingerprint", "schema", "objects",
					      "row_count", "declared_types" /* if said */ };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		json_object_set(b, fields[i], json_object_get(full, fields[i]));
	json_object_set_new(b, "mode", json_string(m->mode[0] ? m->mode : "replace"));
	json_decref(full);
	return b;
}

int catalog_client_register(struct catalog_client *c, struct peer_call *call,
			    const struct manifest *req, struct manifest **out, int *existing,
			    struct lh_error *err)
{
	return catalog_client_register_evolve(c, call, req, 0, out, existing, NULL, err);
}

int catalog_client_register_evolve(struct catalog_client *c, struct peer_call *call,
				   const struct manifest *req, int evolve, struct manifest **out,
				   int *existing, json_t **evolved, struct lh_error *err)
{
	json_t *body = register_json(req), *doc = NULL;
	if (evolve)                                                          /* ADR 0173 */
		json_object_set_new(body, "evolve", json_true());
	if (call && call->who && call->who[0])                              /* ADR 0210 */
		json_object_set_new(body, "ingested_by", json_string(call->who));
	char *text = json_dump_compact(body);
	*out = NULL;
	*existing = 0;
	if (evolved)
		*evolved = NULL;
	int rc = peer_json(&c->peer, call, "POST", "/catalog/register", text, PEER_PASS_4XX,
			   "register answer", &doc, err);
	if (rc == 0) {
		*out = manifest_from_json(json_object_get(doc, "manifest"), err);
		if (!*out)
			rc = peer_unreadable(&c->peer, "/catalog/register", "register answer", err);
		*existing = json_is_true(json_object_get(doc, "existing"));
		json_t *ev = json_object_get(doc, "evolved");
		if (rc == 0 && evolved && json_is_object(ev))
			*evolved = json_incref(ev);
	}
	json_decref(doc);
	json_decref(body);
	free(text);
	return rc;
}

int catalog_client_drop(struct catalog_client *c, struct peer_call *call, const char *name,
			struct lh_error *err)
{
	json_t *doc = NULL;
	char *path = name_path("/catalog/manifest/", name, "");
	int rc = peer_json(&c->peer, call, "DELETE", path, NULL, PEER_PASS_404, "answer", &doc,
			   err);
	json_decref(doc);
	free(path);
	return rc;
}

int catalog_client_rename(struct catalog_client *c, struct peer_call *call, const char *from,
			  const char *to, struct manifest **out, struct lh_error *err)
{
	json_t *doc = NULL, *b = json_pack("{s:s}", "to", to);
	char *text = json_dump_compact(b);
	char *path = name_path("/catalog/datasets/", from, "/rename");
	*out = NULL;
	int rc = peer_json(&c->peer, call, "POST", path, text, PEER_PASS_4XX, "rename answer", &doc,
			   err);
	if (rc == 0) {
		*out = manifest_from_json(json_object_get(doc, "manifest"), err);
		if (!*out)
			rc = peer_unreadable(&c->peer, path, "rename answer", err);
	}
	json_decref(doc);
	json_decref(b);
	free(text);
	free(path);
	return rc;
}

int catalog_client_gc(struct catalog_client *c, struct peer_call *call, int dry_run,
		      int64_t grace_seconds, json_t **report, struct lh_error *err)
{
	json_t *b = json_object();
	json_object_set_new(b, "dry_run", json_boolean(dry_run));
	if (grace_seconds >= 0)
		json_object_set_new(b, "grace_seconds", json_integer((json_int_t)grace_seconds));
	char *text = json_dump_compact(b);
	int rc = peer_json(&c->peer, call, "POST", "/catalog/gc", text, PEER_PASS_409,
			   "garbage collection report", report, err);
	if (rc == 0 && !json_is_object(*report)) {
		json_decref(*report);
		*report = NULL;
		rc = lh_fail(err, 502, "upstream_failed", "%s sent an unreadable garbage collection "
			     "report", c->peer.name);
	}
	json_decref(b);
	free(text);
	return rc;
}

/* --- search indexes --------------------------------------------------------- */

/* One JSON call whose 2xx answer must be an object. */
static int index_call(struct catalog_client *c, struct peer_call *call, const char *method,
		      const char *path, const json_t *body, unsigned pass, const char *what,
		      json_t **out, struct lh_error *err)
{
	char *text = body ? json_dump_compact(body) : NULL;
	json_t *doc = NULL;
	int rc = peer_json(&c->peer, call, method, path, text, pass, what, &doc, err);
	free(text);
	if (rc == 0 && out && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
		rc = lh_fail(err, 502, "upstream_failed", "%s sent an unreadable %s", c->peer.name,
			     what);
	}
	if (out)
		*out = doc;
	else
		json_decref(doc);
	return rc;
}

int catalog_client_index_declare(struct catalog_client *c, struct peer_call *call,
				 const char *name, const json_t *decl, json_t **out, int *created,
				 struct lh_error *err)
{
	struct peer_call local = { 0 };
	struct peer_call *pc = call ? call : &local;
	char *path = name_path("/catalog/index/", name, "");
	int rc = index_call(c, pc, "PUT", path, decl, PEER_PASS_4XX, "search index", out, err);
	if (created)
		*created = rc == 0 && pc->status == 201;
	free(path);
	return rc;
}

int catalog_client_index_get(struct catalog_client *c, struct peer_call *call, const char *name,
			     json_t **out, struct lh_error *err)
{
	char *path = name_path("/catalog/index/", name, "");
	int rc = index_call(c, call, "GET", path, NULL, PEER_PASS_404, "search index", out, err);
	free(path);
	return rc;
}

int catalog_client_index_drop(struct catalog_client *c, struct peer_call *call,
			      const char *name, struct lh_error *err)
{
	char *path = name_path("/catalog/index/", name, "");
	int rc = index_call(c, call, "DELETE", path, NULL, PEER_PASS_404, "answer", NULL, err);
	free(path);
	return rc;
}

int catalog_client_index_record(struct catalog_client *c, struct peer_call *call,
				const char *name, int64_t version, const json_t *body,
				json_t **out, struct lh_error *err)
{
	char tail[48];
	snprintf(tail, sizeof tail, "/versions/%" PRId64, version);
	char *path = name_path("/catalog/index/", name, tail);
	int rc = index_call(c, call, "PUT", path, body, PEER_PASS_4XX, "build record answer", out,
			    err);
	free(path);
	return rc;
}

int catalog_client_index_component(struct catalog_client *c, struct peer_call *call,
				   const char *name, const char *fp, const float *vals, size_t n,
				   json_t **out, struct lh_error *err)
{
	json_t *b = json_object(), *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_real((double)vals[i]));
	json_object_set_new(b, "fingerprint", json_string(fp));
	json_object_set_new(b, "component", arr);
	char *path = name_path("/catalog/index/", name, "/component");
	int rc = index_call(c, call, "PUT", path, b, PEER_PASS_4XX, "common component", out, err);
	free(path);
	json_decref(b);
	return rc;
}

int catalog_client_index_pending(struct catalog_client *c, struct peer_call *call, size_t limit,
				 json_t **out, struct lh_error *err)
{
	/* a poll, each second: marked so that catalogd does not log it (the
	 * route is `poll`, http_server.h) */
	const char *hdrs[] = { "Accept: application/json", HTTP_HEALTH_CHECK_HEADER ": 1", NULL };
	const char *what = "list of indexes to build";
	struct http_client_request r;
	struct http_client_response resp;
	char path[64] = "/catalog/index-pending", *url = NULL;
	int rc = -1;
	*out = NULL;
	if (limit > 0)
		snprintf(path, sizeof path, "/catalog/index-pending?limit=%zu", limit);
	http_client_request_init(&r);
	r.method = "GET";
	r.headers = hdrs;
	if (peer_do(&c->peer, call, path, &r, &resp, &url, err) != 0)
		goto out;
	if (resp.status != 200) {
		peer_answer_fail(&c->peer, "GET", url, &resp, PEER_PASS_404, err);
		goto out;
	}
	*out = peer_answer_json(&c->peer, "GET", url, &resp, what, err);
	if (*out && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		lh_fail(err, 502, "upstream_failed", "%s sent an unreadable %s", c->peer.name, what);
	}
	rc = *out ? 0 : -1;
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}
