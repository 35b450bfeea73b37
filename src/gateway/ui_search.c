/* ui_search.c — the Search page (SPEC 11, ADR 0151): GET /search and POST
 * /search. "note n" means ui.c's DESIGN NOTES.
 *
 * DESIGN NOTES
 *  1. A search is a read, but a filter (`where`) is SQL, and no GET runs SQL
 *     a request chose (ADR 0111, note 5). So GET /search?dataset=&q=[&mode=
 *     &k=] runs the search when it has no `where` — the dataset page's box
 *     is such a GET form, and a link to a search works — while a GET with a
 *     `where` only fills the form and says the filter has not run. The
 *     page's own form is a POST with the CSRF token (note 6), like the
 *     console's Run, and runs everything; htmx then swaps the result in and
 *     puts the search's address in the address bar.
 *  2. The page asks catalogd for the dataset's index (the declaration and
 *     every version's build state) before it asks queryd to search: a
 *     dataset without an index gets a box that says how to declare one
 *     (with its text columns filled in) instead of a search that can only
 *     fail. While a version is pending or building, the state panel asks
 *     for itself again every two seconds (GET /search?dataset=&part=state,
 *     htmx), so build progress shows without a reload; a panel of ready
 *     versions stops asking.
 *  3. Highlights come from queryd already escaped, matches in <mark>. They
 *     are the only service text the UI inserts as markup, and even they go
 *     through ui_search_marked(), which lets only <mark> and </mark> through
 *     and escapes anything else again: a highlight cannot carry a tag or an
 *     attribute whatever queryd sent. Every other value is escaped as
 *     always (ui_render_cell).
 *  4. The page's bearer token goes upstream with each call (note 1): a read
 *     token may search (auth: POST /search is a read, like the console).
 *  5. Feedback (ADR 0190): when the index declares an id column, each result
 *     row ends with a thumbs up and a thumbs down, a small form (the CSRF
 *     token, dataset, query, id, score 1 or -1) posted to POST
 *     /search/feedback, which checks the token like every POST here and
 *     passes the rating to queryd's /search/feedback with the page's
 *     bearer token (a write: a read token gets queryd's 403 in words). htmx
 *     swaps the form for "Rated"; without JavaScript the answer is a page
 *     with a link back to the search. The form's "Learn from ratings" box
 *     sends "feedback": true, and a row feedback moved says why in its
 *     last cell.
 *  6. Hits of a documents dataset (ADR 0225: rows with doc_id, file_name,
 *     chunk, page, text) are shown as documents, not as a table of columns
 *     (ADR 0229): the file name as a link to the original
 *     (/v1/documents/<doc_id>, served with the caller's rights, ADR 0227),
 *     "page N" (or the chunk for formats without pages) and the text's
 *     highlight; no 64-digit id and no wide text column, so the list fits
 *     a phone.
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What one Search request asks: the POST's fields, or a GET's query. */
struct search_req {
	const char *dataset; /* "name" or "name@N"; NULL/"" = none chosen */
	const char *q;
	const char *mode;  /* NULL/"" = hybrid */
	const char *k;     /* NULL/"" = LH_SEARCH_DEFAULT_K */
	const char *where; /* NULL/"" = none */
	const char *feedback; /* "1": learn from ratings (note 5) */
};

static int filled(const char *s)
{
	return s && *s;
}

/* --- pure pieces (ui_int.h) -------------------------------------------------- */

int ui_search_dataset_valid(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;
	char name[LH_DATASET_NAME_MAX + 1];
	size_t n = at ? (size_t)(at - s) : s ? strlen(s) : 0;
	if (!s || n == 0 || n > LH_DATASET_NAME_MAX)
		return 0;
	memcpy(name, s, n);
	name[n] = '\0';
	if (!dataset_name_valid(name))
		return 0;
	if (!at)
		return 1;
	const char *v = at + 1;
	size_t digits = strspn(v, "0123456789");
	return digits > 0 && digits <= 18 && !v[digits] && v[0] != '0';
}

void ui_search_marked(struct html *h, const char *snippet)
{
	static const char *const entities[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&#39;" };
	int open = 0;
	const char *p = snippet ? snippet : "", *run = p;
	while (*p) {
		const char *lit = NULL;
		size_t skip = 1;
		if (!strncmp(p, "<mark>", 6) && !open) {
			lit = "<mark>";
			skip = 6;
			open = 1;
		} else if (!strncmp(p, "</mark>", 7) && open) {
			lit = "</mark>";
			skip = 7;
			open = 0;
		} else if (*p == '&') {
			for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++)
				if (!strncmp(p, entities[e], strlen(entities[e]))) {
					lit = entities[e];
					skip = strlen(entities[e]);
				}
		}
		if (!lit && !strchr("<>\"'&", *p)) {
			p++;
			continue;
		}
		html_textn(h, run, (size_t)(p - run)); /* plain text: nothing to escape */
		if (lit)
			html_lit(h, lit);
		else
			html_textn(h, p, 1); /* a stray < > " ' or & */
		p += skip;
		run = p;
	}
	html_textn(h, run, (size_t)(p - run));
	if (open)
		html_lit(h, "</mark>");
}

/* "850 ms", "12.3 s", "4 min 10 s" (as `lakehouse index` prints it). */
static void fmt_ms(char *buf, size_t n, long long ms)
{
	if (ms < 1000)
		snprintf(buf, n, "%lld ms", ms);
	else if (ms < 60000)
		snprintf(buf, n, "%.1f s", (double)ms / 1000.0);
	else
		snprintf(buf, n, "%lld min %lld s", ms / 60000, (ms % 60000) / 1000);
}

void ui_search_render_state(struct html *h, const char *name, const json_t *ix, long long shown)
{
	const json_t *decl = json_object_get(ix, "declaration");
	const json_t *versions = json_object_get(ix, "versions"), *v;
	size_t n = json_array_size(versions), i, busy = 0;
	json_array_foreach(versions, i, v)
	{
		const char *st = ui_jstr(v, "state");
		busy += st && (!strcmp(st, "pending") || !strcmp(st, "building"));
	}
	html_lit(h, "<section class=\"card index-state\" id=\"index-state\"");
	if (busy) /* note 2: ask again until every version is built or failed */
		html_printf(h,
			    " data-busy=\"%zu\" hx-get=\"/search?dataset=%U&amp;part=state\" "
			    "hx-trigger=\"every 2s\" hx-select=\"#index-state\" "
			    "hx-swap=\"outerHTML\"",
			    busy, name);
	html_printf(h,
		    "><h2>Search index of <a href=\"/datasets/%U\">%s</a></h2>"
		    "<p class=\"meta\" id=\"index-declaration\">Searches ",
		    name, name);
	const json_t *text = json_object_get(decl, "text");
	json_array_foreach(text, i, v)
	{
		html_printf(h, "%s<code>%s</code>", i ? ", " : "", json_string_value(v));
	}
	if (ui_jstr(decl, "id"))
		html_printf(h, " \xc2\xb7 rows known by <code>%s</code>", ui_jstr(decl, "id"));
	html_printf(h, " \xc2\xb7 embedder <code>%s</code> \xc2\xb7 versions %lld and later</p>",
		    ui_jstr(decl, "embedder") ? ui_jstr(decl, "embedder") : "builtin",
		    ui_jint(ix, "from_version"));
	if (n == 0) {
		html_lit(h, "<p class=\"empty\">No version to index yet.</p></section>");
		return;
	}
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list\" id=\"index-versions\"><thead>"
		    "<tr><th scope=\"col\">Version</th><th scope=\"col\">State</th>"
		    "<th scope=\"col\">Rows indexed</th><th scope=\"col\" class=\"num\">Build time"
		    "</th><th scope=\"col\">Updated</th></tr></thead><tbody>");
	size_t first = n > UI_SEARCH_STATE_VERSIONS ? n - UI_SEARCH_STATE_VERSIONS : 0;
	for (i = n; i-- > first;) {
		v = json_array_get(versions, i);
		const char *st = ui_jstr(v, "state") ? ui_jstr(v, "state") : "pending";
		long long ver = ui_jint(v, "version"), rows = ui_jint(v, "rows");
		long long done = ui_jint(v, "rows_indexed");
		char r1[32], r2[32], ms[32], when[48];
		ui_fmt_count(r1, sizeof r1, done);
		ui_fmt_count(r2, sizeof r2, rows);
		ui_fmt_time(when, sizeof when, ui_jstr(v, "updated_at"));
		if (json_is_integer(json_object_get(v, "build_ms")))
			fmt_ms(ms, sizeof ms, ui_jint(v, "build_ms"));
		else
			snprintf(ms, sizeof ms, "\xe2\x80\x93");
		html_printf(h, "<tr data-version=\"%lld\" data-state=\"%s\"", ver, st);
		if (ver == shown)
			html_lit(h, " class=\"current\"");
		html_printf(h, "><td><a href=\"/datasets/%U?version=%lld\">v%lld</a>", name, ver,
			    ver);
		if (ver == shown)
			html_lit(h, " <span class=\"badge\">searched</span>");
		html_printf(h,
			    "</td><td><span class=\"state state-%s\">%s</span></td><td><progress "
			    "max=\"%lld\" value=\"%lld\"></progress> <span class=\"meta\">%s of %s"
			    "</span></td><td class=\"num\">%s</td><td>%s</td></tr>",
			    st, st, rows > 0 ? rows : 1, done < rows ? done : rows, r1, r2, ms,
			    *when ? when : "\xe2\x80\x93");
		if (!strcmp(st, "failed"))
			html_printf(h,
				    "<tr class=\"failed-reason\"><td></td><td colspan=\"4\">"
				    "<span class=\"meta\">Why:</span> %s</td></tr>",
				    ui_jstr(v, "reason") ? ui_jstr(v, "reason")
							 : "(no reason given)");
	}
	html_lit(h, "</tbody></table></div>");
	if (first)
		html_printf(h, "<p class=\"meta\">and %zu older version%s.</p>", first,
			    first == 1 ? "" : "s");
	if (busy)
		html_lit(h,
			 "<p class=\"meta\" id=\"index-busy\">Versions are being indexed in "
			 "the background. Until then their rows are searched exactly, so results "
			 "are complete meanwhile, only slower. This panel updates itself.</p>");
	html_lit(h, "</section>");
}

static int in_list(const json_t *list, const char *s)
{
	size_t i;
	const json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	}
	return 0;
}

/* The columns in the order the table shows them: decl's id, its text
 * columns, the rest in the first row's order. A new array. */
static json_t *column_order(const json_t *results, const json_t *decl)
{
	const json_t *row = json_object_get(json_array_get(results, 0), "row"), *v;
	const char *id = ui_jstr(decl, "id"), *key;
	json_t *cols = json_array();
	size_t i;
	if (id && json_object_get(row, id))
		json_array_append_new(cols, json_string(id));
	json_array_foreach(json_object_get(decl, "text"), i, v)
	{
		const char *c = json_string_value(v);
		if (c && json_object_get(row, c) && !in_list(cols, c))
			json_array_append_new(cols, json_string(c));
	}
	json_object_foreach((json_t *)row, key, v)
	{
		if (!in_list(cols, key))
			json_array_append_new(cols, json_string(key));
	}
	return cols;
}

/* Note 6: whether a hit's row is a documents chunk. */
static int is_document_row(const json_t *row)
{
	return json_is_string(json_object_get(row, "doc_id")) &&
	       json_object_get(row, "file_name") && json_object_get(row, "text") &&
	       json_is_integer(json_object_get(row, "chunk"));
}

/* Note 6: the hits of a documents dataset as a list of documents. */
static void render_document_hits(struct html *h, const json_t *results)
{
	const json_t *r;
	size_t i;
	html_lit(h, "<ol class=\"doc-hits\" id=\"search-results\">");
	json_array_foreach(results, i, r)
	{
		const json_t *row = json_object_get(r, "row"), *hl = json_object_get(r, "highlight");
		const char *id = json_string_value(json_object_get(row, "doc_id"));
		const char *file = json_string_value(json_object_get(row, "file_name"));
		const json_t *page = json_object_get(row, "page");
		const char *snip = ui_jstr(hl, "text");
		html_printf(h, "<li class=\"doc-hit\" data-rank=\"%zu\"><p class=\"doc-where\">"
				"<a class=\"doc-download\" href=\"/v1/documents/%U\" download "
				"title=\"download the original file\">%s</a> \xc2\xb7 ",
			    i + 1, id, file ? file : id);
		if (json_is_integer(page))
			html_printf(h, "<span class=\"doc-page\">page %lld</span>",
				    (long long)json_integer_value(page));
		else
			html_printf(h, "<span class=\"doc-page\">part %lld</span>",
				    (long long)json_integer_value(json_object_get(row, "chunk")) + 1);
		html_printf(h, " <span class=\"meta\">score %.4f</span></p><p class=\"hl doc-text\">",
			    json_number_value(json_object_get(r, "score")));
		if (snip)   /* note 3 */
			ui_search_marked(h, snip);
		else
			html_text_cut(h, ui_jstr(row, "text") ? ui_jstr(row, "text") : "", 400);
		html_lit(h, "</p></li>");
	}
	html_lit(h, "</ol>");
}

/* Note 5: a hit's thumbs, or why feedback moved it. */
static void render_rate(struct html *h, const json_t *hit, const json_t *decl,
			const struct ui_search_rate *rate)
{
	const char *idcol = ui_jstr(decl, "id");
	const json_t *id = idcol ? json_object_get(json_object_get(hit, "row"), idcol) : NULL;
	const json_t *why = json_object_get(hit, "feedback");
	html_lit(h, "<td class=\"rate\">");
	if (json_is_object(why)) {
		double sc = json_number_value(json_object_get(why, "score"));
		html_printf(h, "<span class=\"fb-why\" title=\"moved by a rating of %+g for ", sc);
		html_text(h, ui_jstr(why, "query") ? ui_jstr(why, "query") : "");
		html_printf(h, " (similarity %.2f)\">%s</span>",
			    json_number_value(json_object_get(why, "similarity")),
			    sc >= 0 ? "\xe2\x86\x91" : "\xe2\x86\x93");
	}
	if (rate && (json_is_integer(id) || json_is_string(id))) {
		char num[32];
		const char *idtext = json_string_value(id);
		if (!idtext) {
			snprintf(num, sizeof num, "%lld", (long long)json_integer_value(id));
			idtext = num;
		}
		html_printf(h,
			    "<form class=\"rate-form\" method=\"post\" action=\"/search/feedback\" "
			    "hx-post=\"/search/feedback\" hx-swap=\"outerHTML\"><input "
			    "type=\"hidden\" name=\"" UI_CSRF_FIELD "\" value=\"%s\"><input "
			    "type=\"hidden\" name=\"dataset\" value=\"%s\"><input type=\"hidden\" "
			    "name=\"q\" value=\"",
			    rate->token, rate->dataset);
		html_text(h, rate->query);
		html_lit(h, "\"><input type=\"hidden\" name=\"id\" value=\"");
		html_text(h, idtext);
		html_lit(h, "\"><button type=\"submit\" name=\"score\" value=\"1\" "
			    "class=\"rate-up\" title=\"A good result for this search\" "
			    "aria-label=\"Good result\">\xe2\x96\xb2</button><button "
			    "type=\"submit\" name=\"score\" value=\"-1\" class=\"rate-down\" "
			    "title=\"A bad result for this search\" aria-label=\"Bad result\">"
			    "\xe2\x96\xbc</button></form>");
	}
	html_lit(h, "</td>");
}

void ui_search_render_answer(struct html *h, const json_t *answer, const json_t *decl,
			     const char *link)
{
	ui_search_render_answer_rated(h, answer, decl, link, NULL);
}

void ui_search_render_answer_rated(struct html *h, const json_t *answer, const json_t *decl,
				   const char *link, const struct ui_search_rate *rate)
{
	const json_t *results = json_object_get(answer, "results"), *r, *note;
	const char *mode = ui_jstr(answer, "mode") ? ui_jstr(answer, "mode") : "hybrid";
	int hybrid = !strcmp(mode, "hybrid");
	size_t nres = json_array_size(results), i;
	long long searched = ui_jint(answer, "searched_rows");
	long long unindexed = ui_jint(answer, "unindexed_rows");
	char a[32], b[32], c[32];
	ui_fmt_count(a, sizeof a, (long long)nres);
	ui_fmt_count(b, sizeof b, searched);
	ui_fmt_count(c, sizeof c, unindexed);

	html_printf(h,
		    "<p class=\"result-meta\" id=\"search-meta\" data-results=\"%zu\" "
		    "data-searched=\"%lld\" data-unindexed=\"%lld\"><strong>%s result%s</strong> "
		    "of %s row%s searched \xc2\xb7 ",
		    nres, searched, unindexed, a, nres == 1 ? "" : "s", b,
		    searched == 1 ? "" : "s");
	if (unindexed > 0)
		html_printf(h,
			    "<span id=\"search-unindexed\">not yet indexed: %s row%s searched "
			    "exactly</span>",
			    c, unindexed == 1 ? "" : "s");
	else
		html_lit(h, "<span id=\"search-unindexed\">all indexed</span>");
	html_printf(h, " \xc2\xb7 %.1f ms \xc2\xb7 %s search of <strong>%s@%lld</strong>",
		    json_number_value(json_object_get(answer, "elapsed_ms")), mode,
		    ui_jstr(answer, "dataset"), ui_jint(answer, "version"));
	if (link) {
		html_lit(h, " \xc2\xb7 <a id=\"search-link\" href=\"");
		html_text(h, link);
		html_lit(h, "\">link to this search</a>");
	}
	html_lit(h, "</p>");
	json_array_foreach(json_object_get(answer, "notes"), i, note)
	{
		if (json_is_string(note))
			html_printf(h, "<p class=\"meta search-note\">Note: %s</p>",
				    json_string_value(note));
	}
	if (nres == 0) {
		html_lit(h,
			 "<p class=\"empty\" id=\"search-empty\">No row matches. In text mode only "
			 "rows holding one of the words are found; try the hybrid or vector "
			 "mode, other words, or a wider filter.</p>");
		return;
	}
	if (is_document_row(json_object_get(json_array_get(results, 0), "row"))) {   /* 6 */
		render_document_hits(h, results);
		return;
	}
	json_t *cols = column_order(results, decl);
	size_t ncols = json_array_size(cols);
	html_lit(h, "<div class=\"table-wrap\"><table class=\"data search-results\" "
		    "id=\"search-results\"><thead><tr><th scope=\"col\" class=\"num\">#</th>"
		    "<th scope=\"col\" class=\"num\">Score</th>");
	if (hybrid)
		html_lit(h, "<th scope=\"col\" class=\"num\" title=\"Rank by words (BM25)\">Text"
			    "</th><th scope=\"col\" class=\"num\" title=\"Rank by meaning "
			    "(embeddings)\">Vector</th>");
	for (size_t j = 0; j < ncols; j++)
		html_printf(h, "<th scope=\"col\">%s</th>",
			    json_string_value(json_array_get(cols, j)));
	int rated = (rate && ui_jstr(decl, "id")) || json_is_object(json_object_get(answer, "feedback"));
	if (rated)
		html_lit(h, "<th scope=\"col\" class=\"rate\" title=\"Rate a result: later "
			    "searches that learn from ratings move it\">Rate</th>");
	html_lit(h, "</tr></thead><tbody>");
	json_array_foreach(results, i, r)
	{
		const json_t *row = json_object_get(r, "row"),
			     *hl = json_object_get(r, "highlight");
		html_printf(h,
			    "<tr data-rank=\"%zu\"><td class=\"num\">%zu</td><td class=\"num\">"
			    "%.4f</td>",
			    i + 1, i + 1, json_number_value(json_object_get(r, "score")));
		if (hybrid) {
			const json_t *tr = json_object_get(r, "text_rank");
			const json_t *vr = json_object_get(r, "vector_rank");
			if (json_is_integer(tr))
				html_printf(h, "<td class=\"num\">%lld</td>",
					    (long long)json_integer_value(tr));
			else
				html_lit(h, "<td class=\"num rank-none\">\xe2\x80\x93</td>");
			if (json_is_integer(vr))
				html_printf(h, "<td class=\"num\">%lld</td>",
					    (long long)json_integer_value(vr));
			else
				html_lit(h, "<td class=\"num rank-none\">\xe2\x80\x93</td>");
		}
		for (size_t j = 0; j < ncols; j++) {
			const char *name = json_string_value(json_array_get(cols, j));
			const char *snip = ui_jstr(hl, name);
			if (snip) { /* note 3 */
				html_printf(h, "<td class=\"hl\" data-column=\"%s\">", name);
				ui_search_marked(h, snip);
				html_lit(h, "</td>");
			} else {
				ui_render_cell(h, json_object_get(row, name));
			}
		}
		if (rated)
			render_rate(h, r, decl, rate);
		html_lit(h, "</tr>");
	}
	html_lit(h, "</tbody></table></div>");
	json_decref(cols);
}

/* --- the page ---------------------------------------------------------------- */

/* The search's address into u (initialised; its content is replaced):
 * /search?dataset=&q=&mode=&k=[&where=], encoded. Returns 0, or -1 when it
 * is longer than LH_UI_SHARE_URL_BYTES (u is then empty). */
static int search_url(struct html *u, const struct search_req *sr)
{
	html_free(u);
	html_init(u, LH_UI_SHARE_URL_BYTES);
	html_printf(u, "/search?dataset=%U&q=%U", sr->dataset, sr->q);
	if (filled(sr->mode))
		html_printf(u, "&mode=%U", sr->mode);
	if (filled(sr->k))
		html_printf(u, "&k=%U", sr->k);
	if (filled(sr->where))
		html_printf(u, "&where=%U", sr->where);
	if (filled(sr->feedback))
		html_printf(u, "&feedback=%U", sr->feedback);
	if (!u->overflow)
		return 0;
	html_free(u);
	html_init(u, 0);
	return -1;
}

/* The dataset part of "name@3" into out. */
static void bare_name(const char *ds, char out[LH_DATASET_NAME_MAX + 1])
{
	const char *at = strchr(ds, '@');
	size_t n = at ? (size_t)(at - ds) : strlen(ds);
	if (n > LH_DATASET_NAME_MAX)
		n = LH_DATASET_NAME_MAX;
	memcpy(out, ds, n);
	out[n] = '\0';
}

/* Note 2: a dataset without an index — how to declare one, with its text
 * columns (utf8) filled in when the catalog says which they are. */
static void render_no_index(struct http_request *req, struct html *h, const char *name)
{
	struct gateway *g = http_request_ctx(req);
	struct peer_call call = ui_peer_call(req);
	struct lh_error err = { 0 };
	struct manifest *m = NULL;
	struct html cols, json;
	html_init(&cols, 0);
	html_init(&json, 0);
	if (catalog_client_manifest(g->catalog, &call, name, 0, &m, &err) == 0)
		for (size_t i = 0; i < m->ncolumns; i++) {
			if (strcmp(m->columns[i].type, "utf8"))
				continue;
			html_printf(&cols, "%s%s", cols.len ? "," : "", m->columns[i].name);
			html_printf(&json, "%s\"%s\"", json.len ? ", " : "", m->columns[i].name);
		}
	if (!cols.len) {
		html_lit(&cols, "title,notes");
		html_lit(&json, "\"title\", \"notes\"");
	}
	html_printf(h,
		    "<div class=\"alert alert-info\" role=\"status\" id=\"no-index\" "
		    "data-code=\"no_index\"><p class=\"alert-title\">%s has no search index yet."
		    "</p><p>Declare which text columns to search; searches work at once, and "
		    "each version is indexed in the background. With the command line:</p>"
		    "<pre class=\"alert-detail\">lakehouse index %s --text ",
		    name, name);
	html_append(h, &cols);
	html_printf(h,
		    "</pre><p>or over HTTP: <code>PUT /v1/catalog/index/%s</code> with</p>"
		    "<pre class=\"alert-detail\">{\"text\": [",
		    name);
	html_append(h, &json);
	html_lit(h, "]}</pre><p class=\"meta\">Keep the columns that describe a row (titles, "
		    "skills, notes); add <code>--id COLUMN</code> to name the column that "
		    "identifies one.</p></div>");
	html_free(&cols);
	html_free(&json);
	manifest_unref(m);
	lh_error_clear(&err);
}

/* A filter queryd refused: its words under a title that says it was the
 * filter (the message starts "where:"). */
static void render_search_error(struct html *h, long status, const json_t *ans)
{
	const char *msg = ui_jstr(ans, "error");
	if (msg && !strncmp(msg, "where:", 6)) {
		while (*(msg += 6) == ' ')
			;
		html_printf(h,
			    "<div class=\"alert alert-error\" role=\"alert\" data-code=\"%s\">"
			    "<p class=\"alert-title\">The filter could not be used. The database "
			    "says:</p><pre class=\"alert-detail\">%s</pre></div>",
			    ui_jstr(ans, "code"), msg);
		return;
	}
	ui_render_error_answer(h, status, ans);
}

/* What the result area shows for sr (note 2): the index state, then the
 * results or the error in words. `run` 0: the index state only (a GET
 * without a query, or one whose filter has not run). Returns the page's
 * status. */
static int search_result(struct http_request *req, struct html *h, const struct search_req *sr,
			 int run, const char *token)
{
	struct gateway *g = http_request_ctx(req);
	struct peer_call call = ui_peer_call(req);
	struct lh_error err = { 0 };
	char name[LH_DATASET_NAME_MAX + 1];
	json_t *ix = NULL, *ans = NULL, *body = NULL;
	long status = 0;
	int page_status = 200;
	char *text = NULL;

	html_lit(h, "<div id=\"search-output\">");
	if (!filled(sr->dataset)) {
		html_lit(h, "<p class=\"empty\">Choose a dataset to search.</p>");
		goto out;
	}
	if (!ui_search_dataset_valid(sr->dataset)) {
		ui_render_error(h, "bad_name", 400, "the dataset must be a name, or name@VERSION",
				NULL);
		page_status = 400;
		goto out;
	}
	bare_name(sr->dataset, name);
	if (catalog_client_index_get(g->catalog, &call, name, &ix, &err) != 0) {
		if (err.status == 404 && !strcmp(err.code, "no_index")) {
			render_no_index(req, h, name);
			page_status = run ? 409 : 200;
		} else {
			http_request_log_detail(req, err.detail);
			ui_render_lh_error(h, &err);
			page_status = err.status == 404 ? 404 : 502;
		}
		goto out;
	}
	if (!run || !filled(sr->q)) {
		if (run)
			html_lit(
				h,
				"<p class=\"empty\" id=\"search-hint\">Type what to look for.</p>");
		ui_search_render_state(h, name, ix, 0);
		goto out;
	}
	body = json_object();
	json_object_set_new(body, "dataset", json_string(sr->dataset)); /* checked: ASCII */
	json_t *q = json_string(sr->q), *where = filled(sr->where) ? json_string(sr->where) : NULL;
	json_t *mode = filled(sr->mode) ? json_string(sr->mode) : NULL;
	if (!q || (filled(sr->where) && !where) || (filled(sr->mode) && !mode)) {
		json_decref(q);
		json_decref(where);
		json_decref(mode);
		ui_render_error(h, "bad_request", 400,
				"the query, the filter and the mode must be UTF-8 text", NULL);
		page_status = 400;
		goto out;
	}
	json_object_set_new(body, "query", q);
	if (where)
		json_object_set_new(body, "where", where);
	if (mode)
		json_object_set_new(body, "mode", mode);
	if (filled(sr->k)) {
		char *end;
		long long k = strtoll(sr->k, &end, 10);
		if (*end || k < 1 || k > 1000000) {
			ui_render_error(
				h, "bad_request", 400,
				"the number of results must be a whole number from 1 to 1,000",
				NULL);
			page_status = 400;
			goto out;
		}
		json_object_set_new(body, "k", json_integer(k));
	}
	if (filled(sr->feedback))
		json_object_set_new(body, "feedback", json_true());
	text = json_dump_compact(body);
	if (ui_call_service(req, GW_QUERYD, "POST", "/search", text, &status, &ans, &err) != 0) {
		ui_render_lh_error(h, &err);
		page_status = err.status;
	} else if (status != 200) {
		if (status == 409 &&
		    !strcmp(ui_jstr(ans, "code") ? ui_jstr(ans, "code") : "", "no_index"))
			render_no_index(req, h, name); /* dropped since we looked */
		else
			render_search_error(h, status, ans);
		page_status = (int)status;
	} else {
		struct html url;
		html_init(&url, 0);
		int linked = search_url(&url, sr) == 0;
		struct ui_search_rate rate = { token, name, sr->q };
		ui_search_render_answer_rated(h, ans, json_object_get(ix, "declaration"),
					      linked ? url.buf : NULL, token ? &rate : NULL);
		html_free(&url);
		ui_search_render_state(h, name, ix, ui_jint(ans, "version"));
	}
out:
	html_lit(h, "</div>");
	json_decref(ix);
	json_decref(ans);
	json_decref(body);
	free(text);
	lh_error_clear(&err);
	return page_status;
}

/* What a Search request does (note 1). */
enum search_mode {
	SEARCH_SHOW,    /* GET without a query: the form and the index state */
	SEARCH_RUN,     /* GET without a filter, or POST with the page's token */
	SEARCH_FILL,    /* GET with a filter: fill the form, run nothing */
	SEARCH_REFUSED, /* POST without the token: 403, nothing runs */
};

static void render_form(struct http_request *req, struct html *h, const struct search_req *sr,
			const char *token, char **chosen)
{
	static const char *const modes[][2] = { { "hybrid", "hybrid: words and meaning" },
						{ "text", "text: the words" },
						{ "vector", "vector: the meaning" } };
	struct gateway *g = http_request_ctx(req);
	struct peer_call call = ui_peer_call(req);
	struct lh_error err = { 0 };
	struct manifest_summary *ds = NULL;
	size_t nds = 0, i;
	int listed = 0;

	html_printf(
		h,
		"<form id=\"search-form\" class=\"card search-form\" method=\"post\" "
		"action=\"/search\" hx-post=\"/search\" hx-target=\"#search-result\" "
		"hx-indicator=\"#searching\" role=\"search\"><input type=\"hidden\" name=\"" UI_CSRF_FIELD
		"\" value=\"%s\"><div class=\"search-row\">"
		"<label class=\"field\">Dataset <select id=\"search-dataset\" "
		"name=\"dataset\" hx-get=\"/search?part=state\" hx-trigger=\"change\" "
		"hx-target=\"#search-result\" hx-include=\"this\">",
		token);
	if (catalog_client_datasets(g->catalog, &call, &ds, &nds, &err) != 0) {
		http_request_log_detail(req, err.detail);
		nds = 0;
	}
	for (i = 0; i < nds; i++) {
		int sel = filled(sr->dataset) && !strcmp(sr->dataset, ds[i].name);
		listed |= sel;
		html_printf(h, "<option value=\"%s\"%s>%s</option>", ds[i].name,
			    sel ? " selected" : "", ds[i].name);
	}
	/* a version ("name@3", from a dataset page's ?version=) or a name the
	 * list does not hold is kept as it was asked */
	if (filled(sr->dataset) && !listed && ui_search_dataset_valid(sr->dataset))
		html_printf(h, "<option value=\"%s\" selected>%s</option>", sr->dataset,
			    sr->dataset);
	if (nds == 0 && !filled(sr->dataset))
		html_lit(h, "<option value=\"\">no dataset yet</option>");
	html_lit(h, "</select></label>");
	html_lit(h, "<label class=\"field grow\">Query <input type=\"search\" id=\"search-q\" "
		    "name=\"q\" maxlength=\"4096\" autocomplete=\"off\" "
		    "placeholder=\"forklift operator with OSHA-30\" value=\"");
	html_text(h, sr->q);
	html_lit(h, "\"></label></div><div class=\"search-row\"><label class=\"field grow\"><span>"
		    "Filter <span class=\"meta\">(SQL, optional)</span></span><input type=\"text\" "
		    "id=\"search-where\" name=\"where\" spellcheck=\"false\" autocomplete=\"off\" "
		    "placeholder=\"state = 'WI' AND years &gt;= 2\" value=\"");
	html_text(h, sr->where);
	html_lit(h, "\"></label><label class=\"field\">Mode <select id=\"search-mode\" "
		    "name=\"mode\">");
	for (i = 0; i < 3; i++)
		html_printf(h, "<option value=\"%s\"%s>%s</option>", modes[i][0],
			    filled(sr->mode) && !strcmp(sr->mode, modes[i][0]) ? " selected" : "",
			    modes[i][1]);
	html_printf(h,
		    "</select></label><label class=\"field\">Results <input type=\"number\" "
		    "id=\"search-k\" name=\"k\" min=\"1\" max=\"1000\" value=\"%s\"></label>"
		    "<div class=\"form-actions\"><button id=\"search-button\" type=\"submit\">"
		    "Search</button><span id=\"searching\" class=\"htmx-indicator meta\">"
		    "Searching\xe2\x80\xa6</span></div></div>",
		    filled(sr->k) ? sr->k : "10");
	html_printf(h, "<label class=\"field check\"><input type=\"checkbox\" id=\"search-feedback\" "
		       "name=\"feedback\" value=\"1\"%s> Learn from ratings</label>",
		    filled(sr->feedback) ? " checked" : "");
	html_lit(h, "<p class=\"hint\">The filter is a condition over the dataset's columns, "
		    "applied before ranking. A search by link runs without one. Rate results "
		    "with \xe2\x96\xb2 (good) and \xe2\x96\xbc (bad); with \"Learn from ratings\" a "
		    "search moves rows rated for similar searches.</p></form>");
	if (!filled(sr->dataset) && nds) /* the select shows the first: show its state */
		*chosen = xstrdup(ds[0].name);
	free(ds);
	lh_error_clear(&err);
}

static int search_page(struct http_request *req, const struct search_req *sr, enum search_mode mode)
{
	struct ui_page_token t;
	struct html h;
	int status = mode == SEARCH_REFUSED ? 403 : 200;
	char *chosen = NULL;
	html_init(&h, 0);
	ui_page_token(req, &t);

	if (mode != SEARCH_SHOW && mode != SEARCH_FILL && ui_is_htmx(req)) {
		/* htmx: the result area only; the address follows a search */
		if (mode == SEARCH_REFUSED)
			ui_render_error(&h, "csrf_failed", 403, NULL, NULL);
		else
			status = search_result(req, &h, sr, 1, t.tok);
		ui_send_html(req, status, &h, NULL);
		struct html url;
		html_init(&url, 0);
		if (mode == SEARCH_RUN && filled(sr->dataset) && search_url(&url, sr) == 0)
			http_response_header(req, "HX-Push-Url", url.buf);
		html_free(&url);
		return 0;
	}
	ui_page_open(&h, "Search", UI_NAV_SEARCH, &t);
	html_lit(&h, "<h1>Search</h1><p class=\"lead\">Find rows by their words and their "
		     "meaning, in any dataset with a search index, optionally filtered with "
		     "SQL.</p>");
	render_form(req, &h, sr, t.tok, &chosen);
	html_lit(&h, "<div id=\"search-result\" aria-live=\"polite\">");
	if (mode == SEARCH_REFUSED) {
		ui_render_error(&h, "csrf_failed", 403, NULL, NULL);
	} else if (mode == SEARCH_FILL) {
		html_lit(&h, "<p class=\"meta\" id=\"search-fill-hint\">The search above came with "
			     "the link and has not run, because its filter is SQL. Read it, then "
			     "press Search.</p>");
		search_result(req, &h, sr, 0, t.tok);
	} else {
		struct search_req first = *sr;
		if (chosen)
			first.dataset = chosen;
		status = search_result(req, &h, &first, mode == SEARCH_RUN, t.tok);
	}
	html_lit(&h, "</div>");
	ui_page_close(&h);
	free(chosen);
	return ui_send_html(req, status, &h, &t);
}

/* GET /search[?dataset=&q=&mode=&k=&where=][&part=state] (note 1). */
int ui_search_get_end(struct http_request *req)
{
	struct search_req sr = { http_request_query(req, "dataset"), http_request_query(req, "q"),
				 http_request_query(req, "mode"), http_request_query(req, "k"),
				 http_request_query(req, "where"), http_request_query(req, "feedback") };
	const char *part = http_request_query(req, "part");
	if (part && !strcmp(part, "state") && ui_is_htmx(req)) {
		/* the state panel asking for itself, or the dataset select (note 2) */
		struct html h;
		html_init(&h, 0);
		int status = search_result(req, &h, &sr, 0, NULL);
		return ui_send_html(req, status == 200 ? 200 : status, &h, NULL);
	}
	enum search_mode mode = filled(sr.where) ? SEARCH_FILL
				: filled(sr.q)   ? SEARCH_RUN
						 : SEARCH_SHOW;
	return search_page(req, &sr, mode);
}

/* POST /search (csrf, dataset, q, mode, k, where): runs it if the form came
 * from our page. */
int ui_search_post_end(struct http_request *req)
{
	size_t n = 0;
	const char *body = http_request_body(req, &n);
	if (!body)
		body = "";
	char *token = form_value(body, n, UI_CSRF_FIELD);
	char *dataset = form_value(body, n, "dataset");
	char *q = form_value(body, n, "q");
	char *mode = form_value(body, n, "mode");
	char *k = form_value(body, n, "k");
	char *where = form_value(body, n, "where");
	char *feedback = form_value(body, n, "feedback");
	struct search_req sr = { dataset, q ? q : "", mode, k, where, feedback };
	int rc = search_page(req, &sr, ui_csrf_ok(req, token) ? SEARCH_RUN : SEARCH_REFUSED);
	free(where);
	free(feedback);
	free(k);
	free(mode);
	free(q);
	free(dataset);
	free(token);
	return rc;
}

/* POST /search/feedback (csrf, dataset, q, id, score): one rating (note 5). */
int ui_search_feedback_post_end(struct http_request *req)
{
	size_t n = 0;
	const char *body = http_request_body(req, &n);
	struct lh_error err = { 0 };
	struct ui_page_token t;
	struct html h;
	json_t *ans = NULL;
	long status = 0;
	char *text = NULL;
	int page_status = 200;
	if (!body)
		body = "";
	char *token = form_value(body, n, UI_CSRF_FIELD);
	char *dataset = form_value(body, n, "dataset");
	char *q = form_value(body, n, "q");
	char *id = form_value(body, n, "id");
	char *score = form_value(body, n, "score");
	int htmx = ui_is_htmx(req);
	html_init(&h, 0);
	ui_page_token(req, &t);
	if (!htmx) {
		ui_page_open(&h, "Rate a result", UI_NAV_SEARCH, &t);
		html_lit(&h, "<h1>Rate a result</h1>");
	}
	if (!ui_csrf_ok(req, token)) {
		ui_render_error(&h, "csrf_failed", 403, NULL, NULL);
		page_status = 403;
		goto done;
	}
	char *end = NULL;
	double sc = score ? strtod(score, &end) : 0;
	json_t *jd = dataset ? json_string(dataset) : NULL, *jq = q ? json_string(q) : NULL;
	json_t *ji = id ? json_string(id) : NULL;
	if (!jd || !jq || !ji || !score || end == score || *end) {
		json_decref(jd);
		json_decref(jq);
		json_decref(ji);
		ui_render_error(&h, "bad_request", 400, "a rating needs the dataset, the query, the "
				"row's id and a score", NULL);
		page_status = 400;
		goto done;
	}
	json_t *req_body = json_pack("{s:o, s:o, s:o, s:f}", "dataset", jd, "query", jq, "id", ji,
				     "score", sc);
	text = json_dump_compact(req_body);
	json_decref(req_body);
	if (ui_call_service(req, GW_QUERYD, "POST", "/search/feedback", text, &status, &ans,
			    &err) != 0) {
		ui_render_lh_error(&h, &err);
		page_status = err.status;
	} else if (status != 200) {
		render_search_error(&h, status, ans);
		page_status = (int)status;
	} else {
		html_printf(&h, "<span class=\"rated\" data-score=\"%g\" role=\"status\">Rated %s",
			    sc, sc >= 0 ? "\xe2\x96\xb2" : "\xe2\x96\xbc");
		if (!htmx) {
			html_printf(&h, " \xc2\xb7 <a href=\"/search?dataset=%U&amp;q=%U&amp;"
				    "feedback=1\">back to the search</a>", dataset, q);
		}
		html_lit(&h, "</span>");
	}
done:
	if (!htmx)
		ui_page_close(&h);
	ui_send_html(req, page_status, &h, htmx ? NULL : &t);
	json_decref(ans);
	lh_error_clear(&err);
	free(text);
	free(score);
	free(id);
	free(q);
	free(dataset);
	free(token);
	return 0;
}
