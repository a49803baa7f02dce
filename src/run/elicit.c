/* The elicit stage: every review under every condition's prompt, parsed. */
#include <string.h>

#include "run.h"
#include "selfexp/alloc.h"

/* The answers of batch b (condition b->cond) into the items; slot[r] is review r's text. */
static void take_answers(struct run *run, const struct batch *b, const size_t *slot)
{
	enum sx_cond c = b->cond;
	size_t r;

	for (r = 0; r < run->nrev; r++) {
		const struct sx_review *rv = &run->ds.reviews[r];
		struct sx_result *res = &b->res[slot[r]];
		struct item *it = run_item(run, r, c);

		if (res->status != SX_RESULT_OK) {
			it->reason = xstrdup(res->reason ? res->reason : "no answer");
			continue;
		}
		it->answered = 1;
		it->answer = xstrdup(res->answer.content);
		sx_parse_answer(c, it->answer, strlen(it->answer), rv->tokens, rv->ntokens, &it->parse);
		if (run->cfg->compat == SX_COMPAT_PAPER)
			sx_parse_align_first_exact(&it->parse, rv->tokens, rv->ntokens);
		{
			int assumed = 0;

			it->has_p = !run_answer_p_pos(run->cfg, &res->answer, &it->parse, &it->p_pos,
						      &assumed);
			run->logprob_assumed += assumed;
		}
		if (run_paper_substitutes(run->cfg, &it->parse)) {
			it->substituted = 1;
			it->has_p = 1;
			it->p_pos = 0.5;
			it->parse.label = 0;
			it->parse.confidence = 0.5;
			run->substituted[0]++;
		}
	}
}

/* Every condition's prompt for every review, in one engine call. */
int run_elicit(struct run *run, struct sx_err *err)
{
	struct sx_buf text = SX_BUF_INIT, stage = SX_BUF_INIT;
	struct batch bs[SX_COND_COUNT];
	size_t *slots[SX_COND_COUNT];
	size_t nb = 0, k, r;
	int c, rc;

	sx_buf_adds(&stage, "elicit ");
	for (c = 0; c < SX_COND_COUNT; c++) {
		if (!run_has_cond(run, (enum sx_cond)c))
			continue;
		run_batch_init(&bs[nb], (enum sx_cond)c);
		slots[nb] = xcalloc(run->nrev ? run->nrev : 1, sizeof(size_t));
		for (r = 0; r < run->nrev; r++)
			slots[nb][r] = run_batch_add_masked(run, &bs[nb], &run->ds.reviews[r], NULL, &text);
		sx_buf_addf(&stage, "%s%s", nb ? "," : "", sx_cond_name((enum sx_cond)c));
		nb++;
	}
	rc = run_batches_send(run, bs, nb, stage.buf, err);
	for (k = 0; k < nb; k++) {
		if (!rc) {
			run_note_failures(run, RUN_ELICIT, bs[k].cond, &bs[k]);
			take_answers(run, &bs[k], slots[k]);
		}
		free(slots[k]);
		run_batch_release(&bs[k]);
	}
	sx_buf_release(&text);
	sx_buf_release(&stage);
	return rc;
}

/* The self-explanation of an elicited item: its importance vector or its top-k list. */
static void take_self(struct item *it, enum sx_cond c)
{
	struct expl *e = &it->m[SX_METHOD_SELF];

	if (!it->answered) {
		e->reason = xstrdup("no answer");
		return;
	}
	if (sx_cond_has_importance(c)) {
		if (it->parse.values && it->parse.coverage > 0) {
			e->ok = 1;
			e->value = xcalloc(it->parse.ntokens + 1, sizeof(double));
			memcpy(e->value, it->parse.values, it->parse.ntokens * sizeof(double));
			e->has = xcalloc(it->parse.ntokens + 1, 1);
			memcpy(e->has, it->parse.has_value, it->parse.ntokens);
		} else {
			e->reason = xstrdup("no importance list could be parsed");
		}
	} else if (sx_cond_is_topk(c)) {
		if (it->parse.ntopk) {
			e->ok = 1;
			e->list = it->parse.topk;
			e->nlist = it->parse.ntopk;
		} else {
			e->reason = xstrdup("no top-k list could be parsed");
		}
	}
}

void run_take_self(struct run *run)
{
	size_t r;
	int c;

	if (!run_has_method(run, SX_METHOD_SELF))
		return;
	for (r = 0; r < run->nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if (run_has_cond(run, (enum sx_cond)c))
				take_self(run_item(run, r, (enum sx_cond)c), (enum sx_cond)c);
}
