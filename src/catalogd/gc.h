/* gc.h — garbage collection of the object store (ADR 0095), private
 * to catalogd: the object store calls behind POST /catalog/gc and behind the
 * register's object check. The safety argument is in gc.c's header.
 */
#ifndef LH_CATALOGD_GC_H
#define LH_CATALOGD_GC_H
#include "common/json.h"

#include <stdint.h>

struct catalog_store;
struct lh_error;

struct storage_client;

/* How catalogd reaches storaged: its client (storage_client.h: the URL and
 * the service token) and the request this is for; both borrowed. */
struct gc_peer {
	struct storage_client *store;
	const char *request_id;     /* propagated as X-Request-Id, or NULL */
};

struct gc_options {
	int dry_run;                /* list only */
	int64_t grace_s;            /* only objects at least this old */
	int64_t now_ms;             /* the current time (clock_wall_ms) */
};

/* catalog_object_check_fn for catalog_store_set_object_check: HEAD the key
 * in storaged. ctx is a struct gc_peer *. 0 present; 409 "object_missing"
 * (retryable: store the object again, register again) when absent; 502
 * when storaged cannot say. */
int gc_object_check(void *ctx, const char *key, struct lh_error *err);

/* One collection: list every object under "datasets/" and "_index/" in
 * storaged, keep those at least grace_s old that no retained version or
 * build record references, and
 * (unless dry_run) delete them through catalog_store_gc_sweep in batches of
 * LH_GC_BATCH. On 0, *out is the answer of POST /catalog/gc (new reference):
 * {"dry_run","grace_seconds","scanned","referenced","candidates":[{"key",
 * "size","modified","age_seconds"[,"deleted"]}],"deleted","bytes_freed",
 * "truncated"}. -1 with err (502 storaged, 5xx catalog); objects deleted
 * before a failure stay deleted (they were garbage). */
int gc_run(struct catalog_store *store, const struct gc_peer *peer,
	   const struct gc_options *opt, json_t **out, struct lh_error *err);

#endif
