/* test_search_highlight.c — search snippets (src/search/highlight.h):
 * marks on stemmed, case-folded matches, HTML escaping, the window and its
 * ellipses, UTF-8-safe cuts, invalid bytes, no match. */
#include "test.h"

#include "search/highlight.h"
#include "search/text_index.h"
#include "common/xmalloc.h"

#include <stdlib.h>

static char *hl(const char *text, const char *query, size_t max_chars)
{
	struct text_query q;
	text_query_parse(query, strlen(query), &q);
	char *s = highlight_snippet(text, strlen(text), &q, max_chars);
	text_query_free(&q);
	return s;
}

/* A valid UTF-8 check independent of the code under test (no overlongs,
 * surrogates or values past U+10FFFF, no NUL). */
static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, n, cp;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += n + 1;
	}
	return 1;
}

TEST(search_highlight_marks_stemmed_case_folded)
{
	char *s = hl("Forklift Operators wanted", "forklift operator", 0);
	CHECK_EQ_STR(s, "<mark>Forklift</mark> <mark>Operators</mark> wanted");
	free(s);
	s = hl("two forklifts, one FORKLIFT", "Forklifts", 0);
	CHECK_EQ_STR(s, "two <mark>forklifts</mark>, one <mark>FORKLIFT</mark>");
	free(s);
}

TEST(search_highlight_no_match_is_null)
{
	CHECK(hl("Forklift operator", "nurse", 0) == NULL);
	CHECK(hl("Forklift operator", "", 0) == NULL);
	CHECK(hl("", "forklift", 0) == NULL);
	/* a substring is not a match: tokens are whole runs */
	CHECK(hl("forkliftoperator", "forklift", 0) == NULL);
	struct text_query q = { 0 };
	CHECK(highlight_snippet("forklift", 8, &q, 0) == NULL);
	CHECK(highlight_snippet(NULL, 0, &q, 0) == NULL);
}

TEST(search_highlight_escapes_html)
{
	char *s = hl("<b>forklift</b> & \"OSHA\" 'certified'", "forklift osha", 0);
	CHECK_EQ_STR(s, "&lt;b&gt;<mark>forklift</mark>&lt;/b&gt; &amp; &quot;<mark>OSHA</mark>"
			"&quot; &#39;certified&#39;");
	free(s);
	s = hl("<script>alert(1)</script> forklift", "forklift script", 0);
	CHECK(strstr(s, "<script") == NULL);
	CHECK_EQ_STR(s, "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; "
			"<mark>forklift</mark>");
	free(s);
}

TEST(search_highlight_window_and_ellipses)
{
	const char *text =
		"Candidate has ten years of retail experience and managed a small team of "
		"cashiers. Later moved into logistics as a forklift operator with OSHA "
		"certification, working nights in a large warehouse near Milwaukee. Enjoys "
		"fishing and woodworking on weekends.";
	char *s = hl(text, "forklift osha", 40);
	CHECK(s != NULL);
	CHECK(strncmp(s, HIGHLIGHT_ELLIPSIS, 3) == 0);
	size_t n = strlen(s);
	CHECK(n > 6 && strcmp(s + n - 3, HIGHLIGHT_ELLIPSIS) == 0);
	CHECK(strstr(s, "<mark>forklift</mark>") != NULL);
	CHECK(strstr(s, "<mark>OSHA</mark>") != NULL);
	/* the window's text (without marks and ellipses) is at most 40 chars and
	 * starts and ends on word edges */
	char plain[256];
	size_t o = 0;
	for (const char *p = s + 3; p < s + n - 3;) {
		if (*p == '<') {
			p = strchr(p, '>') + 1;
			continue;
		}
		plain[o++] = *p++;
	}
	plain[o] = '\0';
	CHECK(o <= 40);
	CHECK(strstr(text, plain) != NULL);
	CHECK(plain[0] != ' ' && plain[o - 1] != ' ');
	const char *at = strstr(text, plain);
	CHECK(at > text && !(at[-1] >= 'a' && at[-1] <= 'z' && plain[0] >= 'a' && plain[0] <= 'z'));
	free(s);
	/* the densest place wins: two distinct terms near the end beat one
	 * repeated term at the start */
	s = hl("nurse nurse nurse, then a long stretch of unrelated words about "
	       "nothing in particular at all, then icu nurse nights",
	       "icu nurse nights", 20);
	CHECK(s != NULL);
	CHECK(strstr(s, "<mark>icu</mark> <mark>nurse</mark> <mark>nights</mark>") != NULL);
	CHECK(strncmp(s, HIGHLIGHT_ELLIPSIS, 3) == 0);
	CHECK(strlen(s) < 3 + 20 + 3 * 13 + 1);
	free(s);
	/* a text shorter than the window is whole, no ellipsis */
	s = hl("short forklift text", "forklift", 100);
	CHECK_EQ_STR(s, "short <mark>forklift</mark> text");
	free(s);
}

TEST(search_highlight_wide_match_and_tiny_window)
{
	char *s = hl("aaa supercalifragilistic bbb", "supercalifragilistic", 5);
	CHECK_EQ_STR(s, HIGHLIGHT_ELLIPSIS "<mark>supercalifragilistic</mark>" HIGHLIGHT_ELLIPSIS);
	free(s);
	s = hl("forklift", "forklift", 1);
	CHECK_EQ_STR(s, "<mark>forklift</mark>");
	free(s);
}

TEST(search_highlight_utf8_boundaries)
{
	/* é is 2 bytes, ü 2, 日本 3 each: cuts land between characters */
	const char *text = "éééééééééé ééééé Müller 日本語 forklift 日本日本日本日本 üüüüüüüüüü";
	for (size_t w = 1; w < 60; w++) {
		char *s = hl(text, "forklift", w);
		CHECK(s != NULL);
		CHECK(utf8_ok(s));
		CHECK(strstr(s, "<mark>forklift</mark>") != NULL);
		free(s);
	}
	char *s = hl(text, "müller", 0);
	CHECK(strstr(s, "<mark>Müller</mark>") != NULL);
	free(s);
	s = hl(text, "日本語", 0);
	CHECK(strstr(s, "<mark>日本語</mark>") != NULL);
	free(s);
}

TEST(search_highlight_invalid_utf8_and_nul_replaced)
{
	const char text[] = "bad \xff\xfe bytes \xc3 forklift \xed\xa0\x80 x";
	char *s = highlight_snippet(text, sizeof text - 1, &(struct text_query){ 0 }, 0);
	CHECK(s == NULL);
	struct text_query q;
	text_query_parse("forklift", 8, &q);
	s = highlight_snippet(text, sizeof text - 1, &q, 0);
	CHECK(s != NULL);
	CHECK(utf8_ok(s));
	CHECK_EQ_STR(s, "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes \xEF\xBF\xBD <mark>forklift</mark> "
			"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD x");
	free(s);
	const char nul[] = "a\0b forklift";
	s = highlight_snippet(nul, sizeof nul - 1, &q, 0);
	CHECK_EQ_STR(s, "a\xEF\xBF\xBD"
			"b <mark>forklift</mark>");
	free(s);
	/* not NUL-terminated: only len bytes are read (exact-size copy) */
	char *exact = xmalloc(8);
	memcpy(exact, "forklift", 8);
	s = highlight_snippet(exact, 8, &q, 3);
	CHECK_EQ_STR(s, "<mark>forklift</mark>");
	free(s);
	free(exact);
	text_query_free(&q);
}

TEST(search_highlight_unsorted_query_terms)
{
	/* a hand-made query (not from text_query_parse) still matches */
	char terms[2][TOKEN_MAX_BYTES + 1] = { "welder", "forklift" };
	struct text_query q = { terms, 2 };
	char *s = highlight_snippet("forklift and welder", 19, &q, 0);
	CHECK_EQ_STR(s, "<mark>forklift</mark> and <mark>welder</mark>");
	free(s);
}
