/* iceberg_build.c — queryd's Iceberg builder and its internal route
 * GET /iceberg/tables/<name>?base=<URL>[&version=N] (ADR 0230; docs/api.md
 * "Internal: Iceberg metadata"; the format is src/iceberg/).
 *
 * DESIGN NOTES
 *   1. Everything stored is keyed under
 *      _iceberg/<table uuid>/<sha256(base)[:16]>/metadata/ (ADR 0230) and
 *      written write-once, last the vN.metadata.json of a version: so a
 *      stored vN.metadata.json means everything it names is stored, and the
 *      fast path of a request is one HEAD and one GET.
 *   2. Otherwise the versions 1..N are walked oldest first, one manifest at
 *      a time (only the previous one is kept besides the current): field ids
 *      (iceberg_schema.c) and the manifests of each snapshot follow from
 *      the walk alone. Memory is the snapshots' summaries and the manifest
 *      list entries, not the data files: a manifest is written data file by
 *      data file to a temporary file, then PUT.
 *   3. Manifests are shared between snapshots as Iceberg writers share them:
 *      an append with the previous version's schema whose objects begin
 *      with the previous version's objects carries the previous manifests
 *      and adds one manifest "m<k>.avro" of the new objects. Anything else
 *      (a replace, an evolved schema, a version whose objects are not such
 *      an extension) gets one new manifest of all its objects, the ones
 *      kept from the previous version marked EXISTING with the snapshot and
 *      sequence number that first added them, so bounds always follow the
 *      schema of the manifest that holds them (iceberg_bounds.c).
 *   4. A data file's metrics come from its Parquet footer, read from the
 *      object through queryd's object cache (the file is fetched once, as
 *      for a query; only its footer is read). A file whose footer cannot be
 *      read gets no metrics but its counts and size (the catalog's), which
 *      Iceberg allows, and a log line.
 *   5. Two builders racing write the same bytes (everything is a function of
 *      the catalog's versions and the base); the loser's PUT is a 412, which
 *      is fine. A build killed half way leaves only unreferenced objects
 *      (no vN.metadata.json names them yet), which the next build finds by
 *      HEAD and reuses.
 */
#include "queryd/queryd_int.h"

#include "iceberg/iceberg.h"

#include "common/buf.h"
#include "common/calendar.h"
#include "common/catalog_client.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/storage_client.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A stored metadata JSON larger than this is not read back. */
#define ICEBERG_METADATA_MAX_BYTES (64u << 20)
/* A Parquet footer larger than this gets no metrics (note 4). */
#define ICEBERG_FOOTER_MAX_BYTES (64u << 20)
#define ICEBERG_MAX_COLUMNS 4096

struct segment {
	char *path;              /* absolute */
	int64_t length;
	int64_t written_at;      /* its sequence number and added snapshot */
	int64_t min_seq;
	int32_t added_files, existing_files;
	int64_t added_rows, existing_rows;
};

struct build {
	struct queryd *s;
	const char *rid;
	const char *base;
	char prefix[160];        /* _iceberg/<uuid>/<b>/metadata/ */
	struct iceberg_table t;
	struct segment *segs;    /* the current snapshot's manifests */
	size_t nsegs;
	/* the keys of the previous version's objects with the version that
	 * first added each (EXISTING entries keep it) */
	char **keys;
	int64_t *added_at;
	size_t nkeys;
};

static void segs_clear(struct build *b)
{
	for (size_t i = 0; i < b->nsegs; i++)
		free(b->segs[i].path);
	free(b->segs);
	b->segs = NULL;
	b->nsegs = 0;
}

static void keys_clear(struct build *b)
{
	for (size_t i = 0; i < b->nkeys; i++)
		free(b->keys[i]);
	free(b->keys);
	free(b->added_at);
	b->keys = NULL;
	b->added_at = NULL;
	b->nkeys = 0;
}

static void build_free(struct build *b)
{
	segs_clear(b);
	keys_clear(b);
	for (size_t i = 0; i < b->t.nsnapshots; i++) {
		free(b->t.snapshots[i].manifest_list);
		free(b->t.snapshots[i].metadata_file);
	}
	free(b->t.snapshots);
	free(b->t.location);
	iceberg_fields_free(&b->t.fields);
}

/* ---- storage ---------------------------------------------------------------- */

static int buf_sink(void *ctx, const char *data, size_t n)
{
	return lh_buf_append(ctx, data, n);
}

/* HEAD prefix+name: 0 with *size when stored, 1 when not, -1. */
static int head(struct build *b, const char *name, uint64_t *size, struct lh_error *err)
{
	char *key = xasprintf("%s%s", b->prefix, name);
	struct peer_call call = { .request_id = b->rid };
	int rc = storage_client_head(queryd_storage(b->s), &call, key, size, err);
	free(key);
	return rc;
}

static int put_fd(struct build *b, const char *name, int fd, uint64_t len, struct lh_error *err)
{
	char *key = xasprintf("%s%s", b->prefix, name);
	struct peer_call call = { .request_id = b->rid };
	struct storage_fd_body src = { fd, 0, len };
	struct storage_put put = { .source = storage_fd_body_read, .source_ctx = &src, .length = len,
				   .write_once = 1 };
	int rc = storage_client_put(queryd_storage(b->s), &call, key, &put, err);
	free(key);
	return rc < 0 ? -1 : 0;    /* 1: stored already, the same bytes (note 5) */
}

static int put_mem(struct build *b, const char *name, const char *p, size_t len,
		   struct lh_error *err)
{
	char *key = xasprintf("%s%s", b->prefix, name);
	struct peer_call call = { .request_id = b->rid };
	struct storage_mem_body src = { p, len };
	struct storage_put put = { .source = storage_mem_body_read, .source_ctx = &src, .length = len,
				   .write_once = 1 };
	int rc = storage_client_put(queryd_storage(b->s), &call, key, &put, err);
	free(key);
	return rc < 0 ? -1 : 0;
}

static int temp_fd(struct build *b, struct lh_error *err)
{
	int fd = open(queryd_config(b->s)->queryd.cache_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		lh_fail(err, 500, "internal", "cannot make a temporary file for Iceberg metadata");
		lh_error_detail(err, "O_TMPFILE in the cache dir: %s", strerror(errno));
	}
	return fd;
}

/* ---- data file metrics (note 4) -------------------------------------------- */

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/* The metrics of object i of `m` for the fields of `schema` into *out
 * (*n of them, iceberg_metric_free each and free the array). A footer that
 * cannot be read leaves *n 0 (logged); only the cache failing is -1. */
static int object_metrics(struct build *b, const struct manifest *m, size_t i,
			  const json_t *version_schema, const struct iceberg_schema *schema,
			  struct iceberg_metric **out, size_t *n, struct lh_error *err)
{
	const char *key = m->objects[i].key;
	char path[4096];
	int fetched = 0, fd = -1;
	unsigned char *footer = NULL;
	struct pq_footer pf = { 0 };
	*out = NULL;
	*n = 0;
	if (queryd_cache_acquire(b->s, key, b->rid, path, sizeof path, &fetched, err))
		return -1;
	struct lh_error perr = { 0 };
	struct stat st;
	unsigned char tail[8];
	uint64_t off;
	uint32_t len;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size < 12 ||
	    read_at(fd, tail, 8, (uint64_t)st.st_size - 8) ||
	    parquet_footer_locate(tail, (uint64_t)st.st_size, &off, &len) ||
	    len > ICEBERG_FOOTER_MAX_BYTES) {
		log_event("warn", "queryd", "iceberg: object %s: no readable Parquet footer; its "
			  "data file gets no column metrics", key);
		goto out;
	}
	footer = xmalloc(len ? len : 1);
	if (read_at(fd, footer, len, off) ||
	    parquet_footer_parse(footer, len, ICEBERG_MAX_COLUMNS, &pf, &perr)) {
		log_event("warn", "queryd", "iceberg: object %s: Parquet footer unreadable (%s); its "
			  "data file gets no column metrics", key, perr.msg);
		goto out;
	}
	const json_t *osch = manifest_object_schema(m, i, version_schema);
	*out = xcalloc(schema->nfields ? schema->nfields : 1, sizeof **out);
	for (size_t f = 0; f < schema->nfields; f++) {
		const struct iceberg_field *field = &schema->fields[f];
		const struct pq_column *col = NULL;
		for (size_t c = 0; c < pf.ncolumns; c++)
			if (pf.columns[c].name && strcmp(pf.columns[c].name, field->name) == 0)
				col = &pf.columns[c];
		if (!col)
			continue;             /* not in this file: read as null */
		const char *ftype = NULL;
		size_t k;
		json_t *e;
		json_array_foreach(osch, k, e) {
			if (strcmp(json_string_value(json_object_get(e, "name")) ?: "", field->name) == 0)
				ftype = json_string_value(json_object_get(e, "type"));
		}
		iceberg_metric_of(col, field, ftype, &(*out)[(*n)++]);
	}
out:
	parquet_footer_free(&pf);
	free(footer);
	if (fd >= 0)
		close(fd);
	qcache_release(queryd_cache(b->s), key);
	return 0;
}

/* ---- one snapshot -------------------------------------------------------------- */

static char *abs_path(struct build *b, const char *name)
{
	return xasprintf("%s/metadata/%s", b->t.location, name);
}

/* Write (or find) manifest m<k>.avro of objects [from, m->nobjects) of
 * version k; its segment appended to b->segs. added_at(i) for each object
 * is b's previous keys' (EXISTING) or k (ADDED). */
static int write_manifest(struct build *b, const struct manifest *m, size_t from,
			  const int64_t *added_at, struct lh_error *err)
{
	int64_t k = m->version;
	char name[64];
	snprintf(name, sizeof name, "m%" PRId64 ".avro", k);
	struct segment sg = { .written_at = k, .min_seq = k };
	for (size_t i = from; i < m->nobjects; i++) {
		if (added_at[i] == k) {
			sg.added_files++;
			sg.added_rows += m->objects[i].row_count;
		} else {
			sg.existing_files++;
			sg.existing_rows += m->objects[i].row_count;
		}
		if (added_at[i] < sg.min_seq)
			sg.min_seq = added_at[i];
	}
	uint64_t size = 0;
	int h = head(b, name, &size, err);
	if (h < 0)
		return -1;
	if (h == 1) {
		const struct iceberg_schema *schema = iceberg_fields_current(&b->t.fields);
		json_t *vschema = manifest_schema_json(m);
		char *key = xasprintf("%s%s", b->prefix, name);
		int fd = temp_fd(b, err);
		struct iceberg_manifest_writer *w = NULL;
		int rc = -1;
		if (fd < 0)
			goto done;
		w = iceberg_manifest_create(fd, schema, key, err);
		if (!w)
			goto done;
		for (size_t i = from; i < m->nobjects; i++) {
			struct iceberg_metric *mt = NULL;
			size_t nm = 0;
			if (object_metrics(b, m, i, vschema, schema, &mt, &nm, err))
				goto done;
			char *path = xasprintf("%s/%s", b->base, m->objects[i].key);
			struct iceberg_data_file df = {
				.status = added_at[i] == k ? 1 : 0,
				.snapshot_id = added_at[i],
				.sequence_number = added_at[i],
				.path = path,
				.record_count = m->objects[i].row_count,
				.file_size = m->objects[i].size,
				.metrics = mt,
				.nmetrics = nm,
			};
			int arc = iceberg_manifest_add(w, &df, err);
			free(path);
			for (size_t j = 0; j < nm; j++)
				iceberg_metric_free(&mt[j]);
			free(mt);
			if (arc)
				goto done;
		}
		if (iceberg_manifest_finish(w, &size, err) || put_fd(b, name, fd, size, err))
			goto done;
		rc = 0;
done:
		iceberg_manifest_destroy(w);
		if (fd >= 0)
			close(fd);
		free(key);
		json_decref(vschema);
		if (rc)
			return -1;
	}
	sg.path = abs_path(b, name);
	sg.length = (int64_t)size;
	b->segs = xrealloc(b->segs, (b->nsegs + 1) * sizeof *b->segs);
	b->segs[b->nsegs++] = sg;
	return 0;
}

static int write_list(struct build *b, int64_t k, struct lh_error *err)
{
	char name[64];
	snprintf(name, sizeof name, "snap-%" PRId64 ".avro", k);
	uint64_t size = 0;
	int h = head(b, name, &size, err);
	if (h <= 0)
		return h;
	struct iceberg_manifest_file *files = xcalloc(b->nsegs ? b->nsegs : 1, sizeof *files);
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct segment *sg = &b->segs[i];
		files[i] = (struct iceberg_manifest_file){
			.path = sg->path,
			.length = sg->length,
			.sequence_number = sg->written_at,
			.min_sequence_number = sg->min_seq,
			.added_snapshot_id = sg->written_at,
			.added_files = sg->added_files,
			.existing_files = sg->existing_files,
			.added_rows = sg->added_rows,
			.existing_rows = sg->existing_rows,
		};
	}
	char *key = xasprintf("%s%s", b->prefix, name);
	int rc = -1;
	int fd = temp_fd(b, err);
	if (fd >= 0 &&
	    iceberg_manifest_list_write(fd, k, k - 1, k, files, b->nsegs, key, &size, err) == 0 &&
	    put_fd(b, name, fd, size, err) == 0)
		rc = 0;
	if (fd >= 0)
		close(fd);
	free(key);
	free(files);
	return rc;
}

/* qsort_r order of indexes into the key array `keys`. */
static int key_order(const void *a, const void *b, void *keys)
{
	char **k = keys;
	return strcmp(k[*(const size_t *)a], k[*(const size_t *)b]);
}

/* Note 3: version k's manifests (b->segs), its list, its snapshot. `prev`
 * is version k-1's manifest (NULL for k = 1). */
static int snapshot_add(struct build *b, const struct manifest *m, const struct manifest *prev,
			int prev_schema, struct lh_error *err)
{
	int64_t k = m->version;
	int rc = -1;
	int64_t *added_at = xcalloc(m->nobjects ? m->nobjects : 1, sizeof *added_at);
	int replace = strcmp(m->mode, "replace") == 0;
	int schema_id = b->t.fields.current;
	int extends = prev && !replace && schema_id == prev_schema &&
		      m->nobjects > prev->nobjects && b->nkeys == prev->nobjects;
	for (size_t i = 0; extends && i < prev->nobjects; i++)
		extends = strcmp(m->objects[i].key, prev->objects[i].key) == 0;
	/* which snapshot first added each object: the previous version's
	 * objects keep theirs (found by position for an extension, else by a
	 * sorted index: no quadratic scan of long histories) */
	size_t *order = NULL;
	if (!replace && prev && !extends && b->nkeys > 0) {
		order = xcalloc(b->nkeys, sizeof *order);
		for (size_t j = 0; j < b->nkeys; j++)
			order[j] = j;
		qsort_r(order, b->nkeys, sizeof *order, key_order, b->keys);
	}
	for (size_t i = 0; i < m->nobjects; i++) {
		added_at[i] = k;
		if (replace || !prev)
			continue;
		if (extends) {
			if (i < b->nkeys)
				added_at[i] = b->added_at[i];
			continue;
		}
		size_t lo = 0, hi = b->nkeys;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = strcmp(b->keys[order[mid]], m->objects[i].key);
			if (c == 0) {
				added_at[i] = b->added_at[order[mid]];
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	free(order);
	if (extends) {
		if (write_manifest(b, m, prev->nobjects, added_at, err))
			goto out;
	} else {
		segs_clear(b);
		if (m->nobjects > 0 && write_manifest(b, m, 0, added_at, err))
			goto out;
	}
	if (write_list(b, k, err))
		goto out;
	/* the snapshot */
	struct iceberg_snapshot sn = { .id = k, .schema_id = schema_id };
	int64_t ms = 0;
	if (calendar_parse_rfc3339_ms(m->updated_at[0] ? m->updated_at : m->created_at, &ms))
		ms = 0;
	sn.timestamp_ms = ms;
	sn.operation = k > 1 && replace ? "overwrite" : "append";
	char name[64];
	snprintf(name, sizeof name, "snap-%" PRId64 ".avro", k);
	sn.manifest_list = abs_path(b, name);
	snprintf(name, sizeof name, "v%" PRId64 ".metadata.json", k);
	sn.metadata_file = abs_path(b, name);
	for (size_t i = 0; i < m->nobjects; i++) {
		sn.total_files++;
		sn.total_records += m->objects[i].row_count;
		sn.total_size += m->objects[i].size;
		if (added_at[i] == k) {
			sn.added_files++;
			sn.added_records += m->objects[i].row_count;
		}
	}
	b->t.snapshots = xrealloc(b->t.snapshots, (b->t.nsnapshots + 1) * sizeof *b->t.snapshots);
	b->t.snapshots[b->t.nsnapshots++] = sn;
	/* the keys for version k+1 */
	keys_clear(b);
	b->keys = xcalloc(m->nobjects ? m->nobjects : 1, sizeof *b->keys);
	b->added_at = added_at;
	added_at = NULL;
	for (size_t i = 0; i < m->nobjects; i++)
		b->keys[i] = xstrdup(m->objects[i].key);
	b->nkeys = m->nobjects;
	rc = 0;
out:
	free(added_at);
	return rc;
}

/* The metadata JSON of version k: stored, or made and stored now. *out is
 * the JSON (a new reference) when want is set. */
static int metadata_ensure(struct build *b, int64_t k, int want, json_t **out,
			   struct lh_error *err)
{
	char name[64];
	snprintf(name, sizeof name, "v%" PRId64 ".metadata.json", k);
	uint64_t size;
	int h = head(b, name, &size, err);
	if (h < 0)
		return -1;
	if (h == 1) {
		json_t *j = iceberg_metadata_json(&b->t, (size_t)k, b->t.fields.nschemas);
		char *text = json_dumps(j, JSON_COMPACT);
		int rc = put_mem(b, name, text, strlen(text), err);
		free(text);
		if (rc || !want) {
			json_decref(j);
			return rc;
		}
		*out = j;
		return 0;
	}
	return 0;
}

/* GET a stored metadata JSON. */
static int metadata_read(struct build *b, int64_t k, json_t **out, struct lh_error *err)
{
	char *key = xasprintf("%sv%" PRId64 ".metadata.json", b->prefix, k);
	struct lh_buf buf;
	struct peer_call call = { .request_id = b->rid };
	lh_buf_init(&buf, ICEBERG_METADATA_MAX_BYTES);
	int rc = storage_client_get(queryd_storage(b->s), &call, key, buf_sink, &buf, err);
	if (rc == 0) {
		json_error_t je;
		*out = json_loadb(buf.data ? buf.data : "", buf.len, 0, &je);
		if (!*out) {
			rc = lh_fail(err, 502, "upstream_failed",
				     "the stored Iceberg metadata is not JSON");
			lh_error_detail(err, "%s: %s", key, je.text);
		}
	}
	free(key);
	lh_buf_free(&buf);
	return rc;
}

/* Note 2: the metadata of version `target` (0 = the latest) of `name`. */
static int iceberg_table_get(struct queryd *s, const char *name, const char *base,
			     int64_t target, const char *rid, json_t **answer, struct lh_error *err)
{
	struct build b = { .s = s, .rid = rid, .base = base };
	struct manifest *latest = NULL, *first = NULL, *prev = NULL, *cur = NULL;
	json_t *meta = NULL;
	struct peer_call call = { .request_id = rid };
	int rc = -1;
	iceberg_fields_init(&b.t.fields);
	if (catalog_client_manifest(queryd_catalog(s), &call, name, 0, &latest, err))
		goto out;
	if (target == 0)
		target = latest->version;
	if (target > latest->version) {
		lh_fail(err, 404, "unknown_version", "dataset \"%s\" has no version %" PRId64
			" (its latest is %" PRId64 ")", latest->name, target, latest->version);
		goto out;
	}
	if (latest->version == 1) {
		first = manifest_ref(latest);
	} else if (catalog_client_manifest(queryd_catalog(s), &call, latest->name, 1, &first, err)) {
		goto out;
	}
	iceberg_table_uuid(latest->created_at, first->nobjects ? first->objects[0].key : "",
			   b.t.uuid);
	char bh[17];
	iceberg_base_hash(base, bh);
	snprintf(b.prefix, sizeof b.prefix, "_iceberg/%s/%s/metadata/", b.t.uuid, bh);
	b.t.location = xasprintf("%s/_iceberg/%s/%s", base, b.t.uuid, bh);
	/* note 1: the fast path */
	uint64_t size;
	char vname[64];
	snprintf(vname, sizeof vname, "v%" PRId64 ".metadata.json", target);
	int h = head(&b, vname, &size, err);
	if (h < 0)
		goto out;
	if (h == 0) {
		if (metadata_read(&b, target, &meta, err))
			goto out;
	} else {
		int prev_schema = -1;
		for (int64_t k = 1; k <= target; k++) {
			if (k == 1)
				cur = manifest_ref(first);
			else if (k == latest->version)
				cur = manifest_ref(latest);
			else if (catalog_client_manifest(queryd_catalog(s), &call, latest->name, k, &cur,
							  err))
				goto out;
			if (cur->version != k) {
				lh_fail(err, 502, "upstream_failed",
					"the catalog answered version %" PRId64 " for version %" PRId64,
					cur->version, k);
				goto out;
			}
			if (iceberg_fields_add(&b.t.fields, cur, err) ||
			    snapshot_add(&b, cur, prev, prev_schema, err) ||
			    metadata_ensure(&b, k, k == target, &meta, err))
				goto out;
			prev_schema = b.t.fields.current;
			manifest_unref(prev);
			prev = cur;
			cur = NULL;
		}
		if (!meta && metadata_read(&b, target, &meta, err))
			goto out;
	}
	char *loc = xasprintf("%s/metadata/%s", b.t.location, vname);
	*answer = json_pack("{s:s, s:O, s:I, s:s}", "metadata-location", loc, "metadata", meta,
			    "version", (json_int_t)target, "location", b.t.location);
	free(loc);
	rc = 0;
out:
	json_decref(meta);
	manifest_unref(latest);
	manifest_unref(first);
	manifest_unref(prev);
	manifest_unref(cur);
	build_free(&b);
	return rc;
}

/* ---- the route ------------------------------------------------------------------ */

int iceberg_route_table(struct http_request *req)
{
	struct queryd *s = http_request_ctx(req);
	struct lh_error err = { 0 };
	const char *name = http_request_path_rest(req);
	const char *base = http_request_query(req, "base");
	const char *ver = http_request_query(req, "version");
	int64_t version = 0;
	json_t *answer = NULL;
	if (dataset_name_check(name, &err))
		goto fail;
	if (!base) {
		lh_fail(&err, 400, "bad_request", "base is required: the URL the table's files are "
			"read under");
		goto fail;
	}
	if (iceberg_base_check(base, &err))
		goto fail;
	if (ver) {
		char *end;
		errno = 0;
		long long v = strtoll(ver, &end, 10);
		if (!ver[0] || *end || errno || v < 1) {
			lh_fail(&err, 400, "bad_request", "version must be a positive integer");
			goto fail;
		}
		version = v;
	}
	if (iceberg_table_get(s, name, base, version, http_request_id(req), &answer, &err))
		goto fail;
	http_respond_json(req, 200, answer);
	return 0;
fail:
	http_respond_error(req, &err);
	lh_error_clear(&err);
	return 0;
}
