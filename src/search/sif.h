/* sif.h — Smooth Inverse Frequency sentence embeddings (Arora, Liang, Ma,
 * "A Simple but Tough-to-Beat Baseline for Sentence Embeddings", ICLR 2017):
 * the word weights the builtin embedder applies, and the common component
 * an index removes from every embedding it stores and every query it runs.
 *
 * Pure functions, thread-safe. Computed in double, rounded to float once,
 * in a fixed order, so the same input gives the same bits on every thread
 * and run. docs/embeddings.md says the formulas in words.
 */
#ifndef LH_SEARCH_SIF_H
#define LH_SEARCH_SIF_H
#include <stddef.h>
#include <stdint.h>

/* SIF's smoothing constant a (the paper's recommended 1e-3; its Figure 2
 * shows a flat optimum from 1e-4 to 1e-3). */
#define SIF_A 1e-3

/* The N-th harmonic number H_N = 1 + 1/2 + ... + 1/N (0 for N = 0),
 * summed in double from 1/N up to 1 (smallest first): O(N) (about 1 ms for
 * the GloVe file's 341,479 words, once per embedder open), but only IEEE
 * division and addition, so the weights are the same bits with any C
 * library (a log()-based series would depend on libm's rounding). */
double sif_harmonic(uint64_t n);

/* The weight a / (a + p(w)) of the word with 1-based frequency rank `rank`
 * in a vocabulary of `count` words, p from Zipf's law:
 * p(rank r) = 1 / (r * H_count). rank 0 or rank > count is weight 0. */
double sif_weight(uint64_t rank, uint64_t count);
/* The same with H_count precomputed (sif_harmonic(count)): what the
 * embedder calls per token. */
double sif_weight_h(uint64_t rank, double h_count);

/* SIF's iterations of power iteration and its fixed start (design note in
 * sif.c). */
#define SIF_POWER_ITERATIONS 300

/* The first principal component of the n rows of vecs[n*dim] (uncentred,
 * as in the paper: the top eigenvector of X^T X), unit length, into
 * pc_out[dim]; its sign makes its largest-magnitude coordinate positive.
 * Deterministic: fixed start, SIF_POWER_ITERATIONS iterations. Returns 0,
 * or -1 (pc_out all zeros) if there are no rows or every row is zero. */
int sif_component(const float *vecs, size_t n, unsigned dim, float *pc_out);

/* v -= (v . pc) pc, then L2-normalise v. pc is unit length (or all zeros:
 * then only the normalisation). A zero v stays zero; a v whose remainder is
 * under SIF_ZERO_NORM long (v was along pc) becomes zero. */
#define SIF_ZERO_NORM 1e-6
void sif_remove(float *v, unsigned dim, const float *pc);

#endif
