/* --dry-run: the distinct requests and the tokens of every stage, nothing sent. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "selfexp/answers.h"

#include "run.h"

/* Expected completion tokens of an answer under cond for a review of ntok tokens. */
static double completion_estimate(enum sx_cond c, size_t ntok)
{
	if (sx_cond_has_importance(c))
		return 7.0 * (double)ntok + 12.0;
	if (sx_cond_is_topk(c))
		return 4.0 * (double)sx_topk_k(ntok) + 12.0;
	return 8.0;
}

static void estimate_batch(const struct run *run, const struct batch *b, const char *stage,
			   long naive, int upper, struct sx_run_outcome *out)
{
	struct sx_stage_estimate *e;
	struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT;
	/* --prob sample:N: N choices an answer, each billed */
	double choices = run->cfg->prob == SX_PROB_SAMPLE ? (double)run->cfg->gen.n : 1.0;
	size_t i;

	if (out->nest >= SX_MAX_ESTIMATES)
		return;
	e = &out->est[out->nest++];
	snprintf(e->stage, sizeof(e->stage), "%s", stage);
	e->naive = naive;
	e->distinct = upper ? naive : (long)b->n;
	e->upper_bound = upper;
	e->recorded = upper && run->answers ? -1 : 0;
	for (i = 0; i < b->n; i++) {
		if (!upper && run->answers &&
		    sx_answers_find(run->answers, sx_cond_name(b->cond), b->texts[i], strlen(b->texts[i]))) {
			e->recorded++;
			continue; /* answered from the file: nothing sent, no tokens */
		}
		sx_buf_reset(&sys);
		sx_buf_reset(&usr);
		sx_prompt_render(&run->prompts[b->cond], b->texts[i], b->ntok[i], &sys, &usr);
		e->prompt_tokens += ceil((double)(sys.len + usr.len + 32) / 4.0);
		e->completion_tokens += completion_estimate(b->cond, b->ntok[i]) * choices;
	}
	if (upper && b->n) {
		/* scale the sample of distinct texts up to the naive count */
		e->prompt_tokens *= (double)naive / (double)b->n;
		e->completion_tokens *= (double)naive / (double)b->n;
	}
	sx_buf_release(&sys);
	sx_buf_release(&usr);
}

/* The evaluate stage's upper bound: 3n + 1 inputs per explanation with metrics. */
static long evaluate_naive(const struct run *run, enum sx_cond c)
{
	long methods = 0, naive = 0;
	size_t r;
	int m;

	for (m = 0; m < (int)run->nmeth; m++)
		if (run_method_applies(run, m, c) && (m != SX_METHOD_SELF || c != SX_COND_PRED))
			methods++;
	for (r = 0; r < run->nrev; r++)
		naive += methods * (3 * (long)run->ds.reviews[r].ntokens) + 1;
	return naive;
}

static void dry_condition(const struct run *run, enum sx_cond c, struct sx_run_outcome *out)
{
	struct sx_buf text = SX_BUF_INIT;
	struct batch b;
	char stage[48];
	size_t r;

	run_batch_init(&b, c);
	for (r = 0; r < run->nrev; r++)
		run_batch_add_masked(run, &b, &run->ds.reviews[r], NULL, &text);
	snprintf(stage, sizeof(stage), "elicit %s", sx_cond_name(c));
	estimate_batch(run, &b, stage, (long)b.asked, 0, out);
	run_batch_release(&b);

	run_batch_init(&b, run_perturb_cond(run, c));
	for (r = 0; r < run->nrev; r++) {
		struct explain_inputs in;

		run_explain_add(run, &b, &run->ds.reviews[r], &in, &text);
		run_explain_inputs_release(&in);
	}
	snprintf(stage, sizeof(stage), "explain %s", sx_cond_name(c));
	if (run_has_method(run, SX_METHOD_OCCLUSION) || run_has_method(run, SX_METHOD_LIME))
		estimate_batch(run, &b, stage, (long)b.asked, 0, out);
	if (run->cfg->metrics) {
		snprintf(stage, sizeof(stage), "evaluate %s", sx_cond_name(c));
		estimate_batch(run, &b, stage, evaluate_naive(run, c), 1, out);
	}
	run_batch_release(&b);
	sx_buf_release(&text);
}

/*
 * Count the distinct requests of every stage without sending anything, and
 * those of them the --answers files answer. The evaluate stage's inputs
 * depend on the explanations, unknown before the run: its count is the upper
 * bound 3n + 1 per explanation, and what the files answer of it is not known.
 */
void run_dry(struct run *run, struct sx_run_outcome *out)
{
	int c;

	for (c = 0; c < SX_COND_COUNT; c++)
		if (run_has_cond(run, (enum sx_cond)c))
			dry_condition(run, (enum sx_cond)c, out);
}
