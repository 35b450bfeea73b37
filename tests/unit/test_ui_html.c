/* test_ui_html.c — the web UI's HTML builder (src/gateway/ui_html.c): the
 * escaper every dynamic value goes through, html_printf's directives, the
 * page cap, and the form decoder. */
#include "test.h"

#include "common/tokens.h"
#include "gateway/ui_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(ui_html_escape_all_five)
{
	char *s = html_escape("<script>alert(\"x\" & 'y')</script>");
	CHECK_EQ_STR(s, "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
	free(s);
	s = html_escape("\"><img src=x onerror=alert(1)>");
	CHECK_EQ_STR(s, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
	free(s);
	s = html_escape("plain caf\xc3\xa9");
	CHECK_EQ_STR(s, "plain caf\xc3\xa9");
	free(s);
	s = html_escape("");
	CHECK_EQ_STR(s, "");
	free(s);
}

TEST(ui_html_printf_escapes_every_string)
{
	struct html h;
	html_init(&h, 0);
	html_printf(&h, "<td title=\"%s\">%s</td>", "a\"b", "<b>");
	CHECK_EQ_STR(h.buf, "<td title=\"a&quot;b\">&lt;b&gt;</td>");
	html_free(&h);

	html_init(&h, 0);
	html_printf(&h, "%d|%u|%ld|%lld|%zu|%.1f|%5.2f|%g|%%|%s", -3, 4u, 5L, -6LL, (size_t)7,
		    1.25, 3.14159, 0.5, (const char *)NULL);
	CHECK_EQ_STR(h.buf, "-3|4|5|-6|7|1.2| 3.14|0.5|%|");
	html_free(&h);

	html_init(&h, 0);
	html_printf(&h, "<a href=\"/console?sql=%U\">", "SELECT * FROM t WHERE a='<x>' & \"y\"");
	CHECK_EQ_STR(h.buf, "<a href=\"/console?sql=SELECT%20%2A%20FROM%20t%20WHERE%20a%3D%27%3Cx%3E"
			    "%27%20%26%20%22y%22\">");
	html_free(&h);
}

TEST(ui_html_text_cut_keeps_utf8_whole)
{
	struct html h;
	html_init(&h, 0);
	html_text_cut(&h, "ab\xc3\xa9z", 3);   /* the cut would split é */
	CHECK_EQ_STR(h.buf, "ab\xe2\x80\xa6");
	html_free(&h);
	html_init(&h, 0);
	html_text_cut(&h, "<<<<", 2);
	CHECK_EQ_STR(h.buf, "&lt;&lt;\xe2\x80\xa6");
	html_free(&h);
	html_init(&h, 0);
	html_text_cut(&h, "short", 10);
	CHECK_EQ_STR(h.buf, "short");
	html_free(&h);
}

TEST(ui_html_cap_sets_overflow)
{
	struct html h, g;
	html_init(&h, 16);
	html_lit(&h, "0123456789");
	CHECK(!h.overflow);
	html_text(&h, "<<<");   /* 12 bytes escaped: over the cap */
	CHECK(h.overflow);
	CHECK(h.len < 16);
	size_t len = h.len;
	html_lit(&h, "x");      /* nothing is appended after an overflow */
	CHECK_EQ_INT(h.len, len);
	html_init(&g, 0);
	html_append(&g, &h);
	CHECK(g.overflow);
	html_free(&g);
	html_free(&h);

	html_init(&h, 0);
	for (int i = 0; i < 5000; i++)
		html_lit(&h, "<tr>");
	CHECK(!h.overflow);
	CHECK_EQ_INT(h.len, 20000);
	html_free(&h);
}

TEST(ui_html_form_value)
{
	const char *b = "name=t&sql=SELECT+*+FROM+%22t%4012%22+WHERE+a%3D1%26b&empty=&flag";
	char *v = form_value(b, strlen(b), "sql");
	CHECK_EQ_STR(v, "SELECT * FROM \"t@12\" WHERE a=1&b");
	free(v);
	v = form_value(b, strlen(b), "empty");
	CHECK_EQ_STR(v, "");
	free(v);
	v = form_value(b, strlen(b), "flag");
	CHECK_EQ_STR(v, "");
	free(v);
	CHECK(form_value(b, strlen(b), "missing") == NULL);
	CHECK(form_value(b, strlen(b), "na") == NULL);
	/* malformed escapes stay as they are; %00 is dropped, not a NUL */
	const char *m = "a=100%25%zz%4&b=x%00y";
	v = form_value(m, strlen(m), "a");
	CHECK_EQ_STR(v, "100%%zz%4");
	free(v);
	v = form_value(m, strlen(m), "b");
	CHECK_EQ_STR(v, "xy");
	free(v);
	/* the length bounds the scan: no read past n */
	v = form_value("sql=abc&x=1", 6, "sql");
	CHECK_EQ_STR(v, "ab");
	free(v);
	CHECK(form_value("", 0, "sql") == NULL);
}

/* --- the formatters and the SQL helper (ADR 0122, 0123) ------------------- */

TEST(ui_fmt_count_groups_thousands)
{
	char b[32];
	ui_fmt_count(b, sizeof b, 0);
	CHECK_EQ_STR(b, "0");
	ui_fmt_count(b, sizeof b, 999);
	CHECK_EQ_STR(b, "999");
	ui_fmt_count(b, sizeof b, 1000);
	CHECK_EQ_STR(b, "1,000");
	ui_fmt_count(b, sizeof b, 10000);
	CHECK_EQ_STR(b, "10,000");
	ui_fmt_count(b, sizeof b, 1234567);
	CHECK_EQ_STR(b, "1,234,567");
	ui_fmt_count(b, sizeof b, -1000);
	CHECK_EQ_STR(b, "-1,000");
	ui_fmt_count(b, sizeof b, -12);
	CHECK_EQ_STR(b, "-12");
	ui_fmt_count(b, sizeof b, 9223372036854775807LL);
	CHECK_EQ_STR(b, "9,223,372,036,854,775,807");
	ui_fmt_count(b, sizeof b, -9223372036854775807LL - 1);   /* no overflow */
	CHECK_EQ_STR(b, "-9,223,372,036,854,775,808");
	char small[6];
	ui_fmt_count(small, sizeof small, 1234567);   /* cut, still a string */
	CHECK_EQ_STR(small, "1,234");
}

TEST(ui_fmt_bytes_in_binary_units_like_the_cli)
{
	char b[32];
	ui_fmt_bytes(b, sizeof b, 0);
	CHECK_EQ_STR(b, "0 B");
	ui_fmt_bytes(b, sizeof b, 746);
	CHECK_EQ_STR(b, "746 B");
	ui_fmt_bytes(b, sizeof b, 1023);
	CHECK_EQ_STR(b, "1023 B");
	ui_fmt_bytes(b, sizeof b, 1024);
	CHECK_EQ_STR(b, "1.0 KiB");
	ui_fmt_bytes(b, sizeof b, 1229);
	CHECK_EQ_STR(b, "1.2 KiB");
	ui_fmt_bytes(b, sizeof b, 3565158);
	CHECK_EQ_STR(b, "3.4 MiB");
	ui_fmt_bytes(b, sizeof b, 1ULL << 30);
	CHECK_EQ_STR(b, "1.0 GiB");
	ui_fmt_bytes(b, sizeof b, (1ULL << 40) * 3 / 2);
	CHECK_EQ_STR(b, "1.5 TiB");
	/* what would print as "1024.0 KiB" is 1.0 MiB */
	ui_fmt_bytes(b, sizeof b, 1048575);
	CHECK_EQ_STR(b, "1.0 MiB");
	ui_fmt_bytes(b, sizeof b, 1048524);   /* 1023.94 KiB */
	CHECK_EQ_STR(b, "1023.9 KiB");
	ui_fmt_bytes(b, sizeof b, 18446744073709551615ULL);
	CHECK_EQ_STR(b, "16384.0 PiB");
}

TEST(ui_sql_body_len_stops_at_the_statement_end)
{
	CHECK_EQ_INT(ui_sql_body_len("SELECT 1"), 8);
	CHECK_EQ_INT(ui_sql_body_len("SELECT 1;"), 8);
	CHECK_EQ_INT(ui_sql_body_len("SELECT 1 ;;  \n"), 8);
	CHECK_EQ_INT(ui_sql_body_len("SELECT 1; -- done\n"), 8);
	CHECK_EQ_INT(ui_sql_body_len("SELECT 1 -- a comment; with a semicolon\n"),
		     (long long)strlen("SELECT 1 -- a comment; with a semicolon"));
	CHECK_EQ_INT(ui_sql_body_len("SELECT ';' AS s; /* ; */"), 15);
	CHECK_EQ_INT(ui_sql_body_len("SELECT 'it''s;' AS s;"), 20);
	CHECK_EQ_INT(ui_sql_body_len("SELECT E'a\\';b' AS s;"), 20);
	CHECK_EQ_INT(ui_sql_body_len("SELECT \"a;b\" FROM t;"), 19);
	CHECK_EQ_INT(ui_sql_body_len("SELECT $$a;b$$, $q$;$q$;"), 23);
	CHECK_EQ_INT(ui_sql_body_len("SELECT /* a /* nested ; */ ; */ 1;"), 33);
	CHECK_EQ_INT(ui_sql_body_len("SELECT x$1 FROM t;"), 17);   /* $ in a name */
	CHECK_EQ_INT(ui_sql_body_len("  \n"), 0);
	CHECK_EQ_INT(ui_sql_body_len(""), 0);
	/* unterminated: the whole text (queryd reports it) */
	CHECK_EQ_INT(ui_sql_body_len("SELECT 'open;"), 13);
	CHECK_EQ_INT(ui_sql_body_len("SELECT 1 /* open;"), 17);
}

/* The top navigation follows who the page is for (ADR 0212): all four links
 * without tokens, no Upload for a read token, none before signing in. */
TEST(ui_page_nav_follows_who_the_page_is_for)
{
	struct ui_page_token t;
	struct html h;

	memset(&t, 0, sizeof t);
	html_init(&h, 0);
	ui_page_open(&h, "x", UI_NAV_NONE, &t);
	CHECK(strstr(h.buf, "href=\"/upload\"") != NULL);
	CHECK(strstr(h.buf, "href=\"/console\"") != NULL);
	html_free(&h);

	t.auth_on = 1;
	t.role = LH_ROLE_READ;
	snprintf(t.who, sizeof t.who, "%s", "analyst");
	html_init(&h, 0);
	ui_page_open(&h, "x", UI_NAV_NONE, &t);
	CHECK(strstr(h.buf, "href=\"/upload\"") == NULL);
	CHECK(strstr(h.buf, "href=\"/console\"") != NULL);
	CHECK(strstr(h.buf, ">analyst<") != NULL);
	html_free(&h);

	t.who[0] = '\0';          /* the sign-in page: nobody yet */
	html_init(&h, 0);
	ui_page_open(&h, "Sign in", UI_NAV_NONE, &t);
	CHECK(strstr(h.buf, "href=\"/upload\"") == NULL);
	CHECK(strstr(h.buf, "href=\"/console\"") == NULL);
	CHECK(strstr(h.buf, "href=\"/search\"") == NULL);
	CHECK(strstr(h.buf, "class=\"brand\"") != NULL);
	html_free(&h);
}
