/* error.h — the one error type carried from where a failure is found to the
 * HTTP boundary.
 *
 * A function that can fail takes `struct lh_error *err` and, on failure, fills
 * it once with lh_fail() and returns -1 (or NULL). Only the HTTP layer turns it
 * into a JSON response {"error": msg, "code": code, ...extra} and a log line.
 * 5xx messages say what failed in plain words; internals go to the log.
 *
 * Two audiences, as curl's failf (the user) and infof (the log): `msg` is
 * what the client is told; `detail` is what only the request's log line
 * carries (a peer's URL and reason, an errno text). A layer that says a
 * failure again in plain words (lh_error_rephrase) moves the words it
 * replaces into the detail, so the root cause reaches the log (ADR 0130).
 */
#ifndef LH_ERROR_H
#define LH_ERROR_H
#include "common/json.h"

struct lh_error {
	int status;      /* HTTP status, 0 = no error */
	char code[32];   /* snake_case machine code, e.g. "too_large" */
	char msg[512];   /* one human sentence, no trailing newline */
	char detail[512];/* log-only: never in the response; "" = none */
	json_t *extra;   /* owned: extra response fields (line, column, diff), or NULL */
};

/* Fill `err` (if it is still empty) and return -1. A second failure on an
 * already-filled error keeps the first, which is the root cause. */
int lh_fail(struct lh_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Add log-only detail (printf-style) to a filled error: appended after "; "
 * when there is some already. Never reaches the client. */
void lh_error_detail(struct lh_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Say a filled error again in plain words for the client: the message
 * becomes the detail (unless there is one already: the first is the root
 * cause), `fmt` the new message. Status, code and extra stay. No-op on an
 * empty error. */
void lh_error_rephrase(struct lh_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Attach an extra field to the error's JSON; steals `value`. */
void lh_error_set(struct lh_error *err, const char *field, json_t *value);

/* The response body {"error","code",...extra}; a new reference. */
json_t *lh_error_json(const struct lh_error *err);

/* Release `extra` and reset to "no error". Safe on a zeroed struct. */
void lh_error_clear(struct lh_error *err);

#endif
