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
 *   5. Garbage collection (gc.c, ADR 0095) and registers exclude each other
 *      through one GC lock: gc_sweep holds it exclusively; register_version
 *      holds it (shared or exclusive) from the object check of the new
 *      version's objects (catalog_store_check_objects) until its commit. So
 *      no object is deleted between a register's check and its commit, and
 *      gc_sweep sees every register committed before it.
 *   6. Dataset names are unique regardless of letter case (docs/api.md, ADR
 *      0112): a register that would create a dataset whose name equals an
 *      existing one's but for case fails with 409 "name_conflict" (extra
 *      "existing_name") and writes nothing, checked inside the transaction
 *      and under the lock of note 1, which is shared by every letter case
 *      of a name, so two such registers cannot both succeed. A store that
 *      already holds such names (made before this rule) keeps them: every
 *      other function takes names exactly, case and all.
 *   7. Search indexes (catalog_index.h, ADR 0140): a dataset has at most one
 *      declaration; its build records are per version and go with it (a
 *      replaced or dropped declaration, a dropped dataset). Declaring,
 *      recording and dropping serialise with registers and drops of the
 *      same name (note 1's lock). A record's part keys are referenced keys
 *      for GC exactly like version objects: index_record checks them under
 *      the GC lock (catalog_store_check_keys) before its commit, and
 *      referenced_keys/gc_sweep count them.
 *   8. Rename (ADR 0175) is one transaction that changes the dataset row's
 *      name and nothing else: versions, objects (whose keys keep the old
 *      name: keys are opaque), index declarations and builds hang off the
 *      dataset's id and stay. It serialises with registers and drops of
 *      both names (note 1's lock, both letter-case groups) and obeys note 6
 *      against every other dataset. It records a redirect old -> new in the
 *      renames table (one row per old name ignoring case; earlier redirects
 *      to the old name follow to the new one; none for a change of letter
 *      case only). Creating a dataset under a name ends every redirect from
 *      it (a trigger on insert), dropping a dataset ends every redirect to
 *      it (a trigger on delete), and renamed() never answers for a name
 *      that some dataset holds in any letter case.
 * Errors: 404 "not_found" for an unknown dataset or version; backend failures
 * are 500/503 in plain words, the details go to the log.
 *
 * The unit tests in tests/unit/test_catalog_store.c run against every backend
 * through this interface only.
 */
#ifndef LH_CATALOG_STORE_H
#define LH_CATALOG_STORE_H
#include "catalogd/catalog.h"
#include "catalogd/catalog_index.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct catalog_store;

/* Does object `key` exist in the object store? 0 yes; -1 with err (409
 * "object_missing" when it is absent, 502/503 when the store cannot say). */
typedef int (*catalog_object_check_fn)(void *ctx, const char *key, struct lh_error *err);
/* Delete object `key` from the object store: 0 deleted, 1 already absent
 * (another GC was first), -1 with err. */
typedef int (*catalog_object_remove_fn)(void *ctx, const char *key, struct lh_error *err);

struct catalog_masks;

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
	/* Every distinct object key that some version of some existing dataset
	 * references, in strcmp order (a snapshot: GC's first, lock-free pass).
	 * *out is an xmalloc'd array of xmalloc'd strings (catalog_keys_free);
	 * NULL with *n = 0 when there is none. */
	int (*referenced_keys)(struct catalog_store *s, char ***out, size_t *n,
			       struct lh_error *err);
	/* GC's delete step (note 5): holding the GC lock exclusively, for each
	 * keys[i] that no version references *now*, call remove(ctx, keys[i])
	 * and set removed[i] = 1 if it returned 0 (else 0). Stops at the first
	 * remove failure (-1 with its err; removed[] tells what was done). The
	 * keys should be few (LH_GC_BATCH): registers wait while this runs. */
	int (*gc_sweep)(struct catalog_store *s, const char *const *keys, size_t n,
			catalog_object_remove_fn remove, void *ctx, unsigned char *removed,
			struct lh_error *err);

	/* --- search indexes (note 7) --- */
	/* Declare the index of `name`: `decl` was validated against version
	 * `from_version`, whose schema fingerprint was `schema_fp`. 404
	 * "not_found" for an unknown dataset, 409 "write_conflict" when that
	 * version is gone or has another schema now (dropped and made again
	 * meanwhile). *outcome: 0 an identical declaration was there (nothing
	 * written), 1 created, 2 replaced (the old one's records deleted). */
	int (*index_declare)(struct catalog_store *s, const char *name,
			     const struct catalog_index_decl *decl, int64_t from_version,
			     const char *schema_fp, int *outcome, struct lh_error *err);
	/* The declaration and one build per version >= from_version (pending
	 * where there is no record), oldest first, into *out (caller destroys:
	 * catalog_index_info_destroy). 404 "not_found" (dataset), 404
	 * "no_index" (no declaration). */
	int (*index_get)(struct catalog_store *s, const char *name,
			 struct catalog_index_info **out, struct lh_error *err);
	/* Drop the declaration and its records; 404 as index_get. */
	int (*index_drop)(struct catalog_store *s, const char *name, struct lh_error *err);
	/* Record the build `b` of version b->version, reported for the
	 * declaration whose fingerprint is `fp`. 404 "not_found" (dataset or
	 * version), 404 "no_index", 409 "index_changed" (fp is not the current
	 * declaration's), 400 when a part's object_key is not an object of that
	 * version, the check's 409 "object_missing" when a part key is not in
	 * the object store. A ready record is final: *ignored = 1 and nothing is
	 * written. Attempts (ADR 0140): a "building" record starts an attempt
	 * unless the version's record is "building" and younger than
	 * LH_INDEX_BUILD_STALE_MS (a heartbeat); so does a "failed" one that
	 * follows no "building". */
	int (*index_record)(struct catalog_store *s, const char *name, const char *fp,
			    const struct catalog_index_build *b, int *ignored,
			    struct lh_error *err);
	/* Set the declaration's common component if it has none (compare and
	 * set: the first writer wins, a later one changes nothing). 404 as
	 * index_get, 409 "index_changed" as index_record. */
	int (*index_set_component)(struct catalog_store *s, const char *name, const char *fp,
				   const double *vals, size_t n, struct lh_error *err);
	/* The builder's work queue: every (dataset, version >= from_version)
	 * with no record, a "failed" record or a "building" record older than
	 * stale_ms, with fewer than LH_INDEX_BUILD_MAX_ATTEMPTS attempts (no
	 * record: none), the oldest version first (its creation time, then
	 * name, then version); at most `limit`. *out as catalog_index_pending_free. */
	int (*index_pending)(struct catalog_store *s, int64_t stale_ms, size_t limit,
			     struct catalog_index_pending **out, size_t *n, struct lh_error *err);

	/* --- rename (note 8) --- */
	/* Rename dataset `from` to `to` (both valid names). On 0, *out is the
	 * latest version under its new name (caller destroys). -1 with err:
	 * 404 "not_found" (no dataset `from`), 400 "same_name" (to equals
	 * from exactly), 409 "name_conflict" with existing_name (another
	 * dataset has `to` in some letter case); nothing was written. */
	int (*rename)(struct catalog_store *s, const char *from, const char *to,
		      struct catalog_version **out, struct lh_error *err);
	/* The redirect of `name`, made at most max_age_ms ago (by the store's
	 * clock), when no dataset holds `name` in any letter case: 1 with
	 * to[] (the dataset's name now) and *renamed_ms, 0 when there is none,
	 * -1 with err. */
	int (*renamed)(struct catalog_store *s, const char *name, int64_t max_age_ms,
		       char to[LH_DATASET_NAME_MAX + 1], int64_t *renamed_ms,
		       struct lh_error *err);
	/* Optional (NULL = always ready): can the store serve now? 0, or -1
	 * with a 503 saying why in words (GET /ready, ADR 0200). */
	int (*ping)(struct catalog_store *s, struct lh_error *err);

	/* --- personal columns (ADR 0211) --- */
	/* Set the masked columns of `name` to the JSON array text `columns`
	 * (already validated), or clear them (NULL). 404 "not_found" for an
	 * unknown dataset. They hang off the dataset's id: a rename keeps
	 * them, a drop removes them. */
	int (*masks_set)(struct catalog_store *s, const char *name, const char *columns,
			 struct lh_error *err);
	/* Every dataset with masked columns: *out holds n (name, JSON array
	 * text) pairs, freed with catalog_masks_free. */
	int (*masks_list)(struct catalog_store *s, struct catalog_masks **out, size_t *n,
			  struct lh_error *err);
};

/* One dataset's masked columns (masks_list). */
struct catalog_masks {
	char name[LH_DATASET_NAME_MAX + 1];
	char *columns;          /* JSON array text, owned */
};
void catalog_masks_free(struct catalog_masks *m, size_t n);

/* A backend instance; each backend embeds this as its first member. */
struct catalog_store {
	const struct catalog_store_ops *ops;
	/* Set by catalog_store_set_object_check (NULL = no check: a catalog
	 * without an object store to ask, e.g. catalogd alone in tests). */
	catalog_object_check_fn check;
	void *check_ctx;
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
 * migrated at open; an unreachable server is no error: the store answers 503
 * "catalog_unavailable" until a background retry has connected and migrated
 * (ADR 0201); a refused login is a 500 "catalog_login_refused". */
struct catalog_store *catalog_pg_open(const char *dsn, struct lh_error *err);

/* Thin wrappers that dispatch through s->ops. */
void catalog_store_close(struct catalog_store *s);
int catalog_store_ping(struct catalog_store *s, struct lh_error *err);
int catalog_store_register(struct catalog_store *s, const struct catalog_version *req,
			   struct catalog_version **out, int *existing, struct lh_error *err);
int catalog_store_get(struct catalog_store *s, const char *name, int64_t version,
		      struct catalog_version **out, struct lh_error *err);
int catalog_store_list_datasets(struct catalog_store *s, struct catalog_summary **out,
				size_t *n, struct lh_error *err);
int catalog_store_list_versions(struct catalog_store *s, const char *name,
				struct catalog_summary **out, size_t *n, struct lh_error *err);
int catalog_store_drop(struct catalog_store *s, const char *name, struct lh_error *err);
int catalog_store_referenced_keys(struct catalog_store *s, char ***out, size_t *n,
				  struct lh_error *err);
int catalog_store_gc_sweep(struct catalog_store *s, const char *const *keys, size_t n,
			   catalog_object_remove_fn remove, void *ctx, unsigned char *removed,
			   struct lh_error *err);
int catalog_store_index_declare(struct catalog_store *s, const char *name,
				const struct catalog_index_decl *decl, int64_t from_version,
				const char *schema_fp, int *outcome, struct lh_error *err);
int catalog_store_index_get(struct catalog_store *s, const char *name,
			    struct catalog_index_info **out, struct lh_error *err);
int catalog_store_index_drop(struct catalog_store *s, const char *name, struct lh_error *err);
int catalog_store_masks_set(struct catalog_store *s, const char *name, const char *columns,
			    struct lh_error *err);
int catalog_store_masks_list(struct catalog_store *s, struct catalog_masks **out, size_t *n,
			     struct lh_error *err);
int catalog_store_index_record(struct catalog_store *s, const char *name, const char *fp,
			       const struct catalog_index_build *b, int *ignored,
			       struct lh_error *err);
int catalog_store_index_set_component(struct catalog_store *s, const char *name,
				      const char *fp, const double *vals, size_t n,
				      struct lh_error *err);
int catalog_store_index_pending(struct catalog_store *s, int64_t stale_ms, size_t limit,
				struct catalog_index_pending **out, size_t *n,
				struct lh_error *err);
int catalog_store_rename(struct catalog_store *s, const char *from, const char *to,
			 struct catalog_version **out, struct lh_error *err);
int catalog_store_renamed(struct catalog_store *s, const char *name, int64_t max_age_ms,
			  char to[LH_DATASET_NAME_MAX + 1], int64_t *renamed_ms,
			  struct lh_error *err);
/* For backends, rename's refusals in one wording: 409 name_conflict
 * (another dataset, `existing`, has `to` in some letter case; extras
 * existing_name and field "to") and 400 same_name. Both return -1. */
int catalog_store_rename_conflict(struct lh_error *err, const char *from, const char *to,
				  const char *existing);
int catalog_store_rename_same(struct lh_error *err, const char *name);
/* For backends: the errors every backend says the same way. */
int catalog_store_no_index(struct lh_error *err, const char *name);
int catalog_store_index_changed(struct lh_error *err, const char *name);
/* A record for a version older than the declaration is a 400 naming
 * from_version; 0 otherwise. */
int catalog_store_index_version_check(struct lh_error *err, const char *name, int64_t version,
				      int64_t from_version);

/* Free what referenced_keys returned. */
void catalog_keys_free(char **keys, size_t n);

/* Make every later register check, under the GC lock, that each object of
 * the new version which the dataset's latest version does not already hold
 * exists (note 5). Call before the store is shared between threads. */
void catalog_store_set_object_check(struct catalog_store *s, catalog_object_check_fn check,
				    void *ctx);
/* For backends, inside register_version while holding the GC lock: run the
 * check on each object of `next` whose key `latest` (NULL for a new dataset)
 * does not hold. 0 when all exist or no check is set; -1 with the check's
 * err otherwise. */
int catalog_store_check_objects(struct catalog_store *s, const struct catalog_version *latest,
				const struct catalog_version *next, struct lh_error *err);
/* For backends, inside index_record while holding the GC lock (note 7):
 * run the check on each of the n keys. 0 when all exist or no check is
 * set; -1 with the check's err otherwise. */
int catalog_store_check_keys(struct catalog_store *s, const char *const *keys, size_t n,
			     struct lh_error *err);

#endif
