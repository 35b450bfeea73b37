/* infer.h — type inference over values, whatever the input format (the
 * rules of docs/schema.md, "Types"): per column, the set of inferred types
 * that every non-null value so far matches. A format's reader feeds every
 * value of every record (infer_columns_value) and takes the types at the
 * end (infer_columns_result). Types are inferred over EVERY value, never a
 * sample, and the same values always give the same types.
 *
 * DESIGN NOTES
 *   1. Each column keeps a bit set (SCHEMA_MASK) of the types still
 *      possible, all but utf8 at first; every non-null value ANDs in the
 *      types it matches (schema_value_types()). A column whose set is empty
 *      is utf8 and is no longer classified. Zoned and unzoned timestamps
 *      are different bits, so a mix ends as text.
 *   2. The final type is the lowest remaining bit (the priority order of
 *      the inferred type ids); a column with no non-null value is utf8.
 *   3. An empty value is a null: it makes the column nullable and leaves
 *      its set alone. A column with no non-null value is marked all_null.
 *   4. For casts (ADR 0170: int64 values into a float64 column only when
 *      every value is exactly representable), an int64 value that a double
 *      cannot hold exactly marks the column `inexact`. Only values of 16
 *      bytes or more are parsed again for it (15 digits are below 2^53),
 *      so ordinary columns pay one length test.
 */
#ifndef LH_INGESTD_INFER_H
#define LH_INGESTD_INFER_H
#include "common/schema.h"

#include <stddef.h>

struct ingest_column;

struct infer_columns {
	size_t ncols;
	unsigned *possible;          /* per column: SCHEMA_MASK bits still possible */
	unsigned char *seen;         /* per column: a non-null value was seen */
	unsigned char *nulls;        /* per column: a null was seen */
	unsigned char *inexact;      /* per column: an int64 value no float64
				      * holds exactly was seen (note 4) */
};

/* Note 4's slow path: mark the column if the int64 p[0..n) is not exact
 * as a float64. */
void infer_columns_check_exact(struct infer_columns *t, size_t col, const char *p, size_t n);

/* Start ncols columns with every type possible. */
void infer_columns_init(struct infer_columns *t, size_t ncols);

/* One value of column `col` (< ncols): p[0..n), empty = null. Inline: it
 * runs once per value of the upload. */
static inline void infer_columns_value(struct infer_columns *t, size_t col, const char *p,
				       size_t n)
{
	if (n == 0) {
		t->nulls[col] = 1;
		return;
	}
	t->seen[col] = 1;
	if (t->possible[col]) {
		unsigned types = schema_value_types(p, n);
		t->possible[col] &= types;
		/* note 4: an int64 of 15 digits or fewer is always exact */
		if (n > 15 && (types & SCHEMA_MASK(SCHEMA_INT64)))
			infer_columns_check_exact(t, col, p, n);
	}
}

/* Each column's type and nullability into cols[0..ncols) (notes 2, 3). */
void infer_columns_result(const struct infer_columns *t, struct ingest_column *cols);

/* Free the sets (not the struct). A zeroed struct is fine. */
void infer_columns_free(struct infer_columns *t);

#endif
