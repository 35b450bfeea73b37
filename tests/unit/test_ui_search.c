/* test_ui_search.c — the Search page's pure pieces (src/gateway/ui_search.c,
 * ADR 0151): the highlight inserter that lets only <mark> through, the
 * dataset-name check, the index state panel (versions, progress, a failed
 * build's reason, polling only while something is being built) and the
 * rendered answer (meta line, per-ranking ranks, column order, escaping). */
#include "test.h"

#include "gateway/ui_int.h"

#include <stdlib.h>

static char *marked(const char *snippet)
{
	struct html h;
	html_init(&h, 0);
	ui_search_marked(&h, snippet);
	return h.buf;
}

TEST(ui_search_marked_lets_only_mark_through)
{
	/* what queryd's highlighter writes comes out as it is */
	const char *good = "\xE2\x80\xA6 <mark>Forklift</mark> &amp; &lt;b&gt; &quot;x&quot; "
			   "it&#39;s caf\xC3\xA9 <mark>x</mark>";
	char *s = marked(good);
	CHECK_EQ_STR(s, good);
	free(s);
	/* anything else is text again */
	s = marked("<script>alert(1)</script><img src=x onerror=\"a()\">");
	CHECK_EQ_STR(s, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;a()"
			"&quot;&gt;");
	free(s);
	s = marked("<mark onclick=x>a</mark> <MARK>b</MARK> &copy; &#60; & 'q'");
	CHECK_EQ_STR(s,
		     "&lt;mark onclick=x&gt;a&lt;/mark&gt; &lt;MARK&gt;b&lt;/MARK&gt; &amp;copy; "
		     "&amp;#60; &amp; &#39;q&#39;");
	free(s);
	/* nesting and stray closes are text; an open mark is closed */
	s = marked("<mark>a<mark>b</mark></mark> <mark>open");
	CHECK_EQ_STR(s, "<mark>a&lt;mark&gt;b</mark>&lt;/mark&gt; <mark>open</mark>");
	free(s);
	s = marked("");
	CHECK_EQ_STR(s, "");
	free(s);
	s = marked(NULL);
	CHECK_EQ_STR(s, "");
	free(s);
}

TEST(ui_search_dataset_valid)
{
	CHECK(ui_search_dataset_valid("people"));
	CHECK(ui_search_dataset_valid("_p2@3"));
	CHECK(ui_search_dataset_valid("people@123456789012345678"));
	CHECK(!ui_search_dataset_valid(NULL));
	CHECK(!ui_search_dataset_valid(""));
	CHECK(!ui_search_dataset_valid("@3"));
	CHECK(!ui_search_dataset_valid("people@"));
	CHECK(!ui_search_dataset_valid("people@0"));
	CHECK(!ui_search_dataset_valid("people@03"));
	CHECK(!ui_search_dataset_valid("people@-3"));
	CHECK(!ui_search_dataset_valid("people@3x"));
	CHECK(!ui_search_dataset_valid("people@1@2"));
	CHECK(!ui_search_dataset_valid("people@1234567890123456789"));
	CHECK(!ui_search_dataset_valid("bad name"));
	CHECK(!ui_search_dataset_valid("a\"><script>"));
	CHECK(!ui_search_dataset_valid("1abc"));
}

static char *state(const char *ix_json, long long shown)
{
	json_t *ix = json_loads(ix_json, 0, NULL);
	struct html h;
	html_init(&h, 0);
	ui_search_render_state(&h, "people", ix, shown);
	json_decref(ix);
	return h.buf;
}

TEST(ui_search_state_panel)
{
	char *s = state(
		"{\"declaration\": {\"text\": [\"title\", \"<b>\"], \"id\": \"worker_id\", "
		"\"embedder\": \"builtin\"}, \"from_version\": 2, \"versions\": ["
		"{\"version\": 2, \"state\": \"ready\", \"rows\": 1234, \"rows_indexed\": 1234, "
		"\"build_ms\": 81250, \"updated_at\": \"2026-12-06T09:31:21.370Z\"},"
		"{\"version\": 3, \"state\": \"failed\", \"rows\": 1300, \"rows_indexed\": 0, "
		"\"build_ms\": null, \"reason\": \"<i>disk</i> full\"}]}",
		2);
	/* nothing is being built: no polling */
	CHECK(!strstr(s, "hx-trigger"));
	CHECK(strstr(s,
		     "Searches <code>title</code>, <code>&lt;b&gt;</code> \xc2\xb7 rows known by "
		     "<code>worker_id</code> \xc2\xb7 embedder <code>builtin</code> \xc2\xb7 "
		     "versions 2 and later"));
	/* newest first; the searched version marked */
	char *v3 = strstr(s, "<tr data-version=\"3\" data-state=\"failed\">");
	char *v2 = strstr(s, "<tr data-version=\"2\" data-state=\"ready\" class=\"current\">");
	CHECK(v3 && v2 && v3 < v2);
	CHECK(strstr(s, "<progress max=\"1234\" value=\"1234\"></progress> <span class=\"meta\">"
			"1,234 of 1,234</span></td><td class=\"num\">1 min 21 s</td>"
			"<td>2026-12-06 09:31 UTC</td>"));
	CHECK(strstr(s, "<span class=\"meta\">Why:</span> &lt;i&gt;disk&lt;/i&gt; full"));
	CHECK(strstr(s, "v2</a> <span class=\"badge\">searched</span>"));
	free(s);

	/* pending or building: the panel asks for itself again */
	s = state("{\"declaration\": {\"text\": [\"notes\"]}, \"from_version\": 1, \"versions\": ["
		  "{\"version\": 1, \"state\": \"ready\", \"rows\": 6, \"rows_indexed\": 6, "
		  "\"build_ms\": 44},"
		  "{\"version\": 2, \"state\": \"building\", \"rows\": 10, \"rows_indexed\": 0}]}",
		  0);
	CHECK(strstr(s, "<section class=\"card index-state\" id=\"index-state\" data-busy=\"1\" "
			"hx-get=\"/search?dataset=people&amp;part=state\" hx-trigger=\"every 2s\" "
			"hx-select=\"#index-state\" hx-swap=\"outerHTML\">"));
	CHECK(strstr(s, "embedder <code>builtin</code>")); /* the default */
	CHECK(!strstr(s, "rows known by"));
	CHECK(strstr(s, "<progress max=\"10\" value=\"0\"></progress>"));
	CHECK(strstr(s, "<td class=\"num\">44 ms</td>"));
	CHECK(strstr(s, "id=\"index-busy\""));
	CHECK(!strstr(s, "class=\"current\""));
	free(s);

	/* many versions: the newest UI_SEARCH_STATE_VERSIONS, then a count */
	json_t *ix = json_pack("{s:{s:[s]}, s:i, s:[]}", "declaration", "text", "t", "from_version",
			       1, "versions");
	for (int v = 1; v <= 13; v++)
		json_array_append_new(json_object_get(ix, "versions"),
				      json_pack("{s:i, s:s, s:i, s:i}", "version", v, "state",
						"ready", "rows", 1, "rows_indexed", 1));
	struct html h;
	html_init(&h, 0);
	ui_search_render_state(&h, "people", ix, 0);
	CHECK(strstr(h.buf, "data-version=\"13\""));
	CHECK(strstr(h.buf, "data-version=\"4\""));
	CHECK(!strstr(h.buf, "data-version=\"3\""));
	CHECK(strstr(h.buf, "and 3 older versions."));
	html_free(&h);
	json_decref(ix);

	s = state("{\"declaration\": {\"text\": [\"t\"]}, \"from_version\": 1, \"versions\": []}",
		  0);
	CHECK(strstr(s, "No version to index yet."));
	free(s);
}

static char *answer(const char *ans_json, const char *decl_json, const char *link)
{
	json_t *ans = json_loads(ans_json, 0, NULL), *decl = json_loads(decl_json, 0, NULL);
	struct html h;
	html_init(&h, 0);
	ui_search_render_answer(&h, ans, decl, link);
	json_decref(ans);
	json_decref(decl);
	return h.buf;
}

TEST(ui_search_answer)
{
	const char *ans =
		"{\"dataset\": \"people\", \"version\": 4, \"mode\": \"hybrid\", \"results\": ["
		"{\"row\": {\"state\": \"<WI>\", \"notes\": \"a <b>forklift</b>\", \"worker_id\": 7,"
		" \"n\": null},"
		" \"score\": 0.0327868852, \"text_rank\": 1, \"vector_rank\": null,"
		" \"highlight\": {\"notes\": \"a &lt;b&gt;<mark>forklift</mark>&lt;/b&gt;\"}},"
		"{\"row\": {\"state\": \"IL\", \"notes\": \"x\", \"worker_id\": 8, \"n\": 2.5},"
		" \"score\": 0.016, \"text_rank\": null, \"vector_rank\": 1, \"highlight\": {}}],"
		"\"searched_rows\": 1500, \"unindexed_rows\": 1, \"elapsed_ms\": 2.25,"
		"\"notes\": [\"k was <capped>\"]}";
	char *s = answer(ans, "{\"text\": [\"notes\"], \"id\": \"worker_id\"}",
			 "/search?dataset=people&q=a\"b");
	CHECK(strstr(
		s, "<p class=\"result-meta\" id=\"search-meta\" data-results=\"2\" "
		   "data-searched=\"1500\" data-unindexed=\"1\"><strong>2 results</strong> of "
		   "1,500 rows searched \xc2\xb7 <span id=\"search-unindexed\">not yet indexed: 1 "
		   "row searched exactly</span> \xc2\xb7 2.2 ms \xc2\xb7 hybrid search of "
		   "<strong>people@4</strong> \xc2\xb7 <a id=\"search-link\" "
		   "href=\"/search?dataset=people&amp;q=a&quot;b\">link to this search</a></p>"));
	CHECK(strstr(s, "<p class=\"meta search-note\">Note: k was &lt;capped&gt;</p>"));
	/* id, the text columns, then the rest in the row's order */
	CHECK(strstr(s, "<th scope=\"col\">worker_id</th><th scope=\"col\">notes</th>"
			"<th scope=\"col\">state</th><th scope=\"col\">n</th>"));
	CHECK(strstr(s, "<tr data-rank=\"1\"><td class=\"num\">1</td><td class=\"num\">0.0328</td>"
			"<td class=\"num\">1</td><td class=\"num rank-none\">\xe2\x80\x93</td>"
			"<td class=\"num\">7</td><td class=\"hl\" data-column=\"notes\">a &lt;b&gt;"
			"<mark>forklift</mark>&lt;/b&gt;</td><td>&lt;WI&gt;</td>"
			"<td class=\"null\">NULL</td></tr>"));
	/* no highlight: the value, escaped as every value */
	CHECK(strstr(s, "<td class=\"num\">8</td><td>x</td><td>IL</td><td class=\"num\">2.5</td>"));
	CHECK(!strstr(s, "<b>"));
	free(s);

	/* text mode: no per-ranking columns; no declaration: the row's order */
	s = answer("{\"dataset\": \"p\", \"version\": 1, \"mode\": \"text\", \"results\": ["
		   "{\"row\": {\"a\": 1, \"b\": \"y\"}, \"score\": 2.5, \"text_rank\": 1,"
		   " \"vector_rank\": null, \"highlight\": {}}], \"searched_rows\": 1,"
		   " \"unindexed_rows\": 0, \"elapsed_ms\": 1}",
		   "null", NULL);
	CHECK(strstr(s, "<strong>1 result</strong> of 1 row searched \xc2\xb7 <span "
			"id=\"search-unindexed\">all indexed</span>"));
	CHECK(!strstr(s, "search-link"));
	CHECK(!strstr(s, "Rank by meaning"));
	CHECK(strstr(s, "<th scope=\"col\">a</th><th scope=\"col\">b</th>"));
	CHECK(strstr(s, "<td class=\"num\">1</td><td class=\"num\">2.5000</td><td class=\"num\">1"
			"</td><td>y</td>"));
	free(s);

	s = answer("{\"dataset\": \"p\", \"version\": 1, \"mode\": \"vector\", \"results\": [],"
		   " \"searched_rows\": 0, \"unindexed_rows\": 0, \"elapsed_ms\": 1}",
		   "null", NULL);
	CHECK(strstr(s, "id=\"search-empty\""));
	CHECK(!strstr(s, "<table"));
	free(s);
}
