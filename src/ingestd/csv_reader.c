/* csv_reader.c — the CSV input format (format.h, ADR 0132) and the other
 * delimited text (TSV, ';', '|': ADR 0180, one format per delimiter over
 * the same code): sniffing, inference over every record of the upload as it
 * arrives, and the record batches of the spooled file. The dialect is
 * csv.c's scanner (ADR 0020);
 * the types and their value parsers are the schema vocabulary's
 * (common/schema.h); the per-column type sets are infer.h's.
 *
 * DESIGN NOTES
 *   1. One pass, streaming: fed bytes are copied into one buffer that holds
 *      the unscanned tail (at most one partial record) plus the new bytes;
 *      csv_scan_record() (the one dialect) splits it. The buffer doubles only
 *      when a partial record fills all of it. The absolute file offset of
 *      buf[0] is tracked, so the chunk index holds file offsets.
 *   2. The chunk index (this format's layout, csv.h's struct csv_chunk):
 *      every CSV_CHUNK_BYTES of data records, the offset, row number and
 *      line of the next record start are recorded, so the batches read
 *      chunks on their own, in parallel, without scanning from the start.
 *   3. A chunk starts at a record start after the header: it is scanned on
 *      its own with csv_scan_record() from its recorded line, so errors keep
 *      their line numbers; its row count is known from the index, and a
 *      chunk that no longer has it (the file changed) fails the stream.
 *   4. Values go into the batch with batch_put_text(), the column type's
 *      parser: the same code that decided the type (ADR 0021).
 *   5. A record cut by the end of the fed bytes (CSV_NEED_MORE) is rescanned
 *      only once the unscanned tail has doubled, so a long record fed in
 *      small pieces costs O(record) scanning in total, not O(record^2/piece).
 *   6. No regex, no allocation per field: classification looks at the bytes.
 *   7. The delimiter is the format's (csv_format_delimiter): each of the
 *      four formats has its own begin(), which sets the scanner's delimiter,
 *      and the batches read the delimiter of the schema's format, so a
 *      schema is always read back the way it was inferred. Which format an
 *      upload gets is the sniff's (delimited_sniff: ?delimiter=, a declared
 *      TSV, else the delimiter csv_detect_delimiter finds in the head).
 */
#include "ingestd/csv.h"

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
#include <strings.h>
#include <unistd.h>

_Static_assert(CSV_CHUNK_BYTES + (uint64_t)LH_CSV_MAX_RECORD_BYTES < (1ull << 31),
	       "utf8 int32 offsets need a batch's string bytes under 2 GiB (batch.c note 2)");

/* The layout of a spooled CSV: its chunk index (note 2). */
struct csv_layout {
	struct csv_chunk *chunks;    /* nchunks (0 when there are no data records) */
	size_t nchunks;
};

static void csv_layout_free(void *layout)
{
	struct csv_layout *l = layout;
	if (!l)
		return;
	free(l->chunks);
	free(l);
}

const struct csv_chunk *csv_chunks(const struct ingest_schema *s, size_t *n)
{
	const struct csv_layout *l = csv_format_delimiter(s->format) ? s->layout : NULL;
	*n = l ? l->nchunks : 0;
	return l ? l->chunks : NULL;
}

/* ---- sniffing ---------------------------------------------------------- */

/* The delimiter delimited text would be read with, and how sure (format.h's
 * scale): ?delimiter= (90: said by the client, but a magic number of
 * another format still wins), a declared TSV (80, tab), a declared CSV (80,
 * the delimiter the head shows, ',' unless unambiguous: European "CSV" is
 * often ';'), else the default (10, the same detection), so that any format
 * recognising the bytes beats it. */
static int delimited_choice(const struct ingest_sniff *in, char *delim)
{
	if (in->delimiter && csv_delimiter_ok(in->delimiter)) {
		*delim = in->delimiter;
		return INGEST_SNIFF_ASKED;
	}
	if (ingest_media_type_is(in->media_type, "text/tab-separated-values") ||
	    ingest_name_ends(in->file_name, ".tsv") || ingest_name_ends(in->file_name, ".tab")) {
		*delim = '\t';
		return INGEST_SNIFF_DECLARED;
	}
	*delim = csv_detect_delimiter((const char *)in->head, in->nhead, in->complete);
	if (ingest_media_type_is(in->media_type, "text/csv") ||
	    ingest_media_type_is(in->media_type, "application/csv") ||
	    ingest_media_type_is(in->media_type, "text/comma-separated-values") ||
	    ingest_name_ends(in->file_name, ".csv"))
		return INGEST_SNIFF_DECLARED;
	return INGEST_SNIFF_DEFAULT;
}

/* A delimited format claims what delimited_choice gives its delimiter. */
static int delimited_sniff(const struct ingest_sniff *in, char delim)
{
	char d = ',';
	int score = delimited_choice(in, &d);
	return d == delim ? score : 0;
}

/* ---- inference: the pass over the upload (notes 1, 2, 4, 5) ----------- */

/* The incremental pass (design notes 1, 5). */
struct ingest_reader {
	struct csv_scanner sc;
	struct ingest_schema *s;
	struct csv_layout *layout;   /* s->layout */
	struct infer_columns types;
	struct scan_window win;   /* the unscanned bytes */
	size_t chunks_cap;
	uint64_t next_chunk;
	int failed;              /* a feed failed: only abort is allowed */
};

static struct ingest_reader *reader_begin(const struct ingest_format *f)
{
	struct ingest_reader *st = xcalloc(1, sizeof *st);
	csv_scanner_init(&st->sc);
	st->sc.delim = csv_format_delimiter(f);                                /* 7 */
	st->s = ingest_schema_create(f);
	st->layout = xcalloc(1, sizeof *st->layout);
	st->s->layout = st->layout;
	scan_window_init(&st->win, 4 * (size_t)LH_STREAM_CHUNK);
	return st;
}

static void csv_abort(struct ingest_reader *st)
{
	if (!st)
		return;
	csv_scanner_free(&st->sc);
	ingest_schema_destroy(st->s);
	infer_columns_free(&st->types);
	scan_window_free(&st->win);
	free(st);
}

/* Take one scanned record (at file offset `at`) into the schema state. */
static int take_record(struct ingest_reader *st, uint64_t at, struct lh_error *err)
{
	struct ingest_schema *s = st->s;
	if (st->sc.nrecords == 1) {
		if (csv_check_header(&st->sc, err))
			return -1;
		s->ncols = st->sc.nfields;
		s->columns = xcalloc(s->ncols, sizeof *s->columns);
		for (size_t i = 0; i < s->ncols; i++)
			s->columns[i].name = xstrndup(st->sc.fields[i].ptr, st->sc.fields[i].len);
		infer_columns_init(&st->types, s->ncols);
		return 0;
	}
	/* note 2: the chunk index */
	struct csv_layout *l = st->layout;
	if (at >= st->next_chunk) {
		if (l->nchunks == st->chunks_cap) {
			st->chunks_cap = st->chunks_cap ? 2 * st->chunks_cap : 16;
			l->chunks = xrealloc(l->chunks, st->chunks_cap * sizeof *l->chunks);
		}
		l->chunks[l->nchunks].offset = at;
		l->chunks[l->nchunks].first_row = s->row_count;
		l->chunks[l->nchunks].line = st->sc.record_line;
		l->nchunks++;
		st->next_chunk = at + CSV_CHUNK_BYTES;
	}
	/* the column types (infer.h) */
	const struct csv_field *f = st->sc.fields;
	st->types.line = st->sc.record_line;     /* declared types' lines (infer.h note 5) */
	for (size_t i = 0; i < s->ncols; i++)
		infer_columns_value(&st->types, i, f[i].ptr, f[i].len);
	s->row_count++;
	return 0;
}

/* Scan every complete record in buf[pos..len). With eof, the bytes left are
 * the last record. Returns 0 or -1 (err filled). */
static int scan_buffered(struct ingest_reader *st, int eof, struct lh_error *err)
{
	if (!eof && st->win.len - st->win.pos < st->win.rescan_at)
		return 0;       /* note 5: a partial record is rescanned only
				 * once it has doubled */
	for (;;) {
		size_t used = 0;
		int r = csv_scan_record(&st->sc, st->win.buf + st->win.pos,
					st->win.len - st->win.pos, eof, &used, err);
		if (r == CSV_ERROR)
			return -1;
		if (r == CSV_NEED_MORE || r == CSV_END) {
			size_t left = st->win.len - st->win.pos;
			st->win.rescan_at = r == CSV_NEED_MORE ? 2 * left : 0;
			return 0;
		}
		uint64_t at = st->win.base + st->win.pos;       /* file offset of this record */
		st->win.pos += used;
		if (take_record(st, at, err))
			return -1;
	}
}

static int csv_feed(struct ingest_reader *st, const char *data, size_t n, struct lh_error *err)
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

static int csv_finish(struct ingest_reader *st, struct ingest_schema **out, struct lh_error *err)
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
		lh_fail(err, 400, "empty_file", "the file is empty: a CSV needs at least a header line");
		goto out;
	}
	s->data_end = st->win.base + st->win.pos;
	infer_columns_result(&st->types, s->columns);
	ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
	*out = s;
	st->s = NULL;
	rc = 0;
out:
	csv_abort(st);
	return rc;
}

/* ---- record batches (notes 3, 4) --------------------------------------- */

struct csv_source {          /* the batch source's context */
	int fd;
	const struct ingest_schema *schema;
};

/* One producer's scratch: the chunk read buffer and a scanner. */
struct producer {
	char *buf;
	size_t cap;
	struct csv_scanner sc;
};

static void *producer_create(void *ctx)
{
	struct producer *p = xcalloc(1, sizeof *p);
	csv_scanner_init(&p->sc);
	return p;
}

static void producer_destroy(void *scratch)
{
	struct producer *p = scratch;
	csv_scanner_free(&p->sc);
	free(p->buf);
	free(p);
}

/* Parse chunk i into a new batch. Returns it, or NULL with msg filled. */
static struct batch *parse_chunk(void *ctx, void *scratch, size_t i, char *msg, size_t msg_cap)
{
	const struct csv_source *src = ctx;
	struct producer *p = scratch;
	const struct ingest_schema *s = src->schema;
	const struct csv_layout *l = s->layout;
	const struct csv_chunk *ch = &l->chunks[i];
	uint64_t end = i + 1 < l->nchunks ? l->chunks[i + 1].offset : s->data_end;
	uint64_t rows_end = i + 1 < l->nchunks ? l->chunks[i + 1].first_row : s->row_count;
	size_t n = (size_t)(end - ch->offset), nrows = (size_t)(rows_end - ch->first_row);
	struct lh_error err = { 0 };
	struct batch *b = NULL;

	if (n > p->cap) {
		free(p->buf);
		p->cap = n;
		p->buf = xmalloc(p->cap);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(src->fd, p->buf + got, n - got, (off_t)(ch->offset + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(msg, msg_cap, "reading the spooled CSV failed");
			return NULL;
		}
		got += (size_t)r;
	}
	/* a chunk starts at a record boundary after the header (note 3) */
	p->sc.line = ch->line;
	p->sc.expected = s->ncols;
	p->sc.started = 1;
	p->sc.delim = csv_format_delimiter(s->format);                         /* 7 */
	b = batch_create(s, nrows);
	size_t pos = 0, row = 0;
	for (;;) {
		size_t used = 0;
		int r = csv_scan_record(&p->sc, p->buf + pos, n - pos, 1, &used, &err);
		if (r == CSV_END)
			break;
		if (r != CSV_RECORD || row == nrows) {
			snprintf(msg, msg_cap, "line %llu: %.200s", (unsigned long long)p->sc.line,
				 r == CSV_ERROR && err.msg[0] ? err.msg : "the CSV changed after inference");
			goto fail;
		}
		pos += used;
		const struct csv_field *fl = p->sc.fields;
		for (size_t k = 0; k < s->ncols; k++) {
			if (batch_put_text(b, k, row, fl[k].ptr, fl[k].len)) {
				snprintf(msg, msg_cap,
					 "line %llu: value of column %zu does not match its inferred type",
					 (unsigned long long)p->sc.record_line, k + 1);
				goto fail;
			}
		}
		row++;
	}
	if (row != nrows) {
		snprintf(msg, msg_cap, "chunk %zu has %zu rows, inference counted %zu", i, row, nrows);
		goto fail;
	}
	lh_error_clear(&err);
	return b;
fail:
	lh_error_clear(&err);
	batch_free(b);
	return NULL;
}


static int csv_batches(int fd, const struct ingest_schema *s, struct ArrowArrayStream *out,
		       struct lh_error *err)
{
	const struct csv_layout *l = s->layout;
	struct csv_source *src = xcalloc(1, sizeof *src);
	src->fd = fd;
	src->schema = s;
	struct batch_source bs = {
		.nchunks = l ? l->nchunks : 0, .ctx = src, .scratch_create = producer_create,
		.scratch_destroy = producer_destroy, .parse = parse_chunk, .ctx_free = free,
	};
	batch_stream_open(s, &bs, out);
	return 0;
}

/* The four delimited formats (note 7): a begin() and a sniff() each. */
#define DELIMITED_FORMAT(var, fname, ch)                                         \
	static struct ingest_reader *var##_begin(void) { return reader_begin(&var); } \
	static int var##_sniff(const struct ingest_sniff *in) { return delimited_sniff(in, ch); } \
	const struct ingest_format var = {                                        \
		.name = fname, .sniff = var##_sniff, .begin = var##_begin,         \
		.feed = csv_feed, .finish = csv_finish, .abort = csv_abort,        \
		.batches = csv_batches, .layout_free = csv_layout_free,            \
	}

DELIMITED_FORMAT(ingest_format_csv, "csv", ',');
DELIMITED_FORMAT(ingest_format_tsv, "tsv", '\t');
DELIMITED_FORMAT(ingest_format_csv_semicolon, "csv_semicolon", ';');
DELIMITED_FORMAT(ingest_format_csv_pipe, "csv_pipe", '|');

char csv_format_delimiter(const struct ingest_format *f)
{
	if (f == &ingest_format_csv)
		return ',';
	if (f == &ingest_format_tsv)
		return '\t';
	if (f == &ingest_format_csv_semicolon)
		return ';';
	if (f == &ingest_format_csv_pipe)
		return '|';
	return 0;
}

const struct ingest_format *csv_format_for(char delim)
{
	switch (delim) {
	case ',': return &ingest_format_csv;
	case '\t': return &ingest_format_tsv;
	case ';': return &ingest_format_csv_semicolon;
	case '|': return &ingest_format_csv_pipe;
	default: return NULL;
	}
}
