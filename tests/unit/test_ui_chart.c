/* test_ui_chart.c — the console's SVG charts (src/gateway/ui_chart.c): which
 * columns the rule picks, bar and line output, escaping of labels. */
#include "test.h"

#include "gateway/ui_int.h"

#include <stdlib.h>

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Draw the chart of a result given as JSON text; returns ui_chart_svg's
 * answer, the markup in *out (caller frees). */
static int chart(const char *cols, const char *rows, char **out)
{
	json_t *c = json_loads(cols, 0, NULL), *r = json_loads(rows, 0, NULL);
	struct html h;
	html_init(&h, 0);
	int drawn = ui_chart_svg(&h, c, r);
	*out = h.buf;
	json_decref(c);
	json_decref(r);
	return drawn;
}

TEST(ui_chart_types)
{
	CHECK(ui_type_is_numeric("BIGINT"));
	CHECK(ui_type_is_numeric("DOUBLE"));
	CHECK(ui_type_is_numeric("DECIMAL(18,3)"));
	CHECK(ui_type_is_numeric("HUGEINT"));
	CHECK(!ui_type_is_numeric("VARCHAR"));
	CHECK(!ui_type_is_numeric("DATE"));
	CHECK(!ui_type_is_numeric(NULL));
	CHECK(ui_type_is_temporal("DATE"));
	CHECK(ui_type_is_temporal("TIMESTAMP"));
	CHECK(ui_type_is_temporal("TIMESTAMP WITH TIME ZONE"));
	CHECK(!ui_type_is_temporal("TIME"));
}

TEST(ui_chart_time_parse)
{
	double d;
	CHECK_EQ_INT(ui_time_parse("1970-01-01", &d), 0);
	CHECK(d == 0);
	CHECK_EQ_INT(ui_time_parse("2000-03-01", &d), 0);
	CHECK(d == 11017);
	CHECK_EQ_INT(ui_time_parse("1970-01-02T12:00:00", &d), 0);
	CHECK(d == 1.5);
	CHECK_EQ_INT(ui_time_parse("1970-01-01 06:00:00.5Z", &d), 0);
	CHECK(d > 0.25 && d < 0.2501);
	CHECK_EQ_INT(ui_time_parse("1969-12-31", &d), 0);
	CHECK(d == -1);
	CHECK_EQ_INT(ui_time_parse("2026-13-01", &d), -1);
	CHECK_EQ_INT(ui_time_parse("not a date", &d), -1);
	CHECK_EQ_INT(ui_time_parse("2026-1-1", &d), -1);
	CHECK_EQ_INT(ui_time_parse(NULL, &d), -1);
}

TEST(ui_chart_bar_text_against_number)
{
	char *s;
	/* the first text column and the first numeric column that is not an
	 * id, whatever their place: here client against total, not id (until
	 * ADR 0122 the rule took the id) */
	int drawn = chart("[{\"name\":\"id\",\"type\":\"BIGINT\"},{\"name\":\"client\",\"type\":"
			  "\"VARCHAR\"},{\"name\":\"total\",\"type\":\"DOUBLE\"}]",
			  "[[1,\"Acme\",10.5],[2,\"Globex\",null],[3,\"Initech\",-4]]", &s);
	CHECK_EQ_INT(drawn, 1);
	CHECK(strstr(s, "chart-bar") != NULL);
	CHECK_EQ_INT(count(s, "<rect class=\"bar\""), 2);   /* Globex's null skipped */
	CHECK(strstr(s, ">Acme</text>") != NULL);
	CHECK(strstr(s, "<title>Initech: -4</title>") != NULL);
	CHECK(strstr(s, "<title>bar chart of total by client</title>") != NULL);
	free(s);
	/* only ids: the id is still charted */
	drawn = chart("[{\"name\":\"client\",\"type\":\"VARCHAR\"},{\"name\":\"id\",\"type\":"
		      "\"BIGINT\"}]",
		      "[[\"Acme\",1],[\"Initech\",3]]", &s);
	CHECK_EQ_INT(drawn, 1);
	CHECK(strstr(s, "<title>Initech: 3</title>") != NULL);
	free(s);
	drawn = chart("[{\"name\":\"client\",\"type\":\"VARCHAR\"},{\"name\":\"total\","
		      "\"type\":\"DOUBLE\"}]",
		      "[[\"Acme\",10.5],[\"Globex\",null],[\"Initech\",-4]]", &s);
	CHECK_EQ_INT(drawn, 1);
	CHECK_EQ_INT(count(s, "<rect class=\"bar\""), 2);   /* null skipped */
	CHECK(strstr(s, "<title>Initech: -4</title>") != NULL);
	CHECK(strstr(s, ">total</text>") != NULL);
	CHECK(strstr(s, ">client</text>") != NULL);
	free(s);
}

TEST(ui_chart_bar_caps_at_30)
{
	char *rows = malloc(64 * 50 + 8), *s;
	size_t n = 0;
	rows[n++] = '[';
	for (int i = 0; i < 50; i++)
		n += (size_t)snprintf(rows + n, 64, "%s[\"k%d\",%d]", i ? "," : "", i, i);
	rows[n++] = ']';
	rows[n] = '\0';
	CHECK_EQ_INT(chart("[{\"name\":\"k\",\"type\":\"VARCHAR\"},{\"name\":\"v\",\"type\":"
			   "\"INTEGER\"}]", rows, &s), 1);
	CHECK_EQ_INT(count(s, "<rect class=\"bar\""), 30);
	CHECK(strstr(s, "rotate(-40)") != NULL);   /* many bars: slanted labels */
	free(s);
	free(rows);
}

TEST(ui_chart_line_when_first_column_is_time)
{
	char *s;
	CHECK_EQ_INT(chart("[{\"name\":\"day\",\"type\":\"DATE\"},{\"name\":\"label\",\"type\":"
			   "\"VARCHAR\"},{\"name\":\"n\",\"type\":\"BIGINT\"}]",
			   "[[\"2026-01-03\",\"c\",3],[\"2026-01-01\",\"a\",1],"
			   "[\"2026-01-02\",\"b\",2]]", &s), 1);
	CHECK(strstr(s, "chart-line") != NULL);
	CHECK(strstr(s, "<polyline") != NULL);
	CHECK_EQ_INT(count(s, "<circle"), 3);
	/* sorted by time: the first dot is 2026-01-01 */
	const char *first = strstr(s, "<circle");
	CHECK(first && strstr(first, "<title>2026-01-01: 1</title>") != NULL);
	CHECK(strstr(s, ">2026-01-01</text>") != NULL);
	CHECK(strstr(s, ">2026-01-03</text>") != NULL);
	free(s);
	/* timestamps within a day are labelled with their time */
	CHECK_EQ_INT(chart("[{\"name\":\"t\",\"type\":\"TIMESTAMP\"},{\"name\":\"v\",\"type\":"
			   "\"DOUBLE\"}]",
			   "[[\"2026-01-01T10:00:00\",1.5],[\"2026-01-01T14:00:00\",2]]", &s), 1);
	CHECK(strstr(s, ">01-01 10:00</text>") != NULL);
	CHECK(strstr(s, ">01-01 14:00</text>") != NULL);
	free(s);
}

TEST(ui_chart_nothing_to_draw)
{
	char *s;
	CHECK_EQ_INT(chart("[{\"name\":\"a\",\"type\":\"VARCHAR\"}]", "[[\"x\"]]", &s), 0);
	CHECK_EQ_STR(s, "");
	free(s);
	CHECK_EQ_INT(chart("[{\"name\":\"n\",\"type\":\"BIGINT\"}]", "[[1]]", &s), 0);
	free(s);
	CHECK_EQ_INT(chart("[{\"name\":\"a\",\"type\":\"VARCHAR\"},{\"name\":\"n\",\"type\":"
			   "\"BIGINT\"}]", "[]", &s), 0);
	free(s);
	CHECK_EQ_INT(chart("[]", "[]", &s), 0);
	free(s);
	/* only nulls in the value column */
	CHECK_EQ_INT(chart("[{\"name\":\"a\",\"type\":\"VARCHAR\"},{\"name\":\"n\",\"type\":"
			   "\"BIGINT\"}]", "[[\"x\",null]]", &s), 0);
	free(s);
}

TEST(ui_chart_escapes_labels_and_names)
{
	char *s;
	CHECK_EQ_INT(chart("[{\"name\":\"<script>c</script>\",\"type\":\"VARCHAR\"},"
			   "{\"name\":\"\\\"><img onerror=x>\",\"type\":\"DOUBLE\"}]",
			   "[[\"<b onmouseover='x'>\",1],[\"\\\"><img src=x onerror=alert(1)>\",2]]",
			   &s), 1);
	CHECK(strstr(s, "<script") == NULL);
	CHECK(strstr(s, "<img") == NULL);
	CHECK(strstr(s, "<b ") == NULL);
	CHECK(strstr(s, "&lt;script&gt;c&lt;/script&gt;") != NULL);
	CHECK(strstr(s, "&quot;&gt;&lt;img onerror=x&gt;") != NULL);
	CHECK(strstr(s, "&lt;b onmouseover=&#39;x&#39;&gt;") != NULL);
	free(s);
}

/* ui_chart_choose on queryd's columns given as JSON text. */
static void choose(const char *cols, const char *x, const char *y, int off,
		   struct ui_chart_pick *p)
{
	json_t *c = json_loads(cols, 0, NULL);
	ui_chart_choose(c, x, y, off, p);
	json_decref(c);
}

#define TIMESHEETS                                                                   \
	"[{\"name\":\"timesheet_id\",\"type\":\"BIGINT\"},{\"name\":\"recruiter\",\"type\":" \
	"\"VARCHAR\"},{\"name\":\"week\",\"type\":\"DATE\"},{\"name\":\"hours\",\"type\":"    \
	"\"DOUBLE\"},{\"name\":\"candidateId\",\"type\":\"INTEGER\"}]"

TEST(ui_chart_choose_skips_ids_by_default)
{
	struct ui_chart_pick p;
	choose(TIMESHEETS, NULL, NULL, 0, &p);
	CHECK_EQ_INT(p.kind, UI_CHART_BAR);
	CHECK_EQ_INT(p.x, 1);   /* recruiter */
	CHECK_EQ_INT(p.y, 3);   /* hours, not timesheet_id */
	CHECK(ui_name_is_id("id"));
	CHECK(ui_name_is_id("ID"));
	CHECK(ui_name_is_id("timesheet_id"));
	CHECK(ui_name_is_id("TIMESHEET_ID"));
	CHECK(ui_name_is_id("candidateId"));
	CHECK(!ui_name_is_id("paid"));
	CHECK(!ui_name_is_id("valid"));
	CHECK(!ui_name_is_id("ID_card"));
	CHECK(!ui_name_is_id("i"));
	CHECK(!ui_name_is_id(NULL));
}

TEST(ui_chart_choose_takes_the_users_columns)
{
	struct ui_chart_pick p;
	choose(TIMESHEETS, "recruiter", "timesheet_id", 0, &p);   /* an id, on purpose */
	CHECK_EQ_INT(p.kind, UI_CHART_BAR);
	CHECK_EQ_INT(p.x, 1);
	CHECK_EQ_INT(p.y, 0);
	choose(TIMESHEETS, "week", NULL, 0, &p);   /* a time x: a line chart */
	CHECK_EQ_INT(p.kind, UI_CHART_LINE);
	CHECK_EQ_INT(p.x, 2);
	CHECK_EQ_INT(p.y, 3);
	choose(TIMESHEETS, "timesheet_id", "hours", 0, &p);   /* a numeric x: bars */
	CHECK_EQ_INT(p.kind, UI_CHART_BAR);
	CHECK_EQ_INT(p.x, 0);
	CHECK_EQ_INT(p.y, 3);
	/* a y that is not a number, or a name that is not there: the rule's */
	choose(TIMESHEETS, "nope", "recruiter", 0, &p);
	CHECK_EQ_INT(p.kind, UI_CHART_BAR);
	CHECK_EQ_INT(p.x, 1);
	CHECK_EQ_INT(p.y, 3);
	/* no chart when asked, whatever the columns */
	choose(TIMESHEETS, "recruiter", "hours", 1, &p);
	CHECK_EQ_INT(p.kind, UI_CHART_NONE);
	/* a number alone: nothing for x unless chosen */
	choose("[{\"name\":\"year\",\"type\":\"INTEGER\"},{\"name\":\"n\",\"type\":"
	       "\"BIGINT\"}]", NULL, NULL, 0, &p);
	CHECK_EQ_INT(p.kind, UI_CHART_NONE);
	choose("[{\"name\":\"year\",\"type\":\"INTEGER\"},{\"name\":\"n\",\"type\":"
	       "\"BIGINT\"}]", "year", NULL, 0, &p);
	CHECK_EQ_INT(p.kind, UI_CHART_BAR);
	CHECK_EQ_INT(p.x, 0);
	CHECK_EQ_INT(p.y, 1);
}

TEST(ui_chart_draw_what_was_chosen)
{
	json_t *c = json_loads(TIMESHEETS, 0, NULL);
	json_t *r = json_loads("[[1,\"Ada\",\"2026-01-05\",7.5,10],[2,\"Alan\",\"2026-01-12\",8,11]]",
			       0, NULL);
	struct ui_chart_pick p;
	struct html h;
	ui_chart_choose(c, "recruiter", "candidateId", 0, &p);
	html_init(&h, 0);
	CHECK_EQ_INT(ui_chart_draw(&h, c, r, &p), 1);
	CHECK(strstr(h.buf, "<title>bar chart of candidateId by recruiter</title>") != NULL);
	CHECK(strstr(h.buf, "<title>Alan: 11</title>") != NULL);
	html_free(&h);
	ui_chart_choose(c, "week", "hours", 0, &p);
	html_init(&h, 0);
	CHECK_EQ_INT(ui_chart_draw(&h, c, r, &p), 1);
	CHECK(strstr(h.buf, "chart-line") != NULL);
	CHECK(strstr(h.buf, "<title>2026-01-12: 8</title>") != NULL);
	html_free(&h);
	ui_chart_choose(c, NULL, NULL, 1, &p);
	html_init(&h, 0);
	CHECK_EQ_INT(ui_chart_draw(&h, c, r, &p), 0);
	CHECK_EQ_STR(h.buf, "");
	html_free(&h);
	json_decref(c);
	json_decref(r);
}
