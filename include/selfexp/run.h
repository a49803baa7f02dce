#ifndef SELFEXP_RUN_H
#define SELFEXP_RUN_H
/*
 * `selfexp run`: the whole protocol over one data set (DESIGN.md section 1).
 *
 *   elicit    every review under every condition: prediction + self-explanation
 *   explain   occlusion and LIME, by querying the model on perturbed reviews
 *   evaluate  the deletion / keep-only inputs the faithfulness metrics need
 *   score     per-review metrics and aggregates with intervals
 *
 * Every query goes through the engine (and its cache). Perturbed texts are
 * deduplicated inside a stage; the engine's cache shares them across stages
 * and runs. The results depend only on the configuration, the data and the
 * model's answers, never on the order answers arrive in, the concurrency or
 * the chunking. The run directory (run.json, records.jsonl, summary.json) is
 * written at the end, each file atomically.
 */
#include <stddef.h>
#include <stdint.h>

#include "selfexp/answers.h"
#include "selfexp/buf.h"
#include "selfexp/chat.h"
#include "selfexp/data.h"
#include "selfexp/engine.h"
#include "selfexp/err.h"
#include "selfexp/metrics.h"
#include "selfexp/registry.h"

struct sx_json;

/*
 * Longest review a run accepts, in tokens. The explainers query the model on
 * O(n) perturbed copies of an n-token review (LIME: 10 n by default), so the
 * cost and the memory of a review grow as n^2; a review over this is an
 * error (exit 1) naming the row, not hours of requests.
 */
#define SX_RUN_MAX_TOKENS 1024

/* How many --explanations files a run takes. */
#define SX_RUN_MAX_EXPLANATIONS 16
/* --answers files a run takes at most. */
#define SX_RUN_MAX_ANSWERS 16
/* The endpoint of an --offline --answers run given none (a name that never resolves). */
#define SX_RUN_ANSWERS_ENDPOINT "http://recorded-answers.invalid/v1"

/*
 * Where P(positive | x) comes from (DESIGN.md section 5): the verbal
 * confidence, the label token's logprobs, or the frequency of label 1 over
 * gen.n sampled choices of one request (temperature > 0).
 */
enum sx_prob_source { SX_PROB_VERBAL, SX_PROB_LOGPROB, SX_PROB_SAMPLE };

/*
 * The prompt perturbed inputs are sent under (--perturb-prompt): the
 * condition's own (the default), `pred` (prediction only), or ep-pe: the own
 * prompt, except that those of ep-topk and pe-topk go under ep and pe, as the
 * paper's code sent its top-k deletions (docs/paper-compat.md); their
 * reference prediction on x is then that prompt's too.
 */
enum sx_perturb { SX_PERTURB_CONDITION = 0, SX_PERTURB_PRED = 1, SX_PERTURB_EP_PE = 2 };
/* "condition", "pred", "ep-pe"; and back (0, or -1 for an unknown name). */
const char *sx_perturb_name(int perturb);
int sx_perturb_from_name(const char *name, int *out);

/* Bits of sx_run_config.explainers: 1 << enum sx_method (registry.h). */
enum sx_explainer {
	SX_EXPLAIN_SELF = 1 << SX_METHOD_SELF,
	SX_EXPLAIN_OCCLUSION = 1 << SX_METHOD_OCCLUSION,
	SX_EXPLAIN_LIME = 1 << SX_METHOD_LIME
};

/*
 * Everything a run depends on. The strings are borrowed, except those that
 * sx_run_config_from_json() allocates (kept in `owned`, freed by
 * sx_run_config_release()).
 */
struct sx_run_config {
	const char *data_path;        /* borrowed */
	struct sx_data_opts data_opts;
	const char *out_dir;          /* borrowed */
	const char *prompts_dir;      /* borrowed */
	/* when set: the SHA-256 a condition's template must have (score: the recorded one) */
	const char *prompt_hash[SX_COND_COUNT];
	unsigned conditions;          /* bit (1 << enum sx_cond) per condition */
	unsigned explainers;          /* enum sx_explainer bits */
	long limit;                   /* first N reviews, 0 = all */
	long shard_index, shard_count;/* --shard i/N: the reviews whose id hashes to i of N; N 0 = all */
	uint64_t seed;
	enum sx_prob_source prob;
	struct sx_gen_params gen;
	struct sx_engine_config engine;
	const char *endpoint_host;    /* borrowed; recorded in run.json */
	long lime_samples;            /* fixed count, 0 = lime_factor x tokens */
	double lime_factor;           /* default 10 */
	double lime_kernel_width;     /* default 25 */
	const char *mask_word;        /* NULL = delete tokens */
	int perturb_pred;             /* enum sx_perturb: the prompt of perturbed inputs */
	/*
	 * Recorded answers (--answers, answers.h), looked up before the cache:
	 * the files in order (borrowed), and when set the SHA-256 each must have
	 * (score and answers export: the recorded one).
	 */
	const char *answers_path[SX_RUN_MAX_ANSWERS];
	const char *answers_sha256[SX_RUN_MAX_ANSWERS];
	size_t nanswers;
	/*
	 * When set (`selfexp answers export`): every answer the run used is
	 * added here, and no run directory is written (borrowed).
	 */
	struct sx_answers *capture;
	enum sx_compat compat;        /* metric and LIME definitions: corrected or the paper's */
	int metrics;                  /* run the evaluate stage */
	long bootstrap;               /* bootstrap resamples, default 1000 */
	int dry_run;                  /* count requests, send nothing */
	int rescore;                  /* `selfexp score`: keep the run's run.json, rewrite the rest */
	int force;                    /* replace a run of another configuration in out_dir */
	/* --explanations files (explanations.h), borrowed, in the order given */
	const char *explanations[SX_RUN_MAX_EXPLANATIONS];
	size_t nexplanations;
	/* when set: the SHA-256 each file must have (score: the recorded one) */
	const char *explanations_sha256[SX_RUN_MAX_EXPLANATIONS];
	const char *argv_line;        /* borrowed; the command line, recorded in run.json */
	int argc;                     /* the command's options (argv[0] the command name), */
	char **argv;                  /* borrowed; recorded in run.json for the reader */
	char **owned;                 /* owned strings the fields above point into */
	size_t nowned;
	struct sx_json *owned_json;   /* owned: gen.extra when read from JSON */
};

void sx_run_config_init(struct sx_run_config *cfg);
/* Free the strings the configuration owns (from sx_run_config_from_json). */
void sx_run_config_release(struct sx_run_config *cfg);

/*
 * The configuration as JSON (the "config" object of run.json): absolute
 * paths, the base URL without user info or query, every generation and
 * engine parameter, the prompt directory and each template's hash (hashes[c],
 * NULL for a condition not loaded). Never the API key. Returned to the caller to free.
 */
struct sx_json *sx_run_config_to_json(const struct sx_run_config *cfg,
				      const char *const hashes[SX_COND_COUNT]);
/*
 * Fill cfg (initialised here) from a run.json: from its "config" object, or
 * for a run.json written by selfexp 0.1.0 from its top-level fields and
 * recorded argv, with relative paths taken against its recorded cwd (the
 * working directory is not changed). out_dir, the API key, the progress
 * line and the offline flag are left for the caller. On error cfg is
 * released.
 */
int sx_run_config_from_json(struct sx_run_config *cfg, const struct sx_json *run,
			    struct sx_err *err);

/* What --dry-run found for one stage of one condition. */
struct sx_stage_estimate {
	char stage[48];        /* e.g. "explain ep" */
	long naive;            /* requests asked for, duplicates included */
	long distinct;         /* distinct requests (an upper bound when upper_bound) */
	int upper_bound;       /* evaluate: depends on the explanations, not known before */
	long recorded;         /* distinct requests the --answers files answer (-1: not known,
				* the evaluate stage's); they cost no tokens */
	double prompt_tokens;  /* estimated over the distinct requests to send: ceil(bytes / 4) */
	double completion_tokens;
};

#define SX_MAX_ESTIMATES 32

struct sx_run_outcome {
	struct sx_stage_estimate est[SX_MAX_ESTIMATES]; /* --dry-run only */
	int nest;
	long reviews;
	long items_failed;  /* (review, condition) pairs whose elicitation failed after retries */
	long requests_failed; /* requests of any stage that failed after retries (offline: misses) */
	long failed_by_stage[3]; /* elicit, explain, evaluate */
	char top_reason[3][256]; /* the most frequent reasons of failures, all stages, "" if none */
	long top_reason_count[3];
	int kept;           /* a partial result did not replace the run in out_dir: 1 a complete
			     * one, 2 a partial one that had answers for more requests */
	char written_to[4096]; /* the run directory written ("" when none) */
	long logprob_assumed; /* --prob logprob: answers whose other label was not in top_logprobs */
	long probes_failed;   /* --prob sample:N: probes that failed (a refused n > 1, an offline
			       * miss), counted by the engine as failed; no item is lost by them */
	long substituted;     /* --compat paper: unparseable answers counted as (0, 0.5) */
	long naive_requests;
	long answers_loaded;  /* --answers: the distinct answers of the files */
	long answers_unused;  /* of those, the ones no request of the run took */
	struct sx_engine_stats stats; /* this process */
	long processes;     /* processes of this run (its ledger), this one included */
	long total_sent;    /* distinct requests sent by all of them */
	double total_cost;  /* USD spent by all of them */
};

/*
 * Run the protocol. Returns 0 (all done), SX_ELIMIT (stopped at a cap or
 * interrupted; the partial run is written), SX_ENET (endpoint unreachable or
 * key refused: nothing written), or another negative code with err set.
 * outcome->requests_failed > 0 (a request of any stage failed) means a
 * partial run (exit 5, run.json "complete": false). A partial result never
 * replaces a complete run, nor a partial one that had answers for more
 * requests (run.json counts: requests - failed - skipped): it goes to out_dir +
 * ".partial" instead (for `score`, cfg->rescore, nothing is written), and
 * outcome->kept says so.
 */
int sx_run(const struct sx_run_config *cfg, struct sx_run_outcome *outcome, struct sx_err *err);
/*
 * The differences of two configurations in what changes results ("key: A
 * there, B here; ..." into out, empty when none): the endpoint, the
 * engine's settings and the prompt directory are not compared (the prompts'
 * hashes are), nor the shard when ignore_shard.
 */
void sx_run_config_diff(const struct sx_run_config *a, const struct sx_run_config *b,
			int ignore_shard, struct sx_buf *out);

/*
 * The shard (0-based, of count) a review id belongs to: the first 8 bytes of
 * SHA-256(id) as an integer, modulo count. Depends on the id and count only.
 */
long sx_run_shard_of(const char *id, long count);

/* Ask a running sx_run to stop sending (async-signal-safe). */
void sx_run_interrupt(void);

#endif
