/* catalog.c — what a catalog register means, independent of the backend.
 *
 * Used by catalogd.c (request parsing, JSON) and by every store backend
 * (catalog_plan inside its transaction). Pure: no I/O, no clock, no globals.
 *
 * NOTES ON THE DESIGN OF A REGISTER
 *   1. catalog_request_parse() validates every field before anything else
 *      happens, so a bad request never reaches a transaction. The schema
 *      fingerprint must be the fingerprint (docs/schema.md) of the schema sent:
 *      drift detection compares fingerprints, so they must not lie.
 *   2. The request's row_count must equal the sum of its objects' row counts
 *      (in both modes it describes the objects sent, ADR 0040).
 *   3. catalog_plan() runs inside the backend's transaction with the latest
 *      version read in that same transaction, so its decision is never stale:
 *        - other fingerprint            -> 409 schema_drift + column diff;
 *        - replace, same object set     -> existing (nothing written);
 *        - append, every object present -> existing (idempotent re-ingest);
 *        - otherwise                    -> version latest+1 (or 1).
 *   4. Object sets compare by key, and a key's size, row count and digest
 *      must match too. An appended key already present with other content is
 *      a 409 object_conflict: objects are write-once, so this is a client bug.
 */
#include "catalogd/catalog.h"

#include "common/calendar.h"
#include "common/error.h"
#include "common/keys.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/schema.h"
#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* The model                                                                */

struct catalog_version *catalog_version_create(void)
{
	return xcalloc(1, sizeof(struct catalog_version));
}

void catalog_version_destroy(struct catalog_version *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->ncolumns; i++) {
		free(v->columns[i].name);
		free(v->columns[i].type);
	}
	for (size_t i = 0; i < v->nobjects; i++)
		free(v->objects[i].key);
	free(v->columns);
	free(v->objects);
	json_decref(v->object_schemas);
	json_decref(v->evolved);
	catalog_version_clear_declared(v);
	free(v);
}

void catalog_version_clear_declared(struct catalog_version *v)
{
	for (size_t i = 0; i < v->ndeclared; i++) {
		free(v->declared[i].name);
		free(v->declared[i].type);
	}
	free(v->declared);
	v->declared = NULL;
	v->ndeclared = 0;
	v->has_declared = 0;
}

void catalog_version_add_declared(struct catalog_version *v, const char *column,
				  const char *type)
{
	v->declared = xgrow(v->declared, v->ndeclared, sizeof *v->declared);
	struct catalog_column *c = &v->declared[v->ndeclared++];
	c->name = xstrdup(column);
	c->type = xstrdup(type);
	c->nullable = 0;
	v->has_declared = 1;
}

void catalog_version_add_column(struct catalog_version *v, const char *name,
				const char *type, int nullable)
{
	v->columns = xgrow(v->columns, v->ncolumns, sizeof *v->columns);
	struct catalog_column *c = &v->columns[v->ncolumns++];
	c->name = xstrdup(name);
	c->type = xstrdup(type);
	c->nullable = nullable ? 1 : 0;
}

void catalog_version_add_object(struct catalog_version *v, const char *key, int64_t size,
				int64_t row_count, const char *sha256)
{
	v->objects = xgrow(v->objects, v->nobjects, sizeof *v->objects);
	struct catalog_object *o = &v->objects[v->nobjects++];
	o->key = xstrdup(key);
	o->size = size;
	o->row_count = row_count;
	snprintf(o->sha256, sizeof o->sha256, "%s", sha256);
	o->fingerprint[0] = '\0';
}

struct catalog_version *catalog_version_copy(const struct catalog_version *v)
{
	struct catalog_version *c = catalog_version_create();
	*c = *v;
	c->columns = NULL;
	c->ncolumns = 0;
	c->objects = NULL;
	c->nobjects = 0;
	c->declared = NULL;
	c->ndeclared = 0;
	for (size_t i = 0; i < v->ndeclared; i++)
		catalog_version_add_declared(c, v->declared[i].name, v->declared[i].type);
	c->object_schemas = v->object_schemas ? json_deep_copy(v->object_schemas) : NULL;
	c->evolved = NULL;
	for (size_t i = 0; i < v->ncolumns; i++)
		catalog_version_add_column(c, v->columns[i].name, v->columns[i].type,
					   v->columns[i].nullable);
	for (size_t i = 0; i < v->nobjects; i++) {
		catalog_version_add_object(c, v->objects[i].key, v->objects[i].size,
					   v->objects[i].row_count, v->objects[i].sha256);
		memcpy(c->objects[i].fingerprint, v->objects[i].fingerprint,
		       sizeof c->objects[i].fingerprint);
	}
	return c;
}

const char *catalog_mode_name(enum catalog_mode m)
{
	return m == CATALOG_APPEND ? "append" : "replace";
}

int catalog_mode_parse(const char *s, enum catalog_mode *out)
{
	if (!strcmp(s, "replace"))
		*out = CATALOG_REPLACE;
	else if (!strcmp(s, "append"))
		*out = CATALOG_APPEND;
	else
		return -1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */

int catalog_type_valid(const char *type)
{
	/* decimal(p,s) is stored since declared types (ADR 0171) */
	struct schema_type t;
	return schema_type_parse(type, strlen(type), &t) == 0 && schema_type_stored(&t);
}

int catalog_hex64_valid(const char *s)
{
	for (size_t i = 0; i < LH_SHA256_HEX_LEN; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[LH_SHA256_HEX_LEN] == '\0';
}

int catalog_fingerprint_valid(const char *s)
{
	return !strncmp(s, "sha256:", 7) && catalog_hex64_valid(s + 7);
}

void catalog_schema_fingerprint(const struct catalog_column *cols, size_t n,
				char out[CATALOG_FP_LEN + 1])
{
	struct schema_fp fp;
	schema_fp_init(&fp);
	for (size_t i = 0; i < n; i++)
		schema_fp_add(&fp, cols[i].name, cols[i].type);
	schema_fp_finish(&fp, out);
}

/* A 400 naming `field`; keeps an earlier error. */
static int field_fail(struct lh_error *err, const char *code, const char *field,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int field_fail(struct lh_error *err, const char *code, const char *field,
		      const char *fmt, ...)
{
	if (err->status)
		return -1;
	char msg[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lh_fail(err, 400, code, "%s", msg);
	lh_error_set(err, "field", json_string(field));
	return -1;
}

/* Re-raise a json_get_* failure on element `i` of `array` with its full path
 * ("objects[3].size") as the field. Clears `inner`. */
static int element_fail(struct lh_error *err, const char *array, size_t i,
			struct lh_error *inner)
{
	const char *f = inner->extra ? json_string_value(json_object_get(inner->extra, "field"))
				     : NULL;
	char path[128];
	snprintf(path, sizeof path, "%s[%zu]%s%s", array, i, f ? "." : "", f ? f : "");
	field_fail(err, inner->code[0] ? inner->code : "bad_request", path, "%s: %s", path,
		   inner->msg);
	lh_error_clear(inner);
	return -1;
}

/* Re-raise a storaged key error on objects[i].key, keeping its reason. */
static int element_key_fail(struct lh_error *err, size_t i, struct lh_error *inner)
{
	char path[64];
	snprintf(path, sizeof path, "objects[%zu].key", i);
	field_fail(err, "bad_key", path, "%s: %s", path, inner->msg);
	lh_error_clear(inner);
	return -1;
}

struct named {
	const char *s;
	size_t index;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int named_casecmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcasecmp(x->s, y->s);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Index of the first later duplicate in a list of names, or (size_t)-1. */
static size_t find_duplicate(struct named *names, size_t n, int casefold)
{
	size_t dup = (size_t)-1;
	qsort(names, n, sizeof *names, casefold ? named_casecmp : named_cmp);
	for (size_t i = 1; i < n; i++) {
		int same = casefold ? !strcasecmp(names[i].s, names[i - 1].s)
				    : !strcmp(names[i].s, names[i - 1].s);
		if (same && (dup == (size_t)-1 || names[i].index < dup))
			dup = names[i].index;
	}
	return dup;
}

static int parse_schema(const json_t *arr, struct catalog_version *v, struct lh_error *err)
{
	size_t n = json_array_size(arr);
	struct named *names = NULL;
	int rc = -1;
	if (n == 0)
		return field_fail(err, "bad_request", "schema", "schema must have at least one column");
	if (n > LH_SCHEMA_MAX_COLUMNS)
		return field_fail(err, "bad_request", "schema", "schema has %zu columns; the limit is %d",
				  n, LH_SCHEMA_MAX_COLUMNS);
	for (size_t i = 0; i < n; i++) {
		const json_t *col = json_array_get(arr, i);
		struct lh_error inner = { 0 };
		const char *name = NULL, *type = NULL;
		int nullable = 0;
		char path[64];
		if (!json_is_object(col)) {
			snprintf(path, sizeof path, "schema[%zu]", i);
			field_fail(err, "bad_request", path, "%s must be an object", path);
			goto out;
		}
		if (json_get_string(col, "name", 1, &name, &inner) ||
		    json_get_string(col, "type", 1, &type, &inner) ||
		    json_get_bool(col, "nullable", 1, &nullable, &inner)) {
			element_fail(err, "schema", i, &inner);
			goto out;
		}
		if (name[0] == '\0' || strlen(name) > LH_CSV_MAX_HEADER_NAME) {
			snprintf(path, sizeof path, "schema[%zu].name", i);
			field_fail(err, "bad_request", path, "%s must be 1 to %d bytes", path,
				   LH_CSV_MAX_HEADER_NAME);
			goto out;
		}
		/* The fingerprint separates names and types with 0x1f and 0x1e
		 * (docs/schema.md): a name holding a control character could make
		 * two schemas share a fingerprint. CSV headers refuse them too. */
		size_t k;
		for (k = 0; name[k] && (unsigned char)name[k] >= 0x20 && name[k] != 0x7f; k++)
			;
		if (name[k]) {
			snprintf(path, sizeof path, "schema[%zu].name", i);
			field_fail(err, "bad_request", path,
				   "%s contains a control character (byte 0x%02x at %zu)", path,
				   (unsigned char)name[k], k);
			goto out;
		}
		if (!catalog_type_valid(type)) {
			snprintf(path, sizeof path, "schema[%zu].type", i);
			field_fail(err, "bad_request", path,
				   "%s: unknown type; expected bool, int64, float64, date32, "
				   "timestamp[us], timestamp[us, tz=UTC] or utf8", path);
			goto out;
		}
		catalog_version_add_column(v, name, type, nullable);
	}
	names = xmalloc(n * sizeof *names);
	for (size_t i = 0; i < n; i++) {
		names[i].s = v->columns[i].name;
		names[i].index = i;
	}
	size_t dup = find_duplicate(names, n, 1);
	if (dup != (size_t)-1) {
		char path[64];
		snprintf(path, sizeof path, "schema[%zu].name", dup);
		field_fail(err, "bad_request", path,
			   "%s: column \"%s\" appears twice (names are compared case-insensitively)",
			   path, v->columns[dup].name);
		goto out;
	}
	rc = 0;
out:
	free(names);
	return rc;
}

static int add_checked(int64_t *sum, int64_t x)
{
	if (x > INT64_MAX - *sum)
		return -1;
	*sum += x;
	return 0;
}

static int parse_objects(const json_t *arr, struct catalog_version *v, struct lh_error *err)
{
	size_t n = json_array_size(arr);
	struct named *names = NULL;
	int rc = -1;
	char path[64];
	if (n > LH_MANIFEST_MAX_OBJECTS)
		return field_fail(err, "bad_request", "objects",
				  "objects has %zu entries; the limit is %d", n, LH_MANIFEST_MAX_OBJECTS);
	for (size_t i = 0; i < n; i++) {
		const json_t *obj = json_array_get(arr, i);
		struct lh_error inner = { 0 };
		const char *key = NULL, *sha = NULL;
		int64_t size = 0, rows = 0;
		if (!json_is_object(obj)) {
			snprintf(path, sizeof path, "objects[%zu]", i);
			field_fail(err, "bad_request", path, "%s must be an object", path);
			goto out;
		}
		if (json_get_string(obj, "key", 1, &key, &inner) ||
		    json_get_int(obj, "size", 1, &size, &inner) ||
		    json_get_int(obj, "row_count", 1, &rows, &inner) ||
		    json_get_string(obj, "content_sha256", 1, &sha, &inner)) {
			element_fail(err, "objects", i, &inner);
			goto out;
		}
		if (storage_key_validate(key, strlen(key), &inner)) {
			/* the same rule as storaged's, which will be asked for it */
			element_key_fail(err, i, &inner);
			goto out;
		}
		if (size < 0 || rows < 0) {
			snprintf(path, sizeof path, "objects[%zu].%s", i, size < 0 ? "size" : "row_count");
			field_fail(err, "bad_request", path, "%s must not be negative", path);
			goto out;
		}
		if (!catalog_hex64_valid(sha)) {
			snprintf(path, sizeof path, "objects[%zu].content_sha256", i);
			field_fail(err, "bad_request", path, "%s must be 64 lowercase hex digits", path);
			goto out;
		}
		if (add_checked(&v->row_count, rows) || add_checked(&v->size_bytes, size)) {
			snprintf(path, sizeof path, "objects[%zu]", i);
			field_fail(err, "bad_request", path, "%s: total size or row count overflows", path);
			goto out;
		}
		catalog_version_add_object(v, key, size, rows, sha);
	}
	if (n) {
		names = xmalloc(n * sizeof *names);
		for (size_t i = 0; i < n; i++) {
			names[i].s = v->objects[i].key;
			names[i].index = i;
		}
		size_t dup = find_duplicate(names, n, 0);
		if (dup != (size_t)-1) {
			snprintf(path, sizeof path, "objects[%zu].key", dup);
			field_fail(err, "bad_request", path, "%s: key \"%s\" is listed twice", path,
				   v->objects[dup].key);
			goto out;
		}
	}
	rc = 0;
out:
	free(names);
	return rc;
}

/* A request's optional "declared_types" (ADR 0171): each names a column of
 * the request's schema, once, with the type the schema gives it. */
static int parse_declared(const json_t *arr, struct catalog_version *v, struct lh_error *err)
{
	size_t i;
	const json_t *e;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return field_fail(err, "bad_request", "declared_types", "declared_types must be an array");
	v->has_declared = 1;
	json_array_foreach(arr, i, e) {
		const char *column = json_string_value(json_object_get(e, "column"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const struct catalog_column *c = NULL;
		for (size_t k = 0; column && k < v->ncolumns && !c; k++)
			if (!strcmp(v->columns[k].name, column))
				c = &v->columns[k];
		int twice = 0;
		for (size_t k = 0; c && k < v->ndeclared; k++)
			twice |= !strcmp(v->declared[k].name, column);
		if (!c || !type || strcmp(c->type, type) || twice) {
			char path[48];
			snprintf(path, sizeof path, "declared_types[%zu]", i);
			return field_fail(err, "bad_request", path, "%s must be {\"column\", \"type\"} "
					  "naming a column of the schema once, with its type", path);
		}
		catalog_version_add_declared(v, column, type);
	}
	return 0;
}

struct catalog_version *catalog_request_parse(const json_t *body, struct lh_error *err)
{
	struct catalog_version *v = catalog_version_create();
	const char *name = NULL, *fp = NULL, *mode = "replace";
	json_t *schema = NULL, *objects = NULL;
	int64_t row_count = 0;
	char computed[CATALOG_FP_LEN + 1];

	if (!json_is_object(body)) {
		lh_fail(err, 400, "bad_json", "expected a JSON object");
		goto fail;
	}
	if (json_get_string(body, "name", 1, &name, err) || dataset_name_check(name, err))
		goto fail;
	snprintf(v->name, sizeof v->name, "%s", name);
	if (json_get_string(body, "schema_fingerprint", 1, &fp, err))
		goto fail;
	if (!catalog_fingerprint_valid(fp)) {
		field_fail(err, "bad_request", "schema_fingerprint",
			   "schema_fingerprint must be \"sha256:\" followed by 64 lowercase hex digits");
		goto fail;
	}
	snprintf(v->fingerprint, sizeof v->fingerprint, "%s", fp);
	if (json_get_array(body, "schema", 1, &schema, err) || parse_schema(schema, v, err))
		goto fail;
	catalog_schema_fingerprint(v->columns, v->ncolumns, computed);
	if (strcmp(computed, v->fingerprint)) {
		field_fail(err, "bad_request", "schema_fingerprint",
			   "schema_fingerprint does not match the schema (expected %s)", computed);
		goto fail;
	}
	if (parse_declared(json_object_get(body, "declared_types"), v, err))   /* ADR 0171 */
		goto fail;
	if (json_get_array(body, "objects", 1, &objects, err) || parse_objects(objects, v, err))
		goto fail;
	if (json_get_int(body, "row_count", 1, &row_count, err))
		goto fail;
	if (row_count != v->row_count) {
		field_fail(err, "bad_request", "row_count",
			   "row_count is %lld but the objects hold %lld rows",
			   (long long)row_count, (long long)v->row_count);
		goto fail;
	}
	if (json_get_string(body, "mode", 0, &mode, err))
		goto fail;
	if (catalog_mode_parse(mode, &v->mode)) {
		field_fail(err, "bad_request", "mode", "mode must be \"replace\" or \"append\"");
		goto fail;
	}
	if (json_get_bool(body, "evolve", 0, &v->evolve, err))             /* ADR 0173 */
		goto fail;
	const char *by = NULL;                                              /* ADR 0210 */
	if (json_get_string(body, "ingested_by", 0, &by, err))
		goto fail;
	if (by && (strlen(by) > LH_TOKEN_NAME_MAX || !by[0])) {
		field_fail(err, "bad_request", "ingested_by", "ingested_by is a token's name: 1 to %d "
			   "characters", LH_TOKEN_NAME_MAX);
		goto fail;
	}
	snprintf(v->ingested_by, sizeof v->ingested_by, "%s", by ? by : "");
	return v;
fail:
	catalog_version_destroy(v);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Schema drift                                                             */

static json_t *diff_entry(const char *column, const char *change, const char *old_type,
			  const char *new_type)
{
	json_t *e = json_object();
	json_object_set_new(e, "column", json_string(column));
	json_object_set_new(e, "change", json_string(change));
	json_object_set_new(e, "old_type", old_type ? json_string(old_type) : json_null());
	json_object_set_new(e, "new_type", new_type ? json_string(new_type) : json_null());
	return e;
}

/* Position of `name` in sorted `idx` (of `cols`), or (size_t)-1. */
static size_t column_find(const struct named *idx, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(idx[mid].s, name);
		if (c == 0)
			return idx[mid].index;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (size_t)-1;
}

static struct named *column_index(const struct catalog_column *cols, size_t n)
{
	struct named *idx = xmalloc((n ? n : 1) * sizeof *idx);
	for (size_t i = 0; i < n; i++) {
		idx[i].s = cols[i].name;
		idx[i].index = i;
	}
	qsort(idx, n, sizeof *idx, named_cmp);
	return idx;
}

json_t *catalog_schema_diff(const struct catalog_column *old_cols, size_t nold,
			    const struct catalog_column *new_cols, size_t nnew)
{
	json_t *diff = json_array();
	struct named *old_idx = column_index(old_cols, nold);
	struct named *new_idx = column_index(new_cols, nnew);
	/* For the common columns in new order: their old positions (seq), and
	 * which of them lie on a longest increasing run of old positions — those
	 * stayed; the rest moved. Patience sorting, O(n log n). */
	size_t *seq = xmalloc((nnew ? nnew : 1) * sizeof *seq);
	size_t *seq_new = xmalloc((nnew ? nnew : 1) * sizeof *seq_new);
	size_t *tails = xmalloc((nnew ? nnew : 1) * sizeof *tails);  /* indices into seq */
	size_t *prev = xmalloc((nnew ? nnew : 1) * sizeof *prev);
	unsigned char *stays = xcalloc(nnew ? nnew : 1, 1);  /* by new index */
	size_t nseq = 0, ntails = 0;

	for (size_t i = 0; i < nold; i++)
		if (column_find(new_idx, nnew, old_cols[i].name) == (size_t)-1)
			json_array_append_new(diff, diff_entry(old_cols[i].name, "removed",
							       old_cols[i].type, NULL));
	for (size_t j = 0; j < nnew; j++) {
		size_t o = column_find(old_idx, nold, new_cols[j].name);
		if (o == (size_t)-1)
			continue;
		seq[nseq] = o;
		seq_new[nseq] = j;
		size_t lo = 0, hi = ntails;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (seq[tails[mid]] < o)
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[nseq] = lo ? tails[lo - 1] : (size_t)-1;
		tails[lo] = nseq;
		if (lo == ntails)
			ntails++;
		nseq++;
	}
	if (ntails) {
		for (size_t k = tails[ntails - 1]; k != (size_t)-1; k = prev[k])
			stays[seq_new[k]] = 1;
	}
	for (size_t j = 0; j < nnew; j++) {
		size_t o = column_find(old_idx, nold, new_cols[j].name);
		if (o == (size_t)-1) {
			json_array_append_new(diff, diff_entry(new_cols[j].name, "added", NULL,
							       new_cols[j].type));
			continue;
		}
		if (strcmp(old_cols[o].type, new_cols[j].type))
			json_array_append_new(diff, diff_entry(new_cols[j].name, "type_changed",
							       old_cols[o].type, new_cols[j].type));
		if (!stays[j])
			json_array_append_new(diff, diff_entry(new_cols[j].name, "moved",
							       old_cols[o].type, new_cols[j].type));
	}
	free(old_idx);
	free(new_idx);
	free(seq);
	free(seq_new);
	free(tails);
	free(prev);
	free(stays);
	return diff;
}

/* ------------------------------------------------------------------------ */
/* Planning a register                                                      */

static int object_ptr_cmp(const void *a, const void *b)
{
	const struct catalog_object *const *x = a, *const *y = b;
	return strcmp((*x)->key, (*y)->key);
}

/* Pointers to v's objects sorted by key (caller frees). */
static const struct catalog_object **objects_sorted(const struct catalog_version *v)
{
	const struct catalog_object **p = xmalloc((v->nobjects ? v->nobjects : 1) * sizeof *p);
	for (size_t i = 0; i < v->nobjects; i++)
		p[i] = &v->objects[i];
	qsort(p, v->nobjects, sizeof *p, object_ptr_cmp);
	return p;
}

static const struct catalog_object *objects_find(const struct catalog_object **sorted,
						 size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sorted[mid]->key, key);
		if (c == 0)
			return sorted[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int object_same(const struct catalog_object *a, const struct catalog_object *b)
{
	return a->size == b->size && a->row_count == b->row_count && !strcmp(a->sha256, b->sha256);
}

/* The fields of a drift body (SPEC 7): both fingerprints, the diff, both
 * schemas. */
static void drift_fields(const struct catalog_version *latest, const struct catalog_version *req,
			 struct lh_error *err)
{
	lh_error_set(err, "existing_fingerprint", json_string(latest->fingerprint));
	lh_error_set(err, "new_fingerprint", json_string(req->fingerprint));
	lh_error_set(err, "diff", catalog_schema_diff(latest->columns, latest->ncolumns,
						       req->columns, req->ncolumns));
	/* Both schemas in full, so a client (the web UI) can show them side by
	 * side without another request. */
	lh_error_set(err, "existing_schema", catalog_schema_json(latest->columns,
								  latest->ncolumns));
	lh_error_set(err, "new_schema", catalog_schema_json(req->columns, req->ncolumns));
}

static int drift_fail(const struct catalog_version *latest, const struct catalog_version *req,
		      struct lh_error *err)
{
	lh_fail(err, 409, "schema_drift",
		"the schema of \"%s\" differs from its latest version (%lld); register it under "
		"another name or drop the dataset first", req->name, (long long)latest->version);
	drift_fields(latest, req, err);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Explicit evolution (ADR 0173)                                            */

int catalog_type_widens(const char *from, const char *to)
{
	struct schema_type f, t;
	if (schema_type_parse(from, strlen(from), &f) || schema_type_parse(to, strlen(to), &t))
		return 0;
	if (schema_type_casts_to(&f, &t))
		return 1;
	return f.id == SCHEMA_DECIMAL && t.id == SCHEMA_DECIMAL && f.scale == t.scale &&
	       t.precision >= f.precision;
}

const char *catalog_object_fingerprint(const struct catalog_version *v, size_t i)
{
	return v->objects[i].fingerprint[0] ? v->objects[i].fingerprint : v->fingerprint;
}

/* The columns both schemas have whose type does not widen: a new array of
 * {"column","old_type","new_type"} in the new order. */
static json_t *narrowed_columns(const struct catalog_version *latest,
				const struct catalog_version *req)
{
	json_t *out = json_array();
	for (size_t j = 0; j < req->ncolumns; j++)
		for (size_t i = 0; i < latest->ncolumns; i++) {
			const struct catalog_column *o = &latest->columns[i], *n = &req->columns[j];
			if (strcmp(o->name, n->name))
				continue;
			if (!catalog_type_widens(o->type, n->type))
				json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "column", n->name,
								     "old_type", o->type,
								     "new_type", n->type));
			break;
		}
	return out;
}

static int narrowed_fail(const struct catalog_version *latest, const struct catalog_version *req,
			 json_t *narrowed, struct lh_error *err)
{
	const json_t *first = json_array_get(narrowed, 0);
	size_t more = json_array_size(narrowed) - 1;
	char tail[48] = "";
	if (more)
		snprintf(tail, sizeof tail, " (and %zu more column%s)", more, more > 1 ? "s" : "");
	lh_fail(err, 409, "schema_narrowed",
		"evolve cannot change column \"%s\" of \"%s\" from %s to %s%s: the values "
		"already stored cannot all be read as %s. Evolution only widens a type (int64 to "
		"float64, any type to utf8, date32 to timestamp[us], decimal(p,s) to a larger p); "
		"convert the column in the file, or drop the dataset first",
		json_string_value(json_object_get(first, "column")), req->name,
		json_string_value(json_object_get(first, "old_type")),
		json_string_value(json_object_get(first, "new_type")), tail,
		json_string_value(json_object_get(first, "new_type")));
	drift_fields(latest, req, err);
	lh_error_set(err, "narrowed", narrowed);
	return -1;
}

/* The schema (JSON, a new reference) of objects written under fingerprint
 * fp, from what `latest` knows; NULL if it does not know it. */
static json_t *known_schema(const struct catalog_version *latest, const char *fp)
{
	if (!strcmp(fp, latest->fingerprint))
		return catalog_schema_json(latest->columns, latest->ncolumns);
	json_t *s = latest->object_schemas ? json_object_get(latest->object_schemas, fp) : NULL;
	return s ? json_deep_copy(s) : NULL;
}

/* Add an object of `from` (its effective fingerprint `fp`) to next: the
 * fingerprint is kept when it is not next's, with its schema. */
static void evolve_add_object(struct catalog_version *next, const struct catalog_object *o,
			      const char *fp, const struct catalog_version *latest)
{
	catalog_version_add_object(next, o->key, o->size, o->row_count, o->sha256);
	if (!strcmp(fp, next->fingerprint))
		return;
	snprintf(next->objects[next->nobjects - 1].fingerprint, CATALOG_FP_LEN + 1, "%s", fp);
	if (!next->object_schemas)
		next->object_schemas = json_object();
	if (!json_object_get(next->object_schemas, fp)) {
		json_t *schema = known_schema(latest, fp);
		if (schema)
			json_object_set_new(next->object_schemas, fp, schema);
	}
}

/* A register with evolve whose fingerprint is not the latest's (ADR 0173):
 * the new version has the request's schema and fingerprint; replace: the
 * request's objects; append: the latest's objects, each keeping the
 * fingerprint it was written with, then the request's new ones. */
static int evolve_plan(const struct catalog_version *latest, const struct catalog_version *req,
		       int64_t now_ms, struct catalog_version **out, struct lh_error *err)
{
	json_t *narrowed = narrowed_columns(latest, req);
	const struct catalog_object **sorted = NULL;
	struct catalog_version *next = NULL;
	int rc = -1;

	if (json_array_size(narrowed))
		return narrowed_fail(latest, req, narrowed, err);   /* takes narrowed */
	json_decref(narrowed);

	next = catalog_version_create();
	snprintf(next->name, sizeof next->name, "%s", req->name);
	snprintf(next->fingerprint, sizeof next->fingerprint, "%s", req->fingerprint);
	for (size_t j = 0; j < req->ncolumns; j++) {
		const struct catalog_column *c = &req->columns[j];
		int nullable = c->nullable;
		if (req->mode == CATALOG_APPEND && latest->row_count > 0) {
			/* older rows read this column as null unless they had it */
			nullable = 1;
			for (size_t i = 0; i < latest->ncolumns; i++)
				if (!strcmp(latest->columns[i].name, c->name))
					nullable = c->nullable | latest->columns[i].nullable;
		}
		catalog_version_add_column(next, c->name, c->type, nullable);
	}
	sorted = objects_sorted(latest);
	if (req->mode == CATALOG_APPEND) {
		for (size_t i = 0; i < latest->nobjects; i++)
			evolve_add_object(next, &latest->objects[i],
					  catalog_object_fingerprint(latest, i), latest);
	}
	for (size_t i = 0; i < req->nobjects; i++) {
		const struct catalog_object *r = &req->objects[i];
		const struct catalog_object *o = objects_find(sorted, latest->nobjects, r->key);
		if (o && !object_same(o, r)) {
			char path[64];
			snprintf(path, sizeof path, "objects[%zu].key", i);
			lh_fail(err, 409, "object_conflict",
				"object \"%s\" is already in \"%s\" with other content", r->key,
				req->name);
			lh_error_set(err, "field", json_string(path));
			goto out;
		}
		if (o && req->mode == CATALOG_APPEND)
			continue;
		if (next->nobjects >= LH_MANIFEST_MAX_OBJECTS) {
			lh_fail(err, 400, "too_many_objects",
				"appending would give \"%s\" more than %d objects", req->name,
				LH_MANIFEST_MAX_OBJECTS);
			goto out;
		}
		/* a key the latest holds keeps the schema it was written with */
		evolve_add_object(next, r,
				  o ? catalog_object_fingerprint(latest, (size_t)(o - latest->objects))
				    : req->fingerprint, latest);
	}
	for (size_t i = 0; i < next->nobjects; i++) {
		if (add_checked(&next->row_count, next->objects[i].row_count) ||
		    add_checked(&next->size_bytes, next->objects[i].size)) {
			lh_fail(err, 400, "bad_request",
				"appending would overflow the row count or size of \"%s\"", req->name);
			goto out;
		}
	}
	next->evolved = json_pack("{s:s, s:s, s:I, s:o}", "existing_fingerprint",
				  latest->fingerprint, "new_fingerprint", req->fingerprint,
				  "existing_version", (json_int_t)latest->version, "diff",
				  catalog_schema_diff(latest->columns, latest->ncolumns, req->columns,
						      req->ncolumns));
	next->mode = req->mode;
	next->version = latest->version + 1;
	next->created_ms = latest->created_ms;
	next->updated_ms = now_ms;
	memcpy(next->ingested_by, req->ingested_by, sizeof next->ingested_by);   /* ADR 0210 */
	*out = next;
	next = NULL;
	rc = 0;
out:
	catalog_version_destroy(next);
	free(sorted);
	return rc;
}

int catalog_plan(const struct catalog_version *latest, const struct catalog_version *req,
		 int64_t now_ms, struct catalog_version **out, struct lh_error *err)
{
	const struct catalog_object **sorted = NULL;
	struct catalog_version *next = NULL;
	int rc = -1;

	*out = NULL;
	if (!latest) {
		next = catalog_version_copy(req);
		next->version = 1;
		next->created_ms = now_ms;
		next->updated_ms = now_ms;
		*out = next;
		return 0;
	}
	if (strcmp(latest->fingerprint, req->fingerprint))
		return req->evolve ? evolve_plan(latest, req, now_ms, out, err)     /* ADR 0173 */
				   : drift_fail(latest, req, err);

	sorted = objects_sorted(latest);
	if (req->mode == CATALOG_REPLACE) {
		int same = req->nobjects == latest->nobjects;
		for (size_t i = 0; same && i < req->nobjects; i++) {
			const struct catalog_object *o =
				objects_find(sorted, latest->nobjects, req->objects[i].key);
			same = o && object_same(o, &req->objects[i]);
		}
		if (same) {
			rc = 0;  /* existing */
			goto out;
		}
		next = catalog_version_copy(req);
	} else {
		next = catalog_version_copy(latest);
		/* The appended data's schema, with a column nullable if either is. */
		for (size_t i = 0; i < next->ncolumns && i < req->ncolumns; i++)
			next->columns[i].nullable |= req->columns[i].nullable;
		size_t added = 0;
		for (size_t i = 0; i < req->nobjects; i++) {
			const struct catalog_object *r = &req->objects[i];
			const struct catalog_object *o = objects_find(sorted, latest->nobjects, r->key);
			if (o && !object_same(o, r)) {
				char path[64];
				snprintf(path, sizeof path, "objects[%zu].key", i);
				lh_fail(err, 409, "object_conflict",
					"object \"%s\" is already in \"%s\" with other content",
					r->key, req->name);
				lh_error_set(err, "field", json_string(path));
				goto out;
			}
			if (o)
				continue;
			if (next->nobjects >= LH_MANIFEST_MAX_OBJECTS) {
				lh_fail(err, 400, "too_many_objects",
					"appending would give \"%s\" more than %d objects",
					req->name, LH_MANIFEST_MAX_OBJECTS);
				goto out;
			}
			if (add_checked(&next->row_count, r->row_count) ||
			    add_checked(&next->size_bytes, r->size)) {
				lh_fail(err, 400, "bad_request",
					"appending would overflow the row count or size of \"%s\"",
					req->name);
				goto out;
			}
			catalog_version_add_object(next, r->key, r->size, r->row_count, r->sha256);
			added++;
		}
		if (added == 0) {
			rc = 0;  /* existing: every object is already there */
			goto out;
		}
	}
	next->mode = req->mode;
	next->version = latest->version + 1;
	next->created_ms = latest->created_ms;
	next->updated_ms = now_ms;
	memcpy(next->ingested_by, req->ingested_by, sizeof next->ingested_by);   /* ADR 0210 */
	*out = next;
	next = NULL;
	rc = 0;
out:
	catalog_version_destroy(next);
	free(sorted);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

void catalog_time_format(int64_t ms, char out[32])
{
	calendar_format_rfc3339_ms(ms, out);
}

json_t *catalog_schema_json(const struct catalog_column *cols, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "name", json_string(cols[i].name));
		json_object_set_new(c, "type", json_string(cols[i].type));
		json_object_set_new(c, "nullable", json_boolean(cols[i].nullable));
		json_array_append_new(arr, c);
	}
	return arr;
}

int catalog_schema_from_json(struct catalog_version *v, const json_t *arr,
			     struct lh_error *err)
{
	if (!json_is_array(arr))
		return lh_fail(err, 500, "internal", "a stored schema is unreadable");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *c = json_array_get(arr, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "type"));
		if (!name || !type)
			return lh_fail(err, 500, "internal", "a stored schema is unreadable");
		catalog_version_add_column(v, name, type, json_is_true(json_object_get(c, "nullable")));
	}
	return 0;
}

json_t *catalog_declared_json(const struct catalog_version *v)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < v->ndeclared; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "column", v->declared[i].name,
						     "type", v->declared[i].type));
	return arr;
}

int catalog_declared_from_json(struct catalog_version *v, const json_t *arr,
			       struct lh_error *err)
{
	if (!json_is_array(arr))
		return lh_fail(err, 500, "internal", "a stored declaration is unreadable");
	v->has_declared = 1;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *c = json_array_get(arr, i);
		const char *column = json_string_value(json_object_get(c, "column"));
		const char *type = json_string_value(json_object_get(c, "type"));
		if (!column || !type)
			return lh_fail(err, 500, "internal", "a stored declaration is unreadable");
		catalog_version_add_declared(v, column, type);
	}
	return 0;
}

/* The manifest's JSON comes from the one codec every reader decodes with
 * (common/manifest.h, ADR 0130). */
json_t *catalog_version_json(const struct catalog_version *v)
{
	struct manifest *m = manifest_create();
	snprintf(m->name, sizeof m->name, "%s", v->name);
	m->version = v->version;
	snprintf(m->fingerprint, sizeof m->fingerprint, "%s", v->fingerprint);
	snprintf(m->mode, sizeof m->mode, "%s", catalog_mode_name(v->mode));
	for (size_t i = 0; i < v->ncolumns; i++)
		manifest_add_column(m, v->columns[i].name, v->columns[i].type,
				    v->columns[i].nullable);
	for (size_t i = 0; i < v->nobjects; i++) {
		manifest_add_object(m, v->objects[i].key, v->objects[i].size,
				    v->objects[i].row_count, v->objects[i].sha256);
		memcpy(m->objects[i].fingerprint, v->objects[i].fingerprint,     /* ADR 0173 */
		       sizeof m->objects[i].fingerprint);
	}
	if (v->object_schemas)
		m->object_schemas = json_incref(v->object_schemas);
	m->row_count = v->row_count;
	m->size_bytes = v->size_bytes;
	catalog_time_format(v->created_ms, m->created_at);
	catalog_time_format(v->updated_ms, m->updated_at);
	for (size_t i = 0; i < v->ndeclared; i++)                         /* ADR 0171 */
		manifest_add_declared(m, v->declared[i].name, v->declared[i].type);
	m->has_declared = v->has_declared;
	json_t *j = manifest_to_json(m);
	manifest_unref(m);
	return j;
}

static int name_casefold_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int c = strcasecmp(x, y);
	return c ? c : strcmp(x, y);
}

json_t *catalog_case_clashes(const struct catalog_summary *list, size_t n)
{
	json_t *groups = json_array();
	const char **names = xcalloc(n ? n : 1, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = list[i].name;
	qsort(names, n, sizeof *names, name_casefold_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && !strcasecmp(names[i], names[j]); j++)
			;
		if (j - i < 2)
			continue;
		json_t *g = json_array();
		for (size_t k = i; k < j; k++)
			json_array_append_new(g, json_string(names[k]));
		json_array_append_new(groups, g);
	}
	free(names);
	return groups;
}

json_t *catalog_summary_json(const struct catalog_summary *s, int for_versions)
{
	struct manifest_summary m = { .version = s->version, .row_count = s->row_count,
				      .size_bytes = s->size_bytes };
	char updated[32];
	snprintf(m.fingerprint, sizeof m.fingerprint, "%s", s->fingerprint);
	catalog_time_format(s->updated_ms, updated);
	if (for_versions) {
		/* A version's own creation time, and how it was made. */
		snprintf(m.created_at, sizeof m.created_at, "%s", updated);
		snprintf(m.mode, sizeof m.mode, "%s", catalog_mode_name(s->mode));
		snprintf(m.ingested_by, sizeof m.ingested_by, "%s", s->ingested_by);
	} else {
		snprintf(m.name, sizeof m.name, "%s", s->name);
		catalog_time_format(s->created_ms, m.created_at);
		snprintf(m.updated_at, sizeof m.updated_at, "%s", updated);
	}
	return manifest_summary_to_json(&m, for_versions);
}
