/* storage_client.c — storaged's routes as typed calls (see storage_client.h,
 * ADR 0130): key escaping, the write-once PUT, the ETag check of a GET
 * while it streams, and the list page; the transport and the error mapping
 * are peer_client.c's. */
#include "common/storage_client.h"

#include "common/error.h"
#include "common/sha256.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct storage_client {
	struct peer_client peer;
};

struct storage_client *storage_client_create(const struct peer_config *c)
{
	struct storage_client *sc = xcalloc(1, sizeof *sc);
	peer_client_init(&sc->peer, c);
	return sc;
}

void storage_client_destroy(struct storage_client *c)
{
	if (!c)
		return;
	peer_client_free(&c->peer);
	free(c);
}

int storage_client_configured(const struct storage_client *c)
{
	return c && peer_client_configured(&c->peer);
}

/* "<route><key>", the key escaped with its '/' kept. */
static char *key_path(const char *route, const char *key)
{
	char *e = url_encode(key, 1);
	char *p = xasprintf("%s%s", route, e);
	free(e);
	return p;
}

int storage_client_head(struct storage_client *c, struct peer_call *call, const char *key,
			uint64_t *size, struct lh_error *err)
{
	struct http_client_request r;
	struct http_client_response resp;
	char *path = key_path("/storage/get/", key), *url = NULL;
	int rc = -1;
	http_client_request_init(&r);
	r.method = "HEAD";
	if (peer_do(&c->peer, call, path, &r, &resp, &url, err) != 0)
		goto out;
	if (resp.status == 404) {
		rc = 1;
	} else if (resp.status != 200) {
		peer_answer_fail(&c->peer, "HEAD", url, &resp, 0, err);
	} else if (resp.content_length == UINT64_MAX) {
		lh_fail(err, 502, "upstream_failed", "%s sent an unreadable answer", c->peer.name);
		lh_error_detail(err, "HEAD %s answered 200 without a Content-Length", url);
	} else {
		*size = resp.content_length;
		rc = 0;
	}
out:
	http_client_response_free(&resp);
	free(url);
	free(path);
	return rc;
}

/* The GET's sink: a 200's body is hashed and handed on as it passes (never
 * buffered); any other answer's body is an error message, kept (capped) for
 * the mapping and never given to the caller's sink. */
#define GET_ERROR_BODY_MAX 4096
struct get_ctx {
	struct sha256 *h;
	http_client_sink_fn sink;
	void *sink_ctx;
	long status;            /* from the header hook, before any body byte */
	int stopped;            /* the caller's sink said stop */
	char ebody[GET_ERROR_BODY_MAX];
	size_t en;
};

static int get_header(void *ctx, long status, const char *name, const char *value)
{
	struct get_ctx *g = ctx;
	g->status = status;
	return 0;
}

static int get_sink(void *ctx, const char *data, size_t n)
{
	struct get_ctx *g = ctx;
	if (g->status != 200) {
		size_t k = n < sizeof g->ebody - 1 - g->en ? n : sizeof g->ebody - 1 - g->en;
		memcpy(g->ebody + g->en, data, k);
		g->en += k;
		return 0;
	}
	sha256_update(g->h, data, n);
	if (g->sink(g->sink_ctx, data, n) != 0) {
		g->stopped = 1;
		return -1;
	}
	return 0;
}

int storage_client_get(struct storage_client *c, struct peer_call *call, const char *key,
		       http_client_sink_fn sink, void *sink_ctx, struct lh_error *err)
{
	struct http_client_request r;
	struct http_client_response resp;
	struct get_ctx *g = xcalloc(1, sizeof *g);
	char *path = key_path("/storage/get/", key), *url = NULL;
	char hex[LH_SHA256_HEX_LEN + 1];
	int rc = -1;

	g->h = sha256_create();
	g->sink = sink;
	g->sink_ctx = sink_ctx;
	http_client_request_init(&r);
	r.method = "GET";
	r.sink = get_sink;
	r.sink_ctx = g;
	r.on_header = get_header;
	r.on_header_ctx = g;
	if (peer_do(&c->peer, call, path, &r, &resp, &url, err) != 0) {
		if (g->stopped) {
			lh_error_clear(err);
			lh_fail(err, 500, "internal", "object %s could not be stored", key);
		}
		goto out;
	}
	if (resp.status != 200) {   /* a manifest named it: a 404 is the store failing */
		struct http_client_response eresp = { .status = resp.status, .body = g->ebody,
						      .body_len = g->en };
		peer_answer_fail(&c->peer, "GET", url, &eresp, 0, err);
		goto out;
	}
	sha256_finish_hex(g->h, hex);
	g->h = NULL;
	const char *etag = resp.etag ? resp.etag : "";
	size_t el = strlen(etag);
	if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
		etag++;
		el -= 2;
	}
	if (el != LH_SHA256_HEX_LEN || strncmp(etag, hex, el) != 0) {
		lh_fail(err, 502, "upstream_failed",
			"object %s from %s does not match its checksum", key, c->peer.name);
		lh_error_detail(err, "GET %s: ETag %s, content sha256 %s", url,
				resp.etag ? resp.etag : "(none)", hex);
		goto out;
	}
	rc = 0;
out:
	sha256_destroy(g->h);
	free(g);
	http_client_response_free(&resp);
	free(url);
	free(path);
	return rc;
}

int storage_client_put(struct storage_client *c, struct peer_call *call, const char *key,
		       const struct storage_put *put, struct lh_error *err)
{
	struct http_client_request r;
	struct http_client_response resp;
	const char *hdrs[4];
	size_t nh = 0;
	char *path = key_path("/storage/put/", key), *url = NULL;
	int rc = -1;

	if (put->write_once)
		hdrs[nh++] = "If-None-Match: *";
	hdrs[nh++] = "Content-Type: application/octet-stream";
	if (put->expect_continue)
		hdrs[nh++] = "Expect: 100-continue";
	hdrs[nh] = NULL;
	http_client_request_init(&r);
	r.method = "PUT";
	r.headers = hdrs;
	r.body_source = put->source;
	r.body_source_ctx = put->source_ctx;
	r.body_source_len = put->length;
	r.timeout_ms = put->timeout_ms;
	if (peer_do(&c->peer, call, path, &r, &resp, &url, err) != 0)
		goto out;
	if (resp.status >= 200 && resp.status <= 299)
		rc = 0;
	else if (resp.status == 412 && put->write_once)
		rc = 1;
	else
		peer_answer_fail(&c->peer, "PUT", url, &resp, 0, err);
out:
	http_client_response_free(&resp);
	free(url);
	free(path);
	return rc;
}

int storage_client_delete(struct storage_client *c, struct peer_call *call, const char *key,
			  struct lh_error *err)
{
	struct http_client_request r;
	struct http_client_response resp;
	char *path = key_path("/storage/delete/", key), *url = NULL;
	int rc = -1;
	http_client_request_init(&r);
	r.method = "DELETE";
	if (peer_do(&c->peer, call, path, &r, &resp, &url, err) != 0)
		goto out;
	if (resp.status == 204 || resp.status == 200)
		rc = 0;
	else if (resp.status == 404)
		rc = 1;
	else
		peer_answer_fail(&c->peer, "DELETE", url, &resp, 0, err);
out:
	http_client_response_free(&resp);
	free(url);
	free(path);
	return rc;
}

void storage_page_free(struct storage_page *page)
{
	if (!page)
		return;
	for (size_t i = 0; i < page->n; i++) {
		free(page->entries[i].key);
		free(page->entries[i].modified);
	}
	free(page->entries);
	free(page->next);
	memset(page, 0, sizeof *page);
}

int storage_client_list(struct storage_client *c, struct peer_call *call, const char *prefix,
			const char *after, unsigned limit, struct storage_page *page,
			struct lh_error *err)
{
	char *ep = url_encode(prefix ? prefix : "", 0);
	char *ea = after ? url_encode(after, 0) : NULL;
	char *path = xasprintf("/storage/list?prefix=%s&limit=%u%s%s", ep, limit,
			       ea ? "&after=" : "", ea ? ea : "");
	json_t *doc = NULL;
	size_t i;
	json_t *o;
	int rc = -1;

	memset(page, 0, sizeof *page);
	if (peer_json(&c->peer, call, "GET", path, NULL, 0, "object list", &doc, err) != 0)
		goto out;
	const json_t *objs = json_object_get(doc, "objects");
	const json_t *next = json_object_get(doc, "next");
	if (!json_is_array(objs) || (next && !json_is_string(next) && !json_is_null(next))) {
		lh_fail(err, 502, "upstream_failed", "%s sent an unreadable object list",
			c->peer.name);
		lh_error_detail(err, "GET %s: no \"objects\" array or a \"next\" that is not a "
				"string", path);
		goto out;
	}
	page->entries = xcalloc(json_array_size(objs) + 1, sizeof *page->entries);
	json_array_foreach(objs, i, o) {
		const char *key = json_string_value(json_object_get(o, "key"));
		const json_t *size = json_object_get(o, "size");
		const char *mod = json_string_value(json_object_get(o, "modified"));
		if (!key) {
			lh_fail(err, 502, "upstream_failed", "%s sent an unreadable object list",
				c->peer.name);
			lh_error_detail(err, "GET %s: objects[%zu] has no key", path, i);
			goto out;
		}
		struct storage_entry *e = &page->entries[page->n++];
		e->key = xstrdup(key);
		e->size = json_is_integer(size) ? (int64_t)json_integer_value(size) : -1;
		e->modified = mod ? xstrdup(mod) : NULL;
	}
	if (json_is_string(next))
		page->next = xstrdup(json_string_value(next));
	rc = 0;
out:
	json_decref(doc);
	free(path);
	free(ep);
	free(ea);
	return rc;
}

ssize_t storage_fd_body_read(void *ctx, char *buf, size_t max)
{
	struct storage_fd_body *b = ctx;
	if (b->off >= b->end)
		return 0;
	if (max > b->end - b->off)
		max = (size_t)(b->end - b->off);
	for (;;) {
		ssize_t n = pread(b->fd, buf, max, (off_t)b->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;       /* the PUT is aborted: nothing stored */
		b->off += (uint64_t)n;
		return n;
	}
}

ssize_t storage_mem_body_read(void *ctx, char *buf, size_t max)
{
	struct storage_mem_body *b = ctx;
	if (max > b->left)
		max = b->left;
	memcpy(buf, b->p, max);
	b->p += max;
	b->left -= max;
	return (ssize_t)max;
}
