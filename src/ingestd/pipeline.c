/* pipeline.c — from a spooled CSV to a registered dataset version.
 *
 * DESIGN NOTES (SPEC 6)
 *  1. The schema (row count, fingerprint, chunk index) comes in with the
 *     input: ingestd inferred it while the upload arrived, and a bad CSV was
 *     answered 400 before this function. Nothing has been written yet.
 *  2. The catalog's latest manifest is read; if it already holds an object
 *     with this content digest under this fingerprint, the answer is 200
 *     existing:true before any conversion (idempotent re-ingest). For a new
 *     name, the dataset list is read too: a name equal to an existing one
 *     but for letter case is 409 name_conflict before any conversion
 *     (name_case_check; catalogd's register refuses it anyway).
 *  3. The Parquet file is never stored in the spool: DuckDB's COPY writes
 *     it into a FIFO (a private name in the spool dir) from a converter
 *     thread while this thread reads the FIFO as the chunked body of the
 *     PUT, so encoding and storing overlap and the file costs no disk space
 *     or second read here. Both ends of the FIFO are opened before the COPY
 *     and our own write end is closed only when the COPY has returned, so
 *     EOF means "the COPY is over"; the body is then ended only if it
 *     succeeded, else the PUT is aborted before its last chunk and storaged
 *     keeps nothing. A PUT that ends early (a 412, an error) leaves the
 *     FIFO to be drained so DuckDB never blocks. A FIFO fails loudly on a
 *     seek, so a writer that rewrote earlier bytes would be an error, never
 *     a silently wrong object. The FIFO is unlinked on every path; one left
 *     by a killed process is swept at start (ingestd.c note 7).
 *  4. The object key is content-addressed:
 *     datasets/<name>/<fp hex>/<content hex>.parquet, PUT with
 *     If-None-Match: *. A 412 means an earlier attempt already stored that
 *     content under that schema; the stored object is as good as ours and is
 *     reused (its size comes from a HEAD). Objects are never overwritten.
 *  5. Register last. Only a 200 from catalogd makes a version visible; if
 *     the process dies before it, the object is an orphan for GC, never a
 *     catalog row pointing at missing data. A 409 from catalogd is passed
 *     through unchanged: the live version is untouched.
 *  6. Garbage collection may delete our object between the PUT (or the 412
 *     that reused an old, unreferenced object) and the register; catalogd
 *     then refuses the register with 409 object_missing and writes nothing
 *     (catalogd/gc.c notes 3 and 5), or the HEAD after a 412 finds nothing.
 *     Steps 3-5 then run again (the conversion too: the Parquet bytes were
 *     streamed, not kept), at most PIPELINE_REGISTER_ATTEMPTS times in all;
 *     after that the 409 object_missing (or 503 busy) is answered
 *     (retryable).
 */
#include "ingestd/pipeline.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/names.h"
#include "common/xmalloc.h"
#include "ingestd/format.h"
#include "ingestd/parquet_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* PUT + register attempts when GC removed the object in between (note 6). */
#define PIPELINE_REGISTER_ATTEMPTS 3

/* ---- the service's conversion slots (pipeline.h) ----------------------- */

void conversion_slots_init(struct conversion_slots *s, int max)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->running = 0;
	s->max = max;
}

void conversion_slots_free(struct conversion_slots *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
}

static void conversion_acquire(struct conversion_slots *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->running >= s->max)
		pthread_cond_wait(&s->cond, &s->lock);
	s->running++;
	pthread_mutex_unlock(&s->lock);
}

static void conversion_release(struct conversion_slots *s)
{
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* A peer's non-2xx answer as our error: its message if it sent JSON. */
static int upstream_fail(const char *peer, const struct http_client_response *resp,
			 struct lh_error *err)
{
	json_t *o = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	const char *msg = o ? json_string_value(json_object_get(o, "error")) : NULL;
	if (resp->status == 507)        /* a full disk behind us is still a full disk */
		lh_fail(err, 507, "insufficient_storage", "%s", msg ? msg : "out of disk space");
	else
		lh_fail(err, 502, "upstream_failed", "%s answered %ld%s%s", peer, resp->status,
			msg ? ": " : "", msg ? msg : "");
	json_decref(o);
	return -1;
}

/* GET the latest manifest; *manifest = NULL when the dataset does not exist. */
static int latest_manifest(const struct pipeline_env *env, const char *name,
			   json_t **manifest, struct lh_error *err)
{
	*manifest = NULL;
	char *url = xasprintf("%s/catalog/manifest/%s", env->catalogd_url, name);
	struct http_client_response resp;
	int rc = http_client_json_auth("GET", url, NULL, env->request_id, env->bearer_token,
				       &resp, err);
	free(url);
	if (rc != 0) {
		snprintf(err->msg, sizeof err->msg, "the catalog is not reachable");
		return -1;
	}
	if (resp.status == 404) {
		rc = 0;
	} else if (resp.status == 200) {
		*manifest = json_loadb(resp.body, resp.body_len, 0, NULL);
		if (!*manifest)
			rc = lh_fail(err, 502, "upstream_failed", "the catalog sent an unreadable manifest");
	} else {
		rc = upstream_fail("the catalog", &resp, err);
	}
	http_client_response_free(&resp);
	return rc;
}

/* Note 2: a new name that equals an existing dataset's but for letter case
 * is refused before any conversion (ADR 0112). catalogd decides in the end
 * (its register answers the same 409 name_conflict); this spares the work
 * and the orphan object. 0 when the name is free of such a clash. */
static int name_case_check(const struct pipeline_env *env, const char *name,
			   struct lh_error *err)
{
	char *url = xasprintf("%s/catalog/datasets", env->catalogd_url);
	struct http_client_response resp = { 0 };
	json_t *doc = NULL, *d;
	size_t i;
	int rc = http_client_json_auth("GET", url, NULL, env->request_id, env->bearer_token,
				       &resp, err);
	free(url);
	if (rc != 0) {
		snprintf(err->msg, sizeof err->msg, "the catalog is not reachable");
		return -1;
	}
	if (resp.status != 200) {
		rc = upstream_fail("the catalog", &resp, err);
		goto out;
	}
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	json_array_foreach(json_object_get(doc, "datasets"), i, d) {
		const char *other = json_string_value(json_object_get(d, "name"));
		if (other && !strcasecmp(other, name) && strcmp(other, name)) {
			rc = dataset_name_conflict(err, name, other);
			break;
		}
	}
out:
	json_decref(doc);
	http_client_response_free(&resp);
	return rc;
}

/* The manifest's object with this content digest, or NULL (note 2). */
static json_t *find_object(json_t *manifest, const char *fingerprint, const char *digest)
{
	if (!manifest)
		return NULL;
	const char *fp = json_string_value(json_object_get(manifest, "schema_fingerprint"));
	if (!fp || strcmp(fp, fingerprint) != 0)
		return NULL;
	size_t i;
	json_t *obj;
	json_array_foreach(json_object_get(manifest, "objects"), i, obj) {
		const char *d = json_string_value(json_object_get(obj, "content_sha256"));
		if (d && !strcmp(d, digest))
			return obj;
	}
	return NULL;
}

static json_t *result_body(json_t *manifest, int existing, uint64_t rows,
			   uint64_t parquet_size, const char *key)
{
	json_t *o = json_object();
	json_object_set(o, "manifest", manifest);
	json_object_set_new(o, "existing", json_boolean(existing));
	json_object_set_new(o, "row_count", json_integer((json_int_t)rows));
	json_object_set_new(o, "parquet_size", json_integer((json_int_t)parquet_size));
	json_object_set_new(o, "parquet_key", json_string(key));
	return o;
}

/* ---- converting straight into the PUT (note 3) ------------------------- */

/* One conversion streamed into one PUT. DuckDB writes the Parquet file into
 * a FIFO; the request thread reads the FIFO as the PUT's chunked body. */
struct converter {
	int spool_fd;
	const struct ingest_schema *schema;
	const char *fifo_path;
	struct parquet_writer_options opts;
	int read_end;                /* the PUT's body comes from here */
	int write_end;               /* ours: held until the COPY is over, so EOF
				      * on read_end means "the COPY is over" */
	pthread_t thread;
	pthread_mutex_t lock;        /* guards finished, rc, err */
	int finished;
	int rc;                      /* parquet_write_input()'s result */
	struct lh_error err;
	uint64_t bytes;              /* Parquet bytes handed to the PUT */
	int at_eof;                  /* the PUT read the FIFO to its end */
	atomic_int cancel;           /* the PUT ended early: stop converting */
};

static void *converter_main(void *arg)
{
	struct converter *c = arg;
	struct lh_error err = { 0 };
	/* parquet_write_input() itself fails unless it wrote schema->row_count
	 * rows; the schema's format reads the spool (format.h) */
	int rc = parquet_write_input(c->spool_fd, c->schema, c->fifo_path, &c->opts, NULL, &err);
	pthread_mutex_lock(&c->lock);
	c->finished = 1;
	c->rc = rc;
	c->err = err;                /* moves `extra` */
	pthread_mutex_unlock(&c->lock);
	close(c->write_end);         /* DuckDB closed its end: the reader sees EOF */
	c->write_end = -1;
	return NULL;
}

/* Read the FIFO to EOF, which comes once the COPY has returned, so DuckDB
 * never blocks on a full pipe (nor on opening it: a reader is there). */
static void fifo_drain(int fd)
{
	char scratch[64 << 10];
	for (;;) {
		ssize_t n = read(fd, scratch, sizeof scratch);
		if (n == 0 || (n < 0 && errno != EINTR))
			return;
	}
}

/* The PUT's body: the FIFO's bytes; at EOF the body ends only if the COPY
 * succeeded, else the PUT is aborted and storaged keeps nothing. */
static ssize_t fifo_source(void *ctx, char *buf, size_t max)
{
	struct converter *c = ctx;
	for (;;) {
		ssize_t n = read(c->read_end, buf, max);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0)
			c->bytes += (uint64_t)n;
		if (n != 0)
			return n < 0 ? -1 : n;
		c->at_eof = 1;
		pthread_mutex_lock(&c->lock);
		int ok = c->finished && c->rc == 0;
		pthread_mutex_unlock(&c->lock);
		return ok ? 0 : -1;
	}
}

/* Create the FIFO at `path` and open both ends; -1 with err on failure. */
static int fifo_open(struct converter *c, const char *path, struct lh_error *err)
{
	c->read_end = c->write_end = -1;
	if (mkfifo(path, 0600) != 0) {
		if (errno == ENOSPC || errno == EDQUOT)
			return lh_fail(err, 507, "insufficient_storage",
				       "the ingest spool is out of disk space");
		return lh_fail(err, 500, "io_error", "could not create %s: %s", path, strerror(errno));
	}
	/* The read end first (O_NONBLOCK: no writer yet), then our write end. */
	c->read_end = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->read_end >= 0)
		c->write_end = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	int flags = c->read_end >= 0 ? fcntl(c->read_end, F_GETFL) : -1;
	if (c->write_end < 0 || flags < 0 ||
	    fcntl(c->read_end, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		lh_fail(err, 500, "io_error", "could not open %s: %s", path, strerror(errno));
		if (c->read_end >= 0)
			close(c->read_end);
		if (c->write_end >= 0)
			close(c->write_end);
		c->read_end = c->write_end = -1;
		return -1;
	}
	(void)fcntl(c->read_end, F_SETPIPE_SZ, LH_PIPELINE_PIPE_BYTES);  /* best effort */
	return 0;
}

enum store_result { STORE_FAILED = -1, STORE_DONE = 0, STORE_GONE = 1 };

/* HEAD the object another attempt stored (a 412): its size, or STORE_GONE
 * when GC removed it since (note 6). */
static int stored_size(const struct pipeline_env *env, const char *key, uint64_t *size,
		       struct lh_error *err)
{
	char *url = xasprintf("%s/storage/get/%s", env->storaged_url, key);
	struct http_client_response resp = { 0 };
	struct http_client_request r;
	int rc = STORE_FAILED;
	http_client_request_init(&r);
	r.method = "HEAD";
	r.url = url;
	r.request_id = env->request_id;
	r.bearer_token = env->bearer_token;
	if (http_client_do(&r, &resp, err) != 0) {
		snprintf(err->msg, sizeof err->msg, "the object store is not reachable");
	} else if (resp.status == 404) {
		rc = STORE_GONE;
	} else if (resp.status != 200 || resp.content_length == UINT64_MAX) {
		upstream_fail("the object store", &resp, err);
	} else {
		*size = resp.content_length;
		rc = STORE_DONE;
	}
	http_client_response_free(&resp);
	free(url);
	return rc;
}

/* Convert the spooled CSV to Parquet and PUT it write-once under `key` while
 * it is written (notes 3, 4). Returns STORE_DONE with *size the stored
 * object's size (ours, or the one a 412 says is already there), STORE_GONE
 * when a 412's object was garbage-collected before our HEAD, or STORE_FAILED
 * with err. Whatever happens, the converter is joined and nothing of ours
 * stays in storaged unless the conversion succeeded. */
static int store_parquet(const struct pipeline_env *env, const struct pipeline_input *in,
			 const char *key, const char *fifo_path, uint64_t *size,
			 struct lh_error *err)
{
	struct converter c = {
		.spool_fd = in->spool_fd, .schema = in->schema, .fifo_path = fifo_path,
		.opts = { .memory_limit_bytes = env->duckdb_memory_bytes,
			  .threads = env->duckdb_threads, .temp_directory = env->spool_dir,
			  .cancel = &c.cancel },
	};
	/* 100-continue: storaged answers a 412 (or 413, 507) before the body,
	 * and curl must hear it instead of failing to send into a closed
	 * connection. */
	const char *hdrs[] = { "If-None-Match: *", "Content-Type: application/octet-stream",
			       "Expect: 100-continue", NULL };
	char *put_url = xasprintf("%s/storage/put/%s", env->storaged_url, key);
	struct http_client_response resp = { 0 };
	struct http_client_request r;
	struct lh_error put_err = { 0 };
	int rc = STORE_FAILED, put_rc;

	pthread_mutex_init(&c.lock, NULL);
	if (fifo_open(&c, fifo_path, err) != 0)
		goto out;
	conversion_acquire(env->conversions);
	if (pthread_create(&c.thread, NULL, converter_main, &c) != 0) {
		conversion_release(env->conversions);
		close(c.write_end);
		lh_fail(err, 500, "internal", "could not start the conversion");
		goto out_fifo;
	}
	http_client_request_init(&r);
	r.method = "PUT";
	r.url = put_url;
	r.headers = hdrs;
	r.request_id = env->request_id;
	r.bearer_token = env->bearer_token;
	r.body_source = fifo_source;
	r.body_source_ctx = &c;      /* body_source_len 0: chunked */
	/* The PUT lasts as long as the conversion: allow 1 s per MiB of CSV
	 * on top of the usual limit. */
	r.timeout_ms = LH_HTTP_CLIENT_TIMEOUT_MS + (unsigned)(in->schema->data_end >> 20) * 1000u;
	put_rc = http_client_do(&r, &resp, &put_err);
	int put_ended_early = !c.at_eof;
	if (put_ended_early) {
		/* A 412 or an error before the body's end: the rest of the
		 * Parquet is not needed. The conversion is cancelled (it stops
		 * at its next batch; its "cancelled" error is ours, not the
		 * answer) and the FIFO drained until DuckDB has let go of it.
		 * Closing our read end instead could leave DuckDB blocked for
		 * ever in open() of a FIFO without a reader. */
		atomic_store(&c.cancel, 1);
		fifo_drain(c.read_end);
	}
	pthread_join(c.thread, NULL);
	conversion_release(env->conversions);

	if (!put_ended_early && c.rc != 0) {  /* the PUT was aborted: nothing stored */
		if (c.bytes)
			log_event("info", "ingestd", "%s: the conversion failed after %llu Parquet "
				  "bytes were streamed; the PUT was aborted", in->name,
				  (unsigned long long)c.bytes);
		*err = c.err;
		memset(&c.err, 0, sizeof c.err);
	} else if (put_rc != 0) {
		*err = put_err;
		memset(&put_err, 0, sizeof put_err);
		if (c.bytes)   /* e.g. storaged cut a body over its max_object_bytes */
			snprintf(err->msg, sizeof err->msg, "the object store closed the connection "
				 "after %llu bytes of the Parquet file (is it larger than storaged's "
				 "max_object_bytes?)", (unsigned long long)c.bytes);
		else
			snprintf(err->msg, sizeof err->msg, "the object store is not reachable");
	} else if (resp.status == 200) {
		*size = c.bytes;
		rc = STORE_DONE;
	} else if (resp.status == 412) {  /* that content under that schema is there */
		rc = stored_size(env, key, size, err);
	} else {
		upstream_fail("the object store", &resp, err);
	}
out_fifo:
	close(c.read_end);
out:
	lh_error_clear(&c.err);
	lh_error_clear(&put_err);
	pthread_mutex_destroy(&c.lock);
	http_client_response_free(&resp);
	free(put_url);
	return rc;
}

static json_t *register_body(const struct pipeline_input *in, const struct ingest_schema *s,
			     const char *key, uint64_t size)
{
	json_t *schema = json_array();
	for (size_t i = 0; i < s->ncols; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "name", json_string(s->columns[i].name));
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		json_object_set_new(c, "type", json_string(schema_type_name(&s->columns[i].type, tbuf)));
		json_object_set_new(c, "nullable", json_boolean(s->columns[i].nullable));
		json_array_append_new(schema, c);
	}
	json_t *obj = json_object();
	json_object_set_new(obj, "key", json_string(key));
	json_object_set_new(obj, "size", json_integer((json_int_t)size));
	json_object_set_new(obj, "row_count", json_integer((json_int_t)s->row_count));
	json_object_set_new(obj, "content_sha256", json_string(in->content_sha256));
	json_t *objects = json_array();
	json_array_append_new(objects, obj);
	json_t *b = json_object();
	json_object_set_new(b, "name", json_string(in->name));
	json_object_set_new(b, "schema_fingerprint", json_string(s->fingerprint));
	json_object_set_new(b, "schema", schema);
	json_object_set_new(b, "objects", objects);
	json_object_set_new(b, "row_count", json_integer((json_int_t)s->row_count));
	json_object_set_new(b, "mode", json_string(in->mode));
	return b;
}

int pipeline_run(const struct pipeline_env *env, const struct pipeline_input *in,
		 int *status, json_t **body, struct lh_error *err)
{
	int rc = -1;
	const struct ingest_schema *schema = in->schema;                         /* 1 */
	json_t *latest = NULL, *reg = NULL, *answer = NULL;
	char *key = NULL, *fifo_path = NULL, *reg_text = NULL, *url = NULL;
	struct http_client_response resp = { 0 };
	uint64_t size = 0;

	if (latest_manifest(env, in->name, &latest, err) != 0)                  /* 2 */
		goto out;
	if (!latest && name_case_check(env, in->name, err) != 0)
		goto out;
	json_t *same = find_object(latest, schema->fingerprint, in->content_sha256);
	if (same) {
		*status = 200;
		*body = result_body(latest, 1, schema->row_count,
				    (uint64_t)json_integer_value(json_object_get(same, "size")),
				    json_string_value(json_object_get(same, "key")));
		rc = 0;
		goto out;
	}

	key = xasprintf("datasets/%s/%s/%s.parquet", in->name,                  /* 4 */
			schema->fingerprint + strlen("sha256:"), in->content_sha256);
	fifo_path = xasprintf("%s/%s.%d.%lx.parquet", env->spool_dir,          /* 3 */
			      in->content_sha256, (int)getpid(), (unsigned long)pthread_self());
	url = xasprintf("%s/catalog/register", env->catalogd_url);
	for (int attempt = 1;; attempt++) {
		unlink(fifo_path);
		int stored = store_parquet(env, in, key, fifo_path, &size, err);  /* 3, 4 */
		if (stored == STORE_FAILED)
			goto out;
		if (stored == STORE_GONE) {                                      /* 6 */
			if (attempt == PIPELINE_REGISTER_ATTEMPTS) {
				lh_fail(err, 503, "busy", "the object store kept losing the object "
					"to garbage collection; try again");
				goto out;
			}
			continue;
		}
		json_decref(reg);
		free(reg_text);
		http_client_response_free(&resp);
		json_decref(answer);
		answer = NULL;
		reg = register_body(in, schema, key, size);                      /* 5 */
		reg_text = json_dump_compact(reg);
		if (http_client_json_auth("POST", url, reg_text, env->request_id,
					  env->bearer_token, &resp, err) != 0) {
			snprintf(err->msg, sizeof err->msg, "the catalog is not reachable");
			goto out;
		}
		answer = json_loadb(resp.body, resp.body_len, 0, NULL);
		const char *code = json_string_value(json_object_get(answer, "code"));
		if (resp.status != 409 || !code || strcmp(code, "object_missing") != 0 ||
		    attempt == PIPELINE_REGISTER_ATTEMPTS)
			break;
		log_event("info", "ingestd", "%s: garbage collection removed %s before the "   /* 6 */
			  "register; storing it again (attempt %d)", in->name, key, attempt + 1);
	}
	if (resp.status == 200 && answer) {
		json_t *manifest = json_object_get(answer, "manifest");
		int existing = json_is_true(json_object_get(answer, "existing"));
		*status = 200;
		*body = result_body(manifest, existing, schema->row_count, size, key);
		rc = 0;
	} else if (resp.status == 409 && answer) {
		*status = 409;
		*body = json_incref(answer);
		rc = 0;
	} else if (resp.status >= 400 && resp.status < 500 && answer) {
		/* The catalog refused the request itself: say so as it did. */
		lh_fail(err, (int)resp.status,
			json_string_value(json_object_get(answer, "code")) ?: "bad_request", "%s",
			json_string_value(json_object_get(answer, "error")) ?: "rejected by the catalog");
	} else {
		upstream_fail("the catalog", &resp, err);
	}
out:
	if (fifo_path)
		unlink(fifo_path);
	http_client_response_free(&resp);
	json_decref(answer);
	json_decref(reg);
	json_decref(latest);
	free(reg_text);
	free(url);
	free(fifo_path);
	free(key);
	return rc;
}
