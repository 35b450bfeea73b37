/* catalog_sqlite.c — the SQLite catalog backend (the default; ADR 0040).
 * The only file that includes <sqlite3.h>.
 *
 * NOTES ON THE DESIGN OF THE SQLITE STORE
 *   1. One database file, journal_mode=WAL and synchronous=FULL: a commit is
 *      on disk (the WAL is fsynced) before register_version returns, and
 *      readers never block the writer nor the writer the readers.
 *   2. Connections come from a small pool (pool_get/pool_put) because the
 *      HTTP layer runs one thread per connection; a connection is used by one
 *      thread at a time, so it is opened SQLITE_OPEN_NOMUTEX.
 *   3. A register is one BEGIN IMMEDIATE transaction (sqlite_register):
 *      find the dataset, load its latest version, catalog_plan(), insert the
 *      version and its objects, move datasets.latest_version, COMMIT. IMMEDIATE
 *      takes the write lock before the read, so two registers of one name
 *      cannot both read version N and both write N+1; the primary key
 *      (dataset_id, version) would refuse it anyway. Any failure rolls back.
 *   4. SQLite has one writer per file, so registers of different names also
 *      queue, each for one short transaction. In-process writers queue on
 *      `write_lock` (no busy-wait polling); other processes (the sqlite3 CLI,
 *      a second catalogd) are handled by busy_timeout.
 *   5. Reads run in a deferred transaction so a manifest, its schema and its
 *      objects come from one snapshot even while a drop commits.
 *   6. The schema is created and upgraded by `migrations` below, applied in
 *      order under BEGIN IMMEDIATE and tracked in PRAGMA user_version. A file
 *      newer than this binary is refused rather than misread.
 *   7. The GC lock (catalog_store.h note 5) is the write lock itself:
 *      `write_lock` plus BEGIN IMMEDIATE, which also excludes other processes
 *      on the file. sqlite_register runs the object check after
 *      catalog_plan() and before COMMIT inside it; sqlite_gc_sweep re-reads
 *      "is this key referenced" and deletes inside it. So a sweep and a
 *      register are never interleaved, and the sweep's reads see every
 *      register committed before it began.
 *   8. Dataset names are unique regardless of letter case (docs/api.md, ADR
 *      0112). sqlite_register, inside its BEGIN IMMEDIATE, looks up a new
 *      name by lower(name) (name_case_taken) and answers 409 name_conflict;
 *      since every writer holds the file's one write lock, two registers of
 *      `salaries` and `SALARIES` cannot both pass. Triggers (migration 2)
 *      make the database itself refuse such a name on INSERT or rename,
 *      whoever writes. A file that already holds such a pair keeps it: each
 *      stays readable and writable by its exact name (every lookup is
 *      `name = ?`, BINARY collation), and catalogd warns about it at start.
 *   9. Search indexes (catalog_store.h note 7; migration 3): index_decls
 *      (one row per dataset), index_builds (one per version with a record)
 *      and index_parts. Every write is one BEGIN IMMEDIATE under
 *      `write_lock`, like a register, so it is also under the GC lock:
 *      sqlite_index_record checks the part keys no row references yet
 *      (catalog_store_check_keys) before its COMMIT, and GC's reads count
 *      index_parts.part_key as referenced (sqlite_referenced_keys,
 *      sqlite_gc_sweep). A drop deletes the dataset's index rows with it.
 *  10. Rename (catalog_store.h note 8; migration 4, ADR 0175): sqlite_rename
 *      is one BEGIN IMMEDIATE under `write_lock` that moves the redirects
 *      in dataset_renames and updates datasets.name; everything else hangs
 *      off the dataset's id and stays. The name triggers of migration 2 still
 *      judge the new name. Triggers end redirects when a dataset is created
 *      under an old name or the dataset they point to is dropped, so no
 *      register or drop path has to know about them.
 *  11. Explicit evolution (ADR 0173; migration 5): an object written under
 *      another schema than its version's has a row in object_fingerprints
 *      (version_insert); version_load reads it back with the object, and
 *      each such fingerprint's schema from the first version that has it
 *      (object_schemas_load) into the manifest's object_schemas.
 *  12. Declared types (ADR 0171; migration 6): one declared_types row per
 *      dataset that has a declaration. A register that says its
 *      declaration replaces the row inside its transaction, also when it
 *      makes no new version (existing); every version read carries the
 *      dataset's current declaration (declared_settle, declared_load).
 */
#include "catalogd/catalog_store.h"
#include "catalogd/conn_pool.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/names.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQLITE_POOL_MAX 32
#define SQLITE_BUSY_TIMEOUT_MS 10000

/* Versioned schema steps: migrations[i] takes user_version i to i+1. Never
 * edit a step that has shipped; add one. */
static const char *const migrations[] = {
	/* 1: datasets, their versions, and each version's objects. */
	"CREATE TABLE datasets ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_ms INTEGER NOT NULL,"
	"  latest_version INTEGER NOT NULL CHECK (latest_version >= 1));"
	"CREATE TABLE versions ("
	"  dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  schema_fingerprint TEXT NOT NULL,"
	"  schema_json TEXT NOT NULL,"
	"  mode TEXT NOT NULL CHECK (mode IN ('replace', 'append')),"
	"  row_count INTEGER NOT NULL CHECK (row_count >= 0),"
	"  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
	"  created_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (dataset_id, version)) WITHOUT ROWID;"
	"CREATE TABLE version_objects ("
	"  dataset_id INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  size INTEGER NOT NULL CHECK (size >= 0),"
	"  row_count INTEGER NOT NULL CHECK (row_count >= 0),"
	"  content_sha256 TEXT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version, ord),"
	"  FOREIGN KEY (dataset_id, version) REFERENCES versions(dataset_id, version)"
	"    ON DELETE CASCADE) WITHOUT ROWID;"
	"CREATE INDEX version_objects_key ON version_objects(key);",
	/* 2: names unique regardless of letter case for every NEW name (note 8).
	 * Not a unique index: a file may already hold such a pair, which stays. */
	"CREATE INDEX datasets_name_lower ON datasets(lower(name));"
	"CREATE TRIGGER datasets_name_nocase_insert BEFORE INSERT ON datasets"
	" WHEN EXISTS (SELECT 1 FROM datasets WHERE lower(name) = lower(NEW.name))"
	" BEGIN SELECT RAISE(ABORT, 'name_conflict'); END;"
	"CREATE TRIGGER datasets_name_nocase_update BEFORE UPDATE OF name ON datasets"
	" WHEN EXISTS (SELECT 1 FROM datasets"
	"  WHERE lower(name) = lower(NEW.name) AND id <> NEW.id)"
	" BEGIN SELECT RAISE(ABORT, 'name_conflict'); END;",
	/* 3: search-index declarations, per-version build records and their
	 * parts (note 9). IF NOT EXISTS: a file whose user_version was set back
	 * by hand (as tests do to fake an older catalog) keeps its tables. */
	"CREATE TABLE IF NOT EXISTS index_decls ("
	"  dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,"
	"  decl_json TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  from_version INTEGER NOT NULL CHECK (from_version >= 1),"
	"  created_ms INTEGER NOT NULL,"
	"  component_json TEXT);"
	"CREATE TABLE IF NOT EXISTS index_builds ("
	"  dataset_id INTEGER NOT NULL REFERENCES index_decls(dataset_id) ON DELETE CASCADE,"
	"  version INTEGER NOT NULL CHECK (version >= 1),"
	"  state TEXT NOT NULL CHECK (state IN ('building', 'ready', 'failed')),"
	"  reason TEXT,"
	"  rows_indexed INTEGER NOT NULL CHECK (rows_indexed >= 0),"
	"  build_ms INTEGER NOT NULL CHECK (build_ms >= 0),"
	"  attempts INTEGER NOT NULL CHECK (attempts >= 0),"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (dataset_id, version)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS index_parts ("
	"  dataset_id INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  object_key TEXT NOT NULL,"
	"  part_key TEXT NOT NULL,"
	"  row_count INTEGER NOT NULL CHECK (row_count >= 0),"
	"  byte_count INTEGER NOT NULL CHECK (byte_count >= 0),"
	"  PRIMARY KEY (dataset_id, version, ord),"
	"  FOREIGN KEY (dataset_id, version) REFERENCES index_builds(dataset_id, version)"
	"    ON DELETE CASCADE) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS index_parts_key ON index_parts(part_key);",
	/* 4: renames (note 10, ADR 0175): the redirect of each old name. A new
	 * dataset ends the redirects from its name, a dropped one those to it. */
	"CREATE TABLE IF NOT EXISTS dataset_renames ("
	"  old_name TEXT NOT NULL PRIMARY KEY,"
	"  new_name TEXT NOT NULL,"
	"  renamed_ms INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS dataset_renames_old_lower ON dataset_renames(lower(old_name));"
	"CREATE INDEX IF NOT EXISTS dataset_renames_new ON dataset_renames(new_name);"
	"CREATE TRIGGER IF NOT EXISTS dataset_renames_end_on_create AFTER INSERT ON datasets"
	" BEGIN DELETE FROM dataset_renames WHERE lower(old_name) = lower(NEW.name); END;"
	"CREATE TRIGGER IF NOT EXISTS dataset_renames_end_on_drop AFTER DELETE ON datasets"
	" BEGIN DELETE FROM dataset_renames WHERE new_name = OLD.name; END;",
	/* 5: the schema each object of an evolved dataset was written with,
	 * when it is not its version's (note 11, ADR 0173). A row per such
	 * object only; it goes with its object row. */
	"CREATE TABLE IF NOT EXISTS object_fingerprints ("
	"  dataset_id INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  schema_fingerprint TEXT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version, ord),"
	"  FOREIGN KEY (dataset_id, version, ord)"
	"    REFERENCES version_objects(dataset_id, version, ord) ON DELETE CASCADE)"
	"  WITHOUT ROWID;",
	/* 6: each dataset's declared types (note 12, ADR 0171): one row per
	 * dataset with a declaration, [{"column","type"}]; it goes with the
	 * dataset (the trigger: a reused id never inherits a declaration). */
	"CREATE TABLE IF NOT EXISTS declared_types ("
	"  dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,"
	"  types_json TEXT NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS declared_types_end_on_drop AFTER DELETE ON datasets"
	" BEGIN DELETE FROM declared_types WHERE dataset_id = OLD.id; END;",
	/* 7: personal columns (ADR 0211): one row per dataset that has any */
	"CREATE TABLE IF NOT EXISTS dataset_masks ("
	"  dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,"
	"  columns_json TEXT NOT NULL);",
	/* 8: who made each version (ADR 0210): the name of the token, where
	 * tokens have names; it goes with its version row. */
	"CREATE TABLE IF NOT EXISTS version_authors ("
	"  dataset_id INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version),"
	"  FOREIGN KEY (dataset_id, version) REFERENCES versions(dataset_id, version)"
	"    ON DELETE CASCADE) WITHOUT ROWID;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

struct sqlite_conn {
	sqlite3 *db;
};

struct catalog_sqlite {
	struct catalog_store base;  /* first: a catalog_store * is a catalog_sqlite * */
	char *path;
	struct conn_pool pool;     /* struct sqlite_conn connections */
	pthread_mutex_t write_lock; /* in-process writers queue here (note 4) */
};

/* ------------------------------------------------------------------------ */
/* Errors and statements                                                    */

/* Fill err for a failed SQLite call: the details go to the log, the client
 * gets plain words. Always returns -1. */
static int db_fail(sqlite3 *db, int code, const char *what, struct lh_error *err)
{
	int primary = code & 0xff;
	log_event("error", "catalogd", "sqlite: %s: %s (%d)", what,
		  db ? sqlite3_errmsg(db) : sqlite3_errstr(code), code);
	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		return lh_fail(err, 503, "busy", "the catalog is busy; try again");
	if (code == SQLITE_CONSTRAINT_TRIGGER && db && !strcmp(sqlite3_errmsg(db), "name_conflict"))
		return lh_fail(err, 409, "name_conflict", "a dataset whose name differs only in "
			       "letter case already exists; dataset names are unique regardless of case");
	if (primary == SQLITE_FULL)
		return lh_fail(err, 500, "storage_full", "the catalog database could not be written: the disk is full");
	return lh_fail(err, 500, "catalog_error", "the catalog database failed while trying to %s", what);
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what, struct lh_error *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(db, rc, what, err);
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct lh_error *err)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(db, rc, "prepare a query", err);
}

/* Step a statement that returns no row. */
static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, struct lh_error *err)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, rc, what, err);
}

static void rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static const char *column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	return s ? (const char *)s : "";
}

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

static int conn_open(const char *path, sqlite3 **out, struct lh_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_event("error", "catalogd", "sqlite: open %s: %s", path,
			  db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		lh_fail(err, 500, "catalog_error", "the catalog database could not be opened");
		goto fail;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
	if (prepare(db, "PRAGMA journal_mode=WAL", &st, err))
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_fail(db, rc, "switch to WAL mode", err);
		goto fail;
	}
	if (strcmp(column_text(st, 0), "wal")) {
		lh_fail(err, 500, "catalog_error", "the catalog database cannot use WAL mode");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (exec_sql(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
		     "configure the connection", err))
		goto fail;
	*out = db;
	return 0;
fail:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return -1;
}

static int pool_open(void *ctx, void **out, struct lh_error *err)
{
	struct catalog_sqlite *s = ctx;
	struct sqlite_conn *c = xcalloc(1, sizeof *c);
	if (conn_open(s->path, &c->db, err)) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void pool_close(void *conn)
{
	struct sqlite_conn *c = conn;
	sqlite3_close_v2(c->db);
	free(c);
}

/* A connection for this thread's exclusive use until pool_put. Blocks while
 * SQLITE_POOL_MAX are in use. */
static int pool_get(struct catalog_sqlite *s, struct sqlite_conn **out, struct lh_error *err)
{
	void *c;
	if (conn_pool_get(&s->pool, &c, err))
		return -1;
	*out = c;
	return 0;
}

/* Give a connection back, never with an open transaction: if ROLLBACK fails
 * the connection is closed rather than handed to the next caller. */
static void pool_put(struct catalog_sqlite *s, struct sqlite_conn *c)
{
	if (!c)
		return;
	rollback(c->db);
	conn_pool_put(&s->pool, c, sqlite3_get_autocommit(c->db));
}

static int migrate(sqlite3 *db, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, have;
	if (exec_sql(db, "BEGIN IMMEDIATE", "start the schema migration", err))
		return -1;
	if (prepare(db, "PRAGMA user_version", &st, err))
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		db_fail(db, sqlite3_errcode(db), "read the schema version", err);
		goto out;
	}
	have = sqlite3_column_int(st, 0);
	if (have > NMIGRATIONS) {
		lh_fail(err, 500, "catalog_error",
			"the catalog database has schema version %d, newer than this lakehouse "
			"understands (%d); upgrade lakehouse", have, NMIGRATIONS);
		goto out;
	}
	for (int v = have; v < NMIGRATIONS; v++) {
		char pragma[64];
		if (exec_sql(db, migrations[v], "migrate the catalog schema", err))
			goto out;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
		if (exec_sql(db, pragma, "record the schema version", err))
			goto out;
	}
	if (exec_sql(db, "COMMIT", "commit the schema migration", err))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc)
		rollback(db);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Reads                                                                    */

/* Look up a dataset: 0 found (id, created_ms, latest filled), 1 absent, -1 err. */
static int dataset_find(sqlite3 *db, const char *name, int64_t *id, int64_t *created_ms,
			int64_t *latest, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (prepare(db, "SELECT id, created_ms, latest_version FROM datasets WHERE name = ?1",
		    &st, err))
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		*created_ms = sqlite3_column_int64(st, 1);
		*latest = sqlite3_column_int64(st, 2);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = 1;
	} else {
		db_fail(db, step, "look up a dataset", err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Note 8: is a dataset whose name equals `name` but for letter case there?
 * 0 no; -1 with 409 name_conflict naming it (the first in byte order), or
 * the database error. */
static int name_case_taken(sqlite3 *db, const char *name, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (prepare(db, "SELECT name FROM datasets WHERE lower(name) = lower(?1)"
			" ORDER BY name LIMIT 1", &st, err))
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		dataset_name_conflict(err, name, column_text(st, 0));
	else if (step == SQLITE_DONE)
		rc = 0;
	else
		db_fail(db, step, "look up a dataset name", err);
	sqlite3_finalize(st);
	return rc;
}

static int object_schemas_load(sqlite3 *db, int64_t id, struct catalog_version *v,
			       struct lh_error *err);

/* Load one version: 0 with *out, 1 if there is no such version, -1 err. */
static int version_load(sqlite3 *db, int64_t id, const char *name, int64_t created_ms,
			int64_t version, struct catalog_version **out, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	struct catalog_version *v = NULL;
	json_t *schema = NULL;
	int rc = -1, step;

	if (prepare(db, "SELECT schema_fingerprint, schema_json, mode, row_count, size_bytes,"
			" created_ms FROM versions WHERE dataset_id = ?1 AND version = ?2", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, version);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (step != SQLITE_ROW) {
		db_fail(db, step, "read a version", err);
		goto out;
	}
	v = catalog_version_create();
	snprintf(v->name, sizeof v->name, "%s", name);
	v->version = version;
	snprintf(v->fingerprint, sizeof v->fingerprint, "%s", column_text(st, 0));
	schema = json_loads(column_text(st, 1), 0, NULL);
	if (catalog_schema_from_json(v, schema, err))
		goto out;
	if (catalog_mode_parse(column_text(st, 2), &v->mode)) {
		lh_fail(err, 500, "catalog_error", "a stored version is unreadable");
		goto out;
	}
	v->row_count = sqlite3_column_int64(st, 3);
	v->size_bytes = sqlite3_column_int64(st, 4);
	v->updated_ms = sqlite3_column_int64(st, 5);
	v->created_ms = created_ms;
	sqlite3_finalize(st);
	st = NULL;

	if (prepare(db, "SELECT o.key, o.size, o.row_count, o.content_sha256,"
			" f.schema_fingerprint FROM version_objects o"
			" LEFT JOIN object_fingerprints f ON f.dataset_id = o.dataset_id"
			"  AND f.version = o.version AND f.ord = o.ord"
			" WHERE o.dataset_id = ?1 AND o.version = ?2 ORDER BY o.ord", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, version);
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		catalog_version_add_object(v, column_text(st, 0), sqlite3_column_int64(st, 1),
					   sqlite3_column_int64(st, 2), column_text(st, 3));
		if (sqlite3_column_type(st, 4) != SQLITE_NULL)                   /* note 11 */
			snprintf(v->objects[v->nobjects - 1].fingerprint, CATALOG_FP_LEN + 1, "%s",
				 column_text(st, 4));
	}
	if (step != SQLITE_DONE) {
		db_fail(db, step, "read a version's objects", err);
		goto out;
	}
	if (object_schemas_load(db, id, v, err))
		goto out;
	*out = v;
	v = NULL;
	rc = 0;
out:
	json_decref(schema);
	sqlite3_finalize(st);
	catalog_version_destroy(v);
	return rc;
}

/* Note 11: the schema of every object fingerprint v holds, from the first
 * version written under it, into v->object_schemas. */
static int object_schemas_load(sqlite3 *db, int64_t id, struct catalog_version *v,
			       struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;
	for (size_t i = 0; i < v->nobjects && rc == 0; i++) {
		const char *fp = v->objects[i].fingerprint;
		if (!fp[0] || (v->object_schemas && json_object_get(v->object_schemas, fp)))
			continue;
		if (!st && prepare(db, "SELECT schema_json FROM versions WHERE dataset_id = ?1"
				       " AND schema_fingerprint = ?2 ORDER BY version LIMIT 1", &st, err))
			return -1;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, fp, -1, SQLITE_TRANSIENT);
		int step = sqlite3_step(st);
		json_t *schema = step == SQLITE_ROW ? json_loads(column_text(st, 0), 0, NULL) : NULL;
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			rc = db_fail(db, step, "read an object's schema", err);
		else if (!json_is_array(schema))
			rc = lh_fail(err, 500, "catalog_error", "the schema of an object of \"%s\" "
				     "is unreadable", v->name);
		else {
			if (!v->object_schemas)
				v->object_schemas = json_object();
			json_object_set(v->object_schemas, fp, schema);
		}
		json_decref(schema);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Note 12: the dataset's declaration into v (has_declared = 1, possibly
 * empty). 0, or -1 with err. */
static int declared_load(sqlite3 *db, int64_t id, struct catalog_version *v,
			 struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	int rc = -1, step;
	catalog_version_clear_declared(v);
	v->has_declared = 1;
	if (prepare(db, "SELECT types_json FROM declared_types WHERE dataset_id = ?1", &st, err))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		arr = json_loads(column_text(st, 0), 0, NULL);
		rc = catalog_declared_from_json(v, arr, err);
	} else if (step == SQLITE_DONE) {
		rc = 0;
	} else {
		db_fail(db, step, "read the declared types", err);
	}
	json_decref(arr);
	sqlite3_finalize(st);
	return rc;
}

/* Note 12, inside a register's transaction: dst's declaration becomes the
 * dataset's: req's when it said one (written now), else the stored one. */
static int declared_settle(sqlite3 *db, int64_t id, const struct catalog_version *req,
			   struct catalog_version *dst, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	char *text = NULL;
	int rc;
	if (!req->has_declared)
		return declared_load(db, id, dst, err);
	if (req->ndeclared == 0) {
		rc = prepare(db, "DELETE FROM declared_types WHERE dataset_id = ?1", &st, err);
	} else {
		json_t *arr = catalog_declared_json(req);
		text = json_dump_compact(arr);
		json_decref(arr);
		rc = prepare(db, "INSERT OR REPLACE INTO declared_types (dataset_id, types_json)"
			     " VALUES (?1, ?2)", &st, err);
		if (rc == 0)
			sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	}
	if (rc == 0) {
		sqlite3_bind_int64(st, 1, id);
		rc = step_done(db, st, "write the declared types", err);
	}
	sqlite3_finalize(st);
	free(text);
	if (rc)
		return -1;
	catalog_version_clear_declared(dst);
	for (size_t i = 0; i < req->ndeclared; i++)
		catalog_version_add_declared(dst, req->declared[i].name, req->declared[i].type);
	dst->has_declared = 1;
	return 0;
}

static int not_found(struct lh_error *err, const char *name, int64_t version)
{
	if (version > 0)
		return lh_fail(err, 404, "not_found", "dataset \"%s\" has no version %lld", name,
			       (long long)version);
	return lh_fail(err, 404, "not_found", "no dataset named \"%s\"", name);
}

/* dataset_find() for a dataset that must exist: 0, or -1 with 404 (or the
 * database error). */
static int dataset_get(sqlite3 *db, const char *name, int64_t *id, int64_t *created_ms,
		       int64_t *latest, struct lh_error *err)
{
	int found = dataset_find(db, name, id, created_ms, latest, err);
	if (found == 1)
		not_found(err, name, 0);
	return found == 0 ? 0 : -1;
}

static int sqlite_get_version(struct catalog_store *store, const char *name, int64_t version,
			      struct catalog_version **out, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	int64_t id, created_ms, latest;
	int rc = -1, found;

	if (pool_get(s, &c, err))
		return -1;
	if (exec_sql(c->db, "BEGIN", "start a read", err))
		goto out;
	if (dataset_get(c->db, name, &id, &created_ms, &latest, err))
		goto out;
	found = version_load(c->db, id, name, created_ms, version > 0 ? version : latest, out, err);
	if (found < 0)
		goto out;
	if (found == 1) {
		not_found(err, name, version);
		goto out;
	}
	if (declared_load(c->db, id, *out, err)) {                          /* note 12 */
		catalog_version_destroy(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	pool_put(s, c);  /* ends the read transaction */
	return rc;
}

static void summary_from_row(sqlite3_stmt *st, struct catalog_summary *m)
{
	/* Columns: name, version, fingerprint, mode, row_count, size_bytes,
	 * dataset created_ms, version created_ms. */
	snprintf(m->name, sizeof m->name, "%s", column_text(st, 0));
	m->version = sqlite3_column_int64(st, 1);
	snprintf(m->fingerprint, sizeof m->fingerprint, "%s", column_text(st, 2));
	if (catalog_mode_parse(column_text(st, 3), &m->mode))
		m->mode = CATALOG_REPLACE;
	m->row_count = sqlite3_column_int64(st, 4);
	m->size_bytes = sqlite3_column_int64(st, 5);
	m->created_ms = sqlite3_column_int64(st, 6);
	m->updated_ms = sqlite3_column_int64(st, 7);
	if (sqlite3_column_count(st) > 8)   /* version lists: who made it (ADR 0210) */
		snprintf(m->ingested_by, sizeof m->ingested_by, "%s", column_text(st, 8));
}

/* Run a summary query with ?1 bound to `id` (if >= 0), collecting rows. */
static int summaries_collect(sqlite3 *db, const char *sql, int64_t id,
			     struct catalog_summary **out, size_t *n, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	struct catalog_summary *arr = NULL;
	size_t len = 0, cap = 0;
	int step;
	if (prepare(db, sql, &st, err))
		return -1;
	if (id >= 0)
		sqlite3_bind_int64(st, 1, id);
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			arr = xrealloc(arr, cap * sizeof *arr);
		}
		summary_from_row(st, &arr[len++]);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		free(arr);
		return db_fail(db, step, "list the catalog", err);
	}
	*out = arr;
	*n = len;
	return 0;
}

static int sqlite_list_datasets(struct catalog_store *store, struct catalog_summary **out,
				size_t *n, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	int rc;
	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	rc = summaries_collect(c->db,
		"SELECT d.name, d.latest_version, v.schema_fingerprint, v.mode, v.row_count,"
		" v.size_bytes, d.created_ms, v.created_ms"
		" FROM datasets d JOIN versions v"
		"  ON v.dataset_id = d.id AND v.version = d.latest_version"
		" ORDER BY d.name", -1, out, n, err);
	pool_put(s, c);
	return rc;
}

static int sqlite_list_versions(struct catalog_store *store, const char *name,
				struct catalog_summary **out, size_t *n, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	int64_t id, created_ms, latest;
	int rc = -1;
	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (exec_sql(c->db, "BEGIN", "start a read", err))
		goto out;
	if (dataset_get(c->db, name, &id, &created_ms, &latest, err))
		goto out;
	rc = summaries_collect(c->db,
		"SELECT d.name, v.version, v.schema_fingerprint, v.mode, v.row_count,"
		" v.size_bytes, d.created_ms, v.created_ms, coalesce(a.who, '')"
		" FROM versions v JOIN datasets d ON d.id = v.dataset_id"
		" LEFT JOIN version_authors a ON a.dataset_id = v.dataset_id AND a.version = v.version"
		" WHERE v.dataset_id = ?1 ORDER BY v.version", id, out, n, err);
out:
	pool_put(s, c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Writes                                                                   */

static int version_insert(sqlite3 *db, int64_t id, const struct catalog_version *v,
			  struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	json_t *schema = catalog_schema_json(v->columns, v->ncolumns);
	char *schema_text = json_dump_compact(schema);
	int rc = -1;

	if (prepare(db, "INSERT INTO versions (dataset_id, version, schema_fingerprint,"
			" schema_json, mode, row_count, size_bytes, created_ms)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st, err))
		goto out;
	/* SQLITE_STATIC: every bound string outlives the step. */
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, v->version);
	sqlite3_bind_text(st, 3, v->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, schema_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, catalog_mode_name(v->mode), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, v->row_count);
	sqlite3_bind_int64(st, 7, v->size_bytes);
	sqlite3_bind_int64(st, 8, v->updated_ms);
	if (step_done(db, st, "write a version", err))
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (v->ingested_by[0]) {                                             /* ADR 0210 */
		if (prepare(db, "INSERT INTO version_authors (dataset_id, version, who)"
				" VALUES (?1, ?2, ?3)", &st, err))
			goto out;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, v->version);
		sqlite3_bind_text(st, 3, v->ingested_by, -1, SQLITE_STATIC);
		if (step_done(db, st, "write who made a version", err))
			goto out;
		sqlite3_finalize(st);
		st = NULL;
	}

	if (prepare(db, "INSERT INTO version_objects (dataset_id, version, ord, key, size,"
			" row_count, content_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, err))
		goto out;
	for (size_t i = 0; i < v->nobjects; i++) {
		const struct catalog_object *o = &v->objects[i];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, v->version);
		sqlite3_bind_int64(st, 3, (int64_t)i);
		sqlite3_bind_text(st, 4, o->key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, o->size);
		sqlite3_bind_int64(st, 6, o->row_count);
		sqlite3_bind_text(st, 7, o->sha256, -1, SQLITE_STATIC);
		if (step_done(db, st, "write a version's objects", err))
			goto out;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < v->nobjects; i++) {                           /* note 11 */
		const struct catalog_object *o = &v->objects[i];
		if (!o->fingerprint[0] || !strcmp(o->fingerprint, v->fingerprint))
			continue;
		if (!st && prepare(db, "INSERT INTO object_fingerprints (dataset_id, version, ord,"
				       " schema_fingerprint) VALUES (?1, ?2, ?3, ?4)", &st, err))
			goto out;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, v->version);
		sqlite3_bind_int64(st, 3, (int64_t)i);
		sqlite3_bind_text(st, 4, o->fingerprint, -1, SQLITE_STATIC);
		if (step_done(db, st, "write a version's object fingerprints", err))
			goto out;
		sqlite3_reset(st);
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(schema_text);
	json_decref(schema);
	return rc;
}

/* Point the dataset at `next` (creating the dataset row for version 1). */
static int dataset_advance(sqlite3 *db, int absent, int64_t *id,
			   const struct catalog_version *next, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;
	if (absent) {
		if (prepare(db, "INSERT INTO datasets (name, created_ms, latest_version)"
				" VALUES (?1, ?2, ?3)", &st, err))
			return -1;
		sqlite3_bind_text(st, 1, next->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, next->created_ms);
		sqlite3_bind_int64(st, 3, next->version);
	} else {
		if (prepare(db, "UPDATE datasets SET latest_version = ?1 WHERE id = ?2", &st, err))
			return -1;
		sqlite3_bind_int64(st, 1, next->version);
		sqlite3_bind_int64(st, 2, *id);
	}
	rc = step_done(db, st, "record the dataset's latest version", err);
	sqlite3_finalize(st);
	if (!rc && absent)
		*id = sqlite3_last_insert_rowid(db);
	return rc;
}

static int sqlite_register(struct catalog_store *store, const struct catalog_version *req,
			   struct catalog_version **out, int *existing, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	struct catalog_version *latest = NULL, *next = NULL;
	int64_t id = 0, created_ms = 0, latest_no = 0;
	int rc = -1, found;

	*out = NULL;
	*existing = 0;
	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN IMMEDIATE", "start a register", err))
		goto out;
	found = dataset_find(c->db, req->name, &id, &created_ms, &latest_no, err);
	if (found < 0)
		goto out;
	if (found == 1 && name_case_taken(c->db, req->name, err))          /* note 8 */
		goto out;
	if (found == 0 && version_load(c->db, id, req->name, created_ms, latest_no, &latest,
				       err) != 0) {
		lh_fail(err, 500, "catalog_error", "the latest version of \"%s\" is unreadable",
			req->name);
		goto out;
	}
	if (catalog_plan(latest, req, clock_wall_ms(), &next, err))
		goto out;
	if (!next) {
		/* note 12: a new declaration is written even without a version;
		 * else pool_put rolls the empty transaction back */
		if (declared_settle(c->db, id, req, latest, err) ||
		    (req->has_declared && exec_sql(c->db, "COMMIT", "commit a register", err)))
			goto out;
		*existing = 1;
		*out = latest;
		latest = NULL;
		rc = 0;
		goto out;
	}
	if (catalog_store_check_objects(store, latest, next, err) ||    /* note 7 */
	    dataset_advance(c->db, found, &id, next, err) ||
	    version_insert(c->db, id, next, err) ||
	    declared_settle(c->db, id, req, next, err) ||                  /* note 12 */
	    exec_sql(c->db, "COMMIT", "commit a register", err))
		goto out;
	*out = next;
	next = NULL;
	rc = 0;
out:
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	catalog_version_destroy(latest);
	catalog_version_destroy(next);
	return rc;
}

static int sqlite_drop(struct catalog_store *store, const char *name, struct lh_error *err)
{
	static const char *const deletes[] = {
		"DELETE FROM index_parts WHERE dataset_id = ?1",     /* note 9 */
		"DELETE FROM index_builds WHERE dataset_id = ?1",
		"DELETE FROM index_decls WHERE dataset_id = ?1",
		"DELETE FROM version_objects WHERE dataset_id = ?1",
		"DELETE FROM versions WHERE dataset_id = ?1",
		"DELETE FROM datasets WHERE id = ?1",
	};
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int64_t id, created_ms, latest;
	int rc = -1;

	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN IMMEDIATE", "start a drop", err))
		goto out;
	if (dataset_get(c->db, name, &id, &created_ms, &latest, err))
		goto out;
	for (size_t i = 0; i < sizeof deletes / sizeof deletes[0]; i++) {
		if (prepare(c->db, deletes[i], &st, err))
			goto out;
		sqlite3_bind_int64(st, 1, id);
		if (step_done(c->db, st, "drop a dataset", err))
			goto out;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (exec_sql(c->db, "COMMIT", "commit a drop", err))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Rename (note 10)                                                         */

static int sqlite_rename(struct catalog_store *store, const char *from, const char *to,
			 struct catalog_version **out, struct lh_error *err)
{
	/* ?1 from, ?2 to, ?3 now. Redirects: one per old name in any case; those
	 * to `from` follow to `to`; `from` gets one unless only its letter case
	 * changes; `to` has none any more (it names a dataset now). */
	static const char *const steps[] = {
		"DELETE FROM dataset_renames WHERE lower(old_name) IN (lower(?1), lower(?2))",
		"UPDATE dataset_renames SET new_name = ?2 WHERE new_name = ?1",
		"INSERT INTO dataset_renames (old_name, new_name, renamed_ms)"
		" SELECT ?1, ?2, ?3 WHERE lower(?1) <> lower(?2)",
		"UPDATE datasets SET name = ?2 WHERE name = ?1",
	};
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int64_t id, created_ms, latest, now = clock_wall_ms();
	int rc = -1, step;

	*out = NULL;
	if (!strcmp(from, to))
		return catalog_store_rename_same(err, from);
	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN IMMEDIATE", "start a rename", err) ||
	    dataset_get(c->db, from, &id, &created_ms, &latest, err))
		goto out;
	/* note 8: any other dataset holding `to` in some letter case */
	if (prepare(c->db, "SELECT name FROM datasets WHERE lower(name) = lower(?1) AND id <> ?2"
			   " ORDER BY name LIMIT 1", &st, err))
		goto out;
	sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		catalog_store_rename_conflict(err, from, to, column_text(st, 0));
		goto out;
	}
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "look up a dataset name", err);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (prepare(c->db, steps[i], &st, err))
			goto out;
		sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) >= 3)
			sqlite3_bind_int64(st, 3, now);
		if (step_done(c->db, st, "rename a dataset", err))
			goto out;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (version_load(c->db, id, to, created_ms, latest, out, err) != 0) {
		if (!err->status)
			lh_fail(err, 500, "catalog_error", "the latest version of \"%s\" is unreadable",
				from);
		goto out;
	}
	if (exec_sql(c->db, "COMMIT", "commit a rename", err))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	if (rc) {
		catalog_version_destroy(*out);
		*out = NULL;
	}
	return rc;
}

static int sqlite_renamed(struct catalog_store *store, const char *name, int64_t max_age_ms,
			  char to[LH_DATASET_NAME_MAX + 1], int64_t *renamed_ms,
			  struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	to[0] = '\0';
	if (pool_get(s, &c, err))
		return -1;
	if (prepare(c->db, "SELECT new_name, renamed_ms FROM dataset_renames"
			   " WHERE lower(old_name) = lower(?1) AND renamed_ms >= ?2"
			   " AND NOT EXISTS (SELECT 1 FROM datasets WHERE lower(name) = lower(?1))"
			   " ORDER BY renamed_ms DESC LIMIT 1", &st, err))
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, clock_wall_ms() - max_age_ms);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(to, LH_DATASET_NAME_MAX + 1, "%s", column_text(st, 0));
		*renamed_ms = sqlite3_column_int64(st, 1);
		rc = 1;
	} else if (step == SQLITE_DONE) {
		rc = 0;
	} else {
		db_fail(c->db, step, "look up a renamed dataset", err);
	}
out:
	sqlite3_finalize(st);
	pool_put(s, c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Garbage collection (note 7)                                              */

static int sqlite_referenced_keys(struct catalog_store *store, char ***out, size_t *n,
				  struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	char **keys = NULL;
	size_t len = 0, cap = 0;
	int rc = -1, step;

	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	/* Versions of a dropped dataset are gone with it (sqlite_drop), so every
	 * row here belongs to a retained version. BINARY collation = strcmp. */
	if (prepare(c->db, "SELECT key FROM version_objects UNION"
			   " SELECT part_key FROM index_parts ORDER BY 1", &st, err))  /* note 9 */
		goto out;
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			keys = xrealloc(keys, cap * sizeof *keys);
		}
		keys[len++] = xstrdup(column_text(st, 0));
	}
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "list the referenced objects", err);
		goto out;
	}
	*out = keys;
	*n = len;
	keys = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	pool_put(s, c);
	if (keys)
		catalog_keys_free(keys, len);
	return rc;
}

static int sqlite_gc_sweep(struct catalog_store *store, const char *const *keys, size_t n,
			   catalog_object_remove_fn remove, void *ctx, unsigned char *removed,
			   struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	memset(removed, 0, n);
	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN IMMEDIATE", "start a garbage collection", err))
		goto out;
	if (prepare(c->db, "SELECT 1 FROM version_objects WHERE key = ?1 UNION ALL"
			   " SELECT 1 FROM index_parts WHERE part_key = ?1 LIMIT 1", &st, err))
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
		step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step != SQLITE_ROW && step != SQLITE_DONE) {
			db_fail(c->db, step, "check an object's references", err);
			goto out;
		}
		if (step == SQLITE_ROW)
			continue;  /* referenced again since GC listed it */
		int r = remove(ctx, keys[i], err);
		if (r < 0)
			goto out;
		removed[i] = r == 0;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);  /* rolls the read-only transaction back: the lock ends */
	pthread_mutex_unlock(&s->write_lock);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Search indexes (note 9)                                                  */

/* The dataset's declaration: 0 found (fields filled; *decl_json, *component
 * xmalloc'd when asked for, or NULL), 1 absent, -1 err. */
static int decl_find(sqlite3 *db, int64_t id, char fp[CATALOG_FP_LEN + 1], int64_t *from_version,
		     int64_t *created_ms, char **decl_json, char **component,
		     struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, step;
	if (prepare(db, "SELECT fingerprint, from_version, created_ms, decl_json, component_json"
			" FROM index_decls WHERE dataset_id = ?1", &st, err))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(fp, CATALOG_FP_LEN + 1, "%s", column_text(st, 0));
		if (from_version)
			*from_version = sqlite3_column_int64(st, 1);
		if (created_ms)
			*created_ms = sqlite3_column_int64(st, 2);
		if (decl_json)
			*decl_json = xstrdup(column_text(st, 3));
		if (component)
			*component = sqlite3_column_type(st, 4) == SQLITE_NULL
					     ? NULL : xstrdup(column_text(st, 4));
		rc = 0;
	} else if (step == SQLITE_DONE) {
		rc = 1;
	} else {
		db_fail(db, step, "read a search index declaration", err);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Run each statement of `sql` with ?1 = id (and ?2 = version when >= 0). */
static int exec_id(sqlite3 *db, const char *const *sql, size_t n, int64_t id, int64_t version,
		   const char *what, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	for (size_t i = 0; i < n; i++) {
		if (prepare(db, sql[i], &st, err))
			return -1;
		sqlite3_bind_int64(st, 1, id);
		if (version >= 0)
			sqlite3_bind_int64(st, 2, version);
		int rc = step_done(db, st, what, err);
		sqlite3_finalize(st);
		if (rc)
			return -1;
	}
	return 0;
}

static const char *const index_deletes[] = {
	"DELETE FROM index_parts WHERE dataset_id = ?1",
	"DELETE FROM index_builds WHERE dataset_id = ?1",
	"DELETE FROM index_decls WHERE dataset_id = ?1",
};
#define NINDEX_DELETES (sizeof index_deletes / sizeof index_deletes[0])

/* BEGIN IMMEDIATE under write_lock (the caller locked) and the dataset's id. */
static int index_write_begin(sqlite3 *db, const char *name, int64_t *id, struct lh_error *err)
{
	int64_t created_ms, latest;
	if (exec_sql(db, "BEGIN IMMEDIATE", "start a search index change", err))
		return -1;
	return dataset_get(db, name, id, &created_ms, &latest, err);
}

static int sqlite_index_declare(struct catalog_store *store, const char *name,
				const struct catalog_index_decl *decl, int64_t from_version,
				const char *schema_fp, int *outcome, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	char fp[CATALOG_FP_LEN + 1];
	int64_t id;
	int rc = -1, found, step;

	*outcome = 0;
	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (index_write_begin(c->db, name, &id, err))
		goto out;
	/* the version validated against is still this dataset's */
	if (prepare(c->db, "SELECT 1 FROM versions WHERE dataset_id = ?1 AND version = ?2"
			   " AND schema_fingerprint = ?3", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, from_version);
	sqlite3_bind_text(st, 3, schema_fp, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (step == SQLITE_DONE) {
		lh_fail(err, 409, "write_conflict", "dataset \"%s\" changed while the index was "
			"being declared; try again", name);
		goto out;
	}
	if (step != SQLITE_ROW) {
		db_fail(c->db, step, "read a version", err);
		goto out;
	}
	found = decl_find(c->db, id, fp, NULL, NULL, NULL, NULL, err);
	if (found < 0)
		goto out;
	if (found == 0 && !strcmp(fp, decl->fingerprint)) {
		rc = 0;  /* identical: unchanged; pool_put rolls back */
		goto out;
	}
	if (found == 0 && exec_id(c->db, index_deletes, NINDEX_DELETES, id, -1,
				  "replace a search index declaration", err))
		goto out;
	if (prepare(c->db, "INSERT INTO index_decls (dataset_id, decl_json, fingerprint,"
			   " from_version, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, decl->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, decl->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, from_version);
	sqlite3_bind_int64(st, 5, clock_wall_ms());
	if (step_done(c->db, st, "write a search index declaration", err) ||
	    exec_sql(c->db, "COMMIT", "commit a search index declaration", err))
		goto out;
	*outcome = found == 0 ? 2 : 1;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	return rc;
}

/* The stored component (a JSON array of numbers) into info. */
static int component_load(struct catalog_index_info *info, const char *text,
			  struct lh_error *err)
{
	json_t *arr = json_loads(text, 0, NULL), *v;
	size_t i;
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		json_decref(arr);
		return lh_fail(err, 500, "catalog_error", "a stored search index is unreadable");
	}
	info->component = xmalloc(json_array_size(arr) * sizeof *info->component);
	json_array_foreach(arr, i, v)
		info->component[i] = json_number_value(v);
	info->component_dim = json_array_size(arr);
	json_decref(arr);
	return 0;
}

static int sqlite_index_get(struct catalog_store *store, const char *name,
			    struct catalog_index_info **out, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	struct catalog_index_info *info = xcalloc(1, sizeof *info);
	char *component = NULL;
	int64_t id, created_ms, latest;
	int rc = -1, found, step;

	*out = NULL;
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN", "start a read", err) ||
	    dataset_get(c->db, name, &id, &created_ms, &latest, err))
		goto out;
	snprintf(info->name, sizeof info->name, "%s", name);
	found = decl_find(c->db, id, info->decl.fingerprint, &info->from_version, &info->created_ms,
			  &info->decl.json, &component, err);
	if (found < 0)
		goto out;
	if (found == 1) {
		catalog_store_no_index(err, name);
		goto out;
	}
	if (component && component_load(info, component, err))
		goto out;
	if (prepare(c->db, "SELECT v.version, v.row_count, b.state, b.reason, b.rows_indexed,"
			   " b.build_ms, b.attempts, b.updated_ms FROM versions v"
			   " LEFT JOIN index_builds b"
			   "  ON b.dataset_id = v.dataset_id AND b.version = v.version"
			   " WHERE v.dataset_id = ?1 AND v.version >= ?2 ORDER BY v.version",
		    &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, info->from_version);
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		info->builds = xgrow(info->builds, info->nbuilds, sizeof *info->builds);
		struct catalog_index_build *b = &info->builds[info->nbuilds++];
		memset(b, 0, sizeof *b);
		b->version = sqlite3_column_int64(st, 0);
		b->version_rows = sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 2) == SQLITE_NULL) {
			b->state = CATALOG_INDEX_PENDING;
			continue;
		}
		if (catalog_index_state_parse(column_text(st, 2), &b->state))
			b->state = CATALOG_INDEX_FAILED;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			b->reason = xstrdup(column_text(st, 3));
		b->rows_indexed = sqlite3_column_int64(st, 4);
		b->build_ms = sqlite3_column_int64(st, 5);
		b->attempts = sqlite3_column_int64(st, 6);
		b->updated_ms = sqlite3_column_int64(st, 7);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "read a search index's builds", err);
		goto out;
	}
	if (prepare(c->db, "SELECT version, object_key, part_key, row_count, byte_count"
			   " FROM index_parts WHERE dataset_id = ?1 AND version >= ?2"
			   " ORDER BY version, ord", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, info->from_version);
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		int64_t k = sqlite3_column_int64(st, 0) - info->from_version;
		if (k < 0 || (size_t)k >= info->nbuilds)
			continue;  /* versions are dense from from_version */
		catalog_index_build_add_part(&info->builds[k], column_text(st, 1),
					     column_text(st, 2), sqlite3_column_int64(st, 3),
					     sqlite3_column_int64(st, 4));
	}
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "read a search index's parts", err);
		goto out;
	}
	*out = info;
	info = NULL;
	rc = 0;
out:
	sqlite3_finalize(st);
	pool_put(s, c);
	free(component);
	catalog_index_info_destroy(info);
	return rc;
}

static int sqlite_index_drop(struct catalog_store *store, const char *name, struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	char fp[CATALOG_FP_LEN + 1];
	int64_t id;
	int rc = -1, found;

	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (index_write_begin(c->db, name, &id, err))
		goto out;
	found = decl_find(c->db, id, fp, NULL, NULL, NULL, NULL, err);
	if (found < 0)
		goto out;
	if (found == 1) {
		catalog_store_no_index(err, name);
		goto out;
	}
	if (exec_id(c->db, index_deletes, NINDEX_DELETES, id, -1, "drop a search index", err) ||
	    exec_sql(c->db, "COMMIT", "commit a search index drop", err))
		goto out;
	rc = 0;
out:
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	return rc;
}

/* Holding the write lock: the declaration of `id` must exist and have
 * fingerprint `fp`. 0, or -1 with no_index / index_changed. */
static int decl_current(sqlite3 *db, int64_t id, const char *name, const char *fp,
			int64_t *from_version, struct lh_error *err)
{
	char have[CATALOG_FP_LEN + 1];
	int found = decl_find(db, id, have, from_version, NULL, NULL, NULL, err);
	if (found < 0)
		return -1;
	if (found == 1)
		return catalog_store_no_index(err, name);
	if (strcmp(have, fp))
		return catalog_store_index_changed(err, name);
	return 0;
}

/* The part keys of b that no index part row references yet (under the GC
 * lock: the referenced ones cannot be deleted before this commits). */
static int unreferenced_parts(sqlite3 *db, const struct catalog_index_build *b,
			      const char ***out, size_t *n, struct lh_error *err)
{
	sqlite3_stmt *st = NULL;
	*out = NULL;
	*n = 0;
	if (!b->nparts)
		return 0;
	if (prepare(db, "SELECT 1 FROM index_parts WHERE part_key = ?1 LIMIT 1", &st, err))
		return -1;
	*out = xcalloc(b->nparts, sizeof **out);
	for (size_t i = 0; i < b->nparts; i++) {
		sqlite3_bind_text(st, 1, b->parts[i].part_key, -1, SQLITE_STATIC);
		int step = sqlite3_step(st);
		sqlite3_reset(st);
		if (step == SQLITE_DONE)
			(*out)[(*n)++] = b->parts[i].part_key;
		else if (step != SQLITE_ROW) {
			sqlite3_finalize(st);
			free(*out);
			*out = NULL;
			return db_fail(db, step, "check an index part's references", err);
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int sqlite_index_record(struct catalog_store *store, const char *name, const char *fp,
			       const struct catalog_index_build *b, int *ignored,
			       struct lh_error *err)
{
	static const char *const part_delete[] = {
		"DELETE FROM index_parts WHERE dataset_id = ?1 AND version = ?2",
	};
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	struct catalog_version *v = NULL;
	const char **check = NULL;
	size_t ncheck = 0;
	int64_t id, created_ms, latest, from_version = 0, attempts = 0, updated_ms = 0;
	int64_t now = clock_wall_ms();
	enum catalog_index_state cur = CATALOG_INDEX_PENDING;
	int rc = -1, found, step;

	*ignored = 0;
	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN IMMEDIATE", "start a search index change", err) ||
	    dataset_get(c->db, name, &id, &created_ms, &latest, err) ||
	    decl_current(c->db, id, name, fp, &from_version, err) ||
	    catalog_store_index_version_check(err, name, b->version, from_version))
		goto out;
	found = version_load(c->db, id, name, created_ms, b->version, &v, err);
	if (found < 0)
		goto out;
	if (found == 1) {
		not_found(err, name, b->version);
		goto out;
	}
	if (catalog_index_build_check_objects(b, v, err))
		goto out;
	if (prepare(c->db, "SELECT state, attempts, updated_ms FROM index_builds"
			   " WHERE dataset_id = ?1 AND version = ?2", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, b->version);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		if (catalog_index_state_parse(column_text(st, 0), &cur))
			cur = CATALOG_INDEX_FAILED;
		attempts = sqlite3_column_int64(st, 1);
		updated_ms = sqlite3_column_int64(st, 2);
	} else if (step != SQLITE_DONE) {
		db_fail(c->db, step, "read a build record", err);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (cur == CATALOG_INDEX_READY) {
		*ignored = 1;  /* final */
		rc = 0;
		goto out;
	}
	attempts += catalog_index_attempt_starts(cur, updated_ms, b->state, now);
	if (unreferenced_parts(c->db, b, &check, &ncheck, err) ||
	    catalog_store_check_keys(store, check, ncheck, err) ||           /* note 9 */
	    exec_id(c->db, part_delete, 1, id, b->version, "write a build record", err))
		goto out;
	if (prepare(c->db, "INSERT INTO index_builds (dataset_id, version, state, reason,"
			   " rows_indexed, build_ms, attempts, updated_ms)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			   " ON CONFLICT (dataset_id, version) DO UPDATE SET"
			   "  state = excluded.state, reason = excluded.reason, rows_indexed = excluded.rows_indexed,"
			   "  build_ms = excluded.build_ms, attempts = excluded.attempts,"
			   "  updated_ms = excluded.updated_ms", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, b->version);
	sqlite3_bind_text(st, 3, catalog_index_state_name(b->state), -1, SQLITE_STATIC);
	if (b->reason)
		sqlite3_bind_text(st, 4, b->reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, b->rows_indexed);
	sqlite3_bind_int64(st, 6, b->build_ms);
	sqlite3_bind_int64(st, 7, attempts);
	sqlite3_bind_int64(st, 8, now);
	if (step_done(c->db, st, "write a build record", err))
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (prepare(c->db, "INSERT INTO index_parts (dataset_id, version, ord, object_key,"
			   " part_key, row_count, byte_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &st, err))
		goto out;
	for (size_t i = 0; i < b->nparts; i++) {
		const struct catalog_index_part *p = &b->parts[i];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, b->version);
		sqlite3_bind_int64(st, 3, (int64_t)i);
		sqlite3_bind_text(st, 4, p->object_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, p->part_key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, p->rows);
		sqlite3_bind_int64(st, 7, p->bytes);
		if (step_done(c->db, st, "write an index part", err))
			goto out;
		sqlite3_reset(st);
	}
	if (exec_sql(c->db, "COMMIT", "commit a build record", err))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	catalog_version_destroy(v);
	free(check);
	return rc;
}

static int sqlite_index_set_component(struct catalog_store *store, const char *name,
				      const char *fp, const double *vals, size_t n,
				      struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	char *text = NULL;
	int64_t id;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_real(vals[i]));
	text = json_dump_compact(arr);
	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (index_write_begin(c->db, name, &id, err) ||
	    decl_current(c->db, id, name, fp, NULL, err))
		goto out;
	/* compare and set: only where there is none yet */
	if (prepare(c->db, "UPDATE index_decls SET component_json = ?2"
			   " WHERE dataset_id = ?1 AND component_json IS NULL", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	if (step_done(c->db, st, "write a search index's component", err) ||
	    exec_sql(c->db, "COMMIT", "commit a search index's component", err))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	free(text);
	json_decref(arr);
	return rc;
}

static int sqlite_index_pending(struct catalog_store *store, int64_t stale_ms, size_t limit,
				struct catalog_index_pending **out, size_t *n,
				struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	struct catalog_index_pending *arr = NULL;
	size_t len = 0;
	int rc = -1, step;

	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (prepare(c->db, "SELECT d.name, v.version, i.fingerprint, i.decl_json, b.state,"
			   " coalesce(b.attempts, 0)"
			   " FROM index_decls i JOIN datasets d ON d.id = i.dataset_id"
			   " JOIN versions v ON v.dataset_id = i.dataset_id"
			   "  AND v.version >= i.from_version"
			   " LEFT JOIN index_builds b"
			   "  ON b.dataset_id = v.dataset_id AND b.version = v.version"
			   " WHERE b.state IS NULL"
			   "  OR (b.state = 'failed' AND b.attempts < ?1)"
			   "  OR (b.state = 'building' AND b.updated_ms < ?2 AND b.attempts < ?1)"
			   " ORDER BY v.created_ms, d.name, v.version LIMIT ?3", &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, LH_INDEX_BUILD_MAX_ATTEMPTS);
	sqlite3_bind_int64(st, 2, clock_wall_ms() - stale_ms);
	sqlite3_bind_int64(st, 3, (int64_t)limit);
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		arr = xgrow(arr, len, sizeof *arr);
		struct catalog_index_pending *p = &arr[len++];
		memset(p, 0, sizeof *p);
		snprintf(p->name, sizeof p->name, "%s", column_text(st, 0));
		p->version = sqlite3_column_int64(st, 1);
		snprintf(p->fingerprint, sizeof p->fingerprint, "%s", column_text(st, 2));
		p->decl_json = xstrdup(column_text(st, 3));
		if (sqlite3_column_type(st, 4) == SQLITE_NULL ||
		    catalog_index_state_parse(column_text(st, 4), &p->state))
			p->state = CATALOG_INDEX_PENDING;
		p->attempts = sqlite3_column_int64(st, 5);
	}
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "list the search indexes to build", err);
		goto out;
	}
	*out = arr;
	*n = len;
	arr = NULL;
	len = 0;
	rc = 0;
out:
	sqlite3_finalize(st);
	pool_put(s, c);
	catalog_index_pending_free(arr, len);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

static void sqlite_close(struct catalog_store *store)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	if (!s)
		return;
	conn_pool_free(&s->pool);
	pthread_mutex_destroy(&s->write_lock);
	free(s->path);
	free(s);
}

/* ------------------------------------------------------------------------ */
/* Personal columns (ADR 0211)                                              */

static int sqlite_masks_set(struct catalog_store *store, const char *name, const char *columns,
			    struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int64_t id, created_ms, latest;
	int rc = -1, step;

	pthread_mutex_lock(&s->write_lock);
	if (pool_get(s, &c, err))
		goto out;
	if (exec_sql(c->db, "BEGIN IMMEDIATE", "start a change of personal columns", err) ||
	    dataset_get(c->db, name, &id, &created_ms, &latest, err))
		goto out;
	if (prepare(c->db, columns ? "INSERT INTO dataset_masks (dataset_id, columns_json)"
				     " VALUES (?1, ?2) ON CONFLICT (dataset_id)"
				     " DO UPDATE SET columns_json = excluded.columns_json"
				   : "DELETE FROM dataset_masks WHERE dataset_id = ?1",
		    &st, err))
		goto out;
	sqlite3_bind_int64(st, 1, id);
	if (columns)
		sqlite3_bind_text(st, 2, columns, -1, SQLITE_TRANSIENT);
	step = sqlite3_step(st);
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "store personal columns", err);
		goto out;
	}
	if (exec_sql(c->db, "COMMIT", "commit a change of personal columns", err))
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (c)
		pool_put(s, c);
	pthread_mutex_unlock(&s->write_lock);
	return rc;
}

static int sqlite_masks_list(struct catalog_store *store, struct catalog_masks **out, size_t *n,
			     struct lh_error *err)
{
	struct catalog_sqlite *s = (struct catalog_sqlite *)store;
	struct sqlite_conn *c = NULL;
	sqlite3_stmt *st = NULL;
	struct catalog_masks *arr = NULL;
	size_t len = 0;
	int rc = -1, step;

	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (prepare(c->db, "SELECT d.name, m.columns_json FROM dataset_masks m"
			   " JOIN datasets d ON d.id = m.dataset_id ORDER BY d.name", &st, err))
		goto out;
	for (step = sqlite3_step(st); step == SQLITE_ROW; step = sqlite3_step(st)) {
		arr = xrealloc(arr, (len + 1) * sizeof *arr);
		snprintf(arr[len].name, sizeof arr[len].name, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		arr[len].columns = xstrdup((const char *)sqlite3_column_text(st, 1));
		len++;
	}
	if (step != SQLITE_DONE) {
		db_fail(c->db, step, "list personal columns", err);
		goto out;
	}
	*out = arr;
	*n = len;
	arr = NULL;
	rc = 0;
out:
	catalog_masks_free(arr, len);
	sqlite3_finalize(st);
	pool_put(s, c);
	return rc;
}

static const struct catalog_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sqlite_close,
	.register_version = sqlite_register,
	.get_version = sqlite_get_version,
	.list_datasets = sqlite_list_datasets,
	.list_versions = sqlite_list_versions,
	.drop = sqlite_drop,
	.referenced_keys = sqlite_referenced_keys,
	.gc_sweep = sqlite_gc_sweep,
	.index_declare = sqlite_index_declare,
	.index_get = sqlite_index_get,
	.index_drop = sqlite_index_drop,
	.index_record = sqlite_index_record,
	.index_set_component = sqlite_index_set_component,
	.index_pending = sqlite_index_pending,
	.rename = sqlite_rename,
	.renamed = sqlite_renamed,
	.masks_set = sqlite_masks_set,
	.masks_list = sqlite_masks_list,
};

struct catalog_store *catalog_sqlite_open(const char *path, struct lh_error *err)
{
	struct catalog_sqlite *s = xcalloc(1, sizeof *s);
	struct sqlite_conn *c = NULL;
	s->base.ops = &sqlite_ops;
	s->path = xstrdup(path);
	conn_pool_init(&s->pool, SQLITE_POOL_MAX, pool_open, pool_close, s);
	pthread_mutex_init(&s->write_lock, NULL);
	if (pool_get(s, &c, err))
		goto fail;
	if (migrate(c->db, err))
		goto fail;
	pool_put(s, c);
	return &s->base;
fail:
	pool_put(s, c);
	sqlite_close(&s->base);
	return NULL;
}
