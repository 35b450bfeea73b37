/* segment.c — index parts: writing one from rows, opening one in place
 * (segment.h has the layout).
 *
 * DESIGN NOTES
 *  1. The builder keeps what it is given in growable arrays (texts go
 *     straight into the text index builder; vectors and row JSON are
 *     copied) and lays the file out once at finish: header, text section,
 *     vectors, graph, row store, each 8-byte aligned so a mapped file can
 *     be read as floats and u64s in place.
 *  2. segment_open trusts nothing: every section must lie inside the file,
 *     sizes must agree with rows * dim, the row store's ends must be
 *     non-decreasing and inside it, and the text and graph sections must
 *     open (their own readers validate them).
 */
#include "search/segment.h"

#include "search/ann.h"
#include "search/text_index.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct segment_builder {
	unsigned dim;
	char object_sha[LH_SHA256_HEX_LEN + 1];
	uint32_t rows;
	struct text_builder *text;
	float *vecs;             /* rows * dim */
	size_t vec_cap;          /* rows allocated */
	char *store;             /* the rows' JSON, concatenated */
	size_t store_len, store_cap;
	uint64_t *ends;          /* rows: end offset of each row in store */
};

struct segment_builder *segment_builder_new(unsigned dim, const char *object_sha)
{
	struct segment_builder *b = xcalloc(1, sizeof *b);
	b->dim = dim;
	snprintf(b->object_sha, sizeof b->object_sha, "%s", object_sha ? object_sha : "");
	b->text = text_builder_new();
	return b;
}

void segment_builder_add(struct segment_builder *b, const char *text, size_t text_len,
			 const float *vec, const char *row_json, size_t row_len)
{
	if (b->rows == b->vec_cap) {
		b->vec_cap = b->vec_cap ? b->vec_cap * 2 : 1024;
		b->vecs = xrealloc(b->vecs, b->vec_cap * b->dim * sizeof *b->vecs);
		b->ends = xrealloc(b->ends, b->vec_cap * sizeof *b->ends);
	}
	text_builder_add(b->text, b->rows, text, text_len);
	memcpy(b->vecs + (size_t)b->rows * b->dim, vec, b->dim * sizeof *vec);
	if (b->store_len + row_len > b->store_cap) {
		size_t cap = b->store_cap ? b->store_cap : 1u << 16;
		while (cap < b->store_len + row_len)
			cap *= 2;
		b->store = xrealloc(b->store, cap);
		b->store_cap = cap;
	}
	memcpy(b->store + b->store_len, row_json, row_len);
	b->store_len += row_len;
	b->ends[b->rows++] = b->store_len;
}

uint32_t segment_builder_rows(const struct segment_builder *b)
{
	return b->rows;
}

float *segment_builder_vectors(struct segment_builder *b)
{
	return b->vecs;
}

void segment_builder_free(struct segment_builder *b)
{
	if (!b)
		return;
	text_builder_free(b->text);
	free(b->vecs);
	free(b->ends);
	free(b->store);
	free(b);
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

struct sink {
	segment_sink_fn fn;
	void *ctx;
	uint64_t written;
	int failed;
};

static void emit(struct sink *k, const void *data, size_t n)
{
	if (k->failed || n == 0)
		return;
	if (k->fn(k->ctx, data, n))
		k->failed = 1;
	else
		k->written += n;
}

static void emit_pad8(struct sink *k)
{
	static const char zeros[8];
	emit(k, zeros, (size_t)((8 - k->written % 8) % 8));
}

/* Note 1. */
int segment_builder_write(struct segment_builder *b, const struct ann_params *ann,
			  segment_sink_fn fn, void *ctx, struct lh_error *err)
{
	struct lh_buf text, graph;
	unsigned char hdr[SEGMENT_HEADER_BYTES];
	struct sink k = { fn, ctx, 0, 0 };
	int rc = -1;
	lh_buf_init(&text, (size_t)1 << 40);
	lh_buf_init(&graph, (size_t)1 << 40);
	struct text_builder *tb = b->text;
	b->text = NULL;
	if (text_builder_finish(tb, &text, err))
		goto out;
	if (ann && b->rows > 0 &&
	    ann_build(b->vecs, b->rows, b->dim, ann, &graph, err))
		goto out;
	uint64_t vec_len = (uint64_t)b->rows * b->dim * sizeof(float);
	uint64_t store_len = (uint64_t)b->rows * 8 + b->store_len;
	uint64_t off = SEGMENT_HEADER_BYTES;
	uint64_t text_off = off;
	off += (text.len + 7) / 8 * 8;
	uint64_t vec_off = off;
	off += vec_len;
	uint64_t ann_off = graph.len ? off : 0;
	off += (graph.len + 7) / 8 * 8;
	uint64_t store_off = off;
	off += (store_len + 7) / 8 * 8;
	memset(hdr, 0, sizeof hdr);
	memcpy(hdr, SEGMENT_MAGIC, 8);
	put_u32(hdr + 8, b->rows);
	put_u32(hdr + 12, b->dim);
	put_u64(hdr + 16, text_off);
	put_u64(hdr + 24, text.len);
	put_u64(hdr + 32, vec_off);
	put_u64(hdr + 40, vec_len);
	put_u64(hdr + 48, ann_off);
	put_u64(hdr + 56, graph.len);
	put_u64(hdr + 64, store_off);
	put_u64(hdr + 72, store_len);
	put_u64(hdr + 80, off);
	memcpy(hdr + 96, b->object_sha, strlen(b->object_sha));
	emit(&k, hdr, sizeof hdr);
	emit(&k, text.data, text.len);
	lh_buf_free(&text);
	emit_pad8(&k);
	emit(&k, b->vecs, vec_len);
	free(b->vecs);
	b->vecs = NULL;
	emit(&k, graph.data, graph.len);
	lh_buf_free(&graph);
	emit_pad8(&k);
	for (uint32_t i = 0; i < b->rows; i++) {
		unsigned char e[8];
		put_u64(e, b->ends[i]);
		emit(&k, e, 8);
	}
	emit(&k, b->store, b->store_len);
	emit_pad8(&k);
	if (k.failed || k.written != off) {
		lh_fail(err, 507, "index_too_large", "the index part of %u rows could not be written "
			"(%" PRIu64 " bytes)", b->rows, off);
		goto out;
	}
	rc = 0;
out:
	lh_buf_free(&text);
	lh_buf_free(&graph);
	segment_builder_free(b);
	return rc;
}

static int buf_sink(void *ctx, const void *data, size_t n)
{
	return lh_buf_append(ctx, data, n);
}

int segment_builder_finish(struct segment_builder *b, const struct ann_params *ann,
			   struct lh_buf *out, struct lh_error *err)
{
	return segment_builder_write(b, ann, buf_sink, out, err);
}

int segment_fd_sink(void *ctx, const void *data, size_t n)
{
	int fd = *(int *)ctx;
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct segment {
	char object_sha[LH_SHA256_HEX_LEN + 1];
	const unsigned char *base;
	size_t len;
	uint32_t rows;
	unsigned dim;
	struct text_index *text;
	struct ann *ann;
	const float *vecs;
	const unsigned char *ends;   /* u64[rows], unaligned reads */
	const char *store;
	uint64_t store_bytes;
};

static int bad_part(struct lh_error *err, const char *what)
{
	return lh_fail(err, 502, "bad_index_part", "an index part is damaged: %s", what);
}

/* Note 2: [off, off+len) inside the file and 8-aligned. */
static int section_ok(uint64_t off, uint64_t len, size_t file_len)
{
	return off >= SEGMENT_HEADER_BYTES && off % 8 == 0 && off <= file_len &&
	       len <= file_len - off;
}

struct segment *segment_open(const void *bytes, size_t len, struct lh_error *err)
{
	const unsigned char *p = bytes;
	struct segment *s = NULL;
	if (len < SEGMENT_HEADER_BYTES || memcmp(p, SEGMENT_MAGIC, 8)) {
		bad_part(err, "it does not start with an index part header");
		return NULL;
	}
	uint32_t rows = get_u32(p + 8), dim = get_u32(p + 12);
	uint64_t text_off = get_u64(p + 16), text_len = get_u64(p + 24);
	uint64_t vec_off = get_u64(p + 32), vec_len = get_u64(p + 40);
	uint64_t ann_off = get_u64(p + 48), ann_len = get_u64(p + 56);
	uint64_t store_off = get_u64(p + 64), store_len = get_u64(p + 72);
	if (get_u64(p + 80) != len) {
		bad_part(err, "its length is not the one its header gives");
		return NULL;
	}
	if (dim == 0 || dim > 4096 || !section_ok(text_off, text_len, len) ||
	    !section_ok(vec_off, vec_len, len) || vec_len != (uint64_t)rows * dim * sizeof(float) ||
	    (ann_len && !section_ok(ann_off, ann_len, len)) ||
	    !section_ok(store_off, store_len, len) || store_len / 8 < rows) {
		bad_part(err, "a section lies outside the file or has the wrong size");
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	memcpy(s->object_sha, p + 96, LH_SHA256_HEX_LEN);
	s->base = p;
	s->len = len;
	s->rows = rows;
	s->dim = dim;
	s->vecs = (const float *)(const void *)(p + vec_off);
	s->ends = p + store_off;
	s->store = (const char *)p + store_off + (uint64_t)rows * 8;
	s->store_bytes = store_len - (uint64_t)rows * 8;
	uint64_t prev = 0;
	for (uint32_t i = 0; i < rows; i++) {
		uint64_t e = get_u64(s->ends + (size_t)i * 8);
		if (e < prev || e > s->store_bytes) {
			bad_part(err, "its row store is out of order");
			goto fail;
		}
		prev = e;
	}
	s->text = text_index_open(p + text_off, text_len, err);
	if (!s->text)
		goto fail;
	if (text_index_docs(s->text) != rows) {
		bad_part(err, "its text index does not cover its rows");
		goto fail;
	}
	if (ann_len) {
		s->ann = ann_view(p + ann_off, ann_len, dim, err);
		if (!s->ann)
			goto fail;
		if (ann_size(s->ann) != rows) {   /* its keys index the rows */
			bad_part(err, "its graph does not cover its rows");
			goto fail;
		}
	}
	return s;
fail:
	segment_close(s);
	return NULL;
}

void segment_close(struct segment *s)
{
	if (!s)
		return;
	if (s->text)
		text_index_close(s->text);
	if (s->ann)
		ann_close(s->ann);
	free(s);
}

const char *segment_object_sha(const struct segment *s)
{
	return s->object_sha;
}

uint32_t segment_rows(const struct segment *s)
{
	return s->rows;
}

unsigned segment_dim(const struct segment *s)
{
	return s->dim;
}

const struct text_index *segment_text(const struct segment *s)
{
	return s->text;
}

const struct ann *segment_ann(const struct segment *s)
{
	return s->ann;
}

const float *segment_vector(const struct segment *s, uint32_t row)
{
	return s->vecs + (size_t)row * s->dim;
}

const char *segment_row(const struct segment *s, uint32_t row, size_t *len)
{
	uint64_t start = row ? get_u64(s->ends + (size_t)(row - 1) * 8) : 0;
	uint64_t end = get_u64(s->ends + (size_t)row * 8);
	*len = (size_t)(end - start);
	return s->store + start;
}

char *segment_key(const char *fingerprint, const float *pc, unsigned dim, const char *object_sha,
		  uint32_t part_rows, uint32_t chunk)
{
	const char *hex = strncmp(fingerprint, "sha256:", 7) ? fingerprint : fingerprint + 7;
	char comp[LH_SHA256_HEX_LEN + 1];
	if (pc) {
		/* the floats' bytes, little-endian whatever the host */
		struct sha256 *h = sha256_create();
		for (unsigned i = 0; i < dim; i++) {
			uint32_t bits;
			unsigned char le[4];
			memcpy(&bits, &pc[i], 4);
			put_u32(le, bits);
			sha256_update(h, le, 4);
		}
		sha256_finish_hex(h, comp);   /* frees h */
	} else {
		snprintf(comp, sizeof comp, "%s", "none");
	}
	return xasprintf("_index/%.16s/%.16s/%s/%" PRIu32 ".%" PRIu32, hex, comp, object_sha,
			 part_rows, chunk);
}
