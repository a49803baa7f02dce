/*
 * The explain stage: occlusion and LIME for a chunk of reviews of one
 * condition, from the model's answers on perturbed reviews (occlusion.c and
 * lime.c compute the explanations; this file sends their inputs).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/occlusion.h"
#include "selfexp/stats.h"

static size_t lime_sample_count(const struct sx_run_config *cfg, size_t n)
{
	double s;

	if (cfg->lime_samples)
		return (size_t)cfg->lime_samples;
	s = ceil(cfg->lime_factor * (double)n);
	return s < 2 ? 2 : (size_t)s;
}

/* The LIME keep-masks of a review over d features (ns x d, the caller frees them). */
static unsigned char *lime_masks(const struct sx_run_config *cfg, const struct sx_review *rv,
				 size_t d, size_t *ns)
{
	struct sx_rng *rng = sx_rng_new(sx_seed_derive(cfg->seed, "lime", rv->id));
	unsigned char *m;

	*ns = lime_sample_count(cfg, d);
	m = sx_lime_sample(rng, d, *ns);
	sx_rng_free(rng);
	return m;
}

/*
 * The LIME samples of one review, added to b. LIME's features are the tokens,
 * or under --compat paper the \W+ words of the text (in->words), replaced by
 * lime's mask string when removed. No masks when there is no feature.
 */
static void lime_add(const struct run *run, struct batch *b, const struct sx_review *rv,
		     struct explain_inputs *in, struct sx_buf *text)
{
	const struct sx_run_config *cfg = run->cfg;
	const char *mask = cfg->mask_word ? cfg->mask_word : SX_LIME_PAPER_MASK;
	int paper = cfg->compat == SX_COMPAT_PAPER;
	size_t i, d = rv->ntokens, ntok;

	if (paper) {
		run_text(run, rv, NULL, text, &ntok);
		sx_lime_words_split(&in->words, text->buf, text->len);
		d = in->words.nwords;
		if (!d)
			return;
	}
	in->lime_d = d;
	in->lime_masks = lime_masks(cfg, rv, d, &in->lime_ns);
	in->lime = xcalloc(in->lime_ns, sizeof(size_t));
	for (i = 0; i < in->lime_ns; i++) {
		const unsigned char *keep = in->lime_masks + i * d;

		if (paper) {
			sx_lime_words_text(&in->words, keep, mask, text);
			in->lime[i] = run_batch_add(b, text->buf, text->len, rv->ntokens, rv->id);
		} else {
			in->lime[i] = run_batch_add_masked(run, b, rv, keep, text);
		}
	}
}

void run_explain_add(const struct run *run, struct batch *b, const struct sx_review *rv,
		     struct explain_inputs *in, struct sx_buf *text)
{
	size_t i, n = rv->ntokens;

	memset(in, 0, sizeof(*in));
	in->full = run_batch_add_masked(run, b, rv, NULL, text);
	if (run_has_method(run, SX_METHOD_OCCLUSION)) {
		unsigned char *masks = sx_occlusion_masks(n);

		in->occ = xcalloc(n, sizeof(size_t));
		for (i = 0; i < n; i++)
			in->occ[i] = run_batch_add_masked(run, b, rv, masks + i * n, text);
		free(masks);
	}
	if (run_has_method(run, SX_METHOD_LIME))
		lime_add(run, b, rv, in, text);
}

void run_explain_inputs_release(struct explain_inputs *in)
{
	free(in->occ);
	free(in->lime_masks);
	free(in->lime);
	sx_lime_words_release(&in->words);
	memset(in, 0, sizeof(*in));
}

static void take_occlusion(struct item *it, size_t n, const size_t *idx, const double *p)
{
	struct expl *e = &it->m[SX_METHOD_OCCLUSION];
	double *pi = xcalloc(n, sizeof(double));
	size_t i;

	for (i = 0; i < n; i++)
		pi[i] = p[idx[i]];
	e->value = xcalloc(n, sizeof(double));
	e->ok = !sx_occlusion_values(it->p_x, pi, n, e->value);
	if (!e->ok)
		e->reason = xstrdup("a perturbed review got no usable answer");
	free(pi);
}

/*
 * The LIME explanation of one item from the answers p to its samples. Under
 * --compat paper the feature weights go back to the tokens by the paper's
 * word matching.
 */
static void take_lime(const struct sx_run_config *cfg, struct item *it,
		      const struct sx_review *rv, const struct explain_inputs *in, const double *p)
{
	struct expl *e = &it->m[SX_METHOD_LIME];
	struct sx_lime_fit fit = SX_LIME_FIT_INIT;
	size_t d = in->lime_d, ns = in->lime_ns, used = 0, i, n = rv->ntokens;
	unsigned char *m = xmalloc(sx_size_mul(ns, d) + 1);
	double *y = xcalloc(ns, sizeof(double));
	struct sx_err ferr = SX_ERR_INIT;

	/* samples whose answer could not be used are left out of the fit */
	for (i = 0; i < ns; i++) {
		double v = p[in->lime[i]];
		if (!isfinite(v))
			continue;
		memcpy(m + used * d, in->lime_masks + i * d, d);
		y[used++] = v;
	}
	e->samples = ns;
	e->samples_failed = ns - used;
	if (!isfinite(p[in->lime[0]])) {
		e->reason = xstrdup("the unperturbed review got no usable answer");
	} else if ((double)e->samples_failed > RUN_LIME_MAX_FAILED * (double)ns) {
		struct sx_buf why = SX_BUF_INIT;

		sx_buf_addf(&why, "%zu of %zu LIME samples got no usable answer (more than %.0f %%): "
			    "the fit is not used", e->samples_failed, ns, RUN_LIME_MAX_FAILED * 100);
		e->reason = sx_buf_detach(&why, NULL);
	} else if (sx_lime_fit(m, y, used, d, cfg->lime_kernel_width, SX_LIME_ALPHA, &fit, &ferr)) {
		e->reason = xstrdup(ferr.msg);
	} else {
		e->ok = 1;
		if (cfg->compat == SX_COMPAT_PAPER) {
			e->value = xcalloc(n + 1, sizeof(double));
			e->has = xcalloc(n + 1, 1);
			sx_lime_words_to_tokens(&in->words, fit.coef, rv->tokens, n, e->value, e->has);
		} else {
			e->value = fit.coef;
			fit.coef = NULL;
		}
		e->r2 = fit.score;
		e->intercept = fit.intercept;
	}
	sx_lime_fit_release(&fit);
	free(m);
	free(y);
}

/* The explanations of one review from the answers p of the chunk's batch. */
static void take_explanations(const struct run *run, struct item *it, const struct sx_review *rv,
			      const struct explain_inputs *in, const double *p,
			      const signed char *label)
{
	it->p_x = p[in->full];
	it->y_x = label[in->full];
	if (in->occ)
		take_occlusion(it, rv->ntokens, in->occ, p);
	if (in->lime_masks)
		take_lime(run->cfg, it, rv, in, p);
	else if (run_has_method(run, SX_METHOD_LIME) && !it->m[SX_METHOD_LIME].reason)
		it->m[SX_METHOD_LIME].reason =
			xstrdup("no word characters to perturb (lime's \\W+ split)");
}

int run_explain(struct run *run, enum sx_cond c, size_t r0, size_t r1, struct sx_err *err)
{
	struct batch b;
	struct sx_buf text = SX_BUF_INIT;
	struct explain_inputs *in = xcalloc(r1 - r0, sizeof(*in));
	double *p = NULL;
	signed char *label = NULL;
	char stage[64];
	size_t r;
	int rc;

	run_batch_init(&b, run_perturb_cond(run, c));
	for (r = r0; r < r1; r++)
		run_explain_add(run, &b, &run->ds.reviews[r], &in[r - r0], &text);
	snprintf(stage, sizeof(stage), "explain %s", sx_cond_name(c));
	rc = run_batches_send(run, &b, 1, stage, err);
	if (!rc) {
		run_note_failures(run, RUN_EXPLAIN, c, &b);
		p = run_batch_probs(run, &b, &label);
		for (r = r0; r < r1; r++)
			take_explanations(run, run_item(run, r, c), &run->ds.reviews[r], &in[r - r0], p,
					  label);
	}
	for (r = r0; r < r1; r++)
		run_explain_inputs_release(&in[r - r0]);
	free(in);
	free(p);
	free(label);
	sx_buf_release(&text);
	run_batch_release(&b);
	return rc;
}

/* ---------------------------------------------------------------- explanations from files */

/*
 * One item's explanation by file method j: the line for (review, method,
 * condition), its values turned to the run's sign convention (toward the
 * positive label) or its ranking as a list (like a top-k list).
 */
static void take_file(const struct run *run, struct item *it, size_t r, enum sx_cond c, size_t j)
{
	const struct sx_expl_entry *x = sx_explanations_find(&run->xp, r, j, c);
	struct expl *e = &it->m[SX_METHOD_COUNT + j];
	size_t i, n = run->ds.reviews[r].ntokens;
	double flip = 1;

	if (!x) {
		e->reason = xstrdup("no explanation in the explanations files");
		return;
	}
	if (x->ranking) {
		e->ok = 1;
		e->list = x->ranking;
		e->nlist = x->nranking;
		return;
	}
	if (x->sign == SX_EXPL_SIGN_PREDICTED) {
		int y = it->answered ? run_answer_label(run->cfg, &it->parse, it->has_p ? it->p_pos : NAN)
				     : -1;

		if (y < 0) {
			e->reason = xstrdup("the values are toward the predicted label (\"sign\": "
					    "\"predicted\") but the answer gave no usable prediction");
			return;
		}
		flip = y ? 1 : -1;
	}
	e->ok = 1;
	e->value = xcalloc(n + 1, sizeof(double));
	for (i = 0; i < n; i++)
		e->value[i] = flip < 0 && x->values[i] != 0 ? -x->values[i] : x->values[i];
}

void run_take_files(struct run *run)
{
	size_t r, j;
	int c;

	for (r = 0; r < run->nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if (run_has_cond(run, (enum sx_cond)c))
				for (j = 0; j < run->xp.nmethods; j++)
					if (run_method_applies(run, (int)(SX_METHOD_COUNT + j), (enum sx_cond)c))
						take_file(run, run_item(run, r, (enum sx_cond)c), r,
							  (enum sx_cond)c, j);
}
