/* storaged.c — the object store service (docs/api.md): HTTP routes over a
 * struct storage_backend, plus storaged_start/stop/main.
 *
 * The routes validate keys (common/keys.c), enforce max_object_bytes and turn
 * backend results into HTTP; they never touch files, so the disk backend
 * (storage_disk.c) and the S3 one (storage_s3.c) serve the same API. Bodies
 * stream both ways: PUT hands each chunk to the backend as it arrives
 * (begin/body/end/done, see http_server.h), GET hands the backend's fd (or
 * read callback) to the HTTP layer.
 *
 * Invariants kept here:
 *  1. An upload is in exactly one of: running (state->up set), committed or
 *     aborted (state->up NULL). done() aborts whatever is still running, so a
 *     413, a backend error or a client that goes away leaves nothing behind.
 *  2. The size cap is checked before a byte is written: on Content-Length in
 *     begin(), and on the running count in body() before each write.
 */
#include "storaged/storaged.h"

#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/ready.h"
#include "common/service.h"
#include "common/xmalloc.h"
#include "storaged/range.h"
#include "storaged/storage_backend.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define OCTET_STREAM "application/octet-stream"

struct storaged {
	struct http_server *srv;
	struct storage_backend *backend;
	uint64_t max_object_bytes;
	struct ready *ready;        /* GET /ready: the object store (ADR 0200) */
	char *disk_root;            /* the disk backend's directory, else NULL */
};

/* /ready: the disk directory is writable; the S3 bucket answers HeadBucket
 * (backend->ping); a backend without ping answers a stat of a key that is
 * never written (found or 404 both mean it answers). */
static void storaged_check(void *ctx, struct ready *r)
{
	struct storaged *s = ctx;
	struct lh_error err = { 0 };
	struct storage_object_info info;
	struct timespec t0, t1;
	char why[600] = "";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s->disk_root && access(s->disk_root, W_OK) != 0) {
		snprintf(why, sizeof why, "the directory %s is not writable: %s", s->disk_root,
			 strerror(errno));
	} else if (s->backend->ping) {
		if (s->backend->ping(s->backend, &err) != 0)
			snprintf(why, sizeof why, "%s", err.msg);
	} else if (s->backend->stat(s->backend, "_probe/ready", &info, &err) != 0 &&
		   err.status != 404) {
		snprintf(why, sizeof why, "%s", err.msg);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ready_report(r, "object_store", why[0] == '\0',
		     (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
		     why[0] ? why : NULL);
	lh_error_clear(&err);
}

/* --- backend helpers shared by every backend ----------------------------- */

void storage_read_close(struct storage_read *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->close)
		r->close(r->ctx);
	r->close = NULL;
	r->ctx = NULL;
}

void storage_backend_destroy(struct storage_backend *b)
{
	if (b)
		b->destroy(b);
}

/* --- small helpers ------------------------------------------------------ */

/* The request's key (the path after the route prefix), validated. */
static const char *request_key(struct http_request *req, struct lh_error *err)
{
	const char *key = http_request_path_rest(req);
	if (storage_key_validate(key, key ? strlen(key) : 0, err))
		return NULL;
	return key;
}

static void set_etag(struct http_request *req, const char *sha256)
{
	char etag[LH_SHA256_HEX_LEN + 3];
	snprintf(etag, sizeof etag, "\"%s\"", sha256);
	http_response_header(req, "ETag", etag);
}

/* RFC 3339 UTC, second precision: "2024-05-01T12:00:00Z". */
static void format_rfc3339(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* HTTP date for Last-Modified: "Wed, 01 May 2024 12:00:00 GMT". */
static void format_http_date(int64_t ms, char out[40])
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

/* Whether an If-None-Match header matches `sha256` (or is "*"). */
static int etag_matches(const char *header, const char *sha256)
{
	const char *p = header;
	size_t n = strlen(sha256);
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p == '"' && strncmp(p + 1, sha256, n) == 0 && p[1 + n] == '"')
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/* --- PUT /storage/put/<key> --------------------------------------------- */

struct put_state {
	struct storage_backend *backend;
	struct storage_put *up;     /* invariant 1: NULL once committed or aborted */
	uint64_t received;
	uint64_t max;
	char *key;
};

static void put_state_abort(struct put_state *st)
{
	if (st->up)
		st->backend->put_abort(st->up);
	st->up = NULL;
}

static int put_begin(struct http_request *req)
{
	struct storaged *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct storage_put *up = NULL;
	const char *key = request_key(req, &err);
	const char *inm = http_request_header(req, "If-None-Match");
	int create_only = 0;
	uint64_t declared = 0;
	int rc = 0;

	if (!key) {
		rc = -1;
		goto out;
	}
	if (inm) {
		while (*inm == ' ' || *inm == '\t')
			inm++;
		if (strcmp(inm, "*") != 0) {
			rc = lh_fail(&err, 400, "bad_request",
				     "PUT supports only \"If-None-Match: *\" (write-once)");
			goto out;
		}
		create_only = 1;
	}
	if (http_request_content_length(req, &declared) && declared > s->max_object_bytes) {
		rc = lh_fail(&err, 413, "too_large",
			     "object of %" PRIu64 " bytes exceeds the limit of %" PRIu64 " bytes",
			     declared, s->max_object_bytes);
		goto out;
	}
	rc = s->backend->put_begin(s->backend, key, create_only, &up, &err);
	if (rc)
		goto out;
	struct put_state *st = xcalloc(1, sizeof *st);
	st->backend = s->backend;
	st->up = up;
	st->max = s->max_object_bytes;
	st->key = xstrdup(key);
	http_request_set_state(req, st);
out:
	if (rc)
		http_respond_error(req, &err);
	lh_error_clear(&err);
	return rc;
}

static int put_body(struct http_request *req, const char *data, size_t n)
{
	struct put_state *st = http_request_state(req);
	struct lh_error err = { 0 };
	int rc = 0;

	if (!st->up)
		return 0;
	if (n > st->max - st->received) {   /* invariant 2 */
		put_state_abort(st);
		rc = lh_fail(&err, 413, "too_large",
			     "object exceeds the limit of %" PRIu64 " bytes", st->max);
		goto out;
	}
	st->received += n;
	rc = st->backend->put_write(st->up, data, n, &err);
	if (rc)
		put_state_abort(st);
out:
	if (rc)
		http_respond_error(req, &err);
	lh_error_clear(&err);
	return rc;
}

static int put_end(struct http_request *req)
{
	struct put_state *st = http_request_state(req);
	struct lh_error err = { 0 };
	struct storage_object_info info;
	struct storage_put *up = st ? st->up : NULL;

	if (!up)
		return -1;      /* cannot happen: a failed upload has answered */
	st->up = NULL;   /* commit consumes it, success or not */
	if (st->backend->put_commit(up, &info, &err)) {
		http_respond_error(req, &err);
		lh_error_clear(&err);
		return -1;
	}
	json_t *body = json_object();
	json_object_set_new(body, "key", json_string(st->key));
	json_object_set_new(body, "size", json_integer((json_int_t)info.size));
	json_object_set_new(body, "sha256", json_string(info.sha256));
	http_respond_json(req, 200, body);
	set_etag(req, info.sha256);
	return 0;
}

static void put_done(struct http_request *req, int completed)
{
	struct put_state *st = http_request_state(req);
	if (!st)
		return;
	put_state_abort(st);   /* invariant 1: disconnects and errors land here */
	free(st->key);
	free(st);
	http_request_set_state(req, NULL);
}

/* --- GET/HEAD /storage/get/<key> ---------------------------------------- */

/* A range of a backend reader, for backends that give no fd. */
struct range_reader {
	struct storage_read r;
	uint64_t off;
};

static ssize_t range_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct range_reader *rr = ctx;
	return rr->r.read(rr->r.ctx, rr->off + pos, buf, max);
}

static void range_free(void *ctx)
{
	struct range_reader *rr = ctx;
	storage_read_close(&rr->r);
	free(rr);
}

static int get_end(struct http_request *req)
{
	struct storaged *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct storage_read r = { .fd = -1 };
	const char *key = request_key(req, &err);
	const char *inm = http_request_header(req, "If-None-Match");
	uint64_t off = 0, len = 0;
	int status = 200;
	char date[40], crange[80];
	int rc = 0;

	if (!key || s->backend->open(s->backend, key, &r, &err)) {
		rc = -1;
		goto out;
	}
	format_http_date(r.info.modified_ms, date);
	if (inm && etag_matches(inm, r.info.sha256)) {
		http_respond_empty(req, 304);
		set_etag(req, r.info.sha256);
		http_response_header(req, "Last-Modified", date);
		goto out;
	}
	switch (storage_range_parse(http_request_header(req, "Range"), r.info.size, &off, &len)) {
	case STORAGE_RANGE_NONE:
		off = 0;
		len = r.info.size;
		break;
	case STORAGE_RANGE_PARTIAL:
		status = 206;
		snprintf(crange, sizeof crange, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
			 off, off + len - 1, r.info.size);
		break;
	case STORAGE_RANGE_UNSATISFIABLE:
		lh_fail(&err, 416, "range_not_satisfiable",
			"the range is outside the object's %" PRIu64 " bytes", r.info.size);
		http_respond_error(req, &err);
		snprintf(crange, sizeof crange, "bytes */%" PRIu64, r.info.size);
		http_response_header(req, "Content-Range", crange);
		goto out;
	}
	if (r.fd >= 0) {
		http_respond_fd(req, status, OCTET_STREAM, r.fd, r.fd_offset + off, len);
		r.fd = -1;      /* the HTTP layer owns and closes it now */
	} else {
		struct range_reader *rr = xmalloc(sizeof *rr);
		rr->r = r;
		rr->off = off;
		r.close = NULL;
		r.ctx = NULL;
		http_respond_stream(req, status, OCTET_STREAM, len, range_read, rr, range_free);
	}
	set_etag(req, r.info.sha256);
	http_response_header(req, "Accept-Ranges", "bytes");
	http_response_header(req, "Last-Modified", date);
	if (status == 206)
		http_response_header(req, "Content-Range", crange);
out:
	if (rc)
		http_respond_error(req, &err);
	storage_read_close(&r);
	lh_error_clear(&err);
	return rc;
}

/* --- DELETE /storage/delete/<key> --------------------------------------- */

static int delete_end(struct http_request *req)
{
	struct storaged *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	const char *key = request_key(req, &err);
	int rc = -1;

	if (key)
		rc = s->backend->remove(s->backend, key, &err);
	if (rc)
		http_respond_error(req, &err);
	else
		http_respond_empty(req, 204);
	lh_error_clear(&err);
	return rc;
}

/* --- GET /storage/list?prefix=&after=&limit= ---------------------------- */

struct list_state {
	json_t *objects;
	size_t n, limit;
	int more;
	int hide_iceberg; /* a read or agent token: no _iceberg/ keys (ADR 0237) */
};

static int list_one(void *ctx, const char *key, const struct storage_object_info *info,
		    struct lh_error *err)
{
	struct list_state *ls = ctx;
	char when[32];
	if (storage_key_validate(key, strlen(key), NULL))
		return 0;              /* a stray name on disk, not an object key */
	if (ls->hide_iceberg && !strncmp(key, "_iceberg/", 9))
		return 0;              /* Iceberg metadata: masked columns' bounds */
	if (ls->n == ls->limit) {
		ls->more = 1;
		return 1;
	}
	format_rfc3339(info->modified_ms, when);
	json_t *o = json_object();
	json_object_set_new(o, "key", json_string(key));
	json_object_set_new(o, "size", json_integer((json_int_t)info->size));
	json_object_set_new(o, "sha256", json_string(info->sha256));
	json_object_set_new(o, "modified", json_string(when));
	json_array_append_new(ls->objects, o);
	ls->n++;
	return 0;
}

/* limit: decimal digits only, 1..LH_LIST_MAX_LIMIT. */
static int parse_limit(const char *s, size_t *out, struct lh_error *err)
{
	size_t v = 0;
	if (!s) {
		*out = LH_LIST_DEFAULT_LIMIT;
		return 0;
	}
	if (!*s)
		goto bad;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (size_t)(*p - '0');
		if (v > LH_LIST_MAX_LIMIT)
			goto bad;
	}
	if (v == 0)
		goto bad;
	*out = v;
	return 0;
bad:
	return lh_fail(err, 400, "bad_request", "limit must be an integer from 1 to %d",
		       LH_LIST_MAX_LIMIT);
}

static int list_end(struct http_request *req)
{
	struct storaged *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	const char *prefix = http_request_query(req, "prefix");
	const char *after = http_request_query(req, "after");
	struct list_state ls = { 0 };
	int rc = 0;

	if (!prefix)
		prefix = "";
	if (after && !*after)
		after = NULL;
	if (strlen(prefix) > LH_KEY_MAX_BYTES || (after && strlen(after) > LH_KEY_MAX_BYTES)) {
		rc = lh_fail(&err, 400, "bad_request",
			     "prefix and after are at most %d bytes", LH_KEY_MAX_BYTES);
		goto out;
	}
	rc = parse_limit(http_request_query(req, "limit"), &ls.limit, &err);
	if (rc)
		goto out;
	ls.objects = json_array();
	ls.hide_iceberg = !tokens_role_sees_personal((enum lh_role)http_request_role(req));
	rc = s->backend->list(s->backend, prefix, after, list_one, &ls, &err);
	if (rc)
		goto out;
	json_t *body = json_object();
	json_t *last = ls.n ? json_object_get(json_array_get(ls.objects, ls.n - 1), "key") : NULL;
	json_object_set_new(body, "next", ls.more && last ? json_copy(last) : json_null());
	json_object_set_new(body, "objects", ls.objects);
	ls.objects = NULL;
	http_respond_json(req, 200, body);
out:
	if (rc)
		http_respond_error(req, &err);
	json_decref(ls.objects);
	lh_error_clear(&err);
	return rc;
}

/* --- service ------------------------------------------------------------ */

static const struct http_route storaged_routes[] = {
	{ .method = "PUT", .path = "/storage/put/*", .name = "storage_put",
	  .begin = put_begin, .body = put_body, .end = put_end, .done = put_done },
	{ .method = "GET", .path = "/storage/get/*", .name = "storage_get", .end = get_end },
	{ .method = "DELETE", .path = "/storage/delete/*", .name = "storage_delete",
	  .end = delete_end },
	{ .method = "GET", .path = "/storage/list", .name = "storage_list", .end = list_end },
};

struct storaged *storaged_start(const struct lh_config *cfg, struct lh_error *err)
{
	struct storaged *s = xcalloc(1, sizeof *s);
	char *root = NULL;

	s->max_object_bytes = cfg->storaged.max_object_bytes ? cfg->storaged.max_object_bytes
							     : LH_DEFAULT_MAX_OBJECT_BYTES;
	if (!strcmp(cfg->storaged.backend, "s3")) {
		/* Credentials only from the environment, under their standard names. */
		struct storage_s3_config s3 = {
			.endpoint = cfg->storaged.s3_endpoint,
			.bucket = cfg->storaged.s3_bucket,
			.region = cfg->storaged.s3_region,
			.access_key = getenv("AWS_ACCESS_KEY_ID"),
			.secret_key = getenv("AWS_SECRET_ACCESS_KEY"),
			.single_writer = cfg->storaged.single_writer,
		};
		if (s->max_object_bytes > LH_S3_MAX_OBJECT_BYTES) {
			lh_fail(err, 400, "bad_config",
				"[storaged] max_object_bytes is at most %llu with the s3 backend",
				(unsigned long long)LH_S3_MAX_OBJECT_BYTES);
			goto fail;
		}
		s->backend = storage_s3_create(&s3, err);
		root = xasprintf("%s/%s", cfg->storaged.s3_endpoint, cfg->storaged.s3_bucket);
	} else if (!cfg->storaged.backend[0] || !strcmp(cfg->storaged.backend, "disk")) {
		root = cfg->storaged.root[0] ? xstrdup(cfg->storaged.root)
					     : xasprintf("%s/objects", cfg->data_dir);
		s->backend = storage_disk_create(root, err);
		s->disk_root = xstrdup(root);
	} else {
		lh_fail(err, 400, "bad_config", "[storaged] backend \"%s\" is not \"disk\" or \"s3\"",
			cfg->storaged.backend);
		goto fail;
	}
	if (!s->backend)
		goto fail;
	struct http_server_config hc = {
		.service = "storaged",
		.bind = cfg->storaged.bind,
		.routes = storaged_routes,
		.nroutes = sizeof storaged_routes / sizeof storaged_routes[0],
		.ctx = s,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.ready = s->ready = ready_create("storaged", storaged_check, s),
	};
	if (auth_http_setup(&hc, cfg, err) != 0)
		goto fail;
	s->srv = http_server_start(&hc, err);
	if (!s->srv)
		goto fail;
	log_event("info", "storaged", "storaged: %s backend at %s, objects up to %" PRIu64 " bytes",
		  s->backend->name, root, s->max_object_bytes);
	free(root);
	return s;
fail:
	free(root);
	storaged_stop(s);
	return NULL;
}

const char *storaged_url(const struct storaged *s)
{
	return http_server_url(s->srv);
}

void storaged_stop(struct storaged *s)
{
	if (!s)
		return;
	http_server_stop(s->srv);   /* in-flight requests finish first */
	storage_backend_destroy(s->backend);
	ready_destroy(s->ready);
	free(s->disk_root);
	free(s);
}

SERVICE_OPS(storaged);

int storaged_main(int argc, char **argv)
{
	return service_run(argc, argv, &storaged_service_ops);
}
