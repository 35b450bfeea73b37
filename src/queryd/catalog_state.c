/* catalog_state.c — queryd's last known catalog state and the staleness rule
 * of ADR 0205 (see catalog_state.h).
 *
 * DESIGN NOTES
 *  1. The age of what queryd knows runs from when the request that fetched
 *     it was SENT (at_ms), not answered: the catalog's answer describes a
 *     moment at or after that, so the age is never under-stated.
 *  2. A list is replaced only by one asked for later (two queries racing:
 *     the slower answer of an earlier request never replaces a newer one).
 *  3. The rule is one bound for everything (catalog_state_usable): the list
 *     says which datasets exist, their latest versions and their masks
 *     (ADR 0211), so pinned and latest queries alike are answered from it
 *     for at most stale_seconds. Masks are never "none for want of an
 *     answer": they come with the list, or the query is 503.
 *  4. Hold-down: after a failure, for retry_ms, queries that can be
 *     answered from the known list do not ask the catalog (no round trip,
 *     no load on a catalog that is struggling back). The first query after
 *     that asks again, so a recovery is seen within retry_ms.
 *  5. Remembered answers (search's index declarations and manifests by
 *     name) follow the same bound, each with its own at_ms.
 *  6. Two bounds (ADR 0205 point 4): callers whose role masks personal
 *     columns (read, agent: `masked`) are answered from a known state only
 *     within masked_seconds (default 0: never), so a mask set just before
 *     an outage cannot fail open; others within stale_seconds. The
 *     hold-down (note 4) follows stale_seconds: during it a masked caller
 *     past its own bound gets the 503 without a round trip.
 *  7. Only "no answer" is an outage (catalog_state_is_outage): the catalog
 *     not reachable, cut, timed out, or its own 503 catalog_unavailable.
 *     Any other answer (a 4xx, a 500) is an answer, decided on err->code,
 *     never on the status: a client's bad name must not look like an
 *     outage and hold off a new mask.
 */
#include "queryd/catalog_state.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kept {
	char *key;
	json_t *doc;            /* or */
	struct manifest *m;
	double at_ms;
	struct kept *next;
};

struct catalog_state {
	pthread_mutex_t mu;
	unsigned stale_seconds, retry_ms;
	unsigned masked_seconds;  /* note 6: the bound for read and agent tokens */
	struct manifest_summary *list;
	size_t n;
	double at_ms;           /* when `list` was asked for; 0 = never */
	double failed_ms;       /* the last failure; 0 = the last call succeeded */
	struct kept *kept;
	size_t nkept;
};

struct catalog_state *catalog_state_create(unsigned stale_seconds, unsigned retry_ms)
{
	struct catalog_state *cs = xcalloc(1, sizeof *cs);
	pthread_mutex_init(&cs->mu, NULL);
	cs->stale_seconds = stale_seconds;
	cs->retry_ms = retry_ms;
	return cs;
}

static void kept_clear(struct catalog_state *cs)
{
	struct kept *k = cs->kept;
	while (k) {
		struct kept *next = k->next;
		free(k->key);
		json_decref(k->doc);
		manifest_unref(k->m);
		free(k);
		k = next;
	}
	cs->kept = NULL;
	cs->nkept = 0;
}

void catalog_state_set_masked_seconds(struct catalog_state *cs, unsigned masked_seconds)
{
	pthread_mutex_lock(&cs->mu);
	cs->masked_seconds = masked_seconds;
	pthread_mutex_unlock(&cs->mu);
}

static unsigned bound(const struct catalog_state *cs, int masked)
{
	return masked ? cs->masked_seconds : cs->stale_seconds;
}

int catalog_state_is_outage(const struct lh_error *err)
{
	static const char *const codes[] = { "upstream_unavailable", "upstream_timeout",
					     "upstream_interrupted", "catalog_unavailable" };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (!strcmp(err->code, codes[i]))
			return 1;
	return 0;
}

void catalog_state_destroy(struct catalog_state *cs)
{
	if (!cs)
		return;
	kept_clear(cs);
	free(cs->list);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
}

int catalog_state_usable(double at_ms, double now_ms, unsigned stale_seconds)
{
	return at_ms > 0 && stale_seconds > 0 && now_ms - at_ms <= (double)stale_seconds * 1000.0;
}

int catalog_state_ask(struct catalog_state *cs, double now_ms)
{
	pthread_mutex_lock(&cs->mu);
	int ask = !(cs->failed_ms > 0 && now_ms - cs->failed_ms < (double)cs->retry_ms &&
		    catalog_state_usable(cs->at_ms, now_ms, cs->stale_seconds));
	pthread_mutex_unlock(&cs->mu);
	return ask;
}

int catalog_state_put_list(struct catalog_state *cs, struct manifest_summary *list, size_t n,
			   double at_ms)
{
	pthread_mutex_lock(&cs->mu);
	int back = 0;
	if (at_ms >= cs->at_ms) {   /* note 2 */
		struct manifest_summary *old = cs->list;
		if (at_ms >= cs->failed_ms) {   /* asked after the last failure: up again */
			back = cs->failed_ms > 0;
			cs->failed_ms = 0;
		}
		cs->list = list;
		cs->n = n;
		cs->at_ms = at_ms;
		list = old;
	}
	pthread_mutex_unlock(&cs->mu);
	free(list);
	return back;
}

int catalog_state_failed(struct catalog_state *cs, const struct lh_error *err, double now_ms)
{
	if (!catalog_state_is_outage(err))   /* note 7 */
		return 0;
	pthread_mutex_lock(&cs->mu);
	int first = cs->failed_ms == 0;
	cs->failed_ms = now_ms > 0 ? now_ms : 1;
	pthread_mutex_unlock(&cs->mu);
	return first ? 2 : 1;
}

/* err (the catalog's failure, or empty) as the 503 of ADR 0205; `unknown`:
 * what was needed was never read (a version never queried before), whatever
 * the list's age. Callers hold cs->mu. */
static int refuse(const struct catalog_state *cs, int masked, double at_ms, double now_ms,
		  int unknown, struct lh_error *err)
{
	char said[sizeof err->msg], why[200];
	snprintf(said, sizeof said, "%s", err->status ? err->msg : "the catalog is not reachable");
	if (unknown)
		snprintf(why, sizeof why, "queryd has not read what this needs from the catalog "
			 "before, so it cannot answer from what it knows");
	else if (at_ms <= 0)
		snprintf(why, sizeof why, "queryd has not read the catalog since it started, so it "
			 "has nothing to answer from");
	else if (masked && cs->masked_seconds == 0)
		snprintf(why, sizeof why, "queryd does not answer a token whose personal columns "
			 "are masked from what it read before ([queryd] catalog_stale_masked_seconds "
			 "is 0)");
	else if (masked)
		snprintf(why, sizeof why, "what queryd read from it %.0f s ago is older than the "
			 "%u s it may answer a token whose personal columns are masked from "
			 "([queryd] catalog_stale_masked_seconds)", (now_ms - at_ms) / 1000.0,
			 cs->masked_seconds);
	else if (cs->stale_seconds == 0)
		snprintf(why, sizeof why, "queryd does not answer from what it read before "
			 "([queryd] catalog_stale_seconds is 0)");
	else
		snprintf(why, sizeof why, "what queryd read from it %.0f s ago is older than the "
			 "%u s it may answer from ([queryd] catalog_stale_seconds)",
			 (now_ms - at_ms) / 1000.0, cs->stale_seconds);
	if (err->status) {
		/* the catalog's words go to the detail as well: the log keeps them */
		lh_error_rephrase(err, "%.200s; %s; retry shortly", said, why);
		err->status = 503;
		snprintf(err->code, sizeof err->code, "%s", "catalog_unavailable");
		json_decref(err->extra);
		err->extra = NULL;
	} else {
		lh_fail(err, 503, "catalog_unavailable", "%s; %s; retry shortly", said, why);
	}
	return -1;
}

int catalog_state_unavailable(struct catalog_state *cs, int masked, double now_ms,
			      struct lh_error *err)
{
	pthread_mutex_lock(&cs->mu);
	refuse(cs, masked, cs->at_ms, now_ms, 1, err);
	pthread_mutex_unlock(&cs->mu);
	return -1;
}

int catalog_state_list(struct catalog_state *cs, int masked, double now_ms,
		       struct manifest_summary **out, size_t *n, double *age_ms,
		       struct lh_error *err)
{
	int rc = -1;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&cs->mu);
	if (!catalog_state_usable(cs->at_ms, now_ms, bound(cs, masked))) {
		refuse(cs, masked, cs->at_ms, now_ms, 0, err);
		goto out;
	}
	if (cs->n) {
		*out = xmalloc(cs->n * sizeof **out);
		memcpy(*out, cs->list, cs->n * sizeof **out);
	}
	*n = cs->n;
	*age_ms = now_ms - cs->at_ms;
	lh_error_clear(err);
	rc = 0;
out:
	pthread_mutex_unlock(&cs->mu);
	return rc;
}

/* ---- remembered answers (note 5) ---------------------------------------- */

static struct kept *kept_find(struct catalog_state *cs, const char *key)
{
	for (struct kept *k = cs->kept; k; k = k->next)
		if (!strcmp(k->key, key))
			return k;
	return NULL;
}

static void put(struct catalog_state *cs, const char *key, json_t *doc, struct manifest *m,
		double at_ms)
{
	pthread_mutex_lock(&cs->mu);
	struct kept *k = kept_find(cs, key);
	if (k && k->at_ms > at_ms) {
		pthread_mutex_unlock(&cs->mu);
		return;
	}
	if (!k) {
		if (cs->nkept >= LH_QUERYD_CATALOG_KEPT)
			kept_clear(cs);
		k = xcalloc(1, sizeof *k);
		k->key = xstrdup(key);
		k->next = cs->kept;
		cs->kept = k;
		cs->nkept++;
	}
	json_decref(k->doc);
	manifest_unref(k->m);
	k->doc = doc ? json_incref(doc) : NULL;
	k->m = m ? manifest_ref(m) : NULL;
	k->at_ms = at_ms;
	pthread_mutex_unlock(&cs->mu);
}

void catalog_state_put_doc(struct catalog_state *cs, const char *key, json_t *doc, double at_ms)
{
	put(cs, key, doc, NULL, at_ms);
}

void catalog_state_put_manifest(struct catalog_state *cs, const char *key, struct manifest *m,
				double at_ms)
{
	put(cs, key, NULL, m, at_ms);
}

static int get(struct catalog_state *cs, int masked, const char *key, double now_ms,
	       json_t **doc, struct manifest **m, double *age_ms, struct lh_error *err)
{
	int rc = -1;
	pthread_mutex_lock(&cs->mu);
	struct kept *k = kept_find(cs, key);
	if (!k || (doc && !k->doc) || (m && !k->m)) {
		refuse(cs, masked, cs->at_ms, now_ms, 1, err);
		goto out;
	}
	if (!catalog_state_usable(k->at_ms, now_ms, bound(cs, masked))) {
		refuse(cs, masked, k->at_ms, now_ms, 0, err);
		goto out;
	}
	if (doc)
		*doc = json_incref(k->doc);
	if (m)
		*m = manifest_ref(k->m);
	*age_ms = now_ms - k->at_ms;
	lh_error_clear(err);
	rc = 0;
out:
	pthread_mutex_unlock(&cs->mu);
	return rc;
}

int catalog_state_doc(struct catalog_state *cs, int masked, const char *key, double now_ms,
		      json_t **out, double *age_ms, struct lh_error *err)
{
	*out = NULL;
	return get(cs, masked, key, now_ms, out, NULL, age_ms, err);
}

int catalog_state_manifest(struct catalog_state *cs, int masked, const char *key, double now_ms,
			   struct manifest **out, double *age_ms, struct lh_error *err)
{
	*out = NULL;
	return get(cs, masked, key, now_ms, NULL, out, age_ms, err);
}

void catalog_state_stats(struct catalog_state *cs, double now_ms,
			 struct catalog_state_stats *out)
{
	pthread_mutex_lock(&cs->mu);
	out->age_ms = cs->at_ms > 0 ? now_ms - cs->at_ms : -1;
	out->down = cs->failed_ms > 0;
	pthread_mutex_unlock(&cs->mu);
}
