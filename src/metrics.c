/*
 * Faithfulness (comprehensiveness, sufficiency, DF, RankDel, AOPC) and
 * agreement metrics of one review.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "selfexp/alloc.h"
#include "selfexp/metrics.h"
#include "selfexp/stats.h"

/* ==== Ranking =========================================================== */

static double value_or_zero(const double *value, const unsigned char *has_value, size_t i)
{
	if (has_value && !has_value[i])
		return 0.0;
	return isnan(value[i]) ? 0.0 : value[i];
}

void sx_metrics_toward(const double *value, const unsigned char *has_value, size_t n, int y,
		       double *imp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		double v = value_or_zero(value, has_value, i);

		imp[i] = y == 1 ? v : -v;
		if (imp[i] == 0)
			imp[i] = 0.0; /* no -0.0 */
	}
}

/* Sort keys: descending key, then ascending tie-break key, then ascending position. */
struct keyed {
	double key;
	double tie;
	size_t pos;
};

static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;

	if (a->key > b->key)
		return -1;
	if (a->key < b->key)
		return 1;
	if (a->tie < b->tie)
		return -1;
	if (a->tie > b->tie)
		return 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* order[0..n) by descending key; ties by ascending tie[] (NULL: none), then by position. */
static void order_by_tie(const double *key, const double *tie, size_t n, size_t *order)
{
	struct keyed *kv = xmalloc(sx_size_mul(n ? n : 1, sizeof(*kv)));
	size_t i;

	for (i = 0; i < n; i++) {
		kv[i].key = key[i];
		kv[i].tie = tie ? tie[i] : 0.0;
		kv[i].pos = i;
	}
	qsort(kv, n, sizeof(*kv), cmp_keyed);
	for (i = 0; i < n; i++)
		order[i] = kv[i].pos;
	free(kv);
}

static void order_by(const double *key, size_t n, size_t *order)
{
	order_by_tie(key, NULL, n, order);
}

/* order[0..n) by descending key, exact ties in a random order drawn from rng. */
static void order_by_random_ties(const double *key, size_t n, struct sx_rng *rng, size_t *order)
{
	double *tie = xmalloc(sx_size_mul(n ? n : 1, sizeof(*tie)));
	size_t i;

	for (i = 0; i < n; i++)
		tie[i] = sx_rng_uniform(rng);
	order_by_tie(key, tie, n, order);
	free(tie);
}

void sx_metrics_rank(const double *imp, size_t n, size_t *order)
{
	order_by(imp, n, order);
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

size_t sx_metrics_distinct(const double *value, const unsigned char *has_value, size_t n)
{
	double *v = xmalloc(sx_size_mul(n ? n : 1, sizeof(*v)));
	size_t i, m = 0, distinct = 0;

	for (i = 0; i < n; i++)
		if ((!has_value || has_value[i]) && !isnan(value[i]))
			v[m++] = value[i] == 0 ? 0.0 : value[i]; /* -0.0 is 0.0 */
	qsort(v, m, sizeof(*v), cmp_double);
	for (i = 0; i < m; i++)
		if (i == 0 || v[i] != v[i - 1])
			distinct++;
	free(v);
	return distinct;
}

/* ==== Compatibility modes ============================================== */

static const char *const compat_names[] = { "none", "paper" };

int sx_compat_from_name(const char *name, enum sx_compat *out)
{
	size_t i;

	for (i = 0; i < sizeof(compat_names) / sizeof(compat_names[0]); i++)
		if (!strcmp(name, compat_names[i])) {
			*out = (enum sx_compat)i;
			return 0;
		}
	return -1;
}

const char *sx_compat_name(enum sx_compat compat)
{
	return (size_t)compat < sizeof(compat_names) / sizeof(compat_names[0]) ?
		compat_names[compat] : "unknown";
}

/* Separate streams of one plan's seed: the ranking, and RankDel's ranks. */
static uint64_t plan_stream(const struct sx_faith_plan *plan, const char *purpose)
{
	return sx_seed_derive(plan->seed, purpose, NULL);
}

/* ==== Faithfulness plan ================================================= */

void sx_metrics_plan_release(struct sx_faith_plan *plan)
{
	free(plan->imp);
	free(plan->rank);
	free(plan->masks);
	memset(plan, 0, sizeof(*plan));
}

size_t sx_metrics_plan_row(const struct sx_faith_plan *plan, enum sx_faith_kind kind, size_t j)
{
	switch (kind) {
	case SX_FAITH_DELETE:
		return j - 1;
	case SX_FAITH_KEEP:
		return plan->n + j;
	case SX_FAITH_SINGLE:
		return 2 * plan->n + j;
	}
	return 0;
}

const unsigned char *sx_metrics_plan_mask(const struct sx_faith_plan *plan, size_t row)
{
	return plan->masks + row * plan->n;
}

static void plan_build_masks(struct sx_faith_plan *plan)
{
	size_t n = plan->n, j, i;
	unsigned char *m;

	plan->n_inputs = 3 * n;
	plan->masks = xmalloc(sx_size_mul(plan->n_inputs, n));
	/* DELETE j: all ones but r_1..r_j. */
	for (j = 1; j <= n; j++) {
		m = plan->masks + sx_metrics_plan_row(plan, SX_FAITH_DELETE, j) * n;
		memset(m, 1, n);
		for (i = 0; i < j; i++)
			m[plan->rank[i]] = 0;
	}
	/* KEEP j: only r_1..r_j. */
	for (j = 0; j < n; j++) {
		m = plan->masks + sx_metrics_plan_row(plan, SX_FAITH_KEEP, j) * n;
		memset(m, 0, n);
		for (i = 0; i < j; i++)
			m[plan->rank[i]] = 1;
	}
	/* SINGLE j: all ones but position j. */
	for (j = 0; j < n; j++) {
		m = plan->masks + sx_metrics_plan_row(plan, SX_FAITH_SINGLE, j) * n;
		memset(m, 1, n);
		m[j] = 0;
	}
}

int sx_metrics_plan_init(struct sx_faith_plan *plan, const double *value,
			 const unsigned char *has_value, size_t n, int y, struct sx_err *err)
{
	return sx_metrics_plan_init_compat(plan, value, has_value, n, y, SX_COMPAT_NONE, 0, err);
}

void sx_metrics_rank_paper(const double *value, const unsigned char *has_value, size_t n,
			   uint64_t seed, size_t *order)
{
	double *signed_value = xmalloc(sx_size_mul(n ? n : 1, sizeof(*signed_value)));
	struct sx_rng *rng = sx_rng_new(sx_seed_derive(seed, "rank", NULL));

	sx_metrics_toward(value, has_value, n, 1, signed_value);
	order_by_random_ties(signed_value, n, rng, order);
	sx_rng_free(rng);
	free(signed_value);
}

int sx_metrics_plan_init_compat(struct sx_faith_plan *plan, const double *value,
				const unsigned char *has_value, size_t n, int y,
				enum sx_compat compat, uint64_t seed, struct sx_err *err)
{
	memset(plan, 0, sizeof(*plan));
	if (n == 0)
		return sx_err_set(err, SX_EINPUT, "faithfulness: empty review");
	if (y != 0 && y != 1)
		return sx_err_set(err, SX_EINPUT, "faithfulness: label '%d' is not 0 or 1", y);
	if (compat != SX_COMPAT_NONE && compat != SX_COMPAT_PAPER)
		return sx_err_set(err, SX_EINPUT, "faithfulness: unknown compat mode '%d'", (int)compat);
	plan->n = n;
	plan->y = y;
	plan->compat = compat;
	plan->seed = seed;
	plan->imp = xmalloc(sx_size_mul(n, sizeof(*plan->imp)));
	plan->rank = xmalloc(sx_size_mul(n, sizeof(*plan->rank)));
	if (compat == SX_COMPAT_PAPER) {
		sx_metrics_toward(value, has_value, n, 1, plan->imp);
		sx_metrics_rank_paper(value, has_value, n, seed, plan->rank);
	} else {
		sx_metrics_toward(value, has_value, n, y, plan->imp);
		sx_metrics_rank(plan->imp, n, plan->rank);
	}
	plan_build_masks(plan);
	return 0;
}

int sx_metrics_plan_init_ranked(struct sx_faith_plan *plan, const size_t *rank, size_t n, int y,
				struct sx_err *err)
{
	unsigned char *seen = NULL;
	size_t i;
	int ret = 0;

	memset(plan, 0, sizeof(*plan));
	if (n == 0)
		return sx_err_set(err, SX_EINPUT, "faithfulness: empty review");
	if (y != 0 && y != 1)
		return sx_err_set(err, SX_EINPUT, "faithfulness: label '%d' is not 0 or 1", y);
	seen = xcalloc(n, 1);
	for (i = 0; i < n; i++) {
		if (rank[i] >= n || seen[rank[i]]) {
			ret = sx_err_set(err, SX_EINPUT,
					 "faithfulness: ranking entry %zu ('%zu') is not a permutation "
					 "of 0..%zu", i, rank[i], n - 1);
			goto out;
		}
		seen[rank[i]] = 1;
	}
	plan->n = n;
	plan->y = y;
	plan->rank = xmalloc(sx_size_mul(n, sizeof(*plan->rank)));
	memcpy(plan->rank, rank, n * sizeof(*rank));
	plan_build_masks(plan);
out:
	free(seen);
	return ret;
}

int sx_metrics_plan_init_topk(struct sx_faith_plan *plan, const size_t *list, size_t m,
			      size_t n, int y, enum sx_compat compat, uint64_t seed,
			      struct sx_err *err)
{
	size_t *rank = xcalloc(n ? n : 1, sizeof(size_t));
	unsigned char *used = xcalloc(n ? n : 1, 1);
	size_t i, l = 0;
	int rc;

	for (i = 0; i < m; i++)
		if (list[i] < n && !used[list[i]]) {
			used[list[i]] = 1;
			rank[l++] = list[i];
		}
	for (i = 0, m = l; i < n; i++)
		if (!used[i])
			rank[m++] = i;
	rc = sx_metrics_plan_init_ranked(plan, rank, n, y, err);
	if (!rc) {
		plan->compat = compat;
		plan->seed = seed;
	}
	if (!rc && compat == SX_COMPAT_PAPER) {
		plan->imp = xcalloc(n, sizeof(*plan->imp));
		for (i = 0; i < l; i++)
			plan->imp[rank[i]] = (double)(l - i);
	}
	free(rank);
	free(used);
	return rc;
}

/* ==== Faithfulness metrics ============================================== */

size_t sx_metrics_aopc_k(double q, size_t n)
{
	double k = ceil(q * (double)n - 1e-9); /* 0.05 * 20 must be 1, not 2 */

	if (k < 1)
		return 1;
	if (k > (double)n)
		return n;
	return (size_t)k;
}

/* P(y | z) from P(pos | z). */
static double p_label(int y, double p_pos)
{
	return y == 1 ? p_pos : 1.0 - p_pos;
}

/* 1 if z's predicted label differs from y, 0 if not, -1 if unknown (NaN). */
static int label_changes(int y, double p_pos)
{
	if (isnan(p_pos))
		return -1;
	return (p_pos > 0.5 ? 1 : 0) != y;
}

/* The same for plan row `row`, by the stated label when there are labels. */
static int row_changes(const struct sx_faith_plan *plan, const double *p_pos,
		       const signed char *label, size_t row)
{
	if (!label)
		return label_changes(plan->y, p_pos[row]);
	if (label[row] < 0 || isnan(p_pos[row]))
		return -1;
	return label[row] != plan->y;
}

/* P(pos | z) of plan row (kind, j). */
static double row_p(const struct sx_faith_plan *plan, const double *p_pos, enum sx_faith_kind kind,
		    size_t j)
{
	return p_pos[sx_metrics_plan_row(plan, kind, j)];
}

/* ---- The corrected definitions (DESIGN.md section 7) ---- */

static double comp_default(const struct sx_faith_plan *plan, double px, const double *p_pos)
{
	double sum = 0;
	size_t j;

	for (j = 1; j <= plan->n; j++)
		sum += px - p_label(plan->y, row_p(plan, p_pos, SX_FAITH_DELETE, j));
	return sum / (double)(plan->n + 1);
}

static double suff_default(const struct sx_faith_plan *plan, double px, const double *p_pos)
{
	double sum = 0;
	size_t j;

	for (j = 0; j < plan->n; j++)
		sum += px - p_label(plan->y, row_p(plan, p_pos, SX_FAITH_KEEP, j));
	return sum / (double)(plan->n + 1);
}

/* First j in 1..n whose x \ {r_1..r_j} changes the label, 0 if none, -1 if a NaN comes first. */
static long first_change(const struct sx_faith_plan *plan, const double *p_pos,
			 const signed char *label)
{
	size_t j;

	for (j = 1; j <= plan->n; j++) {
		int c = row_changes(plan, p_pos, label, sx_metrics_plan_row(plan, SX_FAITH_DELETE, j));

		if (c < 0)
			return -1;
		if (c)
			return (long)j;
	}
	return 0;
}

/* j/denom for the first change j, 1 if none, NaN if unknown. */
static double df_frac_over(const struct sx_faith_plan *plan, const double *p_pos,
			   const signed char *label, double denom)
{
	long j = first_change(plan, p_pos, label);

	if (j < 0)
		return NAN;
	return j ? (double)j / denom : 1.0;
}

static double rankdel_default(const struct sx_faith_plan *plan, double px, const double *p_pos)
{
	double *drop, rho = NAN;
	size_t j;

	if (!plan->imp)
		return NAN;
	drop = xmalloc(sx_size_mul(plan->n, sizeof(*drop)));
	for (j = 0; j < plan->n; j++)
		drop[j] = px - p_label(plan->y, row_p(plan, p_pos, SX_FAITH_SINGLE, j));
	sx_stats_spearman(plan->imp, drop, plan->n, &rho);
	free(drop);
	return rho;
}

/* ---- The definitions of the paper's code (docs/paper-compat.md) ---- */

/*
 * The paper's comprehensiveness, on q = P(pos). Its reference starts as the
 * verbal confidence of y on x and, when y = 0, is re-mapped (c -> 1 - c)
 * before every non-empty step, so it alternates between q(x) and 1 - q(x);
 * the last step (everything removed) is not queried and adds ref - 0.5.
 */
static double comp_paper(const struct sx_faith_plan *plan, double qx, const double *p_pos)
{
	double ref = p_label(plan->y, qx), sum = 0;
	size_t j;

	for (j = 1; j < plan->n; j++) {
		if (plan->y == 0)
			ref = 1.0 - ref;
		sum += ref - row_p(plan, p_pos, SX_FAITH_DELETE, j);
	}
	sum += ref - 0.5;
	return sum / (double)(plan->n + 1);
}

/*
 * The paper's sufficiency: |q(x) - 0.5| for the empty review (not queried),
 * |q(x) - q(x[r_1..r_j])| for j = 1..n-1, and 0 for j = n (x itself).
 */
static double suff_paper(const struct sx_faith_plan *plan, double qx, const double *p_pos)
{
	double sum = fabs(qx - 0.5);
	size_t j;

	for (j = 1; j < plan->n; j++)
		sum += fabs(qx - row_p(plan, p_pos, SX_FAITH_KEEP, j));
	return sum / (double)(plan->n + 1);
}

/* The verbal confidence of the label predicted on z: max(q, 1 - q). */
static double label_conf(double q)
{
	return q > 0.5 ? q : 1.0 - q;
}

/* ranks[i] = place of i in descending order of v, exact ties at random. */
static void random_tie_ranks(const double *v, size_t n, struct sx_rng *rng, double *ranks)
{
	size_t *order = xmalloc(sx_size_mul(n, sizeof(*order)));
	size_t i;

	order_by_random_ties(v, n, rng, order);
	for (i = 0; i < n; i++)
		ranks[order[i]] = (double)(n - i);
	free(order);
}

/*
 * The paper's RankDel: Spearman between the signed value and the drop in the
 * confidence of the predicted label, conf(x) - conf(x \ {i}), with jitter
 * standing in for tie-breaking: here exact ties of either side at random.
 */
static double rankdel_paper(const struct sx_faith_plan *plan, double qx, const double *p_pos)
{
	size_t n = plan->n, j;
	double *drop, *ra, *rb, rho = NAN;
	struct sx_rng *rng;

	if (!plan->imp || isnan(qx))
		return NAN;
	drop = xmalloc(sx_size_mul(n, sizeof(*drop)));
	for (j = 0; j < n; j++) {
		drop[j] = label_conf(qx) - label_conf(row_p(plan, p_pos, SX_FAITH_SINGLE, j));
		if (isnan(drop[j])) {
			free(drop);
			return NAN;
		}
	}
	ra = xmalloc(sx_size_mul(n, sizeof(*ra)));
	rb = xmalloc(sx_size_mul(n, sizeof(*rb)));
	rng = sx_rng_new(plan_stream(plan, "rankdel"));
	random_tie_ranks(plan->imp, n, rng, ra);
	random_tie_ranks(drop, n, rng, rb);
	sx_rng_free(rng);
	sx_stats_spearman(ra, rb, n, &rho);
	free(drop);
	free(ra);
	free(rb);
	return rho;
}

/* ---- Both ---- */

static double df_mit(const struct sx_faith_plan *plan, const double *p_pos,
		     const signed char *label)
{
	switch (row_changes(plan, p_pos, label, sx_metrics_plan_row(plan, SX_FAITH_DELETE, 1))) {
	case 1:
		return 1;
	case 0:
		return 0;
	default:
		return NAN;
	}
}

static void aopc(const struct sx_faith_plan *plan, double px, const double *p_pos,
		 struct sx_faith *out)
{
	static const double bins[SX_AOPC_NBINS] = SX_AOPC_BINS;
	size_t n = plan->n, b;
	int y = plan->y;

	out->aopc_comp = out->aopc_suff = 0;
	for (b = 0; b < SX_AOPC_NBINS; b++) {
		size_t k = sx_metrics_aopc_k(bins[b], n);

		out->comp_at[b] = px - p_label(y, row_p(plan, p_pos, SX_FAITH_DELETE, k));
		out->suff_at[b] = k == n ? 0.0 :
			px - p_label(y, row_p(plan, p_pos, SX_FAITH_KEEP, k));
		if (k == n && isnan(px))
			out->suff_at[b] = NAN;
		out->aopc_comp += out->comp_at[b] / SX_AOPC_NBINS;
		out->aopc_suff += out->suff_at[b] / SX_AOPC_NBINS;
	}
}

int sx_metrics_faith(const struct sx_faith_plan *plan, double p_pos_x, const double *p_pos,
		     const signed char *label, struct sx_faith *out, struct sx_err *err)
{
	size_t n = plan->n;
	double px;

	if (n == 0 || !plan->masks)
		return sx_err_set(err, SX_EINPUT, "faithfulness: empty plan");
	px = p_label(plan->y, p_pos_x);
	if (plan->compat == SX_COMPAT_PAPER) {
		out->comp = comp_paper(plan, p_pos_x, p_pos);
		out->suff = suff_paper(plan, p_pos_x, p_pos);
		out->df_frac = df_frac_over(plan, p_pos, label, (double)(n + 1));
		out->rankdel = rankdel_paper(plan, p_pos_x, p_pos);
	} else {
		out->comp = comp_default(plan, px, p_pos);
		out->suff = suff_default(plan, px, p_pos);
		out->df_frac = df_frac_over(plan, p_pos, label, (double)n);
		out->rankdel = rankdel_default(plan, px, p_pos);
	}
	/* the paper's DF_MIT tests P(pos) against 0.5 (docs/paper-compat.md) */
	out->df_mit = df_mit(plan, p_pos, plan->compat == SX_COMPAT_PAPER ? NULL : label);
	aopc(plan, px, p_pos, out);
	return 0;
}

/* ==== Agreement ========================================================= */

size_t sx_metrics_topk_size(size_t n)
{
	size_t k = n / 5; /* floor(0.2 n), exactly */

	return k ? k : 1;
}

static void abs_values(const double *value, const unsigned char *has_value, size_t n, double *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = fabs(value_or_zero(value, has_value, i));
}

void sx_metrics_topk(const double *value, const unsigned char *has_value, size_t n, size_t k,
		     size_t *top)
{
	double *mag = xmalloc(sx_size_mul(n ? n : 1, sizeof(*mag)));
	size_t *order = xmalloc(sx_size_mul(n ? n : 1, sizeof(*order)));

	abs_values(value, has_value, n, mag);
	order_by(mag, n, order);
	memcpy(top, order, (k < n ? k : n) * sizeof(*top));
	free(mag);
	free(order);
}

static int sign_of(double v)
{
	return (v > 0) - (v < 0);
}

static int cmp3(double a, double b)
{
	return (a > b) - (a < b);
}

/* Descending ranks n..1 of the positions in order[0..n). */
static void ranks_of_order(const size_t *order, size_t n, double *ranks)
{
	size_t t;

	for (t = 0; t < n; t++)
		ranks[order[t]] = (double)(n - t);
}

/* Signs agree: the same sign, zero included (DESIGN.md), or both strictly
 * on one side (the paper's disagreement.py: a_f b_f > 0). */
static int same_sign(double a, double b)
{
	return sign_of(a) == sign_of(b);
}

static int product_positive(double a, double b)
{
	return a * b > 0;
}

/*
 * The top-k agreements of out (feature, rank, sign, signed rank, IoU) from the
 * top-k lists ta and tb (k positions of n each) of explanations a and b.
 */
static void topk_agreement(const size_t *ta, const size_t *tb, size_t k, size_t n,
			   const double *a, const unsigned char *a_has, const double *b,
			   const unsigned char *b_has, int (*signs_agree)(double, double),
			   struct sx_agree *out)
{
	unsigned char *in_b = xcalloc(n, 1);
	size_t t, inter = 0, same_rank = 0, agree_sign = 0, same_rank_sign = 0;

	for (t = 0; t < k; t++)
		in_b[tb[t]] = 1;
	for (t = 0; t < k; t++) {
		size_t f = ta[t];
		int agree = signs_agree(value_or_zero(a, a_has, f), value_or_zero(b, b_has, f));

		if (in_b[f]) {
			inter++;
			agree_sign += agree;
		}
		if (ta[t] == tb[t]) {
			same_rank++;
			same_rank_sign += agree;
		}
	}
	out->k = k;
	out->feature = (double)inter / (double)k;
	out->rank = (double)same_rank / (double)k;
	out->sign = (double)agree_sign / (double)k;
	out->signed_rank = (double)same_rank_sign / (double)k;
	out->iou = (double)inter / (double)(2 * k - inter);
	free(in_b);
}

/*
 * The paper's agreement (disagreement.py): both explanations ranked by the
 * signed value with their seeded random tie-breaks, top-k the first k of
 * those rankings, signs agreeing only when the product is > 0, Spearman of
 * the signed values with the same tie-breaks, pairwise agreement the share of
 * pairs the two rankings order alike.
 */
static int agree_paper(const double *a, const unsigned char *a_has, uint64_t a_seed,
		       const double *b, const unsigned char *b_has, uint64_t b_seed, size_t n,
		       struct sx_agree *out)
{
	size_t i, j, s = 0;
	size_t *oa = xmalloc(sx_size_mul(n, sizeof(*oa)));
	size_t *ob = xmalloc(sx_size_mul(n, sizeof(*ob)));
	double *ra = xmalloc(sx_size_mul(n, sizeof(*ra)));
	double *rb = xmalloc(sx_size_mul(n, sizeof(*rb)));

	sx_metrics_rank_paper(a, a_has, n, a_seed, oa);
	sx_metrics_rank_paper(b, b_has, n, b_seed, ob);
	/* the top k are the first k of the signed rankings */
	topk_agreement(oa, ob, sx_metrics_topk_size(n), n, a, a_has, b, b_has, product_positive,
		       out);
	out->undefined = NULL; /* the paper's random tie-break ranks even a constant */
	ranks_of_order(oa, n, ra);
	ranks_of_order(ob, n, rb);
	sx_stats_spearman(ra, rb, n, &out->spearman);
	out->pairwise = NAN;
	if (n >= 2) {
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				s += rb[oa[i]] > rb[oa[j]];
		out->pairwise = (double)s / ((double)n * (double)(n - 1) / 2.0);
	}
	free(oa);
	free(ob);
	free(ra);
	free(rb);
	return 0;
}

int sx_metrics_agree_compat(const double *a, const unsigned char *a_has, uint64_t a_seed,
			    const double *b, const unsigned char *b_has, uint64_t b_seed, size_t n,
			    enum sx_compat compat, struct sx_agree *out, struct sx_err *err)
{
	if (compat != SX_COMPAT_PAPER)
		return sx_metrics_agree(a, a_has, b, b_has, n, out, err);
	if (n == 0)
		return sx_err_set(err, SX_EINPUT, "agreement: empty review");
	return agree_paper(a, a_has, a_seed, b, b_has, b_seed, n, out);
}

/*
 * Ties in a ranking (DESIGN.md's agreement, docs/design.md): the tokens of
 * equal magnitude form a group that holds ranks [start, start + len); a
 * ranking is any order of each group, all equally likely. The top-k
 * agreements are their expected values over the tie orders of the two
 * explanations, drawn independently, so no token gains from its position.
 */
struct ties {
	size_t *start, *len; /* per position */
	size_t k;
	size_t gstart, glen; /* the group across rank k (glen 0: none) */
};

static void ties_init(struct ties *t, const double *value, const unsigned char *has, size_t n,
		      size_t k)
{
	double *mag = xmalloc(sx_size_mul(n, sizeof(*mag)));
	size_t *order = xmalloc(sx_size_mul(n, sizeof(*order)));
	size_t i = 0, j, u;

	t->start = xmalloc(sx_size_mul(n, sizeof(*t->start)));
	t->len = xmalloc(sx_size_mul(n, sizeof(*t->len)));
	t->k = k;
	t->gstart = t->glen = 0;
	abs_values(value, has, n, mag);
	order_by(mag, n, order);
	while (i < n) {
		for (j = i; j + 1 < n && mag[order[j + 1]] == mag[order[i]]; j++)
			;
		for (u = i; u <= j; u++) {
			t->start[order[u]] = i;
			t->len[order[u]] = j - i + 1;
		}
		if (i < k && j + 1 > k) {
			t->gstart = i;
			t->glen = j - i + 1;
		}
		i = j + 1;
	}
	free(mag);
	free(order);
}

static void ties_release(struct ties *t)
{
	free(t->start);
	free(t->len);
}

/* ranks of position i's group that fall in the top k */
static size_t in_top(const struct ties *t, size_t i)
{
	size_t end = t->start[i] + t->len[i];

	return t->start[i] >= t->k ? 0 : (end < t->k ? end : t->k) - t->start[i];
}

/* P(i is in the top k) */
static double p_top(const struct ties *t, size_t i)
{
	return (double)in_top(t, i) / (double)t->len[i];
}

/* 0: out of the top k for every tie order, 1: in it for every one, 2: the group across k */
static int top_kind(const struct ties *t, size_t i)
{
	if (t->start[i] >= t->k)
		return 0;
	return t->start[i] + t->len[i] <= t->k ? 1 : 2;
}

/* P(position i holds the same rank j < k in both) summed over j */
static double p_same_rank(const struct ties *a, const struct ties *b, size_t i)
{
	size_t lo = a->start[i] > b->start[i] ? a->start[i] : b->start[i];
	size_t hi = a->start[i] + a->len[i];

	if (b->start[i] + b->len[i] < hi)
		hi = b->start[i] + b->len[i];
	if (a->k < hi)
		hi = a->k;
	return hi > lo ? (double)(hi - lo) / ((double)a->len[i] * (double)b->len[i]) : 0.0;
}

/* C(n, r) as a double, exactly for the sizes of a review */
static double choose(size_t n, size_t r)
{
	double c = 1.0;
	size_t i;

	if (r > n)
		return 0.0;
	if (r > n - r)
		r = n - r;
	for (i = 1; i <= r; i++)
		c = c * (double)(n - r + i) / (double)i;
	return c;
}

/* P(z successes) drawing m of a population of pop holding succ successes */
static double hypergeom(size_t z, size_t succ, size_t pop, size_t m)
{
	if (z > m || z > succ || succ > pop || m - z > pop - succ)
		return 0.0;
	return choose(succ, z) * choose(pop - succ, m - z) / choose(pop, m);
}

/*
 * E[|A ∩ B| / |A ∪ B|] over the tie orders, |A| = |B| = k: A is its fixed top
 * tokens plus m_a drawn from its group across k; the draw's overlap with B's
 * fixed tokens (x) and with B's group (y) is multivariate hypergeometric,
 * and B's draw then meets A in a hypergeometric number z.
 */
static double expected_iou(const struct ties *a, const struct ties *b, size_t n)
{
	size_t i, both = 0, c1 = 0, c2 = 0, d1 = 0, x, y, z;
	size_t ma = a->glen ? a->k - a->gstart : 0, mb = b->glen ? b->k - b->gstart : 0;
	double e = 0.0;

	for (i = 0; i < n; i++) {
		int ka = top_kind(a, i), kb = top_kind(b, i);

		both += ka == 1 && kb == 1;
		c1 += ka == 2 && kb == 1;
		c2 += ka == 2 && kb == 2;
		d1 += ka == 1 && kb == 2;
	}
	for (x = 0; x <= c1 && x <= ma; x++)
		for (y = 0; y <= c2 && x + y <= ma; y++) {
			double pxy = choose(c1, x) * choose(c2, y) *
				     choose(a->glen - c1 - c2, ma - x - y) / choose(a->glen, ma);

			if (pxy == 0.0)
				continue;
			for (z = 0; z <= mb; z++) {
				double pz = hypergeom(z, d1 + y, b->glen, mb);
				double inter = (double)(both + x + z);

				if (pz > 0.0)
					e += pxy * pz * inter / (2.0 * (double)a->k - inter);
			}
		}
	return e;
}

/* Every value the same (all zero, say): the explanation ranks nothing. */
static int constant_values(const double *v, const unsigned char *has, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (value_or_zero(v, has, i) != value_or_zero(v, has, 0))
			return 0;
	return n > 1;
}

static const char CONSTANT_REASON[] =
	"an explanation gives every token the same importance: it ranks nothing";

static void agree_undefined(struct sx_agree *out, size_t k)
{
	out->k = k;
	out->undefined = CONSTANT_REASON;
	out->feature = out->rank = out->sign = out->signed_rank = out->iou = NAN;
	out->spearman = out->pairwise = NAN;
}

/* feature, rank, sign, signed rank and IoU of a and b, expected over tie orders */
static void topk_expected(const double *a, const unsigned char *a_has, const double *b,
			  const unsigned char *b_has, size_t n, size_t k, struct sx_agree *out)
{
	struct ties ta, tb;
	double inter = 0, rank = 0, sign = 0, srank = 0;
	size_t i;

	ties_init(&ta, a, a_has, n, k);
	ties_init(&tb, b, b_has, n, k);
	for (i = 0; i < n; i++) {
		double pin = p_top(&ta, i) * p_top(&tb, i), prank = p_same_rank(&ta, &tb, i);
		int agree = same_sign(value_or_zero(a, a_has, i), value_or_zero(b, b_has, i));

		inter += pin;
		rank += prank;
		sign += agree ? pin : 0.0;
		srank += agree ? prank : 0.0;
	}
	out->k = k;
	out->undefined = NULL;
	out->feature = inter / (double)k;
	out->rank = rank / (double)k;
	out->sign = sign / (double)k;
	out->signed_rank = srank / (double)k;
	out->iou = expected_iou(&ta, &tb, n);
	ties_release(&ta);
	ties_release(&tb);
}

int sx_metrics_agree(const double *a, const unsigned char *a_has, const double *b,
		     const unsigned char *b_has, size_t n, struct sx_agree *out, struct sx_err *err)
{
	size_t k, s, i, j;
	double *ma = NULL, *mb = NULL;

	if (n == 0)
		return sx_err_set(err, SX_EINPUT, "agreement: empty review");
	k = sx_metrics_topk_size(n);
	if (constant_values(a, a_has, n) || constant_values(b, b_has, n)) {
		agree_undefined(out, k);
		return 0;
	}
	topk_expected(a, a_has, b, b_has, n, k, out);

	ma = xmalloc(sx_size_mul(n, sizeof(*ma)));
	mb = xmalloc(sx_size_mul(n, sizeof(*mb)));
	abs_values(a, a_has, n, ma);
	abs_values(b, b_has, n, mb);
	sx_stats_spearman(ma, mb, n, &out->spearman);
	/* a pair agrees when both order it alike, a tie in both included */
	out->pairwise = NAN;
	if (n >= 2) {
		s = 0;
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				s += cmp3(ma[i], ma[j]) == cmp3(mb[i], mb[j]);
		out->pairwise = (double)s / ((double)n * (double)(n - 1) / 2.0);
	}
	free(ma);
	free(mb);
	return 0;
}

int sx_metrics_agree_topk(const size_t *list, size_t m, const double *full,
			  const unsigned char *full_has, size_t n, struct sx_agree_topk *out,
			  struct sx_err *err)
{
	unsigned char *in_s = NULL;
	struct ties t;
	size_t k, ms, i, fixed = 0, in_group = 0, z;
	double inter = 0.0;
	int ret = 0;

	if (n == 0)
		return sx_err_set(err, SX_EINPUT, "top-k agreement: empty review");
	k = sx_metrics_topk_size(n);
	in_s = xcalloc(n, 1);
	for (i = 0; i < m; i++) {
		if (list[i] >= n || in_s[list[i]]) {
			ret = sx_err_set(err, SX_EINPUT,
					 "top-k agreement: listed position '%zu' is %s", list[i],
					 list[i] >= n ? "out of range" : "repeated");
			goto out;
		}
		in_s[list[i]] = 1;
	}
	out->k = k;
	out->undefined = NULL;
	if (constant_values(full, full_has, n)) {
		out->undefined = CONSTANT_REASON;
		out->feature = out->iou = NAN;
		goto out;
	}
	/* S is only the first min(m, k) listed positions; T's ties as in sx_metrics_agree */
	ms = m < k ? m : k;
	ties_init(&t, full, full_has, n, k);
	for (i = 0; i < ms; i++) {
		int kind = top_kind(&t, list[i]);

		inter += p_top(&t, list[i]);
		fixed += kind == 1;
		in_group += kind == 2;
	}
	out->feature = inter / (double)k;
	out->iou = 0.0;
	{
		size_t mt = t.glen ? k - t.gstart : 0;

		for (z = 0; z <= mt; z++) {
			double pz = hypergeom(z, in_group, t.glen, mt);
			double iz = (double)(fixed + z);

			if (pz > 0.0)
				out->iou += pz * iz / ((double)(ms + k) - iz);
		}
	}
	ties_release(&t);
out:
	free(in_s);
	return ret;
}

/* The first min(m, k) positions of list as a set in in_s (n bytes); -1 on a bad list. */
static int list_set(const size_t *list, size_t m, size_t n, size_t k, unsigned char *in_s,
		    size_t *ms, struct sx_err *err)
{
	size_t i;

	memset(in_s, 0, n);
	for (i = 0; i < m; i++) {
		if (list[i] >= n || in_s[list[i]])
			return sx_err_set(err, SX_EINPUT, "top-k agreement: listed position '%zu' is %s",
					  list[i], list[i] >= n ? "out of range" : "repeated");
		in_s[list[i]] = 1;
	}
	*ms = m < k ? m : k;
	memset(in_s, 0, n);
	for (i = 0; i < *ms; i++)
		in_s[list[i]] = 1;
	return 0;
}

int sx_metrics_agree_lists(const size_t *a, size_t ma, const size_t *b, size_t mb, size_t n,
			   struct sx_agree_topk *out, struct sx_err *err)
{
	unsigned char *sa, *sb;
	size_t k, na, nb, i, inter = 0;
	int ret;

	if (n == 0)
		return sx_err_set(err, SX_EINPUT, "top-k agreement: empty review");
	k = sx_metrics_topk_size(n);
	sa = xcalloc(n, 1);
	sb = xcalloc(n, 1);
	ret = list_set(a, ma, n, k, sa, &na, err);
	if (!ret)
		ret = list_set(b, mb, n, k, sb, &nb, err);
	if (!ret) {
		for (i = 0; i < n; i++)
			inter += sa[i] && sb[i];
		out->k = k;
		out->feature = (double)inter / (double)k;
		out->iou = na + nb > inter ? (double)inter / (double)(na + nb - inter) : NAN;
	}
	free(sa);
	free(sb);
	return ret;
}
