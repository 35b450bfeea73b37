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
 */
#include "common/xmlread.h"

#include "common/error.h"
#include "common/xmalloc.h"

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
