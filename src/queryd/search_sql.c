/* search_sql.c — search(...) in SQL, queryd's half (ADR 0152; docs/search.md
 * "Search in SQL"): find a statement's search(...) calls and run them
 * before the statement goes to a worker.
 *
 * DESIGN NOTES
 *  1. queryd's main process has no DuckDB (ADR 0114), so the calls are
 *     found on the text (search_sql_scan.c) with sql_guard.c's tokenizer (strings, quoted
 *     names, comments and dollar quotes skipped exactly as DuckDB's scanner
 *     does). The scan only has to find a superset of what the worker will
 *     bind: the worker's `search` table function (engine.c) looks the
 *     result up by the arguments DuckDB bound and refuses, in words, a
 *     call it has no result for (arguments written as expressions, a
 *     search per row). So the scan never decides what runs; at worst it
 *     runs a search the statement then does not use.
 *  2. Each call is run as POST /search runs it (search_run: the same
 *     checks, errors and ranking), with the statement's remaining time and
 *     its client's hang-up. No worker is held meanwhile: a search that needs
 *     workers (a filter, rows not yet indexed) takes them from the pool
 *     like any query and gives them back before the statement takes its
 *     own, so search(...) cannot deadlock the pool however many run at once.
 *  3. The worker gets each result as JSON (the rows as the index's row
 *     store holds them: DuckDB's own rendering, engine.c note 5) with the
 *     version's schema, and types it back with DuckDB's casts.
 *  4. Identical calls in one statement run once (same key).
 */
#include "queryd/search_sql.h"
#include "queryd/queryd_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/manifest.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <string.h>

/* ---- running the calls (notes 2-4) --------------------------------------- */

/* "search('candidates', 'forklift ...'): " before err's message. */
static void name_the_call(const struct search_sql_call *c, struct lh_error *err)
{
	char msg[sizeof err->msg];
	snprintf(msg, sizeof msg, "search('%.64s', '%.40s%s'): %.380s", c->dataset, c->query,
		 strlen(c->query) > 40 ? "..." : "", err->msg);
	snprintf(err->msg, sizeof err->msg, "%s", msg);
}

/* One call: its answer from search_run, then the version's schema. */
static int run_call(struct queryd *qd, const struct search_sql_call *c, const char *key,
		    int client_fd, double deadline_ms, int mask, const char *rid, json_t **out,
		    struct lh_error *err)
{
	json_t *body = json_pack("{s:s, s:s}", "dataset", c->dataset, "query", c->query);
	json_t *answer = NULL;
	struct manifest *m = NULL;
	struct qrun *r = NULL;
	int rc = -1;
	double left = deadline_ms - clock_mono_ms();
	if (left < 1) {
		lh_fail(err, 504, "query_timeout", "the query ran past its time limit");
		goto out;
	}
	if (c->has_k)
		json_object_set_new(body, "k", json_integer((json_int_t)c->k));
	if (c->mode)
		json_object_set_new(body, "mode", json_string(c->mode));
	if (c->filter)
		json_object_set_new(body, "where", json_string(c->filter));
	json_object_set_new(body, "timeout_ms", json_integer((json_int_t)left));
	if (!body || search_run(qd, body, client_fd, mask, rid, &answer, NULL, err))
		goto out;
	const char *name = json_string_value(json_object_get(answer, "dataset"));
	json_int_t version = json_integer_value(json_object_get(answer, "version"));
	const json_t *results = json_object_get(answer, "results");
	if (!name || version < 1 || !json_is_array(results)) {
		lh_fail(err, 500, "internal", "search answered without its dataset and version");
		goto out;
	}
	r = qrun_create(qd, client_fd, deadline_ms);
	qrun_set_mask(r, mask);
	if (qrun_manifest(r, name, (int64_t)version, rid, &m, err))
		goto out;
	json_t *rows = json_array(), *scores = json_array();
	size_t i;
	const json_t *h;
	json_array_foreach(results, i, h) {
		json_t *row = json_object_get(h, "row");
		json_array_append(rows, row ? row : json_null());
		json_array_append(scores, json_object_get(h, "score"));
	}
	*out = json_pack("{s:s, s:o, s:o, s:o}", "key", key, "schema", manifest_schema_json(m),
			 "rows", rows, "scores", scores);
	rc = 0;
out:
	manifest_unref(m);
	qrun_free(r);
	json_decref(answer);
	json_decref(body);
	return rc;
}

int search_sql_prepare(struct queryd *qd, const char *sql, size_t n, int client_fd,
		       double deadline_ms, int mask, const char *rid, json_t **out,
		       struct lh_error *err)
{
	struct search_sql_call calls[SEARCH_SQL_MAX_CALLS];
	size_t nc = search_sql_scan(sql, n, calls, SEARCH_SQL_MAX_CALLS);
	json_t *list = NULL, *seen = json_object();
	int rc = -1;
	*out = NULL;
	for (size_t i = 0; i < nc; i++) {
		const struct search_sql_call *c = &calls[i];
		char *key = search_sql_key(c->dataset, c->query, c->has_k ? &c->k : NULL, c->mode,
					   c->filter);
		json_t *one = NULL;
		if (json_object_get(seen, key)) {
			free(key);
			continue;   /* note 4 */
		}
		json_object_set_new(seen, key, json_true());
		int crc = run_call(qd, c, key, client_fd, deadline_ms, mask, rid, &one, err);
		free(key);
		if (crc) {
			name_the_call(c, err);
			goto out;
		}
		if (!list)
			list = json_array();
		json_array_append_new(list, one);
	}
	*out = list;
	list = NULL;
	rc = 0;
out:
	for (size_t i = 0; i < nc; i++)
		search_sql_call_free(&calls[i]);
	json_decref(list);
	json_decref(seen);
	return rc;
}
