/* parquet_reader.c — the Parquet input format (format.h, ADR 0184): a
 * Parquet upload is kept as it is when every column's type is one of the
 * lakehouse's, else converted like a CSV (record batches into the Parquet
 * writer). The schema comes from the file. The reading itself is DuckDB's
 * (parquet_scan.h); this file decides the types and writes the SQL.
 *
 * DESIGN NOTES
 *   1. No feed(): a Parquet file's schema is in its footer, at the end, so
 *      nothing can be inferred while the upload arrives. ingestd spools it
 *      and calls infer_file() (format.h, ingestd.c note 4a).
 *   2. Our own check of the frame first (12 bytes: PAR1 at both ends, the
 *      footer length within the file and LH_PARQUET_MAX_FOOTER_BYTES, PARE =
 *      an encrypted footer), so the commonest bad uploads get precise words
 *      without DuckDB parsing anything.
 *   3. The columns and their types are DuckDB's reading of the footer
 *      (DESCRIBE): what DuckDB gives queryd when it reads the object is, by
 *      construction, what the mapping saw. parquet_map_type() maps each to
 *      a lakehouse type and a conversion. A column DuckDB reads as one of
 *      ours is kept only if the file also stores it as the lakehouse does
 *      (parquet_stored_exactly, from its schema element: a TIMESTAMP in
 *      milliseconds or an ENUM is converted), so every kept object has
 *      ADR 0021's Parquet types whoever wrote it. Column names follow the CSV
 *      header's rules (csv_check_header: not empty, no control character,
 *      unique regardless of case), at most LH_PARQUET_MAX_COLUMNS.
 *   4. One validation pass over every value (parquet_scan_aggregate): the
 *      row count, each column's non-null count (nullable, all-null), for
 *      int64 columns whether a value no double holds exactly (cast.h's
 *      inexact: only a column whose range leaves +-2^53 is counted, in a
 *      second pass over those columns alone, inexact_pass),
 *      and a hash of every converted value of every column, so every page is
 *      decoded and converted now: a damaged page, invalid UTF-8 in a string,
 *      an unsigned value beyond int64, binary that is not text, are 400s
 *      before anything is stored, never a failed conversion or a query
 *      error later. The row count must equal the footer's.
 *   5. Kept as it is (schema->as_is) when every column is PARQUET_AS_IS and
 *      the file carries no Iceberg field ids (a schema element's field_id or
 *      an "iceberg.schema" key-value: Iceberg readers prefer those to the
 *      table's name mapping, so a file whose ids disagree with the table's
 *      would be read with columns swapped; review R19): the
 *      pipeline stores the uploaded bytes; the content digest is the
 *      object's. Else the batches are the SELECT of each column's
 *      expression (plus the dataset's CAST when the pipeline casts the
 *      upload, cast.h), streamed by parquet_scan_stream into the writer.
 *   6. Decoded size (ADR 0184): Parquet's dictionaries and run lengths let a
 *      small file hold values far larger than itself (one 512 KiB string
 *      repeated 20,000 times is 10 GiB read). The validation pass sums each
 *      text column's byte length (strlen); every other column counts its width per
 *      row; past LH_PARQUET_DECODED_FACTOR x [ingestd] max_upload_bytes the
 *      upload is a 413 "too_large" before any conversion or storing (as-is
 *      files too: queryd would read the same bytes).
 */
#include "ingestd/parquet_reader.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/parquet_scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the type mapping (note 3) ----------------------------------------- */

static const struct {
	const char *duckdb;
	enum schema_type_id id;
	enum parquet_conv conv;
} exact_names[] = {
	{ "BOOLEAN", SCHEMA_BOOL, PARQUET_AS_IS },
	{ "BIGINT", SCHEMA_INT64, PARQUET_AS_IS },
	{ "DOUBLE", SCHEMA_FLOAT64, PARQUET_AS_IS },
	{ "DATE", SCHEMA_DATE32, PARQUET_AS_IS },
	{ "TIMESTAMP", SCHEMA_TIMESTAMP, PARQUET_AS_IS },
	{ "TIMESTAMP WITH TIME ZONE", SCHEMA_TIMESTAMPTZ, PARQUET_AS_IS },
	{ "VARCHAR", SCHEMA_UTF8, PARQUET_AS_IS },
	{ "TINYINT", SCHEMA_INT64, PARQUET_CAST },
	{ "SMALLINT", SCHEMA_INT64, PARQUET_CAST },
	{ "INTEGER", SCHEMA_INT64, PARQUET_CAST },
	{ "UTINYINT", SCHEMA_INT64, PARQUET_CAST },
	{ "USMALLINT", SCHEMA_INT64, PARQUET_CAST },
	{ "UINTEGER", SCHEMA_INT64, PARQUET_CAST },
	{ "UBIGINT", SCHEMA_INT64, PARQUET_CHECKED },
	{ "HUGEINT", SCHEMA_INT64, PARQUET_CHECKED },
	{ "UHUGEINT", SCHEMA_INT64, PARQUET_CHECKED },
	{ "FLOAT", SCHEMA_FLOAT64, PARQUET_CAST },
	{ "TIMESTAMP_S", SCHEMA_TIMESTAMP, PARQUET_CAST },
	{ "TIMESTAMP_MS", SCHEMA_TIMESTAMP, PARQUET_CAST },
	{ "TIMESTAMP_NS", SCHEMA_TIMESTAMP, PARQUET_CAST },
	{ "BLOB", SCHEMA_UTF8, PARQUET_BYTES },
};

static int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* "DECIMAL(p,s)" -> p, s; 0, or -1 if it is not that. */
static int parse_decimal(const char *t, unsigned *p, unsigned *s)
{
	char *end;
	if (!starts_with(t, "DECIMAL("))
		return -1;
	errno = 0;
	unsigned long pp = strtoul(t + 8, &end, 10);
	if (errno || end == t + 8 || *end != ',')
		return -1;
	const char *sp = end + 1;
	unsigned long ss = strtoul(sp, &end, 10);
	if (errno || end == sp || strcmp(end, ")") != 0 || pp > 255 || ss > 255)
		return -1;
	*p = (unsigned)pp;
	*s = (unsigned)ss;
	return 0;
}

void parquet_map_type(const char *t, struct parquet_mapping *out)
{
	size_t n = strlen(t);
	unsigned p, s;
	for (size_t i = 0; i < sizeof exact_names / sizeof exact_names[0]; i++) {
		if (!strcmp(t, exact_names[i].duckdb)) {
			out->type = schema_type_of(exact_names[i].id);
			out->conv = exact_names[i].conv;
			return;
		}
	}
	if (parse_decimal(t, &p, &s) == 0) {
		struct schema_type d = { SCHEMA_DECIMAL, (uint8_t)p, (uint8_t)s };
		if (p <= SCHEMA_DECIMAL_MAX_PRECISION && schema_type_stored(&d)) {
			out->type = d;
			out->conv = PARQUET_AS_IS;
		} else {      /* no decimal of that size: its nearest double */
			out->type = schema_type_of(SCHEMA_FLOAT64);
			out->conv = PARQUET_CAST;
		}
		return;
	}
	if (starts_with(t, "TIMESTAMP") && strstr(t, "WITH TIME ZONE")) {
		out->type = schema_type_of(SCHEMA_TIMESTAMPTZ);   /* another unit, zoned */
		out->conv = PARQUET_CAST;
		return;
	}
	if ((n && t[n - 1] == ']') || starts_with(t, "STRUCT(") || starts_with(t, "MAP(") ||
	    starts_with(t, "UNION(")) {
		out->type = schema_type_of(SCHEMA_UTF8);
		out->conv = PARQUET_JSON;
		return;
	}
	/* TIME, UUID, INTERVAL, JSON, ENUM, BIT, ...: their text */
	out->type = schema_type_of(SCHEMA_UTF8);
	out->conv = PARQUET_CAST;
}

int parquet_stored_exactly(const struct schema_type *t, const char *physical)
{
	char p[32] = "", c[32] = "";
	const char *bar = strchr(physical, '|'), *bar2 = bar ? strchr(bar + 1, '|') : NULL;
	if (!bar || !bar2 || (size_t)(bar - physical) >= sizeof p ||
	    (size_t)(bar2 - bar - 1) >= sizeof c)
		return 0;
	memcpy(p, physical, (size_t)(bar - physical));
	memcpy(c, bar + 1, (size_t)(bar2 - bar - 1));
	const char *l = bar2 + 1;
	switch (t->id) {
	case SCHEMA_BOOL:
		return !strcmp(p, "BOOLEAN") && !c[0] && !l[0];
	case SCHEMA_INT64:
		return !strcmp(p, "INT64") && (!c[0] || !strcmp(c, "INT_64")) &&
		       (!l[0] || (starts_with(l, "IntType(") && strstr(l, "isSigned=1")));
	case SCHEMA_FLOAT64:
		return !strcmp(p, "DOUBLE") && !c[0] && !l[0];
	case SCHEMA_DATE32:
		return !strcmp(p, "INT32") && (!strcmp(c, "DATE") || starts_with(l, "DateType("));
	case SCHEMA_TIMESTAMP:
	case SCHEMA_TIMESTAMPTZ:
		return !strcmp(p, "INT64") && starts_with(l, t->id == SCHEMA_TIMESTAMP
							     ? "TimestampType(isAdjustedToUTC=0,"
							     : "TimestampType(isAdjustedToUTC=1,") &&
		       strstr(l, "MICROS=MicroSeconds()") != NULL;
	case SCHEMA_UTF8:
		return !strcmp(p, "BYTE_ARRAY") && (!strcmp(c, "UTF8") || starts_with(l, "StringType("));
	case SCHEMA_DECIMAL:
		return !strcmp(c, "DECIMAL") || starts_with(l, "DecimalType(");
	}
	return 0;
}

/* "name" as an SQL identifier, and 'text' as an SQL string literal. */
static char *sql_quoted(const char *s, char q)
{
	size_t n = strlen(s), k = 0;
	char *o = xmalloc(2 * n + 3);
	o[k++] = q;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == q)
			o[k++] = q;
		o[k++] = s[i];
	}
	o[k++] = q;
	o[k] = 0;
	return o;
}

/* error('LH400:<words about column name>') */
static char *column_error(const char *name, const char *what)
{
	char *words = xasprintf("%scolumn \"%.64s\" %s", PARQUET_SCAN_MARKER, name, what);
	char *lit = sql_quoted(words, '\'');
	char *e = xasprintf("error(%s)", lit);
	free(words);
	free(lit);
	return e;
}

char *parquet_column_expr(const char *name, const struct parquet_mapping *m)
{
	char *q = sql_quoted(name, '"'), *e = NULL, *fail = NULL;
	char tbuf[SCHEMA_TYPE_NAME_MAX];
	switch (m->conv) {
	case PARQUET_AS_IS:
		return q;
	case PARQUET_CAST:
		e = xasprintf("CAST(%s AS %s)", q, schema_type_sql(&m->type, tbuf));
		break;
	case PARQUET_CHECKED:
		fail = column_error(name, "holds an integer beyond the 64-bit range of int64 "
				    "(-9223372036854775808 to 9223372036854775807)");
		e = xasprintf("CASE WHEN %s IS NOT NULL AND TRY_CAST(%s AS BIGINT) IS NULL THEN %s "
			      "ELSE TRY_CAST(%s AS BIGINT) END", q, q, fail, q);
		break;
	case PARQUET_BYTES:
		fail = column_error(name, "holds binary values that are not UTF-8 text; the lakehouse "
				    "stores text, not bytes");
		e = xasprintf("CASE WHEN %s IS NOT NULL AND TRY(decode(%s)) IS NULL THEN %s "
			      "ELSE decode(%s) END", q, q, fail, q);
		break;
	case PARQUET_JSON:
		e = xasprintf("CAST(to_json(%s) AS VARCHAR)", q);
		break;
	}
	free(q);
	free(fail);
	return e;
}

/* ---- the frame (note 2) ------------------------------------------------ */

int parquet_check_frame(const unsigned char head[4], const unsigned char tail[8], uint64_t size,
			struct lh_error *err)
{
	if (size < 12)
		return lh_fail(err, 400, "bad_parquet", "the file is too short to be Parquet (%llu "
			       "bytes)", (unsigned long long)size);
	if (memcmp(head, "PAR1", 4) != 0)
		return lh_fail(err, 400, "bad_parquet", "the file is not Parquet: it does not start "
			       "with PAR1");
	if (!memcmp(tail + 4, "PARE", 4))
		return lh_fail(err, 400, "bad_parquet", "the Parquet file is encrypted; the lakehouse "
			       "reads only unencrypted Parquet: send it decrypted");
	if (memcmp(tail + 4, "PAR1", 4) != 0)
		return lh_fail(err, 400, "bad_parquet", "the Parquet file is cut short: it does not "
			       "end with its footer");
	uint64_t footer = (uint64_t)tail[0] | (uint64_t)tail[1] << 8 | (uint64_t)tail[2] << 16 |
			  (uint64_t)tail[3] << 24;
	if (footer > size - 12)
		return lh_fail(err, 400, "bad_parquet", "the Parquet file is damaged: its footer "
			       "says it is %llu bytes long but the file has only %llu bytes before it",
			       (unsigned long long)footer, (unsigned long long)(size - 12));
	if (footer > LH_PARQUET_MAX_FOOTER_BYTES)
		return lh_fail(err, 400, "bad_parquet", "the Parquet footer is %llu bytes; at most %u "
			       "are read", (unsigned long long)footer, (unsigned)LH_PARQUET_MAX_FOOTER_BYTES);
	return 0;
}

/* ---- sniffing ---------------------------------------------------------- */

/* Certain on the magic number; declared by the media type or a .parquet
 * name (format.h's scale). */
static int parquet_sniff(const struct ingest_sniff *in)
{
	const char *t = in->media_type;
	if (in->head && in->nhead >= 4 && !memcmp(in->head, "PAR1", 4))
		return INGEST_SNIFF_MAGIC;
	if (ingest_media_type_is(t, "application/vnd.apache.parquet") ||
	    ingest_media_type_is(t, "application/x-parquet") ||
	    ingest_name_ends(in->file_name, ".parquet"))
		return INGEST_SNIFF_DECLARED;
	return 0;
}

/* ---- inference (notes 2-5) --------------------------------------------- */

/* The layout: each column's expression over the file (note 5). */
struct parquet_layout {
	char **exprs;
	size_t n;
};

static void parquet_layout_free(void *layout)
{
	struct parquet_layout *l = layout;
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->exprs[i]);
	free(l->exprs);
	free(l);
}

static int read_at(int fd, void *buf, size_t n, uint64_t off, struct lh_error *err)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return lh_fail(err, 500, "io_error", "reading the uploaded file failed");
		got += (size_t)r;
	}
	return 0;
}

/* Note 3: the CSV header's rules for the names. */
static int check_names(const struct parquet_scan_column *cols, size_t n, struct lh_error *err)
{
	struct csv_scanner sc;
	csv_scanner_init(&sc);
	free(sc.fields);
	sc.fields = xcalloc(n ? n : 1, sizeof *sc.fields);
	sc.cap = n;
	sc.nfields = n;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(cols[i].name);
		sc.fields[i].ptr = cols[i].name;
		sc.fields[i].len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	}
	int rc = csv_check_header(&sc, err);
	csv_scanner_free(&sc);
	return rc;
}

/* A growing comma-separated SQL list. */
struct sql_list {
	char *s;
	size_t len, cap;
};

static void list_add(struct sql_list *l, const char *item)
{
	size_t n = strlen(item), need = l->len + n + 3;
	if (need > l->cap) {
		l->cap = need > 2 * l->cap ? need : 2 * l->cap;
		l->s = xrealloc(l->s, l->cap);
	}
	if (l->len) {
		memcpy(l->s + l->len, ", ", 2);
		l->len += 2;
	}
	memcpy(l->s + l->len, item, n);
	l->len += n;
	l->s[l->len] = 0;
}

/* Note 4: which int64 columns hold a value no double holds exactly. Only a
 * column whose range (min, max at values[at], values[at + 1]) leaves
 * +-2^53 can; those few are counted exactly in a second pass (thousands of
 * such checks in one query cost DuckDB minutes to plan, a range nothing).
 * Afterwards values[at] is that count (0: exact). 0, or -1 with err. */
static int inexact_pass(int fd, const struct parquet_layout *l, const size_t *at,
			int64_t *values, struct lh_error *err)
{
	const int64_t exact = (int64_t)1 << 53;
	struct sql_list q = { 0 };
	size_t n = 0, *which = xcalloc(l->n ? l->n : 1, sizeof *which);
	int rc = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (!at[i])
			continue;
		int wide = values[at[i]] < -exact || values[at[i] + 1] > exact;
		values[at[i]] = 0;
		if (!wide)
			continue;
		char *c = xasprintf("count(CASE WHEN CAST(CAST(%s AS DOUBLE) AS HUGEINT) <> %s THEN 1 END)",
				    l->exprs[i], l->exprs[i]);
		list_add(&q, c);
		free(c);
		which[n++] = i;
	}
	if (n) {
		int64_t *counts = xcalloc(n, sizeof *counts);
		rc = parquet_scan_aggregate(fd, q.s, counts, n, err);
		for (size_t k = 0; rc == 0 && k < n; k++)
			values[at[which[k]]] = counts[k];
		free(counts);
	}
	free(which);
	free(q.s);
	return rc;
}

/* Note 6: the bytes the file's values take once read (text: text_bytes[],
 * one per utf8 column in order; the others: their width per row) against
 * LH_PARQUET_DECODED_FACTOR x max_upload_bytes. 0, or -1 with a 413. */
static int check_decoded(const struct parquet_mapping *maps, size_t ncols, uint64_t rows,
			 const int64_t *text_bytes, size_t ntext, const struct ingest_options *opt,
			 struct lh_error *err)
{
	uint64_t max_upload = opt && opt->max_upload_bytes ? opt->max_upload_bytes
							   : LH_DEFAULT_MAX_UPLOAD_BYTES;
	uint64_t limit = max_upload > UINT64_MAX / LH_PARQUET_DECODED_FACTOR
		? UINT64_MAX : max_upload * LH_PARQUET_DECODED_FACTOR;
	uint64_t total = 0;
	size_t k = 0;
	for (size_t i = 0; i < ncols; i++) {
		uint64_t add, width = 8;
		switch (maps[i].type.id) {
		case SCHEMA_UTF8:
			add = k < ntext && text_bytes[k] > 0 ? (uint64_t)text_bytes[k] : 0;
			k++;
			total = total > UINT64_MAX - add ? UINT64_MAX : total + add;
			continue;
		case SCHEMA_BOOL: width = 1; break;
		case SCHEMA_DATE32: width = 4; break;
		case SCHEMA_DECIMAL: width = 16; break;
		default: break;
		}
		add = rows > UINT64_MAX / width ? UINT64_MAX : rows * width;
		total = total > UINT64_MAX - add ? UINT64_MAX : total + add;
	}
	if (total <= limit)
		return 0;
	return lh_fail(err, 413, "too_large", "the file's values take %llu bytes once read; the "
		       "limit is %llu ([ingestd] max_upload_bytes x %d)", (unsigned long long)total,
		       (unsigned long long)limit, (int)LH_PARQUET_DECODED_FACTOR);
}

static int parquet_infer_file(int fd, uint64_t size, const struct ingest_options *opt,
			      struct ingest_schema **out, struct lh_error *err)
{
	unsigned char head[4] = { 0 }, tail[8] = { 0 };
	struct parquet_scan_column *cols = NULL;
	size_t ncols = 0;
	uint64_t footer_rows = 0;
	struct parquet_mapping *maps = NULL;
	struct parquet_layout *layout = NULL;
	struct sql_list agg = { 0 }, hash = { 0 };
	int64_t *values = NULL;
	size_t *inexact_at = NULL, decoded_at = 0;
	struct ingest_schema *s = NULL;
	int rc = -1;

	*out = NULL;
	if (size >= 12 && (read_at(fd, head, 4, 0, err) || read_at(fd, tail, 8, size - 8, err)))
		return -1;
	if (parquet_check_frame(head, tail, size, err))                          /* 2 */
		return -1;
	int field_ids = 0;
	if (parquet_scan_describe(fd, LH_PARQUET_MAX_COLUMNS, &cols, &ncols, &footer_rows,
				  &field_ids, err)) /* 3 */
		return -1;
	if (ncols == 0) {
		lh_fail(err, 400, "bad_parquet", "the Parquet file has no columns");
		goto out;
	}
	if (check_names(cols, ncols, err))
		goto out;

	maps = xcalloc(ncols, sizeof *maps);
	layout = xcalloc(1, sizeof *layout);
	layout->exprs = xcalloc(ncols, sizeof *layout->exprs);
	layout->n = ncols;
	inexact_at = xcalloc(ncols, sizeof *inexact_at);
	size_t nvalues = 1 + ncols;             /* count(*), count(e) per column */
	list_add(&agg, "count(*)");
	for (size_t i = 0; i < ncols; i++) {
		parquet_map_type(cols[i].type, &maps[i]);
		if (maps[i].conv == PARQUET_AS_IS &&                              /* 3 */
		    !parquet_stored_exactly(&maps[i].type, cols[i].physical))
			maps[i].conv = PARQUET_CAST;
		layout->exprs[i] = parquet_column_expr(cols[i].name, &maps[i]);
		char *c = xasprintf("count(%s)", layout->exprs[i]);
		list_add(&agg, c);
		free(c);
		list_add(&hash, layout->exprs[i]);
	}
	for (size_t i = 0; i < ncols; i++) {    /* note 4: the range of int64 columns */
		if (maps[i].type.id != SCHEMA_INT64)
			continue;
		char *c = xasprintf("min(%s), max(%s)", layout->exprs[i], layout->exprs[i]);
		list_add(&agg, c);
		free(c);
		inexact_at[i] = nvalues;
		nvalues += 2;
	}
	char *all = xasprintf("CAST(bit_xor(hash(%s)) %% 2 AS BIGINT)", hash.s);
	list_add(&agg, all);
	free(all);
	nvalues++;
	decoded_at = nvalues;                   /* note 6: the text's bytes once read */
	for (size_t i = 0; i < ncols; i++) {
		if (maps[i].type.id != SCHEMA_UTF8)
			continue;
		char *c = xasprintf("CAST(coalesce(sum(strlen(CAST((%s) AS VARCHAR))), 0) "
				    "AS BIGINT)", layout->exprs[i]);
		list_add(&agg, c);
		free(c);
		nvalues++;
	}
	values = xcalloc(nvalues, sizeof *values);
	if (parquet_scan_aggregate(fd, agg.s, values, nvalues, err))              /* 4 */
		goto out;
	if (values[0] < 0 || (uint64_t)values[0] != footer_rows) {
		lh_fail(err, 400, "bad_parquet", "the Parquet file is damaged: its footer says %llu "
			"rows but its row groups hold %lld", (unsigned long long)footer_rows,
			(long long)values[0]);
		goto out;
	}
	if (check_decoded(maps, ncols, footer_rows, values + decoded_at, nvalues - decoded_at,
			  opt, err))                                              /* 6 */
		goto out;
	if (inexact_pass(fd, layout, inexact_at, values, err))                   /* 4 */
		goto out;

	s = ingest_schema_create(&ingest_format_parquet);
	s->columns = xcalloc(ncols, sizeof *s->columns);
	s->ncols = ncols;
	s->row_count = footer_rows;
	s->data_end = size;
	s->as_is = !field_ids;                                                    /* 5 */
	for (size_t i = 0; i < ncols; i++) {
		struct ingest_column *c = &s->columns[i];
		int64_t nonnull = values[1 + i];
		c->name = cols[i].name;
		cols[i].name = NULL;
		c->type = maps[i].type;
		c->nullable = (uint64_t)nonnull < footer_rows;
		c->all_null = nonnull == 0;
		c->inexact = inexact_at[i] && values[inexact_at[i]] != 0;
		if (maps[i].conv != PARQUET_AS_IS)                                /* 5 */
			s->as_is = 0;
	}
	ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
	s->layout = layout;
	layout = NULL;
	*out = s;
	s = NULL;
	rc = 0;
out:
	parquet_scan_columns_free(cols, ncols);
	parquet_layout_free(layout);
	ingest_schema_destroy(s);
	free(maps);
	free(inexact_at);
	free(values);
	free(agg.s);
	free(hash.s);
	return rc;
}

/* ---- record batches (note 5) ------------------------------------------- */

static int parquet_batches(int fd, const struct ingest_schema *s, struct ArrowArrayStream *out,
			   struct lh_error *err)
{
	const struct parquet_layout *l = s->layout;
	struct sql_list sel = { 0 };
	if (!l || l->n != s->ncols)
		return lh_fail(err, 500, "internal", "the Parquet schema has no layout");
	for (size_t i = 0; i < s->ncols; i++) {
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		char *alias = sql_quoted(s->columns[i].name, '"');
		char *item = s->columns[i].cast
			? xasprintf("CAST((%s) AS %s) AS %s", l->exprs[i],
				    schema_type_sql(&s->columns[i].type, tbuf), alias)
			: xasprintf("%s AS %s", l->exprs[i], alias);
		list_add(&sel, item);
		free(item);
		free(alias);
	}
	int rc = parquet_scan_stream(fd, sel.s, out, err);
	free(sel.s);
	return rc;
}

const struct ingest_format ingest_format_parquet = {
	.name = "parquet",
	.sniff = parquet_sniff,
	.batches = parquet_batches,
	.layout_free = parquet_layout_free,
	.infer_file = parquet_infer_file,
};
