/* log.h — structured logs: one JSON line per event on stderr.
 *
 * Request lines carry time, service, request_id, method, path, status,
 * bytes, duration_ms (SPEC 10). Each line is written with one write(2) so
 * lines from concurrent threads never interleave.
 */
#ifndef LH_LOG_H
#define LH_LOG_H
#include <stdint.h>

struct log_request {
	const char *service, *request_id, *method, *path;
	int status;
	uint64_t bytes_in, bytes_out;
	double duration_ms;
	const char *error;   /* internal detail for 5xx, or NULL */
};

void log_request(const struct log_request *r);
/* A free-form event: {"time","level","service","msg"}. */
void log_event(const char *level, const char *service, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* LAKEHOUSE_LOG=quiet silences request lines (events still go out). */
void log_set_quiet(int quiet);

#endif
