#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/version.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct sx_command commands[] = {
	{ "prompt", cmd_prompt, "show the exact request a prompt condition sends" },
	{ "data", cmd_data, "inspect a data file before spending money on it" },
	{ "parse", cmd_parse, "parse one model answer read on stdin" },
	{ "sim", cmd_sim, "serve the simulated model (OpenAI-compatible, known truth, faults)" },
	{ "cache", cmd_cache, "inspect, export, import, vacuum, compact and merge the response cache" },
	{ "run", cmd_run, "run the protocol on a data set against a chat-completion API" },
	{ "demo", cmd_demo, "run the whole protocol against the built-in simulated model" },
	{ "score", cmd_score, "recompute a run's metrics and statistics offline" },
	{ "answers", cmd_answers, "export every answer a run used, to replay it with run --answers" },
	{ "merge", cmd_merge, "join the run directories of a run's shards into one" },
	{ "table", cmd_table, "print a run's tables (Markdown, LaTeX, CSV, HTML)" },
	{ "report", cmd_report, "write a self-contained HTML report of a run" },
	{ "compare", cmd_compare, "compare two runs: the CI gate on explanation quality" },
	{ "help", cmd_help, "show help for selfexp or one of its commands" },
	{ "version", cmd_version, "print the version" },
};

static void print_usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: selfexp <command> [options]\n"
		"       selfexp <command> --help\n"
		"       selfexp --version\n"
		"\n"
		"selfexp measures how faithful the explanations are that a language model gives\n"
		"of its own sentiment predictions (Huang et al. 2023), against any\n"
		"OpenAI-compatible chat-completion API.\n"
		"\n"
		"commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"exit status:\n"
		"  0 ok, 1 failure, 2 usage error, 3 model/API unreachable,\n"
		"  4 gate failed (compare), 5 partial run (some items failed, all recorded),\n"
		"  6 batches pending (run --batch --no-wait, --batch-dir: run it again)\n"
		"\n"
		"environment:\n"
		"  OPENAI_BASE_URL   base URL of the chat-completion API\n"
		"  OPENAI_API_KEY    API key (never written anywhere)\n"
		"  SELFEXP_HOME      directory holding prompts/ and data/ (default: the install's)\n"
		"  SELFEXP_CACHE     the response cache when --cache is not given\n"
		"  NO_COLOR          disable colour in progress output\n");
}

static const struct sx_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/*
 * Run c with argv[0] = "selfexp: NAME", the name getopt's own messages
 * ("unrecognized option", "requires an argument") begin with.
 */
/*
 * A command that says it succeeded while its stdout could not be written
 * (a full disk, a closed pipe) failed: what it printed is not there.
 */
static int run_command(const struct sx_command *c, int argc, char **argv)
{
	char name[64];
	int rc, bad, e;

	snprintf(name, sizeof name, "selfexp: %s", c->name);
	argv[0] = name;
	rc = c->run(argc, argv);
	errno = 0;
	bad = fflush(stdout) != 0;
	e = errno;
	if ((bad || ferror(stdout)) && rc == SX_EXIT_OK) {
		sx_cli_error("%s: cannot write to stdout: %s", c->name,
			     e ? strerror(e) : "write error");
		rc = SX_EXIT_FAIL;
	}
	return rc;
}

static int cmd_help(int argc, char **argv)
{
	const struct sx_command *c;
	char *hargv[3];

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage(stdout);
		return SX_EXIT_OK;
	}
	c = find_command(argv[1]);
	if (!c || c->run == cmd_help) {
		print_usage(c ? stdout : stderr);
		return c ? SX_EXIT_OK : SX_EXIT_USAGE;
	}
	hargv[0] = argv[1];
	hargv[1] = (char *)"--help";
	hargv[2] = NULL;
	return run_command(c, 2, hargv);
}

static int cmd_version(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: selfexp version\n\nPrint selfexp's version (as run.json records it "
		       "in selfexp_version).\n");
		return SX_EXIT_OK;
	}
	if (argc > 1) {
		sx_cli_error("version: takes no arguments ('%s'); see selfexp version --help", argv[1]);
		return SX_EXIT_USAGE;
	}
	printf("selfexp %s\n", SX_VERSION);
	return SX_EXIT_OK;
}

void sx_cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("selfexp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int sx_cli_bad_value(const char *cmd, const char *opt, const char *value, const char *expect)
{
	sx_cli_error("%s: invalid value '%s' for %s (expected %s)", cmd, value, opt, expect);
	return SX_EXIT_USAGE;
}

int sx_cli_usage_hint(const char *cmd)
{
	fprintf(stderr, "try 'selfexp %s --help' for more information\n", cmd);
	return SX_EXIT_USAGE;
}

/*
 * An installed binary's files: PREFIX/share/selfexp beside PREFIX/bin/selfexp,
 * wherever PREFIX was moved (DESTDIR, a copied tree); NULL when the binary is
 * not in such a tree (the build directory's).
 */
static const char *installed_home(void)
{
	static char home[PATH_MAX];
	char exe[4096], probe[4300];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = 0; /* PREFIX/bin */
	snprintf(probe, sizeof probe, "%s/../share/selfexp/prompts/ep", exe);
	if (access(probe, R_OK))
		return NULL;
	snprintf(probe, sizeof probe, "%s/../share/selfexp", exe);
	return realpath(probe, home) ? home : NULL;
}

/* SELFEXP_HOME, else the install's share/selfexp, else the build tree. */
const char *sx_cli_home(void)
{
	static const char *found;
	const char *home = getenv("SELFEXP_HOME");

	if (home && *home)
		return home;
	if (!found) {
		found = installed_home();
		if (!found)
			found = SX_HOME;
	}
	return found;
}

char *sx_cli_prompts_dir(const char *arg)
{
	struct sx_buf b = SX_BUF_INIT;
	struct stat st;

	if (!*arg || strchr(arg, '/') || !strcmp(arg, ".") || !strcmp(arg, ".."))
		return xstrdup(arg);
	sx_buf_addf(&b, "%s/prompts/%s", sx_cli_home(), arg);
	if (!stat(b.buf, &st) && S_ISDIR(st.st_mode))
		return sx_buf_detach(&b, NULL);
	sx_buf_release(&b);
	return xstrdup(arg);
}

char *sx_path_absolute(const char *path)
{
	struct sx_buf b = SX_BUF_INIT;
	char *cwd;

	if (path[0] == '/')
		return xstrdup(path);
	cwd = getcwd(NULL, 0);
	sx_buf_addf(&b, "%s/%s", cwd ? cwd : ".", path);
	free(cwd);
	return sx_buf_detach(&b, NULL);
}

int main(int argc, char **argv)
{
	const struct sx_command *c;

	if (argc < 2) {
		print_usage(stderr);
		return SX_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return cmd_version(1, argv);
	c = find_command(argv[1]);
	if (!c) {
		sx_cli_error("'%s' is not a selfexp command; see 'selfexp --help'", argv[1]);
		return SX_EXIT_USAGE;
	}
	return run_command(c, argc - 1, argv + 1);
}
