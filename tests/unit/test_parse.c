#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/json.h"
#include "selfexp/parse.h"

#define EPS 1e-12

/* Split a space-separated review into a NULL-terminated array (one allocation). */
struct toks {
	char *buf;
	char *v[64];
	size_t n;
};

static void toks_init(struct toks *t, const char *review)
{
	char *p;

	t->buf = xstrdup(review);
	t->n = 0;
	for (p = t->buf; *p;) {
		char *sp = strchr(p, ' ');

		t->v[t->n++] = p;
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
}

static void parse(enum sx_cond c, const char *answer, struct toks *t, struct sx_parse_result *r)
{
	assert_int_equal(sx_parse_answer(c, answer, strlen(answer), t ? t->v : NULL, t ? t->n : 0, r),
			 0);
}

static void assert_value(const struct sx_parse_result *r, size_t i, double v)
{
	assert_true(i < r->ntokens);
	assert_true(r->has_value[i]);
	assert_true(r->values[i] > v - EPS && r->values[i] < v + EPS);
}

static void test_names_and_predicates(void **state)
{
	enum sx_parse_status s;
	unsigned b;

	(void)state;
	assert_string_equal(sx_parse_status_name(SX_PARSE_OK), "ok");
	assert_string_equal(sx_parse_status_name(SX_PARSE_OK_WITH_REPAIRS), "ok_with_repairs");
	assert_string_equal(sx_parse_status_name(SX_PARSE_NO_PREDICTION), "no_prediction");
	assert_string_equal(sx_parse_status_name(SX_PARSE_NO_EXPLANATION), "no_explanation");
	assert_string_equal(sx_parse_status_name(SX_PARSE_UNPARSEABLE), "unparseable");
	assert_string_equal(sx_parse_status_name(SX_PARSE_INVALID), "invalid");
	assert_int_equal(sx_parse_status_from_name("no_explanation", &s), 0);
	assert_int_equal(s, SX_PARSE_NO_EXPLANATION);
	assert_int_equal(sx_parse_status_from_name("OK", &s), -1);

	assert_true(sx_parse_status_usable_prediction(SX_PARSE_OK));
	assert_true(sx_parse_status_usable_prediction(SX_PARSE_OK_WITH_REPAIRS));
	assert_true(sx_parse_status_usable_prediction(SX_PARSE_NO_EXPLANATION));
	assert_false(sx_parse_status_usable_prediction(SX_PARSE_NO_PREDICTION));
	assert_false(sx_parse_status_usable_prediction(SX_PARSE_UNPARSEABLE));
	assert_false(sx_parse_status_usable_prediction(SX_PARSE_INVALID));
	assert_true(sx_parse_status_usable_explanation(SX_PARSE_NO_PREDICTION));
	assert_false(sx_parse_status_usable_explanation(SX_PARSE_NO_EXPLANATION));
	assert_false(sx_parse_status_usable_explanation(SX_PARSE_INVALID));
	assert_true(sx_parse_status_ok(SX_PARSE_OK_WITH_REPAIRS));
	assert_false(sx_parse_status_ok(SX_PARSE_NO_EXPLANATION));

	assert_string_equal(sx_repair_name(SX_REPAIR_FENCE), "fence");
	assert_string_equal(sx_repair_name(SX_REPAIR_INVALID_UTF8), "invalid_utf8");
	assert_string_equal(sx_repair_name(SX_REPAIR_OVERLONG), "overlong");
	assert_string_equal(sx_repair_name(SX_REPAIR_ANGLE_BRACKETS), "angle_brackets");
	assert_string_equal(sx_repair_name(SX_REPAIR_WORD_LABEL), "word_label");
	assert_string_equal(sx_repair_name(SX_REPAIR_PROSE_PREDICTION), "prose_prediction");
	assert_string_equal(sx_repair_name(SX_REPAIR_WORD_VALUE), "word_value");
	assert_null(sx_repair_name(SX_REPAIR_FENCE | SX_REPAIR_ECHO));
	assert_null(sx_repair_name(0));
	for (b = 0; b < SX_REPAIR_NBITS; b++)
		assert_non_null(sx_repair_name(1u << b));
}

static void test_escapes_in_quoted_words(void **state)
{
	struct toks t;
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;

	(void)state;
	toks_init(&t, "does n't \" x\\/y \\ it's");
	parse(SX_COND_EP,
	      "[('does', 0.1), ('n\\'t', -0.5), (\"\\\"\", 0.0), ('x\\\\/y', 0.2), ('\\\\', 0.0), "
	      "(\"it's\", 0.3)]\n(0, 0.7)",
	      &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK);
	assert_int_equal(r.nitems, 6);
	assert_string_equal(r.items[1].word, "n't");
	assert_string_equal(r.items[2].word, "\"");
	assert_string_equal(r.items[3].word, "x\\/y"); /* Python: \\ is one backslash */
	assert_string_equal(r.items[4].word, "\\");
	assert_string_equal(r.items[5].word, "it's");
	assert_value(&r, 1, -0.5);
	assert_value(&r, 3, 0.2);
	assert_true(r.coverage > 1.0 - EPS);
	sx_parse_result_release(&r);

	/* A quote inside a single-quoted word: not a valid literal, unwrapped. */
	parse(SX_COND_EP, "[('does', 0.1), ('it's', 0.3)]\n(1, 0.6)", &t, &r);
	assert_int_equal(r.nitems, 2);
	assert_string_equal(r.items[1].word, "it's");
	assert_true(r.repairs & SX_REPAIR_UNQUOTED);
	assert_value(&r, 5, 0.3);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_duplicates_map_to_successive_occurrences(void **state)
{
	struct toks t;
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;

	(void)state;
	toks_init(&t, "the film and the cast and the end");
	/* the second "and" is missing: the third "the" still goes to token 6 */
	parse(SX_COND_PE,
	      "(1, 0.8)\n[('the', 0.1), ('film', 0.2), ('and', 0.3), ('the', 0.4), ('cast', 0.5), "
	      "('the', 0.6), ('end', 0.7)]",
	      &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK);
	assert_value(&r, 0, 0.1);
	assert_value(&r, 3, 0.4);
	assert_value(&r, 6, 0.6);
	assert_value(&r, 7, 0.7);
	assert_false(r.has_value[5]);
	assert_int_equal(r.nunmatched, 0);
	sx_parse_result_release(&r);

	/* "the" listed once more than the review has it: duplicate, unmatched */
	parse(SX_COND_PE,
	      "(1, 0.8)\n[('the', 0.1), ('the', 0.1), ('film', 0.2), ('and', 0.3), ('the', 0.4), "
	      "('cast', 0.5), ('and', 0.0), ('the', 0.6), ('end', 0.7), ('the', 0.9)]",
	      &t, &r);
	assert_true(r.repairs & SX_REPAIR_DUPLICATE);
	assert_int_equal(r.nunmatched, 2);
	assert_string_equal(r.unmatched[0], "the");
	assert_value(&r, 6, 0.6);
	assert_true(r.coverage > 1.0 - EPS);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_merge_split_rewrite(void **state)
{
	struct toks t;
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;

	(void)state;
	toks_init(&t, "Graham Greene 's novel is deja vu , Peter\\/Spider-Man cannot");
	parse(SX_COND_EP,
	      "[('Graham', 0.1), (\"Greene's\", 0.2), ('NOVEL', 0.3), ('is', 0.0), ('deja vu', -0.4), "
	      "(',', 0.0), ('Peter/Spider-Man', 0.5), ('can', -0.2), ('not', -0.6)]\n(1, 0.9)",
	      &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
	assert_true(r.repairs & SX_REPAIR_MERGED);
	assert_true(r.repairs & SX_REPAIR_SPLIT);
	assert_true(r.repairs & SX_REPAIR_REWRITTEN);
	assert_value(&r, 1, 0.2); /* Greene */
	assert_value(&r, 2, 0.2); /* 's */
	assert_value(&r, 3, 0.3); /* novel, case */
	assert_value(&r, 5, -0.4); /* deja */
	assert_value(&r, 6, -0.4); /* vu */
	assert_value(&r, 8, 0.5); /* escaped slash */
	assert_value(&r, 9, -0.4); /* cannot = mean of can, not */
	assert_true(r.coverage > 1.0 - EPS);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_skipped_and_extra_words_do_not_derail(void **state)
{
	struct toks t;
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;

	(void)state;
	toks_init(&t, "a b c d e f g h");
	parse(SX_COND_EP,
	      "[('a', 0.1), ('X', 0.9), ('b', 0.2), ('d', 0.4), ('e', 0.5), ('Y', 0.9), ('f', 0.6), "
	      "('g', 0.7), ('h', 0.8)]\n(1, 0.5)",
	      &t, &r);
	assert_value(&r, 0, 0.1);
	assert_value(&r, 1, 0.2);
	assert_false(r.has_value[2]);
	assert_value(&r, 3, 0.4);
	assert_value(&r, 7, 0.8);
	assert_int_equal(r.nunmatched, 2);
	assert_string_equal(r.unmatched[0], "X");
	assert_string_equal(r.unmatched[1], "Y");
	assert_false(r.repairs & SX_REPAIR_DUPLICATE);
	assert_true(r.coverage > 7.0 / 8 - EPS && r.coverage < 7.0 / 8 + EPS);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_rejections(void **state)
{
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;

	(void)state;
	parse(SX_COND_PRED, "(1, 1.01)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_false(r.has_prediction);
	assert_true(r.has_rejected);
	assert_int_equal(r.rejected_label, 1);
	assert_true(r.rejected_confidence > 1.01 - EPS && r.rejected_confidence < 1.01 + EPS);
	sx_parse_result_release(&r);

	parse(SX_COND_PRED, "(-1, 0.5)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_int_equal(r.rejected_label, -1);
	sx_parse_result_release(&r);

	/* boundaries are valid */
	parse(SX_COND_PRED, "(0, 0)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_OK);
	sx_parse_result_release(&r);
	parse(SX_COND_PRED, "(1, 1.000)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_OK);
	assert_int_equal(r.label, 1);
	sx_parse_result_release(&r);

	/* never invented */
	parse(SX_COND_PRED, "positive, 90% sure", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_UNPARSEABLE);
	assert_false(r.has_prediction);
	assert_false(r.has_rejected);
	sx_parse_result_release(&r);

	/* importance values outside [-1, 1]: dropped, not clamped */
	toks_init(&t, "good bad");
	parse(SX_COND_EP, "[('good', 1.2), ('bad', -0.5)]\n(1, 0.5)", &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
	assert_true(r.repairs & SX_REPAIR_OUT_OF_RANGE);
	assert_true(r.items[0].dropped);
	assert_false(r.has_value[0]);
	assert_value(&r, 1, -0.5);
	sx_parse_result_release(&r);
	free(t.buf);

	/* bad arguments */
	assert_int_equal(sx_parse_answer(SX_COND_EP, NULL, 3, NULL, 0, &r), SX_EINPUT);
	assert_int_equal(r.status, SX_PARSE_UNPARSEABLE);
	sx_parse_result_release(&r);
	assert_int_equal(sx_parse_answer(SX_COND_COUNT, "", 0, NULL, 0, &r), SX_EINPUT);
	sx_parse_result_release(&r);
	assert_int_equal(sx_parse_answer(SX_COND_EP, NULL, 0, NULL, 0, &r), 0);
	assert_int_equal(r.status, SX_PARSE_UNPARSEABLE);
	sx_parse_result_release(&r);
	sx_parse_result_release(NULL);
}

static void test_pair_and_list_structure(void **state)
{
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;

	(void)state;
	/* a numeric token inside the list is an item, the pair outside it the prediction */
	toks_init(&t, "1 2 3");
	parse(SX_COND_EP, "[(1, 0.1), (2, 0.2), (3, 0.3)]\n(0, 0.4)", &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS); /* unquoted */
	assert_int_equal(r.label, 0);
	assert_value(&r, 2, 0.3);
	sx_parse_result_release(&r);

	/* pred: the last valid pair; an all-invalid answer is rejected */
	parse(SX_COND_PRED, "(1, 0.6) then (0, 0.7), then (5, 0.9)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
	assert_int_equal(r.label, 0);
	sx_parse_result_release(&r);
	parse(SX_COND_PRED, "(3, 0.6) or (1, 2.5)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_int_equal(r.rejected_label, 1);
	sx_parse_result_release(&r);

	/* a template echo is never a word or a pair */
	parse(SX_COND_PE, "(<int classification>, <float confidence>)\n[(<word or punctuation>, "
			  "<float importance>), ('1', 0.5), ('2', 0.1)]", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_PREDICTION);
	assert_int_equal(r.nitems, 2);
	assert_true(r.repairs & SX_REPAIR_ECHO);
	sx_parse_result_release(&r);
	free(t.buf);
}

/* Expect a prediction (label, confidence) with the given repair bits set. */
static void assert_pred(const struct sx_parse_result *r, int label, double conf, unsigned bits)
{
	assert_true(r->has_prediction);
	assert_int_equal(r->label, label);
	assert_true(r->confidence > conf - EPS && r->confidence < conf + EPS);
	assert_int_equal(r->repairs & bits, bits);
}

static void test_angle_brackets(void **state)
{
	static const char *const ok[] = { "(<0>, 0.95)", "( < 0 > , < 0.95 > )", "(0, <0.95>)" };
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse(SX_COND_PRED, ok[i], NULL, &r);
		assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
		assert_pred(&r, 0, 0.95, SX_REPAIR_ANGLE_BRACKETS);
		assert_false(r.repairs & SX_REPAIR_ECHO);
		sx_parse_result_release(&r);
	}
	/* a valid plain pair comes first, wherever it is */
	parse(SX_COND_PRED, "(0, 0.6)\n(<1>, 0.8)", NULL, &r);
	assert_pred(&r, 0, 0.6, 0);
	assert_false(r.repairs & SX_REPAIR_ANGLE_BRACKETS);
	sx_parse_result_release(&r);
	/* ... but an invalid one (a range in prose) does not hide a valid angle pair */
	parse(SX_COND_PRED, "(<1>, 0.8)\nvalues range over (-1, 1)", NULL, &r);
	assert_pred(&r, 1, 0.8, SX_REPAIR_ANGLE_BRACKETS);
	sx_parse_result_release(&r);
	/* out of range: rejected, not clamped */
	parse(SX_COND_PRED, "(<1>, 1.5)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_int_equal(r.rejected_label, 1);
	sx_parse_result_release(&r);
	/* the template itself, and a half-bracketed pair, are not predictions */
	parse(SX_COND_PRED, "(<int classification>, <float confidence>)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_UNPARSEABLE);
	sx_parse_result_release(&r);
	parse(SX_COND_PRED, "(<1, 0.8)", NULL, &r);
	assert_false(r.has_prediction);
	sx_parse_result_release(&r);
	/* (<1, 0.9>) stays an echo */
	parse(SX_COND_PRED, "(<1, 0.9>)", NULL, &r);
	assert_pred(&r, 1, 0.9, SX_REPAIR_ECHO);
	assert_false(r.repairs & SX_REPAIR_ANGLE_BRACKETS);
	sx_parse_result_release(&r);
	/* inside an importance list an angle pair is an item's place, never the prediction */
	toks_init(&t, "a 1");
	parse(SX_COND_EP, "[('a', 0.1), (<1>, 0.2)]", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_PREDICTION);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_word_labels(void **state)
{
	static const char *const none[] = { "(neutral, 0.6)", "(positive/negative, 0.5)",
					    "(positives, 0.5)", "(pos, 0.9)", "('', 0.9)" };
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;
	size_t i;

	(void)state;
	parse(SX_COND_PRED, "(Positive, 0.95)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
	assert_pred(&r, 1, 0.95, SX_REPAIR_WORD_LABEL);
	sx_parse_result_release(&r);
	parse(SX_COND_PE_TOPK, "(\"NEGATIVE\", 0.7)\n['a']", NULL, &r);
	assert_pred(&r, 0, 0.7, SX_REPAIR_WORD_LABEL);
	sx_parse_result_release(&r);
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		parse(SX_COND_PRED, none[i], NULL, &r);
		assert_int_equal(r.status, SX_PARSE_UNPARSEABLE);
		assert_false(r.has_prediction);
		sx_parse_result_release(&r);
	}
	/* a plain pair comes first */
	parse(SX_COND_PRED, "(1, 0.8)\n(negative, 0.9)", NULL, &r);
	assert_pred(&r, 1, 0.8, 0);
	assert_false(r.repairs & SX_REPAIR_WORD_LABEL);
	sx_parse_result_release(&r);
	/* out of range: rejected */
	parse(SX_COND_PRED, "(positive, 1.2)", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_int_equal(r.rejected_label, 1);
	sx_parse_result_release(&r);
	/* the review's word "positive" in the importance list is an item */
	toks_init(&t, "positive vibes");
	parse(SX_COND_EP, "[('positive', 0.5), ('vibes', 0.2)]", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_PREDICTION);
	assert_value(&r, 0, 0.5);
	sx_parse_result_release(&r);
	free(t.buf);
}

/* A prediction in prose is read, by pred, exactly when a careful reader reads one. */
static void test_prose_prediction(void **state)
{
	static const struct {
		const char *text;
		int label;
		double conf;
		unsigned bits;
	} ok[] = {
		{ "The review can be classified as 0 (negative) with a confidence of 0.8.", 0, 0.8, 0 },
		{ "I classify this review as positive (1), confidence score: 0.75", 1, 0.75, 0 },
		{ "Sentiment: Positive\nConfidence: 0.85", 1, 0.85, SX_REPAIR_WORD_LABEL },
		{ "**Prediction:** 0\n**Confidence:** .6", 0, 0.6, 0 },
		{ "{\"label\": 1, \"confidence\": 0.9}", 1, 0.9, 0 },
		{ "With 0.7 confidence, I would classify it as negative.", 0, 0.7, SX_REPAIR_WORD_LABEL },
		{ "The review is classified as 1.\nConfidence: 1", 1, 1.0, 0 },
		/* the same label and confidence restated are one prediction */
		{ "Label: 1. The review is classified as 1 with a confidence of 0.9.\nConfidence: 0.9", 1,
		  0.9, 0 },
	};
	static const char *const none[] = {
		/* two different labels, two different confidences */
		"The review is classified as 1. Label: 0, confidence: 0.9",
		"Classified as 1 with a confidence of 0.9.\nConfidence: 0.8",
		/* either label */
		"It could be classified as 0 or 1 with a confidence of 0.5.",
		"Sentiment: positive/negative, confidence: 0.5",
		"Sentiment: Positive or Neutral (confidence: 0.5)",
		/* a gloss that contradicts the label */
		"Classified as 1 (negative) with a confidence of 0.9.",
		"Classification: Positive (0), confidence: 0.9",
		/* not a decimal confidence, or not one value */
		"Classified as 1 with a confidence of 90%.",
		"Classified as 1 with a confidence of 0.8-0.9.",
		"Classified as 1 with a confidence of 0.8 or 0.9.",
		"Classified as 1, confidence: 8/10",
		"Sentiment: Positive. Confidence: high.",
		/* a confidence for something else, or not tied to the label */
		"Classified as 1, with a confidence of 0.9 for the word scores.",
		"The review is classified as 1. The word 'good' has a confidence of 0.9.",
		/* negated */
		"I would not classify it as 1, with a confidence of 0.9.",
		"The review isn't classified as 1 with a confidence of 0.9.",
		/* half a prediction */
		"The review is classified as 1.",
		"Confidence: 0.9",
		/* the prompt's own words */
		"classify the review as either 1 (positive) or 0 (negative), as well as your "
		"confidence in the score you chose",
		"(<int classification>, <float confidence>)",
	};
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct sx_buf many = SX_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse(SX_COND_PRED, ok[i].text, NULL, &r);
		if (r.status != SX_PARSE_OK_WITH_REPAIRS)
			fail_msg("'%s': status %s", ok[i].text, sx_parse_status_name(r.status));
		assert_pred(&r, ok[i].label, ok[i].conf, SX_REPAIR_PROSE_PREDICTION | ok[i].bits);
		if (!ok[i].bits)
			assert_false(r.repairs & SX_REPAIR_WORD_LABEL);
		sx_parse_result_release(&r);
	}
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		parse(SX_COND_PRED, none[i], NULL, &r);
		if (r.status != SX_PARSE_UNPARSEABLE || r.has_prediction || r.has_rejected)
			fail_msg("'%s': status %s", none[i], sx_parse_status_name(r.status));
		assert_false(r.repairs & SX_REPAIR_PROSE_PREDICTION);
		sx_parse_result_release(&r);
	}
	/* a pair in the answer wins; the prose is only prose */
	parse(SX_COND_PRED, "(0, 0.6)\nThe review is classified as 1 with a confidence of 0.9.", NULL,
	      &r);
	assert_pred(&r, 0, 0.6, SX_REPAIR_PROSE);
	assert_false(r.repairs & SX_REPAIR_PROSE_PREDICTION);
	sx_parse_result_release(&r);
	/* out of range: rejected as a pair is */
	parse(SX_COND_PRED, "The review is classified as 1 with a confidence of 1.5.", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_true(r.has_rejected);
	assert_int_equal(r.rejected_label, 1);
	sx_parse_result_release(&r);
	parse(SX_COND_PRED, "Label: 2, confidence: 0.9", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_INVALID);
	assert_int_equal(r.rejected_label, 2);
	sx_parse_result_release(&r);
	/* words inside the list are the list's (here each would be a field of its own) */
	parse(SX_COND_PE_TOPK, "['Label: 1',\n 'Confidence: 0.9']", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_NO_PREDICTION);
	sx_parse_result_release(&r);
	/* an answer made of statements says nothing for sure */
	for (i = 0; i < 20; i++)
		sx_buf_adds(&many, "Label: 1. ");
	sx_buf_adds(&many, "Confidence: 0.9");
	parse(SX_COND_PRED, many.buf, NULL, &r);
	assert_false(r.has_prediction);
	sx_parse_result_release(&r);
	sx_buf_release(&many);
}

/* Long runs of blanks after "(" or a statement's key cost linear time. */
static void test_scans_are_linear(void **state)
{
	static const char *const heads[] = { "(", "(1,", "(<", "classified as", "Label:",
					     "confidence", "Label:*" };
	static char blanks[131072];
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	size_t i, k;

	(void)state;
	memset(blanks, ' ', sizeof(blanks));
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct sx_buf b = SX_BUF_INIT;
		clock_t t0 = clock();

		for (k = 0; k < 4; k++) {
			sx_buf_adds(&b, heads[i]);
			sx_buf_add(&b, blanks, sizeof(blanks));
		}
		parse(SX_COND_PRED, b.buf, NULL, &r);
		assert_false(r.has_prediction);
		assert_false(r.repairs & SX_REPAIR_TRUNCATED); /* no match limit hit */
		sx_parse_result_release(&r);
		sx_buf_release(&b);
		/* quadratic backtracking took seconds here; linear takes milliseconds */
		assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
	}
}

/* Importance lists written word: value, one a line or as a JSON object (ep, pe). */
static void test_word_value_lists(void **state)
{
	static const char *const lists[] = {
		"1. a: 0.1\n2. b: -0.2\n",
		"- **a:** 0.1\n- **b**: -0.2\n",
		"* `a`: 0.1\n* b = **-0.2**\n",
		"a: 0.1 (neutral)\nb: -0.2 - a weak word\n",
		"{\"a\": 0.1, \"b\": -0.2}",
		"{\n  \"a\": 0.1,\n  \"b\": -0.2\n}",
	};
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;
	size_t i;

	(void)state;
	toks_init(&t, "a b");
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		parse(SX_COND_EP, lists[i], &t, &r);
		if (r.nitems != 2)
			fail_msg("'%s': %zu items", lists[i], r.nitems);
		assert_int_equal(r.status, SX_PARSE_NO_PREDICTION);
		assert_true(r.repairs & SX_REPAIR_WORD_VALUE);
		assert_false(r.repairs & (SX_REPAIR_UNBRACKETED | SX_REPAIR_TRUNCATED));
		assert_value(&r, 0, 0.1);
		assert_value(&r, 1, -0.2);
		sx_parse_result_release(&r);
	}
	/* field names are fields, not words; the prediction comes from them */
	parse(SX_COND_EP, "a: 0.1\nb: 0.2\nConfidence: 0.9\nLabel: 1", &t, &r);
	assert_int_equal(r.nitems, 2);
	assert_pred(&r, 1, 0.9, SX_REPAIR_WORD_VALUE | SX_REPAIR_PROSE_PREDICTION);
	sx_parse_result_release(&r);
	/* the pair on the line after the items is the pair, not one more item */
	parse(SX_COND_EP, "a: 0.1\nb: 0.2\n(1, 0.9)", &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
	assert_int_equal(r.nitems, 2);
	assert_pred(&r, 1, 0.9, SX_REPAIR_WORD_VALUE);
	sx_parse_result_release(&r);
	/* not lists: a blank line between the items, words after the value, a single item */
	parse(SX_COND_PE, "(1, 0.9)\na: 0.1\n\nb: 0.2", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_EXPLANATION);
	sx_parse_result_release(&r);
	parse(SX_COND_PE, "(1, 0.9)\na: 0.1 because it is a\nb: 0.2 as b is", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_EXPLANATION);
	sx_parse_result_release(&r);
	parse(SX_COND_PE, "(1, 0.9)\nNote: 0.5 is neutral\nb: 0.2", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_EXPLANATION);
	sx_parse_result_release(&r);
	/* two commas between items end a run as a blank line does: two single items */
	parse(SX_COND_PE, "(1, 0.9)\n{\"a\": 0.1,, \"b\": 0.2}", &t, &r);
	assert_int_equal(r.status, SX_PARSE_NO_EXPLANATION);
	sx_parse_result_release(&r);
	/* a longer tuple list wins; out-of-range values are dropped as in tuples */
	parse(SX_COND_EP, "[('a', 0.1), ('b', 0.2), ('c', 0.3)]\nx: 0.5\ny: 0.6\n(0, 0.5)", &t, &r);
	assert_int_equal(r.nitems, 3);
	assert_false(r.repairs & SX_REPAIR_WORD_VALUE);
	sx_parse_result_release(&r);
	parse(SX_COND_EP, "a: 1.5\nb: 0.2\n(0, 0.5)", &t, &r);
	assert_true(r.items[0].dropped);
	assert_true(r.repairs & SX_REPAIR_OUT_OF_RANGE);
	assert_value(&r, 1, 0.2);
	sx_parse_result_release(&r);
	/* other conditions never read them */
	parse(SX_COND_PRED, "a: 0.1\nb: 0.2", NULL, &r);
	assert_int_equal(r.status, SX_PARSE_UNPARSEABLE);
	assert_int_equal(r.nitems, 0);
	sx_parse_result_release(&r);
	free(t.buf);
	/* what looks like an item inside a tuple's word belongs to the tuple */
	toks_init(&t, "{'a':0.1} b");
	parse(SX_COND_EP, "[(\"{'a':0.1}\", 0.5), ('b', 0.2)]\n(1, 0.9)", &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK);
	assert_int_equal(r.nitems, 2);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_topk(void **state)
{
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;

	(void)state;
	toks_init(&t, "not good , not bad , just boring");
	parse(SX_COND_PE_TOPK, "(0, 0.6)\n['boring', 'not', \"NOT\", 'Bad']", &t, &r);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS); /* rewritten */
	assert_int_equal(r.ntopk, 4);
	assert_int_equal(r.topk[0], 7);
	assert_int_equal(r.topk[1], 0);
	assert_int_equal(r.topk[2], 3); /* second "not": the next occurrence */
	assert_int_equal(r.topk[3], 4);
	sx_parse_result_release(&r);

	parse(SX_COND_EP_TOPK, "[boring, great]\n(0, 0.6)", &t, &r);
	assert_int_equal(r.ntopk, 1);
	assert_int_equal(r.nunmatched, 1);
	assert_string_equal(r.unmatched[0], "great");
	assert_true(r.coverage > 0.5 - EPS && r.coverage < 0.5 + EPS);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_json_shape(void **state)
{
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;
	struct sx_json *j;
	double v;

	(void)state;
	toks_init(&t, "x y");
	parse(SX_COND_EP, "```\n[('x', 0.25)]\n```\n(1, 0.5)", &t, &r);
	j = sx_parse_result_to_json(&r);
	assert_string_equal(sx_json_get_str(j, "status"), "ok_with_repairs");
	assert_string_equal(sx_json_str(sx_json_at(sx_json_get(j, "repairs"), 0)), "fence");
	assert_int_equal(sx_json_get_num(sx_json_get(j, "prediction"), "confidence", &v), 0);
	assert_true(v > 0.5 - EPS && v < 0.5 + EPS);
	assert_int_equal(sx_json_type_of(sx_json_at(sx_json_get(j, "values"), 1)), SX_JSON_NULL);
	assert_int_equal(sx_json_type_of(sx_json_get(j, "rejected")), SX_JSON_NULL);
	assert_null(sx_json_get(j, "topk"));
	sx_json_free(j);
	sx_parse_result_release(&r);
	free(t.buf);
}

static void test_repetition_and_garbage(void **state)
{
	static const char bytes[] = "(1, 0.9)\n[('a\0', 0.1), ('b', 0.2), (, 0.0), (, 0.0), "
				    "(, 0.0), (, 0.0), (, 0.0), ('\xff";
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct toks t;

	(void)state;
	toks_init(&t, "a b c");
	assert_int_equal(sx_parse_answer(SX_COND_PE, bytes, sizeof(bytes) - 1, t.v, t.n, &r), 0);
	assert_int_equal(r.status, SX_PARSE_OK_WITH_REPAIRS);
	assert_true(r.repairs & SX_REPAIR_NUL);
	assert_true(r.repairs & SX_REPAIR_INVALID_UTF8);
	assert_true(r.repairs & SX_REPAIR_REPETITION);
	assert_true(r.repairs & SX_REPAIR_TRUNCATED);
	assert_int_equal(r.nitems, 3); /* a, b and one empty word */
	assert_string_equal(r.items[0].word, "a");
	assert_string_equal(r.items[2].word, "");
	assert_value(&r, 0, 0.1);
	assert_false(r.has_value[2]);
	sx_parse_result_release(&r);
	free(t.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_predicates),
		cmocka_unit_test(test_escapes_in_quoted_words),
		cmocka_unit_test(test_duplicates_map_to_successive_occurrences),
		cmocka_unit_test(test_merge_split_rewrite),
		cmocka_unit_test(test_skipped_and_extra_words_do_not_derail),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_pair_and_list_structure),
		cmocka_unit_test(test_angle_brackets),
		cmocka_unit_test(test_word_labels),
		cmocka_unit_test(test_prose_prediction),
		cmocka_unit_test(test_scans_are_linear),
		cmocka_unit_test(test_word_value_lists),
		cmocka_unit_test(test_topk),
		cmocka_unit_test(test_json_shape),
		cmocka_unit_test(test_repetition_and_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
