/* ui_int.h — the web UI's private pieces, shared by ui.c (routes and pages),
 * ui_html.c (the HTML builder, form and URL codecs) and ui_chart.c (SVG
 * charts). Included by the unit tests; other modules use gateway_int.h.
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
