/* json_reader.c — the JSON input format (format.h, ADR 0182): NDJSON and
 * JSON arrays of objects. Sniffing, inference over every object of the
 * upload as it arrives, and the record batches of the spooled file. The
 * syntax is json_scan.c's; the types and their value parsers are the schema
 * vocabulary's (common/schema.h); the per-column type sets are infer.h's.
 *
 * DESIGN NOTES
 *   1. Streaming as the CSV reader (csv_reader.c notes 1, 5): fed bytes go
 *      into one buffer holding the unscanned tail plus the new bytes; a
 *      partial object is rescanned only once the tail has doubled. The
 *      scanner consumes white space and separators even without an object,
 *      so a file of blanks does not grow the buffer.
 *   2. Columns are keys in first-seen order across the whole file. A key is
 *      found through a hash of its ASCII-folded bytes: the same key again is
 *      its column; a key equal to a column's name but for letter case is an
 *      error (column names are case-insensitive, as CSV headers), as is a
 *      key twice in one object (it would lose one of the values), an empty
 *      key, a key longer than LH_CSV_MAX_HEADER_NAME or holding a control
 *      character (a CSV header's rules), and more than LH_CSV_MAX_COLUMNS keys.
 *   3. Types (docs/schema.md, "JSON"): every value's text goes through
 *      infer_columns_value() (infer.h), the CSV rules, which also keep what
 *      declared types need (infer.h note 5: the text decides, so a quoted
 *      "5" fits a declared int64); apart, a column whose values include a
 *      non-empty JSON string keeps only the date and timestamp types (a
 *      quoted "2134" or "true" is inferred as text: the writer quoted it),
 *      applied at the end; a number's text can only match
 *      int64/float64 (or nothing, beyond the int64 range: text, SPEC 4), true
 *      and false only bool, a nested value's text nothing (utf8). null and
 *      "" are null, as an empty CSV field. The infer_columns sets grow
 *      with the columns (infer_columns_grow, doubling).
 *   4. Nullability: explicit nulls (infer.h) plus every column missing from
 *      some row (its count of rows with the key is below the row count), so
 *      a row costs its members, not the columns.
 *   5. The layout is json_scan.h's marks; the batches group them into
 *      chunks (JSON_CHUNK_BYTES, JSON_CHUNK_CELLS), each read with pread and
 *      scanned from its first mark (json_scanner_resume) so errors keep their
 *      lines. Values go into the batch with batch_put_text(), the column
 *      type's parser (ADR 0021); a column missing from a row is put as null.
 *   6. A batch's string bytes are at most its chunk's input bytes (decoded
 *      strings and compact nested values are never longer than written):
 *      under 2 GiB (batch.c note 2), the static assert below.
 */
#include "ingestd/json_scan.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/batch.h"
#include "ingestd/format.h"
#include "ingestd/infer.h"
#include "ingestd/scan_window.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert((uint64_t)JSON_CHUNK_BYTES + JSON_MARK_BYTES + LH_JSON_INGEST_MAX_RECORD_BYTES <
		       (1ull << 31),
	       "utf8 int32 offsets need a batch's string bytes under 2 GiB (batch.c note 2)");

/* The layout of a spooled JSON upload (note 5). */
struct json_layout {
	int mode;                 /* enum json_mode */
	struct json_mark *marks;
	size_t nmarks;
};

static void json_layout_free(void *layout)
{
	struct json_layout *l = layout;
	if (!l)
		return;
	free(l->marks);
	free(l);
}

const struct json_mark *json_marks(const struct ingest_schema *s, size_t *n, int *mode)
{
	const struct json_layout *l = s->format == &ingest_format_json ? s->layout : NULL;
	*n = l ? l->nmarks : 0;
	*mode = l ? l->mode : JSON_MODE_NONE;
	return l ? l->marks : NULL;
}

/* ---- sniffing ------------------------------------------------------------ */

static size_t skip_blank(const unsigned char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
		i++;
	return i;
}

static int json_sniff(const struct ingest_sniff *in)
{
	static const char *const types[] = {
		"application/json", "application/x-ndjson", "application/ndjson",
		"application/jsonl", "application/x-jsonlines", "application/jsonlines",
		"application/json-lines",
	};
	static const char *const names[] = { ".json", ".ndjson", ".jsonl" };
	int declared = 0, looks = 0;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		declared |= ingest_media_type_is(in->media_type, types[i]);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		declared |= ingest_name_ends(in->file_name, names[i]);
	/* it looks like JSON when it starts `[{`, `[]`, `{"` or `{}` (white
	 * space between), so a text that merely starts with [ or { (a CSV
	 * header "[draft] title,...") is not taken for JSON */
	size_t i = 0, j;
	if (in->nhead >= 3 && !memcmp(in->head, "\xEF\xBB\xBF", 3))
		i = 3;
	i = skip_blank(in->head, in->nhead, i);
	if (i < in->nhead && (in->head[i] == '[' || in->head[i] == '{')) {
		j = skip_blank(in->head, in->nhead, i + 1);
		looks = j == in->nhead ||
			(in->head[i] == '[' ? in->head[j] == '{' || in->head[j] == ']'
					    : in->head[j] == '"' || in->head[j] == '}');
	}
	if (declared)      /* a declared JSON that is not one: its error is JSON's */
		return looks || i == in->nhead ? INGEST_SNIFF_DECLARED : INGEST_SNIFF_LOOKS;
	return looks ? INGEST_SNIFF_LOOKS : 0;
}

/* ---- the column names (note 2) ------------------------------------------- */

struct key_index {
	uint32_t *slots;          /* column + 1, 0 = empty; nslots a power of 2 */
	size_t nslots;
};

static inline unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint64_t key_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;       /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ fold((unsigned char)p[i])) * 1099511628211ull;
	return h;
}

static int same_folded(const char *a, size_t na, const char *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return 0;
	return 1;
}

/* The column whose name equals p[0..n) but for ASCII case, or -1. */
static long key_find(const struct key_index *x, const struct ingest_column *cols, const char *p,
		     size_t n)
{
	if (!x->nslots)
		return -1;
	size_t mask = x->nslots - 1;
	for (size_t i = (size_t)key_hash(p, n) & mask;; i = (i + 1) & mask) {
		uint32_t v = x->slots[i];
		if (!v)
			return -1;
		const char *name = cols[v - 1].name;
		if (same_folded(name, strlen(name), p, n))
			return (long)(v - 1);
	}
}

/* Add column `col` (its name in cols[col]); grows at half full. */
static void key_add(struct key_index *x, const struct ingest_column *cols, size_t col)
{
	if (2 * (col + 1) > x->nslots) {
		size_t n = x->nslots ? 2 * x->nslots : 64;
		uint32_t *slots = xcalloc(n, sizeof *slots);
		for (size_t i = 0; i < x->nslots; i++) {
			uint32_t v = x->slots[i];
			if (!v)
				continue;
			const char *name = cols[v - 1].name;
			size_t k = (size_t)key_hash(name, strlen(name)) & (n - 1);
			while (slots[k])
				k = (k + 1) & (n - 1);
			slots[k] = v;
		}
		free(x->slots);
		x->slots = slots;
		x->nslots = n;
	}
	const char *name = cols[col].name;
	size_t k = (size_t)key_hash(name, strlen(name)) & (x->nslots - 1);
	while (x->slots[k])
		k = (k + 1) & (x->nslots - 1);
	x->slots[k] = (uint32_t)(col + 1);
}

/* ---- inference (notes 1-4) ------------------------------------------------- */

struct ingest_reader {
	struct json_scanner sc;
	struct ingest_schema *s;
	struct json_layout *layout;     /* s->layout */
	struct infer_columns types;     /* cols_cap wide (note 3) */
	struct key_index keys;
	size_t cols_cap;
	uint64_t *present;              /* per column: rows holding the key */
	unsigned *kinds;                /* per column: the types its JSON kinds allow (note 3) */
	uint64_t *stamp;                /* per column: last row + 1 holding it */
	struct scan_window win;   /* the unscanned bytes */
	size_t marks_cap;
	uint64_t next_mark_off, next_mark_row;
	uint64_t data_end;
	int failed;
};

static struct ingest_reader *json_begin(void)
{
	struct ingest_reader *st = xcalloc(1, sizeof *st);
	json_scanner_init(&st->sc);
	st->s = ingest_schema_create(&ingest_format_json);
	st->layout = xcalloc(1, sizeof *st->layout);
	st->s->layout = st->layout;
	infer_columns_init(&st->types, 0);
	scan_window_init(&st->win, 4 * (size_t)LH_STREAM_CHUNK);
	return st;
}

static void json_abort(struct ingest_reader *st)
{
	if (!st)
		return;
	json_scanner_free(&st->sc);
	ingest_schema_destroy(st->s);
	infer_columns_free(&st->types);
	free(st->keys.slots);
	free(st->present);
	free(st->kinds);
	free(st->stamp);
	scan_window_free(&st->win);
	free(st);
}

static int fail_key(struct lh_error *err, const struct json_member *m, const char *what)
{
	lh_fail(err, 400, "bad_json", "line %llu: the key \"%.*s\" %s", (unsigned long long)m->line,
		(int)(m->nkey > 64 ? 64 : m->nkey), m->key, what);
	lh_error_set(err, "line", json_integer((json_int_t)m->line));
	lh_error_set(err, "key", json_stringn(m->key, m->nkey));
	return -1;
}

/* A new column for member m (note 2's rules). */
static int column_add(struct ingest_reader *st, const struct json_member *m, struct lh_error *err)
{
	struct ingest_schema *s = st->s;
	if (m->nkey == 0) {
		lh_fail(err, 400, "bad_json", "line %llu: a key is empty (keys become column names)",
			(unsigned long long)m->line);
		lh_error_set(err, "line", json_integer((json_int_t)m->line));
		return -1;
	}
	if (m->nkey > LH_CSV_MAX_HEADER_NAME) {
		char what[80];
		snprintf(what, sizeof what, "is too long for a column name: %u bytes, at most %d",
			 (unsigned)m->nkey, (int)LH_CSV_MAX_HEADER_NAME);
		return fail_key(err, m, what);
	}
	for (uint32_t k = 0; k < m->nkey; k++) {
		unsigned char c = (unsigned char)m->key[k];
		if (c < 0x20 || c == 0x7f)
			return fail_key(err, m, "contains a control character (keys become column names)");
	}
	if (s->ncols == LH_CSV_MAX_COLUMNS) {
		lh_fail(err, 400, "bad_json",
			"line %llu: more than %d different keys (each key is a column)",
			(unsigned long long)m->line, (int)LH_CSV_MAX_COLUMNS);
		lh_error_set(err, "line", json_integer((json_int_t)m->line));
		return -1;
	}
	if (s->ncols == st->cols_cap) {
		size_t cap = st->cols_cap ? 2 * st->cols_cap : 16;
		s->columns = xrealloc(s->columns, cap * sizeof *s->columns);
		memset(s->columns + st->cols_cap, 0, (cap - st->cols_cap) * sizeof *s->columns);
		st->present = xrealloc(st->present, cap * sizeof *st->present);
		st->kinds = xrealloc(st->kinds, cap * sizeof *st->kinds);
		st->stamp = xrealloc(st->stamp, cap * sizeof *st->stamp);
		infer_columns_grow(&st->types, cap);
		st->cols_cap = cap;
	}
	size_t col = s->ncols++;
	s->columns[col].name = xstrndup(m->key, m->nkey);
	st->present[col] = 0;
	st->kinds[col] = ~0u;
	st->stamp[col] = 0;
	key_add(&st->keys, s->columns, col);
	return 0;
}

/* Take one scanned object (its `{` at file offset `at`). */
static int take_record(struct ingest_reader *st, uint64_t at, struct lh_error *err)
{
	struct ingest_schema *s = st->s;
	struct json_layout *l = st->layout;
	uint64_t row = s->row_count;

	if (at >= st->next_mark_off || row >= st->next_mark_row) {      /* note 5 */
		if (l->nmarks == st->marks_cap) {
			st->marks_cap = st->marks_cap ? 2 * st->marks_cap : 64;
			l->marks = xrealloc(l->marks, st->marks_cap * sizeof *l->marks);
		}
		l->marks[l->nmarks].offset = at;
		l->marks[l->nmarks].first_row = row;
		l->marks[l->nmarks].line = st->sc.record_line;
		l->nmarks++;
		st->next_mark_off = at + JSON_MARK_BYTES;
		st->next_mark_row = row + JSON_MARK_ROWS;
	}
	st->types.line = st->sc.record_line;     /* declared types' lines (infer.h note 5) */
	for (size_t i = 0; i < st->sc.nmembers; i++) {
		const struct json_member *m = &st->sc.members[i];
		long col = key_find(&st->keys, s->columns, m->key, m->nkey);
		if (col < 0) {
			if (column_add(st, m, err))
				return -1;
			col = (long)s->ncols - 1;
		} else if (memcmp(s->columns[col].name, m->key, m->nkey) != 0) {
			char what[360];
			snprintf(what, sizeof what,
				 "differs from the earlier key \"%.64s\" only in letter case (column "
				 "names are case-insensitive)", s->columns[col].name);
			return fail_key(err, m, what);
		} else if (st->stamp[col] == row + 1) {
			return fail_key(err, m, "appears twice in one object");
		}
		st->stamp[col] = row + 1;
		st->present[col]++;
		/* note 3: the value's text, and apart the JSON kind's own limits */
		if (m->kind == JSON_KIND_NULL) {
			infer_columns_value(&st->types, (size_t)col, "", 0);
		} else {
			infer_columns_value(&st->types, (size_t)col, m->val, m->nval);
			if (m->kind == JSON_KIND_STRING && m->nval)
				st->kinds[col] &= SCHEMA_MASK(SCHEMA_DATE32) |
						  SCHEMA_MASK(SCHEMA_TIMESTAMP) |
						  SCHEMA_MASK(SCHEMA_TIMESTAMPTZ);
		}
	}
	s->row_count++;
	return 0;
}

/* Scan every complete object in buf[pos..len); with eof, to the end. */
static int scan_buffered(struct ingest_reader *st, int eof, struct lh_error *err)
{
	if (!eof && st->win.len - st->win.pos < st->win.rescan_at)
		return 0;       /* note 1 */
	for (;;) {
		size_t used = 0;
		int r = json_scan_record(&st->sc, st->win.buf + st->win.pos,
					 st->win.len - st->win.pos, eof, &used, err);
		if (r == JSON_ERROR)
			return -1;
		uint64_t at = st->win.base + st->win.pos + st->sc.record_off;
		st->win.pos += used;
		if (r == JSON_NEED_MORE || r == JSON_END) {
			size_t left = st->win.len - st->win.pos;
			st->win.rescan_at = r == JSON_NEED_MORE && left ? 2 * left : 0;
			return 0;
		}
		if (take_record(st, at, err))
			return -1;
		st->data_end = st->win.base + st->win.pos;
	}
}

static int json_feed(struct ingest_reader *st, const char *data, size_t n, struct lh_error *err)
{
	if (st->failed)
		return lh_fail(err, 500, "internal", "inference fed after a failure");
	while (n > 0) {
		size_t take = scan_window_fill(&st->win, data, n);
		data += take;
		n -= take;
		if (scan_buffered(st, 0, err)) {
			st->failed = 1;
			return -1;
		}
	}
	return 0;
}

static int json_finish(struct ingest_reader *st, struct ingest_schema **out, struct lh_error *err)
{
	int rc = -1;
	struct ingest_schema *s = st->s;
	*out = NULL;
	if (st->failed) {
		lh_fail(err, 500, "internal", "inference finished after a failure");
		goto out;
	}
	st->win.rescan_at = 0;
	if (scan_buffered(st, 1, err))
		goto out;
	if (st->sc.nrecords == 0) {
		lh_fail(err, 400, "empty_file",
			"the file holds no JSON objects: send objects, one per line, or an array of objects");
		goto out;
	}
	if (s->ncols == 0) {
		lh_fail(err, 400, "empty_file", "the JSON objects have no keys, so there are no columns");
		goto out;
	}
	s->data_end = st->data_end;
	st->layout->mode = st->sc.mode;
	st->types.ncols = s->ncols;        /* the sets are cols_cap wide (note 3) */
	for (size_t i = 0; i < s->ncols; i++)
		st->types.possible[i] &= st->kinds[i];
	infer_columns_result(&st->types, s->columns);
	for (size_t i = 0; i < s->ncols; i++)                  /* note 4 */
		if (st->present[i] < s->row_count)
			s->columns[i].nullable = 1;
	ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
	*out = s;
	st->s = NULL;
	rc = 0;
out:
	json_abort(st);
	return rc;
}

/* ---- record batches (notes 5, 6) ---------------------------------------------- */

struct json_source {
	int fd;
	const struct ingest_schema *schema;
	const struct json_layout *layout;
	size_t *group;           /* chunk i = marks [group[i], group[i + 1]) */
	size_t ngroups;
	struct key_index keys;
};

static void source_free(void *ctx)
{
	struct json_source *src = ctx;
	free(src->group);
	free(src->keys.slots);
	free(src);
}

struct producer {
	char *buf;
	size_t cap;
	struct json_scanner sc;
	uint64_t *stamp;         /* per column: the row + 1 that last had it */
};

static void *producer_create(void *ctx)
{
	const struct json_source *src = ctx;
	struct producer *p = xcalloc(1, sizeof *p);
	json_scanner_init(&p->sc);
	p->stamp = xcalloc(src->schema->ncols ? src->schema->ncols : 1, sizeof *p->stamp);
	return p;
}

static void producer_destroy(void *scratch)
{
	struct producer *p = scratch;
	json_scanner_free(&p->sc);
	free(p->stamp);
	free(p->buf);
	free(p);
}

static uint64_t mark_end(const struct ingest_schema *s, const struct json_layout *l, size_t j)
{
	return j < l->nmarks ? l->marks[j].offset : s->data_end;
}

static uint64_t mark_row(const struct ingest_schema *s, const struct json_layout *l, size_t j)
{
	return j < l->nmarks ? l->marks[j].first_row : s->row_count;
}

static struct batch *parse_chunk(void *ctx, void *scratch, size_t i, char *msg, size_t msg_cap)
{
	const struct json_source *src = ctx;
	struct producer *p = scratch;
	const struct ingest_schema *s = src->schema;
	const struct json_layout *l = src->layout;
	size_t g0 = src->group[i], g1 = src->group[i + 1];
	uint64_t off = l->marks[g0].offset, row0 = l->marks[g0].first_row;
	size_t n = (size_t)(mark_end(s, l, g1) - off);
	size_t nrows = (size_t)(mark_row(s, l, g1) - row0);
	struct lh_error err = { 0 };
	struct batch *b = NULL;

	if (n > p->cap) {
		free(p->buf);
		p->cap = n;
		p->buf = xmalloc(p->cap);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(src->fd, p->buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(msg, msg_cap, "reading the spooled JSON failed");
			return NULL;
		}
		got += (size_t)r;
	}
	json_scanner_resume(&p->sc, l->mode, l->marks[g0].line);
	b = batch_create(s, nrows);
	size_t pos = 0;
	for (size_t row = 0; row < nrows; row++) {
		size_t used = 0;
		int r = json_scan_record(&p->sc, p->buf + pos, n - pos, 1, &used, &err);
		if (r != JSON_RECORD) {
			snprintf(msg, msg_cap, "line %llu: %.200s", (unsigned long long)p->sc.line,
				 r == JSON_ERROR && err.msg[0] ? err.msg : "the JSON changed after inference");
			goto fail;
		}
		pos += used;
		uint64_t mark = row0 + row + 1;
		for (size_t k = 0; k < p->sc.nmembers; k++) {
			const struct json_member *m = &p->sc.members[k];
			long col = key_find(&src->keys, s->columns, m->key, m->nkey);
			if (col < 0 || p->stamp[col] == mark) {
				snprintf(msg, msg_cap, "line %llu: the JSON changed after inference",
					 (unsigned long long)m->line);
				goto fail;
			}
			p->stamp[col] = mark;
			int bad = m->kind == JSON_KIND_NULL ? batch_put_text(b, (size_t)col, row, "", 0)
							    : batch_put_text(b, (size_t)col, row, m->val,
									     m->nval);
			if (bad) {
				snprintf(msg, msg_cap,
					 "line %llu: the value of key \"%.64s\" does not match its column's type",
					 (unsigned long long)m->line, s->columns[col].name);
				goto fail;
			}
		}
		for (size_t c = 0; c < s->ncols; c++)         /* a missing key is null */
			if (p->stamp[c] != mark)
				batch_put_text(b, c, row, "", 0);
	}
	lh_error_clear(&err);
	return b;
fail:
	lh_error_clear(&err);
	batch_free(b);
	return NULL;
}

static int json_batches(int fd, const struct ingest_schema *s, struct ArrowArrayStream *out,
			struct lh_error *err)
{
	const struct json_layout *l = s->layout;
	struct json_source *src = xcalloc(1, sizeof *src);
	size_t nmarks = l ? l->nmarks : 0;
	src->fd = fd;
	src->schema = s;
	src->layout = l;
	src->group = xmalloc((nmarks + 1) * sizeof *src->group);
	/* note 5: consecutive marks while the chunk stays within its bounds */
	for (size_t j = 0; j < nmarks;) {
		size_t k = j + 1;
		while (k < nmarks) {
			uint64_t bytes = mark_end(s, l, k + 1) - l->marks[j].offset;
			uint64_t cells = (mark_row(s, l, k + 1) - l->marks[j].first_row) * s->ncols;
			if (bytes > JSON_CHUNK_BYTES || cells > JSON_CHUNK_CELLS)
				break;
			k++;
		}
		src->group[src->ngroups++] = j;
		j = k;
	}
	src->group[src->ngroups] = nmarks;
	for (size_t c = 0; c < s->ncols; c++)
		key_add(&src->keys, s->columns, c);
	struct batch_source bs = {
		.nchunks = src->ngroups, .ctx = src, .scratch_create = producer_create,
		.scratch_destroy = producer_destroy, .parse = parse_chunk, .ctx_free = source_free,
	};
	batch_stream_open(s, &bs, out);
	return 0;
}

const struct ingest_format ingest_format_json = {
	.name = "json",
	.sniff = json_sniff,
	.begin = json_begin,
	.feed = json_feed,
	.finish = json_finish,
	.abort = json_abort,
	.batches = json_batches,
	.layout_free = json_layout_free,
};
