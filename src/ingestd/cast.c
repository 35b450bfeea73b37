/* cast.c — compatible uploads are cast (cast.h, ADR 0170). */
#include "ingestd/cast.h"

#include "common/manifest.h"
#include "common/xmalloc.h"
#include "ingestd/format.h"

#include <stdlib.h>
#include <string.h>

static int same_type(const struct schema_type *a, const struct schema_type *b)
{
	return a->id == b->id && a->precision == b->precision && a->scale == b->scale;
}

int ingest_cast_fits(const struct ingest_column *c, const struct schema_type *to)
{
	const struct schema_type *from = &c->type;
	if (same_type(from, to))
		return 1;                                                 /* 1 */
	if (c->all_null)
		return 1;                                                 /* 2 */
	if (!schema_type_casts_to(from, to))                              /* 3 */
		return 0;
	return !(from->id == SCHEMA_INT64 && to->id == SCHEMA_FLOAT64 && c->inexact);
}

int ingest_cast_plan(const struct ingest_schema *s, const struct manifest *m,
		     struct ingest_schema **out, json_t *cast)
{
	struct schema_type *to = NULL;
	int rc = 0;

	if (!m || !strcmp(s->fingerprint, m->fingerprint) || s->ncols != m->ncolumns)
		return 0;
	to = xcalloc(s->ncols ? s->ncols : 1, sizeof *to);
	for (size_t i = 0; i < s->ncols; i++) {
		const char *t = m->columns[i].type;
		if (strcmp(s->columns[i].name, m->columns[i].name) != 0 ||
		    schema_type_parse(t, strlen(t), &to[i]) != 0 ||
		    !schema_type_stored(&to[i]) || !ingest_cast_fits(&s->columns[i], &to[i]))
			goto out;
	}

	struct ingest_schema *c = xmalloc(sizeof *c);
	*c = *s;                                  /* names, layout, format: shared */
	c->columns = xcalloc(s->ncols ? s->ncols : 1, sizeof *c->columns);
	for (size_t i = 0; i < s->ncols; i++) {
		c->columns[i] = s->columns[i];
		if (same_type(&to[i], &s->columns[i].type))
			continue;
		c->columns[i].type = to[i];
		c->columns[i].cast = 1;
		c->columns[i].from = s->columns[i].type;
	}
	ingest_fingerprint(c->columns, c->ncols, c->fingerprint);
	if (strcmp(c->fingerprint, m->fingerprint) != 0) {
		/* a manifest whose fingerprint is not its schema's: catalogd
		 * never writes one; let the register decide */
		ingest_cast_free(c);
		goto out;
	}
	for (size_t i = 0; i < c->ncols; i++) {
		char fbuf[SCHEMA_TYPE_NAME_MAX], tbuf[SCHEMA_TYPE_NAME_MAX];
		if (!c->columns[i].cast)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "column", json_string(c->columns[i].name));
		json_object_set_new(o, "from", json_string(schema_type_name(&c->columns[i].from, fbuf)));
		json_object_set_new(o, "to", json_string(schema_type_name(&c->columns[i].type, tbuf)));
		json_array_append_new(cast, o);
	}
	*out = c;
	rc = 1;
out:
	free(to);
	return rc;
}

void ingest_cast_free(struct ingest_schema *cast)
{
	if (!cast)
		return;
	free(cast->columns);
	free(cast);
}
