/* test_multipart.c — the streaming multipart/form-data parser. Every case is
 * fed whole, and byte by byte, and must give the same result. */
#include "test.h"

#include "common/error.h"
#include "common/xmalloc.h"
#include "ingestd/multipart.h"

#include <stdlib.h>

struct collected {
	char file[4096];
	size_t file_len;
	char name[64];
	char mode[64];
};

static int on_file(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	struct collected *c = ctx;
	if (c->file_len + n > sizeof c->file)
		return lh_fail(err, 413, "too_large", "test sink full");
	memcpy(c->file + c->file_len, data, n);
	c->file_len += n;
	return 0;
}

static int on_field(void *ctx, const char *name, const char *value, size_t n,
		    struct lh_error *err)
{
	struct collected *c = ctx;
	char *dst = !strcmp(name, "name") ? c->name : !strcmp(name, "mode") ? c->mode : NULL;
	if (dst && n < 64) {
		memcpy(dst, value, n);
		dst[n] = '\0';
	}
	return 0;
}

/* Parse `body` fed in pieces of `step` bytes (0 = whole). Returns the rc of
 * feed+finish; fills c and err. */
static int parse(const char *boundary, const char *body, size_t len, size_t step,
		 struct collected *c, struct lh_error *err)
{
	memset(c, 0, sizeof *c);
	struct multipart_callbacks cb = { .on_file = on_file, .on_field = on_field, .ctx = c };
	struct multipart *mp = multipart_create(boundary, &cb);
	int rc = 0;
	size_t off = 0;
	while (rc == 0 && off < len) {
		size_t n = step && len - off > step ? step : len - off;
		rc = multipart_feed(mp, body + off, n, err);
		off += n;
	}
	if (rc == 0)
		rc = multipart_finish(mp, err);
	multipart_destroy(mp);
	return rc;
}

static const char form[] =
	"preamble to ignore\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"name\"\r\n\r\n"
	"candidates\r\n"
	"--XyZ\r\n"
	"Content-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n"
	"Content-Type: text/csv\r\n\r\n"
	"id,note\r\n1,\"--XyZ is not a boundary here\r\n--Xy\"\r\n"
	"\r\n--XyZ\r\n"
	"Content-Disposition: form-data; name=\"mode\"\r\n\r\n"
	"append\r\n"
	"--XyZ--\r\nepilogue";

static const char expected_file[] =
	"id,note\r\n1,\"--XyZ is not a boundary here\r\n--Xy\"\r\n";

TEST(multipart_fields_and_file_whole_and_bytewise)
{
	size_t steps[] = { 0, 1, 2, 3, 7, 64 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct collected c;
		struct lh_error err = { 0 };
		CHECK_EQ_INT(parse("XyZ", form, sizeof form - 1, steps[i], &c, &err), 0);
		CHECK_EQ_INT(c.file_len, sizeof expected_file - 1);
		CHECK(memcmp(c.file, expected_file, c.file_len) == 0);
		CHECK_EQ_STR(c.name, "candidates");
		CHECK_EQ_STR(c.mode, "append");
	}
}

TEST(multipart_boundary_header)
{
	char b[80];
	struct lh_error err = { 0 };
	CHECK_EQ_INT(multipart_boundary("multipart/form-data; boundary=abc123", b, sizeof b, &err), 0);
	CHECK_EQ_STR(b, "abc123");
	CHECK_EQ_INT(multipart_boundary("multipart/form-data; boundary=\"a b;c\"; x=y", b, sizeof b, &err), 0);
	CHECK_EQ_STR(b, "a b;c");
	CHECK_EQ_INT(multipart_boundary("multipart/form-data", b, sizeof b, &err), -1);
	CHECK_EQ_STR(err.code, "bad_multipart");
	lh_error_clear(&err);
	char longb[200] = "multipart/form-data; boundary=";
	memset(longb + strlen(longb), 'x', 80);
	CHECK_EQ_INT(multipart_boundary(longb, b, sizeof b, &err), -1);
	lh_error_clear(&err);
}

TEST(multipart_missing_close_is_400)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc";
	struct collected c;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parse("b", body, sizeof body - 1, 0, &c, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK(strstr(err.msg, "closing boundary") != NULL);
	lh_error_clear(&err);
}

TEST(multipart_without_file_field_is_400)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n";
	struct collected c;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parse("b", body, sizeof body - 1, 1, &c, &err), -1);
	CHECK(strstr(err.msg, "no \"file\"") != NULL);
	lh_error_clear(&err);
}

TEST(multipart_two_files_is_400)
{
	static const char body[] =
		"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n1\r\n"
		"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n2\r\n--b--";
	struct collected c;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parse("b", body, sizeof body - 1, 0, &c, &err), -1);
	CHECK_EQ_STR(err.code, "bad_multipart");
	lh_error_clear(&err);
}

TEST(multipart_garbage_after_boundary_is_400)
{
	static const char body[] = "--bXX\r\n\r\n";
	struct collected c;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parse("b", body, sizeof body - 1, 0, &c, &err), -1);
	CHECK_EQ_STR(err.code, "bad_multipart");
	lh_error_clear(&err);
}

TEST(multipart_oversized_headers_is_400)
{
	size_t n = LH_MULTIPART_HEADER_MAX + 100;
	char *body = xmalloc(n + 16);
	memcpy(body, "--b\r\nX: ", 8);
	memset(body + 8, 'a', n);
	struct collected c;
	struct lh_error err = { 0 };
	int rc = parse("b", body, n + 8, 1000, &c, &err);
	free(body);
	CHECK_EQ_INT(rc, -1);
	CHECK(strstr(err.msg, "headers exceed") != NULL);
	lh_error_clear(&err);
}

TEST(multipart_empty_file_and_sink_error)
{
	static const char body[] = "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\r\n--b--\r\n";
	struct collected c;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(parse("b", body, sizeof body - 1, 1, &c, &err), 0);
	CHECK_EQ_INT(c.file_len, 0);
}

/* Found by fuzz_multipart (tests/fuzz/corpus/multipart/padding-long): more
 * than 64 bytes of transport padding after a boundary were accepted when the
 * line arrived in one chunk but rejected when split, so the verdict depended
 * on how the client's bytes were chunked. Now rejected either way. */
TEST(multipart_long_padding_rejected_whatever_the_chunking)
{
	char body[512];
	int n = snprintf(body, sizeof body, "--XyZ%100s\r\n"
			 "Content-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--XyZ--", "");
	CHECK(n > 0 && (size_t)n < sizeof body);
	size_t steps[] = { 0, 1, 70 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct collected c;
		struct lh_error err = { 0 };
		CHECK_EQ_INT(parse("XyZ", body, (size_t)n, steps[i], &c, &err), -1);
		CHECK_EQ_INT(err.status, 400);
		CHECK_EQ_STR(err.code, "bad_multipart");
		lh_error_clear(&err);
	}
	/* 64 bytes of padding are still fine. */
	n = snprintf(body, sizeof body, "--XyZ%64s\r\n"
		     "Content-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--XyZ--", "");
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		struct collected c;
		struct lh_error err = { 0 };
		CHECK_EQ_INT(parse("XyZ", body, (size_t)n, steps[i], &c, &err), 0);
		CHECK_EQ_INT(c.file_len, 1);
	}
}
