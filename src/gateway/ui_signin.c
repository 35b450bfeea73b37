/* ui_signin.c — signing in to the web UI with a token (ADR 0212), and the
 * gateway's authorize hook that lets a session cookie stand for the token.
 *
 *   GET  /signin    the form (a token, masked); ?next= where to go after
 *   POST /signin    csrf, token, next -> a session cookie, 303 to next
 *   POST /signout   csrf -> the session ends, its cookies are cleared
 *
 * DESIGN NOTES
 *  1. The browser never holds the token: POST /signin checks it like a
 *     bearer header (auth_identify) and answers with lh_session, a random id
 *     (ui_session.c) set HttpOnly, SameSite=Strict, Path=/, without Max-Age
 *     (the server ends it after the ttl and says so), and Secure when
 *     the request came through HTTPS (X-Forwarded-Proto: https from the
 *     reverse proxy, docs/deploy.md). The sign-in form itself carries the
 *     double-submit CSRF token (ADR 0111), so another site cannot sign a
 *     browser in to an account of its choosing.
 *  2. The hook wraps auth.c's (ui_signin_wrap_authorize). A request with an
 *     Authorization header is decided by auth.c as before: API clients see
 *     no change. Without one, a live session's token becomes the request's
 *     Authorization (http_request_set_authorization), so the proxy, the
 *     pages' calls upstream and every service behind decide with the same
 *     token and role — queryd masks for a signed-in reader exactly as for a
 *     bearer one.
 *  3. CSRF with a session: a cookie travels by itself, so every unsafe
 *     request (not GET/HEAD) authorised by a session must prove it comes
 *     from our pages: Sec-Fetch-Site, when sent, is same-origin (or none),
 *     and the lh_csrf cookie equals the session's CSRF token (set at sign-in;
 *     pages embed it). The UI's own form routes then check the form field
 *     against that cookie (ui.c note 6); the API (/v1/..., /mcp) has no form
 *     field, so there the X-CSRF-Token header must equal it.
 *  4. Needing no token: GET/POST /signin, POST /signout (it only ends the
 *     caller's own session), the public assets under /static/ and
 *     /favicon.ico. A browser (GET asking for HTML) without a live session
 *     is sent to
 *     /signin?next=<path>, with "expired" when its session ran out; other
 *     clients get auth.c's 401 JSON as before.
 *  5. `next` must be a path of this site: it starts with one '/', not "//"
 *     or "/\", and has no control characters; anything else goes to "/".
 */
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include "common/auth.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/tokens.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- the hook (notes 2-4) ------------------------------------------------- */

struct signin_hook {
	int (*inner)(void *ctx, struct http_request *req);
	void *inner_ctx;
	void (*inner_free)(void *ctx);
	struct gateway *g;
};

static int is_public(const char *method, const char *path)
{
	if (!strcmp(path, "/signin"))
		return !strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "POST");
	if (!strcmp(path, "/signout"))
		return !strcmp(method, "POST");
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		return !strncmp(path, "/static/", 8) || !strcmp(path, "/favicon.ico");
	return 0;
}

static int is_safe(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* Note 5: whether `next` may be followed. */
static int next_ok(const char *next)
{
	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
		return 0;
	for (const unsigned char *p = (const unsigned char *)next; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return strlen(next) < 2048;
}

static void redirect(struct http_request *req, const char *location)
{
	http_respond_empty(req, 303);
	http_response_header(req, "Location", location);
	http_response_header(req, "Cache-Control", "no-store");
}

/* 303 to /signin?next=<path>[&expired=1], the path %-encoded. */
static void to_signin(struct http_request *req, int expired)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *path = http_request_path(req);
	struct html loc;
	html_init(&loc, 8192);
	html_lit(&loc, "/signin?");
	if (expired)
		html_lit(&loc, "expired=1&");
	html_lit(&loc, "next=");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/-._~", *p)) {
			char c[2] = { (char)*p, 0 };
			html_lit(&loc, c);
		} else {
			char c[4] = { '%', hex[*p >> 4], hex[*p & 15], 0 };
			html_lit(&loc, c);
		}
	}
	redirect(req, loc.overflow ? "/signin" : loc.buf);
	html_free(&loc);
}

int ui_request_session(struct http_request *req, struct ui_session *out,
		       enum ui_session_state *state)
{
	struct gateway *g = http_request_ctx(req);
	char sid[UI_CSRF_TOKEN_HEX + 1];
	enum ui_session_state st = UI_SESSION_NONE;
	if (g->sessions &&
	    ui_cookie_get(http_request_header(req, "Cookie"), UI_SESSION_COOKIE, sid,
			  sizeof sid) == 1)
		st = ui_session_find(g->sessions, sid, out);
	if (state)
		*state = st;
	return st == UI_SESSION_OK;
}

/* Note 3: 1 if an unsafe request authorised by session `s` may go on. */
static int session_csrf_ok(struct http_request *req, const struct ui_session *s)
{
	char cookie[UI_CSRF_TOKEN_HEX + 1];
	if (!ui_csrf_cookie(req, cookie) || !ui_csrf_token_equal(cookie, s->csrf))
		return 0;
	const char *path = http_request_path(req);
	if (!strncmp(path, "/v1/", 4) || !strcmp(path, "/mcp"))
		return ui_csrf_token_equal(http_request_header(req, UI_CSRF_HEADER), s->csrf);
	return 1;
}

static int signin_authorize(void *ctx, struct http_request *req)
{
	struct signin_hook *hk = ctx;
	const char *method = http_request_method(req);
	const char *path = http_request_path(req);
	const char *accept = http_request_header(req, "Accept");
	int browser = is_safe(method) && accept && strstr(accept, "text/html");

	if (!http_request_header(req, "Authorization")) {
		struct ui_session s;
		enum ui_session_state st;
		if (ui_request_session(req, &s, &st)) {
			char bearer[sizeof s.token + 8];
			snprintf(bearer, sizeof bearer, "Bearer %s", s.token);
			http_request_set_authorization(req, bearer);
			memset(bearer, 0, sizeof bearer);
			if (!is_safe(method) && !is_public(method, path) && !session_csrf_ok(req, &s)) {
				http_request_set_who(req, s.who, s.role);
				http_respond_fail(req, 403, "csrf_failed",
						  "this request did not come from a lakehouse page "
						  "(its CSRF token is missing or wrong); reload the "
						  "page and try again");
				memset(&s, 0, sizeof s);
				return -1;
			}
			memset(&s, 0, sizeof s);
		} else if (is_public(method, path)) {
			return 0;
		} else if (browser) {
			to_signin(req, st == UI_SESSION_EXPIRED);
			return -1;
		}
	}
	if (is_public(method, path)) {
		/* signed in, or a bearer header: the page still learns who */
		struct auth_principal who;
		if (auth_identify(hk->g->auth_cfg, http_request_header(req, "Authorization"),
				  &who) == AUTH_ALLOW && who.name[0])
			http_request_set_who(req, who.name, (int)who.role);
		return 0;
	}
	return hk->inner ? hk->inner(hk->inner_ctx, req) : 0;
}

static void signin_hook_free(void *ctx)
{
	struct signin_hook *hk = ctx;
	if (hk->inner_free)
		hk->inner_free(hk->inner_ctx);
	free(hk);
}

void ui_signin_wrap_authorize(struct http_server_config *hc, struct gateway *g)
{
	if (!hc->authorize)
		return; /* no tokens: nothing to sign in to */
	struct signin_hook *hk = xcalloc(1, sizeof *hk);
	hk->inner = hc->authorize;
	hk->inner_ctx = hc->authorize_ctx;
	hk->inner_free = hc->authorize_free;
	hk->g = g;
	hc->authorize = signin_authorize;
	hc->authorize_ctx = hk;
	hc->authorize_free = signin_hook_free;
}

/* --- the pages ------------------------------------------------------------ */

static int via_https(struct http_request *req)
{
	const char *proto = http_request_header(req, "X-Forwarded-Proto");
	return proto && !strcasecmp(proto, "https");
}

/* A browser-session cookie (no Max-Age: closing the browser forgets it; the
 * server ends it after the ttl, and can then say so), or with `clear` one
 * that is removed at once. */
static void set_cookie(struct http_request *req, const char *name, const char *value,
		       int clear)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", name, value,
		 clear ? "; Max-Age=0" : "", via_https(req) ? "; Secure" : "");
	http_response_header(req, "Set-Cookie", c);
}

static int signin_page(struct http_request *req, int status, const char *message,
		       const char *next)
{
	struct gateway *g = http_request_ctx(req);
	struct ui_page_token t;
	struct html h;
	ui_page_token(req, &t);
	html_init(&h, 0);
	ui_page_open(&h, "Sign in", UI_NAV_NONE, &t);
	html_lit(&h, "<h1>Sign in</h1>\n");
	if (!g->auth_cfg || !auth_enabled(g->auth_cfg)) {
		html_lit(&h, "<p>This lakehouse has no tokens configured: every page is open to "
			     "whoever reaches it on this machine. <a href=\"/\">Go to the "
			     "datasets</a>.</p>");
	} else {
		if (t.signed_in)
			html_printf(&h, "<p class=\"note\">You are signed in as <strong>%s</strong> "
					"(%s). Signing in again replaces that.</p>\n",
				    t.who, tokens_role_name((enum lh_role)t.role));
		if (message)
			html_printf(&h, "<p class=\"error\" role=\"alert\">%s</p>\n", message);
		html_lit(&h, "<form method=\"post\" action=\"/signin\" class=\"signin\">\n");
		html_printf(&h, "<input type=\"hidden\" name=\"" UI_CSRF_FIELD "\" value=\"%s\">\n",
			    t.tok);
		html_printf(&h, "<input type=\"hidden\" name=\"next\" value=\"%s\">\n",
			    next_ok(next) ? next : "/");
		html_lit(&h, "<label for=\"token\">Your token</label>\n"
			     "<input type=\"password\" id=\"token\" name=\"token\" required "
			     "autocomplete=\"current-password\" autofocus size=\"50\">\n"
			     "<button type=\"submit\">Sign in</button>\n</form>\n"
			     "<p>Ask whoever runs this lakehouse for a token (<code>lakehouse token new "
			     "NAME</code>). The browser keeps only a session cookie, never the "
			     "token.</p>\n");
	}
	ui_page_close(&h);
	return ui_send_html(req, status, &h, &t);
}

int ui_signin_page_end(struct http_request *req)
{
	const char *expired = http_request_query(req, "expired");
	const char *out = http_request_query(req, "signed_out");
	return signin_page(req, 200,
			   expired ? "Your session has expired: sign in again."
			   : out   ? "You are signed out."
				   : NULL,
			   http_request_query(req, "next"));
}

int ui_signin_post_end(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	size_t n = 0;
	const char *body = http_request_body(req, &n);
	char *csrf = form_value(body, n, UI_CSRF_FIELD);
	char *token = form_value(body, n, "token");
	char *next = form_value(body, n, "next");
	int rc;

	if (!g->auth_cfg || !auth_enabled(g->auth_cfg) || !g->sessions) {
		redirect(req, "/");
		rc = 0;
		goto out;
	}
	if (!ui_csrf_ok(req, csrf)) {
		rc = signin_page(req, 403, "The form had expired or came from another site; "
				 "try again.", next);
		goto out;
	}
	size_t tl = token ? strlen(token) : 0;
	while (tl && (token[tl - 1] == ' ' || token[tl - 1] == '\n' || token[tl - 1] == '\r'))
		token[--tl] = '\0';
	char bearer[200];
	struct auth_principal who;
	snprintf(bearer, sizeof bearer, "Bearer %s", token ? token : "");
	if (tl == 0 || tl >= 160 || auth_identify(g->auth_cfg, bearer, &who) != AUTH_ALLOW) {
		memset(bearer, 0, sizeof bearer);
		log_event("info", "gateway", "a sign-in with an unknown token was refused");
		rc = signin_page(req, 401, "That token is not valid here.", next);
		goto out;
	}
	memset(bearer, 0, sizeof bearer);
	char sid[UI_CSRF_TOKEN_HEX + 1], scsrf[UI_CSRF_TOKEN_HEX + 1];
	if (ui_session_new(g->sessions, token, who.name, (int)who.role, sid, scsrf) != 0) {
		rc = signin_page(req, 500, "No session could be made (no randomness).", next);
		goto out;
	}
	http_request_set_who(req, who.name, (int)who.role);
	redirect(req, next_ok(next) ? next : "/");
	set_cookie(req, UI_SESSION_COOKIE, sid, 0);
	set_cookie(req, UI_CSRF_COOKIE, scsrf, 0);
	log_event("info", "gateway", "%s signed in to the web UI (%s)", who.name,
		  tokens_role_name(who.role));
	rc = 0;
out:
	if (token)
		memset(token, 0, strlen(token));
	free(csrf);
	free(token);
	free(next);
	return rc;
}

int ui_signout_post_end(struct http_request *req)
{
	struct gateway *g = http_request_ctx(req);
	size_t n = 0;
	const char *body = http_request_body(req, &n);
	char *csrf = form_value(body, n, UI_CSRF_FIELD);
	char sid[UI_CSRF_TOKEN_HEX + 1];
	int rc = 0;

	if (!ui_csrf_ok(req, csrf)) {
		rc = ui_send_error_page(req, 403, "Not signed out", "csrf_failed",
					"the form had expired or came from another site", NULL);
		goto out;
	}
	if (g->sessions && ui_cookie_get(http_request_header(req, "Cookie"), UI_SESSION_COOKIE,
					 sid, sizeof sid) == 1)
		ui_session_end(g->sessions, sid);
	redirect(req, "/signin?signed_out=1");
	set_cookie(req, UI_SESSION_COOKIE, "", 1);
	set_cookie(req, UI_CSRF_COOKIE, "", 1);
out:
	free(csrf);
	return rc;
}
