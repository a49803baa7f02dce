#ifndef SELFEXP_CLI_H
#define SELFEXP_CLI_H
/*
 * Shared by the cmd_<verb>.c files: the command table entry type, the
 * command entry points, and helpers for diagnostics and option values.
 * Only the CLI prints and exits; library code reports through struct sx_err.
 */
#include "selfexp/err.h"

struct sx_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is "selfexp: NAME" (getopt prefixes its messages with it); returns an exit code */
	const char *summary;
};

/* Command entry points, one per src/cli/cmd_<name>.c, listed in main.c's table. */
int cmd_prompt(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_parse(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_table(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_answers(int argc, char **argv);

/*
 * The response cache file of `selfexp cache` when --cache is not given:
 * $SELFEXP_CACHE when set and not empty, else .selfexp/cache.sqlite in the
 * current directory. (run, demo and score choose their own default in
 * sx_run_opts_finish: $SELFEXP_CACHE when set and not empty, else
 * .selfexp/cache.sqlite in the directory that holds the run directory DIR,
 * dirname(DIR)/.selfexp/cache.sqlite, e.g. runs/.selfexp/cache.sqlite for
 * --out runs/x. The two are the same file only when dirname(DIR) is ".".)
 */
const char *sx_cli_default_cache(void);
/* Print "selfexp: <msg>" to stderr. */
__attribute__((format(printf, 1, 2)))
void sx_cli_error(const char *fmt, ...);
/* Print an error for a bad option value and return SX_EXIT_USAGE. */
int sx_cli_bad_value(const char *cmd, const char *opt, const char *value, const char *expect);
/* Print "usage" hint for cmd and return SX_EXIT_USAGE. */
int sx_cli_usage_hint(const char *cmd);
/* path made absolute against the current directory (caller frees). */
char *sx_path_absolute(const char *path);
/*
 * The templates directory --prompts names (caller frees): a template set
 * shipped in $SELFEXP_HOME/prompts/ when arg is the name of one (no '/', e.g.
 * paper-llama3), else arg itself, a directory path.
 */
char *sx_cli_prompts_dir(const char *arg);
/* Path of ../shared-style resources: the directory holding prompts/ and data/ of this install. */
const char *sx_cli_home(void);

#endif
