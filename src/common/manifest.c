/* manifest.c — the manifest type and its JSON codec (see manifest.h). Pure:
 * no I/O. Every decoding failure names the field, e.g. "objects[2].size: not
 * an integer", so the log says exactly what a peer got wrong. */
#include "common/manifest.h"

#include "common/error.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct manifest *manifest_create(void)
{
	struct manifest *m = xcalloc(1, sizeof *m);
	m->refs = 1;
	return m;
}

struct manifest *manifest_ref(struct manifest *m)
{
	if (m)
		__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

void manifest_unref(struct manifest *m)
{
	if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < m->ncolumns; i++) {
		free(m->columns[i].name);
		free(m->columns[i].type);
	}
	for (size_t i = 0; i < m->nobjects; i++)
		free(m->objects[i].key);
	for (size_t i = 0; i < m->ndeclared; i++) {
		free(m->declared[i].name);
		free(m->declared[i].type);
	}
	free(m->declared);
	json_decref(m->object_schemas);
	free(m->columns);
	free(m->objects);
	free(m);
}

void manifest_add_column(struct manifest *m, const char *name, const char *type, int nullable)
{
	m->columns = xgrow(m->columns, m->ncolumns, sizeof *m->columns);
	struct manifest_column *c = &m->columns[m->ncolumns++];
	c->name = xstrdup(name);
	c->type = xstrdup(type);
	c->nullable = nullable ? 1 : 0;
}

void manifest_add_object(struct manifest *m, const char *key, int64_t size, int64_t row_count,
			 const char *content_sha256)
{
	m->objects = xgrow(m->objects, m->nobjects, sizeof *m->objects);
	struct manifest_object *o = &m->objects[m->nobjects++];
	o->key = xstrdup(key);
	o->size = size;
	o->row_count = row_count;
	snprintf(o->content_sha256, sizeof o->content_sha256, "%s", content_sha256);
	o->fingerprint[0] = '\0';
}

void manifest_add_declared(struct manifest *m, const char *column, const char *type)
{
	m->declared = xgrow(m->declared, m->ndeclared, sizeof *m->declared);
	struct manifest_column *c = &m->declared[m->ndeclared++];
	c->name = xstrdup(column);
	c->type = xstrdup(type);
	c->nullable = 0;
	m->has_declared = 1;
}

/* ---- decoding ---------------------------------------------------------- */

static int bad(struct lh_error *err, const char *path, const char *what)
{
	return lh_fail(err, 502, "upstream_failed", "%s: %s", path, what);
}

/* Field `f` of `o` as a string that fits `cap` bytes (NUL included) into
 * out (when out is not NULL; else *sp). Absent and !required: 0, untouched. */
static int get_str(const json_t *o, const char *prefix, const char *f, int required,
		   char *out, size_t cap, const char **sp, struct lh_error *err)
{
	char path[96];
	const json_t *v = json_object_get(o, f);
	snprintf(path, sizeof path, "%s%s", prefix, f);
	if (!v)
		return required ? bad(err, path, "missing") : 0;
	if (!json_is_string(v))
		return bad(err, path, "not a string");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (strlen(s) != n)
		return bad(err, path, "holds a NUL character");
	if (out) {
		if (n + 1 > cap)
			return bad(err, path, "too long");
		memcpy(out, s, n + 1);
	} else {
		*sp = s;
	}
	return 0;
}

static int get_int(const json_t *o, const char *prefix, const char *f, int required,
		   int64_t *out, struct lh_error *err)
{
	char path[96];
	const json_t *v = json_object_get(o, f);
	snprintf(path, sizeof path, "%s%s", prefix, f);
	if (!v)
		return required ? bad(err, path, "missing") : 0;
	if (!json_is_integer(v))
		return bad(err, path, "not an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

struct manifest *manifest_from_json(const json_t *j, struct lh_error *err)
{
	struct manifest *m = manifest_create();
	const json_t *schema, *objects, *v;
	char prefix[48];
	size_t i;
	int64_t size_bytes = -1;

	if (!json_is_object(j)) {
		bad(err, "manifest", "not a JSON object");
		goto fail;
	}
	if (get_str(j, "", "name", 1, m->name, sizeof m->name, NULL, err) ||
	    get_int(j, "", "version", 1, &m->version, err) ||
	    get_str(j, "", "schema_fingerprint", 1, m->fingerprint, sizeof m->fingerprint, NULL,
		    err) ||
	    get_int(j, "", "row_count", 1, &m->row_count, err) ||
	    get_int(j, "", "size_bytes", 0, &size_bytes, err) ||
	    get_str(j, "", "mode", 0, m->mode, sizeof m->mode, NULL, err) ||
	    get_str(j, "", "created_at", 0, m->created_at, sizeof m->created_at, NULL, err) ||
	    get_str(j, "", "updated_at", 0, m->updated_at, sizeof m->updated_at, NULL, err))
		goto fail;
	schema = json_object_get(j, "schema");
	if (!json_is_array(schema)) {
		bad(err, "schema", schema ? "not an array" : "missing");
		goto fail;
	}
	json_array_foreach(schema, i, v) {
		const char *name = NULL, *type = NULL;
		const json_t *nl = json_object_get(v, "nullable");
		snprintf(prefix, sizeof prefix, "schema[%zu]", i);
		if (!json_is_object(v)) {
			bad(err, prefix, "not an object");
			goto fail;
		}
		snprintf(prefix, sizeof prefix, "schema[%zu].", i);
		if (get_str(v, prefix, "name", 1, NULL, 0, &name, err) ||
		    get_str(v, prefix, "type", 1, NULL, 0, &type, err))
			goto fail;
		if (nl && !json_is_boolean(nl)) {
			snprintf(prefix, sizeof prefix, "schema[%zu].nullable", i);
			bad(err, prefix, "not a boolean");
			goto fail;
		}
		manifest_add_column(m, name, type, json_is_true(nl));
	}
	objects = json_object_get(j, "objects");
	if (!json_is_array(objects)) {
		bad(err, "objects", objects ? "not an array" : "missing");
		goto fail;
	}
	int64_t sum = 0;
	json_array_foreach(objects, i, v) {
		const char *key = NULL;
		char sha[LH_SHA256_HEX_LEN + 1];
		int64_t size = 0, rows = 0;
		snprintf(prefix, sizeof prefix, "objects[%zu]", i);
		if (!json_is_object(v)) {
			bad(err, prefix, "not an object");
			goto fail;
		}
		snprintf(prefix, sizeof prefix, "objects[%zu].", i);
		if (get_str(v, prefix, "key", 1, NULL, 0, &key, err) ||
		    get_int(v, prefix, "size", 1, &size, err) ||
		    get_int(v, prefix, "row_count", 1, &rows, err) ||
		    get_str(v, prefix, "content_sha256", 1, sha, sizeof sha, NULL, err))
			goto fail;
		manifest_add_object(m, key, size, rows, sha);
		if (get_str(v, prefix, "schema_fingerprint", 0, m->objects[i].fingerprint,  /* ADR 0173 */
			    sizeof m->objects[i].fingerprint, NULL, err))
			goto fail;
		sum += size;
	}
	m->size_bytes = size_bytes >= 0 ? size_bytes : sum;
	const json_t *declared = json_object_get(j, "declared_types");     /* ADR 0171 */
	if (declared && !json_is_array(declared)) {
		bad(err, "declared_types", "not an array");
		goto fail;
	}
	const json_t *oschemas = json_object_get(j, "object_schemas");     /* ADR 0173 */
	if (oschemas && !json_is_object(oschemas)) {
		bad(err, "object_schemas", "not an object");
		goto fail;
	}
	for (i = 0; i < m->nobjects; i++) {
		const char *fp = m->objects[i].fingerprint;
		const json_t *os = fp[0] ? json_object_get(oschemas, fp) : NULL;
		if (fp[0] && !json_is_array(os)) {
			snprintf(prefix, sizeof prefix, "objects[%zu]", i);
			bad(err, prefix, "its schema_fingerprint has no schema in object_schemas");
			goto fail;
		}
	}
	if (oschemas && json_object_size(oschemas))
		m->object_schemas = json_deep_copy(oschemas);
	m->has_declared = declared != NULL;
	json_array_foreach(declared, i, v) {
		const char *column = NULL, *type = NULL;
		snprintf(prefix, sizeof prefix, "declared[%zu]", i);
		if (!json_is_object(v)) {
			bad(err, prefix, "not an object");
			goto fail;
		}
		snprintf(prefix, sizeof prefix, "declared[%zu].", i);
		if (get_str(v, prefix, "column", 1, NULL, 0, &column, err) ||
		    get_str(v, prefix, "type", 1, NULL, 0, &type, err))
			goto fail;
		manifest_add_declared(m, column, type);
	}
	return m;
fail:
	manifest_unref(m);
	return NULL;
}

/* ---- encoding ---------------------------------------------------------- */

static void set_str(json_t *o, const char *f, const char *s)
{
	if (s[0])
		json_object_set_new(o, f, json_string(s));
}

json_t *manifest_schema_json(const struct manifest *m)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < m->ncolumns; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "name", json_string(m->columns[i].name));
		json_object_set_new(c, "type", json_string(m->columns[i].type));
		json_object_set_new(c, "nullable", json_boolean(m->columns[i].nullable));
		json_array_append_new(arr, c);
	}
	return arr;
}

json_t *manifest_to_json(const struct manifest *m)
{
	json_t *o = json_object(), *objects = json_array();
	for (size_t i = 0; i < m->nobjects; i++) {
		const struct manifest_object *ob = &m->objects[i];
		json_t *j = json_object();
		json_object_set_new(j, "key", json_string(ob->key));
		json_object_set_new(j, "size", json_integer(ob->size));
		json_object_set_new(j, "row_count", json_integer(ob->row_count));
		json_object_set_new(j, "content_sha256", json_string(ob->content_sha256));
		set_str(j, "schema_fingerprint", ob->fingerprint);             /* ADR 0173 */
		json_array_append_new(objects, j);
	}
	json_object_set_new(o, "name", json_string(m->name));
	json_object_set_new(o, "version", json_integer(m->version));
	json_object_set_new(o, "schema_fingerprint", json_string(m->fingerprint));
	json_object_set_new(o, "schema", manifest_schema_json(m));
	json_object_set_new(o, "objects", objects);
	json_object_set_new(o, "row_count", json_integer(m->row_count));
	json_object_set_new(o, "size_bytes", json_integer(m->size_bytes));
	set_str(o, "mode", m->mode);
	set_str(o, "created_at", m->created_at);
	set_str(o, "updated_at", m->updated_at);
	if (m->object_schemas && json_object_size(m->object_schemas))     /* ADR 0173 */
		json_object_set_new(o, "object_schemas", json_deep_copy(m->object_schemas));
	if (m->has_declared) {
		json_t *d = json_array();
		for (size_t i = 0; i < m->ndeclared; i++) {
			json_t *c = json_object();
			json_object_set_new(c, "column", json_string(m->declared[i].name));
			json_object_set_new(c, "type", json_string(m->declared[i].type));
			json_array_append_new(d, c);
		}
		json_object_set_new(o, "declared_types", d);
	}
	return o;
}

const json_t *manifest_object_schema(const struct manifest *m, size_t i,
				     const json_t *version_schema)
{
	const char *fp = m->objects[i].fingerprint;
	if (!fp[0] || !strcmp(fp, m->fingerprint))
		return version_schema;
	return m->object_schemas ? json_object_get(m->object_schemas, fp) : NULL;
}

/* ---- summaries --------------------------------------------------------- */

int manifest_summaries_from_json(const json_t *arr, int for_versions,
				 struct manifest_summary **out, size_t *n, struct lh_error *err)
{
	const char *list = for_versions ? "versions" : "datasets";
	struct manifest_summary *items = NULL;
	char prefix[48];
	size_t i;
	const json_t *v;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return bad(err, list, arr ? "not an array" : "missing");
	if (json_array_size(arr))
		items = xcalloc(json_array_size(arr), sizeof *items);
	json_array_foreach(arr, i, v) {
		struct manifest_summary *s = &items[i];
		s->row_count = s->size_bytes = -1;
		snprintf(prefix, sizeof prefix, "%s[%zu]", list, i);
		if (!json_is_object(v)) {
			bad(err, prefix, "not an object");
			goto fail;
		}
		snprintf(prefix, sizeof prefix, "%s[%zu].", list, i);
		if (get_str(v, prefix, "name", !for_versions, s->name, sizeof s->name, NULL, err) ||
		    get_int(v, prefix, "version", 1, &s->version, err) ||
		    get_int(v, prefix, "row_count", 0, &s->row_count, err) ||
		    get_int(v, prefix, "size_bytes", 0, &s->size_bytes, err) ||
		    get_str(v, prefix, "schema_fingerprint", 0, s->fingerprint,
			    sizeof s->fingerprint, NULL, err) ||
		    get_str(v, prefix, "mode", 0, s->mode, sizeof s->mode, NULL, err) ||
		    get_str(v, prefix, "created_at", 0, s->created_at, sizeof s->created_at, NULL,
			    err) ||
		    get_str(v, prefix, "updated_at", 0, s->updated_at, sizeof s->updated_at, NULL,
			    err) ||
		    get_str(v, prefix, "ingested_by", 0, s->ingested_by, sizeof s->ingested_by, NULL,
			    err))
			goto fail;
		const json_t *masked = json_object_get(v, "masked");
		if (masked) {
			char *text = json_is_array(masked) ? json_dumps(masked, JSON_COMPACT) : NULL;
			size_t k;
			const json_t *m;
			int ok = text && strlen(text) < sizeof s->masked;
			json_array_foreach(masked, k, m)
				ok = ok && json_is_string(m);
			if (!ok) {
				free(text);
				bad(err, prefix, "masked: not an array of column names");
				goto fail;
			}
			snprintf(s->masked, sizeof s->masked, "%s", text);
			free(text);
		}
	}
	*out = items;
	*n = json_array_size(arr);
	return 0;
fail:
	free(items);
	return -1;
}

json_t *manifest_summary_to_json(const struct manifest_summary *s, int for_versions)
{
	json_t *j = json_object();
	if (!for_versions)
		set_str(j, "name", s->name);
	if (s->masked[0])
		json_object_set_new(j, "masked", json_loads(s->masked, 0, NULL));
	if (s->ingested_by[0])
		set_str(j, "ingested_by", s->ingested_by);
	json_object_set_new(j, "version", json_integer(s->version));
	if (s->row_count >= 0)
		json_object_set_new(j, "row_count", json_integer(s->row_count));
	if (s->size_bytes >= 0)
		json_object_set_new(j, "size_bytes", json_integer(s->size_bytes));
	set_str(j, "schema_fingerprint", s->fingerprint);
	set_str(j, "created_at", s->created_at);
	if (for_versions)
		set_str(j, "mode", s->mode);
	else
		set_str(j, "updated_at", s->updated_at);
	return j;
}
