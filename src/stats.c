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
	double sw = 0, ym = 0;
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
	double sw = 0, ym = 0, ss_res = 0, ss_tot = 0;
	size_t i;

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
		ss_tot += wi * (y[i] - ym) * (y[i] - ym);
	}
	if (!(ss_tot > 0))
		return NAN;
	return 1.0 - ss_res / ss_tot;
}

/* ==== Bootstrap summaries =============================================== */

/* 2.5 % and 97.5 % quantiles (type 7) of the means of B resamples of v[0..m). */
static void bootstrap_ci(const double *v, size_t m, size_t B, uint64_t seed, double *lo, double *hi)
{
	struct sx_rng *rng;
	double *means;
	size_t b, i;

	if (m == 0) {
		*lo = *hi = NAN;
		return;
	}
	if (B == 0)
		B = SX_STATS_BOOTSTRAP_B;
	rng = sx_rng_new(seed);
	means = xmalloc(sx_size_mul(B, sizeof(*means)));
	for (b = 0; b < B; b++) {
		double s = 0;

		for (i = 0; i < m; i++)
			s += v[sx_rng_below(rng, m)];
		means[b] = s / (double)m;
	}
	gsl_sort(means, 1, B);
	*lo = gsl_stats_quantile_from_sorted_data(means, 1, B, 0.025);
	*hi = gsl_stats_quantile_from_sorted_data(means, 1, B, 0.975);
	free(means);
	sx_rng_free(rng);
}

static void mean_sd(const double *v, size_t m, double *mean, double *sd)
{
	*mean = m ? gsl_stats_mean(v, 1, m) : NAN;
	*sd = m >= 2 ? gsl_stats_sd_m(v, 1, m, *mean) : NAN;
}

void sx_stats_summary(const double *x, size_t n, size_t B, uint64_t seed, struct sx_summary *out)
{
	double *v = xmalloc(sx_size_mul(n ? n : 1, sizeof(*v)));
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (!isnan(x[i]))
			v[m++] = x[i];
	out->n = m;
	mean_sd(v, m, &out->mean, &out->sd);
	bootstrap_ci(v, m, B, seed, &out->ci_lo, &out->ci_hi);
	free(v);
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

void sx_stats_paired(const double *a, const double *b, size_t n, size_t B, uint64_t seed,
		     struct sx_paired *out)
{
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
	/* Resampling pairs is resampling their differences. */
	bootstrap_ci(vd, m, B, seed, &out->ci_lo, &out->ci_hi);
	sx_stats_wilcoxon(va, vb, m, &out->p_value, &out->w_plus, &out->n_nonzero, &out->exact);
	free(va);
	free(vb);
	free(vd);
}

/* ==== Holm ============================================================== */

void sx_stats_holm(const double *p, size_t n, double *adj)
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
}

/* ==== Calibration ======================================================= */

int sx_stats_ece(const double *confidence, const unsigned char *correct, size_t n, double *ece)
{
	double conf[SX_ECE_BINS] = { 0 }, acc[SX_ECE_BINS] = { 0 };
	size_t cnt[SX_ECE_BINS] = { 0 }, i, total = 0;
	int b;

	for (i = 0; i < n; i++) {
		double c = confidence[i];

		if (isnan(c) || c < 0 || c > 1)
			continue;
		b = (int)(c * SX_ECE_BINS);
		if (b >= SX_ECE_BINS)
			b = SX_ECE_BINS - 1;
		conf[b] += c;
		acc[b] += correct[i] ? 1.0 : 0.0;
		cnt[b]++;
		total++;
	}
	if (total == 0) {
		*ece = NAN;
		return SX_STATS_UNDEFINED;
	}
	*ece = 0;
	for (b = 0; b < SX_ECE_BINS; b++)
		if (cnt[b])
			*ece += ((double)cnt[b] / (double)total) *
				fabs(acc[b] / (double)cnt[b] - conf[b] / (double)cnt[b]);
	return 0;
}
