/* test_buf.c — the capped growable buffer. */
#include "test.h"

#include "common/buf.h"

#include <stdlib.h>

TEST(buf_grows_to_its_cap_and_no_further)
{
	struct lh_buf b;
	lh_buf_init(&b, 10000);
	char chunk[3000];
	memset(chunk, 'x', sizeof chunk);
	CHECK_EQ_INT(lh_buf_append(&b, chunk, 3000), 0);
	CHECK_EQ_INT(lh_buf_append(&b, chunk, 3000), 0);
	CHECK_EQ_INT(lh_buf_append(&b, chunk, 3000), 0);
	CHECK_EQ_INT(b.len, 9000);
	CHECK(b.data[9000] == '\0');
	CHECK_EQ_INT(lh_buf_append(&b, chunk, 1001), -1);   /* refused, unchanged */
	CHECK_EQ_INT(b.len, 9000);
	CHECK_EQ_INT(lh_buf_append(&b, chunk, 1000), 0);    /* exactly the cap */
	CHECK_EQ_INT(b.len, 10000);
	CHECK_EQ_INT(lh_buf_append(&b, chunk, 1), -1);
	char *s = lh_buf_take(&b);
	CHECK_EQ_INT(strlen(s), 10000);
	CHECK(b.data == NULL && b.len == 0 && b.max == 10000);
	free(s);
}

TEST(buf_take_empty_is_empty_string)
{
	struct lh_buf b;
	lh_buf_init(&b, 5);
	char *s = lh_buf_take(&b);
	CHECK_EQ_STR(s, "");
	free(s);
	CHECK_EQ_INT(lh_buf_append(&b, "hello", 5), 0);
	CHECK_EQ_STR(b.data, "hello");
	lh_buf_free(&b);
	CHECK(b.data == NULL);
}

TEST(buf_extend_counts_room_for_the_caller_to_fill)
{
	struct lh_buf b;
	lh_buf_init(&b, 10000);
	CHECK_EQ_INT(lh_buf_append(&b, "ab", 2), 0);
	char *p = lh_buf_extend(&b, 5000);
	CHECK(p == b.data + 2);
	memset(p, 'y', 5000);
	CHECK_EQ_INT(b.len, 5002);
	CHECK(b.data[5002] == '\0');
	CHECK(b.data[0] == 'a' && b.data[5001] == 'y');
	CHECK(lh_buf_extend(&b, 4999) == NULL);             /* one past the cap */
	CHECK_EQ_INT(b.len, 5002);
	CHECK(lh_buf_extend(&b, 4998) != NULL);             /* exactly the cap */
	CHECK_EQ_INT(b.len, 10000);
	CHECK(lh_buf_extend(&b, 1) == NULL);                /* refused, unchanged */
	CHECK_EQ_INT(b.len, 10000);
	CHECK(lh_buf_extend(&b, 0) == b.data + 10000);
	lh_buf_free(&b);
}
