/* xlsx_reader.c — the Excel workbook input format (format.h, xlsx.h, ADR
 * 0186): sniffing, inference over the whole spooled file (a zip's directory
 * is at its end: format.h's infer_file), and the record batches of the
 * chosen sheet. The zip and the XML are read through common/zipread.h and
 * common/xmlread.h; cells become text by xlsx_cell.c; the types are
 * infer.h's, so a cell is typed exactly like the same text in a CSV.
 *
 * DESIGN NOTES
 *   1. The workbook's small parts are read first: xl/workbook.xml (the
 *      sheets in order, the 1904 date system), its relationships (which
 *      part is which sheet, where the shared strings and styles are),
 *      xl/styles.xml (per cell format: does its number format show a date,
 *      a time, both: xlsx_format_code_kind) and xl/sharedStrings.xml (the
 *      text of string cells, held in memory up to LH_XLSX_MAX_STRINGS_BYTES,
 *      else 400). These make the layout, kept with the schema so the
 *      batches read the sheet exactly as inference did.
 *   2. The sheet is read as a stream (struct walk, walk_next): XML events
 *      into rows of (column, text) cells; a row with no value at all is
 *      skipped (blank and formatted-but-empty rows). Cells and rows must come in order, as
 *      Excel writes them; a cell without a reference is the next column.
 *   3. The first row with a value is the header. Its cells are the column
 *      names (their displayed text); a header cell that is empty (the
 *      columns covered by a merged header cell, whose value is in its
 *      first column) names no column: such a column is dropped when no data
 *      row has a value in it, else it is a 400 naming the cell, as CSV
 *      refuses an empty header name. The names then pass csv_check_header.
 *   4. A cell's text (cell_text): shared and inline strings as written
 *      (OOXML's _xHHHH_ escapes decoded), booleans true/false, errors as
 *      shown (#N/A), a formula's cached value (none: NULL), numbers by their
 *      cell format: a date format gives the date/time text, else the
 *      shortest round-trip text. An empty cell is NULL.
 *   5. Batches: the sheet can only be read from its start (deflate), so one
 *      sequential walk is shared by the stream's producers under a lock,
 *      chunk after chunk in order (a producer waits for its turn); the
 *      chunk boundaries (every XLSX_CHUNK_ROWS rows, XLSX_CHUNK_CELLS
 *      cells or XLSX_CHUNK_BYTES of text) were recorded by inference.
 *   6. Bounds: every part is inflated as a stream under the caps of
 *      zipread.h (LH_XLSX_MAX_PART_BYTES, LH_XLSX_MAX_RATIO: a zip bomb is a
 *      400), one row's text at most LH_CSV_MAX_RECORD_BYTES, the header at
 *      most LH_CSV_MAX_COLUMNS columns, the sheet at most LH_XLSX_MAX_CELLS
 *      rows x columns (an empty cell is free in the file, not in the
 *      batches: what a CSV under the upload cap can hold); memory is the
 *      shared strings plus one row (inference) or one chunk (batches).
 *      Inference costs O(values), not O(rows x columns): a column's nulls
 *      are counted, not fed one by one.
 *   7. Shared strings amplify: one long string referenced by every row is
 *      small in the file and huge as cell text. Inference counts the
 *      displayed bytes of every data row; past LH_XLSX_DECODED_FACTOR x
 *      [ingestd] max_upload_bytes (struct ingest_options) the upload is a
 *      400 xlsx_too_large, before any batch is made.
 *   8. At most LH_XLSX_MAX_READS workbooks are read at once (their shared
 *      strings, up to LH_XLSX_MAX_STRINGS_BYTES each, and a chunk of
 *      batches); the others wait. The slot is the layout's: taken when
 *      inference starts, given back when the layout is freed (the schema
 *      destroyed after the last batch, or inference failed), so it spans
 *      inference and batches. One request holds at most one layout.
 */
#include "ingestd/xlsx.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "common/xmlread.h"
#include "common/zipread.h"
#include "ingestd/batch.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/infer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XLSX_CHUNK_ROWS 65536u          /* rows of one batch at most (note 5) */
#define XLSX_CHUNK_BYTES (16u << 20)    /* cell text of one batch, about */
#define XLSX_CHUNK_CELLS (1u << 21)     /* rows x columns of one batch at most: an
					 * empty cell costs no byte in the file but
					 * a value slot in the batch (note 6) */
#define XLSX_PATH_MAX 512               /* a part's path in the zip */
#define XLSX_MAX_MERGES_KEPT 4096       /* merged ranges kept for messages */
#define XLSX_MEDIA_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_Static_assert(XLSX_CHUNK_BYTES + (uint64_t)LH_CSV_MAX_RECORD_BYTES < (1ull << 31),
	       "utf8 int32 offsets need a batch's string bytes under 2 GiB (batch.c note 2)");

/* ---- the workbook's layout (note 1) ------------------------------------ */

struct strings {             /* the shared strings: text i is data[off[i]..off[i+1]) */
	char *data;
	size_t len, cap;
	uint64_t *off;       /* n + 1 */
	size_t n, ncap;
};

struct merge {               /* a merged range, 0-based, inclusive */
	uint32_t r1, c1, r2, c2;
};

struct xlsx_layout {
	char sheet_path[XLSX_PATH_MAX];
	char sheet_name[128];
	int date1904;
	unsigned char *xf_kind;  /* per cell format (cellXfs index): XLSX_FMT_* */
	size_t nxf;
	struct strings sst;
	uint32_t width;          /* sheet columns 0..width-1 under the header */
	int32_t *colmap;         /* per sheet column < width: schema column or -1 */
	uint32_t header_row;     /* 0-based sheet row of the header */
	uint64_t *chunk_row;     /* nchunks: first data row (0-based) of each chunk */
	size_t nchunks;
	int read_slot;           /* holds one of LH_XLSX_MAX_READS (note 8) */
};

static void strings_free(struct strings *s)
{
	free(s->data);
	free(s->off);
	memset(s, 0, sizeof *s);
}

/* Note 8: the workbooks being read at once, at most LH_XLSX_MAX_READS; the
 * others wait their turn. A slot is taken when inference starts and given
 * back when the layout is freed: after the last batch, or on a failure. */
static pthread_mutex_t reads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reads_cond = PTHREAD_COND_INITIALIZER;
static int reads_running;

static void read_slot_take(struct xlsx_layout *l)
{
	pthread_mutex_lock(&reads_lock);
	while (reads_running >= LH_XLSX_MAX_READS)
		pthread_cond_wait(&reads_cond, &reads_lock);
	reads_running++;
	pthread_mutex_unlock(&reads_lock);
	l->read_slot = 1;
}

static void read_slot_give(struct xlsx_layout *l)
{
	if (!l->read_slot)
		return;
	l->read_slot = 0;
	pthread_mutex_lock(&reads_lock);
	reads_running--;
	pthread_cond_signal(&reads_cond);
	pthread_mutex_unlock(&reads_lock);
}

static void xlsx_layout_free(void *layout)
{
	struct xlsx_layout *l = layout;
	if (!l)
		return;
	read_slot_give(l);
	free(l->xf_kind);
	strings_free(&l->sst);
	free(l->colmap);
	free(l->chunk_row);
	free(l);
}

/* ---- errors ------------------------------------------------------------- */

/* The adapters' codes in this format's words: a damaged zip or XML is
 * "bad_xlsx", a part past its caps "xlsx_too_large" (both 400). */
static int book_error(struct lh_error *err)
{
	char msg[sizeof err->msg];
	if (!strcmp(err->code, "bad_zip") || !strcmp(err->code, "bad_xml")) {
		snprintf(msg, sizeof msg, "the file is not a readable Excel workbook: %.400s", err->msg);
		snprintf(err->code, sizeof err->code, "bad_xlsx");
		snprintf(err->msg, sizeof err->msg, "%s", msg);
	} else if (!strcmp(err->code, "zip_too_large")) {
		snprintf(msg, sizeof msg, "the workbook is too large to read: %.400s", err->msg);
		snprintf(err->code, sizeof err->code, "xlsx_too_large");
		snprintf(err->msg, sizeof err->msg, "%s", msg);
	}
	return -1;
}

static int bad_xlsx(struct lh_error *err, const char *what)
{
	return lh_fail(err, 400, "bad_xlsx", "the file is not a readable Excel workbook: %s", what);
}

/* ---- reading one part as XML -------------------------------------------- */

struct part {
	struct zipread_entry *e;
	struct xmlread *x;
};

static ssize_t part_read(void *ctx, char *buf, size_t n, struct lh_error *err)
{
	struct part *p = ctx;
	return zipread_entry_read(p->e, buf, n, err);
}

static const struct zipread_caps part_caps = {
	.max_bytes = LH_XLSX_MAX_PART_BYTES, .max_ratio = LH_XLSX_MAX_RATIO,
	.grace = LH_XLSX_RATIO_GRACE,
};

/* Open part `path`: 1 and p filled, 0 if the workbook has no such part, -1. */
static int part_open(struct zipread *z, const char *path, struct part *p, struct lh_error *err)
{
	memset(p, 0, sizeof *p);
	int rc = zipread_entry_open(z, path, &part_caps, &p->e, err);
	if (rc <= 0)
		return rc;
	p->x = xmlread_open(part_read, p, path);
	return 1;
}

static void part_close(struct part *p)
{
	xmlread_close(p->x);
	zipread_entry_close(p->e);
	memset(p, 0, sizeof *p);
}

/* ---- the workbook: sheets, relationships, styles, strings (note 1) ------ */

struct sheet {
	char *name;
	char *rid;
	char *path;          /* resolved worksheet part, NULL for a chartsheet */
	int hidden;
};

struct book {
	struct zipread *zip;
	int date1904;
	struct sheet *sheets;
	size_t nsheets;
	char sst_path[XLSX_PATH_MAX];
	char styles_path[XLSX_PATH_MAX];
};

static void book_free(struct book *b)
{
	for (size_t i = 0; i < b->nsheets; i++) {
		free(b->sheets[i].name);
		free(b->sheets[i].rid);
		free(b->sheets[i].path);
	}
	free(b->sheets);
	zipread_close(b->zip);
	memset(b, 0, sizeof *b);
}

/* The length of s cut to at most `max` bytes without splitting a UTF-8
 * character (messages must stay UTF-8: they become JSON). */
static int utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static int is_true(const char *v)
{
	return v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
}

/* A relationship target relative to xl/ (or absolute from the root) as a
 * zip path, "." and ".." resolved. 0, or -1 if it does not fit. */
static int resolve_target(const char *target, char out[XLSX_PATH_MAX])
{
	char tmp[XLSX_PATH_MAX];
	int n = target[0] == '/' ? snprintf(tmp, sizeof tmp, "%s", target + 1)
				 : snprintf(tmp, sizeof tmp, "xl/%s", target);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return -1;
	size_t len = 0;
	const char *p = tmp;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t seg = slash ? (size_t)(slash - p) : strlen(p);
		if (seg == 0 || (seg == 1 && p[0] == '.')) {
			/* skip */
		} else if (seg == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
		} else {
			if (len)
				out[len++] = '/';
			memcpy(out + len, p, seg);
			len += seg;
		}
		p += seg + (slash ? 1 : 0);
	}
	out[len] = '\0';
	return len ? 0 : -1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int read_workbook(struct book *b, struct lh_error *err)
{
	struct part p;
	int rc = part_open(b->zip, "xl/workbook.xml", &p, err), ev;
	if (rc < 0)
		return book_error(err);
	if (rc == 0)
		return bad_xlsx(err, "it has no workbook part (xl/workbook.xml)");
	size_t cap = 0;
	while ((ev = xmlread_next(p.x, err)) > 0) {
		if (ev != XMLREAD_START)
			continue;
		const char *name = xmlread_name(p.x);
		if (!strcmp(name, "workbookPr")) {
			b->date1904 = is_true(xmlread_attr(p.x, "date1904"));
		} else if (!strcmp(name, "sheet")) {
			const char *sn = xmlread_attr(p.x, "name"), *rid = xmlread_attr(p.x, "id");
			const char *state = xmlread_attr(p.x, "state");
			if (!sn || !rid)
				continue;
			if (b->nsheets == LH_XLSX_MAX_SHEETS) {
				part_close(&p);
				return lh_fail(err, 400, "xlsx_too_large",
					       "the workbook has more than %d sheets", LH_XLSX_MAX_SHEETS);
			}
			if (b->nsheets == cap) {
				cap = cap ? 2 * cap : 8;
				b->sheets = xrealloc(b->sheets, cap * sizeof *b->sheets);
			}
			struct sheet *s = &b->sheets[b->nsheets++];
			s->name = xstrdup(sn);
			s->rid = xstrdup(rid);
			s->path = NULL;
			s->hidden = state && strcmp(state, "visible") != 0;
		}
	}
	part_close(&p);
	return ev < 0 ? book_error(err) : 0;
}

static int read_rels(struct book *b, struct lh_error *err)
{
	struct part p;
	int rc = part_open(b->zip, "xl/_rels/workbook.xml.rels", &p, err), ev;
	if (rc < 0)
		return book_error(err);
	snprintf(b->sst_path, sizeof b->sst_path, "xl/sharedStrings.xml");
	snprintf(b->styles_path, sizeof b->styles_path, "xl/styles.xml");
	if (rc == 0)
		return bad_xlsx(err, "it has no workbook relationships (xl/_rels/workbook.xml.rels)");
	while ((ev = xmlread_next(p.x, err)) > 0) {
		if (ev != XMLREAD_START || strcmp(xmlread_name(p.x), "Relationship"))
			continue;
		const char *id = xmlread_attr(p.x, "Id"), *type = xmlread_attr(p.x, "Type");
		const char *target = xmlread_attr(p.x, "Target");
		const char *mode = xmlread_attr(p.x, "TargetMode");
		char path[XLSX_PATH_MAX];
		if (!id || !type || !target || (mode && !strcmp(mode, "External")) ||
		    resolve_target(target, path))
			continue;
		if (ends_with(type, "/sharedStrings")) {
			snprintf(b->sst_path, sizeof b->sst_path, "%s", path);
		} else if (ends_with(type, "/styles")) {
			snprintf(b->styles_path, sizeof b->styles_path, "%s", path);
		} else if (ends_with(type, "/worksheet")) {
			for (size_t i = 0; i < b->nsheets; i++)
				if (!b->sheets[i].path && !strcmp(b->sheets[i].rid, id))
					b->sheets[i].path = xstrdup(path);
		}
	}
	part_close(&p);
	return ev < 0 ? book_error(err) : 0;
}

/* The names of the worksheets for a message: "Staff", "Rates" (cut). */
static void sheet_list(const struct book *b, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < b->nsheets && len + 8 < cap; i++) {
		if (!b->sheets[i].path)
			continue;
		const char *name = b->sheets[i].name;
		int n = snprintf(out + len, cap - len, "%s\"%.*s\"", len ? ", " : "",
				 utf8_cut(name, 100), name);
		if (n < 0 || (size_t)n >= cap - len) {
			snprintf(out + (len < cap - 4 ? len : cap - 4), 4, "...");
			return;
		}
		len += (size_t)n;
	}
}

/* The sheet to read: `want` (exact name, else the only one equal ignoring
 * case), or the first visible worksheet (else the first worksheet). */
static int pick_sheet(const struct book *b, const char *want, const struct sheet **out,
		      struct lh_error *err)
{
	const struct sheet *first = NULL, *visible = NULL, *folded = NULL;
	size_t nfolded = 0;
	for (size_t i = 0; i < b->nsheets; i++) {
		const struct sheet *s = &b->sheets[i];
		if (!s->path)
			continue;           /* a chartsheet: no cells */
		if (!first)
			first = s;
		if (!visible && !s->hidden)
			visible = s;
		if (want && !strcmp(s->name, want)) {
			*out = s;
			return 0;
		}
		if (want && !strcasecmp(s->name, want)) {
			folded = s;
			nfolded++;
		}
	}
	if (!first)
		return bad_xlsx(err, "it has no worksheet");
	if (want && nfolded == 1) {
		*out = folded;
		return 0;
	}
	if (want) {
		char names[300];
		sheet_list(b, names, sizeof names);
		if (csv_utf8_check((const unsigned char *)want, strlen(want)) != strlen(want))
			want = "(a name that is not UTF-8)";
		lh_fail(err, 400, "unknown_sheet", "the workbook has no sheet named \"%.*s\"; its sheets are %s",
			utf8_cut(want, 124), want, names);
		json_t *arr = json_array();
		for (size_t i = 0; i < b->nsheets && i < 100; i++)
			if (b->sheets[i].path)
				json_array_append_new(arr, json_string(b->sheets[i].name));
		lh_error_set(err, "sheets", arr);
		return -1;
	}
	*out = visible ? visible : first;
	return 0;
}

/* xl/styles.xml: the kind of each cell format (cellXfs). A workbook without
 * styles has only plain numbers. */
static int read_styles(struct book *b, struct xlsx_layout *l, struct lh_error *err)
{
	struct part p;
	int rc = part_open(b->zip, b->styles_path, &p, err), ev;
	unsigned *fmt_id = NULL;           /* custom formats: id, kind pairs */
	unsigned char *fmt_kind = NULL;
	size_t nfmt = 0, fmt_cap = 0, xf_cap = 0;
	unsigned *xf_fmt = NULL;
	int in_xfs = 0;
	if (rc < 0)
		return book_error(err);
	if (rc == 0)
		return 0;
	while ((ev = xmlread_next(p.x, err)) > 0) {
		const char *name = xmlread_name(p.x);
		if (ev == XMLREAD_CLOSE) {
			if (!strcmp(name, "cellXfs"))
				in_xfs = 0;
			continue;
		}
		if (ev != XMLREAD_START)
			continue;
		if (!strcmp(name, "cellXfs")) {
			in_xfs = 1;
		} else if (!strcmp(name, "numFmt")) {
			const char *id = xmlread_attr(p.x, "numFmtId"), *code = xmlread_attr(p.x, "formatCode");
			char *end;
			unsigned long v = id ? strtoul(id, &end, 10) : 0;
			if (!id || *end || !code || nfmt == LH_XLSX_MAX_STYLES)
				continue;
			if (nfmt == fmt_cap) {
				fmt_cap = fmt_cap ? 2 * fmt_cap : 16;
				fmt_id = xrealloc(fmt_id, fmt_cap * sizeof *fmt_id);
				fmt_kind = xrealloc(fmt_kind, fmt_cap);
			}
			fmt_id[nfmt] = (unsigned)v;
			fmt_kind[nfmt] = (unsigned char)xlsx_format_code_kind(code);
			nfmt++;
		} else if (in_xfs && !strcmp(name, "xf")) {
			if (l->nxf == LH_XLSX_MAX_STYLES) {
				lh_fail(err, 400, "xlsx_too_large",
					"the workbook has more than %d cell formats", LH_XLSX_MAX_STYLES);
				ev = -1;
				break;
			}
			const char *id = xmlread_attr(p.x, "numFmtId");
			char *end;
			unsigned long v = id ? strtoul(id, &end, 10) : 0;
			if (id && *end)
				v = 0;
			if (l->nxf == xf_cap) {
				xf_cap = xf_cap ? 2 * xf_cap : 64;
				xf_fmt = xrealloc(xf_fmt, xf_cap * sizeof *xf_fmt);
			}
			xf_fmt[l->nxf++] = (unsigned)(v > 0xffffffffu ? 0 : v);
		}
	}
	part_close(&p);
	if (ev == 0) {
		l->xf_kind = xcalloc(l->nxf ? l->nxf : 1, 1);
		for (size_t i = 0; i < l->nxf; i++) {
			unsigned kind = xlsx_builtin_format_kind(xf_fmt[i]);
			for (size_t k = 0; k < nfmt; k++)   /* a custom code wins */
				if (fmt_id[k] == xf_fmt[i])
					kind = fmt_kind[k];
			l->xf_kind[i] = (unsigned char)kind;
		}
	}
	free(fmt_id);
	free(fmt_kind);
	free(xf_fmt);
	return ev < 0 ? book_error(err) : 0;
}

/* Append p[0..n) to a growing buffer under `cap` bytes in all: 0 or -1. */
static int buf_append(char **buf, size_t *len, size_t *bcap, const char *p, size_t n, size_t cap)
{
	if (n > cap || *len > cap - n)
		return -1;
	if (*len + n + 1 > *bcap) {
		size_t want = *bcap ? *bcap : 256;
		while (want < *len + n + 1)
			want *= 2;
		*buf = xrealloc(*buf, want);
		*bcap = want;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode OOXML's _xHHHH_ escapes (a character by its UTF-16 code unit:
 * Excel writes a carriage return as _x000D_) in place in s[0..n); returns
 * the new length. A surrogate or NUL is left as written. */
static size_t unescape_x(char *s, size_t n)
{
	size_t r = 0, w = 0;
	if (!memchr(s, '_', n))
		return n;
	while (r < n) {
		if (s[r] == '_' && r + 7 <= n && s[r + 1] == 'x' && s[r + 6] == '_') {
			int h0 = hexval((unsigned char)s[r + 2]), h1 = hexval((unsigned char)s[r + 3]);
			int h2 = hexval((unsigned char)s[r + 4]), h3 = hexval((unsigned char)s[r + 5]);
			if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
				unsigned cp = (unsigned)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
				if (cp != 0 && (cp < 0xd800 || cp > 0xdfff)) {
					if (cp < 0x80) {
						s[w++] = (char)cp;
					} else if (cp < 0x800) {
						s[w++] = (char)(0xc0 | cp >> 6);
						s[w++] = (char)(0x80 | (cp & 0x3f));
					} else {
						s[w++] = (char)(0xe0 | cp >> 12);
						s[w++] = (char)(0x80 | ((cp >> 6) & 0x3f));
						s[w++] = (char)(0x80 | (cp & 0x3f));
					}
					r += 7;
					continue;
				}
			}
		}
		s[w++] = s[r++];
	}
	return w;
}

static int too_many_strings(struct lh_error *err)
{
	return lh_fail(err, 400, "xlsx_too_large",
		       "the workbook's shared strings take more than %llu MiB; save the sheet as "
		       "CSV and upload that",
		       (unsigned long long)(LH_XLSX_MAX_STRINGS_BYTES >> 20));
}

/* xl/sharedStrings.xml into l->sst: the text of each <si>, its runs' <t>
 * joined, phonetic runs (<rPh>) left out. */
static int read_strings(struct book *b, struct xlsx_layout *l, struct lh_error *err)
{
	struct part p;
	struct strings *s = &l->sst;
	int rc = part_open(b->zip, b->sst_path, &p, err), ev;
	int in_si = 0, in_t = 0, in_rph = 0;
	size_t start = 0;
	if (rc < 0)
		return book_error(err);
	s->off = xmalloc(sizeof *s->off);
	s->off[0] = 0;
	s->ncap = 1;
	if (rc == 0)
		return 0;
	while ((ev = xmlread_next(p.x, err)) > 0) {
		const char *name = xmlread_name(p.x);
		if (ev == XMLREAD_START) {
			if (!strcmp(name, "si")) {
				in_si = 1;
				start = s->len;
			} else if (!strcmp(name, "rPh")) {
				in_rph = 1;
			} else if (!strcmp(name, "t")) {
				in_t = 1;
			}
		} else if (ev == XMLREAD_TEXT) {
			size_t n;
			const char *t = xmlread_text(p.x, &n);
			if (in_si && in_t && !in_rph &&
			    buf_append(&s->data, &s->len, &s->cap, t, n,
				       LH_XLSX_MAX_STRINGS_BYTES - (s->n + 1) * sizeof *s->off)) {
				too_many_strings(err);
				ev = -1;
				break;
			}
		} else if (ev == XMLREAD_CLOSE) {
			if (!strcmp(name, "t")) {
				in_t = 0;
			} else if (!strcmp(name, "rPh")) {
				in_rph = 0;
			} else if (!strcmp(name, "si") && in_si) {
				in_si = 0;
				if (s->len > start)
					s->len = start + unescape_x(s->data + start, s->len - start);
				if ((s->n + 2) * sizeof *s->off + s->len > LH_XLSX_MAX_STRINGS_BYTES) {
					too_many_strings(err);
					ev = -1;
					break;
				}
				if (s->n + 1 == s->ncap) {
					s->ncap *= 2;
					s->off = xrealloc(s->off, s->ncap * sizeof *s->off);
				}
				s->off[++s->n] = s->len;
			}
		}
	}
	part_close(&p);
	return ev < 0 ? book_error(err) : 0;
}

/* ---- the sheet as rows of cells (note 2) -------------------------------- */

struct cell {
	uint32_t col;
	size_t off, len;     /* text in the walk's row buffer */
};

struct walk {
	const struct xlsx_layout *l;
	struct part p;
	char where[160];         /* the sheet, for messages */
	int in_data, ended;
	/* the row being read */
	uint32_t row;            /* 0-based sheet row */
	int64_t prev_row;        /* the previous <row>'s, -1 before the first */
	struct cell *cells;
	size_t ncells, cells_cap;
	char *text;              /* the row's cell texts */
	size_t tlen, tcap;
	/* the cell being read */
	int in_cell, in_v, in_is, in_t, in_rph, has_v;
	int64_t prev_col;        /* in this row, -1 before the first cell */
	uint32_t col;
	unsigned style;
	char type[12];
	char *val;               /* its <v> or inline text */
	size_t vlen, vcap;
	/* merged ranges, for messages (note 3) */
	struct merge *merges;
	size_t nmerges;
};

static void walk_close(struct walk *w)
{
	part_close(&w->p);
	free(w->cells);
	free(w->text);
	free(w->val);
	free(w->merges);
	memset(w, 0, sizeof *w);
}

/* Open the layout's sheet in the zip. */
static int walk_open(struct walk *w, struct zipread *z, const struct xlsx_layout *l,
		     struct lh_error *err)
{
	memset(w, 0, sizeof *w);
	w->l = l;
	w->prev_row = -1;
	snprintf(w->where, sizeof w->where, "sheet \"%s\"", l->sheet_name);
	int rc = part_open(z, l->sheet_path, &w->p, err);
	if (rc < 0)
		return book_error(err);
	if (rc == 0)
		return lh_fail(err, 400, "bad_xlsx",
			       "the file is not a readable Excel workbook: %s has no part %.*s",
			       w->where, utf8_cut(l->sheet_path, 200), l->sheet_path);
	return 0;
}

/* "B7" for messages. */
static void cell_name(uint32_t col, uint32_t row, char out[16])
{
	char c[4];
	xlsx_col_name(col, c);
	snprintf(out, 16, "%s%u", c, row + 1);
}

/* The displayed text of the cell just closed (note 4) into w->text; its
 * length, 0 for NULL. -1 on a dangling shared string. */
static int cell_text(struct walk *w, size_t *len, struct lh_error *err)
{
	const struct xlsx_layout *l = w->l;
	const char *t = w->type, *v = w->val ? w->val : "";
	char num[XLSX_TEXT_MAX];
	const char *out = v;
	size_t n = w->vlen;
	int unescape = 0;
	*len = 0;
	if (!w->has_v && strcmp(t, "inlineStr") != 0)
		return 0;                       /* empty, or a formula without a value */
	if (!strcmp(t, "s")) {
		char *end;
		unsigned long long i = strtoull(v, &end, 10);
		if (!n || *end || v[0] < '0' || v[0] > '9' || i >= l->sst.n) {
			char cn[16];
			cell_name(w->col, w->row, cn);
			return lh_fail(err, 400, "bad_xlsx",
				       "the file is not a readable Excel workbook: cell %s of %s refers "
				       "to a shared string the workbook does not have", cn, w->where);
		}
		out = l->sst.data ? l->sst.data + l->sst.off[i] : "";
		n = (size_t)(l->sst.off[i + 1] - l->sst.off[i]);
	} else if (!strcmp(t, "b")) {
		if (n == 1 && (v[0] == '0' || v[0] == '1')) {
			out = v[0] == '1' ? "true" : "false";
			n = v[0] == '1' ? 4 : 5;
		}
	} else if (!strcmp(t, "inlineStr") || !strcmp(t, "str")) {
		unescape = 1;
	} else if (!strcmp(t, "") || !strcmp(t, "n")) {
		unsigned kind = w->style < l->nxf ? l->xf_kind[w->style] : 0;
		size_t k = 0;
		if (kind) {
			char *end;
			double d = n ? strtod(v, &end) : 0;
			if (n && xlsx_number_text(v, n, num) && *end == '\0')
				k = xlsx_serial_text(d, kind, l->date1904, num);
		}
		if (!k)
			k = xlsx_number_text(v, n, num);
		if (k) {
			out = num;
			n = k;
		}
	}                                       /* "e" (#N/A), "d" (ISO text): as written */
	if (n == 0)
		return 0;
	if (w->tlen + n > LH_CSV_MAX_RECORD_BYTES) {
		return lh_fail(err, 400, "xlsx_too_large", "row %u of %s holds more than %u bytes of text",
			       w->row + 1, w->where, (unsigned)LH_CSV_MAX_RECORD_BYTES);
	}
	size_t at = w->tlen;
	buf_append(&w->text, &w->tlen, &w->tcap, out, n, (size_t)-1 / 2);
	if (unescape)
		w->tlen = at + unescape_x(w->text + at, n);
	*len = w->tlen - at;
	return 0;
}

static int walk_fail(struct walk *w, struct lh_error *err, const char *what)
{
	return lh_fail(err, 400, "bad_xlsx", "the file is not a readable Excel workbook: %s %s",
		       w->where, what);
}

/* The next row with a value: 1 (w->row, w->cells[0..ncells) in column
 * order, their text in w->text), 0 at the end of the sheet, or -1. */
static int walk_next(struct walk *w, struct lh_error *err)
{
	int ev;
	if (w->ended)
		return 0;
	while ((ev = xmlread_next(w->p.x, err)) > 0) {
		const char *name = xmlread_name(w->p.x);
		if (ev == XMLREAD_START) {
			if (!strcmp(name, "sheetData")) {
				w->in_data = 1;
			} else if (w->in_data && !strcmp(name, "row")) {
				const char *r = xmlread_attr(w->p.x, "r");
				int64_t row = w->prev_row + 1;
				if (r) {
					char *end;
					unsigned long long v = strtoull(r, &end, 10);
					if (*end || v == 0 || v > XLSX_MAX_ROWS)
						return walk_fail(w, err, "has a row number out of Excel's range");
					row = (int64_t)v - 1;
				}
				if (row <= w->prev_row || row >= (int64_t)XLSX_MAX_ROWS)
					return walk_fail(w, err, "has rows out of order");
				w->row = (uint32_t)row;
				w->prev_row = row;
				w->prev_col = -1;
				w->ncells = 0;
				w->tlen = 0;
			} else if (w->in_data && !strcmp(name, "c")) {
				const char *r = xmlread_attr(w->p.x, "r"), *t = xmlread_attr(w->p.x, "t");
				const char *s = xmlread_attr(w->p.x, "s");
				uint32_t col = (uint32_t)(w->prev_col + 1), row;
				if (r && (xlsx_cell_ref(r, &col, &row) || row != w->row))
					return walk_fail(w, err, "has a cell reference that is not in its row");
				if ((int64_t)col <= w->prev_col || col >= XLSX_MAX_COLS)
					return walk_fail(w, err, "has cells out of order");
				w->prev_col = col;
				w->col = col;
				w->in_cell = 1;
				w->has_v = 0;
				w->vlen = 0;
				snprintf(w->type, sizeof w->type, "%s", t ? t : "");
				w->style = s ? (unsigned)strtoul(s, NULL, 10) : 0;
			} else if (w->in_cell && !strcmp(name, "v")) {
				w->in_v = 1;
				w->has_v = 1;
			} else if (w->in_cell && !strcmp(name, "is")) {
				w->in_is = 1;
			} else if (w->in_is && !strcmp(name, "rPh")) {
				w->in_rph = 1;
			} else if (w->in_is && !strcmp(name, "t")) {
				w->in_t = 1;
			} else if (!w->in_data && !strcmp(name, "mergeCell")) {
				const char *ref = xmlread_attr(w->p.x, "ref");
				const char *colon = ref ? strchr(ref, ':') : NULL;
				struct merge m;
				char a[16];
				if (colon && (size_t)(colon - ref) < sizeof a &&
				    w->nmerges < XLSX_MAX_MERGES_KEPT) {
					memcpy(a, ref, (size_t)(colon - ref));
					a[colon - ref] = '\0';
					if (!xlsx_cell_ref(a, &m.c1, &m.r1) &&
					    !xlsx_cell_ref(colon + 1, &m.c2, &m.r2)) {
						w->merges = xgrow(w->merges, w->nmerges, sizeof *w->merges);
						w->merges[w->nmerges++] = m;
					}
				}
			}
		} else if (ev == XMLREAD_TEXT) {
			if ((w->in_v || (w->in_t && !w->in_rph)) && w->in_cell) {
				size_t n;
				const char *t = xmlread_text(w->p.x, &n);
				if (buf_append(&w->val, &w->vlen, &w->vcap, t, n, LH_CSV_MAX_FIELD_BYTES))
					return lh_fail(err, 400, "xlsx_too_large",
						       "a cell in row %u of %s holds more than %u bytes",
						       w->row + 1, w->where, (unsigned)LH_CSV_MAX_FIELD_BYTES);
			}
		} else if (ev == XMLREAD_CLOSE) {
			if (!strcmp(name, "v")) {
				w->in_v = 0;
			} else if (!strcmp(name, "t")) {
				w->in_t = 0;
			} else if (!strcmp(name, "rPh")) {
				w->in_rph = 0;
			} else if (!strcmp(name, "is")) {
				w->in_is = 0;
			} else if (w->in_cell && !strcmp(name, "c")) {
				size_t at = w->tlen, len;
				w->in_cell = 0;
				if (w->vcap)
					w->val[w->vlen] = '\0';
				if (cell_text(w, &len, err))
					return -1;
				if (len) {
					if (w->ncells == w->cells_cap) {
						w->cells_cap = w->cells_cap ? 2 * w->cells_cap : 16;
						w->cells = xrealloc(w->cells, w->cells_cap * sizeof *w->cells);
					}
					w->cells[w->ncells++] = (struct cell){ w->col, at, len };
				}
			} else if (w->in_data && !strcmp(name, "row")) {
				if (w->ncells)
					return 1;
			} else if (!strcmp(name, "sheetData")) {
				w->in_data = 0;
			}
		}
	}
	if (ev < 0)
		return book_error(err);
	w->ended = 1;
	return 0;
}

/* ---- sniffing ----------------------------------------------------------- */

/* On format.h's scale: INGEST_SNIFF_MAGIC for a zip whose head names a
 * workbook's parts, or any zip declared a workbook; INGEST_SNIFF_DECLARED
 * when the media type or file name says so but it is no zip (read, so that
 * it fails as a damaged workbook); else 0. */
static int xlsx_sniff(const struct ingest_sniff *in)
{
	int zip = in->nhead >= 4 && !memcmp(in->head, "PK\x03\x04", 4);
	int declared = ingest_media_type_is(in->media_type, XLSX_MEDIA_TYPE) ||
		       ingest_name_ends(in->file_name, ".xlsx") ||
		       ingest_name_ends(in->file_name, ".xlsm");
	/* a workbook's local headers name its parts: xl/workbook.xml, xl/worksheets/... */
	int parts = zip && (memmem(in->head, in->nhead, "xl/workbook.xml", 15) ||
			    memmem(in->head, in->nhead, "xl/worksheets/", 14));
	if (zip && (parts || declared))
		return INGEST_SNIFF_MAGIC;
	return declared ? INGEST_SNIFF_DECLARED : 0;
}

/* ---- inference over the whole file (notes 1, 3) ------------------------- */

/* Note 3: the 400 for column `c`, which has a value in sheet row `row` but
 * no name in the header row (a merged header cell covering it is named). */
static int unnamed_column(const struct xlsx_layout *l, const struct walk *w, uint32_t c,
			  uint32_t row, struct lh_error *err)
{
	char cn[16], hn[16], letters[4], where[80] = "";
	cell_name(c, row, cn);
	cell_name(c, l->header_row, hn);
	xlsx_col_name(c, letters);
	for (size_t i = 0; i < w->nmerges; i++) {
		const struct merge *m = &w->merges[i];
		if (m->r1 <= l->header_row && l->header_row <= m->r2 && m->c1 <= c && c <= m->c2) {
			char a[16], b[16];
			cell_name(m->c1, m->r1, a);
			cell_name(m->c2, m->r2, b);
			snprintf(where, sizeof where, " (it is covered by the merged cell %s:%s)", a, b);
			break;
		}
	}
	lh_fail(err, 400, "bad_header",
		"column %s of sheet \"%s\" has values (the first in cell %s) but its header "
		"cell %s is empty%s: give every column with data a name in the header row",
		letters, l->sheet_name, cn, hn, where);
	lh_error_set(err, "cell", json_string(hn));
	lh_error_set(err, "column", json_string(letters));
	return -1;
}

/* Note 3: which sheet columns become schema columns. first_row[c]: the
 * first data row with a value in column c (UINT32_MAX: none); past the
 * header's width, the leftmost column with a value is `over` (UINT32_MAX:
 * none), first in row over_row. */
static int decide_columns(struct xlsx_layout *l, char **names, const uint32_t *first_row,
			  uint32_t over, uint32_t over_row, const struct walk *w,
			  struct lh_error *err)
{
	size_t kept = 0;
	l->colmap = xmalloc((l->width ? l->width : 1) * sizeof *l->colmap);
	for (uint32_t c = 0; c < l->width; c++) {
		l->colmap[c] = -1;
		if (names[c][0])
			l->colmap[c] = (int32_t)kept++;
		else if (first_row[c] != UINT32_MAX)
			return unnamed_column(l, w, c, first_row[c], err);
	}
	if (over != UINT32_MAX)
		return unnamed_column(l, w, over, over_row, err);
	return 0;
}

/* The file's schema (notes 1-3); `want` is ?sheet= or NULL. */
static int xlsx_infer(int fd, uint64_t size, const char *want, uint64_t max_upload,
		      struct ingest_schema **out, struct lh_error *err)
{
	struct book b = { 0 };
	struct walk w = { 0 };
	struct infer_columns types = { 0 };
	struct ingest_schema *s = ingest_schema_create(&ingest_format_xlsx), *all = NULL;
	struct xlsx_layout *l = xcalloc(1, sizeof *l);
	const struct sheet *sheet = NULL;
	char **names = NULL;
	uint32_t *first_row = NULL, over = UINT32_MAX, over_row = 0;
	uint64_t *nvalues = NULL;        /* per column: data rows with a value */
	uint64_t chunk_bytes = 0, chunk_rows = 0, text_bytes = 0;
	size_t chunks_cap = 0;
	int rc = -1, r;
	/* note 7: the displayed text of the whole sheet is bounded */
	if (!max_upload)
		max_upload = LH_DEFAULT_MAX_UPLOAD_BYTES;
	uint64_t text_limit = max_upload > UINT64_MAX / LH_XLSX_DECODED_FACTOR
		? UINT64_MAX : max_upload * LH_XLSX_DECODED_FACTOR;

	*out = NULL;
	s->layout = l;
	read_slot_take(l);                      /* note 8 */
	if (zipread_open(fd, size, &b.zip, err)) {
		book_error(err);
		goto out;
	}
	if (read_workbook(&b, err) || read_rels(&b, err) || pick_sheet(&b, want, &sheet, err))
		goto out;
	snprintf(l->sheet_path, sizeof l->sheet_path, "%s", sheet->path);
	snprintf(l->sheet_name, sizeof l->sheet_name, "%.*s", utf8_cut(sheet->name, 120), sheet->name);
	l->date1904 = b.date1904;
	if (read_styles(&b, l, err) || read_strings(&b, l, err) || walk_open(&w, b.zip, l, err))
		goto out;

	/* the header: the first row with a value (note 3) */
	r = walk_next(&w, err);
	if (r < 0)
		goto out;
	if (r == 0) {
		lh_fail(err, 400, "empty_file",
			"sheet \"%s\" is empty: its first row must hold the column names",
			l->sheet_name);
		goto out;
	}
	l->header_row = w.row;
	l->width = w.cells[w.ncells - 1].col + 1;
	if (l->width > LH_CSV_MAX_COLUMNS) {
		lh_fail(err, 400, "too_many_columns", "sheet \"%s\" has more than %d columns",
			l->sheet_name, (int)LH_CSV_MAX_COLUMNS);
		goto out;
	}
	names = xcalloc(l->width, sizeof *names);
	first_row = xmalloc(l->width * sizeof *first_row);
	nvalues = xcalloc(l->width, sizeof *nvalues);
	for (uint32_t c = 0; c < l->width; c++)
		first_row[c] = UINT32_MAX;
	for (size_t i = 0; i < w.ncells; i++)
		names[w.cells[i].col] = xstrndup(w.text + w.cells[i].off, w.cells[i].len);
	for (uint32_t c = 0; c < l->width; c++)
		if (!names[c])
			names[c] = xstrdup("");
	infer_columns_init(&types, l->width);

	/* the data rows */
	while ((r = walk_next(&w, err)) > 0) {
		size_t k = 0;
		uint64_t bytes = w.tlen;
		text_bytes += bytes;
		if (text_bytes > text_limit) {                          /* note 7 */
			lh_fail(err, 400, "xlsx_too_large",
				"sheet \"%s\" holds more than %llu bytes of cell text by row %u (%d "
				"times [ingestd] max_upload_bytes): a few long texts repeated in many "
				"cells; split it, or save it as CSV", l->sheet_name,
				(unsigned long long)text_limit, w.row + 1, (int)LH_XLSX_DECODED_FACTOR);
			goto out;
		}
		if (w.cells[w.ncells - 1].col >= l->width) {    /* told at the end */
			size_t i = 0;
			while (w.cells[i].col < l->width)
				i++;
			if (w.cells[i].col < over) {
				over = w.cells[i].col;
				over_row = w.row;
			}
		}
		if ((s->row_count + 1) * l->width > LH_XLSX_MAX_CELLS) {        /* note 6 */
			lh_fail(err, 400, "xlsx_too_large",
				"sheet \"%s\" has more than %llu cells (rows x columns, empty ones "
				"included); split it, or save it as CSV", l->sheet_name,
				(unsigned long long)LH_XLSX_MAX_CELLS);
			goto out;
		}
		/* note 5: chunk boundaries */
		if (l->nchunks == 0 || chunk_rows == XLSX_CHUNK_ROWS ||
		    (chunk_rows + 1) * l->width > XLSX_CHUNK_CELLS ||
		    chunk_bytes + bytes > XLSX_CHUNK_BYTES) {
			if (l->nchunks == chunks_cap) {
				chunks_cap = chunks_cap ? 2 * chunks_cap : 16;
				l->chunk_row = xrealloc(l->chunk_row, chunks_cap * sizeof *l->chunk_row);
			}
			l->chunk_row[l->nchunks++] = s->row_count;
			chunk_rows = chunk_bytes = 0;
		}
		chunk_rows++;
		chunk_bytes += bytes;
		types.line = w.row + 1;    /* declared types name the sheet's row (infer.h note 5) */
		for (; k < w.ncells && w.cells[k].col < l->width; k++) {
			const struct cell *c = &w.cells[k];
			infer_columns_value(&types, c->col, w.text + c->off, c->len);
			if (first_row[c->col] == UINT32_MAX)
				first_row[c->col] = w.row;
			nvalues[c->col]++;
		}
		s->row_count++;
	}
	if (r < 0)
		goto out;
	for (uint32_t c = 0; c < l->width; c++)        /* note 6: the nulls, once */
		if (nvalues[c] < s->row_count)
			infer_columns_value(&types, c, "", 0);
	if (decide_columns(l, names, first_row, over, over_row, &w, err))
		goto out;

	/* the columns: all inferred, the named ones kept (note 3) */
	all = ingest_schema_create(NULL);
	all->columns = xcalloc(l->width, sizeof *all->columns);
	all->ncols = l->width;
	infer_columns_result(&types, all->columns);
	s->columns = xcalloc(l->width, sizeof *s->columns);
	struct ingest_column *dropped = xcalloc(l->width, sizeof *dropped);
	size_t ndropped = 0;
	for (uint32_t c = 0; c < l->width; c++) {
		all->columns[c].name = names[c];
		names[c] = NULL;
		if (l->colmap[c] >= 0)
			s->columns[s->ncols++] = all->columns[c];
		else
			dropped[ndropped++] = all->columns[c];
	}
	free(all->columns);
	all->columns = dropped;         /* freed with `all` */
	all->ncols = ndropped;

	struct csv_field *fields = xcalloc(s->ncols ? s->ncols : 1, sizeof *fields);
	for (size_t i = 0; i < s->ncols; i++) {
		fields[i].ptr = s->columns[i].name;
		fields[i].len = (uint32_t)strlen(s->columns[i].name);
	}
	struct csv_scanner sc = { .nfields = s->ncols, .fields = fields };
	int bad = csv_check_header(&sc, err);
	free(fields);
	if (bad) {
		lh_error_rephrase(err, "sheet \"%s\", row %u: %s", l->sheet_name,
				  l->header_row + 1, err->msg);
		goto out;
	}
	s->data_end = size;
	ingest_fingerprint(s->columns, s->ncols, s->fingerprint);
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (names)
		for (uint32_t c = 0; c < l->width; c++)
			free(names[c]);
	free(names);
	free(first_row);
	free(nvalues);
	infer_columns_free(&types);
	walk_close(&w);
	book_free(&b);
	ingest_schema_destroy(all);
	ingest_schema_destroy(s);    /* frees the layout too */
	return rc;
}

int xlsx_infer_sheet(int fd, uint64_t size, const char *sheet, struct ingest_schema **out,
		     struct lh_error *err)
{
	return xlsx_infer(fd, size, sheet, 0, out, err);
}

static int xlsx_infer_file(int fd, uint64_t size, const struct ingest_options *opt,
			   struct ingest_schema **out, struct lh_error *err)
{
	return xlsx_infer(fd, size, opt ? opt->sheet : NULL, opt ? opt->max_upload_bytes : 0, out,
			  err);
}

/* ---- record batches (note 5) -------------------------------------------- */

struct xlsx_source {
	int fd;
	const struct ingest_schema *s;
	const struct xlsx_layout *l;
	pthread_mutex_t lock;
	pthread_cond_t turn;
	size_t next;             /* the chunk whose turn it is */
	int failed;
	int opened;
	struct zipread *zip;
	struct walk w;
};

static void source_free(void *ctx)
{
	struct xlsx_source *src = ctx;
	walk_close(&src->w);
	zipread_close(src->zip);
	pthread_cond_destroy(&src->turn);
	pthread_mutex_destroy(&src->lock);
	free(src);
}

/* Under the lock: chunk i's rows from the shared walk into a new batch. */
static struct batch *fill_chunk(struct xlsx_source *src, size_t i, char *msg, size_t msg_cap)
{
	const struct xlsx_layout *l = src->l;
	const struct ingest_schema *s = src->s;
	struct lh_error err = { 0 };
	uint64_t first = l->chunk_row[i];
	uint64_t end = i + 1 < l->nchunks ? l->chunk_row[i + 1] : s->row_count;
	size_t nrows = (size_t)(end - first);
	struct batch *b = NULL;
	int r;

	if (!src->opened) {
		src->opened = 1;
		if (zipread_open(src->fd, s->data_end, &src->zip, &err) ||
		    walk_open(&src->w, src->zip, l, &err))
			goto fail;
		r = walk_next(&src->w, &err);           /* the header */
		if (r <= 0 || src->w.row != l->header_row) {
			if (r >= 0)
				lh_fail(&err, 500, "internal", "the workbook changed after inference");
			goto fail;
		}
	}
	b = batch_create(s, nrows);
	for (size_t row = 0; row < nrows; row++) {
		r = walk_next(&src->w, &err);
		if (r <= 0) {
			if (r == 0)
				lh_fail(&err, 500, "internal", "the sheet has fewer rows than inference counted");
			goto fail;
		}
		/* every column of every row is put: batch.h's nulls need it */
		const struct walk *w = &src->w;
		size_t k = 0;
		if (w->cells[w->ncells - 1].col >= l->width) {
			lh_fail(&err, 500, "internal", "the sheet changed after inference");
			goto fail;
		}
		for (uint32_t c = 0; c < l->width; c++) {
			const char *p = "";
			size_t n = 0;
			if (k < w->ncells && w->cells[k].col == c) {
				p = w->text + w->cells[k].off;
				n = w->cells[k].len;
				k++;
			}
			int32_t col = l->colmap[c];
			if (col < 0) {
				if (n) {
					lh_fail(&err, 500, "internal", "the sheet changed after inference");
					goto fail;
				}
				continue;
			}
			if (batch_put_text(b, (size_t)col, row, p, n)) {
				char cn[16];
				cell_name(c, w->row, cn);
				snprintf(msg, msg_cap, "cell %s: value of column %d does not match its inferred type",
					 cn, col + 1);
				batch_free(b);
				return NULL;
			}
		}
	}
	return b;
fail:
	snprintf(msg, msg_cap, "%.200s", err.msg[0] ? err.msg : "reading the workbook failed");
	lh_error_clear(&err);
	batch_free(b);
	return NULL;
}

static struct batch *parse_chunk(void *ctx, void *scratch, size_t i, char *msg, size_t msg_cap)
{
	struct xlsx_source *src = ctx;
	struct batch *b = NULL;
	pthread_mutex_lock(&src->lock);
	while (!src->failed && src->next != i)
		pthread_cond_wait(&src->turn, &src->lock);
	if (src->failed) {
		snprintf(msg, msg_cap, "an earlier part of the sheet failed");
	} else {
		b = fill_chunk(src, i, msg, msg_cap);
		src->failed = b == NULL;
		src->next++;
	}
	pthread_cond_broadcast(&src->turn);
	pthread_mutex_unlock(&src->lock);
	return b;
}

static int xlsx_batches(int fd, const struct ingest_schema *s, struct ArrowArrayStream *out,
			struct lh_error *err)
{
	struct xlsx_source *src = xcalloc(1, sizeof *src);
	src->fd = fd;
	src->s = s;
	src->l = s->layout;
	pthread_mutex_init(&src->lock, NULL);
	pthread_cond_init(&src->turn, NULL);
	struct batch_source bs = {
		.nchunks = src->l ? src->l->nchunks : 0, .ctx = src, .parse = parse_chunk,
		.ctx_free = source_free,
	};
	batch_stream_open(s, &bs, out);
	return 0;
}

const char *xlsx_sheet_name(const struct ingest_schema *s)
{
	const struct xlsx_layout *l = s->format == &ingest_format_xlsx ? s->layout : NULL;
	return l ? l->sheet_name : NULL;
}

const struct ingest_format ingest_format_xlsx = {
	.name = "xlsx",
	.sniff = xlsx_sniff,
	.batches = xlsx_batches,
	.layout_free = xlsx_layout_free,
	.infer_file = xlsx_infer_file,
};
