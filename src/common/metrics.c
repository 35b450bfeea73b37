/* metrics.c — Prometheus counters and histograms for the HTTP layer.
 *
 * Series are keyed by (route, status); there are few of each, so a small
 * array under one mutex is simpler than a hash table and fast enough.
 * Route names are static strings from the route tables.
 */
#include "common/metrics.h"

#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_bounds[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
					0.25, 0.5, 1, 2.5, 5, 10, 30 };
#define NBUCKETS (sizeof bucket_bounds / sizeof bucket_bounds[0])

struct series {
	char *route;
	int status;
	unsigned long long count;
	unsigned long long buckets[NBUCKETS];  /* cumulative at render time */
	double sum;
};

struct metrics {
	pthread_mutex_t lock;
	char *service;
	struct series *series;
	size_t nseries, cap;
};

struct metrics *metrics_create(const char *service)
{
	struct metrics *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->lock, NULL);
	m->service = xstrdup(service);
	return m;
}

void metrics_destroy(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nseries; i++)
		free(m->series[i].route);
	free(m->series);
	free(m->service);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct series *series_get(struct metrics *m, const char *route, int status)
{
	for (size_t i = 0; i < m->nseries; i++)
		if (m->series[i].status == status && !strcmp(m->series[i].route, route))
			return &m->series[i];
	if (m->nseries == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->series = xrealloc(m->series, m->cap * sizeof *m->series);
	}
	struct series *s = &m->series[m->nseries++];
	memset(s, 0, sizeof *s);
	s->route = xstrdup(route);
	s->status = status;
	return s;
}

void metrics_observe(struct metrics *m, const char *route, int status, double seconds)
{
	pthread_mutex_lock(&m->lock);
	struct series *s = series_get(m, route, status);
	s->count++;
	s->sum += seconds;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= bucket_bounds[b]) {
			s->buckets[b]++;
			break;
		}
	pthread_mutex_unlock(&m->lock);
}

char *metrics_render(struct metrics *m, int in_flight)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		abort();
	pthread_mutex_lock(&m->lock);
	fprintf(f, "# HELP lakehouse_http_requests_total HTTP requests answered.\n"
		   "# TYPE lakehouse_http_requests_total counter\n");
	for (size_t i = 0; i < m->nseries; i++)
		fprintf(f, "lakehouse_http_requests_total{service=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
			m->service, m->series[i].route, m->series[i].status, m->series[i].count);
	fprintf(f, "# HELP lakehouse_http_request_duration_seconds Request latency.\n"
		   "# TYPE lakehouse_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->nseries; i++) {
		struct series *s = &m->series[i];
		unsigned long long cum = 0;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += s->buckets[b];
			fprintf(f, "lakehouse_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\",status=\"%d\",le=\"%g\"} %llu\n",
				m->service, s->route, s->status, bucket_bounds[b], cum);
		}
		fprintf(f, "lakehouse_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\",status=\"%d\",le=\"+Inf\"} %llu\n",
			m->service, s->route, s->status, s->count);
		fprintf(f, "lakehouse_http_request_duration_seconds_sum{service=\"%s\",route=\"%s\",status=\"%d\"} %.6f\n",
			m->service, s->route, s->status, s->sum);
		fprintf(f, "lakehouse_http_request_duration_seconds_count{service=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
			m->service, s->route, s->status, s->count);
	}
	pthread_mutex_unlock(&m->lock);
	fprintf(f, "# HELP lakehouse_http_in_flight Requests being served.\n"
		   "# TYPE lakehouse_http_in_flight gauge\n"
		   "lakehouse_http_in_flight{service=\"%s\"} %d\n", m->service, in_flight);
	fclose(f);
	return out;
}
