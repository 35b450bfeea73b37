/* pipeline.c — from a spooled CSV to a registered dataset version.
 *
 * DESIGN NOTES (SPEC 6)
 *  1. The schema (row count, fingerprint, chunk index) comes in with the
 *     input: ingestd inferred it while the upload arrived, and a bad CSV was
 *     answered 400 before this function. Nothing has been written yet.
 *  2. The catalog's latest manifest is read; if it already holds an object
 *     with this content digest under this fingerprint, the answer is 200
 *     existing:true before any conversion (idempotent re-ingest).
 *  3. The Parquet file is written to a private temp path in the spool dir
 *     and unlinked on every path out of this function.
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
 *     (catalogd/gc.c notes 3 and 5). The Parquet file is still in the spool,
 *     so steps 4-5 run again, at most PIPELINE_REGISTER_ATTEMPTS times in all;
 *     after that the 409 object_missing is answered (retryable).
 */
#include "ingestd/pipeline.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ingestd/infer.h"
#include "ingestd/parquet_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PUT + register attempts when GC removed the object in between (note 6). */
#define PIPELINE_REGISTER_ATTEMPTS 3

/* Conversions are memory- and CPU-heavy: at most this many at once. */
#define PIPELINE_MAX_CONVERSIONS 2
static pthread_mutex_t conv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conv_cond = PTHREAD_COND_INITIALIZER;
static int conv_running;

static void conversion_acquire(void)
{
	pthread_mutex_lock(&conv_lock);
	while (conv_running >= PIPELINE_MAX_CONVERSIONS)
		pthread_cond_wait(&conv_cond, &conv_lock);
	conv_running++;
	pthread_mutex_unlock(&conv_lock);
}

static void conversion_release(void)
{
	pthread_mutex_lock(&conv_lock);
	conv_running--;
	pthread_cond_signal(&conv_cond);
	pthread_mutex_unlock(&conv_lock);
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

/* PUT the file write-once; on 412 reuse the stored object (note 4).
 * *size is the stored object's size. GC may delete the object between a 412
 * and our HEAD (note 6): the PUT is then simply made again (bounded). */
static int put_object(const struct pipeline_env *env, const char *key, const char *path,
		      uint64_t *size, struct lh_error *err)
{
	int rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *put_url = xasprintf("%s/storage/put/%s", env->storaged_url, key);
	char *get_url = xasprintf("%s/storage/get/%s", env->storaged_url, key);
	struct http_client_response resp = { 0 };
	struct http_client_request r;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		lh_fail(err, 500, "io_error", "the Parquet file could not be read back");
		goto out;
	}
	for (int attempt = 1; attempt <= PIPELINE_REGISTER_ATTEMPTS; attempt++) {
		const char *hdrs[] = { "If-None-Match: *", "Content-Type: application/octet-stream",
				       NULL };
		http_client_response_free(&resp);
		http_client_request_init(&r);
		r.method = "PUT";
		r.url = put_url;
		r.headers = hdrs;
		r.request_id = env->request_id;
		r.bearer_token = env->bearer_token;
		r.body_fd = fd;
		r.body_fd_len = (uint64_t)st.st_size;
		if (lseek(fd, 0, SEEK_SET) != 0) {
			lh_fail(err, 500, "io_error", "the Parquet file could not be read back");
			goto out;
		}
		if (http_client_do(&r, &resp, err) != 0) {
			snprintf(err->msg, sizeof err->msg, "the object store is not reachable");
			goto out;
		}
		if (resp.status == 200) {
			*size = (uint64_t)st.st_size;
			rc = 0;
			goto out;
		}
		if (resp.status != 412) {
			upstream_fail("the object store", &resp, err);
			goto out;
		}
		http_client_response_free(&resp);
		http_client_request_init(&r);
		r.method = "HEAD";
		r.url = get_url;
		r.request_id = env->request_id;
		r.bearer_token = env->bearer_token;
		if (http_client_do(&r, &resp, err) != 0) {
			snprintf(err->msg, sizeof err->msg, "the object store is not reachable");
			goto out;
		}
		if (resp.status == 404)
			continue;  /* garbage-collected since the 412: PUT again */
		if (resp.status != 200 || resp.content_length == UINT64_MAX) {
			upstream_fail("the object store", &resp, err);
			goto out;
		}
		*size = resp.content_length;
		rc = 0;
		goto out;
	}
	lh_fail(err, 503, "busy", "the object store kept losing the object to garbage collection; "
		"try again");
out:
	http_client_response_free(&resp);
	free(put_url);
	free(get_url);
	if (fd >= 0)
		close(fd);
	return rc;
}

static json_t *register_body(const struct pipeline_input *in, const struct ingest_schema *s,
			     const char *key, uint64_t size)
{
	json_t *schema = json_array();
	for (size_t i = 0; i < s->ncols; i++) {
		json_t *c = json_object();
		json_object_set_new(c, "name", json_string(s->columns[i].name));
		json_object_set_new(c, "type", json_string(ingest_type_name(s->columns[i].type)));
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
	char *key = NULL, *parquet_path = NULL, *reg_text = NULL, *url = NULL;
	struct http_client_response resp = { 0 };
	uint64_t size = 0;

	if (latest_manifest(env, in->name, &latest, err) != 0)                  /* 2 */
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
	parquet_path = xasprintf("%s/%s.%d.%lx.parquet", env->spool_dir,        /* 3 */
				 in->content_sha256, (int)getpid(),
				 (unsigned long)pthread_self());
	struct parquet_writer_options opts = {
		.memory_limit_bytes = env->duckdb_memory_bytes,
		.threads = env->duckdb_threads,
		.temp_directory = env->spool_dir,
	};
	conversion_acquire();
	uint64_t rows_written = 0;
	int crc = parquet_write_csv(in->spool_fd, schema, parquet_path, &opts, &rows_written, err);
	conversion_release();
	if (crc != 0)
		goto out;
	if (rows_written != schema->row_count) {
		lh_fail(err, 500, "convert_failed", "the Parquet file has %llu rows, the CSV %llu",
			(unsigned long long)rows_written, (unsigned long long)schema->row_count);
		goto out;
	}
	url = xasprintf("%s/catalog/register", env->catalogd_url);
	for (int attempt = 1;; attempt++) {
		if (put_object(env, key, parquet_path, &size, err) != 0)        /* 4 */
			goto out;
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
	if (parquet_path)
		unlink(parquet_path);
	http_client_response_free(&resp);
	json_decref(answer);
	json_decref(reg);
	json_decref(latest);
	free(reg_text);
	free(url);
	free(parquet_path);
	free(key);
	return rc;
}
