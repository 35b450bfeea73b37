/* infer.c — the per-column type sets of infer.h (design notes there). */
#include "ingestd/infer.h"

#include "common/xmalloc.h"
#include "ingestd/format.h"

#include <stdlib.h>
#include <string.h>

/* Columns [from, to) as a new column starts. */
static void columns_start(struct infer_columns *t, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		t->possible[i] = SCHEMA_MASK(SCHEMA_UTF8) - 1;    /* note 1 */
		t->seen[i] = t->nulls[i] = t->inexact[i] = 0;
		memset(&t->fit[i], 0xff, sizeof t->fit[i]);       /* note 5: NONE */
		t->fit[i].int_max = t->fit[i].frac_max = 0;
	}
}

void infer_columns_init(struct infer_columns *t, size_t ncols)
{
	t->ncols = ncols;
	t->possible = xmalloc((ncols ? ncols : 1) * sizeof *t->possible);
	t->seen = xcalloc(ncols ? ncols : 1, 1);
	t->nulls = xcalloc(ncols ? ncols : 1, 1);
	t->inexact = xcalloc(ncols ? ncols : 1, 1);
	t->fit = xmalloc((ncols ? ncols : 1) * sizeof *t->fit);
	t->line = 0;
	columns_start(t, 0, ncols);
}

void infer_columns_grow(struct infer_columns *t, size_t ncols)
{
	if (ncols <= t->ncols)
		return;
	t->possible = xrealloc(t->possible, ncols * sizeof *t->possible);
	t->seen = xrealloc(t->seen, ncols);
	t->nulls = xrealloc(t->nulls, ncols);
	t->inexact = xrealloc(t->inexact, ncols);
	t->fit = xrealloc(t->fit, ncols * sizeof *t->fit);
	columns_start(t, t->ncols, ncols);
	t->ncols = ncols;
}

void infer_fit_dropped(struct ingest_fit *f, unsigned dropped, uint64_t line)
{
	for (unsigned id = 0; id < SCHEMA_NINFERRED; id++)
		if (dropped & SCHEMA_MASK(id))
			f->first_not[id] = line;
}

void infer_fit_decimal(struct ingest_fit *f, const char *p, size_t n, uint64_t line)
{
	unsigned id, fd;
	if (schema_decimal_digits(p, n, &id, &fd)) {
		f->first_not_decimal = line;
		return;
	}
	for (; f->int_max < id; f->int_max++)
		f->int_over[f->int_max] = line;
	for (; f->frac_max < fd; f->frac_max++)
		f->frac_over[f->frac_max] = line;
}

void infer_columns_check_exact(struct infer_columns *t, size_t col, const char *p, size_t n)
{
	int64_t v;
	if (schema_parse_int64(p, n, &v) == 0 && !schema_int64_fits_float64(v)) {
		t->inexact[col] = 1;
		if (t->fit[col].first_inexact == INGEST_FIT_NONE)         /* note 5 */
			t->fit[col].first_inexact = t->line;
	}
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
		cols[i].fit = xmalloc(sizeof *cols[i].fit);       /* note 5 */
		*cols[i].fit = t->fit[i];
	}
}

void infer_columns_free(struct infer_columns *t)
{
	free(t->possible);
	free(t->seen);
	free(t->nulls);
	free(t->inexact);
	free(t->fit);
	t->fit = NULL;
	t->possible = NULL;
	t->seen = t->nulls = t->inexact = NULL;
	t->ncols = 0;
}
