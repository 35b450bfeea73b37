/* evolve.c — the casts of an evolving upload (evolve.h, ADR 0173). */
#include "ingestd/evolve.h"

#include "common/manifest.h"
#include "common/schema.h"
#include "common/xmalloc.h"
#include "ingestd/cast.h"
#include "ingestd/format.h"

#include <stdlib.h>
#include <string.h>

static int skipped(const char *name, const char *const *skip, size_t nskip)
{
	for (size_t i = 0; i < nskip; i++)
		if (skip[i] && !strcmp(skip[i], name))
			return 1;
	return 0;
}

/* The dataset's type of column `name` into *to; 0 if m has no such column
 * (or a type we do not store). */
static int dataset_type(const struct manifest *m, const char *name, struct schema_type *to)
{
	for (size_t k = 0; k < m->ncolumns; k++) {
		if (strcmp(m->columns[k].name, name))
			continue;
		const char *t = m->columns[k].type;
		return schema_type_parse(t, strlen(t), to) == 0 && schema_type_stored(to);
	}
	return 0;
}

static int same_type(const struct schema_type *a, const struct schema_type *b)
{
	return a->id == b->id && a->precision == b->precision && a->scale == b->scale;
}

int ingest_evolve_cast(const struct ingest_schema *s, const struct manifest *m,
		       const char *const *skip, size_t nskip, struct ingest_schema **out,
		       json_t *cast)
{
	struct schema_type *to;
	unsigned char *doit;
	size_t ncast = 0;
	if (!m)
		return 0;
	to = xcalloc(s->ncols ? s->ncols : 1, sizeof *to);
	doit = xcalloc(s->ncols ? s->ncols : 1, 1);
	for (size_t i = 0; i < s->ncols; i++) {
		const struct ingest_column *c = &s->columns[i];
		if (skipped(c->name, skip, nskip) || !dataset_type(m, c->name, &to[i]) ||
		    same_type(&to[i], &c->type) || !ingest_cast_fits(c, &to[i]))
			continue;
		doit[i] = 1;
		ncast++;
	}
	if (ncast) {
		struct ingest_schema *e = xmalloc(sizeof *e);
		*e = *s;                              /* names, layout, format: shared */
		e->as_is = 0;
		e->columns = xcalloc(s->ncols ? s->ncols : 1, sizeof *e->columns);
		for (size_t i = 0; i < s->ncols; i++) {
			e->columns[i] = s->columns[i];
			if (!doit[i])
				continue;
			e->columns[i].type = to[i];
			e->columns[i].cast = 1;
			e->columns[i].from = s->columns[i].type;
			char fbuf[SCHEMA_TYPE_NAME_MAX], tbuf[SCHEMA_TYPE_NAME_MAX];
			json_t *o = json_object();
			json_object_set_new(o, "column", json_string(e->columns[i].name));
			json_object_set_new(o, "from", json_string(schema_type_name(&e->columns[i].from,
										     fbuf)));
			json_object_set_new(o, "to", json_string(schema_type_name(&e->columns[i].type,
										   tbuf)));
			json_array_append_new(cast, o);
		}
		ingest_fingerprint(e->columns, e->ncols, e->fingerprint);
		*out = e;
	}
	free(to);
	free(doit);
	return ncast > 0;
}
