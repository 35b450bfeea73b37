/* catalog.h — catalogd's private model and the backend-independent meaning of
 * a register (docs/api.md, ADR 0040). Included by catalogd.c, the store backends and the unit
 * tests; other modules use catalogd.h only.
 *
 * A `struct catalog_version` is one immutable manifest: the version of a
 * dataset, its schema, its objects and their totals. A register request is
 * parsed into the same struct with version 0, so validation, planning and
 * serialisation speak one type. Everything here is pure (no I/O, no clock):
 * the store passes the time in, which keeps the semantics unit-testable and
 * identical for every backend.
 */
#ifndef LH_CATALOG_H
#define LH_CATALOG_H
#include "common/json.h"
#include "common/limits.h"
#include "common/sha256.h"
#include "common/tokens.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;

#define CATALOG_FP_LEN (7 + LH_SHA256_HEX_LEN)  /* "sha256:" + hex */

enum catalog_mode { CATALOG_REPLACE = 0, CATALOG_APPEND = 1 };

struct catalog_column {
	char *name;      /* owned */
	char *type;      /* owned; one of catalog_type_valid() */
	int nullable;
};

struct catalog_object {
	char *key;       /* owned; a storaged key */
	int64_t size;    /* bytes, >= 0 */
	int64_t row_count;
	char sha256[LH_SHA256_HEX_LEN + 1];  /* content digest, lowercase hex */
	/* ADR 0173: the fingerprint of the schema the object was written with
	 * when it is not its version's (an older object of an evolved
	 * dataset); "" = the version's own. */
	char fingerprint[CATALOG_FP_LEN + 1];
};

struct catalog_version {
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;                      /* 1, 2, ...; 0 in a request */
	char fingerprint[CATALOG_FP_LEN + 1]; /* "sha256:<hex>" */
	enum catalog_mode mode;               /* how this version was made */
	struct catalog_column *columns;       /* owned array */
	size_t ncolumns;
	struct catalog_object *objects;       /* owned array, manifest order */
	size_t nobjects;
	int64_t row_count;                    /* sum over objects */
	int64_t size_bytes;                   /* sum over objects */
	int64_t created_ms;  /* the dataset's creation (its version 1), Unix ms */
	int64_t updated_ms;  /* this version's creation, Unix ms */
	char ingested_by[LH_TOKEN_NAME_MAX + 1]; /* who made it (ADR 0210), "" = unsaid */
	/* ADR 0173 (explicit evolution): */
	int evolve;          /* a request's "evolve": true */
	json_t *object_schemas;  /* owned, or NULL: {"<fp>": [schema]} for every
				  * objects[i].fingerprint that is set */
	json_t *evolved;     /* owned, or NULL: a version made by evolve has
			      * {"existing_fingerprint","new_fingerprint","diff"} */
	/* ADR 0171 (declared types): the dataset's declared types, one
	 * {name, type} per column (nullable unused). A request with
	 * has_declared replaces the stored list (catalog_request_parse checks
	 * each names a column of its schema with that type); a version read
	 * from a store carries the dataset's current list (has_declared = 1). */
	struct catalog_column *declared;      /* owned array */
	size_t ndeclared;
	int has_declared;
};

/* One line of GET /catalog/datasets or /catalog/versions/<name>. */
struct catalog_summary {
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;
	char fingerprint[CATALOG_FP_LEN + 1];
	enum catalog_mode mode;
	int64_t row_count, size_bytes;
	int64_t created_ms, updated_ms;
	char ingested_by[LH_TOKEN_NAME_MAX + 1]; /* version lists (ADR 0210), "" = unsaid */
};

/* --- the model --------------------------------------------------------- */

/* A zeroed version; free with catalog_version_destroy (NULL is fine). */
struct catalog_version *catalog_version_create(void);
void catalog_version_destroy(struct catalog_version *v);
/* A deep copy. */
struct catalog_version *catalog_version_copy(const struct catalog_version *v);
/* Free v's declared types (has_declared = 0). */
void catalog_version_clear_declared(struct catalog_version *v);
/* Append a declared type (ADR 0171), copying the strings; sets has_declared. */
void catalog_version_add_declared(struct catalog_version *v, const char *column,
				  const char *type);
/* The declared types as stored: [{"column","type"}], a new reference; and
 * back (trusted data, still checked: 0, or -1 with a 500). */
json_t *catalog_declared_json(const struct catalog_version *v);
int catalog_declared_from_json(struct catalog_version *v, const json_t *arr,
			       struct lh_error *err);
/* Append a column / object, copying the strings. */
void catalog_version_add_column(struct catalog_version *v, const char *name,
				const char *type, int nullable);
void catalog_version_add_object(struct catalog_version *v, const char *key, int64_t size,
				int64_t row_count, const char *sha256);

const char *catalog_mode_name(enum catalog_mode m);
/* "replace"/"append" -> 0 and *out; anything else -> -1. */
int catalog_mode_parse(const char *s, enum catalog_mode *out);

/* --- validation (pure) ------------------------------------------------- */

/* 1 if `type` is a type name a manifest may hold (docs/schema.md). */
int catalog_type_valid(const char *type);
/* 1 if `s` is exactly 64 lowercase hex digits. */
int catalog_hex64_valid(const char *s);
/* 1 if `s` is "sha256:" + 64 lowercase hex digits. */
int catalog_fingerprint_valid(const char *s);

/* The fingerprint (docs/schema.md) of a column list into out[CATALOG_FP_LEN + 1]. */
void catalog_schema_fingerprint(const struct catalog_column *cols, size_t n,
				char out[CATALOG_FP_LEN + 1]);

/* Parse and validate a POST /catalog/register body into a new version with
 * version 0 (caller destroys). Every field is checked; a failure is a 400
 * whose extra "field" names it ("schema[2].type", "objects[0].size", ...),
 * "bad_name" for the name, and NULL is returned. */
struct catalog_version *catalog_request_parse(const json_t *body, struct lh_error *err);

/* --- semantics (pure) -------------------------------------------------- */

/* ADR 0173: 1 if a column stored as type `from` may be read as type `to` by
 * explicit evolution (a widening): the same type; int64 -> float64; any
 * type -> utf8; date32 -> timestamp[us]; decimal(p,s) -> decimal(q,s) with
 * q >= p. 0 for anything else (a narrowing, or an unknown name). */
int catalog_type_widens(const char *from, const char *to);

/* ADR 0173: the effective schema fingerprint of v's object i (its own, or
 * the version's). */
const char *catalog_object_fingerprint(const struct catalog_version *v, size_t i);

/* The schema drift between two column lists (docs/api.md, POST
 * /catalog/register): a new JSON array of
 * {"column","change","old_type","new_type"} with change "removed" (old order),
 * then, in the new order, "added", "type_changed" and "moved". "moved" marks a
 * smallest set of common columns whose relocation explains the new order (the
 * others keep their relative order); a column may be both type_changed and
 * moved. Absent types are null. Empty array when the lists are equal. */
json_t *catalog_schema_diff(const struct catalog_column *old_cols, size_t nold,
			    const struct catalog_column *new_cols, size_t nnew);

/* Decide what a register does, given the dataset's latest version (NULL if
 * the dataset does not exist) and the parsed request (with req->evolve, an
 * other fingerprint whose diff only adds, removes, moves or widens columns
 * makes a new version under the request's fingerprint, ADR 0173; a
 * narrowing is 409 "schema_narrowed" with the drift body and "narrowed"):
 *   - returns 0 and *out = NULL: the latest version already holds this
 *     (existing: true); nothing is to be written;
 *   - returns 0 and *out = the new version to write (version latest+1 or 1,
 *     objects replaced or appended, totals, created_ms/updated_ms from
 *     `now_ms`); the caller destroys it;
 *   - returns -1 with err: 409 "schema_drift" (extra existing_fingerprint,
 *     new_fingerprint, diff), 409 "object_conflict" (an appended key already
 *     in the dataset with other content) or 400 "too_many_objects". */
int catalog_plan(const struct catalog_version *latest, const struct catalog_version *req,
		 int64_t now_ms, struct catalog_version **out, struct lh_error *err);

/* Dataset names equal but for letter case (ADR 0112): a catalog made before
 * names were unique regardless of case may hold such groups. Returns a new
 * JSON array of groups, each an array of >= 2 names in byte order, the
 * groups ordered by their lowercase name; [] when there is none. */
json_t *catalog_case_clashes(const struct catalog_summary *list, size_t n);

/* --- JSON -------------------------------------------------------------- */

/* RFC 3339 UTC with milliseconds, "2025-01-31T09:30:00.123Z". */
void catalog_time_format(int64_t ms, char out[32]);
/* The manifest object (docs/api.md, "A manifest"); a new reference. */
json_t *catalog_version_json(const struct catalog_version *v);
/* [{"name","type","nullable"}]; a new reference. */
json_t *catalog_schema_json(const struct catalog_column *cols, size_t n);
/* Read a stored schema array back into v's columns (trusted data, still
 * checked). 0, or -1 with a 500. */
int catalog_schema_from_json(struct catalog_version *v, const json_t *arr,
			     struct lh_error *err);
/* A /catalog/datasets entry (`for_versions` = 0) or a /catalog/versions entry
 * (`for_versions` = 1); a new reference. */
json_t *catalog_summary_json(const struct catalog_summary *s, int for_versions);

#endif
