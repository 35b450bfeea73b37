/* ui_static.c — the web UI's static files, embedded in the binary at build
 * time (Makefile: build/gen/ui_assets.c from src/gateway/ui_static/ and
 * deps/htmx/): GET /static/<asset> (htmx, app.css, app.js, favicon.svg) and
 * GET /favicon.ico.
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/error.h"
#include "common/http_server.h"

#include <string.h>

/* Generated at build time (see above). */
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
