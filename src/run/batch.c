/* Texts of (perturbed) reviews, deduplicated into batches and sent through the engine. */
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

/* The request bodies of every unique text of the batches, in order (the caller frees them). */
static struct sx_request *build_requests(struct run *run, struct batch *bs, size_t nb, size_t n)
{
	struct sx_request *reqs = xcalloc(n ? n : 1, sizeof(*reqs));
	struct sx_buf sys = SX_BUF_INIT, usr = SX_BUF_INIT, body = SX_BUF_INIT;
	size_t i, k, at;

	for (k = 0, at = 0; k < nb; k++) {
		const struct sx_prompt *p = &run->prompts[bs[k].cond];

		run->naive += (long)bs[k].asked;
		for (i = 0; i < bs[k].n; i++, at++) {
			sx_buf_reset(&sys);
			sx_buf_reset(&usr);
			sx_buf_reset(&body);
			sx_prompt_render(p, bs[k].texts[i], bs[k].ntok[i], &sys, &usr);
			sx_chat_request_body(&run->cfg->gen, sys.buf, usr.buf, &body);
			/* an exact copy: a grown buffer would hold up to twice the body, for every body */
			reqs[at].body = xstrndup(body.buf, body.len);
			reqs[at].len = body.len;
			reqs[at].cond = sx_cond_name(bs[k].cond);
			reqs[at].review = bs[k].texts[i];
			reqs[at].review_len = strlen(bs[k].texts[i]);
		}
	}
	sx_buf_release(&sys);
	sx_buf_release(&usr);
	sx_buf_release(&body);
	return reqs;
}

/*
 * One engine call for all nb batches, so that the tail of one batch overlaps
 * the start of the next.
 */
int run_batches_send(struct run *run, struct batch *bs, size_t nb, const char *stage,
		     struct sx_err *err)
{
	struct sx_request *reqs;
	struct sx_result *res;
	size_t i, k, n = 0, at;
	int rc;

	for (k = 0; k < nb; k++)
		n += bs[k].n;
	reqs = build_requests(run, bs, nb, n);
	res = xcalloc(n ? n : 1, sizeof(*res));
	rc = n ? sx_engine_run(run->engine, reqs, n, res, stage, err) : 0;
	for (k = 0, at = 0; k < nb; k++) {
		bs[k].res = xcalloc(bs[k].n ? bs[k].n : 1, sizeof(*bs[k].res));
		for (i = 0; i < bs[k].n; i++, at++)
			bs[k].res[i] = res[at]; /* moved */
	}
	for (i = 0; i < n; i++)
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
