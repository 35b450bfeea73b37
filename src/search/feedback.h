/* feedback.h — the re-rank math of search feedback (SPEC 13; docs/search.md
 * "Feedback"; ADR 0190): how past ratings of similar queries move a
 * search's candidates, and when a rated row the search missed may be
 * added. Pure functions (no I/O, no allocation beyond the caller's
 * arrays), unit-tested (tests/unit/test_search_feedback.c); queryd's
 * search_feedback.c feeds them the feedback set and the candidates.
 *
 * The similarity of this search's query q and a past query p is the
 * larger of
 *   - the cosine of their builtin embeddings, times the smaller share of
 *     each query's words that the embedder knows (a word it does not know
 *     adds nothing to an embedding: "farmacy technician" and "maintanence
 *     technician" both embed as "technician", cosine 1, yet they are not
 *     the same request), and
 *   - the share of p's words (stemmed, stop words left out) that q holds:
 *     a query with no word the embedder knows ("forkift opertor") has no
 *     embedding, yet the same words again are the same request.
 *
 * The rule, per candidate row r:
 *   votes(r) = the past ratings (query p, row r, score s) with
 *              sim(q, p) >= sim_min
 *   m  = sum(s * sim) / sum(sim)                  the votes' mean, in [-1, 1]
 *   score(r) += boost * top * m * max sim         top: the search's best plain score
 * A rated row that is not a candidate is added (with that adjustment as
 * its whole score) only when m > 0 and its closest vote has
 * sim >= inject_min (a "very close" past query). Rows are then ordered by
 * the new score, ties by (part, row) as the plain search orders them.
 */
#ifndef LH_SEARCH_FEEDBACK_H
#define LH_SEARCH_FEEDBACK_H
#include "search/tokenize.h"

#include <stddef.h>
#include <stdint.h>

/* Thresholds, frozen from the tuning split of bench/feedback_bench.py
 * (bench/README.md "Feedback"). */
struct feedback_params {
	double sim_min;      /* a past query counts from this cosine on */
	double inject_min;   /* a missed row may be added from this cosine on */
	double boost;        /* the adjustment's scale, in units of the top score */
};

/* The defaults, frozen from the tuning split of bench/feedback_bench.py
 * (bench/README.md "Feedback"): lift was the same from 0.70 to 0.95 and
 * cross-talk was 0 from 0.70 on, so the most careful of the best. */
#define FEEDBACK_SIM_MIN 0.95
#define FEEDBACK_INJECT_MIN 0.95
#define FEEDBACK_BOOST 1.0

/* One past rating that applies to a row: its query's similarity to this
 * search's query, its score, and which query (the caller's index). */
struct feedback_vote {
	double sim;
	double score;
	size_t query;
};

/* The adjustment a row gets from its votes (those with sim >= sim_min
 * count; the others are ignored): 1 and *delta, *why (the index in `v` of
 * the closest counted vote, the one a hit shows) when some vote counts,
 * else 0. `top` is the search's best plain score (> 0). */
int feedback_adjust(const struct feedback_vote *v, size_t n, const struct feedback_params *p,
		    double top, double *delta, size_t *why);

/* May a row the plain search missed be added for these votes? 1 when the
 * counted votes' mean is > 0 and the closest has sim >= inject_min. */
int feedback_may_inject(const struct feedback_vote *v, size_t n, const struct feedback_params *p);

/* Cosine similarity of two vectors of `dim` floats (0 when either is all
 * zeros), computed in double, within [-1, 1]. */
double feedback_cosine(const float *a, const float *b, unsigned dim);

/* A query's words as the overlap compares them: tokenize() and
 * token_stem() (the search's words), English stop words left out, each
 * word's 64-bit FNV-1a hash, sorted, distinct, at most `max`. Returns the
 * count. */
#define FEEDBACK_MAX_WORDS 64
size_t feedback_words(const char *text, size_t len, uint64_t *out, size_t max);
/* The same words as text (each NUL-terminated), in the query's order, not
 * deduplicated: for asking the embedder which it knows. */
#define FEEDBACK_WORD_BYTES (TOKEN_MAX_BYTES + 1)
size_t feedback_word_texts(const char *text, size_t len, char (*out)[FEEDBACK_WORD_BYTES],
			   size_t max);
/* The similarity above from its parts: cosine, the two known shares, the
 * overlap. */
double feedback_similarity(double cosine, double known_q, double known_p, double overlap);
/* The share of the past query's words that the new query holds, in [0, 1]
 * (0 when the past query has no word). */
double feedback_overlap(const uint64_t *past, size_t npast, const uint64_t *now, size_t nnow);

/* A candidate as the re-rank sees it: its score (adjusted in place) and
 * the (part, row) that breaks ties. */
struct feedback_cand {
	double score;
	uint32_t part, row;
	size_t index;        /* the caller's: where the candidate came from */
};

/* Sort candidates best first: higher score, then lower (part, row). */
void feedback_sort(struct feedback_cand *c, size_t n);

#endif
