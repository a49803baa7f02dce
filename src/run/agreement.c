/* Agreement between the explanations of each review (no queries). */
#include "run.h"

const enum sx_method run_pair_a[P_COUNT] = { SX_METHOD_SELF, SX_METHOD_SELF, SX_METHOD_OCCLUSION };
const enum sx_method run_pair_b[P_COUNT] = { SX_METHOD_OCCLUSION, SX_METHOD_LIME, SX_METHOD_LIME };

static void agree_item(const struct run *run, const struct sx_review *rv, enum sx_cond c,
		       struct item *it)
{
	size_t n = rv->ntokens;
	int q;

	for (q = 0; q < P_COUNT; q++) {
		enum sx_method ma = run_pair_a[q], mb = run_pair_b[q];
		const struct expl *a = &it->m[ma], *b = &it->m[mb];

		if (!a->ok || !b->ok)
			continue;
		if (a->list) {
			it->has_agree[q] = !sx_metrics_agree_topk(a->list, a->nlist, b->value, b->has, n,
								  &it->agree_topk[q], NULL);
		} else {
			it->has_agree[q] = !sx_metrics_agree_compat(
				a->value, a->has, run_tiebreak_seed(run, rv, c, ma), b->value, b->has,
				run_tiebreak_seed(run, rv, c, mb), n, run->cfg->compat, &it->agree[q], NULL);
		}
	}
}

void run_agreement(struct run *run, enum sx_cond c)
{
	size_t r;

	for (r = 0; r < run->nrev; r++)
		agree_item(run, &run->ds.reviews[r], c, run_item(run, r, c));
}
