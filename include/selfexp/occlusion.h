#ifndef SELFEXP_OCCLUSION_H
#define SELFEXP_OCCLUSION_H
/*
 * Occlusion (DESIGN.md section 6): value_i = f(x) - f(x without token i).
 * Like lime.h, in the two halves a run needs: the perturbations before any
 * model query, the importances from the answers afterwards.
 *
 *	unsigned char *m = sx_occlusion_masks(n);
 *	... query the model on each of the n masks, fill p[0..n) ...
 *	rc = sx_occlusion_values(p_x, p, n, value);
 */
#include <stddef.h>

/*
 * The n keep-masks over n tokens, row-major n x n bytes: row i keeps every
 * token but i. Returned to the caller to free(); NULL when n is 0.
 */
unsigned char *sx_occlusion_masks(size_t n);

/*
 * value[i] = p_x - p[i] for i in 0..n, p[i] the model's P(positive) on row
 * i of the masks. Returns 0, or -1 when p_x or any p[i] is not finite (an
 * answer is missing): then the values are not an explanation, although every
 * one is written.
 */
int sx_occlusion_values(double p_x, const double *p, size_t n, double *value);

#endif
