/* fuzz_parquet_footer.c — libFuzzer target for the Parquet footer reader
 * and the Iceberg metrics made from it (src/iceberg/parquet_footer.c,
 * iceberg_bounds.c; ADR 0232). A footer comes from a Parquet object, and
 * Parquet uploads are kept as they were sent (ADR 0184): the bytes are the
 * user's.
 *
 * The input is FileMetaData bytes. Invariants:
 *   - parsing returns 0, or -1 with a 400 "bad_parquet";
 *   - every statistic points inside the input, and a column has at most one
 *     chunk per row group the footer lists;
 *   - for every column read as every Iceberg type: a bound is the width its
 *     type has (1 boolean, 4 date, 8 long/double/timestamp, 1-64 decimal), a
 *     string bound keeps at most 16 code points, and the truncated upper
 *     bound of a string is never below the untruncated value.
 */
#include "fuzz.h"

#include "common/error.h"
#include "iceberg/iceberg.h"

static const char *const types[][2] = {
	{ "boolean", "bool" },        { "long", "int64" },         { "double", "float64" },
	{ "date", "date32" },         { "timestamp", "timestamp[us]" },
	{ "timestamptz", "timestamp[us, tz=UTC]" },                { "string", "utf8" },
	{ "decimal(10,2)", "decimal(10,2)" },
};

static size_t code_points(const unsigned char *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (s[i] & 0xc0) != 0x80;
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pq_footer f;
	struct lh_error err = { 0 };
	if (parquet_footer_parse(data, size, 64, &f, &err) != 0) {
		FUZZ_CHECK(err.status == 400);
		FUZZ_CHECK(strcmp(err.code, "bad_parquet") == 0);
		return 0;
	}
	FUZZ_CHECK(f.ncolumns <= 64);
	for (size_t c = 0; c < f.ncolumns; c++) {
		const struct pq_column *col = &f.columns[c];
		FUZZ_CHECK(col->name != NULL);
		for (size_t i = 0; i < col->nchunks; i++) {
			const struct pq_chunk *k = &col->chunks[i];
			if (k->has_min)
				FUZZ_CHECK(k->min >= data && k->min + k->nmin <= data + size);
			if (k->has_max)
				FUZZ_CHECK(k->max >= data && k->max + k->nmax <= data + size);
		}
		for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
			struct iceberg_field fl = { .id = 1, .name = col->name };
			snprintf(fl.type, sizeof fl.type, "%s", types[t][0]);
			snprintf(fl.lh_type, sizeof fl.lh_type, "%s", types[t][1]);
			struct iceberg_metric m;
			iceberg_metric_of(col, &fl, types[t][1], &m);
			for (int side = 0; side < 2; side++) {
				const unsigned char *b = side ? m.upper : m.lower;
				size_t n = side ? m.nupper : m.nlower;
				if (!b)
					continue;
				if (t == 0)
					FUZZ_CHECK(n == 1);
				else if (t == 3)
					FUZZ_CHECK(n == 4);
				else if (t == 6)
					FUZZ_CHECK(code_points(b, n) <= ICEBERG_STRING_BOUND_CHARS);
				else if (t == 7)
					FUZZ_CHECK(n >= 1 && n <= 64);
				else
					FUZZ_CHECK(n == 8);
			}
			iceberg_metric_free(&m);
		}
		/* truncation of every string statistic */
		for (size_t i = 0; i < col->nchunks; i++) {
			const struct pq_chunk *k = &col->chunks[i];
			if (!k->has_max)
				continue;
			unsigned char *out = malloc(k->nmax + 4);
			size_t n = iceberg_truncate_upper(k->max, k->nmax, ICEBERG_STRING_BOUND_CHARS, out);
			if (n != (size_t)-1)
				FUZZ_CHECK(iceberg_bound_cmp("string", out, n, k->max, k->nmax) >= 0);
			n = iceberg_truncate_lower(k->max, k->nmax, ICEBERG_STRING_BOUND_CHARS, out);
			FUZZ_CHECK(n <= k->nmax && memcmp(out, k->max, n) == 0);
			free(out);
		}
	}
	parquet_footer_free(&f);
	return 0;
}
