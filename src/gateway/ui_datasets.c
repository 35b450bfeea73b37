/* ui_datasets.c — the web UI's first page, GET / (and GET /?q=): the list of
 * datasets from catalogd, filtered by name; an htmx request (the filter box
 * as one types) gets the list only. The pieces every page shares (layout,
 * calling the services, errors in words) are in ui.c; "note n" means ui.c's
 * DESIGN NOTES.
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

/* --- datasets page ------------------------------------------------------ */

static void render_dataset_list(struct html *h, const struct manifest_summary *datasets,
				size_t n, const char *q)
{
	struct html body;
	size_t shown = 0;
	html_init(&body, 0);
	size_t mark = h->len;
	html_lit(h, "<div class=\"table-wrap\"><table class=\"list\" id=\"datasets\"><thead><tr>"
		    "<th scope=\"col\">Dataset</th><th scope=\"col\" class=\"num\">Version</th>"
		    "<th scope=\"col\" class=\"num\">Rows</th><th scope=\"col\" class=\"num\">Size"
		    "</th><th scope=\"col\">Last update</th></tr></thead><tbody>");
	for (size_t i = 0; i < n; i++) {
		const struct manifest_summary *d = &datasets[i];
		const char *name = d->name;
		if (q && *q && !strcasestr(name, q))
			continue;
		char rows[32], size[32], when[48];
		ui_fmt_count(rows, sizeof rows, d->row_count > 0 ? d->row_count : 0);
		ui_fmt_bytes(size, sizeof size, (unsigned long long)(d->size_bytes > 0 ? d->size_bytes
										      : 0));
		ui_fmt_time(when, sizeof when, d->updated_at);
		html_printf(&body, "<tr><td><a class=\"dataset-link\" href=\"/datasets/%U\">%s</a></td>"
			       "<td class=\"num\">v%lld</td><td class=\"num\">%s</td>"
			       "<td class=\"num\">%s</td><td>%s</td></tr>",
			    name, name, (long long)d->version, rows, size, when);
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
		ui_fmt_count(b, sizeof b, (long long)n);
		html_printf(h, "<p class=\"meta\">%s of %s datasets</p>", a, b);
	}
}

static int datasets_page(struct http_request *req)
{
	struct ui_page_token t = { .tok = "" };
	struct gateway *g = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct html h;
	struct manifest_summary *list = NULL;
	size_t n = 0;
	struct peer_call call = ui_peer_call(req);
	const char *q = http_request_query(req, "q");

	html_init(&h, 0);
	int ok = catalog_client_datasets(g->catalog, &call, &list, &n, &err) == 0;
	if (!ok)
		http_request_log_detail(req, err.detail);
	if (ui_is_htmx(req)) {
		if (ok)
			render_dataset_list(&h, list, n, q);
		else
			ui_render_lh_error(&h, &err);
		goto send;
	}
	ui_page_token(req, &t);
	ui_page_open(&h, "Datasets", UI_NAV_DATASETS, &t);
	html_lit(&h, "<div class=\"page-head\"><h1>Datasets</h1>"
		     "<a class=\"button\" href=\"/upload\">Upload a file</a></div>");
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
		render_dataset_list(&h, list, n, q);
	else
		ui_render_lh_error(&h, &err);
	html_lit(&h, "</div>");
	ui_page_close(&h);
send:
	free(list);
	lh_error_clear(&err);
	return ui_send_html(req, ok ? 200 : 502, &h, ui_is_htmx(req) ? NULL : &t);
}

int ui_index_end(struct http_request *req)
{
	if (strcmp(http_request_path(req), "/") != 0) {
		ui_send_error_page(req, 404, "Not found", "not_found",
				"There is no page at this address.", NULL);
		return 0;
	}
	return datasets_page(req);
}
