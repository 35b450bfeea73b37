/* fuzz_search_sql.c — libFuzzer target for search(...)'s scan of a SQL
 * statement (src/queryd/search_sql_scan.c), which queryd runs on the
 * user's text in its own process (ADR 0152).
 *
 * Invariants: at most `max` calls, each with a dataset and a query; two
 * scans agree; every call found, written back as canonical SQL (quotes
 * doubled), scans to exactly that call again; equal calls give equal keys
 * and a changed field a different key; nothing leaks (replay under ASan).
 */
#include "fuzz.h"

#include "common/buf.h"
#include "common/xmalloc.h"
#include "queryd/search_sql.h"

#include <inttypes.h>
#include <string.h>

#define MAX 4

static void put_quoted(struct lh_buf *b, const char *s)
{
	lh_buf_append(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			lh_buf_append(b, "'", 1);
		lh_buf_append(b, s, 1);
	}
	lh_buf_append(b, "'", 1);
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_call(const struct search_sql_call *a, const struct search_sql_call *b)
{
	return same_str(a->dataset, b->dataset) && same_str(a->query, b->query) &&
	       same_str(a->mode, b->mode) && same_str(a->filter, b->filter) &&
	       a->has_k == b->has_k && (!a->has_k || a->k == b->k);
}

static char *key_of(const struct search_sql_call *c)
{
	return search_sql_key(c->dataset, c->query, c->has_k ? &c->k : NULL, c->mode, c->filter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct search_sql_call a[MAX], b[MAX];
	size_t na = search_sql_scan((const char *)data, size, a, MAX);
	size_t nb = search_sql_scan((const char *)data, size, b, MAX);
	FUZZ_CHECK(na <= MAX && na == nb);
	for (size_t i = 0; i < na; i++) {
		FUZZ_CHECK(a[i].dataset && a[i].query);
		FUZZ_CHECK(same_call(&a[i], &b[i]));
		/* canonical SQL scans back to the same call (a NUL inside a
		 * value cannot be written back: the text ends there) */
		struct lh_buf sql;
		lh_buf_init(&sql, 4 * size + 256);
		lh_buf_append(&sql, "SELECT * FROM search(", 21);
		put_quoted(&sql, a[i].dataset);
		lh_buf_append(&sql, ", ", 2);
		put_quoted(&sql, a[i].query);
		if (a[i].has_k) {
			char k[32];
			snprintf(k, sizeof k, ", k := %" PRId64, a[i].k);
			lh_buf_append(&sql, k, strlen(k));
		}
		if (a[i].mode) {
			lh_buf_append(&sql, ", mode := ", 10);
			put_quoted(&sql, a[i].mode);
		}
		if (a[i].filter) {
			lh_buf_append(&sql, ", filter := ", 12);
			put_quoted(&sql, a[i].filter);
		}
		lh_buf_append(&sql, ")", 1);
		struct search_sql_call c[MAX];
		size_t nc = search_sql_scan(sql.data, sql.len, c, MAX);
		FUZZ_CHECK(nc == 1);
		FUZZ_CHECK(same_call(&a[i], &c[0]));
		char *ka = key_of(&a[i]), *kc = key_of(&c[0]);
		FUZZ_CHECK(!strcmp(ka, kc));
		/* another query, another key */
		char *q = a[i].query;
		a[i].query = xasprintf("%s!", q);
		char *kd = key_of(&a[i]);
		FUZZ_CHECK(strcmp(ka, kd) != 0);
		free(a[i].query);
		a[i].query = q;
		free(ka);
		free(kc);
		free(kd);
		search_sql_call_free(&c[0]);
		lh_buf_free(&sql);
	}
	for (size_t i = 0; i < na; i++) {
		search_sql_call_free(&a[i]);
		search_sql_call_free(&b[i]);
	}
	return 0;
}
