/* xlsx.h — the Excel workbook input format (.xlsx, ADR 0186): the format
 * (ingest_format_xlsx, xlsx_reader.c) and the pure pieces it is built from
 * (xlsx_cell.c): how a cell's stored value becomes the text a spreadsheet
 * displays, which SPEC 4's rules then type like any CSV value.
 *
 * A workbook is a zip of XML parts (common/zipread.h, common/xmlread.h).
 * Numbers are stored as doubles; a date is a number (a serial day count)
 * whose cell style has a date number format. So a number's text depends on
 * its format: general numbers get the shortest text that reads back as the
 * same double; date formats give `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS[.fff]`
 * or, for a time of day alone, `HH:MM:SS[.fff]`.
 */
#ifndef LH_INGESTD_XLSX_H
#define LH_INGESTD_XLSX_H
#include <stddef.h>
#include <stdint.h>

struct ingest_format;
struct ingest_schema;
struct lh_error;
extern const struct ingest_format ingest_format_xlsx;

/* The format's inference (its infer_file) with the sheet to read: `sheet`
 * (?sheet=; exact name, else the one name equal ignoring case) or NULL for
 * the first visible worksheet. A sheet the workbook does not have is a 400
 * "unknown_sheet" listing its sheets (also in err's "sheets"). */
int xlsx_infer_sheet(int fd, uint64_t size, const char *sheet, struct ingest_schema **out,
		     struct lh_error *err);

/* The name of the sheet a schema of this format was read from, or NULL for
 * a schema of another format. Owned by the schema. */
const char *xlsx_sheet_name(const struct ingest_schema *s);

/* What a number format shows of a serial number (bits; 0 = a plain number). */
#define XLSX_FMT_DATE    1u   /* a day: d, y, or m meaning month */
#define XLSX_FMT_TIME    2u   /* a time: h, s, or m meaning minutes */
#define XLSX_FMT_ELAPSED 4u   /* [h], [m] or [s]: hours past 24 (durations) */

/* The kind of a custom format code ("yyyy-mm-dd", "h:mm AM/PM",
 * "#,##0.00"): the letters d m y h s outside "quoted text", [brackets]
 * (colours, locales, conditions; but [h] [m] [s] are elapsed time), escaped
 * characters (\x, _x, *x) and AM/PM, A/P; m is minutes right after h or
 * right before s, else month. Only the first section (before `;`) counts. */
unsigned xlsx_format_code_kind(const char *code);

/* The kind of a built-in number format id (those a workbook may use without
 * defining them): 14-17 and the East Asian 27-36, 50-58 are dates, 18-21,
 * 45, 47 times, 46 elapsed time, 22 a date and time; others 0. */
unsigned xlsx_builtin_format_kind(unsigned id);

/* Text sizes: a number's or a date's text always fits. */
#define XLSX_TEXT_MAX 40

/* Decimal exponents whose numbers are written positionally (30, 2500,
 * 0.00012); outside, in exponent form (1.5e-07, 1e+20). */
#define XLSX_NUM_POS_MIN_EXP (-5)
#define XLSX_NUM_POS_MAX_EXP 15

/* The shortest text that reads back as the same double ("0.1", "45658.5",
 * "30" for a stored "30.0", "1e+20"): v[0..n) is a cell's stored number. The
 * fewest significant digits that round-trip, positionally when the decimal
 * exponent is in XLSX_NUM_POS_MIN_EXP..XLSX_NUM_POS_MAX_EXP, else in
 * exponent form. A canonical decimal of 15 significant digits or fewer is
 * its own shortest text and is kept as it is. Returns the length written
 * to out (XLSX_TEXT_MAX bytes, NUL-ended),
 * or 0 if v is not a finite decimal number. */
size_t xlsx_number_text(const char *v, size_t n, char out[XLSX_TEXT_MAX]);

/* The text of serial number `serial` under a format of kind `kind` (not 0)
 * in the 1900 (date1904 = 0) or 1904 date system, rounded to the
 * millisecond as Excel shows time: "2024-01-15", "2024-01-15 13:45:00",
 * "2024-01-15 13:45:00.250", a time of day "13:45:00" (a kind without
 * XLSX_FMT_DATE), elapsed "36:00:00". Excel's 1900 leap-year bug is kept
 * (serial 60 is the 1900-02-29 that never was; serials below it are one
 * day later than the count from 1899-12-30). Returns the length, or 0 when
 * the serial is no real date (negative; for a date, also 60 in the 1900
 * system or after 9999-12-31): the caller shows the number. */
size_t xlsx_serial_text(double serial, unsigned kind, int date1904, char out[XLSX_TEXT_MAX]);

/* A cell reference "B7" (column letters, then the row number) into its
 * 0-based column and row (B7: 1, 6). 0, or -1 if it is not one within
 * Excel's grid (XFD1048576). */
int xlsx_cell_ref(const char *ref, uint32_t *col, uint32_t *row);

/* The letters of 0-based column `col` ("A", "AB", "XFD"), NUL-ended. */
void xlsx_col_name(uint32_t col, char out[4]);

/* Excel's grid */
#define XLSX_MAX_COLS 16384u
#define XLSX_MAX_ROWS 1048576u

#endif
