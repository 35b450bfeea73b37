/* test_catalog_store.c — the catalog store contract (catalog_store.h), run
 * against every backend through the interface only: versions, existing,
 * drift, drop, persistence across reopen, concurrent registers. The backend
 * is LAKEHOUSE_TEST_CATALOG_BACKEND (default "sqlite", in a fresh temp dir);
 * another backend runs the same tests with its location (a DSN) in
 * LAKEHOUSE_TEST_CATALOG_LOCATION (tests/pg_unit.py runs them on PostgreSQL);
 * store_open_fresh empties the catalog there before each test.
 *
 * SQLite-specific checks (WAL, user_version, integrity) open the file with
 * libsqlite3 directly at the end. The legacy-name test (ADR 0112) writes to
 * the database directly too (libsqlite3 or libpq), to make what this
 * product no longer makes: two names equal but for letter case.
 */
#include "test.h"

#include "catalog_fixtures.h"
#include "catalogd/catalog_store.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#define SCHEMA "id:int64,name:utf8"

struct store_fixture {
	char dir[64];
	char path[128];
};

static const char *test_backend(void)
{
	const char *b = getenv("LAKEHOUSE_TEST_CATALOG_BACKEND");
	return b && b[0] ? b : "sqlite";
}

static int is_sqlite(void)
{
	return !strcmp(test_backend(), "sqlite");
}

/* A shared backend (one database for the whole run): drop every dataset the
 * previous test left, through the interface, so each test starts empty. */
static void store_empty(struct catalog_store *s)
{
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	size_t n = 0;
	if (!catalog_store_list_datasets(s, &list, &n, &err))
		for (size_t i = 0; i < n; i++)
			catalog_store_drop(s, list[i].name, &err);
	free(list);
	lh_error_clear(&err);
}

/* Each test gets a fresh store (SQLite: in a fresh temp dir). */
static struct catalog_store *store_open_fresh(struct store_fixture *f)
{
	struct lh_error err = { 0 };
	const char *location = getenv("LAKEHOUSE_TEST_CATALOG_LOCATION");
	snprintf(f->dir, sizeof f->dir, "/tmp/lh-catalog-XXXXXX");
	if (!mkdtemp(f->dir))
		return NULL;
	snprintf(f->path, sizeof f->path, "%s/catalog.db", f->dir);
	if (is_sqlite() || !location)
		location = f->path;
	else
		snprintf(f->path, sizeof f->path, "%s", location);
	struct catalog_store *s = catalog_store_open(test_backend(), location, &err);
	if (!s)
		fprintf(stderr, "  open: %s\n", err.msg);
	lh_error_clear(&err);
	if (s && !is_sqlite())
		store_empty(s);
	return s;
}

static void store_fixture_remove(struct store_fixture *f)
{
	const char *suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char p[160];
		snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

/* Register a fixture; returns the version (0 = existing, -status on error). */
static int64_t reg(struct catalog_store *s, const char *name, const char *schema,
		   const char *objects, const char *mode)
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version(name, schema, objects, mode);
	struct catalog_version *out = NULL;
	int existing = 0;
	int64_t r;
	if (catalog_store_register(s, req, &out, &existing, &err))
		r = -err.status;
	else
		r = existing ? 0 : out->version;
	catalog_version_destroy(req);
	catalog_version_destroy(out);
	lh_error_clear(&err);
	return r;
}

static int64_t latest_version(struct catalog_store *s, const char *name)
{
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	int64_t r = catalog_store_get(s, name, 0, &v, &err) ? -err.status : v->version;
	catalog_version_destroy(v);
	lh_error_clear(&err);
	return r;
}

TEST(catalog_store_versions)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1,b=2", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=2,a=1", "replace"), 0);  /* existing */
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "c=3", "replace"), 2);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "d=4", "append"), 3);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "d=4,c=3", "append"), 0);   /* existing */
	CHECK_EQ_INT(latest_version(s, "people"), 3);

	CHECK_EQ_INT(catalog_store_get(s, "people", 0, &v, &err), 0);
	CHECK_EQ_INT(v->nobjects, 2);
	CHECK_EQ_STR(v->objects[0].key, "c");
	CHECK_EQ_STR(v->objects[1].key, "d");
	CHECK_EQ_INT(v->row_count, 7);
	CHECK_EQ_INT(v->size_bytes, 70);
	CHECK_EQ_INT(v->mode, CATALOG_APPEND);
	CHECK_EQ_INT(v->ncolumns, 2);
	CHECK_EQ_STR(v->columns[0].name, "id");
	CHECK(v->created_ms <= v->updated_ms);
	int64_t created = v->created_ms;
	catalog_version_destroy(v);
	v = NULL;

	/* an old version is unchanged */
	CHECK_EQ_INT(catalog_store_get(s, "people", 1, &v, &err), 0);
	CHECK_EQ_INT(v->version, 1);
	CHECK_EQ_INT(v->nobjects, 2);
	CHECK_EQ_STR(v->objects[0].key, "a");
	CHECK_EQ_INT(v->created_ms, created);
	CHECK_EQ_INT(v->created_ms, v->updated_ms);
	catalog_version_destroy(v);
	v = NULL;

	/* unknown version and dataset */
	CHECK_EQ_INT(catalog_store_get(s, "people", 4, &v, &err), -1);
	CHECK_EQ_INT(err.status, 404);
	CHECK_EQ_STR(err.code, "not_found");
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_store_get(s, "nobody", 0, &v, &err), -1);
	CHECK_EQ_INT(err.status, 404);
	lh_error_clear(&err);

	struct catalog_summary *list = NULL;
	size_t n = 0;
	CHECK_EQ_INT(catalog_store_list_versions(s, "people", &list, &n, &err), 0);
	CHECK_EQ_INT(n, 3);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(list[i].version, (int64_t)i + 1);
	CHECK_EQ_INT(list[1].mode, CATALOG_REPLACE);
	CHECK_EQ_INT(list[2].mode, CATALOG_APPEND);
	CHECK_EQ_INT(list[2].row_count, 7);
	free(list);
	CHECK_EQ_INT(catalog_store_list_versions(s, "nobody", &list, &n, &err), -1);
	CHECK_EQ_INT(err.status, 404);
	lh_error_clear(&err);

	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_drift_writes_nothing)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", NULL), 1);
	struct catalog_version *req = fixture_version("people", "id:utf8,name:utf8", "b=1", NULL);
	struct catalog_version *out = NULL;
	int existing = 0;
	CHECK_EQ_INT(catalog_store_register(s, req, &out, &existing, &err), -1);
	catalog_version_destroy(req);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "schema_drift");
	CHECK(json_array_size(json_object_get(err.extra, "diff")) == 1);
	lh_error_clear(&err);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", "append"), 0);
	CHECK_EQ_INT(latest_version(s, "people"), 1);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_list_and_drop)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	size_t n = 99;
	CHECK(s != NULL);
	CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 0);
	free(list);
	CHECK_EQ_INT(reg(s, "zeta", SCHEMA, "z=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "alpha", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "alpha", SCHEMA, "b=2", "append"), 2);
	CHECK_EQ_INT(reg(s, "Mid", SCHEMA, "", NULL), 1);
	CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_STR(list[0].name, "Mid");
	CHECK_EQ_STR(list[1].name, "alpha");
	CHECK_EQ_STR(list[2].name, "zeta");
	CHECK_EQ_INT(list[1].version, 2);
	CHECK_EQ_INT(list[1].row_count, 3);
	CHECK_EQ_INT(list[1].size_bytes, 30);
	CHECK_EQ_INT(list[0].row_count, 0);
	free(list);

	CHECK_EQ_INT(catalog_store_drop(s, "alpha", &err), 0);
	CHECK_EQ_INT(catalog_store_drop(s, "alpha", &err), -1);
	CHECK_EQ_INT(err.status, 404);
	lh_error_clear(&err);
	CHECK_EQ_INT(latest_version(s, "alpha"), -404);
	CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	free(list);
	/* re-creating starts again at version 1, with any schema */
	CHECK_EQ_INT(reg(s, "alpha", "x:bool", "q=1", NULL), 1);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

/* ADR 0211: personal columns per dataset; cleared by NULL, gone with a
 * drop, unknown dataset 404. */
TEST(catalog_store_masks)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_masks *m = NULL;
	size_t n = 99;
	CHECK(s != NULL);
	CHECK_EQ_INT(catalog_store_masks_list(s, &m, &n, &err), 0);
	CHECK_EQ_INT(n, 0);
	catalog_masks_free(m, n);
	CHECK_EQ_INT(catalog_store_masks_set(s, "people", "[\"name\"]", &err), -1);
	CHECK_EQ_INT(err.status, 404);
	lh_error_clear(&err);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "zoo", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(catalog_store_masks_set(s, "zoo", "[\"id\"]", &err), 0);
	CHECK_EQ_INT(catalog_store_masks_set(s, "people", "[\"id\"]", &err), 0);
	CHECK_EQ_INT(catalog_store_masks_set(s, "people", "[\"name\",\"id\"]", &err), 0);
	CHECK_EQ_INT(catalog_store_masks_list(s, &m, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(m[0].name, "people");
	CHECK_EQ_STR(m[0].columns, "[\"name\",\"id\"]");
	CHECK_EQ_STR(m[1].name, "zoo");
	catalog_masks_free(m, n);
	/* a new version keeps them; NULL clears; a drop removes them */
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=2", "append"), 2);
	CHECK_EQ_INT(catalog_store_masks_set(s, "zoo", NULL, &err), 0);
	CHECK_EQ_INT(catalog_store_masks_list(s, &m, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(m[0].name, "people");
	catalog_masks_free(m, n);
	CHECK_EQ_INT(catalog_store_drop(s, "people", &err), 0);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(catalog_store_masks_list(s, &m, &n, &err), 0);
	CHECK_EQ_INT(n, 0);
	catalog_masks_free(m, n);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_survives_reopen)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=2", "append"), 2);
	catalog_store_close(s);
	s = catalog_store_open(test_backend(), f.path, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(catalog_store_get(s, "people", 2, &v, &err), 0);
	CHECK_EQ_INT(v->nobjects, 2);
	CHECK_EQ_INT(v->row_count, 3);
	catalog_version_destroy(v);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "c=3", "append"), 3);
	catalog_store_close(s);
	if (!is_sqlite()) {
		store_fixture_remove(&f);
		return;
	}

	/* the file: WAL, schema version 8, intact */
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	CHECK_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
	const char *checks[][2] = { { "PRAGMA journal_mode", "wal" },
				    { "PRAGMA user_version", "8" },  /* 8: version authors, ADR 0210 */
				    { "PRAGMA integrity_check", "ok" },
				    { "SELECT count(*) FROM versions", "3" } };
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		CHECK_EQ_INT(sqlite3_prepare_v2(db, checks[i][0], -1, &st, NULL), SQLITE_OK);
		CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
		CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), checks[i][1]);
		sqlite3_finalize(st);
	}
	/* a file from a newer lakehouse is refused, not misread */
	CHECK_EQ_INT(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = catalog_store_open("sqlite", f.path, &err);
	CHECK(s == NULL);
	CHECK_EQ_INT(err.status, 500);
	CHECK(strstr(err.msg, "newer") != NULL);
	lh_error_clear(&err);
	store_fixture_remove(&f);
}

TEST(catalog_store_unknown_backend)
{
	struct lh_error err = { 0 };
	CHECK(catalog_store_open("oracle", "x", &err) == NULL);
	CHECK_EQ_INT(err.status, 500);
	CHECK_EQ_STR(err.code, "bad_config");
	lh_error_clear(&err);
	CHECK(catalog_store_open("sqlite", "/nonexistent-dir/x/catalog.db", &err) == NULL);
	CHECK_EQ_INT(err.status, 500);
	lh_error_clear(&err);
	/* No server there: the store opens not ready (ADR 0201); every call
	 * and the readiness ping answer a clear 503 until it connects. */
	struct catalog_store *pg =
		catalog_store_open("postgres", "host=127.0.0.1 port=1 connect_timeout=2", &err);
	CHECK(pg != NULL);
	CHECK_EQ_INT(err.status, 0);
	CHECK(catalog_store_ping(pg, &err) == -1);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	lh_error_clear(&err);
	struct catalog_summary *list = NULL;
	size_t n = 0;
	CHECK(catalog_store_list_datasets(pg, &list, &n, &err) == -1);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	lh_error_clear(&err);
	catalog_store_close(pg);
	/* SQLite (or the run's backend) is ready once open */
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	CHECK(s != NULL);
	CHECK(catalog_store_ping(s, &err) == 0);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

/* --- names unique regardless of letter case (note 6, ADR 0112) ---------- */

/* Register; on failure copy the error code (and existing_name) out. */
static int64_t reg_code(struct catalog_store *s, const char *name, const char *objects,
			const char *mode, char code[32], char existing[80])
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version(name, SCHEMA, objects, mode);
	struct catalog_version *out = NULL;
	int got = 0;
	int64_t r;
	code[0] = existing[0] = '\0';
	if (catalog_store_register(s, req, &out, &got, &err)) {
		r = -err.status;
		snprintf(code, 32, "%s", err.code);
		const char *e = json_string_value(json_object_get(err.extra, "existing_name"));
		snprintf(existing, 80, "%s", e ? e : "");
	} else {
		r = got ? 0 : out->version;
	}
	catalog_version_destroy(req);
	catalog_version_destroy(out);
	lh_error_clear(&err);
	return r;
}

/* The first object key of the latest version of `name`, or "" on error. */
static const char *first_key(struct catalog_store *s, const char *name, char out[32])
{
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	out[0] = '\0';
	if (!catalog_store_get(s, name, 0, &v, &err) && v->nobjects)
		snprintf(out, 32, "%s", v->objects[0].key);
	catalog_version_destroy(v);
	lh_error_clear(&err);
	return out;
}

TEST(catalog_store_names_unique_nocase)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	size_t n = 0;
	char code[32], existing[80];
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "salaries", SCHEMA, "a=1", NULL), 1);
	/* a new name equal but for case: 409, nothing written, both modes */
	CHECK_EQ_INT(reg_code(s, "SALARIES", "evil=1", NULL, code, existing), -409);
	CHECK_EQ_STR(code, "name_conflict");
	CHECK_EQ_STR(existing, "salaries");
	CHECK_EQ_INT(reg_code(s, "Salaries", "evil=1", "append", code, existing), -409);
	CHECK_EQ_STR(code, "name_conflict");
	CHECK_EQ_INT(latest_version(s, "SALARIES"), -404);
	CHECK_EQ_INT(latest_version(s, "Salaries"), -404);
	CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(list[0].name, "salaries");
	free(list);
	CHECK_EQ_INT(catalog_store_list_versions(s, "salaries", &list, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	free(list);
	/* the exact name still gets versions; other names are untouched */
	CHECK_EQ_INT(reg(s, "salaries", SCHEMA, "b=2", "append"), 2);
	CHECK_EQ_INT(reg(s, "salaries_2024", SCHEMA, "c=1", NULL), 1);
	/* reads are exact: no case-insensitive lookup anywhere */
	CHECK_EQ_INT(catalog_store_list_versions(s, "SALARIES", &list, &n, &err), -1);
	CHECK_EQ_INT(err.status, 404);
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_store_drop(s, "SALARIES", &err), -1);
	CHECK_EQ_INT(err.status, 404);
	lh_error_clear(&err);
	/* once dropped, the name is free in any case */
	CHECK_EQ_INT(catalog_store_drop(s, "salaries", &err), 0);
	CHECK_EQ_INT(reg(s, "SALARIES", SCHEMA, "d=1", NULL), 1);
	CHECK_EQ_INT(reg_code(s, "salaries", "e=1", NULL, code, existing), -409);
	CHECK_EQ_STR(existing, "SALARIES");
	catalog_store_close(s);
	store_fixture_remove(&f);
}

struct case_racer {
	struct catalog_store *s;
	pthread_barrier_t *start;
	char name[32];
	int64_t result;
	char code[32];
};

static void *case_racer_run(void *arg)
{
	struct case_racer *r = arg;
	char existing[80];
	pthread_barrier_wait(r->start);
	r->result = reg_code(r->s, r->name, "o=1", NULL, r->code, existing);
	return NULL;
}

/* Registers of one name in different letter cases, all at once: exactly one
 * creates the dataset, every other is 409 name_conflict. */
TEST(catalog_store_names_nocase_concurrent)
{
	static const char *const variants[] = { "payroll", "PAYROLL", "Payroll", "pAyroll",
						"paYroll", "payRoll", "payrOll", "payroLL" };
	enum { NV = sizeof variants / sizeof variants[0], ROUNDS = 6 };
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	CHECK(s != NULL);
	for (int round = 0; round < ROUNDS; round++) {
		struct case_racer r[NV];
		pthread_t t[NV];
		pthread_barrier_t start;
		struct catalog_summary *list = NULL;
		struct lh_error err = { 0 };
		size_t n = 0;
		int won = 0;
		pthread_barrier_init(&start, NULL, NV);
		for (int i = 0; i < NV; i++) {
			memset(&r[i], 0, sizeof r[i]);
			r[i].s = s;
			r[i].start = &start;
			snprintf(r[i].name, sizeof r[i].name, "%s%d", variants[i], round);
			CHECK_EQ_INT(pthread_create(&t[i], NULL, case_racer_run, &r[i]), 0);
		}
		for (int i = 0; i < NV; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		for (int i = 0; i < NV; i++) {
			if (r[i].result == 1) {
				won++;
				continue;
			}
			CHECK_EQ_INT(r[i].result, -409);
			CHECK_EQ_STR(r[i].code, "name_conflict");
		}
		CHECK_EQ_INT(won, 1);
		CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
		free(list);
		CHECK_EQ_INT(n, (size_t)round + 1);
	}
	catalog_store_close(s);
	store_fixture_remove(&f);
}

/* Run `sql` on the test's database directly, outside the store. */
static int raw_sql(const struct store_fixture *f, const char *sql)
{
	int rc = -1;
	if (is_sqlite()) {
		sqlite3 *db = NULL;
		char *msg = NULL;
		if (sqlite3_open(f->path, &db) == SQLITE_OK &&
		    sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
			rc = 0;
		else
			fprintf(stderr, "  raw sql: %s\n", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return rc;
	}
	PGconn *pg = PQconnectdb(f->path);
	PGresult *res = PQexec(pg, sql);
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = 0;
	else
		fprintf(stderr, "  raw sql: %s\n", PQerrorMessage(pg));
	PQclear(res);
	PQfinish(pg);
	return rc;
}

/* A catalog made before names were unique regardless of case may hold two
 * such names: after the upgrade, both stay readable and writable by their
 * exact names, and no third one can join them. */
TEST(catalog_store_names_legacy_pair)
{
	/* Undo migration 2 and rename "legacy_tmp" to "SALARIES": the database
	 * as an older lakehouse could have left it. */
	static const char sqlite_old[] =
		"DROP TABLE IF EXISTS dataset_masks;"
		"DROP TABLE index_parts; DROP TABLE index_builds; DROP TABLE index_decls;"
		"DROP TRIGGER datasets_name_nocase_insert;"
		"DROP TRIGGER datasets_name_nocase_update;"
		"DROP INDEX datasets_name_lower;"
		"UPDATE datasets SET name = 'SALARIES' WHERE name = 'legacy_tmp';"
		"PRAGMA user_version = 1;";
	static const char pg_old[] =
		"BEGIN;"
		"DROP TABLE IF EXISTS dataset_masks;"
		"DROP TABLE index_parts; DROP TABLE index_builds; DROP TABLE index_decls;"
		"DELETE FROM schema_migrations WHERE version >= 3;"
		"DROP TRIGGER datasets_name_nocase ON datasets;"
		"DROP FUNCTION lakehouse_datasets_name_nocase();"
		"DROP INDEX datasets_name_lower;"
		"UPDATE datasets SET name = 'SALARIES' WHERE name = 'legacy_tmp';"
		"DELETE FROM schema_migrations WHERE version >= 2;"
		"COMMIT;";
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_summary *list = NULL;
	size_t n = 0;
	char code[32], existing[80], key[32];
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "salaries", SCHEMA, "mine=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "legacy_tmp", SCHEMA, "theirs=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "legacy_tmp", SCHEMA, "theirs2=1", "append"), 2);
	catalog_store_close(s);
	CHECK_EQ_INT(raw_sql(&f, is_sqlite() ? sqlite_old : pg_old), 0);

	/* the upgrade (migration 2 again) accepts the pair */
	s = catalog_store_open(test_backend(), f.path, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(list[0].name, "SALARIES");
	CHECK_EQ_STR(list[1].name, "salaries");
	free(list);
	/* each read by its exact name */
	CHECK_EQ_STR(first_key(s, "salaries", key), "mine");
	CHECK_EQ_STR(first_key(s, "SALARIES", key), "theirs");
	CHECK_EQ_INT(latest_version(s, "salaries"), 1);
	CHECK_EQ_INT(latest_version(s, "SALARIES"), 2);
	CHECK_EQ_INT(catalog_store_list_versions(s, "salaries", &list, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	free(list);
	CHECK_EQ_INT(latest_version(s, "Salaries"), -404);
	/* each still takes versions by its exact name */
	CHECK_EQ_INT(reg(s, "salaries", SCHEMA, "mine2=1", "append"), 2);
	CHECK_EQ_INT(reg(s, "SALARIES", SCHEMA, "theirs3=1", "append"), 3);
	CHECK_EQ_STR(first_key(s, "salaries", key), "mine");
	/* no third name joins them */
	CHECK_EQ_INT(reg_code(s, "Salaries", "x=1", NULL, code, existing), -409);
	CHECK_EQ_STR(code, "name_conflict");
	CHECK_EQ_STR(existing, "SALARIES");
	/* the database itself refuses one too (a writer that skips the check) */
	CHECK(raw_sql(&f, "INSERT INTO datasets (name, created_ms, latest_version)"
			  " VALUES ('sAlaries', 1, 1)") != 0);
	/* dropping one leaves the other; its name is then taken */
	CHECK_EQ_INT(catalog_store_drop(s, "SALARIES", &err), 0);
	CHECK_EQ_STR(first_key(s, "salaries", key), "mine");
	CHECK_EQ_INT(reg_code(s, "SALARIES", "y=1", NULL, code, existing), -409);
	CHECK_EQ_STR(existing, "salaries");
	catalog_store_close(s);
	store_fixture_remove(&f);
}

/* --- concurrency ------------------------------------------------------- */

#define NTHREADS 16

struct worker {
	struct catalog_store *s;
	char name[32];
	char objects[64];
	const char *mode;
	int repeat;
	int64_t versions[16];
	int failed;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->repeat; i++) {
		char objs[160];
		if (w->repeat > 1)
			snprintf(objs, sizeof objs, "%s_%d=%d", w->objects, i, i + 1);
		else
			snprintf(objs, sizeof objs, "%s", w->objects);
		w->versions[i] = reg(w->s, w->name, SCHEMA, objs, w->mode);
		if (w->versions[i] <= 0)
			w->failed = 1;
	}
	return NULL;
}

static int run_workers(struct worker *w, int n)
{
	pthread_t t[NTHREADS];
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker_run, &w[i]))
			return -1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

TEST(catalog_store_concurrent_one_name)
{
	const char *modes[] = { "append", "replace" };
	for (int m = 0; m < 2; m++) {
		struct store_fixture f;
		struct catalog_store *s = store_open_fresh(&f);
		struct worker w[NTHREADS];
		struct lh_error err = { 0 };
		struct catalog_version *v = NULL;
		int seen[NTHREADS + 1] = { 0 };
		CHECK(s != NULL);
		memset(w, 0, sizeof w);
		for (int i = 0; i < NTHREADS; i++) {
			w[i].s = s;
			snprintf(w[i].name, sizeof w[i].name, "shared");
			snprintf(w[i].objects, sizeof w[i].objects, "obj%02d=%d", i, i + 1);
			w[i].mode = modes[m];
			w[i].repeat = 1;
		}
		CHECK_EQ_INT(run_workers(w, NTHREADS), 0);
		for (int i = 0; i < NTHREADS; i++) {
			CHECK(!w[i].failed);
			CHECK(w[i].versions[0] >= 1 && w[i].versions[0] <= NTHREADS);
			CHECK(!seen[w[i].versions[0]]);  /* no version twice */
			seen[w[i].versions[0]] = 1;
		}
		CHECK_EQ_INT(latest_version(s, "shared"), NTHREADS);
		/* each version holds what its writer registered */
		for (int i = 0; i < NTHREADS; i++) {
			CHECK_EQ_INT(catalog_store_get(s, "shared", w[i].versions[0], &v, &err), 0);
			char key[16];
			snprintf(key, sizeof key, "obj%02d", i);
			int found = 0;
			for (size_t k = 0; k < v->nobjects; k++)
				found += !strcmp(v->objects[k].key, key);
			CHECK_EQ_INT(found, 1);
			if (m == 0)
				CHECK_EQ_INT(v->nobjects, (size_t)w[i].versions[0]);
			else
				CHECK_EQ_INT(v->nobjects, 1);
			catalog_version_destroy(v);
			v = NULL;
		}
		catalog_store_close(s);
		store_fixture_remove(&f);
	}
}

TEST(catalog_store_concurrent_many_names)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct worker w[8];
	CHECK(s != NULL);
	memset(w, 0, sizeof w);
	for (int i = 0; i < 8; i++) {
		w[i].s = s;
		snprintf(w[i].name, sizeof w[i].name, "ds%d", i);
		snprintf(w[i].objects, sizeof w[i].objects, "o");
		w[i].mode = "append";
		w[i].repeat = 10;
	}
	CHECK_EQ_INT(run_workers(w, 8), 0);
	for (int i = 0; i < 8; i++) {
		CHECK(!w[i].failed);
		for (int k = 0; k < 10; k++)
			CHECK_EQ_INT(w[i].versions[k], k + 1);
		CHECK_EQ_INT(latest_version(s, w[i].name), 10);
	}
	catalog_store_close(s);
	store_fixture_remove(&f);
}

/* --- garbage collection (catalog_store.h note 5, catalogd/gc.c) ---------- */

/* The fake object store of the GC tests: keys "gone*" are absent, and the
 * calls are recorded. */
struct fake_objects {
	pthread_mutex_t lock;
	int checks, removes;
	char last_checked[32];
	int in_check, in_remove;    /* set while a callback runs */
	int deleted_k;              /* "k" was removed */
	int slow_ms;                /* each callback sleeps this long */
	int fail_remove;
};

static void fake_sleep(int ms)
{
	usleep((useconds_t)ms * 1000);
}

static int fake_check(void *ctx, const char *key, struct lh_error *err)
{
	struct fake_objects *f = ctx;
	int gone;
	pthread_mutex_lock(&f->lock);
	f->checks++;
	f->in_check = 1;
	snprintf(f->last_checked, sizeof f->last_checked, "%s", key);
	gone = strstr(key, "gone") != NULL || (!strcmp(key, "k") && f->deleted_k);
	pthread_mutex_unlock(&f->lock);
	fake_sleep(f->slow_ms);
	if (gone)
		return lh_fail(err, 409, "object_missing", "object \"%s\" is missing", key);
	return 0;
}

static int fake_remove(void *ctx, const char *key, struct lh_error *err)
{
	struct fake_objects *f = ctx;
	if (f->fail_remove)
		return lh_fail(err, 502, "upstream_failed", "storaged said no");
	pthread_mutex_lock(&f->lock);
	f->removes++;
	f->in_remove = 1;
	if (!strcmp(key, "k"))
		f->deleted_k = 1;
	pthread_mutex_unlock(&f->lock);
	fake_sleep(f->slow_ms);
	return strncmp(key, "absent", 6) ? 0 : 1;
}

static void fake_init(struct fake_objects *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->lock, NULL);
}

TEST(catalog_store_gc_referenced_keys)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	char **keys = NULL;
	size_t n = 0;
	CHECK(s != NULL);
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=1,a=2", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "c=3", "replace"), 2);  /* v1 retained */
	CHECK_EQ_INT(reg(s, "other", SCHEMA, "b=1,Z=1", NULL), 1);
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 4);  /* distinct, strcmp order */
	CHECK_EQ_STR(keys[0], "Z");
	CHECK_EQ_STR(keys[1], "a");
	CHECK_EQ_STR(keys[2], "b");
	CHECK_EQ_STR(keys[3], "c");
	catalog_keys_free(keys, n);
	CHECK_EQ_INT(catalog_store_drop(s, "people", &err), 0);  /* its objects: garbage */
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(keys[0], "Z");
	CHECK_EQ_STR(keys[1], "b");
	catalog_keys_free(keys, n);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_gc_sweep)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct fake_objects fo;
	const char *keys[] = { "a", "x", "absent1", "y" };
	unsigned char removed[4];
	CHECK(s != NULL);
	fake_init(&fo);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(catalog_store_gc_sweep(s, keys, 4, fake_remove, &fo, removed, &err), 0);
	CHECK_EQ_INT(removed[0], 0);  /* referenced: never handed to remove */
	CHECK_EQ_INT(removed[1], 1);
	CHECK_EQ_INT(removed[2], 0);  /* already absent */
	CHECK_EQ_INT(removed[3], 1);
	CHECK_EQ_INT(fo.removes, 3);
	fo.fail_remove = 1;
	CHECK_EQ_INT(catalog_store_gc_sweep(s, keys, 4, fake_remove, &fo, removed, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_INT(removed[1], 0);
	lh_error_clear(&err);
	/* the store still works: the lock was given back */
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=1", "append"), 2);
	catalog_store_close(s);
	store_fixture_remove(&f);
	pthread_mutex_destroy(&fo.lock);
}

TEST(catalog_store_gc_object_check)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct fake_objects fo;
	CHECK(s != NULL);
	fake_init(&fo);
	catalog_store_set_object_check(s, fake_check, &fo);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "gone1=1", NULL), -409);
	CHECK_EQ_INT(latest_version(s, "people"), -404);  /* nothing written */
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(fo.checks, 2);
	/* append: only the object the latest version does not hold is checked */
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=2", "append"), 2);
	CHECK_EQ_INT(fo.checks, 3);
	CHECK_EQ_STR(fo.last_checked, "b");
	/* existing: no new version, no check */
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "b=2", "append"), 0);
	CHECK_EQ_INT(fo.checks, 3);
	CHECK_EQ_INT(reg(s, "people", SCHEMA, "gone2=1", "append"), -409);
	CHECK_EQ_INT(latest_version(s, "people"), 2);
	catalog_store_close(s);
	store_fixture_remove(&f);
	pthread_mutex_destroy(&fo.lock);
}

struct gc_race {
	struct catalog_store *s;
	struct fake_objects *fo;
	int64_t version;            /* register thread's result */
	int sweep_rc;
	unsigned char removed[1];
};

static void *race_register(void *arg)
{
	struct gc_race *r = arg;
	r->version = reg(r->s, "people", SCHEMA, "k=1", NULL);
	return NULL;
}

static void *race_sweep(void *arg)
{
	struct gc_race *r = arg;
	struct lh_error err = { 0 };
	const char *keys[] = { "k" };
	r->sweep_rc = catalog_store_gc_sweep(r->s, keys, 1, fake_remove, r->fo, r->removed, &err);
	lh_error_clear(&err);
	return NULL;
}

/* Wait (bounded) until *flag is set under f->lock. */
static int wait_flag(struct fake_objects *f, int *flag)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&f->lock);
		int v = *flag;
		pthread_mutex_unlock(&f->lock);
		if (v)
			return 0;
		fake_sleep(10);
	}
	return -1;
}

/* The race GC must never lose (gc.c note 5), both ways round. */
TEST(catalog_store_gc_excludes_register)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct fake_objects fo;
	struct gc_race r = { 0 };
	pthread_t t1, t2;
	CHECK(s != NULL);
	fake_init(&fo);
	fo.slow_ms = 300;
	catalog_store_set_object_check(s, fake_check, &fo);
	r.s = s;
	r.fo = &fo;

	/* 1. A register is in its object check; a sweep of its key starts: the
	 *    sweep waits for the commit, then sees "k" referenced and keeps it. */
	CHECK_EQ_INT(pthread_create(&t1, NULL, race_register, &r), 0);
	CHECK_EQ_INT(wait_flag(&fo, &fo.in_check), 0);
	CHECK_EQ_INT(pthread_create(&t2, NULL, race_sweep, &r), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ_INT(r.version, 1);
	CHECK_EQ_INT(r.sweep_rc, 0);
	CHECK_EQ_INT(r.removed[0], 0);
	CHECK_EQ_INT(fo.removes, 0);

	/* 2. A sweep is deleting "k" (unreferenced after the drop); a register
	 *    of "k" starts: it waits, its check sees "k" gone, nothing written. */
	struct lh_error err = { 0 };
	CHECK_EQ_INT(catalog_store_drop(s, "people", &err), 0);
	fo.in_check = 0;
	CHECK_EQ_INT(pthread_create(&t2, NULL, race_sweep, &r), 0);
	CHECK_EQ_INT(wait_flag(&fo, &fo.in_remove), 0);
	CHECK_EQ_INT(pthread_create(&t1, NULL, race_register, &r), 0);
	pthread_join(t2, NULL);
	pthread_join(t1, NULL);
	CHECK_EQ_INT(r.sweep_rc, 0);
	CHECK_EQ_INT(r.removed[0], 1);
	CHECK_EQ_INT(r.version, -409);
	CHECK_EQ_INT(latest_version(s, "people"), -404);
	catalog_store_close(s);
	store_fixture_remove(&f);
	pthread_mutex_destroy(&fo.lock);
}

/* --- search indexes (catalog_store.h note 7, catalog_index.h) ------------- */

#define ISCHEMA "id:int64,title:utf8,notes:utf8"

/* A declaration of `text_json` (a JSON array text) against name's latest
 * version, through the interface: the outcome (0 same, 1 new, 2 replaced)
 * or -status. */
static int declare(struct catalog_store *s, const char *name, const char *body_json)
{
	struct lh_error err = { 0 };
	struct catalog_version *latest = NULL;
	struct catalog_index_decl d = { 0 };
	json_t *body = json_loads(body_json, 0, NULL);
	int outcome = 0, r;
	if (catalog_store_get(s, name, 0, &latest, &err) ||
	    catalog_index_decl_parse(body, latest, &d, &err) ||
	    catalog_store_index_declare(s, name, &d, latest->version, latest->fingerprint,
					&outcome, &err))
		r = -err.status;
	else
		r = outcome;
	json_decref(body);
	catalog_version_destroy(latest);
	catalog_index_decl_free(&d);
	lh_error_clear(&err);
	return r;
}

static struct catalog_index_info *index_info(struct catalog_store *s, const char *name,
					     struct lh_error *err)
{
	struct catalog_index_info *i = NULL;
	catalog_store_index_get(s, name, &i, err);
	return i;
}

/* Record `state` for `version` with parts "obj>part,..." (part keys get
 * "_index/" put first): 0, 1 (ignored) or -status (err's code in code[]). */
static int record(struct catalog_store *s, const char *name, const char *fp, int64_t version,
		  const char *state, const char *parts, char code[32])
{
	struct lh_error err = { 0 };
	struct catalog_index_build b = { 0 };
	int ignored = 0, r;
	b.version = version;
	catalog_index_state_parse(state, &b.state);
	b.rows_indexed = 5;
	b.build_ms = 7;
	if (b.state == CATALOG_INDEX_FAILED)
		b.reason = xstrdup("it broke");
	while (parts && *parts) {
		const char *gt = strchr(parts, '>'), *comma = strchr(parts, ',');
		size_t end = comma ? (size_t)(comma - parts) : strlen(parts);
		char *obj = xstrndup(parts, (size_t)(gt - parts));
		size_t plen = end - (size_t)(gt + 1 - parts);
		char *part = xasprintf("_index/%.*s", (int)plen, gt + 1);
		catalog_index_build_add_part(&b, obj, part, 3, 100);
		free(obj);
		free(part);
		parts = comma ? comma + 1 : NULL;
	}
	if (catalog_store_index_record(s, name, fp, &b, &ignored, &err))
		r = -err.status;
	else
		r = ignored;
	if (code)
		snprintf(code, 32, "%s", err.code);
	catalog_index_build_free(&b);
	lh_error_clear(&err);
	return r;
}

TEST(catalog_store_index_declare_get_drop)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	CHECK(s != NULL);
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), -404);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "b=2", "append"), 2);
	CHECK(index_info(s, "people", &err) == NULL);
	CHECK_EQ_INT(err.status, 404);
	CHECK_EQ_STR(err.code, "no_index");
	CHECK(strstr(err.msg, "lakehouse index people --text") != NULL);
	lh_error_clear(&err);
	CHECK(index_info(s, "nobody", &err) == NULL);
	CHECK_EQ_STR(err.code, "not_found");
	lh_error_clear(&err);

	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\",\"notes\"],\"id\":\"id\"}"), 1);
	CHECK_EQ_INT(declare(s, "people", "{\"id\":\"id\",\"text\":[\"title\",\"notes\"],"
					  "\"embedder\":\"builtin\"}"), 0);  /* the same */
	i = index_info(s, "people", &err);
	CHECK(i != NULL);
	CHECK_EQ_INT(i->from_version, 2);  /* the latest at declaration time */
	CHECK_EQ_STR(i->decl.json, "{\"embedder\":\"builtin\",\"id\":\"id\","
				   "\"text\":[\"title\",\"notes\"]}");
	CHECK(catalog_fingerprint_valid(i->decl.fingerprint));
	CHECK(i->component == NULL);
	CHECK_EQ_INT(i->nbuilds, 1);
	CHECK_EQ_INT(i->builds[0].version, 2);
	CHECK_EQ_INT(i->builds[0].state, CATALOG_INDEX_PENDING);
	CHECK_EQ_INT(i->builds[0].version_rows, 3);
	catalog_index_info_destroy(i);

	/* a later version is covered too */
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "c=4", "append"), 3);
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->nbuilds, 2);
	CHECK_EQ_INT(i->builds[1].version, 3);
	catalog_index_info_destroy(i);

	/* another declaration replaces it, from the latest version */
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"notes\"]}"), 2);
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->from_version, 3);
	CHECK_EQ_INT(i->nbuilds, 1);
	catalog_index_info_destroy(i);

	CHECK_EQ_INT(catalog_store_index_drop(s, "people", &err), 0);
	CHECK_EQ_INT(catalog_store_index_drop(s, "people", &err), -1);
	CHECK_EQ_STR(err.code, "no_index");
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_store_index_drop(s, "nobody", &err), -1);
	CHECK_EQ_STR(err.code, "not_found");
	lh_error_clear(&err);
	CHECK_EQ_INT(latest_version(s, "people"), 3);  /* the data stays */

	/* dropping the dataset drops its declaration; a new one starts bare */
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"notes\"]}"), 1);
	CHECK_EQ_INT(catalog_store_drop(s, "people", &err), 0);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	CHECK(index_info(s, "people", &err) == NULL);
	CHECK_EQ_STR(err.code, "no_index");
	lh_error_clear(&err);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_index_declare_races_a_drop)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_version *latest = NULL;
	struct catalog_index_decl d = { 0 };
	json_t *body = json_loads("{\"text\":[\"title\"]}", 0, NULL);
	int outcome = 9;
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "b=1", NULL), 2);
	CHECK_EQ_INT(catalog_store_get(s, "people", 0, &latest, &err), 0);
	CHECK_EQ_INT(catalog_index_decl_parse(body, latest, &d, &err), 0);
	/* dropped and made again with another schema between validation and write */
	CHECK_EQ_INT(catalog_store_drop(s, "people", &err), 0);
	CHECK_EQ_INT(reg(s, "people", "id:int64,title:int64", "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", "id:int64,title:int64", "b=1", NULL), 2);
	CHECK_EQ_INT(catalog_store_index_declare(s, "people", &d, latest->version,
						 latest->fingerprint, &outcome, &err), -1);
	CHECK_EQ_INT(err.status, 409);
	CHECK_EQ_STR(err.code, "write_conflict");
	lh_error_clear(&err);
	CHECK(index_info(s, "people", &err) == NULL);
	lh_error_clear(&err);
	json_decref(body);
	catalog_version_destroy(latest);
	catalog_index_decl_free(&d);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_index_records)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	struct fake_objects fo;
	char fp[CATALOG_FP_LEN + 1], code[32];
	CHECK(s != NULL);
	fake_init(&fo);
	catalog_store_set_object_check(s, fake_check, &fo);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1,b=2", NULL), 1);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "c=4", "append"), 2);
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), 1);
	i = index_info(s, "people", &err);
	snprintf(fp, sizeof fp, "%s", i->decl.fingerprint);
	catalog_index_info_destroy(i);
	/* the index applies from version 2 on */
	CHECK_EQ_INT(record(s, "people", fp, 1, "building", NULL, code), -400);
	CHECK_EQ_INT(record(s, "people", fp, 3, "building", NULL, code), -404);
	CHECK_EQ_STR(code, "not_found");
	CHECK_EQ_INT(record(s, "nobody", fp, 1, "building", NULL, code), -404);
	CHECK_EQ_INT(record(s, "people", "sha256:00000000000000000000000000000000"
				 "00000000000000000000000000000000", 2, "building", NULL, code),
		     -409);
	CHECK_EQ_STR(code, "index_changed");

	CHECK_EQ_INT(record(s, "people", fp, 2, "building", NULL, code), 0);
	CHECK_EQ_INT(record(s, "people", fp, 2, "building", NULL, code), 0);  /* heartbeat */
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->builds[0].state, CATALOG_INDEX_BUILDING);
	CHECK_EQ_INT(i->builds[0].attempts, 1);
	CHECK(i->builds[0].updated_ms > 0);
	catalog_index_info_destroy(i);

	/* a part for an object the version does not hold: 400, nothing written */
	CHECK_EQ_INT(record(s, "people", fp, 2, "ready", "zz>p/zz", code), -400);
	/* a part missing from the object store: 409 object_missing, nothing written */
	CHECK_EQ_INT(record(s, "people", fp, 2, "ready", "a>p/a,b>p/gone", code), -409);
	CHECK_EQ_STR(code, "object_missing");
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->builds[0].state, CATALOG_INDEX_BUILDING);
	CHECK_EQ_INT(i->builds[0].nparts, 0);
	catalog_index_info_destroy(i);

	int checks = fo.checks;
	CHECK_EQ_INT(record(s, "people", fp, 2, "ready", "a>p/a,b>p/b,c>p/c", code), 0);
	CHECK_EQ_INT(fo.checks, checks + 3);
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->builds[0].state, CATALOG_INDEX_READY);
	CHECK_EQ_INT(i->builds[0].rows_indexed, 5);
	CHECK_EQ_INT(i->builds[0].build_ms, 7);
	CHECK_EQ_INT(i->builds[0].nparts, 3);
	CHECK_EQ_STR(i->builds[0].parts[0].object_key, "a");
	CHECK_EQ_STR(i->builds[0].parts[2].part_key, "_index/p/c");
	CHECK_EQ_INT(i->builds[0].parts[1].rows, 3);
	CHECK_EQ_INT(i->builds[0].parts[1].bytes, 100);
	catalog_index_info_destroy(i);
	/* ready is final */
	CHECK_EQ_INT(record(s, "people", fp, 2, "failed", NULL, code), 1);
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->builds[0].state, CATALOG_INDEX_READY);
	catalog_index_info_destroy(i);

	/* an append shares the parts of the objects it keeps: not checked again */
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "d=1", "append"), 3);
	checks = fo.checks;
	CHECK_EQ_INT(record(s, "people", fp, 3, "ready", "a>p/a,b>p/b,c>p/c,d>p/d", code), 0);
	CHECK_EQ_INT(fo.checks, checks + 1);
	CHECK_EQ_STR(fo.last_checked, "_index/p/d");

	/* failures count attempts */
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "e=1", "append"), 4);
	CHECK_EQ_INT(record(s, "people", fp, 4, "failed", NULL, code), 0);
	CHECK_EQ_INT(record(s, "people", fp, 4, "building", NULL, code), 0);
	CHECK_EQ_INT(record(s, "people", fp, 4, "failed", NULL, code), 0);
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->nbuilds, 3);
	CHECK_EQ_INT(i->builds[2].state, CATALOG_INDEX_FAILED);
	CHECK_EQ_INT(i->builds[2].attempts, 2);
	CHECK_EQ_STR(i->builds[2].reason, "it broke");
	catalog_index_info_destroy(i);

	/* a re-declaration drops the records: the old builder is told */
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"notes\"]}"), 2);
	CHECK_EQ_INT(record(s, "people", fp, 4, "ready", NULL, code), -409);
	CHECK_EQ_STR(code, "index_changed");
	catalog_store_close(s);
	store_fixture_remove(&f);
	pthread_mutex_destroy(&fo.lock);
}

/* The names in the pending queue, "name@version,...". */
static void pending_names(struct catalog_store *s, int64_t stale_ms, char *out, size_t cap)
{
	struct lh_error err = { 0 };
	struct catalog_index_pending *p = NULL;
	size_t n = 0, len = 0;
	out[0] = '\0';
	if (catalog_store_index_pending(s, stale_ms, 100, &p, &n, &err)) {
		snprintf(out, cap, "error %s", err.code);
		lh_error_clear(&err);
		return;
	}
	for (size_t i = 0; i < n && len < cap; i++) {
		int w = snprintf(out + len, cap - len, "%s%s@%lld%s", i ? "," : "", p[i].name,
				 (long long)p[i].version,
				 p[i].state == CATALOG_INDEX_PENDING ? "" : "*");
		len += w > 0 ? (size_t)w : 0;
	}
	catalog_index_pending_free(p, n);
}

TEST(catalog_store_index_pending_queue)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	char fp[CATALOG_FP_LEN + 1], q[256];
	CHECK(s != NULL);
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "");
	CHECK_EQ_INT(reg(s, "zeta", ISCHEMA, "z=1", NULL), 1);
	fake_sleep(3);
	CHECK_EQ_INT(reg(s, "alpha", ISCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(reg(s, "other", ISCHEMA, "o=1", NULL), 1);  /* never declared */
	CHECK_EQ_INT(declare(s, "zeta", "{\"text\":[\"title\"]}"), 1);
	CHECK_EQ_INT(declare(s, "alpha", "{\"text\":[\"title\"]}"), 1);
	fake_sleep(3);
	CHECK_EQ_INT(reg(s, "zeta", ISCHEMA, "y=1", "append"), 2);
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "zeta@1,alpha@1,zeta@2");  /* oldest version first */

	i = index_info(s, "zeta", &err);
	snprintf(fp, sizeof fp, "%s", i->decl.fingerprint);
	catalog_index_info_destroy(i);
	CHECK_EQ_INT(record(s, "zeta", fp, 1, "building", NULL, NULL), 0);
	CHECK_EQ_INT(record(s, "zeta", fp, 2, "ready", NULL, NULL), 0);
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "alpha@1");  /* building and fresh; ready */
	fake_sleep(5);
	pending_names(s, 1, q, sizeof q);
	CHECK_EQ_STR(q, "zeta@1*,alpha@1");  /* a build that stopped reporting */

	/* failed: retried until LH_INDEX_BUILD_MAX_ATTEMPTS */
	CHECK_EQ_INT(record(s, "zeta", fp, 1, "failed", NULL, NULL), 0);   /* attempt 1 */
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "zeta@1*,alpha@1");
	CHECK_EQ_INT(record(s, "zeta", fp, 1, "building", NULL, NULL), 0); /* attempt 2 */
	CHECK_EQ_INT(record(s, "zeta", fp, 1, "failed", NULL, NULL), 0);
	CHECK_EQ_INT(record(s, "zeta", fp, 1, "building", NULL, NULL), 0); /* attempt 3 */
	CHECK_EQ_INT(record(s, "zeta", fp, 1, "failed", NULL, NULL), 0);
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "alpha@1");
	i = index_info(s, "zeta", &err);
	CHECK_EQ_INT(i->builds[0].attempts, LH_INDEX_BUILD_MAX_ATTEMPTS);
	catalog_index_info_destroy(i);
	/* declaring again starts over */
	CHECK_EQ_INT(declare(s, "zeta", "{\"text\":[\"notes\"]}"), 2);
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "alpha@1,zeta@2");  /* from the latest version on */
	CHECK_EQ_INT(catalog_store_drop(s, "alpha", &err), 0);
	pending_names(s, 60000, q, sizeof q);
	CHECK_EQ_STR(q, "zeta@2");
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_index_component_first_wins)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	char fp[CATALOG_FP_LEN + 1];
	const double one[3] = { 0.25, -0.5, 0.1 }, two[3] = { 1, 2, 3 };
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(catalog_store_index_set_component(s, "people", "sha256:x", one, 3, &err), -1);
	CHECK_EQ_STR(err.code, "no_index");
	lh_error_clear(&err);
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), 1);
	i = index_info(s, "people", &err);
	snprintf(fp, sizeof fp, "%s", i->decl.fingerprint);
	catalog_index_info_destroy(i);
	CHECK_EQ_INT(catalog_store_index_set_component(s, "people", "sha256:x", one, 3, &err), -1);
	CHECK_EQ_STR(err.code, "index_changed");
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_store_index_set_component(s, "people", fp, one, 3, &err), 0);
	CHECK_EQ_INT(catalog_store_index_set_component(s, "people", fp, two, 3, &err), 0);
	i = index_info(s, "people", &err);
	CHECK_EQ_INT(i->component_dim, 3);
	CHECK(i->component[0] == 0.25 && i->component[1] == -0.5);
	CHECK(i->component[2] == 0.1);  /* exactly: the stored text round-trips */
	catalog_index_info_destroy(i);
	/* a float32 value survives bit for bit */
	float x = 0.1f;
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"notes\"]}"), 2);
	i = index_info(s, "people", &err);
	snprintf(fp, sizeof fp, "%s", i->decl.fingerprint);
	CHECK(i->component == NULL);  /* went with the old declaration */
	catalog_index_info_destroy(i);
	double xd = x;
	CHECK_EQ_INT(catalog_store_index_set_component(s, "people", fp, &xd, 1, &err), 0);
	i = index_info(s, "people", &err);
	CHECK((float)i->component[0] == x);
	catalog_index_info_destroy(i);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

TEST(catalog_store_index_parts_are_referenced)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	struct fake_objects fo;
	char fp[CATALOG_FP_LEN + 1], **keys = NULL;
	size_t n = 0;
	const char *sweep[] = { "_index/p/a", "_index/p/old", "a" };
	unsigned char removed[3];
	CHECK(s != NULL);
	fake_init(&fo);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), 1);
	i = index_info(s, "people", &err);
	snprintf(fp, sizeof fp, "%s", i->decl.fingerprint);
	catalog_index_info_destroy(i);
	CHECK_EQ_INT(record(s, "people", fp, 1, "ready", "a>p/a", NULL), 0);
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(keys[0], "_index/p/a");
	CHECK_EQ_STR(keys[1], "a");
	catalog_keys_free(keys, n);
	CHECK_EQ_INT(catalog_store_gc_sweep(s, sweep, 3, fake_remove, &fo, removed, &err), 0);
	CHECK_EQ_INT(removed[0], 0);  /* a live part is never handed to remove */
	CHECK_EQ_INT(removed[1], 1);
	CHECK_EQ_INT(removed[2], 0);
	/* a dropped declaration's parts are garbage */
	CHECK_EQ_INT(catalog_store_index_drop(s, "people", &err), 0);
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	catalog_keys_free(keys, n);
	CHECK_EQ_INT(catalog_store_gc_sweep(s, sweep, 1, fake_remove, &fo, removed, &err), 0);
	CHECK_EQ_INT(removed[0], 1);
	/* and so are a dropped dataset's */
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), 1);
	CHECK_EQ_INT(record(s, "people", fp, 1, "ready", "a>p/a2", NULL), 0);
	CHECK_EQ_INT(catalog_store_drop(s, "people", &err), 0);
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 0);
	catalog_keys_free(keys, n);
	catalog_store_close(s);
	store_fixture_remove(&f);
	pthread_mutex_destroy(&fo.lock);
}

/* A catalog made before search indexes (schema version 2) is upgraded in
 * place when opened: its datasets stay, indexes can be declared. */
TEST(catalog_store_index_migration_of_an_old_catalog)
{
	static const char sqlite_old[] =
		"DROP TABLE IF EXISTS dataset_masks;"
		"DROP TABLE index_parts; DROP TABLE index_builds; DROP TABLE index_decls;"
		"PRAGMA user_version = 2;";
	static const char pg_old[] =
		"BEGIN;"
		"DROP TABLE IF EXISTS dataset_masks;"
		"DROP TABLE index_parts; DROP TABLE index_builds; DROP TABLE index_decls;"
		"DELETE FROM schema_migrations WHERE version >= 3;"
		"COMMIT;";
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	CHECK(s != NULL);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	catalog_store_close(s);
	CHECK_EQ_INT(raw_sql(&f, is_sqlite() ? sqlite_old : pg_old), 0);
	s = catalog_store_open(test_backend(), f.path, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(latest_version(s, "people"), 1);
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), 1);
	i = index_info(s, "people", &err);
	CHECK(i != NULL && i->nbuilds == 1);
	catalog_index_info_destroy(i);
	catalog_store_close(s);
	store_fixture_remove(&f);
}

struct record_race {
	struct catalog_store *s;
	struct fake_objects *fo;
	const char *fp;
	int record_rc, sweep_rc;
	unsigned char removed[1];
};

static void *race_record(void *arg)
{
	struct record_race *r = arg;
	r->record_rc = record(r->s, "people", r->fp, 1, "ready", "a>k", NULL);
	return NULL;
}

static void *race_sweep_part(void *arg)
{
	struct record_race *r = arg;
	struct lh_error err = { 0 };
	const char *keys[] = { "_index/k" };
	r->sweep_rc = catalog_store_gc_sweep(r->s, keys, 1, fake_remove, r->fo, r->removed, &err);
	lh_error_clear(&err);
	return NULL;
}

/* gc.c note 8: a build record in the check of its part holds the GC lock,
 * so a sweep of that part waits for the commit and then keeps it. */
TEST(catalog_store_index_gc_excludes_record)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	struct lh_error err = { 0 };
	struct catalog_index_info *i;
	struct fake_objects fo;
	struct record_race r = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	pthread_t t1, t2;
	CHECK(s != NULL);
	fake_init(&fo);
	CHECK_EQ_INT(reg(s, "people", ISCHEMA, "a=1", NULL), 1);
	CHECK_EQ_INT(declare(s, "people", "{\"text\":[\"title\"]}"), 1);
	i = index_info(s, "people", &err);
	snprintf(fp, sizeof fp, "%s", i->decl.fingerprint);
	catalog_index_info_destroy(i);
	fo.slow_ms = 300;
	catalog_store_set_object_check(s, fake_check, &fo);
	r.s = s;
	r.fo = &fo;
	r.fp = fp;
	CHECK_EQ_INT(pthread_create(&t1, NULL, race_record, &r), 0);
	CHECK_EQ_INT(wait_flag(&fo, &fo.in_check), 0);
	CHECK_EQ_STR(fo.last_checked, "_index/k");
	CHECK_EQ_INT(pthread_create(&t2, NULL, race_sweep_part, &r), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	CHECK_EQ_INT(r.record_rc, 0);
	CHECK_EQ_INT(r.sweep_rc, 0);
	CHECK_EQ_INT(r.removed[0], 0);
	CHECK_EQ_INT(fo.removes, 0);
	catalog_store_close(s);
	store_fixture_remove(&f);
	pthread_mutex_destroy(&fo.lock);
}

/* ADR 0171: a dataset's declared types are stored with a register that says
 * them (also one that makes no version), kept by one that does not, shown
 * with every version, and dropped with the dataset. */
static size_t declared_count(struct catalog_store *s, const char *name, const char **first)
{
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	static char col[64];
	size_t n = (size_t)-1;
	if (catalog_store_get(s, name, 0, &v, &err) == 0 && v->has_declared) {
		n = v->ndeclared;
		snprintf(col, sizeof col, "%s:%s", n ? v->declared[0].name : "",
			 n ? v->declared[0].type : "");
	}
	if (first)
		*first = col;
	catalog_version_destroy(v);
	lh_error_clear(&err);
	return n;
}

static int64_t reg_declared(struct catalog_store *s, const char *objects, const char *mode,
			    const char *const *decl, size_t n, size_t *out_n)
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version("pay", SCHEMA, objects, mode);
	struct catalog_version *out = NULL;
	int existing = 0;
	int64_t r;
	req->has_declared = 1;
	for (size_t i = 0; i < n; i++)
		catalog_version_add_declared(req, decl[2 * i], decl[2 * i + 1]);
	if (catalog_store_register(s, req, &out, &existing, &err)) {
		r = -err.status;
	} else {
		r = existing ? 0 : out->version;
		*out_n = out->has_declared ? out->ndeclared : (size_t)-1;
	}
	catalog_version_destroy(req);
	catalog_version_destroy(out);
	lh_error_clear(&err);
	return r;
}

TEST(catalog_store_declared_types)
{
	struct store_fixture f;
	struct catalog_store *s = store_open_fresh(&f);
	const char *first = NULL;
	static const char *const one[] = { "name", "utf8" };
	static const char *const two[] = { "id", "int64", "name", "utf8" };
	size_t n = 99;
	CHECK(s != NULL);
	CHECK_EQ_INT(reg_declared(s, "a=1", NULL, one, 1, &n), 1);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(declared_count(s, "pay", &first), 1);
	CHECK_EQ_STR(first, "name:utf8");
	CHECK_EQ_INT(reg(s, "pay", SCHEMA, "b=2", "append"), 2);       /* says none: kept */
	CHECK_EQ_INT(declared_count(s, "pay", NULL), 1);
	CHECK_EQ_INT(reg_declared(s, "b=2", "append", two, 2, &n), 0); /* existing, recorded */
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(declared_count(s, "pay", &first), 2);
	CHECK_EQ_STR(first, "id:int64");
	CHECK_EQ_INT(reg_declared(s, "c=3", "append", NULL, 0, &n), 3); /* an empty one replaces */
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(declared_count(s, "pay", NULL), 0);
	CHECK_EQ_INT(reg_declared(s, "d=4", "append", one, 1, &n), 4);
	CHECK_EQ_INT(declared_count(s, "pay", NULL), 1);
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	CHECK_EQ_INT(catalog_store_get(s, "pay", 1, &v, &err), 0);       /* every version shows it */
	CHECK(v->has_declared && v->ndeclared == 1);
	catalog_version_destroy(v);
	/* a drop takes the declaration with it: a new dataset of the name has none */
	CHECK_EQ_INT(catalog_store_drop(s, "pay", &err), 0);
	CHECK_EQ_INT(reg(s, "pay", SCHEMA, "e=5", NULL), 1);
	CHECK_EQ_INT(declared_count(s, "pay", NULL), 0);
	catalog_store_close(s);
	store_fixture_remove(&f);
}
