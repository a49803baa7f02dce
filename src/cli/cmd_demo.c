#include <getopt.h>
#include <math.h>
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
#include "selfexp/num.h"
#include "selfexp/report.h"
#include "selfexp/sim.h"

static const char usage[] =
	"usage: selfexp demo [--out DIR] [--explain MODE] [--style STYLE]\n"
	"                    [--confidence-decimals D] [--conditions LIST] [--seed S]\n"
	"                    [--compat none|paper]\n"
	"\n"
	"Run the whole protocol against the built-in simulated model, over real HTTP\n"
	"on a free loopback port, on the sample of reviews shipped in data/demo.tsv,\n"
	"write the run directory and its HTML report (DIR/report.html) and print a\n"
	"summary. Nothing leaves the machine.\n"
	"\n"
	"The simulated model is a bag-of-words logistic model whose true token\n"
	"contributions are known (see 'selfexp sim --help'), so the faithfulness\n"
	"metrics can be read against a ground truth: with --explain faithful its\n"
	"self-explanations are its true contributions, with random they are noise.\n"
	"\n"
	"options:\n"
	"  --out DIR                run directory (default out/demo); the cache goes to\n"
	"                           DIR/../.selfexp/cache.sqlite, so a second demo is instant\n"
	"  --explain MODE           faithful (default), noisy:SIGMA, coarse, random, inverted\n"
	"  --style STYLE            answer style: clean, fenced, prose, echo, unquoted,\n"
	"                           truncated, mixed (default clean)\n"
	"  --confidence-decimals D  decimals of the verbal confidence (default 2)\n"
	"  --conditions LIST        prompt conditions (default ep,pe,ep-topk,pe-topk,pred)\n"
	"  --seed S                 run and sim seed (default 0)\n"
	"  --compat none|paper      metric definitions: DESIGN.md's (default) or those of\n"
	"                           the paper's code (see 'selfexp run --help' and\n"
	"                           docs/paper-compat.md)\n"
	"  --no-progress            no progress line\n"
	"  -h, --help               show this help\n"
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage error, 5 partial run\n";

static void print_cell(const struct sx_json *agg)
{
	double mean, lo, hi;

	if (sx_json_get_num(agg, "mean", &mean)) {
		printf(" %18s", "-");
		return;
	}
	if (!sx_json_get_num(agg, "ci_lo", &lo) && !sx_json_get_num(agg, "ci_hi", &hi))
		printf(" %6.3f [%5.2f,%5.2f]", mean, lo, hi);
	else
		printf(" %6.3f %11s", mean, "");
}

/* A compact text summary of summary.json (the full tables: `selfexp table`). */
static void print_summary(const char *dir)
{
	static const char *const metrics[] = { "comprehensiveness", "sufficiency", "df_mit",
					       "rankdel" };
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_json *sum = NULL, *conds, *c, *m;
	size_t i;

	sx_buf_addf(&path, "%s/summary.json", dir);
	if (sx_file_read(path.buf, 64u << 20, &text, NULL) ||
	    !(sum = sx_json_parse(text.buf, text.len, NULL)))
		goto out;
	conds = sx_json_get(sum, "conditions");
	printf("%-8s %-10s %8s", "cond", "method", "accuracy");
	for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		printf(" %18s", metrics[i]);
	putchar('\n');
	for (c = sx_json_child(conds); c; c = sx_json_next(c)) {
		double acc = NAN;
		int first = 1;

		sx_json_get_num(sx_json_get(c, "accuracy"), "mean", &acc);
		for (m = sx_json_child(sx_json_get(c, "methods")); m; m = sx_json_next(m)) {
			printf("%-8s %-10s ", first ? sx_json_key(c) : "", sx_json_key(m));
			if (first)
				printf("%8.3f", acc);
			else
				printf("%8s", "");
			first = 0;
			for (i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
				print_cell(sx_json_get(m, metrics[i]));
			putchar('\n');
		}
		if (first)
			printf("%-8s %-10s %8.3f\n", sx_json_key(c), "-", acc);
	}
	printf("(mean and 95 %% bootstrap interval over reviews; comprehensiveness, df_mit and\n"
	       " rankdel: higher is better; sufficiency: lower is better)\n");
out:
	sx_json_free(sum);
	sx_buf_release(&path);
	sx_buf_release(&text);
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "explain", required_argument, NULL, 'e' },
		{ "style", required_argument, NULL, 's' },
		{ "confidence-decimals", required_argument, NULL, 'd' },
		{ "conditions", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "compat", required_argument, NULL, 'C' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_sim_config sc = SX_SIM_CONFIG_INIT;
	struct sx_sim *sim = NULL;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf data = SX_BUF_INIT, weights = SX_BUF_INIT;
	struct sx_run_opts o;
	struct sx_run_outcome outcome;
	const char *out = "out/demo", *conditions = "ep,pe,ep-topk,pe-topk,pred", *seed = "0";
	const char *explain = "faithful", *compat = NULL;
	enum sx_compat compat_mode;
	char *rargv[24];
	int rargc = 0, c, rc, no_progress = 0;
	long l;

	sc.confidence_decimals = 2;
	sc.style = SX_SIM_STYLE_CLEAN;
	sc.quiet = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'e': explain = optarg; break;
		case 's':
			if (sx_sim_style_from_name(optarg, &sc.style))
				return sx_cli_bad_value("demo", "--style", optarg,
							"clean, fenced, prose, echo, unquoted, truncated or mixed");
			break;
		case 'd':
			if (sx_parse_long(optarg, 0, 9, &l))
				return sx_cli_bad_value("demo", "--confidence-decimals", optarg, "0..9");
			sc.confidence_decimals = (int)l;
			break;
		case 'c': conditions = optarg; break;
		case 'S':
			if (sx_parse_long(optarg, 0, 2147483647L, &l))
				return sx_cli_bad_value("demo", "--seed", optarg, "a non-negative integer");
			sc.seed = (uint64_t)l;
			seed = optarg;
			break;
		case 'C':
			if (sx_compat_from_name(optarg, &compat_mode))
				return sx_cli_bad_value("demo", "--compat", optarg, "none or paper");
			compat = optarg;
			break;
		case 'P': no_progress = 1; break;
		case 'h': fputs(usage, stdout); return SX_EXIT_OK;
		default: return sx_cli_usage_hint("demo");
		}
	}
	if (optind < argc) {
		sx_cli_error("demo: unexpected argument '%s'", argv[optind]);
		return sx_cli_usage_hint("demo");
	}
	{
		const char *colon = strchr(explain, ':');
		char *name = xstrndup(explain, colon ? (size_t)(colon - explain) : strlen(explain));
		int bad = sx_sim_explain_from_name(name, &sc.explain);

		free(name);
		if (!bad && colon && sx_parse_double(colon + 1, &sc.noise_sigma))
			bad = 1;
		if (bad || (sc.explain == SX_SIM_EXPLAIN_NOISY && !colon))
			return sx_cli_bad_value("demo", "--explain", explain,
						"faithful, noisy:SIGMA, coarse, random or inverted");
	}
	sx_buf_addf(&weights, "%s/data/sim-weights.txt", sx_cli_home());
	sx_buf_addf(&data, "%s/data/demo.tsv", sx_cli_home());
	sc.weights_path = weights.buf;
	if (sx_sim_start(&sc, &sim, &err)) {
		sx_cli_error("demo: cannot start the simulated model: %s", err.msg);
		rc = SX_EXIT_FAIL;
		goto out;
	}
	fprintf(stderr, "selfexp: demo: simulated model (explain %s) at %s\n", explain,
		sx_sim_address(sim));
	rargv[rargc++] = (char *)"demo";
	rargv[rargc++] = (char *)"--data";
	rargv[rargc++] = data.buf;
	rargv[rargc++] = (char *)"--out";
	rargv[rargc++] = (char *)out;
	rargv[rargc++] = (char *)"--model";
	rargv[rargc++] = (char *)"sim";
	rargv[rargc++] = (char *)"--conditions";
	rargv[rargc++] = (char *)conditions;
	rargv[rargc++] = (char *)"--seed";
	rargv[rargc++] = (char *)seed;
	rargv[rargc++] = (char *)"--concurrency";
	rargv[rargc++] = (char *)"64";
	rargv[rargc++] = (char *)"--base-url";
	rargv[rargc++] = (char *)sx_sim_address(sim);
	if (compat) {
		rargv[rargc++] = (char *)"--compat";
		rargv[rargc++] = (char *)compat;
	}
	if (no_progress)
		rargv[rargc++] = (char *)"--no-progress";
	rargv[rargc] = NULL;
	rc = sx_run_opts_parse(&o, "demo", NULL, rargc, rargv);
	if (rc >= 0)
		goto out;
	rc = sx_run_opts_finish(&o, "demo");
	if (rc) {
		sx_run_opts_release(&o);
		goto out;
	}
	rc = sx_run(&o.cfg, &outcome, &err);
	rc = sx_run_report(&o.cfg, rc, &outcome, &err);
	if (rc == SX_EXIT_OK || rc == SX_EXIT_PARTIAL) {
		struct sx_buf report = SX_BUF_INIT;

		print_summary(out);
		printf("run directory: %s\n", out);
		sx_buf_addf(&report, "%s/report.html", out);
		if (sx_report_write(out, report.buf, NULL, &err)) {
			sx_cli_error("demo: cannot write the report: %s", err.msg);
			rc = SX_EXIT_FAIL;
		} else {
			printf("report: %s\n", report.buf);
		}
		sx_buf_release(&report);
	}
	sx_run_opts_release(&o);
out:
	sx_sim_stop(sim);
	sx_buf_release(&data);
	sx_buf_release(&weights);
	return rc;
}
