/* batch.c — Arrow record batches of an inferred schema and the ordered,
 * parallel stream of them (batch.h). Format-neutral: what the CSV reader
 * (csv_reader.c) and every later input format hand the Parquet writer.
 *
 * DESIGN NOTES
 *   1. A batch is one Arrow struct array whose children are the columns:
 *      bool "b" (bit-packed), int64 "l", float64 "g", date32 "tdD",
 *      timestamp "tsu:" and zoned "tsu:UTC" (micros, already UTC), utf8
 *      "u" (bytes verbatim), the formats schema_type_arrow() spells.
 *      Values are converted with schema.h's and calendar.h's parsers, the
 *      same code that decided the column types (ADR 0021). Empty values are
 *      nulls in the validity bitmap, utf8 included. A column cast to the
 *      dataset's type (cast.h, ADR 0170) is filled as that type: utf8 takes
 *      the text verbatim, float64's parser takes int64 text, and a date
 *      cast into timestamp[us] is parsed as a date (its midnight). A
 *      declared decimal(p,s) (ADR 0171) is "d:p,s", Arrow's decimal128:
 *      16 bytes per value, the unscaled integer in little-endian two's
 *      complement (what __int128 is on every target we build for).
 *   2. "u" has int32 offsets: a batch's string bytes are at most its chunk's
 *      bytes; a format keeps its chunks under 2 GiB (the CSV reader's are
 *      under INFER_CHUNK_BYTES + LH_CSV_MAX_RECORD_BYTES, 66 MiB, a static
 *      assert in csv_reader.c).
 *   3. Chunk i becomes batch i; get_next() hands batches out strictly in
 *      chunk order, so a consumer that numbers them (DuckDB's arrow scan
 *      declares batch indexes) keeps the input's row order (ADR 0020).
 *   4. Parsing runs ahead of the consumer: BATCH_PRODUCERS threads (started
 *      on the first get_next) claim chunks in order; a chunk is claimed only
 *      while it is fewer than BATCH_RING ahead of the next batch to hand
 *      out, so at most BATCH_RING parsed batches wait. Memory:
 *      (BATCH_RING + BATCH_PRODUCERS + consumer threads) batches of about
 *      one chunk plus each producer's scratch.
 *   5. Ownership (Arrow C data interface): a batch handed out belongs to the
 *      consumer, which calls the root release exactly once, from any thread;
 *      the root release frees every child. Release callbacks touch only the
 *      batch, never the stream, so they are safe after the stream is gone.
 *      The Arrow schema is the stream's for its whole life: DuckDB's arrow
 *      scan keeps the schemas it obtains without releasing them, so
 *      get_schema() hands out views of one persistent schema whose release
 *      only marks it released.
 *   6. A parse failure stops the producers and makes get_next() fail with
 *      the format's message, which the consumer reports (DuckDB's COPY
 *      error). The stream's release stops and joins the producers before
 *      anything they use is freed, on every path.
 */
#include "ingestd/batch.h"

#include "common/calendar.h"
#include "common/schema.h"
#include "common/xmalloc.h"
#include "ingestd/format.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- record batches (notes 1, 2, 5) ----------------------------------- */

struct col_buf {                 /* a child array's private data */
	const void *bufs[3];     /* validity, values or offsets, string data */
	uint8_t *validity;
	void *values;            /* fixed width values, bool bits, or int32 offsets */
	char *data;              /* utf8 bytes */
	size_t data_cap, data_len;
};

struct batch {                   /* the root array's private data */
	struct ArrowArray root;
	struct ArrowArray *children;
	struct ArrowArray **child_ptrs;
	const void *root_bufs[1];
	size_t ncols;
	const struct ingest_column *cols;   /* types while filling (not owned) */
};

static void child_release(struct ArrowArray *a)
{
	struct col_buf *c = a->private_data;
	free(c->validity);
	free(c->values);
	free(c->data);
	free(c);
	a->release = NULL;
}

void batch_free(struct batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->ncols; i++)
		if (b->children[i].release)
			b->children[i].release(&b->children[i]);
	free(b->children);
	free(b->child_ptrs);
	free(b);
}

static void batch_release(struct ArrowArray *a)
{
	batch_free(a->private_data);
	a->release = NULL;
}

static size_t value_width(enum schema_type_id t)
{
	switch (t) {
	case SCHEMA_BOOL:
		return 0;       /* bit-packed */
	case SCHEMA_DATE32:
		return 4;
	case SCHEMA_UTF8:
		return 4;       /* int32 offsets, nrows + 1 */
	case SCHEMA_DECIMAL:
		return 16;      /* decimal128, little-endian two's complement */
	default:
		return 8;
	}
}

struct batch *batch_create(const struct ingest_schema *s, size_t nrows)
{
	struct batch *b = xcalloc(1, sizeof *b);
	size_t nbits = (nrows + 7) / 8;
	b->ncols = s->ncols;
	b->cols = s->columns;
	b->children = xcalloc(s->ncols, sizeof *b->children);
	b->child_ptrs = xmalloc(s->ncols * sizeof *b->child_ptrs);
	for (size_t i = 0; i < s->ncols; i++) {
		enum schema_type_id t = s->columns[i].type.id;
		struct col_buf *c = xcalloc(1, sizeof *c);
		struct ArrowArray *a = &b->children[i];
		c->validity = xmalloc(nbits ? nbits : 1);
		memset(c->validity, 0xff, nbits);
		if (t == SCHEMA_BOOL) {
			c->values = xcalloc(nbits ? nbits : 1, 1);
		} else if (t == SCHEMA_UTF8) {
			c->values = xmalloc((nrows + 1) * 4);
			((int32_t *)c->values)[0] = 0;
			c->data_cap = 64u << 10;
			c->data = xmalloc(c->data_cap);
		} else {
			c->values = xcalloc(nrows ? nrows : 1, value_width(t));
		}
		c->bufs[0] = c->validity;
		c->bufs[1] = c->values;
		c->bufs[2] = c->data;
		a->length = (int64_t)nrows;
		a->n_buffers = t == SCHEMA_UTF8 ? 3 : 2;
		a->buffers = c->bufs;
		a->release = child_release;
		a->private_data = c;
		b->child_ptrs[i] = a;
	}
	b->root.length = (int64_t)nrows;
	b->root.n_buffers = 1;
	b->root.buffers = b->root_bufs;
	b->root.n_children = (int64_t)s->ncols;
	b->root.children = b->child_ptrs;
	b->root.release = batch_release;
	b->root.private_data = b;
	return b;
}

int batch_put_text(struct batch *b, size_t col, size_t row, const char *p, size_t n)
{
	struct ArrowArray *a = &b->children[col];
	enum schema_type_id t = b->cols[col].type.id;
	struct col_buf *c = a->private_data;
	if (n == 0) {
		c->validity[row >> 3] &= (uint8_t)~(1u << (row & 7));
		a->null_count++;
		if (t == SCHEMA_UTF8)
			((int32_t *)c->values)[row + 1] = (int32_t)c->data_len;
		return 0;
	}
	switch (t) {
	case SCHEMA_BOOL: {
		int v;
		if (schema_parse_bool(p, n, &v))
			return -1;
		if (v)
			((uint8_t *)c->values)[row >> 3] |= (uint8_t)(1u << (row & 7));
		return 0;
	}
	case SCHEMA_INT64:
		return schema_parse_int64(p, n, &((int64_t *)c->values)[row]);
	case SCHEMA_FLOAT64:
		return schema_parse_float64(p, n, &((double *)c->values)[row]);
	case SCHEMA_DATE32:
		return calendar_parse_date(p, n, &((int32_t *)c->values)[row]);
	case SCHEMA_TIMESTAMP:
	case SCHEMA_TIMESTAMPTZ: {
		int zoned;
		if (b->cols[col].cast && b->cols[col].from.id == SCHEMA_DATE32) {
			/* a date cast into a timestamp[us] column: its midnight */
			int32_t days;
			if (calendar_parse_date(p, n, &days))
				return -1;
			((int64_t *)c->values)[row] = (int64_t)days * INT64_C(86400000000);
			return 0;
		}
		if (calendar_parse_timestamp(p, n, &((int64_t *)c->values)[row], &zoned))
			return -1;
		return zoned == (t == SCHEMA_TIMESTAMPTZ) ? 0 : -1;
	}
	case SCHEMA_DECIMAL: {
		/* declared only (ADR 0171): the unscaled value, never rounded */
		__int128 v;
		if (schema_parse_decimal(p, n, &b->cols[col].type, &v))
			return -1;
		memcpy((char *)c->values + 16 * row, &v, 16);
		return 0;
	}
	case SCHEMA_UTF8:
	default:
		if (c->data_len + n > c->data_cap) {
			while (c->data_len + n > c->data_cap)
				c->data_cap *= 2;
			c->data = xrealloc(c->data, c->data_cap);
			c->bufs[2] = c->data;
		}
		memcpy(c->data + c->data_len, p, n);
		c->data_len += n;
		((int32_t *)c->values)[row + 1] = (int32_t)c->data_len;
		return 0;
	}
}

/* ---- the stream and its producers (notes 3, 4, 6) --------------------- */

struct feed {                    /* the stream's private data */
	const struct ingest_schema *schema;
	struct batch_source src;
	struct ArrowSchema schema_root;  /* note 5: persistent */
	struct ArrowSchema *schema_cols;
	struct ArrowSchema **schema_ptrs;
	char (*formats)[SCHEMA_TYPE_NAME_MAX];  /* parameterised types' format strings */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next_parse;               /* next chunk a producer claims */
	size_t next_out;                 /* next batch get_next hands out */
	struct batch *ring[BATCH_RING];     /* batch i waits in ring[i % BATCH_RING] */
	int started, stop, failed;
	pthread_t threads[BATCH_PRODUCERS];
	size_t nthreads;
	char errmsg[256];
};

static void schema_release(struct ArrowSchema *s)
{
	s->release = NULL;       /* note 5: the memory is the feed's */
}

static void *producer_main(void *arg)
{
	struct feed *f = arg;
	void *scratch = f->src.scratch_create ? f->src.scratch_create(f->src.ctx) : NULL;
	char msg[sizeof f->errmsg];
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->stop && !f->failed && f->next_parse < f->src.nchunks &&
		       f->next_parse >= f->next_out + BATCH_RING)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->stop || f->failed || f->next_parse >= f->src.nchunks)
			break;
		size_t i = f->next_parse++;
		pthread_mutex_unlock(&f->lock);
		msg[0] = 0;
		struct batch *b = f->src.parse(f->src.ctx, scratch, i, msg, sizeof msg);
		pthread_mutex_lock(&f->lock);
		if (!b) {
			if (!f->failed)
				snprintf(f->errmsg, sizeof f->errmsg, "%s", msg);
			f->failed = 1;
			pthread_cond_broadcast(&f->cond);
			break;
		}
		f->ring[i % BATCH_RING] = b;       /* free: batch i - BATCH_RING was taken */
		pthread_cond_broadcast(&f->cond);
	}
	pthread_mutex_unlock(&f->lock);
	if (f->src.scratch_destroy)
		f->src.scratch_destroy(scratch);
	return NULL;
}

static int stream_get_schema(struct ArrowArrayStream *st, struct ArrowSchema *out)
{
	struct feed *f = st->private_data;
	*out = f->schema_root;
	return 0;
}

static int stream_get_next(struct ArrowArrayStream *st, struct ArrowArray *out)
{
	struct feed *f = st->private_data;
	int rc = 0;
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&f->lock);
	if (!f->started) {
		f->started = 1;
		size_t want = f->src.nchunks < BATCH_PRODUCERS ? f->src.nchunks : BATCH_PRODUCERS;
		for (size_t k = 0; k < want; k++) {
			if (pthread_create(&f->threads[k], NULL, producer_main, f) != 0) {
				snprintf(f->errmsg, sizeof f->errmsg, "could not start a parsing thread");
				f->failed = 1;
				break;
			}
			f->nthreads++;
		}
	}
	size_t i = f->next_out;
	while (!f->failed && i < f->src.nchunks && !f->ring[i % BATCH_RING])
		pthread_cond_wait(&f->cond, &f->lock);
	if (f->failed) {
		rc = EIO;
	} else if (i < f->src.nchunks) {
		struct batch *b = f->ring[i % BATCH_RING];
		f->ring[i % BATCH_RING] = NULL;
		f->next_out++;
		*out = b->root;          /* move: the consumer releases it (note 5) */
		b->root.release = NULL;
		pthread_cond_broadcast(&f->cond);
	}                                /* else: end of stream, out->release NULL */
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static const char *stream_last_error(struct ArrowArrayStream *st)
{
	struct feed *f = st->private_data;
	return f->errmsg[0] ? f->errmsg : NULL;
}

static struct feed *feed_create(const struct ingest_schema *s, const struct batch_source *src)
{
	struct feed *f = xcalloc(1, sizeof *f);
	f->schema = s;
	f->src = *src;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->schema_cols = xcalloc(s->ncols ? s->ncols : 1, sizeof *f->schema_cols);
	f->formats = xcalloc(s->ncols ? s->ncols : 1, sizeof *f->formats);
	f->schema_ptrs = xcalloc(s->ncols ? s->ncols : 1, sizeof *f->schema_ptrs);
	for (size_t i = 0; i < s->ncols; i++) {
		struct ArrowSchema *c = &f->schema_cols[i];
		c->format = schema_type_arrow(&s->columns[i].type, f->formats[i]);
		c->name = s->columns[i].name;
		c->flags = ARROW_FLAG_NULLABLE;
		c->release = schema_release;
		f->schema_ptrs[i] = c;
	}
	f->schema_root.format = "+s";
	f->schema_root.name = "";
	f->schema_root.n_children = (int64_t)s->ncols;
	f->schema_root.children = f->schema_ptrs;
	f->schema_root.release = schema_release;
	return f;
}

/* The stream's release: stop and join the producers, free what was never
 * handed out (note 6). */
static void stream_release(struct ArrowArrayStream *st)
{
	struct feed *f = st->private_data;
	st->release = NULL;
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (size_t k = 0; k < f->nthreads; k++)
		pthread_join(f->threads[k], NULL);
	for (size_t k = 0; k < BATCH_RING; k++)
		if (f->ring[k])
			batch_free(f->ring[k]);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->schema_cols);
	free(f->schema_ptrs);
	free(f->formats);
	if (f->src.ctx_free)
		f->src.ctx_free(f->src.ctx);
	free(f);
}

void batch_stream_open(const struct ingest_schema *s, const struct batch_source *src,
		       struct ArrowArrayStream *out)
{
	memset(out, 0, sizeof *out);
	out->get_schema = stream_get_schema;
	out->get_next = stream_get_next;
	out->get_last_error = stream_last_error;
	out->release = stream_release;
	out->private_data = feed_create(s, src);
}

