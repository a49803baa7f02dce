#ifndef SELFEXP_SIM_H
#define SELFEXP_SIM_H
/*
 * The simulated model (DESIGN.md section 8): an OpenAI-compatible
 * chat-completion server on loopback whose ground truth is known, with
 * injectable faults. It is the test double of every end-to-end test and the
 * model behind `selfexp demo`.
 *
 * The model. P(pos | x) = sigmoid(bias + sum_i w(lower(token_i))), tokens =
 * the whitespace-separated words of the review, lower() = ASCII lowercase, a
 * word without a weight counts 0. Its true contribution of token i is w_i =
 * w(lower(token_i)), so occlusion recovers it exactly in logit space.
 *
 * The weights file (data/sim-weights.txt, written by scripts/train-sim-weights):
 * comment lines starting with '#', then a line `bias B`, then one
 * `word<TAB>weight` line per word (a word may itself start with '#').
 *
 * The answer. label = 1 when P(pos) > 0.5 (at temperature 0; at temperature
 * T > 0 the label is drawn with P(pos) = sigmoid(logit / T)); the verbal
 * confidence is P(label) rounded to confidence_decimals. Self-explanations:
 *   faithful  v_i = w_i / max_j |w_j| (0 when every w_j is 0), rounded to 3 decimals
 *   noisy     faithful (unrounded) + N(0, sigma^2), clipped to [-1, 1], rounded
 *   coarse    faithful rounded to the nearest of -1, -0.5, 0, 0.5, 1
 *   random    uniform in [-1, 1], rounded to 3 decimals
 *   inverted  -faithful
 * Top-k answers list the k = sx_topk_k(n) tokens with the largest values
 * toward the predicted label (v_i if label 1, -v_i if 0) under the same mode,
 * ties broken by position, left first.
 *
 * Everything an answer contains is a function of the seed and the request
 * body: the server seeds it with sx_hash64(seed as 8 little-endian bytes ||
 * SHA-256(body)). Faults and latency are drawn per attempt (from the seed and
 * a counter of attempts), so a retried request eventually gets its answer.
 */
#include <stddef.h>
#include <stdint.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"
#include "selfexp/prompt.h"

/* ---- the model ---------------------------------------------------------- */

struct sx_sim_model;

/* Weights files larger than this are refused. */
#define SX_SIM_WEIGHTS_MAX_BYTES (16u * 1024u * 1024u)

int sx_sim_model_load(const char *path, struct sx_sim_model **out, struct sx_err *err);
/* Parse weights text; name is used in messages only. */
int sx_sim_model_parse(const char *text, size_t len, const char *name, struct sx_sim_model **out,
		       struct sx_err *err);
void sx_sim_model_free(struct sx_sim_model *m);
size_t sx_sim_model_size(const struct sx_sim_model *m); /* number of words */
double sx_sim_model_bias(const struct sx_sim_model *m);
/* w(lower(word[0..len))), 0 for an unknown word. */
double sx_sim_model_weight(const struct sx_sim_model *m, const char *word, size_t len);
/* bias + sum of the token weights. */
double sx_sim_model_logit(const struct sx_sim_model *m, char *const *tokens, size_t n);
double sx_sim_model_p_pos(const struct sx_sim_model *m, char *const *tokens, size_t n);
/* contrib[i] = w(lower(tokens[i])), the true contribution to the logit. */
void sx_sim_model_contributions(const struct sx_sim_model *m, char *const *tokens, size_t n,
				double *contrib);

/* ---- answers ------------------------------------------------------------ */

enum sx_sim_explain {
	SX_SIM_EXPLAIN_FAITHFUL,
	SX_SIM_EXPLAIN_NOISY,
	SX_SIM_EXPLAIN_COARSE,
	SX_SIM_EXPLAIN_RANDOM,
	SX_SIM_EXPLAIN_INVERTED,
	SX_SIM_EXPLAIN_COUNT
};

enum sx_sim_style {
	SX_SIM_STYLE_CLEAN,     /* the paper's two lines, words quoted like Python's repr() */
	SX_SIM_STYLE_FENCED,    /* each part in a ```python code fence */
	SX_SIM_STYLE_PROSE,     /* sentences before, between and after the parts */
	SX_SIM_STYLE_ECHO,      /* the format template echoed before each part */
	SX_SIM_STYLE_UNQUOTED,  /* bare words */
	SX_SIM_STYLE_TRUNCATED, /* the list cut off mid-way, finish_reason "length" */
	SX_SIM_STYLE_MIXED,     /* one of the above per request (seeded) */
	SX_SIM_STYLE_COUNT
};

const char *sx_sim_explain_name(enum sx_sim_explain e);
/* 0 and *out set for a known name ("noisy" without its :SIGMA), -1 otherwise. */
int sx_sim_style_from_name(const char *name, enum sx_sim_style *out);
int sx_sim_explain_from_name(const char *name, enum sx_sim_explain *out);
/*
 * A --explain value: faithful, noisy:SIGMA (SIGMA >= 0), coarse, random or
 * inverted into *mode and *sigma (0 unless noisy); -1 for anything else.
 */
int sx_sim_explain_parse(const char *text, enum sx_sim_explain *mode, double *sigma);

/*
 * The condition asked for by a system prompt, recognised from its format
 * instructions: "(<word or punctuation>, <float importance>)" (a full
 * importance list), a list of bare "<word or punctuation>" (top-k),
 * "(<int classification>, <float confidence>)" (the prediction), and their
 * order after "Example output:" (else their first mention). Returns 0, or -1
 * when no prediction format is found (*out is then SX_COND_PRED).
 */
int sx_sim_detect_cond(const char *system, size_t len, enum sx_cond *out);
/*
 * The review inside the "<review> ... <review>" (or "</review>") wrapper of
 * text, from the first tag to the last one (so a review that contains the
 * tag itself is taken whole): *start and *len, without the spaces next to
 * the tags.
 * Returns -1 (and the whole text) when there is no wrapper.
 */
int sx_sim_find_review(const char *text, size_t len, const char **start, size_t *rlen);

/*
 * The self-explanation values under a mode (see the top of this file) for
 * tokens[0..n) into v[0..n); rng seeds the noisy and random modes.
 */
void sx_sim_explain_values(const struct sx_sim_model *m, enum sx_sim_explain mode, double sigma,
			   char *const *tokens, size_t n, uint64_t rng, double *v);

struct sx_sim_answer_opts {
	enum sx_sim_explain explain;
	double sigma;            /* noisy mode */
	double overconfidence;   /* 0..1: the verbal confidence is c + (1 - c) * this */
	enum sx_sim_style style;
	int confidence_decimals; /* 0..9 */
	double temperature;      /* > 0: the label is sampled */
};

#define SX_SIM_ANSWER_OPTS_INIT { \
	.explain = SX_SIM_EXPLAIN_FAITHFUL, .sigma = 0.0, .overconfidence = 0.0, \
	.style = SX_SIM_STYLE_CLEAN, .confidence_decimals = 1, .temperature = 0.0, \
}

struct sx_sim_answer {
	struct sx_buf text;        /* owned: the message content */
	int label;                 /* 0 or 1 */
	double p_pos;              /* P(pos | review) of the model */
	size_t label_off;          /* offset of the label digit in text, SIZE_MAX if not written */
	int truncated;             /* finish_reason "length" */
	enum sx_sim_style style;   /* the style used (resolves mixed) */
};

#define SX_SIM_ANSWER_INIT { \
	.text = SX_BUF_INIT, .label = 0, .p_pos = 0.5, .label_off = (size_t)-1, .truncated = 0, \
	.style = SX_SIM_STYLE_CLEAN, \
}

/* Write the answer to cond for tokens[0..n); rng is the per-request seed. */
void sx_sim_answer_write(const struct sx_sim_model *m, const struct sx_sim_answer_opts *o,
			 enum sx_cond cond, char *const *tokens, size_t n, uint64_t rng,
			 struct sx_sim_answer *out);
void sx_sim_answer_release(struct sx_sim_answer *a);

/* ---- the server --------------------------------------------------------- */
/*
 * HTTP (libmicrohttpd, thread pool + epoll; delayed answers suspend their
 * connection, so waiting holds no thread):
 *   POST /v1/chat/completions  OpenAI request and response schema: id, object,
 *        created, model (the request's), choices[] (n of them: message.content,
 *        logprobs when "logprobs" is true, finish_reason "stop" or "length"),
 *        usage. usage counts ceil(bytes / 4) tokens: prompt = the bytes of all
 *        message contents, completion = the bytes of the answer text(s).
 *        max_tokens cuts the text at 4 * max_tokens bytes ("length").
 *        Checks in order: body over max_body (400), rate limit (429 +
 *        Retry-After), JSON and schema (400), a fault drawn per attempt, then
 *        the answer after the drawn latency. Errors are OpenAI error bodies
 *        {"error":{"message","type","param","code"}}.
 *   /v1/files and /v1/batches: the Batch API (src/sim/batches.h).
 *   GET /v1/models, GET /health, GET /stats (sx_sim_stats_json: requests,
 *        chat_requests, unique_bodies = distinct SHA-256 of chat bodies,
 *        by_status of chat responses, by_fault, rate_limited, delayed,
 *        by_condition); /chat/completions and /models without /v1 work too.
 */

enum sx_sim_fault {
	SX_SIM_FAULT_429,      /* 429 with Retry-After and an error body */
	SX_SIM_FAULT_500,
	SX_SIM_FAULT_503,
	SX_SIM_FAULT_RESET,    /* the connection closed without a response */
	SX_SIM_FAULT_STALL,    /* no answer until stall_ms, then the connection is closed */
	SX_SIM_FAULT_TRUNCATE, /* a 200 whose body stops half-way (short of its Content-Length) */
	SX_SIM_FAULT_GARBAGE,  /* a 200 whose body is not JSON */
	SX_SIM_FAULT_COUNT
};

/*
 * The server the sim behaves like (--dialect), on the points where real
 * servers differ (docs/endpoints.md):
 *   openai            OpenAI's chat completions (the default)
 *   openai-reasoning  an o-series / GPT-5 model: 400 (OpenAI's error JSON,
 *                     code unsupported_parameter / unsupported_value, param
 *                     named) on max_tokens, on temperature or top_p other
 *                     than 1, on logprobs; takes max_completion_tokens;
 *                     usage.completion_tokens_details.reasoning_tokens
 *                     (SX_SIM_REASONING_TOKENS per choice, inside
 *                     completion_tokens, spent first: a max_completion_tokens
 *                     they exhaust leaves content "", finish_reason "length")
 *   azure             Azure OpenAI: POST /openai/deployments/NAME/chat/completions
 *                     only, 401 without an api-key header, 404 "Resource not
 *                     found" without ?api-version=
 *   llamacpp          llama.cpp's llama-server: a timings block in answers,
 *                     errors {"error":{"code":N,"message":...,"type":...}},
 *                     n > 1 refused with 500 "Only one completion choice is
 *                     allowed", bad JSON a 500, over --ctx-size a 400
 *                     exceed_context_size_error (prompt alone) or a 500
 *                     "context shift is disabled" (with max_tokens)
 *   ollama            Ollama's OpenAI compatibility: n ignored (one choice),
 *                     errors {"error":{"message","type","param":null,"code":null}}
 *   vllm              vLLM: n honoured, errors {"object":"error","message",
 *                     "type":"BadRequestError","param":null,"code":400}
 * --ctx-size (ctx_size) refuses prompt + max tokens over it in each dialect's
 * way (OpenAI's and vLLM's 400 "maximum context length"); --require-header
 * (require_header) answers 401 to chat requests without that header.
 */
enum sx_sim_dialect {
	SX_SIM_DIALECT_OPENAI,
	SX_SIM_DIALECT_OPENAI_REASONING,
	SX_SIM_DIALECT_AZURE,
	SX_SIM_DIALECT_LLAMACPP,
	SX_SIM_DIALECT_OLLAMA,
	SX_SIM_DIALECT_VLLM,
	SX_SIM_DIALECT_COUNT
};
#define SX_SIM_REASONING_TOKENS 64
int sx_sim_dialect_from_name(const char *name, enum sx_sim_dialect *out);
const char *sx_sim_dialect_name(enum sx_sim_dialect d);

/* Parse a comma-separated fault list ("429,500,reset") into a bit mask (1 << fault). */
int sx_sim_faults_parse(const char *list, unsigned *mask, struct sx_err *err);

/* Faults of the sim's Batch API (src/sim/batches.h). */
enum sx_sim_batch_fault {
	SX_SIM_BFAULT_LINES,  /* each line fails (http 500 in the error file) with batch_fail_rate,
			       * drawn per batch: a new batch of the same lines mostly succeeds */
	SX_SIM_BFAULT_ALWAYS, /* the same lines (by custom_id, a batch_fail_rate share) fail in every batch */
	SX_SIM_BFAULT_EXPIRE, /* the first batch (the second with FAIL) expires: its first
			       * half answered, the rest "batch_expired" in the error file */
	SX_SIM_BFAULT_FAIL,   /* the first batch fails (status failed, no output) */
	SX_SIM_BFAULT_CUT,    /* the first download of each output file stops half-way */
	SX_SIM_BFAULT_COUNT
};

/* Parse a comma-separated batch fault list ("lines,expire") into a bit mask. */
int sx_sim_batch_faults_parse(const char *list, unsigned *mask, struct sx_err *err);

/* Uploaded files larger than this are refused (the Batch API's 200 MB, and some room). */
#define SX_SIM_MAX_FILE (210u * 1024u * 1024u)

/* Request bodies larger than this are refused with a 400 by default. */
#define SX_SIM_MAX_BODY (1u * 1024u * 1024u)
/* A stalled request is closed after this long by default. */
#define SX_SIM_STALL_MS 300000L

struct sx_sim_config {
	const char *host;         /* borrowed; numeric IPv4 address, default "127.0.0.1" */
	int port;                 /* 0 = a free port */
	uint64_t seed;
	const char *weights_path; /* borrowed; NULL = SX_HOME/data/sim-weights.txt */
	int confidence_decimals;  /* 0..9, default 1 */
	enum sx_sim_explain explain;
	double noise_sigma;       /* explain noisy */
	/* the predict-first conditions (pe, pe-topk) explain this way when pe_set */
	int pe_set;
	enum sx_sim_explain pe_explain;
	double pe_noise_sigma;
	double overconfidence;    /* 0..1, see struct sx_sim_answer_opts */
	enum sx_sim_style style;
	double latency_ms;        /* mean added delay per answer */
	double jitter_ms;         /* delay uniform in mean +- jitter (clamped at 0) */
	long rpm;                 /* chat requests per minute, 0 = unlimited (token bucket, burst rpm/60) */
	double fault_rate;        /* probability of a fault per chat attempt */
	unsigned faults;          /* mask of enum sx_sim_fault; 0 with a rate = all of them */
	size_t max_body;          /* 0 = SX_SIM_MAX_BODY */
	int threads;              /* worker threads, 0 = number of CPUs */
	long stall_ms;            /* 0 = SX_SIM_STALL_MS */
	int quiet;                /* no MHD error log on stderr */
	int digit_tokens;         /* logprobs: every digit a token of its own (real tokenizers) */
	enum sx_sim_dialect dialect;
	long ctx_size;            /* tokens of context (prompt + max tokens), 0 = unlimited */
	const char *require_header; /* borrowed; "Name=VALUE": chat requests without it get 401 */
	double batch_delay_ms;    /* a batch is done when polled this long after its creation */
	unsigned batch_faults;    /* mask of enum sx_sim_batch_fault */
	double batch_fail_rate;   /* share of lines failed by the lines / always faults */
	double batch_api_ms;      /* delay of the answers to uploads and batch creations
				   * (the file or batch exists already: a client killed
				   * meanwhile has made it without knowing its id) */
};

/*
 * Named settings of how the sim explains itself, applied over *cfg:
 *   literature  E-P explanations faithful, P-E ones post-hoc (noisy:0.5),
 *               as studies of self-explanations report (docs/design.md);
 *   plain       every condition faithful.
 * Both leave the predictions and confidence as they are (overconfidence 0).
 * Returns -1 for an unknown name.
 */
int sx_sim_preset(const char *name, struct sx_sim_config *cfg);

#define SX_SIM_CONFIG_INIT { \
	.host = "127.0.0.1", .port = 0, .seed = 0, .weights_path = NULL, .confidence_decimals = 1, \
	.explain = SX_SIM_EXPLAIN_FAITHFUL, .noise_sigma = 0.0, .pe_set = 0, \
	.pe_explain = SX_SIM_EXPLAIN_FAITHFUL, .pe_noise_sigma = 0.0, .overconfidence = 0.0, \
	.style = SX_SIM_STYLE_CLEAN, \
	.latency_ms = 0.0, .jitter_ms = 0.0, .rpm = 0, .fault_rate = 0.0, .faults = 0, \
	.max_body = 0, .threads = 0, .stall_ms = 0, .quiet = 0, .digit_tokens = 0, \
	.dialect = SX_SIM_DIALECT_OPENAI, .ctx_size = 0, .require_header = NULL, \
	.batch_delay_ms = 0, .batch_faults = 0, .batch_fail_rate = 0.2, \
	.batch_api_ms = 0, \
}

struct sx_sim;

/* Load the weights and start serving; listening when it returns. */
int sx_sim_start(const struct sx_sim_config *cfg, struct sx_sim **out, struct sx_err *err);
/* The base URL, e.g. "http://127.0.0.1:PORT/v1" (owned by s). */
const char *sx_sim_address(const struct sx_sim *s);
int sx_sim_port(const struct sx_sim *s);
/* The model the server answers with (owned by s). */
const struct sx_sim_model *sx_sim_get_model(const struct sx_sim *s);
/* The /stats document, appended to out as compact JSON. */
void sx_sim_stats_json(struct sx_sim *s, struct sx_buf *out);
/* Stop serving (pending delayed or stalled requests are closed) and free s; NULL is a no-op. */
void sx_sim_stop(struct sx_sim *s);

#endif
