#ifndef SELFEXP_STATS_H
#define SELFEXP_STATS_H
/*
 * Statistics for the harness (wraps GSL; its types never leave stats.c).
 *
 * Undefined values. A statistic that does not exist for its input (the
 * Spearman correlation of a constant vector, the mean of an empty sample, a
 * test on zero non-zero differences) is reported as NaN, never as 0, and the
 * functions that can meet that case also return SX_STATS_UNDEFINED. Input
 * samples may contain NaN for "undefined" observations: the summaries below
 * skip them (paired ones skip the pair) and report the n actually used.
 *
 * Randomness. Every random draw comes from a struct sx_rng created from an
 * explicit 64-bit seed; derive per-purpose seeds with sx_seed_derive() so that
 * a review's stream depends only on (run seed, purpose, review id), not on the
 * order in which reviews are processed or how the run is sharded.
 */
#include <stddef.h>
#include <stdint.h>

#include "selfexp/err.h"

/* Returned (>0, not an error) when the statistic is undefined; the value is NaN. */
#define SX_STATS_UNDEFINED 1

/* Default number of bootstrap resamples. */
#define SX_STATS_BOOTSTRAP_B 2000

/* ---- Random stream ---------------------------------------------------- */

/*
 * A Mersenne Twister (gsl_rng_mt19937) stream. MT19937 takes a 32-bit seed:
 * the 64-bit seed is folded (high xor low word) into it.
 */
struct sx_rng;

struct sx_rng *sx_rng_new(uint64_t seed);
void sx_rng_free(struct sx_rng *rng); /* NULL is a no-op */
/* Uniform double in [0, 1). */
double sx_rng_uniform(struct sx_rng *rng);
/* Uniform integer in [0, n); n must be >= 1 (n == 0 returns 0). Any size_t n. */
size_t sx_rng_below(struct sx_rng *rng, size_t n);
/*
 * A seed for one purpose ("lime", "bootstrap", ...) and one item id (review
 * id, metric name; may be NULL = ""): the first 8 bytes of
 * SHA-256("selfexp-seed-v1" NUL run_seed(8 bytes, big-endian) purpose NUL id).
 */
uint64_t sx_seed_derive(uint64_t run_seed, const char *purpose, const char *id);

/* ---- Ranks and correlation -------------------------------------------- */

/*
 * Ranks 1..n of x (ascending) into rank, with tied values sharing the average
 * of their ranks (e.g. {10, 20, 20, 30} -> {1, 2.5, 2.5, 4}). x must not
 * contain NaN.
 */
void sx_stats_rank_avg(const double *x, size_t n, double *rank);
/*
 * Spearman's rho = Pearson correlation of the average ranks of x and y.
 * Returns 0 and *rho in [-1, 1], or SX_STATS_UNDEFINED with *rho = NaN when
 * n < 2, either vector is constant, or any value is NaN.
 */
int sx_stats_spearman(const double *x, const double *y, size_t n, double *rho);

/* ---- Weighted ridge regression ---------------------------------------- */

/*
 * y ~ intercept + X beta, weights w, penalty alpha on beta only (sklearn
 * Ridge with sample_weight, as lime uses it): X and y are centred by their
 * weighted means, (Xc' W Xc + alpha I) beta = Xc' W yc is solved by Cholesky,
 * intercept = mean_w(y) - mean_w(X) . beta.
 */
struct sx_ridge {
	size_t d;
	double intercept;
	double *coef; /* owned, d values */
};

#define SX_RIDGE_INIT { .d = 0, .intercept = 0.0, .coef = NULL }

/*
 * X is row-major n x d. w may be NULL (all weights 1); weights must be >= 0
 * with a positive sum; alpha >= 0 (with alpha 0 the system must be positive
 * definite). On error out is left released and a negative SX_E* is returned.
 */
int sx_stats_ridge_fit(const double *X, size_t n, size_t d, const double *y, const double *w,
		       double alpha, struct sx_ridge *out, struct sx_err *err);
void sx_stats_ridge_release(struct sx_ridge *m);
/* intercept + x . coef for one point x of m->d values. */
double sx_stats_ridge_predict(const struct sx_ridge *m, const double *x);
/*
 * Weighted coefficient of determination of m on (X, y, w):
 * 1 - sum w (y - yhat)^2 / sum w (y - mean_w y)^2. NaN when y is constant
 * (sklearn would report 1.0 or 0.0 there; we do not invent a value).
 */
double sx_stats_ridge_score(const struct sx_ridge *m, const double *X, size_t n, const double *y,
			    const double *w);

/* ---- Summaries with bootstrap intervals ------------------------------- */

struct sx_summary {
	size_t n;     /* observations used (NaN excluded) */
	double mean;  /* NaN when n == 0 */
	double sd;    /* sample standard deviation (n - 1); NaN when n < 2 */
	double ci_lo; /* 95 % percentile bootstrap interval of the mean; */
	double ci_hi; /* NaN when n == 0, both = the value when n == 1 */
};

/*
 * Summary of x[0..n). The interval: B resamples of the n used values with
 * replacement (stream from seed), the mean of each, and the 2.5 % and 97.5 %
 * quantiles of those means (linear interpolation between order statistics,
 * R type 7). B == 0 means SX_STATS_BOOTSTRAP_B.
 */
void sx_stats_summary(const double *x, size_t n, size_t B, uint64_t seed, struct sx_summary *out);

struct sx_paired {
	size_t n;         /* pairs used: both a_i and b_i not NaN */
	double mean_a;
	double mean_b;
	double mean_diff; /* mean of a_i - b_i */
	double ci_lo;     /* paired bootstrap (pairs resampled) 95 % interval of mean_diff */
	double ci_hi;
	size_t n_nonzero; /* pairs with a_i != b_i, the Wilcoxon sample size */
	double w_plus;    /* Wilcoxon statistic: sum of the ranks of the positive differences */
	double p_value;   /* Wilcoxon signed-rank two-sided p; NaN when n_nonzero == 0 */
	int exact;        /* 1 if p_value is from the exact distribution */
};

/*
 * Paired comparison of aligned samples a, b. Wilcoxon signed-rank test of
 * the differences d = a - b:
 * - zero differences are dropped before ranking (Wilcoxon's rule, scipy's
 *   zero_method="wilcox"); n_nonzero counts what is left;
 * - |d| is ranked with average ranks for ties; W+ sums the ranks of d > 0;
 * - n_nonzero <= SX_WILCOXON_EXACT_MAX: the exact permutation distribution of
 *   W+ given those (possibly tied) ranks, each of the 2^n_nonzero sign
 *   patterns equally likely, two-sided p = min(1, 2 P(W+ <= min(W+, W-)));
 *   five tied positive differences give 2/32 = 0.0625;
 * - above it, the normal approximation: mean m(m+1)/4, variance
 *   m(m+1)(2m+1)/24 - sum over tie groups of (t^3 - t)/48, continuity
 *   correction 0.5 toward the mean.
 * The exact counts stay exact integers in a double up to 2^53, and the table
 * costs about m^3 / 2 additions (60,000 at m = 50): cheap.
 */
#define SX_WILCOXON_EXACT_MAX 50
void sx_stats_paired(const double *a, const double *b, size_t n, size_t B, uint64_t seed,
		     struct sx_paired *out);
/*
 * Only the test: returns 0, or SX_STATS_UNDEFINED with *p = NaN when every
 * difference is zero (or n == 0). NaN pairs are skipped. w_plus, n_nonzero
 * and exact may be NULL.
 */
int sx_stats_wilcoxon(const double *a, const double *b, size_t n, double *p, double *w_plus,
		      size_t *n_nonzero, int *exact);

/*
 * Holm step-down adjustment of p[0..n) into adj (may be p itself):
 * sorted ascending p_(1) <= ... <= p_(m), adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)).
 * NaN p-values stay NaN and are not counted in m.
 */
void sx_stats_holm(const double *p, size_t n, double *adj);

/*
 * Expected calibration error with 10 equal-width bins of confidence:
 * bin b = [b/10, (b+1)/10) for b = 0..8 and [0.9, 1] for b = 9;
 * ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b|. Pairs whose
 * confidence is NaN or outside [0, 1] are skipped. correct[i] is 0 or 1.
 * Returns 0, or SX_STATS_UNDEFINED with *ece = NaN when no pair is usable.
 */
#define SX_ECE_BINS 10
int sx_stats_ece(const double *confidence, const unsigned char *correct, size_t n, double *ece);

#endif
