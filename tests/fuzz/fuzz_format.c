/* fuzz_format.c — libFuzzer target for choosing an upload's format
 * (src/ingestd/format.c, ADR 0180) and for the scanner's other delimiters
 * (src/ingestd/csv.c).
 *
 * The first input byte picks a media type and a file name, the second a
 * ?delimiter=; the rest is the head of an upload. Invariants:
 *   - ingest_format_pick answers a format, or a 415 unsupported_format with
 *     a "detected" word and a message; the same answer twice;
 *   - csv_detect_delimiter gives one of , ; tab |, the same twice, and a
 *     delimiter other than ',' splits every complete sampled record evenly;
 *   - scanning with ';', tab or '|' is scanning with ',' after swapping the
 *     two bytes: the same verdict, error text and records (field bytes
 *     swapped back), so a delimiter is only ever a value in the scanner.
 */
#include "fuzz.h"

#include "common/error.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"

#include <string.h>

static const char *const types[] = {
	NULL, "text/csv", "text/tab-separated-values", "application/octet-stream",
	"application/vnd.ms-excel", "application/json", "image/png", "application/zip",
};
static const char *const names[] = {
	NULL, "a.csv", "a.tsv", "a.xlsx", "a.xls", "a.json", "a.pdf", "a.gz",
};
static const char delimiters[] = { 0, ',', ';', '\t', '|', 0, 0, 0 };

static void check_pick(const struct ingest_sniff *in, char *out, size_t cap)
{
	const struct ingest_format *f = NULL;
	struct lh_error err = { 0 };
	if (ingest_format_pick(in, &f, &err) == 0) {
		FUZZ_CHECK(f != NULL && f->name && err.status == 0);
		snprintf(out, cap, "%s", f->name);
		return;
	}
	FUZZ_CHECK(f == NULL && err.status == 415 && !strcmp(err.code, "unsupported_format"));
	FUZZ_CHECK(err.msg[0] != '\0');
	const char *d = json_string_value(json_object_get(err.extra, "detected"));
	FUZZ_CHECK(d != NULL && d[0] != '\0');
	snprintf(out, cap, "415 %s", d);
	lh_error_clear(&err);
}

/* All records of buf[0..n) (a copy is scanned) with delimiter d, fields
 * swapped back by `swap` (',' <-> swap) when swap is not 0, serialised into
 * out; returns the verdict. */
static int scan_all(const uint8_t *buf, size_t n, char d, char swap, char **out, size_t *outlen,
		    char *errtext, size_t errcap)
{
	char *copy = malloc(n ? n : 1), *o = malloc(2 * n + 64);
	size_t pos = 0, len = 0;
	struct csv_scanner sc;
	struct lh_error err = { 0 };
	int r;
	FUZZ_CHECK(copy && o);
	memcpy(copy, buf, n);
	csv_scanner_init(&sc);
	sc.delim = d;
	errtext[0] = '\0';
	for (;;) {
		size_t used = 0;
		r = csv_scan_record(&sc, copy + pos, n - pos, 1, &used, &err);
		if (r != CSV_RECORD)
			break;
		FUZZ_CHECK(used > 0 && used <= n - pos);
		for (size_t i = 0; i < sc.nfields; i++) {
			const struct csv_field *f = &sc.fields[i];
			FUZZ_CHECK(len + f->len + 2 <= 2 * n + 64);
			for (uint32_t k = 0; k < f->len; k++) {
				char c = f->ptr[k];
				if (swap && c == ',')
					c = swap;
				else if (swap && c == swap)
					c = ',';
				o[len++] = c;
			}
			o[len++] = (char)(f->quoted ? 1 : 2);
		}
		o[len++] = '\n';
		pos += used;
	}
	FUZZ_CHECK(r == CSV_END || r == CSV_ERROR);
	if (r == CSV_ERROR) {
		snprintf(errtext, errcap, "%s", err.msg);
		lh_error_clear(&err);
	}
	csv_scanner_free(&sc);
	free(copy);
	*out = o;
	*outlen = len;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > 4096)
		return 0;
	struct ingest_sniff in = {
		.media_type = types[data[0] & 7], .file_name = names[(data[0] >> 3) & 7],
		.delimiter = delimiters[data[1] & 7], .head = data + 2, .nhead = size - 2,
		.complete = (data[0] >> 6) & 1,
	};
	const char *head = (const char *)data + 2;
	size_t n = size - 2;
	char a[64], b[64];
	check_pick(&in, a, sizeof a);
	check_pick(&in, b, sizeof b);
	FUZZ_CHECK(!strcmp(a, b));

	char d = csv_detect_delimiter(head, n, in.complete);
	FUZZ_CHECK(csv_delimiter_ok(d));
	FUZZ_CHECK(d == csv_detect_delimiter(head, n, in.complete));
	FUZZ_CHECK(csv_format_for(d) != NULL && csv_format_delimiter(csv_format_for(d)) == d);
	if (d != ',') {   /* it splits every sampled record into the same count > 1 */
		char *copy = malloc(n);
		struct csv_scanner sc;
		struct lh_error err = { 0 };
		size_t pos = 0;
		FUZZ_CHECK(copy != NULL);
		memcpy(copy, head, n);
		csv_scanner_init(&sc);
		sc.delim = d;
		while (sc.nrecords < CSV_DETECT_RECORDS) {
			size_t used = 0;
			int r = csv_scan_record(&sc, copy + pos, n - pos, in.complete, &used, &err);
			FUZZ_CHECK(r != CSV_ERROR);
			if (r != CSV_RECORD)
				break;
			FUZZ_CHECK(sc.nfields > 1);
			pos += used;
		}
		FUZZ_CHECK(sc.nrecords > 0);
		csv_scanner_free(&sc);
		free(copy);
	}

	/* the swap invariant, for each delimiter other than ',' */
	static const char others[] = { ';', '\t', '|' };
	uint8_t *swapped = malloc(n ? n : 1);
	FUZZ_CHECK(swapped != NULL);
	for (size_t i = 0; i < sizeof others; i++) {
		char o = others[i];
		for (size_t k = 0; k < n; k++)
			swapped[k] = head[k] == ',' ? (uint8_t)o : head[k] == o ? (uint8_t)',' :
							     (uint8_t)head[k];
		char *r1, *r2, e1[512], e2[512];
		size_t l1, l2;
		int v1 = scan_all((const uint8_t *)head, n, o, 0, &r1, &l1, e1, sizeof e1);
		int v2 = scan_all(swapped, n, ',', o, &r2, &l2, e2, sizeof e2);
		FUZZ_CHECK(v1 == v2);
		FUZZ_CHECK(!strcmp(e1, e2));
		FUZZ_CHECK(l1 == l2 && !memcmp(r1, r2, l1));
		free(r1);
		free(r2);
	}
	free(swapped);
	return 0;
}
