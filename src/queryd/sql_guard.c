/* sql_guard.c — queryd's first line of the read-only sandbox: a pure SQL
 * tokenizer, the statement classifier and the dataset reference scanner.
 *
 * DESIGN NOTES
 *  1. The tokenizer (next_token) knows exactly the lexical forms of DuckDB's
 *     (PostgreSQL-derived) scanner that can hide a ';', a '(' or a keyword:
 *     '...' strings with '' escapes, E'...' strings with backslash escapes,
 *     "..." identifiers with "" escapes, $tag$...$tag$ dollar quotes, --
 *     comments and nested block comments. Anything unterminated is refused,
 *     so the guard and DuckDB never disagree on where a statement ends.
 *  2. sql_guard_check accepts one statement whose first keyword is in
 *     `allowed` (or a parenthesised query), followed only by semicolons,
 *     spaces and comments. EXPLAIN is checked through: EXPLAIN [ANALYZE]
 *     must be followed by an allowed keyword, so EXPLAIN ANALYZE COPY ...
 *     cannot run a COPY. Parentheses never go below zero and end at zero, so
 *     the statement text can be embedded as a subquery by the engine.
 *  3. This is belt; braces are in engine.c (DuckDB's own parser must agree
 *     it is one SELECT/EXPLAIN statement) and the DuckDB sandbox (no file
 *     access outside the cache, configuration locked).
 *  4. sql_refs_scan over-approximates the datasets a query names: every
 *     identifier token; the caller intersects it with the catalog.
 */
#include "queryd/queryd_int.h"

#include "common/error.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

enum tok_kind { TOK_END, TOK_WORD, TOK_QIDENT, TOK_STRING, TOK_PUNCT, TOK_ERROR };

struct token {
	enum tok_kind kind;
	size_t start, len;     /* whole token text */
	const char *error;     /* TOK_ERROR: why */
};

static int is_ident_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Skip a quoted run starting after the opening `q`; doubled `q` escapes it,
 * a backslash escapes the next byte when `backslash`. Returns the index just
 * past the closing quote, or 0 if unterminated. */
static size_t skip_quoted(const char *s, size_t n, size_t i, char q, int backslash)
{
	while (i < n) {
		if (backslash && s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == q) {
			if (i + 1 < n && s[i + 1] == q) {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	return 0;
}

/* Skip spaces and comments from *pos. Returns 0, or -1 on an unterminated
 * block comment. */
static int skip_space(const char *s, size_t n, size_t *pos)
{
	size_t i = *pos;
	for (;;) {
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i + 1 < n && s[i] == '-' && s[i + 1] == '-') {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
			int depth = 1;
			i += 2;
			while (i < n && depth > 0) {
				if (i + 1 < n && s[i] == '/' && s[i + 1] == '*') {
					depth++;
					i += 2;
				} else if (i + 1 < n && s[i] == '*' && s[i + 1] == '/') {
					depth--;
					i += 2;
				} else {
					i++;
				}
			}
			if (depth > 0)
				return -1;
			continue;
		}
		break;
	}
	*pos = i;
	return 0;
}

/* A dollar-quote opener at s[i] ("$$" or "$tag$"): returns its length, or 0
 * if s[i] starts something else (a $1 parameter, an identifier char). */
static size_t dollar_tag_len(const char *s, size_t n, size_t i)
{
	if (s[i] != '$')
		return 0;
	size_t j = i + 1;
	if (j < n && (isalpha((unsigned char)s[j]) || s[j] == '_')) {
		while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_'))
			j++;
	}
	if (j < n && s[j] == '$')
		return j - i + 1;
	return 0;
}

static void next_token(const char *s, size_t n, size_t *pos, struct token *t)
{
	memset(t, 0, sizeof *t);
	if (skip_space(s, n, pos) != 0) {
		t->kind = TOK_ERROR;
		t->error = "unterminated /* comment";
		return;
	}
	size_t i = *pos;
	t->start = i;
	if (i >= n) {
		t->kind = TOK_END;
		return;
	}
	unsigned char c = (unsigned char)s[i];
	size_t end = 0;
	if ((c == 'E' || c == 'e') && i + 1 < n && s[i + 1] == '\'') {
		end = skip_quoted(s, n, i + 2, '\'', 1);
		t->kind = TOK_STRING;
		t->error = "unterminated string literal";
	} else if (c == '\'') {
		end = skip_quoted(s, n, i + 1, '\'', 0);
		t->kind = TOK_STRING;
		t->error = "unterminated string literal";
	} else if (c == '"') {
		end = skip_quoted(s, n, i + 1, '"', 0);
		t->kind = TOK_QIDENT;
		t->error = "unterminated quoted identifier";
	} else if (c == '$' && dollar_tag_len(s, n, i)) {
		size_t tl = dollar_tag_len(s, n, i);
		t->kind = TOK_STRING;
		t->error = "unterminated dollar-quoted string";
		for (size_t j = i + tl; j + tl <= n; j++) {
			if (s[j] == '$' && memcmp(s + j, s + i, tl) == 0) {
				end = j + tl;
				break;
			}
		}
	} else if (is_ident_start(c)) {
		end = i + 1;
		while (end < n && is_ident_char((unsigned char)s[end]))
			end++;
		t->kind = TOK_WORD;
	} else if (isdigit(c)) {
		end = i + 1;
		while (end < n && (isalnum((unsigned char)s[end]) || s[end] == '.' || s[end] == '_'))
			end++;
		t->kind = TOK_PUNCT;   /* numbers matter to nobody here */
	} else {
		end = i + 1;
		t->kind = TOK_PUNCT;
	}
	if (end == 0) {
		t->kind = TOK_ERROR;
		return;
	}
	t->error = NULL;
	t->len = end - i;
	*pos = end;
}

static int word_is(const char *s, const struct token *t, const char *kw)
{
	return t->kind == TOK_WORD && strlen(kw) == t->len && strncasecmp(s + t->start, kw, t->len) == 0;
}

static const char *const allowed[] = {
	"SELECT", "WITH", "VALUES", "FROM", "DESCRIBE", "SUMMARIZE", "SHOW", "EXPLAIN", "TABLE",
};

static int is_allowed_kw(const char *s, const struct token *t)
{
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (word_is(s, t, allowed[i]))
			return 1;
	return 0;
}

/* Words that start a statement DuckDB knows but queryd refuses. Any other
 * first word is not a statement at all: 400 "syntax_error", for which
 * queryd asks DuckDB's parser for its own message (queryd.c note 9). */
static const char *const statements[] = {
	"ABORT", "ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMENT",
	"COMMIT", "COPY", "CREATE", "DEALLOCATE", "DELETE", "DETACH", "DROP", "END", "EXECUTE",
	"EXPORT", "FORCE", "GRANT", "IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE", "PIVOT",
	"PRAGMA", "PREPARE", "RESET", "REVOKE", "ROLLBACK", "SET", "START", "TRANSACTION",
	"TRUNCATE", "UNPIVOT", "UPDATE", "USE", "VACUUM",
};

static int refuse_kw(const char *s, const struct token *t, struct lh_error *err)
{
	char kw[24];
	size_t k = t->len < sizeof kw - 1 ? t->len : sizeof kw - 1;
	for (size_t i = 0; i < k; i++)
		kw[i] = (char)toupper((unsigned char)s[t->start + i]);
	kw[k] = '\0';
	size_t i;
	for (i = 0; i < sizeof statements / sizeof statements[0]; i++)
		if (word_is(s, t, statements[i]))
			break;
	if (i == sizeof statements / sizeof statements[0])
		return lh_fail(err, 400, "syntax_error",
			       "\"%s\" does not start a query; queries start with SELECT, WITH, "
			       "VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW or EXPLAIN", kw);
	return lh_fail(err, 400, "forbidden_statement",
		       "%s statements are not allowed: queryd is read-only and accepts only "
		       "SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW and EXPLAIN queries", kw);
}

int sql_guard_check(const char *sql, size_t n, size_t *body_len, struct lh_error *err)
{
	size_t pos = 0, body_end = 0;
	int depth = 0, ntok = 0, ended = 0, explain_pending = 0;
	struct token t;
	for (;;) {
		next_token(sql, n, &pos, &t);
		if (t.kind == TOK_ERROR)
			return lh_fail(err, 400, "bad_query", "%s", t.error);
		if (t.kind == TOK_END)
			break;
		if (t.kind == TOK_PUNCT && sql[t.start] == ';') {
			if (depth != 0)
				return lh_fail(err, 400, "bad_query", "unbalanced parentheses before ';'");
			ended = ntok > 0;
			continue;
		}
		if (ended)
			return lh_fail(err, 400, "forbidden_statement",
				       "only one statement per request is allowed");
		if (ntok == 0 || explain_pending) {
			/* The statement's (or EXPLAIN's inner) leading keyword. */
			if (t.kind == TOK_PUNCT && sql[t.start] == '(' && explain_pending) {
				return lh_fail(err, 400, "forbidden_statement",
					       "EXPLAIN options are not supported; use EXPLAIN or EXPLAIN ANALYZE");
			} else if (t.kind == TOK_PUNCT && sql[t.start] == '(') {
				/* a parenthesised query: DuckDB's type check decides */
			} else if (explain_pending && word_is(sql, &t, "ANALYZE")) {
				ntok++;
				body_end = pos;
				continue;
			} else if (t.kind != TOK_WORD) {
				return lh_fail(err, 400, "forbidden_statement",
					       "a query must start with a keyword such as SELECT");
			} else if (!is_allowed_kw(sql, &t)) {
				return refuse_kw(sql, &t, err);
			} else {
				explain_pending = word_is(sql, &t, "EXPLAIN");
			}
		}
		if (t.kind == TOK_PUNCT && sql[t.start] == '(')
			depth++;
		if (t.kind == TOK_PUNCT && sql[t.start] == ')' && --depth < 0)
			return lh_fail(err, 400, "bad_query", "unbalanced parentheses: ')' without '('");
		ntok++;
		body_end = pos;
	}
	if (ntok == 0)
		return lh_fail(err, 400, "bad_query", "the query is empty");
	if (explain_pending)
		return lh_fail(err, 400, "bad_query", "EXPLAIN needs a query to explain");
	if (depth != 0)
		return lh_fail(err, 400, "bad_query", "unbalanced parentheses: '(' without ')'");
	if (body_len)
		*body_len = body_end;
	return 0;
}

static int name_shaped(const char *s, size_t n)
{
	if (n == 0 || n > LH_DATASET_NAME_MAX)
		return 0;
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

int sql_parse_versioned(const char *ident, size_t n, char name[LH_DATASET_NAME_MAX + 1],
			int64_t *version)
{
	const char *at = memchr(ident, '@', n);
	if (!at)
		return 0;
	size_t nl = (size_t)(at - ident), dl = n - nl - 1;
	const char *d = at + 1;
	if (!name_shaped(ident, nl) || dl == 0 || dl > 18 || d[0] == '0')
		return 0;
	int64_t v = 0;
	for (size_t i = 0; i < dl; i++) {
		if (!isdigit((unsigned char)d[i]))
			return 0;
		v = v * 10 + (d[i] - '0');
	}
	memcpy(name, ident, nl);
	name[nl] = '\0';
	*version = v;
	return 1;
}

/* "name@<digits>" whose digits are no version (sql_parse_versioned said 0). */
static int parse_bad_version(const char *ident, size_t n, char name[LH_DATASET_NAME_MAX + 1])
{
	const char *at = memchr(ident, '@', n);
	if (!at)
		return 0;
	size_t nl = (size_t)(at - ident), dl = n - nl - 1;
	if (!name_shaped(ident, nl) || dl == 0)
		return 0;
	for (size_t i = 0; i < dl; i++)
		if (!isdigit((unsigned char)at[1 + i]))
			return 0;
	memcpy(name, ident, nl);
	name[nl] = '\0';
	return 1;
}

int sql_find_unquoted_version(const char *sql, size_t n, char name[LH_DATASET_NAME_MAX + 1],
			      int64_t *version)
{
	size_t pos = 0;
	struct token a, b, c;
	next_token(sql, n, &pos, &a);
	next_token(sql, n, &pos, &b);
	for (;;) {
		next_token(sql, n, &pos, &c);
		if (a.kind == TOK_END || a.kind == TOK_ERROR || b.kind == TOK_END ||
		    b.kind == TOK_ERROR)
			return 0;
		if (a.kind == TOK_WORD && name_shaped(sql + a.start, a.len) && b.kind == TOK_PUNCT &&
		    sql[b.start] == '@' && b.start == a.start + a.len && c.kind == TOK_PUNCT &&
		    c.start == b.start + 1 && isdigit((unsigned char)sql[c.start])) {
			char ident[LH_DATASET_NAME_MAX + 24];
			size_t len = a.len + 1 + c.len;
			if (len < sizeof ident) {
				memcpy(ident, sql + a.start, a.len + 1 + c.len);
				if (sql_parse_versioned(ident, len, name, version) == 1)
					return 1;
			}
		}
		if (c.kind == TOK_END || c.kind == TOK_ERROR)
			return 0;
		a = b;
		b = c;
	}
}

static size_t add_ref(struct sql_ref *out, size_t count, size_t max, const char *name,
		      size_t nl, int64_t version)
{
	for (size_t i = 0; i < count; i++)
		if (out[i].version == version && strlen(out[i].name) == nl &&
		    strncasecmp(out[i].name, name, nl) == 0)
			return count;
	if (count == max)
		return count;
	memcpy(out[count].name, name, nl);
	out[count].name[nl] = '\0';
	out[count].version = version;
	return count + 1;
}

size_t sql_refs_scan(const char *sql, size_t n, struct sql_ref *out, size_t max)
{
	size_t pos = 0, count = 0;
	struct token t;
	char name[LH_DATASET_NAME_MAX + 1], unq[LH_DATASET_NAME_MAX + 24];
	for (;;) {
		next_token(sql, n, &pos, &t);
		if (t.kind == TOK_END || t.kind == TOK_ERROR)
			break;
		if (t.kind == TOK_WORD && name_shaped(sql + t.start, t.len)) {
			count = add_ref(out, count, max, sql + t.start, t.len, 0);
		} else if (t.kind == TOK_QIDENT && t.len >= 2 && t.len - 2 < sizeof unq) {
			/* Unescape "" -> " (a dataset name never holds one, but
			 * "a""b" must not read as a). */
			size_t k = 0;
			for (size_t i = t.start + 1; i < t.start + t.len - 1; i++) {
				unq[k++] = sql[i];
				if (sql[i] == '"')
					i++;
			}
			int64_t v;
			if (sql_parse_versioned(unq, k, name, &v))
				count = add_ref(out, count, max, name, strlen(name), v);
			else if (parse_bad_version(unq, k, name))
				count = add_ref(out, count, max, name, strlen(name), -1);
			else if (name_shaped(unq, k))
				count = add_ref(out, count, max, unq, k, 0);
		}
	}
	return count;
}

void sql_token_next(const char *s, size_t n, size_t *pos, struct sql_tok *out)
{
	struct token t;
	next_token(s, n, pos, &t);
	out->kind = t.kind == TOK_END ? SQL_TOK_END : t.kind == TOK_WORD ? SQL_TOK_WORD
		    : t.kind == TOK_QIDENT ? SQL_TOK_QIDENT : t.kind == TOK_STRING ? SQL_TOK_STRING
		    : t.kind == TOK_PUNCT ? SQL_TOK_PUNCT : SQL_TOK_ERROR;
	out->start = t.start;
	out->len = t.len;
}
