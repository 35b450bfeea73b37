/* fuzz_text_index.c — libFuzzer target for the BM25 text index part
 * (src/search/text_index.h, ADR 0146) and search snippets
 * (src/search/highlight.h).
 *
 * The first byte picks the mode; the rest is
 *   even: a text section from storage (hostile bytes, exact-size copy):
 *         text_index_open either refuses it (502 bad_index_part, never a
 *         crash or a read past the end) or every later call stays in bounds:
 *         text_index_check; searches for the index's own first, middle and
 *         last terms (and a word it lacks) with k = 0, 1, 3 and all docs,
 *         with and without an allowed bitmap, each either -1 or hits with
 *         docs < N, allowed, positive finite scores, ranked (score desc, doc
 *         asc), <= k; when check passes, the top 3 is the head of the full
 *         ranking (pruning is exact);
 *   odd:  texts, one doc per line: the built section opens and passes check,
 *         has one doc per line, and each query term's df (of the first 8)
 *         is the number of lines whose snippet marks it; the same lines built as two parts
 *         (split at the middle line) and searched with the summed stats
 *         give bit-identical scores and the same docs as the whole; each
 *         line's snippet is NULL or valid UTF-8 with balanced <mark>s and no
 *         other '<', '>', '"' or '\'' and no NUL.
 */
#include "fuzz.h"

#include "search/highlight.h"
#include "search/text_index.h"
#include "common/buf.h"
#include "common/error.h"

#include <math.h>
#include <string.h>

#define MAX_DOCS 512

static void check_hits(const struct text_index *t, const struct text_hit *h, size_t n, size_t k,
		       const uint64_t *allowed)
{
	FUZZ_CHECK(n <= k);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(h[i].doc < text_index_docs(t));
		FUZZ_CHECK(isfinite(h[i].score) && h[i].score > 0);
		if (allowed)
			FUZZ_CHECK(allowed[h[i].doc / 64] >> (h[i].doc % 64) & 1);
		if (i > 0)
			FUZZ_CHECK(h[i - 1].score > h[i].score ||
				   (h[i - 1].score == h[i].score && h[i - 1].doc < h[i].doc));
	}
}

/* Search t for q with k = 0, 1, 3, all; with and without a bitmap. */
static void search_all_ways(const struct text_index *t, const struct text_query *q, int exact)
{
	uint32_t n = text_index_docs(t);
	size_t cap = n ? n : 1;
	struct text_hit *all = malloc(cap * sizeof *all), top[3];
	uint64_t *allowed = calloc((cap + 63) / 64, sizeof *allowed);
	for (uint32_t i = 0; i < n; i += 2)
		allowed[i / 64] |= 1ull << (i % 64);
	for (int filt = 0; filt < 2; filt++) {
		const uint64_t *a = filt ? allowed : NULL;
		size_t nall = 0, ntop = 9;
		int rc = text_index_search(t, q, NULL, TEXT_BM25_K1, TEXT_BM25_B, a, 0, top, &ntop);
		FUZZ_CHECK(rc == 0 && ntop == 0);
		rc = text_index_search(t, q, NULL, TEXT_BM25_K1, TEXT_BM25_B, a, n, all, &nall);
		FUZZ_CHECK(rc == 0 || rc == -1);
		if (rc)
			FUZZ_CHECK(nall == 0);
		check_hits(t, all, nall, n, a);
		for (size_t k = 1; k <= 3; k += 2) {
			int rk = text_index_search(t, q, NULL, TEXT_BM25_K1, TEXT_BM25_B, a, k, top,
						   &ntop);
			FUZZ_CHECK(rk == 0 || rk == -1);
			check_hits(t, top, ntop, k, a);
			if (exact && rc == 0) {
				FUZZ_CHECK(rk == 0);
				FUZZ_CHECK(ntop == (nall < k ? nall : k));
				FUZZ_CHECK(memcmp(top, all, ntop * sizeof *top) == 0);
			}
		}
	}
	free(all);
	free(allowed);
}

static void query_of(struct text_query *q, const char *term, size_t len)
{
	q->terms = calloc(1, sizeof *q->terms);
	q->nterms = 1;
	memcpy(q->terms[0], term, len > TOKEN_MAX_BYTES ? TOKEN_MAX_BYTES : len);
}

static void fuzz_section(const uint8_t *data, size_t size)
{
	struct lh_error err = { 0 };
	struct text_index *t = text_index_open(data, size, &err);
	if (!t) {
		FUZZ_CHECK(err.status == 502 && strcmp(err.code, "bad_index_part") == 0);
		lh_error_clear(&err);
		return;
	}
	int exact = text_index_check(t, &err) == 0;
	if (!exact)
		FUZZ_CHECK(err.status == 502);
	lh_error_clear(&err);
	uint32_t nt = text_index_terms(t);
	FUZZ_CHECK(text_index_term(t, nt, &(size_t){ 0 }) == NULL);
	uint64_t sum = 0;
	for (uint32_t d = 0; d < text_index_docs(t); d++)
		sum += text_index_doc_len(t, d);
	FUZZ_CHECK(sum == text_index_total_len(t));
	uint32_t picks[3] = { 0, nt / 2, nt ? nt - 1 : 0 };
	for (int i = 0; i < 3 && nt > 0; i++) {
		size_t len;
		const char *term = text_index_term(t, picks[i], &len);
		FUZZ_CHECK(term && len >= 1 && len <= TOKEN_MAX_BYTES);
		FUZZ_CHECK(text_index_df(t, term, len) >= 1);
		struct text_query q;
		query_of(&q, term, len);
		search_all_ways(t, &q, exact);
		text_query_free(&q);
	}
	struct text_query q;
	text_query_parse("zzqx forklift operator", 22, &q);
	search_all_ways(t, &q, exact);
	text_query_free(&q);
	text_index_close(t);
}

/* A snippet is NULL or safe HTML: valid UTF-8 (checked by hand here), no
 * NUL, every '<' starts <mark> or </mark> (balanced, not nested), no raw
 * '>', '"' or '\''. Returns the number of marks. */
static size_t check_snippet(const char *s)
{
	size_t marks = 0;
	int open = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p == '<') {
			if (strncmp((const char *)p, "<mark>", 6) == 0) {
				FUZZ_CHECK(!open);
				open = 1;
				marks++;
				p += 6;
			} else {
				FUZZ_CHECK(strncmp((const char *)p, "</mark>", 7) == 0 && open);
				open = 0;
				p += 7;
			}
			continue;
		}
		FUZZ_CHECK(*p != '>' && *p != '"' && *p != '\'');
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t n = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
		FUZZ_CHECK(*p >= 0xC2 && *p <= 0xF4);
		for (size_t i = 1; i < n; i++)
			FUZZ_CHECK((p[i] & 0xC0) == 0x80);
		p += n;
	}
	FUZZ_CHECK(!open);
	return marks;
}

static void fuzz_texts(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t starts[MAX_DOCS], lens[MAX_DOCS], ndocs = 0, pos = 0;
	for (;;) { /* lines; past MAX_DOCS the rest is ignored */
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t e = nl ? (size_t)(nl - text) : size;
		starts[ndocs] = pos;
		lens[ndocs++] = e - pos;
		if (!nl || ndocs == MAX_DOCS)
			break;
		pos = e + 1;
	}
	struct lh_buf whole, half[2];
	struct lh_error err = { 0 };
	size_t mid = ndocs / 2;
	lh_buf_init(&whole, (size_t)1 << 26);
	lh_buf_init(&half[0], (size_t)1 << 26);
	lh_buf_init(&half[1], (size_t)1 << 26);
	struct text_builder *bw = text_builder_new(),
			    *bh[2] = { text_builder_new(), text_builder_new() };
	for (size_t i = 0; i < ndocs; i++) {
		size_t len = lens[i];
		text_builder_add(bw, (uint32_t)i, text + starts[i], len);
		int p = i >= mid;
		text_builder_add(bh[p], (uint32_t)(p ? i - mid : i), text + starts[i], len);
	}
	FUZZ_CHECK(text_builder_finish(bw, &whole, &err) == 0);
	FUZZ_CHECK(text_builder_finish(bh[0], &half[0], &err) == 0);
	FUZZ_CHECK(text_builder_finish(bh[1], &half[1], &err) == 0);
	struct text_index *tw = text_index_open(whole.data, whole.len, &err);
	FUZZ_CHECK(tw != NULL && text_index_check(tw, &err) == 0);
	FUZZ_CHECK(text_index_docs(tw) == ndocs);
	struct text_index *th[2];
	for (int p = 0; p < 2; p++) {
		th[p] = text_index_open(half[p].data, half[p].len, &err);
		FUZZ_CHECK(th[p] != NULL && text_index_check(th[p], &err) == 0);
	}
	FUZZ_CHECK(text_index_docs(th[0]) + text_index_docs(th[1]) == ndocs);
	FUZZ_CHECK(text_index_total_len(th[0]) + text_index_total_len(th[1]) ==
		   text_index_total_len(tw));
	/* the query: the first line's words */
	struct text_query q;
	text_query_parse(text, lens[0], &q);
	uint64_t df[64] = { 0 };
	size_t nq = q.nterms < 64 ? q.nterms : 64;
	q.nterms = nq;
	for (size_t i = 0; i < nq; i++) {
		size_t l = strlen(q.terms[i]);
		df[i] = text_index_df(th[0], q.terms[i], l) + text_index_df(th[1], q.terms[i], l);
		FUZZ_CHECK(df[i] == text_index_df(tw, q.terms[i], l));
		if (i >= 8)
			continue; /* the highlighter's df for the first 8 terms only */
		/* df = the lines whose snippet for this one term marks something */
		struct text_query one = { &q.terms[i], 1 };
		uint64_t marked = 0;
		for (size_t d = 0; d < ndocs; d++) {
			char *s = highlight_snippet(text + starts[d], lens[d], &one, 0);
			if (s) {
				FUZZ_CHECK(check_snippet(s) > 0);
				marked++;
			}
			free(s);
		}
		FUZZ_CHECK(marked == df[i]);
	}
	struct text_stats st = { text_index_docs(tw), text_index_total_len(tw), df };
	struct text_hit *a = malloc((ndocs + 1) * sizeof *a), *b = malloc((ndocs + 1) * sizeof *b);
	size_t na = 0, nb = 0, np;
	FUZZ_CHECK(text_index_search(tw, &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, ndocs, a, &na) ==
		   0);
	for (int p = 0; p < 2; p++) {
		FUZZ_CHECK(text_index_search(th[p], &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, ndocs,
					     b + nb, &np) == 0);
		for (size_t i = 0; i < np; i++)
			b[nb + i].doc += p ? (uint32_t)mid : 0;
		nb += np;
	}
	FUZZ_CHECK(na == nb);
	for (size_t i = 0; i < na; i++) { /* b is per part: find each of a in it */
		size_t j = 0;
		while (j < nb && b[j].doc != a[i].doc)
			j++;
		FUZZ_CHECK(j < nb && memcmp(&b[j].score, &a[i].score, sizeof(float)) == 0);
	}
	search_all_ways(tw, &q, 1);
	for (size_t d = 0; d < ndocs; d++) {
		char *s = highlight_snippet(text + starts[d], lens[d], &q, 1 + d % 40);
		if (s)
			check_snippet(s);
		free(s);
	}
	free(a);
	free(b);
	text_query_free(&q);
	text_index_close(tw);
	text_index_close(th[0]);
	text_index_close(th[1]);
	lh_buf_free(&whole);
	lh_buf_free(&half[0]);
	lh_buf_free(&half[1]);
	lh_error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t *copy = malloc(size - 1 ? size - 1 : 1); /* exact size for ASan */
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_texts(copy, size - 1);
	else
		fuzz_section(copy, size - 1);
	free(copy);
	return 0;
}
