/* catalog_index.c — search-index declarations and build records: validation,
 * the canonical form and fingerprint, and the JSON of the routes (see
 * catalog_index.h, ADR 0140). Pure: no I/O, no clock.
 */
#include "catalogd/catalog_index.h"

#include "common/error.h"
#include "common/keys.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_PART_PREFIX "_index/"

static const char *const state_names[] = { "pending", "building", "ready", "failed" };

const char *catalog_index_state_name(enum catalog_index_state s)
{
	return (unsigned)s < 4 ? state_names[s] : "pending";
}

int catalog_index_state_parse(const char *s, enum catalog_index_state *out)
{
	for (int i = 0; i < 4; i++)
		if (s && !strcmp(s, state_names[i])) {
			*out = (enum catalog_index_state)i;
			return 0;
		}
	return -1;
}

/* A 400 whose extra "field" names the culprit. Returns -1. */
static int field_fail(struct lh_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int field_fail(struct lh_error *err, const char *field, const char *fmt, ...)
{
	char msg[sizeof err->msg];
	va_list ap;
	if (err->status)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	lh_fail(err, 400, "bad_request", "%s", msg);
	lh_error_set(err, "field", json_string(field));
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Declarations                                                             */

int catalog_index_embedder_valid(const char *id)
{
	const char *model;
	size_t n;
	if (!id)
		return 0;
	if (!strcmp(id, "builtin"))
		return 1;
	if (!strncmp(id, "ollama/", 7))
		model = id + 7;
	else if (!strncmp(id, "openai/", 7))
		model = id + 7;
	else
		return 0;
	n = strlen(model);
	if (n == 0 || n > LH_INDEX_MODEL_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)model[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\')
			return 0;
	}
	return 1;
}

static const struct catalog_column *find_column(const struct catalog_version *v, const char *name)
{
	for (size_t i = 0; i < v->ncolumns; i++)
		if (!strcmp(v->columns[i].name, name))
			return &v->columns[i];
	return NULL;
}

/* 400 "unknown_column" naming `col` and the columns that exist. */
static int unknown_column(struct lh_error *err, const char *field, const char *col,
			  const struct catalog_version *v)
{
	json_t *names = json_array();
	size_t len = 0;
	char list[256] = "";
	for (size_t i = 0; i < v->ncolumns; i++) {
		json_array_append_new(names, json_string(v->columns[i].name));
		if (len < sizeof list - 1) {
			int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
					 v->columns[i].name);
			len = w < 0 ? len : len + (size_t)w;
		}
	}
	if (len >= sizeof list - 1)
		memcpy(list + sizeof list - 5, "...", 4);
	lh_fail(err, 400, "unknown_column", "dataset \"%s\" has no column \"%s\" (its columns: %s)",
		v->name, col, list);
	lh_error_set(err, "field", json_string(field));
	lh_error_set(err, "column", json_string(col));
	lh_error_set(err, "columns", names);
	return -1;
}

int catalog_index_decl_parse(const json_t *body, const struct catalog_version *latest,
			     struct catalog_index_decl *out, struct lh_error *err)
{
	const char *key;
	json_t *val, *text = NULL, *canon = NULL, *cols = NULL;
	const char *id = NULL, *embedder = "builtin";
	char field[32], hex[LH_SHA256_HEX_LEN + 1];
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!json_is_object(body))
		return lh_fail(err, 400, "bad_json", "expected a JSON object");
	json_object_foreach((json_t *)body, key, val)
	{
		if (strcmp(key, "text") && strcmp(key, "id") && strcmp(key, "embedder") &&
		    strcmp(key, "vector"))
			return field_fail(err, key,
					  "unknown field \"%s\": a declaration has \"text\", "
					  "\"id\" and \"embedder\"",
					  key);
	}
	if (json_object_get(body, "vector"))
		return field_fail(err, "vector",
				  "only text indexes can be declared for now: the "
				  "schema has no list-of-float column type yet, so there is no "
				  "column of vectors to index; declare \"text\": [columns]");
	text = json_object_get(body, "text");
	if (!text || json_is_null(text))
		return field_fail(err, "text",
				  "missing field \"text\": the utf8 columns to search, "
				  "e.g. {\"text\": [\"title\", \"notes\"]}");
	if (!json_is_array(text) || json_array_size(text) == 0)
		return field_fail(err, "text",
				  "\"text\" must be a non-empty array of column names");
	if (json_array_size(text) > LH_INDEX_MAX_TEXT_COLUMNS)
		return field_fail(err, "text",
				  "\"text\" names %zu columns; at most %d may be indexed",
				  json_array_size(text), LH_INDEX_MAX_TEXT_COLUMNS);
	cols = json_array();
	json_array_foreach(text, i, val)
	{
		snprintf(field, sizeof field, "text[%zu]", i);
		if (!json_is_string(val)) {
			field_fail(err, field, "%s must be a column name (a string)", field);
			goto out;
		}
		const char *name = json_string_value(val);
		const struct catalog_column *c = find_column(latest, name);
		if (!c) {
			unknown_column(err, field, name, latest);
			goto out;
		}
		if (strcmp(c->type, "utf8")) {
			field_fail(err, field,
				   "column \"%s\" is %s; only utf8 (text) columns can be "
				   "searched as text",
				   name, c->type);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_array_get(text, j)), name)) {
				field_fail(err, field, "column \"%s\" is named twice in \"text\"",
					   name);
				goto out;
			}
		json_array_append_new(cols, json_string(name));
	}
	val = json_object_get(body, "id");
	if (val && !json_is_null(val)) {
		if (!json_is_string(val)) {
			field_fail(err, "id", "\"id\" must be a column name (a string)");
			goto out;
		}
		id = json_string_value(val);
		if (!find_column(latest, id)) {
			unknown_column(err, "id", id, latest);
			goto out;
		}
	}
	val = json_object_get(body, "embedder");
	if (val && !json_is_null(val)) {
		if (!json_is_string(val) || !catalog_index_embedder_valid(json_string_value(val))) {
			field_fail(err, "embedder",
				   "\"embedder\" must be \"builtin\", \"ollama/<model>\" "
				   "or \"openai/<model>\"");
			goto out;
		}
		embedder = json_string_value(val);
	}
	canon = json_object();
	json_object_set_new(canon, "embedder", json_string(embedder));
	json_object_set_new(canon, "id", id ? json_string(id) : json_null());
	json_object_set(canon, "text", cols);
	out->json = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	sha256_hex(out->json, strlen(out->json), hex);
	snprintf(out->fingerprint, sizeof out->fingerprint, "sha256:%s", hex);
	rc = 0;
out:
	json_decref(cols);
	json_decref(canon);
	return rc;
}

void catalog_index_decl_free(struct catalog_index_decl *d)
{
	if (!d)
		return;
	free(d->json);
	d->json = NULL;
}

/* ------------------------------------------------------------------------ */
/* Build records                                                            */

int catalog_index_attempt_starts(enum catalog_index_state cur, int64_t cur_updated_ms,
				 enum catalog_index_state next, int64_t now_ms)
{
	int fresh =
		cur == CATALOG_INDEX_BUILDING && now_ms - cur_updated_ms < LH_INDEX_BUILD_STALE_MS;
	if (next == CATALOG_INDEX_BUILDING)
		return !fresh;
	if (next == CATALOG_INDEX_FAILED)
		return cur != CATALOG_INDEX_BUILDING;
	return 0;
}

void catalog_index_build_add_part(struct catalog_index_build *b, const char *object_key,
				  const char *part_key, int64_t rows, int64_t bytes)
{
	b->parts = xgrow(b->parts, b->nparts, sizeof *b->parts);
	struct catalog_index_part *p = &b->parts[b->nparts++];
	p->object_key = xstrdup(object_key);
	p->part_key = xstrdup(part_key);
	p->rows = rows;
	p->bytes = bytes;
}

void catalog_index_build_free(struct catalog_index_build *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nparts; i++) {
		free(b->parts[i].object_key);
		free(b->parts[i].part_key);
	}
	free(b->parts);
	free(b->reason);
	memset(b, 0, sizeof *b);
}

/* An optional non-negative integer field. */
static int get_count(const json_t *obj, const char *name, const char *field, int64_t *out,
		     struct lh_error *err)
{
	json_t *v = json_object_get(obj, name);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return field_fail(err, field, "%s must be an integer >= 0", field);
	*out = json_integer_value(v);
	return 0;
}

/* The fingerprint field, required and well-formed. */
static int get_fp(const json_t *body, char fp[CATALOG_FP_LEN + 1], struct lh_error *err)
{
	json_t *v = json_object_get(body, "fingerprint");
	if (!json_is_string(v) || !catalog_fingerprint_valid(json_string_value(v)))
		return field_fail(err, "fingerprint",
				  "\"fingerprint\" must be the declaration's "
				  "fingerprint, \"sha256:\" and 64 hex digits");
	snprintf(fp, CATALOG_FP_LEN + 1, "%s", json_string_value(v));
	return 0;
}

/* Copy `s` cut to at most `max` bytes at a UTF-8 boundary. */
static char *utf8_cut_dup(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return xstrndup(s, n);
}

static int part_key_cmp(const void *a, const void *b)
{
	const struct catalog_index_part *x = a, *y = b;
	return strcmp(x->part_key, y->part_key);
}

static int parse_parts(const json_t *arr, struct catalog_index_build *out, struct lh_error *err)
{
	char field[48];
	json_t *p;
	size_t i;
	if (!json_is_array(arr))
		return field_fail(err, "parts",
				  "\"parts\" must be an array of {\"object_key\", "
				  "\"part_key\", \"rows\", \"bytes\"}");
	if (json_array_size(arr) > LH_MANIFEST_MAX_OBJECTS)
		return field_fail(err, "parts", "\"parts\" has more than %d entries",
				  LH_MANIFEST_MAX_OBJECTS);
	json_array_foreach(arr, i, p)
	{
		json_t *ok = json_object_get(p, "object_key"), *pk = json_object_get(p, "part_key");
		int64_t rows = 0, bytes = 0;
		struct lh_error inner = { 0 };
		snprintf(field, sizeof field, "parts[%zu]", i);
		if (!json_is_object(p))
			return field_fail(err, field, "%s must be an object", field);
		if (!json_is_string(ok) || !json_string_length(ok))
			return field_fail(err, field, "%s.object_key must be a data object's key",
					  field);
		if (!json_is_string(pk) ||
		    storage_key_validate(json_string_value(pk), json_string_length(pk), &inner) ||
		    strncmp(json_string_value(pk), INDEX_PART_PREFIX, strlen(INDEX_PART_PREFIX))) {
			lh_error_clear(&inner);
			return field_fail(err, field,
					  "%s.part_key must be an object key under \"%s\"", field,
					  INDEX_PART_PREFIX);
		}
		snprintf(field, sizeof field, "parts[%zu].rows", i);
		if (get_count(p, "rows", field, &rows, err))
			return -1;
		snprintf(field, sizeof field, "parts[%zu].bytes", i);
		if (get_count(p, "bytes", field, &bytes, err))
			return -1;
		catalog_index_build_add_part(out, json_string_value(ok), json_string_value(pk),
					     rows, bytes);
	}
	if (out->nparts > 1) {
		/* distinct part keys: sort a copy of the pointers' order-free view */
		struct catalog_index_part *sorted = xmalloc(out->nparts * sizeof *sorted);
		memcpy(sorted, out->parts, out->nparts * sizeof *sorted);
		qsort(sorted, out->nparts, sizeof *sorted, part_key_cmp);
		for (size_t j = 1; j < out->nparts; j++)
			if (!strcmp(sorted[j - 1].part_key, sorted[j].part_key)) {
				field_fail(err, "parts", "part key \"%s\" is listed twice",
					   sorted[j].part_key);
				free(sorted);
				return -1;
			}
		free(sorted);
	}
	return 0;
}

int catalog_index_build_parse(const json_t *body, struct catalog_index_build *out,
			      char fp[CATALOG_FP_LEN + 1], struct lh_error *err)
{
	const char *key;
	json_t *val;
	memset(out, 0, sizeof *out);
	if (!json_is_object(body))
		return lh_fail(err, 400, "bad_json", "expected a JSON object");
	json_object_foreach((json_t *)body, key, val)
	{
		static const char *const known[] = { "fingerprint",  "state",    "reason",
						     "rows_indexed", "build_ms", "parts" };
		int ok = 0;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok |= !strcmp(key, known[i]);
		if (!ok)
			return field_fail(err, key, "unknown field \"%s\"", key);
	}
	if (get_fp(body, fp, err))
		return -1;
	val = json_object_get(body, "state");
	if (!json_is_string(val) ||
	    catalog_index_state_parse(json_string_value(val), &out->state) ||
	    out->state == CATALOG_INDEX_PENDING)
		return field_fail(err, "state",
				  "\"state\" must be \"building\", \"ready\" or \"failed\"");
	val = json_object_get(body, "reason");
	if (val && !json_is_null(val)) {
		if (!json_is_string(val))
			return field_fail(err, "reason", "\"reason\" must be a string");
		out->reason = utf8_cut_dup(json_string_value(val), LH_INDEX_REASON_MAX);
	}
	if (get_count(body, "rows_indexed", "rows_indexed", &out->rows_indexed, err) ||
	    get_count(body, "build_ms", "build_ms", &out->build_ms, err))
		goto fail;
	val = json_object_get(body, "parts");
	if (val && !json_is_null(val) && parse_parts(val, out, err))
		goto fail;
	return 0;
fail:
	catalog_index_build_free(out);
	return -1;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int catalog_index_build_check_objects(const struct catalog_index_build *b,
				      const struct catalog_version *v, struct lh_error *err)
{
	const char **keys = NULL;
	int rc = 0;
	if (!b->nparts)
		return 0;
	if (v->nobjects) {
		keys = xmalloc(v->nobjects * sizeof *keys);
		for (size_t i = 0; i < v->nobjects; i++)
			keys[i] = v->objects[i].key;
		qsort(keys, v->nobjects, sizeof *keys, key_cmp);
	}
	for (size_t i = 0; i < b->nparts && !rc; i++) {
		const char *k = b->parts[i].object_key;
		if (!v->nobjects || !bsearch(&k, keys, v->nobjects, sizeof *keys, key_cmp)) {
			char field[48];
			snprintf(field, sizeof field, "parts[%zu].object_key", i);
			rc = field_fail(err, field,
					"\"%s\" is not an object of version %lld of \"%s\"", k,
					(long long)v->version, v->name);
		}
	}
	free(keys);
	return rc;
}

int catalog_index_component_parse(const json_t *body, char fp[CATALOG_FP_LEN + 1], double **vals,
				  size_t *n, struct lh_error *err)
{
	json_t *arr, *v;
	size_t i;
	*vals = NULL;
	*n = 0;
	if (!json_is_object(body))
		return lh_fail(err, 400, "bad_json", "expected a JSON object");
	if (get_fp(body, fp, err))
		return -1;
	arr = json_object_get(body, "component");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > LH_INDEX_MAX_DIM)
		return field_fail(err, "component",
				  "\"component\" must be an array of 1 to %d "
				  "numbers",
				  LH_INDEX_MAX_DIM);
	*vals = xmalloc(json_array_size(arr) * sizeof **vals);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_number(v) || !isfinite(json_number_value(v))) {
			free(*vals);
			*vals = NULL;
			return field_fail(err, "component",
					  "component[%zu] must be a finite number", i);
		}
		(*vals)[i] = json_number_value(v);
	}
	*n = json_array_size(arr);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */

void catalog_index_info_destroy(struct catalog_index_info *i)
{
	if (!i)
		return;
	catalog_index_decl_free(&i->decl);
	free(i->component);
	for (size_t k = 0; k < i->nbuilds; k++)
		catalog_index_build_free(&i->builds[k]);
	free(i->builds);
	free(i);
}

/* The number as JSON: integral values as integers would change the type a
 * reader sees, so every component value is a real. */
static json_t *component_json(const double *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *build_json(const struct catalog_index_build *b, int64_t now_ms, int64_t stale_ms)
{
	json_t *o = json_object(), *parts = json_array();
	enum catalog_index_state shown = b->state;
	const char *reason = b->reason;
	char when[32];
	char *died = NULL;
	/* a build that stopped reporting LH_INDEX_BUILD_MAX_ATTEMPTS times is not
	 * retried any more (ADR 0140): it is failed, in words */
	if (b->state == CATALOG_INDEX_BUILDING && now_ms - b->updated_ms > stale_ms &&
	    b->attempts >= LH_INDEX_BUILD_MAX_ATTEMPTS) {
		shown = CATALOG_INDEX_FAILED;
		died = xasprintf("the build stopped without finishing %lld times (was the builder "
				 "killed?); it is not retried: declare the index again to retry",
				 (long long)b->attempts);
		reason = died;
	}
	json_object_set_new(o, "version", json_integer((json_int_t)b->version));
	json_object_set_new(o, "state", json_string(catalog_index_state_name(shown)));
	json_object_set_new(o, "reason", reason ? json_string(reason) : json_null());
	json_object_set_new(o, "rows", json_integer((json_int_t)b->version_rows));
	json_object_set_new(o, "rows_indexed", json_integer((json_int_t)b->rows_indexed));
	json_object_set_new(o, "build_ms",
			    b->state == CATALOG_INDEX_PENDING
				    ? json_null()
				    : json_integer((json_int_t)b->build_ms));
	json_object_set_new(o, "attempts", json_integer((json_int_t)b->attempts));
	for (size_t i = 0; i < b->nparts; i++) {
		const struct catalog_index_part *p = &b->parts[i];
		json_array_append_new(parts, json_pack("{s:s, s:s, s:I, s:I}", "object_key",
						       p->object_key, "part_key", p->part_key,
						       "rows", (json_int_t)p->rows, "bytes",
						       (json_int_t)p->bytes));
	}
	json_object_set_new(o, "parts", parts);
	if (b->updated_ms > 0) {
		catalog_time_format(b->updated_ms, when);
		json_object_set_new(o, "updated_at", json_string(when));
	} else {
		json_object_set_new(o, "updated_at", json_null());
	}
	free(died);
	return o;
}

json_t *catalog_index_info_json(const struct catalog_index_info *i, int64_t now_ms,
				int64_t stale_ms)
{
	json_t *o = json_object(), *versions = json_array();
	char when[32];
	json_t *decl = json_loads(i->decl.json ? i->decl.json : "null", JSON_DECODE_ANY, NULL);
	json_object_set_new(o, "name", json_string(i->name));
	json_object_set_new(o, "declaration", decl ? decl : json_null());
	json_object_set_new(o, "fingerprint", json_string(i->decl.fingerprint));
	json_object_set_new(o, "from_version", json_integer((json_int_t)i->from_version));
	catalog_time_format(i->created_ms, when);
	json_object_set_new(o, "created_at", json_string(when));
	json_object_set_new(o, "component",
			    i->component ? component_json(i->component, i->component_dim)
					 : json_null());
	json_object_set_new(o, "component_dim",
			    i->component ? json_integer((json_int_t)i->component_dim)
					 : json_null());
	for (size_t k = 0; k < i->nbuilds; k++)
		json_array_append_new(versions, build_json(&i->builds[k], now_ms, stale_ms));
	json_object_set_new(o, "versions", versions);
	return o;
}

void catalog_index_pending_free(struct catalog_index_pending *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++)
		free(p[i].decl_json);
	free(p);
}

json_t *catalog_index_pending_json(const struct catalog_index_pending *p, size_t n)
{
	json_t *arr = json_array(), *o = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *decl =
			json_loads(p[i].decl_json ? p[i].decl_json : "null", JSON_DECODE_ANY, NULL);
		json_t *e = json_object();
		json_object_set_new(e, "name", json_string(p[i].name));
		json_object_set_new(e, "version", json_integer((json_int_t)p[i].version));
		json_object_set_new(e, "fingerprint", json_string(p[i].fingerprint));
		json_object_set_new(e, "declaration", decl ? decl : json_null());
		json_object_set_new(e, "state", json_string(catalog_index_state_name(p[i].state)));
		json_object_set_new(e, "attempts", json_integer((json_int_t)p[i].attempts));
		json_array_append_new(arr, e);
	}
	json_object_set_new(o, "pending", arr);
	return o;
}
