/* documents.c — the documents module's front: format detection, the
 * dispatch to one reader per format, plain text and Markdown, and the text
 * normalisation every reader's pages go through (ADR 0220).
 *
 * DESIGN NOTES
 *  1. Binary magic beats the name: "%PDF-" in the first 1,024 bytes (where
 *     PDF readers look for it) is a PDF, a zip with word/document.xml is a
 *     DOCX, whatever the file is called. A .pdf or .docx name without the
 *     magic still goes to that reader, which says what is wrong with it
 *     (400 bad_document) rather than 415. For text formats the name beats
 *     sniffing (.md is Markdown even if it holds <html>); without a telling
 *     name, a leading <!doctype html>/<html>/<body> tag makes it HTML.
 *  2. Text that is not UTF-8 is read as Windows-1252 (Latin-1 whose
 *     0x80-0x9F hold the curly quotes and dashes that real "Latin-1" files
 *     carry) and converted; from_latin1 says so. Bytes 0x00-0x08, 0x0E-0x1A,
 *     0x1C-0x1F or 0x7F make a file binary: 415, never a page of garbage.
 *     Markdown is kept as written (ADR 0220): its markers are few, readable
 *     and searchable, and the chunk shows what the author wrote.
 *  3. Every page is normalised once, here (doc_text_add_page): invalid
 *     UTF-8 becomes U+FFFD; CR LF, CR, FF, VT, U+2028/2029 become LF; other
 *     control characters (C0 but TAB, DEL, C1) a space; U+FEFF dropped;
 *     blanks at line ends dropped; two or more line breaks with only blanks
 *     between become one blank line (a paragraph break, what doc_chunk()
 *     splits on); the page is trimmed. The text cap counts normalised bytes.
 *  4. Memory: normalisation is one pass (Latin-1 decoded on the way, no
 *     converted copy) whose page buffer is capped at what is left of
 *     max_text_bytes and whose line buffer the same, so
 *     a hostile file (250 MB of 0x80, each 3 bytes of UTF-8) is 413
 *     too_large once the cap is reached, having held about the cap
 *     (before: three uncapped copies, 2.6 GB peak).
 */
#include "documents/documents_int.h"

#include "common/buf.h"
#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void doc_limits_default(struct doc_limits *l)
{
	l->max_pages = LH_DOC_MAX_PAGES;
	l->max_text_bytes = LH_DOC_MAX_TEXT_BYTES;
	l->max_expanded_bytes = LH_DOC_MAX_EXPANDED_BYTES;
	l->max_seconds = LH_DOC_MAX_SECONDS;
	l->max_worker_bytes = LH_DOC_WORKER_BYTES;
	l->worker_exe = "/proc/self/exe";
	l->workers = NULL;
}

void doc_limits_from_config(struct doc_limits *l, const struct lh_config *cfg)
{
	doc_limits_default(l);
	if (cfg->ingestd.max_document_pages)
		l->max_pages = cfg->ingestd.max_document_pages;
	if (cfg->ingestd.document_timeout_ms)
		l->max_seconds = cfg->ingestd.document_timeout_ms / 1000.0;
	l->max_worker_bytes = (size_t)cfg->ingestd.document_memory_bytes;
}

const char *doc_format_name(enum doc_format f)
{
	switch (f) {
	case DOC_PDF: return "pdf";
	case DOC_DOCX: return "docx";
	case DOC_HTML: return "html";
	case DOC_MARKDOWN: return "markdown";
	case DOC_TEXT: return "text";
	}
	return "text";
}

size_t doc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t len;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2; v = c & 0x1Fu; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3; v = c & 0x0Fu; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4; v = c & 0x07u; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

size_t doc_utf8_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			chars++;
	return chars;
}

static void put_cp(struct lh_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp; n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4;
	}
	lh_buf_append(b, u, n);   /* callers check the room first (note 4) */
}

static int binary_byte(unsigned char c)
{
	return c <= 0x08 || (c >= 0x0E && c <= 0x1A) || (c >= 0x1C && c <= 0x1F) || c == 0x7F;
}

int doc_text_kind(const unsigned char *data, size_t len)
{
	int utf8 = 1;
	for (size_t i = 0; i < len;) {
		if (binary_byte(data[i]))
			return 0;
		if (data[i] < 0x80) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t k = utf8 ? doc_utf8_decode(data + i, len - i, &cp) : 0;
		if (k == 0) {
			utf8 = 0;
			i++;
		} else {
			i += k;
		}
	}
	return utf8 ? 1 : 2;
}

/* Note 2: Windows-1252's 0x80-0x9F; 0 where it has no character (those
 * bytes stay C1 controls, which normalisation turns into spaces). */
static const uint16_t cp1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* Note 3 in one pass: each character is mapped (Latin-1 bytes through
 * cp1252_high when latin1), lines are collected one at a time and only a
 * line with text goes into the page. Memory stays bounded by the cap
 * (note 4): the page never holds more than `budget` bytes, nor the line
 * being read; blanks past that are only counted
 * (they are dropped if the line ends, and text after them is too large
 * anyway). Returns 0, or -1 as soon as the page would pass the budget. */
struct norm {
	struct lh_buf page, line;
	size_t budget;
	int breaks;          /* line breaks seen since the last text */
	int line_text;       /* the line holds a non-blank */
	int blanks_over;     /* blanks past the budget were dropped */
	int over;
};

static int norm_line_end(struct norm *z)
{
	const char *s = z->line.data ? z->line.data : "";
	size_t end = z->line.len, start = 0;
	while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	while (start < end && (s[start] == ' ' || s[start] == '\t'))
		start++;
	if (start < end) {                  /* a line with text */
		size_t sep = z->page.len > 0 ? (z->breaks > 1 ? 2 : 1) : 0;
		size_t from = z->page.len == 0 ? start : 0;   /* the page starts trimmed */
		if (sep + (end - from) > z->budget - z->page.len) {
			z->over = 1;
			return -1;
		}
		if (sep)
			lh_buf_append(&z->page, "\n\n", sep);
		lh_buf_append(&z->page, s + from, end - from);
		z->breaks = 0;
	}
	z->line.len = 0;
	z->line_text = 0;
	z->blanks_over = 0;
	return 0;
}

static int norm_put(struct norm *z, uint32_t cp)
{
	if (cp == '\n') {
		if (norm_line_end(z))
			return -1;
		z->breaks++;
		return 0;
	}
	int blank = cp == ' ' || cp == '\t';
	if (blank && !z->line_text && z->page.len == 0)
		return 0;                   /* leading blanks of the page */
	size_t room = z->budget - z->page.len;
	size_t bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	if (bytes > room - (z->line.len < room ? z->line.len : room)) {
		if (blank) {
			z->blanks_over = 1;
			return 0;
		}
		z->over = 1;
		return -1;
	}
	if (!blank && z->blanks_over) {
		z->over = 1;
		return -1;
	}
	put_cp(&z->line, cp);
	z->line_text |= !blank;
	return 0;
}

static int normalize(const unsigned char *s, size_t n, int latin1, struct norm *z)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k;
		if (latin1) {                                           /* note 2 */
			cp = s[i];
			if (cp >= 0x80 && cp <= 0x9F && cp1252_high[cp - 0x80])
				cp = cp1252_high[cp - 0x80];
			k = 1;
		} else {
			k = doc_utf8_decode(s + i, n - i, &cp);
			if (k == 0) {
				cp = 0xFFFD;
				k = 1;
			}
		}
		i += k;
		if (cp == '\r') {
			if (i < n && s[i] == '\n')
				i++;
			cp = '\n';
		} else if (cp == '\f' || cp == '\v' || cp == 0x2028 || cp == 0x2029) {
			cp = '\n';
		} else if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp <= 0x9F)) {
			cp = ' ';
		} else if (cp == 0xFEFF) {
			continue;
		}
		if (norm_put(z, cp))
			return -1;
	}
	return norm_line_end(z);
}

/* The peak bytes the normaliser held for one page (tests: note 4). */
static size_t norm_peak;

size_t doc_text_norm_peak(void)
{
	return __atomic_load_n(&norm_peak, __ATOMIC_RELAXED);
}

static int add_page(struct doc_text *t, unsigned page, const char *raw, size_t len, int latin1,
		    const struct doc_limits *lim, size_t *total, struct lh_error *err)
{
	struct norm z = { .budget = lim->max_text_bytes - (*total < lim->max_text_bytes ? *total
											 : lim->max_text_bytes) };
	lh_buf_init(&z.page, z.budget);
	lh_buf_init(&z.line, z.budget);
	int rc = normalize((const unsigned char *)raw, len, latin1, &z);
	size_t peak = z.page.alloc + z.line.alloc;
	__atomic_store_n(&norm_peak, peak, __ATOMIC_RELAXED);
	lh_buf_free(&z.line);
	if (rc) {
		lh_buf_free(&z.page);
		return lh_fail(err, 413, "too_large", "has more than %zu bytes of text", lim->max_text_bytes);
	}
	*total += z.page.len;
	t->pages = xgrow(t->pages, t->n_pages, sizeof *t->pages);
	struct doc_page *p = &t->pages[t->n_pages++];
	p->page = page;
	p->len = z.page.len;
	p->text = lh_buf_take(&z.page);
	return 0;
}

int doc_text_add_page(struct doc_text *t, unsigned page, const char *raw, size_t len,
		      const struct doc_limits *lim, size_t *total, struct lh_error *err)
{
	return add_page(t, page, raw, len, 0, lim, total, err);
}

int doc_text_require(const struct doc_text *t, struct lh_error *err)
{
	for (size_t i = 0; i < t->n_pages; i++)
		if (t->pages[i].len > 0)
			return 0;
	if (t->format == DOC_PDF)
		return lh_fail(err, 400, "no_text", "has no text: it may be scanned images");
	return lh_fail(err, 400, "no_text", "has no text");
}

void doc_text_free(struct doc_text *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_pages; i++)
		free(t->pages[i].text);
	free(t->pages);
	t->pages = NULL;
	t->n_pages = 0;
}

/* ---- detection (note 1) ---------------------------------------------- */

static const char *extension(const char *name)
{
	if (!name)
		return "";
	const char *slash = strrchr(name, '/');
	const char *base = slash ? slash + 1 : name;
	const char *dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : "";
}

static int ext_in(const char *ext, const char *const *list)
{
	for (; *list; list++)
		if (!strcasecmp(ext, *list))
			return 1;
	return 0;
}

static int has_bytes(const unsigned char *data, size_t len, const char *needle, size_t within)
{
	size_t k = strlen(needle);
	size_t lim = len < within ? len : within;
	for (size_t i = 0; i + k <= lim; i++)
		if (!memcmp(data + i, needle, k))
			return 1;
	return 0;
}

/* A leading HTML tag (after a BOM, blanks and comments are skipped). */
static int looks_html(const unsigned char *data, size_t len)
{
	size_t i = 0;
	if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3))
		i = 3;
	for (;;) {
		while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
			i++;
		if (i + 4 <= len && !memcmp(data + i, "<!--", 4)) {
			size_t j = i + 4;
			while (j + 3 <= len && memcmp(data + j, "-->", 3))
				j++;
			if (j + 3 > len || j > 4096)
				return 0;
			i = j + 3;
			continue;
		}
		break;
	}
	static const char *const tags[] = { "<!doctype html", "<html", "<head", "<body", NULL };
	for (const char *const *t = tags; *t; t++) {
		size_t k = strlen(*t);
		if (i + k <= len && !strncasecmp((const char *)data + i, *t, k) &&
		    (i + k == len || !((data[i + k] >= 'a' && data[i + k] <= 'z') ||
				       (data[i + k] >= 'A' && data[i + k] <= 'Z'))))
			return 1;
	}
	return 0;
}

int doc_detect(const char *file_name, const unsigned char *data, size_t len, enum doc_format *out,
	       struct lh_error *err)
{
	static const char *const ext_pdf[] = { "pdf", NULL };
	static const char *const ext_docx[] = { "docx", NULL };
	static const char *const ext_html[] = { "html", "htm", "xhtml", NULL };
	static const char *const ext_md[] = { "md", "markdown", "mdown", "mkd", NULL };
	static const char *const ext_text[] = { "txt", "text", NULL };
	const char *ext = extension(file_name);

	if (has_bytes(data, len, "%PDF-", 1024)) {
		*out = DOC_PDF;
		return 0;
	}
	if (len >= 4 && !memcmp(data, "PK\x03\x04", 4)) {
		if (has_bytes(data, len, "word/document.xml", len) || ext_in(ext, ext_docx)) {
			*out = DOC_DOCX;
			return 0;
		}
		return lh_fail(err, 415, "unsupported_format",
			       "is a zip archive that is not a Word document (.docx)");
	}
	if (ext_in(ext, ext_pdf)) {
		*out = DOC_PDF;
		return 0;
	}
	if (ext_in(ext, ext_docx)) {
		*out = DOC_DOCX;
		return 0;
	}
	if (len >= 8 && !memcmp(data, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
		return lh_fail(err, 415, "unsupported_format",
			       "is an old Microsoft Office file (.doc): save it as .docx or PDF");
	if (doc_text_kind(data, len) == 0)
		return lh_fail(err, 415, "unsupported_format",
			       "is not a PDF, Word (.docx), HTML, Markdown or text file");
	if (ext_in(ext, ext_html))
		*out = DOC_HTML;
	else if (ext_in(ext, ext_md))
		*out = DOC_MARKDOWN;
	else if (ext_in(ext, ext_text))
		*out = DOC_TEXT;
	else
		*out = looks_html(data, len) ? DOC_HTML : DOC_TEXT;
	return 0;
}

/* ---- plain text and Markdown (note 2) -------------------------------- */

int doc_plain_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		      struct doc_text *t, struct lh_error *err)
{
	size_t total = 0;
	int kind = doc_text_kind(data, len);
	if (kind == 0)
		return lh_fail(err, 415, "unsupported_format", "is not a text file");
	if (kind == 1)
		return doc_text_add_page(t, 0, (const char *)data, len, lim, &total, err);
	t->from_latin1 = true;   /* converted while normalised: no copy (note 4) */
	return add_page(t, 0, (const char *)data, len, 1, lim, &total, err);
}

int doc_extract(const char *file_name, const unsigned char *data, size_t len, const struct doc_limits *lim,
		struct doc_text *out, struct lh_error *err)
{
	struct doc_limits def;
	enum doc_format f;
	int rc;

	memset(out, 0, sizeof *out);
	if (!lim) {
		doc_limits_default(&def);
		lim = &def;
	}
	rc = doc_detect(file_name, data, len, &f, err);
	if (rc)
		return rc;
	out->format = f;
	doc_workers_slot_take(lim->workers);          /* pdf_worker.c note 6 */
	switch (f) {
	case DOC_PDF: rc = doc_pdf_extract(data, len, lim, out, err); break;
	case DOC_DOCX: rc = doc_docx_extract(data, len, lim, out, err); break;
	case DOC_HTML: rc = doc_html_extract(data, len, lim, out, err); break;
	case DOC_MARKDOWN:
	case DOC_TEXT: rc = doc_plain_extract(data, len, lim, out, err); break;
	}
	doc_workers_slot_give(lim->workers);
	if (rc == 0)
		rc = doc_text_require(out, err);
	if (rc) {
		doc_text_free(out);
		memset(out, 0, sizeof *out);
		out->format = f;
	}
	return rc;
}
