/* test_infer.c — type inference (src/ingestd/infer.c) rule by rule, the
 * errors of a whole-file pass with their lines, and the fingerprint test
 * vectors of docs/schema.md. */
#include "test.h"

#include "common/calendar.h"
#include "common/error.h"
#include "common/schema.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/infer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* Infer `n` bytes of CSV through a temp file (removed before returning). */
static struct ingest_schema *infer_bytes(const char *text, size_t n, struct lh_error *err)
{
	char path[] = "/tmp/lh-test-infer-XXXXXX";
	int fd = mkstemp(path);
	struct ingest_schema *s = NULL;
	if (fd < 0)
		return NULL;
	unlink(path);
	if (write(fd, text, n) == (ssize_t)n)
		ingest_infer_fd(&ingest_format_csv, fd, &s, err);
	close(fd);
	return s;
}

/* A type's name (schema.h), in a static buffer. */
static const char *tname(struct schema_type t)
{
	static char buf[SCHEMA_TYPE_NAME_MAX];
	return schema_type_name(&t, buf);
}

static struct ingest_schema *infer_text(const char *text, struct lh_error *err)
{
	return infer_bytes(text, strlen(text), err);
}

/* The inferred type name of the single column of "h\n" + values. */
static const char *type_of(const char *csv)
{
	static char name[64];
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text(csv, &err);
	snprintf(name, sizeof name, "%s", s ? tname(s->columns[0].type) : err.code);
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	return name;
}

TEST(infer_bool_any_case)
{
	CHECK_EQ_STR(type_of("h\ntrue\nFALSE\nTrue\nfAlSe\n"), "bool");
}

TEST(infer_bool_not_01_yes_no)
{
	CHECK_EQ_STR(type_of("h\ntrue\nyes\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n0\n1\n"), "int64");
	CHECK_EQ_STR(type_of("h\ntrue\n1\n"), "utf8");
	CHECK_EQ_STR(type_of("h\nt\nf\n"), "utf8");
}

/* A float whose exponent sign is the fifth byte is a float, not a broken
 * date (found by fuzz_schema). */
TEST(infer_float_exponent_sign_at_fifth_byte)
{
	CHECK_EQ_STR(type_of("h\n454e-5730552\n1.5\n"), "float64");
}

TEST(infer_int64)
{
	CHECK_EQ_STR(type_of("h\n0\n-1\n+42\n123456789\n"), "int64");
	CHECK_EQ_STR(type_of("h\n9223372036854775807\n-9223372036854775808\n"), "int64");
	int64_t v;
	CHECK_EQ_INT(schema_parse_int64("-9223372036854775808", 20, &v), 0);
	CHECK(v == INT64_MIN);
	CHECK_EQ_INT(schema_parse_int64("+7", 2, &v), 0);
	CHECK_EQ_INT(v, 7);
	CHECK_EQ_INT(schema_parse_int64("-0", 2, &v), 0);
	CHECK_EQ_INT(schema_parse_int64("+", 1, &v), -1);
	CHECK_EQ_INT(schema_parse_int64("1_000", 5, &v), -1);
}

TEST(infer_int64_leading_zero_is_text)
{
	CHECK_EQ_STR(type_of("zip\n02134\n10001\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n007\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n-01\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n00\n"), "utf8");
}

TEST(infer_int64_out_of_range_is_text_not_float)
{
	CHECK_EQ_STR(type_of("h\n9223372036854775808\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n-9223372036854775809\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1.5\n99999999999999999999\n"), "utf8");
}

TEST(infer_float64_forms)
{
	CHECK_EQ_STR(type_of("h\n1.5\n-0.25\n+3.0e10\n2E-3\n1e5\n0.0\n"), "float64");
	double d;
	CHECK_EQ_INT(schema_parse_float64("2E-3", 4, &d), 0);
	CHECK(d == 2e-3);
	CHECK_EQ_INT(schema_parse_float64("-12", 3, &d), 0);
	CHECK(d == -12.0);
	CHECK_EQ_STR(type_of("h\n1.\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n.5\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n01.5\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1e\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1.5e+\n"), "utf8");
}

/* The parser's value must be strtod's, bit for bit, on both its fast path
 * (<= 15 significant digits, |exponent| <= 22) and the strtod fallback. */
static int same_as_strtod(const char *s)
{
	double ours, ref = strtod(s, NULL);
	if (schema_parse_float64(s, strlen(s), &ours) != 0)
		return 0;
	return memcmp(&ours, &ref, sizeof ours) == 0;
}

TEST(infer_float64_values_match_strtod_exactly)
{
	static const char *cases[] = {
		"0.1", "45.50", "-0.0", "0.0", "1e22", "1e23", "9.999999999999999e22",
		"123456789012345.6", "12345678901234.56", "0.000000000000000000001",
		"4.9e-324", "1.7976931348623157e308", "2.2250738585072014e-308",
		"+3.0e10", "99.99", "1000000.01", "0.30000000000000004", "1.5E+07",
		"-123.456e-7", "100e-22", "100e-23",
	};
	int mismatches = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!same_as_strtod(cases[i])) {
			fprintf(stderr, "  not strtod's value: %s\n", cases[i]);
			mismatches++;
		}
	}
	/* Deterministic random decimals: 1-18 digits, a point anywhere, an
	 * optional exponent in [-30, 30], an optional sign. */
	uint64_t x = 42;
	char buf[64];
	for (int n = 0; n < 200000; n++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t r = x >> 11;
		int ndig = 1 + (int)(r % 18), point = (int)((r >> 5) % (uint64_t)(ndig + 1));
		size_t k = 0;
		if ((r >> 10) & 1)
			buf[k++] = '-';
		for (int d = 0; d < ndig; d++) {
			if (d == point && d > 0)
				buf[k++] = '.';
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			int digit = (int)((x >> 33) % 10);
			if (d == 0 && point != 1 && ndig > 1 && digit == 0)
				digit = 1;           /* no leading zero before more digits */
			buf[k++] = (char)('0' + digit);
		}
		if (point == ndig || point == 0)
			k += (size_t)snprintf(buf + k, sizeof buf - k, ".5");
		if ((r >> 12) & 1)
			k += (size_t)snprintf(buf + k, sizeof buf - k, "e%d",
					      (int)((r >> 13) % 61) - 30);
		buf[k] = 0;
		if (!same_as_strtod(buf) && mismatches++ < 5)
			fprintf(stderr, "  not strtod's value: %s\n", buf);
	}
	CHECK_EQ_INT(mismatches, 0);
}

TEST(infer_float64_mixing_ints)
{
	CHECK_EQ_STR(type_of("h\n1\n2.5\n3\n"), "float64");
	CHECK_EQ_STR(type_of("h\n2.5\n3\n"), "float64");
}

TEST(infer_float64_no_nan_inf_separators)
{
	CHECK_EQ_STR(type_of("h\n1.5\nNaN\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1.5\ninf\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1.5\n-Infinity\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n\"1,000.5\"\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1.5\n1e999\n"), "utf8");   /* overflows a double */
	CHECK_EQ_STR(type_of("h\n1.5\n1e-999\n"), "float64"); /* underflows to 0 */
}

TEST(infer_date32_real_calendar)
{
	CHECK_EQ_STR(type_of("d\n2024-02-29\n2000-02-29\n1999-12-31\n"), "date32");
	CHECK_EQ_STR(type_of("d\n2023-02-29\n"), "utf8");
	CHECK_EQ_STR(type_of("d\n1900-02-29\n"), "utf8");
	CHECK_EQ_STR(type_of("d\n2024-04-31\n"), "utf8");
	CHECK_EQ_STR(type_of("d\n2024-13-01\n"), "utf8");
	CHECK_EQ_STR(type_of("d\n2024-1-01\n"), "utf8");
	CHECK_EQ_STR(type_of("d\n2024/01/01\n"), "utf8");
	int32_t days;
	CHECK_EQ_INT(calendar_parse_date("1970-01-01", 10, &days), 0);
	CHECK_EQ_INT(days, 0);
	CHECK_EQ_INT(calendar_parse_date("2000-03-01", 10, &days), 0);
	CHECK_EQ_INT(days, 11017);
	CHECK_EQ_INT(calendar_parse_date("1969-12-31", 10, &days), 0);
	CHECK_EQ_INT(days, -1);
}

TEST(infer_timestamp_forms)
{
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04:05\n2024-01-02T03:04:05.1\n"
			     "2024-01-02 23:59:59.123456\n"), "timestamp[us]");
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04:05.1234567\n"), "utf8");
	CHECK_EQ_STR(type_of("t\n2024-01-02 24:00:00\n"), "utf8");
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04\n"), "utf8");
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04:05.\n"), "utf8");
	CHECK_EQ_STR(type_of("t\n2024-02-30 03:04:05\n"), "utf8");
	int64_t us;
	int z;
	CHECK_EQ_INT(calendar_parse_timestamp("1970-01-01 00:00:01.5", 21, &us, &z), 0);
	CHECK_EQ_INT(us, 1500000);
	CHECK_EQ_INT(z, 0);
}

TEST(infer_timestamp_date_mix_is_text)
{
	CHECK_EQ_STR(type_of("t\n2024-01-02\n2024-01-02 03:04:05\n"), "utf8");
}

TEST(infer_timestamptz_every_value_zoned)
{
	CHECK_EQ_STR(type_of("t\n2024-01-02T03:04:05Z\n2024-01-02 03:04:05+02:00\n"
			     "2024-01-02 03:04:05.5-05:30\n"), "timestamp[us, tz=UTC]");
}

TEST(infer_timestamptz_normalised_to_utc)
{
	int64_t a, b;
	int z;
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02 03:04:05+02:00", 25, &a, &z), 0);
	CHECK_EQ_INT(z, 1);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-02T01:04:05Z", 20, &b, &z), 0);
	CHECK_EQ_INT(a, b);
	CHECK_EQ_INT(calendar_parse_timestamp("2024-01-01 20:34:05-05:30", 25, &a, &z), 0);
	CHECK_EQ_INT(a, b + 3600000000LL);
}

TEST(infer_timestamp_mixed_zone_is_text)
{
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04:05Z\n2024-01-02 03:04:05\n"), "utf8");
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04:05+0200\n"), "utf8");
	CHECK_EQ_STR(type_of("t\n2024-01-02 03:04:05 UTC\n"), "utf8");
}

TEST(infer_empty_field_is_null)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text("a,b\n1,\n,\"\"\n3,\n", &err);
	CHECK(s);
	CHECK_EQ_STR(tname(s->columns[0].type), "int64");
	CHECK_EQ_INT(s->columns[0].nullable, 1);
	CHECK_EQ_STR(tname(s->columns[1].type), "utf8");   /* no non-null value */
	CHECK_EQ_INT(s->columns[1].nullable, 1);
	CHECK_EQ_INT(s->row_count, 3);
	ingest_schema_destroy(s);
}

TEST(infer_not_nullable_without_nulls)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text("a\n1\n2\n", &err);
	CHECK(s);
	CHECK_EQ_INT(s->columns[0].nullable, 0);
	ingest_schema_destroy(s);
}

TEST(infer_surrounding_spaces_are_text)
{
	CHECK_EQ_STR(type_of("h\n 1\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n1 \n"), "utf8");
	CHECK_EQ_STR(type_of("h\n\" true\"\n"), "utf8");
	CHECK_EQ_STR(type_of("h\n2024-01-01 \n"), "utf8");
}

TEST(infer_quoted_value_is_typed)
{
	CHECK_EQ_STR(type_of("h\n\"1\"\n2\n"), "int64");
}

TEST(infer_last_record_breaks_type)
{
	struct lh_error err = { 0 };
	/* 200k int rows, then one text value in the very last record */
	size_t cap = 4u << 20, n = 0;
	char *buf = malloc(cap);
	n += (size_t)snprintf(buf, cap, "id,v\n");
	for (int i = 1; i <= 200000; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%d,%d\n", i, i * 7);
	n += (size_t)snprintf(buf + n, cap - n, "200001,oops");
	struct ingest_schema *s = infer_bytes(buf, n, &err);
	free(buf);
	CHECK(s);
	CHECK_EQ_STR(tname(s->columns[0].type), "int64");
	CHECK_EQ_STR(tname(s->columns[1].type), "utf8");
	CHECK_EQ_INT(s->row_count, 200001);
	size_t nchunks = 0;
	CHECK(csv_chunks(s, &nchunks) && nchunks >= 1);
	ingest_schema_destroy(s);
}

TEST(infer_header_only)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text("a,b\n", &err);
	CHECK(s);
	CHECK_EQ_INT(s->row_count, 0);
	CHECK_EQ_INT(s->ncols, 2);
	CHECK_EQ_STR(tname(s->columns[0].type), "utf8");
	ingest_schema_destroy(s);
}

TEST(infer_empty_file)
{
	struct lh_error err = { 0 };
	CHECK(!infer_text("", &err));
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "empty_file");
	lh_error_clear(&err);
	CHECK(!infer_text("\xEF\xBB\xBF", &err));
	CHECK_EQ_STR(err.code, "empty_file");
	lh_error_clear(&err);
}

static long long line_of(const char *csv, const char *code)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text(csv, &err);
	long long line = -2;
	if (!s && strcmp(err.code, code) == 0 && err.status == 400 && err.extra)
		line = json_integer_value(json_object_get(err.extra, "line"));
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	return line;
}

TEST(infer_errors_have_lines)
{
	CHECK_EQ_INT(line_of("a,b\n1,2\n3\n", "bad_csv"), 3);
	CHECK_EQ_INT(line_of("a,b\n\"1\n2\",2\n3,4,5\n", "bad_csv"), 4);
	CHECK_EQ_INT(line_of("a,b\n1,2\n\"3,4\n", "bad_csv"), 3);
	CHECK_EQ_INT(line_of("a,b\n1,2\n3,\xfe\n", "bad_csv"), 3);
	CHECK_EQ_INT(line_of("a,b\n\"x\"y,2\n", "bad_csv"), 2);
}

TEST(infer_bad_header)
{
	struct lh_error err = { 0 };
	CHECK(!infer_text("id,ID\n1,2\n", &err));
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "column")), "ID");
	lh_error_clear(&err);
	CHECK(!infer_text("id,\n1,2\n", &err));
	CHECK_EQ_STR(err.code, "bad_header");
	lh_error_clear(&err);
}

TEST(infer_bom_crlf_quoted)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text("\xEF\xBB\xBFid,note\r\n1,\"a\r\nb\"\r\n2,\"say \"\"hi\"\"\"\r\n", &err);
	CHECK(s);
	CHECK_EQ_STR(s->columns[0].name, "id");
	CHECK_EQ_STR(tname(s->columns[0].type), "int64");
	CHECK_EQ_INT(s->row_count, 2);
	ingest_schema_destroy(s);
}

TEST(infer_long_record_grows_buffer)
{
	struct lh_error err = { 0 };
	size_t big = 5u << 20;
	char *buf = malloc(big + 64);
	size_t n = (size_t)snprintf(buf, 64, "a,b\n1,\"");
	memset(buf + n, 'x', big);
	n += big;
	n += (size_t)snprintf(buf + n, 64, "\"\n2,y\n");
	struct ingest_schema *s = infer_bytes(buf, n, &err);
	free(buf);
	CHECK(s);
	CHECK_EQ_INT(s->row_count, 2);
	ingest_schema_destroy(s);
}

TEST(infer_chunk_index)
{
	struct lh_error err = { 0 };
	size_t cap = 40u << 20, n = 0;
	char *buf = malloc(cap);
	n += (size_t)snprintf(buf, cap, "id,t\n");
	uint64_t rows = 0;
	while (n < cap - 100)
		n += (size_t)snprintf(buf + n, cap - n, "%llu,\"x\ny\"\n",
				      (unsigned long long)++rows);
	struct ingest_schema *s = infer_bytes(buf, n, &err);
	CHECK(s);
	CHECK_EQ_INT(s->row_count, rows);
	size_t nchunks = 0;
	const struct csv_chunk *chunks = csv_chunks(s, &nchunks);
	CHECK(nchunks >= 4);
	CHECK_EQ_INT(s->data_end, n);
	for (size_t i = 0; i < nchunks; i++) {
		const struct csv_chunk *c = &chunks[i];
		/* the record at the offset is row first_row+1 (ids are 1-based) */
		char want[32];
		int k = snprintf(want, sizeof want, "%llu,", (unsigned long long)c->first_row + 1);
		CHECK(memcmp(buf + c->offset, want, (size_t)k) == 0);
		CHECK_EQ_INT(c->line, 2 + 2 * c->first_row);
		if (i)
			CHECK(c->offset - chunks[i - 1].offset >= CSV_CHUNK_BYTES);
	}
	free(buf);
	ingest_schema_destroy(s);
}

static const char *fp(const struct ingest_column *c, size_t n)
{
	static char out[SCHEMA_FP_LEN + 1];
	ingest_fingerprint(c, n, out);
	return out;
}

TEST(infer_fingerprint_vector_1)
{
	struct ingest_column c[] = { { .name = "id", .type = { SCHEMA_INT64, 0, 0 }, .nullable = 0 }, { .name = "name", .type = { SCHEMA_UTF8, 0, 0 }, .nullable = 1 } };
	CHECK_EQ_STR(fp(c, 2),
		     "sha256:293f0ddbb873f5da65f02282c2398ce7597f2bd837fac219f1b1b350bb83dde5");
}

TEST(infer_fingerprint_vector_2)
{
	struct ingest_column c[] = { { .name = "a,b", .type = { SCHEMA_UTF8, 0, 0 }, .nullable = 0 } };
	CHECK_EQ_STR(fp(c, 1),
		     "sha256:03e8328ff17b1fa9216bdc0e0b75cb5229dbb8134252a6a3bdbf729bb76555cb");
}

TEST(infer_fingerprint_vector_3)
{
	struct ingest_column c[] = { { .name = "a", .type = { SCHEMA_UTF8, 0, 0 }, .nullable = 0 }, { .name = "b", .type = { SCHEMA_UTF8, 0, 0 }, .nullable = 0 } };
	CHECK_EQ_STR(fp(c, 2),
		     "sha256:dcbdfb4b49c49e38fc76e4fb2014d87bda3b12bd1c4831ca2999ede39abc4224");
}

TEST(infer_fingerprint_vector_4)
{
	struct ingest_column c[] = {
		{ .name = "candidate_id", .type = { SCHEMA_INT64, 0, 0 }, .nullable = 0 }, { .name = "full_name", .type = { SCHEMA_UTF8, 0, 0 }, .nullable = 0 },
		{ .name = "zip", .type = { SCHEMA_UTF8, 0, 0 }, .nullable = 0 }, { .name = "hourly_rate", .type = { SCHEMA_FLOAT64, 0, 0 }, .nullable = 0 },
		{ .name = "available", .type = { SCHEMA_BOOL, 0, 0 }, .nullable = 0 }, { .name = "start_date", .type = { SCHEMA_DATE32, 0, 0 }, .nullable = 0 },
		{ .name = "last_contacted", .type = { SCHEMA_TIMESTAMP, 0, 0 }, .nullable = 0 },
	};
	CHECK_EQ_STR(fp(c, 7),
		     "sha256:d9489da37034d4aaa62209bdc7d8606f39d20ef5b293aa7baf5d979cad4b2931");
}

TEST(infer_fingerprint_from_file_ignores_nullability)
{
	struct lh_error err = { 0 };
	struct ingest_schema *a = infer_text("id,name\n1,x\n", &err);
	struct ingest_schema *b = infer_text("id,name\n1,\n,y\n", &err);
	CHECK(a && b);
	CHECK_EQ_STR(a->fingerprint,
		     "sha256:293f0ddbb873f5da65f02282c2398ce7597f2bd837fac219f1b1b350bb83dde5");
	CHECK_EQ_STR(a->fingerprint, b->fingerprint);
	ingest_schema_destroy(a);
	ingest_schema_destroy(b);
}

TEST(infer_type_names)
{
	CHECK_EQ_STR(tname(schema_type_of(SCHEMA_TIMESTAMPTZ)), "timestamp[us, tz=UTC]");
	CHECK_EQ_STR(tname(schema_type_of(SCHEMA_TIMESTAMP)), "timestamp[us]");
	CHECK_EQ_STR(tname(schema_type_of(SCHEMA_DATE32)), "date32");
}

/* ---- incremental inference (the CSV format's begin/feed/finish) -------- */

/* Feed text[0..n) in pieces of `piece` bytes (cycling through a few sizes
 * when piece is 0); returns the schema or NULL with err. */
static struct ingest_schema *infer_pieces(const char *text, size_t n, size_t piece,
					  struct lh_error *err)
{
	static const size_t cycle[] = { 1, 7, 4093, 65536, 3, 1u << 20 };
	const struct ingest_format *f = &ingest_format_csv;
	struct ingest_reader *st = f->begin();
	struct ingest_schema *s = NULL;
	size_t off = 0, k = 0;
	while (off < n) {
		size_t take = piece ? piece : cycle[k++ % (sizeof cycle / sizeof cycle[0])];
		if (take > n - off)
			take = n - off;
		if (f->feed(st, text + off, take, err)) {
			f->abort(st);
			return NULL;
		}
		off += take;
	}
	if (f->finish(st, &s, err))
		return NULL;
	return s;
}

static int same_schema(const struct ingest_schema *a, const struct ingest_schema *b)
{
	size_t na = 0, nb = 0;
	const struct csv_chunk *ca = csv_chunks(a, &na), *cb = csv_chunks(b, &nb);
	if (a->ncols != b->ncols || a->row_count != b->row_count || na != nb ||
	    a->data_end != b->data_end || strcmp(a->fingerprint, b->fingerprint) != 0)
		return 0;
	for (size_t i = 0; i < a->ncols; i++)
		if (strcmp(a->columns[i].name, b->columns[i].name) != 0 ||
		    a->columns[i].type.id != b->columns[i].type.id ||
		    a->columns[i].nullable != b->columns[i].nullable)
			return 0;
	for (size_t i = 0; i < na; i++)
		if (ca[i].offset != cb[i].offset || ca[i].first_row != cb[i].first_row ||
		    ca[i].line != cb[i].line)
			return 0;
	return 1;
}

TEST(infer_feed_any_split_gives_the_same_schema)
{
	struct lh_error err = { 0 };
	size_t cap = 20u << 20, n = 0;
	char *buf = malloc(cap);
	n += (size_t)snprintf(buf, cap, "\xEF\xBB\xBFid,when,note,flag\r\n");
	uint64_t rows = 0;
	while (n < cap - 200) {
		rows++;
		n += (size_t)snprintf(buf + n, cap - n, "%llu,2024-01-0%llu 03:04:05,\"a\r\n\"\"b\"\"\",%s\r\n",
				      (unsigned long long)rows, (unsigned long long)(rows % 9 + 1),
				      rows % 5 ? "true" : "");
	}
	struct ingest_schema *whole = infer_bytes(buf, n, &err);
	CHECK(whole);
	size_t nwhole = 0;
	CHECK(csv_chunks(whole, &nwhole) && nwhole >= 2);
	CHECK_EQ_STR(tname(whole->columns[1].type), "timestamp[us]");
	size_t pieces[] = { 0, 4093, 1u << 20, (1u << 20) + 1 };
	for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
		struct ingest_schema *s = infer_pieces(buf, n, pieces[i], &err);
		CHECK(s && same_schema(whole, s));
		ingest_schema_destroy(s);
	}
	/* byte by byte on a small prefix cut at a record end */
	const char *small = "\xEF\xBB\xBFid,note\r\n1,\"a\r\nb\"\r\n2,\"say \"\"hi\"\"\"\r\n3,";
	struct ingest_schema *a = infer_bytes(small, strlen(small), &err);
	struct ingest_schema *b = infer_pieces(small, strlen(small), 1, &err);
	CHECK(a && b && same_schema(a, b));
	CHECK_EQ_INT(b->row_count, 3);
	ingest_schema_destroy(a);
	ingest_schema_destroy(b);
	ingest_schema_destroy(whole);
	free(buf);
}

/* The line of the error when fed one byte at a time. */
static long long line_of_pieces(const char *csv, const char *code)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_pieces(csv, strlen(csv), 1, &err);
	long long line = -2;
	if (!s && strcmp(err.code, code) == 0 && err.status == 400 && err.extra)
		line = json_integer_value(json_object_get(err.extra, "line"));
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	return line;
}

TEST(infer_feed_errors_have_lines)
{
	CHECK_EQ_INT(line_of_pieces("a,b\n1,2\n3\n", "bad_csv"), 3);
	CHECK_EQ_INT(line_of_pieces("a,b\n\"1\n2\",2\n3,4,5\n", "bad_csv"), 4);
	CHECK_EQ_INT(line_of_pieces("a,b\n1,2\n\"3,4\n", "bad_csv"), 3);
	CHECK_EQ_INT(line_of_pieces("a,b\n1,2\n3,\xfe\n", "bad_csv"), 3);
	CHECK_EQ_INT(line_of_pieces("a,b\n\"x\"y,2\n", "bad_csv"), 2);
	struct lh_error err = { 0 };
	CHECK(!infer_pieces("id,ID\n1,2\n", 10, 1, &err));
	CHECK_EQ_STR(err.code, "bad_header");
	lh_error_clear(&err);
	CHECK(!infer_pieces("", 0, 1, &err));
	CHECK_EQ_STR(err.code, "empty_file");
	lh_error_clear(&err);
}

TEST(infer_feed_after_a_failure_is_refused)
{
	struct lh_error err = { 0 };
	const struct ingest_format *f = &ingest_format_csv;
	struct ingest_reader *st = f->begin();
	CHECK_EQ_INT(f->feed(st, "a,b\n1\n", 6, &err), -1);
	CHECK_EQ_STR(err.code, "bad_csv");
	lh_error_clear(&err);
	CHECK_EQ_INT(f->feed(st, "2,3\n", 4, &err), -1);
	lh_error_clear(&err);
	f->abort(st);
	f->abort(NULL);
}

/* A 5 MiB record fed in 1 KiB pieces: rescans stay O(record) in total
 * (design note 6); quadratic rescanning would take minutes here. */
TEST(infer_feed_long_record_in_small_pieces)
{
	struct lh_error err = { 0 };
	size_t big = 5u << 20;
	char *buf = malloc(big + 64);
	size_t n = (size_t)snprintf(buf, 64, "a,b\n1,\"");
	memset(buf + n, 'x', big);
	n += big;
	n += (size_t)snprintf(buf + n, 64, "\"\n2,y\n");
	struct ingest_schema *s = infer_pieces(buf, n, 1024, &err);
	free(buf);
	CHECK(s);
	CHECK_EQ_INT(s->row_count, 2);
	CHECK_EQ_INT(s->data_end, n);
	ingest_schema_destroy(s);
}

/* Found by fuzz_csv (tests/fuzz/corpus/csv/crash-header-nul): a BOM, then a
 * header whose first name starts with a NUL byte, was inferred with an empty
 * column name. */
TEST(infer_header_nul_byte_is_bad_header)
{
	static const char text[] = "\xef\xbb\xbf\0a,b\r\n1,2\r\n";
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_bytes(text, sizeof text - 1, &err);
	ingest_schema_destroy(s);
	CHECK(s == NULL);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK_EQ_INT(json_integer_value(json_object_get(err.extra, "index")), 1);
	lh_error_clear(&err);
}

TEST(infer_columns_grow_keeps_state)
{
	/* JSON keys appear as the file is read: the sets widen, the columns
	 * seen so far keep their types, nulls and declared-type lines */
	struct infer_columns t;
	struct ingest_column cols[40];
	memset(cols, 0, sizeof cols);
	infer_columns_init(&t, 2);
	t.line = 1;
	infer_columns_value(&t, 0, "12", 2);
	infer_columns_value(&t, 1, "", 0);
	infer_columns_grow(&t, 40);
	CHECK_EQ_INT(t.ncols, 40);
	t.line = 2;
	infer_columns_value(&t, 0, "x", 1);
	infer_columns_value(&t, 39, "2024-01-05", 10);
	infer_columns_grow(&t, 3);           /* narrower: nothing changes */
	CHECK_EQ_INT(t.ncols, 40);
	infer_columns_result(&t, cols);
	CHECK_EQ_STR(tname(cols[0].type), "utf8");
	CHECK_EQ_INT(cols[0].fit->first_not[SCHEMA_INT64], 2);
	CHECK(cols[1].nullable && cols[1].all_null);
	CHECK(!cols[2].nullable && cols[2].all_null);
	CHECK_EQ_STR(tname(cols[39].type), "date32");
	CHECK_EQ_INT(cols[39].fit->first_not[SCHEMA_DATE32], INGEST_FIT_NONE);
	for (size_t i = 0; i < 40; i++)
		free(cols[i].fit);
	infer_columns_free(&t);
}
