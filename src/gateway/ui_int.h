/* ui_int.h — the web UI's private pieces. ui.c holds what every page shares
 * (layout, CSRF checks, calling the services, errors in words, result
 * tables); each page has its own file, as h2o's lib/handler/ has one per
 * handler: ui_datasets.c (GET /), ui_dataset.c (/datasets/<name>),
 * ui_upload.c (/upload), ui_console.c (/console), ui_search.c (/search),
 * ui_static.c (/static/,
 * /favicon.ico). Below them: ui_html.c (the HTML builder, form and URL
 * codecs), ui_csrf.c (CSRF tokens) and ui_chart.c (SVG charts). Included by
 * the unit tests; other modules use gateway_int.h.
 *
 * The one rule of the builder: every dynamic value is HTML-escaped on its way
 * into a page. html_printf() escapes every %s it is given; there is no "raw
 * string" directive. Markup that is not a literal only enters through
 * html_append() of another builder, which was itself built the same way.
 */
#ifndef LH_GATEWAY_UI_INT_H
#define LH_GATEWAY_UI_INT_H
#include "common/json.h"
#include "common/peer_client.h"

#include <stddef.h>
#include <stdint.h>

/* A growable page buffer with a cap (LH_UI_MAX_PAGE_BYTES by default).
 * Appending past the cap drops the text and sets `overflow`; the page is then
 * answered as an error by its route, never sent cut short. */
struct html {
	char *buf;          /* NUL-terminated, owned */
	size_t len, cap, max;
	int overflow;
};

/* Initialise an empty buffer that may grow to `max` bytes (0 = default). */
void html_init(struct html *h, size_t max);
/* Free the data, not the struct. */
void html_free(struct html *h);
/* Append a string literal (markup) as it is. Use only for literals. */
void html_lit(struct html *h, const char *literal);
/* Append `s` (NULL = nothing) escaped for text and attribute values:
 * & < > " ' become entities. */
void html_text(struct html *h, const char *s);
/* The same for the first n bytes of s. */
void html_textn(struct html *h, const char *s, size_t n);
/* Append s escaped, cut after `max` bytes (at a UTF-8 boundary) with "…". */
void html_text_cut(struct html *h, const char *s, size_t max);
/* Append another builder's content (already safe markup). */
void html_append(struct html *h, const struct html *other);
/* printf with escaping: %s is a string escaped as html_text (NULL = ""),
 * %U a string percent-encoded for a URL query value (then escaped), %d %u
 * %ld %lld %zu integers, %f %g (with width/precision) doubles, %% a percent.
 * Anything else is a programming error and aborts. */
void html_printf(struct html *h, const char *fmt, ...);

/* Pure: the value of `key` in an application/x-www-form-urlencoded body
 * (or query string) of n bytes, decoded ('+' is a space, %XX a byte); a
 * new string the caller frees, or NULL if absent. */
char *form_value(const char *body, size_t n, const char *key);
/* Pure: HTML-escape s into a new string (for tests and small uses). */
char *html_escape(const char *s);

/* Pure: a count for people, the one formatter of every count the UI shows
 * in words: "1,234,567", "-12", "0" (cut to n bytes, NUL-terminated). */
void ui_fmt_count(char *buf, size_t n, long long v);
/* Pure: a size in binary units, as the CLI prints them (cli_format_bytes):
 * "746 B", "1.2 KiB", "3.4 MiB", "1.0 GiB" (one decimal from KiB up). */
void ui_fmt_bytes(char *buf, size_t n, unsigned long long v);
/* Pure: the length of sql's one statement without the ';' that ends it,
 * whatever follows it (spaces, comments, more semicolons) and trailing
 * blanks, so the console can embed it as a subquery (ADR 0122). A ';' inside
 * a string, quoted identifier, dollar quote or comment does not count. */
size_t ui_sql_body_len(const char *sql);

/* --- ui_csrf.c -------------------------------------------------------------
 * CSRF tokens for the UI's state-changing requests (ADR 0111). The token is
 * set in the cookie UI_CSRF_COOKIE and embedded in each page: the hidden
 * field UI_CSRF_FIELD of every form and <meta name="csrf-token">, which
 * app.js sends as the header UI_CSRF_HEADER on htmx requests. */
#define UI_CSRF_TOKEN_HEX 64
#define UI_CSRF_COOKIE "lh_csrf"
#define UI_CSRF_FIELD "csrf"
#define UI_CSRF_HEADER "X-CSRF-Token"

/* A new token: UI_CSRF_TOKEN_HEX lowercase hex digits of getrandom() into
 * out. Returns 0, or -1 (out = "") if the kernel gives no randomness. */
int ui_csrf_token_new(char out[UI_CSRF_TOKEN_HEX + 1]);
/* Pure: 1 if s (NULL = no) has a token's shape, else 0. */
int ui_csrf_token_valid(const char *s);
/* Pure: 1 if a and b are both well-formed tokens and equal, compared in
 * constant time; else 0. */
int ui_csrf_token_equal(const char *a, const char *b);
/* Pure: the value of cookie `name` in a Cookie header (NULL = none) into out
 * (cap bytes, NUL-terminated, quotes removed). Returns 1 when it is there
 * once, 0 when absent, -1 when it is there twice or does not fit. */
int ui_cookie_get(const char *header, const char *name, char *out, size_t cap);
/* Pure: the value of the FIRST part of a multipart/form-data body, whose
 * start (n bytes so far) is in data, if that part is the field `name`.
 * Returns 1 with the value in out (cap bytes, NUL-terminated); 0 when more
 * bytes are needed to tell; -1 when the body does not start with that field
 * (another field first, a file part, a malformed start, a Content-Type
 * without a boundary, or a value that does not fit). */
int ui_multipart_first_field(const char *content_type, const char *data, size_t n,
			     const char *name, char *out, size_t cap);

/* --- ui_session.c: sign-in sessions (ADR 0212) ------------------------------ */
#define UI_SESSION_COOKIE "lh_session"
struct http_request;

struct ui_session {
	char token[160];                   /* the bearer token it stands for */
	char who[64];                      /* its name (auth_principal) */
	int role;                          /* enum lh_role */
	char csrf[UI_CSRF_TOKEN_HEX + 1];  /* the session's CSRF token */
	int64_t created_ms, expires_ms;
};
enum ui_session_state { UI_SESSION_NONE, UI_SESSION_OK, UI_SESSION_EXPIRED };
struct ui_sessions;

/* ui_sessions_create(ttl_ms, now_ms) and ui_sessions_destroy() are in
 * gateway_int.h: a table of sessions that last ttl_ms from sign-in; now_ms
 * NULL = the wall clock (tests pass their own). */
/* Sign in: a new session for `token` into id and csrf. 0, or -1 (no
 * randomness, or a token too long to keep). */
int ui_session_new(struct ui_sessions *t, const char *token, const char *who, int role,
		   char id[UI_CSRF_TOKEN_HEX + 1], char csrf[UI_CSRF_TOKEN_HEX + 1]);
/* The session with this id (NULL = none): OK with a copy in *out (NULL =
 * not wanted), EXPIRED, or NONE. */
enum ui_session_state ui_session_find(struct ui_sessions *t, const char *id,
				      struct ui_session *out);
/* Sign out: forget the session (nothing if unknown). */
void ui_session_end(struct ui_sessions *t, const char *id);

/* --- ui_signin.c: the sign-in page and the gateway's authorize hook --------- */
/* ui_signin_wrap_authorize() (gateway_int.h) wraps the authorize hook
 * auth_http_setup() installed with the session one: a request without
 * Authorization but with a live session cookie is the session's token; its
 * unsafe requests need the session's CSRF token; the sign-in page and
 * static assets need no token; a browser without a session is sent to
 * /signin. The routes' end callbacks are in gateway_int.h too. */
/* The live session of the request's cookie into *out: 1, or 0 (none,
 * unknown or expired; *state says which when not NULL). */
int ui_request_session(struct http_request *req, struct ui_session *out,
		       enum ui_session_state *state);

/* --- ui.c: what every page shares (its DESIGN NOTES) ------------------------ */
struct http_request;
struct lh_error;

/* The page a layout marks as current in the top navigation. */
enum ui_nav { UI_NAV_DATASETS, UI_NAV_UPLOAD, UI_NAV_CONSOLE, UI_NAV_SEARCH, UI_NAV_NONE };

/* The CSRF token a page is rendered with (ui.c note 6). */
struct ui_page_token {
	char tok[UI_CSRF_TOKEN_HEX + 1];   /* "" when none could be made */
	int fresh;                         /* new: ui_send_html sets the cookie */
	/* Who the page is for (ADR 0212): auth_on when tokens are configured;
	 * then who/role of the token (a signed-in session's or the bearer
	 * header's), signed_in when it came from a session cookie. */
	int auth_on, signed_in, role;
	char who[64];
};

/* RFC 3339 "2026-11-21T22:45:16.578Z" -> "2026-11-21 22:45 UTC" into buf. */
void ui_fmt_time(char *buf, size_t n, const char *t);
/* obj[key] as an integer (a real is cut; absent or another type: 0). */
long long ui_jint(const json_t *obj, const char *key);
/* obj[key] as a string, or NULL; borrowed from obj. */
const char *ui_jstr(const json_t *obj, const char *key);
/* Parse a service's JSON answer; very large integers (HUGEINT) fall back to
 * doubles instead of failing. New reference or NULL. */
json_t *ui_parse_answer(const char *body, size_t n);
/* 1 if the request comes from htmx (it has "HX-Request"), else 0. */
int ui_is_htmx(struct http_request *req);

/* The page's request id and its client's own bearer token, for the typed
 * peer clients (g->catalog: catalog_client.h). The token points into the
 * request's headers: valid while the request is. */
struct peer_call ui_peer_call(struct http_request *req);

/* method + path (already encoded) on upstream `which` (GW_*), JSON body or
 * NULL, with the page's bearer token and request id (queryd's /query: the
 * catalog is read through g->catalog). Returns 0 with *status
 * and *out (parsed answer the caller decrefs, NULL if it was not JSON), or
 * -1 with err (502 upstream_unavailable) when the service could not be
 * reached. */
int ui_call_service(struct http_request *req, int which, const char *method,
		    const char *path, const char *body, long *status, json_t **out,
		    struct lh_error *err);
/* As ui_call_service, with `token` (when not NULL) as the bearer token
 * instead of the request's. */
int ui_call_service_as(struct http_request *req, int which, const char *method,
		       const char *path, const char *body, const char *token, long *status,
		       json_t **out, struct lh_error *err);
/* A queryd query as JSON (format json, at most max_rows rows, within
 * timeout_ms or queryd's own limit when 0); as ui_call_service. */
int ui_run_query(struct http_request *req, const char *sql, long max_rows, long timeout_ms,
		 long *status, json_t **out, struct lh_error *err);

/* A sentence a person understands for an error code (ui.c note 4), static. */
const char *ui_friendly_error(const char *code, int status);
/* An alert box for a service's error answer (or a transport error): the
 * sentence, then `detail` (NULL = none), then the answer's "line" if any. */
void ui_render_error(struct html *h, const char *code, int status, const char *detail,
		     const json_t *answer);
/* The same from a service's JSON error answer. */
void ui_render_error_answer(struct html *h, long status, const json_t *answer);
/* The same from a transport error. */
void ui_render_lh_error(struct html *h, const struct lh_error *err);

/* The browser's token (its lh_csrf cookie), or a new one (t->fresh). */
void ui_page_token(struct http_request *req, struct ui_page_token *t);
/* The first half of ui_csrf_ok(): the request may come from one of our
 * pages (Sec-Fetch-Site, when sent, says same-origin, or none) and carries
 * one valid token cookie, copied to `cookie`. 1 yes, 0 no. */
int ui_csrf_cookie(struct http_request *req, char cookie[UI_CSRF_TOKEN_HEX + 1]);
/* Whether a state-changing UI request may go on (ui.c note 6). `field` is the
 * token the form sent (NULL = none); an X-CSRF-Token header counts instead. */
int ui_csrf_ok(struct http_request *req, const char *field);

/* A page's head, top navigation (nav marked current) and <main>; t (NULL =
 * none) goes in <meta name="csrf-token">. */
void ui_page_open(struct html *h, const char *title, enum ui_nav nav,
		  const struct ui_page_token *t);
/* Whether the page's token only reads (role read or agent): no upload,
 * drop or rename controls are shown (ADR 0212). */
int ui_page_read_only(const struct ui_page_token *t);
/* </main>, the footer and the end of the page. */
void ui_page_close(struct html *h);
/* Send h as text/html with `status` and free it; a page over its cap is a
 * 500. A page rendered with a new token `t` (NULL = none) sets its cookie.
 * Returns 0. */
int ui_send_html(struct http_request *req, int status, struct html *h,
		 const struct ui_page_token *t);
/* A whole page holding only an error (unknown dataset, service down). */
int ui_send_error_page(struct http_request *req, int status, const char *title,
		       const char *code, const char *detail, const json_t *answer);
/* One JSON value as a result table's <td> (NULL, text cut to
 * LH_UI_CELL_BYTES with its title, numbers right-aligned, booleans). */
void ui_render_cell(struct html *h, const json_t *v);
/* A query result {"columns","rows"} as a <table id="id">. */
void ui_render_result_table(struct html *h, const json_t *result, const char *id);

/* --- ui_search.c ------------------------------------------------------------
 * The Search page's pure pieces (ADR 0151), exposed for the unit tests. */

/* Pure: 1 if s is a dataset as a search names it: "name" (dataset_name_valid)
 * or "name@N" (N a positive number without a sign or leading zero), else 0. */
int ui_search_dataset_valid(const char *s);
/* Append a search highlight (queryd's HTML: the text escaped, matches in
 * <mark>) so that only <mark> and </mark> are markup: every other '<', '>',
 * '"', '\'' and every '&' that does not start one of the five entities the
 * highlighter writes (&amp; &lt; &gt; &quot; &#39;) is escaped again, and a
 * <mark> left open is closed. What a correct highlight says comes out
 * unchanged; a wrong or hostile one stays text. */
void ui_search_marked(struct html *h, const char *snippet);
/* The index state panel (<section id="index-state">) of dataset `name` from
 * GET /catalog/index/<name>'s answer `ix`: the declaration, then per version
 * (newest first, at most UI_SEARCH_STATE_VERSIONS) its state, rows indexed
 * of rows with a bar, build time and a failed build's reason; `shown` (0 =
 * none) marks the version a result came from. While a version is pending or
 * building the panel asks for itself again every 2 s (htmx). */
#define UI_SEARCH_STATE_VERSIONS 10
void ui_search_render_state(struct html *h, const char *name, const json_t *ix,
			    long long shown);
/* A search answer (POST /search's JSON): the meta line (results, rows
 * searched, rows not yet indexed and searched exactly, time, mode, version,
 * `link` when not NULL), the notes, and the results table (<table
 * id="search-results">: rank, score, hybrid's per-ranking ranks, then the
 * row's columns: `decl`'s id, its text columns, the rest; a matched text
 * column shows its highlight through ui_search_marked). */
void ui_search_render_answer(struct html *h, const json_t *answer, const json_t *decl,
			     const char *link);
/* The same with a last "Rate" column (ADR 0190, ui_search.c note 5): when
 * `rate` is given and `decl` has an id column, each row's thumbs up and
 * down (a form to POST /search/feedback with rate->token); a row feedback
 * moved (the hit's "feedback") shows why. */
struct ui_search_rate {
	const char *token;     /* the page's CSRF token */
	const char *dataset;   /* the searched dataset's name, without @N */
	const char *query;
};
void ui_search_render_answer_rated(struct html *h, const json_t *answer, const json_t *decl,
				   const char *link, const struct ui_search_rate *rate);

/* --- ui_chart.c ------------------------------------------------------------
 * Pure: a chart of a query result as inline SVG. `columns` is queryd's
 * [{"name","type"}], `rows` its [[...]].
 *
 * ui_chart_choose() picks the columns (ADR 0122):
 *   - x: the column named want_x if there is one; else a first column of
 *     type DATE or TIMESTAMP*; else the first text column;
 *   - y: the numeric column named want_y if there is one; else the first
 *     numeric column other than x whose name does not say it is an id
 *     (ui_name_is_id), else the first numeric column other than x;
 *   - an x in time makes a line chart (sorted by time), any other x a bar
 *     chart of at most LH_UI_CHART_MAX_BARS bars in result order;
 *   - `off`, or no x or no y: no chart (kind UI_CHART_NONE).
 * ui_chart_draw() appends the SVG to h and returns 1, or 0 when there is
 * nothing to draw (no chart, no rows, no numeric value in y): nothing is
 * appended. Every label is escaped. ui_chart_svg() is both with no choice. */
enum ui_chart_kind { UI_CHART_NONE, UI_CHART_BAR, UI_CHART_LINE };
struct ui_chart_pick {
	enum ui_chart_kind kind;
	size_t x, y;   /* column indexes, when kind is not UI_CHART_NONE */
};
void ui_chart_choose(const json_t *columns, const char *want_x, const char *want_y, int off,
		     struct ui_chart_pick *out);
int ui_chart_draw(struct html *h, const json_t *columns, const json_t *rows,
		  const struct ui_chart_pick *p);
int ui_chart_svg(struct html *h, const json_t *columns, const json_t *rows);

/* Pure helpers of the chart, exposed for the unit tests. */
int ui_type_is_numeric(const char *duckdb_type);
int ui_type_is_temporal(const char *duckdb_type);
/* 1 if a column name says it holds ids: "id", "..._id", "...Id" (any case
 * for the first two). */
int ui_name_is_id(const char *name);
/* Days (with fraction) since 1970-01-01 of "YYYY-MM-DD[ T]HH:MM:SS[.f]...";
 * returns 0 and sets *out, or -1 if s is not such a value. */
int ui_time_parse(const char *s, double *out);

#endif
