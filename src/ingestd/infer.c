/* infer.c — the per-column type sets of infer.h (design notes there). */
#include "ingestd/infer.h"

#include "common/xmalloc.h"
#include "ingestd/format.h"

#include <stdlib.h>

void infer_columns_init(struct infer_columns *t, size_t ncols)
{
	t->ncols = ncols;
	t->possible = xmalloc((ncols ? ncols : 1) * sizeof *t->possible);
	t->seen = xcalloc(ncols ? ncols : 1, 1);
	t->nulls = xcalloc(ncols ? ncols : 1, 1);
	t->inexact = xcalloc(ncols ? ncols : 1, 1);
	for (size_t i = 0; i < ncols; i++)
		t->possible[i] = SCHEMA_MASK(SCHEMA_UTF8) - 1;    /* note 1 */
}

void infer_columns_check_exact(struct infer_columns *t, size_t col, const char *p, size_t n)
{
	int64_t v;
	if (schema_parse_int64(p, n, &v) == 0 && !schema_int64_fits_float64(v))
		t->inexact[col] = 1;
}

void infer_columns_result(const struct infer_columns *t, struct ingest_column *cols)
{
	for (size_t i = 0; i < t->ncols; i++) {
		enum schema_type_id id = SCHEMA_UTF8;                     /* note 2 */
		if (t->seen[i] && t->possible[i])
			id = (enum schema_type_id)__builtin_ctz(t->possible[i]);
		cols[i].type = schema_type_of(id);
		cols[i].nullable = t->nulls[i];                           /* note 3 */
		cols[i].all_null = !t->seen[i];
		cols[i].inexact = t->inexact[i];                          /* note 4 */
	}
}

void infer_columns_free(struct infer_columns *t)
{
	free(t->possible);
	free(t->seen);
	free(t->nulls);
	free(t->inexact);
	t->possible = NULL;
	t->seen = t->nulls = t->inexact = NULL;
	t->ncols = 0;
}
