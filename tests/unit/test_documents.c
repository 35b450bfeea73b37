/* test_documents.c — src/documents/: format detection, text normalisation,
 * plain text and Latin-1, and chunking (documents.c, chunk.c). The readers
 * of real files (PDF, DOCX, HTML made by Debian's tools) are in
 * test_documents_files.c. */
#include "test.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xmlread.h"
#include "documents/documents_int.h"

#include <stdint.h>
#include <stdlib.h>

static int detect(const char *name, const char *data, enum doc_format *f, struct lh_error *err)
{
	return doc_detect(name, (const unsigned char *)data, strlen(data), f, err);
}

TEST(documents_detect)
{
	struct lh_error err = { 0 };
	enum doc_format f;
	CHECK_EQ_INT(detect("a.txt", "%PDF-1.7\n...", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_PDF);          /* magic beats the name */
	CHECK_EQ_INT(detect(NULL, "\n\n%PDF-1.4", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_PDF);
	CHECK_EQ_INT(detect("x.pdf", "hello", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_PDF);          /* the PDF reader says what is wrong */
	CHECK_EQ_INT(detect("x.PDF", "hello", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_PDF);
	CHECK_EQ_INT(doc_detect("cv", (const unsigned char *)"PK\3\4....word/document.xml..", 27, &f, &err), 0);
	CHECK_EQ_INT(f, DOC_DOCX);
	CHECK_EQ_INT(doc_detect("a.zip", (const unsigned char *)"PK\3\4....xl/workbook.xml", 24, &f, &err), -1);
	CHECK_EQ_INT(err.status, 415);
	CHECK_EQ_STR(err.code, "unsupported_format");
	CHECK(!strstr(err.msg, "a.zip"));  /* the caller names the file */
	lh_error_clear(&err);
	CHECK_EQ_INT(detect("page.html", "plain words", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_HTML);
	CHECK_EQ_INT(detect("page", "\xEF\xBB\xBF <!-- c --> <!DOCTYPE html><p>x", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_HTML);
	CHECK_EQ_INT(detect(NULL, "<HTML><body>x", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_HTML);
	CHECK_EQ_INT(detect(NULL, "<htmlish> is not a tag we know", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_TEXT);
	CHECK_EQ_INT(detect("notes.md", "<html>", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_MARKDOWN);     /* a text format's name beats sniffing */
	CHECK_EQ_INT(detect("notes.markdown", "# Title", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_MARKDOWN);
	CHECK_EQ_INT(detect("notes", "# Title", &f, &err), 0);
	CHECK_EQ_INT(f, DOC_TEXT);
	CHECK_EQ_INT(detect("dir.d/notes", "caf\xe9", &f, &err), 0);   /* Latin-1 */
	CHECK_EQ_INT(f, DOC_TEXT);
	CHECK_EQ_INT(doc_detect("x.bin", (const unsigned char *)"ab\0cd", 5, &f, &err), -1);
	CHECK_EQ_INT(err.status, 415);
	lh_error_clear(&err);
	CHECK_EQ_INT(detect("old.doc", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest", &f, &err), -1);
	CHECK_EQ_INT(err.status, 415);
	CHECK(strstr(err.msg, ".doc"));
	lh_error_clear(&err);
	CHECK_EQ_STR(doc_format_name(DOC_PDF), "pdf");
	CHECK_EQ_STR(doc_format_name(DOC_DOCX), "docx");
	CHECK_EQ_STR(doc_format_name(DOC_HTML), "html");
	CHECK_EQ_STR(doc_format_name(DOC_MARKDOWN), "markdown");
	CHECK_EQ_STR(doc_format_name(DOC_TEXT), "text");
}

TEST(documents_utf8)
{
	uint32_t cp;
	CHECK_EQ_INT(doc_utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp), 2);
	CHECK_EQ_INT(cp, 0xE9);
	CHECK_EQ_INT(doc_utf8_decode((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp), 4);
	CHECK_EQ_INT(cp, 0x1F600);
	CHECK_EQ_INT(doc_utf8_decode((const unsigned char *)"\xC0\xAF", 2, &cp), 0);        /* overlong */
	CHECK_EQ_INT(doc_utf8_decode((const unsigned char *)"\xED\xA0\x80", 3, &cp), 0);    /* surrogate */
	CHECK_EQ_INT(doc_utf8_decode((const unsigned char *)"\xF4\x90\x80\x80", 4, &cp), 0);/* > U+10FFFF */
	CHECK_EQ_INT(doc_utf8_decode((const unsigned char *)"\xE2\x82", 2, &cp), 0);        /* truncated */
	CHECK_EQ_INT(doc_utf8_chars("h\xC3\xA9llo \xF0\x9F\x98\x80", 11), 7);
	CHECK_EQ_INT(doc_text_kind((const unsigned char *)"caf\xC3\xA9\r\n\t\f", 9), 1);
	CHECK_EQ_INT(doc_text_kind((const unsigned char *)"caf\xE9", 4), 2);
	CHECK_EQ_INT(doc_text_kind((const unsigned char *)"a\x01", 2), 0);
	CHECK_EQ_INT(doc_text_kind((const unsigned char *)"\xC3\xA9\x7F", 3), 0);
}

static int extract(const char *name, const char *data, size_t len, struct doc_text *t, struct lh_error *err)
{
	return doc_extract(name, (const unsigned char *)data, len, NULL, t, err);
}

TEST(documents_normalize)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	const char in[] = "\xEF\xBB\xBF  Title  \r\n\r\n\r\n  indented line\t \r"
			  "next\x01word \xFF end\f\n \t \npara\xE2\x80\xA8two\n\n";
	CHECK_EQ_INT(extract("a.txt", in, sizeof in - 1, &t, &err), -1);   /* \x01: binary */
	CHECK_EQ_INT(err.status, 415);
	lh_error_clear(&err);
	/* the same page through the normaliser directly */
	struct doc_limits lim;
	doc_limits_default(&lim);
	size_t total = 0;
	memset(&t, 0, sizeof t);
	CHECK_EQ_INT(doc_text_add_page(&t, 3, in, sizeof in - 1, &lim, &total, &err), 0);
	CHECK_EQ_INT(t.n_pages, 1);
	CHECK_EQ_INT(t.pages[0].page, 3);
	CHECK_EQ_STR(t.pages[0].text, "Title\n\n  indented line\nnext word \xEF\xBF\xBD end\n\npara\ntwo");
	CHECK_EQ_INT(t.pages[0].len, strlen(t.pages[0].text));
	CHECK_EQ_INT(total, t.pages[0].len);
	/* blank input: an empty page */
	CHECK_EQ_INT(doc_text_add_page(&t, 4, " \n\t\r\n ", 6, &lim, &total, &err), 0);
	CHECK_EQ_INT(t.pages[1].len, 0);
	CHECK_EQ_STR(t.pages[1].text, "");
	/* the cap counts all pages */
	lim.max_text_bytes = total + 3;
	CHECK_EQ_INT(doc_text_add_page(&t, 5, "abc", 3, &lim, &total, &err), 0);
	CHECK_EQ_INT(doc_text_add_page(&t, 6, "d", 1, &lim, &total, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
	CHECK_EQ_INT(t.n_pages, 3);
	doc_text_free(&t);
}

TEST(documents_plain)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	const char *md = "# Jane Doe\n\n*Python*, **SQL**\n- item\n";
	CHECK_EQ_INT(extract("cv.md", md, strlen(md), &t, &err), 0);
	CHECK_EQ_INT(t.format, DOC_MARKDOWN);
	CHECK_EQ_INT(t.n_pages, 1);
	CHECK_EQ_INT(t.pages[0].page, 0);
	CHECK_EQ_STR(t.pages[0].text, "# Jane Doe\n\n*Python*, **SQL**\n- item");   /* kept as written */
	CHECK(!t.from_latin1);
	doc_text_free(&t);
	/* Latin-1 / Windows-1252: converted, and said */
	const char *l1 = "Ren\xE9 M\xFCller \x93quoted\x94 \x96 na\xEFve \x81";
	CHECK_EQ_INT(extract("cv.txt", l1, strlen(l1), &t, &err), 0);
	CHECK_EQ_INT(t.format, DOC_TEXT);
	CHECK(t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, "Ren\xC3\xA9 M\xC3\xBCller \xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x80\x93 na\xC3\xAFve");
	doc_text_free(&t);
	/* UTF-8 stays UTF-8 */
	CHECK_EQ_INT(extract("cv.txt", "Ren\xC3\xA9", 5, &t, &err), 0);
	CHECK(!t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, "Ren\xC3\xA9");
	doc_text_free(&t);
	/* empty and blank files have no text */
	CHECK_EQ_INT(extract("empty.txt", "", 0, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "no_text");
	CHECK_EQ_INT(t.n_pages, 0);
	lh_error_clear(&err);
	CHECK_EQ_INT(extract("blank.md", " \n\n\t\n", 5, &t, &err), -1);
	CHECK_EQ_STR(err.code, "no_text");
	lh_error_clear(&err);
	/* the text cap */
	struct doc_limits lim;
	doc_limits_default(&lim);
	lim.max_text_bytes = 10;
	CHECK_EQ_INT(doc_extract("a.txt", (const unsigned char *)"0123456789", 10, &lim, &t, &err), 0);
	doc_text_free(&t);
	CHECK_EQ_INT(doc_extract("a.txt", (const unsigned char *)"0123456789a", 11, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
}

/* Finding 3 of review R18: 250 MB of 0x80 (each a euro sign, 3 bytes of
 * UTF-8) was converted, then normalised twice, all uncapped (2.6 GB peak)
 * before the cap said 413. Now the normaliser holds about the cap. */
TEST(documents_latin1_bounded)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_limits lim;
	doc_limits_default(&lim);
	lim.max_text_bytes = 1u << 20;
	size_t n = 16u << 20;
	unsigned char *euros = malloc(n);
	memset(euros, 0x80, n);
	CHECK_EQ_INT(doc_extract("euro.txt", euros, n, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
	CHECK(doc_text_norm_peak() <= 4 * lim.max_text_bytes);   /* not 48 MB of UTF-8 */
	/* blanks past the cap that a line end drops do not count */
	memset(euros, ' ', n);
	memcpy(euros, "a\x80", 2);
	euros[n - 2] = '\n';
	euros[n - 1] = 'b';
	CHECK_EQ_INT(doc_extract("euro.txt", euros, n, &lim, &t, &err), 0);
	CHECK(t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, "a\xE2\x82\xAC\nb");
	doc_text_free(&t);
	CHECK(doc_text_norm_peak() <= 4 * lim.max_text_bytes);
	/* ... but text after them does */
	euros[n - 2] = 'c';
	CHECK_EQ_INT(doc_extract("euro.txt", euros, n, &lim, &t, &err), -1);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
	free(euros);
}

/* Finding 2 of review R18: unclosed elements and stray end tags made
 * libxml2's HTML parser quadratic (1 MB: half a minute in the server's
 * process). The element stack is capped: refused early, the parser's work
 * bounded (counted, not timed). */
TEST(documents_html_hostile)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct lh_buf b;
	lh_buf_init(&b, SIZE_MAX);
	lh_buf_append(&b, "<html><body>", 12);
	for (int i = 0; i < 100000; i++)
		lh_buf_append(&b, "<div>x", 6);
	for (int i = 0; i < 100000; i++)
		lh_buf_append(&b, "</p>", 4);
	CHECK_EQ_INT(doc_extract("n.html", (const unsigned char *)b.data, b.len, NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_document");
	CHECK(strstr(err.msg, "nested more than 256 deep") != NULL);
	lh_error_clear(&err);
	int depth = 0;
	unsigned long work = xmlread_html_last_work(&depth);
	CHECK(work > 256 && work < 1000);
	CHECK(depth <= LH_DOC_HTML_MAX_DEPTH + 1);
	/* 200 deep is a page like any other */
	b.len = 0;
	for (int i = 0; i < 200; i++)
		lh_buf_append(&b, "<div>", 5);
	lh_buf_append(&b, "deep words", 10);
	CHECK_EQ_INT(doc_extract("d.html", (const unsigned char *)b.data, b.len, NULL, &t, &err), 0);
	CHECK_EQ_STR(t.pages[0].text, "deep words");
	doc_text_free(&t);
	/* the wall clock: a deadline already past stops it (413) */
	b.len = 0;
	for (int i = 0; i < 2000; i++)
		lh_buf_append(&b, "<p>x</p>", 8);
	struct doc_limits lim;
	doc_limits_default(&lim);
	lim.max_seconds = 1e-9;
	CHECK_EQ_INT(doc_extract("p.html", (const unsigned char *)b.data, b.len, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	CHECK(strstr(err.msg, "seconds") != NULL);
	lh_error_clear(&err);
	CHECK(xmlread_html_last_work(NULL) <= 512);
	lh_buf_free(&b);
}

/* A doc_text of the given pages (page numbers from `first`). */
static void pages(struct doc_text *t, unsigned first, const char *const *texts, size_t n)
{
	struct doc_limits lim;
	doc_limits_default(&lim);
	size_t total = 0;
	struct lh_error err = { 0 };
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < n; i++)
		doc_text_add_page(t, first ? first + (unsigned)i : 0, texts[i], strlen(texts[i]), &lim, &total, &err);
}

TEST(documents_chunk_pack)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_chunk *c;
	size_t n;
	const char *p[] = { "aaaa bbbb\n\ncccc\n\ndddd eeee ffff", "", "gggg\nhhhh" };
	pages(&t, 1, p, 3);
	CHECK_EQ_INT(doc_chunk(&t, 16, &c, &n, &err), 0);
	/* "aaaa bbbb" (9) + 2 + "cccc" (4) = 15 <= 16; "dddd eeee ffff" (14) alone */
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_STR(c[0].text, "aaaa bbbb\n\ncccc");
	CHECK_EQ_INT(c[0].page, 1);
	CHECK_EQ_INT(c[0].chunk, 0);
	CHECK_EQ_INT(c[0].chars, 15);
	CHECK_EQ_STR(c[1].text, "dddd eeee ffff");
	CHECK_EQ_INT(c[1].page, 1);
	CHECK_EQ_INT(c[1].chunk, 1);
	CHECK_EQ_STR(c[2].text, "gggg\nhhhh");    /* page 2 is empty: no chunk; never across pages */
	CHECK_EQ_INT(c[2].page, 3);
	CHECK_EQ_INT(c[2].chunk, 2);
	doc_chunks_free(c, n);
	/* a long paragraph is cut between words, its last piece takes the next paragraph */
	CHECK_EQ_INT(doc_chunk(&t, 12, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_STR(c[0].text, "aaaa bbbb");
	CHECK_EQ_STR(c[1].text, "cccc");           /* 4 + 2 + 14 > 12 */
	CHECK_EQ_STR(c[2].text, "dddd eeee");
	CHECK_EQ_STR(c[3].text, "ffff");
	CHECK_EQ_STR(c[4].text, "gggg\nhhhh");
	CHECK_EQ_INT(c[4].page, 3);
	doc_chunks_free(c, n);
	doc_text_free(&t);

	const char *q[] = { "one two three four five six seven\n\nx" };
	pages(&t, 0, q, 1);
	CHECK_EQ_INT(doc_chunk(&t, 10, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_STR(c[0].text, "one two");
	CHECK_EQ_STR(c[1].text, "three four");
	CHECK_EQ_STR(c[2].text, "five six");
	CHECK_EQ_STR(c[3].text, "seven\n\nx");     /* 5 + 2 + 1 */
	CHECK_EQ_INT(c[3].page, 0);
	doc_chunks_free(c, n);
	/* indentation between paragraphs counts (found by fuzz_documents) */
	doc_text_free(&t);
	const char *r[] = { "a\n\n      b" };
	pages(&t, 0, r, 1);
	CHECK_EQ_STR(t.pages[0].text, "a\n\n      b");
	CHECK_EQ_INT(doc_chunk(&t, 5, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 2);                         /* "a\n\n      b" is 10 characters */
	CHECK_EQ_STR(c[0].text, "a");
	CHECK_EQ_STR(c[1].text, "b");
	doc_chunks_free(c, n);
	CHECK_EQ_INT(doc_chunk(&t, 10, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(c[0].chars, 10);
	doc_chunks_free(c, n);
	/* the default target is 1,000 */
	CHECK_EQ_INT(doc_chunk(&t, 0, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	doc_chunks_free(c, n);
	doc_text_free(&t);
}

TEST(documents_chunk_long_words)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_chunk *c;
	size_t n;
	/* "é" is 2 bytes, 1 character: a word of 10 é is 10 characters */
	char word[64] = "";
	for (int i = 0; i < 10; i++)
		strncat(word, "\xC3\xA9", sizeof word - strlen(word) - 1);
	char text[128];
	snprintf(text, sizeof text, "ab %s cd", word);
	const char *p[] = { text };
	pages(&t, 0, p, 1);
	CHECK_EQ_INT(doc_chunk(&t, 5, &c, &n, &err), 0);   /* hard cap 20: the word is whole */
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_STR(c[0].text, "ab");
	CHECK_EQ_STR(c[1].text, word);
	CHECK_EQ_INT(c[1].chars, 10);
	CHECK_EQ_INT(c[1].len, 20);
	CHECK_EQ_STR(c[2].text, "cd");
	doc_chunks_free(c, n);
	/* target 2: hard cap 8, the word is cut at character boundaries: 8 + 2 */
	CHECK_EQ_INT(doc_chunk(&t, 2, &c, &n, &err), 0);
	CHECK_EQ_INT(n, 4);
	CHECK_EQ_INT(c[1].chars, 8);
	CHECK_EQ_INT(c[1].len, 16);
	CHECK_EQ_INT(c[2].chars, 2);
	CHECK_EQ_INT(c[2].len, 4);
	CHECK_EQ_INT(c[3].chunk, 3);
	doc_chunks_free(c, n);
	doc_text_free(&t);
}

/* Invariants over generated pages: every chunk is a blank-bounded piece of
 * its page, within the target unless it is one word (then within the hard
 * cap), valid UTF-8 with the right character count, and the chunks hold
 * every word of the page, in order. */
TEST(documents_chunk_invariants)
{
	static const char *const words[] = { "a", "bb", "kafe\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
					     "\xF0\x9F\x98\x80", "longerword", "x1234567890123456789" };
	uint64_t seed = 42;
	for (int round = 0; round < 200; round++) {
		char text[4096];
		size_t len = 0;
		size_t nwords = 0;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		size_t target = 5 + (seed >> 33) % 40;   /* hard cap >= 20: no word is cut */
		while (len < 3000) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			const char *w = words[(seed >> 33) % 7];
			const char *sep = ((seed >> 40) % 9 == 0) ? "\n\n" : ((seed >> 44) % 5 == 0) ? "\n" : " ";
			len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", w, sep);
			nwords++;
		}
		const char *p[] = { text };
		struct doc_text t;
		pages(&t, 0, p, 1);
		struct doc_chunk *c;
		size_t n;
		struct lh_error err = { 0 };
		CHECK_EQ_INT(doc_chunk(&t, target, &c, &n, &err), 0);
		const char *page = t.pages[0].text;
		size_t at = 0, seen = 0;
		for (size_t i = 0; i < n; i++) {
			const char *hit = strstr(page + at, c[i].text);
			CHECK(hit);
			size_t off = (size_t)(hit - page);
			CHECK(off == 0 || page[off - 1] == ' ' || page[off - 1] == '\n' ||
			      (c[i - 1].chars == target * LH_DOC_CHUNK_HARD_FACTOR));
			CHECK_EQ_INT(c[i].chunk, i);
			CHECK_EQ_INT(c[i].chars, doc_utf8_chars(c[i].text, c[i].len));
			CHECK_EQ_INT(doc_text_kind((const unsigned char *)c[i].text, c[i].len), 1);
			int one_word = !strpbrk(c[i].text, " \n");
			CHECK(c[i].chars <= target || (one_word && c[i].chars <= target * LH_DOC_CHUNK_HARD_FACTOR));
			CHECK(c[i].text[0] != ' ' && c[i].text[c[i].len - 1] != ' ');
			for (const char *s = c[i].text; *s;) {
				while (*s == ' ' || *s == '\n')
					s++;
				if (*s)
					seen++;
				while (*s && *s != ' ' && *s != '\n')
					s++;
			}
			at = off + c[i].len;
		}
		CHECK_EQ_INT(seen, nwords);   /* no word lost (none is long enough to be cut here) */
		doc_chunks_free(c, n);
		doc_text_free(&t);
	}
}
