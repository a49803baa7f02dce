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
#include "selfexp/registry.h"
#include "selfexp/prompt.h"
#include "selfexp/report.h"
#include "selfexp/sim.h"

static const char usage_head[] =
	"usage: selfexp demo [--out DIR] [--preset NAME] [--explain MODE] [--style STYLE]\n"
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
	"By default (--preset literature) its E-P explanations are faithful and its\n"
	"P-E ones post-hoc and noisier, so the first report shows a difference of the\n"
	"kind studies of self-explanations report, which the statistics detect.\n"
	"\n"
	"options:\n";

static const char usage_tail[] =
	"\n"
	"exit status: 0 ok, 1 failure, 2 usage error, 5 partial run\n";

static void usage(void)
{
	fputs(usage_head, stdout);
	sx_run_opts_help(stdout, SX_RUN_CMD_DEMO);
	fputs(usage_tail, stdout);
}

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

/* The columns of the summary: the registry's SX_METRIC_DEMO faithfulness metrics. */
static size_t demo_metrics(const char **keys, size_t max)
{
	const struct sx_metric_def *m;
	size_t i, n = 0;

	for (i = 0; (m = sx_metric_of(SX_METRIC_FAITH, i)) && n < max; i++)
		if (m->flags & SX_METRIC_DEMO)
			keys[n++] = m->key;
	return n;
}

/* A compact text summary of summary.json (the full tables: `selfexp table`). */
static void print_summary(const char *dir)
{
	const char *metrics[8];
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_json *sum = NULL, *conds, *c, *m;
	size_t i, nm = demo_metrics(metrics, 8);

	sx_buf_addf(&path, "%s/summary.json", dir);
	if (sx_file_read(path.buf, 64u << 20, &text, NULL) ||
	    !(sum = sx_json_parse(text.buf, text.len, NULL)))
		goto out;
	conds = sx_json_get(sum, "conditions");
	printf("%-8s %-10s %8s", "cond", "method", "accuracy");
	for (i = 0; i < nm; i++)
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
			for (i = 0; i < nm; i++)
				print_cell(sx_json_get(m, metrics[i]));
			putchar('\n');
		}
		if (first)
			printf("%-8s %-10s %8.3f\n", sx_json_key(c), "-", acc);
	}
	printf("(mean and 95 %% interval over reviews: Clopper-Pearson for df_mit, the studentized\n"
	       " bootstrap for the others; comprehensiveness, df_mit and rankdel: higher is better;\n"
	       " sufficiency: lower is better)\n");
out:
	sx_json_free(sum);
	sx_buf_release(&path);
	sx_buf_release(&text);
}

/* The demo's defaults where they are not those of `selfexp run`. */
static void demo_defaults(struct sx_run_opts *o)
{
	o->cfg.out_dir = "out/demo";
	o->cfg.force = 1; /* a demo replaces its own run directory, whatever its sim settings */
	o->cfg.conditions = (1u << SX_COND_EP) | (1u << SX_COND_PE) | (1u << SX_COND_EP_TOPK) |
			    (1u << SX_COND_PE_TOPK) | (1u << SX_COND_PRED);
	o->cfg.gen.model = "sim";
	o->cfg.engine.concurrency = 64;
	o->demo.preset = "literature";
	o->demo.explain = NULL;
	o->demo.sim.confidence_decimals = 2;
	o->demo.sim.style = SX_SIM_STYLE_CLEAN;
	o->demo.sim.quiet = 1;
}

/* --preset, then --explain over it; SX_EXIT_USAGE if either is not known. */
static int sim_settings(const struct sx_demo_opts *d, struct sx_sim_config *sc)
{
	if (sx_sim_preset(d->preset, sc))
		return sx_cli_bad_value("demo", "--preset", d->preset, "literature or plain");
	if (!d->explain)
		return 0;
	if (sx_sim_explain_parse(d->explain, &sc->explain, &sc->noise_sigma))
		return sx_cli_bad_value("demo", "--explain", d->explain,
					"faithful, noisy:SIGMA, coarse, random or inverted");
	sc->pe_set = 0;
	return 0;
}

/* Run the protocol against the sim at o's base URL, then print the summary and the report. */
static int run_demo(struct sx_run_opts *o)
{
	const char *out = o->cfg.out_dir;
	struct sx_run_outcome outcome;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf report = SX_BUF_INIT;
	int rc;

	rc = sx_run_opts_finish(o, "demo");
	if (rc)
		return rc;
	rc = sx_run(&o->cfg, &outcome, &err);
	rc = sx_run_report(&o->cfg, rc, &outcome, &err);
	if (rc != SX_EXIT_OK && rc != SX_EXIT_PARTIAL)
		return rc;
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
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	struct sx_buf data = SX_BUF_INIT, weights = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_sim *sim = NULL;
	struct sx_run_opts o;
	int rc;

	sx_run_opts_init(&o);
	demo_defaults(&o);
	rc = sx_run_opts_getopt(&o, SX_RUN_CMD_DEMO, usage, argc, argv);
	if (rc >= 0)
		return rc; /* help or a usage error, o released */
	rc = sim_settings(&o.demo, &o.demo.sim);
	if (rc)
		goto out;
	sx_buf_addf(&weights, "%s/data/sim-weights.txt", sx_cli_home());
	sx_buf_addf(&data, "%s/data/demo.tsv", sx_cli_home());
	o.demo.sim.weights_path = weights.buf;
	o.cfg.data_path = data.buf;
	if (sx_sim_start(&o.demo.sim, &sim, &err)) {
		sx_cli_error("demo: cannot start the simulated model: %s", err.msg);
		rc = SX_EXIT_FAIL;
		goto out;
	}
	fprintf(stderr, "selfexp: demo: simulated model (preset %s%s%s) at %s\n", o.demo.preset,
		o.demo.explain ? ", explain " : "", o.demo.explain ? o.demo.explain : "",
		sx_sim_address(sim));
	o.base_url = xstrdup(sx_sim_address(sim));
	rc = run_demo(&o);
out:
	sx_run_opts_release(&o);
	sx_sim_stop(sim);
	sx_buf_release(&data);
	sx_buf_release(&weights);
	return rc;
}
