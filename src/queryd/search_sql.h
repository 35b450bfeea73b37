/* search_sql.h — search(...) in SQL (SPEC 11 "In SQL"; ADR 0152;
 * docs/search.md "Search in SQL"): queryd finds a statement's search(...)
 * calls (search_sql_scan.c, pure), runs each as POST /search would
 * (search_sql.c over search_run, search_http.c) before the statement goes to
 * a worker, and hands the worker the results, which the worker's `search`
 * table function (engine.c) finds again by their arguments.
 */
#ifndef LH_QUERYD_SEARCH_SQL_H
#define LH_QUERYD_SEARCH_SQL_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct queryd;

/* search(...) calls one statement may make. */
#define SEARCH_SQL_MAX_CALLS 8

/* One call as written: search('<dataset>', '<query>'[, k := <integer>]
 * [, mode := '<mode>'][, filter := '<SQL>']). NULL / has_k 0 = not given. */
struct search_sql_call {
	char *dataset, *query, *mode, *filter;
	int64_t k;
	int has_k;
};

/* Every search(...) call of `sql` whose arguments queryd can read: two
 * string literals ('...', quotes doubled) then named arguments k (an
 * integer), mode and filter (string literals), `:=` or `=`. A call written
 * otherwise is left out; the worker's table function then refuses it in
 * words (no result for its arguments). At most `max` into out (the caller
 * frees each with search_sql_call_free); returns how many. Pure. */
size_t search_sql_scan(const char *sql, size_t n, struct search_sql_call *out, size_t max);
void search_sql_call_free(struct search_sql_call *c);

/* The canonical key of a call's arguments (each field length-prefixed, "-"
 * for one not given), built the same way by queryd from the text and by
 * the worker from the values DuckDB bound. xmalloc'd. Pure. */
char *search_sql_key(const char *dataset, const char *query, const int64_t *k, const char *mode,
		     const char *filter);

/* Run every search(...) call of `sql` as POST /search would (within the
 * CLOCK_MONOTONIC deadline, stopped when client_fd hangs up) and give
 * *out = [{"key", "schema": the version's [{"name","type"}], "rows":
 * [{column: value}], "scores": [number]}] for the worker, or NULL when the
 * statement makes no call. -1 with err: POST /search's own status, code
 * and words, the message prefixed with the call ("search('candidates',
 * ...): "). */
int search_sql_prepare(struct queryd *qd, const char *sql, size_t n, int client_fd,
		       double deadline_ms, int mask, const char *rid, json_t **out,
		       struct lh_error *err);

/* search_http.c: POST /search's work without HTTP. `body` is a request body
 * as POST /search takes it; *out is its answer (the caller decrefs). `mask`:
 * the caller's role does not see personal columns (ADR 0211). *catalog_age_ms
 * (OUT, may be NULL): -1, or the age of the known catalog state it was
 * answered from during an outage (ADR 0205). 0, or -1 with err in the
 * route's words. */
int search_run(struct queryd *qd, const json_t *body, int client_fd, int mask, const char *rid,
	       json_t **out, double *catalog_age_ms, struct lh_error *err);

#endif
