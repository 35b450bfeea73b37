/* ui_console.c — the SQL console: GET /console[?sql=&chart=&x=&y=] fills the
 * editor and runs nothing (note 5); POST /console runs the form's SQL and
 * shows one page of the result with its total, pager, chart and downloads
 * (note 8, ADR 0122); POST /console/download streams the whole result as
 * csv, parquet or json. "note n" means ui.c's DESIGN NOTES.
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	if (ui_run_query(req, q, 1, LH_UI_COUNT_TIMEOUT_MS, &status, &r, &err) == 0 && status == 200) {
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
		ny += ui_type_is_numeric(ui_jstr(json_array_get(cols, i), "type")) != 0;
	if (ny == 0)
		return;
	html_printf(h, "<div class=\"chart-controls\" id=\"chart-controls\"><label>Chart "
		       "<select name=\"chart\" id=\"chart-kind\"><option value=\"show\"%s>shown"
		       "</option><option value=\"none\"%s>none</option></select></label>",
		    off ? "" : " selected", off ? " selected" : "");
	html_lit(h, "<label>x <select name=\"x\" id=\"chart-x\">");
	for (size_t i = 0; i < nc; i++) {
		const char *name = ui_jstr(json_array_get(cols, i), "name");
		html_printf(h, "<option value=\"%s\"%s>%s</option>", name,
			    i == sel->x ? " selected" : "", name);
	}
	html_lit(h, "</select></label><label>y <select name=\"y\" id=\"chart-y\">");
	for (size_t i = 0; i < nc; i++) {
		const json_t *c = json_array_get(cols, i);
		if (!ui_type_is_numeric(ui_jstr(c, "type")))
			continue;
		html_printf(h, "<option value=\"%s\"%s>%s</option>", ui_jstr(c, "name"),
			    i == sel->y ? " selected" : "", ui_jstr(c, "name"));
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
		const char *name = ui_jstr(json_array_get(cols, i), "name");
		if (cr->x && name && !strcmp(name, cr->x))
			sel->x = i;
	}
	for (size_t i = 0; i < nc && sel->y == nc; i++)
		if (i != sel->x && ui_type_is_numeric(ui_jstr(json_array_get(cols, i), "type")))
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
	ui_render_result_table(h, r, "result");
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
	if (ui_run_query(req, q, LH_UI_CONSOLE_ROWS, 0, &status, &r, &err) != 0) {
		ui_render_lh_error(h, &err);
		*status_out = err.status;
	} else if (status != 200) {
		ui_render_error_answer(h, status, r);
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
	struct gateway *g = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct ui_page_token t;
	struct peer_call call = ui_peer_call(req);
	struct manifest_summary *ds = NULL;
	size_t nds = 0;
	int page_status = mode == CONSOLE_REFUSED ? 403 : 200;
	const char *sql = cr->sql;
	struct html h;

	html_init(&h, 0);
	ui_page_token(req, &t);
	if (mode != CONSOLE_FILL && ui_is_htmx(req)) {
		int ran = mode == CONSOLE_RUN && sql && *sql;
		if (ran) {
			console_result(req, &h, cr, t.tok, &page_status);
			render_chart_prefs(&h, cr, 1);
		} else if (mode == CONSOLE_REFUSED) {
			ui_render_error(&h, "csrf_failed", 403, NULL, NULL);
		}
		ui_send_html(req, mode == CONSOLE_REFUSED ? 403 : 200, &h, NULL);
		if (ran)
			console_push_url(req, cr);
		return 0;
	}
	ui_page_open(&h, "SQL console", UI_NAV_CONSOLE, &t);
	html_lit(&h, "<h1>SQL console</h1>");
	html_printf(&h, "<form id=\"console-form\" class=\"card console\" method=\"post\" "
			"action=\"/console\" hx-post=\"/console\" hx-target=\"#console-result\" "
			"hx-indicator=\"#running\"><input type=\"hidden\" name=\"" UI_CSRF_FIELD
			"\" value=\"%s\">",
		    t.tok);
	render_chart_prefs(&h, cr, 0);
	html_lit(&h, "<div class=\"chips\" id=\"dataset-chips\"><span class=\"meta\">Datasets:"
		     "</span>");
	if (catalog_client_datasets(g->catalog, &call, &ds, &nds, &err) == 0) {
		for (size_t i = 0; i < nds; i++) {
			const char *name = ds[i].name;
			char *q = xasprintf("SELECT * FROM %s LIMIT 100", name);
			html_printf(&h, "<a class=\"chip\" href=\"/console?sql=%U\" "
					"data-insert=\"%s\" title=\"Insert %s\">%s</a>",
				    q, name, name, name);
			free(q);
		}
		if (nds == 0)
			html_lit(&h, "<span class=\"meta\">none yet</span>");
	} else {
		html_lit(&h, "<span class=\"meta\">the catalog is not reachable</span>");
		http_request_log_detail(req, err.detail);
	}
	free(ds);
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
		ui_render_error(&h, "csrf_failed", 403, NULL, NULL);
	else if (sql && *sql)
		html_lit(&h, "<p class=\"meta\" id=\"console-hint\">The query above came with "
			     "the link and has not run. Read it, then press Run.</p>");
	html_lit(&h, "</div>");
	ui_page_close(&h);
	return ui_send_html(req, page_status, &h, &t);
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
	int rc = console_page(req, &cr, ui_csrf_ok(req, token) ? CONSOLE_RUN : CONSOLE_REFUSED);
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

	if (!ui_csrf_ok(req, token)) {
		ui_send_error_page(req, 403, "Download refused", "csrf_failed", NULL, NULL);
		goto out;
	}
	for (i = 0; fmt && i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(fmt, formats[i].format))
			break;
	if (!fmt || i == sizeof formats / sizeof formats[0]) {
		ui_send_error_page(req, 400, "Download refused", "bad_request",
				"the format must be csv, parquet or json", NULL);
		goto out;
	}
	if (!sql || !*sql) {
		ui_send_error_page(req, 400, "Download refused", "bad_request",
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
		ui_send_error_page(req, err.status, "The download failed", err.code, err.msg, NULL);
		goto out;
	}
	a = ui_parse_answer(answer, len);
	ui_send_error_page(req, status >= 400 && status < 600 ? (int)status : 502,
			"The download failed", ui_jstr(a, "code"),
			ui_jstr(a, "error") ? ui_jstr(a, "error") : "the service gave no explanation", a);
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
