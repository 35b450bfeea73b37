/* test_search_text.c — the BM25 text index part (src/search/text_index.h):
 * build/open round trip, scores against BM25 computed here from the raw
 * tokens, ties, the allowed bitmap, split invariance (one part vs ten with
 * the same global stats: bit-identical scores), edge queries, and hostile
 * bytes (every truncation, every single-byte corruption, crafted bad
 * postings). */
#include "test.h"

#include "search/text_index.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* text_index.c's IMPACTS_MAX (the format's cap on impact points). */
#define IMPACTS_MAX_FOR_TEST 16

/* Build a part from texts[0..n) (doc i = texts[i]) into out. */
static int build(const char *const *texts, size_t n, struct lh_buf *out)
{
	struct lh_error err = { 0 };
	struct text_builder *b = text_builder_new();
	lh_buf_init(out, (size_t)1 << 30);
	for (size_t i = 0; i < n; i++)
		text_builder_add(b, (uint32_t)i, texts[i], strlen(texts[i]));
	int rc = text_builder_finish(b, out, &err);
	lh_error_clear(&err);
	return rc;
}

static struct text_index *open_buf(const struct lh_buf *buf)
{
	struct lh_error err = { 0 };
	struct text_index *t = text_index_open(buf->data, buf->len, &err);
	lh_error_clear(&err);
	return t;
}

/* Search t for qtext with its own stats; k hits into out. Returns nout or -1. */
static long search(const struct text_index *t, const char *qtext, const uint64_t *allowed, size_t k,
		   struct text_hit *out)
{
	struct text_query q;
	size_t nout = 0;
	text_query_parse(qtext, strlen(qtext), &q);
	int rc = text_index_search(t, &q, NULL, TEXT_BM25_K1, TEXT_BM25_B, allowed, k, out, &nout);
	text_query_free(&q);
	return rc ? -1 : (long)nout;
}

static const char *const small[] = {
	"Forklift operator, OSHA-30 certified",         /* 0 */
	"Forklift operators wanted: forklift forklift", /* 1 */
	"ICU nurse; intensive care, nights",            /* 2 */
	"",                                             /* 3: empty */
	"Welder and fabricator (MIG/TIG)",              /* 4 */
	"warehouse associate, forklift a plus",         /* 5 */
};

TEST(search_text_build_open_counts)
{
	struct lh_buf buf;
	CHECK(build(small, 6, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	CHECK_EQ_INT(text_index_docs(t), 6);
	CHECK_EQ_INT(text_index_doc_len(t, 0), 5); /* forklift operator osha 30 certified */
	CHECK_EQ_INT(text_index_doc_len(t, 1), 5);
	CHECK_EQ_INT(text_index_doc_len(t, 3), 0);
	CHECK_EQ_INT(text_index_doc_len(t, 99), 0);
	CHECK_EQ_INT(text_index_total_len(t), 5 + 5 + 5 + 0 + 5 + 5);
	CHECK_EQ_INT(text_index_df(t, "forklift", 8), 3);
	CHECK_EQ_INT(text_index_df(t, "operator", 8), 2); /* "operators" stemmed */
	CHECK_EQ_INT(text_index_df(t, "operators", 9), 0);
	CHECK_EQ_INT(text_index_df(t, "nurse", 5), 1);
	CHECK_EQ_INT(text_index_df(t, "zebra", 5), 0);
	CHECK_EQ_INT(text_index_df(t, "", 0), 0);
	struct lh_error err = { 0 };
	CHECK(text_index_check(t, &err) == 0);
	text_index_close(t);
	lh_buf_free(&buf);
}

TEST(search_text_empty_builder)
{
	struct lh_buf buf;
	CHECK(build(NULL, 0, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	CHECK_EQ_INT(text_index_docs(t), 0);
	CHECK_EQ_INT(text_index_terms(t), 0);
	struct text_hit hits[4];
	CHECK_EQ_INT(search(t, "forklift", NULL, 4, hits), 0);
	text_index_close(t);
	lh_buf_free(&buf);
}

TEST(search_text_doc_gaps_and_repeated_doc)
{
	struct lh_error err = { 0 };
	struct lh_buf buf;
	struct text_builder *b = text_builder_new();
	lh_buf_init(&buf, 1 << 20);
	text_builder_add(b, 0, "alpha", 5);
	text_builder_add(b, 3, "beta", 4);
	text_builder_add(b, 3, "beta gamma", 10); /* adds to doc 3 */
	CHECK_EQ_INT(text_builder_docs(b), 4);
	CHECK(text_builder_finish(b, &buf, &err) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	CHECK_EQ_INT(text_index_docs(t), 4);
	CHECK_EQ_INT(text_index_doc_len(t, 1), 0);
	CHECK_EQ_INT(text_index_doc_len(t, 3), 3);
	CHECK_EQ_INT(text_index_df(t, "beta", 4), 1);
	struct text_hit hits[4];
	CHECK_EQ_INT(search(t, "beta", NULL, 4, hits), 1);
	CHECK_EQ_INT(hits[0].doc, 3);
	text_index_close(t);
	lh_buf_free(&buf);
}

TEST(search_text_out_of_order_fails)
{
	struct lh_error err = { 0 };
	struct lh_buf buf;
	struct text_builder *b = text_builder_new();
	lh_buf_init(&buf, 1 << 20);
	text_builder_add(b, 5, "alpha", 5);
	text_builder_add(b, 2, "beta", 4);
	CHECK(text_builder_finish(b, &buf, &err) == -1);
	CHECK_EQ_INT(err.status, 500);
	lh_error_clear(&err);
	lh_buf_free(&buf);
}

TEST(search_text_cap_is_too_large)
{
	struct lh_error err = { 0 };
	struct lh_buf buf;
	struct text_builder *b = text_builder_new();
	lh_buf_init(&buf, 40);
	text_builder_add(b, 0, "alpha beta", 10);
	CHECK(text_builder_finish(b, &buf, &err) == -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
	lh_buf_free(&buf);
	text_builder_free(text_builder_new()); /* freeing an unfinished builder */
	text_builder_free(NULL);
}

TEST(search_text_query_parse_dedups_stems_sorts)
{
	struct text_query q;
	const char *s = "Operators, forklift OPERATOR; OSHA osha forklifts";
	CHECK(text_query_parse(s, strlen(s), &q) == 0);
	CHECK_EQ_INT(q.nterms, 3);
	CHECK_EQ_STR(q.terms[0], "forklift");
	CHECK_EQ_STR(q.terms[1], "operator");
	CHECK_EQ_STR(q.terms[2], "osha");
	text_query_free(&q);
	CHECK(text_query_parse(" ,;- ", 5, &q) == 0);
	CHECK_EQ_INT(q.nterms, 0);
	text_query_free(&q);
	CHECK(text_query_parse("", 0, &q) == 0);
	CHECK_EQ_INT(q.nterms, 0);
	text_query_free(&q);
	text_query_free(&q); /* twice is fine */
}

/* BM25 of one (term, doc) as text_index.h defines it. */
static double bm25(double n, double avgdl, double df, double tf, double dl)
{
	double idf = log(1 + (n - df + 0.5) / (df + 0.5));
	double k1 = TEXT_BM25_K1, b = TEXT_BM25_B;
	return idf * (tf * (k1 + 1)) / (tf + k1 * (1 - b) + k1 * b / avgdl * dl);
}

TEST(search_text_scores_are_bm25)
{
	struct lh_buf buf;
	CHECK(build(small, 6, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	struct text_hit hits[10];
	CHECK_EQ_INT(search(t, "forklift", NULL, 10, hits), 3);
	double avgdl = 25.0 / 6;
	/* doc 1 has tf 3 of 5 terms, docs 0 and 5 tf 1 of 5 */
	CHECK_EQ_INT(hits[0].doc, 1);
	CHECK_EQ_INT(hits[1].doc, 0);
	CHECK_EQ_INT(hits[2].doc, 5);
	CHECK(fabs(hits[0].score - bm25(6, avgdl, 3, 3, 5)) < 1e-5);
	CHECK(fabs(hits[1].score - bm25(6, avgdl, 3, 1, 5)) < 1e-5);
	CHECK(fabs(hits[2].score - bm25(6, avgdl, 3, 1, 5)) < 1e-5);
	/* two terms add up */
	CHECK_EQ_INT(search(t, "forklift operator", NULL, 10, hits), 3);
	CHECK_EQ_INT(hits[0].doc, 1);
	CHECK(fabs(hits[0].score - (bm25(6, avgdl, 3, 3, 5) + bm25(6, avgdl, 2, 1, 5))) < 1e-5);
	CHECK_EQ_INT(hits[1].doc, 0);
	CHECK(fabs(hits[1].score - (bm25(6, avgdl, 3, 1, 5) + bm25(6, avgdl, 2, 1, 5))) < 1e-5);
	text_index_close(t);
	lh_buf_free(&buf);
}

TEST(search_text_edge_queries)
{
	struct lh_buf buf;
	CHECK(build(small, 6, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	struct text_hit hits[10];
	CHECK_EQ_INT(search(t, "zebra unicorn", NULL, 10, hits), 0); /* unknown terms */
	CHECK_EQ_INT(search(t, "", NULL, 10, hits), 0);              /* empty query */
	CHECK_EQ_INT(search(t, "?!", NULL, 10, hits), 0);            /* no words */
	CHECK_EQ_INT(search(t, "forklift", NULL, 0, NULL), 0);       /* k = 0 */
	CHECK_EQ_INT(search(t, "zebra nurse", NULL, 10, hits), 1);   /* one known */
	CHECK_EQ_INT(hits[0].doc, 2);
	CHECK_EQ_INT(search(t, "forklift", NULL, 2, hits), 2); /* k < matches */
	CHECK_EQ_INT(hits[0].doc, 1);
	CHECK_EQ_INT(hits[1].doc, 0);
	/* bad parameters */
	struct text_query q;
	size_t nout = 7;
	text_query_parse("forklift", 8, &q);
	CHECK(text_index_search(t, &q, NULL, -1.0f, 0.75f, NULL, 10, hits, &nout) == -1);
	CHECK_EQ_INT(nout, 0);
	CHECK(text_index_search(t, &q, NULL, 1.2f, 1.5f, NULL, 10, hits, &nout) == -1);
	CHECK(text_index_search(t, &q, NULL, NAN, 0.75f, NULL, 10, hits, &nout) == -1);
	CHECK(text_index_search(t, &q, NULL, 0.0f, 0.0f, NULL, 10, hits, &nout) == 0);
	CHECK_EQ_INT(nout, 3);
	CHECK(hits[0].score > 0);
	text_query_free(&q);
	text_index_close(t);
	lh_buf_free(&buf);
}

TEST(search_text_ties_doc_ascending_and_allowed)
{
	const char *texts[8];
	for (int i = 0; i < 8; i++)
		texts[i] = i % 2 ? "same words here" : "other stuff there";
	struct lh_buf buf;
	CHECK(build(texts, 8, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	struct text_hit hits[8];
	CHECK_EQ_INT(search(t, "same", NULL, 3, hits), 3);
	CHECK_EQ_INT(hits[0].doc, 1);
	CHECK_EQ_INT(hits[1].doc, 3);
	CHECK_EQ_INT(hits[2].doc, 5);
	CHECK(hits[0].score == hits[2].score);
	uint64_t allowed = (1u << 3) | (1u << 7) | (1u << 0);
	CHECK_EQ_INT(search(t, "same", &allowed, 8, hits), 2);
	CHECK_EQ_INT(hits[0].doc, 3);
	CHECK_EQ_INT(hits[1].doc, 7);
	allowed = 0;
	CHECK_EQ_INT(search(t, "same", &allowed, 8, hits), 0);
	text_index_close(t);
	lh_buf_free(&buf);
}

/* A deterministic corpus: doc i draws ~12 words from a 60-word vocabulary
 * with a skew, so some words are common and some rare. */
static const char *const vocab[] = {
	"forklift", "operator",  "osha",        "warehouse", "nurse",     "icu",        "welder",
	"mig",      "tig",       "driver",      "cdl",       "class",     "truck",      "nights",
	"weekends", "milwaukee", "chicago",     "available", "now",       "certified",  "bilingual",
	"spanish",  "english",   "excel",       "sql",       "python",    "java",       "react",
	"payroll",  "hvac",      "electrician", "plumber",   "carpenter", "cashier",    "retail",
	"manager",  "assistant", "dental",      "hygienist", "pharmacy",  "technician", "lab",
	"clinical", "research",  "teacher",     "tutor",     "math",      "science",    "painter",
	"roofer",   "mason",     "landscaper",  "chef",      "cook",      "server",     "bartender",
	"security", "guard",     "janitor",     "cleaner",
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static char **make_corpus(size_t n, uint64_t seed)
{
	char **docs = xcalloc(n, sizeof *docs);
	for (size_t i = 0; i < n; i++) {
		char line[1024];
		size_t len = 0;
		unsigned words = (unsigned)(rng_next(&seed) % 20); /* 0..19 words */
		line[0] = '\0';
		for (unsigned w = 0; w < words; w++) {
			uint64_t r = rng_next(&seed);
			size_t v = (size_t)((r % NVOCAB) * (r / NVOCAB % NVOCAB) /
					    NVOCAB); /* skewed */
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%s",
						w ? (r & 64 ? ", " : " ") : "", vocab[v]);
		}
		docs[i] = xstrdup(line);
	}
	return docs;
}

static void free_corpus(char **docs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(docs[i]);
	free(docs);
}

static int hit_ref_cmp(const void *a, const void *b)
{
	const struct text_hit *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Word-count BM25 from the raw text, independent of the index: the words
 * of make_corpus need no stemming (none ends in s) and are lower case. */
static size_t brute_force(char **docs, size_t n, const char *const *qterms, size_t nq,
			  struct text_hit *out)
{
	size_t *dl = xcalloc(n, sizeof *dl), total = 0, nout = 0;
	size_t *tf = xcalloc(n * nq, sizeof *tf), *df = xcalloc(nq, sizeof *df);
	for (size_t i = 0; i < n; i++) {
		const char *p = docs[i];
		while (*p) {
			while (*p == ' ' || *p == ',')
				p++;
			if (!*p)
				break;
			size_t l = strcspn(p, " ,");
			dl[i]++;
			total++;
			for (size_t j = 0; j < nq; j++)
				if (strlen(qterms[j]) == l && memcmp(p, qterms[j], l) == 0)
					tf[i * nq + j]++;
			p += l;
		}
		for (size_t j = 0; j < nq; j++)
			df[j] += tf[i * nq + j] > 0;
	}
	for (size_t i = 0; i < n; i++) {
		double sum = 0;
		int any = 0;
		for (size_t j = 0; j < nq; j++)
			if (tf[i * nq + j]) {
				any = 1;
				sum += bm25((double)n, (double)total / n, (double)df[j],
					    (double)tf[i * nq + j], (double)dl[i]);
			}
		if (any)
			out[nout++] = (struct text_hit){ (uint32_t)i, (float)sum };
	}
	qsort(out, nout, sizeof *out, hit_ref_cmp);
	free(dl);
	free(tf);
	free(df);
	return nout;
}

TEST(search_text_matches_brute_force)
{
	const size_t n = 2000;
	char **docs = make_corpus(n, 7);
	struct lh_buf buf;
	CHECK(build((const char *const *)docs, n, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	static const char *const queries[][3] = {
		{ "forklift", NULL, NULL },
		{ "forklift", "operator", "osha" },
		{ "cleaner", "janitor", NULL },
		{ "milwaukee", "nurse", "sql" },
	};
	struct text_hit *want = xmalloc(n * sizeof *want), *got = xmalloc(n * sizeof *got);
	for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		size_t nq = 0;
		char qtext[128] = "";
		while (nq < 3 && queries[qi][nq]) {
			size_t l = strlen(qtext);
			snprintf(qtext + l, sizeof qtext - l, "%s ", queries[qi][nq]);
			nq++;
		}
		size_t nwant = brute_force(docs, n, queries[qi], nq, want);
		CHECK(nwant > 0);
		long ngot = search(t, qtext, NULL, n, got);
		CHECK_EQ_INT(ngot, nwant);
		for (size_t i = 0; i < nwant; i++) {
			CHECK(fabsf(got[i].score - want[i].score) <= 1e-5f * want[i].score);
			/* the same order up to float ties */
			if (got[i].doc != want[i].doc)
				CHECK(fabsf(got[i].score - want[i].score) <= 1e-5f * want[i].score);
		}
		/* top 10 is the head of the full ranking */
		struct text_hit top[10];
		CHECK_EQ_INT(search(t, qtext, NULL, 10, top), nwant < 10 ? nwant : 10);
		CHECK(memcmp(top, got, sizeof top[0] * (nwant < 10 ? nwant : 10)) == 0);
	}
	free(want);
	free(got);
	text_index_close(t);
	lh_buf_free(&buf);
	free_corpus(docs, n);
}

/* SPEC 11 "Always complete": one part of 1,000 docs and the same docs in 10
 * parts of 100, searched with the same (summed) global stats, give
 * bit-identical scores and the same merged ranking. */
TEST(search_text_split_is_bit_identical)
{
	const size_t n = 1000, nparts = 10, per = n / nparts;
	char **docs = make_corpus(n, 42);
	struct lh_buf whole, parts[10];
	struct text_index *tw, *tp[10];
	CHECK(build((const char *const *)docs, n, &whole) == 0);
	tw = open_buf(&whole);
	CHECK(tw != NULL);
	for (size_t p = 0; p < nparts; p++) {
		CHECK(build((const char *const *)docs + p * per, per, &parts[p]) == 0);
		tp[p] = open_buf(&parts[p]);
		CHECK(tp[p] != NULL);
	}
	static const char *const queries[] = {
		"forklift operator osha",
		"guard",
		"nurse icu nights weekends milwaukee",
		"sql python java react excel",
		"zebra forklift",
	};
	struct text_hit *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
	for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		struct text_query q;
		text_query_parse(queries[qi], strlen(queries[qi]), &q);
		uint64_t df[16] = { 0 }, docs_sum = 0, len_sum = 0;
		CHECK(q.nterms <= 16);
		for (size_t p = 0; p < nparts; p++) {
			docs_sum += text_index_docs(tp[p]);
			len_sum += text_index_total_len(tp[p]);
			for (size_t i = 0; i < q.nterms; i++)
				df[i] += text_index_df(tp[p], q.terms[i], strlen(q.terms[i]));
		}
		CHECK_EQ_INT(docs_sum, text_index_docs(tw));
		CHECK_EQ_INT(len_sum, text_index_total_len(tw));
		struct text_stats st = { docs_sum, len_sum, df };
		size_t na = 0, nb = 0;
		CHECK(text_index_search(tw, &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, n, a, &na) ==
		      0);
		CHECK(na > 0);
		for (size_t p = 0; p < nparts; p++) {
			size_t np = 0;
			CHECK(text_index_search(tp[p], &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, n,
						b + nb, &np) == 0);
			for (size_t i = 0; i < np; i++)
				b[nb + i].doc += (uint32_t)(p * per);
			nb += np;
		}
		qsort(b, nb, sizeof *b, hit_ref_cmp);
		CHECK_EQ_INT(nb, na);
		for (size_t i = 0; i < na; i++) {
			CHECK_EQ_INT(b[i].doc, a[i].doc);
			CHECK(memcmp(&b[i].score, &a[i].score, sizeof(float)) == 0);
		}
		text_query_free(&q);
	}
	free(a);
	free(b);
	text_index_close(tw);
	lh_buf_free(&whole);
	for (size_t p = 0; p < nparts; p++) {
		text_index_close(tp[p]);
		lh_buf_free(&parts[p]);
	}
	free_corpus(docs, n);
}

/* ---- hostile bytes ----------------------------------------------------- */

static int open_fails(const void *bytes, size_t len)
{
	struct lh_error err = { 0 };
	struct text_index *t = text_index_open(bytes, len, &err);
	int ok = t == NULL && err.status == 502 && strcmp(err.code, "bad_index_part") == 0;
	text_index_close(t);
	lh_error_clear(&err);
	return ok;
}

TEST(search_text_every_truncation_rejected)
{
	struct lh_buf buf;
	CHECK(build(small, 6, &buf) == 0);
	for (size_t len = 0; len < buf.len; len++) {
		/* an exact-size copy, so ASan sees any read past the end */
		char *copy = xmalloc(len ? len : 1);
		memcpy(copy, buf.data, len);
		CHECK(open_fails(copy, len));
		free(copy);
	}
	CHECK(open_fails(NULL, 0));
	lh_buf_free(&buf);
}

/* Every single-byte change is either refused by open, or opens to an index
 * whose check and searches stay in bounds (ASan) and answer sanely. */
TEST(search_text_every_byte_corruption_is_safe)
{
	struct lh_buf buf;
	CHECK(build(small, 6, &buf) == 0);
	static const unsigned char deltas[] = { 0x01, 0x80, 0xff };
	for (size_t i = 0; i < buf.len; i++) {
		for (size_t d = 0; d < sizeof deltas; d++) {
			unsigned char *copy = xmalloc(buf.len);
			memcpy(copy, buf.data, buf.len);
			copy[i] ^= deltas[d];
			struct lh_error err = { 0 };
			struct text_index *t = text_index_open(copy, buf.len, &err);
			if (!t) {
				CHECK_EQ_INT(err.status, 502);
			} else {
				struct text_hit hits[8];
				long n = search(t, "forklift operator osha nurse welder", NULL, 8,
						hits);
				CHECK(n >= -1 && n <= 8);
				for (long h = 1; h < n; h++)
					CHECK(hits[h].score <= hits[h - 1].score);
				for (long h = 0; h < n; h++)
					CHECK(hits[h].doc < text_index_docs(t) &&
					      hits[h].score > 0);
				(void)text_index_check(t, &err);
				text_index_close(t);
			}
			lh_error_clear(&err);
			free(copy);
		}
	}
	lh_buf_free(&buf);
}

static void put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (char)(v >> (8 * i));
}

TEST(search_text_crafted_corruptions_rejected)
{
	struct lh_buf buf;
	/* two docs, terms "aa" (docs 0, 1) and "bb" (doc 1) */
	const char *texts[] = { "aa", "aa bb" };
	CHECK(build(texts, 2, &buf) == 0);
	CHECK_EQ_INT(buf.len, 48 + 8 + 32 + 4 + 3);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	text_index_close(t);
	char *c = xmalloc(buf.len);
	const size_t dl = 48, ent = 56, str = 88, post = 92;
	/* bad magic */
	memcpy(c, buf.data, buf.len);
	c[0] = 'X';
	CHECK(open_fails(c, buf.len));
	/* doc lengths that do not add up */
	memcpy(c, buf.data, buf.len);
	put32(c + dl, 7);
	CHECK(open_fails(c, buf.len));
	/* terms out of order: swap "aa" and "bb" */
	memcpy(c, buf.data, buf.len);
	memcpy(c + str, "bbaa", 4);
	CHECK(open_fails(c, buf.len));
	/* a term starting past the strings */
	memcpy(c, buf.data, buf.len);
	put32(c + ent + 16, 9);
	CHECK(open_fails(c, buf.len));
	/* df 0, df > docs */
	memcpy(c, buf.data, buf.len);
	put32(c + ent + 4, 0);
	CHECK(open_fails(c, buf.len));
	put32(c + ent + 4, 3);
	CHECK(open_fails(c, buf.len));
	/* postings past the end */
	memcpy(c, buf.data, buf.len);
	put32(c + ent + 16 + 8, 4);
	CHECK(open_fails(c, buf.len));
	/* a doc beyond N inside a postings list: opens, check and search fail */
	memcpy(c, buf.data, buf.len);
	c[post + 2] = (char)(5 << 1 | 1); /* "bb": doc 5 of 2 */
	struct lh_error err = { 0 };
	t = text_index_open(c, buf.len, &err);
	CHECK(t != NULL);
	CHECK(text_index_check(t, &err) == -1);
	CHECK_EQ_INT(err.status, 502);
	lh_error_clear(&err);
	struct text_hit hits[4];
	CHECK_EQ_INT(search(t, "bb", NULL, 4, hits), -1);
	CHECK_EQ_INT(search(t, "aa", NULL, 4, hits), 2); /* a sound list still reads */
	text_index_close(t);
	/* tf larger than the doc's length */
	memcpy(c, buf.data, buf.len);
	c[post + 2] = (char)(0 << 1 | 0); /* "bb": doc 1, tf follows */
	t = text_index_open(c, buf.len, &err);
	CHECK(t != NULL); /* the next byte is not there: df 1 needs 2 bytes now */
	CHECK(text_index_check(t, &err) == -1);
	lh_error_clear(&err);
	text_index_close(t);
	/* an unterminated varint */
	memcpy(c, buf.data, buf.len);
	c[post] = (char)0x80;
	c[post + 1] = (char)0x80;
	t = text_index_open(c, buf.len, &err);
	CHECK(t != NULL);
	CHECK_EQ_INT(search(t, "aa", NULL, 4, hits), -1);
	CHECK(text_index_check(t, &err) == -1);
	lh_error_clear(&err);
	text_index_close(t);
	free(c);
	lh_buf_free(&buf);
}

/* MaxScore (skipping blocks and docs that cannot reach the top k) returns
 * exactly the head of the exhaustive ranking (k = all docs never prunes),
 * for queries mixing common and rare terms over lists long enough to have
 * skip tables and impact points; with an allowed bitmap too. */
TEST(search_text_pruned_top_k_is_exact)
{
	const size_t n = 20000;
	char **docs = make_corpus(n, 99);
	struct lh_buf buf;
	CHECK(build((const char *const *)docs, n, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	struct lh_error err = { 0 };
	CHECK(text_index_check(t, &err) == 0);
	CHECK(text_index_df(t, "forklift", 8) > 1000); /* long lists: skips, impacts */
	static const char *const queries[] = {
		"forklift operator",
		"forklift janitor",
		"forklift operator osha warehouse",
		"nurse guard",
		"operator osha warehouse nurse icu welder mig tig",
		"forklift operator osha warehouse nurse icu welder mig tig driver",
		"forklift operator osha warehouse nurse icu welder mig tig driver cdl class truck "
		"nights weekends milwaukee chicago available now certified bilingual spanish",
		"security",
		"cook chef server bartender",
	};
	uint64_t *allowed = xcalloc((n + 63) / 64, sizeof *allowed);
	uint64_t seed = 5;
	for (size_t i = 0; i < n; i++)
		if (rng_next(&seed) % 3)
			allowed[i / 64] |= 1ull << (i % 64);
	struct text_hit *all = xmalloc(n * sizeof *all), top[25];
	for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		for (int filt = 0; filt < 2; filt++) {
			long nall = search(t, queries[qi], filt ? allowed : NULL, n, all);
			CHECK(nall > 0);
			static const size_t ks[] = { 1, 10, 25 };
			for (size_t ki = 0; ki < 3; ki++) {
				long ntop =
					search(t, queries[qi], filt ? allowed : NULL, ks[ki], top);
				CHECK_EQ_INT(ntop, (size_t)nall < ks[ki] ? (size_t)nall : ks[ki]);
				CHECK(memcmp(top, all, (size_t)ntop * sizeof *top) == 0);
			}
		}
	}
	free(all);
	free(allowed);
	text_index_close(t);
	lh_buf_free(&buf);
	free_corpus(docs, n);
}

/* The top 10 of each of 10 parts, merged, is the top 10 of the whole (the
 * searcher's merge), pruning included. */
TEST(search_text_split_top_k_merges_to_whole)
{
	const size_t n = 5000, nparts = 10, per = n / nparts;
	char **docs = make_corpus(n, 3);
	struct lh_buf whole, parts[10];
	struct text_index *tw, *tp[10];
	CHECK(build((const char *const *)docs, n, &whole) == 0);
	tw = open_buf(&whole);
	CHECK(tw != NULL);
	for (size_t p = 0; p < nparts; p++) {
		CHECK(build((const char *const *)docs + p * per, per, &parts[p]) == 0);
		tp[p] = open_buf(&parts[p]);
		CHECK(tp[p] != NULL);
	}
	const char *qtext = "forklift operator osha janitor";
	struct text_query q;
	text_query_parse(qtext, strlen(qtext), &q);
	uint64_t df[8] = { 0 }, docs_sum = 0, len_sum = 0;
	for (size_t p = 0; p < nparts; p++) {
		docs_sum += text_index_docs(tp[p]);
		len_sum += text_index_total_len(tp[p]);
		for (size_t i = 0; i < q.nterms; i++)
			df[i] += text_index_df(tp[p], q.terms[i], strlen(q.terms[i]));
	}
	struct text_stats st = { docs_sum, len_sum, df };
	struct text_hit a[10], b[100];
	size_t na = 0, nb = 0;
	CHECK(text_index_search(tw, &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, 10, a, &na) == 0);
	CHECK_EQ_INT(na, 10);
	for (size_t p = 0; p < nparts; p++) {
		size_t np = 0;
		CHECK(text_index_search(tp[p], &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, 10, b + nb,
					&np) == 0);
		for (size_t i = 0; i < np; i++)
			b[nb + i].doc += (uint32_t)(p * per);
		nb += np;
	}
	qsort(b, nb, sizeof *b, hit_ref_cmp);
	CHECK(nb >= 10);
	CHECK(memcmp(a, b, sizeof a) == 0);
	text_query_free(&q);
	text_index_close(tw);
	lh_buf_free(&whole);
	for (size_t p = 0; p < nparts; p++) {
		text_index_close(tp[p]);
		lh_buf_free(&parts[p]);
	}
	free_corpus(docs, n);
}

/* A long list's head (impact points, skip table) is checked: wrong counts
 * are refused by open, a skip entry or impact point that lies is caught by
 * text_index_check, and a search over it stays in bounds. */
TEST(search_text_long_list_head_corruptions)
{
	const char *texts[300];
	for (size_t i = 0; i < 300; i++)
		texts[i] = i % 7 ? "alpha alpha beta" : "alpha";
	struct lh_buf buf;
	CHECK(build(texts, 300, &buf) == 0);
	struct text_index *t = open_buf(&buf);
	CHECK(t != NULL);
	CHECK_EQ_INT(text_index_df(t, "alpha", 5), 300);
	text_index_close(t);
	/* layout: header 48, doc lengths 1200, 2 entries, "alphabeta", then
	 * alpha's list: u32 npoints, points, 3 skip entries, postings */
	const size_t list = 48 + 1200 + 32 + 9;
	uint32_t np = (uint32_t)(unsigned char)buf.data[list];
	CHECK_EQ_INT(np, 2); /* (1, 1) and (2, 3) */
	char *c = xmalloc(buf.len);
	struct lh_error err = { 0 };
	memcpy(c, buf.data, buf.len);
	put32(c + list, 0);
	CHECK(open_fails(c, buf.len));
	put32(c + list, IMPACTS_MAX_FOR_TEST + 1);
	CHECK(open_fails(c, buf.len));
	/* an impact point that understates tf: check refuses */
	memcpy(c, buf.data, buf.len);
	put32(c + list + 4 + 8, 1); /* (2, 3) -> (1, 3) */
	t = text_index_open(c, buf.len, &err);
	CHECK(t != NULL);
	CHECK(text_index_check(t, &err) == -1);
	lh_error_clear(&err);
	text_index_close(t);
	/* a skip entry with a wrong last doc or end: check refuses, search and
	 * a pruned search stay in bounds */
	const size_t skips = list + 4 + 8 * np;
	static const uint32_t bad_values[] = { 0, 5, 299, 100000, 0xffffffffu };
	for (size_t e = 0; e < 3; e++) {
		for (size_t field = 0; field < 2; field++) {
			for (size_t v = 0; v < sizeof bad_values / sizeof bad_values[0]; v++) {
				memcpy(c, buf.data, buf.len);
				put32(c + skips + 8 * e + 4 * field, bad_values[v]);
				if (memcmp(c, buf.data, buf.len) == 0)
					continue;
				t = text_index_open(c, buf.len, &err);
				CHECK(t != NULL);
				CHECK(text_index_check(t, &err) == -1);
				lh_error_clear(&err);
				struct text_hit hits[3];
				long nh = search(t, "alpha beta", NULL, 3, hits);
				CHECK(nh >= -1 && nh <= 3);
				text_index_close(t);
			}
		}
	}
	free(c);
	lh_buf_free(&buf);
}

/* More than 64 query terms the part knows: the heap path (no pruning)
 * matches BM25 computed from the raw words, and scores the same docs
 * bit-identically when the docs are split into parts. */
TEST(search_text_many_terms_heap_path)
{
	const size_t n = 3000, nparts = 3, per = n / nparts;
	static char words[100][16];
	const char *qterms[100];
	char qtext[800];
	size_t ql = 0;
	for (int w = 0; w < 100; w++) {
		snprintf(words[w], sizeof words[w], "w%u", (unsigned)w);
		qterms[w] = words[w];
		size_t l = strlen(words[w]);
		memcpy(qtext + ql, words[w], l);
		qtext[ql + l] = ' ';
		ql += l + 1;
	}
	qtext[ql] = '\0';
	char **docs = xcalloc(n, sizeof *docs);
	uint64_t seed = 11;
	for (size_t i = 0; i < n; i++) {
		char line[256];
		size_t len = 0;
		unsigned nw = (unsigned)(rng_next(&seed) % 16);
		line[0] = '\0';
		for (unsigned w = 0; w < nw; w++)
			len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", w ? " " : "",
						words[rng_next(&seed) % 100]);
		docs[i] = xstrdup(line);
	}
	struct lh_buf whole, parts[3];
	CHECK(build((const char *const *)docs, n, &whole) == 0);
	struct text_index *tw = open_buf(&whole), *tp[3];
	CHECK(tw != NULL);
	struct text_hit *want = xmalloc(n * sizeof *want), *got = xmalloc(n * sizeof *got);
	size_t nwant = brute_force(docs, n, qterms, 100, want);
	CHECK_EQ_INT(search(tw, qtext, NULL, n, got), nwant);
	for (size_t i = 0; i < nwant; i++)
		CHECK(fabsf(got[i].score - want[i].score) <= 1e-5f * want[i].score);
	struct text_query q;
	text_query_parse(qtext, strlen(qtext), &q);
	CHECK_EQ_INT(q.nterms, 100);
	uint64_t df[100] = { 0 }, docs_sum = 0, len_sum = 0;
	for (size_t p = 0; p < nparts; p++) {
		CHECK(build((const char *const *)docs + p * per, per, &parts[p]) == 0);
		tp[p] = open_buf(&parts[p]);
		CHECK(tp[p] != NULL);
		docs_sum += text_index_docs(tp[p]);
		len_sum += text_index_total_len(tp[p]);
		for (size_t i = 0; i < q.nterms; i++)
			df[i] += text_index_df(tp[p], q.terms[i], strlen(q.terms[i]));
	}
	struct text_stats st = { docs_sum, len_sum, df };
	size_t na = 0, nb = 0;
	CHECK(text_index_search(tw, &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, n, got, &na) == 0);
	for (size_t p = 0; p < nparts; p++) {
		size_t np = 0;
		CHECK(text_index_search(tp[p], &q, &st, TEXT_BM25_K1, TEXT_BM25_B, NULL, n,
					want + nb, &np) == 0);
		for (size_t i = 0; i < np; i++)
			want[nb + i].doc += (uint32_t)(p * per);
		nb += np;
	}
	qsort(want, nb, sizeof *want, hit_ref_cmp);
	CHECK_EQ_INT(nb, na);
	CHECK(memcmp(want, got, na * sizeof *got) == 0);
	text_query_free(&q);
	free(want);
	free(got);
	text_index_close(tw);
	lh_buf_free(&whole);
	for (size_t p = 0; p < nparts; p++) {
		text_index_close(tp[p]);
		lh_buf_free(&parts[p]);
	}
	free_corpus(docs, n);
}
