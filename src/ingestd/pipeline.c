/* pipeline.c — from a spooled, inferred upload (any input format, format.h)
 * to a registered dataset version.
 *
 * DESIGN NOTES (docs/api.md, POST /ingest)
 *  1. The schema (row count, fingerprint, chunk index) comes in with the
 *     input: ingestd inferred it while the upload arrived, and a bad CSV was
 *     answered 400 before this function. Nothing has been written yet.
 *  2. The catalog's latest manifest is read; if it already holds an object
 *     with this content digest under this fingerprint (for a replace: as
 *     its only object), the answer is 200 existing:true before any
 *     conversion (idempotent re-ingest). For a new
 *     name, the dataset list is read too: a name equal to an existing one
 *     but for letter case is 409 name_conflict before any conversion
 *     (name_case_check; catalogd's register refuses it anyway).
 *  1a. Declared types (declared.h, ADR 0171): the dataset's stored
 *     declaration (the latest manifest's declared_types) merged with this
 *     upload's ?types is applied to the inferred schema before anything
 *     else uses it; a value that does not fit is a 400 with its line and
 *     column. The merged declaration goes with the register (note 5), and
 *     an upload whose bytes are already stored still registers when it
 *     changes the declaration (catalogd stores it; no new version).
 *  2a. Compatible uploads are cast (cast.h, ADR 0170): if the inferred
 *     fingerprint is not the latest's but every column fits the dataset's
 *     type, the rest of the run uses the cast schema (the dataset's types
 *     and fingerprint), so the idempotency check, the object key, the
 *     Parquet types and the register are the dataset's; the answer lists
 *     `cast`. Otherwise the inferred schema goes on, and catalogd answers
 *     the drift (note 5). A register racing another that changed the
 *     schema meanwhile is drift too: catalogd checks the fingerprint again.
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
 *  3a. An upload whose format says its bytes already are the object
 *     (schema->as_is: a Parquet file whose every column maps exactly, ADR
 *     0184) is PUT as it is, from the spool, with its length: no DuckDB,
 *     no FIFO, and the content digest is the object's. Not when the
 *     schema was cast (note 2a): then it is converted like any upload.
 *  4. The object key is content-addressed:
 *     datasets/<name>/<fp hex>/<content hex>.parquet, PUT with
 *     If-None-Match: *. A 412 means an earlier attempt already stored that
 *     content under that schema; the stored object is as good as ours and is
 *     reused (its size comes from a HEAD). Objects are never overwritten.
 *  5. Register last. Only a 200 from catalogd makes a version visible; if
 *     the process dies before it, the object is an orphan for GC, never a
 *     catalog row pointing at missing data. A 409 from catalogd is passed
 *     through unchanged: the live version is untouched.
 *  5a. With ?evolve=true (ADR 0173) the register asks catalogd to make a
 *     schema change a new version under the upload's fingerprint (after
 *     2a: an upload that fits is cast, not evolved). When 2a does not
 *     apply, each column the dataset also has whose values fit its type is
 *     still read with it (evolve.h; `cast` lists them), so only real
 *     changes are evolved. catalogd's "evolved" (the accepted diff) is the
 *     answer's "evolved", null otherwise. A narrowing is catalogd's 409
 *     schema_narrowed, passed through.
 *  6. Garbage collection may delete our object between the PUT (or the 412
 *     that reused an old, unreferenced object) and the register; catalogd
 *     then refuses the register with 409 object_missing and writes nothing
 *     (catalogd/gc.c notes 3 and 5), or the HEAD after a 412 finds nothing.
 *     Steps 3-5 then run again (the conversion too: the Parquet bytes were
 *     streamed, not kept), at most PIPELINE_REGISTER_ATTEMPTS times in all;
 *     after that the 409 object_missing (or 503 busy) is answered
 *     (retryable).
 *  7. Every 200 answer says how the upload was read: "format"
 *     (pipeline_format_json: the format's name, the delimiter of delimited
 *     text, "ndjson" or "array" for JSON, the sheet of a workbook, and
 *     whether a Parquet file was stored as it is; ADR 0180).
 *  8. Documents and tables do not mix (ADR 0225): a documents dataset's
 *     fingerprint is the fixed one of doc_rows.h; a documents upload into a
 *     dataset with another fingerprint, or a table upload into a documents
 *     dataset, is 409 kind_mismatch in words before anything is written
 *     (also with ?evolve=true).
 */
#include "ingestd/pipeline.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/storage_client.h"
#include "common/xmalloc.h"
#include "ingestd/cast.h"
#include "ingestd/csv.h"
#include "ingestd/declared.h"
#include "ingestd/doc_rows.h"
#include "ingestd/evolve.h"
#include "ingestd/format.h"
#include "ingestd/json_scan.h"
#include "ingestd/parquet_writer.h"
#include "ingestd/xlsx.h"

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

/* The call's request id (and the service token, the clients'). */
static struct peer_call call_of(const struct pipeline_env *env)
{
	struct peer_call call = { .request_id = env->request_id, .who = env->who };
	return call;
}

/* The latest manifest; *manifest = NULL when the dataset does not exist. */
static int latest_manifest(const struct pipeline_env *env, const char *name,
			   struct manifest **manifest, struct lh_error *err)
{
	struct peer_call call = call_of(env);
	if (catalog_client_manifest(env->catalog, &call, name, 0, manifest, err) == 0)
		return 0;
	if (err->status != 404)
		return -1;
	lh_error_clear(err);     /* no such dataset: an answer, not a failure */
	return 0;
}

/* Note 2: a new name that equals an existing dataset's but for letter case
 * is refused before any conversion (ADR 0112). catalogd decides in the end
 * (its register answers the same 409 name_conflict); this spares the work
 * and the orphan object. 0 when the name is free of such a clash. */
static int name_case_check(const struct pipeline_env *env, const char *name,
			   struct lh_error *err)
{
	struct peer_call call = call_of(env);
	struct manifest_summary *list = NULL;
	size_t n = 0;
	int rc = catalog_client_datasets(env->catalog, &call, &list, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *other = list[i].name;
		if (!strcasecmp(other, name) && strcmp(other, name))
			rc = dataset_name_conflict(err, name, other);
	}
	free(list);
	return rc;
}

/* The manifest's object with this content digest, or NULL (note 2). A
 * replace is only a re-ingest when that object is the whole version (as
 * catalogd decides: the same object set); replacing two objects by one of
 * them is a new version. */
static const struct manifest_object *find_object(const struct manifest *m, const char *mode,
						 const char *fingerprint, const char *digest)
{
	if (!m || strcmp(m->fingerprint, fingerprint) != 0)
		return NULL;
	if (mode && !strcmp(mode, "replace") && m->nobjects != 1)
		return NULL;
	for (size_t i = 0; i < m->nobjects; i++)
		if (!strcmp(m->objects[i].content_sha256, digest))
			return &m->objects[i];
	return NULL;
}

static json_t *result_body(const struct manifest *manifest, int existing, uint64_t rows,
			   uint64_t parquet_size, const char *key, const json_t *cast)
{
	json_t *o = json_object();
	json_object_set_new(o, "manifest", manifest_to_json(manifest));
	json_object_set_new(o, "existing", json_boolean(existing));
	json_object_set_new(o, "row_count", json_integer((json_int_t)rows));
	json_object_set_new(o, "parquet_size", json_integer((json_int_t)parquet_size));
	json_object_set_new(o, "parquet_key", json_string(key));
	json_object_set(o, "cast", (json_t *)cast);           /* note 2a: a new reference */
	json_object_set_new(o, "evolved", json_null());       /* note 5a: set by the caller */
	return o;
}

json_t *pipeline_format_json(const struct ingest_schema *s, int stored_as_is)
{
	json_t *o = json_object();
	char delim = csv_format_delimiter(s->format);
	int mode = JSON_MODE_NONE;
	size_t nmarks = 0;
	if (delim) {
		char d[2] = { delim, '\0' };
		json_object_set_new(o, "name", json_string(delim == '\t' ? "tsv" : "csv"));
		json_object_set_new(o, "delimiter", json_string(d));
	} else {
		json_object_set_new(o, "name", json_string(s->format->name));
	}
	if (s->format == &ingest_format_json) {
		json_marks(s, &nmarks, &mode);
		if (mode == JSON_MODE_LINES || mode == JSON_MODE_ARRAY)
			json_object_set_new(o, "layout", json_string(mode == JSON_MODE_LINES
								      ? "ndjson" : "array"));
	}
	const char *sheet = xlsx_sheet_name(s);
	if (sheet)
		json_object_set_new(o, "sheet", json_string(sheet));
	if (s->format == &ingest_format_parquet)
		json_object_set_new(o, "stored_as_is", json_boolean(stored_as_is));
	return o;
}

/* Note 5a: an evolving upload's columns that fit the dataset's types are
 * read with them first (evolve.h); declared columns keep their type. */
static int evolve_cast(const struct ingest_schema *s, const struct manifest *latest,
		       const struct declared_types *declared, struct ingest_schema **out,
		       json_t *cast)
{
	const char **skip = xcalloc(declared->n + 1, sizeof *skip);
	for (size_t i = 0; i < declared->n; i++)
		skip[i] = declared->items[i].column;
	int rc = ingest_evolve_cast(s, latest, skip, declared->n, out, cast);
	free(skip);
	return rc;
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
	struct peer_call call = call_of(env);
	int rc = storage_client_head(env->storage, &call, key, size, err);
	return rc == 0 ? STORE_DONE : rc == 1 ? STORE_GONE : STORE_FAILED;
}

/* Convert the spooled CSV to Parquet and PUT it write-once under `key` while
 * it is written (notes 3, 4). Returns STORE_DONE with *size the stored
 * object's size (ours, or the one a 412 says is already there), STORE_GONE
 * when a 412's object was garbage-collected before our HEAD, or STORE_FAILED
 * with err. Whatever happens, the converter is joined and nothing of ours
 * stays in storaged unless the conversion succeeded. */
static int store_parquet(const struct pipeline_env *env, const struct pipeline_input *in,
			 const struct ingest_schema *schema, const char *key, const char *fifo_path, uint64_t *size,
			 struct lh_error *err)
{
	struct converter c = {
		.spool_fd = in->spool_fd, .schema = schema, .fifo_path = fifo_path,
		.opts = { .memory_limit_bytes = env->duckdb_memory_bytes,
			  .threads = env->duckdb_threads, .temp_directory = env->spool_dir,
			  .cancel = &c.cancel },
	};
	/* 100-continue: storaged answers a 412 (or 413, 507) before the body,
	 * and curl must hear it instead of failing to send into a closed
	 * connection. The PUT lasts as long as the conversion: allow 1 s per
	 * MiB of CSV on top of the usual limit. Chunked: the length is unknown. */
	struct storage_put put = {
		.source = fifo_source, .source_ctx = &c, .write_once = 1, .expect_continue = 1,
		.timeout_ms = LH_HTTP_CLIENT_TIMEOUT_MS +
			      (unsigned)(schema->data_end >> 20) * 1000u,
	};
	struct peer_call call = call_of(env);
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
	put_rc = storage_client_put(env->storage, &call, key, &put, &put_err);
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
	} else if (put_rc < 0) {
		*err = put_err;
		memset(&put_err, 0, sizeof put_err);
		if (!call.status && c.bytes)  /* e.g. storaged cut a body over its max_object_bytes */
			lh_error_rephrase(err, "the object store closed the connection after %llu "
					  "bytes of the Parquet file (is it larger than storaged's "
					  "max_object_bytes?)", (unsigned long long)c.bytes);
	} else if (put_rc == 0) {
		*size = c.bytes;
		rc = STORE_DONE;
	} else {  /* a 412: that content under that schema is there */
		rc = stored_size(env, key, size, err);
	}
out_fifo:
	close(c.read_end);
out:
	lh_error_clear(&c.err);
	lh_error_clear(&put_err);
	pthread_mutex_destroy(&c.lock);
	return rc;
}

/* ---- storing the upload as it is (note 3a) ---------------------------- */

/* PUT the spooled bytes themselves write-once under `key` (note 3a): the
 * schema's format said they already are the object. Results as
 * store_parquet(). */
static int store_as_is(const struct pipeline_env *env, const struct pipeline_input *in,
		       const struct ingest_schema *schema, const char *key, uint64_t *size,
		       struct lh_error *err)
{
	struct storage_fd_body src = { .fd = in->spool_fd, .end = schema->data_end };
	struct storage_put put = {
		.source = storage_fd_body_read, .source_ctx = &src, .length = schema->data_end,
		.write_once = 1, .expect_continue = 1,
		.timeout_ms = LH_HTTP_CLIENT_TIMEOUT_MS + (unsigned)(schema->data_end >> 20) * 1000u,
	};
	struct peer_call call = call_of(env);
	int put_rc = storage_client_put(env->storage, &call, key, &put, err);
	if (put_rc < 0)
		return STORE_FAILED;
	if (put_rc == 1)  /* a 412: that content under that schema is there */
		return stored_size(env, key, size, err);
	*size = schema->data_end;
	return STORE_DONE;
}

/* The register request (note 5): the one new object and the schema. */
static struct manifest *register_request(const struct pipeline_input *in,
					 const struct ingest_schema *s, const char *key,
					 uint64_t size, const struct declared_types *declared)
{
	struct manifest *m = manifest_create();
	snprintf(m->name, sizeof m->name, "%s", in->name);
	snprintf(m->fingerprint, sizeof m->fingerprint, "%s", s->fingerprint);
	snprintf(m->mode, sizeof m->mode, "%s", in->mode);
	for (size_t i = 0; i < s->ncols; i++) {
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		manifest_add_column(m, s->columns[i].name, schema_type_name(&s->columns[i].type, tbuf),
				    s->columns[i].nullable);
	}
	manifest_add_object(m, key, (int64_t)size, (int64_t)s->row_count, in->content_sha256);
	m->row_count = (int64_t)s->row_count;
	m->size_bytes = (int64_t)size;
	declared_types_to_manifest(declared, s, m);                             /* 1a */
	return m;
}

int pipeline_run(const struct pipeline_env *env, const struct pipeline_input *in,
		 int *status, json_t **body, struct lh_error *err)
{
	int rc = -1;
	const struct ingest_schema *schema = in->schema;                         /* 1 */
	struct ingest_schema *cast_schema = NULL;
	struct declared_types stored_types = { 0 }, declared = { 0 };
	json_t *cast = json_array();
	struct manifest *latest = NULL, *req = NULL, *registered = NULL;
	json_t *evolved = NULL;
	struct peer_call call = call_of(env);
	char *key = NULL, *fifo_path = NULL;
	uint64_t size = 0;
	int existing = 0;

	if (latest_manifest(env, in->name, &latest, err) != 0)                  /* 2 */
		goto out;
	if (!latest && name_case_check(env, in->name, err) != 0)
		goto out;
	if (latest && !strcmp(latest->fingerprint, doc_rows_fingerprint()) != !!in->documents) { /* 8 */
		if (in->documents)
			lh_fail(err, 409, "kind_mismatch", "%s is a table, not a documents dataset: "
				"ingest the documents under another name", in->name);
		else
			lh_fail(err, 409, "kind_mismatch", "%s is a documents dataset: add "
				"kind=documents (lakehouse ingest %s --documents FILES) to add "
				"documents, or ingest the table under another name", in->name, in->name);
		goto out;
	}
	declared_types_from_manifest(latest, &stored_types);                        /* 1a */
	declared_types_merge(&stored_types, in->declared, &declared);
	if (declared_types_apply(in->schema, &declared, err) != 0)
		goto out;
	if (ingest_cast_plan(in->schema, latest, &cast_schema, cast))          /* 2a */
		schema = cast_schema;
	else if (in->evolve && evolve_cast(in->schema, latest, &declared, &cast_schema, cast))
		schema = cast_schema;                                          /* 5a */
	const struct manifest_object *same = find_object(latest, in->mode, schema->fingerprint,
							 in->content_sha256);
	if (same && declared_types_same(&declared, schema, latest)) {
		*status = 200;
		*body = result_body(latest, 1, schema->row_count, (uint64_t)same->size, same->key,
				    cast);
		json_object_set_new(*body, "format", pipeline_format_json(in->schema,      /* 7 */
					schema == in->schema && schema->as_is));
		rc = 0;
		goto out;
	}

	key = xasprintf("datasets/%s/%s/%s.parquet", in->name,                  /* 4 */
			schema->fingerprint + strlen("sha256:"), in->content_sha256);
	fifo_path = xasprintf("%s/%s.%d.%lx.parquet", env->spool_dir,          /* 3 */
			      in->content_sha256, (int)getpid(), (unsigned long)pthread_self());
	for (int attempt = 1;; attempt++) {
		unlink(fifo_path);
		int stored = schema == in->schema && schema->as_is                 /* 3a */
			? store_as_is(env, in, schema, key, &size, err)
			: store_parquet(env, in, schema, key, fifo_path, &size, err); /* 3, 4 */
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
		manifest_unref(req);
		req = register_request(in, schema, key, size, &declared);        /* 5 */
		json_decref(evolved);
		evolved = NULL;
		if (catalog_client_register_evolve(env->catalog, &call, req, in->evolve, /* 5a */
						   &registered, &existing, &evolved, err) == 0)
			break;
		if (err->status != 409 || strcmp(err->code, "object_missing") != 0 ||
		    attempt == PIPELINE_REGISTER_ATTEMPTS)
			break;
		lh_error_clear(err);
		log_event("info", "ingestd", "%s: garbage collection removed %s before the "   /* 6 */
			  "register; storing it again (attempt %d)", in->name, key, attempt + 1);
	}
	if (registered) {
		*status = 200;
		*body = result_body(registered, existing, schema->row_count, size, key, cast);
		if (evolved)
			json_object_set(*body, "evolved", evolved);
		rc = 0;
	} else if (err->status == 409) {
		/* drift and conflicts are answers: catalogd's body as it sent it */
		*status = 409;
		*body = lh_error_json(err);
		lh_error_clear(err);
		rc = 0;
	}
	/* else: other 4xx as catalogd said them, 5xx and no answer as 502
	 * (catalog_client.h) */
	if (registered)                                                           /* 7 */
		json_object_set_new(*body, "format", pipeline_format_json(in->schema,
					schema == in->schema && schema->as_is));
out:
	if (fifo_path)
		unlink(fifo_path);
	manifest_unref(registered);
	manifest_unref(req);
	manifest_unref(latest);
	ingest_cast_free(cast_schema);
	declared_types_free(&stored_types);
	declared_types_free(&declared);
	json_decref(cast);
	json_decref(evolved);
	free(fifo_path);
	free(key);
	return rc;
}
