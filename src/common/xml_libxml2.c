/* xml_libxml2.c — xmlread.h on libxml2's streaming xmlTextReader (ADR 0109):
 * the only file that includes libxml2's headers.
 *
 * DESIGN NOTES
 *   1. xmlReaderForIO pulls the document through our read callback in small
 *      pieces; the reader keeps only the current node and its ancestors, so
 *      a sheet of a million rows costs the memory of one row.
 *   2. Options: NONET (no network), no NOENT/DTDLOAD/DTDATTR (entities are
 *      never substituted from a DTD, nothing external is loaded), no HUGE
 *      (libxml2's caps on depth and on one text node stay). A DOCTYPE node
 *      is refused outright: no OOXML part carries one.
 *   3. An empty element gives START then a synthesised CLOSE, so callers
 *      see balanced events whatever the writer chose (<c/> or <c></c>).
 *   4. Attribute values are copied into our buffer at START: libxml2's
 *      const strings for attributes may live in a buffer that the next
 *      attribute call reuses.
 *   5. Errors: the read callback's lh_error wins (a zip bomb, a damaged
 *      entry); else libxml2's first error becomes 400 "bad_xml" with the
 *      line, its own text in the log detail.
 *   6. HTML (xmlread_html_text, for documents, ADR 0220): libxml2's HTML
 *      parser with our SAX callbacks, so no tree is built; it recovers from
 *      any tag soup as browsers do. NONET, no errors printed. Text of
 *      head, script, style, noscript, template, svg, iframe and object is
 *      dropped; block elements end a paragraph; whitespace collapses as a
 *      browser shows it (kept inside pre).
 *   7. HTML is hostile input read in the server's process, so its cost is
 *      capped: the parser's open-element stack (ctxt->nameNr) may not pass
 *      max_depth (libxml2's HTML parser has no cap of its own, and an end
 *      tag that matches nothing searches the whole stack: 100,000 unclosed
 *      <div> and as many stray </p> took minutes), which is 400
 *      bad_document as xmllint's "Excessive depth"; and a wall-clock
 *      deadline is checked every 256 SAX events (413 too_large). The
 *      events are counted (xmlread_html_last_work) so tests can show the
 *      work stayed bounded without timing it.
 */
#include "common/xmlread.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <libxml/HTMLparser.h>
#include <libxml/parserInternals.h>
#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xmlread {
	xmlTextReaderPtr r;
	xmlread_fn read;
	void *ctx;
	char what[128];
	struct lh_error read_err;     /* the read callback's failure (note 5) */
	int xml_failed;               /* libxml2 reported an error */
	int xml_line;
	char xml_msg[200];
	int pending_close;            /* note 3 */
	int depth;
	const char *name;             /* current element's local name (dict) */
	size_t nattrs;
	const char *attr_name[XMLREAD_MAX_ATTRS];
	size_t attr_off[XMLREAD_MAX_ATTRS];
	char *abuf;                   /* attribute values, NUL-separated (note 4) */
	size_t abuf_cap;
	const char *text;
	size_t ntext;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libxml2(void)
{
	xmlInitParser();
}

static int io_read(void *ctx, char *buf, int len)
{
	struct xmlread *x = ctx;
	if (x->read_err.status)
		return -1;
	ssize_t n = x->read(x->ctx, buf, (size_t)len, &x->read_err);
	if (n < 0 && !x->read_err.status)
		lh_fail(&x->read_err, 500, "io_error", "reading %s failed", x->what);
	return n < 0 ? -1 : (int)n;
}

static int io_close(void *ctx)
{
	return 0;
}

static void on_error(void *ctx, xmlErrorPtr e)
{
	struct xmlread *x = ctx;
	if (x->xml_failed || !e || e->level < XML_ERR_ERROR)
		return;
	x->xml_failed = 1;
	x->xml_line = e->line;
	snprintf(x->xml_msg, sizeof x->xml_msg, "%s", e->message ? e->message : "");
	size_t n = strlen(x->xml_msg);
	while (n && (x->xml_msg[n - 1] == '\n' || x->xml_msg[n - 1] == ' '))
		x->xml_msg[--n] = '\0';
}

struct xmlread *xmlread_open(xmlread_fn read, void *ctx, const char *what)
{
	pthread_once(&init_once, init_libxml2);
	struct xmlread *x = xcalloc(1, sizeof *x);
	x->read = read;
	x->ctx = ctx;
	snprintf(x->what, sizeof x->what, "%s", what);
	x->r = xmlReaderForIO(io_read, io_close, x, NULL, NULL,                /* 1, 2 */
			      XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
	if (x->r)
		xmlTextReaderSetStructuredErrorHandler(x->r, on_error, x);
	return x;
}

void xmlread_close(struct xmlread *x)
{
	if (!x)
		return;
	if (x->r)
		xmlFreeTextReader(x->r);
	lh_error_clear(&x->read_err);
	free(x->abuf);
	free(x);
}

/* Note 5: the error of a failed read, in the caller's err. */
static int fail(struct xmlread *x, struct lh_error *err)
{
	if (x->read_err.status) {
		*err = x->read_err;   /* moves `extra` */
		memset(&x->read_err, 0, sizeof x->read_err);
		return -1;
	}
	if (x->xml_failed) {
		lh_fail(err, 400, "bad_xml", "its part %s is not well-formed XML (line %d)", x->what,
			x->xml_line);
		lh_error_detail(err, "libxml2: %s", x->xml_msg);
		return -1;
	}
	return lh_fail(err, 400, "bad_xml", "its part %s is not readable XML", x->what);
}

/* Copy the element's attributes (note 4). */
static void take_attrs(struct xmlread *x)
{
	size_t used = 0;
	x->nattrs = 0;
	if (xmlTextReaderHasAttributes(x->r) != 1)
		return;
	while (x->nattrs < XMLREAD_MAX_ATTRS && xmlTextReaderMoveToNextAttribute(x->r) == 1) {
		const char *name = (const char *)xmlTextReaderConstLocalName(x->r);
		const char *value = (const char *)xmlTextReaderConstValue(x->r);
		if (!name)
			continue;
		if (!value)
			value = "";
		size_t n = strlen(value) + 1;
		if (used + n > x->abuf_cap) {
			x->abuf_cap = 2 * (used + n) + 64;
			x->abuf = xrealloc(x->abuf, x->abuf_cap);
		}
		memcpy(x->abuf + used, value, n);
		x->attr_name[x->nattrs] = name;
		x->attr_off[x->nattrs] = used;
		x->nattrs++;
		used += n;
	}
	xmlTextReaderMoveToElement(x->r);
}

int xmlread_next(struct xmlread *x, struct lh_error *err)
{
	if (!x->r)
		return fail(x, err);
	x->nattrs = 0;
	x->text = NULL;
	x->ntext = 0;
	if (x->pending_close) {                                                 /* 3 */
		x->pending_close = 0;
		return XMLREAD_CLOSE;
	}
	for (;;) {
		int rc = xmlTextReaderRead(x->r);
		if (rc == 0)
			return XMLREAD_END;
		if (rc < 0 || x->xml_failed || x->read_err.status)
			return fail(x, err);
		int type = xmlTextReaderNodeType(x->r);
		switch (type) {
		case XML_READER_TYPE_ELEMENT:
			x->name = (const char *)xmlTextReaderConstLocalName(x->r);
			if (!x->name)
				x->name = "";
			x->depth = xmlTextReaderDepth(x->r) + 1;
			x->pending_close = xmlTextReaderIsEmptyElement(x->r) == 1;
			take_attrs(x);
			return XMLREAD_START;
		case XML_READER_TYPE_END_ELEMENT:
			x->name = (const char *)xmlTextReaderConstLocalName(x->r);
			if (!x->name)
				x->name = "";
			x->depth = xmlTextReaderDepth(x->r) + 1;
			return XMLREAD_CLOSE;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			x->text = (const char *)xmlTextReaderConstValue(x->r);
			if (!x->text)
				x->text = "";
			x->ntext = strlen(x->text);
			return XMLREAD_TEXT;
		case XML_READER_TYPE_DOCUMENT_TYPE:                             /* 2 */
		case XML_READER_TYPE_ENTITY_REFERENCE:
		case XML_READER_TYPE_ENTITY:
			return lh_fail(err, 400, "bad_xml",
				       "its part %s declares a DTD or entities, which no workbook does",
				       x->what);
		default:
			continue;       /* comments, processing instructions */
		}
	}
}

const char *xmlread_name(const struct xmlread *x)
{
	return x->name ? x->name : "";
}

const char *xmlread_attr(const struct xmlread *x, const char *name)
{
	for (size_t i = 0; i < x->nattrs; i++)
		if (!strcmp(x->attr_name[i], name))
			return x->abuf + x->attr_off[i];
	return NULL;
}

const char *xmlread_text(const struct xmlread *x, size_t *n)
{
	*n = x->ntext;
	return x->text ? x->text : "";
}

int xmlread_depth(const struct xmlread *x)
{
	return x->depth;
}

/* ---- HTML to text (note 6) ------------------------------------------- */

struct html_text {
	xmlParserCtxtPtr ctxt;
	char *buf;
	size_t len, cap, max;
	int too_large;
	int skip;           /* open elements whose text is dropped */
	int pre;            /* open pre elements */
	int space;          /* a collapsed blank is pending */
	int max_depth;      /* note 7 */
	int too_deep;
	double deadline_ms; /* 0 = none */
	int timed_out;
	unsigned long work; /* SAX events seen (note 7; tests) */
};

static __thread unsigned long html_last_work;
static __thread int html_last_depth;

unsigned long xmlread_html_last_work(int *max_depth)
{
	if (max_depth)
		*max_depth = html_last_depth;
	return html_last_work;
}

/* Note 7: every event counts; the clock is read every 256 of them. 1 when
 * the parser has been stopped. */
static int html_tick(struct html_text *h)
{
	if (h->too_deep || h->timed_out || h->too_large)
		return 1;
	h->work++;
	if (h->ctxt->nameNr > html_last_depth)
		html_last_depth = h->ctxt->nameNr;
	if (h->ctxt->nameNr > h->max_depth) {
		h->too_deep = 1;
		xmlStopParser(h->ctxt);
		return 1;
	}
	if (h->deadline_ms > 0 && (h->work & 255) == 0 && clock_mono_ms() > h->deadline_ms) {
		h->timed_out = 1;
		xmlStopParser(h->ctxt);
		return 1;
	}
	return 0;
}

static int html_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return 1;
	return 0;
}

static const char *const html_skipped[] = { "head", "script", "style", "noscript", "template", "svg",
					    "iframe", "object", "title", NULL };
static const char *const html_blocks[] = { "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
					   "dl", "dt", "dd", "table", "tr", "section", "article", "header",
					   "footer", "nav", "aside", "main", "blockquote", "pre", "address",
					   "figure", "figcaption", "form", "fieldset", "hr", "details",
					   "summary", "body", "caption", "thead", "tbody", "tfoot", NULL };

static void html_put(struct html_text *h, const char *s, size_t n)
{
	if (h->too_large)
		return;
	if (n > h->max - h->len) {
		h->too_large = 1;
		xmlStopParser(h->ctxt);
		return;
	}
	if (h->len + n + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 4096;
		while (cap < h->len + n + 1)
			cap *= 2;
		h->buf = xrealloc(h->buf, cap);
		h->cap = cap;
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

static void html_start(void *ctx, const xmlChar *name, const xmlChar **attrs)
{
	struct html_text *h = ctx;
	const char *n = (const char *)name;
	(void)attrs;
	if (html_tick(h))
		return;
	if (html_in(n, html_skipped)) {
		h->skip++;
		return;
	}
	if (!strcmp(n, "pre"))
		h->pre++;
	if (!strcmp(n, "br")) {
		html_put(h, "\n", 1);
		h->space = 0;
	} else if (html_in(n, html_blocks)) {
		html_put(h, "\n\n", 2);
		h->space = 0;
	} else if (!strcmp(n, "td") || !strcmp(n, "th")) {
		html_put(h, "\t", 1);
		h->space = 0;
	}
}

static void html_end(void *ctx, const xmlChar *name)
{
	struct html_text *h = ctx;
	const char *n = (const char *)name;
	if (html_tick(h))
		return;
	if (html_in(n, html_skipped)) {
		if (h->skip > 0)
			h->skip--;
		return;
	}
	if (!strcmp(n, "pre") && h->pre > 0)
		h->pre--;
	if (html_in(n, html_blocks)) {
		html_put(h, "\n\n", 2);
		h->space = 0;
	}
}

static void html_chars(void *ctx, const xmlChar *ch, int len)
{
	struct html_text *h = ctx;
	const char *s = (const char *)ch;
	if (html_tick(h) || h->skip > 0 || len <= 0)
		return;
	if (h->pre > 0) {
		html_put(h, s, (size_t)len);
		return;
	}
	size_t i = 0, n = (size_t)len;
	while (i < n) {
		size_t j = i;
		while (j < n && !(s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '\f'))
			j++;
		if (j > i) {
			if (h->space && h->len > 0 && h->buf[h->len - 1] != '\n' && h->buf[h->len - 1] != '\t')
				html_put(h, " ", 1);
			h->space = 0;
			html_put(h, s + i, j - i);
		}
		if (j < n)
			h->space = 1;
		while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n' || s[j] == '\r' || s[j] == '\f'))
			j++;
		i = j;
	}
}

static void html_ignore(void *ctx, const xmlChar *ch, int len)
{
	(void)ctx;
	(void)ch;
	(void)len;
}

int xmlread_html_text(const char *data, size_t len, const char *encoding, size_t max_bytes, int max_depth,
		      double max_seconds, char **out, size_t *out_len, struct lh_error *err)
{
	struct html_text h = { .max = max_bytes, .max_depth = max_depth > 0 ? max_depth : 256 };
	int rc = 0;
	*out = NULL;
	*out_len = 0;
	pthread_once(&init_once, init_libxml2);
	if (len > (size_t)INT32_MAX)
		return lh_fail(err, 413, "too_large", "is too large to read as HTML");
	htmlParserCtxtPtr ctxt = htmlCreateMemoryParserCtxt(len ? data : " ", len ? (int)len : 1);
	if (!ctxt)
		return lh_fail(err, 500, "internal", "the HTML reader could not start");
	htmlCtxtUseOptions(ctxt, HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
	if (encoding) {
		xmlCharEncodingHandlerPtr enc = xmlFindCharEncodingHandler(encoding);
		if (enc)
			xmlSwitchToEncoding(ctxt, enc);
	}
	xmlSAXHandlerPtr sax = ctxt->sax;
	memset(sax, 0, sizeof *sax);
	sax->initialized = 1;
	sax->startElement = html_start;
	sax->endElement = html_end;
	sax->characters = html_chars;
	sax->ignorableWhitespace = html_chars;
	sax->cdataBlock = html_ignore;        /* script and style bodies */
	ctxt->userData = &h;
	h.ctxt = ctxt;
	if (max_seconds > 0)
		h.deadline_ms = clock_mono_ms() + max_seconds * 1000.0;
	html_last_work = 0;
	html_last_depth = 0;
	htmlParseDocument(ctxt);
	html_last_work = h.work;
	if (ctxt->myDoc)
		xmlFreeDoc(ctxt->myDoc);
	ctxt->myDoc = NULL;
	htmlFreeParserCtxt(ctxt);
	if (h.too_large || h.too_deep || h.timed_out) {
		free(h.buf);
		if (h.too_deep)
			return lh_fail(err, 400, "bad_document",
				       "has elements nested more than %d deep, which no readable page needs",
				       h.max_depth);
		if (h.timed_out)
			return lh_fail(err, 413, "too_large", "took longer than %.0f seconds to read",
				       max_seconds);
		return lh_fail(err, 413, "too_large", "has more than %zu bytes of text", max_bytes);
	}
	*out = h.buf ? h.buf : xstrdup("");
	*out_len = h.len;
	return rc;
}
