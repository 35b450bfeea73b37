/* fuzz_csv.c — libFuzzer target for the CSV scanner and schema inference
 * (src/ingestd/csv.h, the CSV input format of src/ingestd/format.h).
 *
 * The input is a CSV file. It is scanned three ways: in one buffer, split
 * in two at a point derived from the bytes, and streamed in small chunks the
 * way ingest_infer_fd() reads (NEED_MORE -> append, rescan from the record start).
 * Invariants: the three give the same records (line, fields, bytes, quoted
 * flag) and the same verdict (error JSON included); every record has the
 * header's field count, lies inside the bytes it consumed, holds valid UTF-8,
 * and its line is the previous one plus the LFs the previous one consumed;
 * at the end every byte is consumed. Inference over the same bytes (a memfd)
 * agrees with the scan (same error, or header names, row count, data_end,
 * chunk 0, nullability), every non-empty value of a typed column parses as
 * that type, and a second run gives the same schema and fingerprint.
 */
#include "fuzz.h"

#include "common/calendar.h"
#include "common/error.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* What one scan saw. */
struct scan {
	struct bytes records;   /* serialised records */
	int verdict;            /* CSV_END or CSV_ERROR */
	char *error;            /* lh_error_json() text on CSV_ERROR */
	uint64_t nrecords;
	size_t nfields;         /* the header's */
	uint64_t second_off, second_line;   /* first data record, if any */
	int header_rc;          /* csv_check_header() on the first record */
	char *header_error;
};

static uint64_t count_lf(const uint8_t *p, size_t n)
{
	uint64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

static char *error_text(struct lh_error *err)
{
	json_t *j = lh_error_json(err);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	FUZZ_CHECK(s != NULL);
	json_decref(j);
	lh_error_clear(err);
	return s;
}

/* Scan `orig` (n bytes): the first `first` bytes are available at once,
 * then `step` more per NEED_MORE (0 = all the rest). */
static void scan(struct scan *out, const uint8_t *orig, size_t n, size_t first, size_t step)
{
	struct csv_scanner s;
	struct lh_error err = { 0 };
	char *buf = malloc(n ? n : 1);
	FUZZ_CHECK(buf != NULL);
	memcpy(buf, orig, n);
	size_t avail = first, pos = 0;
	int eof = avail == n;
	uint64_t expect_line = 1;

	csv_scanner_init(&s);
	memset(out, 0, sizeof *out);
	for (;;) {
		size_t used = 0;
		int r = csv_scan_record(&s, buf + pos, avail - pos, eof, &used, &err);
		FUZZ_CHECK(r == CSV_ERROR || r == CSV_END || r == CSV_RECORD || r == CSV_NEED_MORE);
		if (r == CSV_NEED_MORE || (r == CSV_END && !eof)) {
			FUZZ_CHECK(!eof);   /* at end of input a record is whole */
			size_t take = step && n - avail > step ? step : n - avail;
			avail += take;
			eof = avail == n;
			continue;
		}
		if (r == CSV_ERROR) {
			FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_csv") == 0);
			json_t *line = json_object_get(err.extra, "line");
			FUZZ_CHECK(line && json_integer_value(line) >= 1 &&
				   (uint64_t)json_integer_value(line) <= count_lf(orig, n) + 1);
			out->verdict = CSV_ERROR;
			out->error = error_text(&err);
			break;
		}
		if (r == CSV_END) {
			FUZZ_CHECK(pos == n || (pos == 0 && n == 3 && !memcmp(orig, "\xEF\xBB\xBF", 3)));
			out->verdict = CSV_END;
			break;
		}
		/* CSV_RECORD */
		FUZZ_CHECK(used > 0 && used <= avail - pos);
		FUZZ_CHECK(s.nrecords == out->nrecords + 1);
		FUZZ_CHECK(s.record_line == expect_line);
		FUZZ_CHECK(s.nfields >= 1);
		if (s.nrecords == 1) {
			out->nfields = s.nfields;
			out->header_rc = csv_check_header(&s, &err);
			if (out->header_rc)
				out->header_error = error_text(&err);
		} else {
			FUZZ_CHECK(s.nfields == out->nfields);
			if (s.nrecords == 2) {
				out->second_off = pos;
				out->second_line = s.record_line;
			}
		}
		bytes_add(&out->records, &s.record_line, sizeof s.record_line);
		bytes_add(&out->records, &s.nfields, sizeof s.nfields);
		for (size_t i = 0; i < s.nfields; i++) {
			const struct csv_field *f = &s.fields[i];
			FUZZ_CHECK(f->ptr >= buf + pos && f->ptr + f->len <= buf + pos + used);
			FUZZ_CHECK(csv_utf8_check((const unsigned char *)f->ptr, f->len) == f->len);
			if (!f->quoted)
				FUZZ_CHECK(!memchr(f->ptr, ',', f->len) && !memchr(f->ptr, '\n', f->len));
			bytes_add(&out->records, &f->len, sizeof f->len);
			bytes_add(&out->records, &f->quoted, sizeof f->quoted);
			bytes_add(&out->records, f->ptr, f->len);
		}
		expect_line += count_lf(orig + pos, used);
		out->nrecords = s.nrecords;
		pos += used;
	}
	csv_scanner_free(&s);
	free(buf);
}

static void same(const struct scan *a, const struct scan *b)
{
	FUZZ_CHECK(a->verdict == b->verdict);
	FUZZ_CHECK(a->nrecords == b->nrecords);
	FUZZ_CHECK(a->records.n == b->records.n);
	FUZZ_CHECK(a->records.n == 0 || !memcmp(a->records.p, b->records.p, a->records.n));
	FUZZ_CHECK((a->error == NULL) == (b->error == NULL));
	FUZZ_CHECK(!a->error || !strcmp(a->error, b->error));
	FUZZ_CHECK(a->header_rc == b->header_rc);
}

static void scan_free(struct scan *s)
{
	free(s->records.p);
	free(s->error);
	free(s->header_error);
}

/* Every non-empty value of column `c` in the records matches its type. */
static void check_types(const struct ingest_schema *sch, const uint8_t *data, size_t n)
{
	struct csv_scanner s;
	struct lh_error err = { 0 };
	char *buf = malloc(n ? n : 1);
	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data, n);
	int *nullable = calloc(sch->ncols, sizeof *nullable);
	FUZZ_CHECK(nullable != NULL);
	size_t pos = 0, used = 0;
	csv_scanner_init(&s);
	while (csv_scan_record(&s, buf + pos, n - pos, 1, &used, &err) == CSV_RECORD) {
		pos += used;
		if (s.nrecords == 1)
			continue;
		for (size_t i = 0; i < sch->ncols; i++) {
			const struct csv_field *f = &s.fields[i];
			if (f->len == 0) {
				nullable[i] = 1;
				continue;
			}
			enum schema_type_id t = sch->columns[i].type.id;
			unsigned m = schema_value_types(f->ptr, f->len);
			int b, z;
			int64_t v;
			double d;
			int32_t day;
			FUZZ_CHECK(t == SCHEMA_UTF8 || (m & SCHEMA_MASK(t)));
			if (m & SCHEMA_MASK(SCHEMA_INT64))
				FUZZ_CHECK(m & SCHEMA_MASK(SCHEMA_FLOAT64));
			FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_BOOL)) == !!schema_parse_bool(f->ptr, f->len, &b));
			FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_INT64)) == !!schema_parse_int64(f->ptr, f->len, &v));
			FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_FLOAT64)) == !!schema_parse_float64(f->ptr, f->len, &d));
			FUZZ_CHECK(!(m & SCHEMA_MASK(SCHEMA_DATE32)) == !!calendar_parse_date(f->ptr, f->len, &day));
			unsigned ts = SCHEMA_MASK(SCHEMA_TIMESTAMP) | SCHEMA_MASK(SCHEMA_TIMESTAMPTZ);
			int tr = calendar_parse_timestamp(f->ptr, f->len, &v, &z);
			FUZZ_CHECK(!(m & ts) == !!tr);
			if (tr == 0)
				FUZZ_CHECK(!!(m & SCHEMA_MASK(SCHEMA_TIMESTAMPTZ)) == z);
		}
	}
	lh_error_clear(&err);
	for (size_t i = 0; i < sch->ncols; i++)
		FUZZ_CHECK(sch->columns[i].nullable == nullable[i]);
	free(nullable);
	csv_scanner_free(&s);
	free(buf);
}

static void check_inference(const struct scan *sc, const uint8_t *data, size_t n)
{
	int fd = memfd_create("fuzz_csv", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(n == 0 || write(fd, data, n) == (ssize_t)n);
	struct ingest_schema *a = NULL, *b = NULL;
	struct lh_error err = { 0 }, err2 = { 0 };
	int rc = ingest_infer_fd(&ingest_format_csv, fd, &a, &err);
	int rc2 = ingest_infer_fd(&ingest_format_csv, fd, &b, &err2);
	close(fd);
	FUZZ_CHECK(rc == rc2);
	/* The error inference must report: the header's, else the scan's, else
	 * an empty file; with none of those it must succeed. */
	const char *want = NULL;
	if (sc->nrecords >= 1 && sc->header_rc != 0)
		want = sc->header_error;
	else if (sc->verdict == CSV_ERROR)
		want = sc->error;
	else if (sc->nrecords == 0)
		want = "empty_file";
	if (rc != 0) {
		FUZZ_CHECK(a == NULL && b == NULL);
		char *e = error_text(&err), *e2 = error_text(&err2);
		FUZZ_CHECK(strcmp(e, e2) == 0);
		FUZZ_CHECK(want != NULL);
		if (!strcmp(want, "empty_file"))
			FUZZ_CHECK(strstr(e, "\"code\":\"empty_file\"") != NULL);
		else
			FUZZ_CHECK(strcmp(e, want) == 0);
		free(e);
		free(e2);
		return;
	}
	FUZZ_CHECK(want == NULL);
	/* Inference succeeded: so did the scan, with a good header. */
	FUZZ_CHECK(sc->verdict == CSV_END && sc->nrecords >= 1 && sc->header_rc == 0);
	FUZZ_CHECK(a->ncols == sc->nfields && b->ncols == a->ncols);
	FUZZ_CHECK(a->row_count == sc->nrecords - 1 && b->row_count == a->row_count);
	FUZZ_CHECK(a->data_end == n);
	FUZZ_CHECK(strncmp(a->fingerprint, "sha256:", 7) == 0 && strlen(a->fingerprint) == 71);
	FUZZ_CHECK(strcmp(a->fingerprint, b->fingerprint) == 0);
	for (size_t i = 0; i < a->ncols; i++) {
		FUZZ_CHECK(strcmp(a->columns[i].name, b->columns[i].name) == 0);
		FUZZ_CHECK(a->columns[i].type.id == b->columns[i].type.id);
		FUZZ_CHECK(a->columns[i].nullable == b->columns[i].nullable);
		FUZZ_CHECK(a->columns[i].name[0] != '\0');
		if (a->row_count == 0)
			FUZZ_CHECK(a->columns[i].type.id == SCHEMA_UTF8);
	}
	size_t nchunks = 0;
	const struct csv_chunk *chunks = csv_chunks(a, &nchunks);
	FUZZ_CHECK(nchunks == (a->row_count ? 1u : 0u));   /* inputs are < 8 MiB */
	if (nchunks) {
		FUZZ_CHECK(chunks[0].offset == sc->second_off);
		FUZZ_CHECK(chunks[0].first_row == 0);
		FUZZ_CHECK(chunks[0].line == sc->second_line);
	}
	check_types(a, data, n);
	ingest_schema_destroy(a);
	ingest_schema_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;   /* FNV-1a picks the split and the chunk size */
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;

	struct scan whole, split, stream;
	scan(&whole, data, size, size, 0);
	scan(&split, data, size, size ? h % (size + 1) : 0, 0);
	scan(&stream, data, size, 0, 1 + (h >> 8) % 7);
	same(&whole, &split);
	same(&whole, &stream);
	check_inference(&whole, data, size);
	scan_free(&whole);
	scan_free(&split);
	scan_free(&stream);
	return 0;
}
