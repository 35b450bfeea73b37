/* sif.c — SIF word weights, the common component and its removal (see
 * sif.h).
 *
 * DESIGN NOTES
 * 1. Bit-reproducible: every sum is in double, in a fixed order, one
 *    thread; results are rounded to float once at the end. Only IEEE
 *    +, -, *, / and sqrt (correctly rounded everywhere) are used, no libm
 *    transcendental: the same bits with any C library. (GCC contracts
 *    a*b+c into an FMA only under -ffp-contract=fast, off with -std=c17.)
 * 2. sif_component builds C = X^T X (dim x dim, double) once, then runs
 *    SIF_POWER_ITERATIONS steps of v <- Cv / |Cv| from a fixed start
 *    (v_j = 1 + j / dim, not orthogonal to a component whose entries are
 *    not balanced around zero — word-vector averages never are). The
 *    top eigenvalue of an uncentred X^T X of SIF vectors dominates the next
 *    (the "common discourse" direction), so 300 steps converge far below
 *    float precision; the count is fixed, not adaptive, so the result does
 *    not depend on a tolerance test.
 */
#include "search/sif.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double sif_harmonic(uint64_t n)
{
	double h = 0;
	for (uint64_t i = n; i >= 1; i--)
		h += 1.0 / (double)i;
	return h;
}

double sif_weight_h(uint64_t rank, double h_count)
{
	if (rank == 0 || h_count <= 0)
		return 0;
	double p = 1.0 / ((double)rank * h_count);
	return SIF_A / (SIF_A + p);
}

double sif_weight(uint64_t rank, uint64_t count)
{
	if (rank == 0 || rank > count)
		return 0;
	return sif_weight_h(rank, sif_harmonic(count));
}

int sif_component(const float *vecs, size_t n, unsigned dim, float *pc_out)
{
	int rc = -1;
	double *c = NULL, *v = NULL, *w = NULL;
	memset(pc_out, 0, sizeof *pc_out * dim);
	if (n == 0 || dim == 0)
		return -1;
	c = calloc((size_t)dim * dim, sizeof *c);
	v = calloc(dim, sizeof *v);
	w = calloc(dim, sizeof *w);
	if (!c || !v || !w)
		goto out;
	for (size_t r = 0; r < n; r++) {
		const float *x = vecs + r * dim;
		for (unsigned i = 0; i < dim; i++) {
			double xi = x[i];
			if (xi == 0)
				continue;
			double *row = c + (size_t)i * dim;
			for (unsigned j = i; j < dim; j++)
				row[j] += xi * (double)x[j];
		}
	}
	for (unsigned i = 0; i < dim; i++)       /* mirror the upper triangle */
		for (unsigned j = 0; j < i; j++)
			c[(size_t)i * dim + j] = c[(size_t)j * dim + i];
	for (unsigned j = 0; j < dim; j++)
		v[j] = 1.0 + (double)j / dim;
	for (int it = 0; it < SIF_POWER_ITERATIONS; it++) {
		double norm = 0;
		for (unsigned i = 0; i < dim; i++) {
			double s = 0;
			const double *row = c + (size_t)i * dim;
			for (unsigned j = 0; j < dim; j++)
				s += row[j] * v[j];
			w[i] = s;
			norm += s * s;
		}
		norm = sqrt(norm);
		if (norm == 0)
			goto out;                  /* every row zero: no component */
		for (unsigned i = 0; i < dim; i++)
			v[i] = w[i] / norm;
	}
	unsigned big = 0;
	for (unsigned i = 1; i < dim; i++)
		if (fabs(v[i]) > fabs(v[big]))
			big = i;
	double sign = v[big] < 0 ? -1.0 : 1.0;
	for (unsigned i = 0; i < dim; i++)
		pc_out[i] = (float)(sign * v[i]);
	rc = 0;
out:
	free(c);
	free(v);
	free(w);
	return rc;
}

void sif_remove(float *v, unsigned dim, const float *pc)
{
	double d = 0, norm = 0;
	for (unsigned i = 0; i < dim; i++)
		d += (double)v[i] * (double)pc[i];
	/* two passes over v instead of a buffer: dim is small */
	for (unsigned i = 0; i < dim; i++) {
		double x = (double)v[i] - d * (double)pc[i];
		norm += x * x;
	}
	norm = sqrt(norm);
	if (!(norm >= SIF_ZERO_NORM)) {
		memset(v, 0, sizeof *v * dim);
		return;
	}
	for (unsigned i = 0; i < dim; i++)
		v[i] = (float)(((double)v[i] - d * (double)pc[i]) / norm);
}
