/* metrics.h — request counters and latency histograms per route and status,
 * rendered in the Prometheus text format for GET /metrics. Thread-safe. */
#ifndef LH_METRICS_H
#define LH_METRICS_H

struct metrics;

struct metrics *metrics_create(const char *service);
void metrics_destroy(struct metrics *m);
/* Count one request of `route` that answered `status` after `seconds`. */
void metrics_observe(struct metrics *m, const char *route, int status, double seconds);
/* The exposition text; the caller frees it. */
char *metrics_render(struct metrics *m, int in_flight);

#endif
