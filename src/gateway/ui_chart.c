/* ui_chart.c — a chart of a query result, drawn server-side as inline SVG
 * for the SQL console (ADR 0080, 0122). Pure: JSON in, markup out through the
 * escaping builder of ui_html.c; unit-tested in tests/unit/test_ui_chart.c.
 *
 * The rule (ui_int.h, ui_chart_choose): x is the column the user chose, else
 * a first column that is a DATE or TIMESTAMP, else the first text column; y
 * the numeric column the user chose, else the first numeric column whose
 * name does not say it is an id (else the first numeric one). An x in time
 * makes a line chart, any other x a bar chart of at most
 * LH_UI_CHART_MAX_BARS bars in result order. Rows whose value is null or not
 * a number are skipped. The y axis always includes 0 and has "nice" ticks.
 */
#include "gateway/ui_int.h"

#include "common/calendar.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_W 960.0
#define CHART_H 300.0
#define PAD_L 64.0
#define PAD_R 20.0
#define PAD_T 16.0
#define PAD_B 72.0
#define CHART_ROTATED_EXTRA 28.0

int ui_type_is_numeric(const char *t)
{
	static const char *const names[] = {
		"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
		"USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", NULL,
	};
	if (!t)
		return 0;
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(t, names[i]))
			return 1;
	return !strncmp(t, "DECIMAL", 7);
}

int ui_type_is_temporal(const char *t)
{
	return t && (!strcmp(t, "DATE") || !strncmp(t, "TIMESTAMP", 9));
}

static int type_is_text(const char *t)
{
	return t && (!strcmp(t, "VARCHAR") || !strcmp(t, "ENUM"));
}

/* "2026-01-05", or "01-05 14:30" when with_time (timestamps over less than
 * three days). */
static void time_label(char *buf, size_t n, double days, int with_time)
{
	int64_t y;
	unsigned m, d;
	long day = (long)floor(days);
	calendar_civil_from_days(day, &y, &m, &d);
	if (!with_time) {
		snprintf(buf, n, "%04lld-%02u-%02u", (long long)y, m, d);
		return;
	}
	long mins = lround((days - (double)day) * 1440);
	if (mins >= 1440)
		mins = 1439;
	snprintf(buf, n, "%02u-%02u %02ld:%02ld", m, d, mins / 60, mins % 60);
}

int ui_time_parse(const char *s, double *out)
{
	int y, mo, d, hh = 0, mi = 0, ss = 0;
	if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-' || calendar_digits(s, 4, &y) ||
	    calendar_digits(s + 5, 2, &mo) || calendar_digits(s + 8, 2, &d) || mo < 1 ||
	    mo > 12 || d < 1 || d > 31)
		return -1;
	const char *t = s + 10;
	double frac = 0;
	if ((*t == 'T' || *t == ' ') && strlen(t) >= 6 && t[3] == ':' &&
	    !calendar_digits(t + 1, 2, &hh) && !calendar_digits(t + 4, 2, &mi)) {
		t += 6;
		if (*t == ':' && !calendar_digits(t + 1, 2, &ss)) {
			t += 3;
			if (*t == '.') {
				double scale = 0.1;
				for (t++; *t >= '0' && *t <= '9'; t++, scale /= 10)
					frac += (*t - '0') * scale;
			}
		}
	}
	*out = (double)calendar_days_from_civil(y, (unsigned)mo, (unsigned)d) +
	       (hh * 3600.0 + mi * 60.0 + ss + frac) / 86400.0;
	return 0;
}

/* A cell as a number: JSON numbers, and strings that are numbers in full
 * (queryd may send very large integers as text). */
static int cell_number(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		double d = strtod(s, &end);
		if (end != s && !*end && isfinite(d)) {
			*out = d;
			return 0;
		}
	}
	return -1;
}

/* A cell as label text into buf (JSON text, or a compact rendering). */
static void cell_label(const json_t *v, char *buf, size_t n)
{
	if (json_is_string(v))
		snprintf(buf, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, n, "%g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(buf, n, "true");
	else if (json_is_false(v))
		snprintf(buf, n, "false");
	else
		snprintf(buf, n, "(null)");
}

static void fmt_num(char *buf, size_t n, double v)
{
	double a = fabs(v);
	if (a >= 1e9)
		snprintf(buf, n, "%.3gB", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, n, "%.3gM", v / 1e6);
	else if (a >= 1e4)
		snprintf(buf, n, "%.4gk", v / 1e3);
	else if (v == floor(v))
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.3g", v);
}

/* A step of 1, 2 or 5 times a power of ten giving about `want` intervals. */
static double nice_step(double span, int want)
{
	if (span <= 0)
		return 1;
	double raw = span / want;
	double p = pow(10, floor(log10(raw)));
	double f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* The y axis: grid lines and labels from lo to hi (already nice). */
static void y_axis(struct html *h, double lo, double hi, double step, const char *yname)
{
	double ph = CHART_H - PAD_T - PAD_B;
	char lab[32];
	for (double v = lo; v <= hi + step / 2; v += step) {
		double y = PAD_T + ph - (v - lo) / (hi - lo) * ph;
		fmt_num(lab, sizeof lab, fabs(v) < step / 1e6 ? 0 : v);
		html_printf(h, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			       "stroke=\"#e3e6ea\"/>",
			    PAD_L, CHART_W - PAD_R, y, y);
		html_printf(h, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
			       "font-size=\"11\" fill=\"#5b6470\">%s</text>",
			    PAD_L - 6, y + 4, lab);
	}
	html_printf(h, "<text class=\"axis-label\" transform=\"translate(14 %.1f) rotate(-90)\" "
		       "text-anchor=\"middle\" font-size=\"12\" fill=\"#333\">%s</text>",
		    PAD_T + ph / 2, yname);
}

static void y_range(double vmin, double vmax, double *lo, double *hi, double *step)
{
	if (vmin > 0)
		vmin = 0;
	if (vmax < 0)
		vmax = 0;
	if (vmax == vmin)
		vmax = vmin + 1;
	*step = nice_step(vmax - vmin, 5);
	*lo = floor(vmin / *step) * *step;
	*hi = ceil(vmax / *step) * *step;
}

/* `height`: CHART_H, or more below the plot for slanted labels. */
static void svg_open(struct html *h, const char *kind, const char *xname, const char *yname,
		     double height)
{
	html_printf(h, "<svg class=\"chart chart-%s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		       "xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui, sans-serif\">"
		       "<title>%s chart of %s by %s</title>",
		    kind, CHART_W, height, kind, yname, xname);
}

static void x_axis_line(struct html *h, const char *xname, double label_y)
{
	html_printf(h, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#8a939e\"/>",
		    PAD_L, CHART_W - PAD_R, CHART_H - PAD_B, CHART_H - PAD_B);
	html_printf(h, "<text class=\"axis-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		       "font-size=\"12\" fill=\"#333\">%s</text>",
		    PAD_L + (CHART_W - PAD_L - PAD_R) / 2, label_y, xname);
}

static int bar_chart(struct html *h, const json_t *rows, size_t lc, size_t vc,
		     const char *xname, const char *yname)
{
	size_t nrows = json_array_size(rows), n = 0;
	size_t idx[LH_UI_CHART_MAX_BARS];
	double val[LH_UI_CHART_MAX_BARS], vmin = 0, vmax = 0;
	for (size_t i = 0; i < nrows && n < LH_UI_CHART_MAX_BARS; i++) {
		double v;
		if (cell_number(json_array_get(json_array_get(rows, i), vc), &v) != 0)
			continue;
		idx[n] = i;
		val[n] = v;
		if (n == 0 || v < vmin)
			vmin = v;
		if (n == 0 || v > vmax)
			vmax = v;
		n++;
	}
	if (n == 0)
		return 0;
	double lo, hi, step;
	y_range(vmin, vmax, &lo, &hi, &step);
	double pw = CHART_W - PAD_L - PAD_R, ph = CHART_H - PAD_T - PAD_B;
	double slot = pw / (double)n, bw = slot * 0.7;
	int rotate = n > 8;
	/* slanted labels (16 characters at most) reach about 60 units below
	 * the plot: the axis name goes under them */
	double height = rotate ? CHART_H + CHART_ROTATED_EXTRA : CHART_H;
	svg_open(h, "bar", xname, yname, height);
	y_axis(h, lo, hi, step, yname);
	double y0 = PAD_T + ph - (0 - lo) / (hi - lo) * ph;
	for (size_t k = 0; k < n; k++) {
		char label[96], vlab[32];
		cell_label(json_array_get(json_array_get(rows, idx[k]), lc), label, sizeof label);
		fmt_num(vlab, sizeof vlab, val[k]);
		double y = PAD_T + ph - (val[k] - lo) / (hi - lo) * ph;
		double x = PAD_L + slot * (double)k + (slot - bw) / 2;
		html_printf(h, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			       "height=\"%.1f\" fill=\"#3b6ea8\"><title>%s: %s</title></rect>",
			    x, y < y0 ? y : y0, bw, fabs(y0 - y), label, vlab);
		double cx = x + bw / 2;
		html_lit(h, "<text class=\"tick\" font-size=\"11\" fill=\"#5b6470\" ");
		if (rotate)
			html_printf(h, "text-anchor=\"end\" transform=\"translate(%.1f %.1f) "
				       "rotate(-40)\">",
				    cx + 3, CHART_H - PAD_B + 12);
		else
			html_printf(h, "text-anchor=\"middle\" x=\"%.1f\" y=\"%.1f\">", cx,
				    CHART_H - PAD_B + 16);
		html_text_cut(h, label, 16);
		html_lit(h, "</text>");
	}
	x_axis_line(h, xname, rotate ? height - 6 : CHART_H - PAD_B + 38);
	html_lit(h, "</svg>");
	return 1;
}

struct point {
	double x, y;
	size_t row;
};

static int point_cmp(const void *a, const void *b)
{
	const struct point *p = a, *q = b;
	return p->x < q->x ? -1 : p->x > q->x ? 1 : 0;
}

static int line_chart(struct html *h, const json_t *rows, size_t tc, size_t vc,
		      const char *xname, const char *yname, int is_date)
{
	size_t nrows = json_array_size(rows), n = 0;
	struct point *pts = xcalloc(nrows ? nrows : 1, sizeof *pts);
	double vmin = 0, vmax = 0;
	for (size_t i = 0; i < nrows && n < LH_UI_CHART_MAX_POINTS; i++) {
		const json_t *row = json_array_get(rows, i);
		double x, y;
		if (ui_time_parse(json_string_value(json_array_get(row, tc)), &x) != 0 ||
		    cell_number(json_array_get(row, vc), &y) != 0)
			continue;
		pts[n] = (struct point){ x, y, i };
		if (n == 0 || y < vmin)
			vmin = y;
		if (n == 0 || y > vmax)
			vmax = y;
		n++;
	}
	if (n == 0) {
		free(pts);
		return 0;
	}
	qsort(pts, n, sizeof *pts, point_cmp);
	double lo, hi, step;
	y_range(vmin, vmax, &lo, &hi, &step);
	double pw = CHART_W - PAD_L - PAD_R, ph = CHART_H - PAD_T - PAD_B;
	double x0 = pts[0].x, x1 = pts[n - 1].x;
	double span = x1 > x0 ? x1 - x0 : 1;
	svg_open(h, "line", xname, yname, CHART_H);
	y_axis(h, lo, hi, step, yname);
	html_lit(h, "<polyline class=\"line\" fill=\"none\" stroke=\"#3b6ea8\" "
		    "stroke-width=\"2\" points=\"");
	for (size_t k = 0; k < n; k++) {
		double px = n == 1 ? PAD_L + pw / 2 : PAD_L + (pts[k].x - x0) / span * pw;
		double py = PAD_T + ph - (pts[k].y - lo) / (hi - lo) * ph;
		html_printf(h, "%s%.1f,%.1f", k ? " " : "", px, py);
	}
	html_lit(h, "\"/>");
	for (size_t k = 0; k < n && n <= 60; k++) {
		char label[64], vlab[32];
		double px = n == 1 ? PAD_L + pw / 2 : PAD_L + (pts[k].x - x0) / span * pw;
		double py = PAD_T + ph - (pts[k].y - lo) / (hi - lo) * ph;
		cell_label(json_array_get(json_array_get(rows, pts[k].row), tc), label,
			   sizeof label);
		fmt_num(vlab, sizeof vlab, pts[k].y);
		html_printf(h, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
			       "fill=\"#3b6ea8\"><title>%s: %s</title></circle>",
			    px, py, label, vlab);
	}
	/* x ticks: five instants evenly spread over the time range, labelled
	 * as dates (or date and time when the range is under three days) */
	int nt = n == 1 || x1 == x0 ? 1 : 5;
	for (int t = 0; t < nt; t++) {
		double tx = nt == 1 ? x0 : x0 + span * t / (nt - 1);
		double px = nt == 1 ? PAD_L + pw / 2 : PAD_L + (tx - x0) / span * pw;
		char label[40];
		time_label(label, sizeof label, tx, !is_date && span < 3);
		html_printf(h, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
			       "font-size=\"11\" fill=\"#5b6470\">%s</text>",
			    px, CHART_H - PAD_B + 16,
			    nt > 1 && t == 0 ? "start" : nt > 1 && t == nt - 1 ? "end" : "middle",
			    label);
	}
	x_axis_line(h, xname, CHART_H - PAD_B + 38);
	html_lit(h, "</svg>");
	free(pts);
	return 1;
}

static const char *col_name(const json_t *columns, size_t i)
{
	return json_string_value(json_object_get(json_array_get(columns, i), "name"));
}

static const char *col_type(const json_t *columns, size_t i)
{
	return json_string_value(json_object_get(json_array_get(columns, i), "type"));
}

int ui_name_is_id(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 2)
		return 0;
	if (n == 2)
		return (name[0] == 'i' || name[0] == 'I') && (name[1] == 'd' || name[1] == 'D');
	/* "timesheet_id", "TIMESHEET_ID", "candidateId" */
	if (name[n - 3] == '_' && (name[n - 2] == 'i' || name[n - 2] == 'I') &&
	    (name[n - 1] == 'd' || name[n - 1] == 'D'))
		return 1;
	return name[n - 2] == 'I' && name[n - 1] == 'd' && name[n - 3] >= 'a' && name[n - 3] <= 'z';
}

/* The index of the column named `name`, or nc. */
static size_t col_find(const json_t *columns, const char *name)
{
	size_t nc = json_array_size(columns);
	for (size_t i = 0; name && *name && i < nc; i++)
		if (col_name(columns, i) && !strcmp(col_name(columns, i), name))
			return i;
	return nc;
}

void ui_chart_choose(const json_t *columns, const char *want_x, const char *want_y, int off,
		     struct ui_chart_pick *out)
{
	size_t nc = json_array_size(columns);
	out->kind = UI_CHART_NONE;
	out->x = out->y = 0;
	if (off || nc == 0)
		return;
	const char *first = col_type(columns, 0);
	size_t x = col_find(columns, want_x), y = col_find(columns, want_y);
	if (y < nc && !ui_type_is_numeric(col_type(columns, y)))
		y = nc;   /* a y that is not a number: the rule's choice instead */
	if (x == nc) {
		/* the rule: a first column in time, else the first text column */
		if (ui_type_is_temporal(first)) {
			x = 0;
		} else {
			for (size_t i = 0; i < nc && x == nc; i++)
				if (type_is_text(col_type(columns, i)))
					x = i;
		}
	}
	if (y == nc) {
		/* the first number that is not an id, else the first number */
		size_t any = nc;
		for (size_t i = 0; i < nc && y == nc; i++) {
			if (i == x || !ui_type_is_numeric(col_type(columns, i)))
				continue;
			if (any == nc)
				any = i;
			if (!ui_name_is_id(col_name(columns, i)))
				y = i;
		}
		if (y == nc)
			y = any;
	}
	if (x == nc || y == nc)
		return;
	out->kind = ui_type_is_temporal(col_type(columns, x)) ? UI_CHART_LINE : UI_CHART_BAR;
	out->x = x;
	out->y = y;
}

int ui_chart_draw(struct html *h, const json_t *columns, const json_t *rows,
		  const struct ui_chart_pick *p)
{
	size_t nc = json_array_size(columns);
	if (p->kind == UI_CHART_NONE || p->x >= nc || p->y >= nc || json_array_size(rows) == 0)
		return 0;
	const char *xname = col_name(columns, p->x), *yname = col_name(columns, p->y);
	if (p->kind == UI_CHART_LINE)
		return line_chart(h, rows, p->x, p->y, xname, yname,
				  !strcmp(col_type(columns, p->x) ? col_type(columns, p->x) : "",
					  "DATE"));
	return bar_chart(h, rows, p->x, p->y, xname, yname);
}

int ui_chart_svg(struct html *h, const json_t *columns, const json_t *rows)
{
	struct ui_chart_pick p;
	ui_chart_choose(columns, NULL, NULL, 0, &p);
	return ui_chart_draw(h, columns, rows, &p);
}
