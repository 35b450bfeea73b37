/* storage_s3.c — storaged's S3 backend (struct storage_backend) for any
 * S3-compatible store: AWS S3, MinIO, Ceph RGW. ADR 0070.
 *
 * Requests go through http_client (libcurl) with SigV4 signing
 * (CURLOPT_AWS_SIGV4, unsigned payload), path-style URLs
 * <endpoint>/<bucket>/<key>, each key segment percent-encoded (s3_xml.c).
 * An object is stored under its own key; its SHA-256 is the user metadata
 * x-amz-meta-sha256, which HEAD/GET return and LIST fetches with one HEAD per
 * listed object (ListObjectsV2 does not return metadata).
 *
 * NOTES ON THE DESIGN OF THE WRITE PATH — invariants and who keeps them:
 *  1. Memory per upload is bounded by one part buffer (LH_S3_PART_BYTES) however
 *     large the object: s3_put_write fills it and sends each full part as it
 *     fills (UploadPart), grown geometrically so small objects stay small.
 *  2. An object smaller than one part is one PutObject at commit, carrying
 *     x-amz-meta-sha256: the object and its digest appear in one step.
 *  3. A larger object cannot carry its digest from the start (S3 fixes
 *     metadata at CreateMultipartUpload, before the digest is known), so it
 *     is uploaded to a temporary key TMP = ".lakehouse-uploads/<random>/"
 *     (it ends in '/', so it is never a valid object key: never listed,
 *     never clashes with one), completed there, then published with one
 *     server-side CopyObject TMP -> key that sets the metadata
 *     (x-amz-metadata-directive: REPLACE), and TMP is deleted. The copy is
 *     the one atomic step that makes the object visible, whole and with its
 *     digest (s3_put_commit).
 *  4. Write-once: the publishing request (PutObject or CopyObject) carries
 *     If-None-Match: *, which AWS S3 (since 2024) and MinIO enforce
 *     atomically (412 -> "exists"). Stores that ignore it (s3rver, older
 *     RGW) get a weaker guarantee: every commit of a key takes an in-process
 *     lock (s3->locks, striped by key hash) around a HEAD check and the
 *     publishing request, so writers through one storaged still see exactly
 *     one winner; several storaged over such a store have a race window
 *     between the HEAD and the write (ADR 0070). put_begin also checks with
 *     HEAD, to answer 412 before a body is read.
 *  4b. Whether the store enforces If-None-Match: * is probed, not assumed
 *     (ADR 0203): two PUTs of one fresh key under _probe/, the second must
 *     be 412; the key is deleted after. A store that accepts the second PUT
 *     (s3rver, RGW before it implemented conditional PUT) is refused at
 *     start unless [storaged] single_writer = true: with one storaged the
 *     locks of note 4 keep write-once, with two they do not. When the store
 *     does not answer at start, the probe runs at the first ping or write
 *     that reaches it (`write_once`, under `probe_mu`), and a failed probe
 *     then refuses writes (503) and keeps /ready at 503.
 *  5. Nothing is left behind on failure: an upload that fails, is aborted or
 *     whose client goes away gets AbortMultipartUpload (and a completed TMP
 *     is deleted) in s3_put_free. A crash can leave an incomplete upload or a
 *     TMP object: they are invisible to storaged; a bucket lifecycle rule
 *     (AbortIncompleteMultipartUpload, expiry of .lakehouse-uploads/) reaps
 *     them (docs/api.md).
 *  6. Reads stream in windows: the reader fetches the next LH_S3_READ_BYTES with
 *     a Range GET each time the HTTP layer needs bytes past its buffer, with
 *     If-Match on the S3 ETag seen at open, so a response is never spliced
 *     from two versions (a replaced object cuts the response short instead).
 */
#include "storaged/storage_backend.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "storaged/s3_xml.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_LOCK_STRIPES   256
#define S3_TMP_PREFIX     ".lakehouse-uploads/"
#define S3_BUF_START      (64u << 10)

struct s3_backend {
	struct storage_backend base;   /* first: storaged.c sees only this */
	char *base_url;                /* "<endpoint>/<bucket>" */
	char *bucket_enc;              /* the bucket, percent-encoded */
	char *sigv4;                   /* "aws:amz:<region>:s3" */
	char *access_key;
	char *secret_key;
	pthread_mutex_t locks[S3_LOCK_STRIPES];   /* invariant 4 */
	int single_writer;             /* note 4b */
	pthread_mutex_t probe_mu;      /* note 4b: guards write_once */
	int write_once;                /* -1 not probed yet, 0 not enforced, 1 enforced */
};

/* What a HEAD or GET told us about an object. */
struct s3_head {
	char sha256[LH_SHA256_HEX_LEN + 1];   /* "" if the metadata is missing */
	char etag[128];                       /* the store's ETag, quoted */
	int64_t modified_ms;
};

/* --- requests ------------------------------------------------------------ */

/* "<base>/<encoded key>[?query]"; query is already encoded and sorted by
 * name (SigV4's canonical query). The caller frees it. */
static char *s3_url(struct s3_backend *s, const char *key, const char *query)
{
	char *enc = s3_url_encode(key, 1);
	char *url = xasprintf("%s/%s%s%s", s->base_url, enc, query ? "?" : "", query ? query : "");
	free(enc);
	return url;
}

static void s3_request_init(struct s3_backend *s, struct http_client_request *r,
			    const char *method, const char *url)
{
	http_client_request_init(r);
	r->method = method;
	r->url = url;
	r->aws_sigv4 = s->sigv4;
	r->username = s->access_key;
	r->password = s->secret_key;
}

/* Parse an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT") into Unix ms; 0 if
 * it is not one. */
static int64_t parse_http_date(const char *v)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!end)
		return 0;
	return (int64_t)timegm(&tm) * 1000;
}

static int on_head_header(void *ctx, long status, const char *name, const char *value)
{
	struct s3_head *h = ctx;
	size_t nvalue;
	if (!name || !value)
		return 0;            /* end of the header block */
	nvalue = strlen(value);
	if (nvalue >= sizeof h->etag)
		return 0;
	const char *v = value;
	if (!strcasecmp(name, "x-amz-meta-sha256")) {
		int ok = nvalue == LH_SHA256_HEX_LEN;
		for (size_t i = 0; ok && i < nvalue; i++)
			ok = (v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f');
		if (ok)
			memcpy(h->sha256, v, nvalue + 1);
	} else if (!strcasecmp(name, "ETag")) {
		memcpy(h->etag, v, nvalue + 1);
	} else if (!strcasecmp(name, "Last-Modified")) {
		h->modified_ms = parse_http_date(v);
	}
	return 0;
}

/* An S3 answer we did not expect: log what the store said, fail with 502. */
static int s3_fail(struct lh_error *err, const char *what, const char *url,
		   const struct http_client_response *resp)
{
	char *code = resp->body ? s3_xml_text(resp->body, resp->body_len, "Code") : NULL;
	char *msg = resp->body ? s3_xml_text(resp->body, resp->body_len, "Message") : NULL;
	log_event("error", "storaged", "s3 backend: %s %s: HTTP %ld %s %s", what, url,
		  resp->status, code ? code : "", msg ? msg : "");
	free(code);
	free(msg);
	return lh_fail(err, 502, "upstream_failed",
		       "the S3 store could not %s (HTTP %ld)", what, resp->status);
}

/* A transport failure (err already filled by http_client): log it too. The
 * client gets words, never the store's URL (ADR 0202): it goes to the log
 * and the detail. */
static int s3_transport_fail(const char *what, const char *url, struct lh_error *err)
{
	log_event("error", "storaged", "s3 backend: %s %s: %s", what, url, err->msg);
	lh_error_rephrase(err, "the S3 store could not %s: %s", what,
			  err->status == 504 ? "it did not answer in time" : "it is not reachable");
	return -1;
}

/* HEAD key: 0 with *h and *size filled, 1 if absent, -1 with err. */
static int s3_head(struct s3_backend *s, const char *key, struct s3_head *h, uint64_t *size,
		   struct lh_error *err)
{
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	char *url = s3_url(s, key, NULL);
	int rc = 0;
	memset(h, 0, sizeof *h);
	s3_request_init(s, &r, "HEAD", url);
	r.on_header = on_head_header;
	r.on_header_ctx = h;
	if (http_client_do(&r, &resp, err)) {
		rc = s3_transport_fail("read an object's metadata", url, err);
		goto out;
	}
	if (resp.status == 404) {
		rc = 1;
	} else if (resp.status != 200 || resp.content_length == UINT64_MAX) {
		rc = s3_fail(err, "read an object's metadata", url, &resp);
	} else {
		*size = resp.content_length;
		if (!h->modified_ms)
			h->modified_ms = clock_wall_ms();
	}
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}

/* stat for storaged: 0 with *info (and the store's ETag) filled, 1 if
 * absent, 2 if the object has no x-amz-meta-sha256 (not written by
 * storaged: it is not an object of ours), -1 with err. */
static int s3_stat_raw(struct s3_backend *s, const char *key, struct storage_object_info *info,
		       char etag[128], struct lh_error *err)
{
	struct s3_head h;
	uint64_t size = 0;
	int rc = s3_head(s, key, &h, &size, err);
	if (rc)
		return rc;
	if (!h.sha256[0])
		return 2;
	info->size = size;
	info->modified_ms = h.modified_ms;
	memcpy(info->sha256, h.sha256, sizeof info->sha256);
	if (etag)
		memcpy(etag, h.etag, sizeof h.etag);
	return 0;
}

/* s3_stat_raw with its answers turned into errors: 404 if absent, 502 if
 * the object is not ours. */
static int s3_stat_info(struct s3_backend *s, const char *key, struct storage_object_info *info,
			char etag[128], struct lh_error *err)
{
	int rc = s3_stat_raw(s, key, info, etag, err);
	if (rc == 1)
		return lh_fail(err, 404, "not_found", "no object with key \"%s\"", key);
	if (rc == 2) {
		log_event("error", "storaged", "s3 backend: object %s has no x-amz-meta-sha256", key);
		return lh_fail(err, 502, "upstream_failed",
			       "the object in the S3 store was not written by storaged (no sha256)");
	}
	return rc;
}

/* A bare request whose answer we only check for status: `ok` (and `alt`, if
 * not 0) succeed, 404 -> 1, others fail. Memory body optional. */
static int s3_simple(struct s3_backend *s, const char *method, const char *url,
		     const char *const *headers, const void *body, size_t nbody, long ok,
		     long alt, struct http_client_response *resp, const char *what,
		     struct lh_error *err)
{
	struct http_client_request r;
	s3_request_init(s, &r, method, url);
	r.headers = headers;
	if (body) {
		r.body = body;
		r.body_len = nbody;
	}
	r.max_buffered = 1u << 20;
	if (http_client_do(&r, resp, err))
		return s3_transport_fail(what, url, err);
	if (resp->status == ok || (alt && resp->status == alt))
		return 0;
	if (resp->status == 404)
		return 1;
	return s3_fail(err, what, url, resp);
}

/* --- write-once locks (invariant 4) ---------------------------------------- */

static pthread_mutex_t *key_lock(struct s3_backend *s, const char *key)
{
	uint64_t h = 1469598103934665603ull;      /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return &s->locks[h % S3_LOCK_STRIPES];
}

/* 412 if `key` exists (the write-once check under the key's lock). */
static int check_absent(struct s3_backend *s, const char *key, struct lh_error *err)
{
	struct s3_head h;
	uint64_t size;
	int rc = s3_head(s, key, &h, &size, err);
	if (rc == 1)
		return 0;
	if (rc == 0)
		return lh_fail(err, 412, "exists", "an object with key \"%s\" exists", key);
	return rc;
}

/* --- uploads -------------------------------------------------------------- */

struct s3_put {
	struct storage_put base;       /* first */
	char *key;
	int create_only;
	struct sha256 *hash;
	uint64_t size;
	char *buf;                     /* the part being filled (invariant 1) */
	size_t nbuf, capbuf;
	char *tmp_key;                 /* multipart: TMP (invariant 3), or NULL */
	char *upload_id;               /* set while the multipart upload is open */
	int tmp_exists;                /* TMP was completed: delete it */
	char **etags;                  /* ETag of each part sent */
	size_t nparts, capparts;
};

static void s3_put_free(struct s3_put *p)
{
	struct s3_backend *s = (struct s3_backend *)p->base.backend;
	struct lh_error err = { 0 };
	struct http_client_response resp = { 0 };
	if (p->upload_id) {     /* invariant 5 */
		char *enc = s3_url_encode(p->upload_id, 0);
		char *q = xasprintf("uploadId=%s", enc);
		char *url = s3_url(s, p->tmp_key, q);
		if (s3_simple(s, "DELETE", url, NULL, NULL, 0, 204, 200, &resp,
			      "abort a multipart upload", &err) == 1)
			log_event("warn", "storaged", "s3 backend: abort of upload %s: not found",
				  p->upload_id);
		http_client_response_free(&resp);
		lh_error_clear(&err);
		free(url);
		free(q);
		free(enc);
	}
	if (p->tmp_exists) {
		char *url = s3_url(s, p->tmp_key, NULL);
		s3_simple(s, "DELETE", url, NULL, NULL, 0, 204, 200, &resp,
			  "delete a temporary object", &err);
		http_client_response_free(&resp);
		lh_error_clear(&err);
		free(url);
	}
	for (size_t i = 0; i < p->nparts; i++)
		free(p->etags[i]);
	free(p->etags);
	sha256_destroy(p->hash);
	free(p->buf);
	free(p->upload_id);
	free(p->tmp_key);
	free(p->key);
	free(p);
}

static int check_write_once(struct s3_backend *s, int status, struct lh_error *err);

static int s3_put_begin(struct storage_backend *b, const char *key, int create_only,
			struct storage_put **out, struct lh_error *err)
{
	struct s3_backend *s = (struct s3_backend *)b;
	int rc = check_write_once(s, 503, err);   /* note 4b */
	if (rc)
		return rc;
	if (create_only) {
		rc = check_absent(s, key, err);   /* early 412; the commit decides */
		if (rc)
			return rc;
	}
	struct s3_put *p = xcalloc(1, sizeof *p);
	p->base.backend = b;
	p->key = xstrdup(key);
	p->create_only = create_only;
	p->hash = sha256_create();
	*out = &p->base;
	return 0;
}

/* CreateMultipartUpload of a fresh TMP key. */
static int start_multipart(struct s3_backend *s, struct s3_put *p, struct lh_error *err)
{
	char hex[2 * 12 + 1];
	struct http_client_response resp = { 0 };
	const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
	char *url = NULL;
	int rc = 0;
	random_name(hex, 12);
	p->tmp_key = xasprintf(S3_TMP_PREFIX "%s/", hex);
	url = s3_url(s, p->tmp_key, "uploads=");
	rc = s3_simple(s, "POST", url, hdrs, "", 0, 200, 0, &resp,
		       "start a multipart upload", err);
	if (rc > 0)
		rc = s3_fail(err, "start a multipart upload", url, &resp);
	if (rc)
		goto out;
	p->upload_id = s3_xml_text(resp.body, resp.body_len, "UploadId");
	if (!p->upload_id || !p->upload_id[0]) {
		free(p->upload_id);
		p->upload_id = NULL;
		rc = s3_fail(err, "start a multipart upload", url, &resp);
	}
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}

/* UploadPart of buf[0..nbuf); remembers its ETag. */
static int send_part(struct s3_backend *s, struct s3_put *p, struct lh_error *err)
{
	struct s3_head h = { 0 };
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	char *enc = s3_url_encode(p->upload_id, 0);
	char *q = xasprintf("partNumber=%zu&uploadId=%s", p->nparts + 1, enc);
	char *url = s3_url(s, p->tmp_key, q);
	int rc = 0;
	s3_request_init(s, &r, "PUT", url);
	r.body = p->buf;
	r.body_len = p->nbuf;
	r.on_header = on_head_header;
	r.on_header_ctx = &h;
	r.max_buffered = 1u << 20;
	if (http_client_do(&r, &resp, err)) {
		rc = s3_transport_fail("upload a part", url, err);
		goto out;
	}
	if (resp.status != 200 || !h.etag[0]) {
		rc = s3_fail(err, "upload a part", url, &resp);
		goto out;
	}
	if (p->nparts == p->capparts) {
		p->capparts = p->capparts ? 2 * p->capparts : 16;
		p->etags = xrealloc(p->etags, p->capparts * sizeof *p->etags);
	}
	p->etags[p->nparts++] = xstrdup(h.etag);
	p->nbuf = 0;
out:
	http_client_response_free(&resp);
	free(url);
	free(q);
	free(enc);
	return rc;
}

static int s3_put_write(struct storage_put *base, const void *data, size_t n,
			struct lh_error *err)
{
	struct s3_put *p = (struct s3_put *)base;
	struct s3_backend *s = (struct s3_backend *)p->base.backend;
	const char *d = data;
	sha256_update(p->hash, data, n);
	p->size += n;
	while (n > 0) {
		if (p->nbuf == LH_S3_PART_BYTES) {      /* invariant 1: send a full part */
			if (!p->upload_id && start_multipart(s, p, err))
				return -1;
			if (send_part(s, p, err))
				return -1;
		}
		size_t want = p->nbuf + n < LH_S3_PART_BYTES ? p->nbuf + n : LH_S3_PART_BYTES;
		if (want > p->capbuf) {
			size_t cap = p->capbuf ? p->capbuf : S3_BUF_START;
			while (cap < want)
				cap *= 2;
			if (cap > LH_S3_PART_BYTES)
				cap = LH_S3_PART_BYTES;
			p->buf = xrealloc(p->buf, cap);
			p->capbuf = cap;
		}
		size_t take = want - p->nbuf;
		memcpy(p->buf + p->nbuf, d, take);
		p->nbuf += take;
		d += take;
		n -= take;
	}
	return 0;
}

static void s3_put_abort(struct storage_put *base)
{
	if (base)
		s3_put_free((struct s3_put *)base);
}

/* CompleteMultipartUpload of TMP after sending the last part. */
static int finish_multipart(struct s3_backend *s, struct s3_put *p, struct lh_error *err)
{
	struct http_client_response resp = { 0 };
	const char *hdrs[] = { "Content-Type: application/xml", NULL };
	char *enc = NULL, *q = NULL, *url = NULL, *xml = NULL;
	size_t nxml = 0, cap = 0;
	int rc = 0;
	if (p->nbuf > 0 && send_part(s, p, err))
		return -1;
	cap = 64 + p->nparts * 200;
	xml = xmalloc(cap);
	nxml = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
	for (size_t i = 0; i < p->nparts; i++)
		nxml += (size_t)snprintf(xml + nxml, cap - nxml,
					 "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
					 i + 1, p->etags[i]);
	nxml += (size_t)snprintf(xml + nxml, cap - nxml, "</CompleteMultipartUpload>");
	if (nxml >= cap) {
		rc = lh_fail(err, 500, "internal", "multipart upload list too long");
		goto out;
	}
	enc = s3_url_encode(p->upload_id, 0);
	q = xasprintf("uploadId=%s", enc);
	url = s3_url(s, p->tmp_key, q);
	rc = s3_simple(s, "POST", url, hdrs, xml, nxml, 200, 0, &resp,
		       "complete a multipart upload", err);
	if (rc > 0)
		rc = s3_fail(err, "complete a multipart upload", url, &resp);
	/* A 200 may still carry an <Error> (AWS documents this for Complete). */
	if (!rc && resp.body && strstr(resp.body, "<Error>"))
		rc = s3_fail(err, "complete a multipart upload", url, &resp);
	if (!rc) {
		free(p->upload_id);
		p->upload_id = NULL;
		p->tmp_exists = 1;
	}
out:
	http_client_response_free(&resp);
	free(url);
	free(q);
	free(enc);
	free(xml);
	return rc;
}

/* The publishing request (invariants 2-4): PutObject of the buffer, or
 * CopyObject TMP -> key, with the digest and If-None-Match for write-once. */
static int publish(struct s3_backend *s, struct s3_put *p, const char *sha256,
		   struct lh_error *err)
{
	struct http_client_response resp = { 0 };
	char *url = s3_url(s, p->key, NULL);
	char *meta = xasprintf("x-amz-meta-sha256: %s", sha256);
	char *src = NULL, *src_hdr = NULL;
	const char *hdrs[8];
	size_t nh = 0;
	int rc = 0;

	hdrs[nh++] = "Content-Type: application/octet-stream";
	hdrs[nh++] = meta;
	if (p->create_only)
		hdrs[nh++] = "If-None-Match: *";
	if (p->tmp_key) {
		src = s3_url_encode(p->tmp_key, 1);
		src_hdr = xasprintf("x-amz-copy-source: /%s/%s", s->bucket_enc, src);
		hdrs[nh++] = src_hdr;
		hdrs[nh++] = "x-amz-metadata-directive: REPLACE";
	}
	hdrs[nh] = NULL;
	rc = s3_simple(s, "PUT", url, hdrs, p->tmp_key ? "" : (p->buf ? p->buf : ""),
		       p->tmp_key ? 0 : p->nbuf, 200, p->create_only ? 412 : 0, &resp,
		       "store an object", err);
	if (rc > 0)
		rc = s3_fail(err, "store an object", url, &resp);
	else if (!rc && resp.status == 412)    /* invariant 4: the store said so */
		rc = lh_fail(err, 412, "exists", "an object with key \"%s\" exists", p->key);
	if (!rc && p->tmp_key && resp.body && strstr(resp.body, "<Error>"))
		rc = s3_fail(err, "store an object", url, &resp);
	http_client_response_free(&resp);
	free(src_hdr);
	free(src);
	free(meta);
	free(url);
	return rc;
}

static int s3_put_commit(struct storage_put *base, struct storage_object_info *info,
			 struct lh_error *err)
{
	struct s3_put *p = (struct s3_put *)base;
	struct s3_backend *s = (struct s3_backend *)p->base.backend;
	pthread_mutex_t *lock = key_lock(s, p->key);
	int rc = 0;

	info->size = p->size;
	sha256_finish_hex(p->hash, info->sha256);
	p->hash = NULL;
	if (p->upload_id) {
		rc = finish_multipart(s, p, err);
		if (rc)
			goto out;
		free(p->buf);        /* the copy needs no buffer: give it back now */
		p->buf = NULL;
		p->nbuf = p->capbuf = 0;
	}
	pthread_mutex_lock(lock);       /* invariant 4 */
	if (p->create_only)
		rc = check_absent(s, p->key, err);
	if (!rc)
		rc = publish(s, p, info->sha256, err);
	pthread_mutex_unlock(lock);
	info->modified_ms = clock_wall_ms();
out:
	s3_put_free(p);      /* aborts or deletes TMP (invariant 5) */
	return rc;
}

/* --- reads ------------------------------------------------------------------ */

struct s3_reader {
	struct s3_backend *s;
	char *url;
	char etag[128];
	uint64_t size;
	char *buf;                /* bytes [buf_pos, buf_pos + nbuf) of the object */
	size_t nbuf, capbuf;
	uint64_t buf_pos;
};

static int reader_sink(void *ctx, const char *data, size_t n)
{
	struct s3_reader *rd = ctx;
	if (n > rd->capbuf - rd->nbuf)
		return -1;        /* more than we asked for */
	memcpy(rd->buf + rd->nbuf, data, n);
	rd->nbuf += n;
	return 0;
}

/* Invariant 6: fetch [pos, pos + LH_S3_READ_BYTES) into the buffer. */
static int reader_fill(struct s3_reader *rd, uint64_t pos)
{
	struct lh_error err = { 0 };
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	uint64_t last = pos + rd->capbuf - 1;
	char range[80], ifm[160];
	int rc = 0;
	if (last >= rd->size)
		last = rd->size - 1;
	snprintf(range, sizeof range, "Range: bytes=%" PRIu64 "-%" PRIu64, pos, last);
	snprintf(ifm, sizeof ifm, "If-Match: %s", rd->etag);
	const char *hdrs[] = { range, rd->etag[0] ? ifm : NULL, NULL };
	s3_request_init(rd->s, &r, "GET", rd->url);
	r.headers = hdrs;
	r.sink = reader_sink;
	r.sink_ctx = rd;
	rd->nbuf = 0;
	rd->buf_pos = pos;
	if (http_client_do(&r, &resp, &err)) {
		rc = s3_transport_fail("read an object", rd->url, &err);
		goto out;
	}
	if ((resp.status != 206 && !(resp.status == 200 && pos == 0 && last + 1 == rd->size)) ||
	    rd->nbuf != last - pos + 1) {
		log_event("error", "storaged",
			  "s3 backend: read %s at %" PRIu64 ": HTTP %ld, %zu bytes%s", rd->url,
			  pos, resp.status, rd->nbuf,
			  resp.status == 412 ? " (the object changed while being sent)" : "");
		rc = -1;
	}
out:
	if (rc)
		rd->nbuf = 0;
	http_client_response_free(&resp);
	lh_error_clear(&err);
	return rc;
}

static ssize_t reader_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct s3_reader *rd = ctx;
	if (pos >= rd->size)
		return 0;
	if (pos < rd->buf_pos || pos >= rd->buf_pos + rd->nbuf) {
		if (!rd->buf) {
			rd->capbuf = rd->size < LH_S3_READ_BYTES ? (size_t)rd->size : LH_S3_READ_BYTES;
			rd->buf = xmalloc(rd->capbuf);
		}
		if (reader_fill(rd, pos))
			return -1;
	}
	size_t off = (size_t)(pos - rd->buf_pos);
	size_t n = rd->nbuf - off < max ? rd->nbuf - off : max;
	memcpy(buf, rd->buf + off, n);
	return (ssize_t)n;
}

static void reader_close(void *ctx)
{
	struct s3_reader *rd = ctx;
	free(rd->buf);
	free(rd->url);
	free(rd);
}

static int s3_open(struct storage_backend *b, const char *key, struct storage_read *out,
		   struct lh_error *err)
{
	struct s3_backend *s = (struct s3_backend *)b;
	struct s3_reader *rd = xcalloc(1, sizeof *rd);
	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (s3_stat_info(s, key, &out->info, rd->etag, err)) {
		free(rd);
		return -1;
	}
	rd->s = s;
	rd->url = s3_url(s, key, NULL);
	rd->size = out->info.size;
	out->read = reader_read;
	out->ctx = rd;
	out->close = reader_close;
	return 0;
}

static int s3_stat(struct storage_backend *b, const char *key,
		   struct storage_object_info *info, struct lh_error *err)
{
	return s3_stat_info((struct s3_backend *)b, key, info, NULL, err);
}

static int s3_remove(struct storage_backend *b, const char *key, struct lh_error *err)
{
	struct s3_backend *s = (struct s3_backend *)b;
	struct http_client_response resp = { 0 };
	pthread_mutex_t *lock = key_lock(s, key);
	char *url = s3_url(s, key, NULL);
	struct s3_head h;
	uint64_t size;
	int rc;
	pthread_mutex_lock(lock);
	rc = s3_head(s, key, &h, &size, err);     /* S3 DELETE of nothing is a 204 */
	if (rc == 1)
		rc = lh_fail(err, 404, "not_found", "no object with key \"%s\"", key);
	if (!rc) {
		rc = s3_simple(s, "DELETE", url, NULL, NULL, 0, 204, 200, &resp,
			       "delete an object", err);
		if (rc == 1)
			rc = lh_fail(err, 404, "not_found", "no object with key \"%s\"", key);
	}
	pthread_mutex_unlock(lock);
	http_client_response_free(&resp);
	free(url);
	return rc;
}

/* --- listing ------------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct s3_list_entry *)a)->key,
		      ((const struct s3_list_entry *)b)->key);
}

static int s3_list(struct storage_backend *b, const char *prefix, const char *after,
		   storage_list_fn fn, void *ctx, struct lh_error *err)
{
	struct s3_backend *s = (struct s3_backend *)b;
	struct s3_list_page page = { 0 };
	char *token = NULL;
	int rc = 0, stop = 0;
	char *eprefix = s3_url_encode(prefix ? prefix : "", 0);
	char *eafter = after ? s3_url_encode(after, 0) : NULL;

	while (!stop) {
		struct http_client_response resp = { 0 };
		char *etoken = token ? s3_url_encode(token, 0) : NULL;
		/* Parameters sorted by name: the URL is its own canonical form. */
		char *q = xasprintf("%s%s%slist-type=2&max-keys=%d&prefix=%s%s%s",
				    etoken ? "continuation-token=" : "", etoken ? etoken : "",
				    etoken ? "&" : "", LH_S3_LIST_PAGE, eprefix,
				    eafter && !etoken ? "&start-after=" : "",
				    eafter && !etoken ? eafter : "");
		char *url = xasprintf("%s?%s", s->base_url, q);
		free(etoken);
		free(q);
		rc = s3_simple(s, "GET", url, NULL, NULL, 0, 200, 0, &resp, "list objects", err);
		if (rc > 0)
			rc = s3_fail(err, "list objects", url, &resp);
		if (!rc && s3_list_parse(resp.body, resp.body_len, &page, err)) {
			rc = s3_fail(err, "list objects", url, &resp);
		}
		http_client_response_free(&resp);
		free(url);
		if (rc)
			break;
		/* S3 lists in UTF-8 binary order; sorting the page anyway costs
		 * little and makes stores that do not (s3rver walks its directories)
		 * right for listings of one page (ADR 0070). */
		if (page.n > 1)
			qsort(page.entries, page.n, sizeof *page.entries, entry_cmp);
		for (size_t i = 0; i < page.n && !stop && !rc; i++) {
			const char *key = page.entries[i].key;
			struct storage_object_info info;
			struct lh_error herr = { 0 };
			/* TMP keys and names storaged could not have written. */
			if (storage_key_validate(key, strlen(key), NULL))
				continue;
			if (after && strcmp(key, after) <= 0)
				continue;
			int hrc = s3_stat_raw(s, key, &info, NULL, &herr);
			if (hrc < 0) {
				*err = herr;      /* err was empty: the route stops at the first */
				rc = -1;
				break;
			}
			if (hrc > 0)
				continue;     /* deleted meanwhile, or not ours: not listed */
			int frc = fn(ctx, key, &info, err);
			if (frc < 0) {
				rc = -1;
				stop = 1;
			} else if (frc > 0) {
				stop = 1;
			}
		}
		if (rc)
			break;
		free(token);
		token = page.truncated && page.next_token ? xstrdup(page.next_token) : NULL;
		s3_list_page_free(&page);
		if (!token)
			break;
	}
	free(token);
	free(eafter);
	free(eprefix);
	return rc;
}

/* --- life cycle ------------------------------------------------------------- */

static void s3_destroy(struct storage_backend *b)
{
	struct s3_backend *s = (struct s3_backend *)b;
	for (int i = 0; i < S3_LOCK_STRIPES; i++)
		pthread_mutex_destroy(&s->locks[i]);
	pthread_mutex_destroy(&s->probe_mu);
	free(s->base_url);
	free(s->bucket_enc);
	free(s->sigv4);
	free(s->access_key);
	free(s->secret_key);
	free(s);
}

/* HeadBucket: 0, 1 when the bucket does not exist, -1 with err. */
static int head_bucket(struct s3_backend *s, struct lh_error *err)
{
	struct http_client_response resp = { 0 };
	char *url = xstrdup(s->base_url);
	int rc = s3_simple(s, "HEAD", url, NULL, NULL, 0, 200, 0, &resp, "open the bucket", err);
	http_client_response_free(&resp);
	free(url);
	return rc;
}

/* Note 4b: 1 when a second PUT of a fresh key with If-None-Match: * is
 * refused (412), 0 when it is accepted, -1 with err when the store fails. */
static int probe_write_once(struct s3_backend *s, struct lh_error *err)
{
	char hex[2 * 8 + 1];
	struct http_client_response resp = { 0 };
	const char *hdrs[] = { "If-None-Match: *", "Content-Type: application/octet-stream",
			       NULL };
	random_name(hex, 8);
	char *url = xasprintf("%s/_probe/write-once-%s", s->base_url, hex);
	int rc = s3_simple(s, "PUT", url, hdrs, "1", 1, 200, 0, &resp,
			   "write a probe object", err);
	http_client_response_free(&resp);
	if (rc == 0) {
		memset(&resp, 0, sizeof resp);
		rc = s3_simple(s, "PUT", url, hdrs, "2", 1, 412, 200, &resp,
			       "write a probe object", err);
		if (rc == 0)
			rc = resp.status == 412 ? 1 : 0;
		else if (rc > 0)
			rc = s3_fail(err, "write a probe object", url, &resp);
		http_client_response_free(&resp);
		struct lh_error derr = { 0 };
		memset(&resp, 0, sizeof resp);
		s3_simple(s, "DELETE", url, NULL, NULL, 0, 204, 200, &resp, "delete the probe object",
			  &derr);   /* best effort: a leftover is one tiny object */
		http_client_response_free(&resp);
		lh_error_clear(&derr);
	} else if (rc > 0) {
		rc = lh_fail(err, 502, "upstream_failed", "the S3 store could not write a probe object");
	}
	free(url);
	return rc;
}

/* The refusal of note 4b, in words. */
static int refuse_unsafe(struct s3_backend *s, int status, struct lh_error *err)
{
	return lh_fail(err, status, status == 400 ? "bad_config" : "store_unsafe",
		       "the S3 store at %s does not enforce write-once (it accepted a second PUT "
		       "of one key with If-None-Match: *), so two storaged writing the same key "
		       "could both succeed and one object would silently replace the other; run "
		       "one storaged on this bucket and set [storaged] single_writer = true, or use "
		       "a store that enforces it (docs/deploy.md)", s->base_url);
}

/* Note 4b: probe once; 0 when writes are safe, else -1 with err. */
static int check_write_once(struct s3_backend *s, int status, struct lh_error *err)
{
	pthread_mutex_lock(&s->probe_mu);
	int rc = 0;
	if (s->write_once < 0) {
		int r = probe_write_once(s, err);
		if (r < 0)
			rc = -1;
		else
			s->write_once = r;
		if (r == 1)
			log_event("info", "storaged", "s3 backend: the store enforces write-once "
				  "(If-None-Match: *)");
		else if (r == 0 && s->single_writer)
			log_event("warn", "storaged", "s3 backend: the store does not enforce "
				  "write-once (If-None-Match: *); single_writer = true: this storaged's "
				  "own locks keep it, so run no other storaged on this bucket");
	}
	if (rc == 0 && s->write_once == 0 && !s->single_writer)
		rc = refuse_unsafe(s, status, err);
	pthread_mutex_unlock(&s->probe_mu);
	return rc;
}

/* GET /ready (ADR 0200): the bucket answers (and writes are safe). */
static int s3_ping(struct storage_backend *b, struct lh_error *err)
{
	struct s3_backend *s = (struct s3_backend *)b;
	int rc = head_bucket(s, err);
	if (rc == 1)
		return lh_fail(err, 503, "store_unavailable", "the S3 bucket does not exist");
	if (rc < 0 && strcmp(err->code, "upstream_failed") != 0) {
		lh_error_clear(err);
		return lh_fail(err, 503, "store_unavailable", "the S3 store is not reachable");
	}
	if (rc == 0)
		rc = check_write_once(s, 503, err);
	return rc;
}

struct storage_backend *storage_s3_create(const struct storage_s3_config *cfg,
					  struct lh_error *err)
{
	struct s3_backend *s = NULL;
	const char *ep = cfg->endpoint ? cfg->endpoint : "";
	size_t nep = strlen(ep);

	if (strncmp(ep, "http://", 7) != 0 && strncmp(ep, "https://", 8) != 0) {
		lh_fail(err, 400, "bad_config",
			"[storaged] s3_endpoint must be an http:// or https:// URL (got \"%s\")", ep);
		return NULL;
	}
	if (!cfg->bucket || !cfg->bucket[0] || strchr(cfg->bucket, '/')) {
		lh_fail(err, 400, "bad_config", "[storaged] s3_bucket must name one bucket");
		return NULL;
	}
	if (!cfg->access_key || !cfg->access_key[0] || !cfg->secret_key || !cfg->secret_key[0]) {
		lh_fail(err, 400, "bad_config",
			"the S3 backend needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
			"in the environment");
		return NULL;
	}
	while (nep > 0 && ep[nep - 1] == '/')
		nep--;
	s = xcalloc(1, sizeof *s);
	s->base.name = "s3";
	s->base.put_begin = s3_put_begin;
	s->base.put_write = s3_put_write;
	s->base.put_commit = s3_put_commit;
	s->base.put_abort = s3_put_abort;
	s->base.open = s3_open;
	s->base.stat = s3_stat;
	s->base.remove = s3_remove;
	s->base.list = s3_list;
	s->base.destroy = s3_destroy;
	s->base.ping = s3_ping;
	s->bucket_enc = s3_url_encode(cfg->bucket, 0);
	s->base_url = xasprintf("%.*s/%s", (int)nep, ep, s->bucket_enc);
	s->sigv4 = xasprintf("aws:amz:%s:s3",
			     cfg->region && cfg->region[0] ? cfg->region : "us-east-1");
	s->access_key = xstrdup(cfg->access_key);
	s->secret_key = xstrdup(cfg->secret_key);
	for (int i = 0; i < S3_LOCK_STRIPES; i++)
		pthread_mutex_init(&s->locks[i], NULL);
	pthread_mutex_init(&s->probe_mu, NULL);
	s->write_once = -1;
	s->single_writer = cfg->single_writer;

	/* Fail fast on a wrong bucket or credentials (HeadBucket); a store
	 * that does not answer yet is no error: storaged starts not ready
	 * and /ready says so until it answers (ADR 0201). */
	int rc = head_bucket(s, err);
	if (rc == 1) {
		rc = lh_fail(err, 400, "bad_config",
			     "the S3 bucket \"%s\" does not exist: create it (with the lifecycle "
			     "rule of docs/api.md) or fix [storaged] s3_bucket", cfg->bucket);
	} else if (rc < 0 && strcmp(err->code, "upstream_failed") != 0) {
		log_event("warn", "storaged", "s3 backend: the store at %.*s is not reachable yet "
			  "(%s); storaged starts not ready (GET /ready says why) and uses it as "
			  "soon as it answers", (int)nep, ep, err->msg);
		lh_error_clear(err);
		rc = 0;
	} else if (rc == 0) {
		rc = check_write_once(s, 400, err);   /* note 4b: refused at start */
	}
	if (rc) {
		s3_destroy(&s->base);
		return NULL;
	}
	return &s->base;
}
