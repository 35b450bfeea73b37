/* infer.c — type inference over every record of a CSV, fed incrementally
 * (ingestd feeds the upload as it arrives) or read from a spooled file, the
 * schema fingerprint, and the hand-written value parsers behind each type.
 *
 * Design notes:
 *   1. One pass, streaming: fed bytes are copied into one buffer that holds
 *      the unscanned tail (at most one partial record) plus the new bytes;
 *      csv_scan_record() (the one dialect) splits it. The buffer doubles only
 *      when a partial record fills all of it. The absolute file offset of
 *      buf[0] is tracked, so the chunk index holds file offsets.
 *   2. Each column keeps a bit set of the types still possible; every
 *      non-null value ANDs in the types it matches (infer_value_types()).
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
#include "common/sha256.h"
#include "common/xmalloc.h"
#include "ingestd/csv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const type_names[INGEST_NTYPES] = {
	"bool", "int64", "float64", "date32", "timestamp[us]", "timestamp[us, tz=UTC]", "utf8",
};

const char *ingest_type_name(enum ingest_type t)
{
	return (unsigned)t < INGEST_NTYPES ? type_names[t] : "utf8";
}

/* ---- value parsers ---------------------------------------------------- */

static inline int isdig(char c)
{
	return c >= '0' && c <= '9';
}

int infer_parse_bool(const char *p, size_t n, int *out)
{
	if (n == 4 && strncasecmp(p, "true", 4) == 0) {
		*out = 1;
		return 0;
	}
	if (n == 5 && strncasecmp(p, "false", 5) == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

int infer_parse_int64(const char *p, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	if (n && (p[0] == '+' || p[0] == '-')) {
		neg = p[0] == '-';
		i = 1;
	}
	if (i == n || !isdig(p[i]))
		return -1;
	if (p[i] == '0' && n - i > 1)
		return -1;      /* leading zero: a code, not a number */
	uint64_t v = 0;
	const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (!isdig(p[i]))
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (lim - d) / 10)
			return -1;      /* out of range: text, not float */
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Shape check of the float64 grammar; *digits_exp estimates the decimal
 * exponent so that only values near the double range need strtod. */
static int float_shape(const char *p, size_t n, long *dexp)
{
	size_t i = 0, intd = 0;
	if (n && (p[0] == '+' || p[0] == '-'))
		i = 1;
	if (i == n || !isdig(p[i]))
		return -1;
	if (p[i] == '0' && i + 1 < n && isdig(p[i + 1]))
		return -1;
	while (i < n && isdig(p[i])) {
		i++;
		intd++;
	}
	int frac = 0, expo = 0;
	if (i < n && p[i] == '.') {
		size_t j = ++i;
		while (i < n && isdig(p[i]))
			i++;
		if (i == j)
			return -1;
		frac = 1;
	}
	long e = 0;
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		int eneg = 0;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			eneg = p[i++] == '-';
		size_t j = i;
		while (i < n && isdig(p[i])) {
			if (e < 100000)
				e = e * 10 + (p[i] - '0');
			i++;
		}
		if (i == j)
			return -1;
		if (eneg)
			e = -e;
		expo = 1;
	}
	if (i != n)
		return -1;
	*dexp = (long)intd + e;
	return frac || expo ? 1 : 0;
}

static int strtod_n(const char *p, size_t n, double *out)
{
	char small[128];
	char *s = n < sizeof small ? small : xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	*out = strtod(s, NULL);
	if (s != small)
		free(s);
	return isfinite(*out) ? 0 : -1;
}

/* Clinger's fast path for a value float_shape() accepted: with at most 15
 * significant digits the decimal mantissa m is an exact double, and so is
 * 10^k for k <= 22, so m * 10^k or m / 10^k is one correctly rounded IEEE
 * operation: the same double strtod() returns. Returns -1 (use strtod) for
 * anything else. Money, rates and coordinates take this path. */
static int float_fast(const char *p, size_t n, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	size_t i = 0;
	int neg = 0, digits = 0;
	uint64_t m = 0;
	long scale = 0, e = 0;
	if (p[0] == '+' || p[0] == '-')
		neg = p[i++] == '-';
	for (; i < n && isdig(p[i]); i++) {
		if (m || p[i] != '0')
			digits++;
		m = m * 10 + (uint64_t)(p[i] - '0');
		if (digits > 15)
			return -1;
	}
	if (i < n && p[i] == '.') {
		for (i++; i < n && isdig(p[i]); i++) {
			if (m || p[i] != '0')
				digits++;
			m = m * 10 + (uint64_t)(p[i] - '0');
			scale++;
			if (digits > 15)
				return -1;
		}
	}
	if (i < n) {                     /* 'e' or 'E': the shape is checked */
		int eneg = 0;
		i++;
		if (p[i] == '+' || p[i] == '-')
			eneg = p[i++] == '-';
		for (; i < n; i++) {
			e = e * 10 + (p[i] - '0');
			if (e > 1000)
				return -1;
		}
		if (eneg)
			e = -e;
	}
	long k = e - scale;
	if (k < -22 || k > 22)
		return -1;
	double v = (double)m;
	v = k < 0 ? v / pow10[-k] : v * pow10[k];
	*out = neg ? -v : v;
	return 0;
}

int infer_parse_float64(const char *p, size_t n, double *out)
{
	long dexp = 0;
	int shape = float_shape(p, n, &dexp);
	if (shape < 0)
		return -1;
	if (shape == 0) {
		int64_t v;
		if (infer_parse_int64(p, n, &v))
			return -1;      /* out-of-range integers are text */
		*out = (double)v;
		return 0;
	}
	if (float_fast(p, n, out) == 0)
		return 0;
	return strtod_n(p, n, out);
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static inline int num2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/* YYYY-MM-DD at p[0..10), a real date, year 0001-9999. */
static int date_at(const char *p, int64_t *days)
{
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (p[i] != '-')
				return -1;
		} else if (!isdig(p[i])) {
			return -1;
		}
	}
	int y = num2(p) * 100 + num2(p + 2), m = num2(p + 5), d = num2(p + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*days = days_from_civil(y, m, d);
	return 0;
}

int infer_parse_date(const char *p, size_t n, int32_t *out)
{
	int64_t d;
	if (n != 10 || date_at(p, &d))
		return -1;
	*out = (int32_t)d;
	return 0;
}

int infer_parse_timestamp(const char *p, size_t n, int64_t *out, int *zoned)
{
	int64_t days;
	if (n < 19 || date_at(p, &days) || (p[10] != ' ' && p[10] != 'T'))
		return -1;
	const char *t = p + 11;
	if (!isdig(t[0]) || !isdig(t[1]) || t[2] != ':' || !isdig(t[3]) || !isdig(t[4]) ||
	    t[5] != ':' || !isdig(t[6]) || !isdig(t[7]))
		return -1;
	int hh = num2(t), mm = num2(t + 3), ss = num2(t + 6);
	if (hh > 23 || mm > 59 || ss > 59)
		return -1;
	size_t i = 19;
	int64_t us = 0;
	if (i < n && p[i] == '.') {
		size_t j = ++i;
		while (i < n && isdig(p[i]) && i - j < 6)
			us = us * 10 + (p[i++] - '0');
		if (i == j || (i < n && isdig(p[i])))
			return -1;
		for (size_t k = i - j; k < 6; k++)
			us *= 10;
	}
	int64_t off = 0;
	*zoned = 0;
	if (i < n && p[i] == 'Z') {
		*zoned = 1;
		i++;
	} else if (i < n && (p[i] == '+' || p[i] == '-')) {
		if (n - i != 6 || !isdig(p[i + 1]) || !isdig(p[i + 2]) || p[i + 3] != ':' ||
		    !isdig(p[i + 4]) || !isdig(p[i + 5]))
			return -1;
		int oh = num2(p + i + 1), om = num2(p + i + 4);
		if (oh > 23 || om > 59)
			return -1;
		off = (int64_t)(oh * 60 + om) * 60;
		if (p[i] == '-')
			off = -off;
		*zoned = 1;
		i += 6;
	}
	if (i != n)
		return -1;
	int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - off;
	*out = secs * 1000000 + us;
	return 0;
}

unsigned infer_value_types(const char *p, size_t n)
{
	char c = p[0];
	if (c == 't' || c == 'T' || c == 'f' || c == 'F') {
		int b;
		return infer_parse_bool(p, n, &b) ? 0 : INGEST_MASK(INGEST_BOOL);
	}
	if (!isdig(c) && c != '+' && c != '-')
		return 0;
	if (n >= 10 && p[4] == '-' && isdig(c)) {
		if (n == 10) {
			int32_t d;
			return infer_parse_date(p, n, &d) ? 0 : INGEST_MASK(INGEST_DATE32);
		}
		int64_t us;
		int z;
		if (infer_parse_timestamp(p, n, &us, &z))
			return 0;
		return INGEST_MASK(z ? INGEST_TIMESTAMPTZ : INGEST_TIMESTAMP);
	}
	long dexp = 0;
	int shape = float_shape(p, n, &dexp);
	if (shape < 0)
		return 0;
	if (shape == 0) {
		int64_t v;
		if (infer_parse_int64(p, n, &v))
			return 0;
		return INGEST_MASK(INGEST_INT64) | INGEST_MASK(INGEST_FLOAT64);
	}
	if (dexp > 300 || dexp < -300) {
		double d;
		if (strtod_n(p, n, &d))
			return 0;       /* beyond the double range: text */
	}
	return INGEST_MASK(INGEST_FLOAT64);
}

/* ---- fingerprint ------------------------------------------------------ */

void ingest_fingerprint(const struct ingest_column *columns, size_t n, char out[7 + 64 + 1])
{
	struct sha256 *h = sha256_create();
	char hex[LH_SHA256_HEX_LEN + 1];
	for (size_t i = 0; i < n; i++) {
		const char *t = ingest_type_name(columns[i].type);
		sha256_update(h, columns[i].name, strlen(columns[i].name));
		sha256_update(h, "\x1f", 1);
		sha256_update(h, t, strlen(t));
		sha256_update(h, "\x1e", 1);
	}
	sha256_finish_hex(h, hex);
	memcpy(out, "sha256:", 7);
	memcpy(out + 7, hex, LH_SHA256_HEX_LEN + 1);
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
			st->mask[i] = INGEST_MASK(INGEST_UTF8) - 1;
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
			mask[i] &= infer_value_types(f[i].ptr, f[i].len);
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
		enum ingest_type t = INGEST_UTF8;
		if (st->seen[i] && st->mask[i])
			t = (enum ingest_type)__builtin_ctz(st->mask[i]);
		s->columns[i].type = t;
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
