/* ui_int.h — the web UI's private pieces, shared by ui.c (routes and pages),
 * ui_html.c (the HTML builder, form and URL codecs), ui_csrf.c (CSRF
 * tokens) and ui_chart.c (SVG charts). Included by the unit tests; other
 * modules use gateway_int.h.
 *
 * The one rule of the builder: every dynamic value is HTML-escaped on its way
 * into a page. html_printf() escapes every %s it is given; there is no "raw
 * string" directive. Markup that is not a literal only enters through
 * html_append() of another builder, which was itself built the same way.
 */
#ifndef LH_GATEWAY_UI_INT_H
#define LH_GATEWAY_UI_INT_H
#include "common/json.h"

#include <stddef.h>

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

/* --- ui_chart.c ------------------------------------------------------------
 * Pure: a chart of a query result as inline SVG, appended to h.
 * `columns` is queryd's [{"name","type"}], `rows` its [[...]]. The rule:
 *   - first column DATE or TIMESTAMP*: a line chart, x = that column (time),
 *     y = the first numeric column after it;
 *   - otherwise a bar chart of the first text column (labels) against the
 *     first numeric column, at most LH_UI_CHART_MAX_BARS bars.
 * Returns 1 when a chart was drawn, 0 when the result has no chartable
 * columns (nothing appended). Every label is escaped. */
int ui_chart_svg(struct html *h, const json_t *columns, const json_t *rows);

/* Pure helpers of the chart, exposed for the unit tests. */
int ui_type_is_numeric(const char *duckdb_type);
int ui_type_is_temporal(const char *duckdb_type);
/* Days (with fraction) since 1970-01-01 of "YYYY-MM-DD[ T]HH:MM:SS[.f]...";
 * returns 0 and sets *out, or -1 if s is not such a value. */
int ui_time_parse(const char *s, double *out);

#endif
