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
 * intercept = mean_w(y) - mean_w(X) . beta. A target constant over the
 * positive weights is taken as its own mean exactly, so its fit is exactly
 * flat (every coefficient 0) instead of rounding noise of mixed sign.
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
 * 1 - sum w (y - yhat)^2 / sum w (y - mean_w y)^2. When the denominator is
 * zero, sklearn's r2_score convention (which lime reports through
 * Ridge.score): 1.0 when every prediction is exact, else 0.0. A target that
 * is constant over the positive weights has a zero denominator exactly, not
 * whatever the rounding of its weighted mean leaves; and sx_stats_ridge_fit
 * fits it exactly (coefficients 0, intercept the constant), so its score is
 * 1.0. NaN only when the weights sum to zero.
 */
double sx_stats_ridge_score(const struct sx_ridge *m, const double *X, size_t n, const double *y,
			    const double *w);

/* ---- Summaries with intervals ----------------------------------------- */

/*
 * How a 95 % interval of a mean is computed. The name (sx_interval_name) is
 * the "interval" field of summary.json. Coverage of each, simulated for
 * n = 10, 30, 100 on normal, skewed and Bernoulli data: BENCHMARKS.md
 * ("Interval coverage", bench/coverage.sh).
 *
 * SX_INTERVAL_BCA_EXPANDED ("bca_expanded"), the studentized interval's
 * fallback (for means and for paired differences): BCa (Efron 1987) computed at an expanded nominal level. B resamples
 * of the n values with replacement give bootstrap means t*_b; the bias
 * correction z0 = Phi^-1((#{t* < mean} + #{t* = mean} / 2) / B), clamped to
 * [1/(2B), 1 - 1/(2B)]; the acceleration, from the jackknife of the mean,
 * a = sum (x_i - mean)^3 / (6 (sum (x_i - mean)^2)^(3/2)); the interval is the
 * quantiles (R type 7) of the t* at Phi(z0 + (z0 + z) / (1 - a (z0 + z))) for
 * z = -c and z = +c. Plain BCa takes c = Phi^-1(0.975) = 1.96; the expanded
 * one c = sqrt(n / (n - 1)) t_{n-1}(0.975) (Hesterberg 2015, "What teachers
 * should know about the bootstrap", the expanded percentile interval), which
 * undoes the bootstrap's narrowness at small n (2.38 at n = 10, 2.08 at
 * n = 30, 1.99 at n = 100, -> 1.96): plain BCa covers a normal mean 90 % of
 * the time at n = 10, the expanded one 95 %.
 * SX_INTERVAL_BCA ("bca"): the same with c = 1.96.
 * SX_INTERVAL_CLOPPER_PEARSON ("clopper_pearson"), for proportions (0/1
 * values: accuracy, DF_MIT, parse failures), k ones in n: the exact binomial
 * interval [B^-1(0.025; k, n - k + 1), B^-1(0.975; k + 1, n - k)] (B^-1 the
 * Beta quantile), 0 when k = 0 and 1 when k = n. Its coverage is at least
 * 0.95 at every p and n, where Wilson's dips to 0.84 (n = 10) or 0.90
 * (n = 30) for p near 0 or 1, where parse failures and decision flips live.
 * SX_INTERVAL_WILSON ("wilson"): the Wilson score interval (k + z^2/2) /
 * (n + z^2) +- z sqrt(k (n - k) / n + z^2 / 4) / (n + z^2), z = 1.96, with
 * [0, ...] exactly when k = 0 and [..., 1] when k = n; narrower, kept for the
 * benchmark. Both: no resampling, no seed; when a value is neither 0 nor 1
 * the interval falls back to SX_INTERVAL_BCA_EXPANDED and out->interval says
 * so.
 * SX_INTERVAL_PERCENTILE ("percentile"): the 2.5 % and 97.5 % quantiles of
 * the t*; selfexp's interval before BCa, kept for the benchmark.
 * SX_INTERVAL_BASIC ("basic"): the percentile interval reflected about the
 * estimate, [2 est - q(97.5 %), 2 est - q(2.5 %)]: where the bootstrap
 * replicates sit above the estimate by its own bias, this takes that bias
 * off (the ECE's interval, sx_stats_ece_interval).
 * SX_INTERVAL_STUDENTIZED ("studentized"), summary.json's interval for
 * continuous values and for paired differences of them (sx_stats_paired: the
 * differences are resampled): the bootstrap-t interval. Each of the B resamples (drawn
 * as for the others) gives t*_b = (mean*_b - mean) / (sd*_b / sqrt(n)); the
 * interval is [mean - q(97.5 %) se, mean - q(2.5 %) se] with se = sd / sqrt(n)
 * and q the quantiles (R type 7) of the t*. It is the one interval of this
 * list that comes near covering a skewed mean at small n (lognormal(0, 1),
 * seeds 1 and 2: 0.907 / 0.898 at n = 10 and 0.930 / 0.916 at n = 30, where
 * the expanded BCa gives 0.868 / 0.870 and 0.915 / 0.906), at the price of
 * width there. A resample of n equal values (sd* = 0) has
 * no t*: when one occurs (heavy ties, few distinct values) the interval is
 * SX_INTERVAL_BCA_EXPANDED instead, and out->interval says so.
 *
 * SX_INTERVAL_NEWCOMBE ("newcombe"): the interval of a paired difference of
 * proportions, where every a_i and b_i is 0 or 1 (sx_stats_paired_as,
 * sx_stats_newcombe_paired).
 *
 * Degenerate samples: n == 0 gives NaN; with the bootstrap intervals n == 1,
 * or n values all equal, give [value, value] (the proportions' intervals
 * are proper ones for any n >= 1).
 */
enum sx_interval {
	SX_INTERVAL_BCA_EXPANDED,
	SX_INTERVAL_BCA,
	SX_INTERVAL_CLOPPER_PEARSON,
	SX_INTERVAL_WILSON,
	SX_INTERVAL_PERCENTILE,
	SX_INTERVAL_BASIC,
	SX_INTERVAL_STUDENTIZED,
	SX_INTERVAL_NEWCOMBE,
	SX_INTERVAL_COUNT
};

/*
 * "bca_expanded", "bca", "clopper_pearson", "wilson", "percentile", "basic", "studentized",
 * "newcombe".
 */
const char *sx_interval_name(enum sx_interval how);

struct sx_summary {
	size_t n;     /* observations used (NaN excluded) */
	double mean;  /* NaN when n == 0 */
	double sd;    /* sample standard deviation (n - 1); NaN when n < 2 */
	double ci_lo; /* 95 % interval of the mean (see enum sx_interval); */
	double ci_hi; /* NaN when n == 0 */
	enum sx_interval interval; /* the method that gave ci_lo, ci_hi */
};

/*
 * Summary of x[0..n) (NaN skipped) with an interval computed as how says.
 * The bootstrap intervals draw B resamples (B == 0: SX_STATS_BOOTSTRAP_B)
 * from a stream seeded with seed; the proportions' intervals ignore B and
 * seed.
 */
void sx_stats_summary_as(const double *x, size_t n, enum sx_interval how, size_t B,
			 uint64_t seed, struct sx_summary *out);
/* sx_stats_summary_as(..., SX_INTERVAL_BCA_EXPANDED, ...). */
void sx_stats_summary(const double *x, size_t n, size_t B, uint64_t seed, struct sx_summary *out);

struct sx_paired {
	size_t n;         /* pairs used: both a_i and b_i not NaN */
	double mean_a;
	double mean_b;
	double mean_diff; /* mean of a_i - b_i */
	double ci_lo;     /* 95 % interval of mean_diff: NEWCOMBE for 0/1 pairs, */
	double ci_hi;     /* else STUDENTIZED (its BCA_EXPANDED fallback) */
	enum sx_interval interval; /* that method */
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
/*
 * The interval of mean_diff is the studentized bootstrap of the differences
 * (B resamples seeded with seed), or the expanded BCa where a resample of
 * them is constant. sx_stats_paired_as with how = SX_INTERVAL_NEWCOMBE, for
 * the 0/1 metrics (accuracy, DF_MIT, parse failures, METRIC_defined): where
 * every a_i and b_i of the pairs used is 0 or 1, mean_diff is a difference of
 * two proportions measured on the same reviews, and the interval is
 * Newcombe's (sx_stats_newcombe_paired), no resampling, no seed; where one is
 * not, the studentized bootstrap as above, and out->interval says so. Any
 * other how is taken as SX_INTERVAL_STUDENTIZED.
 */
void sx_stats_paired_as(const double *a, const double *b, size_t n, enum sx_interval how,
			size_t B, uint64_t seed, struct sx_paired *out);
/* sx_stats_paired_as(..., SX_INTERVAL_STUDENTIZED, ...). */
void sx_stats_paired(const double *a, const double *b, size_t n, size_t B, uint64_t seed,
		     struct sx_paired *out);
/*
 * Newcombe's (1998, Statistics in Medicine 17, method 10) square-and-add
 * interval of p_a - p_b for n paired 0/1 observations, n11 of them (1, 1),
 * n10 (1, 0), n01 (0, 1) and n00 (0, 0); p_a = (n11 + n10) / n,
 * p_b = (n11 + n01) / n. With [l_a, u_a], [l_b, u_b] the Wilson intervals of
 * p_a and p_b and psi the correlation of the margins,
 *   lo = p_a - p_b - sqrt((p_a - l_a)^2 + (u_b - p_b)^2 - 2 psi (p_a - l_a)(u_b - p_b)),
 *   hi = p_a - p_b + sqrt((p_b - l_b)^2 + (u_a - p_a)^2 - 2 psi (p_b - l_b)(u_a - p_a)),
 * clipped to [-1, 1]; psi = (A - n/2) / sqrt(M) when A = n11 n00 - n10 n01 >
 * n/2, A / sqrt(M) when A < 0, else 0 (M the product of the four margins;
 * psi = 0 when one is 0), as in Fagerland, Lydersen & Laake (2017), "Statistical
 * analysis of contingency tables", section 8.5. Without discordant pairs the
 * interval is not [0, 0]: 36 concordant pairs give about [-0.097, 0.097].
 * n == 0 gives NaN.
 */
void sx_stats_newcombe_paired(size_t n11, size_t n10, size_t n01, size_t n00, double *lo,
			      double *hi);
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
 * The family is the defined p-values: a NaN p (a test that was not made,
 * e.g. every difference zero) stays NaN and is not counted in m. Returns m.
 */
size_t sx_stats_holm(const double *p, size_t n, double *adj);

/*
 * Expected calibration error with 10 equal-width bins of confidence:
 * bin b = [b/10, (b+1)/10) for b = 0..8 and [0.9, 1] for b = 9;
 * ECE = sum_b (n_b / N) |accuracy_b - mean confidence_b|. Pairs whose
 * confidence is NaN or outside [0, 1] are skipped. correct[i] is 0 or 1.
 * Returns 0, or SX_STATS_UNDEFINED with *ece = NaN when no pair is usable.
 */
#define SX_ECE_BINS 10
int sx_stats_ece(const double *confidence, const unsigned char *correct, size_t n, double *ece);

/*
 * The bins of sx_stats_ece, for a reliability diagram: bins[b] gets the
 * number of usable pairs in bin b, their mean confidence and their accuracy
 * (both NaN when the bin is empty). Returns the number of usable pairs.
 */
struct sx_ece_bin {
	size_t n;
	double confidence; /* mean confidence of the bin's pairs */
	double accuracy;   /* fraction correct */
};
size_t sx_stats_ece_bins(const double *confidence, const unsigned char *correct, size_t n,
			 struct sx_ece_bin bins[SX_ECE_BINS]);

/*
 * The ECE with a 95 % interval: the usable pairs are resampled B times
 * (B == 0: SX_STATS_BOOTSTRAP_B) from a stream seeded with seed, the ECE of
 * each resample computed, and the interval taken from those replicates as
 * how says: SX_INTERVAL_PERCENTILE, SX_INTERVAL_BCA, SX_INTERVAL_BCA_EXPANDED
 * (the acceleration from the leave-one-out ECEs, the jackknife), or
 * SX_INTERVAL_BASIC, which selfexp uses and any other value gives; every
 * interval is clipped to [0, 1]. Why basic: the plug-in ECE is biased upward
 * (|accuracy - confidence| of a bin never averages its noise away) and a
 * resample's ECE sits above the sample's by about as much, so the percentile
 * and BCa intervals lie above the true ECE of a well calibrated model
 * (simulated coverage 0 to 0.73 at a true ECE of 0.02), while the basic
 * interval covers 0.81 to 0.91 from a true ECE of 0.02 to 0.10, and 0.68 to
 * 0.79 at 0 (n = 30 to 300): BENCHMARKS.md. Returns 0, or
 * SX_STATS_UNDEFINED with everything NaN when no pair is usable; one usable
 * pair gives [ece, ece].
 */
struct sx_ece {
	size_t n;    /* usable pairs */
	double ece;  /* as sx_stats_ece */
	double ci_lo;
	double ci_hi;
	enum sx_interval interval;
};

int sx_stats_ece_interval(const double *confidence, const unsigned char *correct, size_t n,
			  enum sx_interval how, size_t B, uint64_t seed, struct sx_ece *out);

#endif
