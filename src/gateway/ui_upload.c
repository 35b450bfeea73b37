/* ui_upload.c — the upload page, GET /upload[?name=], and POST /upload: a
 * multipart form (csrf, name, mode, file, types) streamed to ingestd through the
 * gateway's proxy once its CSRF token is checked (notes 6-7), its answer
 * shown as a result or a schema drift side by side. "note n" means ui.c's
 * DESIGN NOTES.
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/error.h"
#include "common/format_words.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- upload --------------------------------------------------------------- */

/* The token field comes first: the gateway reads it from the body's first
 * part (note 7). */
static void render_upload_form(struct html *h, const char *name, const struct ui_page_token *t)
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
	/* the delimiter comes before the file: ingestd picks the format from
	 * the file's first bytes (ADR 0180) */
	html_lit(h, "<label for=\"delimiter\">Delimiter</label>"
		    "<select id=\"delimiter\" name=\"delimiter\">"
		    "<option value=\"\" selected>Detect (comma unless the file shows another)"
		    "</option><option value=\",\">Comma ,</option>"
		    "<option value=\";\">Semicolon ;</option><option value=\"tab\">Tab</option>"
		    "<option value=\"|\">Pipe |</option></select>"
		    "<p class=\"hint\">For delimited text (CSV, TSV); other formats ignore it.</p>");
	html_lit(h, "<label for=\"file\">File</label>"
		    "<input id=\"file\" name=\"file\" type=\"file\" "
		    "accept=\".csv,.tsv,.tab,.txt,text/csv,text/tab-separated-values,.xlsx,.xlsm,"
		    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
		    ".json,.ndjson,.jsonl,application/json,application/x-ndjson,"
		    ".parquet,application/vnd.apache.parquet\" required>"
		    /* ADR 0186: an Excel workbook's sheet, ingestd's "sheet" field */
		    "<label for=\"sheet\">Sheet <span class=\"hint\">(optional)</span></label>"
		    "<input id=\"sheet\" name=\"sheet\" autocomplete=\"off\" maxlength=\"124\" "
		    "placeholder=\"Sheet1\">"
		    "<p class=\"hint\">For an Excel workbook (.xlsx): the sheet to read; empty "
		    "reads the first visible sheet. Other formats ignore it.</p>"
		    "<fieldset class=\"mode\"><legend>Mode</legend>"
		    "<label><input type=\"radio\" name=\"mode\" value=\"replace\" checked> Replace"
		    " <span class=\"hint\">the file becomes the new content</span></label>"
		    "<label><input type=\"radio\" name=\"mode\" value=\"append\"> Append"
		    " <span class=\"hint\">add its rows to the latest version</span></label>"
		    "</fieldset>"
		    /* ADR 0171: declared types, sent as ingestd's "types" field */
		    "<label for=\"types\">Column types <span class=\"hint\">(optional)</span>"
		    "</label><input id=\"types\" name=\"types\" autocomplete=\"off\" "
		    "placeholder=\"zip:utf8, hourly_rate:decimal(10,2)\">"
		    "<p class=\"hint\">Fix a column's type instead of letting the file decide: "
		    "column:type, separated by commas. Types: bool, int64, float64, date32, "
		    "timestamp[us], utf8, decimal(p,s) for exact money. The dataset keeps them for "
		    "later uploads.</p>"
		    /* ADR 0173: explicit evolution */
		    "<label class=\"check\"><input type=\"checkbox\" id=\"evolve\" name=\"evolve\" "
		    "value=\"true\"> Accept schema changes <span class=\"hint\">added, removed or "
		    "reordered columns and widened types make a new version with this file's "
		    "schema; older rows read the new columns as empty</span></label>"
		    "<div class=\"form-actions\"><button id=\"upload-button\" type=\"submit\">Upload"
		    "</button><progress id=\"upload-progress\" max=\"100\" value=\"0\" hidden>"
		    "</progress><span id=\"upload-percent\" class=\"meta\"></span></div></form>");
}

/* Side by side: the live schema and the file's, the differing columns marked
 * with a class and a word (never colour alone). */
static void render_drift(struct html *h, const json_t *a, int narrowed)
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
			const char *cname = ui_jstr(c, "name");
			const char *change = NULL;
			for (size_t k = 0; k < json_array_size(diff); k++) {
				const json_t *d = json_array_get(diff, k);
				const char *ch = ui_jstr(d, "change");
				if (!cname || !ch || !ui_jstr(d, "column") ||
				    strcmp(ui_jstr(d, "column"), cname))
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
				    cname, ui_jstr(c, "type"));
			if (change)
				html_printf(h, "<span class=\"marker\">\xe2\x9a\xa0 %s</span>", word);
			html_lit(h, "</td></tr>");
		}
		html_lit(h, "</tbody></table></section>");
	}
	html_lit(h, "</div><ul class=\"diff-list\">");
	for (size_t k = 0; k < json_array_size(diff); k++) {
		const json_t *d = json_array_get(diff, k);
		const char *ch = ui_jstr(d, "change"), *col = ui_jstr(d, "column");
		if (!ch)
			continue;
		if (!strcmp(ch, "added"))
			html_printf(h, "<li>Column <strong>%s</strong> is new in this file (%s).</li>",
				    col, ui_jstr(d, "new_type"));
		else if (!strcmp(ch, "removed"))
			html_printf(h, "<li>Column <strong>%s</strong> (%s) is missing from this "
				       "file.</li>",
				    col, ui_jstr(d, "old_type"));
		else if (!strcmp(ch, "type_changed"))
			html_printf(h, "<li>Column <strong>%s</strong> changed type from %s to %s."
				       "</li>",
				    col, ui_jstr(d, "old_type"), ui_jstr(d, "new_type"));
		else
			html_printf(h, "<li>Column <strong>%s</strong> moved to another position.</li>",
				    col);
	}
	if (narrowed)   /* ADR 0173: evolution only widens */
		html_lit(h, "</ul><p class=\"hint\">The dataset was left as it was. A column's "
			    "type may only widen (int64 to float64, any type to utf8, date32 to "
			    "timestamp[us]); fix the export, or upload it under another name.</p>");
	else
		html_lit(h, "</ul><p class=\"hint\">The dataset was left as it was. Upload the "
			    "file under another name to keep both, fix the export so its columns "
			    "match, or tick <em>Accept schema changes</em> to make it a new version "
			    "with this file's schema.</p>");
}

/* The columns the ingest cast to the dataset's types (ADR 0170), if any. */
static void render_cast(struct html *h, const json_t *a)
{
	const json_t *cast = json_object_get(a, "cast");
	if (!json_array_size(cast))
		return;
	html_lit(h, "<p id=\"upload-cast\">Read with the dataset's types: ");
	for (size_t i = 0; i < json_array_size(cast); i++) {
		const json_t *c = json_array_get(cast, i);
		html_printf(h, "%s<strong>%s</strong> %s \xe2\x86\x92 %s", i ? ", " : "",
			    ui_jstr(c, "column"), ui_jstr(c, "from"), ui_jstr(c, "to"));
	}
	html_lit(h, ".</p>");
}

/* The schema change an upload with "Accept schema changes" made (ADR 0173). */
static void render_evolved(struct html *h, const json_t *a)
{
	const json_t *diff = json_object_get(json_object_get(a, "evolved"), "diff");
	if (!json_is_array(diff))
		return;
	html_lit(h, "<p id=\"upload-evolved\">The schema changed: ");
	for (size_t i = 0; i < json_array_size(diff); i++) {
		const json_t *d = json_array_get(diff, i);
		const char *ch = ui_jstr(d, "change") ? ui_jstr(d, "change") : "";
		html_printf(h, "%s<strong>%s</strong> ", i ? ", " : "", ui_jstr(d, "column"));
		if (!strcmp(ch, "type_changed"))
			html_printf(h, "%s \xe2\x86\x92 %s", ui_jstr(d, "old_type"),
				    ui_jstr(d, "new_type"));
		else
			html_printf(h, "%s", ch);
	}
	html_lit(h, ". Earlier versions keep their own schema.</p>");
}

/* How ingestd read the file (the answer's "format", ADR 0180), in the CLI's
 * words (format_words.h), as a sentence; nothing for an answer without it. */
static void render_format(struct html *h, const json_t *a)
{
	char w[FORMAT_WORDS_MAX];
	if (format_words(json_object_get(a, "format"), w, sizeof w) != 0 || !w[0])
		return;
	if (w[0] >= 'a' && w[0] <= 'z')
		w[0] = (char)(w[0] - 'a' + 'A');
	html_printf(h, "<p id=\"upload-format\">%s.</p>", w);
}

/* The HTML of an ingest answer; returns the status for a full page. */
static int render_upload_result(struct html *h, long status, const json_t *a)
{
	const json_t *m = json_object_get(a, "manifest");
	if (status == 200 && m) {
		const char *name = ui_jstr(m, "name");
		char rows[32], total[32];
		ui_fmt_count(rows, sizeof rows, ui_jint(a, "row_count"));
		ui_fmt_count(total, sizeof total, ui_jint(m, "row_count"));
		size_t ncols = json_array_size(json_object_get(m, "schema"));
		if (json_is_true(json_object_get(a, "existing")))
			html_printf(h, "<div class=\"alert alert-info\" role=\"status\" "
				       "id=\"upload-outcome\" data-outcome=\"unchanged\"><p class=\""
				       "alert-title\">Unchanged: this file is already version %lld of "
				       "<a href=\"/datasets/%U\">%s</a>.</p><p>%s rows, %zu columns. "
				       "Nothing new was written.</p>",
				    ui_jint(m, "version"), name, name, rows, ncols);
		else
			html_printf(h, "<div class=\"alert alert-ok\" role=\"status\" "
				       "id=\"upload-outcome\" data-outcome=\"new_version\"><p class=\""
				       "alert-title\">Uploaded: <a href=\"/datasets/%U\">%s</a> is now "
				       "at version %lld.</p><p>This file has %s rows and %zu columns; "
				       "the dataset holds %s rows (%s).</p>",
				    name, name, ui_jint(m, "version"), rows, ncols, total,
				    ui_jstr(m, "mode") ? ui_jstr(m, "mode") : "");
		render_format(h, a);
		render_cast(h, a);
		render_evolved(h, a);
		html_lit(h, "</div>");
		return 200;
	}
	if (status == 409 && !strcmp(ui_jstr(a, "code") ? ui_jstr(a, "code") : "", "schema_drift")) {
		html_lit(h, "<div class=\"alert alert-error\" role=\"alert\" id=\"upload-outcome\" "
			    "data-outcome=\"schema_drift\">");
		html_printf(h, "<p class=\"alert-title\">%s</p><p>%s</p>",
			    ui_friendly_error("schema_drift", 409), ui_jstr(a, "error"));
		render_format(h, a);
		html_lit(h, "</div>");
		render_drift(h, a, 0);
		return 409;
	}
	if (status == 409 && !strcmp(ui_jstr(a, "code") ? ui_jstr(a, "code") : "",
				     "schema_narrowed")) {                           /* ADR 0173 */
		html_printf(h, "<div class=\"alert alert-error\" role=\"alert\" id=\"upload-outcome\""
			       " data-outcome=\"schema_narrowed\"><p class=\"alert-title\">A column "
			       "would become narrower</p><p>%s</p>", ui_jstr(a, "error"));
		render_format(h, a);
		html_lit(h, "</div>");
		render_drift(h, a, 1);
		return 409;
	}
	ui_render_error_answer(h, status, a);
	return status >= 400 && status < 600 ? (int)status : 502;
}

/* The upload page: the form, and `result` (NULL = empty) below it. */
static int upload_page(struct http_request *req, int status, const char *name,
		       struct html *result)
{
	struct ui_page_token t;
	struct html h;
	ui_page_token(req, &t);
	html_init(&h, 0);
	ui_page_open(&h, "Upload", UI_NAV_UPLOAD, &t);
	html_lit(&h, "<h1>Upload a file</h1><p class=\"lead\">CSV, TSV, JSON or NDJSON, Parquet, "
		    "or an Excel workbook (.xlsx). The schema is inferred from every row. Uploading the same file twice changes nothing; a file whose values fit "
		    "the dataset's types is read with them; one whose columns differ otherwise "
		    "is refused and the difference is shown.</p>");
	if (ui_page_read_only(&t))
		html_printf(&h, "<p class=\"error\" role=\"alert\">Your token (%s) can only read: "
				"ask whoever runs this lakehouse for a write token to upload.</p>",
			    t.who);
	else
		render_upload_form(&h, name, &t);
	html_lit(&h, "<div id=\"upload-result\" aria-live=\"polite\">");
	if (result)
		html_append(&h, result);
	html_lit(&h, "</div>");
	ui_page_close(&h);
	return ui_send_html(req, status, &h, &t);
}

/* 403 for an upload without its page's token (note 6): nothing is sent to
 * ingestd. */
static int upload_refuse(struct http_request *req)
{
	struct html frag;
	html_init(&frag, 0);
	ui_render_error(&frag, "csrf_failed", 403, NULL, NULL);
	if (ui_is_htmx(req))
		return ui_send_html(req, 403, &frag, NULL);
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
	if (!ui_csrf_cookie(req, cookie))
		return upload_refuse(req);
	if (!http_request_header(req, UI_CSRF_HEADER))
		return 0;
	return ui_csrf_ok(req, NULL) ? gate_start(req, g) : upload_refuse(req);
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
	if (found != 1 || !ui_csrf_ok(req, token))
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
		ui_render_lh_error(&frag, &err);
		page_status = err.status;
	} else {
		json_t *a = ui_parse_answer(body, len);
		page_status = render_upload_result(&frag, status, a);
		json_decref(a);
	}
	free(body);
	lh_error_clear(&err);
	/* htmx swaps every status (ui_page_open); app.js reads it to tell the
	 * progress bar's "Done" from a refusal */
	if (ui_is_htmx(req))
		return ui_send_html(req, page_status, &frag, NULL);
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
