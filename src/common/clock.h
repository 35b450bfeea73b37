/* clock.h — the two clocks the lakehouse reads, and the absolute times
 * pthread_cond_timedwait() wants.
 *
 * CLOCK_MONOTONIC measures durations and deadlines (a query's time limit, a
 * worker's kill time, a retry's wait): it never jumps. CLOCK_REALTIME gives
 * the timestamps that are stored or shown (a version's created_at, an
 * object's age for the GC). A condition variable waits on CLOCK_REALTIME
 * unless it was made with pthread_condattr_setclock(); clock_deadline()
 * takes the clock the variable uses.
 */
#ifndef LH_CLOCK_H
#define LH_CLOCK_H
#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC (from an arbitrary start), with the
 * fraction. */
double clock_mono_ms(void);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);

/* The time `ms` milliseconds from now on clock `clk` (CLOCK_REALTIME or
 * CLOCK_MONOTONIC) into *out (OUT), for pthread_cond_timedwait on a
 * condition variable that waits on `clk`. ms <= 0 is now. */
void clock_deadline(clockid_t clk, double ms, struct timespec *out);

/* Pure: add `ms` milliseconds (<= 0 adds nothing, more than 1e12 adds 1e12;
 * the fraction is kept to the nanosecond) to *ts, normalised so that 0 <= tv_nsec < 1e9. */
void clock_timespec_add_ms(struct timespec *ts, double ms);

#endif
