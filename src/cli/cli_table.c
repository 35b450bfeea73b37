/* cli_table.c — tables for people: `lakehouse ls`/`versions` (plain
 * aligned columns) and `lakehouse query` on a terminal (Unicode boxes, like
 * the DuckDB shell).
 *
 * Pure output: no I/O but writes to the given FILE. Widths are counted in
 * code points (good for the Latin, Greek, Cyrillic text our exports carry;
 * wide CJK glyphs may misalign by design — no wcwidth tables here). Control
 * characters print as spaces so a value with a newline cannot break the
 * layout, and long values are cut with "…".
 */
#include "cli/cli_int.h"

#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

size_t cli_display_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			w++;
	return w;
}

static size_t cell_width(const char *s)
{
	size_t w = cli_display_width(s);
	return w > CLI_TABLE_MAX_CELL ? CLI_TABLE_MAX_CELL : w;
}

/* Print `s` in a field of `width` code points. */
static void print_cell(FILE *out, const char *s, size_t width, int right)
{
	size_t w = cli_display_width(s);
	int cut = w > CLI_TABLE_MAX_CELL;
	size_t shown = cut ? CLI_TABLE_MAX_CELL - 1 : w;
	size_t pad = width > (cut ? CLI_TABLE_MAX_CELL : w) ? width - (cut ? CLI_TABLE_MAX_CELL : w) : 0;

	if (right)
		for (size_t i = 0; i < pad; i++)
			fputc(' ', out);
	size_t cps = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80) {
			if (cps == shown)
				break;
			cps++;
		}
		fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, out);
	}
	if (cut)
		fputs("…", out);
	if (!right)
		for (size_t i = 0; i < pad; i++)
			fputc(' ', out);
}

static void rule(FILE *out, const size_t *widths, size_t ncols, const char *left,
		 const char *mid, const char *right)
{
	fputs(left, out);
	for (size_t c = 0; c < ncols; c++) {
		for (size_t i = 0; i < widths[c] + 2; i++)
			fputs("─", out);
		fputs(c + 1 < ncols ? mid : right, out);
	}
	fputc('\n', out);
}

void cli_table_print(FILE *out, enum cli_table_style style, const char *const *headers,
		     size_t ncols, const char *const *cells, size_t nrows, const int *right)
{
	const char *null_text = style == CLI_TABLE_BOX ? "NULL" : "";
	size_t *widths = xcalloc(ncols ? ncols : 1, sizeof *widths);

	for (size_t c = 0; c < ncols; c++) {
		widths[c] = cell_width(headers[c]);
		for (size_t r = 0; r < nrows; r++) {
			const char *v = cells[r * ncols + c];
			size_t w = cell_width(v ? v : null_text);
			if (w > widths[c])
				widths[c] = w;
		}
	}
	if (style == CLI_TABLE_BOX) {
		rule(out, widths, ncols, "┌", "┬", "┐");
		fputs("│", out);
		for (size_t c = 0; c < ncols; c++) {
			fputc(' ', out);
			print_cell(out, headers[c], widths[c], 0);
			fputs(" │", out);
		}
		fputc('\n', out);
		rule(out, widths, ncols, "├", "┼", "┤");
		for (size_t r = 0; r < nrows; r++) {
			fputs("│", out);
			for (size_t c = 0; c < ncols; c++) {
				const char *v = cells[r * ncols + c];
				fputc(' ', out);
				print_cell(out, v ? v : null_text, widths[c], right && right[c]);
				fputs(" │", out);
			}
			fputc('\n', out);
		}
		rule(out, widths, ncols, "└", "┴", "┘");
	} else {
		for (size_t c = 0; c < ncols; c++) {
			int last = c + 1 == ncols;
			print_cell(out, headers[c], last && !(right && right[c]) ? 0 : widths[c],
				   right && right[c]);
			if (c + 1 < ncols)
				fputs("  ", out);
		}
		fputc('\n', out);
		for (size_t r = 0; r < nrows; r++) {
			for (size_t c = 0; c < ncols; c++) {
				const char *v = cells[r * ncols + c];
				int last = c + 1 == ncols;
				print_cell(out, v ? v : null_text,
					   last && !(right && right[c]) ? 0 : widths[c],
					   right && right[c]);
				if (!last)
					fputs("  ", out);
			}
			fputc('\n', out);
		}
	}
	free(widths);
}
