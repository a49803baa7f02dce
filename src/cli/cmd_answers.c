#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run_opts.h"
#include "selfexp/alloc.h"
#include "selfexp/answers.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"

static const char usage[] =
	"usage: selfexp answers export DIR [--cache FILE] > answers.jsonl\n"
	"\n"
	"Write every answer the run in DIR used, one JSON line each, in the format\n"
	"'selfexp run --answers FILE' reads:\n"
	"\n"
	"  {\"condition\": \"ep\", \"review\": \"the review as sent inside the <review>\n"
	"   tags, tokens joined by one space\", \"answer\": \"the raw answer text\",\n"
	"   \"model\": \"the run's model\"}\n"
	"\n"
	"\"condition\" is the prompt the text was sent under (pred for the perturbed\n"
	"reviews of a run with --perturb-prompt pred), \"review\" is empty for the\n"
	"empty review. Every request of the run is there: the elicited answers, the\n"
	"occlusion and LIME inputs and the faithfulness metrics' inputs, each once,\n"
	"in the order the run asked for them. The run is replayed from its recorded\n"
	"configuration (run.json) and the response cache (and the recorded answers\n"
	"files it used), as 'selfexp score' does, without the network; nothing in\n"
	"DIR is written. 'selfexp run --answers answers.jsonl --offline' with the\n"
	"run's options then reproduces its records.jsonl and summary.json byte for\n"
	"byte, on any machine, without the cache. Only runs with --prob verbal can\n"
	"be exported (an answer text carries no logprobs and one choice).\n"
	"\n"
	"options:\n"
	"  --cache FILE   the response cache (default: the one the run used, as\n"
	"                 recorded; else $SELFEXP_CACHE or DIR/../.selfexp/cache.sqlite)\n"
	"  -h, --help     show this help\n"
	"\n"
	"exit status: 0 ok, 1 unreadable run directory, 2 usage error,\n"
	"  5 some answers were missing from the cache (nothing is written)\n";

/* As `selfexp score` leaves it: DIR's recorded configuration, offline, nothing written. */
static int finish_config(struct sx_run_config *cfg, const char *dir, const char *cache,
			 struct sx_buf *cache_buf, struct sx_buf *prompts_buf)
{
	const char *env = getenv("SELFEXP_CACHE");

	cfg->out_dir = dir;
	cfg->rescore = 1;
	cfg->dry_run = 0;
	cfg->engine.offline = 1;
	cfg->engine.progress = 0;
	cfg->engine.api_key = NULL;
	cfg->engine.max_requests = 0;
	cfg->engine.max_cost = 0;
	if (cache) {
		cfg->engine.cache_path = cache;
	} else if (!cfg->engine.cache_path) {
		if (env && *env) {
			sx_buf_adds(cache_buf, env);
		} else {
			char *copy = xstrdup(dir);
			sx_buf_addf(cache_buf, "%s/.selfexp/cache.sqlite", dirname(copy));
			free(copy);
		}
		cfg->engine.cache_path = cache_buf->buf;
	}
	if (!cfg->prompts_dir) {
		sx_buf_addf(prompts_buf, "%s/prompts", sx_cli_home());
		cfg->prompts_dir = prompts_buf->buf;
	}
	if (!cfg->engine.base_url) {
		sx_cli_error("answers: '%s/run.json' records no endpoint (config.endpoint.base_url), "
			     "so no cache key can be made", dir);
		return -1;
	}
	if (cfg->prob != SX_PROB_VERBAL) {
		sx_cli_error("answers: the run in '%s' took P(positive) from %s; only answers of "
			     "--prob verbal runs can be exported (a recorded answer is its text)",
			     dir, cfg->prob == SX_PROB_LOGPROB ? "logprobs" : "sampled choices");
		return -1;
	}
	return 0;
}

/* 1 when DIR/run.json says the run stopped before it had every answer ("complete": false). */
static int run_partial(const char *dir)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_json *root = NULL;
	int complete = 1;

	sx_buf_addf(&path, "%s/run.json", dir);
	if (!sx_file_read(path.buf, 64u << 20, &text, NULL))
		root = sx_json_parse(text.buf, text.len, NULL);
	if (root && sx_json_get(root, "complete") && sx_json_bool(sx_json_get(root, "complete"), &complete))
		complete = 1;
	sx_json_free(root);
	sx_buf_release(&text);
	sx_buf_release(&path);
	return !complete;
}

static int do_export(const char *dir, const char *cache)
{
	struct sx_buf cache_buf = SX_BUF_INIT, prompts_buf = SX_BUF_INIT, out = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_run_config cfg;
	struct sx_run_outcome outcome;
	struct sx_answers *got = sx_answers_new();
	int rc = SX_EXIT_FAIL;

	if (sx_run_opts_load_config("answers", dir, &cfg, NULL))
		goto out;
	if (finish_config(&cfg, dir, cache, &cache_buf, &prompts_buf))
		goto release;
	cfg.capture = got;
	rc = sx_run(&cfg, &outcome, &err);
	if (rc) {
		sx_cli_error("answers: %s", err.msg);
		rc = rc == SX_ENET ? SX_EXIT_UNREACHABLE : SX_EXIT_FAIL;
		goto release;
	}
	if (outcome.requests_failed && run_partial(dir)) {
		sx_cli_error("answers: %ld answers of the run in '%s' are not in the cache '%s' "
			     "(elicit %ld, explain %ld, evaluate %ld): nothing written; the run is "
			     "partial (run.json: \"complete\": false): finish it first (run it "
			     "again with the same options and --out '%s'), then export",
			     outcome.requests_failed, dir, cfg.engine.cache_path,
			     outcome.failed_by_stage[0], outcome.failed_by_stage[1],
			     outcome.failed_by_stage[2], dir);
		rc = SX_EXIT_PARTIAL;
		goto release;
	}
	if (outcome.requests_failed) {
		sx_cli_error("answers: %ld answers of the run in '%s' are not in the cache '%s' "
			     "(elicit %ld, explain %ld, evaluate %ld): nothing written; pass the "
			     "cache the run filled with --cache", outcome.requests_failed, dir,
			     cfg.engine.cache_path, outcome.failed_by_stage[0],
			     outcome.failed_by_stage[1], outcome.failed_by_stage[2]);
		rc = SX_EXIT_PARTIAL;
		goto release;
	}
	sx_answers_write(got, cfg.gen.model, &out);
	if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len) {
		sx_cli_error("answers: cannot write to stdout");
		rc = SX_EXIT_FAIL;
		goto release;
	}
	if (fflush(stdout)) {
		sx_cli_error("answers: cannot write to stdout");
		rc = SX_EXIT_FAIL;
		goto release;
	}
	fprintf(stderr, "selfexp: answers: %zu answers of %ld reviews (lookups: %ld answered by "
		"recorded answers, %ld by the cache)\n", sx_answers_count(got), outcome.reviews,
		outcome.stats.recorded, outcome.stats.cache_hits);
	rc = SX_EXIT_OK;
release:
	sx_run_config_release(&cfg);
out:
	sx_answers_free(got);
	sx_buf_release(&cache_buf);
	sx_buf_release(&prompts_buf);
	sx_buf_release(&out);
	return rc;
}

int cmd_answers(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *cache = NULL, *dir = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			free(cache);
			cache = sx_path_absolute(optarg);
			break;
		case 'h': fputs(usage, stdout); free(cache); return SX_EXIT_OK;
		default: free(cache); return sx_cli_usage_hint("answers");
		}
	}
	if (optind >= argc) {
		sx_cli_error("answers: missing subcommand (export)");
		free(cache);
		return sx_cli_usage_hint("answers");
	}
	if (strcmp(argv[optind], "export")) {
		sx_cli_error("answers: unknown subcommand '%s' (expected export)", argv[optind]);
		free(cache);
		return sx_cli_usage_hint("answers");
	}
	if (optind + 2 != argc) {
		sx_cli_error("answers export: expected one run directory");
		free(cache);
		return sx_cli_usage_hint("answers");
	}
	dir = realpath(argv[optind + 1], NULL);
	if (!dir) {
		sx_cli_error("answers: cannot open run directory '%s'", argv[optind + 1]);
		free(cache);
		return SX_EXIT_FAIL;
	}
	rc = do_export(dir, cache);
	free(cache);
	free(dir);
	return rc;
}
