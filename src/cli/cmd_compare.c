#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "selfexp/buf.h"
#include "selfexp/compare.h"
#include "selfexp/file.h"
#include "selfexp/num.h"
#include "selfexp/rundir.h"

static const char usage[] =
	"usage: selfexp compare BASE_DIR NEW_DIR [--metrics LIST] [--conditions LIST]\n"
	"                       [--tolerance T] [--alpha A] [--bootstrap B]\n"
	"                       [--markdown FILE] [--junit FILE]\n"
	"\n"
	"The CI gate: did explanation quality regress from the run in BASE_DIR to the\n"
	"run in NEW_DIR? The runs are paired by review id and condition (and method).\n"
	"For each condition in both runs and each metric, the change new - base gets\n"
	"a paired 95 % interval (Newcombe's where both runs' values are 0 or 1:\n"
	"accuracy, the parse-failure and failed-request rates, DF_MIT, METRIC_defined;\n"
	"else the studentized bootstrap of the differences, its resamples seeded by\n"
	"the condition, method and metric, so the same runs give the same interval) and a\n"
	"Wilcoxon signed-rank p-value (exact up to 50 non-zero differences),\n"
	"Holm-adjusted across the comparisons that have one: where every difference\n"
	"is zero there is no p-value ('-') and the row is not counted. A metric\n"
	"regressed when it got worse (in its direction) by more than the tolerance\n"
	"and its adjusted p-value is below alpha. Where the runs disagree on which\n"
	"reviews an explanation metric has a value for, it gets a second row,\n"
	"METRIC_defined: the share of the paired reviews it has a value for (higher\n"
	"is better), tested the same way; answers to the perturbed reviews that stop\n"
	"parsing leave a metric undefined, which its own row, paired over the reviews\n"
	"defined in both, does not see. Reads only the two run directories.\n"
	"\n"
	"metrics (per review; METHOD:METRIC for occlusion, lime or a method of the\n"
	"runs' --explanations files, default self):\n"
	"  accuracy               usable prediction equals the gold label (higher is better)\n"
	"  parse_failures         the answer came but gave no usable prediction (lower)\n"
	"  failed_requests        the request failed after its retries (lower)\n"
	"  comprehensiveness, df_mit, rankdel, aopc_comprehensiveness       (higher)\n"
	"  sufficiency, df_frac, aopc_sufficiency                           (lower)\n"
	"\n"
	"options:\n"
	"  --metrics LIST     comma-separated, default\n"
	"                     " SX_COMPARE_DEFAULT_METRICS "\n"
	"  --conditions LIST  only these prompt conditions (default: all in both runs)\n"
	"  --tolerance T      allowed worsening in the metric's units (default 0.01)\n"
	"  --alpha A          significance level after Holm (default 0.05)\n"
	"  --bootstrap B      bootstrap resamples (default 2000)\n"
	"  --markdown FILE    also write Markdown for a pull-request comment: one\n"
	"                     verdict line per metric (\"comprehensiveness (ep/self):\n"
	"                     0.412 -> 0.371 (-0.041, 95% CI [-0.060, -0.020], Holm\n"
	"                     p = 0.003, n = 40): **worse**\"; worse, better, worse\n"
	"                     or better within the tolerance, no significant change,\n"
	"                     unchanged), then the table\n"
	"  --junit FILE       also write JUnit XML, one testcase per metric\n"
	"                     (neither FILE may be a data file of a run directory)\n"
	"  -h, --help         show this help\n"
	"\n"
	"A partial run (run.json \"complete\": false: some of its requests failed) is\n"
	"compared over the answers it got, and said so on stderr and in --markdown.\n"
	"So is a run whose run.json has no \"complete\" (every selfexp writes it: a\n"
	"damaged file), which is not known to be complete: exit 5 as for a partial run.\n"
	"Runs whose answers name different models (run.json counts.models_served: an\n"
	"API's new snapshot, a gateway's fallback) are compared all the same, and said\n"
	"so on stderr and in --markdown: a change may be the model's, not the prompt's.\n"
	"\n"
	"exit status: 0 nothing regressed, 4 something regressed, 5 nothing\n"
	"  regressed but a run is partial, 2 usage error or\n"
	"  unusable input (unreadable run, different data or models, no review ids\n"
	"  in common, a record of a review both runs have that one of them lacks:\n"
	"  a damaged records.jsonl, or a method of --metrics only one run has; a\n"
	"  metric of --metrics that no condition has, such as rankdel of a ranking),\n"
	"  1 cannot write an output file\n";

static int write_out(const char *path, const struct sx_buf *b)
{
	struct sx_err err = SX_ERR_INIT;

	if (sx_file_write_atomic(path, b->buf, b->len, 0644, &err)) {
		sx_cli_error("compare: %s", err.msg);
		return -1;
	}
	return 0;
}

static void partial_note(const char *dir, int partial, long failed, long skipped)
{
	if (partial == SX_COMPARE_NOT_KNOWN)
		sx_cli_error("compare: '%s/run.json' has no \"complete\" (every selfexp writes it: "
			     "the file is damaged), so the run is not known to be complete and does "
			     "not pass the gate; run it again (or score it) to restore run.json", dir);
	else if (failed >= 0 && skipped > 0)
		sx_cli_error("compare: '%s' is a partial run (%ld requests failed, %ld not sent: a "
			     "cap was reached or it was stopped): it is compared over the answers it "
			     "got; complete it (run it again) for a full gate", dir, failed, skipped);
	else if (failed >= 0)
		sx_cli_error("compare: '%s' is a partial run (%ld requests failed): it is compared "
			     "over the answers it got; complete it (run it again) for a full gate",
			     dir, failed);
	else
		sx_cli_error("compare: '%s' is a partial run: it is compared over the answers it "
			     "got; complete it (run it again) for a full gate", dir);
}

int cmd_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "metrics", required_argument, NULL, 'm' },
		{ "conditions", required_argument, NULL, 'c' },
		{ "tolerance", required_argument, NULL, 't' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "bootstrap", required_argument, NULL, 'B' },
		{ "markdown", required_argument, NULL, 'M' },
		{ "junit", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_compare_opts co = SX_COMPARE_OPTS_INIT;
	struct sx_compare_result res = SX_COMPARE_RESULT_INIT;
	struct sx_rundir base = SX_RUNDIR_INIT, cur = SX_RUNDIR_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf out = SX_BUF_INIT;
	const char *md = NULL, *junit = NULL;
	int c, rc = SX_EXIT_USAGE;
	long l;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (sx_compare_check_metrics(optarg, &err)) {
				sx_cli_error("compare: --metrics: %s", err.msg);
				return SX_EXIT_USAGE;
			}
			co.metrics = optarg;
			break;
		case 'c': co.conditions = optarg; break;
		case 't':
			if (sx_parse_double(optarg, &co.tolerance) || co.tolerance < 0)
				return sx_cli_bad_value("compare", "--tolerance", optarg,
							"a non-negative number");
			break;
		case 'a':
			if (sx_parse_double(optarg, &co.alpha) || co.alpha <= 0 || co.alpha >= 1)
				return sx_cli_bad_value("compare", "--alpha", optarg, "a number in (0, 1)");
			break;
		case 'B':
			if (sx_parse_long(optarg, 1, 1000000, &l))
				return sx_cli_bad_value("compare", "--bootstrap", optarg, "1..1000000");
			co.bootstrap = (size_t)l;
			break;
		case 'M': md = optarg; break;
		case 'J': junit = optarg; break;
		case 'h': fputs(usage, stdout); return SX_EXIT_OK;
		default: return sx_cli_usage_hint("compare");
		}
	}
	if (optind + 2 != argc) {
		sx_cli_error("compare: expected two run directories, BASE_DIR and NEW_DIR");
		return sx_cli_usage_hint("compare");
	}
	if ((md && sx_rundir_is_data_file(md)) || (junit && sx_rundir_is_data_file(junit))) {
		sx_cli_error("compare: '%s' is a data file of a run directory; write it elsewhere",
			     md && sx_rundir_is_data_file(md) ? md : junit);
		return SX_EXIT_FAIL;
	}
	if (sx_rundir_load(&base, argv[optind], SX_RUNDIR_RECORDS, &err) ||
	    sx_rundir_load(&cur, argv[optind + 1], SX_RUNDIR_RECORDS, &err)) {
		sx_cli_error("compare: %s", err.msg);
		goto out;
	}
	if (sx_compare_runs(&base, &cur, &co, &res, &err)) {
		sx_cli_error("compare: %s", err.msg);
		goto out;
	}
	if (res.base_reviews != res.common || res.new_reviews != res.common)
		fprintf(stderr, "selfexp: compare: only %zu review ids in common (base %zu, new %zu); "
				"the others are not compared\n",
			res.common, res.base_reviews, res.new_reviews);
	if (res.base_models[0])
		sx_cli_error("compare: the runs' answers name different models (base: %s; new: %s; "
			     "run.json counts.models_served): a change may be the model's, not the "
			     "prompt's", res.base_models, res.new_models);
	if (res.base_partial)
		partial_note(argv[optind], res.base_partial, res.base_failed, res.base_skipped);
	if (res.new_partial)
		partial_note(argv[optind + 1], res.new_partial, res.new_failed, res.new_skipped);
	sx_compare_text(&res, &out);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	/* a partial run gates nothing: some of the answers compared are not there */
	rc = res.regressions ? SX_EXIT_GATE
	   : res.base_partial || res.new_partial ? SX_EXIT_PARTIAL : SX_EXIT_OK;
	if (md) {
		sx_buf_reset(&out);
		sx_compare_markdown(&res, &out);
		if (write_out(md, &out))
			rc = SX_EXIT_FAIL;
	}
	if (junit) {
		sx_buf_reset(&out);
		sx_compare_junit(&res, &out);
		if (write_out(junit, &out))
			rc = SX_EXIT_FAIL;
	}
out:
	sx_compare_result_release(&res);
	sx_rundir_release(&base);
	sx_rundir_release(&cur);
	sx_buf_release(&out);
	return rc;
}
