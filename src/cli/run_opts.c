#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "run_opts.h"
#include "selfexp/alloc.h"
#include "selfexp/engine.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/num.h"
#include "selfexp/prompt.h"

#define KEY_FILE_MAX 4096

enum {
	OPT_DATA = 256, OPT_FORMAT, OPT_SKIP_BAD, OPT_LIMIT, OPT_OUT, OPT_PROMPTS, OPT_CONDITIONS,
	OPT_EXPLAINERS, OPT_PROB, OPT_SEED, OPT_LIME_SAMPLES, OPT_LIME_KW, OPT_MASK,
	OPT_PERTURB, OPT_NO_METRICS, OPT_BOOTSTRAP, OPT_MODEL, OPT_BASE_URL, OPT_KEY_FILE,
	OPT_TEMPERATURE, OPT_MAX_TOKENS, OPT_INSECURE, OPT_CONCURRENCY, OPT_RPM, OPT_TPM,
	OPT_RETRIES, OPT_TIMEOUT, OPT_CACHE, OPT_OFFLINE, OPT_MAX_REQUESTS, OPT_MAX_COST,
	OPT_PRICE_IN, OPT_PRICE_OUT, OPT_DRY_RUN, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_COMPAT
};

static const struct option long_opts[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "skip-bad-rows", no_argument, NULL, OPT_SKIP_BAD },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "prompts", required_argument, NULL, OPT_PROMPTS },
	{ "conditions", required_argument, NULL, OPT_CONDITIONS },
	{ "explainers", required_argument, NULL, OPT_EXPLAINERS },
	{ "prob", required_argument, NULL, OPT_PROB },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "lime-samples", required_argument, NULL, OPT_LIME_SAMPLES },
	{ "lime-kernel-width", required_argument, NULL, OPT_LIME_KW },
	{ "mask", required_argument, NULL, OPT_MASK },
	{ "perturb-prompt", required_argument, NULL, OPT_PERTURB },
	{ "no-metrics", no_argument, NULL, OPT_NO_METRICS },
	{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
	{ "compat", required_argument, NULL, OPT_COMPAT },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "base-url", required_argument, NULL, OPT_BASE_URL },
	{ "api-key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "temperature", required_argument, NULL, OPT_TEMPERATURE },
	{ "max-tokens", required_argument, NULL, OPT_MAX_TOKENS },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "concurrency", required_argument, NULL, OPT_CONCURRENCY },
	{ "rpm", required_argument, NULL, OPT_RPM },
	{ "tpm", required_argument, NULL, OPT_TPM },
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "cache", required_argument, NULL, OPT_CACHE },
	{ "offline", no_argument, NULL, OPT_OFFLINE },
	{ "max-requests", required_argument, NULL, OPT_MAX_REQUESTS },
	{ "max-cost", required_argument, NULL, OPT_MAX_COST },
	{ "price-in", required_argument, NULL, OPT_PRICE_IN },
	{ "price-out", required_argument, NULL, OPT_PRICE_OUT },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A bad option value: free what was parsed so far and return the usage exit code. */
static int bad_value(struct sx_run_opts *o, const char *cmd, const char *opt, const char *value,
		     const char *expect)
{
	int rc = sx_cli_bad_value(cmd, opt, value, expect);

	sx_run_opts_release(o);
	return rc;
}

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = xstrdup(src);
}

static int parse_conditions(const char *s, unsigned *out)
{
	char *copy = xstrdup(s), *save = NULL, *tok;
	unsigned bits = 0;
	int rc = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum sx_cond c;
		if (sx_cond_from_name(tok, &c)) {
			rc = -1;
			break;
		}
		bits |= 1u << c;
	}
	free(copy);
	if (rc || !bits)
		return -1;
	*out = bits;
	return 0;
}

static int parse_explainers(const char *s, unsigned *out)
{
	static const struct { const char *name; unsigned bit; } table[] = {
		{ "self", SX_EXPLAIN_SELF },
		{ "occlusion", SX_EXPLAIN_OCCLUSION },
		{ "lime", SX_EXPLAIN_LIME },
	};
	char *copy = xstrdup(s), *save = NULL, *tok;
	unsigned bits = 0;
	size_t i;
	int rc = 0;

	for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (!strcmp(tok, table[i].name))
				break;
		if (i == sizeof(table) / sizeof(table[0]))
			rc = -1;
		else
			bits |= table[i].bit;
	}
	free(copy);
	if (rc || !bits)
		return -1;
	*out = bits;
	return 0;
}

static int parse_lime_samples(const char *s, struct sx_run_config *cfg)
{
	size_t len = strlen(s);
	double k;
	long n;

	if (len > 1 && s[len - 1] == 'x') {
		char *num = xstrndup(s, len - 1);
		int rc = sx_parse_double(num, &k);
		free(num);
		if (rc || k <= 0 || k > 1000)
			return -1;
		cfg->lime_factor = k;
		cfg->lime_samples = 0;
		return 0;
	}
	if (sx_parse_long(s, 2, 1000000, &n))
		return -1;
	cfg->lime_samples = n;
	return 0;
}

static char *join_argv(int argc, char **argv, const char *cmd)
{
	struct sx_buf b = SX_BUF_INIT;
	int i;

	sx_buf_addf(&b, "selfexp %s", cmd);
	for (i = 1; i < argc; i++)
		sx_buf_addf(&b, " %s", argv[i]);
	return sx_buf_detach(&b, NULL);
}

int sx_run_opts_parse(struct sx_run_opts *o, const char *cmd, void (*usage)(void), int argc,
		      char **argv)
{
	struct sx_run_config *cfg = &o->cfg;
	double d;
	long l;
	int c;

	memset(o, 0, sizeof(*o));
	sx_run_config_init(cfg);
	o->progress = -1;
	o->argv_line = join_argv(argc, argv, cmd);
	cfg->argc = argc;
	cfg->argv = argv;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA: cfg->data_path = optarg; break;
		case OPT_FORMAT:
			if (sx_data_format_from_name(optarg, &cfg->data_opts.format))
				return bad_value(o, cmd, "--format", optarg, "tsv, jsonl or csv");
			break;
		case OPT_SKIP_BAD: cfg->data_opts.skip_bad_rows = 1; break;
		case OPT_LIMIT:
			if (sx_parse_long(optarg, 1, 100000000, &l))
				return bad_value(o, cmd, "--limit", optarg, "a positive integer");
			cfg->limit = l;
			break;
		case OPT_OUT: cfg->out_dir = optarg; break;
		case OPT_PROMPTS: set_str(&o->prompts_dir, optarg); break;
		case OPT_CONDITIONS:
			if (parse_conditions(optarg, &cfg->conditions))
				return bad_value(o, cmd, "--conditions", optarg,
							"a list of ep, pe, ep-topk, pe-topk, pred");
			break;
		case OPT_EXPLAINERS:
			if (parse_explainers(optarg, &cfg->explainers))
				return bad_value(o, cmd, "--explainers", optarg,
							"a list of self, occlusion, lime");
			break;
		case OPT_PROB:
			if (!strcmp(optarg, "verbal"))
				cfg->prob = SX_PROB_VERBAL;
			else if (!strcmp(optarg, "logprob"))
				cfg->prob = SX_PROB_LOGPROB;
			else if (!strncmp(optarg, "sample:", 7) && !sx_parse_long(optarg + 7, 2, 128, &l)) {
				cfg->prob = SX_PROB_SAMPLE;
				cfg->gen.n = l;
			} else
				return bad_value(o, cmd, "--prob", optarg,
							"verbal, logprob or sample:N with N in 2..128");
			break;
		case OPT_SEED: {
			char *end;
			errno = 0;
			cfg->seed = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || *optarg == '-')
				return bad_value(o, cmd, "--seed", optarg, "a non-negative integer");
			break;
		}
		case OPT_LIME_SAMPLES:
			if (parse_lime_samples(optarg, cfg))
				return bad_value(o, cmd, "--lime-samples", optarg,
							"a count such as 500, or a multiple such as 10x");
			break;
		case OPT_LIME_KW:
			if (sx_parse_double(optarg, &d) || d <= 0)
				return bad_value(o, cmd, "--lime-kernel-width", optarg, "a positive number");
			cfg->lime_kernel_width = d;
			break;
		case OPT_MASK:
			cfg->mask_word = strcmp(optarg, "delete") ? optarg : NULL;
			if (cfg->mask_word && (!*optarg || strpbrk(optarg, " \t\r\n")))
				return bad_value(o, cmd, "--mask", optarg, "delete or one word");
			break;
		case OPT_PERTURB:
			if (!strcmp(optarg, "pred"))
				cfg->perturb_pred = 1;
			else if (!strcmp(optarg, "condition"))
				cfg->perturb_pred = 0;
			else
				return bad_value(o, cmd, "--perturb-prompt", optarg, "condition or pred");
			break;
		case OPT_NO_METRICS: cfg->metrics = 0; break;
		case OPT_COMPAT:
			if (sx_compat_from_name(optarg, &cfg->compat))
				return bad_value(o, cmd, "--compat", optarg, "none or paper");
			break;
		case OPT_BOOTSTRAP:
			if (sx_parse_long(optarg, 0, 1000000, &l))
				return bad_value(o, cmd, "--bootstrap", optarg, "an integer >= 0");
			cfg->bootstrap = l;
			break;
		case OPT_MODEL: cfg->gen.model = optarg; break;
		case OPT_BASE_URL: set_str(&o->base_url, optarg); break;
		case OPT_KEY_FILE: set_str(&o->key_file, optarg); break;
		case OPT_TEMPERATURE:
			if (sx_parse_double(optarg, &d) || d < 0 || d > 2)
				return bad_value(o, cmd, "--temperature", optarg, "a number in [0, 2]");
			cfg->gen.temperature = d;
			break;
		case OPT_MAX_TOKENS:
			if (sx_parse_long(optarg, 1, 1000000, &l))
				return bad_value(o, cmd, "--max-tokens", optarg, "a positive integer");
			cfg->gen.max_tokens = l;
			break;
		case OPT_INSECURE: cfg->engine.insecure = 1; break;
		case OPT_CONCURRENCY:
			if (sx_parse_long(optarg, 1, 4096, &l))
				return bad_value(o, cmd, "--concurrency", optarg, "an integer in 1..4096");
			cfg->engine.concurrency = (int)l;
			break;
		case OPT_RPM:
			if (sx_parse_double(optarg, &d) || d <= 0)
				return bad_value(o, cmd, "--rpm", optarg, "a positive number");
			cfg->engine.rpm = d;
			break;
		case OPT_TPM:
			if (sx_parse_double(optarg, &d) || d <= 0)
				return bad_value(o, cmd, "--tpm", optarg, "a positive number");
			cfg->engine.tpm = d;
			break;
		case OPT_RETRIES:
			if (sx_parse_long(optarg, 0, 100, &l))
				return bad_value(o, cmd, "--retries", optarg, "an integer in 0..100");
			cfg->engine.retries = (int)l;
			break;
		case OPT_TIMEOUT:
			if (sx_parse_double(optarg, &d) || d <= 0)
				return bad_value(o, cmd, "--timeout", optarg, "a positive number of seconds");
			cfg->engine.timeout_s = d;
			break;
		case OPT_CACHE: set_str(&o->cache_path, optarg); break;
		case OPT_OFFLINE: cfg->engine.offline = 1; break;
		case OPT_MAX_REQUESTS:
			if (sx_parse_long(optarg, 1, 1000000000L, &l))
				return bad_value(o, cmd, "--max-requests", optarg, "a positive integer");
			cfg->engine.max_requests = l;
			break;
		case OPT_MAX_COST:
			if (sx_parse_double(optarg, &d) || d <= 0)
				return bad_value(o, cmd, "--max-cost", optarg, "a positive amount in USD");
			cfg->engine.max_cost = d;
			break;
		case OPT_PRICE_IN:
			if (sx_parse_double(optarg, &d) || d < 0)
				return bad_value(o, cmd, "--price-in", optarg, "USD per 1M tokens");
			cfg->engine.price_in = d;
			break;
		case OPT_PRICE_OUT:
			if (sx_parse_double(optarg, &d) || d < 0)
				return bad_value(o, cmd, "--price-out", optarg, "USD per 1M tokens");
			cfg->engine.price_out = d;
			break;
		case OPT_DRY_RUN: cfg->dry_run = 1; break;
		case OPT_PROGRESS: o->progress = 1; break;
		case OPT_NO_PROGRESS: o->progress = 0; break;
		case 'h':
			if (usage)
				usage();
			sx_run_opts_release(o);
			return SX_EXIT_OK;
		default:
			sx_run_opts_release(o);
			return sx_cli_usage_hint(cmd);
		}
	}
	if (optind < argc) {
		sx_cli_error("%s: unexpected argument '%s'", cmd, argv[optind]);
		sx_run_opts_release(o);
		return sx_cli_usage_hint(cmd);
	}
	return -1;
}

/* Read the key from a file that only its owner can read; strip the line end. */
static int read_key_file(const char *path, char **out)
{
	struct sx_buf b = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct stat st;

	if (stat(path, &st)) {
		sx_cli_error("cannot read API key file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		sx_cli_error("API key file '%s' is readable by others (mode %03o); "
			     "run 'chmod 600 %s' first", path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	if (sx_file_read(path, KEY_FILE_MAX, &b, &err)) {
		sx_cli_error("%s", err.msg);
		return -1;
	}
	while (b.len && strchr(" \t\r\n", b.buf[b.len - 1]))
		b.len--;
	b.buf[b.len] = '\0';
	*out = sx_buf_detach(&b, NULL);
	return 0;
}

static void lookup_prices(struct sx_run_config *cfg)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	char *line, *save = NULL;

	if (cfg->engine.price_in || cfg->engine.price_out)
		return;
	sx_buf_addf(&path, "%s/data/prices.tsv", sx_cli_home());
	if (!sx_file_read(path.buf, 1 << 20, &text, NULL)) {
		for (line = strtok_r(text.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *tab = strchr(line, '\t');
			double in, out;
			char *tab2;

			if (*line == '#' || !tab)
				continue;
			*tab = '\0';
			tab2 = strchr(tab + 1, '\t');
			if (!tab2 || strcmp(line, cfg->gen.model))
				continue;
			*tab2 = '\0';
			if (!sx_parse_double(tab + 1, &in) && !sx_parse_double(tab2 + 1, &out)) {
				cfg->engine.price_in = in;
				cfg->engine.price_out = out;
			}
			break;
		}
	}
	sx_buf_release(&path);
	sx_buf_release(&text);
}

int sx_run_opts_finish(struct sx_run_opts *o, const char *cmd)
{
	struct sx_run_config *cfg = &o->cfg;
	const char *env;

	if (!o->base_url) {
		env = getenv("OPENAI_BASE_URL");
		if (env && *env)
			o->base_url = xstrdup(env);
	}
	if (!o->base_url && !cfg->dry_run && !cfg->engine.offline) {
		sx_cli_error("%s: no endpoint: set OPENAI_BASE_URL or pass --base-url URL "
			     "(e.g. http://127.0.0.1:8080/v1 for 'selfexp sim')", cmd);
		return SX_EXIT_USAGE;
	}
	if (!o->base_url)
		o->base_url = xstrdup("http://offline.invalid/v1");
	{
		struct sx_buf h = SX_BUF_INIT;
		if (sx_engine_endpoint_host(o->base_url, &h)) {
			sx_buf_release(&h);
			sx_cli_error("%s: base URL '%s' is not an http(s) URL", cmd, o->base_url);
			return SX_EXIT_USAGE;
		}
		o->host = sx_buf_detach(&h, NULL);
	}
	if (o->key_file) {
		if (read_key_file(o->key_file, &o->api_key))
			return SX_EXIT_FAIL;
	} else {
		env = getenv("OPENAI_API_KEY");
		if (env && *env)
			o->api_key = xstrdup(env);
	}
	if (!o->prompts_dir) {
		struct sx_buf b = SX_BUF_INIT;
		sx_buf_addf(&b, "%s/prompts", sx_cli_home());
		o->prompts_dir = sx_buf_detach(&b, NULL);
	}
	if (!o->cache_path && getenv("SELFEXP_CACHE") && *getenv("SELFEXP_CACHE"))
		o->cache_path = xstrdup(getenv("SELFEXP_CACHE"));
	if (!o->cache_path && cfg->out_dir) {
		char *copy = xstrdup(cfg->out_dir);
		struct sx_buf b = SX_BUF_INIT;
		sx_buf_addf(&b, "%s/.selfexp/cache.sqlite", dirname(copy));
		free(copy);
		o->cache_path = sx_buf_detach(&b, NULL);
	}
	if (o->progress < 0)
		o->progress = isatty(STDERR_FILENO);
	lookup_prices(cfg);
	if (cfg->prob == SX_PROB_LOGPROB) {
		cfg->gen.logprobs = 1;
		cfg->gen.top_logprobs = 5;
	}
	if (cfg->prob == SX_PROB_SAMPLE && cfg->gen.temperature == 0)
		cfg->gen.temperature = 1.0;
	cfg->prompts_dir = o->prompts_dir;
	cfg->endpoint_host = o->host;
	cfg->argv_line = o->argv_line;
	cfg->engine.base_url = o->base_url;
	cfg->engine.api_key = o->api_key;
	cfg->engine.cache_path = o->cache_path;
	cfg->engine.progress = o->progress;
	return 0;
}

void sx_run_opts_release(struct sx_run_opts *o)
{
	if (o->api_key) {
		explicit_bzero(o->api_key, strlen(o->api_key));
		free(o->api_key);
	}
	free(o->base_url);
	free(o->host);
	free(o->key_file);
	free(o->cache_path);
	free(o->prompts_dir);
	free(o->argv_line);
	memset(o, 0, sizeof(*o));
}

int sx_run_report(const struct sx_run_config *cfg, int rc, const struct sx_run_outcome *out,
		  const struct sx_err *err)
{
	const struct sx_engine_stats *st = &out->stats;

	if (rc == SX_ENET) {
		sx_cli_error("%s", err->msg);
		return SX_EXIT_UNREACHABLE;
	}
	if (rc && rc != SX_ELIMIT) {
		sx_cli_error("%s", err->msg);
		return SX_EXIT_FAIL;
	}
	if (cfg->dry_run) {
		double pt = 0, ct = 0, cost;
		long naive = 0, distinct = 0;
		int i, upper = 0;

		printf("%-20s %12s %12s %14s %14s\n", "stage", "naive", "distinct", "prompt tok",
		       "completion tok");
		for (i = 0; i < out->nest; i++) {
			const struct sx_stage_estimate *e = &out->est[i];
			printf("%-20s %12ld %11s%ld %14.0f %14.0f\n", e->stage, e->naive,
			       e->upper_bound ? "<=" : "", e->distinct, e->prompt_tokens,
			       e->completion_tokens);
			naive += e->naive;
			distinct += e->distinct;
			pt += e->prompt_tokens;
			ct += e->completion_tokens;
			upper |= e->upper_bound;
		}
		cost = (pt * cfg->engine.price_in + ct * cfg->engine.price_out) / 1e6;
		printf("%-20s %12ld %11s%ld %14.0f %14.0f\n", "total", naive, upper ? "<=" : "",
		       distinct, pt, ct);
		printf("estimated cost: %s$%.2f for model '%s' at $%.2f / $%.2f per 1M tokens "
		       "(before cache hits; nothing was sent)\n", upper ? "<= " : "", cost,
		       cfg->gen.model, cfg->engine.price_in, cfg->engine.price_out);
		return SX_EXIT_OK;
	}
	fprintf(stderr,
		"selfexp: %s: %ld reviews, %ld requests (%ld distinct, %ld from cache, %ld sent, "
		"%ld retries, %ld failed, %ld skipped; %ld naive), %ld+%ld tokens, $%.4f -> %s\n",
		rc == SX_ELIMIT ? "stopped early" : out->items_failed ? "partial run" : "done",
		out->reviews, st->requests, st->unique, st->cache_hits, st->sent, st->retries,
		st->failed, st->skipped, out->naive_requests, st->prompt_tokens,
		st->completion_tokens, st->cost, cfg->out_dir);
	if (rc == SX_ELIMIT || out->items_failed)
		return SX_EXIT_PARTIAL;
	return SX_EXIT_OK;
}
