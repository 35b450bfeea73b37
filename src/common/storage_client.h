/* storage_client.h — the typed client of storaged's routes (docs/api.md
 * "storaged"; ADR 0130): URL shapes and key escaping, the service token,
 * request ids, storaged's contract (write-once PUTs with If-None-Match, the
 * ETag that is the content's SHA-256) and the mapping of its failures to our
 * errors (peer_client.h). Callers: ingestd's pipeline (PUT, HEAD), queryd's
 * object cache (GET), catalogd's GC and register check (HEAD, DELETE, list).
 *
 * Object bodies stream both ways (a source callback for a PUT, a sink for a
 * GET): nothing here holds an object in memory. Every call takes a `struct
 * peer_call *` (NULL is fine) and returns as documented, or -1 with err.
 */
#ifndef LH_STORAGE_CLIENT_H
#define LH_STORAGE_CLIENT_H
#include "common/http_client.h"
#include "common/peer_client.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct storage_client;

/* A client of the store `c` describes (c->name: "the object store"). Never
 * NULL; free with storage_client_destroy. */
struct storage_client *storage_client_create(const struct peer_config *c);
void storage_client_destroy(struct storage_client *c);
int storage_client_configured(const struct storage_client *c);

/* HEAD /storage/get/<key>: 0 with *size, 1 when there is no such object,
 * -1 with err (an answer without a length is unreadable: 502). */
int storage_client_head(struct storage_client *c, struct peer_call *call, const char *key,
			uint64_t *size, struct lh_error *err);

/* GET /storage/get/<key> streamed into `sink` (never buffered) and checked
 * against the ETag as it passes: 0 when every byte arrived and their SHA-256
 * is the ETag. A missing object is the store failing (502: a manifest named
 * it), and so is a body that does not match its ETag. When `sink` returns
 * -1 the transfer stops and the call fails with 500 "internal": the caller
 * knows why its sink stopped and may say it instead. */
int storage_client_get(struct storage_client *c, struct peer_call *call, const char *key,
		       http_client_sink_fn sink, void *sink_ctx, struct lh_error *err);

/* How a PUT's body comes (http_client.h's source). */
struct storage_put {
	http_client_source_fn source;
	void *source_ctx;
	uint64_t length;           /* sent as Content-Length; 0 = chunked */
	int write_once;            /* If-None-Match: *: an existing key is a 412 */
	int expect_continue;       /* hear a 412/413/507 before sending the body */
	unsigned timeout_ms;       /* 0 = LH_HTTP_CLIENT_TIMEOUT_MS */
};

/* Ready-made PUT bodies (storage_put.source / source_ctx). A file range:
 * bytes [off, end) of fd, read with pread (the fd's offset is untouched);
 * a short file aborts the PUT, so nothing is stored. */
struct storage_fd_body {
	int fd;
	uint64_t off, end;
};
ssize_t storage_fd_body_read(void *ctx, char *buf, size_t max);
/* Bytes in memory, borrowed for the PUT. */
struct storage_mem_body {
	const char *p;
	size_t left;
};
ssize_t storage_mem_body_read(void *ctx, char *buf, size_t max);

/* PUT /storage/put/<key> (application/octet-stream): 0 stored, 1 when
 * write_once and the key already holds an object (a 412: objects are never
 * overwritten), -1 with err (507 insufficient_storage passes as 507; a body
 * the source aborted or a connection cut is "not reachable" with the
 * transport's reason in the detail). */
int storage_client_put(struct storage_client *c, struct peer_call *call, const char *key,
		       const struct storage_put *put, struct lh_error *err);

/* DELETE /storage/delete/<key>: 0 deleted, 1 when there was no such object. */
int storage_client_delete(struct storage_client *c, struct peer_call *call, const char *key,
			  struct lh_error *err);

/* One page of GET /storage/list?prefix=&limit=&after=. */
struct storage_entry {
	char *key;                 /* owned */
	int64_t size;              /* -1 = unsaid */
	char *modified;            /* owned; RFC 3339, NULL = unsaid */
};
struct storage_page {
	struct storage_entry *entries;   /* owned array */
	size_t n;
	char *next;                /* owned: `after` of the next page, NULL at the end */
};
/* Up to `limit` objects under `prefix` after `after` (NULL = from the
 * start) into *page (storage_page_free it, also after a failure). */
int storage_client_list(struct storage_client *c, struct peer_call *call, const char *prefix,
			const char *after, unsigned limit, struct storage_page *page,
			struct lh_error *err);
void storage_page_free(struct storage_page *page);

#endif
