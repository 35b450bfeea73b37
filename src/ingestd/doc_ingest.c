/* doc_ingest.c — documents uploads and downloads in ingestd (doc_ingest.h;
 * SPEC 15; ADR 0225 ingest, 0226 originals, 0227 download).
 *
 * DESIGN NOTES
 *  1. Spooling: every file of the upload is appended to the one spool file
 *     as it arrives, with its offset, length, name, media type and SHA-256
 *     (the doc_id) recorded; the whole upload is capped at max_upload_bytes
 *     and the 413 names the file that crossed it. A file name is reduced to
 *     its last path segment, control characters and invalid UTF-8 become
 *     '_' (it is a utf8 column and a Content-Disposition).
 *  2. Reading (doc_upload_run): each file's range of the spool is mapped
 *     read-only (mmap: no heap copy of a 250 MB file), extracted by src/documents (doc_extract: the
 *     PDF parser runs in a child process) and chunked (doc_chunk), and its
 *     chunks are appended to a second spool as rows (doc_rows.h). A file
 *     that fails is kept as {file_name, code, error}: its error's words
 *     without the name, its code as src/documents says it. The same content
 *     twice in one upload is read once (the later one is "duplicate").
 *  2a. Extraction runs on LH_DOC_EXTRACT_THREADS threads (a PDF's parse in
 *     its worker process, ADR 0220, so two PDFs use both cores) while the
 *     request thread writes the rows in upload order: a thread takes the
 *     next file only while it is fewer than LH_DOC_EXTRACT_WINDOW files
 *     ahead of the rows written, so at most that many files' chunks are
 *     held at once. A thread only touches its own file's struct.
 *  3. All or nothing: when any file failed and the caller did not ask for
 *     partial=true, the answer is the failure (400 listing every failed
 *     file; one file alone keeps its own status and code, e.g. 413
 *     too_large, 415 unsupported_format) and nothing has been written. With
 *     partial=true the good files go on and the answer lists the others
 *     under "skipped"; when no file is good it is the failure anyway.
 *  3a. Before any file is read, the dataset's latest version is fetched:
 *     a table there is pipeline.c note 8's 409 kind_mismatch now, before
 *     an original is stored (it used to come from pipeline_run, after the
 *     originals were PUT).
 *  4. Originals before the version: each good file is PUT write-once
 *     under documents/<doc_id>/original from its spool range before the
 *     pipeline registers the version (a 412 means the same bytes are
 *     there: content-addressed). A crash after the PUT leaves an original
 *     no version names, never a version whose original is missing.
 *  5. The rows go through pipeline_run() as any upload (doc_rows.h): the
 *     content digest is the SHA-256 of "lakehouse-documents-1" and each good
 *     file's doc_id and file name in upload order, so the same files again
 *     are `existing` and the object key is content-addressed like a CSV's.
 *     pipeline.c note 8 keeps documents and tables apart (409).
 *  5a. mode=append adds a file only when its doc_id is not in the latest
 *     version's rows (SPEC 15: re-ingesting the same file is existing):
 *     each object of that version is fetched into an unnamed spool file
 *     and one DuckDB aggregate counts every uploaded doc_id in it
 *     (parquet_scan.h). Such a file is "held": not read again, listed with
 *     "existing": true; when no file of the upload is new the answer is
 *     existing with the latest version. The latest version, not the
 *     download records: a replace drops documents from it. The cost is one
 *     read of the dataset's objects per append.
 *  6. After a 200 (new or existing): documents/<doc_id>/in/<identity>
 *     records that the dataset holds the document, with its file name and
 *     media type; <identity> is the digits of the dataset's creation time
 *     (never its name: records are write-once and outlive a drop or
 *     rename, and a new dataset under the old name must not inherit them)
 *     (write-once, the first name stays; written again on every
 *     ingest, so a re-ingest repairs one lost to a crash), and the index on
 *     `text` is declared if the dataset has no index (catalogd's PUT
 *     /catalog/index/<name>, as `lakehouse index` does). Neither failing
 *     undoes the version: the answer says so ("index_error").
 *  7. Download: the sidecars under documents/<doc_id>/in/ name the
 *     datasets by identity; a listed documents dataset whose creation time
 *     has those digits grants the download (it keeps it through renames,
 *     ADR 0175; a dropped and re-created one has a new one). write/admin
 *     (and no auth) read through any; read and agent
 *     tokens only through one without personal columns (ADR 0211: the
 *     original holds every word of the text unmasked). The original is
 *     fetched into an unnamed spool file (checked against its SHA-256 by
 *     storage_client_get) and sent as an attachment with nosniff and a
 *     sandbox CSP, so an HTML original never runs in our origin.
 */
#include "ingestd/doc_ingest.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/sha256.h"
#include "common/storage_client.h"
#include "common/tokens.h"
#include "common/xmalloc.h"
#include "documents/documents.h"
#include "ingestd/doc_rows.h"
#include "ingestd/format.h"
#include "ingestd/multipart.h"
#include "ingestd/parquet_scan.h"
#include "ingestd/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DOC_DIGEST_TAG "lakehouse-documents-1"

struct doc_file {
	char name[LH_DOC_FILE_NAME_MAX + 1];
	char media_type[128];
	uint64_t offset, len;
	char doc_id[LH_SHA256_HEX_LEN + 1];
	/* filled by doc_upload_run */
	int ok, duplicate;
	int held;                   /* append: already in the latest version (note 5a) */
	enum doc_format format;
	size_t pages, chunks;
	int paged, from_latin1;
	struct lh_error err;
	size_t dup_of;              /* an earlier file with the same bytes, or -1 */
	int extracted;              /* chunk_list is filled (note 2a) */
	struct doc_chunk *chunk_list;
	size_t nchunk_list;
};

struct doc_upload {
	int spool_fd;
	uint64_t max_bytes, bytes;
	int partial;
	struct doc_file *files;
	size_t nfiles, cap;
	int open;                 /* files[nfiles-1] is being written */
	struct sha256 *hash;
};

struct doc_upload *doc_upload_create(int spool_fd, uint64_t max_bytes, int partial)
{
	struct doc_upload *d = xcalloc(1, sizeof *d);
	d->spool_fd = spool_fd;
	d->max_bytes = max_bytes;
	d->partial = partial;
	return d;
}

void doc_upload_destroy(struct doc_upload *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nfiles; i++) {
		lh_error_clear(&d->files[i].err);
		doc_chunks_free(d->files[i].chunk_list, d->files[i].nchunk_list);
	}
	free(d->files);
	sha256_destroy(d->hash);
	free(d);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
		   : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (!len || len > n || (len == 2 && s[0] < 0xc2) || (len == 4 && s[0] > 0xf4))
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 4 && s[0] == 0xf0 && s[1] < 0x90) ||
	    (len == 3 && s[0] == 0xed && s[1] >= 0xa0))
		return 0;
	return len;
}

static int utf8_valid(const char *p, size_t n)
{
	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq((const unsigned char *)p + i, n - i)) == 0)
			return 0;
	return 1;
}

/* Note 1: the last path segment of `raw`, made safe. */
static void clean_name(const char *raw, char *out, size_t cap)
{
	const char *base = raw;
	for (const char *p = raw; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t n = 0, len = strlen(base);
	for (size_t i = 0; i < len && n + 4 < cap;) {
		const unsigned char *s = (const unsigned char *)base + i;
		size_t k = utf8_seq(s, len - i);
		if (k == 0 || (k == 1 && (s[0] < 0x20 || s[0] == 0x7f || s[0] == '"'))) {
			out[n++] = '_';
			i += k ? k : 1;
			continue;
		}
		memcpy(out + n, s, k);
		n += k;
		i += k;
	}
	out[n] = '\0';
}

int doc_upload_begin_file(struct doc_upload *d, const char *file_name, const char *media_type,
			  struct lh_error *err)
{
	if (d->nfiles == LH_DOC_UPLOAD_MAX_FILES)
		return lh_fail(err, 400, "too_many_files", "an upload may hold at most %d files; "
			       "send them in several uploads", LH_DOC_UPLOAD_MAX_FILES);
	if (d->nfiles == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->files = xrealloc(d->files, d->cap * sizeof *d->files);
	}
	struct doc_file *f = &d->files[d->nfiles++];
	memset(f, 0, sizeof *f);
	clean_name(file_name ? file_name : "", f->name, sizeof f->name);
	snprintf(f->media_type, sizeof f->media_type, "%s", media_type ? media_type : "");
	f->offset = d->bytes;
	d->hash = sha256_create();
	d->open = 1;
	return 0;
}

int doc_upload_write(struct doc_upload *d, const char *data, size_t n, struct lh_error *err)
{
	if (!d->open)
		return 0;          /* a multipart preamble: not a file */
	struct doc_file *f = &d->files[d->nfiles - 1];
	if (d->bytes + n > d->max_bytes) {
		if (d->nfiles == 1 || f->len + n > d->max_bytes)
			lh_fail(err, 413, "too_large", "%s is larger than the upload limit of %llu "
				"bytes", f->name[0] ? f->name : "the file",
				(unsigned long long)d->max_bytes);
		else
			lh_fail(err, 413, "too_large", "the upload exceeds %llu bytes at %s: send "
				"fewer files per upload", (unsigned long long)d->max_bytes,
				f->name[0] ? f->name : "a file without a name");
		lh_error_set(err, "file_name", json_string(f->name));
		return -1;
	}
	sha256_update(d->hash, data, n);
	size_t off = 0;
	while (off < n) {
		ssize_t w = pwrite(d->spool_fd, data + off, n - off, (off_t)(d->bytes + off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			if (errno == ENOSPC || errno == EDQUOT)
				return lh_fail(err, 507, "insufficient_storage",
					       "the ingest spool is out of disk space");
			return lh_fail(err, 500, "io_error", "the upload could not be spooled");
		}
		off += (size_t)w;
	}
	d->bytes += n;
	f->len += n;
	return 0;
}

int doc_upload_end_file(struct doc_upload *d, struct lh_error *err)
{
	(void)err;
	if (!d->open)
		return 0;
	sha256_finish_hex(d->hash, d->files[d->nfiles - 1].doc_id);
	d->hash = NULL;
	d->open = 0;
	return 0;
}

static int on_begin(void *ctx, const char *name, const char *type, struct lh_error *err)
{
	return doc_upload_begin_file(ctx, name, type, err);
}
static int on_data(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	return doc_upload_write(ctx, data, n, err);
}
static int on_end(void *ctx, struct lh_error *err)
{
	return doc_upload_end_file(ctx, err);
}

void doc_upload_callbacks(struct doc_upload *d, struct multipart_callbacks *cb)
{
	memset(cb, 0, sizeof *cb);
	cb->on_file = on_data;
	cb->on_file_begin = on_begin;
	cb->on_file_end = on_end;
	cb->ctx = d;
}

/* ---- reading the files (note 2) ---------------------------------------- */

/* Note 2: the file's range of the spool, mapped read-only (pages the
 * kernel can drop, not a heap copy): *base and *maplen for munmap. */
static int map_range(int fd, uint64_t off, uint64_t len, const unsigned char **out, void **base,
		     size_t *maplen, struct lh_error *err)
{
	static const unsigned char empty[1];
	*base = NULL;
	*maplen = 0;
	if (len == 0) {
		*out = empty;
		return 0;
	}
	long page = sysconf(_SC_PAGESIZE);
	uint64_t start = off - off % (uint64_t)(page > 0 ? page : 4096);
	size_t n = (size_t)(off - start + len);
	void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, (off_t)start);
	if (m == MAP_FAILED) {
		lh_fail(err, 500, "io_error", "the upload could not be read back");
		lh_error_detail(err, "mmap: %s", strerror(errno));
		return -1;
	}
	*base = m;
	*maplen = n;
	*out = (const unsigned char *)m + (off - start);
	return 0;
}

/* Extract and chunk one file (note 2a: on an extraction thread): f->err
 * for a bad file, f->chunks_out for a good one. Touches only `f`. */
static void extract_file(const struct doc_upload *d, struct doc_file *f,
			 const struct doc_limits *lim)
{
	const unsigned char *data = NULL;
	void *base = NULL;
	size_t maplen = 0;
	struct doc_text text = { 0 };

	if (!f->name[0]) {
		lh_fail(&f->err, 400, "missing_file_name", "has no file name: send each file with "
			"its name (multipart filename, or ?file_name= with a single file)");
		return;
	}
	if (map_range(d->spool_fd, f->offset, f->len, &data, &base, &maplen, &f->err) != 0)
		return;
	if (doc_extract(f->name, data, (size_t)f->len, lim, &text, &f->err) == 0 &&
	    doc_chunk(&text, 0, &f->chunk_list, &f->nchunk_list, &f->err) == 0) {
		f->format = text.format;
		f->from_latin1 = text.from_latin1;
		f->pages = text.n_pages;
		for (size_t i = 0; i < text.n_pages; i++)
			f->paged |= text.pages[i].page > 0;
		f->extracted = 1;
	}
	doc_text_free(&text);
	if (base)
		munmap(base, maplen);
}

/* Append an extracted file's rows in upload order (note 2). A bad file is
 * 0 with f->err kept; only the service's own failures are -1. */
static int emit_file(struct doc_file *f, struct doc_rows *rows, struct lh_error *err)
{
	int rc = 0;
	if (!f->extracted) {
		if (f->err.status >= 500) {   /* the service's failure, not the file's */
			*err = f->err;
			memset(&f->err, 0, sizeof f->err);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < f->nchunk_list && rc == 0; i++) {
		const struct doc_chunk *c = &f->chunk_list[i];
		if (!utf8_valid(c->text, c->len))   /* documents.h promises it; Parquet needs it */
			rc = lh_fail(err, 500, "internal", "the text read from %s is not valid UTF-8",
				     f->name);
		else
			rc = doc_rows_add(rows, f->doc_id, f->name, c->chunk,
					  c->page > 0 ? (int64_t)c->page : -1, c->text, c->len,
					  (int64_t)c->chars, err);
	}
	if (rc == 0) {
		f->chunks = f->nchunk_list;
		f->ok = 1;
	}
	doc_chunks_free(f->chunk_list, f->nchunk_list);
	f->chunk_list = NULL;
	f->nchunk_list = 0;
	return rc;
}

/* ---- the extraction threads (note 2a) ---------------------------------- */

struct extract_pool {
	struct doc_upload *d;
	const struct doc_limits *lim;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t next;          /* the next file to take */
	size_t emitted;       /* files written as rows, in order */
	int stop;             /* the run failed: take nothing more */
	unsigned char *done;  /* per file: extracted (or skipped) */
};

static void *extract_main(void *arg)
{
	struct extract_pool *x = arg;
	pthread_mutex_lock(&x->lock);
	for (;;) {
		while (!x->stop && x->next < x->d->nfiles &&
		       x->next >= x->emitted + LH_DOC_EXTRACT_WINDOW)
			pthread_cond_wait(&x->cond, &x->lock);
		if (x->stop || x->next >= x->d->nfiles)
			break;
		size_t i = x->next++;
		pthread_mutex_unlock(&x->lock);
		struct doc_file *f = &x->d->files[i];
		if (f->dup_of == (size_t)-1 && !f->held)
			extract_file(x->d, f, x->lim);
		pthread_mutex_lock(&x->lock);
		x->done[i] = 1;
		pthread_cond_broadcast(&x->cond);
	}
	pthread_mutex_unlock(&x->lock);
	return NULL;
}

/* Read every file into `rows` in upload order, LH_DOC_EXTRACT_THREADS files
 * at a time. Counts into *nfailed / *ngood. 0, or -1 with err. */
static int read_files(struct doc_upload *d, const struct doc_limits *lim, struct doc_rows *rows,
		      size_t *nfailed, size_t *ngood, struct lh_error *err)
{
	struct extract_pool x = { .d = d, .lim = lim };
	pthread_t th[LH_DOC_EXTRACT_THREADS];
	size_t nth = 0;
	int rc = 0;

	for (size_t i = 0; i < d->nfiles; i++) {           /* the same bytes are read once */
		d->files[i].dup_of = (size_t)-1;
		for (size_t k = 0; k < i && d->files[i].dup_of == (size_t)-1 && !d->files[i].held; k++)
			if (!strcmp(d->files[k].doc_id, d->files[i].doc_id))
				d->files[i].dup_of = k;
	}
	x.done = xcalloc(d->nfiles, 1);
	pthread_mutex_init(&x.lock, NULL);
	pthread_cond_init(&x.cond, NULL);
	for (size_t t = 0; t < LH_DOC_EXTRACT_THREADS && t < d->nfiles; t++)
		if (pthread_create(&th[nth], NULL, extract_main, &x) == 0)
			nth++;
	for (size_t i = 0; i < d->nfiles && rc == 0; i++) {
		struct doc_file *f = &d->files[i];
		if (nth == 0 && f->dup_of == (size_t)-1 && !f->held)
			extract_file(d, f, lim);  /* no thread could start: read it here */
		pthread_mutex_lock(&x.lock);
		while (nth && !x.done[i])
			pthread_cond_wait(&x.cond, &x.lock);
		pthread_mutex_unlock(&x.lock);
		if (f->held) {
			/* note 5a: in the dataset already, not read again */
		} else if (f->dup_of != (size_t)-1) {
			const struct doc_file *first = &d->files[f->dup_of];
			f->duplicate = first->ok;
			if (!first->ok) {          /* the same bytes fail the same way */
				f->err.status = first->err.status;
				snprintf(f->err.code, sizeof f->err.code, "%s", first->err.code);
				snprintf(f->err.msg, sizeof f->err.msg, "%s", first->err.msg);
			}
		} else {
			rc = emit_file(f, rows, err);
		}
		if (rc == 0 && !f->duplicate && !f->held) {
			*nfailed += !f->ok;
			*ngood += f->ok;
		}
		pthread_mutex_lock(&x.lock);
		x.emitted = i + 1;
		x.stop = rc != 0;
		pthread_cond_broadcast(&x.cond);
		pthread_mutex_unlock(&x.lock);
	}
	for (size_t t = 0; t < nth; t++)
		pthread_join(th[t], NULL);
	for (size_t i = 0; i < d->nfiles; i++) {           /* after a failure: what was left */
		doc_chunks_free(d->files[i].chunk_list, d->files[i].nchunk_list);
		d->files[i].chunk_list = NULL;
		d->files[i].nchunk_list = 0;
	}
	pthread_cond_destroy(&x.cond);
	pthread_mutex_destroy(&x.lock);
	free(x.done);
	return rc;
}

static const char *media_type_of(enum doc_format f)
{
	switch (f) {
	case DOC_PDF: return "application/pdf";
	case DOC_DOCX: return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
	case DOC_HTML: return "text/html; charset=utf-8";
	case DOC_MARKDOWN: return "text/markdown; charset=utf-8";
	case DOC_TEXT: break;
	}
	return "text/plain; charset=utf-8";
}

static json_t *failed_json(const struct doc_file *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "file_name", json_string(f->name[0] ? f->name : "(no name)"));
	json_object_set_new(o, "code", json_string(f->err.code));
	json_object_set_new(o, "error", json_string(f->err.msg));
	return o;
}

static json_t *file_json(const struct doc_file *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "file_name", json_string(f->name));
	json_object_set_new(o, "doc_id", json_string(f->doc_id));
	json_object_set_new(o, "size", json_integer((json_int_t)f->len));
	if (f->duplicate) {
		json_object_set_new(o, "duplicate", json_true());
		return o;
	}
	if (f->held) {
		json_object_set_new(o, "existing", json_true());
		return o;
	}
	json_object_set_new(o, "format", json_string(doc_format_name(f->format)));
	json_object_set_new(o, "pages", f->paged ? json_integer((json_int_t)f->pages) : json_null());
	json_object_set_new(o, "chunks", json_integer((json_int_t)f->chunks));
	json_object_set_new(o, "from_latin1", json_boolean(f->from_latin1));
	if (f->from_latin1)
		json_object_set_new(o, "note", json_string("converted from Latin-1"));
	return o;
}

/* Note 3: the answer when files failed and nothing is written. */
static json_t *failure_body(const struct doc_upload *d, size_t nfailed, int *status)
{
	const struct doc_file *first = NULL;
	char msg[1024];
	size_t used = 0;
	json_t *failed = json_array();
	for (size_t i = 0; i < d->nfiles; i++) {
		const struct doc_file *f = &d->files[i];
		if (f->ok || f->duplicate || f->held)
			continue;
		if (!first)
			first = f;
		json_array_append_new(failed, failed_json(f));
	}
	if (d->nfiles == 1) {
		snprintf(msg, sizeof msg, "%s %s", first->name[0] ? first->name : "the file",
			 first->err.msg);
		*status = first->err.status ? first->err.status : 400;
	} else {
		used = (size_t)snprintf(msg, sizeof msg, "%zu of %zu files could not be read and "
					"nothing was written (add partial=true to ingest the others): ",
					nfailed, d->nfiles);
		for (size_t i = 0; i < d->nfiles && used < sizeof msg; i++) {
			const struct doc_file *f = &d->files[i];
			if (f->ok || f->duplicate || f->held)
				continue;
			used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s %s",
						 f == first ? "" : "; ", f->name[0] ? f->name : "(no name)",
						 f->err.msg);
		}
		*status = 400;
	}
	json_t *o = json_object();
	json_object_set_new(o, "error", json_string(msg));
	json_object_set_new(o, "code", json_string(d->nfiles == 1 ? first->err.code
								  : "bad_documents"));
	if (d->nfiles == 1)
		json_object_set_new(o, "file_name", json_string(first->name));
	json_object_set_new(o, "failed", failed);
	return o;
}

/* ---- storing (notes 4 and 6) ------------------------------------------- */

static int store_original(const struct pipeline_env *env, const struct doc_upload *d,
			  const struct doc_file *f, struct lh_error *err)
{
	struct peer_call call = { .request_id = env->request_id, .who = env->who };
	char key[128];
	snprintf(key, sizeof key, "documents/%s/original", f->doc_id);
	struct storage_fd_body src = { .fd = d->spool_fd, .off = f->offset, .end = f->offset + f->len };
	struct storage_put put = {
		.source = storage_fd_body_read, .source_ctx = &src, .length = f->len, .write_once = 1,
		.expect_continue = 1,
		.timeout_ms = LH_HTTP_CLIENT_TIMEOUT_MS + (unsigned)(f->len >> 20) * 1000u,
	};
	if (f->len == 0)
		put.expect_continue = 0;
	return storage_client_put(env->storage, &call, key, &put, err) < 0 ? -1 : 0;
}

/* The key segment naming a dataset in download records (note 6): the
 * digits of its creation time, which it keeps through renames and which a
 * dataset made later under the same name does not share. */
static void identity_segment(const char *created_at, char out[MANIFEST_TIME_LEN + 1])
{
	size_t n = 0;
	for (const char *p = created_at; *p && n < MANIFEST_TIME_LEN; p++)
		if (*p >= '0' && *p <= '9')
			out[n++] = *p;
	out[n] = '\0';
}

static int store_sidecar(const struct pipeline_env *env, const struct doc_file *f,
			 const char *name, const char *created_at, struct lh_error *err)
{
	struct peer_call call = { .request_id = env->request_id, .who = env->who };
	char key[160], ident[MANIFEST_TIME_LEN + 1];
	identity_segment(created_at ? created_at : "", ident);
	if (!ident[0])
		return lh_fail(err, 502, "upstream_failed", "the catalog did not say when the "
			       "dataset was created");
	snprintf(key, sizeof key, "documents/%s/in/%s", f->doc_id, ident);
	json_t *o = json_object();
	json_object_set_new(o, "dataset", json_string(name));
	json_object_set_new(o, "dataset_created_at", json_string(created_at));
	json_object_set_new(o, "file_name", json_string(f->name));
	json_object_set_new(o, "media_type", json_string(media_type_of(f->format)));
	json_object_set_new(o, "format", json_string(doc_format_name(f->format)));
	json_object_set_new(o, "size", json_integer((json_int_t)f->len));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	struct storage_mem_body src = { text, strlen(text) };
	struct storage_put put = { .source = storage_mem_body_read, .source_ctx = &src, .length = src.left,
				   .write_once = 1 };
	int rc = storage_client_put(env->storage, &call, key, &put, err) < 0 ? -1 : 0;
	free(text);
	return rc;
}

static int fd_sink_write(void *ctx, const char *data, size_t n)
{
	int fd = *(int *)ctx;
	while (n) {
		ssize_t w = write(fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Note 3a: the dataset's latest version into *latest (NULL when there is
 * none), refusing before anything is stored an upload into a table with
 * pipeline.c note 8's 409. 0, or -1 with err. */
static int latest_documents(const struct pipeline_env *env, const char *name,
			    struct manifest **latest, struct lh_error *err)
{
	struct peer_call call = { .request_id = env->request_id, .who = env->who };
	*latest = NULL;
	if (catalog_client_manifest(env->catalog, &call, name, 0, latest, err) != 0) {
		if (err->status != 404)
			return -1;
		lh_error_clear(err);
		return 0;
	}
	if (strcmp((*latest)->fingerprint, doc_rows_fingerprint()) != 0)
		return lh_fail(err, 409, "kind_mismatch", "%s is a table, not a documents dataset: "
			       "ingest the documents under another name", name);
	return 0;
}

/* Note 5a: mark the files whose doc_id is in the rows of `latest` (every
 * object of the version, each read once for all the files). 0, or -1. */
static int mark_held(const struct pipeline_env *env, struct doc_upload *d,
		     const struct manifest *latest, struct lh_error *err)
{
	struct peer_call call = { .request_id = env->request_id, .who = env->who };
	size_t cap = d->nfiles * (LH_SHA256_HEX_LEN + 48) + 1, used = 0;
	char *sel = xmalloc(cap);
	int64_t *hits = xcalloc(d->nfiles, sizeof *hits);
	int rc = 0;
	sel[0] = '\0';
	for (size_t i = 0; i < d->nfiles; i++)   /* doc_ids are hex digits: no quoting */
		used += (size_t)snprintf(sel + used, cap - used, "%scount(*) FILTER (WHERE "
					 "doc_id = '%s')", i ? ", " : "", d->files[i].doc_id);
	for (size_t o = 0; o < latest->nobjects && rc == 0; o++) {
		int fd = open(env->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = lh_fail(err, 500, "io_error", "the dataset's rows could not be spooled "
				     "(%s: %s)", env->spool_dir, strerror(errno));
			break;
		}
		if (storage_client_get(env->storage, &call, latest->objects[o].key, fd_sink_write,
				       &fd, err) != 0 ||
		    parquet_scan_aggregate(fd, sel, hits, d->nfiles, err) != 0)
			rc = -1;
		close(fd);
		for (size_t i = 0; i < d->nfiles && rc == 0; i++)
			d->files[i].held |= hits[i] > 0;
	}
	free(hits);
	free(sel);
	return rc;
}

/* Note 5a: the answer when every good file of an append is in the dataset
 * already: `existing`, the latest version unchanged. */
static json_t *held_body(const struct doc_upload *d, const struct manifest *latest)
{
	json_t *o = json_object(), *files = json_array();
	for (size_t i = 0; i < d->nfiles; i++)
		if (d->files[i].held || d->files[i].duplicate)
			json_array_append_new(files, file_json(&d->files[i]));
	json_object_set_new(o, "manifest", manifest_to_json(latest));
	json_object_set_new(o, "existing", json_true());
	json_object_set_new(o, "row_count", json_integer(0));
	json_object_set_new(o, "kind", json_string("documents"));
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "skipped", json_array());
	json_object_set_new(o, "index_declared", json_false());
	return o;
}

/* Note 6: declare {"text": ["text"]} unless the dataset has an index.
 * 1 when declared here, 0 when one was there, -1 with err. */
static int declare_index(const struct pipeline_env *env, const char *name, struct lh_error *err)
{
	struct peer_call call = { .request_id = env->request_id, .who = env->who };
	json_t *got = NULL;
	if (catalog_client_index_get(env->catalog, &call, name, &got, err) == 0) {
		json_decref(got);
		return 0;
	}
	if (err->status != 404 || strcmp(err->code, "no_index") != 0)
		return -1;
	lh_error_clear(err);
	json_t *decl = json_pack("{s:[s],s:s}", "text", "text", "embedder", "builtin");
	int created = 0;
	int rc = catalog_client_index_declare(env->catalog, &call, name, decl, &got, &created, err);
	json_decref(decl);
	json_decref(got);
	return rc == 0 ? 1 : -1;
}

int doc_upload_run(struct doc_upload *d, const struct pipeline_env *env,
		   const struct doc_limits *lim, const char *name, const char *mode, int *status,
		   json_t **body, struct lh_error *err)
{
	int rc = -1, rows_fd = -1;
	struct doc_rows *rows = NULL;
	struct ingest_schema *schema = NULL;
	struct sha256 *digest = NULL;
	struct manifest *latest = NULL;
	char content[LH_SHA256_HEX_LEN + 1];
	size_t nfailed = 0, ngood = 0, nheld = 0;

	*body = NULL;
	if (d->open && doc_upload_end_file(d, err) != 0)
		goto out;
	if (d->nfiles == 0) {
		lh_fail(err, 400, "bad_request", "the upload has no file: send the documents as "
			"multipart \"file\" parts or one file as the body");
		goto out;
	}
	if (latest_documents(env, name, &latest, err) != 0)                       /* 3a */
		goto out;
	if (latest && !strcmp(mode, "append") && mark_held(env, d, latest, err) != 0)  /* 5a */
		goto out;
	for (size_t i = 0; i < d->nfiles; i++)
		nheld += d->files[i].held;
	rows_fd = open(env->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (rows_fd < 0) {
		lh_fail(err, 500, "io_error", "the document rows could not be spooled (%s: %s)",
			env->spool_dir, strerror(errno));
		goto out;
	}
	rows = doc_rows_create(rows_fd);
	if (read_files(d, lim, rows, &nfailed, &ngood, err) != 0)                  /* 2, 2a */
		goto out;
	if (nfailed && (!d->partial || !ngood)) {                                   /* 3 */
		*body = failure_body(d, nfailed, status);
		rc = 0;
		goto out;
	}
	if (!ngood && nheld) {                                                     /* 5a */
		for (size_t i = 0; i < d->nfiles; i++) {
			struct lh_error side = { 0 };   /* repairs a lost record, as note 6 */
			if (d->files[i].held)
				(void)store_sidecar(env, &d->files[i], name, latest->created_at, &side);
			lh_error_clear(&side);
		}
		*body = held_body(d, latest);
		*status = 200;
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < d->nfiles; i++)                                      /* 4 */
		if (d->files[i].ok && store_original(env, d, &d->files[i], err) != 0)
			goto out;
	digest = sha256_create();                                                   /* 5 */
	sha256_update(digest, DOC_DIGEST_TAG, strlen(DOC_DIGEST_TAG) + 1);
	for (size_t i = 0; i < d->nfiles; i++) {
		const struct doc_file *f = &d->files[i];
		if (!f->ok)
			continue;
		sha256_update(digest, f->doc_id, strlen(f->doc_id));
		sha256_update(digest, "\x1f", 1);
		sha256_update(digest, f->name, strlen(f->name));
		sha256_update(digest, "\x1e", 1);
	}
	sha256_finish_hex(digest, content);
	digest = NULL;
	if (doc_rows_finish(rows, &schema, err) != 0) {
		rows = NULL;
		goto out;
	}
	rows = NULL;
	struct pipeline_input in = {
		.name = name, .mode = mode, .spool_fd = rows_fd, .content_sha256 = content,
		.schema = schema, .documents = 1,
	};
	if (pipeline_run(env, &in, status, body, err) != 0)
		goto out;
	rc = 0;
	if (*status != 200)
		goto out;
	json_t *files = json_array(), *skipped = json_array();
	const char *created_at =
		json_string_value(json_object_get(json_object_get(*body, "manifest"), "created_at"));
	const char *sidecar_error = NULL;
	struct lh_error side = { 0 };
	for (size_t i = 0; i < d->nfiles; i++) {
		struct doc_file *f = &d->files[i];
		if ((f->ok || f->held) && !sidecar_error &&                       /* 6 */
		    store_sidecar(env, f, name, created_at, &side) != 0)
			sidecar_error = side.msg;
		if (f->ok || f->duplicate || f->held)
			json_array_append_new(files, file_json(f));
		else
			json_array_append_new(skipped, failed_json(f));
	}
	json_object_set_new(*body, "kind", json_string("documents"));
	json_object_set_new(*body, "files", files);
	json_object_set_new(*body, "skipped", skipped);
	if (sidecar_error) {
		log_event("warn", "ingestd", "%s: a document's download record was not written: %s",
			  name, sidecar_error);
		json_object_set_new(*body, "download_error", json_string("the version is stored, but "
				    "the download records were not all written; ingest the same files "
				    "again to repair them"));
	}
	lh_error_clear(&side);
	int declared = declare_index(env, name, &side);
	json_object_set_new(*body, "index_declared", json_boolean(declared == 1));
	if (declared < 0) {
		json_object_set_new(*body, "index_error", json_string(side.msg));
		lh_error_clear(&side);
	}
out:
	manifest_unref(latest);
	doc_rows_abort(rows);
	sha256_destroy(digest);
	ingest_schema_destroy(schema);
	if (rows_fd >= 0)
		close(rows_fd);
	return rc;
}

/* ---- download (note 7) ------------------------------------------------- */

struct buf_sink {
	char *data;
	size_t len, cap;
};

static int buf_sink_write(void *ctx, const char *data, size_t n)
{
	struct buf_sink *b = ctx;
	if (b->len + n > b->cap)
		return -1;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return 0;
}

/* A Content-Disposition for `name`: an ASCII fallback and RFC 5987's UTF-8. */
static void disposition(const char *name, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	char ascii[LH_DOC_FILE_NAME_MAX + 1], enc[3 * LH_DOC_FILE_NAME_MAX + 1];
	size_t a = 0, e = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_';
		if (a < sizeof ascii - 1)
			ascii[a++] = *p < 0x80 && *p >= 0x20 && *p != '"' && *p != '\\' ? (char)*p : '_';
		if (e + 3 < sizeof enc) {
			if (plain) {
				enc[e++] = (char)*p;
			} else {
				enc[e++] = '%';
				enc[e++] = hex[*p >> 4];
				enc[e++] = hex[*p & 15];
			}
		}
	}
	ascii[a] = enc[e] = '\0';
	snprintf(out, cap, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

static int is_doc_id(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == LH_SHA256_HEX_LEN;
}

/* Whether dataset `d` grants the download (note 7): a documents dataset,
 * and for a read or agent token one without personal columns (else
 * *masked_only is set, for the 403). */
static int grants(const struct manifest_summary *d, int masked_role, int *masked_only)
{
	if (strcmp(d->fingerprint, doc_rows_fingerprint()) != 0)
		return 0;
	int has_masks = d->masked[0] && strcmp(d->masked, "[]") != 0;
	if (masked_role && has_masks) {
		*masked_only = 1;
		return 0;
	}
	return 1;
}

int doc_download(struct http_request *req, struct storage_client *storage,
		 struct catalog_client *catalog, const char *spool_dir)
{
	struct lh_error err = { 0 };
	struct peer_call call = { .request_id = http_request_id(req) };
	const char *id = http_request_path_rest(req);
	struct storage_page page = { 0 };
	struct manifest_summary *list = NULL;
	size_t nlist = 0;
	json_t *meta = NULL;
	struct buf_sink sb = { 0 };
	int fd = -1, masked_only = 0;
	const char *via = NULL;
	char prefix[128], key[160];
	enum lh_role role = (enum lh_role)http_request_role(req);
	int masked_role = role == LH_ROLE_READ || role == LH_ROLE_AGENT;

	if (!id || !is_doc_id(id)) {
		lh_fail(&err, 404, "not_found", "no document has this id: a document id is the "
			"64 lowercase hex digits of its SHA-256, as in the dataset's doc_id column");
		goto fail;
	}
	snprintf(prefix, sizeof prefix, "documents/%s/in/", id);
	if (storage_client_list(storage, &call, prefix, NULL, LH_DOC_DATASETS_MAX, &page, &err) != 0 ||
	    catalog_client_datasets(catalog, &call, &list, &nlist, &err) != 0)
		goto fail;
	for (size_t i = 0; i < page.n && !via; i++) {
		const char *ident = page.entries[i].key + strlen(prefix);
		for (size_t k = 0; k < nlist && !via; k++) {
			char seg[MANIFEST_TIME_LEN + 1];
			identity_segment(list[k].created_at, seg);
			if (seg[0] && !strcmp(seg, ident) &&
			    grants(&list[k], masked_role, &masked_only))
				via = page.entries[i].key;
		}
	}
	if (!via) {
		if (masked_only)
			lh_fail(&err, 403, "masked_column", "this document is in a dataset with personal "
				"columns, and the original file holds them unmasked: a write or admin "
				"token may download it; search or query its text instead");
		else
			lh_fail(&err, 404, "not_found", "no document has this id in any dataset");
		goto fail;
	}
	snprintf(key, sizeof key, "%s", via);
	sb.cap = LH_DOC_SIDECAR_MAX_BYTES;
	sb.data = xmalloc(sb.cap + 1);
	if (storage_client_get(storage, &call, key, buf_sink_write, &sb, &err) != 0)
		goto fail;
	sb.data[sb.len] = '\0';
	meta = json_loads(sb.data, 0, NULL);
	const char *file_name = json_string_value(json_object_get(meta, "file_name"));
	const char *media = json_string_value(json_object_get(meta, "media_type"));
	if (!file_name || !media) {
		lh_fail(&err, 502, "upstream_failed", "the document's record is damaged");
		goto fail;
	}
	fd = open(spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		lh_fail(&err, 500, "io_error", "the document could not be spooled");
		goto fail;
	}
	snprintf(key, sizeof key, "documents/%s/original", id);
	if (storage_client_get(storage, &call, key, fd_sink_write, &fd, &err) != 0)
		goto fail;
	off_t size = lseek(fd, 0, SEEK_END);
	char disp[1200], etag[LH_SHA256_HEX_LEN + 3];
	disposition(file_name, disp, sizeof disp);
	snprintf(etag, sizeof etag, "\"%s\"", id);
	http_respond_fd(req, 200, media, fd, 0, size < 0 ? 0 : (uint64_t)size);
	fd = -1;
	http_response_header(req, "Content-Disposition", disp);
	http_response_header(req, "X-Content-Type-Options", "nosniff");
	http_response_header(req, "Content-Security-Policy", "sandbox; default-src 'none'");
	http_response_header(req, "ETag", etag);
	http_response_header(req, "Cache-Control", "private, max-age=3600");
	goto out;
fail:
	http_respond_error(req, &err);
out:
	lh_error_clear(&err);
	storage_page_free(&page);
	free(list);
	json_decref(meta);
	free(sb.data);
	if (fd >= 0)
		close(fd);
	return 0;
}
