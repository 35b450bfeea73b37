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
