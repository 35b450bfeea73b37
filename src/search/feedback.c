/* feedback.c — the re-rank math of search feedback (feedback.h has the
 * rule; ADR 0190). Pure. */
#include "search/feedback.h"
#include "search/tokenize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
	double w = v[best].sim > 1 ? 1 : v[best].sim;
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
	double c = ab / (sqrt(aa) * sqrt(bb));
	return c > 1 ? 1 : c < -1 ? -1 : c;   /* rounding can pass 1 by an ulp */
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

/* Lucene's English stop words, as search_http.c leaves them out of a
 * query's terms (compared after token_stem). */
static const char *const stop_words[] = {
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
	"it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
	"these", "they", "this", "to", "was", "will", "with",
};

struct words_ctx {
	char (*out)[FEEDBACK_WORD_BYTES];
	size_t n, max;
};

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int word_cb(void *ctx, const char *word, size_t len, size_t src_off, size_t src_len)
{
	struct words_ctx *c = ctx;
	char w[TOKEN_MAX_BYTES + 1];
	(void)src_off;
	(void)src_len;
	if (c->n == c->max)
		return 1;   /* enough */
	if (len > TOKEN_MAX_BYTES)
		len = TOKEN_MAX_BYTES;
	memcpy(w, word, len);
	len = token_stem(w, len);
	w[len] = '\0';
	for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++) {
		char sw[TOKEN_MAX_BYTES + 1];
		size_t n = strlen(stop_words[i]);
		memcpy(sw, stop_words[i], n + 1);
		sw[token_stem(sw, n)] = '\0';
		if (!strcmp(sw, w))
			return 0;
	}
	memcpy(c->out[c->n++], w, len + 1);
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

size_t feedback_word_texts(const char *text, size_t len, char (*out)[FEEDBACK_WORD_BYTES],
			   size_t max)
{
	struct words_ctx c = { out, 0, max };
	tokenize(text, len, word_cb, &c);
	return c.n;
}

size_t feedback_words(const char *text, size_t len, uint64_t *out, size_t max)
{
	char words[FEEDBACK_MAX_WORDS][FEEDBACK_WORD_BYTES];
	size_t nw = feedback_word_texts(text, len, words,
					max < FEEDBACK_MAX_WORDS ? max : FEEDBACK_MAX_WORDS);
	for (size_t i = 0; i < nw; i++)
		out[i] = fnv1a(words[i], strlen(words[i]));
	qsort(out, nw, sizeof *out, u64_cmp);
	size_t n = 0;
	for (size_t i = 0; i < nw; i++)
		if (!n || out[n - 1] != out[i])
			out[n++] = out[i];
	return n;
}

double feedback_overlap(const uint64_t *past, size_t npast, const uint64_t *now, size_t nnow)
{
	size_t i = 0, j = 0, both = 0;
	if (!npast)
		return 0;
	while (i < npast && j < nnow) {   /* both sorted */
		if (past[i] == now[j]) {
			both++;
			i++;
			j++;
		} else if (past[i] < now[j]) {
			i++;
		} else {
			j++;
		}
	}
	return (double)both / (double)npast;
}

double feedback_similarity(double cosine, double known_q, double known_p, double overlap)
{
	double k = known_q < known_p ? known_q : known_p;
	double c = cosine * (k < 0 ? 0 : k > 1 ? 1 : k);
	return c > overlap ? c : overlap;
}
