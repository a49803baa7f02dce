#ifndef SELFEXP_CLI_RUN_OPTS_H
#define SELFEXP_CLI_RUN_OPTS_H
/*
 * The options `selfexp run` and `selfexp demo` share: one table of them
 * (run_opts.c) from which getopt_long's table and the options section of
 * each command's --help are made, parsing them into a struct sx_run_config,
 * reading the API key, choosing the cache path, and reporting the outcome
 * with the documented exit codes.
 */
#include <stdio.h>

#include "selfexp/run.h"
#include "selfexp/sim.h"

/* The commands that take these options (a row of the table names a mask of them). */
#define SX_RUN_CMD_RUN  (1u << 0)
#define SX_RUN_CMD_DEMO (1u << 1)

/* What only `selfexp demo` takes: how its simulated model answers. */
struct sx_demo_opts {
	const char *preset;       /* borrowed; --preset as given (default "literature") */
	const char *explain;      /* borrowed; --explain as given, NULL: the preset's */
	struct sx_sim_config sim; /* --style, --confidence-decimals, --seed */
};

struct sx_run_opts {
	struct sx_run_config cfg;
	char *base_url;     /* owned */
	char *host;         /* owned; endpoint host for the cache key and run.json */
	char *api_key;      /* owned; wiped on release */
	char *key_file;     /* owned */
	char *cache_path;   /* owned */
	char *batch_dir;    /* owned; --batch-dir */
	char *batch_state;  /* owned; DIR/batches.json in batch mode */
	char *prompts_dir;  /* owned */
	char *argv_line;    /* owned */
	int progress;       /* -1 auto (a terminal), 0 off, 1 on */
	struct sx_json *params; /* owned; --param KEY=JSON fields, NULL when none */
	const char *max_tokens_field; /* borrowed; --max-tokens-field, NULL = auto */
	/* --header and --header-env: names and values owned (values from the environment wiped on release) */
	struct sx_http_header headers[SX_HTTP_MAX_HEADERS];
	size_t nheaders;
	int auth_set;       /* --auth given */
	struct sx_demo_opts demo; /* `selfexp demo` only */
};

/* The defaults of `selfexp run` (sx_run_config_init), and the sim's (SX_SIM_CONFIG_INIT). */
void sx_run_opts_init(struct sx_run_opts *o);
/*
 * Parse the options of command cmd (one SX_RUN_CMD_* bit) in argv into o,
 * which sx_run_opts_init and the command's own defaults prepared; argv[0] is
 * the command name, recorded with the rest for run.json. usage prints the
 * help for -h / --help. Returns -1 to go on, or an exit code (help printed:
 * 0, usage error: 2, the message printed) to return at once, o released.
 */
int sx_run_opts_getopt(struct sx_run_opts *o, unsigned cmd, void (*usage)(void), int argc,
		       char **argv);
/*
 * sx_run_opts_init, then the options of `selfexp run` in argv, cmd naming
 * the command in messages (`selfexp score` replays a run's recorded argv).
 */
int sx_run_opts_parse(struct sx_run_opts *o, const char *cmd, void (*usage)(void), int argc,
		      char **argv);
/*
 * Print the options section of cmd's --help (one SX_RUN_CMD_* bit): every
 * option cmd accepts with its argument and help, in the table's order; for
 * `selfexp run` under the group headings.
 */
void sx_run_opts_help(FILE *f, unsigned cmd);
/* Resolve defaults that need the parsed options: key, cache, prices, progress. */
int sx_run_opts_finish(struct sx_run_opts *o, const char *cmd);
void sx_run_opts_release(struct sx_run_opts *o);
/* Print the dry-run table or the final summary line; return the exit code for rc. */
int sx_run_report(const struct sx_run_config *cfg, int rc, const struct sx_run_outcome *out,
		  const struct sx_err *err);

/*
 * The configuration of the run in dir, from its run.json (messages name
 * cmd); *complete (may be NULL) gets what it says of the run: 1 complete,
 * 0 partial, -1 not known (no "complete": rundir.h). -1 when unreadable
 * (printed), cfg then released.
 */
int sx_run_opts_load_config(const char *cmd, const char *dir, struct sx_run_config *cfg,
			    int *complete);

#endif
