/* search_sql.c — search(...) in SQL, queryd's half (ADR 0152; docs/search.md
 * "Search in SQL"): find a statement's search(...) calls and run them
 * before the statement goes to a worker.
 *
 * DESIGN NOTES
 *  1. queryd's main process has no DuckDB (ADR 0114), so the calls are
 *     found on the text with sql_guard.c's tokenizer (strings, quoted
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

#include "common/buf.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the scan (note 1) ---------------------------------------------------- */

static int tok_is(const char *s, const struct sql_tok *t, int kind, const char *text)
{
	return t->kind == kind && strlen(text) == t->len &&
	       !strncasecmp(s + t->start, text, t->len);
}

/* A plain '...' literal's value (quotes doubled inside), or NULL. */
static char *plain_string(const char *s, const struct sql_tok *t)
{
	if (t->kind != SQL_TOK_STRING || t->len < 2 || s[t->start] != '\'')
		return NULL;
	char *v = xmalloc(t->len);
	size_t k = 0;
	for (size_t i = t->start + 1; i < t->start + t->len - 1; i++) {
		v[k++] = s[i];
		if (s[i] == '\'')
			i++;
	}
	v[k] = '\0';
	return v;
}

/* An integer literal, with an optional '-' token before it. */
static int integer_value(const char *s, size_t n, size_t *pos, struct sql_tok *t, int64_t *out)
{
	int neg = 0;
	if (tok_is(s, t, SQL_TOK_PUNCT, "-")) {
		neg = 1;
		sql_token_next(s, n, pos, t);
	}
	if (t->kind != SQL_TOK_PUNCT || !isdigit((unsigned char)s[t->start]) || t->len > 18)
		return -1;
	int64_t v = 0;
	for (size_t i = t->start; i < t->start + t->len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

void search_sql_call_free(struct search_sql_call *c)
{
	free(c->dataset);
	free(c->query);
	free(c->mode);
	free(c->filter);
	memset(c, 0, sizeof *c);
}

/* The arguments after "search(": 0 and *c when they are all readable
 * constants and the call closes, else -1. *pos ends after what was read. */
static int read_call(const char *s, size_t n, size_t *pos, struct search_sql_call *c)
{
	struct sql_tok t;
	int positional = 0;
	for (;;) {
		sql_token_next(s, n, pos, &t);
		if (t.kind == SQL_TOK_WORD) {
			/* name := value, or name = value */
			char name[8];
			if (t.len >= sizeof name)
				return -1;
			for (size_t i = 0; i < t.len; i++)
				name[i] = (char)tolower((unsigned char)s[t.start + i]);
			name[t.len] = '\0';
			sql_token_next(s, n, pos, &t);
			if (tok_is(s, &t, SQL_TOK_PUNCT, ":")) {
				sql_token_next(s, n, pos, &t);
				if (!tok_is(s, &t, SQL_TOK_PUNCT, "="))
					return -1;
			} else if (!tok_is(s, &t, SQL_TOK_PUNCT, "=")) {
				return -1;
			}
			sql_token_next(s, n, pos, &t);
			if (!strcmp(name, "k") && !c->has_k) {
				if (integer_value(s, n, pos, &t, &c->k))
					return -1;
				c->has_k = 1;
			} else if (!strcmp(name, "mode") && !c->mode) {
				if (!(c->mode = plain_string(s, &t)))
					return -1;
			} else if (!strcmp(name, "filter") && !c->filter) {
				if (!(c->filter = plain_string(s, &t)))
					return -1;
			} else {
				return -1;
			}
		} else {
			/* positional: the dataset, then the query, before any named one */
			char *v = plain_string(s, &t);
			if (!v || positional == 2 || c->has_k || c->mode || c->filter) {
				free(v);
				return -1;
			}
			if (positional++ == 0)
				c->dataset = v;
			else
				c->query = v;
		}
		sql_token_next(s, n, pos, &t);
		if (tok_is(s, &t, SQL_TOK_PUNCT, ")"))
			return positional == 2 ? 0 : -1;
		if (!tok_is(s, &t, SQL_TOK_PUNCT, ","))
			return -1;
	}
}

size_t search_sql_scan(const char *sql, size_t n, struct search_sql_call *out, size_t max)
{
	size_t pos = 0, count = 0;
	struct sql_tok t, prev = { SQL_TOK_END, 0, 0 };
	while (count < max) {
		sql_token_next(sql, n, &pos, &t);
		if (t.kind == SQL_TOK_END || t.kind == SQL_TOK_ERROR)
			break;
		/* not a qualified name (x.search) nor an alias's column list
		 * (AS search(a, b)) */
		int candidate = tok_is(sql, &t, SQL_TOK_WORD, "search") &&
				!tok_is(sql, &prev, SQL_TOK_PUNCT, ".") &&
				!tok_is(sql, &prev, SQL_TOK_WORD, "as");
		prev = t;
		if (!candidate)
			continue;
		size_t after = pos;
		struct sql_tok open;
		sql_token_next(sql, n, &after, &open);
		if (!tok_is(sql, &open, SQL_TOK_PUNCT, "("))
			continue;
		struct search_sql_call c = { 0 };
		size_t end = after;
		if (read_call(sql, n, &end, &c) == 0) {
			out[count++] = c;
			pos = end;
			prev.kind = SQL_TOK_PUNCT;   /* the call's ')' */
			prev.start = end - 1;
			prev.len = 1;
		} else {
			search_sql_call_free(&c);   /* scan on from after "search" */
		}
	}
	return count;
}

static void key_field(struct lh_buf *b, const char *v)
{
	char len[24];
	if (!v) {
		lh_buf_append(b, "-;", 2);
		return;
	}
	snprintf(len, sizeof len, "%zu:", strlen(v));
	lh_buf_append(b, len, strlen(len));
	lh_buf_append(b, v, strlen(v));
	lh_buf_append(b, ";", 1);
}

char *search_sql_key(const char *dataset, const char *query, const int64_t *k, const char *mode,
		     const char *filter)
{
	struct lh_buf b;
	char kb[24];
	lh_buf_init(&b, 2 * (size_t)LH_SQL_MAX_BYTES + 256);   /* more than any statement holds */
	key_field(&b, dataset);
	key_field(&b, query);
	if (k)
		snprintf(kb, sizeof kb, "%" PRId64, *k);
	key_field(&b, k ? kb : NULL);
	key_field(&b, mode);
	key_field(&b, filter);
	char *out = lh_buf_take(&b);
	return out ? out : xstrdup("");
}

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
		    int client_fd, double deadline_ms, const char *rid, json_t **out,
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
	if (!body || search_run(qd, body, client_fd, rid, &answer, err))
		goto out;
	const char *name = json_string_value(json_object_get(answer, "dataset"));
	json_int_t version = json_integer_value(json_object_get(answer, "version"));
	const json_t *results = json_object_get(answer, "results");
	if (!name || version < 1 || !json_is_array(results)) {
		lh_fail(err, 500, "internal", "search answered without its dataset and version");
		goto out;
	}
	r = qrun_create(qd, client_fd, deadline_ms);
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
		       double deadline_ms, const char *rid, json_t **out, struct lh_error *err)
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
		int crc = run_call(qd, c, key, client_fd, deadline_ms, rid, &one, err);
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
