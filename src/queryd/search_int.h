/* search_int.h — queryd's search: the parts a search reads (search_parts.c),
 * the background index builder (search_build.c) and the HTTP routes
 * POST /search and POST /embed (search_http.c). docs/search.md, ADR 0150.
 */
#ifndef LH_QUERYD_SEARCH_INT_H
#define LH_QUERYD_SEARCH_INT_H
#include "common/json.h"
#include "search/index_decl.h"

#include <stddef.h>
#include <stdint.h>

struct embedder;
struct http_request;
struct lh_error;
struct manifest;
struct qrun;
struct queryd;
struct segment;
struct search;

/* ---- search_parts.c ----------------------------------------------------- */

#include <pthread.h>

#define SEARCH_MAX_EMBEDDERS 8

struct opart;
struct sfilter;

/* Search's state in one queryd (search_parts.c note 2 and 4, search_build.c). */
struct search {
	struct queryd *q;
	pthread_mutex_t mu;                    /* guards everything below */
	struct opart **parts;                  /* the open parts */
	size_t nparts, parts_cap;
	uint64_t tick;
	uint64_t memory_bytes;                 /* in-memory parts' bytes */
	struct {
		char *id;
		struct embedder *e;
	} embedders[SEARCH_MAX_EMBEDDERS];
	size_t nembedders;
	/* the builder (search_build.c) */
	pthread_t builder;
	int builder_running;
	int stopping;
	int wake;
	pthread_cond_t cond;
	uint64_t built_parts, built_versions, failed_versions;
	struct sfilter *filters;               /* the filter cache, LRU */
	size_t nfilters;
	uint64_t filter_bytes;
	struct sfb_set **feedback;             /* feedback sets, LRU (search_feedback.c) */
	size_t nfeedback;
};

/* Start search for queryd `q` (embedders open lazily; the builder thread
 * starts when a catalog is configured). NULL + err. */
struct search *search_start(struct queryd *q, struct lh_error *err);
/* Stop the builder, close every part. NULL is fine. */
void search_stop(struct search *s);
struct queryd *search_queryd(const struct search *s);

/* The embedder called `id` ("builtin", "ollama/<model>", ...), opened once
 * per process and kept. NULL + err (503 when it cannot be opened). */
struct embedder *search_embedder(struct search *s, const char *id, struct lh_error *err);

/* A part a search reads: stored (mapped from the cache) or made for rows no
 * stored part covers yet (kept in memory). */
struct spart {
	struct segment *seg;
	int stored;              /* 0: built for this search's rows, not indexed */
};

/* One dataset version as search sees it. */
struct sversion {
	struct manifest *m;            /* one reference */
	json_t *index;                 /* the catalog's GET /catalog/index answer */
	struct index_decl decl;
	struct embedder *e;            /* the index's embedder (search's, borrowed) */
	float *pc;                     /* the common component, dim floats, or NULL */
	unsigned dim;
	struct spart **parts;          /* nparts, borrowed refs: object i's parts are
					* parts[first_part[i] .. first_part[i + 1]),
					* part c covering its rows c * part_rows on */
	size_t nparts;
	size_t *first_part;            /* m->nobjects + 1 */
	size_t *part_object;           /* per part: its object's index in m */
	uint32_t part_rows;            /* [search] part_rows */
	uint64_t unindexed_rows;       /* rows of parts that are not stored */
	int64_t from_version;
};

/* Load name@version (0 = latest) for a search: its manifest, index
 * declaration, component and a part for every object. 404 unknown dataset
 * or version, 409 "no_index" (with the command that declares one). */
int search_version_open(struct search *s, struct qrun *r, const char *name, int64_t version,
			const char *rid, struct sversion *out, struct lh_error *err);
void search_version_close(struct search *s, struct sversion *v);

/* ADR 0173 (search_evolve.c): `row` (a hit's row as object `object` of m
 * stored it) with m's columns when the object was written with an older
 * schema: widened types converted, the rest null. A new reference (row's
 * own when nothing changes). */
json_t *search_row_for_version(const struct manifest *m, size_t object, json_t *row);
/* ADR 0173: 0 if m's schema has every column the declaration reads, else
 * -1 with 409 "index_column_missing" naming it (a schema change removed
 * it). */
int search_decl_check(const struct index_decl *d, const struct manifest *m,
		      struct lh_error *err);

/* The index's component for `index` (GET /catalog/index's answer), made and
 * recorded if the catalog has none (docs/search.md "The common
 * component"): *pc is xmalloc'd dim floats. */
int search_component(struct search *s, struct qrun *r, const json_t *index,
		     const struct index_decl *decl, struct embedder *e, const char *rid, float **pc,
		     struct lh_error *err);

/* Called for each part of an object as it is built: its number (rows
 * chunk * [search] part_rows on) and an unlinked temporary file holding it
 * (fd, which the callee closes; len bytes). 0, or -1 with err to stop. */
typedef int (*search_part_fn)(void *ctx, uint32_t chunk, int fd, uint64_t len,
			      struct lh_error *err);
/* Build the parts of object `object` of `m`, reading its rows once through
 * a worker; with_graph adds HNSW graphs. One part is in memory at a time,
 * and no part is ever held on the heap whole. An object without rows has
 * no part. */
int search_object_parts(struct search *s, struct qrun *r, const struct manifest *m,
			size_t object, const struct index_decl *decl, struct embedder *e,
			const float *pc, int with_graph, const char *rid, search_part_fn done,
			void *ctx, struct lh_error *err);

/* The filter cache (search_http.c note 7): a where's bitmaps over a
 * version, one per part (nallowed[i] bits set in allowed[i], a part of
 * segment_rows(parts[i]) rows), under `key`. get copies them into the
 * caller's (allocated) arrays: 1 when found, else 0. */
int search_filter_get(struct search *s, const char *key, uint64_t **allowed, uint64_t *nallowed,
		      size_t nparts);
void search_filter_put(struct search *s, const char *key, const uint64_t *const *allowed,
		       const uint64_t *nallowed, struct spart *const *parts, size_t nparts);

/* ---- search_build.c ----------------------------------------------------- */

/* The builder thread (note in search_build.c). */
int search_builder_start(struct search *s, struct lh_error *err);
void search_builder_stop(struct search *s);
/* Build now rather than at the next poll (after a declaration, a register). */
void search_builder_wake(struct search *s);

/* ---- search_http.c ------------------------------------------------------ */

int search_route_search(struct http_request *req);
int search_route_embed(struct http_request *req);

/* ---- search_feedback.c (ADR 0190) ------------------------------------------ */

struct sfb_set;
/* POST /search/feedback. */
int search_route_feedback(struct http_request *req);
/* Free the kept feedback sets (search_stop). */
void search_feedback_cache_free(struct search *s);

#endif
