/* catalog_fixtures.h — request builders shared by the catalog unit tests
 * (test_catalog.c, test_catalog_store.c). Header-only, static functions.
 *
 * Schemas are written "id:int64,name:utf8" and object lists "a=10,b=5"
 * (key=row_count; size = 10 * rows; content digest = SHA-256 of the key), so
 * a test reads like the data it registers.
 */
#ifndef LH_TEST_CATALOG_FIXTURES_H
#define LH_TEST_CATALOG_FIXTURES_H
#include "catalogd/catalog.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Call fn(piece, ctx) for each comma-separated piece of spec. */
static inline void fixture_split(const char *spec, void (*fn)(const char *piece, void *ctx),
				 void *ctx)
{
	while (spec && *spec) {
		const char *comma = strchr(spec, ',');
		size_t n = comma ? (size_t)(comma - spec) : strlen(spec);
		char *piece = xstrndup(spec, n);
		fn(piece, ctx);
		free(piece);
		spec = comma ? comma + 1 : NULL;
	}
}

static inline void fixture_column(const char *piece, void *ctx)
{
	const char *colon = strrchr(piece, ':');
	char *name = xstrndup(piece, (size_t)(colon - piece));
	catalog_version_add_column(ctx, name, colon + 1, 1);
	free(name);
}

static inline void fixture_object(const char *piece, void *ctx)
{
	struct catalog_version *v = ctx;
	const char *eq = strchr(piece, '=');
	char *key = xstrndup(piece, (size_t)(eq - piece));
	int64_t rows = strtoll(eq + 1, NULL, 10);
	char hex[LH_SHA256_HEX_LEN + 1];
	sha256_hex(key, strlen(key), hex);
	catalog_version_add_object(v, key, rows * 10, rows, hex);
	v->row_count += rows;
	v->size_bytes += rows * 10;
	free(key);
}

/* A version struct as a register request would parse to. Caller destroys. */
static inline struct catalog_version *fixture_version(const char *name, const char *schema,
						      const char *objects, const char *mode)
{
	struct catalog_version *v = catalog_version_create();
	snprintf(v->name, sizeof v->name, "%s", name);
	fixture_split(schema, fixture_column, v);
	fixture_split(objects, fixture_object, v);
	catalog_schema_fingerprint(v->columns, v->ncolumns, v->fingerprint);
	if (mode)
		catalog_mode_parse(mode, &v->mode);
	return v;
}

/* The JSON body of POST /catalog/register for the same. mode NULL = absent.
 * Caller decrefs. */
static inline json_t *fixture_body(const char *name, const char *schema, const char *objects,
				   const char *mode)
{
	struct catalog_version *v = fixture_version(name, schema, objects, mode);
	json_t *m = catalog_version_json(v);
	json_t *body = json_object();
	const char *keep[] = { "name", "schema_fingerprint", "schema", "objects", "row_count" };
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
		json_object_set(body, keep[i], json_object_get(m, keep[i]));
	if (mode)
		json_object_set_new(body, "mode", json_string(mode));
	json_decref(m);
	catalog_version_destroy(v);
	return body;
}

/* The "field" of an error, or "". */
static inline const char *fixture_err_field(const struct lh_error *err)
{
	const char *f = err->extra ? json_string_value(json_object_get(err->extra, "field")) : NULL;
	return f ? f : "";
}

#endif
