#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "selfexp/alloc.h"
#include "selfexp/buf.h"
#include "selfexp/file.h"
#include "selfexp/json.h"
#include "selfexp/parse.h"
#include "selfexp/prompt.h"

static const char usage[] =
	"usage: selfexp parse --condition COND [--tokens 'T1 T2 ...'] [--input FILE] [--compact]\n"
	"\n"
	"Parse one model answer, read on stdin (or from FILE), the way a run parses\n"
	"every answer, and print the result as one JSON object on stdout.\n"
	"\n"
	"The parser (DESIGN.md section 3) extracts the prediction, a (label, confidence)\n"
	"pair with label 0 or 1 and confidence in [0, 1], and the self-explanation: a list\n"
	"of (word, importance) tuples for ep and pe, a list of k words for ep-topk and\n"
	"pe-topk. The list is aligned to the review's tokens in order, exactly first, then\n"
	"after normalisation (case, quote style, escaped slashes, merged or split words).\n"
	"A value that is out of range is rejected, never clamped, and nothing is invented\n"
	"when the answer holds no pair.\n"
	"\n"
	"options:\n"
	"  -c, --condition COND  ep, pe, ep-topk, pe-topk or pred (required)\n"
	"  -t, --tokens TEXT     the review's tokens, separated by blanks (SST is\n"
	"                        pre-tokenised); without it nothing is aligned\n"
	"  -i, --input FILE      read the answer from FILE instead of stdin ('-' is stdin)\n"
	"      --compact         print the JSON on one line\n"
	"  -h, --help            show this help\n"
	"\n"
	"output (keys in this order):\n"
	"  condition, status, repairs   see below\n"
	"  prediction                   {\"label\": 0|1, \"confidence\": x} or null\n"
	"  rejected                     the pair that was refused (status invalid), or null\n"
	"  items                        the list as returned: [word, value] pairs, or words\n"
	"                               for top-k\n"
	"  dropped                      indices of items valued outside [-1, 1] (not aligned)\n"
	"  values                       ep, pe: one value per token, null where none\n"
	"  topk                         ep-topk, pe-topk: token positions, in listed order\n"
	"  coverage                     ep, pe: valued tokens / tokens; top-k: aligned\n"
	"                               words / listed words; pred: null\n"
	"  unmatched                    list words that matched no token\n"
	"\n"
	"status:\n"
	"  ok               everything the condition asks for, nothing repaired\n"
	"  ok_with_repairs  everything the condition asks for, after the repairs listed\n"
	"  no_prediction    the list, but no (label, confidence) pair\n"
	"  no_explanation   the pair, but no list where the condition needs one\n"
	"  unparseable      nothing the condition asks for (an empty answer, say)\n"
	"  invalid          a pair with label other than 0/1 or confidence outside\n"
	"                   [0, 1]: rejected, see \"rejected\"\n"
	"  A run uses the prediction of ok, ok_with_repairs and no_explanation answers\n"
	"  and counts every other status as a parse failure.\n"
	"\n"
	;

/* The repairs, apart: one string literal would be longer than C guarantees. */
static const char usage_repairs[] =
	"repairs:\n"
	"  fence         markdown code fences around the lists\n"
	"  echo          the prompt's template echoed back, e.g. (<int classification>,\n"
	"                <float confidence>) or (<1, 0.9>), skipped\n"
	"  unquoted      list words without (valid) quotes\n"
	"  reordered     the prediction and the list in the other order\n"
	"  duplicate     a review word listed more often than it could be aligned\n"
	"  merged        one word for neighbouring tokens (Greene's for Greene 's)\n"
	"  split         several words for one token (the token gets their mean)\n"
	"  rewritten     matched only after normalisation (case, curly quotes, \\/)\n"
	"  truncated     the list is cut off (token limit); complete tuples kept\n"
	"  repetition    4 or more identical items in a row, e.g. (, 0.0) looping,\n"
	"                collapsed to one\n"
	"  invalid_utf8  bytes that are not UTF-8, replaced by U+FFFD\n"
	"  nul           NUL bytes, deleted\n"
	"  prose         text besides the pair and the list, ignored\n"
	"  unbracketed   the importance list has no [ ]\n"
	"  out_of_range  items valued outside [-1, 1], dropped (listed in \"dropped\")\n"
	"  overlong      the list was cut at max(256, 4 x tokens) items\n"
	"  angle_brackets  the pair written in the template's brackets: (<1>, 0.8)\n"
	"  word_label    the label as a word: (positive, 0.9), \"sentiment\": \"negative\"\n"
	"  prose_prediction\n"
	"                the prediction stated in prose or fields (\"classified as 0 with a\n"
	"                confidence of 0.8\", Confidence: 0.85), read only when it states\n"
	"                one label and one confidence (docs/parsing-open-models.md)\n"
	"  word_value    importance items written word: value (numbered, bulleted, JSON)\n"
	"\n"
	"exit status:\n"
	"  0  a result was printed, whatever its status\n"
	"  1  the answer could not be read (or is over the size cap)\n"
	"  2  usage error\n"
	"\n"
	"example:\n"
	"  printf \"(1, 0.9)\\n[('a', 0.1), ('gem', 0.8)]\" |\n"
	"      selfexp parse --condition pe --tokens 'a gem'\n";

static void split_tokens(char *s, char ***out, size_t *nout)
{
	char **v = NULL;
	size_t n = 0, alloc = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			*s++ = '\0';
		if (!*s)
			break;
		SX_GROW(v, alloc, n + 1);
		v[n++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			s++;
	}
	*out = v;
	*nout = n;
}

int cmd_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "condition", required_argument, NULL, 'c' },
		{ "tokens", required_argument, NULL, 't' },
		{ "input", required_argument, NULL, 'i' },
		{ "compact", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cond_name = NULL, *input = "-";
	char *tokbuf = NULL, **tokens = NULL, *text = NULL;
	size_t ntokens = 0;
	struct sx_buf answer = SX_BUF_INIT;
	struct sx_err err = SX_ERR_INIT;
	struct sx_parse_result r = SX_PARSE_RESULT_INIT;
	struct sx_json *j = NULL;
	enum sx_cond cond;
	int c, compact = 0, rc = SX_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:t:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cond_name = optarg; break;
		case 't': free(tokbuf); tokbuf = xstrdup(optarg); break;
		case 'i': input = optarg; break;
		case 'C': compact = 1; break;
		case 'h': fputs(usage, stdout); fputs(usage_repairs, stdout); rc = SX_EXIT_OK; goto out;
		default: rc = sx_cli_usage_hint("parse"); goto out;
		}
	}
	if (optind < argc) {
		sx_cli_error("parse: unexpected argument '%s'", argv[optind]);
		rc = sx_cli_usage_hint("parse");
		goto out;
	}
	if (!cond_name) {
		sx_cli_error("parse: --condition COND is required");
		rc = sx_cli_usage_hint("parse");
		goto out;
	}
	if (sx_cond_from_name(cond_name, &cond)) {
		rc = sx_cli_bad_value("parse", "--condition", cond_name,
				      "ep, pe, ep-topk, pe-topk or pred");
		goto out;
	}
	if (tokbuf)
		split_tokens(tokbuf, &tokens, &ntokens);
	if (sx_file_read(input, SX_PARSE_MAX_BYTES, &answer, &err)) {
		sx_cli_error("parse: %s", err.msg);
		goto out;
	}
	sx_parse_answer(cond, answer.buf, answer.len, tokens, ntokens, &r);
	j = sx_parse_result_to_json(&r);
	text = sx_json_print(j, !compact);
	puts(text);
	rc = fflush(stdout) ? SX_EXIT_FAIL : SX_EXIT_OK;
out:
	free(text);
	sx_json_free(j);
	sx_parse_result_release(&r);
	sx_buf_release(&answer);
	free(tokens);
	free(tokbuf);
	return rc;
}
