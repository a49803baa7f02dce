/*
 * The evaluate stage: for every explanation of a chunk of reviews, the
 * deletion and keep-only inputs its faithfulness metrics need, queried, and
 * the metrics (metrics.c computes them).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/stats.h"

/* The faithfulness plan of one explanation; -1 (err set) when there is none. */
static int make_plan(const struct run *run, const struct sx_review *rv, enum sx_cond c,
		     const struct item *it, int m, int y, struct sx_faith_plan *plan,
		     struct sx_err *err)
{
	const struct expl *e = &it->m[m];

	if (e->list)
		return sx_metrics_plan_init_topk(plan, e->list, e->nlist, rv->ntokens, y,
						 run->cfg->compat, run_tiebreak_seed(run, rv, c, m), err);
	return sx_metrics_plan_init_compat(plan, e->value, e->has, rv->ntokens, y, run->cfg->compat,
					   run_tiebreak_seed(run, rv, c, m), err);
}

/* The plans of one review's explanations, and where their inputs are in the batch. */
struct review_plans {
	struct sx_faith_plan *plan;   /* owned, run->nmeth */
	size_t **idx;                 /* owned, run->nmeth; idx[m] NULL = no metrics for m */
};

static void add_plans(const struct run *run, struct batch *b, enum sx_cond c, size_t r,
		      struct review_plans *rp, struct sx_buf *text)
{
	const struct sx_review *rv = &run->ds.reviews[r];
	struct item *it = run_item(run, r, c);
	size_t i, n = rv->ntokens;
	int m;

	rp->plan = xcalloc(run->nmeth, sizeof(*rp->plan));
	rp->idx = xcalloc(run->nmeth, sizeof(*rp->idx));
	for (m = 0; m < (int)run->nmeth; m++) {
		struct sx_faith_plan *plan = &rp->plan[m];
		struct sx_err perr = SX_ERR_INIT;

		if (!it->m[m].ok)
			continue;
		if (!isfinite(it->p_x) || it->y_x < 0) {
			it->m[m].faith_reason = xstrdup("the unperturbed review got no usable answer");
			continue;
		}
		if (make_plan(run, rv, c, it, m, it->y_x, plan, &perr)) {
			it->m[m].faith_reason = xstrdup(perr.msg);
			continue;
		}
		rp->idx[m] = xcalloc(plan->n_inputs + 1, sizeof(size_t));
		for (i = 0; i < plan->n_inputs; i++)
			rp->idx[m][i] = run_batch_add_masked(run, b, rv, plan->masks + i * n, text);
	}
}

static void take_metrics(const struct run *run, struct item *it, const struct review_plans *rp,
			 const double *p, const signed char *label)
{
	signed char *ll;
	double *pp;
	size_t i;
	int m;

	for (m = 0; m < (int)run->nmeth; m++) {
		const struct sx_faith_plan *plan = &rp->plan[m];
		struct sx_err ferr = SX_ERR_INIT;

		if (!rp->idx[m])
			continue;
		pp = xcalloc(plan->n_inputs + 1, sizeof(double));
		ll = xcalloc(plan->n_inputs + 1, 1);
		it->m[m].inputs = plan->n_inputs;
		for (i = 0; i < plan->n_inputs; i++) {
			pp[i] = p[rp->idx[m][i]];
			ll[i] = label[rp->idx[m][i]];
			it->m[m].inputs_missing += isnan(pp[i]) || ll[i] < 0;
		}
		if (sx_metrics_faith(plan, it->p_x, pp, ll, &it->m[m].faith, &ferr))
			it->m[m].faith_reason = xstrdup(ferr.msg);
		else
			it->m[m].has_faith = 1;
		free(pp);
		free(ll);
	}
}

int run_evaluate(struct run *run, enum sx_cond c, size_t r0, size_t r1, struct sx_err *err)
{
	struct batch b;
	struct sx_buf text = SX_BUF_INIT;
	struct review_plans *rp = xcalloc(r1 - r0, sizeof(*rp));
	double *p = NULL;
	signed char *label = NULL;
	char stage[64];
	size_t r;
	int rc, m;

	run_batch_init(&b, run_perturb_cond(run, c));
	for (r = r0; r < r1; r++)
		add_plans(run, &b, c, r, &rp[r - r0], &text);
	snprintf(stage, sizeof(stage), "evaluate %s", sx_cond_name(c));
	rc = run_batches_send(run, &b, 1, stage, err);
	if (!rc) {
		run_note_failures(run, RUN_EVALUATE, c, &b);
		p = run_batch_probs(run, &b, &label);
		for (r = r0; r < r1; r++)
			take_metrics(run, run_item(run, r, c), &rp[r - r0], p, label);
	}
	for (r = 0; r < r1 - r0; r++) {
		for (m = 0; m < (int)run->nmeth; m++) {
			sx_metrics_plan_release(&rp[r].plan[m]);
			free(rp[r].idx[m]);
		}
		free(rp[r].plan);
		free(rp[r].idx);
	}
	free(rp);
	free(p);
	free(label);
	sx_buf_release(&text);
	run_batch_release(&b);
	return rc;
}
