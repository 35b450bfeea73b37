/* test_names.c — dataset name validation. */
#include "test.h"

#include "common/error.h"
#include "common/names.h"

TEST(names_valid_and_invalid)
{
	CHECK(dataset_name_valid("candidates"));
	CHECK(dataset_name_valid("_x9"));
	CHECK(dataset_name_valid("A"));
	char max[65];
	memset(max, 'a', 64);
	max[64] = '\0';
	CHECK(dataset_name_valid(max));
	char over[66];
	memset(over, 'a', 65);
	over[65] = '\0';
	CHECK(!dataset_name_valid(over));
	CHECK(!dataset_name_valid(""));
	CHECK(!dataset_name_valid(NULL));
	CHECK(!dataset_name_valid("9lives"));
	CHECK(!dataset_name_valid("a-b"));
	CHECK(!dataset_name_valid("a b"));
	CHECK(!dataset_name_valid("a@2"));
	CHECK(!dataset_name_valid("caf\xc3\xa9"));
	struct lh_error err = { 0 };
	CHECK_EQ_INT(dataset_name_check("a/b", &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_name");
	lh_error_clear(&err);
}

TEST(names_conflict_error)
{
	struct lh_error err = { 0 };
	CHECK_EQ_INT(dataset_name_conflict(&err, "SALARIES", "salaries"), -1);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "name_conflict");
	CHECK(strstr(err.msg, "\"salaries\"") != NULL);
	CHECK(strstr(err.msg, "\"SALARIES\"") != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "existing_name")), "salaries");
	lh_error_clear(&err);
}
