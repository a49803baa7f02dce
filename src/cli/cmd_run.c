#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/num.h"
#include "selfexp/run.h"
#include "selfexp/prompt.h"
#include "run_opts.h"

static const char usage_head[] =
	"usage: selfexp run --data FILE --out DIR [options]\n"
	"\n"
	"Run the protocol of Huang et al. (2023) against an OpenAI-compatible\n"
	"chat-completion API: elicit a prediction and a self-explanation for every\n"
	"review under each prompt condition, compute occlusion and LIME explanations\n"
	"by querying the model on perturbed reviews, and score them. Every request\n"
	"goes through one engine with a response cache, so a re-run (or a run killed\n"
	"and started again) sends only what is missing.\n"
	"\n"
	"The run directory DIR receives run.json (configuration, template hashes,\n"
	"counts), records.jsonl (one line per review, condition and method) and\n"
	"summary.json (aggregates), each written atomically at the end.\n"
	"\n";

static const char usage_tail[] =
	"\n"
	"environment:\n"
	"  OPENAI_BASE_URL   base URL, e.g. https://api.openai.com/v1 (or --base-url)\n"
	"  OPENAI_API_KEY    API key (or --api-key-file); never written anywhere\n"
	"\n"
	"exit status:\n"
	"  0 every review done; 1 failure (bad data, unreadable file); 2 usage error;\n"
	"  3 the endpoint cannot be reached, refuses the key (401, 403, or 429\n"
	"    insufficient_quota: the account's quota is used up), or is not the API\n"
	"    (before any good answer: a redirect, a 404, 405 or 501, or a 200 that\n"
	"    is not JSON, as from a web server): nothing written (but the ledger of\n"
	"    what was spent), nothing retried;\n"
	"  5 partial run: some requests failed after all retries or asked for a\n"
	"    wait over --max-wait, or a cap, Ctrl-C or SIGTERM stopped the run (the\n"
	"    run directory records what was done, unless DIR holds a complete run or\n"
	"    a partial one that had answers for more requests: then DIR.partial);\n"
	"    signals that come together (as from timeout(1) or a process-group\n"
	"    kill) count as one; a second Ctrl-C, a second after the first was\n"
	"    acknowledged, aborts at once (exit 130)\n"
	"  6 batches pending (--batch --no-wait, or --batch-dir without its output\n"
	"    files): run the same command again to collect them\n"
	"\n"
	"examples:\n"
	"  selfexp run --data data/paper100.tsv --out runs/paper \\\n"
	"      --model gpt-3.5-turbo --conditions ep,pe\n"
	"  selfexp run --data dev.tsv --out runs/x --dry-run\n"
	"  selfexp run --data test.tsv --out runs/t --model gpt-4o-mini --batch --no-wait\n";

static void usage(void)
{
	fputs(usage_head, stdout);
	sx_run_opts_help(stdout, SX_RUN_CMD_RUN);
	fputs(usage_tail, stdout);
}

/* A second Ctrl-C aborts only when it comes this long after the first was acknowledged. */
#define ABORT_AFTER_NS 1000000000L

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/*
 * SIGINT and SIGTERM end the run as partial: nothing more is sent, the run
 * directory is written (exit 5). Only a second SIGINT, a second after the
 * first was acknowledged on stderr, leaves at once: `timeout` and process
 * group kills deliver several signals together, which must not abort.
 */
static char abort_msg[2048]; /* written by the handler as it aborts */
static size_t abort_len;

/* What an abort leaves, said before it happens (a handler cannot format). */
static void prepare_abort_msg(const struct sx_run_config *cfg)
{
	const char *cache = cfg->engine.cache_path;
	int n;

	if (cache)
		n = snprintf(abort_msg, sizeof abort_msg,
			     "\nselfexp: aborted: '%s' was not written (what was there is left as "
			     "it was); the answers received so far are in the cache '%s', and the "
			     "same command resumes from them\n", cfg->out_dir, cache);
	else
		n = snprintf(abort_msg, sizeof abort_msg,
			     "\nselfexp: aborted: '%s' was not written (what was there is left as "
			     "it was); without a cache the answers received are lost\n",
			     cfg->out_dir);
	abort_len = n < 0 ? 0 : (size_t)n < sizeof abort_msg ? (size_t)n : sizeof abort_msg - 1;
}

static void on_signal(int sig)
{
	static const char ack[] = "\nselfexp: stopping: finishing the requests in flight and "
				  "writing the partial run (Ctrl-C again to abort)\n";
	static volatile sig_atomic_t seen;
	static long long first;
	ssize_t w;

	if (seen && sig == SIGINT && now_ns() - first > ABORT_AFTER_NS) {
		/* no temporary file behind */
		sx_file_abort_staged();
		w = write(STDERR_FILENO, abort_msg, abort_len);
		(void)w;
		_exit(130);
	}
	if (seen)
		return;
	seen = 1;
	sx_run_interrupt();
	w = write(STDERR_FILENO, ack, sizeof(ack) - 1);
	(void)w;
	first = now_ns();
}

int cmd_run(int argc, char **argv)
{
	struct sx_run_opts o;
	struct sx_run_outcome outcome;
	struct sx_err err = SX_ERR_INIT;
	struct sigaction sa;
	int rc;

	sx_run_opts_init(&o);
	rc = sx_run_opts_getopt(&o, SX_RUN_CMD_RUN, usage, argc, argv);
	if (rc >= 0)
		return rc; /* help or a usage error, o released */
	if (!o.cfg.data_path || !o.cfg.out_dir) {
		sx_cli_error("run: --data FILE and --out DIR are required");
		sx_run_opts_release(&o);
		return sx_cli_usage_hint("run");
	}
	rc = sx_run_opts_finish(&o, "run");
	if (rc) {
		sx_run_opts_release(&o);
		return rc;
	}
	if (o.api_key) {
		/*
		 * The key is in memory from here on: no core file may hold it, and
		 * no other process of this user may read our memory or environment
		 * (/proc/PID/mem, environ, ptrace need a non-dumpable target's owner
		 * to be root).
		 */
		struct rlimit nocore = { 0, 0 };

		setrlimit(RLIMIT_CORE, &nocore);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	prepare_abort_msg(&o.cfg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = sx_run(&o.cfg, &outcome, &err);
	rc = sx_run_report(&o.cfg, rc, &outcome, &err);
	sx_run_opts_release(&o);
	return rc;
}
