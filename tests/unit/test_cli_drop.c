/* test_cli_drop.c — what `lakehouse drop` accepts as a confirmation on a
 * terminal (cli_drop_confirmed, ADR 0175): the dataset's name typed again,
 * exactly; a reflexive "y", an empty line, another letter case, spaces or
 * a prefix keep the dataset. */
#include "test.h"

#include "cli/cli_int.h"

TEST(cli_drop_confirmed_needs_the_exact_name)
{
	CHECK_EQ_INT(cli_drop_confirmed("people", "people\n"), 1);
	CHECK_EQ_INT(cli_drop_confirmed("people", "people\r\n"), 1);
	CHECK_EQ_INT(cli_drop_confirmed("people", "people"), 1);   /* EOF after the name */
	CHECK_EQ_INT(cli_drop_confirmed("people", "y\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "yes\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", ""), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "PEOPLE\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", " people\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "people \n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "peopl\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "peoples\n"), 0);
	CHECK_EQ_INT(cli_drop_confirmed("people", "people\nmore\n"), 1);  /* one line is read */
}
