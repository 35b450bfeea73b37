/* catalog_client.h — the typed client of catalogd's routes (docs/api.md
 * "catalogd"; ADR 0130): URL shapes, the service token, request ids, the
 * gateway's pool of replicas, and the mapping of catalogd's failures to our
 * errors (peer_client.h) live here, and manifests come back decoded
 * (manifest.h). Callers: ingestd's pipeline, queryd, the gateway's web UI
 * (a relaying client with the page's own bearer token) and the CLI (a
 * relaying client of the gateway's /v1).
 *
 * Every call takes a `struct peer_call *` (request id, bearer token, and the
 * peer's status OUT; NULL is fine) and returns 0, or -1 with err. A 404 is
 * passed as catalogd said it (404 with its code and message): callers to
 * which "no such dataset" is an answer test err->status == 404.
 */
#ifndef LH_CATALOG_CLIENT_H
#define LH_CATALOG_CLIENT_H
#include "common/json.h"
#include "common/peer_client.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct manifest;
struct manifest_summary;

struct catalog_client;

/* A client of the catalog `c` describes (c->name: how messages call it,
 * e.g. "the catalog"). Never NULL; free with catalog_client_destroy. */
struct catalog_client *catalog_client_create(const struct peer_config *c);
void catalog_client_destroy(struct catalog_client *c);
/* 1 when a URL or a non-empty pool was given. */
int catalog_client_configured(const struct catalog_client *c);

/* GET /catalog/datasets: every dataset's latest version, sorted by name.
 * *out is xmalloc'd (free() it; NULL when there is none), *n its length. */
int catalog_client_datasets(struct catalog_client *c, struct peer_call *call,
			    struct manifest_summary **out, size_t *n, struct lh_error *err);

/* GET /catalog/manifest/<name>[?version=N] (version 0 = the latest): *out
 * holds one reference (manifest_unref). 404 when the dataset or version
 * does not exist. */
int catalog_client_manifest(struct catalog_client *c, struct peer_call *call, const char *name,
			    int64_t version, struct manifest **out, struct lh_error *err);

/* GET /catalog/versions/<name>: every version, oldest first, as
 * catalog_client_datasets. 404 for an unknown dataset. */
int catalog_client_versions(struct catalog_client *c, struct peer_call *call, const char *name,
			    struct manifest_summary **out, size_t *n, struct lh_error *err);

/* POST /catalog/register of `req` (name, fingerprint, schema, objects,
 * row_count, mode; version and times are not sent). 0 with *out (the
 * registered manifest, one reference) and *existing (1: nothing new was
 * written). Every 4xx is catalogd's judgment of the request and is passed as
 * it said it, extra fields included: 409 schema_drift with its "diff", 409
 * object_missing with its "key", 409 name_conflict, 400 bad_request. */
int catalog_client_register(struct catalog_client *c, struct peer_call *call,
			    const struct manifest *req, struct manifest **out, int *existing,
			    struct lh_error *err);
/* The same with "evolve" (ADR 0173): evolve = 1 asks catalogd to make a
 * schema change a new version; on 0, *evolved (when evolved is not NULL)
 * is catalogd's "evolved" {"existing_fingerprint","new_fingerprint",
 * "existing_version","diff"} (a reference) or NULL when nothing evolved. A
 * narrowing is a 409 schema_narrowed passed through like drift. */
int catalog_client_register_evolve(struct catalog_client *c, struct peer_call *call,
				   const struct manifest *req, int evolve, struct manifest **out,
				   int *existing, json_t **evolved, struct lh_error *err);

/* DELETE /catalog/manifest/<name>: the dataset and all its versions. 404
 * when it does not exist. */
int catalog_client_drop(struct catalog_client *c, struct peer_call *call, const char *name,
			struct lh_error *err);

/* POST /catalog/datasets/<from>/rename {"to": to} (ADR 0175): 0 with *out
 * (the latest version under its new name, one reference). Every 4xx is
 * passed as catalogd said it: 404 not_found or renamed (extra renamed_to),
 * 409 name_conflict (extra existing_name), 400 bad_name / same_name. */
int catalog_client_rename(struct catalog_client *c, struct peer_call *call, const char *from,
			  const char *to, struct manifest **out, struct lh_error *err);

/* POST /catalog/gc {"dry_run", "grace_seconds" (when >= 0)}: *report is
 * catalogd's answer (a new reference; its fields are gc.h's). */
int catalog_client_gc(struct catalog_client *c, struct peer_call *call, int dry_run,
		      int64_t grace_seconds, json_t **report, struct lh_error *err);

/* --- search indexes (docs/api.md "Search indexes", ADR 0140) ---------------
 * The answers are catalogd's JSON as documented there (new references the
 * caller decrefs); every 4xx is passed as catalogd said it. */

/* PUT /catalog/index/<name> with `decl` ({"text": [...], "id", "embedder"};
 * borrowed): *out is the GET body; *created (may be NULL) 1 when the
 * declaration is new (201), 0 when it was there already or replaced one. */
int catalog_client_index_declare(struct catalog_client *c, struct peer_call *call,
				 const char *name, const json_t *decl, json_t **out, int *created,
				 struct lh_error *err);

/* GET /catalog/index/<name>: {"name","declaration","fingerprint",
 * "from_version","created_at","component","component_dim","versions"}.
 * 404 "not_found" (no dataset) or "no_index" (no declaration). */
int catalog_client_index_get(struct catalog_client *c, struct peer_call *call, const char *name,
			     json_t **out, struct lh_error *err);

/* DELETE /catalog/index/<name>. 404 as catalog_client_index_get. */
int catalog_client_index_drop(struct catalog_client *c, struct peer_call *call,
			      const char *name, struct lh_error *err);

/* PUT /catalog/index/<name>/versions/<version> with `body` ({"fingerprint",
 * "state", "reason", "rows_indexed", "build_ms", "parts"}; borrowed): *out
 * is the version's entry with "ignored". 409 "index_changed" when the
 * declaration changed meanwhile (drop the work), 409 "object_missing" when
 * a part is not in the object store, 404 for an unknown dataset, version
 * or index. */
int catalog_client_index_record(struct catalog_client *c, struct peer_call *call,
				const char *name, int64_t version, const json_t *body,
				json_t **out, struct lh_error *err);

/* PUT /catalog/index/<name>/component {"fingerprint": fp, "component":
 * vals[0..n)}: the first writer's component is kept; *out is
 * {"name","fingerprint","component","component_dim"} with the stored one
 * (maybe another writer's). 409 "index_changed" as above. */
int catalog_client_index_component(struct catalog_client *c, struct peer_call *call,
				   const char *name, const char *fp, const float *vals, size_t n,
				   json_t **out, struct lh_error *err);

/* GET /catalog/index-pending?limit=N (1..LH_INDEX_PENDING_MAX_LIMIT; 0 =
 * catalogd's default): {"pending": [{"name","version","fingerprint",
 * "declaration","state","attempts"}]}. A catalogd without the route
 * answers 404, passed as such. */
int catalog_client_index_pending(struct catalog_client *c, struct peer_call *call, size_t limit,
				 json_t **out, struct lh_error *err);

#endif
