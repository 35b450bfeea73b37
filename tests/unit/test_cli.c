/* test_cli.c — the CLI's table rendering (cli_table_print): plain and box
 * styles, right alignment, NULLs, UTF-8 widths, control characters and the
 * cell-width cut. */
#include "test.h"

#include "cli/cli_int.h"

#include <stdlib.h>

/* Render into a temporary file and read it back; the caller frees. */
static char *render(enum cli_table_style style, const char *const *headers, size_t ncols,
		    const char *const *cells, size_t nrows, const int *right)
{
	FILE *f = tmpfile();
	cli_table_print(f, style, headers, ncols, cells, nrows, right);
	long n = ftell(f);
	char *buf = calloc(1, (size_t)n + 1);
	rewind(f);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = '\0';
	fclose(f);
	return buf;
}

TEST(cli_table_plain)
{
	const char *h[] = { "NAME", "ROWS" };
	const char *c[] = { "people", "3", "a_longer_name", "12345", "x", NULL };
	const int right[] = { 0, 1 };
	char *s = render(CLI_TABLE_PLAIN, h, 2, c, 3, right);
	CHECK_EQ_STR(s, "NAME            ROWS\n"
			"people             3\n"
			"a_longer_name  12345\n"
			"x                   \n");
	free(s);
}

TEST(cli_table_box_utf8_null_control)
{
	const char *h[] = { "név", "n" };
	const char *c[] = { "Ádám", "1", "a\nb", NULL };
	const int right[] = { 0, 1 };
	char *s = render(CLI_TABLE_BOX, h, 2, c, 2, right);
	CHECK_EQ_STR(s, "┌──────┬──────┐\n"
			"│ név  │ n    │\n"
			"├──────┼──────┤\n"
			"│ Ádám │    1 │\n"
			"│ a b  │ NULL │\n"
			"└──────┴──────┘\n");
	free(s);
}

TEST(cli_table_cuts_long_cells)
{
	char longv[200];
	memset(longv, 'z', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	const char *h[] = { "v" };
	const char *c[] = { longv };
	char *s = render(CLI_TABLE_PLAIN, h, 1, c, 1, NULL);
	char *line = strchr(s, '\n') + 1;
	CHECK_EQ_INT(cli_display_width(line), CLI_TABLE_MAX_CELL + 1);   /* + the newline */
	CHECK(strstr(line, "…\n") != NULL);
	free(s);
	CHECK_EQ_INT(cli_display_width("日本語"), 3);
}
