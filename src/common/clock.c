/* clock.c — monotonic and wall-clock milliseconds, and deadlines for
 * pthread_cond_timedwait (see clock.h). */
#include "common/clock.h"

/* A wait longer than this (about 31 years) is this long. */
#define CLOCK_MAX_ADD_MS 1e12

double clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_timespec_add_ms(struct timespec *ts, double ms)
{
	if (!(ms > 0))
		return;   /* also NaN */
	if (ms > CLOCK_MAX_ADD_MS)
		ms = CLOCK_MAX_ADD_MS;   /* ms * 1e6 stays far inside long long */
	long long ns = (long long)ts->tv_nsec + (long long)(ms * 1e6);
	ts->tv_sec += (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

void clock_deadline(clockid_t clk, double ms, struct timespec *out)
{
	clock_gettime(clk, out);
	clock_timespec_add_ms(out, ms);
}
