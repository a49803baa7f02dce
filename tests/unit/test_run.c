/*
 * The run's stages (src/run/) through their internal header, the
 * configuration's JSON round trip, the registry and occlusion; and one whole
 * run against the in-process simulated model, whose answers are known.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define TMPDIR_NAME "test_run"
#include "tmpdir.h"
#include "../../src/run/run.h"
#include "selfexp/alloc.h"
#include "selfexp/file.h"
#include "selfexp/occlusion.h"
#include "selfexp/rundir.h"
#include "selfexp/sim.h"

static const char *home(void)
{
	const char *h = getenv("SELFEXP_HOME");
	return h && *h ? h : SX_HOME;
}

/* ---------------------------------------------------------------- registry */

static void test_registry_offsets(void **state)
{
	struct sx_faith f;
	struct sx_agree a;
	struct sx_agree_topk t;
	const struct sx_metric_def *m;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.comp = 1; f.suff = 2; f.df_mit = 3; f.df_frac = 4; f.rankdel = 5; f.aopc_comp = 6;
	f.aopc_suff = 7;
	a.feature = 11; a.rank = 12; a.sign = 13; a.signed_rank = 14; a.iou = 15; a.spearman = 16;
	a.pairwise = 17;
	t.feature = 21; t.iou = 25;
	assert_int_equal(sx_metric_count(SX_METRIC_FAITH), 7);
	assert_int_equal(sx_metric_count(SX_METRIC_AGREE), 7);
	assert_int_equal(sx_metric_count(SX_METRIC_ANSWER), 3);
	assert_true(sx_metric_value(sx_metric_find("comprehensiveness"), &f, 0) == 1);
	assert_true(sx_metric_value(sx_metric_find("sufficiency"), &f, 0) == 2);
	assert_true(sx_metric_value(sx_metric_find("df_mit"), &f, 0) == 3);
	assert_true(sx_metric_value(sx_metric_find("df_frac"), &f, 0) == 4);
	assert_true(sx_metric_value(sx_metric_find("rankdel"), &f, 0) == 5);
	assert_true(sx_metric_value(sx_metric_find("aopc_comprehensiveness"), &f, 0) == 6);
	assert_true(sx_metric_value(sx_metric_find("aopc_sufficiency"), &f, 0) == 7);
	assert_true(sx_metric_value(sx_metric_find("spearman"), &a, 0) == 16);
	assert_true(sx_metric_value(sx_metric_find("pairwise"), &a, 0) == 17);
	assert_true(sx_metric_value(sx_metric_find("iou"), &t, 1) == 25);
	assert_true(isnan(sx_metric_value(sx_metric_find("rank"), &t, 1)));
	/* the order of records.jsonl and summary.json */
	assert_string_equal(sx_metric_of(SX_METRIC_FAITH, 0)->key, "comprehensiveness");
	assert_string_equal(sx_metric_of(SX_METRIC_AGREE, 6)->key, "pairwise");
	assert_null(sx_metric_of(SX_METRIC_AGREE, 7));
	/* directions */
	assert_int_equal(sx_metric_find("sufficiency")->dir, SX_DIR_DOWN);
	assert_int_equal(sx_metric_find("df_frac")->dir, SX_DIR_DOWN);
	assert_int_equal(sx_metric_find("comprehensiveness")->dir, SX_DIR_UP);
	assert_int_equal(sx_metric_find("parse_failures")->dir, SX_DIR_DOWN);
	assert_null(sx_metric_find("nope"));
	for (m = sx_metrics; m < sx_metrics + sx_nmetrics; m++)
		assert_true(m->kind != SX_METRIC_FAITH || m->offset != SX_NO_OFFSET);
}

static void test_registry_methods(void **state)
{
	enum sx_method m;

	(void)state;
	assert_string_equal(sx_method_record_name(SX_METHOD_SELF, SX_COND_EP), "self");
	assert_string_equal(sx_method_record_name(SX_METHOD_SELF, SX_COND_PE_TOPK), "topk");
	assert_string_equal(sx_method_record_name(SX_METHOD_SELF, SX_COND_PRED), "prediction");
	assert_string_equal(sx_method_record_name(SX_METHOD_LIME, SX_COND_PRED), "lime");
	assert_int_equal(sx_method_from_record_name("topk", &m), 0);
	assert_int_equal(m, SX_METHOD_SELF);
	assert_int_equal(sx_method_from_name("occlusion", &m), 0);
	assert_int_equal(m, SX_METHOD_OCCLUSION);
	assert_int_equal(sx_method_from_name("topk", &m), -1);
	assert_string_equal(sx_method_table_label("topk"), "self (top-k)");
	assert_string_equal(sx_method_table_label("lime"), "LIME");
	assert_int_equal(sx_methods[SX_METHOD_LIME].bit, SX_EXPLAIN_LIME);
}

/* ---------------------------------------------------------------- occlusion */

static void test_occlusion(void **state)
{
	unsigned char *m = sx_occlusion_masks(3);
	const unsigned char want[9] = { 0, 1, 1, 1, 0, 1, 1, 1, 0 };
	double p[3] = { 0.5, 0.9, 0.75 }, v[3];

	(void)state;
	assert_memory_equal(m, want, 9);
	free(m);
	assert_null(sx_occlusion_masks(0));
	assert_int_equal(sx_occlusion_values(0.8, p, 3, v), 0);
	assert_true(fabs(v[0] - 0.3) < 1e-15 && fabs(v[1] + 0.1) < 1e-15 && fabs(v[2] - 0.05) < 1e-15);
	p[1] = NAN;
	assert_int_equal(sx_occlusion_values(0.8, p, 3, v), -1);
	p[1] = 0.9;
	assert_int_equal(sx_occlusion_values(NAN, p, 3, v), -1);
}

/* ---------------------------------------------------------------- batch, prob */

static void test_batch_dedup_and_text(void **state)
{
	struct sx_run_config cfg;
	struct run run;
	struct batch b;
	struct sx_buf text = SX_BUF_INIT;
	char *toks[] = { (char *)"a", (char *)"good", (char *)"film" };
	struct sx_review rv;
	const unsigned char keep[3] = { 1, 0, 1 };
	size_t i0, i1, i2, ntok;

	(void)state;
	sx_run_config_init(&cfg);
	memset(&run, 0, sizeof(run));
	memset(&rv, 0, sizeof(rv));
	run.cfg = &cfg;
	rv.tokens = toks;
	rv.ntokens = 3;
	run_batch_init(&b, SX_COND_PE);
	i0 = run_batch_add_masked(&run, &b, &rv, NULL, &text);
	i1 = run_batch_add_masked(&run, &b, &rv, keep, &text);
	i2 = run_batch_add_masked(&run, &b, &rv, NULL, &text);
	assert_int_equal(i0, i2);
	assert_int_not_equal(i0, i1);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.asked, 3);
	assert_string_equal(b.texts[i1], "a film");
	assert_int_equal(b.ntok[i1], 2);
	cfg.mask_word = "UNK";
	run_text(&run, &rv, keep, &text, &ntok);
	assert_string_equal(text.buf, "a UNK film");
	assert_int_equal(ntok, 3);
	run_batch_release(&b);
	sx_buf_release(&text);
}

static void test_prob_sources(void **state)
{
	struct sx_run_config cfg;
	struct sx_parse_result pr = SX_PARSE_RESULT_INIT;
	struct sx_chat_answer a;
	char c0[] = "(1, 0.9)", c1[] = "(0, 0.8)", c2[] = "(1, 0.6)", c3[] = "nothing";
	char *choices[] = { c0, c1, c2, c3 };
	double p = -1;

	(void)state;
	sx_run_config_init(&cfg);
	memset(&a, 0, sizeof(a));
	sx_parse_answer(SX_COND_PRED, c1, strlen(c1), NULL, 0, &pr);
	assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), 0);
	assert_true(fabs(p - 0.2) < 1e-12); /* label 0 at 0.8: P(pos) = 0.2 */
	cfg.prob = SX_PROB_LOGPROB;
	/* the label token of "(0, 0.8)" is byte 1; a decoy "0" token at byte 4 */
	{
		struct sx_chat_label_token lt[2] = { { 1, 1, log(0.25), log(0.5) },
						     { 4, 1, log(0.9), log(0.1) } };
		int assumed = 0;

		a.label_tokens = lt;
		a.nlabel_tokens = 2;
		a.logprob_0 = log(0.9); /* the first label token's: not the one used */
		a.logprob_1 = log(0.1);
		assert_int_equal(pr.label_at, 1);
		assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), 0);
		assert_true(fabs(p - 2.0 / 3.0) < 1e-12);
		/* the other label absent: the rest of the mass */
		lt[0].logprob_1 = NAN;
		assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, &assumed), 0);
		assert_true(fabs(p - 0.75) < 1e-12 && assumed == 1);
		lt[0].logprob_0 = NAN;
		assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), -1);
		a.label_tokens = NULL;
		a.nlabel_tokens = 0;
		assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), -1);
	}
	cfg.prob = SX_PROB_SAMPLE;
	a.choices = choices;
	a.nchoices = 4;
	assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), 0);
	assert_true(fabs(p - 2.0 / 3.0) < 1e-12); /* 2 of the 3 usable choices say 1 */
	/* fewer choices than n asked for (a server that ignores n): unknown, never 0 or 1 */
	cfg.gen.n = 4;
	assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), 0);
	a.nchoices = 1;
	assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), -1);
	cfg.gen.n = 1;
	a.nchoices = 0;
	assert_int_equal(run_answer_p_pos(&cfg, &a, &pr, &p, NULL), -1);
	sx_parse_result_release(&pr);
	/* the label: stated (verbal); the more probable one, a tie broken by the stated one */
	sx_parse_answer(SX_COND_PRED, c2, strlen(c2), NULL, 0, &pr); /* (1, 0.6) */
	cfg.prob = SX_PROB_VERBAL;
	assert_int_equal(run_answer_label(&cfg, &pr, 0.6), 1);
	assert_int_equal(run_answer_label(&cfg, &pr, NAN), -1);
	cfg.prob = SX_PROB_LOGPROB;
	assert_int_equal(run_answer_label(&cfg, &pr, 0.3), 0);
	assert_int_equal(run_answer_label(&cfg, &pr, 0.5), 1);
	cfg.prob = SX_PROB_SAMPLE;
	assert_int_equal(run_answer_label(&cfg, &pr, 0.75), 1);
	sx_parse_result_release(&pr);
	sx_parse_answer(SX_COND_PRED, c3, strlen(c3), NULL, 0, &pr); /* no stated label */
	assert_int_equal(run_answer_label(&cfg, &pr, 0.5), -1);
	assert_int_equal(run_answer_label(&cfg, &pr, 0.25), 0);
	sx_parse_result_release(&pr);
}

/* ---------------------------------------------------------------- configuration */

static void test_config_round_trip(void **state)
{
	struct sx_run_config a, b;
	struct sx_json *j, *run = sx_json_new_object();
	struct sx_err err = SX_ERR_INIT;
	const char *hashes[SX_COND_COUNT] = { "h-ep", NULL, NULL, "h-pe-topk", NULL };
	char *s1, *s2;

	(void)state;
	sx_run_config_init(&a);
	a.data_path = "/data/x.tsv";
	a.data_opts.format = SX_DATA_JSONL;
	a.data_opts.skip_bad_rows = 1;
	a.prompts_dir = "/p";
	a.conditions = (1u << SX_COND_EP) | (1u << SX_COND_PE_TOPK);
	a.explainers = SX_EXPLAIN_SELF | SX_EXPLAIN_LIME;
	a.limit = 17;
	a.seed = 18446744073709551615ull;
	a.prob = SX_PROB_SAMPLE;
	a.gen.n = 5;
	a.gen.model = "m";
	a.gen.temperature = 0.7;
	a.gen.top_p = 0.3;
	a.gen.max_tokens = 99;
	a.gen.seed = 4;
	a.engine.base_url = "https://user:secret@api.example:8443/v1?api-version=2&key=x";
	a.engine.cache_path = "/c/cache.sqlite";
	a.engine.concurrency = 3;
	a.engine.rpm = 60.5;
	a.engine.retries = 2;
	a.engine.timeout_s = 7.25;
	a.engine.insecure = 1;
	a.endpoint_host = "api.example";
	a.lime_samples = 0;
	a.lime_factor = 3.5;
	a.lime_kernel_width = 12;
	a.mask_word = "UNK";
	a.perturb_pred = 1;
	a.compat = SX_COMPAT_PAPER;
	a.metrics = 0;
	a.bootstrap = 77;
	j = sx_run_config_to_json(&a, hashes);
	s1 = sx_json_print(j, 0);
	/* no credentials, no query */
	assert_null(strstr(s1, "secret"));
	assert_null(strstr(s1, "api-version"));
	assert_non_null(strstr(s1, "\"base_url\":\"https://api.example:8443/v1\""));
	sx_json_add(run, "config", j);
	assert_int_equal(sx_run_config_from_json(&b, run, &err), 0);
	assert_string_equal(b.data_path, "/data/x.tsv");
	assert_int_equal(b.data_opts.format, SX_DATA_JSONL);
	assert_int_equal(b.data_opts.skip_bad_rows, 1);
	assert_string_equal(b.prompts_dir, "/p");
	assert_string_equal(b.prompt_hash[SX_COND_EP], "h-ep");
	assert_string_equal(b.prompt_hash[SX_COND_PE_TOPK], "h-pe-topk");
	assert_null(b.prompt_hash[SX_COND_PE]);
	assert_int_equal(b.conditions, a.conditions);
	assert_int_equal(b.explainers, a.explainers);
	assert_int_equal(b.limit, 17);
	assert_true(b.seed == a.seed);
	assert_int_equal(b.prob, SX_PROB_SAMPLE);
	assert_int_equal(b.gen.n, 5);
	assert_string_equal(b.gen.model, "m");
	assert_true(b.gen.temperature == 0.7 && b.gen.top_p == 0.3);
	assert_int_equal(b.gen.max_tokens, 99);
	assert_int_equal(b.gen.seed, 4);
	assert_string_equal(b.engine.base_url, "https://api.example:8443/v1");
	assert_string_equal(b.engine.cache_path, "/c/cache.sqlite");
	assert_int_equal(b.engine.concurrency, 3);
	assert_true(b.engine.rpm == 60.5 && b.engine.timeout_s == 7.25);
	assert_int_equal(b.engine.retries, 2);
	assert_int_equal(b.engine.insecure, 1);
	assert_string_equal(b.endpoint_host, "api.example");
	assert_true(b.lime_factor == 3.5 && b.lime_kernel_width == 12);
	assert_string_equal(b.mask_word, "UNK");
	assert_int_equal(b.perturb_pred, 1);
	assert_int_equal(b.compat, SX_COMPAT_PAPER);
	assert_int_equal(b.metrics, 0);
	assert_int_equal(b.bootstrap, 77);
	/* and the second trip writes the same JSON */
	j = sx_run_config_to_json(&b, (const char *const *)b.prompt_hash);
	s2 = sx_json_print(j, 0);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	sx_json_free(j);
	sx_json_free(run);
	sx_run_config_release(&b);
}

static struct sx_json *parse_file(const char *path)
{
	struct sx_buf text = SX_BUF_INIT;
	struct sx_json *j;

	assert_int_equal(sx_file_read(path, 1 << 24, &text, NULL), 0);
	j = sx_json_parse(text.buf, text.len, NULL);
	assert_non_null(j);
	sx_buf_release(&text);
	return j;
}

/* tests/golden/run-small/run.json was written by selfexp 0.1.0: no "config". */
static void test_config_from_old_run_json(void **state)
{
	struct sx_buf path = SX_BUF_INIT;
	struct sx_run_config cfg;
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *run;
	const char *cwd;

	(void)state;
	sx_buf_addf(&path, "%s/tests/golden/run-small/run.json", home());
	run = parse_file(path.buf);
	cwd = sx_json_get_str(run, "cwd");
	assert_null(sx_json_get(run, "config"));
	assert_int_equal(sx_run_config_from_json(&cfg, run, &err), 0);
	assert_true(!strncmp(cfg.data_path, cwd, strlen(cwd)));
	assert_non_null(strstr(cfg.data_path, "data/demo.tsv"));
	assert_int_equal(cfg.limit, 8);
	assert_true(cfg.seed == 7);
	assert_int_equal(cfg.bootstrap, 200);
	assert_true(cfg.lime_factor == 3);
	assert_int_equal(cfg.lime_samples, 0);
	assert_string_equal(cfg.gen.model, "sim");
	assert_int_equal(cfg.conditions, (1u << SX_COND_EP) | (1u << SX_COND_PE) |
					 (1u << SX_COND_EP_TOPK) | (1u << SX_COND_PE_TOPK));
	assert_int_equal(cfg.explainers, SX_EXPLAIN_SELF | SX_EXPLAIN_OCCLUSION | SX_EXPLAIN_LIME);
	assert_string_equal(cfg.endpoint_host, "127.0.0.1");
	assert_string_equal(cfg.engine.base_url, "http://127.0.0.1/v1");
	assert_non_null(cfg.prompt_hash[SX_COND_EP]);
	assert_null(cfg.prompt_hash[SX_COND_PRED]);
	assert_int_equal(cfg.metrics, 1);
	/* --cache was given as an absolute path in argv */
	assert_non_null(cfg.engine.cache_path);
	assert_true(cfg.engine.cache_path[0] == '/');
	sx_run_config_release(&cfg);
	sx_json_free(run);
	sx_buf_release(&path);
}

static void test_config_errors(void **state)
{
	static const char *const bad[] = {
		"{\"config\":{\"format\":2}}",
		"{\"config\":{\"format\":1,\"conditions\":[\"xx\"]}}",
		"{\"config\":{\"format\":1,\"explainers\":[]}}",
		"{\"config\":{\"format\":1,\"seed\":\"-1\"}}",
		"{\"config\":{\"format\":1,\"prob\":\"sample:1\"}}",
		"{\"config\":{\"format\":1,\"bootstrap\":1.5}}",
		"{\"config\":{\"format\":1,\"generation\":{\"model\":3}}}",
		"{\"config\":{\"format\":1,\"compat\":\"x\"}}",
		"{\"selfexp_version\":\"0.1.0\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sx_json *j = sx_json_parse(bad[i], strlen(bad[i]), NULL);
		struct sx_run_config cfg;
		struct sx_err err = SX_ERR_INIT;

		assert_non_null(j);
		assert_int_not_equal(sx_run_config_from_json(&cfg, j, &err), 0);
		assert_true(err.msg[0] != '\0');
		assert_null(cfg.owned);
		sx_json_free(j);
	}
}

/* ---------------------------------------------------------------- a whole run */

static void write_data(const char *path)
{
	static const char tsv[] = "sentence\tlabel\n"
				  "a good film\t1\n"
				  "a bad , dull film\t0\n"
				  "good good bad\t1\n";

	assert_int_equal(sx_file_write_atomic(path, tsv, strlen(tsv), 0600, NULL), 0);
}

static size_t count_lines(const char *path)
{
	struct sx_buf b = SX_BUF_INIT;
	size_t i, n = 0;

	assert_int_equal(sx_file_read(path, 1 << 26, &b, NULL), 0);
	for (i = 0; i < b.len; i++)
		n += b.buf[i] == '\n';
	sx_buf_release(&b);
	return n;
}

/*
 * With 9 decimals of verbal confidence the sim's P(pos) is exact to 5e-10,
 * so occlusion must equal p(x) - p(x \ {i}) computed from its weights.
 */
static void test_run_against_sim(void **state)
{
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *sim = NULL;
	struct sx_run_config cfg;
	struct sx_run_outcome out;
	struct sx_err err = SX_ERR_INIT;
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_buf weights = SX_BUF_INIT, prompts = SX_BUF_INIT;
	char *data = tmpdir_path("three.tsv"), *dir = tmpdir_path("run"), *cache = tmpdir_path("c.sqlite");
	char *toks[] = { (char *)"a", (char *)"bad", (char *)",", (char *)"dull", (char *)"film" };
	const struct sx_json *rec, *imp;
	size_t i;
	int rc;

	(void)state;
	write_data(data);
	sx_buf_addf(&weights, "%s/data/sim-weights.txt", home());
	sx_buf_addf(&prompts, "%s/prompts", home());
	sc.weights_path = weights.buf;
	sc.confidence_decimals = 9;
	sc.quiet = 1;
	sc.threads = 2;
	assert_int_equal(sx_sim_start(&sc, &sim, &err), 0);
	sx_run_config_init(&cfg);
	cfg.data_path = data;
	cfg.out_dir = dir;
	cfg.prompts_dir = prompts.buf;
	cfg.gen.model = "sim";
	cfg.engine.base_url = sx_sim_address(sim);
	cfg.engine.cache_path = cache;
	cfg.endpoint_host = "127.0.0.1";
	cfg.lime_samples = 30;
	cfg.bootstrap = 20;
	rc = sx_run(&cfg, &out, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(out.reviews, 3);
	assert_int_equal(out.items_failed, 0);
	assert_true(out.stats.unique > 0 && out.stats.unique < out.naive_requests);
	assert_int_equal(sx_rundir_load(&rd, dir, SX_RUNDIR_SUMMARY | SX_RUNDIR_RECORDS, &err), 0);
	/* 3 reviews x 2 conditions x 3 methods */
	assert_int_equal(rd.nrecords, 18);
	rec = sx_rundir_record(&rd, "2", "pe", "occlusion");
	if (!rec) /* ids are the line numbers of the TSV file */
		rec = sx_rundir_record(&rd, "3", "pe", "occlusion");
	assert_non_null(rec);
	imp = sx_json_get(rec, "importance");
	assert_int_equal(sx_json_len(imp), 5);
	for (i = 0; i < 5; i++) {
		const struct sx_sim_model *m = sx_sim_get_model(sim);
		char *rest[5];
		size_t j, k = 0;
		double v, want;

		for (j = 0; j < 5; j++)
			if (j != i)
				rest[k++] = toks[j];
		want = sx_sim_model_p_pos(m, toks, 5) - sx_sim_model_p_pos(m, rest, 4);
		assert_int_equal(sx_json_num(sx_json_at(imp, i), &v), 0);
		assert_true(fabs(v - want) < 2e-9);
	}
	assert_true(sx_json_get(sx_json_get(rd.run, "config"), "generation") != NULL);
	sx_rundir_release(&rd);
	{
		char *rec_path = tmpdir_path("run/records.jsonl");
		assert_int_equal(count_lines(rec_path), 18);
		free(rec_path);
	}
	sx_sim_stop(sim);
	sx_buf_release(&weights);
	sx_buf_release(&prompts);
	free(data);
	free(dir);
	free(cache);
}

/* The dry run counts the requests without an engine: elicit n, explain 1 + n + samples per review. */
static void test_dry_run_counts(void **state)
{
	struct sx_run_config cfg;
	struct sx_run_outcome out;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf prompts = SX_BUF_INIT;
	char *data = tmpdir_path("dry.tsv");
	int i;

	(void)state;
	write_data(data);
	sx_buf_addf(&prompts, "%s/prompts", home());
	sx_run_config_init(&cfg);
	cfg.data_path = data;
	cfg.prompts_dir = prompts.buf;
	cfg.conditions = 1u << SX_COND_PE;
	cfg.lime_samples = 4;
	cfg.dry_run = 1;
	assert_int_equal(sx_run(&cfg, &out, &err), 0);
	assert_int_equal(out.nest, 3);
	assert_string_equal(out.est[0].stage, "elicit pe");
	assert_int_equal(out.est[0].naive, 3);
	assert_string_equal(out.est[1].stage, "explain pe");
	/* per review: the review, n deletions, 4 LIME samples: (1+3+4) + (1+5+4) + (1+3+4) */
	assert_int_equal(out.est[1].naive, 26);
	assert_true(out.est[1].distinct < 26);
	assert_string_equal(out.est[2].stage, "evaluate pe");
	/* 3 methods x 3n + 1 per review */
	assert_int_equal(out.est[2].naive, (3 * 9 + 1) + (3 * 15 + 1) + (3 * 9 + 1));
	assert_int_equal(out.est[2].upper_bound, 1);
	for (i = 0; i < out.nest; i++)
		assert_true(out.est[i].prompt_tokens > 0);
	free(data);
	sx_buf_release(&prompts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_offsets),
		cmocka_unit_test(test_registry_methods),
		cmocka_unit_test(test_occlusion),
		cmocka_unit_test(test_batch_dedup_and_text),
		cmocka_unit_test(test_prob_sources),
		cmocka_unit_test(test_config_round_trip),
		cmocka_unit_test(test_config_from_old_run_json),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_run_against_sim),
		cmocka_unit_test(test_dry_run_counts),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
