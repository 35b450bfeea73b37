/* test_xlsx.c — the Excel input format (src/ingestd/xlsx.h, xlsx_cell.c,
 * xlsx_reader.c; ADR 0186): date-format detection, serial -> date/time
 * text (the 1900 leap-year bug, the 1904 system), the shortest number text,
 * cell references; then whole workbooks written here with libzip (the test
 * writes the zip; the lakehouse reads it through common/zipread.h): cell
 * kinds, merged headers, sheets, and the 400s (corrupt, zip bomb, DTD, no
 * sheet). Workbooks from a real spreadsheet writer are
 * tests/integration/test_xlsx_ingest.py's.
 */
#include "test.h"

#include "common/error.h"
#include "common/limits.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/format.h"
#include "ingestd/xlsx.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* ---- number formats ----------------------------------------------------- */

TEST(xlsx_format_codes)
{
	const unsigned D = XLSX_FMT_DATE, T = XLSX_FMT_TIME, E = XLSX_FMT_ELAPSED;
	static const struct {
		const char *code;
		unsigned kind;
	} cases[] = {
		{ "General", 0 },
		{ "0.00", 0 },
		{ "#,##0.00 \"days\"", 0 },         /* d and y inside quotes */
		{ "0.00%", 0 },
		{ "0.00E+00", 0 },
		{ "@", 0 },
		{ "[Red]0.00;[Blue]-0.00", 0 },      /* brackets: colours */
		{ "\\d0", 0 },                       /* an escaped d */
		{ "_d0", 0 },
		{ "*d0", 0 },
		{ "yyyy-mm-dd", 1 },
		{ "m/d/yyyy", 1 },
		{ "d-mmm-yy", 1 },
		{ "mmm-yy", 1 },
		{ "[$-409]dddd, mmmm d, yyyy", 1 },   /* a locale in brackets */
		{ "yyyy-mm-dd hh:mm:ss", 3 },
		{ "yyyy-mm-dd hh:mm:ss.000", 3 },
		{ "m/d/yyyy h:mm", 3 },
		{ "h:mm", 2 },                       /* m after h: minutes */
		{ "h:mm AM/PM", 2 },                 /* the m of AM/PM is no month */
		{ "h:mm:ss A/P", 2 },
		{ "mm:ss", 2 },                      /* m before s: minutes */
		{ "mm:ss.0", 2 },
		{ "[h]:mm:ss", 6 },
		{ "[mm]:ss", 6 },
		{ "[ss]", 6 },
		{ "0.00;\"dd\"", 0 },                /* only the first section */
		{ "\"Date: \"yyyy", 1 },
		{ "", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned want = cases[i].kind == 1 ? D : cases[i].kind == 2 ? T
			      : cases[i].kind == 3 ? (D | T) : cases[i].kind == 6 ? (T | E) : 0;
		if (xlsx_format_code_kind(cases[i].code) != want) {
			fprintf(stderr, "  format %s: kind %u, expected %u\n", cases[i].code,
				xlsx_format_code_kind(cases[i].code), want);
			*failed = 1;
			return;
		}
	}
	CHECK_EQ_INT(xlsx_format_code_kind(NULL), 0);
}

TEST(xlsx_builtin_formats)
{
	for (unsigned id = 0; id < 200; id++) {
		unsigned k = xlsx_builtin_format_kind(id);
		unsigned want = 0;
		if ((id >= 14 && id <= 17) || (id >= 27 && id <= 36) || (id >= 50 && id <= 58))
			want = XLSX_FMT_DATE;
		else if ((id >= 18 && id <= 21) || id == 45 || id == 47)
			want = XLSX_FMT_TIME;
		else if (id == 46)
			want = XLSX_FMT_TIME | XLSX_FMT_ELAPSED;
		else if (id == 22)
			want = XLSX_FMT_DATE | XLSX_FMT_TIME;
		CHECK_EQ_INT(k, want);
	}
	CHECK_EQ_INT(xlsx_builtin_format_kind(0), 0);      /* General */
	CHECK_EQ_INT(xlsx_builtin_format_kind(10), 0);     /* 0.00% */
}

/* ---- serial numbers ----------------------------------------------------- */

static const char *serial(double v, unsigned kind, int date1904)
{
	static char out[XLSX_TEXT_MAX];
	return xlsx_serial_text(v, kind, date1904, out) ? out : "(number)";
}

TEST(xlsx_serial_dates_1900)
{
	const unsigned D = XLSX_FMT_DATE, DT = XLSX_FMT_DATE | XLSX_FMT_TIME;
	CHECK_EQ_STR(serial(1, D, 0), "1900-01-01");
	CHECK_EQ_STR(serial(59, D, 0), "1900-02-28");
	CHECK_EQ_STR(serial(60, D, 0), "(number)");           /* 1900-02-29 never was */
	CHECK_EQ_STR(serial(61, D, 0), "1900-03-01");         /* the bug's days end */
	CHECK_EQ_STR(serial(25569, D, 0), "1970-01-01");
	CHECK_EQ_STR(serial(36525, D, 0), "1999-12-31");
	CHECK_EQ_STR(serial(43890, D, 0), "2020-02-29");
	CHECK_EQ_STR(serial(45306, D, 0), "2024-01-15");
	CHECK_EQ_STR(serial(2958465, D, 0), "9999-12-31");
	CHECK_EQ_STR(serial(2958466, D, 0), "(number)");
	CHECK_EQ_STR(serial(-1, D, 0), "(number)");
	/* a date format shows the day only, whatever the time */
	CHECK_EQ_STR(serial(45306.99, D, 0), "2024-01-15");
	/* date and time, to the millisecond (libxlsxwriter's 13:45:30.25) */
	CHECK_EQ_STR(serial(45306.5732667824, DT, 0), "2024-01-15 13:45:30.250");
	CHECK_EQ_STR(serial(45351.99998842592, DT, 0), "2024-02-29 23:59:59");
	CHECK_EQ_STR(serial(36526, DT, 0), "2000-01-01 00:00:00");
	/* 23:59:59.9996 rounds into the next day */
	CHECK_EQ_STR(serial(45306 + 86399.9996 / 86400, DT, 0), "2024-01-16 00:00:00");
	CHECK_EQ_STR(serial(45306, 0, 0), "(number)");        /* not a date format */
}

TEST(xlsx_serial_dates_1904)
{
	const unsigned D = XLSX_FMT_DATE, DT = XLSX_FMT_DATE | XLSX_FMT_TIME;
	CHECK_EQ_STR(serial(0, D, 1), "1904-01-01");
	CHECK_EQ_STR(serial(59, D, 1), "1904-02-29");         /* a real leap day */
	CHECK_EQ_STR(serial(60, D, 1), "1904-03-01");
	CHECK_EQ_STR(serial(43844, D, 1), "2024-01-15");      /* 45306 - 1462 */
	CHECK_EQ_STR(serial(43844.25, DT, 1), "2024-01-15 06:00:00");
	CHECK_EQ_STR(serial(-1, D, 1), "(number)");
}

TEST(xlsx_serial_times)
{
	const unsigned T = XLSX_FMT_TIME, E = XLSX_FMT_TIME | XLSX_FMT_ELAPSED;
	CHECK_EQ_STR(serial(0, T, 0), "00:00:00");
	CHECK_EQ_STR(serial(8.5 / 24, T, 0), "08:30:00");
	CHECK_EQ_STR(serial(0.7118055555555555, T, 0), "17:05:00");
	CHECK_EQ_STR(serial(0.5 + 0.25 / 86400, T, 0), "12:00:00.250");
	CHECK_EQ_STR(serial(1.75, T, 0), "18:00:00");          /* a time of day */
	CHECK_EQ_STR(serial(1.5, E, 0), "36:00:00");           /* elapsed hours */
	CHECK_EQ_STR(serial(60, T, 0), "00:00:00");            /* any day's time */
	CHECK_EQ_STR(serial(-0.5, T, 0), "(number)");
}

/* ---- numbers ------------------------------------------------------------ */

static const char *num(const char *v)
{
	static char out[XLSX_TEXT_MAX];
	return xlsx_number_text(v, strlen(v), out) ? out : "(none)";
}

TEST(xlsx_number_text_is_shortest)
{
	CHECK_EQ_STR(num("12"), "12");
	CHECK_EQ_STR(num("-3"), "-3");
	CHECK_EQ_STR(num("52000.5"), "52000.5");
	CHECK_EQ_STR(num("0.1"), "0.1");
	CHECK_EQ_STR(num("0.10000000000000001"), "0.1");       /* 17 digits written */
	CHECK_EQ_STR(num("0.30000000000000004"), "0.30000000000000004");
	CHECK_EQ_STR(num("1.50"), "1.5");
	CHECK_EQ_STR(num("007"), "7");
	CHECK_EQ_STR(num("+5"), "5");
	CHECK_EQ_STR(num("1E+20"), "1e+20");
	CHECK_EQ_STR(num("2E-3"), "0.002");
	CHECK_EQ_STR(num("1.5E-7"), "1.5e-07");
	CHECK_EQ_STR(num("100000000000000000000"), "1e+20");   /* not an int64 text */
	CHECK_EQ_STR(num("123456789012345"), "123456789012345");
	CHECK_EQ_STR(num("45306.5732667824"), "45306.5732667824");
	CHECK_EQ_STR(num("-0"), "-0");
	/* trailing zeros: positional, not 3e+01 (review finding 4) */
	CHECK_EQ_STR(num("30.0"), "30");
	CHECK_EQ_STR(num("100.0"), "100");
	CHECK_EQ_STR(num("2500.00"), "2500");
	CHECK_EQ_STR(num("-2500.00"), "-2500");
	CHECK_EQ_STR(num("0.125"), "0.125");
	CHECK_EQ_STR(num("0.1250"), "0.125");
	CHECK_EQ_STR(num("1.2E+3"), "1200");
	CHECK_EQ_STR(num("1e-7"), "1e-07");
	CHECK_EQ_STR(num("1.2E-5"), "0.000012");
	CHECK_EQ_STR(num("1000000000000000.0"), "1000000000000000");
	CHECK_EQ_STR(num("1E+16"), "1e+16");
	CHECK_EQ_STR(num("123456789012345680000"), "1.2345678901234568e+20");
	CHECK_EQ_STR(num(""), "(none)");
	CHECK_EQ_STR(num("abc"), "(none)");
	CHECK_EQ_STR(num("1e400"), "(none)");                  /* infinite */
	CHECK_EQ_STR(num("inf"), "(none)");
	CHECK_EQ_STR(num("0x10"), "(none)");
	CHECK_EQ_STR(num(" 1"), "(none)");
	CHECK_EQ_STR(num("1."), "(none)");
	CHECK_EQ_STR(num(".5"), "(none)");
	/* every double read back from its text is itself */
	static const double samples[] = { 1.0 / 3, 2.0 / 3, 1e-300, 123456.789, 9007199254740993.0 };
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		char in[64], out[XLSX_TEXT_MAX];
		snprintf(in, sizeof in, "%.17g", samples[i]);
		CHECK(xlsx_number_text(in, strlen(in), out) > 0);
		CHECK(strtod(out, NULL) == samples[i]);
		CHECK(strlen(out) <= strlen(in));
	}
}

/* ---- cell references ---------------------------------------------------- */

TEST(xlsx_cell_references)
{
	uint32_t c = 9, r = 9;
	CHECK_EQ_INT(xlsx_cell_ref("A1", &c, &r), 0);
	CHECK_EQ_INT(c, 0);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(xlsx_cell_ref("AB12", &c, &r), 0);
	CHECK_EQ_INT(c, 27);
	CHECK_EQ_INT(r, 11);
	CHECK_EQ_INT(xlsx_cell_ref("XFD1048576", &c, &r), 0);
	CHECK_EQ_INT(c, 16383);
	CHECK_EQ_INT(r, 1048575);
	static const char *const bad[] = { "XFE1", "A0", "A1048577", "1A", "A", "1", "", "AAAA1",
					   "A1B", "$A$1", "A-1", "A12345678" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_EQ_INT(xlsx_cell_ref(bad[i], &c, &r), -1);
	CHECK_EQ_INT(xlsx_cell_ref(NULL, &c, &r), -1);
	for (uint32_t col = 0; col < XLSX_MAX_COLS; col++) {
		char name[4], ref[16];
		xlsx_col_name(col, name);
		snprintf(ref, sizeof ref, "%s7", name);
		CHECK_EQ_INT(xlsx_cell_ref(ref, &c, &r), 0);
		CHECK_EQ_INT(c, col);
		CHECK_EQ_INT(r, 6);
	}
}

/* ---- whole workbooks ---------------------------------------------------- */

#define NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" " \
	   "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
#define REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

static const char *const WORKBOOK =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
	"<workbook " NS "><workbookPr/><sheets>"
	"<sheet name=\"Staff\" sheetId=\"1\" r:id=\"rId1\"/>"
	"<sheet name=\"Rates &amp; Pay\" sheetId=\"2\" r:id=\"rId2\"/>"
	"<sheet name=\"Chart\" sheetId=\"3\" r:id=\"rId5\"/>"
	"</sheets></workbook>";
static const char *const RELS =
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"" REL "worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"" REL "worksheet\" Target=\"/xl/worksheets/./sheet2.xml\"/>"
	"<Relationship Id=\"rId3\" Type=\"" REL "sharedStrings\" Target=\"sharedStrings.xml\"/>"
	"<Relationship Id=\"rId4\" Type=\"" REL "styles\" Target=\"styles.xml\"/>"
	"<Relationship Id=\"rId5\" Type=\"" REL "chartsheet\" Target=\"chartsheets/sheet1.xml\"/>"
	"</Relationships>";
static const char *const STYLES =
	"<styleSheet " NS "><numFmts count=\"2\">"
	"<numFmt numFmtId=\"164\" formatCode=\"yyyy\\-mm\\-dd\"/>"
	"<numFmt numFmtId=\"165\" formatCode=\"[h]:mm:ss\"/></numFmts>"
	"<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"   /* not a cell format */
	"<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/><xf numFmtId=\"22\"/>"
	"<xf numFmtId=\"165\"/><xf numFmtId=\"10\"/></cellXfs></styleSheet>";
static const char *const STRINGS =
	"<sst " NS " count=\"6\" uniqueCount=\"6\">"
	"<si><t>name</t></si>"
	"<si><r><t>Ann</t></r><r><rPr><b/></rPr><t xml:space=\"preserve\"> Lee</t></r>"
	"<rPh sb=\"0\" eb=\"1\"><t>PHONETIC</t></rPh></si>"
	"<si><t>a_x000D_b_x005F_x0041_</t></si>"
	"<si><t/></si>"
	"<si><t>when</t></si>"
	"<si><t>02134</t></si>"
	"</sst>";

struct part {
	const char *name;
	const char *data;
	size_t len;        /* 0: strlen(data) */
	int store;         /* 1: stored without compression */
};

/* A zip of the parts in a temp file (unlinked); its fd, or -1. */
static int make_zip(const struct part *parts, size_t n)
{
	char path[] = "/tmp/lh-xlsx-test-XXXXXX";
	int fd = mkstemp(path), err = 0;
	if (fd < 0)
		return -1;
	close(fd);
	zip_t *z = zip_open(path, ZIP_TRUNCATE, &err);
	if (!z)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t len = parts[i].len ? parts[i].len : strlen(parts[i].data);
		zip_source_t *src = zip_source_buffer(z, parts[i].data, len, 0);
		zip_int64_t idx = zip_file_add(z, parts[i].name, src, ZIP_FL_OVERWRITE);
		if (idx < 0)
			return -1;
		if (parts[i].store)
			zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
	}
	if (zip_close(z) != 0)
		return -1;
	fd = open(path, O_RDONLY);
	unlink(path);
	return fd;
}

/* A workbook: the standard parts plus sheet1 (and sheet2 if given). */
static int make_book(const char *workbook, const char *sheet1, const char *sheet2)
{
	struct part parts[] = {
		{ "[Content_Types].xml", "<Types/>", 0, 0 },
		{ "xl/workbook.xml", workbook ? workbook : WORKBOOK, 0, 0 },
		{ "xl/_rels/workbook.xml.rels", RELS, 0, 0 },
		{ "xl/styles.xml", STYLES, 0, 0 },
		{ "xl/sharedStrings.xml", STRINGS, 0, 0 },
		{ "xl/worksheets/sheet1.xml", sheet1, 0, 0 },
		{ "xl/worksheets/sheet2.xml", sheet2 ? sheet2 : "", 0, 0 },
	};
	return make_zip(parts, sheet2 ? 7 : 6);
}

#define SHEET(rows) "<worksheet " NS "><sheetData>" rows "</sheetData></worksheet>"

static int is_valid(const struct ArrowArray *a, int64_t i)
{
	const uint8_t *v = a->buffers[0];
	return !v || (v[i >> 3] >> (i & 7)) & 1;
}

/* Every row of the schema's batches as "v1|v2\n" (NULL for null): bools
 * true/false, int64 and timestamps as integers, dates as day numbers. */
static int dump(int fd, const struct ingest_schema *s, char *out, size_t cap, size_t *nbatches)
{
	struct lh_error err = { 0 };
	struct ArrowArrayStream st;
	size_t o = 0;
	int rc = -1;
	out[0] = 0;
	*nbatches = 0;
	if (s->format->batches(fd, s, &st, &err))
		return -1;
	for (;;) {
		struct ArrowArray b;
		if (st.get_next(&st, &b))
			goto out;
		if (!b.release)
			break;
		(*nbatches)++;
		for (int64_t r = 0; r < b.length; r++) {
			for (size_t c = 0; c < s->ncols; c++) {
				const struct ArrowArray *a = b.children[c];
				char v[256];
				if (!is_valid(a, r)) {
					snprintf(v, sizeof v, "NULL");
				} else {
					switch (s->columns[c].type.id) {
					case SCHEMA_BOOL:
						snprintf(v, sizeof v, "%s",
							 (((const uint8_t *)a->buffers[1])[r >> 3] >> (r & 7)) & 1
								 ? "true" : "false");
						break;
					case SCHEMA_INT64:
					case SCHEMA_TIMESTAMP:
						snprintf(v, sizeof v, "%" PRId64, ((const int64_t *)a->buffers[1])[r]);
						break;
					case SCHEMA_FLOAT64:
						snprintf(v, sizeof v, "%g", ((const double *)a->buffers[1])[r]);
						break;
					case SCHEMA_DATE32:
						snprintf(v, sizeof v, "d%d", ((const int32_t *)a->buffers[1])[r]);
						break;
					default: {
						const int32_t *offs = a->buffers[1];
						snprintf(v, sizeof v, "%.*s", (int)(offs[r + 1] - offs[r]),
							 (const char *)a->buffers[2] + offs[r]);
					}
					}
				}
				o += (size_t)snprintf(out + o, cap - o, "%s%s", c ? "|" : "", v);
				if (o >= cap) {
					b.release(&b);
					goto out;
				}
			}
			o += (size_t)snprintf(out + o, cap - o, "\n");
			if (o >= cap) {
				b.release(&b);
				goto out;
			}
		}
		b.release(&b);
	}
	rc = 0;
out:
	st.release(&st);
	lh_error_clear(&err);
	return rc;
}

static uint64_t file_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static const char *type_name(const struct ingest_schema *s, size_t i)
{
	static char buf[SCHEMA_TYPE_NAME_MAX];
	return schema_type_name(&s->columns[i].type, buf);
}

TEST(xlsx_reads_every_kind_of_cell)
{
	/* shared strings (rich text, phonetic run left out, _xHHHH_ escapes),
	 * inline strings, booleans, errors, formulas with and without a cached
	 * value, dates by custom and built-in formats, elapsed time, a
	 * percentage (a number), a blank styled row (skipped), cells without
	 * references, an empty shared string (NULL) */
	const char *sheet = SHEET(
		"<row r=\"2\"><c r=\"A2\" t=\"s\"><v>0</v></c><c r=\"B2\" t=\"inlineStr\"><is><t>flag</t></is></c>"
		"<c r=\"C2\" t=\"s\"><v>4</v></c><c r=\"D2\" t=\"inlineStr\"><is><t>stamp</t></is></c>"
		"<c r=\"E2\" t=\"inlineStr\"><is><t>dur</t></is></c><c r=\"F2\" t=\"inlineStr\"><is><t>pct</t></is></c>"
		"<c r=\"G2\" t=\"inlineStr\"><is><t>calc</t></is></c><c r=\"H2\" t=\"inlineStr\"><is><t>zip</t></is></c></row>"
		"<row r=\"3\"><c t=\"s\"><v>1</v></c><c t=\"b\"><v>1</v></c><c s=\"1\"><v>45306</v></c>"
		"<c s=\"2\"><v>45306.75</v></c><c s=\"3\"><v>1.5</v></c><c s=\"4\"><v>0.25</v></c>"
		"<c><f>1+1</f><v>2</v></c><c t=\"s\"><v>5</v></c></row>"
		"<row r=\"4\" s=\"2\" customFormat=\"1\"><c r=\"A4\" s=\"1\"/><c r=\"B4\" s=\"1\"/></row>"
		"<row r=\"5\"><c r=\"A5\" t=\"s\"><v>2</v></c><c r=\"B5\" t=\"b\"><v>0</v></c>"
		"<c r=\"C5\" s=\"1\"><v>1</v></c><c r=\"D5\" t=\"e\"><v>#N/A</v></c>"
		"<c r=\"G5\"><f>A1</f></c><c r=\"H5\" t=\"s\"><v>3</v></c></row>"
		"<row r=\"7\"><c r=\"A7\" t=\"inlineStr\"><is><r><t>x</t></r><r><t>y</t></r></is></c>"
		"<c r=\"G7\" t=\"str\"><f>A7</f><v>3.5</v></c></row>");
	int fd = make_book(NULL, sheet, NULL);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 8);
	CHECK_EQ_INT(s->row_count, 3);
	CHECK_EQ_STR(s->columns[0].name, "name");
	CHECK_EQ_STR(s->columns[2].name, "when");
	CHECK_EQ_STR(type_name(s, 0), "utf8");
	CHECK_EQ_STR(type_name(s, 1), "bool");
	CHECK_EQ_STR(type_name(s, 2), "date32");
	CHECK_EQ_STR(type_name(s, 3), "utf8");     /* a timestamp and #N/A */
	CHECK_EQ_STR(type_name(s, 4), "utf8");     /* 36:00:00 */
	CHECK_EQ_STR(type_name(s, 5), "float64");  /* 0.25 as a percentage */
	CHECK_EQ_STR(type_name(s, 6), "float64");  /* 2, NULL, "3.5" */
	CHECK_EQ_STR(type_name(s, 7), "utf8");     /* "02134" stays text */
	CHECK_EQ_STR(xlsx_sheet_name(s), "Staff");
	CHECK_EQ_INT(s->columns[0].nullable, 0);
	CHECK_EQ_INT(s->columns[1].nullable, 1);   /* no cell in row 7 */
	CHECK_EQ_INT(s->columns[4].nullable, 1);
	CHECK_EQ_INT(s->columns[6].nullable, 1);   /* a formula without a value */
	char out[1024];
	size_t nb;
	CHECK_EQ_INT(dump(fd, s, out, sizeof out, &nb), 0);
	CHECK_EQ_STR(out, "Ann Lee|true|d19737|2024-01-15 18:00:00|36:00:00|0.25|2|02134\n"
			  "a\rb_x0041_|false|d-25567|#N/A|NULL|NULL|NULL|NULL\n"
			  "xy|NULL|NULL|NULL|NULL|NULL|3.5|NULL\n");
	CHECK_EQ_INT(nb, 1);
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	close(fd);
}

TEST(xlsx_picks_sheets)
{
	const char *one = SHEET("<row r=\"1\"><c t=\"inlineStr\"><is><t>a</t></is></c></row>"
				"<row r=\"2\"><c><v>1</v></c></row>");
	const char *two = SHEET("<row r=\"1\"><c t=\"inlineStr\"><is><t>b</t></is></c>"
				"<c t=\"inlineStr\"><is><t>c</t></is></c></row>"
				"<row r=\"2\"><c><v>1.5</v></c><c><v>2</v></c></row>");
	int fd = make_book(NULL, one, two);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	/* the first worksheet by default; by name, exact or ignoring case */
	CHECK_EQ_INT(xlsx_infer_sheet(fd, file_size(fd), NULL, &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 1);
	ingest_schema_destroy(s);
	CHECK_EQ_INT(xlsx_infer_sheet(fd, file_size(fd), "Rates & Pay", &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 2);
	CHECK_EQ_STR(xlsx_sheet_name(s), "Rates & Pay");
	CHECK_EQ_STR(type_name(s, 0), "float64");
	ingest_schema_destroy(s);
	CHECK_EQ_INT(xlsx_infer_sheet(fd, file_size(fd), "rates & PAY", &s, &err), 0);
	ingest_schema_destroy(s);
	s = NULL;
	/* a sheet it does not have: 400 listing the worksheets (not the chart) */
	CHECK_EQ_INT(xlsx_infer_sheet(fd, file_size(fd), "Chart", &s, &err), -1);
	CHECK(s == NULL);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "unknown_sheet");
	CHECK(strstr(err.msg, "no sheet named \"Chart\"") != NULL);
	CHECK(strstr(err.msg, "\"Staff\", \"Rates & Pay\"") != NULL);
	json_t *sheets = json_object_get(err.extra, "sheets");
	CHECK(json_array_size(sheets) == 2);
	lh_error_clear(&err);
	close(fd);
}

struct read_job {
	int fd;
	struct ingest_schema *s;
	atomic_int done;
};

static void *read_book(void *arg)
{
	struct read_job *j = arg;
	struct lh_error err = { 0 };
	if (xlsx_infer_sheet(j->fd, file_size(j->fd), NULL, &j->s, &err) != 0)
		lh_error_clear(&err);
	atomic_store(&j->done, 1);
	return NULL;
}

/* Review finding 3: at most LH_XLSX_MAX_READS workbooks are read at once,
 * a slot held from inference until the schema (and its batches) is gone;
 * the next waits. */
TEST(xlsx_reads_at_once_are_bounded)
{
	const char *one = SHEET("<row r=\"1\"><c t=\"inlineStr\"><is><t>a</t></is></c></row>"
				"<row r=\"2\"><c><v>1</v></c></row>");
	int fd = make_book(NULL, one, NULL);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *held[LH_XLSX_MAX_READS] = { 0 };
	for (int i = 0; i < LH_XLSX_MAX_READS; i++)
		CHECK_EQ_INT(xlsx_infer_sheet(fd, file_size(fd), NULL, &held[i], &err), 0);
	struct read_job job = { .fd = fd };
	atomic_init(&job.done, 0);
	pthread_t t;
	CHECK_EQ_INT(pthread_create(&t, NULL, read_book, &job), 0);
	usleep(200 * 1000);
	CHECK_EQ_INT(atomic_load(&job.done), 0);        /* waits for a slot */
	ingest_schema_destroy(held[0]);                 /* one read ends */
	held[0] = NULL;
	pthread_join(t, NULL);
	CHECK_EQ_INT(atomic_load(&job.done), 1);
	CHECK(job.s != NULL);
	ingest_schema_destroy(job.s);
	/* a failed read gives its slot back */
	for (int i = 0; i < LH_XLSX_MAX_READS + 1; i++) {
		struct ingest_schema *s = NULL;
		CHECK_EQ_INT(xlsx_infer_sheet(fd, file_size(fd), "no such sheet", &s, &err), -1);
		lh_error_clear(&err);
	}
	for (int i = 0; i < LH_XLSX_MAX_READS; i++)
		ingest_schema_destroy(held[i]);
	close(fd);
}

TEST(xlsx_merged_header_cells)
{
	/* "Address" merged over B1:C1: C has no name; with no data in C the
	 * column is dropped, with data it is a 400 naming the cell */
	const char *ok = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Name</t></is></c>"
		"<c r=\"B1\" t=\"inlineStr\"><is><t>Address</t></is></c><c r=\"C1\" s=\"1\"/>"
		"<c r=\"D1\" t=\"inlineStr\"><is><t>Age</t></is></c></row>"
		"<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>Ann</t></is></c>"
		"<c r=\"B2\" t=\"inlineStr\"><is><t>1 Main St</t></is></c><c r=\"D2\"><v>30</v></c></row>"
		"</sheetData><mergeCells count=\"1\"><mergeCell ref=\"B1:C1\"/></mergeCells></worksheet>";
	int fd = make_book(NULL, ok, NULL);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 3);
	CHECK_EQ_STR(s->columns[1].name, "Address");
	CHECK_EQ_STR(s->columns[2].name, "Age");
	char out[256];
	size_t nb;
	CHECK_EQ_INT(dump(fd, s, out, sizeof out, &nb), 0);
	CHECK_EQ_STR(out, "Ann|1 Main St|30\n");
	ingest_schema_destroy(s);
	close(fd);

	const char *bad = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>Name</t></is></c>"
		"<c r=\"B1\" t=\"inlineStr\"><is><t>Address</t></is></c></row>"
		"<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>Ann</t></is></c>"
		"<c r=\"C2\" t=\"inlineStr\"><is><t>Springfield</t></is></c></row>"
		"</sheetData><mergeCells count=\"1\"><mergeCell ref=\"B1:C1\"/></mergeCells></worksheet>";
	fd = make_book(NULL, bad, NULL);
	CHECK(fd >= 0);
	s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK(strstr(err.msg, "column C of sheet \"Staff\" has values (the first in cell C2)") != NULL);
	CHECK(strstr(err.msg, "merged cell B1:C1") != NULL);
	lh_error_clear(&err);
	close(fd);

	/* a header cell empty inside the header, with data below: names C1 */
	const char *hole = "<worksheet " NS "><sheetData>"
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a</t></is></c>"
		"<c r=\"C1\" t=\"inlineStr\"><is><t>c</t></is></c></row>"
		"<row r=\"2\"><c r=\"A2\"><v>1</v></c><c r=\"B2\"><v>2</v></c></row>"
		"</sheetData><mergeCells><mergeCell ref=\"A1:B1\"/></mergeCells></worksheet>";
	fd = make_book(NULL, hole, NULL);
	CHECK(fd >= 0);
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), -1);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK(strstr(err.msg, "header cell B1") != NULL);
	CHECK(strstr(err.msg, "merged cell A1:B1") != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "cell")), "B1");
	lh_error_clear(&err);
	close(fd);

	/* two header cells with one name (case ignored): CSV's rule */
	const char *dup = SHEET("<row r=\"1\"><c t=\"inlineStr\"><is><t>id</t></is></c>"
				"<c t=\"inlineStr\"><is><t>ID</t></is></c></row>");
	fd = make_book(NULL, dup, NULL);
	CHECK(fd >= 0);
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), -1);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK(strstr(err.msg, "sheet \"Staff\", row 1") != NULL);
	lh_error_clear(&err);
	close(fd);
}

TEST(xlsx_date1904_workbook)
{
	const char *wb = "<workbook " NS "><workbookPr date1904=\"1\"/><sheets>"
			 "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
	const char *sheet = SHEET("<row r=\"1\"><c t=\"inlineStr\"><is><t>d</t></is></c></row>"
				  "<row r=\"2\"><c s=\"1\"><v>0</v></c></row>"
				  "<row r=\"3\"><c s=\"1\"><v>43844</v></c></row>");
	int fd = make_book(wb, sheet, NULL);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), 0);
	char out[256];
	size_t nb;
	CHECK_EQ_INT(dump(fd, s, out, sizeof out, &nb), 0);
	CHECK_EQ_STR(out, "d-24107\nd19737\n");    /* 1904-01-01, 2024-01-15 */
	ingest_schema_destroy(s);
	close(fd);
}

static void expect_fail(int fd, const char *code, const char *words, int *failed)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	int rc = ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err);
	if (rc != -1 || err.status != 400 || strcmp(err.code, code) || !strstr(err.msg, words) ||
	    strstr(err.msg, "/tmp") || strstr(err.msg, "libzip") || strstr(err.msg, "xmlParse")) {
		fprintf(stderr, "  expected 400 %s \"...%s...\", got %d %d %s: %s\n", code, words, rc,
			err.status, err.code, err.msg);
		*failed = 1;
	}
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	close(fd);
}

TEST(xlsx_refuses_damaged_workbooks)
{
	/* not a zip at all */
	static const char junk[] = "PK\x03\x04 this is not really a zip";
	char path[] = "/tmp/lh-xlsx-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	CHECK(write(fd, junk, sizeof junk - 1) == (ssize_t)(sizeof junk - 1));
	expect_fail(fd, "bad_xlsx", "not a zip archive", failed);
	if (*failed)
		return;
	/* a zip without a workbook */
	struct part readme = { "readme.txt", "hello", 0, 0 };
	expect_fail(make_zip(&readme, 1), "bad_xlsx", "no workbook part", failed);
	if (*failed)
		return;
	/* a workbook without sheets */
	const char *nosheets = "<workbook " NS "><sheets/></workbook>";
	expect_fail(make_book(nosheets, SHEET(""), NULL), "bad_xlsx", "no worksheet", failed);
	if (*failed)
		return;
	/* an empty sheet */
	expect_fail(make_book(NULL, SHEET(""), NULL), "empty_file", "sheet \"Staff\" is empty", failed);
	if (*failed)
		return;
	/* XML that is not well-formed, with its line */
	expect_fail(make_book(NULL, "<worksheet><sheetData>\n<row></sheetData>", NULL), "bad_xlsx",
		    "xl/worksheets/sheet1.xml is not well-formed XML (line 2)", failed);
	if (*failed)
		return;
	/* a DTD (entity expansion) */
	expect_fail(make_book(NULL, "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><worksheet><sheetData>"
				    "<row><c t=\"inlineStr\"><is><t>&a;</t></is></c></row>"
				    "</sheetData></worksheet>", NULL),
		    "bad_xlsx", "DTD", failed);
	if (*failed)
		return;
	/* a string index past the table */
	expect_fail(make_book(NULL, SHEET("<row><c r=\"B1\" t=\"s\"><v>99</v></c></row>"), NULL),
		    "bad_xlsx", "cell B1 of sheet \"Staff\" refers to a shared string", failed);
	if (*failed)
		return;
	/* cells out of order */
	expect_fail(make_book(NULL, SHEET("<row><c r=\"B1\"><v>1</v></c><c r=\"A1\"><v>2</v></c></row>"),
			      NULL), "bad_xlsx", "out of order", failed);
	if (*failed)
		return;
	/* a damaged entry: a byte of the deflated sheet changed */
	static char big[1 << 16];
	size_t o = (size_t)snprintf(big, sizeof big, "<worksheet><sheetData>");
	for (int i = 0; o < sizeof big - 200; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "<row><c><v>%d</v></c></row>", i * 7919);
	snprintf(big + o, sizeof big - o, "</sheetData></worksheet>");
	fd = make_book(NULL, big, NULL);
	CHECK(fd >= 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0);
	char *bytes = malloc((size_t)st.st_size);
	CHECK(pread(fd, bytes, (size_t)st.st_size, 0) == st.st_size);
	close(fd);
	char *at = memmem(bytes, (size_t)st.st_size, "xl/worksheets/sheet1.xml", 24);
	CHECK(at != NULL);
	at[24 + 200] ^= 0x55;             /* inside its deflated data */
	char path2[] = "/tmp/lh-xlsx-test-XXXXXX";
	fd = mkstemp(path2);
	CHECK(fd >= 0);
	unlink(path2);
	CHECK(write(fd, bytes, (size_t)st.st_size) == st.st_size);
	free(bytes);
	expect_fail(fd, "bad_xlsx", "sheet1.xml", failed);
}

TEST(xlsx_refuses_a_zip_bomb)
{
	/* 64 MiB of spaces inside the sheet deflate ~1000:1: the inflation
	 * stops at the ratio cap (LH_XLSX_MAX_RATIO) long before the end */
	size_t n = 64u << 20;
	char *sheet = malloc(n + 1);
	CHECK(sheet != NULL);
	const char *head = "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>a</t></is></c></row>";
	const char *tail = "</sheetData></worksheet>";
	memset(sheet, ' ', n);
	memcpy(sheet, head, strlen(head));
	memcpy(sheet + n - strlen(tail), tail, strlen(tail));
	sheet[n] = 0;
	int fd = make_book(NULL, sheet, NULL);
	free(sheet);
	CHECK(fd >= 0);
	CHECK(file_size(fd) < (1u << 20));
	expect_fail(fd, "xlsx_too_large", "times its compressed size", failed);
	if (*failed)
		return;
	/* the same bytes stored (ratio 1) are read */
	sheet = malloc(n + 1);
	memset(sheet, ' ', 4u << 20);
	size_t m = 4u << 20;
	memcpy(sheet, head, strlen(head));
	memcpy(sheet + m - strlen(tail), tail, strlen(tail));
	struct part parts[] = {
		{ "xl/workbook.xml", WORKBOOK, 0, 0 },
		{ "xl/_rels/workbook.xml.rels", RELS, 0, 0 },
		{ "xl/worksheets/sheet1.xml", sheet, m, 1 },
	};
	fd = make_zip(parts, 3);
	free(sheet);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 1);
	CHECK_EQ_INT(s->row_count, 0);
	ingest_schema_destroy(s);
	close(fd);
}

TEST(xlsx_many_rows_many_batches)
{
	/* 150,000 rows: three batches of at most 65,536 rows, in order */
	size_t rows = 150000, cap = rows * 64 + 256, o = 0;
	char *sheet = malloc(cap);
	CHECK(sheet != NULL);
	o += (size_t)snprintf(sheet + o, cap - o, "<worksheet><sheetData><row r=\"1\">"
			      "<c t=\"inlineStr\"><is><t>i</t></is></c><c t=\"inlineStr\"><is><t>s</t></is></c></row>");
	for (size_t i = 0; i < rows; i++)
		o += (size_t)snprintf(sheet + o, cap - o, "<row><c><v>%zu</v></c><c t=\"s\"><v>%d</v></c></row>",
				      i, i % 6 == 3 ? 0 : i % 6 == 5 ? 5 : 1);
	snprintf(sheet + o, cap - o, "</sheetData></worksheet>");
	int fd = make_book(NULL, sheet, NULL);
	free(sheet);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), 0);
	CHECK_EQ_INT(s->row_count, rows);
	CHECK_EQ_STR(type_name(s, 0), "int64");
	size_t dcap = rows * 24;
	char *out = malloc(dcap);
	size_t nb = 0;
	CHECK_EQ_INT(dump(fd, s, out, dcap, &nb), 0);
	CHECK_EQ_INT(nb, 3);
	char *line = out;
	for (size_t i = 0; i < rows; i++) {
		char want[48];
		snprintf(want, sizeof want, "%zu|%s\n", i,
			 i % 6 == 3 ? "name" : i % 6 == 5 ? "02134" : "Ann Lee");
		if (strncmp(line, want, strlen(want))) {
			fprintf(stderr, "  row %zu: %.40s\n", i, line);
			*failed = 1;
			break;
		}
		line += strlen(want);
	}
	free(out);
	ingest_schema_destroy(s);
	close(fd);
}

TEST(xlsx_sniff)
{
	const unsigned char zip[] = "PK\x03\x04....xl/workbook.xml";
	const unsigned char plain_zip[] = "PK\x03\x04....data.csv";
	struct ingest_sniff in = { .head = zip, .nhead = sizeof zip - 1 };
	CHECK_EQ_INT(ingest_format_xlsx.sniff(&in), 100);
	in.head = plain_zip;
	in.nhead = sizeof plain_zip - 1;
	CHECK_EQ_INT(ingest_format_xlsx.sniff(&in), 0);        /* a zip, not a workbook */
	in.file_name = "Staff.XLSX";
	CHECK_EQ_INT(ingest_format_xlsx.sniff(&in), 100);
	in.file_name = NULL;
	in.media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
	CHECK_EQ_INT(ingest_format_xlsx.sniff(&in), 100);
	in.head = (const unsigned char *)"a,b\n";
	in.nhead = 4;
	CHECK_EQ_INT(ingest_format_xlsx.sniff(&in), 80);       /* declared, not a zip */
	in.media_type = "text/csv";
	CHECK_EQ_INT(ingest_format_xlsx.sniff(&in), 0);
}

/* A header of 4096 columns (c1..c4096) and `rows` rows with one value in A. */
static int wide_book(size_t rows)
{
	size_t cap = 4096 * 64 + rows * 80 + 256, o = 0;
	char *sheet = malloc(cap);
	if (!sheet)
		return -1;
	o += (size_t)snprintf(sheet + o, cap - o, "<worksheet><sheetData><row r=\"1\">");
	for (int c = 1; c <= 4096; c++)
		o += (size_t)snprintf(sheet + o, cap - o, "<c t=\"inlineStr\"><is><t>c%d</t></is></c>", c);
	o += (size_t)snprintf(sheet + o, cap - o, "</row>");
	for (size_t r = 0; r < rows; r++)
		o += (size_t)snprintf(sheet + o, cap - o, "<row r=\"%zu\"><c r=\"A%zu\"><v>%zu</v></c></row>",
				      r + 2, r + 2, r);
	snprintf(sheet + o, cap - o, "</sheetData></worksheet>");
	int fd = make_book(NULL, sheet, NULL);
	free(sheet);
	return fd;
}

TEST(xlsx_wide_sheets_are_bounded_by_cells)
{
	/* 1,000 rows of 4,096 columns, one value each: batches of at most
	 * 2^21 cells (512 rows), all but the first column null */
	int fd = wide_book(1000);
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 4096);
	CHECK_EQ_INT(s->row_count, 1000);
	CHECK_EQ_INT(s->columns[0].nullable, 0);
	CHECK_EQ_INT(s->columns[4095].nullable, 1);
	CHECK_EQ_STR(type_name(s, 0), "int64");
	CHECK_EQ_STR(type_name(s, 4095), "utf8");         /* no value: utf8 */
	struct ArrowArrayStream st;
	CHECK_EQ_INT(s->format->batches(fd, s, &st, &err), 0);
	size_t nb = 0, rows = 0;
	int64_t last = -1;
	for (;;) {
		struct ArrowArray b;
		CHECK_EQ_INT(st.get_next(&st, &b), 0);
		if (!b.release)
			break;
		nb++;
		CHECK(b.length <= 512);
		CHECK_EQ_INT(b.children[4095]->null_count, b.length);
		last = ((const int64_t *)b.children[0]->buffers[1])[b.length - 1];
		rows += (size_t)b.length;
		b.release(&b);
	}
	st.release(&st);
	CHECK_EQ_INT(rows, 1000);
	CHECK_EQ_INT(nb, 2);
	CHECK_EQ_INT(last, 999);
	ingest_schema_destroy(s);
	close(fd);

	/* 65,537 such rows pass 2^28 cells (LH_XLSX_MAX_CELLS): a 400, though
	 * the file is a few MiB */
	fd = wide_book(65537);
	CHECK(fd >= 0);
	s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_xlsx, fd, &s, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "xlsx_too_large");
	CHECK(strstr(err.msg, "more than 268435456 cells") != NULL);
	lh_error_clear(&err);
	close(fd);
}
