/* ui.c — the web UI the gateway serves at "/" (SPEC 9): server-rendered HTML,
 * enhanced by htmx when JavaScript runs, complete without it for reading.
 *
 *   GET  /                       datasets, ?q= filters (htmx: the list only)
 *   GET  /datasets/<name>        schema, versions, first rows (?version=N)
 *   GET  /datasets/<name>/download?version=N&format=parquet|csv
 *   GET  /upload                 the upload form
 *   POST /upload                 multipart (csrf, name, mode, file) -> ingestd
 *   GET  /console                the SQL console; ?sql= fills the editor only
 *   POST /console                runs the form field sql (csrf)
 *   GET  /static/<asset>         htmx, CSS and JS, embedded in the binary
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

enum nav { NAV_DATASETS, NAV_UPLOAD, NAV_CONSOLE, NAV_NONE };

/* --- small formatting helpers ------------------------------------------- */

/* "1,234,567" */
static void fmt_count(char *buf, size_t n, long long v)
{
	char tmp[32];
	int k = snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v);
	size_t o = 0;
	if (v < 0 && o + 1 < n)
		buf[o++] = '-';
	for (int i = 0; i < k && o + 2 < n; i++) {
		if (i && (k - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

/* "746 B", "1.2 KB", "3.4 MB" */
static void fmt_bytes(char *buf, size_t n, double v)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%.0f B", v);
	else
		snprintf(buf, n, "%.1f %s", v, units[u]);
}

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

/* A queryd query as JSON (format json, at most max_rows rows). */
static int run_query(struct http_request *req, const char *sql, long max_rows, long *status,
		     json_t **out, struct lh_error *err)
{
	json_t *q = json_object();
	json_object_set_new(q, "sql", json_string(sql));
	json_object_set_new(q, "format", json_string("json"));
	json_object_set_new(q, "max_rows", json_integer(max_rows));
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
	html_lit(h, "<link rel=\"stylesheet\" href=\"/static/app.css\">\n"
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
		html_lit(h, "<td>");
		html_text_cut(h, json_string_value(v), LH_UI_CELL_BYTES);
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
		fmt_count(rows, sizeof rows, jint(d, "row_count"));
		fmt_bytes(size, sizeof size, (double)jint(d, "size_bytes"));
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
	if (shown == 0 && q && *q)
		html_printf(h, "<p class=\"empty\">No dataset name contains \xe2\x80\x9c%s\xe2\x80\x9d."
			       "</p>",
			    q);
	else if (shown == 0)
		html_lit(h, "<p class=\"empty\">No datasets yet. <a href=\"/upload\">Upload a "
			    "CSV</a> to create the first one.</p>");
	else
		html_printf(h, "<p class=\"meta\">%zu of %zu datasets</p>", shown,
			    json_array_size(datasets));
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
	html_lit(h, "<table class=\"list schema\" id=\"schema\"><thead><tr><th scope=\"col\">"
		    "Column</th><th scope=\"col\">Type</th><th scope=\"col\">Nullable</th></tr>"
		    "</thead><tbody>");
	for (size_t i = 0; i < json_array_size(schema); i++) {
		const json_t *c = json_array_get(schema, i);
		html_printf(h, "<tr><td class=\"colname\">%s</td><td><code>%s</code></td>"
			       "<td>%s</td></tr>",
			    jstr(c, "name"), jstr(c, "type"),
			    json_is_true(json_object_get(c, "nullable")) ? "yes" : "no");
	}
	html_lit(h, "</tbody></table>");
}

static void render_versions(struct html *h, const char *name, const json_t *versions,
			    long long current)
{
	html_lit(h, "<table class=\"list\" id=\"versions\"><thead><tr><th scope=\"col\">Version"
		    "</th><th scope=\"col\">Time</th><th scope=\"col\" class=\"num\">Rows</th>"
		    "<th scope=\"col\">Mode</th></tr></thead><tbody>");
	for (size_t i = json_array_size(versions); i-- > 0;) {
		const json_t *v = json_array_get(versions, i);
		long long n = jint(v, "version");
		char rows[32], when[48];
		fmt_count(rows, sizeof rows, jint(v, "row_count"));
		fmt_time(when, sizeof when, jstr(v, "created_at"));
		html_lit(h, n == current ? "<tr class=\"current\">" : "<tr>");
		html_printf(h, "<td><a href=\"/datasets/%U?version=%lld\">v%lld</a>", name, n, n);
		if (n == current)
			html_lit(h, " <span class=\"badge\">shown</span>");
		html_printf(h, "</td><td>%s</td><td class=\"num\">%s</td><td>%s</td></tr>", when,
			    rows, jstr(v, "mode") ? jstr(v, "mode") : "");
	}
	html_lit(h, "</tbody></table>");
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
	int prc = run_query(req, sql, LH_UI_PREVIEW_ROWS, &st_p, &preview, &err);

	const json_t *vlist = json_object_get(versions, "versions");
	long long latest = 0;
	for (size_t i = 0; i < json_array_size(vlist); i++)
		if (jint(json_array_get(vlist, i), "version") > latest)
			latest = jint(json_array_get(vlist, i), "version");
	const json_t *schema = json_object_get(manifest, "schema");
	char rows[32], size[32], when[48];
	fmt_count(rows, sizeof rows, jint(manifest, "row_count"));
	fmt_bytes(size, sizeof size, (double)jint(manifest, "size_bytes"));
	fmt_time(when, sizeof when, jstr(manifest, "updated_at"));

	console_sql = xasprintf("SELECT * FROM %s LIMIT 100", name);
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
		fmt_count(shown, sizeof shown, (long long)json_array_size(json_object_get(preview,
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
		char rows[32];
		fmt_count(rows, sizeof rows, jint(a, "row_count"));
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
				       "the dataset holds %lld rows (%s).</p></div>",
				    name, name, jint(m, "version"), rows, ncols,
				    jint(m, "row_count"), jstr(m, "mode") ? jstr(m, "mode") : "");
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
	if (is_htmx(req))
		return send_html(req, 200, &frag, NULL);
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

/* --- SQL console ---------------------------------------------------------- */

static void console_result(struct http_request *req, struct html *h, const char *sql,
			   int *status_out)
{
	struct lh_error err = { 0 };
	json_t *r = NULL;
	long status = 0;

	*status_out = 200;
	html_lit(h, "<div id=\"console-output\">");
	if (run_query(req, sql, LH_UI_CONSOLE_ROWS, &status, &r, &err) != 0) {
		render_lh_error(h, &err);
		*status_out = err.status;
	} else if (status != 200) {
		render_error_answer(h, status, r);
		*status_out = (int)status;
	} else {
		char n[32];
		long long count = jint(r, "row_count");
		fmt_count(n, sizeof n, count);
		double ms = json_number_value(json_object_get(r, "elapsed_ms"));
		html_printf(h, "<p class=\"result-meta\" id=\"result-meta\"><strong>%s</strong> "
			       "row%s \xc2\xb7 %.1f ms%s</p>",
			    n, count == 1 ? "" : "s", ms,
			    json_is_true(json_object_get(r, "truncated"))
				    ? " \xc2\xb7 only the first rows are shown"
				    : "");
		struct html chart;
		html_init(&chart, 0);
		if (ui_chart_svg(&chart, json_object_get(r, "columns"), json_object_get(r, "rows"))) {
			html_lit(h, "<figure class=\"card chart-card\" id=\"chart\">");
			html_append(h, &chart);
			html_lit(h, "</figure>");
		}
		html_free(&chart);
		render_result_table(h, r, "result");
	}
	html_lit(h, "</div>");
	json_decref(r);
	lh_error_clear(&err);
}

/* What a console request does with its SQL (note 5). */
enum console_mode {
	CONSOLE_FILL,      /* GET: the SQL goes into the editor, nothing runs */
	CONSOLE_RUN,       /* POST with the page's token: run it */
	CONSOLE_REFUSED,   /* POST without it: 403, nothing runs */
};

static int console_page(struct http_request *req, const char *sql, enum console_mode mode)
{
	struct lh_error err = { 0 };
	struct page_token t;
	json_t *answer = NULL;
	long status = 0;
	int page_status = mode == CONSOLE_REFUSED ? 403 : 200;
	struct html h;

	html_init(&h, 0);
	if (mode != CONSOLE_FILL && is_htmx(req)) {
		if (mode == CONSOLE_RUN && sql && *sql)
			console_result(req, &h, sql, &page_status);
		else if (mode == CONSOLE_REFUSED)
			render_error(&h, "csrf_failed", 403, NULL, NULL);
		return send_html(req, mode == CONSOLE_REFUSED ? 403 : 200, &h, NULL);
	}
	page_token(req, &t);
	page_open(&h, "SQL console", NAV_CONSOLE, &t);
	html_lit(&h, "<h1>SQL console</h1>");
	html_printf(&h, "<form id=\"console-form\" class=\"card console\" method=\"post\" "
			"action=\"/console\" hx-post=\"/console\" hx-target=\"#console-result\" "
			"hx-indicator=\"#running\"><input type=\"hidden\" name=\"" UI_CSRF_FIELD
			"\" value=\"%s\">",
		    t.tok);
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
		console_result(req, &h, sql, &page_status);
	else if (mode == CONSOLE_REFUSED)
		render_error(&h, "csrf_failed", 403, NULL, NULL);
	else if (sql && *sql)
		html_lit(&h, "<p class=\"meta\" id=\"console-hint\">The query above came with "
			     "the link and has not run. Read it, then press Run.</p>");
	html_lit(&h, "</div>");
	page_close(&h);
	return send_html(req, page_status, &h, &t);
}

/* GET /console[?sql=]: the console with the SQL in the editor (a shareable
 * link); nothing runs (note 5). */
int ui_console_get_end(struct http_request *req)
{
	return console_page(req, http_request_query(req, "sql"), CONSOLE_FILL);
}

/* POST /console: runs the form's SQL if the form came from our page. */
int ui_console_post_end(struct http_request *req)
{
	size_t n = 0;
	const char *body = http_request_body(req, &n);
	char *sql = form_value(body ? body : "", n, "sql");
	char *token = form_value(body ? body : "", n, UI_CSRF_FIELD);
	int rc = console_page(req, sql ? sql : "",
			      csrf_ok(req, token) ? CONSOLE_RUN : CONSOLE_REFUSED);
	free(token);
	free(sql);
	return rc;
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

int ui_index_end(struct http_request *req)
{
	if (strcmp(http_request_path(req), "/") != 0) {
		send_error_page(req, 404, "Not found", "not_found",
				"There is no page at this address.", NULL);
		return 0;
	}
	return datasets_page(req);
}

