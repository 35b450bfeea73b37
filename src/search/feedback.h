/* feedback.h — the re-rank math of search feedback (SPEC 13; docs/search.md
 * "Feedback"; ADR 0190): how past ratings of similar queries move a
 * search's candidates, and when a rated row the search missed may be
 * added. Pure functions (no I/O, no allocation beyond the caller's
 * arrays), unit-tested (tests/unit/test_search_feedback.c); queryd's
 * search_feedback.c feeds them the feedback set and the candidates.
 *
 * The rule, per candidate row r of a search whose query embedding is q:
 *   votes(r) = the past ratings (query p, row r, score s) with
 *              sim = cos(q, p) >= sim_min
 *   m  = sum(s * sim) / sum(sim)                  the votes' mean, in [-1, 1]
 *   w  = (max sim - sim_min) / (1 - sim_min)      how close the closest is, (0, 1]
 *   score(r) += boost * top * m * w               top: the search's best plain score
 * A rated row that is not a candidate is added (with that adjustment as
 * its whole score) only when m > 0 and its closest vote has
 * sim >= inject_min (a "very close" past query). Rows are then ordered by
 * the new score, ties by (part, row) as the plain search orders them.
 */
#ifndef LH_SEARCH_FEEDBACK_H
#define LH_SEARCH_FEEDBACK_H
#include <stddef.h>
#include <stdint.h>

/* Thresholds, frozen from the tuning split of bench/feedback_bench.py
 * (bench/README.md "Feedback"). */
struct feedback_params {
	double sim_min;      /* a past query counts from this cosine on */
	double inject_min;   /* a missed row may be added from this cosine on */
	double boost;        /* the adjustment's scale, in units of the top score */
};

/* The frozen defaults (bench/README.md "Feedback"). */
#define FEEDBACK_SIM_MIN 0.80
#define FEEDBACK_INJECT_MIN 0.90
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
 * zeros), computed in double. */
double feedback_cosine(const float *a, const float *b, unsigned dim);

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
