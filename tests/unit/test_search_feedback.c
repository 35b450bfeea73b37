/* test_search_feedback.c — the re-rank math of search feedback
 * (src/search/feedback.h, ADR 0190): which votes count, the weighted mean
 * and the closeness weight, demotion, the injection rule, cosine, and the
 * order with ties. */
#include "test.h"

#include "search/feedback.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const struct feedback_params P = { 0.80, 0.90, 1.0 };

static int near(double a, double b)
{
	return fabs(a - b) < 1e-12;
}

TEST(search_feedback_far_votes_do_not_count)
{
	struct feedback_vote v[] = { { 0.79, 1.0, 0 }, { 0.5, -1.0, 1 }, { -0.9, 1.0, 2 } };
	double delta = 123;
	size_t why = 77;
	CHECK_EQ_INT(feedback_adjust(v, 3, &P, 0.04, &delta, &why), 0);
	CHECK(delta == 123 && why == 77);   /* untouched */
	CHECK_EQ_INT(feedback_adjust(v, 0, &P, 0.04, &delta, &why), 0);
	CHECK_EQ_INT(feedback_may_inject(v, 3, &P), 0);
}

TEST(search_feedback_boost_is_weighted_by_closeness)
{
	/* one vote at sim 1: the full boost, one top score */
	struct feedback_vote one[] = { { 1.0, 1.0, 4 } };
	double delta;
	size_t why;
	CHECK(feedback_adjust(one, 1, &P, 0.04, &delta, &why));
	CHECK(near(delta, 0.04));
	CHECK_EQ_INT(why, 0);
	/* sim 0.9: nine tenths of it */
	struct feedback_vote close[] = { { 0.9, 1.0, 4 } };
	CHECK(feedback_adjust(close, 1, &P, 0.04, &delta, &why));
	CHECK(near(delta, 0.036));
	/* the boost scales it */
	struct feedback_params p2 = P;
	p2.boost = 2.5;
	CHECK(feedback_adjust(close, 1, &p2, 0.04, &delta, &why));
	CHECK(near(delta, 0.09));
	/* a score of 0.5 moves half as far */
	struct feedback_vote weak[] = { { 1.0, 0.5, 4 } };
	CHECK(feedback_adjust(weak, 1, &P, 0.04, &delta, &why));
	CHECK(near(delta, 0.02));
}

TEST(search_feedback_mean_of_votes_and_the_closest_explains)
{
	/* +1 at 0.9, -1 at 0.85, a far +1 ignored: mean (0.9 - 0.85) / 1.75 */
	struct feedback_vote v[] = { { 0.3, 1.0, 0 }, { 0.85, -1.0, 1 }, { 0.9, 1.0, 2 } };
	double delta;
	size_t why;
	CHECK(feedback_adjust(v, 3, &P, 1.0, &delta, &why));
	CHECK(near(delta, (0.9 - 0.85) / 1.75 * 0.9));
	CHECK_EQ_INT(why, 2);   /* the closest counted vote */
}

TEST(search_feedback_demotes)
{
	struct feedback_vote v[] = { { 0.95, -1.0, 0 } };
	double delta;
	size_t why;
	CHECK(feedback_adjust(v, 1, &P, 0.04, &delta, &why));
	CHECK(delta < 0);
	CHECK(near(delta, -0.04 * 0.95));
	CHECK_EQ_INT(feedback_may_inject(v, 1, &P), 0);   /* never added for a bad rating */
}

TEST(search_feedback_injects_only_when_very_close)
{
	struct feedback_vote close[] = { { 0.95, 1.0, 0 } };
	struct feedback_vote fair[] = { { 0.89, 1.0, 0 } };
	struct feedback_vote mixed[] = { { 0.95, 1.0, 0 }, { 0.94, -1.0, 1 }, { 0.93, -1.0, 2 } };
	CHECK_EQ_INT(feedback_may_inject(close, 1, &P), 1);
	CHECK_EQ_INT(feedback_may_inject(fair, 1, &P), 0);    /* boosts, never adds */
	CHECK_EQ_INT(feedback_may_inject(mixed, 3, &P), 0);   /* the votes' mean is < 0 */
}

TEST(search_feedback_cosine)
{
	float a[3] = { 1, 0, 0 }, b[3] = { 0, 2, 0 }, c[3] = { 3, 0, 0 }, z[3] = { 0, 0, 0 };
	float d[3] = { 1, 1, 0 };
	CHECK(near(feedback_cosine(a, b, 3), 0));
	CHECK(near(feedback_cosine(a, c, 3), 1));
	CHECK(near(feedback_cosine(a, z, 3), 0));
	CHECK(fabs(feedback_cosine(a, d, 3) - 1 / sqrt(2.0)) < 1e-7);
	/* never past 1, whatever the rounding */
	float e[3] = { 0.1f, 0.2f, 0.7f };
	CHECK(feedback_cosine(e, e, 3) <= 1.0);
	CHECK(feedback_cosine(a, a, 3) == 1.0);
}

TEST(search_feedback_words_and_overlap)
{
	uint64_t p[FEEDBACK_MAX_WORDS], q[FEEDBACK_MAX_WORDS], r[FEEDBACK_MAX_WORDS];
	const char *past = "forkift opertor", *now = "Please find a FORKIFT opertors for next week";
	const char *other = "registered nurse for the ICU";
	size_t np = feedback_words(past, strlen(past), p, FEEDBACK_MAX_WORDS);
	size_t nq = feedback_words(now, strlen(now), q, FEEDBACK_MAX_WORDS);
	size_t nr = feedback_words(other, strlen(other), r, FEEDBACK_MAX_WORDS);
	CHECK_EQ_INT(np, 2);
	CHECK_EQ_INT(nq, 6);   /* please find forkift opertor next week: "a", "for" are stop words */
	CHECK_EQ_INT(nr, 3);
	CHECK(near(feedback_overlap(p, np, q, nq), 1.0));   /* every past word, case and plural aside */
	CHECK(near(feedback_overlap(q, nq, p, np), 2.0 / 6));
	CHECK(near(feedback_overlap(p, np, r, nr), 0));
	CHECK(near(feedback_overlap(p, 0, q, nq), 0));
	/* repeated words count once; the cap holds */
	const char *rep = "nurse nurse nurses NURSE";
	CHECK_EQ_INT(feedback_words(rep, strlen(rep), r, FEEDBACK_MAX_WORDS), 1);
	CHECK_EQ_INT(feedback_words(now, strlen(now), r, 2), 2);
}

TEST(search_feedback_sort_breaks_ties_by_part_and_row)
{
	struct feedback_cand c[] = { { 0.5, 1, 3, 0 }, { 0.7, 2, 0, 1 }, { 0.5, 0, 9, 2 },
				     { 0.5, 1, 2, 3 }, { -0.1, 0, 0, 4 } };
	feedback_sort(c, 5);
	CHECK_EQ_INT(c[0].index, 1);
	CHECK_EQ_INT(c[1].index, 2);   /* 0.5, part 0 */
	CHECK_EQ_INT(c[2].index, 3);   /* 0.5, part 1 row 2 */
	CHECK_EQ_INT(c[3].index, 0);
	CHECK_EQ_INT(c[4].index, 4);
}

TEST(search_feedback_similarity_counts_unknown_words)
{
	/* all words known: the cosine */
	CHECK(near(feedback_similarity(0.9, 1, 1, 0.5), 0.9));
	/* "farmacy technician" vs "maintanence technician": each embeds as
	 * "technician" (cosine 1), half their words unknown */
	CHECK(near(feedback_similarity(1.0, 0.5, 0.5, 0.5), 0.5));
	/* the same misspelled words again: the overlap */
	CHECK(near(feedback_similarity(0.0, 0.0, 0.0, 1.0), 1.0));
	CHECK(near(feedback_similarity(0.8, 1.0, 0.75, 0.2), 0.6));
	char w[8][FEEDBACK_WORD_BYTES];
	const char *q = "Forklifts for the night shift";
	CHECK_EQ_INT(feedback_word_texts(q, strlen(q), w, 8), 3);   /* "for", "the" left out */
	CHECK_EQ_STR(w[0], "forklift");
	CHECK_EQ_STR(w[2], "shift");
}
