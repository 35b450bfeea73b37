/* pdf_poppler.c — the one file that includes poppler and glib (ADR 0116):
 * a PDF's text, page by page, through poppler-glib. Runs only inside the
 * `lakehouse document-worker` child process (pdf_worker.c, ADR 0220): a
 * hostile PDF that crashes, loops or eats memory here takes down a
 * disposable, rlimited process, never a server.
 *
 * poppler_page_get_text() gives a page's text in reading order as UTF-8,
 * lines ended by '\n'. The document is opened from our bytes without a
 * password: a PDF with a user password is POPPLER_ERROR_ENCRYPTED; one with
 * only an owner password (copy/print restrictions) opens and is read, as
 * every viewer does.
 *
 * Paragraphs: poppler's text has a '\n' after every line and nothing
 * between paragraphs, while chunking (ADR 0221) packs paragraphs. So the
 * glyph boxes of poppler_page_get_text_layout() (one per character of the
 * same text) are used to find them: where the gap from one line's bottom
 * to the next line's top exceeds PARA_GAP x the line's height, a blank
 * line is put in. If the boxes do not match the text, the text is kept as
 * it is.
 */
#include "documents/documents_int.h"

#include "common/error.h"

#include <poppler.h>

#include <stdlib.h>
#include <string.h>

/* A vertical gap above this share of the previous line's height starts a
 * paragraph: ordinary leading is 10-30 % of the font size, an empty line
 * 100 % and more; 60 % sits between them. */
#define PARA_GAP 0.6

/* The page's text with a blank line where the layout shows a paragraph
 * break; malloc'd, *out_len; NULL when the layout does not fit the text. */
static char *with_paragraphs(PopplerPage *page, const char *text, size_t len, size_t *out_len)
{
	PopplerRectangle *r = NULL;
	guint nr = 0;
	if (!poppler_page_get_text_layout(page, &r, &nr))
		return NULL;
	size_t chars = doc_utf8_chars(text, len);
	if (chars != nr) {
		g_free(r);
		return NULL;
	}
	char *out = malloc(len * 2 + 1);
	size_t o = 0, ci = 0;
	double top = 0, bottom = 0, prev_bottom = 0, prev_height = 0;
	int in_line = 0, had_line = 0;
	for (size_t i = 0; i < len; ci++) {
		size_t k = 1;
		while (i + k < len && ((unsigned char)text[i + k] & 0xC0) == 0x80)
			k++;
		const PopplerRectangle *b = &r[ci];
		double y1 = b->y1 < b->y2 ? b->y1 : b->y2, y2 = b->y1 < b->y2 ? b->y2 : b->y1;
		if (text[i] == '\n') {
			if (in_line) {
				prev_bottom = bottom;
				prev_height = bottom - top;
				had_line = 1;
			}
			in_line = 0;
		} else if (!in_line) {
			if (had_line && prev_height > 0 && y1 - prev_bottom > PARA_GAP * prev_height)
				out[o++] = '\n';
			in_line = 1;
			top = y1;
			bottom = y2;
		} else if (text[i] != ' ') {
			if (y1 < top)
				top = y1;
			if (y2 > bottom)
				bottom = y2;
		}
		memcpy(out + o, text + i, k);
		o += k;
		i += k;
	}
	g_free(r);
	out[o] = '\0';
	*out_len = o;
	return out;
}

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)data;
}

int doc_poppler_pages(const unsigned char *data, size_t len, size_t max_pages, doc_page_fn fn, void *ctx,
		      struct lh_error *err)
{
	GError *gerr = NULL;
	GBytes *bytes = NULL;
	PopplerDocument *doc = NULL;
	int rc = 0;

	g_log_set_default_handler(quiet, NULL);   /* poppler's syntax warnings are not ours to print */
	bytes = g_bytes_new_static(data, len);
	doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
	if (!doc) {
		if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
			rc = lh_fail(err, 400, "encrypted_pdf", "is an encrypted PDF: it needs a password to open");
		else
			rc = lh_fail(err, 400, "bad_document", "is not a readable PDF: it is damaged or truncated");
		if (gerr)
			lh_error_detail(err, "poppler: %s", gerr->message);
		goto out;
	}
	int n = poppler_document_get_n_pages(doc);
	if (n < 0)
		n = 0;
	if ((size_t)n > max_pages) {
		rc = lh_fail(err, 413, "too_many_pages", "has %d pages; at most %zu are read", n, max_pages);
		goto out;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		PopplerPage *page = poppler_document_get_page(doc, i);
		char *text = page ? poppler_page_get_text(page) : NULL;
		size_t tlen = text ? strlen(text) : 0, plen = 0;
		char *para = tlen ? with_paragraphs(page, text, tlen, &plen) : NULL;
		if (para)
			rc = fn(ctx, (unsigned)i + 1, para, plen, err);
		else
			rc = fn(ctx, (unsigned)i + 1, text ? text : "", tlen, err);
		free(para);
		g_free(text);
		if (page)
			g_object_unref(page);
	}
out:
	if (doc)
		g_object_unref(doc);
	if (bytes)
		g_bytes_unref(bytes);
	if (gerr)
		g_error_free(gerr);
	return rc;
}
