/* search_feedback.h — what search_http.c asks of search_feedback.c: the
 * re-rank of a search's candidates with "feedback": true (SPEC 13; ADR
 * 0190; docs/search.md "Feedback"). POST /search/feedback itself is
 * search_route_feedback (search_int.h).
 */
#ifndef LH_QUERYD_SEARCH_FEEDBACK_H
#define LH_QUERYD_SEARCH_FEEDBACK_H
#include "common/json.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct qrun;
struct search;
struct sfb_set;
struct sversion;

/* A candidate of one dataset's search: the plain ranking's fused list
 * (search_http.c), adjusted and extended here. */
struct sfb_hit {
	double score;
	uint32_t part, row;
	uint32_t text_rank, vector_rank;   /* 0: not in that ranking */
	int moved;                         /* feedback changed its score: why_* set */
	const char *why_query;             /* borrowed from the set the caller holds */
	double why_score, why_sim;
};

/* Rows whose id satisfies `where` (an SQL condition over the version),
 * handed to each(part, row); search_http.c runs it like a `where`. */
typedef int (*sfb_each_fn)(void *ctx, uint32_t part, uint32_t row);
typedef int (*sfb_find_fn)(void *ctx, const char *where, sfb_each_fn each, void *each_ctx,
			   struct lh_error *err);

struct sfb_ctx {
	struct search *s;
	struct qrun *r;
	const struct sversion *v;
	int pinned;                        /* the search named "name@N" */
	const char *rid;
	int (*allowed)(const void *ctx, uint32_t part, uint32_t row);   /* the search's where */
	const void *allowed_ctx;
	sfb_find_fn find;
	void *find_ctx;
	double sim_min, inject_min, boost;   /* feedback.h's params (request or defaults) */
};

/* Re-rank hits[0..*n) (best first, plain scores) with what past ratings of
 * queries close to `text` taught; add rated rows the list misses when the
 * past query is very close (feedback.h). *hits may be reallocated (xrealloc)
 * and *n grow. On return the list is sorted by the new scores; *held is a
 * reference on the feedback set (the why_query strings live in it: release
 * it after the answer is made), or NULL; *info a JSON object for the
 * answer ({"version", "ratings", "close_queries"}) or NULL when the dataset
 * has no feedback. 0, or -1 with err. */
int search_feedback_apply(const struct sfb_ctx *c, const char *text, size_t len,
			  struct sfb_hit **hits, size_t *n, struct sfb_set **held, json_t **info,
			  struct lh_error *err);
void search_feedback_release(struct search *s, struct sfb_set *set);

#endif
