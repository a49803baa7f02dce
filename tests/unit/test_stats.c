#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <math.h>

#include "selfexp/stats.h"

#define assert_near(a, b, tol) assert_true(fabs((double)(a) - (double)(b)) <= (tol))

/* ---- Random stream ---------------------------------------------------- */

static void test_rng(void **state)
{
	struct sx_rng *a = sx_rng_new(7), *b = sx_rng_new(7), *c = sx_rng_new(8);
	size_t i, hist[5] = { 0 }, differ = 0;

	(void)state;
	for (i = 0; i < 10000; i++) {
		double u = sx_rng_uniform(a), v = sx_rng_uniform(b);
		size_t k;

		assert_true(u >= 0 && u < 1);
		assert_true(u == v); /* same seed, same stream (bitwise) */
		differ += sx_rng_uniform(c) != u;
		k = sx_rng_below(a, 5);
		assert_int_equal(k, sx_rng_below(b, 5));
		assert_true(k < 5);
		hist[k]++;
	}
	assert_true(differ > 9900);
	for (i = 0; i < 5; i++)
		assert_true(hist[i] > 1800 && hist[i] < 2200);
	assert_int_equal(sx_rng_below(a, 1), 0);
	assert_int_equal(sx_rng_below(a, 0), 0);
	/* Wider than 32 bits still lands in range. */
	for (i = 0; i < 100; i++)
		assert_true(sx_rng_below(a, (size_t)1 << 40) < ((size_t)1 << 40));
	sx_rng_free(a);
	sx_rng_free(b);
	sx_rng_free(c);
	sx_rng_free(NULL);
}

static void test_seed_derive(void **state)
{
	(void)state;
	/*
	 * tests/unit/wilcoxon_ref.py "seed": struct.unpack(">Q", hashlib.sha256(b"selfexp-seed-v1\0" +
	 * struct.pack(">Q", 42) + b"lime" + b"\0" + b"sst2-test-17").digest()[:8])
	 */
	assert_true(sx_seed_derive(42, "lime", "sst2-test-17") == 0x2247ccccc19e698cULL);
	assert_true(sx_seed_derive(42, "lime", "a") != sx_seed_derive(42, "lime", "b"));
	assert_true(sx_seed_derive(42, "lime", "a") != sx_seed_derive(43, "lime", "a"));
	assert_true(sx_seed_derive(42, "lime", "a") != sx_seed_derive(42, "bootstrap", "a"));
	/* The NUL separator keeps ("ab", "c") and ("a", "bc") apart. */
	assert_true(sx_seed_derive(1, "ab", "c") != sx_seed_derive(1, "a", "bc"));
	assert_true(sx_seed_derive(1, NULL, NULL) == sx_seed_derive(1, "", ""));
}

/* ---- Ranks and Spearman ----------------------------------------------- */

static void test_rank_avg(void **state)
{
	const double x[6] = { 10, 20, 20, 30, 20, 5 };
	double r[6];

	(void)state;
	/* sorted: 5(1) 10(2) 20,20,20 (ranks 3,4,5 -> 4) 30(6) */
	sx_stats_rank_avg(x, 6, r);
	assert_near(r[0], 2, 0);
	assert_near(r[1], 4, 0);
	assert_near(r[2], 4, 0);
	assert_near(r[3], 6, 0);
	assert_near(r[4], 4, 0);
	assert_near(r[5], 1, 0);
}

static void test_spearman(void **state)
{
	const double x[4] = { 1, 2, 2, 3 }, y[4] = { 1, 3, 2, 4 };
	const double c[4] = { 0.5, 0.5, 0.5, 0.5 }, z[4] = { 4, 3, 2, 1 };
	double rho = 0;

	(void)state;
	/*
	 * ranks x = {1, 2.5, 2.5, 4}, ranks y = {1, 3, 2, 4}, both mean 2.5;
	 * dx = {-1.5, 0, 0, 1.5}, dy = {-1.5, 0.5, -0.5, 1.5};
	 * sxy = 2.25 + 2.25 = 4.5, sxx = 4.5, syy = 2.25 + .25 + .25 + 2.25 = 5;
	 * rho = 4.5 / sqrt(4.5 * 5) = 0.9486832980505138
	 */
	assert_int_equal(sx_stats_spearman(x, y, 4, &rho), 0);
	assert_near(rho, 0.9486832980505138, 1e-12);
	assert_int_equal(sx_stats_spearman(y, z, 4, &rho), 0);
	/* ranks y {1,3,2,4} vs z {4,3,2,1}: d = {-3,0,0,3}, 1 - 6*18/(4*15) = -0.8 */
	assert_near(rho, -0.8, 1e-12);
	/* Constant vector: undefined, NaN, never 0. */
	rho = 0;
	assert_int_equal(sx_stats_spearman(x, c, 4, &rho), SX_STATS_UNDEFINED);
	assert_true(isnan(rho));
	assert_int_equal(sx_stats_spearman(x, y, 1, &rho), SX_STATS_UNDEFINED);
	assert_true(isnan(rho));
}

/* ---- Ridge ------------------------------------------------------------ */

static void test_ridge(void **state)
{
	const double X[3] = { 0, 1, 2 }, y[3] = { 1, 3, 5 };
	const double X2[8] = { 1, 0, 0, 1, 1, 1, 0, 0 }, y2[4] = { 2, 3, 5, 0 };
	const double w2[4] = { 1, 2, 1, 0 };
	struct sx_ridge m = SX_RIDGE_INIT;
	struct sx_err err = SX_ERR_INIT;
	double pt[1] = { 3 };

	(void)state;
	/* alpha 0: exact line y = 1 + 2x, R^2 = 1 */
	assert_int_equal(sx_stats_ridge_fit(X, 3, 1, y, NULL, 0, &m, &err), 0);
	assert_near(m.coef[0], 2, 1e-12);
	assert_near(m.intercept, 1, 1e-12);
	assert_near(sx_stats_ridge_score(&m, X, 3, y, NULL), 1, 1e-12);
	assert_near(sx_stats_ridge_predict(&m, pt), 7, 1e-12);
	sx_stats_ridge_release(&m);
	/*
	 * alpha 1: xm = 1, ym = 3, Sxx = 2, Sxy = 4, beta = 4 / (2 + 1) = 4/3,
	 * intercept = 3 - 4/3 = 5/3; predictions 5/3, 3, 13/3, residuals
	 * -2/3, 0, 2/3, ss_res = 8/9, ss_tot = 8, R^2 = 1 - 1/9 = 8/9.
	 */
	assert_int_equal(sx_stats_ridge_fit(X, 3, 1, y, NULL, 1, &m, &err), 0);
	assert_near(m.coef[0], 4.0 / 3, 1e-12);
	assert_near(m.intercept, 5.0 / 3, 1e-12);
	assert_near(sx_stats_ridge_score(&m, X, 3, y, NULL), 8.0 / 9, 1e-12);
	sx_stats_ridge_release(&m);
	/*
	 * Weighted, d = 2, the zero-weight sample ignored: samples (1,0)->2 w1,
	 * (0,1)->3 w2, (1,1)->5 w1. sw = 4, xm = (2/4, 3/4), ym = (2+6+5)/4 = 13/4.
	 * Centred: (1/2,-3/4) yc -5/4; (-1/2,1/4) yc -1/4; (1/2,1/4) yc 7/4.
	 * A = Xc'WXc + I = [[1/4+2/4+1/4 +1, -3/8-2/8+1/8], [.., 9/16+2/16+1/16 +1]]
	 *   = [[2, -1/2], [-1/2, 7/4]]; rhs = Xc'Wyc = (-5/8+2/8+7/8, 15/16-2/16+7/16)
	 *   = (1/2, 5/4). det = 7/2 - 1/4 = 13/4; beta = (1/det) [[7/4, 1/2], [1/2, 2]] rhs
	 *   = (4/13)(7/8 + 5/8, 1/4 + 5/2) = (4/13)(3/2, 11/4) = (6/13, 11/13);
	 * intercept = 13/4 - (1/2 * 6/13 + 3/4 * 11/13) = 13/4 - 45/52 = 124/52 = 31/13.
	 */
	assert_int_equal(sx_stats_ridge_fit(X2, 4, 2, y2, w2, 1, &m, &err), 0);
	assert_near(m.coef[0], 6.0 / 13, 1e-12);
	assert_near(m.coef[1], 11.0 / 13, 1e-12);
	assert_near(m.intercept, 31.0 / 13, 1e-12);
	sx_stats_ridge_release(&m);
	/* Errors: no samples, negative alpha, zero weights, a singular system. */
	assert_true(sx_stats_ridge_fit(X, 0, 1, y, NULL, 1, &m, &err) < 0);
	assert_true(sx_stats_ridge_fit(X, 3, 1, y, NULL, -1, &m, &err) < 0);
	{
		const double zw[3] = { 0, 0, 0 }, same[3] = { 1, 1, 1 };

		assert_true(sx_stats_ridge_fit(X, 3, 1, y, zw, 1, &m, &err) < 0);
		assert_true(sx_stats_ridge_fit(same, 3, 1, y, NULL, 0, &m, &err) < 0);
		assert_non_null(strstr(err.msg, "positive definite"));
		/*
		 * Constant y: fitted exactly flat (coefficient 0, intercept the
		 * constant), and R^2 by sklearn's convention for a zero
		 * denominator: 1 for exact predictions ...
		 */
		const double third[3] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
		const double ww[3] = { 0.3, 0.7, 0.1 };

		assert_int_equal(sx_stats_ridge_fit(X, 3, 1, third, ww, 1, &m, &err), 0);
		assert_true(m.coef[0] == 0);
		assert_true(m.intercept == 1.0 / 3);
		assert_true(sx_stats_ridge_score(&m, X, 3, third, ww) == 1.0);
		/* ... 0 for inexact ones */
		m.coef[0] = 1e-10;
		assert_true(sx_stats_ridge_score(&m, X, 3, third, ww) == 0.0);
		sx_stats_ridge_release(&m);
		/* constant over the positive weights only: still constant */
		{
			const double yz[3] = { 1.0 / 3, 5, 1.0 / 3 }, wz[3] = { 0.3, 0, 0.1 };

			assert_int_equal(sx_stats_ridge_fit(X, 3, 1, yz, wz, 1, &m, &err), 0);
			assert_true(m.coef[0] == 0);
			assert_true(sx_stats_ridge_score(&m, X, 3, yz, wz) == 1.0);
			sx_stats_ridge_release(&m);
		}
	}
	assert_null(m.coef);
}

/* ---- Summaries -------------------------------------------------------- */

static void test_summary(void **state)
{
	const double x[5] = { 1, 2, NAN, 3, 4 }, same[4] = { 0.3, 0.3, 0.3, 0.3 };
	double big[200];
	struct sx_summary s1, s2, s3;
	size_t i;

	(void)state;
	/* n = 4 (NaN excluded), mean 2.5, sd = sqrt((2.25+.25+.25+2.25)/3) = sqrt(5/3) */
	sx_stats_summary(x, 5, 1000, 11, &s1);
	assert_int_equal(s1.n, 4);
	assert_near(s1.mean, 2.5, 1e-12);
	assert_near(s1.sd, 1.2909944487358056, 1e-12);
	assert_int_equal(s1.interval, SX_INTERVAL_BCA_EXPANDED);
	assert_true(s1.ci_lo <= s1.mean && s1.mean <= s1.ci_hi);
	assert_true(s1.ci_lo >= 1 && s1.ci_hi <= 4 && s1.ci_lo < s1.ci_hi);
	for (i = 0; i < 200; i++)
		big[i] = sin((double)i) * 3 + (double)(i % 7);
	sx_stats_summary(big, 200, 0, 1, &s2);
	assert_true(s2.ci_lo < s2.mean && s2.mean < s2.ci_hi);
	/* Normal-theory half width, expanded at n = 200 (1.977 sd / sqrt(n)): the bootstrap is close to it. */
	assert_near((s2.ci_hi - s2.ci_lo) / 2, 1.97 * s2.sd / sqrt(200.0), 0.15 * s2.sd / sqrt(200.0) * 1.97);
	/* n = 1: sd undefined, interval collapses on the value; n = 0: all NaN. */
	sx_stats_summary(x + 1, 2, 100, 3, &s1);
	assert_int_equal(s1.n, 1);
	assert_near(s1.mean, 2, 0);
	assert_true(isnan(s1.sd));
	assert_near(s1.ci_lo, 2, 0);
	assert_near(s1.ci_hi, 2, 0);
	sx_stats_summary(x + 2, 1, 100, 3, &s1);
	assert_int_equal(s1.n, 0);
	assert_true(isnan(s1.mean) && isnan(s1.sd) && isnan(s1.ci_lo) && isnan(s1.ci_hi));
	/* All values equal: the interval is the value exactly (no rounding of resampled sums). */
	sx_stats_summary(same, 4, 100, 3, &s3);
	assert_true(s3.ci_lo == 0.3 && s3.ci_hi == 0.3);
	assert_string_equal(sx_interval_name(SX_INTERVAL_BCA_EXPANDED), "bca_expanded");
	assert_string_equal(sx_interval_name(SX_INTERVAL_WILSON), "wilson");
	assert_string_equal(sx_interval_name(SX_INTERVAL_CLOPPER_PEARSON), "clopper_pearson");
	assert_string_equal(sx_interval_name(SX_INTERVAL_BASIC), "basic");
	assert_string_equal(sx_interval_name(SX_INTERVAL_BCA), "bca");
	assert_string_equal(sx_interval_name(SX_INTERVAL_PERCENTILE), "percentile");
}

/*
 * tests/unit/interval_ref.py ("iref.py" below) re-draws stats.c's resamples
 * (GSL's MT19937 and its uniform_int, rebuilt on Python's MT19937) and
 * computes every interval apart from stats.c with the standard library.
 */
static const double skew12[13] = { 0.05, 0.12, 0.2, 0.31, 0.33, 0.4, NAN,
				   0.52, 0.7, 0.95, 1.4, 2.2, 4.1 };

static void test_summary_intervals(void **state)
{
	struct sx_summary s, s2;

	(void)state;
	/* iref.py skew12 percentile s7, bca s7, bca_expanded s7 (the NaN skipped: n = 12) */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_PERCENTILE, 2000, 7, &s);
	assert_int_equal(s.n, 12);
	assert_int_equal(s.interval, SX_INTERVAL_PERCENTILE);
	assert_near(s.ci_lo, 0.41333333333333339, 1e-12);
	assert_near(s.ci_hi, 1.6351249999999991, 1e-12);
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA, 2000, 7, &s);
	assert_near(s.ci_lo, 0.48598096048696532, 1e-9);
	assert_near(s.ci_hi, 1.8568616198169854, 1e-9);
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA_EXPANDED, 2000, 7, &s);
	assert_int_equal(s.interval, SX_INTERVAL_BCA_EXPANDED);
	assert_near(s.ci_lo, 0.44607903425128742, 1e-9);
	assert_near(s.ci_hi, 2.0705063946003293, 1e-9);
	/* sx_stats_summary is the expanded BCa */
	sx_stats_summary(skew12, 13, 2000, 7, &s2);
	assert_true(s2.ci_lo == s.ci_lo && s2.ci_hi == s.ci_hi);
	/* The same seed gives the same interval, bit for bit. */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA_EXPANDED, 2000, 7, &s2);
	assert_true(s2.ci_lo == s.ci_lo && s2.ci_hi == s.ci_hi);
	/* The seed matters: seed 8 draws other resamples, iref.py skew12 bca_expanded s8. */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA_EXPANDED, 2000, 8, &s2);
	assert_true(s2.ci_lo != s.ci_lo && s2.ci_hi != s.ci_hi);
	assert_near(s2.ci_lo, 0.44161325072916474, 1e-9);
	assert_near(s2.ci_hi, 2.0902541950700351, 1e-9);
	/* ... and so does B. */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA_EXPANDED, 1999, 7, &s2);
	assert_true(s2.ci_lo != s.ci_lo || s2.ci_hi != s.ci_hi);
	/*
	 * The 64-bit seed is folded to MT19937's 32 bits (stats.h): 7 << 32 folds
	 * to the low word of (7 << 32) ^ 7, that is 7 (iref.py s(7<<32)).
	 */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA_EXPANDED, 2000, 7ULL << 32, &s2);
	assert_true(s2.ci_lo == s.ci_lo && s2.ci_hi == s.ci_hi);
	/*
	 * What BCa is for: on right-skewed data both ends move right of the
	 * percentile interval's, the upper one most.
	 */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_PERCENTILE, 2000, 7, &s2);
	assert_true(s.ci_lo > s2.ci_lo && s.ci_hi - s2.ci_hi > s.ci_lo - s2.ci_lo);
}

/* The bootstrap-t interval, and its fallback to the expanded BCa when a resample is constant. */
static void test_studentized(void **state)
{
	static const double ties4[] = { 0, 0, 0, 1 };
	struct sx_summary s, e;

	(void)state;
	/* iref.py skew12 studentized s7 */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_STUDENTIZED, 2000, 7, &s);
	assert_int_equal(s.n, 12);
	assert_int_equal(s.interval, SX_INTERVAL_STUDENTIZED);
	assert_string_equal(sx_interval_name(s.interval), "studentized");
	assert_near(s.ci_lo, 0.4137467901991897, 1e-9);
	assert_near(s.ci_hi, 2.7230013841313729, 1e-9);
	/* on right-skewed data its upper end reaches further than the expanded BCa's */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_BCA_EXPANDED, 2000, 7, &e);
	assert_true(s.ci_hi > e.ci_hi);
	/* iref.py ties4: a resample of four zeros has no t*: the expanded BCa, and it says so */
	sx_stats_summary_as(ties4, 4, SX_INTERVAL_STUDENTIZED, 2000, 7, &s);
	assert_int_equal(s.interval, SX_INTERVAL_BCA_EXPANDED);
	sx_stats_summary_as(ties4, 4, SX_INTERVAL_BCA_EXPANDED, 2000, 7, &e);
	assert_true(s.ci_lo == e.ci_lo && s.ci_hi == e.ci_hi);
	assert_near(s.ci_lo, 0, 1e-12);
	assert_near(s.ci_hi, 1, 1e-12);
	/* degenerate samples as for every bootstrap interval */
	sx_stats_summary_as(ties4 + 3, 1, SX_INTERVAL_STUDENTIZED, 2000, 7, &s);
	assert_true(s.ci_lo == 1 && s.ci_hi == 1);
	sx_stats_summary_as(ties4, 3, SX_INTERVAL_STUDENTIZED, 2000, 7, &s);
	assert_true(s.ci_lo == 0 && s.ci_hi == 0);
}

/* One proportion's interval of x[0..n) against iref.py's [lo, hi]; checks the method too. */
static void check_prop(const double *x, size_t n, enum sx_interval how, double lo, double hi)
{
	struct sx_summary s;

	sx_stats_summary_as(x, n, how, 0, 1, &s);
	assert_int_equal(s.interval, how);
	if (lo == 0)
		assert_true(s.ci_lo == 0);
	else
		assert_near(s.ci_lo, lo, 1e-10);
	if (hi == 1)
		assert_true(s.ci_hi == 1);
	else
		assert_near(s.ci_hi, hi, 1e-10);
}

static void test_summary_proportions(void **state)
{
	double d[30];
	struct sx_summary s;
	size_t i;

	(void)state;
	/*
	 * DF_MIT with p = 0.1 at n = 10 and no flip observed: the percentile
	 * bootstrap said [0, 0]. Clopper-Pearson's upper end is
	 * 1 - 0.025^(1/10) = 0.30850 by hand, Wilson's z^2 / (n + z^2) =
	 * 3.8415 / 13.8415 = 0.27753 (iref.py clopper_pearson 0/10, wilson 0/10).
	 */
	for (i = 0; i < 10; i++)
		d[i] = 0;
	check_prop(d, 10, SX_INTERVAL_CLOPPER_PEARSON, 0, 0.30849710781876072);
	check_prop(d, 10, SX_INTERVAL_WILSON, 0, 0.27753279986288915);
	sx_stats_summary_as(d, 10, SX_INTERVAL_PERCENTILE, 0, 1, &s);
	assert_true(s.ci_lo == 0 && s.ci_hi == 0);
	/* 1 of 10 */
	d[3] = 1;
	sx_stats_summary_as(d, 10, SX_INTERVAL_CLOPPER_PEARSON, 0, 1, &s);
	assert_near(s.mean, 0.1, 1e-15);
	check_prop(d, 10, SX_INTERVAL_CLOPPER_PEARSON, 0.0025285785444618125, 0.44501611702819532);
	check_prop(d, 10, SX_INTERVAL_WILSON, 0.017876213095072924, 0.40415002679523837);
	/* 5 of 10, symmetric about 1/2 */
	for (i = 0; i < 5; i++)
		d[i] = 1;
	check_prop(d, 10, SX_INTERVAL_CLOPPER_PEARSON, 0.18708602844739858, 0.81291397155260148);
	check_prop(d, 10, SX_INTERVAL_WILSON, 0.23659309051256405, 0.76340690948743595);
	/* 27 of 30, with a NaN that is skipped */
	for (i = 0; i < 30; i++)
		d[i] = i < 27 ? 1 : 0;
	d[29] = NAN;
	sx_stats_summary_as(d, 30, SX_INTERVAL_CLOPPER_PEARSON, 0, 1, &s);
	assert_int_equal(s.n, 29);
	d[29] = 0;
	check_prop(d, 30, SX_INTERVAL_CLOPPER_PEARSON, 0.73471154952579187, 0.97888286297027749);
	check_prop(d, 30, SX_INTERVAL_WILSON, 0.74378917420815926, 0.96540011125266578);
	/* all ones: [0.025^(1/10), 1] exactly at the top; no seed is used */
	for (i = 0; i < 10; i++)
		d[i] = 1;
	check_prop(d, 10, SX_INTERVAL_CLOPPER_PEARSON, 0.69150289218123917, 1);
	check_prop(d, 10, SX_INTERVAL_WILSON, 0.72246720013711074, 1);
	/* n = 1 has an interval too (one success: [0.025, 1]), n = 0 none */
	check_prop(d, 1, SX_INTERVAL_CLOPPER_PEARSON, 0.025, 1);
	sx_stats_summary_as(d, 1, SX_INTERVAL_WILSON, 0, 1, &s);
	assert_true(s.ci_lo > 0.2 && s.ci_lo < 0.21 && s.ci_hi == 1);
	sx_stats_summary_as(d, 0, SX_INTERVAL_CLOPPER_PEARSON, 0, 1, &s);
	assert_true(isnan(s.ci_lo) && isnan(s.ci_hi));
	/* Not a proportion: falls back to the expanded BCa, and says so. */
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_CLOPPER_PEARSON, 2000, 7, &s);
	assert_int_equal(s.interval, SX_INTERVAL_BCA_EXPANDED);
	assert_near(s.ci_lo, 0.44607903425128742, 1e-9);
	sx_stats_summary_as(skew12, 13, SX_INTERVAL_WILSON, 2000, 7, &s);
	assert_int_equal(s.interval, SX_INTERVAL_BCA_EXPANDED);
}

/* ---- Wilcoxon --------------------------------------------------------- */

/*
 * Reference p-values: tests/unit/wilcoxon_ref.py ("wref.py" below), pure
 * python3 without scipy (not installed here), written apart from stats.c.
 * Exact case: brute-force enumeration of all 2^m sign assignments of the
 * (average, possibly tied) ranks, p = min(1, 2 #{W+ <= min(W+, W-)} / 2^m),
 * or for m too large to enumerate the same distribution multiplied out as a
 * polynomial in Python integers. Normal case: var = m(m+1)(2m+1)/24 -
 * sum(t^3 - t)/48, z = max(|W+ - m(m+1)/4| - 0.5, 0) / sqrt(var),
 * p = erfc(z / sqrt 2). Zeros are dropped before ranking.
 */
static void test_wilcoxon_exact(void **state)
{
	const double a[8] = { 1.5, -0.5, 2.0, 3.1, 0.7, -1.2, 2.6, 0.0 };
	const double b[8] = { 0 };
	const double a10[10] = { 0.3, -0.1, 0.9, 1.4, -0.25, 0.6, 0.8, 1.1, -0.45, 0.2 };
	double p, wp;
	size_t m;
	int exact;

	(void)state;
	/*
	 * The 0 is dropped: m = 7, |d| ranks 0.5:1 0.7:2 1.2:3 1.5:4 2.0:5 2.6:6
	 * 3.1:7, negatives have ranks 1 and 3, W- = 4, W+ = 24. Subsets of 1..7
	 * with sum <= 4: {}, {1}, {2}, {3}, {4}, {1,2}, {1,3} = 7, p = 2*7/128.
	 */
	assert_int_equal(sx_stats_wilcoxon(a, b, 8, &p, &wp, &m, &exact), 0);
	assert_int_equal(m, 7);
	assert_int_equal(exact, 1);
	assert_near(wp, 24, 0);
	assert_near(p, 0.109375, 1e-12);
	/* wref.py: exact10 -> W+ = 46, p = 0.064453125 (= 66/1024) */
	assert_int_equal(sx_stats_wilcoxon(a10, b, 0, &p, NULL, NULL, NULL), SX_STATS_UNDEFINED);
	assert_true(isnan(p));
	{
		double z10[10] = { 0 };

		assert_int_equal(sx_stats_wilcoxon(a10, z10, 10, &p, &wp, &m, &exact), 0);
		assert_int_equal(exact, 1);
		assert_near(wp, 46, 0);
		assert_near(p, 0.064453125, 1e-12);
		/* All differences zero: undefined. */
		assert_int_equal(sx_stats_wilcoxon(z10, z10, 10, &p, NULL, &m, NULL),
				 SX_STATS_UNDEFINED);
		assert_int_equal(m, 0);
		assert_true(isnan(p));
	}
	/* Symmetric: all positive -> p = 2 / 2^7. */
	{
		const double pos[7] = { 1, 2, 3, 4, 5, 6, 7 }, zero[7] = { 0 };

		assert_int_equal(sx_stats_wilcoxon(pos, zero, 7, &p, NULL, NULL, NULL), 0);
		assert_near(p, 2.0 / 128, 1e-12);
		assert_int_equal(sx_stats_wilcoxon(zero, pos, 7, &p, NULL, NULL, NULL), 0);
		assert_near(p, 2.0 / 128, 1e-12);
	}
}

static void test_wilcoxon_ties_exact(void **state)
{
	const double five[5] = { 1, 1, 1, 1, 1 }, zero[16] = { 0 };
	const double d[10] = { 1, 1, -2, 3, 3, 3, -1, 4, 5, 0 };
	const double dz[16] = { 0, 2, -2, 2, 0, 1, -1, 3, 0.5, 2, 0, 3, -0.5, 2, 0, 4 };
	const double flips[8] = { 1, 1, 1, 1, 1, 1, 1, -1 };
	double p, wp;
	size_t m;
	int exact;

	(void)state;
	/*
	 * Five tied positive differences: every rank is 3, W+ = 15, and of the
	 * 2^5 sign patterns only "all positive" reaches 15 and only "all
	 * negative" 0: p = 2/32 = 0.0625 by hand (wref.py five_tied). The normal
	 * approximation would say 0.0369 (five_tied_norm): anti-conservative.
	 */
	assert_int_equal(sx_stats_wilcoxon(five, zero, 5, &p, &wp, &m, &exact), 0);
	assert_int_equal(m, 5);
	assert_int_equal(exact, 1);
	assert_near(wp, 15, 0);
	assert_near(p, 0.0625, 1e-15);
	/*
	 * Ties and a zero, m = 9; |d| ranks: 1,1,1 -> 2; 2 -> 4; 3,3,3 -> 6; 4 -> 8;
	 * 5 -> 9. W+ = 2+2+6+6+6+8+9 = 39 (negatives: 4, 2). Exact over those
	 * ranks: wref.py ties, p = 15/256 (the normal approximation: 0.05627).
	 */
	assert_int_equal(sx_stats_wilcoxon(d, zero, 10, &p, &wp, &m, &exact), 0);
	assert_int_equal(m, 9);
	assert_int_equal(exact, 1);
	assert_near(wp, 39, 0);
	assert_near(p, 15.0 / 256, 1e-15);
	/* Four zeros dropped, ties in four groups: wref.py zeros_ties, W+ 66, p = 73/2048. */
	assert_int_equal(sx_stats_wilcoxon(dz, zero, 16, &p, &wp, &m, &exact), 0);
	assert_int_equal(m, 12);
	assert_int_equal(exact, 1);
	assert_near(wp, 66, 0);
	assert_near(p, 73.0 / 2048, 1e-15);
	/*
	 * 0/1 data, seven flips one way and one the other: all ranks 4.5, W+ =
	 * 31.5, W- = 4.5; P(at most one positive sign) = 9/256, p = 9/128 (a sign
	 * test, as it should be; wref.py flips).
	 */
	assert_int_equal(sx_stats_wilcoxon(flips, zero, 8, &p, &wp, &m, &exact), 0);
	assert_int_equal(exact, 1);
	assert_near(wp, 31.5, 0);
	assert_near(p, 9.0 / 128, 1e-15);
}

/* wref.py dbound(m): signs and magnitudes with ties, then two zeros. */
static size_t dbound(size_t m, double *d)
{
	size_t i;

	for (i = 0; i < m; i++)
		d[i] = (double)((i % 7) + 1) * (i % 3 == 0 ? -1 : 1);
	d[m] = d[m + 1] = 0;
	return m + 2;
}

static void test_wilcoxon_normal(void **state)
{
	double zero[60] = { 0 }, d30[30], d[60], p, wp;
	size_t m, i, n;
	int exact;

	(void)state;
	/* m = 30 without ties: exact now; wref.py "n30": W+ 345, p = 1319415/2^26. */
	for (i = 0; i < 30; i++)
		d30[i] = (double)(i + 1) * (i % 4 == 0 ? -1 : 1) + 0.01 * (double)i;
	assert_int_equal(sx_stats_wilcoxon(d30, zero, 30, &p, &wp, &m, &exact), 0);
	assert_int_equal(exact, 1);
	assert_near(wp, 345, 0);
	assert_near(p, 1319415.0 / 67108864.0, 1e-15);
	/*
	 * The branch boundary, with ties and two zeros: m = SX_WILCOXON_EXACT_MAX
	 * = 50 is exact (wref.py m50_exact = 31749915877763 / 2^49; m50_norm would
	 * be 0.0572331), m = 51 is the normal approximation (m51_norm; m51_exact
	 * would be 0.0486883).
	 */
	n = dbound(50, d);
	assert_int_equal(sx_stats_wilcoxon(d, zero, n, &p, &wp, &m, &exact), 0);
	assert_int_equal(m, 50);
	assert_int_equal(exact, 1);
	assert_near(wp, 834.5, 0);
	assert_near(p, 31749915877763.0 / 562949953421312.0, 1e-15);
	n = dbound(51, d);
	assert_int_equal(sx_stats_wilcoxon(d, zero, n, &p, &wp, &m, &exact), 0);
	assert_int_equal(m, 51);
	assert_int_equal(exact, 0);
	assert_near(wp, 872.5, 0);
	assert_near(p, 0.049542621533808569, 1e-12);
}

static void test_paired(void **state)
{
	const double a[9] = { 1.5, 0.5, 2.0, 3.1, 0.7, -1.2, 2.6, 0.0, NAN };
	const double b[9] = { 0, 1.0, 0, 0, 0, 0, 0, 0, 1 };
	struct sx_paired r, r2;

	(void)state;
	/* Pair 8 is skipped (NaN); differences are those of test_wilcoxon_exact. */
	sx_stats_paired(a, b, 9, 2000, 5, &r);
	assert_int_equal(r.n, 8);
	assert_near(r.mean_a, 9.2 / 8, 1e-12);
	assert_near(r.mean_b, 1.0 / 8, 1e-12);
	assert_near(r.mean_diff, 8.2 / 8, 1e-12);
	assert_true(r.ci_lo < r.mean_diff && r.mean_diff < r.ci_hi);
	assert_int_equal(r.n_nonzero, 7);
	assert_near(r.p_value, 0.109375, 1e-12);
	/* the bootstrap-t of the 8 differences: iref.py paired studentized s5 */
	assert_int_equal(r.interval, SX_INTERVAL_STUDENTIZED);
	assert_near(r.ci_lo, -0.4467223984120392, 1e-9);
	assert_near(r.ci_hi, 2.2074664823760588, 1e-9);
	sx_stats_paired(a, b, 9, 2000, 5, &r2);
	assert_true(r.ci_lo == r2.ci_lo && r.ci_hi == r2.ci_hi);
	sx_stats_paired(a, b, 9, 2000, 6, &r2);
	assert_true(r.ci_lo != r2.ci_lo || r.ci_hi != r2.ci_hi);
	/* no pair: everything undefined */
	sx_stats_paired(a + 8, b + 8, 1, 100, 5, &r2);
	assert_int_equal(r2.n, 0);
	assert_true(isnan(r2.ci_lo) && isnan(r2.ci_hi) && isnan(r2.p_value));
}

/* Pairs of 0/1 values laid out as the cells (n11, n10, n01, n00) say, in that order. */
static size_t fill_cells(const size_t cell[4], double *a, double *b)
{
	static const double va[4] = { 1, 1, 0, 0 }, vb[4] = { 1, 0, 1, 0 };
	size_t k, i, n = 0;

	for (k = 0; k < 4; k++)
		for (i = 0; i < cell[k]; i++, n++) {
			a[n] = va[k];
			b[n] = vb[k];
		}
	return n;
}

/* Newcombe's paired interval, against iref.py's "newcombe N11 N10 N01 N00" lines. */
static void test_paired_proportions(void **state)
{
	static const struct {
		size_t cell[4];
		double lo, hi;
	} want[] = {
		/* Cavo et al. 2012, Fagerland et al. (2017) 8.5: -0.0621 (-0.1186 to -0.0046) */
		{ { 59, 6, 16, 80 }, -0.11862119563870994, -0.004625113933050061 },
		{ { 1, 1, 7, 12 }, -0.5069202266861409, -0.025559124164859837 },
		/* three flips of 36, all one way: the sign test's p is 0.25, and 0 is inside */
		{ { 0, 3, 0, 33 }, -0.027463976271024884, 0.21826691249272628 },
		/* no discordant pair: not [0, 0] */
		{ { 18, 0, 0, 18 }, -0.051752248634577273, 0.051752248634577273 },
		/* a positive correlation, continuity-corrected */
		{ { 20, 2, 1, 13 }, -0.077710550883255972, 0.13196612082406822 },
	};
	double a[161], b[161], lo, hi;
	struct sx_paired r;
	size_t k, n;

	(void)state;
	for (k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		sx_stats_newcombe_paired(want[k].cell[0], want[k].cell[1], want[k].cell[2],
					 want[k].cell[3], &lo, &hi);
		assert_near(lo, want[k].lo, 1e-12);
		assert_near(hi, want[k].hi, 1e-12);
		/* sx_stats_paired_as counts the cells itself */
		n = fill_cells(want[k].cell, a, b);
		sx_stats_paired_as(a, b, n, SX_INTERVAL_NEWCOMBE, 2000, 5, &r);
		assert_int_equal(r.interval, SX_INTERVAL_NEWCOMBE);
		assert_string_equal(sx_interval_name(r.interval), "newcombe");
		assert_near(r.ci_lo, want[k].lo, 1e-12);
		assert_near(r.ci_hi, want[k].hi, 1e-12);
	}
	/* the book's four decimals */
	sx_stats_newcombe_paired(59, 6, 16, 80, &lo, &hi);
	assert_near(lo, -0.1186, 5e-5);
	assert_near(hi, -0.0046, 5e-5);
	/* a value that is not 0 or 1: a difference of means, not of proportions */
	n = fill_cells(want[0].cell, a, b);
	a[0] = 0.5;
	sx_stats_paired_as(a, b, n, SX_INTERVAL_NEWCOMBE, 200, 5, &r);
	assert_int_equal(r.interval, SX_INTERVAL_STUDENTIZED);
	/* 0/1 values of a metric that is not a proportion (all rankdel 1): not Newcombe's */
	n = fill_cells(want[3].cell, a, b);
	sx_stats_paired(a, b, n, 200, 5, &r);
	assert_int_equal(r.interval, SX_INTERVAL_STUDENTIZED);
	assert_true(r.ci_lo == 0 && r.ci_hi == 0);
	sx_stats_newcombe_paired(0, 0, 0, 0, &lo, &hi);
	assert_true(isnan(lo) && isnan(hi));
}

/* ---- Holm and ECE ----------------------------------------------------- */

static void test_holm(void **state)
{
	double p[4] = { 0.01, 0.04, 0.03, 0.005 }, adj[4];
	double q[3] = { 0.5, NAN, 0.4 }, r[2] = { 0.6, 0.9 };

	(void)state;
	/*
	 * m = 4, ascending 0.005, 0.01, 0.03, 0.04:
	 * 4*0.005 = 0.02; 3*0.01 = 0.03; 2*0.03 = 0.06; 1*0.04 = 0.04 -> max 0.06.
	 */
	assert_int_equal(sx_stats_holm(p, 4, adj), 4);
	assert_near(adj[0], 0.03, 1e-12);
	assert_near(adj[1], 0.06, 1e-12);
	assert_near(adj[2], 0.06, 1e-12);
	assert_near(adj[3], 0.02, 1e-12);
	/* NaN is kept and not counted: m = 2, 2*0.4 = 0.8, max(0.8, 0.5) = 0.8. */
	assert_int_equal(sx_stats_holm(q, 3, q), 2); /* the family: the defined p-values */
	assert_near(q[0], 0.8, 1e-12);
	assert_true(isnan(q[1]));
	assert_near(q[2], 0.8, 1e-12);
	/* Capped at 1: 2*0.6 = 1.2 -> 1, then max(1, 0.9) = 1. */
	assert_int_equal(sx_stats_holm(r, 2, r), 2);
	assert_near(r[0], 1, 0);
	assert_near(r[1], 1, 0);
}

static void test_ece(void **state)
{
	const double conf[6] = { 0.95, 0.85, 0.75, 0.72, 0.55, NAN };
	const unsigned char ok[6] = { 1, 1, 0, 1, 0, 1 };
	const double edge[2] = { 1.0, 0.0 };
	const unsigned char eok[2] = { 1, 1 };
	double e;

	(void)state;
	/*
	 * NaN skipped, N = 5. Bins: 9 {0.95 ok} |1-0.95| = 0.05; 8 {0.85 ok} 0.15;
	 * 7 {0.75 wrong, 0.72 ok} |0.5-0.735| = 0.235; 5 {0.55 wrong} 0.55.
	 * ECE = (0.05 + 0.15 + 2*0.235 + 0.55) / 5 = 1.22 / 5 = 0.244.
	 */
	assert_int_equal(sx_stats_ece(conf, ok, 6, &e), 0);
	assert_near(e, 0.244, 1e-12);
	/* 1.0 falls in the last bin (|1-1| = 0), 0.0 in the first (|1-0| = 1): ECE 0.5. */
	assert_int_equal(sx_stats_ece(edge, eok, 2, &e), 0);
	assert_near(e, 0.5, 1e-12);
	assert_int_equal(sx_stats_ece(conf + 5, ok, 1, &e), SX_STATS_UNDEFINED);
	assert_true(isnan(e));
}

/* iref.py "ece ...": 14 answers, two of them unusable (NaN, 1.2 out of range). */
static void test_ece_interval(void **state)
{
	const double conf[14] = { 0.95, 0.85, 0.75, 0.72, 0.55, NAN, 0.91,
				  0.66, 0.99, 1.2, 0.58, 0.81, 0.62, 0.97 };
	const unsigned char ok[14] = { 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 0, 1, 1 };
	struct sx_ece e, e2;
	double plain;

	(void)state;
	assert_int_equal(sx_stats_ece_interval(conf, ok, 14, SX_INTERVAL_BASIC, 1000, 3, &e), 0);
	assert_int_equal(e.n, 12);
	assert_int_equal(e.interval, SX_INTERVAL_BASIC);
	assert_int_equal(sx_stats_ece(conf, ok, 14, &plain), 0);
	assert_near(e.ece, plain, 1e-15);
	assert_near(e.ece, 0.14333333333333334, 1e-15);
	/* 2 ece - q(97.5 %) is below 0 here: clipped to 0 */
	assert_true(e.ci_lo == 0);
	assert_near(e.ci_hi, 0.20418750000000002, 1e-12);
	/* Wilson makes no sense for an ECE: the default (basic) */
	assert_int_equal(sx_stats_ece_interval(conf, ok, 14, SX_INTERVAL_WILSON, 1000, 3, &e2), 0);
	assert_int_equal(e2.interval, SX_INTERVAL_BASIC);
	assert_true(e2.ci_lo == e.ci_lo && e2.ci_hi == e.ci_hi);
	/* seed 4: other resamples, another interval (iref.py s4) */
	sx_stats_ece_interval(conf, ok, 14, SX_INTERVAL_BASIC, 1000, 4, &e2);
	assert_true(e2.ci_hi != e.ci_hi);
	assert_near(e2.ci_hi, 0.20168750000000002, 1e-12);
	/* the other methods from the same replicates */
	sx_stats_ece_interval(conf, ok, 14, SX_INTERVAL_PERCENTILE, 1000, 3, &e2);
	assert_near(e2.ci_lo, 0.082479166666666673, 1e-12);
	assert_near(e2.ci_hi, 0.42006249999999995, 1e-12);
	sx_stats_ece_interval(conf, ok, 14, SX_INTERVAL_BCA_EXPANDED, 1000, 3, &e2);
	assert_near(e2.ci_lo, 0.040010825039375537, 1e-9);
	assert_near(e2.ci_hi, 0.22666666666666668, 1e-9);
	/* one usable pair: [ece, ece]; none: undefined */
	assert_int_equal(sx_stats_ece_interval(conf, ok, 1, SX_INTERVAL_BASIC, 100, 3, &e2), 0);
	assert_near(e2.ece, 0.05, 1e-15);
	assert_true(e2.ci_lo == e2.ece && e2.ci_hi == e2.ece);
	assert_int_equal(sx_stats_ece_interval(conf + 5, ok, 1, SX_INTERVAL_BASIC, 100, 3, &e2),
			 SX_STATS_UNDEFINED);
	assert_int_equal(e2.n, 0);
	assert_true(isnan(e2.ece) && isnan(e2.ci_lo) && isnan(e2.ci_hi));
}

/*
 * iref.py "ece one-side": a calibrated sample (ECE 0 up to rounding) whose
 * every resample lies above the estimate. BCa's z0 clamps its proportion to
 * 0.5 / B: the ends are then numbers just above the smallest replicate
 * (0.0175), not t[0] exactly, nor NaN as an unclamped z0 = -inf gives.
 */
static void test_ece_interval_one_side(void **state)
{
	static const double cb[4] = { 0.6, 0.7, 0.8, 0.9 };
	double conf[40];
	unsigned char ok[40];
	struct sx_ece e;
	size_t i, b;

	(void)state;
	for (b = 0; b < 4; b++)
		for (i = 0; i < 10; i++) {
			conf[10 * b + i] = cb[b];
			ok[10 * b + i] = i < 6 + b;
		}
	assert_int_equal(sx_stats_ece_interval(conf, ok, 40, SX_INTERVAL_BCA, 1000, 3, &e), 0);
	assert_true(e.ece < 1e-15);
	assert_near(e.ci_lo, 0.017500000000000009, 1e-12);
	assert_near(e.ci_hi, 0.017503984048153159, 1e-10);
	assert_int_equal(sx_stats_ece_interval(conf, ok, 40, SX_INTERVAL_BCA_EXPANDED, 1000, 3, &e), 0);
	assert_near(e.ci_lo, 0.017500000000000009, 1e-12);
	assert_near(e.ci_hi, 0.017506242152721646, 1e-10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_seed_derive),
		cmocka_unit_test(test_rank_avg),
		cmocka_unit_test(test_spearman),
		cmocka_unit_test(test_ridge),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_intervals),
		cmocka_unit_test(test_studentized),
		cmocka_unit_test(test_summary_proportions),
		cmocka_unit_test(test_wilcoxon_exact),
		cmocka_unit_test(test_wilcoxon_ties_exact),
		cmocka_unit_test(test_wilcoxon_normal),
		cmocka_unit_test(test_paired),
		cmocka_unit_test(test_paired_proportions),
		cmocka_unit_test(test_holm),
		cmocka_unit_test(test_ece),
		cmocka_unit_test(test_ece_interval),
		cmocka_unit_test(test_ece_interval_one_side),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
