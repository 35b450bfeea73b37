/* search_sql_scan.c — the pure half of search(...) in SQL (search_sql.h;
 * ADR 0152): find a statement's search(...) calls whose arguments are
 * constants (sql_guard.c's tokenizer, so strings, quoted names, comments and
 * dollar quotes hide nothing), and the canonical key of a call's arguments
 * that queryd and the worker's table function both build. No I/O; unit
 * tests in tests/unit/test_queryd_search_sql.c, fuzzed by
 * tests/fuzz/fuzz_search_sql.c (it reads untrusted SQL in queryd's own
 * process, not in a worker).
 */
#include "queryd/search_sql.h"
#include "queryd/queryd_int.h"

#include "common/buf.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

