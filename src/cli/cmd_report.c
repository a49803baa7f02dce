#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "selfexp/buf.h"
#include "selfexp/report.h"

static const char usage[] =
	"usage: selfexp report DIR [-o FILE]\n"
	"\n"
	"Write one self-contained HTML file (inline CSS, SVG and a little script; it\n"
	"loads nothing from anywhere) that shows the run in DIR: its metadata, the\n"
	"paper tables; figures: a forest plot per faithfulness metric (mean and 95 %\n"
	"interval per condition and method), deletion curves (the probability of the\n"
	"model's label as the top 1, 5, 10, 20, 50 % of tokens are removed and kept,\n"
	"per method, AOPC in the legend) and a reliability diagram of the verbal\n"
	"confidence per condition (the ECE's bins); agreement heatmaps, histograms of\n"
	"importance values and of confidence; every review with its tokens coloured\n"
	"by importance for the self-explanation, occlusion, LIME and the methods of\n"
	"--explanations files side by side with the prediction, confidence, gold\n"
	"label and raw answer (sortable by disagreement and confidence, filterable by\n"
	"condition, parse status and text), and the list of parse failures with\n"
	"their raw answers. Reads only the run directory.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE   where to write (default DIR/report.html)\n"
	"  -h, --help          show this help\n"
	"\n"
	"exit status: 0 ok, 1 unreadable or damaged run directory (as for table) or\n"
	"  unwritable output, 2 usage error\n";

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf def = SX_BUF_INIT;
	const char *output = NULL;
	size_t bytes = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'h': fputs(usage, stdout); return SX_EXIT_OK;
		default: return sx_cli_usage_hint("report");
		}
	}
	if (optind + 1 != argc) {
		sx_cli_error("report: expected one run directory");
		return sx_cli_usage_hint("report");
	}
	if (!output) {
		sx_buf_addf(&def, "%s/report.html", argv[optind]);
		output = def.buf;
	}
	if (sx_report_write(argv[optind], output, &bytes, &err)) {
		sx_cli_error("report: %s", err.msg);
		sx_buf_release(&def);
		return SX_EXIT_FAIL;
	}
	printf("%s\n", output);
	fprintf(stderr, "selfexp: report: %zu bytes\n", bytes);
	sx_buf_release(&def);
	return SX_EXIT_OK;
}
