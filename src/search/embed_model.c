/* embed_model.c — the model-server embedders (ADR 0144; docs/embeddings.md
 * "Model servers"): "ollama/<model>" speaks Ollama's POST /api/embed
 * ({"model","input":[...]} -> {"embeddings":[[...],...]}), "openai/<model>"
 * the OpenAI embeddings API POST /v1/embeddings ({"model","input":[...]} ->
 * {"data":[{"embedding":[...],"index":i},...]}), which llama.cpp's
 * llama-server, vLLM and Ollama's /v1 also serve.
 *
 * DESIGN NOTES
 * 1. One embedder_embed: empty texts are zeros without asking; every other
 *    text is looked up in the process-wide cache (embed_cache.h, keyed by
 *    id + URL + text); the misses go to the server in batches of
 *    `batch` (LH_EMBED_BATCH) texts, one request each, in order; answers
 *    are L2-normalised (in double, rounded once) and cached.
 * 2. The dimension is learned at open from one probe text (cached like any
 *    other, so later opens in the process do not ask again) and every later
 *    answer must have it: a server whose model changed is an error, not a
 *    silent mix of spaces.
 * 3. Failures: a transport failure (no connection, time-out), HTTP 429 or
 *    5xx is retried LH_EMBED_RETRIES times after LH_EMBED_RETRY_BACKOFF_MS,
 *    doubled each time; any other answer is final. Whatever fails, the
 *    client gets 502 "embedder_unavailable" with what went wrong in plain
 *    words; the URL and the server's own words go to the log detail.
 *    After a failure `out` may hold some rows (earlier batches): callers
 *    discard it.
 * 4. Texts are sent as JSON strings; invalid UTF-8 bytes become U+FFFD
 *    (JSON cannot carry them), the cache key is over the original bytes.
 */
#include "search/embed_cache.h"
#include "search/embed_int.h"
#include "search/tokenize.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE_TEXT "lakehouse embedding dimension probe"

struct model {
	struct embedder base;   /* first */
	int openai;
	const char *model;      /* inside base.id */
	char *url;              /* base URL, no trailing '/' */
	char *endpoint;         /* url + "/api/embed" | "/v1/embeddings" */
	char *api_key;          /* openai: bearer, or NULL */
	unsigned timeout_ms, batch;
	int no_cache;
};

/* text with invalid UTF-8 replaced by U+FFFD (design note 4): a new string
 * in *out (free it) or NULL when text is valid as it is. */
static char *clean_utf8(const char *text, size_t len, size_t *out_len)
{
	size_t i = 0;
	while (i < len) {
		if ((unsigned char)text[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = token_utf8_seq_len(text + i, len - i);
		if (!k)
			break;
		i += k;
	}
	if (i == len)
		return NULL;
	char *o = xmalloc(len * 3 + 1);
	size_t n = 0;
	for (i = 0; i < len;) {
		size_t k = (unsigned char)text[i] < 0x80 ? 1 : token_utf8_seq_len(text + i, len - i);
		if (k) {
			memcpy(o + n, text + i, k);
			n += k;
			i += k;
		} else {
			memcpy(o + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		}
	}
	*out_len = n;
	return o;
}

/* The request body {"model": ..., "input": [...]}; the caller frees it. */
static char *request_body(const struct model *m, const char *const *texts, const size_t *lens,
			  size_t k, size_t *body_len)
{
	json_t *o = json_object(), *in = json_array();
	json_object_set_new(o, "model", json_string(m->model));
	for (size_t i = 0; i < k; i++) {
		size_t cl = 0;
		char *c = clean_utf8(texts[i], lens[i], &cl);
		json_array_append_new(in, c ? json_stringn(c, cl) : json_stringn(texts[i], lens[i]));
		free(c);
	}
	json_object_set_new(o, "input", in);
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		abort();   /* out of memory: as xmalloc */
	*body_len = strlen(s);
	return s;
}

/* A short, printable excerpt of a server's answer for the log detail. */
static void excerpt(const char *s, size_t n, char *out, size_t cap)
{
	size_t j = 0;
	for (size_t i = 0; s && i < n && j + 4 < cap; i++)
		out[j++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
	if (s && n > 0 && j + 4 >= cap) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = '\0';
}

static const char *api_name(const struct model *m)
{
	return m->openai ? "OpenAI /v1/embeddings" : "Ollama /api/embed";
}

static int malformed(const struct model *m, struct lh_error *err, const char *why)
{
	lh_fail(err, 502, "embedder_unavailable",
		"the embedding model server's answer is not what the %s API returns", api_name(m));
	lh_error_detail(err, "POST %s: %s", m->endpoint, why);
	return -1;
}

/* One vector of the answer into row[*dim], normalised (design notes 1, 2). */
static int take_vector(const struct model *m, const json_t *a, unsigned *dim, float *row,
		       struct lh_error *err)
{
	if (!json_is_array(a))
		return malformed(m, err, "an embedding is not an array");
	size_t d = json_array_size(a);
	if (*dim == 0) {
		if (d == 0 || d > LH_EMBED_MAX_DIM)
			return malformed(m, err, "embedding dimension 0 or over LH_EMBED_MAX_DIM");
		*dim = (unsigned)d;
	}
	if (d != *dim) {
		lh_fail(err, 502, "embedder_unavailable",
			"the embedding model server answered %zu-dimensional vectors, expected %u (did its model change?)",
			d, *dim);
		lh_error_detail(err, "POST %s", m->endpoint);
		return -1;
	}
	double norm = 0;
	for (size_t j = 0; j < d; j++) {
		const json_t *x = json_array_get(a, j);
		if (!json_is_number(x) || !isfinite(json_number_value(x)))
			return malformed(m, err, "an embedding holds something other than finite numbers");
		double v = json_number_value(x);
		norm += v * v;
	}
	norm = sqrt(norm);
	for (size_t j = 0; j < d; j++)
		row[j] = norm > 0 ? (float)(json_number_value(json_array_get(a, j)) / norm) : 0.0f;
	return 0;
}

/* Parse an answer to k texts into *tmp (allocated here: k * dim floats). */
static int parse_answer(const struct model *m, const char *body, size_t len, size_t k,
			unsigned *dim, float **tmp, struct lh_error *err)
{
	int rc = -1;
	json_error_t jerr;
	json_t *root = json_loadb(body, len, 0, &jerr);
	char *seen = NULL;
	*tmp = NULL;
	if (!json_is_object(root)) {
		malformed(m, err, root ? "not a JSON object" : "not JSON");
		goto out;
	}
	const json_t *list = json_object_get(root, m->openai ? "data" : "embeddings");
	if (!json_is_array(list) || json_array_size(list) != k) {
		malformed(m, err, m->openai ? "\"data\" is not an array with one item per input"
					    : "\"embeddings\" is not an array with one item per input");
		goto out;
	}
	seen = xcalloc(k, 1);
	for (size_t i = 0; i < k; i++) {
		const json_t *item = json_array_get(list, i), *vec = item;
		size_t at = i;
		if (m->openai) {
			const json_t *ix = json_object_get(item, "index");
			vec = json_object_get(item, "embedding");
			if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
			    (size_t)json_integer_value(ix) >= k || seen[json_integer_value(ix)]) {
				malformed(m, err, "\"index\" missing, out of range or repeated");
				goto out;
			}
			at = (size_t)json_integer_value(ix);
			seen[at] = 1;
		}
		if (!*tmp) {
			/* the first vector fixes the dimension when it is not known */
			unsigned d = *dim;
			if (!d && json_is_array(vec) && json_array_size(vec) > 0 &&
			    json_array_size(vec) <= LH_EMBED_MAX_DIM)
				d = (unsigned)json_array_size(vec);
			*tmp = xmalloc(sizeof(float) * k * (d ? d : 1));
		}
		if (take_vector(m, vec, dim, *tmp + at * *dim, err) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc) {
		free(*tmp);
		*tmp = NULL;
	}
	free(seen);
	json_decref(root);
	return rc;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* One batch of k texts to the server, with retries (design note 3); the
 * normalised vectors into *tmp (k * *dim floats, the caller frees). */
static int send_batch(const struct model *m, const char *const *texts, const size_t *lens,
		      size_t k, unsigned *dim, float **tmp, struct lh_error *err)
{
	size_t body_len;
	char *body = request_body(m, texts, lens, k, &body_len);
	const char *headers[] = { "Content-Type: application/json", "Accept: application/json", NULL };
	struct lh_error last = { 0 };
	long status = 0;
	char said[200] = "";
	int rc = -1, tries = 0;
	for (int attempt = 0; attempt <= LH_EMBED_RETRIES; attempt++) {
		if (attempt > 0)
			sleep_ms(LH_EMBED_RETRY_BACKOFF_MS << (attempt - 1));
		tries++;
		struct http_client_request r;
		struct http_client_response resp = { 0 };
		http_client_request_init(&r);
		r.method = "POST";
		r.url = m->endpoint;
		r.headers = headers;
		r.body = body;
		r.body_len = body_len;
		r.bearer_token = m->api_key;
		r.timeout_ms = m->timeout_ms;
		r.max_buffered = LH_EMBED_MAX_RESPONSE;
		lh_error_clear(&last);
		if (http_client_do(&r, &resp, &last) != 0) {
			status = 0;
			continue;                          /* transport: retry */
		}
		status = resp.status;
		if (status == 200) {
			rc = parse_answer(m, resp.body, resp.body_len, k, dim, tmp, err);
			http_client_response_free(&resp);
			goto out;                          /* a bad answer is final */
		}
		excerpt(resp.body, resp.body_len, said, sizeof said);
		http_client_response_free(&resp);
		if (status != 429 && status < 500)
			break;                             /* refused: final */
	}
	if (status == 0 && last.status == 504) {
		lh_fail(err, 502, "embedder_unavailable",
			"the embedding model server did not answer within %u ms (%d tries)",
			m->timeout_ms, tries);
		lh_error_detail(err, "POST %s: %s %s", m->endpoint, last.msg, last.detail);
	} else if (status == 0) {
		lh_fail(err, 502, "embedder_unavailable",
			"the embedding model server could not be reached (%d tries); is it running?",
			tries);
		lh_error_detail(err, "POST %s: %s %s", m->endpoint, last.msg, last.detail);
	} else if (status == 404) {
		lh_fail(err, 502, "embedder_unavailable",
			"the embedding model server answered 404: is the model \"%s\" installed there, and is it an %s server?",
			m->model, m->openai ? "OpenAI-compatible" : "Ollama");
		lh_error_detail(err, "POST %s: %s", m->endpoint, said);
	} else {
		lh_fail(err, 502, "embedder_unavailable",
			"the embedding model server answered HTTP %ld%s", status,
			status >= 500 || status == 429 ? " every time it was tried" : "");
		lh_error_detail(err, "POST %s (%d tries): %s", m->endpoint, tries, said);
	}
out:
	lh_error_clear(&last);
	free(body);
	return rc;
}

/* Embed n texts into out (rows of *dim; *dim == 0 only for the probe, n = 1,
 * out holding LH_EMBED_MAX_DIM floats): design note 1. */
static int model_embed_dim(struct model *m, const char *const *texts, const size_t *lens,
			   size_t n, float *out, unsigned *dim, struct lh_error *err)
{
	int rc = -1;
	char (*keys)[EMBED_CACHE_KEY_LEN + 1] = xmalloc(sizeof *keys * n);
	size_t *pend = xmalloc(sizeof *pend * n), npend = 0;
	const char **bt = xmalloc(sizeof *bt * m->batch);
	size_t *bl = xmalloc(sizeof *bl * m->batch);
	for (size_t i = 0; i < n; i++) {
		if (lens[i] == 0 && *dim) {
			memset(out + i * *dim, 0, sizeof(float) * *dim);
			continue;
		}
		embed_cache_key(m->base.id, m->url, texts[i], lens[i], keys[i]);
		unsigned d = *dim;
		if (!m->no_cache && embed_cache_get(keys[i], &d, out + i * *dim)) {
			*dim = d;
			continue;
		}
		pend[npend++] = i;
	}
	for (size_t s = 0; s < npend; s += m->batch) {
		size_t k = npend - s < m->batch ? npend - s : m->batch;
		float *tmp = NULL;
		for (size_t j = 0; j < k; j++) {
			bt[j] = texts[pend[s + j]];
			bl[j] = lens[pend[s + j]];
		}
		if (send_batch(m, bt, bl, k, dim, &tmp, err) != 0)
			goto out;
		for (size_t j = 0; j < k; j++) {
			size_t i = pend[s + j];
			memcpy(out + i * *dim, tmp + j * *dim, sizeof(float) * *dim);
			if (!m->no_cache)
				embed_cache_put(keys[i], *dim, tmp + j * *dim);
		}
		free(tmp);
	}
	rc = 0;
out:
	free(keys);
	free(pend);
	free(bt);
	free(bl);
	return rc;
}

static int model_embed(struct embedder *e, const char *const *texts, const size_t *lens,
		       size_t n, float *out, struct lh_error *err)
{
	struct model *m = (struct model *)e;
	unsigned dim = atomic_load(&e->dim);
	return model_embed_dim(m, texts, lens, n, out, &dim, err);
}

static void model_close(struct embedder *e)
{
	struct model *m = (struct model *)e;
	free(m->url);
	free(m->endpoint);
	free(m->api_key);
	free(m);
}

static const struct embed_ops model_ops = { model_embed, model_close };

struct embedder *embed_model_open(const char *id, const struct embed_config *cfg,
				  struct lh_error *err)
{
	if (!cfg->url || !cfg->url[0]) {
		lh_fail(err, 400, "embedder_not_configured",
			"the embedder \"%.140s\" needs a model server: set [embed] url (LAKEHOUSE_EMBED_URL)",
			id);
		return NULL;
	}
	struct model *m = xcalloc(1, sizeof *m);
	m->base.ops = &model_ops;
	snprintf(m->base.id, sizeof m->base.id, "%s", id);
	m->openai = strncmp(id, "openai/", 7) == 0;
	m->model = m->base.id + 7;
	size_t ul = strlen(cfg->url);
	while (ul > 0 && cfg->url[ul - 1] == '/')
		ul--;
	m->url = xmalloc(ul + 1);
	memcpy(m->url, cfg->url, ul);
	m->url[ul] = '\0';
	const char *path = m->openai ? "/v1/embeddings" : "/api/embed";
	m->endpoint = xmalloc(ul + strlen(path) + 1);
	memcpy(m->endpoint, m->url, ul);
	memcpy(m->endpoint + ul, path, strlen(path) + 1);
	m->api_key = m->openai && cfg->api_key && cfg->api_key[0] ? xstrdup(cfg->api_key) : NULL;
	m->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : LH_EMBED_DEFAULT_TIMEOUT_MS;
	m->batch = cfg->batch ? cfg->batch : LH_EMBED_BATCH;
	if (m->batch > LH_EMBED_MAX_TEXTS)
		m->batch = LH_EMBED_MAX_TEXTS;
	m->no_cache = cfg->no_cache;
	/* design note 2: learn the dimension */
	float *probe = xmalloc(sizeof(float) * LH_EMBED_MAX_DIM);
	const char *pt[1] = { PROBE_TEXT };
	size_t pl[1] = { strlen(PROBE_TEXT) };
	unsigned dim = 0;
	int rc = model_embed_dim(m, pt, pl, 1, probe, &dim, err);
	free(probe);
	if (rc != 0) {
		model_close(&m->base);
		return NULL;
	}
	atomic_init(&m->base.dim, dim);
	return &m->base;
}
