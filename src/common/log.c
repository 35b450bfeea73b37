/* log.c — one JSON line per request or event on stderr (see log.h). */
#include "common/log.h"

#include "common/json.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int quiet = -1;   /* -1: not yet read from LAKEHOUSE_LOG */

void log_set_quiet(int q)
{
	atomic_store(&quiet, q);
}

static int is_quiet(void)
{
	int q = atomic_load(&quiet);
	if (q < 0) {
		const char *v = getenv("LAKEHOUSE_LOG");
		q = v && !strcmp(v, "quiet");
		atomic_store(&quiet, q);
	}
	return q;
}

/* RFC 3339 UTC with milliseconds. */
static void now_rfc3339(char out[32])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* A JSON string even for bytes that are not UTF-8 (paths from clients):
 * non-ASCII bytes become '?' when the whole is not valid UTF-8. */
static json_t *string_lossy(const char *s)
{
	json_t *v = json_string(s ? s : "");
	if (v)
		return v;
	char *copy = strdup(s);
	if (!copy)
		return json_string("");
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

static void emit(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(obj);
	if (!text)
		return;
	size_t n = strlen(text);
	text[n] = '\n';   /* json_dumps leaves room: we overwrite the NUL and write n+1 */
	ssize_t w = write(STDERR_FILENO, text, n + 1);
	(void)w;
	free(text);
}

void log_request(const struct log_request *r)
{
	if (is_quiet() && r->status < 500)
		return;
	char ts[32];
	now_rfc3339(ts);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "service", json_string(r->service));
	json_object_set_new(o, "request_id", string_lossy(r->request_id));
	json_object_set_new(o, "method", json_string(r->method));
	json_object_set_new(o, "path", string_lossy(r->path));
	json_object_set_new(o, "status", json_integer(r->status));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes_out));
	json_object_set_new(o, "duration_ms", json_real(r->duration_ms));
	if (r->error)
		json_object_set_new(o, "error", string_lossy(r->error));
	emit(o);
}

void log_event(const char *level, const char *service, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char ts[32];
	now_rfc3339(ts);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "service", json_string(service));
	json_object_set_new(o, "msg", string_lossy(msg));
	emit(o);
}
