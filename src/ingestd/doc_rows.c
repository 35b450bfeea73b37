/* doc_rows.c — the rows of a documents dataset as an ingest format (see
 * doc_rows.h, ADR 0225).
 *
 * DESIGN NOTES
 *  1. The spool holds rows one after another, each as six fields, each a
 *     4-byte little-endian length and that many bytes: doc_id, file_name,
 *     chunk, page, text, chars; numbers as decimal text, a NULL page as an
 *     empty field (batch_put_text's null). The values are parsed by
 *     batch.c with the column types, as every format's are.
 *  2. The layout is the byte offset of every DOC_ROWS_PER_BATCH-th row and
 *     the end: batch i covers rows [i*N, (i+1)*N) and is read with one
 *     pread, so batches parse in parallel (batch.h) with memory bounded by
 *     one batch's text per producer.
 *  3. The writer buffers DOC_ROWS_WRITE_BYTES and writes with pwrite; the
 *     spool is the caller's O_TMPFILE, gone on every path.
 */
#include "ingestd/doc_rows.h"

#include "common/error.h"
#include "common/xmalloc.h"
#include "ingestd/batch.h"
#include "ingestd/format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOC_ROWS_WRITE_BYTES (1u << 20)
#define DOC_ROWS_FIELDS 6

static const struct { const char *name; enum schema_type_id type; int nullable; } doc_columns[] = {
	{ "doc_id", SCHEMA_UTF8, 0 },   { "file_name", SCHEMA_UTF8, 0 },
	{ "chunk", SCHEMA_INT64, 0 },   { "page", SCHEMA_INT64, 1 },
	{ "text", SCHEMA_UTF8, 0 },     { "chars", SCHEMA_INT64, 0 },
};

struct doc_layout {
	uint64_t *offsets;   /* nbatches + 1 */
	size_t nbatches;
	uint64_t rows;
};

struct doc_rows {
	int fd;
	uint64_t written;     /* bytes in the file */
	char *buf;
	size_t len;
	uint64_t rows;
	uint64_t *offsets;    /* start of every DOC_ROWS_PER_BATCH-th row */
	size_t noffsets, cap;
	int failed;
};

static void columns_fill(struct ingest_schema *s)
{
	s->ncols = DOC_ROWS_FIELDS;
	s->columns = xcalloc(s->ncols, sizeof *s->columns);
	for (size_t i = 0; i < s->ncols; i++) {
		s->columns[i].name = xstrdup(doc_columns[i].name);
		s->columns[i].type = schema_type_of(doc_columns[i].type);
		s->columns[i].nullable = doc_columns[i].nullable;
	}
	ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
}

const char *doc_rows_fingerprint(void)
{
	static char fp[SCHEMA_FP_LEN + 1];
	if (!fp[0]) {   /* the same bytes every time: a benign race */
		struct ingest_schema *s = ingest_schema_create(&ingest_format_documents);
		columns_fill(s);
		char tmp[SCHEMA_FP_LEN + 1];
		memcpy(tmp, s->fingerprint, sizeof tmp);
		ingest_schema_destroy(s);
		memcpy(fp, tmp, sizeof fp);
	}
	return fp;
}

struct doc_rows *doc_rows_create(int fd)
{
	struct doc_rows *w = xcalloc(1, sizeof *w);
	w->fd = fd;
	w->buf = xmalloc(DOC_ROWS_WRITE_BYTES);
	return w;
}

static int flush(struct doc_rows *w, struct lh_error *err)
{
	size_t off = 0;
	while (off < w->len) {
		ssize_t n = pwrite(w->fd, w->buf + off, w->len - off, (off_t)(w->written + off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->failed = 1;
			if (errno == ENOSPC || errno == EDQUOT)
				return lh_fail(err, 507, "insufficient_storage",
					       "the ingest spool is out of disk space");
			return lh_fail(err, 500, "io_error", "the document rows could not be spooled");
		}
		off += (size_t)n;
	}
	w->written += w->len;
	w->len = 0;
	return 0;
}

static int put_field(struct doc_rows *w, const char *p, size_t n, struct lh_error *err)
{
	unsigned char len[4] = { (unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
				 (unsigned char)(n >> 24) };
	if (n > UINT32_MAX)
		return lh_fail(err, 413, "too_large", "a chunk of text is too large");
	const char *parts[2] = { (const char *)len, p };
	size_t sizes[2] = { 4, n };
	for (int k = 0; k < 2; k++) {
		const char *src = parts[k];
		size_t left = sizes[k];
		while (left) {
			if (w->len == DOC_ROWS_WRITE_BYTES && flush(w, err) != 0)
				return -1;
			size_t take = DOC_ROWS_WRITE_BYTES - w->len;
			if (take > left)
				take = left;
			memcpy(w->buf + w->len, src, take);
			w->len += take;
			src += take;
			left -= take;
		}
	}
	return 0;
}

int doc_rows_add(struct doc_rows *w, const char *doc_id, const char *file_name, int64_t chunk,
		 int64_t page, const char *text, size_t text_len, int64_t chars,
		 struct lh_error *err)
{
	char nchunk[24], npage[24], nchars[24];
	if (w->failed)
		return lh_fail(err, 500, "internal", "the document rows writer failed before");
	if (w->rows % DOC_ROWS_PER_BATCH == 0) {                                /* 2 */
		if (w->noffsets == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 16;
			w->offsets = xrealloc(w->offsets, w->cap * sizeof *w->offsets);
		}
		w->offsets[w->noffsets++] = w->written + w->len;
	}
	snprintf(nchunk, sizeof nchunk, "%" PRId64, chunk);
	snprintf(npage, sizeof npage, "%" PRId64, page);
	snprintf(nchars, sizeof nchars, "%" PRId64, chars);
	if (put_field(w, doc_id, strlen(doc_id), err) || put_field(w, file_name, strlen(file_name), err) ||
	    put_field(w, nchunk, strlen(nchunk), err) ||
	    put_field(w, npage, page < 0 ? 0 : strlen(npage), err) ||              /* 1 */
	    put_field(w, text, text_len, err) || put_field(w, nchars, strlen(nchars), err)) {
		w->failed = 1;
		return -1;
	}
	w->rows++;
	return 0;
}

uint64_t doc_rows_count(const struct doc_rows *w)
{
	return w->rows;
}

void doc_rows_abort(struct doc_rows *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w->offsets);
	free(w);
}

int doc_rows_finish(struct doc_rows *w, struct ingest_schema **out, struct lh_error *err)
{
	*out = NULL;
	if (flush(w, err) != 0) {
		doc_rows_abort(w);
		return -1;
	}
	struct doc_layout *l = xcalloc(1, sizeof *l);
	l->nbatches = w->noffsets;
	l->rows = w->rows;
	l->offsets = xcalloc(w->noffsets + 1, sizeof *l->offsets);
	if (w->noffsets)
		memcpy(l->offsets, w->offsets, w->noffsets * sizeof *l->offsets);
	l->offsets[w->noffsets] = w->written;
	struct ingest_schema *s = ingest_schema_create(&ingest_format_documents);
	columns_fill(s);
	s->row_count = w->rows;
	s->data_end = w->written;
	s->layout = l;
	doc_rows_abort(w);
	*out = s;
	return 0;
}

/* ---- reading the spool back as batches (note 2) ------------------------ */

struct doc_source {
	int fd;
	const struct ingest_schema *s;
	const struct doc_layout *l;
};

static uint32_t get_len(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static struct batch *parse_batch(void *ctx, void *scratch, size_t i, char *msg, size_t msg_cap)
{
	struct doc_source *src = ctx;
	(void)scratch;
	uint64_t from = src->l->offsets[i], to = src->l->offsets[i + 1];
	uint64_t first = (uint64_t)i * DOC_ROWS_PER_BATCH;
	size_t nrows = (size_t)(src->l->rows - first < DOC_ROWS_PER_BATCH ? src->l->rows - first
									  : DOC_ROWS_PER_BATCH);
	size_t n = (size_t)(to - from), got = 0;
	unsigned char *data = xmalloc(n ? n : 1);
	while (got < n) {
		ssize_t r = pread(src->fd, data + got, n - got, (off_t)(from + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(data);
			snprintf(msg, msg_cap, "the document rows could not be read back");
			return NULL;
		}
		got += (size_t)r;
	}
	struct batch *b = batch_create(src->s, nrows);
	size_t pos = 0;
	for (size_t row = 0; row < nrows; row++) {
		for (size_t col = 0; col < DOC_ROWS_FIELDS; col++) {
			uint32_t len = pos + 4 <= n ? get_len(data + pos) : UINT32_MAX;
			if (len == UINT32_MAX || pos + 4 + len > n ||
			    batch_put_text(b, col, row, (const char *)data + pos + 4, len) != 0) {
				batch_free(b);
				free(data);
				snprintf(msg, msg_cap, "the document rows are damaged");
				return NULL;
			}
			pos += 4 + (size_t)len;
		}
	}
	free(data);
	return b;
}

static int doc_batches(int fd, const struct ingest_schema *s, struct ArrowArrayStream *out,
		       struct lh_error *err)
{
	(void)err;
	struct doc_source *src = xcalloc(1, sizeof *src);
	src->fd = fd;
	src->s = s;
	src->l = s->layout;
	struct batch_source bs = {
		.nchunks = src->l->nbatches, .ctx = src, .parse = parse_batch, .ctx_free = free,
	};
	batch_stream_open(s, &bs, out);
	return 0;
}

static void doc_layout_free(void *layout)
{
	struct doc_layout *l = layout;
	if (!l)
		return;
	free(l->offsets);
	free(l);
}

static int doc_sniff(const struct ingest_sniff *in)
{
	(void)in;
	return 0;   /* chosen by ?kind=documents only */
}

const struct ingest_format ingest_format_documents = {
	.name = "documents",
	.sniff = doc_sniff,
	.batches = doc_batches,
	.layout_free = doc_layout_free,
};
