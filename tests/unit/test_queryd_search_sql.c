/* test_queryd_search_sql.c — search and embeddings inside SQL (ADR 0152):
 * search_sql.c's scan of a statement's search(...) calls and their keys
 * (pure), and engine.c's embed() and search(...) against a real sandboxed
 * DuckDB: embed() equals the builtin embedder bit for bit, NULL for NULL;
 * search(...) returns the result queryd loaded, typed, with _score, in
 * order; no result for the arguments, a search per row and computed
 * arguments are refused in words; a worker's session never reuses a
 * statement prepared for another query's results. */
#include "test.h"
#include "engine_fixture.h"

#include "common/error.h"
#include "common/xmalloc.h"
#include "queryd/queryd_int.h"
#include "queryd/search_sql.h"
#include "search/embed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the scan ---------------------------------------------------------------- */

static size_t scan(const char *sql, struct search_sql_call *out, size_t max)
{
	return search_sql_scan(sql, strlen(sql), out, max);
}

static void free_calls(struct search_sql_call *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		search_sql_call_free(&c[i]);
}

TEST(queryd_search_sql_scan_reads_constant_calls)
{
	struct search_sql_call c[SEARCH_SQL_MAX_CALLS];
	size_t n = scan("SELECT s.full_name, p.client FROM search('candidates', 'welder') s "
			"JOIN placements p USING (candidate_id)", c, SEARCH_SQL_MAX_CALLS);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(c[0].dataset, "candidates");
	CHECK_EQ_STR(c[0].query, "welder");
	CHECK(!c[0].has_k && !c[0].mode && !c[0].filter);
	free_calls(c, n);

	n = scan("select * from SEARCH ( 'c@3' , 'O''Brien -- x' , K := -2, mode = 'text',\n"
		 "filter := 'state = ''WI''' ) /* search('no', 'no') */ -- search('x','y')\n",
		 c, SEARCH_SQL_MAX_CALLS);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(c[0].dataset, "c@3");
	CHECK_EQ_STR(c[0].query, "O'Brien -- x");
	CHECK(c[0].has_k);
	CHECK_EQ_INT(c[0].k, -2);
	CHECK_EQ_STR(c[0].mode, "text");
	CHECK_EQ_STR(c[0].filter, "state = 'WI'");
	free_calls(c, n);

	/* two calls, nested in a subquery and a CTE */
	n = scan("WITH a AS (SELECT * FROM search('x', 'one', k := 3)) SELECT * FROM a, "
		 "(SELECT * FROM search('y', 'two')) b", c, SEARCH_SQL_MAX_CALLS);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_STR(c[0].query, "one");
	CHECK_EQ_INT(c[0].k, 3);
	CHECK_EQ_STR(c[1].dataset, "y");
	free_calls(c, n);
	/* at most max */
	n = scan("SELECT 1 FROM search('a','b'), search('c','d'), search('e','f')", c, 2);
	CHECK_EQ_INT(n, 2);
	free_calls(c, n);
}

TEST(queryd_search_sql_scan_leaves_out_what_it_cannot_read)
{
	static const char *const sqls[] = {
		"SELECT 'search(''a'', ''b'')'",                        /* in a string */
		"SELECT \"search('a','b')\" FROM t",                    /* a quoted name */
		"SELECT * FROM t, search(t.name, 'x')",                 /* a column */
		"SELECT * FROM search('a', 'wel' || 'der')",            /* an expression */
		"SELECT * FROM search('a', 'b', k := 1 + 1)",
		"SELECT * FROM search('a', 'b', k := '5')",
		"SELECT * FROM search('a', 'b', mode := hybrid)",
		"SELECT * FROM search('a', 'b', other := 'x')",         /* unknown name */
		"SELECT * FROM search('a', 'b', k := 1, k := 2)",       /* twice */
		"SELECT * FROM search('a')",                            /* one positional */
		"SELECT * FROM search('a', 'b', 'c')",                  /* three */
		"SELECT * FROM search(k := 1, 'a', 'b')",               /* named first */
		"SELECT * FROM search('a', E'b')",                      /* not a plain literal */
		"SELECT * FROM search('a', $$b$$)",
		"SELECT * FROM main.search('a', 'b')",                  /* qualified */
		"SELECT * FROM t AS search(a, b)",                      /* an alias's columns */
		"SELECT * FROM search('a', 'b'",                        /* unterminated */
		"SELECT * FROM search",                                 /* a dataset named search */
		"SELECT * FROM search('a', 'b', k := 12345678901234567890)",
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
		struct search_sql_call c[2];
		size_t n = scan(sqls[i], c, 2);
		if (n)
			fprintf(stderr, "  read a call in: %s\n", sqls[i]);
		CHECK_EQ_INT(n, 0);
		free_calls(c, n);
	}
	/* a call it cannot read does not hide the next one */
	struct search_sql_call c[2];
	size_t n = scan("SELECT * FROM search('a', x), search('b', 'y')", c, 2);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_STR(c[0].dataset, "b");
	free_calls(c, n);
}

TEST(queryd_search_sql_key_tells_calls_apart)
{
	int64_t k10 = 10;
	char *a = search_sql_key("c", "q", NULL, NULL, NULL);
	char *b = search_sql_key("c", "q", &k10, NULL, NULL);
	char *c = search_sql_key("c", "q", NULL, "hybrid", NULL);
	char *d = search_sql_key("c;1:x", "q", NULL, NULL, NULL);
	char *e = search_sql_key("c", "1:x;q", NULL, NULL, NULL);
	char *f = search_sql_key("c", "q", NULL, NULL, "");
	char *a2 = search_sql_key("c", "q", NULL, NULL, NULL);
	CHECK_EQ_STR(a, a2);
	CHECK(strcmp(a, b) && strcmp(a, c) && strcmp(a, f) && strcmp(b, c) && strcmp(d, e));
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(f);
	free(a2);
}

/* ---- the engine's functions --------------------------------------------------- */

/* Run sql with the search results `searches` (JSON text, as queryd sends
 * them) loaded; the output as JSON or NULL with err. */
static json_t *run_with(struct fixture *f, const char *searches, const char *sql,
			struct lh_error *err)
{
	struct engine_query *q = engine_query_create(f->e, err);
	json_t *s = searches ? json_loads(searches, 0, NULL) : NULL, *out = NULL;
	char buf[65536];
	size_t len = 0;
	size_t i;
	json_t *one;
	if (!q)
		goto done;
	json_array_foreach(s, i, one)
		if (engine_query_add_search(q, json_string_value(json_object_get(one, "key")),
					    json_object_get(one, "schema"), json_object_get(one, "rows"),
					    json_object_get(one, "scores"), err))
			goto done;
	if (engine_query_prepare(q, sql, err) || engine_query_start(q, ENGINE_JSON, -1, err))
		goto done;
	for (;;) {
		ssize_t n = engine_query_read(q, buf + len, sizeof buf - len - 1, 1.0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	out = json_loads(buf, 0, NULL);
done:
	engine_query_destroy(q);
	json_decref(s);
	return out;
}

/* One search result for search('people', 'forklift'[, k := 2]). */
static char *people_result(int with_k, const char *name)
{
	int64_t k = 2;
	char *key = search_sql_key("people", "forklift", with_k ? &k : NULL, NULL, NULL);
	char *s = xasprintf(
		"[{\"key\": \"%s\", \"schema\": [{\"name\": \"id\", \"type\": \"int64\"}, "
		"{\"name\": \"name\", \"type\": \"utf8\"}, {\"name\": \"rate\", \"type\": \"float64\"}, "
		"{\"name\": \"since\", \"type\": \"date32\"}, "
		"{\"name\": \"at\", \"type\": \"timestamp[us, tz=UTC]\"}, "
		"{\"name\": \"ok\", \"type\": \"bool\"}, {\"name\": \"odd name\", \"type\": \"utf8\"}], "
		"\"rows\": [{\"id\": 5, \"name\": \"%s\", \"rate\": 0.1, \"since\": \"2019-03-01\", "
		"\"at\": \"2024-01-02T03:04:05.5Z\", \"ok\": true, \"odd name\": \"x\"}, "
		"{\"id\": 9223372036854775807, \"name\": null, \"rate\": \"NaN\", \"since\": null, "
		"\"at\": null, \"ok\": false}], \"scores\": [0.75, 0.03125]}]",
		key, name);
	free(key);
	return s;
}

TEST(queryd_search_sql_engine_search_returns_the_loaded_result_typed)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	char *res = people_result(1, "Ann \\\"the\\\" O'Brien");
	json_t *o = run_with(&f, res, "SELECT * FROM search('people', 'forklift', k := 2) s", &err);
	CHECK(o != NULL);
	if (!o)
		fprintf(stderr, "  %s\n", err.msg);
	const json_t *cols = json_object_get(o, "columns");
	static const char *const names[] = { "id", "name", "rate", "since", "at", "ok", "odd name",
					      "_score" };
	static const char *const types[] = { "BIGINT", "VARCHAR", "DOUBLE", "DATE",
					      "TIMESTAMP WITH TIME ZONE",
					      "BOOLEAN", "VARCHAR", "DOUBLE" };
	CHECK_EQ_INT(json_array_size(cols), 8);
	for (size_t i = 0; i < 8 && i < json_array_size(cols); i++) {
		CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cols, i), "name")),
			     names[i]);
		CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cols, i), "type")),
			     types[i]);
	}
	char *rows = json_dumps(json_object_get(o, "rows"), JSON_COMPACT);
	CHECK_EQ_STR(rows, "[[5,\"Ann \\\"the\\\" O'Brien\",0.10000000000000001,\"2019-03-01\","
			   "\"2024-01-02T03:04:05.500000Z\",true,\"x\",0.75],"
			   "[9223372036854775807,null,\"NaN\",null,null,false,null,0.03125]]");
	free(rows);
	json_decref(o);
	/* the columns compute as their types, and join */
	o = run_with(&f, res, "SELECT s.id + 1, s.since + 1, a.x FROM search('people', 'forklift', "
		     "k := 2) s JOIN (SELECT 5 AS id, 'joined' AS x) a USING (id)", &err);
	CHECK(o != NULL);
	rows = json_dumps(json_object_get(o, "rows"), JSON_COMPACT);
	CHECK_EQ_STR(rows, "[[6,\"2019-03-02\",\"joined\"]]");
	free(rows);
	json_decref(o);
	free(res);
	fixture_close(&f);
}

TEST(queryd_search_sql_engine_score_column_never_collides)
{
	/* a dataset with its own "_score" (any case) keeps it; the search's
	 * score is then "_search_score" */
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	char *key = search_sql_key("d", "q", NULL, NULL, NULL);
	char *res = xasprintf("[{\"key\": \"%s\", \"schema\": [{\"name\": \"_SCORE\", \"type\": "
			      "\"int64\"}, {\"name\": \"_search_score\", \"type\": \"utf8\"}], "
			      "\"rows\": [{\"_SCORE\": 7, \"_search_score\": \"x\"}], "
			      "\"scores\": [0.5]}]", key);
	json_t *o = run_with(&f, res, "SELECT * FROM search('d', 'q')", &err);
	CHECK(o != NULL);
	char *cols = json_dumps(json_object_get(o, "columns"), JSON_COMPACT);
	CHECK_EQ_STR(cols, "[{\"name\":\"_SCORE\",\"type\":\"BIGINT\"},{\"name\":\"_search_score\","
			   "\"type\":\"VARCHAR\"},{\"name\":\"_search_score_2\",\"type\":\"DOUBLE\"}]");
	char *rows = json_dumps(json_object_get(o, "rows"), JSON_COMPACT);
	CHECK_EQ_STR(rows, "[[7,\"x\",0.5]]");
	free(cols);
	free(rows);
	json_decref(o);
	free(res);
	free(key);
	lh_error_clear(&err);
	fixture_close(&f);
}

TEST(queryd_search_sql_engine_refuses_calls_without_a_result)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	char *res = people_result(1, "Ann");
	static const char *const sqls[] = {
		"SELECT * FROM search('people', 'forklift')",            /* not this key: no k */
		"SELECT * FROM search('people', 'fork' || 'lift')",
		"SELECT * FROM search('people', 'forklift', k := 1 + 1, mode := 'text')",
		"SELECT * FROM (SELECT 'people' AS d) t, search(t.d, 'forklift', k := 2)",
		"SELECT * FROM search('people', 'forklift', k := NULL)",
	};
	for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
		struct lh_error err = { 0 };
		json_t *o = run_with(&f, res, sqls[i], &err);
		CHECK(o == NULL);
		CHECK_EQ_INT(err.status, 400);
		CHECK(strstr(err.msg, "search(...) takes constants only") != NULL);
		if (!strstr(err.msg, "search(...) takes constants only"))
			fprintf(stderr, "  %s: %s\n", sqls[i], err.msg);
		json_decref(o);
		lh_error_clear(&err);
	}
	/* no result loaded at all */
	struct lh_error err = { 0 };
	CHECK(run_with(&f, NULL, "SELECT * FROM search('people', 'forklift', k := 2)", &err) == NULL);
	CHECK(strstr(err.msg, "takes constants only") != NULL);
	lh_error_clear(&err);
	free(res);
	fixture_close(&f);
}

TEST(queryd_search_sql_session_never_reuses_another_querys_result)
{
	/* A worker keeps statements prepared by their text (engine.c note 8);
	 * the same search(...) text with new results must show the new ones. */
	struct fixture f;
	CHECK(fixture_open(&f, 1) == 0);
	struct lh_error err = { 0 };
	const char *sql = "SELECT name FROM search('people', 'forklift') LIMIT 1";
	char *one = people_result(0, "first"), *two = people_result(0, "second");
	json_t *a = run_with(&f, one, sql, &err);
	json_t *b = run_with(&f, two, sql, &err);
	CHECK(a && b);
	CHECK_EQ_STR(json_string_value(json_array_get(json_array_get(json_object_get(a, "rows"), 0), 0)),
		     "first");
	CHECK_EQ_STR(json_string_value(json_array_get(json_array_get(json_object_get(b, "rows"), 0), 0)),
		     "second");
	json_decref(a);
	json_decref(b);
	/* and after them, the text without results is refused, not answered
	 * from a kept statement */
	CHECK(run_with(&f, NULL, sql, &err) == NULL);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	free(one);
	free(two);
	fixture_close(&f);
}

TEST(queryd_search_sql_engine_embed_is_the_builtin_embedding)
{
	struct fixture f;
	CHECK(fixture_open(&f, 0) == 0);
	struct lh_error err = { 0 };
	struct embedder *em = embedder_open("builtin", NULL, &err);
	CHECK(em != NULL);
	if (!em) {
		fprintf(stderr, "  %s\n", err.msg);
		fixture_close(&f);
		return;
	}
	const char *texts[3] = { "forklift operator", "Registered Nurse, ICU", "zzzqqq" };
	size_t lens[3] = { strlen(texts[0]), strlen(texts[1]), strlen(texts[2]) };
	float want[300];
	CHECK_EQ_INT(embedder_embed(em, texts, lens, 3, want, &err), 0);
	json_t *o = run_with(&f, NULL, "SELECT t, embed(t), typeof(embed(t)) FROM (VALUES "
			     "(1, 'forklift operator'), (2, 'Registered Nurse, ICU'), (3, 'zzzqqq'), "
			     "(4, NULL)) v(i, t) ORDER BY i", &err);
	CHECK(o != NULL);
	const json_t *rows = json_object_get(o, "rows");
	CHECK_EQ_INT(json_array_size(rows), 4);
	for (size_t r = 0; r < 3 && r < json_array_size(rows); r++) {
		const json_t *v = json_array_get(json_array_get(rows, r), 1);
		CHECK_EQ_STR(json_string_value(json_array_get(json_array_get(rows, r), 2)), "FLOAT[100]");
		CHECK_EQ_INT(json_array_size(v), 100);
		int same = 1;
		for (size_t i = 0; i < 100 && i < json_array_size(v); i++)
			same &= (float)json_number_value(json_array_get(v, i)) == want[r * 100 + i];
		CHECK(same);
	}
	CHECK(json_is_null(json_array_get(json_array_get(rows, 3), 1)));
	json_decref(o);
	/* many rows (more than one chunk and one embedder batch) */
	o = run_with(&f, NULL, "SELECT count(*), count(DISTINCT embed('w' || (i % 7)::VARCHAR)), "
		     "min(array_cosine_similarity(embed('forklift ' || i::VARCHAR), "
		     "embed('forklift'))) > 0 FROM range(5000) t(i)", &err);
	CHECK(o != NULL);
	char *got = json_dumps(json_object_get(o, "rows"), JSON_COMPACT);
	CHECK_EQ_STR(got, "[[5000,7,true]]");
	free(got);
	json_decref(o);
	embedder_close(em);
	lh_error_clear(&err);
	fixture_close(&f);
}

TEST(queryd_search_sql_embed_without_word_vectors_is_an_error_in_words)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/tmp/lh-qe-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	char *spill = xasprintf("%s/spill", dir), *missing = xasprintf("%s/none.lhwv", dir);
	struct lh_error err = { 0 };
	struct engine_options o = { .sandbox_dir = dir, .temp_dir = spill, .memory_bytes = 256u << 20,
				    .threads = 1, .glove_path = missing };
	struct engine *e = engine_open(&o, &err);
	CHECK(e != NULL);   /* the file is opened on first use, not at open */
	struct engine_query *q = e ? engine_query_create(e, &err) : NULL;
	CHECK(q != NULL);
	if (q) {
		int rc = engine_query_prepare(q, "SELECT embed(x) FROM (VALUES ('a')) v(x)", &err);
		if (rc == 0)
			rc = engine_query_start(q, ENGINE_JSON, -1, &err);
		CHECK_EQ_INT(rc, -1);
		CHECK(strstr(err.msg, "embed()") != NULL);
	}
	engine_query_destroy(q);
	engine_close(e);
	lh_error_clear(&err);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(spill);
	free(missing);
}
