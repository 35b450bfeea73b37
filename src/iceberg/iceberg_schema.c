/* iceberg_schema.c — Iceberg types, field ids and schemas of a dataset
 * (iceberg.h; ADR 0231). Pure: the catalog's versions in, ids out.
 *
 * DESIGN NOTES
 *   1. Field ids are a function of the version history, not stored: walking
 *      versions 1..N in order, a column keeps the id it had in version k-1
 *      when version k still has a column of that name; any other column
 *      takes last_column_id + 1. Versions are immutable and dense, so every
 *      walk gives every version the same ids (across restarts, processes and
 *      replicas), and no table had to be added to the catalog.
 *   2. A type change that keeps a column (evolution widens int64 -> float64,
 *      any -> utf8, date32 -> timestamp[us], decimal precision) keeps its
 *      id. Iceberg v2 promotes only int -> long, float -> double and decimal
 *      precision; for the others the field carries a "doc" saying so and the
 *      data files written before the change get no bounds for it
 *      (iceberg_bounds.c): a reader that casts (as the lakehouse does) reads
 *      the same rows, a strict one refuses rather than misreads (ADR 0231).
 *   3. Schemas are kept distinct: a version whose (id, name, type) list is an
 *      earlier schema's gets that schema id (a column removed and put back
 *      has a new id, so it is a new schema).
 */
#include "iceberg/iceberg.h"

#include "common/error.h"
#include "common/manifest.h"
#include "common/schema.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int iceberg_type_of(const char *lh_type, char out[ICEBERG_TYPE_MAX])
{
	struct schema_type t;
	if (!lh_type || schema_type_parse(lh_type, strlen(lh_type), &t))
		return -1;
	const char *s = NULL;
	switch (t.id) {
	case SCHEMA_BOOL: s = "boolean"; break;
	case SCHEMA_INT64: s = "long"; break;
	case SCHEMA_FLOAT64: s = "double"; break;
	case SCHEMA_DATE32: s = "date"; break;
	case SCHEMA_TIMESTAMP: s = "timestamp"; break;
	case SCHEMA_TIMESTAMPTZ: s = "timestamptz"; break;
	case SCHEMA_UTF8: s = "string"; break;
	case SCHEMA_DECIMAL:
		snprintf(out, ICEBERG_TYPE_MAX, "decimal(%u,%u)", t.precision, t.scale);
		return 0;
	default:
		return -1;
	}
	snprintf(out, ICEBERG_TYPE_MAX, "%s", s);
	return 0;
}

static int decimal_parts(const char *t, unsigned *p, unsigned *s)
{
	if (strncmp(t, "decimal(", 8))
		return -1;
	char *end;
	unsigned long a = strtoul(t + 8, &end, 10);
	if (*end != ',')
		return -1;
	unsigned long b = strtoul(end + 1, &end, 10);
	if (*end != ')')
		return -1;
	*p = (unsigned)a;
	*s = (unsigned)b;
	return 0;
}

int iceberg_type_promotes(const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return 1;
	if (strcmp(from, "int") == 0 && strcmp(to, "long") == 0)
		return 1;
	if (strcmp(from, "float") == 0 && strcmp(to, "double") == 0)
		return 1;
	unsigned p1, s1, p2, s2;
	if (decimal_parts(from, &p1, &s1) == 0 && decimal_parts(to, &p2, &s2) == 0)
		return s1 == s2 && p2 >= p1;
	return 0;
}

void iceberg_fields_init(struct iceberg_fields *f)
{
	memset(f, 0, sizeof *f);
	f->current = -1;
}

static void schema_free(struct iceberg_schema *s)
{
	for (size_t i = 0; i < s->nfields; i++)
		free(s->fields[i].name);
	free(s->fields);
}

void iceberg_fields_free(struct iceberg_fields *f)
{
	for (size_t i = 0; i < f->nschemas; i++)
		schema_free(&f->schemas[i]);
	free(f->schemas);
	iceberg_fields_init(f);
}

const struct iceberg_schema *iceberg_fields_current(const struct iceberg_fields *f)
{
	return f->current >= 0 ? &f->schemas[f->current] : NULL;
}

const struct iceberg_field *iceberg_schema_field(const struct iceberg_schema *s, const char *name)
{
	for (size_t i = 0; s && i < s->nfields; i++)
		if (strcmp(s->fields[i].name, name) == 0)
			return &s->fields[i];
	return NULL;
}

static int schema_equal(const struct iceberg_schema *a, const struct iceberg_field *b, size_t nb)
{
	if (a->nfields != nb)
		return 0;
	for (size_t i = 0; i < nb; i++)
		if (a->fields[i].id != b[i].id || strcmp(a->fields[i].name, b[i].name) ||
		    strcmp(a->fields[i].type, b[i].type) ||
		    strcmp(a->fields[i].lh_type, b[i].lh_type))
			return 0;
	return 1;
}

int iceberg_fields_add(struct iceberg_fields *f, const struct manifest *m, struct lh_error *err)
{
	const struct iceberg_schema *prev = iceberg_fields_current(f);
	struct iceberg_field *nf = xcalloc(m->ncolumns ? m->ncolumns : 1, sizeof *nf);
	int last = f->last_column_id;
	for (size_t i = 0; i < m->ncolumns; i++) {
		struct iceberg_field *x = &nf[i];
		x->name = xstrdup(m->columns[i].name);
		snprintf(x->lh_type, sizeof x->lh_type, "%s", m->columns[i].type);
		if (iceberg_type_of(m->columns[i].type, x->type)) {
			for (size_t j = 0; j <= i; j++)
				free(nf[j].name);
			free(nf);
			return lh_fail(err, 500, "internal",
				       "column \"%s\" has a type Iceberg cannot hold (%s)",
				       m->columns[i].name, m->columns[i].type);
		}
		const struct iceberg_field *p = iceberg_schema_field(prev, x->name);
		if (!p) {
			x->id = ++last;
			continue;
		}
		x->id = p->id;
		if (strcmp(p->type, x->type) == 0) {     /* note 2: keep what it said */
			x->widened_from_version = p->widened_from_version;
			memcpy(x->widened_from, p->widened_from, sizeof x->widened_from);
		} else if (!iceberg_type_promotes(p->type, x->type)) {
			x->widened_from_version = (int)m->version;
			snprintf(x->widened_from, sizeof x->widened_from, "%s", p->type);
		}
	}
	f->last_column_id = last;
	f->version = m->version;
	for (size_t s = 0; s < f->nschemas; s++) {
		if (schema_equal(&f->schemas[s], nf, m->ncolumns)) {
			for (size_t j = 0; j < m->ncolumns; j++)
				free(nf[j].name);
			free(nf);
			f->current = (int)s;
			return 0;
		}
	}
	f->schemas = xrealloc(f->schemas, (f->nschemas + 1) * sizeof *f->schemas);
	struct iceberg_schema *ns = &f->schemas[f->nschemas];
	ns->schema_id = (int)f->nschemas;
	ns->fields = nf;
	ns->nfields = m->ncolumns;
	f->current = (int)f->nschemas++;
	return 0;
}

json_t *iceberg_schema_json(const struct iceberg_schema *s)
{
	json_t *fields = json_array();
	for (size_t i = 0; i < s->nfields; i++) {
		const struct iceberg_field *x = &s->fields[i];
		json_t *o = json_pack("{s:i, s:s, s:b, s:s}", "id", x->id, "name", x->name,
				      "required", 0, "type", x->type);
		if (x->widened_from_version > 0)
			json_object_set_new(
				o, "doc",
				json_sprintf("widened from %s at version %d; Iceberg does not promote "
					     "%s to %s, so data files written before that version "
					     "hold %s values (the lakehouse reads them as %s)",
					     x->widened_from, x->widened_from_version, x->widened_from,
					     x->type, x->widened_from, x->type));
		json_array_append_new(fields, o);
	}
	return json_pack("{s:s, s:i, s:o}", "type", "struct", "schema-id", s->schema_id, "fields",
			 fields);
}

char *iceberg_name_mapping(const struct iceberg_schema *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->nfields; i++)
		json_array_append_new(a, json_pack("{s:i, s:[s]}", "field-id", s->fields[i].id,
						   "names", s->fields[i].name));
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}
