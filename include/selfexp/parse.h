#ifndef SELFEXP_PARSE_H
#define SELFEXP_PARSE_H
/*
 * The model-answer parser (DESIGN.md section 3): from the free text a model
 * returned under a prompt condition, extract the prediction (label,
 * confidence), the self-explanation (an importance list for ep/pe, a list of
 * k words for ep-topk/pe-topk) and align the explanation to the review's
 * tokens. PCRE2 (with JIT) is used inside parse.c only.
 *
 *	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
 *	sx_parse_answer(SX_COND_PE, text, len, tokens, ntokens, &r);
 *	if (sx_parse_status_usable_prediction(r.status)) ... r.label, r.confidence
 *	sx_parse_result_release(&r);
 *
 * What is recovered, and how
 * --------------------------
 * The input is first made safe: NUL bytes are deleted (repair "nul") and
 * every byte that is not part of valid UTF-8 is replaced by U+FFFD (repair
 * "invalid_utf8"); the rest is parsed as it is. Only the first
 * SX_PARSE_MAX_BYTES bytes are read (repair "truncated" beyond that).
 *
 * Tuples. A tuple is "(" word "," number ")" with any whitespace around the
 * parts. The word is quoted with ' or " (Python escapes: \\ \' \" \n \t \r are
 * decoded, any other backslash is kept as is, as Python does, so
 * 'melodrama\\/character' is the word melodrama\/character), or bare (no
 * whitespace, at most 64 bytes: `(film, 0.4)`, `(,, 0.0)` is the word ",",
 * `(, 0.0)` the empty word; a bare word wrapped in quotes that do not form a
 * valid literal, `('it's', 0.5)`, is unwrapped). Numbers are decimals
 * (optional sign, optional fraction, optional exponent).
 *
 * Template echoes are skipped and reported ("echo"): `(<word or punctuation>,
 * <float importance>)`, `(<int classification>, <float confidence>)`, any
 * other `(<...>, <...>)` that is not two numbers, and top-k lists whose items
 * are `<...>`. A filled-in echo `(<1, 0.9>)` is skipped too, unless the answer
 * holds no valid plain pair: then it is read as the prediction (still
 * reported as "echo"). The same holds for a pair whose numbers kept the
 * template's angle brackets, `(<0>, 0.95)`, `(<1>, <0.8>)` or `(1, <0.8>)`
 * ("angle_brackets" when it is taken).
 *
 * Lists (ep, pe). Tuples separated by one comma (or by blanks on one line) form
 * a run; an echo may be part of a run. A run that is opened by "[" or holds at
 * least two word tuples is a candidate importance list; the longest candidate
 * (most items) is the list, the first on ties. Within it: a run of
 * SX_PARSE_REPEAT_MIN or more identical consecutive items, the endless
 * `(, 0.0)` loop, is collapsed to one ("repetition"); items beyond
 * max(SX_PARSE_MAX_ITEMS_MIN, 4 n) are cut ("overlong"); an item whose value is
 * outside [-1, 1] is kept in the list as returned but flagged dropped and not
 * aligned ("out_of_range", never clamped); a list opened by "[" and never
 * closed, or followed by an incomplete tuple, is "truncated" (the complete
 * tuples are kept); a list without brackets is "unbracketed".
 *
 * Word: value lists (ep, pe; "word_value"). Answers that do not write tuples
 * write `1. gorgeous: 0.9`, `- **gorgeous**: 0.9`, `` `gorgeous`: 0.9 `` or
 * `gorgeous = 0.9 (a strong word)`, one item a line, or a JSON object
 * `{"a": 0.0, "gorgeous": 0.9}`. Items one line or one comma apart form a run
 * (a blank line ends it, a tuple never joins it); a run of two or more is a
 * candidate list beside the tuple runs, and the longest candidate wins. A line
 * with more words after the value is not an item. The field names
 * confidence, classification, label, prediction, sentiment and class are
 * never item words, so `Confidence: 0.9` stays a field (see the prose below);
 * a review word among them listed this way is therefore not aligned.
 *
 * Top-k lists (ep-topk, pe-topk): "[" items "]" with items quoted or bare,
 * separated by commas; an unclosed list is accepted as "truncated". The list
 * with the most items is used; on ties a closed one, then the first.
 *
 * The prediction. Candidates are tuples whose word is a bare integer and that
 * are not part of a candidate importance list (for pred and top-k conditions,
 * every such tuple): the plain pairs; and, below them, the secondary ones:
 * the filled-in templates `(<1, 0.9>)` and `(<1>, 0.8)`, and tuples whose word
 * is the label as a word, `(Positive, 0.95)` or `('negative', 0.7)`: positive
 * is 1, negative 0, ASCII case ignored, nothing else is a label word
 * ("word_label"); both only outside an importance list, `(<1, 0.9>)`
 * anywhere. A candidate is valid when its label is 0 or 1 and its confidence
 * in [0, 1]. The LAST VALID plain pair in the text is the prediction (prose
 * after the answer that mentions a range such as (-1, 1) does not undo it);
 * with no valid plain pair, the last valid secondary candidate. When there
 * are candidates but none is valid, the last plain one (else the last
 * secondary one) is rejected, not clamped: the status is
 * SX_PARSE_INVALID and its values are kept in rejected_label /
 * rejected_confidence.
 *
 * The prediction in prose. With no candidate at all (an echoed template is
 * none), the prediction may be stated in words ("prose_prediction"): label
 * statements, "classified as 0 (negative)", "I classify this review as
 * positive", "Classification: 1", "Sentiment: **Positive**", "label": 1; and
 * confidence statements, "with a confidence of 0.8", "Confidence: 0.85",
 * "confidence score: 0.9", "with 0.9 confidence" (ASCII case ignored). They are
 * taken only when they say one thing: at least one statement of each kind;
 * every label statement gives the same label and every confidence statement
 * the same confidence (the same prediction restated, in a JSON object's
 * "sentiment" and "label" say, is still one prediction; two different ones
 * are none); each confidence statement is in the sentence of a label statement
 * or is a field opening its own line ("Confidence: 0.9", "confidence": 0.9);
 * and no statement is unusable: two labels ("0 or 1", "positive/negative"),
 * a gloss that contradicts its label ("1 (negative)"), a negation shortly
 * before it ("would not classify it as 1"), a percentage, a range or a second
 * number ("0.8-0.9", "8/10"), a confidence "for the words". An answer with
 * more than 16 statements says nothing for sure. Text inside the list or an
 * echo is not read. A label given only as a word sets "word_label". The pair
 * is then checked as any: out of range, it is rejected (SX_PARSE_INVALID).
 * No candidate and no such statement, no prediction: nothing is ever invented.
 *
 * Alignment (ep, pe). List words are aligned to the review's tokens in order
 * by a weighted longest-common-subsequence (dynamic programming over items x
 * tokens; items are capped, so the cost is bounded), which is what a bounded
 * look-ahead approximates: a skipped or an extra word never derails the rest,
 * and a word listed twice maps to successive occurrences. A pair scores when
 * the words are equal (preferred), equal after normalisation ("rewritten":
 * ASCII case, curly vs straight quotes, `` and '' vs ", escaped slashes \/ vs
 * /, -LRB-/-RRB- vs ( ), the ellipsis and dashes), when one word is two or
 * three neighbouring tokens joined with nothing or a blank ("merged":
 * Greene's for Greene 's; each merged token gets the word's value), or when
 * two or three neighbouring words make up one token ("split": the token gets
 * their mean). Ties go to the earliest token. A list word that matches nothing
 * is recorded in unmatched; if the review does contain that word, it was
 * listed more often than aligned ("duplicate"). The empty word matches nothing.
 * Top-k words are aligned one by one to the first unused token equal to
 * them, then equal after normalisation, then merged.
 *
 * Coverage: ep/pe, tokens with a value / tokens; top-k, aligned words /
 * listed (non-empty) words; pred, 0 (printed as null).
 */
#include <stddef.h>
#include <stdint.h>

#include "selfexp/json.h"
#include "selfexp/prompt.h"

/* Answers longer than this are parsed up to this length ("truncated"). */
#define SX_PARSE_MAX_BYTES (16u * 1024u * 1024u)
/* An importance list is cut at max(this, 4 * ntokens) items ("overlong"). */
#define SX_PARSE_MAX_ITEMS_MIN 256u
/* This many identical consecutive items are a repetition loop. */
#define SX_PARSE_REPEAT_MIN 4u

enum sx_parse_status {
	SX_PARSE_OK,              /* everything the condition asks for, nothing repaired */
	SX_PARSE_OK_WITH_REPAIRS, /* everything the condition asks for, see repairs */
	SX_PARSE_NO_PREDICTION,   /* the explanation, but no (label, confidence) */
	SX_PARSE_NO_EXPLANATION,  /* the prediction, but no list where the condition needs one */
	SX_PARSE_UNPARSEABLE,     /* nothing the condition asks for (an empty answer, say) */
	SX_PARSE_INVALID,         /* a (label, confidence) pair with label not 0/1 or
				     confidence outside [0, 1]: rejected, not clamped */
	SX_PARSE_STATUS_COUNT
};

/* Repairs, a bitmask in sx_parse_result.repairs. Names in sx_repair_name(). */
enum sx_repair {
	SX_REPAIR_FENCE = 1u << 0,        /* "fence": markdown code fences */
	SX_REPAIR_ECHO = 1u << 1,         /* "echo": the prompt's template echoed back, skipped */
	SX_REPAIR_UNQUOTED = 1u << 2,     /* "unquoted": list words without (valid) quotes */
	SX_REPAIR_REORDERED = 1u << 3,    /* "reordered": prediction and list in the other order */
	SX_REPAIR_DUPLICATE = 1u << 4,    /* "duplicate": a review word listed more often than aligned */
	SX_REPAIR_MERGED = 1u << 5,       /* "merged": one word for neighbouring tokens */
	SX_REPAIR_SPLIT = 1u << 6,        /* "split": several words for one token */
	SX_REPAIR_REWRITTEN = 1u << 7,    /* "rewritten": matched after normalisation only */
	SX_REPAIR_TRUNCATED = 1u << 8,    /* "truncated": list cut off (token limit) */
	SX_REPAIR_REPETITION = 1u << 9,   /* "repetition": identical items collapsed */
	SX_REPAIR_INVALID_UTF8 = 1u << 10, /* "invalid_utf8": bytes replaced by U+FFFD */
	SX_REPAIR_NUL = 1u << 11,         /* "nul": NUL bytes deleted */
	SX_REPAIR_PROSE = 1u << 12,       /* "prose": text besides the pair and the list, ignored */
	SX_REPAIR_UNBRACKETED = 1u << 13, /* "unbracketed": importance list without [ ] */
	SX_REPAIR_OUT_OF_RANGE = 1u << 14, /* "out_of_range": items valued outside [-1, 1], dropped */
	SX_REPAIR_OVERLONG = 1u << 15,    /* "overlong": list cut at the item cap */
	SX_REPAIR_ANGLE_BRACKETS = 1u << 16, /* "angle_brackets": the pair read from (<1>, 0.8) */
	SX_REPAIR_WORD_LABEL = 1u << 17,  /* "word_label": the label given as positive / negative */
	SX_REPAIR_PROSE_PREDICTION = 1u << 18, /* "prose_prediction": no pair, the prediction in words */
	SX_REPAIR_WORD_VALUE = 1u << 19   /* "word_value": the importance list as word: value items */
};
#define SX_REPAIR_NBITS 20

struct sx_parse_item {
	char *word;   /* owned; as returned, unescaped, quotes removed */
	double value; /* importance (ep/pe) */
	int has_value; /* 0 for top-k words */
	int dropped;  /* value outside [-1, 1]: listed but not aligned */
};

struct sx_parse_result {
	enum sx_cond cond;
	enum sx_parse_status status;
	int has_prediction; /* a valid pair: label 0/1, confidence in [0, 1] */
	int label;
	double confidence;
	int has_rejected; /* SX_PARSE_INVALID: the rejected pair, for the record */
	long rejected_label;
	double rejected_confidence;
	struct sx_parse_item *items; /* owned; the list as returned */
	size_t nitems;
	size_t ntokens;
	double *values;           /* owned; ntokens entries (ep/pe), 0 where !has_value */
	unsigned char *has_value; /* owned; ntokens entries */
	size_t *topk;             /* owned; top-k: aligned token positions, listed order */
	size_t ntopk;
	double coverage;
	char **unmatched; /* owned; list words that matched no token */
	size_t nunmatched;
	unsigned repairs; /* enum sx_repair bits */
	size_t label_at;  /* byte offset in the answer of the label digit of the prediction
			   * taken (for --prob logprob), SIZE_MAX when not known (a word
			   * label, or bytes the parser had to repair) */
};

#define SX_PARSE_RESULT_INIT { \
	.cond = SX_COND_EP, .status = SX_PARSE_UNPARSEABLE, .has_prediction = 0, .label = 0, \
	.confidence = 0.0, .has_rejected = 0, .rejected_label = 0, .rejected_confidence = 0.0, \
	.items = NULL, .nitems = 0, .ntokens = 0, .values = NULL, .has_value = NULL, .topk = NULL, \
	.ntopk = 0, .coverage = 0.0, .unmatched = NULL, .nunmatched = 0, .repairs = 0, \
	.label_at = SIZE_MAX, \
}

/* "ok", "ok_with_repairs", "no_prediction", "no_explanation", "unparseable", "invalid". */
const char *sx_parse_status_name(enum sx_parse_status s);
/* 0 and *out set when name is a status name; -1 otherwise. */
int sx_parse_status_from_name(const char *name, enum sx_parse_status *out);
/* ok or ok_with_repairs: everything the condition asks for was recovered. */
int sx_parse_status_ok(enum sx_parse_status s);
/* A valid (label, confidence) is in the result: ok, ok_with_repairs, no_explanation. */
int sx_parse_status_usable_prediction(enum sx_parse_status s);
/* The list is in the result: ok, ok_with_repairs, no_prediction. */
int sx_parse_status_usable_explanation(enum sx_parse_status s);

/* Name of one repair bit ("fence", ...), NULL when r is not exactly one known bit. */
const char *sx_repair_name(unsigned r);

/*
 * Parse one answer text[0..len) (any bytes) given under cond, aligning the
 * explanation to tokens[0..ntokens) (may be 0: nothing aligns). out is
 * initialised here and always filled, whatever the status; release it with
 * sx_parse_result_release. Returns 0, or SX_EINPUT when text is NULL with
 * len > 0 or cond is not a condition (out then holds an unparseable result).
 */
int sx_parse_answer(enum sx_cond cond, const char *text, size_t len, char *const *tokens,
		    size_t ntokens, struct sx_parse_result *out);
void sx_parse_result_release(struct sx_parse_result *r);
/*
 * Align r's list again, as the paper's code did (--compat paper,
 * docs/paper-compat.md): each listed word (in order; items dropped as out of
 * range skipped) goes to the first token exactly equal to it, whether or not
 * an earlier word went there (Python's list.index): under ep/pe a later
 * item of the same word replaces the value there and later occurrences of
 * the token get none; under the top-k conditions the list holds that first
 * position (a repeat is skipped by the ranking). A word with no equal token
 * is unmatched. Values, has_value, topk, coverage and unmatched are
 * rebuilt, and the alignment repairs (merged, split, rewritten, duplicate)
 * cleared. Nothing for pred, or a result without a list.
 */
void sx_parse_align_first_exact(struct sx_parse_result *r, char *const *tokens, size_t ntokens);

/*
 * The JSON object `selfexp parse` prints (a new root for the caller to free):
 * condition, status, repairs (names, in bit order), prediction ({label,
 * confidence} or null), rejected ({label, confidence} or null), items
 * ([word, value] pairs, or words for top-k), dropped (indices of items valued
 * outside [-1, 1]), values (ep/pe: one per token, null where none), topk
 * (top-k: token positions), coverage (null for pred), unmatched (words).
 */
struct sx_json *sx_parse_result_to_json(const struct sx_parse_result *r);

#endif
