/* test_csv.c — the CSV scanner (src/ingestd/csv.c): dialect rules, line
 * numbers of every syntax error class, restartability over split buffers. */
#include "test.h"

#include "common/error.h"
#include "ingestd/csv.h"

#include <stdlib.h>

/* Scan all of `text` (copied, it is modified in place) fed in pieces of
 * `step` bytes (0 = all at once). Renders records as "a|b|c;" into out.
 * Returns the last scan result (CSV_END or CSV_ERROR). */
static int scan_all(const char *text, size_t step, char *out, size_t outcap,
		    struct lh_error *err)
{
	size_t n = strlen(text), len = step ? 0 : n, pos = 0, o = 0;
	char *buf = malloc(n + 1);
	memcpy(buf, text, n);
	struct csv_scanner s;
	csv_scanner_init(&s);
	int r;
	out[0] = 0;
	for (;;) {
		size_t used = 0;
		r = csv_scan_record(&s, buf + pos, len - pos, len == n, &used, err);
		if (r == CSV_NEED_MORE) {
			len = len + step > n ? n : len + step;
			continue;
		}
		if (r != CSV_RECORD)
			break;
		for (size_t i = 0; i < s.nfields; i++)
			o += (size_t)snprintf(out + o, outcap - o, "%s%.*s", i ? "|" : "",
					      (int)s.fields[i].len, s.fields[i].ptr);
		o += (size_t)snprintf(out + o, outcap - o, ";");
		pos += used;
	}
	csv_scanner_free(&s);
	free(buf);
	return r;
}

static long long err_line(const struct lh_error *err)
{
	json_t *l = err->extra ? json_object_get(err->extra, "line") : NULL;
	return l ? json_integer_value(l) : -1;
}

#define SCAN_OK(text, expect)                                                   \
	do {                                                                    \
		char out_[1024];                                                \
		struct lh_error e_ = { 0 };                                     \
		for (size_t st_ = 0; st_ < 4; st_++) {                          \
			CHECK_EQ_INT(scan_all(text, st_, out_, sizeof out_, &e_), CSV_END); \
			CHECK_EQ_STR(out_, expect);                             \
		}                                                               \
		lh_error_clear(&e_);                                            \
	} while (0)

#define SCAN_ERR(text, code_, line_)                                            \
	do {                                                                    \
		char out_[1024];                                                \
		for (size_t st_ = 0; st_ < 4; st_++) {                          \
			struct lh_error e_ = { 0 };                             \
			CHECK_EQ_INT(scan_all(text, st_, out_, sizeof out_, &e_), CSV_ERROR); \
			CHECK_EQ_INT(e_.status, 400);                           \
			CHECK_EQ_STR(e_.code, code_);                           \
			CHECK_EQ_INT(err_line(&e_), line_);                     \
			lh_error_clear(&e_);                                    \
		}                                                               \
	} while (0)

TEST(csv_simple_lf)
{
	SCAN_OK("a,b\n1,2\n", "a|b;1|2;");
}

TEST(csv_no_trailing_newline)
{
	SCAN_OK("a,b\n1,2", "a|b;1|2;");
}

TEST(csv_crlf)
{
	SCAN_OK("a,b\r\n1,2\r\n3,\r\n", "a|b;1|2;3|;");
	SCAN_OK("a,b\r\n1,2\r", "a|b;1|2;");
	SCAN_OK("a,\"b\"\r\n\"1\",\"2\"\r\n", "a|b;1|2;");
}

TEST(csv_bare_cr_is_data)
{
	SCAN_OK("a\nx\ry\n", "a;x\ry;");
}

TEST(csv_bom_stripped)
{
	SCAN_OK("\xEF\xBB\xBF" "a,b\n1,2\n", "a|b;1|2;");
	/* only at the very start */
	SCAN_OK("a\n\xEF\xBB\xBFx\n", "a;\xEF\xBB\xBFx;");
}

TEST(csv_quoted_newlines)
{
	SCAN_OK("a,b\n\"x\ny\",2\n3,4\n", "a|b;x\ny|2;3|4;");
	SCAN_OK("a,b\r\n\"x\r\ny\",2\r\n", "a|b;x\r\ny|2;");
}

TEST(csv_doubled_quotes)
{
	SCAN_OK("a,b\n\"ha \"\"ha\"\" ha\",\"\"\"\"\n", "a|b;ha \"ha\" ha|\";");
}

TEST(csv_comma_in_quotes)
{
	SCAN_OK("a,b\n\"x,y\",2\n", "a|b;x,y|2;");
}

TEST(csv_empty_fields)
{
	char out[256];
	struct lh_error err = { 0 };
	char buf[] = "a,b,c\n,\"\",x\n";
	struct csv_scanner s;
	size_t used;
	csv_scanner_init(&s);
	CHECK_EQ_INT(csv_scan_record(&s, buf, strlen(buf), 1, &used, &err), CSV_RECORD);
	CHECK_EQ_INT(csv_scan_record(&s, buf + used, strlen(buf) - used, 1, &used, &err),
		     CSV_RECORD);
	CHECK_EQ_INT(s.fields[0].len, 0);
	CHECK_EQ_INT(s.fields[0].quoted, 0);
	CHECK_EQ_INT(s.fields[1].len, 0);
	CHECK_EQ_INT(s.fields[1].quoted, 1);
	csv_scanner_free(&s);
	SCAN_OK("a,b\n,\n", "a|b;|;");
	(void)out;
}

TEST(csv_quote_inside_unquoted_is_data)
{
	SCAN_OK("h,w\n5'10\",x\"y\"\n", "h|w;5'10\"|x\"y\";");
}

TEST(csv_blank_line_is_one_field_record)
{
	SCAN_OK("a\n1\n\n2\n", "a;1;;2;");
	SCAN_ERR("a,b\n1,2\n\n", "bad_csv", 3);
}

TEST(csv_ragged_more_fields)
{
	SCAN_ERR("a,b\n1,2\n1,2,3\n", "bad_csv", 3);
}

TEST(csv_ragged_fewer_fields)
{
	SCAN_ERR("a,b\n1,2\n1\n", "bad_csv", 3);
}

TEST(csv_ragged_line_counts_quoted_newlines)
{
	/* record 2 spans lines 2-4; the bad record starts on line 5 */
	SCAN_ERR("a,b\n\"x\n\ny\",1\n3\n", "bad_csv", 5);
	SCAN_ERR("a,b\r\n\"x\r\n\r\ny\",1\r\n3\r\n", "bad_csv", 5);
}

/* Quoted fields are scanned a word (8 bytes) at a time for the closing quote,
 * counting LFs and non-ASCII bytes on the way: LFs, doubled quotes and
 * multi-byte characters at every offset around word boundaries must give
 * the same lines and values as a byte-by-byte reading. */
TEST(csv_quoted_fields_across_word_boundaries)
{
	SCAN_OK("h\n\"0123456\n89\"\n", "h;0123456\n89;");
	SCAN_OK("h\n\"01234567\"\"9abcdef\n\nX\"\n", "h;01234567\"9abcdef\n\nX;");
	SCAN_OK("h\n\"\n\n\n\n\n\n\n\n\n\"\n", "h;\n\n\n\n\n\n\n\n\n;");
	SCAN_OK("h\n\"abcdef\xc3\xa9ghijklmnop\xe2\x82\xac\"\n",
		"h;abcdef\xc3\xa9ghijklmnop\xe2\x82\xac;");
	/* the record after a field with LFs before and after a word boundary */
	SCAN_ERR("h,i\n\"ab\ncdefgh\nijklmno\npq\",1\nx\n", "bad_csv", 6);
	/* junk after the closing quote: the line of that quote */
	SCAN_ERR("h\n\"abcdefg\nhijklmnopq\nr\"s\n", "bad_csv", 4);
	/* invalid UTF-8 after LFs, past the first word: the line of the byte */
	SCAN_ERR("h\n\"abcdefghij\nklm\nno\xffp\"\n", "bad_csv", 4);
	/* a non-ASCII byte in the same word as the closing quote */
	SCAN_ERR("h\n\"abcdefgh\xc3\"\n", "bad_csv", 2);
	SCAN_ERR("h\n\"abcdefgh\n\n\n\n\"xyz\n", "bad_csv", 6);
}

TEST(csv_unterminated_quote)
{
	/* the field starts on line 3 */
	SCAN_ERR("a,b\n1,2\n3,\"abc\nxyz\n", "bad_csv", 3);
	SCAN_ERR("a,b\n1,\"\n\n\"\"", "bad_csv", 2);
}

TEST(csv_garbage_after_closing_quote)
{
	SCAN_ERR("a,b\n\"ab\"c,1\n", "bad_csv", 2);
	SCAN_ERR("a,b\n1,\"x\ny\" \n", "bad_csv", 3);
}

TEST(csv_invalid_utf8)
{
	SCAN_ERR("a,b\n1,2\nx,\xff\n", "bad_csv", 3);
	SCAN_ERR("a,b\n1,\"x\ny\xc3\"\n", "bad_csv", 3);    /* truncated sequence */
	SCAN_ERR("a\n\xc0\xaf\n", "bad_csv", 2);            /* overlong */
	SCAN_ERR("a\n\xed\xa0\x80\n", "bad_csv", 2);        /* surrogate */
	SCAN_ERR("a\n\xf4\x90\x80\x80\n", "bad_csv", 2);    /* > U+10FFFF */
	SCAN_ERR("\xe9t\xe9\n", "bad_csv", 1);               /* latin-1 header */
	SCAN_OK("a\n\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 long enough ascii\n",
		"a;\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 long enough ascii;");
}

TEST(csv_utf8_check_edges)
{
	CHECK_EQ_INT(csv_utf8_check((const unsigned char *)"abcdefghij\xc3\xa9", 12), 12);
	CHECK_EQ_INT(csv_utf8_check((const unsigned char *)"abcdefghij\xc3", 11), 10);
	CHECK_EQ_INT(csv_utf8_check((const unsigned char *)"\xef\xbf\xbd", 3), 3);
}

TEST(csv_field_record_line)
{
	struct lh_error err = { 0 };
	char buf[] = "a\n\"x\ny\"\nz\n";
	struct csv_scanner s;
	size_t used, pos = 0, n = strlen(buf);
	csv_scanner_init(&s);
	CHECK_EQ_INT(csv_scan_record(&s, buf, n, 1, &used, &err), CSV_RECORD);
	CHECK_EQ_INT(s.record_line, 1);
	pos += used;
	CHECK_EQ_INT(csv_scan_record(&s, buf + pos, n - pos, 1, &used, &err), CSV_RECORD);
	CHECK_EQ_INT(s.record_line, 2);
	pos += used;
	CHECK_EQ_INT(csv_scan_record(&s, buf + pos, n - pos, 1, &used, &err), CSV_RECORD);
	CHECK_EQ_INT(s.record_line, 4);
	CHECK_EQ_INT(s.line, 5);
	csv_scanner_free(&s);
}

TEST(csv_need_more_leaves_buffer)
{
	struct lh_error err = { 0 };
	char buf[] = "a\n\"x\"\"y";
	char copy[sizeof buf];
	memcpy(copy, buf, sizeof buf);
	struct csv_scanner s;
	size_t used;
	csv_scanner_init(&s);
	CHECK_EQ_INT(csv_scan_record(&s, buf, 2, 0, &used, &err), CSV_RECORD);
	CHECK_EQ_INT(csv_scan_record(&s, buf + 2, strlen(buf) - 2, 0, &used, &err), CSV_NEED_MORE);
	CHECK(memcmp(buf, copy, sizeof buf) == 0);
	csv_scanner_free(&s);
}

static int header_err(const char *text, struct lh_error *err)
{
	char *buf = strdup(text);
	struct csv_scanner s;
	size_t used;
	csv_scanner_init(&s);
	int rc = csv_scan_record(&s, buf, strlen(buf), 1, &used, err);
	if (rc == CSV_RECORD)
		rc = csv_check_header(&s, err);
	csv_scanner_free(&s);
	free(buf);
	return rc;
}

TEST(csv_header_empty_name)
{
	struct lh_error err = { 0 };
	CHECK_EQ_INT(header_err("a,,c\n", &err), -1);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK_EQ_INT(json_integer_value(json_object_get(err.extra, "index")), 2);
	lh_error_clear(&err);
	CHECK_EQ_INT(header_err("a,\"\"\n", &err), -1);
	CHECK_EQ_STR(err.code, "bad_header");
	lh_error_clear(&err);
}

TEST(csv_header_duplicate_case_insensitive)
{
	struct lh_error err = { 0 };
	CHECK_EQ_INT(header_err("id,Name,x,NAME,id\n", &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "column")), "NAME");
	CHECK_EQ_INT(json_integer_value(json_object_get(err.extra, "index")), 4);
	lh_error_clear(&err);
	CHECK_EQ_INT(header_err("a,b,\"a,b\"\n", &err), 0);
}

/* Found by fuzz_csv (tests/fuzz/corpus/csv/crash-header-nul): a header name
 * with a NUL byte passed the checks, then was cut at the NUL when stored as
 * a column name, giving an empty name ("\0a") or two equal names
 * ("a\0x,a\0y") in the schema. Now a 400 bad_header. */
TEST(csv_header_nul_byte_rejected)
{
	static const char text[] = "id,a\0x,a\0y\n1,2,3\n";
	char buf[sizeof text];
	memcpy(buf, text, sizeof text);
	struct csv_scanner s;
	struct lh_error err = { 0 };
	size_t used;
	csv_scanner_init(&s);
	CHECK_EQ_INT(csv_scan_record(&s, buf, sizeof text - 1, 1, &used, &err), CSV_RECORD);
	CHECK_EQ_INT(s.nfields, 3);
	int rc = csv_check_header(&s, &err);
	csv_scanner_free(&s);
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_STR(err.code, "bad_header");
	CHECK_EQ_INT(json_integer_value(json_object_get(err.extra, "index")), 2);
	lh_error_clear(&err);
}

/* A header name holding the fingerprint's separators (0x1f, 0x1e) or any
 * other control character is refused: otherwise `a\x1fint64\x1eb` (utf8)
 * and `a` (int64), `b` (utf8) would share one fingerprint. Found by review
 * of the fuzzing results. */
TEST(csv_header_control_characters_rejected)
{
	static const char *texts[] = { "id,a\x1f" "int64\x1e" "b\n1,2\n", "id,a\tb\n1,2\n",
				       "id,\"a\nb\"\n1,2\n", "id,a\x7f\n1,2\n" };
	for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
		char buf[64];
		size_t n = strlen(texts[t]);
		memcpy(buf, texts[t], n + 1);
		struct csv_scanner s;
		struct lh_error err = { 0 };
		size_t used;
		csv_scanner_init(&s);
		CHECK_EQ_INT(csv_scan_record(&s, buf, n, 1, &used, &err), CSV_RECORD);
		int rc = csv_check_header(&s, &err);
		csv_scanner_free(&s);
		CHECK_EQ_INT(rc, -1);
		CHECK_EQ_STR(err.code, "bad_header");
		CHECK_EQ_INT(json_integer_value(json_object_get(err.extra, "index")), 2);
		CHECK(strstr(err.msg, "control character") != NULL);
		lh_error_clear(&err);
	}
}
