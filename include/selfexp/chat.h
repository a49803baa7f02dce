#ifndef SELFEXP_CHAT_H
#define SELFEXP_CHAT_H
/*
 * The OpenAI chat-completion wire format: building a canonical request body
 * and decoding a response body. No network here (see engine.h).
 */
#include <math.h>
#include <stddef.h>

#include "selfexp/buf.h"
#include "selfexp/err.h"

/* Response bodies larger than this are refused. */
#define SX_CHAT_MAX_RESPONSE (8u * 1024u * 1024u)

struct sx_gen_params {
	const char *model; /* borrowed */
	double temperature; /* paper: 0 */
	double top_p;       /* paper: 1 */
	long max_tokens;    /* paper: 1024 */
	int logprobs;       /* ask for logprobs of the output tokens */
	int top_logprobs;   /* with logprobs: alternatives per token (0..20) */
	long seed;          /* sent as "seed" when >= 0 (sampling runs) */
	long n;             /* choices per request, sent as "n" when > 1 (--prob sample:N) */
	const char *max_tokens_field; /* NULL: "max_tokens"; or "max_completion_tokens" */
	unsigned omit;      /* SX_GEN_OMIT_* bits: fields selfexp would send that are left out */
	const struct sx_json *extra; /* borrowed object: top-level fields set (--param), or NULL */
};

/* Fields of the request body that --unset leaves out. */
#define SX_GEN_OMIT_TEMPERATURE 1u
#define SX_GEN_OMIT_TOP_P 2u
#define SX_GEN_OMIT_MAX_TOKENS 4u
#define SX_GEN_OMIT_SEED 8u
/* The name of an omit bit ("temperature", ...), and the bit of a name (0 when none). */
const char *sx_gen_omit_name(unsigned bit);
unsigned sx_gen_omit_bit(const char *name);

#define SX_GEN_PARAMS_INIT { \
	.model = "gpt-3.5-turbo", .temperature = 0.0, .top_p = 1.0, .max_tokens = 1024, \
	.logprobs = 0, .top_logprobs = 0, .seed = -1, .n = 1, .max_tokens_field = NULL, \
	.omit = 0, .extra = NULL, \
}

/*
 * Append the canonical JSON request body: keys in a fixed order, numbers
 * printed the same way every time, so equal requests are equal bytes (the
 * cache key is the SHA-256 of the endpoint and the body, sx_cache_key).
 */
void sx_chat_request_body(const struct sx_gen_params *gp, const char *system, const char *user,
			  struct sx_buf *out);

/*
 * Re-emit an arbitrary request body (a JSON object, e.g. one recorded
 * elsewhere and imported into the cache) in the canonical form: the known
 * keys in the order sx_chat_request_body uses, numbers printed the same way,
 * then any other keys sorted by name. A body made by sx_chat_request_body
 * comes back byte for byte. SX_EINPUT when it is not a JSON object with a
 * string "model" and an array "messages".
 */
int sx_chat_request_canonical(const char *json, size_t len, struct sx_buf *out,
			      struct sx_err *err);

struct sx_chat_label_token {
	size_t at, len;                /* bytes of content */
	double logprob_0, logprob_1;   /* NAN when not given */
};

struct sx_chat_answer {
	char *content;       /* owned; choices[0].message.content, may contain any bytes but NUL */
	char *finish_reason; /* owned; may be NULL */
	char *model;         /* owned; the model the answer says answered (its "model", at most
			      * SX_CHAT_MODEL_MAX bytes); NULL when it names none */
	long prompt_tokens;  /* from usage, -1 when absent */
	long completion_tokens;
	/*
	 * usage.completion_tokens_details.reasoning_tokens (OpenAI's reasoning
	 * models), -1 when absent: the hidden tokens a reasoning model thought
	 * in, billed as output and already counted in completion_tokens.
	 */
	long reasoning_tokens;
	/*
	 * With logprobs: log P of "0" and "1" as the first label token of the
	 * answer, from top_logprobs of the first output token that is "0" or "1"
	 * (NAN when the API did not say). When the top_logprobs list several
	 * spellings of a label (e.g. "1" and " 1") their probabilities are summed.
	 * Always <= 0 or NAN: a "logprob" above 0 is ignored, a sum a rounding
	 * hair (1e-6) over log 1 is 0, a sum clearly over it NAN.
	 */
	double logprob_0, logprob_1;
	/*
	 * Every output token of choices[0] that is a label ("0" or "1", blanks
	 * and brackets around it allowed): where it starts in content (the byte
	 * lengths of the tokens before it summed), how long it is, and log P of
	 * "0" and "1" at that place, as above. The label of the prediction the
	 * parser took is found by its offset (sx_chat_label_logprobs).
	 */
	struct sx_chat_label_token *label_tokens; /* owned */
	size_t nlabel_tokens;
	/* The message contents of every choice, in order (choices[0] is content). */
	char **choices;      /* owned, nchoices strings */
	size_t nchoices;
};

#define SX_CHAT_MODEL_MAX 96
#define SX_CHAT_ANSWER_INIT { \
	.content = NULL, .finish_reason = NULL, .model = NULL, .prompt_tokens = -1, \
	.completion_tokens = -1, \
	.reasoning_tokens = -1, \
	.logprob_0 = NAN, .logprob_1 = NAN, .label_tokens = NULL, .nlabel_tokens = 0, \
	.choices = NULL, .nchoices = 0, \
}
/* At most this many choices are decoded from one answer. */
#define SX_CHAT_MAX_CHOICES 128

/*
 * Decode a 200 response body. Fails (SX_EINPUT, message says why) on invalid
 * JSON, a body of the wrong shape, an "error" object, an empty choices array,
 * a missing or non-string content (a missing or null one is "" when
 * finish_reason is "content_filter" or "length": see sx_chat_withheld).
 */
int sx_chat_decode(const char *body, size_t len, struct sx_chat_answer *out, struct sx_err *err);

/* What sx_chat_withheld finds: a decoded answer that holds no answer of the model. */
enum sx_chat_withheld {
	SX_CHAT_ANSWERED = 0,  /* the model's text (possibly cut at the cap: parsed as it is) */
	SX_CHAT_FILTERED,      /* finish_reason "content_filter": the provider withheld or cut it */
	SX_CHAT_CUT_EMPTY      /* finish_reason "length" and no text: the cap was spent before
				  any answer (on a reasoning model's hidden tokens) */
};
/*
 * A well-formed 200 that is not the model's answer: it is not stored in a
 * cache nor parsed as an answer (an empty text would count as the model's
 * parse failure), and sending it again gets the same.
 */
enum sx_chat_withheld sx_chat_withheld(const struct sx_chat_answer *a);
void sx_chat_answer_release(struct sx_chat_answer *a);
/*
 * log P("0") and log P("1") at the label token that holds byte `at` of the
 * content: 0, or -1 when no label token holds it (the label was not a token
 * of its own, or the API gave no logprobs).
 */
int sx_chat_label_logprobs(const struct sx_chat_answer *a, size_t at, double *l0, double *l1);
/* Deep copy of src into dst (dst's old contents are not released). */
void sx_chat_answer_copy(struct sx_chat_answer *dst, const struct sx_chat_answer *src);
/*
 * The "error.message" of an error body (or "error" when it is a string, or a
 * top-level "message"), or NULL (owned by the caller). Control characters
 * are replaced by spaces and the text is capped at 512 bytes.
 */
char *sx_chat_error_message(const char *body, size_t len);
/*
 * The "error.param" of an OpenAI error body (the request field it names,
 * e.g. "max_tokens"), or NULL (owned by the caller); cleaned and capped as
 * sx_chat_error_message.
 */
char *sx_chat_error_param(const char *body, size_t len);
/* Whether an error body's "error.code" or "error.type" is code (e.g. "insufficient_quota"). */
int sx_chat_error_is(const char *body, size_t len, const char *code);
/*
 * The "id" of every entry of a model list (GET /models: {"data":[{"id":...}]},
 * or Ollama's {"models":[{"name":...}]}), at most max of them, appended to
 * out as a JSON array of strings. SX_EINPUT when body is not such a list.
 */
int sx_chat_models_ids(const char *body, size_t len, size_t max, struct sx_buf *out);

#endif
