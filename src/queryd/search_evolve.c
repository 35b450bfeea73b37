/* search_evolve.c — search over a dataset whose schema was evolved (ADR
 * 0173): what a hit from an object written with an older schema shows, and
 * what a version whose schema lost an indexed column answers.
 *
 * Index parts are keyed by the declaration and the object's content
 * (search_parts.c note 1), so an object shared by an older version and an
 * evolved one has one part, holding its rows as they were written.
 * search_row_for_version shows such a row with the version's columns, by
 * the rule the SQL views follow (engine.c note 11): the same name and type
 * as it is, a widening type converted, anything else null.
 * search_decl_check refuses a version whose schema no longer has a column
 * the declaration reads (the builder records it as failed with the same
 * words; the GET of the index shows it).
 */
#include "queryd/queryd_int.h"
#include "queryd/search_int.h"
#include "search/index_decl.h"

#include "common/error.h"
#include "common/manifest.h"
#include "common/schema.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The type of column `name` in schema `s` ([{"name","type"}]), or NULL. */
static const char *type_in(const json_t *s, const char *name)
{
	size_t i;
	const json_t *c;
	json_array_foreach(s, i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n && !strcmp(n, name))
			return json_string_value(json_object_get(c, "type"));
	}
	return NULL;
}

static int widens(const char *from, const char *to, struct schema_type *f, struct schema_type *t)
{
	if (schema_type_parse(from, strlen(from), f) || schema_type_parse(to, strlen(to), t))
		return 0;
	if (schema_type_casts_to(f, t))
		return 1;
	return f->id == SCHEMA_DECIMAL && t->id == SCHEMA_DECIMAL && f->scale == t->scale &&
	       t->precision >= f->precision;
}

/* Value v (as engine.c renders JSON) of type f shown as type t. A new
 * reference. */
static json_t *convert(json_t *v, const struct schema_type *f, const struct schema_type *t)
{
	if (json_is_null(v))
		return json_null();
	if (t->id == SCHEMA_FLOAT64 && f->id == SCHEMA_INT64 && json_is_integer(v))
		return json_real((double)json_integer_value(v));
	if (t->id == SCHEMA_TIMESTAMP && f->id == SCHEMA_DATE32 && json_is_string(v))
		return json_sprintf("%sT00:00:00", json_string_value(v));
	if (t->id == SCHEMA_UTF8 && !json_is_string(v)) {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
		json_t *s = json_string(text ? text : "");
		free(text);
		return s;
	}
	return json_incref(v);
}

json_t *search_row_for_version(const struct manifest *m, size_t object, json_t *row)
{
	if (!m || object >= m->nobjects || !m->objects[object].fingerprint[0] ||
	    !strcmp(m->objects[object].fingerprint, m->fingerprint) || !json_is_object(row))
		return json_incref(row);
	json_t *vs = manifest_schema_json(m);
	const json_t *os = manifest_object_schema(m, object, vs);
	json_t *out = json_object();
	for (size_t i = 0; i < m->ncolumns; i++) {
		const char *name = m->columns[i].name, *to = m->columns[i].type;
		const char *from = os ? type_in(os, name) : NULL;
		json_t *v = json_object_get(row, name);
		struct schema_type f, t;
		if (v && from && widens(from, to, &f, &t))
			json_object_set_new(out, name, convert(v, &f, &t));
		else
			json_object_set_new(out, name, json_null());
	}
	json_decref(vs);
	return out;
}

int search_decl_check(const struct index_decl *d, const struct manifest *m,
		      struct lh_error *err)
{
	const char *missing = NULL;
	for (size_t i = 0; i < d->ntext && !missing; i++) {
		size_t k;
		for (k = 0; k < m->ncolumns && strcmp(m->columns[k].name, d->text[i]); k++)
			;
		if (k == m->ncolumns)
			missing = d->text[i];
	}
	if (!missing && d->id) {
		size_t k;
		for (k = 0; k < m->ncolumns && strcmp(m->columns[k].name, d->id); k++)
			;
		if (k == m->ncolumns)
			missing = d->id;
	}
	if (!missing)
		return 0;
	lh_fail(err, 409, "index_column_missing",
		"the search index of \"%s\" reads column \"%s\", which version %" PRId64 " does not "
		"have (a schema change removed it); declare the index again with the columns "
		"the dataset has now: lakehouse index %s --text <column>,<column>", m->name, missing,
		m->version, m->name);
	lh_error_set(err, "column", json_string(missing));
	lh_error_set(err, "version", json_integer((json_int_t)m->version));
	return -1;
}
