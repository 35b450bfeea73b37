/* error.h — the one error type carried from where a failure is found to the
 * HTTP boundary.
 *
 * A function that can fail takes `struct lh_error *err` and, on failure, fills
 * it once with lh_fail() and returns -1 (or NULL). Only the HTTP layer turns it
 * into a JSON response {"error": msg, "code": code, ...extra} and a log line.
 * 5xx messages say what failed in plain words; internals go to the log.
 */
#ifndef LH_ERROR_H
#define LH_ERROR_H
#include "common/json.h"

struct lh_error {
	int status;      /* HTTP status, 0 = no error */
	char code[32];   /* snake_case machine code, e.g. "too_large" */
	char msg[512];   /* one human sentence, no trailing newline */
	json_t *extra;   /* owned: extra response fields (line, column, diff), or NULL */
};

/* Fill `err` (if it is still empty) and return -1. A second failure on an
 * already-filled error keeps the first, which is the root cause. */
int lh_fail(struct lh_error *err, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Attach an extra field to the error's JSON; steals `value`. */
void lh_error_set(struct lh_error *err, const char *field, json_t *value);

/* The response body {"error","code",...extra}; a new reference. */
json_t *lh_error_json(const struct lh_error *err);

/* Release `extra` and reset to "no error". Safe on a zeroed struct. */
void lh_error_clear(struct lh_error *err);

#endif
