/* test_upstream.c — src/common/upstream.c without a network: a fake probe
 * stands in for GET /health. Parsing the list, round-robin order, skipping
 * members that are down, passive marking, recovery, the last resort when
 * every member is down, the /health JSON, and the checker threads. */
#include "test.h"

#include "common/error.h"
#include "common/http_client.h"
#include "common/limits.h"
#include "common/upstream.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* The fake probe's answers: down[i] = 1 -> unreachable, 2 -> unhealthy,
 * 3 -> alive but not ready (/ready 503, ADR 0200). */
struct fake {
	pthread_mutex_t mu;
	int down[LH_UPSTREAM_MAX_MEMBERS];
	int probes;
};

static int fake_probe(void *ctx, const char *url, unsigned timeout_ms)
{
	struct fake *f = ctx;
	/* "http://mN" -> N */
	int i = (int)strtol(url + strlen("http://m"), NULL, 10);
	pthread_mutex_lock(&f->mu);
	int d = f->down[i];
	f->probes++;
	pthread_mutex_unlock(&f->mu);
	return d == 0 ? 0 : d == 1 ? -1 : d == 3 ? 2 : 1;
}

static struct upstream_pool *pool_of(const char *urls, struct fake *f, unsigned interval_ms)
{
	struct lh_error err = { 0 };
	struct upstream_pool_config c = { .name = "queryd", .urls = urls, .log_service = "test",
					  .interval_ms = interval_ms, .timeout_ms = 100,
					  .probe = fake_probe, .probe_ctx = f };
	struct upstream_pool *p = upstream_pool_create(&c, &err);
	lh_error_clear(&err);
	return p;
}

/* Pick with a fresh per-request mask. */
static int pick1(struct upstream_pool *p)
{
	uint32_t tried = 0;
	return upstream_pool_pick(p, &tried);
}

TEST(upstream_parse)
{
	struct fake f = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct upstream_pool *p = pool_of(" http://m0/ ,http://m1//,\thttp://m2", &f, 0);
	CHECK(p != NULL);
	CHECK_EQ_INT(upstream_pool_size(p), 3);
	CHECK_EQ_STR(upstream_pool_url(p, 0), "http://m0");
	CHECK_EQ_STR(upstream_pool_url(p, 1), "http://m1");
	CHECK_EQ_STR(upstream_pool_url(p, 2), "http://m2");
	CHECK_EQ_STR(upstream_pool_list(p), " http://m0/ ,http://m1//,\thttp://m2");
	CHECK_EQ_STR(upstream_pool_name(p), "queryd");
	upstream_pool_destroy(p);

	p = pool_of("", &f, 0);   /* not configured: an empty pool */
	CHECK(p != NULL);
	CHECK_EQ_INT(upstream_pool_size(p), 0);
	CHECK_EQ_INT(pick1(p), -1);
	upstream_pool_destroy(p);

	struct lh_error err = { 0 };
	struct upstream_pool_config c = { .name = "queryd", .urls = "http://m0,,http://m1" };
	CHECK(upstream_pool_create(&c, &err) == NULL);
	CHECK_EQ_INT(err.status, 400);
	CHECK(strstr(err.msg, "empty URL") != NULL);
	lh_error_clear(&err);
	char list[2048];
	size_t o = 0;
	for (int i = 0; i <= LH_UPSTREAM_MAX_MEMBERS; i++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%shttp://m%d", i ? "," : "", i);
	c.urls = list;
	CHECK(upstream_pool_create(&c, &err) == NULL);
	CHECK(strstr(err.msg, "more than") != NULL);
	lh_error_clear(&err);
	upstream_pool_destroy(NULL);
}

TEST(upstream_round_robin)
{
	struct fake f = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct upstream_pool *p = pool_of("http://m0,http://m1,http://m2", &f, 0);
	int want[] = { 0, 1, 2, 0, 1, 2, 0 };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK_EQ_INT(pick1(p), want[i]);
	/* one request's own retries: each member at most once, then -1 */
	uint32_t tried = 0;
	CHECK_EQ_INT(upstream_pool_pick(p, &tried), 1);
	CHECK_EQ_INT(upstream_pool_pick(p, &tried), 2);
	CHECK_EQ_INT(upstream_pool_pick(p, &tried), 0);
	CHECK_EQ_INT(upstream_pool_pick(p, &tried), -1);
	CHECK_EQ_INT(tried, 7);
	upstream_pool_destroy(p);
}

TEST(upstream_skips_down_members_and_recovers)
{
	struct fake f = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct upstream_pool *p = pool_of("http://m0,http://m1,http://m2", &f, 0);
	f.down[1] = 1;   /* unreachable */
	f.down[2] = 2;   /* answers /health with a non-200 */
	upstream_pool_check(p);
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_OK);
	CHECK_EQ_INT(upstream_pool_state(p, 1), UPSTREAM_UNREACHABLE);
	CHECK_EQ_INT(upstream_pool_state(p, 2), UPSTREAM_UNHEALTHY);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(pick1(p), 0);
	const char *summary = NULL;
	json_t *j = upstream_pool_json(p, &summary);
	CHECK_EQ_STR(summary, "degraded");
	CHECK_EQ_INT(json_array_size(j), 3);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(j, 1), "status")),
		     "unreachable");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(j, 2), "url")),
		     "http://m2");
	json_decref(j);

	/* recovery: the next probe brings m1 back into the rotation */
	f.down[1] = 0;
	upstream_pool_check(p);
	int seen[3] = { 0 };
	for (int i = 0; i < 6; i++)
		seen[pick1(p)]++;
	CHECK_EQ_INT(seen[0], 3);
	CHECK_EQ_INT(seen[1], 3);
	CHECK_EQ_INT(seen[2], 0);

	/* passive: a failed connection marks a member down at once, an answer
	 * marks it up */
	upstream_pool_report(p, 0, 0, "connection refused");
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_UNREACHABLE);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(pick1(p), 1);
	upstream_pool_report(p, 0, 1, NULL);
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_OK);
	upstream_pool_destroy(p);
}

TEST(upstream_all_down_last_resort)
{
	struct fake f = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct upstream_pool *p = pool_of("http://m0,http://m1", &f, 0);
	f.down[0] = f.down[1] = 1;
	upstream_pool_check(p);
	const char *summary = NULL;
	json_decref(upstream_pool_json(p, &summary));
	CHECK_EQ_STR(summary, "unreachable");
	/* still tried, each once per request: health may lag behind */
	uint32_t tried = 0;
	int a = upstream_pool_pick(p, &tried), b = upstream_pool_pick(p, &tried);
	CHECK(a >= 0 && b >= 0 && a != b);
	CHECK_EQ_INT(upstream_pool_pick(p, &tried), -1);
	/* a healthy member is preferred over untried down ones */
	f.down[1] = 0;
	upstream_pool_check(p);
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(pick1(p), 1);
	f.down[1] = 2;
	upstream_pool_check(p);
	json_decref(upstream_pool_json(p, &summary));
	CHECK_EQ_STR(summary, "unhealthy");
	upstream_pool_destroy(p);
}

TEST(upstream_do_retries_only_unsent)
{
	/* Real connections to a closed loopback port are refused: nothing was
	 * sent, so every member is tried once and marked unreachable. */
	http_client_global_init();
	struct lh_error err = { 0 };
	struct upstream_pool_config c = { .name = "storaged",
					  .urls = "http://127.0.0.1:1,http://127.0.0.1:2" };
	struct upstream_pool *p = upstream_pool_create(&c, &err);
	CHECK(p != NULL);
	struct http_client_request r;
	struct http_client_response resp;
	int member = -7, not_sent = 0;
	http_client_request_init(&r);
	r.method = "POST";
	r.body = "x";
	r.body_len = 1;
	r.not_sent = &not_sent;
	CHECK_EQ_INT(upstream_pool_do(p, "/ingest", &r, &resp, &member, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	CHECK_EQ_STR(err.code, "upstream_unavailable");
	CHECK(member == 0 || member == 1);
	CHECK_EQ_INT(not_sent, 1);
	CHECK(r.url == NULL);
	CHECK(r.not_sent == &not_sent);
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_UNREACHABLE);
	CHECK_EQ_INT(upstream_pool_state(p, 1), UPSTREAM_UNREACHABLE);
	lh_error_clear(&err);
	upstream_pool_destroy(p);

	/* an empty pool answers "not configured" */
	c.urls = "";
	p = upstream_pool_create(&c, &err);
	CHECK_EQ_INT(upstream_pool_do(p, "/x", &r, &resp, &member, &err), -1);
	CHECK(strstr(err.msg, "not configured") != NULL);
	CHECK_EQ_INT(member, -1);
	lh_error_clear(&err);
	upstream_pool_destroy(p);
}

TEST(upstream_checker_threads)
{
	struct fake f = { .mu = PTHREAD_MUTEX_INITIALIZER };
	f.down[1] = 1;
	/* create waits for each member's first probe: the state is true at once */
	struct upstream_pool *p = pool_of("http://m0,http://m1", &f, 20);
	CHECK(p != NULL);
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_OK);
	CHECK_EQ_INT(upstream_pool_state(p, 1), UPSTREAM_UNREACHABLE);
	/* a held reference outlives destroy (a detached proxy worker) */
	upstream_pool_ref(p);
	pthread_mutex_lock(&f.mu);
	f.down[1] = 0;
	pthread_mutex_unlock(&f.mu);
	int ok = 0;
	for (int i = 0; i < 200 && !ok; i++) {   /* bounded: 2 s */
		ok = upstream_pool_state(p, 1) == UPSTREAM_OK;
		if (!ok)
			usleep(10000);
	}
	CHECK(ok);
	upstream_pool_destroy(p);
	pthread_mutex_lock(&f.mu);
	int probes = f.probes;
	pthread_mutex_unlock(&f.mu);
	usleep(60000);
	CHECK_EQ_INT(f.probes, probes);          /* the checkers have stopped */
	CHECK_EQ_INT(pick1(p), 0);               /* still usable through the ref */
	upstream_pool_unref(p);
}

/* ADR 0200: a not-ready member is picked only as a last resort, an answer
 * does not make it ok, and a pool with none ready says "not_ready". */
TEST(upstream_not_ready_is_a_last_resort)
{
	struct fake f = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct upstream_pool *p = pool_of("http://m0,http://m1", &f, 0);
	f.down[0] = 3;
	upstream_pool_check(p);
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_NOT_READY);
	CHECK_EQ_STR(upstream_state_name(UPSTREAM_NOT_READY), "not_ready");
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(pick1(p), 1);
	upstream_pool_report(p, 0, 1, NULL);   /* it answered: still not ready */
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_NOT_READY);
	f.down[1] = 3;
	upstream_pool_check(p);
	const char *summary = NULL;
	json_t *j = upstream_pool_json(p, &summary);
	CHECK_EQ_STR(summary, "not_ready");
	json_decref(j);
	uint32_t tried = 0;   /* none ready: still tried, each once */
	CHECK(upstream_pool_pick(p, &tried) >= 0);
	CHECK(upstream_pool_pick(p, &tried) >= 0);
	CHECK_EQ_INT(upstream_pool_pick(p, &tried), -1);
	f.down[0] = 0;
	upstream_pool_check(p);
	CHECK_EQ_INT(upstream_pool_state(p, 0), UPSTREAM_OK);
	upstream_pool_destroy(p);
}
