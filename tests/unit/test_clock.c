/* test_clock.c — common/clock.c: milliseconds and pthread_cond_timedwait
 * deadlines. */
#include "test.h"

#include "common/clock.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>

TEST(clock_timespec_add_ms_normalises)
{
	struct timespec ts = { 10, 999000000L };
	clock_timespec_add_ms(&ts, 1.5);   /* 999 ms + 1.5 ms */
	CHECK_EQ_INT(ts.tv_sec, 11);
	CHECK_EQ_INT(ts.tv_nsec, 500000L);
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	clock_timespec_add_ms(&ts, 2250);
	CHECK_EQ_INT(ts.tv_sec, 2);
	CHECK_EQ_INT(ts.tv_nsec, 250000000L);
	clock_timespec_add_ms(&ts, 0.000001);   /* one nanosecond */
	CHECK_EQ_INT(ts.tv_nsec, 250000001L);
	struct timespec big = { 5, 999999999L };
	clock_timespec_add_ms(&big, 86400000.0 * 3);   /* three days */
	CHECK_EQ_INT(big.tv_sec, 5 + 3 * 86400 + 0);
	CHECK_EQ_INT(big.tv_nsec, 999999999L);
}

TEST(clock_timespec_add_ms_ignores_nothing_to_add)
{
	struct timespec ts = { 7, 123L };
	clock_timespec_add_ms(&ts, 0);
	clock_timespec_add_ms(&ts, -50);
	clock_timespec_add_ms(&ts, NAN);
	CHECK_EQ_INT(ts.tv_sec, 7);
	CHECK_EQ_INT(ts.tv_nsec, 123L);
	clock_timespec_add_ms(&ts, INFINITY);   /* capped, no overflow */
	CHECK(ts.tv_sec > 7 + 86400LL * 365 * 30);
	CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
}

TEST(clock_readings)
{
	double a = clock_mono_ms(), b = clock_mono_ms();
	CHECK(b >= a);
	int64_t w = clock_wall_ms();
	CHECK(w > 1600000000000LL);   /* after 2020 */
	struct timespec now, d;
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_deadline(CLOCK_MONOTONIC, 1500, &d);
	double delta = (double)(d.tv_sec - now.tv_sec) * 1e3 + (double)(d.tv_nsec - now.tv_nsec) / 1e6;
	CHECK(delta >= 1500 && delta < 1600);
}

/* The deadline is what pthread_cond_timedwait waits for: a condition
 * variable on CLOCK_MONOTONIC that nobody signals times out after it. */
TEST(clock_deadline_bounds_a_timedwait)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_condattr_t ca;
	pthread_cond_t cv;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	struct timespec until;
	double start = clock_mono_ms();
	pthread_mutex_lock(&mu);
	clock_deadline(CLOCK_MONOTONIC, 30, &until);
	int rc;
	do
		rc = pthread_cond_timedwait(&cv, &mu, &until);
	while (rc == 0);
	pthread_mutex_unlock(&mu);
	double waited = clock_mono_ms() - start;
	pthread_cond_destroy(&cv);
	CHECK_EQ_INT(rc, ETIMEDOUT);
	CHECK(waited >= 29 && waited < 5000);
}
