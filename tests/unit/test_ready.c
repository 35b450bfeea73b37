/* test_ready.c — src/common/ready.c without a network: a check function
 * reports fixed states; /ready's JSON and status, the once-a-second cache,
 * and the Prometheus text (ADR 0200). */
#include "test.h"

#include "common/json.h"
#include "common/ready.h"

#include <stdlib.h>
#include <string.h>

struct fake_deps {
	int db_up;
	int checks;
};

static void fake_check(void *ctx, struct ready *r)
{
	struct fake_deps *f = ctx;
	f->checks++;
	ready_report(r, "database", f->db_up, 1.5, f->db_up ? NULL : "it is down");
	ready_report(r, "peer", 1, 0.5, NULL);
}

static void extra(void *ctx, FILE *f)
{
	fprintf(f, "extra_metric 7\n");
}

TEST(ready_answer_and_metrics)
{
	struct fake_deps f = { .db_up = 0 };
	struct ready *r = ready_create("svc", fake_check, &f);
	json_t *body = json_object();
	CHECK_EQ_INT(ready_answer(r, body), 503);
	json_t *db = json_object_get(json_object_get(body, "dependencies"), "database");
	CHECK(json_is_false(json_object_get(db, "up")));
	CHECK_EQ_STR(json_string_value(json_object_get(db, "reason")), "it is down");
	json_t *peer = json_object_get(json_object_get(body, "dependencies"), "peer");
	CHECK(json_is_true(json_object_get(peer, "up")));
	CHECK(json_object_get(peer, "reason") == NULL);
	json_decref(body);

	/* within LH_READY_CACHE_MS: the last result, no new check */
	f.db_up = 1;
	body = json_object();
	CHECK_EQ_INT(ready_answer(r, body), 503);
	CHECK_EQ_INT(f.checks, 1);
	json_decref(body);

	ready_set_metrics_extra(r, extra);
	char *text = ready_metrics(r);
	CHECK(strstr(text, "lakehouse_dependency_up{service=\"svc\",dependency=\"database\"} 0\n"));
	CHECK(strstr(text, "lakehouse_dependency_up{service=\"svc\",dependency=\"peer\"} 1\n"));
	CHECK(strstr(text, "lakehouse_dependency_errors_total{service=\"svc\",dependency=\"database\"} 1\n"));
	CHECK(strstr(text, "lakehouse_dependency_latency_seconds{service=\"svc\",dependency=\"database\"} 0.001500\n"));
	CHECK(strstr(text, "extra_metric 7\n"));
	free(text);

	/* a report changes the state at once */
	ready_report(r, "database", 1, 2.0, NULL);
	body = json_object();
	CHECK_EQ_INT(ready_answer(r, body), 200);
	json_decref(body);
	ready_destroy(r);
}

TEST(ready_without_check_is_ready)
{
	struct ready *r = ready_create("svc", NULL, NULL);
	json_t *body = json_object();
	CHECK_EQ_INT(ready_answer(r, body), 200);
	CHECK_EQ_INT(json_object_size(json_object_get(body, "dependencies")), 0);
	json_decref(body);
	char *text = ready_metrics(r);
	CHECK_EQ_STR(text, "");
	free(text);
	ready_destroy(r);
}
