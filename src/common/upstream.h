/* upstream.h — a pool of interchangeable instances of one stateless service
 * (ADR 0075): the gateway keeps one per service ([gateway] *_url lists).
 *
 * A pool holds 1..LH_UPSTREAM_MAX_MEMBERS base URLs, fixed at creation, and
 * each member's health: "ok", "unhealthy" (answered /health with a non-200)
 * or "unreachable". Health comes from two sources:
 *   - active: a checker thread per member GETs <url>/health every
 *     interval_ms with a timeout_ms bound (LH_UPSTREAM_CHECK_*);
 *   - passive: a request that could not connect marks its member
 *     unreachable at once; any HTTP answer marks it ok.
 * upstream_pool_pick() goes round-robin over healthy members;
 * upstream_pool_do() performs one request with the only retry that is always
 * safe: a request that never reached a server (no connection) goes to the
 * next member, whatever its method. Everything else is the caller's answer.
 */
#ifndef LH_UPSTREAM_H
#define LH_UPSTREAM_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct http_client_request;
struct http_client_response;

enum upstream_state { UPSTREAM_OK, UPSTREAM_UNHEALTHY, UPSTREAM_UNREACHABLE,
		      UPSTREAM_NOT_READY /* alive, /ready says 503 (ADR 0200) */ };

/* One probe of `url` (the member's base URL): 0 healthy, 1 answered but not
 * healthy, 2 alive but not ready, -1 unreachable. Must return within about timeout_ms. */
typedef int (*upstream_probe_fn)(void *ctx, const char *url, unsigned timeout_ms);

struct upstream_pool_config {
	const char *name;          /* "ingestd": messages and /health; copied */
	const char *urls;          /* comma-separated base URLs; "" = none; copied */
	const char *log_service;   /* the "service" of log lines, e.g. "gateway" */
	unsigned interval_ms;      /* between two probes of a member; 0 = no
				    * checker threads (tests call
				    * upstream_pool_check) */
	unsigned timeout_ms;       /* one probe; 0 = LH_UPSTREAM_CHECK_TIMEOUT_MS */
	upstream_probe_fn probe;   /* NULL = GET <url>/ready (200 ok, 503 not
				    * ready; 404: GET <url>/health, 200 = ok) */
	void *probe_ctx;
};

struct upstream_pool;

/* Parse the list (items as config_list_next; trailing '/' dropped) and,
 * with interval_ms > 0, start one checker thread per member and wait for
 * every member's first probe, so the pool's state is true from the start.
 * Members start "ok" when there is no checker. Returns the pool (free with
 * upstream_pool_destroy), or NULL with a 400 "bad_config" error for an empty
 * item or more than LH_UPSTREAM_MAX_MEMBERS. An empty list makes an empty
 * pool (the service is not configured). */
struct upstream_pool *upstream_pool_create(const struct upstream_pool_config *c,
					   struct lh_error *err);
/* For a service's peer setting (ADR 0204: [ingestd]/[queryd] storaged_url
 * and catalogd_url take lists): more than one URL in `urls` makes *out a
 * pool with checker threads (name and log_service as in the config above);
 * one URL or none leaves *out NULL (use the URL as it is). 0, or -1 with a
 * 400 bad_config for a bad list. */
int upstream_pool_for_list(const char *name, const char *urls, const char *log_service,
			   struct upstream_pool **out, struct lh_error *err);
/* Stop the checkers (waits for a probe in progress, at most its timeout) and
 * drop the creator's reference. NULL is fine. Holders of other references
 * (upstream_pool_ref) may go on picking and reporting; the pool is freed
 * when the last reference goes. */
void upstream_pool_destroy(struct upstream_pool *p);
/* One more reference (e.g. a detached worker that may outlive its
 * creator's destroy); returns p. Drop it with upstream_pool_unref. */
struct upstream_pool *upstream_pool_ref(struct upstream_pool *p);
void upstream_pool_unref(struct upstream_pool *p);

size_t upstream_pool_size(const struct upstream_pool *p);
const char *upstream_pool_name(const struct upstream_pool *p);
/* Member i's base URL; immutable, lives as long as the pool. */
const char *upstream_pool_url(const struct upstream_pool *p, size_t i);
/* The configured list as given ("" if none); lives as long as the pool. */
const char *upstream_pool_list(const struct upstream_pool *p);
enum upstream_state upstream_pool_state(struct upstream_pool *p, size_t i);
const char *upstream_state_name(enum upstream_state s); /* "ok", ... */

/* The member for the next attempt of one request. `tried` is the request's
 * own bitmask of members already tried (start at 0); the chosen one is added
 * to it. Round-robin over healthy untried members; when none is healthy, an
 * untried member anyway (a last resort: health may lag, and a refused
 * connection costs little). Returns the index, or -1 when every member has
 * been tried or the pool is empty. */
int upstream_pool_pick(struct upstream_pool *p, uint32_t *tried);

/* Passive health: member i could not be connected to (ok = 0, `why` for the
 * log), or answered (ok = 1). */
void upstream_pool_report(struct upstream_pool *p, size_t i, int ok, const char *why);

/* Probe every member once now, in the calling thread. */
void upstream_pool_check(struct upstream_pool *p);

/* Perform `r` against the pool: r->url is set, for each attempt, to a
 * member's URL + `path` (already encoded; r->url is NULL again on return).
 * A failure before any byte was sent (no connection) marks the member
 * unreachable and retries on the next one (upstream_pool_pick); any other
 * failure or any HTTP answer ends it. Returns 0 with *resp (any status), or
 * -1 with err: 502 "upstream_unavailable" when nothing is configured or no
 * member could be reached, else http_client_do's error. *member (optional
 * OUT) is the member of the last attempt, -1 if none. */
int upstream_pool_do(struct upstream_pool *p, const char *path, struct http_client_request *r,
		     struct http_client_response *resp, int *member, struct lh_error *err);

/* A new JSON array [{"url", "status"}] of every member (caller owns it),
 * and the service's summary in *summary: "ok" (all members ok), "degraded"
 * (some), "not_ready"/"unhealthy"/"unreachable" (none), "not_configured"
 * (empty). */
json_t *upstream_pool_json(struct upstream_pool *p, const char **summary);

#endif
