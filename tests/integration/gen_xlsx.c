/* gen_xlsx.c — the Excel workbooks of tests/integration/test_xlsx_ingest.py,
 * written by a real spreadsheet writer: Debian's libxlsxwriter (ADR 0186).
 * Built by the Makefile for the tests only ($(BUILD)/tests/gen_xlsx); not
 * part of the lakehouse.
 *
 *   gen_xlsx DIR        writes DIR/{types,merged,merged_bad,hidden_first}.xlsx
 *   gen_xlsx DIR ROWS   also DIR/big.xlsx: ROWS data rows, written in
 *                       libxlsxwriter's constant-memory mode (inline strings)
 *
 * The values here and the expectations in test_xlsx_ingest.py are one
 * table: change both together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

static int done(lxw_workbook *wb, const char *path)
{
	lxw_error e = workbook_close(wb);
	if (e != LXW_NO_ERROR) {
		fprintf(stderr, "gen_xlsx: %s: %s\n", path, lxw_strerror(e));
		return 1;
	}
	return 0;
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p)
		abort();
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* types.xlsx: every kind of cell on sheet "Staff", a second sheet "Rates". */
static int types(const char *dir)
{
	char *path = join(dir, "types.xlsx");
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "Staff");
	lxw_worksheet *rates = workbook_add_worksheet(wb, "Rates");
	lxw_format *date = workbook_add_format(wb), *stamp = workbook_add_format(wb);
	lxw_format *hm = workbook_add_format(wb), *builtin14 = workbook_add_format(wb);
	lxw_format *pct = workbook_add_format(wb), *blank = workbook_add_format(wb);
	format_set_num_format(date, "yyyy-mm-dd");
	format_set_num_format(stamp, "yyyy-mm-dd hh:mm:ss.000");
	format_set_num_format(hm, "hh:mm");
	format_set_num_format_index(builtin14, 14);
	format_set_num_format(pct, "0.00%");
	format_set_bold(blank);

	static const char *const head[] = { "name", "hired", "start", "shift", "salary",
		"headcount", "active", "bonus", "grade", "note", "serial", "zip", "when", "share" };
	for (int c = 0; c < 14; c++)
		worksheet_write_string(ws, 0, c, head[c], NULL);

	/* row 2 */
	lxw_datetime d1 = { 2024, 1, 15, 0, 0, 0 }, s1 = { 2024, 1, 15, 13, 45, 30.25 };
	lxw_datetime w1 = { 2020, 2, 29, 0, 0, 0 };
	worksheet_write_string(ws, 1, 0, "Ann", NULL);
	worksheet_write_datetime(ws, 1, 1, &d1, date);
	worksheet_write_datetime(ws, 1, 2, &s1, stamp);
	worksheet_write_number(ws, 1, 3, 8.5 / 24, hm);
	worksheet_write_number(ws, 1, 4, 52000.5, NULL);
	worksheet_write_number(ws, 1, 5, 12, NULL);
	worksheet_write_boolean(ws, 1, 6, 1, NULL);
	worksheet_write_formula_num(ws, 1, 7, "=E2*2", NULL, 104001);
	worksheet_write_formula_str(ws, 1, 8, "=\"A\"&\"B\"", NULL, "AB");
	worksheet_write_string(ws, 1, 9, "first", NULL);
	worksheet_write_number(ws, 1, 10, 45306, NULL);
	worksheet_write_string(ws, 1, 11, "02134", NULL);
	worksheet_write_datetime(ws, 1, 12, &w1, builtin14);
	worksheet_write_number(ws, 1, 13, 0.125, pct);

	/* row 3 */
	lxw_datetime d2 = { 1999, 12, 31, 0, 0, 0 }, s2 = { 2000, 1, 1, 0, 0, 0 };
	worksheet_write_string(ws, 2, 0, "Bob", NULL);
	worksheet_write_datetime(ws, 2, 1, &d2, date);
	worksheet_write_datetime(ws, 2, 2, &s2, stamp);
	worksheet_write_number(ws, 2, 3, (17 + 5 / 60.0) / 24, hm);
	worksheet_write_number(ws, 2, 4, 0.1, NULL);
	worksheet_write_number(ws, 2, 5, -3, NULL);
	worksheet_write_boolean(ws, 2, 6, 0, NULL);
	worksheet_write_formula_num(ws, 2, 7, "=E3*2", NULL, 0.2);
	worksheet_write_formula_str(ws, 2, 8, "=\"C\"&\"D\"", NULL, "CD");
	/* J3 (note) left empty */
	worksheet_write_number(ws, 2, 10, 45306.5, NULL);
	worksheet_write_string(ws, 2, 11, "10001", NULL);
	worksheet_write_number(ws, 2, 12, 61, builtin14);       /* 1900-03-01 */
	worksheet_write_number(ws, 2, 13, 1, pct);

	/* row 4 */
	lxw_datetime d3 = { 1900, 1, 1, 0, 0, 0 }, s3 = { 2024, 2, 29, 23, 59, 59 };
	worksheet_write_string(ws, 3, 0, "Zo\xc3\xab \xf0\x9f\x98\x80", NULL);
	worksheet_write_datetime(ws, 3, 1, &d3, date);
	worksheet_write_datetime(ws, 3, 2, &s3, stamp);
	worksheet_write_number(ws, 3, 3, 0, hm);
	worksheet_write_number(ws, 3, 4, 1e20, NULL);
	worksheet_write_number(ws, 3, 5, 0, NULL);
	worksheet_write_boolean(ws, 3, 6, 1, NULL);
	worksheet_write_formula_num(ws, 3, 7, "=E4*2", NULL, 2e20);
	worksheet_write_formula_str(ws, 3, 8, "=\"\"", NULL, "");
	worksheet_write_string(ws, 3, 9, "line one\nline two", NULL);
	worksheet_write_number(ws, 3, 10, 1, NULL);
	worksheet_write_string(ws, 3, 11, "00501", NULL);
	worksheet_write_number(ws, 3, 12, 59, builtin14);       /* 1900-02-28 */
	worksheet_write_number(ws, 3, 13, 0.5, pct);

	/* row 5: formatted but empty cells only (skipped); row 6: mostly empty */
	for (int c = 0; c < 14; c++)
		worksheet_write_blank(ws, 4, c, blank);
	worksheet_write_string(ws, 5, 0, "Dee", NULL);
	worksheet_write_number(ws, 5, 5, 7, NULL);

	worksheet_write_string(rates, 0, 0, "role", NULL);
	worksheet_write_string(rates, 0, 1, "rate", NULL);
	worksheet_write_string(rates, 1, 0, "dev", NULL);
	worksheet_write_number(rates, 1, 1, 100, NULL);
	worksheet_write_string(rates, 2, 0, "ops", NULL);
	worksheet_write_number(rates, 2, 1, 85.5, NULL);
	int rc = done(wb, path);
	free(path);
	return rc;
}

/* merged.xlsx: "Address" merged over B1:C1, its data in B only (C is
 * dropped); merged_bad.xlsx: the same with data in C (a 400). */
static int merged(const char *dir, const char *name, int data_in_c)
{
	char *path = join(dir, name);
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "People");
	lxw_format *center = workbook_add_format(wb);
	format_set_align(center, LXW_ALIGN_CENTER);
	worksheet_write_string(ws, 0, 0, "Name", NULL);
	worksheet_merge_range(ws, 0, 1, 0, 2, "Address", center);
	worksheet_write_string(ws, 0, 3, "Age", NULL);
	worksheet_write_string(ws, 1, 0, "Ann", NULL);
	worksheet_write_string(ws, 1, 1, "1 Main St", NULL);
	worksheet_write_number(ws, 1, 3, 30, NULL);
	worksheet_write_string(ws, 2, 0, "Bob", NULL);
	worksheet_write_string(ws, 2, 1, "2 High St", NULL);
	if (data_in_c)
		worksheet_write_string(ws, 2, 2, "Springfield", NULL);
	worksheet_write_number(ws, 2, 3, 41, NULL);
	int rc = done(wb, path);
	free(path);
	return rc;
}

/* hidden_first.xlsx: a hidden first sheet; the first visible one is read. */
static int hidden_first(const char *dir)
{
	char *path = join(dir, "hidden_first.xlsx");
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *secret = workbook_add_worksheet(wb, "Secret");
	lxw_worksheet *shown = workbook_add_worksheet(wb, "Shown");
	worksheet_write_string(secret, 0, 0, "key", NULL);
	worksheet_write_string(secret, 1, 0, "hidden", NULL);
	worksheet_write_string(shown, 0, 0, "city", NULL);
	worksheet_write_string(shown, 1, 0, "Lyon", NULL);
	worksheet_activate(shown);
	worksheet_set_first_sheet(shown);
	worksheet_hide(secret);
	int rc = done(wb, path);
	free(path);
	return rc;
}

/* big.xlsx: `rows` data rows of five columns, streamed to disk by
 * libxlsxwriter (constant memory: inline strings, no shared strings). */
static int big(const char *dir, long rows)
{
	char *path = join(dir, "big.xlsx");
	lxw_workbook_options opt = { .constant_memory = LXW_TRUE, .tmpdir = NULL };
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "Big");
	lxw_format *date = workbook_add_format(wb);
	format_set_num_format(date, "yyyy-mm-dd");
	worksheet_write_string(ws, 0, 0, "id", NULL);
	worksheet_write_string(ws, 0, 1, "name", NULL);
	worksheet_write_string(ws, 0, 2, "score", NULL);
	worksheet_write_string(ws, 0, 3, "day", NULL);
	worksheet_write_string(ws, 0, 4, "flag", NULL);
	for (long i = 1; i <= rows; i++) {
		char name[32];
		snprintf(name, sizeof name, "name-%ld", i);
		worksheet_write_number(ws, (lxw_row_t)i, 0, (double)i, NULL);
		worksheet_write_string(ws, (lxw_row_t)i, 1, name, NULL);
		worksheet_write_number(ws, (lxw_row_t)i, 2, (double)i * 0.5, NULL);
		worksheet_write_number(ws, (lxw_row_t)i, 3, 40000.0 + (double)(i % 1000), date);
		worksheet_write_boolean(ws, (lxw_row_t)i, 4, (int)(i % 2), NULL);
	}
	int rc = done(wb, path);
	free(path);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen_xlsx DIR [ROWS]\n");
		return 2;
	}
	int rc = types(argv[1]) || merged(argv[1], "merged.xlsx", 0) ||
		 merged(argv[1], "merged_bad.xlsx", 1) || hidden_first(argv[1]);
	if (!rc && argc == 3)
		rc = big(argv[1], strtol(argv[2], NULL, 10));
	return rc;
}
