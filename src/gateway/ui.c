/* ui.c — the page the gateway serves at "/".
 *
 * A placeholder until the web UI (SPEC 9: server-rendered HTML + htmx)
 * replaces this file: one static page that says what is running and links to
 * the JSON API. It has no state and reads nothing.
 */
#include "gateway/gateway_int.h"

#include "common/http_server.h"

#include <string.h>

static const char index_html[] =
	"<!doctype html>\n"
	"<html lang=\"en\">\n"
	"<head><meta charset=\"utf-8\"><title>Lakehouse</title>\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n"
	"<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto\">\n"
	"<h1>Lakehouse</h1>\n"
	"<p>The lakehouse is running. The web interface is on its way; meanwhile the\n"
	"JSON API and the <code>lakehouse</code> command line are available.</p>\n"
	"<ul>\n"
	"<li><a href=\"/v1/catalog/datasets\">Datasets</a> (<code>GET /v1/catalog/datasets</code>)</li>\n"
	"<li><a href=\"/health\">Health of every service</a> (<code>GET /health</code>)</li>\n"
	"<li><a href=\"/metrics\">Metrics</a> (<code>GET /metrics</code>)</li>\n"
	"</ul>\n"
	"<p>Upload a CSV: <code>lakehouse ingest NAME FILE.csv</code>.\n"
	"Query: <code>lakehouse query \"SELECT * FROM NAME LIMIT 10\"</code>.</p>\n"
	"</body>\n"
	"</html>\n";

int ui_index_end(struct http_request *req)
{
	http_respond_bytes(req, 200, "text/html; charset=utf-8", index_html,
			   strlen(index_html));
	return 0;
}
