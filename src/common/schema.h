/* schema.h — the lakehouse's one schema vocabulary (ADR 0131): the column
 * types, their names (manifests, the API, the fingerprint), their DuckDB
 * and Arrow spellings, the schema fingerprint, and the text form of each
 * type's values (what inference accepts and the converter parses), all as
 * docs/schema.md states them. Every reader and writer of a schema uses it:
 * ingestd infers and converts with it, catalogd validates and fingerprints
 * with it, queryd maps a manifest's types to DuckDB's with it. Dates and
 * times are calendar.h's.
 *
 * A type is a small struct, not a string: an id plus the parameters of a
 * parameterised type, so `decimal(p,s)` (a declared type, never inferred:
 * Parquet DECIMAL, DuckDB DECIMAL(p,s), fingerprint name "decimal(p,s)")
 * has its place without a second vocabulary. Names parse and format
 * exactly (canonical spelling only), so name -> type -> name is the
 * identity and a fingerprint has one input per schema.
 * Pure: no I/O. Unit-tested in tests/unit/test_schema.c, fuzzed by
 * tests/fuzz/fuzz_schema.c.
 */
#ifndef LH_COMMON_SCHEMA_H
#define LH_COMMON_SCHEMA_H
#include <stddef.h>
#include <stdint.h>

/* Type ids. The first SCHEMA_NINFERRED are the inferred types in the priority
 * order of docs/schema.md (a column is the first every non-null value matches;
 * SCHEMA_UTF8 matches everything), so inference keeps sets of them as bit
 * masks (SCHEMA_MASK). Later ids are never inferred. */
enum schema_type_id {
	SCHEMA_BOOL,
	SCHEMA_INT64,
	SCHEMA_FLOAT64,
	SCHEMA_DATE32,
	SCHEMA_TIMESTAMP,    /* timestamp[us]: no zone */
	SCHEMA_TIMESTAMPTZ,  /* timestamp[us, tz=UTC]: every value had a zone; stored as UTC */
	SCHEMA_UTF8,
	SCHEMA_DECIMAL,      /* decimal(p,s): declared only, never inferred; see schema_type_stored() */
};
#define SCHEMA_NINFERRED 7
#define SCHEMA_MASK(id) (1u << (id))
#define SCHEMA_DECIMAL_MAX_PRECISION 38   /* Parquet and DuckDB's DECIMAL limit */

struct schema_type {
	enum schema_type_id id;
	uint8_t precision;   /* decimal: 1..38; else 0 */
	uint8_t scale;       /* decimal: 0..precision; else 0 */
};

/* A plain (unparameterised) type. */
static inline struct schema_type schema_type_of(enum schema_type_id id)
{
	struct schema_type t = { id, 0, 0 };
	return t;
}

/* Room for any name this header produces, NUL included
 * ("timestamp[us, tz=UTC]", "decimal(38,38)", "TIMESTAMPTZ", "d:38,38"). */
#define SCHEMA_TYPE_NAME_MAX 32

/* The type's name as manifests, the API and the fingerprint spell it:
 * "bool", "int64", "float64", "date32", "timestamp[us]",
 * "timestamp[us, tz=UTC]", "utf8", "decimal(10,2)". Returns a static string
 * or, for a parameterised type, buf (filled). An unknown id is "utf8". */
const char *schema_type_name(const struct schema_type *t, char buf[SCHEMA_TYPE_NAME_MAX]);

/* Parse exactly one canonical name (as schema_type_name writes it: no
 * spaces but the one in "timestamp[us, tz=UTC]", lower case, decimal's
 * p 1-38 and s 0-p without leading zeros) from s[0..n). 0 and *out, or -1. */
int schema_type_parse(const char *s, size_t n, struct schema_type *out);

/* 1 if datasets may hold this type: every inferred type, and decimal(p,s)
 * with 1 <= p <= 38, 0 <= s <= p (declared only, ADR 0171). */
int schema_type_stored(const struct schema_type *t);

/* 1 if a column of type `from` may be stored as `to` without losing a
 * value, by the type-level rules of SPEC 16 and ADR 0170: the same type;
 * anything into utf8 (the text as it came); int64 into float64 (the caller
 * still checks each value is exactly representable,
 * schema_int64_fits_float64); date32 into timestamp[us] (midnight).
 * Nothing else: not float64 into int64, not a date into a zoned timestamp
 * (a date has no zone), not decimal either way. Pure. */
int schema_type_casts_to(const struct schema_type *from, const struct schema_type *to);

/* 1 if the double nearest v is exactly v (every |v| <= 2^53, and larger
 * values with enough trailing zero bits). */
int schema_int64_fits_float64(int64_t v);

/* DuckDB's name for the type: BOOLEAN, BIGINT, DOUBLE, DATE, TIMESTAMP,
 * TIMESTAMPTZ, VARCHAR, DECIMAL(p,s). Static string or buf. */
const char *schema_type_sql(const struct schema_type *t, char buf[SCHEMA_TYPE_NAME_MAX]);

/* The Arrow C data interface format string (ADR 0021): b, l, g, tdD, tsu:,
 * tsu:UTC, u, d:p,s. Static string or buf. */
const char *schema_type_arrow(const struct schema_type *t, char buf[SCHEMA_TYPE_NAME_MAX]);

/* ---- the fingerprint (docs/schema.md) ------------------------------------------- */

/* "sha256:" + lowercase hex SHA-256 over, per column in order: the name's
 * bytes, 0x1f, the type name's bytes, 0x1e. Nullability is not part of it.
 * Streaming, so every column representation (ingestd's typed columns,
 * catalogd's named ones) feeds the one definition:
 *   struct schema_fp fp; schema_fp_init(&fp);
 *   schema_fp_add(&fp, name, type_name); ...  schema_fp_finish(&fp, out);
 * schema_fp_finish() always ends the state. */
#define SCHEMA_FP_LEN (7 + 64)
struct sha256;
struct schema_fp {
	struct sha256 *h;
};
void schema_fp_init(struct schema_fp *fp);
void schema_fp_add(struct schema_fp *fp, const char *name, const char *type_name);
void schema_fp_finish(struct schema_fp *fp, char out[SCHEMA_FP_LEN + 1]);

/* ---- values as text (docs/schema.md) -------------------------------------------- */

/* The set of inferred types (SCHEMA_MASK bits, SCHEMA_UTF8 excluded) that
 * the non-empty value p[0..n) matches exactly. An int64 also matches
 * float64; a date or timestamp is calendar.h's. */
unsigned schema_value_types(const char *p, size_t n);

/* Value parsers: 0 and the value if p[0..n) matches the type exactly as
 * schema_value_types() decides, else -1. bool: `true`/`false` in any case.
 * int64: [+-]?(0|[1-9][0-9]*) in range (a leading zero is a code, text).
 * float64: the grammar of docs/schema.md, correctly rounded; beyond the double range is
 * -1 (it would read back as infinity), underflow is 0.0. Dates and
 * timestamps: calendar_parse_date() / calendar_parse_timestamp(). */
int schema_parse_bool(const char *p, size_t n, int *out);
int schema_parse_int64(const char *p, size_t n, int64_t *out);
int schema_parse_float64(const char *p, size_t n, double *out);

/* ---- decimal values (declared types, ADR 0171) ------------------------ */

/* The text of a decimal value: [+-]?[0-9]+(\.[0-9]+)? — leading zeros are
 * allowed (007.50 is 7.50), no exponent, no thousands separators, no
 * surrounding spaces. 0 with the count of its significant integer digits
 * (leading zeros aside) and of its fractional digits (trailing zeros
 * aside), each capped at SCHEMA_DECIMAL_MAX_PRECISION + 1; -1 if p[0..n)
 * is not a decimal. "-0012.3400" has 2 and 2. */
int schema_decimal_digits(const char *p, size_t n, unsigned *int_digits,
			  unsigned *frac_digits);

/* Parse p[0..n) as a value of the decimal type t: 0 and *out = the value
 * times 10^scale (exact), or -1 when it is not a decimal or does not fit
 * t: more than p-s significant integer digits, or more than s fractional
 * digits that are not trailing zeros. Never rounds (12.345 does not fit
 * decimal(10,2); 12.340 does). */
int schema_parse_decimal(const char *p, size_t n, const struct schema_type *t, __int128 *out);

/* Room for any decimal's text: sign, 38 digits, "0.", NUL. */
#define SCHEMA_DECIMAL_TEXT_MAX 48
/* The text of the unscaled value v at `scale` digits after the point
 * (scale <= 38; |v| < 10^38): "-12.30", "0.05", "7". Returns its length. */
size_t schema_format_decimal(__int128 v, unsigned scale, char buf[SCHEMA_DECIMAL_TEXT_MAX]);

#endif
