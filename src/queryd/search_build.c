/* search_build.c — queryd's index builder: one background thread that
 * builds the index parts of every version that needs them (SPEC 11
 * "Indexes follow versions"; docs/search.md; ADR 0150).
 *
 * DESIGN NOTES
 *  1. The work queue is the catalog's: GET /catalog/index-pending lists
 *     the (dataset, version) pairs of declared indexes that are not ready
 *     (catalogd decides what is pending, what a killed build left and how
 *     often a failure is retried; ADR 0140). The thread asks every
 *     SEARCH_BUILD_POLL_MS, or at once when woken (a search found rows
 *     without a part). Nothing here is remembered across restarts: a
 *     restarted queryd finds the same queue.
 *  2. One version: its manifest; per object, the part key
 *     (segment_key: fingerprint + object content). A part the store already
 *     holds (a version sharing the object, or a build killed after its PUT)
 *     is reused after a HEAD; else the object's rows are read through a
 *     worker, the part is built with its HNSW graph and PUT write-once (a
 *     412 means another builder stored it first: fine). Only when every
 *     part is stored does the catalog get the version's "ready" record with
 *     the part keys — before that nothing is visible, so a build killed at
 *     any point leaves only unreferenced objects (GC's) and is redone.
 *  3. The record carries the fingerprint the build started from; catalogd
 *     refuses it (409 index_changed) if the index was declared again or
 *     dropped meanwhile, and the work is dropped.
 *  4. A failure records "failed" with the reason in plain words; catalogd
 *     retries a failed version a few times (ADR 0140).
 *  5. While it works the builder renews the version's "building" record
 *     every LH_INDEX_BUILD_HEARTBEAT_MS from a small thread; a record older
 *     than LH_INDEX_BUILD_STALE_MS is a dead build (a killed queryd) and
 *     catalogd lists the version as pending again, so a restarted or other
 *     queryd takes it over within seconds.
 *  6. The ready record names every part, and catalogd checks, under the GC
 *     lock, that they exist (ADR 0140): a part that GC removed between its
 *     PUT and the record (a part left by a killed build, older than the
 *     grace period, reused just as GC ran) is 409 object_missing; the parts
 *     are ensured again (the HEAD now misses it, so it is rebuilt) and the
 *     record retried once.
 */
#include "queryd/queryd_int.h"
#include "queryd/search_int.h"

#include "search/embed.h"
#include "search/segment.h"

#include "common/catalog_client.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/storage_client.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEARCH_BUILD_POLL_MS 1000
#define SEARCH_BUILD_BATCH 8
#define SEARCH_BUILD_TIMEOUT_MS (60.0 * 60 * 1000)

/* What one object's parts add to the ready record. */
struct object_parts {
	struct search *s;
	const struct manifest *m;
	size_t object;
	const struct index_decl *decl;
	unsigned dim;
	const float *pc;
	const char *rid;
	uint32_t part_rows;      /* [search] part_rows */
	json_t *parts;           /* the record's "parts", appended to */
};

static void add_part(struct object_parts *op, const char *key, uint32_t chunk, uint64_t bytes)
{
	int64_t rows = op->m->objects[op->object].row_count - (int64_t)chunk * op->part_rows;
	if (rows > op->part_rows)
		rows = op->part_rows;
	json_array_append_new(op->parts, json_pack("{s:s, s:s, s:I, s:I}", "object_key",
						   op->m->objects[op->object].key, "part_key", key,
						   "rows", (json_int_t)rows, "bytes",
						   (json_int_t)bytes));
}

/* search_part_fn: PUT the part write-once (412: stored already, fine). */
static int put_part(void *ctx, uint32_t chunk, int fd, uint64_t len, struct lh_error *err)
{
	struct object_parts *op = ctx;
	struct peer_call call = { .request_id = op->rid };
	char *key = segment_key(op->decl->fingerprint, op->pc, op->dim,
				op->m->objects[op->object].content_sha256, op->part_rows, chunk);
	struct storage_fd_body src = { fd, 0, len };
	struct storage_put put = { .source = storage_fd_body_read, .source_ctx = &src, .length = len,
				   .write_once = 1, .expect_continue = 1 };
	int p = storage_client_put(queryd_storage(op->s->q), &call, key, &put, err);
	close(fd);
	if (p >= 0) {
		add_part(op, key, chunk, len);
		op->s->built_parts++;
	}
	free(key);
	return p < 0 ? -1 : 0;
}

/* Note 2: the parts of object i stored (or found stored), added to
 * op->parts. */
static int object_ensure(struct search *s, struct qrun *r, struct object_parts *op,
			 struct embedder *e, struct lh_error *err)
{
	const struct manifest *m = op->m;
	uint64_t rows = m->objects[op->object].row_count > 0
				? (uint64_t)m->objects[op->object].row_count : 0;
	uint32_t n = (uint32_t)((rows + op->part_rows - 1) / op->part_rows);
	size_t mark = json_array_size(op->parts);
	struct peer_call call = { .request_id = op->rid };
	int all = 1;
	for (uint32_t c = 0; c < n && all; c++) {
		char *key = segment_key(op->decl->fingerprint, op->pc, op->dim,
					m->objects[op->object].content_sha256, op->part_rows, c);
		uint64_t bytes = 0;
		int h = storage_client_head(queryd_storage(s->q), &call, key, &bytes, err);
		if (h == 0)
			add_part(op, key, c, bytes);
		free(key);
		if (h < 0)
			return -1;
		all = h == 0;
	}
	if (all)
		return 0;
	while (json_array_size(op->parts) > mark)   /* built again, all of them, in one read */
		json_array_remove(op->parts, json_array_size(op->parts) - 1);
	return search_object_parts(s, r, m, op->object, op->decl, e, op->pc, 1, op->rid, put_part,
				   op, err);
}

static int record(struct search *s, const char *name, int64_t version, json_t *body,
		  const char *rid, struct lh_error *err)
{
	struct peer_call call = { .request_id = rid };
	json_t *answer = NULL;
	int rc = catalog_client_index_record(queryd_catalog(s->q), &call, name, version, body,
					     &answer, err);
	json_decref(answer);
	json_decref(body);
	return rc;
}

/* Note 5: renews the version's "building" record until the build ends. */
struct heartbeat {
	struct search *s;
	const char *name, *fingerprint, *rid;
	int64_t version;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int done;
	pthread_t thread;
};

static void *heartbeat_main(void *arg)
{
	struct heartbeat *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!h->done) {
		struct timespec ts;
		clock_deadline(CLOCK_REALTIME, LH_INDEX_BUILD_HEARTBEAT_MS, &ts);
		pthread_cond_timedwait(&h->cond, &h->mu, &ts);
		if (h->done)
			break;
		pthread_mutex_unlock(&h->mu);
		struct lh_error err = { 0 };
		(void)record(h->s, h->name, h->version,
			     json_pack("{s:s, s:s}", "fingerprint", h->fingerprint, "state", "building"),
			     h->rid, &err);
		lh_error_clear(&err);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int heartbeat_start(struct heartbeat *h)
{
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, heartbeat_main, h) != 0) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->mu);
		return -1;
	}
	return 0;
}

static void heartbeat_stop(struct heartbeat *h)
{
	pthread_mutex_lock(&h->mu);
	h->done = 1;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
}

/* Note 2: build name@version under the declaration `fingerprint`. */
static void build_version(struct search *s, const char *name, int64_t version,
			  const char *fingerprint)
{
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct qrun *r = qrun_create(s->q, -1, clock_mono_ms() + SEARCH_BUILD_TIMEOUT_MS);
	struct manifest *m = NULL;
	json_t *index = NULL, *parts = json_array();
	struct index_decl decl = { 0 };
	float *pc = NULL;
	double t0 = clock_mono_ms();
	int64_t rows = 0;
	struct heartbeat hb;
	int beating = 0;
	char rid[48];
	snprintf(rid, sizeof rid, "index-build-%s@%" PRId64, name, version);
	call.request_id = rid;
	if (catalog_client_index_get(queryd_catalog(s->q), &call, name, &index, &err))
		goto fail;
	const char *fp = json_string_value(json_object_get(index, "fingerprint"));
	if (!fp || strcmp(fp, fingerprint))
		goto out;   /* declared again meanwhile: the queue will say */
	if (index_decl_from_json(index, &decl, &err))
		goto fail;
	struct embedder *e = search_embedder(s, decl.embedder, &err);
	if (!e || search_component(s, r, index, &decl, e, rid, &pc, &err))
		goto fail;
	if (qrun_manifest(r, name, version, rid, &m, &err) ||
	    search_decl_check(&decl, m, &err))          /* ADR 0173: a removed column */
		goto fail;
	if (record(s, name, version, json_pack("{s:s, s:s}", "fingerprint", fingerprint,
					       "state", "building"), rid, &err)) {
		if (err.status == 409 || err.status == 404)
			goto out;   /* note 3 */
		goto fail;
	}
	hb = (struct heartbeat){ .s = s, .name = name, .fingerprint = fingerprint, .rid = rid,
				 .version = version };
	beating = heartbeat_start(&hb) == 0;
	/* Note 6: a part GC took between its PUT and the record is made again,
	 * once. */
	for (int attempt = 0;; attempt++) {
		json_array_clear(parts);
		rows = 0;
		for (size_t i = 0; i < m->nobjects && !s->stopping; i++) {
			struct object_parts op = { s, m, i, &decl, embedder_dim(e), pc, rid,
						   queryd_config(s->q)->search.part_rows, parts };
			if (object_ensure(s, r, &op, e, &err))
				goto fail;
			rows += m->objects[i].row_count;
		}
		if (s->stopping)
			goto out;
		double ms = clock_mono_ms() - t0;
		if (record(s, name, version,
			   json_pack("{s:s, s:s, s:I, s:I, s:O}", "fingerprint", fingerprint, "state",
				     "ready", "rows_indexed", (json_int_t)rows, "build_ms",
				     (json_int_t)ms, "parts", parts), rid, &err) == 0)
			break;
		if (err.status == 409 && !strcmp(err.code, "object_missing") && attempt == 0) {
			lh_error_clear(&err);
			continue;
		}
		if (err.status == 409)
			goto out;   /* note 3 */
		goto fail;
	}
	s->built_versions++;
	log_event("info", "queryd", "search index of %s@%" PRId64 " ready: %" PRId64 " rows, %zu "
		  "parts, %.0f ms", name, version, rows, json_array_size(parts), clock_mono_ms() - t0);
	goto out;
fail:
	if (beating) {
		heartbeat_stop(&hb);
		beating = 0;
	}
	s->failed_versions++;
	log_event("warn", "queryd", "search index of %s@%" PRId64 " failed: %s", name, version,
		  err.msg);
	if (!s->stopping) {
		struct lh_error rerr = { 0 };
		(void)record(s, name, version, json_pack("{s:s, s:s, s:s}", "fingerprint", fingerprint,
							 "state", "failed", "reason", err.msg),
			     rid, &rerr);
		lh_error_clear(&rerr);
	}
out:
	if (beating)
		heartbeat_stop(&hb);
	lh_error_clear(&err);
	index_decl_free(&decl);
	free(pc);
	manifest_unref(m);
	json_decref(index);
	json_decref(parts);
	qrun_free(r);
}

/* Note 1. */
static void build_pending(struct search *s)
{
	struct lh_error err = { 0 };
	struct peer_call call = { .request_id = "index-builder" };
	json_t *pending = NULL;
	if (catalog_client_index_pending(queryd_catalog(s->q), &call, SEARCH_BUILD_BATCH, &pending,
					 &err)) {
		if (err.status != 404)   /* a catalogd without indexes: nothing to do */
			log_event("debug", "queryd", "index builder: %s", err.msg);
		lh_error_clear(&err);
		return;
	}
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(pending, "pending"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *fp = json_string_value(json_object_get(p, "fingerprint"));
		json_int_t version = json_integer_value(json_object_get(p, "version"));
		if (s->stopping)
			break;
		if (name && fp && version > 0)
			build_version(s, name, version, fp);
	}
	json_decref(pending);
}

static void *builder_main(void *arg)
{
	struct search *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		if (!s->wake) {
			struct timespec ts;
			clock_deadline(CLOCK_REALTIME, SEARCH_BUILD_POLL_MS, &ts);
			pthread_cond_timedwait(&s->cond, &s->mu, &ts);
		}
		s->wake = 0;
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->mu);
		build_pending(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int search_builder_start(struct search *s, struct lh_error *err)
{
	if (pthread_create(&s->builder, NULL, builder_main, s) != 0)
		return lh_fail(err, 500, "internal", "cannot start the index builder thread");
	s->builder_running = 1;
	return 0;
}

void search_builder_stop(struct search *s)
{
	if (!s->builder_running)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->builder, NULL);
	s->builder_running = 0;
}

void search_builder_wake(struct search *s)
{
	pthread_mutex_lock(&s->mu);
	s->wake = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}
