/* fuzz_s3xml.c — libFuzzer target for the S3 backend's pure helpers
 * (src/storaged/s3_xml.h): the ListObjectsV2 reader, element text and URL
 * encoding.
 *
 * The input is an S3 answer. Invariants: s3_list_parse never reads past
 * `len` (exact-size copy under ASan), returns 0 or -1 with 502
 * "upstream_failed"; on success every key is a C string no longer than the
 * input with no C0 control but tab/LF/CR, and a truncated page has a
 * continuation token; two parses agree. s3_xml_text gives the same kind of
 * text. s3_url_encode of the input (up to its first NUL) uses only
 * unreserved bytes, '%XX' and (if kept) '/', and decodes back to the input.
 */
#include "fuzz.h"

#include "common/error.h"
#include "storaged/s3_xml.h"

#include <string.h>

static void check_text(const char *t, size_t max)
{
	size_t n = strlen(t);
	FUZZ_CHECK(n <= max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		FUZZ_CHECK(c >= 0x20 || c == '\t' || c == '\n' || c == '\r');
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void check_encode(const char *s, int keep_slash)
{
	char *e = s3_url_encode(s, keep_slash);
	size_t n = strlen(e), j = 0;
	char *back = malloc(n + 1);
	FUZZ_CHECK(back);
	for (size_t i = 0; i < n; i++) {
		char c = e[i];
		if (c == '%') {
			FUZZ_CHECK(i + 2 < n + 1 && hexval(e[i + 1]) >= 0 && hexval(e[i + 2]) >= 0);
			back[j++] = (char)(hexval(e[i + 1]) * 16 + hexval(e[i + 2]));
			i += 2;
			continue;
		}
		FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_' || c == '.' || c == '~' || (c == '/' && keep_slash));
		back[j++] = c;
	}
	back[j] = '\0';
	FUZZ_CHECK(strcmp(back, s) == 0);
	free(back);
	free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml = malloc(size ? size : 1);   /* exact size: reads past it trap */
	FUZZ_CHECK(xml);
	memcpy(xml, data, size);

	struct s3_list_page p, q;
	struct lh_error err = { 0 }, err2 = { 0 };
	int rc = s3_list_parse(xml, size, &p, &err);
	int rc2 = s3_list_parse(xml, size, &q, &err2);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc == rc2);
	if (rc) {
		FUZZ_CHECK(err.status == 502 && !strcmp(err.code, "upstream_failed") && err.msg[0]);
	} else {
		FUZZ_CHECK(err.status == 0);
		FUZZ_CHECK(!p.truncated || p.next_token);
		FUZZ_CHECK(p.n == q.n && p.truncated == q.truncated);
		for (size_t i = 0; i < p.n; i++) {
			check_text(p.entries[i].key, size);
			FUZZ_CHECK(!strcmp(p.entries[i].key, q.entries[i].key));
			FUZZ_CHECK(p.entries[i].size == q.entries[i].size);
		}
		if (p.next_token)
			check_text(p.next_token, size);
	}
	s3_list_page_free(&p);
	s3_list_page_free(&q);
	lh_error_clear(&err);
	lh_error_clear(&err2);

	static const char *const names[] = { "Key", "Code", "UploadId", "Message", "C" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *t = s3_xml_text(xml, size, names[i]);
		if (t)
			check_text(t, size);
		free(t);
	}

	char *s = malloc(size + 1);
	FUZZ_CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	check_encode(s, 1);
	check_encode(s, 0);
	free(s);
	free(xml);
	return 0;
}
