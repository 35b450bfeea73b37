/* test_catalog_rename.c — rename in the catalog store contract
 * (catalog_store.h note 8, ADR 0175), through the interface only, against
 * every backend like test_catalog_store.c (whose test names these share,
 * so tests/pg_unit.py runs them on PostgreSQL too): a rename keeps every
 * version, object and search index; the new name obeys the name rules of
 * ADR 0112; the old name redirects (case-insensitively) until it is reused,
 * the dataset it points to is dropped, or the redirect is too old; chains
 * follow; the whole rename happens or none of it.
 */
#include "test.h"

#include "catalog_fixtures.h"
#include "catalogd/catalog_store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define RSCHEMA "id:int64,title:utf8"

struct rename_fixture {
	char dir[64];
	char path[128];
};

static const char *rename_backend(void)
{
	const char *b = getenv("LAKEHOUSE_TEST_CATALOG_BACKEND");
	return b && b[0] ? b : "sqlite";
}

/* A fresh store (SQLite: a new temp dir; another backend: emptied). */
static struct catalog_store *rename_open(struct rename_fixture *f)
{
	struct lh_error err = { 0 };
	const char *location = getenv("LAKEHOUSE_TEST_CATALOG_LOCATION");
	int sqlite = !strcmp(rename_backend(), "sqlite");
	snprintf(f->dir, sizeof f->dir, "/tmp/lh-rename-XXXXXX");
	if (!mkdtemp(f->dir))
		return NULL;
	snprintf(f->path, sizeof f->path, "%s/catalog.db", f->dir);
	struct catalog_store *s = catalog_store_open(rename_backend(),
						     sqlite || !location ? f->path : location, &err);
	if (!s)
		fprintf(stderr, "  open: %s\n", err.msg);
	lh_error_clear(&err);
	if (s && !sqlite) {
		struct catalog_summary *list = NULL;
		size_t n = 0;
		if (!catalog_store_list_datasets(s, &list, &n, &err))
			for (size_t i = 0; i < n; i++)
				catalog_store_drop(s, list[i].name, &err);
		free(list);
		lh_error_clear(&err);
	}
	return s;
}

static void rename_close(struct catalog_store *s, struct rename_fixture *f)
{
	const char *suffix[] = { "", "-wal", "-shm" };
	catalog_store_close(s);
	for (size_t i = 0; i < 3; i++) {
		char p[160];
		snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
}

/* Register; the version made (0 = existing) or -status. */
static int64_t rreg(struct catalog_store *s, const char *name, const char *objects,
		    const char *mode)
{
	struct lh_error err = { 0 };
	struct catalog_version *req = fixture_version(name, RSCHEMA, objects, mode);
	struct catalog_version *out = NULL;
	int existing = 0;
	int64_t r = catalog_store_register(s, req, &out, &existing, &err) ? -err.status
				: existing ? 0 : out->version;
	catalog_version_destroy(req);
	catalog_version_destroy(out);
	lh_error_clear(&err);
	return r;
}

/* Rename: the latest version under the new name, or -status with err's code
 * (and existing_name when there is one) in code[] / existing[]. */
static int64_t rrename(struct catalog_store *s, const char *from, const char *to,
		       char code[32], char existing[80])
{
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	int64_t r;
	if (catalog_store_rename(s, from, to, &v, &err))
		r = v ? -999 : -err.status;   /* nothing comes back on a refusal */
	else
		r = strcmp(v->name, to) ? -998 : v->version;
	if (code)
		snprintf(code, 32, "%s", err.code);
	if (existing)
		snprintf(existing, 80, "%s",
			 json_string_value(json_object_get(err.extra, "existing_name")) ?: "");
	catalog_version_destroy(v);
	lh_error_clear(&err);
	return r;
}

/* The redirect of name (any age): its target in to[] and 1, or 0. */
static int redirect(struct catalog_store *s, const char *name, int64_t max_age_ms,
		    char to[LH_DATASET_NAME_MAX + 1])
{
	struct lh_error err = { 0 };
	int64_t ms = -1;
	int r = catalog_store_renamed(s, name, max_age_ms, to, &ms, &err);
	if (r == 1 && ms <= 0)
		r = -2;   /* a redirect without its time */
	if (r < 0)
		fprintf(stderr, "  renamed: %s\n", err.msg);
	lh_error_clear(&err);
	return r;
}

static int64_t rlatest(struct catalog_store *s, const char *name)
{
	struct lh_error err = { 0 };
	struct catalog_version *v = NULL;
	int64_t r = catalog_store_get(s, name, 0, &v, &err) ? -err.status : v->version;
	catalog_version_destroy(v);
	lh_error_clear(&err);
	return r;
}

#define DAY_MS (86400ll * 1000)

TEST(catalog_store_rename_keeps_versions_objects_and_index)
{
	struct rename_fixture f;
	struct catalog_store *s = rename_open(&f);
	struct lh_error err = { 0 };
	struct catalog_version *v1 = NULL, *v = NULL;
	struct catalog_summary *list = NULL;
	struct catalog_index_info *info = NULL;
	struct catalog_index_decl decl = { 0 };
	char **keys = NULL, to[LH_DATASET_NAME_MAX + 1];
	size_t n = 0;
	int outcome = -1;
	json_t *body = json_loads("{\"text\":[\"title\"]}", 0, NULL);
	CHECK(s != NULL);
	CHECK_EQ_INT(rreg(s, "people", "datasets/people/a=2", NULL), 1);
	CHECK_EQ_INT(rreg(s, "people", "datasets/people/b=3", "append"), 2);
	CHECK_EQ_INT(catalog_store_get(s, "people", 1, &v1, &err), 0);
	CHECK_EQ_INT(catalog_store_get(s, "people", 0, &v, &err), 0);
	CHECK_EQ_INT(catalog_index_decl_parse(body, v, &decl, &err), 0);
	CHECK_EQ_INT(catalog_store_index_declare(s, "people", &decl, v->version, v->fingerprint,
						 &outcome, &err), 0);
	CHECK_EQ_INT(outcome, 1);
	catalog_version_destroy(v);
	v = NULL;

	CHECK_EQ_INT(rrename(s, "people", "staff", NULL, NULL), 2);
	/* the old name is gone, the new one has both versions as they were */
	CHECK_EQ_INT(rlatest(s, "people"), -404);
	CHECK_EQ_INT(catalog_store_get(s, "staff", 1, &v, &err), 0);
	CHECK_EQ_STR(v->fingerprint, v1->fingerprint);
	CHECK_EQ_INT(v->nobjects, 1);
	CHECK_EQ_STR(v->objects[0].key, "datasets/people/a");  /* keys are opaque: kept */
	CHECK_EQ_INT(v->created_ms, v1->created_ms);
	CHECK_EQ_INT(v->updated_ms, v1->updated_ms);
	catalog_version_destroy(v);
	v = NULL;
	CHECK_EQ_INT(catalog_store_list_versions(s, "staff", &list, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(list[0].name, "staff");
	free(list);
	CHECK_EQ_INT(catalog_store_list_datasets(s, &list, &n, &err), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(list[0].name, "staff");
	CHECK_EQ_INT(list[0].row_count, 5);
	free(list);
	/* the search index stays declared, with the same fingerprint */
	CHECK_EQ_INT(catalog_store_index_get(s, "staff", &info, &err), 0);
	CHECK(info != NULL);
	if (info) {
		CHECK_EQ_STR(info->decl.fingerprint, decl.fingerprint);
		CHECK_EQ_INT(info->from_version, 2);
	}
	catalog_index_info_destroy(info);
	/* GC still counts every object as referenced */
	CHECK_EQ_INT(catalog_store_referenced_keys(s, &keys, &n, &err), 0);
	CHECK_EQ_INT(n, 2);
	catalog_keys_free(keys, n);
	/* the old name redirects, in any letter case */
	CHECK_EQ_INT(redirect(s, "people", DAY_MS, to), 1);
	CHECK_EQ_STR(to, "staff");
	CHECK_EQ_INT(redirect(s, "PEOPLE", DAY_MS, to), 1);
	CHECK_EQ_INT(redirect(s, "staff", DAY_MS, to), 0);
	CHECK_EQ_INT(redirect(s, "nobody", DAY_MS, to), 0);
	/* the new name takes registers: version 3 */
	CHECK_EQ_INT(rreg(s, "staff", "datasets/people/c=1", "append"), 3);
	CHECK_EQ_INT(rlatest(s, "staff"), 3);
	json_decref(body);
	catalog_index_decl_free(&decl);
	catalog_version_destroy(v1);
	lh_error_clear(&err);
	rename_close(s, &f);
}

TEST(catalog_store_rename_refusals_write_nothing)
{
	struct rename_fixture f;
	struct catalog_store *s = rename_open(&f);
	char code[32], existing[80], to[LH_DATASET_NAME_MAX + 1];
	CHECK(s != NULL);
	CHECK_EQ_INT(rreg(s, "people", "a=1", NULL), 1);
	CHECK_EQ_INT(rreg(s, "Staff", "b=1", NULL), 1);
	CHECK_EQ_INT(rrename(s, "nobody", "x", code, NULL), -404);
	CHECK_EQ_STR(code, "not_found");
	/* another dataset holds the name, in another letter case */
	CHECK_EQ_INT(rrename(s, "people", "staff", code, existing), -409);
	CHECK_EQ_STR(code, "name_conflict");
	CHECK_EQ_STR(existing, "Staff");
	CHECK_EQ_INT(rrename(s, "people", "Staff", code, existing), -409);
	CHECK_EQ_INT(rrename(s, "people", "people", code, NULL), -400);
	CHECK_EQ_STR(code, "same_name");
	/* nothing changed, no redirect was made */
	CHECK_EQ_INT(rlatest(s, "people"), 1);
	CHECK_EQ_INT(rlatest(s, "Staff"), 1);
	CHECK_EQ_INT(redirect(s, "people", DAY_MS, to), 0);
	/* a change of letter case alone is a rename, without a redirect */
	CHECK_EQ_INT(rrename(s, "people", "People", NULL, NULL), 1);
	CHECK_EQ_INT(rlatest(s, "People"), 1);
	CHECK_EQ_INT(rlatest(s, "people"), -404);
	CHECK_EQ_INT(redirect(s, "people", DAY_MS, to), 0);
	rename_close(s, &f);
}

TEST(catalog_store_rename_redirects_end)
{
	struct rename_fixture f;
	struct catalog_store *s = rename_open(&f);
	char to[LH_DATASET_NAME_MAX + 1];
	CHECK(s != NULL);
	CHECK_EQ_INT(rreg(s, "a", "k1=1", NULL), 1);
	/* a -> b -> c: both old names lead to c */
	CHECK_EQ_INT(rrename(s, "a", "b", NULL, NULL), 1);
	CHECK_EQ_INT(rrename(s, "b", "c", NULL, NULL), 1);
	CHECK_EQ_INT(redirect(s, "a", DAY_MS, to), 1);
	CHECK_EQ_STR(to, "c");
	CHECK_EQ_INT(redirect(s, "b", DAY_MS, to), 1);
	CHECK_EQ_STR(to, "c");
	/* too old: a redirect older than max_age does not answer */
	usleep(20 * 1000);
	CHECK_EQ_INT(redirect(s, "a", 1, to), 0);
	/* renaming back to an old name: it names a dataset again, so no redirect */
	CHECK_EQ_INT(rrename(s, "c", "A", NULL, NULL), 1);
	CHECK_EQ_INT(redirect(s, "a", DAY_MS, to), 0);
	CHECK_EQ_INT(redirect(s, "b", DAY_MS, to), 1);
	CHECK_EQ_STR(to, "A");
	CHECK_EQ_INT(redirect(s, "c", DAY_MS, to), 1);
	CHECK_EQ_STR(to, "A");
	/* creating a dataset under an old name ends its redirect (and only its) */
	CHECK_EQ_INT(rreg(s, "B", "k2=1", NULL), 1);
	CHECK_EQ_INT(redirect(s, "b", DAY_MS, to), 0);
	CHECK_EQ_INT(rlatest(s, "B"), 1);
	CHECK_EQ_INT(redirect(s, "c", DAY_MS, to), 1);
	/* dropping the dataset ends the redirects to it */
	struct lh_error err = { 0 };
	CHECK_EQ_INT(catalog_store_drop(s, "A", &err), 0);
	CHECK_EQ_INT(redirect(s, "c", DAY_MS, to), 0);
	lh_error_clear(&err);
	rename_close(s, &f);
}

/* A SQLite catalog written before renames (schema version 3): opening it
 * adds the table and triggers; its datasets rename as any other. */
TEST(catalog_store_rename_migration_of_an_old_catalog)
{
	struct rename_fixture f;
	struct catalog_store *s = rename_open(&f);
	struct lh_error err = { 0 };
	char to[LH_DATASET_NAME_MAX + 1];
	sqlite3 *db = NULL;
	int version = -1;
	CHECK(s != NULL);
	if (strcmp(rename_backend(), "sqlite")) {  /* SQLite-specific */
		rename_close(s, &f);
		return;
	}
	CHECK_EQ_INT(rreg(s, "people", "a=1", NULL), 1);
	catalog_store_close(s);
	CHECK_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_exec(db, "DROP TRIGGER dataset_renames_end_on_create;"
				      "DROP TRIGGER dataset_renames_end_on_drop;"
				      "DROP TABLE dataset_renames; PRAGMA user_version = 3;",
				  NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = catalog_store_open("sqlite", f.path, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(rrename(s, "people", "staff", NULL, NULL), 1);
	CHECK_EQ_INT(redirect(s, "people", DAY_MS, to), 1);
	catalog_store_close(s);
	CHECK_EQ_INT(sqlite3_open(f.path, &db), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	CHECK_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	CHECK(version >= 4);
	s = catalog_store_open("sqlite", f.path, &err);
	CHECK(s != NULL);
	lh_error_clear(&err);
	rename_close(s, &f);
}

/* Two writers renaming one dataset back and forth between two names at
 * once, each trying p -> q and, when p is gone, q -> p: every attempt
 * either renames or finds its name gone (404), never a deadlock, a busy
 * catalog or a lost dataset (PostgreSQL takes both names' locks in one
 * order; SQLite has one writer). */
struct rename_racer {
	struct catalog_store *s;
	int renamed, gone, other;
};

static void *rename_racer_run(void *arg)
{
	struct rename_racer *r = arg;
	for (int i = 0; i < 25; i++) {
		struct lh_error err = { 0 };
		struct catalog_version *v = NULL;
		int rc = catalog_store_rename(r->s, "p", "q", &v, &err);
		if (rc && err.status == 404) {
			lh_error_clear(&err);
			rc = catalog_store_rename(r->s, "q", "p", &v, &err);
		}
		if (rc == 0)
			r->renamed++;
		else if (err.status == 404)
			r->gone++;
		else
			r->other++;
		catalog_version_destroy(v);
		lh_error_clear(&err);
	}
	return NULL;
}

TEST(catalog_store_rename_concurrent)
{
	struct rename_fixture f;
	struct catalog_store *s = rename_open(&f);
	struct rename_racer r[2] = { { .s = s }, { .s = s } };
	pthread_t t[2];
	char to[LH_DATASET_NAME_MAX + 1];
	CHECK(s != NULL);
	CHECK_EQ_INT(rreg(s, "p", "k1=1", NULL), 1);
	CHECK_EQ_INT(rreg(s, "p", "k2=2", "append"), 2);
	for (int i = 0; i < 2; i++)
		CHECK_EQ_INT(pthread_create(&t[i], NULL, rename_racer_run, &r[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(r[0].other + r[1].other, 0);
	CHECK(r[0].renamed + r[1].renamed >= 25);
	CHECK_EQ_INT(r[0].renamed + r[0].gone + r[1].renamed + r[1].gone, 50);
	/* one dataset, under the name the last rename gave it, whole */
	int64_t p = rlatest(s, "p"), q = rlatest(s, "q");
	CHECK((p == 2 && q == -404) || (p == -404 && q == 2));
	CHECK_EQ_INT(redirect(s, p == 2 ? "q" : "p", DAY_MS, to), 1);
	CHECK_EQ_STR(to, p == 2 ? "p" : "q");
	rename_close(s, &f);
}
