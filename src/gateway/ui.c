/* ui.c — the web UI the gateway serves at "/" (ADR 0080): server-rendered HTML,
 * enhanced by htmx when JavaScript runs, complete without it for reading.
 * This file holds what every page shares (layout, CSRF checks, calling the
 * services, errors in words, result tables) and the design notes the page
 * files cite as "note n"; each page has its own file (ui_int.h lists them).
 *
 *   GET  /                       datasets, ?q= filters (htmx: the list only)
 *   GET  /datasets/<name>        schema, versions, first rows (?version=N)
 *   GET  /datasets/<name>/download?version=N&format=parquet|csv
 *   POST /datasets/<name>/rename  (csrf, to) -> 303 to the new name's page
 *   POST /datasets/<name>/drop    (csrf, confirm: the name typed again)
 *   GET  /upload                 the upload form
 *   POST /upload                 multipart (csrf, name, mode, file) -> ingestd
 *   GET  /console                the SQL console; ?sql= (&chart= &x= &y=) fills
 *                                the editor only
 *   POST /console                runs the form field sql (csrf; page, chart, x, y)
 *   POST /console/download       the whole result as csv|parquet|json (csrf)
 *   GET  /search                 the Search page; ?dataset=&q= (&mode= &k=) runs
 *                                a search, a &where= only fills the form (ADR 0151)
 *   POST /search                 runs the form's search, filter included (csrf)
 *   GET  /static/<asset>         htmx, CSS, JS and the icon, embedded in the binary
 *   GET  /favicon.ico            the icon
 *
 * DESIGN NOTES
 *  1. The UI is a client like any other: it reads catalogd through the
 *     typed catalog client (g->catalog, catalog_client.h: decoded lists and
 *     manifests, catalogd's errors relayed as it said them) and queryd over
 *     HTTP (ui_call_service), each with its page's own bearer token
 *     (ui_peer_call), and streams uploads and downloads through the
 *     gateway's proxy (proxy_begin / proxy_begin_request), so it works the
 *     same whether the services run embedded or apart.
 *  2. Every page is built with ui_html.c's builder, which escapes every
 *     dynamic value (html_printf's %s); markup only comes from literals.
 *  3. A request with "HX-Request" gets the fragment its target needs (the
 *     dataset list, an upload result, a console result); any other request
 *     gets the whole page with the same fragment inside, so the forms work
 *     as plain HTML forms. Full pages carry the real status (404, 409, 400);
 *     htmx is configured to swap every status (the meta tag in ui_page_open).
 *  4. Errors from the services are shown as a sentence a person understands
 *     (ui_friendly_error) followed by the service's own message.
 *  5. No GET changes anything or runs SQL a request chose (ADR 0111): GET
 *     /console?sql= only fills the editor (a shareable link), running takes
 *     the Run button, a POST. The GETs that query at all (a dataset's
 *     preview and downloads) run the server's own SELECT over a validated
 *     name; GET /search runs a search only when it has no filter (a
 *     `where` is SQL: with one it fills the form, ADR 0151).
 *  6. Every state-changing UI request (POST /console, POST /upload) carries
 *     a CSRF token (ADR 0111, ui_csrf.c): each full page is rendered with
 *     the browser's token (ui_page_token: the lh_csrf cookie, or a new one set
 *     with the page) in <meta name="csrf-token"> and in a hidden field of
 *     each form; ui_csrf_ok() accepts a request whose field (or X-CSRF-Token
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

#include "common/auth.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/tokens.h"
#include "common/upstream.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- small formatting helpers ------------------------------------------- */

/* RFC 3339 "2026-11-21T22:45:16.578Z" -> "2026-11-21 22:45 UTC". */
void ui_fmt_time(char *buf, size_t n, const char *t)
{
	if (t && strlen(t) >= 16 && t[10] == 'T')
		snprintf(buf, n, "%.10s %.5s UTC", t, t + 11);
	else
		snprintf(buf, n, "%s", t ? t : "");
}

long long ui_jint(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v)
				  : json_is_real(v) ? (long long)json_real_value(v) : 0;
}

const char *ui_jstr(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Parse a service's JSON answer; very large integers (HUGEINT) fall back to
 * doubles instead of failing. New reference or NULL. */
json_t *ui_parse_answer(const char *body, size_t n)
{
	json_t *v = json_loadb(body, n, 0, NULL);
	if (!v)
		v = json_loadb(body, n, JSON_DECODE_INT_AS_REAL, NULL);
	return v;
}

int ui_is_htmx(struct http_request *req)
{
	return http_request_header(req, "HX-Request") != NULL;
}

/* --- calling the services (note 1) ------------------------------------- */

struct peer_call ui_peer_call(struct http_request *req)
{
	/* The page is the client's request: its bearer token goes upstream,
	 * like the proxy's Authorization header (ADR 0090). */
	const char *auth = http_request_header(req, "Authorization");
	struct peer_call call = {
		.request_id = http_request_id(req),
		.bearer_token = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL,
	};
	return call;
}

/* method + path (already encoded) on upstream `which`, JSON body or NULL.
 * Returns 0 with *status and *out (parsed answer, may be NULL if it was not
 * JSON), or -1 with err when the service could not be reached. */
int ui_call_service(struct http_request *req, int which, const char *method,
			const char *path, const char *body, long *status, json_t **out,
			struct lh_error *err)
{
	return ui_call_service_as(req, which, method, path, body, NULL, status, out, err);
}

int ui_call_service_as(struct http_request *req, int which, const char *method,
		       const char *path, const char *body, const char *token, long *status,
		       json_t **out, struct lh_error *err)
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
	r.bearer_token = token ? token : auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
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
	*out = ui_parse_answer(resp.body ? resp.body : "", resp.body_len);
	rc = 0;
out:
	http_client_response_free(&resp);
	return rc;
}

/* A queryd query as JSON (format json, at most max_rows rows, within
 * timeout_ms or queryd's own limit when 0). */
int ui_run_query(struct http_request *req, const char *sql, long max_rows, long timeout_ms,
		     long *status, json_t **out, struct lh_error *err)
{
	json_t *q = json_object();
	json_object_set_new(q, "sql", json_string(sql));
	json_object_set_new(q, "format", json_string("json"));
	json_object_set_new(q, "max_rows", json_integer(max_rows));
	if (timeout_ms > 0)
		json_object_set_new(q, "timeout_ms", json_integer(timeout_ms));
	char *text = json_dump_compact(q);
	int rc = ui_call_service(req, GW_QUERYD, "POST", "/query", text, status, out, err);
	free(text);
	json_decref(q);
	return rc;
}

/* --- errors in words (note 4) ------------------------------------------- */

const char *ui_friendly_error(const char *code, int status)
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
		{ "unsupported_format", "The lakehouse does not read this kind of file." },
		{ "bad_delimiter", "The delimiter must be a comma, semicolon, tab or pipe." },
		{ "schema_drift", "The columns of this file differ from the dataset's latest "
				  "version, so nothing was changed." },
		{ "upstream_unavailable", "A part of the lakehouse is not reachable right now. "
					  "Try again in a moment." },
		{ "upstream_timeout", "A part of the lakehouse did not answer in time." },
		{ "busy", "The server is busy. Try again in a moment." },
		{ "shutting_down", "The server is shutting down." },
		{ "csrf_failed", "This form has expired or came from another site; reload the "
				 "page and try again." },
		/* rename and drop (ADR 0175) */
		{ "renamed", "This dataset has a new name." },
		{ "name_conflict", "Another dataset already has that name (letter case does not "
				   "count)." },
		{ "same_name", "That is the dataset's name already." },
		{ "confirm_mismatch", "To drop a dataset, type its name exactly." },
		/* search (ADR 0150, 0151) */
		{ "no_index", "This dataset has no search index yet." },
		{ "bad_where", "The filter must be one SQL condition, such as state = 'WI' AND "
			       "years > 2." },
		{ "forbidden_function", "The filter uses a function that is not allowed here." },
		{ "unknown_column", "There is no column by that name." },
		{ "embedder_unavailable", "The embedder this index uses is not reachable right "
					  "now." },
	};
	for (size_t i = 0; code && i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(code, map[i].code))
			return map[i].text;
	if (status >= 500)
		return "Something went wrong on the server.";
	return "The request was refused.";
}

/* An alert box for a service's error answer (or a transport error). */
void ui_render_error(struct html *h, const char *code, int status, const char *detail,
			 const json_t *answer)
{
	html_printf(h, "<div class=\"alert alert-error\" role=\"alert\" data-code=\"%s\">"
		       "<p class=\"alert-title\">%s</p>",
		    code ? code : "", ui_friendly_error(code, status));
	if (detail && *detail)
		html_printf(h, "<pre class=\"alert-detail\">%s</pre>", detail);
	long long line = ui_jint(answer, "line");
	if (line > 0)
		html_printf(h, "<p>At line %lld of the file.</p>", line);
	html_lit(h, "</div>");
}

void ui_render_error_answer(struct html *h, long status, const json_t *answer)
{
	const char *msg = ui_jstr(answer, "error");
	if (!msg)
		msg = "the service gave no explanation";
	ui_render_error(h, ui_jstr(answer, "code"), (int)status, msg, answer);
}

void ui_render_lh_error(struct html *h, const struct lh_error *err)
{
	/* a service's answer relayed as an error keeps its fields ("line") */
	ui_render_error(h, err->code, err->status, err->msg, err->extra);
}

/* --- layout --------------------------------------------------------------- */

/* The browser's token (its lh_csrf cookie), or a new one. */
void ui_page_token(struct http_request *req, struct ui_page_token *t)
{
	struct gateway *g = http_request_ctx(req);
	struct ui_session s;
	char cookie[UI_CSRF_TOKEN_HEX + 1];
	int have = ui_cookie_get(http_request_header(req, "Cookie"), UI_CSRF_COOKIE, cookie,
				 sizeof cookie) == 1 && ui_csrf_token_valid(cookie);

	/* Who the page is for (ADR 0212). */
	t->auth_on = g->auth_cfg && auth_enabled(g->auth_cfg);
	t->signed_in = 0;
	snprintf(t->who, sizeof t->who, "%s", http_request_who(req));
	t->role = http_request_role(req);
	if (t->auth_on && ui_request_session(req, &s, NULL)) {
		/* A session's pages carry its own CSRF token (ui_signin.c note 3). */
		t->signed_in = 1;
		snprintf(t->who, sizeof t->who, "%s", s.who);
		t->role = s.role;
		memcpy(t->tok, s.csrf, sizeof t->tok);
		t->fresh = !have || !ui_csrf_token_equal(cookie, s.csrf);
		memset(&s, 0, sizeof s);
		return;
	}
	if (have) {
		memcpy(t->tok, cookie, sizeof t->tok);
		t->fresh = 0;
		return;
	}
	t->fresh = ui_csrf_token_new(t->tok) == 0;
	if (!t->fresh)
		log_event("error", "gateway", "no randomness for a CSRF token: the page's "
					      "forms will be refused");
}

/* The first half of ui_csrf_ok(): the request may come from one of our pages
 * (Sec-Fetch-Site, when sent, says same-origin, or none: the user's own
 * action) and carries one token cookie, copied to `cookie`. */
int ui_csrf_cookie(struct http_request *req, char cookie[UI_CSRF_TOKEN_HEX + 1])
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
int ui_csrf_ok(struct http_request *req, const char *field)
{
	char cookie[UI_CSRF_TOKEN_HEX + 1];
	if (!ui_csrf_cookie(req, cookie))
		return 0;
	const char *header = http_request_header(req, UI_CSRF_HEADER);
	return ui_csrf_token_equal(cookie, header ? header : field);
}

void ui_page_open(struct html *h, const char *title, enum ui_nav nav,
		      const struct ui_page_token *t)
{
	static const struct {
		const char *href, *label;
	} links[] = { { "/", "Datasets" },
		      { "/upload", "Upload" },
		      { "/console", "SQL console" },
		      { "/search", "Search" } };
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
	int reader = t && ui_page_read_only(t);
	/* Nobody signed in on a server with tokens: every link would only lead
	 * back to the sign-in page, so the page shows none. */
	size_t nlinks = t && t->auth_on && !t->who[0] ? 0 : sizeof links / sizeof links[0];
	for (size_t i = 0; i < nlinks; i++) {
		if (reader && !strcmp(links[i].href, "/upload"))
			continue; /* a read token cannot upload (ADR 0212) */
		html_printf(h, "<a href=\"%s\"", links[i].href);
		if ((int)i == (int)nav)
			html_lit(h, " class=\"active\" aria-current=\"page\"");
		html_printf(h, ">%s</a>", links[i].label);
	}
	html_lit(h, "</nav>");
	if (t && t->auth_on && t->who[0]) {
		html_printf(h, "<div class=\"whoami\"><span title=\"role: %s\">%s</span>",
			    tokens_role_name((enum lh_role)t->role), t->who);
		if (t->signed_in)
			html_printf(h, "<form method=\"post\" action=\"/signout\" class=\"signout\">"
				       "<input type=\"hidden\" name=\"" UI_CSRF_FIELD "\" value=\"%s\">"
				       "<button type=\"submit\">Sign out</button></form>",
				    t->tok);
		html_lit(h, "</div>");
	}
	html_lit(h, "</div></header>\n<main>\n");
}

int ui_page_read_only(const struct ui_page_token *t)
{
	return t->auth_on && (t->role == LH_ROLE_READ || t->role == LH_ROLE_AGENT);
}

void ui_page_close(struct html *h)
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
int ui_send_html(struct http_request *req, int status, struct html *h,
		     const struct ui_page_token *t)
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
int ui_send_error_page(struct http_request *req, int status, const char *title,
			   const char *code, const char *detail, const json_t *answer)
{
	struct ui_page_token t;
	struct html h;
	ui_page_token(req, &t);
	html_init(&h, 0);
	ui_page_open(&h, title, UI_NAV_NONE, &t);
	html_printf(&h, "<h1>%s</h1>", title);
	ui_render_error(&h, code, status, detail, answer);
	html_lit(&h, "<p><a href=\"/\">Back to the datasets</a></p>");
	ui_page_close(&h);
	return ui_send_html(req, status, &h, &t);
}

/* --- a query result as a table ------------------------------------------ */

void ui_render_cell(struct html *h, const json_t *v)
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

void ui_render_result_table(struct html *h, const json_t *result, const char *id)
{
	const json_t *cols = json_object_get(result, "columns");
	const json_t *rows = json_object_get(result, "rows");
	html_printf(h, "<div class=\"table-wrap\"><table class=\"data\" id=\"%s\"><thead><tr>", id);
	for (size_t i = 0; i < json_array_size(cols); i++) {
		const json_t *c = json_array_get(cols, i);
		html_lit(h, ui_type_is_numeric(ui_jstr(c, "type")) ? "<th scope=\"col\" class=\"num\">"
								 : "<th scope=\"col\">");
		html_printf(h, "%s<span class=\"type\">%s</span></th>", ui_jstr(c, "name"),
			    ui_jstr(c, "type"));
	}
	html_lit(h, "</tr></thead><tbody>");
	for (size_t r = 0; r < json_array_size(rows); r++) {
		const json_t *row = json_array_get(rows, r);
		html_lit(h, "<tr>");
		for (size_t i = 0; i < json_array_size(cols); i++)
			ui_render_cell(h, json_array_get(row, i));
		html_lit(h, "</tr>");
	}
	if (json_array_size(rows) == 0)
		html_printf(h, "<tr><td class=\"empty\" colspan=\"%zu\">No rows.</td></tr>",
			    json_array_size(cols) ? json_array_size(cols) : 1);
	html_lit(h, "</tbody></table></div>");
}
