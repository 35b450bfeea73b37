/* test_queryd_guard.c — sql_guard.c: the read-only statement classifier and
 * the dataset reference scanner. Pure functions, no server. */
#include "test.h"

#include "common/error.h"
#include "queryd/queryd_int.h"

static int guard(const char *sql, const char **code)
{
	struct lh_error err = { 0 };
	size_t body = 0;
	int rc = sql_guard_check(sql, strlen(sql), &body, &err);
	static char saved[32];
	snprintf(saved, sizeof saved, "%s", err.code);
	*code = saved;
	lh_error_clear(&err);
	return rc;
}

TEST(queryd_guard_accepts_queries)
{
	static const char *const ok[] = {
		"SELECT 1",
		"select 1;",
		"  SELECT 1 ; ;  -- trailing comment",
		"WITH x AS (SELECT 1 AS a) SELECT a FROM x",
		"VALUES (1, 'a'), (2, 'b')",
		"FROM candidates",
		"DESCRIBE candidates",
		"SUMMARIZE candidates",
		"SHOW TABLES",
		"EXPLAIN SELECT 1",
		"EXPLAIN ANALYZE SELECT 1",
		"(SELECT 1) UNION ALL (SELECT 2)",
		"/* lead */ SELECT ';' AS semi, 'it''s', \"we;ird\" FROM t",
		"SELECT $$ ; DROP TABLE x; $$",
		"SELECT $tag$ ) ; $tag$",
		"SELECT E'a\\'; DROP' AS s",
		"/* nested /* comment */ ; */ SELECT 1",
		"SELECT 1 -- ; DELETE",
	};
	const char *code;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		if (guard(ok[i], &code) != 0)
			fprintf(stderr, "  refused: %s (%s)\n", ok[i], code);
		CHECK_EQ_INT(guard(ok[i], &code), 0);
	}
}

TEST(queryd_guard_refuses_every_forbidden_kind)
{
	static const char *const bad[] = {
		"COPY t TO '/tmp/x.csv'", "ATTACH '/tmp/x.db'", "DETACH x", "INSTALL httpfs",
		"LOAD httpfs", "SET threads = 1", "RESET threads", "PRAGMA database_list",
		"CREATE TABLE t (a INT)", "INSERT INTO t VALUES (1)", "UPDATE t SET a = 1",
		"DELETE FROM t", "DROP TABLE t", "ALTER TABLE t ADD COLUMN b INT",
		"EXPORT DATABASE '/tmp/x'", "IMPORT DATABASE '/tmp/x'", "CALL pragma_version()",
		"CHECKPOINT", "USE memory", "VACUUM", "BEGIN", "PREPARE p AS SELECT 1",
		"EXECUTE p", "SUMMARIZE", "EXPLAIN ANALYZE COPY t TO '/tmp/x'", "EXPLAIN DELETE FROM t",
		"EXPLAIN (FORMAT json) COPY t TO 'x'", "  copy t to 'x'", "'a string'",
	};
	const char *code;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (i == 23)   /* SUMMARIZE alone is syntactically a query; DuckDB decides */
			continue;
		if (guard(bad[i], &code) != -1)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_EQ_INT(guard(bad[i], &code), -1);
		CHECK_EQ_STR(code, "forbidden_statement");
	}
	struct lh_error err = { 0 };
	CHECK_EQ_INT(sql_guard_check("DROP TABLE t", 12, NULL, &err), -1);
	CHECK(strstr(err.msg, "DROP statements are not allowed") != NULL);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
}

TEST(queryd_guard_refuses_multiple_and_malformed)
{
	const char *code;
	CHECK_EQ_INT(guard("SELECT 1; SELECT 2", &code), -1);
	CHECK_EQ_STR(code, "forbidden_statement");
	CHECK_EQ_INT(guard("SELECT 1; DROP TABLE t", &code), -1);
	CHECK_EQ_INT(guard("SELECT 1;/* c */ COPY t TO 'x'", &code), -1);
	CHECK_EQ_STR(code, "forbidden_statement");
	static const char *const malformed[] = {
		"", "   ", "-- only a comment", ";", "SELECT 'open", "SELECT \"open",
		"SELECT 1 /* open", "SELECT $$ open", "SELECT (1", "SELECT 1)",
		"SELECT 1) TO 'x' (FORMAT parquet); SELECT (1", "SELECT E'\\'",
		"EXPLAIN", "EXPLAIN ANALYZE",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		if (guard(malformed[i], &code) != -1)
			fprintf(stderr, "  accepted: %s\n", malformed[i]);
		CHECK_EQ_INT(guard(malformed[i], &code), -1);
	}
	CHECK_EQ_INT(guard("SELECT (1", &code), -1);
	CHECK_EQ_STR(code, "bad_query");
}

TEST(queryd_guard_body_len_drops_trailing_semicolons)
{
	struct lh_error err = { 0 };
	const char *sql = "SELECT 1 -- c\n ;  ; /* x */ ";
	size_t body = 0;
	CHECK_EQ_INT(sql_guard_check(sql, strlen(sql), &body, &err), 0);
	CHECK_EQ_INT(body, 8);
	/* a NUL inside the buffer is just a byte; length-bounded scanning */
	const char with_nul[] = "SELECT 1\0; DROP TABLE t";
	CHECK_EQ_INT(sql_guard_check(with_nul, sizeof with_nul - 1, &body, &err), -1);
	lh_error_clear(&err);
}

TEST(queryd_refs_scan)
{
	struct sql_ref r[8];
	const char *sql = "SELECT c.id, \"jobs@2\".x FROM Candidates c JOIN \"jobs@2\" USING (id) "
			  "WHERE name = 'placements' -- timesheets\n AND \"a\"\"b\" IS NULL "
			  "AND \"candidates\" IS NOT NULL AND \"x@0\" AND \"y@01\"";
	size_t n = sql_refs_scan(sql, strlen(sql), r, 8);
	int saw_jobs2 = 0, saw_cand = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK(strcmp(r[i].name, "placements") != 0);   /* a string literal */
		CHECK(strcmp(r[i].name, "timesheets") != 0);   /* a comment */
		CHECK(strcmp(r[i].name, "a") != 0);            /* "a""b" is not a */
		if (!strcmp(r[i].name, "jobs") && r[i].version == 2)
			saw_jobs2++;
		if (!strcasecmp(r[i].name, "candidates"))
			saw_cand++;
		CHECK(r[i].version != 0 || strchr(r[i].name, '@') == NULL);
	}
	CHECK_EQ_INT(saw_jobs2, 1);
	CHECK_EQ_INT(saw_cand, 1);   /* Candidates and "candidates": one ref */
	CHECK_EQ_INT(sql_refs_scan(sql, strlen(sql), r, 2), 2);   /* capped */
}

TEST(queryd_parse_versioned)
{
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t v = 0;
	CHECK_EQ_INT(sql_parse_versioned("cand@12", 7, name, &v), 1);
	CHECK_EQ_STR(name, "cand");
	CHECK_EQ_INT(v, 12);
	CHECK_EQ_INT(sql_parse_versioned("cand", 4, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("cand@", 5, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("cand@0", 6, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("cand@01", 7, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("cand@1x", 7, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("9cand@1", 7, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("@1", 2, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("a@1234567890123456789", 21, name, &v), 0);
	CHECK_EQ_INT(sql_parse_versioned("a@123456789012345678", 20, name, &v), 1);
	CHECK_EQ_INT(v, 123456789012345678LL);
}

TEST(queryd_guard_unknown_first_word_is_a_syntax_error)
{
	/* not a statement DuckDB knows: queryd asks DuckDB's parser for its
	 * message (issue 12: "SELEC statements are not allowed" misled) */
	const char *code;
	CHECK_EQ_INT(guard("SELEC 1", &code), -1);
	CHECK_EQ_STR(code, "syntax_error");
	CHECK_EQ_INT(guard("hello world", &code), -1);
	CHECK_EQ_STR(code, "syntax_error");
	/* statements DuckDB knows stay refused as such */
	CHECK_EQ_INT(guard("drop table t", &code), -1);
	CHECK_EQ_STR(code, "forbidden_statement");
	CHECK_EQ_INT(guard("UNPIVOT t ON a", &code), -1);
	CHECK_EQ_STR(code, "forbidden_statement");
}

TEST(queryd_refs_scan_bad_versions)
{
	struct sql_ref r[8];
	const char *sql = "SELECT * FROM \"ts@0\", \"ts2@007\", \"ts3@12\"";
	size_t n = sql_refs_scan(sql, strlen(sql), r, 8);
	int bad = 0, good = 0;
	for (size_t i = 0; i < n; i++) {
		if ((!strcmp(r[i].name, "ts") || !strcmp(r[i].name, "ts2")) && r[i].version == -1)
			bad++;
		if (!strcmp(r[i].name, "ts3") && r[i].version == 12)
			good++;
	}
	CHECK_EQ_INT(bad, 2);
	CHECK_EQ_INT(good, 1);
}

TEST(queryd_find_unquoted_version)
{
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t v = 0;
	const char *yes = "SELECT * FROM timesheets@12 WHERE x = 1";
	CHECK_EQ_INT(sql_find_unquoted_version(yes, strlen(yes), name, &v), 1);
	CHECK_EQ_STR(name, "timesheets");
	CHECK_EQ_INT(v, 12);
	static const char *const no[] = {
		"SELECT * FROM \"timesheets@12\"",   /* quoted: fine */
		"SELECT 'timesheets@12'",            /* a string */
		"SELECT a @ 1 FROM t",               /* the operator, spaced */
		"SELECT * FROM t@0",                 /* no version */
		"SELECT * FROM t -- t@1",            /* a comment */
		"",
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		CHECK_EQ_INT(sql_find_unquoted_version(no[i], strlen(no[i]), name, &v), 0);
}
