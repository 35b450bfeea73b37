/* test_random.c — common/random.c: kernel randomness and random names. */
#include "test.h"

#include "common/random.h"

static int all_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

TEST(random_hex_shape)
{
	char a[2 * 100 + 1], b[2 * 100 + 1];   /* more than one 64-byte round */
	CHECK_EQ_INT(random_hex(a, 100), 0);
	CHECK_EQ_INT(random_hex(b, 100), 0);
	CHECK(all_hex(a, 200));
	CHECK(all_hex(b, 200));
	CHECK(strcmp(a, b) != 0);
	char one[3];
	CHECK_EQ_INT(random_hex(one, 1), 0);
	CHECK(all_hex(one, 2));
	char none[1] = { 'x' };
	CHECK_EQ_INT(random_hex(none, 0), 0);
	CHECK_EQ_STR(none, "");
}

TEST(random_bytes_fills)
{
	unsigned char buf[4096] = { 0 };
	CHECK_EQ_INT(random_bytes(buf, sizeof buf), 0);
	size_t zeros = 0;
	for (size_t i = 0; i < sizeof buf; i++)
		zeros += buf[i] == 0;
	CHECK(zeros < 100);   /* about 16 expected */
}

TEST(random_name_shape_and_uniqueness)
{
	char a[2 * 12 + 1], b[2 * 12 + 1];
	random_name(a, 12);
	random_name(b, 12);
	CHECK(all_hex(a, 24));
	CHECK(strcmp(a, b) != 0);
	/* without the kernel: still the shape, still a new name each call,
	 * across more than one 8-byte word */
	char f1[2 * 20 + 1], f2[2 * 20 + 1];
	random_name_fallback(f1, 20);
	random_name_fallback(f2, 20);
	CHECK(all_hex(f1, 40));
	CHECK(all_hex(f2, 40));
	CHECK(strcmp(f1, f2) != 0);
	CHECK(strncmp(f1, f1 + 16, 16) != 0);
}
