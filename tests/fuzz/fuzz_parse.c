/*
 * sx_parse_answer on arbitrary answers, for every condition, aligned to
 * review tokens taken from the input. Input: byte 0 picks the condition
 * (mod SX_COND_COUNT); the bytes up to the first newline are the review,
 * split at ASCII whitespace into tokens (as the data loaders do); the rest
 * is the model's answer.
 *
 * Invariants (parse.h): the call succeeds; status, cond and ntokens are what
 * they should be; a usable prediction is exactly a valid pair (label 0/1,
 * confidence in [0, 1]), an invalid status exactly a rejected one; ok has no
 * repairs, ok_with_repairs some, and only known bits; every value is finite,
 * in [-1, 1] where a token has one and 0 where it has none; coverage is in
 * [0, 1] and equals tokens with a value / tokens (ep, pe) or 0 (pred); every
 * top-k position is < ntokens and used once; dropped items are exactly those
 * valued outside [-1, 1]; the list is cut at max(256, 4 n) items; the JSON
 * form prints and parses back; parsing the same input again gives the same
 * JSON (no hidden state).
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "selfexp/json.h"
#include "selfexp/parse.h"
#include "selfexp/prompt.h"

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Split s[0..len) at ASCII whitespace; tokens are NUL-terminated copies. */
static char **split(const char *s, size_t len, size_t *n)
{
	char **tok = NULL;
	size_t i = 0, cap = 0;

	*n = 0;
	while (i < len) {
		size_t j;

		while (i < len && is_ws(s[i]))
			i++;
		if (i == len)
			break;
		for (j = i; j < len && !is_ws(s[j]); j++)
			;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			tok = realloc(tok, cap * sizeof(*tok));
			FUZZ_CHECK(tok != NULL);
		}
		tok[*n] = fuzz_dup((const uint8_t *)s + i, j - i + 1);
		tok[*n][j - i] = '\0';
		(*n)++;
		i = j;
	}
	return tok;
}

static char *to_json(const struct sx_parse_result *r)
{
	struct sx_json *j = sx_parse_result_to_json(r), *back;
	struct sx_err err = SX_ERR_INIT;
	char *s;

	FUZZ_CHECK(j != NULL);
	FUZZ_CHECK(sx_json_type_of(j) == SX_JSON_OBJECT);
	s = sx_json_print(j, 0);
	back = sx_json_parse(s, strlen(s), &err);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(strcmp(sx_json_get_str(back, "status"), sx_parse_status_name(r->status)) == 0);
	sx_json_free(back);
	sx_json_free(j);
	return s;
}

static void check(const struct sx_parse_result *r, enum sx_cond cond, size_t ntokens)
{
	enum sx_parse_status st = r->status, back;
	size_t i, j, with_value = 0, cap, listed = 0;
	unsigned b;

	FUZZ_CHECK(r->cond == cond);
	FUZZ_CHECK(st < SX_PARSE_STATUS_COUNT);
	FUZZ_CHECK(sx_parse_status_name(st) != NULL);
	FUZZ_CHECK(sx_parse_status_from_name(sx_parse_status_name(st), &back) == 0 && back == st);
	FUZZ_CHECK(r->ntokens == ntokens);
	FUZZ_CHECK(r->repairs < (1u << SX_REPAIR_NBITS));
	for (b = 0; b < SX_REPAIR_NBITS; b++)
		FUZZ_CHECK(sx_repair_name(1u << b) != NULL);
	FUZZ_CHECK(st != SX_PARSE_OK || r->repairs == 0);
	FUZZ_CHECK(st != SX_PARSE_OK_WITH_REPAIRS || r->repairs != 0);

	/* the prediction */
	FUZZ_CHECK(!!r->has_prediction == !!sx_parse_status_usable_prediction(st));
	if (r->has_prediction) {
		FUZZ_CHECK(r->label == 0 || r->label == 1);
		FUZZ_CHECK(r->confidence >= 0.0 && r->confidence <= 1.0);
	}
	FUZZ_CHECK(!!r->has_rejected == (st == SX_PARSE_INVALID));
	if (r->has_rejected)
		FUZZ_CHECK(!(r->rejected_label == 0 || r->rejected_label == 1) ||
			   !(r->rejected_confidence >= 0.0 && r->rejected_confidence <= 1.0));

	/* the list */
	FUZZ_CHECK(r->nitems == 0 || r->items != NULL);
	if (sx_cond_has_importance(cond)) {
		cap = 4 * ntokens > SX_PARSE_MAX_ITEMS_MIN ? 4 * ntokens : SX_PARSE_MAX_ITEMS_MIN;
		FUZZ_CHECK(r->nitems <= cap);
	}
	for (i = 0; i < r->nitems; i++) {
		const struct sx_parse_item *it = &r->items[i];

		FUZZ_CHECK(it->word != NULL);
		if (sx_cond_is_topk(cond))
			FUZZ_CHECK(!it->has_value);
		if (it->has_value) {
			int in = it->value >= -1.0 && it->value <= 1.0;
			FUZZ_CHECK(!!it->dropped == !in);
		} else {
			FUZZ_CHECK(!it->dropped);
		}
		if (it->word[0])
			listed++;
	}
	if (sx_cond_has_importance(cond) && ntokens) {
		FUZZ_CHECK(r->values != NULL && r->has_value != NULL);
		for (i = 0; i < ntokens; i++) {
			FUZZ_CHECK(r->has_value[i] == 0 || r->has_value[i] == 1);
			FUZZ_CHECK(isfinite(r->values[i]));
			if (r->has_value[i]) {
				FUZZ_CHECK(r->values[i] >= -1.0 && r->values[i] <= 1.0);
				with_value++;
			} else {
				FUZZ_CHECK(r->values[i] == 0.0);
			}
		}
	}
	for (i = 0; i < r->ntopk; i++) {
		FUZZ_CHECK(r->topk[i] < ntokens);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(r->topk[j] != r->topk[i]);
	}
	FUZZ_CHECK(r->ntopk <= r->nitems);
	if (!sx_cond_is_topk(cond))
		FUZZ_CHECK(r->ntopk == 0);
	for (i = 0; i < r->nunmatched; i++)
		FUZZ_CHECK(r->unmatched[i] != NULL);

	/* coverage */
	FUZZ_CHECK(r->coverage >= 0.0 && r->coverage <= 1.0);
	if (cond == SX_COND_PRED)
		FUZZ_CHECK(r->coverage == 0.0);
	if (sx_cond_has_importance(cond) && ntokens)
		FUZZ_CHECK(fabs(r->coverage - (double)with_value / (double)ntokens) < 1e-12);
	if (sx_cond_is_topk(cond) && listed)
		FUZZ_CHECK(fabs(r->coverage - (double)r->ntopk / (double)listed) < 1e-12);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_parse_result r = SX_PARSE_RESULT_INIT, r2 = SX_PARSE_RESULT_INIT;
	const char *nl, *text;
	char **tokens = NULL, *answer, *j1, *j2;
	size_t ntokens = 0, len, i;
	enum sx_cond cond;

	if (size < 1)
		return 0;
	cond = (enum sx_cond)(data[0] % SX_COND_COUNT);
	text = (const char *)data + 1;
	len = size - 1;
	nl = memchr(text, '\n', len);
	if (nl) {
		tokens = split(text, (size_t)(nl - text), &ntokens);
		len -= (size_t)(nl + 1 - text);
		text = nl + 1;
	}
	answer = fuzz_dup((const uint8_t *)text, len);

	FUZZ_CHECK(sx_parse_answer(cond, answer, len, tokens, ntokens, &r) == 0);
	check(&r, cond, ntokens);
	FUZZ_CHECK(sx_parse_answer(cond, answer, len, tokens, ntokens, &r2) == 0);
	j1 = to_json(&r);
	j2 = to_json(&r2);
	FUZZ_CHECK(strcmp(j1, j2) == 0);
	free(j1);
	free(j2);
	sx_parse_result_release(&r);
	sx_parse_result_release(&r2);

	for (i = 0; i < ntokens; i++)
		free(tokens[i]);
	free(tokens);
	free(answer);
	return 0;
}
