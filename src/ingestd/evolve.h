/* evolve.h — an upload with ?evolve=true (ADR 0173) whose schema differs
 * from the dataset's in more than types (so the plain cast of cast.h does
 * not apply): each column the dataset also has, by exact name, whose values
 * all fit the dataset's type (ingest_cast_fits) is read with the dataset's
 * type first, so only real changes are evolved. Without this an upload that
 * adds a column would "narrow" every text column that happens to hold only
 * numbers (utf8 -> int64) and be refused. Columns the upload declares
 * (?types, declared.h) keep their declared type. Pure: no I/O.
 */
#ifndef LH_INGESTD_EVOLVE_H
#define LH_INGESTD_EVOLVE_H
#include "common/json.h"

#include <stddef.h>

struct ingest_schema;
struct manifest;

/* When some column of `s` is cast this way: returns 1 and *out (a schema
 * sharing s's names, layout and format, as ingest_cast_plan's: free it with
 * ingest_cast_free; s must outlive it) with its fingerprint recomputed, and
 * appends {"column","from","to"} per cast column to `cast`. Columns named in
 * skip[0..nskip) are never cast. Returns 0 and touches nothing when no
 * column is cast (or m is NULL). */
int ingest_evolve_cast(const struct ingest_schema *s, const struct manifest *m,
		       const char *const *skip, size_t nskip, struct ingest_schema **out,
		       json_t *cast);

#endif
