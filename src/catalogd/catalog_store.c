/* catalog_store.c — backend selection and the dispatching wrappers of
 * catalog_store.h. Adding a backend is one line in `backends`. */
#include "catalogd/catalog_store.h"

#include "common/error.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct catalog_backend backends[] = {
	{ "sqlite", catalog_sqlite_open },
	{ "postgres", catalog_pg_open },
};

struct catalog_store *catalog_store_open(const char *backend, const char *location,
					 struct lh_error *err)
{
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (!strcmp(backend, backends[i].name))
			return backends[i].open(location, err);
	lh_fail(err, 500, "bad_config", "catalog backend \"%s\" is not available (this build has: sqlite, postgres)",
		backend);
	return NULL;
}

void catalog_store_close(struct catalog_store *s)
{
	if (s)
		s->ops->close(s);
}

int catalog_store_register(struct catalog_store *s, const struct catalog_version *req,
			   struct catalog_version **out, int *existing, struct lh_error *err)
{
	return s->ops->register_version(s, req, out, existing, err);
}

int catalog_store_get(struct catalog_store *s, const char *name, int64_t version,
		      struct catalog_version **out, struct lh_error *err)
{
	return s->ops->get_version(s, name, version, out, err);
}

int catalog_store_list_datasets(struct catalog_store *s, struct catalog_summary **out,
				size_t *n, struct lh_error *err)
{
	return s->ops->list_datasets(s, out, n, err);
}

int catalog_store_list_versions(struct catalog_store *s, const char *name,
				struct catalog_summary **out, size_t *n, struct lh_error *err)
{
	return s->ops->list_versions(s, name, out, n, err);
}

int catalog_store_drop(struct catalog_store *s, const char *name, struct lh_error *err)
{
	return s->ops->drop(s, name, err);
}

int catalog_store_referenced_keys(struct catalog_store *s, char ***out, size_t *n,
				  struct lh_error *err)
{
	return s->ops->referenced_keys(s, out, n, err);
}

int catalog_store_gc_sweep(struct catalog_store *s, const char *const *keys, size_t n,
			   catalog_object_remove_fn remove, void *ctx, unsigned char *removed,
			   struct lh_error *err)
{
	return s->ops->gc_sweep(s, keys, n, remove, ctx, removed, err);
}

int catalog_store_index_declare(struct catalog_store *s, const char *name,
				const struct catalog_index_decl *decl, int64_t from_version,
				const char *schema_fp, int *outcome, struct lh_error *err)
{
	return s->ops->index_declare(s, name, decl, from_version, schema_fp, outcome, err);
}

int catalog_store_index_get(struct catalog_store *s, const char *name,
			    struct catalog_index_info **out, struct lh_error *err)
{
	return s->ops->index_get(s, name, out, err);
}

int catalog_store_index_drop(struct catalog_store *s, const char *name, struct lh_error *err)
{
	return s->ops->index_drop(s, name, err);
}

int catalog_store_index_record(struct catalog_store *s, const char *name, const char *fp,
			       const struct catalog_index_build *b, int *ignored,
			       struct lh_error *err)
{
	return s->ops->index_record(s, name, fp, b, ignored, err);
}

int catalog_store_index_set_component(struct catalog_store *s, const char *name,
				      const char *fp, const double *vals, size_t n,
				      struct lh_error *err)
{
	return s->ops->index_set_component(s, name, fp, vals, n, err);
}

int catalog_store_index_pending(struct catalog_store *s, int64_t stale_ms, size_t limit,
				struct catalog_index_pending **out, size_t *n,
				struct lh_error *err)
{
	return s->ops->index_pending(s, stale_ms, limit, out, n, err);
}

int catalog_store_no_index(struct lh_error *err, const char *name)
{
	lh_fail(err, 404, "no_index", "dataset \"%s\" has no search index; declare one with: "
		"lakehouse index %s --text col1,col2", name, name);
	lh_error_set(err, "command", json_sprintf("lakehouse index %s --text col1,col2", name));
	return -1;
}

int catalog_store_index_changed(struct lh_error *err, const char *name)
{
	return lh_fail(err, 409, "index_changed", "the search index of \"%s\" was declared again "
		       "or dropped since this build started; its work is discarded", name);
}

int catalog_store_index_version_check(struct lh_error *err, const char *name, int64_t version,
				      int64_t from_version)
{
	if (version >= from_version)
		return 0;
	lh_fail(err, 400, "bad_request", "the search index of \"%s\" applies from version %lld "
		"on; version %lld has none", name, (long long)from_version, (long long)version);
	lh_error_set(err, "field", json_string("version"));
	return -1;
}

int catalog_store_check_keys(struct catalog_store *s, const char *const *keys, size_t n,
			     struct lh_error *err)
{
	if (!s->check)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s->check(s->check_ctx, keys[i], err))
			return -1;
	return 0;
}

void catalog_keys_free(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

void catalog_store_set_object_check(struct catalog_store *s, catalog_object_check_fn check,
				    void *ctx)
{
	s->check = check;
	s->check_ctx = ctx;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int catalog_store_check_objects(struct catalog_store *s, const struct catalog_version *latest,
				const struct catalog_version *next, struct lh_error *err)
{
	const char **held = NULL;
	size_t nheld = latest ? latest->nobjects : 0;
	int rc = 0;
	if (!s->check || !next)
		return 0;
	/* latest's keys, sorted: an append's next holds them all again. */
	if (nheld) {
		held = xcalloc(nheld, sizeof *held);
		for (size_t i = 0; i < nheld; i++)
			held[i] = latest->objects[i].key;
		qsort(held, nheld, sizeof *held, key_cmp);
	}
	for (size_t i = 0; i < next->nobjects && !rc; i++) {
		const char *key = next->objects[i].key;
		if (nheld && bsearch(&key, held, nheld, sizeof *held, key_cmp))
			continue;  /* referenced since latest's commit: GC keeps it */
		rc = s->check(s->check_ctx, key, err);
	}
	free(held);
	return rc ? -1 : 0;
}

int catalog_store_ping(struct catalog_store *s, struct lh_error *err)
{
	return s->ops->ping ? s->ops->ping(s, err) : 0;
}

int catalog_store_rename(struct catalog_store *s, const char *from, const char *to,
			 struct catalog_version **out, struct lh_error *err)
{
	return s->ops->rename(s, from, to, out, err);
}

int catalog_store_renamed(struct catalog_store *s, const char *name, int64_t max_age_ms,
			  char to[LH_DATASET_NAME_MAX + 1], int64_t *renamed_ms,
			  struct lh_error *err)
{
	return s->ops->renamed(s, name, max_age_ms, to, renamed_ms, err);
}

int catalog_store_rename_conflict(struct lh_error *err, const char *from, const char *to,
				  const char *existing)
{
	lh_fail(err, 409, "name_conflict",
		"cannot rename \"%s\" to \"%s\": a dataset named \"%s\" already exists, and dataset "
		"names are unique regardless of letter case (they are SQL table names)",
		from, to, existing);
	lh_error_set(err, "existing_name", json_string(existing));
	lh_error_set(err, "field", json_string("to"));
	return -1;
}

int catalog_store_rename_same(struct lh_error *err, const char *name)
{
	lh_fail(err, 400, "same_name", "the dataset is already named \"%s\"", name);
	lh_error_set(err, "field", json_string("to"));
	return -1;
}

int catalog_store_masks_set(struct catalog_store *s, const char *name, const char *columns,
			    struct lh_error *err)
{
	return s->ops->masks_set(s, name, columns, err);
}

int catalog_store_masks_list(struct catalog_store *s, struct catalog_masks **out, size_t *n,
			     struct lh_error *err)
{
	return s->ops->masks_list(s, out, n, err);
}

void catalog_masks_free(struct catalog_masks *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		free(m[i].columns);
	free(m);
}
