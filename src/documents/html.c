/* html.c — an HTML page's text (ADR 0220) through the libxml2 adapter
 * (xmlread_html_text): one page 0.
 *
 * The encoding: bytes that are valid UTF-8 are read as UTF-8 (a page in a
 * Latin-1 charset is practically never valid UTF-8 once it has one accented
 * letter); else the charset the page declares (<meta charset>, http-equiv)
 * if it names one in its first 1,024 bytes; else Windows-1252, and the
 * answer says the text was converted from Latin-1 (from_latin1).
 *
 * The page is parsed in the server's process, so it is capped
 * (xml_libxml2.c note 7): elements nested at most LH_DOC_HTML_MAX_DEPTH
 * deep (400 bad_document) and max_seconds of wall clock (413 too_large).
 */
#include "documents/documents_int.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmlread.h"

#include <stdlib.h>
#include <strings.h>

static int declares_charset(const unsigned char *data, size_t len)
{
	size_t lim = len < 1024 ? len : 1024;
	for (size_t i = 0; i + 8 <= lim; i++)
		if (!strncasecmp((const char *)data + i, "charset=", 8))
			return 1;
	return 0;
}

int doc_html_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err)
{
	const char *encoding = NULL;
	char *text = NULL;
	size_t n = 0, total = 0;
	int kind = doc_text_kind(data, len);
	if (kind == 1) {
		encoding = "UTF-8";
	} else if (!declares_charset(data, len)) {
		encoding = "windows-1252";
		t->from_latin1 = true;
	}
	if (xmlread_html_text((const char *)data, len, encoding, lim->max_text_bytes, LH_DOC_HTML_MAX_DEPTH,
			      lim->max_seconds, &text, &n, err))
		return -1;
	int rc = doc_text_add_page(t, 0, text, n, lim, &total, err);
	free(text);
	return rc;
}
