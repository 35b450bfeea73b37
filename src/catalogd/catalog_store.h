/* catalog_store.h — the catalog's storage backends behind one small struct of
 * function pointers (like SQLite's VFS or curl's vtls): SQLite by default
 * (catalog_sqlite.c), PostgreSQL for scale-out (catalog_pg.c).
 *
 * What a backend must guarantee, whatever it is built on:
 *   1. register_version is one atomic transaction that serialises with every
 *      other register of the same name: it reads the latest version, asks
 *      catalog_plan() (catalog.h) what to do, writes the new version, commits.
 *      Either the whole new version is visible or none of it.
 *   2. Versions are dense (1, 2, 3, ...) and never rewritten; drop removes a
 *      dataset and all its versions at once, and a later register of the same
 *      name starts again at version 1.
 *   3. A register that returned 0 survives a crash of the process (and of the
 *      machine, to the extent the backend's sync setting promises).
 *   4. Every function is safe to call from many threads at once.
 * Errors: 404 "not_found" for an unknown dataset or version; backend failures
 * are 500/503 in plain words, the details go to the log.
 *
 * The unit tests in tests/unit/test_catalog_store.c run against every backend
 * through this interface only.
 */
#ifndef LH_CATALOG_STORE_H
#define LH_CATALOG_STORE_H
#include "catalogd/catalog.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct catalog_store;

struct catalog_store_ops {
	const char *name;  /* "sqlite", "postgres" */
	/* Close every connection and free the store. */
	void (*close)(struct catalog_store *s);
	/* Register `req` (from catalog_request_parse). On 0, *out is the
	 * resulting manifest (caller destroys) and *existing says whether it was
	 * already the latest version. -1 with err: the catalog_plan errors, or a
	 * backend failure; nothing was written. */
	int (*register_version)(struct catalog_store *s, const struct catalog_version *req,
				struct catalog_version **out, int *existing,
				struct lh_error *err);
	/* Version `version` of `name` (0 = latest) into *out (caller destroys). */
	int (*get_version)(struct catalog_store *s, const char *name, int64_t version,
			   struct catalog_version **out, struct lh_error *err);
	/* Every dataset's latest version, sorted by name; *out is an xmalloc'd
	 * array the caller frees (possibly NULL with *n = 0). */
	int (*list_datasets)(struct catalog_store *s, struct catalog_summary **out,
			     size_t *n, struct lh_error *err);
	/* Every version of `name`, oldest first; 404 if unknown. */
	int (*list_versions)(struct catalog_store *s, const char *name,
			     struct catalog_summary **out, size_t *n, struct lh_error *err);
	/* Drop `name` and all its versions; 404 if unknown. */
	int (*drop)(struct catalog_store *s, const char *name, struct lh_error *err);
};

/* A backend instance; each backend embeds this as its first member. */
struct catalog_store {
	const struct catalog_store_ops *ops;
};

/* A backend's constructor: `location` is a file path (sqlite) or a DSN. */
struct catalog_backend {
	const char *name;
	struct catalog_store *(*open)(const char *location, struct lh_error *err);
};

/* Open the backend called `backend` ("sqlite") at `location`. Returns NULL
 * with a 500 "bad_config" for an unknown backend, or the backend's error. */
struct catalog_store *catalog_store_open(const char *backend, const char *location,
					 struct lh_error *err);

/* The SQLite backend (catalog_sqlite.c): the file is created if absent, its
 * parent directory must exist. */
struct catalog_store *catalog_sqlite_open(const char *path, struct lh_error *err);

/* The PostgreSQL backend (catalog_pg.c): `dsn` is a libpq connection string
 * or URI ("" = libpq's defaults and PG* variables). The schema is created or
 * migrated at open; an unreachable server is a 503 "catalog_unavailable". */
struct catalog_store *catalog_pg_open(const char *dsn, struct lh_error *err);

/* Thin wrappers that dispatch through s->ops. */
void catalog_store_close(struct catalog_store *s);
int catalog_store_register(struct catalog_store *s, const struct catalog_version *req,
			   struct catalog_version **out, int *existing, struct lh_error *err);
int catalog_store_get(struct catalog_store *s, const char *name, int64_t version,
		      struct catalog_version **out, struct lh_error *err);
int catalog_store_list_datasets(struct catalog_store *s, struct catalog_summary **out,
				size_t *n, struct lh_error *err);
int catalog_store_list_versions(struct catalog_store *s, const char *name,
				struct catalog_summary **out, size_t *n, struct lh_error *err);
int catalog_store_drop(struct catalog_store *s, const char *name, struct lh_error *err);

/* Current wall-clock time in Unix milliseconds (for backends). */
int64_t catalog_now_ms(void);

#endif
