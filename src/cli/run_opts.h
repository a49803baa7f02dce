#ifndef SELFEXP_CLI_RUN_OPTS_H
#define SELFEXP_CLI_RUN_OPTS_H
/*
 * The options `selfexp run` and `selfexp demo` share: parsing them into a
 * struct sx_run_config, reading the API key, choosing the cache path, and
 * reporting the outcome with the documented exit codes.
 */
#include "selfexp/run.h"

struct sx_run_opts {
	struct sx_run_config cfg;
	char *base_url;     /* owned */
	char *host;         /* owned; endpoint host for the cache key and run.json */
	char *api_key;      /* owned; wiped on release */
	char *key_file;     /* owned */
	char *cache_path;   /* owned */
	char *prompts_dir;  /* owned */
	char *argv_line;    /* owned */
	int progress;       /* -1 auto (a terminal), 0 off, 1 on */
};

#define SX_RUN_OPTIONS_HELP \
	"input and output:\n" \
	"  --data FILE            reviews: TSV (sentence<TAB>label, optional id), JSONL or CSV\n" \
	"  --format tsv|jsonl|csv override the format guessed from the extension\n" \
	"  --skip-bad-rows        skip (and count) malformed rows instead of stopping\n" \
	"  --limit N              only the first N reviews\n" \
	"  --out DIR              run directory to write\n" \
	"  --prompts DIR          prompt templates (default: $SELFEXP_HOME/prompts)\n" \
	"\n" \
	"protocol:\n" \
	"  --conditions LIST      comma-separated: ep, pe, ep-topk, pe-topk, pred (default ep,pe)\n" \
	"  --explainers LIST      comma-separated: self, occlusion, lime (default all three)\n" \
	"  --prob verbal|logprob  P(positive): from the verbal confidence (default) or from\n" \
	"                         the label token's logprobs\n" \
	"  --seed S               run seed: LIME samples and bootstrap draws (default 0)\n" \
	"  --lime-samples N|Kx    LIME samples: N, or K times the token count (default 10x)\n" \
	"  --lime-kernel-width W  LIME kernel width (default 25)\n" \
	"  --mask delete|WORD     delete perturbed tokens (default) or replace them by WORD\n" \
	"  --perturb-prompt condition|pred\n" \
	"                         prompt for perturbed reviews: the condition's own (default,\n" \
	"                         as the paper) or prediction-only (fewer output tokens)\n" \
	"  --no-metrics           skip the evaluate stage (no faithfulness metrics)\n" \
	"  --bootstrap N          bootstrap resamples for intervals (default 1000)\n" \
	"  --compat none|paper    none (default): the metric definitions of DESIGN.md;\n" \
	"                         paper: reproduce the choices of the code of Huang et al.\n" \
	"                         (2023) to regenerate its numbers: ranking by the signed\n" \
	"                         value with random (seeded) tie-breaks, comprehensiveness\n" \
	"                         with its confidence re-mapping, sufficiency with absolute\n" \
	"                         differences, DF_Frac over n + 1, RankDel on the label's\n" \
	"                         confidence, agreement on signed rankings, LIME features\n" \
	"                         split on non-word characters (removed ones become\n" \
	"                         UNKWORDZ); see docs/paper-compat.md\n" \
	"\n" \
	"model and endpoint:\n" \
	"  --model M              model name sent to the API (default gpt-3.5-turbo)\n" \
	"  --base-url URL         API base URL (default $OPENAI_BASE_URL)\n" \
	"  --api-key-file FILE    read the key from FILE (must not be readable by others)\n" \
	"  --temperature T        sampling temperature (default 0, as the paper)\n" \
	"  --max-tokens N         completion cap (default 1024)\n" \
	"  --insecure             do not verify TLS certificates (recorded in run.json)\n" \
	"\n" \
	"engine:\n" \
	"  --concurrency N        requests in flight at most (default 16)\n" \
	"  --rpm N, --tpm N       pace to N requests / tokens per minute (default unlimited)\n" \
	"  --retries N            retries per request after the first attempt (default 6)\n" \
	"  --timeout SECONDS      per attempt (default 120)\n" \
	"  --cache FILE           response cache (default DIR/../.selfexp/cache.sqlite)\n" \
	"  --offline              answer from the cache only; misses are listed and failed\n" \
	"  --max-requests N       stop cleanly before sending more than N requests\n" \
	"  --max-cost USD         stop cleanly before spending more than USD\n" \
	"  --price-in USD, --price-out USD\n" \
	"                         price per 1M prompt / completion tokens (default from\n" \
	"                         data/prices.tsv for the model, else 0)\n" \
	"  --dry-run              print the distinct requests per stage and the estimated\n" \
	"                         tokens and cost, send nothing\n" \
	"  --progress, --no-progress\n" \
	"                         progress line on stderr (default: when it is a terminal)\n" \
	"  -h, --help             show this help\n"

/*
 * Parse argv into o (initialised here). Returns -1 to go on, or an exit
 * code (help printed: 0, usage error: 2) to return at once.
 */
int sx_run_opts_parse(struct sx_run_opts *o, const char *cmd, void (*usage)(void), int argc,
		      char **argv);
/* Resolve defaults that need the parsed options: key, cache, prices, progress. */
int sx_run_opts_finish(struct sx_run_opts *o, const char *cmd);
void sx_run_opts_release(struct sx_run_opts *o);
/* Print the dry-run table or the final summary line; return the exit code for rc. */
int sx_run_report(const struct sx_run_config *cfg, int rc, const struct sx_run_outcome *out,
		  const struct sx_err *err);

#endif
