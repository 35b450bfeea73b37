/* index_decl.c — decoding an index declaration and making a row's indexed
 * text (index_decl.h). */
#include "search/index_decl.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(struct lh_error *err, const char *what)
{
	return lh_fail(err, 502, "upstream_failed", "the catalog's index declaration is unreadable: %s",
		       what);
}

int index_decl_from_json(const json_t *index, struct index_decl *d, struct lh_error *err)
{
	const json_t *decl = json_object_get(index, "declaration");
	const json_t *text = json_object_get(decl, "text");
	const char *fp = json_string_value(json_object_get(index, "fingerprint"));
	const char *id = json_string_value(json_object_get(decl, "id"));
	const char *emb = json_string_value(json_object_get(decl, "embedder"));
	size_t i;
	const json_t *c;
	memset(d, 0, sizeof *d);
	if (!json_is_object(decl) || !fp)
		return bad(err, "no declaration or fingerprint");
	if (!json_is_array(text) || json_array_size(text) == 0 ||
	    json_array_size(text) > INDEX_DECL_MAX_COLUMNS)
		return bad(err, "\"text\" is not a list of columns");
	json_array_foreach(text, i, c) {
		if (!json_is_string(c)) {
			index_decl_free(d);
			return bad(err, "a text column is not a string");
		}
		d->text[d->ntext++] = xstrdup(json_string_value(c));
	}
	d->id = id ? xstrdup(id) : NULL;
	d->embedder = xstrdup(emb ? emb : "builtin");
	d->fingerprint = xstrdup(fp);
	return 0;
}

void index_decl_free(struct index_decl *d)
{
	for (size_t i = 0; i < d->ntext; i++)
		free(d->text[i]);
	free(d->id);
	free(d->embedder);
	free(d->fingerprint);
	memset(d, 0, sizeof *d);
}

int index_decl_row_text(const struct index_decl *d, const json_t *row, struct lh_buf *out)
{
	int first = 1;
	for (size_t i = 0; i < d->ntext; i++) {
		const json_t *v = json_object_get(row, d->text[i]);
		char num[64];
		const char *s = NULL;
		size_t n = 0;
		if (json_is_string(v)) {
			s = json_string_value(v);
			n = json_string_length(v);
		} else if (json_is_integer(v)) {
			n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			s = num;
		} else if (json_is_real(v)) {
			n = (size_t)snprintf(num, sizeof num, "%.17g", json_real_value(v));
			s = num;
		} else if (json_is_boolean(v)) {
			s = json_is_true(v) ? "true" : "false";
			n = strlen(s);
		}
		if (!s)
			continue;
		if ((!first && lh_buf_append(out, "\n", 1)) ||
		    lh_buf_append(out, d->text[i], strlen(d->text[i])) || lh_buf_append(out, ": ", 2) ||
		    lh_buf_append(out, s, n))
			return -1;
		first = 0;
	}
	return 0;
}
