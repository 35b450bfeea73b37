/* test_catalog_evolve.c — unit tests of explicit schema evolution (ADR 0173)
 * in src/catalogd/catalog.c: which type changes widen, how a register with
 * "evolve" is planned (added, removed, reordered, widened, narrowed columns;
 * append and replace), the fingerprint each object keeps, and the manifest
 * JSON that carries them (common/manifest.c). */
#include "test.h"

#include "catalog_fixtures.h"
#include "catalogd/catalog_store.h"
#include "common/manifest.h"

#include <stdlib.h>
#include <unistd.h>

/* plan(latest, request) with a fixed clock. */
static int plan(const struct catalog_version *latest, const struct catalog_version *req,
		struct catalog_version **out, struct lh_error *err)
{
	return catalog_plan(latest, req, 1700000000123, out, err);
}

static int has_change(const json_t *diff, const char *column, const char *change)
{
	size_t i;
	const json_t *e;
	json_array_foreach(diff, i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "column")), column) &&
		    !strcmp(json_string_value(json_object_get(e, "change")), change))
			return 1;
	}
	return 0;
}

/* A first version of `schema` with `objects`. */
static struct catalog_version *first(const char *schema, const char *objects)
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version("p", schema, objects, "replace"), *v = NULL;
	if (plan(NULL, req, &v, &err) != 0)
		v = NULL;
	catalog_version_destroy(req);
	return v;
}

TEST(catalog_evolve_type_widens)
{
	static const struct {
		const char *from, *to;
		int widens;
	} cases[] = {
		{ "int64", "int64", 1 },
		{ "int64", "float64", 1 },
		{ "float64", "int64", 0 },
		{ "int64", "utf8", 1 },
		{ "bool", "utf8", 1 },
		{ "float64", "utf8", 1 },
		{ "date32", "utf8", 1 },
		{ "timestamp[us, tz=UTC]", "utf8", 1 },
		{ "utf8", "date32", 0 },
		{ "utf8", "int64", 0 },
		{ "date32", "timestamp[us]", 1 },
		{ "date32", "timestamp[us, tz=UTC]", 0 },
		{ "timestamp[us]", "date32", 0 },
		{ "timestamp[us]", "timestamp[us, tz=UTC]", 0 },
		{ "bool", "int64", 0 },
		{ "int64", "bool", 0 },
		{ "decimal(10,2)", "decimal(12,2)", 1 },
		{ "decimal(10,2)", "decimal(10,2)", 1 },
		{ "decimal(12,2)", "decimal(10,2)", 0 },
		{ "decimal(10,2)", "decimal(12,3)", 0 },
		{ "decimal(10,2)", "utf8", 1 },
		{ "int64", "decimal(18,0)", 0 },
		{ "string", "utf8", 0 },
		{ "utf8", "text", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (catalog_type_widens(cases[i].from, cases[i].to) != cases[i].widens)
			fprintf(stderr, "  %s -> %s\n", cases[i].from, cases[i].to);
		CHECK_EQ_INT(catalog_type_widens(cases[i].from, cases[i].to), cases[i].widens);
	}
}

TEST(catalog_evolve_without_evolve_is_drift)
{
	struct lh_error err = { 0 };
	struct catalog_version *v1 = first("id:int64,name:utf8", "a=1"), *out = NULL;
	struct catalog_version *req = fixture_version("p", "id:int64,name:utf8,city:utf8", "b=1",
						      "append");
	CHECK(v1 != NULL);
	CHECK_EQ_INT(plan(v1, req, &out, &err), -1);
	CHECK_EQ_STR(err.code, "schema_drift");
	CHECK(has_change(json_object_get(err.extra, "diff"), "city", "added"));
	CHECK(json_object_get(err.extra, "narrowed") == NULL);
	lh_error_clear(&err);
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
}

TEST(catalog_evolve_append_added_column)
{
	struct lh_error err = { 0 };
	struct catalog_version *v1 = first("id:int64,name:utf8", "a=1,b=2"), *v2 = NULL;
	CHECK(v1 != NULL);
	v1->columns[0].nullable = 0;
	v1->columns[1].nullable = 0;
	struct catalog_version *req = fixture_version("p", "id:int64,name:utf8,city:utf8", "c=3",
						      "append");
	req->evolve = 1;
	req->columns[2].nullable = 0;
	req->columns[0].nullable = 0;
	CHECK_EQ_INT(plan(v1, req, &v2, &err), 0);
	CHECK(v2 != NULL);
	CHECK_EQ_INT(v2->version, 2);
	CHECK_EQ_STR(v2->fingerprint, req->fingerprint);
	CHECK_EQ_INT(v2->ncolumns, 3);
	CHECK_EQ_INT(v2->columns[0].nullable, 0);
	CHECK_EQ_INT(v2->columns[1].nullable, 1);   /* the request's says so */
	CHECK_EQ_INT(v2->columns[2].nullable, 1);   /* old rows read it as null */
	CHECK_EQ_INT(v2->nobjects, 3);
	CHECK_EQ_INT(v2->row_count, 6);
	CHECK_EQ_INT(v2->mode, CATALOG_APPEND);
	CHECK_EQ_STR(v2->objects[0].fingerprint, v1->fingerprint);
	CHECK_EQ_STR(v2->objects[1].fingerprint, v1->fingerprint);
	CHECK_EQ_STR(v2->objects[2].fingerprint, "");
	CHECK_EQ_STR(catalog_object_fingerprint(v2, 2), req->fingerprint);
	const json_t *s1 = json_object_get(v2->object_schemas, v1->fingerprint);
	CHECK_EQ_INT(json_array_size(s1), 2);
	CHECK_EQ_INT(json_object_size(v2->object_schemas), 1);
	CHECK_EQ_STR(json_string_value(json_object_get(v2->evolved, "existing_fingerprint")),
		     v1->fingerprint);
	CHECK_EQ_STR(json_string_value(json_object_get(v2->evolved, "new_fingerprint")),
		     req->fingerprint);
	CHECK(has_change(json_object_get(v2->evolved, "diff"), "city", "added"));

	/* a plain append (same fingerprint) keeps each object's fingerprint */
	struct catalog_version *req3 = fixture_version("p", "id:int64,name:utf8,city:utf8", "d=1",
						       "append"), *v3 = NULL;
	CHECK_EQ_INT(plan(v2, req3, &v3, &err), 0);
	CHECK_EQ_INT(v3->nobjects, 4);
	CHECK_EQ_STR(v3->objects[0].fingerprint, v1->fingerprint);
	CHECK_EQ_STR(v3->objects[3].fingerprint, "");
	CHECK(json_object_get(v3->object_schemas, v1->fingerprint) != NULL);
	CHECK(v3->evolved == NULL);

	/* and another evolution: both older schemas are kept */
	struct catalog_version *req4 = fixture_version("p", "id:float64,city:utf8", "e=1",
						       "append"), *v4 = NULL;
	req4->evolve = 1;
	CHECK_EQ_INT(plan(v3, req4, &v4, &err), 0);
	CHECK_EQ_INT(v4->nobjects, 5);
	CHECK_EQ_STR(v4->objects[0].fingerprint, v1->fingerprint);
	CHECK_EQ_STR(v4->objects[2].fingerprint, v2->fingerprint);
	CHECK_EQ_STR(v4->objects[3].fingerprint, v2->fingerprint);
	CHECK_EQ_STR(v4->objects[4].fingerprint, "");
	CHECK_EQ_INT(json_object_size(v4->object_schemas), 2);
	CHECK_EQ_INT(json_array_size(json_object_get(v4->object_schemas, v2->fingerprint)), 3);
	const json_t *d4 = json_object_get(v4->evolved, "diff");
	CHECK(has_change(d4, "name", "removed"));
	CHECK(has_change(d4, "id", "type_changed"));
	catalog_version_destroy(req);
	catalog_version_destroy(req3);
	catalog_version_destroy(req4);
	catalog_version_destroy(v1);
	catalog_version_destroy(v2);
	catalog_version_destroy(v3);
	catalog_version_destroy(v4);
}

TEST(catalog_evolve_removed_reordered_widened)
{
	struct lh_error err = { 0 };
	struct catalog_version *v1 = first("id:int64,hours:int64,code:int64,d:date32,zip:utf8",
					   "a=1"), *v2 = NULL;
	struct catalog_version *req = fixture_version(
		"p", "d:timestamp[us],code:utf8,hours:float64,id:int64", "b=1", "append");
	req->evolve = 1;
	CHECK_EQ_INT(plan(v1, req, &v2, &err), 0);
	const json_t *d = json_object_get(v2->evolved, "diff");
	CHECK(has_change(d, "zip", "removed"));
	CHECK(has_change(d, "hours", "type_changed"));
	CHECK(has_change(d, "code", "type_changed"));
	CHECK(has_change(d, "d", "type_changed"));
	CHECK(has_change(d, "d", "moved") || has_change(d, "id", "moved"));
	CHECK_EQ_STR(v2->columns[0].name, "d");
	CHECK_EQ_STR(v2->columns[0].type, "timestamp[us]");
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
	catalog_version_destroy(v2);
}

TEST(catalog_evolve_narrowing_is_refused)
{
	struct lh_error err = { 0 };
	struct catalog_version *v1 = first("id:int64,rate:float64,d:utf8,t:timestamp[us]", "a=1");
	struct catalog_version *out = NULL;
	struct catalog_version *req = fixture_version("p", "id:int64,rate:int64,d:date32,t:date32",
						      "b=1", "append");
	req->evolve = 1;
	CHECK_EQ_INT(plan(v1, req, &out, &err), -1);
	CHECK(out == NULL);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "schema_narrowed");
	CHECK(strstr(err.msg, "\"rate\"") && strstr(err.msg, "float64 to int64"));
	CHECK(strstr(err.msg, "and 2 more columns"));
	CHECK(strstr(err.msg, "cannot all be read as int64"));
	const json_t *n = json_object_get(err.extra, "narrowed");
	CHECK_EQ_INT(json_array_size(n), 3);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(n, 1), "column")), "d");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(n, 1), "new_type")), "date32");
	/* the drift body's fields are there too */
	CHECK(json_object_get(err.extra, "diff") != NULL);
	CHECK(json_object_get(err.extra, "existing_schema") != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "new_fingerprint")),
		     req->fingerprint);
	lh_error_clear(&err);
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
}

TEST(catalog_evolve_replace)
{
	struct lh_error err = { 0 };
	struct catalog_version *v1 = first("id:int64,name:utf8", "a=1,b=2"), *v2 = NULL;
	struct catalog_version *req = fixture_version("p", "name:utf8,id:float64,x:bool", "c=5",
						      "replace");
	req->evolve = 1;
	CHECK_EQ_INT(plan(v1, req, &v2, &err), 0);
	CHECK_EQ_INT(v2->version, 2);
	CHECK_EQ_INT(v2->mode, CATALOG_REPLACE);
	CHECK_EQ_INT(v2->nobjects, 1);
	CHECK_EQ_INT(v2->row_count, 5);
	CHECK_EQ_STR(v2->objects[0].fingerprint, "");
	CHECK(v2->object_schemas == NULL);
	CHECK(v2->evolved != NULL);
	/* replace keeps the request's nullability */
	req->columns[2].nullable = 0;
	catalog_version_destroy(v2);
	v2 = NULL;
	CHECK_EQ_INT(plan(v1, req, &v2, &err), 0);
	CHECK_EQ_INT(v2->columns[2].nullable, 0);
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
	catalog_version_destroy(v2);
}

TEST(catalog_evolve_request_and_manifest_json)
{
	struct lh_error err = { 0 };
	json_t *body = fixture_body("p", "id:int64", "a=1", "append");
	json_object_set_new(body, "evolve", json_true());
	struct catalog_version *req = catalog_request_parse(body, &err);
	CHECK(req != NULL);
	CHECK_EQ_INT(req->evolve, 1);
	catalog_version_destroy(req);
	json_object_set_new(body, "evolve", json_string("yes"));
	CHECK(catalog_request_parse(body, &err) == NULL);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	json_decref(body);

	/* a version with an older object: the manifest JSON says so and decodes */
	struct catalog_version *v1 = first("id:int64", "a=1"), *v2 = NULL;
	req = fixture_version("p", "id:int64,name:utf8", "b=1", "append");
	req->evolve = 1;
	CHECK_EQ_INT(plan(v1, req, &v2, &err), 0);
	json_t *j = catalog_version_json(v2);
	const json_t *objs = json_object_get(j, "objects");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(objs, 0),
						       "schema_fingerprint")), v1->fingerprint);
	CHECK(json_object_get(json_array_get(objs, 1), "schema_fingerprint") == NULL);
	CHECK(json_object_get(json_object_get(j, "object_schemas"), v1->fingerprint) != NULL);
	struct manifest *m = manifest_from_json(j, &err);
	CHECK(m != NULL);
	CHECK_EQ_STR(m->objects[0].fingerprint, v1->fingerprint);
	CHECK_EQ_STR(m->objects[1].fingerprint, "");
	json_t *vs = manifest_schema_json(m);
	CHECK(manifest_object_schema(m, 1, vs) == vs);
	CHECK_EQ_INT(json_array_size(manifest_object_schema(m, 0, vs)), 1);
	json_t *again = manifest_to_json(m);
	CHECK(json_equal(again, j));
	json_decref(again);
	json_decref(vs);
	manifest_unref(m);
	/* an object fingerprint without its schema is refused */
	json_object_del(j, "object_schemas");
	CHECK(manifest_from_json(j, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK(strstr(err.msg, "objects[0]") != NULL);
	lh_error_clear(&err);
	json_decref(j);
	/* a version of an unevolved dataset has neither field */
	j = catalog_version_json(v1);
	CHECK(json_object_get(j, "object_schemas") == NULL);
	CHECK(json_object_get(json_array_get(json_object_get(j, "objects"), 0),
			      "schema_fingerprint") == NULL);
	json_decref(j);
	catalog_version_destroy(req);
	catalog_version_destroy(v1);
	catalog_version_destroy(v2);
}

/* ---- the stores ---------------------------------------------------------- */

/* The store under test: SQLite in a fresh temp dir, or the backend and
 * location of LAKEHOUSE_TEST_CATALOG_BACKEND / _LOCATION (as
 * test_catalog_store.c). */
static struct catalog_store *evolve_store(char dir[64])
{
	struct lh_error err = { 0 };
	const char *backend = getenv("LAKEHOUSE_TEST_CATALOG_BACKEND");
	const char *location = getenv("LAKEHOUSE_TEST_CATALOG_LOCATION");
	char path[128];
	snprintf(dir, 64, "/tmp/lh-evolve-XXXXXX");
	if (!mkdtemp(dir))
		return NULL;
	if (!backend || !backend[0] || !strcmp(backend, "sqlite") || !location) {
		backend = "sqlite";
		snprintf(path, sizeof path, "%s/catalog.db", dir);
		location = path;
	}
	struct catalog_store *s = catalog_store_open(backend, location, &err);
	if (!s)
		fprintf(stderr, "  open: %s\n", err.msg);
	lh_error_clear(&err);
	return s;
}

static void evolve_store_close(struct catalog_store *s, const char *dir)
{
	char path[128];
	catalog_store_close(s);
	snprintf(path, sizeof path, "%s/catalog.db", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/catalog.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/catalog.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

/* Each object keeps the fingerprint it was written with through the store
 * (migration 5 of both backends), with its schema, version by version. */
TEST(catalog_evolve_store_keeps_object_fingerprints)
{
	char dir[64];
	struct lh_error err = { 0 };
	struct catalog_store *s = evolve_store(dir);
	struct catalog_version *v1 = NULL, *v2 = NULL, *v3 = NULL, *got = NULL;
	int existing = 0;
	CHECK(s != NULL);
	catalog_store_drop(s, "evolving", &err);
	lh_error_clear(&err);
	struct catalog_version *r1 = fixture_version("evolving", "id:int64,name:utf8", "k1=2",
						     "replace");
	struct catalog_version *r2 = fixture_version("evolving", "id:float64,city:utf8", "k2=1",
						     "append");
	struct catalog_version *r3 = fixture_version("evolving", "id:float64,city:utf8", "k3=4",
						     "append");
	r2->evolve = 1;
	CHECK_EQ_INT(catalog_store_register(s, r1, &v1, &existing, &err), 0);
	CHECK_EQ_INT(catalog_store_register(s, r2, &v2, &existing, &err), 0);
	CHECK_EQ_INT(existing, 0);
	CHECK(v2->evolved != NULL);
	CHECK_EQ_INT(catalog_store_register(s, r3, &v3, &existing, &err), 0);

	CHECK_EQ_INT(catalog_store_get(s, "evolving", 0, &got, &err), 0);
	CHECK_EQ_INT(got->version, 3);
	CHECK_EQ_STR(got->fingerprint, r2->fingerprint);
	CHECK_EQ_INT(got->nobjects, 3);
	CHECK_EQ_STR(got->objects[0].fingerprint, r1->fingerprint);
	CHECK_EQ_STR(got->objects[1].fingerprint, "");
	CHECK_EQ_STR(got->objects[2].fingerprint, "");
	const json_t *os = json_object_get(got->object_schemas, r1->fingerprint);
	CHECK_EQ_INT(json_array_size(os), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(os, 0), "type")), "int64");
	CHECK(got->evolved == NULL);   /* only a register's answer says it */
	catalog_version_destroy(got);
	got = NULL;

	CHECK_EQ_INT(catalog_store_get(s, "evolving", 1, &got, &err), 0);
	CHECK_EQ_INT(got->nobjects, 1);
	CHECK_EQ_STR(got->objects[0].fingerprint, "");
	CHECK(got->object_schemas == NULL);
	catalog_version_destroy(got);
	got = NULL;

	CHECK_EQ_INT(catalog_store_drop(s, "evolving", &err), 0);
	catalog_version_destroy(r1);
	catalog_version_destroy(r2);
	catalog_version_destroy(r3);
	catalog_version_destroy(v1);
	catalog_version_destroy(v2);
	catalog_version_destroy(v3);
	evolve_store_close(s, dir);
}
