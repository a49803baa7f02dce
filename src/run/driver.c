/*
 * sx_run: the protocol of DESIGN.md section 1, stage by stage.
 *
 *   load      the reviews and the prompt templates
 *   elicit    every review under every condition (elicit.c)
 *   explain   occlusion and LIME per chunk of reviews (explain.c)
 *   evaluate  the faithfulness metrics' inputs, same chunk (evaluate.c)
 *   agree     agreement between the explanations (agreement.c)
 *   write     records.jsonl, summary.json, run.json (records.c, summary.c,
 *             config.c, through rundir.c's writer)
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/hash.h"
#include "selfexp/rundir.h"

static volatile sig_atomic_t interrupted;
static struct sx_engine *volatile running_engine;

void sx_run_interrupt(void)
{
	interrupted = 1;
	if (running_engine)
		sx_engine_interrupt(running_engine);
}

/* ---------------------------------------------------------------- load */

static int check_lengths(const struct run *run, struct sx_err *err)
{
	size_t r;

	for (r = 0; r < run->nrev; r++) {
		const struct sx_review *rv = &run->ds.reviews[r];

		if (rv->ntokens > SX_RUN_MAX_TOKENS)
			return sx_err_set(err, SX_EINPUT,
					  "'%s' line %zu: review '%s' has %zu tokens, over the %d "
					  "token cap of a run (its perturbations would cost about "
					  "n^2 tokens); shorten or remove it", run->cfg->data_path,
					  rv->line, rv->id, rv->ntokens, SX_RUN_MAX_TOKENS);
	}
	return 0;
}

/* The templates the run needs, each checked against the hash the configuration expects. */
static int load_prompts(struct run *run, struct sx_err *err)
{
	const struct sx_run_config *cfg = run->cfg;
	int c, rc;

	for (c = 0; c < SX_COND_COUNT; c++) {
		const char *want = cfg->prompt_hash[c];
		int needed = run_has_cond(run, (enum sx_cond)c), o;

		/* a condition's own, or the prompt another one's perturbed inputs go under */
		for (o = 0; o < SX_COND_COUNT && !needed; o++)
			needed = run_has_cond(run, (enum sx_cond)o) &&
				 run_perturb_cond(run, (enum sx_cond)o) == (enum sx_cond)c;
		if (!needed)
			continue;
		rc = sx_prompt_load(&run->prompts[c], cfg->prompts_dir, (enum sx_cond)c, err);
		if (rc)
			return rc;
		run->have_prompt[c] = 1;
		if (want && strcmp(want, run->prompts[c].hash))
			return sx_err_set(err, SX_EINPUT, "template '%s/%s' has changed since the "
					  "run (SHA-256 %.12s..., the run used %.12s...): its answers "
					  "would not be found; restore the template or re-run",
					  cfg->prompts_dir, sx_cond_name((enum sx_cond)c),
					  run->prompts[c].hash, want);
	}
	return 0;
}

/*
 * The recorded answers (--answers), every file checked before anything is
 * sent; a file whose SHA-256 differs from the one the configuration expects
 * (score, answers export) is refused.
 */
static int load_answers(struct run *run, struct sx_err *err)
{
	const struct sx_run_config *cfg = run->cfg;
	size_t i;
	int rc;

	if (!cfg->nanswers)
		return 0;
	if (cfg->prob != SX_PROB_VERBAL)
		return sx_err_set(err, SX_EINPUT, "--answers holds answer texts only, which give "
				  "no logprobs and one choice: use --prob verbal");
	run->answers = sx_answers_new();
	for (i = 0; i < cfg->nanswers; i++) {
		const char *want = cfg->answers_sha256[i];

		rc = sx_answers_load(run->answers, cfg->answers_path[i], run->answers_sha256[i], err);
		if (rc)
			return rc;
		if (want && strcmp(want, run->answers_sha256[i]))
			return sx_err_set(err, SX_EINPUT, "answers file '%s' has changed since the run "
					  "(SHA-256 %.12s..., the run used %.12s...); restore it",
					  cfg->answers_path[i], run->answers_sha256[i], want);
	}
	return 0;
}

long sx_run_shard_of(const char *id, long count)
{
	return count > 0 ? (long)(sx_hash64(id, strlen(id)) % (uint64_t)count) : 0;
}

/*
 * Keep the reviews of the run's shard, in their order, at the front of the
 * data set (the others move behind nrev and are freed with it).
 */
static void keep_shard(struct run *run)
{
	size_t r, kept = 0;

	for (r = 0; r < run->nrev; r++) {
		struct sx_review tmp;

		if (sx_run_shard_of(run->ds.reviews[r].id, run->cfg->shard_count) !=
		    run->cfg->shard_index)
			continue;
		tmp = run->ds.reviews[kept];
		run->ds.reviews[kept++] = run->ds.reviews[r];
		run->ds.reviews[r] = tmp;
	}
	run->nrev = kept;
}

/*
 * The --explanations files, checked against the reviews of the run (and,
 * for score, against the SHA-256 the run recorded). Under --limit the data
 * read may stop short of the file's end: lines for reviews not read are
 * then counted as unused, not refused.
 */
static int load_explanations(struct run *run, struct sx_err *err)
{
	const struct sx_run_config *cfg = run->cfg;
	int complete = cfg->limit <= 0 || run->ds.n < (size_t)cfg->limit;
	size_t i;
	int rc;

	for (i = 0; i < cfg->nexplanations; i++) {
		const char *want = cfg->explanations_sha256[i];
		const char *have;

		run->xp_path[i] = run_absolute_path(cfg->explanations[i]);
		rc = sx_explanations_load(&run->xp, cfg->explanations[i], &run->ds, complete, err);
		if (rc)
			return rc;
		have = run->xp.files[i].sha256;
		if (want && strcmp(want, have))
			return sx_err_set(err, SX_EINPUT, "explanations file '%s' has changed since "
					  "the run (SHA-256 %.12s..., the run used %.12s...): restore "
					  "it, or evaluate the new file with 'selfexp run "
					  "--explanations' into another --out", cfg->explanations[i],
					  have, want);
	}
	if (cfg->nexplanations) {
		rc = sx_explanations_restrict(&run->xp, cfg->conditions, err);
		if (rc)
			return rc;
	}
	run->nmeth = SX_METHOD_COUNT + run->xp.nmethods;
	run_pairs_init(run);
	return 0;
}

static int load_inputs(struct run *run, struct sx_err *err)
{
	const struct sx_run_config *cfg = run->cfg;
	struct sx_data_opts dopts = cfg->data_opts;
	size_t i;
	int c, rc;

	/* --limit N reads only the first N reviews of the file */
	if (cfg->limit > 0)
		dopts.max_reviews = (size_t)cfg->limit;
	rc = sx_data_load(cfg->data_path, &dopts, &run->ds, err);
	if (rc)
		return rc;
	run->nrev = run->ds.n;
	if (cfg->limit > 0 && (size_t)cfg->limit < run->nrev)
		run->nrev = (size_t)cfg->limit;
	if (cfg->shard_count > 0)
		keep_shard(run);
	rc = check_lengths(run, err);
	if (!rc)
		rc = load_prompts(run, err);
	if (!rc)
		rc = load_explanations(run, err);
	if (!rc)
		rc = load_answers(run, err);
	if (rc)
		return rc;
	for (c = 0; c < SX_COND_COUNT; c++)
		run->slot[c] = run_has_cond(run, (enum sx_cond)c) ? (int)run->nslot++ : -1;
	run->items = xcalloc(sx_size_add(sx_size_mul(run->nrev, run->nslot), 1), sizeof(*run->items));
	for (i = 0; i < run->nrev * run->nslot; i++) {
		struct item *it = &run->items[i];

		it->m = xcalloc(run->nmeth, sizeof(*it->m));
		it->has_agree = xcalloc(run->npairs, sizeof(*it->has_agree));
		it->agree = xcalloc(run->npairs, sizeof(*it->agree));
		it->agree_topk = xcalloc(run->npairs, sizeof(*it->agree_topk));
	}
	return 0;
}

static void run_release(struct run *run)
{
	size_t i;
	int c, m;

	free(run->server_models);
	run->server_models = NULL;
	if (run->items) {
		for (i = 0; i < run->nrev * run->nslot; i++) {
			struct item *it = &run->items[i];

			free(it->answer);
			free(it->reason);
			sx_parse_result_release(&it->parse);
			for (m = 0; it->m && m < (int)run->nmeth; m++) {
				free(it->m[m].reason);
				free(it->m[m].value);
				free(it->m[m].has);
				free(it->m[m].faith_reason);
			}
			free(it->m);
			free(it->has_agree);
			free(it->agree);
			free(it->agree_topk);
		}
		free(run->items);
	}
	for (c = 0; c < SX_COND_COUNT; c++)
		sx_prompt_release(&run->prompts[c]);
	for (c = 0; c < RUN_NSTAGES; c++) {
		for (i = 0; i < run->nreasons[c]; i++)
			free(run->reason_text[c][i]);
		free(run->reason_text[c]);
		free(run->reason_count[c]);
		sx_strmap_release(&run->reasons[c]);
	}
	sx_buf_release(&run->misses);
	sx_explanations_release(&run->xp);
	for (i = 0; i < SX_RUN_MAX_EXPLANATIONS; i++)
		free(run->xp_path[i]);
	free(run->pair_a);
	free(run->pair_b);
	sx_dataset_release(&run->ds);
	running_engine = NULL;
	sx_engine_free(run->engine);
	sx_answers_free(run->answers);
	run_ledger_close(&run->ledger);
}

/* ---------------------------------------------------------------- stages */

/* Explanations from files need the stages too: their metrics, and agreement. */
static int needs_perturbations(const struct sx_run_config *cfg)
{
	return cfg->metrics || cfg->nexplanations ||
	       (cfg->explainers & (SX_EXPLAIN_OCCLUSION | SX_EXPLAIN_LIME));
}

/* Explain and evaluate chunk by chunk, condition by condition, then agreement. */
static int explain_evaluate(struct run *run, struct sx_err *err)
{
	/* batches: a stage of one condition is one set of batches (every round trip takes hours) */
	size_t chunk = run->cfg->engine.batch ? (run->nrev ? run->nrev : 1) : RUN_CHUNK_REVIEWS;
	size_t r0, r;
	int c, rc = 0;

	for (c = 0; c < SX_COND_COUNT && !rc; c++) {
		enum sx_cond cond = (enum sx_cond)c;

		if (!run_has_cond(run, cond))
			continue;
		for (r = 0; r < run->nrev; r++) {
			run_item(run, r, cond)->p_x = NAN;
			run_item(run, r, cond)->y_x = -1;
		}
		for (r0 = 0; r0 < run->nrev && !rc && !interrupted; r0 += chunk) {
			size_t r1 = r0 + chunk < run->nrev ? r0 + chunk : run->nrev;

			rc = run_explain(run, cond, r0, r1, err);
			if (!rc && run->cfg->metrics)
				rc = run_evaluate(run, cond, r0, r1, err);
		}
		run_agreement(run, cond);
	}
	return rc;
}

static long failed_items(const struct run *run)
{
	long n = 0;
	size_t r;
	int c;

	for (r = 0; r < run->nrev; r++)
		for (c = 0; c < SX_COND_COUNT; c++)
			if (run_has_cond(run, (enum sx_cond)c) && !run_item(run, r, (enum sx_cond)c)->answered)
				n++;
	return n;
}

/*
 * The run dir holds: 1 complete, 0 partial, -1 none (or unreadable). For a
 * partial one *answered gets the requests it had answers for (run.json
 * counts: requests - failed - skipped, the last those a cap or a signal
 * kept from being sent), -1 when it does not record them.
 */
static int run_in(const char *dir, long *answered)
{
	struct sx_rundir rd = SX_RUNDIR_INIT;
	const struct sx_json *counts;
	double req, failed, skipped = 0;
	int complete = -1;

	*answered = -1;
	if (sx_rundir_load(&rd, dir, 0, NULL))
		return -1;
	if (sx_json_bool(sx_json_get(rd.run, "complete"), &complete))
		complete = -1;
	/* a partial run that score brought up to date: the answers of that score */
	counts = sx_json_get(sx_json_get(rd.run, "scored"), "counts");
	if (!counts)
		counts = sx_json_get(rd.run, "counts");
	if (sx_json_get(counts, "skipped"))
		sx_json_num(sx_json_get(counts, "skipped"), &skipped);
	if (!complete && !sx_json_num(sx_json_get(counts, "requests"), &req) &&
	    !sx_json_num(sx_json_get(counts, "failed"), &failed) && req >= failed + skipped)
		*answered = (long)(req - failed - skipped);
	sx_rundir_release(&rd);
	return complete;
}

/*
 * Where the run directory goes: out_dir, unless this result is partial and
 * out_dir holds a better one, which is never replaced by a worse one: a
 * complete run, or a partial one that had answers for more requests (then
 * out_dir.partial; for `score` nowhere, NULL).
 */
static const char *target_dir(const struct run *run, int complete,
			      const struct sx_engine_stats *st, struct sx_buf *buf,
			      struct sx_run_outcome *out)
{
	const char *dir = run->cfg->out_dir;
	long answered, old;
	int there;

	if (complete)
		return dir;
	there = run_in(dir, &old);
	answered = st->requests - st->failed - st->skipped;
	if (there < 0 || (there == 0 && answered >= old))
		return dir;
	out->kept = there ? 1 : 2;
	if (run->cfg->rescore)
		return NULL;
	sx_buf_addf(buf, "%s.partial", dir);
	return buf->buf;
}

/*
 * score's run.json: NULL (kept as it is) when it says the run was complete,
 * else brought up to date with this result, so that table, merge and
 * compare read the run directory as one (config.c run_json_rescored).
 */
static struct sx_json *rescored_json(const struct run *run, const struct sx_engine_stats *st,
				     const char *dir, int complete)
{
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_json *rj = NULL;

	if (!sx_rundir_load(&rd, dir, 0, NULL))
		rj = run_json_rescored(run, st, rd.run, complete);
	sx_rundir_release(&rd);
	return rj;
}

/* misses.jsonl beside the other files when there were misses; a stale one is removed. */
static void write_misses(const struct run *run, const char *dir, struct sx_err *err, int *rc)
{
	struct sx_buf path = SX_BUF_INIT;

	sx_buf_addf(&path, "%s/misses.jsonl", dir);
	if (!run->misses.len) {
		unlink(path.buf);
	} else if (!*rc) {
		*rc = sx_file_write_atomic(path.buf, run->misses.buf, run->misses.len, 0600, err);
	}
	sx_buf_release(&path);
}

/*
 * The run directory. All three files are written in full before any
 * replaces the old one, so a full disk (or any failure) leaves the old run
 * directory as it was.
 */
static int write_run_dir(const struct run *run, int complete, struct sx_run_outcome *out,
			 struct sx_err *err)
{
	struct sx_rundir_writer w = SX_RUNDIR_WRITER_INIT;
	struct sx_engine_stats st;
	struct sx_json *sum = NULL, *rj = NULL;
	struct sx_buf buf = SX_BUF_INIT;
	const char *dir;
	int rc;

	sx_engine_get_stats(run->engine, &st);
	dir = target_dir(run, complete, &st, &buf, out);
	if (!dir)
		return 0;
	rc = sx_rundir_writer_open(&w, dir, err);
	if (!rc) {
		/* streamed: a run's records can be larger than what is worth holding in memory */
		run_write_records(run, &w);
		sum = run_summary(run);
		rj = run->cfg->rescore ? rescored_json(run, &st, dir, complete)
				       : run_json(run, &st, complete);
		rc = sx_rundir_writer_commit(&w, sum, rj, err);
		write_misses(run, dir, err, &rc);
	}
	if (!rc)
		snprintf(out->written_to, sizeof(out->written_to), "%s", dir);
	sx_rundir_writer_release(&w);
	sx_json_free(sum);
	sx_json_free(rj);
	sx_buf_release(&buf);
	return rc;
}

/* Put (reason, n) into the outcome's top three, by count, when it belongs there. */
static void top_insert(struct sx_run_outcome *out, const char *reason, long n)
{
	int i, j;

	for (i = 0; i < 3 && out->top_reason_count[i] >= n; i++)
		;
	if (i == 3)
		return;
	for (j = 2; j > i; j--) {
		out->top_reason_count[j] = out->top_reason_count[j - 1];
		memcpy(out->top_reason[j], out->top_reason[j - 1], sizeof(out->top_reason[j]));
	}
	out->top_reason_count[i] = n;
	snprintf(out->top_reason[i], sizeof(out->top_reason[i]), "%s", reason);
}

/* The failure counts, and the most frequent reasons over all stages, for the summary line. */
static void count_failures(const struct run *run, struct sx_run_outcome *out)
{
	struct sx_strmap seen = SX_STRMAP_INIT;
	long *sum = NULL;
	const char **text = NULL;
	size_t i, n = 0, alloc = 0, talloc = 0, idx;
	int s, c;

	out->requests_failed = run_failed_total(run);
	for (s = 0; s < RUN_NSTAGES; s++) {
		for (c = 0; c < SX_COND_COUNT; c++)
			out->failed_by_stage[s] += run->failed[s][c];
		for (i = 0; i < run->nreasons[s]; i++) {
			const char *r = run->reason_text[s][i];

			idx = n;
			if (!sx_strmap_put(&seen, r, strlen(r), &idx)) {
				SX_GROW(sum, alloc, n + 1);
				SX_GROW(text, talloc, n + 1);
				sum[n] = 0;
				text[n++] = r;
			}
			sum[idx] += run->reason_count[s][i];
		}
	}
	for (i = 0; i < n; i++)
		top_insert(out, text[i], sum[i]);
	free(sum);
	free(text);
	sx_strmap_release(&seen);
}

int sx_run(const struct sx_run_config *cfg, struct sx_run_outcome *outcome, struct sx_err *err)
{
	struct run run;
	struct sx_engine_stats st;
	struct sx_engine_config ec;
	size_t i;
	int rc, stopped;

	memset(&run, 0, sizeof(run));
	run.ledger.fd = -1;
	memset(outcome, 0, sizeof(*outcome));
	run.cfg = cfg;
	run.started = time(NULL);
	sx_buf_init(&run.misses, 0);
	rc = run_check_cache_path(cfg, err);
	if (!rc)
		rc = load_inputs(&run, err);
	/* which data the run read, for run.json (merge checks that shards read the same) */
	if (!rc && !cfg->dry_run)
		rc = sx_sha256_file_hex(cfg->data_path, run.data_sha256, err);
	if (!rc)
		rc = run_check_existing(&run, err);
	if (rc || cfg->dry_run) {
		if (!rc)
			run_dry(&run, outcome);
		goto out;
	}
	/* the record of the batches lives in the run directory from the first submission on */
	if (cfg->engine.batch && !cfg->engine.offline)
		rc = sx_mkdir_p(cfg->out_dir, 0755, err);
	if (!rc && cfg->engine.batch == SX_ENGINE_BATCH_DIR)
		rc = sx_mkdir_p(cfg->engine.batch_dir, 0755, err);
	ec = cfg->engine;
	ec.answers = run.answers;
	ec.capture = cfg->capture;
	/* every process of the run in its ledger; --max-cost counts what the earlier ones spent */
	if (!rc && !cfg->rescore) {
		rc = run_ledger_open(&run.ledger, &run, err);
		ec.prior_cost = run.ledger.before.cost;
		ec.on_account = run_ledger_account;
		ec.account_ctx = &run.ledger;
	}
	if (!rc)
		rc = sx_engine_new(&ec, &run.engine, err);
	if (rc)
		goto out;
	running_engine = run.engine;
	if (!cfg->engine.offline) {
		/* what the server says about itself, for run.json; a server without /models is fine */
		struct sx_buf models = SX_BUF_INIT;

		if (!sx_engine_models(run.engine, &models))
			run.server_models = sx_buf_detach(&models, NULL);
		sx_buf_release(&models);
	}
	if (interrupted) /* Ctrl-C while loading: send nothing, write the empty partial run */
		sx_engine_interrupt(run.engine);
	rc = run_elicit(&run, err);
	if (!rc) {
		run_take_self(&run); /* whether or not any other stage runs */
		run_take_files(&run);
	}
	if (!rc && needs_perturbations(cfg))
		rc = explain_evaluate(&run, err);
	if (rc)
		goto out;
	outcome->items_failed = failed_items(&run);
	count_failures(&run, outcome);
	/* stopped early: Ctrl-C, or a cap left requests unsent */
	sx_engine_get_stats(run.engine, &st);
	stopped = interrupted || st.skipped > 0;
	if (cfg->capture) /* answers export: the answers are the result */
		rc = 0;
	else
		rc = write_run_dir(&run, !stopped && !outcome->requests_failed, outcome, err);
	if (!rc && stopped)
		rc = SX_ELIMIT;
out:
	outcome->reviews = (long)run.nrev;
	outcome->logprob_assumed = run.logprob_assumed;
	outcome->probes_failed = run.probes_failed;
	outcome->substituted = run.substituted[0] + run.substituted[1];
	outcome->naive_requests = run.naive;
	for (i = 0; run.answers && i < cfg->nanswers; i++) {
		size_t n, unused;

		sx_answers_usage(run.answers, i, &n, &unused);
		outcome->answers_loaded += (long)n;
		outcome->answers_unused += (long)unused;
	}
	if (run.engine)
		sx_engine_get_stats(run.engine, &outcome->stats);
	/*
	 * exit 3 writes nothing, but a ledger that holds spending (a key
	 * refused after answers that were paid for) stays: --max-cost counts it
	 */
	if (rc == SX_ENET && outcome->stats.prompt_tokens <= 0 &&
	    outcome->stats.completion_tokens <= 0 && !(outcome->stats.cost > 0))
		run_ledger_discard(&run.ledger);
	outcome->processes = run.ledger.processes + 1;
	outcome->total_sent = run.ledger.before.sent + outcome->stats.sent;
	outcome->total_cost = run.ledger.before.cost + outcome->stats.cost;
	run_release(&run);
	return rc;
}
