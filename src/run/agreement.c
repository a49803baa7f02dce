/* Agreement between the explanations of each review (no queries). */
#include "run.h"
#include "selfexp/alloc.h"

static void add_pair(struct run *run, size_t *alloc, int a, int b)
{
	SX_GROW(run->pair_a, alloc[0], run->npairs + 1);
	SX_GROW(run->pair_b, alloc[1], run->npairs + 1);
	run->pair_a[run->npairs] = a;
	run->pair_b[run->npairs++] = b;
}

void run_pairs_init(struct run *run)
{
	size_t alloc[2] = { 0, 0 };
	int a, b;

	add_pair(run, alloc, SX_METHOD_SELF, SX_METHOD_OCCLUSION);
	add_pair(run, alloc, SX_METHOD_SELF, SX_METHOD_LIME);
	add_pair(run, alloc, SX_METHOD_OCCLUSION, SX_METHOD_LIME);
	for (b = SX_METHOD_COUNT; b < (int)run->nmeth; b++)
		for (a = 0; a < b; a++)
			if (a < SX_METHOD_COUNT)
				add_pair(run, alloc, a, b);
	for (a = SX_METHOD_COUNT; a < (int)run->nmeth; a++)
		for (b = a + 1; b < (int)run->nmeth; b++)
			add_pair(run, alloc, a, b);
}

static void agree_item(const struct run *run, const struct sx_review *rv, enum sx_cond c,
		       struct item *it)
{
	size_t n = rv->ntokens, q;

	for (q = 0; q < run->npairs; q++) {
		int ma = run->pair_a[q], mb = run->pair_b[q];
		const struct expl *a = &it->m[ma], *b = &it->m[mb];

		if (!a->ok || !b->ok)
			continue;
		if (a->list && b->list) {
			it->has_agree[q] = !sx_metrics_agree_lists(a->list, a->nlist, b->list, b->nlist, n,
								   &it->agree_topk[q], NULL);
		} else if (a->list || b->list) {
			const struct expl *l = a->list ? a : b, *f = a->list ? b : a;

			it->has_agree[q] = !sx_metrics_agree_topk(l->list, l->nlist, f->value, f->has, n,
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
