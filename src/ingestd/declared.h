/* declared.h — declared column types (SPEC 16, ADR 0171): `?types=col:type,...`
 * fixes columns' types instead of inferring them, and the dataset keeps the
 * declaration (catalogd's declared_types), so later uploads without ?types
 * get the same types.
 *
 * DESIGN NOTES
 *   1. Parsing (declared_types_parse) is pure and happens when the request
 *      begins: a malformed list, an unknown type name or a decimal whose
 *      precision or scale is out of range is a 400 before any byte is read.
 *      The column names are checked against the header once it is known.
 *   2. Inference still runs over every value (infer.h note 5) and records,
 *      per column, where the first value that is not of each type is, and
 *      the digits decimals would need; so applying a declaration
 *      (declared_types_apply) needs no second pass over the file, and a
 *      value that does not fit its declared type is a 400 with its line and
 *      column before anything is converted or stored.
 *   3. Values are never rounded or coerced: a declared type takes exactly
 *      the values its grammar (docs/schema.md) accepts; decimal(p,s) takes
 *      a decimal with at most p-s integer digits and at most s fractional
 *      digits besides trailing zeros (12.345 does not fit decimal(10,2)).
 *      One exception, the cast of ADR 0170: a column whose values are all
 *      dates may be declared timestamp[us] (midnight).
 *   4. The stored declaration is the catalog's latest (the manifest's
 *      declared_types). This upload's ?types replace stored entries of the
 *      same column and add new ones (declared_types_merge); a type that
 *      differs from the dataset's is then drift by the fingerprint, which
 *      catalogd refuses unless the schema evolves on purpose. The merged
 *      list, for the columns the upload has, goes with the register
 *      (declared_types_to_manifest), which stores it with the version.
 */
#ifndef LH_INGESTD_DECLARED_H
#define LH_INGESTD_DECLARED_H
#include "common/schema.h"

#include <stddef.h>

struct ingest_column;
struct ingest_schema;
struct lh_error;
struct manifest;

struct declared_type {
	char *column;                /* owned; the header's exact name once applied */
	struct schema_type type;
	unsigned char requested;     /* from this upload's ?types (else stored) */
};

struct declared_types {
	struct declared_type *items; /* owned array */
	size_t n;
};

/* Parse a ?types value: `col:type` items separated by commas, e.g.
 * "zip:utf8,hourly_rate:decimal(10,2)" (commas inside decimal's parentheses
 * and timestamp's brackets belong to the type; a column name is everything
 * before the item's last ':'). Type names are schema.h's canonical ones.
 * On 0, *out holds the items (marked requested; free with
 * declared_types_free). -1 with a 400: "bad_types" (an empty item, no ':',
 * an empty column name, a column given twice, more than
 * LH_SCHEMA_MAX_COLUMNS items), "unknown_type" (extra "type", "column"),
 * "bad_decimal" (decimal(p,s) outside 1 <= p <= 38, 0 <= s <= p). */
int declared_types_parse(const char *s, struct declared_types *out, struct lh_error *err);

/* The stored declaration of a dataset: the manifest's declared_types whose
 * type names parse (a NULL manifest or none: empty). */
void declared_types_from_manifest(const struct manifest *m, struct declared_types *out);

/* *out = `stored`, each item replaced by the `requested` one of the same
 * column, then the requested ones for other columns (note 4). Copies. */
void declared_types_merge(const struct declared_types *stored,
			  const struct declared_types *requested, struct declared_types *out);

/* 1 if the inferred column c's values all fit type t; else 0 with *line
 * the line of the first that does not (0 when unknown) and *why a short
 * reason ("is not an int64", "has 3 digits after the point; decimal(10,2)
 * holds 2") in why[0..whycap). */
int declared_column_fits(const struct ingest_column *c, const struct schema_type *t,
			 uint64_t *line, char *why, size_t whycap);

/* Apply d to the inferred schema s, in place: each declared column takes
 * its type (a date32 column declared timestamp[us] is marked cast from
 * date32, ADR 0170), and the fingerprint is recomputed. Requested names
 * match the header exactly, else regardless of case (the item takes the
 * header's spelling). -1 with a 400: "unknown_column" for a requested
 * column the upload does not have (extra "column"), "bad_value" for a value
 * that does not fit (extra "line", "column", "type"). A stored column the
 * upload lacks is left out (the drift says it was removed). */
int declared_types_apply(struct ingest_schema *s, struct declared_types *d,
			 struct lh_error *err);

/* Add to the register request m the items of d whose column s has, in
 * s's column order, and mark m as saying its declaration (note 4). */
void declared_types_to_manifest(const struct declared_types *d, const struct ingest_schema *s,
				struct manifest *m);

/* 1 if the declaration m holds already says exactly what d does for the
 * columns s has (so registering would not change it). */
int declared_types_same(const struct declared_types *d, const struct ingest_schema *s,
			const struct manifest *m);

/* Free the items (not the struct). A zeroed struct is fine. */
void declared_types_free(struct declared_types *d);

#endif
