/* feedback.c — the re-rank math of search feedback (feedback.h has the
 * rule; ADR 0190). Pure. */
#include "search/feedback.h"

#include <math.h>
#include <stdlib.h>

/* The counted votes: mean score weighted by similarity, and the closest. */
static int counted(const struct feedback_vote *v, size_t n, const struct feedback_params *p,
		   double *mean, size_t *best)
{
	double sw = 0, ss = 0;
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(v[i].sim >= p->sim_min) || v[i].sim <= 0)
			continue;
		sw += v[i].sim;
		ss += v[i].sim * v[i].score;
		if (!any || v[i].sim > v[*best].sim)
			*best = i;
		any = 1;
	}
	if (!any)
		return 0;
	*mean = ss / sw;
	return 1;
}

int feedback_adjust(const struct feedback_vote *v, size_t n, const struct feedback_params *p,
		    double top, double *delta, size_t *why)
{
	double mean = 0;
	size_t best = 0;
	if (!counted(v, n, p, &mean, &best))
		return 0;
	double span = 1.0 - p->sim_min;
	double w = span > 0 ? (v[best].sim - p->sim_min) / span : 1.0;
	if (w > 1)
		w = 1;
	if (w < 0)
		w = 0;
	/* a vote exactly at the threshold still counts a little: its row
	 * shows why it was looked at, and moves by at most a hair */
	if (w < 1e-3)
		w = 1e-3;
	*delta = p->boost * top * mean * w;
	*why = best;
	return 1;
}

int feedback_may_inject(const struct feedback_vote *v, size_t n, const struct feedback_params *p)
{
	double mean = 0;
	size_t best = 0;
	if (!counted(v, n, p, &mean, &best))
		return 0;
	return mean > 0 && v[best].sim >= p->inject_min;
}

double feedback_cosine(const float *a, const float *b, unsigned dim)
{
	double ab = 0, aa = 0, bb = 0;
	for (unsigned i = 0; i < dim; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (aa <= 0 || bb <= 0)
		return 0;
	return ab / (sqrt(aa) * sqrt(bb));
}

static int cand_cmp(const void *x, const void *y)
{
	const struct feedback_cand *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->part != b->part)
		return a->part < b->part ? -1 : 1;
	if (a->row != b->row)
		return a->row < b->row ? -1 : 1;
	return 0;
}

void feedback_sort(struct feedback_cand *c, size_t n)
{
	qsort(c, n, sizeof *c, cand_cmp);
}
