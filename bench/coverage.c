/*
 * Coverage of selfexp's 95 % intervals (stats.h: percentile, BCa, expanded
 * BCa, studentized, Wilson, Clopper-Pearson), simulated: for each
 * distribution and sample size, R samples are drawn, each gets its interval
 * from the library (sx_stats_summary_as, sx_stats_ece_interval, with B
 * resamples), and the share of intervals that contain the true value is
 * printed, with its Monte Carlo standard error and the mean width.
 * Bernoulli rows also give the exact coverage of Wilson's and
 * Clopper-Pearson's intervals (a binomial sum, no simulation), and their
 * lowest exact coverage over p. Built and run by bench/coverage.sh, which appends the table to
 * BENCHMARKS.md; never part of `make check`.
 *
 * usage: coverage [R [B [SEED]]]   (defaults 2000, 1000, 1)
 * COVERAGE_ROWS=normal,lognormal: only those rows of the means and
 * candidates tables, and no other table; COVERAGE_INNER=C: the double
 * bootstrap-t with C inner resamples in the candidates table (candidates_table);
 * COVERAGE_POP=NAME=FILE,...: populations of selfexp's own metric values, one
 * number a line (population_table; bench/coverage.sh writes them from a run
 * against the sim), and COVERAGE_POP_ONLY=1 prints only their table;
 * COVERAGE_PAIRED_ONLY=1 prints only the paired differences of 0/1 values
 * (paired_table, paired_minima). After the candidates table comes the
 * variance-stabilised bootstrap-t and empirical likelihood's table on the same
 * samples (vs_el_table), with each interval's CPU time per aggregate;
 * COVERAGE_VSEL_ONLY=1 prints only that table, and COVERAGE_SHOW=K adds (on
 * stderr) every interval of the first K samples of each of its rows.
 *
 * ECE rows: a model with confidence uniform on [0.5, 1) and accuracy c - gap
 * at confidence c, whose true ECE is gap, R / 2 samples per row.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "selfexp/alloc.h"
#include "selfexp/stats.h"

enum dist { D_NORMAL, D_EXPONENTIAL, D_LOGNORMAL, D_BERN10, D_BERN30, D_BERN50, D_COUNT };

static const struct {
	const char *name;
	double truth;      /* the population mean */
	int proportion;    /* 0/1 data: Clopper-Pearson is the interval selfexp uses */
	double p;          /* Bernoulli p */
} dists[D_COUNT] = {
	[D_NORMAL] = { "normal(0, 1)", 0.0, 0, 0 },
	[D_EXPONENTIAL] = { "exponential(1)", 1.0, 0, 0 },
	[D_LOGNORMAL] = { "lognormal(0, 1)", 1.6487212707001282, 0, 0 }, /* exp(1/2) */
	[D_BERN10] = { "Bernoulli(0.1)", 0.1, 1, 0.1 },
	[D_BERN30] = { "Bernoulli(0.3)", 0.3, 1, 0.3 },
	[D_BERN50] = { "Bernoulli(0.5)", 0.5, 1, 0.5 },
};

static double gauss(struct sx_rng *r)
{
	double u = sx_rng_uniform(r), v = sx_rng_uniform(r);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

static double draw(enum dist d, struct sx_rng *r)
{
	switch (d) {
	case D_NORMAL:
		return gauss(r);
	case D_EXPONENTIAL:
		return -log(1.0 - sx_rng_uniform(r));
	case D_LOGNORMAL:
		return exp(gauss(r));
	default:
		return sx_rng_uniform(r) < dists[d].p ? 1.0 : 0.0;
	}
}

struct tally {
	size_t covered, n;
	double width;
};

static void count(struct tally *t, double lo, double hi, double truth)
{
	t->covered += lo <= truth && truth <= hi;
	t->width += hi - lo;
	t->n++;
}

static void cell(const struct tally *t)
{
	double c = (double)t->covered / (double)t->n;

	printf(" %.3f (%.2f) |", c, t->width / (double)t->n);
}

/* Exact coverage of a proportion's interval at p: the binomial probability of the k whose interval holds p. */
static double exact_coverage(enum sx_interval how, size_t n, double p)
{
	double *x = xcalloc(n, sizeof(*x)), cov = 0;
	size_t k, i;

	for (k = 0; k <= n; k++) {
		struct sx_summary s;
		double logpk;

		for (i = 0; i < n; i++)
			x[i] = i < k ? 1.0 : 0.0;
		sx_stats_summary_as(x, n, how, 0, 0, &s);
		if (!(s.ci_lo <= p && p <= s.ci_hi))
			continue;
		logpk = lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1) +
			(double)k * log(p) + (double)(n - k) * log1p(-p);
		cov += exp(logpk);
	}
	free(x);
	return cov;
}

#define NHOW 6
#define NBOOT 4 /* the first NBOOT of how[] are bootstrap intervals, for every row */

/*
 * COVERAGE_ROWS, a comma-separated list of distribution names' first words
 * ("normal,lognormal"), keeps only those rows of the means table and skips
 * the other tables (quick looks); unset: everything.
 */
static int row_selected(int d)
{
	const char *sel = getenv("COVERAGE_ROWS"), *p;
	size_t len = strcspn(dists[d].name, "(");

	if (!sel || !*sel)
		return 1;
	for (p = sel; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		size_t k = strcspn(p, ",");

		if (k == len && !strncmp(p, dists[d].name, len))
			return 1;
	}
	return 0;
}

static void means_table(size_t R, size_t B, uint64_t seed)
{
	static const size_t ns[] = { 10, 30, 100 };
	static const enum sx_interval how[NHOW] = { SX_INTERVAL_PERCENTILE, SX_INTERVAL_BCA,
						    SX_INTERVAL_BCA_EXPANDED, SX_INTERVAL_STUDENTIZED,
						    SX_INTERVAL_WILSON, SX_INTERVAL_CLOPPER_PEARSON };
	double *x = xmalloc(100 * sizeof(*x));
	size_t in, r, h, i;
	int d;

	printf("| distribution | n | percentile (before) | BCa | BCa expanded | studentized | Wilson | "
	       "Clopper-Pearson | selfexp's interval | exact: Wilson | exact: Clopper-Pearson |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (d = 0; d < D_COUNT; d++) {
		if (!row_selected(d))
			continue;
		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			struct tally t[NHOW];
			size_t n = ns[in];
			char id[64];

			memset(t, 0, sizeof(t));
			for (r = 0; r < R; r++) {
				struct sx_rng *g;

				snprintf(id, sizeof(id), "%d/%zu/%zu", d, n, r);
				g = sx_rng_new(sx_seed_derive(seed, "coverage-data", id));
				for (i = 0; i < n; i++)
					x[i] = draw((enum dist)d, g);
				sx_rng_free(g);
				for (h = 0; h < NHOW; h++) {
					struct sx_summary s;

					if (h >= NBOOT && !dists[d].proportion)
						continue;
					sx_stats_summary_as(x, n, how[h], B,
							    sx_seed_derive(seed, "coverage-boot", id), &s);
					count(&t[h], s.ci_lo, s.ci_hi, dists[d].truth);
				}
			}
			printf("| %s | %zu |", dists[d].name, n);
			for (h = 0; h < NHOW; h++) {
				if (t[h].n)
					cell(&t[h]);
				else
					printf(" |");
			}
			printf(" %s |", dists[d].proportion ? "Clopper-Pearson" : "studentized");
			if (dists[d].proportion)
				printf(" %.4f | %.4f |\n",
				       exact_coverage(SX_INTERVAL_WILSON, n, dists[d].p),
				       exact_coverage(SX_INTERVAL_CLOPPER_PEARSON, n, dists[d].p));
			else
				printf(" | |\n");
			fflush(stdout);
		}
	}
	free(x);
}

/* ---- Candidates for the skewed mean (issue 19), computed here ----------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* R type 7 quantile of sorted t[0..B), as gsl_stats_quantile_from_sorted_data. */
static double q7(const double *t, size_t B, double p)
{
	double h = (double)(B - 1) * p;
	size_t lo = (size_t)h;

	if (lo >= B - 1)
		return t[B - 1];
	return t[lo] + (h - (double)lo) * (t[lo + 1] - t[lo]);
}

/* The share of sorted t[0..B) that is <= x. */
static double ecdf(const double *t, size_t B, double x)
{
	size_t lo = 0, hi = B;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (double)lo / (double)B;
}

static void mean_sd_of(const double *x, size_t m, double *mean, double *sd)
{
	double s = 0, s2 = 0;
	size_t i;

	for (i = 0; i < m; i++)
		s += x[i];
	*mean = s / (double)m;
	for (i = 0; i < m; i++)
		s2 += (x[i] - *mean) * (x[i] - *mean);
	*sd = sqrt(s2 / (double)(m - 1));
}

/*
 * Hall (1992), "On the removal of skewness by transformation", JRSS B 54:
 * for the studentized mean t and l = skewness / sqrt(n) (moment estimator,
 * divisor n), g(t) = t + a l t^2 + a^2 l^2 t^3 / 3 + b l with a = 1/3,
 * b = 1/6 removes the n^-1/2 term of t's Edgeworth expansion
 * (P(t <= x) = Phi(x) + l (2x^2 + 1) phi(x) / 6 + ...); g is increasing,
 * g(t) = ((1 + a l t)^3 - 1) / (3 a l) + b l, and inverts in closed form.
 */
#define HALL_A (1.0 / 3.0)
#define HALL_B (1.0 / 6.0)

static double hall_lambda(const double *x, size_t m, double mean, double sd)
{
	double s3 = 0, sigma = sd * sqrt((double)(m - 1) / (double)m);
	size_t i;

	for (i = 0; i < m; i++)
		s3 += (x[i] - mean) * (x[i] - mean) * (x[i] - mean);
	return s3 / (double)m / (sigma * sigma * sigma) / sqrt((double)m);
}

static double hall_g(double t, double l)
{
	return t + HALL_A * l * t * t + HALL_A * HALL_A * l * l * t * t * t / 3 + HALL_B * l;
}

static double hall_g_inv(double y, double l)
{
	double u = 3 * HALL_A * l * (y - HALL_B * l);

	if (l == 0)
		return y;
	return (u > -1 ? expm1(log1p(u) / 3) : cbrt(1 + u) - 1) / (HALL_A * l);
}

enum { C_STUD, C_HALL, C_HALL_Z, C_SYM, C_FDB, C_CF, C_CF_BC, C_STUD_BC, C_DOUBLE, NCAND };

/* Skewness and excess kurtosis of x[0..m) (moments with divisor m), and the second moment. */
static void cumulants(const double *x, size_t m, double *m2, double *skew, double *kurt)
{
	double a = 0, b = 0, c = 0, d = 0;
	size_t i;

	for (i = 0; i < m; i++)
		a += x[i];
	a /= (double)m;
	for (i = 0; i < m; i++) {
		double e = x[i] - a;

		b += e * e;
		c += e * e * e;
		d += e * e * e * e;
	}
	b /= (double)m;
	*m2 = b;
	*skew = b > 0 ? c / (double)m / pow(b, 1.5) : 0;
	*kurt = b > 0 ? d / (double)m / (b * b) - 3 : 0;
}

/*
 * The Cornish-Fisher quantile, to order 1/n, of the studentized mean
 * T = sqrt(n) (mean - mu) / sigma (sigma with divisor n), from its Edgeworth
 * expansion (Hall 1992, The Bootstrap and Edgeworth Expansion, section 2.6):
 * P(T <= x) = Phi(x) + n^-1/2 p1(x) phi(x) + n^-1 p2(x) phi(x) + ..., with
 * p1(x) = g (2x^2 + 1) / 6 and
 * p2(x) = x (k (x^2 - 3) / 12 - g^2 (x^4 + 2x^2 - 3) / 18 - (x^2 + 3) / 4),
 * g the skewness and k the excess kurtosis; its z-quantile is
 * z - n^-1/2 p1(z) + n^-1 (p1(z) p1'(z) - z p1(z)^2 / 2 - p2(z)).
 * With g = k = 0 it is Student's t quantile to order 1/n, rescaled to T.
 */
static double cornish_fisher(double z, double g, double k, double n)
{
	double p1 = g * (2 * z * z + 1) / 6, dp1 = g * 4 * z / 6;
	double p2 = z * (k * (z * z - 3) / 12 - g * g * (z * z * z * z + 2 * z * z - 3) / 18 -
			 (z * z + 3) / 4);

	return z - p1 / sqrt(n) + (p1 * dp1 - z * p1 * p1 / 2 - p2) / n;
}

/* The studentized mean of resample y (mean my, sd sy) about centre; +-inf or 0 when sy = 0. */
static double t_of(double my, double sy, double centre, size_t m)
{
	if (sy > 0)
		return (my - centre) / (sy / sqrt((double)m));
	return my > centre ? INFINITY : my < centre ? -INFINITY : 0.0;
}

/*
 * The candidates' ends for v[0..m) (mean, sd from the library): the outer
 * resamples are the library's (the same stream, drawn the same way), so
 * C_STUD is selfexp's studentized interval; the inner resamples of the fast
 * double bootstrap (one per outer resample) and of the double bootstrap (C
 * per outer resample, C = 0: none) come from a stream of their own, in that
 * order (so the fast double bootstrap's cells move a little with C). Returns
 * -1 when an outer resample is constant (never with continuous data).
 */
static int candidates(const double *v, size_t m, double mean, double sd, size_t B, size_t C,
		      uint64_t seed, uint64_t inner_seed, double lo[NCAND], double hi[NCAND])
{
	struct sx_rng *g = sx_rng_new(seed), *gi = sx_rng_new(inner_seed);
	double *t = xmalloc(B * sizeof(*t)), *h = xmalloc(B * sizeof(*h));
	double *t2 = xmalloc(B * sizeof(*t2)), *u = xmalloc(B * sizeof(*u)), *at = xmalloc(B * sizeof(*at));
	double *x = xmalloc(m * sizeof(*x)), *y = xmalloc(m * sizeof(*y));
	double se = sd / sqrt((double)m), l = hall_lambda(v, m, mean, sd);
	double z = 1.959963984540054, bl, bh, m2, g0, k0, g1, k1, gsum = 0, ksum = 0;
	size_t b, c, i;
	int ret = 0;

	for (b = 0; b < B; b++) {
		double mb, sb, my, sy;
		size_t below = 0;

		for (i = 0; i < m; i++)
			x[i] = v[sx_rng_below(g, m)];
		mean_sd_of(x, m, &mb, &sb);
		if (!(sb > 0)) {
			ret = -1;
			goto out;
		}
		t[b] = (mb - mean) / (sb / sqrt((double)m));
		at[b] = fabs(t[b]);
		h[b] = hall_g(t[b], hall_lambda(x, m, mb, sb));
		{
			double vb, gb, kb;

			cumulants(x, m, &vb, &gb, &kb);
			gsum += gb;
			ksum += kb;
		}
		for (i = 0; i < m; i++)
			y[i] = x[sx_rng_below(gi, m)];
		mean_sd_of(y, m, &my, &sy);
		t2[b] = t_of(my, sy, mb, m);
		for (c = 0; c < C; c++) {
			for (i = 0; i < m; i++)
				y[i] = x[sx_rng_below(gi, m)];
			mean_sd_of(y, m, &my, &sy);
			below += t_of(my, sy, mb, m) <= t[b];
		}
		u[b] = C ? (double)below / (double)C : 0;
	}
	qsort(t, B, sizeof(*t), cmp_double);
	qsort(h, B, sizeof(*h), cmp_double);
	qsort(t2, B, sizeof(*t2), cmp_double);
	qsort(u, B, sizeof(*u), cmp_double);
	qsort(at, B, sizeof(*at), cmp_double);
	lo[C_STUD] = mean - q7(t, B, 0.975) * se;
	hi[C_STUD] = mean - q7(t, B, 0.025) * se;
	lo[C_HALL] = mean - hall_g_inv(q7(h, B, 0.975), l) * se;
	hi[C_HALL] = mean - hall_g_inv(q7(h, B, 0.025), l) * se;
	lo[C_HALL_Z] = mean - hall_g_inv(z, l) * se;
	hi[C_HALL_Z] = mean - hall_g_inv(-z, l) * se;
	lo[C_SYM] = mean - q7(at, B, 0.95) * se;
	hi[C_SYM] = mean + q7(at, B, 0.95) * se;
	/* fast double bootstrap: the level beta with Q**(beta) = q*(alpha), beta = F**(q*(alpha)) */
	bl = ecdf(t2, B, q7(t, B, 0.025));
	bh = ecdf(t2, B, q7(t, B, 0.975));
	lo[C_FDB] = mean - q7(t, B, bh) * se;
	hi[C_FDB] = mean - q7(t, B, bl) * se;
	/* Cornish-Fisher with the sample's skewness and kurtosis, then with their
	 * bootstrap bias corrections 2 g - mean(g*), 2 k - mean(k*) */
	cumulants(v, m, &m2, &g0, &k0);
	g1 = 2 * g0 - gsum / (double)B;
	k1 = 2 * k0 - ksum / (double)B;
	lo[C_CF] = mean - cornish_fisher(z, g0, k0, (double)m) * sqrt(m2 / (double)m);
	hi[C_CF] = mean - cornish_fisher(-z, g0, k0, (double)m) * sqrt(m2 / (double)m);
	lo[C_CF_BC] = mean - cornish_fisher(z, g1, k1, (double)m) * sqrt(m2 / (double)m);
	hi[C_CF_BC] = mean - cornish_fisher(-z, g1, k1, (double)m) * sqrt(m2 / (double)m);
	/* the bootstrap-t's quantiles moved by what the bias corrections move the
	 * Cornish-Fisher quantiles (those are in units of sigma / sqrt(m), sigma
	 * with divisor m; t* and se in units of sd / sqrt(m), sd with m - 1) */
	lo[C_STUD_BC] = mean - (q7(t, B, 0.975) + (cornish_fisher(z, g1, k1, (double)m) -
						 cornish_fisher(z, g0, k0, (double)m)) *
						sqrt((double)(m - 1) / (double)m)) * se;
	hi[C_STUD_BC] = mean - (q7(t, B, 0.025) + (cornish_fisher(-z, g1, k1, (double)m) -
						 cornish_fisher(-z, g0, k0, (double)m)) *
						sqrt((double)(m - 1) / (double)m)) * se;
	/* double bootstrap: beta = the alpha-quantile of u_b = F**_b(t*_b) */
	lo[C_DOUBLE] = mean - q7(t, B, q7(u, B, 0.975)) * se;
	hi[C_DOUBLE] = mean - q7(t, B, q7(u, B, 0.025)) * se;
out:
	sx_rng_free(g);
	sx_rng_free(gi);
	free(t);
	free(h);
	free(t2);
	free(u);
	free(at);
	free(x);
	free(y);
	return ret;
}

/*
 * Candidate intervals for the continuous rows: selfexp's studentized
 * interval recomputed here (its ends are checked against the library's),
 * Hall's transformation bootstrap-t, Hall's transformation with the normal
 * quantile (no bootstrap), the symmetric bootstrap-t, the fast double
 * bootstrap-t (Davidson & MacKinnon 2007), the second-order Cornish-Fisher
 * interval with the sample's skewness and kurtosis (cornish_fisher) and with
 * their bootstrap bias corrections, the bootstrap-t moved by what those
 * corrections move the Cornish-Fisher quantiles, and, with COVERAGE_INNER=C, the
 * double bootstrap-t (Hall 1986, Beran 1987) with C inner resamples per
 * outer one, at n = 10 and 30 only (it costs C + 1 times the others).
 */
static void candidates_table(size_t R, size_t B, uint64_t seed)
{
	static const size_t ns[] = { 10, 30, 100 };
	static const int ds[] = { D_NORMAL, D_EXPONENTIAL, D_LOGNORMAL };
	const char *inner = getenv("COVERAGE_INNER");
	size_t C = inner && *inner ? (size_t)strtoull(inner, NULL, 10) : 0;
	double *x = xmalloc(100 * sizeof(*x)), maxdiff = 0;
	size_t in, r, h, i, k;

	printf("\nCandidates for skewed data (issue 19), computed in bench/coverage.c on the library's "
	       "resamples:\n\n| distribution | n | studentized (selfexp's) | Hall bootstrap-t | "
	       "Hall, normal quantile | symmetric bootstrap-t | fast double bootstrap-t | "
	       "Cornish-Fisher, skewness and kurtosis | Cornish-Fisher, bias-corrected | "
	       "bootstrap-t, bias-corrected | "
	       "double bootstrap-t, C = %zu%s |\n|---|---|---|---|---|---|---|---|---|---|---|\n", C,
	       C ? " (n <= 30)" : " (not run: COVERAGE_INNER)");
	for (k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		int d = ds[k];

		if (!row_selected(d))
			continue;
		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			struct tally t[NCAND];
			size_t n = ns[in], Cn = n <= 30 ? C : 0;
			char id[64];

			memset(t, 0, sizeof(t));
			for (r = 0; r < R; r++) {
				struct sx_rng *g;
				struct sx_summary s;
				double lo[NCAND], hi[NCAND];
				uint64_t bs;

				snprintf(id, sizeof(id), "%d/%zu/%zu", d, n, r);
				g = sx_rng_new(sx_seed_derive(seed, "coverage-data", id));
				for (i = 0; i < n; i++)
					x[i] = draw((enum dist)d, g);
				sx_rng_free(g);
				bs = sx_seed_derive(seed, "coverage-boot", id);
				sx_stats_summary_as(x, n, SX_INTERVAL_STUDENTIZED, B, bs, &s);
				if (candidates(x, n, s.mean, s.sd, B, Cn, bs,
					       sx_seed_derive(seed, "coverage-inner", id), lo, hi))
					continue;
				maxdiff = fmax(maxdiff, fmax(fabs(lo[C_STUD] - s.ci_lo), fabs(hi[C_STUD] - s.ci_hi)));
				for (h = 0; h < NCAND; h++)
					if (h != C_DOUBLE || Cn)
						count(&t[h], lo[h], hi[h], dists[d].truth);
			}
			printf("| %s | %zu |", dists[d].name, n);
			for (h = 0; h < NCAND; h++) {
				if (t[h].n)
					cell(&t[h]);
				else
					printf(" |");
			}
			printf("\n");
			fflush(stdout);
		}
	}
	printf("\nLargest difference between the studentized ends recomputed here and the library's: "
	       "%.1e.\n", maxdiff);
	free(x);
	/* the candidates are only comparable if they saw the library's resamples */
	if (!(maxdiff < 1e-9)) {
		fflush(stdout);
		fprintf(stderr, "coverage: the candidates' resamples are not the library's "
			"(studentized ends differ by %g)\n", maxdiff);
		exit(1);
	}
}

/* ---- The variance-stabilised bootstrap-t and empirical likelihood (issue 19) ---- */

/*
 * The variance-stabilised bootstrap-t (Tibshirani 1988; Efron & Tibshirani
 * 1993, An Introduction to the Bootstrap, section 12.6): VS_B1 resamples,
 * each with VS_B2 inner resamples whose means' sd is se*(mean*); log se* is
 * smoothed against mean* by running lines (E&T section 7.3: at each of the
 * sorted mean*, the least-squares line through the VS_SPAN nearest points by
 * rank, a symmetric window truncated at the ends), s(u) = exp(smooth), so
 * s > 0; g(t) = integral of 1/s(u) du by the trapezoid rule on the grid of the
 * distinct sorted mean*, linear between grid points and extrapolated linearly
 * beyond them (slope 1/s at the end points), so g is increasing and piecewise
 * linear, and its inverse is piecewise linear too.
 */
#define VS_B1 100
#define VS_B2 25
#ifndef VS_SPAN
#define VS_SPAN 33 /* -DVS_SPAN=K (odd, at most VS_B1) tries another span */
#endif

struct vs_g {
	size_t k;         /* grid points */
	double u[VS_B1];  /* the distinct sorted mean* */
	double g[VS_B1];  /* g at u */
	double slope_lo, slope_hi; /* 1/s at u[0] and u[k - 1] */
};

/* Piecewise linear through (a[i], b[i]), i < k, a increasing, extrapolated with the end slopes. */
static double vs_interp(const double *a, const double *b, size_t k, double slo, double shi, double t)
{
	size_t lo = 0, hi = k - 1;

	if (t <= a[0])
		return b[0] + (t - a[0]) * slo;
	if (t >= a[k - 1])
		return b[k - 1] + (t - a[k - 1]) * shi;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return b[lo] + (t - a[lo]) * (b[hi] - b[lo]) / (a[hi] - a[lo]);
}

static double vs_gof(const struct vs_g *f, double t)
{
	return vs_interp(f->u, f->g, f->k, f->slope_lo, f->slope_hi, t);
}

static double vs_ginv(const struct vs_g *f, double y)
{
	return vs_interp(f->g, f->u, f->k, 1 / f->slope_lo, 1 / f->slope_hi, y);
}

/*
 * The check of g: increasing on its grid, and g^-1(g(t)) = t (relative to
 * the grid's span) at every grid point, between them, beyond both ends and at
 * extra[0..ne); returns the largest round-trip error, or +inf if g is not
 * increasing.
 */
static double vs_check(const struct vs_g *f, const double *extra, size_t ne)
{
	double span = f->u[f->k - 1] - f->u[0], err = 0;
	size_t i;

	if (!(span > 0) || !(f->slope_lo > 0) || !(f->slope_hi > 0))
		return INFINITY;
	for (i = 0; i + 1 < f->k; i++) {
		double mid = (f->u[i] + f->u[i + 1]) / 2;

		if (!(f->g[i + 1] > f->g[i]))
			return INFINITY;
		err = fmax(err, fabs(vs_ginv(f, vs_gof(f, f->u[i])) - f->u[i]) / span);
		err = fmax(err, fabs(vs_ginv(f, vs_gof(f, mid)) - mid) / span);
	}
	err = fmax(err, fabs(vs_ginv(f, vs_gof(f, f->u[f->k - 1])) - f->u[f->k - 1]) / span);
	err = fmax(err, fabs(vs_ginv(f, vs_gof(f, f->u[0] - span)) - (f->u[0] - span)) / span);
	err = fmax(err, fabs(vs_ginv(f, vs_gof(f, f->u[f->k - 1] + span)) - (f->u[f->k - 1] + span)) / span);
	for (i = 0; i < ne; i++)
		err = fmax(err, fabs(vs_ginv(f, vs_gof(f, extra[i])) - extra[i]) / span);
	return err;
}

struct pair {
	double u, s;
};

static int cmp_pair(const void *a, const void *b)
{
	double x = ((const struct pair *)a)->u, y = ((const struct pair *)b)->u;

	return (x > y) - (x < y);
}

/*
 * The variance-stabilised bootstrap-t interval of the mean of v[0..m):
 * VS_B1 x VS_B2 resamples build g (struct vs_g), then B3 fresh resamples
 * from the same stream give q, the quantiles of g(mean*) - g(mean), and the
 * interval is g^-1(g(mean) - q(0.975)), g^-1(g(mean) - q(0.025)). *check is
 * vs_check's error for this g (the ends and the B3 extremes included).
 * Returns -1 when an inner sd is 0 or every mean* is equal (never with
 * continuous data).
 */
static int vs_interval(const double *v, size_t m, double mean, size_t B3, uint64_t seed, double *lo,
		       double *hi, double *check)
{
	struct sx_rng *g = sx_rng_new(seed);
	struct pair p[VS_B1];
	struct vs_g f;
	double *x = xmalloc(m * sizeof(*x)), *d = xmalloc(B3 * sizeof(*d)), fit[VS_B1], gm, extra[4], span;
	size_t b, c, i, j = 0, h = VS_SPAN / 2;
	int ret = 0;

	for (b = 0; b < VS_B1; b++) {
		double inner[VS_B2], mb, sb, mi, si;

		for (i = 0; i < m; i++)
			x[i] = v[sx_rng_below(g, m)];
		mean_sd_of(x, m, &mb, &sb);
		for (c = 0; c < VS_B2; c++) {
			double s = 0;

			for (i = 0; i < m; i++)
				s += x[sx_rng_below(g, m)];
			inner[c] = s / (double)m;
		}
		mean_sd_of(inner, VS_B2, &mi, &si);
		if (!(si > 0)) {
			ret = -1;
			goto out;
		}
		p[b].u = mb;
		p[b].s = log(si);
	}
	qsort(p, VS_B1, sizeof(*p), cmp_pair);
	/* running lines on (u, log se*) */
	for (b = 0; b < VS_B1; b++) {
		size_t a0 = b >= h ? b - h : 0, a1 = b + h < VS_B1 ? b + h : VS_B1 - 1;
		double su = 0, sl = 0, suu = 0, sul = 0, k = (double)(a1 - a0 + 1), vu;

		for (i = a0; i <= a1; i++) {
			su += p[i].u;
			sl += p[i].s;
		}
		su /= k;
		sl /= k;
		for (i = a0; i <= a1; i++) {
			suu += (p[i].u - su) * (p[i].u - su);
			sul += (p[i].u - su) * (p[i].s - sl);
		}
		vu = suu > 0 ? sul / suu : 0;
		fit[b] = exp(sl + vu * (p[b].u - su));
	}
	/* the grid: distinct u, g by the trapezoid rule on 1/s; resamples holding the same values
	 * in another order have means that differ by rounding only, so u within 1e-12 of the
	 * span of the previous grid point (or not moving g) is the same point */
	f.k = 0;
	span = p[VS_B1 - 1].u - p[0].u;
	for (b = 0; b < VS_B1; b++) {
		double gb = f.k ? f.g[f.k - 1] + (p[b].u - f.u[f.k - 1]) * (1 / fit[b] + 1 / fit[j]) / 2 : 0;

		if (f.k && (!(p[b].u - f.u[f.k - 1] > 1e-12 * span) || !(gb > f.g[f.k - 1])))
			continue;
		f.u[f.k] = p[b].u;
		f.g[f.k] = gb;
		j = b;
		f.k++;
	}
	if (f.k < 2) {
		ret = -1;
		goto out;
	}
	f.slope_lo = 1 / fit[0];
	f.slope_hi = 1 / fit[j];
	gm = vs_gof(&f, mean);
	for (b = 0; b < B3; b++) {
		double s = 0;

		for (i = 0; i < m; i++)
			s += v[sx_rng_below(g, m)];
		d[b] = vs_gof(&f, s / (double)m) - gm;
	}
	qsort(d, B3, sizeof(*d), cmp_double);
	*lo = vs_ginv(&f, gm - q7(d, B3, 0.975));
	*hi = vs_ginv(&f, gm - q7(d, B3, 0.025));
	extra[0] = *lo;
	extra[1] = *hi;
	extra[2] = vs_ginv(&f, gm + d[0]);
	extra[3] = vs_ginv(&f, gm + d[B3 - 1]);
	*check = vs_check(&f, extra, 4);
out:
	sx_rng_free(g);
	free(x);
	free(d);
	return ret;
}

/*
 * Empirical likelihood for the mean (Owen 1988, Biometrika 75; Owen 2001,
 * Empirical Likelihood, chapter 3): for mu strictly inside (min x, max x),
 * -2 log R(mu) = 2 sum log(1 + lambda (x_i - mu)), lambda the root of
 * sum (x_i - mu) / (1 + lambda (x_i - mu)) = 0, decreasing in lambda, which lies
 * where every 1 + lambda (x_i - mu) >= 1/n: found by Newton's method, a step
 * that leaves the bracket replaced by bisection. *resid, when not NULL, gets
 * the estimating equation's residual relative to the sum of its terms' sizes.
 * +inf outside the hull.
 */
static double el_m2logr(const double *x, size_t n, double mu, double *resid)
{
	double dmin = INFINITY, dmax = -INFINITY, lo, hi, lam = 0, f = 0, fa = 1, r = 0, width;
	size_t i, it;

	for (i = 0; i < n; i++) {
		dmin = fmin(dmin, x[i] - mu);
		dmax = fmax(dmax, x[i] - mu);
	}
	if (!(dmin < 0 && dmax > 0))
		return INFINITY;
	lo = (1.0 / (double)n - 1) / dmax;
	hi = (1.0 / (double)n - 1) / dmin;
	width = hi - lo;
	for (it = 0; it < 200; it++) {
		double fp = 0, nl;

		f = 0;
		fa = 0;
		for (i = 0; i < n; i++) {
			double dd = x[i] - mu, w = 1 + lam * dd;

			f += dd / w;
			fa += fabs(dd / w);
			fp -= dd * dd / (w * w);
		}
		if (f == 0)
			break;
		if (f > 0)
			lo = lam;
		else
			hi = lam;
		nl = lam - f / fp;
		if (!(nl > lo && nl < hi))
			nl = lo + (hi - lo) / 2;
		if (fabs(nl - lam) <= 1e-15 * width || hi - lo <= 1e-15 * width) {
			lam = nl;
			break;
		}
		lam = nl;
	}
	if (resid) {
		f = 0;
		fa = 0;
		for (i = 0; i < n; i++) {
			double dd = x[i] - mu, w = 1 + lam * dd;

			f += dd / w;
			fa += fabs(dd / w);
		}
		*resid = fa > 0 ? fabs(f) / fa : 0;
	}
	for (i = 0; i < n; i++)
		r += log1p(lam * (x[i] - mu));
	return 2 * r;
}

/*
 * The empirical likelihood interval {mu: -2 log R(mu) <= crit} of x[0..n)
 * (mean mean), each end by bisection between the mean (where -2 log R is 0)
 * and min x or max x (where it tends to infinity), to 1e-13 of the range;
 * crit = +inf gives (min x, max x). *check gets the largest of
 * |-2 log R(end) - crit| / crit and the estimating equation's residual at the ends.
 */
static void el_interval(const double *x, size_t n, double mean, double crit, double *lo, double *hi,
			double *check)
{
	double xmin = INFINITY, xmax = -INFINITY, range, res;
	size_t i;
	int side;

	for (i = 0; i < n; i++) {
		xmin = fmin(xmin, x[i]);
		xmax = fmax(xmax, x[i]);
	}
	range = xmax - xmin;
	*check = 0;
	if (!isfinite(crit)) {
		*lo = xmin;
		*hi = xmax;
		return;
	}
	for (side = 0; side < 2; side++) {
		double in = mean, outer = side ? xmax : xmin, mid = mean, val;

		while (fabs(outer - in) > 1e-13 * range) {
			mid = in + (outer - in) / 2;
			if (el_m2logr(x, n, mid, NULL) <= crit)
				in = mid;
			else
				outer = mid;
		}
		mid = in + (outer - in) / 2;
		val = el_m2logr(x, n, mid, &res);
		*check = fmax(*check, fmax(fabs(val - crit) / crit, res));
		if (side)
			*hi = mid;
		else
			*lo = mid;
	}
}

#define CHI2_1_95 3.841458820694124 /* the 95 % quantile of chi-squared with 1 degree of freedom */

/* The Bartlett factor's a (DiCiccio, Hall & Romano 1991): mu4 / (2 mu2^2) - mu3^2 / (3 mu2^3). */
static double el_bartlett_a(const double *x, size_t n)
{
	double a = 0, m2 = 0, m3 = 0, m4 = 0;
	size_t i;

	for (i = 0; i < n; i++)
		a += x[i];
	a /= (double)n;
	for (i = 0; i < n; i++) {
		double e = x[i] - a;

		m2 += e * e;
		m3 += e * e * e;
		m4 += e * e * e * e;
	}
	m2 /= (double)n;
	m3 /= (double)n;
	m4 /= (double)n;
	return m4 / (2 * m2 * m2) - m3 * m3 / (3 * m2 * m2 * m2);
}

/*
 * The bootstrap calibration of empirical likelihood (Owen 1988, section 4;
 * Owen 2001, section 3.3): the 95 % quantile of -2 log R*(mean) over B
 * resamples x* drawn as the library draws its resamples (so from stream seed,
 * the resamples of selfexp's studentized interval), +inf when more than 5 %
 * of the resamples do not hold the mean inside their hull.
 */
static double el_boot_crit(const double *v, size_t m, double mean, size_t B, uint64_t seed)
{
	struct sx_rng *g = sx_rng_new(seed);
	double *x = xmalloc(m * sizeof(*x)), *w = xmalloc(B * sizeof(*w)), q;
	size_t b, i;

	for (b = 0; b < B; b++) {
		for (i = 0; i < m; i++)
			x[i] = v[sx_rng_below(g, m)];
		w[b] = el_m2logr(x, m, mean, NULL);
	}
	qsort(w, B, sizeof(*w), cmp_double);
	{
		/* q7 with infinite values: +inf where it would interpolate towards one */
		double hh = (double)(B - 1) * 0.95;
		size_t l = (size_t)hh;

		if (!isfinite(w[l]) || (l + 1 < B && hh > (double)l && !isfinite(w[l + 1])))
			q = INFINITY;
		else
			q = q7(w, B, 0.95);
	}
	sx_rng_free(g);
	free(x);
	free(w);
	return q;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

enum { V_STUD, V_VS, V_EL, V_EL_BART, V_EL_BOOT, NVEL };

/*
 * The variance-stabilised bootstrap-t (vs_interval: B1 = 100, B2 = 25, B3 = B
 * fresh resamples from a stream of its own) and empirical likelihood with the
 * chi-squared, the Bartlett-corrected (1 + a / n) and the bootstrap-calibrated
 * (el_boot_crit, on the library's resamples) critical values, on the samples
 * of the candidates table; then the CPU time of an aggregate of each (this
 * thread's, mean over the row's samples). Exits 1 when g is not increasing or
 * does not invert (vs_check above 1e-9), when a sample gets no variance-stabilised
 * interval, or when an EL end misses its critical value (above 1e-6). COVERAGE_SHOW=K also prints every interval of the first K
 * samples of each row, with Student's t interval.
 */
static void vs_el_table(size_t R, size_t B, uint64_t seed)
{
	static const size_t ns[] = { 10, 30, 100 };
	static const double tq[] = { 2.262157162740991, 2.045229642132703, 1.984216951835213 };
	static const int ds[] = { D_NORMAL, D_EXPONENTIAL, D_LOGNORMAL };
	static const char *names[NVEL] = { "studentized (selfexp's)", "variance-stabilised bootstrap-t",
					   "empirical likelihood", "EL, Bartlett-corrected",
					   "EL, bootstrap-calibrated" };
	const char *show_s = getenv("COVERAGE_SHOW");
	size_t show = show_s && *show_s ? (size_t)strtoull(show_s, NULL, 10) : 0;
	double *x = xmalloc(100 * sizeof(*x)), vs_err = 0, el_err = 0, ms[3][3][NVEL];
	size_t in, r, h, i, k, skipped = 0;

	printf("\nThe variance-stabilised bootstrap-t (B1 = %d, B2 = %d, B3 = %zu) and empirical "
	       "likelihood (issue 19), on the samples of the candidates table:\n\n| distribution | n |",
	       VS_B1, VS_B2, B);
	for (h = 0; h < NVEL; h++)
		printf(" %s |", names[h]);
	printf("\n|---|---|---|---|---|---|---|\n");
	memset(ms, 0, sizeof(ms));
	for (k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		int d = ds[k];

		if (!row_selected(d))
			continue;
		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			struct tally t[NVEL];
			size_t n = ns[in];
			char id[64];

			memset(t, 0, sizeof(t));
			for (r = 0; r < R; r++) {
				struct sx_rng *g;
				struct sx_summary s;
				double lo[NVEL], hi[NVEL], chk, t0, crit;
				uint64_t bs;

				snprintf(id, sizeof(id), "%d/%zu/%zu", d, n, r);
				g = sx_rng_new(sx_seed_derive(seed, "coverage-data", id));
				for (i = 0; i < n; i++)
					x[i] = draw((enum dist)d, g);
				sx_rng_free(g);
				bs = sx_seed_derive(seed, "coverage-boot", id);
				t0 = cpu_ms();
				sx_stats_summary_as(x, n, SX_INTERVAL_STUDENTIZED, B, bs, &s);
				ms[k][in][V_STUD] += cpu_ms() - t0;
				lo[V_STUD] = s.ci_lo;
				hi[V_STUD] = s.ci_hi;
				t0 = cpu_ms();
				if (vs_interval(x, n, s.mean, B, sx_seed_derive(seed, "coverage-vs", id),
						&lo[V_VS], &hi[V_VS], &chk)) {
					skipped++;
					continue;
				}
				ms[k][in][V_VS] += cpu_ms() - t0;
				vs_err = fmax(vs_err, chk);
				t0 = cpu_ms();
				el_interval(x, n, s.mean, CHI2_1_95, &lo[V_EL], &hi[V_EL], &chk);
				ms[k][in][V_EL] += cpu_ms() - t0;
				el_err = fmax(el_err, chk);
				t0 = cpu_ms();
				el_interval(x, n, s.mean, CHI2_1_95 * (1 + el_bartlett_a(x, n) / (double)n),
					    &lo[V_EL_BART], &hi[V_EL_BART], &chk);
				ms[k][in][V_EL_BART] += cpu_ms() - t0;
				el_err = fmax(el_err, chk);
				t0 = cpu_ms();
				crit = el_boot_crit(x, n, s.mean, B, bs);
				el_interval(x, n, s.mean, crit, &lo[V_EL_BOOT], &hi[V_EL_BOOT], &chk);
				ms[k][in][V_EL_BOOT] += cpu_ms() - t0;
				el_err = fmax(el_err, chk);
				for (h = 0; h < NVEL; h++)
					count(&t[h], lo[h], hi[h], dists[d].truth);
				if (r < show) {
					double se = s.sd / sqrt((double)n);

					fprintf(stderr, "%s n=%zu #%zu mean %.4f: t [%.4f, %.4f]", dists[d].name,
						n, r, s.mean, s.mean - tq[in] * se, s.mean + tq[in] * se);
					for (h = 0; h < NVEL; h++)
						fprintf(stderr, "; %s [%.4f, %.4f]", names[h], lo[h], hi[h]);
					fprintf(stderr, "; EL bootstrap critical value %.3f\n", crit);
				}
			}
			printf("| %s | %zu |", dists[d].name, n);
			for (h = 0; h < NVEL; h++)
				cell(&t[h]);
			printf("\n");
			for (h = 0; h < NVEL; h++)
				ms[k][in][h] /= (double)(t[0].n ? t[0].n : 1);
			fflush(stdout);
		}
	}
	printf("\nCPU time of one aggregate, ms (this thread's, mean over the row's samples):\n\n"
	       "| distribution | n |");
	for (h = 0; h < NVEL; h++)
		printf(" %s |", names[h]);
	printf("\n|---|---|---|---|---|---|---|\n");
	for (k = 0; k < sizeof(ds) / sizeof(ds[0]); k++) {
		if (!row_selected(ds[k]))
			continue;
		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			printf("| %s | %zu |", dists[ds[k]].name, ns[in]);
			for (h = 0; h < NVEL; h++)
				printf(" %.2f |", ms[k][in][h]);
			printf("\n");
		}
	}
	printf("\nLargest round-trip error of the variance-stabilising g (relative to its grid's span): "
	       "%.1e; largest relative miss of an empirical likelihood end: %.1e; samples without a "
	       "variance-stabilised interval: %zu.\n", vs_err, el_err, skipped);
	free(x);
	fflush(stdout);
	if (!(vs_err < 1e-9)) {
		fprintf(stderr, "coverage: the variance-stabilising g is not increasing or does not invert "
			"(error %g)\n", vs_err);
		exit(1);
	}
	if (skipped) {
		fprintf(stderr, "coverage: %zu samples got no variance-stabilised interval (an inner sd of 0 "
			"or a grid of one point)\n", skipped);
		exit(1);
	}
	if (!(el_err < 1e-6)) {
		fprintf(stderr, "coverage: an empirical likelihood end misses its critical value (%g)\n",
			el_err);
		exit(1);
	}
}

/* The lowest exact coverage of a proportion's interval over p = 0.001, 0.002, ..., 0.999. */
static void proportion_minima(void)
{
	static const size_t ns[] = { 10, 30, 100 };
	static const enum sx_interval how[2] = { SX_INTERVAL_WILSON, SX_INTERVAL_CLOPPER_PEARSON };
	size_t in, h;
	int k;

	printf("\nExact coverage of the proportions' intervals, lowest over p = 0.001 .. 0.999 "
	       "(step 0.001), and where:\n\n| n | Wilson | Clopper-Pearson (selfexp's) |\n"
	       "|---|---|---|\n");
	for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
		printf("| %zu |", ns[in]);
		for (h = 0; h < 2; h++) {
			double lo = 2, at = 0;

			for (k = 1; k < 1000; k++) {
				double c = exact_coverage(how[h], ns[in], k / 1000.0);

				if (c < lo) {
					lo = c;
					at = k / 1000.0;
				}
			}
			printf(" %.4f at p = %.3f |", lo, at);
		}
		printf("\n");
		fflush(stdout);
	}
}

/* ---- Paired differences of proportions -------------------------------- */

/*
 * Models of paired 0/1 values (a, b) per review: the probabilities of the
 * cells (1, 1), (1, 0), (0, 1), (0, 0); the true difference is p10 - p01.
 */
static const struct {
	const char *name;
	double p[4];
} pair_models[] = {
	{ "rare flips, one way (DF_MIT)", { 0.02, 0.08, 0.02, 0.88 } },
	{ "rare flips, no difference", { 0.02, 0.04, 0.04, 0.90 } },
	{ "accuracy 0.86 vs 0.82", { 0.78, 0.08, 0.04, 0.10 } },
	{ "new parse failures, one way", { 0.00, 0.25, 0.00, 0.75 } },
	{ "balanced, no difference", { 0.30, 0.20, 0.20, 0.30 } },
};

/* log of p^k, with 0^0 = 1 (-inf where p = 0 < k) */
static double log_pow(double p, size_t k)
{
	return k == 0 ? 0.0 : (p > 0 ? (double)k * log(p) : -INFINITY);
}

/*
 * Exact coverage of Newcombe's paired interval at the cell probabilities
 * p[4]: the multinomial probability of the tables whose interval holds the
 * true difference. lohi, when not NULL, holds the intervals of every table
 * of n (in the loops' order), so a grid of models computes them once.
 */
static double newcombe_exact(size_t n, const double p[4], const double *lohi)
{
	double truth = p[1] - p[2], cov = 0, lo, hi;
	size_t a, b, c, k = 0;

	for (a = 0; a <= n; a++)
		for (b = 0; a + b <= n; b++)
			for (c = 0; a + b + c <= n; c++, k++) {
				size_t d = n - a - b - c;
				double lp;

				if (lohi) {
					lo = lohi[2 * k];
					hi = lohi[2 * k + 1];
				} else {
					sx_stats_newcombe_paired(a, b, c, d, &lo, &hi);
				}
				if (!(lo <= truth + 1e-12 && truth - 1e-12 <= hi))
					continue;
				lp = lgamma((double)n + 1) - lgamma((double)a + 1) - lgamma((double)b + 1) -
				     lgamma((double)c + 1) - lgamma((double)d + 1) + log_pow(p[0], a) +
				     log_pow(p[1], b) + log_pow(p[2], c) + log_pow(p[3], d);
				cov += exp(lp);
			}
	return cov;
}

/*
 * Coverage of the interval of a paired difference of 0/1 values: the expanded
 * BCa of the differences (selfexp's before), the studentized bootstrap of them,
 * and Newcombe's (summary.json's and compare's now, through sx_stats_paired_as),
 * simulated on R samples, and Newcombe's exact coverage.
 */
static void paired_table(size_t R, size_t B, uint64_t seed)
{
	static const size_t ns[] = { 10, 30, 100 };
	double *a = xmalloc(100 * sizeof(*a)), *b = xmalloc(100 * sizeof(*b));
	double *d = xmalloc(100 * sizeof(*d));
	size_t im, in, r, i;

	printf("\nPaired differences of 0/1 values (the comparisons of accuracy, DF_MIT, parse "
	       "failures): %zu samples per row, B = %zu, seed %llu. Cells: coverage (mean width).\n\n"
	       "| model (p11, p10, p01, p00) | n | BCa expanded (before) | studentized | "
	       "Newcombe (selfexp's) | exact: Newcombe |\n|---|---|---|---|---|---|\n",
	       R, B, (unsigned long long)seed);
	for (im = 0; im < sizeof(pair_models) / sizeof(pair_models[0]); im++) {
		const double *p = pair_models[im].p;
		double truth = p[1] - p[2];

		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			struct tally t[3];
			size_t n = ns[in];
			char id[64];

			memset(t, 0, sizeof(t));
			for (r = 0; r < R; r++) {
				struct sx_summary s;
				struct sx_paired pr;
				struct sx_rng *g;
				uint64_t bs;

				snprintf(id, sizeof(id), "pair/%zu/%zu/%zu", im, n, r);
				g = sx_rng_new(sx_seed_derive(seed, "coverage-data", id));
				for (i = 0; i < n; i++) {
					double u = sx_rng_uniform(g);
					int cellk = u < p[0] ? 0 : u < p[0] + p[1] ? 1 : u < p[0] + p[1] + p[2] ? 2 : 3;

					a[i] = cellk <= 1;
					b[i] = cellk == 0 || cellk == 2;
					d[i] = a[i] - b[i];
				}
				sx_rng_free(g);
				bs = sx_seed_derive(seed, "coverage-boot", id);
				sx_stats_summary_as(d, n, SX_INTERVAL_BCA_EXPANDED, B, bs, &s);
				count(&t[0], s.ci_lo, s.ci_hi, truth);
				sx_stats_summary_as(d, n, SX_INTERVAL_STUDENTIZED, B, bs, &s);
				count(&t[1], s.ci_lo, s.ci_hi, truth);
				sx_stats_paired_as(a, b, n, SX_INTERVAL_NEWCOMBE, B, bs, &pr);
				if (pr.interval != SX_INTERVAL_NEWCOMBE) {
					fprintf(stderr, "coverage: 0/1 pairs did not get Newcombe's interval\n");
					exit(1);
				}
				count(&t[2], pr.ci_lo, pr.ci_hi, truth);
			}
			printf("| %s (%.2f, %.2f, %.2f, %.2f) | %zu |", pair_models[im].name, p[0], p[1],
			       p[2], p[3], n);
			for (i = 0; i < 3; i++)
				cell(&t[i]);
			printf(" %.4f |\n", newcombe_exact(n, p, NULL));
			fflush(stdout);
		}
	}
	free(a);
	free(b);
	free(d);
}

/*
 * The lowest exact coverage of Newcombe's paired interval over every model
 * whose four cell probabilities are multiples of 0.05 (1771 models), and the
 * share of them below 0.93; n = 10, 30, 100.
 */
static void paired_minima(void)
{
	static const size_t ns[] = { 10, 30, 100 };
	size_t in;

	printf("\nExact coverage of Newcombe's paired interval over the 1771 models whose cell "
	       "probabilities are multiples of 0.05:\n\n| n | lowest | at (p11, p10, p01, p00) | "
	       "mean | share below 0.93 |\n|---|---|---|---|---|\n");
	for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
		size_t n = ns[in], tables = (n + 1) * (n + 2) * (n + 3) / 6, a, b, c, k = 0, models = 0,
		       below = 0;
		double *lohi = xmalloc(sx_size_mul(2 * tables, sizeof(*lohi))), low = 2, sum = 0,
		       at[4] = { 0 };
		int i, j, l;

		for (a = 0; a <= n; a++)
			for (b = 0; a + b <= n; b++)
				for (c = 0; a + b + c <= n; c++, k++)
					sx_stats_newcombe_paired(a, b, c, n - a - b - c, &lohi[2 * k],
								 &lohi[2 * k + 1]);
		for (i = 0; i <= 20; i++)
			for (j = 0; i + j <= 20; j++)
				for (l = 0; i + j + l <= 20; l++) {
					double p[4] = { i / 20.0, j / 20.0, l / 20.0, (20 - i - j - l) / 20.0 };
					double cov = newcombe_exact(n, p, lohi);

					models++;
					sum += cov;
					below += cov < 0.93;
					if (cov < low) {
						low = cov;
						memcpy(at, p, sizeof(at));
					}
				}
		printf("| %zu | %.4f | (%.2f, %.2f, %.2f, %.2f) | %.4f | %.3f |\n", n, low, at[0], at[1],
		       at[2], at[3], sum / (double)models, (double)below / (double)models);
		fflush(stdout);
		free(lohi);
	}
}

/*
 * ECE of a model whose confidence is uniform on [0.5, 1) and whose accuracy
 * at confidence c is c - gap: every bin's accuracy is its mean confidence
 * minus gap, so the true ECE (10 bins) is gap; gap 0 is a calibrated model.
 * R / 2 samples per row (the ECE of 300 reviews is costlier than a mean).
 */
static void ece_table(size_t R, size_t B, uint64_t seed)
{
	static const size_t ns[] = { 30, 100, 300 };
	static const double gaps[] = { 0.1, 0.05, 0.02, 0.0 };
	static const enum sx_interval how[] = { SX_INTERVAL_PERCENTILE, SX_INTERVAL_BCA,
						SX_INTERVAL_BCA_EXPANDED, SX_INTERVAL_BASIC };
	double *conf = xmalloc(300 * sizeof(*conf));
	unsigned char *ok = xmalloc(300);
	size_t in, r, h, i, ig, Re = R / 2 ? R / 2 : 1;

	printf("\n| ECE: true value | n | percentile | BCa | BCa expanded | basic (selfexp's) | "
	       "mean ECE |\n");
	printf("|---|---|---|---|---|---|---|\n");
	for (ig = 0; ig < sizeof(gaps) / sizeof(gaps[0]); ig++) {
		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			struct tally t[4];
			size_t n = ns[in];
			double mean_ece = 0;
			char id[64];

			memset(t, 0, sizeof(t));
			for (r = 0; r < Re; r++) {
				struct sx_rng *g;

				snprintf(id, sizeof(id), "ece/%zu/%zu/%zu", ig, n, r);
				g = sx_rng_new(sx_seed_derive(seed, "coverage-data", id));
				for (i = 0; i < n; i++) {
					conf[i] = 0.5 + 0.5 * sx_rng_uniform(g);
					ok[i] = sx_rng_uniform(g) < conf[i] - gaps[ig];
				}
				sx_rng_free(g);
				for (h = 0; h < 4; h++) {
					struct sx_ece e;

					sx_stats_ece_interval(conf, ok, n, how[h], B,
							      sx_seed_derive(seed, "coverage-boot", id), &e);
					count(&t[h], e.ci_lo, e.ci_hi, gaps[ig]);
					if (h == 0)
						mean_ece += e.ece;
				}
			}
			printf("| %.2f | %zu |", gaps[ig], n);
			for (h = 0; h < 4; h++)
				cell(&t[h]);
			printf(" %.3f |\n", mean_ece / (double)Re);
			fflush(stdout);
		}
	}
	free(conf);
	free(ok);
}

static size_t arg_size(const char *s, size_t def)
{
	char *end;
	unsigned long long v;

	if (!s)
		return def;
	v = strtoull(s, &end, 10);
	if (*end || !v) {
		fprintf(stderr, "coverage: '%s' is not a positive number\n", s);
		exit(2);
	}
	return (size_t)v;
}

/* ---- Populations of selfexp's own metrics (COVERAGE_POP) ---------------- */

/*
 * The values of one file, one number a line (NaN lines skipped) into *v;
 * returns how many. Exits 2 when the file cannot be read or holds fewer
 * than 10 values.
 */
static size_t read_population(const char *path, double **v)
{
	FILE *f = fopen(path, "r");
	size_t n = 0, cap = 1024;
	char line[128];

	if (!f) {
		fprintf(stderr, "coverage: cannot read population file '%s'\n", path);
		exit(2);
	}
	*v = xmalloc(cap * sizeof(**v));
	while (fgets(line, sizeof(line), f)) {
		char *end;
		double x = strtod(line, &end);

		if (end == line || !isfinite(x))
			continue;
		if (n == cap)
			*v = xrealloc(*v, (cap *= 2) * sizeof(**v));
		(*v)[n++] = x;
	}
	fclose(f);
	if (n < 10) {
		fprintf(stderr, "coverage: '%s' holds %zu values, 10 at least are needed\n", path, n);
		exit(2);
	}
	return n;
}

/* Skewness (population moments) of v[0..n). */
static double skewness(const double *v, size_t n)
{
	double m2, g, k;

	cumulants(v, n, &m2, &g, &k);
	return g;
}

/*
 * COVERAGE_POP=NAME=FILE,NAME=FILE...: each file a finite population (the
 * per-review values of one of selfexp's metrics in a run); samples of n are
 * drawn from it with replacement, and the truth is its mean. The intervals
 * are summary.json's (studentized, with its fallback) and the ones before.
 */
static void population_table(size_t R, size_t B, uint64_t seed)
{
	static const size_t ns[] = { 10, 30, 100 };
	static const enum sx_interval how[4] = { SX_INTERVAL_PERCENTILE, SX_INTERVAL_BCA,
						  SX_INTERVAL_BCA_EXPANDED, SX_INTERVAL_STUDENTIZED };
	const char *spec = getenv("COVERAGE_POP");
	char *copy, *item, *save = NULL;
	double *x = xmalloc(100 * sizeof(*x));

	if (!spec || !*spec)
		return;
	printf("\nPopulations of selfexp's own per-review metric values (COVERAGE_POP), "
	       "sampled with replacement; the truth is the population mean. 'fallback': "
	       "the share of samples where the studentized interval fell back to the expanded "
	       "BCa (a constant resample).\n\n");
	printf("| population (values, distinct, skewness) | n | percentile (before) | BCa | "
	       "BCa expanded | studentized (selfexp's) | fallback |\n|---|---|---|---|---|---|---|\n");
	copy = xstrdup(spec);
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		double *v, truth = 0, *sorted;
		size_t np, in, i, r, h, distinct = 1;

		if (!eq) {
			fprintf(stderr, "coverage: COVERAGE_POP item '%s' is not NAME=FILE\n", item);
			exit(2);
		}
		*eq = '\0';
		np = read_population(eq + 1, &v);
		for (i = 0; i < np; i++)
			truth += v[i];
		truth /= (double)np;
		sorted = xmalloc(np * sizeof(*sorted));
		memcpy(sorted, v, np * sizeof(*sorted));
		qsort(sorted, np, sizeof(*sorted), cmp_double);
		for (i = 1; i < np; i++)
			distinct += sorted[i] != sorted[i - 1];
		free(sorted);
		for (in = 0; in < sizeof(ns) / sizeof(ns[0]); in++) {
			struct tally t[4];
			size_t n = ns[in], fell = 0;
			char id[160];

			memset(t, 0, sizeof(t));
			for (r = 0; r < R; r++) {
				struct sx_rng *g;

				snprintf(id, sizeof(id), "pop/%s/%zu/%zu", item, n, r);
				g = sx_rng_new(sx_seed_derive(seed, "coverage-data", id));
				for (i = 0; i < n; i++)
					x[i] = v[sx_rng_below(g, np)];
				sx_rng_free(g);
				for (h = 0; h < 4; h++) {
					struct sx_summary s;

					sx_stats_summary_as(x, n, how[h], B,
							    sx_seed_derive(seed, "coverage-boot", id), &s);
					count(&t[h], s.ci_lo, s.ci_hi, truth);
					if (how[h] == SX_INTERVAL_STUDENTIZED && s.interval != how[h])
						fell++;
				}
			}
			printf("| %s (%zu, %zu, %.2f) | %zu |", item, np, distinct, skewness(v, np), n);
			for (h = 0; h < 4; h++)
				cell(&t[h]);
			printf(" %.3f |\n", (double)fell / (double)R);
			fflush(stdout);
		}
		free(v);
	}
	free(copy);
	free(x);
}

int main(int argc, char **argv)
{
	size_t R = arg_size(argc > 1 ? argv[1] : NULL, 2000);
	size_t B = arg_size(argc > 2 ? argv[2] : NULL, 1000);
	uint64_t seed = arg_size(argc > 3 ? argv[3] : NULL, 1);

	printf("Coverage of nominal 95 %% intervals of a mean: %zu samples per row, B = %zu "
	       "resamples, seed %llu. Cells: coverage (mean width); Monte Carlo standard error "
	       "about %.3f at 0.95.\n\n", R, B, (unsigned long long)seed,
	       sqrt(0.95 * 0.05 / (double)R));
	if (getenv("COVERAGE_POP_ONLY") && *getenv("COVERAGE_POP_ONLY")) {
		population_table(R, B, seed);
		return 0;
	}
	if (getenv("COVERAGE_PAIRED_ONLY") && *getenv("COVERAGE_PAIRED_ONLY")) {
		paired_table(R, B, seed);
		paired_minima();
		return 0;
	}
	if (getenv("COVERAGE_VSEL_ONLY") && *getenv("COVERAGE_VSEL_ONLY")) {
		vs_el_table(R, B, seed);
		return 0;
	}
	means_table(R, B, seed);
	candidates_table(R, B, seed);
	vs_el_table(R, B, seed);
	population_table(R, B, seed);
	if (getenv("COVERAGE_ROWS") && *getenv("COVERAGE_ROWS"))
		return 0;
	proportion_minima();
	paired_table(R, B, seed);
	paired_minima();
	ece_table(R, B, seed);
	return 0;
}
