#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/rundir.h"
#include "selfexp/table.h"

static const char usage[] =
	"usage: selfexp table DIR [--format md|tex|csv|html] [--layout paper|long]\n"
	"                         [--standalone] [-o FILE]\n"
	"\n"
	"Print the tables of the run in DIR, from its run.json and summary.json only.\n"
	"The header line says INCOMPLETE RUN for a partial run, and NOT KNOWN TO BE\n"
	"COMPLETE when run.json has no \"complete\" (a damaged file). A condition of\n"
	"summary.json without a count the tables show (reviews, parse_failures,\n"
	"failed, failed_requests; a 0.1.0 run has no failed_requests) is a damaged\n"
	"file: exit 1 naming it, never a 0.\n"
	"\n"
	"layouts:\n"
	"  paper   (default) Table 1 accuracy, ECE and parse failures per condition;\n"
	"          Table 2 faithfulness: self (full), self (top-k), occlusion, LIME and\n"
	"          the methods of --explanations files, grouped by E-P and P-E, columns\n"
	"          Comp, Suff, DF_MIT, DF_Frac and RankDel as mean [95 % interval], the\n"
	"          best of each column in a group in bold; then one method x method\n"
	"          agreement matrix per agreement metric (at most 15 methods; --layout\n"
	"          long has them all). Every table states n and the parse failures\n"
	"          excluded.\n"
	"  long    every aggregate of summary.json, one row per (condition, method,\n"
	"          metric), and the paired comparisons with their p-values\n"
	"\n"
	"formats:\n"
	"  md      GitHub Markdown (default)\n"
	"  tex     LaTeX tables with booktabs: table environments to \\input into a\n"
	"          document that loads booktabs; --standalone makes a complete document\n"
	"  csv     tidy CSV, one row per value: table,condition,method,metric,stat,value\n"
	"          (undefined values are NA)\n"
	"  html    HTML tables; --standalone makes a complete page\n"
	"\n"
	"options:\n"
	"  --format F      output format (default md)\n"
	"  --layout L      paper (default) or long\n"
	"  --standalone    a complete document (tex, html)\n"
	"  -o, --output F  write to F (atomically) instead of stdout; never over a\n"
	"                  data file of a run directory (run.json, summary.json, ...)\n"
	"  -h, --help      show this help\n"
	"\n"
	"exit status: 0 ok, 1 unreadable or damaged run directory or unwritable\n"
	"  output, 2 usage error\n";

int cmd_table(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "layout", required_argument, NULL, 'l' },
		{ "standalone", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_table_opts to = SX_TABLE_OPTS_INIT;
	struct sx_rundir rd = SX_RUNDIR_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_buf out = SX_BUF_INIT;
	const char *output = NULL;
	int c, rc = SX_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (sx_table_format_check(optarg))
				return sx_cli_bad_value("table", "--format", optarg,
							sx_table_format_names());
			to.format = optarg;
			break;
		case 'l':
			if (sx_table_layout_from_name(optarg, &to.layout))
				return sx_cli_bad_value("table", "--layout", optarg, "paper or long");
			break;
		case 's': to.standalone = 1; break;
		case 'o': output = optarg; break;
		case 'h': fputs(usage, stdout); return SX_EXIT_OK;
		default: return sx_cli_usage_hint("table");
		}
	}
	if (optind + 1 != argc) {
		sx_cli_error("table: expected one run directory");
		return sx_cli_usage_hint("table");
	}
	if (output && sx_rundir_is_data_file(output)) {
		sx_cli_error("table: '%s' is a data file of a run directory; write the table "
			     "elsewhere", output);
		return SX_EXIT_FAIL;
	}
	if (sx_rundir_load(&rd, argv[optind], SX_RUNDIR_SUMMARY, &err)) {
		sx_cli_error("table: %s", err.msg);
		goto out;
	}
	if (sx_table_render(rd.run, rd.summary, &to, &out, &err)) {
		sx_cli_error("table: '%s': %s", argv[optind], err.msg);
		goto out;
	}
	if (output) {
		if (sx_file_write_atomic(output, out.buf, out.len, 0644, &err)) {
			sx_cli_error("table: %s", err.msg);
			goto out;
		}
	} else if (fwrite(out.buf, 1, out.len, stdout) != out.len || fflush(stdout)) {
		sx_cli_error("table: cannot write to stdout");
		goto out;
	}
	rc = SX_EXIT_OK;
out:
	sx_rundir_release(&rd);
	sx_buf_release(&out);
	return rc;
}
