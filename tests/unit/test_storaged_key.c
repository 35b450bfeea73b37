/* test_storaged_key.c — unit tests of object key validation
 * (src/common/keys.c) and storaged's Range header parsing
 * (src/storaged/range.c). */
#include "test.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/keys.h"
#include "storaged/range.h"

#include <stdlib.h>

/* Validate a NUL-terminated key; returns 0/-1 and checks the error shape. */
static int check_key(const char *key)
{
	struct lh_error err = {0};
	int rc = storage_key_validate(key, strlen(key), &err);
	if (rc == 0 && err.status != 0)
		rc = 99;
	if (rc == -1 && (err.status != 400 || strcmp(err.code, "bad_key") != 0 || !err.msg[0]))
		rc = 98;
	lh_error_clear(&err);
	return rc;
}

TEST(storaged_key_valid)
{
	CHECK_EQ_INT(check_key("a"), 0);
	CHECK_EQ_INT(check_key("datasets/candidates/abc.parquet"), 0);
	CHECK_EQ_INT(check_key("a/b/c/d/e/f"), 0);
	CHECK_EQ_INT(check_key("..."), 0);
	CHECK_EQ_INT(check_key(".hidden"), 0);
	CHECK_EQ_INT(check_key("a/.b/..c/c.."), 0);
	CHECK_EQ_INT(check_key("with space/and+plus%20"), 0);
	CHECK_EQ_INT(check_key("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80"), 0);
	CHECK_EQ_INT(check_key("\xc2\xa0"), 0);           /* U+00A0, first non-C1 */
	CHECK_EQ_INT(check_key("\xed\x9f\xbf"), 0);       /* U+D7FF */
	CHECK_EQ_INT(check_key("\xee\x80\x80"), 0);       /* U+E000 */
	CHECK_EQ_INT(check_key("\xf4\x8f\xbf\xbf"), 0);   /* U+10FFFF */
	CHECK_EQ_INT(check_key("~"), 0);
}

TEST(storaged_key_empty_and_length)
{
	struct lh_error err = {0};
	CHECK_EQ_INT(check_key(""), -1);
	CHECK_EQ_INT(storage_key_validate(NULL, 0, &err), -1);
	lh_error_clear(&err);

	char *k = malloc(LH_KEY_MAX_BYTES + 2);
	memset(k, 'x', LH_KEY_MAX_BYTES + 1);
	k[LH_KEY_MAX_BYTES] = '\0';
	int at_max = check_key(k);
	k[LH_KEY_MAX_BYTES] = 'x';
	k[LH_KEY_MAX_BYTES + 1] = '\0';
	int over = check_key(k);
	free(k);
	CHECK_EQ_INT(at_max, 0);
	CHECK_EQ_INT(over, -1);
}

TEST(storaged_key_multibyte_at_limit)
{
	/* 1023 ASCII bytes + a 2-byte character = 1025 bytes: too long. */
	char k[LH_KEY_MAX_BYTES + 2];
	memset(k, 'x', sizeof k);
	k[LH_KEY_MAX_BYTES - 1] = '\xc3';
	k[LH_KEY_MAX_BYTES] = '\xa9';
	k[LH_KEY_MAX_BYTES + 1] = '\0';
	CHECK_EQ_INT(check_key(k), -1);
	/* A 2-byte character ending exactly at byte 1024 is fine. */
	k[LH_KEY_MAX_BYTES - 2] = '\xc3';
	k[LH_KEY_MAX_BYTES - 1] = '\xa9';
	k[LH_KEY_MAX_BYTES] = '\0';
	CHECK_EQ_INT(check_key(k), 0);
	/* A character cut by the end of the key is invalid. */
	k[LH_KEY_MAX_BYTES - 1] = '\0';
	CHECK_EQ_INT(check_key(k), -1);
}

TEST(storaged_key_segments)
{
	CHECK_EQ_INT(check_key("/a"), -1);
	CHECK_EQ_INT(check_key("/"), -1);
	CHECK_EQ_INT(check_key("a/"), -1);
	CHECK_EQ_INT(check_key("a//b"), -1);
	CHECK_EQ_INT(check_key("//"), -1);
	CHECK_EQ_INT(check_key("."), -1);
	CHECK_EQ_INT(check_key(".."), -1);
	CHECK_EQ_INT(check_key("./a"), -1);
	CHECK_EQ_INT(check_key("../a"), -1);
	CHECK_EQ_INT(check_key("a/.."), -1);
	CHECK_EQ_INT(check_key("a/./b"), -1);
	CHECK_EQ_INT(check_key("a/../../etc/passwd"), -1);
	CHECK_EQ_INT(check_key("/etc/passwd"), -1);
}

TEST(storaged_key_control_characters)
{
	char k[4] = "a?b";
	for (int c = 1; c < 0x20; c++) {
		k[1] = (char)c;
		CHECK_EQ_INT(check_key(k), -1);
	}
	k[1] = 0x7f;
	CHECK_EQ_INT(check_key(k), -1);
	CHECK_EQ_INT(check_key("a\xc2\x80"), -1);   /* U+0080, C1 control */
	CHECK_EQ_INT(check_key("a\xc2\x9f"), -1);   /* U+009F */
	CHECK_EQ_INT(check_key("tab\there"), -1);
	CHECK_EQ_INT(check_key("new\nline"), -1);

	/* An embedded NUL is caught even though strlen would stop there. */
	struct lh_error err = {0};
	CHECK_EQ_INT(storage_key_validate("a\0b", 3, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
}

TEST(storaged_key_invalid_utf8)
{
	CHECK_EQ_INT(check_key("\xff"), -1);
	CHECK_EQ_INT(check_key("\xfe"), -1);
	CHECK_EQ_INT(check_key("a\x80"), -1);            /* lone continuation */
	CHECK_EQ_INT(check_key("\xc3"), -1);             /* truncated */
	CHECK_EQ_INT(check_key("\xc3/a"), -1);           /* truncated by '/' */
	CHECK_EQ_INT(check_key("\xc0\xaf"), -1);         /* overlong '/' */
	CHECK_EQ_INT(check_key("\xc1\xbf"), -1);         /* overlong */
	CHECK_EQ_INT(check_key("\xe0\x80\xaf"), -1);     /* overlong 3-byte */
	CHECK_EQ_INT(check_key("\xe0\x9f\xbf"), -1);     /* overlong 3-byte */
	CHECK_EQ_INT(check_key("\xf0\x80\x80\xaf"), -1); /* overlong 4-byte */
	CHECK_EQ_INT(check_key("\xf0\x8f\xbf\xbf"), -1); /* overlong 4-byte */
	CHECK_EQ_INT(check_key("\xed\xa0\x80"), -1);     /* U+D800 surrogate */
	CHECK_EQ_INT(check_key("\xed\xbf\xbf"), -1);     /* U+DFFF surrogate */
	CHECK_EQ_INT(check_key("\xf4\x90\x80\x80"), -1); /* U+110000 */
	CHECK_EQ_INT(check_key("\xf5\x80\x80\x80"), -1);
	CHECK_EQ_INT(check_key("\xe6\x97"), -1);         /* truncated 3-byte */
	CHECK_EQ_INT(check_key("\xe6\x97x"), -1);
	CHECK_EQ_INT(check_key("\xf0\x9f\x98"), -1);     /* truncated 4-byte */
}

TEST(storaged_key_error_message)
{
	struct lh_error err = {0};
	CHECK_EQ_INT(storage_key_validate("a/../b", 6, &err), -1);
	CHECK_EQ_STR(err.code, "bad_key");
	CHECK(strstr(err.msg, "..") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(storage_key_validate("ab\xff", 3, &err), -1);
	CHECK(strstr(err.msg, "UTF-8") != NULL);
	CHECK(strstr(err.msg, "byte 2") != NULL);
	lh_error_clear(&err);
}

/* Range: returns the enum and fills off/len, or leaves them at 77. */
static int range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	*off = 77;
	*len = 77;
	return (int)storage_range_parse(h, size, off, len);
}

TEST(storaged_range_single)
{
	uint64_t off, len;
	CHECK_EQ_INT(range("bytes=0-9", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 0);
	CHECK_EQ_INT(len, 10);
	CHECK_EQ_INT(range("bytes=10-", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 10);
	CHECK_EQ_INT(len, 90);
	CHECK_EQ_INT(range("bytes=-5", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 95);
	CHECK_EQ_INT(len, 5);
	CHECK_EQ_INT(range("bytes=-500", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 0);
	CHECK_EQ_INT(len, 100);
	CHECK_EQ_INT(range("bytes=50-5000", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 50);
	CHECK_EQ_INT(len, 50);
	CHECK_EQ_INT(range("bytes=99-99", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 99);
	CHECK_EQ_INT(len, 1);
	CHECK_EQ_INT(range("Bytes = 1-2 ", 100, &off, &len), STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(off, 1);
	CHECK_EQ_INT(len, 2);
	CHECK_EQ_INT(range("bytes=0-99999999999999999999999", 100, &off, &len),
		     STORAGE_RANGE_PARTIAL);
	CHECK_EQ_INT(len, 100);
}

TEST(storaged_range_unsatisfiable)
{
	uint64_t off, len;
	CHECK_EQ_INT(range("bytes=100-", 100, &off, &len), STORAGE_RANGE_UNSATISFIABLE);
	CHECK_EQ_INT(range("bytes=100-200", 100, &off, &len), STORAGE_RANGE_UNSATISFIABLE);
	CHECK_EQ_INT(range("bytes=-0", 100, &off, &len), STORAGE_RANGE_UNSATISFIABLE);
	CHECK_EQ_INT(range("bytes=0-", 0, &off, &len), STORAGE_RANGE_UNSATISFIABLE);
	CHECK_EQ_INT(range("bytes=-1", 0, &off, &len), STORAGE_RANGE_UNSATISFIABLE);
	CHECK_EQ_INT(range("bytes=99999999999999999999999-", 100, &off, &len),
		     STORAGE_RANGE_UNSATISFIABLE);
	CHECK_EQ_INT(off, 77);
}

TEST(storaged_range_ignored)
{
	uint64_t off, len;
	CHECK_EQ_INT(range(NULL, 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=0-1,5-6", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=5-1", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=-", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=a-b", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("items=0-1", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes 0-1", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=0-1x", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=+1-2", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(range("bytes=--1", 100, &off, &len), STORAGE_RANGE_NONE);
	CHECK_EQ_INT(off, 77);
}
