/*
 * selfexp data: inspect a data file (selfexp/data.h) before spending money
 * on it. Subcommands come from a table, like the top-level commands.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "selfexp/data.h"
#include "selfexp/json.h"

/* Skipped-row messages printed before "... and N more". */
#define SHOW_SKIPPED 20

static const char data_usage[] =
	"usage: selfexp data <subcommand> [options]\n"
	"\n"
	"Inspect a review data file before spending money on it.\n"
	"\n"
	"subcommands:\n"
	"  stats FILE   count the reviews, the labels and the tokens of FILE\n"
	"\n"
	"Data files are GLUE-style TSV (a header line such as 'sentence<TAB>label' or\n"
	"'id<TAB>sentence<TAB>label'), CSV with the same columns (RFC 4180 quoting), or\n"
	"JSONL (one object a line with 'text' or 'sentence', optional 'label' 0/1 and\n"
	"optional 'id'). The format comes from the extension (.tsv, .csv, .jsonl,\n"
	".ndjson) unless --format names it. Tokens are the whitespace-separated words.\n"
	"\n"
	"Run 'selfexp data <subcommand> --help' for the options of a subcommand.\n"
	"\n"
	"exit status:\n"
	"  0 ok, 1 bad or unreadable data, 2 usage error\n"
	"\n"
	"example:\n"
	"  selfexp data stats data/sst2/dev.tsv\n";

static const char stats_usage[] =
	"usage: selfexp data stats FILE [--format tsv|jsonl|csv] [--skip-bad-rows] [--json]\n"
	"\n"
	"Read FILE (- for standard input, which needs --format) and print what a run\n"
	"would see: the number of reviews and of skipped bad rows, the label balance\n"
	"(count and fraction of 0, 1 and unlabelled), the tokens per review (min,\n"
	"p10, p25, p50, p75, p90, p99, max, mean; percentiles interpolate linearly)\n"
	"and the total number of tokens.\n"
	"\n"
	"FILE is read once, in pieces, and no review is kept: memory does not grow\n"
	"with the file but with the ids (kept to find duplicates; none for a TSV or\n"
	"CSV file without an id column). The percentiles are exact, from a count\n"
	"of the reviews of each length.\n"
	"\n"
	"A bad row (a missing column, a label that is not 0 or 1, invalid UTF-8, a\n"
	"NUL byte, an empty review, an over-long line, invalid JSON, a duplicate id)\n"
	"stops the load with a message naming the file and the line.\n"
	"\n"
	"options:\n"
	"  -f, --format FMT     read FILE as tsv, jsonl or csv, whatever its extension\n"
	"  -s, --skip-bad-rows  skip bad rows, list them on stderr and count them\n"
	"  -j, --json           print the statistics as one JSON object\n"
	"  -h, --help           show this help\n"
	"\n"
	"exit status:\n"
	"  0 ok, 1 bad or unreadable data (message on stderr), 2 usage error\n"
	"\n"
	"example:\n"
	"  selfexp data stats data/sst2/dev.tsv\n"
	"  selfexp data stats --skip-bad-rows --json scraped.jsonl\n";

struct pct {
	const char *name;
	double value;
};

static void stats_pcts(const struct sx_data_stats *st, struct pct out[9])
{
	const struct pct p[9] = {
		{ "min", (double)st->len_min }, { "p10", st->p10 }, { "p25", st->p25 },
		{ "p50", st->p50 },             { "p75", st->p75 }, { "p90", st->p90 },
		{ "p99", st->p99 },             { "max", (double)st->len_max },
		{ "mean", st->len_mean },
	};

	memcpy(out, p, sizeof(p));
}

static double frac(size_t k, size_t n)
{
	return n ? (double)k / (double)n : 0.0;
}

static const char *const label_names[3] = { "0", "1", "unlabelled" };

static void print_human(const char *path, const struct sx_dataset *ds,
			const struct sx_data_stats *st)
{
	struct pct p[9];
	size_t i;

	stats_pcts(st, p);
	printf("file          %s\n", path);
	printf("format        %s\n", sx_data_format_name(ds->format));
	printf("reviews       %zu\n", st->n);
	printf("skipped rows  %zu\n", st->skipped);
	printf("labels\n");
	for (i = 0; i < 3; i++)
		printf("  %-11s %7zu  %5.1f%%\n", label_names[i], st->label_count[i],
		       100.0 * frac(st->label_count[i], st->n));
	printf("tokens per review\n");
	for (i = 0; i < 9; i++) {
		if (!strcmp(p[i].name, "min") || !strcmp(p[i].name, "max"))
			printf("  %-11s %7.0f\n", p[i].name, p[i].value);
		else
			printf("  %-11s %9.1f\n", p[i].name, p[i].value);
	}
	printf("total tokens  %zu\n", st->tokens_total);
}

static void print_json(const char *path, const struct sx_dataset *ds,
		      const struct sx_data_stats *st)
{
	struct sx_json *root = sx_json_new_object();
	struct sx_json *labels, *tokens;
	struct pct p[9];
	char *text;
	size_t i;

	stats_pcts(st, p);
	sx_json_add_str(root, "file", path);
	sx_json_add_str(root, "format", sx_data_format_name(ds->format));
	sx_json_add_num(root, "reviews", (double)st->n);
	sx_json_add_num(root, "skipped", (double)st->skipped);
	labels = sx_json_add(root, "labels", sx_json_new_object());
	for (i = 0; i < 3; i++) {
		struct sx_json *l = sx_json_add(labels, label_names[i], sx_json_new_object());

		sx_json_add_num(l, "count", (double)st->label_count[i]);
		sx_json_add_num(l, "fraction", frac(st->label_count[i], st->n));
	}
	tokens = sx_json_add(root, "tokens_per_review", sx_json_new_object());
	for (i = 0; i < 9; i++)
		sx_json_add_num(tokens, p[i].name, p[i].value);
	sx_json_add_num(root, "total_tokens", (double)st->tokens_total);
	text = sx_json_print(root, 1);
	puts(text);
	free(text);
	sx_json_free(root);
}

static int data_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "skip-bad-rows", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sx_data_opts opts = SX_DATA_OPTS_INIT;
	struct sx_dataset ds = SX_DATASET_INIT; /* no reviews: the format and the skipped rows */
	struct sx_data_stats st;
	struct sx_err err = SX_ERR_INIT;
	int json = 0, c;
	size_t i;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:sjh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (sx_data_format_from_name(optarg, &opts.format))
				return sx_cli_bad_value("data stats", "--format", optarg,
							"tsv, jsonl or csv");
			break;
		case 's':
			opts.skip_bad_rows = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(stats_usage, stdout);
			return SX_EXIT_OK;
		case ':':
			sx_cli_error("data stats: option '%s' needs a value", argv[optind - 1]);
			return sx_cli_usage_hint("data stats");
		default:
			if (optopt)
				sx_cli_error("data stats: unknown option '-%c'", optopt);
			else
				sx_cli_error("data stats: unknown option '%s'", argv[optind - 1]);
			return sx_cli_usage_hint("data stats");
		}
	}
	if (argc - optind != 1) {
		if (argc == optind)
			sx_cli_error("data stats: expected a FILE");
		else
			sx_cli_error("data stats: expected one FILE, got %d arguments",
				     argc - optind);
		return sx_cli_usage_hint("data stats");
	}
	if (sx_data_stats_file(argv[optind], &opts, &st, &ds, &err) < 0) {
		sx_cli_error("%s", err.msg);
		sx_dataset_release(&ds);
		return SX_EXIT_FAIL;
	}
	for (i = 0; i < ds.nskip_msgs && i < SHOW_SKIPPED; i++)
		sx_cli_error("skipped %s", ds.skip_msgs[i]);
	if (ds.skipped > i)
		sx_cli_error("... and %zu more skipped rows", ds.skipped - i);
	if (json)
		print_json(argv[optind], &ds, &st);
	else
		print_human(argv[optind], &ds, &st);
	sx_dataset_release(&ds);
	return SX_EXIT_OK;
}

static const struct sx_command data_commands[] = {
	{ "stats", data_stats, "count the reviews, the labels and the tokens of a data file" },
};

int cmd_data(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(data_usage, stderr);
		return SX_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(data_usage, stdout);
		return SX_EXIT_OK;
	}
	for (i = 0; i < sizeof(data_commands) / sizeof(data_commands[0]); i++)
		if (!strcmp(data_commands[i].name, argv[1]))
			return data_commands[i].run(argc - 1, argv + 1);
	sx_cli_error("data: '%s' is not a subcommand; see 'selfexp data --help'", argv[1]);
	return SX_EXIT_USAGE;
}
