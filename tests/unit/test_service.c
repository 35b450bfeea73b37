/* test_service.c — the service helpers shared by every subcommand. */
#include "test.h"

#include "common/error.h"
#include "common/service.h"

/* A config error carries a JSON detail (err.extra); service_die is the last
 * thing a *_main does with it, so it must release it (LeakSanitizer found
 * the leak on every bad-config exit). */
TEST(service_die_releases_the_error)
{
	struct lh_error err = { 0 };
	lh_fail(&err, 400, "bad_config", "unknown environment variable X");
	lh_error_set(&err, "variable", json_string("X"));
	CHECK(err.extra != NULL);
	int rc = service_die(&err);   /* prints one line on stderr */
	CHECK_EQ_INT(rc, 1);
	CHECK(err.extra == NULL);
}

/* SERVICE_OPS(svc) makes the service_ops of a typed service API: a fake
 * service "fakesvc" records what its three functions were given. */
struct fakesvc {
	const char *url;
	int stopped;
};
static struct fakesvc fakesvc_one = { "http://127.0.0.1:1", 0 };
static const struct lh_config *fakesvc_cfg;

static struct fakesvc *fakesvc_start(const struct lh_config *cfg, struct lh_error *err)
{
	fakesvc_cfg = cfg;
	if (!cfg) {
		lh_fail(err, 500, "internal", "no configuration");
		return NULL;
	}
	return &fakesvc_one;
}

static const char *fakesvc_url(const struct fakesvc *s)
{
	return s->url;
}

static void fakesvc_stop(struct fakesvc *s)
{
	s->stopped++;
}

SERVICE_OPS(fakesvc);

TEST(service_ops_adapts_a_typed_service)
{
	struct lh_error err = { 0 };
	const struct service_ops *ops = &fakesvc_service_ops;
	const struct lh_config *cfg = (const struct lh_config *)&err;   /* any address */
	CHECK_EQ_STR(ops->name, "fakesvc");
	void *svc = ops->start(cfg, &err);
	CHECK(svc == &fakesvc_one);
	CHECK(fakesvc_cfg == cfg);
	CHECK_EQ_STR(ops->url(svc), "http://127.0.0.1:1");
	ops->stop(svc);
	CHECK_EQ_INT(fakesvc_one.stopped, 1);
	CHECK(ops->start(NULL, &err) == NULL);   /* a failure passes through */
	CHECK_EQ_STR(err.code, "internal");
	lh_error_clear(&err);
}
