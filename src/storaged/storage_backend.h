/* storage_backend.h — the object store behind storaged's routes: a small
 * struct of function pointers (like SQLite's VFS or curl's vtls), so the
 * routes in storaged.c never touch files and an S3 backend fits later without
 * changing them. Private to src/storaged/.
 *
 * Contract for every backend:
 *   - keys reach it already validated (common/keys.h); it may refuse more (e.g. the
 *     disk backend's segment length) with a 400 "bad_key";
 *   - an object is visible complete or not at all, with its size and SHA-256
 *     known without re-reading it;
 *   - every call is thread-safe (one thread per connection, ADR 0003);
 *   - errors fill `err` once: 404 "not_found", 412 "exists",
 *     500 "storage_failed" / 507 "insufficient_storage" (details in the log).
 */
#ifndef LH_STORAGE_BACKEND_H
#define LH_STORAGE_BACKEND_H
#include "common/sha256.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lh_error;

/* What is known about a stored object. */
struct storage_object_info {
	uint64_t size;
	char sha256[LH_SHA256_HEX_LEN + 1];   /* lowercase hex */
	int64_t modified_ms;                  /* commit time, Unix milliseconds */
};

/* An object opened for reading. A backend fills either `fd` (the object's
 * bytes are fd[fd_offset, fd_offset + info.size)) or `read` (fd = -1). The
 * caller owns what it gets and releases it with storage_read_close() or by
 * handing `fd` on (e.g. to http_respond_fd) and setting it to -1. */
struct storage_read {
	struct storage_object_info info;
	int fd;
	uint64_t fd_offset;
	/* Read up to `max` bytes at object position `pos`: count, 0 at end, -1. */
	ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void *ctx;
	void (*close)(void *ctx);             /* releases ctx; NULL if none */
};

/* Release whatever `r` still holds. Safe to call twice. */
void storage_read_close(struct storage_read *r);

/* An upload in progress. Each backend embeds this as the first member of its
 * own upload struct and casts back. */
struct storage_put {
	struct storage_backend *backend;
};

/* Called by list for each object in key order; return 0 to go on, 1 to stop,
 * -1 (with err filled) to fail. `key` is borrowed for the call only. */
typedef int (*storage_list_fn)(void *ctx, const char *key,
			       const struct storage_object_info *info,
			       struct lh_error *err);

struct storage_backend {
	const char *name;   /* "disk", "s3" */

	/* Start an upload of `key`. `create_only` (If-None-Match: *) makes the
	 * commit fail with 412 "exists" if the key exists by then; the backend
	 * may also fail early here if it exists already. *out (OUT) is owned by
	 * the caller until put_commit or put_abort consumes it. */
	int (*put_begin)(struct storage_backend *b, const char *key, int create_only,
			 struct storage_put **out, struct lh_error *err);
	/* Append body bytes (hashing them on the way). On error the upload must
	 * still be given to put_abort. */
	int (*put_write)(struct storage_put *p, const void *data, size_t n,
			 struct lh_error *err);
	/* Make the object durable and visible at its key (write-once or
	 * replace), fill *info (OUT). Always consumes `p`, success or failure;
	 * on failure nothing is visible and nothing is left behind. */
	int (*put_commit)(struct storage_put *p, struct storage_object_info *info,
			  struct lh_error *err);
	/* Drop an upload: nothing visible, nothing left behind. Consumes `p`;
	 * NULL is fine. */
	void (*put_abort)(struct storage_put *p);

	/* Open `key` for reading; *out (OUT) as described above. 404 if absent. */
	int (*open)(struct storage_backend *b, const char *key, struct storage_read *out,
		    struct lh_error *err);
	/* Size, digest and time of `key` without opening its bytes. 404 if absent. */
	int (*stat)(struct storage_backend *b, const char *key,
		    struct storage_object_info *out, struct lh_error *err);
	/* Delete `key` durably. 404 if absent. */
	int (*remove)(struct storage_backend *b, const char *key, struct lh_error *err);
	/* Call fn for every object whose key starts with `prefix` ("" = all) and
	 * sorts (bytewise) after `after` (NULL = from the start), in key order,
	 * until fn returns 1. Returns 0 or -1 with err. */
	int (*list)(struct storage_backend *b, const char *prefix, const char *after,
		    storage_list_fn fn, void *ctx, struct lh_error *err);

	/* Optional (NULL: a stat answers for it): can the store serve now? 0,
	 * or -1 with err saying why in words (GET /ready, ADR 0200). */
	int (*ping)(struct storage_backend *b, struct lh_error *err);

	/* Free the backend. NULL-safe through storage_backend_destroy(). */
	void (*destroy)(struct storage_backend *b);
};

/* The local-disk backend rooted at `root` (created if missing). Removes stale
 * temporary files left by a crash. NULL with err (500) on failure.
 * Freed with storage_backend_destroy(). Layout and invariants: storage_disk.c
 * and docs/adr/0030-storaged-disk-layout.md. */
struct storage_backend *storage_disk_create(const char *root, struct lh_error *err);

/* Where the S3 backend stores objects; every string borrowed for the call. */
struct storage_s3_config {
	const char *endpoint;     /* "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com" */
	const char *bucket;       /* must exist */
	const char *region;       /* SigV4 region; "" = us-east-1 */
	const char *access_key;   /* AWS_ACCESS_KEY_ID */
	const char *secret_key;   /* AWS_SECRET_ACCESS_KEY */
	int single_writer;        /* [storaged] single_writer: run even when the
				   * store ignores If-None-Match (ADR 0203) */
};

/* The S3 backend over `cfg` (path-style URLs, SigV4). Checks the bucket with
 * one HEAD request and whether the store enforces If-None-Match: * (two PUTs
 * of a probe key under _probe/; a store that does not is refused unless
 * single_writer, ADR 0203); a store that does not answer yet is no error
 * (ADR 0201): the checks run when it first answers. NULL with err on failure: 400 "bad_config" for a missing
 * setting or bucket, 502/504 if the store cannot be reached or refuses.
 * Freed with storage_backend_destroy(). Design: storage_s3.c and
 * docs/adr/0070-s3-backend.md. */
struct storage_backend *storage_s3_create(const struct storage_s3_config *cfg,
					  struct lh_error *err);

/* b->destroy(b) if b is not NULL. */
void storage_backend_destroy(struct storage_backend *b);

#endif
