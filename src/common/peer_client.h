/* peer_client.h — what the typed peer clients share (catalog_client.h,
 * storage_client.h; ADR 0130): where the peer is (one base URL, or the
 * gateway's upstream pool), the bearer token, the request id, and the one
 * mapping of a peer's failure to our lh_error. Services call the typed
 * clients; only they include this.
 *
 * The mapping (peer_answer_fail), in the client's own words for the user and
 * the peer's words and URL in the log-only detail (error.h):
 *   - not configured         -> 502 upstream_unavailable "<name> is not configured"
 *   - no answer (refused,     -> http_client's 502 upstream_unavailable / 504
 *     time-out, cut)             upstream_timeout, "<name> is not reachable";
 *                                detail "<url> failed: <reason>"
 *   - 404 / 409 where a call  -> the peer's status, code, message and extra
 *     says they mean something   fields (a drift's "diff", a key), as sent
 *   - 507                     -> 507 insufficient_storage (a full disk behind
 *                                us is still a full disk)
 *   - anything else           -> 502 upstream_failed "<name> answered N[: its
 *                                message]"; detail "<METHOD> <url> answered N"
 *   - a 2xx we cannot read    -> 502 upstream_failed "<name> sent an
 *                                unreadable <what>"; detail: the field or
 *                                the parser's complaint
 * A relaying client (peer_config.relay: the gateway's UI, the CLI, whose
 * caller is a person) passes every non-2xx answer as the peer sent it: the
 * peer already said it in plain words (an answer that is not our JSON error
 * becomes "<name> answered HTTP N: <its first 200 bytes>").
 */
#ifndef LH_PEER_CLIENT_H
#define LH_PEER_CLIENT_H
#include "common/json.h"

#include <stddef.h>

struct lh_error;
struct upstream_pool;
struct http_client_request;
struct http_client_response;

struct peer_config {
	const char *name;            /* what messages call the peer: "the catalog",
				      * "the object store", "catalogd"; copied */
	const char *url;             /* one base URL (a trailing '/' is dropped),
				      * "" or NULL = not configured; copied */
	struct upstream_pool *pool;  /* instead of url: a pool of replicas (ADR
				      * 0075); the client takes a reference */
	const char *token;           /* bearer token of every call
				      * (auth_service_token), or NULL; copied */
	int relay;                   /* 1: pass the peer's error answers as they are */
	size_t max_buffered;         /* cap of a JSON answer; 0 = the http_client's */
};

/* One caller's request, passed to every typed call (NULL = none of these). */
struct peer_call {
	const char *request_id;      /* sent as X-Request-Id, or NULL */
	const char *bearer_token;    /* instead of the client's token (the UI sends
				      * its own caller's, ADR 0090), or NULL */
	long status;                 /* OUT: the peer's HTTP status of the last
				      * request, 0 when no peer answered */
	const char *who;             /* the name of the client's token (ADR 0210),
				      * for a register's "ingested_by", or NULL */
};

/* Embedded in each typed client. */
struct peer_client {
	char *name;
	char *url;                   /* NULL with a pool or when not configured */
	struct upstream_pool *pool;  /* a reference, or NULL */
	char *token;
	int relay;
	size_t max_buffered;
};

void peer_client_init(struct peer_client *p, const struct peer_config *c);
/* Frees the data and drops the pool's reference, not the struct. */
void peer_client_free(struct peer_client *p);
/* 1 when there is a URL or a non-empty pool. */
int peer_client_configured(const struct peer_client *p);

/* Perform `r` (method, headers, body, sink set by the caller) at the peer's
 * base URL + `path` (already encoded); the request id, bearer token and cap
 * are set here, and r->url is NULL again on return. Returns 0 with *resp
 * (any status; call->status set), or -1 with err as the mapping above says.
 * *url (OUT, optional) is the URL of the last attempt, for details; the
 * caller frees it. */
int peer_do(const struct peer_client *p, struct peer_call *call, const char *path,
	    struct http_client_request *r, struct http_client_response *resp, char **url,
	    struct lh_error *err);

/* Which non-2xx answers mean something to a call (the mapping above). */
enum { PEER_PASS_404 = 1, PEER_PASS_409 = 2, PEER_PASS_4XX = 4 };

/* A non-2xx answer `resp` to `method` `url` as our error; always -1. */
int peer_answer_fail(const struct peer_client *p, const char *method, const char *url,
		     const struct http_client_response *resp, unsigned pass,
		     struct lh_error *err);

/* The answer's JSON body: a new reference, or NULL with 502
 * "upstream_failed" "<name> sent an unreadable <what>". */
json_t *peer_answer_json(const struct peer_client *p, const char *method, const char *url,
			 const struct http_client_response *resp, const char *what,
			 struct lh_error *err);

/* Rephrase a decoder's error (manifest.h: "objects[2].size: not an
 * integer") as "<name> sent an unreadable <what>"; the field and the URL go
 * to the detail. Returns -1. */
int peer_unreadable(const struct peer_client *p, const char *url, const char *what,
		    struct lh_error *err);

/* One JSON call: `body` (JSON text) or NULL, the answer's JSON (2xx) into
 * *out (a new reference; NULL for a bodiless 2xx such as 204). A non-2xx
 * answer is mapped with `pass`. 0, or -1 with err. */
int peer_json(const struct peer_client *p, struct peer_call *call, const char *method,
	      const char *path, const char *body, unsigned pass, const char *what, json_t **out,
	      struct lh_error *err);

#endif
