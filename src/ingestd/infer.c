/* infer.c — type inference over every record of a CSV, fed incrementally
 * (ingestd feeds the upload as it arrives) or read from a spooled file, and
 * the schema fingerprint of the result. The types and the value parsers
 * behind them are the schema vocabulary's (common/schema.c, calendar.c).
 *
 * Design notes:
 *   1. One pass, streaming: fed bytes are copied into one buffer that holds
 *      the unscanned tail (at most one partial record) plus the new bytes;
 *      csv_scan_record() (the one dialect) splits it. The buffer doubles only
 *      when a partial record fills all of it. The absolute file offset of
 *      buf[0] is tracked, so the chunk index holds file offsets.
 *   2. Each column keeps a bit set of the types still possible; every
 *      non-null value ANDs in the types it matches (schema_value_types()).
 *      A column whose set is empty is utf8 and is no longer classified.
 *      Zoned and unzoned timestamps are different bits, so a mix ends as text.
 *   3. The final type is the lowest remaining bit (SPEC priority order); a
 *      column with no non-null value is utf8.
 *   4. Every INFER_CHUNK_BYTES of data records, the offset, row number and
 *      line of the next record start are recorded (the chunk index), so the
 *      converter can read records without scanning from the start.
 *   5. No regex, no allocation per field: classification looks at the bytes.
 *   6. A record cut by the end of the fed bytes (CSV_NEED_MORE) is rescanned
 *      only once the unscanned tail has doubled, so a long record fed in
 *      small pieces costs O(record) scanning in total, not O(record^2/piece).
 *   7. infer_fd() is a thin wrapper: pread pieces fed to the same state, so
 *      the file and the streamed upload follow the same code.
 */
#include "ingestd/infer.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "ingestd/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- fingerprint ------------------------------------------------------ */

void ingest_fingerprint(const struct ingest_column *columns, size_t n,
			char out[SCHEMA_FP_LEN + 1])
{
	struct schema_fp fp;
	char buf[SCHEMA_TYPE_NAME_MAX];
	schema_fp_init(&fp);
	for (size_t i = 0; i < n; i++)
		schema_fp_add(&fp, columns[i].name, schema_type_name(&columns[i].type, buf));
	schema_fp_finish(&fp, out);
}

/* ---- the pass over the file ------------------------------------------ */

void ingest_schema_destroy(struct ingest_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncols; i++)
		free(s->columns[i].name);
	free(s->columns);
	free(s->chunks);
	free(s);
}

/* The incremental pass (design notes 1, 6). */
struct infer_state {
	struct csv_scanner sc;
	struct ingest_schema *s;
	unsigned *mask;
	unsigned char *seen;
	char *buf;               /* unscanned bytes buf[pos..len), own copy */
	size_t cap, len, pos;
	size_t rescan_at;        /* do not rescan before len - pos reaches this */
	size_t chunks_cap;
	uint64_t base;           /* absolute offset of buf[0] */
	uint64_t next_chunk;
	int failed;              /* a feed failed: only abort is allowed */
};

struct infer_state *infer_begin(void)
{
	struct infer_state *st = xcalloc(1, sizeof *st);
	csv_scanner_init(&st->sc);
	st->s = xcalloc(1, sizeof *st->s);
	st->cap = 4 * (size_t)LH_STREAM_CHUNK;
	st->buf = xmalloc(st->cap);
	return st;
}

void infer_abort(struct infer_state *st)
{
	if (!st)
		return;
	csv_scanner_free(&st->sc);
	ingest_schema_destroy(st->s);
	free(st->mask);
	free(st->seen);
	free(st->buf);
	free(st);
}

/* Take one scanned record (at file offset `at`) into the schema state. */
static int take_record(struct infer_state *st, uint64_t at, struct lh_error *err)
{
	struct ingest_schema *s = st->s;
	if (st->sc.nrecords == 1) {
		if (csv_check_header(&st->sc, err))
			return -1;
		s->ncols = st->sc.nfields;
		s->columns = xcalloc(s->ncols, sizeof *s->columns);
		for (size_t i = 0; i < s->ncols; i++)
			s->columns[i].name = xstrndup(st->sc.fields[i].ptr, st->sc.fields[i].len);
		st->mask = xmalloc(s->ncols * sizeof *st->mask);
		st->seen = xcalloc(s->ncols, 1);
		for (size_t i = 0; i < s->ncols; i++)
			st->mask[i] = SCHEMA_MASK(SCHEMA_UTF8) - 1;
		return 0;
	}
	/* invariant 4: chunk index */
	if (at >= st->next_chunk) {
		if (s->nchunks == st->chunks_cap) {
			st->chunks_cap = st->chunks_cap ? 2 * st->chunks_cap : 16;
			s->chunks = xrealloc(s->chunks, st->chunks_cap * sizeof *s->chunks);
		}
		s->chunks[s->nchunks].offset = at;
		s->chunks[s->nchunks].first_row = s->row_count;
		s->chunks[s->nchunks].line = st->sc.record_line;
		s->nchunks++;
		st->next_chunk = at + INFER_CHUNK_BYTES;
	}
	/* invariant 2 */
	const struct csv_field *f = st->sc.fields;
	unsigned *mask = st->mask;
	for (size_t i = 0; i < s->ncols; i++) {
		if (f[i].len == 0) {
			s->columns[i].nullable = 1;
			continue;
		}
		st->seen[i] = 1;
		if (mask[i])
			mask[i] &= schema_value_types(f[i].ptr, f[i].len);
	}
	s->row_count++;
	return 0;
}

/* Scan every complete record in buf[pos..len). With eof, the bytes left are
 * the last record. Returns 0 or -1 (err filled). */
static int scan_buffered(struct infer_state *st, int eof, struct lh_error *err)
{
	if (!eof && st->len - st->pos < st->rescan_at)
		return 0;       /* invariant 6: a partial record is rescanned only
				 * once it has doubled */
	for (;;) {
		size_t used = 0;
		int r = csv_scan_record(&st->sc, st->buf + st->pos, st->len - st->pos, eof, &used, err);
		if (r == CSV_ERROR)
			return -1;
		if (r == CSV_NEED_MORE || r == CSV_END) {
			size_t left = st->len - st->pos;
			st->rescan_at = r == CSV_NEED_MORE ? 2 * left : 0;
			return 0;
		}
		uint64_t at = st->base + st->pos;       /* file offset of this record */
		st->pos += used;
		if (take_record(st, at, err))
			return -1;
	}
}

int infer_feed(struct infer_state *st, const char *data, size_t n, struct lh_error *err)
{
	if (st->failed)
		return lh_fail(err, 500, "internal", "inference fed after a failure");
	while (n > 0) {
		/* compact, then grow only if the unscanned tail needs it */
		if (st->pos > 0) {
			memmove(st->buf, st->buf + st->pos, st->len - st->pos);
			st->base += st->pos;
			st->len -= st->pos;
			st->pos = 0;
		}
		if (st->len == st->cap) {
			st->cap *= 2;
			st->buf = xrealloc(st->buf, st->cap);
		}
		size_t take = st->cap - st->len < n ? st->cap - st->len : n;
		memcpy(st->buf + st->len, data, take);
		st->len += take;
		data += take;
		n -= take;
		if (scan_buffered(st, 0, err)) {
			st->failed = 1;
			return -1;
		}
	}
	return 0;
}

int infer_finish(struct infer_state *st, struct ingest_schema **out, struct lh_error *err)
{
	int rc = -1;
	struct ingest_schema *s = st->s;
	*out = NULL;
	if (st->failed) {
		lh_fail(err, 500, "internal", "inference finished after a failure");
		goto out;
	}
	st->rescan_at = 0;
	if (scan_buffered(st, 1, err))
		goto out;
	if (st->sc.nrecords == 0) {
		lh_fail(err, 400, "empty_file", "the file is empty: a CSV needs at least a header line");
		goto out;
	}
	s->data_end = st->base + st->pos;
	/* invariant 3 */
	for (size_t i = 0; i < s->ncols; i++) {
		enum schema_type_id t = SCHEMA_UTF8;
		if (st->seen[i] && st->mask[i])
			t = (enum schema_type_id)__builtin_ctz(st->mask[i]);
		s->columns[i].type = schema_type_of(t);
	}
	ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
	*out = s;
	st->s = NULL;
	rc = 0;
out:
	infer_abort(st);
	return rc;
}

int infer_fd(int fd, struct ingest_schema **out, struct lh_error *err)
{
	struct infer_state *st = infer_begin();
	size_t cap = 4 * (size_t)LH_STREAM_CHUNK;
	char *buf = xmalloc(cap);
	uint64_t off = 0;
	int rc = -1;

	*out = NULL;
	for (;;) {
		ssize_t r = pread(fd, buf, cap, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			lh_fail(err, 500, "io_error", "reading the uploaded file failed");
			goto out;
		}
		if (r == 0)
			break;
		off += (uint64_t)r;
		if (infer_feed(st, buf, (size_t)r, err))
			goto out;
	}
	rc = infer_finish(st, out, err);
	st = NULL;
out:
	infer_abort(st);
	free(buf);
	return rc;
}
