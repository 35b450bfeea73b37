/* gc.c — garbage collection of the object store (ADR 0095): the
 * objects under "datasets/" that no retained version references, and those
 * under "_index/" (search-index parts, ADR 0140) that no build record of a
 * retained declaration references, and that are older than a grace period
 * are deleted; a dry run lists them. Used by catalogd's POST /catalog/gc,
 * by every register (gc_object_check) and by every build record with parts.
 *
 * NOTES ON THE DESIGN: WHY GC NEVER DELETES A REFERENCED OBJECT
 *   1. Retained = every version of every dataset that exists: versions are
 *      never rewritten, only dropped with their dataset. "Referenced" = a
 *      row of version_objects, which a drop removes in its transaction.
 *   2. One GC lock per catalog (catalog_store.h note 5; SQLite: the write
 *      lock, PostgreSQL: an advisory lock taken shared by registers and
 *      exclusively by GC). A deletion happens only inside gc_sweep, holding
 *      the lock exclusively, right after a read under that lock found no
 *      version referencing the key.
 *   3. A register that makes a new version holds the GC lock from the check
 *      of its objects to its COMMIT. The check (gc_object_check: HEAD in
 *      storaged, 200 or the register fails with 409 object_missing and
 *      writes nothing) covers every object of the new version except those
 *      the dataset's latest version already holds; those are referenced by a
 *      committed version that cannot be dropped meanwhile (the register holds
 *      the name's lock), so by 2 no sweep deletes them.
 *   4. Hence, for every committed version V and object K of V: K existed
 *      when V committed (3), and from then until V's dataset is dropped every
 *      sweep reads K as referenced (2: its reads come after V's commit, or it
 *      finished before V's check, which then saw K present). So no retained
 *      version ever references a deleted object.
 *   5. The race of an ingest (PUT, or a 412 reusing an old unreferenced
 *      object, then register) with GC: if the sweep deletes the object first,
 *      the register's check sees 404 and fails with 409 object_missing;
 *      ingestd then PUTs again from its spool and registers again (pipeline.c
 *      note 6). If the register commits first, the sweep sees the reference
 *      and keeps the object. There is no third order (2, 3).
 *   6. The grace period is not what makes GC safe (grace 0 is safe by 2-5);
 *      it spares in-flight ingests the retry and keeps recent orphans for
 *      inspection. Candidates come from a lock-free snapshot (storaged's list
 *      and catalog_store_referenced_keys); the sweep re-checks each under the
 *      lock, so an object referenced after the snapshot is kept, and one that
 *      became garbage after it waits for the next run. A dry run takes no
 *      lock and deletes nothing.
 *   7. Assumed: every catalogd writing the catalog has [catalogd]
 *      storaged_url set (without it the check is off and this catalogd also
 *      refuses GC), and nothing but GC deletes objects under "datasets/"
 *      and "_index/".
 *   8. Index parts (catalog_store.h note 7) follow 1-6 with "build record"
 *      for "version": a record's parts are checked under the GC lock before
 *      it commits (a part GC deleted first fails the record with 409
 *      object_missing, and the builder stores it again), and every sweep
 *      reads index_parts as references. A part no record references (its
 *      declaration replaced or dropped, its dataset dropped, or a build
 *      that died before its record) is garbage after the grace period.
 */
#include "catalogd/gc.h"

#include "catalogd/catalog_store.h"
#include "common/calendar.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/storage_client.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* The key prefixes GC scans: data objects (ingestd) and search-index parts
 * (queryd's builder, ADR 0140). Nothing else under them is kept unless a
 * version or a build record references it. */
static const char *const gc_prefixes[] = { "datasets/", "_index/" };

struct gc_candidate {
	char *key;
	int64_t size;
	char *modified;
	int64_t age_s;
	int deleted;
};

/* The call's request id and token come with the peer (gc.h). */
static struct peer_call call_of(const struct gc_peer *p)
{
	struct peer_call call = { .request_id = p->request_id };
	return call;
}

int gc_object_check(void *ctx, const char *key, struct lh_error *err)
{
	const struct gc_peer *p = ctx;
	struct peer_call call = call_of(p);
	uint64_t size;
	int rc = storage_client_head(p->store, &call, key, &size, err);
	if (rc == 1) {
		lh_fail(err, 409, "object_missing",
			"object \"%s\" is not in the object store (garbage-collected before this "
			"register); store it again and retry", key);
		lh_error_set(err, "key", json_string(key));
		return -1;
	}
	return rc;
}

/* catalog_object_remove_fn: DELETE in storaged (note 2); 1 if it was gone. */
static int gc_object_remove(void *ctx, const char *key, struct lh_error *err)
{
	const struct gc_peer *p = ctx;
	struct peer_call call = call_of(p);
	return storage_client_delete(p->store, &call, key, err);
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct gc_scan {
	char **refs;                  /* referenced keys, sorted */
	size_t nrefs;
	struct gc_candidate *cands;
	size_t ncands, cap;
	int64_t scanned, referenced, young;
	int truncated;
};

/* Classify one listed object (note 6). */
static void scan_one(struct gc_scan *sc, const struct gc_options *opt,
		     const struct storage_entry *o)
{
	const char *key = o->key, *mod = o->modified;
	int64_t mod_ms = 0;
	sc->scanned++;
	if (sc->nrefs && bsearch(&key, sc->refs, sc->nrefs, sizeof *sc->refs, key_cmp)) {
		sc->referenced++;
		return;
	}
	if (!mod || calendar_parse_rfc3339_ms(mod, &mod_ms)) {
		log_event("warn", "catalogd", "gc: object \"%s\" has no readable modified time; kept",
			  key);
		sc->young++;
		return;
	}
	int64_t age_s = (opt->now_ms - mod_ms) / 1000;
	if (age_s < opt->grace_s) {
		sc->young++;
		return;
	}
	if (sc->ncands == LH_GC_MAX_CANDIDATES) {
		sc->truncated = 1;
		return;
	}
	if (sc->ncands == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		sc->cands = xrealloc(sc->cands, sc->cap * sizeof *sc->cands);
	}
	struct gc_candidate *c = &sc->cands[sc->ncands++];
	c->key = xstrdup(key);
	c->size = o->size > 0 ? o->size : 0;
	c->modified = xstrdup(mod);
	c->age_s = age_s < 0 ? 0 : age_s;
	c->deleted = 0;
}

/* Page through storaged's list of `prefix`, classifying every object. */
static int scan_prefix(const struct gc_peer *p, const struct gc_options *opt, const char *prefix,
		       struct gc_scan *sc, struct lh_error *err)
{
	struct peer_call call = call_of(p);
	struct storage_page page = { 0 };
	char *after = NULL;
	int rc = -1;
	do {
		if (storage_client_list(p->store, &call, prefix, after, LH_LIST_DEFAULT_LIMIT,
					&page, err))
			goto out;
		for (size_t i = 0; i < page.n; i++)
			scan_one(sc, opt, &page.entries[i]);
		free(after);
		after = page.next && !sc->truncated ? xstrdup(page.next) : NULL;
		storage_page_free(&page);
	} while (after);
	rc = 0;
out:
	free(after);
	storage_page_free(&page);
	return rc;
}

static int scan_storage(const struct gc_peer *p, const struct gc_options *opt, struct gc_scan *sc,
			struct lh_error *err)
{
	for (size_t i = 0; i < sizeof gc_prefixes / sizeof gc_prefixes[0] && !sc->truncated; i++)
		if (scan_prefix(p, opt, gc_prefixes[i], sc, err))
			return -1;
	return 0;
}

/* Delete the candidates, LH_GC_BATCH per hold of the GC lock (note 2). */
static int sweep(struct catalog_store *store, const struct gc_peer *p, struct gc_scan *sc,
		 struct lh_error *err)
{
	const char *keys[LH_GC_BATCH];
	unsigned char removed[LH_GC_BATCH];
	for (size_t at = 0; at < sc->ncands; at += LH_GC_BATCH) {
		size_t n = sc->ncands - at < LH_GC_BATCH ? sc->ncands - at : LH_GC_BATCH;
		for (size_t i = 0; i < n; i++)
			keys[i] = sc->cands[at + i].key;
		int rc = catalog_store_gc_sweep(store, keys, n, gc_object_remove, (void *)p, removed,
						err);
		for (size_t i = 0; i < n; i++)
			sc->cands[at + i].deleted = removed[i];
		if (rc)
			return -1;
	}
	return 0;
}

static json_t *answer(const struct gc_options *opt, const struct gc_scan *sc)
{
	json_t *arr = json_array(), *o = json_object();
	int64_t deleted = 0, freed = 0;
	for (size_t i = 0; i < sc->ncands; i++) {
		const struct gc_candidate *c = &sc->cands[i];
		json_t *j = json_pack("{s:s, s:I, s:s, s:I}", "key", c->key, "size",
				      (json_int_t)c->size, "modified", c->modified, "age_seconds",
				      (json_int_t)c->age_s);
		if (!opt->dry_run)
			json_object_set_new(j, "deleted", json_boolean(c->deleted));
		json_array_append_new(arr, j);
		if (c->deleted) {
			deleted++;
			freed += c->size;
		}
	}
	json_object_set_new(o, "dry_run", json_boolean(opt->dry_run));
	json_object_set_new(o, "grace_seconds", json_integer((json_int_t)opt->grace_s));
	json_object_set_new(o, "scanned", json_integer((json_int_t)sc->scanned));
	json_object_set_new(o, "referenced", json_integer((json_int_t)sc->referenced));
	json_object_set_new(o, "too_young", json_integer((json_int_t)sc->young));
	json_object_set_new(o, "candidates", arr);
	json_object_set_new(o, "deleted", json_integer((json_int_t)deleted));
	json_object_set_new(o, "bytes_freed", json_integer((json_int_t)freed));
	json_object_set_new(o, "truncated", json_boolean(sc->truncated));
	return o;
}

int gc_run(struct catalog_store *store, const struct gc_peer *peer,
	   const struct gc_options *opt, json_t **out, struct lh_error *err)
{
	struct gc_scan sc = { 0 };
	int rc = -1;
	*out = NULL;
	/* References first, then the list: an object PUT and registered in
	 * between is listed but not in refs; the sweep's re-check keeps it. */
	if (catalog_store_referenced_keys(store, &sc.refs, &sc.nrefs, err))
		goto out;
	if (scan_storage(peer, opt, &sc, err))
		goto out;
	if (!opt->dry_run && sweep(store, peer, &sc, err)) {
		json_t *partial = answer(opt, &sc);
		log_event("warn", "catalogd", "gc: stopped after deleting %lld objects: %s%s%s%s",
			  (long long)json_integer_value(json_object_get(partial, "deleted")), err->msg,
			  err->detail[0] ? " (" : "", err->detail, err->detail[0] ? ")" : "");
		json_decref(partial);
		goto out;
	}
	*out = answer(opt, &sc);
	log_event("info", "catalogd",
		  "gc%s: scanned %lld, referenced %lld, too young %lld, candidates %zu, deleted %lld",
		  opt->dry_run ? " (dry run)" : "", (long long)sc.scanned, (long long)sc.referenced,
		  (long long)sc.young, sc.ncands,
		  (long long)json_integer_value(json_object_get(*out, "deleted")));
	rc = 0;
out:
	for (size_t i = 0; i < sc.ncands; i++) {
		free(sc.cands[i].key);
		free(sc.cands[i].modified);
	}
	free(sc.cands);
	catalog_keys_free(sc.refs, sc.nrefs);
	return rc;
}
