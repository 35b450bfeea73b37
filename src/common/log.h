/* log.h — the process's log on stderr: request lines and events, as JSON
 * lines for machines or short lines for a person at a terminal (ADR 0121).
 *
 * JSON request lines carry time, level, service, request_id, method, path,
 * status, bytes_in, bytes, duration_ms (ADR 0005), and for a failure "error"
 * (5xx) and "detail" (an error's log-only detail, ADR 0130); JSON events carry time,
 * level, service, msg. Human lines read "12:03:04 POST /v1/ingest?name=x 200
 * 12.3 ms 1.2 KiB in, 858 B out" and "12:03:04 warning: gateway: ...".
 * Each line is written with one write(2) so lines from concurrent threads
 * never interleave.
 *
 * Modes (log_setup; --log, LAKEHOUSE_LOG, lakehouse.toml `log`):
 *   auto   human lines if stderr is a terminal, JSON lines otherwise
 *   json   JSON lines: every request and every event
 *   human  human lines: the front service's requests (the gateway's under
 *          `serve`), other services' only when they fail (5xx); every event
 *   quiet  only problems: 5xx request lines and warn/error events, in the
 *          auto format
 * Before log_setup (unit tests, queryd workers) the mode is LAKEHOUSE_LOG's,
 * else auto.
 */
#ifndef LH_LOG_H
#define LH_LOG_H
#include <stddef.h>
#include <stdint.h>

struct log_request {
	const char *service, *request_id, *method, *path;
	const char *query;   /* decoded "k=v&k2" without '?', or NULL: human lines only */
	int status;
	uint64_t bytes_in, bytes_out;
	double duration_ms;
	const char *error;   /* internal detail for 5xx, or NULL */
	const char *message; /* the error the client was told (4xx/5xx), or NULL:
			      * human lines only */
	const char *detail;  /* log-only detail of that error (lh_error.detail:
			      * a peer's URL and reason), or NULL: JSON
			      * "detail", human lines in parentheses (ADR 0130) */
	const char *who;     /* the token's name (ADR 0210), or NULL: JSON "who",
			      * human lines "by <who>" */
};

enum log_mode { LOG_MODE_AUTO, LOG_MODE_JSON, LOG_MODE_HUMAN, LOG_MODE_QUIET };

/* "auto", "json", "human", "quiet" -> *out; 0, or -1 for anything else. */
int log_mode_parse(const char *s, enum log_mode *out);

/* Fix the process's log mode; `front` is the service whose requests human
 * lines show in full (NULL = every service's). Call it once, early, before
 * any thread logs (service_load_config does). */
void log_setup(enum log_mode mode, const char *front);

/* Whether lines go out in the human form (the HTTP layer then keeps the
 * query string and error message of each request for its line). */
int log_is_human(void);

void log_request(const struct log_request *r);
/* A free-form event: {"time","level","service","msg"}; level is "info",
 * "warn" or "error". */
void log_event(const char *level, const char *service, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A start-up announcement in JSON form, for JSON logs (the caller prints
 * its own line for a person when log_is_human()): {"time", "level": "info",
 * "service", "msg", "url"}. Never filtered out, not even by quiet: it is the
 * line an operator or a script looks for (ADR 0207). */
void log_announce(const char *service, const char *url, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- the human form: pure functions, no I/O (unit-tested) ----------------- */

/* "858 B", "1.2 KiB", "3.4 MiB", "1.0 GiB" into out[16]. */
void log_human_size(char out[16], uint64_t bytes);

/* One human request line without the newline into out (cap bytes, always
 * NUL-terminated, truncated if need be); returns its length. `clock` is the
 * "HH:MM:SS" to show; `with_service` prefixes "<service>: "; `color` wraps
 * a 4xx/5xx status in ANSI colour. Request data (path, query, messages) is
 * shown with control characters and invalid UTF-8 as '?', so a client can
 * never send escape sequences to the terminal. */
size_t log_human_request(char *out, size_t cap, const char *clock,
			 const struct log_request *r, int with_service, int color);

/* One human event line: "HH:MM:SS [warning: |error: ]service: msg" (the
 * service is not repeated when msg already starts with "service: "). */
size_t log_human_event(char *out, size_t cap, const char *clock, const char *level,
		       const char *service, const char *msg, int color);

#endif
