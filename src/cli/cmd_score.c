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
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"

static const char usage[] =
	"usage: selfexp score DIR [--cache FILE]\n"
	"\n"
	"Recompute every explanation, metric and statistic of the run in DIR from its\n"
	"recorded configuration (run.json) and the response cache, without the\n"
	"network, and rewrite DIR/records.jsonl and DIR/summary.json. Use it after a\n"
	"change to a metric's definition to re-apply it to an old run; on an\n"
	"unchanged build it reproduces summary.json exactly. The run.json of a\n"
	"complete run is kept byte for byte; that of a partial run is brought up to\n"
	"date with the result written (\"complete\", \"failures\", and \"scored\":\n"
	"this score's counts and what run.json said before), while its \"counts\"\n"
	"and \"totals\" keep what the run's processes sent and spent: a score that\n"
	"finds every answer completes the run for table, merge and compare.\n"
	"\n"
	"Everything comes from run.json: the data file and the prompt templates by\n"
	"their recorded absolute paths (a template whose SHA-256 differs from the\n"
	"recorded one is an error; so is an --explanations file's), the model, the\n"
	"endpoint the cache keys name, every generation parameter and seed. The\n"
	"environment (OPENAI_BASE_URL, OPENAI_API_KEY) and the working directory play\n"
	"no part. Run directories of selfexp 0.1.0 are read from their recorded\n"
	"fields and command line. A recorded configuration that lacks a field every\n"
	"run writes (bootstrap, seed, ...) is a damaged run.json: an error naming\n"
	"the field, never its default.\n"
	"A run recorded before the cache keys named the whole endpoint (its run.json\n"
	"has no endpoint.cache_keys) is scored from the rows it read: those keyed\n"
	"by its host alone.\n"
	"\n"
	"Answers missing from the cache are not fetched: they are counted by stage\n"
	"on stderr, and the exit status is 5. A result that is partial never\n"
	"replaces a complete run, nor a partial one that had answers for more\n"
	"requests (run.json counts): records.jsonl and summary.json are then left\n"
	"byte for byte as they were, and nothing is written. When the result is\n"
	"written, DIR/misses.jsonl lists each miss.\n"
	"\n"
	"options:\n"
	"  --cache FILE   the response cache (default: the one the run used, as\n"
	"                 recorded; for a 0.1.0 run without --cache, $SELFEXP_CACHE\n"
	"                 or DIR/../.selfexp/cache.sqlite)\n"
	"  -h, --help     show this help\n"
	"\n"
	"exit status: 0 ok, 1 unreadable run directory, 2 usage error,\n"
	"  5 some answers were missing from the cache\n";


/*
 * What the recorded configuration leaves open: the output is DIR itself,
 * answers come from the cache alone, no key and no progress line. Paths the
 * run left at their defaults get the defaults a run in DIR would have had.
 * Nothing here reads OPENAI_* or depends on the working directory.
 */
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
		sx_cli_error("score: '%s/run.json' records no endpoint (config.endpoint.base_url), "
			     "so no cache key can be made", dir);
		return -1;
	}
	return 0;
}

int cmd_score(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_buf cache_buf = SX_BUF_INIT, prompts_buf = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_run_config cfg;
	struct sx_run_outcome outcome;
	char *cache = NULL, *dir = NULL;
	int c, rc = SX_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			free(cache);
			cache = sx_path_absolute(optarg);
			break;
		case 'h': fputs(usage, stdout); free(cache); return SX_EXIT_OK;
		default: free(cache); return sx_cli_usage_hint("score");
		}
	}
	if (optind + 1 != argc) {
		sx_cli_error("score: expected one run directory");
		free(cache);
		return sx_cli_usage_hint("score");
	}
	dir = realpath(argv[optind], NULL);
	if (!dir) {
		sx_cli_error("score: cannot open run directory '%s'", argv[optind]);
		free(cache);
		return SX_EXIT_FAIL;
	}
	if (sx_run_opts_load_config("score", dir, &cfg, NULL))
		goto out;
	if (finish_config(&cfg, dir, cache, &cache_buf, &prompts_buf)) {
		sx_run_config_release(&cfg);
		goto out;
	}
	rc = sx_run(&cfg, &outcome, &err);
	rc = sx_run_report(&cfg, rc, &outcome, &err);
	sx_run_config_release(&cfg);
out:
	free(cache);
	free(dir);
	sx_buf_release(&cache_buf);
	sx_buf_release(&prompts_buf);
	return rc;
}
