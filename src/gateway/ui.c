/* ui.c — the web UI the gateway serves at "/" (SPEC 9): server-rendered HTML,
 * enhanced by htmx when JavaScript runs, complete without it for reading.
 *
 *   GET  /                       datasets, ?q= filters (htmx: the list only)
 *   GET  /datasets/<name>        schema, versions, first rows (?version=N)
 *   GET  /datasets/<name>/download?version=N&format=parquet|csv
 *   GET  /upload                 the upload form
 *   POST /upload                 multipart (csrf, name, mode, file) -> ingestd
 *   GET  /console                the SQL console; ?sql= (&chart= &x= &y=) fills
 *                                the editor only
 *   POST /console                runs the form field sql (csrf; page, chart, x, y)
 *   POST /console/download       the whole result as csv|parquet|json (csrf)
 *   GET  /static/<asset>         htmx, CSS, JS and the icon, embedded in the binary
 *   GET  /favicon.ico            the icon
 *
 * DESIGN NOTES
 *  1. The UI is a client like any other: it reads catalogd and queryd over
 *     HTTP (http_client_json) and streams uploads and downloads through the
 *     gateway's proxy (proxy_begin / proxy_begin_request), so it works the
 *     same whether the services run embedded or apart.
 *  2. Every page is built with ui_html.c's builder, which escapes every
 *     dynamic value (html_printf's %s); markup only comes from literals.
 *  3. A request with "HX-Request" gets the fragment its target needs (the
 *     dataset list, an upload result, a console result); any other request
 *     gets the whole page with the same fragment inside, so the forms work
 *     as plain HTML forms. Full pages carry the real status (404, 409, 400);
 *     htmx is configured to swap every status (the meta tag in page_open).
 *  4. Errors from the services are shown as a sentence a person understands
 *     (friendly_error) followed by the service's own message.
 *  5. No GET changes anything or runs SQL a request chose (ADR 0111): GET
 *     /console?sql= only fills the editor (a shareable link), running takes
 *     the Run button, a POST. The GETs that query at all (a dataset's
 *     preview and downloads) run the server's own SELECT over a validated
 *     name.
 *  6. Every state-changing UI request (POST /console, POST /upload) carries
 *     a CSRF token (ADR 0111, ui_csrf.c): each full page is rendered with
 *     the browser's token (page_token: the lh_csrf cookie, or a new one set
 *     with the page) in <meta name="csrf-token"> and in a hidden field of
 *     each form; csrf_ok() accepts a request whose field (or X-CSRF-Token
 *     header, which app.js adds to htmx requests) equals its cookie, and,
 *     when the browser says where it comes from, Sec-Fetch-Site is
 *     same-origin. Anything else is a 403 page in words, nothing done.
 *  7. POST /upload streams, so its token is checked before the proxy
 *     starts: from the header in begin(), or else from the body's first
 *     form part, which ui_upload_body() holds back (at most
 *     LH_UI_CSRF_HEAD_BYTES) until it has read it. The route owns the
 *     request's state slot (struct upload_gate) and lends it to proxy.c for
 *     each proxy call (gate_lend / gate_take), since proxy.c keeps its own
 *     state there.
 *  8. The console pages a result (ADR 0122): page 1 runs the statement as
 *     written with max_rows LH_UI_CONSOLE_ROWS (queryd's `truncated` says
 *     whether there is more); page n runs it as a subquery with LIMIT and
 *     OFFSET. The total is known without a second query when the page is
 *     the last; otherwise it is a count(*) over the statement, given
 *     LH_UI_COUNT_TIMEOUT_MS, and "more than N" when that fails. Pages, the
 *     chart's choice and downloads are POSTs of forms that carry the SQL
 *     that ran and the CSRF token; the address bar follows the query
 *     (HX-Push-Url), and that address only fills the editor.
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/upstream.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Generated at build time from src/gateway/ui_static/ and deps/htmx/
 * (Makefile: build/gen/ui_assets.c). */
extern const unsigned char ui_asset_htmx_min_js[];
extern const size_t ui_asset_htmx_min_js_len;
extern const unsigned char ui_asset_app_css[];
extern const size_t ui_asset_app_css_len;
extern const unsigned char ui_asset_app_js[];
extern const size_t ui_asset_app_js_len;
extern const unsigned char ui_asset_favicon_svg[];
extern const size_t ui_asset_favicon_svg_len;
extern const unsigned char ui_asset_favicon_ico[];
extern const size_t ui_asset_favicon_ico_len;

enum nav { NAV_DATASETS, NAV_UPLOAD, NAV_CONSOLE, NAV_NONE };

/* --- small formatting helpers ------------------------------------------- */

/* RFC 3339 "2026-11-21T22:45:16.578Z" -> "2026-11-21 22:45 UTC". */
static void fmt_time(char *buf, size_t n, const char *t)
{
	if (t && strlen(t) >= 16 && t[10] == 'T')
		snprintf(buf, n, "%.10s %.5s UTC", t, t + 11);
	else
		snprintf(buf, n, "%s", t ? t : "");
}

static long long jint(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v)
				  : json_is_real(v) ? (long long)json_real_value(v) : 0;
}

static const char *jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Parse a service's JSON answer; very large integers (HUGEINT) fall back to
 * doubles instead of failing. New reference or NULL. */
static json_t *parse_answer(const char *body, size_t n)
{
	json_t *v = json_loadb(body, n, 0, NULL);
	if (!v)
		v = json_loadb(body, n, JSON_DECODE_INT_AS_REAL, NULL);
	return v;
}

static int is_htmx(struct http_request *req)
{
	return http_request_header(req, "HX-Request") != NULL;
}

/* --- calling the services (note 1) ------------------------------------- */

/* method + path (already encoded) on upstream `which`, JSON body or NULL.
 * Returns 0 with *status and *out (parsed answer, may be NULL if it was not
 * JSON), or -1 with err when the service could not be reached. */
static int call_service(struct http_request *req, int which, const char *method,
			const char *path, const char *body, long *status, json_t **out,
			struct lh_error *err)
{
	struct gateway *g = http_request_ctx(req);
	const struct gateway_upstream *up = &g->up[which];
	struct http_client_response resp = { 0 };
	struct http_client_request r;
	const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json",
			       NULL };
	int rc = -1;

	*out = NULL;
	if (upstream_pool_size(up->pool) == 0) {
		lh_fail(err, 502, "upstream_unavailable", "%s is not configured", up->name);
		goto out;
	}
	/* As http_client_json, on an instance of the pool (ADR 0075). The page
	 * is the client's request: its bearer token goes upstream, like the
	 * proxy's Authorization header (ADR 0090). */
	const char *auth = http_request_header(req, "Authorization");
	http_client_request_init(&r);
	r.method = method;
	r.request_id = http_request_id(req);
	r.bearer_token = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
	r.headers = hdrs;
	if (body) {
		r.body = body;
		r.body_len = strlen(body);
	}
	if (upstream_pool_do(up->pool, path, &r, &resp, NULL, err) != 0) {
		lh_error_clear(err);
		lh_fail(err, 502, "upstream_unavailable", "%s is not reachable", up->name);
		goto out;
	}
	*status = resp.status;
	*out = parse_answer(resp.body ? resp.body : "", resp.body_len);
	rc = 0;
out:
	http_client_response_free(&resp);
	return rc;
}

/* A queryd query as JSON (format json, at most max_rows rows, within
 * timeout_ms or queryd's own limit when 0). */
static int run_query(struct http_request *req, const char *sql, long max_rows, long timeout_ms,
		     long *status, json_t **out, struct lh_error *err)
{
	json_t *q = json_object();
	json_object_set_new(q, "sql", json_string(sql));
	json_object_set_new(q, "format", json_string("json"));
	json_object_set_new(q, "max_rows", json_integer(max_rows));
	if (timeout_ms > 0)
		json_object_set_new(q, "timeout_ms", json_integer(timeout_ms));
	char *text = json_dump_compact(q);
	int rc = call_service(req, GW_QUERYD, "POST", "/query", text, status, out, err);
	free(text);
	json_decref(q);
	return rc;
}

/* --- errors in words (note 4) ------------------------------------------- */

static const char *friendly_error(const char *code, int status)
{
	static const struct {
		const char *code, *text;
	} map[] = {
		{ "sql_error", "The query could not run. The database says:" },
		{ "bad_query", "The query could not be understood." },
		{ "forbidden_statement",
		  "Only read-only queries are allowed here: SELECT, WITH, VALUES, DESCRIBE, "
		  "SUMMARIZE, EXPLAIN or SHOW." },
		{ "query_timeout", "The query took too long and was stopped. Try a narrower query "
				   "or add a LIMIT." },
		{ "unknown_dataset", "There is no dataset by that name." },
		{ "unknown_version", "That version of the dataset does not exist." },
		{ "not_found", "That dataset or version does not exist." },
		{ "bad_csv", "The file is not a CSV the lakehouse can read." },
		{ "bad_name", "That is not a valid dataset name: use letters, digits and "
			      "underscores, starting with a letter or underscore (at most 64)." },
		{ "bad_mode", "The mode must be replace or append." },
		{ "bad_multipart", "The upload did not arrive as a complete form. Try again." },
		{ "too_large", "The file is larger than the server accepts." },
		{ "unsupported_media_type", "Send the file as a CSV." },
		{ "schema_drift", "The columns of this file differ from the dataset's latest "
				  "version, so nothing was changed." },
		{ "upstream_unavailable", "A part of the lakehouse is not reachable right now. "
					  "Try again in a moment." },
		{ "upstream_timeout", "A part of the lakehouse did not answer in time." },
		{ "busy", "The server is busy. Try again in a moment." },
		{ "shutting_down", "The server is shutting down." },
		{ "csrf_failed", "This form has expired or came from another site; reload the "
				 "page and try again." },
	};
	for (size_t i = 0; code && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(code, map[i].code))
			return map[i].text;
	if (status >= 500)
		return "Something went wrong on the server.";
	return "The request was refused.";
}

/* An alert box for a service's error answer (or a transport error). */
static void render_error(struct html *h, const char *code, int status, const char *detail,
			 const json_t *answer)
{
	html_printf(h, "<div class=\"alert alert-error\" role=\"alert\" data-code=\"%s\">"
		       "<p class=\"alert-title\">%s</p>",
		    code ? code : "", friendly_error(code, status));
	if (detail && *detail)
		html_printf(h, "<pre class=\"alert-detail\">%s</pre>", detail);
	long long line = jint(answer, "line");
	if (line > 0)
		html_printf(h, "<p>At line %lld of the file.</p>", line);
	html_lit(h, "</div>");
}

static void render_error_answer(struct html *h, long status, const json_t *answer)
{
	const char *msg = jstr(answer, "error");
	if (!msg)
		msg = "the service gave no explanation";
	render_error(h, jstr(answer, "code"), (int)status, msg, answer);
}

static void render_lh_error(struct html *h, const struct lh_error *err)
{
	render_error(h, err->code, err->status, err->msg, NULL);
}

/* --- layout --------------------------------------------------------------- */

/* The CSRF token a page is rendered with (note 6). */
struct page_token {
	char tok[UI_CSRF_TOKEN_HEX + 1];   /* "" when none could be made */
	int fresh;                         /* new: send_html sets the cookie */
};

/* The browser's token (its lh_csrf cookie), or a new one. */
static void page_token(struct http_request *req, struct page_token *t)
{
	if (ui_cookie_get(http_request_header(req, "Cookie"), UI_CSRF_COOKIE, t->tok,
			  sizeof t->tok) == 1 && ui_csrf_token_valid(t->tok)) {
		t->fresh = 0;
		return;
	}
	t->fresh = ui_csrf_token_new(t->tok) == 0;
	if (!t->fresh)
		log_event("error", "gateway", "no randomness for a CSRF token: the page's "
					      "forms will be refused");
}

/* The first half of csrf_ok(): the request may come from one of our pages
 * (Sec-Fetch-Site, when sent, says same-origin, or none: the user's own
 * action) and carries one token cookie, copied to `cookie`. */
static int csrf_cookie(struct http_request *req, char cookie[UI_CSRF_TOKEN_HEX + 1])
{
	const char *site = http_request_header(req, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return 0;
	return ui_cookie_get(http_request_header(req, "Cookie"), UI_CSRF_COOKIE, cookie,
			     UI_CSRF_TOKEN_HEX + 1) == 1 &&
	       ui_csrf_token_valid(cookie);
}

/* Whether a state-changing UI request may go on (note 6). `field` is the
 * token the form sent (NULL = none); an X-CSRF-Token header counts instead. */
static int csrf_ok(struct http_request *req, const char *field)
{
	char cookie[UI_CSRF_TOKEN_HEX + 1];
	if (!csrf_cookie(req, cookie))
		return 0;
	const char *header = http_request_header(req, UI_CSRF_HEADER);
	return ui_csrf_token_equal(cookie, header ? header : field);
}

static void page_open(struct html *h, const char *title, enum nav nav,
		      const struct page_token *t)
{
	static const struct {
		const char *href, *label;
	} links[] = { { "/", "Datasets" }, { "/upload", "Upload" }, { "/console", "SQL console" } };
	html_printf(h, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<title>%s \xc2\xb7 Lakehouse</title>\n",
		    title);
	html_lit(h, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<meta name=\"htmx-config\" content='{\"responseHandling\":[{\"code\":\"204\","
		    "\"swap\":false},{\"code\":\"...\",\"swap\":true}],\"allowEval\":false,"
		    "\"selfRequestsOnly\":true}'>\n");
	if (t)
		html_printf(h, "<meta name=\"csrf-token\" content=\"%s\">\n", t->tok);
	html_lit(h, "<meta name=\"color-scheme\" content=\"light dark\">\n"
		    "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">\n"
		    "<link rel=\"stylesheet\" href=\"/static/app.css\">\n"
		    "<script src=\"/static/htmx.min.js\" defer></script>\n"
		    "<script src=\"/static/app.js\" defer></script>\n"
		    "</head>\n<body>\n<header class=\"top\"><div class=\"top-inner\">"
		    "<a class=\"brand\" href=\"/\"><span class=\"logo\" aria-hidden=\"true\">"
		    "&#9698;</span> Lakehouse</a><nav>");
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		html_printf(h, "<a href=\"%s\"", links[i].href);
		if ((int)i == (int)nav)
			html_lit(h, " class=\"active\" aria-current=\"page\"");
		html_printf(h, ">%s</a>", links[i].label);
	}
	html_lit(h, "</nav></div></header>\n<main>\n");
}

static void page_close(struct html *h)
{
	html_lit(h, "</main>\n<footer>Lakehouse \xc2\xb7 <a href=\"/health\">health</a> \xc2\xb7 "
		    "<a href=\"/metrics\">metrics</a> \xc2\xb7 JSON API under <a "
		    "href=\"/v1/catalog/datasets\"><code>/v1/</code></a>"
		    "</footer>\n</body>\n</html>\n");
}

/* Send h as text/html with `status`; a page over the cap is a 500. A page
 * rendered with a new token `t` (NULL = none) sets the cookie that goes with
 * it: HttpOnly (no script reads it), SameSite=Strict (no other site's
 * request carries it); Secure is impossible on plain http. */
static int send_html(struct http_request *req, int status, struct html *h,
		     const struct page_token *t)
{
	if (h->overflow) {
		http_respond_fail(req, 500, "page_too_large",
				  "the page is larger than %u bytes", LH_UI_MAX_PAGE_BYTES);
	} else {
		http_respond_bytes(req, status, "text/html; charset=utf-8", h->buf, h->len);
		http_response_header(req, "Cache-Control", "no-store");
		http_response_header(req, "X-Content-Type-Options", "nosniff");
		http_response_header(req, "Content-Security-Policy",
				     "default-src 'self'; img-src 'self' data:; "
				     "style-src 'self' 'unsafe-inline'; object-src 'none'; "
				     "base-uri 'none'; frame-ancestors 'none'");
		if (t && t->fresh) {
			char cookie[UI_CSRF_TOKEN_HEX + 64];
			snprintf(cookie, sizeof cookie,
				 "%s=%s; Path=/; HttpOnly; SameSite=Strict", UI_CSRF_COOKIE,
				 t->tok);
			http_response_header(req, "Set-Cookie", cookie);
		}
	}
	html_free(h);
	return 0;
}

/* A whole page holding only an error (unknown dataset, service down). */
static int send_error_page(struct http_request *req, int status, const char *title,
			   const char *code, const char *detail, const json_t *answer)
{
	struct page_token t;
	struct html h;
	page_token(req, &t);
	html_init(&h, 0);
	page_open(&h, title, NAV_NONE, &t);
	html_printf(&h, "<h1>%s</h1>", title);
	render_error(&h, code, status, detail, answer);
	html_lit(&h, "<p><a href=\"/\">Back to the datasets</a></p>");
	page_close(&h);
	return send_html(req, status, &h, &t);
}

/* --- a query result as a table ------------------------------------------ */

static void render_cell(struct html *h, const json_t *v)
{
	if (json_is_null(v) || !v) {
		html_lit(h, "<td class=\"null\">NULL</td>");
	} else if (json_is_string(v)) {
		/* one line per row (app.css): a long value ends in an ellipsis and
		 * shows whole on hover */
		const char *text = json_string_value(v);
		if (strlen(text) > LH_UI_CELL_TITLE_BYTES) {
			html_lit(h, "<td title=\"");
			html_text_cut(h, text, LH_UI_CELL_BYTES);
			html_lit(h, "\">");
		} else {
			html_lit(h, "<td>");
		}
		html_text_cut(h, text, LH_UI_CELL_BYTES);
		html_lit(h, "</td>");
	} else if (json_is_integer(v)) {
		html_printf(h, "<td class=\"num\">%lld</td>", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		html_printf(h, "<td class=\"num\">%.15g</td>", json_real_value(v));
	} else if (json_is_boolean(v)) {
		html_printf(h, "<td class=\"bool\">%s</td>", json_is_true(v) ? "true" : "false");
	} else {
		char *s = json_dump_compact(v);
		html_lit(h, "<td>");
		html_text_cut(h, s, LH_UI_CELL_BYTES);
		html_lit(h, "</td>");
		free(s);
	}
}

static void render_result_table(struct html *h, const json_t *result, const char *id)
{
	const json_t *cols = json_object_get(result, "columns");
	const json_t *rows = json_object_get(result, "rows");
	html_printf(h, "<div class=\"table-wrap\"><table class=\"data\" id=\"%s\"><thead><tr>", id);
	for (size_t i = 0; i < json_array_size(cols); i++) {
		const json_t *c = json_array_get(cols, i);
		html_lit(h, ui_type_is_numeric(jstr(c, "type")) ? "<th scope=\"col\" class=\"num\">"
								 : "<th scope=\"col\">");
		html_printf(h, "%s<span class=\"type\">%s</span></th>", jstr(c, "name"),
			    jstr(c, "type"));
	}
	html_lit(h, "</tr></thead><tbody>");
	for (size_t r = 0; r < json_array_size(rows); r++) {
		const json_t *row = json_array_get(rows, r);
		html_lit(h, "<tr>");
		for (size_t i = 0; i < json_array_size(cols); i++)
			render_cell(h, json_array_get(row, i));
		html_lit(h, "</tr>");
	}
	if (json_array_size(rows) == 0)
		html_printf(h, "<tr><td class=\"empty\" colspan=\"%zu\">No rows.</td></tr>",
			    json_array_size(cols) ? json_array_size(cols) : 1);
	html_lit(h, "</tbody></table></div>");
}

/* --- datasets page ------------------------------------------------------ */

static void render_dataset_list(struct html *h, const json_t *datasets, const char *q)
{
	struct html body;
	size_t shown = 0;
	html_init(&body, 0);
	size_t mark = h->len;
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list\" id=\"datasets\"><thead><tr>"
		    "<th scope=\"col\">Dataset</th><th scope=\"col\" class=\"num\">Version</th>"
		    "<th scope=\"col\" class=\"num\">Rows</th><th scope=\"col\" class=\"num\">Size"
		    "</th><th scope=\"col\">Last update</th></tr></thead><tbody>");
	for (size_t i = 0; i < json_array_size(datasets); i++) {
		const json_t *d = json_array_get(datasets, i);
		const char *name = jstr(d, "name");
		if (!name || (q && *q && !strcasestr(name, q)))
			continue;
		char rows[32], size[32], when[48];
		ui_fmt_count(rows, sizeof rows, jint(d, "row_count"));
		ui_fmt_bytes(size, sizeof size, (unsigned long long)jint(d, "size_bytes"));
		fmt_time(when, sizeof when, jstr(d, "updated_at"));
		html_printf(&body, "<tr><td><a class=\"dataset-link\" href=\"/datasets/%U\">%s</a></td>"
			       "<td class=\"num\">v%lld</td><td class=\"num\">%s</td>"
			       "<td class=\"num\">%s</td><td>%s</td></tr>",
			    name, name, jint(d, "version"), rows, size, when);
		shown++;
	}
	if (shown) {
		html_append(h, &body);
		html_lit(h, "</tbody></table></div>");
	} else {
		h->len = mark;   /* no rows: no empty table, only the sentence below */
		h->buf[h->len] = '\0';
	}
	html_free(&body);
	if (shown == 0 && q && *q) {
		html_printf(h, "<p class=\"empty\">No dataset name contains \xe2\x80\x9c%s\xe2\x80\x9d."
			       "</p>",
			    q);
	} else if (shown == 0) {
		html_lit(h, "<p class=\"empty\">No datasets yet. <a href=\"/upload\">Upload a "
			    "CSV</a> to create the first one.</p>");
	} else {
		char a[32], b[32];
		ui_fmt_count(a, sizeof a, (long long)shown);
		ui_fmt_count(b, sizeof b, (long long)json_array_size(datasets));
		html_printf(h, "<p class=\"meta\">%s of %s datasets</p>", a, b);
	}
}

static int datasets_page(struct http_request *req)
{
	struct page_token t = { "", 0 };
	struct lh_error err = { 0 };
	struct html h;
	json_t *answer = NULL;
	long status = 0;
	const char *q = http_request_query(req, "q");

	html_init(&h, 0);
	int rc = call_service(req, GW_CATALOGD, "GET", "/catalog/datasets", NULL, &status,
			      &answer, &err);
	int ok = rc == 0 && status == 200 && json_is_array(json_object_get(answer, "datasets"));
	if (is_htmx(req)) {
		if (ok)
			render_dataset_list(&h, json_object_get(answer, "datasets"), q);
		else if (rc)
			render_lh_error(&h, &err);
		else
			render_error_answer(&h, status, answer);
		goto send;
	}
	page_token(req, &t);
	page_open(&h, "Datasets", NAV_DATASETS, &t);
	html_lit(&h, "<div class=\"page-head\"><h1>Datasets</h1>"
		     "<a class=\"button\" href=\"/upload\">Upload a CSV</a></div>");
	html_printf(&h, "<form class=\"search\" method=\"get\" action=\"/\" role=\"search\">"
			"<label for=\"q\" class=\"visually-hidden\">Filter datasets</label>"
			"<input type=\"search\" id=\"q\" name=\"q\" value=\"%s\" "
			"placeholder=\"Filter datasets by name\" autocomplete=\"off\" "
			"hx-get=\"/\" hx-trigger=\"input changed delay:150ms, search\" "
			"hx-target=\"#dataset-list\">"
			"<button type=\"submit\" class=\"secondary\">Filter</button></form>",
		    q ? q : "");
	html_lit(&h, "<div id=\"dataset-list\">");
	if (ok)
		render_dataset_list(&h, json_object_get(answer, "datasets"), q);
	else if (rc)
		render_lh_error(&h, &err);
	else
		render_error_answer(&h, status, answer);
	html_lit(&h, "</div>");
	page_close(&h);
send:
	json_decref(answer);
	lh_error_clear(&err);
	return send_html(req, ok ? 200 : 502, &h, is_htmx(req) ? NULL : &t);
}

/* --- dataset page --------------------------------------------------------- */

static void render_schema(struct html *h, const json_t *schema)
{
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list schema\" id=\"schema\"><thead>"
		    "<tr><th scope=\"col\">"
		    "Column</th><th scope=\"col\">Type</th><th scope=\"col\">Nullable</th></tr>"
		    "</thead><tbody>");
	for (size_t i = 0; i < json_array_size(schema); i++) {
		const json_t *c = json_array_get(schema, i);
		html_printf(h, "<tr><td class=\"colname\">%s</td><td><code>%s</code></td>"
			       "<td>%s</td></tr>",
			    jstr(c, "name"), jstr(c, "type"),
			    json_is_true(json_object_get(c, "nullable")) ? "yes" : "no");
	}
	html_lit(h, "</tbody></table></div>");
}

static void render_versions(struct html *h, const char *name, const json_t *versions,
			    long long current)
{
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list\" id=\"versions\"><thead><tr>"
		    "<th scope=\"col\">Version"
		    "</th><th scope=\"col\">Time</th><th scope=\"col\" class=\"num\">Rows</th>"
		    "<th scope=\"col\">Mode</th></tr></thead><tbody>");
	for (size_t i = json_array_size(versions); i-- > 0;) {
		const json_t *v = json_array_get(versions, i);
		long long n = jint(v, "version");
		char rows[32], when[48];
		ui_fmt_count(rows, sizeof rows, jint(v, "row_count"));
		fmt_time(when, sizeof when, jstr(v, "created_at"));
		html_lit(h, n == current ? "<tr class=\"current\">" : "<tr>");
		html_printf(h, "<td><a href=\"/datasets/%U?version=%lld\">v%lld</a>", name, n, n);
		if (n == current)
			html_lit(h, " <span class=\"badge\">shown</span>");
		html_printf(h, "</td><td>%s</td><td class=\"num\">%s</td><td>%s</td></tr>", when,
			    rows, jstr(v, "mode") ? jstr(v, "mode") : "");
	}
	html_lit(h, "</tbody></table></div>");
}

static int dataset_page(struct http_request *req, const char *name)
{
	struct lh_error err = { 0 };
	json_t *manifest = NULL, *versions = NULL, *preview = NULL;
	long st_m = 0, st_v = 0, st_p = 0;
	char *path = NULL, *sql = NULL, *console_sql = NULL;
	struct page_token t;
	struct html h;
	int status = 200;
	const char *vq = http_request_query(req, "version");
	long long want = 0;

	html_init(&h, 0);
	if (vq) {
		char *end;
		want = strtoll(vq, &end, 10);
		if (*vq < '0' || *vq > '9' || *end || want < 1) {
			html_free(&h);
			return send_error_page(req, 400, "Bad version", "bad_request",
					       "the version must be a positive number", NULL);
		}
	}
	path = want ? xasprintf("/catalog/manifest/%s?version=%lld", name, want)
		    : xasprintf("/catalog/manifest/%s", name);
	if (call_service(req, GW_CATALOGD, "GET", path, NULL, &st_m, &manifest, &err) != 0) {
		html_free(&h);
		status = send_error_page(req, 502, name, err.code, err.msg, NULL);
		goto out;
	}
	if (st_m != 200) {
		html_free(&h);
		status = send_error_page(req, st_m == 404 ? 404 : 502, name,
					 jstr(manifest, "code"), jstr(manifest, "error"), manifest);
		goto out;
	}
	free(path);
	path = xasprintf("/catalog/versions/%s", name);
	if (call_service(req, GW_CATALOGD, "GET", path, NULL, &st_v, &versions, &err) != 0)
		lh_error_clear(&err);
	long long version = jint(manifest, "version");
	sql = xasprintf("SELECT * FROM \"%s@%lld\"", name, version);
	int prc = run_query(req, sql, LH_UI_PREVIEW_ROWS, 0, &st_p, &preview, &err);

	const json_t *vlist = json_object_get(versions, "versions");
	long long latest = 0;
	for (size_t i = 0; i < json_array_size(vlist); i++)
		if (jint(json_array_get(vlist, i), "version") > latest)
			latest = jint(json_array_get(vlist, i), "version");
	const json_t *schema = json_object_get(manifest, "schema");
	char rows[32], size[32], when[48];
	ui_fmt_count(rows, sizeof rows, jint(manifest, "row_count"));
	ui_fmt_bytes(size, sizeof size, (unsigned long long)jint(manifest, "size_bytes"));
	fmt_time(when, sizeof when, jstr(manifest, "updated_at"));

	/* the Query button asks for the version shown when the address names
	 * one (?version=N), the latest otherwise */
	console_sql = want ? xasprintf("SELECT * FROM \"%s@%lld\" LIMIT 100", name, version)
			   : xasprintf("SELECT * FROM %s LIMIT 100", name);
	page_token(req, &t);
	page_open(&h, name, NAV_DATASETS, &t);
	html_printf(&h, "<p class=\"crumbs\"><a href=\"/\">Datasets</a> / %s</p>"
			"<div class=\"page-head\"><h1 id=\"dataset-name\">%s</h1><div class=\"actions\">"
			"<a class=\"button\" href=\"/datasets/%U/download?version=%lld&amp;"
			"format=parquet\" download>Download Parquet</a>"
			"<a class=\"button secondary\" href=\"/datasets/%U/download?version=%lld&amp;"
			"format=csv\" download>Download CSV</a>"
			"<a class=\"button secondary\" href=\"/console?sql=%U\">Query</a>"
			"<a class=\"button secondary\" href=\"/upload?name=%U\">Upload new version</a>"
			"</div></div>",
		    name, name, name, version, name, version, console_sql, name);
	html_printf(&h, "<p class=\"summary\">Version <strong>%lld</strong>%s \xc2\xb7 "
			"<strong>%s</strong> rows \xc2\xb7 %zu columns \xc2\xb7 %s Parquet "
			"\xc2\xb7 updated %s</p>",
		    version, latest && version != latest ? " (not the latest)" : " (latest)", rows,
		    json_array_size(schema), size, when);
	html_lit(&h, "<div class=\"cols\"><section class=\"card\"><h2>Schema</h2>");
	render_schema(&h, schema);
	html_lit(&h, "</section><section class=\"card\"><h2>Versions</h2>");
	if (json_is_array(vlist))
		render_versions(&h, name, vlist, version);
	else
		html_lit(&h, "<p class=\"empty\">The version history is not available.</p>");
	html_lit(&h, "</section></div>");
	html_printf(&h, "<section class=\"card\"><h2>First rows of version %lld</h2>", version);
	if (prc != 0) {
		render_lh_error(&h, &err);
	} else if (st_p != 200) {
		render_error_answer(&h, st_p, preview);
	} else {
		char shown[32];
		ui_fmt_count(shown, sizeof shown, (long long)json_array_size(json_object_get(preview,
											  "rows")));
		html_printf(&h, "<p class=\"meta\">%s of %s rows</p>", shown, rows);
		render_result_table(&h, preview, "preview");
	}
	html_lit(&h, "</section>");
	page_close(&h);
	status = send_html(req, 200, &h, &t);
out:
	json_decref(manifest);
	json_decref(versions);
	json_decref(preview);
	lh_error_clear(&err);
	free(path);
	free(sql);
	free(console_sql);
	return status < 0 ? -1 : 0;
}

/* /datasets/<name>[/download]: split and validate the rest of the path.
 * Returns 1 for a download, 0 for the page, -1 with a response set. */
static int dataset_route(struct http_request *req, char *name, size_t n)
{
	const char *rest = http_request_path_rest(req);
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
	int download = slash && !strcmp(slash, "/download");
	if (len >= n || (slash && !download)) {
		send_error_page(req, 404, "Not found", "not_found", "no such page", NULL);
		return -1;
	}
	memcpy(name, rest, len);
	name[len] = '\0';
	if (!dataset_name_valid(name)) {
		send_error_page(req, 404, "Not found", "bad_name", "no dataset has that name",
				NULL);
		return -1;
	}
	return download;
}

int ui_dataset_begin(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	char name[80];
	int kind = dataset_route(req, name, sizeof name);
	if (kind != 1)
		return 0;
	const char *fmt = http_request_query(req, "format");
	const char *vq = http_request_query(req, "version");
	if (!fmt)
		fmt = "parquet";
	if (strcmp(fmt, "parquet") && strcmp(fmt, "csv")) {
		http_respond_fail(req, 400, "bad_request", "format must be parquet or csv");
		return 0;
	}
	char *end = NULL;
	long long v = vq ? strtoll(vq, &end, 10) : 0;
	if (vq && (*vq < '0' || *vq > '9' || *end || v < 1)) {
		http_respond_fail(req, 400, "bad_request", "version must be a positive number");
		return 0;
	}
	char *sql = v ? xasprintf("SELECT * FROM \"%s@%lld\"", name, v)
		      : xasprintf("SELECT * FROM \"%s\"", name);
	json_t *q = json_object();
	json_object_set_new(q, "sql", json_string(sql));
	json_object_set_new(q, "format", json_string(fmt));
	char *body = json_dump_compact(q);
	proxy_begin_request(req, &g->up[GW_QUERYD], g->timeout_ms, "POST", "/query", body,
			    strlen(body), "application/json");
	free(body);
	free(sql);
	json_decref(q);
	return 0;
}

int ui_dataset_end(struct http_request *req)
{
	char name[80];
	if (http_request_responded(req))
		return 0;
	if (http_request_state(req)) {   /* a download */
		if (dataset_route(req, name, sizeof name) < 0)
			return 0;
		proxy_end(req);
		if (proxy_status(req) == 200) {
			const char *fmt = http_request_query(req, "format");
			const char *vq = http_request_query(req, "version");
			char cd[200];
			snprintf(cd, sizeof cd, "attachment; filename=\"%s%s%s.%s\"", name,
				 vq ? "-v" : "", vq ? vq : "", fmt ? fmt : "parquet");
			http_response_header(req, "Content-Disposition", cd);
		}
		return 0;
	}
	if (dataset_route(req, name, sizeof name) != 0)
		return 0;
	return dataset_page(req, name);
}

/* --- upload --------------------------------------------------------------- */

/* The token field comes first: the gateway reads it from the body's first
 * part (note 7). */
static void render_upload_form(struct html *h, const char *name, const struct page_token *t)
{
	html_printf(h, "<form id=\"upload-form\" class=\"card form\" method=\"post\" "
		       "action=\"/upload\" enctype=\"multipart/form-data\" hx-post=\"/upload\" "
		       "hx-encoding=\"multipart/form-data\" hx-target=\"#upload-result\" "
		       "hx-disabled-elt=\"#upload-button\">"
		       "<input type=\"hidden\" name=\"" UI_CSRF_FIELD "\" value=\"%s\">"
		       "<label for=\"name\">Dataset name</label>"
		       "<input id=\"name\" name=\"name\" required value=\"%s\" "
		       "pattern=\"[A-Za-z_][A-Za-z0-9_]{0,63}\" placeholder=\"candidates\" "
		       "autocomplete=\"off\">"
		       "<p class=\"hint\">Letters, digits and underscores; it becomes the table "
		       "name in SQL.</p>",
		    t->tok, name ? name : "");
	html_lit(h, "<label for=\"file\">CSV file</label>"
		    "<input id=\"file\" name=\"file\" type=\"file\" accept=\".csv,text/csv\" required>"
		    "<fieldset class=\"mode\"><legend>Mode</legend>"
		    "<label><input type=\"radio\" name=\"mode\" value=\"replace\" checked> Replace"
		    " <span class=\"hint\">the file becomes the new content</span></label>"
		    "<label><input type=\"radio\" name=\"mode\" value=\"append\"> Append"
		    " <span class=\"hint\">add its rows to the latest version</span></label>"
		    "</fieldset>"
		    "<div class=\"form-actions\"><button id=\"upload-button\" type=\"submit\">Upload"
		    "</button><progress id=\"upload-progress\" max=\"100\" value=\"0\" hidden>"
		    "</progress><span id=\"upload-percent\" class=\"meta\"></span></div></form>");
}

/* Side by side: the live schema and the file's, the differing columns marked
 * with a class and a word (never colour alone). */
static void render_drift(struct html *h, const json_t *a)
{
	const json_t *diff = json_object_get(a, "diff");
	const json_t *sides[2] = { json_object_get(a, "existing_schema"),
				   json_object_get(a, "new_schema") };
	static const char *const titles[2] = { "Current schema", "Schema of this file" };
	static const char *const ids[2] = { "schema-existing", "schema-new" };
	html_lit(h, "<div class=\"drift\">");
	for (int s = 0; s < 2; s++) {
		html_printf(h, "<section class=\"card\"><h3>%s</h3><table class=\"list schema\" "
			       "id=\"%s\"><thead><tr><th scope=\"col\">Column</th><th scope=\"col\">"
			       "Type</th><th scope=\"col\">Change</th></tr></thead><tbody>",
			    titles[s], ids[s]);
		for (size_t i = 0; i < json_array_size(sides[s]); i++) {
			const json_t *c = json_array_get(sides[s], i);
			const char *cname = jstr(c, "name");
			const char *change = NULL;
			for (size_t k = 0; k < json_array_size(diff); k++) {
				const json_t *d = json_array_get(diff, k);
				const char *ch = jstr(d, "change");
				if (!cname || !ch || !jstr(d, "column") ||
				    strcmp(jstr(d, "column"), cname))
					continue;
				if ((s == 0 && !strcmp(ch, "added")) ||
				    (s == 1 && !strcmp(ch, "removed")))
					continue;
				change = ch;
			}
			const char *word = !change ? "" : !strcmp(change, "type_changed")
								  ? "type changed"
								  : change;
			if (change)
				html_printf(h, "<tr class=\"changed change-%s\">", change);
			else
				html_lit(h, "<tr>");
			html_printf(h, "<td class=\"colname\">%s</td><td><code>%s</code></td><td>",
				    cname, jstr(c, "type"));
			if (change)
				html_printf(h, "<span class=\"marker\">\xe2\x9a\xa0 %s</span>", word);
			html_lit(h, "</td></tr>");
		}
		html_lit(h, "</tbody></table></section>");
	}
	html_lit(h, "</div><ul class=\"diff-list\">");
	for (size_t k = 0; k < json_array_size(diff); k++) {
		const json_t *d = json_array_get(diff, k);
		const char *ch = jstr(d, "change"), *col = jstr(d, "column");
		if (!ch)
			continue;
		if (!strcmp(ch, "added"))
			html_printf(h, "<li>Column <strong>%s</strong> is new in this file (%s).</li>",
				    col, jstr(d, "new_type"));
		else if (!strcmp(ch, "removed"))
			html_printf(h, "<li>Column <strong>%s</strong> (%s) is missing from this "
				       "file.</li>",
				    col, jstr(d, "old_type"));
		else if (!strcmp(ch, "type_changed"))
			html_printf(h, "<li>Column <strong>%s</strong> changed type from %s to %s."
				       "</li>",
				    col, jstr(d, "old_type"), jstr(d, "new_type"));
		else
			html_printf(h, "<li>Column <strong>%s</strong> moved to another position.</li>",
				    col);
	}
	html_lit(h, "</ul><p class=\"hint\">The dataset was left as it was. Upload the file "
		    "under another name to keep both, or fix the export so its columns match.</p>");
}

/* The HTML of an ingest answer; returns the status for a full page. */
static int render_upload_result(struct html *h, long status, const json_t *a)
{
	const json_t *m = json_object_get(a, "manifest");
	if (status == 200 && m) {
		const char *name = jstr(m, "name");
		char rows[32], total[32];
		ui_fmt_count(rows, sizeof rows, jint(a, "row_count"));
		ui_fmt_count(total, sizeof total, jint(m, "row_count"));
		size_t ncols = json_array_size(json_object_get(m, "schema"));
		if (json_is_true(json_object_get(a, "existing")))
			html_printf(h, "<div class=\"alert alert-info\" role=\"status\" "
				       "id=\"upload-outcome\" data-outcome=\"unchanged\"><p class=\""
				       "alert-title\">Unchanged: this file is already version %lld of "
				       "<a href=\"/datasets/%U\">%s</a>.</p><p>%s rows, %zu columns. "
				       "Nothing new was written.</p></div>",
				    jint(m, "version"), name, name, rows, ncols);
		else
			html_printf(h, "<div class=\"alert alert-ok\" role=\"status\" "
				       "id=\"upload-outcome\" data-outcome=\"new_version\"><p class=\""
				       "alert-title\">Uploaded: <a href=\"/datasets/%U\">%s</a> is now "
				       "at version %lld.</p><p>This file has %s rows and %zu columns; "
				       "the dataset holds %s rows (%s).</p></div>",
				    name, name, jint(m, "version"), rows, ncols, total,
				    jstr(m, "mode") ? jstr(m, "mode") : "");
		return 200;
	}
	if (status == 409 && !strcmp(jstr(a, "code") ? jstr(a, "code") : "", "schema_drift")) {
		html_lit(h, "<div class=\"alert alert-error\" role=\"alert\" id=\"upload-outcome\" "
			    "data-outcome=\"schema_drift\">");
		html_printf(h, "<p class=\"alert-title\">%s</p><p>%s</p></div>",
			    friendly_error("schema_drift", 409), jstr(a, "error"));
		render_drift(h, a);
		return 409;
	}
	render_error_answer(h, status, a);
	return status >= 400 && status < 600 ? (int)status : 502;
}

/* The upload page: the form, and `result` (NULL = empty) below it. */
static int upload_page(struct http_request *req, int status, const char *name,
		       struct html *result)
{
	struct page_token t;
	struct html h;
	page_token(req, &t);
	html_init(&h, 0);
	page_open(&h, "Upload", NAV_UPLOAD, &t);
	html_lit(&h, "<h1>Upload a CSV</h1><p class=\"lead\">The schema is inferred from every "
		    "row. Uploading the same file twice changes nothing; a file whose columns "
		    "differ from the dataset's is refused and the difference is shown.</p>");
	render_upload_form(&h, name, &t);
	html_lit(&h, "<div id=\"upload-result\" aria-live=\"polite\">");
	if (result)
		html_append(&h, result);
	html_lit(&h, "</div>");
	page_close(&h);
	return send_html(req, status, &h, &t);
}

/* 403 for an upload without its page's token (note 6): nothing is sent to
 * ingestd. */
static int upload_refuse(struct http_request *req)
{
	struct html frag;
	html_init(&frag, 0);
	render_error(&frag, "csrf_failed", 403, NULL, NULL);
	if (is_htmx(req))
		return send_html(req, 403, &frag, NULL);
	int rc = upload_page(req, 403, NULL, &frag);
	html_free(&frag);
	return rc;
}

/* POST /upload's state until the proxy has started, and the proxy's state
 * after (note 7). */
struct upload_gate {
	void *proxy;       /* proxy.c's request state, NULL until started */
	int started;       /* the token was checked and proxy_begin() called */
	size_t len;        /* bytes held in head */
	char head[LH_UI_CSRF_HEAD_BYTES];
};

/* Give proxy.c its state for one call; gate_take() takes the slot back. */
static struct upload_gate *gate_lend(struct http_request *req)
{
	struct upload_gate *g = http_request_state(req);
	http_request_set_state(req, g->proxy);
	return g;
}

static void gate_take(struct http_request *req, struct upload_gate *g)
{
	g->proxy = http_request_state(req);
	http_request_set_state(req, g);
}

/* Start the proxy to ingestd (the token was right). */
static int gate_start(struct http_request *req, struct upload_gate *ug)
{
	struct gateway *gw = http_request_ctx(req);
	http_request_set_state(req, NULL);
	int rc = proxy_begin(req, &gw->up[GW_INGESTD], gw->timeout_ms);
	gate_take(req, ug);
	ug->started = 1;
	return rc;
}

/* Forward n bytes of body through the started proxy. */
static int gate_forward(struct http_request *req, const char *data, size_t n)
{
	struct upload_gate *g = gate_lend(req);
	int rc = proxy_body(req, data, n);
	gate_take(req, g);
	return rc;
}

int ui_upload_begin(struct http_request *req)
{
	const char *ct = http_request_header(req, "Content-Type");
	if (!ct || strncasecmp(ct, "multipart/form-data", 19)) {
		http_respond_fail(req, 415, "unsupported_media_type",
				  "the upload form sends multipart/form-data");
		return 0;
	}
	char cookie[UI_CSRF_TOKEN_HEX + 1];
	struct upload_gate *g = xcalloc(1, sizeof *g);
	http_request_set_state(req, g);
	/* No cookie, or a header (htmx) with the wrong token: refused before the
	 * body. Without the header the token is in the body (note 7). */
	if (!csrf_cookie(req, cookie))
		return upload_refuse(req);
	if (!http_request_header(req, UI_CSRF_HEADER))
		return 0;
	return csrf_ok(req, NULL) ? gate_start(req, g) : upload_refuse(req);
}

int ui_upload_body(struct http_request *req, const char *data, size_t n)
{
	struct upload_gate *g = http_request_state(req);
	char token[UI_CSRF_TOKEN_HEX + 2];

	if (g->started)
		return gate_forward(req, data, n);
	size_t k = n < sizeof g->head - g->len ? n : sizeof g->head - g->len;
	memcpy(g->head + g->len, data, k);
	g->len += k;
	int found = ui_multipart_first_field(http_request_header(req, "Content-Type"), g->head,
					     g->len, UI_CSRF_FIELD, token, sizeof token);
	if (found == 0 && g->len < sizeof g->head)
		return 0;   /* not yet: hold the bytes */
	if (found != 1 || !csrf_ok(req, token))
		return upload_refuse(req);
	if (gate_start(req, g) != 0)
		return -1;
	if (http_request_responded(req))
		return 0;   /* the proxy could not start; it answered */
	if (gate_forward(req, g->head, g->len) != 0)
		return -1;
	return k < n ? gate_forward(req, data + k, n - k) : 0;
}

int ui_upload_end(struct http_request *req)
{
	struct lh_error err = { 0 };
	struct upload_gate *g = http_request_state(req);
	struct html frag;
	char *body = NULL;
	size_t len = 0;
	long status = 0;
	int page_status, rc;

	if (http_request_responded(req))
		return 0;
	if (!g->started)
		return upload_refuse(req);   /* the body ended before its token */
	html_init(&frag, 0);
	gate_lend(req);
	rc = proxy_collect(req, LH_UI_MAX_UPSTREAM_JSON, &status, &body, &len, &err);
	gate_take(req, g);
	if (rc != 0) {
		render_lh_error(&frag, &err);
		page_status = err.status;
	} else {
		json_t *a = parse_answer(body, len);
		page_status = render_upload_result(&frag, status, a);
		json_decref(a);
	}
	free(body);
	lh_error_clear(&err);
	/* htmx swaps every status (page_open); app.js reads it to tell the
	 * progress bar's "Done" from a refusal */
	if (is_htmx(req))
		return send_html(req, page_status, &frag, NULL);
	rc = upload_page(req, page_status, NULL, &frag);
	html_free(&frag);
	return rc;
}

void ui_upload_done(struct http_request *req, int completed)
{
	struct upload_gate *g = http_request_state(req);
	if (!g)
		return;
	gate_lend(req);
	proxy_done(req, completed);   /* NULL state: nothing */
	http_request_set_state(req, NULL);
	free(g);
}

int ui_upload_page_end(struct http_request *req)
{
	const char *name = http_request_query(req, "name");
	return upload_page(req, 200, name && dataset_name_valid(name) ? name : NULL, NULL);
}

/* --- SQL console (note 8) --------------------------------------------------- */

/* What one console request asks: the POST's fields, or a GET's query. */
struct console_req {
	const char *sql;
	long long page;      /* 1-based */
	const char *chart;   /* "none": no chart; anything else: the chart is shown */
	const char *x, *y;   /* the chosen columns, NULL = the rule's */
	int from_result;     /* sent by the result's own form (a page, the chart) */
};

static int chart_off(const struct console_req *cr)
{
	return cr->chart && !strcmp(cr->chart, "none");
}

/* The console's address for cr: /console?sql=...[&chart=none][&x=...&y=...],
 * percent-encoded (no byte needs HTML escaping but '&'). Returns 0, or -1
 * when it is longer than LH_UI_SHARE_URL_BYTES (u is then empty). */
static int console_url(struct html *u, const struct console_req *cr)
{
	html_init(u, LH_UI_SHARE_URL_BYTES);
	html_printf(u, "/console?sql=%U", cr->sql);
	if (chart_off(cr))
		html_lit(u, "&chart=none");
	if (cr->x && *cr->x)
		html_printf(u, "&x=%U", cr->x);
	if (cr->y && *cr->y)
		html_printf(u, "&y=%U", cr->y);
	if (!u->overflow)
		return 0;
	u->len = 0;
	u->buf[0] = '\0';
	return -1;
}

/* The hidden fields that carry the chart's choice with the next Run
 * (id="chart-prefs": rendered in the editor's form, replaced out of band by
 * each htmx answer). */
static void render_chart_prefs(struct html *h, const struct console_req *cr, int oob)
{
	html_lit(h, oob ? "<div id=\"chart-prefs\" hx-swap-oob=\"true\">" : "<div id=\"chart-prefs\">");
	if (chart_off(cr))
		html_lit(h, "<input type=\"hidden\" name=\"chart\" value=\"none\">");
	if (cr->x && *cr->x)
		html_printf(h, "<input type=\"hidden\" name=\"x\" value=\"%s\">", cr->x);
	if (cr->y && *cr->y)
		html_printf(h, "<input type=\"hidden\" name=\"y\" value=\"%s\">", cr->y);
	html_lit(h, "</div>");
}

/* The SQL that fetches page `page` of sql's result: the statement itself for
 * the first page (its errors are the user's own), else the statement as a
 * subquery with LIMIT rows+1 (one more: is there a next page?) and OFFSET. */
static char *console_page_sql(const char *sql, long long page)
{
	if (page <= 1)
		return xstrdup(sql);
	size_t body = ui_sql_body_len(sql);
	return xasprintf("SELECT * FROM (\n%.*s\n) AS lh_page LIMIT %lld OFFSET %lld", (int)body,
			 sql, (long long)LH_UI_CONSOLE_ROWS + 1,
			 (page - 1) * (long long)LH_UI_CONSOLE_ROWS);
}

/* The number of rows of sql's whole result: count(*) over it as a subquery,
 * within LH_UI_COUNT_TIMEOUT_MS. -1 when it could not be counted (too slow,
 * or a statement that cannot be a subquery, such as EXPLAIN). */
static long long console_count(struct http_request *req, const char *sql)
{
	struct lh_error err = { 0 };
	json_t *r = NULL;
	long status = 0;
	long long n = -1;
	size_t body = ui_sql_body_len(sql);
	char *q = xasprintf("SELECT count(*) AS n FROM (\n%.*s\n) AS lh_count", (int)body, sql);
	if (run_query(req, q, 1, LH_UI_COUNT_TIMEOUT_MS, &status, &r, &err) == 0 && status == 200) {
		const json_t *v = json_array_get(json_array_get(json_object_get(r, "rows"), 0), 0);
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			n = (long long)json_integer_value(v);
	}
	json_decref(r);
	lh_error_clear(&err);
	free(q);
	return n;
}

/* The pager: First, Previous, "Page p of n", Next, Last, each a submit
 * button of the result's form (a POST: no GET runs SQL). total < 0: unknown,
 * so no Last. */
static void render_pager(struct html *h, long long page, int more, long long total)
{
	long long pages = total < 0 ? -1
				    : total == 0 ? 1 : (total + LH_UI_CONSOLE_ROWS - 1) / LH_UI_CONSOLE_ROWS;
	char p[32], n[32];
	ui_fmt_count(p, sizeof p, page);
	ui_fmt_count(n, sizeof n, pages);
	html_lit(h, "<div class=\"pager\" id=\"pager\" role=\"group\" aria-label=\"Pages of the "
		    "result\">");
	html_printf(h, "<button type=\"submit\" class=\"secondary\" id=\"page-first\" name=\"page\" "
		       "value=\"1\"%s>\xc2\xab First</button>",
		    page > 1 ? "" : " disabled");
	html_printf(h, "<button type=\"submit\" class=\"secondary\" id=\"page-prev\" name=\"page\" "
		       "value=\"%lld\"%s>\xe2\x80\xb9 Previous</button>",
		    page > 1 ? page - 1 : 1, page > 1 ? "" : " disabled");
	if (pages > 0)
		html_printf(h, "<span class=\"meta\" id=\"page-info\">Page %s of %s</span>", p, n);
	else
		html_printf(h, "<span class=\"meta\" id=\"page-info\">Page %s</span>", p);
	html_printf(h, "<button type=\"submit\" class=\"secondary\" id=\"page-next\" name=\"page\" "
		       "value=\"%lld\"%s>Next \xe2\x80\xba</button>",
		    page + 1, more ? "" : " disabled");
	if (pages > 0)
		html_printf(h, "<button type=\"submit\" class=\"secondary\" id=\"page-last\" "
			       "name=\"page\" value=\"%lld\"%s>Last \xc2\xbb</button>",
			    pages, page < pages ? "" : " disabled");
	html_lit(h, "</div>");
}

/* The chart's controls: shown or none, x (any column), y (a numeric
 * column), preset to what is drawn, or to what would be. Nothing when the
 * result has no numeric column. */
static void render_chart_controls(struct html *h, const json_t *cols,
				  const struct ui_chart_pick *sel, int off, long long page)
{
	size_t nc = json_array_size(cols), ny = 0;
	for (size_t i = 0; i < nc; i++)
		ny += ui_type_is_numeric(jstr(json_array_get(cols, i), "type")) != 0;
	if (ny == 0)
		return;
	html_printf(h, "<div class=\"chart-controls\" id=\"chart-controls\"><label>Chart "
		       "<select name=\"chart\" id=\"chart-kind\"><option value=\"show\"%s>shown"
		       "</option><option value=\"none\"%s>none</option></select></label>",
		    off ? "" : " selected", off ? " selected" : "");
	html_lit(h, "<label>x <select name=\"x\" id=\"chart-x\">");
	for (size_t i = 0; i < nc; i++) {
		const char *name = jstr(json_array_get(cols, i), "name");
		html_printf(h, "<option value=\"%s\"%s>%s</option>", name,
			    i == sel->x ? " selected" : "", name);
	}
	html_lit(h, "</select></label><label>y <select name=\"y\" id=\"chart-y\">");
	for (size_t i = 0; i < nc; i++) {
		const json_t *c = json_array_get(cols, i);
		if (!ui_type_is_numeric(jstr(c, "type")))
			continue;
		html_printf(h, "<option value=\"%s\"%s>%s</option>", jstr(c, "name"),
			    i == sel->y ? " selected" : "", jstr(c, "name"));
	}
	/* without JavaScript a change needs a button; with it, htmx posts the
	 * form on "change" */
	html_printf(h, "</select></label><noscript><button type=\"submit\" class=\"secondary\" "
		       "name=\"page\" value=\"%lld\">Apply</button></noscript></div>",
		    page);
}

/* What the chart controls show: the columns drawn, or, when the rule finds
 * none (or the chart is off), the chosen ones, else the first column against
 * the first numeric other column. */
static void chart_selection(const json_t *cols, const struct console_req *cr,
			    struct ui_chart_pick *sel)
{
	ui_chart_choose(cols, cr->x, cr->y, 0, sel);
	if (sel->kind != UI_CHART_NONE)
		return;
	size_t nc = json_array_size(cols);
	sel->x = 0;
	sel->y = nc;
	for (size_t i = 0; i < nc; i++) {
		const char *name = jstr(json_array_get(cols, i), "name");
		if (cr->x && name && !strcmp(name, cr->x))
			sel->x = i;
	}
	for (size_t i = 0; i < nc && sel->y == nc; i++)
		if (i != sel->x && ui_type_is_numeric(jstr(json_array_get(cols, i), "type")))
			sel->y = i;
	if (sel->y == nc)
		sel->y = sel->x;
}

/* A successful page of a result: the count, the pager, the downloads, the
 * chart and its controls, the table. */
static void render_console_answer(struct http_request *req, struct html *h,
				  const struct console_req *cr, const char *token, const json_t *r)
{
	const json_t *cols = json_object_get(r, "columns"), *rows = json_object_get(r, "rows");
	long long page = cr->page;
	long long offset = (page - 1) * (long long)LH_UI_CONSOLE_ROWS;
	long long shown = (long long)json_array_size(rows);
	int more = json_is_true(json_object_get(r, "truncated"));
	/* the total is known without counting when this page is the last */
	long long total = !more && (shown > 0 || page == 1) ? offset + shown
							     : console_count(req, cr->sql);
	double ms = json_number_value(json_object_get(r, "elapsed_ms"));
	char tot[32], from[32], to[32];
	ui_fmt_count(tot, sizeof tot, total >= 0 ? total : offset + shown);
	ui_fmt_count(from, sizeof from, offset + 1);
	ui_fmt_count(to, sizeof to, offset + shown);
	int paged = page > 1 || more;

	html_printf(h, "<p class=\"result-meta\" id=\"result-meta\" data-total=\"%lld\">"
		       "<strong id=\"result-total\">%s%s</strong> row%s",
		    total, total < 0 ? "more than " : "", tot,
		    total == 1 ? "" : "s");
	if (paged && shown > 0)
		html_printf(h, " \xc2\xb7 showing %s\xe2\x80\x93%s", from, to);
	else if (paged)
		html_lit(h, " \xc2\xb7 none on this page");
	html_printf(h, " \xc2\xb7 %.1f ms", ms);
	if (total < 0)
		html_lit(h, " \xc2\xb7 the total took too long to count");
	struct html url;
	if (console_url(&url, cr) == 0) {
		html_lit(h, " \xc2\xb7 <a id=\"share-link\" href=\"");
		html_text(h, url.buf);
		html_lit(h, "\">link to this query</a>");
	}
	html_free(&url);
	html_lit(h, "</p>");

	/* the result's own form: pages and the chart's choice, posted with the
	 * SQL that ran (an edit in the editor does not change this result) */
	struct ui_chart_pick sel, drawn;
	chart_selection(cols, cr, &sel);
	ui_chart_choose(cols, cr->x, cr->y, chart_off(cr), &drawn);
	html_printf(h, "<div class=\"result-bar\"><form id=\"result-form\" class=\"result-form\" "
		       "method=\"post\" action=\"/console\" hx-post=\"/console\" "
		       "hx-target=\"#console-result\" hx-trigger=\"submit, change\" "
		       "hx-sync=\"this:replace\" "
		       "hx-indicator=\"#running\"><input type=\"hidden\" name=\"" UI_CSRF_FIELD
		       "\" value=\"%s\"><input type=\"hidden\" name=\"sql\" value=\"%s\">"
		       "<input type=\"hidden\" name=\"current\" value=\"%lld\">",
		    token, cr->sql, page);
	if (paged)
		render_pager(h, page, more, total);
	if (shown > 0)
		render_chart_controls(h, cols, &sel, chart_off(cr), page);
	html_printf(h, "</form><form id=\"download-form\" class=\"downloads\" method=\"post\" "
		       "action=\"/console/download\"><input type=\"hidden\" name=\"" UI_CSRF_FIELD
		       "\" value=\"%s\"><input type=\"hidden\" name=\"sql\" value=\"%s\">"
		       "<span class=\"meta\">Download %s:</span>"
		       "<button type=\"submit\" class=\"secondary\" id=\"download-csv\" "
		       "name=\"format\" value=\"csv\">CSV</button>"
		       "<button type=\"submit\" class=\"secondary\" id=\"download-parquet\" "
		       "name=\"format\" value=\"parquet\">Parquet</button>"
		       "<button type=\"submit\" class=\"secondary\" id=\"download-json\" "
		       "name=\"format\" value=\"json\">JSON</button></form></div>",
		    token, cr->sql, paged ? "all rows" : "the result");

	struct html chart;
	html_init(&chart, 0);
	if (ui_chart_draw(&chart, cols, rows, &drawn)) {
		html_lit(h, "<figure class=\"card chart-card\" id=\"chart\">");
		html_append(h, &chart);
		if (paged)
			html_lit(h, "<figcaption class=\"meta\">The chart shows the rows of this page."
				    "</figcaption>");
		html_lit(h, "</figure>");
	}
	html_free(&chart);
	render_result_table(h, r, "result");
}

/* Run one page of cr's query into h: the answer, or the error in words. */
static void console_result(struct http_request *req, struct html *h,
			   const struct console_req *cr, const char *token, int *status_out)
{
	struct lh_error err = { 0 };
	json_t *r = NULL;
	long status = 0;
	char *q = console_page_sql(cr->sql, cr->page);

	*status_out = 200;
	html_lit(h, "<div id=\"console-output\">");
	if (run_query(req, q, LH_UI_CONSOLE_ROWS, 0, &status, &r, &err) != 0) {
		render_lh_error(h, &err);
		*status_out = err.status;
	} else if (status != 200) {
		render_error_answer(h, status, r);
		*status_out = (int)status;
	} else {
		render_console_answer(req, h, cr, token, r);
	}
	html_lit(h, "</div>");
	json_decref(r);
	lh_error_clear(&err);
	free(q);
}

/* What a console request does with its SQL (note 5). */
enum console_mode {
	CONSOLE_FILL,      /* GET: the SQL goes into the editor, nothing runs */
	CONSOLE_RUN,       /* POST with the page's token: run it */
	CONSOLE_REFUSED,   /* POST without it: 403, nothing runs */
};

/* After an htmx run, the address bar shows the query (a reload or a shared
 * link fills the editor, note 5): a new history entry for Run, the same one
 * for a page or a chart of the same result. */
static void console_push_url(struct http_request *req, const struct console_req *cr)
{
	struct html url;
	if (console_url(&url, cr) == 0)
		http_response_header(req, cr->from_result ? "HX-Replace-Url" : "HX-Push-Url",
				     url.buf);
	html_free(&url);
}

static int console_page(struct http_request *req, const struct console_req *cr,
			enum console_mode mode)
{
	struct lh_error err = { 0 };
	struct page_token t;
	json_t *answer = NULL;
	long status = 0;
	int page_status = mode == CONSOLE_REFUSED ? 403 : 200;
	const char *sql = cr->sql;
	struct html h;

	html_init(&h, 0);
	page_token(req, &t);
	if (mode != CONSOLE_FILL && is_htmx(req)) {
		int ran = mode == CONSOLE_RUN && sql && *sql;
		if (ran) {
			console_result(req, &h, cr, t.tok, &page_status);
			render_chart_prefs(&h, cr, 1);
		} else if (mode == CONSOLE_REFUSED) {
			render_error(&h, "csrf_failed", 403, NULL, NULL);
		}
		send_html(req, mode == CONSOLE_REFUSED ? 403 : 200, &h, NULL);
		if (ran)
			console_push_url(req, cr);
		return 0;
	}
	page_open(&h, "SQL console", NAV_CONSOLE, &t);
	html_lit(&h, "<h1>SQL console</h1>");
	html_printf(&h, "<form id=\"console-form\" class=\"card console\" method=\"post\" "
			"action=\"/console\" hx-post=\"/console\" hx-target=\"#console-result\" "
			"hx-indicator=\"#running\"><input type=\"hidden\" name=\"" UI_CSRF_FIELD
			"\" value=\"%s\">",
		    t.tok);
	render_chart_prefs(&h, cr, 0);
	html_lit(&h, "<div class=\"chips\" id=\"dataset-chips\"><span class=\"meta\">Datasets:"
		     "</span>");
	if (call_service(req, GW_CATALOGD, "GET", "/catalog/datasets", NULL, &status, &answer,
			 &err) == 0 && status == 200) {
		const json_t *ds = json_object_get(answer, "datasets");
		for (size_t i = 0; i < json_array_size(ds); i++) {
			const char *name = jstr(json_array_get(ds, i), "name");
			char *q = xasprintf("SELECT * FROM %s LIMIT 100", name ? name : "");
			html_printf(&h, "<a class=\"chip\" href=\"/console?sql=%U\" "
					"data-insert=\"%s\" title=\"Insert %s\">%s</a>",
				    q, name, name, name);
			free(q);
		}
		if (json_array_size(ds) == 0)
			html_lit(&h, "<span class=\"meta\">none yet</span>");
	} else {
		html_lit(&h, "<span class=\"meta\">the catalog is not reachable</span>");
	}
	json_decref(answer);
	lh_error_clear(&err);
	/* The newline after <textarea> is eaten by the parser, so SQL that
	 * starts with one keeps it. */
	html_lit(&h, "</div><label for=\"sql\" class=\"visually-hidden\">SQL</label>"
		     "<textarea id=\"sql\" name=\"sql\" rows=\"7\" spellcheck=\"false\" "
		     "placeholder=\"SELECT * FROM candidates LIMIT 10\">\n");
	html_text(&h, sql);
	html_lit(&h, "</textarea><div class=\"form-actions\"><button id=\"run\" type=\"submit\">"
		     "Run</button><span class=\"hint\"><kbd>Ctrl</kbd> + <kbd>Enter</kbd></span>"
		     "<span id=\"running\" class=\"htmx-indicator meta\">Running\xe2\x80\xa6</span>"
		     "</div></form><div id=\"console-result\" aria-live=\"polite\">");
	if (mode == CONSOLE_RUN && sql && *sql)
		console_result(req, &h, cr, t.tok, &page_status);
	else if (mode == CONSOLE_REFUSED)
		render_error(&h, "csrf_failed", 403, NULL, NULL);
	else if (sql && *sql)
		html_lit(&h, "<p class=\"meta\" id=\"console-hint\">The query above came with "
			     "the link and has not run. Read it, then press Run.</p>");
	html_lit(&h, "</div>");
	page_close(&h);
	return send_html(req, page_status, &h, &t);
}

/* A page number from a form or query value: 1..LH_UI_CONSOLE_MAX_PAGE, else 1. */
static long long page_number(const char *s)
{
	char *end = NULL;
	long long v = s ? strtoll(s, &end, 10) : 1;
	if (!s || !*s || *end || v < 1 || v > LH_UI_CONSOLE_MAX_PAGE)
		return 1;
	return v;
}

/* GET /console[?sql=&chart=&x=&y=]: the console with the SQL in the editor
 * and the chart's choice in the form (a shareable link); nothing runs
 * (note 5). */
int ui_console_get_end(struct http_request *req)
{
	struct console_req cr = { http_request_query(req, "sql"), 1,
				  http_request_query(req, "chart"), http_request_query(req, "x"),
				  http_request_query(req, "y"), 0 };
	return console_page(req, &cr, CONSOLE_FILL);
}

/* POST /console: runs the form's SQL (page `page`, else `current`, else 1)
 * if the form came from our page. */
int ui_console_post_end(struct http_request *req)
{
	size_t n = 0;
	const char *body = http_request_body(req, &n);
	if (!body)
		body = "";
	char *sql = form_value(body, n, "sql");
	char *token = form_value(body, n, UI_CSRF_FIELD);
	char *page = form_value(body, n, "page");
	char *current = form_value(body, n, "current");
	char *chart = form_value(body, n, "chart");
	char *x = form_value(body, n, "x");
	char *y = form_value(body, n, "y");
	struct console_req cr = { sql ? sql : "", page_number(page ? page : current), chart, x, y,
				  current != NULL };
	int rc = console_page(req, &cr, csrf_ok(req, token) ? CONSOLE_RUN : CONSOLE_REFUSED);
	free(y);
	free(x);
	free(chart);
	free(current);
	free(page);
	free(token);
	free(sql);
	return rc;
}

/* POST /console/download (csrf, sql, format csv|parquet|json): the whole
 * result as a file, streamed from queryd (no row cap but queryd's own); an
 * error is a page in words. A POST with the page's token like Run: no GET
 * runs SQL (note 5). */
int ui_console_download_end(struct http_request *req)
{
	static const struct {
		const char *format, *ext;
	} formats[] = { { "csv", "csv" }, { "parquet", "parquet" }, { "json", "json" } };
	struct gateway *g = http_request_ctx(req);
	struct lh_error err = { 0 };
	size_t n = 0, i, len = 0;
	const char *body = http_request_body(req, &n);
	char *answer = NULL, *text = NULL;
	if (!body)
		body = "";
	char *sql = form_value(body, n, "sql");
	char *token = form_value(body, n, UI_CSRF_FIELD);
	char *fmt = form_value(body, n, "format");
	json_t *q = NULL, *a = NULL;
	long status = 0;

	if (!csrf_ok(req, token)) {
		send_error_page(req, 403, "Download refused", "csrf_failed", NULL, NULL);
		goto out;
	}
	for (i = 0; fmt && i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(fmt, formats[i].format))
			break;
	if (!fmt || i == sizeof formats / sizeof formats[0]) {
		send_error_page(req, 400, "Download refused", "bad_request",
				"the format must be csv, parquet or json", NULL);
		goto out;
	}
	if (!sql || !*sql) {
		send_error_page(req, 400, "Download refused", "bad_request",
				"there is no query to download", NULL);
		goto out;
	}
	q = json_object();
	json_object_set_new(q, "sql", json_string(sql));
	json_object_set_new(q, "format", json_string(formats[i].format));
	text = json_dump_compact(q);
	proxy_begin_request(req, &g->up[GW_QUERYD], g->timeout_ms, "POST", "/query", text,
			    strlen(text), "application/json");
	if (http_request_responded(req))
		goto out;   /* the proxy could not start; it answered */
	if (proxy_wait_head(req) == 200) {
		char cd[64];
		proxy_end(req);
		snprintf(cd, sizeof cd, "attachment; filename=\"query.%s\"", formats[i].ext);
		http_response_header(req, "Content-Disposition", cd);
		goto out;
	}
	if (proxy_collect(req, LH_UI_MAX_UPSTREAM_JSON, &status, &answer, &len, &err) != 0) {
		send_error_page(req, err.status, "The download failed", err.code, err.msg, NULL);
		goto out;
	}
	a = parse_answer(answer, len);
	send_error_page(req, status >= 400 && status < 600 ? (int)status : 502,
			"The download failed", jstr(a, "code"),
			jstr(a, "error") ? jstr(a, "error") : "the service gave no explanation", a);
out:
	json_decref(a);
	json_decref(q);
	free(answer);
	free(text);
	free(fmt);
	free(token);
	free(sql);
	lh_error_clear(&err);
	return 0;
}

/* --- static assets and the index --------------------------------------- */

int ui_static_end(struct http_request *req)
{
	static const struct {
		const char *name, *type;
		const unsigned char *data;
		const size_t *len;
	} assets[] = {
		{ "htmx.min.js", "text/javascript; charset=utf-8", ui_asset_htmx_min_js,
		  &ui_asset_htmx_min_js_len },
		{ "app.css", "text/css; charset=utf-8", ui_asset_app_css, &ui_asset_app_css_len },
		{ "app.js", "text/javascript; charset=utf-8", ui_asset_app_js,
		  &ui_asset_app_js_len },
		{ "favicon.svg", "image/svg+xml", ui_asset_favicon_svg, &ui_asset_favicon_svg_len },
	};
	const char *rest = http_request_path_rest(req);
	for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
		if (strcmp(rest, assets[i].name))
			continue;
		http_respond_bytes(req, 200, assets[i].type, assets[i].data, *assets[i].len);
		http_response_header(req, "Cache-Control", "public, max-age=3600");
		http_response_header(req, "X-Content-Type-Options", "nosniff");
		return 0;
	}
	http_respond_fail(req, 404, "not_found", "no static asset by that name");
	return 0;
}

/* GET /favicon.ico: our icon (the same drawing as favicon.svg), for the
 * browsers and tools that ask for it without reading the page's <link>. */
int ui_favicon_end(struct http_request *req)
{
	http_respond_bytes(req, 200, "image/x-icon", ui_asset_favicon_ico,
			   ui_asset_favicon_ico_len);
	http_response_header(req, "Cache-Control", "public, max-age=86400");
	http_response_header(req, "X-Content-Type-Options", "nosniff");
	return 0;
}

int ui_index_end(struct http_request *req)
{
	if (strcmp(http_request_path(req), "/") != 0) {
		send_error_page(req, 404, "Not found", "not_found",
				"There is no page at this address.", NULL);
		return 0;
	}
	return datasets_page(req);
}

