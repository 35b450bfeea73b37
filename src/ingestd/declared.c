/* declared.c — declared column types (declared.h, ADR 0171): parsing
 * ?types=, the stored declaration, and applying it to an inferred schema
 * with what inference recorded (infer.h note 5). Pure: no I/O. */
#include "ingestd/declared.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/xmalloc.h"
#include "ingestd/cast.h"
#include "ingestd/format.h"
#include "ingestd/infer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void declared_types_free(struct declared_types *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->items[i].column);
	free(d->items);
	d->items = NULL;
	d->n = 0;
}

static void add(struct declared_types *d, const char *column, size_t n,
		const struct schema_type *t, int requested)
{
	d->items = xgrow(d->items, d->n, sizeof *d->items);
	struct declared_type *it = &d->items[d->n++];
	it->column = xstrndup(column, n);
	it->type = *t;
	it->requested = requested ? 1 : 0;
}

static const struct declared_type *find(const struct declared_types *d, const char *column)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->items[i].column, column))
			return &d->items[i];
	return NULL;
}

/* ---- ?types= (note 1) --------------------------------------------------- */

/* Drop spaces around p[0..*n) ("a:int64, b:utf8" as typed in a shell). */
static const char *trim(const char *p, size_t *n)
{
	while (*n && p[0] == ' ') {
		p++;
		(*n)--;
	}
	while (*n && p[*n - 1] == ' ')
		(*n)--;
	return p;
}

/* The item p[0..n): "column:type". */
static int parse_item(struct declared_types *d, const char *p, size_t n, struct lh_error *err)
{
	const char *colon = NULL;
	p = trim(p, &n);
	for (size_t i = 0; i < n; i++)
		if (p[i] == ':')
			colon = p + i;                  /* the last one: types have none */
	if (n == 0)
		return lh_fail(err, 400, "bad_types", "types has an empty item: write "
			       "types=column:type,column:type");
	if (!colon)
		return lh_fail(err, 400, "bad_types", "types item \"%.*s\" has no ':' between "
			       "the column and its type", (int)(n > 80 ? 80 : n), p);
	size_t ncol = (size_t)(colon - p), ntype = n - ncol - 1;
	const char *type = trim(colon + 1, &ntype);
	trim(p, &ncol);
	if (ncol == 0)
		return lh_fail(err, 400, "bad_types", "types item \"%.*s\" has no column name",
			       (int)(n > 80 ? 80 : n), p);
	if (memchr(p, '\0', n))
		return lh_fail(err, 400, "bad_types", "types holds a NUL character");
	struct schema_type t;
	if (schema_type_parse(type, ntype, &t) != 0 || !schema_type_stored(&t)) {
		if (ntype >= 8 && !memcmp(type, "decimal(", 8)) {
			lh_fail(err, 400, "bad_decimal", "\"%.*s\" is not a decimal type the lakehouse "
				"has: write decimal(p,s) with a precision p from 1 to 38 and a scale "
				"s from 0 to p, e.g. decimal(10,2)", (int)(ntype > 40 ? 40 : ntype),
				type);
		} else {
			lh_fail(err, 400, "unknown_type", "\"%.*s\" is not a type of the lakehouse "
				"(column \"%.*s\"): use bool, int64, float64, date32, timestamp[us], "
				"timestamp[us, tz=UTC], utf8 or decimal(p,s)",
				(int)(ntype > 40 ? 40 : ntype), type,
				(int)(ncol > 80 ? 80 : ncol), p);
			lh_error_set(err, "type", json_stringn(type, ntype));
		}
		lh_error_set(err, "column", json_stringn(p, ncol));
		return -1;
	}
	for (size_t i = 0; i < d->n; i++)
		if (strlen(d->items[i].column) == ncol && !strncasecmp(d->items[i].column, p, ncol)) {
			lh_fail(err, 400, "bad_types", "types names column \"%.*s\" twice",
				(int)(ncol > 80 ? 80 : ncol), p);
			lh_error_set(err, "column", json_stringn(p, ncol));
			return -1;
		}
	if (d->n >= LH_SCHEMA_MAX_COLUMNS)
		return lh_fail(err, 400, "bad_types", "types names more than %d columns",
			       LH_SCHEMA_MAX_COLUMNS);
	add(d, p, ncol, &t, 1);
	return 0;
}

int declared_types_parse(const char *s, struct declared_types *out, struct lh_error *err)
{
	struct declared_types d = { 0 };
	size_t n = strlen(s), start = 0;
	int depth = 0;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : ',';
		if (c == '(' || c == '[')
			depth++;
		else if ((c == ')' || c == ']') && depth > 0)
			depth--;
		else if (c == ',' && (depth == 0 || i == n)) {
			if (parse_item(&d, s + start, i - start, err)) {
				declared_types_free(&d);
				return -1;
			}
			start = i + 1;
			depth = 0;
		}
	}
	*out = d;
	return 0;
}

/* ---- the stored declaration (note 4) ------------------------------------ */

void declared_types_from_manifest(const struct manifest *m, struct declared_types *out)
{
	out->items = NULL;
	out->n = 0;
	for (size_t i = 0; m && i < m->ndeclared; i++) {
		const char *name = m->declared[i].name, *type = m->declared[i].type;
		struct schema_type t;
		if (schema_type_parse(type, strlen(type), &t) == 0 && schema_type_stored(&t) &&
		    !find(out, name))
			add(out, name, strlen(name), &t, 0);
	}
}

void declared_types_merge(const struct declared_types *stored,
			  const struct declared_types *requested, struct declared_types *out)
{
	out->items = NULL;
	out->n = 0;
	for (size_t i = 0; i < stored->n; i++) {
		const struct declared_type *it = &stored->items[i], *r = NULL;
		for (size_t k = 0; requested && k < requested->n && !r; k++)
			if (!strcasecmp(requested->items[k].column, it->column))
				r = &requested->items[k];
		/* a requested item of a stored column takes the stored spelling */
		add(out, it->column, strlen(it->column), r ? &r->type : &it->type, r != NULL);
	}
	for (size_t k = 0; requested && k < requested->n; k++) {
		const struct declared_type *r = &requested->items[k];
		int seen = 0;
		for (size_t i = 0; i < stored->n && !seen; i++)
			seen = !strcasecmp(stored->items[i].column, r->column);
		if (!seen)
			add(out, r->column, strlen(r->column), &r->type, 1);
	}
}

/* ---- fitting (notes 2, 3) ----------------------------------------------- */

static const char *article(enum schema_type_id id)
{
	return id == SCHEMA_INT64 || id == SCHEMA_UTF8 ? "an" : "a";
}

int declared_column_fits(const struct ingest_column *c, const struct schema_type *t,
			 uint64_t *line, char *why, size_t whycap)
{
	const struct ingest_fit *f = c->fit;
	char tbuf[SCHEMA_TYPE_NAME_MAX];
	const char *tname = schema_type_name(t, tbuf);
	*line = 0;
	if (c->all_null || t->id == SCHEMA_UTF8 || ingest_cast_fits(c, t))
		return 1;                               /* nulls, text, ADR 0170 */
	if (!f) {                                       /* not inferred from text */
		char cbuf[SCHEMA_TYPE_NAME_MAX];
		snprintf(why, whycap, "the column is %s in the file and cannot be read as %s",
			 schema_type_name(&c->type, cbuf), tname);
		return 0;
	}
	uint64_t at;
	if (t->id != SCHEMA_DECIMAL) {
		at = (unsigned)t->id < SCHEMA_NINFERRED ? f->first_not[t->id] : 0;
		/* ADR 0170's exactness: an int64 that no float64 holds is refused
		 * as a declared float64 as it is as an inferred one */
		if (t->id == SCHEMA_FLOAT64 && c->inexact && f->first_inexact < at) {
			*line = f->first_inexact;
			snprintf(why, whycap, "the whole number has more digits than a float64 "
				 "holds exactly (it would be stored rounded)");
			return 0;
		}
		if (at == INGEST_FIT_NONE)
			return 1;
		*line = at;
		snprintf(why, whycap, "the value is not %s %s", article(t->id), tname);
		return 0;
	}
	unsigned ip = (unsigned)(t->precision - t->scale), sc = t->scale;
	uint64_t bad_shape = f->first_not_decimal, bad_int = f->int_over[ip],
		 bad_frac = f->frac_over[sc];
	at = bad_shape;
	if (bad_int < at)
		at = bad_int;
	if (bad_frac < at)
		at = bad_frac;
	if (at == INGEST_FIT_NONE)
		return 1;
	*line = at;
	if (at == bad_shape)
		snprintf(why, whycap, "the value is not a decimal number (digits, an optional "
			 "sign and point; no exponent)");
	else if (at == bad_frac)
		snprintf(why, whycap, "the value has more digits after the point than the %u "
			 "that %s holds (values are never rounded)", sc, tname);
	else
		snprintf(why, whycap, "the value has more digits before the point than the %u "
			 "that %s holds", ip, tname);
	return 0;
}

static struct ingest_column *column_named(struct ingest_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ncols; i++)
		if (!strcmp(s->columns[i].name, name))
			return &s->columns[i];
	for (size_t i = 0; i < s->ncols; i++)
		if (!strcasecmp(s->columns[i].name, name))
			return &s->columns[i];
	return NULL;
}

int declared_types_apply(struct ingest_schema *s, struct declared_types *d,
			 struct lh_error *err)
{
	int changed = 0;
	for (size_t i = 0; i < d->n; i++) {
		struct declared_type *it = &d->items[i];
		struct ingest_column *c = column_named(s, it->column);
		if (!c && !it->requested)
			continue;                       /* dropped from the file: drift */
		if (!c) {
			lh_fail(err, 400, "unknown_column", "types names column \"%.80s\", which "
				"the file does not have", it->column);
			lh_error_set(err, "column", json_string(it->column));
			return -1;
		}
		if (strcmp(it->column, c->name)) {
			free(it->column);
			it->column = xstrdup(c->name);
		}
		char why[200], tbuf[SCHEMA_TYPE_NAME_MAX];
		uint64_t line = 0;
		const char *tname = schema_type_name(&it->type, tbuf);
		if (!declared_column_fits(c, &it->type, &line, why, sizeof why)) {
			if (line)
				lh_fail(err, 400, "bad_value", "line %llu, column \"%.80s\" (declared %s): %s",
					(unsigned long long)line, c->name, tname, why);
			else
				lh_fail(err, 400, "bad_value", "column \"%.80s\" (declared %s): %s",
					c->name, tname, why);
			if (line)
				lh_error_set(err, "line", json_integer((json_int_t)line));
			lh_error_set(err, "column", json_string(c->name));
			lh_error_set(err, "type", json_string(tname));
			return -1;
		}
		if (c->type.id == it->type.id && c->type.precision == it->type.precision &&
		    c->type.scale == it->type.scale)
			continue;
		if (c->type.id == SCHEMA_DATE32 && !c->all_null && it->type.id == SCHEMA_TIMESTAMP) {
			c->cast = 1;                    /* note 3: midnight */
			c->from = c->type;
		}
		c->type = it->type;
		changed = 1;
	}
	if (changed)
		ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
	return 0;
}

/* ---- the register (note 4) ---------------------------------------------- */

void declared_types_to_manifest(const struct declared_types *d, const struct ingest_schema *s,
				struct manifest *m)
{
	m->has_declared = 1;
	for (size_t i = 0; i < s->ncols; i++) {
		const struct declared_type *it = find(d, s->columns[i].name);
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		if (it)
			manifest_add_declared(m, it->column, schema_type_name(&it->type, tbuf));
	}
}

int declared_types_same(const struct declared_types *d, const struct ingest_schema *s,
			const struct manifest *m)
{
	struct manifest *want = manifest_create();
	declared_types_to_manifest(d, s, want);
	int same = m && want->ndeclared == m->ndeclared;
	for (size_t i = 0; same && i < want->ndeclared; i++)
		same = !strcmp(want->declared[i].name, m->declared[i].name) &&
		       !strcmp(want->declared[i].type, m->declared[i].type);
	manifest_unref(want);
	return same;
}
