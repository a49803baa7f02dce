/* P(positive | x) from an answer, by the configured source (DESIGN.md section 5). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "selfexp/alloc.h"

const char *run_prob_name(const struct sx_run_config *cfg)
{
	static char buf[32];

	if (cfg->prob == SX_PROB_SAMPLE) {
		snprintf(buf, sizeof(buf), "sample:%ld", cfg->gen.n);
		return buf;
	}
	return cfg->prob == SX_PROB_LOGPROB ? "logprob" : "verbal";
}

/*
 * The frequency of label 1 over the choices whose prediction parses; unknown
 * when the answer has fewer choices than asked for (a server that ignores n
 * would otherwise make every P(pos) 0 or 1).
 */
static int sample_p_pos(const struct sx_chat_answer *a, enum sx_cond cond, long n, double *p)
{
	size_t i, used = 0, pos = 0;

	if (a->nchoices < (size_t)n)
		return -1;
	for (i = 0; i < a->nchoices; i++) {
		struct sx_parse_result sp = SX_PARSE_RESULT_INIT;

		sx_parse_answer(cond, a->choices[i], strlen(a->choices[i]), NULL, 0, &sp);
		if (sp.has_prediction && sx_parse_status_usable_prediction(sp.status)) {
			used++;
			pos += sp.label == 1;
		}
		sx_parse_result_release(&sp);
	}
	if (!used)
		return -1;
	*p = (double)pos / (double)used;
	return 0;
}

/*
 * P(pos) from the logprobs of the label token of the pair the parser took
 * (found by its offset in the answer, never the first "0" or "1" of the
 * answer, which in an E-P answer is a digit of an importance value). When
 * the other label is not among the token's top_logprobs, the mass it does
 * not give the stated label goes to the other one (*assumed is set).
 */
static int logprob_p_pos(const struct sx_chat_answer *a, const struct sx_parse_result *pr,
			 double *p, int *assumed)
{
	double l0, l1, m;

	if (pr->label_at == SIZE_MAX || sx_chat_label_logprobs(a, pr->label_at, &l0, &l1))
		return -1;
	if (isfinite(l0) != isfinite(l1)) {
		double own = isfinite(l0) ? l0 : l1;
		double rest = own < 0 ? log(-expm1(own)) : -INFINITY;

		if (isfinite(l0))
			l1 = rest;
		else
			l0 = rest;
		if (assumed)
			*assumed = 1;
	}
	if (isnan(l0) || isnan(l1) || (l0 == -INFINITY && l1 == -INFINITY))
		return -1;
	m = l0 > l1 ? l0 : l1;
	*p = exp(l1 - m) / (exp(l0 - m) + exp(l1 - m));
	return 0;
}

int run_answer_p_pos(const struct sx_run_config *cfg, const struct sx_chat_answer *a,
		     const struct sx_parse_result *pr, double *p, int *assumed)
{
	if (cfg->prob == SX_PROB_SAMPLE)
		return sample_p_pos(a, pr->cond, cfg->gen.n, p);
	if (cfg->prob == SX_PROB_LOGPROB)
		return logprob_p_pos(a, pr, p, assumed);
	if (!pr->has_prediction || !sx_parse_status_usable_prediction(pr->status))
		return -1;
	*p = pr->label == 1 ? pr->confidence : 1.0 - pr->confidence;
	return 0;
}

int run_paper_substitutes(const struct sx_run_config *cfg, const struct sx_parse_result *pr)
{
	return cfg->compat == SX_COMPAT_PAPER && cfg->prob == SX_PROB_VERBAL &&
	       !(pr->has_prediction && sx_parse_status_usable_prediction(pr->status));
}

int run_answer_label(const struct sx_run_config *cfg, const struct sx_parse_result *pr, double p)
{
	int stated = pr->has_prediction && sx_parse_status_usable_prediction(pr->status)
			     ? pr->label : -1;

	if (cfg->prob == SX_PROB_VERBAL || isnan(p))
		return isnan(p) ? -1 : stated;
	if (p > 0.5)
		return 1;
	if (p < 0.5)
		return 0;
	return stated;
}

double *run_batch_probs(struct run *run, const struct batch *b, signed char **label)
{
	double *p = xcalloc(b->n ? b->n : 1, sizeof(double));
	signed char *l = xcalloc(b->n ? b->n : 1, 1);
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct sx_result *res = &b->res[i];
		struct sx_parse_result pr;

		p[i] = NAN;
		l[i] = -1;
		if (res->status != SX_RESULT_OK)
			continue;
		memset(&pr, 0, sizeof(pr));
		sx_parse_answer(b->cond, res->answer.content, strlen(res->answer.content), NULL, 0,
				&pr);
		{
			int assumed = 0;

			if (run_answer_p_pos(run->cfg, &res->answer, &pr, &p[i], &assumed))
				p[i] = NAN;
			run->logprob_assumed += assumed;
		}
		l[i] = (signed char)run_answer_label(run->cfg, &pr, p[i]);
		if (run_paper_substitutes(run->cfg, &pr)) {
			p[i] = 0.5;
			l[i] = 0;
			run->substituted[1]++;
		}
		sx_parse_result_release(&pr);
	}
	if (label)
		*label = l;
	else
		free(l);
	return p;
}
