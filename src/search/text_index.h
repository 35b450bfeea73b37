/* text_index.h — the BM25 text section of an index part: built once from the
 * rows of one data object, then opened in place (mapped bytes from storaged)
 * and searched with the corpus statistics of the WHOLE dataset version.
 *
 * Terms are tokenize()'s tokens after token_stem() (search/tokenize.h), so
 * the index, the query and the highlighter (highlight.h) agree on what a
 * word is. The byte format is in text_index.c's DESIGN NOTES and in
 * docs/search.md "Text index format"; why we keep our own index rather than
 * SQLite FTS5 is ADR 0146.
 */
#ifndef LH_SEARCH_TEXT_INDEX_H
#define LH_SEARCH_TEXT_INDEX_H
#include "search/tokenize.h"

#include <stddef.h>
#include <stdint.h>

struct lh_buf;
struct lh_error;

/* BM25's free parameters (Robertson & Zaragoza, "The Probabilistic Relevance
 * Framework: BM25 and Beyond", 2009, section 3.4: k1 in [1.2, 2.0], b =
 * 0.75; Lucene's and FTS5's defaults). SPEC 11 uses these unless configured. */
#define TEXT_BM25_K1 1.2f
#define TEXT_BM25_B 0.75f

/* The section's first 8 bytes. */
#define TEXT_INDEX_MAGIC "LHTX0001"

/* ---- Build --------------------------------------------------------------
 * Docs are dense ordinals 0..n-1 (the row's position in its data object).
 * Call text_builder_add for every doc, in non-decreasing doc order, even
 * for an empty text (the doc still counts, with length 0); calling it again
 * with the same doc adds to that doc (as if the texts were concatenated with
 * a space between). A doc that goes backwards makes finish fail (500
 * "internal": a caller bug, not bad data). The doc count is the last doc
 * + 1. */
struct text_builder;

/* A new, empty builder. Never NULL. */
struct text_builder *text_builder_new(void);
/* Tokenize, stem and count `text` (len bytes, need not be NUL-terminated)
 * for `doc`. */
void text_builder_add(struct text_builder *b, uint32_t doc, const char *text, size_t len);
/* The number of docs so far (last doc + 1). */
uint32_t text_builder_docs(const struct text_builder *b);
/* Append the section's bytes to `out` (initialised by the caller, whose cap
 * must hold them: else 413 "too_large") and free `b`, also on failure.
 * 0, or -1 with err. */
int text_builder_finish(struct text_builder *b, struct lh_buf *out, struct lh_error *err);
/* Free a builder that will not be finished. NULL is fine. */
void text_builder_free(struct text_builder *b);

/* ---- Read ---------------------------------------------------------------
 * The bytes come from storage, so they are hostile: text_index_open checks
 * the header, every section size and offset, the term table (offsets
 * increasing, terms 1..TOKEN_MAX_BYTES bytes in strictly increasing byte
 * order, df in 1..docs, each list's size possible for its df and head) and
 * the doc lengths (their sum is the header's total) — O(terms + docs),
 * copying nothing. Postings are decoded with a bounds check on every byte
 * and checked as they are read (docs ascending and < docs, tf <= the doc's
 * length, exactly df postings filling the term's bytes, blocks ending where
 * their skip entries say): text_index_search fails on a bad one, and
 * text_index_check reads them all (and checks the score bounds they carry). */
struct text_index;

/* Open the section at bytes[0..len) in place: `bytes` must outlive the
 * index (no alignment needed). NULL with a 502 "bad_index_part" error
 * saying what is wrong. */
struct text_index *text_index_open(const void *bytes, size_t len, struct lh_error *err);
void text_index_close(struct text_index *t);
/* Decode every postings list: 0, or -1 with a 502 "bad_index_part" error.
 * O(postings): for the fuzzer, tests and a builder's check, not per query. */
int text_index_check(const struct text_index *t, struct lh_error *err);
uint32_t text_index_docs(const struct text_index *t);
/* The sum of the docs' lengths in terms. */
uint64_t text_index_total_len(const struct text_index *t);
/* Doc `doc`'s length in terms (0 for doc >= docs). */
uint32_t text_index_doc_len(const struct text_index *t, uint32_t doc);
/* The number of docs containing `term` (a stemmed term, len bytes); 0 when
 * none does. */
uint32_t text_index_df(const struct text_index *t, const char *term, size_t len);
/* The number of distinct terms. */
uint32_t text_index_terms(const struct text_index *t);
/* Term i (< text_index_terms) in byte order: its bytes (not NUL-terminated,
 * inside the mapped section), *len of them; NULL past the end. */
const char *text_index_term(const struct text_index *t, uint32_t i, size_t *len);

/* ---- Query --------------------------------------------------------------
 * A query: its distinct stemmed terms, sorted by byte order (strcmp: terms
 * hold no NUL), which is the fixed order scores are summed in. */
struct text_query {
	char (*terms)[TOKEN_MAX_BYTES + 1];
	size_t nterms;
};

/* Tokenize + stem + de-duplicate + sort q[0..len). An empty or word-less
 * query gives nterms 0 (search then finds nothing). Always 0; `out` is
 * filled (free it with text_query_free). */
int text_query_parse(const char *q, size_t len, struct text_query *out);
/* Free the terms, not the struct. Safe on a zeroed struct. */
void text_query_free(struct text_query *q);

/* Corpus statistics of the WHOLE version (summed by the caller over all its
 * parts: docs and total_len with text_index_docs/_total_len, df[i] with
 * text_index_df of q->terms[i]), so scores do not depend on how a version
 * was split into parts (SPEC 11 "Always complete"). */
struct text_stats {
	uint64_t docs;
	uint64_t total_len;
	const uint64_t *df; /* per query term, q->nterms of them */
};

struct text_hit {
	uint32_t doc;
	float score;
};

/* BM25 of every doc of t that contains >= 1 query term and whose bit is set
 * in `allowed` (NULL = all; bit i%64 of allowed[i/64], which must hold
 * text_index_docs(t) bits), the best k into out[k] (score desc, doc asc on
 * ties), their number in *nout (<= k): exact, though docs that cannot reach
 * the top k are skipped unread (MaxScore). `st` NULL uses t's own
 * statistics (a part searched alone). Per term and doc
 *     idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
 * with idf = ln(1 + (N - df + 0.5) / (df + 0.5)), N = st->docs, avgdl =
 * st->total_len / N (df is clamped to [1, N], so idf > 0; avgdl 0 counts as
 * 1), summed in double in q's term order and rounded to float once: the
 * same stats give bit-identical scores however the docs were split into
 * parts. Thread-safe on one index. 0, or -1 when a postings list is corrupt
 * or k1 < 0 or b is outside [0, 1] (then *nout is 0). */
int text_index_search(const struct text_index *t, const struct text_query *q,
		      const struct text_stats *st, float k1, float b, const uint64_t *allowed,
		      size_t k, struct text_hit *out, size_t *nout);

#endif
