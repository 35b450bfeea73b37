/* catalog_pg.c — the PostgreSQL catalog backend, for scale-out (ADR 0071):
 * several catalogd processes share one database. The only file that includes
 * <libpq-fe.h>. The meaning of a register is catalog.c's (catalog_plan); this
 * file only makes it atomic and serialised, exactly as catalog_sqlite.c does.
 *
 * NOTES ON THE DESIGN OF THE POSTGRESQL STORE
 *   1. Connections come from a small pool (pool_get/pool_put), at most
 *      PG_POOL_MAX per process, each used by one thread at a time (libpq is
 *      thread-safe per connection). pool_put rolls back any open transaction
 *      and closes a connection that is broken.
 *   2. The first statement of every operation runs through query_first: if
 *      the idle connection turns out to be dead (the server restarted, an
 *      administrator terminated it), it is reopened and the statement sent
 *      once more. Nothing of the operation has run yet, so this is safe. A
 *      connection lost later fails the operation with 503 and is replaced.
 *   3. A register is one READ COMMITTED transaction (pg_register): first
 *      pg_advisory_xact_lock(PG_LOCK_NAME, hashtext(lower(name)))
 *      serialises every register and drop of that name, in any letter case
 *      (note 9), across all catalogd processes (a hash collision only makes
 *      two names queue together); each later statement
 *      sees everything committed before the lock was granted. Then load the
 *      latest version, catalog_plan(), insert the dataset row (version 1) or
 *      move latest_version, insert the version and its objects, COMMIT; the
 *      lock goes with the transaction. The primary key (dataset_id, version)
 *      would refuse a duplicate version anyway (409 write_conflict). Registers
 *      of different names run in parallel.
 *   4. Times come from the database's clock (clock_timestamp() read right
 *      after the lock), so the versions of a dataset made through different
 *      catalogd hosts are ordered by one clock.
 *   5. Reads are single statements (a version and its objects in one, the
 *      objects aggregated with json_agg), so each sees one snapshot without a
 *      transaction.
 *   6. The schema is created and upgraded by `migrations` below, applied in
 *      order in one transaction at open, under
 *      pg_advisory_xact_lock(PG_LOCK_MIGRATE, 0) so catalogds starting at once
 *      do not race; applied steps are rows of schema_migrations. A database
 *      newer than this binary is refused rather than misread.
 *   7. Every statement with a value in it goes through PQexecParams; SQL text
 *      is never built from data.
 *   8. The GC lock (catalog_store.h note 5) is the advisory lock
 *      (PG_LOCK_GC, 0), across every catalogd on the database: pg_register
 *      takes it in shared mode (pg_advisory_xact_lock_shared, so registers
 *      still run in parallel) after catalog_plan() and before the object
 *      check, and holds it to COMMIT; pg_gc_sweep takes it exclusively and,
 *      in READ COMMITTED, each of its "is this key referenced" reads sees
 *      every register that committed before the lock was granted. A waiting
 *      exclusive request queues later shared ones behind it, so GC is not
 *      starved. Lock order is always name lock, then GC lock: no deadlock.
 *   9. Dataset names are unique regardless of letter case (docs/api.md, ADR
 *      0112), so the name lock of note 3 is keyed by lower(name): the
 *      registers and drops of `salaries` and `SALARIES` queue on one lock.
 *      Holding it, pg_register looks a new name up by lower(name)
 *      (name_case_taken) and answers 409 name_conflict. A trigger
 *      (migration 2) makes the database refuse such a name on INSERT or
 *      rename whoever writes (23505 on constraint datasets_name_nocase, read
 *      back by pg_fail as name_conflict). A database that already holds such
 *      a pair keeps it: every lookup is `name = $1`, exact, and catalogd
 *      warns about the pair at start.
 *  10. Search indexes (catalog_store.h note 7; migration 3): index_decls,
 *      index_builds, index_parts, removed by ON DELETE CASCADE with their
 *      dataset or declaration. Every write takes the name's lock
 *      (write_begin), so it serialises with registers and drops of the
 *      name; pg_index_record also takes the GC lock shared before checking
 *      the part keys no row references yet (catalog_store_check_keys) and
 *      holds it to COMMIT, and GC's reads count index_parts.part_key as
 *      referenced (pg_referenced_keys, pg_gc_sweep), exactly as note 8 does
 *      for version objects. pg_index_get reads in one REPEATABLE READ
 *      snapshot.
 *  11. Rename (catalog_store.h note 8; migration 4, ADR 0175): pg_rename
 *      takes the name locks of both names (note 3), in the order of their
 *      lowercase forms so two opposite renames cannot deadlock, then moves
 *      the redirects in dataset_renames and updates datasets.name in one
 *      transaction; the trigger of migration 2 still judges the new name.
 *      A trigger on datasets ends redirects when a dataset is created under
 *      an old name or the dataset they point to is dropped.
 *  12. Declared types (ADR 0171; migration 6): one declared_types row per
 *      dataset with a declaration (dropped with it by ON DELETE CASCADE). A
 *      register that says its declaration replaces the row in its
 *      transaction, also when it makes no new version; every version read
 *      carries the dataset's current declaration (declared_load).
 *  13. Start in any order (ADR 0201): when the server cannot be reached at
 *      open, the store is returned anyway, not yet migrated; every call
 *      fails 503 "catalog_unavailable" (pool_get) until a retry thread has
 *      connected and migrated (backoff PG_RETRY_MIN_MS doubling to
 *      PG_RETRY_MAX_MS). A refused login (SQLSTATE 28P01/28000, a missing
 *      role or database: conn_open's login_refused) is not retried at open:
 *      it is a fatal 500 "catalog_login_refused" with the fix in words.
 *      Connection failures are logged once per change of state, not per
 *      attempt; pg_ping tells /ready the last reason.
 * Durability is the server's: with PostgreSQL's defaults (fsync on,
 * synchronous_commit on) a COMMIT that returned is on disk.
 */
#include "catalogd/catalog_store.h"
#include "catalogd/conn_pool.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/names.h"
#include "common/xmalloc.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PG_POOL_MAX 16
/* Advisory lock keys (two int4 form): "LH" in the high bytes, then a class. */
#define PG_LOCK_MIGRATE "1279787009"  /* 0x4C480001: schema migrations */
#define PG_LOCK_NAME "1279787010"     /* 0x4C480002: one dataset name */
#define PG_LOCK_GC "1279787011"       /* 0x4C480003: GC vs registers (note 8) */

/* Versioned schema steps: migrations[i] is schema_migrations version i + 1.
 * Never edit a step that has shipped; add one. */
static const char *const migrations[] = {
	/* 1: datasets, their versions, and each version's objects. */
	"CREATE TABLE datasets ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_ms BIGINT NOT NULL,"
	"  latest_version BIGINT NOT NULL CHECK (latest_version >= 1));"
	"CREATE TABLE versions ("
	"  dataset_id BIGINT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,"
	"  version BIGINT NOT NULL CHECK (version >= 1),"
	"  schema_fingerprint TEXT NOT NULL,"
	"  schema_json TEXT NOT NULL,"
	"  mode TEXT NOT NULL CHECK (mode IN ('replace', 'append')),"
	"  row_count BIGINT NOT NULL CHECK (row_count >= 0),"
	"  size_bytes BIGINT NOT NULL CHECK (size_bytes >= 0),"
	"  created_ms BIGINT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version));"
	"CREATE TABLE version_objects ("
	"  dataset_id BIGINT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  size BIGINT NOT NULL CHECK (size >= 0),"
	"  row_count BIGINT NOT NULL CHECK (row_count >= 0),"
	"  content_sha256 TEXT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version, ord),"
	"  FOREIGN KEY (dataset_id, version) REFERENCES versions(dataset_id, version)"
	"    ON DELETE CASCADE);"
	"CREATE INDEX version_objects_key ON version_objects(key);",
	/* 2: names unique regardless of letter case for every NEW name (note 9).
	 * Not a unique index: a database may already hold such a pair, which
	 * stays. The trigger takes the same lock as write_begin, so it also
	 * serialises writers that do not (a hand-written INSERT). */
	"CREATE INDEX datasets_name_lower ON datasets (lower(name));"
	"CREATE FUNCTION lakehouse_datasets_name_nocase() RETURNS trigger"
	" LANGUAGE plpgsql AS $$"
	" DECLARE other TEXT;"
	" BEGIN"
	"  PERFORM pg_advisory_xact_lock(" PG_LOCK_NAME ", hashtext(lower(NEW.name)));"
	"  SELECT name INTO other FROM datasets"
	"   WHERE lower(name) = lower(NEW.name) AND id <> NEW.id LIMIT 1;"
	"  IF FOUND THEN"
	"   RAISE EXCEPTION USING ERRCODE = 'unique_violation',"
	"    CONSTRAINT = 'datasets_name_nocase', MESSAGE = 'name_conflict', DETAIL = other;"
	"  END IF;"
	"  RETURN NEW;"
	" END $$;"
	"CREATE TRIGGER datasets_name_nocase BEFORE INSERT OR UPDATE OF name ON datasets"
	" FOR EACH ROW EXECUTE FUNCTION lakehouse_datasets_name_nocase();",
	/* 3: search-index declarations, per-version build records and their
	 * parts (note 10); all go with their dataset or declaration. */
	"CREATE TABLE index_decls ("
	"  dataset_id BIGINT PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,"
	"  decl_json TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  from_version BIGINT NOT NULL CHECK (from_version >= 1),"
	"  created_ms BIGINT NOT NULL,"
	"  component_json TEXT);"
	"CREATE TABLE index_builds ("
	"  dataset_id BIGINT NOT NULL REFERENCES index_decls(dataset_id) ON DELETE CASCADE,"
	"  version BIGINT NOT NULL CHECK (version >= 1),"
	"  state TEXT NOT NULL CHECK (state IN ('building', 'ready', 'failed')),"
	"  reason TEXT,"
	"  rows_indexed BIGINT NOT NULL CHECK (rows_indexed >= 0),"
	"  build_ms BIGINT NOT NULL CHECK (build_ms >= 0),"
	"  attempts BIGINT NOT NULL CHECK (attempts >= 0),"
	"  updated_ms BIGINT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version));"
	"CREATE TABLE index_parts ("
	"  dataset_id BIGINT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  object_key TEXT NOT NULL,"
	"  part_key TEXT NOT NULL,"
	"  row_count BIGINT NOT NULL CHECK (row_count >= 0),"
	"  byte_count BIGINT NOT NULL CHECK (byte_count >= 0),"
	"  PRIMARY KEY (dataset_id, version, ord),"
	"  FOREIGN KEY (dataset_id, version) REFERENCES index_builds(dataset_id, version)"
	"    ON DELETE CASCADE);"
	"CREATE INDEX index_parts_key ON index_parts(part_key);",
	/* 4: renames (note 11, ADR 0175): the redirect of each old name. A new
	 * dataset ends the redirects from its name, a dropped one those to it.
	 * Written to run again harmlessly (as tests do to fake an older one). */
	"CREATE TABLE IF NOT EXISTS dataset_renames ("
	"  old_name TEXT NOT NULL PRIMARY KEY,"
	"  new_name TEXT NOT NULL,"
	"  renamed_ms BIGINT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS dataset_renames_old_lower ON dataset_renames (lower(old_name));"
	"CREATE INDEX IF NOT EXISTS dataset_renames_new ON dataset_renames (new_name);"
	"CREATE OR REPLACE FUNCTION lakehouse_dataset_renames_end() RETURNS trigger"
	" LANGUAGE plpgsql AS $$"
	" BEGIN"
	"  IF TG_OP = 'INSERT' THEN"
	"   DELETE FROM dataset_renames WHERE lower(old_name) = lower(NEW.name);"
	"  ELSE"
	"   DELETE FROM dataset_renames WHERE new_name = OLD.name;"
	"  END IF;"
	"  RETURN NULL;"
	" END $$;"
	"DROP TRIGGER IF EXISTS dataset_renames_end ON datasets;"
	"CREATE TRIGGER dataset_renames_end AFTER INSERT OR DELETE ON datasets"
	" FOR EACH ROW EXECUTE FUNCTION lakehouse_dataset_renames_end();",
	/* 5: the schema each object of an evolved dataset was written with,
	 * when it is not its version's (ADR 0173). A row per such object only;
	 * it goes with its object row. IF NOT EXISTS: a database whose
	 * schema_migrations rows were set back by hand (as tests do to fake an
	 * older catalog) keeps its table. */
	"CREATE TABLE IF NOT EXISTS object_fingerprints ("
	"  dataset_id BIGINT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  ord INTEGER NOT NULL,"
	"  schema_fingerprint TEXT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version, ord),"
	"  FOREIGN KEY (dataset_id, version, ord)"
	"    REFERENCES version_objects(dataset_id, version, ord) ON DELETE CASCADE);",
	/* 6: each dataset's declared types (note 12, ADR 0171): one row per
	 * dataset with a declaration, [{"column","type"}]; dropped with it. */
	"CREATE TABLE IF NOT EXISTS declared_types ("
	"  dataset_id BIGINT PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,"
	"  types_json TEXT NOT NULL);",
	/* 7: personal columns (ADR 0211): one row per dataset that has any.
	 * IF NOT EXISTS, as 5 and 6. */
	"CREATE TABLE IF NOT EXISTS dataset_masks ("
	"  dataset_id BIGINT PRIMARY KEY REFERENCES datasets(id) ON DELETE CASCADE,"
	"  columns_json TEXT NOT NULL);",
	/* 8: who made each version (ADR 0210); it goes with its version row. */
	"CREATE TABLE IF NOT EXISTS version_authors ("
	"  dataset_id BIGINT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  who TEXT NOT NULL,"
	"  PRIMARY KEY (dataset_id, version),"
	"  FOREIGN KEY (dataset_id, version) REFERENCES versions(dataset_id, version)"
	"    ON DELETE CASCADE);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

struct pg_conn {
	PGconn *pg;
};

struct catalog_pg {
	struct catalog_store base;  /* first: a catalog_store * is a catalog_pg * */
	char *dsn;
	struct conn_pool pool;      /* struct pg_conn connections */
	/* note 13 */
	atomic_int migrated;        /* the schema is known to be current */
	atomic_int log_connect;     /* conn_open logs a failure */
	pthread_mutex_t retry_mu;   /* guards the fields below */
	pthread_cond_t retry_cv;    /* CLOCK_MONOTONIC; pg_close wakes the thread */
	int retry_stop, retry_started;
	pthread_t retry_tid;
	char last_error[512];       /* why it is not migrated yet (an lh_error msg) */
};

#define PG_RETRY_MIN_MS 250
#define PG_RETRY_MAX_MS 5000

/* An int64 as a text parameter. */
struct pg_int {
	char s[24];
};

static const char *pg_int(struct pg_int *b, int64_t v)
{
	snprintf(b->s, sizeof b->s, "%lld", (long long)v);
	return b->s;
}

/* ------------------------------------------------------------------------ */
/* Errors and statements                                                    */

static int sqlstate_is(const char *state, const char *want)
{
	return state && !strncmp(state, want, strlen(want));
}

/* Fill err for a failed statement or connection (res may be NULL): the
 * details go to the log, the client gets plain words. Always returns -1. */
static int pg_fail(PGconn *pg, const PGresult *res, const char *what, struct lh_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	if (!msg || !msg[0])
		msg = pg ? PQerrorMessage(pg) : "out of memory";
	int len = (int)strcspn(msg, "\n");
	log_event("error", "catalogd", "postgres: %s: %s%s%.*s", what, state ? state : "",
		  state ? " " : "", len, msg);
	if ((pg && PQstatus(pg) != CONNECTION_OK) || sqlstate_is(state, "08") ||
	    sqlstate_is(state, "57P"))
		return lh_fail(err, 503, "catalog_unavailable",
			       "the catalog database is unavailable; try again");
	if (sqlstate_is(state, "55P03") || sqlstate_is(state, "40") || sqlstate_is(state, "53"))
		return lh_fail(err, 503, "busy", "the catalog is busy; try again");
	if (sqlstate_is(state, "23505") && res &&
	    !strcmp(PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) ?: "", "datasets_name_nocase")) {
		/* note 9: a writer that skipped name_case_taken; DETAIL names the other */
		const char *other = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		int named = other && dataset_name_valid(other);
		lh_fail(err, 409, "name_conflict", "a dataset named \"%s\" already exists, and "
			"dataset names are unique regardless of letter case", named ? other : "?");
		if (named)
			lh_error_set(err, "existing_name", json_string(other));
		return -1;
	}
	if (sqlstate_is(state, "23505"))
		return lh_fail(err, 409, "write_conflict",
			       "another change to this dataset was committed first; try again");
	return lh_fail(err, 500, "catalog_error", "the catalog database failed while trying to %s",
		       what);
}

/* Run one statement with text parameters and text results. On 0, *out (if
 * not NULL) is the result, which the caller PQclear()s. */
static int query(PGconn *pg, const char *sql, int nparams, const char *const *params,
		 const char *what, PGresult **out, struct lh_error *err)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_fail(pg, res, what, err);
		PQclear(res);
		return -1;
	}
	if (out)
		*out = res;
	else
		PQclear(res);
	return 0;
}

/* A column as int64 (NULL reads as 0). The database is trusted to hold what
 * its CHECK constraints allow. */
static int64_t field_i64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static void notice_ignore(void *arg, const char *message)
{
	(void)arg;
	(void)message;  /* "relation already exists, skipping" and the like */
}

/* ------------------------------------------------------------------------ */
/* Connections                                                              */

/* Note 13: did the server refuse this login (wrong password, no such role
 * or database, pg_hba.conf)? libpq gives no SQLSTATE for a failed
 * connection, so the server's English message is matched (28P01, 28000,
 * 3D000); anything else counts as "not reachable", which is retried. */
static int login_refused(const char *msg)
{
	static const char *const marks[] = { "password authentication failed",
					     "authentication failed", "no pg_hba.conf entry",
					     "does not exist", "password is required",
					     "password must be", NULL };
	for (size_t i = 0; marks[i]; i++)
		if (strstr(msg, marks[i]))
			return 1;
	return 0;
}

static int conn_open(const char *dsn, int log_failure, PGconn **out, struct lh_error *err)
{
	/* The DSN comes last, so what it says wins over these defaults. */
	static const char *const keys[] = { "connect_timeout", "fallback_application_name",
					    "dbname", NULL };
	const char *vals[] = { "10", "lakehouse-catalogd", dsn, NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	PGresult *res = NULL;

	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		const char *msg = pg ? PQerrorMessage(pg) : "out of memory";
		int len = (int)strcspn(msg, "\n");
		if (log_failure)
			log_event("error", "catalogd", "postgres: connect: %.*s", len, msg);
		if (login_refused(msg))
			lh_fail(err, 500, "catalog_login_refused",
				"the catalog database refused the login (%.*s); check the user, "
				"password and database name in [catalogd] postgres_dsn "
				"(LAKEHOUSE_CATALOGD_POSTGRES_DSN)", len, msg);
		else
			lh_fail(err, 503, "catalog_unavailable",
				"the catalog database could not be reached");
		goto fail;
	}
	PQsetNoticeProcessor(pg, notice_ignore, NULL);
	if (PQsetClientEncoding(pg, "UTF8")) {
		pg_fail(pg, NULL, "set the client encoding", err);
		goto fail;
	}
	/* A register waits at most 10 s for another one's lock (like SQLite's
	 * busy_timeout); a transaction left open by a vanished client ends. */
	res = PQexec(pg, "SET lock_timeout = '10s';"
			 " SET idle_in_transaction_session_timeout = '60s'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail(pg, res, "configure the connection", err);
		goto fail;
	}
	PQclear(res);
	*out = pg;
	return 0;
fail:
	PQclear(res);
	PQfinish(pg);
	return -1;
}

static int pool_open(void *ctx, void **out, struct lh_error *err)
{
	struct catalog_pg *s = ctx;
	struct pg_conn *c = xcalloc(1, sizeof *c);
	if (conn_open(s->dsn, atomic_load(&s->log_connect), &c->pg, err)) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void pool_close(void *conn)
{
	struct pg_conn *c = conn;
	PQfinish(c->pg);
	free(c);
}

/* A connection for this thread's exclusive use until pool_put. Blocks while
 * PG_POOL_MAX are in use. */
static int pool_get(struct catalog_pg *s, struct pg_conn **out, struct lh_error *err)
{
	void *c;
	if (!atomic_load(&s->migrated))   /* note 13 */
		return lh_fail(err, 503, "catalog_unavailable",
			       "the catalog database is not reachable yet");
	if (conn_pool_get(&s->pool, &c, err))
		return -1;
	*out = c;
	return 0;
}

/* Give a connection back: an open transaction is rolled back (never handed
 * on), a broken connection is closed and its slot freed. */
static void pool_put(struct catalog_pg *s, struct pg_conn *c)
{
	if (!c)
		return;
	if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	conn_pool_put(&s->pool, c, PQstatus(c->pg) == CONNECTION_OK &&
				   PQtransactionStatus(c->pg) == PQTRANS_IDLE);
}

/* The first statement of an operation (note 2): like query(), but a dead
 * connection is reopened and the statement sent once more. */
static int query_first(struct catalog_pg *s, struct pg_conn *c, const char *sql, int nparams,
		       const char *const *params, const char *what, PGresult **out,
		       struct lh_error *err)
{
	PGresult *res = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	PGconn *fresh = NULL;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	if (PQstatus(c->pg) == CONNECTION_OK) {
		pg_fail(c->pg, res, what, err);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	log_event("warn", "catalogd", "postgres: connection lost; reconnecting");
	if (conn_open(s->dsn, 1, &fresh, err))
		return -1;  /* pool_put closes the dead one */
	PQfinish(c->pg);
	c->pg = fresh;
	return query(c->pg, sql, nparams, params, what, out, err);
}

static int migrate(struct catalog_pg *s, struct pg_conn *c, struct lh_error *err)
{
	PGresult *res = NULL;
	int rc = -1, have;

	if (query_first(s, c, "BEGIN", 0, NULL, "start the schema migration", NULL, err) ||
	    query(c->pg, "SELECT pg_advisory_xact_lock(" PG_LOCK_MIGRATE ", 0)", 0, NULL,
		  "lock the schema for migration", NULL, err) ||
	    query(c->pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " version INTEGER PRIMARY KEY,"
			 " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", 0, NULL,
		  "create the migrations table", NULL, err) ||
	    query(c->pg, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL,
		  "read the schema version", &res, err))
		goto out;
	have = (int)field_i64(res, 0, 0);
	PQclear(res);
	res = NULL;
	if (have > NMIGRATIONS) {
		lh_fail(err, 500, "catalog_error",
			"the catalog database has schema version %d, newer than this lakehouse "
			"understands (%d); upgrade lakehouse", have, NMIGRATIONS);
		goto out;
	}
	for (int v = have; v < NMIGRATIONS; v++) {
		struct pg_int b;
		const char *params[] = { pg_int(&b, v + 1) };
		/* A constant multi-statement script: PQexec, no parameters. */
		res = PQexec(c->pg, migrations[v]);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_fail(c->pg, res, "migrate the catalog schema", err);
			goto out;
		}
		PQclear(res);
		res = NULL;
		if (query(c->pg, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, params,
			  "record the schema version", NULL, err))
			goto out;
	}
	if (query(c->pg, "COMMIT", 0, NULL, "commit the schema migration", NULL, err))
		goto out;
	rc = 0;
out:
	PQclear(res);
	return rc;  /* on failure pool_put rolls back */
}

/* ------------------------------------------------------------------------ */
/* Reads                                                                    */

static int not_found(struct lh_error *err, const char *name, int64_t version)
{
	if (version > 0)
		return lh_fail(err, 404, "not_found", "dataset \"%s\" has no version %lld", name,
			       (long long)version);
	return lh_fail(err, 404, "not_found", "no dataset named \"%s\"", name);
}

static int unreadable(struct lh_error *err, const char *name)
{
	log_event("error", "catalogd", "postgres: a stored version of \"%s\" is malformed", name);
	return lh_fail(err, 500, "catalog_error", "a stored version of \"%s\" is unreadable", name);
}

/* The objects column of version_load: a JSON array of [key, size, rows,
 * sha256, fingerprint] in manifest order (fingerprint null: the version's,
 * ADR 0173), or NULL for none. */
static int objects_from_json(struct catalog_version *v, const char *text, struct lh_error *err)
{
	json_t *arr = json_loads(text, 0, NULL);
	size_t i;
	json_t *o;
	int rc = -1;
	if (!json_is_array(arr))
		goto out;
	json_array_foreach(arr, i, o) {
		json_t *key = json_array_get(o, 0), *size = json_array_get(o, 1);
		json_t *rows = json_array_get(o, 2), *sha = json_array_get(o, 3);
		json_t *fp = json_array_get(o, 4);
		if (json_array_size(o) != 5 || !json_is_string(key) || !json_is_integer(size) ||
		    !json_is_integer(rows) || !json_is_string(sha) ||
		    !(json_is_null(fp) || json_is_string(fp)))
			goto out;
		catalog_version_add_object(v, json_string_value(key), json_integer_value(size),
					   json_integer_value(rows), json_string_value(sha));
		if (json_is_string(fp))
			snprintf(v->objects[v->nobjects - 1].fingerprint, CATALOG_FP_LEN + 1, "%s",
				 json_string_value(fp));
	}
	rc = 0;
out:
	json_decref(arr);
	return rc ? unreadable(err, v->name) : 0;
}

/* Load version `version` (0 = latest) of `name` in one statement (note 5).
 * Returns 0 with *out (caller destroys) and *id, 1 if there is no such
 * dataset, 2 if it has no such version, -1 with err. `first`: this is the
 * operation's first statement (query_first). */
static int version_load(struct catalog_pg *s, struct pg_conn *c, int first, const char *name,
			int64_t version, int64_t *id, struct catalog_version **out,
			struct lh_error *err)
{
	static const char sql[] =
		"SELECT d.id, d.created_ms, v.version, v.schema_fingerprint, v.schema_json, v.mode,"
		" v.row_count, v.size_bytes, v.created_ms,"
		" (SELECT json_agg(json_build_array(o.key, o.size, o.row_count, o.content_sha256,"
		"   f.schema_fingerprint) ORDER BY o.ord) FROM version_objects o"
		"  LEFT JOIN object_fingerprints f ON f.dataset_id = o.dataset_id"
		"   AND f.version = o.version AND f.ord = o.ord"
		"  WHERE o.dataset_id = v.dataset_id AND o.version = v.version),"
		/* ADR 0173: each object fingerprint's schema, from its first version */
		" (SELECT json_object_agg(x.fp, (SELECT w.schema_json::json FROM versions w"
		"   WHERE w.dataset_id = v.dataset_id AND w.schema_fingerprint = x.fp"
		"   ORDER BY w.version LIMIT 1))"
		"  FROM (SELECT DISTINCT f.schema_fingerprint AS fp FROM object_fingerprints f"
		"   WHERE f.dataset_id = v.dataset_id AND f.version = v.version) x)"
		" FROM datasets d LEFT JOIN versions v ON v.dataset_id = d.id"
		"  AND v.version = CASE WHEN $2::bigint > 0 THEN $2::bigint ELSE d.latest_version END"
		" WHERE d.name = $1";
	struct pg_int b;
	const char *params[] = { name, pg_int(&b, version) };
	PGresult *res = NULL;
	struct catalog_version *v = NULL;
	json_t *schema = NULL;
	int rc = -1;

	if (first ? query_first(s, c, sql, 2, params, "read a version", &res, err)
		  : query(c->pg, sql, 2, params, "read a version", &res, err))
		return -1;
	if (PQntuples(res) == 0) {
		rc = 1;
		goto out;
	}
	if (PQgetisnull(res, 0, 2)) {
		rc = 2;
		goto out;
	}
	v = catalog_version_create();
	snprintf(v->name, sizeof v->name, "%s", name);
	*id = field_i64(res, 0, 0);
	v->created_ms = field_i64(res, 0, 1);
	v->version = field_i64(res, 0, 2);
	snprintf(v->fingerprint, sizeof v->fingerprint, "%s", PQgetvalue(res, 0, 3));
	schema = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
	if (catalog_schema_from_json(v, schema, err))
		goto out;
	if (catalog_mode_parse(PQgetvalue(res, 0, 5), &v->mode)) {
		unreadable(err, name);
		goto out;
	}
	v->row_count = field_i64(res, 0, 6);
	v->size_bytes = field_i64(res, 0, 7);
	v->updated_ms = field_i64(res, 0, 8);
	if (!PQgetisnull(res, 0, 9) && objects_from_json(v, PQgetvalue(res, 0, 9), err))
		goto out;
	if (!PQgetisnull(res, 0, 10)) {                                      /* ADR 0173 */
		v->object_schemas = json_loads(PQgetvalue(res, 0, 10), 0, NULL);
		if (!json_is_object(v->object_schemas)) {
			unreadable(err, name);
			goto out;
		}
	}
	*out = v;
	v = NULL;
	rc = 0;
out:
	json_decref(schema);
	PQclear(res);
	catalog_version_destroy(v);
	return rc;
}

/* Note 12: the dataset's declaration into v (has_declared = 1). */
static int declared_load(PGconn *pg, int64_t id, struct catalog_version *v,
			 struct lh_error *err)
{
	struct pg_int b;
	const char *params[] = { pg_int(&b, id) };
	PGresult *res = NULL;
	json_t *arr = NULL;
	int rc = 0;
	catalog_version_clear_declared(v);
	v->has_declared = 1;
	if (query(pg, "SELECT types_json FROM declared_types WHERE dataset_id = $1", 1, params,
		  "read the declared types", &res, err))
		return -1;
	if (PQntuples(res) > 0) {
		arr = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		rc = catalog_declared_from_json(v, arr, err);
	}
	json_decref(arr);
	PQclear(res);
	return rc;
}

/* Note 12, inside a register's transaction: dst's declaration becomes the
 * dataset's: req's when it said one (written now), else the stored one. */
static int declared_settle(PGconn *pg, int64_t id, const struct catalog_version *req,
			   struct catalog_version *dst, struct lh_error *err)
{
	struct pg_int b;
	int rc;
	if (!req->has_declared)
		return declared_load(pg, id, dst, err);
	if (req->ndeclared == 0) {
		const char *params[] = { pg_int(&b, id) };
		rc = query(pg, "DELETE FROM declared_types WHERE dataset_id = $1", 1, params,
			   "write the declared types", NULL, err);
	} else {
		json_t *arr = catalog_declared_json(req);
		char *text = json_dump_compact(arr);
		const char *params[] = { pg_int(&b, id), text };
		rc = query(pg, "INSERT INTO declared_types (dataset_id, types_json) VALUES ($1, $2)"
			   " ON CONFLICT (dataset_id) DO UPDATE SET types_json = EXCLUDED.types_json",
			   2, params, "write the declared types", NULL, err);
		free(text);
		json_decref(arr);
	}
	if (rc)
		return -1;
	catalog_version_clear_declared(dst);
	for (size_t i = 0; i < req->ndeclared; i++)
		catalog_version_add_declared(dst, req->declared[i].name, req->declared[i].type);
	dst->has_declared = 1;
	return 0;
}

static int pg_get_version(struct catalog_store *store, const char *name, int64_t version,
			  struct catalog_version **out, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	int64_t id;
	int rc = -1, found;

	if (pool_get(s, &c, err))
		return -1;
	found = version_load(s, c, 1, name, version, &id, out, err);
	if (found == 1)
		not_found(err, name, 0);
	else if (found == 2)
		not_found(err, name, version);
	else
		rc = found;
	if (rc == 0 && declared_load(c->pg, id, *out, err)) {               /* note 12 */
		catalog_version_destroy(*out);
		*out = NULL;
		rc = -1;
	}
	pool_put(s, c);
	return rc;
}

/* Run a summary query (columns: name, version, fingerprint, mode, row_count,
 * size_bytes, dataset created_ms, version created_ms), collecting rows. */
static int summaries_collect(struct catalog_pg *s, struct pg_conn *c, const char *sql,
			     int nparams, const char *const *params,
			     struct catalog_summary **out, size_t *n, struct lh_error *err)
{
	PGresult *res = NULL;
	struct catalog_summary *arr = NULL;
	int rows;
	if (query_first(s, c, sql, nparams, params, "list the catalog", &res, err))
		return -1;
	rows = PQntuples(res);
	if (rows > 0)
		arr = xcalloc((size_t)rows, sizeof *arr);
	for (int i = 0; i < rows; i++) {
		struct catalog_summary *m = &arr[i];
		snprintf(m->name, sizeof m->name, "%s", PQgetvalue(res, i, 0));
		m->version = field_i64(res, i, 1);
		snprintf(m->fingerprint, sizeof m->fingerprint, "%s", PQgetvalue(res, i, 2));
		if (catalog_mode_parse(PQgetvalue(res, i, 3), &m->mode))
			m->mode = CATALOG_REPLACE;
		m->row_count = field_i64(res, i, 4);
		m->size_bytes = field_i64(res, i, 5);
		m->created_ms = field_i64(res, i, 6);
		m->updated_ms = field_i64(res, i, 7);
		if (PQnfields(res) > 8)   /* version lists: who made it (ADR 0210) */
			snprintf(m->ingested_by, sizeof m->ingested_by, "%s", PQgetvalue(res, i, 8));
	}
	PQclear(res);
	*out = arr;
	*n = (size_t)rows;
	return 0;
}

static int pg_list_datasets(struct catalog_store *store, struct catalog_summary **out,
			    size_t *n, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	int rc;
	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	/* COLLATE "C": byte order, as SQLite's default BINARY collation sorts. */
	rc = summaries_collect(s, c,
		"SELECT d.name, d.latest_version, v.schema_fingerprint, v.mode, v.row_count,"
		" v.size_bytes, d.created_ms, v.created_ms"
		" FROM datasets d JOIN versions v"
		"  ON v.dataset_id = d.id AND v.version = d.latest_version"
		" ORDER BY d.name COLLATE \"C\"", 0, NULL, out, n, err);
	pool_put(s, c);
	return rc;
}

static int pg_list_versions(struct catalog_store *store, const char *name,
			    struct catalog_summary **out, size_t *n, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	const char *params[] = { name };
	int rc;
	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	/* A dataset always has a version, so no row means no dataset. */
	rc = summaries_collect(s, c,
		"SELECT d.name, v.version, v.schema_fingerprint, v.mode, v.row_count,"
		" v.size_bytes, d.created_ms, v.created_ms, coalesce(a.who, '')"
		" FROM versions v JOIN datasets d ON d.id = v.dataset_id"
		" LEFT JOIN version_authors a ON a.dataset_id = v.dataset_id AND a.version = v.version"
		" WHERE d.name = $1 ORDER BY v.version", 1, params, out, n, err);
	pool_put(s, c);
	if (!rc && *n == 0)
		rc = not_found(err, name, 0);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Writes                                                                   */

/* Begin a write of `name` (note 3): BEGIN, then the advisory lock of
 * lower(name) (note 9), then the database clock into *now_ms. */
static int write_begin(struct catalog_pg *s, struct pg_conn *c, const char *name,
		       int64_t *now_ms, struct lh_error *err)
{
	const char *params[] = { name };
	PGresult *res = NULL;
	if (query_first(s, c, "BEGIN", 0, NULL, "start a transaction", NULL, err))
		return -1;
	/* The lock is taken in the subquery, before the clock is read: a
	 * subquery with a volatile function is never flattened. */
	if (query(c->pg, "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
			 " FROM (SELECT pg_advisory_xact_lock(" PG_LOCK_NAME ", hashtext(lower($1)))) l",
		  1, params, "lock a dataset", &res, err))
		return -1;
	*now_ms = field_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

/* Note 9, holding the name lock: is a dataset whose name equals `name` but
 * for letter case there? 0 no; -1 with 409 name_conflict naming it (the
 * first in byte order), or the database error. */
static int name_case_taken(PGconn *pg, const char *name, struct lh_error *err)
{
	const char *params[] = { name };
	PGresult *res = NULL;
	if (query(pg, "SELECT name FROM datasets WHERE lower(name) = lower($1)"
		      " ORDER BY name COLLATE \"C\" LIMIT 1", 1, params,
		  "look up a dataset name", &res, err))
		return -1;
	int rc = PQntuples(res) > 0 ? dataset_name_conflict(err, name, PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	return rc;
}

static int version_insert(PGconn *pg, int64_t id, const struct catalog_version *v,
			  struct lh_error *err)
{
	json_t *schema = catalog_schema_json(v->columns, v->ncolumns);
	json_t *objs = json_array();
	char *schema_text = json_dump_compact(schema), *objs_text = NULL;
	struct pg_int b_id, b_ver, b_rows, b_size, b_ms;
	int rc = -1;

	const char *vparams[] = { pg_int(&b_id, id), pg_int(&b_ver, v->version), v->fingerprint,
				  schema_text, catalog_mode_name(v->mode),
				  pg_int(&b_rows, v->row_count), pg_int(&b_size, v->size_bytes),
				  pg_int(&b_ms, v->updated_ms) };
	if (query(pg, "INSERT INTO versions (dataset_id, version, schema_fingerprint,"
		      " schema_json, mode, row_count, size_bytes, created_ms)"
		      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, vparams,
		  "write a version", NULL, err))
		goto out;
	const char *aparams[] = { b_id.s, b_ver.s, v->ingested_by };
	if (v->ingested_by[0] &&                                             /* ADR 0210 */
	    query(pg, "INSERT INTO version_authors (dataset_id, version, who) VALUES ($1, $2, $3)",
		  3, aparams, "write who made a version", NULL, err))
		goto out;
	if (v->nobjects == 0) {
		rc = 0;
		goto out;
	}
	/* All objects in one statement: a JSON array parameter, unnested. */
	for (size_t i = 0; i < v->nobjects; i++) {
		const struct catalog_object *o = &v->objects[i];
		json_array_append_new(objs, json_pack("[s, I, I, s, s?]", o->key,
						      (json_int_t)o->size, (json_int_t)o->row_count,
						      o->sha256,
						      o->fingerprint[0] &&
						      strcmp(o->fingerprint, v->fingerprint)
						      ? o->fingerprint : NULL));
	}
	objs_text = json_dump_compact(objs);
	const char *oparams[] = { b_id.s, b_ver.s, objs_text };
	if (query(pg, "INSERT INTO version_objects (dataset_id, version, ord, key, size,"
		      " row_count, content_sha256)"
		      " SELECT $1, $2, e.n - 1, e.o->>0, (e.o->>1)::bigint, (e.o->>2)::bigint, e.o->>3"
		      " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(o, n)", 3, oparams,
		  "write a version's objects", NULL, err))
		goto out;
	size_t foreign = 0;
	for (size_t i = 0; i < v->nobjects; i++)
		foreign += v->objects[i].fingerprint[0] &&
			   strcmp(v->objects[i].fingerprint, v->fingerprint);
	if (foreign &&   /* ADR 0173: only an evolved version's older objects */
	    query(pg, "INSERT INTO object_fingerprints (dataset_id, version, ord,"
		      " schema_fingerprint)"
		      " SELECT $1, $2, e.n - 1, e.o->>4"
		      " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(o, n)"
		      " WHERE e.o->>4 IS NOT NULL", 3, oparams,
		  "write a version's object fingerprints", NULL, err))
		goto out;
	rc = 0;
out:
	free(objs_text);
	free(schema_text);
	json_decref(objs);
	json_decref(schema);
	return rc;
}

/* Point the dataset at `next`, creating its row for version 1 (*id is set). */
static int dataset_advance(PGconn *pg, int absent, int64_t *id,
			   const struct catalog_version *next, struct lh_error *err)
{
	struct pg_int b1, b2;
	PGresult *res = NULL;
	if (absent) {
		const char *params[] = { next->name, pg_int(&b1, next->created_ms),
					 pg_int(&b2, next->version) };
		if (query(pg, "INSERT INTO datasets (name, created_ms, latest_version)"
			      " VALUES ($1, $2, $3) RETURNING id", 3, params,
			  "record a new dataset", &res, err))
			return -1;
		*id = field_i64(res, 0, 0);
		PQclear(res);
		return 0;
	}
	const char *params[] = { pg_int(&b1, next->version), pg_int(&b2, *id) };
	return query(pg, "UPDATE datasets SET latest_version = $1 WHERE id = $2", 2, params,
		     "record the dataset's latest version", NULL, err);
}

static int pg_register(struct catalog_store *store, const struct catalog_version *req,
		       struct catalog_version **out, int *existing, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	struct catalog_version *latest = NULL, *next = NULL;
	int64_t id = 0, now_ms = 0;
	int rc = -1, found;

	*out = NULL;
	*existing = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (write_begin(s, c, req->name, &now_ms, err))
		goto out;
	found = version_load(s, c, 0, req->name, 0, &id, &latest, err);
	if (found < 0)
		goto out;
	if (found == 2) {
		unreadable(err, req->name);  /* latest_version names no version */
		goto out;
	}
	if (found == 1 && name_case_taken(c->pg, req->name, err))         /* note 9 */
		goto out;
	if (catalog_plan(latest, req, now_ms, &next, err))
		goto out;
	if (!next) {
		/* note 12: a new declaration is written even without a version;
		 * else pool_put rolls the empty transaction back */
		if (declared_settle(c->pg, id, req, latest, err) ||
		    (req->has_declared &&
		     query(c->pg, "COMMIT", 0, NULL, "commit a register", NULL, err)))
			goto out;
		*existing = 1;
		*out = latest;
		latest = NULL;
		rc = 0;
		goto out;
	}
	if (query(c->pg, "SELECT pg_advisory_xact_lock_shared(" PG_LOCK_GC ", 0)", 0, NULL,
		  "wait for garbage collection", NULL, err) ||                  /* note 8 */
	    catalog_store_check_objects(store, latest, next, err) ||
	    dataset_advance(c->pg, found == 1, &id, next, err) ||
	    version_insert(c->pg, id, next, err) ||
	    declared_settle(c->pg, id, req, next, err) ||                    /* note 12 */
	    query(c->pg, "COMMIT", 0, NULL, "commit a register", NULL, err))
		goto out;
	*out = next;
	next = NULL;
	rc = 0;
out:
	pool_put(s, c);
	catalog_version_destroy(latest);
	catalog_version_destroy(next);
	return rc;
}

static int pg_drop(struct catalog_store *store, const char *name, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	const char *params[] = { name };
	int64_t now_ms;
	int rc = -1;

	if (pool_get(s, &c, err))
		return -1;
	/* The name's lock: a register in flight finishes first (note 3). The
	 * versions and objects go by ON DELETE CASCADE, in this transaction. */
	if (write_begin(s, c, name, &now_ms, err) ||
	    query(c->pg, "DELETE FROM datasets WHERE name = $1", 1, params, "drop a dataset",
		  &res, err))
		goto out;
	if (!strcmp(PQcmdTuples(res), "0")) {
		not_found(err, name, 0);
		goto out;
	}
	if (query(c->pg, "COMMIT", 0, NULL, "commit a drop", NULL, err))
		goto out;
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Rename (note 11)                                                         */

static int pg_rename(struct catalog_store *store, const char *from, const char *to,
		     struct catalog_version **out, struct lh_error *err)
{
	/* $1 from, $2 to, $3 now: as catalog_sqlite.c's steps. */
	static const struct {
		const char *sql;
		int nparams;
	} steps[] = {
		{ "DELETE FROM dataset_renames WHERE lower(old_name) IN (lower($1), lower($2))", 2 },
		{ "UPDATE dataset_renames SET new_name = $2 WHERE new_name = $1", 2 },
		{ "INSERT INTO dataset_renames (old_name, new_name, renamed_ms)"
		  " SELECT $1, $2, $3::bigint WHERE lower($1) <> lower($2)", 3 },
		{ "UPDATE datasets SET name = $2 WHERE name = $1", 2 },
	};
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	struct pg_int b_id, b_now;
	int64_t id = 0, now_ms = 0;
	int rc = -1, found;
	/* note 3's lock of each name, in the order of their lowercase forms */
	int swap = strcasecmp(from, to) > 0;
	const char *lock1 = swap ? to : from, *lock2 = swap ? from : to;

	*out = NULL;
	if (!strcmp(from, to))
		return catalog_store_rename_same(err, from);
	if (pool_get(s, &c, err))
		return -1;
	if (write_begin(s, c, lock1, &now_ms, err))
		goto out;
	if (strcasecmp(from, to)) {
		const char *params[] = { lock2 };
		if (query(c->pg, "SELECT pg_advisory_xact_lock(" PG_LOCK_NAME ", hashtext(lower($1)))",
			  1, params, "lock a dataset", NULL, err))
			goto out;
	}
	found = version_load(s, c, 0, from, 0, &id, out, err);
	if (found < 0)
		goto out;
	if (found == 1) {
		not_found(err, from, 0);
		goto out;
	}
	if (found == 2) {
		unreadable(err, from);
		goto out;
	}
	const char *cparams[] = { to, pg_int(&b_id, id) };
	if (query(c->pg, "SELECT name FROM datasets WHERE lower(name) = lower($1) AND id <> $2"
			 " ORDER BY name COLLATE \"C\" LIMIT 1", 2, cparams,
		  "look up a dataset name", &res, err))
		goto out;
	if (PQntuples(res) > 0) {
		catalog_store_rename_conflict(err, from, to, PQgetvalue(res, 0, 0));
		goto out;
	}
	const char *params[] = { from, to, pg_int(&b_now, now_ms) };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (query(c->pg, steps[i].sql, steps[i].nparams, params, "rename a dataset", NULL,
			  err))
			goto out;
	if (query(c->pg, "COMMIT", 0, NULL, "commit a rename", NULL, err))
		goto out;
	snprintf((*out)->name, sizeof (*out)->name, "%s", to);
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);
	if (rc) {
		catalog_version_destroy(*out);
		*out = NULL;
	}
	return rc;
}

static int pg_renamed(struct catalog_store *store, const char *name, int64_t max_age_ms,
		      char to[LH_DATASET_NAME_MAX + 1], int64_t *renamed_ms, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	struct pg_int b;
	const char *params[] = { name, pg_int(&b, max_age_ms) };
	int rc = -1;

	to[0] = '\0';
	if (pool_get(s, &c, err))
		return -1;
	if (query_first(s, c, "SELECT new_name, renamed_ms FROM dataset_renames"
			      " WHERE lower(old_name) = lower($1) AND renamed_ms >="
			      "  floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - $2::bigint"
			      " AND NOT EXISTS (SELECT 1 FROM datasets WHERE lower(name) = lower($1))"
			      " ORDER BY renamed_ms DESC LIMIT 1", 2, params,
			"look up a renamed dataset", &res, err))
		goto out;
	rc = 0;
	if (PQntuples(res) > 0) {
		snprintf(to, LH_DATASET_NAME_MAX + 1, "%s", PQgetvalue(res, 0, 0));
		*renamed_ms = field_i64(res, 0, 1);
		rc = 1;
	}
out:
	PQclear(res);
	pool_put(s, c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Garbage collection (note 8)                                              */

static int pg_referenced_keys(struct catalog_store *store, char ***out, size_t *n,
			      struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	int rows;

	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	/* ON DELETE CASCADE removes a dropped dataset's rows, so every row here
	 * belongs to a retained version. COLLATE "C" = strcmp order. */
	if (query_first(s, c, "SELECT k FROM (SELECT key AS k FROM version_objects UNION"
			      " SELECT part_key FROM index_parts) u ORDER BY k COLLATE \"C\"", 0,
			NULL, "list the referenced objects", &res, err)) {          /* note 10 */
		pool_put(s, c);
		return -1;
	}
	rows = PQntuples(res);
	if (rows > 0) {
		*out = xcalloc((size_t)rows, sizeof **out);
		for (int i = 0; i < rows; i++)
			(*out)[i] = xstrdup(PQgetvalue(res, i, 0));
	}
	*n = (size_t)rows;
	PQclear(res);
	pool_put(s, c);
	return 0;
}

static int pg_gc_sweep(struct catalog_store *store, const char *const *keys, size_t n,
		       catalog_object_remove_fn remove, void *ctx, unsigned char *removed,
		       struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	int rc = -1;

	memset(removed, 0, n);
	if (pool_get(s, &c, err))
		return -1;
	if (query_first(s, c, "BEGIN", 0, NULL, "start a garbage collection", NULL, err) ||
	    query(c->pg, "SELECT pg_advisory_xact_lock(" PG_LOCK_GC ", 0)", 0, NULL,
		  "lock out registers for garbage collection", NULL, err))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *params[] = { keys[i] };
		if (query(c->pg, "SELECT 1 FROM version_objects WHERE key = $1 UNION ALL"
				 " SELECT 1 FROM index_parts WHERE part_key = $1 LIMIT 1", 1,
			  params, "check an object's references", &res, err))
			goto out;
		int referenced = PQntuples(res) > 0;
		PQclear(res);
		res = NULL;
		if (referenced)
			continue;  /* referenced again since GC listed it */
		int r = remove(ctx, keys[i], err);
		if (r < 0)
			goto out;
		removed[i] = r == 0;
	}
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);  /* rolls the read-only transaction back: the lock ends */
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Search indexes (note 10)                                                 */

/* Holding the name's lock (write_begin) or in a snapshot: the dataset's id
 * and its declaration's fingerprint ("" when there is none). 0, or -1 with
 * 404 not_found. `first`: the operation's first statement. */
static int index_head(struct catalog_pg *s, struct pg_conn *c, int first, const char *name,
		      int64_t *id, char fp[CATALOG_FP_LEN + 1], int64_t *from_version,
		      struct lh_error *err)
{
	static const char sql[] = "SELECT d.id, i.fingerprint, i.from_version FROM datasets d"
				  " LEFT JOIN index_decls i ON i.dataset_id = d.id"
				  " WHERE d.name = $1";
	const char *params[] = { name };
	PGresult *res = NULL;
	if (first ? query_first(s, c, sql, 1, params, "read a search index", &res, err)
		  : query(c->pg, sql, 1, params, "read a search index", &res, err))
		return -1;
	int rows = PQntuples(res);
	if (rows > 0) {
		*id = field_i64(res, 0, 0);
		snprintf(fp, CATALOG_FP_LEN + 1, "%s",
			 PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1));
		if (from_version)
			*from_version = field_i64(res, 0, 2);
	}
	PQclear(res);
	return rows > 0 ? 0 : not_found(err, name, 0);
}

/* index_head for a write that needs the declaration `fp` (NULL: any). */
static int index_head_current(struct catalog_pg *s, struct pg_conn *c, const char *name,
			      const char *fp, int64_t *id, int64_t *from_version,
			      struct lh_error *err)
{
	char have[CATALOG_FP_LEN + 1];
	if (index_head(s, c, 0, name, id, have, from_version, err))
		return -1;
	if (!have[0])
		return catalog_store_no_index(err, name);
	if (fp && strcmp(have, fp))
		return catalog_store_index_changed(err, name);
	return 0;
}

static int pg_index_declare(struct catalog_store *store, const char *name,
			    const struct catalog_index_decl *decl, int64_t from_version,
			    const char *schema_fp, int *outcome, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	struct pg_int b_id, b_ver, b_ms;
	char fp[CATALOG_FP_LEN + 1];
	int64_t id, now_ms;
	int rc = -1;

	*outcome = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (write_begin(s, c, name, &now_ms, err) || index_head(s, c, 0, name, &id, fp, NULL, err))
		goto out;
	const char *vparams[] = { pg_int(&b_id, id), pg_int(&b_ver, from_version), schema_fp };
	if (query(c->pg, "SELECT 1 FROM versions WHERE dataset_id = $1 AND version = $2"
			 " AND schema_fingerprint = $3", 3, vparams, "read a version", &res, err))
		goto out;
	int same = PQntuples(res) > 0;
	PQclear(res);
	res = NULL;
	if (!same) {
		lh_fail(err, 409, "write_conflict", "dataset \"%s\" changed while the index was "
			"being declared; try again", name);
		goto out;
	}
	if (!strcmp(fp, decl->fingerprint)) {
		rc = 0;  /* identical: unchanged; pool_put rolls back */
		goto out;
	}
	const char *dparams[] = { b_id.s };
	const char *iparams[] = { b_id.s, decl->json, decl->fingerprint, b_ver.s,
				  pg_int(&b_ms, now_ms) };
	/* the old declaration's builds and parts go by ON DELETE CASCADE */
	if (query(c->pg, "DELETE FROM index_decls WHERE dataset_id = $1", 1, dparams,
		  "replace a search index declaration", NULL, err) ||
	    query(c->pg, "INSERT INTO index_decls (dataset_id, decl_json, fingerprint,"
			 " from_version, created_ms) VALUES ($1, $2, $3, $4, $5)", 5, iparams,
		  "write a search index declaration", NULL, err) ||
	    query(c->pg, "COMMIT", 0, NULL, "commit a search index declaration", NULL, err))
		goto out;
	*outcome = fp[0] ? 2 : 1;
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);
	return rc;
}

static int pg_index_get(struct catalog_store *store, const char *name,
			struct catalog_index_info **out, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	struct catalog_index_info *info = xcalloc(1, sizeof *info);
	json_t *comp = NULL;
	struct pg_int b_id, b_from;
	int64_t id;
	int rc = -1;

	*out = NULL;
	if (pool_get(s, &c, err))
		goto out;
	/* three reads of one snapshot */
	if (query_first(s, c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
			"start a read", NULL, err) ||
	    index_head(s, c, 0, name, &id, info->decl.fingerprint, NULL, err))
		goto out;
	if (!info->decl.fingerprint[0]) {
		catalog_store_no_index(err, name);
		goto out;
	}
	snprintf(info->name, sizeof info->name, "%s", name);
	const char *dparams[] = { pg_int(&b_id, id) };
	if (query(c->pg, "SELECT from_version, created_ms, decl_json, component_json"
			 " FROM index_decls WHERE dataset_id = $1", 1, dparams,
		  "read a search index declaration", &res, err))
		goto out;
	if (PQntuples(res) != 1) {
		catalog_store_no_index(err, name);
		goto out;
	}
	info->from_version = field_i64(res, 0, 0);
	info->created_ms = field_i64(res, 0, 1);
	info->decl.json = xstrdup(PQgetvalue(res, 0, 2));
	if (!PQgetisnull(res, 0, 3)) {
		json_t *v;
		size_t i;
		comp = json_loads(PQgetvalue(res, 0, 3), 0, NULL);
		if (!json_is_array(comp) || json_array_size(comp) == 0) {
			unreadable(err, name);
			goto out;
		}
		info->component = xmalloc(json_array_size(comp) * sizeof *info->component);
		json_array_foreach(comp, i, v)
			info->component[i] = json_number_value(v);
		info->component_dim = json_array_size(comp);
	}
	PQclear(res);
	res = NULL;
	const char *vparams[] = { b_id.s, pg_int(&b_from, info->from_version) };
	if (query(c->pg, "SELECT v.version, v.row_count, b.state, b.reason, b.rows_indexed,"
			 " b.build_ms, b.attempts, b.updated_ms FROM versions v"
			 " LEFT JOIN index_builds b"
			 "  ON b.dataset_id = v.dataset_id AND b.version = v.version"
			 " WHERE v.dataset_id = $1 AND v.version >= $2 ORDER BY v.version",
		  2, vparams, "read a search index's builds", &res, err))
		goto out;
	int rows = PQntuples(res);
	if (rows > 0)
		info->builds = xcalloc((size_t)rows, sizeof *info->builds);
	for (int r = 0; r < rows; r++) {
		struct catalog_index_build *b = &info->builds[info->nbuilds++];
		b->version = field_i64(res, r, 0);
		b->version_rows = field_i64(res, r, 1);
		if (PQgetisnull(res, r, 2)) {
			b->state = CATALOG_INDEX_PENDING;
			continue;
		}
		if (catalog_index_state_parse(PQgetvalue(res, r, 2), &b->state))
			b->state = CATALOG_INDEX_FAILED;
		if (!PQgetisnull(res, r, 3))
			b->reason = xstrdup(PQgetvalue(res, r, 3));
		b->rows_indexed = field_i64(res, r, 4);
		b->build_ms = field_i64(res, r, 5);
		b->attempts = field_i64(res, r, 6);
		b->updated_ms = field_i64(res, r, 7);
	}
	PQclear(res);
	res = NULL;
	if (query(c->pg, "SELECT version, object_key, part_key, row_count, byte_count"
			 " FROM index_parts WHERE dataset_id = $1 AND version >= $2"
			 " ORDER BY version, ord", 2, vparams, "read a search index's parts", &res,
		  err))
		goto out;
	rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		int64_t k = field_i64(res, r, 0) - info->from_version;
		if (k < 0 || (size_t)k >= info->nbuilds)
			continue;  /* versions are dense from from_version */
		catalog_index_build_add_part(&info->builds[k], PQgetvalue(res, r, 1),
					     PQgetvalue(res, r, 2), field_i64(res, r, 3),
					     field_i64(res, r, 4));
	}
	*out = info;
	info = NULL;
	rc = 0;
out:
	PQclear(res);
	json_decref(comp);
	pool_put(s, c);  /* ends the read */
	catalog_index_info_destroy(info);
	return rc;
}

static int pg_index_drop(struct catalog_store *store, const char *name, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	struct pg_int b_id;
	int64_t id, now_ms;
	int rc = -1;

	if (pool_get(s, &c, err))
		return -1;
	if (write_begin(s, c, name, &now_ms, err) ||
	    index_head_current(s, c, name, NULL, &id, NULL, err))
		goto out;
	const char *params[] = { pg_int(&b_id, id) };
	if (query(c->pg, "DELETE FROM index_decls WHERE dataset_id = $1", 1, params,
		  "drop a search index", NULL, err) ||
	    query(c->pg, "COMMIT", 0, NULL, "commit a search index drop", NULL, err))
		goto out;
	rc = 0;
out:
	pool_put(s, c);
	return rc;
}

/* The part keys of b that no index part row references yet, holding the GC
 * lock (note 10). *out is an array of b's strings (free() it). */
static int unreferenced_parts(PGconn *pg, const struct catalog_index_build *b,
			      const char ***out, size_t *n, struct lh_error *err)
{
	json_t *keys = json_array();
	char *text;
	PGresult *res = NULL;
	int rc = -1;
	*out = NULL;
	*n = 0;
	if (!b->nparts) {
		json_decref(keys);
		return 0;
	}
	for (size_t i = 0; i < b->nparts; i++)
		json_array_append_new(keys, json_string(b->parts[i].part_key));
	text = json_dump_compact(keys);
	const char *params[] = { text };
	if (query(pg, "SELECT e.n - 1 FROM jsonb_array_elements_text($1::jsonb)"
		      " WITH ORDINALITY AS e(k, n)"
		      " WHERE NOT EXISTS (SELECT 1 FROM index_parts p WHERE p.part_key = e.k)",
		  1, params, "check an index part's references", &res, err))
		goto out;
	*out = xcalloc(b->nparts, sizeof **out);
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t i = field_i64(res, r, 0);
		if (i >= 0 && (size_t)i < b->nparts)
			(*out)[(*n)++] = b->parts[i].part_key;
	}
	rc = 0;
out:
	PQclear(res);
	free(text);
	json_decref(keys);
	return rc;
}

static int pg_index_record(struct catalog_store *store, const char *name, const char *fp,
			   const struct catalog_index_build *b, int *ignored, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	struct catalog_version *v = NULL;
	const char **check = NULL;
	size_t ncheck = 0;
	json_t *parts = json_array();
	char *parts_text = NULL;
	struct pg_int b_id, b_ver, b_rows, b_ms, b_att, b_now;
	int64_t id, vid, now_ms, from_version = 0, attempts = 0, updated_ms = 0;
	enum catalog_index_state cur = CATALOG_INDEX_PENDING;
	int rc = -1, found;

	*ignored = 0;
	if (pool_get(s, &c, err))
		goto out;
	if (write_begin(s, c, name, &now_ms, err) ||
	    index_head_current(s, c, name, fp, &id, &from_version, err) ||
	    catalog_store_index_version_check(err, name, b->version, from_version))
		goto out;
	found = version_load(s, c, 0, name, b->version, &vid, &v, err);
	if (found < 0)
		goto out;
	if (found > 0) {
		not_found(err, name, found == 1 ? 0 : b->version);
		goto out;
	}
	if (catalog_index_build_check_objects(b, v, err))
		goto out;
	const char *kparams[] = { pg_int(&b_id, id), pg_int(&b_ver, b->version) };
	if (query(c->pg, "SELECT state, attempts, updated_ms FROM index_builds"
			 " WHERE dataset_id = $1 AND version = $2", 2, kparams,
		  "read a build record", &res, err))
		goto out;
	if (PQntuples(res) > 0) {
		if (catalog_index_state_parse(PQgetvalue(res, 0, 0), &cur))
			cur = CATALOG_INDEX_FAILED;
		attempts = field_i64(res, 0, 1);
		updated_ms = field_i64(res, 0, 2);
	}
	PQclear(res);
	res = NULL;
	if (cur == CATALOG_INDEX_READY) {
		*ignored = 1;  /* final */
		rc = 0;
		goto out;
	}
	attempts += catalog_index_attempt_starts(cur, updated_ms, b->state, now_ms);
	for (size_t i = 0; i < b->nparts; i++) {
		const struct catalog_index_part *p = &b->parts[i];
		json_array_append_new(parts, json_pack("[s, s, I, I]", p->object_key, p->part_key,
						       (json_int_t)p->rows, (json_int_t)p->bytes));
	}
	parts_text = json_dump_compact(parts);
	const char *bparams[] = { b_id.s, b_ver.s, catalog_index_state_name(b->state), b->reason,
				  pg_int(&b_rows, b->rows_indexed), pg_int(&b_ms, b->build_ms),
				  pg_int(&b_att, attempts), pg_int(&b_now, now_ms) };
	const char *pparams[] = { b_id.s, b_ver.s, parts_text };
	if (query(c->pg, "SELECT pg_advisory_xact_lock_shared(" PG_LOCK_GC ", 0)", 0, NULL,
		  "wait for garbage collection", NULL, err) ||                  /* note 10 */
	    unreferenced_parts(c->pg, b, &check, &ncheck, err) ||
	    catalog_store_check_keys(store, check, ncheck, err) ||
	    query(c->pg, "DELETE FROM index_parts WHERE dataset_id = $1 AND version = $2", 2,
		  kparams, "write a build record", NULL, err) ||
	    query(c->pg, "INSERT INTO index_builds (dataset_id, version, state, reason,"
			 " rows_indexed, build_ms, attempts, updated_ms)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			 " ON CONFLICT (dataset_id, version) DO UPDATE SET state = excluded.state,"
			 "  reason = excluded.reason, rows_indexed = excluded.rows_indexed,"
			 "  build_ms = excluded.build_ms, attempts = excluded.attempts,"
			 "  updated_ms = excluded.updated_ms", 8, bparams,
		  "write a build record", NULL, err) ||
	    query(c->pg, "INSERT INTO index_parts (dataset_id, version, ord, object_key, part_key,"
			 " row_count, byte_count)"
			 " SELECT $1, $2, e.n - 1, e.p->>0, e.p->>1, (e.p->>2)::bigint,"
			 "  (e.p->>3)::bigint"
			 " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(p, n)", 3,
		  pparams, "write the index parts", NULL, err) ||
	    query(c->pg, "COMMIT", 0, NULL, "commit a build record", NULL, err))
		goto out;
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);
	catalog_version_destroy(v);
	free(check);
	free(parts_text);
	json_decref(parts);
	return rc;
}

static int pg_index_set_component(struct catalog_store *store, const char *name, const char *fp,
				  const double *vals, size_t n, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	json_t *arr = json_array();
	char *text;
	struct pg_int b_id;
	int64_t id, now_ms;
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_real(vals[i]));
	text = json_dump_compact(arr);
	if (pool_get(s, &c, err))
		goto out;
	if (write_begin(s, c, name, &now_ms, err) ||
	    index_head_current(s, c, name, fp, &id, NULL, err))
		goto out;
	const char *params[] = { pg_int(&b_id, id), text };
	/* compare and set: only where there is none yet */
	if (query(c->pg, "UPDATE index_decls SET component_json = $2"
			 " WHERE dataset_id = $1 AND component_json IS NULL", 2, params,
		  "write a search index's component", NULL, err) ||
	    query(c->pg, "COMMIT", 0, NULL, "commit a search index's component", NULL, err))
		goto out;
	rc = 0;
out:
	pool_put(s, c);
	free(text);
	json_decref(arr);
	return rc;
}

static int pg_index_pending(struct catalog_store *store, int64_t stale_ms, size_t limit,
			    struct catalog_index_pending **out, size_t *n, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	struct pg_int b_max, b_stale, b_limit;
	const char *params[] = { pg_int(&b_max, LH_INDEX_BUILD_MAX_ATTEMPTS),
				 pg_int(&b_stale, stale_ms), pg_int(&b_limit, (int64_t)limit) };
	int rows;

	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (query_first(s, c,
			"SELECT d.name, v.version, i.fingerprint, i.decl_json, b.state,"
			" coalesce(b.attempts, 0)"
			" FROM index_decls i JOIN datasets d ON d.id = i.dataset_id"
			" JOIN versions v ON v.dataset_id = i.dataset_id"
			"  AND v.version >= i.from_version"
			" LEFT JOIN index_builds b"
			"  ON b.dataset_id = v.dataset_id AND b.version = v.version"
			" WHERE b.state IS NULL"
			"  OR (b.state = 'failed' AND b.attempts < $1::bigint)"
			"  OR (b.state = 'building' AND b.attempts < $1::bigint AND b.updated_ms"
			"   < floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
			"     - $2::bigint)"
			" ORDER BY v.created_ms, d.name COLLATE \"C\", v.version LIMIT $3::bigint",
			3, params, "list the search indexes to build", &res, err)) {
		pool_put(s, c);
		return -1;
	}
	rows = PQntuples(res);
	if (rows > 0)
		*out = xcalloc((size_t)rows, sizeof **out);
	for (int r = 0; r < rows; r++) {
		struct catalog_index_pending *p = &(*out)[r];
		snprintf(p->name, sizeof p->name, "%s", PQgetvalue(res, r, 0));
		p->version = field_i64(res, r, 1);
		snprintf(p->fingerprint, sizeof p->fingerprint, "%s", PQgetvalue(res, r, 2));
		p->decl_json = xstrdup(PQgetvalue(res, r, 3));
		if (PQgetisnull(res, r, 4) ||
		    catalog_index_state_parse(PQgetvalue(res, r, 4), &p->state))
			p->state = CATALOG_INDEX_PENDING;
		p->attempts = field_i64(res, r, 5);
	}
	*n = (size_t)rows;
	PQclear(res);
	pool_put(s, c);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Open and close                                                           */

static void pg_close(struct catalog_store *store)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	if (!s)
		return;
	pthread_mutex_lock(&s->retry_mu);
	s->retry_stop = 1;
	pthread_cond_broadcast(&s->retry_cv);
	pthread_mutex_unlock(&s->retry_mu);
	if (s->retry_started)
		pthread_join(s->retry_tid, NULL);
	pthread_mutex_destroy(&s->retry_mu);
	pthread_cond_destroy(&s->retry_cv);
	conn_pool_free(&s->pool);
	free(s->dsn);
	free(s);
}

/* ------------------------------------------------------------------------ */
/* Personal columns (ADR 0211)                                              */

static int pg_masks_set(struct catalog_store *store, const char *name, const char *columns,
			struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	const char *params[] = { name, columns };
	int64_t now_ms;
	int rc = -1;

	if (pool_get(s, &c, err))
		return -1;
	if (write_begin(s, c, name, &now_ms, err) ||
	    query(c->pg, "SELECT id FROM datasets WHERE name = $1", 1, params,
		  "find a dataset", &res, err))
		goto out;
	if (PQntuples(res) == 0) {
		not_found(err, name, 0);
		goto out;
	}
	if (query(c->pg, columns ? "INSERT INTO dataset_masks (dataset_id, columns_json)"
				   " SELECT id, $2 FROM datasets WHERE name = $1"
				   " ON CONFLICT (dataset_id) DO UPDATE SET columns_json = EXCLUDED.columns_json"
				 : "DELETE FROM dataset_masks WHERE dataset_id ="
				   " (SELECT id FROM datasets WHERE name = $1)",
		  columns ? 2 : 1, params, "store personal columns", NULL, err) ||
	    query(c->pg, "COMMIT", 0, NULL, "commit a change of personal columns", NULL, err))
		goto out;
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);
	return rc;
}

static int pg_masks_list(struct catalog_store *store, struct catalog_masks **out, size_t *n,
			 struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	PGresult *res = NULL;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (pool_get(s, &c, err))
		return -1;
	if (query_first(s, c, "SELECT d.name, m.columns_json FROM dataset_masks m"
			      " JOIN datasets d ON d.id = m.dataset_id ORDER BY d.name COLLATE \"C\"",
			0, NULL, "list personal columns", &res, err))
		goto out;
	int rows = PQntuples(res);
	struct catalog_masks *arr = xcalloc(rows ? (size_t)rows : 1, sizeof *arr);
	for (int i = 0; i < rows; i++) {
		snprintf(arr[i].name, sizeof arr[i].name, "%s", PQgetvalue(res, i, 0));
		arr[i].columns = xstrdup(PQgetvalue(res, i, 1));
	}
	*out = arr;
	*n = (size_t)rows;
	rc = 0;
out:
	PQclear(res);
	pool_put(s, c);
	return rc;
}

static int pg_ping(struct catalog_store *store, struct lh_error *err);

static const struct catalog_store_ops pg_ops = {
	.name = "postgres",
	.close = pg_close,
	.register_version = pg_register,
	.get_version = pg_get_version,
	.list_datasets = pg_list_datasets,
	.list_versions = pg_list_versions,
	.drop = pg_drop,
	.referenced_keys = pg_referenced_keys,
	.gc_sweep = pg_gc_sweep,
	.index_declare = pg_index_declare,
	.index_get = pg_index_get,
	.index_drop = pg_index_drop,
	.index_record = pg_index_record,
	.index_set_component = pg_index_set_component,
	.index_pending = pg_index_pending,
	.rename = pg_rename,
	.renamed = pg_renamed,
	.ping = pg_ping,
	.masks_set = pg_masks_set,
	.masks_list = pg_masks_list,
};

/* One attempt to connect and migrate (note 13); 0 = the store is ready. */
static int connect_and_migrate(struct catalog_pg *s, struct lh_error *err)
{
	void *v = NULL;
	if (conn_pool_get(&s->pool, &v, err))
		return -1;
	int rc = migrate(s, v, err);
	pool_put(s, v);
	if (rc == 0)
		atomic_store(&s->migrated, 1);
	return rc;
}

/* Note 13: retry until connected and migrated, or pg_close. */
static void *retry_run(void *arg)
{
	struct catalog_pg *s = arg;
	double wait_ms = PG_RETRY_MIN_MS;
	for (;;) {
		struct timespec until;
		clock_deadline(CLOCK_MONOTONIC, wait_ms, &until);
		pthread_mutex_lock(&s->retry_mu);
		while (!s->retry_stop && pthread_cond_timedwait(&s->retry_cv, &s->retry_mu,
								 &until) == 0)
			;
		int stop = s->retry_stop;
		pthread_mutex_unlock(&s->retry_mu);
		if (stop)
			return NULL;
		struct lh_error err = { 0 };
		int rc = connect_and_migrate(s, &err);
		pthread_mutex_lock(&s->retry_mu);
		if (rc == 0) {
			s->last_error[0] = '\0';
		} else if (strcmp(s->last_error, err.msg) != 0) {   /* a new reason: once */
			log_event("error", "catalogd", "postgres: still not ready: %s", err.msg);
			snprintf(s->last_error, sizeof s->last_error, "%s", err.msg);
		}
		pthread_mutex_unlock(&s->retry_mu);
		lh_error_clear(&err);
		if (rc == 0) {
			atomic_store(&s->log_connect, 1);
			log_event("info", "catalogd", "postgres: connected; the catalog is ready");
			return NULL;
		}
		wait_ms = wait_ms * 2 > PG_RETRY_MAX_MS ? PG_RETRY_MAX_MS : wait_ms * 2;
	}
}

/* /ready (ADR 0200): one trivial statement on a pooled connection. */
static int pg_ping(struct catalog_store *store, struct lh_error *err)
{
	struct catalog_pg *s = (struct catalog_pg *)store;
	struct pg_conn *c = NULL;
	if (!atomic_load(&s->migrated)) {
		pthread_mutex_lock(&s->retry_mu);
		lh_fail(err, 503, "catalog_unavailable", "%s",
			s->last_error[0] ? s->last_error : "the catalog database is not reachable yet");
		pthread_mutex_unlock(&s->retry_mu);
		return -1;
	}
	if (pool_get(s, &c, err))
		return -1;
	PGresult *res = PQexec(c->pg, "SELECT 1");
	int rc = 0;
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		int len = (int)strcspn(PQerrorMessage(c->pg), "\n");
		rc = lh_fail(err, 503, "catalog_unavailable",
			     "the catalog database does not answer (%.*s)", len,
			     PQerrorMessage(c->pg));
	}
	PQclear(res);
	pool_put(s, c);
	return rc;
}

struct catalog_store *catalog_pg_open(const char *dsn, struct lh_error *err)
{
	struct catalog_pg *s = xcalloc(1, sizeof *s);
	pthread_condattr_t ca;
	s->base.ops = &pg_ops;
	s->dsn = xstrdup(dsn ? dsn : "");
	atomic_init(&s->migrated, 0);
	atomic_init(&s->log_connect, 1);
	pthread_mutex_init(&s->retry_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->retry_cv, &ca);
	pthread_condattr_destroy(&ca);
	conn_pool_init(&s->pool, PG_POOL_MAX, pool_open, pool_close, s);
	if (connect_and_migrate(s, err) == 0)
		return &s->base;
	if (strcmp(err->code, "catalog_unavailable") != 0)
		goto fail;   /* a refused login, a failed migration: fatal (note 13) */
	/* Not reachable: start anyway, not ready; retry in the background. */
	log_event("warn", "catalogd", "postgres: not reachable yet; catalogd starts not ready "
		  "(GET /ready says why) and keeps trying every %d ms or less", PG_RETRY_MAX_MS);
	snprintf(s->last_error, sizeof s->last_error, "%s", err->msg);
	lh_error_clear(err);
	atomic_store(&s->log_connect, 0);
	if (pthread_create(&s->retry_tid, NULL, retry_run, s) != 0) {
		lh_fail(err, 500, "internal", "cannot start the catalog's reconnect thread");
		goto fail;
	}
	s->retry_started = 1;
	return &s->base;
fail:
	pg_close(&s->base);
	return NULL;
}
