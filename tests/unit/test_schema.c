/* test_schema.c — src/common/schema.c: type names both ways (decimal(p,s)
 * included), their DuckDB and Arrow spellings, the fingerprint test vectors
 * of docs/schema.md, and the value grammar's edges. Inference's rules over
 * whole files are in test_infer.c. */
#include "test.h"

#include "common/schema.h"

static const char *name_of(struct schema_type t)
{
	static char buf[SCHEMA_TYPE_NAME_MAX];
	return schema_type_name(&t, buf);
}

TEST(schema_type_names_round_trip)
{
	static const char *const names[] = {
		"bool", "int64", "float64", "date32", "timestamp[us]", "timestamp[us, tz=UTC]",
		"utf8", "decimal(10,2)", "decimal(1,0)", "decimal(38,38)", "decimal(18,0)",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct schema_type t;
		CHECK_EQ_INT(schema_type_parse(names[i], strlen(names[i]), &t), 0);
		CHECK_EQ_STR(name_of(t), names[i]);
	}
	/* the inferred ids are docs/schema.md's priority order */
	CHECK_EQ_STR(name_of(schema_type_of(SCHEMA_BOOL)), "bool");
	CHECK_EQ_STR(name_of(schema_type_of(SCHEMA_TIMESTAMPTZ)), "timestamp[us, tz=UTC]");
	CHECK_EQ_STR(name_of(schema_type_of(SCHEMA_UTF8)), "utf8");
	CHECK_EQ_INT(SCHEMA_UTF8 + 1, SCHEMA_NINFERRED);
}

TEST(schema_type_parse_refuses_other_spellings)
{
	static const char *const bad[] = {
		"", "string", "INT64", "int", "Bool", "utf8 ", " utf8", "timestamp[us,tz=UTC]",
		"timestamp", "decimal", "decimal()", "decimal(10)", "decimal(10,)", "decimal(,2)",
		"decimal(0,0)", "decimal(39,2)", "decimal(10,11)", "decimal(010,2)", "decimal(10,02)",
		"decimal(10, 2)", "decimal(10,2) ", "DECIMAL(10,2)", "decimal(-1,0)", "decimal(1000,0)",
		"decimal(10,2)x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct schema_type t;
		if (schema_type_parse(bad[i], strlen(bad[i]), &t) == 0)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
		CHECK_EQ_INT(schema_type_parse(bad[i], strlen(bad[i]), &t), -1);
	}
	/* n bounds the name: a prefix of a longer buffer */
	struct schema_type t;
	CHECK_EQ_INT(schema_type_parse("int64garbage", 5, &t), 0);
	CHECK_EQ_INT(t.id, SCHEMA_INT64);
}

TEST(schema_type_sql_and_arrow_spellings)
{
	static const struct {
		const char *name, *sql, *arrow;
	} want[] = {
		{ "bool", "BOOLEAN", "b" },
		{ "int64", "BIGINT", "l" },
		{ "float64", "DOUBLE", "g" },
		{ "date32", "DATE", "tdD" },
		{ "timestamp[us]", "TIMESTAMP", "tsu:" },
		{ "timestamp[us, tz=UTC]", "TIMESTAMPTZ", "tsu:UTC" },
		{ "utf8", "VARCHAR", "u" },
		{ "decimal(10,2)", "DECIMAL(10,2)", "d:10,2" },
		{ "decimal(38,38)", "DECIMAL(38,38)", "d:38,38" },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct schema_type t;
		char buf[SCHEMA_TYPE_NAME_MAX];
		CHECK_EQ_INT(schema_type_parse(want[i].name, strlen(want[i].name), &t), 0);
		CHECK_EQ_STR(schema_type_sql(&t, buf), want[i].sql);
		CHECK_EQ_STR(schema_type_arrow(&t, buf), want[i].arrow);
	}
}

TEST(schema_type_stored_is_the_inferred_types_and_decimal)
{
	for (int id = 0; id < SCHEMA_NINFERRED; id++) {
		struct schema_type t = schema_type_of((enum schema_type_id)id);
		CHECK(schema_type_stored(&t));
	}
	/* decimal(p,s) is stored since declared types (ADR 0171) */
	struct schema_type d;
	CHECK_EQ_INT(schema_type_parse("decimal(10,2)", 13, &d), 0);
	CHECK(schema_type_stored(&d));
}

static const char *fp(const char *const *cols, size_t n)
{
	static char out[SCHEMA_FP_LEN + 1];
	struct schema_fp f;
	schema_fp_init(&f);
	for (size_t i = 0; i < n; i++)
		schema_fp_add(&f, cols[2 * i], cols[2 * i + 1]);
	schema_fp_finish(&f, out);
	return out;
}

/* docs/schema.md, "The fingerprint": the four test vectors. */
TEST(schema_fingerprint_vectors)
{
	const char *v1[] = { "id", "int64", "name", "utf8" };
	CHECK_EQ_STR(fp(v1, 2),
		     "sha256:293f0ddbb873f5da65f02282c2398ce7597f2bd837fac219f1b1b350bb83dde5");
	const char *v2[] = { "a,b", "utf8" };
	CHECK_EQ_STR(fp(v2, 1),
		     "sha256:03e8328ff17b1fa9216bdc0e0b75cb5229dbb8134252a6a3bdbf729bb76555cb");
	const char *v3[] = { "a", "utf8", "b", "utf8" };
	CHECK_EQ_STR(fp(v3, 2),
		     "sha256:dcbdfb4b49c49e38fc76e4fb2014d87bda3b12bd1c4831ca2999ede39abc4224");
	const char *v4[] = { "candidate_id", "int64", "full_name", "utf8", "zip", "utf8",
			     "hourly_rate", "float64", "available", "bool", "start_date", "date32",
			     "last_contacted", "timestamp[us]" };
	CHECK_EQ_STR(fp(v4, 7),
		     "sha256:d9489da37034d4aaa62209bdc7d8606f39d20ef5b293aa7baf5d979cad4b2931");
	/* a parameterised type enters by its name, like any other */
	const char *d1[] = { "rate", "decimal(10,2)" }, *d2[] = { "rate", "decimal(10,3)" };
	char a[SCHEMA_FP_LEN + 1];
	snprintf(a, sizeof a, "%s", fp(d1, 1));
	CHECK(strcmp(a, fp(d2, 1)) != 0);
}

TEST(schema_value_types_edges)
{
	CHECK_EQ_INT(schema_value_types("TRUE", 4), SCHEMA_MASK(SCHEMA_BOOL));
	CHECK_EQ_INT(schema_value_types("007", 3), 0);
	CHECK_EQ_INT(schema_value_types("-0", 2),
		     SCHEMA_MASK(SCHEMA_INT64) | SCHEMA_MASK(SCHEMA_FLOAT64));
	CHECK_EQ_INT(schema_value_types("9223372036854775808", 19), 0);   /* past int64: text */
	CHECK_EQ_INT(schema_value_types("1e999", 5), 0);                  /* infinity: text */
	CHECK_EQ_INT(schema_value_types("1e-999", 6), SCHEMA_MASK(SCHEMA_FLOAT64));
	CHECK_EQ_INT(schema_value_types("2024-02-29", 10), SCHEMA_MASK(SCHEMA_DATE32));
	CHECK_EQ_INT(schema_value_types("2024-02-29T00:00:00Z", 20), SCHEMA_MASK(SCHEMA_TIMESTAMPTZ));
	CHECK_EQ_INT(schema_value_types("2024-02-29 00:00:00", 19), SCHEMA_MASK(SCHEMA_TIMESTAMP));
	CHECK_EQ_INT(schema_value_types(" 1", 2), 0);
	int64_t v = 0;
	CHECK_EQ_INT(schema_parse_int64("-9223372036854775808", 20, &v), 0);
	CHECK(v == INT64_MIN);
	double d = 0;
	CHECK_EQ_INT(schema_parse_float64("0.1", 3, &d), 0);
	CHECK(d == 0.1);
	CHECK_EQ_INT(schema_parse_float64("1.7976931348623157e308", 22, &d), 0);
	CHECK(d == 1.7976931348623157e308);
}

/* Found by fuzz_schema (corpus/schema/crash-float-exponent-minus-at-4): a
 * float whose exponent sign falls on the fifth byte ("454e-5730552") went
 * down the date path and was text, though the float grammar and
 * schema_parse_float64() take it (it underflows to 0.0). */
TEST(schema_value_types_exponent_sign_at_the_date_dash)
{
	CHECK_EQ_INT(schema_value_types("454e-5730552", 12), SCHEMA_MASK(SCHEMA_FLOAT64));
	CHECK_EQ_INT(schema_value_types("1234e-10", 8), SCHEMA_MASK(SCHEMA_FLOAT64));
	CHECK_EQ_INT(schema_value_types("1234-10-100", 11), 0);
	double d = 1;
	CHECK_EQ_INT(schema_parse_float64("454e-5730552", 12, &d), 0);
	CHECK(d == 0.0);
}
