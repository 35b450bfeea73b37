/* parquet_writer.c — CSV -> Parquet through DuckDB's C API; the only file of
 * ingestd that includes <duckdb.h>.
 *
 * Design notes:
 *   1. One in-memory DuckDB per conversion, configured from the options
 *      (memory_limit, threads, temp_directory, preserve_insertion_order).
 *      It holds no tables; the only data path is an Arrow C stream
 *      (arrow_abi.h) registered as a view with duckdb_arrow_scan(), then
 *      COPY (SELECT * FROM view) TO '<out>' (FORMAT parquet, COMPRESSION
 *      snappy).
 *   2. Why Arrow and not a C-API table function (ADR 0020): DuckDB's arrow
 *      scan declares batch indexes (get_partition_data); each DuckDB thread
 *      takes the next record batch from the stream under the scan's mutex
 *      and numbers it. With preserve_insertion_order DuckDB then plans the
 *      order-preserving parallel (FIXED_)BATCH_COPY_TO_FILE, so Parquet
 *      encoding runs on every thread while rows stay in file order. A C-API
 *      table function has no batch index and forces a one-thread COPY.
 *   3. Batch i is chunk i of the chunk index inference built: it starts at a
 *      record start, so it is scanned on its own with csv_scan_record() (the
 *      one dialect) from its recorded line; its row count is known from the
 *      index. get_next() hands batches out strictly in file order.
 *   4. Parsing runs ahead of DuckDB: PQ_PRODUCERS threads (started on the
 *      first get_next) claim chunks in order and parse them into batches; a
 *      chunk is claimed only while it is fewer than PQ_RING ahead of the next
 *      batch to hand out, so at most PQ_RING parsed batches wait. Memory:
 *      (PQ_RING + PQ_PRODUCERS + DuckDB threads) batches of about one chunk's
 *      bytes plus 4-8 bytes per value, and one chunk read buffer per
 *      producer.
 *   5. Values are converted with schema.h's parsers, the same code that
 *      decided the column types, into Arrow buffers: bool "b" (bit-packed),
 *      int64 "l", float64 "g", date32 "tdD", timestamp "tsu:" and zoned
 *      "tsu:UTC" (micros, already UTC), utf8 "u" (bytes verbatim). "u" has
 *      int32 offsets: a batch's string bytes are at most its chunk's bytes,
 *      which are under INFER_CHUNK_BYTES + LH_CSV_MAX_RECORD_BYTES (66 MiB),
 *      far below 2 GiB. Empty fields are nulls in the validity bitmap.
 *   6. Ownership (Arrow C data interface): a batch handed out belongs to
 *      DuckDB, which calls the root release exactly once, from any thread;
 *      the root release frees every child (each child's own release frees
 *      its buffers). Release callbacks touch only the batch, never the feed,
 *      so they are safe after the conversion's state is gone. The schema is
 *      owned by the feed for the whole conversion: duckdb_arrow_scan() keeps
 *      the schemas it obtains without releasing them (it nulls their release
 *      callbacks), so get_schema() hands out views of one persistent schema
 *      whose release only marks it released. The stream itself is embedded
 *      in the feed; DuckDB copies it and never releases it.
 *   7. A parse error (a CSV changed after inference, a read error) or the
 *      caller's cancel flag (checked by the producers and by get_next under
 *      the lock, which also wakes them) stops the
 *      producers and makes get_next() fail with the message, which surfaces
 *      as the COPY's error; the partial output file is then removed. On
 *      every path the producers are stopped and joined before the feed is
 *      freed.
 */
#include "ingestd/parquet_writer.h"

#include "common/calendar.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/schema.h"
#include "common/xmalloc.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/csv.h"
#include "ingestd/infer.h"

/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PQ_PRODUCERS 2   /* parsing threads (note 4) */
#define PQ_RING 4        /* parsed batches waiting for DuckDB, at most */

_Static_assert(INFER_CHUNK_BYTES + (uint64_t)LH_CSV_MAX_RECORD_BYTES < (1ull << 31),
	       "utf8 int32 offsets need a batch's string bytes under 2 GiB (note 5)");

/* ---- record batches (notes 5, 6) -------------------------------------- */

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

static void batch_free(struct batch *b)
{
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
	default:
		return 8;
	}
}

static struct batch *batch_create(const struct ingest_schema *s, size_t nrows)
{
	struct batch *b = xcalloc(1, sizeof *b);
	size_t nbits = (nrows + 7) / 8;
	b->ncols = s->ncols;
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

/* Store field f of row `row` in column c of type t. Returns 0, or -1 if the
 * value does not match the column's type (the CSV changed). */
static int put_value(struct ArrowArray *a, enum schema_type_id t, size_t row,
		     const struct csv_field *f)
{
	struct col_buf *c = a->private_data;
	if (f->len == 0) {
		c->validity[row >> 3] &= (uint8_t)~(1u << (row & 7));
		a->null_count++;
		if (t == SCHEMA_UTF8)
			((int32_t *)c->values)[row + 1] = (int32_t)c->data_len;
		return 0;
	}
	switch (t) {
	case SCHEMA_BOOL: {
		int v;
		if (schema_parse_bool(f->ptr, f->len, &v))
			return -1;
		if (v)
			((uint8_t *)c->values)[row >> 3] |= (uint8_t)(1u << (row & 7));
		return 0;
	}
	case SCHEMA_INT64:
		return schema_parse_int64(f->ptr, f->len, &((int64_t *)c->values)[row]);
	case SCHEMA_FLOAT64:
		return schema_parse_float64(f->ptr, f->len, &((double *)c->values)[row]);
	case SCHEMA_DATE32:
		return calendar_parse_date(f->ptr, f->len, &((int32_t *)c->values)[row]);
	case SCHEMA_TIMESTAMP:
	case SCHEMA_TIMESTAMPTZ: {
		int zoned;
		if (calendar_parse_timestamp(f->ptr, f->len, &((int64_t *)c->values)[row], &zoned))
			return -1;
		return zoned == (t == SCHEMA_TIMESTAMPTZ) ? 0 : -1;
	}
	case SCHEMA_UTF8:
	default:
		if (c->data_len + f->len > c->data_cap) {
			while (c->data_len + f->len > c->data_cap)
				c->data_cap *= 2;
			c->data = xrealloc(c->data, c->data_cap);
			c->bufs[2] = c->data;
		}
		memcpy(c->data + c->data_len, f->ptr, f->len);
		c->data_len += f->len;
		((int32_t *)c->values)[row + 1] = (int32_t)c->data_len;
		return 0;
	}
}

/* ---- the stream and its producers (notes 3, 4, 7) --------------------- */

struct feed {
	struct ArrowArrayStream stream;  /* private_data = this feed */
	int fd;
	const struct ingest_schema *schema;
	struct ArrowSchema schema_root;  /* note 6: persistent */
	struct ArrowSchema *schema_cols;
	struct ArrowSchema **schema_ptrs;
	char (*formats)[SCHEMA_TYPE_NAME_MAX];  /* parameterised types' format strings */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next_parse;               /* next chunk a producer claims */
	size_t next_out;                 /* next batch get_next hands out */
	struct batch *ring[PQ_RING];     /* batch i waits in ring[i % PQ_RING] */
	int started, stop, failed;
	atomic_int *cancel;              /* the caller's flag, or NULL */
	pthread_t threads[PQ_PRODUCERS];
	size_t nthreads;
	uint64_t rows_out;
	char errmsg[256];
};

/* One producer's scratch: the chunk read buffer and a scanner. */
struct producer {
	char *buf;
	size_t cap;
	struct csv_scanner sc;
};

static void schema_release(struct ArrowSchema *s)
{
	s->release = NULL;       /* note 6: the memory is the feed's */
}

/* Parse chunk i into a new batch. Returns it, or NULL with msg filled. */
static struct batch *parse_chunk(struct feed *f, struct producer *p, size_t i, char *msg,
				 size_t msg_cap)
{
	const struct ingest_schema *s = f->schema;
	const struct ingest_chunk *ch = &s->chunks[i];
	uint64_t end = i + 1 < s->nchunks ? s->chunks[i + 1].offset : s->data_end;
	uint64_t rows_end = i + 1 < s->nchunks ? s->chunks[i + 1].first_row : s->row_count;
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
		ssize_t r = pread(f->fd, p->buf + got, n - got, (off_t)(ch->offset + got));
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
		for (size_t k = 0; k < s->ncols; k++) {
			if (put_value(&b->children[k], s->columns[k].type.id, row, &p->sc.fields[k])) {
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

/* With f->lock held: if the caller cancelled, fail the feed (once) so that
 * get_next() errors and DuckDB abandons the COPY; returns f->failed. */
static int check_cancel(struct feed *f)
{
	if (!f->failed && f->cancel && atomic_load(f->cancel)) {
		snprintf(f->errmsg, sizeof f->errmsg, "cancelled");
		f->failed = 1;
		pthread_cond_broadcast(&f->cond);
	}
	return f->failed;
}

static void *producer_main(void *arg)
{
	struct feed *f = arg;
	struct producer p = { 0 };
	char msg[sizeof f->errmsg];
	csv_scanner_init(&p.sc);
	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->stop && !check_cancel(f) && f->next_parse < f->schema->nchunks &&
		       f->next_parse >= f->next_out + PQ_RING)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->stop || check_cancel(f) || f->next_parse >= f->schema->nchunks)
			break;
		size_t i = f->next_parse++;
		pthread_mutex_unlock(&f->lock);
		struct batch *b = parse_chunk(f, &p, i, msg, sizeof msg);
		pthread_mutex_lock(&f->lock);
		if (!b) {
			if (!f->failed)
				snprintf(f->errmsg, sizeof f->errmsg, "%s", msg);
			f->failed = 1;
			pthread_cond_broadcast(&f->cond);
			break;
		}
		f->ring[i % PQ_RING] = b;       /* free: batch i - PQ_RING was taken */
		pthread_cond_broadcast(&f->cond);
	}
	pthread_mutex_unlock(&f->lock);
	csv_scanner_free(&p.sc);
	free(p.buf);
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
		size_t want = f->schema->nchunks < PQ_PRODUCERS ? f->schema->nchunks : PQ_PRODUCERS;
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
	while (!check_cancel(f) && i < f->schema->nchunks && !f->ring[i % PQ_RING])
		pthread_cond_wait(&f->cond, &f->lock);
	if (f->failed) {
		rc = EIO;
	} else if (i < f->schema->nchunks) {
		struct batch *b = f->ring[i % PQ_RING];
		f->ring[i % PQ_RING] = NULL;
		f->next_out++;
		f->rows_out += (uint64_t)b->root.length;
		*out = b->root;          /* move: DuckDB releases it (note 6) */
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

static void stream_release(struct ArrowArrayStream *st)
{
	st->release = NULL;      /* note 6: the feed owns the memory */
}

static struct feed *feed_create(int fd, const struct ingest_schema *s, atomic_int *cancel)
{
	struct feed *f = xcalloc(1, sizeof *f);
	f->fd = fd;
	f->schema = s;
	f->cancel = cancel;
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
	f->stream.get_schema = stream_get_schema;
	f->stream.get_next = stream_get_next;
	f->stream.get_last_error = stream_last_error;
	f->stream.release = stream_release;
	f->stream.private_data = f;
	return f;
}

/* Stop and join the producers, free what was never handed out (note 7). */
static void feed_destroy(struct feed *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (size_t k = 0; k < f->nthreads; k++)
		pthread_join(f->threads[k], NULL);
	for (size_t k = 0; k < PQ_RING; k++)
		if (f->ring[k])
			batch_free(f->ring[k]);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->schema_cols);
	free(f->schema_ptrs);
	free(f->formats);
	free(f);
}

/* 'path' as an SQL string literal (single quotes doubled); caller frees. */
static char *sql_quote(const char *path)
{
	size_t n = strlen(path), k = 0;
	char *q = xmalloc(2 * n + 3);
	q[k++] = '\'';
	for (size_t i = 0; i < n; i++) {
		if (path[i] == '\'')
			q[k++] = '\'';
		q[k++] = path[i];
	}
	q[k++] = '\'';
	q[k] = 0;
	return q;
}

static int set_config(duckdb_config cfg, const char *name, const char *value,
		      struct lh_error *err)
{
	if (duckdb_set_config(cfg, name, value) == DuckDBError)
		return lh_fail(err, 500, "convert_failed", "invalid DuckDB setting %s=%s", name, value);
	return 0;
}

/* Open DuckDB per the options, register the stream as view lh_csv, and run
 * the COPY (or, with plan_out, EXPLAIN it and return the plan text). */
static int run_copy(int csv_fd, const struct ingest_schema *schema, const char *out_path,
		    const struct parquet_writer_options *opt, uint64_t *rows_out, char **plan_out,
		    struct lh_error *err)
{
	int rc = -1, have_result = 0;
	duckdb_config cfg = NULL;
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_result res;
	char *open_err = NULL, *quoted = NULL, *sql = NULL;
	struct feed *f = feed_create(csv_fd, schema, opt ? opt->cancel : NULL);
	char val[64];

	if (duckdb_create_config(&cfg) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not configure DuckDB");
		goto out;
	}
	if (opt && opt->memory_limit_bytes) {
		snprintf(val, sizeof val, "%lluKiB",
			 (unsigned long long)(opt->memory_limit_bytes + 1023) / 1024);
		if (set_config(cfg, "memory_limit", val, err))
			goto out;
	}
	if (opt && opt->threads) {
		snprintf(val, sizeof val, "%u", opt->threads);
		if (set_config(cfg, "threads", val, err))
			goto out;
	}
	if (opt && opt->temp_directory && set_config(cfg, "temp_directory", opt->temp_directory, err))
		goto out;
	if (set_config(cfg, "preserve_insertion_order", "true", err))
		goto out;
	if (duckdb_open_ext(NULL, &db, cfg, &open_err) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not open DuckDB: %s",
			open_err ? open_err : "unknown error");
		goto out;
	}
	if (duckdb_connect(db, &con) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not connect to DuckDB");
		goto out;
	}
	if (duckdb_arrow_scan(con, "lh_csv", (duckdb_arrow_stream)&f->stream) == DuckDBError) {
		lh_fail(err, 500, "convert_failed", "could not register the CSV stream with DuckDB");
		goto out;
	}
	quoted = sql_quote(out_path);
	sql = xasprintf("%sCOPY (SELECT * FROM lh_csv) TO %s (FORMAT parquet, COMPRESSION snappy)",
			plan_out ? "EXPLAIN " : "", quoted);
	have_result = 1;
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		const char *why = duckdb_result_error(&res) ? duckdb_result_error(&res)
							    : "unknown error";
		/* DuckDB reports a full disk only as text: its IO error carries
		 * strerror(ENOSPC) (or EDQUOT), and spilling to a full temp
		 * directory fails on 'max_temp_directory_size', whose default is
		 * the free space of that disk (we never set it). That is the disk,
		 * not the data. */
		if (strstr(why, strerror(ENOSPC)) || strstr(why, strerror(EDQUOT)) ||
		    strstr(why, "max_temp_directory_size")) {
			lh_fail(err, 507, "insufficient_storage",
				"the ingest spool is out of disk space (converting to Parquet)");
			log_event("error", "ingestd", "parquet conversion: %s", why);
		} else {
			lh_fail(err, 500, "convert_failed", "writing Parquet failed: %s", why);
		}
		goto out;
	}
	if (plan_out) {
		size_t len = 0;
		char *plan = xcalloc(1, 1);
		for (idx_t r = 0; r < duckdb_row_count(&res); r++) {
			for (idx_t c = 0; c < duckdb_column_count(&res); c++) {
				char *v = duckdb_value_varchar(&res, c, r);
				size_t n = v ? strlen(v) : 0;
				plan = xrealloc(plan, len + n + 2);
				memcpy(plan + len, v ? v : "", n);
				len += n;
				plan[len++] = '\n';
				plan[len] = 0;
				duckdb_free(v);
			}
		}
		*plan_out = plan;
		rc = 0;
		goto out;
	}
	uint64_t rows = duckdb_rows_changed(&res);
	pthread_mutex_lock(&f->lock);
	uint64_t handed_out = f->rows_out;
	pthread_mutex_unlock(&f->lock);
	if (rows != schema->row_count || handed_out != schema->row_count) {
		lh_fail(err, 500, "convert_failed", "wrote %llu rows, expected %llu",
			(unsigned long long)rows, (unsigned long long)schema->row_count);
		goto out;
	}
	if (rows_out)
		*rows_out = rows;
	rc = 0;
out:
	if (have_result)
		duckdb_destroy_result(&res);
	if (con)
		duckdb_disconnect(&con);
	if (db)
		duckdb_close(&db);
	if (cfg)
		duckdb_destroy_config(&cfg);
	if (open_err)
		duckdb_free(open_err);
	feed_destroy(f);         /* after DuckDB is closed: nothing reads the stream */
	if (rc && !plan_out)
		unlink(out_path);
	free(quoted);
	free(sql);
	return rc;
}

int parquet_write_csv(int csv_fd, const struct ingest_schema *schema, const char *out_path,
		      const struct parquet_writer_options *opt, uint64_t *rows_out,
		      struct lh_error *err)
{
	return run_copy(csv_fd, schema, out_path, opt, rows_out, NULL, err);
}

int parquet_explain_csv(int csv_fd, const struct ingest_schema *schema, const char *out_path,
			const struct parquet_writer_options *opt, char **plan_out,
			struct lh_error *err)
{
	*plan_out = NULL;
	return run_copy(csv_fd, schema, out_path, opt, NULL, plan_out, err);
}
