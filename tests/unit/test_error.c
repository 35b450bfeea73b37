/* test_error.c — struct lh_error's two audiences (ADR 0130): the message the
 * client is told and the log-only detail that lh_error_rephrase keeps. */
#include "test.h"

#include "common/error.h"

#include <stdlib.h>

TEST(error_rephrase_keeps_the_cause_for_the_log)
{
	struct lh_error err = { 0 };
	lh_fail(&err, 502, "upstream_unavailable",
		"http://127.0.0.1:9/storage/get/k failed: Couldn't connect to server");
	lh_error_rephrase(&err, "the object store is not reachable");
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_unavailable");
	CHECK_EQ_STR(err.msg, "the object store is not reachable");
	CHECK_EQ_STR(err.detail,
		     "http://127.0.0.1:9/storage/get/k failed: Couldn't connect to server");
	/* a second rephrase keeps the first cause, not the plain words between */
	lh_error_rephrase(&err, "the object store closed the connection after %d bytes", 10);
	CHECK_EQ_STR(err.msg, "the object store closed the connection after 10 bytes");
	CHECK(strncmp(err.detail, "http://127.0.0.1:9/", 19) == 0);
	/* the response carries the words only */
	json_t *j = lh_error_json(&err);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(strstr(text, "127.0.0.1") == NULL);
	free(text);
	json_decref(j);
	lh_error_clear(&err);
	CHECK_EQ_STR(err.detail, "");

	/* nothing to rephrase or detail on an empty error */
	lh_error_rephrase(&err, "x");
	lh_error_detail(&err, "y");
	CHECK_EQ_INT(err.status, 0);
	CHECK_EQ_STR(err.msg, "");
	CHECK_EQ_STR(err.detail, "");
}

TEST(error_detail_appends_and_caps)
{
	struct lh_error err = { 0 };
	lh_fail(&err, 500, "internal", "could not write the cache");
	lh_error_detail(&err, "write %s: %s", "/c/x", "No space left on device");
	lh_error_detail(&err, "attempt %d", 2);
	CHECK_EQ_STR(err.detail, "write /c/x: No space left on device; attempt 2");
	char big[1000];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	lh_error_detail(&err, "%s", big);
	CHECK_EQ_INT(strlen(err.detail), sizeof err.detail - 1);
	lh_error_detail(&err, "more");   /* full: kept as it is */
	CHECK_EQ_INT(strlen(err.detail), sizeof err.detail - 1);
	CHECK(strncmp(err.detail, "write /c/x", 10) == 0);
	lh_error_clear(&err);
}

/* A message that is not valid UTF-8 (a name cut mid-character by "%.64s")
 * still reaches the client: the bad bytes become '?', the rest stays. */
TEST(error_json_keeps_a_message_cut_mid_character)
{
	struct lh_error err = { 0 };
	/* "é" is C3 A9: cut after C3, then a lone continuation byte, a surrogate
	 * (ED A0 80) and an overlong '/' (C0 AF) */
	lh_fail(&err, 400, "bad_header", "header \"a\xc3\xa9\xc3\" x\xa9 \xed\xa0\x80 \xc0\xaf end");
	json_t *j = lh_error_json(&err);
	const char *msg = json_string_value(json_object_get(j, "error"));
	CHECK(msg != NULL);
	CHECK_EQ_STR(msg, "header \"a\xc3\xa9?\" x? ??? ?? end");
	CHECK_EQ_STR(json_string_value(json_object_get(j, "code")), "bad_header");
	json_decref(j);
	lh_error_clear(&err);
}
