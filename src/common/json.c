/* json.c — request-body parsing and typed field getters over jansson. */
#include "common/json.h"

#include "common/error.h"
#include "common/limits.h"

#include <stdlib.h>

/* Depth of nesting in raw JSON text, ignoring brackets inside strings. Checked
 * before parsing so a hostile body cannot drive jansson's recursion deep. */
static int json_text_too_deep(const char *buf, size_t n)
{
	int depth = 0, in_string = 0;
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > LH_JSON_MAX_DEPTH)
				return 1;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

json_t *json_parse_request(const char *buf, size_t n, struct lh_error *err)
{
	if (n == 0) {
		lh_fail(err, 400, "bad_json", "request body is empty; expected a JSON object");
		return NULL;
	}
	if (json_text_too_deep(buf, n)) {
		lh_fail(err, 400, "bad_json", "JSON nests deeper than %d levels", LH_JSON_MAX_DEPTH);
		return NULL;
	}
	json_error_t jerr;
	json_t *v = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		lh_fail(err, 400, "bad_json", "invalid JSON at line %d column %d: %s",
			jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		lh_fail(err, 400, "bad_json", "expected a JSON object");
		return NULL;
	}
	return v;
}

char *json_dump_compact(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

static json_t *field_or_fail(const json_t *obj, const char *field, int required,
			     int *absent, struct lh_error *err)
{
	json_t *v = json_object_get(obj, field);
	*absent = (v == NULL || json_is_null(v));
	if (*absent && required) {
		lh_fail(err, 400, "bad_request", "missing field \"%s\"", field);
		lh_error_set(err, "field", json_string(field));
	}
	return v;
}

static int wrong_type(const char *field, const char *type, struct lh_error *err)
{
	lh_fail(err, 400, "bad_request", "field \"%s\" must be %s", field, type);
	lh_error_set(err, "field", json_string(field));
	return -1;
}

int json_get_string(const json_t *obj, const char *field, int required,
		    const char **out, struct lh_error *err)
{
	int absent;
	json_t *v = field_or_fail(obj, field, required, &absent, err);
	if (absent)
		return required ? -1 : 0;
	if (!json_is_string(v))
		return wrong_type(field, "a string", err);
	*out = json_string_value(v);
	return 0;
}

int json_get_int(const json_t *obj, const char *field, int required,
		 int64_t *out, struct lh_error *err)
{
	int absent;
	json_t *v = field_or_fail(obj, field, required, &absent, err);
	if (absent)
		return required ? -1 : 0;
	if (!json_is_integer(v))
		return wrong_type(field, "an integer", err);
	*out = json_integer_value(v);
	return 0;
}

int json_get_bool(const json_t *obj, const char *field, int required,
		  int *out, struct lh_error *err)
{
	int absent;
	json_t *v = field_or_fail(obj, field, required, &absent, err);
	if (absent)
		return required ? -1 : 0;
	if (!json_is_boolean(v))
		return wrong_type(field, "true or false", err);
	*out = json_is_true(v);
	return 0;
}

int json_get_array(const json_t *obj, const char *field, int required,
		   json_t **out, struct lh_error *err)
{
	int absent;
	json_t *v = field_or_fail(obj, field, required, &absent, err);
	if (absent)
		return required ? -1 : 0;
	if (!json_is_array(v))
		return wrong_type(field, "an array", err);
	*out = v;
	return 0;
}
