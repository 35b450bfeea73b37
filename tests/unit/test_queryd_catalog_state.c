/* test_queryd_catalog_state.c — catalog_state.c, the staleness rule of ADR
 * 0205: a known list answers within the bound and not one millisecond past
 * it, masks come with it, a 4xx is never an outage, a newer list is never
 * replaced by an older one, the hold-down spares the catalog only while the
 * list can answer, and every refusal is 503 catalog_unavailable in words.
 * Times are passed in: nothing here waits. */
#include "test.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/xmalloc.h"
#include "queryd/catalog_state.h"

#include <stdlib.h>
#include <string.h>

static struct manifest_summary one(const char *name, int64_t version, const char *masked)
{
	struct manifest_summary d;
	memset(&d, 0, sizeof d);
	snprintf(d.name, sizeof d.name, "%s", name);
	d.version = version;
	snprintf(d.masked, sizeof d.masked, "%s", masked);
	return d;
}

/* A heap copy of list[0..n): catalog_state_put_list takes it. */
static struct manifest_summary *heap(const struct manifest_summary *list, size_t n)
{
	struct manifest_summary *h = malloc(n * sizeof *h);
	memcpy(h, list, n * sizeof *h);
	return h;
}

static struct lh_error down(void)
{
	struct lh_error e = { 0 };
	lh_fail(&e, 502, "upstream_unavailable", "the catalog is not reachable");
	return e;
}

TEST(queryd_catalog_state_usable_bound)
{
	CHECK(!catalog_state_usable(0, 5000, 30));          /* never read */
	CHECK(catalog_state_usable(1000, 1000, 30));
	CHECK(catalog_state_usable(1000, 31000, 30));       /* exactly the bound */
	CHECK(!catalog_state_usable(1000, 31000.5, 30));    /* just past it */
	CHECK(!catalog_state_usable(1000, 1001, 0));        /* 0 = never answer from it */
}

TEST(queryd_catalog_state_list_within_and_past_bound)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct manifest_summary list[2] = { one("candidates", 3, "[\"email\"]"),
					    one("jobs", 1, "") };
	struct manifest_summary *got = NULL;
	size_t n = 0;
	double age = -1;
	struct lh_error err = down();

	/* nothing known yet: 503 in words, the catalog's words first */
	CHECK_EQ_INT(catalog_state_list(cs, 0, 500, &got, &n, &age, &err), -1);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	CHECK(strstr(err.msg, "the catalog is not reachable") == err.msg);
	CHECK(strstr(err.msg, "has not read the catalog since it started"));
	CHECK(got == NULL);
	lh_error_clear(&err);

	CHECK_EQ_INT(catalog_state_put_list(cs, heap(list, 2), 2, 1000), 0);
	err = down();
	CHECK_EQ_INT(catalog_state_list(cs, 0, 21000, &got, &n, &age, &err), 0);
	CHECK_EQ_INT(err.status, 0);            /* cleared: the answer stands */
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT((long long)age, 20000);
	CHECK_EQ_STR(got[0].name, "candidates");
	CHECK_EQ_STR(got[0].masked, "[\"email\"]");   /* the masks come with it */
	CHECK_EQ_INT(got[0].version, 3);
	free(got);
	got = NULL;

	err = down();
	CHECK_EQ_INT(catalog_state_list(cs, 0, 31001, &got, &n, &age, &err), -1);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	CHECK(strstr(err.msg, "30 s ago is older than the 30 s"));
	CHECK(strstr(err.msg, "catalog_stale_seconds"));
	CHECK(got == NULL);
	CHECK_EQ_INT(n, 0);
	lh_error_clear(&err);
	catalog_state_destroy(cs);
}

TEST(queryd_catalog_state_zero_bound_never_answers)
{
	struct catalog_state *cs = catalog_state_create(0, 1000);
	struct manifest_summary list[1] = { one("a", 1, "") };
	struct manifest_summary *got = NULL;
	size_t n = 0;
	double age;
	struct lh_error err = down();
	catalog_state_put_list(cs, heap(list, 1), 1, 1000);
	CHECK_EQ_INT(catalog_state_list(cs, 0, 1000, &got, &n, &age, &err), -1);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	CHECK(strstr(err.msg, "catalog_stale_seconds] is 0") || strstr(err.msg, "is 0"));
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_state_ask(cs, 1001), 1);   /* nothing to answer from: ask */
	catalog_state_destroy(cs);
}

TEST(queryd_catalog_state_older_answer_never_replaces_newer)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct manifest_summary newer[1] = { one("a", 2, "[\"email\"]") };
	struct manifest_summary older[1] = { one("a", 1, "") };
	struct manifest_summary *got = NULL;
	size_t n;
	double age;
	struct lh_error err = { 0 };
	catalog_state_put_list(cs, heap(newer, 1), 1, 2000);
	catalog_state_put_list(cs, heap(older, 1), 1, 1500);   /* a slower, earlier request */
	CHECK_EQ_INT(catalog_state_list(cs, 0, 2500, &got, &n, &age, &err), 0);
	CHECK_EQ_INT(got[0].version, 2);
	CHECK_EQ_STR(got[0].masked, "[\"email\"]");
	CHECK_EQ_INT((long long)age, 500);
	free(got);
	catalog_state_destroy(cs);
}

/* A tiny catalogd: the answers queryd's catalog calls can get that are
 * answers (400 bad_name, 401, a 500) and one that is an outage (its own 503
 * catalog_unavailable while its database is down). */
static int fake_catalog(struct http_request *req)
{
	const char *rest = http_request_path_rest(req);
	const char *t;
	int st;
	if (!strcmp(rest, "datasets")) {
		st = 401;
		t = "{\"error\":\"the token is not valid\",\"code\":\"unauthorized\"}";
	} else if (!strcmp(rest, "manifest/down")) {
		st = 503;
		t = "{\"error\":\"the catalog database is not reachable\","
		    "\"code\":\"catalog_unavailable\"}";
	} else if (!strcmp(rest, "manifest/boom")) {
		st = 500;
		t = "{\"error\":\"the catalog failed\",\"code\":\"internal\"}";
	} else {
		st = 400;
		t = "{\"error\":\"\\\"bad/name\\\" is not a dataset name\",\"code\":\"bad_name\"}";
	}
	http_respond_bytes(req, st, "application/json", t, strlen(t));
	return 0;
}

static const struct http_route fake_routes[] = {
	{ "GET", "/catalog/*", "c", NULL, NULL, fake_catalog, NULL, 0, 0 },
};

/* Only "no answer" is an outage, decided through the real catalog client
 * against a real (fake) catalogd: its 400 and 401 pass through as what it
 * said and are never recorded; a 500 neither; its own 503 and an
 * unreachable catalog are. */
TEST(queryd_catalog_state_only_no_answer_is_an_outage)
{
	struct lh_error e = { 0 };
	struct http_server_config hc = { .service = "fake", .bind = "127.0.0.1:0",
					 .routes = fake_routes, .nroutes = 1 };
	struct http_server *srv = http_server_start(&hc, &e);
	CHECK(srv != NULL);
	struct peer_config pc = { .name = "the catalog", .url = http_server_url(srv),
				  .token = "svc-token" };
	struct catalog_client *c = catalog_client_create(&pc);
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct catalog_state_stats st;
	struct manifest_summary *list = NULL;
	struct manifest *m = NULL;
	size_t n = 0;

	/* 401 to the dataset list (a rotated service token): an answer */
	CHECK_EQ_INT(catalog_client_datasets(c, NULL, &list, &n, &e), -1);
	CHECK_EQ_INT(e.status, 401);
	CHECK_EQ_STR(e.code, "unauthorized");
	CHECK_EQ_INT(catalog_state_is_outage(&e), 0);
	CHECK_EQ_INT(catalog_state_failed(cs, &e, 1000), 0);
	lh_error_clear(&e);
	/* 400 bad_name to a manifest (a client's bad name): an answer */
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "bad/name", 0, &m, &e), -1);
	CHECK_EQ_INT(e.status, 400);
	CHECK_EQ_STR(e.code, "bad_name");
	CHECK_EQ_INT(catalog_state_failed(cs, &e, 1000), 0);
	lh_error_clear(&e);
	/* a 500 is a failure, not "no answer": not an outage either */
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "boom", 0, &m, &e), -1);
	CHECK_EQ_INT(e.status, 502);
	CHECK_EQ_INT(catalog_state_failed(cs, &e, 1000), 0);
	lh_error_clear(&e);
	catalog_state_stats(cs, 1000, &st);
	CHECK_EQ_INT(st.down, 0);
	CHECK_EQ_INT((long long)st.age_ms, -1);
	/* catalogd's own 503: an outage, the first one says so */
	CHECK_EQ_INT(catalog_client_manifest(c, NULL, "down", 0, &m, &e), -1);
	CHECK_EQ_INT(e.status, 503);
	CHECK_EQ_STR(e.code, "catalog_unavailable");
	CHECK_EQ_INT(catalog_state_failed(cs, &e, 1000), 2);
	lh_error_clear(&e);
	catalog_client_destroy(c);
	/* not reachable: an outage */
	char *dead = xstrdup(http_server_url(srv));
	http_server_stop(srv);
	pc.url = dead;
	c = catalog_client_create(&pc);
	CHECK_EQ_INT(catalog_client_datasets(c, NULL, &list, &n, &e), -1);
	CHECK_EQ_INT(catalog_state_is_outage(&e), 1);
	CHECK_EQ_INT(catalog_state_failed(cs, &e, 1100), 1);
	lh_error_clear(&e);
	lh_fail(&e, 504, "upstream_timeout", "the catalog did not answer in time");
	CHECK_EQ_INT(catalog_state_failed(cs, &e, 1200), 1);
	lh_error_clear(&e);
	catalog_state_stats(cs, 1200, &st);
	CHECK_EQ_INT(st.down, 1);
	catalog_client_destroy(c);
	free(dead);
	catalog_state_destroy(cs);
}

/* ADR 0205 point 4: a masked caller (read, agent) has its own bound,
 * 0 by default: never answered from a known state. */
TEST(queryd_catalog_state_masked_bound)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct manifest_summary list[1] = { one("a", 1, "[\"email\"]") };
	struct manifest_summary *got = NULL;
	size_t n;
	double age;
	struct lh_error err = down();
	json_t *doc = json_pack("{s:s}", "name", "a"), *gd = NULL;
	catalog_state_put_list(cs, heap(list, 1), 1, 1000);
	catalog_state_put_doc(cs, "index\na", doc, 1000);
	catalog_state_failed(cs, &err, 1500);
	CHECK_EQ_INT(catalog_state_list(cs, 0, 2000, &got, &n, &age, &err), 0);   /* unmasked */
	free(got);
	CHECK_EQ_INT(catalog_state_list(cs, 1, 2000, &got, &n, &age, &err), -1);  /* masked: 0 */
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	CHECK(strstr(err.msg, "catalog_stale_masked_seconds is 0"));
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_state_doc(cs, 1, "index\na", 2000, &gd, &age, &err), -1);
	lh_error_clear(&err);
	/* the hold-down spares the catalog for masked callers too: 503 at once */
	CHECK_EQ_INT(catalog_state_ask(cs, 2000), 0);
	/* raised: masked callers within their own bound, to the millisecond */
	catalog_state_set_masked_seconds(cs, 5);
	CHECK_EQ_INT(catalog_state_list(cs, 1, 6000, &got, &n, &age, &err), 0);
	CHECK_EQ_STR(got[0].masked, "[\"email\"]");
	free(got);
	CHECK_EQ_INT(catalog_state_doc(cs, 1, "index\na", 6000, &gd, &age, &err), 0);
	json_decref(gd);
	CHECK_EQ_INT(catalog_state_list(cs, 1, 6001, &got, &n, &age, &err), -1);
	CHECK(strstr(err.msg, "([queryd] catalog_stale_masked_seconds)"));
	lh_error_clear(&err);
	CHECK_EQ_INT(catalog_state_list(cs, 0, 6001, &got, &n, &age, &err), 0);
	free(got);
	json_decref(doc);
	catalog_state_destroy(cs);
}

/* An answer to a request sent before the last failure does not end the
 * outage (nor does one older than the known list). */
TEST(queryd_catalog_state_older_answer_does_not_end_outage)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct manifest_summary list[1] = { one("a", 1, "") };
	struct lh_error e = down();
	struct catalog_state_stats st;
	catalog_state_put_list(cs, heap(list, 1), 1, 2000);
	catalog_state_failed(cs, &e, 3000);
	CHECK_EQ_INT(catalog_state_put_list(cs, heap(list, 1), 1, 1500), 0);  /* older than known */
	catalog_state_stats(cs, 3100, &st);
	CHECK_EQ_INT(st.down, 1);
	CHECK_EQ_INT(catalog_state_put_list(cs, heap(list, 1), 1, 2500), 0);  /* before the failure */
	catalog_state_stats(cs, 3100, &st);
	CHECK_EQ_INT(st.down, 1);
	CHECK_EQ_INT(catalog_state_ask(cs, 3200), 0);
	CHECK_EQ_INT(catalog_state_put_list(cs, heap(list, 1), 1, 3500), 1);  /* after it: back */
	catalog_state_stats(cs, 3600, &st);
	CHECK_EQ_INT(st.down, 0);
	lh_error_clear(&e);
	catalog_state_destroy(cs);
}

TEST(queryd_catalog_state_hold_down)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct manifest_summary list[1] = { one("a", 1, "") };
	struct lh_error e = down();
	CHECK_EQ_INT(catalog_state_ask(cs, 100), 1);
	/* a failure with nothing known: keep asking (nothing to answer from) */
	catalog_state_failed(cs, &e, 100);
	CHECK_EQ_INT(catalog_state_ask(cs, 200), 1);
	CHECK_EQ_INT(catalog_state_put_list(cs, heap(list, 1), 1, 300), 1);   /* back: said once */
	CHECK_EQ_INT(catalog_state_put_list(cs, heap(list, 1), 1, 400), 0);
	CHECK_EQ_INT(catalog_state_ask(cs, 500), 1);                  /* up: always ask */
	catalog_state_failed(cs, &e, 1000);
	CHECK_EQ_INT(catalog_state_ask(cs, 1500), 0);    /* within retry_ms: from the list */
	CHECK_EQ_INT(catalog_state_ask(cs, 2000), 1);    /* retry_ms later: ask again */
	catalog_state_failed(cs, &e, 30000);
	CHECK_EQ_INT(catalog_state_ask(cs, 30200), 0);
	CHECK_EQ_INT(catalog_state_ask(cs, 30401), 1);   /* the list is past the bound */
	lh_error_clear(&e);
	catalog_state_destroy(cs);
}

TEST(queryd_catalog_state_remembered_answers)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct lh_error err = down();
	json_t *doc = json_pack("{s:s}", "name", "candidates"), *got = NULL;
	struct manifest *m = manifest_create(), *gm = NULL;
	double age = -1;
	catalog_state_put_doc(cs, "index\ncandidates", doc, 1000);
	catalog_state_put_manifest(cs, "manifest\ncandidates\n1", m, 1000);
	CHECK_EQ_INT(catalog_state_doc(cs, 0, "index\ncandidates", 5000, &got, &age, &err), 0);
	CHECK(got == doc);
	CHECK_EQ_INT((long long)age, 4000);
	json_decref(got);
	CHECK_EQ_INT(catalog_state_manifest(cs, 0, "manifest\ncandidates\n1", 5000, &gm, &age, &err),
		     0);
	CHECK(gm == m);
	manifest_unref(gm);
	/* a key never answered: 503, whatever the age */
	err = down();
	CHECK_EQ_INT(catalog_state_manifest(cs, 0, "manifest\ncandidates\n2", 5000, &gm, &age, &err),
		     -1);
	CHECK_EQ_INT(err.status, 503);
	CHECK(strstr(err.msg, "has not read what this needs"));
	lh_error_clear(&err);
	/* a doc is not a manifest */
	CHECK_EQ_INT(catalog_state_manifest(cs, 0, "index\ncandidates", 5000, &gm, &age, &err), -1);
	lh_error_clear(&err);
	/* past the bound */
	CHECK_EQ_INT(catalog_state_doc(cs, 0, "index\ncandidates", 31001, &got, &age, &err), -1);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	CHECK(got == NULL);
	lh_error_clear(&err);
	/* a later answer replaces it, an earlier one does not */
	json_t *doc2 = json_pack("{s:s}", "name", "v2");
	catalog_state_put_doc(cs, "index\ncandidates", doc2, 20000);
	catalog_state_put_doc(cs, "index\ncandidates", doc, 10000);
	CHECK_EQ_INT(catalog_state_doc(cs, 0, "index\ncandidates", 40000, &got, &age, &err), 0);
	CHECK(got == doc2);
	json_decref(got);
	json_decref(doc);
	json_decref(doc2);
	manifest_unref(m);
	catalog_state_destroy(cs);
}

TEST(queryd_catalog_state_unavailable_words)
{
	struct catalog_state *cs = catalog_state_create(30, 1000);
	struct lh_error err = { 0 };
	lh_fail(&err, 503, "catalog_unavailable", "the catalog database is not reachable yet");
	lh_error_set(&err, "hint", json_string("x"));
	CHECK_EQ_INT(catalog_state_unavailable(cs, 0, 1000, &err), -1);
	CHECK_EQ_INT(err.status, 503);
	CHECK_EQ_STR(err.code, "catalog_unavailable");
	CHECK(strstr(err.msg, "the catalog database is not reachable yet;") == err.msg);
	CHECK(strstr(err.msg, "retry shortly"));
	CHECK(err.extra == NULL);
	lh_error_clear(&err);
	/* an empty error gets words of its own */
	CHECK_EQ_INT(catalog_state_unavailable(cs, 0, 1000, &err), -1);
	CHECK(strstr(err.msg, "the catalog is not reachable") == err.msg);
	lh_error_clear(&err);
	catalog_state_destroy(cs);
}
