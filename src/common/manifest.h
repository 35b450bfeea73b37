/* manifest.h — a dataset version's manifest and the catalog's summaries of
 * versions: the one type and the one JSON codec for them (ADR 0130).
 *
 * catalogd writes manifests (catalog.c's encoders call manifest_to_json and
 * manifest_summary_to_json); ingestd, queryd, catalogd's GC, the gateway's
 * UI and the CLI read them through catalog_client.h, which decodes with
 * manifest_from_json. The JSON is docs/api.md's "GET /catalog/manifest":
 *
 *   {"name","version","schema_fingerprint","schema":[{"name","type",
 *    "nullable"}],"objects":[{"key","size","row_count","content_sha256"}],
 *    "row_count","size_bytes","mode","created_at","updated_at",
 *    "declared_types":[{"column","type"}]}
 *
 * A decoded manifest is immutable and reference-counted (manifest_ref /
 * manifest_unref), so a cache (queryd's) can lend it to many requests.
 * Decoding checks every field's type and that strings fit their buffers; it
 * is pure (no I/O) and unit-tested (tests/unit/test_manifest.c).
 */
#ifndef LH_MANIFEST_H
#define LH_MANIFEST_H
#include "common/json.h"
#include "common/limits.h"
#include "common/sha256.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;

#define MANIFEST_FP_LEN (7 + LH_SHA256_HEX_LEN)  /* "sha256:" + hex */
#define MANIFEST_TIME_LEN 31                     /* RFC 3339, ms, 'Z' */

struct manifest_column {
	char *name;          /* owned */
	char *type;          /* owned; a type name of docs/schema.md */
	int nullable;
};

struct manifest_object {
	char *key;           /* owned; a storaged key */
	int64_t size;        /* bytes */
	int64_t row_count;
	char content_sha256[LH_SHA256_HEX_LEN + 1];  /* lowercase hex */
	/* ADR 0173: "schema_fingerprint" of an object written under another
	 * schema than its version's (an evolved dataset); "" = the version's. */
	char fingerprint[MANIFEST_FP_LEN + 1];
};

struct manifest {
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;                           /* 1, 2, ... (0 in a request) */
	char fingerprint[MANIFEST_FP_LEN + 1];     /* "sha256:<hex>" */
	char mode[8];                              /* "replace", "append", "" = unsaid */
	struct manifest_column *columns;           /* owned array */
	size_t ncolumns;
	struct manifest_object *objects;           /* owned array, manifest order */
	size_t nobjects;
	int64_t row_count;                         /* sum over objects */
	int64_t size_bytes;                        /* sum over objects */
	char created_at[MANIFEST_TIME_LEN + 1];    /* the dataset's creation; "" = unsaid */
	char updated_at[MANIFEST_TIME_LEN + 1];    /* this version's creation; "" = unsaid */
	/* The dataset's declared types (ADR 0171), "declared_types":
	 * [{"column","type"}]: columns whose type was fixed by ?types= and
	 * applies to later uploads. `name` and `type` of each; `nullable` unused.
	 * has_declared = the field was said (catalogd always says it; a
	 * register request that says it replaces the stored list). */
	struct manifest_column *declared;          /* owned array */
	size_t ndeclared;
	int has_declared;
	/* ADR 0173: "object_schemas": {"<fp>": [{"name","type","nullable"}]}
	 * for every objects[i].fingerprint that is set; owned, NULL = none. */
	json_t *object_schemas;
	int refs;                                  /* manifest_ref/unref only */
};

/* A zeroed manifest holding one reference. */
struct manifest *manifest_create(void);
/* One more reference; returns m. */
struct manifest *manifest_ref(struct manifest *m);
/* Drop a reference; the last one frees. NULL is fine. */
void manifest_unref(struct manifest *m);

/* Builders (before the manifest is shared): copy their strings. */
void manifest_add_column(struct manifest *m, const char *name, const char *type, int nullable);
void manifest_add_object(struct manifest *m, const char *key, int64_t size, int64_t row_count,
			 const char *content_sha256);
/* Append a declared type (sets has_declared). */
void manifest_add_declared(struct manifest *m, const char *column, const char *type);

/* Decode `j` (borrowed). Required: name, version, schema_fingerprint, schema
 * (each column's name and type; nullable a boolean if present), objects
 * (each with key, size, row_count, content_sha256) and row_count; optional:
 * size_bytes (else the sum of the objects' sizes), mode, created_at,
 * updated_at, declared_types (each with column and type). Returns a new manifest (one reference), or NULL with a 502
 * "upstream_failed" error naming the field and what is wrong with it
 * ("objects[2].size: not an integer") — a manifest always comes from a peer. */
struct manifest *manifest_from_json(const json_t *j, struct lh_error *err);

/* Encode: a new JSON object in the order above; fields left unsaid ("")
 * are left out. Never NULL. */
json_t *manifest_to_json(const struct manifest *m);
/* The schema alone: [{"name","type","nullable"}], a new array. */
json_t *manifest_schema_json(const struct manifest *m);
/* ADR 0173: the schema object i was written with: its version's, or
 * object_schemas' entry for its fingerprint (borrowed); NULL when that
 * entry is missing. `version_schema` is manifest_schema_json(m), borrowed. */
const json_t *manifest_object_schema(const struct manifest *m, size_t i,
				     const json_t *version_schema);

/* One line of the catalog's dataset list (GET /catalog/datasets: a
 * dataset's latest version) or of a dataset's version list (GET
 * /catalog/versions/<name>). */
struct manifest_summary {
	char name[LH_DATASET_NAME_MAX + 1];        /* "" in a version list */
	int64_t version;
	int64_t row_count;                         /* -1 = unsaid */
	int64_t size_bytes;                        /* -1 = unsaid */
	char fingerprint[MANIFEST_FP_LEN + 1];     /* "" = unsaid */
	char mode[8];                              /* version lists; "" = unsaid */
	char created_at[MANIFEST_TIME_LEN + 1];    /* dataset: its creation;
						    * version list: the version's */
	char updated_at[MANIFEST_TIME_LEN + 1];    /* dataset lists; "" = unsaid */
	char ingested_by[64];                      /* version lists: the token name
						    * that made it (ADR 0210); "" = unsaid */
	char masked[LH_MASKED_JSON_MAX + 1];       /* dataset lists: the personal
						    * columns as a JSON array
						    * text (ADR 0211); "" = none */
};

/* Decode an array of summaries (`for_versions`: lines of a version list, no
 * name). Required: name (dataset lists) and version; the rest optional.
 * Returns 0 with *out (xmalloc'd, free() it; NULL when empty) and *n, or -1
 * with a 502 "upstream_failed" naming the field. */
int manifest_summaries_from_json(const json_t *arr, int for_versions,
				 struct manifest_summary **out, size_t *n, struct lh_error *err);
/* Encode one summary as catalogd answers it: dataset lists {"name",
 * "version","row_count","size_bytes","schema_fingerprint","created_at",
 * "updated_at"}, version lists {"version","row_count","size_bytes",
 * "schema_fingerprint","created_at","mode"}; unsaid fields left out. */
json_t *manifest_summary_to_json(const struct manifest_summary *s, int for_versions);

#endif
