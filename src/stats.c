/*
 * Statistics: random streams, ranks, Spearman, weighted ridge, bootstrap
 * summaries, Wilcoxon, Holm, ECE. The only module that uses GSL.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_vector.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/hash.h"
#include "selfexp/stats.h"

/* GSL's default error handler aborts; we check every status instead. */
static pthread_once_t gsl_once = PTHREAD_ONCE_INIT;

static void gsl_quiet(void)
{
	gsl_set_error_handler_off();
}

static void gsl_setup(void)
{
	pthread_once(&gsl_once, gsl_quiet);
}

/* ==== Random stream ===================================================== */

struct sx_rng {
	gsl_rng *r; /* owned */
};

struct sx_rng *sx_rng_new(uint64_t seed)
{
	struct sx_rng *rng = xcalloc(1, sizeof(*rng));

	gsl_setup();
	rng->r = gsl_rng_alloc(gsl_rng_mt19937);
	if (!rng->r) {
		fprintf(stderr, "selfexp: out of memory allocating a random stream\n");
		abort();
	}
	gsl_rng_set(rng->r, (unsigned long)(uint32_t)(seed ^ (seed >> 32)));
	return rng;
}

void sx_rng_free(struct sx_rng *rng)
{
	if (!rng)
		return;
	gsl_rng_free(rng->r);
	free(rng);
}

double sx_rng_uniform(struct sx_rng *rng)
{
	return gsl_rng_uniform(rng->r);
}

size_t sx_rng_below(struct sx_rng *rng, size_t n)
{
	uint64_t lim, v;

	if (n <= 1)
		return 0;
	if ((uint64_t)n <= 0xffffffffULL)
		return (size_t)gsl_rng_uniform_int(rng->r, (unsigned long)n);
	/* Wider than one 32-bit draw: two draws and rejection of the biased tail. */
	lim = UINT64_MAX - UINT64_MAX % (uint64_t)n;
	do {
		v = ((uint64_t)gsl_rng_get(rng->r) << 32) | (uint64_t)gsl_rng_get(rng->r);
	} while (v >= lim);
	return (size_t)(v % (uint64_t)n);
}

uint64_t sx_seed_derive(uint64_t run_seed, const char *purpose, const char *id)
{
	struct sx_buf b = SX_BUF_INIT;
	unsigned char be[8];
	uint64_t h;
	int i;

	for (i = 0; i < 8; i++)
		be[i] = (unsigned char)(run_seed >> (56 - 8 * i));
	sx_buf_add(&b, "selfexp-seed-v1", sizeof("selfexp-seed-v1")); /* with its NUL */
	sx_buf_add(&b, be, sizeof(be));
	sx_buf_adds(&b, purpose ? purpose : "");
	sx_buf_addch(&b, '\0');
	sx_buf_adds(&b, id ? id : "");
	h = sx_hash64(b.buf, b.len);
	sx_buf_release(&b);
	return h;
}

/* ==== Ranks and correlation ============================================= */

void sx_stats_rank_avg(const double *x, size_t n, double *rank)
{
	size_t *idx, i, j, k;

	if (n == 0)
		return;
	idx = xmalloc(sx_size_mul(n, sizeof(*idx)));
	gsl_sort_index(idx, x, 1, n);
	for (i = 0; i < n; i = j) {
		double avg;

		for (j = i + 1; j < n && x[idx[j]] == x[idx[i]]; j++)
			;
		/* positions i..j-1 (0-based) hold ranks i+1..j: their mean */
		avg = ((double)(i + 1) + (double)j) / 2.0;
		for (k = i; k < j; k++)
			rank[idx[k]] = avg;
	}
	free(idx);
}

/* Pearson correlation; NaN when either side has zero variance. */
static double pearson(const double *x, const double *y, size_t n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0, r;
	size_t i;

	for (i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;

		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
	}
	if (!(sxx > 0) || !(syy > 0))
		return NAN;
	r = sxy / sqrt(sxx * syy);
	if (r > 1)
		r = 1;
	if (r < -1)
		r = -1;
	return r;
}

static int is_constant(const double *x, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (x[i] != x[0])
			return 0;
	return 1;
}

int sx_stats_spearman(const double *x, const double *y, size_t n, double *rho)
{
	double *rx = NULL, *ry = NULL;
	size_t i;
	int ret = SX_STATS_UNDEFINED;

	*rho = NAN;
	if (n < 2)
		return SX_STATS_UNDEFINED;
	for (i = 0; i < n; i++)
		if (isnan(x[i]) || isnan(y[i]))
			return SX_STATS_UNDEFINED;
	/* Exact test for constancy: rank arithmetic could leave a tiny variance. */
	if (is_constant(x, n) || is_constant(y, n))
		return SX_STATS_UNDEFINED;
	rx = xmalloc(sx_size_mul(n, sizeof(*rx)));
	ry = xmalloc(sx_size_mul(n, sizeof(*ry)));
	sx_stats_rank_avg(x, n, rx);
	sx_stats_rank_avg(y, n, ry);
	*rho = pearson(rx, ry, n);
	if (!isnan(*rho))
		ret = 0;
	free(rx);
	free(ry);
	return ret;
}

/* ==== Weighted ridge regression ========================================= */

/* 1 with *value when every y_i of positive weight (w NULL: all) is the same value. */
static int constant_target(const double *y, const double *w, size_t n, double *value)
{
	size_t i;
	int seen = 0;

	for (i = 0; i < n; i++) {
		if (w && !(w[i] > 0))
			continue;
		if (!seen) {
			*value = y[i];
			seen = 1;
		} else if (y[i] != *value) {
			return 0;
		}
	}
	return seen;
}

void sx_stats_ridge_release(struct sx_ridge *m)
{
	free(m->coef);
	m->coef = NULL;
	m->d = 0;
	m->intercept = 0;
}

int sx_stats_ridge_fit(const double *X, size_t n, size_t d, const double *y, const double *w,
		       double alpha, struct sx_ridge *out, struct sx_err *err)
{
	gsl_matrix *A = NULL;
	gsl_vector *rhs = NULL, *beta = NULL;
	double *xm = NULL, *xc = NULL;
	double sw = 0, ym = 0, ym0;
	size_t i, j, k;
	int ret = SX_EINPUT, st;

	out->d = 0;
	out->intercept = 0;
	out->coef = NULL;
	gsl_setup();
	if (n == 0 || d == 0) {
		sx_err_set(err, SX_EINPUT, "ridge: empty design (%zu samples, %zu features)", n, d);
		goto out;
	}
	if (!(alpha >= 0)) {
		sx_err_set(err, SX_EINPUT, "ridge: penalty '%g' must be >= 0", alpha);
		goto out;
	}
	for (i = 0; i < n; i++) {
		double wi = w ? w[i] : 1.0;

		if (!(wi >= 0) || !isfinite(wi) || !isfinite(y[i])) {
			sx_err_set(err, SX_EINPUT, "ridge: sample %zu has weight '%g' and target '%g'",
				   i, wi, y[i]);
			goto out;
		}
		sw += wi;
	}
	if (!(sw > 0)) {
		sx_err_set(err, SX_EINPUT, "ridge: the weights sum to zero");
		goto out;
	}

	/* Weighted means. */
	xm = xcalloc(d, sizeof(*xm));
	for (i = 0; i < n; i++) {
		double wi = w ? w[i] : 1.0;

		ym += wi * y[i];
		for (j = 0; j < d; j++)
			xm[j] += wi * X[i * d + j];
	}
	ym /= sw;
	for (j = 0; j < d; j++)
		xm[j] /= sw;
	/* A constant target is its own mean: no rounding residue to fit (see ridge_score). */
	if (constant_target(y, w, n, &ym0))
		ym = ym0;

	/* A = Xc' W Xc + alpha I (upper triangle, mirrored), rhs = Xc' W yc. */
	A = gsl_matrix_calloc(d, d);
	rhs = gsl_vector_calloc(d);
	beta = gsl_vector_alloc(d);
	if (!A || !rhs || !beta) {
		fprintf(stderr, "selfexp: out of memory in ridge fit\n");
		abort();
	}
	xc = xmalloc(sx_size_mul(d, sizeof(*xc)));
	for (i = 0; i < n; i++) {
		double wi = w ? w[i] : 1.0, yc = y[i] - ym;

		if (wi == 0)
			continue;
		for (j = 0; j < d; j++)
			xc[j] = X[i * d + j] - xm[j];
		for (j = 0; j < d; j++) {
			double wx = wi * xc[j];

			if (wx == 0)
				continue;
			*gsl_vector_ptr(rhs, j) += wx * yc;
			for (k = j; k < d; k++)
				*gsl_matrix_ptr(A, j, k) += wx * xc[k];
		}
	}
	for (j = 0; j < d; j++) {
		*gsl_matrix_ptr(A, j, j) += alpha;
		for (k = j + 1; k < d; k++)
			gsl_matrix_set(A, k, j, gsl_matrix_get(A, j, k));
	}
	st = gsl_linalg_cholesky_decomp1(A);
	if (st == 0)
		st = gsl_linalg_cholesky_solve(A, rhs, beta);
	if (st != 0) {
		sx_err_set(err, SX_EINPUT, "ridge: system is not positive definite (%s); use alpha > 0",
			   gsl_strerror(st));
		goto out;
	}

	out->d = d;
	out->coef = xmalloc(sx_size_mul(d, sizeof(*out->coef)));
	out->intercept = ym;
	for (j = 0; j < d; j++) {
		out->coef[j] = gsl_vector_get(beta, j);
		out->intercept -= xm[j] * out->coef[j];
	}
	ret = 0;
out:
	gsl_matrix_free(A);
	gsl_vector_free(rhs);
	gsl_vector_free(beta);
	free(xm);
	free(xc);
	return ret;
}

double sx_stats_ridge_predict(const struct sx_ridge *m, const double *x)
{
	double v = m->intercept;
	size_t j;

	for (j = 0; j < m->d; j++)
		v += m->coef[j] * x[j];
	return v;
}

double sx_stats_ridge_score(const struct sx_ridge *m, const double *X, size_t n, const double *y,
			    const double *w)
{
	double sw = 0, ym = 0, ss_res = 0, ss_tot = 0, y0;
	size_t i;
	int constant = constant_target(y, w, n, &y0);

	for (i = 0; i < n; i++) {
		double wi = w ? w[i] : 1.0;

		sw += wi;
		ym += wi * y[i];
	}
	if (!(sw > 0))
		return NAN;
	ym /= sw;
	for (i = 0; i < n; i++) {
		double wi = w ? w[i] : 1.0;
		double r = y[i] - sx_stats_ridge_predict(m, X + i * m->d);

		ss_res += wi * r * r;
		if (!constant)
			ss_tot += wi * (y[i] - ym) * (y[i] - ym);
	}
	/* sklearn's r2_score on a zero denominator: 1 for exact predictions, else 0. */
	if (!(ss_tot > 0))
		return ss_res == 0 ? 1.0 : 0.0;
	return 1.0 - ss_res / ss_tot;
}

/* ==== Summaries with intervals ========================================= */

static const char *const interval_names[SX_INTERVAL_COUNT] = {
	[SX_INTERVAL_BCA_EXPANDED] = "bca_expanded",
	[SX_INTERVAL_BCA] = "bca",
	[SX_INTERVAL_CLOPPER_PEARSON] = "clopper_pearson",
	[SX_INTERVAL_WILSON] = "wilson",
	[SX_INTERVAL_PERCENTILE] = "percentile",
	[SX_INTERVAL_BASIC] = "basic",
	[SX_INTERVAL_STUDENTIZED] = "studentized",
	[SX_INTERVAL_NEWCOMBE] = "newcombe",
};

const char *sx_interval_name(enum sx_interval how)
{
	return (unsigned)how < SX_INTERVAL_COUNT ? interval_names[how] : "?";
}

/* The two-sided 95 % level of every interval. */
#define CI_ALPHA 0.05

/* Means of B resamples of v[0..m) with replacement, sorted ascending; the caller frees. */
static double *bootstrap_means(const double *v, size_t m, size_t B, uint64_t seed)
{
	struct sx_rng *rng = sx_rng_new(seed);
	double *means = xmalloc(sx_size_mul(B, sizeof(*means)));
	size_t b, i;

	for (b = 0; b < B; b++) {
		double s = 0;

		for (i = 0; i < m; i++)
			s += v[sx_rng_below(rng, m)];
		means[b] = s / (double)m;
	}
	gsl_sort(means, 1, B);
	sx_rng_free(rng);
	return means;
}

/*
 * z0 of BCa from the sorted bootstrap replicates t[0..B) of an estimate
 * est: replicates within tol of est count half. Clamped so that z0 stays
 * finite when every replicate lies on one side.
 */
static double bca_z0(const double *t, size_t B, double est, double tol)
{
	size_t b, below = 0, equal = 0;
	double q;

	for (b = 0; b < B; b++) {
		if (t[b] < est - tol)
			below++;
		else if (t[b] <= est + tol)
			equal++;
	}
	q = ((double)below + 0.5 * (double)equal) / (double)B;
	if (q < 0.5 / (double)B)
		q = 0.5 / (double)B;
	if (q > 1 - 0.5 / (double)B)
		q = 1 - 0.5 / (double)B;
	return gsl_cdf_ugaussian_Pinv(q);
}

/* BCa's adjusted probability for the normal quantile z. */
static double bca_level(double z0, double a, double z)
{
	double den = 1 - a * (z0 + z);

	/* Past the pole the formula turns over: take its limit, the end of the distribution. */
	if (!(den > 0))
		return z0 + z > 0 ? 1.0 : 0.0;
	return gsl_cdf_ugaussian_P(z0 + (z0 + z) / den);
}

/*
 * The BCa interval from the sorted replicates t[0..B), the estimate, its
 * acceleration a and the normal quantile c of the two-sided level.
 */
static void bca_interval(const double *t, size_t B, double est, double tol, double a, double c,
			 double *lo, double *hi)
{
	double z0 = bca_z0(t, B, est, tol);

	*lo = gsl_stats_quantile_from_sorted_data(t, 1, B, bca_level(z0, a, -c));
	*hi = gsl_stats_quantile_from_sorted_data(t, 1, B, bca_level(z0, a, c));
}

/* c of SX_INTERVAL_BCA_EXPANDED for n values: sqrt(n / (n - 1)) t_{n-1}(1 - alpha/2). */
static double expanded_quantile(size_t n)
{
	return sqrt((double)n / (double)(n - 1)) * gsl_cdf_tdist_Pinv(1 - CI_ALPHA / 2, (double)(n - 1));
}

/*
 * The interval how (a bootstrap one) from the sorted replicates t[0..B) of an
 * estimate from n values; a is BCa's acceleration, tol the distance within
 * which a replicate equals the estimate.
 */
static void replicate_interval(const double *t, size_t B, double est, double tol,
			       enum sx_interval how, size_t n, double a, double *lo, double *hi)
{
	double qlo = gsl_stats_quantile_from_sorted_data(t, 1, B, CI_ALPHA / 2);
	double qhi = gsl_stats_quantile_from_sorted_data(t, 1, B, 1 - CI_ALPHA / 2);

	switch (how) {
	case SX_INTERVAL_PERCENTILE:
		*lo = qlo;
		*hi = qhi;
		break;
	case SX_INTERVAL_BASIC:
		*lo = 2 * est - qhi;
		*hi = 2 * est - qlo;
		break;
	case SX_INTERVAL_BCA:
		bca_interval(t, B, est, tol, a, gsl_cdf_ugaussian_Pinv(1 - CI_ALPHA / 2), lo, hi);
		break;
	default:
		bca_interval(t, B, est, tol, a, expanded_quantile(n), lo, hi);
		break;
	}
}

/* Acceleration of the mean from its jackknife: skewness of v[0..m) / (6 sqrt(m)). */
static double mean_acceleration(const double *v, size_t m, double mean)
{
	double s2 = 0, s3 = 0;
	size_t i;

	for (i = 0; i < m; i++) {
		double d = v[i] - mean;

		s2 += d * d;
		s3 += d * d * d;
	}
	return s2 > 0 ? s3 / (6.0 * pow(s2, 1.5)) : 0.0;
}

/* Largest |v_i|: the scale of rounding in sums of the values. */
static double max_abs(const double *v, size_t m)
{
	double x = 0;
	size_t i;

	for (i = 0; i < m; i++)
		if (fabs(v[i]) > x)
			x = fabs(v[i]);
	return x;
}

/*
 * The bootstrap-t interval of the mean of v[0..m) (m >= 2, not constant):
 * the resamples are drawn as bootstrap_means draws them. Returns -1, leaving
 * *lo and *hi alone, when a resample is constant (sd* = 0: its t* is not a
 * number), which values with heavy ties produce.
 */
static int studentized_ci(const double *v, size_t m, double mean, size_t B, uint64_t seed,
			  double *lo, double *hi)
{
	struct sx_rng *rng = sx_rng_new(seed);
	double *t = xmalloc(sx_size_mul(B, sizeof(*t))), *x = xmalloc(sx_size_mul(m, sizeof(*x)));
	double se = gsl_stats_sd_m(v, 1, m, mean) / sqrt((double)m);
	size_t b, i;

	for (b = 0; b < B; b++) {
		double mb, sb;

		for (i = 0; i < m; i++)
			x[i] = v[sx_rng_below(rng, m)];
		mb = gsl_stats_mean(x, 1, m);
		sb = gsl_stats_sd_m(x, 1, m, mb);
		if (!(sb > 0))
			break;
		t[b] = (mb - mean) / (sb / sqrt((double)m));
	}
	if (b == B) {
		gsl_sort(t, 1, B);
		*lo = mean - gsl_stats_quantile_from_sorted_data(t, 1, B, 1 - CI_ALPHA / 2) * se;
		*hi = mean - gsl_stats_quantile_from_sorted_data(t, 1, B, CI_ALPHA / 2) * se;
	}
	sx_rng_free(rng);
	free(t);
	free(x);
	return b == B ? 0 : -1;
}

/*
 * A bootstrap interval of the mean of v[0..m) (m >= 1); returns the method
 * used: a studentized interval that cannot be had falls back to the expanded
 * BCa.
 */
static enum sx_interval bootstrap_ci(const double *v, size_t m, double mean, enum sx_interval how,
				     size_t B, uint64_t seed, double *lo, double *hi)
{
	double *t;

	if (B == 0)
		B = SX_STATS_BOOTSTRAP_B;
	if (m == 1 || is_constant(v, m)) {
		*lo = *hi = v[0];
		return how;
	}
	if (how == SX_INTERVAL_STUDENTIZED) {
		if (!studentized_ci(v, m, mean, B, seed, lo, hi))
			return how;
		how = SX_INTERVAL_BCA_EXPANDED;
	}
	t = bootstrap_means(v, m, B, seed);
	replicate_interval(t, B, mean, 1e-12 * max_abs(v, m), how, m,
			   mean_acceleration(v, m, mean), lo, hi);
	free(t);
	return how;
}

/* The Wilson score interval of k ones in m; 0 or 1 exactly at the ends. */
static void wilson_ci(size_t k, size_t m, double *lo, double *hi)
{
	double z = gsl_cdf_ugaussian_Pinv(1 - CI_ALPHA / 2), z2 = z * z;
	double n = (double)m, kk = (double)k;
	double centre = (kk + z2 / 2) / (n + z2);
	double half = z * sqrt(kk * (n - kk) / n + z2 / 4) / (n + z2);

	*lo = k == 0 ? 0.0 : fmax(0.0, centre - half);
	*hi = k == m ? 1.0 : fmin(1.0, centre + half);
}

/* The Clopper-Pearson interval of k ones in m: Beta quantiles, 0 or 1 exactly at the ends. */
static void clopper_pearson_ci(size_t k, size_t m, double *lo, double *hi)
{
	double kk = (double)k, n = (double)m;

	*lo = k == 0 ? 0.0 : gsl_cdf_beta_Pinv(CI_ALPHA / 2, kk, n - kk + 1);
	*hi = k == m ? 1.0 : gsl_cdf_beta_Pinv(1 - CI_ALPHA / 2, kk + 1, n - kk);
}

/*
 * Newcombe's square-and-add interval of p_a - p_b from n11 pairs (1, 1), n10
 * pairs (1, 0), n01 pairs (0, 1) and n00 pairs (0, 0): see stats.h.
 */
void sx_stats_newcombe_paired(size_t n11, size_t n10, size_t n01, size_t n00, double *lo,
			      double *hi)
{
	size_t n = n11 + n10 + n01 + n00, ka = n11 + n10, kb = n11 + n01;
	double pa, pb, la, ua, lb, ub, psi = 0, dl1, dl2, du1, du2;

	if (n == 0) {
		*lo = *hi = NAN;
		return;
	}
	pa = (double)ka / (double)n;
	pb = (double)kb / (double)n;
	wilson_ci(ka, n, &la, &ua);
	wilson_ci(kb, n, &lb, &ub);
	if (ka > 0 && ka < n && kb > 0 && kb < n) {
		/* The correlation of the two margins, continuity-corrected toward 0 when positive. */
		double cross = (double)n11 * (double)n00 - (double)n10 * (double)n01;
		double margins = sqrt((double)ka * (double)(n - ka) * (double)kb * (double)(n - kb));

		if (cross > (double)n / 2)
			psi = (cross - (double)n / 2) / margins;
		else if (cross < 0)
			psi = cross / margins;
	}
	dl1 = pa - la;
	dl2 = ub - pb;
	du1 = pb - lb;
	du2 = ua - pa;
	*lo = fmax(-1.0, pa - pb - sqrt(fmax(0.0, dl1 * dl1 + dl2 * dl2 - 2 * psi * dl1 * dl2)));
	*hi = fmin(1.0, pa - pb + sqrt(fmax(0.0, du1 * du1 + du2 * du2 - 2 * psi * du1 * du2)));
}

static int is_proportion_interval(enum sx_interval how)
{
	return how == SX_INTERVAL_WILSON || how == SX_INTERVAL_CLOPPER_PEARSON;
}

static void mean_sd(const double *v, size_t m, double *mean, double *sd)
{
	*mean = m ? gsl_stats_mean(v, 1, m) : NAN;
	*sd = m >= 2 ? gsl_stats_sd_m(v, 1, m, *mean) : NAN;
}

/* The interval of the mean of v[0..m) (NaN already removed) into out. */
static void interval_of(const double *v, size_t m, enum sx_interval how, size_t B, uint64_t seed,
			struct sx_summary *out)
{
	size_t i, ones = 0;

	out->ci_lo = out->ci_hi = NAN;
	if ((unsigned)how >= SX_INTERVAL_COUNT)
		how = SX_INTERVAL_BCA_EXPANDED;
	if (is_proportion_interval(how)) {
		for (i = 0; i < m && (v[i] == 0 || v[i] == 1); i++)
			ones += v[i] == 1;
		if (i < m)
			how = SX_INTERVAL_BCA_EXPANDED; /* not a proportion */
	}
	out->interval = how;
	if (m == 0)
		return;
	if (how == SX_INTERVAL_WILSON)
		wilson_ci(ones, m, &out->ci_lo, &out->ci_hi);
	else if (how == SX_INTERVAL_CLOPPER_PEARSON)
		clopper_pearson_ci(ones, m, &out->ci_lo, &out->ci_hi);
	else
		out->interval = bootstrap_ci(v, m, out->mean, how, B, seed, &out->ci_lo, &out->ci_hi);
}

void sx_stats_summary_as(const double *x, size_t n, enum sx_interval how, size_t B,
			 uint64_t seed, struct sx_summary *out)
{
	double *v = xmalloc(sx_size_mul(n ? n : 1, sizeof(*v)));
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (!isnan(x[i]))
			v[m++] = x[i];
	out->n = m;
	mean_sd(v, m, &out->mean, &out->sd);
	interval_of(v, m, how, B, seed, out);
	free(v);
}

void sx_stats_summary(const double *x, size_t n, size_t B, uint64_t seed, struct sx_summary *out)
{
	sx_stats_summary_as(x, n, SX_INTERVAL_BCA_EXPANDED, B, seed, out);
}

/* ==== Wilcoxon signed-rank ============================================== */

/*
 * P(W+ <= t) under H0 for the ranks r[0..m) (average ranks, so multiples of
 * 1/2): every one of the 2^m sign patterns is equally likely. Counted over
 * doubled ranks, which are integers: c[s] = the patterns whose doubled W+ is s.
 * With m <= SX_WILCOXON_EXACT_MAX (< 53) every count is below 2^53 and so exact
 * in a double.
 */
static double wilcoxon_exact_cdf(const double *r, size_t m, double t)
{
	size_t max = m * (m + 1), s, i, lim = 0, rr;
	double *c = xcalloc(max + 1, sizeof(*c));
	double below = 0, t2 = floor(2.0 * t + 0.5);

	c[0] = 1;
	for (i = 0; i < m; i++) {
		rr = (size_t)(2.0 * r[i] + 0.5);
		lim += rr;
		for (s = lim; s >= rr; s--)
			c[s] += c[s - rr];
	}
	for (s = 0; s <= max && (double)s <= t2; s++)
		below += c[s];
	free(c);
	return ldexp(below, -(int)m);
}

/* The normal approximation: tie-corrected variance, continuity correction 0.5. */
static double wilcoxon_normal_p(const double *ad, size_t m, double wp)
{
	double var = (double)m * (double)(m + 1) * (double)(2 * m + 1) / 24.0;
	double z = wp - (double)m * (double)(m + 1) / 4.0, *s = xmalloc(sx_size_mul(m, sizeof(*s)));
	size_t i, j;

	/* Tie correction: sum over tie groups of (t^3 - t) / 48. */
	memcpy(s, ad, m * sizeof(*s));
	gsl_sort(s, 1, m);
	for (i = 0; i < m; i = j) {
		double g;

		for (j = i + 1; j < m && s[j] == s[i]; j++)
			;
		g = (double)(j - i);
		var -= (g * g * g - g) / 48.0;
	}
	free(s);
	/* Continuity correction toward the mean, never past it. */
	z = fabs(z) - 0.5;
	if (z < 0)
		z = 0;
	return var > 0 ? 2.0 * gsl_cdf_ugaussian_Q(z / sqrt(var)) : NAN;
}

int sx_stats_wilcoxon(const double *a, const double *b, size_t n, double *p, double *w_plus,
		      size_t *n_nonzero, int *exact)
{
	double *d = xmalloc(sx_size_mul(n ? n : 1, sizeof(*d)));
	double *ad = xmalloc(sx_size_mul(n ? n : 1, sizeof(*ad)));
	double *rk = xmalloc(sx_size_mul(n ? n : 1, sizeof(*rk)));
	double wp = 0, pv = NAN;
	size_t i, m = 0;
	int is_exact = 0, ret = SX_STATS_UNDEFINED;

	for (i = 0; i < n; i++) {
		double di;

		if (isnan(a[i]) || isnan(b[i]))
			continue;
		di = a[i] - b[i];
		if (di == 0)
			continue; /* zeros dropped before ranking (Wilcoxon's own rule) */
		d[m] = di;
		ad[m] = fabs(di);
		m++;
	}
	if (m > 0) {
		sx_stats_rank_avg(ad, m, rk);
		for (i = 0; i < m; i++)
			if (d[i] > 0)
				wp += rk[i];
		if (m <= SX_WILCOXON_EXACT_MAX) {
			/* The null distribution is symmetric about m(m+1)/4: double the smaller tail. */
			double wm = (double)m * (double)(m + 1) / 2.0 - wp;

			pv = 2.0 * wilcoxon_exact_cdf(rk, m, wp < wm ? wp : wm);
			is_exact = 1;
		} else {
			pv = wilcoxon_normal_p(ad, m, wp);
		}
		if (pv > 1)
			pv = 1;
		if (!isnan(pv))
			ret = 0;
	}
	*p = pv;
	if (w_plus)
		*w_plus = m ? wp : NAN;
	if (n_nonzero)
		*n_nonzero = m;
	if (exact)
		*exact = is_exact;
	free(d);
	free(ad);
	free(rk);
	return ret;
}

/*
 * Whether every a_i and b_i (i < m, m >= 1) is 0 or 1; if so cell[2 a + b]
 * counts the pairs (a, b).
 */
static int cells_01(const double *a, const double *b, size_t m, size_t cell[4])
{
	size_t i;

	memset(cell, 0, 4 * sizeof(*cell));
	for (i = 0; i < m; i++) {
		if ((a[i] != 0 && a[i] != 1) || (b[i] != 0 && b[i] != 1))
			return 0;
		cell[2 * (a[i] == 1) + (b[i] == 1)]++;
	}
	return m > 0;
}

void sx_stats_paired(const double *a, const double *b, size_t n, size_t B, uint64_t seed,
		     struct sx_paired *out)
{
	sx_stats_paired_as(a, b, n, SX_INTERVAL_STUDENTIZED, B, seed, out);
}

void sx_stats_paired_as(const double *a, const double *b, size_t n, enum sx_interval how,
			size_t B, uint64_t seed, struct sx_paired *out)
{
	size_t cell[4];
	double *va = xmalloc(sx_size_mul(n ? n : 1, sizeof(*va)));
	double *vb = xmalloc(sx_size_mul(n ? n : 1, sizeof(*vb)));
	double *vd = xmalloc(sx_size_mul(n ? n : 1, sizeof(*vd)));
	double sd;
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (isnan(a[i]) || isnan(b[i]))
			continue;
		va[m] = a[i];
		vb[m] = b[i];
		vd[m] = a[i] - b[i];
		m++;
	}
	out->n = m;
	mean_sd(va, m, &out->mean_a, &sd);
	mean_sd(vb, m, &out->mean_b, &sd);
	mean_sd(vd, m, &out->mean_diff, &sd);
	out->ci_lo = out->ci_hi = NAN;
	if (how == SX_INTERVAL_NEWCOMBE && cells_01(va, vb, m, cell)) {
		out->interval = SX_INTERVAL_NEWCOMBE;
		sx_stats_newcombe_paired(cell[3], cell[2], cell[1], cell[0], &out->ci_lo,
					 &out->ci_hi);
	} else {
		/* Resampling pairs is resampling their differences. */
		out->interval = SX_INTERVAL_STUDENTIZED;
		if (m)
			out->interval = bootstrap_ci(vd, m, out->mean_diff, SX_INTERVAL_STUDENTIZED,
						     B, seed, &out->ci_lo, &out->ci_hi);
	}
	sx_stats_wilcoxon(va, vb, m, &out->p_value, &out->w_plus, &out->n_nonzero, &out->exact);
	free(va);
	free(vb);
	free(vd);
}

/* ==== Holm ============================================================== */

size_t sx_stats_holm(const double *p, size_t n, double *adj)
{
	double *v = xmalloc(sx_size_mul(n ? n : 1, sizeof(*v)));
	size_t *pos = xmalloc(sx_size_mul(n ? n : 1, sizeof(*pos)));
	size_t *idx = xmalloc(sx_size_mul(n ? n : 1, sizeof(*idx)));
	double run = 0;
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		if (isnan(p[i]))
			continue;
		v[m] = p[i];
		pos[m] = i;
		m++;
	}
	for (i = 0; i < n; i++)
		if (isnan(p[i]))
			adj[i] = NAN;
	if (m > 0) {
		/* Equal p-values end up with equal adjusted values whatever their order. */
		gsl_sort_index(idx, v, 1, m);
		for (i = 0; i < m; i++) {
			double a = (double)(m - i) * v[idx[i]];

			if (a > 1)
				a = 1;
			if (a > run)
				run = a;
			adj[pos[idx[i]]] = run;
		}
	}
	free(v);
	free(pos);
	free(idx);
	return m;
}

/* ==== Calibration ======================================================= */

/* The bin of a usable confidence, or -1 when it is NaN or outside [0, 1]. */
static int ece_bin(double c)
{
	int b;

	if (isnan(c) || c < 0 || c > 1)
		return -1;
	b = (int)(c * SX_ECE_BINS);
	return b >= SX_ECE_BINS ? SX_ECE_BINS - 1 : b;
}

size_t sx_stats_ece_bins(const double *confidence, const unsigned char *correct, size_t n,
			 struct sx_ece_bin bins[SX_ECE_BINS])
{
	double conf[SX_ECE_BINS] = { 0 }, acc[SX_ECE_BINS] = { 0 };
	size_t i, total = 0;
	int b;

	for (b = 0; b < SX_ECE_BINS; b++)
		bins[b].n = 0;
	for (i = 0; i < n; i++) {
		double c = confidence[i];

		b = ece_bin(c);
		if (b < 0)
			continue;
		conf[b] += c;
		acc[b] += correct[i] ? 1.0 : 0.0;
		bins[b].n++;
		total++;
	}
	for (b = 0; b < SX_ECE_BINS; b++) {
		bins[b].confidence = bins[b].n ? conf[b] / (double)bins[b].n : NAN;
		bins[b].accuracy = bins[b].n ? acc[b] / (double)bins[b].n : NAN;
	}
	return total;
}

int sx_stats_ece(const double *confidence, const unsigned char *correct, size_t n, double *ece)
{
	struct sx_ece_bin bins[SX_ECE_BINS];
	size_t total = sx_stats_ece_bins(confidence, correct, n, bins);
	int b;

	if (total == 0) {
		*ece = NAN;
		return SX_STATS_UNDEFINED;
	}
	*ece = 0;
	for (b = 0; b < SX_ECE_BINS; b++)
		if (bins[b].n)
			*ece += ((double)bins[b].n / (double)total) *
				fabs(bins[b].accuracy - bins[b].confidence);
	return 0;
}

/*
 * ECE of the m usable pairs through idx (NULL: in order), as
 * (1/m) sum_b |sum of correct - sum of confidence| over bin b, which is the
 * same sum as sx_stats_ece's.
 */
static double ece_of(const double *c, const double *k, const int *bin, size_t m,
		     struct sx_rng *rng)
{
	double a[SX_ECE_BINS] = { 0 }, s = 0;
	size_t i;
	int b;

	for (i = 0; i < m; i++) {
		size_t j = rng ? sx_rng_below(rng, m) : i;

		a[bin[j]] += k[j] - c[j];
	}
	for (b = 0; b < SX_ECE_BINS; b++)
		s += fabs(a[b]);
	return s / (double)m;
}

/* BCa's acceleration for the ECE from its leave-one-out values (m >= 2). */
static double ece_acceleration(const double *c, const double *k, const int *bin, size_t m)
{
	double a[SX_ECE_BINS] = { 0 }, s = 0, mean = 0, s2 = 0, s3 = 0, *loo;
	size_t i;
	int b;

	for (i = 0; i < m; i++)
		a[bin[i]] += k[i] - c[i];
	for (b = 0; b < SX_ECE_BINS; b++)
		s += fabs(a[b]);
	loo = xmalloc(sx_size_mul(m, sizeof(*loo)));
	for (i = 0; i < m; i++) {
		double ab = a[bin[i]];

		loo[i] = (s - fabs(ab) + fabs(ab - (k[i] - c[i]))) / (double)(m - 1);
		mean += loo[i];
	}
	mean /= (double)m;
	for (i = 0; i < m; i++) {
		double d = mean - loo[i];

		s2 += d * d;
		s3 += d * d * d;
	}
	free(loo);
	return s2 > 0 ? s3 / (6.0 * pow(s2, 1.5)) : 0.0;
}

int sx_stats_ece_interval(const double *confidence, const unsigned char *correct, size_t n,
			  enum sx_interval how, size_t B, uint64_t seed, struct sx_ece *out)
{
	double *c = xmalloc(sx_size_mul(n ? n : 1, sizeof(*c)));
	double *k = xmalloc(sx_size_mul(n ? n : 1, sizeof(*k)));
	int *bin = xmalloc(sx_size_mul(n ? n : 1, sizeof(*bin)));
	double *t = NULL;
	struct sx_rng *rng = NULL;
	size_t i, m = 0, b;

	if (how != SX_INTERVAL_PERCENTILE && how != SX_INTERVAL_BCA && how != SX_INTERVAL_BCA_EXPANDED)
		how = SX_INTERVAL_BASIC;
	if (B == 0)
		B = SX_STATS_BOOTSTRAP_B;
	out->interval = how;
	for (i = 0; i < n; i++) {
		int bi = ece_bin(confidence[i]);

		if (bi < 0)
			continue;
		c[m] = confidence[i];
		k[m] = correct[i] ? 1.0 : 0.0;
		bin[m++] = bi;
	}
	out->n = m;
	out->ece = out->ci_lo = out->ci_hi = NAN;
	if (m == 0)
		goto out;
	out->ece = ece_of(c, k, bin, m, NULL);
	if (m == 1) {
		out->ci_lo = out->ci_hi = out->ece;
		goto out;
	}
	rng = sx_rng_new(seed);
	t = xmalloc(sx_size_mul(B, sizeof(*t)));
	for (b = 0; b < B; b++)
		t[b] = ece_of(c, k, bin, m, rng);
	gsl_sort(t, 1, B);
	replicate_interval(t, B, out->ece, 1e-12, how, m,
			   how == SX_INTERVAL_BCA || how == SX_INTERVAL_BCA_EXPANDED
				   ? ece_acceleration(c, k, bin, m) : 0.0,
			   &out->ci_lo, &out->ci_hi);
	out->ci_lo = fmin(fmax(out->ci_lo, 0.0), 1.0);
	out->ci_hi = fmin(fmax(out->ci_hi, 0.0), 1.0);
out:
	sx_rng_free(rng);
	free(t);
	free(c);
	free(k);
	free(bin);
	return m ? 0 : SX_STATS_UNDEFINED;
}
