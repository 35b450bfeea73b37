/* fuzz_json.c — libFuzzer target for json_parse_request() and the field
 * getters (src/common/json.h), and for what reads a parsed request: catalogd's
 * register-request parser (catalog_request_parse, src/catalogd/catalog.h).
 *
 * Invariants: the parser returns a JSON object and no error, or NULL and a
 * 400 "bad_json" with a message; an accepted object nests at most
 * LH_JSON_MAX_DEPTH levels, serialises, and re-parses to an equal value;
 * each getter, on each field of it, returns 0 or a 400 "bad_request" that
 * names the field, and its result agrees with the field's JSON type.
 * A register request is either a 400 with a code (and a "field" for
 * bad_request) or a version 0 whose name, fingerprint (recomputed), column
 * types, object keys (storaged's rule), digests and totals are all valid.
 */
#include "fuzz.h"

#include "catalogd/catalog.h"
#include "common/error.h"
#include "common/json.h"
#include "common/keys.h"
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

static void check_register(const json_t *body)
{
	struct lh_error err = { 0 };
	struct catalog_version *v = catalog_request_parse(body, &err);
	if (!v) {
		FUZZ_CHECK(err.status == 400 && err.code[0] != '\0' && err.msg[0] != '\0');
		if (!strcmp(err.code, "bad_request")) {
			json_t *f = json_object_get(err.extra, "field");
			FUZZ_CHECK(f && json_is_string(f) && json_string_length(f) > 0);
		}
		lh_error_clear(&err);
		return;
	}
	FUZZ_CHECK(err.status == 0);
	FUZZ_CHECK(v->version == 0 && v->name[0] != '\0');
	FUZZ_CHECK(v->mode == CATALOG_REPLACE || v->mode == CATALOG_APPEND);
	FUZZ_CHECK(v->ncolumns >= 1 && catalog_fingerprint_valid(v->fingerprint));
	char fp[CATALOG_FP_LEN + 1];
	catalog_schema_fingerprint(v->columns, v->ncolumns, fp);
	FUZZ_CHECK(strcmp(fp, v->fingerprint) == 0);
	for (size_t i = 0; i < v->ncolumns; i++)
		FUZZ_CHECK(v->columns[i].name[0] != '\0' && catalog_type_valid(v->columns[i].type));
	int64_t rows = 0, bytes = 0;
	for (size_t i = 0; i < v->nobjects; i++) {
		const struct catalog_object *o = &v->objects[i];
		FUZZ_CHECK(storage_key_validate(o->key, strlen(o->key), &err) == 0);
		FUZZ_CHECK(o->size >= 0 && o->row_count >= 0 && catalog_hex64_valid(o->sha256));
		FUZZ_CHECK(o->row_count <= INT64_MAX - rows && o->size <= INT64_MAX - bytes);
		rows += o->row_count;
		bytes += o->size;
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(v->objects[j].key, o->key) != 0);
	}
	FUZZ_CHECK(rows == v->row_count && bytes == v->size_bytes);
	catalog_version_destroy(v);
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
	check_register(v);
	json_decref(v);
	return 0;
}
