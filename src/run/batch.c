/* Texts of (perturbed) reviews, deduplicated into batches and sent through the engine. */
#include <stdio.h>
#include <string.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/hash.h"

void run_text(const struct run *run, const struct sx_review *rv, const unsigned char *keep,
	      struct sx_buf *out, size_t *ntok)
{
	const char *mask = run->cfg->mask_word;
	size_t i, n = 0;

	sx_buf_reset(out);
	for (i = 0; i < rv->ntokens; i++) {
		const char *tok = rv->tokens[i];

		if (keep && !keep[i]) {
			if (!mask)
				continue;
			tok = mask;
		}
		if (n++)
			sx_buf_addch(out, ' ');
		sx_buf_adds(out, tok);
	}
	*ntok = n;
}

void run_batch_init(struct batch *b, enum sx_cond cond)
{
	memset(b, 0, sizeof(*b));
	b->cond = cond;
}

size_t run_batch_add(struct batch *b, const char *text, size_t len, size_t ntok,
		     const char *owner)
{
	size_t idx = b->n;

	b->asked++;
	if (sx_strmap_put(&b->seen, text, len, &idx))
		return idx;
	SX_GROW(b->texts, b->alloc, b->n + 1);
	SX_GROW(b->ntok, b->ntok_alloc, b->n + 1);
	SX_GROW(b->owner, b->owner_alloc, b->n + 1);
	b->texts[b->n] = xstrndup(text, len);
	b->ntok[b->n] = ntok;
	b->owner[b->n] = owner;
	return b->n++;
}

size_t run_batch_add_masked(const struct run *run, struct batch *b, const struct sx_review *rv,
			    const unsigned char *keep, struct sx_buf *text)
{
	size_t ntok;

	run_text(run, rv, keep, text, &ntok);
	return run_batch_add(b, text->buf, text->len, ntok, rv->id);
}

void run_batch_release(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->texts[i]);
		if (b->res)
			sx_result_release(&b->res[i]);
	}
	free(b->texts);
	free(b->ntok);
	free(b->owner);
	free(b->res);
	sx_strmap_release(&b->seen);
	memset(b, 0, sizeof(*b));
}

/*
 * The request bodies of the first n unique texts of the batches (n: all of
 * them, or fewer), in order (the caller frees them), under gen; with
 * copies > 1, copies bodies per text, body k with seed base + k (one sample
 * each, RUN_SAMPLES_SEPARATE).
 */
static struct sx_request *build_requests(struct run *run, const struct sx_gen_params *gen,
					 struct batch *bs, size_t nb, size_t n, long copies)
{
	struct sx_request *reqs = xcalloc(n ? n * (size_t)copies : 1, sizeof(*reqs));
	struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT, body = SX_BUF_INIT;
	struct sx_gen_params g = *gen;
	size_t i, k, at;
	long c;

	for (k = 0, at = 0; k < nb; k++) {
		const struct sx_prompt *p = &run->prompts[bs[k].cond];

		if (copies == 1)
			run->naive += (long)bs[k].asked;
		for (i = 0; i < bs[k].n && at < n * (size_t)copies; i++) {
			sx_buf_reset(&sys);
			sx_buf_reset(&usr);
			sx_prompt_render(p, bs[k].texts[i], bs[k].ntok[i], &sys, &usr);
			for (c = 0; c < copies; c++, at++) {
				if (copies > 1)
					g.seed = (gen->seed >= 0 ? gen->seed : 0) + c;
				sx_buf_reset(&body);
				sx_chat_request_body(&g, sys.buf, usr.buf, &body);
				/* an exact copy: a grown buffer would hold up to twice the body */
				reqs[at].body = xstrndup(body.buf, body.len);
				reqs[at].len = body.len;
				reqs[at].cond = sx_cond_name(bs[k].cond);
				reqs[at].review = bs[k].texts[i];
				reqs[at].review_len = strlen(bs[k].texts[i]);
			}
		}
	}
	sx_buf_release(&sys);
	sx_buf_release(&usr);
	sx_buf_release(&body);
	return reqs;
}

/* The answer of one text from its copies' results (moved out of them): every sample a choice. */
static void merge_samples(struct sx_result *out, struct sx_result *copies, long n)
{
	long k;

	for (k = 0; k < n && copies[k].status == SX_RESULT_OK; k++)
		;
	if (k < n) {
		*out = copies[k]; /* the first that failed says why */
		memset(&copies[k], 0, sizeof(copies[k]));
	} else {
		*out = copies[0];
		memset(&copies[0], 0, sizeof(copies[0]));
		while (out->answer.nchoices)
			free(out->answer.choices[--out->answer.nchoices]);
		free(out->answer.choices);
		out->answer.choices = xcalloc((size_t)n, sizeof(char *));
		out->answer.choices[0] = xstrdup(out->answer.content);
		for (k = 1; k < n; k++) {
			out->answer.choices[k] = xstrdup(copies[k].answer.content);
			out->from_cache &= copies[k].from_cache;
			out->attempts += copies[k].attempts;
		}
		out->answer.nchoices = (size_t)n;
	}
	for (k = 0; k < n; k++)
		sx_result_release(&copies[k]);
}

/*
 * Send req alone (or, offline, look it up): 1 when it was answered, with its
 * choices in *nchoices; 0 when it failed, with *refused_n set when the
 * server refused n > 1. A failed probe is counted in run->probes_failed,
 * since the engine counts it as failed and no item is lost by it (the
 * run's own call meets any other error again).
 */
static int probe(struct run *run, const struct sx_request *req, const char *stage, size_t *nchoices,
		 int *refused_n)
{
	struct sx_result res;
	struct sx_err err = SX_ERR_INIT;
	int ok;

	*refused_n = 0;
	if (sx_engine_run(run->engine, req, 1, &res, stage, &err)) {
		sx_result_release(&res);
		return 0;
	}
	ok = res.status == SX_RESULT_OK;
	if (ok)
		*nchoices = res.answer.nchoices;
	else if (res.status == SX_RESULT_FAILED) {
		run->probes_failed++;
		*refused_n = sx_engine_client_error(res.reason) == SX_ENGINE_CLIENT_N;
	}
	sx_result_release(&res);
	return ok;
}

/*
 * --prob sample:N on a server not known yet: send the first request alone
 * and see whether it gives N choices. llama.cpp refuses n > 1 (a 500 "Only
 * one completion choice is allowed"), Ollama and some gateways ignore n and
 * return one choice: those get N separate requests per text from now on.
 * Offline, the cache tells: the request with n = N answered there means the
 * server gave N choices; else the first of its separate requests (seed 0,
 * one choice) answered there means the run fell back.
 */
static void probe_samples(struct run *run, const struct sx_request *req, const struct sx_request *one,
			  const char *stage)
{
	size_t nchoices = 0;
	int refused = 0, offline = run->cfg->engine.offline;

	if (probe(run, req, stage, &nchoices, &refused))
		run->samples_mode = nchoices >= (size_t)run->cfg->gen.n ? RUN_SAMPLES_NATIVE
									 : RUN_SAMPLES_SEPARATE;
	else if (refused)
		run->samples_mode = RUN_SAMPLES_SEPARATE;
	else if (offline && probe(run, one, stage, &nchoices, &refused))
		run->samples_mode = RUN_SAMPLES_SEPARATE;
	if (run->samples_mode == RUN_SAMPLES_SEPARATE)
		fprintf(stderr, "selfexp: %s; --prob sample:%ld sends %ld separate requests of one "
			"choice per input (seeds 0..%ld), counted in run.json as sample_requests\n",
			offline ? "the cache holds separate samples (an earlier run fell back)"
			: refused ? "the server refuses n > 1"
				  : "the server returned fewer choices than n asked for",
			run->cfg->gen.n, run->cfg->gen.n, run->cfg->gen.n - 1);
}

/*
 * One engine call for all nb batches, so that the tail of one batch overlaps
 * the start of the next.
 */
int run_batches_send(struct run *run, struct batch *bs, size_t nb, const char *stage,
		     struct sx_err *err)
{
	const struct sx_gen_params *gen = &run->cfg->gen;
	struct sx_gen_params one = *gen;
	struct sx_request *reqs;
	struct sx_result *res, *copies = NULL;
	size_t i, k, n = 0, at;
	long ncopies = 1;
	int rc;

	for (k = 0; k < nb; k++)
		n += bs[k].n;
	reqs = build_requests(run, gen, bs, nb, n, 1);
	if (n && run->cfg->prob == SX_PROB_SAMPLE && gen->n > 1 &&
	    run->samples_mode == RUN_SAMPLES_UNKNOWN) {
		struct sx_request *first;

		one.n = 1;
		first = build_requests(run, &one, bs, nb, 1, gen->n);
		probe_samples(run, &reqs[0], &first[0], stage);
		for (i = 0; i < (size_t)gen->n; i++)
			free(first[i].body);
		free(first);
	}
	if (n && run->cfg->prob == SX_PROB_SAMPLE && run->samples_mode == RUN_SAMPLES_SEPARATE) {
		if ((gen->omit & SX_GEN_OMIT_SEED) || sx_json_get(gen->extra, "seed")) {
			for (i = 0; i < n; i++)
				free(reqs[i].body);
			free(reqs);
			return sx_err_set(err, SX_EINPUT,
					  "--prob sample:%ld: the server gives one choice per request, "
					  "so the samples are separate requests told apart by their "
					  "seed; drop --unset seed and --param seed", gen->n);
		}
		for (i = 0; i < n; i++)
			free(reqs[i].body);
		free(reqs);
		ncopies = gen->n;
		one.n = 1;
		reqs = build_requests(run, &one, bs, nb, n, ncopies);
		run->sample_requests += (long)n * ncopies;
	}
	res = xcalloc(n ? n : 1, sizeof(*res));
	if (ncopies > 1) {
		copies = xcalloc(n * (size_t)ncopies, sizeof(*copies));
		rc = sx_engine_run(run->engine, reqs, n * (size_t)ncopies, copies, stage, err);
		for (i = 0; i < n; i++)
			merge_samples(&res[i], &copies[i * (size_t)ncopies], ncopies);
		free(copies);
	} else {
		rc = n ? sx_engine_run(run->engine, reqs, n, res, stage, err) : 0;
	}
	for (k = 0, at = 0; k < nb; k++) {
		bs[k].res = xcalloc(bs[k].n ? bs[k].n : 1, sizeof(*bs[k].res));
		for (i = 0; i < bs[k].n; i++, at++)
			bs[k].res[i] = res[at]; /* moved */
	}
	for (i = 0; i < n * (size_t)ncopies; i++)
		free(reqs[i].body);
	free(reqs);
	free(res);
	return rc;
}

/* ---------------------------------------------------------------- failures */

const char *const run_stage_names[RUN_NSTAGES] = { "elicit", "explain", "evaluate" };

static void tally_reason(struct run *run, enum run_stage s, const char *reason)
{
	size_t idx = run->nreasons[s];

	if (sx_strmap_put(&run->reasons[s], reason, strlen(reason), &idx)) {
		run->reason_count[s][idx]++;
		return;
	}
	SX_GROW(run->reason_text[s], run->reasons_alloc[s], idx + 1);
	SX_GROW(run->reason_count[s], run->counts_alloc[s], idx + 1);
	run->reason_text[s][idx] = xstrdup(reason);
	run->reason_count[s][idx] = 1;
	run->nreasons[s]++;
}

/* One line of misses.jsonl: where the miss is and the SHA-256 of the text that was not found. */
static void add_miss(struct run *run, enum run_stage s, enum sx_cond c, const struct batch *b,
		     size_t i)
{
	struct sx_json *o = sx_json_new_object();
	char hex[SX_SHA256_HEX_LEN + 1], *line;

	sx_sha256_hex(b->texts[i], strlen(b->texts[i]), hex);
	sx_json_add_str(o, "stage", run_stage_names[s]);
	sx_json_add_str(o, "condition", sx_cond_name(c));
	sx_json_add_str(o, "prompt", sx_cond_name(b->cond));
	sx_json_add_str(o, "review", b->owner[i] ? b->owner[i] : "");
	sx_json_add_num(o, "tokens", (double)b->ntok[i]);
	sx_json_add_str(o, "text_sha256", hex);
	line = sx_json_print(o, 0);
	sx_buf_adds(&run->misses, line);
	sx_buf_addch(&run->misses, '\n');
	free(line);
	sx_json_free(o);
	run->nmisses[s]++;
}

void run_note_failures(struct run *run, enum run_stage stage, enum sx_cond c,
		       const struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		const struct sx_result *res = &b->res[i];

		if (res->status != SX_RESULT_FAILED)
			continue;
		run->failed[stage][c]++;
		tally_reason(run, stage, res->reason ? res->reason : "unknown error");
		if (run->cfg->engine.offline)
			add_miss(run, stage, c, b, i);
	}
}

long run_failed_total(const struct run *run)
{
	long n = 0;
	int s, c;

	for (s = 0; s < RUN_NSTAGES; s++)
		for (c = 0; c < SX_COND_COUNT; c++)
			n += run->failed[s][c];
	return n;
}
