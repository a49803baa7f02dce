#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "run_opts.h"
#include "selfexp/alloc.h"
#include "selfexp/batchapi.h"
#include "selfexp/engine.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/num.h"
#include "selfexp/prompt.h"
#include "selfexp/rundir.h"
#include "selfexp/sim.h"

#define KEY_FILE_MAX 4096
/* run.json is read back by score and merge up to this size. */
#define RUN_JSON_MAX (16u * 1024u * 1024u)

/* ---------------------------------------------------------------- option values */

static int set_format(struct sx_run_opts *o, const char *arg)
{
	return sx_data_format_from_name(arg, &o->cfg.data_opts.format);
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

static int set_conditions(struct sx_run_opts *o, const char *arg)
{
	return parse_conditions(arg, &o->cfg.conditions);
}

static int set_explainers(struct sx_run_opts *o, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL, *tok;
	unsigned bits = 0;
	enum sx_method m;
	int rc = 0;

	/* the names of the registry's methods (registry.h) */
	for (tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		if (sx_method_from_name(tok, &m))
			rc = -1;
		else
			bits |= sx_methods[m].bit;
	}
	free(copy);
	if (rc || !bits)
		return -1;
	o->cfg.explainers = bits;
	return 0;
}

/* --explanations FILE, repeatable: read when the run loads its data (explanations.h). */
static int set_explanations(struct sx_run_opts *o, const char *arg)
{
	struct sx_run_config *cfg = &o->cfg;

	if (!*arg)
		return -1;
	if (cfg->nexplanations == SX_RUN_MAX_EXPLANATIONS) {
		sx_cli_error("--explanations %s: more than %d files; join them into fewer (cat "
			     "A B > C)", arg, SX_RUN_MAX_EXPLANATIONS);
		return -1;
	}
	cfg->explanations[cfg->nexplanations++] = arg;
	return 0;
}

static int set_prob(struct sx_run_opts *o, const char *arg)
{
	long n;

	if (!strcmp(arg, "verbal"))
		o->cfg.prob = SX_PROB_VERBAL;
	else if (!strcmp(arg, "logprob"))
		o->cfg.prob = SX_PROB_LOGPROB;
	else if (!strncmp(arg, "sample:", 7) && !sx_parse_long(arg + 7, 2, 128, &n)) {
		o->cfg.prob = SX_PROB_SAMPLE;
		o->cfg.gen.n = n;
	} else
		return -1;
	return 0;
}

/* The run seed takes the whole uint64_t range (sx_parse_long stops at LONG_MAX). */
static int set_seed(struct sx_run_opts *o, const char *arg)
{
	char *end;

	errno = 0;
	o->cfg.seed = strtoull(arg, &end, 10);
	return errno || *end || end == arg || *arg == '-' ? -1 : 0;
}

/*
 * Request fields an option of their own sets: a --param of them would send
 * another value than run.json records for the option (and --prob, the cost
 * caps and the dry run count on), so it is refused with the option to use.
 */
static const struct {
	const char *field, *why;
} param_owned[] = {
	{ "temperature", "selfexp sets it itself: pass --temperature instead" },
	{ "max_tokens", "selfexp sets it itself: pass --max-tokens instead (--max-tokens-field "
			"names the field)" },
	{ "max_completion_tokens", "selfexp sets it itself: pass --max-tokens --max-tokens-field "
				   "max_completion_tokens instead" },
	{ "n", "selfexp sets it itself: every choice is billed and only --prob sample:N reads "
	       "them; pass that instead" },
	{ "logprobs", "selfexp sets it itself: pass --prob logprob instead" },
	{ "stream", "selfexp reads whole answers, not event streams: leave it out" },
};

/* --param KEY=JSON: a top-level request field; model and messages are selfexp's. */
static int set_param(struct sx_run_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct sx_json *v;
	char *key;
	size_t i;

	if (!eq || eq == arg)
		return -1;
	key = xstrndup(arg, (size_t)(eq - arg));
	if (!strcmp(key, "model") || !strcmp(key, "messages")) {
		sx_cli_error("--param %s: selfexp sets '%s' itself (use --model, or the prompt "
			     "templates for the messages)", key, key);
		free(key);
		return -1;
	}
	for (i = 0; i < sizeof(param_owned) / sizeof(param_owned[0]); i++)
		if (!strcmp(key, param_owned[i].field)) {
			sx_cli_error("--param '%s': %s", arg, param_owned[i].why);
			free(key);
			return -2; /* said */
		}
	v = sx_json_parse(eq + 1, strlen(eq + 1), NULL);
	if (!v) {
		free(key);
		return -1;
	}
	if (!o->params)
		o->params = sx_json_new_object();
	sx_json_set(o->params, key, v);
	free(key);
	o->cfg.gen.extra = o->params;
	return 0;
}

/* --unset KEY: a field selfexp would send, left out. */
static int set_unset(struct sx_run_opts *o, const char *arg)
{
	unsigned bit = sx_gen_omit_bit(arg);

	if (!bit)
		return -1;
	o->cfg.gen.omit |= bit;
	return 0;
}

static int set_max_tokens_field(struct sx_run_opts *o, const char *arg)
{
	if (strcmp(arg, "auto") && strcmp(arg, "max_tokens") && strcmp(arg, "max_completion_tokens"))
		return -1;
	o->max_tokens_field = strcmp(arg, "auto") ? arg : NULL;
	return 0;
}

/* A header's name and value into o->headers (both copied); messages never show the value. */
static int add_header(struct sx_run_opts *o, const char *opt, const char *name, size_t nlen,
		      const char *value, int secret, const char *from)
{
	struct sx_http_header *h;
	char *n = xstrndup(name, nlen);
	size_t at = 0;

	if (o->nheaders >= SX_HTTP_MAX_HEADERS) {
		sx_cli_error("%s: more than %d headers", opt, SX_HTTP_MAX_HEADERS);
		free(n);
		return -1;
	}
	if (sx_http_header_check(n, "", &at)) {
		sx_cli_error("%s: '%s' is not a header name (letters, digits and !#$%%&'*+-.^_`|~)",
			     opt, n);
		free(n);
		return -1;
	}
	if (sx_http_header_check(n, value, &at)) {
		sx_cli_error("%s: the value of header '%s'%s holds a control character (byte %zu "
			     "of the value, 0x%02x); a header value is one line of printable "
			     "characters", opt, n, from, at + 1, (unsigned char)value[at]);
		free(n);
		return -1;
	}
	h = &o->headers[o->nheaders++];
	h->name = n;
	h->value = xstrdup(value);
	h->secret = secret;
	return 0;
}

/* --header 'Name: value' */
static int set_header(struct sx_run_opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':'), *v;

	if (!colon || colon == arg) {
		sx_cli_error("--header: expected 'Name: value' (a name, a colon, the value)");
		return -2;
	}
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	return add_header(o, "--header", arg, (size_t)(colon - arg), v, 0, "") ? -2 : 0;
}

/* --header-env Name=ENVVAR: the value from the environment, never from the command line */
static int set_header_env(struct sx_run_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '='), *v;
	struct sx_buf from = SX_BUF_INIT;
	int rc;

	if (!eq || eq == arg || !eq[1]) {
		sx_cli_error("--header-env: expected Name=ENVVAR (the header's value is read from "
			     "the environment variable ENVVAR)");
		return -2;
	}
	v = getenv(eq + 1);
	if (!v || !*v) {
		sx_cli_error("--header-env %s: the environment variable '%s' is not set (or empty); "
			     "export it first", arg, eq + 1);
		return -2;
	}
	sx_buf_addf(&from, " (from $%s)", eq + 1);
	rc = add_header(o, "--header-env", arg, (size_t)(eq - arg), v, 1, from.buf);
	sx_buf_release(&from);
	return rc ? -2 : 0;
}

static int set_auth(struct sx_run_opts *o, const char *arg)
{
	if (!strcmp(arg, "bearer"))
		o->cfg.engine.auth = SX_HTTP_AUTH_BEARER;
	else if (!strcmp(arg, "api-key"))
		o->cfg.engine.auth = SX_HTTP_AUTH_API_KEY;
	else if (!strcmp(arg, "none"))
		o->cfg.engine.auth = SX_HTTP_AUTH_NONE;
	else
		return -1;
	o->auth_set = 1;
	return 0;
}

/*
 * An environment variable as a long in [lo, hi]: 0, 1 when absent (or
 * empty), -1 (said on stderr, naming it and its value) when it is not one.
 */
static int env_long(const char *opt, const char *name, long lo, long hi, long *out)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return 1;
	if (!sx_parse_long(v, lo, hi, out))
		return 0;
	if (hi > 1000000)
		sx_cli_error("--shard %s: %s='%s' is not an integer >= %ld", opt, name, v, lo);
	else
		sx_cli_error("--shard %s: %s='%s' is not an integer in %ld..%ld", opt, name, v, lo, hi);
	return -1;
}

/*
 * --shard i/N, or auto: Slurm's array task ((SLURM_ARRAY_TASK_ID minus
 * SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP, of SLURM_ARRAY_TASK_COUNT),
 * or auto/N with N given and the index from JOB_COMPLETION_INDEX
 * (Kubernetes) or Slurm's task. A variable that is set but wrong is an
 * error naming it, never taken as absent.
 */
static int set_shard(struct sx_run_opts *o, const char *arg)
{
	long i = -1, n = 0, id = 0, min = 0, step = 1;
	char *slash = strchr(arg, '/');
	char from[160] = "";
	int rc;

	if (slash && !strncmp(arg, "auto/", 5)) {
		if (sx_parse_long(slash + 1, 1, 1000000, &n))
			return -1;
	} else if (slash) {
		char *num = xstrndup(arg, (size_t)(slash - arg));
		int bad = sx_parse_long(num, 0, 999999, &i) || sx_parse_long(slash + 1, 1, 1000000, &n);

		free(num);
		if (bad)
			return -1;
	} else if (strcmp(arg, "auto")) {
		return -1;
	}
	if (i < 0) {
		rc = env_long(arg, "JOB_COMPLETION_INDEX", 0, 999999, &i);
		if (rc < 0)
			return -2;
		if (!rc) {
			snprintf(from, sizeof(from), "JOB_COMPLETION_INDEX=%ld", i);
		} else if (!(rc = env_long(arg, "SLURM_ARRAY_TASK_ID", 0, LONG_MAX / 2, &id))) {
			if (env_long(arg, "SLURM_ARRAY_TASK_MIN", 0, LONG_MAX / 2, &min) < 0 ||
			    env_long(arg, "SLURM_ARRAY_TASK_STEP", 1, 1000000, &step) < 0)
				return -2;
			snprintf(from, sizeof(from), "SLURM_ARRAY_TASK_ID=%ld, _MIN=%ld, _STEP=%ld",
				 id, min, step);
			if (id < min || (id - min) % step) {
				sx_cli_error("--shard %s: the array task (%s) is not one of the array's "
					     "tasks", arg, from);
				return -2;
			}
			i = (id - min) / step;
		} else if (rc < 0) {
			return -2;
		}
		if (!n && (rc = env_long(arg, "SLURM_ARRAY_TASK_COUNT", 1, 1000000, &n)) < 0)
			return -2;
		if (i < 0 || !n) {
			sx_cli_error("--shard %s: no shard in the environment: set "
				     "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job "
				     "array), or JOB_COMPLETION_INDEX with --shard auto/N, or "
				     "pass --shard i/N", arg);
			return -1;
		}
	}
	if (i >= n) {
		if (from[0]) {
			sx_cli_error("--shard %s: shard %ld (from %s) is not below the shard count "
				     "%ld", arg, i, from, n);
			return -2;
		}
		return -1;
	}
	o->cfg.shard_index = i;
	o->cfg.shard_count = n;
	return 0;
}

static int set_lime_samples(struct sx_run_opts *o, const char *arg)
{
	struct sx_run_config *cfg = &o->cfg;
	size_t len = strlen(arg);
	double k;
	long n;

	if (len > 1 && arg[len - 1] == 'x') {
		char *num = xstrndup(arg, len - 1);
		int rc = sx_parse_double(num, &k);
		free(num);
		if (rc || k <= 0 || k > 1000)
			return -1;
		cfg->lime_factor = k;
		cfg->lime_samples = 0;
		return 0;
	}
	if (sx_parse_long(arg, 2, 1000000, &n))
		return -1;
	cfg->lime_samples = n;
	return 0;
}

static int set_mask(struct sx_run_opts *o, const char *arg)
{
	o->cfg.mask_word = strcmp(arg, "delete") ? arg : NULL;
	return o->cfg.mask_word && (!*arg || strpbrk(arg, " \t\r\n")) ? -1 : 0;
}

static int set_perturb(struct sx_run_opts *o, const char *arg)
{
	return sx_perturb_from_name(arg, &o->cfg.perturb_pred);
}

/* --prompts DIR, or the name of a template set in $SELFEXP_HOME/prompts/. */
static int set_prompts(struct sx_run_opts *o, const char *arg)
{
	if (!*arg)
		return -1;
	free(o->prompts_dir);
	o->prompts_dir = sx_cli_prompts_dir(arg);
	return 0;
}

/* --answers FILE, repeatable: recorded answers looked up before the cache. */
static int set_answers(struct sx_run_opts *o, const char *arg)
{
	struct sx_run_config *cfg = &o->cfg;

	if (!*arg)
		return -1;
	if (cfg->nanswers == SX_RUN_MAX_ANSWERS) {
		sx_cli_error("--answers %s: at most %d answers files; join some of them with cat",
			     arg, SX_RUN_MAX_ANSWERS);
		return -1;
	}
	cfg->answers_path[cfg->nanswers++] = arg;
	return 0;
}

static int set_compat(struct sx_run_opts *o, const char *arg)
{
	return sx_compat_from_name(arg, &o->cfg.compat);
}

static int set_style(struct sx_run_opts *o, const char *arg)
{
	return sx_sim_style_from_name(arg, &o->demo.sim.style);
}

/* The demo's seed is the run's and the sim's. */
static int set_demo_seed(struct sx_run_opts *o, const char *arg)
{
	long n;

	if (sx_parse_long(arg, 0, 2147483647L, &n))
		return -1;
	o->cfg.seed = (uint64_t)n;
	o->demo.sim.seed = (uint64_t)n;
	return 0;
}

/* ---------------------------------------------------------------- the option table */

enum opt_kind {
	OPT_FLAG,   /* int field = value */
	OPT_LONG,   /* long field = the argument, an integer in [lo, hi] */
	OPT_INT,    /* int field = the argument, an integer in [lo, hi] */
	OPT_DOUBLE, /* double field = the argument, a number in [lo, hi] (lo refused with lo_open) */
	OPT_ARG,    /* const char * field = the argument (borrowed from argv) */
	OPT_STR,    /* char * field = a copy of the argument (owned) */
	OPT_FUNC,   /* set(o, argument) */
	OPT_HELP    /* print the command's help */
};

/* The commands, in the order of an option row's help[]. */
enum { IX_RUN, IX_DEMO, IX_COUNT };

static const struct cmd_info {
	unsigned bit;
	const char *name;
	int column;   /* where the help text of an option starts */
	int headings; /* options under group headings */
} commands[IX_COUNT] = {
	[IX_RUN] = { SX_RUN_CMD_RUN, "run", 25, 1 },
	[IX_DEMO] = { SX_RUN_CMD_DEMO, "demo", 27, 0 },
};

struct opt_row {
	const char *name;
	const char *metavar;    /* the argument in the help; NULL: the option takes none */
	const char *group;      /* its heading in `selfexp run --help`; NULL: not a run option */
	unsigned cmds;          /* SX_RUN_CMD_* bits: the commands that accept it */
	int short_name;         /* also -c; 0: none */
	enum opt_kind kind;
	size_t off;             /* the field set, in struct sx_run_opts */
	int value;              /* OPT_FLAG */
	double lo, hi;          /* OPT_LONG, OPT_INT (integers, exact below 2^53), OPT_DOUBLE */
	int lo_open;            /* OPT_DOUBLE: lo itself is refused */
	int (*set)(struct sx_run_opts *o, const char *arg); /* OPT_FUNC: 0, or -1 for a bad value */
	const char *expect;     /* what a bad value gets told: "(expected ...)" */
	/*
	 * Per command (IX_*): the help text, lines split by '\n'; NULL: shown on
	 * the line of the option before, as in "--rpm N, --tpm N".
	 */
	const char *help[IX_COUNT];
};

/* The offset of field in struct sx_run_opts, which must be of type type. */
#define AT(field, type) \
	_Generic(((struct sx_run_opts *)0)->field, type: offsetof(struct sx_run_opts, field))
#define FLAG(field, v) .kind = OPT_FLAG, .off = AT(field, int), .value = (v)
#define LONG(field, l, h, e) \
	.kind = OPT_LONG, .off = AT(field, long), .lo = (l), .hi = (h), .expect = (e)
#define INT(field, l, h, e) \
	.kind = OPT_INT, .off = AT(field, int), .lo = (l), .hi = (h), .expect = (e)
#define DOUBLE(field, l, h, e) \
	.kind = OPT_DOUBLE, .off = AT(field, double), .lo = (l), .hi = (h), .expect = (e)
#define POSITIVE(field, e) DOUBLE(field, 0, HUGE_VAL, e), .lo_open = 1
#define ARG(field) .kind = OPT_ARG, .off = AT(field, const char *)
#define STR(field) .kind = OPT_STR, .off = AT(field, char *)
#define FUNC(fn, e) .kind = OPT_FUNC, .set = (fn), .expect = (e)
#define RUN_HELP(s) .help[IX_RUN] = (s)
#define DEMO_HELP(s) .help[IX_DEMO] = (s)

#define G_IO "input and output"
#define G_PROTOCOL "protocol"
#define G_MODEL "model and endpoint"
#define G_ENGINE "engine"
#define RUN SX_RUN_CMD_RUN
#define DEMO SX_RUN_CMD_DEMO

/*
 * Every option of `selfexp run` and `selfexp demo`. A command's getopt_long
 * table and --help list the rows it accepts in this order (getopt's order
 * shows in its "ambiguous" message); the demo-only rows sit where the demo's
 * help lists them, after --out. An option both take with different values
 * (--seed) has a row per command.
 */
static const struct opt_row rows[] = {
	{ "data", "FILE", G_IO, RUN, ARG(cfg.data_path),
	  RUN_HELP("reviews: TSV (sentence<TAB>label, optional id), JSONL or CSV") },
	{ "format", "tsv|jsonl|csv", G_IO, RUN, FUNC(set_format, "tsv, jsonl or csv"),
	  RUN_HELP("override the format guessed from the extension") },
	{ "skip-bad-rows", NULL, G_IO, RUN, FLAG(cfg.data_opts.skip_bad_rows, 1),
	  RUN_HELP("skip (and count) malformed rows instead of stopping") },
	{ "limit", "N", G_IO, RUN, LONG(cfg.limit, 1, 100000000, "a positive integer"),
	  RUN_HELP("only the first N reviews") },
	{ "out", "DIR", G_IO, RUN | DEMO, ARG(cfg.out_dir),
	  RUN_HELP("run directory to write"),
	  DEMO_HELP("run directory (default out/demo); the cache goes to\n"
		    "$SELFEXP_CACHE when set, else DIR/../.selfexp/cache.sqlite") },
	{ "shard", "i/N|auto", G_IO, RUN,
	  FUNC(set_shard, "i/N with 0 <= i < N, auto (a Slurm job array) or auto/N"),
	  RUN_HELP("only the reviews whose id hashes to shard i (0-based) of N,\n"
		   "stable across machines and orders; auto takes i and N from a\n"
		   "Slurm job array (SLURM_ARRAY_TASK_ID minus _MIN, over _STEP,\n"
		   "of _COUNT), auto/N the index from JOB_COMPLETION_INDEX (or\n"
		   "the array);\n"
		   "'selfexp merge' joins the shards") },
	{ "force", NULL, G_IO, RUN, FLAG(cfg.force, 1),
	  RUN_HELP("replace the run in DIR even when its configuration differs\n"
		   "(without it such a run is refused; the same configuration\n"
		   "resumes)") },
	{ "prompts", "DIR|SET", G_IO, RUN, FUNC(set_prompts, "a directory or a template set"),
	  RUN_HELP("prompt templates (default: $SELFEXP_HOME/prompts), or a\n"
		   "set shipped there by name: paper-llama3 (the open-model\n"
		   "prompts of the paper's code, prompts/paper-llama3/README.md)") },
	{ "preset", "NAME", NULL, DEMO, ARG(demo.preset),
	  DEMO_HELP("how the sim explains itself (see 'selfexp sim --help'):\n"
		    "literature (default: E-P faithful, P-E post-hoc and\n"
		    "noisier) or plain (all faithful)") },
	{ "explain", "MODE", NULL, DEMO, ARG(demo.explain),
	  DEMO_HELP("every condition's explanations: faithful, noisy:SIGMA,\n"
		    "coarse, random or inverted (replaces the preset's modes)") },
	{ "style", "STYLE", NULL, DEMO,
	  FUNC(set_style, "clean, fenced, prose, echo, unquoted, truncated or mixed"),
	  DEMO_HELP("answer style: clean, fenced, prose, echo, unquoted,\n"
		    "truncated, mixed (default clean)") },
	{ "confidence-decimals", "D", NULL, DEMO, INT(demo.sim.confidence_decimals, 0, 9, "0..9"),
	  DEMO_HELP("decimals of the verbal confidence (default 2)") },
	{ "conditions", "LIST", G_PROTOCOL, RUN | DEMO,
	  FUNC(set_conditions, "a list of ep, pe, ep-topk, pe-topk, pred"),
	  RUN_HELP("comma-separated: ep, pe, ep-topk, pe-topk, pred (default ep,pe)"),
	  DEMO_HELP("prompt conditions (default ep,pe,ep-topk,pe-topk,pred)") },
	{ "explainers", "LIST", G_PROTOCOL, RUN, FUNC(set_explainers, "a list of self, occlusion, lime"),
	  RUN_HELP("comma-separated: self, occlusion, lime (default all three)") },
	{ "explanations", "FILE", G_PROTOCOL, RUN, FUNC(set_explanations, "a JSONL file"),
	  RUN_HELP("explanations made elsewhere (repeatable): JSONL lines\n"
		   "{\"id\": ID, \"method\": NAME, \"values\": [one per token]}\n"
		   "or \"ranking\": [token indices, most important first]\n"
		   "instead of values; optional \"condition\" (absent: all)\n"
		   "and \"sign\": \"positive\" (default: toward label 1) or\n"
		   "\"predicted\"; each method is evaluated like occlusion\n"
		   "(a ranking like a top-k list: no RankDel, top-k\n"
		   "agreement only); a bad line is an error naming the file\n"
		   "and line, before anything is sent") },
	{ "prob", "verbal|logprob|sample:N", G_PROTOCOL, RUN,
	  FUNC(set_prob, "verbal, logprob or sample:N with N in 2..128"),
	  RUN_HELP("P(positive): from the verbal confidence (default), from\n"
		   "the label token's logprobs, or the frequency of label 1\n"
		   "over N sampled choices (N in 2..128; temperature 1\n"
		   "unless --temperature is given); sample:N asks for n = N,\n"
		   "and on a server that refuses n > 1 (llama.cpp) or returns\n"
		   "fewer choices (Ollama) sends N requests of one choice,\n"
		   "seeds 0..N-1, counted in run.json (docs/endpoints.md)") },
	{ "seed", "S", G_PROTOCOL, RUN, FUNC(set_seed, "a non-negative integer"),
	  RUN_HELP("run seed: LIME samples and bootstrap draws (default 0)") },
	{ "seed", "S", NULL, DEMO, FUNC(set_demo_seed, "a non-negative integer"),
	  DEMO_HELP("run and sim seed (default 0)") },
	{ "lime-samples", "N|Kx", G_PROTOCOL, RUN,
	  FUNC(set_lime_samples, "a count such as 500, or a multiple such as 10x"),
	  RUN_HELP("LIME samples: N, or K times the token count (default 10x)") },
	{ "lime-kernel-width", "W", G_PROTOCOL, RUN,
	  POSITIVE(cfg.lime_kernel_width, "a positive number"),
	  RUN_HELP("LIME kernel width (default 25)") },
	{ "mask", "delete|WORD", G_PROTOCOL, RUN, FUNC(set_mask, "delete or one word"),
	  RUN_HELP("delete perturbed tokens (default) or replace them by WORD") },
	{ "perturb-prompt", "condition|pred|ep-pe", G_PROTOCOL, RUN,
	  FUNC(set_perturb, "condition, pred or ep-pe"),
	  RUN_HELP("prompt for perturbed reviews: the condition's own (default,\n"
		   "as the paper for ep and pe), prediction-only (fewer output\n"
		   "tokens), or ep-pe: the own, but ep-topk's and pe-topk's\n"
		   "under ep and pe, scored with that prompt's prediction on\n"
		   "the review (as the paper's code did for its top-k lists)") },
	{ "no-metrics", NULL, G_PROTOCOL, RUN, FLAG(cfg.metrics, 0),
	  RUN_HELP("skip the evaluate stage (no faithfulness metrics)") },
	{ "bootstrap", "N", G_PROTOCOL, RUN, LONG(cfg.bootstrap, 0, 1000000, "an integer >= 0"),
	  RUN_HELP("bootstrap resamples for intervals (default 1000)") },
	{ "compat", "none|paper", G_PROTOCOL, RUN | DEMO, FUNC(set_compat, "none or paper"),
	  RUN_HELP("none (default): the metric definitions of DESIGN.md;\n"
		   "paper: reproduce the choices of the code of Huang et al.\n"
		   "(2023) to regenerate its numbers: ranking by the signed\n"
		   "value with random (seeded) tie-breaks, comprehensiveness\n"
		   "with its confidence re-mapping, sufficiency with absolute\n"
		   "differences, DF_Frac over n + 1, RankDel on the label's\n"
		   "confidence, agreement on signed rankings, LIME features\n"
		   "split on non-word characters (removed ones become\n"
		   "UNKWORDZ), answers without a prediction counted as\n"
		   "(0, 0.5) (and counted), words aligned to the first equal\n"
		   "token, RankDel of top-k lists; see docs/paper-compat.md\n"
		   "(and --perturb-prompt ep-pe for the paper's top-k inputs)"),
	  DEMO_HELP("metric definitions: DESIGN.md's (default) or those of\n"
		    "the paper's code (see 'selfexp run --help' and\n"
		    "docs/paper-compat.md)") },
	{ "model", "M", G_MODEL, RUN, ARG(cfg.gen.model),
	  RUN_HELP("model name sent to the API (default gpt-3.5-turbo)") },
	{ "base-url", "URL", G_MODEL, RUN, STR(base_url),
	  RUN_HELP("API base URL (default $OPENAI_BASE_URL)") },
	{ "api-key-file", "FILE", G_MODEL, RUN, STR(key_file),
	  RUN_HELP("read the key from FILE (must not be readable by others)") },
	{ "temperature", "T", G_MODEL, RUN, DOUBLE(cfg.gen.temperature, 0, 2, "a number in [0, 2]"),
	  RUN_HELP("sampling temperature (default 0, as the paper)") },
	{ "max-tokens", "N", G_MODEL, RUN, LONG(cfg.gen.max_tokens, 1, 1000000, "a positive integer"),
	  RUN_HELP("completion cap (default 1024)") },
	{ "max-tokens-field", "auto|max_tokens|max_completion_tokens", G_MODEL, RUN,
	  FUNC(set_max_tokens_field, "auto, max_tokens or max_completion_tokens"),
	  RUN_HELP("the field the cap is sent in; auto (default): max_completion_tokens\n"
		   "for OpenAI's reasoning models (names o1, o3, o4, gpt-5...), which\n"
		   "also get no temperature and top_p while those are at the\n"
		   "defaults (they take only the API's own), max_tokens otherwise") },
	{ "param", "KEY=JSON", G_MODEL, RUN, FUNC(set_param, "KEY=JSON, e.g. seed=7 or "
						    "response_format={\"type\":\"json_object\"}"),
	  RUN_HELP("set a top-level request field to a JSON value (repeatable):\n"
		   "llama.cpp's grammar, vLLM's guided_*, response_format,\n"
		   "reasoning_effort, stop...; part of the cache key and run.json;\n"
		   "not the fields options set (temperature, max_tokens,\n"
		   "max_completion_tokens, n, logprobs) nor stream") },
	{ "unset", "KEY", G_MODEL, RUN, FUNC(set_unset, "temperature, top_p, max_tokens or seed"),
	  RUN_HELP("leave out a field selfexp sends: temperature, top_p,\n"
		   "max_tokens or seed (repeatable)") },
	{ "header", "'NAME: VALUE'", G_MODEL, RUN, FUNC(set_header, "'Name: value'"),
	  RUN_HELP("send an extra request header (repeatable): a gateway's\n"
		   "routing, organisation or project; recorded in run.json's\n"
		   "command line, so pass secrets with --header-env") },
	{ "header-env", "NAME=ENVVAR", G_MODEL, RUN, FUNC(set_header_env, "Name=ENVVAR"),
	  RUN_HELP("send header NAME with the value of environment variable\n"
		   "ENVVAR (repeatable); like the key, the value is never\n"
		   "written to a file, the cache or any output") },
	{ "auth", "bearer|api-key|none", G_MODEL, RUN, FUNC(set_auth, "bearer, api-key or none"),
	  RUN_HELP("how the key is sent: Authorization: Bearer KEY (default),\n"
		   "api-key: KEY (Azure OpenAI), or not at all") },
	{ "insecure", NULL, G_MODEL, RUN, FLAG(cfg.engine.insecure, 1),
	  RUN_HELP("do not verify TLS certificates (recorded in run.json)") },
	{ "concurrency", "N", G_ENGINE, RUN,
	  INT(cfg.engine.concurrency, 1, 4096, "an integer in 1..4096"),
	  RUN_HELP("requests in flight at most (default 16)") },
	{ "rpm", "N", G_ENGINE, RUN, POSITIVE(cfg.engine.rpm, "a positive number"),
	  RUN_HELP("pace to N requests / tokens per minute (default unlimited)") },
	{ "tpm", "N", G_ENGINE, RUN, POSITIVE(cfg.engine.tpm, "a positive number") },
	{ "retries", "N", G_ENGINE, RUN, INT(cfg.engine.retries, 0, 100, "an integer in 0..100"),
	  RUN_HELP("retries per request after the first attempt (default 6);\n"
		   "0: every request is sent once, with no outage hold\n"
		   "either (one puts back and sends again the requests that\n"
		   "fail while the server is down)") },
	{ "timeout", "SECONDS", G_ENGINE, RUN,
	  POSITIVE(cfg.engine.timeout_s, "a positive number of seconds"),
	  RUN_HELP("per attempt (default 120)") },
	{ "max-wait", "SECONDS", G_ENGINE, RUN,
	  POSITIVE(cfg.engine.max_wait_s, "a positive number of seconds"),
	  RUN_HELP("the longest wait to accept (default 120): a server that\n"
		   "asks for longer (Retry-After, retry-after-ms or\n"
		   "x-ratelimit-reset-*) fails that request at once; an outage\n"
		   "(5 requests in a row failing with connection errors or\n"
		   "5xx) holds every request and probes with one until the\n"
		   "server answers, for at most this long, then fails the rest") },
	{ "cache", "FILE", G_ENGINE, RUN, STR(cache_path),
	  RUN_HELP("response cache (default: $SELFEXP_CACHE when set, else\n"
		   "DIR/../.selfexp/cache.sqlite)") },
	{ "answers", "FILE", G_ENGINE, RUN, FUNC(set_answers, "a JSONL file of recorded answers"),
	  RUN_HELP("recorded answers, JSONL {\"condition\", \"review\", \"answer\"}\n"
		   "(repeatable): a request whose prompt condition and review\n"
		   "text match a line takes its answer, before the cache and\n"
		   "the network (counted as recorded; --prob verbal only); a\n"
		   "bad line stops the run before anything is sent. 'selfexp\n"
		   "answers export' writes them; see docs/replay.md") },
	{ "cache-legacy-keys", NULL, G_ENGINE, RUN,
	  FLAG(cfg.engine.cache_keys, SX_ENGINE_KEYS_FALLBACK),
	  RUN_HELP("on a miss, also take the rows an older cache keyed by\n"
		   "the host alone (any port or path of it: two servers on\n"
		   "one host share them; see docs/reliability.md)") },
	{ "accept-insecure-cache", NULL, G_ENGINE, RUN, FLAG(cfg.engine.accept_insecure_cache, 1),
	  RUN_HELP("take cached answers fetched without TLS verification\n"
		   "(--insecure, or not recorded) in a run that verifies") },
	{ "offline", NULL, G_ENGINE, RUN, FLAG(cfg.engine.offline, 1),
	  RUN_HELP("answer from the cache only; misses are listed and\n"
		   "failed; without --base-url: the endpoint DIR/run.json\n"
		   "recorded, else $OPENAI_BASE_URL; the cache is only read\n"
		   "(it may be on read-only media) and never created") },
	{ "max-requests", "N", G_ENGINE, RUN,
	  LONG(cfg.engine.max_requests, 1, 1000000000L, "a positive integer"),
	  RUN_HELP("stop cleanly before sending more than N requests\n"
		   "(refused with --batch)") },
	{ "max-cost", "USD", G_ENGINE, RUN, POSITIVE(cfg.engine.max_cost, "a positive amount in USD"),
	  RUN_HELP("stop cleanly before spending more than USD, counting\n"
		   "what earlier processes of the same run directory spent\n"
		   "(DIR/ledger.jsonl; run.json \"totals\"); a request goes\n"
		   "out only when its worst case fits (its prompt, and\n"
		   "max_tokens for each of its n choices); refused with\n"
		   "--batch: a batch's cost is known only when it is done;\n"
		   "see --dry-run --batch") },
	{ "price-in", "USD", G_ENGINE, RUN,
	  DOUBLE(cfg.engine.price_in, 0, HUGE_VAL, "USD per 1M tokens"),
	  RUN_HELP("price per 1M prompt / completion tokens (default: from\n"
		   "data/prices.tsv for the model when the host is api.openai.com\n"
		   "or *.openai.azure.com, or for --dry-run without an endpoint, else\n"
		   "0: a local server or gateway costs nothing unless these say\n"
		   "so); reasoning tokens are output") },
	{ "price-out", "USD", G_ENGINE, RUN,
	  DOUBLE(cfg.engine.price_out, 0, HUGE_VAL, "USD per 1M tokens") },
	{ "batch", NULL, G_ENGINE, RUN, FLAG(cfg.engine.batch, SX_ENGINE_BATCH_API),
	  RUN_HELP("send what the cache lacks as OpenAI-style batches\n"
		   "(/v1/files, /v1/batches; the batch price, answers\n"
		   "within 24 h), stage by stage; the batch ids are kept\n"
		   "in DIR/batches.json, so the same command started again\n"
		   "polls them instead of submitting again; failed lines go\n"
		   "out again in a new batch, up to --retries more rounds\n"
		   "(docs/batch.md); not with --rpm, --tpm, --max-requests,\n"
		   "--max-cost or --offline") },
	{ "batch-dir", "BDIR", G_ENGINE, RUN, STR(batch_dir),
	  RUN_HELP("batch mode without API calls: write each stage's\n"
		   "request files to BDIR (NAME.jsonl) and read the output\n"
		   "files another tool (vllm run-batch) writes beside them\n"
		   "(NAME.output.jsonl, optionally NAME.errors.jsonl);\n"
		   "exits 6 while output files are missing") },
	{ "no-wait", NULL, G_ENGINE, RUN, FLAG(cfg.engine.batch_no_wait, 1),
	  RUN_HELP("with --batch: submit (or poll once) and exit 6 while\n"
		   "batches are pending instead of waiting for them") },
	{ "batch-poll", "SECONDS", G_ENGINE, RUN,
	  POSITIVE(cfg.engine.batch_poll_s, "a positive number of seconds"),
	  RUN_HELP("first wait between polls of a batch (default 1; it\n"
		   "grows by half each time, up to 30)") },
	{ "dry-run", NULL, G_ENGINE, RUN, FLAG(cfg.dry_run, 1),
	  RUN_HELP("print the distinct requests per stage and the estimated\n"
		   "tokens and cost, send nothing; with --answers how many\n"
		   "the files answer (left out of the cost); with --batch\n"
		   "the cost both live and at the batch price") },
	{ "progress", NULL, G_ENGINE, RUN, FLAG(progress, 1),
	  RUN_HELP("progress line on stderr (default: when it is a terminal)") },
	{ "no-progress", NULL, G_ENGINE, RUN | DEMO, FLAG(progress, 0),
	  DEMO_HELP("no progress line") },
	{ "help", NULL, G_ENGINE, RUN | DEMO, 'h', .kind = OPT_HELP,
	  RUN_HELP("show this help"), DEMO_HELP("show this help") },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))
/* getopt_long's value for rows[i] without a short name */
#define VAL_BASE 256

static const struct cmd_info *command(unsigned bit)
{
	size_t i;

	for (i = 0; i < IX_COUNT; i++)
		if (commands[i].bit == bit)
			return &commands[i];
	fprintf(stderr, "selfexp: internal error: no command %#x\n", bit);
	abort();
}

/* ---------------------------------------------------------------- parsing */

/* Set r's field from arg; 0, or -1 for a bad value. */
static int set_option(struct sx_run_opts *o, const struct opt_row *r, const char *arg)
{
	char *field = (char *)o + r->off;
	double d;
	long l;

	switch (r->kind) {
	case OPT_FLAG: *(int *)field = r->value; return 0;
	case OPT_LONG:
	case OPT_INT:
		if (sx_parse_long(arg, (long)r->lo, (long)r->hi, &l))
			return -1;
		if (r->kind == OPT_INT)
			*(int *)field = (int)l;
		else
			*(long *)field = l;
		return 0;
	case OPT_DOUBLE:
		if (sx_parse_double(arg, &d) || d < r->lo || d > r->hi || (r->lo_open && d <= r->lo))
			return -1;
		*(double *)field = d;
		return 0;
	case OPT_ARG: *(const char **)field = arg; return 0;
	case OPT_STR:
		free(*(char **)field);
		*(char **)field = xstrdup(arg);
		return 0;
	case OPT_FUNC: return r->set(o, arg);
	case OPT_HELP: break;
	}
	return 0;
}

/* getopt_long's tables for cmd, made from the rows it accepts. */
static void make_getopt(unsigned cmd, struct option *longs, char *shorts)
{
	size_t i, n = 0, ns = 0;

	for (i = 0; i < NROWS; i++) {
		if (!(rows[i].cmds & cmd))
			continue;
		longs[n].name = rows[i].name;
		longs[n].has_arg = rows[i].metavar ? required_argument : no_argument;
		longs[n].flag = NULL;
		longs[n].val = rows[i].short_name ? rows[i].short_name : VAL_BASE + (int)i;
		n++;
		if (rows[i].short_name)
			shorts[ns++] = (char)rows[i].short_name;
	}
	memset(&longs[n], 0, sizeof(longs[n]));
	shorts[ns] = '\0';
}

/* The row getopt_long's c stands for, NULL for its '?' (a message printed already). */
static const struct opt_row *row_of(int c)
{
	size_t i;

	if (c >= VAL_BASE && (size_t)(c - VAL_BASE) < NROWS)
		return &rows[c - VAL_BASE];
	for (i = 0; i < NROWS; i++)
		if (rows[i].short_name && rows[i].short_name == c)
			return &rows[i];
	return NULL;
}

/*
 * A --base-url value as the command line is recorded (run.json's "command"
 * and "argv"): without user info, query or fragment, like the endpoint
 * run.json records, so neither a password nor Azure's ?api-version= is
 * written anywhere. In place: the result is never longer. The requests use
 * the copy the option's setter made.
 */
static void strip_url_secrets(char *url)
{
	struct sx_buf b = SX_BUF_INIT;

	sx_http_url_shown(url, &b);
	memcpy(url, b.buf, b.len + 1);
	sx_buf_release(&b);
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

void sx_run_opts_init(struct sx_run_opts *o)
{
	static const struct sx_sim_config sim = SX_SIM_CONFIG_INIT;

	memset(o, 0, sizeof(*o));
	sx_run_config_init(&o->cfg);
	o->progress = -1;
	o->demo.sim = sim;
}

/* Parse the options of command cmd in argv into o; name is the command in messages. */
static int parse(struct sx_run_opts *o, unsigned cmd, const char *name, void (*usage)(void),
		 int argc, char **argv)
{
	struct option longs[NROWS + 1];
	char shorts[NROWS + 1], opt[64];
	const struct opt_row *r;
	int c;

	make_getopt(cmd, longs, shorts);
	free(o->argv_line);
	o->argv_line = NULL;
	o->cfg.argc = argc;
	o->cfg.argv = argv;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		r = row_of(c);
		if (!r) {
			sx_run_opts_release(o);
			return sx_cli_usage_hint(name);
		}
		if (r->kind == OPT_HELP) {
			if (usage)
				usage();
			sx_run_opts_release(o);
			return SX_EXIT_OK;
		}
		if ((c = set_option(o, r, optarg))) {
			/* -2: the setter said what is wrong itself (without echoing a header value) */
			snprintf(opt, sizeof(opt), "--%s", r->name);
			if (c != -2)
				sx_cli_bad_value(name, opt, optarg, r->expect);
			sx_run_opts_release(o);
			return SX_EXIT_USAGE;
		}
		if (r->kind == OPT_STR && r->off == AT(base_url, char *))
			strip_url_secrets(optarg);
	}
	o->argv_line = join_argv(argc, argv, name);
	if (optind < argc) {
		sx_cli_error("%s: unexpected argument '%s'", name, argv[optind]);
		sx_run_opts_release(o);
		return sx_cli_usage_hint(name);
	}
	return -1;
}

int sx_run_opts_getopt(struct sx_run_opts *o, unsigned cmd, void (*usage)(void), int argc,
		       char **argv)
{
	return parse(o, cmd, command(cmd)->name, usage, argc, argv);
}

int sx_run_opts_parse(struct sx_run_opts *o, const char *cmd, void (*usage)(void), int argc,
		      char **argv)
{
	sx_run_opts_init(o);
	return parse(o, SX_RUN_CMD_RUN, cmd, usage, argc, argv);
}

/* ---------------------------------------------------------------- help */

static void add_label(struct sx_buf *b, const struct opt_row *r)
{
	if (r->short_name)
		sx_buf_addf(b, "-%c, ", r->short_name);
	sx_buf_addf(b, "--%s", r->name);
	if (r->metavar)
		sx_buf_addf(b, " %s", r->metavar);
}

/*
 * Print rows[i] for ci (with the rows after it that share its line) and
 * return the index of the row after them.
 */
static size_t print_option(FILE *f, const struct cmd_info *ci, size_t i)
{
	size_t ix = (size_t)(ci - commands), j;
	struct sx_buf label = SX_BUF_INIT;
	const char *text = rows[i].help[ix] ? rows[i].help[ix] : "", *nl;

	sx_buf_addf(&label, "  ");
	add_label(&label, &rows[i]);
	for (j = i + 1; j < NROWS && (!(rows[j].cmds & ci->bit) || !rows[j].help[ix]); j++) {
		if (!(rows[j].cmds & ci->bit))
			continue;
		sx_buf_addf(&label, ", ");
		add_label(&label, &rows[j]);
	}
	if (label.len < (size_t)ci->column)
		fprintf(f, "%-*s", ci->column, label.buf);
	else
		fprintf(f, "%s\n%*s", label.buf, ci->column, "");
	while ((nl = strchr(text, '\n'))) {
		fprintf(f, "%.*s\n%*s", (int)(nl - text), text, ci->column, "");
		text = nl + 1;
	}
	fprintf(f, "%s\n", text);
	sx_buf_release(&label);
	return j;
}

void sx_run_opts_help(FILE *f, unsigned cmd)
{
	const struct cmd_info *ci = command(cmd);
	const char *group = NULL;
	size_t i = 0;

	while (i < NROWS) {
		if (!(rows[i].cmds & cmd)) {
			i++;
			continue;
		}
		if (ci->headings && (!group || strcmp(group, rows[i].group))) {
			fprintf(f, "%s%s:\n", group ? "\n" : "", rows[i].group);
			group = rows[i].group;
		}
		i = print_option(f, ci, i);
	}
}

/* Read the key from a file that only its owner can read; strip the line end. */
/*
 * A key goes into a header: a control character (CR, LF, ...) would end the
 * header and start another one. Refused, without printing the key.
 */
static int check_key(const char *key, const char *from)
{
	const unsigned char *p;

	for (p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f) {
			sx_cli_error("the API key from %s holds a control character (byte %zu of the "
				     "key, 0x%02x); a key is one line of printable characters",
				     from, (size_t)(p - (const unsigned char *)key) + 1, *p);
			return -1;
		}
	return 0;
}

static int read_key_file(const char *path, char **out)
{
	struct sx_buf b = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct stat st;

	if (stat(path, &st)) {
		sx_cli_error("cannot read API key file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		sx_cli_error("API key file '%s' is a directory; pass the file that holds the key", path);
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
	if (!b.len) {
		sx_cli_error("API key file '%s' is empty; write the key into it, or leave out "
			     "--api-key-file for a server that needs none", path);
		sx_buf_release(&b);
		return -1;
	}
	*out = sx_buf_detach(&b, NULL);
	return check_key(*out, path) ? -1 : 0;
}

/*
 * The hosts whose prices data/prices.tsv lists: OpenAI's API and Azure
 * OpenAI deployments (which bill OpenAI's list prices). Any other host (a
 * local server, a gateway with its own prices) costs 0 unless --price-in /
 * --price-out say otherwise.
 */
static int priced_host(const char *host)
{
	static const char azure[] = ".openai.azure.com";
	size_t n = host ? strlen(host) : 0;

	if (!host)
		return 1; /* a dry run without an endpoint: the list prices, as an estimate */
	return !strcmp(host, "api.openai.com") ||
	       (n > sizeof(azure) - 1 && !strcmp(host + n - (sizeof(azure) - 1), azure));
}

/*
 * The model's prices and batch discount from data/prices.tsv, where the
 * options gave none (--price-in/--price-out win; a host priced_host does
 * not know costs 0). The discount stays 0.5 for a model the table does not
 * list.
 */
static void lookup_prices(struct sx_run_config *cfg, const char *host)
{
	int given = cfg->engine.price_in || cfg->engine.price_out || !priced_host(host);
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	char *line, *save = NULL;

	sx_buf_addf(&path, "%s/data/prices.tsv", sx_cli_home());
	if (!sx_file_read(path.buf, 1 << 20, &text, NULL)) {
		for (line = strtok_r(text.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *tab = strchr(line, '\t');
			double in, out, factor;
			char *tab2, *tab3;

			if (*line == '#' || !tab)
				continue;
			*tab = '\0';
			tab2 = strchr(tab + 1, '\t');
			if (!tab2 || strcmp(line, cfg->gen.model))
				continue;
			*tab2 = '\0';
			tab3 = strchr(tab2 + 1, '\t');
			if (tab3)
				*tab3 = '\0';
			if (!given && !sx_parse_double(tab + 1, &in) && !sx_parse_double(tab2 + 1, &out)) {
				cfg->engine.price_in = in;
				cfg->engine.price_out = out;
			}
			if (tab3 && !sx_parse_double(tab3 + 1, &factor) && factor > 0 && factor <= 1)
				cfg->engine.batch_discount = factor;
			break;
		}
	}
	sx_buf_release(&path);
	sx_buf_release(&text);
}

/*
 * The endpoint DIR/run.json recorded, for --offline without --base-url:
 * *url gets its config.endpoint.base_url (written without user info or
 * query), *host its model.endpoint_host (all that selfexp 0.1.0 recorded);
 * each stays NULL when DIR has no readable run.json or it records none.
 */
static void recorded_endpoint(const char *dir, char **url, char **host)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_json *run = NULL;
	const char *s;

	sx_buf_addf(&path, "%s/" SX_RUNDIR_RUN_JSON, dir);
	if (!sx_file_read(path.buf, SX_RUNDIR_JSON_MAX, &text, NULL) &&
	    (run = sx_json_parse(text.buf, text.len, NULL))) {
		s = sx_json_get_str(sx_json_get(sx_json_get(run, "config"), "endpoint"), "base_url");
		if (s && *s)
			*url = xstrdup(s);
		s = sx_json_get_str(sx_json_get(run, "model"), "endpoint_host");
		if (s && *s)
			*host = xstrdup(s);
	}
	sx_json_free(run);
	sx_buf_release(&path);
	sx_buf_release(&text);
}

/* --offline and no endpoint: say which --base-url to pass (never invent one). */
static int offline_without_endpoint(const char *cmd, const char *dir, const char *host)
{
	if (host)
		sx_cli_error("%s: --offline: '%s/" SX_RUNDIR_RUN_JSON "' records only the endpoint "
			     "host '%s', not its URL (selfexp 0.1.0); pass --base-url "
			     "http://%s:PORT/PATH, the URL the answers came from (and "
			     "--cache-legacy-keys to read those an older cache keyed by the host "
			     "alone)", cmd, dir, host, host);
	else
		sx_cli_error("%s: --offline: no endpoint to look the answers up for (no '%s/"
			     SX_RUNDIR_RUN_JSON "' that records one); pass --base-url URL, the "
			     "URL the answers came from, or set OPENAI_BASE_URL", cmd, dir);
	return SX_EXIT_USAGE;
}

/*
 * The base URL (--base-url; with --offline the one DIR/run.json recorded;
 * else $OPENAI_BASE_URL) and its host. Only a dry run, which sends nothing
 * and writes nothing, may go without one.
 */
static int resolve_endpoint(struct sx_run_opts *o, const char *cmd)
{
	const struct sx_run_config *cfg = &o->cfg;
	struct sx_buf h = SX_BUF_INIT, url = SX_BUF_INIT;
	char *recorded_host = NULL;
	const char *env;
	int from_run = 0, rc = 0;

	if (!o->base_url && cfg->engine.offline && cfg->out_dir) {
		recorded_endpoint(cfg->out_dir, &o->base_url, &recorded_host);
		from_run = o->base_url != NULL;
	}
	if (!o->base_url) {
		env = getenv("OPENAI_BASE_URL");
		if (env && *env)
			o->base_url = xstrdup(env);
	}
	if (!o->base_url && cfg->engine.offline && cfg->nanswers && !cfg->dry_run) {
		/* a replay of recorded answers needs no endpoint: .invalid names none (RFC 6761) */
		o->base_url = xstrdup(SX_RUN_ANSWERS_ENDPOINT);
		fprintf(stderr, "selfexp: %s: --offline --answers: no endpoint given, the cache is "
			"looked up under %s\n", cmd, SX_RUN_ANSWERS_ENDPOINT);
	}
	if (!o->base_url && cfg->engine.offline && !cfg->dry_run) {
		rc = offline_without_endpoint(cmd, cfg->out_dir ? cfg->out_dir : ".", recorded_host);
		goto out;
	}
	if (!o->base_url && !cfg->dry_run) {
		sx_cli_error("%s: no endpoint: set OPENAI_BASE_URL or pass --base-url URL "
			     "(e.g. http://127.0.0.1:8080/v1 for 'selfexp sim')", cmd);
		rc = SX_EXIT_USAGE;
		goto out;
	}
	if (!o->base_url)
		goto out; /* a dry run */
	if (sx_engine_endpoint_host(o->base_url, &h) || sx_engine_endpoint_url(o->base_url, &url)) {
		sx_buf_reset(&h);
		sx_http_url_shown(o->base_url, &h);
		sx_cli_error("%s: base URL '%s'%s is not an http(s) URL (with a port in 1..65535)",
			     cmd, h.buf, from_run ? " (recorded in run.json)" : "");
		rc = SX_EXIT_USAGE;
		goto out;
	}
	if (from_run)
		fprintf(stderr, "selfexp: %s: --offline: answers of '%s', the endpoint of '%s/"
			SX_RUNDIR_RUN_JSON "'\n", cmd, url.buf, cfg->out_dir);
	o->host = sx_buf_detach(&h, NULL);
out:
	free(recorded_host);
	sx_buf_release(&h);
	sx_buf_release(&url);
	return rc;
}

/* The prompts directory and the cache file when the options name none. */
static void default_paths(struct sx_run_opts *o)
{
	if (!o->prompts_dir) {
		struct sx_buf b = SX_BUF_INIT;
		sx_buf_addf(&b, "%s/prompts", sx_cli_home());
		o->prompts_dir = sx_buf_detach(&b, NULL);
	}
	if (!o->cache_path && getenv("SELFEXP_CACHE") && *getenv("SELFEXP_CACHE"))
		o->cache_path = xstrdup(getenv("SELFEXP_CACHE"));
	if (!o->cache_path && o->cfg.out_dir) {
		char *copy = xstrdup(o->cfg.out_dir);
		struct sx_buf b = SX_BUF_INIT;
		sx_buf_addf(&b, "%s/.selfexp/cache.sqlite", dirname(copy));
		free(copy);
		o->cache_path = sx_buf_detach(&b, NULL);
	}
}

/* OpenAI's reasoning model families, by the start of the model name. */
static int reasoning_model(const char *model)
{
	static const char *const families[] = { "o1", "o3", "o4", "gpt-5" };
	size_t i, n;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		n = strlen(families[i]);
		if (!strncmp(model, families[i], n) && (!model[n] || model[n] == '-'))
			return 1;
	}
	return 0;
}

/*
 * --max-tokens-field auto: reasoning models take max_completion_tokens and
 * only the API's own temperature and top_p, so those are not sent while they
 * are at selfexp's defaults.
 */
static void reasoning_model_fields(struct sx_run_opts *o)
{
	struct sx_gen_params *g = &o->cfg.gen;

	if (o->max_tokens_field) {
		g->max_tokens_field = o->max_tokens_field;
		return;
	}
	if (!reasoning_model(g->model))
		return;
	g->max_tokens_field = "max_completion_tokens";
	if (g->temperature == 0.0)
		g->omit |= SX_GEN_OMIT_TEMPERATURE;
	if (g->top_p == 1.0)
		g->omit |= SX_GEN_OMIT_TOP_P;
}

/*
 * --batch, --batch-dir and --no-wait: what they do not go with, and the
 * record of the batches, DIR/batches.json.
 */
static int check_batch(struct sx_run_opts *o, const char *cmd)
{
	struct sx_engine_config *e = &o->cfg.engine;
	const char *clash = NULL;
	struct sx_buf b = SX_BUF_INIT;

	if (o->batch_dir && e->batch == SX_ENGINE_BATCH_API) {
		sx_cli_error("%s: --batch and --batch-dir do not go together: --batch sends the "
			     "batches to the API, --batch-dir only writes their files; leave out one "
			     "of them", cmd);
		return SX_EXIT_USAGE;
	}
	if (o->batch_dir)
		e->batch = SX_ENGINE_BATCH_DIR;
	e->batch_dir = o->batch_dir;
	if (!e->batch) {
		if (e->batch_no_wait) {
			sx_cli_error("%s: --no-wait goes with --batch (or --batch-dir)", cmd);
			return SX_EXIT_USAGE;
		}
		return 0;
	}
	if (e->max_requests)
		clash = "--max-requests";
	else if (e->max_cost)
		clash = "--max-cost";
	else if (e->rpm)
		clash = "--rpm";
	else if (e->tpm)
		clash = "--tpm";
	else if (e->offline)
		clash = "--offline";
	if (clash) {
		sx_cli_error("%s: %s does not go with --batch%s: a batch is paid and paced by the "
			     "API as a whole (docs/batch.md); leave out one of them", cmd, clash,
			     o->batch_dir ? "-dir" : "");
		return SX_EXIT_USAGE;
	}
	sx_buf_addf(&b, "%s/" SX_BATCH_STATE_FILE, o->cfg.out_dir);
	free(o->batch_state);
	o->batch_state = sx_buf_detach(&b, NULL);
	e->batch_state = o->batch_state;
	return 0;
}

int sx_run_opts_finish(struct sx_run_opts *o, const char *cmd)
{
	struct sx_run_config *cfg = &o->cfg;
	const char *env;
	int rc;

	if (!cfg->data_path || !cfg->out_dir) {
		/* `selfexp score` replaying a command line that is not a run's (a demo's) */
		sx_cli_error("%s: --data FILE and --out DIR are required", cmd);
		return SX_EXIT_USAGE;
	}
	rc = check_batch(o, cmd);
	if (rc)
		return rc;
	if (cfg->nanswers && cfg->prob != SX_PROB_VERBAL) {
		sx_cli_error("%s: --answers does not go with --prob %s: recorded answers are texts "
			     "only, with no logprobs and one choice; use --prob verbal", cmd,
			     cfg->prob == SX_PROB_LOGPROB ? "logprob" : "sample:N");
		return SX_EXIT_USAGE;
	}
	rc = resolve_endpoint(o, cmd);
	if (rc)
		return rc;
	if (o->key_file) {
		if (read_key_file(o->key_file, &o->api_key))
			return SX_EXIT_FAIL;
	} else {
		env = getenv("OPENAI_API_KEY");
		if (env && *env && check_key(env, "OPENAI_API_KEY"))
			return SX_EXIT_FAIL;
		if (env && *env)
			o->api_key = xstrdup(env);
	}
	default_paths(o);
	if (o->progress < 0)
		o->progress = isatty(STDERR_FILENO);
	lookup_prices(cfg, o->host);
	if (cfg->prob == SX_PROB_LOGPROB) {
		cfg->gen.logprobs = 1;
		cfg->gen.top_logprobs = 5;
	}
	reasoning_model_fields(o);
	if (cfg->prob == SX_PROB_SAMPLE && cfg->gen.temperature == 0)
		cfg->gen.temperature = 1.0;
	cfg->prompts_dir = o->prompts_dir;
	cfg->endpoint_host = o->host;
	cfg->argv_line = o->argv_line;
	cfg->engine.base_url = o->base_url;
	cfg->engine.api_key = o->api_key;
	cfg->engine.cache_path = o->cache_path;
	cfg->engine.progress = o->progress;
	cfg->engine.headers = o->headers;
	cfg->engine.nheaders = o->nheaders;
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
	free(o->batch_dir);
	free(o->batch_state);
	free(o->prompts_dir);
	free(o->argv_line);
	sx_json_free(o->params);
	while (o->nheaders) {
		struct sx_http_header *h = &o->headers[--o->nheaders];

		explicit_bzero((char *)h->value, strlen(h->value));
		free((char *)h->value);
		free((char *)h->name);
	}
	memset(o, 0, sizeof(*o));
}

/* What failed, by stage, why, and where the result went. */
static void report_failures(const struct sx_run_config *cfg, const struct sx_run_outcome *out)
{
	int i;

	fprintf(stderr, "selfexp: %ld %s: elicit %ld, explain %ld, evaluate %ld; why:\n",
		out->requests_failed,
		cfg->engine.offline ? (cfg->nanswers ? "answers were missing from the recorded "
						       "answers and the cache (offline)"
						     : "answers were missing from the cache (offline)")
				    : "requests failed",
		out->failed_by_stage[0], out->failed_by_stage[1], out->failed_by_stage[2]);
	for (i = 0; i < 3 && out->top_reason_count[i]; i++)
		fprintf(stderr, "selfexp:   %6ld  %s\n", out->top_reason_count[i], out->top_reason[i]);
	if (cfg->engine.offline && out->written_to[0])
		fprintf(stderr, "selfexp: every miss is listed in %s/misses.jsonl\n", out->written_to);
	if (out->kept && out->written_to[0])
		fprintf(stderr, "selfexp: the %s run in %s%s was kept; this partial result is in "
			"%s\n", out->kept == 1 ? "complete" : "partial", cfg->out_dir,
			out->kept == 1 ? "" : ", which had answers for more requests,",
			out->written_to);
	else if (out->kept)
		fprintf(stderr, "selfexp: %s was left as it was (a partial result never replaces %s)\n",
			cfg->out_dir, out->kept == 1 ? "a complete run"
			: "a partial run that had answers for more requests");
}

/*
 * Whether served names the model asked for: the name itself, a dated
 * snapshot of it ("gpt-4o-2024-08-06", "gpt-3.5-turbo-0125") or a tag of it
 * (Ollama's "llama3:latest").
 */
static int same_model(const char *asked, const char *served)
{
	size_t n = strlen(asked);

	if (strncmp(asked, served, n))
		return 0;
	return !served[n] || served[n] == ':' ||
	       (served[n] == '-' && served[n + 1] >= '0' && served[n + 1] <= '9');
}

/* A line on stderr when answers name another model than the one asked for. */
static void served_note(const char *asked, const struct sx_engine_stats *st)
{
	struct sx_buf b = SX_BUF_INIT;
	long total = st->served_other, other = st->served_other;
	size_t i, k;

	for (i = 0; i < st->nserved; i++) {
		const char *name = st->served[i].name;

		total += st->served[i].answers;
		if (same_model(asked, name))
			continue;
		other += st->served[i].answers;
		sx_buf_adds(&b, b.len ? ", '" : "'");
		for (k = 0; name[k]; k++) /* a server's text on a terminal: printable ASCII only */
			sx_buf_addch(&b, name[k] >= 0x20 && name[k] < 0x7f ? name[k] : '?');
		sx_buf_addf(&b, "' (%ld)", st->served[i].answers);
	}
	if (st->served_other)
		sx_buf_addf(&b, "%s%ld naming still others", b.len ? ", and " : "", st->served_other);
	if (other)
		fprintf(stderr, "selfexp: %ld of the %ld answers name another model than '%s': %s "
			"(run.json counts.models_served); the server or a gateway may have answered "
			"with another model\n", other, total, asked, b.buf);
	sx_buf_release(&b);
}

int sx_run_report(const struct sx_run_config *cfg, int rc, const struct sx_run_outcome *out,
		  const struct sx_err *err)
{
	const struct sx_engine_stats *st = &out->stats;
	char recorded[48] = "";
	int partial;

	if (rc == SX_ENET) {
		sx_cli_error("%s", err->msg);
		return SX_EXIT_UNREACHABLE;
	}
	if (rc == SX_EPENDING) {
		sx_cli_error("%s", err->msg);
		return SX_EXIT_PENDING;
	}
	if (rc && rc != SX_ELIMIT) {
		sx_cli_error("%s", err->msg);
		return SX_EXIT_FAIL;
	}
	if (cfg->dry_run) {
		double pt = 0, ct = 0, cost;
		long naive = 0, distinct = 0;
		int i, upper = 0;
		int rec = cfg->nanswers > 0; /* a column of what the --answers files answer */
		long nrec = 0;

		printf("%-20s %12s %12s", "stage", "naive", "distinct");
		if (rec)
			printf(" %10s", "recorded");
		printf(" %14s %14s\n", "prompt tok", "completion tok");
		for (i = 0; i < out->nest; i++) {
			const struct sx_stage_estimate *e = &out->est[i];
			printf("%-20s %12ld %11s%ld", e->stage, e->naive, e->upper_bound ? "<=" : "",
			       e->distinct);
			if (rec && e->recorded < 0)
				printf(" %10s", "?"); /* the evaluate stage's: known only in the run */
			else if (rec)
				printf(" %10ld", e->recorded);
			printf(" %14.0f %14.0f\n", e->prompt_tokens, e->completion_tokens);
			naive += e->naive;
			distinct += e->distinct;
			nrec += e->recorded > 0 ? e->recorded : 0;
			pt += e->prompt_tokens;
			ct += e->completion_tokens;
			upper |= e->upper_bound;
		}
		cost = (pt * cfg->engine.price_in + ct * cfg->engine.price_out) / 1e6;
		printf("%-20s %12ld %11s%ld", "total", naive, upper ? "<=" : "", distinct);
		if (rec)
			printf(" %10ld", nrec);
		printf(" %14.0f %14.0f\n", pt, ct);
		printf("estimated cost: %s$%.2f for model '%s' at $%.2f / $%.2f per 1M tokens "
		       "(before cache hits%s; nothing was sent)\n", upper ? "<= " : "", cost,
		       cfg->gen.model, cfg->engine.price_in, cfg->engine.price_out,
		       rec ? "; the recorded answers cost nothing, what they answer of the "
			     "evaluate stage ('?') is known only in the run" : "");
		if (cfg->engine.batch)
			printf("estimated cost as batches: %s$%.2f (%.0f %% of the live price; "
			       "answers within 24 h)\n", upper ? "<= " : "",
			       cost * cfg->engine.batch_discount, 100.0 * cfg->engine.batch_discount);
		if (cfg->gen.max_tokens_field &&
		    !strcmp(cfg->gen.max_tokens_field, "max_completion_tokens")) {
			/* the completion estimate is the visible answer; hidden reasoning is billed too */
			if (cfg->gen.omit & SX_GEN_OMIT_MAX_TOKENS)
				printf("a reasoning model also bills the hidden tokens it thinks in, not "
				       "in the estimate above, and --unset max_tokens leaves them no "
				       "cap: there is no upper bound\n");
			else
				printf("a reasoning model also bills the hidden tokens it thinks in, not "
				       "in the estimate above: with every answer at the cap of %ld "
				       "completion tokens (--max-tokens) it costs at most $%.2f\n",
				       cfg->gen.max_tokens,
				       (pt * cfg->engine.price_in +
					(double)distinct * (double)cfg->gen.max_tokens *
						(double)(cfg->gen.n > 0 ? cfg->gen.n : 1) *
						cfg->engine.price_out) / 1e6);
		}
		if (cfg->prob == SX_PROB_SAMPLE)
			printf("--prob sample:%ld: the completion tokens are %ld choices an answer; a "
			       "server that gives one choice a request (llama.cpp, Ollama) is sent %ld "
			       "requests an input instead: %s$%.2f, with %ld times the prompt "
			       "tokens\n", cfg->gen.n, cfg->gen.n, cfg->gen.n, upper ? "<= " : "",
			       cost + (double)(cfg->gen.n - 1) * pt * cfg->engine.price_in / 1e6,
			       cfg->gen.n);
		return SX_EXIT_OK;
	}
	partial = out->items_failed || out->requests_failed;
	if (cfg->nanswers)
		snprintf(recorded, sizeof(recorded), "%ld recorded, ", st->recorded);
	fprintf(stderr,
		"selfexp: %s: %ld reviews, %ld requests (%ld distinct, %s%ld from cache, %ld sent, "
		"%ld retries, %ld failed, %ld skipped; %ld naive), %ld+%ld tokens, $%.4f -> %s\n",
		rc == SX_ELIMIT ? "stopped early" : partial ? "partial run" : "done",
		out->reviews, st->requests, st->unique, recorded, st->cache_hits, st->sent, st->retries,
		st->failed - out->probes_failed, st->skipped, out->naive_requests, st->prompt_tokens,
		st->completion_tokens, st->cost, out->written_to[0] ? out->written_to : "(nothing written)");
	if (out->processes > 1)
		fprintf(stderr, "selfexp: all %ld processes of this run: %ld sent, $%.4f (run.json "
			"\"totals\"; --max-cost counts them all)\n", out->processes, out->total_sent,
			out->total_cost);
	if (out->requests_failed)
		report_failures(cfg, out);
	if (out->logprob_assumed)
		fprintf(stderr, "selfexp: warning: in %ld answers the other label was not among the "
			"label token's top_logprobs; its probability was taken as 1 - P(stated label) "
			"(ask for more with a server that allows a larger top_logprobs)\n",
			out->logprob_assumed);
	if (out->substituted)
		fprintf(stderr, "selfexp: --compat paper: %ld answers without a usable prediction were "
			"counted as (0, 0.5), as the paper's parsers did (run.json "
			"counts.paper_substituted; without --compat paper they are excluded)\n",
			out->substituted);
	if (out->answers_unused)
		fprintf(stderr, "selfexp: %ld of the %ld recorded answers (--answers) answered no "
			"request of this run: their condition or review text is not one it sends "
			"(run.json answers[].unused; 'selfexp answers export' shows what a run "
			"sends)\n", out->answers_unused, out->answers_loaded);
	served_note(cfg->gen.model, st);
	if (st->usage_estimated)
		fprintf(stderr, "selfexp: %ld answers came without usage: their tokens and cost are "
			"estimated at a token per 4 bytes (run.json counts.usage_estimated)\n",
			st->usage_estimated);
	if (st->legacy_hits)
		fprintf(stderr, "selfexp: %ld answers came from rows an older cache keyed by the host "
			"'%s' alone, which any port or path of it shares\n", st->legacy_hits,
			cfg->endpoint_host ? cfg->endpoint_host : "?");
	if (st->unverified)
		fprintf(stderr, "selfexp: %ld cached answers were not used: they were fetched without "
			"TLS verification, or an older cache did not record it "
			"(--accept-insecure-cache takes them)\n", st->unverified);
	if (rc == SX_ELIMIT || partial)
		return SX_EXIT_PARTIAL;
	return SX_EXIT_OK;
}

int sx_run_opts_load_config(const char *cmd, const char *dir, struct sx_run_config *cfg,
			    int *complete)
{
	struct sx_buf path = SX_BUF_INIT, text = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_json *run = NULL;
	int rc = -1;

	sx_buf_addf(&path, "%s/run.json", dir);
	if (sx_file_read(path.buf, RUN_JSON_MAX, &text, &err) ||
	    !(run = sx_json_parse(text.buf, text.len, &err))) {
		sx_cli_error("%s: %s (is '%s' a run directory?)", cmd, err.msg, dir);
	} else if (sx_run_config_from_json(cfg, run, &err)) {
		sx_cli_error("%s: '%s': %s", cmd, path.buf, err.msg);
	} else {
		rc = 0;
		if (complete)
			*complete = sx_rundir_run_complete(run);
	}
	sx_json_free(run);
	sx_buf_release(&path);
	sx_buf_release(&text);
	return rc;
}
