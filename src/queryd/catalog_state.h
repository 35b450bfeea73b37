/* catalog_state.h — what queryd last heard from the catalog, and whether it
 * may still answer from it while the catalog is down (ADR 0205).
 *
 * queryd asks the catalog on every query (ADR 0125). When the catalog does
 * not answer (not reachable, cut, timed out, its own 503 catalog_unavailable),
 * a query may be answered from the last dataset list it got (the versions,
 * creations and masks of every dataset) and from the manifests and index
 * declarations it remembers, for at most `stale_seconds` after that answer
 * was asked for; past that, or when nothing was ever heard, it is 503
 * catalog_unavailable. Any other answer (a 4xx, a 500) is an answer, never
 * an outage. A caller whose personal columns are masked (`masked`: a read
 * or agent token) has its own bound, masked_seconds (default 0). After a
 * failure the catalog is not asked again for
 * LH_QUERYD_CATALOG_RETRY_MS while a usable state is known, so an outage
 * costs no round trip per query.
 *
 * Times are CLOCK_MONOTONIC milliseconds passed in by the caller (now_ms),
 * so the rules are pure and unit-tested (tests/unit/test_queryd_catalog_state.c).
 * One mutex guards the state; every function is thread-safe.
 */
#ifndef LH_QUERYD_CATALOG_STATE_H
#define LH_QUERYD_CATALOG_STATE_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct manifest;
struct manifest_summary;
struct catalog_state;

/* stale_seconds 0: never answer from a known state (every outage is 503).
 * retry_ms: how long after a failure the catalog is left alone (0: asked
 * every time). Never NULL; free with catalog_state_destroy. */
struct catalog_state *catalog_state_create(unsigned stale_seconds, unsigned retry_ms);
void catalog_state_destroy(struct catalog_state *cs);
/* The bound for callers whose personal columns are masked (0 at creation:
 * never answered from a known state). */
void catalog_state_set_masked_seconds(struct catalog_state *cs, unsigned masked_seconds);

/* 1 when err says the catalog did not answer (upstream_unavailable,
 * upstream_timeout, upstream_interrupted, catalog_unavailable), else 0. */
int catalog_state_is_outage(const struct lh_error *err);

/* Pure: may a state asked for at `at_ms` (0 = never) answer at `now_ms`? */
int catalog_state_usable(double at_ms, double now_ms, unsigned stale_seconds);

/* 1 when the catalog should be asked now; 0 when it failed less than
 * retry_ms ago and the known list is still usable (answer from it). */
int catalog_state_ask(struct catalog_state *cs, double now_ms);

/* The catalog answered the dataset list `list` (n entries, xmalloc'd or
 * NULL; taken: no copy per query) to a request made at `at_ms`: it becomes
 * the known list unless a newer one is known already (then it is freed),
 * and the catalog counts as up again. Returns 1 when this ends an outage
 * (the caller logs it once), else 0. */
int catalog_state_put_list(struct catalog_state *cs, struct manifest_summary *list, size_t n,
			   double at_ms);

/* The catalog failed with `err`. Not an outage (catalog_state_is_outage):
 * 0, nothing recorded (an answer). An outage: the failure is recorded at now_ms and 1 returned (2 when it starts an
 * outage: the caller logs it once). */
int catalog_state_failed(struct catalog_state *cs, const struct lh_error *err, double now_ms);

/* During an outage: a copy of the known list (*out xmalloc'd, NULL when
 * empty; *n its length) and its age in ms (*age_ms), or -1 with err (which
 * holds the catalog's failure, or is empty) made a 503 catalog_unavailable
 * in words: the catalog's words, then how old what queryd knows is. */
int catalog_state_list(struct catalog_state *cs, int masked, double now_ms,
		       struct manifest_summary **out, size_t *n, double *age_ms,
		       struct lh_error *err);

/* Remembered answers for search (index declarations, manifests asked by
 * name): `key` -> a JSON document (a reference is taken) or a manifest (a
 * reference is taken), asked for at at_ms. At most LH_QUERYD_CATALOG_KEPT
 * keys; then it starts over. */
void catalog_state_put_doc(struct catalog_state *cs, const char *key, json_t *doc, double at_ms);
void catalog_state_put_manifest(struct catalog_state *cs, const char *key, struct manifest *m,
				double at_ms);
/* During an outage: the remembered answer of `key` (a new reference) and
 * its age, or -1 with err made 503 catalog_unavailable as catalog_state_list. */
int catalog_state_doc(struct catalog_state *cs, int masked, const char *key, double now_ms,
		      json_t **out, double *age_ms, struct lh_error *err);
int catalog_state_manifest(struct catalog_state *cs, int masked, const char *key, double now_ms,
			   struct manifest **out, double *age_ms, struct lh_error *err);

/* Make err (a 5xx of the catalog, or empty) the 503 catalog_unavailable
 * of an answer that needs the catalog now (a version never read before),
 * as catalog_state_list words it. Returns -1. */
int catalog_state_unavailable(struct catalog_state *cs, int masked, double now_ms,
			      struct lh_error *err);

struct catalog_state_stats {
	double age_ms;            /* the known list's age now; -1 = none */
	int down;                 /* the last call failed */
};
void catalog_state_stats(struct catalog_state *cs, double now_ms,
			 struct catalog_state_stats *out);

#endif
