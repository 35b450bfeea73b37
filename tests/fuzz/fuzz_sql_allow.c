/* fuzz_sql_allow.c — libFuzzer target for the function allow-list's walk of
 * DuckDB's parse tree (sql_allow_check, src/queryd/sql_allow.c, ADR 0113) and
 * for sql_allow_explain_body.
 *
 * Invariants: the check either accepts (0, no error) or refuses with a 400
 * "forbidden_function" or "forbidden_statement" and a message; it never
 * accepts a document that is not DuckDB's success shape (an object whose
 * "error" is false and "statements" holds exactly one statement); it gives
 * the same verdict twice. The EXPLAIN offset stays within the text, and a
 * non-zero one follows the word EXPLAIN.
 */
#include "fuzz.h"

#include "common/error.h"
#include "queryd/queryd_int.h"

#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	static const char *const views[] = { "people", "pg_settings" };
	struct lh_error err = { 0 };
	int rc = sql_allow_check(text, size, views, 2, &err);
	if (rc == 0) {
		FUZZ_CHECK(err.status == 0);
		json_error_t jerr;
		json_t *doc = json_loadb(text, size, JSON_DECODE_INT_AS_REAL, &jerr);
		FUZZ_CHECK(doc != NULL);
		FUZZ_CHECK(json_is_false(json_object_get(doc, "error")));
		FUZZ_CHECK(json_array_size(json_object_get(doc, "statements")) == 1);
		json_decref(doc);
	} else {
		FUZZ_CHECK(rc == -1 && err.status == 400 && err.msg[0] != '\0');
		FUZZ_CHECK(!strcmp(err.code, "forbidden_function") ||
			   !strcmp(err.code, "forbidden_statement"));
	}
	struct lh_error again = { 0 };
	FUZZ_CHECK(sql_allow_check(text, size, views, 2, &again) == rc);
	FUZZ_CHECK(again.status == err.status && !strcmp(again.code, err.code));
	lh_error_clear(&err);
	lh_error_clear(&again);

	size_t off = sql_allow_explain_body(text, size);
	FUZZ_CHECK(off <= size);
	if (off) {
		FUZZ_CHECK(off >= 7);
		int found = 0;
		for (size_t i = 0; i + 7 <= off && !found; i++)
			found = !strncasecmp(text + i, "EXPLAIN", 7);
		FUZZ_CHECK(found);
	}
	return 0;
}
