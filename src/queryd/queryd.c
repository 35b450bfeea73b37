/* queryd.c — the read-only SQL service (docs/api.md, ADR 0050): POST /query, the catalog
 * and storage lookups behind it, the conversation with the worker process
 * that runs DuckDB (pool.c, worker.c), and the service
 * life cycle (queryd_start / queryd_stop / queryd_main).
 *
 * DESIGN NOTES — one POST /query (query_end), in order:
 *  1. Parse {"sql","format","max_rows","timeout_ms"}; SQL over
 *     LH_SQL_MAX_BYTES -> 413; an unknown format -> 400 naming "format".
 *  2. sql_guard_check: one read-only statement, or 400.
 *  3. Resolve datasets (resolve_tables): GET /catalog/datasets on every
 *     query (so a new ingest is visible to the very next one) gives each
 *     dataset's latest version; manifests are immutable per version, so
 *     they come from queryd's manifest cache (struct qcatalog: decoded
 *     manifests, manifest.h), and only a version never seen costs a GET
 *     /catalog/manifest/<name>?version=N (404 -> 404 "unknown_version").
 *     Both calls are catalog_client.h's. sql_refs_scan lists the
 *     identifiers that may name a dataset; every object of those manifests
 *     is pinned in the cache (cache.c), fetched from storaged on a miss
 *     through storage_client_get, which checks it against its ETag
 *     (fetch_object).
 *  8. The catalog snapshot (note 3) — every dataset's name, version and
 *     schema — has a generation number that changes when the list does; a
 *     worker is sent the snapshot only when its generation differs, and
 *     keeps a view of every dataset (worker.c note 7), so SHOW TABLES and
 *     information_schema see them all without fetching their objects.
 *  9. Errors in the user's words (explain_error): an unknown table suggests
 *     the closest dataset names instead of DuckDB's system views; an
 *     unquoted name@N is told to quote it; a statement the guard refused as
 *     malformed gets DuckDB's own parser message (a parse-only request to a
 *     worker; nothing runs).
 *  4. DuckDB never runs in this process (ADR 0114): a worker process from
 *     the pool (pool.c, worker.c) gets the statement and one view per
 *     dataset reference, "name" for the latest version and "name@N" for a
 *     past one, over the cached files; it checks the statement with DuckDB's
 *     own parser and runs it. A worker that crashes, runs out of memory or
 *     overruns its deadline ends that query alone.
 *  5. The worker fetches the first chunk before answering, so SQL errors
 *     (400) and time-outs (504) are proper answers; then the rest streams
 *     as frames (query_read). parquet is written by the worker to a file in
 *     the sandbox's out/ directory, which queryd opens, unlinks and sends.
 *  6. Deadlines (cfg timeout_ms, or a smaller per-request timeout_ms): the
 *     worker interrupts DuckDB at the deadline itself; queryd waits for any
 *     answer only until the deadline plus LH_QUERY_KILL_GRACE_MS, then kills
 *     the worker and answers 504 (or cuts a stream already started). While
 *     it waits it polls the client's socket: a client that hangs up gets
 *     its worker killed at once, so nobody computes for a closed socket.
 *  7. Teardown (qrun_free) runs once per query, from done() or from the
 *     stream's free callback: a worker that finished its answer goes back
 *     to the pool, one still busy is killed; the cache files are unpinned.
 * 10. A catalog outage (ADR 0205, catalog_state.c): when GET
 *     /catalog/datasets gets no answer (catalog_state_is_outage), the query
 *     is answered from the last dataset list the catalog gave (its masks
 *     included) and the manifests already cached, if that list was asked
 *     for at most [queryd] catalog_stale_seconds ago (a masked caller, r->mask:
 *     catalog_stale_masked_seconds, default 0); the answer says how old it is
 *     (X-Lakehouse-Catalog-Age, whole seconds). Otherwise, or when a
 *     version the query needs was never read, 503 catalog_unavailable. A
 *     list becomes the known one only once its snapshot (note 8) was built,
 *     so every manifest an answer from it needs is cached — or read for a
 *     search's masks (qrun_dataset_masked), so the masks are never older
 *     than what a search answered (a manifest missing then: 503). Search
 *     does the same with the index declarations and manifests it asked for
 *     (qrun_manifest, qrun_index_get). After a failure, the catalog is left
 *     alone for LH_QUERYD_CATALOG_RETRY_MS while the known list can answer.
 */
#include "queryd/queryd.h"
#include "queryd/catalog_state.h"
#include "queryd/queryd_int.h"
#include "queryd/search_int.h"
#include "queryd/search_sql.h"

#include "common/auth.h"
#include "common/buf.h"
#include "common/catalog_client.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/random.h"
#include "common/ready.h"
#include "common/service.h"
#include "common/storage_client.h"
#include "common/tokens.h"
#include "common/upstream.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUERYD_MAX_REFS 1024

struct qrun;

/* The manifest cache of note 3: "<name>@<version>" -> a decoded manifest
 * (manifest.h, one reference held), chained in a fixed number of buckets. */
#define QUERYD_MANIFEST_BUCKETS 1024
struct mentry {
	char *key;
	struct manifest *m;
	struct mentry *next;
};

/* Notes 3 and 8. */
struct qcatalog {
	pthread_mutex_t mu;
	struct mentry *buckets[QUERYD_MANIFEST_BUCKETS];  /* the manifest cache */
	size_t nmanifests;
	char *sig;                     /* "<name>@<version>\n..." of `datasets` */
	uint64_t gen;
	json_t *datasets;              /* [{"name","version","schema"}] */
};

/* Manifests kept (past versions included) before the cache starts over. */
#define QUERYD_MANIFESTS_MAX 4096

struct queryd {
	struct lh_config cfg;
	struct http_server *srv;
	struct ready *ready;        /* GET /ready: its peers (ADR 0200) */
	struct upstream_pool *catalogd_pool, *storaged_pool;  /* lists (ADR 0204), or NULL */
	struct qpool *pool;
	struct qcache *cache;
	char *out_dir;
	struct qcatalog cat;
	struct catalog_client *catalog;  /* not configured without [queryd] catalogd_url */
	struct storage_client *storage;
	struct search *search;           /* search_int.h */
	struct catalog_state *cstate;    /* note 10: what the catalog last said */
	atomic_uint_fast64_t queries, timeouts, disconnects, manifest_fetches;
	atomic_uint_fast64_t stale_answers, catalog_refused;   /* note 10 */
};

struct qrun {
	struct queryd *s;
	struct qworker *w;             /* lent by the pool, or NULL */
	int busy;                      /* w owes us the rest of an answer */
	int client_fd;                 /* to notice a hang-up (never read) */
	json_t *views;                 /* past versions: [{"name","paths","schema"}] */
	json_t *latest;                /* datasets read: [{"name","version","paths","schema"}] */
	json_t *catalog;               /* the snapshot this query saw (note 8), or NULL */
	json_t *searches;              /* search(...) results for the worker, or NULL */
	uint64_t gen;
	char **keys;                   /* pinned cache keys */
	size_t nkeys;
	double start_ms;
	double deadline_ms;
	int hits, fetches;
	char *data;                    /* a data frame not yet handed to the client */
	size_t data_len, data_off;
	int mask;                      /* ADR 0211: the caller's role does not see
					* personal columns */
	char *masked;                  /* qrun_set_masked: the columns to mask in
					* the versions search pins (JSON), or NULL */
	double catalog_age_ms;         /* note 10: -1 = the catalog answered; else
					* the age of the known state answered from */
};

/* Note 10: r was answered from a known catalog state `age_ms` old. */
static void note_age(struct qrun *r, double age_ms)
{
	if (age_ms < 0)
		age_ms = 0;
	if (age_ms > r->catalog_age_ms)
		r->catalog_age_ms = age_ms;
}

/* Note 10: the catalog failed with err (not an outage, catalog_state.c note
 * 7: 0, an answer); an outage is recorded, logged once, and 1 returned. */
static int catalog_down(struct queryd *s, const struct lh_error *err)
{
	int f = catalog_state_failed(s->cstate, err, clock_mono_ms());
	if (f == 2)
		log_event("warn", "queryd", "the catalog is not reachable (%s); queries are answered "
			  "from what it said in the last %u s ([queryd] catalog_stale_seconds)",
			  err->msg, s->cfg.queryd.catalog_stale_seconds);
	return f != 0;
}

/* ---- the worker conversation (note 4) ---------------------------------- */

/* Give the worker back, or kill it if it still owes an answer. */
static void worker_done(struct qrun *r)
{
	if (!r->w)
		return;
	if (r->busy)
		qpool_discard(r->s->pool, r->w);
	else
		qpool_release(r->s->pool, r->w);
	r->w = NULL;
	r->busy = 0;
}

/* The next frame of the worker's answer, waiting until the deadline plus the
 * grace period (note 6). Returns 0 with *type and *payload (the caller frees),
 * or -1 with err; on -1 the worker is gone (killed or dead). */
static int worker_frame(struct qrun *r, char *type, char **payload, size_t *n,
			struct lh_error *err)
{
	struct queryd *s = r->s;
	int fd = qworker_fd(r->w);
	int wr = wire_wait(fd, r->client_fd, r->deadline_ms + LH_QUERY_KILL_GRACE_MS);
	if (wr == WIRE_WAIT_READY && wire_recv(fd, type, payload, n) == 0)
		return 0;
	if (wr == WIRE_WAIT_READY) {
		qpool_discard_dead(s->pool, r->w, err);
	} else {
		qpool_discard(s->pool, r->w);
		if (wr == WIRE_WAIT_TIMEOUT) {
			atomic_fetch_add(&s->timeouts, 1);
			lh_fail(err, 504, "query_timeout",
				"the query ran past its time limit and was stopped");
		} else if (wr == WIRE_WAIT_CLIENT_GONE) {
			atomic_fetch_add(&s->disconnects, 1);
			lh_fail(err, 499, "client_closed", "the client went away; the query was stopped");
		} else {
			lh_fail(err, 500, "internal", "lost the query worker");
		}
	}
	r->w = NULL;
	r->busy = 0;
	return -1;
}

void qrun_free(struct qrun *r)
{
	if (!r)
		return;
	worker_done(r);
	json_decref(r->views);
	json_decref(r->latest);
	free(r->masked);
	json_decref(r->catalog);
	json_decref(r->searches);
	for (size_t i = 0; i < r->nkeys; i++) {
		qcache_release(r->s->cache, r->keys[i]);
		free(r->keys[i]);
	}
	free(r->keys);
	free(r->data);
	free(r);
}

/* ---- upstream ------------------------------------------------------------- */

/* The manifest cache (note 3); callers hold s->cat.mu. */
static size_t mkey_hash(const char *key)
{
	size_t h = 5381;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = h * 33 + *p;
	return h % QUERYD_MANIFEST_BUCKETS;
}

static struct manifest *mcache_get(struct qcatalog *cat, const char *key)
{
	for (struct mentry *e = cat->buckets[mkey_hash(key)]; e; e = e->next)
		if (!strcmp(e->key, key))
			return manifest_ref(e->m);
	return NULL;
}

static void mcache_clear(struct qcatalog *cat)
{
	for (size_t i = 0; i < QUERYD_MANIFEST_BUCKETS; i++) {
		struct mentry *e = cat->buckets[i];
		while (e) {
			struct mentry *next = e->next;
			manifest_unref(e->m);
			free(e->key);
			free(e);
			e = next;
		}
		cat->buckets[i] = NULL;
	}
	cat->nmanifests = 0;
}

/* Keep m under key (a reference of its own); a key already there stays. */
static void mcache_put(struct qcatalog *cat, const char *key, struct manifest *m)
{
	size_t b = mkey_hash(key);
	for (struct mentry *e = cat->buckets[b]; e; e = e->next)
		if (!strcmp(e->key, key))
			return;
	if (cat->nmanifests >= QUERYD_MANIFESTS_MAX) {
		mcache_clear(cat);
		b = mkey_hash(key);
	}
	struct mentry *e = xcalloc(1, sizeof *e);
	e->key = xstrdup(key);
	e->m = manifest_ref(m);
	e->next = cat->buckets[b];
	cat->buckets[b] = e;
	cat->nmanifests++;
}

struct fetch_ctx {
	struct queryd *s;
	const char *rid;
	int fd;
	int write_errno;              /* the cache file could not be written */
};

static int fetch_sink(void *ctx, const char *data, size_t n)
{
	struct fetch_ctx *f = ctx;
	while (n > 0) {
		ssize_t w = write(f->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->write_errno = w < 0 ? errno : EIO;
			return -1;
		}
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* cache_fetch_fn: the object from storaged into fd, streamed and checked
 * against its ETag by the storage client. */
static int fetch_object(void *ctx, const char *key, int fd, struct lh_error *err)
{
	struct fetch_ctx *f = ctx;
	struct peer_call call = { .request_id = f->rid };
	f->fd = fd;
	f->write_errno = 0;
	if (storage_client_get(f->s->storage, &call, key, fetch_sink, f, err) == 0)
		return 0;
	if (f->write_errno) {
		lh_error_clear(err);
		lh_fail(err, 500, "internal", "cannot write to the query cache");
		lh_error_detail(err, "object %s: %s", key, strerror(f->write_errno));
	}
	return -1;
}

int queryd_cache_acquire(struct queryd *s, const char *key, const char *rid, char *path,
			 size_t size, int *fetched, struct lh_error *err)
{
	struct fetch_ctx fc = { .s = s, .rid = rid };
	return qcache_acquire(s->cache, key, fetch_object, &fc, path, size, fetched, err);
}

/* ---- table resolution ----------------------------------------------------- */

/* The catalog's dataset list of one query (catalog_client_datasets). */
struct dlist {
	struct manifest_summary *d;
	size_t n;
};

/* The catalog's dataset that `ref` names, into *out (NULL: none, so `ref`
 * is not a dataset). SQL identifiers ignore case, and dataset names are
 * unique regardless of it (ADR 0112), so: the dataset named exactly `ref`
 * if there is one, else the only one whose name equals `ref` but for case.
 * Two or more of those (a pair made before that rule) and none exact: -1
 * with 409 name_conflict, never a guess. */
static int match_dataset(const struct dlist *list, const char *ref,
			 const struct manifest_summary **out, struct lh_error *err)
{
	const struct manifest_summary *found = NULL, *other = NULL;
	*out = NULL;
	for (size_t i = 0; i < list->n; i++) {
		const struct manifest_summary *d = &list->d[i];
		if (strcasecmp(d->name, ref))
			continue;
		if (!strcmp(d->name, ref)) {
			*out = d;
			return 0;
		}
		if (!found)
			found = d;
		else if (!other)
			other = d;
	}
	if (other) {
		lh_fail(err, 409, "name_conflict",
			"\"%s\" is ambiguous: datasets \"%s\" and \"%s\" have names that differ "
			"only in letter case; write the exact name in double quotes, e.g. "
			"SELECT * FROM \"%s\"", ref, found->name, other->name, found->name);
		json_t *names = json_array();
		for (size_t i = 0; i < list->n; i++)
			if (!strcasecmp(list->d[i].name, ref))
				json_array_append_new(names, json_string(list->d[i].name));
		lh_error_set(err, "candidates", names);
		return -1;
	}
	*out = found;
	return 0;
}

/* ADR 0173 (engine.c note 11): an evolved version's objects grouped in
 * order by the schema they were written with, [{"count","schema"}]; NULL
 * when every object has the version's schema (the plain view). */
static json_t *object_runs(const struct manifest *m)
{
	size_t i;
	for (i = 0; i < m->nobjects; i++)
		if (m->objects[i].fingerprint[0] && strcmp(m->objects[i].fingerprint, m->fingerprint))
			break;
	if (i == m->nobjects)
		return NULL;
	json_t *vs = manifest_schema_json(m), *runs = json_array();
	const json_t *cur = NULL;
	size_t count = 0;
	for (i = 0; i < m->nobjects; i++) {
		const json_t *os = manifest_object_schema(m, i, vs);
		if (!os)
			os = vs;   /* a schema the catalog did not send: as the version's */
		if (count && os == cur) {
			count++;
			continue;
		}
		if (count)
			json_array_append_new(runs, json_pack("{s:I, s:O}", "count", (json_int_t)count,
							      "schema", cur));
		cur = os;
		count = 1;
	}
	json_array_append_new(runs, json_pack("{s:I, s:O}", "count", (json_int_t)count, "schema",
					      cur));
	json_decref(vs);
	return runs;
}

/* ADR 0211: the view spec's schema marks the columns named in `masked` (a
 * JSON array text; NULL or "" = none) "masked": true, which the worker's
 * views read as NULL. */
static void mark_masked(json_t *schema, const char *masked)
{
	json_t *names = masked && masked[0] ? json_loads(masked, 0, NULL) : NULL;
	size_t i, k;
	json_t *c, *n;
	json_array_foreach(schema, i, c) {
		const char *col = json_string_value(json_object_get(c, "name"));
		json_array_foreach(names, k, n)
			if (col && json_is_string(n) && !strcmp(json_string_value(n), col))
				json_object_set_new(c, "masked", json_true());
	}
	json_decref(names);
}

/* Pin every object of `m` and add the view to `into` (with "version" when
 * version > 0; with "runs" for an evolved version, ADR 0173); the columns
 * in `masked` (JSON text, NULL = none) are masked in it (ADR 0211). */
static int pin_manifest(struct qrun *r, const struct manifest *m, const char *view,
			int64_t version, json_t *into, const char *masked, const char *rid,
			struct lh_error *err)
{
	struct queryd *s = r->s;
	size_t n = m->nobjects;
	json_t *jpaths = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *key = m->objects[i].key;
		char path[LH_CFG_STR + QCACHE_NAME_LEN + 2];
		struct fetch_ctx fc = { .s = s, .rid = rid };
		int fetched = 0;
		if (qcache_acquire(s->cache, key, fetch_object, &fc, path, sizeof path, &fetched,
				   err)) {
			json_decref(jpaths);
			return -1;
		}
		r->keys = xrealloc(r->keys, (r->nkeys + 1) * sizeof *r->keys);
		r->keys[r->nkeys++] = xstrdup(key);
		r->fetches += fetched;
		r->hits += !fetched;
		json_array_append_new(jpaths, json_string(path));
	}
	json_t *schema = manifest_schema_json(m);
	mark_masked(schema, masked);
	json_t *v = json_pack("{s:s, s:o, s:o}", "name", view, "paths", jpaths, "schema", schema);
	if (version > 0)
		json_object_set_new(v, "version", json_integer((json_int_t)version));
	json_t *runs = object_runs(m);
	if (runs)
		json_object_set_new(v, "runs", runs);
	json_array_append_new(into, v);
	return 0;
}

/* The manifest cache's key of name@version made at `created_at` (the
 * dataset's creation): a dataset dropped, or renamed, and made again under
 * its name starts at version 1 again, and must not find the old one's
 * manifests (ADR 0175). NULL when the creation is not known: not cached. */
static char *mkey(const char *name, int64_t version, const char *created_at)
{
	if (!created_at || !created_at[0])
		return NULL;
	return xasprintf("%s@%" PRId64 "@%s", name, version, created_at);
}

/* The manifest of name@version (note 3): cached, or fetched and cached.
 * `created_at` is the dataset's creation as the dataset list says it (NULL:
 * unknown, so the manifest is fetched and not cached). 0 with *out (a
 * reference to drop; NULL when the catalog says 404). */
static int manifest_get(struct qrun *r, const char *name, int64_t version, const char *created_at,
			const char *rid, struct manifest **out, struct lh_error *err)
{
	struct queryd *s = r->s;
	char *key = mkey(name, version, created_at);
	int rc = 0;
	*out = NULL;
	if (key) {
		pthread_mutex_lock(&s->cat.mu);
		*out = mcache_get(&s->cat, key);
		pthread_mutex_unlock(&s->cat.mu);
	}
	if (!*out) {
		struct peer_call call = { .request_id = rid };
		rc = catalog_client_manifest(s->catalog, &call, name, version, out, err);
		atomic_fetch_add(&s->manifest_fetches, 1);
		if (rc == 0 && key) {
			pthread_mutex_lock(&s->cat.mu);
			mcache_put(&s->cat, key, *out);
			pthread_mutex_unlock(&s->cat.mu);
		} else if (err->status == 404) {
			lh_error_clear(err);   /* dropped, or no such version: the caller says */
			rc = 0;
		} else if (r->catalog_age_ms >= 0 && catalog_down(s, err)) {
			/* note 10: answering from a known state, which lacks it */
			catalog_state_unavailable(s->cstate, r->mask, clock_mono_ms(), err);
		}
	}
	free(key);
	return rc;
}

/* Another dataset whose name equals `name` but for letter case (a pair
 * made before ADR 0112)? DuckDB's view names ignore case, so such a pair
 * cannot both have persistent views: they get a query's TEMP views. */
static int has_case_twin(const struct dlist *list, const char *name)
{
	for (size_t i = 0; i < list->n; i++) {
		const char *other = list->d[i].name;
		if (strcmp(other, name) && !strcasecmp(other, name))
			return 1;
	}
	return 0;
}

/* Note 8: the snapshot for the dataset list `list` into r->catalog/r->gen. */
static int catalog_snapshot(struct qrun *r, const struct dlist *list, const char *rid,
			    struct lh_error *err)
{
	struct queryd *s = r->s;
	struct lh_buf sig;
	json_t *datasets = NULL;
	int rc = -1;
	lh_buf_init(&sig, 64u << 20);
	for (size_t i = 0; i < list->n; i++) {
		char v[32];
		snprintf(v, sizeof v, "@%" PRId64 "@", list->d[i].version);
		lh_buf_append(&sig, list->d[i].name, strlen(list->d[i].name));
		lh_buf_append(&sig, v, strlen(v));
		/* the creation too: made again under its name at the same version */
		lh_buf_append(&sig, list->d[i].created_at, strlen(list->d[i].created_at));
		lh_buf_append(&sig, "\n", 1);
	}
	lh_buf_append(&sig, "", 1);
	pthread_mutex_lock(&s->cat.mu);
	if (s->cat.sig && !strcmp(s->cat.sig, sig.data)) {
		r->gen = s->cat.gen;
		r->catalog = json_incref(s->cat.datasets);
		pthread_mutex_unlock(&s->cat.mu);
		rc = 0;
		goto out;
	}
	pthread_mutex_unlock(&s->cat.mu);
	datasets = json_array();
	for (size_t i = 0; i < list->n; i++) {
		const char *name = list->d[i].name;
		int64_t version = list->d[i].version;
		struct manifest *m = NULL;
		if (version < 1 || has_case_twin(list, name))
			continue;
		if (manifest_get(r, name, version, list->d[i].created_at, rid, &m, err))
			goto out;
		if (!m)
			continue;   /* dropped meanwhile */
		json_array_append_new(datasets, json_pack("{s:s, s:I, s:o}", "name", name, "version",
							  (json_int_t)version, "schema",
							  manifest_schema_json(m)));
		manifest_unref(m);
	}
	pthread_mutex_lock(&s->cat.mu);
	if (!s->cat.sig || strcmp(s->cat.sig, sig.data)) {
		free(s->cat.sig);
		s->cat.sig = xstrdup(sig.data);
		json_decref(s->cat.datasets);
		s->cat.datasets = json_incref(datasets);
		s->cat.gen++;
	}
	r->gen = s->cat.gen;
	r->catalog = json_incref(s->cat.datasets);
	pthread_mutex_unlock(&s->cat.mu);
	rc = 0;
out:
	json_decref(datasets);
	lh_buf_free(&sig);
	return rc;
}

/* ADR 0175: a statement names `name` (version 0 = the latest), which no
 * dataset holds. When catalogd answers that name 404 "renamed", err becomes
 * that 404 "renamed" (fields renamed_to, renamed_at) in the query's words,
 * followed by what the database said (`said`, its first line; NULL: none).
 * 1 when it did; 0 (err untouched) otherwise. */
static int query_renamed(struct queryd *s, const char *name, int64_t version, const char *rid,
			 const char *said, struct lh_error *err)
{
	struct manifest *m = NULL;
	struct lh_error e = { 0 };
	struct peer_call call = { .request_id = rid };
	int done = 0;
	/* note 10: not while the catalog is known to be down */
	if (catalog_client_configured(s->catalog) && catalog_state_ask(s->cstate, clock_mono_ms()) &&
	    catalog_client_manifest(s->catalog, &call, name, 0, &m, &e) != 0 &&
	    e.status == 404 && !strcmp(e.code, "renamed")) {
		const char *to = json_string_value(json_object_get(e.extra, "renamed_to"));
		const char *at = json_string_value(json_object_get(e.extra, "renamed_at"));
		char ref[LH_DATASET_NAME_MAX + 32], first[200] = "";
		if (!to)
			to = "?";
		if (version > 0)
			snprintf(ref, sizeof ref, "\"%s@%" PRId64 "\"", to, version);
		else
			snprintf(ref, sizeof ref, "%s", to);
		if (said)
			snprintf(first, sizeof first, " (the database said: %.*s)",
				 (int)strcspn(said, "\n"), said);
		lh_error_clear(err);
		lh_fail(err, 404, "renamed", "dataset \"%s\" was renamed to \"%s\"%s%.10s: query %s "
			"instead%s", name, to, at ? " on " : "", at ? at : "", ref, first);
		lh_error_set(err, "renamed_to", json_string(to));
		if (at)
			lh_error_set(err, "renamed_at", json_string(at));
		done = 1;
	}
	manifest_unref(m);
	lh_error_clear(&e);
	return done;
}

/* Note 10: every dataset's latest version into *list: the catalog's (then
 * *asked_ms is when it was asked), or during an outage the last known list
 * (*asked_ms 0; r's age noted). 0, or -1 with err. */
static int query_datasets(struct qrun *r, const char *rid, struct dlist *list, double *asked_ms,
			  struct lh_error *err)
{
	struct queryd *s = r->s;
	double now = clock_mono_ms(), age = 0;
	*asked_ms = 0;
	if (catalog_state_ask(s->cstate, now)) {
		struct peer_call call = { .request_id = rid };
		if (catalog_client_datasets(s->catalog, &call, &list->d, &list->n, err) == 0) {
			*asked_ms = now;
			return 0;
		}
		if (!catalog_down(s, err))
			return -1;
	}
	if (catalog_state_list(s->cstate, r->mask, clock_mono_ms(), &list->d, &list->n, &age, err))
		return -1;
	note_age(r, age);
	return 0;
}

static int resolve_tables(struct qrun *r, const char *sql, size_t len, const char *rid,
			  struct lh_error *err)
{
	struct queryd *s = r->s;
	struct sql_ref *refs = xcalloc(QUERYD_MAX_REFS, sizeof *refs);
	struct dlist list = { NULL, 0 };
	double asked_ms = 0;
	int rc = -1;
	size_t nrefs = sql_refs_scan(sql, len, refs, QUERYD_MAX_REFS);
	if (nrefs == QUERYD_MAX_REFS) {
		/* Fail closed (ADR 0211): a name past the limit would never be
		 * resolved, pinned or masked. */
		lh_fail(err, 400, "bad_query", "the statement names more than %d different "
			"identifiers; split it into smaller queries", QUERYD_MAX_REFS - 1);
		goto out;
	}
	/* Without a catalog (a bare `lakehouse queryd`) there are no datasets. */
	if (!catalog_client_configured(s->catalog)) {
		rc = 0;
		goto out;
	}
	if (query_datasets(r, rid, &list, &asked_ms, err))
		goto out;
	if (catalog_snapshot(r, &list, rid, err))
		goto out;
	for (size_t i = 0; i < nrefs; i++) {
		const struct manifest_summary *d;
		if (match_dataset(&list, refs[i].name, &d, err))
			goto out;
		if (!d) {
			if (refs[i].version != 0) {
				if (!query_renamed(s, refs[i].name, refs[i].version, rid, NULL, err))
					lh_fail(err, 404, "unknown_dataset", "there is no dataset named "
						"\"%s\"", refs[i].name);
				goto out;
			}
			continue;
		}
		const char *name = d->name;
		if (refs[i].version < 0) {
			lh_fail(err, 404, "unknown_version",
				"dataset \"%s\" has no such version: versions are numbered from 1, "
				"e.g. \"%s@1\"", name, name);
			goto out;
		}
		int latest = refs[i].version == 0;
		int64_t version = latest ? d->version : refs[i].version;
		struct manifest *m = NULL;
		if (manifest_get(r, name, version, d->created_at, rid, &m, err))
			goto out;
		if (!m) {
			if (latest)
				lh_fail(err, 404, "unknown_dataset", "dataset \"%s\" was just deleted", name);
			else
				lh_fail(err, 404, "unknown_version", "dataset \"%s\" has no version %" PRId64,
					name, version);
			goto out;
		}
		char *view = latest ? xstrdup(name) : xasprintf("%s@%" PRId64, name, version);
		int persistent = latest && !has_case_twin(&list, name);
		int prc = pin_manifest(r, m, view, persistent ? version : 0,
				       persistent ? r->latest : r->views, r->mask ? d->masked : NULL,
				       rid, err);
		manifest_unref(m);
		free(view);
		if (prc)
			goto out;
	}
	rc = 0;
out:
	/* note 10: a list is known once its snapshot was built (its manifests
	 * are cached); the list is handed over, not copied */
	if (asked_ms > 0 && r->catalog) {
		if (catalog_state_put_list(s->cstate, list.d, list.n, asked_ms))
			log_event("info", "queryd", "the catalog answers again; queries read it again");
		list.d = NULL;
	}
	free(list.d);
	free(refs);
	return rc;
}

/* ---- errors in the user's words (note 9) ---------------------------------- */

/* Levenshtein distance of two short strings, case-insensitive; a large
 * number when either is longer than a dataset name can be. */
static size_t name_distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b), row[LH_DATASET_NAME_MAX + 2];
	if (na > LH_DATASET_NAME_MAX || nb > LH_DATASET_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[nb];
}

/* "Table with name X does not exist!" -> the closest datasets by name. */
static void explain_unknown_table(const struct qrun *r, struct lh_error *err)
{
	const char *p = strstr(err->msg, "Table with name "), *q;
	if (!p || !(q = strstr(p, " does not exist")))
		return;
	char missing[LH_DATASET_NAME_MAX + 1];
	size_t n = (size_t)(q - p) - 16;
	if (n == 0 || n > LH_DATASET_NAME_MAX)
		return;
	memcpy(missing, p + 16, n);
	missing[n] = '\0';
	if (query_renamed(r->s, missing, 0, NULL, err->msg, err))   /* ADR 0175 */
		return;
	/* the best distance, then every name at it (at most 3) */
	size_t best = SIZE_MAX, i;
	json_t *d;
	json_array_foreach(r->catalog, i, d) {
		size_t dist = name_distance(missing, json_string_value(json_object_get(d, "name")));
		if (dist < best)
			best = dist;
	}
	struct lh_buf hint;
	lh_buf_init(&hint, 1024);
	if (best <= (n < 6 ? 2 : n / 3)) {
		int k = 0;
		json_array_foreach(r->catalog, i, d) {
			const char *name = json_string_value(json_object_get(d, "name"));
			if (name_distance(missing, name) != best || k == 3)
				continue;
			const char *sep = k++ ? ", " : "Did you mean the dataset ";
			lh_buf_append(&hint, sep, strlen(sep));
			lh_buf_append(&hint, "\"", 1);
			lh_buf_append(&hint, name, strlen(name));
			lh_buf_append(&hint, "\"", 1);
		}
		lh_buf_append(&hint, "?", 1);
	} else if (json_array_size(r->catalog) == 0) {
		const char *t = "There are no datasets yet: ingest one first.";
		lh_buf_append(&hint, t, strlen(t));
	} else {
		const char *t = "SHOW TABLES lists the datasets.";
		lh_buf_append(&hint, t, strlen(t));
	}
	lh_buf_append(&hint, "", 1);
	/* DuckDB's "Did you mean <system view>?" line is replaced; the rest
	 * (the LINE and caret) kept. */
	const char *nl = strchr(p, '\n');
	const char *rest = strstr(p, "\n\nLINE");
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "%.*s\n%s%s", (int)((nl ? nl : p + strlen(p)) - err->msg),
		 err->msg, hint.data, rest ? rest : "");
	snprintf(err->msg, sizeof err->msg, "%s", msg);
	lh_buf_free(&hint);
}

static void explain_error(const struct qrun *r, const char *sql, size_t len, struct lh_error *err)
{
	if (strcmp(err->code, "sql_error"))
		return;
	if (strstr(err->msg, "Table with name ")) {
		explain_unknown_table(r, err);
		return;
	}
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;
	if (!strncmp(err->msg, "Parser Error", 12) &&
	    sql_find_unquoted_version(sql, len, name, &version)) {
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "to read version %" PRId64 " of \"%s\", quote it as one name: "
			 "\"%s@%" PRId64 "\" (unquoted, @ is an operator). %.300s", version, name, name,
			 version, err->msg);
		snprintf(err->msg, sizeof err->msg, "%s", msg);
	}
}

/* ---- POST /query ---------------------------------------------------------- */

static const struct {
	const char *name;
	enum engine_format fmt;
	const char *content_type;
} formats[] = {
	{ "json", ENGINE_JSON, "application/json" },
	{ "csv", ENGINE_CSV, "text/csv; charset=utf-8" },
	{ "ndjson", ENGINE_NDJSON, "application/x-ndjson" },
	{ "parquet", ENGINE_PARQUET, "application/vnd.apache.parquet" },
};

/* The stream's reader: hand out the worker's data frames (note 5). */
static ssize_t query_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct qrun *r = ctx;
	struct lh_error err = { 0 };
	while (r->data_off == r->data_len) {
		char type, *payload = NULL;
		size_t n;
		free(r->data);
		r->data = NULL;
		r->data_len = r->data_off = 0;
		if (!r->w)
			return -1;
		if (worker_frame(r, &type, &payload, &n, &err)) {
			log_event("warn", "queryd", "a query stream was cut: %s", err.msg);
			lh_error_clear(&err);
			return -1;
		}
		if (type == WIRE_DATA) {
			r->data = payload;
			r->data_len = n;
			continue;
		}
		free(payload);
		/* WIRE_CUT: a failure mid-stream; the worker retires (worker.c
		 * note 3), so it stays "busy" and worker_done discards it */
		r->busy = type != WIRE_END;
		worker_done(r);
		return type == WIRE_END ? 0 : -1;
	}
	size_t n = r->data_len - r->data_off;
	if (n > max)
		n = max;
	memcpy(buf, r->data + r->data_off, n);
	r->data_off += n;
	return (ssize_t)n;
}

static void query_stream_free(void *ctx)
{
	qrun_free(ctx);
}

void queryd_catalog_answer(struct queryd *s, struct http_request *req, double age_ms,
			   const struct lh_error *err)
{
	if (err && err->status == 503 && !strcmp(err->code, "catalog_unavailable"))
		atomic_fetch_add(&s->catalog_refused, 1);
	if (age_ms < 0)
		return;
	char v[32];
	snprintf(v, sizeof v, "%" PRId64, (int64_t)(age_ms / 1000.0));
	http_response_header(req, "X-Lakehouse-Catalog-Age", v);
	if (!err || !err->status)
		atomic_fetch_add(&s->stale_answers, 1);
}

/* The answer's X-Cache-* headers, and note 10's (err: a failed answer's). */
static void set_cache_headers(struct http_request *req, const struct qrun *r,
			      const struct lh_error *err)
{
	char v[32];
	queryd_catalog_answer(r->s, req, r->catalog_age_ms, err);
	snprintf(v, sizeof v, "%d", r->hits);
	http_response_header(req, "X-Cache-Hits", v);
	snprintf(v, sizeof v, "%d", r->fetches);
	http_response_header(req, "X-Cache-Fetches", v);
}

static char *out_path_new(const struct queryd *s)
{
	char name[2 * 8 + 1];
	random_name(name, 8);
	return xasprintf("%s/%s.parquet", s->out_dir, name);
}

/* Send the worker the query (worker.c note 3) and read the first frame of
 * its answer: 0 with *type (WIRE_START or WIRE_END), or -1 with err. */
/* Send r->w the request (worker.c note 3); the catalog snapshot only when
 * the worker has not seen this generation (note 8). */
static int request_send(struct qrun *r, json_t *q)
{
	if (r->catalog && qworker_gen(r->w) != r->gen)
		json_object_set_new(q, "catalog", json_pack("{s:I, s:O}", "gen", (json_int_t)r->gen,
							    "datasets", r->catalog));
	else
		json_object_del(q, "catalog");
	return wire_send_json(qworker_fd(r->w), WIRE_REQUEST, q);
}

static int worker_run(struct qrun *r, const char *sql, size_t body_len, const char *fmt,
		      int64_t max_rows, const char *out_path, int parse_only, char *type,
		      struct lh_error *err)
{
	char *payload = NULL;
	size_t n;
	json_t *q = json_pack("{s:s, s:I, s:s, s:I, s:f, s:f, s:O, s:O, s:b, s:b}", "sql", sql,
			      "body_len", (json_int_t)body_len, "format", fmt, "max_rows",
			      (json_int_t)max_rows, "start_ms", r->start_ms, "deadline_ms",
			      r->deadline_ms, "views", r->views, "latest", r->latest,
			      "parse_only", parse_only, "mask", r->mask);
	if (out_path)
		json_object_set_new(q, "out_path", json_string(out_path));
	if (r->searches)
		json_object_set(q, "searches", r->searches);
	int sent = request_send(r, q);
	if (sent == -1) {
		/* The worker died between its check and our request (pool.c
		 * note 3): not this query's fault; once more on a fresh one. */
		struct lh_error dead = { 0 };
		qpool_discard_dead(r->s->pool, r->w, &dead);
		lh_error_clear(&dead);
		r->w = qpool_acquire(r->s->pool, r->deadline_ms, r->client_fd, err);
		sent = r->w ? request_send(r, q) : -3;
	}
	json_decref(q);
	if (sent == -3)
		return -1;
	if (sent == -2)
		return lh_fail(err, 413, "too_large",
			       "this query reads too many objects or columns to hand to the query "
			       "engine (over %u MiB of request)", WIRE_MAX_PAYLOAD >> 20);
	r->busy = 1;
	if (sent != 0) {
		qpool_discard_dead(r->s->pool, r->w, err);
		r->w = NULL;
		r->busy = 0;
		return -1;
	}
	if (worker_frame(r, type, &payload, &n, err))
		return -1;
	if (*type == WIRE_ERROR) {
		json_t *e = json_loadb(payload, n, 0, NULL);
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "error"));
		int status = (int)json_integer_value(json_object_get(e, "status"));
		lh_fail(err, status >= 400 && status < 600 ? status : 500, code ? code : "internal",
			"%s", msg ? msg : "the query failed");
		if (status == 504)
			atomic_fetch_add(&r->s->timeouts, 1);
		/* worker.c note 6: a worker that asks to retire is not reused */
		r->busy = json_is_true(json_object_get(e, "retire"));
		if (!r->busy && r->catalog)
			qworker_set_gen(r->w, r->gen);
		json_decref(e);
		free(payload);
		return -1;
	}
	free(payload);
	if (*type != WIRE_START && *type != WIRE_END) {
		lh_fail(err, 500, "internal", "the query worker answered out of turn");
		qpool_discard(r->s->pool, r->w);
		r->w = NULL;
		r->busy = 0;
		return -1;
	}
	if (*type == WIRE_END)
		r->busy = 0;
	if (r->catalog)
		qworker_set_gen(r->w, r->gen);
	return 0;
}

/* Note 9: the guard refused `sql` as malformed; if DuckDB's parser refuses
 * it too, answer with DuckDB's message instead (400 sql_error). If DuckDB
 * would accept it, the guard's refusal stands. */
static void parser_words(struct qrun *r, const char *sql, struct lh_error *err)
{
	struct lh_error perr = { 0 };
	char type;
	r->w = qpool_acquire(r->s->pool, r->deadline_ms, r->client_fd, &perr);
	if (r->w && worker_run(r, sql, strlen(sql), "json", 0, NULL, 1, &type, &perr) != 0 &&
	    !strcmp(perr.code, "sql_error")) {
		lh_error_clear(err);
		explain_error(r, sql, strlen(sql), &perr);
		lh_fail(err, 400, "sql_error", "%s", perr.msg);
	}
	worker_done(r);
	lh_error_clear(&perr);
}

static int send_parquet(struct http_request *req, struct qrun *r, const char *path,
			struct lh_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return lh_fail(err, 500, "internal", "cannot read the query result file");
	}
	http_respond_fd(req, 200, "application/vnd.apache.parquet", fd, 0, (uint64_t)st.st_size);
	set_cache_headers(req, r, NULL);
	return 0;
}

static int query_end(struct http_request *req)
{
	struct queryd *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct qrun *r = NULL;
	json_t *body = NULL;
	const char *sql = NULL, *fmt_name = "json", *rid = http_request_id(req);
	int64_t max_rows = -1, timeout = s->cfg.queryd.timeout_ms;
	size_t n, body_len = 0, fi;
	char *out_path = NULL, type = 0;
	const char *raw = http_request_body(req, &n);

	atomic_fetch_add(&s->queries, 1);
	body = json_parse_request(raw, n, &err);
	if (!body || json_get_string(body, "sql", 1, &sql, &err) ||
	    json_get_string(body, "format", 0, &fmt_name, &err) ||
	    json_get_int(body, "max_rows", 0, &max_rows, &err) ||
	    json_get_int(body, "timeout_ms", 0, &timeout, &err))
		goto fail;
	size_t sql_len = json_string_length(json_object_get(body, "sql"));
	if (sql_len > LH_SQL_MAX_BYTES) {
		lh_fail(&err, 413, "too_large", "the SQL text is %zu bytes; the limit is %u", sql_len,
			LH_SQL_MAX_BYTES);
		goto fail;
	}
	if (strlen(sql) != sql_len) {
		lh_fail(&err, 400, "bad_request", "field \"sql\" contains a NUL character");
		goto fail;
	}
	for (fi = 0; fi < sizeof formats / sizeof formats[0]; fi++)
		if (!strcmp(fmt_name, formats[fi].name))
			break;
	if (fi == sizeof formats / sizeof formats[0]) {
		lh_fail(&err, 400, "bad_request",
			"field \"format\" must be one of json, csv, ndjson, parquet (got \"%.40s\")", fmt_name);
		goto fail;
	}
	if (json_object_get(body, "max_rows") && max_rows < 1) {
		lh_fail(&err, 400, "bad_request", "field \"max_rows\" must be a positive integer");
		goto fail;
	}
	if (max_rows < 0 && s->cfg.queryd.max_rows > 0)
		max_rows = s->cfg.queryd.max_rows;
	if (s->cfg.queryd.max_rows > 0 && max_rows > s->cfg.queryd.max_rows)
		max_rows = s->cfg.queryd.max_rows;
	if (timeout < 1) {
		lh_fail(&err, 400, "bad_request", "field \"timeout_ms\" must be a positive integer");
		goto fail;
	}
	if (s->cfg.queryd.timeout_ms && timeout > s->cfg.queryd.timeout_ms)
		timeout = s->cfg.queryd.timeout_ms;

	r = xcalloc(1, sizeof *r);
	r->s = s;
	r->client_fd = http_request_client_fd(req);
	r->views = json_array();
	r->latest = json_array();
	r->mask = !tokens_role_sees_personal((enum lh_role)http_request_role(req));
	r->catalog_age_ms = -1;
	r->start_ms = clock_mono_ms();
	r->deadline_ms = r->start_ms + (double)timeout;
	if (sql_guard_check(sql, sql_len, &body_len, &err)) {
		if ((!strcmp(err.code, "bad_query") && strcmp(err.msg, "the query is empty")) ||
		    !strcmp(err.code, "syntax_error"))
			parser_words(r, sql, &err);   /* note 9 */
		goto fail;
	}
	if (resolve_tables(r, sql, sql_len, rid, &err))
		goto fail;
	/* search(...) runs before the statement takes a worker (search_sql.c) */
	if (search_sql_prepare(s, sql, sql_len, r->client_fd, r->deadline_ms, r->mask, rid,
			       &r->searches,
			       &err))
		goto fail;
	if (clock_mono_ms() >= r->deadline_ms) {
		lh_fail(&err, 504, "query_timeout", "the query ran past its time limit of %" PRId64 " ms",
			timeout);
		goto fail;
	}
	r->w = qpool_acquire(s->pool, r->deadline_ms, r->client_fd, &err);
	if (!r->w)
		goto fail;
	if (formats[fi].fmt == ENGINE_PARQUET)
		out_path = out_path_new(s);
	if (worker_run(r, sql, body_len, formats[fi].name, max_rows, out_path, 0, &type, &err)) {
		explain_error(r, sql, sql_len, &err);
		goto fail;
	}
	if (formats[fi].fmt == ENGINE_PARQUET) {
		if (send_parquet(req, r, out_path, &err))
			goto fail;
		unlink(out_path);
		free(out_path);
		qrun_free(r);
		json_decref(body);
		return 0;
	}
	http_respond_stream(req, 200, formats[fi].content_type, HTTP_SIZE_UNKNOWN, query_read, r,
			    query_stream_free);
	set_cache_headers(req, r, NULL);
	json_decref(body);
	return 0;
fail:
	if (out_path)
		unlink(out_path);
	free(out_path);
	http_respond_error(req, &err);
	if (r)
		set_cache_headers(req, r, &err);
	qrun_free(r);
	lh_error_clear(&err);
	json_decref(body);
	return 0;
}

/* ---- internal queries: search's filters and rows (search_*.c) ---------- */

struct catalog_client *queryd_catalog(struct queryd *s)
{
	return s->catalog;
}

struct storage_client *queryd_storage(struct queryd *s)
{
	return s->storage;
}

struct qcache *queryd_cache(struct queryd *s)
{
	return s->cache;
}

const struct lh_config *queryd_config(const struct queryd *s)
{
	return &s->cfg;
}

struct search *queryd_search(struct queryd *s)
{
	return s->search;
}

struct qrun *qrun_create(struct queryd *s, int client_fd, double deadline_ms)
{
	struct qrun *r = xcalloc(1, sizeof *r);
	r->s = s;
	r->client_fd = client_fd;
	r->views = json_array();
	r->latest = json_array();
	r->catalog_age_ms = -1;
	r->start_ms = clock_mono_ms();
	r->deadline_ms = deadline_ms;
	return r;
}

/* qrun_manifest's answer from the catalog (note 10: rc -1 with a 5xx err is
 * an outage; 0 with *out NULL is no such version). */
static int manifest_asked(struct qrun *r, const char *name, int64_t version, const char *rid,
			  struct manifest **out, struct lh_error *err)
{
	struct queryd *s = r->s;
	if (version == 0) {
		/* the latest: asked every time, then cached under its number */
		struct peer_call call = { .request_id = rid };
		if (catalog_client_manifest(s->catalog, &call, name, 0, out, err))
			return -1;
		char *key = mkey((*out)->name, (*out)->version, (*out)->created_at);
		if (key) {
			pthread_mutex_lock(&s->cat.mu);
			mcache_put(&s->cat, key, *out);
			pthread_mutex_unlock(&s->cat.mu);
		}
		free(key);
		return 0;
	}
	return manifest_get(r, name, version, NULL, rid, out, err);
}

int qrun_manifest(struct qrun *r, const char *name, int64_t version, const char *rid,
		  struct manifest **out, struct lh_error *err)
{
	struct queryd *s = r->s;
	double asked = clock_mono_ms(), age = 0;
	char *key = xasprintf("manifest\n%s\n%" PRId64, name, version);
	int rc = -1;
	*out = NULL;
	if (!catalog_client_configured(s->catalog)) {
		lh_fail(err, 404, "unknown_dataset", "there is no dataset named \"%s\"", name);
		goto out;
	}
	if (catalog_state_ask(s->cstate, asked)) {
		rc = manifest_asked(r, name, version, rid, out, err);
		if (rc == 0 && *out) {
			catalog_state_put_manifest(s->cstate, key, *out, asked);
			goto out;
		}
		if (rc == 0)
			goto missing;
		if (!catalog_down(s, err)) {
			if (version == 0)
				goto missing;   /* a 404 in the query's words */
			goto out;
		}
	}
	/* note 10: what the catalog said of it last, if recent enough */
	rc = catalog_state_manifest(s->cstate, r->mask, key, clock_mono_ms(), out, &age, err);
	if (rc == 0)
		note_age(r, age);
	goto out;
missing:
	rc = -1;
	if (version > 0) {
		if (!query_renamed(s, name, version, rid, NULL, err))   /* ADR 0175 */
			lh_fail(err, 404, "unknown_version", "dataset \"%s\" has no version %" PRId64,
				name, version);
	} else if (err->status == 404 && strcmp(err->code, "renamed")) {
		lh_error_clear(err);
		lh_fail(err, 404, "unknown_dataset", "there is no dataset named \"%s\"", name);
	}
out:
	free(key);
	return rc;
}

int qrun_index_get(struct qrun *r, const char *name, const char *rid, json_t **out,
		   struct lh_error *err)
{
	struct queryd *s = r->s;
	struct peer_call call = { .request_id = rid };
	double asked = clock_mono_ms(), age = 0;
	char *key = xasprintf("index\n%s", name);
	int rc;
	*out = NULL;
	if (catalog_state_ask(s->cstate, asked)) {
		rc = catalog_client_index_get(s->catalog, &call, name, out, err);
		if (rc == 0)
			catalog_state_put_doc(s->cstate, key, *out, asked);
		if (rc == 0 || !catalog_down(s, err))
			goto out;
	}
	rc = catalog_state_doc(s->cstate, r->mask, key, clock_mono_ms(), out, &age, err);
	if (rc == 0)
		note_age(r, age);
out:
	free(key);
	return rc;
}

double qrun_catalog_age(const struct qrun *r)
{
	return r->catalog_age_ms;
}

struct queryd *qrun_queryd(struct qrun *r)
{
	return r->s;
}

void qrun_set_masked(struct qrun *r, const char *masked)
{
	free(r->masked);
	r->masked = masked && masked[0] ? xstrdup(masked) : NULL;
}

int qrun_dataset_masked(struct qrun *r, const char *name, const char *rid,
			char out[LH_MASKED_JSON_MAX + 1], struct lh_error *err)
{
	struct dlist list = { NULL, 0 };
	double asked_ms;
	int found = 0;
	out[0] = '\0';
	if (!catalog_client_configured(r->s->catalog))
		return 0;
	/* note 10: the known list's masks during an outage, never none */
	if (query_datasets(r, rid, &list, &asked_ms, err))
		return -1;
	for (size_t i = 0; i < list.n && !found; i++)
		if (!strcmp(list.d[i].name, name)) {
			memcpy(out, list.d[i].masked, LH_MASKED_JSON_MAX + 1);
			found = 1;
		}
	if (asked_ms > 0) {
		/* a fresh list becomes the known one: the masks an outage answers
		 * with are never older than the ones a search saw last (a manifest
		 * missing from the cache then is a 503, never "no masks") */
		if (catalog_state_put_list(r->s->cstate, list.d, list.n, asked_ms))
			log_event("info", "queryd", "the catalog answers again; queries read it again");
		list.d = NULL;
	}
	free(list.d);
	if (found)
		return 0;
	if (asked_ms > 0)
		return lh_fail(err, 404, "unknown_dataset", "there is no dataset named \"%s\"", name);
	/* the known list does not have it: refused, never "no masks" */
	return catalog_state_unavailable(r->s->cstate, r->mask, clock_mono_ms(), err);
}

void qrun_set_mask(struct qrun *r, int mask)
{
	r->mask = mask;
}

int qrun_catalog_failed(struct qrun *r, struct lh_error *err)
{
	if (!catalog_down(r->s, err))
		return 0;
	catalog_state_unavailable(r->s->cstate, r->mask, clock_mono_ms(), err);
	return 1;
}

int qrun_add_version(struct qrun *r, const struct manifest *m, const char *view, int positions,
		     const char *rid, struct lh_error *err)
{
	if (pin_manifest(r, m, view, 0, r->views, r->masked, rid, err))
		return -1;
	if (positions)
		json_object_set_new(json_array_get(r->views, json_array_size(r->views) - 1),
				    "positions", json_true());
	return 0;
}

int qrun_add_object(struct qrun *r, const struct manifest *m, size_t object, const char *view,
		    const char *rid, struct lh_error *err)
{
	struct manifest *one = manifest_create();
	const struct manifest_object *o = &m->objects[object];
	for (size_t i = 0; i < m->ncolumns; i++)
		manifest_add_column(one, m->columns[i].name, m->columns[i].type,
				    m->columns[i].nullable);
	manifest_add_object(one, o->key, o->size, o->row_count, o->content_sha256);
	int rc = pin_manifest(r, one, view, 0, r->views, r->masked, rid, err);
	manifest_unref(one);
	return rc;
}

int qrun_lines(struct qrun *r, const char *sql, const char *format, qrun_line_fn fn, void *ctx,
	       struct lh_error *err)
{
	struct lh_buf partial;
	char type = 0;
	int rc = -1;
	lh_buf_init(&partial, LH_QUERY_MAX_ROW_BYTES);
	r->w = qpool_acquire(r->s->pool, r->deadline_ms, r->client_fd, err);
	if (!r->w)
		goto out;
	if (worker_run(r, sql, strlen(sql), format, -1, NULL, 0, &type, err))
		goto out;
	while (type != WIRE_END) {
		char *payload = NULL;
		size_t n;
		if (worker_frame(r, &type, &payload, &n, err))
			goto out;
		if (type == WIRE_CUT) {
			free(payload);
			lh_fail(err, 500, "internal", "the query engine stopped in the middle of a result");
			goto out;
		}
		if (type == WIRE_END) {
			free(payload);
			r->busy = 0;
			break;
		}
		const char *p = payload, *end = payload + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) {
				if (lh_buf_append(&partial, p, (size_t)(end - p))) {
					free(payload);
					lh_fail(err, 500, "internal", "a result line is too long");
					goto out;
				}
				break;
			}
			int frc;
			if (partial.len) {
				if (lh_buf_append(&partial, p, (size_t)(nl - p))) {
					free(payload);
					lh_fail(err, 500, "internal", "a result line is too long");
					goto out;
				}
				frc = fn(ctx, partial.data, partial.len, err);
				partial.len = 0;
			} else {
				frc = fn(ctx, p, (size_t)(nl - p), err);
			}
			if (frc) {
				free(payload);
				goto out;
			}
			p = nl + 1;
		}
		free(payload);
	}
	rc = 0;
out:
	worker_done(r);
	lh_buf_free(&partial);
	return rc;
}

static const struct http_route queryd_routes[] = {
	{ "POST", "/query", "query", NULL, NULL, query_end, NULL, 0, .json_body = 1 },
	{ "POST", "/search", "search", NULL, NULL, search_route_search, NULL, 0, .json_body = 1 },
	{ "POST", "/search/feedback", "search_feedback", NULL, NULL, search_route_feedback, NULL,
	  LH_FEEDBACK_MAX_BODY, .json_body = 1 },
	{ "POST", "/embed", "embed", NULL, NULL, search_route_embed, NULL, 0, .json_body = 1 },
	{ "GET", "/iceberg/tables/*", "iceberg_table", NULL, NULL, iceberg_route_table, NULL, 0, 0 },
};

static int queryd_health(void *ctx, json_t *body)
{
	struct queryd *s = ctx;
	struct qcache_stats st;
	qcache_stats(s->cache, &st);
	json_t *c = json_object();
	json_object_set_new(c, "hits", json_integer((json_int_t)st.hits));
	json_object_set_new(c, "misses", json_integer((json_int_t)st.misses));
	json_object_set_new(c, "fetches", json_integer((json_int_t)st.fetches));
	json_object_set_new(c, "evictions", json_integer((json_int_t)st.evictions));
	json_object_set_new(c, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(c, "files", json_integer((json_int_t)st.files));
	json_object_set_new(c, "cap_bytes", json_integer((json_int_t)s->cfg.queryd.cache_bytes));
	json_object_set_new(body, "cache", c);
	json_object_set_new(body, "queries", json_integer((json_int_t)atomic_load(&s->queries)));
	json_object_set_new(body, "timeouts", json_integer((json_int_t)atomic_load(&s->timeouts)));
	json_object_set_new(body, "manifest_fetches",
			    json_integer((json_int_t)atomic_load(&s->manifest_fetches)));
	json_object_set_new(body, "disconnects",
			    json_integer((json_int_t)atomic_load(&s->disconnects)));
	struct catalog_state_stats cst;   /* note 10 */
	catalog_state_stats(s->cstate, clock_mono_ms(), &cst);
	json_t *cat = json_object();
	json_object_set_new(cat, "down", json_boolean(cst.down));
	json_object_set_new(cat, "known_age_ms", cst.age_ms < 0 ? json_null()
								 : json_integer((json_int_t)cst.age_ms));
	json_object_set_new(cat, "stale_seconds",
			    json_integer((json_int_t)s->cfg.queryd.catalog_stale_seconds));
	json_object_set_new(cat, "stale_masked_seconds",
			    json_integer((json_int_t)s->cfg.queryd.catalog_stale_masked_seconds));
	json_object_set_new(cat, "stale_answers",
			    json_integer((json_int_t)atomic_load(&s->stale_answers)));
	json_object_set_new(cat, "unavailable",
			    json_integer((json_int_t)atomic_load(&s->catalog_refused)));
	json_object_set_new(body, "catalog", cat);
	struct qpool_stats ps;
	qpool_stats(s->pool, &ps);
	json_t *wk = json_object();
	json_object_set_new(wk, "max", json_integer(ps.max));
	json_object_set_new(wk, "idle", json_integer(ps.idle));
	json_object_set_new(wk, "busy", json_integer(ps.busy));
	json_object_set_new(wk, "started", json_integer((json_int_t)ps.spawned));
	json_object_set_new(wk, "crashed", json_integer((json_int_t)ps.crashed));
	json_object_set_new(wk, "killed", json_integer((json_int_t)ps.killed));
	json_object_set_new(wk, "retired", json_integer((json_int_t)ps.retired));
	json_object_set_new(wk, "overdue", json_integer((json_int_t)ps.overdue));
	json_object_set_new(body, "workers", wk);
	return 200;
}

/* ---- life cycle ----------------------------------------------------------- */

/* A worker's hard memory cap (RLIMIT_AS): [queryd] worker_memory_bytes, or
 * DuckDB's memory_limit plus room for what DuckDB does not count (the
 * library, thread stacks, allocator arenas, result rendering), as measured
 * in ADR 0114. */
static uint64_t queryd_worker_cap(const struct lh_config *cfg)
{
	if (cfg->queryd.worker_memory_bytes)
		return cfg->queryd.worker_memory_bytes;
	return cfg->queryd.duckdb_memory_bytes + LH_QUERY_WORKER_OVERHEAD;
}

/* /ready: the configured peers are ready. */
static void queryd_check(void *ctx, struct ready *r)
{
	struct queryd *s = ctx;
	if (s->cfg.queryd.catalogd_url[0])
		ready_check_peer(r, "catalogd", s->cfg.queryd.catalogd_url);
	if (s->cfg.queryd.storaged_url[0])
		ready_check_peer(r, "storaged", s->cfg.queryd.storaged_url);
}

struct queryd *queryd_start(const struct lh_config *cfg, struct lh_error *err)
{
	struct queryd *s = xcalloc(1, sizeof *s);
	char *spill = NULL;
	s->cfg = *cfg;
	pthread_mutex_init(&s->cat.mu, NULL);
	s->cstate = catalog_state_create(cfg->queryd.catalog_stale_seconds,
					 LH_QUERYD_CATALOG_RETRY_MS);
	catalog_state_set_masked_seconds(s->cstate, cfg->queryd.catalog_stale_masked_seconds);
	if (upstream_pool_for_list("catalogd", cfg->queryd.catalogd_url, "queryd",
				   &s->catalogd_pool, err) != 0 ||
	    upstream_pool_for_list("storaged", cfg->queryd.storaged_url, "queryd",
				   &s->storaged_pool, err) != 0)
		goto fail;
	struct peer_config cp = { .name = "the catalog", .url = cfg->queryd.catalogd_url,
				  .pool = s->catalogd_pool, .token = auth_service_token(cfg) };
	struct peer_config sp = { .name = "the object store", .url = cfg->queryd.storaged_url,
				  .pool = s->storaged_pool, .token = auth_service_token(cfg) };
	s->catalog = catalog_client_create(&cp);
	s->storage = storage_client_create(&sp);
	const char *dir = cfg->queryd.cache_dir;
	if (!dir[0]) {
		lh_fail(err, 400, "bad_config", "[queryd] cache_dir is empty");
		goto fail;
	}
	if (service_mkdirs(dir, err))
		goto fail;
	s->cache = qcache_open(dir, cfg->queryd.cache_bytes, err);
	if (!s->cache)
		goto fail;
	spill = xasprintf("%s/spill", dir);
	s->out_dir = xasprintf("%s/out", dir);
	if (service_mkdirs(spill, err) || service_mkdirs(s->out_dir, err))
		goto fail;
	struct qpool_options po = {
		.exe = "/proc/self/exe",
		.sandbox_dir = dir,
		.memory_bytes = cfg->queryd.duckdb_memory_bytes,
		.address_bytes = queryd_worker_cap(cfg),
		.spill_bytes = cfg->queryd.spill_bytes,
		.kill_grace_ms = LH_QUERY_KILL_GRACE_MS,
		.threads = cfg->queryd.duckdb_threads,
		.max_workers = cfg->queryd.workers,
		.glove_path = cfg->search.glove_path,
	};
	s->pool = qpool_create(&po, err);
	if (!s->pool)
		goto fail;
	s->search = search_start(s, err);
	if (!s->search)
		goto fail;
	struct http_server_config hc = {
		.service = "queryd",
		.bind = cfg->queryd.bind,
		.routes = queryd_routes,
		.nroutes = sizeof queryd_routes / sizeof queryd_routes[0],
		.ctx = s,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.health = queryd_health,
		.ready = s->ready = ready_create("queryd", queryd_check, s),
	};
	if (auth_http_setup(&hc, cfg, err) != 0)
		goto fail;
	s->srv = http_server_start(&hc, err);
	if (!s->srv)
		goto fail;
	log_event("info", "queryd", "queryd: cache %s (%" PRIu64 " bytes), %u workers of DuckDB %u "
		  "threads, %" PRIu64 " bytes (hard cap %" PRIu64 "), time limit %u ms", dir,
		  cfg->queryd.cache_bytes, cfg->queryd.workers, cfg->queryd.duckdb_threads,
		  cfg->queryd.duckdb_memory_bytes, queryd_worker_cap(cfg), cfg->queryd.timeout_ms);
	free(spill);
	return s;
fail:
	free(spill);
	queryd_stop(s);
	return NULL;
}

const char *queryd_url(const struct queryd *s)
{
	return http_server_url(s->srv);
}

void queryd_stop(struct queryd *s)
{
	if (!s)
		return;
	http_server_stop(s->srv);   /* in-flight queries finish first */
	search_stop(s->search);
	qpool_destroy(s->pool);
	qcache_close(s->cache);
	mcache_clear(&s->cat);
	catalog_client_destroy(s->catalog);
	storage_client_destroy(s->storage);
	upstream_pool_destroy(s->catalogd_pool);
	upstream_pool_destroy(s->storaged_pool);
	ready_destroy(s->ready);
	catalog_state_destroy(s->cstate);
	json_decref(s->cat.datasets);
	free(s->cat.sig);
	pthread_mutex_destroy(&s->cat.mu);
	free(s->out_dir);
	free(s);
}

SERVICE_OPS(queryd);

int queryd_main(int argc, char **argv)
{
	return service_run(argc, argv, &queryd_service_ops);
}
