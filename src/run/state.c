/*
 * What every stage asks of the run's state: an item, whether a condition
 * or a method is part of the run, the prompt of perturbed inputs, and the
 * seeds of the paper's tie-breaks. The stages depend on this file and the
 * driver on the stages, never the other way.
 */
#include <stdio.h>
#include <stdlib.h>

#include "run.h"
#include "selfexp/stats.h"

struct item *run_item(const struct run *run, size_t r, enum sx_cond c)
{
	if (run->slot[c] < 0) {
		fprintf(stderr, "selfexp: internal error: condition %d is not part of the run\n", (int)c);
		abort();
	}
	return &run->items[r * run->nslot + (size_t)run->slot[c]];
}

int run_has_cond(const struct run *run, enum sx_cond c)
{
	return !!(run->cfg->conditions & (1u << c));
}

int run_has_method(const struct run *run, int m)
{
	if (m >= SX_METHOD_COUNT)
		return 1;
	return !!(run->cfg->explainers & sx_methods[m].bit);
}

const char *run_method_name(const struct run *run, int m, enum sx_cond c)
{
	if (m >= SX_METHOD_COUNT)
		return run->xp.methods[m - SX_METHOD_COUNT].name;
	return sx_method_record_name((enum sx_method)m, c);
}

int run_method_applies(const struct run *run, int m, enum sx_cond c)
{
	if (m >= SX_METHOD_COUNT)
		return !!(run->xp.methods[m - SX_METHOD_COUNT].conditions & (1u << c));
	return run_has_method(run, m);
}

int run_pair_topk(const struct run *run, const struct item *it, size_t q)
{
	return it->m[run->pair_a[q]].list || it->m[run->pair_b[q]].list;
}

enum sx_cond run_perturb_cond(const struct run *run, enum sx_cond c)
{
	switch (run->cfg->perturb_pred) {
	case SX_PERTURB_PRED:
		return SX_COND_PRED;
	case SX_PERTURB_EP_PE:
		return c == SX_COND_EP_TOPK ? SX_COND_EP : c == SX_COND_PE_TOPK ? SX_COND_PE : c;
	default:
		return c;
	}
}

/*
 * Seed of the paper's random tie-breaks for one explanation: from the run
 * seed, the review id, the condition and the method, so it depends on
 * nothing else (order, concurrency, sharding).
 */
uint64_t run_tiebreak_seed(const struct run *run, const struct sx_review *rv, enum sx_cond c,
			   int m)
{
	char purpose[96];

	snprintf(purpose, sizeof(purpose), "paper-ties/%s/%s", sx_cond_name(c),
		 m < SX_METHOD_COUNT ? sx_methods[m].name : run->xp.methods[m - SX_METHOD_COUNT].name);
	return sx_seed_derive(run->cfg->seed, purpose, rv->id);
}
