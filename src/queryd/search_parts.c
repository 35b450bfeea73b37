/* search_parts.c — what a search reads: a dataset version's index parts,
 * stored ones mapped from queryd's cache and parts made on the spot for
 * rows no stored part covers yet; the index's common component; the
 * embedders (docs/search.md; ADR 0150).
 *
 * DESIGN NOTES
 *  1. A version's objects each have one part, keyed by the index's
 *     fingerprint and the object's content (segment_key). The catalog's
 *     build records list the parts that exist (every "ready" version's);
 *     an object whose part is not among them (its version is still being
 *     built, or the builder has not come yet) gets a part built right here
 *     from its rows, without a graph: searched exactly, counted in
 *     `unindexed_rows`. So a search is complete at any moment (SPEC 11).
 *  2. Open parts live in one table, keyed by part key, shared between
 *     searches (reference-counted). Stored parts stay pinned in the cache
 *     and mapped while open; in-memory parts count against
 *     SEARCH_MEMORY_PARTS_BYTES. Unused parts are closed least recently
 *     used first when the table is over SEARCH_OPEN_PARTS or that byte cap.
 *     Two searches that need the same unbuilt part both build it; the
 *     second one's copy is dropped (rare, harmless, and simpler than a
 *     wait).
 *  3. The common component (SIF's) is fixed per declaration: computed from
 *     the first LH_SEARCH_COMPONENT_ROWS rows of the first object of the
 *     version the index was declared on, and recorded in the catalog, first
 *     writer wins. Anyone who computes it computes the same vector, so a
 *     race only costs time.
 *  4. Embedders are opened once per id and kept for the process's life.
 */
#include "queryd/queryd_int.h"
#include "queryd/search_int.h"

#include "search/embed.h"
#include "search/part_build.h"
#include "search/segment.h"
#include "search/sif.h"
#include "search/ann.h"

#include "common/buf.h"
#include "common/catalog_client.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/random.h"
#include "common/storage_client.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* [search] part_rows (docs/search.md): rows of an object one part covers. */
#define PART_ROWS(s) (queryd_config((s)->q)->search.part_rows)

#define SEARCH_OPEN_PARTS 256          /* open parts kept when unused */
#define SEARCH_MEMORY_PARTS_BYTES (1ull << 30)
/* Internal queries of the builder and of part builds: generous, since a
 * part of a large object is read in one go. */
#define SEARCH_READ_TIMEOUT_MS (30 * 60 * 1000)

struct opart {
	struct spart part;
	char *key;
	void *map;               /* the mapped file: the cache's, or an unlinked
				  * temporary one for a part built here */
	size_t len;
	int refs;
	uint64_t used;           /* LRU tick */
};

struct queryd *search_queryd(const struct search *s)
{
	return s->q;
}

/* ---- embedders (note 4) -------------------------------------------------- */

static void embed_config_from(struct embed_config *ec, const struct lh_config *cfg)
{
	ec->glove_path = cfg->search.glove_path;   /* "" = the Makefile's default */
	ec->url = cfg->embed.url;
	ec->api_key = cfg->embed.api_key;
	ec->timeout_ms = cfg->embed.timeout_ms;
}

struct embedder *search_embedder(struct search *s, const char *id, struct lh_error *err)
{
	struct embedder *e = NULL;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nembedders; i++)
		if (!strcmp(s->embedders[i].id, id)) {
			e = s->embedders[i].e;
			break;
		}
	pthread_mutex_unlock(&s->mu);
	if (e)
		return e;
	struct embed_config ec = { 0 };
	embed_config_from(&ec, queryd_config(s->q));
	e = embedder_open(id, &ec, err);
	if (!e)
		return NULL;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nembedders; i++)
		if (!strcmp(s->embedders[i].id, id)) {
			embedder_close(e);
			e = s->embedders[i].e;
			pthread_mutex_unlock(&s->mu);
			return e;
		}
	if (s->nembedders == SEARCH_MAX_EMBEDDERS) {
		pthread_mutex_unlock(&s->mu);
		embedder_close(e);
		lh_fail(err, 503, "embedder_unavailable",
			"more than %d different embedders are in use; restart queryd to forget old ones",
			SEARCH_MAX_EMBEDDERS);
		return NULL;
	}
	s->embedders[s->nembedders].id = xstrdup(id);
	s->embedders[s->nembedders++].e = e;
	pthread_mutex_unlock(&s->mu);
	return e;
}

/* ---- the open parts (note 2) --------------------------------------------- */

static void opart_free(struct search *s, struct opart *p)
{
	segment_close(p->part.seg);
	if (p->map)
		munmap(p->map, p->len);
	if (p->part.stored)
		qcache_release(queryd_cache(s->q), p->key);
	free(p->key);
	free(p);
}

/* Close unused parts, oldest first, while over the caps. s->mu held. */
static void parts_trim(struct search *s, size_t room)
{
	while (s->nparts + room > SEARCH_OPEN_PARTS || s->memory_bytes > SEARCH_MEMORY_PARTS_BYTES) {
		size_t victim = SIZE_MAX;
		for (size_t i = 0; i < s->nparts; i++)
			if (s->parts[i]->refs == 0 &&
			    (victim == SIZE_MAX || s->parts[i]->used < s->parts[victim]->used))
				victim = i;
		if (victim == SIZE_MAX)
			return;   /* everything is in use: go over for now */
		struct opart *p = s->parts[victim];
		s->parts[victim] = s->parts[--s->nparts];
		if (!p->part.stored)
			s->memory_bytes -= p->len;
		opart_free(s, p);
	}
}

/* The open part `key` with one more reference, or NULL. s->mu held. */
static struct opart *parts_find(struct search *s, const char *key)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (!strcmp(s->parts[i]->key, key)) {
			s->parts[i]->refs++;
			s->parts[i]->used = ++s->tick;
			return s->parts[i];
		}
	return NULL;
}

/* Add p (one reference, the caller's); an equal key already there wins and
 * p is freed. Returns the part the caller holds. */
static struct opart *parts_add(struct search *s, struct opart *p)
{
	pthread_mutex_lock(&s->mu);
	struct opart *old = parts_find(s, p->key);
	if (old) {
		pthread_mutex_unlock(&s->mu);
		opart_free(s, p);
		return old;
	}
	parts_trim(s, 1);
	if (s->nparts == s->parts_cap) {
		s->parts_cap = s->parts_cap ? s->parts_cap * 2 : 16;
		s->parts = xrealloc(s->parts, s->parts_cap * sizeof *s->parts);
	}
	p->used = ++s->tick;
	s->parts[s->nparts++] = p;
	if (!p->part.stored)
		s->memory_bytes += p->len;
	pthread_mutex_unlock(&s->mu);
	return p;
}

static void part_release(struct search *s, struct spart *sp)
{
	struct opart *p = (struct opart *)sp;
	pthread_mutex_lock(&s->mu);
	p->refs--;
	parts_trim(s, 0);
	pthread_mutex_unlock(&s->mu);
}

/* The stored part `key` exists now: its in-memory twin ("mem:<key>"), if
 * nobody reads it, goes at once instead of waiting for the LRU. */
static void parts_forget_memory_twin(struct search *s, const char *key)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nparts; i++) {
		struct opart *p = s->parts[i];
		if (p->refs == 0 && !p->part.stored && !strncmp(p->key, "mem:", 4) &&
		    !strcmp(p->key + 4, key)) {
			s->parts[i] = s->parts[--s->nparts];
			s->memory_bytes -= p->len;
			opart_free(s, p);
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/* A stored part, mapped (note 2). */
static struct opart *part_open_stored(struct search *s, const char *key, const char *rid,
				      struct lh_error *err)
{
	pthread_mutex_lock(&s->mu);
	struct opart *p = parts_find(s, key);
	pthread_mutex_unlock(&s->mu);
	if (p)
		return p;
	char path[4096];
	if (queryd_cache_acquire(s->q, key, rid, path, sizeof path, NULL, err))
		return NULL;
	p = xcalloc(1, sizeof *p);
	p->key = xstrdup(key);
	p->part.stored = 1;
	p->refs = 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		lh_fail(err, 500, "internal", "cannot read an index part from the query cache");
		goto fail;
	}
	p->len = (size_t)st.st_size;
	p->map = mmap(NULL, p->len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		lh_fail(err, 500, "internal", "cannot map an index part: %s", strerror(errno));
		goto fail;
	}
	p->part.seg = segment_open(p->map, p->len, err);
	if (!p->part.seg)
		goto fail;
	parts_forget_memory_twin(s, key);
	return parts_add(s, p);
fail:
	opart_free(s, p);
	return NULL;
}

/* ---- reading rows and building parts ------------------------------------- */

struct read_rows {
	struct search *s;
	const struct manifest *m;
	size_t object;
	const struct index_decl *decl;
	struct embedder *e;
	const float *pc;
	int with_graph;
	struct part_build *pb;   /* the part being filled */
	uint32_t chunk;          /* its number */
	uint64_t rows;
	search_part_fn done;     /* NULL: one build of every row read (the component) */
	void *done_ctx;
};

/* Write pb (taken) to an unlinked temporary file in the cache directory:
 * *fd and *len. */
static int part_to_file(struct search *s, struct part_build *pb, const float *pc,
			int with_graph, int *fd, uint64_t *len, struct lh_error *err)
{
	struct ann_params ap = { .connectivity = ANN_DEFAULT_CONNECTIVITY,
				 .expansion_add = ANN_DEFAULT_EXPANSION_ADD,
				 .expansion_search = ANN_DEFAULT_EXPANSION_SEARCH,
				 .threads = 2,
				 .storage_f16 = ANN_DEFAULT_STORAGE_F16 };
	int graph = with_graph && part_build_rows(pb) >= LH_SEARCH_ANN_MIN_ROWS;
	char name[17];
	random_name(name, 8);
	char *path = xasprintf("%s/out/part.%s.tmp", queryd_config(s->q)->queryd.cache_dir, name);
	*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd >= 0)
		unlink(path);   /* nothing to clean up after a crash */
	free(path);
	if (*fd < 0) {
		part_build_free(pb);
		return lh_fail(err, 500, "internal", "cannot make a temporary file for an index "
			       "part: %s", strerror(errno));
	}
	if (part_build_write(pb, pc, graph ? &ap : NULL, segment_fd_sink, fd, err)) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	off_t end = lseek(*fd, 0, SEEK_END);
	*len = end > 0 ? (uint64_t)end : 0;
	return 0;
}

/* The part being filled is complete: to its file, and to rr->done. */
static int chunk_done(struct read_rows *rr, struct lh_error *err)
{
	int fd = -1;
	uint64_t len = 0;
	struct part_build *pb = rr->pb;
	rr->pb = NULL;
	if (part_to_file(rr->s, pb, rr->pc, rr->with_graph, &fd, &len, err))
		return -1;
	return rr->done(rr->done_ctx, rr->chunk++, fd, len, err);   /* takes fd */
}

static int row_line(void *ctx, const char *line, size_t len, struct lh_error *err)
{
	struct read_rows *rr = ctx;
	if (__atomic_load_n(&rr->s->stopping, __ATOMIC_RELAXED))
		return lh_fail(err, 503, "stopping", "queryd is stopping");
	if (len == 0)
		return 0;
	if (rr->done && rr->pb && part_build_rows(rr->pb) == PART_ROWS(rr->s) &&
	    chunk_done(rr, err))
		return -1;
	if (!rr->pb)
		rr->pb = part_build_new(rr->decl, rr->e, rr->m->objects[rr->object].content_sha256);
	rr->rows++;
	return part_build_line(rr->pb, line, len, err);
}

/* Read the rows of object `object` of m (at most `limit`, 0 = all) through
 * a worker into rr (set up by the caller). */
static int read_object(struct qrun *r, struct read_rows *rr, uint64_t limit, const char *rid,
		       struct lh_error *err)
{
	const struct manifest *m = rr->m;
	char view[32], *sql;
	snprintf(view, sizeof view, "__lh_part%zu", rr->object);
	if (qrun_add_object(r, m, rr->object, view, rid, err))
		return -1;
	if (limit)
		sql = xasprintf("SELECT * FROM \"%s\" LIMIT %" PRIu64, view, limit);
	else
		sql = xasprintf("SELECT * FROM \"%s\"", view);
	int rc = qrun_lines(r, sql, "ndjson", row_line, rr, err);
	free(sql);
	if (rc || (rr->pb && part_build_flush(rr->pb, err)))
		return -1;
	if (!limit && (int64_t)rr->rows != m->objects[rr->object].row_count)
		return lh_fail(err, 500, "internal", "object %s has %" PRId64 " rows but %" PRIu64
			       " were read", m->objects[rr->object].key,
			       m->objects[rr->object].row_count, rr->rows);
	return 0;
}

int search_object_parts(struct search *s, struct qrun *r, const struct manifest *m,
			size_t object, const struct index_decl *decl, struct embedder *e,
			const float *pc, int with_graph, const char *rid, search_part_fn done,
			void *ctx, struct lh_error *err)
{
	struct read_rows rr = { .s = s, .m = m, .object = object, .decl = decl, .e = e, .pc = pc,
				.with_graph = with_graph, .done = done, .done_ctx = ctx };
	int rc = read_object(r, &rr, 0, rid, err);
	if (rc == 0 && rr.pb)
		rc = chunk_done(&rr, err);
	part_build_free(rr.pb);
	return rc;
}

/* ---- the common component (note 3) --------------------------------------- */

static int floats_from_json(const json_t *a, unsigned dim, float **out)
{
	if (!json_is_array(a) || json_array_size(a) != dim)
		return -1;
	float *v = xcalloc(dim, sizeof *v);
	for (unsigned i = 0; i < dim; i++) {
		const json_t *x = json_array_get(a, i);
		if (!json_is_number(x)) {
			free(v);
			return -1;
		}
		v[i] = (float)json_number_value(x);
	}
	*out = v;
	return 0;
}

int search_component(struct search *s, struct qrun *r, const json_t *index,
		     const struct index_decl *decl, struct embedder *e, const char *rid, float **pc,
		     struct lh_error *err)
{
	unsigned dim = embedder_dim(e);
	const json_t *have = json_object_get(index, "component");
	struct manifest *first = NULL;
	struct part_build *pb = NULL;
	json_t *answer = NULL;
	float *mine = NULL;
	int rc = -1;
	*pc = NULL;
	if (json_is_array(have)) {
		if (floats_from_json(have, dim, pc) == 0)
			return 0;
		return lh_fail(err, 502, "upstream_failed", "the catalog's common component of this "
			       "index does not have %u numbers", dim);
	}
	const char *name = json_string_value(json_object_get(index, "name"));
	json_int_t from = json_integer_value(json_object_get(index, "from_version"));
	if (!name || from < 1)
		return lh_fail(err, 502, "upstream_failed", "the catalog's index record has no "
			       "name or from_version");
	if (qrun_manifest(r, name, from, rid, &first, err))
		goto out;
	mine = xcalloc(dim, sizeof *mine);
	if (first->nobjects > 0) {
		struct read_rows rr = { .s = s, .m = first, .object = 0, .decl = decl, .e = e };
		int rc2 = read_object(r, &rr, LH_SEARCH_COMPONENT_ROWS, rid, err);
		pb = rr.pb;
		if (rc2)
			goto out;
		if (pb && part_build_rows(pb) > 0 &&
		    sif_component(part_build_raw_vectors(pb), part_build_rows(pb), dim, mine))
			memset(mine, 0, dim * sizeof *mine);
	}
	struct peer_call call = { .request_id = rid };
	if (catalog_client_index_component(queryd_catalog(s->q), &call, name, decl->fingerprint,
					   mine, dim, &answer, err)) {
		qrun_catalog_failed(r, err);   /* an outage: 503 (ADR 0205) */
		goto out;
	}
	if (floats_from_json(json_object_get(answer, "component"), dim, pc)) {
		lh_fail(err, 502, "upstream_failed", "the catalog answered a common component "
			"without %u numbers", dim);
		goto out;
	}
	/* ADR 0205: remember the declaration with its component, so a search
	 * during a later outage does not need to store it again */
	json_t *fresh = NULL;
	struct lh_error ignored = { 0 };
	if (qrun_index_get(r, name, rid, &fresh, &ignored) == 0)
		json_decref(fresh);
	lh_error_clear(&ignored);
	rc = 0;
out:
	part_build_free(pb);
	manifest_unref(first);
	json_decref(answer);
	free(mine);
	return rc;
}

/* ---- a version for one search (note 1) ----------------------------------- */

/* Is `key` among the parts of a ready version of `index`? */
static int part_is_stored(const json_t *index, const char *key)
{
	size_t i, j;
	const json_t *v, *p;
	json_array_foreach(json_object_get(index, "versions"), i, v) {
		const char *state = json_string_value(json_object_get(v, "state"));
		if (!state || strcmp(state, "ready"))
			continue;
		json_array_foreach(json_object_get(v, "parts"), j, p) {
			const char *k = json_string_value(json_object_get(p, "part_key"));
			if (k && !strcmp(k, key))
				return 1;
		}
	}
	return 0;
}

/* A part built here (note 1): its temporary file mapped under "mem:<key>". */
struct built_parts {
	struct search *s;
	struct sversion *v;
	size_t first;            /* the object's first part in v->parts */
	size_t nchunks;
	size_t object;
};

static int built_part(void *ctx, uint32_t chunk, int fd, uint64_t len, struct lh_error *err)
{
	struct built_parts *b = ctx;
	struct search *s = b->s;
	struct sversion *v = b->v;
	if (chunk >= b->nchunks) {
		close(fd);
		return lh_fail(err, 500, "internal", "object %s gave more parts than its rows make",
			       v->m->objects[b->object].key);
	}
	char *key = segment_key(v->decl.fingerprint, v->pc, v->dim,
				v->m->objects[b->object].content_sha256, PART_ROWS(s), chunk);
	struct opart *p = xcalloc(1, sizeof *p);
	p->key = xasprintf("mem:%s", key);   /* never mistaken for a stored one */
	free(key);
	p->len = (size_t)len;
	p->refs = 1;
	p->map = mmap(NULL, p->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		opart_free(s, p);
		return lh_fail(err, 500, "internal", "cannot map an index part: %s", strerror(errno));
	}
	p->part.seg = segment_open(p->map, p->len, err);
	if (!p->part.seg) {
		opart_free(s, p);
		return -1;
	}
	p = parts_add(s, p);
	if (v->parts[b->first + chunk])
		part_release(s, v->parts[b->first + chunk]);
	v->parts[b->first + chunk] = &p->part;
	return 0;
}

/* The parts of object i into v->parts[first..first+n): stored ones when
 * the catalog records them all (a ready version records every part of its
 * objects), else built here — already open ones reused. */
static int object_parts(struct search *s, struct qrun *r, struct sversion *v, size_t i,
			size_t first, size_t n, const char *rid, struct lh_error *err)
{
	int stored = 1, open = 1;
	for (size_t c = 0; c < n; c++) {
		char *key = segment_key(v->decl.fingerprint, v->pc, v->dim,
					v->m->objects[i].content_sha256, PART_ROWS(s), (uint32_t)c);
		stored &= part_is_stored(v->index, key);
		char *mem = xasprintf("mem:%s", key);
		pthread_mutex_lock(&s->mu);
		struct opart *p = parts_find(s, mem);
		pthread_mutex_unlock(&s->mu);
		if (p)
			v->parts[first + c] = &p->part;
		else
			open = 0;
		free(mem);
		free(key);
	}
	if (stored) {
		for (size_t c = 0; c < n; c++) {
			if (v->parts[first + c]) {   /* the in-memory twin: the stored one now */
				part_release(s, v->parts[first + c]);
				v->parts[first + c] = NULL;
			}
			char *key = segment_key(v->decl.fingerprint, v->pc, v->dim,
						v->m->objects[i].content_sha256, PART_ROWS(s), (uint32_t)c);
			struct opart *p = part_open_stored(s, key, rid, err);
			free(key);
			if (!p)
				return -1;
			v->parts[first + c] = &p->part;
		}
		return 0;
	}
	if (open)
		return 0;
	struct built_parts b = { s, v, first, n, i };
	return search_object_parts(s, r, v->m, i, &v->decl, v->e, v->pc, 0, rid, built_part, &b,
				   err);
}

int search_version_open(struct search *s, struct qrun *r, const char *name, int64_t version,
			const char *rid, struct sversion *out, struct lh_error *err)
{
	memset(out, 0, sizeof *out);
	if (qrun_manifest(r, name, version, rid, &out->m, err))
		goto fail;
	if (qrun_index_get(r, out->m->name, rid, &out->index, err)) {
		if (err->status == 404 && !strcmp(err->code, "no_index")) {
			lh_error_clear(err);
			lh_fail(err, 409, "no_index",
				"dataset \"%s\" has no search index; declare one with: lakehouse index "
				"%s --text <column>,<column>", out->m->name, out->m->name);
			lh_error_set(err, "command", json_sprintf("lakehouse index %s --text ",
								  out->m->name));
		}
		goto fail;
	}
	if (index_decl_from_json(out->index, &out->decl, err) ||
	    search_decl_check(&out->decl, out->m, err))                      /* ADR 0173 */
		goto fail;
	out->from_version = json_integer_value(json_object_get(out->index, "from_version"));
	out->e = search_embedder(s, out->decl.embedder, err);
	if (!out->e)
		goto fail;
	out->dim = embedder_dim(out->e);
	if (search_component(s, r, out->index, &out->decl, out->e, rid, &out->pc, err))
		goto fail;
	/* note 1: part c of object i covers its rows c * part_rows on */
	out->part_rows = PART_ROWS(s);
	const struct manifest *m = out->m;
	out->first_part = xcalloc(m->nobjects + 1, sizeof *out->first_part);
	for (size_t i = 0; i < m->nobjects; i++) {
		uint64_t rows = m->objects[i].row_count > 0 ? (uint64_t)m->objects[i].row_count : 0;
		out->first_part[i + 1] = out->first_part[i] +
					 (size_t)((rows + PART_ROWS(s) - 1) / PART_ROWS(s));
	}
	out->nparts = out->first_part[m->nobjects];
	out->parts = xcalloc(out->nparts + 1, sizeof *out->parts);
	out->part_object = xcalloc(out->nparts + 1, sizeof *out->part_object);
	for (size_t i = 0; i < m->nobjects; i++) {
		size_t first = out->first_part[i], n = out->first_part[i + 1] - first;
		if (n && object_parts(s, r, out, i, first, n, rid, err))
			goto fail;
		for (size_t c = 0; c < n; c++) {
			struct spart *sp = out->parts[first + c];
			uint64_t want = (uint64_t)m->objects[i].row_count - c * PART_ROWS(s);
			if (want > PART_ROWS(s))
				want = PART_ROWS(s);
			out->part_object[first + c] = i;
			if (!sp || segment_dim(sp->seg) != out->dim || segment_rows(sp->seg) != want ||
			    strcmp(segment_object_sha(sp->seg), m->objects[i].content_sha256)) {
				lh_fail(err, 502, "bad_index_part", "an index part of \"%s\" does not match "
					"its data object (object, rows or dimension)", m->name);
				lh_error_detail(err, "object %s part %zu", m->objects[i].key, c);
				goto fail;
			}
			if (!sp->stored)
				out->unindexed_rows += segment_rows(sp->seg);
		}
	}
	return 0;
fail:
	search_version_close(s, out);
	return -1;
}

void search_version_close(struct search *s, struct sversion *v)
{
	if (v->parts)
		for (size_t i = 0; i < v->nparts; i++)
			if (v->parts[i])
				part_release(s, v->parts[i]);
	free(v->parts);
	free(v->first_part);
	free(v->part_object);
	free(v->pc);
	index_decl_free(&v->decl);
	json_decref(v->index);
	manifest_unref(v->m);
	memset(v, 0, sizeof *v);
}

/* ---- the filter cache (search_http.c note 7) ------------------------------ */

#define SEARCH_FILTERS 64
#define SEARCH_FILTER_BYTES (64ull << 20)

struct sfilter {
	char *key;
	size_t nparts;
	uint64_t **bits;         /* per part, (rows / 64 + 1) words */
	size_t *words;
	uint64_t *nallowed;
	uint64_t bytes;
	uint64_t used;
};

static void sfilter_free(struct sfilter *f)
{
	for (size_t i = 0; i < f->nparts; i++)
		free(f->bits[i]);
	free(f->bits);
	free(f->words);
	free(f->nallowed);
	free(f->key);
}

int search_filter_get(struct search *s, const char *key, uint64_t **allowed, uint64_t *nallowed,
		      size_t nparts)
{
	int found = 0;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nfilters; i++) {
		struct sfilter *f = &s->filters[i];
		if (strcmp(f->key, key) || f->nparts != nparts)
			continue;
		for (size_t p = 0; p < nparts; p++) {
			memcpy(allowed[p], f->bits[p], f->words[p] * sizeof **allowed);
			nallowed[p] = f->nallowed[p];
		}
		f->used = ++s->tick;
		found = 1;
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return found;
}

void search_filter_put(struct search *s, const char *key, const uint64_t *const *allowed,
		       const uint64_t *nallowed, struct spart *const *parts, size_t nparts)
{
	struct sfilter f = { .key = xstrdup(key), .nparts = nparts };
	f.bits = xcalloc(nparts + 1, sizeof *f.bits);
	f.words = xcalloc(nparts + 1, sizeof *f.words);
	f.nallowed = xcalloc(nparts + 1, sizeof *f.nallowed);
	for (size_t p = 0; p < nparts; p++) {
		f.words[p] = segment_rows(parts[p]->seg) / 64 + 1;
		f.bits[p] = xmalloc(f.words[p] * sizeof **f.bits);
		memcpy(f.bits[p], allowed[p], f.words[p] * sizeof **f.bits);
		f.nallowed[p] = nallowed[p];
		f.bytes += f.words[p] * 8;
	}
	if (f.bytes > SEARCH_FILTER_BYTES / 4) {   /* one huge filter: not kept */
		sfilter_free(&f);
		return;
	}
	pthread_mutex_lock(&s->mu);
	while (s->nfilters &&
	       (s->nfilters >= SEARCH_FILTERS || s->filter_bytes + f.bytes > SEARCH_FILTER_BYTES)) {
		size_t old = 0;
		for (size_t i = 1; i < s->nfilters; i++)
			if (s->filters[i].used < s->filters[old].used)
				old = i;
		s->filter_bytes -= s->filters[old].bytes;
		sfilter_free(&s->filters[old]);
		s->filters[old] = s->filters[--s->nfilters];
	}
	if (!s->filters)
		s->filters = xcalloc(SEARCH_FILTERS, sizeof *s->filters);
	f.used = ++s->tick;
	s->filter_bytes += f.bytes;
	s->filters[s->nfilters++] = f;
	pthread_mutex_unlock(&s->mu);
}

/* ---- life cycle ------------------------------------------------------------ */

struct search *search_start(struct queryd *q, struct lh_error *err)
{
	struct search *s = xcalloc(1, sizeof *s);
	s->q = q;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (catalog_client_configured(queryd_catalog(q)) &&
	    storage_client_configured(queryd_storage(q)) && search_builder_start(s, err)) {
		search_stop(s);
		return NULL;
	}
	return s;
}

void search_stop(struct search *s)
{
	if (!s)
		return;
	search_builder_stop(s);
	for (size_t i = 0; i < s->nparts; i++)
		opart_free(s, s->parts[i]);
	free(s->parts);
	for (size_t i = 0; i < s->nfilters; i++)
		sfilter_free(&s->filters[i]);
	free(s->filters);
	search_feedback_cache_free(s);   /* search_feedback.c */
	for (size_t i = 0; i < s->nembedders; i++) {
		embedder_close(s->embedders[i].e);
		free(s->embedders[i].id);
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
