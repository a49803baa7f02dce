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
 *
 * ECE rows: a model with confidence uniform on [0.5, 1) and accuracy c - gap
 * at confidence c, whose true ECE is gap, R / 2 samples per row.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
	size_t R = arg_size(argc > 1 ? argv[1] : NULL, 2000);
	size_t B = arg_size(argc > 2 ? argv[2] : NULL, 1000);
	uint64_t seed = arg_size(argc > 3 ? argv[3] : NULL, 1);

	printf("Coverage of nominal 95 %% intervals of a mean: %zu samples per row, B = %zu "
	       "resamples, seed %llu. Cells: coverage (mean width); Monte Carlo standard error "
	       "about %.3f at 0.95.\n\n", R, B, (unsigned long long)seed,
	       sqrt(0.95 * 0.05 / (double)R));
	means_table(R, B, seed);
	proportion_minima();
	ece_table(R, B, seed);
	return 0;
}
