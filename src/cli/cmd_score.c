#include <getopt.h>
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
	"unchanged build it reproduces summary.json exactly. run.json is kept.\n"
	"\n"
	"Answers missing from the cache are not fetched: they are counted as\n"
	"failed, reported on stderr, and the exit status is 5.\n"
	"\n"
	"options:\n"
	"  --cache FILE   the response cache (default: the one the run used)\n"
	"  -h, --help     show this help\n"
	"\n"
	"exit status: 0 ok, 1 unreadable run directory, 2 usage error,\n"
	"  5 some answers were missing from the cache\n";

#define RUN_JSON_MAX (16u * 1024u * 1024u)

int cmd_score(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *run = NULL, *args;
	struct sx_run_opts o;
	struct sx_run_outcome outcome;
	const char *cwd;
	char *cache = NULL, *dir = NULL, **nargv = NULL;
	size_t i, na;
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
	sx_buf_addf(&path, "%s/run.json", dir);
	if (sx_file_read(path.buf, RUN_JSON_MAX, &text, &err) ||
	    !(run = sx_json_parse(text.buf, text.len, &err))) {
		sx_cli_error("score: %s (is '%s' a run directory?)", err.msg, dir);
		goto out;
	}
	args = sx_json_get(run, "argv");
	cwd = sx_json_get_str(run, "cwd");
	if (!args || !cwd || !sx_json_len(args)) {
		sx_cli_error("score: '%s' has no recorded command (argv, cwd)", path.buf);
		goto out;
	}
	na = sx_json_len(args);
	nargv = xcalloc(na + 8, sizeof(char *));
	for (i = 0; i < na; i++) {
		const char *s = sx_json_str(sx_json_at(args, i));
		nargv[i] = xstrdup(s ? s : "");
	}
	nargv[na++] = xstrdup("--offline");
	nargv[na++] = xstrdup("--no-progress");
	nargv[na++] = xstrdup("--out");
	nargv[na++] = xstrdup(dir);
	if (cache) {
		nargv[na++] = xstrdup("--cache");
		nargv[na++] = xstrdup(cache);
	}
	if (chdir(cwd)) {
		sx_cli_error("score: the run's working directory '%s' is gone; "
			     "its relative paths cannot be resolved", cwd);
		goto out;
	}
	rc = sx_run_opts_parse(&o, "run", NULL, (int)na, nargv);
	if (rc >= 0)
		goto out;
	rc = sx_run_opts_finish(&o, "score");
	if (rc) {
		sx_run_opts_release(&o);
		goto out;
	}
	o.cfg.rescore = 1;
	rc = sx_run(&o.cfg, &outcome, &err);
	if (!rc && outcome.stats.failed)
		fprintf(stderr, "selfexp: score: %ld answers were missing from the cache '%s'\n",
			outcome.stats.failed, o.cfg.engine.cache_path);
	rc = sx_run_report(&o.cfg, rc, &outcome, &err);
	if (rc == SX_EXIT_OK && outcome.stats.failed)
		rc = SX_EXIT_PARTIAL;
	sx_run_opts_release(&o);
out:
	if (nargv)
		for (i = 0; i < na; i++)
			free(nargv[i]);
	free(nargv);
	free(cache);
	free(dir);
	sx_json_free(run);
	sx_buf_release(&path);
	sx_buf_release(&text);
	return rc;
}
