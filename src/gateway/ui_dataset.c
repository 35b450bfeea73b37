/* ui_dataset.c — one dataset's page, GET /datasets/<name>[?version=N]:
 * summary, a search box (a GET form to /search, ui_search.c), schema,
 * versions and the first rows (the server's own SELECT over a validated
 * name, note 5), and its downloads, GET
 * /datasets/<name>/download?version=N&format=parquet|csv, streamed from
 * queryd through the gateway's proxy. "note n" means ui.c's DESIGN NOTES.
 *
 * Rename and drop (ADR 0175): the page ends with two POST forms carrying
 * the CSRF token (note 6). POST /datasets/<name>/rename (field `to`)
 * renames through catalogd and answers 303 to the new name's page. POST
 * /datasets/<name>/drop drops only when the field `confirm` is the
 * dataset's name typed again, exactly (as GitHub asks before deleting a
 * repository): the input's pattern makes the browser refuse anything else,
 * and the server checks it again, so a form sent without the page's script
 * or by hand is judged the same. A page for a renamed name says where the
 * dataset went, with a link.
 *
 * Personal columns (ADR 0211): the schema marks the masked columns
 * "personal"; an admin's page has a form, POST /datasets/<name>/masks
 * (field `columns`, comma-separated; empty clears), which sets them through
 * catalogd with the caller's token. With tokens configured, the rename, drop
 * and personal-column forms are shown to admin tokens only, and the upload
 * button to write and admin tokens (ADR 0212); the services refuse the rest
 * anyway.
 *
 * Documents (ADR 0229): a dataset whose schema is the documents one (SPEC
 * 15: doc_id, file_name, chunk, page, text, chars) also lists its documents
 * (one GROUP BY over the version shown, at most LH_UI_DOCUMENTS_ROWS) with
 * a download link each to /v1/documents/<doc_id>, which ingestd serves with
 * the caller's own rights (ADR 0227).
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
#include "common/tokens.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- dataset page --------------------------------------------------------- */

/* Whether `col` is in the JSON array `masked` (NULL = none). */
static int is_masked(const json_t *masked, const char *col)
{
	size_t i;
	const json_t *c;
	json_array_foreach(masked, i, c)
		if (json_is_string(c) && !strcmp(json_string_value(c), col))
			return 1;
	return 0;
}

static void render_schema(struct html *h, const struct manifest *m, const json_t *masked)
{
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list schema\" id=\"schema\"><thead>"
		    "<tr><th scope=\"col\">"
		    "Column</th><th scope=\"col\">Type</th><th scope=\"col\">Nullable</th></tr>"
		    "</thead><tbody>");
	for (size_t i = 0; i < m->ncolumns; i++) {
		const struct manifest_column *c = &m->columns[i];
		html_printf(h, "<tr><td class=\"colname\">%s", c->name);
		if (is_masked(masked, c->name))
			html_lit(h, " <span class=\"badge personal\" title=\"masked for read and agent "
				    "tokens\">personal</span>");
		html_printf(h, "</td><td><code>%s</code></td><td>%s</td></tr>", c->type,
			    c->nullable ? "yes" : "no");
	}
	html_lit(h, "</tbody></table></div>");
}

/* Whether the manifest has exactly the documents schema (ADR 0225). */
static int is_documents(const struct manifest *m)
{
	static const char *const cols[][2] = { { "doc_id", "utf8" }, { "file_name", "utf8" },
		{ "chunk", "int64" }, { "page", "int64" }, { "text", "utf8" }, { "chars", "int64" } };
	if (m->ncolumns != 6)
		return 0;
	for (size_t i = 0; i < 6; i++)
		if (strcmp(m->columns[i].name, cols[i][0]) || strcmp(m->columns[i].type, cols[i][1]))
			return 0;
	return 1;
}

/* The documents of version `version` with a download link each (ADR 0229). */
static void render_documents(struct http_request *req, struct html *h, const char *name,
			     long long version)
{
	struct lh_error err = { 0 };
	json_t *res = NULL;
	long st = 0;
	char *sql = xasprintf("SELECT doc_id, min(file_name) AS file_name, max(page) AS pages, "
			      "count(*) AS chunks, sum(chars) AS chars FROM \"%s@%lld\" "
			      "GROUP BY doc_id ORDER BY 2, 1 LIMIT %d", name, version,
			      LH_UI_DOCUMENTS_ROWS + 1);
	html_lit(h, "<section class=\"card\" id=\"documents\"><h2>Documents</h2>");
	if (ui_run_query(req, sql, LH_UI_DOCUMENTS_ROWS + 1, 0, &st, &res, &err) != 0) {
		ui_render_lh_error(h, &err);
	} else if (st != 200) {
		ui_render_error_answer(h, st, res);
	} else {
		const json_t *rows = json_object_get(res, "rows");
		size_t n = json_array_size(rows);
		html_lit(h, "<div class=\"table-wrap\"><table class=\"list documents\"><thead><tr>"
			    "<th scope=\"col\">File</th><th scope=\"col\">Pages</th>"
			    "<th scope=\"col\">Chunks</th><th scope=\"col\">Characters</th>"
			    "</tr></thead><tbody>");
		for (size_t i = 0; i < n && i < LH_UI_DOCUMENTS_ROWS; i++) {
			const json_t *r = json_array_get(rows, i);
			const char *id = json_string_value(json_array_get(r, 0));
			const char *file = json_string_value(json_array_get(r, 1));
			const json_t *pages = json_array_get(r, 2);
			char chunks[32], chars[32];
			ui_fmt_count(chunks, sizeof chunks, (long long)json_integer_value(json_array_get(r, 3)));
			ui_fmt_count(chars, sizeof chars, (long long)json_integer_value(json_array_get(r, 4)));
			if (!id)
				continue;
			html_printf(h, "<tr><td class=\"doc-name\"><a class=\"doc-download\" "
					"href=\"/v1/documents/%U\" download title=\"download the original "
					"file\">%s</a></td><td>", id, file ? file : id);
			if (json_is_integer(pages))
				html_printf(h, "%lld", (long long)json_integer_value(pages));
			else
				html_lit(h, "\xe2\x80\x94");
			html_printf(h, "</td><td>%s</td><td>%s</td></tr>", chunks, chars);
		}
		html_lit(h, "</tbody></table></div>");
		if (n > LH_UI_DOCUMENTS_ROWS)
			html_printf(h, "<p class=\"meta\">The first %d documents by name; the console "
					"lists them all.</p>", LH_UI_DOCUMENTS_ROWS);
	}
	html_lit(h, "</section>");
	json_decref(res);
	lh_error_clear(&err);
	free(sql);
}

static void render_versions(struct html *h, const char *name,
			    const struct manifest_summary *versions, size_t nversions,
			    long long current)
{
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list\" id=\"versions\"><thead><tr>"
		    "<th scope=\"col\">Version"
		    "</th><th scope=\"col\">Time</th><th scope=\"col\" class=\"num\">Rows</th>"
		    "<th scope=\"col\">Mode</th><th scope=\"col\">Ingested by</th></tr></thead>"
		    "<tbody>");
	for (size_t i = nversions; i-- > 0;) {
		const struct manifest_summary *v = &versions[i];
		long long n = (long long)v->version;
		char rows[32], when[48];
		ui_fmt_count(rows, sizeof rows, v->row_count > 0 ? v->row_count : 0);
		ui_fmt_time(when, sizeof when, v->created_at);
		html_lit(h, n == current ? "<tr class=\"current\">" : "<tr>");
		html_printf(h, "<td><a href=\"/datasets/%U?version=%lld\">v%lld</a>", name, n, n);
		if (n == current)
			html_lit(h, " <span class=\"badge\">shown</span>");
		html_printf(h, "</td><td>%s</td><td class=\"num\">%s</td><td>%s</td><td class=\"who\">"
			       "%s</td></tr>",
			    when, rows, v->mode, v->ingested_by);
	}
	html_lit(h, "</tbody></table></div>");
}

/* The page of a name that catalogd says was renamed: where it went. */
static int renamed_page(struct http_request *req, const char *name, const struct lh_error *err)
{
	const char *to = json_string_value(json_object_get(err->extra, "renamed_to"));
	struct ui_page_token t;
	struct html h;
	ui_page_token(req, &t);
	html_init(&h, 0);
	ui_page_open(&h, name, UI_NAV_DATASETS, &t);
	html_printf(&h, "<p class=\"crumbs\"><a href=\"/\">Datasets</a> / %s</p><h1>%s</h1>"
			"<div class=\"alert alert-info\" role=\"status\" data-code=\"renamed\">"
			"<p class=\"alert-title\">This dataset has a new name.</p>"
			"<p id=\"renamed-message\">%s</p>", name, name, err->msg);
	if (to && dataset_name_valid(to))
		html_printf(&h, "<p><a class=\"button\" id=\"renamed-link\" href=\"/datasets/%s\">"
				"Go to %s</a></p>", to, to);
	html_lit(&h, "</div>");
	ui_page_close(&h);
	return ui_send_html(req, 404, &h, &t);
}

/* The personal-columns form of an admin's page (ADR 0211). */
static void render_masks_form(struct html *h, const char *name, const json_t *masked,
			      const struct ui_page_token *t)
{
	struct html cols;
	size_t i;
	const json_t *c;
	html_init(&cols, 4096);
	json_array_foreach(masked, i, c)
		html_printf(&cols, "%s%s", i ? "," : "", json_string_value(c));
	html_printf(h, "<section class=\"card manage\" id=\"personal\"><h2>Personal columns</h2>"
		       "<form class=\"manage-form\" id=\"masks-form\" method=\"post\" "
		       "action=\"/datasets/%s/masks\">"
		       "<input type=\"hidden\" name=\"%s\" value=\"%s\">"
		       "<p>Tokens with the role read or agent read these columns as NULL everywhere "
		       "(SQL, search, MCP, downloads); write and admin tokens see them.</p>"
		       "<label for=\"masks-columns\">Columns, comma-separated</label> "
		       "<input type=\"text\" id=\"masks-columns\" name=\"columns\" value=\"%s\" "
		       "autocomplete=\"off\" spellcheck=\"false\" placeholder=\"email,phone,dob\"> "
		       "<button type=\"submit\" class=\"secondary\" id=\"masks-button\">Save"
		       "</button></form></section>",
		    name, UI_CSRF_FIELD, t->tok, cols.overflow ? "" : cols.buf ? cols.buf : "");
	html_free(&cols);
}

/* The dataset's masked columns as catalogd says (a new reference; NULL when
 * none or not known: the page then marks nothing). */
static json_t *page_masks(struct http_request *req, const char *name)
{
	struct lh_error err = { 0 };
	json_t *answer = NULL, *cols = NULL;
	long st = 0;
	char *path = xasprintf("/catalog/masks/%s", name);
	if (ui_call_service(req, GW_CATALOGD, "GET", path, NULL, &st, &answer, &err) == 0 &&
	    st == 200)
		cols = json_incref(json_object_get(answer, "columns"));
	json_decref(answer);
	lh_error_clear(&err);
	free(path);
	return cols;
}

/* The rename and drop forms at the end of a dataset's page (ADR 0175). */
static void render_manage(struct html *h, const char *name, long long versions,
			  const struct ui_page_token *t)
{
	html_printf(h, "<section class=\"card manage\" id=\"manage\"><h2>Rename or drop</h2>"
		       "<form class=\"manage-form\" id=\"rename-form\" method=\"post\" "
		       "action=\"/datasets/%s/rename\">"
		       "<input type=\"hidden\" name=\"%s\" value=\"%s\">"
		       "<p>Renaming keeps every version, the history and the search index. Queries "
		       "use the new name at once; for %lld days the old name answers "
		       "\xe2\x80\x9crenamed to\xe2\x80\xa6\xe2\x80\x9d.</p>"
		       "<label for=\"rename-to\">New name</label> "
		       "<input type=\"text\" id=\"rename-to\" name=\"to\" required maxlength=\"%d\" "
		       "pattern=\"[A-Za-z_][A-Za-z0-9_]*\" autocomplete=\"off\" spellcheck=\"false\" "
		       "title=\"letters, digits and underscores, starting with a letter or underscore\"> "
		       "<button type=\"submit\" class=\"secondary\" id=\"rename-button\">Rename"
		       "</button></form>",
		    name, UI_CSRF_FIELD, t->tok, (long long)(LH_RENAME_REDIRECT_MS / (86400ll * 1000)),
		    LH_DATASET_NAME_MAX);
	/* names are [A-Za-z0-9_]: as a pattern, the name matches itself only */
	html_printf(h, "<form class=\"manage-form danger-zone\" id=\"drop-form\" method=\"post\" "
		       "action=\"/datasets/%s/drop\">"
		       "<input type=\"hidden\" name=\"%s\" value=\"%s\">"
		       "<p>Dropping deletes <strong>%s</strong> and all its %lld version%s from the "
		       "catalog. This cannot be undone. Type <strong>%s</strong> to confirm.</p>"
		       "<label for=\"drop-confirm\">Dataset name</label> "
		       "<input type=\"text\" id=\"drop-confirm\" name=\"confirm\" required "
		       "pattern=\"%s\" autocomplete=\"off\" spellcheck=\"false\" "
		       "title=\"type %s to drop it\"> "
		       "<button type=\"submit\" class=\"danger\" id=\"drop-button\">Drop this "
		       "dataset</button></form></section>",
		    name, UI_CSRF_FIELD, t->tok, name, versions, versions == 1 ? "" : "s", name, name,
		    name);
}

static int dataset_page(struct http_request *req, const char *name)
{
	struct gateway *g = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct peer_call call = ui_peer_call(req);
	struct manifest *manifest = NULL;
	struct manifest_summary *versions = NULL;
	size_t nversions = 0;
	json_t *preview = NULL, *masked = NULL;
	long st_p = 0;
	char *sql = NULL, *console_sql = NULL;
	struct ui_page_token t;
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
			return ui_send_error_page(req, 400, "Bad version", "bad_request",
					       "the version must be a positive number", NULL);
		}
	}
	if (catalog_client_manifest(g->catalog, &call, name, want, &manifest, &err) != 0) {
		/* catalogd's own answer (404, ...) or no answer: both in its words */
		http_request_log_detail(req, err.detail);
		html_free(&h);
		if (err.status == 404 && !strcmp(err.code, "renamed")) {
			status = renamed_page(req, name, &err);
			goto out;
		}
		status = ui_send_error_page(req, err.status == 404 ? 404 : 502, name, err.code,
					    err.msg, err.extra);
		goto out;
	}
	int have_versions = catalog_client_versions(g->catalog, &call, name, &versions,
						    &nversions, &err) == 0;
	lh_error_clear(&err);
	long long version = (long long)manifest->version;
	sql = xasprintf("SELECT * FROM \"%s@%lld\"", name, version);
	int prc = ui_run_query(req, sql, LH_UI_PREVIEW_ROWS, 0, &st_p, &preview, &err);

	long long latest = 0;
	for (size_t i = 0; i < nversions; i++)
		if (versions[i].version > latest)
			latest = (long long)versions[i].version;
	char rows[32], size[32], when[48];
	ui_fmt_count(rows, sizeof rows, manifest->row_count);
	ui_fmt_bytes(size, sizeof size, (unsigned long long)manifest->size_bytes);
	ui_fmt_time(when, sizeof when, manifest->updated_at);

	/* the Query button asks for the version shown when the address names
	 * one (?version=N), the latest otherwise */
	console_sql = want ? xasprintf("SELECT * FROM \"%s@%lld\" LIMIT 100", name, version)
			   : xasprintf("SELECT * FROM %s LIMIT 100", name);
	ui_page_token(req, &t);
	masked = page_masks(req, name);
	ui_page_open(&h, name, UI_NAV_DATASETS, &t);
	html_printf(&h, "<p class=\"crumbs\"><a href=\"/\">Datasets</a> / %s</p>"
			"<div class=\"page-head\"><h1 id=\"dataset-name\">%s</h1><div class=\"actions\">"
			"<a class=\"button\" href=\"/datasets/%U/download?version=%lld&amp;"
			"format=parquet\" download>Download Parquet</a>"
			"<a class=\"button secondary\" href=\"/datasets/%U/download?version=%lld&amp;"
			"format=csv\" download>Download CSV</a>"
			"<a class=\"button secondary\" href=\"/console?sql=%U\">Query</a>",
		    name, name, name, version, name, version, console_sql);
	if (!ui_page_read_only(&t))
		html_printf(&h, "<a class=\"button secondary\" href=\"/upload?name=%U\">Upload new "
				"version</a>", name);
	html_lit(&h, "</div></div>");
	html_printf(&h, "<p class=\"summary\">Version <strong>%lld</strong>%s \xc2\xb7 "
			"<strong>%s</strong> rows \xc2\xb7 %zu columns \xc2\xb7 %s Parquet "
			"\xc2\xb7 updated %s</p>",
		    version, latest && version != latest ? " (not the latest)" : " (latest)", rows,
		    manifest->ncolumns, size, when);
	/* a search box: a GET form to the Search page, which runs a search
	 * without a filter (ui_search.c note 1); the version shown when the
	 * address names one */
	html_lit(&h, "<form class=\"search dataset-search\" id=\"dataset-search\" method=\"get\" "
		     "action=\"/search\" role=\"search\">");
	if (want)
		html_printf(&h, "<input type=\"hidden\" name=\"dataset\" value=\"%s@%lld\">", name,
			    version);
	else
		html_printf(&h, "<input type=\"hidden\" name=\"dataset\" value=\"%s\">", name);
	html_printf(&h, "<label for=\"dataset-q\" class=\"visually-hidden\">Search %s</label>"
			"<input type=\"search\" id=\"dataset-q\" name=\"q\" maxlength=\"4096\" "
			"placeholder=\"Search the rows of %s\xe2\x80\xa6\"><button type=\"submit\" "
			"class=\"secondary\" id=\"dataset-search-button\">Search</button></form>",
		    name, name);
	html_lit(&h, "<div class=\"cols\"><section class=\"card\"><h2>Schema</h2>");
	render_schema(&h, manifest, masked);
	html_lit(&h, "</section><section class=\"card\"><h2>Versions</h2>");
	if (have_versions)
		render_versions(&h, name, versions, nversions, version);
	else
		html_lit(&h, "<p class=\"empty\">The version history is not available.</p>");
	html_lit(&h, "</section></div>");
	if (is_documents(manifest))
		render_documents(req, &h, name, version);
	html_printf(&h, "<section class=\"card\"><h2>First rows of version %lld</h2>", version);
	if (prc != 0) {
		ui_render_lh_error(&h, &err);
	} else if (st_p != 200) {
		ui_render_error_answer(&h, st_p, preview);
	} else {
		char shown[32];
		ui_fmt_count(shown, sizeof shown, (long long)json_array_size(json_object_get(preview,
											  "rows")));
		html_printf(&h, "<p class=\"meta\">%s of %s rows</p>", shown, rows);
		ui_render_result_table(&h, preview, "preview");
	}
	html_lit(&h, "</section>");
	if (!t.auth_on || t.role == LH_ROLE_ADMIN) {
		render_masks_form(&h, name, masked, &t);
		render_manage(&h, name, latest ? latest : version, &t);
	}
	ui_page_close(&h);
	status = ui_send_html(req, 200, &h, &t);
out:
	manifest_unref(manifest);
	free(versions);
	json_decref(masked);
	json_decref(preview);
	lh_error_clear(&err);
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
		ui_send_error_page(req, 404, "Not found", "not_found", "no such page", NULL);
		return -1;
	}
	memcpy(name, rest, len);
	name[len] = '\0';
	if (!dataset_name_valid(name)) {
		ui_send_error_page(req, 404, "Not found", "bad_name", "no dataset has that name",
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

/* --- rename and drop (ADR 0175) -------------------------------------------- */

/* The page after a drop: what went, and the way back. */
static int dropped_page(struct http_request *req, const char *name)
{
	struct ui_page_token t;
	struct html h;
	ui_page_token(req, &t);
	html_init(&h, 0);
	ui_page_open(&h, "Dropped", UI_NAV_DATASETS, &t);
	html_printf(&h, "<p class=\"crumbs\"><a href=\"/\">Datasets</a></p><h1>Dropped</h1>"
			"<div class=\"alert alert-info\" role=\"status\" id=\"dropped\">"
			"<p class=\"alert-title\">Dataset %s was dropped.</p><p>Its versions are gone "
			"from the catalog; its files are deleted by the next garbage collection "
			"(<code>lakehouse gc</code>) once older than its grace period.</p></div>"
			"<p><a href=\"/\">Back to the datasets</a></p>", name);
	ui_page_close(&h);
	return ui_send_html(req, 200, &h, &t);
}

/* POST /datasets/<name>/masks (ADR 0211): the field `columns`,
 * comma-separated, to catalogd with the caller's token; 303 back to the
 * page, or an error page in catalogd's words. */
static int post_masks(struct http_request *req, const char *name, const char *body, size_t n)
{
	struct lh_error err = { 0 };
	char *cols = form_value(body, n, "columns");
	json_t *arr = json_array(), *answer = NULL;
	long st = 0;
	int rc;
	for (char *p = cols ? cols : ""; *p;) {
		char *comma = strchr(p, ',');
		size_t k = comma ? (size_t)(comma - p) : strlen(p);
		char *a = p, *b = p + k;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a)
			json_array_append_new(arr, json_stringn(a, (size_t)(b - a)));
		p = comma ? comma + 1 : p + k;
	}
	json_t *doc = json_pack("{s:o}", "columns", arr);
	char *text = json_dumps(doc, JSON_COMPACT);
	char *path = xasprintf("/catalog/masks/%s", name);
	if (ui_call_service(req, GW_CATALOGD, "PUT", path, text, &st, &answer, &err) != 0) {
		rc = ui_send_error_page(req, 502, "Not saved", err.code, err.msg, NULL);
	} else if (st != 200) {
		rc = ui_send_error_page(req, st >= 400 && st < 500 ? (int)st : 502, "Not saved",
					ui_jstr(answer, "code"), ui_jstr(answer, "error"), answer);
	} else {
		char *where = xasprintf("/datasets/%s#personal", name);
		http_respond_bytes(req, 303, "text/plain; charset=utf-8", "", 0);
		http_response_header(req, "Location", where);
		free(where);
		rc = 0;
	}
	lh_error_clear(&err);
	json_decref(answer);
	json_decref(doc);
	free(text);
	free(path);
	free(cols);
	return rc;
}

/* POST /datasets/<name>/rename (csrf, to) and /datasets/<name>/drop (csrf,
 * confirm). */
int ui_dataset_post_end(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct peer_call call = ui_peer_call(req);
	struct manifest *m = NULL;
	const char *rest = http_request_path_rest(req);
	const char *slash = strchr(rest, '/');
	char name[LH_DATASET_NAME_MAX + 1];
	size_t len = slash ? (size_t)(slash - rest) : 0, n = 0;
	const char *body = http_request_body(req, &n);
	char *token = form_value(body ? body : "", n, UI_CSRF_FIELD);
	char *to = form_value(body ? body : "", n, "to");
	char *confirm = form_value(body ? body : "", n, "confirm");
	int rc = 0, rename = slash && !strcmp(slash, "/rename"), drop = slash && !strcmp(slash, "/drop");
	int masks = slash && !strcmp(slash, "/masks");

	if (!slash || len == 0 || len > LH_DATASET_NAME_MAX || (!rename && !drop && !masks)) {
		rc = ui_send_error_page(req, 404, "Not found", "not_found", "no such page", NULL);
		goto out;
	}
	memcpy(name, rest, len);
	name[len] = '\0';
	if (!dataset_name_valid(name)) {
		rc = ui_send_error_page(req, 404, "Not found", "bad_name", "no dataset has that name",
					NULL);
		goto out;
	}
	if (!ui_csrf_ok(req, token)) {
		rc = ui_send_error_page(req, 403, rename ? "Not renamed" : masks ? "Not saved"
									   : "Not dropped",
					"csrf_failed", "nothing was changed", NULL);
		goto out;
	}
	if (masks) {
		rc = post_masks(req, name, body ? body : "", n);
		goto out;
	}
	if (rename) {
		if (catalog_client_rename(g->catalog, &call, name, to ? to : "", &m, &err) != 0) {
			http_request_log_detail(req, err.detail);
			rc = ui_send_error_page(req, err.status >= 400 && err.status < 500 ? err.status
											    : 502,
						"Not renamed", err.code, err.msg, err.extra);
			goto out;
		}
		char *where = xasprintf("/datasets/%s", m->name);
		http_respond_bytes(req, 303, "text/plain; charset=utf-8", "", 0);
		http_response_header(req, "Location", where);
		free(where);
		goto out;
	}
	if (!confirm || strcmp(confirm, name)) {
		char *why = xasprintf("the name typed was not \"%s\" (letter case counts); nothing "
				      "was dropped", name);
		rc = ui_send_error_page(req, 400, "Not dropped", "confirm_mismatch", why, NULL);
		free(why);
		goto out;
	}
	if (catalog_client_drop(g->catalog, &call, name, &err) != 0) {
		http_request_log_detail(req, err.detail);
		rc = ui_send_error_page(req, err.status >= 400 && err.status < 500 ? err.status : 502,
					"Not dropped", err.code, err.msg, err.extra);
		goto out;
	}
	rc = dropped_page(req, name);
out:
	manifest_unref(m);
	lh_error_clear(&err);
	free(confirm);
	free(to);
	free(token);
	return rc < 0 ? -1 : 0;
}
