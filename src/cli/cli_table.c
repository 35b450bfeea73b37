/* cli_table.c — tables for people: `lakehouse ls`/`versions`/`show` (plain
 * aligned columns) and `lakehouse query` on a terminal (Unicode boxes, like
 * the DuckDB shell).
 *
 * Widths are counted in code points (good for the Latin, Greek, Cyrillic
 * text our exports carry; wide CJK glyphs may misalign by design — no wcwidth
 * tables here). Control characters print as spaces so a value with a newline
 * cannot break the layout.
 *
 * DESIGN NOTES
 *  1. A table fits the width it is given (cli_terminal_width: the terminal's,
 *     or 0 = no limit when stdout is not a terminal or with --wide). Each
 *     column starts at its natural width (its widest value); when the sum is
 *     too wide, cli_table_fit() caps the widest columns first at one common
 *     width, so narrow columns (ids, zip codes) stay whole and long text is
 *     what gets cut.
 *  2. A cut value shows its first width-1 code points and "…", headers too.
 *  3. No column is cut below CLI_TABLE_MIN_CELL: a table with more columns
 *     than the terminal can show wraps rather than turning into "…" columns.
 *  4. Everything but cli_terminal_width() is pure output to the given FILE.
 *  5. cli_table_print_marked() (lakehouse search) also draws CLI_MARK_ON ..
 *     CLI_MARK_OFF as bold (SGR 1 / 22) taking no width; a cut inside a
 *     mark ends the bold before the "…". Everywhere else those two bytes are
 *     control bytes like any other and print as spaces, so a value can never
 *     send its own escape sequences to the terminal.
 */
#include "cli/cli_int.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The width a terminal is assumed to have when it does not say. */
#define CLI_TERMINAL_DEFAULT_WIDTH 80

size_t cli_display_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80)
			w++;
	return w;
}

/* Note 5: a mark byte takes no width when marks are drawn. */
static int is_mark(unsigned char c, int marks)
{
	return marks && (c == (unsigned char)CLI_MARK_ON || c == (unsigned char)CLI_MARK_OFF);
}

static size_t cell_width(const char *s, int marks)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xC0) != 0x80 && !is_mark(*p, marks))
			w++;
	return w;
}

size_t cli_terminal_width(int fd, int wide)
{
	if (wide || !isatty(fd))
		return 0;
	const char *env = getenv("COLUMNS");
	if (env && *env) {
		char *end;
		errno = 0;
		long v = strtol(env, &end, 10);
		if (!errno && !*end && v > 0 && v <= 100000)
			return (size_t)v;
	}
	struct winsize ws;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return CLI_TERMINAL_DEFAULT_WIDTH;
}

/* Note 1: sum(min(w[c], cap)) over the columns. */
static size_t capped_sum(const size_t *widths, size_t ncols, size_t cap)
{
	size_t sum = 0;
	for (size_t c = 0; c < ncols; c++)
		sum += widths[c] < cap ? widths[c] : cap;
	return sum;
}

void cli_table_fit(size_t *widths, size_t ncols, size_t avail)
{
	size_t widest = 0;
	for (size_t c = 0; c < ncols; c++)
		if (widths[c] > widest)
			widest = widths[c];
	if (capped_sum(widths, ncols, widest) <= avail)
		return;
	/* the largest cap >= CLI_TABLE_MIN_CELL whose capped sum fits (note 3) */
	size_t lo = CLI_TABLE_MIN_CELL, hi = widest;
	if (capped_sum(widths, ncols, lo) > avail) {
		hi = lo;
	} else {
		while (lo < hi) {
			size_t mid = lo + (hi - lo + 1) / 2;
			if (capped_sum(widths, ncols, mid) <= avail)
				lo = mid;
			else
				hi = mid - 1;
		}
	}
	size_t used = capped_sum(widths, ncols, lo);
	size_t spare = avail > used ? avail - used : 0;
	for (size_t c = 0; c < ncols; c++) {
		if (widths[c] <= lo)
			continue;
		widths[c] = lo;
		if (spare) {   /* what the common cap leaves goes to the first cut columns */
			widths[c]++;
			spare--;
		}
	}
}

/* Print `s` in a field of `width` code points, cut with "…" when wider
 * (note 2); `pad` 0 leaves a left-aligned value unpadded (a line's end);
 * `marks` draws CLI_MARK_ON/OFF (note 5). */
static void print_cell(FILE *out, const char *s, size_t width, int right, int pad, int marks)
{
	size_t w = cell_width(s, marks);
	int cut = w > width, bold = 0;
	size_t shown = cut ? (width ? width - 1 : 0) : w;
	size_t fill = cut ? 0 : width - w;

	if (right)
		for (size_t i = 0; i < fill; i++)
			fputc(' ', out);
	size_t cps = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (is_mark(*p, marks)) {
			if (cut && cps == shown)
				break;   /* no bold for what is cut off */
			bold = *p == (unsigned char)CLI_MARK_ON;
			fputs(bold ? "\033[1m" : "\033[22m", out);
			continue;
		}
		if ((*p & 0xC0) != 0x80) {
			if (cps == shown)
				break;
			cps++;
		}
		fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, out);
	}
	if (bold)
		fputs("\033[22m", out);
	if (cut && width)
		fputs("…", out);
	if (!right && pad)
		for (size_t i = 0; i < fill; i++)
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

static void table_print(FILE *out, enum cli_table_style style, const char *const *headers,
			size_t ncols, const char *const *cells, size_t nrows, const int *right,
			size_t max_width, int marks)
{
	const char *null_text = style == CLI_TABLE_BOX ? "NULL" : "";
	size_t *widths = xcalloc(ncols ? ncols : 1, sizeof *widths);

	for (size_t c = 0; c < ncols; c++) {
		widths[c] = cli_display_width(headers[c]);
		for (size_t r = 0; r < nrows; r++) {
			const char *v = cells[r * ncols + c];
			size_t w = cell_width(v ? v : null_text, marks);
			if (w > widths[c])
				widths[c] = w;
		}
	}
	if (max_width && ncols) {
		/* BOX: "│" then " value │" per column; PLAIN: two spaces between */
		size_t frame = style == CLI_TABLE_BOX ? 1 + 3 * ncols : 2 * (ncols - 1);
		cli_table_fit(widths, ncols, max_width > frame ? max_width - frame : 0);
	}
	if (style == CLI_TABLE_BOX) {
		rule(out, widths, ncols, "┌", "┬", "┐");
		fputs("│", out);
		for (size_t c = 0; c < ncols; c++) {
			fputc(' ', out);
			print_cell(out, headers[c], widths[c], 0, 1, 0);
			fputs(" │", out);
		}
		fputc('\n', out);
		rule(out, widths, ncols, "├", "┼", "┤");
		for (size_t r = 0; r < nrows; r++) {
			fputs("│", out);
			for (size_t c = 0; c < ncols; c++) {
				const char *v = cells[r * ncols + c];
				fputc(' ', out);
				print_cell(out, v ? v : null_text, widths[c], right && right[c], 1,
					   marks);
				fputs(" │", out);
			}
			fputc('\n', out);
		}
		rule(out, widths, ncols, "└", "┴", "┘");
	} else {
		for (size_t r = 0; r <= nrows; r++) {   /* row 0: the header line */
			for (size_t c = 0; c < ncols; c++) {
				const char *v = r ? cells[(r - 1) * ncols + c] : headers[c];
				int last = c + 1 == ncols, ralign = right && right[c];
				print_cell(out, v ? v : null_text, widths[c], ralign, !last,
					   marks && r);
				if (!last)
					fputs("  ", out);
			}
			fputc('\n', out);
		}
	}
	free(widths);
}

void cli_table_print(FILE *out, enum cli_table_style style, const char *const *headers,
		     size_t ncols, const char *const *cells, size_t nrows, const int *right,
		     size_t max_width)
{
	table_print(out, style, headers, ncols, cells, nrows, right, max_width, 0);
}

void cli_table_print_marked(FILE *out, enum cli_table_style style, const char *const *headers,
			    size_t ncols, const char *const *cells, size_t nrows, const int *right,
			    size_t max_width)
{
	table_print(out, style, headers, ncols, cells, nrows, right, max_width, 1);
}
