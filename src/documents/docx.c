/* docx.c — a Word document's text (ADR 0220): the paragraphs of
 * word/document.xml, read through the zip and XML adapters (zipread.h,
 * xmlread.h: libzip and libxml2's streaming reader), never a tree.
 *
 * DESIGN NOTES
 *  1. The bytes are put in a memfd (zipread reads an fd with pread); the
 *     entry is inflated as a stream under caps: max_expanded_bytes, and
 *     LH_DOC_MAX_EXPAND_RATIO inflated bytes per compressed byte past the
 *     first MiB (a zip bomb is 413 too_large, declared or not). A damaged
 *     or truncated archive, a missing word/document.xml or XML that is not
 *     well-formed is 400 bad_document.
 *  2. Text is what Word shows in the body: w:t runs (not w:delText, deleted
 *     text of tracked changes; not w:instrText, field codes), w:tab as a
 *     tab, w:br and w:cr as a line break, each w:p ending a paragraph (a
 *     blank line, what chunking splits on). Table cells are paragraphs too.
 *     Headers, footers, footnotes and comments live in other parts and are
 *     not read.
 *  3. No pages: Word lays pages out when it renders, and the file holds at
 *     most hints of where they fell (w:lastRenderedPageBreak, from the last
 *     save on someone's printer) or explicit breaks (w:br w:type="page")
 *     that most documents never use. A page number from those would be
 *     wrong as often as right, so the whole document is page 0, like HTML
 *     and text; an explicit page break is a paragraph break.
 *  4. The reading runs in the server's process, so besides the caps of
 *     note 1 it has max_seconds of wall clock, checked every 1,024 XML
 *     events (413 too_large, as a PDF worker that runs out of time);
 *     libxml2's reader caps the nesting at 256 itself.
 */
#include "documents/documents_int.h"

#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xmlread.h"
#include "common/zipread.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DOCX_RATIO_GRACE (1u << 20)

struct docx_src {
	struct zipread_entry *e;
};

static ssize_t entry_read(void *ctx, char *buf, size_t n, struct lh_error *err)
{
	struct docx_src *s = ctx;
	return zipread_entry_read(s->e, buf, n, err);
}

static int write_fd(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t k = write(fd, data, len);
		if (k <= 0)
			return -1;
		data += k;
		len -= (size_t)k;
	}
	return 0;
}

/* Note 1: the adapters' codes in the documents' terms. */
static int translate(struct lh_error *err, const struct doc_limits *lim)
{
	struct lh_error tmp = { 0 };
	int bomb = !strcmp(err->code, "zip_too_large");
	int bad_xml = !strcmp(err->code, "bad_xml");
	snprintf(tmp.detail, sizeof tmp.detail, "%s", err->msg);
	lh_error_clear(err);
	if (bomb)
		lh_fail(err, 413, "too_large",
			"expands to more than %zu bytes or %u times its size (a zip bomb?)",
			lim->max_expanded_bytes, (unsigned)LH_DOC_MAX_EXPAND_RATIO);
	else if (bad_xml)
		lh_fail(err, 400, "bad_document", "is not a readable Word document: its text part is damaged");
	else
		lh_fail(err, 400, "bad_document",
			"is not a readable Word document: the archive is damaged or truncated");
	lh_error_detail(err, "%s", tmp.detail);
	return -1;
}

int doc_docx_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err)
{
	int fd = -1, rc = -1;
	struct zipread *z = NULL;
	struct docx_src src = { 0 };
	struct xmlread *x = NULL;
	struct lh_buf text;
	size_t total = 0;
	int in_body = 0, in_t = 0;

	lh_buf_init(&text, lim->max_text_bytes);
	fd = memfd_create("docx", MFD_CLOEXEC);
	if (fd < 0 || write_fd(fd, data, len)) {
		lh_fail(err, 500, "internal", "the Word reader could not start");
		goto out;
	}
	if (zipread_open(fd, len, &z, err)) {
		translate(err, lim);
		goto out;
	}
	struct zipread_caps caps = { .max_bytes = lim->max_expanded_bytes,
				     .max_ratio = LH_DOC_MAX_EXPAND_RATIO,
				     .grace = DOCX_RATIO_GRACE };
	int found = zipread_entry_open(z, "word/document.xml", &caps, &src.e, err);
	if (found < 0) {
		translate(err, lim);
		goto out;
	}
	if (found == 0) {
		lh_fail(err, 400, "bad_document",
			"is a zip archive without word/document.xml: not a Word document");
		goto out;
	}
	x = xmlread_open(entry_read, &src, "word/document.xml");
	double deadline = clock_mono_ms() + (lim->max_seconds > 0 ? lim->max_seconds : 1) * 1000.0;
	for (unsigned long events = 1;; events++) {                            /* note 2 */
		if ((events & 1023) == 0 && clock_mono_ms() > deadline) {     /* note 4 */
			lh_fail(err, 413, "too_large", "took longer than %.0f seconds to read",
				lim->max_seconds);
			goto out;
		}
		int ev = xmlread_next(x, err);
		if (ev < 0) {
			translate(err, lim);
			goto out;
		}
		if (ev == XMLREAD_END)
			break;
		const char *name = ev == XMLREAD_TEXT ? "" : xmlread_name(x);
		const char *add = NULL;
		size_t n = 0;
		if (ev == XMLREAD_START) {
			if (!strcmp(name, "body"))
				in_body = 1;
			else if (!strcmp(name, "t"))
				in_t = 1;
			else if (in_body && !strcmp(name, "tab"))
				add = "\t";
			else if (in_body && (!strcmp(name, "br") || !strcmp(name, "cr"))) {
				const char *type = xmlread_attr(x, "type");
				add = type && !strcmp(type, "page") ? "\n\n" : "\n";   /* note 3 */
			}
		} else if (ev == XMLREAD_CLOSE) {
			if (!strcmp(name, "body"))
				in_body = 0;
			else if (!strcmp(name, "t"))
				in_t = 0;
			else if (in_body && !strcmp(name, "p"))
				add = "\n\n";
		} else if (ev == XMLREAD_TEXT && in_body && in_t) {
			add = xmlread_text(x, &n);
		}
		if (add && lh_buf_append(&text, add, n ? n : strlen(add))) {
			lh_fail(err, 413, "too_large", "has more than %zu bytes of text", lim->max_text_bytes);
			goto out;
		}
	}
	rc = doc_text_add_page(t, 0, text.data ? text.data : "", text.len, lim, &total, err);
out:
	xmlread_close(x);
	zipread_entry_close(src.e);
	zipread_close(z);
	if (fd >= 0)
		close(fd);
	lh_buf_free(&text);
	return rc;
}
