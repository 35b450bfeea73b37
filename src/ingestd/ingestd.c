/* ingestd.c — the ingest service: POST /ingest (docs/api.md).
 *
 * DESIGN NOTES
 *  1. begin(): the name, mode and delimiter (query string) are checked
 *     before any byte is read; a declared Content-Length over
 *     max_upload_bytes is refused with 413 at once. The media type is not
 *     a gate: multipart/form-data is parsed, any other body is the file,
 *     its Content-Type one hint for detection (note 8).
 *  2. The spool file is created with O_TMPFILE in the spool directory: it has
 *     no name, so it disappears when its descriptor is closed — on success,
 *     on error, on client disconnect, and even if the process is killed.
 *  3. body(): each chunk is hashed (the content digest) and written to the
 *     spool; multipart bodies go through the streaming parser first, so only
 *     the "file" field's bytes are spooled. Past the cap -> 413.
 *  4. Inference runs while the upload arrives (POST /ingest step 2 over exactly
 *     the spooled bytes): every spooled chunk is also handed to the
 *     inference pump, a thread per upload that runs the upload's format's
 *     feed() (format.h; picked before the first piece, note 8) on
 *     INFER_PIECE_BYTES pieces taken from a bounded queue (INFER_PIECES
 *     pieces, so memory stays bounded and a slow inference slows the upload
 *     instead of growing a buffer). Measured (bench/README.md, "HTTP
 *     ingest"): on loopback, inference in the body callback itself made the
 *     upload phase slower by about its own cost; a separate thread overlaps
 *     it with receiving, hashing and spooling. When the CSV is bad, the pump
 *     keeps the first error and discards the rest of the body; end()
 *     answers it (400 with the line), as before.
 *  4a. A format whose schema is only known from the whole file (Parquet's
 *     footer is at its end; format.h's infer_file) has no feed(): the pump
 *     still picks it at the first piece but feeds it nothing, and end()
 *     calls its infer_file() on the complete spool once the body has ended,
 *     with what the client chose for it (format.h's ingest_options:
 *     ?sheet= or the form field "sheet").
 *  5. end(): the pump is finished (its schema or its error), then
 *     pipeline_run() (pipeline.c) does the rest with that schema.
 *  6. done(): stops the pump, closes the spool and frees the state, whatever
 *     happened.
 *  7. The Parquet FIFOs pipeline.c makes beside the spool are named
 *     <digest>.<pid>.<thread>.parquet; a process killed mid-conversion leaves
 *     its file behind. spool_sweep() at start removes those of processes no
 *     longer alive (and of this process: none is in use yet), so crashes do
 *     not leak disk (found by bench/soak.py).
 *  8. The format is picked (ingest_format_pick, ADR 0180) on the body
 *     thread once INGEST_SNIFF_HEAD_BYTES of the file have arrived, or at
 *     end() for a shorter file: until then the file's bytes are spooled and
 *     hashed as always and held in u->head, then handed to the pump. What
 *     the pick sees: the head, ?delimiter= (or the form field "delimiter",
 *     which must come before the file), and the request's Content-Type for
 *     a raw body or the file part's Content-Type and filename for
 *     multipart. A kind of file ingest does not read is refused (415) as
 *     soon as its head is in: the rest of the body is dropped unread by the
 *     HTTP layer (http_server.c note 2), neither spooled nor inferred.
 *  9. ?kind=documents (ADR 0225) hands the upload to doc_ingest.c: every
 *     multipart "file" part (or the raw body, named by ?file_name= or its
 *     Content-Disposition) is spooled as a file of its own, without the
 *     inference pump; end() reads, chunks and ingests them. The same
 *     service answers GET /documents/<doc_id> (the original, ADR 0227).
 */
#include "ingestd/ingestd.h"

#include "common/auth.h"
#include "common/catalog_client.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/ready.h"
#include "common/service.h"
#include "common/sha256.h"
#include "common/storage_client.h"
#include "common/upstream.h"
#include "common/xmalloc.h"
#include "documents/documents.h"
#include "ingestd/csv.h"
#include "ingestd/declared.h"
#include "ingestd/doc_ingest.h"
#include "ingestd/format.h"
#include "ingestd/multipart.h"
#include "ingestd/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct ingestd {
	struct http_server *http;
	struct storage_client *storage; /* storaged, with the service token */
	struct catalog_client *catalog; /* catalogd, with the service token */
	char *spool_dir;
	uint64_t max_upload_bytes;
	uint64_t duckdb_memory_bytes;
	unsigned duckdb_threads;
	struct conversion_slots conversions;  /* pipeline.h: at most 2 at once */
	struct ready *ready;            /* GET /ready: both peers ready (ADR 0200) */
	char *catalogd_url, *storaged_url;
	struct upstream_pool *catalogd_pool, *storaged_pool;  /* lists (ADR 0204), or NULL */
	struct doc_limits doc_limits;   /* what one document may cost (documents.h); its
					 * `workers` is doc_workers below */
	struct doc_workers *doc_workers;  /* warm PDF worker processes, shared (ADR 0220) */
};

static void ingestd_check(void *ctx, struct ready *r)
{
	struct ingestd *s = ctx;
	ready_check_peer(r, "catalogd", s->catalogd_url);
	ready_check_peer(r, "storaged", s->storaged_url);
}

struct upload;

/* ---- the inference pump (note 4) --------------------------------------- */

#define INFER_PIECE_BYTES (1u << 20)
#define INFER_PIECES 4

struct infer_pump {
	const struct ingest_format *fmt; /* picked at the first bytes (note 4) */
	struct ingest_reader *st;        /* fmt's inference state */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *piece[INFER_PIECES];   /* ring of full pieces, piece_len bytes each */
	size_t piece_len[INFER_PIECES];
	size_t head, count;          /* ring: first full piece, how many */
	char *fill;                  /* the piece being filled by the body thread */
	size_t fill_len;
	char *spare[INFER_PIECES + 1];  /* emptied pieces for reuse */
	size_t nspare;
	int closed;                  /* no more pieces will come */
	int drop;                    /* body thread only: inference failed, stop queueing */
	int threaded;                /* 0: the thread could not start, feed inline */
	int failed;                  /* the thread has an error in err */
	int finished;                /* pump_finish() ran: closed, state consumed */
	struct lh_error err;         /* written by the thread, read after join */
};

/* Begin the inference of the upload's format (note 8), on the body thread
 * before the first piece is queued. */
static void pump_open(struct infer_pump *p, const struct ingest_format *fmt)
{
	p->fmt = fmt;
	p->st = p->fmt->feed ? p->fmt->begin() : NULL;  /* note 4a: no feed, no state */
}

static void *pump_main(void *arg)
{
	struct infer_pump *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->count && !p->closed)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->count)
			break;
		char *data = p->piece[p->head];
		size_t n = p->piece_len[p->head];
		int failed = p->failed;
		pthread_mutex_unlock(&p->lock);
		int rc = failed || !p->fmt->feed ? 0 : p->fmt->feed(p->st, data, n, &p->err);
		pthread_mutex_lock(&p->lock);
		if (rc)
			p->failed = 1;  /* keep draining: the body thread never blocks */
		p->head = (p->head + 1) % INFER_PIECES;
		p->count--;
		p->spare[p->nspare++] = data;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct infer_pump *pump_start(void)
{
	struct infer_pump *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->fill = xmalloc(INFER_PIECE_BYTES);
	/* without a thread (resource limits), infer in the body callback */
	p->threaded = pthread_create(&p->thread, NULL, pump_main, p) == 0;
	return p;
}

/* Hand the filled piece to the thread, waiting while the ring is full. */
static void pump_push(struct infer_pump *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->count == INFER_PIECES)
		pthread_cond_wait(&p->cond, &p->lock);
	size_t slot = (p->head + p->count) % INFER_PIECES;
	p->piece[slot] = p->fill;
	p->piece_len[slot] = p->fill_len;
	p->count++;
	p->drop = p->failed;
	p->fill = p->nspare ? p->spare[--p->nspare] : NULL;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (!p->fill)
		p->fill = xmalloc(INFER_PIECE_BYTES);
	p->fill_len = 0;
}

/* Queue n bytes for inference (copied). Once inference has failed the bytes
 * are dropped: the error is answered at end(). */
static void pump_feed(struct infer_pump *p, const char *data, size_t n)
{
	if (!p->threaded) {
		if (!p->failed && p->fmt->feed && p->fmt->feed(p->st, data, n, &p->err))
			p->failed = 1;
		return;
	}
	while (n > 0 && !p->drop) {
		size_t take = INFER_PIECE_BYTES - p->fill_len;
		if (take > n)
			take = n;
		memcpy(p->fill + p->fill_len, data, take);
		p->fill_len += take;
		data += take;
		n -= take;
		if (p->fill_len == INFER_PIECE_BYTES)
			pump_push(p);
	}
}

/* Stop the thread after it has taken every queued piece; join it. */
static void pump_close(struct infer_pump *p)
{
	if (!p->threaded)
		return;
	if (p->fill_len)
		pump_push(p);
	pthread_mutex_lock(&p->lock);
	p->closed = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
}

/* Close the pump and take its result: 0 and *out (caller destroys), or -1
 * with the inference error copied into err. The state is consumed. A format
 * without feed() infers now, from the spooled file `fd` of `size` bytes
 * (note 4a). */
static int pump_finish(struct infer_pump *p, int fd, uint64_t size,
		       const struct ingest_options *opt, struct ingest_schema **out,
		       struct lh_error *err)
{
	pump_close(p);
	p->finished = 1;
	int rc;
	if (p->failed) {
		*err = p->err;          /* moves `extra` */
		memset(&p->err, 0, sizeof p->err);
		p->fmt->abort(p->st);
		rc = -1;
	} else if (!p->fmt->feed) {
		rc = p->fmt->infer_file(fd, size, opt, out, err);                    /* 4a */
	} else {
		rc = p->fmt->finish(p->st, out, err);
	}
	p->st = NULL;
	return rc;
}

static void pump_destroy(struct infer_pump *p)
{
	if (!p)
		return;
	if (!p->finished) {       /* an early answer or disconnect */
		pump_close(p);
		if (p->st)
			p->fmt->abort(p->st);
	}
	for (size_t i = 0; i < p->count; i++)
		free(p->piece[(p->head + i) % INFER_PIECES]);
	for (size_t i = 0; i < p->nspare; i++)
		free(p->spare[i]);
	free(p->fill);
	lh_error_clear(&p->err);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* What the multipart parser's callbacks need (note 3). */
struct file_sink {
	struct upload *u;
	struct ingestd *svc;
};

struct upload {
	char name[80];
	char mode[16];
	int spool_fd;
	struct sha256 *digest;
	uint64_t bytes;
	struct multipart *mp;
	struct file_sink sink;
	struct infer_pump *pump;
	char sheet[INGEST_SHEET_NAME_MAX + 1];  /* ?sheet= or the form's (note 4a) */
	char media_type[128];     /* a raw body's Content-Type (note 8) */
	char delimiter;           /* ?delimiter= or the form field, 0 = none */
	int picked;               /* the format is picked: bytes go to the pump */
	char *head;               /* until then, the file's first bytes */
	size_t head_len;
	struct declared_types declared;  /* ?types= or the form's "types" (declared.h) */
	int has_types;
	int evolve;                      /* ?evolve=true or the form's "evolve" (ADR 0173) */
	int has_evolve;
	struct doc_upload *docs;         /* ?kind=documents (note 9), else NULL */
};

/* ADR 0173: ?evolve= (or the form field: a checkbox sends "on"). */
static int check_evolve(const char *v, size_t n, int *out, struct lh_error *err)
{
	static const char *const yes[] = { "true", "1", "on", "yes" };
	static const char *const no[] = { "false", "0", "off", "no", "" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strlen(yes[i]) == n && !strncasecmp(v, yes[i], n))
			return *out = 1, 0;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strlen(no[i]) == n && !strncasecmp(v, no[i], n))
			return *out = 0, 0;
	lh_fail(err, 400, "bad_request", "evolve must be true or false");
	lh_error_set(err, "field", json_string("evolve"));
	return -1;
}

static int check_mode(const char *mode, struct lh_error *err)
{
	if (!strcmp(mode, "replace") || !strcmp(mode, "append"))
		return 0;
	lh_fail(err, 400, "bad_mode", "mode must be \"replace\" or \"append\", not \"%.40s\"", mode);
	lh_error_set(err, "field", json_string("mode"));
	return -1;
}

/* Pick the format from what has arrived (note 8) and hand the held bytes
 * to its inference. `complete`: the head is the whole file. 0, or -1 with
 * the 415 of a kind of file ingest does not read. */
static int upload_pick(struct upload *u, int complete, struct lh_error *err)
{
	const struct ingest_format *fmt;
	struct ingest_sniff in = {
		.media_type = u->mp ? multipart_file_type(u->mp)
				    : u->media_type[0] ? u->media_type : NULL,
		.file_name = u->mp ? multipart_file_name(u->mp) : NULL,
		.head = (const unsigned char *)u->head, .nhead = u->head_len,
		.complete = complete, .delimiter = u->delimiter,
	};
	if (ingest_format_pick(&in, &fmt, err) != 0)
		return -1;
	u->picked = 1;
	pump_open(u->pump, fmt);
	pump_feed(u->pump, u->head, u->head_len);
	free(u->head);
	u->head = NULL;
	return 0;
}

/* Hand n bytes of the file to inference: held until the pick (note 8). */
static int upload_infer(struct upload *u, const char *data, size_t n, struct lh_error *err)
{
	if (!u->picked) {
		size_t take = INGEST_SNIFF_HEAD_BYTES - u->head_len;
		if (take > n)
			take = n;
		if (!u->head)
			u->head = xmalloc(INGEST_SNIFF_HEAD_BYTES);
		memcpy(u->head + u->head_len, data, take);
		u->head_len += take;
		data += take;
		n -= take;
		if (u->head_len < INGEST_SNIFF_HEAD_BYTES)
			return 0;
		if (upload_pick(u, 0, err) != 0)
			return -1;
	}
	if (n)
		pump_feed(u->pump, data, n);
	return 0;
}

/* ?delimiter= or the form field (csv.h's csv_delimiter_parse). */
static int set_delimiter(struct upload *u, const char *value, size_t n, struct lh_error *err)
{
	char d = csv_delimiter_parse(value, n);
	if (!d) {
		lh_fail(err, 400, "bad_delimiter",
			"delimiter must be one of , ; | or tab (%%09 or the word tab), not \"%.*s\"",
			(int)(n > 20 ? 20 : n), value);
		lh_error_set(err, "field", json_string("delimiter"));
		return -1;
	}
	u->delimiter = d;
	return 0;
}

/* Spool write of one chunk, hashed on the way (note 3). */
static int spool_write(struct upload *u, struct ingestd *svc, const char *data, size_t n,
		       struct lh_error *err)
{
	if (u->bytes + n > svc->max_upload_bytes)
		return lh_fail(err, 413, "too_large", "the upload exceeds %llu bytes",
			       (unsigned long long)svc->max_upload_bytes);
	sha256_update(u->digest, data, n);
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(u->spool_fd, data + off, n - off);
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
	u->bytes += n;
	return upload_infer(u, data, n, err);                                   /* 4, 8 */
}

static int on_file(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	struct file_sink *s = ctx;
	return spool_write(s->u, s->svc, data, n, err);
}

/* ?sheet= or the form field "sheet" (note 4a): a name without control
 * characters, at most INGEST_SHEET_NAME_MAX bytes; the format checks it. */
static int set_sheet(struct upload *u, const char *value, size_t n, struct lh_error *err)
{
	int bad = n > INGEST_SHEET_NAME_MAX;
	for (size_t i = 0; i < n && !bad; i++)
		bad = (unsigned char)value[i] < 0x20 || value[i] == 0x7f;
	if (bad) {
		lh_fail(err, 400, "bad_request",
			"sheet must be the name of a sheet: at most %d bytes, no control characters",
			INGEST_SHEET_NAME_MAX);
		lh_error_set(err, "field", json_string("sheet"));
		return -1;
	}
	memcpy(u->sheet, value, n);
	u->sheet[n] = '\0';
	return 0;
}

/* Form fields "name" and "mode" fill in what the query string did not. */
static int on_field(void *ctx, const char *field, const char *value, size_t n,
		    struct lh_error *err)
{
	struct file_sink *s = ctx;
	char *dst = NULL;
	size_t cap = 0;
	if (!strcmp(field, "delimiter")) {                                     /* 8 */
		if (s->u->picked || s->u->head_len)
			return lh_fail(err, 400, "bad_request", "form field \"delimiter\" must come "
				       "before the file: the format is chosen from the file's first bytes");
		return s->u->delimiter || n == 0 ? 0 : set_delimiter(s->u, value, n, err);
	}
	if (!strcmp(field, "name") && !s->u->name[0]) {
		dst = s->u->name;
		cap = sizeof s->u->name;
	} else if (!strcmp(field, "mode") && !s->u->mode[0]) {
		dst = s->u->mode;
		cap = sizeof s->u->mode;
	}
	if (!strcmp(field, "evolve") && !s->u->has_evolve) {             /* ADR 0173 */
		if (memchr(value, '\0', n) || check_evolve(value, n, &s->u->evolve, err))
			return -1;
		s->u->has_evolve = 1;
		return 0;
	}
	if (!strcmp(field, "sheet") && !s->u->sheet[0] && n > 0)        /* note 4a */
		return set_sheet(s->u, value, n, err);
	if (!strcmp(field, "types") && !s->u->has_types && n > 0) {      /* declared.h */
		char *text = xstrndup(value, n);
		int rc = memchr(value, '\0', n) ? lh_fail(err, 400, "bad_types",
			"form field \"types\" is invalid")
			: declared_types_parse(text, &s->u->declared, err);
		free(text);
		s->u->has_types = rc == 0;
		return rc;
	}
	if (!dst)
		return 0;
	if (n >= cap || memchr(value, '\0', n))
		return lh_fail(err, 400, "bad_request", "form field \"%s\" is invalid", field);
	memcpy(dst, value, n);
	dst[n] = '\0';
	return 0;
}

/* The raw body's file name from Content-Disposition (filename="x.pdf" or
 * filename=x.pdf), or "" (note 9). */
static void disposition_name(const char *h, char *out, size_t cap)
{
	out[0] = '\0';
	const char *p = h ? strstr(h, "filename=") : NULL;
	if (!p)
		return;
	p += 9;
	size_t n;
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
	} else {
		n = strcspn(p, "; \t");
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Note 9: a documents upload. The name and mode were checked by the caller. */
static int documents_begin(struct http_request *req, struct ingestd *svc, struct upload *u,
			   const char *ctype)
{
	struct lh_error err = { 0 };
	const char *partial = http_request_query(req, "partial");
	const char *file_name = http_request_query(req, "file_name");
	int is_partial = 0;
	char from_header[LH_DOC_FILE_NAME_MAX + 1];

	if (partial && check_evolve(partial, strlen(partial), &is_partial, &err) != 0) {
		lh_error_clear(&err);
		lh_fail(&err, 400, "bad_request", "partial must be true or false");
		lh_error_set(&err, "field", json_string("partial"));
		goto fail;
	}
	u->spool_fd = open(svc->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);      /* 2 */
	if (u->spool_fd < 0) {
		lh_fail(&err, 500, "io_error", "the upload could not be spooled (%s: %s)",
			svc->spool_dir, strerror(errno));
		goto fail;
	}
	u->docs = doc_upload_create(u->spool_fd, svc->max_upload_bytes, is_partial);
	if (ctype && !strncasecmp(ctype, "multipart/form-data", 19)) {
		char boundary[LH_MULTIPART_BOUNDARY_MAX + 1];
		struct multipart_callbacks cb;
		if (multipart_boundary(ctype, boundary, sizeof boundary, &err) != 0)
			goto fail;
		doc_upload_callbacks(u->docs, &cb);
		u->mp = multipart_create(boundary, &cb);
		return 0;
	}
	if (!file_name || !file_name[0]) {
		disposition_name(http_request_header(req, "Content-Disposition"), from_header,
				 sizeof from_header);
		file_name = from_header;
	}
	if (!file_name[0]) {
		lh_fail(&err, 400, "missing_file_name", "a document sent as the body needs its file "
			"name: add ?file_name=NAME (or send multipart with a filename)");
		lh_error_set(&err, "field", json_string("file_name"));
		goto fail;
	}
	if (doc_upload_begin_file(u->docs, file_name, ctype, &err) != 0)
		goto fail;
	return 0;
fail:
	http_respond_error(req, &err);
	lh_error_clear(&err);
	return 0;
}

static int ingest_begin(struct http_request *req)
{
	struct ingestd *svc = http_request_ctx(req);
	struct lh_error err = { 0 };
	struct upload *u = xcalloc(1, sizeof *u);
	u->spool_fd = -1;
	http_request_set_state(req, u);

	const char *name = http_request_query(req, "name");
	const char *mode = http_request_query(req, "mode");
	const char *sheet = http_request_query(req, "sheet");
	const char *delimiter = http_request_query(req, "delimiter");
	const char *types = http_request_query(req, "types");
	const char *evolve = http_request_query(req, "evolve");
	const char *kind = http_request_query(req, "kind");
	const char *ctype = http_request_header(req, "Content-Type");
	uint64_t declared;
	int documents = 0;

	if (name) {
		if (dataset_name_check(name, &err) != 0)                        /* 1 */
			goto fail;
		snprintf(u->name, sizeof u->name, "%s", name);
	}
	if (mode) {
		if (check_mode(mode, &err) != 0)
			goto fail;
		snprintf(u->mode, sizeof u->mode, "%s", mode);
	}
	if (kind && kind[0] && strcmp(kind, "table") != 0) {                         /* 9 */
		if (strcmp(kind, "documents") != 0) {
			lh_fail(&err, 400, "bad_request", "kind must be \"documents\" or \"table\"");
			lh_error_set(&err, "field", json_string("kind"));
			goto fail;
		}
		documents = 1;
	}
	if (documents)
		return documents_begin(req, svc, u, ctype);
	if (sheet && sheet[0] && set_sheet(u, sheet, strlen(sheet), &err) != 0)
		goto fail;
	if (evolve) {                                                    /* ADR 0173 */
		if (check_evolve(evolve, strlen(evolve), &u->evolve, &err) != 0)
			goto fail;
		u->has_evolve = 1;
	}
	if (types && types[0]) {                                     /* declared.h note 1 */
		if (declared_types_parse(types, &u->declared, &err) != 0)
			goto fail;
		u->has_types = 1;
	}
	if (delimiter && delimiter[0] &&
	    set_delimiter(u, delimiter, strlen(delimiter), &err) != 0)                 /* 1 */
		goto fail;
	int is_multipart = ctype && !strncasecmp(ctype, "multipart/form-data", 19);
	if (!is_multipart && ctype)                                                     /* 8 */
		snprintf(u->media_type, sizeof u->media_type, "%s", ctype);
	if (http_request_content_length(req, &declared) && declared > svc->max_upload_bytes) {
		lh_fail(&err, 413, "too_large", "the upload (%llu bytes) exceeds %llu bytes",
			(unsigned long long)declared, (unsigned long long)svc->max_upload_bytes);
		goto fail;
	}
	if (is_multipart) {
		char boundary[LH_MULTIPART_BOUNDARY_MAX + 1];
		if (multipart_boundary(ctype, boundary, sizeof boundary, &err) != 0)
			goto fail;
		u->sink.u = u;
		u->sink.svc = svc;
		struct multipart_callbacks cb = { .on_file = on_file, .on_field = on_field,
						  .ctx = &u->sink };
		u->mp = multipart_create(boundary, &cb);
	}
	u->spool_fd = open(svc->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600); /* 2 */
	if (u->spool_fd < 0) {
		lh_fail(&err, 500, "io_error", "the upload could not be spooled (%s: %s)",
			svc->spool_dir, strerror(errno));
		goto fail;
	}
	u->digest = sha256_create();
	u->pump = pump_start();
	return 0;
fail:
	http_respond_error(req, &err);
	lh_error_clear(&err);
	return 0;
}

static int ingest_body(struct http_request *req, const char *data, size_t n)
{
	struct ingestd *svc = http_request_ctx(req);
	struct upload *u = http_request_state(req);
	struct lh_error err = { 0 };
	int rc = u->mp ? multipart_feed(u->mp, data, n, &err)                   /* 3 */
		 : u->docs ? doc_upload_write(u->docs, data, n, &err)            /* 9 */
		       : spool_write(u, svc, data, n, &err);
	if (rc != 0) {
		http_respond_error(req, &err);
		lh_error_clear(&err);
	}
	return 0;
}

/* Note 9: read, chunk and ingest the spooled documents. */
static int documents_end(struct http_request *req, struct ingestd *svc, struct upload *u)
{
	struct lh_error err = { 0 };
	json_t *body = NULL;
	int status = 0;
	if (!u->name[0]) {
		lh_fail(&err, 400, "bad_request", "missing dataset name: add ?name=<dataset>");
		lh_error_set(&err, "field", json_string("name"));
		goto fail;
	}
	struct pipeline_env env = {
		.conversions = &svc->conversions,
		.storage = svc->storage, .catalog = svc->catalog,
		.spool_dir = svc->spool_dir, .duckdb_memory_bytes = svc->duckdb_memory_bytes,
		.duckdb_threads = svc->duckdb_threads, .request_id = http_request_id(req),
		.who = http_request_who(req),
	};
	if (doc_upload_run(u->docs, &env, &svc->doc_limits, u->name,
			   u->mode[0] ? u->mode : "replace", &status, &body, &err) != 0)
		goto fail;
	http_respond_json(req, status, body);
	return 0;
fail:
	http_respond_error(req, &err);
	lh_error_clear(&err);
	return 0;
}

static int documents_get_end(struct http_request *req)
{
	struct ingestd *svc = http_request_ctx(req);
	return doc_download(req, svc->storage, svc->catalog, svc->spool_dir);
}

static int ingest_end(struct http_request *req)
{
	struct ingestd *svc = http_request_ctx(req);
	struct upload *u = http_request_state(req);
	struct lh_error err = { 0 };
	char digest[LH_SHA256_HEX_LEN + 1];
	int status = 0;
	json_t *body = NULL;
	struct ingest_schema *schema = NULL;

	if (u->mp && multipart_finish(u->mp, &err) != 0)
		goto fail;
	if (u->docs)
		return documents_end(req, svc, u);
	if (!u->name[0]) {
		lh_fail(&err, 400, "bad_request", "missing dataset name: add ?name=<dataset>");
		lh_error_set(&err, "field", json_string("name"));
		goto fail;
	}
	if (u->mp && (dataset_name_check(u->name, &err) != 0 ||
		      (u->mode[0] && check_mode(u->mode, &err) != 0)))
		goto fail;
	if (!u->picked && upload_pick(u, 1, &err) != 0)                         /* 8 */
		goto fail;
	struct ingest_options opt = { .sheet = u->sheet[0] ? u->sheet : NULL,
				      .max_upload_bytes = svc->max_upload_bytes };
	if (pump_finish(u->pump, u->spool_fd, u->bytes, &opt, &schema, &err) != 0) /* 5 */
		goto fail;
	sha256_finish_hex(u->digest, digest);
	u->digest = NULL;

	struct pipeline_env env = {
		.conversions = &svc->conversions,
		.storage = svc->storage, .catalog = svc->catalog,
		.spool_dir = svc->spool_dir, .duckdb_memory_bytes = svc->duckdb_memory_bytes,
		.duckdb_threads = svc->duckdb_threads, .request_id = http_request_id(req),
		.who = http_request_who(req),
	};
	struct pipeline_input in = {
		.name = u->name, .mode = u->mode[0] ? u->mode : "replace",
		.spool_fd = u->spool_fd, .content_sha256 = digest, .schema = schema,
		.declared = &u->declared, .evolve = u->evolve,
	};
	if (pipeline_run(&env, &in, &status, &body, &err) != 0)
		goto fail;
	http_respond_json(req, status, body);
	ingest_schema_destroy(schema);
	return 0;
fail:
	if (!strcmp(err.code, "upstream_interrupted")) {   /* ADR 0202 */
		char said[sizeof err.msg];
		snprintf(said, sizeof said, "%s", err.msg);
		lh_error_rephrase(&err, "%.400s; retrying is safe: ingest is idempotent", said);
	}
	http_respond_error(req, &err);
	lh_error_clear(&err);
	ingest_schema_destroy(schema);
	return 0;
}

static void ingest_done(struct http_request *req, int completed)
{
	struct upload *u = http_request_state(req);                             /* 6 */
	if (!u)
		return;
	pump_destroy(u->pump);
	doc_upload_destroy(u->docs);
	if (u->spool_fd >= 0)
		close(u->spool_fd);
	sha256_destroy(u->digest);
	multipart_destroy(u->mp);
	declared_types_free(&u->declared);
	free(u->head);
	free(u);
}

/* Note 6: unlink <spool>/<64 hex>.<pid>.<hex>.parquet of dead processes.
 * Best effort: a file that cannot be removed is left for the next start. */
static void spool_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name, *dot = strchr(name, '.');
		size_t len = strlen(name);
		if (!dot || dot - name != 64 || len < 8 || strcmp(name + len - 8, ".parquet") != 0)
			continue;
		char *end;
		errno = 0;
		long pid = strtol(dot + 1, &end, 10);
		if (errno || end == dot + 1 || *end != '.' || pid <= 0)
			continue;
		if (pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
			unlinkat(dirfd(d), name, 0);
	}
	closedir(d);
}

static const struct http_route routes[] = {
	{ "POST", "/ingest", "ingest", ingest_begin, ingest_body, ingest_end, ingest_done, 0, 0 },
	{ "GET", "/documents/*", "documents", NULL, NULL, documents_get_end, NULL, 0, 0 },
};

struct ingestd *ingestd_start(const struct lh_config *cfg, struct lh_error *err)
{
	if (!cfg->ingestd.storaged_url[0] || !cfg->ingestd.catalogd_url[0]) {
		lh_fail(err, 400, "bad_config",
			"ingestd needs [ingestd] storaged_url and catalogd_url "
			"(LAKEHOUSE_INGESTD_STORAGED_URL, LAKEHOUSE_INGESTD_CATALOGD_URL)");
		return NULL;
	}
	if (service_mkdirs(cfg->ingestd.spool_dir, err) != 0)
		return NULL;
	spool_sweep(cfg->ingestd.spool_dir);                                     /* 6 */
	struct ingestd *svc = xcalloc(1, sizeof *svc);
	if (upstream_pool_for_list("storaged", cfg->ingestd.storaged_url, "ingestd",
				   &svc->storaged_pool, err) != 0 ||
	    upstream_pool_for_list("catalogd", cfg->ingestd.catalogd_url, "ingestd",
				   &svc->catalogd_pool, err) != 0) {
		upstream_pool_destroy(svc->storaged_pool);
		free(svc);
		return NULL;
	}
	struct peer_config sp = { .name = "the object store", .url = cfg->ingestd.storaged_url,
				  .pool = svc->storaged_pool, .token = auth_service_token(cfg) };
	struct peer_config cp = { .name = "the catalog", .url = cfg->ingestd.catalogd_url,
				  .pool = svc->catalogd_pool, .token = auth_service_token(cfg) };
	svc->storage = storage_client_create(&sp);
	svc->catalog = catalog_client_create(&cp);
	svc->spool_dir = xstrdup(cfg->ingestd.spool_dir);
	svc->catalogd_url = xstrdup(cfg->ingestd.catalogd_url);
	svc->storaged_url = xstrdup(cfg->ingestd.storaged_url);
	svc->ready = ready_create("ingestd", ingestd_check, svc);
	svc->max_upload_bytes = cfg->ingestd.max_upload_bytes;
	svc->duckdb_memory_bytes = cfg->ingestd.duckdb_memory_bytes;
	svc->duckdb_threads = cfg->ingestd.duckdb_threads;
	doc_limits_from_config(&svc->doc_limits, cfg);
	svc->doc_workers = doc_workers_create(LH_DOC_WORKERS_IDLE, LH_DOC_WORKER_USES,
					       LH_DOC_EXTRACT_SLOTS);
	svc->doc_limits.workers = svc->doc_workers;
	conversion_slots_init(&svc->conversions, PIPELINE_MAX_CONVERSIONS);
	struct http_server_config hc = {
		.service = "ingestd", .bind = cfg->ingestd.bind,
		.routes = routes, .nroutes = sizeof routes / sizeof routes[0], .ctx = svc,
		.connection_timeout_s = cfg->http.connection_timeout_s,
		.max_connections = cfg->http.max_connections,
		.ready = svc->ready,
	};
	svc->http = auth_http_setup(&hc, cfg, err) == 0 ? http_server_start(&hc, err) : NULL;
	if (!svc->http) {
		ingestd_stop(svc);
		return NULL;
	}
	return svc;
}

const char *ingestd_url(const struct ingestd *s)
{
	return http_server_url(s->http);
}

void ingestd_stop(struct ingestd *s)
{
	if (!s)
		return;
	http_server_stop(s->http);
	storage_client_destroy(s->storage);
	catalog_client_destroy(s->catalog);
	upstream_pool_destroy(s->storaged_pool);
	upstream_pool_destroy(s->catalogd_pool);
	free(s->spool_dir);
	ready_destroy(s->ready);
	free(s->catalogd_url);
	free(s->storaged_url);
	conversion_slots_free(&s->conversions);
	doc_workers_destroy(s->doc_workers);   /* after the server: no request uses it */
	free(s);
}

SERVICE_OPS(ingestd);

int ingestd_main(int argc, char **argv)
{
	return service_run(argc, argv, &ingestd_service_ops);
}
