/* fuzz_json.c — libFuzzer target for json_parse_request() and the field
 * getters (src/common/json.h).
 *
 * Invariants: the parser returns a JSON object and no error, or NULL and a
 * 400 "bad_json" with a message; an accepted object nests at most
 * LH_JSON_MAX_DEPTH levels, serialises, and re-parses to an equal value;
 * each getter, on each field of it, returns 0 or a 400 "bad_request" that
 * names the field, and its result agrees with the field's JSON type.
 */
#include "fuzz.h"

#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"

#include <string.h>

static int depth_of(const json_t *v)
{
	int max = 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c) {
			int d = depth_of(c);
			max = d > max ? d : max;
		}
		return max + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) {
			int d = depth_of(c);
			max = d > max ? d : max;
		}
		return max + 1;
	}
	return 0;
}

/* A getter's verdict on `field`: 0 with the expected type, else a 400
 * bad_request naming the field. */
static void check_getter(int rc, int type_ok, const char *field, struct lh_error *err)
{
	if (type_ok) {
		FUZZ_CHECK(rc == 0 && err->status == 0);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err->status == 400 && strcmp(err->code, "bad_request") == 0);
		json_t *f = err->extra ? json_object_get(err->extra, "field") : NULL;
		FUZZ_CHECK(f && json_is_string(f) && strcmp(json_string_value(f), field) == 0);
	}
	lh_error_clear(err);
}

static void check_getters(const json_t *obj)
{
	const char *key;
	json_t *v;
	struct lh_error err = { 0 };
	json_object_foreach((json_t *)obj, key, v) {
		if (json_is_null(v))
			continue;   /* null reads as absent */
		const char *s = NULL;
		int64_t i = 0;
		int b = 0;
		json_t *a = NULL;
		int rc = json_get_string(obj, key, 1, &s, &err);
		check_getter(rc, json_is_string(v), key, &err);
		if (rc == 0)
			FUZZ_CHECK(s == json_string_value(v));
		rc = json_get_int(obj, key, 1, &i, &err);
		check_getter(rc, json_is_integer(v), key, &err);
		if (rc == 0)
			FUZZ_CHECK(i == json_integer_value(v));
		rc = json_get_bool(obj, key, 1, &b, &err);
		check_getter(rc, json_is_boolean(v), key, &err);
		if (rc == 0)
			FUZZ_CHECK(b == json_is_true(v));
		rc = json_get_array(obj, key, 1, &a, &err);
		check_getter(rc, json_is_array(v), key, &err);
		if (rc == 0)
			FUZZ_CHECK(a == v);
	}
	/* A field that is not there: optional is fine, required is an error. */
	const char *s = "untouched";
	FUZZ_CHECK(json_object_get(obj, "\x01missing") == NULL);
	FUZZ_CHECK(json_get_string(obj, "\x01missing", 0, &s, &err) == 0);
	FUZZ_CHECK(err.status == 0 && strcmp(s, "untouched") == 0);
	FUZZ_CHECK(json_get_string(obj, "\x01missing", 1, &s, &err) == -1);
	FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_request") == 0);
	lh_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_error err = { 0 };
	json_t *v = json_parse_request((const char *)data, size, &err);
	if (!v) {
		FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_json") == 0);
		FUZZ_CHECK(err.msg[0] != '\0');
		lh_error_clear(&err);
		return 0;
	}
	FUZZ_CHECK(err.status == 0);
	FUZZ_CHECK(json_is_object(v));
	FUZZ_CHECK(depth_of(v) <= LH_JSON_MAX_DEPTH);

	char *text = json_dump_compact(v);
	FUZZ_CHECK(text != NULL);
	json_t *again = json_parse_request(text, strlen(text), &err);
	FUZZ_CHECK(again != NULL && err.status == 0);
	FUZZ_CHECK(json_equal(v, again));
	json_decref(again);
	free(text);

	check_getters(v);
	json_decref(v);
	return 0;
}
