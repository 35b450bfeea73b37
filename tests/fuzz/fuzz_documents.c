/* fuzz_documents.c — libFuzzer target for the documents module's pure
 * parts: format detection, page normalisation and chunking
 * (src/documents/documents.c, chunk.c; ADR 0220, 0221).
 *
 * The first input byte picks the chunk target (5..260 characters); the rest
 * is a page's raw bytes. Invariants: detection never fails on text it
 * calls text; the normalised page is valid UTF-8 without control
 * characters but \n and \t, trimmed, no blanks at line ends, at most one
 * blank line in a row; every chunk is a piece of the page, in order,
 * bounded by blanks (or by a cut of a word over the hard cap), valid UTF-8
 * with the right character count, within the target unless it is one word
 * (then within the hard cap); the chunks hold every non-blank byte of the
 * page exactly once; two runs agree.
 */
#include "fuzz.h"

#include "common/error.h"
#include "common/limits.h"
#include "documents/documents_int.h"

static int blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t target = 5 + data[0];
	data++;
	size--;
	struct lh_error err = { 0 };
	enum doc_format f;
	if (doc_detect("x.md", data, size, &f, &err) == 0)
		FUZZ_CHECK(f == DOC_PDF || f == DOC_DOCX || f == DOC_MARKDOWN);
	else
		FUZZ_CHECK(doc_text_kind(data, size) == 0 && err.status == 415);
	lh_error_clear(&err);

	struct doc_limits lim;
	doc_limits_default(&lim);
	struct doc_text t = { .format = DOC_TEXT };
	size_t total = 0;
	FUZZ_CHECK(doc_text_add_page(&t, 7, (const char *)data, size, &lim, &total, &err) == 0);
	const char *s = t.pages[0].text;
	size_t n = t.pages[0].len;
	FUZZ_CHECK(strlen(s) == n && total == n);
	FUZZ_CHECK(doc_text_kind((const unsigned char *)s, n) == 1 || n == 0);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		FUZZ_CHECK(c >= 0x20 || c == '\n' || c == '\t');
		FUZZ_CHECK(c != 0x7F);
		if (c == '\n')
			FUZZ_CHECK(i > 0 && s[i - 1] != ' ' && s[i - 1] != '\t');
		if (i + 2 < n)
			FUZZ_CHECK(!(s[i] == '\n' && s[i + 1] == '\n' && s[i + 2] == '\n'));
	}
	FUZZ_CHECK(n == 0 || (!blank(s[0]) && !blank(s[n - 1])));

	struct doc_chunk *c = NULL, *c2 = NULL;
	size_t nc = 0, nc2 = 0, at = 0, nonblank = 0, seen = 0;
	FUZZ_CHECK(doc_chunk(&t, target, &c, &nc, &err) == 0);
	for (size_t i = 0; i < n; i++)
		nonblank += !blank(s[i]);
	size_t hard = target * LH_DOC_CHUNK_HARD_FACTOR;
	for (size_t i = 0; i < nc; i++) {
		FUZZ_CHECK(c[i].chunk == i && c[i].page == 7 && c[i].len > 0);
		const char *hit = NULL;
		for (size_t j = at; j + c[i].len <= n && !hit; j++)
			if (!memcmp(s + j, c[i].text, c[i].len))
				hit = s + j;
		FUZZ_CHECK(hit);
		size_t off = (size_t)(hit - s);
		for (size_t j = at; j < off; j++)
			FUZZ_CHECK(blank(s[j]));                 /* nothing skipped */
		int cut_before = off > 0 && !blank(s[off - 1]);
		int cut_after = off + c[i].len < n && !blank(s[off + c[i].len]);
		FUZZ_CHECK(!cut_before || (i > 0 && c[i - 1].chars == hard));
		FUZZ_CHECK(!cut_after || c[i].chars == hard);
		FUZZ_CHECK(c[i].chars == doc_utf8_chars(c[i].text, c[i].len));
		FUZZ_CHECK(doc_text_kind((const unsigned char *)c[i].text, c[i].len) == 1);
		int one_word = 1;
		for (size_t j = 0; j < c[i].len; j++) {
			one_word &= !blank(c[i].text[j]);
			seen += !blank(c[i].text[j]);
		}
		FUZZ_CHECK(c[i].chars <= target || (one_word && c[i].chars <= hard));
		FUZZ_CHECK(!blank(c[i].text[0]) && !blank(c[i].text[c[i].len - 1]));
		at = off + c[i].len;
	}
	FUZZ_CHECK(seen == nonblank);
	FUZZ_CHECK(doc_chunk(&t, target, &c2, &nc2, &err) == 0 && nc2 == nc);
	for (size_t i = 0; i < nc; i++)
		FUZZ_CHECK(c2[i].len == c[i].len && !memcmp(c2[i].text, c[i].text, c[i].len));
	doc_chunks_free(c, nc);
	doc_chunks_free(c2, nc2);
	doc_text_free(&t);
	return 0;
}
