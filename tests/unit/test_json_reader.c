/* test_json_reader.c — the JSON input format (src/ingestd/json_scan.c,
 * json_reader.c; ADR 0182): the scanner's records and errors with their
 * lines, the same verdict however the input is split, typing of JSON values
 * (docs/schema.md, "JSON"), columns in first-seen order, hostile input
 * (nesting, huge numbers, invalid UTF-8, surrogates, duplicate keys, a
 * string over the limit), sniffing, the marks, and the record batches read
 * back from the Arrow stream. */
#include "test.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/schema.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/format.h"
#include "ingestd/infer.h"
#include "ingestd/json_scan.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Inference fed in pieces of `piece` bytes (0: all at once). */
static struct ingest_schema *infer_pieces(const char *text, size_t n, size_t piece,
					  struct lh_error *err)
{
	const struct ingest_format *f = &ingest_format_json;
	struct ingest_reader *r = f->begin();
	struct ingest_schema *s = NULL;
	size_t off = 0;
	while (off < n) {
		size_t k = piece && n - off > piece ? piece : n - off;
		if (f->feed(r, text + off, k, err)) {
			f->abort(r);
			return NULL;
		}
		off += k;
	}
	if (f->finish(r, &s, err))
		return NULL;
	return s;
}

static struct ingest_schema *infer(const char *text, struct lh_error *err)
{
	return infer_pieces(text, strlen(text), 0, err);
}

static const char *tname(struct schema_type t)
{
	static char buf[SCHEMA_TYPE_NAME_MAX];
	return schema_type_name(&t, buf);
}

/* "name:type[?]" for every column, space-separated ('?' = nullable), or
 * "<code> <line>: <message>" on failure. */
static const char *describe(const char *text, size_t piece)
{
	static char out[4096];
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer_pieces(text, strlen(text), piece, &err);
	size_t o = 0;
	out[0] = 0;
	if (!s) {
		json_t *line = json_object_get(err.extra, "line");
		snprintf(out, sizeof out, "%s %lld: %s", err.code,
			 line ? (long long)json_integer_value(line) : 0LL, err.msg);
		lh_error_clear(&err);
		return out;
	}
	for (size_t i = 0; i < s->ncols && o < sizeof out - 1; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "%s%s:%s%s", i ? " " : "",
				      s->columns[i].name, tname(s->columns[i].type),
				      s->columns[i].nullable ? "?" : "");
	ingest_schema_destroy(s);
	return out;
}

/* The type of column "v" in NDJSON lines {"v": <each value>}. */
static const char *type_of(const char *values[], size_t n)
{
	static char text[4096], name[64];
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "{\"v\": %s}\n", values[i]);
	struct lh_error err = { 0 };
	struct ingest_schema *s = infer(text, &err);
	snprintf(name, sizeof name, "%s", s ? tname(s->columns[0].type) : err.code);
	ingest_schema_destroy(s);
	lh_error_clear(&err);
	return name;
}
#define TYPE_OF(...) type_of((const char *[]){ __VA_ARGS__ }, \
			     sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *))

/* ---- the scanner -------------------------------------------------------- */

TEST(json_scan_members_and_kinds)
{
	const char *text = "{\"a\": 1, \"b\": \"x\\ty\", \"c\": true, \"d\": null,"
			   " \"e\": [1, {\"f\": \"g h\"} ], \"\\u00e9\": -2.5e3}\n";
	struct json_scanner s;
	struct lh_error err = { 0 };
	size_t used = 0;
	json_scanner_init(&s);
	int r = json_scan_record(&s, text, strlen(text), 1, &used, &err);
	CHECK_EQ_INT(r, JSON_RECORD);
	CHECK_EQ_INT(s.nmembers, 6);
	CHECK(s.members[0].kind == JSON_KIND_NUMBER && s.members[0].nval == 1 &&
	      s.members[0].val[0] == '1');
	CHECK(s.members[1].kind == JSON_KIND_STRING && s.members[1].nval == 3 &&
	      !memcmp(s.members[1].val, "x\ty", 3));
	CHECK(s.members[2].kind == JSON_KIND_BOOL && s.members[2].nval == 4);
	CHECK(s.members[3].kind == JSON_KIND_NULL && s.members[3].val == NULL);
	CHECK(s.members[4].kind == JSON_KIND_NESTED);
	CHECK_EQ_INT(s.members[4].nval, strlen("[1,{\"f\":\"g h\"}]"));
	CHECK(!memcmp(s.members[4].val, "[1,{\"f\":\"g h\"}]", s.members[4].nval));
	CHECK(s.members[5].nkey == 2 && !memcmp(s.members[5].key, "\xc3\xa9", 2));
	CHECK(s.members[5].kind == JSON_KIND_NUMBER && s.members[5].nval == 6);
	r = json_scan_record(&s, text + used, strlen(text) - used, 1, &used, &err);
	CHECK_EQ_INT(r, JSON_END);
	json_scanner_free(&s);
}

TEST(json_scan_surrogate_pair_and_nul)
{
	const char *text = "[{\"k\": \"\\ud83d\\ude00 \\u0000!\"}]";
	struct json_scanner s;
	struct lh_error err = { 0 };
	size_t used = 0;
	json_scanner_init(&s);
	CHECK_EQ_INT(json_scan_record(&s, text, strlen(text), 1, &used, &err), JSON_RECORD);
	CHECK_EQ_INT(s.members[0].nval, 7);
	CHECK(!memcmp(s.members[0].val, "\xf0\x9f\x98\x80 \0!", 7));
	CHECK_EQ_INT(s.record_off, 1);
	size_t more = 0;
	CHECK_EQ_INT(json_scan_record(&s, text + used, strlen(text) - used, 1, &more, &err), JSON_END);
	json_scanner_free(&s);
}

TEST(json_scan_need_more_consumes_only_blanks)
{
	struct json_scanner s;
	struct lh_error err = { 0 };
	size_t used = 0;
	json_scanner_init(&s);
	CHECK_EQ_INT(json_scan_record(&s, "\n\n  {\"a\":", 9, 0, &used, &err), JSON_NEED_MORE);
	CHECK_EQ_INT(used, 4);
	CHECK_EQ_INT(s.line, 3);
	CHECK_EQ_INT(json_scan_record(&s, "{\"a\":1}", 7, 1, &used, &err), JSON_RECORD);
	CHECK_EQ_INT(s.record_line, 3);
	json_scanner_free(&s);
}

/* ---- errors with their lines ------------------------------------------ */

TEST(json_errors_name_the_line)
{
	CHECK_EQ_STR(describe("{\"a\":1}\n{\"a\":2}\n[1]\n", 0),
		     "bad_json 3: line 3: the value is an array, not a JSON object");
	CHECK_EQ_STR(describe("{\"a\":1}\n\"x\"\n", 0),
		     "bad_json 2: line 2: the value is a string, not a JSON object");
	CHECK_EQ_STR(describe("[\n{\"a\":1},\n2\n]", 0),
		     "bad_json 3: line 3: an element of the array is a number, not a JSON object");
	CHECK_EQ_STR(describe("hello", 0),
		     "bad_json 1: line 1: a JSON upload is objects, one per line (NDJSON), or an "
		     "array of objects; this one starts with 'h'");
	CHECK_EQ_STR(describe("{\"a\":1}\n{\"a\":2\n", 0),
		     "bad_json 3: line 3: the file ends inside a JSON object");
	CHECK_EQ_STR(describe("{\"a\" 1}", 0),
		     "bad_json 1: line 1: unexpected '1' after a key (a ':' should follow)");
	CHECK_EQ_STR(describe("{\"a\": 01}", 0),
		     "bad_json 1: line 1: unexpected '1' after a value (a ',' or '}' should follow)");
	CHECK_EQ_STR(describe("{\"a\": 1.}", 0),
		     "bad_json 1: line 1: a number is not written as JSON writes numbers");
	CHECK_EQ_STR(describe("{\"a\": \"x\ny\"}", 0),
		     "bad_json 1: line 1: a string holds a raw control character (write it as \\n, "
		     "\\t or \\u00XX)");
	CHECK_EQ_STR(describe("{\"a\": \"\\x\"}", 0),
		     "bad_json 1: line 1: a string has an unknown escape \\'x'");
}

TEST(json_crlf_lines_and_blank_lines)
{
	/* CRLF ends lines as LF does; blank lines are skipped but counted */
	CHECK_EQ_STR(describe("{\"a\": 1}\r\n\r\n{\"a\": 2}\r\n", 0), "a:int64");
	CHECK_EQ_STR(describe("{\"a\": 1}\r\n\r\n\r\n{\"a\": }\r\n", 0),
		     "bad_json 4: line 4: unexpected '}' where a JSON value should be");
	CHECK_EQ_STR(describe("[\r\n {\"a\": 1,\r\n  \"b\": [1,\r\n 2]},\r\n {\"a\": x}]", 0),
		     "bad_json 5: line 5: unexpected 'x' where a JSON value should be");
}

TEST(json_array_trailing_garbage_and_comma)
{
	CHECK_EQ_STR(describe("[{\"a\":1}]\n x", 0),
		     "bad_json 2: line 2: something follows the end of the JSON array");
	CHECK_EQ_STR(describe("[{\"a\":1}] [{\"a\":2}]", 0),
		     "bad_json 1: line 1: something follows the end of the JSON array");
	CHECK_EQ_STR(describe("[{\"a\":1},]", 0),
		     "bad_json 1: line 1: a ',' is followed by ']' (JSON has no trailing comma)");
	CHECK_EQ_STR(describe("[{\"a\":1}\n", 0),
		     "bad_json 2: line 2: the file ends before the JSON array is closed with ']'");
	CHECK_EQ_STR(describe("[{\"a\":1} {\"a\":2}]", 0),
		     "bad_json 1: line 1: unexpected '{' after an element of the array (a ',' or "
		     "']' should follow)");
	CHECK_EQ_STR(describe("[{\"a\":1}]\n\n", 0), "a:int64");
}

TEST(json_empty_inputs)
{
	CHECK(!strncmp(describe("", 0), "empty_file", 10));
	CHECK(!strncmp(describe(" \n\n", 0), "empty_file", 10));
	CHECK(!strncmp(describe("[]", 0), "empty_file", 10));
	CHECK(!strncmp(describe("[{}, {}]", 0), "empty_file", 10));
	CHECK_EQ_STR(describe("\xEF\xBB\xBF{\"a\": true}", 0), "a:bool");
}

/* ---- hostile input --------------------------------------------------------- */

TEST(json_hostile_depth)
{
	/* the row's object is level 1: 63 arrays inside it are 64 levels */
	char text[512];
	size_t o = 0;
	o += (size_t)snprintf(text + o, sizeof text - o, "{\"a\":");
	for (int i = 0; i < LH_JSON_INGEST_MAX_DEPTH - 1; i++)
		text[o++] = '[';
	for (int i = 0; i < LH_JSON_INGEST_MAX_DEPTH - 1; i++)
		text[o++] = ']';
	text[o++] = '}';
	text[o] = 0;
	CHECK_EQ_STR(describe(text, 0), "a:utf8");
	o = 0;
	o += (size_t)snprintf(text + o, sizeof text - o, "{\"a\":");
	for (int i = 0; i < LH_JSON_INGEST_MAX_DEPTH; i++)
		text[o++] = '[';
	for (int i = 0; i < LH_JSON_INGEST_MAX_DEPTH; i++)
		text[o++] = ']';
	text[o++] = '}';
	text[o] = 0;
	CHECK_EQ_STR(describe(text, 0), "bad_json 1: line 1: values nested deeper than 64 levels");
	/* a deep document is refused before its end: no recursion without bound */
	size_t n = 1000000;
	char *deep = malloc(n + 8);
	memcpy(deep, "{\"a\":", 5);
	memset(deep + 5, '[', n);
	deep[n + 5] = 0;
	CHECK_EQ_STR(describe(deep, 0), "bad_json 1: line 1: values nested deeper than 64 levels");
	free(deep);
}

TEST(json_hostile_huge_numbers)
{
	/* SPEC 4: an integer outside int64 is text, a number beyond the double
	 * range is text; a number column keeps the text as written */
	CHECK_EQ_STR(TYPE_OF("9223372036854775807"), "int64");
	CHECK_EQ_STR(TYPE_OF("9223372036854775808"), "utf8");
	CHECK_EQ_STR(TYPE_OF("-9223372036854775809"), "utf8");
	CHECK_EQ_STR(TYPE_OF("1e308"), "float64");
	CHECK_EQ_STR(TYPE_OF("1e400"), "utf8");
	CHECK_EQ_STR(TYPE_OF("1", "123456789012345678901234567890"), "utf8");
}

TEST(json_hostile_forty_digit_number)
{
	/* 40 digits: more than any decimal holds. Declared types' bookkeeping
	 * (infer.h note 5) records "more than 38 integer digits" at its line
	 * without writing past its arrays (it did: UBSan, index 38 of 38). */
	struct lh_error err = { 0 };
	struct ingest_schema *s =
		infer("{\"v\": 1}\n{\"v\": 1234567890123456789012345678901234567890}\n", &err);
	CHECK(s != NULL);
	CHECK_EQ_STR(tname(s->columns[0].type), "utf8");
	CHECK(s->columns[0].fit != NULL);
	CHECK_EQ_INT(s->columns[0].fit->int_over[0], 1);
	CHECK_EQ_INT(s->columns[0].fit->int_over[1], 2);
	CHECK_EQ_INT(s->columns[0].fit->int_over[SCHEMA_DECIMAL_MAX_PRECISION], 2);
	CHECK(s->columns[0].fit->frac_over[0] == INGEST_FIT_NONE);
	ingest_schema_destroy(s);
}

TEST(json_hostile_utf8_and_surrogates)
{
	CHECK_EQ_STR(describe("{\"a\":\"ok\"}\n{\"a\":\"\xff\"}\n", 0),
		     "bad_json 2: line 2: a string is not valid UTF-8");
	CHECK_EQ_STR(describe("{\"a\":\"\xc0\xaf\"}", 0),
		     "bad_json 1: line 1: a string is not valid UTF-8");
	CHECK_EQ_STR(describe("{\"a\":1}\n{\"\xed\xa0\x80\":1}", 0),
		     "bad_json 2: line 2: a string is not valid UTF-8");
	CHECK_EQ_STR(describe("{\"a\":\"\\ud800\"}", 0),
		     "bad_json 1: line 1: a string has a lone surrogate \\ud800 (half of a character)");
	CHECK_EQ_STR(describe("{\"a\":\"\\udc00x\"}", 0),
		     "bad_json 1: line 1: a string has a lone surrogate \\udc00 (half of a character)");
	CHECK_EQ_STR(describe("{\"a\":\"\\ud800\\u0041\"}", 0),
		     "bad_json 1: line 1: a string has a lone surrogate \\ud800 (half of a character)");
	CHECK_EQ_STR(describe("{\"a\":\"\\ud83d\\ude00\"}", 0), "a:utf8");
	/* raw bytes outside strings are a syntax error */
	CHECK_EQ_STR(describe("{\"a\":1,\xc3\xa9}", 0),
		     "bad_json 1: line 1: unexpected byte 0xc3 where a key in quotes should be");
}

TEST(json_hostile_duplicate_and_case_keys)
{
	CHECK_EQ_STR(describe("{\"a\":1}\n{\"a\":1,\"b\":2,\"a\":3}\n", 0),
		     "bad_json 2: line 2: the key \"a\" appears twice in one object");
	CHECK_EQ_STR(describe("{\"Name\":1}\n{\"name\":2}\n", 0),
		     "bad_json 2: line 2: the key \"name\" differs from the earlier key \"Name\" only "
		     "in letter case (column names are case-insensitive)");
	CHECK_EQ_STR(describe("{\"id\":1,\"ID\":2}", 0),
		     "bad_json 1: line 1: the key \"ID\" differs from the earlier key \"id\" only "
		     "in letter case (column names are case-insensitive)");
	CHECK_EQ_STR(describe("{\"\":1}", 0),
		     "bad_json 1: line 1: a key is empty (keys become column names)");
	CHECK_EQ_STR(describe("{\"a\\u0000b\":1}", 0),
		     "bad_json 1: line 1: the key \"a\" contains a control character (keys become "
		     "column names)");
	/* nested objects keep their members as written */
	CHECK_EQ_STR(describe("{\"n\":{\"a\":1,\"a\":2}}", 0), "n:utf8");
}

TEST(json_hostile_long_string_is_refused)
{
	/* a string one byte over the limit, in pieces as an upload arrives */
	size_t n = LH_JSON_INGEST_MAX_VALUE_BYTES + 1;
	char *text = malloc(n + 32);
	size_t o = (size_t)snprintf(text, 32, "{\"a\":\"");
	memset(text + o, 'x', n);
	o += n;
	memcpy(text + o, "\"}", 3);
	CHECK_EQ_STR(describe(text, 1u << 20), "bad_json 1: line 1: a string longer than 16 MiB, the "
						"limit for one value");
	/* at the limit it is a value */
	memcpy(text + o - 1, "\"}", 3);
	CHECK_EQ_STR(describe(text, 1u << 20), "a:utf8");
	free(text);
}

TEST(json_hostile_big_object_is_refused)
{
	/* many short members: past the record limit, refused at the same byte
	 * whatever the pieces */
	size_t n = LH_JSON_INGEST_MAX_RECORD_BYTES + (1u << 20);
	char *text = malloc(n + 64);
	size_t o = 0;
	text[o++] = '{';
	for (int k = 0; o < n; k++)
		o += (size_t)snprintf(text + o, 64, "\"k\":[\"%050d\"],", k % 1000);
	memcpy(text + o, "\"z\":1}", 7);
	char a[600], b[600];
	snprintf(a, sizeof a, "%s", describe(text, 0));
	snprintf(b, sizeof b, "%s", describe(text, 3u << 20));
	CHECK_EQ_STR(a, "bad_json 1: line 1: an object larger than 64 MiB, the limit for one row");
	CHECK_EQ_STR(b, a);
	free(text);
}

/* ---- typing (docs/schema.md, "JSON") -------------------------------------- */

TEST(json_types_of_values)
{
	CHECK_EQ_STR(TYPE_OF("2134", "-7"), "int64");
	CHECK_EQ_STR(TYPE_OF("1", "2.5"), "float64");
	CHECK_EQ_STR(TYPE_OF("1e5"), "float64");
	CHECK_EQ_STR(TYPE_OF("true", "false"), "bool");
	CHECK_EQ_STR(TYPE_OF("\"02134\""), "utf8");
	CHECK_EQ_STR(TYPE_OF("\"2134\""), "utf8");       /* a quoted number stays text */
	CHECK_EQ_STR(TYPE_OF("\"true\""), "utf8");
	CHECK_EQ_STR(TYPE_OF("1", "\"2\""), "utf8");
	CHECK_EQ_STR(TYPE_OF("true", "1"), "utf8");
	CHECK_EQ_STR(TYPE_OF("\"2024-01-05\"", "\"2024-02-29\""), "date32");
	CHECK_EQ_STR(TYPE_OF("\"2023-02-29\""), "utf8");
	CHECK_EQ_STR(TYPE_OF("\"2024-01-05T10:00:00\""), "timestamp[us]");
	CHECK_EQ_STR(TYPE_OF("\"2024-01-05T10:00:00Z\"", "\"2024-01-05 10:00:00+02:00\""),
		     "timestamp[us, tz=UTC]");
	CHECK_EQ_STR(TYPE_OF("{\"a\":1}"), "utf8");
	CHECK_EQ_STR(TYPE_OF("[1,2]"), "utf8");
	CHECK_EQ_STR(TYPE_OF("null", "null"), "utf8");
	CHECK_EQ_STR(TYPE_OF("null", "3"), "int64");
	CHECK_EQ_STR(TYPE_OF("\"\"", "3"), "int64");      /* "" is null, as an empty CSV field */
	CHECK_EQ_STR(TYPE_OF("\" 1\""), "utf8");
}

TEST(json_columns_in_first_seen_order)
{
	/* a key first seen on a late line is a column; earlier rows are null */
	char *text = malloc(60000 * 24 + 64);
	size_t o = 0;
	for (int i = 0; i < 60000; i++)
		o += (size_t)snprintf(text + o, 64, "{\"id\": %d, \"b\": \"x\"}\n", i);
	o += (size_t)snprintf(text + o, 64, "{\"late\": 1.5, \"id\": 60000}\n");
	CHECK_EQ_STR(describe(text, 0), "id:int64 b:utf8? late:float64?");
	CHECK_EQ_STR(describe(text, 4093), "id:int64 b:utf8? late:float64?");
	free(text);
}

TEST(json_splits_give_the_same_schema)
{
	const char *text = "\xEF\xBB\xBF[ {\"a\": 1, \"s\": \"\\u00e9\\ud83d\\ude00\", \"n\": {\"x\": [1, 2]}},\n"
			   "  {\"b\": \"2024-01-05\", \"a\": -2},\n  {\"s\": null}\n]\n";
	char whole[600];
	snprintf(whole, sizeof whole, "%s", describe(text, 0));
	CHECK_EQ_STR(whole, "a:int64? s:utf8? n:utf8? b:date32?");
	for (size_t piece = 1; piece < 9; piece++)
		CHECK_EQ_STR(describe(text, piece), whole);
	const char *bad = "{\"a\": 1}\n{\"a\": \"\\ud800\"}\n";
	snprintf(whole, sizeof whole, "%s", describe(bad, 0));
	for (size_t piece = 1; piece < 9; piece++)
		CHECK_EQ_STR(describe(bad, piece), whole);
}

/* ---- sniffing --------------------------------------------------------------- */

static int sniff(const char *type, const char *name, const char *head)
{
	struct ingest_sniff in = { .media_type = type, .file_name = name,
				   .head = (const unsigned char *)head,
				   .nhead = head ? strlen(head) : 0, .complete = 1 };
	return ingest_format_json.sniff(&in);
}

TEST(json_sniff)
{
	CHECK_EQ_INT(sniff("application/json", NULL, "[{\"a\":1}]"), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(sniff("application/x-ndjson; charset=utf-8", NULL, "{}"), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(sniff("application/jsonl", NULL, ""), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(sniff(NULL, "rows.NDJSON", "{\"a\":1}"), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(sniff(NULL, "rows.jsonl", "{\"a\":1}"), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(sniff(NULL, "rows.json", "\xEF\xBB\xBF \n [ {"), INGEST_SNIFF_DECLARED);
	CHECK_EQ_INT(sniff(NULL, "rows.json", "a,b\n1,2\n"), INGEST_SNIFF_LOOKS);
	CHECK_EQ_INT(sniff(NULL, NULL, "  {\"a\":1}"), INGEST_SNIFF_LOOKS);
	CHECK_EQ_INT(sniff(NULL, NULL, "[\n  {\"a\":1}]"), INGEST_SNIFF_LOOKS);
	CHECK_EQ_INT(sniff(NULL, NULL, "[]"), INGEST_SNIFF_LOOKS);
	CHECK_EQ_INT(sniff(NULL, NULL, "{}"), INGEST_SNIFF_LOOKS);
	CHECK_EQ_INT(sniff(NULL, NULL, "["), INGEST_SNIFF_LOOKS);
	/* text that only starts with a bracket is not JSON (a CSV header) */
	CHECK_EQ_INT(sniff(NULL, NULL, "[draft] title,owner\n1,2\n"), 0);
	CHECK_EQ_INT(sniff(NULL, NULL, "{id},name\n1,x\n"), 0);
	CHECK_EQ_INT(sniff(NULL, "notes.json", "[draft] x"), INGEST_SNIFF_LOOKS);
	CHECK_EQ_INT(sniff("text/csv", "x.csv", "a,b\n"), 0);
	CHECK_EQ_INT(sniff(NULL, NULL, "a,b\n"), 0);
	/* the registry picks JSON for these, CSV for a declared CSV */
	struct lh_error err = { 0 };
	const struct ingest_format *f = NULL;
	struct ingest_sniff in = { .head = (const unsigned char *)"{\"a\":1}\n", .nhead = 8,
				   .complete = 1 };
	CHECK_EQ_INT(ingest_format_pick(&in, &f, &err), 0);
	CHECK(f == &ingest_format_json);
	in.media_type = "text/csv";
	CHECK_EQ_INT(ingest_format_pick(&in, &f, &err), 0);
	CHECK(f == &ingest_format_csv);
	in.media_type = "application/json";
	in.head = (const unsigned char *)"x";
	in.nhead = 1;
	CHECK_EQ_INT(ingest_format_pick(&in, &f, &err), 0);
	CHECK(f == &ingest_format_json);
	lh_error_clear(&err);
}

/* ---- marks and batches -------------------------------------------------------- */

/* A temp file holding `n` bytes; -1 on failure. */
static int temp_file(const char *text, size_t n)
{
	char path[] = "/tmp/lh-test-json-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return fd;
}

static int is_valid(const struct ArrowArray *a, int64_t i)
{
	const uint8_t *v = a->buffers[0];
	return !v || (v[i >> 3] >> (i & 7)) & 1;
}

/* Every row of the stream as "v1|v2|...\n" (NULL for null), into out. */
static int dump(struct ArrowArrayStream *st, const struct ingest_schema *s, char *out,
		size_t cap, size_t *nbatches)
{
	size_t o = 0;
	*nbatches = 0;
	out[0] = 0;
	for (;;) {
		struct ArrowArray b;
		if (st->get_next(st, &b))
			return -1;
		if (!b.release)
			return 0;
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
					case SCHEMA_TIMESTAMPTZ:
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
			}
			o += (size_t)snprintf(out + o, cap - o, "\n");
			if (o >= cap)
				return -1;
		}
		b.release(&b);
	}
}

TEST(json_batches_values)
{
	const char *text = "[{\"i\": 1, \"f\": 2, \"b\": true, \"s\": \"a\\\"b\", \"n\": {\"x\": [1, \"y\"]}},\n"
			   " {\"d\": \"1970-01-02\", \"s\": \"\", \"i\": null, \"f\": 2.5, \"b\": false},\n"
			   " {\"n\": [], \"big\": 123456789012345678901234567890, \"i\": -3}]\n";
	struct lh_error err = { 0 };
	int fd = temp_file(text, strlen(text));
	CHECK(fd >= 0);
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_json, fd, &s, &err), 0);
	CHECK_EQ_INT(s->row_count, 3);
	struct ArrowArrayStream st;
	CHECK_EQ_INT(s->format->batches(fd, s, &st, &err), 0);
	char out[2048];
	size_t nb = 0;
	int rc = dump(&st, s, out, sizeof out, &nb);
	st.release(&st);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(out, "1|2|true|a\"b|{\"x\":[1,\"y\"]}|NULL|NULL\n"
			  "NULL|2.5|false|NULL|NULL|d1|NULL\n"
			  "-3|NULL|NULL|NULL|[]|NULL|123456789012345678901234567890\n");
	CHECK_EQ_STR(tname(s->columns[5].type), "date32");
	ingest_schema_destroy(s);
	close(fd);
}

TEST(json_marks_and_many_chunks)
{
	/* 200,000 NDJSON rows: marks every 1024 rows or 64 KiB, chunks of at
	 * most 2 MiB; every row comes back in order */
	size_t rows = 200000;
	char *text = malloc(rows * 64);
	size_t o = 0;
	for (size_t i = 0; i < rows; i++)
		o += (size_t)snprintf(text + o, 64, "{\"id\": %zu, \"name\": \"n%zu\"}\n", i, i * 7);
	struct lh_error err = { 0 };
	int fd = temp_file(text, o);
	CHECK(fd >= 0);
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_json, fd, &s, &err), 0);
	CHECK_EQ_INT(s->row_count, rows);
	CHECK_EQ_INT(s->data_end, o - 1);     /* the last '}' */
	size_t nmarks = 0;
	int mode = 0;
	const struct json_mark *m = json_marks(s, &nmarks, &mode);
	CHECK_EQ_INT(mode, JSON_MODE_LINES);
	CHECK(nmarks > rows / JSON_MARK_ROWS);
	CHECK_EQ_INT(m[0].offset, 0);
	for (size_t k = 1; k < nmarks; k++) {
		CHECK(m[k].first_row > m[k - 1].first_row);
		CHECK(m[k].first_row - m[k - 1].first_row <= JSON_MARK_ROWS);
		CHECK(text[m[k].offset] == '{');
		CHECK_EQ_INT(m[k].line, m[k].first_row + 1);
	}
	struct ArrowArrayStream st;
	CHECK_EQ_INT(s->format->batches(fd, s, &st, &err), 0);
	size_t cap = rows * 32;
	char *out = malloc(cap);
	size_t nb = 0;
	int rc = dump(&st, s, out, cap, &nb);
	st.release(&st);
	CHECK_EQ_INT(rc, 0);
	CHECK(nb > 1);
	char *line = out;
	for (size_t i = 0; i < rows; i++) {
		char want[64];
		int k = snprintf(want, sizeof want, "%zu|n%zu\n", i, i * 7);
		if (strncmp(line, want, (size_t)k)) {
			fprintf(stderr, "  row %zu: %.40s\n", i, line);
			CHECK(0);
		}
		line += k;
	}
	free(out);
	ingest_schema_destroy(s);
	close(fd);
	free(text);
}

TEST(json_sparse_columns_make_small_chunks)
{
	/* 600 keys each on one row, then 20,000 small rows: a chunk holds at
	 * most JSON_CHUNK_CELLS values */
	size_t o = 0, cap = 600 * 40 + 20000 * 16;
	char *text = malloc(cap);
	for (int k = 0; k < 600; k++)
		o += (size_t)snprintf(text + o, cap - o, "{\"k%d\": %d}\n", k, k);
	for (int i = 0; i < 20000; i++)
		o += (size_t)snprintf(text + o, cap - o, "{\"k0\": %d}\n", i);
	struct lh_error err = { 0 };
	int fd = temp_file(text, o);
	CHECK(fd >= 0);
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(ingest_infer_fd(&ingest_format_json, fd, &s, &err), 0);
	CHECK_EQ_INT(s->ncols, 600);
	struct ArrowArrayStream st;
	CHECK_EQ_INT(s->format->batches(fd, s, &st, &err), 0);
	size_t nb = 0, total = 0;
	for (;;) {
		struct ArrowArray b;
		CHECK_EQ_INT(st.get_next(&st, &b), 0);
		if (!b.release)
			break;
		nb++;
		CHECK((uint64_t)b.length * 600 <= JSON_CHUNK_CELLS || b.length <= (int64_t)JSON_MARK_ROWS);
		total += (size_t)b.length;
		b.release(&b);
	}
	st.release(&st);
	CHECK_EQ_INT(total, 20600);
	CHECK(nb >= 20600 * 600 / JSON_CHUNK_CELLS);
	ingest_schema_destroy(s);
	close(fd);
	free(text);
}
