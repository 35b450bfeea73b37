/* catalog_store.c — backend selection and the dispatching wrappers of
 * catalog_store.h. Adding a backend is one line in `backends`. */
#include "catalogd/catalog_store.h"

#include "common/error.h"

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

int64_t catalog_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
