/* test_search_embed_model.c — the "ollama/<model>" and "openai/<model>"
 * embedders (src/search/embed_model.c, embed_cache.c) against
 * tests/integration/fake_model_server.py, a stand-in that speaks both wire
 * protocols (ADR 0144): success and normalisation, batching, the cache,
 * the bearer key, answers in any order, wrong dimension, malformed and
 * refused answers, a server that is down, slow or briefly failing.
 *
 * One server process is started on first use (python3, a free loopback
 * port it picks and prints) and killed at exit; each test starts from an
 * empty cache and zeroed server counters. */
#include "test.h"

#include "search/embed.h"
#include "search/embed_cache.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/json.h"
#include "common/sha256.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FAKE_DIM 8
#define FAKE_KEY "sekrit"

static pid_t server_pid = -1;
static char server_url[96];

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
}

/* The fake server's base URL, starting it if needed; NULL if it cannot. */
static const char *fake_server(void)
{
	if (server_pid > 0)
		return server_url;
	int fds[2];
	if (pipe(fds) != 0)
		return NULL;
	pid_t pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("python3", "python3", "tests/integration/fake_model_server.py", "--dim", "8",
		       "--api-key", FAKE_KEY, "--slow-ms", "1500", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[64] = "";
	size_t n = 0;
	while (n + 1 < sizeof line) {
		ssize_t r = read(fds[0], line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(fds[0]);
	server_pid = pid;
	atexit(stop_server);
	if (strncmp(line, "PORT ", 5) != 0) {
		fprintf(stderr, "  fake_model_server.py did not start (run from the repository root)\n");
		stop_server();
		return NULL;
	}
	snprintf(server_url, sizeof server_url, "http://127.0.0.1:%s", line + 5);
	http_client_global_init();
	return server_url;
}

/* POST /reset on the server; empty the cache. */
static int reset_all(void)
{
	const char *u = fake_server();
	if (!u)
		return -1;
	char url[128];
	snprintf(url, sizeof url, "%s/reset", u);
	struct http_client_response resp = { 0 };
	struct lh_error err = { 0 };
	int rc = http_client_json("POST", url, "{}", NULL, &resp, &err);
	http_client_response_free(&resp);
	lh_error_clear(&err);
	embed_cache_reset(0);
	return rc;
}

/* The server's /stats: requests, and the input counts of each batch. */
static int server_stats(int *requests, int *sizes, int max_sizes, int *nsizes)
{
	char url[128];
	snprintf(url, sizeof url, "%s/stats", fake_server());
	struct http_client_response resp = { 0 };
	struct lh_error err = { 0 };
	if (http_client_json("GET", url, NULL, NULL, &resp, &err) != 0)
		return -1;
	json_t *o = json_loadb(resp.body, resp.body_len, 0, NULL);
	http_client_response_free(&resp);
	if (!o)
		return -1;
	*requests = (int)json_integer_value(json_object_get(o, "requests"));
	json_t *b = json_object_get(o, "batches");
	*nsizes = 0;
	for (size_t i = 0; i < json_array_size(b) && *nsizes < max_sizes; i++)
		sizes[(*nsizes)++] = (int)json_integer_value(json_array_get(json_array_get(b, i), 2));
	json_decref(o);
	return 0;
}

/* The fake server's vector for text, normalised, in double. */
static void expected(const char *text, double out[FAKE_DIM])
{
	double norm = 0;
	for (int j = 0; j < FAKE_DIM; j++) {
		char hex[LH_SHA256_HEX_LEN + 1];
		size_t n = strlen(text);
		char *buf = malloc(n + 1);
		memcpy(buf, text, n);
		buf[n] = (char)(j / 32);
		sha256_hex(buf, n + 1, hex);
		free(buf);
		unsigned b = 0;
		int k = j % 32;
		for (int h = 0; h < 2; h++) {
			char c = hex[2 * k + h];
			b = b * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
		}
		out[j] = ((double)b - 127.5) / 127.5;
		norm += out[j] * out[j];
	}
	for (int j = 0; j < FAKE_DIM; j++)
		out[j] /= sqrt(norm);
}

static int close_to(const float *v, const char *text)
{
	double e[FAKE_DIM];
	expected(text, e);
	for (int j = 0; j < FAKE_DIM; j++)
		if (fabs(v[j] - e[j]) > 1e-6)
			return 0;
	return 1;
}

#define NEED_SERVER()                     \
	do {                              \
		CHECK(reset_all() == 0);  \
	} while (0)

static struct embed_config cfg_for(void)
{
	struct embed_config c = { .url = server_url, .api_key = FAKE_KEY, .timeout_ms = 5000 };
	return c;
}

TEST(search_embed_model_ollama_success)
{
	NEED_SERVER();
	struct embed_config cfg = cfg_for();
	struct lh_error err = { 0 };
	struct embedder *e = embedder_open("ollama/nomic-embed-text:latest", &cfg, &err);
	CHECK(e != NULL);
	CHECK_EQ_STR(embedder_id(e), "ollama/nomic-embed-text:latest");
	CHECK_EQ_INT(embedder_dim(e), FAKE_DIM);
	const char *texts[] = { "forklift operator", "", "nurse, ICU", "caf\xc3\xa9" };
	size_t lens[] = { 17, 0, 10, 5 };
	float out[4 * FAKE_DIM];
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 4, out, &err), 0);
	CHECK(close_to(out, "forklift operator"));
	for (int j = 0; j < FAKE_DIM; j++)
		CHECK(out[FAKE_DIM + j] == 0);          /* empty: zeros, not sent */
	CHECK(close_to(out + 2 * FAKE_DIM, "nurse, ICU"));
	CHECK(close_to(out + 3 * FAKE_DIM, "caf\xc3\xa9"));
	int req, sizes[8], ns;
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 2);                          /* the probe + one batch */
	CHECK_EQ_INT(sizes[0], 1);
	CHECK_EQ_INT(sizes[1], 3);
	/* invalid UTF-8 is sent as U+FFFD */
	const char *bad[] = { "a\xff" "b" };
	size_t bl[] = { 3 };
	CHECK_EQ_INT(embedder_embed(e, bad, bl, 1, out, &err), 0);
	CHECK(close_to(out, "a\xef\xbf\xbd" "b"));
	embedder_close(e);
}

TEST(search_embed_model_batches_and_cache)
{
	NEED_SERVER();
	struct embed_config cfg = cfg_for();
	cfg.batch = 4;
	struct lh_error err = { 0 };
	struct embedder *e = embedder_open("ollama/m", &cfg, &err);
	CHECK(e != NULL);
	char buf[10][24];
	const char *texts[10];
	size_t lens[10];
	for (int i = 0; i < 10; i++) {
		snprintf(buf[i], sizeof buf[i], "text %d", i);
		texts[i] = buf[i];
		lens[i] = strlen(buf[i]);
	}
	float out[10 * FAKE_DIM], again[10 * FAKE_DIM];
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 10, out, &err), 0);
	int req, sizes[8], ns;
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 4);                 /* probe, 4, 4, 2 */
	CHECK_EQ_INT(ns, 4);
	CHECK(sizes[1] == 4 && sizes[2] == 4 && sizes[3] == 2);
	for (int i = 0; i < 10; i++)
		CHECK(close_to(out + i * FAKE_DIM, buf[i]));
	/* the same texts again: all from the cache, the same bits */
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 10, again, &err), 0);
	CHECK(memcmp(out, again, sizeof out) == 0);
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 4);
	struct embed_cache_stats st;
	embed_cache_stats(&st);
	CHECK_EQ_INT(st.entries, 11);         /* 10 texts + the probe */
	CHECK(st.hits >= 10);
	/* a second embedder of the same id and server shares the cache: its
	 * open does not even probe */
	struct embedder *e2 = embedder_open("ollama/m", &cfg, &err);
	CHECK(e2 != NULL);
	snprintf(buf[3], sizeof buf[3], "new text");
	lens[3] = strlen(buf[3]);
	CHECK_EQ_INT(embedder_embed(e2, texts, lens, 10, again, &err), 0);
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 5);                 /* only "new text" was asked for */
	CHECK_EQ_INT(sizes[4], 1);
	CHECK(close_to(again + 3 * FAKE_DIM, "new text"));
	/* another model is another key */
	struct embedder *e3 = embedder_open("ollama/m2", &cfg, &err);
	CHECK(e3 != NULL);
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 6);
	embedder_close(e3);
	embedder_close(e2);
	embedder_close(e);
	/* the byte cap holds: room for 3 vectors keeps the last 3 */
	embed_cache_reset(3 * (FAKE_DIM * sizeof(float) + 100));
	float v[FAKE_DIM] = { 1 };
	char key[EMBED_CACHE_KEY_LEN + 1];
	for (int i = 0; i < 10; i++) {
		embed_cache_key("x", "u", buf[i], strlen(buf[i]), key);
		embed_cache_put(key, FAKE_DIM, v);
	}
	embed_cache_stats(&st);
	CHECK(st.entries <= 3 && st.bytes <= st.cap_bytes);
	unsigned d = FAKE_DIM;
	embed_cache_key("x", "u", buf[9], strlen(buf[9]), key);
	CHECK_EQ_INT(embed_cache_get(key, &d, again), 1);
	embed_cache_key("x", "u", buf[0], strlen(buf[0]), key);
	CHECK_EQ_INT(embed_cache_get(key, &d, again), 0);
	embed_cache_reset(0);
}

TEST(search_embed_model_openai_key_and_order)
{
	NEED_SERVER();
	struct embed_config cfg = cfg_for();
	struct lh_error err = { 0 };
	struct embedder *e = embedder_open("openai/reversed", &cfg, &err);
	CHECK(e != NULL);
	const char *texts[] = { "alpha", "beta", "gamma" };
	size_t lens[] = { 5, 4, 5 };
	float out[3 * FAKE_DIM];
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 3, out, &err), 0);
	CHECK(close_to(out, "alpha"));
	CHECK(close_to(out + FAKE_DIM, "beta"));
	CHECK(close_to(out + 2 * FAKE_DIM, "gamma"));
	embedder_close(e);
	/* a wrong key: the server's 401 is a 502 in plain words, no retry */
	cfg.api_key = "wrong";
	CHECK(embedder_open("openai/text-embedding-3-small", &cfg, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "embedder_unavailable");
	CHECK(strstr(err.msg, "HTTP 401") != NULL);
	CHECK(strstr(err.detail, "Incorrect API key") != NULL);
	lh_error_clear(&err);
	int req, sizes[8], ns;
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 3);                 /* probe + batch + one 401 */
	/* a repeated index is malformed */
	cfg.api_key = FAKE_KEY;
	e = embedder_open("openai/badindex", &cfg, &err);
	CHECK(e != NULL);
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 3, out, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK(strstr(err.msg, "OpenAI /v1/embeddings") != NULL);
	CHECK(strstr(err.detail, "index") != NULL);
	lh_error_clear(&err);
	embedder_close(e);
}

TEST(search_embed_model_wrong_dimension)
{
	NEED_SERVER();
	struct embed_config cfg = cfg_for();
	struct lh_error err = { 0 };
	struct embedder *e = embedder_open("ollama/wrongdim", &cfg, &err);
	CHECK(e != NULL);
	CHECK_EQ_INT(embedder_dim(e), FAKE_DIM);
	const char *texts[] = { "x" };
	size_t lens[] = { 1 };
	float out[FAKE_DIM + 1];
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 1, out, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "embedder_unavailable");
	CHECK(strstr(err.msg, "9-dimensional vectors, expected 8") != NULL);
	lh_error_clear(&err);
	embedder_close(e);
}

TEST(search_embed_model_malformed_and_missing)
{
	NEED_SERVER();
	struct embed_config cfg = cfg_for();
	struct lh_error err = { 0 };
	CHECK(embedder_open("ollama/malformed", &cfg, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK(strstr(err.msg, "not what the Ollama /api/embed API returns") != NULL);
	CHECK(strstr(err.detail, "not JSON") != NULL);
	lh_error_clear(&err);
	CHECK(embedder_open("ollama/text", &cfg, &err) == NULL);
	CHECK(strstr(err.detail, "finite numbers") != NULL);
	lh_error_clear(&err);
	CHECK(embedder_open("ollama/missing", &cfg, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK(strstr(err.msg, "is the model \"missing\" installed") != NULL);
	CHECK(strstr(err.detail, "try pulling it first") != NULL);
	lh_error_clear(&err);
	int req, sizes[8], ns;
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 3);                 /* none of these is retried */
	/* no server configured */
	struct embed_config none = { 0 };
	CHECK(embedder_open("ollama/m", &none, &err) == NULL);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "embedder_not_configured");
	lh_error_clear(&err);
	CHECK(embedder_open("ollama/m", NULL, &err) == NULL);
	CHECK_EQ_STR(err.code, "embedder_not_configured");
	lh_error_clear(&err);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST(search_embed_model_down_flaky_slow)
{
	NEED_SERVER();
	struct embed_config cfg = cfg_for();
	struct lh_error err = { 0 };
	/* briefly failing: the retry gets it */
	struct embedder *e = embedder_open("ollama/flaky", &cfg, &err);
	CHECK(e != NULL);
	int req, sizes[8], ns;
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 2);
	embedder_close(e);
	/* always 503: three tries with backoff, then 502 */
	double t0 = now_s();
	CHECK(embedder_open("ollama/down", &cfg, &err) == NULL);
	double took = now_s() - t0;
	CHECK_EQ_INT(err.status, 502);
	CHECK(strstr(err.msg, "HTTP 503 every time") != NULL);
	lh_error_clear(&err);
	CHECK(server_stats(&req, sizes, 8, &ns) == 0);
	CHECK_EQ_INT(req, 5);
	CHECK(took >= 0.55);                  /* 200 + 400 ms of backoff */
	/* nobody listening */
	struct embed_config gone = { .url = "http://127.0.0.1:1" };
	CHECK(embedder_open("openai/m", &gone, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "embedder_unavailable");
	CHECK(strstr(err.msg, "could not be reached (3 tries)") != NULL);
	CHECK(strstr(err.detail, "127.0.0.1:1") != NULL);
	CHECK(strstr(err.msg, "127.0.0.1") == NULL);
	lh_error_clear(&err);
	/* slower than the time-out */
	cfg.timeout_ms = 300;
	CHECK(embedder_open("ollama/slow", &cfg, &err) == NULL);
	CHECK_EQ_INT(err.status, 502);
	CHECK(strstr(err.msg, "did not answer within 300 ms") != NULL);
	lh_error_clear(&err);
}
