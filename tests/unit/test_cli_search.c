/* test_cli_search.c — `lakehouse search`'s pure pieces: a highlight (HTML
 * with <mark>) turned into terminal text (entities decoded, control bytes
 * made spaces, matches marked for bold or bracketed), and tables whose
 * cells carry those marks (cli_table_print_marked: bold that takes no
 * width, ended before a cut; elsewhere the mark bytes stay inert). */
#include "test.h"

#include "cli/cli_int.h"

#include <stdlib.h>

static char *render_marked(int marked, const char *const *headers, size_t ncols,
			   const char *const *cells, size_t nrows, size_t width)
{
	FILE *f = tmpfile();
	if (marked)
		cli_table_print_marked(f, CLI_TABLE_PLAIN, headers, ncols, cells, nrows, NULL,
				       width);
	else
		cli_table_print(f, CLI_TABLE_PLAIN, headers, ncols, cells, nrows, NULL, width);
	long n = ftell(f);
	char *buf = calloc(1, (size_t)n + 1);
	rewind(f);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = '\0';
	fclose(f);
	return buf;
}

TEST(cli_search_snippet_brackets_and_entities)
{
	char *s = cli_search_snippet("\xE2\x80\xA6"
				     "a <mark>Forklift</mark> &amp; <mark>pallet"
				     "</mark> &lt;b&gt; &quot;x&quot; it&#39;s &copy;",
				     0);
	CHECK_EQ_STR(s, "\xE2\x80\xA6"
			"a [Forklift] & [pallet] <b> \"x\" it's &copy;");
	free(s);
	/* bold: the mark bytes, nothing else changed */
	s = cli_search_snippet("<mark>nurse</mark>s &amp; <mark>ICU</mark>", 1);
	CHECK_EQ_STR(s, "\x01nurse\x02s & \x01ICU\x02");
	free(s);
	/* a value's own control bytes (an ESC sequence, a newline, the mark
	 * bytes themselves) are spaces: only <mark> makes bold */
	s = cli_search_snippet("a\x1b[31mred\n\x01z\x02 <mark>x</mark>", 1);
	CHECK_EQ_STR(s, "a [31mred  z  \x01x\x02");
	free(s);
	/* entities the highlighter does not write, and cut tags, stay text */
	s = cli_search_snippet("&amp &#x41; <mark <marked> </mar", 0);
	CHECK_EQ_STR(s, "&amp &#x41; <mark <marked> </mar");
	free(s);
	s = cli_search_snippet("", 1);
	CHECK_EQ_STR(s, "");
	free(s);
}

TEST(cli_table_marked_bold_takes_no_width)
{
	const char *headers[] = { "#", "title" };
	const char *cells[] = { "1",
				"\x01"
				"Forklift\x02 Operator",
				"2", "Welder" };
	char *out = render_marked(1, headers, 2, cells, 2, 0);
	/* the column is as wide as "Forklift Operator": "Welder" is padded to
	 * it only when it is not the last column, so check the header line and
	 * that the escapes are there */
	CHECK_EQ_STR(out, "#  title\n"
			  "1  \x1b[1mForklift\x1b[22m Operator\n"
			  "2  Welder\n");
	free(out);
	const char *headers3[] = { "title", "state" };
	const char *cells3[] = { "\x01"
				 "Forklift\x02 Operator",
				 "WI", "Welder", "IL" };
	out = render_marked(1, headers3, 2, cells3, 2, 0);
	CHECK_EQ_STR(out, "title              state\n"
			  "\x1b[1mForklift\x1b[22m Operator  WI\n"
			  "Welder             IL\n");
	free(out);
}

TEST(cli_table_marked_cut_inside_a_mark_ends_the_bold)
{
	const char *headers[] = { "t", "s" };
	const char *cells[] = { "ab \x01"
				"forklift operator\x02 z",
				"WI" };
	/* width 12: "s" (2) + gap (2) leaves 8 for t: 7 code points and "…" */
	char *out = render_marked(1, headers, 2, cells, 1, 12);
	CHECK_EQ_STR(out, "t         s\n"
			  "ab \x1b[1m"
			  "fork\x1b[22m\xE2\x80\xA6  WI\n");
	free(out);
	/* a mark that starts where the cut is: no empty bold */
	const char *cells2[] = { "abcdefg \x01x\x02", "WI" };
	out = render_marked(1, headers, 2, cells2, 1, 12);
	CHECK_EQ_STR(out, "t         s\n"
			  "abcdefg\xE2\x80\xA6  WI\n");
	free(out);
}

TEST(cli_table_unmarked_keeps_mark_bytes_inert)
{
	/* every other table: \x01/\x02 are control bytes and print as spaces */
	const char *headers[] = { "v" };
	const char *cells[] = { "\x01x\x02" };
	char *out = render_marked(0, headers, 1, cells, 1, 0);
	CHECK_EQ_STR(out, "v\n x \n");
	free(out);
	/* a marked table's headers are never marked */
	const char *headers2[] = { "\x01h\x02" };
	const char *cells2[] = { "\x01x\x02" };
	out = render_marked(1, headers2, 1, cells2, 1, 0);
	CHECK_EQ_STR(out, " h \n\x1b[1mx\x1b[22m\n");
	free(out);
}
