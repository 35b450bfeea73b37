/* test_format.c — choosing the format of an upload (src/ingestd/format.c,
 * ADR 0180): the sniff scores of media types, file names and magic numbers,
 * the 415 refusals and their words, the delimited-text formats and the
 * detection of their delimiter (csv.c), the scanner with another delimiter,
 * and the multipart file part's name and type that detection reads. */
#include "test.h"

#include "common/error.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Pick for (media type, file name, head): the format's name, or
 * "415:<detected>" with the message in msg. */
static const char *pick(const char *type, const char *name, const void *head, size_t n,
			char delimiter, char *msg, size_t msgcap)
{
	static char out[64];
	struct ingest_sniff in = { .media_type = type, .file_name = name,
				   .head = head, .nhead = n, .complete = 1,
				   .delimiter = delimiter };
	const struct ingest_format *f = NULL;
	struct lh_error err = { 0 };
	if (msg)
		msg[0] = '\0';
	if (ingest_format_pick(&in, &f, &err) == 0) {
		snprintf(out, sizeof out, "%s", f->name);
		return out;
	}
	const char *d = json_string_value(json_object_get(err.extra, "detected"));
	snprintf(out, sizeof out, "%d:%s:%s", err.status, err.code, d ? d : "?");
	if (msg)
		snprintf(msg, msgcap, "%s", err.msg);
	lh_error_clear(&err);
	return out;
}

#define PICK(type, name, head, n) pick(type, name, head, n, 0, NULL, 0)
#define PICKS(type, name, text) pick(type, name, text, strlen(text), 0, NULL, 0)

static const unsigned char OLE2[] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0 };
static const unsigned char PNG[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13 };
static const unsigned char GZIP[] = { 0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 3 };
static const unsigned char XZ[] = { 0xFD, '7', 'z', 'X', 'Z', 0, 0, 4 };
static const unsigned char ZSTD[] = { 0x28, 0xB5, 0x2F, 0xFD, 0x24, 0 };
static const unsigned char JPEG[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F' };

TEST(format_refuses_by_magic_number)
{
	char msg[512];
	/* a magic number outranks a declaration: a gzip sent as text/csv */
	CHECK_EQ_STR(pick("text/csv", "a.csv", GZIP, sizeof GZIP, 0, msg, sizeof msg),
		     "415:unsupported_format:gzip");
	CHECK(strstr(msg, "gzip-compressed") && strstr(msg, "gunzip") && strstr(msg, "CSV"));
	CHECK_EQ_STR(pick(NULL, NULL, OLE2, sizeof OLE2, 0, msg, sizeof msg),
		     "415:unsupported_format:xls");
	CHECK(strstr(msg, "legacy Excel workbook (.xls") && strstr(msg, "CSV UTF-8"));
	CHECK_EQ_STR(PICK("application/msword", "cv.doc", OLE2, sizeof OLE2),
		     "415:unsupported_format:doc");
	CHECK_EQ_STR(pick(NULL, NULL, "%PDF-1.7\n%\xe2\xe3", 11, 0, msg, sizeof msg),
		     "415:unsupported_format:pdf");
	CHECK(strstr(msg, "PDF documents are not read yet"));
	CHECK_EQ_STR(pick("application/octet-stream", "x.bin", PNG, sizeof PNG, 0, msg,
			  sizeof msg), "415:unsupported_format:png");
	CHECK(strstr(msg, "a PNG image"));
	CHECK_EQ_STR(PICK(NULL, NULL, JPEG, sizeof JPEG), "415:unsupported_format:jpeg");
	CHECK_EQ_STR(PICKS(NULL, NULL, "GIF89a\x01\x00"), "415:unsupported_format:gif");
	CHECK_EQ_STR(PICK(NULL, NULL, "RIFF\x10\0\0\0WEBPVP8 ", 16), "415:unsupported_format:webp");
	CHECK_EQ_STR(PICK(NULL, NULL, "RIFF\x10\0\0\0WAVEfmt ", 16), "csv");   /* not WebP */
	CHECK_EQ_STR(PICKS(NULL, NULL, "BZh91AY&SY"), "415:unsupported_format:bzip2");
	CHECK_EQ_STR(PICKS(NULL, NULL, "BZhx,y\n1,2\n"), "csv");   /* "BZh" then no level */
	CHECK_EQ_STR(PICK(NULL, NULL, XZ, sizeof XZ), "415:unsupported_format:xz");
	CHECK_EQ_STR(PICK(NULL, NULL, ZSTD, sizeof ZSTD), "415:unsupported_format:zstd");
}

TEST(format_refuses_utf16_and_utf32_text)
{
	char msg[512];
	static const unsigned char le[] = { 0xFF, 0xFE, 'a', 0, ',', 0, 'b', 0, '\n', 0 };
	static const unsigned char be[] = { 0xFE, 0xFF, 0, 'a', 0, ',', 0, 'b', 0, '\n' };
	static const unsigned char nobom[] = { 'i', 0, 'd', 0, ',', 0, 'n', 0, '\r', 0, '\n', 0,
					       '1', 0, ',', 0, 'x', 0, '\n', 0 };
	static const unsigned char u32[] = { 0xFF, 0xFE, 0, 0, 'a', 0, 0, 0 };
	CHECK_EQ_STR(pick("text/csv", NULL, le, sizeof le, 0, msg, sizeof msg),
		     "415:unsupported_format:utf16");
	CHECK(strstr(msg, "UTF-16 text") && strstr(msg, "iconv"));
	CHECK_EQ_STR(PICK(NULL, NULL, be, sizeof be), "415:unsupported_format:utf16");
	CHECK_EQ_STR(PICK(NULL, NULL, nobom, sizeof nobom), "415:unsupported_format:utf16");
	CHECK_EQ_STR(PICK(NULL, NULL, u32, sizeof u32), "415:unsupported_format:utf32");
	/* a UTF-8 BOM is CSV's own */
	CHECK_EQ_STR(PICKS("text/csv", NULL, "\xEF\xBB\xBF" "a,b\n1,2\n"), "csv");
}

/* A zip's first local file header naming `entry`. */
static size_t zip_head(unsigned char *buf, const char *entry)
{
	size_t n = strlen(entry);
	memset(buf, 0, 30);
	memcpy(buf, "PK\x03\x04\x14\0\0\0\x08\0", 10);
	buf[26] = (unsigned char)n;
	memcpy(buf + 30, entry, n);
	memcpy(buf + 30 + n, "\x01\x02\x03\x04", 4);
	return 30 + n + 4;
}

TEST(format_tells_zip_kinds_apart)
{
	unsigned char z[128];
	char msg[512];
	size_t n = zip_head(z, "data/people.csv");
	CHECK_EQ_STR(pick(NULL, "people.zip", z, n, 0, msg, sizeof msg),
		     "415:unsupported_format:zip");
	CHECK(strstr(msg, "a zip archive") && strstr(msg, "unzip it and send the CSV"));
	/* a workbook is refused until a format called "xlsx" reads it (note 4) */
	const char *xlsx = ingest_format_find("xlsx") ? "xlsx" : "415:unsupported_format:xlsx";
	CHECK_EQ_STR(PICK(NULL, "report.xlsx", z, n), xlsx);
	CHECK_EQ_STR(PICK("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
			  NULL, z, n), xlsx);
	CHECK_EQ_STR(PICK(NULL, "cv.docx", z, n), "415:unsupported_format:docx");
	n = zip_head(z, "[Content_Types].xml");
	CHECK_EQ_STR(PICK(NULL, NULL, z, n), "415:unsupported_format:zip");
	n = zip_head(z, "word/document.xml");
	CHECK_EQ_STR(pick(NULL, NULL, z, n, 0, msg, sizeof msg), "415:unsupported_format:docx");
	CHECK(strstr(msg, "a Word document (.docx)") && strstr(msg, "not read yet"));
	n = zip_head(z, "xl/workbook.xml");
	CHECK_EQ_STR(PICK(NULL, NULL, z, n), xlsx);
	n = zip_head(z, "mimetypeapplication/vnd.oasis.opendocument.spreadsheet");
	CHECK_EQ_STR(PICK(NULL, NULL, z, n), "415:unsupported_format:ods");
}

TEST(format_declared_kind_refuses_only_binary_bytes)
{
	/* Windows browsers send a .csv as application/vnd.ms-excel: text is read */
	CHECK_EQ_STR(PICKS("application/vnd.ms-excel", "people.csv", "a,b\n1,2\n"), "csv");
	CHECK_EQ_STR(PICKS("application/vnd.ms-excel", "people.xls", "a,b\n1,2\n"), "csv");
	CHECK_EQ_STR(PICKS("image/png", NULL, "a,b\n1,2\n"), "csv");
	/* ... but bytes that are not text, declared as a kind ingest does not read */
	static const unsigned char junk[] = { 'x', 0, 0xFE, 0x80, 1, 2 };
	CHECK_EQ_STR(PICK("application/vnd.ms-excel", NULL, junk, sizeof junk),
		     "415:unsupported_format:xls");
	CHECK_EQ_STR(PICK(NULL, "scan.pdf", junk, sizeof junk), "415:unsupported_format:pdf");
	CHECK_EQ_STR(PICK("image/tiff", NULL, junk, sizeof junk), "415:unsupported_format:image");
	CHECK_EQ_STR(PICK(NULL, "x.gz", junk, sizeof junk), "415:unsupported_format:gzip");
	/* unknown binary: read as CSV, which says what is wrong with its line */
	CHECK_EQ_STR(PICK("application/octet-stream", "x.bin", junk, sizeof junk), "csv");
}

TEST(format_text_with_any_media_type_is_delimited_text)
{
	/* curl --data-binary sends application/x-www-form-urlencoded */
	CHECK_EQ_STR(PICKS("application/x-www-form-urlencoded", NULL, "a,b\n1,2\n"), "csv");
	CHECK_EQ_STR(PICKS(NULL, NULL, "a,b\n1,2\n"), "csv");
	CHECK_EQ_STR(PICK(NULL, NULL, NULL, 0), "csv");   /* empty: CSV says so */
}

TEST(format_sniff_scores)
{
	struct ingest_sniff in = { .media_type = "text/csv; charset=utf-8",
				   .head = (const unsigned char *)"a,b\n", .nhead = 4 };
	CHECK_EQ_INT(ingest_format_csv.sniff(&in), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(ingest_format_tsv.sniff(&in), 0);
	in.media_type = NULL;
	CHECK_EQ_INT(ingest_format_csv.sniff(&in), INGEST_SNIFF_DEFAULT);
	in.file_name = "People.CSV";
	CHECK_EQ_INT(ingest_format_csv.sniff(&in), INGEST_SNIFF_DECLARED);
	in.file_name = "people.tsv";
	CHECK_EQ_INT(ingest_format_tsv.sniff(&in), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(ingest_format_csv.sniff(&in), 0);
	in.file_name = NULL;
	in.media_type = "Text/Tab-Separated-Values";
	CHECK_EQ_INT(ingest_format_tsv.sniff(&in), INGEST_SNIFF_DECLARED);
	in.delimiter = '|';
	CHECK_EQ_INT(ingest_format_csv_pipe.sniff(&in), INGEST_SNIFF_ASKED);
	CHECK_EQ_INT(ingest_format_tsv.sniff(&in), 0);
	CHECK(INGEST_SNIFF_MAGIC > 95 && 95 > INGEST_SNIFF_ASKED);
}

TEST(format_pick_delimited)
{
	CHECK_EQ_STR(PICKS("text/tab-separated-values", NULL, "a,b\tc\n1,2\t3\n"), "tsv");
	CHECK_EQ_STR(PICKS(NULL, "x.tsv", "a\tb\n1\t2\n"), "tsv");
	CHECK_EQ_STR(PICKS(NULL, NULL, "a\tb\n1\t2\n"), "tsv");            /* detected */
	CHECK_EQ_STR(PICKS("text/csv", "x.csv", "a;b\n1;2\n"), "csv_semicolon");
	CHECK_EQ_STR(PICKS(NULL, NULL, "a|b|c\n1|2|3\n"), "csv_pipe");
	CHECK_EQ_STR(pick("text/csv", NULL, "a;b\n", 4, ';', NULL, 0), "csv_semicolon");
	CHECK_EQ_STR(pick("text/csv", NULL, "a;b\n", 4, ',', NULL, 0), "csv");
	/* ?delimiter= does not make a gzip readable */
	CHECK_EQ_STR(pick(NULL, NULL, GZIP, sizeof GZIP, ';', NULL, 0),
		     "415:unsupported_format:gzip");
}

TEST(format_helpers)
{
	CHECK(ingest_media_type_is("text/csv", "text/csv"));
	CHECK(ingest_media_type_is(" TEXT/CSV ; charset=utf-8", "text/csv"));
	CHECK(!ingest_media_type_is("text/csvx", "text/csv"));
	CHECK(!ingest_media_type_is(NULL, "text/csv"));
	CHECK(ingest_name_ends("a.TSV", ".tsv"));
	CHECK(!ingest_name_ends(".tsv", ".tsv"));   /* a name, not only an extension */
	CHECK(!ingest_name_ends(NULL, ".tsv"));
	CHECK(ingest_format_find("csv") == &ingest_format_csv);
	CHECK(ingest_format_find("tsv") == &ingest_format_tsv);
	CHECK(ingest_format_find("nope") == NULL);
	CHECK(csv_format_for(';') == &ingest_format_csv_semicolon);
	CHECK(csv_format_for('x') == NULL);
	CHECK_EQ_INT(csv_format_delimiter(&ingest_format_csv_pipe), '|');
}

TEST(csv_delimiter_parse_values)
{
	CHECK_EQ_INT(csv_delimiter_parse(";", 1), ';');
	CHECK_EQ_INT(csv_delimiter_parse("\t", 1), '\t');
	CHECK_EQ_INT(csv_delimiter_parse("tab", 3), '\t');
	CHECK_EQ_INT(csv_delimiter_parse("TAB", 3), '\t');
	CHECK_EQ_INT(csv_delimiter_parse("\\t", 2), '\t');
	CHECK_EQ_INT(csv_delimiter_parse("|", 1), '|');
	CHECK_EQ_INT(csv_delimiter_parse(",", 1), ',');
	CHECK_EQ_INT(csv_delimiter_parse("semicolon", 9), ';');
	CHECK_EQ_INT(csv_delimiter_parse(":", 1), 0);
	CHECK_EQ_INT(csv_delimiter_parse("\"", 1), 0);
	CHECK_EQ_INT(csv_delimiter_parse(";;", 2), 0);
	CHECK_EQ_INT(csv_delimiter_parse("", 0), 0);
}

#define DETECT(text) csv_detect_delimiter(text, strlen(text), 1)

TEST(csv_detect_delimiter_unambiguous)
{
	CHECK_EQ_INT(DETECT("name;age\nann;31\nbob;42\n"), ';');
	CHECK_EQ_INT(DETECT("name\tage\nann\t31\n"), '\t');
	CHECK_EQ_INT(DETECT("name|age\nann|31\n"), '|');
	CHECK_EQ_INT(DETECT("name,age\nann,31\n"), ',');
	/* decimal commas: ',' splits the records unevenly, ';' evenly */
	CHECK_EQ_INT(DETECT("item;price\napple;1,5\npear;2\n"), ';');
	/* a quoted ';' is data; the comma splits every record the same way */
	CHECK_EQ_INT(DETECT("a,b\n\"x;y\",2\n"), ',');
	CHECK_EQ_INT(DETECT("a;b\n\"x,y\";2\n"), ';');
	/* CRLF and a BOM */
	CHECK_EQ_INT(DETECT("\xEF\xBB\xBF" "a;b\r\n1;2\r\n"), ';');
	/* one header line is enough */
	CHECK_EQ_INT(DETECT("a;b;c\n"), ';');
}

TEST(csv_detect_delimiter_ambiguous_stays_comma)
{
	/* ';' and ',' both split every line in two */
	CHECK_EQ_INT(DETECT("a;b,c\n1;2,3\n"), ',');
	/* two candidates other than ',' */
	CHECK_EQ_INT(DETECT("a;b|c\n1;2|3\n"), ',');
	/* ';' splits unevenly */
	CHECK_EQ_INT(DETECT("a;b\n1;2;3\n"), ',');
	/* one column: nothing splits */
	CHECK_EQ_INT(DETECT("name\nann\n"), ',');
	CHECK_EQ_INT(csv_detect_delimiter("", 0, 1), ',');
	CHECK_EQ_INT(csv_detect_delimiter(NULL, 0, 0), ',');
	/* not text */
	CHECK_EQ_INT(csv_detect_delimiter("a;\xff\n1;2\n", 9, 1), ',');
}

TEST(csv_detect_delimiter_ignores_the_cut_record)
{
	/* the head ends inside a record: only complete records are sampled */
	const char *t = "a;b\n1;2\n3;4;5;6";
	CHECK_EQ_INT(csv_detect_delimiter(t, strlen(t), 0), ';');
	CHECK_EQ_INT(csv_detect_delimiter(t, strlen(t), 1), ',');   /* whole: uneven */
	/* only the first CSV_DETECT_RECORDS records are sampled */
	char big[4096];
	size_t n = 0;
	n += (size_t)snprintf(big + n, sizeof big - n, "a;b\n");
	for (int i = 1; i < CSV_DETECT_RECORDS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "%d;x\n", i);
	n += (size_t)snprintf(big + n, sizeof big - n, "1;2;3\n");
	CHECK_EQ_INT(csv_detect_delimiter(big, n, 1), ';');
}

/* Scan `text` with delimiter d; render records "a|b;" (like test_csv.c). */
static int scan_with(char d, const char *text, char *out, size_t cap, struct lh_error *err)
{
	size_t n = strlen(text), pos = 0, o = 0;
	char *buf = malloc(n + 1);
	memcpy(buf, text, n + 1);
	struct csv_scanner s;
	csv_scanner_init(&s);
	s.delim = d;
	int r;
	out[0] = 0;
	for (;;) {
		size_t used = 0;
		r = csv_scan_record(&s, buf + pos, n - pos, 1, &used, err);
		if (r != CSV_RECORD)
			break;
		for (size_t i = 0; i < s.nfields; i++)
			o += (size_t)snprintf(out + o, cap - o, "%s%.*s", i ? "|" : "",
					      (int)s.fields[i].len, s.fields[i].ptr);
		o += (size_t)snprintf(out + o, cap - o, ";");
		pos += used;
	}
	csv_scanner_free(&s);
	free(buf);
	return r;
}

TEST(csv_scanner_other_delimiters)
{
	char out[512];
	struct lh_error err = { 0 };
	CHECK_EQ_INT(scan_with(';', "a;b\n\"x;1\";2,5\n;\n", out, sizeof out, &err), CSV_END);
	CHECK_EQ_STR(out, "a|b;x;1|2,5;|;");
	CHECK_EQ_INT(scan_with('\t', "a\tb\n\"q\"\"\t\"\t\n", out, sizeof out, &err), CSV_END);
	CHECK_EQ_STR(out, "a|b;q\"\t|;");
	/* a long record: the word-at-a-time search finds the delimiter too */
	CHECK_EQ_INT(scan_with('|', "abcdefghijklmnop|qrstuvwxyz0123456789|z\r\n", out,
			       sizeof out, &err), CSV_END);
	CHECK_EQ_STR(out, "abcdefghijklmnop|qrstuvwxyz0123456789|z;");
	/* ',' is data with another delimiter */
	CHECK_EQ_INT(scan_with('|', "a,b|c\n", out, sizeof out, &err), CSV_END);
	CHECK_EQ_STR(out, "a,b|c;");
}

static long long err_line(const struct lh_error *err)
{
	json_t *l = err->extra ? json_object_get(err->extra, "line") : NULL;
	return l ? json_integer_value(l) : -1;
}

TEST(csv_scanner_other_delimiter_errors_keep_lines)
{
	char out[512];
	struct lh_error err = { 0 };
	CHECK_EQ_INT(scan_with('\t', "a\tb\n1\t2\n3\n", out, sizeof out, &err), CSV_ERROR);
	CHECK_EQ_STR(err.code, "bad_csv");
	CHECK_EQ_INT(err_line(&err), 3);
	CHECK(strstr(err.msg, "record has 1 field, the header has 2"));
	lh_error_clear(&err);
	/* after a closing quote only the delimiter (not ',') may follow */
	CHECK_EQ_INT(scan_with(';', "a;b\n\"x\",y\n", out, sizeof out, &err), CSV_ERROR);
	CHECK_EQ_INT(err_line(&err), 2);
	CHECK(strstr(err.msg, "after a closing quote"));
	lh_error_clear(&err);
}

/* Infer a delimited file through its format. */
static struct ingest_schema *infer_text(const struct ingest_format *f, const char *text,
					struct lh_error *err)
{
	char path[] = "/tmp/lh-test-format-XXXXXX";
	int fd = mkstemp(path);
	struct ingest_schema *s = NULL;
	if (fd < 0)
		return NULL;
	unlink(path);
	if (write(fd, text, strlen(text)) == (ssize_t)strlen(text))
		ingest_infer_fd(f, fd, &s, err);
	close(fd);
	return s;
}

TEST(format_delimited_formats_infer_with_their_delimiter)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_text(&ingest_format_csv_semicolon,
					     "id;city\n1;Köln\n2;Paris, TX\n", &err);
	CHECK(s);
	CHECK(s->format == &ingest_format_csv_semicolon);
	CHECK_EQ_INT(s->ncols, 2);
	CHECK_EQ_STR(s->columns[1].name, "city");
	CHECK_EQ_INT(s->row_count, 2);
	size_t nchunks = 0;
	CHECK(csv_chunks(s, &nchunks) != NULL && nchunks == 1);
	ingest_schema_destroy(s);
	/* the same bytes as a TSV: one column */
	s = infer_text(&ingest_format_tsv, "id;city\n1;Köln\n", &err);
	CHECK(s);
	CHECK_EQ_INT(s->ncols, 1);
	CHECK_EQ_STR(s->columns[0].name, "id;city");
	ingest_schema_destroy(s);
	/* a TSV error names its line */
	s = infer_text(&ingest_format_tsv, "a\tb\n1\t2\n3\t4\t5\n", &err);
	CHECK(!s);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_INT(err_line(&err), 3);
	lh_error_clear(&err);
}

/* ---- the multipart file part's name and type ------------------------------ */

static int discard_file(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	(void)ctx, (void)data, (void)n, (void)err;
	return 0;
}

/* The file part's (name, type) of a body with those header lines. */
static int part_of(const char *headers, char *name, char *type)
{
	char body[2048];
	struct lh_error err = { 0 };
	struct multipart_callbacks cb = { .on_file = discard_file };
	struct multipart *mp = multipart_create("B", &cb);
	int n = snprintf(body, sizeof body, "--B\r\n%s\r\n\r\na,b\n\r\n--B--\r\n", headers);
	int rc = multipart_feed(mp, body, (size_t)n, &err);
	if (rc == 0)
		rc = multipart_finish(mp, &err);
	const char *fn = multipart_file_name(mp), *ft = multipart_file_type(mp);
	snprintf(name, 300, "%s", fn ? fn : "(none)");
	snprintf(type, 300, "%s", ft ? ft : "(none)");
	multipart_destroy(mp);
	lh_error_clear(&err);
	return rc;
}

TEST(multipart_file_name_and_type)
{
	char name[300], type[300];
	CHECK_EQ_INT(part_of("Content-Disposition: form-data; name=\"file\"; "
			     "filename=\"people.tsv\"\r\nContent-Type: text/tab-separated-values",
			     name, type), 0);
	CHECK_EQ_STR(name, "people.tsv");
	CHECK_EQ_STR(type, "text/tab-separated-values");
	CHECK_EQ_INT(part_of("Content-Disposition: form-data; name=\"file\"", name, type), 0);
	CHECK_EQ_STR(name, "(none)");
	CHECK_EQ_STR(type, "(none)");
	CHECK_EQ_INT(part_of("content-disposition: form-data; name=\"file\"; "
			     "filename*=UTF-8''K%C3%B6ln.csv", name, type), 0);
	CHECK_EQ_STR(name, "UTF-8''K%C3%B6ln.csv");
	/* a long name keeps its end (the extension) */
	char h[700];
	memset(name, 0, sizeof name);
	snprintf(h, sizeof h, "Content-Disposition: form-data; name=\"file\"; filename=\"%0400d.xlsx\"",
		 7);
	CHECK_EQ_INT(part_of(h, name, type), 0);
	CHECK_EQ_INT(strlen(name), LH_MULTIPART_FILE_NAME_MAX);
	CHECK(ingest_name_ends(name, ".xlsx"));
	/* another field's filename is not the file's */
	CHECK_EQ_INT(part_of("Content-Disposition: form-data; name=\"file\"\r\n"
			     "X-Note: filename=\"x.pdf\"", name, type), 0);
	CHECK_EQ_STR(name, "(none)");
}

TEST(format_zip_entry_names_not_any_bytes)
{
	unsigned char z[128];
	/* "keyword/" holds "word/", but no entry starts with it */
	size_t n = zip_head(z, "keyword/list.csv");
	CHECK_EQ_STR(PICK(NULL, NULL, z, n), "415:unsupported_format:zip");
	/* a second entry further on counts */
	unsigned char two[256];
	size_t a = zip_head(two, "[Content_Types].xml");
	size_t b = zip_head(two + a, "word/document.xml");
	CHECK_EQ_STR(PICK(NULL, NULL, two, a + b), "415:unsupported_format:docx");
}
