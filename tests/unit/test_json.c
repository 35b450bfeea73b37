/* test_json.c — request-body parsing, typed field getters, and the JSON
 * rendering of struct lh_error (ADR 0005). */
#include "test.h"

#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"

#include <stdlib.h>

TEST(json_parse_request_accepts_objects_only)
{
	struct lh_error err = { 0 };
	json_t *v = json_parse_request("{\"a\":1}", 7, &err);
	CHECK(v != NULL);
	json_decref(v);
	const char *bad[] = { "", "[1,2]", "42", "{\"a\":", "{\"a\":1,\"a\":2}", "{\"a\":\"\xff\"}" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(json_parse_request(bad[i], strlen(bad[i]), &err) == NULL);
		CHECK_EQ_INT(err.status, 400);
		CHECK_EQ_STR(err.code, "bad_json");
		lh_error_clear(&err);
	}
}

TEST(json_parse_request_depth_cap)
{
	struct lh_error err = { 0 };
	char deep[LH_JSON_MAX_DEPTH * 2 + 16];
	size_t n = 0;
	deep[n++] = '{';
	memcpy(deep + n, "\"a\":", 4);
	n += 4;
	for (int i = 0; i < LH_JSON_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < LH_JSON_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	CHECK(json_parse_request(deep, n, &err) == NULL);
	CHECK(strstr(err.msg, "deeper") != NULL);
	lh_error_clear(&err);
	/* brackets inside strings do not count */
	const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
	json_t *v = json_parse_request(s, strlen(s), &err);
	CHECK(v != NULL);
	json_decref(v);
}

TEST(json_getters_name_the_field)
{
	struct lh_error err = { 0 };
	const char *text = "{\"s\":\"x\",\"i\":-5,\"b\":true,\"a\":[1],\"n\":null}";
	json_t *o = json_parse_request(text, strlen(text), &err);
	CHECK(o != NULL);
	const char *s = NULL;
	int64_t i = 0;
	int b = 0;
	json_t *a = NULL;
	CHECK_EQ_INT(json_get_string(o, "s", 1, &s, &err), 0);
	CHECK_EQ_STR(s, "x");
	CHECK_EQ_INT(json_get_int(o, "i", 1, &i, &err), 0);
	CHECK_EQ_INT(i, -5);
	CHECK_EQ_INT(json_get_bool(o, "b", 1, &b, &err), 0);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(json_get_array(o, "a", 1, &a, &err), 0);
	CHECK_EQ_INT(json_array_size(a), 1);
	/* optional and absent (or null): untouched, no error */
	s = "keep";
	CHECK_EQ_INT(json_get_string(o, "n", 0, &s, &err), 0);
	CHECK_EQ_STR(s, "keep");
	CHECK_EQ_INT(err.status, 0);
	/* required and absent */
	CHECK_EQ_INT(json_get_string(o, "missing", 1, &s, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "field")), "missing");
	lh_error_clear(&err);
	/* wrong type */
	CHECK_EQ_INT(json_get_int(o, "s", 1, &i, &err), -1);
	CHECK(strstr(err.msg, "\"s\" must be an integer") != NULL);
	lh_error_clear(&err);
	json_decref(o);
}

TEST(json_error_rendering)
{
	struct lh_error err = { 0 };
	CHECK_EQ_INT(lh_fail(&err, 400, "bad_csv", "record has %d fields", 3), -1);
	lh_error_set(&err, "line", json_integer(7));
	/* the first failure wins */
	lh_fail(&err, 500, "internal", "later");
	json_t *o = lh_error_json(&err);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "error")), "record has 3 fields");
	CHECK_EQ_STR(json_string_value(json_object_get(o, "code")), "bad_csv");
	CHECK_EQ_INT(json_integer_value(json_object_get(o, "line")), 7);
	json_decref(o);
	lh_error_clear(&err);
	CHECK_EQ_INT(err.status, 0);
	CHECK(err.extra == NULL);
	/* an empty error still renders valid fields */
	o = lh_error_json(&err);
	CHECK_EQ_STR(json_string_value(json_object_get(o, "code")), "internal");
	json_decref(o);
}
