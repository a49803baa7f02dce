#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <math.h>

#include "selfexp/metrics.h"

#define TOL 1e-12
#define assert_near(a, b) assert_true(fabs((double)(a) - (double)(b)) <= TOL)

/* Fill p_pos (plan rows) from per-kind arrays indexed by j. */
static void fill(const struct sx_faith_plan *plan, const double *del, const double *keep,
		 const double *single, double *p_pos)
{
	size_t j;

	for (j = 1; j <= plan->n; j++)
		p_pos[sx_metrics_plan_row(plan, SX_FAITH_DELETE, j)] = del[j - 1];
	for (j = 0; j < plan->n; j++) {
		p_pos[sx_metrics_plan_row(plan, SX_FAITH_KEEP, j)] = keep[j];
		p_pos[sx_metrics_plan_row(plan, SX_FAITH_SINGLE, j)] = single[j];
	}
}

static void assert_mask(const struct sx_faith_plan *plan, enum sx_faith_kind kind, size_t j,
			const char *expect)
{
	const unsigned char *m = sx_metrics_plan_mask(plan, sx_metrics_plan_row(plan, kind, j));
	size_t i;

	for (i = 0; i < plan->n; i++)
		assert_int_equal(m[i], expect[i] - '0');
}

/* ---- Ranking ------------------------------------------------------------ */

static void test_rank(void **state)
{
	const double v[5] = { 0.3, -0.5, 0.5, 0.3, NAN };
	const unsigned char has[5] = { 1, 1, 1, 0, 1 };
	double imp[5];
	size_t order[5];

	(void)state;
	/*
	 * y = 1: imp = {0.3, -0.5, 0.5, 0 (no value), 0 (NaN)};
	 * descending, ties left first: 2 (0.5), 0 (0.3), 3 (0), 4 (0), 1 (-0.5).
	 */
	sx_metrics_toward(v, has, 5, 1, imp);
	assert_near(imp[3], 0);
	assert_near(imp[4], 0);
	sx_metrics_rank(imp, 5, order);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 0);
	assert_int_equal(order[2], 3);
	assert_int_equal(order[3], 4);
	assert_int_equal(order[4], 1);
	/* y = 0: imp = {-0.3, 0.5, -0.5, 0, 0}: 1, 3, 4, 0, 2. */
	sx_metrics_toward(v, has, 5, 0, imp);
	sx_metrics_rank(imp, 5, order);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 4);
	assert_int_equal(order[3], 0);
	assert_int_equal(order[4], 2);
}

static void test_distinct(void **state)
{
	const double v[6] = { 0.5, -0.5, 0.5, 0.0, -0.0, NAN };
	const unsigned char has[6] = { 1, 0, 1, 1, 1, 1 };

	(void)state;
	/* {0.5, -0.5, 0} with -0.0 == 0 and NaN skipped: 3; without token 1: {0.5, 0}: 2 */
	assert_int_equal(sx_metrics_distinct(v, NULL, 6), 3);
	assert_int_equal(sx_metrics_distinct(v, has, 6), 2);
	assert_int_equal(sx_metrics_distinct(v, NULL, 0), 0);
}

/* ---- Faithfulness: a 4-token review ------------------------------------- */

static void test_faith_positive(void **state)
{
	const double v[4] = { 0.5, -0.2, 0.8, 0.0 };
	/* P(pos) of DELETE j=1..4, KEEP j=0..3, SINGLE i=0..3 */
	const double del[4] = { 0.7, 0.4, 0.45, 0.5 };
	const double keep[4] = { 0.5, 0.8, 0.85, 0.88 };
	const double single[4] = { 0.6, 0.95, 0.7, 0.9 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_faith f;
	double p[12];
	size_t b;

	(void)state;
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 4, 1, &err), 0);
	/* y = 1: imp = v; r = 2 (0.8), 0 (0.5), 3 (0.0), 1 (-0.2) */
	assert_int_equal(plan.n_inputs, 12);
	assert_int_equal(plan.rank[0], 2);
	assert_int_equal(plan.rank[1], 0);
	assert_int_equal(plan.rank[2], 3);
	assert_int_equal(plan.rank[3], 1);
	assert_mask(&plan, SX_FAITH_DELETE, 1, "1101");
	assert_mask(&plan, SX_FAITH_DELETE, 2, "0101");
	assert_mask(&plan, SX_FAITH_DELETE, 3, "0100");
	assert_mask(&plan, SX_FAITH_DELETE, 4, "0000");
	assert_mask(&plan, SX_FAITH_KEEP, 0, "0000");
	assert_mask(&plan, SX_FAITH_KEEP, 1, "0010");
	assert_mask(&plan, SX_FAITH_KEEP, 2, "1010");
	assert_mask(&plan, SX_FAITH_KEEP, 3, "1011");
	assert_mask(&plan, SX_FAITH_SINGLE, 0, "0111");
	assert_mask(&plan, SX_FAITH_SINGLE, 3, "1110");

	fill(&plan, del, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, &err), 0);
	/* comp = 1/5 [(0.9-0.7) + (0.9-0.4) + (0.9-0.45) + (0.9-0.5)] = 1.55/5 */
	assert_near(f.comp, 0.31);
	/* suff = 1/5 [(0.9-0.5) + (0.9-0.8) + (0.9-0.85) + (0.9-0.88)] = 0.57/5 */
	assert_near(f.suff, 0.114);
	/* x \ {r_1}: 0.7 > 0.5 -> still 1, no change */
	assert_near(f.df_mit, 0);
	/* x \ {r_1, r_2}: 0.4 -> label 0, first change at j = 2: 2/4 */
	assert_near(f.df_frac, 0.5);
	/*
	 * RankDel: imp {0.5, -0.2, 0.8, 0} -> ranks {3, 1, 4, 2};
	 * drop = 0.9 - single = {0.3, -0.05, 0.2, 0} -> ranks {4, 1, 3, 2};
	 * d = {-1, 0, 1, 0}, rho = 1 - 6*2/(4*15) = 0.8
	 */
	assert_near(f.rankdel, 0.8);
	/*
	 * AOPC, n = 4: k = ceil(q n) = 1, 1, 1, 1 (0.04, 0.2, 0.4, 0.8) and 2.
	 * comp_at = 0.2 x4, 0.5 -> 1.3/5; suff_at = 0.1 x4, 0.05 -> 0.45/5.
	 */
	for (b = 0; b < 4; b++) {
		assert_near(f.comp_at[b], 0.2);
		assert_near(f.suff_at[b], 0.1);
	}
	assert_near(f.comp_at[4], 0.5);
	assert_near(f.suff_at[4], 0.05);
	assert_near(f.aopc_comp, 0.26);
	assert_near(f.aopc_suff, 0.09);

	/* A failed query (NaN) makes the metrics that need it NaN, and only those. */
	p[sx_metrics_plan_row(&plan, SX_FAITH_DELETE, 3)] = NAN;
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, &err), 0);
	assert_true(isnan(f.comp));
	assert_near(f.suff, 0.114);
	assert_near(f.df_frac, 0.5); /* the change at j = 2 comes before the NaN */
	assert_near(f.rankdel, 0.8);
	p[sx_metrics_plan_row(&plan, SX_FAITH_DELETE, 1)] = NAN;
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, &err), 0);
	assert_true(isnan(f.df_mit));
	assert_true(isnan(f.df_frac));
	assert_true(isnan(f.aopc_comp));
	sx_metrics_plan_release(&plan);
}

static void test_faith_negative(void **state)
{
	const double v[4] = { 0.5, -0.2, 0.8, 0.0 };
	const double del[4] = { 0.3, 0.6, 0.7, 0.5 };
	const double keep[4] = { 0.5, 0.4, 0.35, 0.25 };
	const double single[4] = { 0.4, 0.15, 0.55, 0.2 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_faith f;
	double p[12];

	(void)state;
	/* y = 0: imp = {-0.5, 0.2, -0.8, 0}; r = 1, 3, 0, 2 */
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 4, 0, &err), 0);
	assert_int_equal(plan.rank[0], 1);
	assert_int_equal(plan.rank[1], 3);
	assert_int_equal(plan.rank[2], 0);
	assert_int_equal(plan.rank[3], 2);
	fill(&plan, del, keep, single, p);
	/* p(z) = 1 - P(pos|z); p(x) = 1 - 0.2 = 0.8 */
	assert_int_equal(sx_metrics_faith(&plan, 0.2, p, NULL, &f, &err), 0);
	/* comp: p = {0.7, 0.4, 0.3, 0.5}: (0.1 + 0.4 + 0.5 + 0.3)/5 = 1.3/5 */
	assert_near(f.comp, 0.26);
	/* suff: p = {0.5, 0.6, 0.65, 0.75}: (0.3 + 0.2 + 0.15 + 0.05)/5 = 0.7/5 */
	assert_near(f.suff, 0.14);
	/* P(pos) 0.3 -> 0 = y; 0.6 -> 1 != y at j = 2; (0.5 is label 0: not > 0.5) */
	assert_near(f.df_mit, 0);
	assert_near(f.df_frac, 0.5);
	/*
	 * drop = 0.8 - (1 - single) = {0.2, -0.05, 0.35, 0} -> ranks {3, 1, 4, 2};
	 * imp ranks {2, 4, 1, 3}; d = {-1, 3, -3, 1}, sum d^2 = 20,
	 * rho = 1 - 6*20/60 = -1: the explanation ranks exactly backwards.
	 */
	assert_near(f.rankdel, -1);
	sx_metrics_plan_release(&plan);
}

static void test_faith_ties(void **state)
{
	const double v[4] = { 0.3, 0.3, 0.9, 0.3 };
	const unsigned char has[4] = { 1, 1, 0, 1 };
	const double del[4] = { 0.8, 0.7, 0.6, 0.5 };
	const double keep[4] = { 0.5, 0.6, 0.7, 0.8 };
	const double single[4] = { 0.8, 0.8, 0.9, 0.7 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_faith f;
	double p[12];

	(void)state;
	/* Token 2 has no value: imp = {0.3, 0.3, 0, 0.3}; ties left first: r = 0, 1, 3, 2 */
	assert_int_equal(sx_metrics_plan_init(&plan, v, has, 4, 1, &err), 0);
	assert_int_equal(plan.rank[0], 0);
	assert_int_equal(plan.rank[1], 1);
	assert_int_equal(plan.rank[2], 3);
	assert_int_equal(plan.rank[3], 2);
	fill(&plan, del, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, &err), 0);
	/*
	 * Spearman with ties: imp ranks {3, 3, 1, 3}; drop = {0.1, 0.1, 0, 0.2}
	 * ranks {2.5, 2.5, 1, 4}; both mean 2.5; dx = {.5, .5, -1.5, .5},
	 * dy = {0, 0, -1.5, 1.5}; sxy = 2.25 + .75 = 3, sxx = 3, syy = 4.5;
	 * rho = 3 / sqrt(13.5) = 0.816496580927726
	 */
	assert_near(f.rankdel, 0.816496580927726);
	/* never below 0.5 on the deletion path: DF_Frac = 1, DF_MIT = 0 */
	assert_near(f.df_frac, 1);
	assert_near(f.df_mit, 0);
	sx_metrics_plan_release(&plan);
}

static void test_faith_one_token(void **state)
{
	const double v[1] = { 0.7 };
	const double empty[1] = { 0.3 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_faith f;
	double p[3];
	size_t b;

	(void)state;
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 1, 1, &err), 0);
	assert_int_equal(plan.n_inputs, 3);
	/* DELETE 1, KEEP 0 and SINGLE 0 are all the empty review */
	assert_mask(&plan, SX_FAITH_DELETE, 1, "0");
	assert_mask(&plan, SX_FAITH_KEEP, 0, "0");
	assert_mask(&plan, SX_FAITH_SINGLE, 0, "0");
	fill(&plan, empty, empty, empty, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.8, p, NULL, &f, &err), 0);
	/* comp = suff = 1/2 (0.8 - 0.3) = 0.25 */
	assert_near(f.comp, 0.25);
	assert_near(f.suff, 0.25);
	/* the empty review is negative: the label flips at j = 1 = n */
	assert_near(f.df_mit, 1);
	assert_near(f.df_frac, 1);
	/* one value on each side: Spearman undefined */
	assert_true(isnan(f.rankdel));
	/* every bin has k = 1 = n: comp_at = 0.5, suff_at = p(x) - p(x) = 0 */
	for (b = 0; b < SX_AOPC_NBINS; b++) {
		assert_near(f.comp_at[b], 0.5);
		assert_near(f.suff_at[b], 0);
	}
	assert_near(f.aopc_comp, 0.5);
	assert_near(f.aopc_suff, 0);
	sx_metrics_plan_release(&plan);
}

static void test_faith_constant(void **state)
{
	const double v[3] = { 0.2, 0.2, 0.2 };
	const double never[3] = { 0.9, 0.8, 0.7 };
	const double keep[3] = { 0.6, 0.7, 0.8 };
	const double single[3] = { 0.9, 0.85, 0.8 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_faith f;
	double p[9];

	(void)state;
	/* constant explanation: r = 0, 1, 2 (position order) */
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 3, 1, &err), 0);
	assert_int_equal(plan.rank[0], 0);
	assert_int_equal(plan.rank[2], 2);
	fill(&plan, never, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.95, p, NULL, &f, &err), 0);
	/* RankDel undefined (NaN), never 0 */
	assert_true(isnan(f.rankdel));
	/* the label never flips (even the empty review, j = 3, is 0.7): DF_Frac 1 */
	assert_near(f.df_frac, 1);
	assert_near(f.df_mit, 0);
	/* comp = (0.05 + 0.15 + 0.25)/4 */
	assert_near(f.comp, 0.1125);
	sx_metrics_plan_release(&plan);
}

static void test_plan_ranked(void **state)
{
	const size_t good[3] = { 2, 0, 1 }, dup[3] = { 2, 2, 1 }, big[3] = { 0, 1, 3 };
	const double p[9] = { 0.4, 0.3, 0.2, 0.1, 0.6, 0.7, 0.5, 0.5, 0.5 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_faith f;
	const double v[1] = { 0 };

	(void)state;
	assert_true(sx_metrics_plan_init_ranked(&plan, dup, 3, 1, &err) < 0);
	assert_non_null(strstr(err.msg, "permutation"));
	assert_true(sx_metrics_plan_init_ranked(&plan, big, 3, 1, &err) < 0);
	assert_true(sx_metrics_plan_init(&plan, v, NULL, 0, 1, &err) < 0);
	assert_true(sx_metrics_plan_init(&plan, v, NULL, 1, 2, &err) < 0);
	assert_int_equal(sx_metrics_plan_init_ranked(&plan, good, 3, 1, &err), 0);
	assert_mask(&plan, SX_FAITH_DELETE, 1, "110");
	assert_mask(&plan, SX_FAITH_KEEP, 2, "101");
	assert_int_equal(sx_metrics_faith(&plan, 0.8, p, NULL, &f, &err), 0);
	/* first deletion 0.4 -> label 0: DF_MIT 1, DF_Frac 1/3; RankDel NaN (no values) */
	assert_near(f.df_mit, 1);
	assert_near(f.df_frac, 1.0 / 3);
	assert_true(isnan(f.rankdel));
	sx_metrics_plan_release(&plan);
	sx_metrics_plan_release(&plan);
}

static void test_aopc_k(void **state)
{
	(void)state;
	/* k = max(1, ceil(q n)) */
	assert_int_equal(sx_metrics_aopc_k(0.01, 10), 1);
	assert_int_equal(sx_metrics_aopc_k(0.2, 10), 2);
	assert_int_equal(sx_metrics_aopc_k(0.5, 10), 5);
	assert_int_equal(sx_metrics_aopc_k(0.05, 20), 1);
	/* 0.07 * 100 is 7.000000000000001 in doubles: still 7, not 8 */
	assert_int_equal(sx_metrics_aopc_k(0.07, 100), 7);
	assert_int_equal(sx_metrics_aopc_k(0.1, 30), 3);
	assert_int_equal(sx_metrics_aopc_k(0.2, 11), 3);  /* 2.2 -> 3 */
	assert_int_equal(sx_metrics_aopc_k(0.5, 3), 2);   /* 1.5 -> 2 */
	assert_int_equal(sx_metrics_aopc_k(0.5, 1), 1);
}

/* ---- Agreement ---------------------------------------------------------- */

static void test_topk(void **state)
{
	const double v[4] = { 0.3, -0.5, 0.5, 0.1 };
	const unsigned char has[4] = { 1, 0, 1, 1 };
	size_t top[3];

	(void)state;
	assert_int_equal(sx_metrics_topk_size(1), 1);
	assert_int_equal(sx_metrics_topk_size(4), 1);
	assert_int_equal(sx_metrics_topk_size(5), 1);
	assert_int_equal(sx_metrics_topk_size(10), 2);
	assert_int_equal(sx_metrics_topk_size(14), 2);
	assert_int_equal(sx_metrics_topk_size(15), 3);
	/* |v| = .3 .5 .5 .1: 1 and 2 tie, left first, then 0 */
	sx_metrics_topk(v, NULL, 4, 3, top);
	assert_int_equal(top[0], 1);
	assert_int_equal(top[1], 2);
	assert_int_equal(top[2], 0);
	/* token 1 without a value counts as 0: 2, 0, 3 */
	sx_metrics_topk(v, has, 4, 3, top);
	assert_int_equal(top[0], 2);
	assert_int_equal(top[1], 0);
	assert_int_equal(top[2], 3);
}

static void test_agree_small(void **state)
{
	const double a[5] = { 0.5, -0.6, 0.1, 0.0, 0.2 };
	const double b[5] = { -0.6, 0.5, 0.0, 0.0, 0.2 };
	struct sx_err err = SX_ERR_INIT;
	struct sx_agree g;

	(void)state;
	assert_int_equal(sx_metrics_agree(a, NULL, b, NULL, 5, &g, &err), 0);
	/* n = 5, k = 1: top(a) = {1}, top(b) = {0}: no overlap */
	assert_int_equal(g.k, 1);
	assert_near(g.feature, 0);
	assert_near(g.rank, 0);
	assert_near(g.sign, 0);
	assert_near(g.signed_rank, 0);
	assert_near(g.iou, 0);
	/*
	 * |a| = {.5, .6, .1, 0, .2} ranks {4, 5, 2, 1, 3};
	 * |b| = {.6, .5, 0, 0, .2} ranks {5, 4, 1.5, 1.5, 3}; means 3;
	 * dx = {1, 2, -1, -2, 0}, dy = {2, 1, -1.5, -1.5, 0};
	 * sxy = 2 + 2 + 1.5 + 3 = 8.5, sxx = 10, syy = 4 + 1 + 2.25 + 2.25 = 9.5;
	 * rho = 8.5 / sqrt(95) = 0.8720815992723809
	 */
	assert_near(g.spearman, 0.8720815992723809);
	/*
	 * 10 pairs; disagree: (0,1) (.5<.6 vs .6>.5) and (2,3) (.1>0 vs 0=0). 8/10.
	 */
	assert_near(g.pairwise, 0.8);
}

static void test_agree_topk_overlap(void **state)
{
	double a[10] = { 0 }, b[10] = { 0 }, c[10] = { 0 };
	struct sx_err err = SX_ERR_INIT;
	struct sx_agree g;

	(void)state;
	a[0] = 0.9;
	a[3] = -0.7; /* top2(a) = 0, 3 */
	b[3] = 0.8;
	b[6] = 0.6;  /* top2(b) = 3, 6 */
	c[9] = 0.95;
	c[3] = -0.8; /* top2(c) = 9, 3 */
	/*
	 * a vs b: common {3}: feature 1/2; ranks 0|3, 3|6 differ: rank 0;
	 * token 3 has opposite signs: sign 0, signed rank 0; iou 1/3.
	 */
	assert_int_equal(sx_metrics_agree(a, NULL, b, NULL, 10, &g, &err), 0);
	assert_int_equal(g.k, 2);
	assert_near(g.feature, 0.5);
	assert_near(g.rank, 0);
	assert_near(g.sign, 0);
	assert_near(g.signed_rank, 0);
	assert_near(g.iou, 1.0 / 3);
	/* a vs c: common {3} at rank 2 in both, same sign: 1/2 everywhere, iou 1/3. */
	assert_int_equal(sx_metrics_agree(a, NULL, c, NULL, 10, &g, &err), 0);
	assert_near(g.feature, 0.5);
	assert_near(g.rank, 0.5);
	assert_near(g.sign, 0.5);
	assert_near(g.signed_rank, 0.5);
	assert_near(g.iou, 1.0 / 3);
	/* identical: everything 1 */
	assert_int_equal(sx_metrics_agree(a, NULL, a, NULL, 10, &g, &err), 0);
	assert_near(g.feature, 1);
	assert_near(g.signed_rank, 1);
	assert_near(g.iou, 1);
	assert_near(g.spearman, 1);
	assert_near(g.pairwise, 1);
}

static void test_agree_degenerate(void **state)
{
	const double a[1] = { 0.5 }, b[1] = { -0.1 };
	const double c[4] = { 0.2, 0.2, 0.2, 0.2 }, d[4] = { 0.1, 0.4, 0.3, 0.2 };
	const double zero[4] = { 0 };
	struct sx_err err = SX_ERR_INIT;
	struct sx_agree g;

	(void)state;
	/* one token: k = 1, same feature, opposite sign; correlations undefined */
	assert_int_equal(sx_metrics_agree(a, NULL, b, NULL, 1, &g, &err), 0);
	assert_near(g.feature, 1);
	assert_near(g.rank, 1);
	assert_near(g.sign, 0);
	assert_near(g.signed_rank, 0);
	assert_near(g.iou, 1);
	assert_true(isnan(g.spearman));
	assert_true(isnan(g.pairwise));
	/* a constant explanation ranks nothing: every agreement undefined, not perfect */
	assert_int_equal(sx_metrics_agree(c, NULL, d, NULL, 4, &g, &err), 0);
	assert_true(isnan(g.feature) && isnan(g.rank) && isnan(g.sign));
	assert_true(isnan(g.signed_rank) && isnan(g.iou));
	assert_true(isnan(g.spearman) && isnan(g.pairwise));
	assert_non_null(g.undefined);
	assert_non_null(strstr(g.undefined, "same importance"));
	assert_int_equal(sx_metrics_agree(zero, NULL, zero, NULL, 4, &g, &err), 0);
	assert_true(isnan(g.feature) && isnan(g.iou) && isnan(g.pairwise));
	assert_true(sx_metrics_agree(a, NULL, b, NULL, 0, &g, &err) < 0);
}

/*
 * Ties: the expected value over every tie order of both explanations,
 * brute-forced by tests/unit/agree_ref.py (independent of the closed forms).
 */
static void expect_agree(const double *a, const double *b, size_t n, const double want[5])
{
	struct sx_err err = SX_ERR_INIT;
	struct sx_agree g;

	assert_int_equal(sx_metrics_agree(a, NULL, b, NULL, n, &g, &err), 0);
	assert_null(g.undefined);
	assert_true(fabs(g.feature - want[0]) < 1e-12);
	assert_true(fabs(g.rank - want[1]) < 1e-12);
	assert_true(fabs(g.sign - want[2]) < 1e-12);
	assert_true(fabs(g.signed_rank - want[3]) < 1e-12);
	assert_true(fabs(g.iou - want[4]) < 1e-12);
}

static void test_agree_ties(void **state)
{
	const double a10[10] = { 0.5, 0.5, 0.5, 0.1, 0, 0, 0.2, -0.5, 0.3, 0.05 };
	const double b10[10] = { 0.4, 0.1, 0.4, -0.4, 0, 0.2, 0.4, 0, 0, 0.1 };
	const double a15[15] = { 0.9,  0.3,  0.3,  -0.3, 0.1,  0.02, 0.03, 0.04,
				 0.06, 0.2,  0.07, 0.08, 0.05, 0.09, 0.01 };
	const double b15[15] = { 0.3,  0.9,  -0.3, 0.3,  0.1,  0.3,  0.01, 0.02,
				 0.03, 0.2,  0.04, 0.06, 0.07, 0.08, 0.09 };
	const double z10[10] = { 0, 0, 0, 0.3, 0, 0, 0, 0, 0, 0 };
	const double d10[10] = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, -0.05 };
	const double w1[5] = { 0.25, 0.125, 0.25, 0.125, 0.17592592592592593 };
	const double w2[5] = { 0.6111111111111112, 0.1111111111111111, 0.3888888888888889, 0,
			       0.4722222222222222 };
	const double w3[5] = { 0.5, 0.25, 0.5, 0.25, 0.3888888888888889 };
	const double w4[5] = { 0.1111111111111111, 0.05555555555555555, 0, 0,
			       0.07407407407407407 };
	const size_t l1[2] = { 2, 5 }, l2[3] = { 3, 1, 7 };
	struct sx_err err = SX_ERR_INIT;
	struct sx_agree_topk t;

	(void)state;
	expect_agree(a10, b10, 10, w1);
	expect_agree(a15, b15, 15, w2);
	/* four tokens tied at the top, k = 2: not even a tie agrees with itself for sure */
	expect_agree(a10, a10, 10, w3);
	/* one non-zero value: the second top token is any of the nine zeros */
	expect_agree(z10, d10, 10, w4);
	assert_int_equal(sx_metrics_agree_topk(l1, 2, a10, NULL, 10, &t, &err), 0);
	assert_true(fabs(t.feature - 0.25) < 1e-12);
	assert_true(fabs(t.iou - 0.16666666666666666) < 1e-12);
	assert_int_equal(sx_metrics_agree_topk(l2, 3, a15, NULL, 15, &t, &err), 0);
	assert_true(fabs(t.feature - 0.4444444444444444) < 1e-12);
	assert_true(fabs(t.iou - 0.3) < 1e-12);
}

static void test_agree_topk_list(void **state)
{
	double full[10] = { 0 };
	const size_t l1[3] = { 3, 5, 0 }, l2[1] = { 0 }, l3[2] = { 3, 0 };
	const size_t bad1[2] = { 3, 3 }, bad2[1] = { 10 };
	struct sx_err err = SX_ERR_INIT;
	struct sx_agree_topk t;

	(void)state;
	full[0] = 0.9;
	full[3] = -0.7; /* T = {0, 3}, k = 2 */
	/* S = first two listed = {3, 5}: common {3}: feature 1/2, iou 1/3 */
	assert_int_equal(sx_metrics_agree_topk(l1, 3, full, NULL, 10, &t, &err), 0);
	assert_int_equal(t.k, 2);
	assert_near(t.feature, 0.5);
	assert_near(t.iou, 1.0 / 3);
	/* S = {0} (one listed): feature 1/2 (denominator k), iou 1/(1 + 2 - 1) = 1/2 */
	assert_int_equal(sx_metrics_agree_topk(l2, 1, full, NULL, 10, &t, &err), 0);
	assert_near(t.feature, 0.5);
	assert_near(t.iou, 0.5);
	/* order in the list does not matter for sets */
	assert_int_equal(sx_metrics_agree_topk(l3, 2, full, NULL, 10, &t, &err), 0);
	assert_near(t.feature, 1);
	assert_near(t.iou, 1);
	/* nothing listed: no overlap */
	assert_int_equal(sx_metrics_agree_topk(l3, 0, full, NULL, 10, &t, &err), 0);
	assert_near(t.feature, 0);
	assert_near(t.iou, 0);
	assert_true(sx_metrics_agree_topk(bad1, 2, full, NULL, 10, &t, &err) < 0);
	assert_non_null(strstr(err.msg, "repeated"));
	assert_true(sx_metrics_agree_topk(bad2, 1, full, NULL, 10, &t, &err) < 0);
	assert_non_null(strstr(err.msg, "out of range"));
}

/* ---- --compat paper (docs/paper-compat.md) ------------------------------ */

/* A ranked plan 0, 1, .., n-1 scored under the paper's formulas. */
static void paper_ranked(struct sx_faith_plan *plan, size_t n, int y)
{
	size_t rank[8], i;

	for (i = 0; i < n; i++)
		rank[i] = i;
	assert_int_equal(sx_metrics_plan_init_ranked(plan, rank, n, y, NULL), 0);
	plan->compat = SX_COMPAT_PAPER;
}

static void test_compat_names(void **state)
{
	enum sx_compat c = SX_COMPAT_NONE;

	(void)state;
	assert_int_equal(sx_compat_from_name("paper", &c), 0);
	assert_int_equal(c, SX_COMPAT_PAPER);
	assert_int_equal(sx_compat_from_name("none", &c), 0);
	assert_int_equal(c, SX_COMPAT_NONE);
	assert_int_equal(sx_compat_from_name("Paper", &c), -1);
	assert_string_equal(sx_compat_name(SX_COMPAT_PAPER), "paper");
	assert_string_equal(sx_compat_name(SX_COMPAT_NONE), "none");
}

static void test_compat_rank(void **state)
{
	const double v[4] = { 0.5, -0.7, 0.5, 0.2 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	size_t first[2] = { 0, 0 };
	uint64_t seed;

	(void)state;
	/*
	 * y = 0, but the paper ranks by the signed value (toward positive):
	 * {0, 2} (0.5, tied) before 3 (0.2) before 1 (-0.7). The default ranks
	 * toward y = 0: 1, 3, 0, 2.
	 */
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 4, 0, NULL), 0);
	assert_int_equal(plan.rank[0], 1);
	assert_int_equal(plan.rank[1], 3);
	sx_metrics_plan_release(&plan);
	for (seed = 0; seed < 64; seed++) {
		size_t again;

		assert_int_equal(sx_metrics_plan_init_compat(&plan, v, NULL, 4, 0, SX_COMPAT_PAPER,
							     seed, NULL), 0);
		assert_true((plan.rank[0] == 0 && plan.rank[1] == 2) ||
			    (plan.rank[0] == 2 && plan.rank[1] == 0));
		assert_int_equal(plan.rank[2], 3);
		assert_int_equal(plan.rank[3], 1);
		assert_near(plan.imp[1], -0.7); /* the signed value, not toward y */
		first[plan.rank[0] == 2]++;
		again = plan.rank[0];
		sx_metrics_plan_release(&plan);
		/* the same seed, the same order */
		assert_int_equal(sx_metrics_plan_init_compat(&plan, v, NULL, 4, 0, SX_COMPAT_PAPER,
							     seed, NULL), 0);
		assert_int_equal(plan.rank[0], again);
		sx_metrics_plan_release(&plan);
	}
	/* the tie goes both ways over 64 seeds (each way with probability 1/2) */
	assert_true(first[0] > 0 && first[1] > 0);
}

static void test_compat_comp_positive(void **state)
{
	/* DELETE j = 1, 2, 3 (j = 3 is the empty review: queried, but ignored) */
	const double del[3] = { 0.6, 0.3, 0.45 }, keep[3] = { 0.5, 0.5, 0.5 },
		     single[3] = { 0.5, 0.5, 0.5 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[9];

	(void)state;
	paper_ranked(&plan, 3, 1);
	fill(&plan, del, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.8, p, NULL, &f, NULL), 0);
	/*
	 * y = 1: the reference is q(x) = 0.8 throughout; the empty review counts
	 * as 0.5: [(0.8-0.6) + (0.8-0.3) + (0.8-0.5)] / 4 = 1.0/4 = 0.25
	 * (the default would use 0.45 for the last term: 1.05/4).
	 */
	assert_near(f.comp, 0.25);
	plan.compat = SX_COMPAT_NONE;
	assert_int_equal(sx_metrics_faith(&plan, 0.8, p, NULL, &f, NULL), 0);
	assert_near(f.comp, 0.2625);
	sx_metrics_plan_release(&plan);
}

static void test_compat_comp_negative(void **state)
{
	const double del[4] = { 0.4, 0.6, 0.2, 0.1 }, keep[4] = { 0.5, 0.5, 0.5, 0.5 },
		     single[4] = { 0.5, 0.5, 0.5, 0.5 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[12];

	(void)state;
	paper_ranked(&plan, 4, 0);
	fill(&plan, del, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.3, p, NULL, &f, NULL), 0);
	/*
	 * y = 0, q(x) = 0.3: the reference starts as the confidence 0.7 and is
	 * re-mapped (c -> 1 - c) before every non-empty step:
	 *   j = 1: ref 0.3, 0.3 - 0.4 = -0.1
	 *   j = 2: ref 0.7, 0.7 - 0.6 =  0.1
	 *   j = 3: ref 0.3, 0.3 - 0.2 =  0.1
	 *   j = 4 (empty, not re-mapped): 0.3 - 0.5 = -0.2
	 * sum -0.1, / (n + 1) = 5: -0.02.
	 * The default: P(neg) drops [(0.7-0.6) + (0.7-0.4) + (0.7-0.8) + (0.7-0.9)]/5 = 0.02.
	 */
	assert_near(f.comp, -0.02);
	plan.compat = SX_COMPAT_NONE;
	assert_int_equal(sx_metrics_faith(&plan, 0.3, p, NULL, &f, NULL), 0);
	assert_near(f.comp, 0.02);
	sx_metrics_plan_release(&plan);
}

static void test_compat_suff(void **state)
{
	/* KEEP j = 0 (empty: ignored, counts as 0.5), 1, 2; j = 3 would be x itself */
	const double del[3] = { 0.5, 0.5, 0.5 }, keep_pos[3] = { 0.9, 0.9, 0.7 },
		     keep_neg[3] = { 0.1, 0.1, 0.3 }, single[3] = { 0.5, 0.5, 0.5 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[9];

	(void)state;
	paper_ranked(&plan, 3, 1);
	fill(&plan, del, keep_pos, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.8, p, NULL, &f, NULL), 0);
	/*
	 * [|0.8-0.5| + |0.8-0.9| + |0.8-0.7| + |0.8-0.8|] / 4 = 0.5/4 = 0.125;
	 * the default: [(0.8-0.9) + (0.8-0.9) + (0.8-0.7)] / 4 = -0.025.
	 */
	assert_near(f.suff, 0.125);
	assert_true(f.suff >= 0);
	plan.compat = SX_COMPAT_NONE;
	assert_int_equal(sx_metrics_faith(&plan, 0.8, p, NULL, &f, NULL), 0);
	assert_near(f.suff, -0.025);
	sx_metrics_plan_release(&plan);
	/* the mirror image, y = 0, q(x) = 0.2: the absolute values are the same, 0.125 */
	paper_ranked(&plan, 3, 0);
	fill(&plan, del, keep_neg, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.2, p, NULL, &f, NULL), 0);
	assert_near(f.suff, 0.125);
	sx_metrics_plan_release(&plan);
}

static void test_compat_df(void **state)
{
	const double del[4] = { 0.8, 0.6, 0.4, 0.5 }, never[4] = { 0.8, 0.7, 0.6, 0.9 },
		     keep[4] = { 0.5, 0.5, 0.5, 0.5 }, single[4] = { 0.5, 0.5, 0.5, 0.5 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[12];

	(void)state;
	paper_ranked(&plan, 4, 1);
	fill(&plan, del, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	/* first change at j = 3 (0.4): 3 / (n + 1) = 3/5 (the default: 3/4) */
	assert_near(f.df_frac, 0.6);
	/* DF_MIT keeps its definition: 0.8 is still label 1 */
	assert_near(f.df_mit, 0);
	fill(&plan, never, keep, single, p);
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	/* never: (n + 1) / (n + 1) = 1 */
	assert_near(f.df_frac, 1);
	sx_metrics_plan_release(&plan);
}

/*
 * RankDel of a top-k list under --compat paper: the listed tokens scored l,
 * l - 1, ..., 1, the rest 0; by default none (a bare ranking).
 */
static void test_compat_rankdel_topk(void **state)
{
	const size_t list[3] = { 2, 0, 2 }; /* the repeated 2 is skipped: l = 2 */
	const double single[3] = { 0.6, 0.85, 0.3 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[9];
	size_t i;

	(void)state;
	/*
	 * n = 3, y = 1, q(x) = 0.9, conf(x) = 0.9. Scores {1, 0, 2} (token 2
	 * listed first), ranks {2, 1, 3}. conf(x \ {i}) = {0.6, 0.85, 0.7}, drop
	 * = {0.3, 0.05, 0.2}, ranks {3, 1, 2}. d = {-1, 0, 1}, rho = 1 - 6*2/(3*8)
	 * = 0.5. The ranking is 2, 0, then 1.
	 */
	assert_int_equal(sx_metrics_plan_init_topk(&plan, list, 3, 3, 1, SX_COMPAT_PAPER, 5, NULL), 0);
	assert_int_equal(plan.rank[0], 2);
	assert_int_equal(plan.rank[1], 0);
	assert_int_equal(plan.rank[2], 1);
	for (i = 0; i < 9; i++)
		p[i] = 0.5;
	for (i = 0; i < 3; i++)
		p[sx_metrics_plan_row(&plan, SX_FAITH_SINGLE, i)] = single[i];
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	assert_near(f.rankdel, 0.5);
	sx_metrics_plan_release(&plan);
	assert_int_equal(sx_metrics_plan_init_topk(&plan, list, 3, 3, 1, SX_COMPAT_NONE, 5, NULL), 0);
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	assert_true(isnan(f.rankdel));
	sx_metrics_plan_release(&plan);
}

static void test_compat_rankdel(void **state)
{
	const double v[4] = { -0.9, 0.4, -0.1, 0.0 };
	const double single[4] = { 0.5, 0.1, 0.25, 0.2 };
	const double zero[5] = { 0, 0, 0, 0, 0 }, single5[5] = { 0.3, 0.2, 0.1, 0.25, 0.15 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[15], again;
	size_t i;

	(void)state;
	/*
	 * y = 0, q(x) = 0.2: confidence of the label conf(x) = 0.8;
	 * conf(x \ {i}) = max(q, 1-q) = {0.5, 0.9, 0.75, 0.8};
	 * drop = {0.3, -0.1, 0.05, 0}, descending ranks {1, 4, 2, 3};
	 * the signed value {-0.9, 0.4, -0.1, 0} has descending ranks {4, 1, 3, 2};
	 * d = {3, -3, 1, -1}, rho = 1 - 6*20/(4*15) = -1.
	 * The default correlates the importance toward y = 0 with the drop of
	 * P(neg) = {0.3, -0.1, 0.05, 0}: rho = 1.
	 */
	assert_int_equal(sx_metrics_plan_init_compat(&plan, v, NULL, 4, 0, SX_COMPAT_PAPER, 7,
						     NULL), 0);
	for (i = 0; i < 12; i++)
		p[i] = 0.5;
	for (i = 0; i < 4; i++)
		p[sx_metrics_plan_row(&plan, SX_FAITH_SINGLE, i)] = single[i];
	assert_int_equal(sx_metrics_faith(&plan, 0.2, p, NULL, &f, NULL), 0);
	assert_near(f.rankdel, -1);
	sx_metrics_plan_release(&plan);
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 4, 0, NULL), 0);
	assert_int_equal(sx_metrics_faith(&plan, 0.2, p, NULL, &f, NULL), 0);
	assert_near(f.rankdel, 1);
	sx_metrics_plan_release(&plan);

	/*
	 * A constant explanation: NaN by default; the paper's jitter makes it a
	 * random, but here seeded, correlation in [-1, 1].
	 */
	assert_int_equal(sx_metrics_plan_init_compat(&plan, zero, NULL, 5, 1, SX_COMPAT_PAPER, 3,
						     NULL), 0);
	for (i = 0; i < 15; i++)
		p[i] = 0.5;
	for (i = 0; i < 5; i++)
		p[sx_metrics_plan_row(&plan, SX_FAITH_SINGLE, i)] = single5[i];
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	assert_false(isnan(f.rankdel));
	assert_true(f.rankdel >= -1 && f.rankdel <= 1);
	again = f.rankdel;
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	assert_near(f.rankdel, again);
	sx_metrics_plan_release(&plan);
	assert_int_equal(sx_metrics_plan_init(&plan, zero, NULL, 5, 1, NULL), 0);
	assert_int_equal(sx_metrics_faith(&plan, 0.9, p, NULL, &f, NULL), 0);
	assert_true(isnan(f.rankdel));
	sx_metrics_plan_release(&plan);
}

static void test_compat_agree(void **state)
{
	const double a[5] = { 0.9, -1.0, 0.2, 0.0, 0.5 };
	const double b[5] = { 0.1, 0.8, -0.3, 0.6, -0.2 };
	const double a10[10] = { 0.9, 0.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8 };
	const double b10[10] = { 0.7, 0.0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8 };
	const double zero[5] = { 0, 0, 0, 0, 0 };
	struct sx_agree g, h;

	(void)state;
	/*
	 * n = 5, k = 1. By signed value a ranks 0, 4, 2, 3, 1 and b ranks
	 * 1, 3, 0, 4, 2: top-1 {0} vs {1}, nothing shared. By magnitude (the
	 * default) both top-1 are token 1 (|-1.0|, |0.8|): feature 1, iou 1,
	 * signs differ.
	 */
	assert_int_equal(sx_metrics_agree_compat(a, NULL, 1, b, NULL, 2, 5, SX_COMPAT_PAPER, &g,
						 NULL), 0);
	assert_int_equal(g.k, 1);
	assert_near(g.feature, 0);
	assert_near(g.rank, 0);
	assert_near(g.iou, 0);
	/*
	 * Spearman of the signed values: descending ranks a {5, 1, 3, 2, 4},
	 * b {3, 5, 1, 4, 2}; d = {2, -4, 2, -2, 2}, sum d^2 = 32,
	 * rho = 1 - 6*32/(5*24) = -0.6.
	 */
	assert_near(g.spearman, -0.6);
	/*
	 * Pairwise: b's ranks read in a's order are 3, 2, 1, 4, 5; pairs
	 * ordered alike (earlier one higher): (3,2), (3,1), (2,1): 3 of 10.
	 */
	assert_near(g.pairwise, 0.3);
	assert_int_equal(sx_metrics_agree_compat(a, NULL, 1, b, NULL, 2, 5, SX_COMPAT_NONE, &h,
						 NULL), 0);
	assert_near(h.feature, 1);
	assert_near(h.iou, 1);
	assert_near(h.sign, 0);

	/*
	 * n = 10, k = 2: both rank 0, 1 first. Token 0: 0.9 x 0.7 > 0 agrees;
	 * token 1: a_1 b_1 = 0.8 x 0 = 0 is not > 0, so it does not: sign = 1/2,
	 * signed_rank = 1/2. The same order everywhere: spearman 1, pairwise 1.
	 */
	assert_int_equal(sx_metrics_agree_compat(a10, NULL, 1, b10, NULL, 2, 10, SX_COMPAT_PAPER,
						 &g, NULL), 0);
	assert_int_equal(g.k, 2);
	assert_near(g.feature, 1);
	assert_near(g.rank, 1);
	assert_near(g.sign, 0.5);
	assert_near(g.signed_rank, 0.5);
	assert_near(g.spearman, 1);
	assert_near(g.pairwise, 1);

	/* a constant explanation: seeded random ties, the same numbers for the same seeds */
	assert_int_equal(sx_metrics_agree_compat(zero, NULL, 4, b, NULL, 2, 5, SX_COMPAT_PAPER, &g,
						 NULL), 0);
	assert_int_equal(sx_metrics_agree_compat(zero, NULL, 4, b, NULL, 2, 5, SX_COMPAT_PAPER, &h,
						 NULL), 0);
	assert_false(isnan(g.spearman));
	assert_near(g.spearman, h.spearman);
	assert_near(g.pairwise, h.pairwise);
}

/*
 * The label changes DF_MIT and DF_Frac count are the model's stated labels
 * when they are given: an answer (1, 0.5) keeps label 1 although P(pos) is
 * not above 0.5; (0, 0.6) under logprobs is a change. Under --compat paper
 * DF_MIT still tests P(pos) against 0.5, as the paper's code does.
 */
static void test_faith_stated_labels(void **state)
{
	const double v[2] = { 0.9, 0.1 };
	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
	struct sx_faith f;
	double p[6];
	signed char lab[6];
	size_t i;

	(void)state;
	assert_int_equal(sx_metrics_plan_init(&plan, v, NULL, 2, 1, NULL), 0);
	for (i = 0; i < 6; i++) {
		p[i] = 0.5;
		lab[i] = 1;
	}
	assert_int_equal(sx_metrics_faith(&plan, 0.6, p, lab, &f, NULL), 0);
	assert_near(f.df_mit, 0);  /* (1, 0.5): the label stays 1 */
	assert_near(f.df_frac, 1); /* never changes */
	assert_int_equal(sx_metrics_faith(&plan, 0.6, p, NULL, &f, NULL), 0);
	assert_near(f.df_mit, 1);  /* by the threshold 0.5 is label 0 */
	assert_near(f.df_frac, 0.5);
	/* the second deletion's stated label is 0: DF_Frac 2/2, DF_MIT 0 */
	lab[sx_metrics_plan_row(&plan, SX_FAITH_DELETE, 2)] = 0;
	assert_int_equal(sx_metrics_faith(&plan, 0.6, p, lab, &f, NULL), 0);
	assert_near(f.df_mit, 0);
	assert_near(f.df_frac, 1);
	lab[sx_metrics_plan_row(&plan, SX_FAITH_DELETE, 1)] = 0;
	assert_int_equal(sx_metrics_faith(&plan, 0.6, p, lab, &f, NULL), 0);
	assert_near(f.df_mit, 1);
	assert_near(f.df_frac, 0.5);
	/* an unknown label before the first change: undefined */
	lab[sx_metrics_plan_row(&plan, SX_FAITH_DELETE, 1)] = -1;
	assert_int_equal(sx_metrics_faith(&plan, 0.6, p, lab, &f, NULL), 0);
	assert_true(isnan(f.df_mit) && isnan(f.df_frac));
	/* --compat paper: DF_MIT by the threshold, DF_Frac by the stated labels */
	for (i = 0; i < 6; i++)
		lab[i] = 1;
	plan.compat = SX_COMPAT_PAPER;
	assert_int_equal(sx_metrics_faith(&plan, 0.6, p, lab, &f, NULL), 0);
	assert_near(f.df_mit, 1);
	assert_near(f.df_frac, 1);
	sx_metrics_plan_release(&plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank),
		cmocka_unit_test(test_distinct),
		cmocka_unit_test(test_faith_positive),
		cmocka_unit_test(test_faith_negative),
		cmocka_unit_test(test_faith_ties),
		cmocka_unit_test(test_faith_one_token),
		cmocka_unit_test(test_faith_constant),
		cmocka_unit_test(test_plan_ranked),
		cmocka_unit_test(test_aopc_k),
		cmocka_unit_test(test_topk),
		cmocka_unit_test(test_agree_small),
		cmocka_unit_test(test_agree_topk_overlap),
		cmocka_unit_test(test_agree_degenerate),
		cmocka_unit_test(test_agree_topk_list),
		cmocka_unit_test(test_agree_ties),
		cmocka_unit_test(test_compat_names),
		cmocka_unit_test(test_compat_rank),
		cmocka_unit_test(test_compat_comp_positive),
		cmocka_unit_test(test_compat_comp_negative),
		cmocka_unit_test(test_compat_suff),
		cmocka_unit_test(test_compat_df),
		cmocka_unit_test(test_compat_rankdel),
		cmocka_unit_test(test_compat_rankdel_topk),
		cmocka_unit_test(test_compat_agree),
		cmocka_unit_test(test_faith_stated_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
