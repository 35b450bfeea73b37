/* peer_client.c — the core the typed peer clients share: one request to a
 * peer (a base URL or an upstream pool) and the mapping of its failures to
 * our lh_error (see peer_client.h for the table, ADR 0130).
 *
 * DESIGN NOTES
 *  1. The words for the user and the words for the log are kept apart: the
 *     message names the peer the way the caller's user knows it ("the
 *     catalog"), the detail carries the URL, the method and the transport's
 *     own reason (lh_error_rephrase), so the request's log line says exactly
 *     which address failed and why (http_server.c logs err->detail).
 *  2. Retries are the pool's (upstream_pool_do: only a request that never
 *     reached a member goes to the next one, ADR 0075); a single URL gets
 *     one attempt, as before the clients existed. Time-outs are the
 *     request's own (r->timeout_ms), never changed here.
 *  3. Bodies stream: peer_do hands the caller's source, sink or fd to
 *     http_client_do untouched; only peer_json reads an answer into memory,
 *     capped by max_buffered.
 */
#include "common/peer_client.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/upstream.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void peer_client_init(struct peer_client *p, const struct peer_config *c)
{
	memset(p, 0, sizeof *p);
	p->name = xstrdup(c->name ? c->name : "the service");
	if (c->pool) {
		p->pool = upstream_pool_ref(c->pool);
	} else if (c->url && c->url[0]) {
		size_t n = strlen(c->url);
		while (n > 0 && c->url[n - 1] == '/')
			n--;
		p->url = xstrndup(c->url, n);
	}
	p->token = c->token && c->token[0] ? xstrdup(c->token) : NULL;
	p->relay = c->relay;
	p->max_buffered = c->max_buffered;
}

void peer_client_free(struct peer_client *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->url);
	free(p->token);
	if (p->pool)
		upstream_pool_unref(p->pool);
	memset(p, 0, sizeof *p);
}

int peer_client_configured(const struct peer_client *p)
{
	return p->url ? 1 : p->pool ? upstream_pool_size(p->pool) > 0 : 0;
}

int peer_do(const struct peer_client *p, struct peer_call *call, const char *path,
	    struct http_client_request *r, struct http_client_response *resp, char **url,
	    struct lh_error *err)
{
	int member = -1, rc, not_sent = 0;
	int *caller_not_sent = r->not_sent;
	char *used = NULL;

	memset(resp, 0, sizeof *resp);
	if (url)
		*url = NULL;
	if (call)
		call->status = 0;
	if (!peer_client_configured(p))
		return lh_fail(err, 502, "upstream_unavailable", "%s is not configured", p->name);
	r->request_id = call ? call->request_id : NULL;
	r->bearer_token = call && call->bearer_token ? call->bearer_token : p->token;
	if (!r->max_buffered)
		r->max_buffered = p->max_buffered;
	r->not_sent = &not_sent;
	if (p->pool) {
		rc = upstream_pool_do(p->pool, path, r, resp, &member, err);
		if (member >= 0)
			used = xasprintf("%s%s", upstream_pool_url(p->pool, (size_t)member), path);
	} else {
		used = xasprintf("%s%s", p->url, path);
		r->url = used;
		rc = http_client_do(r, resp, err);
		r->url = NULL;
	}
	r->not_sent = caller_not_sent;
	if (caller_not_sent)
		*caller_not_sent = rc != 0 && not_sent;
	if (rc != 0 && !not_sent && !strcmp(err->code, "upstream_unavailable")) {
		/* ADR 0202: it was sent, then the peer went away: it may have
		 * happened; the caller's words say whether a retry is safe */
		lh_error_rephrase(err, "%s stopped before answering: the request may or may "
				  "not have taken effect", p->name);
		snprintf(err->code, sizeof err->code, "%s", "upstream_interrupted");
	} else if (rc != 0) {
		lh_error_rephrase(err, "%s is not reachable", p->name);   /* note 1 */
	} else if (call)
		call->status = resp->status;
	if (url)
		*url = used;
	else
		free(used);
	return rc;
}

/* The peer's JSON error body {"error","code",...}: a new reference, or NULL. */
static json_t *error_body(const struct http_client_response *resp)
{
	json_t *o = resp->body && resp->body_len
			    ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	if (o && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* The peer's own status, code, message and extra fields. */
static int pass_through(const struct peer_client *p, const struct http_client_response *resp,
			json_t *o, const char *fallback_code, struct lh_error *err)
{
	const char *code = json_string_value(json_object_get(o, "code"));
	const char *msg = json_string_value(json_object_get(o, "error"));
	const char *k;
	json_t *v;
	if (msg)
		lh_fail(err, (int)resp->status, code ? code : fallback_code, "%s", msg);
	else
		lh_fail(err, (int)resp->status, code ? code : fallback_code, "%s answered %ld",
			p->name, resp->status);
	json_object_foreach(o, k, v) {
		if (strcmp(k, "error") && strcmp(k, "code"))
			lh_error_set(err, k, json_incref(v));
	}
	return -1;
}

int peer_answer_fail(const struct peer_client *p, const char *method, const char *url,
		     const struct http_client_response *resp, unsigned pass,
		     struct lh_error *err)
{
	long st = resp->status;
	json_t *o = error_body(resp);
	const char *msg = json_string_value(json_object_get(o, "error"));

	if (p->relay && st >= 400 && st < 600 && msg) {
		pass_through(p, resp, o, st < 500 ? "bad_request" : "upstream_failed", err);
	} else if (p->relay) {   /* not one of ours (a proxy in front?): what it said */
		size_t n = resp->body_len > 200 ? 200 : resp->body_len;
		lh_fail(err, st >= 400 && st < 600 ? (int)st : 502, "upstream_failed",
			"%s answered HTTP %ld%s%.*s", p->name, st, n ? ": " : "", (int)n,
			resp->body ? resp->body : "");
	} else if ((st == 404 && (pass & (PEER_PASS_404 | PEER_PASS_4XX))) ||
		   (st == 409 && (pass & (PEER_PASS_409 | PEER_PASS_4XX))) ||
		   (st >= 400 && st < 500 && (pass & PEER_PASS_4XX))) {
		pass_through(p, resp, o, st == 404 ? "not_found" : st == 409 ? "conflict"
						       : "bad_request", err);
	} else if (st == 503) {   /* retryable (catalog_unavailable...): as it is, ADR 0202 */
		pass_through(p, resp, o, "upstream_unavailable", err);
	} else if (st == 507) {
		lh_fail(err, 507, "insufficient_storage", "%s", msg ? msg : "out of disk space");
	} else if (msg && strstr(msg, "://")) {   /* no internal URL to clients, ADR 0202 */
		lh_fail(err, 502, "upstream_failed", "%s answered %ld", p->name, st);
		lh_error_detail(err, "it said: %s", msg);
	} else {
		lh_fail(err, 502, "upstream_failed", "%s answered %ld%s%s", p->name, st,
			msg ? ": " : "", msg ? msg : "");
	}
	lh_error_detail(err, "%s %s answered %ld", method, url ? url : "", st);
	json_decref(o);
	return -1;
}

json_t *peer_answer_json(const struct peer_client *p, const char *method, const char *url,
			 const struct http_client_response *resp, const char *what,
			 struct lh_error *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(resp->body ? resp->body : "", resp->body_len, 0, &jerr);
	if (!o) {
		lh_fail(err, 502, "upstream_failed", "%s sent an unreadable %s", p->name, what);
		lh_error_detail(err, "%s %s answered %ld: %s (line %d, column %d)", method,
				url ? url : "", resp->status, jerr.text, jerr.line, jerr.column);
	}
	return o;
}

int peer_unreadable(const struct peer_client *p, const char *url, const char *what,
		    struct lh_error *err)
{
	lh_error_rephrase(err, "%s sent an unreadable %s", p->name, what);
	lh_error_detail(err, "from %s", url ? url : "");
	return -1;
}

int peer_json(const struct peer_client *p, struct peer_call *call, const char *method,
	      const char *path, const char *body, unsigned pass, const char *what, json_t **out,
	      struct lh_error *err)
{
	struct http_client_request r;
	struct http_client_response resp;
	const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json", NULL };
	char *url = NULL;
	int rc = -1;

	*out = NULL;
	http_client_request_init(&r);
	r.method = method;
	r.headers = hdrs;
	if (body) {
		r.body = body;
		r.body_len = strlen(body);
	}
	if (peer_do(p, call, path, &r, &resp, &url, err) != 0)
		goto out;
	if (resp.status < 200 || resp.status > 299) {
		peer_answer_fail(p, method, url, &resp, pass, err);
		goto out;
	}
	if (resp.body_len || resp.status != 204) {
		*out = peer_answer_json(p, method, url, &resp, what, err);
		if (!*out)
			goto out;
	}
	rc = 0;
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}
