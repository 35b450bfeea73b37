/* test_catalog.c — unit tests of src/catalogd/catalog.c: names, keys,
 * fingerprints, request validation (every field named), schema drift diffs
 * and register planning. Pure functions only; the store is in
 * test_catalog_store.c. */
#include "test.h"

#include "catalog_fixtures.h"

#define SCHEMA "id:int64,name:utf8"

TEST(catalog_types_and_hex)
{
	CHECK(catalog_type_valid("timestamp[us, tz=UTC]"));
	CHECK(catalog_type_valid("utf8"));
	CHECK(!catalog_type_valid("string"));
	CHECK(!catalog_type_valid("INT64"));
	CHECK(catalog_hex64_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!catalog_hex64_valid("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!catalog_hex64_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
	CHECK(!catalog_hex64_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
	CHECK(!catalog_fingerprint_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(catalog_fingerprint_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
}

TEST(catalog_fingerprint_spec_vectors)
{
	static const struct {
		const char *schema, *fp;
	} vectors[] = {
		{ "id:int64,name:utf8",
		  "sha256:293f0ddbb873f5da65f02282c2398ce7597f2bd837fac219f1b1b350bb83dde5" },
		{ "a,b:utf8", /* one column named "a,b": built by hand below */
		  "sha256:03e8328ff17b1fa9216bdc0e0b75cb5229dbb8134252a6a3bdbf729bb76555cb" },
		{ "a:utf8,b:utf8",
		  "sha256:dcbdfb4b49c49e38fc76e4fb2014d87bda3b12bd1c4831ca2999ede39abc4224" },
		{ "candidate_id:int64,full_name:utf8,zip:utf8,hourly_rate:float64,available:bool,"
		  "start_date:date32,last_contacted:timestamp[us]",
		  "sha256:d9489da37034d4aaa62209bdc7d8606f39d20ef5b293aa7baf5d979cad4b2931" },
	};
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
		struct catalog_version *v;
		if (i == 1) {
			v = catalog_version_create();
			catalog_version_add_column(v, "a,b", "utf8", 0);
			catalog_schema_fingerprint(v->columns, v->ncolumns, v->fingerprint);
		} else {
			v = fixture_version("t", vectors[i].schema, "", NULL);
		}
		char fp[CATALOG_FP_LEN + 1];
		snprintf(fp, sizeof fp, "%s", v->fingerprint);
		catalog_version_destroy(v);
		CHECK_EQ_STR(fp, vectors[i].fp);
	}
}

TEST(catalog_request_parse_ok)
{
	struct lh_error err = { 0 };
	json_t *body = fixture_body("people", SCHEMA, "d/a.parquet=3,d/b.parquet=4", NULL);
	struct catalog_version *v = catalog_request_parse(body, &err);
	json_decref(body);
	CHECK(v != NULL);
	CHECK_EQ_STR(v->name, "people");
	CHECK_EQ_INT(v->version, 0);
	CHECK_EQ_INT(v->mode, CATALOG_REPLACE);
	CHECK_EQ_INT(v->ncolumns, 2);
	CHECK_EQ_STR(v->columns[1].type, "utf8");
	CHECK_EQ_INT(v->nobjects, 2);
	CHECK_EQ_STR(v->objects[1].key, "d/b.parquet");
	CHECK_EQ_INT(v->row_count, 7);
	CHECK_EQ_INT(v->size_bytes, 70);
	catalog_version_destroy(v);

	body = fixture_body("people", SCHEMA, "", "append");
	v = catalog_request_parse(body, &err);
	json_decref(body);
	CHECK(v != NULL);
	CHECK_EQ_INT(v->mode, CATALOG_APPEND);
	CHECK_EQ_INT(v->nobjects, 0);
	catalog_version_destroy(v);
}

/* Parse `body` after applying `mutate`, expect 400 with `code` naming `field`. */
static int expect_bad(json_t *body, int status, const char *code, const char *field)
{
	struct lh_error err = { 0 };
	struct catalog_version *v = catalog_request_parse(body, &err);
	int ok = v == NULL && err.status == status && !strcmp(err.code, code) &&
		 !strcmp(fixture_err_field(&err), field) && err.msg[0];
	if (!ok)
		fprintf(stderr, "  expected %d %s field \"%s\", got %d %s field \"%s\": %s\n", status,
			code, field, err.status, err.code, fixture_err_field(&err), err.msg);
	catalog_version_destroy(v);
	lh_error_clear(&err);
	json_decref(body);
	return ok;
}

static json_t *good(void)
{
	return fixture_body("people", SCHEMA, "d/a.parquet=3,d/b.parquet=4", "replace");
}

static json_t *with(json_t *body, const char *field, json_t *value)
{
	if (value)
		json_object_set_new(body, field, value);
	else
		json_object_del(body, field);
	return body;
}

static json_t *with_in(json_t *body, const char *array, size_t i, const char *field,
		       json_t *value)
{
	with(json_array_get(json_object_get(body, array), i), field, value);
	return body;
}

TEST(catalog_request_parse_names_each_field)
{
	/* top level */
	CHECK(expect_bad(with(good(), "name", NULL), 400, "bad_request", "name"));
	CHECK(expect_bad(with(good(), "name", json_integer(3)), 400, "bad_request", "name"));
	CHECK(expect_bad(with(good(), "name", json_string("1bad")), 400, "bad_name", "name"));
	CHECK(expect_bad(with(good(), "name", json_string("../etc")), 400, "bad_name", "name"));
	CHECK(expect_bad(with(good(), "schema_fingerprint", NULL), 400, "bad_request",
			 "schema_fingerprint"));
	CHECK(expect_bad(with(good(), "schema_fingerprint", json_string("md5:abc")), 400,
			 "bad_request", "schema_fingerprint"));
	CHECK(expect_bad(with(good(), "schema_fingerprint",
			      json_string("sha256:dcbdfb4b49c49e38fc76e4fb2014d87bda3b12bd1c4831ca2999ede39abc4224")),
			 400, "bad_request", "schema_fingerprint"));
	CHECK(expect_bad(with(good(), "schema", NULL), 400, "bad_request", "schema"));
	CHECK(expect_bad(with(good(), "schema", json_string("id")), 400, "bad_request", "schema"));
	CHECK(expect_bad(with(good(), "schema", json_array()), 400, "bad_request", "schema"));
	CHECK(expect_bad(with(good(), "objects", NULL), 400, "bad_request", "objects"));
	CHECK(expect_bad(with(good(), "objects", json_object()), 400, "bad_request", "objects"));
	CHECK(expect_bad(with(good(), "row_count", NULL), 400, "bad_request", "row_count"));
	CHECK(expect_bad(with(good(), "row_count", json_real(7.0)), 400, "bad_request", "row_count"));
	CHECK(expect_bad(with(good(), "row_count", json_integer(8)), 400, "bad_request", "row_count"));
	CHECK(expect_bad(with(good(), "mode", json_string("upsert")), 400, "bad_request", "mode"));
	CHECK(expect_bad(with(good(), "mode", json_true()), 400, "bad_request", "mode"));

	/* schema columns */
	CHECK(expect_bad(with_in(good(), "schema", 1, "type", json_string("text")), 400,
			 "bad_request", "schema[1].type"));
	CHECK(expect_bad(with_in(good(), "schema", 0, "name", NULL), 400, "bad_request",
			 "schema[0].name"));
	CHECK(expect_bad(with_in(good(), "schema", 0, "name", json_string("")), 400, "bad_request",
			 "schema[0].name"));
	CHECK(expect_bad(with_in(good(), "schema", 1, "nullable", json_string("yes")), 400,
			 "bad_request", "schema[1].nullable"));
	json_t *b = good();
	json_array_set_new(json_object_get(b, "schema"), 1, json_string("x"));
	CHECK(expect_bad(b, 400, "bad_request", "schema[1]"));
	/* duplicate column, case-insensitively (fingerprint recomputed to match) */
	b = fixture_body("people", "id:int64,ID:utf8", "", NULL);
	CHECK(expect_bad(b, 400, "bad_request", "schema[1].name"));
	/* a control character in a name: one column "a<US>int64<RS>b" would share
	 * its fingerprint with the two columns a:int64, b:utf8 (found in review) */
	b = fixture_body("people", "id:int64,a\x1f" "int64\x1e" "b:utf8", "", NULL);
	CHECK(expect_bad(b, 400, "bad_request", "schema[1].name"));
	b = fixture_body("people", "id:int64,tab\there:utf8", "", NULL);
	CHECK(expect_bad(b, 400, "bad_request", "schema[1].name"));

	/* objects */
	CHECK(expect_bad(with_in(good(), "objects", 1, "key", json_string("../x")), 400, "bad_key",
			 "objects[1].key"));
	CHECK(expect_bad(with_in(good(), "objects", 1, "key", json_string("/abs")), 400, "bad_key",
			 "objects[1].key"));
	CHECK(expect_bad(with_in(good(), "objects", 1, "key", json_string("a//b")), 400, "bad_key",
			 "objects[1].key"));
	CHECK(expect_bad(with_in(good(), "objects", 1, "key", json_string("a\x7f")), 400, "bad_key",
			 "objects[1].key"));
	CHECK(expect_bad(with_in(good(), "objects", 1, "key", json_string("")), 400, "bad_key",
			 "objects[1].key"));
	CHECK(expect_bad(with_in(good(), "objects", 0, "key", json_integer(1)), 400, "bad_request",
			 "objects[0].key"));
	CHECK(expect_bad(with_in(good(), "objects", 0, "size", json_integer(-1)), 400, "bad_request",
			 "objects[0].size"));
	CHECK(expect_bad(with_in(good(), "objects", 0, "size", json_string("3")), 400, "bad_request",
			 "objects[0].size"));
	CHECK(expect_bad(with_in(good(), "objects", 1, "row_count", json_integer(-4)), 400,
			 "bad_request", "objects[1].row_count"));
	CHECK(expect_bad(with_in(good(), "objects", 1, "row_count", NULL), 400, "bad_request",
			 "objects[1].row_count"));
	CHECK(expect_bad(with_in(good(), "objects", 0, "content_sha256", json_string("abc")), 400,
			 "bad_request", "objects[0].content_sha256"));
	b = good();
	json_array_set_new(json_object_get(b, "objects"), 0, json_integer(5));
	CHECK(expect_bad(b, 400, "bad_request", "objects[0]"));
	b = good();
	json_object_set(json_array_get(json_object_get(b, "objects"), 1), "key",
			json_object_get(json_array_get(json_object_get(b, "objects"), 0), "key"));
	CHECK(expect_bad(b, 400, "bad_request", "objects[1].key"));
	/* totals overflow */
	b = good();
	json_object_set_new(json_array_get(json_object_get(b, "objects"), 0), "size",
			    json_integer(INT64_MAX));
	CHECK(expect_bad(b, 400, "bad_request", "objects[1]"));
}

/* Find a diff entry; returns 1 if {column, change, old, new} is present. */
static int diff_has(const json_t *diff, const char *column, const char *change,
		    const char *old_type, const char *new_type)
{
	for (size_t i = 0; i < json_array_size(diff); i++) {
		const json_t *e = json_array_get(diff, i);
		const char *o = json_string_value(json_object_get(e, "old_type"));
		const char *n = json_string_value(json_object_get(e, "new_type"));
		if (!strcmp(json_string_value(json_object_get(e, "column")), column) &&
		    !strcmp(json_string_value(json_object_get(e, "change")), change) &&
		    (old_type ? o && !strcmp(o, old_type) : json_is_null(json_object_get(e, "old_type"))) &&
		    (new_type ? n && !strcmp(n, new_type) : json_is_null(json_object_get(e, "new_type"))))
			return 1;
	}
	return 0;
}

static json_t *diff_of(const char *old_schema, const char *new_schema)
{
	struct catalog_version *a = fixture_version("t", old_schema, "", NULL);
	struct catalog_version *b = fixture_version("t", new_schema, "", NULL);
	json_t *d = catalog_schema_diff(a->columns, a->ncolumns, b->columns, b->ncolumns);
	catalog_version_destroy(a);
	catalog_version_destroy(b);
	return d;
}

TEST(catalog_diff_each_change)
{
	json_t *d = diff_of("a:int64,b:utf8", "a:int64,b:utf8");
	CHECK_EQ_INT(json_array_size(d), 0);
	json_decref(d);

	d = diff_of("a:int64,b:utf8", "a:int64,b:utf8,c:bool");
	CHECK_EQ_INT(json_array_size(d), 1);
	CHECK(diff_has(d, "c", "added", NULL, "bool"));
	json_decref(d);

	d = diff_of("a:int64,b:utf8,c:bool", "a:int64,c:bool");
	CHECK_EQ_INT(json_array_size(d), 1);
	CHECK(diff_has(d, "b", "removed", "utf8", NULL));
	json_decref(d);

	d = diff_of("a:int64,b:utf8", "a:float64,b:utf8");
	CHECK_EQ_INT(json_array_size(d), 1);
	CHECK(diff_has(d, "a", "type_changed", "int64", "float64"));
	json_decref(d);

	/* one column moved to the front: only it is "moved" */
	d = diff_of("a:int64,b:utf8,c:bool,d:date32", "d:date32,a:int64,b:utf8,c:bool");
	CHECK_EQ_INT(json_array_size(d), 1);
	CHECK(diff_has(d, "d", "moved", "date32", "date32"));
	json_decref(d);

	/* a swap of two: one of them moved */
	d = diff_of("a:int64,b:utf8", "b:utf8,a:int64");
	CHECK_EQ_INT(json_array_size(d), 1);
	CHECK(diff_has(d, "a", "moved", "int64", "int64") || diff_has(d, "b", "moved", "utf8", "utf8"));
	json_decref(d);

	/* everything at once; a column both retyped and moved has both entries */
	d = diff_of("a:int64,b:utf8,c:bool,x:utf8", "c:float64,a:int64,b:utf8,y:date32");
	CHECK_EQ_INT(json_array_size(d), 4);
	CHECK(diff_has(d, "x", "removed", "utf8", NULL));
	CHECK(diff_has(d, "y", "added", NULL, "date32"));
	CHECK(diff_has(d, "c", "type_changed", "bool", "float64"));
	CHECK(diff_has(d, "c", "moved", "bool", "float64"));
	/* removed entries come first */
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(d, 0), "change")), "removed");
	json_decref(d);

	/* a full reversal of 5 columns: 4 moved, one stays */
	d = diff_of("a:utf8,b:utf8,c:utf8,d:utf8,e:utf8", "e:utf8,d:utf8,c:utf8,b:utf8,a:utf8");
	CHECK_EQ_INT(json_array_size(d), 4);
	json_decref(d);
}

/* plan(latest, request) with a fixed clock. */
static int plan(const struct catalog_version *latest, const struct catalog_version *req,
		struct catalog_version **out, struct lh_error *err)
{
	return catalog_plan(latest, req, 1700000000123, out, err);
}

TEST(catalog_plan_first_and_existing)
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version("p", SCHEMA, "a=1,b=2", "replace");
	struct catalog_version *v1 = NULL, *again = NULL;
	CHECK_EQ_INT(plan(NULL, req, &v1, &err), 0);
	CHECK(v1 != NULL);
	CHECK_EQ_INT(v1->version, 1);
	CHECK_EQ_INT(v1->created_ms, 1700000000123);
	CHECK_EQ_INT(v1->updated_ms, 1700000000123);
	CHECK_EQ_INT(v1->row_count, 3);
	/* the same objects in another order: existing */
	struct catalog_version *same = fixture_version("p", SCHEMA, "b=2,a=1", "replace");
	CHECK_EQ_INT(plan(v1, same, &again, &err), 0);
	CHECK(again == NULL);
	/* an append of objects all present: existing */
	struct catalog_version *app = fixture_version("p", SCHEMA, "a=1", "append");
	CHECK_EQ_INT(plan(v1, app, &again, &err), 0);
	CHECK(again == NULL);
	CHECK_EQ_INT(err.status, 0);
	catalog_version_destroy(req);
	catalog_version_destroy(same);
	catalog_version_destroy(app);
	catalog_version_destroy(v1);
}

TEST(catalog_plan_replace_and_append)
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version("p", SCHEMA, "a=1,b=2", "replace");
	struct catalog_version *v1 = NULL, *v2 = NULL, *v3 = NULL;
	CHECK_EQ_INT(plan(NULL, req, &v1, &err), 0);
	v1->created_ms = 5;  /* dataset creation is kept by later versions */
	catalog_version_destroy(req);

	req = fixture_version("p", SCHEMA, "c=4", "replace");
	CHECK_EQ_INT(plan(v1, req, &v2, &err), 0);
	CHECK_EQ_INT(v2->version, 2);
	CHECK_EQ_INT(v2->nobjects, 1);
	CHECK_EQ_STR(v2->objects[0].key, "c");
	CHECK_EQ_INT(v2->row_count, 4);
	CHECK_EQ_INT(v2->mode, CATALOG_REPLACE);
	CHECK_EQ_INT(v2->created_ms, 5);
	CHECK_EQ_INT(v2->updated_ms, 1700000000123);
	catalog_version_destroy(req);

	/* append: c already there (skipped), d and e added after it */
	req = fixture_version("p", SCHEMA, "c=4,d=5,e=6", "append");
	req->columns[0].nullable = 0;
	v2->columns[1].nullable = 0;
	CHECK_EQ_INT(plan(v2, req, &v3, &err), 0);
	CHECK_EQ_INT(v3->version, 3);
	CHECK_EQ_INT(v3->mode, CATALOG_APPEND);
	CHECK_EQ_INT(v3->nobjects, 3);
	CHECK_EQ_STR(v3->objects[0].key, "c");
	CHECK_EQ_STR(v3->objects[1].key, "d");
	CHECK_EQ_STR(v3->objects[2].key, "e");
	CHECK_EQ_INT(v3->row_count, 15);
	CHECK_EQ_INT(v3->size_bytes, 150);
	/* nullable if either side was */
	CHECK_EQ_INT(v3->columns[0].nullable, 1);
	CHECK_EQ_INT(v3->columns[1].nullable, 1);
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
	catalog_version_destroy(v2);
	catalog_version_destroy(v3);
}

TEST(catalog_plan_drift_and_conflict)
{
	struct lh_error err = { 0 };
	struct catalog_version *v1 = NULL, *out = NULL;
	struct catalog_version *req = fixture_version("p", SCHEMA, "a=1", "replace");
	CHECK_EQ_INT(plan(NULL, req, &v1, &err), 0);
	catalog_version_destroy(req);

	req = fixture_version("p", "id:int64,name:utf8,zip:utf8", "b=1", "append");
	CHECK_EQ_INT(plan(v1, req, &out, &err), -1);
	CHECK(out == NULL);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "schema_drift");
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "existing_fingerprint")),
		     v1->fingerprint);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "new_fingerprint")),
		     req->fingerprint);
	CHECK(diff_has(json_object_get(err.extra, "diff"), "zip", "added", NULL, "utf8"));
	CHECK_EQ_INT(json_array_size(json_object_get(err.extra, "existing_schema")), 2);
	CHECK_EQ_INT(json_array_size(json_object_get(err.extra, "new_schema")), 3);
	lh_error_clear(&err);
	catalog_version_destroy(req);

	/* an appended key already present with other content */
	req = fixture_version("p", SCHEMA, "z=1,a=1", "append");
	req->objects[1].sha256[0] = req->objects[1].sha256[0] == '0' ? '1' : '0';
	CHECK_EQ_INT(plan(v1, req, &out, &err), -1);
	CHECK(out == NULL);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "object_conflict");
	CHECK_EQ_STR(fixture_err_field(&err), "objects[1].key");
	lh_error_clear(&err);
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
}

TEST(catalog_json_shapes)
{
	char t[32];
	catalog_time_format(0, t);
	CHECK_EQ_STR(t, "1970-01-01T00:00:00.000Z");
	catalog_time_format(1700000000123, t);
	CHECK_EQ_STR(t, "2023-11-14T22:13:20.123Z");

	struct catalog_version *v = fixture_version("p", SCHEMA, "a=1,b=2", "append");
	v->version = 3;
	v->created_ms = 0;
	v->updated_ms = 1700000000123;
	json_t *m = catalog_version_json(v);
	CHECK_EQ_STR(json_string_value(json_object_get(m, "name")), "p");
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "version")), 3);
	CHECK_EQ_STR(json_string_value(json_object_get(m, "schema_fingerprint")), v->fingerprint);
	CHECK_EQ_INT(json_array_size(json_object_get(m, "schema")), 2);
	CHECK_EQ_INT(json_array_size(json_object_get(m, "objects")), 2);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "row_count")), 3);
	CHECK_EQ_INT(json_integer_value(json_object_get(m, "size_bytes")), 30);
	CHECK_EQ_STR(json_string_value(json_object_get(m, "mode")), "append");
	CHECK_EQ_STR(json_string_value(json_object_get(m, "created_at")), "1970-01-01T00:00:00.000Z");
	CHECK_EQ_STR(json_string_value(json_object_get(m, "updated_at")), "2023-11-14T22:13:20.123Z");
	/* a manifest read back as a register body parses to the same version */
	struct lh_error err = { 0 };
	struct catalog_version *back = catalog_request_parse(m, &err);
	json_decref(m);
	CHECK(back != NULL);
	CHECK_EQ_STR(back->fingerprint, v->fingerprint);
	CHECK_EQ_INT(back->mode, CATALOG_APPEND);
	catalog_version_destroy(back);

	/* schema round trip */
	json_t *s = catalog_schema_json(v->columns, v->ncolumns);
	struct catalog_version *w = catalog_version_create();
	CHECK_EQ_INT(catalog_schema_from_json(w, s, &err), 0);
	json_decref(s);
	CHECK_EQ_INT(w->ncolumns, 2);
	CHECK_EQ_STR(w->columns[1].name, "name");
	catalog_version_destroy(w);
	catalog_version_destroy(v);
}

TEST(catalog_case_clashes_groups)
{
	static const char *const names[] = { "salaries", "people", "SALARIES", "Zeta",
					     "zeta_2", "Salaries", "PEOPLE_X", "zeta" };
	struct catalog_summary list[8];
	memset(list, 0, sizeof list);
	for (size_t i = 0; i < 8; i++)
		snprintf(list[i].name, sizeof list[i].name, "%s", names[i]);
	json_t *g = catalog_case_clashes(list, 8);
	char *text = json_dump_compact(g);
	CHECK_EQ_STR(text, "[[\"SALARIES\",\"Salaries\",\"salaries\"],[\"Zeta\",\"zeta\"]]");
	free(text);
	json_decref(g);
	g = catalog_case_clashes(list, 2);   /* no clash */
	CHECK_EQ_INT(json_array_size(g), 0);
	json_decref(g);
	g = catalog_case_clashes(NULL, 0);
	CHECK(json_is_array(g));
	json_decref(g);
}
