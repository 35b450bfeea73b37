/* test_manifest.c — src/common/manifest.c: the manifest codec every reader
 * and catalogd's writer share (ADR 0130). Round trips, missing fields, wrong
 * types, strings too long for their buffers, summaries of both lists, and
 * the reference count. */
#include "test.h"

#include "common/error.h"
#include "common/manifest.h"

#include <stdlib.h>

#define FP "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static const char *const full =
	"{\"name\":\"trips\",\"version\":3,\"schema_fingerprint\":\"" FP "\","
	"\"schema\":[{\"name\":\"id\",\"type\":\"int64\",\"nullable\":false},"
	"{\"name\":\"city\",\"type\":\"utf8\",\"nullable\":true}],"
	"\"objects\":[{\"key\":\"datasets/trips/a.parquet\",\"size\":100,\"row_count\":7,"
	"\"content_sha256\":\"" SHA "\"},"
	"{\"key\":\"datasets/trips/b.parquet\",\"size\":50,\"row_count\":3,"
	"\"content_sha256\":\"" SHA "\"}],"
	"\"row_count\":10,\"size_bytes\":150,\"mode\":\"append\","
	"\"created_at\":\"2026-01-02T03:04:05.678Z\",\"updated_at\":\"2026-02-03T04:05:06.789Z\"}";

static json_t *parse(const char *text)
{
	return json_loads(text, 0, NULL);
}

/* Decode `text`; the error's message when it fails, else NULL. */
static struct manifest *decode(const char *text, struct lh_error *err)
{
	json_t *j = parse(text);
	struct manifest *m = manifest_from_json(j, err);
	json_decref(j);
	return m;
}

TEST(manifest_decodes_every_field)
{
	struct lh_error err = { 0 };
	struct manifest *m = decode(full, &err);
	CHECK(m != NULL);
	CHECK_EQ_STR(m->name, "trips");
	CHECK_EQ_INT(m->version, 3);
	CHECK_EQ_STR(m->fingerprint, FP);
	CHECK_EQ_INT(m->ncolumns, 2);
	CHECK_EQ_STR(m->columns[1].name, "city");
	CHECK_EQ_STR(m->columns[1].type, "utf8");
	CHECK_EQ_INT(m->columns[0].nullable, 0);
	CHECK_EQ_INT(m->columns[1].nullable, 1);
	CHECK_EQ_INT(m->nobjects, 2);
	CHECK_EQ_STR(m->objects[0].key, "datasets/trips/a.parquet");
	CHECK_EQ_INT(m->objects[0].size, 100);
	CHECK_EQ_INT(m->objects[1].row_count, 3);
	CHECK_EQ_STR(m->objects[1].content_sha256, SHA);
	CHECK_EQ_INT(m->row_count, 10);
	CHECK_EQ_INT(m->size_bytes, 150);
	CHECK_EQ_STR(m->mode, "append");
	CHECK_EQ_STR(m->created_at, "2026-01-02T03:04:05.678Z");
	CHECK_EQ_STR(m->updated_at, "2026-02-03T04:05:06.789Z");
	manifest_unref(m);
}

TEST(manifest_round_trip_is_exact)
{
	struct lh_error err = { 0 };
	json_t *in = parse(full);
	struct manifest *m = manifest_from_json(in, &err);
	CHECK(m != NULL);
	json_t *out = manifest_to_json(m);
	CHECK(json_equal(in, out));
	/* the same bytes in the same order as catalogd wrote them */
	char *a = json_dumps(in, JSON_COMPACT), *b = json_dumps(out, JSON_COMPACT);
	CHECK_EQ_STR(b, a);
	free(a);
	free(b);
	/* and once more through the decoder */
	struct manifest *m2 = manifest_from_json(out, &err);
	CHECK(m2 != NULL);
	json_t *out2 = manifest_to_json(m2);
	CHECK(json_equal(out, out2));
	json_decref(out2);
	manifest_unref(m2);
	json_decref(out);
	json_decref(in);
	manifest_unref(m);
}

TEST(manifest_optional_fields)
{
	struct lh_error err = { 0 };
	/* no size_bytes, mode or times: the sum of the sizes; nothing invented */
	struct manifest *m = decode("{\"name\":\"a\",\"version\":1,\"schema_fingerprint\":\"" FP
				    "\",\"schema\":[{\"name\":\"x\",\"type\":\"int64\"}],"
				    "\"objects\":[{\"key\":\"k1\",\"size\":4,\"row_count\":1,"
				    "\"content_sha256\":\"ab\"},{\"key\":\"k2\",\"size\":6,"
				    "\"row_count\":1,\"content_sha256\":\"cd\"}],\"row_count\":2}",
				    &err);
	CHECK(m != NULL);
	CHECK_EQ_INT(m->size_bytes, 10);
	CHECK_EQ_INT(m->columns[0].nullable, 0);
	CHECK_EQ_STR(m->mode, "");
	json_t *j = manifest_to_json(m);
	CHECK(json_object_get(j, "mode") == NULL);
	CHECK(json_object_get(j, "created_at") == NULL);
	CHECK(json_object_get(j, "updated_at") == NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "size_bytes")), 10);
	json_decref(j);
	manifest_unref(m);
	/* an empty dataset version: no columns, no objects */
	m = decode("{\"name\":\"e\",\"version\":1,\"schema_fingerprint\":\"" FP "\",\"schema\":[],"
		   "\"objects\":[],\"row_count\":0}", &err);
	CHECK(m != NULL);
	CHECK_EQ_INT(m->ncolumns + m->nobjects, 0);
	manifest_unref(m);
}

/* Each case: a field removed or replaced in `full`, and the error's start. */
TEST(manifest_missing_fields_and_wrong_types)
{
	static const struct {
		const char *field;      /* a top-level field to drop or replace */
		const char *value;      /* its new JSON text, NULL = drop it */
		const char *msg;
	} cases[] = {
		{ "name", NULL, "name: missing" },
		{ "name", "7", "name: not a string" },
		{ "name", "\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\"",
		  "name: too long" },
		{ "name", "\"a\\u0000b\"", "name: holds a NUL character" },
		{ "version", NULL, "version: missing" },
		{ "version", "\"3\"", "version: not an integer" },
		{ "version", "3.5", "version: not an integer" },
		{ "schema_fingerprint", NULL, "schema_fingerprint: missing" },
		{ "schema_fingerprint", "\"" FP "0\"", "schema_fingerprint: too long" },
		{ "schema", NULL, "schema: missing" },
		{ "schema", "{}", "schema: not an array" },
		{ "schema", "[1]", "schema[0]: not an object" },
		{ "schema", "[{\"name\":\"x\"}]", "schema[0].type: missing" },
		{ "schema", "[{\"name\":\"x\",\"type\":\"int64\",\"nullable\":\"yes\"}]",
		  "schema[0].nullable: not a boolean" },
		{ "objects", NULL, "objects: missing" },
		{ "objects", "null", "objects: not an array" },
		{ "objects", "[{\"key\":\"k\",\"size\":1,\"row_count\":1}]",
		  "objects[0].content_sha256: missing" },
		{ "objects", "[{\"key\":\"k\",\"size\":\"1\",\"row_count\":1,\"content_sha256\":\"a\"}]",
		  "objects[0].size: not an integer" },
		{ "objects", "[{\"key\":null,\"size\":1,\"row_count\":1,\"content_sha256\":\"a\"}]",
		  "objects[0].key: not a string" },
		{ "objects", "[{\"key\":\"k\",\"size\":1,\"row_count\":1,\"content_sha256\":\""
		  SHA "0\"}]", "objects[0].content_sha256: too long" },
		{ "row_count", NULL, "row_count: missing" },
		{ "row_count", "true", "row_count: not an integer" },
		{ "size_bytes", "\"150\"", "size_bytes: not an integer" },
		{ "mode", "\"sometimes\"", "mode: too long" },
		{ "created_at", "0", "created_at: not a string" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct lh_error err = { 0 };
		json_t *j = parse(full);
		if (cases[i].value)
			json_object_set_new(j, cases[i].field, json_loads(cases[i].value,
									  JSON_DECODE_ANY |
									  JSON_ALLOW_NUL, NULL));
		else
			json_object_del(j, cases[i].field);
		struct manifest *m = manifest_from_json(j, &err);
		json_decref(j);
		if (m || err.status != 502 || strcmp(err.code, "upstream_failed") ||
		    strcmp(err.msg, cases[i].msg)) {
			fprintf(stderr, "  case %zu (%s): got \"%s\"\n", i, cases[i].field, err.msg);
			manifest_unref(m);
			CHECK(0);
		}
		lh_error_clear(&err);
	}
	/* not an object at all */
	struct lh_error err = { 0 };
	json_t *arr = json_array();
	CHECK(manifest_from_json(arr, &err) == NULL);
	CHECK_EQ_STR(err.msg, "manifest: not a JSON object");
	json_decref(arr);
	lh_error_clear(&err);
	CHECK(manifest_from_json(NULL, &err) == NULL);
	lh_error_clear(&err);
}

TEST(manifest_references)
{
	struct manifest *m = manifest_create();
	manifest_add_column(m, "id", "int64", 0);
	manifest_add_object(m, "k", 1, 1, SHA);
	CHECK(manifest_ref(m) == m);
	manifest_unref(m);             /* one left */
	CHECK_EQ_STR(m->objects[0].key, "k");
	manifest_unref(m);             /* freed (ASan would see a leak or a misuse) */
	manifest_unref(NULL);
	CHECK(manifest_ref(NULL) == NULL);
}

TEST(manifest_summaries_both_lists)
{
	struct lh_error err = { 0 };
	const char *datasets =
		"[{\"name\":\"a\",\"version\":2,\"row_count\":5,\"size_bytes\":10,"
		"\"schema_fingerprint\":\"" FP "\",\"created_at\":\"2026-01-01T00:00:00.000Z\","
		"\"updated_at\":\"2026-01-02T00:00:00.000Z\"},{\"name\":\"b\",\"version\":1}]";
	json_t *in = parse(datasets);
	struct manifest_summary *s = NULL;
	size_t n = 0;
	CHECK_EQ_INT(manifest_summaries_from_json(in, 0, &s, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(s[0].name, "a");
	CHECK_EQ_INT(s[0].size_bytes, 10);
	CHECK_EQ_STR(s[0].updated_at, "2026-01-02T00:00:00.000Z");
	CHECK_EQ_INT(s[1].row_count, -1);   /* unsaid */
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(out, manifest_summary_to_json(&s[i], 0));
	CHECK(json_equal(in, out));
	json_decref(out);
	json_decref(in);
	free(s);

	const char *versions = "[{\"version\":1,\"row_count\":5,\"size_bytes\":10,"
			       "\"schema_fingerprint\":\"" FP "\",\"created_at\":"
			       "\"2026-01-01T00:00:00.000Z\",\"mode\":\"replace\"}]";
	in = parse(versions);
	CHECK_EQ_INT(manifest_summaries_from_json(in, 1, &s, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(s[0].name, "");
	CHECK_EQ_STR(s[0].mode, "replace");
	json_t *one = manifest_summary_to_json(&s[0], 1);
	CHECK(json_equal(json_array_get(in, 0), one));
	json_decref(one);
	json_decref(in);
	free(s);

	/* a dataset line needs its name; versions need their number */
	in = parse("[{\"version\":1}]");
	CHECK_EQ_INT(manifest_summaries_from_json(in, 0, &s, &n, &err), -1);
	CHECK_EQ_STR(err.msg, "datasets[0].name: missing");
	CHECK(s == NULL && n == 0);
	lh_error_clear(&err);
	json_decref(in);
	in = parse("[{\"version\":1},{\"version\":\"2\"}]");
	CHECK_EQ_INT(manifest_summaries_from_json(in, 1, &s, &n, &err), -1);
	CHECK_EQ_STR(err.msg, "versions[1].version: not an integer");
	lh_error_clear(&err);
	json_decref(in);
	CHECK_EQ_INT(manifest_summaries_from_json(NULL, 0, &s, &n, &err), -1);
	CHECK_EQ_STR(err.msg, "datasets: missing");
	lh_error_clear(&err);
	/* an empty list */
	in = json_array();
	CHECK_EQ_INT(manifest_summaries_from_json(in, 0, &s, &n, &err), 0);
	CHECK(s == NULL && n == 0);
	json_decref(in);
}
