#ifndef SELFEXP_METRICS_H
#define SELFEXP_METRICS_H
/*
 * Faithfulness and agreement metrics of one review (DESIGN.md section 7).
 *
 * Explanations are importance vectors over the n token positions in the
 * stored sign convention (positive = toward the positive label), with an
 * optional has_value mask (NULL = every token has a value); a token without a
 * value, or with a NaN value, counts as 0.
 *
 * Undefined values are NaN, never 0: RankDel when either side is constant,
 * Spearman agreement of a constant explanation, pairwise agreement of a
 * one-token review, and every metric that needs a probability the caller
 * passed as NaN (a failed query). Aggregate with sx_stats_summary(), which
 * skips NaN.
 *
 * Faithfulness is computed in two phases, so a run can batch, dedupe
 * and cache the model queries:
 *
 *	struct sx_faith_plan plan = SX_FAITH_PLAN_INIT;
 *	sx_metrics_plan_init(&plan, value, has_value, n, y, &err);
 *	for (i = 0; i < plan.n_inputs; i++)
 *		... build the text of sx_metrics_plan_mask(&plan, i), query, p_pos[i] = P(pos) ...
 *	sx_metrics_faith(&plan, p_pos_x, p_pos, label, &faith, &err);
 *	sx_metrics_plan_release(&plan);
 */
#include <stddef.h>
#include <stdint.h>

#include "selfexp/err.h"

/*
 * Which definitions the faithfulness metrics follow (docs/paper-compat.md):
 * SX_COMPAT_NONE, the corrected ones of DESIGN.md section 7 (the default), or
 * SX_COMPAT_PAPER, those of the code of Huang et al. (2023), reproduced point
 * by point:
 * - ranking by the signed value (toward the positive label, whatever the
 *   prediction), exact ties broken at random (seeded), not by position;
 * - comprehensiveness on P(pos), with the paper's confidence re-mapping:
 *   for y = 0 the reference probability flips between P(pos | x) and
 *   P(neg | x) at every step; the empty review counts as P(pos) = 0.5;
 * - sufficiency with absolute differences |P(pos | x) - P(pos | x[R])|,
 *   the empty review counting as 0.5;
 * - DF_Frac = j / (n + 1), 1 when the label never changes;
 * - RankDel: Spearman between the signed value and the drop in the verbal
 *   confidence of the predicted label, max(q, 1 - q), ties broken at random.
 * - agreement (sx_metrics_agree_compat): top-k of the signed rankings, signs
 *   agreeing only when the product is > 0, rank correlations of the rankings.
 * DF_MIT and the AOPC bins keep their definitions (on the paper's ranking).
 */
enum sx_compat { SX_COMPAT_NONE, SX_COMPAT_PAPER };

/* "none" / "paper"; 0, or -1 for an unknown name. */
int sx_compat_from_name(const char *name, enum sx_compat *out);
const char *sx_compat_name(enum sx_compat compat);

/* ---- Ranking ------------------------------------------------------------ */

/*
 * imp[i] = importance of token i toward label y: value[i] if y == 1,
 * -value[i] if y == 0; 0 for a token without a value.
 */
void sx_metrics_toward(const double *value, const unsigned char *has_value, size_t n, int y,
		       double *imp);
/* order[0..n) = positions by descending imp, ties broken by position (left first). */
void sx_metrics_rank(const double *imp, size_t n, size_t *order);

/*
 * The paper's ranking (SX_COMPAT_PAPER): order[0..n) = positions by
 * descending signed value (toward the positive label; no value = 0), exact
 * ties in the order of uniform keys from a stream derived from seed. The
 * faithfulness plan and the agreement of one explanation use the same seed,
 * hence the same ranking.
 */
void sx_metrics_rank_paper(const double *value, const unsigned char *has_value, size_t n,
			   uint64_t seed, size_t *order);

/*
 * Number of distinct values among the tokens that have one (NaN counts as no
 * value): a coarse explanation (GPT-3.5 style, a few levels) has few.
 */
size_t sx_metrics_distinct(const double *value, const unsigned char *has_value, size_t n);

/* ---- Faithfulness: phase (a), the inputs to query ----------------------- */

enum sx_faith_kind {
	SX_FAITH_DELETE, /* j = 1..n: x \ {r_1..r_j} (j = n is the empty review) */
	SX_FAITH_KEEP,   /* j = 0..n-1: x[{r_1..r_j}] (j = 0 is the empty review) */
	SX_FAITH_SINGLE  /* j = 0..n-1: x \ {j}, the token at position j deleted */
};

/*
 * The 3n inputs the faithfulness metrics need, as keep-masks (1 = token kept)
 * of n bytes each: rows [0, n) are DELETE j = 1..n, rows [n, 2n) KEEP
 * j = 0..n-1, rows [2n, 3n) SINGLE j = 0..n-1. Rows repeat (DELETE n and
 * KEEP 0 are both the empty review, DELETE 1 is SINGLE r_1): the caller
 * dedupes. x itself is not among them; its P(pos) is passed separately.
 */
struct sx_faith_plan {
	size_t n;
	int y;                /* the label predicted on x */
	double *imp;          /* owned, n: importance toward y; NULL for a bare ranking */
	size_t *rank;         /* owned, n: r_1..r_n as 0-based positions */
	size_t n_inputs;      /* 3n */
	unsigned char *masks; /* owned, n_inputs x n */
	enum sx_compat compat; /* the definitions sx_metrics_faith applies */
	uint64_t seed;        /* SX_COMPAT_PAPER: seed of the random tie-breaks */
};

#define SX_FAITH_PLAN_INIT { \
	.n = 0, .y = 0, .imp = NULL, .rank = NULL, .n_inputs = 0, .masks = NULL, \
	.compat = SX_COMPAT_NONE, .seed = 0, \
}

/*
 * Plan from an importance vector (ranked with sx_metrics_toward/_rank).
 * y is the label the model predicted on x (0 or 1). n >= 1.
 */
int sx_metrics_plan_init(struct sx_faith_plan *plan, const double *value,
			 const unsigned char *has_value, size_t n, int y, struct sx_err *err);
/*
 * The same under the definitions of compat: SX_COMPAT_PAPER ranks by the
 * signed value (imp = value, whatever y) and breaks exact ties in the order of
 * uniform keys drawn from a stream seeded with seed; SX_COMPAT_NONE is
 * sx_metrics_plan_init (seed unused).
 */
int sx_metrics_plan_init_compat(struct sx_faith_plan *plan, const double *value,
				const unsigned char *has_value, size_t n, int y,
				enum sx_compat compat, uint64_t seed, struct sx_err *err);
/*
 * Plan from a given full ranking (a permutation of 0..n-1). RankDel is NaN
 * for such a plan: there are no importance values to correlate. The plan
 * uses SX_COMPAT_NONE; set plan->compat afterwards to score the given ranking
 * under another compat's formulas.
 */
int sx_metrics_plan_init_ranked(struct sx_faith_plan *plan, const size_t *rank, size_t n, int y,
				struct sx_err *err);
/*
 * Plan of a top-k list list[0..m) (token positions, most important first;
 * out-of-range and repeated entries skipped): the ranking is the listed
 * tokens in the listed order, then the rest by position. Under
 * SX_COMPAT_NONE RankDel is NaN (a bare ranking). Under SX_COMPAT_PAPER the
 * listed tokens are also scored, the first of the l kept ones l, the next
 * l - 1, ..., the last 1, the others 0 (the top-k prompts list the words from
 * the most positive to the least positive: a signed ranking), so that the
 * paper's RankDel correlates those scores with the single-deletion drops,
 * ties broken at random from seed.
 */
int sx_metrics_plan_init_topk(struct sx_faith_plan *plan, const size_t *list, size_t m,
			      size_t n, int y, enum sx_compat compat, uint64_t seed,
			      struct sx_err *err);
void sx_metrics_plan_release(struct sx_faith_plan *plan);
/* Row of input (kind, j) in the plan, with j as documented in enum sx_faith_kind. */
size_t sx_metrics_plan_row(const struct sx_faith_plan *plan, enum sx_faith_kind kind, size_t j);
/* Keep-mask of row i (n bytes), borrowed from the plan. */
const unsigned char *sx_metrics_plan_mask(const struct sx_faith_plan *plan, size_t row);

/* ---- Faithfulness: phase (b), the metrics ------------------------------- */

/*
 * AOPC bins (ERASER): the top 1, 5, 10, 20 and 50 % of the tokens, where
 * "top q" means k = ceil(q n) tokens, at least 1 (and at most n). Rounding up
 * guarantees every bin removes something; a 10-token review has
 * k = 1, 1, 1, 2, 5.
 */
#define SX_AOPC_NBINS 5
#define SX_AOPC_BINS { 0.01, 0.05, 0.10, 0.20, 0.50 }
size_t sx_metrics_aopc_k(double q, size_t n);

/* Under SX_COMPAT_PAPER comp, suff, df_frac and rankdel follow the enum's list. */
struct sx_faith {
	double comp;       /* 1/(n+1) sum_{j=1..n} [p(x) - p(x \ {r_1..r_j})] */
	double suff;       /* 1/(n+1) sum_{j=0..n-1} [p(x) - p(x[{r_1..r_j}])] */
	double df_mit;     /* 1 if x \ {r_1} changes the label, else 0 */
	double df_frac;    /* j/n for the first j whose x \ {r_1..r_j} changes the label, 1 if none */
	double rankdel;    /* Spearman(imp, p(x) - p(x \ {i})); NaN if either is constant */
	double comp_at[SX_AOPC_NBINS]; /* p(x) - p(x \ top k), k = sx_metrics_aopc_k(bin, n) */
	double suff_at[SX_AOPC_NBINS]; /* p(x) - p(x[top k]); 0 when k = n (x[all] is x) */
	double aopc_comp;  /* mean of comp_at */
	double aopc_suff;  /* mean of suff_at */
};

/*
 * p(z) = P(y | z) = P(pos | z) if y = 1, else 1 - P(pos | z). p_pos_x is
 * P(pos | x); p_pos[i] is P(pos) of plan row i. label[i] is the label the
 * model gave on row i (0 or 1, -1 unknown); the label "changes" when it
 * differs from plan->y. DF_MIT and DF_Frac count those changes, except that
 * under SX_COMPAT_PAPER DF_MIT counts P(pos) crossing 0.5, as the paper's
 * code does. label NULL: the label of a row is 1 iff P(pos) > 0.5. A NaN
 * probability or unknown label makes NaN of every metric that needs it (for
 * DF_Frac: one met before the first change).
 */
int sx_metrics_faith(const struct sx_faith_plan *plan, double p_pos_x, const double *p_pos,
		     const signed char *label,
		     struct sx_faith *out, struct sx_err *err);

/* ---- Agreement ---------------------------------------------------------- */

/* k = max(floor(0.2 n), 1): the top-k size of the agreement metrics and top-k prompts. */
size_t sx_metrics_topk_size(size_t n);
/*
 * top[0..k) = the k positions of largest |value| (no value = 0), in
 * descending order of |value|, ties broken by position (left first).
 */
void sx_metrics_topk(const double *value, const unsigned char *has_value, size_t n, size_t k,
		     size_t *top);

/*
 * Agreement of explanations a and b of the same n tokens (Krishna et al.
 * 2022), with T_a, T_b their top-k lists (sx_metrics_topk, k =
 * sx_metrics_topk_size(n)):
 * - feature:     |T_a ∩ T_b| / k
 * - rank:        |{t : T_a[t] == T_b[t]}| / k (same feature at the same rank)
 * - sign:        |{f in T_a ∩ T_b : sign a_f == sign b_f}| / k
 * - signed_rank: |{t : T_a[t] == T_b[t] and the signs agree}| / k
 * - iou:         |T_a ∩ T_b| / |T_a ∪ T_b|
 * - spearman:    Spearman (average ranks) of |a| and |b| over all n tokens;
 *                NaN if either is constant or n < 2
 * - pairwise:    fraction of the n(n-1)/2 pairs (i, j) ordered alike by |a|
 *                and |b|: sign(|a_i| - |a_j|) == sign(|b_i| - |b_j|), a tie
 *                agreeing only with a tie; NaN if n < 2
 * Magnitudes throughout, as Krishna et al. rank features by |importance|;
 * sign is taken as -1, 0 or +1.
 *
 * Ties: tokens of equal |value| may come in any order, every order equally
 * likely and the two explanations' orders independent; feature, rank, sign,
 * signed_rank and iou are their expected values over those orders (exact,
 * not sampled), so no token gains from its position and a tie across rank k
 * shares the remaining places. An explanation whose values are all equal
 * (all zero, say) with n > 1 ranks nothing: every metric is NaN and
 * `undefined` says why (it is NULL otherwise; a static string).
 */
struct sx_agree {
	size_t k;
	double feature, rank, sign, signed_rank, iou, spearman, pairwise;
	const char *undefined;
};

int sx_metrics_agree(const double *a, const unsigned char *a_has, const double *b,
		     const unsigned char *b_has, size_t n, struct sx_agree *out, struct sx_err *err);
/*
 * The same under compat. SX_COMPAT_PAPER follows disagreement.py: a and b
 * ranked by sx_metrics_rank_paper (seeds a_seed, b_seed: those of their
 * faithfulness plans), T_a, T_b the first k of those rankings (signed, not
 * magnitudes); sign and signed_rank count a feature only when a_f b_f > 0;
 * spearman correlates the two rankings (the signed values, ties as broken);
 * pairwise is the share of the pairs the two rankings order alike. Seeds are
 * unused under SX_COMPAT_NONE.
 */
int sx_metrics_agree_compat(const double *a, const unsigned char *a_has, uint64_t a_seed,
			    const double *b, const unsigned char *b_has, uint64_t b_seed, size_t n,
			    enum sx_compat compat, struct sx_agree *out, struct sx_err *err);

/*
 * A top-k self-explanation (list[0..m): distinct positions in the order the
 * model listed them) against a full explanation of the same n tokens:
 * S = the first min(m, k) listed positions, T = top-k of full,
 * feature = |S ∩ T| / k, iou = |S ∩ T| / |S ∪ T| (k = sx_metrics_topk_size(n)),
 * expected over the tie orders of full as in sx_metrics_agree; NaN with
 * `undefined` set when full is constant. Fails on a position >= n or a
 * repeated position.
 */
struct sx_agree_topk {
	size_t k;
	double feature, iou;
	const char *undefined;
};

int sx_metrics_agree_topk(const size_t *list, size_t m, const double *full,
			  const unsigned char *full_has, size_t n, struct sx_agree_topk *out,
			  struct sx_err *err);
/*
 * Two lists (a top-k self-explanation and a ranking from elsewhere, or two
 * rankings) of the same n tokens: S = the first min(ma, k) positions of a,
 * T = the first min(mb, k) of b, feature = |S ∩ T| / k, iou = |S ∩ T| /
 * |S ∪ T|. Fails on a position >= n or a repeated position in either.
 */
int sx_metrics_agree_lists(const size_t *a, size_t ma, const size_t *b, size_t mb, size_t n,
			   struct sx_agree_topk *out, struct sx_err *err);

#endif
