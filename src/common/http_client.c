/* http_client.c — requests to other services over libcurl (see
 * http_client.h). The only file that includes <curl/curl.h>.
 *
 * One easy handle per request: services call each other at most a few
 * times per user request, and a fresh handle keeps every call independent
 * across threads. Bodies stream through callbacks; only "memory" responses
 * are buffered, and those have a cap.
 */
#include "common/http_client.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void http_client_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_client_request_init(struct http_client_request *r)
{
	memset(r, 0, sizeof *r);
	r->body_fd = -1;
	r->response_fd = -1;
}

void http_client_response_free(struct http_client_response *resp)
{
	free(resp->body);
	free(resp->content_type);
	free(resp->etag);
	memset(resp, 0, sizeof *resp);
}

struct transfer {
	const struct http_client_request *req;
	struct http_client_response *resp;
	struct lh_buf body;  /* memory responses, capped */
	int overflow;       /* memory cap exceeded */
	int write_failed;   /* sink or fd failed */
	uint64_t fd_sent;   /* bytes read from body_fd */
	long hook_status;   /* status line of the response being read (on_header) */
	int hook_failed;    /* on_header returned -1 */
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t n = size * nmemb;
	const struct http_client_request *r = t->req;
	if (r->sink) {
		if (r->sink(r->sink_ctx, data, n) != 0) {
			t->write_failed = 1;
			return 0;
		}
		return n;
	}
	if (r->response_fd >= 0) {
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(r->response_fd, data + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				t->write_failed = 1;
				return 0;
			}
			off += (size_t)w;
		}
		return n;
	}
	if (lh_buf_append(&t->body, data, n) != 0) {
		t->overflow = 1;
		return 0;
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	const struct http_client_request *r = t->req;
	size_t max = size * nmemb;
	if (r->body_source) {
		ssize_t n = r->body_source(r->body_source_ctx, buf, max);
		return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
	}
	/* body_fd */
	uint64_t left = r->body_fd_len - t->fd_sent;
	if (left < max)
		max = (size_t)left;
	if (max == 0)
		return 0;
	ssize_t n;
	do
		n = read(r->body_fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT;
	t->fd_sent += (uint64_t)n;
	return (size_t)n;
}

static char *dup_header_value(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	return xstrndup(v, n);
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct transfer *t = ctx;
	return t->req->cancelled(t->req->cancelled_ctx) ? 1 : 0;
}

/* Report one header line (or the blank line ending the block) to the
 * request's on_header hook. Returns n, or 0 to make curl abort. */
static size_t hook_header(struct transfer *t, const char *line, size_t n)
{
	const struct http_client_request *r = t->req;
	int rc;
	if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		rc = r->on_header(r->on_header_ctx, t->hook_status, NULL, NULL);
	} else {
		const char *colon = memchr(line, ':', n);
		if (!colon || colon == line)
			return n;   /* not a header line: ignore */
		char *name = xstrndup(line, (size_t)(colon - line));
		char *value = dup_header_value(colon + 1, n - (size_t)(colon - line) - 1);
		rc = r->on_header(r->on_header_ctx, t->hook_status, name, value);
		free(name);
		free(value);
	}
	if (rc != 0) {
		t->hook_failed = 1;
		return 0;
	}
	return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
	struct transfer *t = userp;
	size_t n = size * nmemb;
	struct http_client_response *resp = t->resp;
	if (n > 13 && !strncasecmp(line, "Content-Type:", 13)) {
		free(resp->content_type);
		resp->content_type = dup_header_value(line + 13, n - 13);
	} else if (n > 5 && !strncasecmp(line, "ETag:", 5)) {
		free(resp->etag);
		resp->etag = dup_header_value(line + 5, n - 5);
	} else if (n > 15 && !strncasecmp(line, "Content-Length:", 15)) {
		char *v = dup_header_value(line + 15, n - 15);
		char *end;
		unsigned long long cl = strtoull(v, &end, 10);
		if (*v && !*end)
			resp->content_length = cl;
		free(v);
	} else if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
		/* a new response (after 100 Continue or a redirect) resets headers */
		resp->content_length = UINT64_MAX;
		const char *sp = memchr(line, ' ', n);
		t->hook_status = sp ? strtol(sp + 1, NULL, 10) : 0;
		return n;
	}
	if (t->req->on_header && t->hook_status >= 200)
		return hook_header(t, line, n);
	return n;
}

/* After a failed transfer: did it fail before a connection existed, so that
 * the peer cannot have seen a byte of the request? */
static int never_connected(CURL *c, CURLcode cc)
{
	curl_off_t connect_us = 0;
	long sent = 0;
	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY)
		return 1;
	if (cc != CURLE_OPERATION_TIMEDOUT)
		return 0;
	/* A time-out while connecting: no connect time and nothing sent. */
	if (curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us) != CURLE_OK ||
	    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK)
		return 0;
	return connect_us == 0 && sent == 0;
}

int http_client_do(const struct http_client_request *r,
		   struct http_client_response *resp, struct lh_error *err)
{
	int rc = -1;
	struct curl_slist *headers = NULL;
	char idhdr[LH_REQUEST_ID_MAX + 16];
	memset(resp, 0, sizeof *resp);
	resp->content_length = UINT64_MAX;
	struct transfer t = { .req = r, .resp = resp };
	lh_buf_init(&t.body, r->max_buffered ? r->max_buffered : LH_HTTP_CLIENT_MAX_BUFFERED);

	CURL *c = curl_easy_init();
	if (!c)
		return lh_fail(err, 500, "internal", "could not create an HTTP client");
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)LH_HTTP_CLIENT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)(r->timeout_ms ? r->timeout_ms : LH_HTTP_CLIENT_TIMEOUT_MS));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Send the path as built: never squash "/../" (the gateway forwards
	 * keys verbatim and storaged rejects them itself). */
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	if (r->cancelled) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}

	int caller_expect = 0;
	for (const char *const *h = r->headers; h && *h; h++) {
		headers = curl_slist_append(headers, *h);
		if (!strncasecmp(*h, "Expect:", 7))
			caller_expect = 1;
	}
	if (r->request_id) {
		snprintf(idhdr, sizeof idhdr, "X-Request-Id: %s", r->request_id);
		headers = curl_slist_append(headers, idhdr);
	}
	if (r->bearer_token && r->bearer_token[0]) {
		char *auth = xasprintf("Authorization: Bearer %s", r->bearer_token);
		headers = curl_slist_append(headers, auth);   /* curl copies it */
		free(auth);
	}
	/* No automatic "Expect: 100-continue" pause unless the caller asks for
	 * it (the gateway does, so an upstream can refuse a body before it is
	 * sent instead of resetting the connection under it). */
	if (!caller_expect)
		headers = curl_slist_append(headers, "Expect:");
	if (r->aws_sigv4) {
		int has_sha = 0;
		for (const char *const *h = r->headers; h && *h; h++)
			has_sha |= !strncasecmp(*h, "x-amz-content-sha256:", 21);
		if (!has_sha)
			headers = curl_slist_append(headers,
						    "x-amz-content-sha256: UNSIGNED-PAYLOAD");
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, r->aws_sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, r->username ? r->username : "");
		curl_easy_setopt(c, CURLOPT_PASSWORD, r->password ? r->password : "");
	}

	const char *m = r->method ? r->method : "GET";
	int has_body = r->body || r->body_fd >= 0 || r->body_source;
	if (!strcmp(m, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (has_body) {
		if (r->body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		} else {
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &t);
			if (r->body_fd >= 0)
				curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_fd_len);
			else if (r->body_source_len)
				curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
						 (curl_off_t)r->body_source_len);
			else
				headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
		}
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

	CURLcode cc = curl_easy_perform(c);
	if (r->not_sent)
		*r->not_sent = cc != CURLE_OK && never_connected(c, cc);
	if (cc != CURLE_OK) {
		if (t.overflow)
			lh_fail(err, 502, "upstream_too_large",
				"the upstream answer from %s is larger than %zu bytes", r->url,
				t.body.max);
		else if (t.hook_failed)
			lh_fail(err, 502, "upstream_failed",
				"the response from %s was abandoned", r->url);
		else if (t.write_failed)
			lh_fail(err, 502, "upstream_failed",
				"the response from %s could not be stored", r->url);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			lh_fail(err, 504, "upstream_timeout", "%s did not answer in time", r->url);
		else
			lh_fail(err, 502, "upstream_unavailable", "%s failed: %s", r->url,
				curl_easy_strerror(cc));
		http_client_response_free(resp);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!r->sink && r->response_fd < 0) {
		resp->body_len = t.body.len;
		resp->body = lh_buf_take(&t.body);
	}
	rc = 0;
out:
	lh_buf_free(&t.body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return rc;
}

int http_client_json(const char *method, const char *url, const char *body,
		     const char *request_id, struct http_client_response *resp,
		     struct lh_error *err)
{
	return http_client_json_auth(method, url, body, request_id, NULL, resp, err);
}

int http_client_json_auth(const char *method, const char *url, const char *body,
			  const char *request_id, const char *bearer_token,
			  struct http_client_response *resp, struct lh_error *err)
{
	struct http_client_request r;
	http_client_request_init(&r);
	r.method = method;
	r.url = url;
	r.request_id = request_id;
	r.bearer_token = bearer_token;
	const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json", NULL };
	r.headers = hdrs;
	if (body) {
		r.body = body;
		r.body_len = strlen(body);
	}
	return http_client_do(&r, resp, err);
}
