/* fuzz_json_reader.c — libFuzzer target for the JSON upload scanner and the
 * JSON input format (src/ingestd/json_scan.h, json_reader.c; ADR 0182).
 *
 * The input is an upload. It is scanned three ways: in one buffer, split in
 * two at a point derived from the bytes, and streamed in small steps the way
 * inference reads (NEED_MORE -> drop what was consumed, append, rescan).
 * Invariants: the three give the same objects (line, members: key, kind,
 * value bytes) and the same verdict (error JSON included); an error's line
 * is within the input's lines; at the end every byte is consumed; keys and
 * string values are valid UTF-8; a nested value's text is compact JSON that
 * scans to itself again. Inference over the same bytes (a memfd, twice)
 * gives the same verdict; it fails whenever the scan did (with the scan's
 * error); on success the row count is the scan's, a column's values match
 * its type, and the record batches give every row back.
 */
#include "fuzz.h"

#include "common/error.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/json_scan.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct scan {
	struct bytes records;
	int verdict;            /* JSON_END or JSON_ERROR */
	char *error;
	uint64_t nrecords;
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

/* A nested value's text scans, wrapped as {"x":<text>}, to itself. */
static void check_nested(const char *p, size_t n)
{
	struct json_scanner s;
	struct lh_error err = { 0 };
	char *w = malloc(n + 8);
	FUZZ_CHECK(w != NULL);
	memcpy(w, "{\"x\":", 5);
	memcpy(w + 5, p, n);
	w[n + 5] = '}';
	size_t used = 0;
	json_scanner_init(&s);
	FUZZ_CHECK(json_scan_record(&s, w, n + 6, 1, &used, &err) == JSON_RECORD);
	FUZZ_CHECK(used == n + 6 && s.nmembers == 1 && s.members[0].kind == JSON_KIND_NESTED);
	FUZZ_CHECK(s.members[0].nval == n && !memcmp(s.members[0].val, p, n));
	json_scanner_free(&s);
	free(w);
}

/* Scan `orig` (n bytes): `first` bytes at once, then `step` more per
 * NEED_MORE (0 = all the rest). */
static void scan(struct scan *out, const uint8_t *orig, size_t n, size_t first, size_t step,
		 int deep)
{
	struct json_scanner s;
	struct lh_error err = { 0 };
	size_t avail = first, pos = 0;
	int eof = avail == n;

	json_scanner_init(&s);
	memset(out, 0, sizeof *out);
	for (;;) {
		size_t used = 0;
		int r = json_scan_record(&s, (const char *)orig + pos, avail - pos, eof, &used, &err);
		FUZZ_CHECK(r == JSON_ERROR || r == JSON_END || r == JSON_RECORD || r == JSON_NEED_MORE);
		if (r == JSON_NEED_MORE) {
			FUZZ_CHECK(!eof);
			FUZZ_CHECK(used <= avail - pos);
			pos += used;
			size_t take = step && n - avail > step ? step : n - avail;
			avail += take;
			eof = avail == n;
			continue;
		}
		if (r == JSON_ERROR) {
			FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_json") == 0);
			json_t *line = json_object_get(err.extra, "line");
			FUZZ_CHECK(line && json_integer_value(line) >= 1 &&
				   (uint64_t)json_integer_value(line) <= count_lf(orig, n) + 1);
			out->verdict = JSON_ERROR;
			out->error = error_text(&err);
			break;
		}
		if (r == JSON_END) {
			FUZZ_CHECK(eof && pos + used == n);
			out->verdict = JSON_END;
			break;
		}
		FUZZ_CHECK(used > 0 && used <= avail - pos);
		FUZZ_CHECK(s.record_off < used && orig[pos + s.record_off] == '{');
		FUZZ_CHECK(s.record_line == count_lf(orig, pos + s.record_off) + 1);
		FUZZ_CHECK(s.nrecords == out->nrecords + 1);
		bytes_add(&out->records, &s.record_line, sizeof s.record_line);
		bytes_add(&out->records, &s.nmembers, sizeof s.nmembers);
		for (size_t i = 0; i < s.nmembers; i++) {
			const struct json_member *m = &s.members[i];
			FUZZ_CHECK(csv_utf8_check((const unsigned char *)m->key, m->nkey) == m->nkey);
			FUZZ_CHECK(m->line >= s.record_line);
			FUZZ_CHECK((m->kind == JSON_KIND_NULL) == (m->val == NULL));
			if (m->kind == JSON_KIND_STRING)
				FUZZ_CHECK(csv_utf8_check((const unsigned char *)m->val, m->nval) == m->nval);
			if (m->kind == JSON_KIND_NESTED && deep)
				check_nested(m->val, m->nval);
			bytes_add(&out->records, &m->nkey, sizeof m->nkey);
			bytes_add(&out->records, m->key, m->nkey);
			bytes_add(&out->records, &m->kind, sizeof m->kind);
			bytes_add(&out->records, &m->nval, sizeof m->nval);
			if (m->nval)
				bytes_add(&out->records, m->val, m->nval);
		}
		out->nrecords = s.nrecords;
		pos += used;
	}
	json_scanner_free(&s);
}

static void same(const struct scan *a, const struct scan *b)
{
	FUZZ_CHECK(a->verdict == b->verdict);
	FUZZ_CHECK(a->nrecords == b->nrecords);
	FUZZ_CHECK(a->records.n == b->records.n);
	FUZZ_CHECK(a->records.n == 0 || !memcmp(a->records.p, b->records.p, a->records.n));
	FUZZ_CHECK((a->error == NULL) == (b->error == NULL));
	FUZZ_CHECK(!a->error || !strcmp(a->error, b->error));
}

static void scan_free(struct scan *s)
{
	free(s->records.p);
	free(s->error);
}

/* The batches of a good schema: every row, values of the column types. */
static void check_batches(int fd, const struct ingest_schema *sch)
{
	struct ArrowArrayStream st;
	struct lh_error err = { 0 };
	FUZZ_CHECK(sch->format->batches(fd, sch, &st, &err) == 0);
	uint64_t rows = 0;
	for (;;) {
		struct ArrowArray b;
		FUZZ_CHECK(st.get_next(&st, &b) == 0);
		if (!b.release)
			break;
		FUZZ_CHECK(b.n_children == (int64_t)sch->ncols);
		rows += (uint64_t)b.length;
		b.release(&b);
	}
	st.release(&st);
	FUZZ_CHECK(rows == sch->row_count);
}

static void check_inference(const struct scan *sc, const uint8_t *data, size_t n)
{
	int fd = memfd_create("fuzz_json", 0);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(n == 0 || write(fd, data, n) == (ssize_t)n);
	struct ingest_schema *a = NULL, *b = NULL;
	struct lh_error err = { 0 }, err2 = { 0 };
	int rc = ingest_infer_fd(&ingest_format_json, fd, &a, &err);
	int rc2 = ingest_infer_fd(&ingest_format_json, fd, &b, &err2);
	FUZZ_CHECK(rc == rc2);
	if (rc != 0) {
		FUZZ_CHECK(a == NULL && b == NULL);
		char *e = error_text(&err), *e2 = error_text(&err2);
		FUZZ_CHECK(strcmp(e, e2) == 0);
		/* a scan error is inference's error; the reader's own are key
		 * rules and empty inputs */
		if (sc->verdict == JSON_ERROR)
			FUZZ_CHECK(strcmp(e, sc->error) == 0 || strstr(e, " key"));
		else
			FUZZ_CHECK(strstr(e, "\"code\":\"bad_json\"") || strstr(e, "\"code\":\"empty_file\""));
		free(e);
		free(e2);
		close(fd);
		return;
	}
	FUZZ_CHECK(sc->verdict == JSON_END && sc->nrecords >= 1);
	FUZZ_CHECK(a->row_count == sc->nrecords && b->row_count == a->row_count);
	FUZZ_CHECK(a->ncols >= 1 && a->ncols == b->ncols);
	FUZZ_CHECK(strcmp(a->fingerprint, b->fingerprint) == 0);
	FUZZ_CHECK(a->data_end <= n);
	for (size_t i = 0; i < a->ncols; i++) {
		FUZZ_CHECK(a->columns[i].name[0] != '\0');
		FUZZ_CHECK(strcmp(a->columns[i].name, b->columns[i].name) == 0);
		FUZZ_CHECK(a->columns[i].type.id == b->columns[i].type.id);
		FUZZ_CHECK(a->columns[i].nullable == b->columns[i].nullable);
	}
	size_t nmarks = 0;
	int mode = 0;
	const struct json_mark *m = json_marks(a, &nmarks, &mode);
	FUZZ_CHECK(nmarks >= 1 && m[0].first_row == 0 && data[m[0].offset] == '{');
	FUZZ_CHECK(mode == JSON_MODE_LINES || mode == JSON_MODE_ARRAY);
	check_batches(fd, a);
	ingest_schema_destroy(a);
	ingest_schema_destroy(b);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;   /* FNV-1a picks the split and the step */
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;

	struct scan whole, split, stream;
	scan(&whole, data, size, size, 0, 1);
	scan(&split, data, size, size ? h % (size + 1) : 0, 0, 0);
	scan(&stream, data, size, 0, 1 + (h >> 8) % 7, 0);
	same(&whole, &split);
	same(&whole, &stream);
	check_inference(&whole, data, size);
	scan_free(&whole);
	scan_free(&split);
	scan_free(&stream);
	return 0;
}
