/* test_url.c — percent-encoding of URL parts. */
#include "test.h"

#include "common/url.h"

#include <stdlib.h>

TEST(url_encode_paths_and_values)
{
	char *e = url_encode("datasets/a b/x%y.parquet", 1);
	CHECK_EQ_STR(e, "datasets/a%20b/x%25y.parquet");
	free(e);
	e = url_encode("a/b&c=d", 0);
	CHECK_EQ_STR(e, "a%2Fb%26c%3Dd");
	free(e);
	e = url_encode("AZaz09-._~", 0);
	CHECK_EQ_STR(e, "AZaz09-._~");
	free(e);
	e = url_encode("caf\xc3\xa9\x01", 1);
	CHECK_EQ_STR(e, "caf%C3%A9%01");
	free(e);
	e = url_encode("", 1);
	CHECK_EQ_STR(e, "");
	free(e);
}

TEST(url_hexval_digits)
{
	CHECK_EQ_INT(url_hexval('0'), 0);
	CHECK_EQ_INT(url_hexval('9'), 9);
	CHECK_EQ_INT(url_hexval('a'), 10);
	CHECK_EQ_INT(url_hexval('F'), 15);
	CHECK_EQ_INT(url_hexval('g'), -1);
	CHECK_EQ_INT(url_hexval('%'), -1);
}
