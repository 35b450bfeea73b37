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
 *   5. For declared types (declared.h, ADR 0171), each column keeps the line
 *      of the first value that is not of each inferred type (when that
 *      type's bit is dropped), the first that is not a decimal, and a
 *      staircase of the lines where the largest count of integer and of
 *      fractional digits first exceeded k (k = 0..38): so after the one
 *      pass, whether the column fits ANY declared type, and the line of its
 *      first value that does not, is known without reading the file again.
 *      A reader sets `line` to the record's line before its values (0 =
 *      lines unknown). A column that has seen a value which is not a
 *      decimal stops scanning for digits.
 */
#ifndef LH_INGESTD_INFER_H
#define LH_INGESTD_INFER_H
#include "common/schema.h"

#include <stddef.h>
#include <stdint.h>

struct ingest_column;

/* Note 5: what declared types need to know of a column's values. A line is
 * the record's (infer_columns.line); INGEST_FIT_NONE = no such value. */
#define INGEST_FIT_NONE UINT64_MAX
#define INGEST_FIT_DIGITS (SCHEMA_DECIMAL_MAX_PRECISION + 1)
struct ingest_fit {
	uint64_t first_not[SCHEMA_NINFERRED];   /* first value not of type id */
	uint64_t first_not_decimal;             /* first value that is no decimal */
	/* [k], k = 0..38: the first value with more than k integer (fractional)
	 * digits; schema_decimal_digits counts up to 39 ("more than 38"), and a
	 * decimal(38,0) asks for [38] */
	uint64_t int_over[INGEST_FIT_DIGITS];
	uint64_t frac_over[INGEST_FIT_DIGITS];
	unsigned char int_max, frac_max;        /* the largest counts seen */
	uint64_t first_inexact;                 /* first int64 no float64 holds
						 * exactly (note 4) */
};

struct infer_columns {
	size_t ncols;
	unsigned *possible;          /* per column: SCHEMA_MASK bits still possible */
	unsigned char *seen;         /* per column: a non-null value was seen */
	unsigned char *nulls;        /* per column: a null was seen */
	unsigned char *inexact;      /* per column: an int64 value no float64
				      * holds exactly was seen (note 4) */
	struct ingest_fit *fit;      /* per column (note 5) */
	uint64_t line;               /* the record being fed; set by the reader */
};

/* Note 5's bookkeeping: bits `dropped` left the column's set at this value;
 * and the decimal digits of a value (out of line: numbers only). */
void infer_fit_dropped(struct ingest_fit *f, unsigned dropped, uint64_t line);
void infer_fit_decimal(struct ingest_fit *f, const char *p, size_t n, uint64_t line);

/* Note 4's slow path: mark the column if the int64 p[0..n) is not exact
 * as a float64. */
void infer_columns_check_exact(struct infer_columns *t, size_t col, const char *p, size_t n);

/* Start ncols columns with every type possible. */
void infer_columns_init(struct infer_columns *t, size_t ncols);

/* Widen an initialised set to ncols columns (no-op when it has as many):
 * the columns it had keep their state, the new ones start as
 * infer_columns_init starts them. For a format whose columns appear as it
 * reads (JSON keys). */
void infer_columns_grow(struct infer_columns *t, size_t ncols);

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
	struct ingest_fit *f = &t->fit[col];
	if (f->first_not_decimal == INGEST_FIT_NONE)            /* note 5 */
		infer_fit_decimal(f, p, n, t->line);
	if (t->possible[col]) {
		unsigned types = schema_value_types(p, n);
		if (t->possible[col] & ~types)
			infer_fit_dropped(f, t->possible[col] & ~types, t->line);
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
