#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/lime.h"
#include "selfexp/metrics.h"
#include "selfexp/parse.h"
#include "selfexp/pipeline.h"
#include "selfexp/prompt.h"
#include "selfexp/stats.h"
#include "selfexp/strmap.h"
#include "selfexp/version.h"

/*
 * One (review, condition) elicitation: the answer to the condition's prompt
 * on the unperturbed review, parsed.
 */
/* Reviews whose explain and evaluate inputs are built and queried together. */
#define CHUNK_REVIEWS 32
/* records.jsonl goes to its file in pieces of about this size, not held whole. */
#define RECORDS_FLUSH_BYTES 65536

/* The explanations of one (review, condition); M_SELF is `topk` for top-k conditions. */
enum method { M_SELF, M_OCC, M_LIME, M_COUNT };
/* Pairs of methods compared by the agreement metrics. */
enum pair { P_SELF_OCC, P_SELF_LIME, P_OCC_LIME, P_COUNT };
static const int pair_a[P_COUNT] = { M_SELF, M_SELF, M_OCC };
static const int pair_b[P_COUNT] = { M_OCC, M_LIME, M_LIME };

struct expl {
	int ok;                  /* an importance vector (or top-k list) exists */
	char *reason;            /* owned; why not, when not ok and attempted */
	double *value;           /* owned, ntokens; NULL for top-k */
	unsigned char *has;      /* owned, ntokens; NULL = every value present */
	size_t *list;            /* top-k: borrowed from the parse result */
	size_t nlist;
	double r2, intercept;    /* LIME surrogate */
	size_t samples, samples_failed;
	int has_faith;
	struct sx_faith faith;
	char *faith_reason;      /* owned; why no metrics */
};

struct item {
	int answered;                  /* the engine returned an answer */
	char *answer;                  /* owned; raw answer text */
	char *reason;                  /* owned; why there is no answer */
	struct sx_parse_result parse;  /* owned */
	int has_p;                     /* p_pos is known */
	double p_pos;                  /* P(positive | x) from the probability source */
	double p_x;                    /* P(positive | x) under the perturbation prompt, NaN if unknown */
	struct expl m[M_COUNT];
	int has_agree[P_COUNT];
	struct sx_agree agree[P_COUNT];
	struct sx_agree_topk agree_topk[P_COUNT]; /* top-k conditions: pairs with M_SELF */
};

struct ctx {
	const struct sx_run_config *cfg;
	struct sx_dataset ds;
	size_t nrev;
	struct sx_prompt prompts[SX_COND_COUNT];
	int have_prompt[SX_COND_COUNT];
	struct sx_engine *engine;
	struct item *items;            /* nrev x nslot: the enabled conditions only */
	int slot[SX_COND_COUNT];       /* a condition's place in a review's items, -1 = not run */
	size_t nslot;
	long naive;                    /* requests the stages asked for before any sharing */
	struct sx_buf records;         /* records.jsonl lines not yet written to rec_fd */
	int rec_fd;                    /* staged records.jsonl, written as records are made */
	int rec_error;                 /* errno of the first failed write to rec_fd */
	time_t started;
};

static volatile sig_atomic_t interrupted;
static struct sx_engine *volatile running_engine;

void sx_run_interrupt(void)
{
	interrupted = 1;
	if (running_engine)
		sx_engine_interrupt(running_engine);
}

void sx_run_config_init(struct sx_run_config *cfg)
{
	static const struct sx_gen_params gen = SX_GEN_PARAMS_INIT;
	static const struct sx_engine_config eng = SX_ENGINE_CONFIG_INIT;

	memset(cfg, 0, sizeof(*cfg));
	cfg->conditions = (1u << SX_COND_EP) | (1u << SX_COND_PE);
	cfg->explainers = SX_EXPLAIN_SELF | SX_EXPLAIN_OCCLUSION | SX_EXPLAIN_LIME;
	cfg->seed = 0;
	cfg->prob = SX_PROB_VERBAL;
	cfg->gen = gen;
	cfg->engine = eng;
	cfg->lime_factor = 10.0;
	cfg->lime_kernel_width = 25.0;
	cfg->metrics = 1;
	cfg->bootstrap = 1000;
}

static struct item *item_at(struct ctx *x, size_t r, enum sx_cond c)
{
	if (x->slot[c] < 0) {
		fprintf(stderr, "selfexp: internal error: condition %d is not part of the run\n", (int)c);
		abort();
	}
	return &x->items[r * x->nslot + (size_t)x->slot[c]];
}

/* ---------------------------------------------------------------- texts */

/* The review with only the tokens where keep[i] (NULL = all), joined by single spaces. */
static void build_text(const struct ctx *x, const struct sx_review *rv, const unsigned char *keep,
		       struct sx_buf *out, size_t *ntok)
{
	size_t i, n = 0;

	sx_buf_reset(out);
	for (i = 0; i < rv->ntokens; i++) {
		const char *tok = rv->tokens[i];

		if (keep && !keep[i]) {
			if (!x->cfg->mask_word)
				continue;
			tok = x->cfg->mask_word;
		}
		if (n++)
			sx_buf_addch(out, ' ');
		sx_buf_adds(out, tok);
	}
	*ntok = n;
}

/* ---------------------------------------------------------------- queries */

/*
 * A batch of texts to send under one prompt. Identical texts are kept once;
 * slot[i] maps the i-th text asked for to its unique entry.
 */
struct batch {
	enum sx_cond cond;
	struct sx_strmap seen;
	char **texts;      /* owned, unique */
	size_t *ntok;      /* tokens of each unique text */
	size_t n, alloc, ntok_alloc;
	size_t asked;      /* texts asked for, duplicates included */
	struct sx_result *res;  /* owned, one per unique text after batch_run */
};

static void batch_init(struct batch *b, enum sx_cond cond)
{
	memset(b, 0, sizeof(*b));
	b->cond = cond;
}

/* Add a text; returns its unique index. */
static size_t batch_add(struct batch *b, const char *text, size_t len, size_t ntok)
{
	size_t idx = b->n;

	b->asked++;
	if (sx_strmap_put(&b->seen, text, len, &idx))
		return idx;
	SX_GROW(b->texts, b->alloc, b->n + 1);
	SX_GROW(b->ntok, b->ntok_alloc, b->n + 1);
	b->texts[b->n] = xstrndup(text, len);
	b->ntok[b->n] = ntok;
	return b->n++;
}

static void batch_release(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->texts[i]);
		if (b->res)
			sx_result_release(&b->res[i]);
	}
	free(b->texts);
	free(b->ntok);
	free(b->res);
	sx_strmap_release(&b->seen);
	memset(b, 0, sizeof(*b));
}

/*
 * Send every unique text of the nb batches through the engine in one call,
 * so that the tail of one batch overlaps the start of the next.
 */
static int batches_run(struct ctx *x, struct batch *bs, size_t nb, const char *stage,
		       struct sx_err *err)
{
	struct sx_request *reqs;
	struct sx_result *res;
	struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT, body = SX_BUF_INIT;
	size_t i, k, n = 0, at;
	int rc;

	for (k = 0; k < nb; k++)
		n += bs[k].n;
	reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	res = xcalloc(n ? n : 1, sizeof(*res));
	for (k = 0, at = 0; k < nb; k++) {
		const struct sx_prompt *p = &x->prompts[bs[k].cond];

		x->naive += (long)bs[k].asked;
		for (i = 0; i < bs[k].n; i++, at++) {
			sx_buf_reset(&sys);
			sx_buf_reset(&usr);
			sx_buf_reset(&body);
			sx_prompt_render(p, bs[k].texts[i], bs[k].ntok[i], &sys, &usr);
			sx_chat_request_body(&x->cfg->gen, sys.buf, usr.buf, &body);
			/* an exact copy: a grown buffer would hold up to twice the body, for every body */
			reqs[at].body = xstrndup(body.buf, body.len);
			reqs[at].len = body.len;
		}
	}
	rc = n ? sx_engine_run(x->engine, reqs, n, res, stage, err) : 0;
	for (k = 0, at = 0; k < nb; k++) {
		bs[k].res = xcalloc(bs[k].n ? bs[k].n : 1, sizeof(*bs[k].res));
		for (i = 0; i < bs[k].n; i++, at++)
			bs[k].res[i] = res[at]; /* moved */
	}
	for (i = 0; i < n; i++)
		free(reqs[i].body);
	free(reqs);
	free(res);
	sx_buf_release(&sys);
	sx_buf_release(&usr);
	sx_buf_release(&body);
	return rc;
}

static int batch_run(struct ctx *x, struct batch *b, const char *stage, struct sx_err *err)
{
	return batches_run(x, b, 1, stage, err);
}

static const char *prob_name(const struct sx_run_config *cfg)
{
	static char buf[32];

	if (cfg->prob == SX_PROB_SAMPLE) {
		snprintf(buf, sizeof(buf), "sample:%ld", cfg->gen.n);
		return buf;
	}
	return cfg->prob == SX_PROB_LOGPROB ? "logprob" : "verbal";
}

/* P(positive) of an answer under the configured source; -1 when unknown. */
static int answer_p_pos(const struct ctx *x, const struct sx_chat_answer *a,
			const struct sx_parse_result *pr, double *p)
{
	if (x->cfg->prob == SX_PROB_SAMPLE) {
		size_t i, used = 0, pos = 0;

		for (i = 0; i < a->nchoices; i++) {
			struct sx_parse_result sp = SX_PARSE_RESULT_INIT;

			sx_parse_answer(pr->cond, a->choices[i], strlen(a->choices[i]), NULL, 0, &sp);
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
	if (x->cfg->prob == SX_PROB_LOGPROB) {
		double l0 = a->logprob_0, l1 = a->logprob_1;

		if (isfinite(l0) && isfinite(l1) && (l0 != 0.0 || l1 != 0.0)) {
			double m = l0 > l1 ? l0 : l1;
			*p = exp(l1 - m) / (exp(l0 - m) + exp(l1 - m));
			return 0;
		}
		return -1;
	}
	if (!pr->has_prediction || !sx_parse_status_usable_prediction(pr->status))
		return -1;
	*p = pr->label == 1 ? pr->confidence : 1.0 - pr->confidence;
	return 0;
}

/* ---------------------------------------------------------------- stages */

static void take_answers(struct ctx *x, const struct batch *b, const size_t *slot)
{
	enum sx_cond c = b->cond;
	size_t r;

	for (r = 0; r < x->nrev; r++) {
		const struct sx_review *rv = &x->ds.reviews[r];
		struct sx_result *res = &b->res[slot[r]];
		struct item *it = item_at(x, r, c);

		if (res->status != SX_RESULT_OK) {
			it->reason = xstrdup(res->reason ? res->reason : "no answer");
			continue;
		}
		it->answered = 1;
		it->answer = xstrdup(res->answer.content);
		sx_parse_answer(c, it->answer, strlen(it->answer), rv->tokens, rv->ntokens, &it->parse);
		it->has_p = !answer_p_pos(x, &res->answer, &it->parse, &it->p_pos);
	}
}

/* Every condition's prompt for every review, in one engine call. */
static int stage_elicit(struct ctx *x, struct sx_err *err)
{
	struct sx_buf text = SX_BUF_INIT, stage = SX_BUF_INIT;
	struct batch bs[SX_COND_COUNT];
	size_t *slots[SX_COND_COUNT];
	size_t nb = 0, k, r, ntok;
	int c, rc;

	sx_buf_adds(&stage, "elicit ");
	for (c = 0; c < SX_COND_COUNT; c++) {
		if (!(x->cfg->conditions & (1u << c)))
			continue;
		batch_init(&bs[nb], (enum sx_cond)c);
		slots[nb] = xcalloc(x->nrev ? x->nrev : 1, sizeof(size_t));
		for (r = 0; r < x->nrev; r++) {
			build_text(x, &x->ds.reviews[r], NULL, &text, &ntok);
			slots[nb][r] = batch_add(&bs[nb], text.buf, text.len, ntok);
		}
		sx_buf_addf(&stage, "%s%s", nb ? "," : "", sx_cond_name((enum sx_cond)c));
		nb++;
	}
	rc = batches_run(x, bs, nb, stage.buf, err);
	for (k = 0; k < nb; k++) {
		if (!rc)
			take_answers(x, &bs[k], slots[k]);
		free(slots[k]);
		batch_release(&bs[k]);
	}
	sx_buf_release(&text);
	sx_buf_release(&stage);
	return rc;
}

/* P(positive) of every unique text of a batch that has run; NaN where unknown. */
static double *batch_probs(struct ctx *x, struct batch *b)
{
	double *p = xcalloc(b->n ? b->n : 1, sizeof(double));
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct sx_result *res = &b->res[i];
		struct sx_parse_result pr;

		p[i] = NAN;
		if (res->status != SX_RESULT_OK)
			continue;
		memset(&pr, 0, sizeof(pr));
		sx_parse_answer(b->cond, res->answer.content, strlen(res->answer.content), NULL, 0,
				&pr);
		if (answer_p_pos(x, &res->answer, &pr, &p[i]))
			p[i] = NAN;
		sx_parse_result_release(&pr);
	}
	return p;
}

static enum sx_cond perturb_cond(const struct ctx *x, enum sx_cond c)
{
	return x->cfg->perturb_pred ? SX_COND_PRED : c;
}

static size_t add_masked(struct ctx *x, struct batch *b, const struct sx_review *rv,
			 const unsigned char *keep, struct sx_buf *text)
{
	size_t ntok;

	build_text(x, rv, keep, text, &ntok);
	return batch_add(b, text->buf, text->len, ntok);
}

static size_t lime_sample_count(const struct ctx *x, size_t n)
{
	double s;

	if (x->cfg->lime_samples)
		return (size_t)x->cfg->lime_samples;
	s = ceil(x->cfg->lime_factor * (double)n);
	return s < 2 ? 2 : (size_t)s;
}

/* The LIME keep-masks of a review over d features (ns x d, the caller frees them). */
static unsigned char *lime_masks(const struct ctx *x, const struct sx_review *rv, size_t d,
				 size_t *ns)
{
	struct sx_rng *rng = sx_rng_new(sx_seed_derive(x->cfg->seed, "lime", rv->id));
	unsigned char *m;

	*ns = lime_sample_count(x, d);
	m = sx_lime_sample(rng, d, *ns);
	sx_rng_free(rng);
	return m;
}

/*
 * The LIME samples of one review, added to b. LIME's features are the tokens,
 * or under --compat paper the \W+ words of the text (split into *w, which the
 * caller releases), replaced by lime's mask string when removed. Returns the
 * keep-masks (*ns x *d, the caller frees them), NULL when there is no feature;
 * idx, when not NULL, gets the batch slot of each sample (the caller frees it).
 */
static unsigned char *lime_add(struct ctx *x, struct batch *b, const struct sx_review *rv,
			       struct sx_buf *text, struct sx_lime_words *w, size_t *d,
			       size_t *ns, size_t **idx)
{
	const char *mask = x->cfg->mask_word ? x->cfg->mask_word : SX_LIME_PAPER_MASK;
	unsigned char *m;
	size_t i, ntok;

	*d = rv->ntokens;
	if (x->cfg->compat == SX_COMPAT_PAPER) {
		build_text(x, rv, NULL, text, &ntok);
		sx_lime_words_split(w, text->buf, text->len);
		*d = w->nwords;
	}
	*ns = 0;
	if (!*d && x->cfg->compat == SX_COMPAT_PAPER)
		return NULL;
	m = lime_masks(x, rv, *d, ns);
	if (idx)
		*idx = xcalloc(*ns, sizeof(size_t));
	for (i = 0; i < *ns; i++) {
		size_t slot;

		if (x->cfg->compat == SX_COMPAT_PAPER) {
			sx_lime_words_text(w, m + i * *d, mask, text);
			slot = batch_add(b, text->buf, text->len, rv->ntokens);
		} else {
			slot = add_masked(x, b, rv, m + i * *d, text);
		}
		if (idx)
			(*idx)[i] = slot;
	}
	return m;
}

/* The self-explanation of an elicited item, as an expl. */
static void take_self(struct item *it, enum sx_cond c)
{
	struct expl *e = &it->m[M_SELF];

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

/*
 * The LIME explanation of one item from the answers p to its ns samples over d
 * features (masks, batch slots idx). Under --compat paper the feature weights
 * go back to the tokens by the paper's word matching (w).
 */
static void take_lime(const struct ctx *x, struct item *it, const struct sx_review *rv,
		      const unsigned char *masks, size_t d, size_t ns, const size_t *idx,
		      const struct sx_lime_words *w, const double *p)
{
	struct expl *e = &it->m[M_LIME];
	struct sx_lime_fit fit = SX_LIME_FIT_INIT;
	unsigned char *m = xmalloc(sx_size_mul(ns, d) + 1);
	double *y = xcalloc(ns, sizeof(double));
	size_t used = 0, i, n = rv->ntokens;
	struct sx_err ferr = SX_ERR_INIT;

	/* samples whose answer could not be used are left out of the fit */
	for (i = 0; i < ns; i++) {
		double v = p[idx[i]];
		if (!isfinite(v))
			continue;
		memcpy(m + used * d, masks + i * d, d);
		y[used++] = v;
	}
	e->samples = ns;
	e->samples_failed = ns - used;
	if (!isfinite(p[idx[0]])) {
		e->reason = xstrdup("the unperturbed review got no usable answer");
	} else if (sx_lime_fit(m, y, used, d, x->cfg->lime_kernel_width, SX_LIME_ALPHA,
			       &fit, &ferr)) {
		e->reason = xstrdup(ferr.msg);
	} else {
		e->ok = 1;
		if (x->cfg->compat == SX_COMPAT_PAPER) {
			e->value = xcalloc(n + 1, sizeof(double));
			e->has = xcalloc(n + 1, 1);
			sx_lime_words_to_tokens(w, fit.coef, rv->tokens, n, e->value, e->has);
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

/*
 * Explain stage for reviews [r0, r1) of condition c: occlusion and LIME, and
 * P(pos | x) under the perturbation prompt.
 */
static int explain_chunk(struct ctx *x, enum sx_cond c, size_t r0, size_t r1, struct sx_err *err)
{
	struct batch b;
	struct sx_buf text = SX_BUF_INIT;
	size_t nr = r1 - r0, r, i;
	size_t *full = xcalloc(nr, sizeof(size_t));
	size_t **occ = xcalloc(nr, sizeof(size_t *));
	size_t **lidx = xcalloc(nr, sizeof(size_t *));
	unsigned char **lmask = xcalloc(nr, sizeof(unsigned char *));
	size_t *lns = xcalloc(nr, sizeof(size_t));
	size_t *ld = xcalloc(nr, sizeof(size_t));
	struct sx_lime_words *lw = xcalloc(nr, sizeof(*lw));
	unsigned char *keep = NULL;
	double *p = NULL;
	char stage[64];
	int rc;

	batch_init(&b, perturb_cond(x, c));
	for (r = r0; r < r1; r++) {
		const struct sx_review *rv = &x->ds.reviews[r];
		size_t n = rv->ntokens, k = r - r0;

		full[k] = add_masked(x, &b, rv, NULL, &text);
		if (x->cfg->explainers & SX_EXPLAIN_OCCLUSION) {
			keep = xrealloc(keep, n);
			occ[k] = xcalloc(n, sizeof(size_t));
			for (i = 0; i < n; i++) {
				memset(keep, 1, n);
				keep[i] = 0;
				occ[k][i] = add_masked(x, &b, rv, keep, &text);
			}
		}
		if (x->cfg->explainers & SX_EXPLAIN_LIME)
			lmask[k] = lime_add(x, &b, rv, &text, &lw[k], &ld[k], &lns[k], &lidx[k]);
	}
	snprintf(stage, sizeof(stage), "explain %s", sx_cond_name(c));
	rc = batch_run(x, &b, stage, err);
	if (rc)
		goto out;
	p = batch_probs(x, &b);
	for (r = r0; r < r1; r++) {
		const struct sx_review *rv = &x->ds.reviews[r];
		struct item *it = item_at(x, r, c);
		size_t n = rv->ntokens, k = r - r0;

		it->p_x = p[full[k]];
		if (occ[k]) {
			struct expl *e = &it->m[M_OCC];

			e->value = xcalloc(n, sizeof(double));
			e->ok = isfinite(it->p_x);
			for (i = 0; i < n; i++) {
				e->value[i] = it->p_x - p[occ[k][i]];
				if (!isfinite(e->value[i]))
					e->ok = 0;
			}
			if (!e->ok)
				e->reason = xstrdup("a perturbed review got no usable answer");
		}
		if (lmask[k])
			take_lime(x, it, rv, lmask[k], ld[k], lns[k], lidx[k], &lw[k], p);
		else if ((x->cfg->explainers & SX_EXPLAIN_LIME) && !it->m[M_LIME].reason)
			it->m[M_LIME].reason = xstrdup("no word characters to perturb (lime's \\W+ split)");
	}
out:
	for (r = 0; r < nr; r++) {
		free(occ[r]);
		free(lidx[r]);
		free(lmask[r]);
		sx_lime_words_release(&lw[r]);
	}
	free(full);
	free(occ);
	free(lidx);
	free(lmask);
	free(lns);
	free(ld);
	free(lw);
	free(keep);
	free(p);
	sx_buf_release(&text);
	batch_release(&b);
	return rc;
}

/*
 * Seed of the paper's random tie-breaks for one explanation: from the run
 * seed, the review id, the condition and the method, so it depends on
 * nothing else (order, concurrency, sharding).
 */
static uint64_t tiebreak_seed(const struct ctx *x, const struct sx_review *rv, enum sx_cond c,
			      int m)
{
	static const char *const method_key[M_COUNT] = { "self", "occlusion", "lime" };
	char purpose[64];

	snprintf(purpose, sizeof(purpose), "paper-ties/%s/%s", sx_cond_name(c), method_key[m]);
	return sx_seed_derive(x->cfg->seed, purpose, rv->id);
}

/* The faithfulness plan of one explanation; -1 (reason set) when there is none. */
static int make_plan(const struct ctx *x, const struct sx_review *rv, enum sx_cond c,
		     const struct item *it, int m, int y, struct sx_faith_plan *plan,
		     struct sx_err *err)
{
	const struct expl *e = &it->m[m];
	size_t n = rv->ntokens;

	if (e->list) {
		/* top-k: the listed tokens in the listed order, then the rest by position */
		size_t *rank = xcalloc(n, sizeof(size_t));
		unsigned char *used = xcalloc(n + 1, 1);
		size_t i, j = 0;
		int rc;

		for (i = 0; i < e->nlist; i++)
			if (e->list[i] < n && !used[e->list[i]]) {
				used[e->list[i]] = 1;
				rank[j++] = e->list[i];
			}
		for (i = 0; i < n; i++)
			if (!used[i])
				rank[j++] = i;
		rc = sx_metrics_plan_init_ranked(plan, rank, n, y, err);
		plan->compat = x->cfg->compat;
		free(rank);
		free(used);
		return rc;
	}
	return sx_metrics_plan_init_compat(plan, e->value, e->has, n, y, x->cfg->compat,
					   tiebreak_seed(x, rv, c, m), err);
}

/* Evaluate stage for reviews [r0, r1) of condition c: the metrics' deletion inputs. */
static int evaluate_chunk(struct ctx *x, enum sx_cond c, size_t r0, size_t r1, struct sx_err *err)
{
	struct batch b;
	struct sx_buf text = SX_BUF_INIT;
	size_t nr = r1 - r0, r, i;
	struct sx_faith_plan *plans = xcalloc(nr * M_COUNT, sizeof(*plans));
	size_t **idx = xcalloc(nr * M_COUNT, sizeof(size_t *));
	double *p = NULL, *pp = NULL;
	char stage[64];
	int rc, m;

	batch_init(&b, perturb_cond(x, c));
	for (r = r0; r < r1; r++) {
		const struct sx_review *rv = &x->ds.reviews[r];
		struct item *it = item_at(x, r, c);
		size_t n = rv->ntokens, k = r - r0;

		for (m = 0; m < M_COUNT; m++) {
			struct sx_faith_plan *plan = &plans[k * M_COUNT + m];
			struct sx_err perr = SX_ERR_INIT;

			if (!it->m[m].ok)
				continue;
			if (!isfinite(it->p_x)) {
				it->m[m].faith_reason = xstrdup("the unperturbed review got no usable answer");
				continue;
			}
			if (make_plan(x, rv, c, it, m, it->p_x > 0.5, plan, &perr)) {
				it->m[m].faith_reason = xstrdup(perr.msg);
				continue;
			}
			idx[k * M_COUNT + m] = xcalloc(plan->n_inputs + 1, sizeof(size_t));
			for (i = 0; i < plan->n_inputs; i++)
				idx[k * M_COUNT + m][i] = add_masked(x, &b, rv, plan->masks + i * n, &text);
		}
	}
	snprintf(stage, sizeof(stage), "evaluate %s", sx_cond_name(c));
	rc = batch_run(x, &b, stage, err);
	if (rc)
		goto out;
	p = batch_probs(x, &b);
	for (r = r0; r < r1; r++) {
		struct item *it = item_at(x, r, c);
		size_t k = r - r0;

		for (m = 0; m < M_COUNT; m++) {
			struct sx_faith_plan *plan = &plans[k * M_COUNT + m];
			struct sx_err ferr = SX_ERR_INIT;

			if (!idx[k * M_COUNT + m])
				continue;
			pp = xrealloc(pp, (plan->n_inputs + 1) * sizeof(double));
			for (i = 0; i < plan->n_inputs; i++)
				pp[i] = p[idx[k * M_COUNT + m][i]];
			if (sx_metrics_faith(plan, it->p_x, pp, &it->m[m].faith, &ferr))
				it->m[m].faith_reason = xstrdup(ferr.msg);
			else
				it->m[m].has_faith = 1;
		}
	}
out:
	for (i = 0; i < nr * M_COUNT; i++) {
		sx_metrics_plan_release(&plans[i]);
		free(idx[i]);
	}
	free(plans);
	free(idx);
	free(p);
	free(pp);
	sx_buf_release(&text);
	batch_release(&b);
	return rc;
}

/* Agreement between the explanations of one item (no queries). */
static void score_agreement(const struct ctx *x, const struct sx_review *rv, enum sx_cond c,
			    struct item *it)
{
	size_t n = rv->ntokens;
	int q;

	for (q = 0; q < P_COUNT; q++) {
		const struct expl *a = &it->m[pair_a[q]], *b = &it->m[pair_b[q]];

		if (!a->ok || !b->ok)
			continue;
		if (a->list) {
			it->has_agree[q] = !sx_metrics_agree_topk(a->list, a->nlist, b->value, b->has, n,
								  &it->agree_topk[q], NULL);
		} else {
			it->has_agree[q] = !sx_metrics_agree_compat(
				a->value, a->has, tiebreak_seed(x, rv, c, pair_a[q]), b->value, b->has,
				tiebreak_seed(x, rv, c, pair_b[q]), n, x->cfg->compat, &it->agree[q],
				NULL);
		}
	}
}

static int stage_explain_evaluate(struct ctx *x, struct sx_err *err)
{
	size_t r0, r;
	int c, rc = 0;

	for (c = 0; c < SX_COND_COUNT && !rc; c++) {
		if (!(x->cfg->conditions & (1u << c)))
			continue;
		for (r = 0; r < x->nrev; r++)
			item_at(x, r, (enum sx_cond)c)->p_x = NAN;
		for (r0 = 0; r0 < x->nrev && !rc && !interrupted; r0 += CHUNK_REVIEWS) {
			size_t r1 = r0 + CHUNK_REVIEWS < x->nrev ? r0 + CHUNK_REVIEWS : x->nrev;

			rc = explain_chunk(x, (enum sx_cond)c, r0, r1, err);
			if (!rc && x->cfg->metrics)
				rc = evaluate_chunk(x, (enum sx_cond)c, r0, r1, err);
		}
		for (r = 0; r < x->nrev; r++)
			score_agreement(x, &x->ds.reviews[r], (enum sx_cond)c,
					item_at(x, r, (enum sx_cond)c));
	}
	return rc;
}


/* ---------------------------------------------------------------- dry run */

/* Expected completion tokens of an answer under cond for a review of ntok tokens. */
static double completion_estimate(enum sx_cond c, size_t ntok)
{
	if (sx_cond_has_importance(c))
		return 7.0 * (double)ntok + 12.0;
	if (sx_cond_is_topk(c))
		return 4.0 * (double)sx_topk_k(ntok) + 12.0;
	return 8.0;
}

static void estimate_batch(struct ctx *x, struct batch *b, const char *stage, long naive,
			   int upper, struct sx_run_outcome *out)
{
	struct sx_stage_estimate *e;
	struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT;
	size_t i;

	if (out->nest >= SX_MAX_ESTIMATES)
		return;
	e = &out->est[out->nest++];
	snprintf(e->stage, sizeof(e->stage), "%s", stage);
	e->naive = naive;
	e->distinct = upper ? naive : (long)b->n;
	e->upper_bound = upper;
	for (i = 0; i < b->n; i++) {
		sx_buf_reset(&sys);
		sx_buf_reset(&usr);
		sx_prompt_render(&x->prompts[b->cond], b->texts[i], b->ntok[i], &sys, &usr);
		e->prompt_tokens += ceil((double)(sys.len + usr.len + 32) / 4.0);
		e->completion_tokens += completion_estimate(b->cond, b->ntok[i]);
	}
	if (upper && b->n) {
		/* scale the sample of distinct texts up to the naive count */
		e->prompt_tokens *= (double)naive / (double)b->n;
		e->completion_tokens *= (double)naive / (double)b->n;
	}
	sx_buf_release(&sys);
	sx_buf_release(&usr);
}

/*
 * Count the distinct requests of every stage without sending anything. The
 * evaluate stage's inputs depend on the explanations, unknown before the run:
 * its count is the upper bound 3n + 1 per explanation.
 */
static void dry_run(struct ctx *x, struct sx_run_outcome *out)
{
	struct sx_buf text = SX_BUF_INIT;
	unsigned char *keep = NULL;
	size_t r, i, ns;
	int c;

	for (c = 0; c < SX_COND_COUNT; c++) {
		struct batch b;
		char stage[48];
		long naive = 0, methods;

		if (!(x->cfg->conditions & (1u << c)))
			continue;
		batch_init(&b, (enum sx_cond)c);
		for (r = 0; r < x->nrev; r++)
			add_masked(x, &b, &x->ds.reviews[r], NULL, &text);
		snprintf(stage, sizeof(stage), "elicit %s", sx_cond_name((enum sx_cond)c));
		estimate_batch(x, &b, stage, (long)b.asked, 0, out);
		batch_release(&b);

		batch_init(&b, perturb_cond(x, (enum sx_cond)c));
		for (r = 0; r < x->nrev; r++) {
			const struct sx_review *rv = &x->ds.reviews[r];
			size_t n = rv->ntokens;

			add_masked(x, &b, rv, NULL, &text);
			if (x->cfg->explainers & SX_EXPLAIN_OCCLUSION) {
				keep = xrealloc(keep, n);
				for (i = 0; i < n; i++) {
					memset(keep, 1, n);
					keep[i] = 0;
					add_masked(x, &b, rv, keep, &text);
				}
			}
			if (x->cfg->explainers & SX_EXPLAIN_LIME) {
				struct sx_lime_words w = SX_LIME_WORDS_INIT;
				size_t d;

				free(lime_add(x, &b, rv, &text, &w, &d, &ns, NULL));
				sx_lime_words_release(&w);
			}
		}
		snprintf(stage, sizeof(stage), "explain %s", sx_cond_name((enum sx_cond)c));
		if (x->cfg->explainers & (SX_EXPLAIN_OCCLUSION | SX_EXPLAIN_LIME))
			estimate_batch(x, &b, stage, (long)b.asked, 0, out);
		if (x->cfg->metrics) {
			methods = !!(x->cfg->explainers & SX_EXPLAIN_OCCLUSION) +
				  !!(x->cfg->explainers & SX_EXPLAIN_LIME) +
				  ((x->cfg->explainers & SX_EXPLAIN_SELF) && c != SX_COND_PRED);
			for (r = 0; r < x->nrev; r++)
				naive += methods * (3 * (long)x->ds.reviews[r].ntokens) + 1;
			snprintf(stage, sizeof(stage), "evaluate %s", sx_cond_name((enum sx_cond)c));
			estimate_batch(x, &b, stage, naive, 1, out);
		}
		batch_release(&b);
	}
	free(keep);
	sx_buf_release(&text);
}

/* ---------------------------------------------------------------- records */

static struct sx_json *tokens_json(const struct sx_review *rv)
{
	struct sx_json *a = sx_json_new_array();
	size_t i;

	for (i = 0; i < rv->ntokens; i++)
		sx_json_push(a, sx_json_new_str(rv->tokens[i]));
	return a;
}

static struct sx_json *vector_json(const double *v, const unsigned char *has, size_t n)
{
	struct sx_json *a = sx_json_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		sx_json_push(a, (!has || has[i]) && isfinite(v[i]) ? sx_json_new_num(v[i])
								   : sx_json_new_null());
	return a;
}

static const char *item_status(const struct item *it)
{
	return it->answered ? sx_parse_status_name(it->parse.status) : "failed";
}

/* The fields every record of (review, condition) starts with. */
static struct sx_json *record_head(struct ctx *x, size_t r, enum sx_cond c, const char *method)
{
	const struct sx_review *rv = &x->ds.reviews[r];
	const struct item *it = item_at(x, r, c);
	struct sx_json *o = sx_json_new_object(), *pred;

	sx_json_add_str(o, "id", rv->id);
	sx_json_add_str(o, "condition", sx_cond_name(c));
	sx_json_add_str(o, "method", method);
	sx_json_add(o, "tokens", tokens_json(rv));
	sx_json_add(o, "gold", rv->gold >= 0 ? sx_json_new_num(rv->gold) : sx_json_new_null());
	if (it->answered && it->parse.has_prediction) {
		pred = sx_json_add(o, "prediction", sx_json_new_object());
		sx_json_add_num(pred, "label", it->parse.label);
		sx_json_add_num(pred, "confidence", it->parse.confidence);
		sx_json_add(pred, "p_pos", it->has_p ? sx_json_new_num(it->p_pos) : sx_json_new_null());
	} else {
		sx_json_add(o, "prediction", sx_json_new_null());
	}
	sx_json_add_str(o, "status", item_status(it));
	return o;
}

static void emit(struct ctx *x, struct sx_json *rec)
{
	char *s = sx_json_print(rec, 0);

	sx_buf_adds(&x->records, s);
	sx_buf_addch(&x->records, '\n');
	free(s);
	sx_json_free(rec);
	if (x->records.len >= RECORDS_FLUSH_BYTES) {
		sx_file_stage_write(x->rec_fd, x->records.buf, x->records.len, &x->rec_error);
		sx_buf_reset(&x->records);
	}
}

static void repairs_json(struct sx_json *o, const struct sx_parse_result *pr)
{
	struct sx_json *full = sx_parse_result_to_json(pr);
	struct sx_json *rep = sx_json_get(full, "repairs");

	sx_json_add(o, "repairs", rep ? sx_json_dup(rep) : sx_json_new_array());
	sx_json_free(full);
}

static const char *method_name(enum sx_cond c, int m)
{
	if (m == M_OCC)
		return "occlusion";
	if (m == M_LIME)
		return "lime";
	return sx_cond_has_importance(c) ? "self" : sx_cond_is_topk(c) ? "topk" : "prediction";
}

static struct sx_json *num_or_null(double v)
{
	return isfinite(v) ? sx_json_new_num(v) : sx_json_new_null();
}

static struct sx_json *faith_json(const struct sx_faith *f)
{
	struct sx_json *o = sx_json_new_object(), *a, *b;
	int i;

	sx_json_add(o, "comprehensiveness", num_or_null(f->comp));
	sx_json_add(o, "sufficiency", num_or_null(f->suff));
	sx_json_add(o, "df_mit", num_or_null(f->df_mit));
	sx_json_add(o, "df_frac", num_or_null(f->df_frac));
	sx_json_add(o, "rankdel", num_or_null(f->rankdel));
	sx_json_add(o, "aopc_comprehensiveness", num_or_null(f->aopc_comp));
	sx_json_add(o, "aopc_sufficiency", num_or_null(f->aopc_suff));
	a = sx_json_add(o, "comprehensiveness_at", sx_json_new_array());
	b = sx_json_add(o, "sufficiency_at", sx_json_new_array());
	for (i = 0; i < SX_AOPC_NBINS; i++) {
		sx_json_push(a, num_or_null(f->comp_at[i]));
		sx_json_push(b, num_or_null(f->suff_at[i]));
	}
	return o;
}

static struct sx_json *agree_json(const struct item *it, int q)
{
	struct sx_json *o = sx_json_new_object();

	if (it->m[pair_a[q]].list) {
		sx_json_add(o, "feature", num_or_null(it->agree_topk[q].feature));
		sx_json_add(o, "iou", num_or_null(it->agree_topk[q].iou));
		return o;
	}
	sx_json_add(o, "feature", num_or_null(it->agree[q].feature));
	sx_json_add(o, "rank", num_or_null(it->agree[q].rank));
	sx_json_add(o, "sign", num_or_null(it->agree[q].sign));
	sx_json_add(o, "signed_rank", num_or_null(it->agree[q].signed_rank));
	sx_json_add(o, "iou", num_or_null(it->agree[q].iou));
	sx_json_add(o, "spearman", num_or_null(it->agree[q].spearman));
	sx_json_add(o, "pairwise", num_or_null(it->agree[q].pairwise));
	return o;
}

static void emit_method_record(struct ctx *x, size_t r, enum sx_cond c, int m)
{
	const struct item *it = item_at(x, r, c);
	const struct expl *e = &it->m[m];
	size_t n = x->ds.reviews[r].ntokens, i;
	struct sx_json *o = record_head(x, r, c, method_name(c, m)), *ag = NULL;
	int q;

	if (m == M_SELF && it->answered) {
		repairs_json(o, &it->parse);
		if (sx_cond_has_importance(c) || sx_cond_is_topk(c))
			sx_json_add_num(o, "coverage", it->parse.coverage);
	}
	if (e->list) {
		struct sx_json *a = sx_json_add(o, "topk", sx_json_new_array());
		for (i = 0; i < e->nlist; i++)
			sx_json_push(a, sx_json_new_num((double)e->list[i]));
	} else if (e->ok) {
		sx_json_add(o, "importance", vector_json(e->value, e->has, n));
	} else if (m != M_SELF || sx_cond_has_importance(c) || sx_cond_is_topk(c)) {
		sx_json_add(o, "importance", sx_json_new_null());
	}
	if (e->reason)
		sx_json_add_str(o, "error", e->reason);
	if (m == M_LIME && e->samples) {
		struct sx_json *l = sx_json_add(o, "lime", sx_json_new_object());
		sx_json_add(l, "r2", num_or_null(e->ok ? e->r2 : NAN));
		sx_json_add(l, "intercept", num_or_null(e->ok ? e->intercept : NAN));
		sx_json_add_num(l, "samples", (double)e->samples);
		sx_json_add_num(l, "samples_failed", (double)e->samples_failed);
	}
	if (e->ok && x->cfg->metrics) {
		sx_json_add(o, "p_pos_x", num_or_null(it->p_x));
		sx_json_add(o, "metrics", e->has_faith ? faith_json(&e->faith) : sx_json_new_null());
		if (e->faith_reason)
			sx_json_add_str(o, "metrics_error", e->faith_reason);
	}
	for (q = 0; q < P_COUNT; q++) {
		int other = pair_a[q] == m ? pair_b[q] : pair_b[q] == m ? pair_a[q] : -1;
		if (other < 0 || !it->has_agree[q])
			continue;
		if (!ag)
			ag = sx_json_add(o, "agreement", sx_json_new_object());
		sx_json_add(ag, method_name(c, other), agree_json(it, q));
	}
	if (m == M_SELF) {
		if (it->answered)
			sx_json_add_str(o, "answer", it->answer);
		else
			sx_json_add_str(o, "error", it->reason ? it->reason : "no answer");
	}
	emit(x, o);
}

static int method_enabled(const struct ctx *x, enum sx_cond c, int m)
{
	if (m == M_OCC)
		return !!(x->cfg->explainers & SX_EXPLAIN_OCCLUSION);
	if (m == M_LIME)
		return !!(x->cfg->explainers & SX_EXPLAIN_LIME);
	(void)c;
	return 1; /* the elicitation record is always written */
}

static void write_records(struct ctx *x)
{
	size_t r;
	int c, m;

	for (r = 0; r < x->nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if (x->cfg->conditions & (1u << c))
				for (m = 0; m < M_COUNT; m++)
					if (method_enabled(x, (enum sx_cond)c, m))
						emit_method_record(x, r, (enum sx_cond)c, m);
}

/* ---------------------------------------------------------------- summary */

/* Per-review metric values, by name, as the summary aggregates them. */
enum faith_metric { F_COMP, F_SUFF, F_DF_MIT, F_DF_FRAC, F_RANKDEL, F_AOPC_COMP, F_AOPC_SUFF, F_COUNT };
static const char *const faith_names[F_COUNT] = {
	"comprehensiveness", "sufficiency", "df_mit", "df_frac", "rankdel",
	"aopc_comprehensiveness", "aopc_sufficiency"
};

static double faith_value(const struct expl *e, int f)
{
	if (!e->has_faith)
		return NAN;
	switch (f) {
	case F_COMP: return e->faith.comp;
	case F_SUFF: return e->faith.suff;
	case F_DF_MIT: return e->faith.df_mit;
	case F_DF_FRAC: return e->faith.df_frac;
	case F_RANKDEL: return e->faith.rankdel;
	case F_AOPC_COMP: return e->faith.aopc_comp;
	default: return e->faith.aopc_suff;
	}
}

enum agree_metric { A_FEATURE, A_RANK, A_SIGN, A_SIGNED_RANK, A_IOU, A_SPEARMAN, A_PAIRWISE, A_COUNT };
static const char *const agree_names[A_COUNT] = {
	"feature", "rank", "sign", "signed_rank", "iou", "spearman", "pairwise"
};

static double agree_value(const struct item *it, int q, int a)
{
	const struct sx_agree *g = &it->agree[q];

	if (!it->has_agree[q])
		return NAN;
	if (it->m[pair_a[q]].list)
		return a == A_FEATURE ? it->agree_topk[q].feature : a == A_IOU ? it->agree_topk[q].iou : NAN;
	switch (a) {
	case A_FEATURE: return g->feature;
	case A_RANK: return g->rank;
	case A_SIGN: return g->sign;
	case A_SIGNED_RANK: return g->signed_rank;
	case A_IOU: return g->iou;
	case A_SPEARMAN: return g->spearman;
	default: return g->pairwise;
	}
}

static uint64_t summary_seed(const struct ctx *x, const char *what)
{
	return sx_seed_derive(x->cfg->seed, "bootstrap", what);
}

/* n, mean, sd and the 95 % bootstrap interval of the finite values. */
static struct sx_json *aggregate_json(const struct ctx *x, const char *what, const double *v,
				      size_t n)
{
	struct sx_json *o = sx_json_new_object();
	struct sx_summary s;

	sx_stats_summary(v, n, (size_t)x->cfg->bootstrap, summary_seed(x, what), &s);
	sx_json_add_num(o, "n", (double)s.n);
	sx_json_add(o, "mean", num_or_null(s.mean));
	sx_json_add(o, "sd", num_or_null(s.sd));
	sx_json_add(o, "ci_lo", num_or_null(s.ci_lo));
	sx_json_add(o, "ci_hi", num_or_null(s.ci_hi));
	return o;
}

static struct sx_json *methods_summary(struct ctx *x, enum sx_cond c, double *v)
{
	struct sx_json *o = sx_json_new_object();
	char what[96];
	size_t r;
	int m, f;

	for (m = 0; m < M_COUNT; m++) {
		struct sx_json *mo;
		long excluded = 0, explained = 0;

		if (!method_enabled(x, c, m) || (m == M_SELF && c == SX_COND_PRED))
			continue;
		mo = sx_json_add(o, method_name(c, m), sx_json_new_object());
		for (r = 0; r < x->nrev; r++) {
			const struct expl *e = &item_at(x, r, c)->m[m];
			explained += e->ok;
			excluded += !e->ok;
		}
		sx_json_add_num(mo, "explained", (double)explained);
		sx_json_add_num(mo, "excluded", (double)excluded);
		if (!x->cfg->metrics)
			continue;
		for (f = 0; f < F_COUNT; f++) {
			for (r = 0; r < x->nrev; r++)
				v[r] = faith_value(&item_at(x, r, c)->m[m], f);
			snprintf(what, sizeof(what), "%s/%s/%s", sx_cond_name(c), method_name(c, m),
				 faith_names[f]);
			sx_json_add(mo, faith_names[f], aggregate_json(x, what, v, x->nrev));
		}
	}
	return o;
}

static struct sx_json *agreement_summary(struct ctx *x, enum sx_cond c, double *v)
{
	struct sx_json *o = sx_json_new_object();
	char what[128], name[64];
	size_t r;
	int q, a;

	for (q = 0; q < P_COUNT; q++) {
		struct sx_json *po = NULL;

		for (a = 0; a < A_COUNT; a++) {
			size_t defined = 0;

			for (r = 0; r < x->nrev; r++) {
				v[r] = agree_value(item_at(x, r, c), q, a);
				defined += isfinite(v[r]) != 0;
			}
			if (!defined)
				continue;
			if (!po) {
				snprintf(name, sizeof(name), "%s~%s", method_name(c, pair_a[q]),
					 method_name(c, pair_b[q]));
				po = sx_json_add(o, name, sx_json_new_object());
			}
			snprintf(what, sizeof(what), "%s/%s/%s", sx_cond_name(c), name, agree_names[a]);
			sx_json_add(po, agree_names[a], aggregate_json(x, what, v, x->nrev));
		}
	}
	return o;
}

static struct sx_json *condition_summary(struct ctx *x, enum sx_cond c)
{
	struct sx_json *o = sx_json_new_object(), *st;
	double *acc = xcalloc(x->nrev + 1, sizeof(double));
	double *cov = xcalloc(x->nrev + 1, sizeof(double));
	double *dist = xcalloc(x->nrev + 1, sizeof(double));
	double *conf = xcalloc(x->nrev + 1, sizeof(double));
	unsigned char *correct = xcalloc(x->nrev + 1, 1);
	long counts[16] = { 0 };
	long failed = 0, unusable = 0;
	size_t r, nconf = 0;
	double ece;
	char what[64];
	int s;

	for (r = 0; r < x->nrev; r++) {
		const struct item *it = item_at(x, r, c);
		int gold = x->ds.reviews[r].gold;

		acc[r] = cov[r] = dist[r] = NAN;
		if (!it->answered) {
			failed++;
			continue;
		}
		counts[it->parse.status & 15]++;
		if (it->parse.has_prediction && sx_parse_status_usable_prediction(it->parse.status)) {
			if (gold >= 0) {
				acc[r] = it->parse.label == gold ? 1.0 : 0.0;
				conf[nconf] = it->parse.confidence;
				correct[nconf++] = it->parse.label == gold;
			}
		} else {
			unusable++;
		}
		if (sx_cond_has_importance(c) || sx_cond_is_topk(c))
			cov[r] = it->parse.coverage;
		if (sx_cond_has_importance(c))
			dist[r] = (double)sx_metrics_distinct(it->parse.values, it->parse.has_value,
							     it->parse.ntokens);
	}
	sx_json_add_num(o, "reviews", (double)x->nrev);
	snprintf(what, sizeof(what), "%s/accuracy", sx_cond_name(c));
	sx_json_add(o, "accuracy", aggregate_json(x, what, acc, x->nrev));
	sx_json_add_num(o, "failed", (double)failed);
	sx_json_add_num(o, "parse_failures", (double)unusable);
	sx_json_add_num(o, "parse_failure_rate", x->nrev ? (double)(unusable + failed) / (double)x->nrev : 0);
	st = sx_json_add(o, "parse_status", sx_json_new_object());
	for (s = 0; s < 16; s++)
		if (counts[s])
			sx_json_add_num(st, sx_parse_status_name((enum sx_parse_status)s), (double)counts[s]);
	sx_json_add(o, "ece", nconf && !sx_stats_ece(conf, correct, nconf, &ece) ? num_or_null(ece)
									      : sx_json_new_null());
	if (sx_cond_has_importance(c) || sx_cond_is_topk(c)) {
		snprintf(what, sizeof(what), "%s/coverage", sx_cond_name(c));
		sx_json_add(o, "coverage", aggregate_json(x, what, cov, x->nrev));
	}
	if (sx_cond_has_importance(c)) {
		snprintf(what, sizeof(what), "%s/distinct_values", sx_cond_name(c));
		sx_json_add(o, "distinct_values", aggregate_json(x, what, dist, x->nrev));
	}
	sx_json_add(o, "methods", methods_summary(x, c, acc));
	sx_json_add(o, "agreement", agreement_summary(x, c, acc));
	free(acc);
	free(cov);
	free(dist);
	free(conf);
	free(correct);
	return o;
}

/*
 * Paired comparisons of two (condition, method) columns over the reviews
 * where both are defined, for every faithfulness metric, Holm-adjusted
 * across the metrics of the comparison.
 */
static struct sx_json *compare_json(struct ctx *x, enum sx_cond ca, int ma, enum sx_cond cb, int mb)
{
	struct sx_json *o = sx_json_new_object();
	double *a = xcalloc(x->nrev + 1, sizeof(double)), *b = xcalloc(x->nrev + 1, sizeof(double));
	double p[F_COUNT], adj[F_COUNT];
	struct sx_paired pr[F_COUNT];
	char what[128];
	size_t r;
	int f;

	for (f = 0; f < F_COUNT; f++) {
		for (r = 0; r < x->nrev; r++) {
			a[r] = faith_value(&item_at(x, r, ca)->m[ma], f);
			b[r] = faith_value(&item_at(x, r, cb)->m[mb], f);
		}
		snprintf(what, sizeof(what), "%s/%s-%s/%s/%s", sx_cond_name(ca), method_name(ca, ma),
			 sx_cond_name(cb), method_name(cb, mb), faith_names[f]);
		sx_stats_paired(a, b, x->nrev, (size_t)x->cfg->bootstrap, summary_seed(x, what), &pr[f]);
		p[f] = isfinite(pr[f].p_value) ? pr[f].p_value : 1.0;
	}
	sx_stats_holm(p, F_COUNT, adj);
	for (f = 0; f < F_COUNT; f++) {
		struct sx_json *m = sx_json_add(o, faith_names[f], sx_json_new_object());
		sx_json_add_num(m, "n", (double)pr[f].n);
		sx_json_add(m, "mean_a", num_or_null(pr[f].mean_a));
		sx_json_add(m, "mean_b", num_or_null(pr[f].mean_b));
		sx_json_add(m, "mean_diff", num_or_null(pr[f].mean_diff));
		sx_json_add(m, "ci_lo", num_or_null(pr[f].ci_lo));
		sx_json_add(m, "ci_hi", num_or_null(pr[f].ci_hi));
		sx_json_add(m, "p_value", num_or_null(pr[f].p_value));
		sx_json_add(m, "p_holm", isfinite(pr[f].p_value) ? sx_json_new_num(adj[f]) : sx_json_new_null());
	}
	free(a);
	free(b);
	return o;
}

static struct sx_json *comparisons_summary(struct ctx *x)
{
	struct sx_json *o = sx_json_new_object();
	unsigned want = (1u << SX_COND_EP) | (1u << SX_COND_PE);
	char name[96];
	int c, m;

	if (!x->cfg->metrics)
		return o;
	if ((x->cfg->conditions & want) == want) {
		for (m = 0; m < M_COUNT; m++) {
			if (!method_enabled(x, SX_COND_EP, m))
				continue;
			snprintf(name, sizeof(name), "ep-vs-pe/%s", method_name(SX_COND_EP, m));
			sx_json_add(o, name, compare_json(x, SX_COND_EP, m, SX_COND_PE, m));
		}
	}
	for (c = 0; c < SX_COND_COUNT; c++) {
		if (!(x->cfg->conditions & (1u << c)) || c == SX_COND_PRED)
			continue;
		for (m = M_OCC; m < M_COUNT; m++) {
			if (!method_enabled(x, (enum sx_cond)c, m))
				continue;
			snprintf(name, sizeof(name), "%s/%s-vs-%s", sx_cond_name((enum sx_cond)c),
				 method_name((enum sx_cond)c, m), method_name((enum sx_cond)c, M_SELF));
			sx_json_add(o, name, compare_json(x, (enum sx_cond)c, m, (enum sx_cond)c, M_SELF));
		}
	}
	return o;
}

/*
 * summary.json is a function of the data, the configuration and the answers
 * only, so `selfexp score` reproduces it; request counts go to run.json.
 */
static struct sx_json *build_summary(struct ctx *x)
{
	struct sx_json *o = sx_json_new_object(), *conds;
	int c;

	sx_json_add_num(o, "reviews", (double)x->nrev);
	sx_json_add_str(o, "prob", prob_name(x->cfg));
	conds = sx_json_add(o, "conditions", sx_json_new_object());
	for (c = 0; c < SX_COND_COUNT; c++)
		if (x->cfg->conditions & (1u << c))
			sx_json_add(conds, sx_cond_name((enum sx_cond)c),
				    condition_summary(x, (enum sx_cond)c));
	sx_json_add(o, "comparisons", comparisons_summary(x));
	return o;
}

/* ---------------------------------------------------------------- run.json */

static void add_time(struct sx_json *o, const char *key, time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sx_json_add_str(o, key, buf);
}

static struct sx_json *build_run_json(struct ctx *x, const struct sx_engine_stats *st,
				      int complete)
{
	const struct sx_run_config *cfg = x->cfg;
	struct sx_json *o = sx_json_new_object(), *j, *a;
	char seed[32];
	int c;

	sx_json_add_str(o, "selfexp_version", SX_VERSION);
	sx_json_add_str(o, "command", cfg->argv_line ? cfg->argv_line : "");
	a = sx_json_add(o, "argv", sx_json_new_array());
	for (c = 0; c < cfg->argc; c++)
		sx_json_push(a, sx_json_new_str(cfg->argv[c]));
	{
		char *cwd = getcwd(NULL, 0);
		sx_json_add_str(o, "cwd", cwd ? cwd : ".");
		free(cwd);
	}
	sx_json_add_bool(o, "complete", complete);
	add_time(o, "started", x->started);
	add_time(o, "finished", time(NULL));
	j = sx_json_add(o, "data", sx_json_new_object());
	sx_json_add_str(j, "path", cfg->data_path);
	sx_json_add_num(j, "reviews", (double)x->nrev);
	sx_json_add_num(j, "skipped_rows", (double)x->ds.skipped);
	j = sx_json_add(o, "model", sx_json_new_object());
	sx_json_add_str(j, "name", cfg->gen.model);
	sx_json_add_str(j, "endpoint_host", cfg->endpoint_host ? cfg->endpoint_host : "");
	sx_json_add_num(j, "temperature", cfg->gen.temperature);
	sx_json_add_num(j, "top_p", cfg->gen.top_p);
	sx_json_add_num(j, "max_tokens", (double)cfg->gen.max_tokens);
	sx_json_add_bool(j, "insecure", cfg->engine.insecure);
	a = sx_json_add(o, "conditions", sx_json_new_array());
	j = sx_json_add(o, "templates", sx_json_new_object());
	for (c = 0; c < SX_COND_COUNT; c++) {
		if (cfg->conditions & (1u << c))
			sx_json_push(a, sx_json_new_str(sx_cond_name((enum sx_cond)c)));
		if (x->have_prompt[c])
			sx_json_add_str(j, sx_cond_name((enum sx_cond)c), x->prompts[c].hash);
	}
	a = sx_json_add(o, "explainers", sx_json_new_array());
	if (cfg->explainers & SX_EXPLAIN_SELF)
		sx_json_push(a, sx_json_new_str("self"));
	if (cfg->explainers & SX_EXPLAIN_OCCLUSION)
		sx_json_push(a, sx_json_new_str("occlusion"));
	if (cfg->explainers & SX_EXPLAIN_LIME)
		sx_json_push(a, sx_json_new_str("lime"));
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)cfg->seed);
	sx_json_add_str(o, "seed", seed);
	sx_json_add_str(o, "prob", prob_name(cfg));
	sx_json_add_str(o, "perturb_prompt", cfg->perturb_pred ? "pred" : "condition");
	sx_json_add_str(o, "compat", sx_compat_name(cfg->compat));
	j = sx_json_add(o, "lime", sx_json_new_object());
	if (cfg->lime_samples)
		sx_json_add_num(j, "samples", (double)cfg->lime_samples);
	else
		sx_json_add_num(j, "samples_per_token", cfg->lime_factor);
	sx_json_add_num(j, "kernel_width", cfg->lime_kernel_width);
	sx_json_add_str(j, "mask", cfg->mask_word ? cfg->mask_word : "delete");
	sx_json_add_num(o, "bootstrap", (double)cfg->bootstrap);
	j = sx_json_add(o, "counts", sx_json_new_object());
	sx_json_add_num(j, "naive_requests", (double)x->naive);
	sx_json_add_num(j, "requests", (double)st->requests);
	sx_json_add_num(j, "distinct_requests", (double)st->unique);
	sx_json_add_num(j, "cache_hits", (double)st->cache_hits);
	sx_json_add_num(j, "sent", (double)st->sent);
	sx_json_add_num(j, "attempts", (double)st->attempts);
	sx_json_add_num(j, "retries", (double)st->retries);
	sx_json_add_num(j, "failed", (double)st->failed);
	sx_json_add_num(j, "skipped", (double)st->skipped);
	sx_json_add_num(j, "prompt_tokens", (double)st->prompt_tokens);
	sx_json_add_num(j, "completion_tokens", (double)st->completion_tokens);
	sx_json_add_num(j, "cost_usd", st->cost);
	return o;
}

static int write_json_file(const char *dir, const char *name, const struct sx_json *j,
			   struct sx_err *err)
{
	struct sx_buf path = SX_BUF_INIT;
	char *s = sx_json_print(j, 1);
	size_t len = strlen(s);
	int rc;

	s = xrealloc(s, len + 2);
	s[len++] = '\n';
	s[len] = '\0';
	sx_buf_addf(&path, "%s/%s", dir, name);
	rc = sx_file_stage(path.buf, s, len, 0600, err);
	sx_buf_release(&path);
	free(s);
	return rc;
}

static int write_run_dir(struct ctx *x, int complete, struct sx_err *err)
{
	struct sx_engine_stats st;
	struct sx_json *run = NULL, *sum = NULL;
	struct sx_buf path = SX_BUF_INIT;
	int rc;

	sx_engine_get_stats(x->engine, &st);
	rc = sx_mkdir_p(x->cfg->out_dir, 0700, err);
	/*
	 * All three are written in full before any replaces the old one, so a
	 * full disk (or any failure) leaves the old run directory as it was.
	 */
	if (!rc) {
		sx_buf_addf(&path, "%s/records.jsonl", x->cfg->out_dir);
		rc = sx_file_stage_open(path.buf, 0600, &x->rec_fd, err);
	}
	if (!rc) {
		/* streamed: a run's records can be larger than what is worth holding in memory */
		write_records(x);
		sx_file_stage_write(x->rec_fd, x->records.buf, x->records.len, &x->rec_error);
		sx_buf_release(&x->records);
		rc = sx_file_stage_close(x->rec_fd, x->rec_error, path.buf, err);
		x->rec_fd = -1;
	}
	sum = build_summary(x);
	run = build_run_json(x, &st, complete);
	if (!rc)
		rc = write_json_file(x->cfg->out_dir, "summary.json", sum, err);
	/* run.json last: its presence with complete=true marks a finished run */
	if (!rc && !x->cfg->rescore)
		rc = write_json_file(x->cfg->out_dir, "run.json", run, err);
	if (!rc)
		rc = sx_file_commit_staged(err);
	else
		sx_file_abort_staged();
	sx_buf_release(&path);
	sx_json_free(sum);
	sx_json_free(run);
	return rc;
}

/* ---------------------------------------------------------------- driver */

static int load_inputs(struct ctx *x, struct sx_err *err)
{
	const struct sx_run_config *cfg = x->cfg;
	size_t r;
	int c, rc;

	rc = sx_data_load(cfg->data_path, &cfg->data_opts, &x->ds, err);
	if (rc)
		return rc;
	x->nrev = x->ds.n;
	if (cfg->limit > 0 && (size_t)cfg->limit < x->nrev)
		x->nrev = (size_t)cfg->limit;
	for (r = 0; r < x->nrev; r++) {
		const struct sx_review *rv = &x->ds.reviews[r];

		if (rv->ntokens > SX_RUN_MAX_TOKENS)
			return sx_err_set(err, SX_EINPUT,
					  "'%s' line %zu: review '%s' has %zu tokens, over the %d "
					  "token cap of a run (its perturbations would cost about "
					  "n^2 tokens); shorten or remove it", cfg->data_path,
					  rv->line, rv->id, rv->ntokens, SX_RUN_MAX_TOKENS);
	}
	for (c = 0; c < SX_COND_COUNT; c++) {
		int need = (cfg->conditions & (1u << c)) ||
			   (c == SX_COND_PRED && cfg->perturb_pred);
		if (!need)
			continue;
		rc = sx_prompt_load(&x->prompts[c], cfg->prompts_dir, (enum sx_cond)c, err);
		if (rc)
			return rc;
		x->have_prompt[c] = 1;
	}
	for (c = 0; c < SX_COND_COUNT; c++)
		x->slot[c] = cfg->conditions & (1u << c) ? (int)x->nslot++ : -1;
	x->items = xcalloc(sx_size_add(sx_size_mul(x->nrev, x->nslot), 1), sizeof(*x->items));
	return 0;
}

static void ctx_release(struct ctx *x)
{
	size_t i;
	int c;

	if (x->items) {
		for (i = 0; i < x->nrev * x->nslot; i++) {
			free(x->items[i].answer);
			free(x->items[i].reason);
			sx_parse_result_release(&x->items[i].parse);
			for (c = 0; c < M_COUNT; c++) {
				struct expl *e = &x->items[i].m[c];
				free(e->reason);
				free(e->value);
				free(e->has);
				free(e->faith_reason);
			}
		}
		free(x->items);
	}
	for (c = 0; c < SX_COND_COUNT; c++)
		sx_prompt_release(&x->prompts[c]);
	sx_dataset_release(&x->ds);
	sx_buf_release(&x->records);
	running_engine = NULL;
	sx_engine_free(x->engine);
}

int sx_run(const struct sx_run_config *cfg, struct sx_run_outcome *outcome, struct sx_err *err)
{
	struct ctx x;
	size_t r;
	int rc, c;

	memset(&x, 0, sizeof(x));
	memset(outcome, 0, sizeof(*outcome));
	sx_buf_init(&x.records, 0);
	x.rec_fd = -1;
	x.cfg = cfg;
	x.started = time(NULL);
	rc = load_inputs(&x, err);
	if (rc)
		goto out;
	if (cfg->dry_run) {
		dry_run(&x, outcome);
		goto out;
	}
	rc = sx_engine_new(&cfg->engine, &x.engine, err);
	if (rc)
		goto out;
	running_engine = x.engine;
	if (interrupted) /* Ctrl-C while loading: send nothing, write the empty partial run */
		sx_engine_interrupt(x.engine);
	rc = stage_elicit(&x, err);
	/* the self-explanations, whether or not any other stage runs */
	for (r = 0; !rc && r < x.nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if ((cfg->conditions & (1u << c)) && (cfg->explainers & SX_EXPLAIN_SELF))
				take_self(item_at(&x, r, (enum sx_cond)c), (enum sx_cond)c);
	if (!rc && (cfg->metrics || (cfg->explainers & (SX_EXPLAIN_OCCLUSION | SX_EXPLAIN_LIME))))
		rc = stage_explain_evaluate(&x, err);
	if (rc)
		goto out;
	for (r = 0; r < x.nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if ((cfg->conditions & (1u << c)) && !item_at(&x, r, (enum sx_cond)c)->answered)
				outcome->items_failed++;
	{
		/* stopped early: Ctrl-C, or a cap left requests unsent */
		struct sx_engine_stats st;
		int stopped;

		sx_engine_get_stats(x.engine, &st);
		stopped = interrupted || st.skipped > 0;
		rc = write_run_dir(&x, !stopped, err);
		if (!rc && stopped)
			rc = SX_ELIMIT;
	}
out:
	outcome->reviews = (long)x.nrev;
	outcome->naive_requests = x.naive;
	if (x.engine)
		sx_engine_get_stats(x.engine, &outcome->stats);
	ctx_release(&x);
	return rc;
}
