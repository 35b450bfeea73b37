/* catalog_index.h — a dataset's search-index declaration and its per-version
 * build records (docs/api.md "Search indexes"; ADR 0140): the model, its
 * validation, its canonical form and fingerprint, and its JSON. Private to
 * catalogd (catalogd.c, the store backends, the unit tests); other modules
 * speak to these routes through common/catalog_client.h.
 *
 * Everything here is pure (no I/O, no clock): the store passes times in.
 *
 *   - A declaration names the utf8 columns searched ("text"), optionally the
 *     column that identifies a row ("id") and the embedder. Its canonical
 *     JSON has sorted keys and every default filled in ({"embedder":
 *     "builtin","id":null,"text":[...]}); its fingerprint is "sha256:" +
 *     SHA-256 of that text. Index parts are keyed by the fingerprint, so
 *     two equal declarations share parts and a changed one shares none.
 *   - A build record is what queryd's builder reported for one version:
 *     building, ready (final) or failed, with the parts it wrote. A version
 *     without a record is pending.
 */
#ifndef LH_CATALOGD_CATALOG_INDEX_H
#define LH_CATALOGD_CATALOG_INDEX_H
#include "catalogd/catalog.h"
#include "common/json.h"
#include "common/limits.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;

enum catalog_index_state {
	CATALOG_INDEX_PENDING = 0,
	CATALOG_INDEX_BUILDING,
	CATALOG_INDEX_READY,
	CATALOG_INDEX_FAILED,
};

/* "pending", "building", "ready", "failed". */
const char *catalog_index_state_name(enum catalog_index_state s);
/* The name -> 0 and *out; anything else -> -1. */
int catalog_index_state_parse(const char *s, enum catalog_index_state *out);

/* A validated declaration (catalog_index_decl_parse). */
struct catalog_index_decl {
	char *json;                           /* owned: the canonical JSON text */
	char fingerprint[CATALOG_FP_LEN + 1]; /* "sha256:" + hex of `json` */
};

/* Parse and validate a PUT /catalog/index/<name> body against `latest`
 * (the dataset's latest version): "text" a non-empty array of distinct
 * column names of type utf8 (at most LH_INDEX_MAX_TEXT_COLUMNS), "id" an
 * optional column name, "embedder" optional ("builtin" default,
 * "ollama/<model>", "openai/<model>"; syntax only), no other key. "vector"
 * is refused: the schema vocabulary has no list type yet (ADR 0140).
 * Failures are 400 with "field" naming the culprit; an unknown column's
 * error also lists the columns that exist ("columns"). 0 and *out filled
 * (catalog_index_decl_free), or -1 with err. */
int catalog_index_decl_parse(const json_t *body, const struct catalog_version *latest,
			     struct catalog_index_decl *out, struct lh_error *err);
void catalog_index_decl_free(struct catalog_index_decl *d);

/* 1 if `id` is a valid embedder id ("builtin", "ollama/<model>",
 * "openai/<model>", the model 1..LH_INDEX_MODEL_MAX printable ASCII bytes
 * without spaces, quotes or backslashes). */
int catalog_index_embedder_valid(const char *id);

/* One index part: the part built from one data object of a version. */
struct catalog_index_part {
	char *object_key; /* owned: the data object it covers */
	char *part_key;   /* owned: its storaged key, under "_index/" */
	int64_t rows;
	int64_t bytes;
};

/* One version's build state (a build record, or "pending" without one). */
struct catalog_index_build {
	int64_t version;
	enum catalog_index_state state;
	char *reason; /* owned, or NULL */
	int64_t rows_indexed;
	int64_t build_ms;
	int64_t attempts;                 /* builds started (ADR 0140) */
	int64_t updated_ms;               /* 0 for pending */
	int64_t version_rows;             /* the version's row count */
	struct catalog_index_part *parts; /* owned array */
	size_t nparts;
};

/* How many build attempts a new record starts (0 or 1; ADR 0140), given the
 * version's current record (`cur`, CATALOG_INDEX_PENDING for none, last
 * written at `cur_updated_ms`) and the new one's state, at `now_ms`: a
 * "building" record starts one unless the current record is "building"
 * and younger than LH_INDEX_BUILD_STALE_MS (a heartbeat of the same build);
 * a "failed" one starts one when no "building" came before it. */
int catalog_index_attempt_starts(enum catalog_index_state cur, int64_t cur_updated_ms,
				 enum catalog_index_state next, int64_t now_ms);

/* Append a part to b, copying the strings. */
void catalog_index_build_add_part(struct catalog_index_build *b, const char *object_key,
				  const char *part_key, int64_t rows, int64_t bytes);
/* Free the data, not the struct. */
void catalog_index_build_free(struct catalog_index_build *b);

/* Parse a PUT /catalog/index/<name>/versions/<N> body: "fingerprint"
 * (required, the declaration's), "state" ("building" | "ready" | "failed"),
 * "reason" (string, optional), "rows_indexed", "build_ms" (>= 0, optional),
 * "parts" (array of {"object_key","part_key","rows","bytes"}, at most
 * LH_MANIFEST_MAX_OBJECTS; part keys valid storaged keys under "_index/",
 * distinct). The version is not set. 0 with *out and fp[] filled, or -1
 * with a 400. */
int catalog_index_build_parse(const json_t *body, struct catalog_index_build *out,
			      char fp[CATALOG_FP_LEN + 1], struct lh_error *err);

/* Check a record's parts against the version they are for: every
 * object_key is one of v's objects. 0, or -1 with a 400. */
int catalog_index_build_check_objects(const struct catalog_index_build *b,
				      const struct catalog_version *v, struct lh_error *err);

/* Parse a PUT /catalog/index/<name>/component body: "fingerprint" and
 * "component", 1..LH_INDEX_MAX_DIM finite numbers. 0 with *vals (xmalloc'd,
 * the caller frees) and *n, or -1 with a 400. */
int catalog_index_component_parse(const json_t *body, char fp[CATALOG_FP_LEN + 1], double **vals,
				  size_t *n, struct lh_error *err);

/* What GET /catalog/index/<name> shows. */
struct catalog_index_info {
	char name[LH_DATASET_NAME_MAX + 1];
	struct catalog_index_decl decl;
	int64_t from_version;
	int64_t created_ms;
	double *component; /* owned, or NULL */
	size_t component_dim;
	struct catalog_index_build
		*builds; /* owned: one per version >= from_version, oldest first */
	size_t nbuilds;
};
void catalog_index_info_destroy(struct catalog_index_info *i);

/* The GET body (docs/api.md); `now_ms` and `stale_ms` decide whether a
 * building record is a build that died (ADR 0140: after
 * LH_INDEX_BUILD_MAX_ATTEMPTS such deaths it shows as failed). A new
 * reference. */
json_t *catalog_index_info_json(const struct catalog_index_info *i, int64_t now_ms,
				int64_t stale_ms);

/* One entry of the builder's work queue (GET /catalog/index-pending). */
struct catalog_index_pending {
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;
	char fingerprint[CATALOG_FP_LEN + 1];
	char *decl_json; /* owned: the canonical declaration */
	enum catalog_index_state state;
	int64_t attempts;
};
/* Free an array of n entries. */
void catalog_index_pending_free(struct catalog_index_pending *p, size_t n);
/* {"pending": [...]}; a new reference. */
json_t *catalog_index_pending_json(const struct catalog_index_pending *p, size_t n);

#endif
