/* cast.h — compatible uploads are cast (SPEC 16, ADR 0170): an upload whose
 * inferred schema differs from the dataset's latest only by columns whose
 * values all fit the dataset's types is converted with the dataset's types
 * and registered under the dataset's fingerprint, instead of being refused
 * as drift. The pipeline (pipeline.c) asks before converting; anything that
 * does not fit goes to catalogd unchanged, which answers the 409 drift with
 * its diff as before.
 *
 * A column fits a dataset type `to` when (ingest_cast_fits):
 *   1. its inferred type is `to`; or
 *   2. it has no non-null value (all empty, or a header-only file): any
 *      type holds nulls; or
 *   3. schema_type_casts_to(inferred, to) (schema.h): anything into utf8
 *      (the text verbatim), date32 into timestamp[us] (midnight), int64
 *      into float64 when no value of the column is inexact as a double
 *      (inference marked it, infer.h note 4).
 * A schema fits when it has the dataset's column names, exactly, in the
 * dataset's order, and every column fits. Pure: no I/O.
 */
#ifndef LH_INGESTD_CAST_H
#define LH_INGESTD_CAST_H
#include "common/json.h"
#include "common/schema.h"

struct ingest_column;
struct ingest_schema;
struct manifest;

/* 1 if the inferred column `c` may be stored as `to` (rules 1-3), else 0. */
int ingest_cast_fits(const struct ingest_column *c, const struct schema_type *to);

/* The cast of `s` to the dataset whose latest manifest is `m`, when `s`'s
 * fingerprint differs from m's and s fits m (above): returns 1 and *out, a
 * schema sharing s's column names, layout and format (s must outlive it;
 * free it with ingest_cast_free, never ingest_schema_destroy) whose types
 * and fingerprint are m's, and appends one {"column", "from", "to"} per
 * cast column to `cast` (a JSON array, the caller's). Returns 0 and
 * touches nothing when there is nothing to cast (the same fingerprint) or
 * s does not fit m (drift: catalogd says how). */
int ingest_cast_plan(const struct ingest_schema *s, const struct manifest *m,
		     struct ingest_schema **out, json_t *cast);

/* Free a schema made by ingest_cast_plan (not what it shares). NULL is fine. */
void ingest_cast_free(struct ingest_schema *cast);

#endif
