#ifndef SELFEXP_RUN_INTERNAL_H
#define SELFEXP_RUN_INTERNAL_H
/*
 * The stages of `selfexp run` (include/selfexp/run.h is the public contract;
 * this header is shared by src/run/ only). One file per stage:
 *
 *   batch.c      texts of perturbed reviews, deduplicated into batches sent
 *                through the engine in one call
 *   prob.c       P(positive | answer) from the probability source
 *   elicit.c     every review under every condition: prediction and
 *                self-explanation
 *   explain.c    occlusion and LIME, from the answers on perturbed reviews,
 *                and the explanations read from files
 *   evaluate.c   the deletion / keep-only inputs of the faithfulness metrics
 *   agreement.c  agreement between the explanations of one review
 *   dryrun.c     the distinct requests and tokens of every stage, unsent
 *   records.c    records.jsonl
 *   summary.c    summary.json
 *   config.c     the configuration, its JSON form and run.json
 *   state.c      what every stage asks of the run's state
 *   driver.c     sx_run: the stages in order (DESIGN.md section 1)
 *
 * Functions shared between these files are prefixed run_; none is public.
 */
#include <stddef.h>
#include <time.h>

#include "selfexp/buf.h"
#include "selfexp/chat.h"
#include "selfexp/data.h"
#include "selfexp/engine.h"
#include "selfexp/explanations.h"
#include "selfexp/json.h"
#include "selfexp/lime.h"
#include "selfexp/metrics.h"
#include "selfexp/parse.h"
#include "selfexp/prompt.h"
#include "selfexp/registry.h"
#include "selfexp/run.h"
#include "selfexp/rundir.h"
#include "selfexp/strmap.h"

/* Reviews whose explain and evaluate inputs are built and queried together. */
#define RUN_CHUNK_REVIEWS 32

/* The stages that query the model, as failures are counted. */
enum run_stage { RUN_ELICIT, RUN_EXPLAIN, RUN_EVALUATE, RUN_NSTAGES };
extern const char *const run_stage_names[RUN_NSTAGES];

/*
 * LIME fits with more than this fraction of their samples unanswered are not
 * used (README, "Complete runs"); below it the fit is made on the answered
 * samples and marked partial.
 */
#define RUN_LIME_MAX_FAILED 0.10

/*
 * The methods of a run are indexed by int: enum sx_method for the built-in
 * ones, then SX_METHOD_COUNT + j for the j-th method of the explanations
 * files (run->xp.methods[j]; README "Anyone's explanations"). The pairs
 * the agreement metrics compare are run->pair_a[q], run->pair_b[q]:
 * self~occlusion, self~lime, occlusion~lime, then every built-in with every
 * method from a file, then those methods among themselves.
 */

/* One explanation of one (review, condition); the self-explanation is top-k under top-k conditions. */
struct expl {
	int ok;                  /* an importance vector (or top-k list) exists */
	char *reason;            /* owned; why not, when not ok and attempted */
	double *value;           /* owned, ntokens; NULL for top-k */
	unsigned char *has;      /* owned, ntokens; NULL = every value present */
	size_t *list;            /* top-k or a ranking: borrowed from the parse result or run->xp */
	size_t nlist;
	double r2, intercept;    /* LIME surrogate */
	size_t samples, samples_failed;
	size_t inputs, inputs_missing; /* the metrics' inputs, and those with no usable answer */
	int has_faith;
	struct sx_faith faith;
	char *faith_reason;      /* owned; why no metrics */
};

/* One (review, condition): the elicited answer, parsed, and every explanation of it. */
struct item {
	int answered;                  /* the engine returned an answer */
	char *answer;                  /* owned; raw answer text */
	char *reason;                  /* owned; why there is no answer */
	struct sx_parse_result parse;  /* owned */
	int has_p;                     /* p_pos is known */
	int substituted;               /* --compat paper: unparseable, counted as (0, 0.5) */
	double p_pos;                  /* P(positive | x) from the probability source */
	double p_x;                    /* P(positive | x) under the perturbation prompt, NaN if unknown */
	int y_x;                       /* the label given on x under that prompt, -1 if unknown */
	struct expl *m;                /* owned, run->nmeth */
	int *has_agree;                /* owned, run->npairs each */
	struct sx_agree *agree;
	struct sx_agree_topk *agree_topk; /* pairs where one side is a list (run_pair_topk) */
};

/* The state of one run. */
/* ---- ledger.c ----------------------------------------------------------- */

/* The ledger of every process of a run, in its run directory (ledger.c). */
#define RUN_LEDGER_FILE "ledger.jsonl"

struct run_ledger {
	int fd;                        /* -1: no line taken yet (nothing sent; score) */
	struct sx_buf path;            /* DIR/ledger.jsonl */
	const char *dir;               /* borrowed: the run directory */
	int dir_existed, file_existed;
	long long offset;              /* this process's line */
	time_t started;
	char config[65];               /* the configuration's fingerprint */
	long processes;                /* earlier processes of this configuration */
	long unreadable;               /* lines that could not be read (cut by a crash) */
	long write_failed;             /* updates of our line that failed */
	struct sx_engine_stats before; /* sent, attempts, tokens, cost of the earlier ones */
};

struct run;
/*
 * Read what the earlier processes of this run (this configuration, in
 * cfg->out_dir) sent and spent into l->before, and take a line for this
 * process. The directory is created when missing.
 */
int run_ledger_open(struct run_ledger *l, const struct run *run, struct sx_err *err);
/* sx_engine_config.on_account: rewrite this process's line (ctx is the ledger). */
void run_ledger_account(void *ctx, const struct sx_engine_stats *st);
void run_ledger_close(struct run_ledger *l);
/*
 * A run that wrote nothing (the endpoint down, the key refused): remove the
 * ledger, and the run directory, when this process created them.
 */
void run_ledger_discard(struct run_ledger *l);

struct run {
	const struct sx_run_config *cfg;
	struct run_ledger ledger;
	char data_sha256[65];          /* of the data file as the run read it ("" in a dry run) */
	struct sx_dataset ds;
	size_t nrev;                   /* reviews of the run (the first --limit of ds) */
	struct sx_prompt prompts[SX_COND_COUNT];
	int have_prompt[SX_COND_COUNT];
	struct sx_engine *engine;
	struct sx_answers *answers;    /* owned; the --answers files' table, NULL = none */
	char answers_sha256[SX_RUN_MAX_ANSWERS][SX_SHA256_HEX_LEN + 1]; /* of each file */
	struct item *items;            /* nrev x nslot: the enabled conditions only */
	int slot[SX_COND_COUNT];       /* a condition's place in a review's items, -1 = not run */
	size_t nslot;
	long naive;                    /* requests the stages asked for before any sharing */
	time_t started;
	long failed[RUN_NSTAGES][SX_COND_COUNT]; /* requests that failed, by stage and condition */
	struct sx_strmap reasons[RUN_NSTAGES];   /* why, by stage: reason -> index into ... */
	long *reason_count[RUN_NSTAGES];         /* owned: ... these counts */
	char **reason_text[RUN_NSTAGES];         /* owned */
	size_t nreasons[RUN_NSTAGES], reasons_alloc[RUN_NSTAGES], counts_alloc[RUN_NSTAGES];
	struct sx_buf misses;                    /* misses.jsonl: offline misses, one line each */
	long logprob_assumed;                    /* answers whose other label was not in top_logprobs */
	char *server_models;                     /* owned: GET {base}/models' ids (a JSON array), or NULL */
	/*
	 * --prob sample:N: how the server gives N samples, found on the first
	 * request (batch.c): RUN_SAMPLES_UNKNOWN, _NATIVE (n choices in one
	 * answer) or _SEPARATE (it refused n > 1 or returned fewer choices:
	 * N requests of one choice each, told apart by their seed).
	 */
	int samples_mode;
	long sample_requests;                    /* requests of one sample each sent that way */
	long probes_failed;                      /* probes of --prob sample:N that failed: in the
						  * engine's failed count, not failures of the run */
	long substituted[2];                     /* --compat paper: answers counted as (0, 0.5),
						  * elicited [0] and perturbed [1] */
	long nmisses[RUN_NSTAGES];
	struct sx_explanations xp;               /* the --explanations files */
	char *xp_path[SX_RUN_MAX_EXPLANATIONS];  /* owned: their absolute paths, as run.json has them */
	size_t nmeth;                            /* SX_METHOD_COUNT + xp.nmethods */
	size_t npairs;
	int *pair_a, *pair_b;                    /* owned, npairs each */
};

enum { RUN_SAMPLES_UNKNOWN, RUN_SAMPLES_NATIVE, RUN_SAMPLES_SEPARATE };

/* ---- state.c ------------------------------------------------------------ */

/* The item of review r under condition c (aborts when c is not part of the run). */
struct item *run_item(const struct run *run, size_t r, enum sx_cond c);
int run_has_cond(const struct run *run, enum sx_cond c);
/* A method of the run: a built-in one asked for by --explainers, or one from a file. */
int run_has_method(const struct run *run, int m);
/* The record name of method m under condition c ("self", "topk", "occlusion", a file's name). */
const char *run_method_name(const struct run *run, int m, enum sx_cond c);
/* Method m has records and summaries under condition c (a file's method: it explains c). */
int run_method_applies(const struct run *run, int m, enum sx_cond c);
/* Pair q of item it compares a list (top-k or ranking) with something: top-k agreement only. */
int run_pair_topk(const struct run *run, const struct item *it, size_t q);
/* The prompt condition perturbed inputs of condition c are sent under. */
enum sx_cond run_perturb_cond(const struct run *run, enum sx_cond c);
/* Seed of the paper's random tie-breaks of one explanation. */
uint64_t run_tiebreak_seed(const struct run *run, const struct sx_review *rv, enum sx_cond c,
			   int m);

/* ---- batch.c ------------------------------------------------------------ */

/* Texts to send under one prompt. Identical texts are kept once. */
struct batch {
	enum sx_cond cond;
	struct sx_strmap seen;
	char **texts;      /* owned, unique */
	size_t *ntok;      /* tokens of each unique text */
	const char **owner;/* borrowed: id of the first review that asked for each */
	size_t n, alloc, ntok_alloc, owner_alloc;
	size_t asked;      /* texts asked for, duplicates included */
	struct sx_result *res;  /* owned, one per unique text after run_batches_send */
};

void run_batch_init(struct batch *b, enum sx_cond cond);
void run_batch_release(struct batch *b);
/* Add a text asked for by review `owner` (an id); returns its unique index. */
size_t run_batch_add(struct batch *b, const char *text, size_t len, size_t ntok,
		     const char *owner);
/* Add the review with only the tokens where keep[i] (NULL = all); returns its unique index. */
size_t run_batch_add_masked(const struct run *run, struct batch *b, const struct sx_review *rv,
			    const unsigned char *keep, struct sx_buf *text);
/* The review with only the tokens where keep[i] (NULL = all), joined by single spaces. */
void run_text(const struct run *run, const struct sx_review *rv, const unsigned char *keep,
	      struct sx_buf *out, size_t *ntok);
/* Send every unique text of the nb batches through the engine in one call. */
int run_batches_send(struct run *run, struct batch *bs, size_t nb, const char *stage,
		     struct sx_err *err);
/*
 * Count the failed requests of a sent batch for (stage, condition c), tally
 * their reasons and list the offline misses.
 */
void run_note_failures(struct run *run, enum run_stage stage, enum sx_cond c,
		       const struct batch *b);
/* Failed requests of the run, all stages and conditions. */
long run_failed_total(const struct run *run);

/* ---- prob.c ------------------------------------------------------------- */

/* "verbal", "logprob" or "sample:N" (a static buffer). */
const char *run_prob_name(const struct sx_run_config *cfg);
/*
 * P(positive) of an answer under the configured source; -1 when unknown.
 * *assumed (may be NULL) is set when logprob had to assume the other
 * label's mass (it was not among the top_logprobs).
 */
int run_answer_p_pos(const struct sx_run_config *cfg, const struct sx_chat_answer *a,
		     const struct sx_parse_result *pr, double *p, int *assumed);
/*
 * 1 when an answer without a usable prediction counts as (0, 0.5), as the
 * paper's parsers substituted: under --compat paper with --prob verbal only
 * (docs/paper-compat.md); by default such an answer is excluded.
 */
int run_paper_substitutes(const struct sx_run_config *cfg, const struct sx_parse_result *pr);
/*
 * The label the model gave in an answer whose P(positive) is p (NaN when
 * unknown): under --prob verbal the stated label; under logprob and sample
 * the more probable label, an exact tie (0.5) broken by the label the answer
 * states. -1 when there is none.
 */
int run_answer_label(const struct sx_run_config *cfg, const struct sx_parse_result *pr, double p);
/*
 * P(positive) of every unique text of a sent batch, NaN where unknown, and
 * in *label (when not NULL) its label, -1 where unknown (the caller frees both).
 */
double *run_batch_probs(struct run *run, const struct batch *b, signed char **label);

/* ---- the stages ------------------------------------------------------------ */

int run_elicit(struct run *run, struct sx_err *err);
/* The self-explanation of every elicited item. */
void run_take_self(struct run *run);
/* The explanations from the files, into every item they explain (after run_take_self). */
void run_take_files(struct run *run);

/*
 * The perturbed inputs of one review's explanations (occlusion, LIME), added
 * to a batch, and where their answers will be; shared by the explain stage
 * and the dry run.
 */
struct explain_inputs {
	size_t full;               /* batch index of the unperturbed review */
	size_t *occ;               /* owned, ntokens: batch index of each deletion; NULL = no occlusion */
	unsigned char *lime_masks; /* owned, lime_ns x lime_d; NULL = no LIME */
	size_t *lime;              /* owned, lime_ns: batch index of each sample */
	size_t lime_d, lime_ns;
	struct sx_lime_words words; /* --compat paper: LIME's features */
};
void run_explain_add(const struct run *run, struct batch *b, const struct sx_review *rv,
		     struct explain_inputs *in, struct sx_buf *text);
void run_explain_inputs_release(struct explain_inputs *in);
/* Explain stage for reviews [r0, r1) of condition c. */
int run_explain(struct run *run, enum sx_cond c, size_t r0, size_t r1, struct sx_err *err);
/* Evaluate stage for reviews [r0, r1) of condition c. */
int run_evaluate(struct run *run, enum sx_cond c, size_t r0, size_t r1, struct sx_err *err);
/* The pairs of methods agreement compares (run->pair_a, pair_b; after the files are read). */
void run_pairs_init(struct run *run);
/* Agreement between the explanations of every review of condition c (no queries). */
void run_agreement(struct run *run, enum sx_cond c);
void run_dry(struct run *run, struct sx_run_outcome *out);

/* ---- the run directory ---------------------------------------------------- */

/* Every record of the run, in order, to the writer. */
void run_write_records(const struct run *run, struct sx_rundir_writer *w);
/* summary.json (a function of the data, the configuration and the answers only). */
struct sx_json *run_summary(const struct run *run);
/*
 * Refuse to replace a run in out_dir made under another configuration
 * (unless cfg->force), naming the differences; the same configuration
 * resumes. The endpoint and the engine's settings (concurrency, retries,
 * caps, cache) are not compared: they do not change the results.
 */
int run_check_existing(const struct run *run, struct sx_err *err);
/* SHA-256 hex of the configuration as run_check_existing compares it (the ledger's key). */
void run_config_fingerprint(const struct run *run, char out[65]);
/* Refuse a cache path that is, or lies inside, a file the run writes. */
int run_check_cache_path(const struct sx_run_config *cfg, struct sx_err *err);
/* run.json: the configuration, the times and the counts. */
struct sx_json *run_json(const struct run *run, const struct sx_engine_stats *st, int complete);
/*
 * score: the run.json (old) of a run recorded as partial, brought up to date
 * with the result score writes (the caller frees it): "complete" and
 * "failures" become this result's; "counts" and "totals" stay what the run's
 * processes sent and spent; "scored" records this score (its version, when,
 * what run.json said before, its own counts). NULL when old says the run was
 * complete: its run.json is kept byte for byte.
 */
struct sx_json *run_json_rescored(const struct run *run, const struct sx_engine_stats *st,
				  const struct sx_json *old, int complete);
/* path made absolute against the working directory, as run.json records paths (the caller frees it). */
char *run_absolute_path(const char *path);
/* The value of a JSON number or NaN as JSON (null when not finite). */
struct sx_json *run_num_or_null(double v);

#endif
